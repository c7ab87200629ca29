package hooklabtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// recorder is a TB whose Fatalf records instead of stopping.
type recorder struct {
	mu       sync.Mutex
	fatal    string
	cleanups []func()
}

func (*recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.mu.Lock()
	r.fatal = fmt.Sprintf(format, args...)
	r.mu.Unlock()
}
func (r *recorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recorder) finish() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func get(t *testing.T, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func TestWithHAR(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, WithHAR("testdata/payments.har"))

	resp, err := http.Post(srv.URL+"/v1/payment_intents", "application/x-www-form-urlencoded", strings.NewReader("amount=2000"))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	// The recorded body, decoded, without the recorded Content-Encoding.
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"status":"processing"`) || resp.Header.Get("Content-Type") != "application/json" ||
		resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Request-Id") != "req_Qx81" {
		t.Errorf("POST: %d %v %s", resp.StatusCode, resp.Header, body)
	}

	resp, png := get(t, srv.URL+"/v1/receipts/pi_1.png")
	want, _ := base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
	if !bytes.Equal(png, want) || resp.Header.Get("Content-Type") != "image/png" {
		t.Errorf("png: %d bytes %v", len(png), resp.Header)
	}

	// Another query is not the recorded request: the default answer.
	resp, body = get(t, srv.URL+"/v1/payment_intents/pi_1?expand=nothing")
	if !strings.Contains(string(body), `"ok":true`) {
		t.Errorf("unrecorded query got %d %s", resp.StatusCode, body)
	}
	ex := srv.WaitFor(t, Request("GET", "/v1/payment_intents/pi_1"), time.Second)
	if ex.Request.URL != srv.URL+"/v1/payment_intents/pi_1?expand=nothing" {
		t.Errorf("waited for %s", ex.Request.URL)
	}
}

// TestWithHARHeadKeepsContentLength: a recorded HEAD answer is served
// with its Content-Length, as the size of the body a GET would get.
func TestWithHARHeadKeepsContentLength(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "head.har")
	har := `{"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, "entries": [
  {"startedDateTime": "2026-01-01T00:00:00Z", "time": 1,
   "request": {"method": "HEAD", "url": "https://files.example/report.pdf", "headers": []},
   "response": {"status": 200, "headers": [{"name": "Content-Type", "value": "application/pdf"}, {"name": "Content-Length", "value": "1234"}],
                "content": {"size": 0, "mimeType": "application/pdf"}}}]}}`
	if err := os.WriteFile(file, []byte(har), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := NewServer(t, WithHAR(file))
	resp, err := http.Head(srv.URL + "/report.pdf")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != 1234 || resp.Header.Get("Content-Type") != "application/pdf" {
		t.Errorf("HEAD: %d, Content-Length %d, %v", resp.StatusCode, resp.ContentLength, resp.Header)
	}
}

func TestWithConfigFileAndEnv(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "answer.json"), []byte(`{"from":"file"}`), 0o644)
	os.WriteFile(filepath.Join(dir, "hooklab.yaml"), []byte(`
mocks:
  - match: {path: /file}
    respond: {status: 201, file: answer.json}
verify:
  - match: {path: /signed}
    scheme: github
    secret: ${GH_SECRET}
    reject: true
