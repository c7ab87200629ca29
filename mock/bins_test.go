package mock_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/mock"
)

func TestMaxBins(t *testing.T) {
	t.Parallel()
	sq, err := inspect.OpenSQLite("", inspect.Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	st := &countingStore{Store: sq}
	capture := mock.New(mock.Config{Store: st, MaxBins: 3})
	srv := httptest.NewServer(capture)
	defer srv.Close()
	post := func(path string) int { return postStatus(t, srv.URL+path) }
	for _, b := range []string{"a", "b", "c"} {
		if got := post("/b/" + b + "/x"); got != 200 {
			t.Fatalf("bin %s: %d", b, got)
		}
	}
	if got := post("/b/d/x"); got != http.StatusTooManyRequests {
		t.Errorf("a fourth bin: %d, want 429", got)
	}
	if got := post("/b/a/again"); got != 200 {
		t.Errorf("a known bin: %d", got)
	}
	if got := post("/anything"); got != 200 {
		t.Errorf("the default bin: %d", got)
	}
	if _, err := st.Clear(context.Background(), "b"); err != nil {
		t.Fatal(err)
	}
	capture.BinsChanged(context.Background(), "b") // as the API says after a clear
	if got := post("/b/d/x"); got != 200 {
		t.Errorf("a new bin after clearing one: %d", got)
	}
	// At the limit, new names are refused without asking the store each
	// time (a sender spraying bin names), and never let past the limit.
	// The store is asked at most once a second, so at most once more for
	// each second the spray took (under -race on a loaded machine 50
	// requests took more than one).
	before, start := st.bins.Load(), time.Now()
	for i := range 50 {
		if got := post(fmt.Sprintf("/b/spray%d/x", i)); got != http.StatusTooManyRequests {
			t.Fatalf("spray %d: %d, want 429", i, got)
		}
	}
	took := time.Since(start)
	if n, most := st.bins.Load()-before, 1+int64(took/time.Second); n > most {
		t.Errorf("the store counted bins %d times for 50 refused names in %v, want at most %d (once a second)", n, took, most)
	}
}

// TestMaxBinsForgetsRetainedBins: a bin whose exchanges retention removed
// is no longer counted (it was, for ten minutes after it was let in, as
// if its first request were still arriving).
func TestMaxBinsForgetsRetainedBins(t *testing.T) {
	t.Parallel()
	st, err := inspect.OpenSQLite("", inspect.Options{Memory: true, RetainCount: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(mock.New(mock.Config{Store: st, MaxBins: 3}))
	defer srv.Close()
	for _, b := range []string{"a1", "a2", "a3"} {
		if got := postStatus(t, srv.URL+"/b/"+b+"/x"); got != 200 {
			t.Fatalf("bin %s: %d", b, got)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		bins, err := st.Bins(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if len(bins) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("retention kept %v", bins)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(1100 * time.Millisecond) // the capture counts again at most once a second
	if got := postStatus(t, srv.URL+"/b/a4/x"); got != 200 {
		t.Errorf("a bin after retention removed one (2 of 3 left): %d, want 200", got)
	}
}

// countingStore counts the store's bin counts.
type countingStore struct {
	inspect.Store
	bins atomic.Int64
}

func (s *countingStore) Bins(ctx context.Context) ([]inspect.Bin, error) {
	s.bins.Add(1)
	return s.Store.Bins(ctx)
}

// TestBinAfterDoubleSlash: the printed capture URL ends in a slash, so
// "$CAPTURE/b/stripe/hook" sends //b/stripe/hook: that is bin stripe.
func TestBinAfterDoubleSlash(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ path, bin, rest string }{
		{"//b/stripe/hook", "stripe", "/hook"},
		{"///b/stripe/", "stripe", "/"},
		{"/b/stripe/hook", "stripe", "/hook"},
		{"//other/b/x", inspect.DefaultBin, "//other/b/x"},
		{"//", inspect.DefaultBin, "//"},
	} {
		bin, rest, err := mock.SplitBin(tc.path)
		if err != nil || bin != tc.bin || rest != tc.rest {
			t.Errorf("SplitBin(%q) = %q, %q, %v; want %q, %q", tc.path, bin, rest, err, tc.bin, tc.rest)
		}
	}
	st, err := inspect.OpenSQLite("", inspect.Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(mock.New(mock.Config{Store: st}))
	defer srv.Close()
	resp, err := http.Post(srv.URL+"//b/stripe/hook", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ans struct{ Bin string }
	if err := json.NewDecoder(resp.Body).Decode(&ans); err != nil || ans.Bin != "stripe" {
		t.Errorf("answer bin %q, %v; want stripe", ans.Bin, err)
	}
}

// TestMaxBinsUnderABurst: requests into new bins arriving at once never
// make more bins than the limit.
func TestMaxBinsUnderABurst(t *testing.T) {
	t.Parallel()
	st, srv := binsServer(t, 5)
	for round := range 3 {
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Post(fmt.Sprintf("%s/b/burst%d-%d/x", srv.URL, round, i), "text/plain", strings.NewReader("x"))
				if err == nil {
					resp.Body.Close()
				}
			}()
		}
		wg.Wait()
	}
	bins, err := st.Bins(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(bins) != 5 {
		t.Errorf("%d bins stored, want the limit, 5", len(bins))
	}
}

// TestMaxBinsCountsBinsStillArriving: a bin let in whose first request is
// still arriving (nothing stored yet) keeps its place when the bins are
// counted again, so the limit holds.
func TestMaxBinsCountsBinsStillArriving(t *testing.T) {
	t.Parallel()
	st, srv := binsServer(t, 2)
	post := func(path string) int { return postStatus(t, srv.URL+path) }
	if got := post("/b/a/x"); got != 200 {
		t.Fatalf("bin a: %d", got)
	}
	c, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The server says 100 Continue when the handler first reads the body,
	// which it does once the bin is let in.
	fmt.Fprintf(c, "POST /b/slow/x HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")
	br := bufio.NewReader(c)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusContinue {
		t.Fatalf("the slow request, before its body: %v %v; want 100 Continue", resp, err)
	}
	fmt.Fprint(c, "01") // let in, its body still coming
	if got := post("/b/c/x"); got != http.StatusTooManyRequests {
		t.Errorf("a third bin: %d, want 429", got)
	}
	// The bins counted again (as at most once a second when the limit is
	// reached; here at once).
	srv.Config.Handler.(*mock.Capture).BinsChanged(context.Background(), "none-such")
	if got := post("/b/d/x"); got != http.StatusTooManyRequests {
		t.Errorf("a third bin after a recount: %d, want 429", got)
	}
	fmt.Fprint(c, "23456789")
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("the slow request: %v %v", resp, err)
	}
	bins, _ := st.Bins(context.Background())
	if len(bins) != 2 {
		t.Errorf("%d bins stored, want 2: %+v", len(bins), bins)
	}
}

// binsServer serves a capture with at most maxBins bins, into a store in
// memory; both close when the test ends.
func binsServer(t *testing.T, maxBins int) (*inspect.SQLite, *httptest.Server) {
	t.Helper()
	st, err := inspect.OpenSQLite("", inspect.Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv := httptest.NewServer(mock.New(mock.Config{Store: st, MaxBins: maxBins}))
	t.Cleanup(srv.Close)
	return st, srv
}

// postStatus posts a small body to u and returns the answer's status.
func postStatus(t *testing.T, u string) int {
	t.Helper()
	resp, err := http.Post(u, "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
