package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/inspect/har"
)

// syncBuffer is a bytes.Buffer safe for the server goroutine to write while
// the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// server is a hooklab started through run for a test.
type server struct {
	Capture string // base URL of the capture listener, with trailing slash
	UI      string // base URL of the UI listener, with trailing slash
	Stdout  *syncBuffer
	Stderr  *syncBuffer
	cancel  context.CancelFunc
	done    chan error
	stopped bool
}

// startServer runs hooklab with args (ports default to 127.0.0.1:0) and
// waits for it to print its URLs. It is stopped at cleanup.
func startServer(t testing.TB, args ...string) *server {
	t.Helper()
	return startServerEnv(t, nil, args...)
}

// startServerEnv is startServer with environment variables.
func startServerEnv(t testing.TB, env map[string]string, args ...string) *server {
	t.Helper()
	has := func(flag string) bool { // the flag itself, not one it begins (--capture-auth)
		return slices.ContainsFunc(args, func(a string) bool { return a == flag || strings.HasPrefix(a, flag+"=") })
	}
	if !has("--capture") {
		args = append(args, "--capture", "127.0.0.1:0")
	}
	if !has("--ui") {
		args = append(args, "--ui", "127.0.0.1:0")
	}
	if !has("--data") && !has("--memory") {
		args = append(args, "--data", t.TempDir())
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{Stdout: new(syncBuffer), Stderr: new(syncBuffer), cancel: cancel, done: make(chan error, 1)}
	getenv := func(k string) string {
		if k == "HOME" {
			return "/nonexistent-home-for-tests"
		}
		return env[k]
	}
	go func() { s.done <- run(ctx, append([]string{"serve"}, args...), getenv, s.Stdout, s.Stderr) }()
	// A bound on a start, not its expected time: one over a store of
	// 10,000 exchanges takes about a second under the race detector, and
	// went past 15 s on a machine at load 20.
	deadline := time.Now().Add(60 * time.Second)
	for {
		out := s.Stdout.String()
		s.Capture, s.UI = startupURL(out, "capture"), startupURL(out, "ui")
		if s.Capture != "" && s.UI != "" {
			break
		}
		select {
		case err := <-s.done:
			cancel()
			t.Fatalf("hooklab exited at start: %v\nstderr:\n%s", err, s.Stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("hooklab did not print its URLs; stdout:\n%s\nstderr:\n%s", out, s.Stderr.String())
		}
	}
	t.Cleanup(func() { s.Stop(t) })
	return s
}

func startupURL(out, name string) string {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, name+": "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// Stop shuts the server down gracefully and fails the test if run returned
// an error.
func (s *server) Stop(t testing.TB) {
	t.Helper()
	if s.stopped {
		return
	}
	s.stopped = true
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("hooklab returned %v\nstderr:\n%s", err, s.Stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Errorf("hooklab did not shut down within 20s")
	}
}

func (s *server) api(t testing.TB, method, path string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(s.UI, "/")+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

// mustPost POSTs the JSON body to the API at path, and fails the test
// unless the answer has status want. It returns the answer's body.
func (s *server) mustPost(t testing.TB, path, body string, want int) []byte {
	t.Helper()
	resp, b := s.api(t, http.MethodPost, path, strings.NewReader(body))
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d %s, want %d", path, resp.StatusCode, b, want)
	}
	return b
}

// getJSON fetches path from the API, requires 200 and decodes into v.
func (s *server) getJSON(t testing.TB, path string, v any) {
	t.Helper()
	resp, b := s.api(t, http.MethodGet, path, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", path, resp.StatusCode, b)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("GET %s: %v in %s", path, err, b)
	}
}

type ack struct {
	OK  bool   `json:"ok"`
	ID  string `json:"id"`
	Bin string `json:"bin"`
}

// send makes a capture request and returns the acknowledgement.
func (s *server) send(t testing.TB, method, path, contentType string, body []byte) ack {
	t.Helper()
	req, err := http.NewRequest(method, strings.TrimSuffix(s.Capture, "/")+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("capture %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("capture %s %s: %d %s", method, path, resp.StatusCode, b)
	}
	var a ack
	if err := json.Unmarshal(b, &a); err != nil || !a.OK || a.ID == "" {
		t.Fatalf("capture answer %q: %v", b, err)
	}
	return a
}

type apiExchange struct {
	ID      string `json:"id"`
	Bin     string `json:"bin"`
	Source  string `json:"source"`
	Method  string `json:"method"`
	URL     string `json:"url"`
	Status  int    `json:"status"`
	Error   string `json:"error"`
	Request struct {
		Method    string      `json:"method"`
		URL       string      `json:"url"`
		Proto     string      `json:"proto"`
		Headers   [][2]string `json:"headers"`
		Body      string      `json:"body"`
		Encoding  string      `json:"encoding"`
		Size      int64       `json:"size"`
		Truncated bool        `json:"truncated"`
	} `json:"request"`
	Response *struct {
		Status int    `json:"status"`
		Body   string `json:"body"`
	} `json:"response"`
}

func (e apiExchange) requestBody(t testing.TB) []byte {
	t.Helper()
	if e.Request.Encoding == "base64" {
		b, err := base64.StdEncoding.DecodeString(e.Request.Body)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return []byte(e.Request.Body)
}

func (e apiExchange) header(name string) string {
	for _, h := range e.Request.Headers {
		if strings.EqualFold(h[0], name) {
			return h[1]
		}
	}
	return ""
}

func (s *server) exchange(t testing.TB, id string) apiExchange {
	t.Helper()
	var e apiExchange
	s.getJSON(t, "/api/exchanges/"+id, &e)
	return e
}

type listAnswer struct {
	Exchanges []struct {
		ID        string `json:"id"`
		Bin       string `json:"bin"`
		Method    string `json:"method"`
		Path      string `json:"path"`
		Status    int    `json:"status"`
		Truncated bool   `json:"truncated"`
	} `json:"exchanges"`
	Next string `json:"next"`
}

func TestCaptureBodyKinds(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	var mp bytes.Buffer
	mw := multipart.NewWriter(&mp)
	_ = mw.WriteField("name", "hooklab")
	fw, _ := mw.CreateFormFile("file", "blob.bin")
	_, _ = fw.Write([]byte{0, 1, 2, 0xff, 0xfe})
	_ = mw.Close()
	binary := make([]byte, 4096)
	for i := range binary {
		binary[i] = byte(i * 7)
	}
	tests := []struct {
		name, method, path, contentType string
		body                            []byte
		wantBin, wantEncoding           string
	}{
		{"json", "POST", "/hooks/stripe?x=1&y=%20", "application/json", []byte(`{"type":"payment_intent.succeeded","id":"evt_1"}`), "default", ""},
		{"form", "PUT", "/b/forms/submit", "application/x-www-form-urlencoded", []byte("a=1&b=two+words"), "forms", ""},
		{"multipart", "POST", "/b/uploads/", mw.FormDataContentType(), mp.Bytes(), "uploads", "base64"},
		{"binary", "PATCH", "/bin", "application/octet-stream", binary, "default", "base64"},
		{"empty", "DELETE", "/b/x_y-z/thing/1", "", nil, "x_y-z", ""},
		{"get", "GET", "/?q=search", "", nil, "default", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := s.send(t, tc.method, tc.path, tc.contentType, tc.body)
			if a.Bin != tc.wantBin {
				t.Errorf("bin = %q, want %q", a.Bin, tc.wantBin)
			}
			e := s.exchange(t, a.ID)
			if got := e.requestBody(t); !bytes.Equal(got, tc.body) {
				t.Errorf("stored body differs: got %d bytes, want %d", len(got), len(tc.body))
			}
			if e.Request.Encoding != tc.wantEncoding {
				t.Errorf("encoding = %q, want %q", e.Request.Encoding, tc.wantEncoding)
			}
			if e.Request.Method != tc.method || e.Source != "capture" || e.Bin != tc.wantBin {
				t.Errorf("recorded %s source=%s bin=%s", e.Request.Method, e.Source, e.Bin)
			}
			if want := strings.TrimSuffix(s.Capture, "/") + tc.path; e.Request.URL != want {
				t.Errorf("url = %q, want %q", e.Request.URL, want)
			}
			if e.Request.Size != int64(len(tc.body)) || e.Request.Truncated {
				t.Errorf("size %d truncated %v", e.Request.Size, e.Request.Truncated)
			}
			if tc.contentType != "" && e.header("Content-Type") != tc.contentType {
				t.Errorf("Content-Type header = %q", e.header("Content-Type"))
			}
			if e.Response == nil || e.Response.Status != 200 || !strings.Contains(e.Response.Body, a.ID) {
				t.Errorf("recorded response %+v", e.Response)
			}
		})
	}
}

// TestMaxBinsCountsCreatedBins: bins made with POST /api/bins count
// against --max-bins and are let in by the capture endpoint; DELETE
// /api/bins/{name} removes one.
func TestMaxBinsCountsCreatedBins(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory", "--max-bins", "2")
	create := func(name string) int {
		r, _ := s.api(t, "POST", "/api/bins", strings.NewReader(`{"name": "`+name+`"}`))
		return r.StatusCode
	}
	post := func(path string) int {
		resp, err := http.Post(s.Capture+strings.TrimPrefix(path, "/"), "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if a, b := create("one"), create("two"); a != 201 || b != 201 {
		t.Fatalf("create one, two: %d %d", a, b)
	}
	if got := create("three"); got != http.StatusTooManyRequests {
		t.Errorf("a third bin: %d, want 429", got)
	}
	if got := create("one"); got != 200 {
		t.Errorf("making a bin that exists again: %d, want 200", got)
	}
	if got := post("/b/one/x"); got != 200 {
		t.Errorf("capture into a created bin: %d", got)
	}
	if got := post("/b/other/x"); got != http.StatusTooManyRequests {
		t.Errorf("capture into a third bin: %d, want 429", got)
	}
	// Clearing a bin's exchanges keeps the bin; deleting it removes it.
	if r, b := s.api(t, "DELETE", "/api/exchanges?bin=two", nil); r.StatusCode != 200 {
		t.Fatalf("clear two: %d %s", r.StatusCode, b)
	}
	if got := create("three"); got != http.StatusTooManyRequests {
		t.Errorf("a third bin after clearing one: %d, want 429", got)
	}
	if r, b := s.api(t, "DELETE", "/api/bins/two", nil); r.StatusCode != 200 {
		t.Fatalf("delete two: %d %s", r.StatusCode, b)
	}
	if got := create("three"); got != 201 {
		t.Errorf("a new bin after clearing one: %d", got)
	}
	if r, b := s.api(t, "DELETE", "/api/bins/two", nil); r.StatusCode != 404 || !strings.Contains(string(b), "bin two") {
		t.Errorf("delete two again: %d %s, want 404", r.StatusCode, b)
	}
}

// harOfBins returns a HAR file of one GET entry per bin, each naming its
// bin as a hooklab export does.
func harOfBins(bins ...string) string {
	var es []string
	for _, bin := range bins {
		es = append(es, `{"startedDateTime": "2026-01-01T00:00:00Z", "time": 1, "request": {"method": "GET", "url": "http://127.0.0.1:1/x", "httpVersion": "HTTP/1.1", "headers": [], "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},`+
			` "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [], "content": {"size": 0, "mimeType": "text/plain"}, "redirectURL": "", "headersSize": -1, "bodySize": 0},`+
			` "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}, "_hooklab": {"bin": "`+bin+`"}}`)
	}
	return `{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [` + strings.Join(es, ",") + `]}}`
}

// TestMaxBinsCountsImportedBins: an import whose entries name more bins
// than --max-bins lets in is a 429 that stores nothing; a HAR naming 1,500
// bins had stored them all, and the count did not know of them.
func TestMaxBinsCountsImportedBins(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory", "--max-bins", "2")
	file := harOfBins
	r, b := s.api(t, "POST", "/api/import", strings.NewReader(file("one", "two", "three", "one")))
	if r.StatusCode != http.StatusTooManyRequests || !strings.Contains(string(b), `bin \"three\" would be one too many`) {
		t.Errorf("an import into three bins: %d %s, want 429 naming bin three", r.StatusCode, b)
	}
	var list struct{ Exchanges []struct{ ID string } }
	s.getJSON(t, "/api/exchanges", &list)
	if len(list.Exchanges) != 0 {
		t.Errorf("a refused import stored %d exchanges", len(list.Exchanges))
	}
	if r, b := s.api(t, "POST", "/api/import", strings.NewReader(file("one", "two", "one"))); r.StatusCode != http.StatusCreated {
		t.Fatalf("an import into two bins: %d %s", r.StatusCode, b)
	}
	if r, _ := s.api(t, "POST", "/api/bins", strings.NewReader(`{"name": "four"}`)); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a third bin after importing two: %d, want 429", r.StatusCode)
	}
	if r, b := s.api(t, "POST", "/api/import?into=two", strings.NewReader(file("five", "six"))); r.StatusCode != http.StatusCreated {
		t.Errorf("an import into a bin let in already: %d %s", r.StatusCode, b)
	}
}

// TestMaxBinsRefusedImportTakesNoBins: an import refused for naming more
// bins than --max-bins lets in stores nothing, and so holds none of the
// bins either: it let in those before the one too many, and for ten
// minutes capture and POST /api/bins were refused bins that did not exist.
func TestMaxBinsRefusedImportTakesNoBins(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory", "--max-bins", "2")
	file := harOfBins("x", "y", "z")
	if r, b := s.api(t, "POST", "/api/import", strings.NewReader(file)); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("an import into three bins: %d %s, want 429", r.StatusCode, b)
	}
	for _, name := range []string{"one", "two"} {
		if r, b := s.api(t, "POST", "/api/bins", strings.NewReader(`{"name": "`+name+`"}`)); r.StatusCode != http.StatusCreated {
			t.Errorf("create %s after a refused import: %d %s, want 201", name, r.StatusCode, b)
		}
	}
}

// TestMaxBinsAcrossRestart: the bins a data directory holds count against
// --max-bins after a restart too.
func TestMaxBinsAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, "--data", dir, "--max-bins", "2")
	for _, name := range []string{"a", "b"} {
		if r, b := s.api(t, "POST", "/api/bins", strings.NewReader(`{"name": "`+name+`"}`)); r.StatusCode != 201 {
			t.Fatalf("create %s: %d %s", name, r.StatusCode, b)
		}
	}
	s.Stop(t)
	s = startServer(t, "--data", dir, "--max-bins", "2")
	if r, _ := s.api(t, "POST", "/api/bins", strings.NewReader(`{"name": "c"}`)); r.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a third bin after a restart: %d, want 429", r.StatusCode)
	}
	resp, err := http.Post(s.Capture+"b/d/x", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("a capture into a third bin after a restart: %d, want 429", resp.StatusCode)
	}
}

func TestCaptureBinNames(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	for path, want := range map[string]string{
		"/b/bad!name/x": "bin name", "/b/": "bin name", "/b/" + strings.Repeat("a", 65) + "/": "bin name", "/b/sp%20ace/": "bin name",
		"/b/a%2Fb/x":     `bin name \"a/b\" has '/'`, // an encoded slash is in the name, not after it
		"/b/caf%C3%A9/x": `has 'é' at position 4`,    // characters, not bytes
	} {
		resp, err := http.Post(strings.TrimSuffix(s.Capture, "/")+path, "text/plain", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), want) {
			t.Errorf("%s: %d %s, want 400 with %s", path, resp.StatusCode, b, want)
		}
	}
	// A bin made through the API is listed with its URL before traffic.
	resp, b := s.api(t, "POST", "/api/bins", strings.NewReader(`{"name":"stripe"}`))
	if resp.StatusCode != 201 || !strings.Contains(string(b), s.Capture+"b/stripe/") {
		t.Fatalf("create bin: %d %s", resp.StatusCode, b)
	}
	resp, b = s.api(t, "POST", "/api/bins", nil)
	var made struct{ Name, URL string }
	if err := json.Unmarshal(b, &made); resp.StatusCode != 201 || err != nil || made.Name == "" {
		t.Fatalf("create generated bin: %d %s", resp.StatusCode, b)
	}
	s.send(t, "POST", "/b/stripe/evt", "application/json", []byte(`{}`))
	var bins struct {
		Bins []struct {
			Name  string `json:"name"`
			Count int    `json:"count"`
		} `json:"bins"`
	}
	s.getJSON(t, "/api/bins", &bins)
	counts := map[string]int{}
	for _, b := range bins.Bins {
		counts[b.Name] = b.Count
	}
	if counts["stripe"] != 1 {
		t.Errorf("bins = %+v, want stripe with 1", bins.Bins)
	}
	if _, ok := counts[made.Name]; !ok {
		t.Errorf("generated bin %q not listed: %+v", made.Name, bins.Bins)
	}
}

func TestCaptureTruncatesOversizedBody(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory", "--max-body", "1KiB")
	body := bytes.Repeat([]byte("0123456789"), 500)
	a := s.send(t, "POST", "/big", "text/plain", body)
	e := s.exchange(t, a.ID)
	if !e.Request.Truncated || e.Request.Size != 5000 || len(e.requestBody(t)) != 1024 {
		t.Fatalf("truncated=%v size=%d stored=%d, want true 5000 1024", e.Request.Truncated, e.Request.Size, len(e.requestBody(t)))
	}
	if !bytes.Equal(e.requestBody(t), body[:1024]) {
		t.Error("stored prefix differs from what was sent")
	}
	var l listAnswer
	s.getJSON(t, "/api/exchanges", &l)
	if len(l.Exchanges) != 1 || !l.Exchanges[0].Truncated {
		t.Errorf("list does not mark truncation: %+v", l.Exchanges)
	}
	// /raw is a valid HTTP message of what was stored, and says so; /curl
	// says so in a comment.
	resp, err := http.Get(s.UI + "api/exchanges/" + a.ID + "/raw")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("/raw does not parse: %v\n%s", err, raw)
	}
	got, err := io.ReadAll(req.Body)
	if err != nil || !bytes.Equal(got, body[:1024]) || req.ContentLength != 1024 || strings.Count(string(raw), "Content-Length") != 1 {
		t.Errorf("/raw body %d bytes (Content-Length %d, %v):\n%.300s", len(got), req.ContentLength, err, raw)
	}
	if h := resp.Header.Get("X-Hooklab-Truncated"); h != "1024 of 5000 bytes of the body were stored" {
		t.Errorf("/raw X-Hooklab-Truncated %q", h)
	}
	_, c := s.api(t, "GET", "/api/exchanges/"+a.ID+"/curl", nil)
	if !strings.HasPrefix(string(c), "# the body was truncated: 1024 of 5000 bytes") {
		t.Errorf("/curl does not say the body was truncated:\n%.200s", c)
	}
}

