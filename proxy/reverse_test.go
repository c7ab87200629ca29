package proxy_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/textproto"
	"net/url"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/proxy"
	"github.com/hooklab/hooklab/rules"
)

// recorder collects recorded exchanges.
type recorder struct {
	mu  sync.Mutex
	got []*inspect.Exchange
	ch  chan *inspect.Exchange
}

func newRecorder() *recorder { return &recorder{ch: make(chan *inspect.Exchange, 100)} }

func (r *recorder) Record(_ context.Context, ex *inspect.Exchange) error {
	r.mu.Lock()
	r.got = append(r.got, ex)
	r.mu.Unlock()
	r.ch <- ex
	return nil
}

func (r *recorder) next(t *testing.T) *inspect.Exchange {
	t.Helper()
	select {
	case ex := <-r.ch:
		return ex
	case <-time.After(10 * time.Second):
		t.Fatal("no exchange recorded")
		return nil
	}
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// start runs a hooklab reverse proxy in front of upstream.
func start(t *testing.T, upstream string, opt func(*proxy.Options)) (*httptest.Server, *recorder) {
	t.Helper()
	rec := newRecorder()
	o := proxy.Options{Name: "api", Routes: []proxy.Route{{Prefix: "/", Upstream: mustURL(t, upstream)}}, Record: rec.Record, MaxBody: 1 << 20}
	if opt != nil {
		opt(&o)
	}
	p, err := proxy.NewReverse(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(p)
	t.Cleanup(func() { srv.Close(); p.Wait() })
	return srv, rec
}

func TestReverseRecordsBodiesBothWays(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Upstream", "yes")
		w.Header().Set("Content-Type", "application/octet-stream")
		fmt.Fprintf(w, "%s %s got %d bytes; xff=%s", r.Method, r.URL.RequestURI(), len(b), r.Header.Get("X-Forwarded-For"))
		if f := r.Header.Get("Forwarded"); f != "" {
			fmt.Fprintf(w, "; forwarded=%s", f)
		}
	}))
	defer up.Close()
	srv, rec := start(t, up.URL, nil)
	for _, size := range []int{0, 1 << 20} {
		body := bytes.Repeat([]byte("a"), size)
		resp, err := http.Post(srv.URL+"/items?x=1", "text/plain", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := fmt.Sprintf("POST /items?x=1 got %d bytes; xff=127.0.0.1", size)
		if string(got) != want || resp.Header.Get("X-Upstream") != "yes" {
			t.Fatalf("answer %q, want %q", got, want)
		}
		ex := rec.next(t)
		if ex.Source != inspect.SourceProxy || ex.Bin != "api" || ex.Request.Size != int64(size) || len(ex.Request.Body) != size {
			t.Errorf("recorded request: source %s bin %s size %d stored %d", ex.Source, ex.Bin, ex.Request.Size, len(ex.Request.Body))
		}
		if ex.Response == nil || ex.Response.Status != 200 || string(ex.Response.Body) != want || ex.Response.Headers.Get("X-Upstream") != "yes" {
			t.Errorf("recorded response %+v", ex.Response)
		}
		if ex.Meta["upstream"] != up.URL+"/items?x=1" {
			t.Errorf("upstream %v", ex.Meta["upstream"])
		}
	}
	// A client behind another proxy keeps its chain; hooklab adds its peer.
	req, _ := http.NewRequest("POST", srv.URL+"/items?x=1", strings.NewReader("b"))
	req.Header.Set("X-Forwarded-For", "10.0.0.1, 10.0.0.2")
	req.Header.Set("Forwarded", "for=10.0.0.1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "POST /items?x=1 got 1 bytes; xff=10.0.0.1, 10.0.0.2, 127.0.0.1; forwarded=for=10.0.0.1"; string(got) != want {
		t.Errorf("answer %q, want %q", got, want)
	}
	rec.next(t)
	// A chunked request is recorded as sent, Transfer-Encoding included
	// (net/http takes it out of the headers).
	req, _ = http.NewRequest("POST", srv.URL+"/items", io.MultiReader(strings.NewReader("chunk"), strings.NewReader("ed")))
	req.ContentLength = -1
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ex := rec.next(t); ex.Request.Headers.Get("Transfer-Encoding") != "chunked" || string(ex.Request.Body) != "chunked" {
		t.Errorf("recorded chunked request: headers %v body %q", ex.Request.Headers, ex.Request.Body)
	}
}

func TestReverseStreamsLargeBodiesWithoutBuffering(t *testing.T) {
	t.Parallel()
	const size = 50 << 20
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		w.Header().Set("X-Got", fmt.Sprint(n))
		chunk := bytes.Repeat([]byte("z"), 64<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer up.Close()
	srv, rec := start(t, up.URL, func(o *proxy.Options) { o.MaxBody = 1 << 20 })
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("u"), 64<<10)
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		pw.Close()
	}()
	resp, err := http.Post(srv.URL+"/upload", "application/octet-stream", pr) // chunked
	if err != nil {
		t.Fatal(err)
	}
	n, _ := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if n != size || resp.Header.Get("X-Got") != fmt.Sprint(size) {
		t.Fatalf("downloaded %d, upstream got %s; want %d both", n, resp.Header.Get("X-Got"), size)
	}
	ex := rec.next(t)
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	if ex.Request.Size != size || !ex.Request.Truncated || len(ex.Request.Body) != 1<<20 {
		t.Errorf("request recorded size %d truncated %v stored %d", ex.Request.Size, ex.Request.Truncated, len(ex.Request.Body))
	}
	if ex.Response.Size != size || !ex.Response.Truncated || len(ex.Response.Body) != 1<<20 {
		t.Errorf("response recorded size %d truncated %v stored %d", ex.Response.Size, ex.Response.Truncated, len(ex.Response.Body))
	}
	// 100 MiB passed through; the heap must not have held it.
	if grew := int64(after.HeapAlloc) - int64(before.HeapAlloc); grew > 24<<20 {
		t.Errorf("heap grew by %d MiB while streaming 2x50 MiB", grew>>20)
	}
}

func TestReverseFlushesServerSentEvents(t *testing.T) {
	t.Parallel()
	next := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		<-next // the second event waits until the client saw the first
		fmt.Fprint(w, "data: two\n\n")
	}))
	defer up.Close()
	srv, rec := start(t, up.URL, nil)
	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	line, err := br.ReadString('\n')
	if err != nil || line != "data: one\n" {
		t.Fatalf("first event %q %v", line, err)
	}
	close(next)
	rest, _ := io.ReadAll(br)
	if !strings.Contains(string(rest), "data: two") {
		t.Fatalf("rest %q", rest)
	}
	if ex := rec.next(t); !strings.Contains(string(ex.Response.Body), "data: one\n\ndata: two") {
		t.Errorf("recorded %q", ex.Response.Body)
	}
}

