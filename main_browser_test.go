package main

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/performance"
	"github.com/chromedp/cdproto/tracing"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
	"github.com/gorilla/websocket"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/ui"
)

// The browser tests drive the real UI in headless Chromium against a real
// server started through run. They skip when no Chromium is installed,
// unless HOOKLAB_REQUIRE_BROWSER=1 (as in CI), when they fail instead.
//
//	go test -race -run Browser .
//	go test -race -run Browser/Reconnect .   # one of them
//
// On failure a test saves a screenshot and names its path. The file is under
// the test's temporary directory, which the testing package deletes when the
// test ends; set HOOKLAB_BROWSER_ARTIFACTS=DIR to keep screenshots in DIR.

// browserPage is one tab of a headless Chromium.
type browserPage struct {
	ctx context.Context

	mu         sync.Mutex
	exceptions []string // uncaught exceptions and unhandled rejections in the page
	errors     []string // console and browser-log errors ("Failed to load resource: …"), exceptions too
}

// consoleErrors returns the errors the page's console has shown since the
// last call, and forgets them.
func (p *browserPage) consoleErrors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	errs := p.errors
	p.errors = nil
	return errs
}

// findChromium returns the path of Chromium, or skips (or fails, when
// HOOKLAB_REQUIRE_BROWSER=1) the test when there is none.
func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("HOOKLAB_REQUIRE_BROWSER") == "1" {
		t.Fatal("no Chromium found on PATH (chromium, chromium-browser, google-chrome) and HOOKLAB_REQUIRE_BROWSER=1")
	}
	t.Skip("no Chromium found on PATH; install Debian's chromium to run the browser tests")
	return ""
}

// browser is one headless Chromium, shared by the subtests of TestBrowser;
// each subtest gets a tab of its own.
type browser struct {
	ctx context.Context
}

// newBrowser starts a headless Chromium with a fresh profile. It stops when
// the test ends.
func newBrowser(t *testing.T) *browser {
	t.Helper()
	execPath := findChromium(t)
	profile := t.TempDir()
	// Chromium makes its singleton socket's folder under TMPDIR and leaves
	// it behind when it is stopped: one org.chromium.Chromium.* in /tmp a
	// run. Under the test's own temporary folder it goes with the test.
	tmp := t.TempDir()

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(execPath),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(profile),
		chromedp.Env("TMPDIR="+tmp),
		chromedp.WindowSize(1280, 900),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	// Cleanups run last-registered first: close the browser, wait for its
	// process, then clear the profile (its helper processes can write there
	// for a moment after the browser exits) before TempDir's own cleanup.
	t.Cleanup(func() { removeProfile(profile); removeProfile(tmp) })
	t.Cleanup(cancelAlloc)
	t.Cleanup(cancelBrowser)

	// The first Do starts the browser; it must not run under a timeout.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start %s: %v", execPath, err)
	}
	return &browser{ctx: ctx}
}

// newPage opens a tab that closes when the test ends. The test fails if the
// page throws an uncaught exception or leaves a promise rejection unhandled.
func (b *browser) newPage(t *testing.T) *browserPage {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx)
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	p := &browserPage{ctx: ctx}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == chromedp.ConsoleError {
				p.mu.Lock()
				if m.IsException() {
					p.exceptions = append(p.exceptions, m.String())
				}
				p.errors = append(p.errors, fmt.Sprintf("%s (%s)", m.String(), m.URL))
				p.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if len(p.exceptions) > 0 {
			t.Errorf("the page threw:\n%s", strings.Join(p.exceptions, "\n"))
		}
	})
	return p
}

// browserScreenshot saves a full screenshot of the page as name under
// HOOKLAB_BROWSER_ARTIFACTS, for a person to look at the layout; nothing
// when that is not set.
func browserScreenshot(t *testing.T, p *browserPage, name string) {
	t.Helper()
	dir := os.Getenv("HOOKLAB_BROWSER_ARTIFACTS")
	if dir == "" {
		return
	}
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name), buf, 0o644)
	}
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
	}
}

