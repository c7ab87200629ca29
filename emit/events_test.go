package emit

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/hooklab/hooklab/inspect"
)

func capturedExchange(id string, hdr inspect.Headers) *inspect.Exchange {
	return &inspect.Exchange{
		ID: id, Bin: "default", Source: inspect.SourceCapture, Time: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC),
		Request: inspect.Request{Method: "POST", URL: "http://127.0.0.1:8080/orders?x=1", Headers: append(hdr, inspect.Header{Name: "Content-Type", Value: "application/json"}),
			Body: []byte(`{"order": {"id": 42, "total": 19.5}}`)},
	}
}

// TestOnExchange turns captured and proxied exchanges into events that
// triggers see with request data, skips hooklab's own deliveries, and never
// blocks when the event queue is full.
func TestOnExchange(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	yaml := `webhooks:
  - {id: cap, endpoint: "` + s.URL + `/cap", signing: {scheme: none}}
  - {id: prox, endpoint: "` + s.URL + `/prox", signing: {scheme: none}}
triggers:
  - name: big-orders
    when:
      event: request.captured
      all: [{path: request.json.order.total, op: gt, value: 10}]
    notify:
      webhook: cap
      payload: '{"path": "{{request.path}}", "order": {{request.json.order.id}}, "method": "{{request.method}}", "bin": "{{exchange.bin}}", "top": "{{bin}}", "url": "{{request.url}}", "ct": "{{request.headers.Content-Type}}", "ct2": "{{request.headers.content-type}}"}'
subscriptions:
  - {webhook: prox, events: [exchange.proxied]}
`
	te := newEnv(t, yaml, nil)
	// In a bin: request.path is as mock templates see it, without /b/zd.
	inBin := capturedExchange("01HWT0D7G07853Y017XD5T0001", nil)
	inBin.Bin, inBin.Request.URL = "zd", "http://127.0.0.1:8080/b/zd/orders?x=1"
	te.e.OnExchange(context.Background(), inBin)
	own := capturedExchange("01HWT0D7G07853Y017XD5T0002", inspect.Headers{{Name: HeaderInvocation, Value: "x"}})
	te.e.OnExchange(context.Background(), own)
	px := capturedExchange("01HWT0D7G07853Y017XD5T0003", nil)
	px.Source = inspect.SourceProxy
	px.Response = &inspect.Response{Status: 201, Headers: inspect.Headers{{Name: "X-Up", Value: "1"}}, Body: []byte("made")}
	te.e.OnExchange(context.Background(), px)
	replay := capturedExchange("01HWT0D7G07853Y017XD5T0004", nil)
	replay.Source = inspect.SourceReplay
	te.e.OnExchange(context.Background(), replay)

	te.waitCount("cap", InvocationSuccess, 1)
	te.waitCount("prox", InvocationSuccess, 1)
	time.Sleep(20 * time.Millisecond)
	if s.count() != 2 {
		t.Fatalf("sink got %d requests, want 2", s.count())
	}
	for _, r := range s.got() {
		switch r.URL {
		case "/cap":
			if want := `{"path": "/orders", "order": 42, "method": "POST", "bin": "zd", "top": "zd", "url": "http://127.0.0.1:8080/b/zd/orders?x=1", "ct": "application/json", "ct2": "application/json"}`; string(r.Body) != want {
				t.Errorf("captured payload %s, want %s", r.Body, want)
			}
		case "/prox":
			var env struct {
				Type    string
				Subject string
				Detail  struct {
					Response struct {
						Status int
						Body   string
					}
				}
			}
			json.Unmarshal(r.Body, &env)
			if env.Type != "exchange.proxied" || env.Detail.Response.Status != 201 || env.Detail.Response.Body != "made" || !strings.HasPrefix(env.Subject, "exchange:") {
				t.Errorf("proxied envelope %s", r.Body)
			}
		}
	}
}

