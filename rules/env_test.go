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

func TestEnvSeen(t *testing.T) {
	t.Parallel()
	e := NewEnvSeen(func(k string) string {
		return map[string]string{"TOK": "abc\"def", "LONG": "abc\"defghi", "PORT": "80", "WORD": "mock"}[k]
	})
	for _, k := range []string{"TOK", "LONG", "PORT", "WORD", "UNSET"} {
		e.Getenv(k)
	}
	for _, tc := range []struct{ in, want string }{
		{`got abc"defghi and abc"def`, `got ${LONG} and ${TOK}`},          // longest first
		{`got "abc\"def"`, `got "${TOK}"`},                                // as %q quotes it
		{`port 80`, `port 80`},                                            // too short to be a secret
		{`mock "mock-1"`, `mock "mock-1"`},                                // so is a word
		{`{{abc"defg… has no closing }}`, `{{${LONG}… has no closing }}`}, // clipped
		{`x {{abc"… and abc"de…`, `x {{${LONG}… and ${LONG}…`},            // each clip
		{`ends abc… here`, `ends ${LONG}… here`},                          // 3 bytes are enough
		{`ends ab… here`, `ends ab… here`},                                // 2 are not
	} {
		if got := e.Scrub(tc.in); got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		text, frag string
		want       bool
	}{
		{`^x abc"def(`, `f(`, true},   // the fragment runs into the value's end
		{`^x abc"def(`, `^x a`, true}, // and into its start
		{`^x abc"def(`, `^x `, false}, // beside it
		{`(( abc"def`, `((`, false},   // the same bytes elsewhere in the text
		{`c" abc"def`, `c"`, true},    // one occurrence of several overlaps
		{`^x abc"def(`, ``, false},
	} {
		if _, got := e.Overlaps(tc.text, tc.frag); got != tc.want {
			t.Errorf("Overlaps(%q, %q) = %v, want %v", tc.text, tc.frag, got, tc.want)
		}
	}
}

// Values with the characters a message uses to quote them: a "…" in a
// value is no clip, and a template error quotes a value from a "{{" in it.
func TestEnvSeenAwkwardValues(t *testing.T) {
	t.Parallel()
	e := NewEnvSeen(func(k string) string {
		return map[string]string{"ELL": "abc…defghij", "TPL": "pw{{s3cr3t_tail_value_ABCDEFGHIJKLMNOP"}[k]
	})
	e.Getenv("ELL")
	e.Getenv("TPL")
	for _, tc := range []struct{ in, want string }{
		{`x abc…defghij y`, `x ${ELL} y`},
		{`{{s3cr3t_tail_value_ABCDEFGHIJKLMNOP has no closing }}`, `${TPL} has no closing }}`},
		{`{{s3cr3t_tail_value_ABCDEF… has no closing }}`, `${TPL}… has no closing }}`},
	} {
		if got := e.Scrub(tc.in); got != tc.want {
			t.Errorf("Scrub(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestEnvEscapeInFlowMapping: $${ (a literal ${) works unquoted inside
// {...} as a reference does, in a value: its braces ended the
// mapping, a YAML error at the line's start.
func TestEnvEscapeInFlowMapping(t *testing.T) {
	t.Parallel()
	src := "mocks:\n  - name: a\n    respond: {status: 200, body: $${LIT}, headers: {X-A: a $${B} c}}\n"
	cfg, err := Parse([]byte(src), "h.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	r := cfg.Mocks[0].Respond
	body, _ := r.RenderBody(nil)
	hdr, _ := r.Headers["X-A"].Render(nil)
	if string(body) != "${LIT}" || string(hdr) != "a ${B} c" {
		t.Errorf("body %q header %q", body, hdr)
	}
}
