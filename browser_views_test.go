package main

// Browser tests of the UI's views and controls, run by TestBrowser.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/hooklab/hooklab/inspect"
)

// TestBrowserEditResendKeepsURL: edit-and-resend with nothing edited sends
// the request recorded. The form read its URL through the WHATWG parser,
// which removed dot segments and escaped quotes and brackets in the query,
// so the resent request went to another path with another query.
func testBrowserEditResendKeepsURL(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI)

	const target = `/b/edit/x/../y?q='a'&b=<c>&d="e"`
	req, _ := http.NewRequest("GET", s.Capture+"b/edit/", nil)
	req.URL.Opaque = target // sent as is
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var ans struct{ ID string }
	json.NewDecoder(res.Body).Decode(&ans)
	res.Body.Close()
	id := ans.ID

	p.waitFor(t, "the exchange shows", `document.querySelector(`+jsQuote(browserRow(id))+`)`, 5*time.Second)
	p.do(t, "open it", chromedp.Click(chromedp.CSS(browserRow(id))))
	p.waitFor(t, "the detail is ready", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(id), 5*time.Second)
	p.do(t, "edit", chromedp.Click(chromedp.CSS("#edit-open")))
	p.waitFor(t, "the edit form shows", `document.querySelector('#edit-send')`, 5*time.Second)
	p.do(t, "send", chromedp.Click(chromedp.CSS("#edit-send")))
	p.waitFor(t, "a new exchange opens", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id !== `+jsQuote(id), 10*time.Second)

	get := func(id string) string {
		res, err := http.Get(s.UI + "api/exchanges/" + id)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var x struct{ URL string }
		json.NewDecoder(res.Body).Decode(&x)
		return x.URL
	}
	newID := evalIn[string](t, p, `document.querySelector('#detail').dataset.id`)
	if orig, resent := get(id), get(newID); orig != resent || !strings.HasSuffix(orig, target) {
		p.fatalf(t, "resent unedited, the URL %q became %q", orig, resent)
	}
	p.consoleErrors()
}

// TestBrowserPathTermMatchesServer: the page matches path: terms on live
// arrivals itself, and must match as the server's MatchPath does, or a row
// shows live that the list then drops (or the other way round). The
// WHATWG URL parser removed dot segments and read "\" as "/".
func testBrowserPathTermMatchesServer(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI)

	cases := [][2]string{
		{"/b/t/x/*", "http://h/b/t/x/../y"},
		{"/b/t/y", "http://h/b/t/x/../y"},
		{"/b/t/a/b", `http://h/b/t/a\b`},
		{"/b/t/a*", `http://h/b/t/a\b`},
		{"/café/x", "http://h/caf%C3%A9/x?q=1"},
		{"/caf%C3%A9/*", "http://h/caf%C3%A9/x"},
		{"/a b", "http://h/a%20b"},
		{"/b/*", "http://h/b/c#f"},
		{"/x/./y", "http://h/x/./y"},
		{"/x/y", "http://h/x/./y"},
	}
	js, _ := json.Marshal(cases)
	p.do(t, "match", chromedp.Evaluate[chromedp.Void](`import('/query.js').then((m) => { window.__got = `+string(js)+`.map(([p, u]) => m.matchPath(p, u)); })`))
	p.waitFor(t, "the matches", `window.__got`, 5*time.Second)
	got := evalIn[[]bool](t, p, `window.__got`)
	for i, c := range cases {
		if want := inspect.MatchPath(c[0], c[1]); got[i] != want {
			t.Errorf("page matchPath(%q, %q) = %v, the server's %v", c[0], c[1], got[i], want)
		}
	}

	// End to end: what shows live is what the list then loads.
	p.do(t, "filter", chromedp.Navigate(s.UI+"?q="+url.QueryEscape("path:/b/t/x/*")))
	p.waitFor(t, "the stream connects", `document.querySelector('#conn')?.dataset.state === 'open' && document.querySelector('#list-status')?.textContent !== 'Loading…'`, 10*time.Second)
	send := func(path string) {
		req, _ := http.NewRequest("GET", s.Capture+"b/t/", nil)
		req.URL.Path, req.URL.RawPath = path, ""
		req.URL.Opaque = path // sent as is, dot segments kept
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	send("/b/t/x/../dotted")
	send("/b/t/x/plain")
	p.waitFor(t, "the plain one shows", `[...document.querySelectorAll('tr.exchange-row .path')].some((a) => a.textContent === '/b/t/x/plain')`, 5*time.Second)
	time.Sleep(300 * time.Millisecond)
	live := evalIn[[]string](t, p, `[...document.querySelectorAll('tr.exchange-row .path')].map((a) => a.textContent)`)
	p.do(t, "reload", chromedp.Reload())
	p.waitFor(t, "the list loads", `document.querySelector('#list-status')?.textContent !== 'Loading…' && document.querySelectorAll('tr.exchange-row').length > 0`, 10*time.Second)
	loaded := evalIn[[]string](t, p, `[...document.querySelectorAll('tr.exchange-row .path')].map((a) => a.textContent)`)
	if !slices.Equal(live, loaded) {
		p.fatalf(t, "live rows %q, after a reload %q", live, loaded)
	}
	p.consoleErrors()
}

// testBrowserResetKeepsArrivalOrder: a list loaded again (a reconnect)
// while an arrival waits to be drawn keeps the live ones in the order they
// came, newest on top, as the server lists them. The one waiting was put
// before those drawn, so it went below the older one: 1 run in 10 of
// PathTermMatchesServer.
func testBrowserResetKeepsArrivalOrder(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI)
	p.do(t, "list", chromedp.Evaluate[chromedp.Void](`import('/list.js').then(({ ExchangeList }) => {
		const table = document.createElement('table');
		const tbody = document.createElement('tbody');
		table.append(tbody);
		document.body.append(table);
		const list = new ExchangeList(tbody);
		const s = (id) => ({ id, bin: 'b', method: 'GET', path: '/' + id, url: '/' + id, time: new Date().toISOString(), status: 200 });
		return new Promise((done) => {
			list.add(s('01A'));
			setTimeout(() => { // drawn
				list.add(s('01B')); // waits to be drawn
				list.add(s('01C'));
				list.reset([]);
				window.__order = list.items.map((x) => x.id);
				done();
			}, 10);
		});
	})`))
	p.waitFor(t, "the list reset", `window.__order`, 5*time.Second)
	if got := evalIn[[]string](t, p, `window.__order`); !slices.Equal(got, []string{"01C", "01B", "01A"}) {
		p.fatalf(t, "after a reset the list is %q, want newest first [01C 01B 01A]", got)
	}
	p.consoleErrors()
}

// TestBrowserStoreErrorBanner: when the store cannot write (disk full), the
// server says so on the stream ({"type":"store","error":...}) and in
// /healthz; the page must show it, or captures answered 503 simply never
// appear and the user cannot tell why. A page opened while the disk is
// full shows it too, and the banner goes when the store recovers.
func testBrowserStoreErrorBanner(t *testing.T, p *browserPage) {
	mnt := mountTmpfs(t, "8m")
	s := startServer(t, "--data", filepath.Join(mnt, "data"))
	p.openUI(t, s.UI)
	browserCapture(t, s.Capture, "/b/disk/one", `{}`)

	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	for range 3 {
		res, err := http.Post(s.Capture+"b/disk/two", "application/json", strings.NewReader(strings.Repeat("x", 64<<10)))
		if err == nil {
			res.Body.Close()
		}
	}
	// The journal's write ("no space left on device") or, when the journal
	// still had room, SQLite's ("database or disk is full"), whichever met
	// the full disk first.
	const shown = `!document.querySelector('#store-error').hidden && /no space left|disk is full/.test(document.querySelector('#store-error').textContent)`
	p.waitFor(t, "the store error shows while the page is open", shown, 10*time.Second)

	p.do(t, "reload", chromedpReload())
	p.waitFor(t, "the store error shows on a page opened while the disk is full", shown, 10*time.Second)

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	res, err := http.Post(s.Capture+"b/disk/three", "application/json", strings.NewReader(`{}`))
	if err == nil {
		res.Body.Close()
	}
	p.waitFor(t, "the store error goes once the store writes again", `document.querySelector('#store-error').hidden`, 10*time.Second)
	p.consoleErrors()
}

func chromedpReload() chromedp.Action[chromedp.Void] { return chromedp.Reload() }

