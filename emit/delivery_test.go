package emit

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRetries drives one invocation against sinks that answer each way the
// issue lists and checks the exact attempts, waits and final status. The
// jitter is fixed at 0.5, so exponential waits are 3/4 of Initial*2^(n-1).
func TestRetries(t *testing.T) {
	t.Parallel()
	ok := status(200)
	tests := []struct {
		name    string
		answer  func(int, http.ResponseWriter, *http.Request)
		extra   string // webhook fields
		status  string
		waits   []time.Duration
		errHas  string
		noErr   bool
		attempt int // attempts expected (len(waits)+1 when 0)
	}{
		{name: "200", answer: ok, status: InvocationSuccess},
		{name: "409 retried 3 times", answer: status(409), status: InvocationClientError,
			waits: []time.Duration{1500 * time.Millisecond, 3 * time.Second, 6 * time.Second}, errHas: "gave up after 4 attempts"},
		{name: "409 then 200", answer: seq(status(409), ok), status: InvocationSuccess, waits: []time.Duration{1500 * time.Millisecond}},
		{name: "max_attempts ~ keeps the default", answer: status(409), status: InvocationClientError, extra: "retry: {max_attempts: ~}",
			waits: []time.Duration{1500 * time.Millisecond, 3 * time.Second, 6 * time.Second}},
		{name: "429 with Retry-After waits that long", answer: seq(status(429, "Retry-After", "7"), ok), status: InvocationSuccess,
			waits: []time.Duration{7 * time.Second}},
		{name: "429 without Retry-After fails at once", answer: status(429), status: InvocationClientError, errHas: "429 without Retry-After"},
		{name: "429 with Retry-After 60 fails at once", answer: status(429, "Retry-After", "60"), status: InvocationClientError, errHas: "not under 1m0s"},
		{name: "429 with Retry-After 59 up to 3 retries", answer: status(429, "Retry-After", "59"), status: InvocationClientError,
			waits: []time.Duration{59 * time.Second, 59 * time.Second, 59 * time.Second}},
		{name: "503 with Retry-After", answer: seq(status(503, "Retry-After", "2"), ok), status: InvocationSuccess,
			waits: []time.Duration{2 * time.Second}},
		{name: "503 without Retry-After", answer: status(503), status: InvocationServerError},
		{name: "503 with a Retry-After that is no time", answer: status(503, "Retry-After", "abc"), status: InvocationServerError,
			errHas: `503 with a Retry-After that is neither seconds nor an HTTP date ("abc")`},
		{name: "429 with a negative Retry-After", answer: status(429, "Retry-After", "-5"), status: InvocationClientError,
			errHas: `429 with a Retry-After that is neither seconds nor an HTTP date ("-5")`},
		// Seconds beyond what a time.Duration holds are a very long wait,
		// not a negative one that retries at once.
		{name: "503 with Retry-After inf fails at once", answer: status(503, "Retry-After", "inf"), status: InvocationServerError, errHas: "503 with Retry-After inf (not under 1m0s)"},
		{name: "429 with Retry-After 1e300 fails at once", answer: status(429, "Retry-After", "1e300"), status: InvocationClientError, errHas: "not under 1m0s"},
		{name: "409 with a huge Retry-After waits the cap", answer: seq(status(409, "Retry-After", "99999999999"), ok), status: InvocationSuccess,
			waits: []time.Duration{time.Minute}},
		{name: "500 fails at once", answer: status(500), status: InvocationServerError, errHas: "500 Internal Server Error"},
		{name: "400 fails at once", answer: status(400), status: InvocationClientError},
		{name: "timeout retried 3 times", answer: hang, extra: "timeout: 200ms", status: InvocationTimeout,
			waits: []time.Duration{1500 * time.Millisecond, 3 * time.Second, 6 * time.Second}, errHas: "no response within 200ms"},
		{name: "timeout then 200", answer: seq(hang, ok), extra: "timeout: 500ms", status: InvocationSuccess,
			waits: []time.Duration{1500 * time.Millisecond}},
		// A 2xx whose body is not all in within the timeout did not
		// finish: a timeout (it was a success with an error).
		{name: "a 200 body past the timeout is a timeout", answer: slowBody, extra: "timeout: 200ms", status: InvocationTimeout,
			waits: []time.Duration{1500 * time.Millisecond, 3 * time.Second, 6 * time.Second}, errHas: "the 200 answer's body was not all in within 200ms"},
		{name: "reset fails at once by default", answer: reset, status: InvocationFailed,
			errHas: "a failed connection is not retried (Zendesk's policy); retry: {on_network_error: true} retries it"},
		{name: "a status not listed fails at once, saying so", answer: status(500), status: InvocationServerError,
			errHas: "the endpoint answered 500 Internal Server Error; 500 is not retried: retry.statuses lists the statuses that are (409)"},
		{name: "a status with none listed", answer: status(404), status: InvocationClientError, extra: "retry: {statuses: []}",
			errHas: "404 is not retried: retry.statuses lists the statuses that are (none)"},
		{name: "a timeout not retried says so", answer: hang, extra: "timeout: 200ms\nretry: {on_timeout: false}", status: InvocationTimeout,
			errHas: "no response within 200ms; a timeout is not retried: retry.on_timeout is false"},
		{name: "a hang-up says the endpoint closed the connection", answer: hangUp, status: InvocationFailed,
			errHas: "request failed: the endpoint closed the connection before answering (EOF)"},
		{name: "reset retried on a schedule", answer: reset, status: InvocationFailed,
			extra: "retry: {on_network_error: true, schedule: [1s, 1m]}", waits: []time.Duration{time.Second, time.Minute}},
		{name: "webhook-delivery abort stops retries", answer: status(409, "Webhook-Delivery", "abort"), status: InvocationClientError, errHas: "abort"},
		{name: "custom statuses with linear backoff", answer: status(500), status: InvocationServerError,
			extra: "retry: {statuses: [500], backoff: linear, initial: 10s, max_attempts: 3}", waits: []time.Duration{10 * time.Second, 20 * time.Second}},
		{name: "linear backoff capped by max", answer: status(500), status: InvocationServerError,
			extra: "retry: {statuses: [500], backoff: linear, initial: 10s, max: 15s, max_attempts: 3}", waits: []time.Duration{10 * time.Second, 15 * time.Second}},
		{name: "Retry-After on a retried status is capped", answer: status(500, "Retry-After", "3600"), status: InvocationServerError,
			extra: "retry: {statuses: [500], max_attempts: 2, retry_after_max: 30s}", waits: []time.Duration{30 * time.Second}},
		{name: "Retry-After at the custom cap is not honoured for 429", answer: status(429, "Retry-After", "30"), status: InvocationClientError,
			extra: "retry: {retry_after_max: 30s}"},
		{name: "exponential backoff with a cap", answer: status(409), status: InvocationClientError,
			extra: "retry: {max_attempts: 5, initial: 1s, max: 4s}", waits: []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 3 * time.Second}},
		{name: "no retried statuses", answer: status(409), status: InvocationClientError, extra: "retry: {statuses: []}"},
		{name: "one attempt in all", answer: status(409), status: InvocationClientError, extra: "retry: {max_attempts: 1}", errHas: "409 Conflict; gave up after 1 attempt"},
		// Listing 429 and 503 in statuses retries them without Retry-After
		// too, after the backoff; with one, after it (capped).
		{name: "429 in statuses without Retry-After", answer: seq(status(429), status(503), ok), status: InvocationSuccess,
			extra: "retry: {statuses: [429, 500, 503], backoff: linear, initial: 10s}", waits: []time.Duration{10 * time.Second, 20 * time.Second}},
		{name: "429 in both lists follows retry_after_statuses", answer: status(429), status: InvocationClientError,
			extra: "retry: {statuses: [429], retry_after_statuses: [429]}", errHas: "429 without Retry-After"},
		{name: "3xx is not followed", answer: status(302, "Location", "/elsewhere"), status: InvocationFailed,
			errHas: "302, a redirect; webhooks do not follow redirects: point the endpoint at http://127.0.0.1:"},
		{name: "2xx with webhook-delivery abort is a plain success", answer: status(200, "Webhook-Delivery", "abort"), status: InvocationSuccess, noErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSink(t, tt.answer)
			te := newEnv(t, hookYAML("hook", s.URL+"/in", tt.extra), nil)
			q := te.emit("test.event", `{"n": 1}`)
			if len(q) != 1 {
				t.Fatalf("queued %d invocations, want 1", len(q))
			}
			inv, waits := te.drive(q[0].ID)
			want := tt.attempt
			if want == 0 {
				want = len(tt.waits) + 1
			}
			if inv.Attempts != want || s.count() != want {
				t.Errorf("attempts = %d (sink got %d), want %d", inv.Attempts, s.count(), want)
			}
			if !slices.Equal(waits, tt.waits) {
				t.Errorf("waits = %v, want %v", waits, tt.waits)
			}
			if inv.Status != tt.status {
				t.Errorf("status = %s, want %s (error %q)", inv.Status, tt.status, inv.Error)
			}
			if tt.errHas != "" && !strings.Contains(inv.Error, tt.errHas) {
				t.Errorf("error = %q, want it to contain %q", inv.Error, tt.errHas)
			}
			if tt.noErr && inv.Error != "" {
				t.Errorf("error = %q, want none", inv.Error)
			}
			if len(inv.History) != want {
				t.Fatalf("history has %d attempts, want %d", len(inv.History), want)
			}
			// Every attempt is signed and identified afresh but keeps the
			// invocation id, and is recorded as an exchange.
			got := s.got()
			for i, r := range got {
				if r.Header.Get(HeaderInvocation) != inv.ID || r.Header.Get(HeaderAttempt) != strconv.Itoa(i+1) {
					t.Errorf("attempt %d headers: invocation %q attempt %q", i+1, r.Header.Get(HeaderInvocation), r.Header.Get(HeaderAttempt))
				}
			}
			exs := te.rec.all()
			if len(exs) != want {
				t.Fatalf("recorded %d exchanges, want %d", len(exs), want)
			}
			for i, ex := range exs {
				if ex.Invocation != inv.ID || ex.Attempt != i+1 || ex.Bin != "hook" || ex.Source != "emit" {
					t.Errorf("exchange %d: invocation %q attempt %d bin %q source %q", i, ex.Invocation, ex.Attempt, ex.Bin, ex.Source)
				}
				if inv.History[i].ExchangeID != ex.ID {
					t.Errorf("attempt %d exchange id %q, want %q", i+1, inv.History[i].ExchangeID, ex.ID)
				}
			}
		})
	}
}

