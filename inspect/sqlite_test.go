package inspect

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func TestSQLiteAddGet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ex   func() *Exchange
	}{
		{"full", fullExchange},
		{"binary request body", func() *Exchange { return newEx("a", "POST", "http://h/bin", reqBody(binaryBody())) }},
		{"binary response body", func() *Exchange {
			return newEx("a", "GET", "http://h/img", respBody([]byte{0x89, 'P', 'N', 'G', 0, 0xff}))
		}},
		{"NUL in text body", func() *Exchange { return newEx("a", "POST", "http://h/", reqBody([]byte("a\x00b\x00"))) }},
		{"nil bodies", func() *Exchange { return newEx("a", "GET", "http://h/") }},
		{"empty non-nil bodies", func() *Exchange {
			return newEx("a", "GET", "http://h/", reqBody([]byte{}), respBody([]byte{}))
		}},
		{"no response", func() *Exchange {
			return newEx("a", "POST", "http://h/", noResponse(), withError("client went away"), reqBody([]byte("part")))
		}},
		{"large body", func() *Exchange {
			return newEx("a", "PUT", "http://h/big", reqBody(bytes.Repeat([]byte("0123456789abcdef"), 1<<16)))
		}},
		{"sub-microsecond duration", func() *Exchange {
			ex := newEx("a", "GET", "http://h/")
			ex.Duration = 1003*time.Microsecond + 17
			return ex
		}},
	}
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			s := openMode(t, mode.memory, Options{})
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					want := tt.ex()
					want.ID = testIDs.New(time.Now())
					mustAdd(t, s, want)
					got, err := s.Get(context.Background(), want.ID)
					if err != nil {
						t.Fatalf("Get: %v", err)
					}
					sameExchange(t, want, got)
				})
			}
			t.Run("missing", func(t *testing.T) {
				_, err := s.Get(context.Background(), testIDs.New(time.Now()))
				wantErrIs(t, err, ErrNotFound)
			})
		})
	}
}

func TestSQLiteGroupCommit(t *testing.T) {
	t.Parallel()
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			const n = 200
			var mu sync.Mutex
			committed := map[string]int{}
			batches := 0
			s := openMode(t, mode.memory, Options{OnCommit: func(exs []*Exchange) {
				mu.Lock()
				defer mu.Unlock()
				batches++
				for _, ex := range exs {
					committed[ex.ID]++
				}
			}})
			exs := make([]*Exchange, n)
			for i := range exs {
				exs[i] = newEx("g", "POST", fmt.Sprintf("http://h/%d", i), reqBody([]byte(fmt.Sprint(i))))
			}
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i := range exs {
				wg.Go(func() { errs[i] = s.Add(context.Background(), exs[i]) })
			}
			wg.Wait()
			for i, err := range errs {
				if err != nil {
					t.Errorf("Add %d: %v", i, err)
				}
			}
			got := listIDs(t, s, Query{Limit: 1000})
			want := idsOf(exs...)
			if !sameSet(got, want) {
				t.Errorf("listed %d exchanges, want the %d added", len(got), len(want))
			}
			mu.Lock()
			defer mu.Unlock()
			for _, id := range want {
				if committed[id] != 1 {
					t.Errorf("OnCommit saw %s %d times, want once", id, committed[id])
				}
			}
			if count, _ := s.Stats(context.Background()); count != n {
				t.Errorf("Stats count = %d, want %d", count, n)
			}
			t.Logf("%d adds in %d transactions", n, batches)
		})
	}
}

