package emit

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// apiInvocation is an invocation as the API shows it, with the fields
// these tests read.
type apiInvocation struct {
	ID       string     `json:"id"`
	Status   string     `json:"status"`
	Attempts int        `json:"attempt_count"`
	NextAt   *time.Time `json:"next_attempt_at"`
	Waiting  *string    `json:"waiting"`
	Until    *time.Time `json:"waiting_until"`
}

// getInvocation reads invocation id through GET /api/invocations/{id}, and
// the same invocation as GET /api/invocations?webhook_id= lists it.
func getInvocation(t *testing.T, c apiClient, webhook, id string) (one, listed apiInvocation) {
	t.Helper()
	var got struct {
		Invocation apiInvocation `json:"invocation"`
	}
	if code, raw := c.do("GET", "/api/invocations/"+id, nil, &got); code != 200 {
		t.Fatalf("GET invocation: %d %s", code, raw)
	}
	var list struct {
		Invocations []apiInvocation `json:"invocations"`
	}
	if code, raw := c.do("GET", "/api/invocations?webhook_id="+webhook, nil, &list); code != 200 {
		t.Fatalf("GET invocations: %d %s", code, raw)
	}
	for _, inv := range list.Invocations {
		if inv.ID == id {
			return got.Invocation, inv
		}
	}
	t.Fatalf("invocation %s is not in the list of %s", id, webhook)
	return
}

// checkWaiting checks that invocation id, shown alone and listed, waits
// for want ("": no waiting field at all), and that its waiting_until is
// the time that ends want, when an RFC 3339 time does (to the second, as
// the text has it), or absent.
func checkWaiting(t *testing.T, c apiClient, webhook, id, want string) {
	t.Helper()
	var until *time.Time
	if end, err := time.Parse(time.RFC3339, want[strings.LastIndex(want, " ")+1:]); err == nil {
		until = &end
	}
	one, listed := getInvocation(t, c, webhook, id)
	for _, inv := range []struct {
		where string
		inv   apiInvocation
	}{{"GET /api/invocations/{id}", one}, {"GET /api/invocations", listed}} {
		switch got := inv.inv.Until; {
		case want == "" && inv.inv.Waiting != nil:
			t.Errorf("%s: waiting = %q, want no waiting field", inv.where, *inv.inv.Waiting)
		case until == nil && got != nil:
			t.Errorf("%s: waiting_until = %s for %q, want none", inv.where, got, want)
		case until != nil && (got == nil || !got.Truncate(time.Second).Equal(*until)):
			t.Errorf("%s: waiting_until = %v for %q, want the time it ends with", inv.where, got, want)
		case want != "" && (inv.inv.Waiting == nil || *inv.inv.Waiting != want):
			t.Errorf("%s: waiting = %v, want %q", inv.where, inv.inv.Waiting, want)
		}
	}
}

