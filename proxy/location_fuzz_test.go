package proxy_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzReverseLocation: a Location an upstream answers a request through
// the proxy with (SELF in it standing for the upstream's own URL) never
// breaks the proxy; one that does not point at the upstream reaches the
// client unchanged; and one given back in the proxy's terms points at the
// proxy and, followed through it, reaches the resource the upstream meant.
// The proxy's routes have base paths of each kind (see locationProxy).
// Seeds are in testdata/fuzz/FuzzReverseLocation.
func FuzzReverseLocation(f *testing.F) {
	srv, up := locationProxy(f)
	upHost := strings.TrimPrefix(up.URL, "http://")
	f.Fuzz(func(t *testing.T, path, to string) {
		if !strings.HasPrefix(path, "/") || strings.ContainsAny(path, "# ") || strings.TrimSpace(to) != to || to == "" ||
			strings.ContainsFunc(path+to, func(r rune) bool { return r < ' ' || r == 0x7f }) {
			return // no request, or no header value, holds them
		}
		if _, err := url.Parse(srv.URL + path); err != nil {
			return
		}
		loc := strings.ReplaceAll(to, "SELF", up.URL)
		got, upURI, err := redirectThrough(t, srv, path, to)
		if err != nil {
			return // the client refused to send it (a bad header value, say)
		}
		l, err := url.Parse(loc)
		if err != nil || l.Host != "" && l.Host != upHost || l.Scheme != "" && l.Scheme != "http" || l.User != nil || l.Opaque != "" {
			if got != loc {
				t.Fatalf("Location %q, not the upstream's, reached the client as %q", loc, got)
			}
			return
		}
		if got == loc {
			return
		}
		if at, want := reached(t, srv, path, got), meant(t, upURI, loc); !slices.Equal(segments(at), want) {
			t.Fatalf("GET %s: Location %q given back as %q, which reached the upstream's %s, not %s", path, loc, got, at, strings.Join(want, "/"))
		}
	})
}