// Callers that each add one exchange after another, as the capture
// endpoint's connections do, share transactions instead of each paying
// for a commit of its own.
func TestSQLiteGroupCommitClosedLoop(t *testing.T) {
	t.Parallel()
	const callers, each = 16, 40
	var mu sync.Mutex
	batches := 0
	s := openMode(t, false, Options{OnCommit: func([]*Exchange) {
		mu.Lock()
		batches++
		mu.Unlock()
	}})
	var wg sync.WaitGroup
	for c := range callers {
		wg.Go(func() {
			for i := range each {
				if err := s.Add(context.Background(), newEx("g", "POST", fmt.Sprintf("http://h/%d/%d", c, i))); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	t.Logf("%d adds in %d transactions", callers*each, batches)
	if batches > callers*each/4 {
		t.Errorf("%d adds took %d transactions, want at most %d", callers*each, batches, callers*each/4)
	}
}

func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// filterData is a small, fixed data set for the List filter tests.
type filterData struct {
	exs   map[string]*Exchange
	names map[string]string // id -> name
}

func seedFilterData(t *testing.T, s Store) filterData {
	t.Helper()
	d := filterData{exs: map[string]*Exchange{}, names: map[string]string{}}
	add := func(name string, ex *Exchange) {
		d.exs[name] = ex
		d.names[ex.ID] = name
		mustAdd(t, s, ex)
	}
	add("e1", newEx("a", "GET", "http://h/one?x=1", at(base.Add(1*time.Second)), status(200), reqBody([]byte("hello world"))))
	add("e2", newEx("a", "POST", "http://h/two", at(base.Add(2*time.Second)), status(404),
		reqHeader("X-Token", "secret-Abc"), reqBody([]byte(`{"k":"v"}`))))
	add("e3", newEx("b", "POST", "http://h/three", at(base.Add(3*time.Second)), status(500), source(SourceProxy),
		reqBody([]byte(`100% _done_ "quoted" it's`))))
	add("e4", newEx("b", "PUT", "http://h/four", at(base.Add(4*time.Second)), status(503), source(SourceEmit),
		respBody([]byte("upstream failed")), respHeader("X-Upstream", "edge-7")))
	add("e5", newEx("c", "DELETE", "http://h/five", at(base.Add(5*time.Second)), noResponse(), source(SourceReplay),
		withError("dial refused")))
	// Binary, with no ASCII in it: Matches searches binary bodies byte by
	// byte and the text index leaves them out, so no text may hit it.
	add("e6", newEx("a", "GET", "http://h/six", at(base.Add(6*time.Second)), status(201), reqBody(binaryBody()[0x80:])))
	return d
}

func (d filterData) ids(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = d.exs[n].ID
	}
	return out
}

func TestSQLiteListFilters(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		q    Query
		want []string // names, newest first
	}{
		{"all newest first", Query{}, []string{"e6", "e5", "e4", "e3", "e2", "e1"}},
		{"bin", Query{Bin: "a"}, []string{"e6", "e2", "e1"}},
		{"unknown bin", Query{Bin: "zz"}, nil},
		{"method any case", Query{Method: "post"}, []string{"e3", "e2"}},
		{"source", Query{Source: "proxy"}, []string{"e3"}},
		{"status exact", Query{Status: "404"}, []string{"e2"}},
		{"status class 5xx", Query{Status: "5xx"}, []string{"e4", "e3"}},
		{"status class 2xx", Query{Status: "2xx"}, []string{"e6", "e1"}},
		{"status 0 is no response", Query{Status: "0"}, []string{"e5"}},
		{"since and until inclusive", Query{Since: base.Add(2 * time.Second), Until: base.Add(4 * time.Second)}, []string{"e4", "e3", "e2"}},
		{"since only", Query{Since: base.Add(5500 * time.Millisecond)}, []string{"e6"}},
		{"until only", Query{Until: base.Add(time.Second)}, []string{"e1"}},
		{"text in body", Query{Text: "hello"}, []string{"e1"}},
		{"text any case", Query{Text: "HeLLo WORLD"}, []string{"e1"}},
		{"text in header value", Query{Text: "secret-abc"}, []string{"e2"}},
		{"text in header name", Query{Text: "x-token"}, []string{"e2"}},
		{"text across header name and value", Query{Text: "token: secret"}, []string{"e2"}},
		{"text in response body", Query{Text: "upstream"}, []string{"e4"}},
		{"text in response header", Query{Text: "edge-7"}, []string{"e4"}},
		{"text in url", Query{Text: "/two"}, []string{"e2"}},
		{"text in query string", Query{Text: "x=1"}, []string{"e1"}},
		{"text with double quotes", Query{Text: `"quoted"`}, []string{"e3"}},
		{"text with a lone double quote", Query{Text: `" it`}, []string{"e3"}},
		{"text with a single quote", Query{Text: `it's`}, []string{"e3"}},
		{"text with percent", Query{Text: "100%"}, []string{"e3"}},
		{"text with underscores", Query{Text: "_done_"}, []string{"e3"}},
		{"text absent", Query{Text: "nowhere"}, nil},
		{"text not in method", Query{Text: "DELETE"}, nil},
		{"text not in error", Query{Text: "dial refused"}, nil},
		{"short text", Query{Text: "wo"}, []string{"e2", "e1"}},
		{"short text any case", Query{Text: "HE"}, []string{"e1"}},
		{"short text percent", Query{Text: "%"}, []string{"e3"}},
		{"short text underscore", Query{Text: "_"}, []string{"e3"}},
		{"short text double quote", Query{Text: `"`}, []string{"e3", "e2"}},
		{"short text not in JSON keys", Query{Text: "id"}, nil},
		{"short text not in method", Query{Text: "PU"}, nil},
		{"short text in request header", Query{Text: "-a"}, []string{"e2"}},
		{"short text in response header", Query{Text: "e-"}, []string{"e4"}},
		{"combined", Query{Bin: "a", Method: "GET", Text: "hello"}, []string{"e1"}},
		{"combined nothing", Query{Bin: "b", Status: "2xx"}, nil},
	}
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			s := openMode(t, mode.memory, Options{})
			d := seedFilterData(t, s)
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					got := listIDs(t, s, tt.q)
					want := d.ids(tt.want...)
					if !slices.Equal(got, want) {
						t.Errorf("List(%+v) = %s, want %s", tt.q, fmtIDs(got, d.names), fmtIDs(want, d.names))
					}
					// The store agrees with Query.Matches.
					var matched []string
					for _, n := range []string{"e6", "e5", "e4", "e3", "e2", "e1"} {
						if tt.q.Matches(d.exs[n]) {
							matched = append(matched, d.exs[n].ID)
						}
					}
					if !slices.Equal(got, matched) {
						t.Errorf("List(%+v) = %s, but Matches selects %s", tt.q, fmtIDs(got, d.names), fmtIDs(matched, d.names))
					}
				})
			}
		})
	}
}