`), 0o644)
	srv := NewServer(t, WithConfigFile(filepath.Join(dir, "hooklab.yaml")), WithEnv(map[string]string{"GH_SECRET": "s3"}),
		WithConfig("mocks:\n  - match: {path: /text}\n    respond: {status: 418, body: teapot}\n"))
	if resp, body := get(t, srv.URL+"/file"); resp.StatusCode != 201 || string(body) != `{"from":"file"}` {
		t.Errorf("file mock: %d %s", resp.StatusCode, body)
	}
	if resp, body := get(t, srv.URL+"/text"); resp.StatusCode != 418 || string(body) != "teapot" {
		t.Errorf("second config: %d %s", resp.StatusCode, body)
	}
	resp, _ := get(t, srv.URL+"/signed")
	if resp.StatusCode != 401 {
		t.Errorf("unsigned request: %d", resp.StatusCode)
	}
	ex := srv.WaitFor(t, Request("", "/signed"), time.Second)
	if ex.Signature == nil || ex.Signature.Verdict != "invalid" {
		t.Errorf("signature %+v", ex.Signature)
	}
}

func TestNewServerFailures(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string][]Option{
		"bad yaml":     {WithConfig("mocks: [")},
		"bad rule":     {WithConfig("mocks:\n  - match: {methd: GET}\n    respond: {status: 200}\n")},
		"missing file": {WithConfigFile("/nonexistent/hooklab.yaml")},
		"missing HAR":  {WithHAR("testdata/nope.har")},
		"bad mock":     {WithMock("GET", "/x", 200, ""), WithMock("GET", "/y", 99, "")},
		// Sections it does not run would leave a test waiting for ever.
		"webhooks":   {WithConfig("webhooks:\n  - {id: sink, endpoint: 'http://127.0.0.1:1/'}\nsubscriptions:\n  - {webhook: sink, events: [ticket.created]}\n")},
		"nil option": {nil},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := &recorder{}
			defer r.finish()
			if srv := NewServer(r, opts...); srv != nil || !strings.HasPrefix(r.fatal, "hooklabtest: ") {
				t.Errorf("server %v, fatal %q", srv, r.fatal)
			}
			if name == "webhooks" && !strings.Contains(r.fatal, "it does not run webhooks, subscriptions (run hooklab serve") {
				t.Errorf("fatal %q, want the sections it does not run", r.fatal)
			}
			if name == "bad mock" && !strings.Contains(r.fatal, "WithMock #2 (GET /y)") {
				t.Errorf("fatal %q, want the call named", r.fatal)
			}
		})
	}
}

// TestCleanupEndsHeldAnswers: a request a fault: timeout mock (or a long
// delay) holds, from a client with no time limit, does not keep the test's
// cleanup waiting.
func TestCleanupEndsHeldAnswers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, method, respond string }{
		{"timeout", "POST", "{fault: timeout}"},
		{"delay", "POST", "{delay: 20s}"},
		// A GET on a kept-alive connection that is dropped is sent again
		// on a new one (Go's Transport retries it): cleanup must not
		// take that one in and wait out its delay.
		{"delay, kept-alive GET", "GET", "{delay: 20s}"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			testCleanupEndsHeldAnswer(t, tc.method, tc.respond)
		})
	}
}

func testCleanupEndsHeldAnswer(t *testing.T, method, respond string) {
	r := &recorder{}
	srv := NewServer(r, WithConfig("mocks:\n  - match: {path: /hang}\n    respond: "+respond+"\n"))
	if srv == nil {
		t.Fatal(r.fatal)
	}
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	if resp, err := client.Get(srv.URL + "/warm"); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	errc := make(chan error, 1)
	go func() {
		req, _ := http.NewRequest(method, srv.URL+"/hang", nil)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	srv.WaitFor(t, Request(method, "/hang"), 5*time.Second)
	done := make(chan struct{})
	go func() { r.finish(); close(done) }()
	select {
	case <-done:
	case <-time.After(3 * time.Second):
		t.Fatal("cleanup still waiting for the held request after 3s")
	}
	if err := <-errc; err == nil {
		t.Error("the held request got an answer")
	}
}

func TestWaitFor(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	get(t, srv.URL+"/first")
	// Already stored: found at once.
	if ex := srv.WaitFor(t, Request("GET", "/first"), time.Second); ex.Summarize().Path != "/first" {
		t.Errorf("got %s", ex.Request.URL)
	}
	// Many arriving at once, the match last: found without polling. The
	// minute bounds the sender's 151 captures, not WaitFor: they took 2 s
	// under -race on a quiet machine and over 10 s on a loaded one.
	go func() {
		for i := range 150 {
			resp, err := http.Get(fmt.Sprintf("%s/b/load/n/%d", srv.URL, i))
			if err == nil {
				resp.Body.Close()
			}
		}
		resp, err := http.Post(srv.URL+"/b/load/done", "text/plain", strings.NewReader("bye"))
		if err == nil {
			resp.Body.Close()
		}
	}()
	ex := srv.WaitFor(t, All(InBin("load"), Request("POST", "/done")), time.Minute)
	if string(ex.Request.Body) != "bye" {
		t.Errorf("got %s %q", ex.Request.URL, ex.Request.Body)
	}
	if n := len(srv.Exchanges(InBin("load"))); n != 151 {
		t.Errorf("%d in bin load", n)
	}

	// The 10 s are for the first look through the 152 stored, which the
	// timeout does not bound (it took 1 s under -race on a loaded machine);
	// a wait that overlooked its timeout would never end.
	r := &recorder{}
	start := time.Now()
	if ex := srv.WaitFor(r, Request("DELETE", "/never"), 50*time.Millisecond); ex != nil || time.Since(start) > 10*time.Second {
		t.Errorf("got %v", ex)
	}
	if !strings.Contains(r.fatal, "no matching exchange within 50ms") || !strings.Contains(r.fatal, "only the last 20") || !strings.Contains(r.fatal, "POST "+srv.URL+"/b/load/done → 200") {
		t.Errorf("fatal %q", r.fatal)
	}

	// After: the next match, not the first.
	first := srv.WaitFor(t, Request("GET", "/first"), time.Second)
	get(t, srv.URL+"/first")
	if next := srv.WaitFor(t, All(After(first.ID), Request("GET", "/first")), 5*time.Second); next.ID == first.ID {
		t.Errorf("After gave the same exchange")
	}

	srv.Reset(t)
	if n := len(srv.Exchanges(nil)); n != 0 {
		t.Errorf("%d after reset", n)
	}
}

// TestWaitForOverflowUnsubscribes: a WaitFor that fell behind the hub and
// subscribed again leaves no subscription behind (it unsubscribed the
// first one twice and leaked the second).
func TestWaitForOverflowUnsubscribes(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	const gate = "gate"
	entered, release := make(chan struct{}), make(chan struct{})
	match := func(ex *inspect.Exchange) bool {
		if ex.ID == gate {
			close(entered)
			<-release // holds WaitFor while the hub overflows its buffer
			return false
		}
		return ex.Request.Method == "POST"
	}
	r := &recorder{} // Fatalf must not stop this other goroutine
	found := make(chan *inspect.Exchange, 1)
	go func() { found <- srv.WaitFor(r, match, 10*time.Second) }()
	for srv.Hub.Subscribers() == 0 {
		time.Sleep(time.Millisecond)
	}
	srv.Hub.Publish(inspect.Event{Type: "exchange", Exchange: &inspect.Exchange{ID: gate}})
	<-entered
	for i := range 5000 {
		srv.Hub.Publish(inspect.Event{Type: "exchange", Exchange: &inspect.Exchange{ID: fmt.Sprint(i)}})
	}
	// Stored after the overflow: only a look in the store finds it.
	resp, err := http.Post(srv.URL+"/after-overflow", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	close(release)
	if ex := <-found; ex == nil || ex.Summarize().Path != "/after-overflow" {
		t.Fatalf("WaitFor after an overflow: %v (%s)", ex, r.fatal)
	}
	if n := srv.Hub.Subscribers(); n != 0 {
		t.Errorf("%d subscriptions left after WaitFor returned", n)
	}
}

// TestConfigsMerge: mocks of several configs keep their own state even
// when their names collide (unnamed ones are mock-1 in each), and a later
// config's settings apply.
func TestConfigsMerge(t *testing.T) {
	t.Parallel()
	srv := NewServer(t,
		WithConfig("mocks:\n  - match: {path: /a}\n    sequence: [{status: 201}, {status: 202}]\n"),
		WithConfig("mocks:\n  - match: {path: /b}\n    sequence: [{status: 211}, {status: 212}]\n"),
		WithConfig("settings: {default_status: 404}\n"))
	var got []int
	for _, p := range []string{"/a", "/b", "/a", "/b", "/none"} {
		resp, _ := get(t, srv.URL+p)
		got = append(got, resp.StatusCode)
	}
	if fmt.Sprint(got) != "[201 211 202 212 404]" {
		t.Errorf("statuses %v, want [201 211 202 212 404]", got)
	}
	rulesOf := map[string]string{}
	for _, ex := range srv.Exchanges(nil) {
		rulesOf[ex.Summarize().Path] = ex.Rule
	}
	if rulesOf["/a"] == rulesOf["/b"] {
		t.Errorf("/a and /b name the same rule %q", rulesOf["/a"])
	}
}

// TestConfigsMergeSettingsBackToDefault: a later config that sets a
// setting to its default value wins over an earlier one's.
func TestConfigsMergeSettingsBackToDefault(t *testing.T) {
	t.Parallel()
	srv := NewServer(t,
		WithConfig("settings: {default_status: 404}\n"),
		WithConfig("settings: {default_status: 200}\n"))
	resp, _ := get(t, srv.URL+"/none")
	if resp.StatusCode != 200 {
		t.Errorf("status %d, want the later config's 200", resp.StatusCode)
	}
}

// TestReplayNeedsTarget: an empty target fails the test rather than send
// the fixture's requests to their recorded hosts.
func TestReplayNeedsTarget(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	r := &recorder{}
	if rep := srv.Replay(r, "testdata/payments.har", ""); rep != nil || !strings.Contains(r.fatal, "no target") {
		t.Errorf("report %v, fatal %q", rep, r.fatal)
	}
}

func TestBinURL(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	get(t, srv.BinURL("orders")+"created")
	ex := srv.WaitFor(t, InBin("orders"), time.Second)
	if ex.Summarize().Path != "/b/orders/created" || !Request("GET", "/created")(ex) {
		t.Errorf("got %s", ex.Request.URL)
	}
}

// TestREADMEExample runs the README's hooklabtest example as written.
func TestREADMEExample(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(readme), "srv := hooklabtest.NewServer(t, hooklabtest.WithConfig(`")
	yaml, _, ok := strings.Cut(rest, "`))")
	if !ok {
		t.Fatal("the README has no hooklabtest example")
	}
	srv := NewServer(t, WithConfig(yaml))
	resp, err := http.Post(srv.URL+"/hooks/billing", "application/json", strings.NewReader(`{"id": "evt_1"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 202 || string(b) != `{"accepted": "evt_1"}` {
		t.Errorf("answer %d %s", resp.StatusCode, b)
	}
	if ex := srv.WaitFor(t, Request("POST", "/hooks/*"), 5*time.Second); ex.Response.Status != 202 {
		t.Errorf("recorded %+v", ex.Response)
	}
}

// TestWaitNextFollowsStoredOrder: a slow sender's request starts first
// and is stored last; WaitNext after the fast one's id gets it, where
// After (id order) cannot. A timeout of 0 looks in the store once.
func TestWaitNextFollowsStoredOrder(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	body := `{"id":"slow"}`
	fmt.Fprintf(c, "POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", len(body))
	// The server says 100 Continue when the handler first reads the body,
	// after it took the exchange's id: the request has started.
	br := bufio.NewReader(c)
	if line, err := br.ReadString('\n'); err != nil || !strings.HasPrefix(line, "HTTP/1.1 100 ") {
		t.Fatalf("before the slow body: %q, %v; want 100 Continue", line, err)
	}
	resp, err := http.Post(srv.URL+"/hooks", "application/json", strings.NewReader(`{"id":"fast"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	fast := srv.WaitFor(t, Request("POST", "/hooks"), 5*time.Second)
	if string(fast.Request.Body) != `{"id":"fast"}` {
		t.Fatalf("first stored: %s", fast.Request.Body)
	}
	if _, err := io.WriteString(c, body); err != nil {
		t.Fatal(err)
	}
	slow := srv.WaitNext(t, fast.ID, Request("POST", "/hooks"), 5*time.Second)
	if string(slow.Request.Body) != body || slow.ID > fast.ID {
		t.Errorf("next stored: %s (id %s, the fast one's %s)", slow.Request.Body, slow.ID, fast.ID)
	}
	if again := srv.WaitNext(t, fast.ID, Request("POST", "/hooks"), 0); again.ID != slow.ID {
		t.Errorf("with timeout 0: %s, want %s", again.ID, slow.ID)
	}
	r := &recorder{}
	if srv.WaitNext(r, slow.ID, nil, 0) != nil || !strings.Contains(r.fatal, "no matching exchange") {
		t.Errorf("nothing after the last, timeout 0: fatal %q", r.fatal)
	}
}

// TestRequestPatterns: Request reads path patterns as mock rules do.
func TestRequestPatterns(t *testing.T) {
	t.Parallel()
	ex := func(method, u string) *inspect.Exchange {
		return &inspect.Exchange{Bin: "default", Request: inspect.Request{Method: method, URL: u}}
	}
	for _, tc := range []struct {
		method, pattern, url string
		want                 bool
	}{
		{"POST", "/hooks", "http://x/hooks", true},
		{"post", "/hooks", "http://x/hooks", true},
		{"GET", "/hooks", "http://x/hooks", false},
		{"", "/hooks/*", "http://x/hooks/billing", true},
		{"", "/hooks/**", "http://x/hooks/a/b", true},
		{"", "/hooks/**", "http://x/hooks", true},
		{"", "/hooks/*/done", "http://x/hooks/a/done", true},
		{"", "/hooks/*/done", "http://x/hooks/a/b/done", false},
		{"", "/created", "http://x/b/orders/created", true},
		{"", "/other", "http://x/hooks", false},
		// As mock rules read them, not as the filter bar does.
		{"", "/users/{id}", "http://x/users/7", true},
		{"", "/users/{id}", "http://x/users/7/x", false},
		{"", "/hooks/*", "http://x/hooks/a/b", false},
		{"", "/three*", "http://x/three/x", false},
		{"", "/*.json", "http://x/a.json", true},
	} {
		if got := Request(tc.method, tc.pattern)(ex("POST", tc.url)); got != tc.want {
			t.Errorf("Request(%q, %q) on %s: %v, want %v", tc.method, tc.pattern, tc.url, got, tc.want)
		}
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "must start with /") {
			t.Errorf("Request with a pattern mock rules refuse: recovered %v", r)
		}
	}()
	Request("GET", "hooks")
}

// countingStore counts the exchanges read whole, and can store one more
// exchange at each listing (senders that never stop).
type countingStore struct {
	inspect.Store
	gets   atomic.Int64
	onList func()
}

func (c *countingStore) Get(ctx context.Context, id string) (*inspect.Exchange, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, id)
}

