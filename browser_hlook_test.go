package main

// Browser tests from a look at every view at two widths and in both
// colour schemes. TestBrowser runs them.

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// testBrowserWebhookAuthLabels: the login details of a webhook's
// authentication are labelled as the fields around them are, capitalised
// words (Username, Password, Token, Header name, Value): they read
// "username", "token", "name" and "value", the API's keys, under "Name" and
// "Endpoint".
func testBrowserWebhookAuthLabels(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI+"#/webhooks/new")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')`, 5*time.Second)
	for auth, want := range map[string][]string{
		"api_key":      {"Header name", "Value"},
		"basic_auth":   {"Username", "Password"},
		"bearer_token": {"Token"},
	} {
		p.do(t, "authentication "+auth, setInput(`select[name="authentication.type"]`, auth))
		got := evalIn[[]string](t, p, `[...document.querySelectorAll('#webhook-form .auth-fields label')].map((l) => l.textContent)`)
		if !slices.Equal(got, want) {
			p.fatalf(t, "authentication %s: the login fields are labelled %q, want %q", auth, got, want)
		}
	}
}

// testBrowserWebhookTestResultColours: a test send's result shows its
// outcome word in the outcome's colour (success green, server_error red)
// and what it holds, "Request sent", the request and the answer, in the
// page's: a success coloured the whole block green, its headings and
// code too, and a server error left even the outcome word plain.
func testBrowserWebhookTestResultColours(t *testing.T, p *browserPage) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/fail") {
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")
	type colours struct{ Outcome, Word, Heading, Request, Page, Want string }
	for _, tc := range []struct{ path, outcome, want string }{
		{"/ok", "success", "--s2"},
		{"/fail", "server_error", "--s5"},
	} {
		id := strings.TrimPrefix(tc.path, "/")
		s.mustPost(t, "/api/webhooks", `{"id":`+jsQuote(id)+`,"endpoint":`+jsQuote(receiver.URL+tc.path)+`}`, http.StatusCreated)
		p.openUI(t, s.UI+"#/webhooks/"+id)
		p.waitFor(t, "the form shows", `document.querySelector('#webhook-form')?.dataset.keep === 'webhooks/`+id+`'`, 10*time.Second)
		p.clickNow(t, "test send", "#wh-test-send")
		p.waitFor(t, "the test send shows its result", `document.querySelector('#wh-test-result .test-result')`, 10*time.Second)
		got := evalIn[colours](t, p, `(() => {
			const r = document.querySelector('#wh-test-result .test-result');
			const colour = (v) => { const e = document.createElement('span'); e.style.color = v; document.body.append(e); const c = getComputedStyle(e).color; e.remove(); return c; };
			return {
				Outcome: r.querySelector('.test-outcome').textContent,
				Word: getComputedStyle(r.querySelector('.test-outcome')).color,
				Heading: getComputedStyle(r.querySelector('h4')).color,
				Request: getComputedStyle(r.querySelector('pre.test-request')).color,
				Page: colour('var(--fg)'),
				Want: colour('var(`+tc.want+`)'),
			};
		})()`)
		if got.Outcome != tc.outcome {
			p.fatalf(t, "%s: the outcome reads %q, want %q", id, got.Outcome, tc.outcome)
		}
		if got.Word != got.Want || got.Heading != got.Page || got.Request != got.Page {
			p.fatalf(t, "%s: the outcome word is %s (want %s), Request sent %s and the request %s (want the page's %s)", id, got.Word, got.Want, got.Heading, got.Request, got.Page)
		}
	}
}

// testBrowserDetailActionsWrapWhole: at a phone's width (390 px) the open
// exchange's action buttons (Copy curl, Replay, Edit & resend, Raw, HAR,
// Delete) each keep their label on one line, inside the pane, going to a
// second row as they need: squeezed on one row, "Copy curl" and "Edit &
// resend" broke over two lines inside their buttons.
func testBrowserDetailActionsWrapWhole(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	id := browserCapture(t, s.Capture, "/b/narrow/x", `{"a":1}`)
	p.do(t, "a phone's width", chromedp.EmulateViewport(390, 900))
	p.openExchange(t, s.UI, id)
	type button struct {
		Label       string
		Lines       int
		Right, Pane float64
	}
	got := evalIn[[]button](t, p, `[...document.querySelectorAll('#detail .detail-actions > *')].filter((b) => b.getClientRects().length).map((b) => {
		const r = document.createRange();
		r.selectNodeContents(b);
		return {
			Label: b.textContent,
			Lines: new Set([...r.getClientRects()].filter((q) => q.width > 0).map((q) => Math.round(q.top))).size,
			Right: b.getBoundingClientRect().right,
			Pane: document.querySelector('#detail').getBoundingClientRect().right,
		};
	})`)
	if len(got) < 5 {
		p.fatalf(t, "%d action buttons shown, want at least 5: %+v", len(got), got)
	}
	for _, b := range got {
		if b.Lines != 1 || b.Right > b.Pane+0.5 {
			p.fatalf(t, "at 390 px the button %q takes %d lines and ends at %.0f px, the pane at %.0f; want one line inside it", b.Label, b.Lines, b.Right, b.Pane)
		}
	}
}

