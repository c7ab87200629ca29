package emit

import (
	"context"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// count returns how many invocations of webhook have status.
func (te *testEnv) count(webhook, status string) int {
	te.t.Helper()
	list, _, err := te.e.Invocations(context.Background(), InvocationQuery{WebhookID: webhook, Status: status, Limit: 1000})
	if err != nil {
		te.t.Fatal(err)
	}
	return len(list)
}

func (te *testEnv) waitCount(webhook, status string, n int) {
	te.t.Helper()
	waitFor(te.t, webhook+" "+status, func() bool { return te.count(webhook, status) == n })
}

// TestBreakerAndRateLimit runs a failing endpoint into its circuit breaker
// and a rate-limited webhook over its limit, while a healthy webhook keeps
// flowing; nothing is dropped and everything is delivered once the breaker
// closes and the limit allows.
func TestBreakerAndRateLimit(t *testing.T) {
	t.Parallel()
	var healthy atomic.Bool
	failing := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if healthy.Load() {
			w.WriteHeader(200)
			return
		}
		w.WriteHeader(500)
	})
	ok := newSink(t, status(200))
	limited := newSink(t, status(200))
	yaml := `webhooks:
  - id: failing
    endpoint: ` + failing.URL + `
    concurrency: 1
    circuit_breaker: {min_attempts: 20, failure_rate: 70%, window: 5m, cooldown: 1m}
    signing: {scheme: none}
  - id: ok
    endpoint: ` + ok.URL + `
    signing: {scheme: none}
  - id: limited
    endpoint: ` + limited.URL + `
    rate_limit: 2/min
    signing: {scheme: none}
subscriptions:
  - {webhook: failing, events: [fail.*]}
  - {webhook: ok, events: [ok.*]}
  - {webhook: limited, events: [lim.*]}
`
	te := newEnv(t, yaml, nil)
	for range 25 {
		te.emit("fail.x", `{}`)
	}
	for range 5 {
		te.emit("lim.x", `{}`)
	}
	for range 10 {
		te.emit("ok.x", `{}`)
	}
	// The healthy webhook is delivered in full without the clock moving.
	te.waitCount("ok", InvocationSuccess, 10)
	// 20 failures open the circuit; the other 5 wait.
	te.waitCount("failing", InvocationServerError, 20)
	te.waitCount("failing", InvocationCircuitBroken, 5)
	// Two deliveries fit the limit; three wait, throttled.
	te.waitCount("limited", InvocationSuccess, 2)
	te.waitCount("limited", InvocationThrottled, 3)
	if failing.count() != 20 {
		t.Errorf("failing endpoint got %d requests while the circuit is open, want 20", failing.count())
	}
	if w, _ := te.e.Webhook("failing"); te.e.circuit(w.ID) != "open" {
		t.Errorf("circuit = %s, want open", te.e.circuit(w.ID))
	}
	// More events while open keep waiting; the healthy one still flows.
	te.emit("ok.x", `{}`)
	te.waitCount("ok", InvocationSuccess, 11)
	time.Sleep(20 * time.Millisecond)
	if failing.count() != 20 || limited.count() != 2 {
		t.Fatalf("requests made while blocked: failing %d, limited %d", failing.count(), limited.count())
	}

	// After the cool-down one probe goes through; its success closes the
	// circuit and the rest follow. The same minute refills the limit by 2.
	healthy.Store(true)
	te.clock.Advance(time.Minute)
	te.waitCount("failing", InvocationSuccess, 5)
	if failing.count() != 25 {
		t.Errorf("failing endpoint got %d requests, want 25", failing.count())
	}
	te.waitCount("limited", InvocationSuccess, 4)
	te.clock.Advance(30 * time.Second)
	te.waitCount("limited", InvocationSuccess, 5)
	if limited.count() != 5 {
		t.Errorf("limited endpoint got %d requests, want 5", limited.count())
	}
	st, err := te.e.Stats(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st.Total != 41 || st.Queued != 0 || st.ByStatus[InvocationSuccess] != 21 || st.ByStatus[InvocationServerError] != 20 {
		t.Errorf("stats = %+v", st)
	}
}

