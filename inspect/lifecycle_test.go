package inspect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
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

// TestStoreStressWithClose runs captures, waits, searches, reads, deletes,
// clears, retention and subscribers that never read at once over a store
// with small segments, then closes it with all of that in flight: nothing
// may hang, race or answer other than with a result or ErrClosed, and every
// Add that succeeded is still there (or was removed) after a reopen.
func TestStoreStressWithClose(t *testing.T) {
	t.Parallel()
	for round := range 2 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			hub := NewHub()
			st, err := OpenSQLite(dir, Options{OnCommit: hub.PublishExchanges, RetainCount: 200})
			if err != nil {
				t.Fatal(err)
			}
			st.jr.segLimit = 16 << 10
			api := httptest.NewServer(NewAPI(APIConfig{Store: st, Hub: hub, MaxWait: time.Minute,
				CaptureURL: func() string { return "http://127.0.0.1:8080/" }}))
			defer api.Close()
			deaf := hub.Subscribe(4, nil) // never reads
			defer hub.Unsubscribe(deaf)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var wg sync.WaitGroup
			var mu sync.Mutex
			var added []string
			var lastID atomic.Pointer[string]
			okErr := func(what string, err error) {
				if err != nil && !errors.Is(err, ErrClosed) && !errors.Is(err, ErrNotFound) && !errors.Is(err, context.Canceled) {
					t.Errorf("%s: %v", what, err)
				}
			}
			for w := range 6 {
				wg.Go(func() {
					for i := 0; ctx.Err() == nil; i++ {
						ex := newEx(fmt.Sprint("b", w%3), "POST", fmt.Sprintf("http://h/%d/%d", w, i), reqBody(bytes.Repeat([]byte("needle hay "), 50)))
						err := st.Add(context.Background(), ex)
						if errors.Is(err, ErrClosed) {
							return
						}
						okErr("Add", err)
						if err == nil {
							mu.Lock()
							added = append(added, ex.ID)
							mu.Unlock()
							lastID.Store(&ex.ID)
						}
					}
				})
			}
			wg.Go(func() {
				for ctx.Err() == nil {
					_, _, err := st.List(ctx, Query{Text: "needle", Limit: 20})
					okErr("List", err)
					if p := lastID.Load(); p != nil {
						_, err := st.Get(ctx, *p)
						okErr("Get", err)
					}
				}
			})
			wg.Go(func() {
				for i := 0; ctx.Err() == nil; i++ {
					if p := lastID.Load(); p != nil {
						okErr("Delete", st.Delete(ctx, *p))
					}
					if i%10 == 0 {
						_, err := st.Clear(ctx, "b2")
						okErr("Clear", err)
					}
					okErr("IndexPending", st.IndexPending(ctx))
				}
			})
			for range 3 {
				wg.Go(func() {
					client := &http.Client{}
					for ctx.Err() == nil {
						after := "00000000000000000000000000"
						if p := lastID.Load(); p != nil {
							after = *p
						}
						req, _ := http.NewRequestWithContext(ctx, "GET", api.URL+"/api/exchanges/wait?q=needle&timeout=1s&after="+after, nil)
						resp, err := client.Do(req)
						if err != nil {
							continue
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode >= 500 && resp.StatusCode != 503 {
							t.Errorf("wait: %d", resp.StatusCode)
						}
					}
				})
			}
			for {
				mu.Lock()
				n := len(added)
				mu.Unlock()
				if n >= 1000*(round+1) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			closed := make(chan error, 1)
			go func() { closed <- st.Close() }()
			select {
			case err := <-closed:
				if err != nil {
					t.Errorf("Close: %v", err)
				}
			case <-time.After(60 * time.Second):
				t.Fatal("Close hangs")
			}
			cancel()
			wg.Wait()
			api.Close()

			s2 := openStore(t, dir, Options{RetainCount: 200})
			got := listIDs(t, s2, Query{Limit: 1000})
			if len(got) > 200+1 {
				t.Errorf("%d stored, retention keeps 200", len(got))
			}
			for _, id := range got {
				if _, err := s2.Get(context.Background(), id); err != nil {
					t.Errorf("Get(%s) after reopen: %v", id, err)
				}
			}
		})
	}
}

// TestWaitNeverMissesAConcurrentCommit: a wait after=A, begun while
// exchanges are being committed, answers the first match stored after A,
// whether it was committed before the wait looked in the store, between
// that look and the subscription, or after; and through the hub's
// overflow too (a burst of non-matching exchanges larger than the wait's
// buffer ahead of the match).
func TestWaitNeverMissesAConcurrentCommit(t *testing.T) {
	t.Parallel()
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			hub := NewHub()
			st := openMode(t, mode.memory, Options{OnCommit: hub.PublishExchanges})
			srv := httptest.NewServer(NewAPI(APIConfig{Store: st, Hub: hub, MaxWait: time.Minute,
				CaptureURL: func() string { return "http://127.0.0.1:8080/" }}))
			t.Cleanup(srv.Close)
			for round := range 12 {
				a := newEx("w", "GET", "http://h/a")
				mustAdd(t, st, a)
				burst := 0
				if round%4 == 3 {
					burst = 300 // more than the wait's buffer of 256
				}
				var wg sync.WaitGroup
				want := newEx("w", "POST", "http://h/needle")
				wg.Go(func() {
					var hay []*Exchange
					for i := range burst {
						hay = append(hay, newEx("w", "GET", fmt.Sprintf("http://h/hay%d", i)))
					}
					var inner sync.WaitGroup
					for _, ex := range hay {
						inner.Go(func() { _ = st.Add(context.Background(), ex) })
					}
					inner.Wait()
					mustAdd(t, st, want)
				})
				resp, err := http.Get(srv.URL + "/api/exchanges/wait?q=needle&timeout=30s&after=" + a.ID)
				if err != nil {
					t.Fatal(err)
				}
				var got struct{ ID string }
				derr := json.NewDecoder(resp.Body).Decode(&got)
				resp.Body.Close()
				wg.Wait()
				if resp.StatusCode != 200 || derr != nil || got.ID != want.ID {
					t.Fatalf("round %d: wait answered %d %q (%v), want 200 with %s", round, resp.StatusCode, got.ID, derr, want.ID)
				}
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