func TestSQLiteListSummary(t *testing.T) {
	t.Parallel()
	s := openMode(t, false, Options{})
	ex := fullExchange()
	mustAdd(t, s, ex)
	sums, next, err := s.List(context.Background(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 1 || next != "" {
		t.Fatalf("List = %v, %q; want one summary and no cursor", sums, next)
	}
	if sums[0].seq == 0 {
		t.Error("listed summary without its place in the store")
	}
	got := sums[0]
	got.seq = 0 // ListMatching's cursor, which Summarize cannot know
	if want := ex.Summarize(); got != want {
		t.Errorf("listed summary\n %+v\nwant\n %+v", got, want)
	}
}

func TestSQLiteListErrors(t *testing.T) {
	t.Parallel()
	s := openMode(t, true, Options{})
	for _, q := range []Query{{Status: "abc"}, {Status: "6xx"}, {Cursor: "x"}, {Cursor: "-5"}} {
		_, _, err := s.List(context.Background(), q)
		if !errors.Is(err, ErrInvalid) {
			t.Errorf("List(%+v) err = %v, want ErrInvalid", q, err)
		}
	}
}

func TestSQLitePaging(t *testing.T) {
	t.Parallel()
	const n = 57
	s := openMode(t, false, Options{})
	exs := make([]*Exchange, n)
	for i := range exs {
		bin := "even"
		if i%2 == 1 {
			bin = "odd"
		}
		exs[i] = newEx(bin, "GET", fmt.Sprintf("http://h/%d", i), at(base.Add(time.Duration(i)*time.Second)))
		if i%5 == 0 {
			// Sparse matches in the bodies, which a journaled row keeps in
			// its journal record: List reads them to check, and still
			// fills its pages.
			exs[i].Request.Body = []byte("a needle zq")
		}
	}
	mustAdd(t, s, exs...)
	all := idsOf(exs...) // oldest first
	newest := slices.Clone(all)
	slices.Reverse(newest)
	var odd []string
	for i, id := range newest {
		if (n-1-i)%2 == 1 {
			odd = append(odd, id)
		}
	}

	var fives []string // newest first
	for i := n - 1; i >= 0; i-- {
		if i%5 == 0 {
			fives = append(fives, exs[i].ID)
		}
	}
	tests := []struct {
		name string
		q    Query
		want []string
	}{
		{"text in bodies", Query{Text: "needle", Limit: 3}, fives},
		{"short text in bodies", Query{Text: "zq", Limit: 4}, fives},
		{"text in bodies, ascending", Query{Text: "NEEDLE", Limit: 5, Ascending: true}, reversed(fives)},
		{"text in bodies, one page", Query{Text: "needle", Limit: 12}, fives},
		{"newest first, limit 10", Query{Limit: 10}, newest},
		{"limit 1", Query{Limit: 1}, newest},
		{"limit equal to count", Query{Limit: n}, newest},
		{"limit over count", Query{Limit: n + 1}, newest},
		{"default limit", Query{}, newest},
		{"limit over 1000 caps", Query{Limit: 5000}, newest},
		{"ascending", Query{Ascending: true, Limit: 7}, all},
		{"filtered", Query{Bin: "odd", Limit: 4}, odd},
		{"after", Query{After: all[49], Ascending: true, Limit: 3}, all[50:]},
		{"after, newest first", Query{After: all[49], Limit: 3}, reversed(all[50:])},
		{"after the newest", Query{After: all[n-1]}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Walk the pages by hand to check their sizes too.
			var got []string
			q := tt.q
			for pages := 0; ; pages++ {
				sums, next, err := s.List(context.Background(), q)
				if err != nil {
					t.Fatal(err)
				}
				if len(sums) > q.limit() {
					t.Fatalf("page of %d, limit %d", len(sums), q.limit())
				}
				if next != "" && len(sums) != q.limit() {
					t.Fatalf("short page of %d with a next cursor", len(sums))
				}
				for _, sm := range sums {
					got = append(got, sm.ID)
				}
				if next == "" {
					break
				}
				q.Cursor = next
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("pages gave %d ids %v\nwant %d %v", len(got), got, len(tt.want), tt.want)
			}
		})
	}

	t.Run("first page of 10 has a cursor", func(t *testing.T) {
		t.Parallel()
		sums, next, err := s.List(context.Background(), Query{Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(sums) != 10 || next == "" {
			t.Errorf("got %d and cursor %q", len(sums), next)
		}
	})
	t.Run("after a deleted id falls back to id order", func(t *testing.T) {
		t.Parallel()
		gone := testIDs.New(time.Now()) // newer than every stored id, never stored
		if got := listIDs(t, s, Query{After: gone}); len(got) != 0 {
			t.Errorf("after an unknown newest id: %v", got)
		}
		if got := listIDs(t, s, Query{After: strings.Repeat("0", 26), Ascending: true}); !slices.Equal(got, all) {
			t.Errorf("after the zero id: %d ids, want all %d", len(got), n)
		}
	})
}

func TestSQLiteDeleteClear(t *testing.T) {
	t.Parallel()
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			s := openMode(t, mode.memory, Options{})
			a1 := newEx("a", "POST", "http://h/a1", reqBody([]byte("findme one")))
			a2 := newEx("a", "POST", "http://h/a2", reqBody([]byte("findme two")))
			b1 := newEx("b", "POST", "http://h/b1", reqBody([]byte("findme three")))
			b2 := newEx("b", "POST", "http://h/b2")
			mustAdd(t, s, a1, a2, b1, b2)

			if err := s.Delete(ctx, a1.ID); err != nil {
				t.Fatalf("Delete: %v", err)
			}
			if _, err := s.Get(ctx, a1.ID); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get after Delete: %v, want ErrNotFound", err)
			}
			wantErrIs(t, s.Delete(ctx, a1.ID), ErrNotFound)
			wantErrIs(t, s.Delete(ctx, "nope"), ErrNotFound)
			if got := listIDs(t, s, Query{Text: "findme"}); !slices.Equal(got, idsOf(b1, a2)) {
				t.Errorf("search after Delete = %v, want b1, a2", got)
			}
			if c, _ := s.Stats(context.Background()); c != 3 {
				t.Errorf("count after Delete = %d, want 3", c)
			}

			n, err := s.Clear(ctx, "b")
			if err != nil || n != 2 {
				t.Fatalf("Clear(b) = %d, %v; want 2", n, err)
			}
			if got := listIDs(t, s, Query{}); !slices.Equal(got, idsOf(a2)) {
				t.Errorf("after Clear(b): %v, want a2", got)
			}
			if n, err := s.Clear(ctx, "b"); err != nil || n != 0 {
				t.Errorf("Clear(b) again = %d, %v; want 0", n, err)
			}
			mustAdd(t, s, newEx("c", "GET", "http://h/c"))
			if n, err := s.Clear(ctx, ""); err != nil || n != 2 {
				t.Errorf("Clear(all) = %d, %v; want 2", n, err)
			}
			if got := listIDs(t, s, Query{}); len(got) != 0 {
				t.Errorf("after Clear(all): %v", got)
			}
			if got := listIDs(t, s, Query{Text: "findme"}); len(got) != 0 {
				t.Errorf("search after Clear(all): %v", got)
			}
			if c, b := s.Stats(context.Background()); c != 0 || b != 0 {
				t.Errorf("Stats after Clear(all) = %d, %d; want 0, 0", c, b)
			}
		})
	}
}

func TestSQLiteBins(t *testing.T) {
	t.Parallel()
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			clock := newFakeClock(base)
			s := openMode(t, mode.memory, Options{Now: clock.Now})
			if bins, err := s.Bins(ctx); err != nil || len(bins) != 0 {
				t.Fatalf("Bins of an empty store = %v, %v", bins, err)
			}
			mustAdd(t, s,
				newEx("zeta", "GET", "http://h/", at(base.Add(time.Second))),
				newEx("alpha", "GET", "http://h/", at(base.Add(3*time.Second))),
				newEx("alpha", "GET", "http://h/", at(base.Add(2*time.Second))),
			)
			// New only the first time, and never for a bin with traffic.
			for i, name := range []string{"empty", "alpha", "empty"} {
				created, err := s.CreateBin(ctx, name)
				if err != nil || created != (i == 0) {
					t.Fatalf("CreateBin(%q) = %v, %v; want created %v", name, created, err, i == 0)
				}
			}
			bins, err := s.Bins(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want := []Bin{
				{Name: "alpha", Count: 2, LastSeen: base.Add(3 * time.Second)},
				{Name: "empty", Count: 0},
				{Name: "zeta", Count: 1, LastSeen: base.Add(time.Second)},
			}
			if !slices.EqualFunc(bins, want, func(a, b Bin) bool {
				return a.Name == b.Name && a.Count == b.Count && a.LastSeen.Equal(b.LastSeen)
			}) {
				t.Errorf("Bins = %+v\nwant %+v", bins, want)
			}
			// A created bin outlives clearing its exchanges.
			if _, err := s.Clear(ctx, ""); err != nil {
				t.Fatal(err)
			}
			bins, _ = s.Bins(ctx)
			var names []string
			for _, b := range bins {
				names = append(names, b.Name)
				if b.Count != 0 {
					t.Errorf("bin %s count %d after Clear", b.Name, b.Count)
				}
			}
			if !slices.Equal(names, []string{"alpha", "empty"}) {
				t.Errorf("bins after Clear = %v, want the created alpha, empty", names)
			}
			// DeleteBin removes one, created or not, with its exchanges.
			mustAdd(t, s, newEx("empty", "GET", "http://h/", at(base)))
			if n, err := s.DeleteBin(ctx, "empty"); err != nil || n != 1 {
				t.Fatalf("DeleteBin(empty) = %d, %v; want 1 exchange", n, err)
			}
			bins, _ = s.Bins(ctx)
			if len(bins) != 1 || bins[0].Name != "alpha" {
				t.Errorf("bins after DeleteBin(empty) = %+v, want alpha", bins)
			}
			if n, err := s.DeleteBin(ctx, "empty"); !errors.Is(err, ErrNotFound) {
				t.Errorf("DeleteBin of a bin gone = %d, %v; want ErrNotFound", n, err)
			}
		})
	}
}