func TestCaptureCORS(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	req, _ := http.NewRequest("OPTIONS", s.Capture+"hook", nil)
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type, x-custom")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") ||
		resp.Header.Get("Access-Control-Allow-Headers") != "content-type, x-custom" {
		t.Fatalf("preflight answer %d %v", resp.StatusCode, resp.Header)
	}
	var l listAnswer
	s.getJSON(t, "/api/exchanges?method=OPTIONS", &l)
	if len(l.Exchanges) != 1 || l.Exchanges[0].Status != 204 {
		t.Errorf("preflight not recorded: %+v", l.Exchanges)
	}
	// Any method asked for is allowed, not only the common ones.
	for _, m := range []string{"PROPFIND", "PU"} {
		req.Header.Set("Access-Control-Request-Method", m)
		if resp, err = http.DefaultClient.Do(req); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if !slices.Contains(strings.Split(resp.Header.Get("Access-Control-Allow-Methods"), ", "), m) {
			t.Errorf("preflight for %s: %v", m, resp.Header)
		}
	}
	resp, err = http.Post(s.Capture+"hook", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("answer lacks Access-Control-Allow-Origin: %v", resp.Header)
	}
}

func TestCaptureH2C(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Post(s.Capture+"h2", "application/json", strings.NewReader(`{"h2":true}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Fatalf("answered over %s, want HTTP/2", resp.Proto)
	}
	var a ack
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatal(err)
	}
	if e := s.exchange(t, a.ID); e.Request.Proto != "HTTP/2.0" || e.Request.Body != `{"h2":true}` {
		t.Errorf("recorded proto %q body %q", e.Request.Proto, e.Request.Body)
	}
}

func TestCaptureClientGoneMidBody(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	u, _ := url.Parse(s.Capture)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(conn, "POST /b/cut/upload HTTP/1.1\r\nHost: %s\r\nContent-Length: 1000\r\nContent-Type: text/plain\r\n\r\npartial-body", u.Host)
	conn.Close()
	resp, b := s.api(t, "GET", "/api/exchanges/wait?bin=cut&after=00000000000000000000000000&timeout=10s", nil)
	if resp.StatusCode != 200 {
		t.Fatalf("wait: %d %s", resp.StatusCode, b)
	}
	var e apiExchange
	_ = json.Unmarshal(b, &e)
	if e.Request.Body != "partial-body" || !strings.Contains(e.Error, "after 12 bytes") || e.Response != nil {
		t.Errorf("recorded body %q error %q response %v", e.Request.Body, e.Error, e.Response)
	}
}

func TestPersistsAcrossRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, "--data", dir)
	a := s.send(t, "POST", "/b/keep/this", "application/json", []byte(`{"keep":true}`))
	s.Stop(t)
	s2 := startServer(t, "--data", dir)
	e := s2.exchange(t, a.ID)
	if e.Request.Body != `{"keep":true}` || e.Bin != "keep" {
		t.Fatalf("after restart: %+v", e)
	}
	if _, err := os.Stat(filepath.Join(dir, "hooklab.db")); err != nil {
		t.Fatal(err)
	}
}

func TestRetentionByCount(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory", "--retain-count", "5")
	var ids []string
	for i := range 12 {
		ids = append(ids, s.send(t, "POST", fmt.Sprintf("/n/%d", i), "text/plain", []byte("x")).ID)
	}
	var l listAnswer
	s.getJSON(t, "/api/exchanges?limit=100", &l)
	if len(l.Exchanges) != 5 {
		t.Fatalf("kept %d exchanges, want 5", len(l.Exchanges))
	}
	for i, e := range l.Exchanges {
		if want := ids[len(ids)-1-i]; e.ID != want {
			t.Errorf("row %d = %s, want %s (newest kept, newest first)", i, e.ID, want)
		}
	}
}

func TestListFiltersAndPaging(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	for i := range 7 {
		s.send(t, "POST", fmt.Sprintf("/b/page/item/%d", i), "application/json", []byte(fmt.Sprintf(`{"n":%d,"word":"needle%d"}`, i, i)))
	}
	s.send(t, "GET", "/b/other/x", "", nil)
	seen := map[string]bool{}
	cursor := ""
	pages := 0
	for {
		var l listAnswer
		s.getJSON(t, "/api/exchanges?bin=page&limit=3&cursor="+cursor, &l)
		pages++
		for _, e := range l.Exchanges {
			if seen[e.ID] || e.Bin != "page" {
				t.Fatalf("row %+v repeated or from another bin", e)
			}
			seen[e.ID] = true
		}
		if l.Next == "" {
			break
		}
		cursor = l.Next
	}
	if len(seen) != 7 || pages != 3 {
		t.Errorf("paging saw %d rows in %d pages, want 7 in 3", len(seen), pages)
	}
	for _, tc := range []struct {
		query string
		want  int
	}{
		{"method=GET", 1},
		{"method=post", 7},
		{"status=2xx", 8},
		{"status=404", 0},
		{"q=needle3", 1},
		{"q=NEEDLE", 7},
		{"q=" + url.QueryEscape("5,"), 1}, // two characters: the scan; no id or URL holds a comma
		{"bin=other", 1},
		{"source=capture", 8},
		// The query language of q=, shared with the UI's filter bar.
		{"q=" + url.QueryEscape("method:POST bin:page"), 7},
		{"q=" + url.QueryEscape("-bin:page"), 1},
		{"q=" + url.QueryEscape("json:n=3"), 1},
		{"q=" + url.QueryEscape("path:/b/page/item/* -json:n=3 needle"), 6},
		{"q=" + url.QueryEscape("status:2xx header:content-type=application/json method:GET"), 1},
		{"q=" + url.QueryEscape("header:x-absent"), 0},
	} {
		var l listAnswer
		s.getJSON(t, "/api/exchanges?"+tc.query, &l)
		if len(l.Exchanges) != tc.want {
			t.Errorf("%s: %d rows, want %d", tc.query, len(l.Exchanges), tc.want)
		}
	}
	for _, bad := range []string{"q=" + url.QueryEscape("status:abc"), "limit=0", "limit=abc", "status=5x", "bin=a!b", "source=mars", "since=yesterday", "cursor=-4"} {
		resp, b := s.api(t, "GET", "/api/exchanges?"+bad, nil)
		if resp.StatusCode != 400 || !strings.Contains(string(b), `"error"`) {
			t.Errorf("%s: %d %s, want 400 with an error", bad, resp.StatusCode, b)
		}
	}
}

func TestWait(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	first := s.send(t, "POST", "/b/w/1", "text/plain", []byte("one"))
	second := s.send(t, "POST", "/b/w/2", "text/plain", []byte("two"))

	// after= finds an exchange already stored.
	resp, b := s.api(t, "GET", "/api/exchanges/wait?bin=w&after="+first.ID, nil)
	var e apiExchange
	if err := json.Unmarshal(b, &e); resp.StatusCode != 200 || err != nil || e.ID != second.ID {
		t.Fatalf("wait after first: %d %s", resp.StatusCode, b)
	}
	// A request that arrives while waiting is returned.
	got := make(chan apiExchange, 1)
	go func() {
		resp, b := s.api(t, "GET", "/api/exchanges/wait?bin=w&q=three&timeout=10s", nil)
		var e apiExchange
		if resp.StatusCode == 200 {
			_ = json.Unmarshal(b, &e)
		}
		got <- e
	}()
	var third ack
	deadline := time.After(10 * time.Second)
	for third.ID == "" {
		// Send until the waiter has seen one: it may not be subscribed yet.
		a := s.send(t, "POST", "/b/w/3", "text/plain", []byte("three"))
		select {
		case e := <-got:
			if e.ID == "" || e.requestBody(t) == nil || string(e.requestBody(t)) != "three" {
				t.Fatalf("wait returned %+v", e)
			}
			third = a
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			t.Fatal("wait never returned")
		}
	}
	// Timeout gives 204.
	start := time.Now()
	resp, _ = s.api(t, "GET", "/api/exchanges/wait?bin=nothing&timeout=200ms", nil)
	if resp.StatusCode != 204 || time.Since(start) < 200*time.Millisecond {
		t.Errorf("timeout: %d after %v, want 204 after 200ms", resp.StatusCode, time.Since(start))
	}
	resp, _ = s.api(t, "GET", "/api/exchanges/wait?timeout=forever", nil)
	if resp.StatusCode != 400 {
		t.Errorf("bad timeout: %d, want 400", resp.StatusCode)
	}
}

func TestDeleteAndClear(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	a := s.send(t, "POST", "/b/one/x", "text/plain", []byte("a"))
	s.send(t, "POST", "/b/one/y", "text/plain", []byte("b"))
	s.send(t, "POST", "/b/two/z", "text/plain", []byte("c"))
	if resp, b := s.api(t, "DELETE", "/api/exchanges/"+a.ID, nil); resp.StatusCode != 204 {
		t.Fatalf("delete: %d %s", resp.StatusCode, b)
	}
	if resp, _ := s.api(t, "GET", "/api/exchanges/"+a.ID, nil); resp.StatusCode != 404 {
		t.Errorf("deleted exchange still served: %d", resp.StatusCode)
	}
	if resp, _ := s.api(t, "DELETE", "/api/exchanges/"+a.ID, nil); resp.StatusCode != 404 {
		t.Errorf("second delete: %d, want 404", resp.StatusCode)
	}
	resp, b := s.api(t, "DELETE", "/api/exchanges?bin=one", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"deleted":1`) {
		t.Fatalf("clear: %d %s", resp.StatusCode, b)
	}
	var l listAnswer
	s.getJSON(t, "/api/exchanges", &l)
	if len(l.Exchanges) != 1 || l.Exchanges[0].Bin != "two" {
		t.Errorf("after clear: %+v", l.Exchanges)
	}
}

func TestRawAndCurl(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	a := s.send(t, "POST", "/hook?a=1", "application/json", []byte(`{"it's":"x"}`))
	_, raw := s.api(t, "GET", "/api/exchanges/"+a.ID+"/raw", nil)
	req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		t.Fatalf("raw is not HTTP/1.1: %v\n%s", err, raw)
	}
	body, _ := io.ReadAll(req.Body)
	if req.Method != "POST" || req.URL.RequestURI() != "/hook?a=1" || string(body) != `{"it's":"x"}` {
		t.Errorf("raw request: %s %s %q", req.Method, req.URL, body)
	}
	_, curl := s.api(t, "GET", "/api/exchanges/"+a.ID+"/curl", nil)
	if !strings.Contains(string(curl), `--data-binary '{"it'\''s":"x"}'`) || !strings.Contains(string(curl), "'"+s.Capture+"hook?a=1'") {
		t.Errorf("curl: %s", curl)
	}
}

// TestRawWithoutHost: a request received without a Host header (HTTP/1.0
// allows that) comes from /raw with one, its URL's host and port, so the
// bytes are a valid HTTP/1.1 request, which a Go server takes; without it
// the server answered 400 "missing required Host header".
func TestRawWithoutHost(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	u, err := url.Parse(s.Capture)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "POST /b/old/hook?a=1 HTTP/1.0\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nhello")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	var a ack
	err = json.NewDecoder(resp.Body).Decode(&a)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || a.ID == "" {
		t.Fatalf("HTTP/1.0 capture: %s, answer %+v, %v", resp.Status, a, err)
	}
	if got := s.exchange(t, a.ID).Request.Proto; got != "HTTP/1.0" {
		t.Fatalf("recorded protocol %q, want HTTP/1.0", got)
	}
	res, raw := s.api(t, "GET", "/api/exchanges/"+a.ID+"/raw", nil)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /raw: %s %s", res.Status, raw)
	}
	if !bytes.HasPrefix(raw, []byte("POST /b/old/hook?a=1 HTTP/1.1\r\nHost: "+u.Host+"\r\n")) {
		t.Errorf("raw request:\n%s\nwant its request line, then Host: %s", raw, u.Host)
	}
	// The bytes sent as they are to a Go server, which holds HTTP/1.1 to
	// its Host rule.
	got := make(chan string, 1)
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- r.Method + " " + r.Host + " " + r.URL.RequestURI() + " " + string(b)
	}))
	defer target.Close()
	tc, err := net.Dial("tcp", target.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if _, err := tc.Write(raw); err != nil {
		t.Fatal(err)
	}
	tr, err := http.ReadResponse(bufio.NewReader(tc), nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(tr.Body)
	tr.Body.Close()
	if tr.StatusCode != http.StatusOK {
		t.Fatalf("a Go server answered the raw bytes %s %s\n%s", tr.Status, body, raw)
	}
	if g, want := <-got, "POST "+u.Host+" /b/old/hook?a=1 hello"; g != want {
		t.Errorf("the server got %q, want %q", g, want)
	}
}

func TestAPIRefusesForeignHostAndOrigin(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	u, _ := url.Parse(s.UI)
	_, port, _ := net.SplitHostPort(u.Host)
	do := func(method, host, origin, path string, body io.Reader) int {
		req, _ := http.NewRequest(method, s.UI+strings.TrimPrefix(path, "/"), body)
		req.Host = host
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name, method, host, origin, path string
		want                             int
	}{
		{"own host", "GET", u.Host, "", "/api/exchanges", 200},
		{"localhost", "GET", "localhost:" + port, "", "/api/exchanges", 200},
		{"rebinding host", "GET", "evil.example:" + port, "", "/api/exchanges", 403},
		{"rebinding host on the page", "GET", "evil.example", "", "/", 403},
		{"cross-origin delete", "DELETE", u.Host, "https://evil.example", "/api/exchanges", 403},
		{"same-origin delete", "DELETE", u.Host, "http://" + u.Host, "/api/exchanges", 200},
	} {
		if got := do(tc.method, tc.host, tc.origin, tc.path, nil); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	// A websocket from another origin is refused; from the UI's own it is served.
	wsURL := "ws://" + u.Host + "/api/stream"
	if c, resp, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {"https://evil.example"}}); err == nil {
		c.Close()
		t.Error("cross-origin websocket accepted")
	} else if resp == nil || resp.StatusCode != 403 || resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("cross-origin websocket: %v", err)
	}
	// A plain GET gets a JSON error, like every other API route.
	resp, err := http.Get(s.UI + "api/stream")
	if err != nil {
		t.Fatal(err)
	}
	var e struct{ Error string }
	if derr := json.NewDecoder(resp.Body).Decode(&e); derr != nil || resp.StatusCode != 400 || !strings.Contains(e.Error, "websocket") {
		t.Errorf("GET /api/stream without an upgrade: %d %q (%v)", resp.StatusCode, e.Error, derr)
	}
	resp.Body.Close()
	c, _, err := websocket.DefaultDialer.Dial(wsURL, http.Header{"Origin": {"http://" + u.Host}})
	if err != nil {
		t.Fatalf("same-origin websocket: %v", err)
	}
	c.Close()
}

func TestStreamDeliversExchanges(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	u, _ := url.Parse(s.UI)
	// A filter given twice is refused, not half applied.
	if _, resp, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/stream?bin=a&bin=b", nil); err == nil || resp == nil || resp.StatusCode != 400 {
		t.Errorf("stream with two bins: %v", err)
	}
	// So is a parameter it does not take: a typo would stream every bin.
	if _, resp, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/stream?bim=live", nil); err == nil || resp == nil || resp.StatusCode != 400 {
		t.Errorf("stream with ?bim=: %v", err)
	} else if b, _ := io.ReadAll(resp.Body); !strings.Contains(string(b), `takes no parameter \"bim\" (it takes bin, q)`) {
		t.Errorf("stream with ?bim=: %s", b)
	}
	// And an empty bin (an unset $BIN), which would stream every bin.
	if _, resp, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/stream?bin=", nil); err == nil || resp == nil || resp.StatusCode != 400 {
		t.Errorf("stream with ?bin=: %v", err)
	} else if b, _ := io.ReadAll(resp.Body); !strings.Contains(string(b), "bin is empty") {
		t.Errorf("stream with ?bin=: %s", b)
	}
	c, _, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/stream?bin=live", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	read := func() map[string]any {
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		return m
	}
	if m := read(); m["type"] != "hello" {
		t.Fatalf("first message %v", m)
	}
	s.send(t, "POST", "/b/elsewhere/x", "text/plain", []byte("not for us"))
	start := time.Now()
	a := s.send(t, "POST", "/b/live/x", "application/json", []byte(`{"live":1}`))
	m := read()
	ex, _ := m["exchange"].(map[string]any)
	if m["type"] != "exchange" || ex["id"] != a.ID || ex["bin"] != "live" {
		t.Fatalf("stream message %v, want exchange %s", m, a.ID)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("exchange reached the stream after %v", d)
	}

	// ?q= streams only what matches the query language, free text, header:
	// and json: included, tested on the whole exchange; a bad q is a 400.
	if _, resp, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/stream?q="+url.QueryEscape("stauts:500"), nil); err == nil || resp == nil || resp.StatusCode != 400 {
		t.Errorf("stream with a bad q: %v", err)
	}
	fc, _, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/stream?q="+url.QueryEscape(`"needle in" json:order.ok=yes -header:x-skip=1`), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fc.Close()
	_ = fc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, b, err := fc.ReadMessage(); err != nil || !strings.Contains(string(b), "hello") {
		t.Fatalf("filtered stream: %s %v", b, err)
	}
	s.send(t, "POST", "/b/f/1", "application/json", []byte(`{"note":"needle in a haystack","order":{"ok":"no"}}`))    // not ok
	s.send(t, "POST", "/b/f/2", "application/json", []byte(`{"note":"no match here","order":{"ok":"yes"}}`))          // no needle
	browserCapture(t, s.Capture, "/b/f/3", `{"note":"needle in it","order":{"total":50}}`, "X-Skip", "1")             // header
	want := s.send(t, "POST", "/b/f/4", "application/json", []byte(`{"note":"a needle in it","order":{"ok":"yes"}}`)) // the one
	_, b, err := fc.ReadMessage()
	if err != nil || !strings.Contains(string(b), want.ID) {
		t.Fatalf("filtered stream sent %s (%v), want only %s", b, err, want.ID)
	}
}

