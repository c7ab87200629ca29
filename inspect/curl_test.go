package inspect

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordingListener keeps every byte its connections read.
type recordingListener struct {
	net.Listener
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c, l: l}, nil
}

func (l *recordingListener) bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.buf.Bytes())
}

type recordingConn struct {
	net.Conn
	l *recordingListener
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.l.mu.Lock()
	c.l.buf.Write(p[:n])
	c.l.mu.Unlock()
	return n, err
}

// recordingServer answers 200 to anything and records the bytes it got.
func recordingServer(t *testing.T) (*httptest.Server, *recordingListener) {
	t.Helper()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodHead {
			// The length of the body a GET would get, and no close: a
			// client that expects a body waits for it.
			w.Header().Set("Content-Length", "5")
			return
		}
		w.Header().Set("Connection", "close")
	}))
	rl := &recordingListener{Listener: srv.Listener}
	srv.Listener = rl
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, rl
}

// wireRequest is a request as it was on the wire.
type wireRequest struct {
	method, target string
	headers        Headers // as sent, names unchanged
	body           []byte
}

func parseWire(t *testing.T, raw []byte) wireRequest {
	t.Helper()
	head, body, ok := bytes.Cut(raw, []byte("\r\n\r\n"))
	if !ok {
		t.Fatalf("no end of headers in %q", raw)
	}
	lines := strings.Split(string(head), "\r\n")
	parts := strings.SplitN(lines[0], " ", 3)
	if len(parts) != 3 || parts[2] != "HTTP/1.1" {
		t.Fatalf("request line %q", lines[0])
	}
	w := wireRequest{method: parts[0], target: parts[1], body: body}
	for _, l := range lines[1:] {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			t.Fatalf("header line %q", l)
		}
		w.headers = append(w.headers, Header{name, strings.Trim(value, " \t")})
	}
	return w
}