func TestReverseWebsocket(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(wsEcho))
	defer up.Close()
	srv, rec := start(t, up.URL, nil)
	c, resp, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	if err != nil {
		t.Fatalf("dial through proxy: %v", err)
	}
	if resp.StatusCode != 101 {
		t.Fatalf("status %d", resp.StatusCode)
	}
	for i := range 3 {
		msg := fmt.Sprintf("hello %d %s", i, strings.Repeat("x", 200*i))
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		_, got, err := c.ReadMessage()
		if err != nil || string(got) != "echo: "+msg {
			t.Fatalf("echo %q %v", got, err)
		}
	}
	c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.Close()
	ex := rec.next(t)
	if ex.Response == nil || ex.Response.Status != 101 {
		t.Fatalf("handshake not recorded: %+v", ex.Response)
	}
	ws, _ := ex.Meta["websocket"].(map[string]any)
	// 3 messages each way, plus the close frame from the client (and maybe
	// the server's answer to it).
	if ws["frames_up"].(int64) < 4 || ws["frames_down"].(int64) < 3 {
		t.Errorf("frames counted %v", ws)
	}
}

// deadUpstream returns the URL of a port with nothing listening.
func deadUpstream(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

func TestReverseUpstreamFailures(t *testing.T) {
	t.Parallel()
	dead := deadUpstream(t)
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer slow.Close()
	for _, tc := range []struct {
		name, upstream string
		want           int
		says           string // in the answer's error and the record's
	}{
		{"down", dead, http.StatusBadGateway, "upstream"},
		// How long the proxy waited, not only Go's "timeout awaiting
		// response headers".
		{"slow", slow.URL, http.StatusGatewayTimeout, "(no answer within 100ms: the upstream is slow or hung)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, rec := start(t, tc.upstream, func(o *proxy.Options) {
				tr := proxy.NewTransport()
				tr.ResponseHeaderTimeout = 100 * time.Millisecond
				o.Transport = tr
			})
			resp, err := http.Get(srv.URL + "/x")
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			var m map[string]string
			if resp.StatusCode != tc.want || json.Unmarshal(b, &m) != nil || !strings.Contains(m["error"], tc.says) {
				t.Fatalf("answer %d %s, want %d with a JSON error saying %s", resp.StatusCode, b, tc.want, tc.says)
			}
			ex := rec.next(t)
			if !strings.Contains(ex.Error, tc.says) || ex.Response == nil || ex.Response.Status != tc.want {
				t.Errorf("recorded error %q response %+v", ex.Error, ex.Response)
			}
			// No upstream byte came: no time to it either (a HAR export
			// would make the whole duration "receive").
			if _, ok := ex.Meta["ttfb_ms"]; ok || ex.Meta["upstream"] == nil {
				t.Errorf("recorded meta %v, want the upstream and no ttfb_ms", ex.Meta)
			}
		})
	}
}

func TestReverseRoutes(t *testing.T) {
	t.Parallel()
	mk := func(name string) *httptest.Server {
		return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Secret", "s")
			fmt.Fprintf(w, "%s %s team=%s", name, r.URL.Path, r.Header.Get("X-Team"))
		}))
	}
	a, b := mk("a"), mk("b")
	defer a.Close()
	defer b.Close()
	srv, _ := start(t, a.URL, func(o *proxy.Options) {
		o.Routes = []proxy.Route{
			{Prefix: "/", Upstream: mustURL(t, a.URL)},
			{Prefix: "/api/v2", Upstream: mustURL(t, b.URL), Strip: true,
				SetRequestHeaders: map[string]string{"X-Team": "core"}, RemoveResponseHeaders: []string{"X-Secret"}},
			{Prefix: "/v3", Upstream: mustURL(t, b.URL+"/base"), Strip: true, RemoveResponseHeaders: []string{"X-Secret"}},
		}
	})
	for _, tc := range []struct{ path, want string }{
		{"/api/v2/users", "b /users team=core"},
		{"/api/v2", "b / team=core"},
		// The upstream's path, with no slash the client did not send.
		{"/v3", "b /base team="},
		{"/v3/", "b /base/ team="},
		{"/v3/x?q=1", "b /base/x team="},
		{"/api/v20", "a /api/v20 team="},
		{"/other", "a /other team="},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != tc.want {
			t.Errorf("%s: %q, want %q", tc.path, got, tc.want)
		}
		if strings.HasPrefix(tc.want, "b") != (resp.Header.Get("X-Secret") == "") {
			t.Errorf("%s: X-Secret %q", tc.path, resp.Header.Get("X-Secret"))
		}
	}
}

// countingConn counts the writes made on a connection.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}

// TestReverseSmallBodyOneWrite checks that a small body of known length
// goes to the upstream in the same write as the headers, counted on the
// proxy's upstream connections; a chunked body still streams (more writes)
// and a client waiting for 100 Continue gets the upstream's answer first.
func TestReverseSmallBodyOneWrite(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Reject") != "" {
			w.WriteHeader(http.StatusUnauthorized) // before reading the body
			return
		}
		b, _ := io.ReadAll(r.Body)
		w.Write(b)
	}))
	defer up.Close()
	var writes atomic.Int64
	tr := proxy.NewTransport()
	tr.ExpectContinueTimeout = 30 * time.Second // the upstream's 401 must win, however loaded the box
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return countingConn{c, &writes}, nil
	}
	srv, rec := start(t, up.URL, func(o *proxy.Options) { o.Transport = tr })

	body := `{"ticket":{"id":42,"subject":"` + strings.Repeat("x", 6000) + `"}}` // past the first 4 KiB read
	post := func(r io.Reader) string {
		t.Helper()
		resp, err := http.Post(srv.URL+"/hooks", "application/json", r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, _ := io.ReadAll(resp.Body)
		return string(got)
	}
	if got := post(strings.NewReader(body)); got != body {
		t.Fatalf("echo: got %d bytes, want the %d sent", len(got), len(body))
	}
	if n := writes.Load(); n != 1 {
		t.Fatalf("the request went upstream in %d writes, want 1 (headers and body together)", n)
	}
	if ex := rec.next(t); string(ex.Request.Body) != body || ex.Request.Size != int64(len(body)) || ex.Request.Truncated {
		t.Fatalf("recorded request body %d bytes (size %d, truncated %v), want %d", len(ex.Request.Body), ex.Request.Size, ex.Request.Truncated, len(body))
	}

	writes.Store(0)
	if got := post(io.MultiReader(strings.NewReader(body))); got != body { // unknown length: chunked
		t.Fatalf("chunked echo: got %d bytes, want %d", len(got), len(body))
	}
	if n := writes.Load(); n < 2 {
		t.Fatalf("a chunked body went upstream in %d writes; it should stream (headers first)", n)
	}
	if ex := rec.next(t); string(ex.Request.Body) != body {
		t.Fatalf("chunked: recorded %d bytes, want %d", len(ex.Request.Body), len(body))
	}

	// Expect: 100-continue, refused by the upstream: the client hears the
	// 401 without a 100 Continue before it.
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprintf(c, "POST /hooks HTTP/1.1\r\nHost: x\r\nX-Reject: 1\r\nExpect: 100-continue\r\nContent-Length: 7\r\n\r\n")
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(line, "HTTP/1.1 401") {
		t.Fatalf("first line to a client expecting 100-continue: %q, want the upstream's 401", line)
	}
}

