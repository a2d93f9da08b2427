package process

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"unicode/utf8"

	"go.temporal.io/sdk/temporal"

	"github.com/batonhq/baton/textsafe"
)

// ErrInvalidStart is the application error type of a start input the
// process refuses (a field fails validation, a user is not in the
// directory). Systems' own refusals have their own types.
const ErrInvalidStart = "InvalidStart"

var keyPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// fieldError names the field that failed validation.
type fieldError struct{ field, why string }

func (e *fieldError) Error() string { return e.field + ": " + e.why }

// Invalid is a validation error naming field: "field: why".
func Invalid(field, format string, args ...any) error {
	return &fieldError{field, fmt.Sprintf(format, args...)}
}

// InvalidStart wraps a validation error so the instance fails at once:
// non-retryable, of type ErrInvalidStart, "invalid input: field: why".
func InvalidStart(err error) error {
	return temporal.NewNonRetryableApplicationError("invalid input: "+err.Error(), ErrInvalidStart, nil)
}

// RequireKey requires a business id: letters, digits, '-', '_' or '.', at
// most 64, starting with a letter or digit.
func RequireKey(field, v string) error {
	if v == "" {
		return Invalid(field, "required")
	}
	if !keyPattern.MatchString(v) {
		return Invalid(field, "%q must be letters, digits, '-', '_' or '.' (at most 64)", v)
	}
	return nil
}

// minAmount is the smallest amount of money a process accepts: one cent.
const minAmount = 0.01

// Amount requires a finite amount of money of at least one cent. JSON
// cannot carry NaN or infinities, but a flag (--amount NaN) or another
// client's data converter can.
func Amount(field string, v float64) error {
	switch {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return Invalid(field, "%v is not an amount of money", v)
	case v < minAmount:
		return Invalid(field, "%v is below one cent (at least 0.01)", v)
	}
	return nil
}

// AmountUpTo requires an amount (see Amount) of at most limit.
func AmountUpTo(field string, v, limit float64) error {
	if err := Amount(field, v); err != nil {
		return err
	}
	if v > limit {
		return Invalid(field, "%v is above the limit of %s", v, strings.TrimSuffix(Money(limit), ".00"))
	}
	return nil
}

// AtMost limits a free-text field's length and refuses text that would not
// show as it is: control characters (an ANSI escape or a newline forging a
// line of a table), bidi overrides, and U+FFFD (invalid UTF-8 that another
// client's JSON decoder replaced).
func AtMost(field, v string, n int) error {
	if len(v) > n {
		return Invalid(field, "at most %d characters", n)
	}
	if textsafe.Clean(v) != v || strings.ContainsRune(v, utf8.RuneError) {
		return Invalid(field, "control characters and invalid UTF-8 are not allowed")
	}
	return nil
}
