package emit

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// openAt opens an emitter on dir with the config and no Run; log, when
// given, gets its log.
func openAt(t *testing.T, dir, yaml string, clk *fakeClock, log ...io.Writer) *Emitter {
	t.Helper()
	o := Options{Dir: dir, Clock: clk, Rand: func() float64 { return 0.5 }, DrainTimeout: 200 * time.Millisecond}
	if len(log) > 0 {
		o.Logger = slog.New(slog.NewTextHandler(log[0], nil))
	}
	e, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetConfig(parseConfig(t, yaml, nil)); err != nil {
		t.Fatal(err)
	}
	return e
}

func run(t *testing.T, e *Emitter) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.Run(ctx) }()
	return func() { cancel(); <-done }
}

// TestRestartResumesPending queues invocations, closes without delivering,
// reopens the same file and sees every one delivered exactly once.
func TestRestartResumesPending(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSink(t, status(200))
	yaml := hookYAML("hook", s.URL, "")
	clk := newFakeClock()

	e := openAt(t, dir, yaml, clk)
	var ids []string
	for range 50 {
		q, err := e.Emit(context.Background(), Event{Type: "test.pending"})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, q[0].ID)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if s.count() != 0 {
		t.Fatalf("delivered %d before Run", s.count())
	}
	if _, err := os.Stat(filepath.Join(dir, DBFile)); err != nil {
		t.Fatal(err)
	}

	e = openAt(t, dir, yaml, clk)
	defer e.Close()
	stop := run(t, e)
	defer stop()
	waitFor(t, "all delivered", func() bool {
		st, _ := e.Stats(context.Background())
		return st.ByStatus[InvocationSuccess] == 50
	})
	if s.count() != 50 {
		t.Errorf("sink got %d requests, want 50", s.count())
	}
	seen := map[string]bool{}
	for _, r := range s.got() {
		seen[r.Header.Get(HeaderInvocation)] = true
	}
	for _, id := range ids {
		if !seen[id] {
			t.Errorf("invocation %s was not delivered", id)
		}
	}
}

// TestRestartMidRetry closes while one invocation waits for a retry and
// another is in flight; after a restart both finish, and the retry keeps
// its attempt count and due time.
func TestRestartMidRetry(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	release := make(chan struct{})
	var conflicted atomic.Bool
	s := newSink(t, func(n int, w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/conflict" && conflicted.CompareAndSwap(false, true):
			w.WriteHeader(409)
		case r.URL.Path == "/hang":
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	})
	yaml := `webhooks:
  - {id: retry, endpoint: "` + s.URL + `/conflict", signing: {scheme: none}}
  - {id: hang, endpoint: "` + s.URL + `/hang", signing: {scheme: none}}
subscriptions:
  - {webhook: retry, events: [r.*]}
  - {webhook: hang, events: [h.*]}
`
	clk := newFakeClock()
	var log lockedBuffer
	e := openAt(t, dir, yaml, clk, &log)
	stop := run(t, e)
	qr, _ := e.Emit(context.Background(), Event{Type: "r.x"})
	qh, _ := e.Emit(context.Background(), Event{Type: "h.x"})
	waitFor(t, "first attempts", func() bool {
		inv, _ := e.Invocation(context.Background(), qr[0].ID)
		return inv.Attempts == 1 && inv.NextAt != nil && s.count() == 2
	})
	stop()
	if err := e.Close(); err != nil { // cancels the hanging attempt after DrainTimeout
		t.Fatal(err)
	}
	if l := log.String(); !strings.Contains(l, "attempt cut short by shutdown") || !strings.Contains(l, "invocation="+qh[0].ID) {
		t.Errorf("the attempt cut short is not in the log:\n%s", l)
	}

	e = openAt(t, dir, yaml, clk)
	defer e.Close()
	inv, err := e.Invocation(context.Background(), qh[0].ID)
	if err != nil || inv.Attempts != 0 || inv.Status != InvocationPending {
		t.Fatalf("cancelled attempt: %+v, %v; want still pending with no attempt counted", inv, err)
	}
	close(release)
	stop = run(t, e)
	defer stop()
	waitFor(t, "hang delivered", func() bool {
		inv, _ := e.Invocation(context.Background(), qh[0].ID)
		return inv.Status == InvocationSuccess
	})
	inv, _ = e.Invocation(context.Background(), qr[0].ID)
	if inv.Status != InvocationPending || inv.Attempts != 1 {
		t.Fatalf("retrying invocation after restart: %+v", inv)
	}
	clk.Set(*inv.NextAt)
	waitFor(t, "retry delivered", func() bool {
		inv, _ := e.Invocation(context.Background(), qr[0].ID)
		return inv.Status == InvocationSuccess && inv.Attempts == 2
	})
}

