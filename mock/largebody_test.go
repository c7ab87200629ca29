package mock_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/internal/heaptest"
	"github.com/hooklab/hooklab/mock"
)

// Many large bodies at once must not each be held whole at the same time:
// without a bound the heap grew by 226 MiB here (239 under -race), and 200
// clients posting 6 MB each took hooklab to 4-5 GB; with it, by 33 (53).
// Under max_body 256 MiB a large body takes all of mock.LargeBodyBudget,
// so one is held at a time; every one is still answered and stored whole.
func TestLargeBodiesBounded(t *testing.T) {
	h := newHarness(t, parseConfig(t, "large.yaml", "settings: {max_body: 256MiB}\n"), nil)
	body := bytes.Repeat([]byte("0123456789abcdef"), 4<<20/16)
	const n = 32
	stop := heaptest.Rise()
	var wg sync.WaitGroup
	answers := make([]answer, n)
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			answers[i], errs[i] = h.try(http.MethodPost, "/b/large/x", nil, body, 120*time.Second)
		})
	}
	wg.Wait()
	grew := stop()
	for i := range n {
		if errs[i] != nil || answers[i].Status != http.StatusOK {
			t.Fatalf("request %d: %d %s %v", i, answers[i].Status, answers[i].Body, errs[i])
		}
	}
	if grew > 100<<20 {
		t.Errorf("the heap grew by %d MiB while %d bodies of 4 MiB were posted at once; want it bounded (under 100 MiB)", grew>>20, n)
	}
	t.Logf("heap grew by %d MiB", grew>>20)
	exs := h.exchanges(t, "large")
	if len(exs) != n {
		t.Fatalf("stored %d exchanges, want %d", len(exs), n)
	}
	for _, ex := range exs {
		if !bytes.Equal(ex.Request.Body, body) || ex.Request.Truncated {
			t.Fatalf("stored a body of %d bytes (truncated %v), want the 4 MiB sent", len(ex.Request.Body), ex.Request.Truncated)
		}
	}
}

// smallBuffers gives each connection it accepts a small receive buffer, so
// that a client's write of a few MiB returns only once the handler has
// read most of it.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(64 << 10)
	}
	return c, err
}