func TestSQLiteRetainCount(t *testing.T) {
	t.Parallel()
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			const keep = 5
			s := openMode(t, mode.memory, Options{RetainCount: keep})
			var added []*Exchange
			for i := range 12 {
				ex := newEx("r", "POST", fmt.Sprintf("http://h/%d", i), reqBody([]byte("retained text")))
				mustAdd(t, s, ex)
				added = append(added, ex)
				want := idsOf(added[max(0, len(added)-keep):]...)
				slices.Reverse(want)
				if got := listIDs(t, s, Query{}); !slices.Equal(got, want) {
					t.Fatalf("after %d adds: %d listed %v, want the newest %d %v", i+1, len(got), got, len(want), want)
				}
			}
			if got := listIDs(t, s, Query{Text: "retained"}); len(got) != keep {
				t.Errorf("search finds %d, want %d", len(got), keep)
			}
			// A burst committed as one batch is kept whole at first (its
			// callers were told it is stored), then cut back exactly.
			var wg sync.WaitGroup
			for i := range 50 {
				wg.Go(func() {
					if err := s.Add(context.Background(), newEx("r", "GET", fmt.Sprintf("http://h/burst/%d", i))); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			eventually(t, 10*time.Second, "the burst cut back to the limit", func() bool {
				c, _ := s.Stats(context.Background())
				return len(listIDs(t, s, Query{})) == keep && c == keep
			})
		})
	}
}

func TestSQLiteRetainBytes(t *testing.T) {
	t.Parallel()
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			one := newEx("r", "POST", "http://h/", reqBody(make([]byte, 1000))).StoredBytes()
			limit := 5*one + one/2 // room for five and a half
			s := openMode(t, mode.memory, Options{RetainBytes: limit})
			var added []*Exchange
			for i := range 12 {
				ex := newEx("r", "POST", "http://h/", reqBody(make([]byte, 1000)))
				if ex.StoredBytes() != one {
					t.Fatalf("exchange size %d, want %d", ex.StoredBytes(), one)
				}
				mustAdd(t, s, ex)
				added = append(added, ex)
				_, b := s.Stats(context.Background())
				if b > limit {
					t.Fatalf("after %d adds: %d bytes stored, limit %d", i+1, b, limit)
				}
				want := idsOf(added[max(0, len(added)-5):]...)
				slices.Reverse(want)
				if got := listIDs(t, s, Query{}); !slices.Equal(got, want) {
					t.Fatalf("after %d adds: listed %v, want the newest five %v", i+1, got, want)
				}
				if b != int64(len(want))*one {
					t.Fatalf("Stats bytes = %d, want %d", b, int64(len(want))*one)
				}
			}
			// One exchange larger than the whole limit leaves nothing older.
			big := newEx("r", "POST", "http://h/", reqBody(make([]byte, 2*limit)))
			mustAdd(t, s, big)
			// It was acknowledged, so it is there: retention never takes the
			// exchange it was just asked to store.
			if _, err := s.Get(context.Background(), big.ID); err != nil {
				t.Errorf("an acknowledged exchange over the byte limit: %v", err)
			}
			if got := listIDs(t, s, Query{}); len(got) != 1 {
				t.Errorf("after an oversized exchange: %d listed, want just it", len(got))
			}
		})
	}
}

func TestSQLiteRetainAge(t *testing.T) {
	t.Parallel()
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock(base)
			s := openMode(t, mode.memory, Options{RetainAge: time.Hour, Now: clock.Now})
			old := newEx("r", "GET", "http://h/old", at(base.Add(-2*time.Hour)))
			recent := newEx("r", "GET", "http://h/recent", at(base.Add(-30*time.Minute)))
			fresh := newEx("r", "GET", "http://h/fresh", at(base))
			mustAdd(t, s, old, recent, fresh)
			// The sweep after each write removed old before Add returned.
			if got := listIDs(t, s, Query{}); !slices.Equal(got, idsOf(fresh, recent)) {
				t.Fatalf("after adding: %v, want fresh, recent", got)
			}

			// With no writes, the ticker sweeps once the clock moves on.
			clock.Advance(45 * time.Minute)
			eventually(t, 10*time.Second, "swept by the ticker", func() bool {
				return slices.Equal(listIDs(t, s, Query{}), idsOf(fresh))
			})

			// A write sweeps at once.
			clock.Advance(2 * time.Hour)
			newer := newEx("r", "GET", "http://h/newer", at(clock.Now()))
			mustAdd(t, s, newer)
			if got := listIDs(t, s, Query{}); !slices.Equal(got, idsOf(newer)) {
				t.Errorf("after a write past fresh's age: %v, want only newer", got)
			}
			if c, _ := s.Stats(context.Background()); c != 1 {
				t.Errorf("Stats count = %d, want 1", c)
			}
		})
	}
}

// Age retention deletes every exchange older than the limit, whatever
// order they arrived in: one stamped later than those after it (a clock
// step, an import) kept every expired one behind it. Search stays exact:
// the index forgets the deleted ones and keeps the others.
func TestSQLiteRetainAgeOutOfOrder(t *testing.T) {
	t.Parallel()
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			clock := newFakeClock(base)
			s := openMode(t, mode.memory, Options{RetainAge: time.Hour, Now: clock.Now})
			young := newEx("r", "GET", "http://h/young", at(base.Add(time.Hour)), reqBody([]byte("young text")))
			old1 := newEx("r", "GET", "http://h/old1", at(base), reqBody([]byte("old text")))
			old2 := newEx("r", "GET", "http://h/old2", at(base), reqBody([]byte("old text")))
			mustAdd(t, s, young, old1, old2)
			if err := s.IndexPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			clock.Advance(90 * time.Minute) // old1 and old2 expire, young not
			fresh := newEx("r", "GET", "http://h/fresh", at(clock.Now()), reqBody([]byte("fresh text")))
			mustAdd(t, s, fresh)
			if got := listIDs(t, s, Query{}); !slices.Equal(got, idsOf(fresh, young)) {
				t.Fatalf("after a write: %v, want fresh, young", got)
			}
			if c, _ := s.Stats(context.Background()); c != 2 {
				t.Errorf("Stats count = %d, want 2", c)
			}
			if err := s.IndexPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			for q, want := range map[string][]string{"young text": idsOf(young), "old text": nil, "fresh text": idsOf(fresh)} {
				if got := listIDs(t, s, Query{Text: q}); !slices.Equal(got, want) {
					t.Errorf("search %q: %v, want %v", q, got, want)
				}
			}
			if n := indexDocs(t, s); n != 2 {
				t.Errorf("%d documents in the text index, want 2", n)
			}
			// The idle writer's purges since leave young's entry alone.
			time.Sleep(3 * indexEvery)
			if got := listIDs(t, s, Query{Text: "young text"}); !slices.Equal(got, idsOf(young)) {
				t.Errorf("search \"young text\" after the index ticks: %v, want young", got)
			}
		})
	}
}