// TestInvocationWaiting shows why a queued invocation is held back beyond
// its next_attempt_at: a retry of a webhook made inactive showed plain
// pending, due in the past, as if stuck.
func TestInvocationWaiting(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(500))
	te := newEnv(t, hookYAML("cfg", s.URL, "retry: {statuses: [500], max_attempts: 10}"), nil)
	c := te.api()
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "api", "endpoint": "`+s.URL+`", "subscriptions": ["other.*"],
		"signing": {"scheme": "none"}, "retry": {"statuses": [500], "max_attempts": 10}}`, nil); code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	var queued EventsResponse
	if code, raw := c.do("POST", "/api/events", `[{"type": "other.x"}, {"type": "test.x"}]`, &queued); code != 202 || len(queued.Invocations) != 2 {
		t.Fatalf("events: %d %s", code, raw)
	}
	ids := map[string]string{}
	for _, q := range queued.Invocations {
		ids[q.WebhookID] = q.ID
	}
	// Both fail once and wait for their retry.
	for hook, id := range ids {
		var inv apiInvocation
		waitFor(t, hook+"'s retry to be queued", func() bool {
			inv, _ = getInvocation(t, c, hook, id)
			return inv.Attempts == 1 && inv.NextAt != nil && inv.NextAt.After(te.clock.Now())
		})
		checkWaiting(t, c, hook, id, "retrying: attempt 2 of 10 at "+inv.NextAt.Format(time.RFC3339))
	}

	// Inactive: the retry, due now, waits for the webhook.
	if code, raw := c.do("PATCH", "/api/webhooks/api", `{"status": "inactive"}`, nil); code != 200 {
		t.Fatalf("PATCH inactive: %d %s", code, raw)
	}
	one, _ := getInvocation(t, c, "api", ids["api"])
	te.clock.Set(*one.NextAt)
	checkWaiting(t, c, "api", ids["api"], "the webhook is inactive")
	if one, _ := getInvocation(t, c, "api", ids["api"]); one.Status != InvocationPending || one.Attempts != 1 {
		t.Errorf("inactive webhook's invocation: %+v, want pending after 1 attempt", one)
	}
	// Active again: nothing holds it back (it goes, and waits for its next
	// retry, or is about to).
	if code, raw := c.do("PATCH", "/api/webhooks/api", `{"status": "active"}`, nil); code != 200 {
		t.Fatalf("PATCH active: %d %s", code, raw)
	}
	var inv apiInvocation
	waitFor(t, "the retry once active", func() bool {
		inv, _ = getInvocation(t, c, "api", ids["api"])
		return inv.Attempts == 2 && inv.NextAt != nil && inv.NextAt.After(te.clock.Now())
	})
	checkWaiting(t, c, "api", ids["api"], "retrying: attempt 3 of 10 at "+inv.NextAt.Format(time.RFC3339))

	// Removed from the config: its invocations wait (for a minute) for it
	// to come back.
	other := strings.Replace(hookYAML("cfg2", s.URL, ""), "test.*", "none.*", 1)
	te.setConfig(other)
	checkWaiting(t, c, "cfg", ids["cfg"], "the webhook is not in the config")
	te.setConfig(hookYAML("cfg", s.URL, "retry: {statuses: [500], max_attempts: 10}"))
	// Back in the config, it waits for its retry alone.
	waitFor(t, "cfg's retry to be queued", func() bool {
		inv, _ = getInvocation(t, c, "cfg", ids["cfg"])
		return inv.NextAt != nil && inv.NextAt.After(te.clock.Now())
	})
	checkWaiting(t, c, "cfg", ids["cfg"], fmt.Sprintf("retrying: attempt %d of 10 at %s", inv.Attempts+1, inv.NextAt.Format(time.RFC3339)))
}

// TestCircuitUntil shows until when a webhook's circuit is open, in GET
// /api/webhooks/{id}, in the list, and in the invocations it holds back:
// GET showed "circuit": "open" alone and the list no circuit at all.
func TestCircuitUntil(t *testing.T) {
	t.Parallel()
	var healthy atomic.Bool
	s := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if healthy.Load() {
			w.WriteHeader(200)
			return
		}
		w.WriteHeader(500)
	})
	te := newEnv(t, "", nil)
	c := te.api()
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "hook", "endpoint": "`+s.URL+`", "subscriptions": ["test.*"], "concurrency": 1,
		"signing": {"scheme": "none"}, "circuit_breaker": {"min_attempts": 3, "failure_rate": 1, "cooldown": "10s"}}`, nil); code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	type state struct {
		Circuit      string     `json:"circuit"`
		CircuitUntil *time.Time `json:"circuit_until"`
	}
	read := func() (one, listed state, raw string) {
		t.Helper()
		code, raw := c.do("GET", "/api/webhooks/hook", nil, &one)
		if code != 200 {
			t.Fatalf("GET webhook: %d %s", code, raw)
		}
		var list struct {
			Webhooks []struct {
				ID string `json:"id"`
				state
			} `json:"webhooks"`
		}
		if code, raw := c.do("GET", "/api/webhooks", nil, &list); code != 200 || len(list.Webhooks) != 1 {
			t.Fatalf("GET webhooks: %d %s", code, raw)
		}
		return one, list.Webhooks[0].state, raw
	}
	if one, listed, _ := read(); one != (state{Circuit: "closed"}) || listed != one {
		t.Errorf("before any attempt: GET %+v, list %+v; want closed, no circuit_until", one, listed)
	}

	var queued EventsResponse
	if code, raw := c.do("POST", "/api/events", `[{"type": "test.x"}, {"type": "test.x"}, {"type": "test.x"}, {"type": "test.x"}]`, &queued); code != 202 {
		t.Fatalf("events: %d %s", code, raw)
	}
	opened := te.clock.Now()
	te.waitCount("hook", InvocationCircuitBroken, 1)
	want := opened.Add(10 * time.Second)
	one, listed, raw := read()
	if one.Circuit != "open" || one.CircuitUntil == nil || !one.CircuitUntil.Equal(want) {
		t.Errorf("GET while open: %+v, want open until %s", one, want)
	}
	if listed.Circuit != "open" || listed.CircuitUntil == nil || !listed.CircuitUntil.Equal(want) {
		t.Errorf("list while open: %+v, want open until %s", listed, want)
	}
	held := queued.Invocations[3].ID
	checkWaiting(t, c, "hook", held, "the circuit is open until "+want.Format(time.RFC3339))
	for _, inv := range func() []apiInvocation {
		one, listed := getInvocation(t, c, "hook", held)
		return []apiInvocation{one, listed}
	}() {
		if inv.Until == nil || !inv.Until.Equal(want) {
			t.Errorf("held invocation's waiting_until = %v, want %s (the circuit's until)", inv.Until, want)
		}
	}
	// GET's answer, and a list item, sent back whole still patch the
	// webhook.
	if code, body := c.do("PATCH", "/api/webhooks/hook", raw, nil); code != 200 {
		t.Errorf("PATCH with GET's answer: %d %s", code, body)
	}
	var items struct {
		Webhooks []json.RawMessage `json:"webhooks"`
	}
	c.do("GET", "/api/webhooks", nil, &items)
	if code, body := c.do("PATCH", "/api/webhooks/hook", string(items.Webhooks[0]), nil); code != 200 {
		t.Errorf("PATCH with a list item: %d %s", code, body)
	}

	// After the cool-down the probe succeeds and closes the circuit.
	healthy.Store(true)
	te.clock.Advance(10 * time.Second)
	te.waitCount("hook", InvocationSuccess, 1)
	waitFor(t, "the circuit to close", func() bool { return te.e.circuit("hook") == "closed" })
	if one, listed, _ := read(); one != (state{Circuit: "closed"}) || listed != one {
		t.Errorf("after the probe: GET %+v, list %+v; want closed, no circuit_until", one, listed)
	}
	checkWaiting(t, c, "hook", held, "")
}