func TestOnExchangeNeverBlocks(t *testing.T) {
	t.Parallel()
	e, err := Open(Options{Memory: true, EventBuffer: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.SetConfig(parseConfig(t, hookYAML("h", "https://example.com", "")+"  - webhook: h\n    events: [request.*]\n", nil)); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		for i := range 100 {
			e.OnExchange(context.Background(), capturedExchange(strings.Repeat("0", 20)+string(rune('A'+i%26))+"00000", nil))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("OnExchange blocked")
	}
	st, _ := e.Stats(context.Background())
	if st.DroppedEvents != 98 || st.BufferedEvents != 2 {
		t.Errorf("stats = %+v, want 98 dropped and 2 buffered", st)
	}
}

// watchedDeliveries is a config whose webhook main takes order events and
// whose webhook watch takes the delivery events, both at sink.
func watchedDeliveries(sink string) string {
	return `webhooks:
  - {id: main, endpoint: "` + sink + `/main", signing: {scheme: none}}
  - {id: watch, endpoint: "` + sink + `/watch", signing: {scheme: none}}
subscriptions:
  - {webhook: main, events: [order.*]}
  - {webhook: watch, events: [delivery.*]}
`
}

// TestDeliveryEvents notifies a webhook of other webhooks' deliveries, and
// does not make events of those notifications' own deliveries.
func TestDeliveryEvents(t *testing.T) {
	t.Parallel()
	s := newSink(t, seq(status(500), status(200)))
	te := newEnv(t, watchedDeliveries(s.URL), nil)
	te.emit("order.paid", `{}`)
	te.waitCount("watch", InvocationSuccess, 1)
	time.Sleep(30 * time.Millisecond)
	if s.count() != 2 {
		t.Fatalf("sink got %d requests, want 2 (no event about the watcher's own delivery)", s.count())
	}
	var env struct {
		Type   string
		Detail struct {
			Invocation struct {
				WebhookID string `json:"webhook_id"`
				Status    string
			}
		}
	}
	for _, r := range s.got() {
		if r.URL == "/watch" {
			json.Unmarshal(r.Body, &env)
		}
	}
	if env.Type != EventDeliveryFailed || env.Detail.Invocation.WebhookID != "main" || env.Detail.Invocation.Status != InvocationServerError {
		t.Errorf("delivery event %+v", env)
	}
}

// TestDeliveryEventsAnyText makes delivery events of an event type that Go
// quoting would not write as JSON (DEL, a rune beyond the BMP that is not
// printable): each is delivered, with the type as it was.
func TestDeliveryEventsAnyText(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, watchedDeliveries(s.URL), nil)
	types := []string{"order.\x7fpaid", "order.\U000e0001tag", "order.\"quoted\\"}
	for _, typ := range types {
		te.emit(typ, `{}`)
	}
	te.waitCount("watch", InvocationSuccess, len(types))
	var got []string
	for _, r := range s.got() {
		if r.URL != "/watch" {
			continue
		}
		var env struct {
			Detail struct {
				Invocation struct {
					EventType string `json:"event_type"`
				}
			}
		}
		if err := json.Unmarshal(r.Body, &env); err != nil {
			t.Errorf("delivery event is not JSON: %v: %q", err, r.Body)
		}
		got = append(got, env.Detail.Invocation.EventType)
	}
	slices.Sort(got)
	want := slices.Sorted(slices.Values(types))
	if !slices.Equal(got, want) {
		t.Errorf("delivery events for %q, want %q", got, want)
	}
}

// TestAutomations fires an every: automation and a cron one on the fake
// clock, with conditions over their data and now.
func TestAutomations(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	yaml := `webhooks:
  - {id: periodic, endpoint: "` + s.URL + `/p", signing: {scheme: none}}
automations:
  - name: sla
    every: 1h
    data: {ticket: {id: 9, status: open}}
    when:
      all: [{path: ticket.status, op: eq, value: open}]
    notify: {webhook: periodic, payload: '{"ticket": {{ticket.id}}, "at": "{{now | date: "%H:%M"}}", "event": "{{event.type}}"}'}
  - name: nightly
    every: "30 13 * * *"
    notify: {webhook: periodic, payload: '{"nightly": true}'}
  - name: never
    every: 1h
    data: {ticket: {status: solved}}
    when:
      all: [{path: ticket.status, op: eq, value: open}]
    notify: {webhook: periodic, payload: '{}'}
`
	te := newEnv(t, yaml, nil) // the clock starts at 12:00
	start := te.clock.Now()
	// The automations wait for 13:00, their schedules started when their
	// loop first ran. Advancing the clock before it would start them at
	// 13:00 instead of 12:00.
	te.clock.waitWaiters(t, start.Add(time.Hour), 1)
	if s.count() != 0 {
		t.Fatalf("fired before their time: %d", s.count())
	}
	te.clock.Advance(time.Hour) // 13:00: sla
	te.waitCount("periodic", InvocationSuccess, 1)
	te.clock.waitWaiter(t, start.Add(90*time.Minute))
	te.clock.Advance(30 * time.Minute) // 13:30: nightly
	te.waitCount("periodic", InvocationSuccess, 2)
	te.clock.waitWaiter(t, start.Add(2*time.Hour))
	te.clock.Advance(30 * time.Minute) // 14:00: sla again
	te.waitCount("periodic", InvocationSuccess, 3)
	bodies := []string{}
	for _, r := range s.got() {
		bodies = append(bodies, string(r.Body))
	}
	want := []string{`{"ticket": 9, "at": "13:00", "event": "automation.sla"}`, `{"nightly": true}`, `{"ticket": 9, "at": "14:00", "event": "automation.sla"}`}
	if strings.Join(bodies, "\n") != strings.Join(want, "\n") {
		t.Errorf("bodies\n%s\nwant\n%s", strings.Join(bodies, "\n"), strings.Join(want, "\n"))
	}
}

// TestAutomationCronNames: cron's @every DURATION runs as every: does,
// and the @names take any case (@Daily): both were refused as "want 5
// fields".
func TestAutomationCronNames(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	yaml := `webhooks:
  - {id: periodic, endpoint: "` + s.URL + `/p", signing: {scheme: none}}
automations:
  - name: half-hourly
    cron: "@every 30m"
    notify: {webhook: periodic, payload: '{"at": "{{now | date: "%H:%M"}}"}'}
  - name: daily
    cron: "@Daily"
    notify: {webhook: periodic, payload: '{"daily": "{{now | date: "%H:%M"}}"}'}
`
	te := newEnv(t, yaml, nil) // the clock starts at 12:00
	start := te.clock.Now()
	te.clock.waitWaiters(t, start.Add(30*time.Minute), 1)
	te.clock.Advance(30 * time.Minute)
	te.waitCount("periodic", InvocationSuccess, 1)
	te.clock.waitWaiter(t, start.Add(time.Hour))
	te.clock.Advance(30 * time.Minute)
	te.waitCount("periodic", InvocationSuccess, 2)
	var bodies []string
	for _, r := range s.got() {
		bodies = append(bodies, string(r.Body))
	}
	if want := []string{`{"at": "12:30"}`, `{"at": "13:00"}`}; !slices.Equal(bodies, want) {
		t.Errorf("bodies %q, want %q", bodies, want)
	}
}

// TestInactiveWebhook invokes no inactive webhook; queued invocations wait
// until it is active again.
func TestInactiveWebhook(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, "", nil)
	ctx := context.Background()
	if _, _, err := te.e.CreateWebhook(ctx, Webhook{ID: "w", Endpoint: s.URL, Subscriptions: []string{"a.*"}, Signing: &Signing{Scheme: SchemeNone}, RateLimit: &RateLimit{Limit: 1, Window: Duration(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	te.emit("a.b", `{}`)
	te.emit("a.b", `{}`)
	te.waitCount("w", InvocationSuccess, 1)
	te.waitCount("w", InvocationThrottled, 1)
	if _, _, err := te.e.UpdateWebhook(ctx, "w", json.RawMessage(`{"status": "inactive"}`)); err != nil {
		t.Fatal(err)
	}
	if q := te.emit("a.b", `{}`); len(q) != 0 {
		t.Errorf("an inactive webhook was invoked: %+v", q)
	}
	te.clock.Advance(time.Hour)
	time.Sleep(20 * time.Millisecond)
	if s.count() != 1 {
		t.Errorf("an inactive webhook got a delivery")
	}
	if _, _, err := te.e.UpdateWebhook(ctx, "w", json.RawMessage(`{"status": "active", "rate_limit": null}`)); err != nil {
		t.Fatal(err)
	}
	te.waitCount("w", InvocationSuccess, 2)
}

// TestPostedExchangeEventHeaders: a request.captured event posted through
// the API with headers in any case is looked up in any case too.
func TestPostedExchangeEventHeaders(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, `webhooks:
  - {id: h, endpoint: "`+s.URL+`/h", signing: {scheme: none}}
triggers:
  - name: posted
    when: {event: request.captured}
    notify: {webhook: h, payload: '{"a": "{{request.headers.X-Foo}}", "b": "{{request.headers.x-foo}}"}'}
`, nil)
	q := te.emit("request.captured", `{"request": {"headers": {"X-Foo": "1"}}}`)
	te.drive(q[0].ID)
	if got := s.got(); len(got) != 1 || string(got[0].Body) != `{"a": "1", "b": "1"}` {
		t.Errorf("delivered %+v", got)
	}
}

// TestEnvelopeKeepsMarkup: a subscription's envelope carries the event's
// data as it came, <, > and & included (not as \u003c and the like).
func TestEnvelopeKeepsMarkup(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, hookYAML("a", s.URL, ""), nil)
	q := te.emit("test.x", `{"html": "<b>Tom & Jerry</b>"}`)
	te.settle(q[0].ID, 0)
	if got := s.got(); len(got) != 1 || !strings.Contains(string(got[0].Body), `"<b>Tom & Jerry</b>"`) {
		t.Errorf("delivered %q", got[0].Body)
	}
}

// TestExchangeEventRedactsSecrets: what a sender sent as a secret (auth,
// cookies, API keys, --secret-header names, a URL password, a proxied
// answer's Set-Cookie) reads REDACTED in the event made of its exchange,
// as it does in the exchange API: in the delivered payload, the activity
// log and the attempt's recorded exchange.
func TestExchangeEventRedactsSecrets(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	yaml := `webhooks:
  - {id: cap, endpoint: "` + s.URL + `/cap", signing: {scheme: none}}
  - {id: prox, endpoint: "` + s.URL + `/prox", signing: {scheme: none}}
triggers:
  - name: fwd
    when: {event: request.captured}
    notify:
      webhook: cap
      payload: '{"auth": "{{request.headers.authorization}}", "custom": "{{request.headers.x-house}}", "url": "{{request.url}}"}'
subscriptions:
  - {webhook: prox, events: [exchange.proxied]}
`
	te := newEnv(t, yaml, nil, func(o *Options) { o.SecretHeaders = []string{"X-House"} })
	secrets := inspect.Headers{
		{Name: "Authorization", Value: "Bearer SECRET-AUTH"},
		{Name: "Cookie", Value: "session=SECRET-COOKIE"},
		{Name: "X-Api-Key", Value: "SECRET-APIKEY"},
		{Name: "X-House", Value: "SECRET-HOUSE"},
	}
	cap := capturedExchange("01HWT0D7G07853Y017XD5T0011", slices.Clone(secrets))
	cap.Request.URL = "http://user:SECRET-PASS@127.0.0.1:8080/orders"
	te.e.OnExchange(context.Background(), cap)
	px := capturedExchange("01HWT0D7G07853Y017XD5T0012", slices.Clone(secrets))
	px.Source = inspect.SourceProxy
	px.Response = &inspect.Response{Status: 200, Headers: inspect.Headers{{Name: "Set-Cookie", Value: "sid=SECRET-SETCOOKIE; Path=/"}}}
	te.e.OnExchange(context.Background(), px)
	te.waitCount("cap", InvocationSuccess, 1)
	te.waitCount("prox", InvocationSuccess, 1)

	var seen []string
	for _, r := range s.got() {
		seen = append(seen, string(r.Body))
	}
	invs, _, err := te.e.db.list(context.Background(), InvocationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range invs {
		full, err := te.e.db.getInvocation(context.Background(), inv.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(full)
		seen = append(seen, string(b))
	}
	for _, ex := range te.rec.all() {
		seen = append(seen, string(ex.Request.Body))
	}
	if len(seen) < 6 {
		t.Fatalf("only %d outputs to check", len(seen))
	}
	for _, out := range seen {
		if strings.Contains(out, "SECRET-") {
			t.Errorf("a secret in an output: %s", out)
		}
	}
	if want := `{"auth": "REDACTED", "custom": "REDACTED", "url": "http://user:REDACTED@127.0.0.1:8080/orders"}`; !slices.Contains(seen, want) {
		t.Errorf("the trigger's payload is not %s among %q", want, seen)
	}
}

// TestDeleteWhileEmitting: events being queued while their webhook is
// deleted through the API leave nothing pending for it (rows inserted
// after the delete failed the queued ones stayed pending for ever, and
// went to the next webhook given that id).
func TestDeleteWhileEmitting(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, "", nil)
	ctx := context.Background()
	events := make([]Event, 200)
	for i := range events {
		events[i] = Event{Type: "a.b", Data: json.RawMessage(`{"pad": "` + strings.Repeat("x", 2000) + `"}`)}
	}
	for round := range 8 {
		id := fmt.Sprintf("w%d", round)
		if _, _, err := te.e.CreateWebhook(ctx, Webhook{ID: id, Endpoint: s.URL, Subscriptions: []string{"a.*"}, Signing: &Signing{Scheme: SchemeNone}}); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				batch := slices.Clone(events)
				if _, err := te.e.Emit(ctx, batch...); err != nil {
					t.Error(err)
				}
			})
		}
		time.Sleep(time.Duration(round%4+1) * time.Millisecond)
		if err := te.e.DeleteWebhook(ctx, id); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
	}
	list, _, err := te.e.db.list(ctx, InvocationQuery{Status: InvocationPending, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) > 0 {
		t.Errorf("%d invocations of deleted webhooks are pending (first: %s of %s)", len(list), list[0].ID, list[0].WebhookID)
	}
}

// TestEventInvalidUTF8: bytes of an event's data that are no UTF-8 go out
// as U+FFFD in a subscription's envelope (they went as they came, which
// strict JSON parsers refuse), as templates make them.
func TestEventInvalidUTF8(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, `webhooks:
  - {id: sub, endpoint: "`+s.URL+`/sub", signing: {scheme: none}}
subscriptions:
  - {webhook: sub, events: [u.go]}
`, nil)
	q := te.emit("u.go", "{\"t\": {\"s\": \"a\xff\xc3b\"}}")
	if len(q) != 1 {
		t.Fatalf("queued %+v", q)
	}
	if inv, _ := te.drive(q[0].ID); inv.Status != InvocationSuccess {
		t.Fatalf("%s %s", inv.Status, inv.Error)
	}
	got := s.got()
	if len(got) != 1 || !utf8.Valid(got[0].Body) || !strings.Contains(string(got[0].Body), "\"s\":\"a\uFFFDb\"") {
		t.Fatalf("delivered %q", got[0].Body)
	}
}