// testBrowserMultipartColumns: the parts table of a multipart body gives
// each part's value the room the pane has, under a heading of its own
// (Value): it was squeezed with its Download link into a last column of
// 7.5em with no heading, so at 1400 px "hello multipart file content" took
// three lines beside wide, near-empty columns, and at 390 px the other
// columns broke short words mid-word ("note.tx t", "text/pl ain").
func testBrowserMultipartColumns(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	body := "--XX\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nMy upload\r\n" +
		"--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"note.txt\"\r\nContent-Type: text/plain\r\n\r\nhello multipart file content\r\n" +
		"--XX\r\nContent-Disposition: form-data; name=\"image\"; filename=\"blob.bin\"\r\nContent-Type: image/png\r\n\r\n\x89PNG\x00\x01\r\n--XX--\r\n"
	id := browserCapture(t, s.Capture, "/b/parts/upload", body, "Content-Type", "multipart/form-data; boundary=XX")
	type cell struct {
		Text        string
		Lines       int
		Right, Pane float64
	}
	const cells = `[...document.querySelectorAll('#detail table.body-multipart tbody td, #detail table.body-multipart tbody code')].map((c) => {
		const r = document.createRange();
		r.selectNodeContents(c.matches('td') && c.querySelector('code') ? c.querySelector('code') : c);
		return {
			Text: r.toString(),
			Lines: new Set([...r.getClientRects()].filter((q) => q.width > 0).map((q) => Math.round(q.top))).size,
			Right: c.getBoundingClientRect().right,
			Pane: c.closest('table').parentElement.getBoundingClientRect().right,
		};
	})`
	for _, width := range []int64{1400, 390} {
		p.do(t, "the window's width", chromedp.EmulateViewport(width, 900))
		p.openExchange(t, s.UI, id)
		p.waitFor(t, "the parts show", `document.querySelectorAll('#detail table.body-multipart tbody tr').length === 3`, 5*time.Second)
		if h := evalIn[[]string](t, p, `[...document.querySelectorAll('#detail table.body-multipart thead th')].map((th) => th.textContent)`); !slices.Equal(h, []string{"Name", "File", "Type", "Size", "Value"}) {
			p.fatalf(t, "at %d px the parts table's headings are %q, want Name, File, Type, Size, Value", width, h)
		}
		oneLine := map[string]bool{"note.txt": true, "blob.bin": true, "text/plain": true, "image/png": true}
		if width == 1400 {
			oneLine["hello multipart file content"] = true
			oneLine["29 bytes"] = true
			oneLine["9 bytes"] = true
		}
		seen := 0
		for _, c := range evalIn[[]cell](t, p, cells) {
			if c.Right > c.Pane+0.5 {
				p.fatalf(t, "at %d px the cell %q ends at %.0f px, past its box at %.0f", width, c.Text, c.Right, c.Pane)
			}
			if oneLine[c.Text] {
				seen++
				if c.Lines != 1 {
					p.fatalf(t, "at %d px %q takes %d lines, want 1", width, c.Text, c.Lines)
				}
			}
		}
		if seen < len(oneLine) {
			p.fatalf(t, "at %d px found %d of the cells %v", width, seen, oneLine)
		}
	}
}