// TestBrowserBinsAndRulesFollowTraffic: the Bins view's counts and the
// Rules view's hit counts follow the traffic while open, as the rest of
// the UI does (they stayed as first loaded until a reload), without
// wiping what is typed in the new-bin form.
func testBrowserBinsAndRulesFollowTraffic(t *testing.T, p *browserPage) {
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(cfg, []byte("mocks:\n  - name: hit-me\n    match: {path: /hit}\n    respond: {status: 200, body: ok}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	browserCapture(t, s.Capture, "/b/counted/x", `{}`)

	p.do(t, "open the bins", chromedp.Navigate(s.UI+"#/bins"))
	p.waitFor(t, "the bin shows", `document.querySelector('.bin-row[data-bin="counted"]')`, 10*time.Second)
	p.waitFor(t, "the stream connects", `document.querySelector('#conn')?.dataset.state === 'open'`, 10*time.Second)
	p.do(t, "type a name", setInput("#bin-name", "half-typed"))
	browserCapture(t, s.Capture, "/b/counted/x", `{}`)
	browserCapture(t, s.Capture, "/b/fresh-bin/x", `{}`)
	p.waitFor(t, "the count follows", `document.querySelector('.bin-row[data-bin="counted"] td.num')?.textContent === '2' && document.querySelector('.bin-row[data-bin="fresh-bin"]')`, 10*time.Second)
	if v := evalIn[string](t, p, `document.querySelector('#bin-name').value`); v != "half-typed" {
		p.fatalf(t, "the new-bin name typed became %q", v)
	}

	p.do(t, "open the rules", chromedp.Navigate(s.UI+"#/rules"))
	p.waitFor(t, "the rule shows", `document.querySelector('.rule-row[data-rule="hit-me"] .rule-hits')?.textContent === '0'`, 10*time.Second)
	p.waitFor(t, "the stream connects", `document.querySelector('#conn')?.dataset.state === 'open'`, 10*time.Second)
	for range 2 {
		res, err := http.Get(s.Capture + "hit")
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	p.waitFor(t, "the hits follow", `document.querySelector('.rule-row[data-rule="hit-me"] .rule-hits')?.textContent === '2'`, 10*time.Second)
}

// TestBrowserEditResendUneditedBody: edit-and-resend sends the body
// recorded when it is not edited, and an edited body keeps its CRLF line
// breaks. A textarea gives its text with every line break as "\n", so a
// multipart body (whose delimiters are CRLF) was resent 9 bytes shorter, LF
// only, unedited or not; and since the form always sent its text as the
// body, an unedited resend of a body cut at --max-body sent the cut body,
// where the server refuses to replay one.
func testBrowserEditResendUneditedBody(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory", "--max-body", "1KiB")
	p.openUI(t, s.UI)
	const body = "--XX\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\none\r\n--XX\r\nContent-Disposition: form-data; name=\"b\"\r\n\r\ntwo\r\n--XX--\r\n"
	id := browserCapture(t, s.Capture, "/b/edit/form", body, "Content-Type", "multipart/form-data; boundary=XX")

	requestBody := func(id string) string {
		t.Helper()
		res, err := http.Get(s.UI + "api/exchanges/" + id)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var x struct{ Request struct{ Body string } }
		if err := json.NewDecoder(res.Body).Decode(&x); err != nil {
			t.Fatal(err)
		}
		return x.Request.Body
	}
	openEdit := func(id string) {
		t.Helper()
		p.openUI(t, s.UI+"#/exchanges/"+id)
		p.waitFor(t, "the detail is ready", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(id), 5*time.Second)
		p.do(t, "edit", chromedp.Click(chromedp.CSS("#edit-open")))
		p.waitFor(t, "the edit form shows", `document.querySelector('#edit-body')`, 5*time.Second)
	}
	resend := func(edit string) string {
		t.Helper()
		openEdit(id)
		if edit != "" {
			p.do(t, "edit the body", chromedp.Evaluate[chromedp.Void](`(() => {
				const b = document.querySelector('#edit-body');
				b.value = b.value.replace('two', `+jsQuote(edit)+`);
			})()`))
		}
		p.do(t, "send", chromedp.Click(chromedp.CSS("#edit-send")))
		p.waitFor(t, "a new exchange opens", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id !== `+jsQuote(id), 10*time.Second)
		return requestBody(evalIn[string](t, p, `document.querySelector('#detail').dataset.id`))
	}
	if got := resend(""); got != body {
		p.fatalf(t, "resent unedited, the body\n%q\nbecame\n%q", body, got)
	}
	if got, want := resend("2"), strings.Replace(body, "two", "2", 1); got != want {
		p.fatalf(t, "resent with a part edited, the body is\n%q\nwant\n%q", got, want)
	}

	cut := browserCapture(t, s.Capture, "/b/edit/cut", `{"pad":"`+strings.Repeat("x", 2000)+`"}`)
	openEdit(cut)
	p.do(t, "send", chromedp.Click(chromedp.CSS("#edit-send")))
	p.waitFor(t, "the form says why it was not sent", `document.querySelector('.edit-result .error')`, 10*time.Second)
	if msg := evalIn[string](t, p, `document.querySelector('.edit-result').textContent`); !strings.Contains(msg, "cut when recorded") {
		p.fatalf(t, "resending a truncated body unedited: %q, want the server's refusal", msg)
	}
	if d := evalIn[string](t, p, `document.querySelector('#detail').dataset.id`); d != cut {
		p.fatalf(t, "resending a truncated body unedited opened %s", d)
	}
	p.consoleErrors()
}

// TestBrowserXMLViewQuiet: an SVG or XHTML body shows in the XML view as it
// was sent, and showing it logs nothing. The view parses the body with
// DOMParser: nothing in the parsed document runs, but Chromium checks the
// page's Content-Security-Policy as its parser meets an on* attribute or a
// <style> of those namespaces, and logged a violation for each (an SVG
// icon recorded through a proxy, say).
func testBrowserXMLViewQuiet(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI)
	const svg = `<svg xmlns="http://www.w3.org/2000/svg" xmlns:h="http://www.w3.org/1999/xhtml" onload="document.title='pwned'">` +
		`<style>rect{fill:red}</style><rect style="fill:blue" onclick="x()"/><h:img src="x" onerror="y()"/>` +
		`<desc>urn:x http://www.w3.org/2000/svg</desc></svg>`
	id := browserCapture(t, s.Capture, "/b/xml/icon.svg", svg, "Content-Type", "image/svg+xml")
	p.waitFor(t, "the exchange shows", `document.querySelector(`+jsQuote(browserRow(id))+`)`, 5*time.Second)
	p.consoleErrors()
	p.do(t, "open it", chromedp.Click(chromedp.CSS(browserRow(id))))
	p.waitFor(t, "the XML view shows", `document.querySelector('#detail [data-part="request"] pre.body-xml')`, 5*time.Second)
	got := evalIn[string](t, p, `document.querySelector('#detail [data-part="request"] pre.body-xml').textContent`)
	want := `<svg xmlns="http://www.w3.org/2000/svg" xmlns:h="http://www.w3.org/1999/xhtml" onload="document.title='pwned'">
  <style>rect{fill:red}</style>
  <rect style="fill:blue" onclick="x()"/>
  <h:img src="x" onerror="y()"/>
  <desc>urn:x http://www.w3.org/2000/svg</desc>
</svg>`
	if got != want {
		p.fatalf(t, "the XML view shows\n%s\nwant\n%s", got, want)
	}
	time.Sleep(200 * time.Millisecond) // console messages arrive after the fact
	if errs := p.consoleErrors(); len(errs) > 0 {
		p.fatalf(t, "showing the SVG body logged errors:\n%s", strings.Join(errs, "\n"))
	}
	if title := evalIn[string](t, p, `document.title`); title == "pwned" {
		p.fatalf(t, "the sender's script ran")
	}
}

// TestBrowserEditResendLargeBody: the edit form does not put a large body
// in its body box until asked. A textarea lays out megabytes of text for
// seconds (a JSON body is often one line): the form for a 5 MiB body took
// 9 s to open, the page frozen meanwhile. Unedited, the body recorded is
// sent.
func testBrowserEditResendLargeBody(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI)
	body := `{"pad":"` + strings.Repeat("x", 1<<20) + `"}`
	id := browserCapture(t, s.Capture, "/b/edit/large", body)
	p.openUI(t, s.UI+"#/exchanges/"+id)
	p.waitFor(t, "the detail is ready", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(id), 10*time.Second)
	p.do(t, "edit", chromedp.Click(chromedp.CSS("#edit-open")))
	p.waitFor(t, "the edit form shows", `document.querySelector('#edit-body')`, 10*time.Second)
	box := evalIn[map[string]any](t, p, `(() => {
		const b = document.querySelector('#edit-body');
		return { disabled: b.disabled, length: b.value.length, load: !!document.querySelector('#edit-body-load') };
	})()`)
	if box["disabled"] != true || box["length"].(float64) > 200 || box["load"] != true {
		p.fatalf(t, "the edit form's body box for a 1 MiB body: %v; want it disabled, without the body, and a button to load it", box)
	}
	p.do(t, "send", chromedp.Click(chromedp.CSS("#edit-send")))
	p.waitFor(t, "a new exchange opens", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id !== `+jsQuote(id), 10*time.Second)
	newID := evalIn[string](t, p, `document.querySelector('#detail').dataset.id`)
	res, err := http.Get(s.UI + "api/exchanges/" + newID)
	if err != nil {
		t.Fatal(err)
	}
	var x struct{ Request struct{ Body string } }
	err = json.NewDecoder(res.Body).Decode(&x)
	res.Body.Close()
	if err != nil || x.Request.Body != body {
		p.fatalf(t, "resent unedited, the 1 MiB body came back %d bytes long (err %v)", len(x.Request.Body), err)
	}

	// Asked for, the body is in the box, and sent as edited.
	p.openUI(t, s.UI+"#/exchanges/"+id)
	p.waitFor(t, "the detail is ready", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(id), 10*time.Second)
	p.do(t, "edit", chromedp.Click(chromedp.CSS("#edit-open")))
	p.waitFor(t, "the edit form shows", `document.querySelector('#edit-body-load')`, 10*time.Second)
	p.do(t, "load the body", chromedp.Click(chromedp.CSS("#edit-body-load")))
	p.waitFor(t, "the body is in the box", `!document.querySelector('#edit-body').disabled && document.querySelector('#edit-body').value.length === `+strconv.Itoa(len(body)), 20*time.Second)
	p.do(t, "edit it", setInput("#edit-body", `{"pad":"short"}`))
	p.do(t, "send", chromedp.Click(chromedp.CSS("#edit-send")))
	p.waitFor(t, "a new exchange opens", `document.querySelector('#detail').dataset.state === 'ready' && ![`+jsQuote(id)+`, `+jsQuote(newID)+`].includes(document.querySelector('#detail').dataset.id)`, 10*time.Second)
	if n := evalIn[string](t, p, `document.querySelector('#detail [data-part="request"] .body-info').textContent`); !strings.Contains(n, "15 bytes") {
		p.fatalf(t, "the edited body sent: %q, want 15 bytes", n)
	}
}

// TestBrowserReconnectKeepsPlace: the row being read stays where it is
// when the stream reconnects (a restart, a resync) and the list reloads;
// what came meanwhile goes above it and is counted on the "N new" pill.
// The reload put the list back at its top.
func testBrowserReconnectKeepsPlace(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	for i := range 120 {
		browserCapture(t, s.Capture, fmt.Sprintf("/b/place/%d", i), `{}`)
	}
	p.openUI(t, s.UI)
	p.waitFor(t, "the list loads", `window.hooklab.list.size === 120`, 5*time.Second)
	p.do(t, "scroll down", chromedp.Evaluate[chromedp.Void](`document.querySelector('#list-scroll').scrollTop = 1500`))
	read := `(() => {
		const sc = document.querySelector('#list-scroll');
		const r = sc.getBoundingClientRect();
		const tr = document.elementFromPoint(r.left + 200, r.top + 200)?.closest('tr.exchange-row');
		return tr ? tr.dataset.id + ' ' + Math.round(tr.getBoundingClientRect().top) : '';
	})()`
	p.waitFor(t, "a row is in view", read+` !== ''`, 5*time.Second)
	before := evalIn[string](t, p, read)

	// The reload's page is held back until two more exchanges came over
	// the reopened stream, so that some of what is new arrives live, some
	// on the page (as on a busy machine): each counts on the pill.
	p.do(t, "hold the reload's page", chromedp.Evaluate[chromedp.Void](`(() => {
		const hold = new Promise((r) => { window.releasePage = r; });
		const orig = window.fetch;
		window.heldPages = 0;
		window.fetch = async (...args) => {
			const resp = await orig(...args);
			const u = new URL(String(args[0]), location.origin);
			if (u.pathname === '/api/exchanges' && (args[1]?.method || 'GET') === 'GET') {
				window.heldPages++;
				await hold;
			}
			return resp;
		};
	})()`))
	// The stream comes back only once new-0 is stored, so that new-0
	// comes on the reload's page: its first retry (125–250 ms) could
	// otherwise beat the capture on a busy machine, and bring it live.
	p.do(t, "drop the stream", chromedp.Evaluate[chromedp.Void](`(() => { const l = window.hooklab.live; l.stopped = true; l.ws.close(); })()`))
	p.waitFor(t, "the stream is down", `window.hooklab.live.ws === null`, 5*time.Second)
	browserCapture(t, s.Capture, "/b/place/new-0", `{}`)
	p.do(t, "let it reconnect", chromedp.Evaluate[chromedp.Void](`(() => { const l = window.hooklab.live; l.stopped = false; l.retryNow(); })()`))
	p.waitFor(t, "the reload asks for its page", `window.heldPages > 0`, 10*time.Second)
	p.waitFor(t, "the stream is open again", `document.querySelector('#conn').dataset.state === 'open'`, 10*time.Second)
	for i := 1; i < 3; i++ {
		browserCapture(t, s.Capture, fmt.Sprintf("/b/place/new-%d", i), `{}`)
	}
	p.waitFor(t, "two came live", `window.hooklab.list.size === 122`, 10*time.Second)
	p.do(t, "let the page come", chromedp.Evaluate[chromedp.Void](`window.releasePage()`))
	p.waitFor(t, "the new exchanges are listed", `window.hooklab.list.size === 123`, 5*time.Second)
	time.Sleep(100 * time.Millisecond) // a frame
	if after := evalIn[string](t, p, read); after != before {
		p.fatalf(t, "the row in view and its position went from %q to %q on reconnecting", before, after)
	}
	if pill := evalIn[string](t, p, `document.querySelector('#new-pill').hidden ? '' : document.querySelector('#new-pill').textContent`); pill != "3 new" {
		p.fatalf(t, "the pill says %q after 3 exchanges came during the reconnect, want \"3 new\"", pill)
	}
}

// testBrowserDeleteNewLowersPill: deleting an exchange the pill counts as
// new (held while paused, or above the rows in view) lowers its count.
func testBrowserDeleteNewLowersPill(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	for i := range 3 {
		browserCapture(t, s.Capture, fmt.Sprintf("/b/pill/%d", i), `{}`)
	}
	p.openUI(t, s.UI)
	p.waitFor(t, "the list loads", `window.hooklab.list.size === 3`, 5*time.Second)
	p.do(t, "press p", pressKey("p"))
	p.waitFor(t, "the list is paused", `window.hooklab.list.paused === true`, 5*time.Second)
	pill := `(document.querySelector('#new-pill').hidden ? '' : document.querySelector('#new-pill').textContent)`
	var held []string
	for i := range 2 {
		held = append(held, browserCapture(t, s.Capture, fmt.Sprintf("/b/pill/held-%d", i), `{}`))
	}
	p.waitFor(t, "two are held", pill+` === '2 new'`, 5*time.Second)
	p.do(t, "open a held one", chromedp.Evaluate[chromedp.Void](`location.hash = '#/exchanges/`+held[0]+`'`))
	p.waitFor(t, "its detail shows", `!!document.querySelector('[aria-label="Delete this exchange"]')`, 5*time.Second)
	p.do(t, "delete it", chromedp.Click(chromedp.CSS(`[aria-label="Delete this exchange"]`)))
	p.waitFor(t, "the pill counts one", pill+` === '1 new'`, 5*time.Second)
	p.do(t, "press p again", pressKey("p"))
	p.waitFor(t, "four show", `window.hooklab.list.size === 4 && `+pill+` === ''`, 5*time.Second)
}

// testBrowserPausedReconnectHolds: a paused list keeps holding what came
// while paused when the stream reconnects: the reload's newer exchanges
// join those held, counted on the pill, and show when the list follows
// again (the reload listed them all and left the list paused).
func testBrowserPausedReconnectHolds(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	for i := range 3 {
		browserCapture(t, s.Capture, fmt.Sprintf("/b/hold/%d", i), `{}`)
	}
	p.openUI(t, s.UI)
	p.waitFor(t, "the list loads", `window.hooklab.list.size === 3`, 5*time.Second)
	p.do(t, "press p", pressKey("p"))
	p.waitFor(t, "the list is paused", `window.hooklab.list.paused === true`, 5*time.Second)
	pill := `(document.querySelector('#new-pill').hidden ? '' : document.querySelector('#new-pill').textContent)`
	for i := range 2 {
		browserCapture(t, s.Capture, fmt.Sprintf("/b/hold/paused-%d", i), `{}`)
	}
	p.waitFor(t, "two are held", pill+` === '2 new'`, 5*time.Second)

	p.do(t, "drop the stream", chromedp.Evaluate[chromedp.Void](`window.hooklab.live.ws.close()`))
	p.waitFor(t, "the stream reconnects", `document.querySelector('#conn').dataset.phase !== 'open'`, 5*time.Second)
	for i := range 2 {
		browserCapture(t, s.Capture, fmt.Sprintf("/b/hold/away-%d", i), `{}`)
	}
	p.waitFor(t, "the stream is open again", `document.querySelector('#conn').dataset.state === 'open'`, 10*time.Second)
	p.waitFor(t, "four are held", pill+` === '4 new'`, 5*time.Second)
	time.Sleep(100 * time.Millisecond) // a frame
	if n := evalIn[int](t, p, `window.hooklab.list.size`); n != 3 || !evalIn[bool](t, p, `window.hooklab.list.paused`) {
		p.fatalf(t, "after the reconnect the paused list shows %d rows (paused: %v), want the 3 it showed", n, evalIn[bool](t, p, `window.hooklab.list.paused`))
	}
	p.do(t, "press p again", pressKey("p"))
	p.waitFor(t, "all seven show", `window.hooklab.list.size === 7 && `+pill+` === ''`, 5*time.Second)
	if top := evalIn[string](t, p, `document.querySelector('tr.exchange-row')?.textContent || ''`); !strings.Contains(top, "/b/hold/away-1") {
		p.fatalf(t, "the top row is %q, want the newest, /b/hold/away-1", top)
	}
}

// testBrowserCountsFollowOtherBins: the Bins and Rules views count every
// bin's traffic while the traffic list is filtered to one bin (?bin=one,
// kept in the address as the views are opened). The live stream stayed
// filtered to that bin, so the counts and hits of the other bins stayed
// as first loaded.
func testBrowserCountsFollowOtherBins(t *testing.T, p *browserPage) {
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(cfg, []byte("mocks:\n  - name: hit-me\n    match: {path: /hit}\n    respond: {status: 200, body: ok}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	browserCapture(t, s.Capture, "/b/one/x", `{}`)
	browserCapture(t, s.Capture, "/b/two/x", `{}`)
	p.openUI(t, s.UI+"?bin=one")

	p.do(t, "open the bins", chromedp.Click(chromedp.CSS(`a.view-link[data-view="bins"]`)))
	p.waitFor(t, "the bins show", `document.querySelector('.bin-row[data-bin="two"] td.num')?.textContent === '1'`, 10*time.Second)
	p.waitFor(t, "the stream is open", `document.querySelector('#conn')?.dataset.state === 'open'`, 10*time.Second)
	two := browserCapture(t, s.Capture, "/b/two/x", `{}`)
	p.waitFor(t, "bin two's count follows", `document.querySelector('.bin-row[data-bin="two"] td.num')?.textContent === '2'`, 10*time.Second)
	// Deletes and clears made elsewhere (another page, a script) count too.
	if resp, b := s.api(t, "DELETE", "/api/exchanges/"+strings.ToLower(two), nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	p.waitFor(t, "bin two's count follows a delete", `document.querySelector('.bin-row[data-bin="two"] td.num')?.textContent === '1'`, 10*time.Second)
	if resp, b := s.api(t, "DELETE", "/api/exchanges?bin=one", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("clear: %d %s", resp.StatusCode, b)
	}
	p.waitFor(t, "bin one's count follows a clear", `(document.querySelector('.bin-row[data-bin="one"] td.num')?.textContent ?? '0') === '0'`, 10*time.Second)

	p.do(t, "open the rules", chromedp.Click(chromedp.CSS(`a.view-link[data-view="rules"]`)))
	p.waitFor(t, "the rule shows", `document.querySelector('.rule-row[data-rule="hit-me"] .rule-hits')?.textContent === '0'`, 10*time.Second)
	p.waitFor(t, "the stream is open", `document.querySelector('#conn')?.dataset.state === 'open'`, 10*time.Second)
	res, err := http.Get(s.Capture + "hit") // bin default
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	p.waitFor(t, "the hits follow", `document.querySelector('.rule-row[data-rule="hit-me"] .rule-hits')?.textContent === '1'`, 10*time.Second)

	// Back on the traffic, the list is still bin one's, and follows it live.
	p.do(t, "back to traffic", chromedp.Click(chromedp.CSS(`a.view-link[data-view="traffic"]`)))
	p.waitFor(t, "the stream is open", `document.querySelector('#conn')?.dataset.state === 'open' && window.hooklab.live.bin === 'one'`, 10*time.Second)
	id := browserCapture(t, s.Capture, "/b/one/y", `{}`)
	browserCapture(t, s.Capture, "/b/two/y", `{}`)
	p.waitFor(t, "bin one's new exchange shows", `document.querySelector(`+jsQuote(browserRow(id))+`)`, 10*time.Second)
	if bins := evalIn[[]string](t, p, `[...document.querySelectorAll('tr.exchange-row .cell-bin')].map((c) => c.textContent)`); slices.ContainsFunc(bins, func(b string) bool { return b != "one" }) {
		p.fatalf(t, "the list filtered to bin one shows bins %q", bins)
	}
	p.consoleErrors()
}

// waitInvocations waits until webhook id has n invocations, all finished.
func waitInvocations(t *testing.T, s *server, id string, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var inv struct {
			Invocations []struct{ Status string } `json:"invocations"`
		}
		s.getJSON(t, "/api/webhooks/"+id+"/invocations?limit=1000", &inv)
		done := 0
		for _, x := range inv.Invocations {
			if x.Status != "pending" && x.Status != "throttled" {
				done++
			}
		}
		if done == n && len(inv.Invocations) == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("webhook %s: %d of %d invocations finished, want %d", id, done, len(inv.Invocations), n)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// testBrowserActivityPaging: a webhook's activity log shows its newest 50
// invocations and loads older ones on demand, and what is loaded stays
// loaded as new invocations come live. It showed the newest 50 and no
// more: the older ones could not be seen in the UI at all.
func testBrowserActivityPaging(t *testing.T, p *browserPage) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id":"paged","endpoint":`+jsQuote(receiver.URL)+`,"subscriptions":["page.*"]}`, http.StatusCreated)
	event := func(i int) {
		t.Helper()
		s.mustPost(t, "/api/events", fmt.Sprintf(`{"type":"page.x","data":{"i":%d}}`, i), http.StatusAccepted)
	}
	for i := range 60 {
		event(i)
	}
	waitInvocations(t, s, "paged", 60)

	rows := `document.querySelectorAll('.activity .invocation-row').length`
	p.openUI(t, s.UI+"#/webhooks/paged")
	p.waitFor(t, "the activity log shows its first page", rows+` === 50 && document.querySelector('#act-older')`, 10*time.Second)
	// The log can be drawn again (a live event) between finding the button
	// and clicking it: click the one shown at that moment.
	p.clickNow(t, "load older", "#act-older")
	p.waitFor(t, "the older ones show", rows+` === 60`, 10*time.Second)
	if more := evalIn[bool](t, p, `!!document.querySelector('#act-older')`); more {
		p.fatalf(t, "all 60 invocations show and the log still offers older ones")
	}
	ids := evalIn[[]string](t, p, `[...document.querySelectorAll('.activity .invocation-row')].map((r) => r.dataset.id)`)
	if n := len(slices.Compact(slices.Sorted(slices.Values(ids)))); n != 60 {
		p.fatalf(t, "the log shows %d distinct invocations in its 60 rows", n)
	}

	event(60)
	p.waitFor(t, "the new invocation shows live, the older ones stay", rows+` === 61`, 10*time.Second)

	// A filter starts again from the newest.
	p.do(t, "filter on success", setInput("#act-status", "success"))
	p.waitFor(t, "the filtered log shows its first page", `document.querySelector('#act-status').value === 'success' && `+rows+` === 50 && document.querySelector('#act-older')`, 10*time.Second)
	p.consoleErrors()
}

// testBrowserActivityAttemptsStayOpen: the attempts of an invocation,
// opened in the activity log, stay open as the log is drawn again for
// other invocations, and show its new attempts live (a redelivery). Every
// invocation event closed them.
func testBrowserActivityAttemptsStayOpen(t *testing.T, p *browserPage) {
	var fail atomic.Bool
	fail.Store(true)
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if fail.Load() && strings.Contains(string(body), "fail-me") {
			w.WriteHeader(http.StatusBadRequest) // final: no retries
		}
	}))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id":"tries","endpoint":`+jsQuote(receiver.URL)+`,"subscriptions":["try.*"]}`, http.StatusCreated)
	event := func(data string) {
		t.Helper()
		s.mustPost(t, "/api/events", `{"type":"try.x","data":`+data+`}`, http.StatusAccepted)
	}
	event(`{"note":"fail-me"}`)
	waitInvocations(t, s, "tries", 1)

	p.openUI(t, s.UI+"#/webhooks/tries")
	const failed = `.activity .invocation-row[data-status="client_error"]`
	p.waitFor(t, "the failed invocation shows", `document.querySelector(`+jsQuote(failed)+`)`, 10*time.Second)
	id := evalIn[string](t, p, `document.querySelector(`+jsQuote(failed)+`).dataset.id`)
	row := `.activity .invocation-row[data-id="` + id + `"]`
	attempts := `[...(document.querySelector(` + jsQuote(row) + `)?.nextElementSibling?.hidden === false ? document.querySelector(` + jsQuote(row) + `).nextElementSibling.querySelectorAll('.attempt') : [])].map((a) => a.textContent)`
	p.clickNow(t, "open its attempts", row+` button[aria-label^="Attempts"]`)
	p.waitFor(t, "its attempt shows", attempts+`.length === 1`, 10*time.Second)

	event(`{"note":"fine"}`)
	p.waitFor(t, "the new invocation shows", `document.querySelectorAll('.activity .invocation-row').length === 2`, 10*time.Second)
	if got := evalIn[[]string](t, p, attempts); len(got) != 1 {
		p.fatalf(t, "after another invocation came, the opened attempts show %q", got)
	}

	fail.Store(false)
	p.clickNow(t, "redeliver it", row+` button.invocation-retry`)
	p.waitFor(t, "the redelivery's attempt shows in the opened attempts", attempts+`.length === 2 && `+attempts+`[1].includes('success')`, 10*time.Second)
	p.consoleErrors()
}

// testBrowserReplayRunKeepsFolds: a replay run's page, drawn again as its
// results come, keeps the results the user folded or unfolded as they
// were. Each result event opened every result that differs again.
func testBrowserReplayRunKeepsFolds(t *testing.T, p *browserPage) {
	gate := make(chan struct{})
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "last") {
			<-gate
		}
		io.WriteString(w, `{"other":true}`)
	}))
	t.Cleanup(target.Close)
	t.Cleanup(func() {
		select {
		case <-gate:
		default:
			close(gate)
		}
	})
	s := startServer(t, "--memory")
	ids := []string{
		jsQuote(browserCapture(t, s.Capture, "/b/folds/first", `{}`)),
		jsQuote(browserCapture(t, s.Capture, "/b/folds/last", `{}`)),
	}
	resp, body := s.api(t, http.MethodPost, "/api/replay", strings.NewReader(`{"ids":[`+strings.Join(ids, ",")+`],"target":`+jsQuote(target.URL)+`,"concurrency":1}`))
	var run struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &run); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /api/replay: %d %s", resp.StatusCode, body)
	}
	p.openUI(t, s.UI+"#/replays/"+run.ID)
	first := `document.querySelector('.run-result[data-index="0"]')`
	p.waitFor(t, "the first result shows, open (it differs)", first+`?.open === true`, 10*time.Second)
	p.do(t, "fold it", chromedp.Click(chromedp.CSS(`.run-result[data-index="0"] > summary`)))
	p.waitFor(t, "it is folded", first+`.open === false`, 5*time.Second)
	close(gate)
	p.waitFor(t, "the run is done", `document.querySelector('.view-replay p')?.textContent.startsWith('done') && document.querySelector('.run-result[data-index="1"]')`, 10*time.Second)
	if open := evalIn[bool](t, p, first+`.open`); open {
		p.fatalf(t, "the result folded opened again as the next result came")
	}
	p.consoleErrors()
}