// TestRetryWaiting: an invocation waiting for its retry says which attempt
// comes (of how many the policy makes, since the last redelivery) and
// when, with that time as waiting_until: it showed a bare pending.
func TestRetryWaiting(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(500))
	te := newEnv(t, hookYAML("hook", s.URL, "retry: {statuses: [500], max_attempts: 2}"), nil)
	c := te.api()
	var queued EventsResponse
	if code, raw := c.do("POST", "/api/events", `{"type": "test.x"}`, &queued); code != 202 || len(queued.Invocations) != 1 {
		t.Fatalf("events: %d %s", code, raw)
	}
	id := queued.Invocations[0].ID
	retried := func(attempts int) apiInvocation {
		t.Helper()
		var inv apiInvocation
		waitFor(t, "the retry after attempt "+strconv.Itoa(attempts), func() bool {
			inv, _ = getInvocation(t, c, "hook", id)
			return inv.Attempts == attempts && inv.NextAt != nil && inv.NextAt.After(te.clock.Now())
		})
		return inv
	}
	inv := retried(1)
	checkWaiting(t, c, "hook", id, "retrying: attempt 2 of 2 at "+inv.NextAt.Format(time.RFC3339))
	te.clock.Set(*inv.NextAt)
	te.waitCount("hook", InvocationServerError, 1)
	checkWaiting(t, c, "hook", id, "")

	// Redelivered, it counts its attempts again.
	if code, raw := c.do("POST", "/api/invocations/"+id+"/retry", nil, nil); code != 202 {
		t.Fatalf("redeliver: %d %s", code, raw)
	}
	inv = retried(3)
	checkWaiting(t, c, "hook", id, "retrying: attempt 2 of 2 since the redelivery (4 in all) at "+inv.NextAt.Format(time.RFC3339))
}

