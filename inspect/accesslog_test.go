package inspect

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestAccessLogHoldsBackRepeated401s: 401s (a page or a script retrying
// with a wrong or missing --auth token) are logged once per period, with
// the number held back said later, instead of one Warn line each, which
// flooded the log; other 4xx answers are still logged each.
func TestAccessLogHoldsBackRepeated401s(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	// An hour: the requests below come within one period, however
	// loaded the machine.
	srv := httptest.NewServer(accessLog(log, time.Hour, Auth("s3cret", http.NotFoundHandler())))
	t.Cleanup(srv.Close)
	send := func(path, token string, want int) {
		t.Helper()
		req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Fatalf("GET %s with token %q: %d, want %d", path, token, resp.StatusCode, want)
		}
	}
	const n = 50
	for i := range n {
		switch i % 3 {
		case 0:
			send("/api/exchanges", "wrong", http.StatusUnauthorized)
		case 1:
			send("/api/exchanges", "", http.StatusUnauthorized)
		default:
			send("/", "", http.StatusUnauthorized) // the token page
		}
	}
	// Answers that are not 401 are logged each; once the last is, every
	// request before it has been logged, or held back.
	const found = 3
	for range found {
		send("/api/nope", "s3cret", http.StatusNotFound)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(logs.String(), "status=404") < found {
		if time.Now().After(deadline) {
			t.Fatalf("%d lines of 404, want %d:\n%s", strings.Count(logs.String(), "status=404"), found, logs.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	got := logs.String()
	if c := strings.Count(got, "status=401"); c != 1 {
		t.Errorf("%d requests answered 401 logged %d lines, want 1:\n%s", n, c, got)
	}
	if c := strings.Count(got, "level=WARN msg=request method=GET path=/api/nope status=404"); c != found {
		t.Errorf("%d lines of 404, want %d:\n%s", c, found, got)
	}
}