// removeProfile deletes a browser profile, retrying while helper processes
// that outlive the browser still write in it.
func removeProfile(dir string) {
	for range 50 {
		if err := os.RemoveAll(dir); err == nil {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// fatalf saves a screenshot of the page and fails the test, naming the file.
func (p *browserPage) fatalf(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	dir := os.Getenv("HOOKLAB_BROWSER_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	}
	name := filepath.Join(dir, strings.NewReplacer("/", "_", " ", "_").Replace(t.Name())+".png")
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err == nil {
		err = os.WriteFile(name, buf, 0o644)
	}
	if err != nil {
		t.Fatalf("%s\n(no screenshot: %v)", msg, err)
	}
	t.Fatalf("%s\nscreenshot: %s", msg, name)
}

// do runs actions with a timeout, failing the test with a screenshot.
func (p *browserPage) do(t *testing.T, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 15*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		p.fatalf(t, "%s: %v", what, err)
	}
}

// clickNow clicks the element sel finds once there is one, in the page:
// in a view drawn again as live events come (the activity log),
// chromedp.Click's node can be replaced between its query and its click
// ("Could not find node with given id").
func (p *browserPage) clickNow(t *testing.T, what, sel string) {
	t.Helper()
	p.waitFor(t, what, `(() => { const el = document.querySelector(`+jsQuote(sel)+`); if (!el) return false; el.click(); return true; })()`, 10*time.Second)
}

// openExchange opens the UI at ui with exchange id shown, and waits for
// its detail to be drawn.
func (p *browserPage) openExchange(t *testing.T, ui, id string) {
	t.Helper()
	p.openUI(t, ui+"#/exchanges/"+id)
	p.waitFor(t, "the exchange opens", `document.querySelector('#detail').dataset.state === 'ready'`, 5*time.Second)
}

// evalIn evaluates a JavaScript expression in the page and decodes its value into T.
func evalIn[T any](t *testing.T, p *browserPage, expr string) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		p.fatalf(t, "evaluate %s: %v", expr, err)
	}
	return v
}

// waitFor polls a JavaScript expression until it is true, and returns how
// long that took. It fails the test after timeout. Polling from Go (and not
// from a page function) survives reloads and reconnects of the page.
func (p *browserPage) waitFor(t *testing.T, what, expr string, timeout time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(timeout)
	var lastErr error
	for {
		ctx, cancel := context.WithTimeout(p.ctx, 2*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")"))
		cancel()
		if err == nil && ok {
			return time.Since(start)
		}
		lastErr = err
		if time.Now().After(deadline) {
			if lastErr != nil {
				p.fatalf(t, "%s: not within %v (last error: %v)", what, timeout, lastErr)
			}
			p.fatalf(t, "%s: not within %v", what, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// openUI loads the UI and waits until the stream is connected and the first
// list has loaded, so that anything captured from now on must arrive live.
func (p *browserPage) openUI(t *testing.T, uiURL string) {
	t.Helper()
	p.do(t, "open "+uiURL, chromedp.Navigate(uiURL))
	p.waitFor(t, "the stream connects (#conn open)", `document.querySelector('#conn')?.dataset.state === 'open'`, 10*time.Second)
	p.waitFor(t, "the first list loads", `document.querySelector('#list-status')?.textContent !== 'Loading…'`, 10*time.Second)
}

// browserCapture sends a JSON POST to the capture listener and returns the id of
// the exchange it recorded.
func browserCapture(t *testing.T, captureURL, path, body string, header ...string) string {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, strings.TrimSuffix(captureURL, "/")+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", req.URL, err)
	}
	defer res.Body.Close()
	var answer struct {
		OK bool   `json:"ok"`
		ID string `json:"id"`
	}
	if err := json.NewDecoder(res.Body).Decode(&answer); err != nil || res.StatusCode != http.StatusOK || answer.ID == "" {
		t.Fatalf("POST %s: status %d, answer %+v, err %v", req.URL, res.StatusCode, answer, err)
	}
	return answer.ID
}

// browserRow selects the list row of an exchange.
func browserRow(id string) string {
	return fmt.Sprintf(`tr.exchange-row[data-id=%q]`, id)
}

// jsQuote makes s a JavaScript string literal.
func jsQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBrowser runs the UI in headless Chromium against real servers.
func TestBrowser(t *testing.T) {
	b := newBrowser(t)
	tests := []struct {
		name string
		run  func(*testing.T, *browserPage)
	}{
		{"LiveListAndDetail", testBrowserLiveListAndDetail},
		{"DetailCloseInCorner", testBrowserDetailCloseInCorner},
		{"NoConsoleErrorsOnLoad", testBrowserNoConsoleErrorsOnLoad},
		{"Bins", testBrowserBins},
		{"ReconnectsAfterRestart", testBrowserReconnectsAfterRestart},
		{"RulesError", testBrowserRulesError},
		{"NearMiss", testBrowserNearMiss},
		{"ResyncReloads", testBrowserResyncReloads},
		{"ArrivalDuringReloadKept", testBrowserArrivalDuringReloadKept},
		{"ShownRowStaysThroughReload", testBrowserShownRowStaysThroughReload},
		{"FreeTextFilterStreamsFiltered", testBrowserFreeTextFilterStreamsFiltered},
		{"FilterInURL", testBrowserFilterInURL},
		{"EditAndResend", testBrowserEditAndResend},
		{"DiffBodies", testBrowserDiffBodies},
		{"MatchPathEscaped", testBrowserMatchPathEscaped},
		{"WebhookForm", testBrowserWebhookForm},
		{"WebhookEditClears", testBrowserWebhookEditClears},
		{"WebhookEditWithCredential", testBrowserWebhookEditWithCredential},
		{"WebhookConfigWarnings", testBrowserWebhookConfigWarnings},
		{"WebhookConfigReadOnly", testBrowserWebhookConfigReadOnly},
		{"ReplayIgnoredGreyed", testBrowserReplayIgnoredGreyed},
		{"LargeBody", testBrowserLargeBody},
		{"RevealRedacted", testBrowserRevealRedacted},
		{"HostileBodies", testBrowserHostileBodies},
		{"BidiControlsShown", testBrowserBidiControlsShown},
		{"MultipartLabel", testBrowserMultipartLabel},
		{"ThemeToggle", testBrowserThemeToggle},
		{"Layout", testBrowserLayout},
		{"RowLabels", testBrowserRowLabels},
		{"LongTitleAndConnect", testBrowserLongTitleAndConnect},
		{"ScanFilterLooksFurther", testBrowserScanFilterLooksFurther},
		{"QuotedAndRefusedFilters", testBrowserQuotedAndRefusedFilters},
		{"CompressedBody", testBrowserCompressedBody},
		{"EditResendKeepsURL", testBrowserEditResendKeepsURL},
		{"PathTermMatchesServer", testBrowserPathTermMatchesServer},
		{"ResetKeepsArrivalOrder", testBrowserResetKeepsArrivalOrder},
		{"StoreErrorBanner", testBrowserStoreErrorBanner},
		{"BinsAndRulesFollowTraffic", testBrowserBinsAndRulesFollowTraffic},
		{"EditResendUneditedBody", testBrowserEditResendUneditedBody},
		{"XMLViewQuiet", testBrowserXMLViewQuiet},
		{"EditResendLargeBody", testBrowserEditResendLargeBody},
		{"ReconnectKeepsPlace", testBrowserReconnectKeepsPlace},
		{"DeleteNewLowersPill", testBrowserDeleteNewLowersPill},
		{"DeletedElsewhere", testBrowserDeletedElsewhere},
		{"RetentionRemoves", testBrowserRetentionRemoves},
		{"RetentionWhileLoading", testBrowserRetentionWhileLoading},
		{"RetentionUnbounded", testBrowserRetentionUnbounded},
		{"RetentionKeepsFocus", testBrowserRetentionKeepsFocus},
		{"RetentionKeysGoOn", testBrowserRetentionKeysGoOn},
		{"PausedHeldNotEmpty", testBrowserPausedHeldNotEmpty},
		{"PausedReconnectHolds", testBrowserPausedReconnectHolds},
		{"CountsFollowOtherBins", testBrowserCountsFollowOtherBins},
		{"CountsFetchNothing", testBrowserCountsFetchNothing},
		{"ActivityPaging", testBrowserActivityPaging},
		{"ActivityAttemptsStayOpen", testBrowserActivityAttemptsStayOpen},
		{"ReplayRunKeepsFolds", testBrowserReplayRunKeepsFolds},
		{"WebhookSigningScheme", testBrowserWebhookSigningScheme},
		{"WebhookSigningHelp", testBrowserWebhookSigningHelp},
		{"WebhookTestSendParams", testBrowserWebhookTestSendParams},
		{"WebhookParamsHelpFollows", testBrowserWebhookParamsHelpFollows},
		{"WebhookFormNoNull", testBrowserWebhookFormNoNull},
		{"WebhookHeadingFollows", testBrowserWebhookHeadingFollows},
		{"ViewTablesReadable", testBrowserViewTablesReadable},
		{"WebhookFormSurvivesServerAway", testBrowserWebhookFormSurvivesServerAway},
		{"WebhookTestSendSaysSaved", testBrowserWebhookTestSendSaysSaved},
		{"DetailFocus", testBrowserDetailFocus},
		{"LiveAnnouncesCalmly", testBrowserLiveAnnouncesCalmly},
		{"WebhookFormLabelled", testBrowserWebhookFormLabelled},
		{"SelectedRowContrast", testBrowserSelectedRowContrast},
		{"StatusContrast", testBrowserStatusContrast},
		{"PanelFocus", testBrowserPanelFocus},
		{"ShortcutsEscapeKeepsDetail", testBrowserShortcutsEscapeKeepsDetail},
		{"LongTextWraps", testBrowserLongTextWraps},
		{"ActivityFilterEmpty", testBrowserActivityFilterEmpty},
		{"ViewsKeepFocus", testBrowserViewsKeepFocus},
		{"WebhookErrorsDescribeFields", testBrowserWebhookErrorsDescribeFields},
		{"EnterFoldsSection", testBrowserEnterFoldsSection},
		{"ArrowsScrollDetail", testBrowserArrowsScrollDetail},
		{"MoveKeepsFocusInPane", testBrowserMoveKeepsFocusInPane},
		{"MarkKeyTrafficOnly", testBrowserMarkKeyTrafficOnly},
		{"WebhookAuthEdits", testBrowserWebhookAuthEdits},
		{"WebhookAuthFieldCleared", testBrowserWebhookAuthFieldCleared},
		{"WebhookAuthSwitchBack", testBrowserWebhookAuthSwitchBack},
		{"JSONFoldOneLine", testBrowserJSONFoldOneLine},
		{"ConfigWebhookNoExamples", testBrowserConfigWebhookNoExamples},
		{"NarrowTablesScroll", testBrowserNarrowTablesScroll},
		{"RulesShowConnections", testBrowserRulesShowConnections},
		{"WebhookCircuitUntil", testBrowserWebhookCircuitUntil},
		{"CircuitUntilPasses", testBrowserCircuitUntilPasses},
		{"ActivityWaiting", testBrowserActivityWaiting},
		{"ActivityThrottled", testBrowserActivityThrottled},
		{"ActivityRetrying", testBrowserActivityRetrying},
		{"ReplayWarnings", testBrowserReplayWarnings},
		{"ReplayTargetRedacted", testBrowserReplayTargetRedacted},
		{"ReplayFormForgetsSecrets", testBrowserReplayFormForgetsSecrets},
		{"WebhooksListFollows", testBrowserWebhooksListFollows},
		{"WebhookPageFollows", testBrowserWebhookPageFollows},
		{"ActivityWaitingFollows", testBrowserActivityWaitingFollows},
		{"ReplayTextDiffSideBySide", testBrowserReplayTextDiffSideBySide},
		{"WebhookSecretsMasked", testBrowserWebhookSecretsMasked},
		{"BinNameRefusedSaysWhy", testBrowserBinNameRefusedSaysWhy},
		{"WebhookHeaderLines", testBrowserWebhookHeaderLines},
		{"ShortcutsDialogFits", testBrowserShortcutsDialogFits},
		{"MultipartNarrow", testBrowserMultipartNarrow},
		{"EmitLinksWebhook", testBrowserEmitLinksWebhook},
		{"WebhookTestErrorsByField", testBrowserWebhookTestErrorsByField},
		{"EmptyBinSaysBin", testBrowserEmptyBinSaysBin},
		{"ReplayResultGoesStale", testBrowserReplayResultGoesStale},
		{"ReplayDiffColumnsAlign", testBrowserReplayDiffColumnsAlign},
		{"ReplaysSayWhat", testBrowserReplaysSayWhat},
		{"ReplayResultOwnColors", testBrowserReplayResultOwnColors},
		{"WebhookTestSendWarnings", testBrowserWebhookTestSendWarnings},
		{"WebhookNameCharacters", testBrowserWebhookNameCharacters},
		{"WebhookFieldMessages", testBrowserWebhookFieldMessages},
		{"WebhookPageWarnings", testBrowserWebhookPageWarnings},
		{"WebhookAuthLabels", testBrowserWebhookAuthLabels},
		{"WebhookTestResultColours", testBrowserWebhookTestResultColours},
		{"DetailActionsWrapWhole", testBrowserDetailActionsWrapWhole},
		{"MultipartColumns", testBrowserMultipartColumns},
		{"NarrowViewNames", testBrowserNarrowViewNames},
		{"RowEnterFocusesPane", testBrowserRowEnterFocusesPane},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.run(t, b.newPage(t)) })
	}
}

// liveBudget is how soon a captured request must show in the open page: the
// issue asks for 1 s; the budget leaves room for a machine running the whole
// suite under the race detector, and the test logs the time it took.
const liveBudget = 2 * time.Second

func testBrowserLiveListAndDetail(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory", "--max-body", "1KiB")
	p.openUI(t, s.UI)

	const payload = `{"event":"ticket.created","ticket":{"id":12345678901234567890,"priority":"urgent","tags":["a","b"],"requester":{"email":"ann@example.com"},"custom":{}},"ok":true}`
	id := browserCapture(t, s.Capture, "/b/browser/hooks/zendesk?source=test", payload, "X-Hooklab-Test", "browser")
	took := p.waitFor(t, "the new exchange appears in the list", `document.querySelector(`+jsQuote(browserRow(id))+`)`, liveBudget)
	t.Logf("the exchange appeared %v after its answer", took)

	row := evalIn[map[string]string](t, p, `(() => {
		const r = document.querySelector(`+jsQuote(browserRow(id))+`);
		return {
			method: r.querySelector('.cell-method').textContent,
			path: r.querySelector('.cell-path .path').textContent,
			status: r.querySelector('.cell-status').textContent,
			statusClass: r.querySelector('.cell-status .status').className,
			bin: r.querySelector('.cell-bin').textContent,
			first: document.querySelector('tr.exchange-row').dataset.id,
		};
	})()`)
	want := map[string]string{
		"method": "POST", "path": "/b/browser/hooks/zendesk", "status": "200",
		"statusClass": "status s2xx", "bin": "browser", "first": id,
	}
	for k, v := range want {
		if row[k] != v {
			p.fatalf(t, "row %s = %q, want %q (row %v)", k, row[k], v, row)
		}
	}

	p.do(t, "click the row", chromedp.Click(chromedp.CSS(browserRow(id))))
	p.waitFor(t, "the detail pane shows the exchange",
		`document.querySelector('#detail')?.dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(id), 5*time.Second)

	var pretty bytes.Buffer
	if err := json.Indent(&pretty, []byte(payload), "", "  "); err != nil {
		t.Fatal(err)
	}
	gotJSON := evalIn[string](t, p, `document.querySelector('#detail [data-part="request"] pre.body-json')?.textContent ?? ''`)
	if gotJSON != pretty.String() {
		p.fatalf(t, "request body in #detail:\n%s\nwant the pretty JSON, with the big number intact:\n%s", gotJSON, pretty.String())
	}

	headers := evalIn[[][]string](t, p, `[...document.querySelectorAll('#detail .section-request-headers tr')]
		.map((tr) => [tr.cells[0].textContent, tr.cells[1].textContent])`)
	has := func(name, value string) bool {
		for _, h := range headers {
			if len(h) == 2 && strings.EqualFold(h[0], name) && h[1] == value {
				return true
			}
		}
		return false
	}
	for _, h := range [][2]string{{"X-Hooklab-Test", "browser"}, {"Content-Type", "application/json"}} {
		if !has(h[0], h[1]) {
			p.fatalf(t, "request headers in #detail lack %s: %s; got %v", h[0], h[1], headers)
		}
	}
	resHeaders := evalIn[int](t, p, `document.querySelectorAll('#detail .section-response-headers tr').length`)
	if resHeaders == 0 {
		p.fatalf(t, "#detail shows no response headers")
	}
	overview := evalIn[string](t, p, `document.querySelector('#detail .overview')?.textContent ?? ''`)
	for _, want := range []string{"/b/browser/hooks/zendesk?source=test", "capture", "browser", "127.0.0.1"} {
		if !strings.Contains(overview, want) {
			p.fatalf(t, "the overview lacks %q: %s", want, overview)
		}
	}
	if loc := evalIn[string](t, p, `location.hash`); loc != "#/exchanges/"+url.PathEscape(id) {
		p.fatalf(t, "location.hash = %q, want the exchange's address", loc)
	}

	// A binary body over --max-body: stored truncated, shown as a hex dump
	// with a download. "k" moves the selection up to it.
	bin := make([]byte, 2048)
	for i := range bin {
		bin[i] = byte(i * 7)
	}
	res, err := http.Post(s.Capture+"upload", "application/octet-stream", bytes.NewReader(bin))
	if err != nil {
		t.Fatal(err)
	}
	var answer struct{ ID string }
	if err := json.NewDecoder(res.Body).Decode(&answer); err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	p.waitFor(t, "the binary exchange appears", `document.querySelector(`+jsQuote(browserRow(answer.ID))+` + ' .badge-warn')`, 5*time.Second)
	p.do(t, "press k", pressKey("k"))
	p.waitFor(t, "k opens the newer exchange",
		`document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(answer.ID), 5*time.Second)
	body := evalIn[map[string]string](t, p, `(() => {
		const b = document.querySelector('#detail [data-part="request"]');
		return {
			info: b.querySelector('.body-info').textContent,
			badge: b.querySelector('.badge-warn')?.textContent ?? '',
			hex: b.querySelector('pre.hexdump').textContent.split('\n')[0],
			download: b.querySelector('a[download]').href,
			selected: document.querySelector('tr.exchange-row.selected')?.dataset.id ?? '',
		};
	})()`)
	for k, want := range map[string]string{
		"info":     "binary 2,048 bytes",
		"badge":    "truncated: first 1.0 KiB of 2.0 KiB",
		"hex":      "00000000  00 07 0e 15 1c 23 2a 31  38 3f 46 4d 54 5b 62 69  |.....#*18?FMT[bi|",
		"selected": answer.ID,
	} {
		if body[k] != want {
			p.fatalf(t, "binary body %s = %q, want %q", k, body[k], want)
		}
	}
	if !strings.HasPrefix(body["download"], "blob:") {
		p.fatalf(t, "binary body download link %q, want a blob: URL", body["download"])
	}
}

// testBrowserNoConsoleErrorsOnLoad loads each view, and the traffic view
// with a filter that the server must parse, and fails on any console error:
// a failed request ("Failed to load resource: 400"), console.error or an
// exception.
func testBrowserNoConsoleErrorsOnLoad(t *testing.T, p *browserPage) {
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	yaml := "mocks:\n  - name: created\n    match: {path: /create}\n    respond: {status: 201}\n" +
		"webhooks:\n  - id: support-bot\n    endpoint: https://127.0.0.1:9/hooks\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	// The page learns here, and not from a probe, that q= takes the language.
	var info struct {
		QueryLanguage bool `json:"query_language"`
	}
	s.getJSON(t, "/api/info", &info)
	if !info.QueryLanguage {
		t.Fatalf("GET /api/info does not say query_language")
	}
	browserCapture(t, s.Capture, "/b/keep/hooks/a", `{"n":1}`)
	browserCapture(t, s.Capture, "/b/noise/hooks/b", `{"n":2}`)
	for _, addr := range []string{
		s.UI,
		s.UI + "?q=" + url.QueryEscape("path:/b/*/hooks/* -bin:noise"), // needs the server's query language
		s.UI + "?q=hello",
		s.UI + "#/bins",
		s.UI + "#/webhooks",
		s.UI + "#/webhooks/support-bot",
		s.UI + "#/rules",
		s.UI + "#/replays",
	} {
		p.openUI(t, addr)
		// openUI waits for the first list, which waits for the filter's
		// compilation; give the views' own loads and the browser's log a
		// moment to report.
		p.waitFor(t, "the page settles", `document.readyState === 'complete'`, 5*time.Second)
		time.Sleep(500 * time.Millisecond)
		if errs := p.consoleErrors(); len(errs) > 0 {
			p.fatalf(t, "loading %s logged console errors:\n%s", addr, strings.Join(errs, "\n"))
		}
	}
}

func testBrowserBins(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	other := browserCapture(t, s.Capture, "/b/other/x", `{"n":1}`)

	// The filter comes from the address and applies to the API and the stream.
	p.openUI(t, s.UI+"?bin=mine")
	if n := evalIn[int](t, p, `document.querySelectorAll('tr.exchange-row').length`); n != 0 {
		p.fatalf(t, "with ?bin=mine the list shows %d rows of other bins", n)
	}
	if v := evalIn[string](t, p, `document.querySelector('#bin-filter').value`); v != "mine" {
		p.fatalf(t, "the bin filter shows %q, want the address's bin", v)
	}
	mine := browserCapture(t, s.Capture, "/b/mine/y", `{"n":2}`)
	browserCapture(t, s.Capture, "/b/other/z", `{"n":3}`)
	p.waitFor(t, "the exchange of bin mine arrives", `document.querySelector(`+jsQuote(browserRow(mine))+`)`, 5*time.Second)
	// Bin other's was answered after mine's: were the stream not filtered,
	// it would have been rendered in the same task or an earlier one.
	if n := evalIn[int](t, p, `document.querySelectorAll('tr.exchange-row').length`); n != 1 {
		p.fatalf(t, "with ?bin=mine the list has %d rows, want 1", n)
	}

	// A bin name the capture endpoint would refuse says why under the bar,
	// and the list keeps the bin it showed; a valid one clears the error.
	p.do(t, "type an invalid bin", setInput("#bin-filter", "bad name!"))
	p.waitFor(t, "the invalid bin says why under the bar",
		`!document.querySelector('#q-error').hidden && document.querySelector('#q-error').textContent.includes('bad name!') && document.querySelector('#q-error').textContent.includes('mine')`, 3*time.Second)
	if n := evalIn[int](t, p, `document.querySelectorAll('tr.exchange-row').length`); n != 1 {
		p.fatalf(t, "with an invalid bin typed, the list has %d rows, want bin mine's 1", n)
	}
	p.do(t, "type a valid bin", setInput("#bin-filter", "mine"))
	p.waitFor(t, "the error goes with a valid bin", `document.querySelector('#q-error').hidden && document.querySelector('#bin-filter').getAttribute('aria-invalid') === 'false'`, 3*time.Second)

	// The header's Clear deletes the traffic list's exchanges: it is there
	// with the list alone (on the Bins view, its bin filter hidden, it
	// would have deleted that bin's or every bin's).
	if hidden := evalIn[bool](t, p, `document.querySelector('#clear').hidden`); hidden {
		p.fatalf(t, "the header's Clear is hidden on the traffic view")
	}
	p.do(t, "open the bins view", chromedp.Evaluate[chromedp.Void](`location.hash = '#/bins'`))
	p.waitFor(t, "the bins view hides the header's Clear", `document.querySelector('#filter').hidden && document.querySelector('#clear').hidden`, 3*time.Second)
	p.do(t, "back to the traffic view", chromedp.Evaluate[chromedp.Void](`location.hash = ''`))
	p.waitFor(t, "the traffic view shows the header's Clear", `!document.querySelector('#filter').hidden && !document.querySelector('#clear').hidden`, 3*time.Second)

	// Clearing the filter shows every bin and drops it from the address.
	p.do(t, "clear the bin filter", chromedp.Evaluate[chromedp.Void](`(() => {
		const i = document.querySelector('#bin-filter');
		i.value = '';
		i.dispatchEvent(new Event('input', {bubbles: true}));
	})()`))
	p.waitFor(t, "every bin shows after clearing the filter", `document.querySelectorAll('tr.exchange-row').length === 3 && document.querySelector(`+jsQuote(browserRow(other))+`)`, 3*time.Second)
	if q := evalIn[string](t, p, `location.search`); q != "" {
		p.fatalf(t, "location.search = %q after clearing the filter, want none", q)
	}

	// An empty view offers a new bin (a JSON POST to the API) and shows its URL.
	p.openUI(t, s.UI+"?bin=nothing-here")
	p.waitFor(t, "the empty view shows", `!document.querySelector('#empty').hidden`, 3*time.Second)
	p.do(t, "click New bin", chromedp.Click(chromedp.CSS("#new-bin")))
	p.waitFor(t, "the new bin's URL shows", `document.querySelector('#new-bin-url').textContent.startsWith(`+jsQuote(s.Capture+"b/")+`)`, 3*time.Second)
	binURL := evalIn[string](t, p, `document.querySelector('#new-bin-url').textContent`)
	name := strings.TrimSuffix(strings.TrimPrefix(binURL, s.Capture+"b/"), "/")
	p.waitFor(t, "the view filters to the new bin", `location.search === `+jsQuote("?bin="+name)+` && document.querySelector('#conn').dataset.state === 'open'`, 3*time.Second)
	id := browserCapture(t, strings.TrimSuffix(binURL, "/"), "/hello", `{"hello":"world"}`)
	p.waitFor(t, "an exchange sent to the new bin's URL appears", `document.querySelector(`+jsQuote(browserRow(id))+`)`, 5*time.Second)
}

func testBrowserReconnectsAfterRestart(t *testing.T, p *browserPage) {
	data := t.TempDir()
	first := startServer(t, "--data", data)
	p.openUI(t, first.UI)
	before := browserCapture(t, first.Capture, "/before-restart", `{"n":1}`)
	p.waitFor(t, "it shows", `document.querySelector(`+jsQuote(browserRow(before))+`)`, 5*time.Second)

	u, err := url.Parse(first.UI)
	if err != nil {
		t.Fatal(err)
	}
	first.Stop(t)
	p.waitFor(t, "the page notices the server is gone (#conn closed)", `document.querySelector('#conn').dataset.state === 'closed'`, 5*time.Second)
	// Opened while the server is away: the pane says it cannot reach it,
	// and shows the exchange once the server is back (it kept the error).
	p.do(t, "open it", chromedp.Click(chromedp.CSS(browserRow(before)+" a")))
	p.waitFor(t, "the detail says the server is away", `document.querySelector('#detail').dataset.state === 'error'`, 5*time.Second)

	// A new server on the same UI port; the page must find it by itself.
	// The port can take a moment to come free.
	waitPortFree(t, u.Host)
	second := startServer(t, "--data", data, "--ui", u.Host)
	took := p.waitFor(t, "the page reconnects (#conn open again)", `document.querySelector('#conn').dataset.state === 'open'`, 15*time.Second)
	t.Logf("reconnected %v after the new server started", took)
	p.waitFor(t, "the detail shows the exchange", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(before), 5*time.Second)

	id := browserCapture(t, second.Capture, "/after-restart", `{"again":true}`)
	p.waitFor(t, "an exchange captured after the restart appears", `document.querySelector(`+jsQuote(browserRow(id))+`)`, 5*time.Second)
}

func testBrowserRulesError(t *testing.T, p *browserPage) {
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	good := "mocks:\n  - name: created\n    match: {path: /create}\n    respond: {status: 201}\n"
	if err := os.WriteFile(cfg, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	p.openUI(t, s.UI)
	if hidden := evalIn[bool](t, p, `document.querySelector('#rules-error').hidden`); !hidden {
		p.fatalf(t, "the config error banner shows with a good config")
	}

	// The rule that answered shows on the row.
	res, err := http.Post(s.Capture+"create", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("POST /create: status %d, want the mock's 201", res.StatusCode)
	}
	p.waitFor(t, "the mocked exchange shows its status and rule",
		`[...document.querySelectorAll('tr.exchange-row')].some((r) => r.querySelector('.status.s2xx')?.textContent === '201' && r.querySelector('.badge-rule')?.textContent === 'created')`, 5*time.Second)

	// A broken edit shows the error, with file and line, at once.
	if err := os.WriteFile(cfg, []byte("mocks:\n  - name: created\n    match: {path: /create\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "the config error banner shows", `!document.querySelector('#rules-error').hidden`, 10*time.Second)
	text := evalIn[string](t, p, `document.querySelector('#rules-error .banner-text').textContent`)
	if !strings.Contains(text, "hooklab.yaml:") {
		p.fatalf(t, "the banner says %q, want the file and line", text)
	}
	// A page opened now learns of the error from the API.
	p.openUI(t, s.UI)
	p.waitFor(t, "a newly opened page shows the config error", `!document.querySelector('#rules-error').hidden`, 3*time.Second)
	// The Rules view shows it too, with the rule and its hit count.
	p.do(t, "open the Rules view", chromedp.Click(chromedp.CSS(`a.view-link[data-view="rules"]`)))
	p.waitFor(t, "the Rules view shows the reload error with file:line",
		`document.querySelector('#rules-view-error .banner-text')?.textContent.includes('hooklab.yaml:')`, 5*time.Second)
	p.waitFor(t, "the Rules view lists the live rule with its hit",
		`document.querySelector('tr.rule-row[data-rule="created"] .rule-hits')?.textContent === '1'`, 5*time.Second)
	p.do(t, "back to traffic", chromedp.Click(chromedp.CSS(`a.view-link[data-view="traffic"]`)))

	// Fixing the file hides it.
	if err := os.WriteFile(cfg, []byte(good), 0o644); err != nil {
		t.Fatal(err)
	}
	p.waitFor(t, "the banner goes when the config is fixed", `document.querySelector('#rules-error').hidden`, 10*time.Second)
}

// testBrowserNearMiss: an exchange no mock rule answered shows the rule
// that came closest and each reason it missed, one a line, not as JSON.
func testBrowserNearMiss(t *testing.T, p *browserPage) {
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	yaml := "mocks:\n  - name: enc\n    match:\n      method: PUT\n      path: /enc\n" +
		"      json:\n        - {path: type, op: eq, value: encrypted}\n    respond: {status: 201}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	id := browserCapture(t, s.Capture, "/enc", `{"type":"plain"}`)
	var ex struct {
		Meta struct {
			NearMiss struct {
				Rule    string   `json:"rule"`
				Reasons []string `json:"reasons"`
			} `json:"near_miss"`
		} `json:"meta"`
	}
	s.getJSON(t, "/api/exchanges/"+id, &ex)
	if ex.Meta.NearMiss.Rule != "enc" || len(ex.Meta.NearMiss.Reasons) != 2 {
		t.Fatalf("the API's near miss is %+v, want rule enc with two reasons (method, json)", ex.Meta.NearMiss)
	}
	req, err := http.NewRequest(http.MethodPut, s.Capture+"enc", strings.NewReader(`{"type":"encrypted"}`))
	if err != nil {
		t.Fatal(err)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("PUT /enc: status %d, want the mock's 201", res.StatusCode)
	}
	p.openUI(t, s.UI+"#/exchanges/"+id)
	// In the list the unmatched row says so; the matched one names its rule.
	p.waitFor(t, "the unmatched row is labelled", `document.querySelector(`+jsQuote(browserRow(id))+` + ' .badge-unmatched')?.textContent === 'no rule'`, 5*time.Second)
	if n := evalIn[int](t, p, `document.querySelectorAll('tr.exchange-row .badge-unmatched').length`); n != 1 {
		p.fatalf(t, "%d rows are labelled unmatched, want 1 (the matched one names its rule)", n)
	}
	p.waitFor(t, "the detail is ready", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(id), 5*time.Second)
	got := evalIn[map[string]any](t, p, `(() => {
		const s = document.querySelector('#detail .section-near-miss');
		return {
			rule: s?.querySelector('.near-miss-rule')?.textContent ?? '',
			reasons: [...(s?.querySelectorAll('.near-miss-reasons li') ?? [])].map((li) => li.textContent),
			json: document.querySelector('#detail').textContent.includes('{"reasons"') || document.querySelector('#detail').textContent.includes('"rule":'),
		};
	})()`)
	reasons, _ := got["reasons"].([]any)
	if got["rule"] != "enc" || len(reasons) != len(ex.Meta.NearMiss.Reasons) || got["json"] != false {
		p.fatalf(t, "the near miss shows %v; want rule enc and the reasons %q one a line, no JSON", got, ex.Meta.NearMiss.Reasons)
	}
	for i, r := range reasons {
		if r != ex.Meta.NearMiss.Reasons[i] {
			p.fatalf(t, "reason %d shows %q, want %q", i, r, ex.Meta.NearMiss.Reasons[i])
		}
	}
	browserScreenshot(t, p, "near-miss.png")
}

// fakeSummary is an exchange summary as the API lists it.
func fakeSummary(id, source, path string) map[string]any {
	return map[string]any{
		"id": id, "bin": "default", "source": source, "time": time.Now().UTC().Format(time.RFC3339Nano),
		"method": "POST", "url": "http://127.0.0.1:1" + path, "path": path, "status": 200,
		"duration_ms": 1.5, "request_size": 2, "response_size": 11, "truncated": false,
	}
}

// scriptedUI serves the UI's assets with a scripted API: list answers GET
// /api/exchanges with a page of summaries, and stream runs each websocket
// of /api/stream (the n-th, from 1) after its hello; returning true keeps
// the connection open until the page goes. It opens the page.
func scriptedUI(t *testing.T, p *browserPage, list func(r *http.Request) []any, stream func(r *http.Request, c *websocket.Conn, n int) (hold bool)) {
	t.Helper()
	var (
		mu      sync.Mutex
		streams int
	)
	mux := http.NewServeMux()
	mux.Handle("/", ui.Assets(""))
	mux.HandleFunc("GET /api/rules", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"error":null}`)
	})
	mux.HandleFunc("GET /api/exchanges", func(w http.ResponseWriter, r *http.Request) {
		xs := list(r)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"exchanges": xs, "next": ""})
	})
	up := websocket.Upgrader{}
	mux.HandleFunc("GET /api/stream", func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		mu.Lock()
		streams++
		n := streams
		mu.Unlock()
		_ = c.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello"}`))
		if !stream(r, c, n) {
			return
		}
		for { // hold the connection open until the page goes
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { p.do(t, "leave the page", chromedp.Navigate("about:blank")) })
	p.openUI(t, srv.URL+"/")
}

// sendLive sends summary on the stream as a live arrival.
func sendLive(c *websocket.Conn, summary map[string]any) {
	live, _ := json.Marshal(map[string]any{"type": "exchange", "exchange": summary})
	_ = c.WriteMessage(websocket.TextMessage, live)
}

// testBrowserResyncReloads checks the page's side of the resync contract
// against a scripted stream: after {"type":"resync"} and the close that
// follows, the page reconnects and reloads the list from the API, so it
// shows an exchange that only the API knows; a live arrival of before the
// resync, older than the new page, is not put back on top of it.
func testBrowserResyncReloads(t *testing.T, p *browserPage) {
	var opened atomic.Int64 // websockets accepted
	resync := make(chan struct{})
	scriptedUI(t, p, func(*http.Request) []any {
		if opened.Load() > 1 {
			// The newest page: the live arrival of before (01AA) is
			// older than all of it, so it belongs to an older page.
			return []any{fakeSummary("01C", "capture", "/newest"), fakeSummary("01B", "capture", "/missed-while-behind")}
		}
		return []any{fakeSummary("01A", "capture", "/first")}
	}, func(r *http.Request, c *websocket.Conn, n int) bool {
		opened.Store(int64(n))
		if n > 1 {
			return true
		}
		sendLive(c, fakeSummary("01AA", "capture", "/live-before-the-flood"))
		select {
		case <-resync:
		case <-r.Context().Done():
			return false
		}
		_ = c.WriteMessage(websocket.TextMessage, []byte(`{"type":"resync"}`))
		_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "resync"), time.Now().Add(time.Second))
		return false
	})
	p.waitFor(t, "the first list shows", `document.querySelector('tr.exchange-row[data-id="01A"]') && document.querySelector('tr.exchange-row[data-id="01AA"]')`, 3*time.Second)
	close(resync)
	p.waitFor(t, "the page reloads after resync", `document.querySelector('tr.exchange-row[data-id="01B"]') && document.querySelector('#conn').dataset.state === 'open'`, 3*time.Second)
	if n := opened.Load(); n != 2 {
		t.Errorf("the page opened %d streams, want 2 (one before the resync, one after)", n)
	}
	if rows := evalIn[[]string](t, p, `[...document.querySelectorAll('tr.exchange-row')].map((r) => r.dataset.id)`); !slices.Equal(rows, []string{"01C", "01B"}) {
		t.Errorf("rows after the reload: %q, want the new page only, newest first (01C, 01B): a live arrival older than the page sat above it", rows)
	}
}

