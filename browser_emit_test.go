package main

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// The browser tests of what the emitter's API says about deliveries held
// back (the circuit breaker's state, an invocation's waiting) and of the
// replay API's warnings, as the UI shows them.

// browserZone is the time zone the page is put in (as chromium names it)
// and the same zone for Go: without summer time, so a fixed offset.
const browserZone = "Asia/Kolkata"

var browserZoneLoc = time.FixedZone("IST", 5*3600+1800)

// inBrowserZone puts the page in browserZone, so that the local times it
// shows are known whatever the machine's zone.
func inBrowserZone(t *testing.T, p *browserPage) {
	t.Helper()
	if _, err := chromedp.Call(p.ctx, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: browserZone}); err != nil {
		t.Fatalf("set the page's time zone: %v", err)
	}
}

// localClock is t as the UI shows the end of a wait in browserZone: the
// time of day, and the date before it when that is not today.
func localClock(t time.Time) string {
	t, now := t.In(browserZoneLoc), time.Now().In(browserZoneLoc)
	if t.Format(time.DateOnly) == now.Format(time.DateOnly) {
		return t.Format(time.TimeOnly)
	}
	return t.Format(time.DateTime)
}

// refusingEndpoint returns a URL on 127.0.0.1 where nothing listens: a
// port taken and let go, so a delivery there is refused.
func refusingEndpoint(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/hook"
}