// TestReverseUpstreamBodyCutShort: an upstream that promises 1000 bytes and
// closes after 10 breaks the client's answer off there too, over HTTP/1.1
// and h2c: the client gets the status and the 10 bytes, as the record
// says, then the close or the stream's reset (before, an answer that ended
// within the flush interval never left the server's buffer, and the client
// got no answer at all).
func TestReverseUpstreamBodyCutShort(t *testing.T) {
	t.Parallel()
	up := rawUpstream(t, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789")
	rec := newRecorder()
	p, err := proxy.NewReverse(proxy.Options{Name: "api", Routes: []proxy.Route{{Prefix: "/", Upstream: mustURL(t, up.URL)}}, Record: rec.Record, MaxBody: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(p)
	srv.Config.Protocols = new(http.Protocols) // HTTP/1.1 and h2c, as hooklab's proxy listeners
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(func() { srv.Close(); p.Wait() })
	h2 := &http.Transport{Protocols: new(http.Protocols)}
	h2.Protocols.SetUnencryptedHTTP2(true)
	defer h2.CloseIdleConnections()
	for _, tr := range []*http.Transport{{}, h2} {
		resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(srv.URL + "/short")
		if err != nil {
			t.Errorf("no answer to the client: %v", err)
			continue
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err == nil || resp.StatusCode != 200 || string(body) != "0123456789" {
			t.Errorf("%s client got %d, %q, err %v; want 200, the 10 bytes, then an error", resp.Proto, resp.StatusCode, body, err)
		}
		ex := rec.next(t)
		if !strings.Contains(ex.Error, "reading upstream body: unexpected EOF; the answer to the client was cut off there") || string(ex.Response.Body) != "0123456789" {
			t.Errorf("%s: recorded error %q, body %q", resp.Proto, ex.Error, ex.Response.Body)
		}
	}
}

// TestReverseStreamsAsItArrives: the status line and the start of a body
// of known length reach the client as the upstream sends them, and what
// passed of a body the upstream then resets is what the client got too,
// as the record says.
func TestReverseStreamsAsItArrives(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	up := rawUpstream(t, "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"+strings.Repeat("y", 100), func(c net.Conn) {
		<-release
		c.(*net.TCPConn).SetLinger(0) // a reset, not an orderly close
	})
	released := sync.OnceFunc(func() { close(release) })
	defer released()
	srv, rec := start(t, up.URL, nil)
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(srv.URL + "/slow")
	if err != nil {
		t.Fatal(err) // no status line while the upstream holds the rest
	}
	got := make([]byte, 100)
	if _, err := io.ReadFull(resp.Body, got); err != nil || resp.StatusCode != 200 {
		t.Fatalf("status %d, first 100 bytes: %v", resp.StatusCode, err)
	}
	released()
	rest, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil || len(rest) != 0 {
		t.Errorf("after the reset: %d more bytes, err %v; want the answer cut off", len(rest), err)
	}
	ex := rec.next(t)
	if ex.Status() != 200 || ex.Response.Size != 100 || !strings.Contains(ex.Error, "the answer to the client was cut off there") {
		t.Errorf("recorded %d, %d bytes, error %q", ex.Status(), ex.Response.Size, ex.Error)
	}
}

// TestReverseClientLeavesMidBody: a client that goes away while a body
// streams is recorded so, not as a whole answer.
func TestReverseClientLeavesMidBody(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1048576") // large enough to stream, not be gathered
		w.Write(bytes.Repeat([]byte("x"), 128<<10))
		http.NewResponseController(w).Flush()
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer up.Close()
	srv, rec := start(t, up.URL, nil)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/stream", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	ex := rec.next(t)
	if !strings.Contains(ex.Error, "client went away after ") || !strings.Contains(ex.Error, "bytes of the answer (of 1048576)") {
		t.Errorf("recorded error %q, want the client's leaving", ex.Error)
	}

	// A chunked body the upstream keeps sending: the proxy's write to
	// the client fails, and it closes the upstream's body unread (no
	// read error). That too is a cut answer, not a whole 200.
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		chunk := bytes.Repeat([]byte("y"), 64<<10)
		for range 4096 { // 256 MiB at most
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer chunked.Close()
	srv2, rec2 := start(t, chunked.URL, nil)
	resp, err = http.Get(srv2.URL + "/chunked")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ex := rec2.next(t); !strings.Contains(ex.Error, "client went away after ") || ex.Response.Size >= 4096*64<<10 {
		t.Errorf("recorded %d bytes, error %q, want the client's leaving", ex.Response.Size, ex.Error)
	}
}

// TestReverseIncompleteBody checks clients that promise more body than
// they send, closing their side (400) or going silent (408 after
// WholeBodyTimeout), or break the chunking (400): each gets an answer saying
// how far it got, the exchange is recorded with the error, and the upstream
// gets nothing. With mock rules for the proxy (intercepting), the body is
// read for them first, under the same rules.
func TestReverseIncompleteBody(t *testing.T) {
	const chunked = "Transfer-Encoding: chunked"
	for _, tc := range []struct {
		name      string
		intercept bool
		header    string
		sent      string
		closeSide bool
		code      int
		want      string
	}{
		{"client closed", false, "", `{"id":1}`, true, http.StatusBadRequest, "after 8 of 100 bytes: unexpected EOF"},
		{"client silent", false, "", `{"id":1`, false, http.StatusRequestTimeout, "after 7 of 100 bytes: read tcp"},
		{"intercepting, client closed", true, "", `{"id":1}`, true, http.StatusBadRequest, "after 8 bytes: unexpected EOF"},
		{"intercepting, client silent", true, "", `{"id":1`, false, http.StatusRequestTimeout, "after 7 bytes: the request body stopped coming: 7 bytes in"},
		{"intercepting, bad chunk size", true, chunked, "zz\r\n", false, http.StatusBadRequest, "after 0 bytes: invalid byte in chunk length"},
		// Streamed to the upstream, which may have had the headers: still
		// the client's fault, not a 502 blaming the upstream.
		{"streamed, bad chunk size", false, chunked, "3\r\nabc\r\nzz\r\n", false, http.StatusBadRequest, "after 3 bytes, some of them sent to upstream"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var hits atomic.Int64
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
			defer up.Close()
			srv, rec := start(t, up.URL, func(o *proxy.Options) {
				o.WholeBodyTimeout = 200 * time.Millisecond
				if tc.intercept {
					o.Intercept = func(*http.Request, *rules.Request, *inspect.Exchange) func(http.ResponseWriter) { return nil }
				}
			})
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			length := "Content-Length: 100"
			if tc.header != "" {
				length = tc.header
			}
			fmt.Fprintf(c, "POST /hooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n%s\r\n\r\n%s", length, tc.sent)
			if tc.closeSide {
				c.(*net.TCPConn).CloseWrite()
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			msg, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.code || !strings.Contains(string(msg), tc.want) {
				t.Fatalf("got %d %s, want %d with %q", resp.StatusCode, msg, tc.code, tc.want)
			}
			ex := rec.next(t)
			sent := tc.sent
			if tc.header == chunked {
				sent = map[bool]string{true: "abc", false: ""}[strings.HasPrefix(tc.name, "streamed")]
			}
			if !strings.Contains(ex.Error, tc.want) || string(ex.Request.Body) != sent || ex.Status() != tc.code {
				t.Fatalf("recorded error %q, body %q, status %d", ex.Error, ex.Request.Body, ex.Status())
			}
			if n := hits.Load(); n != 0 && !strings.HasPrefix(tc.name, "streamed") {
				t.Fatalf("the upstream got %d requests, want none", n)
			}
		})
	}
}

// TestReverseKeepsRawQueryAndUpstreamCredentials: the query reaches the
// upstream byte for byte, even parts url.ParseQuery refuses; credentials
// in the upstream URL are sent as Basic auth (unless the client sent its
// own Authorization) and never recorded.
func TestReverseKeepsRawQueryAndUpstreamCredentials(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s|%s", r.URL.RawQuery, r.Header.Get("Authorization"))
	}))
	defer up.Close()
	u := mustURL(t, up.URL)
	u.User = url.UserPassword("bob", "upstream-pw")
	srv, rec := start(t, u.String(), nil)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("bob:upstream-pw"))
	for _, tc := range []struct{ query, auth, want string }{
		{"a=%zz&b=;c&&d=1", "", "a=%zz&b=;c&&d=1|" + basic},
		{";", "", ";|" + basic},
		{"x=1", "Bearer mine", "x=1|Bearer mine"},
	} {
		req, _ := http.NewRequest("GET", srv.URL+"/q?"+tc.query, nil)
		if tc.auth != "" {
			req.Header.Set("Authorization", tc.auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != tc.want {
			t.Errorf("?%s: the upstream saw %q, want %q", tc.query, got, tc.want)
		}
		ex := rec.next(t)
		if up, _ := ex.Meta["upstream"].(string); strings.Contains(up, "upstream-pw") || !strings.HasSuffix(up, "/q?"+tc.query) {
			t.Errorf("?%s: recorded upstream %q", tc.query, up)
		}
	}
}

// TestRequestBodyAnsweredEarly: an upstream that answers before it has
// read a streamed upload (a 401 or 413 does) ends the exchange while the
// Transport may still be forwarding the body. The record takes what had
// passed by then, safely, and says the body is incomplete.
func TestRequestBodyAnsweredEarly(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized) // never reads the body
	}))
	t.Cleanup(up.Close)
	srv, rec := start(t, up.URL, nil)
	const chunks = 400
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("x"), 4096)
		for range chunks {
			if _, err := pw.Write(chunk); err != nil {
				return
			}
			time.Sleep(200 * time.Microsecond)
		}
		pw.Close()
	}()
	req, err := http.NewRequest("POST", srv.URL+"/upload", pr) // chunked
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("status %d, want the upstream's 401", resp.StatusCode)
		}
	}
	pr.CloseWithError(errors.New("test over"))
	ex := rec.next(t)
	if ex.Request.Size < chunks*4096 && (!ex.Request.Truncated || !strings.Contains(fmt.Sprint(ex.Meta), "incomplete")) {
		t.Errorf("recorded %d of %d bytes, truncated %v, meta %v: an incomplete body must say so", ex.Request.Size, chunks*4096, ex.Request.Truncated, ex.Meta)
	}
	t.Logf("recorded %d of %d bytes, truncated %v, meta %v", ex.Request.Size, chunks*4096, ex.Request.Truncated, ex.Meta)
	if int64(len(ex.Request.Body)) > ex.Request.Size {
		t.Errorf("kept %d bytes of a body of %d", len(ex.Request.Body), ex.Request.Size)
	}
}