// startTail runs "hooklab tail --server ui args..." until the test ends,
// and waits until it is connected. tail must return nil when stopped.
func startTail(t *testing.T, ui string, args ...string) (out, errOut *syncBuffer) {
	t.Helper()
	out, errOut = new(syncBuffer), new(syncBuffer)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, append([]string{"tail", "--server", ui}, args...), func(string) string { return "" }, out, errOut)
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("tail returned %v", err)
		}
	})
	waitFor(t, func() bool { return strings.Contains(errOut.String(), "connected") }, "tail to connect: "+errOut.String())
	return out, errOut
}

// TestClientsRefuseWhatIsNotHooklab: export, import and replay pointed at
// something that answers but is not hooklab's UI (the capture port, another
// program) say so, instead of quietly using the default data directory;
// only a port where nothing listens lets them open the data directory.
func TestClientsRefuseWhatIsNotHooklab(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusNotFound) }))
	defer other.Close()
	dir := t.TempDir()
	harFile := filepath.Join(dir, "in.har")
	if err := os.WriteFile(harFile, []byte(`{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[]}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	for _, srv := range []string{s.Capture, other.URL} {
		for _, args := range [][]string{
			{"export", "--har", "-"},
			{"import", harFile},
			{"replay", "--target", other.URL, "01JNB5Z3Q0000000000000000A"},
		} {
			env := map[string]string{"HOOKLAB_UI": srv, "HOOKLAB_DATA": data}
			var out, errOut syncBuffer
			err := run(context.Background(), args, func(k string) string { return env[k] }, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), "is not hooklab's UI listener") {
				t.Errorf("%v at %s: %v (stdout %.200q)", args, srv, err, out.String())
			}
		}
	}
	if _, err := os.Stat(data); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a client command opened the data directory: %v", err)
	}
	// Nothing listening: import opens the data directory itself.
	env := map[string]string{"HOOKLAB_UI": "http://127.0.0.1:1", "HOOKLAB_DATA": data}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"import", harFile}, func(k string) string { return env[k] }, &out, &errOut); err != nil {
		t.Errorf("import with no server: %v %s", err, errOut.String())
	}
}

// TestLocalExportRedactsServersSecretHeaders: a server's --secret-header
// names stay in its data directory, so that an export with no server
// running redacts them too (it wrote them in clear into HAR fixtures).
func TestLocalExportRedactsServersSecretHeaders(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServer(t, "--data", data, "--secret-header", "X-Custom-Cred")
	browserCapture(t, s.Capture, "/b/sh/x", `{}`, "X-Custom-Cred", "CUSTCRED_SECRET_F01")
	s.Stop(t)
	// A later start without the flag forgets nothing.
	s = startServer(t, "--data", data)
	s.Stop(t)
	env := map[string]string{"HOOKLAB_UI": "http://127.0.0.1:1", "HOOKLAB_DATA": data}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"export", "--har", "-", "--bin", "sh"}, func(k string) string { return env[k] }, &out, &errOut); err != nil {
		t.Fatalf("export: %v %s", err, errOut.String())
	}
	if strings.Contains(out.String(), "CUSTCRED_SECRET_F01") || !strings.Contains(out.String(), "X-Custom-Cred") {
		t.Errorf("local export:\n%.2000s", out.String())
	}
}

// TestExportNothingMatchedSaysSo: an export whose filter matches nothing
// still writes an empty HAR and exits 0 (scripts rely on it), and says on
// stderr that it exported 0 exchanges and which flags matched nothing, as
// given: to standard output it said nothing, to a new file "exported 0
// exchanges to FILE" without why. One that matched stays as it was.
func TestExportNothingMatchedSaysSo(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	browserCapture(t, s.Capture, "/b/hooks/x", `{}`)
	if resp, b := s.api(t, "GET", "/api/exchanges/wait?bin=hooks&after=00000000000000000000000000&timeout=10s", nil); resp.StatusCode != 200 {
		t.Fatalf("wait: %d %s", resp.StatusCode, b)
	}
	env := map[string]string{"HOOKLAB_UI": strings.TrimSuffix(s.UI, "/")}
	dir := t.TempDir()
	for _, tc := range []struct {
		args         []string
		stderr       string
		stdoutPrefix string
	}{
		{[]string{"--har", "-", "--bin", "nope"}, "exported 0 exchanges: nothing matched --bin nope\n", `{"log":`},
		{[]string{"--har", "-", "--since", "1h", "--status", "5xx", "--q", "two words"}, "exported 0 exchanges: nothing matched --q \"two words\" --since 1h --status 5xx\n", `{"log":`},
		{[]string{"--har", filepath.Join(dir, "new.har"), "--bin", "nope"}, "exported 0 exchanges to " + filepath.Join(dir, "new.har") + ": nothing matched --bin nope\n", ""},
		{[]string{"--har", "-", "--bin", "hooks"}, "", `{"log":`},
		{[]string{"--har", filepath.Join(dir, "one.har"), "--bin", "hooks"}, "exported 1 exchange to " + filepath.Join(dir, "one.har") + "\n", ""},
	} {
		var out, errOut syncBuffer
		err := run(context.Background(), append([]string{"export"}, tc.args...), func(k string) string { return env[k] }, &out, &errOut)
		if err != nil || errOut.String() != tc.stderr || !strings.HasPrefix(out.String(), tc.stdoutPrefix) {
			t.Errorf("hooklab export %s: %v, stderr %q, stdout %.80q; want exit 0, stderr %q", strings.Join(tc.args, " "), err, errOut.String(), out.String(), tc.stderr)
		}
	}
	var empty struct {
		Log struct{ Entries []json.RawMessage }
	}
	if b, err := os.ReadFile(filepath.Join(dir, "new.har")); err != nil || json.Unmarshal(b, &empty) != nil || empty.Log.Entries == nil || len(empty.Log.Entries) != 0 {
		t.Errorf("new.har: %v %.200s; want an empty HAR", err, b)
	}
	// A file that is there is kept, saying what matched nothing (exit 1,
	// as before).
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"export", "--har", filepath.Join(dir, "one.har"), "--bin", "nope"}, func(k string) string { return env[k] }, &out, &errOut)
	if want := "nothing matched --bin nope, so " + filepath.Join(dir, "one.har") + " was left as it was"; exitCode(err) != 1 || !strings.Contains(err.Error()+errOut.String(), want) {
		t.Errorf("export over a fixture: %v %q; want exit 1 and %q", err, errOut.String(), want)
	}
}

// TestTailEndsWhenItsReaderGoes: "hooklab tail | head -n 1" ends when
// head does, not at the next exchange (which may never come).
func TestTailEndsWhenItsReaderGoes(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("the reader's going is watched for on Linux only (tailgone_linux.go)")
	}
	s := startServer(t, "--memory")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	done := make(chan error, 1)
	var errOut syncBuffer
	go func() {
		done <- run(context.Background(), []string{"tail", "--server", s.UI}, func(string) string { return "" }, w, &errOut)
	}()
	waitFor(t, func() bool { return strings.Contains(errOut.String(), "connected") }, "tail to connect: "+errOut.String())
	// It stays connected (a change once closed every connection as its
	// handshake ended, and tail reconnected ten times a second).
	time.Sleep(time.Second)
	if n := strings.Count(errOut.String(), "connected to"); n != 1 {
		t.Errorf("tail connected %d times in a second:\n%s", n, errOut.String())
	}
	resp, err := http.Get(s.Capture + "one")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil || !strings.Contains(line, "/one") {
		t.Fatalf("tail printed %q, %v", line, err)
	}
	r.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("tail returned %v after its reader went", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("tail still running 10s after its reader went")
	}
}

// TestTailRefusesTheCapturePort: tail pointed at the capture port says so
// and stops (each retry would be captured).
func TestTailRefusesTheCapturePort(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	err := run(ctx, []string{"tail", "--server", s.Capture}, func(string) string { return "" }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "is not hooklab's UI listener") {
		t.Fatalf("tail at the capture port: %v", err)
	}
	var l listAnswer
	s.getJSON(t, "/api/exchanges", &l)
	if len(l.Exchanges) > 1 {
		t.Errorf("tail's retries were captured: %d exchanges", len(l.Exchanges))
	}
	// Nothing there: --wait gives up, saying so.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	nothing := "http://" + ln.Addr().String()
	ln.Close()
	start := time.Now()
	var waitOut syncBuffer
	err = run(ctx, []string{"tail", "--server", nothing, "--wait", "300ms"}, func(string) string { return "" }, &out, &waitOut)
	// Why, as the attempts found it (not the last one's cut-off at the
	// deadline); and it never connected, so it was not reconnecting.
	if err == nil || !strings.Contains(err.Error(), "no hooklab answered at "+nothing+" within 300ms") || !strings.Contains(err.Error(), "connection refused") || time.Since(start) > 5*time.Second {
		t.Errorf("tail --wait with nothing there: %v after %v", err, time.Since(start))
	}
	if got := waitOut.String(); strings.Contains(got, "reconnecting") || !strings.Contains(got, "waiting up to 300ms for hooklab to start") {
		t.Errorf("tail --wait with nothing there said %q", got)
	}
	// Something that accepts and never answers: --wait bounds the attempt.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	start = time.Now()
	err = run(ctx, []string{"tail", "--server", "http://" + mute.Addr().String(), "--wait", "300ms"}, func(string) string { return "" }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "within 300ms: no answer") || time.Since(start) > 5*time.Second {
		t.Errorf("tail --wait at a silent address: %v after %v", err, time.Since(start))
	}
	// The UI's address with a path has no stream: said at once.
	err = run(ctx, []string{"tail", "--server", s.UI + "foo"}, func(string) string { return "" }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "has no stream at /foo/api/stream") {
		t.Errorf("tail at the UI with a path: %v", err)
	}
}

func TestTailPrintsExchanges(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	out, _ := startTail(t, s.UI, "--bin", "tailed")
	s.send(t, "POST", "/b/tailed/hook?x=1", "application/json", []byte(`{"a":1}`))
	waitFor(t, func() bool { return strings.Contains(out.String(), "POST") }, "tail line")
	line := out.String()
	for _, want := range []string{"POST", "/b/tailed/hook?x=1", " 200 ", "7B", "ms"} {
		if !strings.Contains(line, want) {
			t.Errorf("tail line %q lacks %q", line, want)
		}
	}
}

// TestTailIgnoresRetained: tail prints exchanges and nothing of the
// stream's retained messages (retention's deletes), which it does not
// follow.
func TestTailIgnoresRetained(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory", "--retain-count", "2")
	out, errOut := startTail(t, s.UI, "--json")
	// A stream of its own says the retained messages went out before the
	// last exchange, so tail had them before it printed that one.
	u := "ws" + strings.TrimPrefix(s.UI, "http") + "api/stream"
	conn, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {strings.TrimSuffix(s.UI, "/")}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer conn.Close()
	var sent []string
	for i := range 5 {
		sent = append(sent, s.send(t, "POST", fmt.Sprintf("/b/tailed/%d", i), "application/json", []byte(`{}`)).ID)
	}
	retained := 0
	for {
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		var m struct {
			Type     string
			Exchange struct{ ID string }
		}
		if err := conn.ReadJSON(&m); err != nil {
			t.Fatalf("read: %v", err)
		}
		if m.Type == "retained" {
			retained++
		}
		if m.Exchange.ID == sent[4] {
			break
		}
	}
	if retained == 0 {
		t.Fatal("no retained message before the last exchange: nothing for tail to ignore")
	}
	waitFor(t, func() bool { return strings.Contains(out.String(), sent[4]) }, "tail to print the last")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var printed []string
	for _, l := range lines {
		var sm map[string]any
		if err := json.Unmarshal([]byte(l), &sm); err != nil || sm["type"] != nil {
			t.Errorf("tail printed %q, not an exchange", l)
		}
		printed = append(printed, fmt.Sprint(sm["id"]))
	}
	if !slices.Equal(printed, sent) {
		t.Errorf("tail printed %v, want %v", printed, sent)
	}
	if strings.Contains(errOut.String(), "skipped") {
		t.Errorf("tail said: %s", errOut.String())
	}
}

// blockedWriter is a reader that stopped reading: each Write blocks until
// the test ends; entered is closed at the first.
type blockedWriter struct {
	entered chan struct{}
	once    sync.Once
	release chan struct{}
}

func (w *blockedWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.entered) })
	<-w.release
	return len(p), nil
}

// TestTailStopsWhileItsWriteIsBlocked: a stop (the first SIGTERM or
// Ctrl-C) ends tail even while it is writing to a reader that stopped
// reading (a full pipe to a stuck program): it stayed for minutes.
func TestTailStopsWhileItsWriteIsBlocked(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	w := &blockedWriter{entered: make(chan struct{}), release: make(chan struct{})}
	defer close(w.release)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errOut syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"tail", "--server", s.UI}, func(string) string { return "" }, w, &errOut)
	}()
	waitFor(t, func() bool { return strings.Contains(errOut.String(), "connected") }, "tail to connect")
	s.send(t, "POST", "/b/blocked/x", "application/json", []byte(`{}`))
	select {
	case <-w.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("tail never wrote")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("tail stopped with %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("tail did not stop while its write was blocked")
	}
}

// TestTailQuery: tail --q prints only what matches the query language,
// free text included (the server matches), and refuses a bad query at once.
func TestTailQuery(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	out, _ := startTail(t, s.UI, "--q", `"needle" status:2xx`)
	s.send(t, "POST", "/b/q/hay", "application/json", []byte(`{"a":"straw"}`))
	s.send(t, "POST", "/b/q/match", "application/json", []byte(`{"a":"a needle"}`))
	waitFor(t, func() bool { return strings.Contains(out.String(), "/b/q/match") }, "the match printed")
	if strings.Contains(out.String(), "/b/q/hay") {
		t.Errorf("tail --q printed what does not match:\n%s", out.String())
	}
	var o, e syncBuffer
	err := run(context.Background(), []string{"tail", "--server", s.UI, "--q", "stauts:500"}, func(string) string { return "" }, &o, &e)
	if exitCode(err) != 2 || !strings.Contains(err.Error()+e.String(), "status") {
		t.Errorf("tail --q with a typo: exit %d, %v %s", exitCode(err), err, e.String())
	}
}

func TestTailReconnects(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	u, _ := url.Parse(s.UI)
	out, errOut := startTail(t, s.UI, "--json")
	s.Stop(t)
	waitFor(t, func() bool { return strings.Contains(errOut.String(), "reconnecting") }, "tail to notice the restart")
	s2 := startServer(t, "--memory", "--ui", u.Host)
	waitFor(t, func() bool { return strings.Count(errOut.String(), "connected to") >= 2 }, "tail to reconnect: "+errOut.String())
	a := s2.send(t, "POST", "/again", "text/plain", []byte("x"))
	waitFor(t, func() bool { return strings.Contains(out.String(), a.ID) }, "JSON line after reconnect")
	var sm map[string]any
	if err := json.Unmarshal([]byte(strings.TrimSpace(out.String())), &sm); err != nil || sm["id"] != a.ID {
		t.Errorf("--json line %q: %v", out.String(), err)
	}
}

// TestTailCatchesUp: exchanges stored while tail was away are printed
// when it reconnects, in order and once each, before what streams after.
func TestTailCatchesUp(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, "--data", dir)
	u, _ := url.Parse(s.UI)
	out, errOut := startTail(t, s.UI, "--json", "--bin", "gap")
	first := s.send(t, "POST", "/b/gap/first", "text/plain", []byte("1"))
	waitFor(t, func() bool { return strings.Contains(out.String(), first.ID) }, "the first exchange")
	s.Stop(t)
	waitFor(t, func() bool { return strings.Contains(errOut.String(), "reconnecting") }, "tail to notice the stop")

	// Stored while tail cannot connect: by a server on another UI port.
	away := startServer(t, "--data", dir)
	var missed []string
	for i := range 3 {
		missed = append(missed, away.send(t, "POST", fmt.Sprintf("/b/gap/missed/%d", i), "text/plain", []byte("m")).ID)
	}
	away.send(t, "POST", "/b/other/x", "text/plain", []byte("o")) // another bin: not printed
	away.Stop(t)

	s2 := startServer(t, "--data", dir, "--ui", u.Host)
	waitFor(t, func() bool { return strings.Count(errOut.String(), "connected to") >= 2 }, "tail to reconnect: "+errOut.String())
	after := s2.send(t, "POST", "/b/gap/after", "text/plain", []byte("a"))
	waitFor(t, func() bool { return strings.Contains(out.String(), after.ID) }, "the exchange after the reconnection")

	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var sm struct{ ID, Bin string }
		if err := json.Unmarshal([]byte(line), &sm); err != nil || sm.Bin != "gap" {
			t.Fatalf("line %q: %v", line, err)
		}
		ids = append(ids, sm.ID)
	}
	want := append(append([]string{first.ID}, missed...), after.ID)
	if !slices.Equal(ids, want) {
		t.Errorf("printed %v, want %v (each once, in order)", ids, want)
	}
}

// TestTailCatchesUpPastAnEmptyPage: tail --q catches up past a page of
// the list that holds no match but has a next cursor (a term the store
// cannot filter by is checked 10,000 exchanges a page), as the README says
// a client goes on. It stopped at the first such page and skipped the rest.
func TestTailCatchesUpPastAnEmptyPage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, "--data", dir)
	u, _ := url.Parse(s.UI)
	out, errOut := startTail(t, s.UI, "--json", "--q", "path:/rare/**")
	first := s.send(t, "GET", "/rare/first", "", nil)
	waitFor(t, func() bool { return strings.Contains(out.String(), first.ID) }, "the first exchange")
	s.Stop(t)
	waitFor(t, func() bool { return strings.Contains(errOut.String(), "reconnecting") }, "tail to notice the stop")

	// Stored while tail cannot connect: 10,001 that do not match, then one
	// that does. Written to the data directory's store in parallel (group
	// commits; an import adds one at a time, 25 s of this test under the
	// race detector), as replays: the emitter takes captures stored while
	// it was down in as events before the server starts, another 15 s.
	st, err := inspect.OpenSQLite(dir, inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var ids inspect.IDs
	exchange := func(path string) *inspect.Exchange {
		now := time.Now()
		return &inspect.Exchange{ID: ids.New(now), Bin: "away", Source: inspect.SourceReplay, Time: now,
			Request: inspect.Request{Method: "GET", URL: "http://127.0.0.1:1" + path, Proto: "HTTP/1.1"}, Response: &inspect.Response{Status: 200}}
	}
	noise := make(chan *inspect.Exchange, 10_001)
	for i := range 10_001 {
		noise <- exchange(fmt.Sprintf("/noise/%d", i))
	}
	close(noise)
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for ex := range noise {
				if err := st.Add(context.Background(), ex); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := st.Add(context.Background(), exchange("/rare/missed")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	s2 := startServer(t, "--data", dir, "--ui", u.Host)
	waitFor(t, func() bool { return strings.Count(errOut.String(), "connected to") >= 2 }, "tail to reconnect: "+errOut.String())
	after := s2.send(t, "GET", "/rare/after", "", nil)
	waitFor(t, func() bool { return strings.Contains(out.String(), after.ID) }, "the exchange after the reconnection")
	if !strings.Contains(out.String(), "/rare/missed") {
		t.Errorf("tail --q did not print what matched past a page of no matches:\n%s\n%s", out.String(), errOut.String())
	}
}

// TestTailCatchesUpBeforeItPrinted: a tail that had printed nothing when
// the server went away still prints what was stored meanwhile, and not
// what was stored before it started.
func TestTailCatchesUpBeforeItPrinted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, "--data", dir)
	u, _ := url.Parse(s.UI)
	s.send(t, "POST", "/b/gap/before", "text/plain", []byte("b")) // before tail: not printed
	s.api(t, "GET", "/api/exchanges?bin=gap", nil)                // committed, so not streamed to tail
	out, errOut := startTail(t, s.UI, "--json", "--bin", "gap")
	s.Stop(t)
	waitFor(t, func() bool { return strings.Contains(errOut.String(), "reconnecting") }, "tail to notice the stop")
	away := startServer(t, "--data", dir)
	missed := away.send(t, "POST", "/b/gap/missed", "text/plain", []byte("m")).ID
	away.Stop(t)
	s2 := startServer(t, "--data", dir, "--ui", u.Host)
	waitFor(t, func() bool { return strings.Count(errOut.String(), "connected to") >= 2 }, "tail to reconnect: "+errOut.String())
	after := s2.send(t, "POST", "/b/gap/after", "text/plain", []byte("a")).ID
	waitFor(t, func() bool { return strings.Contains(out.String(), after) }, "the exchange after the reconnection")
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var sm struct{ ID string }
		if err := json.Unmarshal([]byte(line), &sm); err != nil {
			t.Fatalf("line %q: %v", line, err)
		}
		ids = append(ids, sm.ID)
	}
	if want := []string{missed, after}; !slices.Equal(ids, want) {
		t.Errorf("printed %v, want %v", ids, want)
	}
}

// TestTailPrintsOutOfOrder: an exchange whose id is older than one printed
// already (its request started first and finished last) is printed too.
func TestTailPrintsOutOfOrder(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	out, _ := startTail(t, s.UI, "--json")

	// With Expect: 100-continue the client sends the body only once the
	// server asks for it, which the capture does when it reads the body,
	// after it took the id: the first Write returning says the id is taken.
	pr, pw := io.Pipe()
	slow := make(chan ack, 1)
	go func() {
		req, _ := http.NewRequest("POST", strings.TrimSuffix(s.Capture, "/")+"/slow", pr)
		req.Header.Set("Content-Type", "text/plain")
		req.Header.Set("Expect", "100-continue")
		client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}
		defer client.CloseIdleConnections()
		resp, err := client.Do(req)
		var a ack
		if err == nil {
			json.NewDecoder(resp.Body).Decode(&a)
			resp.Body.Close()
		}
		slow <- a
	}()
	pw.Write([]byte("started")) // the request has begun: its id is taken
	fast := s.send(t, "POST", "/fast", "text/plain", []byte("f"))
	waitFor(t, func() bool { return strings.Contains(out.String(), fast.ID) }, "the fast exchange")
	pw.Close()
	a := <-slow
	if a.ID == "" || a.ID >= fast.ID {
		t.Fatalf("slow exchange id %q, want one older than %s", a.ID, fast.ID)
	}
	waitFor(t, func() bool { return strings.Contains(out.String(), a.ID) }, "the slow exchange, older id, printed after")
}

// captureLoad posts to s's capture port from 8 clients until stopped, and
// keeps the id of every capture answered 200. stop waits for the clients.
type captureLoad struct {
	mu       sync.Mutex
	answered []string
	stop     chan struct{}
	wg       sync.WaitGroup
}

func startCaptureLoad(s *server, bin string) *captureLoad {
	l := &captureLoad{stop: make(chan struct{})}
	for w := range 8 {
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-l.stop:
					return
				default:
				}
				resp, err := client.Post(fmt.Sprintf("%sb/%s/%d/%d", s.Capture, bin, w, i), "application/json", strings.NewReader(`{"w":1}`))
				if err != nil {
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				var a ack
				if resp.StatusCode == 200 && json.Unmarshal(b, &a) == nil {
					l.mu.Lock()
					l.answered = append(l.answered, a.ID)
					l.mu.Unlock()
				}
			}
		}()
	}
	return l
}

// count is how many captures were answered.
func (l *captureLoad) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.answered)
}

// ids stops the clients and returns the ids answered.
func (l *captureLoad) ids() []string {
	close(l.stop)
	l.wg.Wait()
	return l.answered
}

func TestGracefulShutdownLosesNothingAnswered(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, "--data", dir)
	load := startCaptureLoad(s, "drain")
	waitFor(t, func() bool { return load.count() > 200 }, "some traffic")
	s.Stop(t)
	answered := load.ids()
	s2 := startServer(t, "--data", dir)
	for _, id := range answered {
		if resp, _ := s2.api(t, "GET", "/api/exchanges/"+id, nil); resp.StatusCode != 200 {
			t.Fatalf("answered exchange %s lost across shutdown (%d answered)", id, len(answered))
		}
	}
}

func TestStartupErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	corrupt := t.TempDir()
	junk := bytes.Repeat([]byte("not a database "), 100)
	if err := os.WriteFile(filepath.Join(corrupt, "hooklab.db"), junk, 0o600); err != nil {
		t.Fatal(err)
	}
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	// A second server on a data directory another one serves would not see
	// its live traffic and would deliver its webhooks again.
	owned := t.TempDir()
	startServer(t, "--data", owned)
	freeAddr := func() string {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer ln.Close()
		return ln.Addr().String()
	}
	loop, ui := freeAddr(), freeAddr()
	// A config proxy's loop is named by file:line, as its other errors are.
	loopCfg := filepath.Join(dir, "loop.yaml")
	if err := os.WriteFile(loopCfg, []byte("proxies:\n  - name: api\n    listen: "+loop+"\n    upstream: http://"+ui+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A config webhook at hooklab's own API, as the API refuses one (400).
	selfCfg := filepath.Join(dir, "self.yaml")
	if err := os.WriteFile(selfCfg, []byte("webhooks:\n  - id: self\n    endpoint: http://localhost:"+strings.Split(ui, ":")[1]+"/hooks\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	usageCases := map[string]bool{
		"two proxies on one address": true, "empty data": true, "empty config": true, "empty auth": true, "empty auth, --auth= form": true, "bad size": true, "bad retain size": true, "body size over the limit": true, "body size just over the limit": true, "negative retain count": true, "no bins": true, "no body": true,
		"negative shutdown timeout": true, "negative retain age": true, "retain age not a duration": true,
		"proxy without a listen address": true, "proxy upstream not http, password redacted": true, "proxy upstream without a host": true, "proxy upstream port out of range": true, "proxy upstream host not a host": true, "proxy upstream without a scheme": true, "secret header given with its value": true, "secret header empty": true,
		"proxy without a listen address, password redacted": true, "mitm without a forward proxy": true, "proxy sides swapped": true, "proxy sides swapped, password redacted": true,
		"capture and ui on one address": true, "unknown flag": true,
		"capture address without a port": true, "ui port out of range": true, "ui not an address": true,
		"proxy listen without a port": true, "forward proxy port out of range": true, "bad simulate-ignore-query glob": true,
	}
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"data dir under a file", []string{"--data", filepath.Join(file, "sub")}, "data directory"},
		{"corrupt database", []string{"--data", corrupt}, filepath.Join(corrupt, "hooklab.db")},
		{"data dir served by another", []string{"--data", owned}, "in use by another hooklab"},
		{"capture port in use", []string{"--memory", "--capture", busy.Addr().String()}, "--capture " + busy.Addr().String() + ": listen tcp"},
		{"ui port in use", []string{"--memory", "--ui", busy.Addr().String()}, "--ui " + busy.Addr().String() + ": listen tcp"},
		{"forward proxy port in use", []string{"--memory", "--forward-proxy", busy.Addr().String()}, "--forward-proxy " + busy.Addr().String() + ": listen tcp"},
		{"two proxies on one address", []string{"--memory", "--forward-proxy", loop, "--proxy", loop + "=http://127.0.0.1:1"}, "two proxies listen on " + loop},
		// The units a size takes are listed; 1TiB was one of them refused
		// as no size at all, and 2GiB taken.
		{"bad size", []string{"--memory", "--max-body", "ten"}, `invalid value "ten" for flag -max-body: want a size: a number of bytes, or a number and a unit: B, KiB or KB, MiB or MB, GiB or GB, TiB or TB (K, M, G and T are KiB, MiB, GiB and TiB), such as 10MiB or 1.5GB; got "ten"`},
		{"bad retain size", []string{"--memory", "--retain-bytes", "5 gigs"}, `invalid value "5 gigs" for flag -retain-bytes: want a size: a number of bytes, or a number and a unit: B, KiB or KB`},
		{"body size over the limit", []string{"--memory", "--max-body", "1TiB"}, `invalid value "1TiB" for flag -max-body: 1TiB is over the limit of 1GiB (a body is held in memory while it is recorded`},
		{"body size just over the limit", []string{"--memory", "--max-body", "1073741825"}, `invalid value "1073741825" for flag -max-body: 1073741825 is over the limit of 1GiB`},
		{"negative retain count", []string{"--memory", "--retain-count", "-1"}, "--retain-count -1"},
		{"no bins", []string{"--memory", "--max-bins", "0"}, "--max-bins 0"},
		{"empty data", []string{"--data", ""}, "--data is empty"},
		{"empty config", []string{"--memory", "--config", ""}, "--config is empty"},
		{"config not there", []string{"--memory", "--config", filepath.Join(dir, "missing.yaml")}, "config: no config file " + filepath.Join(dir, "missing.yaml")},
		{"config a directory", []string{"--memory", "--config", dir}, "config: " + dir + " is a directory, not a config file"},
		// --auth "$TOKEN" with TOKEN unset served with no token, saying nothing.
		{"empty auth", []string{"--memory", "--auth", ""}, "--auth is empty: give a token"},
		{"empty auth, --auth= form", []string{"--memory", "--auth="}, "--auth is empty: give a token"},
		{"no body", []string{"--memory", "--max-body", "0"}, "--max-body 0: want a size of at least 1 byte"},
		{"no HOME, no --data", nil, "neither XDG_DATA_HOME (an absolute path) nor HOME is set"},
		{"negative shutdown timeout", []string{"--memory", "--shutdown-timeout", "-1s"}, "--shutdown-timeout -1s"},
		{"negative retain age", []string{"--memory", "--retain-age", "-5s"}, "--retain-age -5s"},
		{"retain age not a duration", []string{"--memory", "--retain-age", "abc"}, `invalid value "abc" for flag -retain-age: want a duration such as 24h, 30m or 90s`},
		{"proxy without a listen address", []string{"--memory", "--proxy", "=http://127.0.0.1:1"}, `--proxy "=http://127.0.0.1:1": want LISTEN=UPSTREAM`},
		{"proxy upstream not http, password redacted", []string{"--memory", "--proxy", "127.0.0.1:0=ftp://bob:PROXY-s3cret@127.0.0.1"}, `--proxy "127.0.0.1:0=ftp://bob:REDACTED@127.0.0.1": the upstream must be an http or https URL with a host`},
		// A name that no header can have would redact nothing, silently.
		{"secret header given with its value", []string{"--memory", "--secret-header", "Authorization: Bearer SECRET-s3cret"}, `--secret-header "Authorization: …": not a header name (give the name alone, such as X-Internal-Key`},
		{"secret header empty", []string{"--memory", "--secret-header", ""}, `--secret-header "": not a header name`},
		{"proxy upstream without a host", []string{"--memory", "--proxy", "127.0.0.1:0=http://"}, `--proxy "127.0.0.1:0=http://": the upstream must be an http or https URL with a host`},
		// No connection can reach it: each request would answer 502.
		{"proxy upstream port out of range", []string{"--memory", "--proxy", "127.0.0.1:0=http://127.0.0.1:99999"}, `--proxy "127.0.0.1:0=http://127.0.0.1:99999": the upstream must be an http or https URL with a host`},
		// Go's URL parser takes "]" for a host: each request failed 502.
		{"proxy upstream host not a host", []string{"--memory", "--proxy", "127.0.0.1:0=http://]:1"}, `--proxy "127.0.0.1:0=http://]:1": the upstream must be an http or https URL with a host, such as 127.0.0.1:9000=http://127.0.0.1:3000; its host "]" is neither a host name nor an IP address: it holds ']', which no host name may`},
		{"proxy upstream without a scheme", []string{"--memory", "--proxy", "127.0.0.1:0=localhost:3000"}, `; it has no scheme: begin it with http:// or https://`},
		{"proxy without a listen address, password redacted", []string{"--memory", "--proxy", "http://bob:PROXY-s3cret@127.0.0.1:3000/?a=b"}, `--proxy "http://bob:REDACTED@127.0.0.1:3000/?a=b": want LISTEN=UPSTREAM`},
		{"proxy sides swapped", []string{"--memory", "--proxy", "http://127.0.0.1:3000=127.0.0.1:9000"}, `--proxy "http://127.0.0.1:3000=127.0.0.1:9000": want LISTEN=UPSTREAM; the two sides look swapped: --proxy 127.0.0.1:9000=http://127.0.0.1:3000`},
		{"proxy sides swapped, password redacted", []string{"--memory", "--proxy", "http://bob:PROXY-s3cret@up=:9000"}, `--proxy "http://bob:REDACTED@up=:9000": want LISTEN=UPSTREAM; the two sides look swapped: --proxy :9000=http://bob:REDACTED@up`},
		{"mitm without a forward proxy", []string{"--memory", "--mitm"}, "--mitm decrypts through a forward proxy, and none runs"},
		{"capture and ui on one address", []string{"--memory", "--capture", ui, "--ui", ui}, "--capture and --ui are both " + ui + ": give each its own address"},
		{"unknown flag", []string{"--nope"}, "flag provided but not defined"},
		{"proxy to itself", []string{"--memory", "--proxy", loop + "=http://" + loop}, "is this proxy's own listener: every request would loop back"},
		{"config proxy to the API", []string{"--memory", "--ui", ui, "--config", loopCfg}, loopCfg + ":2:5: proxy api: route /: upstream http://" + ui + " is hooklab's own API"},
		{"config webhook to the API", []string{"--memory", "--ui", ui, "--config", selfCfg}, selfCfg + ":3:15: webhook self: endpoint http://localhost:" + strings.Split(ui, ":")[1] + "/hooks is hooklab's own API"},
		// Addresses no listener can take are wrong values (exit 2), as a
		// bad size is; --ui without a port is not taken for a remote one.
		{"capture address without a port", []string{"--memory", "--capture", "127.0.0.1"}, "--capture 127.0.0.1: want host:port"},
		{"ui port out of range", []string{"--memory", "--ui", "127.0.0.1:99999"}, "--ui 127.0.0.1:99999: want host:port"},
		{"ui not an address", []string{"--memory", "--ui", "notanaddr"}, "--ui notanaddr: want host:port"},
		{"proxy listen without a port", []string{"--memory", "--proxy", "127.0.0.1=http://127.0.0.1:1"}, "--proxy 127.0.0.1: want host:port"},
		{"forward proxy port out of range", []string{"--memory", "--forward-proxy", "127.0.0.1:70000"}, "--forward-proxy 127.0.0.1:70000: want host:port"},
		// Refused even without --simulate: POST /api/simulations takes it later.
		{"bad simulate-ignore-query glob", []string{"--memory", "--simulate-ignore-query", "[a"}, `--simulate-ignore-query "[a": want a glob`},
		{"proxy to the API", []string{"--memory", "--ui", ui, "--proxy", "127.0.0.1:0=http://localhost:" + strings.Split(ui, ":")[1]}, "is hooklab's own API"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"serve", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0"}, tc.args...)
			var out, errOut syncBuffer
			// Bounded: a server that starts instead of failing stops and fails the test.
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := run(ctx, args, func(string) string { return "" }, &out, &errOut)
			if err == nil {
				t.Fatal("run succeeded")
			}
			if msg := err.Error() + errOut.String(); !strings.Contains(msg, tc.want) {
				t.Errorf("error %q (stderr %q) does not mention %q", err, errOut.String(), tc.want)
			}
			// Exit 2 for a command line that is wrong in itself (a
			// value, flags that do not go together), 1 for the rest.
			want := 1
			if usageCases[tc.name] {
				want = 2
			}
			if got := exitCode(err); got != want {
				t.Errorf("exit %d, want %d", got, want)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(corrupt, "hooklab.db")); !bytes.Equal(b, junk) {
		t.Error("the corrupt database file was changed")
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args    []string
		want    string
		wantErr bool
	}{
		{[]string{"version"}, "hooklab", false},
		// The flag other tools take for it is the same command.
		{[]string{"--version"}, "hooklab " + version(), false},
		{[]string{"-version"}, "hooklab " + version(), false},
		{[]string{"-v"}, "hooklab " + version(), false},
		{[]string{"--version", "--memory"}, "flag provided but not defined: -version", true},
		{[]string{"help"}, "hooklab tail", false},
		{[]string{"frobnicate"}, "unknown command", true},
		{[]string{"version", "extra"}, `hooklab version: unexpected argument "extra"`, true},
		{[]string{"send", "ticket.created", "extra"}, `hooklab send: unexpected argument "extra"`, true},
		{[]string{"tail", "extra"}, `hooklab tail: unexpected argument "extra"`, true},
		{[]string{"serve", "extra"}, `hooklab serve: unexpected argument "extra"`, true},
		{[]string{"schema", "--pretty"}, "flag provided but not defined", true},
		{[]string{"schema"}, `"$schema"`, false},
		// -h asks for help: it is printed and is no failure (exit 0).
		{[]string{"-h"}, "hooklab tail", false},
		{[]string{"--help"}, "hooklab tail", false},
		{[]string{"serve", "-h"}, "-retain-count", false},
		{[]string{"tail", "-h"}, "-bin", false},
		{[]string{"replay", "-h"}, "-target", false},
		{[]string{"export", "--help"}, "-keep-secrets", false},
		{[]string{"check", "-h"}, "-print", false},
		{[]string{"send", "-h"}, "-data", false},
		{[]string{"help", "tail"}, "-wait", false},
		{[]string{"help", "bogus"}, `unknown command "bogus"`, true},
		{[]string{"help", "--help"}, "hooklab tail", false},
		{[]string{"help", "help"}, "hooklab tail", false},
		{[]string{"help", "tail", "serve"}, "give one command, or none", true},
		// A bad flag: its error and where the flags are, not all of them.
		{[]string{"serve", "--max-body", "10XB"}, `run "hooklab serve -h" for its flags`, true},
		{[]string{"version", "-h"}, "Usage: hooklab version", false},
		{[]string{"--bogus"}, "flag provided but not defined", true},
		{[]string{"-h", "--capture", "x"}, "Usage: hooklab [serve] [flags]", false},
	} {
		var out, errOut syncBuffer
		err := run(context.Background(), tc.args, func(string) string { return "" }, &out, &errOut)
		if (err != nil) != tc.wantErr || !strings.Contains(out.String()+errOut.String(), tc.want) {
			t.Errorf("%v: err=%v out=%q", tc.args, err, out.String()+errOut.String())
		}
		// The flag set is named "hooklab tail" already: a message that
		// puts "hooklab" before its name said it twice.
		if strings.Contains(out.String()+errOut.String(), "hooklab hooklab") {
			t.Errorf("%v: the command is named twice: %q", tc.args, out.String()+errOut.String())
		}
		if tc.wantErr && strings.Contains(errOut.String(), "-retain-count") {
			t.Errorf("%v: a usage error lists the flags:\n%s", tc.args, errOut.String())
		}
	}
}

// TestHelpNamesFlagValues: each command's -h names what a flag takes
// (-secret-header name, not the flag package's generic "value" or
// "string"), and a size's default reads as the README writes it (10MiB).
func TestHelpNamesFlagValues(t *testing.T) {
	t.Parallel()
	generic := regexp.MustCompile(`(?m)^  -\S+ (value|string|int|uint|float)$`)
	for _, cmd := range []string{"serve", "tail", "replay", "export", "import", "send", "check", "ca"} {
		var out, errOut syncBuffer
		if err := run(context.Background(), []string{cmd, "-h"}, func(string) string { return "" }, &out, &errOut); err != nil {
			t.Fatalf("%s -h: %v", cmd, err)
		}
		help := out.String() + errOut.String()
		for _, m := range generic.FindAllString(help, -1) {
			t.Errorf("%s -h: %q names no value", cmd, strings.TrimSpace(m))
		}
		if strings.Contains(help, "(duration) (default") {
			t.Errorf("%s -h: a flag's help says (duration) twice over:\n%s", cmd, help)
		}
		if cmd == "serve" && !strings.Contains(help, "(default 10MiB)") {
			t.Errorf("serve -h: --max-body's default is not shown as 10MiB:\n%s", help)
		}
	}
}

// waitFor polls cond until it holds or a minute passes.
func waitFor(t testing.TB, cond func() bool, what string) {
	t.Helper()
	// A bound on a wait, not its expected time: under -race at load 20,
	// tail's catch-up past 10,001 stored exchanges took over 10 s.
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

var _ = errors.New

// TestStreamSlowClientResyncs: a stream client that stops reading is sent a
// resync and dropped, while capture and a client that reads go on.
//
// The reading client waits for its messages as long as capture is slow:
// the store's writer can hold every capture back for seconds (its text
// index merge under -race on a loaded machine held them over 10 s), and
// the stream has nothing to send meanwhile. What fails the test is the
// stream's own lag: a captured exchange (its 2xx answered, so stored and
// published) that the reading client has not got within streamLag.
func TestStreamSlowClientResyncs(t *testing.T) {
	t.Parallel()
	const streamLag = 30 * time.Second
	s := startServer(t, "--memory")
	u, _ := url.Parse(s.UI)
	smallBuf := &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetReadBuffer(16 << 10)
		}
		return c, err
	}}
	slow, _, err := smallBuf.Dial("ws://"+u.Host+"/api/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	fast, _, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer fast.Close()
	const n = 4000
	fastGot := make(chan int, 1)
	fastDone := make(chan struct{}) // closed when the reading client stops, for whatever reason
	var fastErr error               // why it stopped early; read after fastDone
	// read: exchanges the reading client got; sent: captures begun;
	// answered: captures answered 2xx, each stored and published.
	var read, sent, answered atomic.Int64
	go func() {
		defer close(fastDone)
		count := 0
		for count < n {
			// No read deadline: a slow store is no fault of the
			// stream's (the watch below ends a real stall).
			_, b, err := fast.ReadMessage()
			if err != nil {
				fastErr = err
				break
			}
			if strings.Contains(string(b), `"type":"exchange"`) {
				count++
				read.Store(int64(count))
			}
		}
		fastGot <- count
	}()
	// The watch: the reading client behind what capture answered, and
	// getting nothing, for streamLag, is the stream stuck; closing the
	// connection ends the read with an error the test reports.
	var stuck atomic.Pointer[string]
	go func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		lastRead, since := int64(-1), time.Now()
		for {
			select {
			case <-fastDone:
				return
			case <-tick.C:
			}
			r, a := read.Load(), answered.Load()
			if r != lastRead || r >= a {
				lastRead, since = r, time.Now()
				continue
			}
			if time.Since(since) > streamLag {
				why := fmt.Sprintf("the reading client got nothing for %v, with captures answered and not streamed to it: %d", streamLag, a-r)
				stuck.Store(&why)
				fast.Close()
				return
			}
		}
	}()
	var wg sync.WaitGroup
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				// Never far ahead of the reading client: a test goroutine
				// starved for seconds (the -race suite on a busy box) must
				// not look like a client that stopped reading. The other
				// one never reads, so it falls behind all the same.
				// A reader that stopped early no longer holds them back
				// (they waited for it until the test's timeout).
				for sent.Load()-read.Load() > 200 { // ~70 KB of messages: within the sockets' buffers
					select {
					case <-fastDone:
						return
					case <-time.After(time.Millisecond):
					}
				}
				sent.Add(1)
				resp, err := client.Post(s.Capture+"flood", "text/plain", strings.NewReader("x"))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 != 2 {
					// Not stored: the reading client would wait for it.
					t.Errorf("capture %d answered %s", i, resp.Status)
					return
				}
				answered.Add(1)
			}
		}()
	}
	wg.Wait()
	if a := answered.Load(); a != n {
		fast.Close() // it would wait for the captures that were not stored
		t.Fatalf("%d of %d captures answered 2xx (see above)", a, n)
	}
	if got := <-fastGot; got != n {
		why := fmt.Sprint(fastErr)
		if p := stuck.Load(); p != nil {
			why = *p
		}
		t.Fatalf("the reading client got %d of %d exchanges: %s; log:\n%s", got, n, why, s.Stderr.String())
	}
	// The server lets go of the client that stopped reading: with a
	// resync when its queue overflowed while there was room in the
	// socket, or by closing it when its socket stayed full past the write
	// deadline. Either way it says so, and only the reading client is
	// left subscribed.
	// A bound, not the expected time: the server gives up a write after
	// 10 s (flushTimeout), and on a loaded box the rest comes late.
	deadline := time.Now().Add(time.Minute)
	for {
		var h struct {
			Subscribers int `json:"subscribers"`
		}
		s.getJSON(t, "/healthz", &h)
		logged := strings.Contains(s.Stderr.String(), "stream client fell behind") || strings.Contains(s.Stderr.String(), "stream client stopped reading")
		if h.Subscribers == 1 && logged {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the client that stopped reading was not let go: %d subscribers; log:\n%s", h.Subscribers, s.Stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// What the slow client sees: its backlog, perhaps the resync, then the
	// end of the connection (which a kernel may deliver late to a socket
	// whose window was shut for long, hence a timeout counts as seen).
	resync := false
	for {
		_ = slow.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, b, err := slow.ReadMessage()
		if err != nil {
			break
		}
		if strings.Contains(string(b), `"type":"resync"`) {
			resync = true
		}
	}
	t.Logf("slow client: resync %v", resync)
}

// TestCaptureBadBodies: a body with broken chunking gets a 400 saying so,
// recorded as sent; a client that goes away mid-body gets no answer, and
// what arrived is kept with the error.
func TestCaptureBadBodies(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	addr := strings.TrimSuffix(strings.TrimPrefix(s.Capture, "http://"), "/")
	raw := func(req string, waitAnswer bool) string {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		io.WriteString(c, req)
		if !waitAnswer {
			return ""
		}
		_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, _ := io.ReadAll(c)
		return string(b)
	}
	got := raw("POST /b/bad/chunks HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", true)
	if !strings.HasPrefix(got, "HTTP/1.1 400") || !strings.Contains(got, `"error":"malformed request body: `) {
		t.Errorf("broken chunking answered:\n%s", got)
	}
	raw("POST /b/bad/gone HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part", false)
	// A client that stops sending (half-closes) mid-body gets no answer
	// at all, not an empty 200.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(c, "POST /b/bad/half HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
	c.(*net.TCPConn).CloseWrite()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, err := io.ReadAll(c)
	var ne net.Error
	if len(b) != 0 || errors.As(err, &ne) && ne.Timeout() {
		t.Errorf("a client gone mid-body was answered or held (%v):\n%s", err, b)
	}
	c.Close()

	var l listAnswer
	waitFor(t, func() bool { s.getJSON(t, "/api/exchanges?bin=bad", &l); return len(l.Exchanges) == 3 }, "the three exchanges")
	for _, sum := range l.Exchanges {
		e := s.exchange(t, sum.ID)
		switch sum.Path {
		case "/b/bad/chunks":
			if e.Response == nil || e.Response.Status != 400 || !strings.Contains(e.Error, "reading request body") {
				t.Errorf("broken chunking recorded: %+v", e)
			}
		case "/b/bad/gone", "/b/bad/half":
			want := map[string]string{"/b/bad/gone": "only part", "/b/bad/half": "half"}[sum.Path]
			if e.Response != nil || string(e.requestBody(t)) != want || !strings.Contains(e.Error, "reading request body after") {
				t.Errorf("the client that went away recorded: response %+v error %q", e.Response, e.Error)
			}
		}
	}
}

// TestAPIErrorsAreJSON: every API route, whichever package serves it,
// answers a method it does not take with a JSON 405 naming what it takes.
func TestAPIErrorsAreJSON(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	for _, p := range []string{"/api/exchanges", "/api/bins", "/api/webhooks", "/api/rules", "/api/replay", "/api/simulations", "/api/invocations", "/api/nosuch"} {
		resp, b := s.api(t, "PUT", p, strings.NewReader("{}"))
		var e struct{ Error string }
		if resp.Header.Get("Content-Type") != "application/json" || json.Unmarshal(b, &e) != nil || e.Error == "" ||
			(resp.StatusCode != 405 || resp.Header.Get("Allow") == "") && !(p == "/api/nosuch" && resp.StatusCode == 404) {
			t.Errorf("PUT %s: %d %s %q", p, resp.StatusCode, resp.Header.Get("Content-Type"), b)
		}
	}
}

func TestLooseIPv4(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"127.1", "127.0.0.1"}, {"2130706433", "127.0.0.1"}, {"0x7f000001", "127.0.0.1"},
		{"127.000.000.001", "127.0.0.1"}, {"0177.0.0.1", "127.0.0.1"}, {"127.0.1", "127.0.0.1"},
		{"10.0.0.1", "10.0.0.1"}, {"example.com", "<nil>"}, {"1.2.3.4.5", "<nil>"}, {"256.1", "<nil>"},
		{"127.16777216", "<nil>"}, {"", "<nil>"}, {"08", "<nil>"},
	} {
		if got := looseIPv4(tc.in).String(); got != tc.want {
			t.Errorf("looseIPv4(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

// A flag that does nothing is said so: --data with --memory holds nothing
// (but the CA of --mitm).
func TestMemoryWithDataWarns(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory", "--data", t.TempDir())
	if !strings.Contains(s.Stderr.String(), "--memory keeps nothing on disk: --data is not used") {
		t.Errorf("no warning about --data:\n%s", s.Stderr.String())
	}
	// A decrypting forward proxy of the config keeps its CA there.
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(cfg, []byte("proxies:\n  - name: fwd\n    forward: true\n    listen: 127.0.0.1:0\n    mitm: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s = startServer(t, "--memory", "--data", dir, "--config", cfg)
	if strings.Contains(s.Stderr.String(), "--data is not used") {
		t.Errorf("warned about --data, which holds the CA:\n%s", s.Stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "hooklab-ca.pem")); err != nil {
		t.Errorf("the CA is not in --data: %v", err)
	}
}

// TestWatchSignals: the first signal cancels; the same signal again at
// once is the first delivered twice (coreutils' timeout sends it to its
// child and to its process group), and only a later or a different one
// exits at once.
func TestWatchSignals(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		sigs []os.Signal
		at   []time.Duration // when each arrives
		exit os.Signal       // nil: no exit
	}{
		{"one", []os.Signal{syscall.SIGTERM}, []time.Duration{0}, nil},
		{"repeat at once", []os.Signal{syscall.SIGTERM, syscall.SIGTERM}, []time.Duration{0, time.Millisecond}, nil},
		{"second later", []os.Signal{syscall.SIGTERM, syscall.SIGTERM, syscall.SIGTERM}, []time.Duration{0, time.Millisecond, time.Second}, syscall.SIGTERM},
		{"another at once", []os.Signal{os.Interrupt, syscall.SIGTERM}, []time.Duration{0, time.Millisecond}, syscall.SIGTERM},
		{"second Ctrl-C", []os.Signal{os.Interrupt, os.Interrupt}, []time.Duration{0, 400 * time.Millisecond}, os.Interrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sigs := make(chan os.Signal, len(tc.sigs))
			for _, s := range tc.sigs {
				sigs <- s
			}
			close(sigs)
			start := time.Unix(1e9, 0)
			n := 0
			now := func() time.Time { // the time the signal just taken came
				n++
				return start.Add(tc.at[n-1])
			}
			cancelled := false
			var exited os.Signal
			watchSignals(sigs, func() { cancelled = true }, func(s os.Signal) { exited = s }, now)
			if !cancelled || exited != tc.exit {
				t.Errorf("cancelled %v, exit %v; want true, %v", cancelled, exited, tc.exit)
			}
		})
	}
}

func TestProcs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		env       string
		cur, cpus int
		want      int
	}{
		{"", 2, 2, 3}, // every CPU: one P more
		{"", 8, 8, 9},
		{"2", 2, 2, 2}, // GOMAXPROCS says
		{"", 2, 8, 2},  // a container's CPU limit: as Go keeps it
	} {
		if n := procs(tc.env, tc.cur, tc.cpus); n != tc.want {
			t.Errorf("procs(%q, %d, %d) = %d, want %d", tc.env, tc.cur, tc.cpus, n, tc.want)
		}
	}
}

// TestExitCodes: a wrong command line exits 2; a failure said already (a
// config that does not check, replayed answers that differ) or any other
// exits 1, so a CI step tells "called wrongly" from "found differences".
func TestExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(bad, []byte("mocks:\n  - match: {methd: GET}\n    respond: {status: 200}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(good, []byte("mocks: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A proxy whose route goes to its own listen address: serve refuses
	// it, and check says so too (it said ok).
	loop := filepath.Join(dir, "loop.yaml")
	if err := os.WriteFile(loop, []byte("proxies: [{name: api, listen: 127.0.0.1:21170, upstream: http://127.0.0.1:21170}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	emptyHAR := filepath.Join(dir, "empty.har")
	if err := os.WriteFile(emptyHAR, []byte(`{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "HOOKLAB_UI" {
			return "http://127.0.0.1:1" // nothing listens: the commands fail before any run
		}
		return ""
	}
	for _, tc := range []struct {
		args []string
		want int
	}{
		{[]string{"nope"}, 2},
		{[]string{"serve", "--bogus"}, 2},
		{[]string{"replay", "--bogus"}, 2},
		{[]string{"replay", "--har", "x.har", "--path", "/a"}, 2},
		{[]string{"check", bad}, 1},
		{[]string{"check", good}, 0},
		{[]string{"check", loop}, 1},
		{[]string{"check", "-h"}, 0},
		// An empty file (an unset variable) is not hooklab.yaml, as serve's
		// --config "" is not: a good one in the working directory said ok.
		{[]string{"check", "--config", ""}, 2},
		{[]string{"check", ""}, 2},
		{[]string{"check", "--print", ""}, 2},
		{[]string{"replay", "--har", filepath.Join(dir, "missing.har"), "--target", "http://127.0.0.1:1"}, 1},
		// A --server that is no UI URL is a usage error (it was 1, or a
		// lookup of the host "api" for http://).
		{[]string{"tail", "--server", "ftp://127.0.0.1:1"}, 2},
		{[]string{"send", "ticket.created", "--server", "http://"}, 2},
		{[]string{"replay", "--all", "--target", "http://127.0.0.1:1", "--server", "http://127.0.0.1:1?x"}, 2},
		{[]string{"export", "--har", filepath.Join(dir, "x.har"), "--server", "ftp://h"}, 2},
		{[]string{"import", emptyHAR, "--server", "ftp://h"}, 2},
		// An event type that cannot be one: the call, not the server.
		{[]string{"send", "bad type!"}, 2},
		// An empty selection flag (an unset variable) would select everything.
		{[]string{"export", "--har", "-", "--bin", ""}, 2},
		{[]string{"replay", "--target", "http://127.0.0.1:1", "--path", ""}, 2},
		// tail --bin "$BIN" with BIN unset streamed every bin.
		{[]string{"tail", "--wait", "1ms", "--bin", ""}, 2},
		{[]string{"tail", "--wait", "1ms", "--q="}, 2},
		// Any Host, without a token to guard the API: no DNS-rebinding check.
		{[]string{"serve", "--memory", "--ui", "127.0.0.1:0", "--capture", "127.0.0.1:0", "--allow-host", "*"}, 2},
		// "" let in a request without a Host; a URL or a list matches none.
		{[]string{"serve", "--memory", "--ui", "127.0.0.1:0", "--capture", "127.0.0.1:0", "--allow-host", ""}, 2},
		{[]string{"serve", "--memory", "--ui", "127.0.0.1:0", "--capture", "127.0.0.1:0", "--allow-host", "http://hooklab.internal/"}, 2},
		{[]string{"serve", "--memory", "--ui", "127.0.0.1:0", "--capture", "127.0.0.1:0", "--allow-host", "a.internal,b.internal"}, 2},
	} {
		var out, errOut syncBuffer
		err := run(context.Background(), tc.args, getenv, &out, &errOut)
		if got := exitCode(err); got != tc.want {
			t.Errorf("hooklab %s: exit %d (%v; %s), want %d", strings.Join(tc.args, " "), got, err, errOut.String(), tc.want)
		}
	}
	// Replayed answers that differ, with --fail-on-diff: 1, not 2.
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(500) }))
	defer target.Close()
	ex := &inspect.Exchange{ID: "01JNB5Z3Q0000000000000000A", Time: time.Now(),
		Request:  inspect.Request{Method: "GET", URL: "http://127.0.0.1:1/x", Proto: "HTTP/1.1"},
		Response: &inspect.Response{Status: 200}}
	var buf bytes.Buffer
	if err := har.Encode(&buf, har.New([]*inspect.Exchange{ex}, har.Options{})); err != nil {
		t.Fatal(err)
	}
	harFile := filepath.Join(dir, "one.har")
	if err := os.WriteFile(harFile, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"replay", "--har", harFile, "--target", target.URL, "--fail-on-diff"}, getenv, &out, &errOut)
	if got := exitCode(err); got != 1 || !strings.Contains(out.String(), "1 differ") {
		t.Errorf("replay with a difference: exit %d (%v), stdout %s, want 1", got, err, out.String())
	}
}

// TestWrongMethodIs405: every route of the UI listener answers a method it
// does not take with 405 and Allow, in JSON, not the catch-all's 404.
func TestWrongMethodIs405(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	for _, tc := range []struct{ method, path, allow string }{
		{"POST", "/api/info", "GET, HEAD"},
		{"PUT", "/api/stream", "GET, HEAD"},
		{"GET", "/api/import", "POST"},
		{"POST", "/api/export.har", "GET, HEAD"},
		{"POST", "/healthz", "GET, HEAD"},
		{"PUT", "/api/exchanges", "DELETE, GET, HEAD"},
	} {
		req, _ := http.NewRequest(tc.method, strings.TrimSuffix(s.UI, "/")+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var e struct{ Error string }
		if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != tc.allow || json.Unmarshal(b, &e) != nil || e.Error == "" {
			t.Errorf("%s %s: %d Allow %q %s, want 405 Allow %q with a JSON error", tc.method, tc.path, resp.StatusCode, resp.Header.Get("Allow"), b, tc.allow)
		}
	}
	// And a parameter a route does not take is a 400, not ignored.
	for _, p := range []string{"GET /api/rules?reveal=1", "POST /api/rules/reset?bogus=1", "GET /api/info?x=1", "GET /healthz?x=1"} {
		method, path, _ := strings.Cut(p, " ")
		req, _ := http.NewRequest(method, strings.TrimSuffix(s.UI, "/")+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), "takes no parameters") {
			t.Errorf("%s: %d %s, want 400", p, resp.StatusCode, b)
		}
	}
}

// TestSimulateWithoutProxyWarns: --simulate answers proxied requests only;
// with no proxy it would do nothing, and serve says so.
func TestSimulateWithoutProxyWarns(t *testing.T) {
	t.Parallel()
	ex := &inspect.Exchange{ID: "01JNB5Z3Q0000000000000000A", Time: time.Now(),
		Request:  inspect.Request{Method: "GET", URL: "http://127.0.0.1:1/x", Proto: "HTTP/1.1"},
		Response: &inspect.Response{Status: 200}}
	var buf bytes.Buffer
	if err := har.Encode(&buf, har.New([]*inspect.Exchange{ex}, har.Options{})); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "s.har")
	if err := os.WriteFile(file, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--simulate", file)
	if !strings.Contains(s.Stderr.String(), "--simulate answers requests through a proxy, and none runs") {
		t.Errorf("no warning:\n%s", s.Stderr.String())
	}
	p := startServer(t, "--memory", "--simulate", file, "--proxy", "127.0.0.1:0=http://127.0.0.1:1")
	if strings.Contains(p.Stderr.String(), "none runs") {
		t.Errorf("warned with a proxy:\n%s", p.Stderr.String())
	}
}

// TestTailStopsDuringAHandshake: Ctrl-C ends tail while a server that has
// accepted its connection has not answered yet (as one starting up): it
// waited out the handshake's 45 s.
func TestTailStopsDuringAHandshake(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c // held open, never answered
		}
	}()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out, errOut syncBuffer
	go func() {
		done <- run(ctx, []string{"tail", "--server", "http://" + ln.Addr().String()}, func(string) string { return "" }, &out, &errOut)
	}()
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("tail did not connect")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("tail returned %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("tail still waiting for the handshake 20s after it was stopped")
	}
}

// TestRestartedServerRedactsStoredSecretHeaders: a server started again
// without --secret-header still redacts the names its data directory
// keeps, as a local export of that directory does.
func TestRestartedServerRedactsStoredSecretHeaders(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServer(t, "--data", data, "--secret-header", "X-Custom-Cred")
	id := browserCapture(t, s.Capture, "/b/sh/x", `{}`, "X-Custom-Cred", "CUSTCRED_SECRET_F02")
	s.Stop(t)
	s = startServer(t, "--data", data)
	if v := s.exchange(t, id).header("X-Custom-Cred"); v != "REDACTED" {
		t.Errorf("after a restart without the flag, X-Custom-Cred reads %q, want REDACTED (the data directory keeps it secret)", v)
	}
}

// TestDevUIMustHoldTheUI: --dev-ui naming no UI directory (a typo) is
// refused with exit 2, rather than serving a UI of 404s.
func TestDevUIMustHoldTheUI(t *testing.T) {
	t.Parallel()
	var out, errOut syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second) // a start that goes on is a failure too
	defer cancel()
	err := run(ctx, []string{"serve", "--memory", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--dev-ui", filepath.Join(t.TempDir(), "nope")}, func(string) string { return "" }, &out, &errOut)
	if code := exitCode(err); code != 2 {
		t.Fatalf("--dev-ui of a missing directory: exit %d (err %v), want 2; stderr %s", code, err, errOut.String())
	}
}

// TestListenFlagWithoutHost: a bare port given to a listen flag is a usage
// error naming the form wanted, not "reaches beyond this machine" (whose
// advice, --auth, then failed in listen with exit 1).
func TestListenFlagWithoutHost(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"--ui", "4041"},
		{"--ui", "4041", "--auth", "tok"},
		{"--capture", "8081"},
		{"--forward-proxy", "8889"},
	} {
		var out, errOut syncBuffer
		all := append([]string{"serve", "--memory", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--config", os.DevNull}, args...)
		err := run(context.Background(), all, func(string) string { return "" }, &out, &errOut)
		if got := exitCode(err); got != 2 || err == nil || !strings.Contains(err.Error(), "want host:port") || strings.Contains(err.Error(), "beyond") {
			t.Errorf("hooklab serve %s: exit %d (%v), want 2 asking for HOST:PORT", strings.Join(args, " "), got, err)
		}
	}
}

// A data directory may be named with the characters a SQLite URI gives a
// meaning to ('?' starts its query, '#' its fragment, '%' an escape).
// They were put in the "file:" URI as they were, so the database was
// opened somewhere else: a file beside the directory, named with what
// came before the '?' or '#' (both databases in one file, and start
// failed), or a directory named with the escape decoded.
func TestDataDirWithURICharacters(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"q?x=1", "h#frag", "pct%41", "all ?#% ü"} {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dir := filepath.Join(parent, name)
			s := startServer(t, "--data", dir)
			a := s.send(t, "POST", "/b/keep/this", "application/json", []byte(`{"keep":true}`))
			s.Stop(t)
			s2 := startServer(t, "--data", dir)
			if e := s2.exchange(t, a.ID); e.Request.Body != `{"keep":true}` {
				t.Fatalf("after restart: %+v", e)
			}
			s2.Stop(t)
			for _, f := range []string{"hooklab.db", "emit.db"} {
				if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
					t.Error(err)
				}
			}
			entries, err := os.ReadDir(parent)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Name() != name {
				var names []string
				for _, e := range entries {
					names = append(names, e.Name())
				}
				t.Errorf("beside the data directory: %q, want only %q", names, name)
			}
		})
	}
}

// TestRelativeDataDirShownAbsolute: a relative --data is printed at start
// and given in /api/info as the absolute path it is, which means something
// to a client started in another directory.
func TestRelativeDataDirShownAbsolute(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir) // not parallel: the working directory is the process's
	s := startServer(t, "--data", "rel/data")
	want := filepath.Join(dir, "rel", "data")
	if !strings.Contains(s.Stdout.String(), "data: "+filepath.Join(want, "hooklab.db")+"\n") {
		t.Errorf("start printed:\n%s\nwant data: %s", s.Stdout.String(), filepath.Join(want, "hooklab.db"))
	}
	res, err := http.Get(s.UI + "api/info")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var info struct{ Data string }
	if err := json.NewDecoder(res.Body).Decode(&info); err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(info.Data) || !strings.HasPrefix(info.Data, want) {
		t.Errorf("/api/info data %q, want under %s", info.Data, want)
	}
	s.Stop(t)
	// So is the CA of a decrypting forward proxy, which --memory keeps
	// there.
	s = startServer(t, "--memory", "--data", "rel/data", "--mitm", "--forward-proxy", "127.0.0.1:0")
	proxyURL(t, s, "forward-proxy: ") // its line follows those startServer waits for
	if out := s.Stdout.String(); !strings.Contains(out, "decrypts HTTPS with the CA at "+filepath.Join(want, "hooklab-ca.pem")+")") {
		t.Errorf("start printed:\n%s\nwant the CA at %s", out, filepath.Join(want, "hooklab-ca.pem"))
	}
}

// TestTailThroughBasicAuth: a server URL with user info (a UI behind a
// front end asking for basic auth) works for tail as for the other
// commands: the websocket, which takes no user info, gets it as basic
// auth (it was "malformed ws or wss URL").
func TestTailThroughBasicAuth(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	target, _ := url.Parse(s.UI)
	rp := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "fred" || p != "pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="ui"`)
			http.Error(w, "who are you", http.StatusUnauthorized)
			return
		}
		r.Header.Del("Authorization")
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	out, _ := startTail(t, "http://fred:pw@"+strings.TrimPrefix(front.URL, "http://")+"/")
	s.send(t, "POST", "/b/basic/hook", "application/json", []byte(`{"a":1}`))
	waitFor(t, func() bool { return strings.Contains(out.String(), "/b/basic/hook") }, "tail line")
}

// TestHelpGoesToStdout: every command's -h and --help print its usage to
// standard output and exit 0 (hooklab serve -h | less), as help does; a bad
// flag prints its error and where the flags are to standard error, not the
// flags, for replay, export and import too; and an unknown command
// suggests the one it is close to.
func TestHelpGoesToStdout(t *testing.T) {
	t.Parallel()
	for _, cmd := range []string{"serve", "tail", "replay", "export", "import", "send", "check", "schema", "ca", "version", "help"} {
		for _, h := range []string{"-h", "--help"} {
			var out, errOut syncBuffer
			err := run(context.Background(), []string{cmd, h}, func(string) string { return "" }, &out, &errOut)
			if err != nil || !strings.Contains(out.String(), "hooklab") || errOut.String() != "" {
				t.Errorf("hooklab %s %s: err=%v stdout=%q stderr=%q", cmd, h, err, out.String(), errOut.String())
			}
		}
	}
	for _, cmd := range []string{"replay", "export", "import"} {
		var out, errOut syncBuffer
		err := run(context.Background(), []string{cmd, "--bogus"}, func(string) string { return "" }, &out, &errOut)
		want := fmt.Sprintf("flag provided but not defined: -bogus\nrun \"hooklab %s -h\" for its flags\n", cmd)
		if exitCode(err) != 2 || errOut.String() != want || out.String() != "" {
			t.Errorf("hooklab %s --bogus: exit %d, stdout %q, stderr %q, want %q", cmd, exitCode(err), out.String(), errOut.String(), want)
		}
	}
	for arg, want := range map[string]string{"sevre": `did you mean "serve"?`, "exprot": `did you mean "export"?`, "tial": `did you mean "tail"?`} {
		var out, errOut syncBuffer
		err := run(context.Background(), []string{arg}, func(string) string { return "" }, &out, &errOut)
		if exitCode(err) != 2 || !strings.Contains(errOut.String(), want) {
			t.Errorf("hooklab %s: exit %d, stderr %q, want %q", arg, exitCode(err), errOut.String(), want)
		}
	}
}

// TestLocalURL: a listener on every interface is shown at 127.0.0.1, which
// a browser opens and the API's Host check takes; others as they are bound.
func TestLocalURL(t *testing.T) {
	for _, tc := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "http://127.0.0.1:8080/"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8080}, "http://127.0.0.1:8080/"},
		{&net.TCPAddr{Port: 8080}, "http://127.0.0.1:8080/"},
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4040}, "http://127.0.0.1:4040/"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 4040}, "http://[::1]:4040/"},
		{&net.TCPAddr{IP: net.IPv4(192, 168, 1, 5), Port: 80}, "http://192.168.1.5:80/"},
	} {
		if got := localURL(tc.addr); got != tc.want {
			t.Errorf("localURL(%v) = %q, want %q", tc.addr, got, tc.want)
		}
	}
}

// TestAccessLog: the API listener logs each answer once, at a level by its
// status (5xx is Error, 4xx Warn, the rest Debug), without the query, and a
// websocket still upgrades through it.
func TestAccessLog(t *testing.T) {
	s := startServer(t, "--memory", "--log-level", "debug")
	cases := []struct {
		name, method, path string
		want               int
		level              string
	}{
		{"found", http.MethodGet, "/api/exchanges?q=secret-text", http.StatusOK, "DEBUG"},
		{"missing", http.MethodGet, "/api/exchanges/nope", http.StatusNotFound, "WARN"},
		{"bad method", http.MethodPut, "/api/bins", http.StatusMethodNotAllowed, "WARN"},
		{"bad query", http.MethodGet, "/api/exchanges?limit=x", http.StatusBadRequest, "WARN"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, _ := s.api(t, c.method, c.path, nil)
			if resp.StatusCode != c.want {
				t.Fatalf("%s %s: status %d, want %d", c.method, c.path, resp.StatusCode, c.want)
			}
			path, _, _ := strings.Cut(c.path, "?")
			want := fmt.Sprintf("level=%s msg=request component=http method=%s path=%s status=%d ", c.level, c.method, path, c.want)
			// The line is written once the handler has returned, which may be
			// just after the client has read the answer.
			deadline := time.Now().Add(10 * time.Second)
			for !strings.Contains(s.Stderr.String(), want) {
				if time.Now().After(deadline) {
					t.Fatalf("no log line with %q; stderr:\n%s", want, s.Stderr.String())
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	if strings.Contains(s.Stderr.String(), "secret-text") {
		t.Errorf("the access log shows a query:\n%s", s.Stderr.String())
	}

	// The websocket upgrade goes through the logging writer.
	u := "ws" + strings.TrimPrefix(s.UI, "http") + "api/stream"
	conn, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {strings.TrimSuffix(s.UI, "/")}})
	if err != nil {
		t.Fatalf("websocket through the access log: %v (%v)", err, resp)
	}
	conn.Close()
	want := "level=DEBUG msg=request component=http method=GET path=/api/stream status=101 "
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(s.Stderr.String(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q; stderr:\n%s", want, s.Stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestServerFlagForms: every client command's --server (and HOOKLAB_UI)
// takes the UI's address as serve's --ui does: ":PORT" is 127.0.0.1:PORT
// and host:port gets http://. ":PORT" was sent as Host ":PORT", which the
// UI refused (403 "Host \":PORT\" is not allowed").
func TestServerFlagForms(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	s.send(t, "POST", "/b/forms/x", "application/json", []byte(`{"a":1}`))
	u, err := url.Parse(s.UI)
	if err != nil {
		t.Fatal(err)
	}
	port := u.Port()
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer target.Close()
	har := filepath.Join(t.TempDir(), "forms.har")
	noEnv := func(string) string { return "" }
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string // in stdout
	}{
		{"export :PORT", []string{"export", "--har", "-", "--bin", "forms", "--server", ":" + port}, nil, "/b/forms/x"},
		{"export http://:PORT/", []string{"export", "--har", "-", "--bin", "forms", "--server", "http://:" + port + "/"}, nil, "/b/forms/x"},
		{"export 127.0.0.1:PORT", []string{"export", "--har", "-", "--bin", "forms", "--server", "127.0.0.1:" + port}, nil, "/b/forms/x"},
		{"export localhost:PORT", []string{"export", "--har", "-", "--bin", "forms", "--server", "localhost:" + port}, nil, "/b/forms/x"},
		{"export HOOKLAB_UI=:PORT", []string{"export", "--har", "-", "--bin", "forms"}, map[string]string{"HOOKLAB_UI": ":" + port}, "/b/forms/x"},
		{"export to a file :PORT", []string{"export", "--har", har, "--bin", "forms", "--server", ":" + port}, nil, ""},
		{"send :PORT", []string{"send", "ticket.created", "--server", ":" + port}, nil, "invocations"},
		{"replay :PORT", []string{"replay", "--bin", "forms", "--target", target.URL, "--server", ":" + port}, nil, "1 replayed"},
	} {
		var out, errOut syncBuffer
		getenv := noEnv
		if tc.env != nil {
			getenv = func(k string) string { return tc.env[k] }
		}
		if err := run(context.Background(), tc.args, getenv, &out, &errOut); err != nil || !strings.Contains(out.String(), tc.want) {
			t.Errorf("%s: %v\nstdout:\n%.500s\nstderr:\n%s", tc.name, err, out.String(), errOut.String())
		}
	}
	// import reads what export wrote, into another bin.
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"import", har, "--bin", "formsback", "--server", ":" + port}, noEnv, &out, &errOut); err != nil {
		t.Errorf("import --server :PORT: %v\n%s", err, errOut.String())
	}
	tailOut, _ := startTail(t, ":"+port, "--bin", "formsback")
	s.send(t, "POST", "/b/formsback/y", "text/plain", []byte("y"))
	waitFor(t, func() bool { return strings.Contains(tailOut.String(), "/b/formsback/y") }, "tail --server :PORT to print the capture")
}

// TestSubcommandHelp: every command's -h (and help COMMAND) prints to
// standard output a usage line with the arguments the command takes, then
// its flags, and exits 0. send, import and export printed only "Usage of
// hooklab send:" and the flags, with no word of the event type or the file
// they want.
func TestSubcommandHelp(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmd   string
		usage string // the first line
		flags []string
	}{
		{"serve", "Usage: hooklab [serve] [flags]", []string{"-capture address", "-ui address", "-data directory"}},
		{"tail", "Usage: hooklab tail [flags]", []string{"-server URL", "-bin bin", "-json"}},
		{"send", "Usage: hooklab send TYPE [flags]", []string{"-data JSON", "-server URL"}},
		{"import", "Usage: hooklab import FILE.har [flags]", []string{"-bin bin", "-server URL"}},
		{"export", "Usage: hooklab export --har FILE [ID…] [flags]", []string{"-har file", "-since time", "-server URL"}},
		{"replay", "Usage: hooklab replay [ID…] [flags]", []string{"-target URL", "-server URL"}},
		{"check", "Usage: hooklab check [--print] [FILE]", []string{"-print", "-config file"}},
		{"ca", "Usage: hooklab ca [flags]", []string{"-forward-proxy address"}},
		{"schema", "Usage: hooklab schema", nil},
		{"version", "Usage: hooklab version", nil},
	} {
		for _, args := range [][]string{{tc.cmd, "-h"}, {tc.cmd, "--help"}, {"help", tc.cmd}} {
			var out, errOut syncBuffer
			err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
			got := out.String()
			first, _, _ := strings.Cut(got, "\n")
			if err != nil || first != tc.usage || errOut.String() != "" {
				t.Errorf("hooklab %s: err=%v, first line %q, want %q; stderr %q", strings.Join(args, " "), err, first, tc.usage, errOut.String())
				continue
			}
			if len(tc.flags) > 0 && !strings.Contains(got, "\nFlags:\n") {
				t.Errorf("hooklab %s: no \"Flags:\" section:\n%s", strings.Join(args, " "), got)
			}
			for _, f := range tc.flags {
				if !strings.Contains(got, "  "+f+"\n") {
					t.Errorf("hooklab %s: flag %q not listed:\n%s", strings.Join(args, " "), f, got)
				}
			}
		}
	}
}

// TestCheckWithoutConfigFile: hooklab check in a directory with no
// hooklab.yaml (or given a file that is not there) says there is no config
// file and where it looked, and exits 1; it printed "read config: open
// hooklab.yaml: no such file or directory". A file named by its absolute
// path is named once (it said "no config file /x.yaml (looked for
// /x.yaml)"), here and by serve --config. Not parallel: it runs in a
// working directory of its own.
func TestCheckWithoutConfigFile(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	missing := filepath.Join(dir, "other.yaml")
	for _, args := range [][]string{{"--memory", "--config", missing}, {"--memory", "--config", "other.yaml"}} {
		want := "config: no config file " + args[2]
		if args[2] == "other.yaml" {
			want += " (in " + dir + ")"
		}
		err := run(context.Background(), args, func(string) string { return "" }, io.Discard, io.Discard)
		if err == nil || err.Error() != want {
			t.Errorf("hooklab %s: %v; want %q", strings.Join(args, " "), err, want)
		}
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"check"}, "hooklab check: no config file: there is no hooklab.yaml in the working directory (looked for " + filepath.Join(dir, "hooklab.yaml") + ")"},
		{[]string{"check", "--print"}, "hooklab check: no config file: there is no hooklab.yaml in the working directory (looked for " + filepath.Join(dir, "hooklab.yaml") + ")"},
		{[]string{"check", "other.yaml"}, "hooklab check: no config file other.yaml (in " + dir + ")\n"},
		{[]string{"check", "--config", "other.yaml"}, "hooklab check: no config file other.yaml (in " + dir + ")\n"},
		{[]string{"check", filepath.Join(dir, "other.yaml")}, "hooklab check: no config file " + filepath.Join(dir, "other.yaml") + "\n"},
		{[]string{"check", "--config", filepath.Join(dir, "other.yaml")}, "hooklab check: no config file " + filepath.Join(dir, "other.yaml") + "\n"},
		{[]string{"check", dir}, "hooklab check: " + dir + " is a directory, not a config file"},
	} {
		var out, errOut syncBuffer
		err := run(context.Background(), tc.args, func(string) string { return "" }, &out, &errOut)
		if exitCode(err) != 1 || !strings.HasPrefix(errOut.String(), tc.want) || out.String() != "" {
			t.Errorf("hooklab %s: exit %d, stdout %q, stderr %q; want exit 1 and %q", strings.Join(tc.args, " "), exitCode(err), out.String(), errOut.String(), tc.want)
		}
	}
	// Written, the file checks.
	if err := os.WriteFile("hooklab.yaml", []byte("mocks: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"check"}, func(string) string { return "" }, &out, &errOut); err != nil || !strings.HasPrefix(out.String(), "hooklab.yaml: ok") {
		t.Errorf("hooklab check with hooklab.yaml: %v, stdout %q, stderr %q", err, out.String(), errOut.String())
	}
}

// TestBodyFileMissingNamesDirectory: a mock's file: that is not there is
// said with the absolute directory it was looked for in, the config
// file's, also when the config was named relative to the working
// directory: it said "(in .)". Not parallel: it runs in a working
// directory of its own.
func TestBodyFileMissingNamesDirectory(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("conf", 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"hooklab.yaml", filepath.Join("conf", "hooklab.yaml")} {
		if err := os.WriteFile(name, []byte("mocks:\n  - respond: {file: missing.json}\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		args []string
		in   string
	}{
		{[]string{"check"}, dir},
		{[]string{"check", "hooklab.yaml"}, dir},
		{[]string{"check", "conf/hooklab.yaml"}, filepath.Join(dir, "conf")},
	} {
		var out, errOut syncBuffer
		err := run(context.Background(), tc.args, func(string) string { return "" }, &out, &errOut)
		want := "file: missing.json (in " + tc.in + "): no such file or directory"
		if exitCode(err) != 1 || !strings.Contains(errOut.String(), want) {
			t.Errorf("hooklab %s: exit %d, stderr %q; want exit 1 and %q", strings.Join(tc.args, " "), exitCode(err), errOut.String(), want)
		}
	}
}

// TestCheckItemInTheWrongSection: an item written under another section
// than its own (a mock rule appended at the end of a file whose last
// section is triggers: or webhooks:, a trigger or webhook under mocks:) is
// one error saying which section it goes in. It was a wall of unknown keys
// and missing fields of the section it stood in ("trigger new-rule: when
// is required", "unknown key \"match\"; the keys are name, description,
// when, notify"), none saying that it was a mock. An item of its own
// section keeps its errors, and a near-miss key its suggestion.
func TestCheckItemInTheWrongSection(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "hooklab.yaml")
	cfg := `mocks:
  - name: ok
    match: {path: /ok}
    respond: {status: 200}
  - name: t
    when: {event: ticket.created}
    notify: {webhook: w1}
  - id: w2
    endpoint: http://127.0.0.1:3000/x
  - name: typo
    match: {path: /typo}
    respnd: {status: 200}
verify:
  - name: v
    match: {path: /v}
    scheme: github
    secret: abcdefgh
  - name: in-verify
    match: {path: /new}
    respond: {status: 201}
webhooks:
  - {id: w1, endpoint: "http://127.0.0.1:3000/x"}
  - name: in-webhooks
    match: {path: /new}
    sequence: [{status: 503}]
triggers:
  - name: ticket
    when: {event: ticket.created}
    notify: {webhook: w1}
  - name: in-triggers
    match: {path: /new}
    respond: {status: 201, body: '{"new": true}'}
  - {webhook: w1, events: [ticket.updated]}
`
	if err := os.WriteFile(file, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"check", file}, func(string) string { return "" }, &out, &errOut)
	want := strings.Join([]string{
		file + `:5:5: mocks: item 2 (t) is a trigger (it has when, notify): it goes in the triggers: section, not in mocks:`,
		file + `:8:5: mocks: item 3 (w2) is a webhook (it has id, endpoint): it goes in the webhooks: section, not in mocks:`,
		file + `:10:5: mock "typo": set respond or sequence`,
		file + `:12:5: mock "typo": unknown key "respnd" (did you mean "respond"?)`,
		file + `:18:5: verify: item 2 (in-verify) is a mock rule (it has respond): it goes in the mocks: section, not in verify:`,
		file + `:23:5: webhooks: item 2 (in-webhooks) is a mock rule (it has match, sequence): it goes in the mocks: section, not in webhooks:`,
		file + `:30:5: triggers: item 2 (in-triggers) is a mock rule (it has match, respond): it goes in the mocks: section, not in triggers:`,
		file + `:33:5: triggers: item 3 is a subscription (it has webhook, events): it goes in the subscriptions: section, not in triggers:`,
	}, "\n") + "\n"
	if exitCode(err) != 1 || errOut.String() != want {
		t.Errorf("hooklab check: exit %d, stderr:\n%s\nwant exit 1 and:\n%s", exitCode(err), errOut.String(), want)
	}
}

// TestCheckWebhookToOwnAPI: hooklab check refuses a webhook whose endpoint
// is hooklab's own API, at its endpoint's line, as serve and the API
// refuse it: at the port serve's --ui listens on (127.0.0.1:4040 unless
// check's --ui says another). check said ok, and serve took it from the
// file (while the API answered 400), every delivery then refused as sent.
func TestCheckWebhookToOwnAPI(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(file, []byte("webhooks:\n  - id: ok\n    endpoint: http://127.0.0.1:3000/x\n  - id: self\n    endpoint: http://127.0.0.1:4040/hooks\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// A proxy route there is refused too, at the proxy's line, as serve
	// refuses it at start: check passed it.
	proxyFile := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(proxyFile, []byte("proxies:\n  - name: api\n    listen: 127.0.0.1:9100\n    upstream: http://127.0.0.1:4040\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		exit int
		want string // in stderr, or stdout for exit 0
	}{
		{[]string{"check", file}, 1, file + ":5:15: webhook self: endpoint http://127.0.0.1:4040/hooks is hooklab's own API"},
		{[]string{"check", "--ui", "127.0.0.1:4040", file}, 1, file + ":5:15: webhook self: endpoint http://127.0.0.1:4040/hooks is hooklab's own API"},
		{[]string{"check", "--ui", "[::1]:3000", file}, 1, file + ":3:15: webhook ok: endpoint http://127.0.0.1:3000/x is hooklab's own API"},
		{[]string{"check", "--ui", "127.0.0.1:5050", file}, 0, file + ": ok"},
		{[]string{"check", "--ui", "nonsense", file}, 2, `--ui "nonsense": want host:port`},
		{[]string{"check", proxyFile}, 1, proxyFile + ":2:5: proxy api: route /: upstream http://127.0.0.1:4040 is hooklab's own API"},
		{[]string{"check", "--ui", "127.0.0.1:5050", proxyFile}, 0, proxyFile + ": ok"},
	} {
		var out, errOut syncBuffer
		err := run(context.Background(), tc.args, func(string) string { return "" }, &out, &errOut)
		got := errOut.String()
		if tc.exit == 0 {
			got = out.String()
		} else if err != nil {
			got += err.Error()
		}
		if exitCode(err) != tc.exit || !strings.Contains(got, tc.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want exit %d saying %q", tc.args, exitCode(err), out.String(), errOut.String(), tc.exit, tc.want)
		}
	}
}

// TestClientCommandsServerWithAPIPath: send, export, replay and import
// given the API's URL as --server (http://127.0.0.1:4040/api, where the UI's
// address belongs) say that it has no such endpoint and to give the UI's
// address without a path, as tail says; they said "hooklab answered 404:
// no API endpoint /api/api/events" or "server: no API endpoint
// /api/api/replay (404)", leaving the doubled /api to be spotted.
func TestClientCommandsServerWithAPIPath(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	har := filepath.Join(t.TempDir(), "in.har")
	if err := os.WriteFile(har, []byte(`{"log": {"entries": []}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := s.UI + "api"
	for _, tc := range []struct {
		args []string
		path string
	}{
		{[]string{"send", "ticket.created", "--server", srv}, "/api/api/events"},
		{[]string{"export", "--har", filepath.Join(t.TempDir(), "out.har"), "--server", srv}, "/api/api/export.har"},
		{[]string{"replay", "--all", "--target", s.Capture, "--server", srv}, "/api/api/replay"},
		{[]string{"import", har, "--server", srv}, "/api/api/import"},
	} {
		var out, errOut syncBuffer
		err := run(context.Background(), tc.args, func(string) string { return "" }, &out, &errOut)
		want := strings.TrimSuffix(s.UI, "/") + " has no API endpoint " + tc.path + ": give the UI's address without a path, like http://127.0.0.1:4040 (--server or HOOKLAB_UI)"
		if exitCode(err) != 1 || err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("hooklab %s: exit %d, %v (stderr %q); want exit 1 and %q", strings.Join(tc.args, " "), exitCode(err), err, errOut.String(), want)
		}
	}
}

// TestUnknownFlagHint: a flag a command does not have, one edit away from
// one it has (a letter dropped, added, changed, or two swapped), is asked
// about ("did you mean --capture?"), and a --port (or --listen...) is told
// which flags take an address; each said only "flag provided but not
// defined" and where the flags are. Other unknown flags say what they
// said.
func TestUnknownFlagHint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		args []string
		hint string
	}{
		{[]string{"serve", "--captur", "127.0.0.1:0"}, "did you mean --capture?\n"},
		{[]string{"serve", "--memroy"}, "did you mean --memory?\n"},
		{[]string{"serve", "--Capture", "127.0.0.1:0"}, "did you mean --capture?\n"},
		{[]string{"tail", "--JSON"}, "did you mean --json?\n"},
		{[]string{"--port", "9000"}, "hooklab serve listens on two addresses: --capture ADDR for the requests it records (default 127.0.0.1:8080) and --ui ADDR for the UI and API (default 127.0.0.1:4040), such as --capture 127.0.0.1:9000\n"},
		{[]string{"replay", "--targt", "http://127.0.0.1:1"}, "did you mean --target?\n"},
		{[]string{"tail", "--port", "4040"}, "the running hooklab is given by --server, the address of its UI, such as --server :4040 (or HOOKLAB_UI)\n"},
		{[]string{"send", "x", "--dta", "{}"}, "did you mean --data?\n"},
		{[]string{"serve", "--zzz"}, ""},
	} {
		var out, errOut syncBuffer
		err := run(context.Background(), tc.args, func(string) string { return "" }, &out, &errOut)
		name := strings.TrimLeft(tc.args[slices.IndexFunc(tc.args, func(a string) bool { return strings.HasPrefix(a, "--") })], "-")
		cmd := tc.args[0]
		if strings.HasPrefix(cmd, "-") {
			cmd = "serve"
		}
		want := "flag provided but not defined: -" + name + "\n" + tc.hint + "run \"hooklab " + cmd + " -h\" for its flags\n"
		if exitCode(err) != 2 || errOut.String() != want {
			t.Errorf("hooklab %s: exit %d, stderr %q; want exit 2 and %q", strings.Join(tc.args, " "), exitCode(err), errOut.String(), want)
		}
	}
}

// TestReplayRefusesFlagsThatDoNothing: replay refuses (exit 2, saying why)
// --compare-header with --no-headers, and --strip-prefix without --target,
// which it ignored without a word; each flag alone is taken.
func TestReplayRefusesFlagsThatDoNothing(t *testing.T) {
	t.Parallel()
	harFile := filepath.Join(t.TempDir(), "one.har")
	entry := `{"startedDateTime":"2024-01-01T00:00:00Z","time":1,"request":{"method":"GET","url":"http://127.0.0.1:1/api/x","httpVersion":"HTTP/1.1","cookies":[],"headers":[],"queryString":[],"headersSize":-1,"bodySize":0},` +
		`"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","cookies":[],"headers":[],"content":{"size":0,"mimeType":"text/plain"},"redirectURL":"","headersSize":-1,"bodySize":0},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}`
	if err := os.WriteFile(harFile, []byte(`{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[`+entry+`]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string {
		if k == "HOOKLAB_UI" {
			return "http://127.0.0.1:1"
		}
		return ""
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	target := srv.URL
	for _, tc := range []struct {
		args []string
		want string // on stderr; "" for a run that is taken (exit 0)
	}{
		{[]string{"--no-headers", "--compare-header", "ETag", "--target", target}, "hooklab replay: --compare-header ETag compares a header, and --no-headers compares none: give one or the other\n"},
		{[]string{"--compare-header", "ETag", "--target", target}, ""},
		{[]string{"--no-headers", "--target", target}, ""},
		{[]string{"--strip-prefix", "/api"}, "hooklab replay: --strip-prefix /api shortens the path put after --target's, and there is no --target: give --target URL, or leave --strip-prefix out\n"},
		{[]string{"--strip-prefix", "/api", "--target", target}, ""},
	} {
		args := append([]string{"replay", "--har", harFile}, tc.args...)
		var out, errOut syncBuffer
		err := run(context.Background(), args, getenv, &out, &errOut)
		wantCode := 0
		if tc.want != "" {
			wantCode = 2
		}
		if exitCode(err) != wantCode || (tc.want != "" && errOut.String() != tc.want) {
			t.Errorf("hooklab %s: exit %d (%v), stderr %q; want exit %d, %q", strings.Join(args, " "), exitCode(err), err, errOut.String(), wantCode, tc.want)
		}
	}
}

// TestStreamSaysWhatRetentionDeleted: retention's deletes reach the live
// stream, one message a pass, whatever the client's filter, and the bound
// it gives takes out of what a client holds exactly the exchanges that are
// gone. The stream said nothing: an open page kept listing exchanges that
// no longer existed until it was reloaded.
func TestStreamSaysWhatRetentionDeleted(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"--memory", "--data"} {
		t.Run(strings.TrimPrefix(mode, "--"), func(t *testing.T) {
			t.Parallel()
			args := []string{"--retain-count", "3", mode}
			if mode == "--data" {
				args = append(args, t.TempDir())
			}
			s := startServer(t, args...)
			u := "ws" + strings.TrimPrefix(s.UI, "http") + "api/stream?bin=kept"
			conn, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {strings.TrimSuffix(s.UI, "/")}})
			if err != nil {
				t.Fatalf("dial: %v (%v)", err, resp)
			}
			defer conn.Close()
			var hello map[string]any
			if err := conn.ReadJSON(&hello); err != nil || hello["type"] != "hello" {
				t.Fatalf("first message %v, %v", hello, err)
			}
			const n = 8
			var sent []string
			for i := range n {
				sent = append(sent, s.send(t, "POST", fmt.Sprintf("/b/kept/%d", i), "application/json", []byte(`{}`)).ID)
			}
			// The client: it holds what streams in and drops what a
			// retained message says is gone.
			var held, streamed []string
			retained := 0
			for !slices.Equal(held, sent[n-3:]) {
				conn.SetReadDeadline(time.Now().Add(30 * time.Second))
				var m struct {
					Type     string          `json:"type"`
					Exchange inspect.Summary `json:"exchange"`
					Deleted  *int            `json:"deleted"`
					From     *string         `json:"from"`
					Before   *string         `json:"before"`
					Kept     []string        `json:"kept"`
				}
				if err := conn.ReadJSON(&m); err != nil {
					t.Fatalf("read: %v; the client holds %v, want %v (%d retained messages)", err, held, sent[n-3:], retained)
				}
				switch m.Type {
				case "exchange":
					held = append(held, m.Exchange.ID)
					streamed = append(streamed, m.Exchange.ID)
				case "retained":
					retained++
					if m.Deleted == nil || *m.Deleted < 1 || m.From == nil || m.Before == nil || m.Kept == nil {
						t.Fatalf("retained message %+v: want deleted ≥ 1, from, before and kept", m)
					}
					held = slices.DeleteFunc(held, func(id string) bool {
						return id >= *m.From && id < *m.Before && !slices.Contains(m.Kept, id)
					})
					// Exactly the oldest are gone: the newest three of
					// those streamed so far are what the store keeps.
					if want := streamed[max(0, len(streamed)-3):]; !slices.Equal(held, want) {
						t.Fatalf("after retained %+v the client holds %v, want %v", m, held, want)
					}
				}
			}
			if retained > n-3 {
				t.Errorf("%d retained messages for %d passes at most", retained, n-3)
			}
			r, b := s.api(t, "GET", "/api/exchanges?bin=kept", nil)
			var page struct{ Exchanges []inspect.Summary }
			if err := json.Unmarshal(b, &page); err != nil || r.StatusCode != http.StatusOK {
				t.Fatalf("list: %d %s", r.StatusCode, b)
			}
			var ids []string
			for _, x := range page.Exchanges {
				ids = append(ids, x.ID)
			}
			slices.Reverse(ids)
			if !slices.Equal(ids, held) {
				t.Errorf("the API lists %v, the client holds %v", ids, held)
			}
		})
	}
}

// TestStreamSaysWhatIsDeleted: a delete or a clear through the API is sent
// on the stream, to a client filtering another bin too, so that other
// pages take the exchanges out; the stream said nothing of them.
func TestStreamSaysWhatIsDeleted(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	id := s.send(t, "POST", "/b/one/x", "application/json", []byte(`{}`)).ID
	u := "ws" + strings.TrimPrefix(s.UI, "http") + "api/stream?bin=other"
	conn, resp, err := websocket.DefaultDialer.Dial(u, http.Header{"Origin": {strings.TrimSuffix(s.UI, "/")}})
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, resp)
	}
	defer conn.Close()
	next := func() map[string]any {
		t.Helper()
		conn.SetReadDeadline(time.Now().Add(30 * time.Second))
		for {
			var m map[string]any
			if err := conn.ReadJSON(&m); err != nil {
				t.Fatalf("read: %v", err)
			}
			switch m["type"] {
			case "hello", "deleted", "cleared":
				return m
			} // another feature's message ("store", "rules"): not this test's
		}
	}
	if m := next(); m["type"] != "hello" {
		t.Fatalf("first message %v", m)
	}
	if r, b := s.api(t, "DELETE", "/api/exchanges/"+strings.ToLower(id), nil); r.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.StatusCode, b)
	}
	if m := next(); m["type"] != "deleted" || m["id"] != id {
		t.Errorf("after a delete: %v, want deleted %s", m, id)
	}
	if r, b := s.api(t, "DELETE", "/api/exchanges?bin=one", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("clear: %d %s", r.StatusCode, b)
	}
	if m := next(); m["type"] != "cleared" || m["bin"] != "one" {
		t.Errorf("after a clear of bin one: %v", m)
	}
	if r, b := s.api(t, "DELETE", "/api/exchanges", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("clear all: %d %s", r.StatusCode, b)
	}
	if m := next(); m["type"] != "cleared" || m["bin"] != nil {
		t.Errorf("after a clear of every bin: %v", m)
	}
}

