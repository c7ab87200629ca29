package emit

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// fakeClock is a Clock that moves only when told to.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	waiters map[*fakeWaiter]struct{}
}

// waitsIn reports whether something waits for a time in [from, to].
func (c *fakeClock) waitsIn(from, to time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for w := range c.waiters {
		if !w.at.Before(from) && !w.at.After(to) {
			return true
		}
	}
	return false
}

type fakeWaiter struct {
	at time.Time
	c  chan time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC), waiters: map[*fakeWaiter]struct{}{}}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) At(t time.Time) (<-chan time.Time, func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	w := &fakeWaiter{at: t, c: make(chan time.Time, 1)}
	if !t.After(f.now) {
		w.c <- f.now
		return w.c, func() {}
	}
	f.waiters[w] = struct{}{}
	return w.c, func() {
		f.mu.Lock()
		delete(f.waiters, w)
		f.mu.Unlock()
	}
}

// Set moves the clock to t (never backwards) and wakes due waiters.
func (f *fakeClock) Set(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.After(f.now) {
		f.now = t
	}
	for w := range f.waiters {
		if !w.at.After(f.now) {
			w.c <- f.now
			delete(f.waiters, w)
		}
	}
}

func (f *fakeClock) Advance(d time.Duration) { f.Set(f.Now().Add(d)) }

// SetBack sets the clock back to t and wakes every waiter, as Clock says,
// to look at the time again.
func (f *fakeClock) SetBack(t time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = t
	for w := range f.waiters {
		w.c <- f.now
		delete(f.waiters, w)
	}
}

// waitWaiter waits until something waits for time at.
func (f *fakeClock) waitWaiter(t *testing.T, at time.Time) {
	t.Helper()
	f.waitWaiters(t, at, 1)
}

// waitWaiters waits until at least n things wait for time at.
func (f *fakeClock) waitWaiters(t *testing.T, at time.Time, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d waiters for %s", n, at.Format(time.TimeOnly)), func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		got := 0
		for w := range f.waiters {
			if w.at.Equal(at) {
				got++
			}
		}
		return got >= n
	})
}

// recorder keeps the exchanges an emitter records.
type recorder struct {
	mu  sync.Mutex
	exs []*inspect.Exchange
}

func (r *recorder) add(_ context.Context, ex *inspect.Exchange) error {
	r.mu.Lock()
	r.exs = append(r.exs, ex)
	r.mu.Unlock()
	return nil
}

func (r *recorder) all() []*inspect.Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*inspect.Exchange(nil), r.exs...)
}

// sink is a receiver that records what it gets and answers with a handler
// chosen per request number (1-based).
type sink struct {
	*httptest.Server
	mu     sync.Mutex
	reqs   []sunk
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

type sunk struct {
	Method string
	URL    string
	Header http.Header
	Body   []byte
}

func newSink(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *sink {
	t.Helper()
	s := &sink{answer: answer}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, sunk{Method: r.Method, URL: r.URL.String(), Header: r.Header.Clone(), Body: body})
		n := len(s.reqs)
		s.mu.Unlock()
		if s.answer == nil {
			w.WriteHeader(http.StatusOK)
			return
		}
		s.answer(n, w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

func (s *sink) got() []sunk {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sunk(nil), s.reqs...)
}

// status answers code, with extra headers as name, value pairs.
func status(code int, hdr ...string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(hdr); i += 2 {
			w.Header().Set(hdr[i], hdr[i+1])
		}
		w.WriteHeader(code)
	}
}

// hang waits until the client gives up.
func hang(_ int, _ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }

// slowBody answers 200 with part of a body it promised, then holds the
// rest back until the request goes.
func slowBody(_ int, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Length", "1000")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("thirty bytes of a longer body."))
	http.NewResponseController(w).Flush()
	<-r.Context().Done()
}

// reset closes the connection with a TCP RST.
func reset(_ int, w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// hangUp closes the connection without an answer (a FIN, not a RST).
func hangUp(_ int, w http.ResponseWriter, _ *http.Request) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	conn.Close()
}

// seq answers with the handlers in turn, repeating the last.
func seq(hs ...func(int, http.ResponseWriter, *http.Request)) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, r *http.Request) {
		hs[min(n, len(hs))-1](n, w, r)
	}
}

