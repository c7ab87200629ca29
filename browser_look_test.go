package main

// Browser tests of how the UI looks: layout at every width, what a field
// or a folded value shows. TestBrowser runs them.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// testBrowserJSONFoldOneLine: a folded object or array of the JSON body
// viewer shows on one line, with how many members it holds ({…} 3 keys),
// whether the user folded it or it started folded (a large body's nested
// values); its text in the page stays the JSON text. The line break before
// the closing bracket stayed when the members were hidden, so a folded
// node took two lines: "{ … " and "}".
func testBrowserJSONFoldOneLine(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	id := browserCapture(t, s.Capture, "/b/fold/x", `{"ticket":{"id":1,"tags":["a","b"],"via":{"channel":"web"}},"n":2}`)
	p.openExchange(t, s.UI, id)
	const pre = `document.querySelector('#detail [data-part="request"] pre.body-json')`
	p.waitFor(t, "the tree is built", pre+`?.dataset.state === 'ready'`, 5*time.Second)
	before := evalIn[string](t, p, pre+`.textContent`)
	for _, path := range []string{"ticket.tags", "ticket"} {
		p.clickNow(t, "fold "+path, `#detail pre.body-json .j-open[data-path="`+path+`"]`)
		p.waitFor(t, path+" folds", pre+`.querySelector('.j-open[data-path="`+path+`"]').parentElement.classList.contains('folded')`, 5*time.Second)
	}
	if os.Getenv("HOOKLAB_BROWSER_ARTIFACTS") != "" {
		p.do(t, "a tall window", chromedp.EmulateViewport(1280, 1400))
		browserScreenshot(t, p, "json-folded.png")
	}
	type fold struct {
		Lines   int
		Summary string
	}
	// The lines a node takes: its boxes' distinct tops (a span broken over
	// lines has a box a line), and its text's.
	const lines = `(node) => {
		const r = document.createRange();
		r.selectNodeContents(node);
		const tops = [...node.getClientRects(), ...r.getClientRects()].filter((x) => x.height > 0).map((x) => Math.round(x.top));
		return new Set(tops).size;
	}`
	got := evalIn[fold](t, p, `(() => {
		const node = `+pre+`.querySelector('.j-open[data-path="ticket"]').parentElement;
		return { Lines: (`+lines+`)(node), Summary: node.querySelector(':scope > .j-summary')?.dataset.summary ?? '' };
	})()`)
	if got.Lines != 1 || got.Summary != "3 keys" {
		p.fatalf(t, "the folded object takes %d lines, its count reads %q; want 1 line and 3 keys", got.Lines, got.Summary)
	}
	if after := evalIn[string](t, p, pre+`.textContent`); after != before {
		p.fatalf(t, "folding changed the tree's text:\n%s\nwas:\n%s", after, before)
	}
	// Unfolded again, the nested array (still folded) is one line too.
	p.clickNow(t, "unfold ticket", `#detail pre.body-json .j-open[data-path="ticket"]`)
	p.waitFor(t, "ticket unfolds", `!`+pre+`.querySelector('.j-open[data-path="ticket"]').parentElement.classList.contains('folded')`, 5*time.Second)
	got = evalIn[fold](t, p, `(() => {
		const node = `+pre+`.querySelector('.j-open[data-path="ticket.tags"]').parentElement;
		return { Lines: (`+lines+`)(node), Summary: node.querySelector(':scope > .j-summary')?.dataset.summary ?? '' };
	})()`)
	if got.Lines != 1 || got.Summary != "2 items" {
		p.fatalf(t, "the folded array takes %d lines, its count reads %q; want 1 line and 2 items", got.Lines, got.Summary)
	}

	// A large body's nested values start folded, one line each, counted
	// without being built.
	var big strings.Builder
	big.WriteString(`{"meta":{"kind":"bulk"},"items":[`)
	for i := 0; big.Len() < 300<<10; i++ {
		if i > 0 {
			big.WriteByte(',')
		}
		big.WriteString(`{"id":1,"detail":{"a":{"b":1},"c":[1,2,3]}}`)
	}
	big.WriteString(`]}`)
	large := browserCapture(t, s.Capture, "/b/fold/large", big.String())
	p.openExchange(t, s.UI, large)
	p.waitFor(t, "the large tree is built", pre+`?.dataset.state === 'ready'`, 20*time.Second)
	got = evalIn[fold](t, p, `(() => {
		const node = `+pre+`.querySelector('.j-node.folded[data-lazy]');
		return node ? { Lines: (`+lines+`)(node), Summary: node.querySelector(':scope > .j-summary')?.dataset.summary ?? '' } : { Lines: -1 };
	})()`)
	if got.Lines != 1 || got.Summary != "2 keys" {
		p.fatalf(t, "a large body's first folded value takes %d lines, its count reads %q; want 1 line and 2 keys", got.Lines, got.Summary)
	}
}

