package mock_test

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// answerOf is the short form of an answer the sequence tests compare.
func answerOf(a answer) string {
	return strconv.Itoa(a.Status) + " " + string(a.Body)
}

// TestSequence serves the example's flaky sequence (repeat_last) and a
// cycling one, separately per bin, and restarts them with the reset API.
func TestSequence(t *testing.T) {
	t.Parallel()
	cfg := loadExample(t)
	cycle := parseConfig(t, "cycle.yaml", `
mocks:
  - name: round
    match: {path: /round}
    sequence_mode: cycle
    sequence:
      - {status: 200, body: one}
      - {status: 201, body: two}
      - {status: 202, body: three}
`)
	cfg.Mocks = append(cfg.Mocks, cycle.Mocks...)
	h := newHarness(t, cfg, nil)

	send := func(path string) string {
		t.Helper()
		return answerOf(h.do(t, http.MethodPost, path, nil, nil))
	}
	expect := func(step, path string, want ...string) {
		t.Helper()
		for i, w := range want {
			if got := send(path); got != w {
				t.Fatalf("%s: request %d to %s answered %q, want %q", step, i+1, path, got, w)
			}
		}
	}

	expect("repeat_last", "/b/a/flaky", "503 ", "200 ok", "200 ok", "200 ok")
	// The Retry-After of the first answer, and a fresh bin starts at it.
	a := h.do(t, http.MethodPost, "/b/b/flaky", nil, nil)
	if a.Status != 503 || a.Header.Get("Retry-After") != "1" {
		t.Fatalf("first answer in bin b: %d Retry-After %q", a.Status, a.Header.Get("Retry-After"))
	}
	expect("bin b continues on its own", "/b/b/flaky", "200 ok")
	expect("the default bin is a bin too", "/flaky", "503 ", "200 ok")
	expect("cycle", "/b/a/round", "200 one", "201 two", "202 three", "200 one", "201 two", "202 three", "200 one")
	expect("cycle in another bin", "/b/b/round", "200 one")

	exs := h.exchanges(t, "a")
	if len(exs) != 11 {
		t.Fatalf("%d exchanges in bin a, want 11", len(exs))
	}
	for i, ex := range exs {
		want := "flaky"
		if i >= 4 {
			want = "round"
		}
		if ex.Rule != want || ex.Response == nil {
			t.Errorf("exchange %d: rule %q response %v", i, ex.Rule, ex.Response)
		}
	}

	h.reset(t)
	expect("after reset", "/b/a/flaky", "503 ", "200 ok")
	expect("after reset", "/b/b/flaky", "503 ")
	expect("after reset", "/b/a/round", "200 one", "201 two")
}

// TestSequenceShrinksOnReload: a reload that keeps a rule's name but
// shortens its sequence must not break requests in flight of the old one.
func TestSequenceShrinksOnReload(t *testing.T) {
	t.Parallel()
	long := parseConfig(t, "long.yaml", `
mocks:
  - name: steps
    match: {path: /steps}
    sequence_mode: cycle
    sequence: [{body: a}, {body: b}, {body: c}, {body: d}]
`)
	short := parseConfig(t, "short.yaml", `
mocks:
  - name: steps
    match: {path: /steps}
    sequence: [{body: x}, {body: y}]
`)
	h := newHarness(t, long, nil)
	for _, want := range []string{"200 a", "200 b", "200 c"} {
		if got := answerOf(h.do(t, http.MethodGet, "/steps", nil, nil)); got != want {
			t.Fatalf("got %q, want %q", got, want)
		}
	}
	h.Engine.Apply(short, nil)
	// The old position (3) is past the new sequence's end: it serves the
	// last answer and repeats it.
	for _, want := range []string{"200 y", "200 y"} {
		if got := answerOf(h.do(t, http.MethodGet, "/steps", nil, nil)); got != want {
			t.Fatalf("after reload: got %q, want %q", got, want)
		}
	}
	h.reset(t)
	if got := answerOf(h.do(t, http.MethodGet, "/steps", nil, nil)); got != "200 x" {
		t.Fatalf("after reset: got %q", got)
	}
}