func (c *countingStore) List(ctx context.Context, q inspect.Query) ([]inspect.Summary, string, error) {
	if c.onList != nil {
		c.onList()
	}
	return c.Store.List(ctx, q)
}

// TestWaitReadsEachExchangeOnce: waiting for each of N exchanges in turn
// reads each once, not N²/2 times; and a first look into the store ends
// at what was there when it began, even while more keep coming (it once
// read on for as long as senders outpaced it).
func TestWaitReadsEachExchangeOnce(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	cs := &countingStore{Store: srv.Store}
	srv.Store = cs
	const n = 60
	for i := range n {
		get(t, fmt.Sprintf("%s/n/%d", srv.URL, i))
	}
	for i := range n {
		srv.WaitFor(t, Request("GET", fmt.Sprintf("/n/%d", i)), 5*time.Second)
	}
	if got := cs.gets.Load(); got != n {
		t.Errorf("%d waits read %d exchanges, want %d", n, got, n)
	}
	// Each listing stores a page more: a scan to the end never ends.
	ids := new(inspect.IDs)
	cs.onList = func() {
		for range 1001 {
			ex := &inspect.Exchange{ID: ids.New(time.Now()), Bin: "default", Source: inspect.SourceCapture,
				Request: inspect.Request{Method: "GET", URL: srv.URL + "/more", Headers: inspect.Headers{}}}
			if err := cs.Store.Add(context.Background(), ex); err != nil {
				t.Error(err)
			}
		}
	}
	if got := srv.Exchanges(Request("GET", "/n/*")); len(got) != n {
		t.Errorf("Exchanges listed %d of /n/*, want %d", len(got), n)
	}
}

