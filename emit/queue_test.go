package emit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// TestZendeskHeaders checks the headers Zendesk sends with every webhook
// request ("Anatomy of a webhook request"): x-zendesk-account-id,
// x-zendesk-webhook-id, x-zendesk-webhook-invocation-id and the signature
// pair, with the invocation id the same on a retry.
func TestZendeskHeaders(t *testing.T) {
	t.Parallel()
	s := newSink(t, seq(status(409), status(200)))
	yaml := "webhooks:\n  - id: support-bot\n    endpoint: " + s.URL + "\n    signing: {scheme: zendesk, secret: c2VjcmV0}\n" +
		"subscriptions:\n  - webhook: support-bot\n    events: [test.*]\n"
	te := newEnv(t, yaml, nil, func(o *Options) { o.AccountID = 123456 })
	q := te.emit("test.headers", `{}`)
	inv, _ := te.drive(q[0].ID)
	if inv.Attempts != 2 {
		t.Fatalf("attempts = %d, want 2", inv.Attempts)
	}
	for i, r := range s.got() {
		for name, want := range map[string]string{
			"X-Zendesk-Account-Id":                  "123456",
			"X-Zendesk-Webhook-Id":                  "support-bot",
			"X-Zendesk-Webhook-Invocation-Id":       inv.ID,
			"X-Zendesk-Webhook-Signature":           "",
			"X-Zendesk-Webhook-Signature-Timestamp": "",
		} {
			got, ok := r.Header[name]
			if !ok || len(got) != 1 || got[0] == "" || want != "" && got[0] != want {
				t.Errorf("attempt %d: %s = %q, want %q (once)", i+1, name, got, want)
			}
		}
	}
	// Other schemes do not pretend to be Zendesk.
	s2 := newSink(t, status(200))
	te2 := newEnv(t, hookYAML("plain", s2.URL, ""), nil)
	te2.drive(te2.emit("test.headers", `{}`)[0].ID)
	for name := range s2.got()[0].Header {
		if len(name) > 10 && http.CanonicalHeaderKey(name[:10]) == "X-Zendesk-" {
			t.Errorf("scheme none sent %s", name)
		}
	}
}

// TestMemoryQueueOverflow queues more invocations than a lane keeps in
// memory, in one call and with a lane that is already running: every one
// is delivered exactly once, the rest read from the database.
func TestMemoryQueueOverflow(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, hookYAML("hook", s.URL, ""), nil, func(o *Options) { o.Memory, o.Dir = false, t.TempDir() })
	// One small batch first, so that the lane is in memory mode.
	te.emit("test.first", `{}`)
	waitFor(t, "the first delivery", func() bool { return s.count() == 1 })
	n := memQueueCap + 100
	evs := make([]Event, n)
	for i := range evs {
		evs[i] = Event{Type: "test.many", Data: json.RawMessage(`{"i":` + strconv.Itoa(i) + `}`)}
	}
	if _, err := te.e.Emit(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	// Thousands of deliveries: longer than waitFor allows under -race.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		st, _ := te.e.Stats(context.Background())
		if st.ByStatus[InvocationSuccess] == int64(n+1) && st.Queued == 0 && st.InFlight == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not all delivered: %+v", st)
		}
	}
	seen := map[string]int{}
	for _, r := range s.got() {
		seen[r.Header.Get(HeaderInvocation)]++
	}
	if len(seen) != n+1 {
		t.Errorf("%d distinct invocations delivered, want %d", len(seen), n+1)
	}
	for id, c := range seen {
		if c != 1 {
			t.Errorf("invocation %s delivered %d times", id, c)
		}
	}
}

// TestStatsEveryStatus: GET /api/emit/stats lists every status, zeros
// included, so that a client that decodes each poll into the same map (as
// the soak bench did) never keeps a count from an earlier poll — the stray
// "pending: 1" after the soak.
func TestStatsEveryStatus(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, hookYAML("hook", s.URL, "rate_limit: 1/h"), nil)
	c := te.api()
	var st Stats
	te.emit("test.a", `{}`)
	te.emit("test.b", `{}`) // held by the rate limit
	waitFor(t, "one delivered, one waiting", func() bool {
		c.do("GET", "/api/emit/stats", nil, &st)
		return st.ByStatus[InvocationSuccess] == 1 && st.Queued == 1 && st.InFlight == 0
	})
	if len(st.ByStatus) != len(invocationStatuses) {
		t.Errorf("by_status has %d statuses, want all %d: %v", len(st.ByStatus), len(invocationStatuses), st.ByStatus)
	}
	if st.ByStatus[InvocationPending]+st.ByStatus[InvocationThrottled] != 1 {
		t.Fatalf("by_status %v, want 1 pending or throttled", st.ByStatus)
	}
	// Lift the limit so that the waiting one goes out.
	te.setConfig(hookYAML("hook", s.URL, ""))
	waitFor(t, "both delivered", func() bool {
		c.do("GET", "/api/emit/stats", nil, &st) // the same map as before
		return st.ByStatus[InvocationSuccess] == 2
	})
	if st.ByStatus[InvocationPending] != 0 || st.ByStatus[InvocationThrottled] != 0 || st.Queued != 0 {
		t.Errorf("after every delivery, decoding into the same map: %v queued %d", st.ByStatus, st.Queued)
	}
}

