package rules

import (
	"strings"
	"testing"
)

// TestParseQueryBounded: a query or form of more pairs than url.ParseQuery
// takes is read up to that many, not into millions of values.
func TestParseQueryBounded(t *testing.T) {
	t.Parallel()
	v := parseQuery(strings.Repeat("a&", 3*maxQueryPairs) + "b=1")
	if n := len(v["a"]); n != maxQueryPairs || v.Has("b") {
		t.Errorf("%d values of a (b read: %v), want the first %d pairs", n, v.Has("b"), maxQueryPairs)
	}
	if v := parseQuery("&&a=1&&b=50%&&"); v.Get("a") != "1" || v.Get("b") != "50%" {
		t.Errorf("parseQuery = %v", v)
	}
}