// testBrowserWebhookSigningScheme: the webhook form chooses the signing
// scheme (the API's signing.scheme), which a test send of the unsaved
// form signs with and saving keeps, and shows a saved webhook's. The form
// had no such field: a webhook made in the UI was always signed the
// Zendesk way, and the form did not say how a webhook signs.
func testBrowserWebhookSigningScheme(t *testing.T, p *browserPage) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")
	p.openUI(t, s.UI+"#/webhooks/new")
	const scheme = `[id="wh-signing.scheme"]`
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')`, 5*time.Second)
	if got := evalIn[string](t, p, `document.querySelector(`+jsQuote(scheme)+`)?.value ?? 'no signing field'`); got != "zendesk" {
		p.fatalf(t, "a new webhook's signing scheme shows %q, want the default, zendesk", got)
	}
	p.do(t, "fill the form", setInput("#wh-id", "signed"), setInput("#wh-endpoint", receiver.URL+"/hooks"), setInput(scheme, "github"))
	p.waitFor(t, "it validates", `document.querySelector('#webhook-form').dataset.validation === 'ok'`, 5*time.Second)
	p.do(t, "test send", chromedp.Click(chromedp.CSS("#wh-test-send")))
	p.waitFor(t, "the test send shows the request", `document.querySelector('#wh-test-result .test-request')`, 10*time.Second)
	if req := evalIn[string](t, p, `document.querySelector('#wh-test-result .test-request').textContent`); !strings.Contains(req, "X-Hub-Signature-256: sha256=") || strings.Contains(req, "X-Zendesk-Webhook-Signature:") {
		p.fatalf(t, "the test send of the unsaved form, github signing chosen, sent:\n%s", req)
	}
	p.do(t, "save", chromedp.Click(chromedp.CSS("#wh-save")))
	p.waitFor(t, "the saved webhook opens", `location.hash === '#/webhooks/signed' && document.querySelector('#webhook-form')?.dataset.keep === 'webhooks/signed'`, 5*time.Second)
	type stored struct {
		Webhook struct {
			Signing *struct{ Scheme, Secret string } `json:"signing"`
		} `json:"webhook"`
	}
	var got stored
	s.getJSON(t, "/api/webhooks/signed", &got)
	if sg := got.Webhook.Signing; sg == nil || sg.Scheme != "github" || sg.Secret != "REDACTED" {
		p.fatalf(t, "saved, the webhook signs with %+v, want github with a secret", sg)
	}
	var secret struct {
		S struct{ Secret string } `json:"signing_secret"`
	}
	s.getJSON(t, "/api/webhooks/signed/signing_secret", &secret)
	p.waitFor(t, "the form shows the saved scheme", `document.querySelector(`+jsQuote(scheme)+`).value === 'github'`, 5*time.Second)

	// An edit of another field keeps the secret; none stops signing.
	p.do(t, "hide the notice", chromedp.Evaluate[chromedp.Void](`document.querySelector('#notice').textContent = ''`))
	p.do(t, "rename", setInput("#wh-name", "Signed"))
	p.waitFor(t, "the edit validates", `document.querySelector('#webhook-form').dataset.validation === 'ok'`, 5*time.Second)
	p.do(t, "save", chromedp.Click(chromedp.CSS("#wh-save")))
	p.waitFor(t, "the save is confirmed", `document.querySelector('#notice')?.textContent.startsWith('Saved webhook signed')`, 5*time.Second)
	var again struct {
		S struct{ Secret string } `json:"signing_secret"`
	}
	s.getJSON(t, "/api/webhooks/signed/signing_secret", &again)
	if again.S.Secret == "" || again.S.Secret != secret.S.Secret {
		p.fatalf(t, "an edit of the name changed the signing secret from %q to %q", secret.S.Secret, again.S.Secret)
	}
	p.do(t, "hide the notice", chromedp.Evaluate[chromedp.Void](`document.querySelector('#notice').textContent = ''`))
	p.do(t, "no signing", setInput(scheme, "none"))
	p.do(t, "save", chromedp.Click(chromedp.CSS("#wh-save")))
	p.waitFor(t, "the save is confirmed", `document.querySelector('#notice')?.textContent.startsWith('Saved webhook signed')`, 5*time.Second)
	got = stored{}
	s.getJSON(t, "/api/webhooks/signed", &got)
	if sg := got.Webhook.Signing; sg != nil && sg.Scheme != "none" {
		p.fatalf(t, "saved with no signing, the webhook signs with %+v", sg)
	}
	p.consoleErrors()
}