type testEnv struct {
	t     *testing.T
	e     *Emitter
	clock *fakeClock
	rec   *recorder
	dir   string
}

type envOption func(*Options)

// newEnv opens an emitter in memory (or in dir) with a fake clock and
// starts Run; cleanup stops it.
// api serves the emitter's API on a test server (closed at cleanup) and
// returns a client of it.
func (te *testEnv) api() apiClient {
	te.t.Helper()
	srv := httptest.NewServer(te.e.Handler())
	te.t.Cleanup(srv.Close)
	return apiClient{te.t, srv.URL}
}

func newEnv(t *testing.T, yaml string, env map[string]string, opts ...envOption) *testEnv {
	t.Helper()
	te := &testEnv{t: t, clock: newFakeClock(), rec: &recorder{}}
	o := Options{
		Memory: true, Clock: te.clock, Record: te.rec.add, Rand: func() float64 { return 0.5 },
		Getenv: func(k string) string { return env[k] }, DrainTimeout: 2 * time.Second,
	}
	for _, f := range opts {
		f(&o)
	}
	te.dir = o.Dir
	e, err := Open(o)
	if err != nil {
		t.Fatal(err)
	}
	te.e = e
	if yaml != "" {
		te.setConfig(yaml)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := e.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		if err := e.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return te
}

func (te *testEnv) setConfig(yaml string) {
	te.t.Helper()
	cfg := parseConfig(te.t, yaml, nil)
	if err := te.e.SetConfig(cfg); err != nil {
		te.t.Fatalf("SetConfig: %v", err)
	}
}

func parseConfig(t testing.TB, yaml string, getenv func(string) string) *rules.Config {
	t.Helper()
	cfg, err := rules.Parse([]byte(yaml), "hooklab.yaml", getenv)
	if err != nil {
		t.Fatalf("rules.Parse: %v", err)
	}
	return cfg
}

// emit posts one event and returns its invocations.
func (te *testEnv) emit(typ string, data string) []Queued {
	te.t.Helper()
	q, err := te.e.Emit(context.Background(), Event{Type: typ, Data: json.RawMessage(data)})
	if err != nil {
		te.t.Fatalf("Emit: %v", err)
	}
	return q
}

// waitFor polls cond until it holds or a minute passes: a wait that
// should take milliseconds took over 10 s under -race on a loaded machine
// (25 deliveries one after another), and only a failing test waits it out.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (te *testEnv) inv(id string) *Invocation {
	te.t.Helper()
	inv, err := te.e.Invocation(context.Background(), id)
	if err != nil {
		te.t.Fatalf("Invocation(%s): %v", id, err)
	}
	return inv
}

// settle waits until invocation id has made more than after attempts and
// is either finished or waiting for a later time.
func (te *testEnv) settle(id string, after int) *Invocation {
	te.t.Helper()
	var inv *Invocation
	waitFor(te.t, "invocation "+id+" to settle", func() bool {
		inv = te.inv(id)
		return inv.Attempts > after && (inv.NextAt == nil || inv.NextAt.After(te.clock.Now()))
	})
	return inv
}

// drive runs invocation id to its end, moving the clock to each retry, and
// returns it with the waits between attempts.
func (te *testEnv) drive(id string) (*Invocation, []time.Duration) {
	te.t.Helper()
	var waits []time.Duration
	n := 0
	for range 100 {
		inv := te.settle(id, n)
		n = inv.Attempts
		if inv.NextAt == nil {
			return inv, waits
		}
		waits = append(waits, inv.NextAt.Sub(te.clock.Now()))
		te.clock.Set(*inv.NextAt)
	}
	te.t.Fatal("invocation never finished")
	return nil, nil
}

// hookYAML is a config with one webhook named id to url, plus extra
// webhook fields, subscribed to test.*.
func hookYAML(id, url, extra string) string {
	var b strings.Builder
	b.WriteString("webhooks:\n  - id: " + id + "\n    endpoint: " + url + "\n    signing: {scheme: none}\n")
	for _, line := range strings.Split(strings.TrimSpace(extra), "\n") {
		if line != "" {
			b.WriteString("    " + line + "\n")
		}
	}
	b.WriteString("subscriptions:\n  - webhook: " + id + "\n    events: [\"test.*\"]\n")
	return b.String()
}

func readFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
