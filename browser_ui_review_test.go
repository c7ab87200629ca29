package main

// Browser tests from a UI review: a developer's look at every view, run by
// TestBrowser.

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// testBrowserReplayTextDiffSideBySide: a replayed text body that differs
// from the recorded one shows its line diff in the side-by-side layout, the
// one a run's page opens in. The API gives such a change as a unified diff
// with no old and new values, and the side-by-side table drew the Recorded
// and Replayed cells from those alone: two empty boxes beside "body
// changed", the difference itself only under Unified.
func testBrowserReplayTextDiffSideBySide(t *testing.T, p *browserPage) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, "first line\nthe line the new build changed\n")
	}))
	t.Cleanup(target.Close)
	s := startServer(t, "--memory")
	id := browserCapture(t, s.Capture, "/b/textdiff/report", `{}`)
	var run struct {
		ID string `json:"id"`
	}
	body := s.mustPost(t, "/api/replay", `{"ids":[`+jsQuote(id)+`],"target":`+jsQuote(target.URL)+`}`, http.StatusAccepted)
	if err := json.Unmarshal(body, &run); err != nil || run.ID == "" {
		t.Fatalf("POST /api/replay: %s (%v)", body, err)
	}
	p.openUI(t, s.UI+"#/replays/"+run.ID)
	p.waitFor(t, "the run is done", `document.querySelector('.view-replay p')?.textContent.startsWith('done')`, 10*time.Second)
	row := `.run-result .diff-row[data-path="body"]`
	p.waitFor(t, "the body's change shows", `document.querySelector(`+jsQuote(row)+`)`, 10*time.Second)
	if mode := evalIn[string](t, p, `document.querySelector('.segmented[aria-label="Diff layout"] [aria-pressed="true"]')?.textContent ?? ''`); mode != "Side by side" {
		p.fatalf(t, "the run's page opens in %q, want Side by side", mode)
	}
	got := evalIn[string](t, p, `document.querySelector(`+jsQuote(row)+`).innerText`)
	for _, want := range []string{"+the line the new build changed", `-{"ok":true`} {
		if !strings.Contains(got, want) {
			p.fatalf(t, "side by side, the body's change reads %q; want it to show %q", got, want)
		}
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserWebhookSecretsMasked: every secret of a webhook's
// authentication is a masked input, the api_key's value as the basic_auth
// password and the bearer token are: the key was a plain text box, so the
// key being typed (or pasted) showed on screen, and a saved one showed as
// the word REDACTED where the others show dots.
func testBrowserWebhookSecretsMasked(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id":"keyed","endpoint":"https://127.0.0.1:9/hooks","authentication":{"type":"api_key","name":"X-Api-Key","value":"k-very-secret"}}`, http.StatusCreated)
	authSel := `[id="wh-authentication.type"]`
	check := func(what string) {
		for typ, secret := range map[string]string{"api_key": "value", "basic_auth": "password", "bearer_token": "token"} {
			p.do(t, what+": choose "+typ, setInput(authSel, typ))
			sel := `[id="wh-authentication.` + secret + `"]`
			if got := evalIn[string](t, p, `document.querySelector(`+jsQuote(sel)+`)?.type ?? 'no field'`); got != "password" {
				p.fatalf(t, "%s: %s's %s is an input of type %q, which shows the secret; want a masked one (password)", what, typ, secret, got)
			}
		}
	}
	p.openUI(t, s.UI+"#/webhooks/keyed")
	p.waitFor(t, "the saved webhook's form shows its key", `document.querySelector('[id="wh-authentication.value"]')?.value === 'REDACTED'`, 5*time.Second)
	check("a saved webhook")
	p.openUI(t, s.UI+"#/webhooks/new")
	p.waitFor(t, "the new webhook's form shows", `document.querySelector('#wh-endpoint')`, 5*time.Second)
	check("a new webhook")
}

// testBrowserBinNameRefusedSaysWhy: a bin name the server refuses is
// answered with what is wrong with it and what is allowed, under the form.
// The name box's own pattern stopped the form first, and the browser's
// bubble said only "Please match the requested format.", naming no format.
func testBrowserBinNameRefusedSaysWhy(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI+"#/bins")
	p.waitFor(t, "the bins view shows", `document.querySelector('#bin-name')`, 5*time.Second)
	p.do(t, "type a name with a space", setInput("#bin-name", "bad name!"))
	p.clickNow(t, "create the bin", `.view-bins button[type="submit"]`)
	p.waitFor(t, "the page says why the name is refused",
		`(document.querySelector('#bin-created')?.textContent ?? '').includes("has ' ' at position 4") && document.querySelector('#bin-created').textContent.includes('allowed: A-Z a-z 0-9 _ -')`, 5*time.Second)
	if v := evalIn[string](t, p, `document.querySelector('#bin-name').value`); v != "bad name!" {
		p.fatalf(t, "the name box holds %q after the refusal, want the name typed kept to fix", v)
	}
}

