package proxy_test

import (
	"net"
	"strconv"
	"testing"

	"github.com/hooklab/hooklab/proxy"
)

// FuzzParseUpstream: an upstream (--proxy LISTEN=UPSTREAM, upstream: in
// hooklab.yaml) is accepted only as an http or https URL with a host name
// (http://:80 would dial whatever listens on this machine) and,
// when it names one, a port from 1 to 65535; and what is accepted, written
// back (as the API and the log show it), is accepted as the same URL.
func FuzzParseUpstream(f *testing.F) {
	for _, s := range []string{"http://127.0.0.1:3000", "https://api.example.com/v1?k=v", "http://[::1]:8080/", "http://u:p@h:1/x", "http://h:0",
		"http://h:65536", "http://h:+80", "http://:80", "ftp://h", "http:///x", "//h:80", "h:80", "http://[::1", "HTTP://H", "http://h:080", "http://h#f"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, ok := proxy.ParseUpstream(s)
		if !ok {
			if u != nil {
				t.Fatalf("ParseUpstream(%q) = %v, false", s, u)
			}
			return
		}
		if u.Scheme != "http" && u.Scheme != "https" || u.Hostname() == "" {
			t.Fatalf("ParseUpstream(%q) accepted scheme %q host %q", s, u.Scheme, u.Host)
		}
		if p := u.Port(); p != "" {
			if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
				t.Fatalf("ParseUpstream(%q) accepted port %q", s, p)
			}
			if _, _, err := net.SplitHostPort(u.Host); err != nil {
				t.Fatalf("ParseUpstream(%q): host %q does not split: %v", s, u.Host, err)
			}
		}
		again, ok := proxy.ParseUpstream(u.String())
		if !ok || again.String() != u.String() {
			t.Fatalf("ParseUpstream(%q) = %q, which reads back as %v, %v", s, u, again, ok)
		}
	})
}