// testBrowserWebhookSigningHelp: the signing field's help names the
// headers the chosen scheme's requests carry (those a test send then
// shows) and says nothing of signatures or secrets under none. It said
// where the secret is under every scheme, none too, and named no header.
func testBrowserWebhookSigningHelp(t *testing.T, p *browserPage) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")
	p.openUI(t, s.UI+"#/webhooks/new")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')`, 5*time.Second)
	p.do(t, "fill the endpoint", setInput("#wh-endpoint", receiver.URL+"/hooks"))
	const (
		scheme = `[id="wh-signing.scheme"]`
		help   = `document.getElementById('wh-signing.scheme-help')?.textContent ?? ''`
		sent   = `document.querySelector('#wh-test-result .test-request')`
	)
	headers := map[string][]string{
		"zendesk":           {"X-Zendesk-Webhook-Signature", "X-Zendesk-Webhook-Signature-Timestamp"},
		"standard-webhooks": {"Webhook-Signature", "Webhook-Id", "Webhook-Timestamp"},
		"github":            {"X-Hub-Signature-256"},
		"stripe":            {"Stripe-Signature"},
		"slack":             {"X-Slack-Signature", "X-Slack-Request-Timestamp"},
		"shopify":           {"X-Shopify-Hmac-Sha256"},
		"none":              nil,
	}
	// names: text names header hd, not a longer one holding it
	// (X-Zendesk-Webhook-Signature holds Webhook-Signature).
	names := func(text, hd string) bool {
		return regexp.MustCompile(`(?:^|[^A-Za-z0-9-])` + regexp.QuoteMeta(hd) + `(?:[^A-Za-z0-9-]|$)`).MatchString(text)
	}
	for _, sc := range []string{"zendesk", "standard-webhooks", "github", "stripe", "slack", "shopify", "none", "github"} {
		p.do(t, "signing "+sc, setInput(scheme, sc))
		p.do(t, "test send", chromedp.Click(chromedp.CSS("#wh-test-send")))
		p.waitFor(t, "the test send shows the request", sent, 10*time.Second)
		text := evalIn[string](t, p, help)
		req := evalIn[string](t, p, sent+`.textContent`)
		for _, hd := range headers[sc] {
			if !names(text, hd) {
				p.fatalf(t, "under %s the signing help says %q, not naming %s", sc, text, hd)
			}
			if !strings.Contains(req, "\n"+hd+": ") {
				p.fatalf(t, "under %s the help names %s, which the test send did not carry:\n%s", sc, hd, req)
			}
		}
		for other, hs := range headers {
			for _, hd := range hs {
				if other != sc && !slices.Contains(headers[sc], hd) && names(text, hd) {
					p.fatalf(t, "under %s the signing help names %s's %s: %q", sc, other, hd, text)
				}
			}
		}
		if sc == "none" {
			for _, word := range []string{"HMAC", "secret", "Signature", "Hmac"} {
				if strings.Contains(text, word) {
					p.fatalf(t, "under none the signing help still says %q", text)
				}
			}
		}
	}

	// A saved webhook that signs nothing says so from the start.
	s.mustPost(t, "/api/webhooks", `{"id":"plain","endpoint":`+jsQuote(receiver.URL)+`,"signing":{"scheme":"none"}}`, http.StatusCreated)
	p.openUI(t, s.UI+"#/webhooks/plain")
	p.waitFor(t, "the saved webhook's form shows", `document.querySelector('#webhook-form')?.dataset.keep === 'webhooks/plain' && document.querySelector(`+jsQuote(scheme)+`).value === 'none'`, 10*time.Second)
	if text := evalIn[string](t, p, help); strings.Contains(text, "secret") || strings.Contains(text, "HMAC") {
		p.fatalf(t, "a saved webhook signing nothing has the signing help %q", text)
	}
	p.consoleErrors()
}

// testBrowserWebhookTestSendParams: the test send takes params, one
// name=value a line, and sends them in the order entered (a name
// repeated too): as the URL parameters of a GET webhook, whose form
// offers no payload, and as the fields of a form_encoded one. The form
// had no params at all: a GET webhook's test send always failed ("GET
// sends no body; use params"), and the API sorted params by name.
func testBrowserWebhookTestSendParams(t *testing.T, p *browserPage) {
	var mu sync.Mutex
	got := map[string]string{} // path: the query (GET) or the body
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodGet {
			got[r.URL.Path] = r.URL.RawQuery
		} else {
			got[r.URL.Path] = string(b)
		}
	}))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id":"lookup","endpoint":`+jsQuote(receiver.URL+"/lookup?b=0")+`,"method":"GET"}`, http.StatusCreated)
	s.mustPost(t, "/api/webhooks", `{"id":"formy","endpoint":`+jsQuote(receiver.URL+"/form")+`,"format":"form_encoded"}`, http.StatusCreated)
	const (
		shown    = `(sel) => { const e = document.querySelector(sel); return !!e && e.getClientRects().length > 0; }`
		params   = "z=1\na=2\nz=3\n\nm = x y&"
		inOrder  = "z=1&a=2&z=3&m=x+y%26"
		result   = `document.querySelector('#wh-test-result .test-result')`
		resultOK = result + `?.classList.contains('outcome-success')`
	)
	visible := func(sel string) bool { return evalIn[bool](t, p, `(`+shown+`)(`+jsQuote(sel)+`)`) }

	p.openUI(t, s.UI+"#/webhooks/lookup")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')?.value.includes('/lookup')`, 10*time.Second)
	if visible("#wh-test-payload") || !visible("#wh-test-params") {
		p.fatalf(t, "a GET webhook's test send shows the payload %v and the params %v, want the params alone", visible("#wh-test-payload"), visible("#wh-test-params"))
	}
	p.do(t, "enter params", setInput("#wh-test-params", params))
	p.do(t, "test send", chromedp.Click(chromedp.CSS("#wh-test-send")))
	p.waitFor(t, "the test send shows its result", result, 10*time.Second)
	if !evalIn[bool](t, p, resultOK) {
		p.fatalf(t, "the GET test send: %s", evalIn[string](t, p, `document.querySelector('#wh-test-result').textContent`))
	}
	mu.Lock()
	q := got["/lookup"]
	mu.Unlock()
	if q != "b=0&"+inOrder {
		p.fatalf(t, "the GET test send's query came as %q, want b=0&%s", q, inOrder)
	}

	p.openUI(t, s.UI+"#/webhooks/formy")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')?.value.endsWith('/form')`, 10*time.Second)
	if !visible("#wh-test-payload") || !visible("#wh-test-params") {
		p.fatalf(t, "a form_encoded webhook's test send shows the payload %v and the params %v, want both", visible("#wh-test-payload"), visible("#wh-test-params"))
	}
	// A line with no name is refused in the page, naming the line, and
	// nothing is sent.
	p.do(t, "enter a param with no name", setInput("#wh-test-params", "a=1\n=x"))
	p.do(t, "test send", chromedp.Click(chromedp.CSS("#wh-test-send")))
	p.waitFor(t, "the page refuses it", `document.querySelector('#wh-test-result .error')?.textContent.includes('line 2')`, 10*time.Second)
	mu.Lock()
	_, sent := got["/form"]
	mu.Unlock()
	if sent {
		p.fatalf(t, "a param with no name was sent")
	}
	// The payload stays as it was filled in: the params, given, are the
	// body in its place.
	p.do(t, "enter params beside the payload", setInput("#wh-test-params", params))
	p.do(t, "test send", chromedp.Click(chromedp.CSS("#wh-test-send")))
	p.waitFor(t, "the test send shows its result", result, 10*time.Second)
	if !evalIn[bool](t, p, resultOK) {
		p.fatalf(t, "the form_encoded test send: %s", evalIn[string](t, p, `document.querySelector('#wh-test-result').textContent`))
	}
	browserScreenshot(t, p, "webhook-test-send-params.png")
	mu.Lock()
	b := got["/form"]
	mu.Unlock()
	if b != inOrder {
		p.fatalf(t, "the form_encoded test send's body came as %q, want %s", b, inOrder)
	}

	// A new webhook's fields follow the method and format chosen.
	p.openUI(t, s.UI+"#/webhooks/new")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')`, 10*time.Second)
	if !visible("#wh-test-payload") || visible("#wh-test-params") {
		p.fatalf(t, "a new json POST webhook's test send shows the payload %v and the params %v, want the payload alone", visible("#wh-test-payload"), visible("#wh-test-params"))
	}
	p.do(t, "choose GET", setInput("#wh-method", "GET"))
	if visible("#wh-test-payload") || !visible("#wh-test-params") {
		p.fatalf(t, "with GET chosen the test send shows the payload %v and the params %v, want the params alone", visible("#wh-test-payload"), visible("#wh-test-params"))
	}
	p.consoleErrors()
}

// testBrowserWebhookFormNoNull: a webhook's form, new or saved, holds
// no stray "null": one the config connects to nothing showed "null"
// between its subscriptions and its signing, where the config's
// connections are listed for one it connects.
func testBrowserWebhookFormNoNull(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id":"alone","endpoint":"https://127.0.0.1:9/x"}`, http.StatusCreated)
	for _, page := range []string{"alone", "new"} {
		p.openUI(t, s.UI+"#/webhooks/"+page)
		p.waitFor(t, "the form shows", `document.querySelector('#webhook-form')?.dataset.keep === 'webhooks/`+page+`'`, 10*time.Second)
		stray := evalIn[[]string](t, p, `(() => {
			const out = [];
			const walker = document.createTreeWalker(document.querySelector('#webhook-form'), NodeFilter.SHOW_TEXT);
			for (let n; (n = walker.nextNode());) if (/\b(null|undefined)\b/.test(n.textContent)) out.push(n.textContent);
			return out;
		})()`)
		if len(stray) > 0 {
			p.fatalf(t, "the form of webhook %s holds %q", page, stray)
		}
	}
}

// testBrowserWebhookHeadingFollows: a webhook's page heading follows the
// webhook: its circuit label changes as the breaker opens, and a saved
// name shows. Only the activity log was drawn again, the heading kept
// "circuit closed" and the old name until the page was opened again.
func testBrowserWebhookHeadingFollows(t *testing.T, p *browserPage) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
	}))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")
	def := `{"id":"breaks","endpoint":` + jsQuote(receiver.URL) + `,"subscriptions":["brk.*"],` +
		`"circuit_breaker":{"failure_rate":0.5,"min_attempts":2,"window":"1m","cooldown":"1h"}}`
	s.mustPost(t, "/api/webhooks", def, http.StatusCreated)
	p.openUI(t, s.UI+"#/webhooks/breaks")
	const heading = `document.querySelector('#webhook-title')?.textContent`
	p.waitFor(t, "the heading shows the circuit closed", heading+` === 'breaks circuit closed'`, 10*time.Second)
	for range 3 {
		s.mustPost(t, "/api/events", `{"type":"brk.x","data":{}}`, http.StatusAccepted)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var w struct{ Circuit string }
		s.getJSON(t, "/api/webhooks/breaks", &w)
		if w.Circuit == "open" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the circuit is %q after 3 failures", w.Circuit)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.waitFor(t, "the heading shows the circuit open, until when", heading+`?.startsWith('breaks circuit open until ')`, 10*time.Second)

	p.do(t, "rename", setInput("#wh-name", "Breaks often"))
	p.do(t, "save", chromedp.Click(chromedp.CSS("#wh-save")))
	p.waitFor(t, "the heading shows the saved name", heading+`?.startsWith('Breaks often ')`, 10*time.Second)
	if v := evalIn[string](t, p, `document.querySelector('#wh-name').value`); v != "Breaks often" {
		p.fatalf(t, "after saving, the name field holds %q", v)
	}
	p.consoleErrors()
}

// testBrowserViewTablesReadable: the views' tables keep their short cells
// (headings, counts, kinds, status labels, buttons) on one line when a
// long name or URL shares the row, in a narrow window, and do not overflow
// it. Every cell could break anywhere, so the table gave the long cell
// the room and broke "Exchanges", "mock", "active" and "Clear" a letter or
// two a line.
func testBrowserViewTablesReadable(t *testing.T, p *browserPage) {
	dir := filepath.Join(t.TempDir(), strings.Repeat("a-long-directory-name-", 4))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "hooklab.yaml")
	long := strings.Repeat("segment", 20)
	yaml := "mocks:\n  - name: " + strings.Repeat("rule-name-", 12) + "\n    match: {path: /" + long + "}\n    respond: {status: 200}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	browserCapture(t, s.Capture, "/b/"+strings.Repeat("b", 64)+"/x", `{}`)
	def := `{"id":"` + strings.Repeat("w", 64) + `","name":"` + strings.Repeat("Name ", 30) + `","endpoint":"https://127.0.0.1:9/` + long + `?` + long + `"}`
	s.mustPost(t, "/api/webhooks", def, http.StatusCreated)
	p.do(t, "a narrow window", chromedp.EmulateViewport(800, 900))
	t.Cleanup(func() { chromedp.Run(p.ctx, chromedp.EmulateViewport(1280, 900)) })
	for _, v := range []struct{ hash, ready, short string }{
		{"#/bins", `.bin-row`, `td.num, td button`},
		{"#/rules", `.rule-row`, `td.num, td:nth-child(2)`},
		{"#/webhooks", `.webhook-row .webhook-rate:not(:empty)`, `td.num, td .badge, td:last-child`},
	} {
		p.openUI(t, s.UI+v.hash)
		p.waitFor(t, v.hash+" shows", `document.querySelector(`+jsQuote(v.ready)+`)`, 10*time.Second)
		short := "table.grid thead th, " + strings.ReplaceAll("table.grid "+v.short, ", ", ", table.grid ")
		broken := evalIn[[]string](t, p, `[...document.querySelectorAll(`+jsQuote(short)+`)]
			.filter((e) => {
				const r = document.createRange();
				r.selectNodeContents(e);
				return new Set([...r.getClientRects()].map((x) => Math.round(x.top))).size > 1;
			}).map((e) => e.textContent)`)
		if len(broken) > 0 {
			p.fatalf(t, "%s at 800 px: these short cells break over lines: %q", v.hash, broken)
		}
		if w, cw := evalIn[int](t, p, `document.querySelector('#view-other').scrollWidth`), evalIn[int](t, p, `document.querySelector('#view-other').clientWidth`); w > cw {
			p.fatalf(t, "%s at 800 px: the view is %d px wide in %d", v.hash, w, cw)
		}
	}
}

