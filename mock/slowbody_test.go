package mock_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/mock"
)

// TestSlowBodyGets408: a body that stops coming is cut off with a 408
// once its time is up (BodyGrace, plus a second per 64 KiB declared), and
// what arrived is recorded; the connection's slot is free again.
func TestSlowBodyGets408(t *testing.T) {
	t.Parallel()
	store, err := inspect.OpenSQLite("", inspect.Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	capture := mock.New(mock.Config{Store: store, Logger: slog.New(slog.DiscardHandler), BodyGrace: 300 * time.Millisecond})
	srv := httptest.NewServer(capture)
	defer srv.Close()

	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "POST /b/slow/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nfirst bytes")
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, _ := io.ReadAll(c) // the server answers and closes
	if took := time.Since(start); !strings.HasPrefix(string(b), "HTTP/1.1 408") || took > 5*time.Second {
		t.Fatalf("a stalled body got, after %v:\n%s", took, b)
	}
	if !strings.Contains(string(b), "the request body stopped coming: 11 bytes in") {
		t.Errorf("the answer does not say why:\n%s", b)
	}
	sums, _, err := store.List(context.Background(), inspect.Query{Bin: "slow"})
	if err != nil || len(sums) != 1 {
		t.Fatalf("recorded %d, %v", len(sums), err)
	}
	ex, _ := store.Get(context.Background(), sums[0].ID)
	if ex.Response == nil || ex.Response.Status != http.StatusRequestTimeout || string(ex.Request.Body) != "first bytes" {
		t.Errorf("recorded response %+v body %q", ex.Response, ex.Request.Body)
	}

	// A huge declared length buys no time: a trickle is cut off too.
	c2, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	io.WriteString(c2, "POST /b/slow/trickle HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n")
	go func() {
		for range 100 {
			if _, err := c2.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	start = time.Now()
	_ = c2.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, _ = io.ReadAll(c2)
	if took := time.Since(start); !strings.HasPrefix(string(b), "HTTP/1.1 408") || took > 4*time.Second {
		t.Errorf("a trickling body with a huge length got, after %v:\n%s", took, b)
	}

	// A body that arrives in time is not cut.
	resp, err := http.Post(srv.URL+"/b/slow/quick", "text/plain", strings.NewReader("all of it"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a body in time: %d", resp.StatusCode)
	}
}