func TestCurlReproducesRequest(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"sh", "curl", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not on PATH", tool)
		}
	}
	binary := make([]byte, 0, 4096)
	for i := range 4096 {
		binary = append(binary, byte(i*7))
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<20/16+1) // over 1 MiB: curl may add Expect
	tests := []struct {
		name, method, target string
		headers              Headers
		body                 []byte
	}{
		{"JSON", "POST", "/b/orders/hook?a=1&b=%20x&c", Headers{
			{"Content-Type", "application/json"}, {"X-Signature", "t=1,v1=abc"}, {"User-Agent", "Stripe/1.0"},
		}, []byte(`{"id":"evt_1","amount":1299,"note":"it's \"fine\""}`)},
		{"text with quotes and newlines", "PUT", "/text", Headers{
			{"Content-Type", "text/plain; charset=utf-8"}, {"x-lower-case", "v"},
		}, []byte("it's \"quoted\"\nline 2\r\n$HOME `id` \\ \\n end\n\n")},
		{"at sign first", "POST", "/at", Headers{{"Content-Type", "text/plain"}}, []byte("@/etc/passwd")},
		{"binary", "POST", "/bin", Headers{{"Content-Type", "application/octet-stream"}}, binary},
		{"no content type", "POST", "/form", nil, []byte("a=1&b=2")},
		{"empty and repeated headers", "GET", "/h", Headers{
			{"X-Empty", ""}, {"X-Dup", "1"}, {"X-Dup", "2"}, {"Accept", "text/html"},
		}, nil},
		{"brackets, braces and dot segments", "GET", "/a/../b/./c?filter[status]=paid&x={y}", nil, nil},
		{"delete without body", "DELETE", "/thing/1", Headers{{"Authorization", "Bearer x'y"}}, nil},
		{"head", "HEAD", "/head?x=1", Headers{{"X-Probe", "1"}}, nil},
		{"over 1 MiB", "POST", "/big", Headers{{"Content-Type", "text/plain"}}, big},
		{"empty POST with Content-Length: 0", "POST", "/ping", Headers{{"X-Probe", "1"}}, nil},
		// curl takes a # in a URL as the start of a fragment, which it
		// does not send.
		{"number sign in the target", "GET", "/a?b=1#c", nil, nil},
		{"bytes outside ASCII in the target", "POST", "/caf\xc3\xa9/lat\xe9?q=\xc3\xa9&r=\x01", Headers{{"Content-Type", "text/plain"}}, []byte("x")},
	}
	for _, tt := range tests {
		// An empty POST says Content-Length: 0, as clients send it.
		zeroLength := tt.method == "POST" && len(tt.body) == 0
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, rec := recordingServer(t)
			host := strings.TrimPrefix(srv.URL, "http://")
			// As the capture endpoint records it: Host first, then the rest.
			hdr := Headers{{"Host", host}}
			if len(tt.body) > 0 || zeroLength {
				hdr = append(hdr, Header{"Content-Length", strconv.Itoa(len(tt.body))})
			}
			hdr = append(hdr, tt.headers...)
			ex := &Exchange{Request: Request{
				Method: tt.method, URL: srv.URL + tt.target, Host: host, Headers: hdr, Body: tt.body,
			}}
			cmd := Curl(ex)
			script := filepath.Join(t.TempDir(), "curl.sh")
			if err := os.WriteFile(script, []byte(cmd+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, "sh", script).CombinedOutput()
			if err != nil {
				t.Fatalf("running %.300s: %v\n%s", cmd, err, out)
			}

			got := parseWire(t, rec.bytes())
			if got.method != tt.method || got.target != tt.target {
				t.Errorf("request line %s %s, want %s %s", got.method, got.target, tt.method, tt.target)
			}
			if !bytes.Equal(got.body, tt.body) {
				t.Errorf("body (%d bytes) differs from the original (%d bytes)", len(got.body), len(tt.body))
			}
			var sent Headers
			lengthSent := false
			for _, h := range got.headers {
				switch {
				case strings.EqualFold(h.Name, "Host"):
					if h.Value != host {
						t.Errorf("Host %q, want %q", h.Value, host)
					}
				case strings.EqualFold(h.Name, "Content-Length"):
					lengthSent = true
					if h.Value != strconv.Itoa(len(tt.body)) {
						t.Errorf("Content-Length %s, want %d", h.Value, len(tt.body))
					}
				default:
					sent = append(sent, h)
				}
			}
			if zeroLength && !lengthSent {
				t.Errorf("no Content-Length: 0 sent; command: %.300s", cmd)
			}
			if !equalHeaders(sent, tt.headers) {
				t.Errorf("headers sent:\n %q\nwant\n %q\ncommand: %.300s", sent, tt.headers, cmd)
			}
		})
	}
}

func equalHeaders(a, b Headers) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCurlText(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		ex       Exchange
		contains []string
		excludes []string
	}{
		{"plain GET", Exchange{Request: Request{Method: "GET", URL: "http://h/x"}},
			[]string{"curl ", "'http://h/x'", "-H 'User-Agent:'", "-H 'Accept:'"}, []string{"-X", "--data-binary", "base64"}},
		{"text body inline", Exchange{Request: Request{Method: "POST", URL: "http://h/", Body: []byte("a'b")}},
			[]string{"-X 'POST'", `--data-binary 'a'\''b'`, "-H 'Content-Type:'"}, []string{"base64"}},
		{"binary body on stdin", Exchange{Request: Request{Method: "POST", URL: "http://h/", Body: []byte{0xff}}},
			[]string{"printf %s '/w==' | base64 -d | curl", "--data-binary @-"}, nil},
		{"NUL is binary", Exchange{Request: Request{Method: "POST", URL: "http://h/", Body: []byte("a\x00")}},
			[]string{"--data-binary @-"}, []string{"\x00"}},
		{"hop-by-hop headers left to curl", Exchange{Request: Request{Method: "POST", URL: "http://h/", Body: []byte("x"),
			Headers: Headers{{"Host", "h"}, {"Content-Length", "1"}, {"Transfer-Encoding", "chunked"}, {"Connection", "keep-alive"}}}},
			nil, []string{"Host:", "Content-Length", "Transfer-Encoding", "Connection"}},
		// A forward proxy's credentials never reached the origin, which
		// the command goes to.
		{"proxy and named hop-by-hop headers left out", Exchange{Request: Request{Method: "GET", URL: "http://h/",
			Headers: Headers{{"Proxy-Authorization", "Basic dTpwcm94eXBhc3M="}, {"Proxy-Connection", "Keep-Alive"}, {"Keep-Alive", "timeout=5"},
				{"TE", "trailers"}, {"Connection", "close, X-Hop"}, {"X-Hop", "1"}, {"X-End", "2"}}}},
			[]string{"-H 'X-End: 2'"}, []string{"Proxy-", "dTpwcm94eXBhc3M=", "Keep-Alive", "TE:", "X-Hop"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := Curl(&tt.ex)
			for _, s := range tt.contains {
				if !strings.Contains(got, s) {
					t.Errorf("%s\ndoes not contain %q", got, s)
				}
			}
			for _, s := range tt.excludes {
				if strings.Contains(got, s) {
					t.Errorf("%s\ncontains %q", got, s)
				}
			}
		})
	}
}

