package inspect

import (
	"context"
	"fmt"
	"maps"
	"math/big"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"
)

// streamClient stands for a page on the live stream: it holds every
// exchange the store's writer hands to OnCommit and drops those a
// Retained says are gone, as the UI does.
type streamClient struct {
	t      *testing.T
	mu     sync.Mutex
	held   map[string]bool
	msgs   []Retained
	relist bool // a Retained without Before came: the page lists again
	// below: a Retained left out an exchange held and stored whose id
	// sorts before its From.
	below bool
}

func newStreamClient(t *testing.T) *streamClient {
	return &streamClient{t: t, held: map[string]bool{}}
}

func (c *streamClient) onCommit(exs []*Exchange) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ex := range exs {
		c.held[ex.ID] = true
	}
}

func (c *streamClient) onRetain(r Retained) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgs = append(c.msgs, r)
	if r.Deleted <= 0 {
		c.t.Errorf("a Retained for nothing deleted: %+v", r)
	}
	if r.Before == "" {
		c.relist = true
		return
	}
	if r.From == "" || r.From >= r.Before {
		c.t.Errorf("Retained from %q before %q", r.From, r.Before)
	}
	if !sort.StringsAreSorted(r.Kept) || len(r.Kept) > 0 && (r.Kept[0] < r.From || r.Kept[len(r.Kept)-1] >= r.Before) {
		c.t.Errorf("Kept %v is not in id order from %s before %s", r.Kept, r.From, r.Before)
	}
	for id := range c.held {
		switch {
		case id < r.From:
			c.below = true
		case id < r.Before && !slices.Contains(r.Kept, id):
			delete(c.held, id)
		}
	}
}

