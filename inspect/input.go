package inspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
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

// unknownFieldPath finds where in body, decoded into a value of type t,
// the unknown field quoted (as encoding/json quotes it, "name") is: its
// path, such as "authentication.usernme" or "custom_headers.2.nmae"
// (encoding/json names only the key), and near, the field of that object
// one edit away from it ("username"), or "". ok is false when it cannot
// tell.
func unknownFieldPath(body []byte, t reflect.Type, quoted string) (path, near string, ok bool) {
	var name string
	if json.Unmarshal([]byte(quoted), &name) != nil {
		return "", "", false
	}
	return findUnknown(body, t, "", name)
}

func findUnknown(raw []byte, t reflect.Type, path, name string) (string, string, bool) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch t.Kind() {
	case reflect.Struct:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return "", "", false
		}
		fields := map[string]reflect.Type{}
		collectFields(t, fields)
		if _, present := m[name]; present {
			if _, known := lookupField(fields, name); !known {
				near := ""
				for k := range fields {
					if len(name) >= 3 && oneEdit(strings.ToLower(name), k) && (near == "" || k < near) {
						near = k
					}
				}
				return join(name), near, true
			}
		}
		for k, v := range m {
			if ft, known := lookupField(fields, k); known {
				if p, near, ok := findUnknown(v, ft, join(k), name); ok {
					return p, near, true
				}
			}
		}
	case reflect.Slice, reflect.Array:
		var l []json.RawMessage
		if json.Unmarshal(raw, &l) != nil {
			return "", "", false
		}
		for i, v := range l {
			if p, near, ok := findUnknown(v, t.Elem(), join(strconv.Itoa(i)), name); ok {
				return p, near, true
			}
		}
	case reflect.Map:
		var m map[string]json.RawMessage
		if json.Unmarshal(raw, &m) != nil {
			return "", "", false
		}
		for k, v := range m {
			if p, near, ok := findUnknown(v, t.Elem(), join(k), name); ok {
				return p, near, true
			}
		}
	}
	return "", "", false
}

// badItem finds, when field (a path as encoding/json names it) is a list
// in body, decoded into a value of type t, the first of its items that
// does not decode into the list's element type: its path ("retry.
// statuses.1") and its JSON. ok is false when field is no list or every
// item decodes.
func badItem(body []byte, t reflect.Type, field string) (path string, item json.RawMessage, ok bool) {
	raw := json.RawMessage(body)
	for seg := range strings.SplitSeq(field, ".") {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		switch t.Kind() {
		case reflect.Struct:
			var m map[string]json.RawMessage
			if json.Unmarshal(raw, &m) != nil {
				return "", nil, false
			}
			fields := map[string]reflect.Type{}
			collectFields(t, fields)
			ft, known := lookupField(fields, seg)
			if !known {
				return "", nil, false
			}
			v, present := m[seg]
			if !present {
				for k, kv := range m { // encoding/json matches keys in any case
					if strings.EqualFold(k, seg) {
						v, present = kv, true
					}
				}
			}
			if !present {
				return "", nil, false
			}
			t, raw = ft, v
		case reflect.Map:
			var m map[string]json.RawMessage
			if json.Unmarshal(raw, &m) != nil || m[seg] == nil {
				return "", nil, false
			}
			t, raw = t.Elem(), m[seg]
		default:
			return "", nil, false
		}
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Slice && t.Kind() != reflect.Array {
		return "", nil, false
	}
	var l []json.RawMessage
	if json.Unmarshal(raw, &l) != nil {
		return "", nil, false
	}
	for i, it := range l {
		if json.Unmarshal(it, reflect.New(t.Elem()).Interface()) != nil {
			return field + "." + strconv.Itoa(i), it, true
		}
	}
	return "", nil, false
}

// shortJSON is a JSON value as an error quotes it: compact, and cut
// short past 64 bytes.
func shortJSON(v json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		b.Reset()
		b.Write(v)
	}
	s := b.String()
	if len(s) > 64 {
		s = strings.ToValidUTF8(s[:64], "") + "…"
	}
	return s
}

// collectFields adds the JSON names of struct type t's fields, promoted
// ones of embedded structs included, to out.
func collectFields(t reflect.Type, out map[string]reflect.Type) {
	for f := range t.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if f.Anonymous && name == "" {
			et := f.Type
			for et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				collectFields(et, out)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, dup := out[name]; !dup {
			out[name] = f.Type
		}
	}
}

// lookupField finds key among fields as encoding/json does: exactly, else
// without regard to case.
func lookupField(fields map[string]reflect.Type, key string) (reflect.Type, bool) {
	if t, ok := fields[key]; ok {
		return t, true
	}
	for k, t := range fields {
		if strings.EqualFold(k, key) {
			return t, true
		}
	}
	return nil, false
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