// TestWebhookStats checks the stats of GET /api/webhooks and
// GET /api/webhooks/{id}: final counts by status and the success rate,
// null before any; the same after a restart (rebuilt from the database),
// and following a redelivery.
func TestWebhookStats(t *testing.T) {
	t.Parallel()
	ok := newSink(t, status(200))
	bad := newSink(t, status(500))
	yaml := "webhooks:\n  - id: good\n    endpoint: " + ok.URL + "\n    signing: {scheme: none}\n" +
		"  - id: bad\n    endpoint: " + bad.URL + "\n    signing: {scheme: none}\n" +
		"  - id: idle\n    endpoint: " + ok.URL + "\n    signing: {scheme: none}\n" +
		"subscriptions:\n  - webhook: good\n    events: [test.*]\n  - webhook: bad\n    events: [test.*]\n  - webhook: idle\n    events: [other.*]\n"
	dir := t.TempDir()
	te := newEnv(t, yaml, nil, func(o *Options) { o.Memory, o.Dir = false, dir })
	var badIDs []string
	for range 3 {
		for _, q := range te.emit("test.x", `{}`) {
			if q.WebhookID == "bad" {
				badIDs = append(badIDs, q.ID)
			}
		}
	}
	waitFor(t, "six final", func() bool {
		st, _ := te.e.Stats(context.Background())
		return st.ByStatus[InvocationSuccess] == 3 && st.ByStatus[InvocationServerError] == 3 && st.InFlight == 0
	})
	c := te.api()
	type view struct {
		ID    string       `json:"id"`
		Stats WebhookStats `json:"stats"`
	}
	check := func(when string, want map[string][2]int64) {
		t.Helper()
		var list struct{ Webhooks []view }
		c.do("GET", "/api/webhooks", nil, &list)
		if len(list.Webhooks) != 3 {
			t.Fatalf("%s: %d webhooks", when, len(list.Webhooks))
		}
		for _, v := range list.Webhooks {
			var one struct{ Webhook view }
			c.do("GET", "/api/webhooks/"+v.ID, nil, &one)
			for _, got := range []WebhookStats{v.Stats, one.Webhook.Stats} {
				w := want[v.ID]
				if got.ByStatus[InvocationSuccess] != w[0] || got.Total != w[1] {
					t.Errorf("%s: %s stats %+v, want success %d of %d", when, v.ID, got, w[0], w[1])
				}
				switch {
				case w[1] == 0 && got.SuccessRate != nil:
					t.Errorf("%s: %s success_rate %v, want null", when, v.ID, *got.SuccessRate)
				case w[1] > 0 && (got.SuccessRate == nil || *got.SuccessRate != float64(w[0])/float64(w[1])):
					t.Errorf("%s: %s success_rate %v, want %v", when, v.ID, got.SuccessRate, float64(w[0])/float64(w[1]))
				}
				if _, ok := got.ByStatus[InvocationTimeout]; !ok {
					t.Errorf("%s: %s by_status lacks timeout: %v", when, v.ID, got.ByStatus)
				}
			}
		}
	}
	want := map[string][2]int64{"good": {3, 3}, "bad": {0, 3}, "idle": {0, 0}}
	check("live", want)
	var raw struct {
		Webhook struct{ Stats map[string]any }
	}
	c.do("GET", "/api/webhooks/idle", nil, &raw)
	if v, ok := raw.Webhook.Stats["success_rate"]; !ok || v != nil {
		t.Errorf("idle success_rate = %v (present %v), want null", v, ok)
	}

	// A redelivery takes the invocation out of the final counts until it
	// ends again.
	if _, err := te.e.Redeliver(context.Background(), badIDs[0]); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the redelivery", func() bool {
		inv, _ := te.e.Invocation(context.Background(), badIDs[0])
		return inv != nil && inv.Attempts == 2 && inv.NextAt == nil
	})
	// The lane counts the attempt's end just after its write, which the
	// wait above may see first.
	waitFor(t, "the redelivery counted", func() bool { return te.e.counts.stats("bad").Total == 3 })
	check("after a redelivery", want)

	// Reopened, the counts come from the database.
	e2 := openAt(t, dir, yaml, newFakeClock())
	defer e2.Close()
	srv2 := httptest.NewServer(e2.Handler())
	defer srv2.Close()
	c = apiClient{t: t, base: srv2.URL}
	check("reopened", want)
}

