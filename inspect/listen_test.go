package inspect

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// limitServer serves "ok" on a LimitListener of n places that evicts
// connections idle for after, its ConnState hook set.
func limitServer(t *testing.T, n int, after time.Duration) string {
	t.Helper()
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln := LimitListener(raw, n)
	ln.(*limitListener).evictAfter = after
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = io.WriteString(w, "ok")
	}), ConnState: ConnStateHook(ln)}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return raw.Addr().String()
}

// TestLimitEvictsOnlyLongIdle: a keep-alive connection idle a moment (its
// next request may be on the way: here, begun) keeps its place, and the
// newcomer gets the 503; one idle over evictAfter gives its place up.
func TestLimitEvictsOnlyLongIdle(t *testing.T) {
	t.Parallel()
	addr := limitServer(t, 1, evictAfter)
	a, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	br := bufio.NewReader(a)
	get := func(c net.Conn, r *bufio.Reader) (int, error) {
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	if code, err := get(a, br); err != nil || code != 200 {
		t.Fatalf("first request: %d %v", code, err)
	}
	fmt.Fprintf(a, "POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n") // the next one, begun
	time.Sleep(50 * time.Millisecond)
	b, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if code, err := get(b, bufio.NewReader(b)); err != nil || code != http.StatusServiceUnavailable {
		t.Errorf("a newcomer while the place's connection is busy: %d %v; want 503", code, err)
	}
	fmt.Fprintf(a, "\r\nhi")
	_ = a.SetReadDeadline(time.Now().Add(3 * time.Second))
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("the request on the kept connection was cut off: %v", err)
	}
	resp.Body.Close()

	time.Sleep(evictAfter + 200*time.Millisecond) // idle long enough now
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if code, err := get(c, bufio.NewReader(c)); err != nil || code != 200 {
		t.Errorf("a newcomer with the place's connection idle %v: %d %v; want 200", evictAfter, code, err)
	}
}

// TestLimitKeepsBusyKeepAlives: clients that hold their connections and
// keep posting (idle a moment between requests) lose no request while
// newcomers knock at the limit. The eviction age is a minute here: on a
// loaded machine a client may stall over a second between requests, and
// its connection is then rightly given up.
func TestLimitKeepsBusyKeepAlives(t *testing.T) {
	t.Parallel()
	addr := limitServer(t, 2, time.Minute)
	stop := make(chan struct{})
	var failed, sent atomic.Int64
	var wg, ready sync.WaitGroup
	for range 2 {
		ready.Add(1)
		wg.Go(func() {
			c := &http.Client{Transport: &http.Transport{MaxConnsPerHost: 1, MaxIdleConnsPerHost: 1}}
			defer c.CloseIdleConnections()
			// Its connection first, before anyone knocks.
			if resp, err := c.Post("http://"+addr+"/hook", "application/json", strings.NewReader(`{}`)); err != nil {
				t.Error(err)
			} else {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
			ready.Done()
			ready.Wait()
			for range 300 {
				resp, err := c.Post("http://"+addr+"/hook", "application/json", strings.NewReader(`{"a":1}`))
				sent.Add(1)
				if err != nil {
					failed.Add(1)
					continue
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
	ready.Wait()
	knocked := make(chan struct{})
	go func() {
		defer close(knocked)
		for {
			select {
			case <-stop:
				return
			default:
			}
			if c, err := net.Dial("tcp", addr); err == nil {
				_, _ = c.Write([]byte("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
				_ = c.SetReadDeadline(time.Now().Add(time.Second))
				_, _ = io.Copy(io.Discard, c)
				c.Close()
			}
			time.Sleep(2 * time.Millisecond)
		}
	}()
	wg.Wait()
	close(stop)
	<-knocked
	if n := failed.Load(); n > 0 {
		t.Errorf("%d of %d POSTs from clients holding their connections failed", n, sent.Load())
	}
}

func TestServerURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ in, want string }{
		{"127.0.0.1:4040", "http://127.0.0.1:4040"},
		{"http://127.0.0.1:4040/", "http://127.0.0.1:4040"},
		{"https://hooks.test/hooklab/", "https://hooks.test/hooklab"},
		{"localhost:1", "http://localhost:1"},
		{":4040", "http://127.0.0.1:4040"},
		{":4040/", "http://127.0.0.1:4040"},
		{"http://:4040", "http://127.0.0.1:4040"},
		{"https://:4443/hooklab/", "https://127.0.0.1:4443/hooklab"},
		{"http://user:pw@:4040", "http://user:pw@127.0.0.1:4040"},
		{":", ""},
		{"http://:", ""},
		{"ftp://127.0.0.1:4040", ""},
		{"http://", ""},
		{"", ""},
		{"http://127.0.0.1:4040?bin=x", ""},
		{"http://127.0.0.1:4040/#x", ""},
		{"http://127.0.0.1:4040#", ""},
		{"http://127.0.0.1:4040?", ""},
	} {
		got, err := ServerURL(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ServerURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestFitConns(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		max   int
		files uint64
		want  int
	}{
		{4096, 1 << 20, 4096}, // a usual hard limit: as asked
		{4096, 16640, 4096},   // just fits: 4*4096 + 256
		{4096, 16639, 4095},
		{4096, 4096, 960}, // the tester's ulimit -n 4096
		{4096, 1024, 192},
		{100, 1024, 100},
		{4096, 300, 16}, // never below 16
		{8, 100, 8},
	} {
		if got := FitConns(c.max, c.files); got != c.want {
			t.Errorf("FitConns(%d, %d) = %d, want %d", c.max, c.files, got, c.want)
		}
	}
}