// TestCrashLosesNothing abandons an emitter without Close (as kill -9
// would) and opens the same file again: every acknowledged invocation is
// there and gets delivered.
func TestCrashLosesNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSink(t, status(200))
	yaml := hookYAML("hook", s.URL, "")
	clk := newFakeClock()
	crashed := openAt(t, dir, yaml, clk)
	t.Cleanup(func() { crashed.Close() })
	for range 20 {
		if _, err := crashed.Emit(context.Background(), Event{Type: "test.crash"}); err != nil {
			t.Fatal(err)
		}
	}
	// No Close: the process "dies" here. A new emitter opens the file.
	e := openAt(t, dir, yaml, clk)
	defer e.Close()
	stop := run(t, e)
	defer stop()
	waitFor(t, "all delivered", func() bool {
		st, _ := e.Stats(context.Background())
		return st.ByStatus[InvocationSuccess] == 20
	})
}

// TestAPIWebhooksPersist keeps API-made webhooks across a restart.
func TestAPIWebhooksPersist(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	clk := newFakeClock()
	e := openAt(t, dir, "", clk)
	if _, _, err := e.CreateWebhook(context.Background(), Webhook{ID: "kept", Endpoint: "https://example.com/k"}); err != nil {
		t.Fatal(err)
	}
	sec, _ := e.SigningSecret("kept")
	e.Close()
	e = openAt(t, dir, "", clk)
	defer e.Close()
	w, err := e.Webhook("kept")
	if err != nil || w.Endpoint != "https://example.com/k" || w.Source != SourceAPI {
		t.Fatalf("after restart: %+v, %v", w, err)
	}
	if again, _ := e.SigningSecret("kept"); again != sec {
		t.Errorf("secret changed across restart")
	}
}

