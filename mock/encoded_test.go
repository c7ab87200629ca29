package mock_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hooklab/hooklab/rules"
)

// A gzip-encoded JSON body is read decoded by the rules (json conditions,
// request.json), as the UI shows it; a signature is checked over the bytes
// that came. It matched nothing, with the near miss "body is not JSON".
func TestEncodedBodyMatches(t *testing.T) {
	t.Parallel()
	cfg := parseConfig(t, "enc.yaml", `mocks:
  - name: evt
    match: {method: POST, path: /evt, json: [{path: type, value: order.created}]}
    respond: {body: '{"got": "{{ request.json.id }}", "b": {{ request.body | size }}}'}
verify:
  - {name: gh, match: {path: /evt}, scheme: github, secret: s3cret}
`)
	h := newHarness(t, cfg, nil)
	plain := `{"type":"order.created","id":"o1"}`
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(plain))
	zw.Close()
	hdr, err := rules.Sign(rules.SchemeGitHub, []string{"s3cret"}, "", time.Now(), gz.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	hdr.Set("Content-Encoding", "gzip")
	hdr.Set("Content-Type", "application/json")
	a := h.do(t, http.MethodPost, "/evt", hdr, gz.Bytes())
	if want := `{"got": "o1", "b": 34}`; string(a.Body) != want {
		t.Errorf("answer %s; want %s", a.Body, want)
	}
	ex := h.last(t, "default")
	if ex.Rule != "evt" || !bytes.Equal(ex.Request.Body, gz.Bytes()) {
		t.Errorf("rule %q, recorded body %q; want evt and the body as it came", ex.Rule, ex.Request.Body)
	}
	if ex.Signature == nil || ex.Signature.Verdict != "valid" {
		t.Errorf("signature %+v; want valid (over the bytes sent)", ex.Signature)
	}

	// A coding rules do not decode says so.
	h.do(t, http.MethodPost, "/evt", http.Header{"Content-Encoding": {"br"}}, []byte("\x1b\x00\x00"))
	ex = h.last(t, "default")
	if nm, _ := ex.Meta["near_miss"].(map[string]any); nm == nil || !strings.Contains(strings.Join(anyStrings(nm["reasons"]), ";"), "Content-Encoding br") {
		t.Errorf("near miss %v; want one naming Content-Encoding br", ex.Meta["near_miss"])
	}
}

func anyStrings(v any) []string {
	var out []string
	switch v := v.(type) {
	case []string:
		return v
	case []any:
		for _, x := range v {
			s, _ := x.(string)
			out = append(out, s)
		}
	}
	return out
}
