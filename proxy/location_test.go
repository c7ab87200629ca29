package proxy_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/proxy"
)

// locationProxy runs a reverse proxy whose routes have upstream base paths
// of each kind (none, one without a trailing slash, one with it), stripped
// and not, in front of an upstream that answers a request carrying X-To
// with that Location (SELF in it standing for the upstream's own URL), and
// any with its request URI in X-Up-URI.
func locationProxy(t testing.TB) (srv, up *httptest.Server) {
	t.Helper()
	up = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Up-URI", r.RequestURI)
		if to := r.Header.Get("X-To"); to != "" {
			w.Header().Set("Location", strings.ReplaceAll(to, "SELF", "http://"+r.Host))
			w.WriteHeader(http.StatusFound)
		}
	}))
	t.Cleanup(up.Close)
	base := func(p string) *url.URL {
		u, err := url.Parse(up.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	p, err := proxy.NewReverse(proxy.Options{Name: "api", MaxBody: 1 << 10,
		Record: func(context.Context, *inspect.Exchange) error { return nil },
		Routes: []proxy.Route{
			{Prefix: "/", Upstream: base("/app")},
			{Prefix: "/raw", Upstream: base("")},
			{Prefix: "/v2", Upstream: base("/base"), Strip: true},
			{Prefix: "/v3", Upstream: base("/three/"), Strip: true},
		}})
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewServer(p)
	t.Cleanup(func() { srv.Close(); p.Wait() })
	return srv, up
}

// redirectThrough asks the proxy for path with the upstream answering
// Location to, and returns the Location the client got and the URI the
// upstream was asked for.
func redirectThrough(t testing.TB, srv *httptest.Server, path, to string) (loc, upURI string, err error) {
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	if err != nil {
		return "", "", err
	}
	req.Header.Set("X-To", to)
	resp, err := noRedirects.Do(req)
	if err != nil {
		return "", "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET %s with Location %q: status %d, X-Up-URI %q", path, to, resp.StatusCode, resp.Header.Get("X-Up-URI"))
	}
	return resp.Header.Get("Location"), resp.Header.Get("X-Up-URI"), nil
}

var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// reached follows loc, a Location the client got for its request to
// path, through the proxy, and returns the URI the upstream was asked for.
func reached(t testing.TB, srv *httptest.Server, path, loc string) string {
	t.Helper()
	c, err := url.Parse(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	l, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("Location %q: %v", loc, err)
	}
	c = c.ResolveReference(l)
	if c.Host != strings.TrimPrefix(srv.URL, "http://") {
		t.Fatalf("Location %q, given for %s, points at %s, not at the proxy", loc, path, c.Host)
	}
	c.Fragment, c.RawFragment = "", ""
	// As a browser sends a space in the query (Go's client would split
	// the request line at it).
	c.RawQuery = strings.ReplaceAll(c.RawQuery, " ", "%20")
	resp, err := http.Get(c.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	at := resp.Header.Get("X-Up-URI")
	if at == "" {
		t.Fatalf("following Location %q, given for %s, to %s: status %d, not the upstream's answer", loc, path, c, resp.StatusCode)
	}
	return at
}

// segments is the path of a request URI split at its slashes, each
// segment unescaped: two paths with the same segments name one resource.
func segments(uri string) []string {
	p, _, _ := strings.Cut(uri, "?")
	s := strings.Split(p, "/")
	for i := range s {
		if v, err := url.PathUnescape(s[i]); err == nil {
			s[i] = v
		}
	}
	return s
}

// meant is the path the upstream asked for upURI meant with loc (its dot
// segments resolved, as clients resolve them), split as segments does.
func meant(t testing.TB, upURI, loc string) []string {
	t.Helper()
	b, err := url.Parse(upURI)
	if err != nil {
		t.Fatal(err)
	}
	l, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	return segments(b.ResolveReference(l).EscapedPath())
}

// A Location is given back in the proxy's terms only when a client that
// follows it reaches, through the proxy, what the upstream meant: one
// whose dot segments climbed out of the route's base path was rewritten
// as if under it (/app/../admin, meaning /admin, became /../admin, which
// the client resolved to /admin and the proxy sent to /app/admin), the
// base path itself without the slash the proxy always sends after it
// became the route's root (which reaches /three/, not /three), and a
// relative one climbing out of a stripped prefix went as it was, the
// client resolving it to a path of another route.
func TestReverseLocationPaths(t *testing.T) {
	t.Parallel()
	srv, up := locationProxy(t)
	self := up.URL
	for _, tc := range []struct{ name, path, to, want string }{
		{"dot segments within the base", "/a", "SELF/app/x/../login", srv.URL + "/login"},
		{"dot segments out of the base", "/a", "SELF/app/../admin", self + "/app/../admin"},
		{"dot segments out of the base, from the root", "/a", "/app/../admin", "/app/../admin"},
		{"dot segments out of a stripped base", "/v2/a", "SELF/base/../admin", self + "/base/../admin"},
		{"dot segments within a stripped base", "/v2/a", "/base/./x/../y", "/v2/y"},
		{"escaped dot segments", "/a", "SELF/app/%2e%2e/admin", self + "/app/%2e%2e/admin"},
		{"base without its slash, not stripped", "/a", "SELF/app", self + "/app"},
		{"base without its slash, stripped, base written with one", "/v3/a", "SELF/three", self + "/three"},
		{"base with its slash, stripped", "/v3/a", "SELF/three/", srv.URL + "/v3/"},
		{"base without its slash, stripped, base written so", "/v2/a", "SELF/base", srv.URL + "/v2"},
		{"a longer name than the base", "/v2/a", "SELF/basement", self + "/basement"},
		{"relative, reached as it is", "/v2/a/b", "../login", "../login"},
		{"relative, climbing out of a stripped prefix", "/v2/a", "../base/x", "/v2/x"},
		{"relative, climbing out of the base", "/a", "../../admin", "../../admin"},
		{"under a base of none", "/raw/a", "SELF/raw/x?y=1#z", srv.URL + "/raw/x?y=1#z"},
		{"the root of a base of none, which another route takes", "/raw/a", "SELF", self},
	} {
		t.Run(tc.name, func(t *testing.T) {
			to := strings.ReplaceAll(tc.to, "SELF", self)
			got, upURI, err := redirectThrough(t, srv, tc.path, tc.to)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("Location %q for %q, want %q", got, to, tc.want)
			}
			if got == to {
				return
			}
			if at, want := reached(t, srv, tc.path, got), meant(t, upURI, to); !slices.Equal(segments(at), want) {
				t.Errorf("following %q reached the upstream's %s, want %s", got, at, strings.Join(want, "/"))
			}
		})
	}
}