// TestCronStepDayIsNotRestricted: as in crontab(5), a day field is
// restricted only when it does not start with *, so "0 0 */2 * 1" runs on
// Mondays that are odd days of the month (both fields must match), not on
// every odd day and every Monday.
func TestCronStepDayIsNotRestricted(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	yaml := `webhooks:
  - {id: periodic, endpoint: "` + s.URL + `/p", signing: {scheme: none}}
automations:
  - name: odd-mondays
    cron: "0 0 */2 * 1"
    notify: {webhook: periodic, payload: '{"at": "{{now | date: "%F"}}"}'}
`
	te := newEnv(t, yaml, nil) // Wednesday 2024-05-01 12:00 UTC
	// Not Friday 3 May (odd) nor Monday 6 May (even): Monday 13 May.
	want := time.Date(2024, 5, 13, 0, 0, 0, 0, time.UTC)
	// (Something else waits for the next minute: look from the next day.)
	waitFor(t, "the automation's first run to be scheduled", func() bool {
		return te.clock.waitsIn(time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), want.AddDate(1, 0, 0))
	})
	if te.clock.waitsIn(time.Date(2024, 5, 2, 0, 0, 0, 0, time.UTC), want.Add(-time.Minute)) {
		t.Fatalf("odd-mondays is scheduled before %s", want.Format(time.DateOnly))
	}
	te.clock.waitWaiter(t, want)
	te.clock.Set(want)
	te.waitCount("periodic", InvocationSuccess, 1)
	if got := string(s.got()[0].Body); got != `{"at": "2024-05-13"}` {
		t.Errorf("ran with %s, want 2024-05-13", got)
	}
}