// TestRateLimit: N answers per window, then 429 with Retry-After and
// X-RateLimit-* headers, per bin; the window rolls over with the clock.
func TestRateLimit(t *testing.T) {
	t.Parallel()
	clk := newClock()
	cfg := parseConfig(t, "limit.yaml", `
mocks:
  - name: limited
    match: {path: /api}
    rate_limit: {limit: 3, window: 10s}
    respond: {status: 200, body: fine}
`)
	h := newHarness(t, cfg, clk.Now)
	windowEnd := clk.Now().Add(10 * time.Second)

	for i := 1; i <= 3; i++ {
		a := h.do(t, http.MethodGet, "/b/rl/api", nil, nil)
		if a.Status != 200 || string(a.Body) != "fine" {
			t.Fatalf("request %d of 3 allowed: %d %s", i, a.Status, a.Body)
		}
		if got := a.Header.Get("X-RateLimit-Remaining"); got != strconv.Itoa(3-i) {
			t.Errorf("request %d: X-RateLimit-Remaining %q, want %d", i, got, 3-i)
		}
		if got := a.Header.Get("X-RateLimit-Limit"); got != "3" {
			t.Errorf("request %d: X-RateLimit-Limit %q", i, got)
		}
		clk.Add(time.Second)
	}
	// 3s into the window: 7s are left.
	for _, tc := range []struct {
		advance    time.Duration
		retryAfter string
	}{
		{0, "7"},
		{2500 * time.Millisecond, "5"}, // 4.5s left rounds up
		{4 * time.Second, "1"},         // 0.5s left rounds up
	} {
		clk.Add(tc.advance)
		a := h.do(t, http.MethodGet, "/b/rl/api", nil, nil)
		if a.Status != http.StatusTooManyRequests {
			t.Fatalf("over the limit: %d %s", a.Status, a.Body)
		}
		for name, want := range map[string]string{
			"Retry-After":           tc.retryAfter,
			"X-RateLimit-Limit":     "3",
			"X-RateLimit-Remaining": "0",
			"X-RateLimit-Reset":     strconv.FormatInt(windowEnd.Unix(), 10),
		} {
			if got := a.Header.Get(name); got != want {
				t.Errorf("429 %s: %q, want %q", name, got, want)
			}
		}
		ex := h.last(t, "rl")
		if ex.Rule != "limited" {
			t.Errorf("429 exchange rule %q", ex.Rule)
		}
		sentAsRecorded(t, ex, a)
	}

	// Another bin has its own window.
	if a := h.do(t, http.MethodGet, "/b/other/api", nil, nil); a.Status != 200 {
		t.Errorf("another bin: %d", a.Status)
	}

	// The window ends 10s after its first request.
	clk.Add(500 * time.Millisecond)
	if a := h.do(t, http.MethodGet, "/b/rl/api", nil, nil); a.Status != 200 {
		t.Fatalf("after the window: %d %s", a.Status, a.Body)
	}
	for i := 0; i < 2; i++ {
		h.do(t, http.MethodGet, "/b/rl/api", nil, nil)
	}
	if a := h.do(t, http.MethodGet, "/b/rl/api", nil, nil); a.Status != http.StatusTooManyRequests {
		t.Fatalf("fourth request of the new window: %d", a.Status)
	}

	// Reset clears the windows.
	h.reset(t)
	if a := h.do(t, http.MethodGet, "/b/rl/api", nil, nil); a.Status != 200 {
		t.Fatalf("after reset: %d", a.Status)
	}

	if hits := h.Engine.Hits()["limited"]; hits != 3+3+1+4+1 {
		t.Errorf("hits %d, want every match counted (12)", hits)
	}
}

// TestRateLimitedSequence: requests refused by the rate limit do not use up
// the sequence.
func TestRateLimitedSequence(t *testing.T) {
	t.Parallel()
	clk := newClock()
	cfg := parseConfig(t, "limitseq.yaml", `
mocks:
  - name: seq
    match: {path: /s}
    rate_limit: {limit: 1, window: 1m}
    sequence: [{body: first}, {body: second}]
`)
	h := newHarness(t, cfg, clk.Now)
	want := []string{"200 first", "429", "429", "200 second"}
	for i, w := range want {
		if i == 3 {
			clk.Add(time.Minute)
		}
		a := h.do(t, http.MethodGet, "/s", nil, nil)
		got := answerOf(a)
		if a.Status == 429 {
			got = "429"
		}
		if got != w {
			t.Fatalf("request %d: %q, want %q", i+1, got, w)
		}
	}
}

