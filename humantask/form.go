package humantask

// Task forms: the typed fields a task asks its decider to fill in, declared
// in the process code next to where the process uses the values. The form
// travels in the task's Spec, its task-opened entry (so auditors see the
// declaration the process used) and the tasks query (so the starter and the
// inbox render it). Values travel in the Decision, are checked by the one
// gate (check) for update and signal alike, are covered by the signature
// (SigningBytes v3) and reach the process in Result.Values. Personal
// fields' values never leave the encrypted payloads: the trail records a
// salted digest (Seal).

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Field types.
const (
	FieldText        = "text"
	FieldMoney       = "money"
	FieldInteger     = "integer"
	FieldDecimal     = "decimal"
	FieldDate        = "date"
	FieldChoice      = "choice"
	FieldMultiChoice = "multi-choice"
	FieldBoolean     = "boolean"
)

// Bounds of a form and its values (checked with the decision's bounds,
// before anything else reads them).
const (
	// MaxFields bounds a form and a decision's values.
	MaxFields = 32
	// MaxValueBytes bounds one value (a text field's at most).
	MaxValueBytes = MaxTextBytes
	// defaultTextLength is a text field's length without MaxLen.
	defaultTextLength = 500
	// MinSaltBytes is the least salt (decoded) a decision with personal
	// values carries.
	MinSaltBytes = 16
)

// Option is one allowed value of a choice field: Value is what a decision
// carries (letters, digits, '-', '_', '.'), Label what people read.
type Option struct {
	Value string `json:"value"`
	Label string `json:"label,omitempty"`
}

// Field is one typed field of a task's form. Build it with the
// constructors (Money, Choice, ...) and their options (Require, Range,
// MarkPersonal, ...).
type Field struct {
	// Name is the key in Decision.Values (and what refusals name).
	Name  string `json:"name"`
	Label string `json:"label"`
	Type  string `json:"type"`
	Help  string `json:"help,omitempty"`
	// Required: an approval must carry it. RequiredToReject: a rejection
	// too. RequiredWith: required whenever the named field is given.
	Required         bool   `json:"required,omitempty"`
	RequiredToReject bool   `json:"requiredToReject,omitempty"`
	RequiredWith     string `json:"requiredWith,omitempty"`
	// Currency of a money field (ISO 4217, e.g. EUR): two decimals.
	Currency string `json:"currency,omitempty"`
	// Min and Max bound money, integer and decimal values (canonical
	// decimals) and dates (YYYY-MM-DD); "" is unbounded.
	Min string `json:"min,omitempty"`
	Max string `json:"max,omitempty"`
	// MinLength and MaxLength bound a text field, in characters.
	MinLength int `json:"minLength,omitempty"`
	MaxLength int `json:"maxLength,omitempty"`
	// Options are a choice or multi-choice field's allowed values.
	Options []Option `json:"options,omitempty"`
	// Personal values are never recorded in clear outside the encrypted
	// payloads: the trail keeps a salted digest.
	Personal bool `json:"personal,omitempty"`
	// Default is the process's proposal: clients pre-fill it, and an
	// approval that leaves the field out approves it.
	Default string `json:"default,omitempty"`
}

// Form is a task's fields, in the order people see them.
type Form []Field

// Text is a free text field (at most 500 characters unless MaxLen).
func Text(name, label string) Field { return Field{Name: name, Label: label, Type: FieldText} }

// Money is an amount in currency (two decimals).
func Money(name, label, currency string) Field {
	return Field{Name: name, Label: label, Type: FieldMoney, Currency: currency}
}

// Integer is a whole number.
func Integer(name, label string) Field { return Field{Name: name, Label: label, Type: FieldInteger} }

// Decimal is a decimal number.
func Decimal(name, label string) Field { return Field{Name: name, Label: label, Type: FieldDecimal} }

// Date is a day, YYYY-MM-DD.
func Date(name, label string) Field { return Field{Name: name, Label: label, Type: FieldDate} }

// Boolean is yes or no ("true" or "false").
func Boolean(name, label string) Field { return Field{Name: name, Label: label, Type: FieldBoolean} }

// Choice is one of options.
func Choice(name, label string, options ...Option) Field {
	return Field{Name: name, Label: label, Type: FieldChoice, Options: options}
}

// MultiChoice is any number of options (comma separated in a value).
func MultiChoice(name, label string, options ...Option) Field {
	return Field{Name: name, Label: label, Type: FieldMultiChoice, Options: options}
}

// Opt is an option of a choice field.
func Opt(value, label string) Option { return Option{Value: value, Label: label} }