// check fails the test unless the client comes to hold exactly what s
// stores. It looks again for a while when they differ: a retention pass
// of its own (the rest of a burst's, the ticker's) commits its deletes
// and then tells OnRetain, so a list read in between sees rows gone that
// the client is about to drop, as a page does.
func (c *streamClient) check(t *testing.T, s *SQLite, when string) {
	t.Helper()
	s.Sync(context.Background())
	deadline := time.Now().Add(5 * time.Second)
	for {
		stored := listIDs(t, s, Query{Limit: 1000})
		slices.Sort(stored)
		c.mu.Lock()
		held := slices.Sorted(maps.Keys(c.held))
		c.mu.Unlock()
		if slices.Equal(held, stored) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the client holds %v, the store %v", when, held, stored)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (c *streamClient) retained() []Retained {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.msgs)
}

// TestRetainedIsExact: what retention deletes reaches OnRetain, once a
// transaction, in a form that takes exactly the deleted exchanges out of
// what a client holds, with exchanges stored out of their ids' order (a
// slow one stored after younger ones; ids sort by when they began).
// Retention deleted rows and told nobody: an open page listed them until
// it was reloaded.
func TestRetainedIsExact(t *testing.T) {
	t.Parallel()
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			c := newStreamClient(t)
			s := openMode(t, mode.memory, Options{RetainCount: 5, OnCommit: c.onCommit, OnRetain: c.onRetain})
			var ids IDs
			var exs []*Exchange
			for i := range 30 {
				ex := newEx("r", "GET", fmt.Sprintf("http://h/%d", i))
				ex.ID = ids.New(base.Add(time.Duration(i) * time.Second))
				exs = append(exs, ex)
			}
			// Stored out of order: each pair swapped, and the one that
			// began first stored among the last, as a slow one is.
			order := []*Exchange{}
			for i := 1; i+1 < len(exs); i += 2 {
				order = append(order, exs[i+1], exs[i])
			}
			order = slices.Insert(order, 20, exs[0])
			for i, ex := range order {
				mustAdd(t, s, ex)
				c.check(t, s, fmt.Sprintf("after %d stored", i+1))
			}
			msgs := c.retained()
			var deleted int64
			for _, r := range msgs {
				deleted += r.Deleted
			}
			if want := int64(len(order) - 5); deleted != want {
				t.Errorf("the Retained say %d deleted, want %d", deleted, want)
			}
			c.mu.Lock()
			below := c.below
			c.mu.Unlock()
			if !below {
				t.Errorf("no Retained left out an exchange stored below its span: the test stored nothing out of order")
			}

			// A burst, committed in few transactions: one Retained at
			// most for each, each exact.
			txs := func() int64 { return s.commits.Load() + s.retainRuns.Load() }
			before := txs()
			var wg sync.WaitGroup
			for i := range 200 {
				wg.Go(func() {
					if err := s.Add(context.Background(), newEx("r", "GET", fmt.Sprintf("http://h/burst/%d", i))); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			c.check(t, s, "after a burst")
			eventually(t, 10*time.Second, "the burst cut back to the limit", func() bool {
				n, _ := s.Stats(context.Background())
				return n == 5
			})
			c.check(t, s, "after the burst was cut back")
			if n, tx := int64(len(c.retained())-len(msgs)), txs()-before; n > tx {
				t.Errorf("%d Retained for %d transactions", n, tx)
			}
			if c.relist {
				t.Errorf("a Retained said to list again: %+v", c.retained())
			}
		})
	}
}

// TestRetainedByAge: age retention deletes by when an exchange began, not
// where it was stored, and the Retained of a write's pass and of the
// ticker's pass say so exactly.
func TestRetainedByAge(t *testing.T) {
	t.Parallel()
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock(base)
			c := newStreamClient(t)
			s := openMode(t, mode.memory, Options{RetainAge: time.Hour, Now: clock.Now, OnCommit: c.onCommit, OnRetain: c.onRetain})
			// young's id sorts between old1's and old2's, and it outlives them.
			old1 := newEx("r", "GET", "http://h/old1", at(base))
			young := newEx("r", "GET", "http://h/young", at(base.Add(time.Hour)))
			old2 := newEx("r", "GET", "http://h/old2", at(base))
			mustAdd(t, s, young, old1, old2)
			c.check(t, s, "after adding")
			clock.Advance(90 * time.Minute) // old1 and old2 expire, young not
			fresh := newEx("r", "GET", "http://h/fresh", at(clock.Now()))
			mustAdd(t, s, fresh)
			c.check(t, s, "after a write expired two")
			msgs := c.retained()
			if len(msgs) != 1 || msgs[0].Deleted != 2 || msgs[0].From != old1.ID || !slices.Equal(msgs[0].Kept, idsOf(young)) {
				t.Fatalf("Retained %+v, want one of 2 deleted from %s that keeps %s", msgs, old1.ID, young.ID)
			}

			// The ticker's pass, with no write.
			clock.Advance(time.Hour) // young expires; fresh is the newest, kept
			eventually(t, 10*time.Second, "the ticker's pass told", func() bool { return len(c.retained()) == 2 })
			c.check(t, s, "after the ticker's pass")
			if r := c.retained()[1]; r.Deleted != 1 || len(r.Kept) != 0 {
				t.Errorf("the ticker's Retained %+v, want 1 deleted, none kept behind", r)
			}
		})
	}
}

// TestRetainedTooManyKept: when more exchanges than a message should name
// are stored among those a pass deleted (two expired ones whose ids span
// many still young), the Retained has no bound: clients list again.
func TestRetainedTooManyKept(t *testing.T) {
	t.Parallel()
	clock := newFakeClock(base)
	c := newStreamClient(t)
	s := openMode(t, true, Options{RetainAge: time.Hour, Now: clock.Now, OnCommit: c.onCommit, OnRetain: c.onRetain})
	var ids IDs // each id after the last
	first := newEx("r", "GET", "http://h/first", at(base))
	first.ID = ids.New(base)
	mustAdd(t, s, first)
	for i := range maxKept + 1 {
		ex := newEx("r", "GET", fmt.Sprintf("http://h/young/%d", i), at(base.Add(time.Hour)))
		ex.ID = ids.New(base)
		mustAdd(t, s, ex)
	}
	last := newEx("r", "GET", "http://h/last", at(base))
	last.ID = ids.New(base)
	mustAdd(t, s, last)
	clock.Advance(90 * time.Minute) // first and last expire in one pass
	mustAdd(t, s, newEx("r", "GET", "http://h/fresh", at(clock.Now())))
	s.Sync(context.Background())
	msgs := c.retained()
	if len(msgs) != 1 || msgs[0].Deleted != 2 || msgs[0].From != "" || msgs[0].Before != "" || msgs[0].Kept != nil {
		t.Fatalf("Retained %+v, want one of 2 deleted with no bound", msgs)
	}
}