// TestRedeliveryGivesUpNamingBothCounts: a redelivery has a fresh retry
// budget; when it runs out too, the error counts the attempts of this
// redelivery and those in all, as attempt_count does.
func TestRedeliveryGivesUpNamingBothCounts(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(409))
	te := newEnv(t, hookYAML("hook", s.URL+"/in", ""), nil)
	q := te.emit("test.event", `{}`)
	inv, _ := te.drive(q[0].ID)
	if inv.Attempts != 4 || !strings.HasSuffix(inv.Error, "gave up after 4 attempts") {
		t.Fatalf("first delivery: %d attempts, error %q", inv.Attempts, inv.Error)
	}
	if _, err := te.e.Redeliver(context.Background(), inv.ID); err != nil {
		t.Fatal(err)
	}
	inv, _ = te.drive(inv.ID)
	if inv.Attempts != 8 || !strings.HasSuffix(inv.Error, "gave up after 4 attempts since the last redelivery (8 in all)") {
		t.Errorf("after the redelivery: %d attempts, error %q", inv.Attempts, inv.Error)
	}
}

func TestGaveUpWording(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		n, total int
		want     string
	}{
		{1, 1, "gave up after 1 attempt"},
		{4, 4, "gave up after 4 attempts"},
		{1, 5, "gave up after 1 attempt since the last redelivery (5 in all)"},
	} {
		if got := gaveUp(tc.n, tc.total); got != tc.want {
			t.Errorf("gaveUp(%d, %d) = %q, want %q", tc.n, tc.total, got, tc.want)
		}
	}
}

