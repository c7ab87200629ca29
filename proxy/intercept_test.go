package proxy_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/proxy"
	"github.com/hooklab/hooklab/rules"
)

// ruleHook is a small stand-in for main's mock engine: it answers with the
// first mock rule that matches, as the engine's Plan and Write would.
type ruleHook struct {
	cfg   *rules.Config
	calls atomic.Int64
}

func (h *ruleHook) intercept(r *http.Request, req *rules.Request, ex *inspect.Exchange) func(http.ResponseWriter) {
	h.calls.Add(1)
	m, params := h.cfg.MatchMock(req)
	if m == nil {
		return nil
	}
	body, err := m.Respond.RenderBody(rules.RequestVars(req, params))
	if err != nil {
		panic(err)
	}
	ex.Rule = m.Name
	ex.Response = &inspect.Response{Status: m.Respond.Status, Body: body, Size: int64(len(body))}
	return func(w http.ResponseWriter) {
		w.WriteHeader(m.Respond.Status)
		w.Write(body)
	}
}

func parseConfig(t *testing.T, src string) *rules.Config {
	t.Helper()
	cfg, err := rules.Parse([]byte(src), "hooklab.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestPartialMocking(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "upstream %s %s", r.URL.Path, b)
	}))
	defer up.Close()
	hook := &ruleHook{cfg: parseConfig(t, `
mocks:
  - name: big-payment
    proxy: api
    match:
      method: POST
      path: /pay
      json: [{path: amount, op: gt, value: 100}]
    respond: {status: 402, body: 'declined {{request.json.amount}}'}
  - name: other-proxy
    proxy: billing
    respond: {status: 500}
`)}
	srv, rec := start(t, up.URL, func(o *proxy.Options) {
		o.Intercept = hook.intercept
		o.Rules = func() *rules.Config { return hook.cfg }
	})
	for _, tc := range []struct {
		name, path, body string
		status           int
		want, rule       string
	}{
		{"rule answers", "/pay", `{"amount": 250}`, 402, "declined 250", "big-payment"},
		{"rule misses, upstream answers with the whole body", "/pay", `{"amount": 5}`, 200, `upstream /pay {"amount": 5}`, ""},
		{"other path", "/orders", `x`, 200, "upstream /orders x", ""},
	} {
		resp, err := http.Post(srv.URL+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || string(b) != tc.want {
			t.Errorf("%s: %d %q, want %d %q", tc.name, resp.StatusCode, b, tc.status, tc.want)
		}
		ex := rec.next(t)
		if ex.Rule != tc.rule || string(ex.Request.Body) != tc.body || ex.Response.Status != tc.status || string(ex.Response.Body) != tc.want {
			t.Errorf("%s: recorded rule %q body %q response %d %q", tc.name, ex.Rule, ex.Request.Body, ex.Response.Status, ex.Response.Body)
		}
		if (tc.rule == "") != (ex.Meta["upstream"] != nil) {
			t.Errorf("%s: upstream %v", tc.name, ex.Meta["upstream"])
		}
	}

	// A gzip-encoded body is matched decoded (it matched no json
	// condition); the upstream gets it as it came when no rule answers.
	for _, tc := range []struct {
		amount int
		status int
		rule   string
	}{{250, 402, "big-payment"}, {5, 200, ""}} {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		fmt.Fprintf(zw, `{"amount": %d}`, tc.amount)
		zw.Close()
		req, _ := http.NewRequest("POST", srv.URL+"/pay", bytes.NewReader(gz.Bytes()))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Content-Encoding", "gzip")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		ex := rec.next(t)
		if resp.StatusCode != tc.status || ex.Rule != tc.rule || !bytes.Equal(ex.Request.Body, gz.Bytes()) {
			t.Errorf("gzipped amount %d: %d %q rule %q; want %d by rule %q, the body recorded as it came", tc.amount, resp.StatusCode, b, ex.Rule, tc.status, tc.rule)
		}
		if tc.rule == "" && !bytes.Equal(b, append([]byte("upstream /pay "), gz.Bytes()...)) {
			t.Errorf("gzipped amount %d: the upstream got %q, want the gzipped bytes", tc.amount, b)
		}
	}

	// A config whose mocks are for other proxies: the hook is not asked and
	// the body streams without being buffered for it.
	hook.cfg = parseConfig(t, "mocks:\n  - {proxy: billing, respond: {status: 500}}\n")
	before := hook.calls.Load()
	resp, err := http.Post(srv.URL+"/pay", "application/json", strings.NewReader(`{"amount": 250}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	rec.next(t)
	if resp.StatusCode != 200 || hook.calls.Load() != before {
		t.Errorf("status %d, hook called %d times with no rules for this proxy", resp.StatusCode, hook.calls.Load()-before)
	}
}

// A body over MaxBody is matched on its start and still reaches the
// upstream whole.
func TestInterceptLargeBodyPassesWhole(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, n)
	}))
	defer up.Close()
	var seen int
	srv, rec := start(t, up.URL, func(o *proxy.Options) {
		o.MaxBody = 1000
		o.Intercept = func(r *http.Request, req *rules.Request, ex *inspect.Exchange) func(http.ResponseWriter) {
			seen = len(req.Body)
			return nil
		}
	})
	resp, err := http.Post(srv.URL+"/up", "application/octet-stream", bytes.NewReader(make([]byte, 5000)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	ex := rec.next(t)
	if string(b) != "5000" || seen != 1000 || ex.Request.Size != 5000 || !ex.Request.Truncated {
		t.Errorf("upstream got %s, rules saw %d, recorded size %d truncated %v", b, seen, ex.Request.Size, ex.Request.Truncated)
	}
}

func TestRouteFaults(t *testing.T) {
	t.Parallel()
	var hits atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		fmt.Fprint(w, strings.Repeat("x", 40))
	}))
	t.Cleanup(up.Close) // the subtests run after this function returns
	for _, tc := range []struct {
		name  string
		route proxy.Route
		check func(t *testing.T, resp *http.Response, err error, took time.Duration)
		error string // recorded
	}{
		{"fail_rate 1 answers 503", proxy.Route{FailRate: 1}, func(t *testing.T, resp *http.Response, err error, _ time.Duration) {
			if err != nil || resp.StatusCode != 503 {
				t.Fatalf("%v %v", resp, err)
			}
			var m map[string]string
			if json.NewDecoder(resp.Body).Decode(&m) != nil || !strings.Contains(m["error"], "fail_rate") {
				t.Errorf("body %v", m)
			}
		}, "injected failure"},
		{"reset", proxy.Route{Fault: rules.FaultReset}, func(t *testing.T, resp *http.Response, err error, _ time.Duration) {
			if err == nil {
				t.Fatalf("status %d, want a broken connection", resp.StatusCode)
			}
		}, "fault injected: reset"},
		{"garbage", proxy.Route{Fault: rules.FaultGarbage}, func(t *testing.T, resp *http.Response, err error, _ time.Duration) {
			if err == nil {
				t.Fatalf("status %d, want a malformed response", resp.StatusCode)
			}
		}, "fault injected: garbage"},
		{"empty", proxy.Route{Fault: rules.FaultEmpty}, func(t *testing.T, resp *http.Response, err error, _ time.Duration) {
			if err == nil {
				_, err = io.ReadAll(resp.Body)
			}
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("got %v, want an unexpected EOF", err)
			}
		}, "fault injected: empty"},
		{"timeout", proxy.Route{Fault: rules.FaultTimeout}, func(t *testing.T, resp *http.Response, err error, took time.Duration) {
			if err == nil || took < 200*time.Millisecond {
				t.Fatalf("%v after %v, want the client's timeout", err, took)
			}
		}, "fault injected: timeout"},
		{"delay", proxy.Route{Delay: rules.Delay{Min: 150 * time.Millisecond, Max: 150 * time.Millisecond}}, func(t *testing.T, resp *http.Response, err error, took time.Duration) {
			if err != nil || resp.StatusCode != 200 || took < 150*time.Millisecond {
				t.Fatalf("%v %v after %v", resp, err, took)
			}
		}, ""},
		{"drip", proxy.Route{Fault: rules.FaultDrip, DripRate: 100}, func(t *testing.T, resp *http.Response, err error, took time.Duration) {
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			b, _ := io.ReadAll(resp.Body)
			if len(b) != 40 || took+time.Since(start) < 300*time.Millisecond { // 40 B at 100 B/s
				t.Fatalf("%d bytes in %v", len(b), took+time.Since(start))
			}
		}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rt := tc.route
			rt.Prefix, rt.Upstream = "/", mustURL(t, up.URL)
			srv, rec := start(t, up.URL, func(o *proxy.Options) { o.Routes = []proxy.Route{rt} })
			c := &http.Client{Timeout: 300 * time.Millisecond, Transport: &http.Transport{DisableKeepAlives: true}}
			if tc.name == "drip" || tc.name == "delay" {
				c.Timeout = 5 * time.Second
			}
			start := time.Now()
			resp, err := c.Get(srv.URL + "/x")
			tc.check(t, resp, err, time.Since(start))
			if resp != nil {
				resp.Body.Close()
			}
			ex := rec.next(t)
			if !strings.HasPrefix(ex.Error, tc.error) || (tc.error == "" && ex.Error != "") {
				t.Errorf("recorded error %q, want %q", ex.Error, tc.error)
			}
			if rt.Fault != "" && ex.Meta["fault"] != string(rt.Fault) {
				t.Errorf("meta %v", ex.Meta)
			}
			// The exchange ends when the client has the answer: the
			// drip's last bytes are due 400 ms after its first.
			if tc.name == "drip" && (ex.Duration < 400*time.Millisecond || ex.Response.Size != 40) {
				t.Errorf("recorded %v, %d bytes; the drip takes 400 ms", ex.Duration, ex.Response.Size)
			}
		})
	}
}

func TestFailRateShare(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	srv, _ := start(t, up.URL, func(o *proxy.Options) {
		o.Routes = []proxy.Route{{Prefix: "/", Upstream: mustURL(t, up.URL), FailRate: 0.5}}
		o.Record = nil
	})
	failed := 0
	const n = 400
	// A client of its own: httptest.Server.Close closes the idle
	// connections of http.DefaultTransport, and a parallel test's close
	// broke one of these 400 requests ("CloseIdleConnections called").
	c := &http.Client{Transport: &http.Transport{}}
	defer c.CloseIdleConnections()
	for range n {
		resp, err := c.Get(srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == 503 {
			failed++
		}
	}
	if failed < n/4 || failed > 3*n/4 {
		t.Errorf("%d of %d failed with fail_rate 0.5", failed, n)
	}
}

// A store slower than the traffic slows the traffic instead of piling up
// exchanges in memory: with room for 2 pending recordings and a store
// that takes none, 2 of 3 requests finish and the third waits, at the
// upstream's answer, until the store takes one.
func TestRecordingBackpressure(t *testing.T) {
	t.Parallel()
	var served atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		fmt.Fprint(w, "ok")
	}))
	defer up.Close()
	release := make(chan struct{})
	var entered, stored atomic.Int64
	srv, _ := start(t, up.URL, func(o *proxy.Options) {
		o.MaxPending = 2
		o.Record = func(context.Context, *inspect.Exchange) error {
			entered.Add(1)
			<-release
			stored.Add(1)
			return nil
		}
	})
	done := make(chan int, 3)
	for i := range 3 {
		go func() {
			resp, err := http.Get(srv.URL)
			if err == nil {
				io.ReadAll(resp.Body)
				resp.Body.Close()
			}
			done <- i
		}()
	}
	// Two finish, however long a loaded machine takes.
	for range 2 {
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("fewer than 2 requests finished in a minute with room for 2 pending recordings")
		}
	}
	// The third has had its answer from the upstream; it does not finish
	// while both places are taken (nor is a third recording started).
	waitUntil(t, "the upstream to answer the third request", func() bool { return served.Load() == 3 })
	select {
	case <-done:
		t.Fatal("3 requests finished with room for 2 pending recordings")
	case <-time.After(500 * time.Millisecond):
	}
	if n := entered.Load(); n > 2 {
		t.Fatalf("%d recordings under way, want at most 2 (MaxPending)", n)
	}
	close(release)
	select {
	case <-done:
	case <-time.After(time.Minute):
		t.Fatal("the third request never finished")
	}
	waitUntil(t, "3 exchanges stored", func() bool { return stored.Load() == 3 })
}

// waitUntil waits for cond, for at most a minute.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestPartialMockingEncodedSlash: a proxy's mock rule takes a path
// segment holding an encoded slash whole in a parameter, as capture's do
// (GitLab's /projects/group%2Fproject went to the upstream).
func TestPartialMockingEncodedSlash(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "upstream %s", r.URL.EscapedPath())
	}))
	defer up.Close()
	hook := &ruleHook{cfg: parseConfig(t, `
mocks:
  - name: project
    proxy: api
    match: {path: "/projects/{id}"}
    respond: {status: 200, body: 'mock {{ request.params.id }}'}
`)}
	srv, rec := start(t, up.URL, func(o *proxy.Options) {
		o.Intercept = hook.intercept
		o.Rules = func() *rules.Config { return hook.cfg }
	})
	resp, err := http.Get(srv.URL + "/projects/group%2Fproject")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ex := rec.next(t); string(b) != "mock group/project" || ex.Rule != "project" {
		t.Errorf("GET /projects/group%%2Fproject: %q by rule %q, want %q by project", b, ex.Rule, "mock group/project")
	}
}

// TestInterceptExpectContinueOnce: a body read for mock rules has had its
// 100 Continue from hooklab, so the upstream is not asked for another; the
// client got two, and an upstream that sends none made the proxy wait a
// second before it sent the body it held.
func TestInterceptExpectContinueOnce(t *testing.T) {
	t.Parallel()
	var expect atomic.Value
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		expect.Store(r.Header.Get("Expect"))
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "upstream %s", b)
	}))
	defer up.Close()
	hook := &ruleHook{cfg: parseConfig(t, `
mocks:
  - name: other
    proxy: api
    match: {path: /mocked}
    respond: {status: 418}
`)}
	srv, rec := start(t, up.URL, func(o *proxy.Options) {
		o.Intercept = hook.intercept
		o.Rules = func() *rules.Config { return hook.cfg }
	})
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || line != "HTTP/1.1 100 Continue\r\n" {
		t.Fatalf("first line %q, %v", line, err)
	}
	io.WriteString(c, "hello")
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(rest), "100 Continue"); n != 0 || !strings.HasSuffix(string(rest), "upstream hello") {
		t.Errorf("after the first 100 Continue (%d more):\n%s", n, rest)
	}
	if got := expect.Load(); got != "" {
		t.Errorf("the upstream was sent Expect: %q", got)
	}
	if ex := rec.next(t); string(ex.Request.Body) != "hello" || ex.Response.Status != 200 {
		t.Errorf("recorded %q %d", ex.Request.Body, ex.Response.Status)
	}
}

// TestDripClientGoneRecorded: a client that leaves while the drip still
// holds bytes the upstream sent whole is recorded as gone, not as answered.
func TestDripClientGoneRecorded(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, strings.Repeat("x", 2000)) // one read, with its end
	}))
	defer up.Close()
	srv, rec := start(t, up.URL, func(o *proxy.Options) {
		o.Routes = []proxy.Route{{Prefix: "/", Upstream: mustURL(t, up.URL), Fault: rules.FaultDrip, DripRate: 100}}
	})
	resp, err := http.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close() // 20 s before the drip would end
	ex := rec.next(t)
	if !strings.HasPrefix(ex.Error, inspect.AnswerLeftError) || !strings.HasSuffix(ex.Error, "(of 2000)") || ex.Response.Size != 2000 {
		t.Errorf("recorded %q, %d bytes", ex.Error, ex.Response.Size)
	}
}