func TestSQLitePersistence(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	s, err := OpenSQLite(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := seedFilterData(t, s)
	if _, err := s.CreateBin(ctx, "made"); err != nil {
		t.Fatal(err)
	}
	if names := dirNames(t, dir); !slices.Contains(names, "hooklab.db-wal") {
		t.Errorf("no write-ahead log while open: %v", names)
	}
	count, bytes := s.Stats(context.Background())
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	wantErrIs(t, s.Add(ctx, newEx("a", "GET", "http://h/")), ErrClosed)

	s2 := openStore(t, dir, Options{RetainCount: 5})
	if c, b := s2.Stats(context.Background()); c != count || b != bytes {
		t.Errorf("reopened Stats = %d, %d; want %d, %d", c, b, count, bytes)
	}
	for name, want := range d.exs {
		got, err := s2.Get(ctx, want.ID)
		if err != nil {
			t.Fatalf("Get(%s) after reopen: %v", name, err)
		}
		sameExchange(t, want, got)
	}
	if got := listIDs(t, s2, Query{Text: "hello"}); !slices.Equal(got, d.ids("e1")) {
		t.Errorf("search after reopen = %v", got)
	}
	bins, err := s2.Bins(ctx)
	if err != nil || len(bins) != 4 || bins[3].Name != "made" {
		t.Errorf("Bins after reopen = %+v, %v", bins, err)
	}
	// Retention set on reopen counts what was already there.
	mustAdd(t, s2, newEx("a", "GET", "http://h/new"))
	if c, _ := s2.Stats(context.Background()); c != 5 {
		t.Errorf("count after reopening with RetainCount 5 and one add = %d", c)
	}
	if got := listIDs(t, s2, Query{}); len(got) != 5 {
		t.Errorf("listed %d, want 5", len(got))
	}
}

func TestSQLiteCloseRace(t *testing.T) {
	t.Parallel()
	for round := range 3 {
		t.Run(fmt.Sprint(round), func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			s, err := OpenSQLite(dir, Options{})
			if err != nil {
				t.Fatal(err)
			}
			const n = 300
			exs := make([]*Exchange, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			started := make(chan struct{}, n)
			for i := range exs {
				exs[i] = newEx("c", "POST", fmt.Sprintf("http://h/%d", i), reqBody([]byte(fmt.Sprint("body ", i))))
				wg.Go(func() {
					started <- struct{}{}
					errs[i] = s.Add(context.Background(), exs[i])
				})
			}
			for range n / 3 * (round + 1) / 3 {
				<-started
			}
			closed := make(chan error, 1)
			go func() { closed <- s.Close() }()
			done := make(chan struct{})
			go func() { wg.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Adds racing with Close hang")
			}
			select {
			case err := <-closed:
				if err != nil {
					t.Fatalf("Close: %v", err)
				}
			case <-time.After(30 * time.Second):
				t.Fatal("Close hangs")
			}
			var ok []string
			for i, err := range errs {
				switch {
				case err == nil:
					ok = append(ok, exs[i].ID)
				case errors.Is(err, ErrClosed):
				default:
					t.Errorf("Add %d: %v, want nil or ErrClosed", i, err)
				}
			}
			s2 := openStore(t, dir, Options{})
			got := listIDs(t, s2, Query{Limit: 1000})
			if !sameSet(got, ok) {
				t.Errorf("%d Adds succeeded but %d are stored", len(ok), len(got))
			}
			t.Logf("%d of %d Adds before Close", len(ok), n)
		})
	}
}

func TestSQLiteRefusesForeignFile(t *testing.T) {
	t.Parallel()
	random := make([]byte, 8192)
	rand.Read(random)
	header := append([]byte("SQLite format 3\x00"), random[:4080]...)
	tests := []struct {
		name    string
		content func(t *testing.T, path string)
	}{
		{"random bytes", func(t *testing.T, path string) { writeFile(t, path, random) }},
		{"short file", func(t *testing.T, path string) { writeFile(t, path, []byte("hello")) }},
		{"SQLite header then garbage", func(t *testing.T, path string) { writeFile(t, path, header) }},
		{"another program's database", func(t *testing.T, path string) {
			db, err := sql.Open("sqlite", path)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			if _, err := db.Exec(`CREATE TABLE accounts(id INTEGER PRIMARY KEY, name TEXT); INSERT INTO accounts(name) VALUES ('x')`); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := filepath.Join(dir, "hooklab.db")
			tt.content(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			entries := dirNames(t, dir)
			s, err := OpenSQLite(dir, Options{})
			if err == nil {
				s.Close()
				t.Fatal("OpenSQLite accepted the file")
			}
			if !strings.Contains(err.Error(), path) {
				t.Errorf("error %q does not name %s", err, path)
			}
			after, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(before, after) {
				t.Errorf("the file was changed (%d bytes before, %d after)", len(before), len(after))
			}
			if got := dirNames(t, dir); !slices.Equal(got, entries) {
				t.Errorf("directory holds %v, had %v", got, entries)
			}
		})
	}
	t.Run("empty file is a new database", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "hooklab.db"), nil)
		s := openStore(t, dir, Options{})
		mustAdd(t, s, newEx("a", "GET", "http://h/"))
	})
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestSQLiteUnwritableDir(t *testing.T) {
	t.Parallel()
	tmp := t.TempDir()
	file := filepath.Join(tmp, "file")
	writeFile(t, file, []byte("x"))
	readOnly := filepath.Join(tmp, "ro")
	if err := os.Mkdir(readOnly, 0o500); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, dir string
		root      bool // meaningful when running as root
	}{
		{"parent is a file", filepath.Join(file, "data"), true},
		{"dir is a file", file, true},
		{"read-only dir", readOnly, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.root && os.Geteuid() == 0 {
				t.Skip("root can write anywhere")
			}
			s, err := OpenSQLite(tt.dir, Options{})
			if err == nil {
				s.Close()
				t.Fatalf("OpenSQLite(%q) succeeded", tt.dir)
			}
			if !strings.Contains(err.Error(), tt.dir) && !strings.Contains(err.Error(), file) {
				t.Errorf("error %q names neither %s nor %s", err, tt.dir, file)
			}
			if !strings.Contains(err.Error(), "data directory") {
				t.Errorf("error %q does not say it is about the data directory", err)
			}
		})
	}
}