// testBrowserNarrowViewNames: at a phone's width (390 px) the name that
// leads each row of the views' tables (a bin's, a webhook's, a replay
// run's id) stays whole when it is short and breaks into a few pieces
// when long, the table scrolling sideways in its box if it must: the names
// broke anywhere to leave the room to the URLs beside them, "defaul t",
// "suppor t-bot", and a run's id three letters a line, nine lines.
func testBrowserNarrowViewNames(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	for _, bin := range []string{"default", "support-bot"} {
		path := "/b/" + bin + "/x"
		if bin == "default" {
			path = "/x"
		}
		browserCapture(t, s.Capture, path, `{}`)
	}
	s.mustPost(t, "/api/webhooks", `{"id":"support-bot","endpoint":"https://127.0.0.1:9/hooks/a/long/path/to/the/receiver"}`, http.StatusCreated)
	s.mustPost(t, "/api/replay", `{"filter":{"bin":"support-bot"},"target":`+jsQuote(s.Capture)+`}`, http.StatusAccepted)
	p.do(t, "a phone's width", chromedp.EmulateViewport(390, 900))
	t.Cleanup(func() { chromedp.Run(p.ctx, chromedp.EmulateViewport(1280, 900)) })
	type name struct {
		Text  string
		Lines int
	}
	for _, v := range []struct {
		hash, ready string
		maxLines    int
	}{
		{"#/bins", `.bin-row`, 1},
		{"#/webhooks", `.webhook-row`, 1},
		{"#/replays", `.run-row`, 3},
	} {
		p.openUI(t, s.UI+v.hash)
		p.waitFor(t, v.hash+" shows", `document.querySelector(`+jsQuote(v.ready)+`)`, 10*time.Second)
		got := evalIn[[]name](t, p, `[...document.querySelectorAll('table.grid tbody tr > td:first-child a')].map((a) => {
			const r = document.createRange();
			r.selectNodeContents(a);
			return { Text: a.textContent, Lines: new Set([...r.getClientRects()].filter((q) => q.width > 0).map((q) => Math.round(q.top))).size };
		})`)
		if len(got) == 0 {
			p.fatalf(t, "%s: no names in the table", v.hash)
		}
		for _, n := range got {
			if n.Lines > v.maxLines {
				p.fatalf(t, "%s at 390 px: %q takes %d lines, want at most %d", v.hash, n.Text, n.Lines, v.maxLines)
			}
		}
		if w, cw := evalIn[int](t, p, `document.querySelector('#view-other').scrollWidth`), evalIn[int](t, p, `document.querySelector('#view-other').clientWidth`); w > cw {
			p.fatalf(t, "%s at 390 px: the view is %d px wide in %d", v.hash, w, cw)
		}
	}
}

// testBrowserRowEnterFocusesPane: a keyboard user who tabs to a row of the
// list and presses Enter gets the exchange open and the focus in its pane,
// the pane's actions (Copy curl) the next Tab away, as Enter elsewhere in
// the list gives: followed as a link, the row kept the focus, and Tab went
// on through every row below it before it reached the pane.
func testBrowserRowEnterFocusesPane(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	var ids []string
	for i := range 5 {
		ids = append(ids, browserCapture(t, s.Capture, fmt.Sprintf("/b/keys/%d", i), `{}`))
	}
	p.openUI(t, s.UI)
	p.waitFor(t, "the rows show", `document.querySelectorAll('tr.exchange-row').length === 5`, 5*time.Second)
	p.do(t, "focus Export HAR", chromedp.Evaluate[chromedp.Void](`document.querySelector('#export-har').focus()`))
	p.do(t, "Tab to the first row", pressKey("\t"))
	first := ids[len(ids)-1] // newest first
	if got := evalIn[string](t, p, `document.activeElement.closest('tr.exchange-row')?.dataset.id ?? document.activeElement.tagName`); got != first {
		p.fatalf(t, "Tab from Export HAR reached %s, want the first row %s", got, first)
	}
	p.do(t, "press Enter", pressKey("\r"))
	p.waitFor(t, "the exchange opens", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(first), 5*time.Second)
	p.do(t, "Tab", pressKey("\t"))
	if got := evalIn[string](t, p, `(() => { const a = document.activeElement; return document.querySelector('#detail').contains(a) ? 'pane: ' + a.textContent : 'outside: ' + a.tagName + ' ' + a.textContent; })()`); got != "pane: Copy curl" {
		p.fatalf(t, "after Enter on the row, Tab reached %q; want the pane's Copy curl", got)
	}
	// Escape gives the focus back to the row.
	p.do(t, "press Escape", pressKey("\x1b"))
	p.waitFor(t, "the pane closes, the row has the focus", `document.querySelector('#detail').dataset.state === 'empty' && document.activeElement.closest('tr.exchange-row')?.dataset.id === `+jsQuote(first), 5*time.Second)
}