// TestRetryAfterDateRoundsUp: an HTTP date holds whole seconds, so a
// sender's "60 seconds from now" reads as 59.x: it is taken as 60, as
// Retry-After: 60 is (and is not under the 60 s that Zendesk retries).
func TestRetryAfterDateRoundsUp(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 12, 0, 0, 700_000_000, time.UTC)
	for _, c := range []struct {
		at   time.Time
		want time.Duration
	}{
		{time.Date(2026, 1, 2, 12, 1, 0, 0, time.UTC), 60 * time.Second},
		{time.Date(2026, 1, 2, 12, 0, 59, 0, time.UTC), 59 * time.Second},
		{time.Date(2026, 1, 2, 12, 0, 1, 0, time.UTC), time.Second},
		{time.Date(2026, 1, 2, 11, 59, 0, 0, time.UTC), 0},
	} {
		h := http.Header{"Retry-After": {c.at.Format(http.TimeFormat)}}
		if got, ok := retryAfter(h, now); !ok || got != c.want {
			t.Errorf("Retry-After %s at %s: %v %v, want %v", h.Get("Retry-After"), now.Format(time.StampMilli), got, ok, c.want)
		}
	}
}

// TestCloseDropsIdleConnections: Close lets go of the keep-alive
// connections its own client kept to receivers, rather than leave them
// (and their goroutines) open until the transport's idle timeout, 90 s
// after the emitter is gone.
func TestCloseDropsIdleConnections(t *testing.T) {
	t.Parallel()
	var open atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	te := newEnv(t, hookYAML("hook", srv.URL+"/in", ""), nil)
	q := te.emit("test.event", `{}`)
	if inv := te.settle(q[0].ID, 0); inv.Status != InvocationSuccess {
		t.Fatalf("invocation: %s (%s)", inv.Status, inv.Error)
	}
	if n := open.Load(); n != 1 {
		t.Fatalf("%d connections open to the receiver after one delivery; want 1 (kept alive)", n)
	}
	if err := te.e.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for open.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections to the receiver still open 5s after Close", open.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
