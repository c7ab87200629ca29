package inspect

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/andybalholm/brotli"
)

// testIDs makes the ids of every exchange the tests build, so ids never
// collide across tests that share a store.
var testIDs IDs

// base is a fixed instant the tests build their exchanges around.
var base = time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)

// fakeClock is a clock the tests move by hand; it is safe for concurrent use.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock(t time.Time) *fakeClock {
	c := &fakeClock{}
	c.ns.Store(t.UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// openStore opens a store in dir (or in memory when opts.Memory) and closes
// it when the test ends.
func openStore(t *testing.T, dir string, opts Options) *SQLite {
	t.Helper()
	s, err := OpenSQLite(dir, opts)
	if err != nil {
		t.Fatalf("OpenSQLite(%q): %v", dir, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// storeModes are the two ways a store runs: a file in t.TempDir() and
// --memory.
var storeModes = []struct {
	name   string
	memory bool
}{
	{"file", false},
	{"memory", true},
}

func openMode(t *testing.T, memory bool, opts Options) *SQLite {
	t.Helper()
	opts.Memory = memory
	dir := ""
	if !memory {
		dir = t.TempDir()
	}
	return openStore(t, dir, opts)
}

// exOpt changes an exchange built by newEx.
type exOpt func(*Exchange)

// newEx builds an exchange with a fresh id, a 200 response and no bodies.
func newEx(bin, method, rawURL string, opts ...exOpt) *Exchange {
	ex := &Exchange{
		ID:     testIDs.New(time.Now()),
		Bin:    bin,
		Source: SourceCapture,
		Time:   base,
		Request: Request{
			Method: method, URL: rawURL, Proto: "HTTP/1.1", Host: "127.0.0.1:8080",
			Headers: Headers{{"Host", "127.0.0.1:8080"}}, RemoteAddr: "127.0.0.1:5555",
		},
		Response: &Response{Status: 200, Headers: Headers{{"Content-Type", "application/json"}}},
	}
	for _, o := range opts {
		o(ex)
	}
	return ex
}

func at(t time.Time) exOpt { return func(ex *Exchange) { ex.Time = t } }

func status(code int) exOpt { return func(ex *Exchange) { ex.Response.Status = code } }

func noResponse() exOpt { return func(ex *Exchange) { ex.Response = nil } }

func source(s Source) exOpt { return func(ex *Exchange) { ex.Source = s } }

func reqBody(b []byte) exOpt {
	return func(ex *Exchange) { ex.Request.Body, ex.Request.Size = b, int64(len(b)) }
}

func respBody(b []byte) exOpt {
	return func(ex *Exchange) { ex.Response.Body, ex.Response.Size = b, int64(len(b)) }
}

func reqHeader(name, value string) exOpt {
	return func(ex *Exchange) { ex.Request.Headers = append(ex.Request.Headers, Header{name, value}) }
}

func respHeader(name, value string) exOpt {
	return func(ex *Exchange) { ex.Response.Headers = append(ex.Response.Headers, Header{name, value}) }
}

func withError(s string) exOpt { return func(ex *Exchange) { ex.Error = s } }

// mustAdd adds every exchange, in order.
func mustAdd(t *testing.T, s Store, exs ...*Exchange) {
	t.Helper()
	for _, ex := range exs {
		if err := s.Add(context.Background(), ex); err != nil {
			t.Fatalf("Add(%s): %v", ex.ID, err)
		}
	}
}

// listIDs lists every exchange matching q (following cursors) and returns
// their ids in order.
func listIDs(t *testing.T, s Store, q Query) []string {
	t.Helper()
	var ids []string
	for page := 0; ; page++ {
		if page > 10000 {
			t.Fatal("listing does not end")
		}
		sums, next, err := s.List(context.Background(), q)
		if err != nil {
			t.Fatalf("List(%+v): %v", q, err)
		}
		for _, sm := range sums {
			ids = append(ids, sm.ID)
		}
		if next == "" {
			return ids
		}
		q.Cursor = next
	}
}

func idsOf(exs ...*Exchange) []string {
	out := make([]string, len(exs))
	for i, ex := range exs {
		out[i] = ex.ID
	}
	return out
}

// normalized returns a copy of ex in the form a JSON round trip gives back:
// UTC time, non-nil empty bodies and header lists.
func normalized(ex *Exchange) Exchange {
	c := *ex
	c.Time = c.Time.UTC()
	if c.Request.Body == nil {
		c.Request.Body = []byte{}
	}
	if c.Request.Headers == nil {
		c.Request.Headers = Headers{}
	}
	if ex.Response != nil {
		r := *ex.Response
		if r.Body == nil {
			r.Body = []byte{}
		}
		if r.Headers == nil {
			r.Headers = Headers{}
		}
		c.Response = &r
	}
	return c
}

// sameExchange fails the test when got differs from want, field by field.
func sameExchange(t *testing.T, want, got *Exchange) {
	t.Helper()
	if want == nil || got == nil {
		if want != got {
			t.Fatalf("got %v, want %v", got, want)
		}
		return
	}
	if !bytes.Equal(got.Request.Body, want.Request.Body) {
		t.Errorf("request body = %q, want %q", got.Request.Body, want.Request.Body)
	}
	if (got.Response == nil) != (want.Response == nil) {
		t.Fatalf("response = %+v, want %+v", got.Response, want.Response)
	}
	if want.Response != nil && !bytes.Equal(got.Response.Body, want.Response.Body) {
		t.Errorf("response body = %q, want %q", got.Response.Body, want.Response.Body)
	}
	if !got.Time.Equal(want.Time) {
		t.Errorf("time = %v, want %v", got.Time, want.Time)
	}
	if got.Duration != want.Duration {
		t.Errorf("duration = %v, want %v", got.Duration, want.Duration)
	}
	w, g := normalized(want), normalized(got)
	if !reflect.DeepEqual(g, w) {
		gj, _ := json.Marshal(g)
		wj, _ := json.Marshal(w)
		t.Errorf("exchange differs:\n got %s\nwant %s", gj, wj)
	}
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after %v: still not %s", within, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func wantErrIs(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want one that is %v", err, target)
	}
}

func fmtIDs(ids []string, names map[string]string) string {
	out := make([]string, len(ids))
	for i, id := range ids {
		if n, ok := names[id]; ok {
			out[i] = n
		} else {
			out[i] = id
		}
	}
	return fmt.Sprint(out)
}

// encoded returns s in the content coding named: gzip, deflate (zlib, as
// HTTP says), raw-deflate (as some servers send "deflate") or br.
func encoded(t testing.TB, coding, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	var w io.WriteCloser
	switch coding {
	case "gzip":
		w = gzip.NewWriter(&b)
	case "deflate":
		w = zlib.NewWriter(&b)
	case "raw-deflate":
		w, _ = flate.NewWriter(&b, flate.BestCompression)
	case "br":
		w = brotli.NewWriter(&b)
	default:
		t.Fatalf("encoded: no coding %q", coding)
	}
	if _, err := io.WriteString(w, s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
