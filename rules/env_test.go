package rules

import (
	"fmt"
	"strings"
	"testing"
)

// TestEnvInFlowMapping: ${NAME} works inside {...} (where its braces would
// otherwise end the mapping), quoted and plain, and $${ stays literal.
func TestEnvInFlowMapping(t *testing.T) {
	t.Parallel()
	src := `mocks:
  - name: a
    match: {path: /x, headers: {Authorization: "Bearer ${TOKEN}"}}
    respond: {status: 200, body: 'hi ${TOKEN} $${LITERAL}', headers: {X-A: ${TOKEN}}}
`
	cfg, err := Parse([]byte(src), "h.yaml", func(k string) string { return map[string]string{"TOKEN": "t0k"}[k] })
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Mocks[0].Respond
	body, _ := r.RenderBody(nil)
	hdr, _ := r.Headers["X-A"].Render(nil)
	if string(body) != "hi t0k ${LITERAL}" || string(hdr) != "t0k" {
		t.Errorf("body %q header %q", body, hdr)
	}
	_, err = Parse([]byte(src), "h.yaml", func(string) string { return "" })
	if err == nil || !contains([]string{err.Error()}, err.Error()) {
		t.Fatal("missing variable accepted")
	}
	if got := unprotectEnv(string(protectEnv([]byte("a ${X} $${Y} ${bad-name} ${")))); got != "a ${X} $${Y} ${bad-name} ${" {
		t.Errorf("round trip gave %q", got)
	}
}

func TestTooManyRules(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("mocks:\n")
	for i := range MaxRules + 1 {
		fmt.Fprintf(&b, "  - {name: m%d, match: {path: /x%d}, respond: {status: 200}}\n", i, i)
	}
	_, err := Parse([]byte(b.String()), "big.yaml", nil)
	if err == nil || !strings.Contains(err.Error(), "big.yaml:2:") || !strings.Contains(err.Error(), "the limit is 1000") {
		t.Fatalf("%d mocks: %v", MaxRules+1, err)
	}
}