func TestSQLiteMemory(t *testing.T) {
	t.Parallel()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	before := dirNames(t, wd)
	a := openMode(t, true, Options{})
	b := openMode(t, true, Options{})
	if a.Path() != ":memory:" {
		t.Errorf("Path = %q", a.Path())
	}
	mustAdd(t, a, newEx("a", "GET", "http://h/"))
	if got := listIDs(t, b, Query{}); len(got) != 0 {
		t.Errorf("a second memory store sees %d exchanges of the first", len(got))
	}
	if got := dirNames(t, wd); !slices.Equal(got, before) {
		t.Errorf("a memory store left files in %s: %v (was %v)", wd, got, before)
	}
	if !a.SearchIndexed() {
		t.Log("FTS5 unavailable: search scans")
	}
}

func TestDefaultDataDir(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"XDG", map[string]string{"XDG_DATA_HOME": "/x", "HOME": "/h"}, "/x/hooklab"},
		{"HOME", map[string]string{"HOME": "/h"}, "/h/.local/share/hooklab"},
		{"neither", nil, ""},
		// The XDG Base Directory spec: a relative path in its variables
		// is invalid and ignored (it was taken from the working directory).
		{"relative XDG", map[string]string{"XDG_DATA_HOME": "rel", "HOME": "/h"}, "/h/.local/share/hooklab"},
		{"relative XDG, no HOME", map[string]string{"XDG_DATA_HOME": "./rel"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DefaultDataDir(func(k string) string { return tt.env[k] }); got != tt.want {
				t.Errorf("DefaultDataDir = %q, want %q", got, tt.want)
			}
		})
	}
}

func reversed(s []string) []string {
	r := slices.Clone(s)
	slices.Reverse(r)
	return r
}

// indexDocs counts the documents in the text index.
func indexDocs(t *testing.T, s *SQLite) int64 {
	t.Helper()
	var n int64
	if err := s.rdb.QueryRow(`SELECT count(*) FROM exchanges_text_docsize`).Scan(&n); err != nil {
		t.Fatalf("count index documents: %v", err)
	}
	return n
}

// Under steady traffic (a write more often than the writer's idle interval)
// the text index entries of exchanges retention deleted are purged too:
// retention bounds the index, not only the rows.
// writeEvery10ms adds an exchange to s every 10 ms (URLs prefix0,
// prefix1, …) until the function it returns is called, which waits for
// the writes to stop.
func writeEvery10ms(t *testing.T, s *SQLite, prefix string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			case <-time.After(10 * time.Millisecond):
			}
			if err := s.Add(context.Background(), newEx("p", "POST", fmt.Sprintf("%s%d", prefix, i), reqBody([]byte("purge me")))); err != nil {
				t.Error(err)
				return
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

func TestSQLiteRetainPurgesIndexUnderTraffic(t *testing.T) {
	t.Parallel()
	const keep = 20
	s := openStore(t, t.TempDir(), Options{RetainCount: keep})
	if !s.SearchIndexed() {
		t.Skip("no FTS5 in this SQLite")
	}
	// A write every 10 ms: the writer is never idle for indexEvery.
	defer writeEvery10ms(t, s, "http://h/")()
	eventually(t, 20*time.Second, "rows going through the index", func() bool { return s.indexed.Load() > 100 })
	// Sampled over a while, the index never holds much more than the
	// rows retention keeps. (Left alone it grows by about keep rows every
	// indexEvery; an idle moment would purge it, hence many samples.)
	var most int64
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
		most = max(most, indexDocs(t, s))
	}
	if most > 3*keep {
		t.Errorf("the text index held up to %d documents with %d rows kept", most, keep)
	}
}