// testBrowserArrivalDuringReloadKept: an exchange that arrives on the stream
// while the list's page is being read is kept, even with an id older than
// the page's rows (ids are made when a request starts: a slow proxied one
// is stored late): it was stored after the page was read.
func testBrowserArrivalDuringReloadKept(t *testing.T, p *browserPage) {
	sent := make(chan struct{})
	scriptedUI(t, p, func(*http.Request) []any {
		select { // the page was read before 01AB was stored; it answers after 01AB's arrival
		case <-sent:
		case <-time.After(2 * time.Second):
		}
		time.Sleep(200 * time.Millisecond)
		return []any{fakeSummary("01C", "proxy", "/quick-2"), fakeSummary("01B", "proxy", "/quick-1")}
	}, func(_ *http.Request, c *websocket.Conn, n int) bool {
		if n > 1 {
			return true
		}
		time.Sleep(100 * time.Millisecond)
		sendLive(c, fakeSummary("01AB", "proxy", "/slow-proxied"))
		close(sent)
		return true
	})
	p.waitFor(t, "the page lists", `document.querySelector('tr.exchange-row[data-id="01B"]')`, 5*time.Second)
	p.waitFor(t, "the arrival during the read is listed", `document.querySelector('tr.exchange-row[data-id="01AB"]')`, 3*time.Second)
}

// testBrowserShownRowStaysThroughReload: a live row the list shows stays
// on screen, the same row (a row made anew animates as new), while a reload that began after it came
// lays the page in (it went for a task and came back as new: a test that
// read it then found nothing).
func testBrowserShownRowStaysThroughReload(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI)
	id := browserCapture(t, s.Capture, "/b/blink/one", `{}`)
	p.waitFor(t, "the arrival shows", `document.querySelector(`+jsQuote(browserRow(id))+`)`, 5*time.Second)
	got := evalIn[map[string]bool](t, p, `(() => {
		const l = window.hooklab.list;
		const before = document.querySelector(`+jsQuote(browserRow(id))+`);
		l.reset([], { since: l.arrived - 1 });
		const tr = document.querySelector(`+jsQuote(browserRow(id))+`);
		return { shown: !!tr, same: tr === before };
	})()`)
	if !got["shown"] || !got["same"] {
		p.fatalf(t, "right after a reload's reset the live row is shown=%v, the same row=%v; want it shown as it was (a new row animates as new)", got["shown"], got["same"])
	}
}

// testBrowserFreeTextFilterStreamsFiltered: with a filter that needs
// whole exchanges (free text), the live stream is filtered by the server,
// so the page fetches nothing per arrival (it fetched every arrival of the
// bin, four at a time, and fell ever further behind a busy sender), and
// still lists each match as it comes; changing the filter follows.
func testBrowserFreeTextFilterStreamsFiltered(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI+"?q=needle")
	p.waitFor(t, "the stream filters by the query", `window.hooklab.live.q === 'needle'`, 10*time.Second)
	for i := range 40 {
		browserCapture(t, s.Capture, fmt.Sprintf("/b/hay/%d", i), `{"straw":true}`)
	}
	id := browserCapture(t, s.Capture, "/b/hay/x", `{"note":"a needle"}`)
	p.waitFor(t, "the match shows", `document.querySelector(`+jsQuote(browserRow(id))+`)`, 5*time.Second)
	got := evalIn[map[string]float64](t, p, `(() => ({
		rows: document.querySelectorAll('tr.exchange-row').length,
		fetches: performance.getEntriesByType('resource').filter((e) => /\/api\/exchanges\/[0-9A-Z]{26}/.test(e.name)).length,
	}))()`)
	if got["rows"] != 1 || got["fetches"] != 0 {
		p.fatalf(t, "with the filter needle: %v rows, %v exchanges fetched one by one; want 1 and none", got["rows"], got["fetches"])
	}
	// Another filter: the stream follows it.
	p.do(t, "filter on straw", setInput("#q", "straw"))
	p.waitFor(t, "the stream filters by the new query", `window.hooklab.live.q === 'straw'`, 10*time.Second)
	other := browserCapture(t, s.Capture, "/b/hay/late", `{"straw":"late"}`)
	p.waitFor(t, "the new match shows", `document.querySelector(`+jsQuote(browserRow(other))+`)`, 5*time.Second)
	// A filter of summary terms only streams unfiltered by q.
	p.do(t, "filter on method", setInput("#q", "method:POST"))
	p.waitFor(t, "the stream drops its query", `window.hooklab.live.q === ''`, 10*time.Second)
}

// testBrowserWebhookEditWithCredential: editing a webhook that has a
// credential validates clean as the user types: the form holds REDACTED
// for the stored secret, which saving keeps (the dry run refused it as if
// the webhook were new; found by a review).
func testBrowserWebhookEditWithCredential(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	resp, body := s.api(t, http.MethodPost, "/api/webhooks", strings.NewReader(`{"id":"cred","endpoint":"http://127.0.0.1:1/h","authentication":{"type":"api_key","name":"X-Key","value":"k123"},"custom_headers":{"X-Api-Key":"abc"}}`))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create %d %s", resp.StatusCode, body)
	}
	p.openUI(t, s.UI+"#/webhooks/cred")
	p.waitFor(t, "the edit form shows", `document.querySelector('#wh-name') && document.querySelector('#webhook-form').dataset.keep === 'webhooks/cred'`, 5*time.Second)
	p.do(t, "rename", setInput("#wh-name", "Renamed"))
	p.waitFor(t, "validated", `['ok','invalid'].includes(document.querySelector('#webhook-form').dataset.validation)`, 5*time.Second)
	state := evalIn[string](t, p, `document.querySelector('#webhook-form').dataset.validation`)
	msgs := evalIn[string](t, p, `[...document.querySelectorAll('#webhook-form .field-error')].map((e) => e.textContent).join('|')`)
	if state != "ok" || strings.Trim(msgs, "|") != "" {
		p.fatalf(t, "editing a webhook with an api_key: validation %q, errors %q", state, msgs)
	}
}