// TestClientGoneWhileStopping: a client that gives up while hooklab is
// stopping, before its deadline cuts requests off, is recorded as gone,
// not as answered 503.
func TestClientGoneWhileStopping(t *testing.T) {
	t.Parallel()
	reached := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached <- struct{}{}
		<-r.Context().Done()
	}))
	defer up.Close()
	stopping, stop := context.WithCancel(context.Background())
	cutOff, cut := context.WithCancel(context.Background())
	defer cut()
	srv, rec := start(t, up.URL, func(o *proxy.Options) { o.Stopping, o.CutOff = stopping, cutOff })
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-reached
		stop()   // shutdown begins; its deadline is far off
		cancel() // the client gives up by itself
	}()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/x", nil)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
	}
	if ex := rec.next(t); ex.Response != nil || !strings.Contains(ex.Error, "client went away") {
		t.Errorf("recorded response %+v, error %q; want no response and the client gone", ex.Response, ex.Error)
	}
}

// TestUnansweredBodyIsNotIncomplete: a body to an upstream that never
// answered is not said to be cut short by an early answer.
func TestUnansweredBodyIsNotIncomplete(t *testing.T) {
	t.Parallel()
	srv, rec := start(t, deadUpstream(t), nil)
	resp, err := http.Post(srv.URL+"/x", "application/octet-stream", bytes.NewReader(make([]byte, 100<<10)))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if ex := rec.next(t); ex.Meta["request_body"] != nil {
		t.Errorf("meta %v for an upstream that never answered", ex.Meta)
	}
}