// testBrowserWebhookFormSurvivesServerAway: what is typed in a webhook's
// form stays through a server restart, even when the view is drawn again
// while the server is away (the activity log's filter changed, a
// redelivery asked for): that failed draw replaced the whole view with
// "hooklab is not reachable", the form and its text with it.
func testBrowserWebhookFormSurvivesServerAway(t *testing.T, p *browserPage) {
	data := t.TempDir()
	first := startServer(t, "--data", data)
	first.mustPost(t, "/api/webhooks", `{"id":"away","endpoint":"https://127.0.0.1:9/x"}`, http.StatusCreated)
	p.openUI(t, first.UI+"#/webhooks/away")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-name')?.value === 'away' && document.querySelector('#act-status')`, 10*time.Second)
	p.do(t, "type a name", setInput("#wh-name", "typed meanwhile"))
	u, err := url.Parse(first.UI)
	if err != nil {
		t.Fatal(err)
	}
	first.Stop(t)
	p.waitFor(t, "the page notices the server is gone", `document.querySelector('#conn').dataset.state === 'closed'`, 5*time.Second)
	p.do(t, "filter the activity log", setInput("#act-status", "failed"))
	p.waitFor(t, "the page says the server is away", `!document.querySelector('#notice').hidden && document.querySelector('#notice').textContent.includes('not reachable')`, 5*time.Second)
	if v := evalIn[string](t, p, `document.querySelector('#wh-name')?.value ?? 'no form'`); v != "typed meanwhile" {
		p.fatalf(t, "with the server away, a draw left the name field as %q", v)
	}
	waitPortFree(t, u.Host)
	startServer(t, "--data", data, "--ui", u.Host)
	p.waitFor(t, "the page reconnects", `document.querySelector('#conn').dataset.state === 'open'`, 15*time.Second)
	p.waitFor(t, "the activity log is drawn again, filtered", `document.querySelector('#act-status')?.value === 'failed' && document.querySelector('.activity p.muted')`, 10*time.Second)
	if v := evalIn[string](t, p, `document.querySelector('#wh-name')?.value ?? 'no form'`); v != "typed meanwhile" {
		p.fatalf(t, "after the restart the name field holds %q", v)
	}
}

// testBrowserWebhookTestSendSaysSaved: a test send of a saved webhook
// whose form has unsaved edits says that it went with the saved
// definition (the edited endpoint was not used), and stops saying so
// once they are saved. It said nothing: the request went to the old
// endpoint, as if the edit had been tried.
func testBrowserWebhookTestSendSaysSaved(t *testing.T, p *browserPage) {
	var hits atomic.Int64
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id":"saved","endpoint":`+jsQuote(receiver.URL+"/old")+`}`, http.StatusCreated)
	p.openUI(t, s.UI+"#/webhooks/saved")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')?.value.endsWith('/old')`, 10*time.Second)
	const note = `document.querySelector('#wh-test-result .test-unsaved')`
	p.do(t, "edit the endpoint", setInput("#wh-endpoint", receiver.URL+"/new"))
	p.do(t, "test send", chromedp.Click(chromedp.CSS("#wh-test-send")))
	p.waitFor(t, "the test send shows the request", `document.querySelector('#wh-test-result .test-request')`, 10*time.Second)
	if req := evalIn[string](t, p, `document.querySelector('#wh-test-result .test-request').textContent`); !strings.Contains(req, "/old") {
		t.Fatalf("the test send of a saved webhook went to\n%s\nwant its saved endpoint", req)
	}
	if got := evalIn[string](t, p, note+`?.textContent ?? ''`); !strings.Contains(got, "saved") {
		p.fatalf(t, "the test send with unsaved edits says %q, want that the saved definition was sent", got)
	}
	p.do(t, "save", chromedp.Click(chromedp.CSS("#wh-save")))
	p.waitFor(t, "the save is confirmed", `document.querySelector('#notice')?.textContent.startsWith('Saved webhook saved')`, 5*time.Second)
	p.do(t, "test send", chromedp.Click(chromedp.CSS("#wh-test-send")))
	p.waitFor(t, "the test send shows the request", `document.querySelector('#wh-test-result .test-request')?.textContent.includes('/new')`, 10*time.Second)
	if evalIn[bool](t, p, `!!`+note) {
		p.fatalf(t, "a test send with nothing unsaved says the edits were not sent")
	}
}

// testBrowserCountsFetchNothing: under the Bins view the stream sends every
// bin, unfiltered, while the traffic list keeps a free-text filter. Each
// exchange that came was fetched whole (revealed) to check it against the
// list's filter, a request to the server per exchange of every bin while
// nothing showed the list; coming back to the traffic reloads the list.
func testBrowserCountsFetchNothing(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	browserCapture(t, s.Capture, "/b/one/x", `{"say":"needle"}`)
	p.openUI(t, s.UI+"?q=needle")
	p.waitFor(t, "the stream is open", `document.querySelector('#conn')?.dataset.state === 'open' && window.hooklab.live.q === 'needle'`, 10*time.Second)

	p.do(t, "open the bins", chromedp.Click(chromedp.CSS(`a.view-link[data-view="bins"]`)))
	p.waitFor(t, "the bins show", `document.querySelector('.bin-row[data-bin="one"] td.num')?.textContent === '1'`, 10*time.Second)
	p.waitFor(t, "the stream is open", `document.querySelector('#conn')?.dataset.state === 'open' && window.hooklab.live.q === ''`, 10*time.Second)
	evalIn[bool](t, p, `(() => {
		window.exchangeGets = 0;
		const f = window.fetch;
		window.fetch = (u, o) => {
			if (/\/api\/exchanges\/[^/?]+/.test(new URL(String(u), location.href).pathname)) window.exchangeGets++;
			return f(u, o);
		};
		return true;
	})()`)
	id := browserCapture(t, s.Capture, "/b/one/y", `{"say":"needle"}`)
	browserCapture(t, s.Capture, "/b/two/y", `{"say":"hay"}`)
	p.waitFor(t, "the counts follow", `document.querySelector('.bin-row[data-bin="one"] td.num')?.textContent === '2' && document.querySelector('.bin-row[data-bin="two"] td.num')?.textContent === '1'`, 10*time.Second)
	if n := evalIn[int](t, p, `window.exchangeGets`); n != 0 {
		p.fatalf(t, "the Bins view fetched %d exchanges whole, to filter a list not shown", n)
	}

	p.do(t, "back to traffic", chromedp.Click(chromedp.CSS(`a.view-link[data-view="traffic"]`)))
	p.waitFor(t, "the exchange that came meanwhile shows", `document.querySelector(`+jsQuote(browserRow(id))+`)`, 10*time.Second)
	p.consoleErrors()
}

// testBrowserDetailFocus: a keyboard user keeps their place. Enter opens
// the selected exchange and takes focus into the pane (its actions were
// reached only by tabbing through every row's link); Escape, the close
// button and Delete give focus back to the list: the row of the exchange
// that was open, or for a deleted one the row that took its place. Focus
// was on a control the closing pane removed, so it fell to the page's
// start.
func testBrowserDetailFocus(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	var ids []string
	for i := range 4 {
		ids = append(ids, browserCapture(t, s.Capture, fmt.Sprintf("/b/focus/%d", i), `{}`))
	}
	p.openUI(t, s.UI)
	p.waitFor(t, "the rows show", `document.querySelectorAll('tr.exchange-row').length === 4`, 5*time.Second)
	// rowOfFocus names the row holding the focus, else what has it.
	const rowOfFocus = `(() => {
		const e = document.activeElement;
		const tr = e && e.closest('tr.exchange-row');
		return tr ? tr.dataset.id : (e ? e.tagName + (e.id ? '#' + e.id : '') + '.' + e.className : 'none');
	})()`
	open := func(id string) {
		t.Helper()
		p.do(t, "focus the row's link", chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsQuote(browserRow(id)+" a.path")+`).focus()`))
		p.do(t, "press Enter on it", pressKey("\r"))
		p.waitFor(t, "the exchange opens", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(id), 5*time.Second)
	}
	focusIn := func(sel string) {
		t.Helper()
		p.do(t, "focus "+sel, chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsQuote(sel)+`).focus()`))
	}
	closed := func(how string, want string) {
		t.Helper()
		p.waitFor(t, how+" closes the pane", `document.querySelector('#detail').dataset.state === 'empty'`, 5*time.Second)
		if got := evalIn[string](t, p, rowOfFocus); got != want {
			p.fatalf(t, "after %s the focus is on %s; want the row %s", how, got, want)
		}
	}

	open(ids[1])
	// j from a row's link takes the focus along to the next row's (it
	// stayed on the old row while the selection moved).
	focusIn(browserRow(ids[1]) + " a.path")
	p.do(t, "press j", pressKey("j"))
	p.waitFor(t, "j opens the next exchange", `document.querySelector('#detail').dataset.id !== `+jsQuote(ids[1]), 5*time.Second)
	next := evalIn[string](t, p, `document.querySelector('#detail').dataset.id`)
	if got := evalIn[string](t, p, rowOfFocus); got != next {
		p.fatalf(t, "after j the focus is on %s; want the row %s, selected now", got, next)
	}
	open(ids[1])
	focusIn("#copy-curl")
	p.do(t, "press Escape", pressKey("\x1b"))
	closed("Escape on Copy curl", ids[1])

	open(ids[2])
	focusIn("#detail button.close")
	p.do(t, "press Enter on the close button", pressKey("\r"))
	closed("the close button", ids[2])

	// Enter, a shortcut from the list, takes focus into the pane.
	p.do(t, "blur", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	p.do(t, "press j twice", pressKey("jj"))
	p.waitFor(t, "j opens the second exchange", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(ids[2]), 5*time.Second)
	p.do(t, "press Enter", pressKey("\r"))
	p.waitFor(t, "focus is in the pane", `document.querySelector('#detail').contains(document.activeElement)`, 5*time.Second)
	// ... and shows where it is: the pane, focused from the keyboard, has
	// the focus ring every control has (it had none).
	if got := evalIn[string](t, p, `document.activeElement === document.querySelector('#detail') ? getComputedStyle(document.activeElement).outlineStyle : 'focus on ' + document.activeElement.tagName`); got != "solid" {
		p.fatalf(t, "the pane Enter focused shows outline %q, want a solid focus ring", got)
	}
	p.do(t, "press Tab", pressKey("\t"))
	if got := evalIn[string](t, p, `document.activeElement.closest('#detail') ? document.activeElement.id || document.activeElement.textContent : 'outside: ' + document.activeElement.tagName`); got != "copy-curl" {
		p.fatalf(t, "Tab from the pane Enter opened goes to %q; want its first action, Copy curl", got)
	}

	// Delete gives focus to the row that takes the deleted one's place.
	focusIn("#detail .button-danger")
	p.do(t, "press Enter on Delete", pressKey("\r"))
	closed("Delete", ids[1])
}

// testBrowserLiveAnnouncesCalmly: a burst of arrivals is announced to a
// screen reader as a few updates with the count, not one per exchange. The
// list's status line ("N exchanges") was a polite live region that
// changed with every arrival, and so was the paused list's "N new" pill:
// 30 arrivals queued 30 announcements.
func testBrowserLiveAnnouncesCalmly(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	browserCapture(t, s.Capture, "/b/calm/first", `{}`)
	p.openUI(t, s.UI)
	p.waitFor(t, "the row shows", `document.querySelectorAll('tr.exchange-row').length === 1`, 5*time.Second)
	// Every text change inside a live region from now on (role=status
	// and role=alert are polite and assertive live regions too).
	p.do(t, "watch the live regions", chromedp.Evaluate[chromedp.Void](`(() => {
		window.announced = [];
		const live = '[aria-live]:not([aria-live="off"]), [role="status"], [role="alert"], [role="log"]';
		new MutationObserver((ms) => {
			for (const m of ms) {
				const el = m.target.nodeType === 1 ? m.target : m.target.parentElement;
				const region = el && el.closest(live);
				if (region && !region.hidden) window.announced.push((region.id || region.className) + ': ' + region.textContent.trim());
			}
		}).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true, attributeFilter: ['hidden'] });
	})()`))
	for _, paused := range []bool{false, true} {
		if paused {
			p.do(t, "press p (pause)", pressKey("p"))
		}
		p.do(t, "forget", chromedp.Evaluate[chromedp.Void](`window.announced = []`))
		for i := range 30 {
			browserCapture(t, s.Capture, fmt.Sprintf("/b/calm/%d", i), `{}`)
			time.Sleep(30 * time.Millisecond) // arrivals apart, as real traffic comes
		}
		want := "31 exchanges"
		if paused {
			want = "30 new"
		}
		// The count is still announced, once the burst is over.
		p.waitFor(t, "a live region says "+want, `window.announced.some((a) => a.includes(`+jsQuote(want)+`))`, 10*time.Second)
		if got := evalIn[[]string](t, p, `window.announced`); len(got) > 3 {
			p.fatalf(t, "paused %v: 30 arrivals made %d live-region changes, want at most 3:\n%s", paused, len(got), strings.Join(got, "\n"))
		}
	}
}