// testBrowserConfigWebhookNoExamples: the fields of a webhook defined in
// the config file are disabled, and an empty one shows nothing: no
// placeholder, whose example (https://127.0.0.1:3000/hooks, ticket.*,
// user.created, X-Team: support) read, greyed like the rest, as that
// webhook's own headers and subscriptions. The form of a new webhook,
// whose fields are editable, keeps its examples.
func testBrowserConfigWebhookNoExamples(t *testing.T, p *browserPage) {
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	yaml := "webhooks:\n  - id: bare\n    endpoint: https://127.0.0.1:9/hooks\n" +
		"  - id: keyed\n    endpoint: https://127.0.0.1:9/keyed\n    authentication: {type: api_key, name: X-Api-Key, value: s3cret}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	type field struct{ ID, Placeholder string }
	const examples = `[...document.querySelectorAll('#webhook-form input, #webhook-form textarea')]
		.filter((e) => e.offsetParent !== null && e.disabled && e.placeholder).map((e) => ({ ID: e.id, Placeholder: e.placeholder }))`
	for _, id := range []string{"bare", "keyed"} {
		p.openUI(t, s.UI+"#/webhooks/"+id)
		p.waitFor(t, id+"'s form shows", `document.querySelector('#wh-id')?.value === `+jsQuote(id), 5*time.Second)
		browserScreenshot(t, p, "webhook-config-"+id+".png")
		if n := evalIn[int](t, p, `document.querySelectorAll('#webhook-form input:disabled, #webhook-form textarea:disabled').length`); n < 5 {
			p.fatalf(t, "%s: %d disabled fields, want the config webhook's form disabled", id, n)
		}
		if got := evalIn[[]field](t, p, examples); len(got) > 0 {
			p.fatalf(t, "%s: disabled fields show examples: %+v", id, got)
		}
	}
	p.openUI(t, s.UI+"#/webhooks/new")
	p.waitFor(t, "the new webhook's form shows", `document.querySelector('#wh-endpoint')`, 5*time.Second)
	if got := evalIn[string](t, p, `document.querySelector('#wh-subscriptions').placeholder`); got == "" {
		p.fatalf(t, "the new webhook's subscriptions show no example")
	}
}