// TestWithMockTakesDollarBraceLiterally: a quick mock's body is Go text,
// not config: "${x}" (a JavaScript template literal) is sent as written,
// not read as an environment variable that is not set.
func TestWithMockTakesDollarBraceLiterally(t *testing.T) {
	t.Parallel()
	body := "const a = `${x}`; // $${y} {{ request.query.q }}"
	srv := NewServer(t, WithMock("GET", "/js", 200, body))
	_, b := get(t, srv.URL+"/js?q=1")
	if want := "const a = `${x}`; // $${y} 1"; string(b) != want {
		t.Errorf("body %q, want %q", b, want)
	}
}

// TestWithHARPathsWithPatternCharacters: a recorded path holding *, { or }
// (sent as %2A, %7B, %7D: JSON in a beacon's path, a literal "{id}") is a
// path, not a pattern: the fixture loads, such an entry does not answer
// for the other recorded paths, and its own request gets its answer.
func TestWithHARPathsWithPatternCharacters(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "paths.har")
	entry := func(url, body string) string {
		return `{"startedDateTime": "2026-01-01T00:00:00Z", "time": 1, "request": {"method": "GET", "url": "` + url +
			`", "headers": []}, "response": {"status": 200, "headers": [], "content": {"size": 1, "mimeType": "text/plain", "text": "` + body + `"}}}`
	}
	har := `{"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, "entries": [` + strings.Join([]string{
		entry("https://api.example/users/%7Bid%7D", "braces"),
		entry("https://api.example/users/me", "me"),
		entry("https://api.example/files/%2A", "star"),
		entry("https://api.example/files/a", "a"),
		entry(`https://api.example/t/%7B%22a%22%3A1%7D`, "beacon"),
	}, ", ") + `]}}`
	if err := os.WriteFile(file, []byte(har), 0o600); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	defer rec.finish()
	srv := NewServer(rec, WithHAR(file))
	if rec.fatal != "" {
		t.Fatalf("NewServer: %s", rec.fatal)
	}
	for path, want := range map[string]string{
		"/users/me":            "me",
		"/users/%7Bid%7D":      "braces",
		"/files/a":             "a",
		"/files/%2A":           "star",
		"/t/%7B%22a%22%3A1%7D": "beacon",
	} {
		if _, body := get(t, srv.URL+path); string(body) != want {
			t.Errorf("GET %s: %q, want %q", path, body, want)
		}
	}
}