// testBrowserWebhookHeaderLines: a custom headers line the API's object
// cannot hold as written is refused in the form, naming its line, as the
// user types and on Create, beside the API's errors of other fields: a
// line without a colon went out as a header of that name with no value,
// and a name on two lines (in either case) kept one of its values, each
// saved without a word.
func testBrowserWebhookHeaderLines(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI+"#/webhooks/new")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')`, 5*time.Second)
	headerError := `(document.querySelector('[data-field="custom_headers"] .field-error')?.textContent ?? '')`
	for _, tc := range []struct{ name, headers, want string }{
		{"no colon", "X-Team: support\nX-Trace abc", "line 2 (X-Trace abc) has no colon"},
		{"a name twice", "X-Tag: a\nX-Team: support\nx-tag: b", "line 3 names x-tag again (line 1)"},
	} {
		p.do(t, tc.name+": fill the form", setInput("#wh-id", "lines"), setInput("#wh-endpoint", "https://127.0.0.1:9/hooks"),
			setInput("#wh-custom_headers", tc.headers))
		p.waitFor(t, tc.name+": the headers box says which line", headerError+`.includes(`+jsQuote(tc.want)+`)`, 5*time.Second)
		p.clickNow(t, tc.name+": create", "#wh-save")
		p.waitFor(t, tc.name+": Create says it too", headerError+`.includes(`+jsQuote(tc.want)+`) && !document.querySelector('#webhook-form').dataset.saving`, 5*time.Second)
		// The API's errors of other fields show beside it.
		p.do(t, tc.name+": an id the API refuses", setInput("#wh-id", "bad id!"))
		p.waitFor(t, tc.name+": the id's error and the line's show at once", `(document.querySelector('[data-field="id"] .field-error')?.textContent ?? '').includes("has ' ' at position 4") && `+headerError+`.includes(`+jsQuote(tc.want)+`)`, 5*time.Second)
		p.clickNow(t, tc.name+": create again", "#wh-save")
		p.waitFor(t, tc.name+": Create shows both", `document.querySelector('#webhook-form').dataset.validation === 'invalid' && (document.querySelector('[data-field="id"] .field-error')?.textContent ?? '').includes("has ' ' at position 4") && `+headerError+`.includes(`+jsQuote(tc.want)+`)`, 5*time.Second)
		if h := evalIn[string](t, p, `location.hash`); h != "#/webhooks/new" {
			p.fatalf(t, "%s: the form went on to %s", tc.name, h)
		}
		if _, body := s.api(t, http.MethodGet, "/api/webhooks/lines", nil); !strings.Contains(string(body), "not found") {
			p.fatalf(t, "%s: a webhook was saved: %s", tc.name, body)
		}
	}
	p.do(t, "a header with an empty value", setInput("#wh-id", "lines"), setInput("#wh-custom_headers", "X-Team: support\nX-Empty:"))
	p.waitFor(t, "the headers box has nothing to say", `document.querySelector('#webhook-form').dataset.validation === 'ok' && `+headerError+` === ''`, 5*time.Second)
	p.clickNow(t, "create", "#wh-save")
	p.waitFor(t, "the saved webhook opens", `location.hash === '#/webhooks/lines'`, 5*time.Second)
	if _, body := s.api(t, http.MethodGet, "/api/webhooks/lines", nil); !strings.Contains(string(body), `"custom_headers":{"X-Empty":"","X-Team":"support"}`) {
		p.fatalf(t, "the saved webhook: %s", body)
	}
}