// TestFlagErrorBeforeConfig: a wrong flag value is said as such (exit 2)
// when hooklab.yaml in the working directory is broken too: the config's
// errors hid it, so the user fixed the file only to meet the flag next.
func TestFlagErrorBeforeConfig(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "hooklab.yaml"), []byte("mocks:\n  - name: x\n    match: {pathh: /a}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir) // not parallel: the working directory is the process's
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--proxy", "127.0.0.1:0"}, `--proxy "127.0.0.1:0": want LISTEN=UPSTREAM`},
		{[]string{"--proxy", "127.0.0.1:0=ftp://x"}, "--proxy \"127.0.0.1:0=ftp://x\": the upstream must be an http or https URL"},
		{[]string{"--simulate-miss", "maybe"}, "--simulate-miss:"},
		{[]string{"--simulate-ignore-query", "[x"}, `--simulate-ignore-query "[x": want a glob`},
		{[]string{"--forward-proxy", "0.0.0.0:0"}, "--forward-proxy:"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			var out, errOut syncBuffer
			args := append([]string{"serve", "--memory", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0"}, tc.args...)
			err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), tc.want) || exitCode(err) != 2 {
				t.Errorf("err = %v (exit %d), want a usage error containing %q", err, exitCode(err), tc.want)
			}
		})
	}
}

