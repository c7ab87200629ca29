package proxy_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/inspect/har"
	"github.com/hooklab/hooklab/proxy"
)

// recordSession sends requests through a recording proxy to a live
// upstream and returns the session as HAR.
func recordSession(t *testing.T, send func(base string)) []byte {
	t.Helper()
	var n atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Call", fmt.Sprint(n.Add(1)))
		fmt.Fprintf(w, `{"call":%d,"method":%q,"uri":%q,"body":%q}`, n.Load(), r.Method, r.URL.RequestURI(), b)
	}))
	defer up.Close()
	srv, rec := start(t, up.URL, nil)
	send(srv.URL)
	srv.Close()
	var exs []*inspect.Exchange
	for range n.Load() {
		exs = append(exs, rec.next(t))
	}
	// Recordings are stored concurrently; the HAR is in arrival order.
	for i := 1; i < len(exs); i++ {
		for j := i; j > 0 && exs[j].ID < exs[j-1].ID; j-- {
			exs[j], exs[j-1] = exs[j-1], exs[j]
		}
	}
	b, err := json.Marshal(har.New(exs, har.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func do(t *testing.T, method, url, body string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestSimulateFromRecordedHAR(t *testing.T) {
	t.Parallel()
	post := func(base, body string) {
		http.Post(base+"/orders", "application/json", strings.NewReader(body))
	}
	data := recordSession(t, func(base string) {
		for range 3 {
			resp, err := http.Get(base + "/items?page=1&ts=111")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		post(base, `{"sku":"a","qty":1,"meta":{"request_id":"r1","source":"web"}}`)
		post(base, `{"sku":"b","qty":3,"meta":{"request_id":"r2","source":"web"}}`)
	})
	sim, err := proxy.ParseSimulation("session.har", data, proxy.SimulateOptions{
		IgnoreQuery: []string{"ts"}, IgnoreBody: []string{"meta.request_id"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sim.Len() != 5 {
		t.Fatalf("%d entries", sim.Len())
	}
	// The real upstream is gone: everything comes from the recording.
	down := "http://127.0.0.1:1"
	srv, rec := start(t, down, func(o *proxy.Options) {
		o.Routes = []proxy.Route{{Prefix: "/", Upstream: mustURL(t, down), Simulation: sim}}
	})

	t.Run("repeats in recorded order, then the last again", func(t *testing.T) {
		for i, want := range []string{"1", "2", "3", "3"} {
			code, body, h := do(t, "GET", srv.URL+"/items?ts=999&page=1", "")
			if code != 200 || h.Get("X-Call") != want || !strings.Contains(body, `"call":`+want) {
				t.Errorf("GET #%d: %d X-Call %s %s, want call %s", i+1, code, h.Get("X-Call"), body, want)
			}
			ex := rec.next(t)
			sm, _ := ex.Meta["simulate"].(map[string]any)
			if ex.Response.Status != 200 || sm["entry"] == nil || ex.Meta["upstream"] != nil {
				t.Errorf("recorded %v", ex.Meta)
			}
		}
	})

	t.Run("JSON compared structurally, ignored fields left out", func(t *testing.T) {
		code, body, _ := do(t, "POST", srv.URL+"/orders", `{ "meta": {"source": "web", "request_id": "new"}, "qty": 3.0, "sku": "b" }`)
		if code != 200 || !strings.Contains(body, `"call":5`) {
			t.Errorf("%d %s", code, body)
		}
		rec.next(t)
	})

	t.Run("near miss names the closest request and the differences", func(t *testing.T) {
		code, body, h := do(t, "POST", srv.URL+"/orders", `{"sku":"b","qty":4,"meta":{"request_id":"x","source":"web"}}`)
		var miss struct {
			Error   string
			Closest struct {
				Entry       int
				Method, URL string
				Differences []string
			}
		}
		if err := json.Unmarshal([]byte(body), &miss); err != nil || code != 404 || h.Get("Content-Type") != "application/json" {
			t.Fatalf("%d %s %v", code, body, err)
		}
		if miss.Closest.Entry != 5 || miss.Closest.Method != "POST" || !strings.HasSuffix(miss.Closest.URL, "/orders") ||
			len(miss.Closest.Differences) != 1 || miss.Closest.Differences[0] != "body.qty: recorded 3, got 4" {
			t.Errorf("closest %+v", miss.Closest)
		}
		ex := rec.next(t)
		if ex.Response.Status != 404 || !strings.Contains(ex.Error, "no recorded exchange") {
			t.Errorf("recorded %d %q", ex.Response.Status, ex.Error)
		}

		_, body, _ = do(t, "GET", srv.URL+"/items?page=2", "")
		if !strings.Contains(body, `"query page: recorded 1, got 2"`) {
			t.Errorf("query miss: %s", body)
		}
		rec.next(t)
		// An empty value is shown as "", not as nothing after "got".
		_, body, _ = do(t, "GET", srv.URL+"/items?page=", "")
		if !strings.Contains(body, `"query page: recorded 1, got \"\""`) {
			t.Errorf("empty query value miss: %s", body)
		}
		rec.next(t)
		_, body, _ = do(t, "DELETE", srv.URL+"/items?page=1", "")
		if !strings.Contains(body, `"method: recorded GET, got DELETE"`) {
			t.Errorf("method miss: %s", body)
		}
		rec.next(t)
	})
}

// knownSession returns a recorded session of one GET /known.
func knownSession(t *testing.T) []byte {
	t.Helper()
	return recordSession(t, func(base string) {
		resp, err := http.Get(base + "/known")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
}

func TestSimulateSpyModeAndHotSwap(t *testing.T) {
	t.Parallel()
	data := knownSession(t)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "live "+r.URL.Path)
	}))
	defer up.Close()
	sims := proxy.NewSimulator(proxy.SimulateOptions{Miss: proxy.MissProxy}, nil)
	sims.Proxies("api")
	srv, rec := start(t, up.URL, func(o *proxy.Options) { o.Simulator = sims })
	api := httptest.NewServer(sims.API())
	defer api.Close()

	// Nothing loaded: the upstream answers.
	if _, body, _ := do(t, "GET", srv.URL+"/known", ""); body != "live /known" {
		t.Fatalf("before loading: %s", body)
	}
	rec.next(t)

	resp, err := http.Post(api.URL+"/api/simulations?proxy=api&name=s.har", "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var st proxy.SimulationStatus
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if resp.StatusCode != 201 || st.Entries != 1 || st.Proxy != "api" || st.Miss != proxy.MissProxy {
		t.Fatalf("load: %d %+v", resp.StatusCode, st)
	}
	if _, body, _ := do(t, "GET", srv.URL+"/known", ""); !strings.Contains(body, `"call":1`) {
		t.Errorf("simulated: %s", body)
	}
	rec.next(t)
	// Spy mode: a miss goes to the upstream, and says so.
	if _, body, _ := do(t, "GET", srv.URL+"/unknown", ""); body != "live /unknown" {
		t.Errorf("miss in spy mode: %s", body)
	}
	if ex := rec.next(t); ex.Meta["simulate"].(map[string]any)["passed"] != true || ex.Meta["upstream"] == nil {
		t.Errorf("spy miss recorded %v", ex.Meta)
	}

	code, body, _ := do(t, "GET", api.URL+"/api/simulations", "")
	if code != 200 || !strings.Contains(body, `"hits":1`) || !strings.Contains(body, `"misses":1`) {
		t.Errorf("list: %d %s", code, body)
	}
	if code, body, _ := do(t, "POST", api.URL+"/api/simulations", "{not har"); code != 400 || !strings.Contains(body, "HAR") {
		t.Errorf("bad HAR: %d %s", code, body)
	}
	// A typo in a parameter, or a proxy that is not running, is refused
	// rather than taken as "every proxy" or a name that simulates nothing.
	for _, tc := range []struct{ method, query, want string }{
		{"POST", "prxy=api&mis=proxy", `takes no parameter`},
		{"POST", "proxy=apii", `no proxy named \"apii\" (running: api; or * for every one)`},
		{"DELETE", "proxy=apii", `no proxy named \"apii\"`},
		{"DELETE", "proxi=api", `takes no parameter \"proxi\"`},
		{"DELETE", "proxy=", `proxy is empty`},
		{"GET", "proxy=api", `takes no parameters`},
	} {
		code, body, _ := do(t, tc.method, api.URL+"/api/simulations?"+tc.query, string(data))
		if want := map[bool]int{true: 400, false: 404}[strings.Contains(tc.want, "takes") || strings.Contains(tc.want, "is empty")]; code != want || !strings.Contains(body, tc.want) {
			t.Errorf("%s ?%s: %d %s, want %d with %s", tc.method, tc.query, code, body, want, tc.want)
		}
	}
	if code, body, _ := do(t, "GET", api.URL+"/api/simulations", ""); !strings.Contains(body, `"proxy":"api"`) || strings.Contains(body, `"proxy":"*"`) {
		t.Errorf("refused loads changed the simulations: %d %s", code, body)
	}
	if code, _, _ := do(t, "DELETE", api.URL+"/api/simulations?proxy=api", ""); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if _, body, _ := do(t, "GET", srv.URL+"/known", ""); body != "live /known" {
		t.Errorf("after stopping: %s", body)
	}
	rec.next(t)
}

// TestSimulateStopWithoutProxyStopsEvery: DELETE /api/simulations without
// proxy= stops every simulation, those loaded for one proxy too; with
// proxy=* only the one for every proxy, with proxy=NAME only that proxy's.
func TestSimulateStopWithoutProxyStopsEvery(t *testing.T) {
	t.Parallel()
	data := knownSession(t)
	sims := proxy.NewSimulator(proxy.SimulateOptions{}, nil)
	sims.Proxies("api", "web")
	api := httptest.NewServer(sims.API())
	defer api.Close()
	load := func(query string) {
		t.Helper()
		if code, body, _ := do(t, "POST", api.URL+"/api/simulations?"+query, string(data)); code != 201 {
			t.Fatalf("load ?%s: %d %s", query, code, body)
		}
	}
	loaded := func() []string {
		t.Helper()
		var names []string
		for _, st := range sims.List() {
			names = append(names, st.Proxy)
		}
		return names
	}
	for _, tc := range []struct{ query, want string }{
		{"", "[]"},
		{"?proxy=*", "[api web]"},
		{"?proxy=api", "[* web]"},
	} {
		load("proxy=*")
		load("proxy=api")
		load("proxy=web")
		if code, body, _ := do(t, "DELETE", api.URL+"/api/simulations"+tc.query, ""); code != 204 {
			t.Fatalf("DELETE %s: %d %s", tc.query, code, body)
		}
		if got := fmt.Sprint(loaded()); got != tc.want {
			t.Errorf("after DELETE /api/simulations%s still loaded %s, want %s", tc.query, got, tc.want)
		}
		sims.Set("api", nil)
		sims.Set("web", nil)
		sims.Set("*", nil)
	}
}

// TestSimulateContentEncoding: a body hooklab recorded still gzipped is
// served with its Content-Encoding; one a browser wrote decoded into its
// HAR is served without it. Either way the client reads the JSON.
func TestSimulateContentEncoding(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"compressed":true}`))
	zw.Close()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	entry := func(path string, body []byte) *inspect.Exchange {
		return &inspect.Exchange{Time: at, Request: inspect.Request{Method: "GET", URL: "http://up.test" + path},
			Response: &inspect.Response{Status: 200, Body: body, Size: int64(len(body)), Headers: inspect.Headers{
				{Name: "Content-Type", Value: "application/json"}, {Name: "Content-Encoding", Value: "gzip"}}}}
	}
	head := &inspect.Exchange{Time: at, Request: inspect.Request{Method: "HEAD", URL: "http://up.test/big"},
		Response: &inspect.Response{Status: 200, Headers: inspect.Headers{{Name: "Content-Length", Value: "12345"}}}}
	sim, err := proxy.NewSimulation("enc", []*inspect.Exchange{
		entry("/recorded", gz.Bytes()), entry("/browser", []byte(`{"compressed":false}`)), head,
	}, proxy.SimulateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	down := "http://127.0.0.1:1"
	srv, _ := start(t, down, func(o *proxy.Options) {
		o.Routes = []proxy.Route{{Prefix: "/", Upstream: mustURL(t, down), Simulation: sim}}
	})
	for path, want := range map[string]string{"/recorded": `{"compressed":true}`, "/browser": `{"compressed":false}`} {
		resp, err := http.Get(srv.URL + path) // asks for gzip and decodes it
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != want || resp.Uncompressed != (path == "/recorded") {
			t.Errorf("%s: %q (decoded by the client: %v), want %s", path, b, resp.Uncompressed, want)
		}
	}
	// A HEAD answers with the length a GET would have.
	resp, err := http.Head(srv.URL + "/big")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.ContentLength != 12345 {
		t.Errorf("simulated HEAD: Content-Length %d, want the recorded 12345", resp.ContentLength)
	}
}

// TestSimulateDecodedBodyThatLooksEncoded: a decoded body whose first
// bytes happen to pass for a zlib header ("80...") is served without the
// Content-Encoding it was recorded with.
func TestSimulateDecodedBodyThatLooksEncoded(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	body := []byte("80 bottles of beer on the wall")
	sim, err := proxy.NewSimulation("deflate", []*inspect.Exchange{{Time: at, Request: inspect.Request{Method: "GET", URL: "http://up.test/beer"},
		Response: &inspect.Response{Status: 200, Body: body, Size: int64(len(body)), Headers: inspect.Headers{{Name: "Content-Encoding", Value: "deflate"}}}}},
		proxy.SimulateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	down := "http://127.0.0.1:1"
	srv, _ := start(t, down, func(o *proxy.Options) {
		o.Routes = []proxy.Route{{Prefix: "/", Upstream: mustURL(t, down), Simulation: sim}}
	})
	resp, err := http.Get(srv.URL + "/beer")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != string(body) || resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("got %q with Content-Encoding %q", b, resp.Header.Get("Content-Encoding"))
	}
}

// TestSimulationAddsNoHeaders: a recorded answer without a Content-Type or
// a Date is served without them, as recorded (net/http sniffed a type and
// added a Date).
func TestSimulationAddsNoHeaders(t *testing.T) {
	t.Parallel()
	body := "<script>alert(1)</script>hello!"
	ex := &inspect.Exchange{ID: "01AAAAAAAAAAAAAAAAAAAAAAAA", Bin: "api", Source: inspect.SourceProxy, Time: time.Now(),
		Request:  inspect.Request{Method: "GET", URL: "http://up.example/untyped", Headers: inspect.Headers{{Name: "Host", Value: "up.example"}}},
		Response: &inspect.Response{Status: 200, Body: []byte(body), Size: int64(len(body))}}
	data, err := json.Marshal(har.New([]*inspect.Exchange{ex}, har.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	sim, err := proxy.ParseSimulation("s.har", data, proxy.SimulateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	down := "http://127.0.0.1:1"
	srv, _ := start(t, down, func(o *proxy.Options) {
		o.Routes = []proxy.Route{{Prefix: "/", Upstream: mustURL(t, down), Simulation: sim}}
	})
	resp, err := http.Get(srv.URL + "/untyped")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(got) != body {
		t.Fatalf("served %q", got)
	}
	for _, name := range []string{"Content-Type", "Date"} {
		if v, ok := resp.Header[name]; ok {
			t.Errorf("the simulation served %s %q, which the recording has not", name, v)
		}
	}
}

// TestSimulationDropsHopByHop: a HAR's answer headers that were for the
// recorded connection (Apache's Upgrade: h2,h2c and Connection: Upgrade,
// Keep-Alive, those Connection names) are not served again.
func TestSimulationDropsHopByHop(t *testing.T) {
	t.Parallel()
	data := []byte(`{"log":{"version":"1.2","creator":{"name":"browser","version":"1"},"entries":[{"startedDateTime":"2026-12-01T10:00:00Z","time":1,
"request":{"method":"GET","url":"http://up.example/page","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},
"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[{"name":"Content-Type","value":"text/plain"},{"name":"Upgrade","value":"h2,h2c"},
{"name":"Connection","value":"Upgrade, Keep-Alive, X-Hop"},{"name":"Keep-Alive","value":"timeout=5"},{"name":"X-Hop","value":"1"},{"name":"Proxy-Connection","value":"keep-alive"}],
"cookies":[],"content":{"size":2,"mimeType":"text/plain","text":"ok"},"redirectURL":"","headersSize":-1,"bodySize":2},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}]}}`)
	sim, err := proxy.ParseSimulation("s.har", data, proxy.SimulateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	down := "http://127.0.0.1:1"
	srv, _ := start(t, down, func(o *proxy.Options) {
		o.Routes = []proxy.Route{{Prefix: "/", Upstream: mustURL(t, down), Simulation: sim}}
	})
	resp, err := http.Get(srv.URL + "/page")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "ok" || resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("served %q with Content-Type %q", b, resp.Header.Get("Content-Type"))
	}
	for _, name := range []string{"Upgrade", "Connection", "Keep-Alive", "X-Hop", "Proxy-Connection"} {
		if v, ok := resp.Header[name]; ok {
			t.Errorf("the simulation served the hop-by-hop %s %q", name, v)
		}
	}
}
