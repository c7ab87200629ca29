package mock_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/mock"
	"github.com/hooklab/hooklab/rules"
)

// exampleFile is the config of issue 3, verbatim.
const exampleFile = "testdata/issue3.yaml"

// exampleSecret is ZENDESK_SECRET for the example config.
const exampleSecret = "zendesk-test-secret"

// clock is a settable clock for the engine.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// harness is a capture endpoint with a mock engine behind a real listener,
// and the rules API on another.
type harness struct {
	URL    string // capture base URL, no trailing slash
	API    string // rules API base URL
	Store  *inspect.SQLite
	Engine *mock.Engine
	// handlerDone receives once for every capture request whose handler
	// returned.
	handlerDone chan struct{}
	h2c         bool // speak unencrypted HTTP/2
}

// env resolves ${NAME} in test configs.
func env(name string) string {
	switch name {
	case "ZENDESK_SECRET":
		return exampleSecret
	}
	return ""
}

// parseConfig parses src as a config named file and fails the test on an
// error.
func parseConfig(t testing.TB, file, src string) *rules.Config {
	t.Helper()
	cfg, err := rules.Parse([]byte(src), file, env)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	return cfg
}

// loadExample parses the example config of issue 3.
func loadExample(t testing.TB) *rules.Config {
	t.Helper()
	b, err := os.ReadFile(exampleFile)
	if err != nil {
		t.Fatal(err)
	}
	return parseConfig(t, exampleFile, string(b))
}

// newHarness serves cfg on a fresh in-memory store. now is the engine's
// clock (time.Now when nil).
func newHarness(t testing.TB, cfg *rules.Config, now func() time.Time) *harness {
	t.Helper()
	return newHarnessProto(t, cfg, now, false)
}

// newHarnessProto is newHarness; with h2c the capture listener and the
// client speak unencrypted HTTP/2 only.
func newHarnessProto(t testing.TB, cfg *rules.Config, now func() time.Time, h2c bool) *harness {
	t.Helper()
	store, err := inspect.OpenSQLite("", inspect.Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := store.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	h := &harness{Store: store, Engine: mock.NewEngine(cfg, now), handlerDone: make(chan struct{}, 1000)}
	capture := mock.New(mock.Config{Store: store, Engine: h.Engine, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { h.handlerDone <- struct{}{} }()
		capture.ServeHTTP(w, r)
	}))
	if h2c {
		h.h2c = true
		srv.Config.Protocols = new(http.Protocols)
		srv.Config.Protocols.SetUnencryptedHTTP2(true)
	}
	srv.Start()
	// Close runs before the store closes (cleanups run last-in first-out),
	// and it waits for handlers still running (timeouts, drips).
	t.Cleanup(srv.Close)
	api := httptest.NewServer(h.Engine.API(slog.New(slog.DiscardHandler), nil))
	t.Cleanup(api.Close)
	h.URL, h.API = srv.URL, api.URL
	return h
}

// client returns a client that opens a new connection for every request, so
// that a broken connection never leaks into the next request.
func (h *harness) client(timeout time.Duration) *http.Client {
	tr := &http.Transport{DisableKeepAlives: true}
	if h.h2c {
		tr.Protocols = new(http.Protocols)
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	return &http.Client{Timeout: timeout, Transport: tr}
}

// answer is a response read to its end.
type answer struct {
	Status  int
	Header  http.Header
	Body    []byte
	Elapsed time.Duration // until the body was read
}

// do sends a request to the capture endpoint and reads the whole answer.
func (h *harness) do(t testing.TB, method, path string, hdr http.Header, body []byte) answer {
	t.Helper()
	a, err := h.try(method, path, hdr, body, 10*time.Second)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return a
}

// try is do without failing: it returns the transport or body error.
func (h *harness) try(method, path string, hdr http.Header, body []byte, timeout time.Duration) (answer, error) {
	req, err := http.NewRequest(method, h.URL+path, bytes.NewReader(body))
	if err != nil {
		return answer{}, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	start := time.Now()
	resp, err := h.client(timeout).Do(req)
	if err != nil {
		return answer{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return answer{Status: resp.StatusCode, Header: resp.Header, Body: b, Elapsed: time.Since(start)}, err
}

// post sends a JSON body.
func (h *harness) post(t testing.TB, path, body string) answer {
	t.Helper()
	return h.do(t, http.MethodPost, path, http.Header{"Content-Type": {"application/json"}}, []byte(body))
}

// exchanges returns every stored exchange of bin, oldest first.
func (h *harness) exchanges(t testing.TB, bin string) []*inspect.Exchange {
	t.Helper()
	ctx := context.Background()
	list, _, err := h.Store.List(ctx, inspect.Query{Bin: bin, Limit: 1000, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*inspect.Exchange, 0, len(list))
	for _, s := range list {
		ex, err := h.Store.Get(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ex)
	}
	return out
}

// last returns the newest exchange of bin.
func (h *harness) last(t testing.TB, bin string) *inspect.Exchange {
	t.Helper()
	all := h.exchanges(t, bin)
	if len(all) == 0 {
		t.Fatalf("no exchange stored in bin %s", bin)
	}
	return all[len(all)-1]
}

// rulesState is GET /api/rules.
type rulesState struct {
	File  *string `json:"file"`
	Error *string `json:"error"`
	Rules []struct {
		Name   string `json:"name"`
		Kind   string `json:"kind"`
		Source string `json:"source"`
		Hits   int64  `json:"hits"`
	} `json:"rules"`
	Config json.RawMessage `json:"config"`
}

func (h *harness) rules(t testing.TB) rulesState {
	t.Helper()
	resp, err := http.Get(h.API + "/api/rules")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/rules: %d %s", resp.StatusCode, b)
	}
	var s rulesState
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatalf("GET /api/rules: %v in %s", err, b)
	}
	return s
}

// reset posts /api/rules/reset.
func (h *harness) reset(t testing.TB) {
	t.Helper()
	resp, err := http.Post(h.API+"/api/rules/reset", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /api/rules/reset: %d", resp.StatusCode)
	}
}

// waitHandler waits until a capture handler has returned, or fails after d.
func (h *harness) waitHandler(t testing.TB, d time.Duration, what string) {
	t.Helper()
	select {
	case <-h.handlerDone:
	case <-time.After(d):
		t.Fatalf("the capture handler did not return within %v: %s", d, what)
	}
}

// metaString returns ex.Meta[key] as a string ("" when absent).
func metaString(ex *inspect.Exchange, key string) string {
	s, _ := ex.Meta[key].(string)
	return s
}

// sentAsRecorded checks that the recorded response is the one the client
// got: status, body, and every recorded header with its value.
func sentAsRecorded(t testing.TB, ex *inspect.Exchange, a answer) {
	t.Helper()
	if ex.Response == nil {
		t.Fatalf("exchange %s has no response; client got %d %q", ex.ID, a.Status, a.Body)
	}
	if ex.Response.Status != a.Status {
		t.Errorf("recorded status %d, sent %d", ex.Response.Status, a.Status)
	}
	if !bytes.Equal(ex.Response.Body, a.Body) {
		t.Errorf("recorded body %q, sent %q", ex.Response.Body, a.Body)
	}
	if ex.Response.Size != int64(len(a.Body)) {
		t.Errorf("recorded size %d, sent %d bytes", ex.Response.Size, len(a.Body))
	}
	for _, hd := range ex.Response.Headers {
		if got := a.Header.Values(hd.Name); !contains(got, hd.Value) {
			t.Errorf("recorded header %s: %q, sent %q", hd.Name, hd.Value, got)
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
