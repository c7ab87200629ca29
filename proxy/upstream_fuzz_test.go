package proxy_test

import (
	"net"
	"strconv"
	"strings"
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
		"http://h:65536", "http://h:+80", "http://:80", "ftp://h", "http:///x", "//h:80", "h:80", "http://[::1", "HTTP://H", "http://h:080", "http://h#f",
		"http://]:1", "http://h]:1", "http://a!b", "http://h..x", "http://-h", "http://[fe80::1%25en0]:1", "http://münchen.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := proxy.ParseUpstream(s)
		if err != nil {
			if u != nil || err.Error() == "" {
				t.Fatalf("ParseUpstream(%q) = %v, %q", s, u, err)
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
		if strings.ContainsAny(u.Hostname(), "[]!*'()+,;=$&\" \t") {
			t.Fatalf("ParseUpstream(%q) accepted host %q", s, u.Hostname())
		}
		again, err := proxy.ParseUpstream(u.String())
		if err != nil || again.String() != u.String() {
			t.Fatalf("ParseUpstream(%q) = %q, which reads back as %v, %v", s, u, again, err)
		}
	})
}

// TestParseUpstream: each upstream no request could go to is refused with
// an error saying what is wrong with it, never quoting a password; Go's URL
// parser takes http://]:1 and http://a!b for URLs with hosts, and
// ParseUpstream took them too, each request to one failing with a 502.
func TestParseUpstream(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"http://]:1", `its host "]" is neither a host name nor an IP address: it holds ']'`},
		{"http://h]:1", `its host "h]" is neither a host name nor an IP address: it holds ']'`},
		{"http://a!b:80/x", `its host "a!b" is neither a host name nor an IP address: it holds '!'`},
		{"http://a*b", `it holds '*'`},
		{"http://h..x:1", `its host "h..x" is neither a host name nor an IP address: it has an empty label`},
		{"http://.h", `it has an empty label`},
		{"http://-h:1", `its label "-h" starts or ends with -`},
		{"http://h-.example", `its label "h-" starts or ends with -`},
		{"http://" + strings.Repeat("a", 64) + ".example", "a label of it is longer than 63 bytes"},
		{"ftp://h", `its scheme "ftp" is neither http nor https`},
		{"127.0.0.1:3000", "it has no scheme: begin it with http:// or https://"},
		{"localhost:3000", "it has no scheme"},
		{"//h:80/x", "it has no scheme: begin it with http:// or https://"},
		{"http:h", "it has no host (http: is not followed by //)"},
		{"http://:80", "it has no host"},
		{"http://", "it has no host"},
		{"http://h:0", `its port "0" is not a number from 1 to 65535`},
		{"http://h:99999", `its port "99999" is not a number from 1 to 65535`},
		{"http://h:+80", `it does not parse as a URL: invalid port ":+80" after host`},
		{"http://[::1", "it does not parse as a URL: missing ']' in host"},
		{"http://[1.2.3.4]:1", "it does not parse as a URL: invalid IP-literal"},
		{"http://h:1:2", `it does not parse as a URL: invalid port ":1:2" after host`},
		// Go's reason would quote ":PW" as the port.
		{"http://bob:PW/x@h:1", "it does not parse as a URL"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			u, err := proxy.ParseUpstream(tc.in)
			if err == nil {
				t.Fatalf("ParseUpstream(%q) = %v, accepted", tc.in, u)
			}
			if !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "PW") {
				t.Errorf("ParseUpstream(%q): %q, want %q", tc.in, err, tc.want)
			}
		})
	}
	for _, in := range []string{"http://127.0.0.1:3000", "https://api.example.com/v1?k=v", "http://[::1]:8080/", "http://[fe80::1%25en0]:1",
		"http://u:p@h:1/x", "http://my_service:8080", "http://h.example.:80", "http://münchen.example/", "HTTP://H", "http://h#f"} {
		if _, err := proxy.ParseUpstream(in); err != nil {
			t.Errorf("ParseUpstream(%q): %v", in, err)
		}
	}
}