// TestWaitForTimeoutSaysWhy: when WaitFor times out, each exchange listed
// carries what a test waiting on it would check besides method, URL and
// status: the rule that answered, a signature's verdict and why, a
// replay's source, an error; and WaitNext marks the exchange it waits
// after, so that what came before it reads as such.
func TestWaitForTimeoutSaysWhy(t *testing.T) {
	t.Parallel()
	srv := NewServer(t, WithConfig(`
mocks:
  - name: hooks
    match: {path: "/hooks/**"}
    respond: {status: 202}
verify:
  - name: gh
    match: {path: "/hooks/**"}
    scheme: github
    secret: s3cret
`))
	req, _ := http.NewRequest("POST", srv.URL+"/hooks/github", strings.NewReader(`{}`))
	req.Header.Set("X-Hub-Signature-256", "sha256=00")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ex := srv.WaitFor(t, nil, time.Second)

	r := &recorder{}
	srv.WaitFor(r, func(ex *inspect.Exchange) bool { return ex.Signature != nil && ex.Signature.Verdict == "valid" }, 10*time.Millisecond)
	want := "POST " + srv.URL + "/hooks/github → 202 (rule hooks, signature gh invalid: signature mismatch)"
	if !strings.Contains(r.fatal, want) {
		t.Errorf("fatal %q, want %q", r.fatal, want)
	}
	if strings.Contains(r.fatal, "context deadline exceeded") {
		t.Errorf("fatal %q says context deadline exceeded: the timeout says so", r.fatal)
	}

	r = &recorder{}
	srv.WaitNext(r, ex.ID, nil, 10*time.Millisecond)
	if !strings.Contains(r.fatal, "no matching exchange stored after "+ex.ID+" within") || !strings.Contains(r.fatal, "signature mismatch) ← WaitNext's "+ex.ID) {
		t.Errorf("fatal %q, want the exchange WaitNext waits after marked", r.fatal)
	}
}

