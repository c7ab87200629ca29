package inspect

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a log destination safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestGuard(t *testing.T) {
	t.Parallel()
	reached := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "reached")
	})
	srv := httptest.NewServer(Guard(slog.New(slog.DiscardHandler), []string{"hooklab.internal"}, reached))
	t.Cleanup(srv.Close)
	_, port, err := net.SplitHostPort(srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	own := "127.0.0.1:" + port

	tests := []struct {
		name, method, host, origin, contentType, body string
		fetchSite                                     string // Sec-Fetch-Site
		upgrade                                       bool
		want                                          int
		path                                          string // default /api/x
	}{
		{name: "127.0.0.1", method: "GET", host: own, want: 200},
		{name: "localhost", method: "GET", host: "localhost:" + port, want: 200},
		{name: "LOCALHOST", method: "GET", host: "LOCALHOST:" + port, want: 200},
		{name: "[::1]", method: "GET", host: "[::1]:" + port, want: 200},
		{name: "other loopback", method: "GET", host: "127.0.0.2:" + port, want: 200},
		{name: "sub.localhost", method: "GET", host: "app.localhost:" + port, want: 200},
		{name: "extra host", method: "GET", host: "hooklab.internal:" + port, want: 200},
		{name: "no port", method: "GET", host: "localhost", want: 200},
		{name: "foreign host", method: "GET", host: "evil.example:" + port, want: 403},
		{name: "foreign host, no port", method: "GET", host: "evil.example", want: 403},
		{name: "localhost as a prefix", method: "GET", host: "localhost.evil.example:" + port, want: 403},
		{name: "loopback as a prefix", method: "GET", host: "127.0.0.1.evil.example:" + port, want: 403},
		{name: "public address", method: "GET", host: "93.184.216.34:" + port, want: 403},
		{name: "cross-origin POST", method: "POST", host: own, origin: "http://evil.example", contentType: "application/json", body: "{}", want: 403},
		{name: "cross-origin DELETE", method: "DELETE", host: own, origin: "http://evil.example", want: 403},
		{name: "cross-origin PUT from another port", method: "PUT", host: own, origin: "http://127.0.0.1:1", want: 403},
		{name: "null origin POST", method: "POST", host: own, origin: "null", want: 403},
		{name: "cross-origin websocket", method: "GET", host: own, origin: "http://evil.example", upgrade: true, want: 403},
		{name: "same-origin websocket", method: "GET", host: own, origin: "http://" + own, upgrade: true, want: 200},
		{name: "websocket without origin", method: "GET", host: own, upgrade: true, want: 200},
		{name: "same-origin POST", method: "POST", host: own, origin: "http://" + own, contentType: "application/json", body: "{}", want: 200},
		{name: "same-origin DELETE", method: "DELETE", host: "localhost:" + port, origin: "http://localhost:" + port, want: 200},
		// A page of another site cannot read the API's answers but can
		// time them (/api/exchanges/wait?q= answers at once on a match):
		// refused whatever the method, as browsers say where they come
		// from. Pages (not the API) stay open to links from anywhere.
		{name: "GET with foreign origin", method: "GET", host: own, origin: "http://evil.example", want: 403},
		{name: "HEAD with foreign origin", method: "HEAD", host: own, origin: "http://evil.example", want: 403},
		{name: "GET with own origin", method: "GET", host: own, origin: "http://" + own, want: 200},
		{name: "GET cross-site", method: "GET", host: own, fetchSite: "cross-site", want: 403},
		{name: "GET same-site (another port)", method: "GET", host: own, fetchSite: "same-site", want: 403},
		{name: "healthz cross-site", method: "GET", host: own, fetchSite: "cross-site", path: "/healthz", want: 403},
		{name: "GET same-origin", method: "GET", host: own, fetchSite: "same-origin", want: 200},
		{name: "GET typed in the address bar", method: "GET", host: own, fetchSite: "none", want: 200},
		{name: "page linked from another site", method: "GET", host: own, fetchSite: "cross-site", path: "/", want: 200},
		{name: "page with foreign origin", method: "GET", host: own, origin: "http://evil.example", path: "/app.js", want: 200},
		{name: "POST without origin", method: "POST", host: own, contentType: "application/json", body: "{}", want: 200},
		{name: "POST text/plain", method: "POST", host: own, contentType: "text/plain", body: "{}", want: 415},
		{name: "POST form", method: "POST", host: own, contentType: "application/x-www-form-urlencoded", body: "a=1", want: 415},
		{name: "POST body without type", method: "POST", host: own, body: "{}", want: 415},
		{name: "POST JSON with charset", method: "POST", host: own, contentType: "application/json; charset=utf-8", body: "{}", want: 200},
		{name: "POST without body", method: "POST", host: own, want: 200},
		{name: "DELETE without body", method: "DELETE", host: own, want: 200},
		// A pair url.Values cannot read is dropped: "bin=stripe%" would read
		// as no bin, and a clear as clearing every bin.
		{name: "malformed query", method: "DELETE", host: own, path: "/api/x?bin=stripe%", want: 400},
		{name: "malformed query, semicolon", method: "GET", host: own, path: "/api/x?bin=a;b", want: 400},
		{name: "escaped query", method: "GET", host: own, path: "/api/x?bin=stripe%25&q=a%3Bb", want: 200},
		{name: "malformed query outside the API", method: "GET", host: own, path: "/?q=100%", want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(tt.method, srv.URL+cmp.Or(tt.path, "/api/x"), strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.body == "" {
				req.Body = nil
			}
			req.Host = tt.host
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.fetchSite != "" {
				req.Header.Set("Sec-Fetch-Site", tt.fetchSite)
			}
			if tt.upgrade {
				req.Header.Set("Connection", "Upgrade")
				req.Header.Set("Upgrade", "websocket")
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.want)
			}
			if tt.want == 200 {
				if tt.method != "HEAD" && string(body) != "reached" {
					t.Errorf("body %q, want the handler's", body)
				}
				return
			}
			var e struct{ Error string }
			if tt.method == "HEAD" {
				return // no body
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
				t.Errorf("refusal %q is not a JSON error: %v", body, err)
			}
		})
	}
}