// testBrowserNarrowTablesScroll: in a window 700 px wide or less, a table
// wider than the view (the replay runs' eight columns, a webhook's
// activity log) scrolls sideways in a box of its own, and the page and
// the view around it do not: the whole view scrolled sideways, its
// headings, buttons and forms with it.
func testBrowserNarrowTablesScroll(t *testing.T, p *browserPage) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(receiver.Close)
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	yaml := "mocks:\n  - name: created\n    match: {bin: narrow, path: /created}\n    respond: {status: 201}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	id := browserCapture(t, s.Capture, "/b/narrow/orders", `{"n":1}`)
	s.mustPost(t, "/api/webhooks", `{"id":"narrow","endpoint":`+jsQuote(receiver.URL+"/hooks")+`,"subscriptions":["order.*"]}`, http.StatusCreated)
	s.mustPost(t, "/api/events", `{"type":"order.created","data":{"n":1}}`, http.StatusAccepted)
	waitInvocations(t, s, "narrow", 1)
	var run struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(s.mustPost(t, "/api/replay", `{"ids":[`+jsQuote(id)+`],"target":`+jsQuote(receiver.URL)+`}`, http.StatusAccepted), &run); err != nil || run.ID == "" {
		t.Fatalf("POST /api/replay: %v, run %+v", err, run)
	}

	type measure struct {
		Page, View    []float64 // scrollWidth, clientWidth
		Tables        int
		Wide, Unboxed []string // tables wider than the view; those with no scroll box of their own
		Scrolls       []string // tables whose box scrolls
	}
	const measureJS = `(() => {
		const v = document.querySelector('#view-other');
		const tables = [...v.querySelectorAll('table')].filter((t) => t.offsetParent !== null);
		const box = (t) => {
			for (let e = t.parentElement; e && e !== v; e = e.parentElement) {
				if (['auto', 'scroll'].includes(getComputedStyle(e).overflowX)) return e;
			}
			return null;
		};
		const name = (t) => t.getAttribute('aria-label') || t.className;
		return {
			Page: [document.scrollingElement.scrollWidth, innerWidth],
			View: [v.scrollWidth, v.clientWidth],
			Tables: tables.length,
			Wide: tables.filter((t) => t.offsetWidth > v.clientWidth).map(name),
			Unboxed: tables.filter((t) => !box(t)).map(name),
			Scrolls: tables.filter((t) => box(t) && box(t).scrollWidth > box(t).clientWidth).map(name),
		};
	})()`
	views := []struct{ hash, ready string }{
		{"#/bins", `.bin-row`},
		{"#/rules", `.rule-row`},
		{"#/webhooks", `.webhook-row .webhook-rate:not(:empty)`},
		{"#/webhooks/narrow", `.activity .invocation-row`},
		{"#/replays", `.run-row[data-state="done"]`},
		{"#/replays/" + run.ID, `.run-result table`},
	}
	scrolled := map[string]bool{}
	for _, w := range []int64{390, 700} {
		p.do(t, fmt.Sprintf("%dx800", w), chromedp.EmulateViewport(w, 800))
		for _, v := range views {
			p.openUI(t, s.UI+v.hash)
			p.waitFor(t, v.hash+" shows", `document.querySelector(`+jsQuote(v.ready)+`)`, 10*time.Second)
			browserScreenshot(t, p, fmt.Sprintf("narrow-%d-%s.png", w, strings.NewReplacer("#/", "", "/", "-", run.ID, "run").Replace(v.hash)))
			m := evalIn[measure](t, p, measureJS)
			if m.Page[0] > m.Page[1] || m.View[0] > m.View[1] || len(m.Unboxed) > 0 || m.Tables == 0 {
				p.fatalf(t, "at %d px %s: the page is %v px wide in %v, the view %v in %v; tables without a box of their own: %q (of %d)",
					w, v.hash, m.Page[0], m.Page[1], m.View[0], m.View[1], m.Unboxed, m.Tables)
			}
			for _, name := range m.Wide {
				if !slices.Contains(m.Scrolls, name) {
					p.fatalf(t, "at %d px %s: the table %q is wider than the view and its box does not scroll: %+v", w, v.hash, name, m)
				}
			}
			for _, name := range m.Scrolls {
				scrolled[name] = true
			}
			// Scrolled sideways, the box moves and the view does not.
			moved := evalIn[[]float64](t, p, `(() => {
				const v = document.querySelector('#view-other');
				const t = [...v.querySelectorAll('table')].find((t) => t.parentElement.scrollWidth > t.parentElement.clientWidth);
				if (!t) return [0, 0];
				t.parentElement.scrollLeft = 10000;
				return [t.parentElement.scrollLeft, v.scrollLeft + document.scrollingElement.scrollLeft];
			})()`)
			if len(m.Scrolls) > 0 && (moved[0] == 0 || moved[1] != 0) {
				p.fatalf(t, "at %d px %s: scrolled sideways, the table's box moved %v px and the view %v", w, v.hash, moved[0], moved[1])
			}
		}
	}
	// The traffic view's detail, over the list in a narrow window: its
	// tables (headers, the replay's differences) fit it.
	for _, w := range []int64{390, 700} {
		p.do(t, fmt.Sprintf("%dx800", w), chromedp.EmulateViewport(w, 800))
		p.openExchange(t, s.UI, id)
		got := evalIn[[]float64](t, p, `[document.scrollingElement.scrollWidth, innerWidth, document.querySelector('#detail').scrollWidth, document.querySelector('#detail').clientWidth]`)
		if got[0] > got[1] || got[2] > got[3] {
			p.fatalf(t, "at %d px an exchange's detail: the page is %v px wide in %v, the pane %v in %v", w, got[0], got[1], got[2], got[3])
		}
	}
	// Not a test that cannot fail: at 390 px these are wider than the window.
	if !scrolled["Replay runs"] || !scrolled["Activity log"] {
		p.fatalf(t, "the tables that scrolled sideways: %v; want the replay runs and the activity log at 390 px", scrolled)
	}
}