// TestRetainedAfterImport: exchanges older than those retention deletes
// (an import's, with old ids, stored after a store full of captures) are
// not in the Retained's bound, however many there are. They were: every
// pass named them all in Kept, or, past maxKept, told every client to
// list again, a reload a second for each open page for as long as the
// captures stored before the import were being deleted, and a read of
// maxKept+1 ids in the writer at each commit.
func TestRetainedAfterImport(t *testing.T) {
	t.Parallel()
	c := newStreamClient(t)
	const captured = 3
	s := openMode(t, true, Options{RetainCount: maxKept + 1 + captured, OnCommit: c.onCommit, OnRetain: c.onRetain})
	var newer, older IDs
	for i := range captured {
		ex := newEx("r", "GET", fmt.Sprintf("http://h/captured/%d", i))
		ex.ID = newer.New(base.Add(time.Hour))
		mustAdd(t, s, ex)
	}
	for i := range maxKept + 1 {
		ex := newEx("r", "GET", fmt.Sprintf("http://h/imported/%d", i))
		ex.ID = older.New(base)
		mustAdd(t, s, ex)
	}
	for i := range captured {
		ex := newEx("r", "GET", fmt.Sprintf("http://h/new/%d", i))
		ex.ID = newer.New(base.Add(time.Hour))
		mustAdd(t, s, ex)
	}
	s.Sync(context.Background())
	msgs := c.retained()
	if len(msgs) != captured {
		t.Fatalf("%d Retained, want %d", len(msgs), captured)
	}
	for _, r := range msgs {
		if r.Deleted != 1 || r.Before == "" || len(r.Kept) != 0 {
			t.Fatalf("Retained of %d deleted, bound %q, %d kept; want 1 deleted, a bound and none kept", r.Deleted, r.Before, len(r.Kept))
		}
	}
	c.check(t, s, "after the captures stored before the import were deleted")
}

func TestNextID(t *testing.T) {
	t.Parallel()
	var ids IDs
	for range 100 {
		id := ids.New(time.Now())
		next, ok := nextID(id)
		a, _ := decodeULID(id)
		b, _ := decodeULID(next)
		diff := new(big.Int).Sub(new(big.Int).SetBytes(b[:]), new(big.Int).SetBytes(a[:]))
		if !ok || next <= id || !ValidID(next) || diff.Cmp(big.NewInt(1)) != 0 {
			t.Fatalf("nextID(%s) = %s, %v", id, next, ok)
		}
	}
	if next, _ := nextID("0000000000000000000000000Z"); next != "00000000000000000000000010" {
		t.Errorf("nextID does not carry: %s", next)
	}
	for _, id := range []string{"7ZZZZZZZZZZZZZZZZZZZZZZZZZ", "not an id"} {
		if next, ok := nextID(id); ok {
			t.Errorf("nextID(%q) = %q, want none", id, next)
		}
	}
}

// TestRetainedUnheard: with nobody to tell (Heard false) the writer does
// not read what retention kept nor call OnRetain; once someone listens,
// the next pass is told, with only its own deletes.
func TestRetainedUnheard(t *testing.T) {
	t.Parallel()
	var heard sync.Mutex
	listening := false
	c := newStreamClient(t)
	s := openMode(t, true, Options{RetainCount: 3, OnCommit: c.onCommit, OnRetain: c.onRetain, Heard: func() bool {
		heard.Lock()
		defer heard.Unlock()
		return listening
	}})
	for i := range 6 {
		mustAdd(t, s, newEx("u", "GET", fmt.Sprintf("http://h/%d", i)))
		s.Sync(context.Background())
	}
	if msgs := c.retained(); len(msgs) != 0 {
		t.Fatalf("OnRetain was told %+v with nobody listening", msgs)
	}
	heard.Lock()
	listening = true
	heard.Unlock()
	mustAdd(t, s, newEx("u", "GET", "http://h/6"))
	s.Sync(context.Background())
	msgs := c.retained()
	if len(msgs) != 1 || msgs[0].Deleted != 1 || msgs[0].Before == "" {
		t.Fatalf("once heard, OnRetain got %+v, want one Retained of 1 deleted with a bound", msgs)
	}
}