// openCircuit makes webhook id (its endpoint refusing, its breaker opening
// on one failure for an hour) fail once, and returns its circuit_until as
// GET /api/webhooks/{id} gives it, once its circuit is open.
func openCircuit(t *testing.T, s *server, id, event string) string {
	t.Helper()
	s.mustPost(t, "/api/events", `{"type":`+jsQuote(event)+`,"data":{}}`, http.StatusAccepted)
	deadline := time.Now().Add(15 * time.Second)
	for {
		var w struct {
			Circuit      string `json:"circuit"`
			CircuitUntil string `json:"circuit_until"`
		}
		s.getJSON(t, "/api/webhooks/"+id, &w)
		if w.Circuit == "open" && w.CircuitUntil != "" {
			return w.CircuitUntil
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook %s: circuit %q until %q after a refused delivery, want open", id, w.Circuit, w.CircuitUntil)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// breakingWebhook is the definition of a webhook whose circuit opens for
// an hour on its first failure.
func breakingWebhook(id, endpoint, events string) string {
	return `{"id":` + jsQuote(id) + `,"endpoint":` + jsQuote(endpoint) + `,"subscriptions":[` + jsQuote(events) + `],"signing":{"scheme":"none"},` +
		`"circuit_breaker":{"failure_rate":0.5,"min_attempts":1,"window":"1m","cooldown":"1h"}}`
}

// testBrowserWebhookCircuitUntil: the webhooks list and a webhook's page
// show its circuit breaker's state, and until when an open circuit holds
// deliveries back, in local time with the API's time whole in a title.
// The list showed no circuit at all, and the page "circuit open" without
// saying until when, so nothing said why deliveries had stopped or when
// they would go again.
func testBrowserWebhookCircuitUntil(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", breakingWebhook("down", refusingEndpoint(t), "down.*"), http.StatusCreated)
	s.mustPost(t, "/api/webhooks", breakingWebhook("calm", refusingEndpoint(t), "calm.*"), http.StatusCreated)
	inBrowserZone(t, p)
	raw := openCircuit(t, s, "down", "down.x")
	until, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		t.Fatalf("circuit_until %q: %v", raw, err)
	}
	want := "circuit open until " + localClock(until)

	type badge struct {
		Text, Title, Class string
	}
	read := func(sel string) badge {
		t.Helper()
		return evalIn[badge](t, p, `(() => {
			const b = document.querySelector(`+jsQuote(sel)+`);
			if (!b) return { Text: 'no badge', Title: '', Class: '' };
			return { Text: b.textContent, Title: b.querySelector('time')?.title ?? 'no time', Class: b.className };
		})()`)
	}
	p.openUI(t, s.UI+"#/webhooks")
	p.waitFor(t, "the webhooks list shows", `document.querySelector('.webhook-row[data-id="calm"]') && document.querySelector('.webhook-row[data-id="down"]')`, 10*time.Second)
	if got := read(`.webhook-row[data-id="down"] .webhook-circuit .badge`); got.Text != want || got.Title != raw || got.Class != "badge circuit-open" {
		p.fatalf(t, "the list's circuit of the failing webhook: %+v, want %q titled %q", got, want, raw)
	}
	if got := read(`.webhook-row[data-id="calm"] .webhook-circuit .badge`); got.Text != "circuit closed" || got.Class != "badge circuit-closed" {
		p.fatalf(t, "the list's circuit of the webhook never invoked: %+v, want circuit closed", got)
	}
	if heads := evalIn[[]string](t, p, `[...document.querySelectorAll('table[aria-label="Webhooks"] thead th')].map((th) => th.textContent)`); len(heads) < 4 || heads[3] != "Circuit" {
		p.fatalf(t, "the webhooks list's columns: %q, want a Circuit column after Status", heads)
	}

	p.openUI(t, s.UI+"#/webhooks/down")
	p.waitFor(t, "the webhook's page shows", `document.querySelector('#webhook-title .badge')`, 10*time.Second)
	if got := read(`#webhook-title .badge`); got.Text != want || got.Title != raw {
		p.fatalf(t, "the webhook's heading shows its circuit as %+v, want %q titled %q", got, want, raw)
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserCircuitUntilPasses: a webhook's page that says "circuit open
// until T" says "circuit half open" once T has passed, with no event to
// draw it again (nothing is queued for the webhook): it would say "open
// until" a time gone by.
func testBrowserCircuitUntilPasses(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	def := strings.Replace(breakingWebhook("brief", refusingEndpoint(t), "brief.*"), `"cooldown":"1h"`, `"cooldown":"6s"`, 1)
	s.mustPost(t, "/api/webhooks", def, http.StatusCreated)
	raw := openCircuit(t, s, "brief", "brief.x")
	p.openUI(t, s.UI+"#/webhooks/brief")
	const badge = `document.querySelector('#webhook-title .badge')?.textContent`
	p.waitFor(t, "the heading shows the circuit open", badge+` !== undefined`, 10*time.Second)
	if got := evalIn[string](t, p, badge); !strings.HasPrefix(got, "circuit open until ") {
		// The page came after the cool-down: what follows would not test the redraw.
		p.fatalf(t, "the heading shows %q, want circuit open until (%s): the page took longer than the 6 s cool-down to show", got, raw)
	}
	p.waitFor(t, "the heading shows the circuit half open once the cool-down is over", badge+` === 'circuit half open'`, 20*time.Second)
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserActivityWaiting: the activity log says, beside an
// invocation's status, what holds it back (the API's waiting): a webhook
// made inactive after its invocation was queued, an open circuit until
// when (local time, the API's time in a title); and so do the
// invocation's details. A held invocation showed a bare pending or
// circuit_broken, as if stuck.
func testBrowserActivityWaiting(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	inBrowserZone(t, p)

	// A retry due in an hour, of a webhook made inactive meanwhile.
	retryWaits(t, s, "paused")
	firstRetryQueued(t, s, "paused")
	if resp, b := s.api(t, http.MethodPatch, "/api/webhooks/paused", strings.NewReader(`{"status":"inactive"}`)); resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH inactive: %d %s", resp.StatusCode, b)
	}

	// An invocation held by the open circuit.
	s.mustPost(t, "/api/webhooks", breakingWebhook("broken", refusingEndpoint(t), "broken.*"), http.StatusCreated)
	raw := openCircuit(t, s, "broken", "broken.x")
	until, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil {
		t.Fatalf("circuit_until %q: %v", raw, err)
	}
	s.mustPost(t, "/api/events", `{"type":"broken.y","data":{}}`, http.StatusAccepted)
	held, waiting, _ := heldInvocation(t, s, "broken", "circuit_broken")

	// The inactive webhook's one invocation, as the API lists it.
	id, _, _ := heldInvocation(t, s, "paused", "pending")
	if got := openActivity(t, p, s, "paused", id); !strings.HasPrefix(got.Row, "pending — the webhook is inactive") || got.Detail != "pending — the webhook is inactive" {
		p.fatalf(t, "the inactive webhook's invocation shows %+v, want pending — the webhook is inactive, in its row and its details", got)
	}

	// waiting names the time to the second; the title is waiting_until,
	// which is circuit_until whole.
	if !strings.HasPrefix(waiting, "the circuit is open until ") {
		t.Fatalf("the held invocation waits: %q, want the circuit is open until T", waiting)
	}
	at := raw
	want := "circuit_broken — the circuit is open until " + localClock(until)
	if got := openActivity(t, p, s, "broken", held); !strings.HasPrefix(got.Row, want) || got.Title != at || got.Detail != want {
		p.fatalf(t, "the invocation held by the circuit shows %+v, want %q (titled %q) in its row and its details", got, want, at)
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// retryWaits makes webhook id, whose receiver answers 500 and whose
// retry comes an hour later, and sends it one event: an invocation that
// will wait for its retry.
func retryWaits(t *testing.T, s *server, id string) {
	t.Helper()
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(receiver.Close)
	s.mustPost(t, "/api/webhooks", `{"id":`+jsQuote(id)+`,"endpoint":`+jsQuote(receiver.URL)+`,"subscriptions":[`+jsQuote(id+".*")+`],"signing":{"scheme":"none"},`+
		`"retry":{"statuses":[500],"max_attempts":3,"initial":"1h","max":"1h"},"circuit_breaker":{"disabled":true}}`, http.StatusCreated)
	s.mustPost(t, "/api/events", `{"type":`+jsQuote(id+".x")+`,"data":{}}`, http.StatusAccepted)
}

// firstRetryQueued waits until webhook's only invocation is pending after
// its first attempt: its retry is queued.
func firstRetryQueued(t *testing.T, s *server, webhook string) {
	t.Helper()
	waitFor(t, func() bool {
		var inv struct {
			Invocations []struct {
				Status   string `json:"status"`
				Attempts int    `json:"attempt_count"`
			} `json:"invocations"`
		}
		s.getJSON(t, "/api/webhooks/"+webhook+"/invocations", &inv)
		return len(inv.Invocations) == 1 && inv.Invocations[0].Attempts == 1 && inv.Invocations[0].Status == "pending"
	}, webhook+"'s only invocation to be pending after its first attempt")
}

// heldInvocation waits until webhook has an invocation of status that
// waits for something, and returns its id, waiting and waiting_until as
// the API gives them.
func heldInvocation(t *testing.T, s *server, webhook, status string) (id, waiting, until string) {
	t.Helper()
	waitFor(t, func() bool {
		var inv struct {
			Invocations []struct {
				ID      string `json:"id"`
				Status  string `json:"status"`
				Waiting string `json:"waiting"`
				Until   string `json:"waiting_until"`
			} `json:"invocations"`
		}
		s.getJSON(t, "/api/webhooks/"+webhook+"/invocations", &inv)
		for _, x := range inv.Invocations {
			if x.Status == status && x.Waiting != "" {
				id, waiting, until = x.ID, x.Waiting, x.Until
				return true
			}
		}
		return false
	}, "an invocation of "+webhook+" that is "+status+" and waits")
	return id, waiting, until
}

// activityShown is what the activity log shows of an invocation: its
// status cell, its details' waiting, and the title of the time in the
// status cell.
type activityShown struct {
	Row, Detail, Title string
}

// openActivity opens webhook's page, opens the details of its invocation
// id, and returns what they show.
func openActivity(t *testing.T, p *browserPage, s *server, webhook, id string) activityShown {
	t.Helper()
	row := `.activity .invocation-row[data-id="` + id + `"]`
	p.openUI(t, s.UI+"#/webhooks/"+webhook)
	p.waitFor(t, "the invocation shows", `document.querySelector(`+jsQuote(row)+`)`, 10*time.Second)
	p.clickNow(t, "open its details", row+` button[aria-label^="Attempts"]`)
	p.waitFor(t, "its details show", `document.querySelector(`+jsQuote(row)+`)?.nextElementSibling?.hidden === false`, 10*time.Second)
	return evalIn[activityShown](t, p, `(() => {
		const r = document.querySelector(`+jsQuote(row)+`);
		const d = r.nextElementSibling;
		return {
			Row: r.children[3].textContent,
			Detail: d.querySelector('.invocation-waiting')?.textContent ?? 'no waiting',
			Title: r.children[3].querySelector('time')?.title ?? '',
		};
	})()`)
}

// testBrowserActivityThrottled: an invocation held back by its webhook's
// rate limit says so in the activity log, in its row and its details,
// with until when in local time (the API's waiting_until in a title): it
// showed a bare throttled.
func testBrowserActivityThrottled(t *testing.T, p *browserPage) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")
	inBrowserZone(t, p)
	s.mustPost(t, "/api/webhooks", `{"id":"limited","endpoint":`+jsQuote(receiver.URL)+`,"subscriptions":["limited.*"],"signing":{"scheme":"none"},"rate_limit":"1/h"}`, http.StatusCreated)
	s.mustPost(t, "/api/events", `[{"type":"limited.x","data":{}},{"type":"limited.x","data":{}}]`, http.StatusAccepted)
	id, waiting, raw := heldInvocation(t, s, "limited", "throttled")
	until, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil || !strings.HasPrefix(waiting, "the rate limit of 1/h is used up until ") {
		t.Fatalf("the throttled invocation waits: %q until %q (%v), want the rate limit of 1/h is used up until T", waiting, raw, err)
	}
	want := "throttled — the rate limit of 1/h is used up until " + localClock(until)
	if got := openActivity(t, p, s, "limited", id); !strings.HasPrefix(got.Row, want) || got.Title != raw || got.Detail != want {
		p.fatalf(t, "the throttled invocation shows %+v, want %q (titled %q) in its row and its details", got, want, raw)
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserActivityRetrying: an invocation waiting for its retry says
// which attempt comes, of how many, and when, in local time (the API's
// waiting_until in a title), in its row and its details: it showed a bare
// pending, and a waiting text with a time but no " until " would show the
// API's RFC 3339 time as it is.
func testBrowserActivityRetrying(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	inBrowserZone(t, p)
	retryWaits(t, s, "later")
	id, waiting, raw := heldInvocation(t, s, "later", "pending")
	until, err := time.Parse(time.RFC3339Nano, raw)
	if err != nil || !strings.HasPrefix(waiting, "retrying: attempt 2 of 3 at ") {
		t.Fatalf("the retried invocation waits: %q until %q (%v), want retrying: attempt 2 of 3 at T", waiting, raw, err)
	}
	want := "pending — retrying: attempt 2 of 3 at " + localClock(until)
	if got := openActivity(t, p, s, "later", id); !strings.HasPrefix(got.Row, want) || got.Title != raw || got.Detail != want {
		p.fatalf(t, "the retried invocation shows %+v, want %q (titled %q) in its row and its details", got, want, raw)
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserReplayWarnings: a replay run's warnings (a strip prefix no
// recorded path starts with, so each path went whole) show on its page
// and beside its state in the list of runs. The API and the command said
// so; the UI showed the run as if nothing were amiss.
func testBrowserReplayWarnings(t *testing.T, p *browserPage) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(target.Close)
	s := startServer(t, "--memory")
	id := browserCapture(t, s.Capture, "/b/warned/orders", `{}`)
	var run struct {
		ID       string   `json:"id"`
		Warnings []string `json:"warnings"`
	}
	body := s.mustPost(t, "/api/replay", `{"ids":[`+jsQuote(id)+`],"target":`+jsQuote(target.URL)+`,"strip_prefix":"/nope"}`, http.StatusAccepted)
	if err := json.Unmarshal(body, &run); err != nil || run.ID == "" || len(run.Warnings) != 1 {
		t.Fatalf("POST /api/replay: %s (%v), want a run with one warning", body, err)
	}
	want := run.Warnings[0]

	p.openUI(t, s.UI+"#/replays/"+run.ID)
	p.waitFor(t, "the run's page shows", `document.querySelector('#replay-title')`, 10*time.Second)
	if got := evalIn[[]string](t, p, `[...document.querySelectorAll('.view-replay .replay-warning')].map((e) => e.textContent)`); len(got) != 1 || got[0] != "Warning: "+want {
		p.fatalf(t, "the run's page shows the warnings %q, want %q", got, "Warning: "+want)
	}
	if c := warnColors(t, p, `.view-replay .replay-warning`); c.Got != c.Want {
		p.fatalf(t, "the run's warning's colours are %q, want the warnings' %q", c.Got, c.Want)
	}

	p.openUI(t, s.UI+"#/replays")
	row := `.run-row[data-run="` + run.ID + `"]`
	p.waitFor(t, "the runs list shows", `document.querySelector(`+jsQuote(row)+`)`, 10*time.Second)
	type badge struct{ Text, Title string }
	if got := evalIn[badge](t, p, `(() => { const b = document.querySelector(`+jsQuote(row+" .replay-warnings")+`); return b ? { Text: b.textContent, Title: b.title } : { Text: 'no badge', Title: '' }; })()`); got.Text != "warning" || got.Title != want {
		p.fatalf(t, "the run's row shows %+v, want a warning badge titled %q", got, want)
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserReplayTargetRedacted: a run to a target given with a secret
// in its query (?api_key=) shows it REDACTED in the list of runs (its
// target) and on the run's page (its results' URLs), as the API gives
// them; both showed the key.
func testBrowserReplayTargetRedacted(t *testing.T, p *browserPage) {
	const secret = "BRTSECRET321"
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(target.Close)
	s := startServer(t, "--memory")
	id := browserCapture(t, s.Capture, "/b/rtb/orders", `{}`)
	var run struct {
		ID string `json:"id"`
	}
	body := s.mustPost(t, "/api/replay", `{"ids":[`+jsQuote(id)+`],"target":`+jsQuote(target.URL+"/?api_key="+secret)+`}`, http.StatusAccepted)
	if err := json.Unmarshal(body, &run); err != nil || run.ID == "" {
		t.Fatalf("POST /api/replay: %s (%v)", body, err)
	}

	p.openUI(t, s.UI+"#/replays/"+run.ID)
	p.waitFor(t, "the run's result shows", `document.querySelector('.view-replay .run-result summary')`, 10*time.Second)
	if got := evalIn[string](t, p, `document.querySelector('.view-replay .run-result summary').textContent`); strings.Contains(got, secret) || !strings.Contains(got, "/orders?api_key=REDACTED") {
		p.fatalf(t, "the run's result reads %q, want its URL with api_key=REDACTED", got)
	}

	p.openUI(t, s.UI+"#/replays")
	row := `.run-row[data-run="` + run.ID + `"]`
	p.waitFor(t, "the runs list shows", `document.querySelector(`+jsQuote(row)+`)`, 10*time.Second)
	if got := evalIn[string](t, p, `document.querySelector(`+jsQuote(row)+`).textContent`); strings.Contains(got, secret) || !strings.Contains(got, target.URL+"/?api_key=REDACTED") {
		p.fatalf(t, "the run's row reads %q, want its target with api_key=REDACTED", got)
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserReplayFormForgetsSecrets: the replay form remembers its last
// target without the secrets in it. It kept the target as typed in
// localStorage, a ?token= value or a user:password@ in clear on disk. Now
// the user info goes, and each query value the server redacts (by its rule,
// with --secret-header's names) is kept empty; the replay itself is sent
// with them, and a target an older hooklab kept is removed.
func testBrowserReplayFormForgetsSecrets(t *testing.T, p *browserPage) {
	const userSecret, tokenSecret, extraSecret, oldSecret = "RFUSER55", "RFTOKEN77", "RFEXTRA99", "RFOLD11"
	got := make(chan string, 1)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.URL.RawQuery:
		default:
		}
	}))
	t.Cleanup(target.Close)
	s := startServer(t, "--memory", "--secret-header", "X-Tenant-Pass")
	id := browserCapture(t, s.Capture, "/b/rform/orders", `{}`)
	p.openExchange(t, s.UI, id)
	p.do(t, "keep a target as an older hooklab did", chromedp.Evaluate[chromedp.Void](`localStorage.setItem('hooklab.replayTarget', 'http://127.0.0.1:1/?token=`+oldSecret+`')`))

	p.do(t, "press r", pressKey("r"))
	p.waitFor(t, "the replay panel opens", `document.activeElement.id === 'replay-target'`, 5*time.Second)
	if v := evalIn[string](t, p, `document.querySelector('#replay-target').value`); v != "" {
		p.fatalf(t, "the form offers %q from an older hooklab's key; want nothing (it held a token)", v)
	}
	host := strings.TrimPrefix(target.URL, "http://")
	typed := "http://me:" + userSecret + "@" + host + "/base?api_key=&token=" + tokenSecret + "&keep=yes&X-Tenant-Pass=" + extraSecret
	p.do(t, "type the target", setInput("#replay-target", typed))
	p.do(t, "replay", chromedp.Click(chromedp.CSS("#replay-send")))
	p.waitFor(t, "the result shows", `(() => { const o = document.querySelector('.replay-result'); return o && o.textContent && o.textContent !== 'Replaying…'; })()`, 15*time.Second)
	select {
	case q := <-got:
		if !strings.Contains(q, "token="+tokenSecret) || !strings.Contains(q, "X-Tenant-Pass="+extraSecret) {
			t.Errorf("the replay reached the target with query %q; want the secrets as typed", q)
		}
	default:
		t.Errorf("the replay did not reach the target")
	}

	stored := evalIn[map[string]string](t, p, `Object.fromEntries(Object.keys(localStorage).map((k) => [k, localStorage.getItem(k)]))`)
	for k, v := range stored {
		for _, secret := range []string{userSecret, tokenSecret, extraSecret, oldSecret} {
			if strings.Contains(v, secret) {
				p.fatalf(t, "localStorage %s holds a secret: %q", k, v)
			}
		}
	}
	if _, ok := stored["hooklab.replayTarget"]; ok {
		p.fatalf(t, "the older hooklab's key is still in localStorage: %v", stored)
	}
	want := "http://" + host + "/base?api_key=&token=&keep=yes&X-Tenant-Pass="
	if v := stored["hooklab.replayTarget.v2"]; v != want {
		p.fatalf(t, "the form keeps %q; want %q", v, want)
	}

	p.do(t, "reload the page", chromedp.Reload()) // what the form offers now comes from localStorage
	p.waitFor(t, "the exchange opens again", `document.querySelector('#detail').dataset.state === 'ready'`, 10*time.Second)
	p.do(t, "press r", pressKey("r"))
	p.waitFor(t, "the replay panel opens again", `document.activeElement.id === 'replay-target'`, 5*time.Second)
	if v := evalIn[string](t, p, `document.querySelector('#replay-target').value`); v != want {
		p.fatalf(t, "the form offers %q; want the remembered %q", v, want)
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