// TestTimeIndexFollowsRetainAge: the time_ns index, which only age
// retention reads, exists while an age limit is set and is dropped (no
// cost to every insert) while none is; a command opening the store beside
// a server leaves it as it is.
func TestTimeIndexFollowsRetainAge(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	has := func(s *SQLite) bool {
		var n int
		if err := s.wdb.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'exchanges_time'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n == 1
	}
	for _, step := range []struct {
		opts Options
		want bool
	}{
		{Options{}, false},
		{Options{RetainAge: time.Hour}, true},
		{Options{DirectWrites: true}, true}, // a command: left alone
		{Options{}, false},
	} {
		s, err := OpenSQLite(dir, step.opts)
		if err != nil {
			t.Fatal(err)
		}
		if got := has(s); got != step.want {
			t.Errorf("opened with %+v: index %v, want %v", step.opts, got, step.want)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// The WAL, which grows past its checkpoint size while readers hold old
// snapshots under load, is cut back to 64 MiB when it starts over.
func TestSQLiteWALSizeLimit(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), Options{})
	var limit int64
	if err := s.wdb.QueryRow(`PRAGMA journal_size_limit`).Scan(&limit); err != nil {
		t.Fatal(err)
	}
	if limit != 64<<20 {
		t.Errorf("journal_size_limit %d, want %d", limit, 64<<20)
	}
}

// codedErr is an error with a SQLite result code, as the driver's are.
type codedErr int

func (c codedErr) Error() string { return fmt.Sprintf("sqlite error (%d)", int(c)) }
func (c codedErr) Code() int     { return int(c) }

// TestCorruptHint: a damaged database says what to do about it, and which
// file; other errors pass as they are.
func TestCorruptHint(t *testing.T) {
	t.Parallel()
	store, emitDB := "/data/emitter/hooklab.db", "/data/emitter/emit.db" // "emit" in the directory too
	for _, tc := range []struct {
		path string
		err  error
		want string
	}{
		{store, fmt.Errorf("database %s: %w", store, codedErr(11)), "move /data/emitter/hooklab.db* aside: the next start rebuilds its exchanges from the journal"},
		{emitDB, fmt.Errorf("emitter: count invocations: %w", codedErr(11)), "move /data/emitter/emit.db* aside (what it holds is lost with it: for emit.db, queued invocations"},
		{store, fmt.Errorf("database: %w", codedErr(26)), "hooklab.db is damaged"},
		{store, fmt.Errorf("database: %w", codedErr(267)), "hooklab.db is damaged"}, // SQLITE_CORRUPT_VTAB
		{store, fmt.Errorf("database: %w", codedErr(5)), ""},                        // busy: not damage
		{store, errors.New("disk I/O error"), ""},
	} {
		got := CorruptHint(tc.path, tc.err).Error()
		if tc.want == "" && got != tc.err.Error() || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("CorruptHint(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

// TestNoMigrateLeavesAnOlderSchema: a command (export) opening a data
// directory an older hooklab wrote does not upgrade it (the older server
// could no longer start on it), and says how to; serve's open upgrades it.
func TestNoMigrateLeavesAnOlderSchema(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	path := filepath.Join(dir, "hooklab.db")
	old := len(migrations) - 1
	db, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations[:old] {
		if _, err := db.Exec(m); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := db.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, old)); err != nil {
		t.Fatal(err)
	}
	db.Close()
	version := func() int {
		t.Helper()
		db, err := sql.Open("sqlite", path)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		var v int
		if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if s, err := OpenSQLite(dir, Options{DirectWrites: true, NoMigrate: true}); !errors.Is(err, ErrOlderSchema) || !strings.Contains(err.Error(), "serve") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("NoMigrate on an older schema: %v; want ErrOlderSchema saying how to upgrade", err)
	}
	if v := version(); v != old {
		t.Fatalf("schema version %d after a NoMigrate open, want %d left", v, old)
	}
	s, err := OpenSQLite(dir, Options{Exclusive: true})
	if err != nil {
		t.Fatalf("serve's open: %v", err)
	}
	s.Close()
	if v := version(); v != len(migrations) {
		t.Errorf("schema version %d after serve's open, want %d", v, len(migrations))
	}
	// A new data directory is still made, NoMigrate or not.
	fresh, err := OpenSQLite(t.TempDir(), Options{DirectWrites: true, NoMigrate: true})
	if err != nil {
		t.Fatalf("a new database with NoMigrate: %v", err)
	}
	fresh.Close()
}

// TestSpaceFor: only a full disk counts, and only once the room asked
// for is free.
func TestSpaceFor(t *testing.T) {
	dir := t.TempDir()
	if _, ok := freeBytes(dir); !ok {
		t.Skip("free space cannot be told on this system")
	}
	full := fmt.Errorf("write wal: %w", syscall.ENOSPC)
	for _, tc := range []struct {
		name string
		err  error
		need uint64
		want bool
	}{
		{"ENOSPC, room back", full, 1, true},
		{"ENOSPC, more than the disk", full, 1 << 62, false},
		{"SQLITE_FULL", fmt.Errorf("commit: %w", codeErr(13)), 1, true},
		{"SQLITE_IOERR_WRITE", codeErr(778), 1, false},
		{"I/O error", fmt.Errorf("write: %w", syscall.EIO), 1, false},
		{"not an errno", errors.New("database or disk is full"), 1, false},
	} {
		if got := SpaceFor(dir, tc.err, tc.need); got != tc.want {
			t.Errorf("%s: SpaceFor = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// codeErr is an error with an SQLite result code, as the driver's.
type codeErr int

func (c codeErr) Error() string { return fmt.Sprintf("sqlite error %d", int(c)) }
func (c codeErr) Code() int     { return int(c) }

// The text index lowers text as search does (strings.ToLower), where
// FTS5's folding missed "İstanbul" for "istanbul" and took "σεύς" for
// "σεύσ". A database whose index an older hooklab made (folded by FTS5,
// its rows counted as indexed) has that index made again and its rows
// indexed again.
func TestSQLiteSearchFoldsAsLive(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ex := newEx("b", "POST", "http://h/x", reqBody([]byte("İstanbul, ὀδυσσεύς")))
	s, err := OpenSQLite(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, ex)
	if err := s.IndexPending(t.Context()); err != nil {
		t.Fatal(err)
	}
	// As an older hooklab left it: its index, every row counted in it.
	for _, q := range []string{
		`DROP TABLE exchanges_text`,
		`CREATE VIRTUAL TABLE exchanges_fts USING fts5(url, headers, body, content='', contentless_delete=1, tokenize='trigram')`,
		`INSERT INTO exchanges_fts(rowid, url, headers, body) SELECT seq, url, '', 'İstanbul, ὀδυσσεύς' FROM exchanges`,
		`UPDATE kv SET v = 3 WHERE k = 'fts_text'`,
	} {
		if _, err := s.wdb.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openStore(t, dir, Options{})
	if err := s.IndexPending(t.Context()); err != nil {
		t.Fatal(err)
	}
	for q, want := range map[string]bool{"istanbul": true, "İSTANBUL": true, "ΔΥΣΣ": true, "ΣΕΎΣ": false, "σεύσ": false, "nothing": false} {
		if got := listIDs(t, s, Query{Text: q}); len(got) == 1 != want || len(got) > 1 {
			t.Errorf("search %q: %v, want it found: %v", q, got, want)
		}
		if got := (Query{Text: q}).Matches(ex); got != want {
			t.Errorf("live filter %q: %v, want %v", q, got, want)
		}
	}
	if n := indexDocs(t, s); n != 1 {
		t.Errorf("%d documents in the index, want 1", n)
	}
}

// An older hooklab still opens a database this one served (no schema
// version changed) and keeps its own text index in exchanges_fts: it makes
// that table if there is none, empties it for a text version not its own
// and indexes text as it came, FTS5's trigram tokenizer folding case. This
// one made its case-sensitive index under that same name, which the older
// one then kept: going back, its search for "hello world" found no "Hello
// World" it had indexed. The older one's table is left to it, and this one
// drops it when it builds its own again; a command that does not migrate
// searches by scanning until then.
func TestSQLiteTextIndexLeavesOlderHooklabsTable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ex := newEx("b", "POST", "http://h/x", reqBody([]byte("Hello World")))
	s, err := OpenSQLite(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustAdd(t, s, ex)
	if err := s.IndexPending(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// What the hooklab of 93d2549 does to the database at its open and in
	// its indexer and search, as SQL.
	db, err := sql.Open("sqlite", FileURI(filepath.Join(dir, "hooklab.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range []string{
		`CREATE VIRTUAL TABLE IF NOT EXISTS exchanges_fts USING fts5(url, headers, body, content='', contentless_delete=1, tokenize='trigram')`,
		`INSERT INTO exchanges_fts(exchanges_fts) VALUES('delete-all')`,
		`INSERT INTO exchanges_fts(rowid, url, headers, body) SELECT seq, url, '', 'Hello World' FROM exchanges`,
		`INSERT INTO kv(k, v) VALUES ('fts_text', 2) ON CONFLICT(k) DO UPDATE SET v = excluded.v`,
		`INSERT INTO kv(k, v) SELECT 'fts_indexed', max(seq) FROM exchanges WHERE true ON CONFLICT(k) DO UPDATE SET v = excluded.v`,
	} {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM exchanges_fts WHERE exchanges_fts MATCH '"hello world"'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("the older hooklab's index finds %d exchanges for \"hello world\", want 1", n)
	}
	// This one again: a command's open, then serve's.
	for _, opts := range []Options{{NoMigrate: true}, {}} {
		s, err := OpenSQLite(dir, opts)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.IndexPending(t.Context()); err != nil {
			t.Fatal(err)
		}
		if got := listIDs(t, s, Query{Text: "HELLO world"}); !slices.Equal(got, []string{ex.ID}) {
			t.Errorf("NoMigrate %v: search finds %v, want %v", opts.NoMigrate, got, []string{ex.ID})
		}
		var old int
		if err := s.rdb.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'exchanges_fts'`).Scan(&old); err != nil {
			t.Fatal(err)
		}
		// The older one's is left by a command, dropped by serve.
		if want := map[bool]int{true: 1, false: 0}[opts.NoMigrate]; old != want {
			t.Errorf("NoMigrate %v: %d tables exchanges_fts, want %d", opts.NoMigrate, old, want)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCheckpointerAfterIdle: the checkpointer copies the WAL into the
// database after writes, skips its work while nothing is written, and
// copies again once writes come back.
func TestCheckpointerAfterIdle(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	dbFile := filepath.Join(dir, "hooklab.db")
	mtime := func() time.Time {
		fi, err := os.Stat(dbFile)
		if err != nil {
			t.Fatal(err)
		}
		return fi.ModTime()
	}
	for round := 0; round < 3; round++ {
		before := mtime()
		for i := 0; i < 50; i++ {
			if err := s.Add(context.Background(), newEx("c", "POST", fmt.Sprintf("http://h/%d/%d", round, i))); err != nil {
				t.Fatal(err)
			}
		}
		eventually(t, time.Minute, fmt.Sprintf("checkpointed in round %d", round), func() bool { return !mtime().Equal(before) })
		time.Sleep(10 * checkpointEvery) // idle ticks: nothing to copy
	}
}

// TestOpenDamagedLeavesItAsItWas: a hooklab.db whose exchanges table is
// damaged is refused, naming the file, and left byte for byte as it was
// (the text index's settings were written at every open, before any read
// found the damage).
func TestOpenDamagedLeavesItAsItWas(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openStoreNoCleanup(t, dir)
	for i := range 300 {
		mustAdd(t, s, newEx("d", "POST", fmt.Sprintf("http://h/%d/%s", i, strings.Repeat("u", 400))))
	}
	s.Sync(t.Context())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hooklab.db")
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	var page, size int64
	err = db.QueryRow(`SELECT max(pageno) FROM dbstat WHERE name = 'exchanges' AND pagetype = 'leaf'`).Scan(&page)
	if err == nil {
		err = db.QueryRow(`PRAGMA page_size`).Scan(&size)
	}
	db.Close()
	if err != nil {
		t.Skipf("no dbstat to find a page of the exchanges table: %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	junk := bytes.Repeat([]byte{0xa5}, int(size))
	copy(b[(page-1)*size:], junk)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if s, err := OpenSQLite(dir, Options{Exclusive: true}); err == nil {
		s.Close()
		t.Fatal("a damaged hooklab.db opened")
	} else if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	after, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(after, b) {
		n := 0
		for i := range min(len(after), len(b)) {
			if after[i] != b[i] {
				n++
			}
		}
		t.Errorf("the damaged hooklab.db was written to: %d bytes differ, size %d then %d", n, len(b), len(after))
	}
}

// openStoreNoCleanup opens a store the test closes itself.
func openStoreNoCleanup(t *testing.T, dir string) *SQLite {
	t.Helper()
	s, err := OpenSQLite(dir, Options{})
	if err != nil {
		t.Fatalf("OpenSQLite(%q): %v", dir, err)
	}
	return s
}

// Under heavy traffic the writer indexes only now and then, and the rows
// it indexes are far apart (those retention kept at that moment), so the
// entries to purge are few among many rowids. A purge step counts the
// entries it removes, not the rowids it passes: counting rowids, purging
// fell behind captures over 1,000 a second, and the index grew without
// bound (hooklab.db 2 MB to 72 MB in six minutes with 1,131 exchanges
// kept).
func TestSQLiteRetainPurgesSparseIndexUnderTraffic(t *testing.T) {
	t.Parallel()
	const keep, rounds, perRound = 10, 10, 3000
	s := openStore(t, t.TempDir(), Options{RetainCount: keep})
	if !s.SearchIndexed() {
		t.Skip("no FTS5 in this SQLite")
	}
	s.manualIndex.Store(true) // indexed at the end of each round only
	add := func(n int) {
		t.Helper()
		var wg sync.WaitGroup
		for w := range 16 {
			wg.Go(func() {
				for i := w; i < n; i += 16 {
					if err := s.Add(context.Background(), newEx("p", "POST", fmt.Sprintf("http://h/%d", i), reqBody([]byte("purge me")))); err != nil {
						t.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
	}
	for range rounds {
		add(perRound)
		if err := s.IndexPending(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// The writer stays busy (a write every 10 ms), so each tick purges
	// its busy step; the index holds at most keep entries for every
	// round, perRound rowids apart.
	defer writeEvery10ms(t, s, "http://h/busy/")()
	start := time.Now()
	for indexDocs(t, s) > 3*keep {
		if time.Since(start) > 3*time.Second {
			t.Fatalf("the text index still holds %d documents with %d rows kept, %v after the load ended", indexDocs(t, s), keep, time.Since(start).Round(time.Millisecond))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Two servers started at the same moment on a new data directory: one
// opens it, the other is refused as in use, the error a user can act on.
// Both passed the early check for the journal's lock and migrated at once,
// and the second's first migration met the first's tables ("migration 1:
// SQL logic error: table exchanges already exists", or "duplicate column
// name" further on), which reads as a damaged database.
func TestOpenAtTheSameMomentOneIsInUse(t *testing.T) {
	t.Parallel()
	for round := range 20 {
		dir := t.TempDir()
		start := make(chan struct{})
		var wg sync.WaitGroup
		stores := make([]*SQLite, 2)
		errs := make([]error, 2)
		for i := range 2 {
			wg.Go(func() {
				<-start
				stores[i], errs[i] = OpenSQLite(dir, Options{Exclusive: true})
			})
		}
		close(start)
		wg.Wait()
		opened := 0
		for i, err := range errs {
			switch {
			case err == nil:
				opened++
				if err := stores[i].Close(); err != nil {
					t.Error(err)
				}
			case !errors.Is(err, ErrInUse):
				t.Errorf("round %d: the second open: %v; want ErrInUse", round, err)
			}
		}
		if opened != 1 {
			t.Errorf("round %d: %d of 2 opened (errors %v); want one", round, opened, errs)
		}
	}
}
