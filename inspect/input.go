package inspect

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
)

// InputError is a value of a JSON request body that does not fit. Field is
// its path ("retry.max_attempts", "statuses.2"), empty when not known. It
// wraps ErrInvalid.
type InputError struct {
	Field string
	Msg   string
}

func (e *InputError) Error() string {
	if e.Field == "" {
		return ErrInvalid.Error() + ": " + e.Msg
	}
	return ErrInvalid.Error() + ": " + e.Field + ": " + e.Msg
}

func (e *InputError) Unwrap() error { return ErrInvalid }

// valueErrorMarker marks the UnmarshalTypeErrors ValueError makes.
type valueErrorMarker struct{}

// ValueError is what an UnmarshalJSON method returns for a value it
// refuses, msg saying what it wants ("want a duration such as 30s, got
// "abc""). encoding/json prefixes field with the path of the value being
// decoded for this error type alone, so DecodeJSON can name the field.
// field is the path below that value; empty for the value itself.
func ValueError(field, msg string) error {
	return &json.UnmarshalTypeError{Value: msg, Field: field, Type: reflect.TypeFor[valueErrorMarker]()}
}

// InputErrorOf turns an error of json.Decoder.Decode other than a syntax
// error into an *InputError naming the field when encoding/json knows it.
func InputErrorOf(err error) *InputError {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		msg := te.Value
		if te.Type != reflect.TypeFor[valueErrorMarker]() {
			msg = "want " + jsonKind(te.Type) + ", got " + article(te.Value)
		}
		return &InputError{Field: te.Field, Msg: msg}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		return &InputError{Msg: "unknown field " + name}
	}
	return &InputError{Msg: strings.TrimPrefix(err.Error(), "json: ")}
}

// jsonKind says what JSON value fits t.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "an integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a non-negative integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}

// article writes encoding/json's description of a value ("string",
// "number 1.5", "array") as a phrase.
func article(v string) string {
	switch v {
	case "string", "number", "bool":
		return "a " + strings.Replace(v, "bool", "boolean", 1)
	case "array", "object":
		return "an " + v
	}
	return v
}
