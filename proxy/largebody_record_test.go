package proxy_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/proxy"
	"github.com/hooklab/hooklab/rules"
)

// A recorded body holds no more memory than its bytes: a sender that
// announces 8 MiB and sends 128 KiB must not leave an 8 MiB buffer in the
// record, where neither the places (given back once it is recorded) nor
// the recorder's and store's byte bounds (which count len, not cap) see it.
func TestLargeBodyRecordHoldsOnlyItsBytes(t *testing.T) {
	const announced, sent = 8 << 20, 128 << 10
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/short-answer" {
			w.Header().Set("Content-Length", fmt.Sprint(announced))
			_, _ = w.Write(bytes.Repeat([]byte("a"), sent))
			http.NewResponseController(w).Flush()
			panic(http.ErrAbortHandler)
		}
		echo(w, r)
	}))
	defer up.Close()
	check := func(t *testing.T, what string, b []byte) {
		t.Helper()
		if len(b) <= proxy.LargeBody {
			t.Fatalf("%s: recorded %d bytes; want past LargeBody (the places were free)", what, len(b))
		}
		if cap(b) > 2*len(b) {
			t.Errorf("%s: the record keeps %d bytes in a buffer of %d (the announced length)", what, len(b), cap(b))
		}
	}
	t.Run("request", func(t *testing.T) {
		srv, rec := start(t, up.URL, func(o *proxy.Options) { o.MaxBody = announced })
		c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(c, "POST /short HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", announced)
		_, _ = c.Write(make([]byte, sent))
		c.Close()
		ex := rec.next(t)
		check(t, "request", ex.Request.Body)
	})
	t.Run("response", func(t *testing.T) {
		srv, rec := start(t, up.URL, func(o *proxy.Options) { o.MaxBody = announced })
		resp, err := http.Get(srv.URL + "/short-answer")
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		ex := rec.next(t)
		check(t, "response", ex.Response.Body)
	})
}

// A request read for the rules whose upstream cannot be reached is
// recorded with a Size no smaller than the body recorded.
func TestInterceptUpstreamDownRecordsConsistentSize(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "http://" + l.Addr().String()
	l.Close()
	srv, rec := start(t, down, func(o *proxy.Options) {
		o.Intercept = func(*http.Request, *rules.Request, *inspect.Exchange) func(http.ResponseWriter) { return nil }
	})
	body := bytes.Repeat([]byte("b"), 1000)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Post(srv.URL+"/x", "text/plain", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	ex := rec.next(t)
	if int64(len(ex.Request.Body)) > ex.Request.Size {
		t.Errorf("recorded %d body bytes with Size %d (truncated %v)", len(ex.Request.Body), ex.Request.Size, ex.Request.Truncated)
	}
}

// A simulation answers a large JSON request the same however many other
// exchanges hold the places: which answer a client gets must not depend
// on unrelated traffic (here one server-sent event stream past 64 KiB).
func TestSimulationAnswerDoesNotDependOnPlaces(t *testing.T) {
	body := []byte(`{"items":["` + strings.Repeat("x", 100<<10) + `"]}`)
	recorded := &inspect.Exchange{
		ID: "1", Bin: "api", Source: inspect.SourceProxy, Time: time.Now(),
		Request: inspect.Request{Method: "POST", URL: "http://x/orders",
			Headers: inspect.Headers{{Name: "Content-Type", Value: "application/json"}},
			Body:    body, Size: int64(len(body))},
		Response: &inspect.Response{Status: 201, Headers: inspect.Headers{{Name: "Content-Type", Value: "text/plain"}}, Body: []byte("from the simulation"), Size: 19},
	}
	sim, err := proxy.NewSimulation("s", []*inspect.Exchange{recorded}, proxy.SimulateOptions{Miss: proxy.MissProxy})
	if err != nil {
		t.Fatal(err)
	}
	post := func(url string) (int, string) {
		resp, err := (&http.Client{Timeout: 30 * time.Second}).Post(url+"/orders", "application/json", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	srv, rec, release, stream := streamHoldingPlaces(t, func(o *proxy.Options) {
		o.Routes[0].Simulation = sim
	})
	code, got := post(srv.URL)
	if code != 201 || got != "from the simulation" {
		t.Errorf("while a stream holds the places: %d %.60q; want the simulation's 201", code, got)
	}
	// Once the stream is over (and recorded), the same request is
	// answered by the simulation.
	close(release)
	if _, err := io.Copy(io.Discard, stream.Body); err != nil {
		t.Fatal(err)
	}
	rec.next(t) // the stream
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		if code, _ := post(srv.URL); code == 201 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("not answered by the simulation once the stream is over either")
		}
	}
}