// testBrowserWebhookFormLabelled: every control of the webhook form has a
// label a screen reader reads with it, whichever authentication is chosen.
// The Authentication select had none: its label pointed at
// wh-authentication, and the select's id is wh-authentication.type.
func testBrowserWebhookFormLabelled(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI+"#/webhooks/new")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')`, 5*time.Second)
	for _, auth := range []string{"", "api_key", "basic_auth", "bearer_token"} {
		p.do(t, "authentication "+auth, setInput(`select[name="authentication.type"]`, auth))
		unlabelled := evalIn[[]string](t, p, `[...document.querySelector('#wh-endpoint').form.querySelectorAll('input, select, textarea')]
			.filter((c) => c.type !== 'hidden' && !c.labels.length && !c.getAttribute('aria-label') && !c.getAttribute('aria-labelledby'))
			.map((c) => c.name || c.id)`)
		if len(unlabelled) > 0 {
			p.fatalf(t, "authentication %q: the form's %q have no label", auth, unlabelled)
		}
	}
}

// contrastFailures lists the text in the elements sel matches whose
// contrast with what is behind it is under WCAG AA's (4.5:1, 3:1 from
// 24px or bold 18.66px): colours with alpha and the opacity of ancestors
// are blended over the first opaque background found going up.
const contrastFailures = `((sel) => {
	const parse = (c) => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(/[ ,\/]+/).filter(Boolean).map(Number); return { r: p[0], g: p[1], b: p[2], a: p.length > 3 ? p[3] : 1 }; };
	const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); };
	const lum = (c) => 0.2126 * lin(c.r) + 0.7152 * lin(c.g) + 0.0722 * lin(c.b);
	const over = (top, a, base) => ({ r: top.r * a + base.r * (1 - a), g: top.g * a + base.g * (1 - a), b: top.b * a + base.b * (1 - a) });
	const behind = (el) => {
		const layers = [];
		for (let e = el; e; e = e.parentElement) {
			const c = parse(getComputedStyle(e).backgroundColor);
			if (c && c.a > 0) { layers.push(c); if (c.a >= 1) break; }
		}
		let base = { r: 255, g: 255, b: 255 };
		for (const l of layers.reverse()) base = over(l, l.a, base);
		return base;
	};
	const out = [];
	for (const root of document.querySelectorAll(sel)) {
		const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
		for (let n; (n = walker.nextNode());) {
			const el = n.parentElement;
			if (!n.textContent.trim() || !el.getClientRects().length) continue;
			const cs = getComputedStyle(el);
			let op = 1;
			for (let e = el; e; e = e.parentElement) op *= parseFloat(getComputedStyle(e).opacity);
			const bg = behind(el);
			const fg = parse(cs.color);
			const a = lum(over(fg, fg.a * op, bg)), b = lum(bg);
			const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
			const size = parseFloat(cs.fontSize);
			const need = size >= 24 || (parseInt(cs.fontWeight, 10) >= 700 && size >= 18.66) ? 3 : 4.5;
			if (ratio < need) out.push(n.textContent.trim().slice(0, 30) + ': ' + ratio.toFixed(2) + ' (' + cs.color + ')');
		}
	}
	return out;
})`

// testBrowserSelectedRowContrast: the text of the selected row reads at
// WCAG AA contrast in the light and the dark theme. The muted columns
// (time, size, duration) were 4.38:1 on the light theme's selection and
// 4.31:1 on the dark one's, and some methods' colours less.
func testBrowserSelectedRowContrast(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	for _, m := range []string{"GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
		req, err := http.NewRequest(m, s.Capture+"b/contrast/"+strings.ToLower(m), nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		res.Body.Close()
	}
	for _, theme := range []string{"light", "dark"} {
		p.openUI(t, s.UI)
		p.do(t, "theme "+theme, chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.theme = `+jsQuote(theme)))
		p.waitFor(t, "the rows show", `document.querySelectorAll('tr.exchange-row').length === 6`, 5*time.Second)
		for i := range 6 {
			p.do(t, "press j", pressKey("j"))
			p.waitFor(t, "a row is selected", fmt.Sprintf(`document.querySelector('tr.exchange-row.selected')?.getAttribute('aria-rowindex') === '%d'`, i+2), 5*time.Second)
			if bad := evalIn[[]string](t, p, contrastFailures+`('tr.exchange-row.selected')`); len(bad) > 0 {
				browserScreenshot(t, p, "selected-row-"+theme+".png")
				p.fatalf(t, "%s theme: in the selected row %q", theme, bad)
			}
		}
	}
}

// testBrowserStatusContrast: every status the list shows reads at WCAG AA
// contrast in both themes, "–" (no answer: a delivery that could not
// connect) too, which was grey on grey at 4.19:1 in the light theme.
func testBrowserStatusContrast(t *testing.T, p *browserPage) {
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(cfg, []byte(`mocks:
  - name: moved
    match: {path: /moved}
    respond: {status: 302, headers: {Location: /elsewhere}}
  - name: gone
    match: {path: /gone}
    respond: {status: 404}
  - name: fail
    match: {path: /fail}
    respond: {status: 500}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	// A webhook whose endpoint refuses connections: its attempt is
	// recorded without a status.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := "http://" + ln.Addr().String() + "/hook"
	ln.Close()
	s.mustPost(t, "/api/webhooks", `{"id":"dead","endpoint":`+jsQuote(dead)+`,"subscriptions":["dead.*"]}`, http.StatusCreated)
	s.mustPost(t, "/api/events", `{"type":"dead.x","data":{}}`, http.StatusAccepted)
	for _, path := range []string{"/b/st/ok", "/b/st/moved", "/b/st/gone", "/b/st/fail"} {
		res, err := http.Get(s.Capture + strings.TrimPrefix(path, "/"))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	for _, theme := range []string{"light", "dark"} {
		p.openUI(t, s.UI)
		p.do(t, "theme "+theme, chromedp.Evaluate[chromedp.Void](`document.documentElement.dataset.theme = `+jsQuote(theme)))
		p.waitFor(t, "every status shows", `['s2xx', 's3xx', 's4xx', 's5xx', 'snone'].every((c) => document.querySelector('tr.exchange-row .status.' + c))`, 10*time.Second)
		if bad := evalIn[[]string](t, p, contrastFailures+`('tr.exchange-row .status')`); len(bad) > 0 {
			p.fatalf(t, "%s theme: statuses under AA contrast: %q", theme, bad)
		}
	}
}

// testBrowserPanelFocus: the replay and edit-and-resend panels close with
// Escape or their Cancel button and give focus back to the button that
// opens them. Escape only left the field (focus fell to the page's start,
// the panel open), and Cancel removed itself with the panel's contents,
// focus falling to the page's start too.
func testBrowserPanelFocus(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	id := browserCapture(t, s.Capture, "/b/panel/x", `{"a":1}`)
	p.openExchange(t, s.UI, id)
	const focused = `document.activeElement.id || document.activeElement.tagName`
	panelClosed := func(how, want string) {
		t.Helper()
		p.waitFor(t, how+" closes the panel", `document.querySelector('#action-panel').hidden`, 5*time.Second)
		if got := evalIn[string](t, p, focused); got != want {
			p.fatalf(t, "after %s the focus is on %s; want %s", how, got, want)
		}
		if state := evalIn[string](t, p, `document.querySelector('#detail').dataset.state`); state != "ready" {
			p.fatalf(t, "after %s the pane is %q; want it still open", how, state)
		}
	}

	p.do(t, "press r", pressKey("r"))
	p.waitFor(t, "the replay panel opens", `document.activeElement.id === 'replay-target'`, 5*time.Second)
	p.do(t, "press Escape", pressKey("\x1b"))
	panelClosed("Escape in the replay target", "replay-open")

	p.do(t, "press e", pressKey("e"))
	p.waitFor(t, "the edit panel opens", `document.activeElement.id === 'edit-method'`, 5*time.Second)
	p.do(t, "focus Cancel", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('#action-panel button')].find((b) => b.textContent === 'Cancel').focus()`))
	p.do(t, "press Enter on Cancel", pressKey("\r"))
	panelClosed("Cancel in the edit panel", "edit-open")
}

// testBrowserShortcutsEscapeKeepsDetail: Escape in the keyboard shortcuts
// dialog closes the dialog and nothing else. The page's own Escape handler
// heard the key too (focus was on the dialog's Close button, not a field)
// and closed the exchange open behind it; j and k moved the list under it.
func testBrowserShortcutsEscapeKeepsDetail(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	first := browserCapture(t, s.Capture, "/b/keys/first", `{"a":1}`)
	id := browserCapture(t, s.Capture, "/b/keys/second", `{"a":2}`)
	p.openExchange(t, s.UI, id)

	p.do(t, "press ?", pressKey("?"))
	p.waitFor(t, "the shortcuts dialog opens", `document.querySelector('#shortcuts').open`, 5*time.Second)
	p.do(t, "press j", pressKey("j"))
	p.do(t, "press Escape", pressKey("\x1b"))
	p.waitFor(t, "the dialog closes", `!document.querySelector('#shortcuts').open`, 5*time.Second)
	time.Sleep(200 * time.Millisecond) // a close of the pane would have come with the key
	got := evalIn[map[string]string](t, p, `({hash: location.hash, state: document.querySelector('#detail').dataset.state, id: document.querySelector('#detail').dataset.id || ''})`)
	if got["hash"] != "#/exchanges/"+id || got["state"] != "ready" || got["id"] != id {
		p.fatalf(t, "after j and Escape in the shortcuts dialog the page is %v; want the exchange %s still open (not %s)", got, id, first)
	}
}

// testBrowserLongTextWraps: a replay result's long URL and a webhook's long
// name, neither with a place to break, wrap in their views. The result's
// summary and the webhook's heading kept them on one line, so the view
// scrolled sideways across tens of thousands of pixels.
func testBrowserLongTextWraps(t *testing.T, p *browserPage) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, `{}`) }))
	t.Cleanup(target.Close)
	s := startServer(t, "--memory")
	p.do(t, "1280x800", chromedp.EmulateViewport(1280, 800))
	id := browserCapture(t, s.Capture, "/b/long/"+strings.Repeat("x", 4000), `{}`)
	resp, body := s.api(t, http.MethodPost, "/api/replay", strings.NewReader(`{"ids":[`+jsQuote(id)+`],"target":`+jsQuote(target.URL)+`}`))
	var run struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &run); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /api/replay: %d %s", resp.StatusCode, body)
	}
	resp, body = s.api(t, http.MethodPost, "/api/webhooks", strings.NewReader(`{"id":"long","name":`+jsQuote(strings.Repeat("n", 250))+`,"endpoint":`+jsQuote(target.URL)+`}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /api/webhooks: %d %s", resp.StatusCode, body)
	}
	const wide = `(() => { const v = document.querySelector('#view-other'); return v.scrollWidth - v.clientWidth; })()`
	for _, view := range []struct{ hash, ready string }{
		{"#/replays/" + run.ID, `document.querySelector('.run-result > summary')`},
		{"#/webhooks/long", `document.querySelector('#view-other h2')?.textContent.startsWith('nnn')`},
	} {
		p.openUI(t, s.UI+view.hash)
		p.waitFor(t, view.hash+" shows", view.ready, 10*time.Second)
		if over := evalIn[float64](t, p, wide); over > 0 {
			p.fatalf(t, "%s is %.0f px wider than its view", view.hash, over)
		}
	}
}

// testBrowserActivityFilterEmpty: a webhook's activity log filtered to a
// status none of its invocations has says that nothing matches the filter.
// It said "No invocations yet." of a webhook that had delivered.
func testBrowserActivityFilterEmpty(t *testing.T, p *browserPage) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id":"ok","endpoint":`+jsQuote(receiver.URL)+`,"subscriptions":["ok.*"]}`, http.StatusCreated)
	s.mustPost(t, "/api/events", `{"type":"ok.x","data":{}}`, http.StatusAccepted)
	waitInvocations(t, s, "ok", 1)

	p.openUI(t, s.UI+"#/webhooks/ok")
	p.waitFor(t, "the activity log shows the delivery", `document.querySelectorAll('.activity .invocation-row').length === 1`, 10*time.Second)
	p.do(t, "filter on failed", setInput("#act-status", "failed"))
	p.waitFor(t, "the filtered log is drawn", `document.querySelector('#act-status').value === 'failed' && !document.querySelector('.activity .invocation-row')`, 10*time.Second)
	if got := evalIn[string](t, p, `document.querySelector('.activity').innerText`); strings.Contains(got, "yet") || !strings.Contains(got, "match") {
		p.fatalf(t, "the log filtered to failed reads %q; want it to say no invocation matches the filter", got)
	}
}

// testBrowserViewsKeepFocus: a keyboard user's focus stays on the control
// they were on when a live event draws a view again: the activity log's
// status filter and an invocation's Attempts button (a new invocation),
// a bin's Copy button (new traffic), the bin name box (a bin created with
// Enter). Each was replaced by a copy drawn afresh, and the focus fell to
// the page's start.
func testBrowserViewsKeepFocus(t *testing.T, p *browserPage) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id":"kf","endpoint":`+jsQuote(receiver.URL)+`,"subscriptions":["kf.*"]}`, http.StatusCreated)
	event := func() {
		t.Helper()
		s.mustPost(t, "/api/events", `{"type":"kf.x","data":{}}`, http.StatusAccepted)
	}
	event()
	waitInvocations(t, s, "kf", 1)
	const focused = `(() => { const e = document.activeElement; return e ? e.tagName + (e.id ? '#' + e.id : '') + (e.getAttribute('aria-label') ? '[' + e.getAttribute('aria-label') + ']' : '') : 'none'; })()`
	keeps := func(what, sel string, change func(), redrawn string) {
		t.Helper()
		p.do(t, "focus "+sel, chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsQuote(sel)+`).focus()`))
		want := evalIn[string](t, p, focused)
		change()
		p.waitFor(t, what+": the view is drawn again", redrawn, 10*time.Second)
		if got := evalIn[string](t, p, focused); got != want {
			p.fatalf(t, "%s: the focus went from %s to %s", what, want, got)
		}
	}
	rows := `document.querySelectorAll('.activity .invocation-row').length`
	p.openUI(t, s.UI+"#/webhooks/kf")
	p.waitFor(t, "the activity log shows", rows+` === 1`, 10*time.Second)
	keeps("a new invocation, on the status filter", "#act-status", event, rows+` === 2`)
	keeps("a new invocation, on Attempts", `.invocation-row button[aria-label^="Attempts"]`, event, rows+` === 3`)

	browserCapture(t, s.Capture, "/b/traffic/x", `{}`)
	p.do(t, "to the bins", chromedp.Evaluate[chromedp.Void](`location.hash = '#/bins'`))
	p.waitFor(t, "the bins show", `document.querySelector('.bin-row[data-bin="traffic"]')`, 10*time.Second)
	keeps("new traffic, on a bin's Copy", `.bin-row[data-bin="traffic"] button`, func() { browserCapture(t, s.Capture, "/b/traffic/y", `{}`) },
		`document.querySelector('.bin-row[data-bin="traffic"] td.num')?.textContent === '2'`)
	keeps("a bin created, on its name", "#bin-name", func() {
		p.do(t, "type a name and Enter", chromedp.SendKeys("#bin-name", "made\r"))
	}, `document.querySelector('.bin-row[data-bin="made"]')`)
}