// TestReverseRedactsOwnCredentials: a header Options.OwnCredentials names
// (an api_key of hooklab's own webhook, delivered through the proxy) goes
// to the upstream as sent and is recorded redacted.
func TestReverseRedactsOwnCredentials(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got <- r.Header.Get("X-Partner") }))
	defer up.Close()
	srv, rec := start(t, up.URL, func(o *proxy.Options) {
		o.OwnCredentials = func(h http.Header) []string {
			if h.Get("X-Hooklab-Webhook-Id") == "own" {
				return []string{"X-Partner"}
			}
			return nil
		}
	})
	for _, tc := range []struct{ webhook, want string }{{"own", inspect.Redacted}, {"", "k3y"}} {
		req, _ := http.NewRequest("POST", srv.URL+"/hook", strings.NewReader("{}"))
		req.Header.Set("X-Partner", "k3y")
		if tc.webhook != "" {
			req.Header.Set("X-Hooklab-Webhook-Id", tc.webhook)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if v := <-got; v != "k3y" {
			t.Errorf("the upstream got X-Partner %q", v)
		}
		if v := rec.next(t).Request.Headers.Get("X-Partner"); v != tc.want {
			t.Errorf("webhook %q: recorded X-Partner %q, want %q", tc.webhook, v, tc.want)
		}
	}
}

// TestReverseAddsNoHeaders: an answer the upstream sent without a
// Content-Type or a Date reaches the client without them too, as the
// record shows it (net/http sniffed a type, text/html for this body, and
// added a Date).
func TestReverseAddsNoHeaders(t *testing.T) {
	t.Parallel()
	up := rawUpstream(t, "HTTP/1.1 200 OK\r\nContent-Length: 31\r\nConnection: close\r\n\r\n<script>alert(1)</script>hello!")
	srv, rec := start(t, up.URL, nil)
	resp, err := http.Get(srv.URL + "/untyped")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "<script>alert(1)</script>hello!" {
		t.Errorf("body %q", body)
	}
	for _, name := range []string{"Content-Type", "Date"} {
		if v, ok := resp.Header[name]; ok {
			t.Errorf("the client got %s %q, which the upstream did not send", name, v)
		}
	}
	ex := rec.next(t)
	if ex.Response.Headers.Get("Content-Type") != "" || ex.Response.Headers.Get("Date") != "" {
		t.Errorf("recorded headers %v", ex.Response.Headers)
	}
}

// TestCutOffMidAnswerSaysSo: an answer hooklab cut off at its shutdown
// deadline, mid-body, is recorded as stopped by hooklab, not as a client
// that went away.
func TestCutOffMidAnswerSaysSo(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000")
		_, _ = io.WriteString(w, "0123456789")
		http.NewResponseController(w).Flush()
		<-r.Context().Done()
	}))
	defer up.Close()
	cutOff, cut := context.WithCancel(context.Background())
	defer cut()
	rec := newRecorder()
	p, err := proxy.NewReverse(proxy.Options{Name: "api", Routes: []proxy.Route{{Prefix: "/", Upstream: mustURL(t, up.URL)}},
		Record: rec.Record, MaxBody: 1 << 20, CutOff: cutOff})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(p)
	srv.Config.BaseContext = func(net.Listener) context.Context { return cutOff } // as main's requests end at the deadline
	srv.Start()
	t.Cleanup(func() { srv.Close(); p.Wait() })
	resp, err := http.Get(srv.URL + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadFull(resp.Body, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	cut() // the shutdown deadline
	ex := rec.next(t)
	if !strings.HasPrefix(ex.Error, "hooklab stopped after 10 bytes of the answer") {
		t.Errorf("recorded error %q; want hooklab named as the one that stopped it", ex.Error)
	}
}

// rawUpstream answers every request with answer, as bytes on the wire,
// runs then (when given) on the connection, and closes it.
func rawUpstream(t *testing.T, answer string, then ...func(net.Conn)) *httptest.Server {
	t.Helper()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer c.Close()
		buf.WriteString(answer)
		buf.Flush()
		for _, f := range then {
			f(c)
		}
	}))
	t.Cleanup(up.Close)
	return up
}

// TestReverseInformationalHopByHop: an upstream's 103 Early Hints reaches
// the client without the headers that were for the upstream's connection
// (Connection, those it names, Keep-Alive); its Link goes on.
func TestReverseInformationalHopByHop(t *testing.T) {
	t.Parallel()
	up := rawUpstream(t, "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nConnection: keep-alive, X-Hop\r\nX-Hop: secret\r\nKeep-Alive: timeout=3\r\n\r\n"+
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
	srv, rec := start(t, up.URL, nil)
	var got []http.Header
	ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{
		Got1xxResponse: func(code int, h textproto.MIMEHeader) error {
			got = append(got, http.Header(h).Clone())
			return nil
		},
	})
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/page", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if len(got) != 1 {
		t.Fatalf("got %d informational answers, want 1", len(got))
	}
	if got[0].Get("Link") == "" {
		t.Errorf("103 lost its Link: %v", got[0])
	}
	for _, name := range []string{"Connection", "X-Hop", "Keep-Alive"} {
		if v, ok := got[0][name]; ok {
			t.Errorf("103 passed on the hop-by-hop %s %q", name, v)
		}
	}
	rec.next(t)
}

// TestReverseConnectionNamedForwarding: forwarding headers the client's
// Connection header names were for the connection to hooklab; they do not
// go on to the upstream (RFC 9110 7.6.1).
func TestReverseConnectionNamedForwarding(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "Forwarded=%q X-Forwarded-For=%q", r.Header.Values("Forwarded"), r.Header.Values("X-Forwarded-For"))
	}))
	defer up.Close()
	srv, rec := start(t, up.URL, nil)
	req, _ := http.NewRequest("GET", srv.URL+"/x", nil)
	req.Header.Set("Connection", "Forwarded, x-forwarded-for")
	req.Header.Set("Forwarded", "for=9.9.9.9")
	req.Header.Set("X-Forwarded-For", "1.2.3.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `Forwarded=[] X-Forwarded-For=["127.0.0.1"]`; string(b) != want {
		t.Errorf("the upstream got %s, want %s", b, want)
	}
	rec.next(t)
}

// TestReverseRouteSetsHost: a route's request_headers add Host is the Host
// the upstream gets (a virtual host behind one address).
func TestReverseRouteSetsHost(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.Host)
	}))
	defer up.Close()
	srv, rec := start(t, up.URL, func(o *proxy.Options) {
		o.Routes[0].SetRequestHeaders = map[string]string{"host": "shop.example", "X-Env": "dev"}
	})
	resp, err := http.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "shop.example" {
		t.Errorf("the upstream got Host %q, want shop.example", b)
	}
	rec.next(t)
}

