package proxy_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/internal/heaptest"
	"github.com/hooklab/hooklab/proxy"
	"github.com/hooklab/hooklab/rules"
)

// cutSays is how the Meta of a body recorded cut for want of places
// begins.
const cutSays = "recorded to 64 KiB: "

// echo answers a request with its body, once it has all come (an HTTP/1
// handler that answers while it reads has the rest of the body discarded,
// or its connection closed, by net/http).
func echo(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	_, _ = w.Write(b)
}

// checkBody reports what is wrong with a recorded body of sent, which is
// either whole or, for want of places, cut at proxy.LargeBody and said so
// in meta[key].
func checkBody(got []byte, size int64, truncated bool, meta map[string]any, key string, sent []byte) string {
	if size != int64(len(sent)) {
		return fmt.Sprintf("%s: size %d, want %d", key, size, len(sent))
	}
	if bytes.Equal(got, sent) && !truncated {
		return ""
	}
	why, _ := meta[key].(string)
	if !bytes.Equal(got, sent[:proxy.LargeBody]) || !truncated || !strings.HasPrefix(why, cutSays) {
		return fmt.Sprintf("%s: recorded %d bytes (truncated %v, %q), want all %d or the first %d with the reason", key, len(got), truncated, why, len(sent), proxy.LargeBody)
	}
	return ""
}

// Many large bodies at once through a proxy are not each recorded whole
// at the same time: without a bound the heap grew by 300 MiB and more
// here (each body kept, and copied for the record, both ways), and 200
// clients posting 6 MB each took hooklab to 4.7 GB. Under a MaxBody of
// LargeBodyBudget one body is recorded past 64 KiB at a time; the others
// are recorded cut, saying why, and every client gets every byte back.
func TestLargeBodiesBoundedThroughProxy(t *testing.T) {
	const n = 32
	body := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16)
	sum := sha256.Sum256(body)
	// Each request's body is checked as it comes and answered with the
	// same bytes: the upstream holds none of them.
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		if _, err := io.Copy(h, r.Body); err != nil || !bytes.Equal(h.Sum(nil), sum[:]) {
			http.Error(w, "not the body sent", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		_, _ = w.Write(body)
	}))
	defer up.Close()
	var (
		mu       sync.Mutex
		problems []string
		whole    int
	)
	srv, _ := start(t, up.URL, func(o *proxy.Options) {
		o.MaxBody = proxy.LargeBodyBudget
		o.Record = func(_ context.Context, ex *inspect.Exchange) error {
			// Checked and let go: the test must not hold the records.
			mu.Lock()
			defer mu.Unlock()
			if p := checkBody(ex.Request.Body, ex.Request.Size, ex.Request.Truncated, ex.Meta, "request_body", body); p != "" {
				problems = append(problems, p)
			}
			if ex.Response == nil {
				problems = append(problems, "no response: "+ex.Error)
				return nil
			}
			if p := checkBody(ex.Response.Body, ex.Response.Size, ex.Response.Truncated, ex.Meta, "response_body", body); p != "" {
				problems = append(problems, p)
			}
			if !ex.Request.Truncated || !ex.Response.Truncated {
				whole++
			}
			return nil
		}
	})
	client := &http.Client{Timeout: 2 * time.Minute}
	stop := heaptest.Rise()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			resp, err := client.Post(srv.URL+"/up", "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			h := sha256.New()
			if _, err := io.Copy(h, resp.Body); err != nil || !bytes.Equal(h.Sum(nil), sum[:]) {
				errs[i] = fmt.Errorf("%d: the answer is not the body sent back (%v)", resp.StatusCode, err)
			}
		})
	}
	wg.Wait()
	grew := stop()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	if grew > 64<<20 {
		t.Errorf("the heap grew by %d MiB while %d bodies of 4 MiB went through at once both ways; want it bounded (under 64 MiB)", grew>>20, n)
	}
	t.Logf("heap grew by %d MiB", grew>>20)
	srv.Close()
	// start's cleanup waits for the records too; these must be in.
	mu.Lock()
	defer mu.Unlock()
	for _, p := range problems {
		t.Error(p)
	}
	if whole == 0 {
		t.Error("no body was recorded whole")
	}
}