// TestRestartKeepsRateLimit: a restart does not refill the rate limit's
// bucket. With 1/h, the second delivery waits for the hour after the
// first, across the restart, instead of going out at once.
func TestRestartKeepsRateLimit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSink(t, status(200))
	yaml := hookYAML("hook", s.URL, "rate_limit: 1/h")
	clk := newFakeClock()
	t0 := clk.Now()

	e := openAt(t, dir, yaml, clk)
	stop := run(t, e)
	for range 2 {
		if _, err := e.Emit(context.Background(), Event{Type: "test.limited"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "one delivered, one held", func() bool {
		st, _ := e.Stats(context.Background())
		return s.count() == 1 && st.ByStatus[InvocationSuccess] == 1 && st.Queued == 1 && st.InFlight == 0
	})
	stop()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	clk.Advance(10 * time.Minute)
	e = openAt(t, dir, yaml, clk)
	defer e.Close()
	stop = run(t, e)
	defer stop()
	// The lane waits for the bucket: until about an hour after the first.
	waitFor(t, "the lane to wait for the rate limit", func() bool { return clk.waitsIn(t0.Add(59*time.Minute), t0.Add(61*time.Minute)) })
	if n := s.count(); n != 1 {
		t.Fatalf("sink got %d deliveries 10 minutes after the first, with a limit of 1/h", n)
	}
	clk.Set(t0.Add(61 * time.Minute))
	waitFor(t, "the second delivery an hour after the first", func() bool { return s.count() == 2 })
}

// TestRestartKeepsOpenCircuit: a circuit open at a restart stays open for
// the rest of its cool-down, and then lets one probe through: what waited
// does not all go to the failing endpoint at once.
func TestRestartKeepsOpenCircuit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSink(t, status(500))
	yaml := hookYAML("hook", s.URL, "circuit_breaker: {min_attempts: 2, failure_rate: 0.5, cooldown: 10m}\nretry: {statuses: []}")
	clk := newFakeClock()
	t0 := clk.Now()

	e := openAt(t, dir, yaml, clk)
	stop := run(t, e)
	for range 2 {
		if _, err := e.Emit(context.Background(), Event{Type: "test.failing"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "two failures to open the circuit", func() bool {
		return s.count() == 2 && e.circuit("hook") == "open"
	})
	for range 3 {
		if _, err := e.Emit(context.Background(), Event{Type: "test.failing"}); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three held by the open circuit", func() bool {
		st, _ := e.Stats(context.Background())
		return st.Queued == 3 && st.ByStatus[InvocationCircuitBroken] == 3
	})
	stop()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	clk.Advance(time.Minute)
	e = openAt(t, dir, yaml, clk)
	defer e.Close()
	stop = run(t, e)
	defer stop()
	waitFor(t, "the lane to wait for the cool-down's end", func() bool { return clk.waitsIn(t0.Add(10*time.Minute), t0.Add(11*time.Minute)) })
	if n := s.count(); n != 2 || e.circuit("hook") != "open" {
		t.Fatalf("a minute after a restart inside a 10-minute cool-down: sink got %d (want 2), circuit %s", n, e.circuit("hook"))
	}
	clk.Set(t0.Add(11 * time.Minute))
	waitFor(t, "one probe after the cool-down", func() bool { return s.count() == 3 })
	waitFor(t, "the failed probe to open the circuit again", func() bool { return e.circuit("hook") == "open" })
	if n := s.count(); n != 3 {
		t.Errorf("after the cool-down the sink got %d, want the one probe (3)", n)
	}
}

// lockedBuffer is a bytes.Buffer safe for a logger and a test to share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestRestartKeepsInvocationsOfAbsentWebhooks: invocations queued for a
// webhook that is not in the config at the next start stay queued (the
// data directory is shared: that config may be another project's), and
// are delivered when a start has it again; those of the webhooks defined
// are delivered.
func TestRestartKeepsInvocationsOfAbsentWebhooks(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSink(t, status(200))
	both := "webhooks:\n  - {id: gone, endpoint: \"" + s.URL + "/gone\", signing: {scheme: none}}\n" +
		"  - {id: kept, endpoint: \"" + s.URL + "/kept\", signing: {scheme: none}}\n" +
		"subscriptions:\n  - {webhook: gone, events: [\"test.*\"]}\n  - {webhook: kept, events: [\"test.*\"]}\n"
	clk := newFakeClock()
	e := openAt(t, dir, both, clk)
	q, err := e.Emit(context.Background(), Event{Type: "test.pending"})
	if err != nil || len(q) != 2 {
		t.Fatalf("Emit: %v %v", q, err)
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openAt(t, dir, hookYAML("kept", s.URL+"/kept", ""), clk)
	stop := run(t, e)
	waitFor(t, "the kept webhook's delivery", func() bool {
		st, _ := e.Stats(context.Background())
		return st.ByStatus[InvocationSuccess] == 1
	})
	clk.Advance(2 * orphanGrace)
	time.Sleep(50 * time.Millisecond)
	if st, _ := e.Stats(context.Background()); st.Queued != 1 || st.ByStatus[InvocationFailed] != 0 {
		t.Errorf("stats %+v, want the absent webhook's invocation still queued", st)
	}
	stop()
	e.Close()

	e = openAt(t, dir, both, clk)
	defer e.Close()
	defer run(t, e)()
	waitFor(t, "the absent webhook's delivery once it is back", func() bool {
		st, _ := e.Stats(context.Background())
		return st.ByStatus[InvocationSuccess] == 2
	})
}

// TestMemoryCloseSaysQueuedAreLost: with an in-memory queue, Close says
// how many queued invocations it drops (they are not "attempted again at
// the next start").
func TestMemoryCloseSaysQueuedAreLost(t *testing.T) {
	t.Parallel()
	var log lockedBuffer
	e, err := Open(Options{Memory: true, Clock: newFakeClock(), Logger: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetConfig(parseConfig(t, hookYAML("a", "http://127.0.0.1:1/", "rate_limit: 1/1h"), nil)); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if _, err := e.Emit(context.Background(), Event{Type: "test.x"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "lost with the in-memory queue") || !strings.Contains(log.String(), "queued=3") {
		t.Errorf("log:\n%s", log.String())
	}
}

// TestRateStateFromTheFuture: a bucket saved while the clock was an hour
// fast, read back after it was set right, counts as saved now; the lane
// sent nothing until the clock caught up (an hour at 1/min).
func TestRateStateFromTheFuture(t *testing.T) {
	dir := t.TempDir()
	s := newSink(t, status(200))
	yaml := hookYAML("hook", s.URL, "rate_limit: 1/min")

	fast := newFakeClock()
	fast.Set(fast.Now().Add(time.Hour))
	e := openAt(t, dir, yaml, fast)
	stop := run(t, e)
	if _, err := e.Emit(context.Background(), Event{Type: "test.a"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "first delivery", func() bool { return s.count() == 1 })
	stop()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	fixed := newFakeClock()
	e = openAt(t, dir, yaml, fixed)
	defer e.Close()
	stop = run(t, e)
	defer stop()
	if _, err := e.Emit(context.Background(), Event{Type: "test.b"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.count() < 2 && time.Now().Before(deadline) {
		if fixed.Now().Sub(newFakeClock().Now()) < 3*time.Minute {
			fixed.Advance(time.Second)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if s.count() < 2 {
		t.Errorf("%s after the restart at 1/min the second invocation is still throttled (sink got %d)",
			fixed.Now().Sub(newFakeClock().Now()).Round(time.Second), s.count())
	}
}

// storeIn opens a capture store in dir/store, closed at the test's end.
func storeIn(t *testing.T, dir string) *inspect.SQLite {
	t.Helper()
	st, err := inspect.OpenSQLite(filepath.Join(dir, "store"), inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestCatchUp: exchanges the store has and the emitter never took in (a
// kill -9 after their answers, before their events) make their events at
// the next start, once; a first start (no mark yet) takes in none of what
// the store had.
func TestCatchUp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := storeIn(t, dir)
	s := newSink(t, status(200))
	yaml := `webhooks:
  - {id: cap, endpoint: "` + s.URL + `", signing: {scheme: none}}
subscriptions:
  - {webhook: cap, events: [request.captured]}
`
	ids := new(inspect.IDs)
	add := func(path string) *inspect.Exchange {
		t.Helper()
		ex := &inspect.Exchange{ID: ids.New(time.Now()), Bin: "b", Source: inspect.SourceCapture, Time: time.Now(),
			Request: inspect.Request{Method: "POST", URL: "http://h" + path, Headers: inspect.Headers{{Name: "Host", Value: "h"}}}}
		if err := st.Add(context.Background(), ex); err != nil {
			t.Fatal(err)
		}
		return ex
	}
	add("/before-hooklab-knew")

	e := openAt(t, dir, yaml, newFakeClock())
	stop := run(t, e)
	if n, err := e.CatchUp(context.Background(), st); err != nil || n != 0 {
		t.Fatalf("first start: CatchUp = %d, %v; want nothing taken in", n, err)
	}
	live := add("/live")
	e.OnExchange(context.Background(), live)
	waitFor(t, "the live capture's delivery", func() bool { return s.count() == 1 })
	// Stored, answered, then the process died before their events.
	add("/lost-1")
	add("/lost-2")
	stop()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}

	e = openAt(t, dir, yaml, newFakeClock())
	defer e.Close()
	stop = run(t, e)
	defer stop()
	if n, err := e.CatchUp(context.Background(), st); err != nil || n != 2 {
		t.Fatalf("after the crash: CatchUp = %d, %v; want the 2 exchanges stored after the live one", n, err)
	}
	waitFor(t, "their deliveries", func() bool { return s.count() == 3 })
	// Their events are in: a start after this takes in nothing again.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if n, err := e.CatchUp(context.Background(), st); err != nil || n == 0 {
			break
		} else if time.Now().After(deadline) {
			t.Fatalf("CatchUp keeps taking in %d exchanges", n)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var paths []string
	for _, r := range s.got() {
		for _, p := range []string{"/before-hooklab-knew", "/live", "/lost-1", "/lost-2"} {
			if strings.Contains(string(r.Body), p) {
				paths = append(paths, p)
			}
		}
	}
	slices.Sort(paths) // delivered concurrently
	if strings.Join(paths, " ") != "/live /lost-1 /lost-2" {
		t.Errorf("deliveries for %v; want /live, /lost-1 and /lost-2", paths)
	}
}

// TestCatchUpMarksOtherSources: exchanges that make no event (replays,
// emitted deliveries) stored while the emitter was down move its mark on
// when a start lists them, as OnExchange's do: they were listed again at
// every start (10,000 stored replays held a start for a second under the
// race detector, and past a test's 15 s on a loaded machine).
func TestCatchUpMarksOtherSources(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	st := storeIn(t, dir)
	yaml := "webhooks:\n  - {id: cap, endpoint: \"http://127.0.0.1:1/\", signing: {scheme: none}}\n"
	e := openAt(t, dir, yaml, newFakeClock())
	stop := run(t, e)
	if _, err := e.CatchUp(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	stop()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	ids := new(inspect.IDs)
	var last string
	for range 3 {
		ex := &inspect.Exchange{ID: ids.New(time.Now()), Bin: "b", Source: inspect.SourceReplay, Time: time.Now(),
			Request: inspect.Request{Method: "GET", URL: "http://h/r"}}
		if err := st.Add(context.Background(), ex); err != nil {
			t.Fatal(err)
		}
		last = ex.ID
	}
	e = openAt(t, dir, yaml, newFakeClock())
	defer e.Close()
	stop = run(t, e)
	defer stop()
	if n, err := e.CatchUp(context.Background(), st); err != nil || n != 0 {
		t.Fatalf("CatchUp = %d, %v; want no event of replays", n, err)
	}
	waitFor(t, "the mark past the replays", func() bool {
		mark, _, err := e.db.mark(context.Background(), exchangesMark)
		return err == nil && mark == last
	})
}

// dayAheadThenBack runs an emitter on dir with its clock a day ahead,
// calls ahead with it, and stops it; then opens and runs it again on a
// fake clock a day earlier, which it returns (stopped and closed at the
// test's end): the clock set back across a restart.
func dayAheadThenBack(t *testing.T, dir, yaml string, ahead func(e *Emitter)) (*Emitter, *fakeClock) {
	t.Helper()
	clk := newFakeClock()
	clk.Advance(24 * time.Hour)
	e := openAt(t, dir, yaml, clk)
	stop := run(t, e)
	ahead(e)
	stop()
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	clk = newFakeClock() // a day earlier
	e = openAt(t, dir, yaml, clk)
	t.Cleanup(func() { e.Close() })
	t.Cleanup(run(t, e)) // runs before the Close above
	return e, clk
}

// TestOpenCircuitFromTheFuture: a circuit saved open when the clock was
// ahead (it has been set back since) stays open for its cool-down from
// now, no longer: its saved end, a day away, held every delivery of the
// webhook for that day.
func TestOpenCircuitFromTheFuture(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSink(t, status(500))
	yaml := hookYAML("hook", s.URL, "circuit_breaker: {min_attempts: 2, failure_rate: 0.5, cooldown: 10m}\nretry: {statuses: []}")

	e, clk := dayAheadThenBack(t, dir, yaml, func(e *Emitter) {
		for range 2 {
			if _, err := e.Emit(context.Background(), Event{Type: "test.failing"}); err != nil {
				t.Fatal(err)
			}
		}
		waitFor(t, "two failures to open the circuit", func() bool {
			return s.count() == 2 && e.circuit("hook") == "open"
		})
	})
	t0 := clk.Now()
	if _, err := e.Emit(context.Background(), Event{Type: "test.failing"}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "one held by the open circuit", func() bool {
		st, _ := e.Stats(context.Background())
		return st.Queued == 1 && st.ByStatus[InvocationCircuitBroken] == 1
	})
	clk.waitWaiter(t, t0.Add(10*time.Minute))
	if n := s.count(); n != 2 || e.circuit("hook") != "open" {
		t.Fatalf("after a restart with the clock set back: sink got %d (want 2), circuit %s (want open)", n, e.circuit("hook"))
	}
	clk.Set(t0.Add(10 * time.Minute))
	waitFor(t, "one probe after the cool-down", func() bool { return s.count() == 3 })
}

// TestQueuedFromTheFuture: an invocation queued while the clock was ahead
// (it has been set back since) waits, after a restart, what it had left
// to wait, not until the clock catches up: its retry 1.5 s away waited a
// day.
func TestQueuedFromTheFuture(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := newSink(t, seq(status(409), status(200)))
	yaml := hookYAML("hook", s.URL, "")

	var q []Queued
	e, clk := dayAheadThenBack(t, dir, yaml, func(e *Emitter) {
		var err error
		if q, err = e.Emit(context.Background(), Event{Type: "test.a"}); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the first attempt, to be retried", func() bool {
			inv, err := e.Invocation(context.Background(), q[0].ID)
			return err == nil && inv.Attempts == 1 && inv.NextAt != nil
		})
	})
	t0 := clk.Now()
	clk.waitWaiter(t, t0.Add(1500*time.Millisecond)) // the backoff: 2 s, jitter 0.5
	clk.Set(t0.Add(1500 * time.Millisecond))
	waitFor(t, "the retry, delivered", func() bool {
		inv, err := e.Invocation(context.Background(), q[0].ID)
		return err == nil && inv.Status == InvocationSuccess && s.count() == 2
	})
}
