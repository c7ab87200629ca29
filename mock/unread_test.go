package mock_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// A query or form of more pairs than rules read (10,000) is read up to
// that many; a field beyond them is not found, and the near miss says why
// instead of a plain "absent" for a field the request holds.
func TestNearMissSaysPairsUnread(t *testing.T) {
	t.Parallel()
	cfg := parseConfig(t, "many.yaml", `mocks:
  - name: form
    match: {path: /f, form: {last: "1"}}
    respond: {body: form}
  - name: query
    match: {path: /q, query: {last: "1"}}
    respond: {body: query}
  - name: few
    match: {path: /few, form: {last: "1"}}
    respond: {body: few}
`)
	h := newHarness(t, cfg, nil)
	var pairs strings.Builder
	for i := range 20_000 {
		fmt.Fprintf(&pairs, "p%d=%d&", i, i)
	}
	many := pairs.String() + "last=1"
	form := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
	for _, tc := range []struct {
		name, path string
		hdr        http.Header
		body       string
		want       string
	}{
		{"form", "/f", form, many, "form last: absent (only the first 10000 pairs of the form were read; it holds more)"},
		{"query", "/q?" + many, nil, "", "query last: absent (only the first 10000 pairs of the query were read; it holds more)"},
		{"few pairs", "/few", form, "a=1", "form last: absent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h.do(t, http.MethodPost, tc.path, tc.hdr, []byte(tc.body))
			ex := h.last(t, "default")
			nm, _ := ex.Meta["near_miss"].(map[string]any)
			reasons := anyStrings(nm["reasons"])
			if !contains(reasons, tc.want) {
				t.Errorf("near miss %v; want the reason %q", ex.Meta["near_miss"], tc.want)
			}
		})
	}
}