// A CONNECT exchange (a forward proxy's tunnel) is shown as what it was:
// its request line names host:port, and curl gets a comment, not a
// command that would send something else.
func TestConnectRawAndCurl(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, host, want string }{
		{"https://127.0.0.1:27002", "127.0.0.1:27002", "127.0.0.1:27002"},
		{"https://example.com", "example.com", "example.com:443"},
		{"https://[::1]:8443", "[::1]:8443", "[::1]:8443"},
	} {
		ex := &Exchange{Request: Request{Method: "CONNECT", URL: tc.url, Host: tc.host, Headers: Headers{{"Host", tc.host}}}}
		if raw := string(RawRequest(ex)); !strings.HasPrefix(raw, "CONNECT "+tc.want+" HTTP/1.1\r\nHost: "+tc.host+"\r\n") {
			t.Errorf("%s: raw %q", tc.url, raw)
		}
		if c := Curl(ex); !strings.HasPrefix(c, "# CONNECT "+tc.want+" opened a tunnel") || strings.Contains(c, "\n") {
			t.Errorf("%s: curl %q", tc.url, c)
		}
	}
}

// TestCurlEscapesSpaces: a URL with spaces (imported from a hand-written
// or foreign HAR; no captured request line holds one) gives a command
// that sends them as %20, as replay does: as they were, they split the
// request line and the receiver answered 400.
func TestCurlEscapesSpaces(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"sh", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not on PATH", tool)
		}
	}
	for _, tt := range []struct{ name, target, want string }{
		{"path and query", "/my file.txt?q=x y", "/my%20file.txt?q=x%20y"},
		{"with bytes outside ASCII", "/caf\xc3\xa9 au lait?q=\xe9 t", "/caf\xc3\xa9%20au%20lait?q=\xe9%20t"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, rec := recordingServer(t)
			host := strings.TrimPrefix(srv.URL, "http://")
			ex := &Exchange{Request: Request{Method: "GET", URL: srv.URL + tt.target, Host: host, Headers: Headers{{"Host", host}}}}
			cmd := Curl(ex)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if out, err := exec.CommandContext(ctx, "sh", "-c", cmd).CombinedOutput(); err != nil {
				t.Fatalf("running %s: %v\n%s", cmd, err, out)
			}
			if got := parseWire(t, rec.bytes()); got.target != tt.want {
				t.Errorf("request target %q, want %q; command: %s", got.target, tt.want, cmd)
			}
		})
	}
}

// TestRawEscapesSpaces: /raw of a URL with spaces (imported from a HAR)
// writes a request line that parses, the spaces as %20 as /curl and
// replay send them: as they were, the line split into more than three
// parts.
func TestRawEscapesSpaces(t *testing.T) {
	t.Parallel()
	ex := &Exchange{Request: Request{Method: "GET", URL: "http://h/my file.txt?q=x y", Host: "h", Headers: Headers{{"Host", "h"}}}}
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(RawRequest(ex))))
	if err != nil {
		t.Fatalf("/raw does not parse: %v\n%s", err, RawRequest(ex))
	}
	if req.RequestURI != "/my%20file.txt?q=x%20y" {
		t.Errorf("request target %q", req.RequestURI)
	}
}