// TestBreakerProbeFails reopens the circuit when the probe fails.
func TestBreakerProbeFails(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(500))
	te := newEnv(t, hookYAML("hook", s.URL, "concurrency: 1\ncircuit_breaker: {min_attempts: 3, failure_rate: 1, cooldown: 10s}"), nil)
	for range 5 {
		te.emit("test.x", `{}`)
	}
	te.waitCount("hook", InvocationServerError, 3)
	te.waitCount("hook", InvocationCircuitBroken, 2)
	te.clock.Advance(10 * time.Second)
	te.waitCount("hook", InvocationServerError, 4) // the probe
	waitFor(t, "circuit open again", func() bool { return te.e.circuit("hook") == "open" })
	time.Sleep(20 * time.Millisecond)
	if s.count() != 4 {
		t.Errorf("endpoint got %d requests, want 4 (3 + one probe)", s.count())
	}
	te.clock.Advance(10 * time.Second)
	te.waitCount("hook", InvocationServerError, 5)
}

// TestBreakerLogsItsMoves: the circuit opening (with why), going
// half-open and closing are each logged once, with the webhook's id and
// name: Warn for open, Info for the others.
func TestBreakerLogsItsMoves(t *testing.T) {
	t.Parallel()
	var healthy atomic.Bool
	s := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if !healthy.Load() {
			w.WriteHeader(500)
		}
	})
	var log lockedBuffer
	te := newEnv(t, hookYAML("hook", s.URL, "name: Support bot\nconcurrency: 1\nretry: {statuses: []}\ncircuit_breaker: {min_attempts: 3, failure_rate: 1, window: 1m, cooldown: 10s}"), nil,
		func(o *Options) { o.Logger = slog.New(slog.NewTextHandler(&log, nil)) })
	count := func(msg string) int { return strings.Count(log.String(), `msg="`+msg) }
	for range 4 {
		te.emit("test.x", `{}`)
	}
	te.waitCount("hook", InvocationServerError, 3)
	te.waitCount("hook", InvocationCircuitBroken, 1)
	waitFor(t, "the open circuit logged", func() bool { return count("circuit breaker open") == 1 })
	got := log.String()
	for _, want := range []string{"level=WARN", "webhook=hook", `name="Support bot"`, `reason="3 of 3 attempts failed within 1m0s (failure_rate 1)"`} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %s:\n%s", want, got)
		}
	}

	// The probe fails: half-open, then open again.
	te.clock.Advance(10 * time.Second)
	te.waitCount("hook", InvocationServerError, 4)
	waitFor(t, "the probe's failure logged", func() bool { return count("circuit breaker open") == 2 })
	if !strings.Contains(log.String(), `reason="the half-open probe failed"`) {
		t.Errorf("the reopening does not say the probe failed:\n%s", log.String())
	}

	// The next probe succeeds: half-open, then closed.
	healthy.Store(true)
	te.emit("test.x", `{}`)
	te.clock.Advance(10 * time.Second)
	waitFor(t, "the close logged", func() bool { return count("circuit breaker closed") == 1 })
	te.waitCount("hook", InvocationSuccess, 1)
	time.Sleep(50 * time.Millisecond)
	if n := count("circuit breaker half-open"); n != 2 {
		t.Errorf("half-open logged %d times, want 2 (one a cool-down):\n%s", n, log.String())
	}
	if n := count("circuit breaker open"); n != 2 {
		t.Errorf("open logged %d times, want 2:\n%s", n, log.String())
	}
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "circuit breaker half-open") || strings.Contains(line, "circuit breaker closed") {
			if !strings.Contains(line, "level=INFO") || !strings.Contains(line, "webhook=hook") || !strings.Contains(line, `name="Support bot"`) {
				t.Errorf("line %q: want INFO with the webhook's id and name", line)
			}
		}
	}
}

