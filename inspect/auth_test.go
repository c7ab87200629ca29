package inspect

import (
	"html"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestDropCookie(t *testing.T) {
	for _, tc := range []struct{ line, want string }{
		{"hooklab_auth=x", ""},
		{"a=1; hooklab_auth=x; b=2", "a=1; b=2"},
		{"hooklab_auth=x;b=2", "b=2"},
		{" hooklab_auth = x ; b=2;", "b=2"},
		{"a=1;b=2", "a=1;b=2"},                           // not there: untouched
		{"hooklab_auth2=x; a=1", "hooklab_auth2=x; a=1"}, // another name
		{"a=hooklab_auth=x", "a=hooklab_auth=x"},         // a value
	} {
		if got := dropCookie(tc.line, AuthCookie); got != tc.want {
			t.Errorf("dropCookie(%q) = %q, want %q", tc.line, got, tc.want)
		}
	}
}

// TestAuthFormStaysHome: the token form of a page asked for at a path
// that reads as another host (//evil.example/x, or /\evil.example, which
// browsers take as //) sends the token to this server, as the redirect
// after it goes only to a path here. The page's CSP (form-action 'self')
// stops such a form in today's browsers; the form should not need it.
func TestAuthFormStaysHome(t *testing.T) {
	t.Parallel()
	h := Auth("s3cret", http.NotFoundHandler())
	for _, target := range []string{"//evil.example/x", "/%2F%2Fevil.example", "/%5Cevil.example", "/%5C%5Cevil.example"} {
		req := httptest.NewRequest("GET", "http://127.0.0.1:4040"+target, nil)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		m := regexp.MustCompile(`action="([^"]*)"`).FindStringSubmatch(rec.Body.String())
		if rec.Code != http.StatusUnauthorized || m == nil {
			t.Fatalf("%s: %d, no form: %s", target, rec.Code, rec.Body)
		}
		action := html.UnescapeString(m[1])
		if !strings.HasPrefix(action, "/") || strings.HasPrefix(action, "//") || strings.HasPrefix(action, "/\\") {
			t.Errorf("%s: the form's action is %q, which a browser sends to another host", target, action)
		}
	}
}
