package rules

import (
	"slices"
	"strings"
	"testing"
)

// TestParseQueryBounded: a query or form of more pairs than url.ParseQuery
// takes is read up to that many, not into millions of values.
func TestParseQueryBounded(t *testing.T) {
	t.Parallel()
	v, cut := parseQuery(strings.Repeat("a&", 3*maxQueryPairs) + "b=1")
	if n := len(v["a"]); n != maxQueryPairs || v.Has("b") || !cut {
		t.Errorf("%d values of a (b read: %v, cut %v), want the first %d pairs, cut", n, v.Has("b"), cut, maxQueryPairs)
	}
	if v, cut := parseQuery("&&a=1&&b=50%&&"); v.Get("a") != "1" || v.Get("b") != "50%" || cut {
		t.Errorf("parseQuery = %v, cut %v", v, cut)
	}
	if _, cut := parseQuery(strings.Repeat("a&", maxQueryPairs)); cut {
		t.Errorf("exactly %d pairs read as cut", maxQueryPairs)
	}
}

// TestRequestFieldsAreRequestVars: the fields a template may read of
// request, which a config that reads another is refused for, are those
// RequestVars gives.
func TestRequestFieldsAreRequestVars(t *testing.T) {
	t.Parallel()
	var got []string
	for k := range RequestVars(&Request{Method: "GET", Path: "/"}, nil)["request"].(map[string]any) {
		got = append(got, k)
	}
	if want := requestFields(); !slices.Equal(slices.Sorted(slices.Values(got)), slices.Sorted(slices.Values(want))) {
		t.Errorf("RequestVars gives %q, requestFields says %q", got, want)
	}
}