// streamHoldingPlaces serves a stream that sends more than proxy.LargeBody and
// then stays open until release is closed, through a proxy whose MaxBody
// makes one body hold every place (opt, when not nil, sets more options).
func streamHoldingPlaces(t *testing.T, opt func(*proxy.Options)) (srv *httptest.Server, rec *recorder, release chan struct{}, stream *http.Response) {
	t.Helper()
	release = make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/events":
			w.Header().Set("Content-Type", "text/event-stream")
			for range 128 {
				fmt.Fprintf(w, "data: %s\n\n", strings.Repeat("e", 1<<10))
			}
			http.NewResponseController(w).Flush()
			select {
			case <-release:
			case <-r.Context().Done():
			}
		case "/download":
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(bytes.Repeat([]byte("d"), 1<<20))
		default:
			echo(w, r)
		}
	}))
	t.Cleanup(up.Close)
	rec = newRecorder()
	o := proxy.Options{Name: "api", Routes: []proxy.Route{{Prefix: "/", Upstream: mustURL(t, up.URL)}}, Record: rec.Record, MaxBody: proxy.LargeBodyBudget}
	if opt != nil {
		opt(&o)
	}
	p, err := proxy.NewReverse(o)
	if err != nil {
		t.Fatal(err)
	}
	srv = httptest.NewUnstartedServer(p)
	srv.Config.Protocols = new(http.Protocols) // HTTP/1.1 and h2c, as hooklab's proxy listeners
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(func() { srv.Close(); p.Wait() })
	resp, err := http.Get(srv.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	// Past LargeBody: the stream's record holds every place.
	if _, err := io.ReadFull(resp.Body, make([]byte, 128*(1<<10+8))); err != nil {
		t.Fatal(err)
	}
	return srv, rec, release, resp
}

// A stream that holds the places (server-sent events past 64 KiB, kept
// open) holds up no other exchange: a large upload and a large download
// go through whole meanwhile, over HTTP/1 and h2c, and are recorded cut
// at 64 KiB, saying why. Once the stream is over, its places are given
// back: it is recorded whole, and so are large bodies again.
//
// Not parallel, nor the next: TestReverseStreamsLargeBodiesWithoutBuffering
// reads the process's heap.
func TestLargeBodiesPassWhileStreamHoldsPlaces(t *testing.T) {
	srv, rec, release, stream := streamHoldingPlaces(t, nil)
	upload := bytes.Repeat([]byte("u"), 1<<20)
	h2 := &http.Transport{Protocols: new(http.Protocols)}
	h2.Protocols.SetUnencryptedHTTP2(true)
	defer h2.CloseIdleConnections()
	for _, tr := range []*http.Transport{{}, h2} {
		client := &http.Client{Timeout: 30 * time.Second, Transport: tr}
		resp, err := client.Post(srv.URL+"/up", "application/octet-stream", bytes.NewReader(upload))
		if err != nil {
			t.Fatalf("an upload while a stream holds the places: %v", err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, upload) {
			t.Fatalf("an upload while a stream holds the places: got %d bytes back, %v", len(got), err)
		}
		ex := rec.next(t)
		if p := checkBody(ex.Request.Body, ex.Request.Size, ex.Request.Truncated, ex.Meta, "request_body", upload); p != "" || !ex.Request.Truncated {
			t.Errorf("%s upload: %s (truncated %v)", resp.Proto, p, ex.Request.Truncated)
		}
		if p := checkBody(ex.Response.Body, ex.Response.Size, ex.Response.Truncated, ex.Meta, "response_body", upload); p != "" || !ex.Response.Truncated {
			t.Errorf("%s upload's answer: %s (truncated %v)", resp.Proto, p, ex.Response.Truncated)
		}

		resp, err = client.Get(srv.URL + "/download")
		if err != nil {
			t.Fatalf("a download while a stream holds the places: %v", err)
		}
		got, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		want := bytes.Repeat([]byte("d"), 1<<20)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("a download while a stream holds the places: got %d bytes, %v", len(got), err)
		}
		ex = rec.next(t)
		if p := checkBody(ex.Response.Body, ex.Response.Size, ex.Response.Truncated, ex.Meta, "response_body", want); p != "" || !ex.Response.Truncated {
			t.Errorf("%s download: %s (truncated %v)", resp.Proto, p, ex.Response.Truncated)
		}
	}

	close(release)
	if _, err := io.Copy(io.Discard, stream.Body); err != nil {
		t.Fatal(err)
	}
	ex := rec.next(t)
	if ex.Response.Truncated || ex.Response.Size != 128*(1<<10+8) || ex.Meta["response_body"] != nil {
		t.Errorf("the stream recorded %d of %d bytes (truncated %v), meta %v", len(ex.Response.Body), ex.Response.Size, ex.Response.Truncated, ex.Meta)
	}
	recordsWhole(t, srv.URL, rec)
}

// recordsWhole posts a large body until one is recorded whole, which it is
// once the places are free: the exchange before gives them back just after
// it is handed to Record.
func recordsWhole(t *testing.T, url string, rec *recorder) {
	t.Helper()
	body := bytes.Repeat([]byte("w"), 256<<10)
	client := &http.Client{Timeout: 30 * time.Second}
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := client.Post(url+"/up", "application/octet-stream", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ex := rec.next(t)
		if !ex.Request.Truncated && bytes.Equal(ex.Request.Body, body) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("large bodies are still recorded cut (%q) 10 s after the exchange holding the places ended", ex.Meta["request_body"])
		}
		time.Sleep(time.Millisecond)
	}
}