// setInput sets an input's value as typing would.
// pressKey presses each key of keys as a keyboard does: a keyDown that
// carries the key's text, then a keyUp (as Puppeteer does). chromedp's
// KeyEvent sends the text as a separate char event, which a keydown
// handler's preventDefault does not stop: when the handler moves focus to
// a field, as e (edit) does, the key was typed into it.
func pressKey(keys string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		for _, r := range keys {
			evs := kb.Encode(r)
			var down *input.DispatchKeyEventParams
			for _, k := range evs {
				switch k.Type {
				case kb.KeyDown:
					down = k
				case kb.KeyChar:
					if down != nil {
						down.Text, down.UnmodifiedText = k.Text, k.UnmodifiedText
					}
				}
			}
			for _, k := range evs {
				if k.Type == kb.KeyChar {
					continue
				}
				if _, err := cdp.Call(ctx, t, input.DispatchKeyEvent, *k); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func setInput(sel, value string) chromedp.Action[chromedp.Void] {
	return chromedp.Evaluate[chromedp.Void](`(() => {
		const i = document.querySelector(` + jsQuote(sel) + `);
		i.value = ` + jsQuote(value) + `;
		i.dispatchEvent(new Event('input', {bubbles: true}));
		i.dispatchEvent(new Event('change', {bubbles: true}));
	})()`)
}

// rowIDs lists the ids of the rows in the list, top first.
func rowIDs(t *testing.T, p *browserPage) []string {
	t.Helper()
	return evalIn[[]string](t, p, `[...document.querySelectorAll('tr.exchange-row')].map((r) => r.dataset.id)`)
}

// testBrowserQuotedAndRefusedFilters: a quoted word is searched as the
// text it quotes (the server gets the filter as typed), and a filter the
// server refuses (a typo it knows) shows its error under the bar while the
// list goes back to the last filter it listed.
func testBrowserQuotedAndRefusedFilters(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	failed := browserCapture(t, s.Capture, "/b/qt/failed", `{"status":"failed"}`)
	browserCapture(t, s.Capture, "/b/stripe/x", `{}`)
	literal := browserCapture(t, s.Capture, "/b/other/y", `{"note":"bin:stripe"}`)
	p.openUI(t, s.UI)
	p.waitFor(t, "all three show", `document.querySelectorAll('tr.exchange-row').length === 3`, 5*time.Second)

	only := func(what, q, id string) {
		t.Helper()
		p.do(t, "type "+q, setInput("#q", q))
		p.waitFor(t, what, `document.querySelectorAll('tr.exchange-row').length === 1 && document.querySelector(`+jsQuote(browserRow(id))+`)`, 5*time.Second)
	}
	only("the quoted JSON text finds its exchange", `"\"status\":\"failed\""`, failed)
	only("a path filter with ** lists its exchange", "path:/b/qt/**", failed)
	p.waitFor(t, "Export HAR takes the path filter in q= alone (a path= beside it reads ** as a plain glob)",
		`(() => { const h = document.querySelector('#export-har').getAttribute('href'); return h.includes('q=path') && !h.includes('path=%2F'); })()`, 5*time.Second)
	only("quoted bin:stripe is searched as text, not as a bin", `"bin:stripe"`, literal)

	p.do(t, "type a filter with a field typo", setInput("#q", "stauts:500"))
	p.waitFor(t, "the server's refusal shows under the filter bar",
		`!document.querySelector('#q-error').hidden && document.querySelector('#q-error').textContent.includes('did you mean status:')`, 5*time.Second)
	p.waitFor(t, "the list shows the last filter the server listed",
		`document.querySelectorAll('tr.exchange-row').length === 1 && document.querySelector(`+jsQuote(browserRow(literal))+`) && !document.querySelector('#list-status').textContent.includes('Loading')`, 5*time.Second)
	if got := evalIn[string](t, p, `new URLSearchParams(location.search).get('q')`); got != `"bin:stripe"` {
		p.fatalf(t, "the address holds q=%q, want the last filter listed", got)
	}
	if got := evalIn[string](t, p, `document.querySelector('#q').value`); got != "stauts:500" {
		p.fatalf(t, "the box holds %q, want the refused filter left for fixing", got)
	}
	if txt := evalIn[string](t, p, `document.querySelector('#q-error').textContent`); strings.Contains(txt, "invalid input") {
		p.fatalf(t, "the error reads %q: want the server's reason without its prefix", txt)
	}

	// Opened from an address, a filter the server refuses has nothing to
	// fall back on: it stays in the address, nothing is listed, and the
	// server's reason shows (not a bare "400 Bad Request").
	for range 3 {
		p.openUI(t, s.UI+"?q="+url.QueryEscape("stauts:500"))
		p.waitFor(t, "an address's refused filter lists nothing and says why",
			`!document.querySelector('#q-error').hidden && document.querySelector('#q-error').textContent.includes('did you mean status:') &&
			 document.querySelectorAll('tr.exchange-row').length === 0 && document.querySelector('#list-status').textContent.includes('the filter is invalid')`, 5*time.Second)
		if got := evalIn[string](t, p, `new URLSearchParams(location.search).get('q')`); got != "stauts:500" {
			p.fatalf(t, "the address holds q=%q, want the refused filter kept", got)
		}
	}
	browserCapture(t, s.Capture, "/b/qt/late", `{}`)
	time.Sleep(300 * time.Millisecond)
	if n := evalIn[int](t, p, `document.querySelectorAll('tr.exchange-row').length`); n != 0 {
		p.fatalf(t, "%d rows arrived under a refused filter, want none", n)
	}
}

// testBrowserCompressedBody: a gzip-encoded body (what a proxied answer
// to a browser usually is) shows decoded, in its content type's views; one
// that does not decode says so.
func testBrowserCompressedBody(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"hello":"decoded from gzip","n":[1,2,3]}`))
	zw.Close()
	id := browserCapture(t, s.Capture, "/b/gz/in", gz.String(), "Content-Type", "application/json", "Content-Encoding", "gzip")
	bad := browserCapture(t, s.Capture, "/b/gz/bad", "\x1f\x8b not gzip at all", "Content-Type", "application/json", "Content-Encoding", "gzip")
	var fl bytes.Buffer
	fw, _ := flate.NewWriter(&fl, flate.DefaultCompression)
	fw.Write([]byte(`{"hello":"raw deflate"}`))
	fw.Close()
	raw := browserCapture(t, s.Capture, "/b/gz/raw", fl.String(), "Content-Type", "application/json", "Content-Encoding", "deflate")
	p.openUI(t, s.UI+"#/exchanges/"+id)
	p.waitFor(t, "the body shows decoded, as a JSON tree",
		`document.querySelector('#detail [data-part="request"] .body-decoded-note')?.textContent.includes('Decoded from gzip') &&
		 document.querySelector('#detail [data-part="request"] pre.body-json')?.textContent.includes('decoded from gzip')`, 5*time.Second)
	labels := evalIn[[]string](t, p, `[...document.querySelectorAll('#detail [aria-label^="Download"]')].map((a) => a.getAttribute('aria-label'))`)
	if !slices.Contains(labels, "Download request body") || !slices.Contains(labels, "Download decoded request body") {
		p.fatalf(t, "download links %q: want the body as sent and decoded, told apart", labels)
	}
	p.openUI(t, s.UI+"#/exchanges/"+raw)
	p.waitFor(t, "a raw deflate body (no zlib header) shows decoded too",
		`document.querySelector('#detail [data-part="request"] pre.body-json')?.textContent.includes('raw deflate')`, 5*time.Second)
	p.openUI(t, s.UI+"#/exchanges/"+bad)
	p.waitFor(t, "a body that does not decode says so",
		`document.querySelector('#detail [data-part="request"] .body-decoded .error')?.textContent.includes('does not decode as gzip')`, 5*time.Second)
	// br, which browsers cannot decode in a page: the server decodes it.
	var bb bytes.Buffer
	bw := brotli.NewWriter(&bb)
	bw.Write([]byte(`{"hello":"decoded from br"}`))
	bw.Close()
	br := browserCapture(t, s.Capture, "/b/gz/br", bb.String(), "Content-Type", "application/json", "Content-Encoding", "br")
	badBr := browserCapture(t, s.Capture, "/b/gz/badbr", "\xff\xfe not br at all", "Content-Type", "application/json", "Content-Encoding", "br")
	p.openUI(t, s.UI+"#/exchanges/"+br)
	p.waitFor(t, "a br body shows decoded, as a JSON tree",
		`document.querySelector('#detail [data-part="request"] .body-decoded-note')?.textContent.includes('Decoded from br') &&
		 document.querySelector('#detail [data-part="request"] pre.body-json')?.textContent.includes('decoded from br')`, 5*time.Second)
	p.openUI(t, s.UI+"#/exchanges/"+badBr)
	p.waitFor(t, "a br body that does not decode says so",
		`document.querySelector('#detail [data-part="request"] .body-decoded .error')?.textContent.includes('does not decode as br')`, 5*time.Second)
}

func testBrowserFilterInURL(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	keep := browserCapture(t, s.Capture, "/b/keep/hooks/a", `{"n":1}`)
	browserCapture(t, s.Capture, "/b/noise/hooks/b", `{"n":2}`)
	browserCapture(t, s.Capture, "/b/keep/other", `{"n":3}`)
	p.openUI(t, s.UI)
	p.waitFor(t, "all three show", `document.querySelectorAll('tr.exchange-row').length === 3`, 5*time.Second)

	const q = "path:/b/*/hooks/* -bin:noise"
	p.do(t, "type a filter", setInput("#q", q))
	p.waitFor(t, "the filter narrows the list to one row",
		`document.querySelectorAll('tr.exchange-row').length === 1 && document.querySelector(`+jsQuote(browserRow(keep))+`)`, 5*time.Second)
	if got := evalIn[string](t, p, `new URLSearchParams(location.search).get('q')`); got != q {
		p.fatalf(t, "the address holds q=%q, want %q", got, q)
	}

	// A live arrival that matches shows; one that does not, does not.
	browserCapture(t, s.Capture, "/b/noise/hooks/c", `{"n":4}`)
	match := browserCapture(t, s.Capture, "/b/keep/hooks/d", `{"n":5}`)
	p.waitFor(t, "a matching arrival shows", `document.querySelector(`+jsQuote(browserRow(match))+`)`, 5*time.Second)
	if ids := rowIDs(t, p); len(ids) != 2 {
		p.fatalf(t, "after two arrivals the filtered list has %v, want the two that match", ids)
	}

	// A filter on a secret header's value: a live arrival that holds it
	// shows (the page matched the redacted exchange, and never did).
	p.do(t, "filter on a token", setInput("#q", "sk_live_SECRET123"))
	p.waitFor(t, "nothing matches yet", `document.querySelectorAll('tr.exchange-row').length === 0`, 5*time.Second)
	secret := browserCapture(t, s.Capture, "/b/keep/pay", `{"n":7}`, "Authorization", "Bearer sk_live_SECRET123")
	p.waitFor(t, "the arrival with the token shows", `document.querySelector(`+jsQuote(browserRow(secret))+`)`, 5*time.Second)
	p.do(t, "back to the filter", setInput("#q", q))
	p.waitFor(t, "its two matches again", `document.querySelectorAll('tr.exchange-row').length === 2`, 5*time.Second)

	// The filter survives a reload through the address.
	p.do(t, "reload", chromedp.Reload())
	p.waitFor(t, "the reloaded page shows the filter and its two matches",
		`document.querySelector('#q').value === `+jsQuote(q)+` && document.querySelectorAll('tr.exchange-row').length === 2`, 5*time.Second)

	// A malformed filter says why, is not applied, and says that the
	// (dimmed) list still shows the last valid filter's result.
	p.do(t, "type a bad filter", setInput("#q", "status:abc"))
	p.waitFor(t, "the filter error shows", `!document.querySelector('#q-error').hidden && document.querySelector('#q-error').textContent.includes('status:abc')`, 5*time.Second)
	time.Sleep(500 * time.Millisecond) // past the filter's debounce
	p.do(t, "press Enter in the filter", chromedp.Evaluate[chromedp.Void](`document.querySelector('#filter').requestSubmit()`))
	time.Sleep(300 * time.Millisecond)
	st := evalIn[map[string]any](t, p, `({
		rows: document.querySelectorAll('tr.exchange-row').length,
		q: new URLSearchParams(location.search).get('q'),
		note: document.querySelector('#q-error').textContent,
		status: document.querySelector('#list-status').textContent,
		dimmed: document.querySelector('#view-traffic').dataset.filter === 'invalid',
	})`)
	if st["rows"].(float64) != 2 || st["q"] != q || !strings.Contains(st["note"].(string), "last valid filter: "+q) ||
		!strings.Contains(st["status"].(string), "last valid filter") || st["dimmed"] != true {
		p.fatalf(t, "with a bad filter in the box the page shows %v; want the last valid filter's 2 rows, dimmed, the address unchanged, and a note saying so", st)
	}
	p.do(t, "fix the filter", setInput("#q", q))
	p.waitFor(t, "the error goes when the box holds a valid filter again",
		`document.querySelector('#q-error').hidden && document.querySelector('#view-traffic').dataset.filter === 'ok' && !document.querySelector('#list-status').textContent.includes('last valid')`, 5*time.Second)

	// An address with an invalid filter lists nothing (there is no valid
	// filter to fall back on), live arrivals included, and says so.
	p.openUI(t, s.UI+"?q="+url.QueryEscape("status:abc"))
	late := browserCapture(t, s.Capture, "/b/keep/hooks/late", `{"n":6}`)
	time.Sleep(500 * time.Millisecond)
	st = evalIn[map[string]any](t, p, `({
		rows: document.querySelectorAll('tr.exchange-row').length,
		error: document.querySelector('#q-error').hidden ? '' : document.querySelector('#q-error').textContent,
		status: document.querySelector('#list-status').textContent,
		export: !document.querySelector('#export-har').hidden,
	})`)
	if st["rows"].(float64) != 0 || !strings.Contains(st["error"].(string), "Nothing is listed") || !strings.Contains(st["status"].(string), "invalid") || st["export"] != false {
		p.fatalf(t, "an invalid filter in the address: %v; want no rows, no export, and the error saying nothing is listed", st)
	}
	p.do(t, "clear the filter", setInput("#q", ""))
	p.waitFor(t, "clearing it lists everything", `document.querySelector(`+jsQuote(browserRow(late))+`) && document.querySelector('#q-error').hidden`, 5*time.Second)

	// A filter only the server refuses (a typo it knows), in the address,
	// then a valid one, then the refused one typed again: refused again
	// with its reason, the valid one's rows still listed (the second time
	// it emptied the list and said nothing).
	p.openUI(t, s.UI+"?q="+url.QueryEscape("stauts:200"))
	p.waitFor(t, "the server's refusal shows", `!document.querySelector('#q-error').hidden && document.querySelector('#q-error').textContent.includes('status')`, 5*time.Second)
	p.do(t, "a valid filter", setInput("#q", "status:200"))
	p.waitFor(t, "it lists", `document.querySelector('#q-error').hidden && document.querySelectorAll('tr.exchange-row').length > 0`, 5*time.Second)
	p.do(t, "the refused one again", setInput("#q", "stauts:200"))
	p.waitFor(t, "refused again, with its reason, the valid rows kept",
		`!document.querySelector('#q-error').hidden && document.querySelector('#q-error .q-error-text').textContent.includes('status') && document.querySelectorAll('tr.exchange-row').length > 0 && document.querySelector('#list-status').textContent.includes('last valid')`, 5*time.Second)
}

// testBrowserDiffBodies runs the page's diff of an exchange against its
// original on bodies it got wrong: binary bodies of equal length compared
// equal (it compared their lengths), and integers beyond 2^53 that differ
// in their last digits compared equal (JSON.parse rounds them).
// testBrowserMatchPathEscaped: the page's path: filter for live arrivals
// takes a pattern written escaped, as the list shows paths, as the server
// does (new arrivals matching /caf%C3%A9/* never showed).
func testBrowserMatchPathEscaped(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI)
	p.do(t, "match", chromedp.Evaluate[chromedp.Void](`import('/query.js').then((m) => {
		const url = 'http://h/caf%C3%A9/x?q=1';
		window.__paths = ['/café/x', '/caf%C3%A9/x', '/caf%C3%A9/*', '/caf%C3%A9/y'].map((p) => m.matchPath(p, url));
		// ** is any number of segments, as the server reads it (the page
		// read it as two * within one segment).
		window.__stars = [['/b/load/**/3', '/b/load/a/b/3'], ['/b/load/**/3', '/b/load/3'], ['/hooks/**', '/hooks'],
			['/hooks/**', '/hooks/a/b'], ['/hooks/**/x', '/hooks/a/y'], ['/**/a/**/z', '/q/a/r/s/z']].map(([p, u]) => m.matchPath(p, 'http://h' + u));
		// A rule's name in a filter link, quoted as the server quotes it
		// (a name with a space made three terms).
		window.__names = ['plain', 'two words', '<img src=x onerror=alert(1)>', 'q"uote', 'back\\slash', '-neg'].map((n) => m.termValue(n));
		// A method: term the page takes is one the server takes.
		window.__methods = ['POST', 'purge', 'M-SEARCH', 'GET/POST', 'P(OST', 'P,OST'].map((v) => { try { m.parse('method:' + v); return true; } catch { return false; } });
	})`))
	p.waitFor(t, "the matches", `window.__paths`, 5*time.Second)
	if got := evalIn[[]bool](t, p, `window.__paths`); !slices.Equal(got, []bool{true, true, true, false}) {
		p.fatalf(t, "matchPath of /café/x, /caf%%C3%%A9/x, /caf%%C3%%A9/*, /caf%%C3%%A9/y against %%C3%%A9: %v", got)
	}
	want := []bool{true, true, true, true, false, true}
	for i, c := range [][2]string{{"/b/load/**/3", "/b/load/a/b/3"}, {"/b/load/**/3", "/b/load/3"}, {"/hooks/**", "/hooks"},
		{"/hooks/**", "/hooks/a/b"}, {"/hooks/**/x", "/hooks/a/y"}, {"/**/a/**/z", "/q/a/r/s/z"}} {
		if got := inspect.MatchPath(c[0], "http://h"+c[1]); got != want[i] {
			t.Errorf("the server's MatchPath(%s, %s) = %v, want %v", c[0], c[1], got, want[i])
		}
	}
	if got := evalIn[[]bool](t, p, `window.__stars`); !slices.Equal(got, want) {
		p.fatalf(t, "the page's ** patterns: %v, want %v (as the server)", got, want)
	}
	for i, v := range []string{"POST", "purge", "M-SEARCH", "GET/POST", "P(OST", "P,OST"} {
		_, err := inspect.ParseQueryLang("method:" + v)
		if page := evalIn[[]bool](t, p, `window.__methods`)[i]; page != (err == nil) {
			t.Errorf("method:%s: the page takes it %v, the server's error %v", v, page, err)
		}
	}
	names := []string{"plain", "two words", "<img src=x onerror=alert(1)>", `q"uote`, `back\slash`, "-neg"}
	for i, js := range evalIn[[]string](t, p, `window.__names`) {
		terms, err := inspect.ParseQueryLang("rule:" + js)
		want := (inspect.Terms{{Field: "rule", Value: names[i]}}).String()
		if "rule:"+js != want || err != nil || len(terms) != 1 || terms[0].Value != names[i] {
			t.Errorf("the page writes rule %q as rule:%s (server: %s), which parses as %+v, %v", names[i], js, want, terms, err)
		}
	}
}

func testBrowserDiffBodies(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI)
	p.do(t, "diff", chromedp.Evaluate[chromedp.Void](`import('/diff.js').then((m) => {
		const ex = (body, encoding) => ({ method: 'POST', url: 'http://h/x', request: { method: 'POST', url: 'http://h/x', headers: [], body, encoding },
			response: { status: 200, headers: [], body: '' } });
		window.__diffs = {
			binary: m.diffExchanges(ex('AAECAw==', 'base64'), ex('AAECBA==', 'base64')).map((c) => [c.path, c.kind, c.old, c.new].join(' ')),
			binarySame: m.diffExchanges(ex('AAECAw==', 'base64'), ex('AAECAw==', 'base64')).length,
			big: m.diffExchanges(ex('{"id":12345678901234567890123,"n":1}'), ex('{"id":12345678901234567890124,"n":1}')).map((c) => [c.path, c.kind, c.old, c.new].join(' ')),
			small: m.diffExchanges(ex('{"n":1.5}'), ex('{"n":1.5}')).length,
		};
	})`))
	p.waitFor(t, "the diffs", `window.__diffs`, 5*time.Second)
	got := evalIn[map[string]any](t, p, `window.__diffs`)
	want := map[string]any{
		"binary":     []any{"body changed (4 bytes of binary) (4 bytes of binary)"},
		"binarySame": float64(0),
		"big":        []any{"body id changed 12345678901234567890123 12345678901234567890124"},
		"small":      float64(0),
	}
	if !reflect.DeepEqual(got, want) {
		p.fatalf(t, "diffs:\n got %v\nwant %v", got, want)
	}
}

func testBrowserEditAndResend(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI)
	id := browserCapture(t, s.Capture, "/b/edit/hooks/z", `{"ticket":{"priority":"low"},"n":1}`, "X-Keep", "yes")
	p.waitFor(t, "the exchange shows", `document.querySelector(`+jsQuote(browserRow(id))+`)`, 5*time.Second)
	p.do(t, "open it", chromedp.Click(chromedp.CSS(browserRow(id))))
	p.waitFor(t, "the detail is ready", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(id), 5*time.Second)

	// The JSON tree folds and names paths.
	if path := evalIn[string](t, p, `[...document.querySelectorAll('#detail [data-part="request"] .j-key')].map((k) => k.dataset.path).join(',')`); path != "ticket,ticket.priority,n" {
		p.fatalf(t, "JSON tree key paths %q", path)
	}
	// ... for the keyboard and screen readers too: a fold button is named
	// by its path (it read as "left brace"), and c on it copies the path
	// (keys, which a click copies, could not be reached; they stay out of
	// the Tab order, which has a stop per bracket).
	if names := evalIn[string](t, p, `[...document.querySelectorAll('#detail [data-part="request"] .j-open')].map((o) => o.getAttribute('aria-label')).join(',')`); names != "JSON document,ticket" {
		p.fatalf(t, "JSON tree fold buttons named %q, want JSON document,ticket", names)
	}
	if n := evalIn[int](t, p, `document.querySelectorAll('#detail .j-key[tabindex]').length`); n != 0 {
		p.fatalf(t, "%d JSON keys are Tab stops, want none", n)
	}
	p.do(t, "focus ticket's bracket", chromedp.Evaluate[chromedp.Void](`document.querySelector('#detail [data-part="request"] .j-open[aria-label="ticket"]').focus()`))
	p.do(t, "press c on it", pressKey("c"))
	p.waitFor(t, "its path is copied", `[...document.querySelectorAll('#detail [data-part="request"] .j-copied')].some((n) => n.textContent === 'Copied path ticket')`, 5*time.Second)

	p.do(t, "press e", pressKey("e"))
	p.waitFor(t, "the edit form shows", `document.querySelector('#edit-body')`, 5*time.Second)
	// The key that opened the form is not typed into it.
	if m := evalIn[string](t, p, `document.querySelector('#edit-method').value`); m != "POST" {
		p.fatalf(t, "the edit form's method is %q, want POST", m)
	}
	// Host and Content-Length follow the URL and the body: not offered.
	if hs := evalIn[string](t, p, `document.querySelector('#edit-headers').value`); strings.Contains(strings.ToLower(hs), "host:") || strings.Contains(strings.ToLower(hs), "content-length:") {
		p.fatalf(t, "the edit form offers derived headers:\n%s", hs)
	}
	p.do(t, "edit the body and a header", setInput("#edit-body", `{"ticket":{"priority":"urgent"},"n":1}`))
	p.do(t, "edit the headers", chromedp.Evaluate[chromedp.Void](`(() => {
		const h = document.querySelector('#edit-headers');
		h.value = h.value.split('\n').filter((l) => !l.startsWith('X-Keep')).concat(['X-Added: 1']).join('\n');
	})()`))
	p.do(t, "send", chromedp.Click(chromedp.CSS("#edit-send")))
	p.waitFor(t, "a new exchange opens", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id !== `+jsQuote(id), 10*time.Second)
	p.waitFor(t, "its diff against the original shows", `document.querySelector('#detail .diff-row')`, 5*time.Second)
	diff := evalIn[[][]string](t, p, `[...document.querySelectorAll('#detail .diff-row')].map((r) => [r.dataset.where, r.dataset.path, r.dataset.kind])`)
	want := map[string]bool{"request body ticket.priority changed": false, "request header x-added added": false, "request header x-keep removed": false}
	for _, d := range diff {
		k := strings.Join(d, " ")
		if _, ok := want[k]; ok {
			want[k] = true
		}
	}
	for k, ok := range want {
		if !ok {
			p.fatalf(t, "the diff lacks %q; it has %v", k, diff)
		}
	}
	for _, d := range diff {
		if d[1] == "host" {
			p.fatalf(t, "the resent request's Host differs: %v", diff)
		}
	}
	newID := evalIn[string](t, p, `document.querySelector('#detail').dataset.id`)
	p.waitFor(t, "the new exchange is in the list", `document.querySelector(`+jsQuote(browserRow(newID))+`)`, 5*time.Second)
}

func testBrowserWebhookForm(t *testing.T, p *browserPage) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if bytes.Contains(body, []byte("fail-me")) {
			w.WriteHeader(http.StatusBadRequest) // final: client_error, no retries
			io.WriteString(w, `{"refused":true}`)
			return
		}
		w.WriteHeader(http.StatusAccepted)
		fmt.Fprintf(w, `{"received":%q}`, r.Header.Get("X-Team"))
	}))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")
	p.openUI(t, s.UI)
	p.do(t, "open Webhooks", chromedp.Click(chromedp.CSS(`a.view-link[data-view="webhooks"]`)))
	p.waitFor(t, "the webhooks view shows", `document.querySelector('#webhook-new')`, 5*time.Second)
	p.do(t, "new webhook", chromedp.Click(chromedp.CSS("#webhook-new")))
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')`, 5*time.Second)
	p.do(t, "fill the form", setInput("#wh-id", "browser-hook"), setInput("#wh-endpoint", receiver.URL+"/hooks"),
		setInput("#wh-subscriptions", "ticket.created"), setInput("#wh-custom_headers", "X-Forwarded-For: 1.2.3.4"))

	// Live validation: the API's message shows by the headers while typing,
	// without saving.
	p.waitFor(t, "the API's header validation error shows by the headers as the user types",
		`document.querySelector('[data-field="custom_headers"] .field-error')?.textContent.toLowerCase().includes('x-forwarded')`, 5*time.Second)
	live := evalIn[string](t, p, `document.querySelector('[data-field="custom_headers"] .field-error').textContent`)
	resp, body := s.api(t, http.MethodPost, "/api/webhooks/validate", strings.NewReader(`{"id":"browser-hook","endpoint":`+jsQuote(receiver.URL+"/hooks")+`,"custom_headers":{"X-Forwarded-For":"1.2.3.4"}}`))
	var verdict struct {
		Errors []struct{ Field, Error string } `json:"errors"`
	}
	if err := json.Unmarshal(body, &verdict); err != nil || resp.StatusCode != http.StatusBadRequest || len(verdict.Errors) == 0 {
		t.Fatalf("validate: %d %s", resp.StatusCode, body)
	}
	// Beside Custom headers, the API's message with the header it is
	// about (its field is custom_headers.X-Forwarded-For).
	if want := "X-Forwarded-For: " + verdict.Errors[0].Error; verdict.Errors[0].Field != "custom_headers.X-Forwarded-For" || live != want {
		p.fatalf(t, "the form says %q, the API %+v", live, verdict.Errors[0])
	}
	var hooks struct {
		Webhooks []struct{ ID string } `json:"webhooks"`
	}
	s.getJSON(t, "/api/webhooks", &hooks)
	if len(hooks.Webhooks) != 0 {
		p.fatalf(t, "live validation created webhooks: %+v", hooks.Webhooks)
	}

	p.do(t, "save", chromedp.Click(chromedp.CSS("#wh-save")))
	p.waitFor(t, "saving shows the API's header validation error by the headers",
		`document.querySelector('[data-field="custom_headers"] .field-error')?.textContent.toLowerCase().includes('x-forwarded')`, 5*time.Second)

	p.do(t, "fix the header", setInput("#wh-custom_headers", "X-Team: support"))
	p.waitFor(t, "the error goes as the header is fixed",
		`document.querySelector('#webhook-form').dataset.validation === 'ok' && document.querySelector('[data-field="custom_headers"] .field-error').textContent === ''`, 5*time.Second)
	p.do(t, "save again", chromedp.Click(chromedp.CSS("#wh-save")))
	p.waitFor(t, "the saved webhook opens", `location.hash === '#/webhooks/browser-hook' && document.querySelector('#wh-test-send')`, 5*time.Second)

	// Editing validates too, without complaining that the id exists.
	p.waitFor(t, "the edit form shows", `document.querySelector('#wh-name') && document.querySelector('#webhook-form').dataset.keep === 'webhooks/browser-hook'`, 5*time.Second)
	p.do(t, "rename", setInput("#wh-name", "Browser hook"))
	p.waitFor(t, "the edit validates clean", `document.querySelector('#webhook-form').dataset.validation === 'ok'`, 5*time.Second)
	if msgs := evalIn[string](t, p, `[...document.querySelectorAll('#webhook-form .field-error')].map((e) => e.textContent).join('') + document.querySelector('#wh-form-error').textContent`); msgs != "" {
		p.fatalf(t, "editing shows errors: %q", msgs)
	}

	p.do(t, "test send", chromedp.Click(chromedp.CSS("#wh-test-send")))
	p.waitFor(t, "the test send shows the response", `document.querySelector('#wh-test-result .test-response')?.textContent.includes('"received":"support"')`, 10*time.Second)
	if got := evalIn[string](t, p, `document.querySelector('#wh-test-result .test-response').textContent.split('\n')[0]`); got != "202" {
		p.fatalf(t, "test response status line %q, want 202", got)
	}
	if got := evalIn[string](t, p, `document.querySelector('#wh-test-result .test-request').textContent`); !strings.Contains(got, "X-Team: support") {
		p.fatalf(t, "the request sent lacks the custom header:\n%s", got)
	}

	// Two events: one delivered, one refused. The list shows 50 %, counts on hover.
	for _, ev := range []string{`{"type":"ticket.created","data":{"n":1}}`, `{"type":"ticket.created","data":{"n":2,"note":"fail-me"}}`} {
		s.mustPost(t, "/api/events", ev, http.StatusAccepted)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		var inv struct {
			Invocations []struct{ Status string } `json:"invocations"`
		}
		s.getJSON(t, "/api/webhooks/browser-hook/invocations", &inv)
		final := 0
		for _, x := range inv.Invocations {
			if x.Status == "success" || x.Status == "client_error" {
				final++
			}
		}
		if final == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the two invocations did not finish: %+v", inv)
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.do(t, "back to the list", chromedp.Evaluate[chromedp.Void](`location.hash = '#/webhooks'`))
	const rate = `document.querySelector('.webhook-row[data-id="browser-hook"] .webhook-rate')`
	p.waitFor(t, "the list shows the success rate", rate+`?.textContent === '50% (1/2)'`, 10*time.Second)
	if title := evalIn[string](t, p, rate+`.title`); !strings.Contains(title, "1 of 2 finished invocations succeeded") {
		p.fatalf(t, "the success rate's tooltip is %q", title)
	}
	// The rate comes from the list's stats when the server gives them, and
	// else from the activity log: both ways agree.
	var listed struct {
		Webhooks []map[string]any `json:"webhooks"`
	}
	s.getJSON(t, "/api/webhooks", &listed)
	wantSource := "log"
	if len(listed.Webhooks) == 1 && listed.Webhooks[0]["stats"] != nil {
		wantSource = "stats"
	}
	if got := evalIn[string](t, p, rate+`.dataset.source`); got != wantSource {
		p.fatalf(t, "the success rate came from %q, want %q", got, wantSource)
	}
	p.do(t, "rate from the log", chromedp.Evaluate[chromedp.Void](`import('/views.js').then(async (m) => {
		window.__fromLog = await m.successRate({ id: 'browser-hook' });
	})`))
	p.waitFor(t, "the rate from the activity log", `window.__fromLog`, 5*time.Second)
	if got := evalIn[map[string]string](t, p, `window.__fromLog`); got["text"] != "50% (1/2)" || !strings.Contains(got["title"], "1 of 2 finished invocations succeeded") || got["source"] != "log" {
		p.fatalf(t, "the success rate from the activity log is %v", got)
	}
}

// testBrowserWebhookEditClears saves an edit that clears the name, the
// authentication and the subscriptions, and checks that the API then has
// none of them (a PATCH keeps what its body leaves out).
func testBrowserWebhookEditClears(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	def := `{"id":"clear-me","name":"Clear me","endpoint":"https://127.0.0.1:9/hooks",` +
		`"authentication":{"type":"bearer_token","token":"t0ken"},"subscriptions":["ticket.created","user.*"]}`
	s.mustPost(t, "/api/webhooks", def, http.StatusCreated)
	p.openUI(t, s.UI)
	p.do(t, "open the webhook", chromedp.Evaluate[chromedp.Void](`location.hash = '#/webhooks/clear-me'`))
	p.waitFor(t, "the edit form shows the stored definition",
		`document.querySelector('#wh-subscriptions')?.value === 'ticket.created, user.*' && document.querySelector('[id="wh-authentication.token"]')`, 5*time.Second)

	type stored struct {
		Webhook struct {
			Name           string          `json:"name"`
			Authentication json.RawMessage `json:"authentication"`
			Subscriptions  []string        `json:"subscriptions"`
		} `json:"webhook"`
	}
	// An edit of another field keeps them, and the token (shown REDACTED).
	p.do(t, "change the endpoint", setInput("#wh-endpoint", "https://127.0.0.1:9/other"))
	p.do(t, "save", chromedp.Click(chromedp.CSS("#wh-save")))
	p.waitFor(t, "the save is confirmed", `document.querySelector('#notice')?.textContent.startsWith('Saved webhook clear-me')`, 5*time.Second)
	var kept stored
	s.getJSON(t, "/api/webhooks/clear-me", &kept)
	if w := kept.Webhook; w.Name != "Clear me" || string(w.Authentication) != `{"type":"bearer_token","token":"REDACTED"}` || len(w.Subscriptions) != 2 {
		p.fatalf(t, "after an edit of the endpoint the API has name %q, authentication %s, subscriptions %v", w.Name, w.Authentication, w.Subscriptions)
	}

	p.do(t, "hide the notice", chromedp.Evaluate[chromedp.Void](`document.querySelector('#notice').textContent = ''`))
	p.do(t, "clear name, authentication and subscriptions",
		setInput("#wh-name", ""), setInput(`[id="wh-authentication.type"]`, ""), setInput("#wh-subscriptions", ""))
	p.do(t, "save", chromedp.Click(chromedp.CSS("#wh-save")))
	p.waitFor(t, "the save is confirmed", `document.querySelector('#notice')?.textContent.startsWith('Saved webhook clear-me')`, 5*time.Second)
	var got stored
	s.getJSON(t, "/api/webhooks/clear-me", &got)
	w := got.Webhook
	if w.Name != "clear-me" || w.Authentication != nil || len(w.Subscriptions) != 0 {
		p.fatalf(t, "after saving the cleared form the API has name %q, authentication %s, subscriptions %v; want the id as name, none, none",
			w.Name, w.Authentication, w.Subscriptions)
	}
}

// testBrowserWebhookConfigWarnings checks that the Webhooks page shows the
// config's warnings as GET /api/webhooks gives them: text with file:line.
func testBrowserWebhookConfigWarnings(t *testing.T, p *browserPage) {
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	yaml := "webhooks:\n  - id: support-bot\n    endpoint: http://127.0.0.1:9/hooks\n    custom_headers: {X-Team: support}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	var list struct {
		Warnings []string `json:"warnings"`
	}
	s.getJSON(t, "/api/webhooks", &list)
	if len(list.Warnings) != 1 || !strings.Contains(list.Warnings[0], "hooklab.yaml:") {
		t.Fatalf("GET /api/webhooks warnings = %q, want the plain-HTTP custom headers warning with file:line", list.Warnings)
	}
	p.openUI(t, s.UI)
	p.do(t, "open Webhooks", chromedp.Click(chromedp.CSS(`a.view-link[data-view="webhooks"]`)))
	p.waitFor(t, "the webhooks view lists the config webhook", `document.querySelector('.webhook-row[data-id="support-bot"]')`, 5*time.Second)
	got := evalIn[[]string](t, p, `[...document.querySelectorAll('.view-webhooks .webhook-warning')].map((b) => b.textContent)`)
	if len(got) != 1 || got[0] != "Warning: "+list.Warnings[0] {
		p.fatalf(t, "the page shows warnings %q, want %q", got, "Warning: "+list.Warnings[0])
	}
	// Amber, as every warning is (a test send's, a field's): it was the
	// notes' blue banner.
	if c := warnColors(t, p, `.view-webhooks .webhook-warning`); c.Got != c.Want {
		p.fatalf(t, "the warning's colours are %q, want the warnings' %q", c.Got, c.Want)
	}
}