// Require makes an approval carry the field.
func (f Field) Require() Field { f.Required = true; return f }

// RequireOnReject makes a rejection carry the field.
func (f Field) RequireOnReject() Field { f.RequiredToReject = true; return f }

// RequireIf makes the field required whenever other is given.
func (f Field) RequireIf(other string) Field { f.RequiredWith = other; return f }

// MarkPersonal marks a field whose values are personal data.
func (f Field) MarkPersonal() Field { f.Personal = true; return f }

// WithHelp adds a line of help shown under the field.
func (f Field) WithHelp(help string) Field { f.Help = help; return f }

// WithDefault pre-fills the field in clients.
func (f Field) WithDefault(v string) Field { f.Default = v; return f }

// Range bounds a money or decimal field (inclusive).
func (f Field) Range(min, max float64) Field {
	f.Min, f.Max = canonicalFloat(min, f.Type), canonicalFloat(max, f.Type)
	return f
}

// AtMost bounds a money, integer or decimal field from above (inclusive).
func (f Field) AtMost(max float64) Field { f.Max = canonicalFloat(max, f.Type); return f }

// IntRange bounds an integer field (inclusive).
func (f Field) IntRange(min, max int) Field {
	f.Min, f.Max = strconv.Itoa(min), strconv.Itoa(max)
	return f
}

// Dates bounds a date field (inclusive; "" unbounded).
func (f Field) Dates(min, max string) Field { f.Min, f.Max = min, max; return f }

// Length bounds a text field in characters.
func (f Field) Length(min, max int) Field { f.MinLength, f.MaxLength = min, max; return f }