func TestRecover(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	mux := http.NewServeMux()
	mux.HandleFunc("/panic", func(http.ResponseWriter, *http.Request) { panic("boom") })
	mux.HandleFunc("/panic-error", func(http.ResponseWriter, *http.Request) { panic(fmt.Errorf("wrapped: %w", ErrInvalid)) })
	mux.HandleFunc("/abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	mux.HandleFunc("/fine", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv := httptest.NewServer(Recover(log, mux))
	t.Cleanup(srv.Close)

	for _, path := range []string{"/panic", "/panic-error"} {
		t.Run(path, func(t *testing.T) {
			resp, err := srv.Client().Get(srv.URL + path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Error string }
			if err := json.NewDecoder(resp.Body).Decode(&e); err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != 500 || e.Error == "" || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("got %d %q %+v, want a 500 JSON error", resp.StatusCode, resp.Header.Get("Content-Type"), e)
			}
			if strings.Contains(e.Error, "boom") || strings.Contains(e.Error, "wrapped") {
				t.Errorf("the panic value reached the client: %q", e.Error)
			}
		})
	}
	if l := logs.String(); !strings.Contains(l, "handler panic") || !strings.Contains(l, "boom") || !strings.Contains(l, "path=/panic") {
		t.Errorf("log does not record the panic:\n%s", l)
	}

	t.Run("ErrAbortHandler still aborts", func(t *testing.T) {
		resp, err := srv.Client().Get(srv.URL + "/abort")
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got %d, want the connection dropped", resp.StatusCode)
		}
	})
	t.Run("no panic", func(t *testing.T) {
		resp, err := srv.Client().Get(srv.URL + "/fine")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 || string(b) != "ok" {
			t.Errorf("got %d %q", resp.StatusCode, b)
		}
	})
}

func TestStatusOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		err  error
		want int
	}{
		{fmt.Errorf("x: %w", ErrNotFound), 404},
		{fmt.Errorf("x: %w", ErrInvalid), 400},
		{fmt.Errorf("x: %w", ErrTooLarge), 413},
		{ErrStoreFull, 503},
		{ErrClosed, 503},
		{fmt.Errorf("x: %w", context.Canceled), 499},
		{errors.New("other"), 500},
	}
	for _, tt := range tests {
		t.Run(tt.err.Error(), func(t *testing.T) {
			if got := StatusOf(tt.err); got != tt.want {
				t.Errorf("StatusOf(%v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

// A page in a browser can send refused requests as fast as it likes: the
// log says so once in a while, not once a request. The period is an hour:
// with Guard's 5 s, a loaded machine took over 5 s for the 40 requests, and
// the line held back was rightly logged at the period's end.
func TestGuardLogsRefusalsSparingly(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	srv := httptest.NewServer(guard(slog.New(slog.NewTextHandler(&logs, nil)), nil, time.Hour, http.NotFoundHandler()))
	t.Cleanup(srv.Close)
	send := func(host, origin string) {
		req, err := http.NewRequest(http.MethodPost, srv.URL+"/api/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Host = host
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("Host %s Origin %s: %d; want 403", host, origin, resp.StatusCode)
		}
	}
	for range 20 {
		send("evil.example", "")
		send(srv.Listener.Addr().String(), "http://evil.example")
	}
	for _, msg := range []string{"Host not allowed", "cross-origin"} {
		if n := strings.Count(logs.String(), msg); n != 1 {
			t.Errorf("20 refusals (%s) logged %d lines; want 1:\n%s", msg, n, logs.String())
		}
	}
}

// TestGuardHostMessages: a refused Host is quoted, so that an empty one
// or one with a trailing dot reads as what it is.
func TestGuardHostMessages(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(Guard(slog.New(slog.DiscardHandler), nil, http.NotFoundHandler()))
	t.Cleanup(srv.Close)
	for _, tc := range []struct{ request, want string }{
		{"GET /api/x HTTP/1.0\r\n\r\n", "a request without a Host is not allowed"},
		{"GET /api/x HTTP/1.1\r\nHost: localhost.\r\nConnection: close\r\n\r\n", `Host \"localhost.\" is not allowed`},
	} {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		io.WriteString(c, tc.request)
		b, _ := io.ReadAll(c)
		c.Close()
		if !strings.Contains(string(b), "403 Forbidden") || !strings.Contains(string(b), tc.want) {
			t.Errorf("%q answered:\n%s\nwant a 403 saying %s", tc.request, b, tc.want)
		}
	}
}