// TestReverseHTTP10WithoutHost: a request with no Host (HTTP/1.0) is
// forwarded without an empty X-Forwarded-Host.
func TestReverseHTTP10WithoutHost(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%q", r.Header.Values("X-Forwarded-Host"))
	}))
	defer up.Close()
	srv, rec := start(t, up.URL, nil)
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	fmt.Fprint(c, "GET /x HTTP/1.0\r\n\r\n")
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "[]" {
		t.Errorf("%d: the upstream got X-Forwarded-Host %s, want none", resp.StatusCode, b)
	}
	rec.next(t)
}

// TestReverseStripKeepsEscapedPath: a stripped prefix leaves the rest of
// the path as the client escaped it; an escaped slash (GitLab's
// /projects/group%2Fname) or semicolon is part of a segment, and decoding
// it sent the upstream another path.
func TestReverseStripKeepsEscapedPath(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, r.RequestURI)
	}))
	defer up.Close()
	srv, _ := start(t, up.URL, func(o *proxy.Options) {
		o.Routes = []proxy.Route{
			{Prefix: "/", Upstream: mustURL(t, up.URL)},
			{Prefix: "/api/v4", Upstream: mustURL(t, up.URL), Strip: true},
			{Prefix: "/v3/", Upstream: mustURL(t, up.URL+"/base"), Strip: true},
			{Prefix: "/x y", Upstream: mustURL(t, up.URL+"/sp"), Strip: true},
		}
	})
	for _, tc := range []struct{ path, want string }{
		{"/api/v4/projects/group%2Fname/files?ref=main", "/projects/group%2Fname/files?ref=main"},
		{"/api/v4/a%3Bb;c=d", "/a%3Bb;c=d"},
		{"/api/v4/a%2Bb/c%20d", "/a%2Bb/c%20d"},
		{"/v3/keys/a%2F..%2Fb", "/base/keys/a%2F..%2Fb"},
		{"/v3/plain", "/base/plain"},
		{"/x%20y/a%2Fb", "/sp/a%2Fb"},
		{"/other/a%2Fb", "/other/a%2Fb"},
	} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(got) != tc.want {
			t.Errorf("%s: the upstream got %q, want %q", tc.path, got, tc.want)
		}
	}
}

// TestReverseUntrustedUpstreamSaysWhatToDo: an https upstream with a
// certificate hooklab does not trust (a local service's self-signed one)
// gets a 502 that says how to proxy it anyway.
func TestReverseUntrustedUpstreamSaysWhatToDo(t *testing.T) {
	t.Parallel()
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	srv, rec := start(t, up.URL, nil)
	resp, err := http.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Error string }
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, body error %v", resp.StatusCode, err)
	}
	for _, got := range []string{body.Error, rec.next(t).Error} {
		if !strings.Contains(got, "certificate") || !strings.Contains(got, "--insecure-upstream") {
			t.Errorf("error %q does not say how to reach an upstream with an untrusted certificate", got)
		}
	}
	// Trusted, it is reached.
	srv, rec = start(t, up.URL, func(o *proxy.Options) { o.InsecureUpstream = true })
	resp, err = http.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("with InsecureUpstream: status %d", resp.StatusCode)
	}
	rec.next(t)
}

// An upstream that redirects to its own absolute URL (as frameworks do,
// building it from the Host the proxy sent them, the upstream's own) sends
// the client around the proxy, and the request it follows with is never
// recorded: the Location is given back in the proxy's terms, route prefix
// and all, and left alone when it points anywhere else.
func TestReverseRewritesUpstreamLocation(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", strings.ReplaceAll(r.URL.Query().Get("to"), "SELF", "http://"+r.Host))
		w.WriteHeader(http.StatusFound)
	}))
	defer up.Close()
	srv, rec := start(t, up.URL, func(o *proxy.Options) {
		o.Routes = append(o.Routes, proxy.Route{Prefix: "/v2", Upstream: mustURL(t, up.URL+"/base"), Strip: true})
	})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct{ name, path, to, want string }{
		{"own absolute URL", "/a", "SELF/login?next=%2Fa", srv.URL + "/login?next=%2Fa"},
		{"under a stripped route", "/v2/a", "SELF/base/login", srv.URL + "/v2/login"},
		{"route's base itself", "/v2/a", "SELF/base", srv.URL + "/v2"},
		{"outside the route's base", "/v2/a", "http://" + up.Listener.Addr().String() + "/other", "http://" + up.Listener.Addr().String() + "/other"},
		{"relative", "/a", "/login", "/login"},
		{"relative under a stripped route", "/v2/a", "/base/login?next=%2Fa", "/v2/login?next=%2Fa"},
		{"relative, the route's base itself", "/v2/a", "/base", "/v2"},
		{"relative outside the route's base", "/v2/a", "/other", "/other"},
		{"relative to the path", "/v2/a", "login", "login"},
		{"scheme-relative", "/v2/a", "//" + strings.TrimPrefix(up.URL, "http://") + "/base/x", srv.URL + "/v2/x"},
		{"another host", "/a", "https://sso.example/auth", "https://sso.example/auth"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := noFollow.Get(srv.URL + tc.path + "?to=" + url.QueryEscape(tc.to))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Location"); got != tc.want {
				t.Errorf("Location %q, want %q", got, tc.want)
			}
			ex := rec.next(t)
			if ex.Response.Headers.Get("Location") != tc.want {
				t.Errorf("recorded Location %q, want %q (what the client got)", ex.Response.Headers.Get("Location"), tc.want)
			}
			if orig, _ := ex.Meta["upstream_location"].(string); (tc.want != tc.to && orig == "") || (tc.want == tc.to && orig != "") {
				t.Errorf("meta.upstream_location %q for a Location of %q", orig, tc.to)
			}
		})
	}
}