// warnColors gives the background and text colours of the element sel
// finds (Got) and those of the warnings' colour variables (Want).
func warnColors(t *testing.T, p *browserPage, sel string) struct{ Got, Want string } {
	t.Helper()
	return evalIn[struct{ Got, Want string }](t, p, `(() => {
		const el = document.querySelector(`+jsQuote(sel)+`);
		const probe = document.createElement('span');
		probe.style.background = 'var(--warn-bg)';
		probe.style.color = 'var(--warn-fg)';
		document.body.append(probe);
		const cs = (e) => { const s = getComputedStyle(e); return s.backgroundColor + ' / ' + s.color; };
		const out = { Got: el ? cs(el) : 'no element', Want: cs(probe) };
		probe.remove();
		return out;
	})()`)
}

// testBrowserWebhookConfigReadOnly: a webhook defined in the config file
// shows its fields disabled, and they look it alike (text fields, lists
// and text areas: the same greyed background and text, none white like an
// editable field); its title and its circuit label are apart.
func testBrowserWebhookConfigReadOnly(t *testing.T, p *browserPage) {
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	yaml := "webhooks:\n  - id: support-bot\n    name: Support bot\n    endpoint: https://127.0.0.1:9/hooks\n" +
		"    custom_headers: {X-Team: support}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	p.do(t, "1400x900", chromedp.EmulateViewport(1400, 900))
	p.openUI(t, s.UI+"#/webhooks/support-bot")
	p.waitFor(t, "the config webhook's form shows", `document.querySelector('#wh-endpoint') && document.querySelector('#webhook-title')`, 5*time.Second)
	browserScreenshot(t, p, "webhook-config.png")
	type look struct {
		ID, Tag, Background, Color, Opacity string
		Disabled                            bool
	}
	fields := evalIn[[]look](t, p, `[...document.querySelectorAll('#webhook-form input, #webhook-form select, #webhook-form textarea')]
		.filter((e) => e.type !== 'hidden' && e.type !== 'checkbox' && e.offsetParent !== null).map((e) => {
			const cs = getComputedStyle(e);
			return { ID: e.id, Tag: e.tagName, Background: cs.backgroundColor, Color: cs.color, Opacity: cs.opacity, Disabled: e.disabled };
		})`)
	var tags = map[string]bool{}
	for _, f := range fields {
		tags[f.Tag] = true
		if !f.Disabled {
			p.fatalf(t, "field %s of a config webhook is editable: %+v", f.ID, fields)
		}
		if f0 := fields[0]; f.Background != f0.Background || f.Color != f0.Color || f.Opacity != f0.Opacity {
			p.fatalf(t, "disabled fields look different: %+v and %+v", f0, f)
		}
	}
	if !tags["INPUT"] || !tags["SELECT"] || !tags["TEXTAREA"] {
		p.fatalf(t, "want inputs, selects and a textarea in the form; got %+v", fields)
	}
	// Against an editable field of the same page (the test send's payload).
	editable := evalIn[map[string]string](t, p, `(() => {
		const e = [...document.querySelectorAll('.view-webhook textarea, .view-webhook input')].find((e) => !e.disabled && e.offsetParent !== null);
		if (!e) return {};
		const cs = getComputedStyle(e);
		return { id: e.id, background: cs.backgroundColor, color: cs.color };
	})()`)
	if editable["background"] == "" || editable["background"] == fields[0].Background {
		p.fatalf(t, "a disabled field looks like the editable %v: %+v", editable, fields[0])
	}
	gap := evalIn[float64](t, p, `(() => {
		const h = document.querySelector('#webhook-title');
		const badge = h.querySelector('.badge');
		if (!badge) return 99;
		const r = document.createRange();
		r.setStart(h.firstChild, 0);
		r.setEnd(h.firstChild, h.firstChild.textContent.length);
		return badge.getBoundingClientRect().left - r.getBoundingClientRect().right;
	})()`)
	if gap < 6 {
		p.fatalf(t, "the title and its circuit label are %.1f px apart", gap)
	}
	if title := evalIn[string](t, p, `document.querySelector('#webhook-title').textContent`); !strings.Contains(title, "Support bot ") {
		p.fatalf(t, "the title reads %q: no space before the label", title)
	}
}

