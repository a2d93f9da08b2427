// Package strictjson decodes one JSON object from an untrusted source and
// refuses anything ambiguous: duplicate keys (which copy wins differs between
// parsers), unknown keys, invalid UTF-8, numbers out of range, and trailing
// data after the object. Errors name the field in dotted form.
package strictjson

import (
	"errors"
	"fmt"
	"strings"

	json "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
)

// Error is a decoding error that names the field (dotted path; "input" for
// the document as a whole).
type Error struct {
	Field  string
	Reason string
	// Offset is the byte offset of a syntactic error in the input (for a
	// line and column); -1 when the error is about a value.
	Offset int64
}

func (e *Error) Error() string { return e.Field + ": " + e.Reason }

// Decode unmarshals data, which must hold exactly one JSON value, into v.
func Decode(data []byte, v any) error {
	err := json.Unmarshal(data, v, json.RejectUnknownMembers(true))
	if err == nil {
		return nil
	}
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn):
		field, at := fieldOf(syn.JSONPointer), syn.ByteOffset
		switch {
		case errors.Is(syn.Err, jsontext.ErrDuplicateName):
			return &Error{field, "duplicate key", at}
		case strings.Contains(syn.Error(), "invalid UTF-8"):
			return &Error{field, "invalid UTF-8", at}
		case strings.Contains(syn.Error(), "after top-level value"):
			return &Error{"input", fmt.Sprintf("unexpected data after the JSON object (byte %d)", at), at}
		}
		return &Error{field, fmt.Sprintf("malformed JSON at byte %d", at), at}
	case errors.As(err, &sem):
		field := fieldOf(sem.JSONPointer)
		switch {
		case errors.Is(sem.Err, json.ErrUnknownName):
			return &Error{field, "unknown key", -1}
		case sem.JSONKind != 0 && sem.GoType != nil && sem.Err == nil:
			return &Error{field, fmt.Sprintf("want %s, got JSON %s", goKind(sem.GoType.Kind().String()), sem.JSONKind), -1}
		case sem.Err != nil:
			return &Error{field, sem.Err.Error(), -1}
		}
		return &Error{field, "invalid value", -1}
	}
	return &Error{"input", err.Error(), -1}
}

func fieldOf(p jsontext.Pointer) string {
	if p == "" {
		return "input"
	}
	var parts []string
	for tok := range p.Tokens() {
		parts = append(parts, tok)
	}
	return strings.Join(parts, ".")
}

func goKind(k string) string {
	switch {
	case strings.HasPrefix(k, "float"), strings.HasPrefix(k, "int"), strings.HasPrefix(k, "uint"):
		return "a number"
	case k == "string":
		return "a string"
	case k == "bool":
		return "true or false"
	case k == "slice", k == "array":
		return "a list"
	case k == "struct", k == "map":
		return "an object"
	}
	return k
}
