package inspect

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestRequestOfOddTargets sends request lines as raw bytes and checks what
// RequestOf records of them, and the raw request and curl command made
// from that: the URL stays a URL that leads back to this listener (not to
// a host named by the path), and the target's bytes are kept.
func TestRequestOfOddTargets(t *testing.T) {
	t.Parallel()
	got := make(chan Request, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- RequestOf(r)
	}))
	t.Cleanup(srv.Close)
	self := srv.Listener.Addr().String()
	for _, tc := range []struct {
		name, line, headers string
		url, host           string // host: the Host header recorded; "-" for none
		raw                 string // how RawRequest's request line starts
		curl                string // in the curl command
	}{
		{name: "plain", line: "GET /ok?a=1 HTTP/1.1", headers: "Host: " + self,
			url: "http://" + self + "/ok?a=1", host: self, raw: "GET /ok?a=1 HTTP/1.1\r\nHost: " + self + "\r\n"},
		{name: "HTTP/1.0 without Host", line: "GET /attacker.example/x?a=1 HTTP/1.0",
			url: "http://" + self + "/attacker.example/x?a=1", host: "-", raw: "GET /attacker.example/x?a=1 HTTP/1.1\r\nHost: " + self + "\r\n",
			curl: "'http://" + self + "/attacker.example/x?a=1'"},
		{name: "empty Host", line: "GET /e HTTP/1.1", headers: "Host: ",
			url: "http://" + self + "/e", host: ""},
		{name: "Host no URL can hold", line: "POST /p/q?x=1 HTTP/1.1", headers: "Host: h:abc",
			url: "http://" + self + "/p/q?x=1", host: "h:abc", raw: "POST /p/q?x=1 HTTP/1.1\r\nHost: h:abc\r\n"},
		{name: "absolute form", line: "GET https://secure.example/s?t=1 HTTP/1.1", headers: "Host: " + self,
			url: "https://secure.example/s?t=1", host: "secure.example"},
		{name: "absolute form with a password", line: "GET http://user:pw@h.example/u HTTP/1.1", headers: "Host: " + self,
			url: "http://h.example/u", host: "h.example"},
		{name: "absolute form without a host", line: "GET http:///b/x?y=1 HTTP/1.1", headers: "Host: " + self,
			url: "http://" + self + "/b/x?y=1", host: self},
		{name: "bytes outside ASCII", line: "GET /caf\xc3\xa9/lat\xe9?q=\xc3\xa9 HTTP/1.1", headers: "Host: " + self,
			url: "http://" + self + "/caf\xc3\xa9/lat\xe9?q=\xc3\xa9", host: self,
			raw: "GET /caf\xc3\xa9/lat\xe9?q=\xc3\xa9 HTTP/1.1\r\n", curl: "--request-target '/caf\xc3\xa9/lat\xe9?q=\xc3\xa9' 'http://" + self + "/'"},
		{name: "characters url.Parse escapes", line: "GET /a{b}|c\"d^e`f<g>h\\i HTTP/1.1", headers: "Host: " + self,
			url: "http://" + self + "/a{b}|c\"d^e`f<g>h\\i", host: self, raw: "GET /a{b}|c\"d^e`f<g>h\\i HTTP/1.1\r\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := net.Dial("tcp", self)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			msg := tc.line + "\r\n"
			if tc.headers != "" {
				msg += tc.headers + "\r\n"
			}
			fmt.Fprintf(conn, "%sConnection: close\r\n\r\n", msg)
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("%s: %s", tc.line, resp.Status)
			}
			req := <-got
			if req.URL != tc.url {
				t.Errorf("URL %q, want %q", req.URL, tc.url)
			}
			var hosts []string
			for _, h := range req.Headers {
				if strings.EqualFold(h.Name, "Host") {
					hosts = append(hosts, h.Value)
				}
			}
			switch {
			case tc.host == "-" && len(hosts) > 0:
				t.Errorf("a Host header %q recorded; none was sent", hosts)
			case tc.host != "-" && (len(hosts) != 1 || hosts[0] != tc.host):
				t.Errorf("Host headers %q, want %q", hosts, tc.host)
			}
			ex := &Exchange{Request: req}
			if raw := string(RawRequest(ex)); !strings.HasPrefix(raw, tc.raw) {
				t.Errorf("raw request %q, want it to start %q", raw, tc.raw)
			}
			if c := Curl(ex); !strings.Contains(c, tc.curl) {
				t.Errorf("curl command %q, want it to hold %q", c, tc.curl)
			}
		})
	}
}