func testBrowserReplayIgnoredGreyed(t *testing.T, p *browserPage) {
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true,"id":"another-id","bin":"elsewhere"}`)
	}))
	t.Cleanup(target.Close)
	s := startServer(t, "--memory")
	id := browserCapture(t, s.Capture, "/b/greyed/hooks", `{"n":1}`)
	resp, body := s.api(t, http.MethodPost, "/api/replay", strings.NewReader(`{"ids":[`+jsQuote(id)+`],"target":`+jsQuote(target.URL)+`,"diff":{"ignore":["id"]}}`))
	var run struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(body, &run); err != nil || resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /api/replay: %d %s", resp.StatusCode, body)
	}
	p.openUI(t, s.UI+"#/replays/"+run.ID)
	p.waitFor(t, "the run's result shows", `document.querySelector('.run-result .diff-row')`, 10*time.Second)
	p.waitFor(t, "the run is done", `document.querySelector('.view-replay p')?.textContent.startsWith('done')`, 10*time.Second)
	rows := evalIn[[]map[string]string](t, p, `[...document.querySelectorAll('.run-result .diff-row')].map((r) => ({
		path: r.dataset.path, ignored: r.dataset.ignored, cls: r.className,
		opacity: getComputedStyle(r).opacity,
	}))`)
	var sawIgnored, sawChange bool
	for _, r := range rows {
		switch r["path"] {
		case "body id":
			sawIgnored = true
			if r["ignored"] != "true" || !strings.Contains(r["cls"], "diff-ignored") || r["opacity"] == "1" {
				p.fatalf(t, "the ignored path is not greyed: %v", r)
			}
		case "body bin":
			sawChange = true
			if r["ignored"] != "false" || strings.Contains(r["cls"], "diff-ignored") || r["opacity"] != "1" {
				p.fatalf(t, "a real change looks ignored: %v", r)
			}
		}
	}
	if !sawIgnored || !sawChange {
		p.fatalf(t, "want the ignored body id and the changed body bin; rows %v", rows)
	}
	if got := evalIn[string](t, p, `document.querySelector('.replay-ignore')?.textContent ?? ''`); !strings.Contains(got, "id") {
		p.fatalf(t, "the run's ignore paths are not listed: %q", got)
	}
	p.do(t, "unified layout", chromedp.Click(chromedp.CSS(`.segmented[aria-label="Diff layout"] button:nth-child(2)`)))
	p.waitFor(t, "the unified diff greys the ignored path too", `document.querySelector('div.diff-ignored[data-path="body id"]')`, 5*time.Second)
}

// testBrowserLargeBody opens an exchange with a 5 MiB JSON body: the page
// keeps answering while it renders (no timing budget beyond a generous
// 2 s between timer ticks), the tree shows with nested values folded, and
// unfolding one builds it.
func testBrowserLargeBody(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	var big bytes.Buffer
	big.WriteString(`{"meta":{"kind":"bulk","note":"large"},"items":[`)
	for i := 0; big.Len() < 5<<20; i++ {
		if i > 0 {
			big.WriteByte(',')
		}
		fmt.Fprintf(&big, `{"id":%d,"name":"item-%d","tags":["a","b","c"],"detail":{"depth":{"deeper":{"value":%d,"text":"lorem ipsum dolor sit amet"}}}}`, i, i, i)
	}
	big.WriteString(`]}`)
	id := browserCapture(t, s.Capture, "/b/large/bulk", big.String())
	p.openUI(t, s.UI)
	p.waitFor(t, "the exchange shows", `document.querySelector(`+jsQuote(browserRow(id))+`)`, 5*time.Second)

	// chromedp enables the DevTools Network domain, which makes the page
	// keep a copy of every response body for the inspector, on the page's
	// own thread: a cost of the harness (over half a second for 5 MiB on a
	// busy machine), not of the page a user has. Turn it off for this.
	if _, err := chromedp.Call(p.ctx, network.Disable, cdp.Empty{}); err != nil {
		t.Fatalf("Network.disable: %v", err)
	}
	// What the page's main thread spends rendering the body is read from
	// Chrome's own count of it, in CPU time (thread ticks): on a loaded
	// machine the time on the wall between two ticks of a timer grows
	// with the load, whatever the page does.
	if _, err := chromedp.Call(p.ctx, performance.Enable, performance.EnableParams{TimeDomain: performance.EnableTimeDomainThreadTicks}); err != nil {
		t.Fatalf("Performance.enable: %v", err)
	}
	defer chromedp.Call(p.ctx, performance.Disable, cdp.Empty{})
	taskTime := func() float64 {
		t.Helper()
		res, err := chromedp.Call(p.ctx, performance.GetMetrics, cdp.Empty{})
		if err != nil {
			t.Fatalf("Performance.getMetrics: %v", err)
		}
		for _, m := range res.Metrics {
			if m.Name == "TaskDuration" {
				return m.Value
			}
		}
		t.Fatalf("Performance.getMetrics: no TaskDuration in %d metrics", len(res.Metrics))
		return 0
	}
	tasksBefore := taskTime()
	// A timer that notes the longest gap between its ticks while the body
	// renders (logged; on a busy machine it counts the load too).
	p.do(t, "start the responsiveness probe", chromedp.Evaluate[chromedp.Void](`(() => {
		const probe = window.__probe = { maxGap: 0, ticks: 0, stop: false };
		let last = performance.now();
		const tick = () => {
			const now = performance.now();
			probe.maxGap = Math.max(probe.maxGap, now - last);
			probe.ticks++;
			last = now;
			if (!probe.stop) setTimeout(tick, 20);
		};
		setTimeout(tick, 20);
	})()`))
	p.do(t, "open it", chromedp.Click(chromedp.CSS(browserRow(id))))
	p.waitFor(t, "the detail is ready", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(id), 20*time.Second)
	const pre = `document.querySelector('#detail [data-part="request"] pre.body-json')`
	p.waitFor(t, "the tree is built", pre+`?.dataset.state === 'ready'`, 20*time.Second)
	p.waitFor(t, "the timer ticked after the tree", `window.__probe.ticks > 3`, 5*time.Second)
	probe := evalIn[map[string]float64](t, p, `(() => { window.__probe.stop = true; return { maxGap: window.__probe.maxGap, ticks: window.__probe.ticks }; })()`)
	// All the tasks together bound the longest: a page that froze for
	// 2 s of its own work spends more than that in all.
	tasks := (taskTime() - tasksBefore) * 1000
	t.Logf("5 MiB JSON body: the page's main thread spent %.0f ms of CPU time on it; the longest gap between timer ticks was %.0f ms", tasks, probe["maxGap"])
	if tasks > 2000 {
		p.fatalf(t, "the page's main thread spent %.0f ms of CPU time loading and rendering a 5 MiB body (it froze)", tasks)
	}
	tree := evalIn[map[string]any](t, p, `(() => {
		const pre = `+pre+`;
		return {
			nodes: pre.querySelectorAll('.j-node').length,
			folded: pre.querySelectorAll('.j-node.folded[data-lazy]').length,
			more: !!pre.querySelector('.j-more'),
			keys: [...pre.querySelectorAll(':scope > .j-node > .j-children > .j-key')].map((k) => k.dataset.path).join(','),
			text: pre.textContent.length,
		};
	})()`)
	if tree["keys"] != "meta,items" || tree["folded"].(float64) < 1 || tree["more"] != true || tree["text"].(float64) > 1<<20 {
		p.fatalf(t, "the large tree: %v", tree)
	}
	// Unfolding a lazy node builds its members.
	p.do(t, "unfold the first item", chromedp.Evaluate[chromedp.Void](`(() => {
		const item = `+pre+`.querySelector('.j-key[data-path="items"]').nextElementSibling.querySelector('.j-children > .j-node');
		item.querySelector('.j-open').click();
	})()`))
	p.waitFor(t, "the first item's keys show", pre+`.querySelector('.j-key[data-path="items.0.detail"]')`, 5*time.Second)
	// The raw view shows a first part and more on demand.
	p.do(t, "raw view", chromedp.Evaluate[chromedp.Void](`[...document.querySelectorAll('#detail [data-part="request"] .segmented button')].find((b) => b.textContent === 'Raw').click()`))
	p.waitFor(t, "the raw view shows its first part", `document.querySelector('#detail [data-part="request"] .body-raw pre.chunk')`, 5*time.Second)
	p.do(t, "show more", chromedp.Click(chromedp.CSS(`#detail [data-part="request"] .chunk-more`)))
	p.waitFor(t, "a second part shows", `document.querySelectorAll('#detail [data-part="request"] .body-raw pre.chunk').length === 2`, 5*time.Second)

	// Another exchange opens at its top, not where this one was scrolled to.
	small := browserCapture(t, s.Capture, "/b/large/small", `{"n":1}`)
	p.waitFor(t, "the small exchange shows", `document.querySelector(`+jsQuote(browserRow(small))+`)`, 5*time.Second)
	p.do(t, "scroll the pane down", chromedp.Evaluate[chromedp.Void](`document.querySelector('#detail').scrollTop = 400`))
	if top := evalIn[float64](t, p, `document.querySelector('#detail').scrollTop`); top < 100 {
		p.fatalf(t, "the pane did not scroll (scrollTop %v)", top)
	}
	p.do(t, "open the small one", chromedp.Click(chromedp.CSS(browserRow(small))))
	p.waitFor(t, "it is ready", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(small), 5*time.Second)
	if top := evalIn[float64](t, p, `document.querySelector('#detail').scrollTop`); top != 0 {
		p.fatalf(t, "another exchange opened scrolled %v px down", top)
	}
}

// testBrowserRevealRedacted checks that secret header values show as
// REDACTED with a Reveal button, that revealing shows them, and that copy
// as curl and edit-and-resend use the real values.
func testBrowserRevealRedacted(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI)
	const token = "Bearer s3cret-token-for-the-browser-test"
	id := browserCapture(t, s.Capture, "/b/secret/hooks", `{"n":1}`, "Authorization", token)
	p.waitFor(t, "the exchange shows", `document.querySelector(`+jsQuote(browserRow(id))+`)`, 5*time.Second)
	p.do(t, "open it", chromedp.Click(chromedp.CSS(browserRow(id))))
	p.waitFor(t, "the detail is ready", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(id), 5*time.Second)
	const auth = `document.querySelector('#detail .section-request-headers tr[data-header="authorization"]')`
	p.waitFor(t, "the authorization header shows", auth, 5*time.Second)
	if !evalIn[bool](t, p, `(() => { const r = `+auth+`; return !!r.querySelector('.redacted') && !!r.querySelector('button.reveal'); })()`) {
		// A server that does not redact: nothing to reveal.
		if got := evalIn[string](t, p, auth+`.querySelector('td').textContent`); !strings.Contains(got, token) {
			p.fatalf(t, "the authorization header shows %q, neither redacted nor the value", got)
		}
		t.Skip("this server does not redact secret headers")
	}
	if got := evalIn[string](t, p, auth+`.querySelector('.redacted').textContent`); got != "REDACTED" || strings.Contains(evalIn[string](t, p, `document.querySelector('#detail').textContent`), "s3cret") {
		p.fatalf(t, "the redacted header shows %q", got)
	}

	// Copy as curl and edit-and-resend ask for the real values.
	p.do(t, "watch requests", chromedp.Evaluate[chromedp.Void](`(() => {
		window.__fetched = [];
		const f = window.fetch;
		window.fetch = (u, init) => { window.__fetched.push(String(u)); return f(u, init); };
	})()`))
	p.do(t, "copy as curl", chromedp.Click(chromedp.CSS("#copy-curl")))
	p.waitFor(t, "the curl command is fetched with reveal=1", `window.__fetched.some((u) => u.includes('/curl') && u.includes('reveal=1'))`, 5*time.Second)
	p.do(t, "press e", pressKey("e"))
	p.waitFor(t, "the edit form holds the real token", `document.querySelector('#edit-headers')?.value.includes(`+jsQuote(token)+`)`, 5*time.Second)
	if strings.Contains(evalIn[string](t, p, `document.querySelector('#detail .section-request-headers').textContent`), "s3cret") {
		p.fatalf(t, "editing revealed the headers table as well")
	}

	p.do(t, "reveal", chromedp.Click(chromedp.CSS(`#detail .section-request-headers button.reveal`)))
	p.waitFor(t, "the value shows after Reveal", auth+`?.querySelector('td').textContent.includes(`+jsQuote(token)+`) && !`+auth+`.querySelector('.redacted')`, 5*time.Second)
}