// TestServerQuerySecretShownRedacted: a client command's --server (or
// HOOKLAB_UI) with a query is refused, quoting it with the values of its
// secret-named query parameters REDACTED, as its password: the usage
// error quoted ?token= as given.
func TestServerQuerySecretShownRedacted(t *testing.T) {
	t.Parallel()
	const secret = "SRVs3cret42"
	srv := "http://u:PWs3cret@127.0.0.1:1/?token=" + secret
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
	}{
		{"tail", []string{"tail", "--server", srv}, nil},
		{"send", []string{"send", "ticket.created", "--server", srv}, nil},
		{"replay", []string{"replay", "--all", "--target", "http://127.0.0.1:1", "--server", srv}, nil},
		{"export", []string{"export", "--har", filepath.Join(dir, "x.har"), "--server", srv}, nil},
		{"HOOKLAB_UI", []string{"tail"}, map[string]string{"HOOKLAB_UI": srv}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut syncBuffer
			err := run(context.Background(), tc.args, func(k string) string { return tc.env[k] }, &out, &errOut)
			msg := fmt.Sprint(err) + errOut.String() + out.String()
			if exitCode(err) != 2 || strings.Contains(msg, secret) || strings.Contains(msg, "PWs3cret") || !strings.Contains(msg, "token=REDACTED") {
				t.Errorf("exit %d: %s\nwant a usage error quoting the server with token=REDACTED", exitCode(err), msg)
			}
		})
	}
}