// TestSequenceConcurrent: concurrent requests each take their own turn of a
// cycling sequence; none is skipped or served twice.
func TestSequenceConcurrent(t *testing.T) {
	t.Parallel()
	cfg := parseConfig(t, "concurrent.yaml", `
mocks:
  - name: turns
    match: {path: /turn}
    sequence_mode: cycle
    sequence: [{body: a}, {body: b}, {body: c}, {body: d}]
`)
	h := newHarness(t, cfg, nil)
	const n = 40
	got := make(chan string, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			a, err := h.try(http.MethodGet, "/turn", nil, nil, 10*time.Second)
			if err != nil {
				t.Error(err)
			}
			got <- string(a.Body)
		}()
	}
	wg.Wait()
	close(got)
	count := map[string]int{}
	for b := range got {
		count[b]++
	}
	for _, b := range []string{"a", "b", "c", "d"} {
		if count[b] != n/4 {
			t.Errorf("answers %v, want each %d times", count, n/4)
			break
		}
	}
}

// TestUnnamedRuleStateFollowsIt: an unnamed rule (mock-N, by its place)
// keeps its sequence position and hits when a rule is added above it, and
// the added rule, which takes its name, starts afresh; it started at the
// other's second answer and showed its hits.
func TestUnnamedRuleStateFollowsIt(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "unnamed.yaml", `
mocks:
  - match: {path: /a}
    sequence: [{body: a1}, {body: a2}, {body: a3}]
`), nil)
	for _, want := range []string{"a1", "a2"} {
		if a := h.do(t, http.MethodGet, "/a", nil, nil); string(a.Body) != want {
			t.Fatalf("GET /a: %q, want %q", a.Body, want)
		}
	}
	h.Engine.Apply(parseConfig(t, "unnamed.yaml", `
mocks:
  - match: {path: /b}
    sequence: [{body: b1}, {body: b2}]
  - match: {path: /a}
    sequence: [{body: a1}, {body: a2}, {body: a3}]
`), nil)
	if a := h.do(t, http.MethodGet, "/b", nil, nil); string(a.Body) != "b1" {
		t.Errorf("GET /b, a rule just added: %q, want b1", a.Body)
	}
	if a := h.do(t, http.MethodGet, "/a", nil, nil); string(a.Body) != "a3" {
		t.Errorf("GET /a, the rule moved down: %q, want a3", a.Body)
	}
	hits := map[string]int64{}
	for _, r := range h.rules(t).Rules {
		hits[r.Name] = r.Hits
	}
	if hits["mock-1"] != 1 || hits["mock-2"] != 3 {
		t.Errorf("hits %v, want mock-1 (/b) 1 and mock-2 (/a) 3", hits)
	}
}

// TestUnnamedTwinRulesKeepTheirOwnState: two unnamed rules written alike
// (a copy pasted, to be edited) are two rules: the second, which the
// first shadows, has no hits of its own and its own sequence position; they
// shared both, so GET /api/rules showed the first's hits on the second.
func TestUnnamedTwinRulesKeepTheirOwnState(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "twins.yaml", `
mocks:
  - match: {path: /a}
    sequence: [{body: a1}, {body: a2}]
  - match: {path: /a}
    sequence: [{body: a1}, {body: a2}]
`), nil)
	for _, want := range []string{"a1", "a2"} {
		if a := h.do(t, http.MethodGet, "/a", nil, nil); string(a.Body) != want {
			t.Fatalf("GET /a: %q, want %q", a.Body, want)
		}
	}
	hits := map[string]int64{}
	for _, r := range h.rules(t).Rules {
		hits[r.Name] = r.Hits
	}
	if hits["mock-1"] != 2 || hits["mock-2"] != 0 {
		t.Errorf("hits %v, want mock-1 2 and mock-2 0", hits)
	}
}