// TestDeliveryFailedOfUnrenderable makes a delivery.failed event of an
// invocation that failed as it was made (its payload was over the
// webhook's max_payload), as of one whose attempts failed.
func TestDeliveryFailedOfUnrenderable(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, `webhooks:
  - {id: main, endpoint: "`+s.URL+`/main", signing: {scheme: none}, max_payload: 16}
  - {id: watch, endpoint: "`+s.URL+`/watch", signing: {scheme: none}}
triggers:
  - name: big
    when: {event: order.paid}
    notify: {webhook: main, payload: '{"note": "{{order.note}}"}'}
subscriptions:
  - {webhook: watch, events: [delivery.*]}
`, nil)
	q := te.emit("order.paid", `{"order": {"note": "longer than sixteen bytes"}}`)
	if len(q) != 1 || q[0].Status != InvocationFailed {
		t.Fatalf("queued %+v, want one failed invocation", q)
	}
	te.waitCount("watch", InvocationSuccess, 1)
	var env struct {
		Type   string
		Detail struct {
			Invocation struct {
				ID, Status, Error string
				WebhookID         string `json:"webhook_id"`
			}
		}
	}
	for _, r := range s.got() {
		if r.URL == "/main" {
			t.Errorf("the unrenderable invocation was sent: %s", r.Body)
		}
		if r.URL == "/watch" {
			json.Unmarshal(r.Body, &env)
		}
	}
	inv := env.Detail.Invocation
	if env.Type != EventDeliveryFailed || inv.ID != q[0].ID || inv.WebhookID != "main" || inv.Status != InvocationFailed ||
		!strings.Contains(inv.Error, "max_payload") {
		t.Errorf("delivery event %+v", env)
	}
}