// TestSlowEndpointDoesNotDelayOthers keeps a hanging endpoint busy while
// another webhook's deliveries complete: all of the fast webhook's
// deliveries end while the slow one's first two still hang (they can end
// only when the test lets them, or at the 5 m timeout, well past waitFor's
// minute), so a fast lane waiting on the slow one fails the test however
// loaded the machine is.
func TestSlowEndpointDoesNotDelayOthers(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	slow := newSink(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	fast := newSink(t, status(200))
	yaml := `webhooks:
  - {id: slow, endpoint: "` + slow.URL + `", concurrency: 2, timeout: 5m, signing: {scheme: none}}
  - {id: fast, endpoint: "` + fast.URL + `", signing: {scheme: none}}
subscriptions:
  - {webhook: slow, events: [x.*]}
  - {webhook: fast, events: [x.*]}
`
	te := newEnv(t, yaml, nil)
	for range 20 {
		te.emit("x.y", `{}`)
	}
	waitFor(t, "the slow endpoint to hold two requests", func() bool { return slow.count() >= 2 })
	te.waitCount("fast", InvocationSuccess, 20)
	for _, st := range []string{InvocationSuccess, InvocationTimeout} {
		if n := te.count("slow", st); n != 0 {
			t.Fatalf("slow webhook has %d invocations %s before it was let answer", n, st)
		}
	}
	if n := slow.count(); n != 2 {
		t.Errorf("slow endpoint has %d requests in flight, want its concurrency, 2", n)
	}
	close(release)
	te.waitCount("slow", InvocationSuccess, 20)
}

// TestRateLimitChangeKeepsTheBucket: changing a webhook's rate limit
// keeps the tokens it had (within the new burst), rather than starting a
// full bucket: lowering the limit of an overloaded receiver must not send
// a burst.
func TestRateLimitChangeKeepsTheBucket(t *testing.T) {
	t.Parallel()
	limited := newSink(t, status(200))
	yaml := func(limit string) string {
		return `webhooks:
  - id: limited
    endpoint: ` + limited.URL + `
    rate_limit: ` + limit + `
    signing: {scheme: none}
subscriptions:
  - {webhook: limited, events: [lim.*]}
`
	}
	te := newEnv(t, yaml("5/min"), nil)
	for range 20 {
		te.emit("lim.x", `{}`)
	}
	te.waitCount("limited", InvocationSuccess, 5)
	te.waitCount("limited", InvocationThrottled, 15)
	te.setConfig(yaml("4/min"))
	te.setConfig(yaml("3/min"))
	time.Sleep(100 * time.Millisecond)
	if n := limited.count(); n != 5 {
		t.Fatalf("%d deliveries after lowering the limit twice with an empty bucket, want the first 5", n)
	}
	// It refills at the new rate: one every 20 s.
	te.clock.Advance(20 * time.Second)
	te.waitCount("limited", InvocationSuccess, 6)
	time.Sleep(50 * time.Millisecond)
	if n := limited.count(); n != 6 {
		t.Errorf("%d deliveries 20 s later at 3/min, want 6", n)
	}
	// Made inactive, its invocations wait for it, not for the limit:
	// pending, not throttled.
	te.setConfig(strings.Replace(yaml("3/min"), "    signing:", "    status: inactive\n    signing:", 1))
	te.waitCount("limited", InvocationPending, 14)
}

// TestBreakerOpensAtExactlyTheRate: failures making exactly the failure
// rate open the circuit, whatever the rate's rounding in binary (7 of 25
// at 28%: 0.28×25 is 7.000000000000001 in floating point, so the circuit
// stayed closed).
func TestBreakerOpensAtExactlyTheRate(t *testing.T) {
	t.Parallel()
	s := newSink(t, func(n int, w http.ResponseWriter, _ *http.Request) {
		if n <= 18 {
			w.WriteHeader(200)
			return
		}
		w.WriteHeader(500)
	})
	te := newEnv(t, hookYAML("hook", s.URL, "concurrency: 1\ncircuit_breaker: {min_attempts: 25, failure_rate: 28%, cooldown: 10m}"), nil)
	for range 25 {
		te.emit("test.x", `{}`)
	}
	te.waitCount("hook", InvocationServerError, 7)
	if got := te.e.circuit("hook"); got != "open" {
		t.Errorf("7 failures of 25 attempts at failure_rate 28%%: circuit %s, want open", got)
	}
}

// TestRetryAfterClockSetBack: a retry waits its backoff from when the
// clock is set back, not until the clock is back where it was.
func TestRetryAfterClockSetBack(t *testing.T) {
	t.Parallel()
	s := newSink(t, seq(status(409), status(200)))
	te := newEnv(t, hookYAML("hook", s.URL, ""), nil)
	q := te.emit("test.x", `{}`)
	inv := te.settle(q[0].ID, 0) // the retry waits 1.5 s (2 s, jitter 0.5)
	// The lane waits for it before the clock goes back: settle sees the
	// wait in the database, which the lane writes before it waits, and a
	// set-back between the two found nothing to wake (CI timed out below
	// once, the lane waiting a day ahead).
	te.clock.waitWaiter(t, *inv.NextAt)
	back := te.clock.Now().Add(-24 * time.Hour)
	te.clock.SetBack(back)
	te.clock.waitWaiter(t, back.Add(1500*time.Millisecond))
	te.clock.Set(back.Add(1500 * time.Millisecond))
	waitFor(t, "the retry, delivered", func() bool {
		return te.inv(q[0].ID).Status == InvocationSuccess && s.count() == 2
	})
}