// TestUIPerf measures the UI with 100,000 stored exchanges: the first
// render of the list, frame times while scrolling 10,000 rows (older pages
// load from the API on the way), and 1,000 exchanges arriving in one second
// (all shown, tab heap). It reports figures and asserts only correctness;
// it runs only when asked for:
//
//	go test -run UIPerf -v .
func TestUIPerf(t *testing.T) {
	if f := flag.Lookup("test.run"); f == nil || !strings.Contains(f.Value.String(), "UIPerf") {
		t.Skip("a benchmark-style test: run it with -run UIPerf")
	}
	b := newBrowser(t)
	p := b.newPage(t)
	s := startServer(t, "--memory", "--retain-count", "200000")

	const stored = 100_000
	var har bytes.Buffer
	har.WriteString(`{"log":{"version":"1.2","creator":{"name":"uiperf","version":"1"},"entries":[`)
	start := time.Now().Add(-time.Hour)
	for i := range stored {
		if i > 0 {
			har.WriteByte(',')
		}
		fmt.Fprintf(&har, `{"startedDateTime":%q,"time":1.5,"request":{"method":"POST","url":"http://127.0.0.1:1/hooks/%d","httpVersion":"HTTP/1.1","headers":[{"name":"Content-Type","value":"application/json"}],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":12,"postData":{"mimeType":"application/json","text":"{\"n\":%d}"}},"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":2,"mimeType":"application/json","text":"{}"},"redirectURL":"","headersSize":-1,"bodySize":2},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}`,
			start.Add(time.Duration(i)*time.Millisecond).UTC().Format(time.RFC3339Nano), i, i)
	}
	har.WriteString(`]}}`)
	t0 := time.Now()
	importHAR(t, s.UI, "perf", &har)
	t.Logf("imported %d exchanges in %v", stored, time.Since(t0).Round(time.Millisecond))

	// First meaningful render: navigation to the first row in the list.
	t0 = time.Now()
	p.do(t, "open the UI", chromedp.Navigate(s.UI))
	first := p.waitFor(t, "the first rows render", `document.querySelector('tr.exchange-row')`, 10*time.Second)
	_ = t0
	t.Logf("first render of the list: %v after navigation (budget 1 s)", first.Round(time.Millisecond))
	p.waitFor(t, "the stream connects", `document.querySelector('#conn').dataset.state === 'open'`, 10*time.Second)

	// Scroll 10,000 rows, one step a frame, recording frame times.
	// HOOKLAB_UIPERF_TRACE=FILE also records a Chrome trace of the scrolling
	// (open it in the DevTools Performance panel).
	stopTrace := startTrace(t, p, os.Getenv("HOOKLAB_UIPERF_TRACE"))
	p.do(t, "start scrolling", chromedp.Evaluate[chromedp.Void](`(() => {
		const sc = document.querySelector('#list-scroll');
		const target = 10000 * 30;
		const frames = [];
		// Long animation frames (over 50 ms) say where the time of the slow ones went.
		const loaf = { n: 0, script: 0, forced: 0, style: 0, render: 0, total: 0 };
		let obs = null;
		try {
			obs = new PerformanceObserver((l) => {
				for (const e of l.getEntries()) {
					loaf.n++;
					loaf.total += e.duration;
					const end = e.startTime + e.duration;
					if (e.styleAndLayoutStart) loaf.style += end - e.styleAndLayoutStart;
					if (e.renderStart) loaf.render += (e.styleAndLayoutStart || end) - e.renderStart;
					for (const s of e.scripts || []) { loaf.script += s.duration; loaf.forced += s.forcedStyleAndLayoutDuration || 0; }
				}
			});
			obs.observe({ type: 'long-animation-frame' });
		} catch { /* no LoAF in this browser */ }
		// The list's own work per frame (its render, timed around the call).
		const list = window.hooklab.list;
		const render = list.render;
		let renderMs = 0;
		let renders = 0;
		list.render = function (...args) {
			const t = performance.now();
			try { return render.apply(this, args); } finally { renderMs += performance.now() - t; renders++; }
		};
		let last = performance.now();
		const t0 = last;
		window.__perf = null;
		const step = (now) => {
			frames.push(now - last);
			last = now;
			if (sc.scrollTop >= target) {
				frames.sort((a, b) => a - b);
				window.__perf = {
					frames: frames.length, ms: Math.round(now - t0),
					p50: frames[Math.floor(frames.length / 2)], p95: frames[Math.floor(frames.length * 0.95)],
					max: frames[frames.length - 1], loaded: window.hooklab.list.size,
					rowsInDOM: document.querySelectorAll('tr.exchange-row').length,
					renders, renderMs: Math.round(renderMs),
				};
				delete list.render;
				if (obs) {
					for (const e of obs.takeRecords()) { loaf.n++; loaf.total += e.duration; }
					obs.disconnect();
					for (const k of Object.keys(loaf)) window.__perf['loaf_' + k] = Math.round(loaf[k]);
				}
				return;
			}
			sc.scrollTop = Math.min(sc.scrollTop + 600, sc.scrollHeight);
			requestAnimationFrame(step);
		};
		requestAnimationFrame(step);
	})()`))
	p.waitFor(t, "scrolling 10,000 rows ends", `window.__perf`, 120*time.Second)
	stopTrace()
	perf := evalIn[map[string]float64](t, p, `window.__perf`)
	t.Logf("scrolled 10,000 rows: %v frames in %v ms; frame p50 %.1f ms, p95 %.1f ms, max %.1f ms (budget 50 ms); %v summaries loaded, %v rows in the DOM",
		perf["frames"], perf["ms"], perf["p50"], perf["p95"], perf["max"], perf["loaded"], perf["rowsInDOM"])
	t.Logf("the list rendered %v times in %v ms of script", perf["renders"], perf["renderMs"])
	t.Logf("long animation frames (over 50 ms): %v, %v ms in all: scripts %v ms (forced style and layout %v ms), rAF and scroll %v ms, style and layout (then paint) %v ms",
		perf["loaf_n"], perf["loaf_total"], perf["loaf_script"], perf["loaf_forced"], perf["loaf_render"], perf["loaf_style"])

	// 1,000 new exchanges in one second, all shown; heap after.
	p.do(t, "back to the top", chromedp.Evaluate[chromedp.Void](`window.hooklab.list.toTop()`))
	heapBefore := evalIn[float64](t, p, `performance.memory ? performance.memory.usedJSHeapSize : 0`)
	ids := make([]string, 1000)
	var wg sync.WaitGroup
	t0 = time.Now()
	for w := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(ids); i += 10 {
				time.Sleep(time.Until(t0.Add(time.Duration(i) * time.Millisecond)))
				ids[i] = browserCapture(t, s.Capture, fmt.Sprintf("/b/perf/live/%d", i), `{"live":true}`)
			}
		}()
	}
	wg.Wait()
	sent := time.Since(t0)
	idsJSON, _ := json.Marshal(ids)
	shown := p.waitFor(t, "all 1,000 arrivals are in the list", `(() => { const l = window.hooklab.list; return `+string(idsJSON)+`.every((id) => l.ids.has(id)); })()`, 30*time.Second)
	heapAfter := evalIn[float64](t, p, `performance.memory ? performance.memory.usedJSHeapSize : 0`)
	t.Logf("1,000 arrivals sent in %v; all in the list %v later; JS heap %.1f MB before, %.1f MB after (budget 200 MB)",
		sent.Round(time.Millisecond), shown.Round(time.Millisecond), heapBefore/1e6, heapAfter/1e6)
}

// startTrace starts recording a Chrome trace of the page's timeline into
// file, and returns what stops it and writes the file. With no file it
// does nothing.
func startTrace(t *testing.T, p *browserPage, file string) (stop func()) {
	t.Helper()
	if file == "" {
		return func() {}
	}
	ctx, cancel := context.WithCancel(p.ctx)
	var mu sync.Mutex
	var events [][]byte
	done := make(chan struct{})
	data := chromedp.Events(ctx, tracing.DataCollected)
	complete := chromedp.Events(ctx, tracing.TracingComplete)
	go func() {
		for ev, err := range data {
			if err != nil {
				return
			}
			mu.Lock()
			for _, v := range ev.Value {
				events = append(events, []byte(v))
			}
			mu.Unlock()
		}
	}()
	go func() {
		for _, err := range complete {
			if err == nil {
				close(done)
			}
			return
		}
	}()
	_, err := chromedp.Call(ctx, tracing.Start, tracing.StartParams{
		TransferMode: tracing.StartTransferModeReportEvents,
		TraceConfig: &tracing.TraceConfig{IncludedCategories: []string{
			"devtools.timeline", "disabled-by-default-devtools.timeline", "disabled-by-default-devtools.timeline.frame",
			"blink", "cc", "gpu", "viz", "v8.execute", "disabled-by-default-devtools.timeline.stack",
		}},
	})
	if err != nil {
		cancel()
		t.Fatalf("start tracing: %v", err)
	}
	return func() {
		defer cancel()
		if _, err := chromedp.Call(ctx, tracing.End, cdp.Empty{}); err != nil {
			t.Fatalf("end tracing: %v", err)
		}
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			t.Fatalf("the trace did not complete")
		}
		mu.Lock()
		defer mu.Unlock()
		var buf bytes.Buffer
		buf.WriteString(`{"traceEvents":[`)
		for i, ev := range events {
			if i > 0 {
				buf.WriteString(",\n")
			}
			buf.Write(ev)
		}
		buf.WriteString("]}\n")
		if err := os.WriteFile(file, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("trace: %s (%d events)", file, len(events))
	}
}

// testBrowserBidiControlsShown: bidirectional formatting characters in what
// a sender controls (a header, a JSON string) show as their code points:
// they would reorder the text ("abc\u202Egnp.exe" reads "abcexe.png").
func testBrowserBidiControlsShown(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	id := browserCapture(t, s.Capture, "/b/bidi/x", "{\"user\":\"admin\u202e\u2066gnp.exe\"}", "X-Bidi", "abc\u202egnp.exe")
	p.openUI(t, s.UI)
	p.waitFor(t, "the exchange shows", `document.querySelector(`+jsQuote(browserRow(id))+`)`, 5*time.Second)
	p.do(t, "open it", chromedp.Click(chromedp.CSS(browserRow(id))))
	p.waitFor(t, "the detail is ready", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(id), 5*time.Second)
	p.waitFor(t, "the JSON tree is built", `document.querySelector('#detail [data-part="request"] pre.body-json')?.dataset.state === 'ready'`, 5*time.Second)
	got := evalIn[map[string]any](t, p, `(() => {
		const d = document.querySelector('#detail');
		const header = d.querySelector('.section-request-headers tr[data-header="x-bidi"]')?.textContent ?? '';
		return { header, controls: /[\u202a-\u202e\u2066-\u2069]/.test(d.textContent), json: d.querySelector('[data-part="request"] pre.body-json').textContent };
	})()`)
	if got["controls"] != false || !strings.Contains(got["header"].(string), "abc[U+202E]gnp.exe") || !strings.Contains(got["json"].(string), "admin[U+202E][U+2066]gnp.exe") {
		p.fatalf(t, "bidi controls in the detail: %v", got)
	}
}

// testBrowserHostileBodies: what a sender controls cannot run in the UI's
// origin or lock it up. A body's Download link is a blob typed
// application/octet-stream whatever the sender's type (an HTML or SVG blob
// opened in a tab of its own would run with the UI's rights); JSON nested
// thousands deep shows a note, with the headers still there; tens of
// thousands of query parameters list 500; API answers carry nosniff.
func testBrowserHostileBodies(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	html := browserCapture(t, s.Capture, "/b/hostile/html", `<script>document.title = "pwned"</script>`, "Content-Type", "text/html")
	deep := browserCapture(t, s.Capture, "/b/hostile/deep", strings.Repeat("[", 5000)+strings.Repeat("]", 5000))
	var q strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&q, "&p%d=1", i)
	}
	many := browserCapture(t, s.Capture, "/b/hostile/many?x=1"+q.String(), `{}`)
	xml := browserCapture(t, s.Capture, "/b/hostile/xml", strings.Repeat("<a>", 4000)+strings.Repeat("</a>", 4000), "Content-Type", "application/xml")
	var mp strings.Builder
	for i := range 3000 {
		fmt.Fprintf(&mp, "--XX\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\nv\r\n", i)
	}
	mp.WriteString("--XX--\r\n")
	parts := browserCapture(t, s.Capture, "/b/hostile/parts", mp.String(), "Content-Type", "multipart/form-data; boundary=XX")
	p.openUI(t, s.UI)
	open := func(id string) {
		t.Helper()
		p.waitFor(t, "the exchange shows", `document.querySelector(`+jsQuote(browserRow(id))+`)`, 5*time.Second)
		p.do(t, "open it", chromedp.Click(chromedp.CSS(browserRow(id))))
		p.waitFor(t, "the detail is ready", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(id), 10*time.Second)
	}

	// Note the type of every blob the page makes.
	p.do(t, "watch blobs", chromedp.Evaluate[chromedp.Void](`(() => {
		window.__blobTypes = [];
		const make = URL.createObjectURL;
		URL.createObjectURL = (b) => { window.__blobTypes.push(b.type); return make.call(URL, b); };
	})()`))
	open(html)
	blobs := evalIn[[]string](t, p, `(() => {
		const a = document.querySelector('#detail [data-part="request"] a[href^="blob:"]');
		if (a && !window.__blobTypes.length) a.dispatchEvent(new MouseEvent('mouseover'));
		return window.__blobTypes;
	})()`)
	if len(blobs) == 0 {
		p.fatalf(t, "the HTML body made no blob (no download link?)")
	}
	for _, typ := range blobs {
		if typ != "application/octet-stream" {
			p.fatalf(t, "the HTML body's blob is typed %q, want application/octet-stream", typ)
		}
	}

	open(deep)
	got := evalIn[map[string]any](t, p, `({
		note: document.querySelector('#detail [data-part="request"]')?.textContent.includes('nested too deep') ?? false,
		headers: document.querySelectorAll('#detail table.headers tr').length,
	})`)
	if got["note"] != true || got["headers"].(float64) < 2 {
		p.fatalf(t, "deeply nested JSON: %v", got)
	}

	// How long each takes is logged, not checked against a clock (on a
	// loaded machine 20,000 parameters took 6.8 s against a 5 s bound):
	// open fails when the detail is not ready within its wait, and the
	// tables are checked to list 500 rows and count the rest.
	start := time.Now()
	open(many)
	t.Logf("20,000 query parameters took %v to show", time.Since(start)) // bounded by open's wait
	rows := evalIn[map[string]any](t, p, `(() => {
		const t = document.querySelector('#detail table[aria-label="Query parameters"]');
		return { rows: t ? t.querySelectorAll('tbody tr').length : -1, more: t?.querySelector('tfoot')?.textContent ?? '' };
	})()`)
	if rows["rows"].(float64) != 500 || !strings.Contains(rows["more"].(string), "19501 more") {
		p.fatalf(t, "the query table of 20,001 parameters: %v", rows)
	}
	start = time.Now()
	open(xml)
	t.Logf("XML nested 4,000 deep took %v to show", time.Since(start)) // bounded by open's wait
	start = time.Now()
	open(parts)
	t.Logf("3,000 multipart parts took %v to show", time.Since(start)) // bounded by open's wait
	if n := evalIn[float64](t, p, `document.querySelectorAll('#detail .body-multipart tbody tr').length`); n != 500 {
		p.fatalf(t, "the multipart table of 3,000 parts lists %v rows, want 500", n)
	}
	if title := evalIn[string](t, p, `document.title`); title == "pwned" {
		p.fatalf(t, "the sender's script ran")
	}

	resp, err := http.Get(s.UI + "api/exchanges/" + html + "/raw")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("/raw has no X-Content-Type-Options: nosniff: %v", resp.Header)
	}
}

// testBrowserMultipartLabel: a multipart/form-data body with a binary file
// part (stored as base64) is labelled multipart, not "binary", and opens
// on its parts.
func testBrowserMultipartLabel(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	var body bytes.Buffer
	body.WriteString("--XX\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n")
	body.WriteString("--XX\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n")
	for i := range 256 {
		body.WriteByte(byte(i))
	}
	body.WriteString("\r\n--XX--\r\n")
	id := browserCapture(t, s.Capture, "/b/multi/upload", body.String(), "Content-Type", "multipart/form-data; boundary=XX")
	var ex struct {
		Request struct {
			Encoding string `json:"encoding"`
		} `json:"request"`
	}
	s.getJSON(t, "/api/exchanges/"+id, &ex)
	if ex.Request.Encoding != "base64" {
		t.Fatalf("the API gives the multipart body with a binary part as %q, want base64 (the case this test is for)", ex.Request.Encoding)
	}
	p.openUI(t, s.UI+"#/exchanges/"+id)
	p.waitFor(t, "the detail is ready", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(id), 5*time.Second)
	got := evalIn[map[string]string](t, p, `(() => {
		const b = document.querySelector('#detail [data-part="request"]');
		return { info: b.querySelector('.body-info').textContent, view: b.dataset.view };
	})()`)
	// Without mock rules, no row is labelled as unmatched.
	if n := evalIn[int](t, p, `document.querySelectorAll('tr.exchange-row .badge-unmatched').length`); n != 0 {
		p.fatalf(t, "with no mock rules %d rows say no rule matched", n)
	}
	if want := fmt.Sprintf("multipart/form-data · %s bytes", fmtThousands(body.Len())); got["info"] != want || got["view"] != "parts" {
		p.fatalf(t, "the multipart body shows %v, want info %q and the parts view", got, want)
	}
}

