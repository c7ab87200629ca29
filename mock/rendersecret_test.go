package mock_test

import (
	"net/http"
	"strings"
	"testing"
)

// TestRenderErrorHidesSecretHeaders: a Liquid error quotes the value it
// could not use, and an exchange's error shows in its summary (the list,
// the stream), which carries no header values: a secret header's value is
// not quoted, a plain header's still is.
func TestRenderErrorHidesSecretHeaders(t *testing.T) {
	t.Parallel()
	cfg := parseConfig(t, "render.yaml", `
mocks:
  - name: date
    match: {path: /date}
    respond: {body: '{{ request.headers.authorization | date: 5 }}'}
  - name: split
    match: {path: /split}
    respond: {body: '{% assign x = request.headers.authorization | split: " " %}{{ x[1] | divided_by: 0 }}'}
  - name: base64
    match: {path: /base64}
    respond: {body: '{{ request.headers.authorization | base64_decode }}'}
  - name: header
    match: {path: /header}
    respond: {headers: {X-Out: '{{ request.headers.cookie | date: 5 }}'}, body: ok}
  - name: plain
    match: {path: /plain}
    respond: {body: '{{ request.headers.x-team | date: 5 }}'}
`)
	h := newHarness(t, cfg, nil)
	const secret = "sk_live_TOPSECRET"
	hdr := http.Header{"Authorization": {"Bearer " + secret}, "Cookie": {"sid=" + secret}, "X-Team": {"blue-team"}}
	for _, tt := range []struct {
		path, want string
	}{
		{"/date", `cannot parse \"REDACTED\"`},
		{"/split", `division by zero`}, // "REDACTED" splits into one word
		{"/base64", "failed on the value of a secret header (the Liquid error is not shown"},
		{"/header", `header X-Out: render: Liquid error`},
		{"/plain", `cannot parse \"blue-team\"`},
	} {
		t.Run(tt.path, func(t *testing.T) {
			a := h.do(t, http.MethodGet, "/b/render"+tt.path, hdr, nil)
			if a.Status != http.StatusInternalServerError {
				t.Fatalf("status %d (%s), want 500", a.Status, a.Body)
			}
			var got string
			for _, ex := range h.exchanges(t, "render") {
				if ex.Request.URL != "" && strings.HasSuffix(ex.Request.URL, tt.path) {
					got = ex.Error
				}
			}
			if strings.Contains(got, secret) || strings.Contains(string(a.Body), secret) {
				t.Errorf("error %q, answer %s: quotes the secret", got, a.Body)
			}
			if !strings.Contains(got, tt.want) {
				t.Errorf("error %q, want it to hold %q", got, tt.want)
			}
		})
	}
}