// testBrowserRulesShowConnections: the Rules view shows the config's
// triggers, automations and top-level subscriptions beside its mock
// rules, read-only, where each is defined and which webhook it reaches,
// with secrets redacted; a webhook's form says which of them reach it.
// The view showed mocks and verify rules alone, and a config webhook
// connected by a subscription looked connected to nothing.
func testBrowserRulesShowConnections(t *testing.T, p *browserPage) {
	const token = "PLANTEDuiconn-5e1d"
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	yaml := `webhooks:
  - {id: stream, endpoint: "http://127.0.0.1:9/stream"}
  - {id: digest, endpoint: "http://127.0.0.1:9/digest"}
subscriptions:
  - {webhook: stream, events: [ticket.created, ticket.updated]}
triggers:
  - name: urgent-ticket
    when: {event: ticket.*, all: [{path: ticket.priority, op: eq, value: urgent}]}
    notify: {webhook: digest, payload: '{"id": "{{ticket.id}}", "key": "${TOKEN}"}'}
automations:
  - name: hourly-digest
    every: 1h
    data: {open: 3, api_token: literal-secret}
    notify: {webhook: digest}
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServerEnv(t, map[string]string{"TOKEN": token}, "--memory", "--config", cfg)
	p.openUI(t, s.UI+"#/rules")
	p.waitFor(t, "the connections show", `document.querySelector('.subscription-row')`, 5*time.Second)
	rows := evalIn[[][]string](t, p, `[...document.querySelectorAll('.trigger-row, .automation-row, .subscription-row')]
		.map((tr) => [...tr.cells].map((c) => c.textContent))`)
	want := [][]string{
		{"urgent-ticket", "ticket.*", "digest", cfg + ":7"},
		{"hourly-digest", "1h", "digest", cfg + ":11"},
		{"stream", "ticket.created, ticket.updated", cfg + ":5"},
	}
	if !slices.EqualFunc(rows, want, slices.Equal[[]string]) {
		p.fatalf(t, "the Rules view's connections:\n%q\nwant\n%q", rows, want)
	}
	p.do(t, "unfold the definitions", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll('.connection-details').forEach((d) => d.open = true)`))
	browserScreenshot(t, p, "rules-connections.png")
	text := evalIn[string](t, p, `document.querySelector('#view-other').innerText`)
	if strings.Contains(text, token) || strings.Contains(text, "literal-secret") {
		p.fatalf(t, "the Rules view shows a secret:\n%s", text)
	}
	if !strings.Contains(text, "${TOKEN}") || !strings.Contains(text, "REDACTED") || !strings.Contains(text, "urgent") {
		p.fatalf(t, "the Rules view's definitions do not show the conditions and payloads, redacted:\n%s", text)
	}

	p.openUI(t, s.UI+"#/webhooks/stream")
	p.waitFor(t, "stream's form shows", `document.querySelector('#wh-id')?.value === 'stream'`, 5*time.Second)
	browserScreenshot(t, p, "webhook-connections.png")
	if got := evalIn[string](t, p, `document.querySelector('#wh-connections')?.textContent ?? ''`); !strings.Contains(got, "subscribed to ticket.created, ticket.updated at "+cfg+":5") {
		p.fatalf(t, "stream's form says %q of its subscription in the config", got)
	}
	p.openUI(t, s.UI+"#/webhooks/digest")
	p.waitFor(t, "digest's form shows", `document.querySelector('#wh-id')?.value === 'digest'`, 5*time.Second)
	if got := evalIn[string](t, p, `document.querySelector('#wh-connections')?.textContent ?? ''`); !strings.Contains(got, "notified by trigger urgent-ticket") || !strings.Contains(got, "notified by automation hourly-digest") {
		p.fatalf(t, "digest's form says %q of what notifies it", got)
	}
}

// testBrowserDetailCloseInCorner: the detail's close button stays in the
// head's top right corner at every width. The head wraps its actions when
// the pane is narrow, and the button, last in the row, went down alone to
// a line of its own at the left (in half of a 1,400px window).
func testBrowserDetailCloseInCorner(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	id := browserCapture(t, s.Capture, "/b/corner/hooks/zendesk", `{"n":1}`)
	t.Cleanup(func() { chromedp.Run(p.ctx, chromedp.EmulateViewport(1280, 900)) })
	for _, w := range []int64{1400, 1000, 700, 390} {
		p.do(t, fmt.Sprintf("%dx800", w), chromedp.EmulateViewport(w, 800))
		p.openExchange(t, s.UI, id)
		type corner struct{ Top, Right, HeadTop, HeadRight, TitleTop float64 }
		got := evalIn[corner](t, p, `(() => {
			const c = document.querySelector('#detail .detail-head .close').getBoundingClientRect();
			const h = document.querySelector('#detail .detail-head').getBoundingClientRect();
			const title = document.querySelector('#detail .detail-title').getBoundingClientRect();
			return { Top: c.top, Right: c.right, HeadTop: h.top, HeadRight: h.right, TitleTop: title.top };
		})()`)
		if got.Top-got.HeadTop > 16 || got.HeadRight-got.Right > 24 {
			browserScreenshot(t, p, fmt.Sprintf("detail-close-%d.png", w))
			p.fatalf(t, "at %dpx the close button is at %+v; want it in the head's top right corner", w, got)
		}
	}
}