// TestNotFoundQuotesIDAsSent: a 404 for an id names it as the client
// wrote it: the exchange and invocation routes take ids in either case,
// and quoted them upper-cased, an id the client never sent.
func TestNotFoundQuotesIDAsSent(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	const lower = "01m92h03k9ec5qx36bryx1fe1m" // 26 characters, as the API's ids
	for _, tc := range []struct{ method, path, id string }{
		{"GET", "api/exchanges/" + lower, lower},
		{"GET", "api/exchanges/" + lower + "/raw", lower},
		{"GET", "api/exchanges/" + lower + "/curl", lower},
		{"GET", "api/exchanges/" + lower + "/decoded?part=request", lower},
		{"DELETE", "api/exchanges/" + lower, lower},
		{"GET", "api/exchanges/xyz", "xyz"},
		{"GET", "api/invocations/" + lower, lower},
		{"GET", "api/invocations/Inv_1", "Inv_1"},
		{"POST", "api/invocations/" + lower + "/retry", lower},
		{"GET", "api/webhooks/ABC", "ABC"},
		{"GET", "api/replay/" + lower, lower},
	} {
		req, err := http.NewRequest(tc.method, s.UI+tc.path, nil)
		if err != nil {
			t.Fatal(err)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		var e struct{ Error string }
		if err := json.Unmarshal(b, &e); err != nil || res.StatusCode != http.StatusNotFound {
			t.Errorf("%s /%s: %d %s, want a 404 with an error", tc.method, tc.path, res.StatusCode, b)
			continue
		}
		if !strings.Contains(e.Error, tc.id) {
			t.Errorf("%s /%s: error %q does not quote the id as sent, %s", tc.method, tc.path, e.Error, tc.id)
		}
	}
}

// TestClientCommandsNoEndpointWithoutPath: a server given without a path
// that has no API endpoint the command needs (an older hooklab, without
// it) is not told to drop a path it does not have: its answer is said as
// it is. A path before /api is told, as TestClientCommandsServerWithAPIPath
// checks.
func TestClientCommandsNoEndpointWithoutPath(t *testing.T) {
	t.Parallel()
	old := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "hooklab")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, `{"error": "no API endpoint %s"}`, r.URL.Path)
	}))
	t.Cleanup(old.Close)
	har := filepath.Join(t.TempDir(), "in.har")
	if err := os.WriteFile(har, []byte(`{"log": {"entries": []}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		path string
	}{
		{[]string{"send", "ticket.created", "--server", old.URL}, "/api/events"},
		{[]string{"import", har, "--server", old.URL}, "/api/import"},
	} {
		var out, errOut syncBuffer
		err := run(context.Background(), tc.args, func(string) string { return "" }, &out, &errOut)
		if exitCode(err) != 1 || err == nil || strings.Contains(err.Error(), "without a path") || !strings.Contains(err.Error(), "no API endpoint "+tc.path) {
			t.Errorf("hooklab %s: exit %d, %v; want exit 1 saying no API endpoint %s, and nothing of a path", strings.Join(tc.args, " "), exitCode(err), err, tc.path)
		}
	}
}

// TestClientsSayWhatIsNotAnID: replay and export take exchange ids as
// arguments; a bin's name or a HAR file written without its flag is refused
// as called wrongly (exit 2), naming the flag, where the server answered
// "exchange stripe: not found (404)" as if an exchange had gone.
func TestClientsSayWhatIsNotAnID(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	ack := s.send(t, "POST", "/b/stripe/x", "application/json", []byte(`{}`))
	env := map[string]string{"HOOKLAB_UI": strings.TrimSuffix(s.UI, "/")}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", "stripe", "--target", "http://127.0.0.1:1"}, `hooklab replay: "stripe" is not an exchange id (26 letters and digits, such as 01M8M8R7863Y9RVZKPW2KWHE7R): a bin is --bin stripe`},
		{[]string{"replay", "fixtures.har", "--target", "http://127.0.0.1:1"}, `a HAR file to replay is --har fixtures.har`},
		{[]string{"export", "--har", "-", "stripe"}, `hooklab export: "stripe" is not an exchange id (26 letters and digits, such as 01M8M8R7863Y9RVZKPW2KWHE7R): a bin is --bin stripe`},
		{[]string{"export", "--har", "-", ack.ID, "out.har"}, `the file to write is --har out.har`},
		{[]string{"export", "--har", "-", "two words"}, `"two words" is not an exchange id (26 letters and digits, such as 01M8M8R7863Y9RVZKPW2KWHE7R): a bin is --bin NAME`},
	} {
		var out, errOut syncBuffer
		err := run(context.Background(), tc.args, func(k string) string { return env[k] }, &out, &errOut)
		if exitCode(err) != 2 || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("hooklab %q: exit %d (%v), stderr %q; want exit 2 and %q", tc.args, exitCode(err), err, errOut.String(), tc.want)
		}
	}
	// An id in lower case is an id.
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"export", "--har", "-", strings.ToLower(ack.ID)}, func(k string) string { return env[k] }, &out, &errOut); err != nil || !strings.Contains(out.String(), ack.ID) {
		t.Errorf("export of a lower-case id: %v %q %.200q", err, errOut.String(), out.String())
	}
}

// TestAPIUnknownFieldSuggests: a JSON body's key one edit away from a
// field of its object is answered with the field meant, as the config
// file's unknown keys are: the API said only `unknown field "endpiont"`.
func TestAPIUnknownFieldSuggests(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	for _, tc := range []struct{ path, body, want string }{
		{"/api/webhooks", `{"id": "x", "endpiont": "http://127.0.0.1:1/h"}`, `endpiont: unknown field \"endpiont\" (did you mean \"endpoint\"?)`},
		{"/api/webhooks", `{"id": "x", "endpoint": "http://127.0.0.1:1/h", "authentication": {"type": "basic_auth", "usernme": "a", "password": "b"}}`, `authentication.usernme: unknown field \"usernme\" (did you mean \"username\"?)`},
		{"/api/events", `{"type": "a.b", "dat": {}}`, `dat: unknown field \"dat\" (did you mean \"data\"?)`},
		{"/api/replay", `{"filter": {}, "targte": "http://127.0.0.1:1"}`, `(did you mean \"target\"?)`},
		{"/api/webhooks", `{"id": "x", "zzz": 1}`, `zzz: unknown field \"zzz\""`},
	} {
		resp, b := s.api(t, "POST", tc.path, strings.NewReader(tc.body))
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), tc.want) {
			t.Errorf("POST %s %s: %d %s; want 400 with %s", tc.path, tc.body, resp.StatusCode, b, tc.want)
		}
	}
}