// testBrowserShortcutsDialogFits: the keyboard shortcuts dialog is as wide
// as its list needs, each key beside what it does. Its table's fixed layout
// at 100% made the dialog take the whole window: in a 1,280 px window the
// keys sat at its left edge and their meanings 600 px away at its middle.
func testBrowserShortcutsDialogFits(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI)
	for _, width := range []int64{1280, 390} {
		p.do(t, "size the window", chromedp.EmulateViewport(width, 800))
		p.do(t, "press ?", pressKey("?"))
		p.waitFor(t, "the shortcuts dialog opens", `document.querySelector('#shortcuts').open`, 5*time.Second)
		type box struct{ Dialog, Gap, Right, View float64 }
		got := evalIn[box](t, p, `(() => {
			const d = document.querySelector('#shortcuts').getBoundingClientRect();
			const row = document.querySelector('#shortcuts tr');
			const key = row.querySelector('kbd:last-of-type').getBoundingClientRect();
			const what = document.createRange();
			what.selectNodeContents(row.cells[1]);
			return { Dialog: d.width, Gap: what.getBoundingClientRect().left - key.right, Right: d.right, View: document.documentElement.clientWidth };
		})()`)
		if got.Dialog > 640 || got.Gap > 200 || got.Right > got.View {
			p.fatalf(t, "at %d px the shortcuts dialog is %.0f px wide, its first key %.0f px from what it does, its right edge at %.0f of %.0f; want at most 640, 200 and within the window", width, got.Dialog, got.Gap, got.Right, got.View)
		}
		p.do(t, "press Escape", pressKey("\x1b"))
		p.waitFor(t, "the dialog closes", `!document.querySelector('#shortcuts').open`, 5*time.Second)
	}
}

// testBrowserMultipartNarrow: in a 390 px window the multipart parts table
// keeps each part's Download link on one line, within the pane. Its five
// columns were of equal width (the key-value tables' fixed layout), so the
// link broke mid-word ("Downl" over "oad") while the type beside it took
// three lines.
func testBrowserMultipartNarrow(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	body := "--XX\r\nContent-Disposition: form-data; name=\"field\"\r\n\r\nvalue\r\n" +
		"--XX\r\nContent-Disposition: form-data; name=\"blob\"; filename=\"bin.dat\"\r\nContent-Type: application/octet-stream\r\n\r\nabc\r\n--XX--\r\n"
	id := browserCapture(t, s.Capture, "/b/narrow/upload", body, "Content-Type", "multipart/form-data; boundary=XX")
	p.do(t, "a phone's width", chromedp.EmulateViewport(390, 900))
	p.openUI(t, s.UI+"#/exchanges/"+id)
	p.waitFor(t, "the parts show", `document.querySelectorAll('#detail table.body-multipart tbody tr').length === 2`, 5*time.Second)
	type link struct {
		Lines        int
		Right, Table float64
	}
	got := evalIn[[]link](t, p, `[...document.querySelectorAll('#detail table.body-multipart tbody a')].map((a) => {
		const r = document.createRange();
		r.selectNodeContents(a);
		const lines = new Set([...r.getClientRects()].map((q) => Math.round(q.top))).size;
		return { Lines: lines, Right: a.getBoundingClientRect().right, Table: a.closest('table').parentElement.getBoundingClientRect().right };
	})`)
	if len(got) != 2 {
		p.fatalf(t, "%d Download links, want 2", len(got))
	}
	for i, l := range got {
		if l.Lines != 1 || l.Right > l.Table+0.5 {
			p.fatalf(t, "at 390 px part %d's Download takes %d lines and ends at %.0f px, its box at %.0f; want one line within it", i+1, l.Lines, l.Right, l.Table)
		}
	}
}

// testBrowserEmitLinksWebhook: an exchange a webhook sent names that
// webhook beside its invocation, as a link to the webhook's page (its form
// and activity log, where the invocation can be retried). The pane showed
// the invocation's id as bare text and the webhook's id only as a detail,
// so from a failed delivery in Traffic nothing led to the webhook.
func testBrowserEmitLinksWebhook(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id":"linked","endpoint":`+jsQuote(s.Capture+"/b/inbox/hook")+`,"subscriptions":["ticket.created"]}`, http.StatusCreated)
	s.mustPost(t, "/api/events", `{"type":"ticket.created","data":{"ticket":{"id":1}}}`, http.StatusAccepted)
	r, b := s.api(t, http.MethodGet, "/api/exchanges/wait?source=emit&after=00000000000000000000000000&timeout=10s", nil)
	var x struct {
		ID           string `json:"id"`
		InvocationID string `json:"invocation_id"`
	}
	if err := json.Unmarshal(b, &x); err != nil || r.StatusCode != http.StatusOK || x.InvocationID == "" {
		t.Fatalf("wait for the delivery: %d %s (%v)", r.StatusCode, b, err)
	}
	p.openExchange(t, s.UI, x.ID)
	link := `#detail .overview a[href="#/webhooks/linked"]`
	if got := evalIn[string](t, p, `document.querySelector(`+jsQuote(link)+`)?.textContent ?? ''`); got != "linked" {
		p.fatalf(t, "the delivery's overview has no link to webhook linked (found %q): %s", got, evalIn[string](t, p, `document.querySelector('#detail .overview').innerText`))
	}
	p.clickNow(t, "follow the link", link)
	p.waitFor(t, "the webhook's page shows its activity", `location.hash === '#/webhooks/linked' && document.querySelector('.view-webhook tr[data-id=`+jsQuote(x.InvocationID)+`]')`, 10*time.Second)
}