// A Location is given back in the proxy's terms only where the proxy
// sends that path to the route that answered: one that another route
// takes (a longer prefix, or the "/" route for a path outside a route's
// own) was rewritten all the same, and a client that followed it reached
// another upstream than the one that redirected it.
func TestReverseLocationOfAnotherRoute(t *testing.T) {
	t.Parallel()
	redirect := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Location", strings.ReplaceAll(r.URL.Query().Get("to"), "SELF", "http://"+r.Host))
		w.WriteHeader(http.StatusFound)
	}
	a := httptest.NewServer(http.HandlerFunc(redirect))
	defer a.Close()
	b := httptest.NewServer(http.HandlerFunc(redirect))
	defer b.Close()
	srv, rec := start(t, a.URL, func(o *proxy.Options) {
		o.Routes = append(o.Routes,
			proxy.Route{Prefix: "/v2", Upstream: mustURL(t, b.URL), Strip: true},
			proxy.Route{Prefix: "/api", Upstream: mustURL(t, b.URL)})
	})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tc := range []struct{ name, path, to, want string }{
		{"a path the proxy sends to another route", "/a", "SELF/v2/x", a.URL + "/v2/x"},
		{"outside a route kept whole", "/api/a", "SELF/login", b.URL + "/login"},
		{"inside a route kept whole", "/api/a", "SELF/api/b", srv.URL + "/api/b"},
		{"its own route", "/a", "SELF/b", srv.URL + "/b"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := noFollow.Get(srv.URL + tc.path + "?to=" + url.QueryEscape(tc.to))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Location"); got != tc.want {
				t.Errorf("Location %q, want %q", got, tc.want)
			}
			rec.next(t)
		})
	}
}

// The trailers an upstream sends after its body (gRPC's grpc-status, a
// checksum) reach the client and are recorded in meta.trailers: they
// passed through and were lost to the recording, which showed a gRPC
// call's 200 without the status that said whether it failed.
func TestReverseRecordsTrailers(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Trailer", "Grpc-Status")
		io.WriteString(w, "body")
		w.Header().Set("Grpc-Status", "5")
		w.Header().Set(http.TrailerPrefix+"Grpc-Message", "not found")
	}))
	defer up.Close()
	srv, rec := start(t, up.URL, nil)
	resp, err := http.Get(srv.URL + "/svc.Items/Get")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "body" || resp.Trailer.Get("Grpc-Status") != "5" || resp.Trailer.Get("Grpc-Message") != "not found" {
		t.Fatalf("client got %q, trailers %v", b, resp.Trailer)
	}
	ex := rec.next(t)
	want := inspect.Headers{{Name: "Grpc-Message", Value: "not found"}, {Name: "Grpc-Status", Value: "5"}}
	if got, _ := ex.Meta["trailers"].(inspect.Headers); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("meta.trailers %v, want %v", ex.Meta["trailers"], want)
	}
}

// A client that closes its sending side is taken by the server for gone,
// and the request is canceled; it was sent a 200 that no upstream gave (the
// server's default for a handler that wrote nothing). In the middle of a
// body streamed to the upstream it gets the 400 saying the body broke off,
// as one read whole does; with its request whole, nothing.
func TestReverseHalfClosedClient(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	}))
	defer up.Close()
	srv, rec := start(t, up.URL, func(o *proxy.Options) {
		o.Routes = append(o.Routes, proxy.Route{Prefix: "/slow", Upstream: mustURL(t, up.URL), Delay: rules.Delay{Min: 5 * time.Second, Max: 5 * time.Second}})
	})
	for _, tc := range []struct {
		name         string
		path         string
		length, sent int
		answer       string // the start of what the client reads
		err          string
	}{
		{"small body, read whole", "/upload", 50000, 1000, "HTTP/1.1 400 ", inspect.BodyReadError + "1000 of 50000 bytes: unexpected EOF"},
		{"large body, streamed", "/upload", 1 << 20, 100000, "HTTP/1.1 400 ", inspect.BodyReadError},
		{"whole body, waiting for the upstream", "/upload", 10, 10, "", "client went away"},
		{"during the route's delay", "/slow", 0, 0, "", "client went away during the injected delay"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := net.Dial("tcp", srv.Listener.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s", tc.path, tc.length, bytes.Repeat([]byte("a"), tc.sent))
			c.(*net.TCPConn).CloseWrite()
			_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
			got, _ := io.ReadAll(c)
			c.Close()
			if !strings.HasPrefix(string(got), tc.answer) || tc.answer == "" && len(got) > 0 {
				t.Errorf("the client read %q, want %q...", got, tc.answer)
			}
			ex := rec.next(t)
			if !strings.HasPrefix(ex.Error, tc.err) || (tc.answer == "") != (ex.Response == nil) {
				t.Errorf("recorded response %+v, error %q", ex.Response, ex.Error)
			}
		})
	}
}

// countConns returns an upstream that counts the connections open to it.
func countConns(t *testing.T) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var open atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	up.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	up.Start()
	t.Cleanup(up.Close)
	return up, &open
}

// waitClosed waits for every connection counted by countConns to close.
func waitClosed(t *testing.T, open *atomic.Int64, what string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for open.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections to the upstream still open 5s after %s", open.Load(), what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestShutdownDropsIdleUpstreamConnections: Shutdown lets go of the
// keep-alive connections the proxy's own transport holds to its
// upstreams; they stayed open (with their goroutines) for the idle
// timeout, 90 s after the proxy was gone.
func TestShutdownDropsIdleUpstreamConnections(t *testing.T) {
	t.Parallel()
	t.Run("reverse", func(t *testing.T) {
		t.Parallel()
		up, open := countConns(t)
		rec := newRecorder()
		p, err := proxy.NewReverse(proxy.Options{Name: "api", Routes: []proxy.Route{{Prefix: "/", Upstream: mustURL(t, up.URL)}}, Record: rec.Record})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(p)
		resp, err := srv.Client().Get(srv.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		rec.next(t)
		if n := open.Load(); n != 1 {
			t.Fatalf("%d connections open to the upstream after one request; want 1 (kept alive)", n)
		}
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, open, "Shutdown")
	})
	t.Run("forward", func(t *testing.T) {
		t.Parallel()
		up, open := countConns(t)
		rec := newRecorder()
		f, err := proxy.NewForward(proxy.Options{Name: "fwd", Record: rec.Record})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(f)
		client := proxyClient(mustURL(t, srv.URL), nil, false)
		resp, err := client.Get(up.URL + "/x")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		client.CloseIdleConnections()
		rec.next(t)
		if n := open.Load(); n != 1 {
			t.Fatalf("%d connections open to the upstream after one request; want 1 (kept alive)", n)
		}
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := f.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, open, "Shutdown")
	})
}