// hourlyOnShiftedWall runs an hourly automation on the real clock read
// with shift added to the wall (a machine's sleep, or the clock set), and
// returns it once the automation waits for its hour from start.
func hourlyOnShiftedWall(t *testing.T) (te *testEnv, shift *atomic.Int64, waits chan time.Time, start time.Time) {
	s := newSink(t, status(200))
	shift = new(atomic.Int64)
	waits = make(chan time.Time, 100)
	clk := sleepClock{realClock{wall: func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }, check: time.Millisecond}, waits}
	start = clk.Now()
	yaml := `webhooks:
  - {id: periodic, endpoint: "` + s.URL + `/p", signing: {scheme: none}}
automations:
  - name: hourly
    every: 1h
    notify: {webhook: periodic, payload: '{}'}
`
	te = newEnv(t, yaml, nil, func(o *Options) { o.Clock = clk })
	awaitWait(t, waits, "the automation's hour", func(at time.Time) bool { return !at.Before(start.Add(time.Hour)) })
	return te, shift, waits, start
}

// TestAutomationAfterSleep: an automation due while the machine slept runs
// when it wakes. A timer counts on the monotonic clock, which stands still
// while a laptop's lid is closed (and ignores the clock being set): an
// hourly automation's timer, set before an hour's sleep, ran an hour late,
// and a daily one set before a night's sleep ran that night instead of in
// the morning.
func TestAutomationAfterSleep(t *testing.T) {
	t.Parallel()
	te, slept, _, _ := hourlyOnShiftedWall(t)
	slept.Store(int64(time.Hour + time.Second)) // the lid was closed for an hour
	te.waitCount("periodic", InvocationSuccess, 1)
}