// testBrowserWebhookTestErrorsByField: a new webhook's test send that the
// API refuses for a field of the definition (webhook.endpoint: endpoint is
// required) marks that field, as saving does. The test's API names the
// fields under webhook., which the form did not look for: the message went
// to the foot of the form, away from the empty Endpoint, which stayed
// unmarked.
func testBrowserWebhookTestErrorsByField(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI+"#/webhooks/new")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')`, 5*time.Second)
	p.clickNow(t, "send a test with no endpoint", "#wh-test-send")
	p.waitFor(t, "the test says why it was not sent", `(document.querySelector('#wh-test-result .error')?.textContent ?? '').includes('endpoint is required')`, 5*time.Second)
	type state struct {
		Field, Invalid string
		Loose          bool
	}
	got := evalIn[state](t, p, `({
		Field: document.querySelector('[data-field="endpoint"] .field-error')?.textContent ?? '',
		Invalid: document.querySelector('#wh-endpoint').getAttribute('aria-invalid') ?? '',
		Loose: !document.querySelector('#wh-form-error').hidden,
	})`)
	if !strings.Contains(got.Field, "endpoint is required") || got.Invalid != "true" || got.Loose {
		p.fatalf(t, "after the refused test the Endpoint says %q (aria-invalid %q), and the form's foot shows an error: %v; want the message by the field, marked, and none at the foot", got.Field, got.Invalid, got.Loose)
	}
}

// testBrowserEmptyBinSaysBin: the traffic list filtered to a bin that has
// nothing says so, naming the bin, and its example sends to that bin, so
// that what it sends shows in this list. It said "No exchanges yet." over
// a store full of other bins' exchanges, with an example sending to bin
// demo, which the filter then hid.
func testBrowserEmptyBinSaysBin(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	browserCapture(t, s.Capture, "/b/other/hook", `{}`)
	for _, tc := range []struct{ bin, title, url string }{
		{"quiet", "No exchanges in bin quiet yet.", strings.TrimSuffix(s.Capture, "/") + "/b/quiet/"},
		{"", "No exchanges yet.", strings.TrimSuffix(s.Capture, "/") + "/b/demo/"},
	} {
		page := s.UI + "?bin=" + tc.bin + "#/"
		if tc.bin == "" {
			// An empty store, for the unfiltered list.
			s2 := startServer(t, "--memory")
			page = s2.UI + "#/"
			tc.url = strings.TrimSuffix(s2.Capture, "/") + "/b/demo/"
		}
		p.openUI(t, page)
		p.waitFor(t, "the empty list shows", `!document.querySelector('#empty').hidden && (document.querySelector('#new-bin-offer .empty-example')?.textContent ?? '').includes('127.0.0.1:`+urlPort(t, tc.url)+`')`, 5*time.Second)
		type empty struct{ Title, Example string }
		got := evalIn[empty](t, p, `({ Title: document.querySelector('#empty .empty-title').textContent, Example: document.querySelector('#new-bin-offer .empty-example').textContent })`)
		if got.Title != tc.title || !strings.HasSuffix(got.Example, " "+tc.url) {
			p.fatalf(t, "bin %q: the empty list says %q with the example %q; want %q and an example sending to %s", tc.bin, got.Title, got.Example, tc.title, tc.url)
		}
	}
}

// urlPort is the port of the URL u.
func urlPort(t *testing.T, u string) string {
	t.Helper()
	pu, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return pu.Port()
}