// TestReverseUpstreamAnsweringTLSSaysSo: an upstream given as http:// that
// answers with a TLS record (an alert, as TLS stacks answer a request that
// is not TLS) gets a 502 whose message, and the recorded error, ask whether
// it is https. A bare EOF, or an answer that is neither HTTP nor TLS, is
// not taken for TLS.
func TestReverseUpstreamAnsweringTLSSaysSo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, answer string
		hint         bool
	}{
		{"alert", "\x15\x03\x01\x00\x02\x02\x46", true},
		{"handshake", "\x16\x03\x03\x00\x04\x0e\x00\x00\x00", true},
		{"nothing", "", false},
		{"not TLS", "\x15\x09\x01\x00\x02\x02\x46", false},
		{"text", "hello\r\n", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			up := rawUpstream(t, tc.answer)
			srv, rec := start(t, up.URL, nil)
			resp, err := http.Get(srv.URL + "/x")
			if err != nil {
				t.Fatal(err)
			}
			var body struct{ Error string }
			err = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
			if err != nil || resp.StatusCode != http.StatusBadGateway {
				t.Fatalf("status %d, body error %v", resp.StatusCode, err)
			}
			hint := "is the upstream https? give it as https://" + strings.TrimPrefix(up.URL, "http://")
			for _, got := range []string{body.Error, rec.next(t).Error} {
				if strings.Contains(got, hint) != tc.hint || strings.Contains(got, "https?") != tc.hint {
					t.Errorf("error %q: hint given %v, want %v", got, !tc.hint, tc.hint)
				}
			}
		})
	}
}

// TestReverseRecordsUpstreamQuerySecretsRedacted: the secret-named query
// values of a route's upstream (?api_key= as hooklab was given it) go to
// the upstream on every request and read REDACTED where the URL a request
// went to is recorded (meta.upstream) and answered (a 502's "upstream"),
// as the startup line shows them; the client's own query is kept as it
// was sent. meta.upstream held the upstream's api_key as given.
func TestReverseRecordsUpstreamQuerySecretsRedacted(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.URL.RawQuery)
	}))
	defer up.Close()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // nothing listens there now
	srv, rec := start(t, up.URL+"/base?api_key=UP-s3cret&x=1&Token=UP-tok", func(o *proxy.Options) {
		o.Routes = append(o.Routes, proxy.Route{Prefix: "/dead", Upstream: mustURL(t, dead.URL+"/?access_token=DEAD-s3cret"), Strip: true})
	})
	resp, err := http.Get(srv.URL + "/orders?token=client-own&y=2")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := "api_key=UP-s3cret&x=1&Token=UP-tok&token=client-own&y=2"; string(b) != want {
		t.Errorf("the upstream got ?%s, want ?%s", b, want)
	}
	ex := rec.next(t)
	if got, want := ex.Meta["upstream"], up.URL+"/base/orders?api_key=REDACTED&x=1&Token=REDACTED&token=client-own&y=2"; got != want {
		t.Errorf("meta.upstream %v, want %v", got, want)
	}
	resp, err = http.Get(srv.URL + "/dead/x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	ex = rec.next(t)
	want := dead.URL + "/x?access_token=REDACTED"
	if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), `"upstream":"`+want+`"`) {
		t.Errorf("dead upstream: %d %s, want the upstream %s", resp.StatusCode, b, want)
	}
	if got := ex.Meta["upstream"]; got != want || strings.Contains(string(ex.Response.Body), "DEAD-s3cret") {
		t.Errorf("dead upstream: meta.upstream %v, want %v; recorded answer %s", got, want, ex.Response.Body)
	}
}

// TestReverseUpstreamClosingWithoutAnswerSaysSo: an upstream that accepts
// the connection and closes it without a byte of answer (a crashed
// handler, a server that drops what it cannot parse), or after some of
// its headers, is told in those words, not as a bare "EOF" or
// "unexpected EOF".
func TestReverseUpstreamClosingWithoutAnswerSaysSo(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, sends, want string }{
		{"nothing", "", "closed the connection without answering"},
		{"half its headers", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n", "closed the connection in the middle of its answer's headers"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			go func() {
				for {
					c, err := ln.Accept()
					if err != nil {
						return
					}
					go func() {
						defer c.Close()
						_, _ = bufio.NewReader(c).ReadString('\n') // the request line
						_, _ = io.WriteString(c, tc.sends)
					}()
				}
			}()
			srv, rec := start(t, "http://"+ln.Addr().String(), nil)
			for _, method := range []string{http.MethodGet, http.MethodPost} {
				req, _ := http.NewRequest(method, srv.URL+"/x", strings.NewReader("body"))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusBadGateway || !strings.Contains(string(b), tc.want) {
					t.Errorf("%s: answer %d %s, want 502 saying it %s", method, resp.StatusCode, b, tc.want)
				}
				if ex := rec.next(t); !strings.Contains(ex.Error, tc.want) {
					t.Errorf("%s: recorded error %q", method, ex.Error)
				}
			}
		})
	}
}

// TestReverseRecordsChunkedAnswerAsSent: an upstream's chunked answer is
// recorded with its Transfer-Encoding, as a chunked request is: net/http
// takes it out of the header, and the recording showed an answer with
// neither a length nor a Transfer-Encoding, which no HTTP/1.1 answer
// with a body is. One with a length has no Transfer-Encoding.
func TestReverseRecordsChunkedAnswerAsSent(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/sized" {
			w.Header().Set("Content-Length", "5")
		}
		io.WriteString(w, "chunk")
		w.(http.Flusher).Flush()
	}))
	defer up.Close()
	srv, rec := start(t, up.URL, nil)
	for _, tc := range []struct{ path, te string }{{"/stream", "chunked"}, {"/sized", ""}} {
		resp, err := http.Get(srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "chunk" || strings.Join(resp.TransferEncoding, ",") != tc.te {
			t.Fatalf("%s: client got %q, transfer encoding %v", tc.path, b, resp.TransferEncoding)
		}
		ex := rec.next(t)
		if got := ex.Response.Headers.Get("Transfer-Encoding"); got != tc.te || string(ex.Response.Body) != "chunk" {
			t.Errorf("%s: recorded Transfer-Encoding %q (headers %v), want %q", tc.path, got, ex.Response.Headers, tc.te)
		}
	}
}

// TestReverseHTTPSUpstreamAnsweringHTTPSaysSo: an upstream given as
// https:// that speaks plain HTTP (it answers the TLS hello with a 400 of
// its own) is asked about, "is the upstream http?", as one given as
// http:// that speaks TLS is; the error was only Go's "first record does
// not look like a TLS handshake".
func TestReverseHTTPSUpstreamAnsweringHTTPSaysSo(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer up.Close()
	host := strings.TrimPrefix(up.URL, "http://")
	srv, rec := start(t, "https://"+host, nil)
	resp, err := http.Get(srv.URL + "/x")
	if err != nil {
		t.Fatal(err)
	}
	var body struct{ Error string }
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("status %d, body error %v", resp.StatusCode, err)
	}
	hint := "it answered in plain HTTP, not TLS: is the upstream http? give it as http://" + host
	for _, got := range []string{body.Error, rec.next(t).Error} {
		if !strings.Contains(got, hint) {
			t.Errorf("error %q, want the hint %q", got, hint)
		}
	}
}