// TestRedeliveryDuringDone: an invocation redelivered between the commit
// of its last attempt and the end of that attempt in the lane (while a
// read of the queue still skips it as in flight) is read again once the
// attempt ends, not left queued in the database until the next start.
func TestRedeliveryDuringDone(t *testing.T) {
	t.Parallel()
	e, err := Open(Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := context.Background()
	now := time.Now()
	// A lane not running: the test moves it step by step, in memory mode.
	l := &lane{e: e, id: "hook", wakeC: make(chan struct{}, 1), inflight: map[string]int64{}, brk: newBreaker(Breaker{})}
	inv := &Invocation{ID: e.ids.New(now), WebhookID: "hook", EventID: "ev", EventType: "test.x", Cause: "subscription",
		Status: InvocationPending, CreatedAt: now, UpdatedAt: now, queued: true, nextAt: now,
		request: storedRequest{Method: http.MethodPost, URL: "http://127.0.0.1:1/", Endpoint: "http://127.0.0.1:1/"}}
	reads := l.readsStarted()
	if err := e.db.write(ctx, func(tx *sql.Tx) error { return e.db.insertInvocation(tx, inv) }); err != nil {
		t.Fatal(err)
	}
	l.offer([]*Invocation{inv}, reads)
	got, _ := l.next(ctx, now)
	if got != inv || !l.take(inv) {
		t.Fatalf("next = %v; want the invocation handed over", got)
	}
	// The attempt is committed, final...
	inv.Attempts, inv.Status, inv.queued, inv.UpdatedAt = 1, InvocationServerError, false, now
	var applied bool
	if err := e.db.write(ctx, e.db.prepareFinish(inv, &Attempt{N: 1, Time: now, Outcome: InvocationServerError, StatusCode: 500}, inv.request.URL, nil, &applied, new(bool))); err != nil || !applied {
		t.Fatalf("record attempt: %v (applied %v)", err, applied)
	}
	// ... then redelivered before the attempt leaves the lane.
	if got, _, err := e.db.requeue(ctx, "id = ?", []any{inv.ID}, now); err != nil || len(got) != 1 {
		t.Fatalf("requeue: %v %v", got, err)
	}
	l.spill()
	if got, _ := l.next(ctx, now); got != nil {
		t.Fatalf("next read an invocation still in flight: %+v", got)
	}
	l.done(inv, false)
	for range 3 {
		got, _ := l.next(ctx, now)
		if got != nil {
			if got.ID != inv.ID || got.Attempts != 1 {
				t.Fatalf("next = %+v; want the redelivered invocation", got)
			}
			return
		}
	}
	t.Fatal("the redelivered invocation was not read again after its attempt ended")
}

// TestReaddedWebhookWaitsForItsOldLane removes a webhook from the config
// while its attempt is under way and adds it back: the new lane waits for
// the old one's attempt instead of reading the invocation, still queued in
// the database, as due and sending it a second time. Once the attempt ends,
// the new lane delivers what comes next.
func TestReaddedWebhookWaitsForItsOldLane(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var once sync.Once
	free := func() { once.Do(func() { close(release) }) }
	s := newSink(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	})
	t.Cleanup(free)
	cfg := hookYAML("a", s.URL, "")
	te := newEnv(t, cfg, nil)
	q := te.emit("test.x", `{}`)
	waitFor(t, "the first attempt", func() bool { return s.count() == 1 })
	te.setConfig("webhooks: []\n")
	te.setConfig(cfg)
	time.Sleep(200 * time.Millisecond) // the new lane's first read of the queue
	if n := s.count(); n != 1 {
		t.Fatalf("the invocation was sent %d times while its first attempt was under way", n)
	}
	free()
	inv := te.settle(q[0].ID, 0)
	if inv.Status != InvocationSuccess || inv.Attempts != 1 || s.count() != 1 {
		t.Errorf("invocation %s after %d attempts, sink saw %d requests; want success, 1, 1", inv.Status, inv.Attempts, s.count())
	}
	q2 := te.emit("test.y", `{}`)
	if inv := te.settle(q2[0].ID, 0); inv.Status != InvocationSuccess || s.count() != 2 {
		t.Errorf("the next invocation: %s, sink saw %d requests", inv.Status, s.count())
	}
}