// largeServer serves a capture whose max_body, 256 MiB, makes a large
// body take every place: one is held at a time.
func largeServer(t *testing.T, grace time.Duration) (string, *inspect.SQLite) {
	t.Helper()
	store, err := inspect.OpenSQLite("", inspect.Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	capture := mock.New(mock.Config{Store: store, Logger: slog.New(slog.DiscardHandler), MaxBody: mock.LargeBodyBudget, BodyGrace: grace})
	srv := httptest.NewUnstartedServer(capture)
	srv.Listener = smallBuffers{srv.Listener}
	// Requests end before the server closes, as hooklab's do at its
	// shutdown deadline: one left waiting fails the test, not hangs it.
	ctx, endRequests := context.WithCancel(context.Background())
	srv.Config.BaseContext = func(net.Listener) context.Context { return ctx }
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(endRequests)
	return srv.URL, store
}

// holdLarge starts a request whose body declares size bytes and sends
// sent of them, with a small send buffer: when it returns, the handler has
// read past mock.LargeBody, so it holds its places.
func holdLarge(t *testing.T, url, path string, size, sent int) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.(*net.TCPConn).SetWriteBuffer(64 << 10)
	_ = c.SetWriteDeadline(time.Now().Add(time.Minute)) // a handler that never reads on fails the test
	fmt.Fprintf(c, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", path, size)
	if _, err := c.Write(make([]byte, sent)); err != nil {
		t.Fatal(err)
	}
	return c
}

// waitStored waits until bin holds n exchanges, and returns them.
func waitStored(t *testing.T, store *inspect.SQLite, bin string, n int) []inspect.Summary {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		sums, _, err := store.List(context.Background(), inspect.Query{Bin: bin})
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) >= n {
			return sums
		}
		if time.Now().After(deadline) {
			t.Fatalf("bin %s holds %d exchanges after a minute, want %d", bin, len(sums), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// While a large body holds every place: small bodies, of a declared length
// or chunked, are answered at once; a large one waits, reading nothing,
// for longer than its BodyGrace and is not cut off for that; both large
// ones are answered and stored whole once the first has all come.
func TestLargeBodyWaitsSmallDoNot(t *testing.T) {
	t.Parallel()
	url, store := largeServer(t, 300*time.Millisecond)
	const size = 8 << 20
	holder := holdLarge(t, url, "/b/big/holder", size, 4<<20)

	client := &http.Client{Timeout: 30 * time.Second}
	for _, size := range []int{14, mock.LargeBody - 1, mock.LargeBody} {
		for _, chunked := range []bool{false, true} {
			if chunked && size == mock.LargeBody {
				continue // no length known: it may go on, so it takes its places
			}
			var body io.Reader = bytes.NewReader(make([]byte, size))
			if chunked {
				body = io.MultiReader(body) // no length known: sent chunked
			}
			resp, err := client.Post(url+"/b/small/x", "application/octet-stream", body)
			if err != nil {
				t.Fatalf("a body of %d bytes (chunked %v) while the places are held: %v", size, chunked, err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("a body of %d bytes (chunked %v) while the places are held: %d", size, chunked, resp.StatusCode)
			}
		}
	}

	// A second large body waits for the first; its grace (0.3 s, and a
	// second for the 64 KiB read before it waited) runs out meanwhile.
	second := make(chan *http.Response, 1)
	go func() {
		resp, err := client.Post(url+"/b/big/waiter", "application/octet-stream", bytes.NewReader(make([]byte, 1<<20)))
		if err != nil {
			t.Errorf("the waiting large body: %v", err)
		}
		second <- resp
	}()
	time.Sleep(2 * time.Second) // what is tested: a wait longer than the grace
	if _, err := holder.Write(make([]byte, size-4<<20)); err != nil {
		t.Fatal(err)
	}
	_ = holder.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(holder), nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("the holder: %v %v", resp, err)
	}
	if resp := <-second; resp == nil || resp.StatusCode != http.StatusOK {
		b := []byte{}
		if resp != nil {
			b, _ = io.ReadAll(resp.Body)
		}
		t.Fatalf("the large body that waited past its grace: %v %s", resp, b)
	}
	for _, s := range waitStored(t, store, "big", 2) {
		ex, err := store.Get(context.Background(), s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if ex.Error != "" || ex.Request.Truncated || int64(len(ex.Request.Body)) != ex.Request.Size {
			t.Errorf("%s stored %d of %d bytes, error %q", ex.Request.URL, len(ex.Request.Body), ex.Request.Size, ex.Error)
		}
	}
}

// A client that goes away mid-body gives its places back: after three
// did, each holding every place, a large body is answered, and each that
// went is recorded with what arrived.
func TestLargeBodyGoneFreesPlaces(t *testing.T) {
	t.Parallel()
	url, store := largeServer(t, 0)
	for range 3 {
		holdLarge(t, url, "/b/gone/x", 8<<20, 1<<20).Close()
	}
	resp, err := (&http.Client{Timeout: time.Minute}).Post(url+"/b/after/x", "application/octet-stream", bytes.NewReader(make([]byte, 1<<20)))
	if err != nil {
		t.Fatalf("a large body after three clients went mid-body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("a large body after three clients went mid-body: %d", resp.StatusCode)
	}
	for _, s := range waitStored(t, store, "gone", 3) {
		ex, err := store.Get(context.Background(), s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(ex.Error, inspect.BodyReadError) || ex.Request.Size < mock.LargeBody {
			t.Errorf("a client gone mid-body was recorded with %d bytes, error %q", ex.Request.Size, ex.Error)
		}
	}
}

// Over HTTP/2 a large body does not wait for places: streams that read
// nothing would fill the flow-control window of their connection, which
// the one holding the places shares, and stall it until its body timed
// out (when they waited, 8 bodies on one connection got 408s after 30 s
// and more, or no answer in 2 minutes).
func TestLargeBodiesH2OneConnection(t *testing.T) {
	t.Parallel()
	h := newHarnessProto(t, parseConfig(t, "large.yaml", "settings: {max_body: 256MiB}\n"), nil, true)
	tr := &http.Transport{} // kept alive: every request on one connection
	tr.Protocols = new(http.Protocols)
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 2 * time.Minute}
	body := make([]byte, 4<<20)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			resp, err := client.Post(h.URL+"/b/h2/x", "application/octet-stream", bytes.NewReader(body))
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || resp.ProtoMajor != 2 {
				t.Errorf("request %d: %s %d %s", i, resp.Proto, resp.StatusCode, b)
			}
		})
	}
	wg.Wait()
}