func canonicalFloat(v float64, typ string) string {
	if typ == FieldMoney {
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	if typ == FieldInteger {
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
	return canonicalDecimal(strconv.FormatFloat(v, 'f', -1, 64))
}

var (
	namePattern   = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)
	optionPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)
	currencyCode  = regexp.MustCompile(`^[A-Z]{3}$`)
	decimalSyntax = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?$`)
	groupedSyntax = regexp.MustCompile(`^-?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]+)?$`)
	integerSyntax = regexp.MustCompile(`^-?[0-9]+$`)
)

// Validate checks the declaration (a process's mistake, found when the task
// opens): names, types, bounds, options.
func (form Form) Validate() error {
	if len(form) > MaxFields {
		return fmt.Errorf("form: %d fields, at most %d", len(form), MaxFields)
	}
	seen := map[string]bool{}
	for _, f := range form {
		if !namePattern.MatchString(f.Name) {
			return fmt.Errorf("form: field name %q: letters, digits and '_', starting with a letter", f.Name)
		}
		if seen[f.Name] {
			return fmt.Errorf("form: field %q declared twice", f.Name)
		}
		seen[f.Name] = true
		if strings.TrimSpace(f.Label) == "" {
			return fmt.Errorf("form: field %q: a label is required", f.Name)
		}
		switch f.Type {
		case FieldMoney:
			if !currencyCode.MatchString(f.Currency) {
				return fmt.Errorf("form: field %q: currency %q is not a three-letter code such as EUR", f.Name, f.Currency)
			}
		case FieldChoice, FieldMultiChoice:
			if len(f.Options) == 0 {
				return fmt.Errorf("form: field %q: a choice needs options", f.Name)
			}
			vals := map[string]bool{}
			for _, o := range f.Options {
				if !optionPattern.MatchString(o.Value) || vals[o.Value] {
					return fmt.Errorf("form: field %q: option %q is not a unique token (letters, digits, '.', '_', '-')", f.Name, o.Value)
				}
				vals[o.Value] = true
			}
		case FieldText, FieldInteger, FieldDecimal, FieldDate, FieldBoolean:
		default:
			return fmt.Errorf("form: field %q: type %q is not one of text, money, integer, decimal, date, choice, multi-choice, boolean", f.Name, f.Type)
		}
		for _, b := range []struct{ name, v string }{{"min", f.Min}, {"max", f.Max}} {
			if b.v == "" {
				continue
			}
			if _, err := f.canonical(b.v); err != nil {
				return fmt.Errorf("form: field %q: %s %q: %v", f.Name, b.name, b.v, err)
			}
		}
		if f.Min != "" && f.Max != "" && f.compare(f.Min, f.Max) > 0 {
			return fmt.Errorf("form: field %q: min %s is above max %s", f.Name, f.Min, f.Max)
		}
		if f.MaxLength > MaxValueBytes || f.MinLength < 0 || (f.MaxLength > 0 && f.MinLength > f.MaxLength) {
			return fmt.Errorf("form: field %q: length %d..%d is not within 0..%d", f.Name, f.MinLength, f.MaxLength, MaxValueBytes)
		}
		if f.RequiredWith != "" && !slices.ContainsFunc(form, func(o Field) bool { return o.Name == f.RequiredWith }) {
			return fmt.Errorf("form: field %q: required with %q, which the form does not declare", f.Name, f.RequiredWith)
		}
	}
	return nil
}

// Field returns the declared field name.
func (form Form) Field(name string) (Field, bool) {
	for _, f := range form {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// PersonalNames are the form's personal fields, sorted, comma separated
// (Subject.Personal).
func (form Form) PersonalNames() string {
	var out []string
	for _, f := range form {
		if f.Personal {
			out = append(out, f.Name)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}

// FieldError is a value the form refuses: Field names it, Msg says why.
type FieldError struct {
	Field, Msg string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Msg }

func fieldErr(f, format string, args ...any) *FieldError {
	return &FieldError{Field: f, Msg: fmt.Sprintf(format, args...)}
}

// Check checks values (as a decision with verdict carries them) against
// the form and returns them in canonical form ("30000" for a money field
// becomes "30000.00"); the error is a *FieldError naming the first field
// in the form's order that is wrong. Values the form does not declare,
// values on a delegation, and missing required values are refused.
func (form Form) Check(verdict string, values map[string]string) (map[string]string, error) {
	for _, name := range sortedKeys(values) {
		if _, ok := form.Field(name); !ok {
			if len(form) == 0 {
				return nil, fieldErr(name, "this task has no form: it takes no values")
			}
			return nil, fieldErr(name, "not a field of this task's form (fields: %s)", strings.Join(form.names(), ", "))
		}
	}
	if verdict == Delegate && len(values) > 0 {
		return nil, fieldErr(sortedKeys(values)[0], "a delegation carries no values: the delegate enters them")
	}
	out := map[string]string{}
	for _, f := range form {
		raw, given := values[f.Name]
		if given && strings.TrimSpace(raw) == "" && f.Type != FieldText {
			given = false
		}
		if !given && f.Default != "" && verdict == Approve {
			raw, given = f.Default, true
		}
		if !given || (f.Type == FieldText && strings.TrimSpace(raw) == "") {
			need := (verdict == Approve && f.Required) || (verdict == Reject && f.RequiredToReject)
			if f.RequiredWith != "" && strings.TrimSpace(values[f.RequiredWith]) != "" && verdict != Delegate {
				other, _ := form.Field(f.RequiredWith)
				return nil, fieldErr(f.Name, "required when %s is given", strings.ToLower(other.Label))
			}
			if need {
				return nil, fieldErr(f.Name, "required to %s", verdict)
			}
			continue
		}
		v, err := f.canonical(raw)
		if err != nil {
			return nil, fieldErr(f.Name, "%v", err)
		}
		if err := f.inBounds(v); err != nil {
			return nil, fieldErr(f.Name, "%v", err)
		}
		out[f.Name] = v
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// Names lists the fields for a listing: their names, "*" after one an
// approval must carry (required, without a proposed value).
func (form Form) Names() []string {
	var out []string
	for _, f := range form {
		n := f.Name
		if f.Required && f.Default == "" {
			n += "*"
		}
		out = append(out, n)
	}
	return out
}

func (form Form) names() []string {
	out := make([]string, len(form))
	for i, f := range form {
		out[i] = f.Name
	}
	return out
}

// canonical parses raw as the field's type and writes it canonically.
func (f Field) canonical(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	switch f.Type {
	case FieldText:
		if !utf8.ValidString(raw) {
			return "", fmt.Errorf("not valid UTF-8 text")
		}
		if strings.ContainsFunc(raw, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }) {
			return "", fmt.Errorf("control characters are not allowed")
		}
		return s, nil
	case FieldMoney:
		s = strings.TrimSpace(strings.TrimSuffix(strings.TrimPrefix(s, f.Currency), f.Currency))
		if groupedSyntax.MatchString(s) {
			s = strings.ReplaceAll(s, ",", "")
		}
		if !decimalSyntax.MatchString(s) {
			return "", fmt.Errorf("%q is not an amount such as 1250.00", raw)
		}
		if i := strings.IndexByte(s, '.'); i >= 0 && len(s)-i-1 > 2 {
			return "", fmt.Errorf("%q has more than two decimals", raw)
		}
		r, _ := new(big.Rat).SetString(s)
		return r.FloatString(2), nil
	case FieldDecimal:
		if groupedSyntax.MatchString(s) {
			s = strings.ReplaceAll(s, ",", "")
		}
		if !decimalSyntax.MatchString(s) || len(s) > 40 {
			return "", fmt.Errorf("%q is not a number such as 0.75", raw)
		}
		return canonicalDecimal(s), nil
	case FieldInteger:
		if !integerSyntax.MatchString(s) || len(s) > 18 {
			return "", fmt.Errorf("%q is not a whole number", raw)
		}
		n, _ := strconv.ParseInt(s, 10, 64)
		return strconv.FormatInt(n, 10), nil
	case FieldDate:
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return "", fmt.Errorf("%q is not a date such as 2026-12-01", raw)
		}
		return d.Format(time.DateOnly), nil
	case FieldBoolean:
		switch strings.ToLower(s) {
		case "true", "yes", "on", "1":
			return "true", nil
		case "false", "no", "off", "0":
			return "false", nil
		}
		return "", fmt.Errorf("%q is not true or false", raw)
	case FieldChoice:
		if !f.allows(s) {
			return "", fmt.Errorf("%q is not one of %s", raw, strings.Join(f.optionValues(), ", "))
		}
		return s, nil
	case FieldMultiChoice:
		picked := map[string]bool{}
		for _, p := range strings.Split(s, ",") {
			p = strings.TrimSpace(p)
			if p == "" {
				continue
			}
			if !f.allows(p) {
				return "", fmt.Errorf("%q is not one of %s", p, strings.Join(f.optionValues(), ", "))
			}
			picked[p] = true
		}
		var out []string
		for _, o := range f.Options { // declaration order
			if picked[o.Value] {
				out = append(out, o.Value)
			}
		}
		return strings.Join(out, ","), nil
	}
	return "", fmt.Errorf("unknown field type %q", f.Type)
}

func (f Field) allows(v string) bool {
	return slices.ContainsFunc(f.Options, func(o Option) bool { return o.Value == v })
}

func (f Field) optionValues() []string {
	out := make([]string, len(f.Options))
	for i, o := range f.Options {
		out[i] = o.Value
	}
	return out
}

// inBounds checks a canonical value against the field's bounds.
func (f Field) inBounds(v string) error {
	switch f.Type {
	case FieldText:
		n := utf8.RuneCountInString(v)
		maxLen := f.MaxLength
		if maxLen == 0 {
			maxLen = defaultTextLength
		}
		if n > maxLen {
			return fmt.Errorf("%d characters, at most %d", n, maxLen)
		}
		if n < f.MinLength {
			return fmt.Errorf("%d characters, at least %d", n, f.MinLength)
		}
	case FieldMoney, FieldInteger, FieldDecimal, FieldDate:
		if f.Min != "" && f.compare(v, f.Min) < 0 {
			return fmt.Errorf("%s is below the minimum %s", f.Display(v), f.Display(f.Min))
		}
		if f.Max != "" && f.compare(v, f.Max) > 0 {
			return fmt.Errorf("%s is above the maximum %s", f.Display(v), f.Display(f.Max))
		}
	}
	return nil
}

// compare orders two canonical values of the field.
func (f Field) compare(a, b string) int {
	if f.Type == FieldDate {
		return strings.Compare(a, b)
	}
	x, okx := new(big.Rat).SetString(a)
	y, oky := new(big.Rat).SetString(b)
	if !okx || !oky {
		return strings.Compare(a, b)
	}
	return x.Cmp(y)
}

// Display writes a canonical value for people: money with separators and
// its currency ("30,000.00 EUR"), a choice by its label, yes or no.
func (f Field) Display(v string) string {
	switch f.Type {
	case FieldMoney:
		return groupThousands(v) + " " + f.Currency
	case FieldInteger, FieldDecimal:
		return groupThousands(v)
	case FieldBoolean:
		if v == "true" {
			return "yes"
		}
		return "no"
	case FieldChoice, FieldMultiChoice:
		var out []string
		for _, p := range strings.Split(v, ",") {
			label := p
			for _, o := range f.Options {
				if o.Value == p && o.Label != "" {
					label = o.Label
				}
			}
			out = append(out, label)
		}
		return strings.Join(out, ", ")
	}
	return v
}

// groupThousands puts separators in a decimal's integer part.
func groupThousands(v string) string {
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(v, "-")
	intPart, frac, _ := strings.Cut(v, ".")
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	out := b.String()
	if frac != "" {
		out += "." + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}

// canonicalDecimal drops leading zeros of the integer part and trailing
// zeros of the fraction ("007.50" → "7.5", "-0" → "0").
func canonicalDecimal(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	intPart, frac, _ := strings.Cut(s, ".")
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	frac = strings.TrimRight(frac, "0")
	out := intPart
	if frac != "" {
		out += "." + frac
	}
	if neg && out != "0" {
		out = "-" + out
	}
	return out
}

// Describe is one line about the field for a terminal: type, bounds,
// options, required.
func (f Field) Describe() string {
	var parts []string
	switch f.Type {
	case FieldMoney:
		parts = append(parts, "money "+f.Currency)
	default:
		parts = append(parts, f.Type)
	}
	switch {
	case f.Min != "" && f.Max != "":
		parts = append(parts, fmt.Sprintf("%s..%s", f.Min, f.Max))
	case f.Min != "":
		parts = append(parts, ">= "+f.Min)
	case f.Max != "":
		parts = append(parts, "<= "+f.Max)
	}
	if f.Type == FieldText {
		maxLen := f.MaxLength
		if maxLen == 0 {
			maxLen = defaultTextLength
		}
		parts = append(parts, fmt.Sprintf("up to %d characters", maxLen))
	}
	if len(f.Options) > 0 {
		parts = append(parts, "one of "+strings.Join(f.optionValues(), "|"))
		if f.Type == FieldMultiChoice {
			parts[len(parts)-1] = "any of " + strings.Join(f.optionValues(), ",")
		}
	}
	switch {
	case f.RequiredToReject && f.Required:
		parts = append(parts, "required")
	case f.RequiredToReject:
		parts = append(parts, "required to reject")
	case f.Required:
		parts = append(parts, "required to approve")
	case f.RequiredWith != "":
		parts = append(parts, "required with "+f.RequiredWith)
	default:
		parts = append(parts, "optional")
	}
	if f.Personal {
		parts = append(parts, "personal")
	}
	if f.Default != "" {
		parts = append(parts, "proposed "+f.Default)
	}
	return strings.Join(parts, ", ")
}

// ValueDigest is the salted digest that stands for a personal value in the
// signing bytes and the trail: hex SHA-256 of "baton-value/v1", the salt
// (as sent, base64), the field's name and its value, one per line.
func ValueDigest(salt, name, value string) string {
	h := sha256.Sum256([]byte("baton-value/v1\n" + salt + "\n" + name + "\n" + value))
	return hex.EncodeToString(h[:])
}

// checkSalt refuses personal values without a salt long enough that the
// trail's digests cannot be reversed by trying every likely value.
func checkSalt(form Form, values map[string]string, salt string) error {
	personal := false
	for name := range values {
		if f, ok := form.Field(name); ok && f.Personal {
			personal = true
		}
	}
	if !personal {
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(salt)
	if err != nil || len(raw) < MinSaltBytes {
		return fieldErr("salt", "required with personal values: at least %d random bytes, base64 (the trail keeps their salted digest)", MinSaltBytes)
	}
	return nil
}

// Seal is the decision as the trail records it: each personal value (by
// the subject's Personal list) replaced by its salted digest in Digests,
// the salt dropped. SigningBytes of the sealed decision equal those of the
// decision as sent, so the trail alone verifies its signature. A value
// that cannot be digested (no salt: a refused message) is dropped, its
// digest "" saying it was there.
func Seal(s Subject, d Decision) Decision {
	if len(d.Values) == 0 || len(d.Digests) > 0 {
		d.Salt = ""
		return d
	}
	values := map[string]string{}
	for name, v := range d.Values {
		if !s.isPersonal(name) {
			values[name] = v
			continue
		}
		if d.Digests == nil {
			d.Digests = map[string]string{}
		}
		if d.Salt == "" {
			d.Digests[name] = ""
			continue
		}
		d.Digests[name] = ValueDigest(d.Salt, name, v)
	}
	if len(values) == 0 {
		values = nil
	}
	d.Values, d.Salt = values, ""
	return d
}

// Values are a task's entered values, canonical, with typed accessors for
// the process.
type Values map[string]string

// Has reports whether name was entered.
func (v Values) Has(name string) bool { _, ok := v[name]; return ok }

// Money is a money or decimal value as a float (false when not entered).
func (v Values) Money(name string) (float64, bool) {
	s, ok := v[name]
	if !ok {
		return 0, false
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil
}

// Int is an integer value (false when not entered).
func (v Values) Int(name string) (int, bool) {
	s, ok := v[name]
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// Bool is a boolean value (false when not entered).
func (v Values) Bool(name string) bool { return v[name] == "true" }

// List is a multi-choice value's options (nil when not entered).
func (v Values) List(name string) []string {
	if s := v[name]; s != "" {
		return strings.Split(s, ",")
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