// queuedBehindRateLimit starts webhook a (config cfg), delivers one
// invocation and returns a second, which waits for its rate limit.
func queuedBehindRateLimit(t *testing.T) (te *testEnv, cfg string, q2 []Queued) {
	t.Helper()
	s := newSink(t, status(200))
	cfg = hookYAML("a", s.URL, "rate_limit: 1/1h")
	te = newEnv(t, cfg, nil)
	q := te.emit("test.x", `{}`)
	q2 = te.emit("test.x", `{}`) // throttled behind the first
	te.settle(q[0].ID, 0)
	return te, cfg, q2
}

// TestRemovedWebhookQueueFailsAfterGrace: the queue of a webhook removed
// from a running server's config waits orphanGrace for it to come back,
// then fails, saying why, so that nothing waits forever.
func TestRemovedWebhookQueueFailsAfterGrace(t *testing.T) {
	t.Parallel()
	te, _, q2 := queuedBehindRateLimit(t)
	te.setConfig("webhooks: []\n")
	retired := te.clock.Now().Add(orphanGrace)
	te.clock.waitWaiters(t, retired, 2) // the orphaned queue's and the retention sweep's minute
	if inv := te.inv(q2[0].ID); inv.NextAt == nil {
		t.Fatalf("failed at once on removal: %s %q", inv.Status, inv.Error)
	}
	te.clock.Set(retired)
	waitFor(t, "the queue to fail", func() bool { return te.inv(q2[0].ID).NextAt == nil })
	if inv := te.inv(q2[0].ID); inv.Status != InvocationFailed || !strings.Contains(inv.Error, "webhook a is no longer defined") {
		t.Errorf("after the grace: %s %q", inv.Status, inv.Error)
	}
	if st, _ := te.e.Stats(context.Background()); st.Queued != 0 {
		t.Errorf("stats %+v, want nothing queued", st)
	}
}

// TestLargeResponseSize: a response body over MaxResponseBody is kept
// truncated, with its true size from Content-Length.
func TestLargeResponseSize(t *testing.T) {
	t.Parallel()
	const n = MaxResponseBody + 6<<20 + 12345
	s := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write(make([]byte, n))
	})
	te := newEnv(t, hookYAML("a", s.URL, ""), nil)
	q := te.emit("test.x", `{}`)
	inv := te.settle(q[0].ID, 0)
	r := inv.History[0].Response
	if r == nil || r.Size != n || !r.Truncated || len(r.Body) != MaxResponseBody {
		t.Fatalf("response recorded %+v, want size %d, truncated, %d bytes kept", r, n, MaxResponseBody)
	}
}

// TestRemovedAgainGetsAFreshGrace: a webhook removed, added back and
// removed again keeps its queue for a whole grace after the second
// removal (the first removal's timer does not fail it early).
func TestRemovedAgainGetsAFreshGrace(t *testing.T) {
	t.Parallel()
	te, cfg, q2 := queuedBehindRateLimit(t)
	first := te.clock.Now().Add(orphanGrace)
	te.setConfig("webhooks: []\n")
	te.clock.waitWaiters(t, first, 2) // the orphaned queue's and the retention sweep's minute
	te.clock.Advance(orphanGrace - 10*time.Second)
	te.setConfig(cfg)
	te.setConfig("webhooks: []\n")
	second := te.clock.Now().Add(orphanGrace)
	te.clock.waitWaiter(t, second)
	te.clock.Set(first) // the first removal's grace ends
	time.Sleep(50 * time.Millisecond)
	if inv := te.inv(q2[0].ID); inv.NextAt == nil {
		t.Fatalf("failed by the first removal's timer: %s %q", inv.Status, inv.Error)
	}
	te.clock.Set(second)
	waitFor(t, "the queue to fail", func() bool { return te.inv(q2[0].ID).NextAt == nil })
}

// TestBatchDeliveredInOrder: the events of one batch fall due at the same
// moment, and a webhook delivering one at a time sends them in the
// batch's order (the due-time heap gave ties in any order: 0,5,4,3,2,1).
func TestBatchDeliveredInOrder(t *testing.T) {
	t.Parallel()
	s := newSink(t, nil)
	te := newEnv(t, `webhooks:
  - {id: ord, endpoint: "`+s.URL+`", concurrency: 1, signing: {scheme: none}}
triggers:
  - name: t
    when: {event: ord}
    notify: {webhook: ord, payload: '{"i": {{i}}}'}
`, nil, func(o *Options) { o.Memory, o.Dir = false, t.TempDir() })
	var evs []Event
	for i := range 20 {
		evs = append(evs, Event{Type: "ord", Data: json.RawMessage(fmt.Sprintf(`{"i": %d}`, i))})
	}
	if _, err := te.e.Emit(context.Background(), evs...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "20 deliveries", func() bool { return s.count() == 20 })
	for i, r := range s.got() {
		var body struct{ I int }
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatalf("delivery %d: %v: %s", i, err, r.Body)
		}
		if body.I != i {
			t.Errorf("delivery %d carried event %d", i, body.I)
		}
	}
}

