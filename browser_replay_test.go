package main

// Browser tests of replay: the detail's Replay panel, the list of runs and
// a run's page. Run by TestBrowser.

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// testBrowserReplayResultGoesStale: the Replay panel's result belongs to
// the target it was replayed to. Once the target box says something else
// (a bad target the browser's bubble refuses, so nothing is sent), the
// earlier result is marked as earlier and for which target, not left
// under the bubble as if it were the new target's; typing the old target
// back makes it current again.
func testBrowserReplayResultGoesStale(t *testing.T, p *browserPage) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(target.Close)
	s := startServer(t, "--memory")
	id := browserCapture(t, s.Capture, "/b/stale/orders", `{}`)
	p.openExchange(t, s.UI, id)
	p.do(t, "press r", pressKey("r"))
	p.waitFor(t, "the replay panel opens", `document.activeElement.id === 'replay-target'`, 5*time.Second)
	p.do(t, "type the target", setInput("#replay-target", target.URL))
	p.do(t, "replay", chromedp.Click(chromedp.CSS("#replay-send")))
	p.waitFor(t, "the result shows", `document.querySelector('.replay-result .outcome')`, 15*time.Second)

	p.do(t, "type a bad target", setInput("#replay-target", "not a url"))
	p.do(t, "try to replay", chromedp.Click(chromedp.CSS("#replay-send")))
	if evalIn[bool](t, p, `document.querySelector('#replay-target').checkValidity()`) {
		p.fatalf(t, "the browser takes %q as a URL; the test wants one it refuses", "not a url")
	}
	type out struct {
		Stale string
		Text  string
	}
	read := func() out {
		return evalIn[out](t, p, `(() => { const o = document.querySelector('.replay-result'); return { Stale: o.dataset.stale ?? '', Text: o.innerText }; })()`)
	}
	if got := read(); got.Text != "" && (got.Stale != "true" || !strings.HasPrefix(got.Text, "Earlier result, to "+target.URL+":")) {
		p.fatalf(t, "under a target the browser refuses, the panel shows %+v: the earlier result as if it were this target's; want it cleared or marked earlier, naming %s", got, target.URL)
	}
	p.do(t, "type the first target again", setInput("#replay-target", target.URL))
	if got := read(); got.Stale != "" || strings.Contains(got.Text, "Earlier") || !strings.HasPrefix(got.Text, "differ") {
		p.fatalf(t, "back at the target replayed to, the panel shows %+v; want its result, current", got)
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserReplayDiffColumnsAlign: on a run's page the changes of every
// result sit in the same columns (Where, Kind, Recorded, Replayed start
// and end at the same x), so the eye runs down one column across results.
// Each result's table sized its columns to its own content: a long path in
// one result pushed its Recorded column right of the next result's.
func testBrowserReplayDiffColumnsAlign(t *testing.T, p *browserPage) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/long") {
			w.Write([]byte(`{"ok":true,"a_rather_long_field_name_that_the_new_build_added_here":"with a value long enough to take room of its own in the table"}`))
			return
		}
		w.Write([]byte(`{"ok":false}`))
	}))
	t.Cleanup(target.Close)
	s := startServer(t, "--memory")
	a := browserCapture(t, s.Capture, "/b/cols/short", `{}`)
	b := browserCapture(t, s.Capture, "/b/cols/long", `{}`)
	body := s.mustPost(t, "/api/replay", `{"ids":[`+jsQuote(a)+`,`+jsQuote(b)+`],"target":`+jsQuote(target.URL)+`}`, http.StatusAccepted)
	var run struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &run); err != nil || run.ID == "" {
		t.Fatalf("POST /api/replay: %s (%v)", body, err)
	}
	p.openUI(t, s.UI+"#/replays/"+run.ID)
	p.waitFor(t, "both results show their changes", `document.querySelectorAll('.view-replay .run-result table').length === 2`, 10*time.Second)
	cols := evalIn[[][][2]int](t, p, `[...document.querySelectorAll('.view-replay .run-result table')].map((tb) =>
		[...tb.querySelectorAll('thead th')].map((th) => { const r = th.getBoundingClientRect(); return [Math.round(r.left), Math.round(r.right)]; }))`)
	browserScreenshot(t, p, "replay-diff-columns.png")
	if len(cols) != 2 || len(cols[0]) != 4 || !reflect.DeepEqual(cols[0], cols[1]) {
		p.fatalf(t, "the two results' columns (left, right of Where, Kind, Recorded, Replayed) are %v; want them at the same x", cols)
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserReplaysSayWhat: the list of replay runs says what each run
// replayed (the exchanges by id, linked, or the filter, and how many, with
// its overrides) beside its target, secrets REDACTED, and so does a run's
// page. The list showed a run's id, state, target and counts only: two
// runs of different bins to one target read alike.
func testBrowserReplaysSayWhat(t *testing.T, p *browserPage) {
	const keySecret, authSecret = "RSWKEY123", "RSWAUTH456"
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(target.Close)
	s := startServer(t, "--memory")
	for range 3 {
		browserCapture(t, s.Capture, "/b/listed/orders", `{}`)
	}
	one := browserCapture(t, s.Capture, "/b/other/x", `{}`)
	start := func(spec string) string {
		var run struct {
			ID string `json:"id"`
		}
		body := s.mustPost(t, "/api/replay", spec, http.StatusAccepted)
		if err := json.Unmarshal(body, &run); err != nil || run.ID == "" {
			t.Fatalf("POST /api/replay %s: %s (%v)", spec, body, err)
		}
		return run.ID
	}
	byFilter := start(`{"filter":{"bin":"listed"},"target":` + jsQuote(target.URL+"/?api_key="+keySecret) + `,"override":{"set_headers":[["Authorization","Bearer ` + authSecret + `"]]}}`)
	byID := start(`{"ids":[` + jsQuote(one) + `],"target":` + jsQuote(target.URL) + `}`)

	p.openUI(t, s.UI+"#/replays")
	row := func(id string) string { return `.run-row[data-run="` + id + `"]` }
	p.waitFor(t, "both runs show", `document.querySelector(`+jsQuote(row(byFilter))+`) && document.querySelector(`+jsQuote(row(byID))+`)`, 10*time.Second)
	type cells struct{ Selection, Target, Link, Row string }
	read := func(id string) cells {
		return evalIn[cells](t, p, `(() => { const r = document.querySelector(`+jsQuote(row(id))+`); const c = r.querySelector('.run-selection');
			return { Selection: c?.textContent ?? 'no cell', Target: r.cells[3]?.textContent ?? '', Link: c?.querySelector('a')?.getAttribute('href') ?? '', Row: r.textContent }; })()`)
	}
	got := read(byFilter)
	if want := "3 exchanges matching bin=listed; header Authorization: REDACTED"; got.Selection != want || got.Target != target.URL+"/?api_key=REDACTED" {
		p.fatalf(t, "the filter's run reads %+v; want %q replayed to its target, api_key REDACTED", got, want)
	}
	if strings.Contains(got.Row, keySecret) || strings.Contains(got.Row, authSecret) {
		p.fatalf(t, "the filter's run shows a secret: %q", got.Row)
	}
	if got := read(byID); got.Selection != "1 exchange: "+one || got.Link != "#/exchanges/"+one {
		p.fatalf(t, "the run by id reads %+v; want %q, the id linked to its exchange", got, "1 exchange: "+one)
	}

	p.openUI(t, s.UI+"#/replays/"+byFilter)
	p.waitFor(t, "the run's page shows", `document.querySelector('.view-replay .run-selection')`, 10*time.Second)
	want := "Replayed 3 exchanges matching bin=listed; header Authorization: REDACTED to " + target.URL + "/?api_key=REDACTED"
	if got := evalIn[string](t, p, `document.querySelector('.view-replay .run-selection').textContent`); got != want {
		p.fatalf(t, "the run's page reads %q; want %q", got, want)
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserReplayResultOwnColors: a replay result that differs has its
// summary line in the outcome's colour, and the rest (the links, the
// Where and Kind of each change) in the page's: the colour of "differ"
// went to the whole result, so the paths and kinds read in orange, the
// same as the recorded values' red at a glance.
func testBrowserReplayResultOwnColors(t *testing.T, p *browserPage) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"ok":false}`))
	}))
	t.Cleanup(target.Close)
	s := startServer(t, "--memory")
	id := browserCapture(t, s.Capture, "/b/colors/x", `{}`)
	body := s.mustPost(t, "/api/replay", `{"ids":[`+jsQuote(id)+`],"target":`+jsQuote(target.URL)+`}`, http.StatusAccepted)
	var run struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &run); err != nil || run.ID == "" {
		t.Fatalf("POST /api/replay: %s (%v)", body, err)
	}
	p.openUI(t, s.UI+"#/replays/"+run.ID)
	p.waitFor(t, "the result's changes show", `document.querySelector('.run-result .diff-row td')`, 10*time.Second)
	type colors struct{ Page, Summary, Where, Kind, Links string }
	got := evalIn[colors](t, p, `(() => { const c = (el) => el ? getComputedStyle(el).color : 'none'; const r = document.querySelector('.run-result');
		return { Page: c(document.querySelector('.view-replay h2')), Summary: c(r.querySelector('summary')), Where: c(r.querySelector('.diff-row td')),
			Kind: c(r.querySelector('.diff-row td:nth-child(2)')), Links: c(r.querySelector('summary + p')) }; })()`)
	if got.Summary == got.Page || got.Where != got.Page || got.Kind != got.Page || got.Links != got.Page {
		p.fatalf(t, "a result that differs is coloured %+v; want its summary in the outcome's colour and the rest in the page's", got)
	}
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