// TestRateLimitWaiting: an invocation held back by its webhook's rate
// limit (throttled) says so, and until when (the next token), with that
// time as waiting_until: it had no waiting at all.
func TestRateLimitWaiting(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, hookYAML("lim", s.URL, "rate_limit: 2/min"), nil)
	c := te.api()
	var queued EventsResponse
	if code, raw := c.do("POST", "/api/events", `[{"type": "test.x"}, {"type": "test.x"}, {"type": "test.x"}]`, &queued); code != 202 || len(queued.Invocations) != 3 {
		t.Fatalf("events: %d %s", code, raw)
	}
	start := te.clock.Now()
	te.waitCount("lim", InvocationSuccess, 2)
	te.waitCount("lim", InvocationThrottled, 1)
	held := queued.Invocations[2].ID
	// Two went at start; the bucket gives one every 30 s.
	checkWaiting(t, c, "lim", held, "the rate limit of 2/min is used up until "+start.Add(30*time.Second).Format(time.RFC3339))
	if one, _ := getInvocation(t, c, "lim", held); one.Status != InvocationThrottled || one.Until == nil || !one.Until.Equal(start.Add(30*time.Second)) {
		t.Errorf("held invocation: %+v, want throttled until %s exactly", one, start.Add(30*time.Second))
	}
	// Ten seconds on, the same token is 20 s away.
	te.clock.Advance(10 * time.Second)
	checkWaiting(t, c, "lim", held, "the rate limit of 2/min is used up until "+start.Add(30*time.Second).Format(time.RFC3339))
	te.clock.Advance(20 * time.Second)
	te.waitCount("lim", InvocationSuccess, 3)
	checkWaiting(t, c, "lim", held, "")
}

// TestBreakerDisabledClosesTheCircuit: a breaker disabled while its
// circuit is open closes it, as the API then says (closed), so that
// enabling it again starts from a closed circuit. The open state was kept
// while disabled: enabled again, after deliveries that succeeded
// meanwhile, the circuit was open again for the rest of the old cool-down
// and held every delivery.
func TestBreakerDisabledClosesTheCircuit(t *testing.T) {
	t.Parallel()
	var healthy atomic.Bool
	s := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
		if healthy.Load() {
			w.WriteHeader(200)
			return
		}
		w.WriteHeader(500)
	})
	te := newEnv(t, "", nil)
	c := te.api()
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "hook", "endpoint": "`+s.URL+`", "subscriptions": ["test.*"], "concurrency": 1,
		"signing": {"scheme": "none"}, "circuit_breaker": {"min_attempts": 2, "failure_rate": 1, "cooldown": "1h"}}`, nil); code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	circuit := func() string {
		t.Helper()
		var one struct {
			Circuit string `json:"circuit"`
		}
		if code, raw := c.do("GET", "/api/webhooks/hook", nil, &one); code != 200 {
			t.Fatalf("GET webhook: %d %s", code, raw)
		}
		return one.Circuit
	}
	if code, raw := c.do("POST", "/api/events", `[{"type": "test.x"}, {"type": "test.x"}]`, nil); code != 202 {
		t.Fatalf("events: %d %s", code, raw)
	}
	te.waitCount("hook", InvocationServerError, 2)
	if got := circuit(); got != "open" {
		t.Fatalf("after two failures: %s, want open", got)
	}

	healthy.Store(true)
	if code, raw := c.do("PATCH", "/api/webhooks/hook", `{"circuit_breaker": {"disabled": true}}`, nil); code != 200 {
		t.Fatalf("disable: %d %s", code, raw)
	}
	te.emit("test.x", `{}`)
	te.waitCount("hook", InvocationSuccess, 1)

	if code, raw := c.do("PATCH", "/api/webhooks/hook", `{"circuit_breaker": {"disabled": null}}`, nil); code != 200 {
		t.Fatalf("enable: %d %s", code, raw)
	}
	// The next delivery goes (the lane follows the change before it).
	te.emit("test.x", `{}`)
	te.waitCount("hook", InvocationSuccess, 2)
	if got := circuit(); got != "closed" {
		t.Errorf("enabled again after a success: %s, want closed", got)
	}
}