// TestRetainCount: past RetainCount finished invocations, the oldest are
// deleted as they finish, down to nine tenths of it, with their counts (a
// check each minute let a busy subscription keep twenty times as many:
// 20,232 finished with --retain-count 1000 at 160 events a second); and
// Retain deletes by age. (Neither was bounded but by 7 days: a busy
// subscription grew emit.db by gigabytes a day.)
func TestRetainCount(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, `webhooks:
  - {id: w, endpoint: "`+s.URL+`/w", signing: {scheme: none}}
subscriptions:
  - {webhook: w, events: [x.*]}
`, nil, func(o *Options) { o.RetainCount, o.Retain = 20, time.Hour })
	t0 := te.clock.Now()
	var ids []string
	for range 30 {
		q := te.emit("x.y", `{}`)
		ids = append(ids, q[0].ID)
		te.settle(q[0].ID, 0)
		te.clock.Advance(time.Millisecond) // each finished after the one before
	}
	// The clock has not reached the minute: the oldest beyond 20 go as
	// the others finish. The counts follow each record's commit a moment
	// later (settle sees the record first), and a deletion's a moment
	// after it too: wait for the two to agree.
	stored := func() int {
		n := 0
		for _, id := range ids {
			if _, err := te.e.Invocation(context.Background(), id); err == nil {
				n++
			}
		}
		return n
	}
	// oldestGone says which invocations are not the oldest gone and the
	// rest kept, given kept of them: empty when they all are. A deletion
	// may still land between two looks, so the loop waits for a look
	// where the count, the store and the order all agree.
	oldestGone := func(kept int) []string {
		var wrong []string
		for i, id := range ids {
			_, err := te.e.Invocation(context.Background(), id)
			if gone := errors.Is(err, inspect.ErrNotFound); gone != (i < len(ids)-kept) {
				wrong = append(wrong, fmt.Sprintf("invocation %d: %v, want gone=%v", i, err, i < len(ids)-kept))
			}
		}
		return wrong
	}
	kept := 0
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		kept = int(te.e.counts.total())
		wrong := oldestGone(kept)
		if kept <= 20 && kept == stored() && len(wrong) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d finished invocations counted and %d stored with RetainCount 20, 10s after the last one finished; %v", te.e.counts.total(), stored(), wrong)
		}
	}
	if kept < 18 {
		t.Errorf("%d finished invocations kept; want 18 to 20 (deleted down to nine tenths)", kept)
	}
	// Past Retain (an hour): all.
	te.clock.waitWaiter(t, t0.Add(time.Minute))
	te.clock.Set(t0.Add(2 * time.Hour))
	waitFor(t, "the rest to age out", func() bool { return te.e.counts.total() == 0 })
	if list, _, err := te.e.Invocations(context.Background(), InvocationQuery{WebhookID: "w"}); err != nil || len(list) != 0 {
		t.Errorf("left: %d %v", len(list), err)
	}
}

// TestRemovedWebhookGraceAfterClockSetBack: the queue of a removed webhook
// still waits its grace when the clock is set back meanwhile (a set back
// wakes every wait to look at the time again): it failed at once, as if
// the grace were over.
func TestRemovedWebhookGraceAfterClockSetBack(t *testing.T) {
	t.Parallel()
	te, _, q2 := queuedBehindRateLimit(t)
	te.setConfig("webhooks: []\n")
	te.clock.waitWaiters(t, te.clock.Now().Add(orphanGrace), 2) // the orphaned queue's and the retention sweep's minute
	back := te.clock.Now().Add(-24 * time.Hour)
	te.clock.SetBack(back)
	te.clock.waitWaiters(t, back.Add(orphanGrace), 2) // both wait a minute from the time set
	if inv := te.inv(q2[0].ID); inv.NextAt == nil {
		t.Fatalf("failed when the clock was set back: %s %q", inv.Status, inv.Error)
	}
	te.clock.Set(back.Add(orphanGrace))
	waitFor(t, "the queue to fail", func() bool { return te.inv(q2[0].ID).NextAt == nil })
}
