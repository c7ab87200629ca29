package rules

import (
	"reflect"
	"strings"

	"github.com/osteele/liquid/values"
)

// Headers is request.headers in templates: lower-case header names to a
// value (a string, or a list when the header is repeated). Templates look
// names up in any case: {{ request.headers.X-Request-Id }} and
// {{ request.headers["x-request-id"] }} are the same.
type Headers map[string]any

var _ values.Value = Headers(nil)

func (h Headers) lookup(v values.Value) values.Value {
	name, ok := v.Interface().(string)
	if !ok {
		return values.ValueOf(nil)
	}
	if x, ok := h[strings.ToLower(name)]; ok {
		return values.ValueOf(x)
	}
	if name == "size" {
		return values.ValueOf(len(h))
	}
	return values.ValueOf(nil)
}

// Interface implements values.Value.
func (h Headers) Interface() any { return map[string]any(h) }

// Int implements values.Value.
func (h Headers) Int() int { return 0 }

// Equal implements values.Value.
func (h Headers) Equal(v values.Value) bool {
	return reflect.DeepEqual(map[string]any(h), v.Interface())
}

// Less implements values.Value.
func (h Headers) Less(values.Value) bool { return false }

// Contains reports whether the header is present, in any case.
func (h Headers) Contains(v values.Value) bool {
	name, ok := v.Interface().(string)
	if !ok {
		return false
	}
	_, found := h[strings.ToLower(name)]
	return found
}

// IndexValue implements values.Value with a case-insensitive lookup.
func (h Headers) IndexValue(v values.Value) values.Value { return h.lookup(v) }

// PropertyValue implements values.Value with a case-insensitive lookup.
func (h Headers) PropertyValue(v values.Value) values.Value { return h.lookup(v) }

// Test implements values.Value.
func (h Headers) Test() bool { return true }