// TestAutomationAfterClockSetBack: an hourly automation whose clock is set
// back two hours runs an hour later by the clock, not three.
func TestAutomationAfterClockSetBack(t *testing.T) {
	t.Parallel()
	te, shift, waits, start := hourlyOnShiftedWall(t)
	shift.Store(int64(-2 * time.Hour))
	awaitWait(t, waits, "an hour from when the clock was set back", func(at time.Time) bool { return at.Before(start.Add(-59 * time.Minute)) })
	shift.Store(int64(-time.Hour + time.Second))
	te.waitCount("periodic", InvocationSuccess, 1)
}

// awaitWait waits up to 10 seconds for a wait on waits that ok accepts.
func awaitWait(t *testing.T, waits <-chan time.Time, what string, ok func(time.Time) bool) {
	t.Helper()
	deadline := time.After(time.Minute) // as waitFor: only a failing test waits it out
	for {
		select {
		case at := <-waits:
			if ok(at) {
				return
			}
		case <-deadline:
			t.Fatalf("timed out waiting for a wait for %s", what)
		}
	}
}

// sleepClock tells waits of over 59 minutes (an automation's) on waits.
type sleepClock struct {
	realClock
	waits chan<- time.Time
}

func (c sleepClock) At(t time.Time) (<-chan time.Time, func()) {
	if t.Sub(c.Now()) > 59*time.Minute {
		select {
		case c.waits <- t:
		default:
		}
	}
	return c.realClock.At(t)
}

// TestMatchTypeAcrossSlashes: event types may hold a slash (Shopify's
// topics: orders/create), and a pattern's * and ? match it as any other
// character, as they match dots.
func TestMatchTypeAcrossSlashes(t *testing.T) {
	tests := []struct {
		pattern, typ string
		want         bool
	}{
		{"ticket.*", "ticket.comment.added", true},
		{"orders/*", "orders/create", true},
		{"orders*", "orders/create", true},
		{"*create", "products/create", true},
		{"app/*", "app/a/b", true},
		{"orders?create", "orders/create", true},
		{"orders[/.]create", "orders/create", true},
		{"orders[/.]create", "orders.create", true},
		{`orders\/create`, "orders/create", true},
		{"orders/*", "products/create", false},
		{"orders?create", "orders//create", false},
		{"*.create", "orders/create", false},
	}
	for _, tt := range tests {
		if got := matchType([]string{tt.pattern}, tt.typ); got != tt.want {
			t.Errorf("matchType(%q, %q) = %v, want %v", tt.pattern, tt.typ, got, tt.want)
		}
	}
}