// TestWithEnv: WithEnv options add up, as WithConfig and WithMock ones
// do (a shared helper's secrets and a test's own; the last one replaced
// the others), and a ${NAME} the test's environment holds but WithEnv does
// not fails saying where hooklabtest reads it from.
func TestWithEnv(t *testing.T) {
	t.Setenv("HOOKLABTEST_PROCESS_ONLY", "from the process")
	cfg := "verify:\n  - match: {path: /a}\n    scheme: github\n    secret: ${SECRET_A}\n  - match: {path: /b}\n    scheme: github\n    secret: ${SECRET_B}\n"
	r := &recorder{}
	defer r.finish()
	if srv := NewServer(r, WithConfig(cfg), WithEnv(map[string]string{"SECRET_A": "a"}), WithEnv(map[string]string{"SECRET_B": "b"})); srv == nil {
		t.Errorf("two WithEnv: %s", r.fatal)
	}

	r = &recorder{}
	defer r.finish()
	NewServer(r, WithConfig("verify:\n  - match: {path: /a}\n    scheme: github\n    secret: ${HOOKLABTEST_PROCESS_ONLY}\n"))
	if !strings.Contains(r.fatal, "HOOKLABTEST_PROCESS_ONLY") || !strings.Contains(r.fatal, "hooklabtest reads ${NAME} from WithEnv, not the process environment") {
		t.Errorf("fatal %q, want it to say where ${NAME} is read from", r.fatal)
	}
}

// TestWithMockErrors: a WithMock the rules refuse fails naming the call,
// without the line and column of the YAML it was turned into (which the
// test never wrote), and a path with a query says what to use instead of
// the YAML fields WithMock has no parameter for.
func TestWithMockErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		mock Option
		want string
	}{
		{WithMock("GET", "/x", 99, ""), "hooklabtest: WithMock #1 (GET /x): status: want an HTTP status between 200 and 599, got 99"},
		{WithMock("GET", "/search?q=1", 200, ""), "hooklabtest: WithMock #1 (GET /search?q=1): the path holds a query; WithMock matches the path only: use WithConfig for a rule with match: {path: /search, query: {...}}"},
	} {
		r := &recorder{}
		NewServer(r, c.mock)
		r.finish()
		if r.fatal != c.want {
			t.Errorf("fatal %q\nwant  %q", r.fatal, c.want)
		}
	}
}