// testBrowserThemeToggle: on a light OS and on a dark one, the first click
// of the theme toggle changes the page's colours, to the other theme; the
// second comes back, following the OS again; the toggle's title names the
// theme shown.
func testBrowserThemeToggle(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	t.Cleanup(func() {
		_, _ = chromedp.Call(p.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{})
	})
	type look struct {
		Background string `json:"background"`
		Stored     string `json:"stored"`
		Title      string `json:"title"`
	}
	const read = `({
		background: getComputedStyle(document.body).backgroundColor,
		stored: document.querySelector('#theme').dataset.theme,
		title: document.querySelector('#theme').title,
	})`
	for _, osTheme := range []string{"light", "dark"} {
		other := map[string]string{"light": "dark", "dark": "light"}[osTheme]
		if _, err := chromedp.Call(p.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: osTheme}},
		}); err != nil {
			t.Fatalf("emulate prefers-color-scheme %s: %v", osTheme, err)
		}
		p.openUI(t, s.UI)
		p.do(t, "forget the theme", chromedp.Evaluate[chromedp.Void](`localStorage.removeItem('hooklab.theme')`))
		p.openUI(t, s.UI)
		before := evalIn[look](t, p, read)
		if before.Stored != "os" || !strings.HasPrefix(before.Title, "Theme: "+osTheme+",") {
			p.fatalf(t, "OS %s, nothing chosen: the toggle says %+v", osTheme, before)
		}
		p.do(t, "click the theme toggle", chromedp.Click(chromedp.CSS("#theme")))
		after := evalIn[look](t, p, read)
		browserScreenshot(t, p, "theme-"+osTheme+"-os-clicked.png")
		if after.Background == before.Background || after.Stored != other || !strings.HasPrefix(after.Title, "Theme: "+other+",") {
			p.fatalf(t, "OS %s: the first click gives %+v (before %+v); want the %s theme, visibly", osTheme, after, before, other)
		}
		p.do(t, "click it again", chromedp.Click(chromedp.CSS("#theme")))
		back := evalIn[look](t, p, read)
		if back.Background != before.Background || back.Stored != "os" || !strings.HasPrefix(back.Title, "Theme: "+osTheme+",") {
			p.fatalf(t, "OS %s: the second click gives %+v; want the OS's theme again, following it (%+v)", osTheme, back, before)
		}
	}
}

// fmtThousands writes n with commas, as the UI writes exact sizes.
func fmtThousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// testBrowserLayout: a filter error does not push the bar's buttons off a
// 1280px window, and an 800px window still links every view.
func testBrowserLayout(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.do(t, "1280x800", chromedp.EmulateViewport(1280, 800))
	p.openUI(t, s.UI)
	// The empty list's example names this server's capture URL.
	p.waitFor(t, "the example names the capture URL", `document.querySelector('#new-bin-offer .empty-example').textContent.includes(`+jsQuote(s.Capture+"b/demo/")+`)`, 5*time.Second)
	browserCapture(t, s.Capture, "/b/layout/hooks", `{"n":1}`)
	p.waitFor(t, "the exchange shows", `document.querySelector('tr.exchange-row')`, 5*time.Second)
	p.do(t, "a bad filter", setInput("#q", "method:POST status:abc path:/b/*/hooks/* -bin:noise header:X-Very-Long-Header-Name=some-value json:a.b.c=d"))
	p.waitFor(t, "the filter error shows", `!document.querySelector('#q-error').hidden`, 5*time.Second)
	browserScreenshot(t, p, "layout-filter-error.png")
	// The error covers no control: not the bar's, not Export HAR.
	covered := evalIn[[]string](t, p, `(() => {
		const e = document.querySelector('#q-error').getBoundingClientRect();
		return [...document.querySelectorAll('button, a, input, select')].filter((c) => {
			if (c.offsetParent === null || c.closest('#q-error')) return false;
			const r = c.getBoundingClientRect();
			return r.width > 0 && r.left < e.right && e.left < r.right && r.top < e.bottom && e.top < r.bottom;
		}).map((c) => c.id || c.textContent);
	})()`)
	if len(covered) > 0 {
		p.fatalf(t, "the filter error covers %q", covered)
	}
	fit := evalIn[map[string]any](t, p, `(() => {
		const r = document.querySelector('#clear').getBoundingClientRect();
		return { right: r.right, width: innerWidth, bar: document.querySelector('.topbar').scrollWidth };
	})()`)
	if fit["right"].(float64) > fit["width"].(float64) || fit["bar"].(float64) > fit["width"].(float64) {
		p.fatalf(t, "with a filter error the bar overflows the window: %v", fit)
	}
	p.do(t, "clear the filter", setInput("#q", ""))
	p.do(t, "800x800", chromedp.EmulateViewport(800, 800))
	shown := evalIn[[]string](t, p, `[...document.querySelectorAll('.views a')].filter((a) => {
		const r = a.getBoundingClientRect();
		return a.offsetParent !== null && r.width > 0 && r.right <= innerWidth;
	}).map((a) => a.dataset.view)`)
	if len(shown) != 5 {
		p.fatalf(t, "at 800px the views linked are %v, want all five", shown)
	}
	// The list's path keeps room at every width (at 390px and in half of
	// a 1,000px window it was 16 and 41px, the labels overlapping): the
	// list drops columns instead, header and rows alike.
	for _, w := range []int64{390, 1000, 1400} {
		p.do(t, fmt.Sprintf("%dx800", w), chromedp.EmulateViewport(w, 800))
		got := evalIn[map[string]any](t, p, `(() => {
			const cell = document.querySelector('tr.exchange-row .cell-path');
			const th = [...document.querySelectorAll('.exchanges thead th')].filter((x) => x.offsetParent !== null && x.getBoundingClientRect().width > 0);
			const td = [...document.querySelector('tr.exchange-row').children].filter((x) => x.getBoundingClientRect().width > 0);
			const pane = document.querySelector('.list-pane').getBoundingClientRect();
			const right = Math.max(...th.map((x) => x.getBoundingClientRect().right));
			const bar = document.querySelector('.topbar').scrollWidth > innerWidth;
			return { path: cell.getBoundingClientRect().width, heads: th.length, cells: td.length, overflow: right > pane.right + 1 || bar };
		})()`)
		browserScreenshot(t, p, fmt.Sprintf("layout-list-%d.png", w))
		if got["path"].(float64) < 100 || got["heads"] != got["cells"] || got["overflow"] != false {
			p.fatalf(t, "at %dpx the list: %v; want a path of 100px or more, as many headers as cells, nothing past the pane or the window", w, got)
		}
	}
}

// testBrowserRowLabels: in a 1400px window the list's path keeps priority
// over the row's labels (a short path shows whole beside a rule label), and
// with several labels each still shows a part of itself, the rule's
// included, rather than the last ones vanishing behind one ellipsis.
func testBrowserRowLabels(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.do(t, "1400x900", chromedp.EmulateViewport(1400, 900))
	p.openUI(t, s.UI)
	now := time.Now().UTC().Format(time.RFC3339Nano)
	rows := []map[string]any{
		{"id": "01ROWLABELS1", "path": "/b/acme/hooks/zendesk", "rule": "zendesk-ticket-created"},
		{"id": "01ROWLABELS2", "path": "/b/acme/hooks/stripe", "rule": "stripe-payment-ok", "signature": "invalid", "error": "upstream refused"},
		{"id": "01ROWLABELS3", "path": "/enc", "rule": "enc", "signature": "invalid", "error": "boom", "truncated": true, "source": "proxy"},
		{"id": "01ROWLABELS4", "path": "/b/acme/hooks/" + strings.Repeat("very-long-segment/", 8), "rule": "long-path-rule"},
	}
	for _, r := range rows {
		r["bin"], r["time"], r["method"], r["status"], r["url"] = "acme", now, "POST", 200, "http://127.0.0.1:1"+r["path"].(string)
		if r["source"] == nil {
			r["source"] = "capture"
		}
		b, _ := json.Marshal(r)
		p.do(t, "add a row", chromedp.Evaluate[chromedp.Void](`window.hooklab.list.add(`+string(b)+`)`))
	}
	p.waitFor(t, "the rows show", `document.querySelectorAll('tr.exchange-row').length === 4`, 5*time.Second)
	type label struct {
		Text    string  `json:"text"`
		Visible float64 `json:"visible"` // px of the label inside its cell
	}
	type row struct {
		ID       string  `json:"id"`
		PathCut  bool    `json:"pathCut"`
		PathW    float64 `json:"pathW"`
		CellW    float64 `json:"cellW"`
		Labels   []label `json:"labels"`
		Overflow bool    `json:"overflow"`
	}
	got := evalIn[[]row](t, p, `[...document.querySelectorAll('tr.exchange-row')].map((tr) => {
		const cell = tr.querySelector('.cell-path').getBoundingClientRect();
		const path = tr.querySelector('.cell-path .path');
		return {
			id: tr.dataset.id,
			// The text's own width, ellipsis or not, against its box: a
			// fraction of a pixel short already ends it with "…".
			pathCut: (() => { const t = document.createRange(); t.selectNodeContents(path); return t.getBoundingClientRect().width > path.getBoundingClientRect().width + 0.01; })() ||
				path.getBoundingClientRect().right > cell.right,
			pathW: path.getBoundingClientRect().width,
			cellW: cell.width,
			labels: [...tr.querySelectorAll('.badge')].map((b) => {
				const r = b.getBoundingClientRect();
				return { text: b.textContent, visible: Math.max(0, Math.min(r.right, cell.right) - Math.max(r.left, cell.left)) };
			}),
			overflow: tr.querySelector('.cell-path').scrollWidth > tr.querySelector('.cell-path').clientWidth + 1,
		};
	})`)
	browserScreenshot(t, p, "row-labels-1400.png")
	for _, r := range got {
		short := r.ID != "01ROWLABELS4"
		if short && r.PathCut {
			p.fatalf(t, "row %s: the short path is cut (%.0f of %.0f px): %+v", r.ID, r.PathW, r.CellW, r)
		}
		for _, l := range r.Labels {
			if l.Visible < 18 {
				p.fatalf(t, "row %s: label %q shows %.0f px, hidden behind the others: %+v", r.ID, l.Text, l.Visible, r)
			}
		}
	}
}

// A filter the index cannot answer (path:) is checked 10,000 exchanges a
// page: when the newest page holds no match, the list loads older pages
// until it finds one, rather than say nothing matches.
func testBrowserScanFilterLooksFurther(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	const hay = 10_050
	var har bytes.Buffer
	har.WriteString(`{"log":{"version":"1.2","creator":{"name":"scan","version":"1"},"entries":[`)
	start := time.Now().Add(-time.Hour)
	for i := range hay + 1 {
		if i > 0 {
			har.WriteByte(',')
		}
		path := fmt.Sprint(i)
		if i == 0 {
			path = "needle" // the oldest
		}
		fmt.Fprintf(&har, `{"startedDateTime":%q,"time":1,"request":{"method":"GET","url":"http://127.0.0.1:1/hooks/%s","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":2,"mimeType":"application/json","text":"{}"},"redirectURL":"","headersSize":-1,"bodySize":2},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}`,
			start.Add(time.Duration(i)*time.Millisecond).UTC().Format(time.RFC3339Nano), path)
	}
	har.WriteString(`]}}`)
	importHAR(t, s.UI, "scan", &har)

	// Requests for older pages (with a cursor) are held a second, so that
	// one is still out when the filter changes below.
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `(() => {
  window.olderOut = 0;
  const fetch0 = window.fetch.bind(window);
  window.fetch = async (u, o) => {
    if (!String(u && u.url || u).includes('cursor=')) return fetch0(u, o);
    window.olderOut++;
    try {
      await new Promise((r) => setTimeout(r, 1000));
      return await fetch0(u, o);
    } finally { window.olderOut--; }
  };
})()`}); err != nil {
		t.Fatal(err)
	}
	const want = `document.querySelectorAll('tr.exchange-row').length === 1 && document.querySelector('#list-status').textContent.includes('1 exchange')`
	p.do(t, "open the UI", chromedp.Navigate(s.UI+"?q="+url.QueryEscape("path:/hooks/needle")))
	p.waitFor(t, "the one match, 10,050 exchanges back, shows", want, 60*time.Second)

	// The filter changes while an older page of the last one is loading:
	// the new filter's list fills once that page is in.
	p.do(t, "open the UI", chromedp.Navigate(s.UI+"?q="+url.QueryEscape("path:/hooks/none")))
	p.waitFor(t, "an older page is being loaded", `window.olderOut > 0`, 60*time.Second)
	p.do(t, "change the filter", setInput("#q", "path:/hooks/needle"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#filter').requestSubmit()`))
	p.waitFor(t, "the new filter's match shows", want, 60*time.Second)
}

// importHAR posts a HAR file to the server whose UI is at uiURL, into bin.
func importHAR(t *testing.T, uiURL, bin string, har io.Reader) {
	t.Helper()
	u, _ := url.Parse(uiURL)
	req, _ := http.NewRequest(http.MethodPost, uiURL+"api/import?bin="+bin, har)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", u.Scheme+"://"+u.Host)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusCreated {
		t.Fatalf("import: %d %s", res.StatusCode, body)
	}
}

// testBrowserLongTitleAndConnect: a CONNECT row shows the host:port it
// tunnelled to (it read "CONNECT /"); a path of thousands of characters
// does not grow the detail's sticky head past the pane (its buttons went
// out of reach).
func testBrowserLongTitleAndConnect(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.do(t, "1400x760", chromedp.EmulateViewport(1400, 760))
	p.openUI(t, s.UI)
	b, _ := json.Marshal(map[string]any{"id": "01CONNECTROW", "bin": "forward", "source": "proxy", "time": time.Now().UTC().Format(time.RFC3339Nano),
		"method": "CONNECT", "url": "https://example.com:443", "path": "", "status": 200})
	p.do(t, "add a tunnel", chromedp.Evaluate[chromedp.Void](`window.hooklab.list.add(`+string(b)+`)`))
	p.waitFor(t, "the tunnel's row", `document.querySelector('tr.exchange-row[data-id="01CONNECTROW"]')`, 5*time.Second)
	if got := evalIn[string](t, p, `document.querySelector('tr.exchange-row[data-id="01CONNECTROW"] a.path').textContent`); got != "example.com:443" {
		p.fatalf(t, "the CONNECT row reads %q, want the host:port", got)
	}
	id := browserCapture(t, s.Capture, "/"+strings.Repeat("segment-", 750), `{}`)
	p.waitFor(t, "the long one shows", `document.querySelector(`+jsQuote(browserRow(id))+`)`, 5*time.Second)
	p.do(t, "open it", chromedp.Click(chromedp.CSS(browserRow(id)+" a")))
	p.waitFor(t, "the detail is ready", `document.querySelector('#detail').dataset.state === 'ready' && document.querySelector('#detail').dataset.id === `+jsQuote(id), 10*time.Second)
	st := evalIn[map[string]float64](t, p, `(() => {
		const head = document.querySelector('#detail .detail-head').getBoundingClientRect();
		const pane = document.querySelector('#detail').getBoundingClientRect();
		const btn = [...document.querySelectorAll('#detail .detail-head button')].pop().getBoundingClientRect();
		return { head: head.height, pane: pane.height, btnBottom: btn.bottom, viewport: innerHeight };
	})()`)
	if st["head"] > st["pane"]/3 || st["btnBottom"] > st["viewport"] {
		p.fatalf(t, "with a 6,000-character path the detail head is %.0f px of a %.0f px pane, its last button's bottom at %.0f (viewport %.0f)", st["head"], st["pane"], st["btnBottom"], st["viewport"])
	}
}

// waitPortFree waits until addr, a stopped server's port, can be listened
// on again (up to 5 s), so that a new server can take it.
func waitPortFree(t *testing.T, addr string) {
	t.Helper()
	for attempt := 0; ; attempt++ {
		ln, err := net.Listen("tcp", addr)
		if err == nil {
			ln.Close()
			return
		}
		if attempt == 100 {
			t.Fatalf("UI port %s does not come free: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