// An exchange gives its places back however its bodies end: a client or
// an upstream gone in the middle of the request's body or the answer's.
// After each, with a MaxBody that makes one body hold every place, a
// large body is recorded whole again.
func TestLargeBodyGoneGivesPlacesBack(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/read-then-go": // gone mid-request body
			_, _ = io.CopyN(io.Discard, r.Body, 1<<20)
			panic(http.ErrAbortHandler)
		case "/answer-then-go": // gone mid-answer
			w.Header().Set("Content-Length", fmt.Sprint(8<<20))
			_, _ = w.Write(bytes.Repeat([]byte("a"), 1<<20))
			http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler)
		case "/long-answer": // its client goes mid-answer
			w.Header().Set("Content-Length", fmt.Sprint(8<<20))
			_, _ = w.Write(bytes.Repeat([]byte("a"), 1<<20))
			http.NewResponseController(w).Flush()
			<-r.Context().Done()
		default:
			echo(w, r)
		}
	}))
	defer up.Close()
	client := &http.Client{Timeout: 30 * time.Second}
	cases := []struct {
		name string
		do   func(t *testing.T, srv *httptest.Server)
	}{
		{"client gone mid-request", func(t *testing.T, srv *httptest.Server) {
			c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(c, "POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", 8<<20)
			_, _ = c.Write(make([]byte, 1<<20))
			c.Close()
		}},
		{"upstream gone mid-request", func(t *testing.T, srv *httptest.Server) {
			resp, err := client.Post(srv.URL+"/read-then-go", "application/octet-stream", bytes.NewReader(make([]byte, 8<<20)))
			if err == nil {
				resp.Body.Close()
			}
		}},
		{"upstream gone mid-answer", func(t *testing.T, srv *httptest.Server) {
			resp, err := client.Get(srv.URL + "/answer-then-go")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}},
		{"client gone mid-answer", func(t *testing.T, srv *httptest.Server) {
			resp, err := client.Get(srv.URL + "/long-answer")
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.ReadFull(resp.Body, make([]byte, 512<<10))
			resp.Body.Close()
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, rec := start(t, up.URL, func(o *proxy.Options) { o.MaxBody = proxy.LargeBodyBudget })
			c.do(t, srv)
			ex := rec.next(t)
			passed := ex.Request.Size
			if ex.Response != nil {
				passed += ex.Response.Size
			}
			if ex.Error == "" || passed <= proxy.LargeBody {
				t.Errorf("recorded %d bytes, error %q; want what passed (past LargeBody) and why it ended", passed, ex.Error)
			}
			recordsWhole(t, srv.URL, rec)
		})
	}
}

// A body read for mock rules (buffered) past LargeBody takes its places
// too: without them, the rules still see it whole (what they answer must
// not depend on other traffic), the upstream gets it whole and the record
// is cut, saying why; with them, it is read for the rules and recorded
// whole.
func TestInterceptLargeBodyPlaces(t *testing.T) {
	var seen, seenSize atomic.Int64
	srv, rec, release, stream := streamHoldingPlaces(t, func(o *proxy.Options) {
		o.Intercept = func(r *http.Request, req *rules.Request, ex *inspect.Exchange) func(http.ResponseWriter) {
			seen.Store(int64(len(req.Body)))
			seenSize.Store(req.BodySize)
			return nil
		}
	})
	upload := bytes.Repeat([]byte("r"), 1<<20)
	resp, err := http.Post(srv.URL+"/up", "application/octet-stream", bytes.NewReader(upload))
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || !bytes.Equal(got, upload) {
		t.Fatalf("got %d bytes back, %v", len(got), err)
	}
	if seen.Load() != 1<<20 {
		t.Errorf("the rules saw %d bytes (size %d) while the places were taken; want all %d", seen.Load(), seenSize.Load(), 1<<20)
	}
	ex := rec.next(t)
	if p := checkBody(ex.Request.Body, ex.Request.Size, ex.Request.Truncated, ex.Meta, "request_body", upload); p != "" || !ex.Request.Truncated {
		t.Errorf("%s (truncated %v)", p, ex.Request.Truncated)
	}

	close(release)
	if _, err := io.Copy(io.Discard, stream.Body); err != nil {
		t.Fatal(err)
	}
	rec.next(t) // the stream
	recordsWhole(t, srv.URL, rec)
	if seen.Load() != 256<<10 || seenSize.Load() != 0 {
		t.Errorf("with its places, the rules saw %d bytes (size %d); want all %d", seen.Load(), seenSize.Load(), 256<<10)
	}
}