// testBrowserWebhookErrorsDescribeFields: a validation error shown by a
// field of the webhook form is that field's description, so a screen
// reader says it on the field (and says which field an error it announces
// belongs to). The message sat beside the control, tied to nothing.
func testBrowserWebhookErrorsDescribeFields(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI+"#/webhooks/new")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')`, 5*time.Second)
	p.do(t, "choose bearer auth", setInput(`select[name="authentication.type"]`, "bearer_token"))
	p.do(t, "a header name with a space", setInput("#wh-custom_headers", "Bad Header: x"))
	p.do(t, "an endpoint that is no URL", setInput("#wh-endpoint", "not a url"))
	p.waitFor(t, "the header error shows", `document.querySelector('#wh-custom_headers-error')?.textContent.includes('Bad Header')`, 10*time.Second)
	// described lists the text each control of the form is described by.
	described := evalIn[map[string]string](t, p, `Object.fromEntries([...document.querySelector('#wh-endpoint').form.querySelectorAll('input, select, textarea')]
		.map((c) => [c.name, (c.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean).map((id) => document.getElementById(id)?.textContent || '').join(' ')]))`)
	for name, want := range map[string]string{"custom_headers": "Bad Header", "endpoint": "endpoint must be an absolute URL", "authentication.token": "token is required for bearer_token"} {
		if !strings.Contains(described[name], want) {
			p.fatalf(t, "the field %s is described by %q, want its error (%q)", name, described[name], want)
		}
	}
}

// testBrowserEnterFoldsSection: Enter on a section's heading in the detail
// pane (a summary: Overview, Request headers, …) folds and unfolds it, as
// it does on any page. The page's Enter, "open the selected exchange",
// took it: the section stayed as it was and the focus went to the pane.
func testBrowserEnterFoldsSection(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	id := browserCapture(t, s.Capture, "/b/fold/x", `{"a":1}`)
	p.openExchange(t, s.UI, id)
	const section = `document.querySelector('.section-request-headers')`
	p.do(t, "focus the section's summary", chromedp.Evaluate[chromedp.Void](section+`.querySelector('summary').focus()`))
	for _, open := range []bool{false, true} {
		p.do(t, "press Enter", pressKey("\r"))
		p.waitFor(t, fmt.Sprintf("the section is open: %v", open), fmt.Sprintf(section+`.open === %v`, open), 5*time.Second)
		if on := evalIn[bool](t, p, `document.activeElement === `+section+`.querySelector('summary')`); !on {
			p.fatalf(t, "after Enter on the summary the focus is on %s", evalIn[string](t, p, `document.activeElement.tagName + '#' + document.activeElement.id`))
		}
	}
}

// pressArrow sends the arrow key named key ("ArrowDown", "ArrowUp") down
// and up, as a keyboard does.
func pressArrow(key string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		code := map[string]int64{"ArrowUp": 38, "ArrowDown": 40}[key]
		for _, typ := range []input.DispatchKeyEventType{input.DispatchKeyEventTypeRawKeyDown, input.DispatchKeyEventTypeKeyUp} {
			ev := input.DispatchKeyEventParams{Type: typ, Key: key, Code: key, WindowsVirtualKeyCode: code, NativeVirtualKeyCode: code}
			if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, ev); err != nil {
				return err
			}
		}
		return nil
	})
}

// testBrowserArrowsScrollDetail: the arrow keys scroll the detail pane
// while the focus is in it (the pane Enter focused, a body), as j and k
// still move through the list. They opened the next exchange instead, and
// the focus, on a part of the pane drawn anew, fell to the page's start:
// a keyboard user could not scroll a long body line by line.
func testBrowserArrowsScrollDetail(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	older := browserCapture(t, s.Capture, "/b/arrows/older", `{}`)
	id := browserCapture(t, s.Capture, "/b/arrows/long", `{"a":[`+strings.Repeat(`{"x":1},`, 300)+`1]}`)
	p.openExchange(t, s.UI, id)
	// How far the pane and the body are scrolled, together.
	const scrolled = `(document.querySelector('#detail').scrollTop + (document.querySelector('#detail pre.body-json')?.scrollTop || 0))`
	for _, sel := range []string{"#detail", "#detail pre.body-json"} {
		p.do(t, "scroll to the top", chromedp.Evaluate[chromedp.Void](`document.querySelector('#detail').scrollTop = 0; document.querySelector('#detail pre.body-json').scrollTop = 0`))
		p.do(t, "focus "+sel, chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsQuote(sel)+`).focus({ preventScroll: true })`))
		before := evalIn[float64](t, p, scrolled)
		p.do(t, "press ArrowDown", pressArrow("ArrowDown"))
		p.do(t, "press ArrowDown", pressArrow("ArrowDown"))
		p.waitFor(t, "ArrowDown on "+sel+" scrolls", scrolled+` > `+strconv.FormatFloat(before, 'f', -1, 64), 5*time.Second)
		time.Sleep(200 * time.Millisecond) // an exchange opened would have been by now
		got := evalIn[map[string]any](t, p, `({id: document.querySelector('#detail').dataset.id, in: document.querySelector('#detail').contains(document.activeElement)})`)
		if got["id"] != id || got["in"] != true {
			p.fatalf(t, "after ArrowDown on %s the pane shows %v (want %s, not %s) and the focus in it is %v", sel, got["id"], id, older, got["in"])
		}
	}
	p.do(t, "blur", chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	p.do(t, "press j", pressKey("j"))
	p.waitFor(t, "j still opens the next exchange", `document.querySelector('#detail').dataset.id === `+jsQuote(older), 5*time.Second)
}

// testBrowserMoveKeepsFocusInPane: j and k pressed on a control of the
// detail pane (Copy curl, a body) open the next exchange and leave the
// focus on the pane, where Tab reaches the new exchange's actions. The
// control was drawn anew with the pane, and the focus fell to the page's
// start.
func testBrowserMoveKeepsFocusInPane(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	first := browserCapture(t, s.Capture, "/b/move/a", `{"a":1}`)
	second := browserCapture(t, s.Capture, "/b/move/b", `{"a":2}`)
	p.openExchange(t, s.UI, second)
	for _, step := range []struct{ key, from, to string }{{"j", "#copy-curl", first}, {"k", "#detail pre.body-json", second}} {
		p.do(t, "focus "+step.from, chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsQuote(step.from)+`).focus()`))
		p.do(t, "press "+step.key, pressKey(step.key))
		p.waitFor(t, step.key+" opens the next exchange", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(step.to), 5*time.Second)
		if in := evalIn[bool](t, p, `document.querySelector('#detail').contains(document.activeElement)`); !in {
			p.fatalf(t, "after %s on %s the focus is on %s, out of the pane", step.key, step.from, evalIn[string](t, p, `document.activeElement.tagName`))
		}
	}
}

// testBrowserMarkKeyTrafficOnly: x marks the selected exchange for export
// on the traffic view alone, as the list's other keys do. On the Webhooks
// view (a form's x typed outside a field, say) it unmarked, or marked, the
// row selected in the hidden list.
func testBrowserMarkKeyTrafficOnly(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	id := browserCapture(t, s.Capture, "/b/mark/a", `{}`)
	p.openExchange(t, s.UI, id)
	p.do(t, "press x", pressKey("x"))
	p.waitFor(t, "it is marked", `document.querySelector('#marked-count').textContent === '1 marked'`, 5*time.Second)
	p.do(t, "to the webhooks", chromedp.Evaluate[chromedp.Void](`location.hash = '#/webhooks'`))
	p.waitFor(t, "the webhooks show", `document.querySelector('#webhooks-title')`, 5*time.Second)
	p.do(t, "press x", pressKey("x"))
	if got := evalIn[string](t, p, `document.querySelector('#marked-count').textContent`); got != "1 marked" {
		p.fatalf(t, "x on the Webhooks view left the traffic list with %q, want 1 marked", got)
	}
}

