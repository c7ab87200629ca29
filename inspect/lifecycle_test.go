package inspect

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestAddReturnsAfterOnCommit: without a journal (--memory, or a command's
// DirectWrites) Add returned as soon as its row committed, before the
// writer handed it to OnCommit, so Sync, which promises that every Add
// that has returned was handed to OnCommit, did not hold; a wait begun
// right after a capture was answered took that capture, published late,
// for the next one.
func TestAddReturnsAfterOnCommit(t *testing.T) {
	t.Parallel()
	for _, mode := range []struct {
		name string
		opts Options
		dir  bool
	}{
		{"memory", Options{Memory: true}, false},
		{"direct writes", Options{DirectWrites: true}, true},
	} {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			hub := NewHub()
			opts := mode.opts
			// A writer slow to publish (a busy machine) widens the window
			// between the commit and OnCommit.
			opts.OnCommit = func(exs []*Exchange) {
				time.Sleep(50 * time.Millisecond)
				hub.PublishExchanges(exs)
			}
			dir := ""
			if mode.dir {
				dir = t.TempDir()
			}
			st := openStore(t, dir, opts)
			srv := httptest.NewServer(NewAPI(APIConfig{Store: st, Hub: hub, MaxWait: time.Minute,
				CaptureURL: func() string { return "http://127.0.0.1:8080/" }}))
			t.Cleanup(srv.Close)

			answered := newEx("w", "POST", "http://h/answered")
			mustAdd(t, st, answered) // the capture is answered now
			resp, err := http.Get(srv.URL + "/api/exchanges/wait?bin=w&timeout=500ms")
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != http.StatusNoContent {
				t.Errorf("a wait begun after the capture was answered: %d, want 204 (nothing came after it)", resp.StatusCode)
			}

			sub := hub.Subscribe(16, nil)
			defer hub.Unsubscribe(sub)
			next := newEx("w", "POST", "http://h/next")
			mustAdd(t, st, next)
			st.Sync(context.Background())
			select {
			case ev := <-sub.C():
				if ev.Exchange == nil || ev.Exchange.ID != next.ID {
					t.Errorf("published %+v, want exchange %s", ev, next.ID)
				}
			default:
				t.Errorf("Add and Sync returned before OnCommit was given the exchange")
			}
		})
	}
}

// TestGetOfAStoredExchangeDoesNotWaitForTheWriter: while the writer is
// behind the journal (a long clear, a slow disk, another process holding
// the write lock), Get of an exchange already stored answers at once. It
// waited for the writer first, up to 5 s, for every exchange: a list or
// wait with a term that reads each candidate (json:, header:) took 5 s a
// row.
func TestGetOfAStoredExchangeDoesNotWaitForTheWriter(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	behind := make(chan struct{})
	var stall atomic.Bool
	var once sync.Once
	st := openStore(t, t.TempDir(), Options{OnCommit: func([]*Exchange) {
		if stall.Load() {
			once.Do(func() { close(behind) })
			<-release
		}
	}})
	stored := newEx("a", "POST", "http://h/stored")
	mustAdd(t, st, stored)
	st.Sync(context.Background())

	stall.Store(true)
	mustAdd(t, st, newEx("a", "POST", "http://h/pending")) // answered; the writer is held
	<-behind
	defer close(release)
	// Well under caughtUp's 5 s, far over what a read takes.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	got, err := st.Get(ctx, stored.ID)
	if err != nil {
		t.Fatalf("Get of a stored exchange while the writer is behind: %v", err)
	}
	sameExchange(t, stored, got)
}

// TestReadsAfterCloseSayClosed: a read of a closed store, or one it closes
// under, fails with ErrClosed, which the API answers 503, as it does a
// write. Reads said "sql: database is closed", which the API answered 500
// and logged as an internal error (a wait in flight as the store closed).
func TestReadsAfterCloseSayClosed(t *testing.T) {
	t.Parallel()
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			hub := NewHub()
			dir := ""
			if !mode.memory {
				dir = t.TempDir()
			}
			st, err := OpenSQLite(dir, Options{Memory: mode.memory, OnCommit: hub.PublishExchanges})
			if err != nil {
				t.Fatal(err)
			}
			ex := newEx("a", "GET", "http://h/")
			mustAdd(t, st, ex)
			if err := st.Close(); err != nil {
				t.Fatal(err)
			}
			ctx := context.Background()
			_, gerr := st.Get(ctx, ex.ID)
			_, _, lerr := st.List(ctx, Query{})
			_, berr := st.Bins(ctx)
			for what, err := range map[string]error{"Get": gerr, "List": lerr, "Bins": berr} {
				if !errors.Is(err, ErrClosed) {
					t.Errorf("%s after Close: %v, want ErrClosed", what, err)
				}
			}
			srv := httptest.NewServer(NewAPI(APIConfig{Store: st, Hub: hub, MaxWait: time.Minute,
				CaptureURL: func() string { return "http://127.0.0.1:8080/" }}))
			defer srv.Close()
			for _, path := range []string{"/api/exchanges", "/api/exchanges/" + ex.ID, "/api/bins", "/api/exchanges/wait?timeout=0"} {
				resp, err := http.Get(srv.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusServiceUnavailable {
					t.Errorf("GET %s of a closed store: %d, want 503", path, resp.StatusCode)
				}
			}
		})
	}
}