// testBrowserRetentionRemoves: exchanges retention deletes (here the
// oldest past --retain-count) leave the page's list, its counts and the
// export selection, and the detail pane showing one says it was removed.
// The page listed them until it was reloaded, and a click on one found
// nothing.
func testBrowserRetentionRemoves(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory", "--retain-count", "4")
	var ids []string
	for i := range 4 {
		ids = append(ids, browserCapture(t, s.Capture, fmt.Sprintf("/b/kept/%d", i), `{}`))
	}
	p.openUI(t, s.UI)
	p.waitFor(t, "the list loads", `window.hooklab.list.size === 4`, 5*time.Second)
	p.do(t, "open the oldest", chromedp.Evaluate[chromedp.Void](`location.hash = '#/exchanges/`+ids[0]+`'`))
	p.waitFor(t, "its detail shows", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(ids[0]), 5*time.Second)
	p.do(t, "mark the second oldest", chromedp.Evaluate[chromedp.Void](`window.hooklab.list.toggleMark(`+jsQuote(ids[1])+`)`))
	p.waitFor(t, "it is marked", `document.querySelector('#marked-count').textContent === '1 marked'`, 5*time.Second)

	for i := range 2 {
		ids = append(ids, browserCapture(t, s.Capture, fmt.Sprintf("/b/kept/new%d", i), `{}`))
	}
	p.waitFor(t, "the two oldest leave the list", `window.hooklab.list.size === 4 && !document.querySelector(`+jsQuote(browserRow(ids[0]))+`) && !document.querySelector(`+jsQuote(browserRow(ids[1]))+`)`, 5*time.Second)
	for _, id := range ids[2:] {
		if !evalIn[bool](t, p, `!!document.querySelector(`+jsQuote(browserRow(id))+`)`) {
			p.fatalf(t, "exchange %s, still stored, left the list too", id)
		}
	}
	p.waitFor(t, "the pane says the open one was removed", `document.querySelector('#detail').dataset.state === 'error' && document.querySelector('#detail .detail-error')?.textContent.includes('removed by retention')`, 5*time.Second)
	if got := evalIn[string](t, p, `document.querySelector('#list-status').textContent`); got != "4 exchanges" {
		t.Errorf("list status %q, want 4 exchanges", got)
	}
	if !evalIn[bool](t, p, `document.querySelector('#marked-count').hidden`) {
		t.Errorf("the removed exchange is still marked for export: %q", evalIn[string](t, p, `document.querySelector('#marked-count').textContent`))
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserRetentionWhileLoading: what retention deletes while a list
// page or the detail pane's exchange is on its way, read before the
// deletes, is gone when it comes. The page's fetches are held (by a
// wrapper of fetch) after the server answered until the retained
// messages are in. The pane showed the removed exchange as if it were
// there: it ignored retention's message while loading.
func testBrowserRetentionWhileLoading(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory", "--retain-count", "4")
	var ids []string
	for i := range 4 {
		ids = append(ids, browserCapture(t, s.Capture, fmt.Sprintf("/b/held/%d", i), `{}`))
	}
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	// A list page (the first load) and, once holdDetail is set, an
	// exchange's detail are held, answered, until released.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `(() => {
  window.held = { list: 0, detail: 0 };
  window.holdList = true;
  window.holdDetail = false;
  let releaseList, releaseDetail;
  const listGate = new Promise((r) => { releaseList = r; });
  const detailGate = new Promise((r) => { releaseDetail = r; });
  window.release = { list: () => { window.holdList = false; releaseList(); }, detail: () => { window.holdDetail = false; releaseDetail(); } };
  const fetch0 = window.fetch.bind(window);
  window.fetch = async (u, o) => {
    const path = new URL(String(u && u.url || u), location.href).pathname;
    const kind = path === '/api/exchanges' && window.holdList ? 'list'
      : /^\/api\/exchanges\/[0-9A-Za-z]+$/.test(path) && window.holdDetail ? 'detail' : '';
    if (!kind) return fetch0(u, o);
    const res = await fetch0(u, o); // read by the server before the deletes
    window.held[kind]++;
    await (kind === 'list' ? listGate : detailGate);
    return res;
  };
})()`}); err != nil {
		t.Fatal(err)
	}
	p.do(t, "open the UI", chromedp.Navigate(s.UI))
	p.waitFor(t, "the first list page is answered and held", `window.held && window.held.list >= 1 && !!window.hooklab`, 10*time.Second)
	p.do(t, "count retention's deletes", chromedp.Evaluate[chromedp.Void](`(() => {
  window.retainedDeleted = 0;
  const live = window.hooklab.live, on = live.onMessage;
  live.onMessage = (m) => { on(m); if (m.type === 'retained') window.retainedDeleted += m.deleted; };
})()`))
	for i := range 2 {
		ids = append(ids, browserCapture(t, s.Capture, fmt.Sprintf("/b/held/new%d", i), `{}`))
	}
	p.waitFor(t, "the page hears of the two deleted", `window.retainedDeleted === 2`, 5*time.Second)
	p.do(t, "release the list page", chromedp.Evaluate[chromedp.Void](`window.release.list()`))
	p.waitFor(t, "the list shows the four stored", `window.hooklab.list.size === 4 && document.querySelector('#list-status').textContent === '4 exchanges'`, 5*time.Second)
	for i, id := range ids {
		if shown := evalIn[bool](t, p, `!!document.querySelector(`+jsQuote(browserRow(id))+`)`); shown != (i >= 2) {
			p.fatalf(t, "exchange %d (%s) listed: %v, want %v", i, id, shown, i >= 2)
		}
	}

	// The oldest stored opens while retention deletes it.
	p.do(t, "hold details", chromedp.Evaluate[chromedp.Void](`window.holdDetail = true`))
	p.do(t, "open the oldest", chromedp.Evaluate[chromedp.Void](`location.hash = '#/exchanges/`+ids[2]+`'`))
	p.waitFor(t, "its detail is answered and held", `window.held.detail === 1`, 5*time.Second)
	ids = append(ids, browserCapture(t, s.Capture, "/b/held/new2", `{}`))
	p.waitFor(t, "the page hears of it deleted", `window.retainedDeleted === 3 && !document.querySelector(`+jsQuote(browserRow(ids[2]))+`)`, 5*time.Second)
	p.do(t, "release the detail", chromedp.Evaluate[chromedp.Void](`window.release.detail()`))
	p.waitFor(t, "the pane says it was removed", `document.querySelector('#detail').dataset.state === 'error' && document.querySelector('#detail .detail-error')?.textContent.includes('removed by retention')`, 5*time.Second)
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserDeletedElsewhere: an exchange deleted by another page or a
// script leaves this page's list, and its detail pane when open; a bin
// cleared elsewhere empties the list. The page kept showing them until
// it was reloaded.
func testBrowserDeletedElsewhere(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	var ids []string
	for i := range 3 {
		ids = append(ids, browserCapture(t, s.Capture, fmt.Sprintf("/b/gone/%d", i), `{}`))
	}
	p.openUI(t, s.UI)
	p.waitFor(t, "the list loads", `window.hooklab.list.size === 3`, 5*time.Second)
	p.do(t, "open the newest", chromedp.Evaluate[chromedp.Void](`location.hash = '#/exchanges/`+ids[2]+`'`))
	p.waitFor(t, "its detail shows", `!!document.querySelector('[aria-label="Delete this exchange"]')`, 5*time.Second)

	if resp, b := s.api(t, "DELETE", "/api/exchanges/"+strings.ToLower(ids[2]), nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	p.waitFor(t, "it leaves the list and the pane", `window.hooklab.list.size === 2 && !document.querySelector(`+jsQuote(browserRow(ids[2]))+`) && !document.querySelector('[aria-label="Delete this exchange"]')`, 5*time.Second)
	if !evalIn[bool](t, p, `!!document.querySelector(`+jsQuote(browserRow(ids[0]))+`)`) {
		t.Errorf("another exchange left the list too")
	}

	if resp, b := s.api(t, "DELETE", "/api/exchanges?bin=gone", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("clear: %d %s", resp.StatusCode, b)
	}
	p.waitFor(t, "the cleared bin leaves the list", `window.hooklab.list.size === 0 && !document.querySelector('tr.exchange-row')`, 5*time.Second)
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserRetentionUnbounded: a retained message too large to say
// which exchanges went (no bound: list again) also asks whether the
// exchange the pane shows is still there, and says so when it is not.
// The pane kept showing it. The page's own delete message is held back,
// so only the retained one can tell it.
func testBrowserRetentionUnbounded(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	var ids []string
	for i := range 3 {
		ids = append(ids, browserCapture(t, s.Capture, fmt.Sprintf("/b/unbounded/%d", i), `{}`))
	}
	p.openUI(t, s.UI)
	p.waitFor(t, "the list loads", `window.hooklab.list.size === 3`, 5*time.Second)
	p.do(t, "open the oldest", chromedp.Evaluate[chromedp.Void](`location.hash = '#/exchanges/`+ids[0]+`'`))
	p.waitFor(t, "its detail shows", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(ids[0]), 5*time.Second)
	evalIn[bool](t, p, `(() => {
		const live = window.hooklab.live, on = live.onMessage;
		window.deliver = on;
		live.onMessage = (m) => { if (m.type !== 'deleted') on(m); };
		return true;
	})()`)
	if resp, b := s.api(t, "DELETE", "/api/exchanges/"+strings.ToLower(ids[0]), nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	evalIn[bool](t, p, `(window.deliver({type: 'retained', deleted: 1200}), true)`)
	p.waitFor(t, "the list is listed again", `window.hooklab.list.size === 2`, 5*time.Second)
	p.waitFor(t, "the pane says the open one was removed", `document.querySelector('#detail').dataset.state === 'error' && document.querySelector('#detail .detail-error')?.textContent.includes('removed by retention')`, 5*time.Second)
	// The one error expected: the 404 that says it is gone.
	for _, e := range p.consoleErrors() {
		if !strings.Contains(e, "404") || !strings.Contains(e, "/api/exchanges/"+ids[0]) {
			t.Errorf("console error: %s", e)
		}
	}
}

// testBrowserRetentionKeepsFocus: a keyboard user's focus on a row that
// retention (or a delete elsewhere) takes away moves to the nearest row
// that stays, as after a delete made in the page. The row left the DOM
// with the focus on it, and the focus fell to the page's body: Tab
// started again from the top of the page.
func testBrowserRetentionKeepsFocus(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory", "--retain-count", "4")
	var ids []string
	for i := range 4 {
		ids = append(ids, browserCapture(t, s.Capture, fmt.Sprintf("/b/focus/%d", i), `{}`))
	}
	p.openUI(t, s.UI)
	p.waitFor(t, "the list loads", `window.hooklab.list.size === 4`, 5*time.Second)
	focused := `(document.activeElement.closest('tr.exchange-row')?.dataset.id || document.activeElement.tagName) + (document.activeElement.matches('a.path') ? ' link' : '')`

	// The oldest, focused and opened with Enter, goes by retention.
	p.do(t, "focus the oldest row", chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsQuote(browserRow(ids[0])+" a.path")+`).focus()`))
	p.do(t, "open it", pressKey("\r"))
	p.waitFor(t, "its detail shows", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(ids[0]), 5*time.Second)
	p.do(t, "focus its row again", chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsQuote(browserRow(ids[0])+" a.path")+`).focus()`))
	ids = append(ids, browserCapture(t, s.Capture, "/b/focus/new0", `{}`))
	p.waitFor(t, "the oldest leaves the list", `!document.querySelector(`+jsQuote(browserRow(ids[0]))+`) && document.querySelector('#detail').dataset.state === 'error'`, 5*time.Second)
	if got, want := evalIn[string](t, p, focused), ids[1]+" link"; got != want {
		p.fatalf(t, "the focus is on %q after retention took the focused row, want the next row's link (%s)", got, want)
	}

	// A row deleted elsewhere, focused and not open, in the middle.
	p.do(t, "focus a middle row", chromedp.Evaluate[chromedp.Void](`document.querySelector(`+jsQuote(browserRow(ids[3])+" a.path")+`).focus()`))
	if resp, b := s.api(t, "DELETE", "/api/exchanges/"+strings.ToLower(ids[3]), nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	p.waitFor(t, "it leaves the list", `!document.querySelector(`+jsQuote(browserRow(ids[3]))+`)`, 5*time.Second)
	if got, want := evalIn[string](t, p, focused), ids[2]+" link"; got != want {
		p.fatalf(t, "the focus is on %q after a delete elsewhere took the focused row, want the next older row's link (%s)", got, want)
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserPausedHeldNotEmpty: a paused list whose rows retention
// deleted while new ones were held says what it holds, not "No
// exchanges yet.": the empty page's welcome showed beside the "2 new"
// pill, with the status line blank, while the store held both.
func testBrowserPausedHeldNotEmpty(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory", "--retain-count", "2")
	for i := range 2 {
		browserCapture(t, s.Capture, fmt.Sprintf("/b/held/%d", i), `{}`)
	}
	p.openUI(t, s.UI)
	p.waitFor(t, "the list loads", `window.hooklab.list.size === 2`, 5*time.Second)
	p.do(t, "pause", chromedp.Click(chromedp.CSS("#follow")))
	p.waitFor(t, "paused", `document.querySelector('#follow').getAttribute('aria-pressed') === 'false'`, 5*time.Second)
	for i := range 3 {
		browserCapture(t, s.Capture, fmt.Sprintf("/b/held/new%d", i), `{}`)
	}
	p.waitFor(t, "retention empties the list and two are held", `window.hooklab.list.size === 0 && window.hooklab.list.held.length === 2 && document.querySelector('#new-pill').textContent === '2 new'`, 5*time.Second)
	if !evalIn[bool](t, p, `document.querySelector('#empty').hidden`) {
		p.fatalf(t, "the list says %q while paused with 2 held", evalIn[string](t, p, `document.querySelector('#empty .empty-title').textContent`))
	}
	if got := evalIn[string](t, p, `document.querySelector('#list-status').textContent`); !strings.Contains(got, "2 new exchanges are held while paused") {
		p.fatalf(t, "the list status says %q, want that 2 new exchanges are held while paused", got)
	}
	p.do(t, "follow", chromedp.Click(chromedp.CSS("#follow")))
	p.waitFor(t, "the held ones show", `window.hooklab.list.size === 2 && document.querySelector('#list-status').textContent === '2 exchanges' && document.querySelector('#empty').hidden`, 5*time.Second)
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserWebhookParamsHelpFollows: the test send's params help says
// where the params go for the method and format the test uses: a GET or
// DELETE webhook's in the URL, a form_encoded one's as its fields in
// place of the payload. It said the same for all, naming form_encoded to
// a GET webhook and never that its params went in the URL.
func testBrowserWebhookParamsHelpFollows(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id":"gethelp","endpoint":"http://127.0.0.1:9/h","method":"GET"}`, http.StatusCreated)
	s.mustPost(t, "/api/webhooks", `{"id":"formhelp","endpoint":"http://127.0.0.1:9/h","format":"form_encoded"}`, http.StatusCreated)
	help := `document.querySelector('#wh-test-params-help').textContent`
	check := func(what, wantIn, wantOut string) {
		t.Helper()
		got := evalIn[string](t, p, help)
		if !strings.Contains(got, wantIn) || strings.Contains(got, wantOut) {
			p.fatalf(t, "%s: the params help says %q, want it to say %q and not %q", what, got, wantIn, wantOut)
		}
		if !evalIn[bool](t, p, `document.querySelector('#wh-test-params').getAttribute('aria-describedby') === 'wh-test-params-help'`) {
			p.fatalf(t, "%s: the params box is not described by its help", what)
		}
	}
	p.openUI(t, s.UI+"#/webhooks/gethelp")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-test-params-help')`, 10*time.Second)
	check("a GET webhook", "URL parameters (GET sends no body)", "form_encoded")
	p.openUI(t, s.UI+"#/webhooks/formhelp")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')?.value === 'http://127.0.0.1:9/h' && document.querySelector('#wh-format').value === 'form_encoded'`, 10*time.Second)
	check("a form_encoded POST webhook", "in place of the payload", "URL parameters")
	p.openUI(t, s.UI+"#/webhooks/new")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-method')`, 10*time.Second)
	p.do(t, "choose DELETE", chromedp.Evaluate[chromedp.Void](`(() => { const m = document.querySelector('#wh-method'); m.value = 'DELETE'; m.dispatchEvent(new Event('change', { bubbles: true })); })()`))
	check("a new DELETE webhook", "URL parameters (DELETE sends no body)", "form_encoded")
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Logf("console errors (the live validation's 400s): %v", errs)
	}
}

// testBrowserRetentionKeysGoOn: after retention takes the row whose
// exchange the detail pane shows, j and k go on from where that row was:
// k to the row above it, j to the one below (none here: retention takes
// the oldest first). The removed row left nothing selected, and j opened
// the newest exchange, at the top of the list, as on a page with nothing
// open.
func testBrowserRetentionKeysGoOn(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory", "--retain-count", "5")
	var ids []string
	for i := range 5 {
		ids = append(ids, browserCapture(t, s.Capture, fmt.Sprintf("/b/keys/%d", i), `{}`))
	}
	p.openUI(t, s.UI)
	p.waitFor(t, "the list loads", `window.hooklab.list.size === 5`, 5*time.Second)
	shows := func(id string) string {
		return `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === ` + jsQuote(id)
	}
	p.do(t, "open the second oldest", chromedp.Evaluate[chromedp.Void](`location.hash = '#/exchanges/`+ids[1]+`'`))
	p.waitFor(t, "its detail shows", shows(ids[1]), 5*time.Second)
	for i := range 2 {
		ids = append(ids, browserCapture(t, s.Capture, fmt.Sprintf("/b/keys/new%d", i), `{}`))
	}
	p.waitFor(t, "the two oldest leave the list, the pane says so", `window.hooklab.list.size === 5 && !document.querySelector(`+jsQuote(browserRow(ids[1]))+`) && document.querySelector('#detail').dataset.state === 'error'`, 5*time.Second)

	// j has no row below the removed one to go to, and stays: k then
	// opens the row that was above it. Had j gone to the top, k would
	// have nowhere to go.
	p.do(t, "focus the page", chromedp.Evaluate[chromedp.Void](`document.activeElement?.blur()`))
	p.do(t, "press j, then k", pressKey("jk"))
	p.waitFor(t, "k opens the row above the removed one", shows(ids[2]), 5*time.Second)
	p.do(t, "press k", pressKey("k"))
	p.waitFor(t, "k goes on up", shows(ids[3]), 5*time.Second)
	p.do(t, "press j", pressKey("j"))
	p.waitFor(t, "j goes back down", shows(ids[2]), 5*time.Second)
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
