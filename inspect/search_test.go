package inspect

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode"
)

// TestSearchMatchesQuery checks, over random data, that the store's text
// search (the FTS index for 3 or more characters, the scan below that)
// selects exactly the exchanges Query.Matches selects.
func TestSearchMatchesQuery(t *testing.T) {
	t.Parallel()
	// Both cases of a few letters, the LIKE and FTS specials, and one
	// non-ASCII letter (lower case only: SQLite folds ASCII case alone).
	const alphabet = `abcABC -_%"'/:=\é`
	runes := []rune(alphabet)
	// One mode: memory runs the same SQL (TestSQLiteListFilters searches
	// both), and under -race each mode costs seconds.
	for _, mode := range storeModes[:1] {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			seed := rand.Uint64()
			t.Logf("seed %d", seed)
			rng := rand.New(rand.NewPCG(seed, 1))
			str := func(max int) string {
				var b strings.Builder
				for range rng.IntN(max + 1) {
					b.WriteRune(runes[rng.IntN(len(runes))])
				}
				return b.String()
			}
			s := openMode(t, mode.memory, Options{})
			var exs []*Exchange
			var fields []string // every searchable string, to draw queries from
			for i := range 80 {
				if i == 40 {
					// Half the rows go into the text index; the rest are
					// searched by scanning until the second phase below.
					if err := s.IndexPending(t.Context()); err != nil {
						t.Fatal(err)
					}
				}
				ex := newEx("p", "POST", "http://h/"+str(12))
				ex.Request.Headers = nil
				for range rng.IntN(3) {
					// Names are HTTP tokens: never a ':' (the store relies on it).
					ex.Request.Headers = append(ex.Request.Headers, Header{"X-" + strings.ReplaceAll(str(4), ":", ""), str(10)})
				}
				ex.Request.Body = []byte(str(30))
				if rng.IntN(4) == 0 {
					ex.Response = nil
				} else {
					ex.Response.Headers = Headers{{"R-" + strings.ReplaceAll(str(3), ":", ""), str(8)}}
					ex.Response.Body = []byte(str(30))
				}
				mustAdd(t, s, ex)
				exs = append(exs, ex)
				fields = append(fields, ex.Request.URL, string(ex.Request.Body))
				for _, h := range ex.Request.Headers {
					fields = append(fields, h.Name+": "+h.Value)
				}
				if ex.Response != nil {
					fields = append(fields, string(ex.Response.Body), ex.Response.Headers[0].Name+": "+ex.Response.Headers[0].Value)
				}
			}
			slices.Reverse(exs) // newest first, as List answers

			queries := map[string]bool{}
			for len(queries) < 120 {
				var q string
				if rng.IntN(2) == 0 {
					q = str(3) + str(3) // mostly misses when long
				} else { // a piece of a field, in either case
					f := []rune(fields[rng.IntN(len(fields))])
					if len(f) == 0 {
						continue
					}
					i := rng.IntN(len(f))
					q = string(f[i:min(len(f), i+1+rng.IntN(5))])
					if rng.IntN(2) == 0 {
						q = strings.Map(func(r rune) rune {
							if r < unicode.MaxASCII {
								return unicode.ToUpper(r)
							}
							return r
						}, q)
					}
				}
				if q != "" {
					queries[q] = true
				}
			}
			hits, short := 0, 0
			for phase := range 2 {
				if phase == 1 {
					if err := s.IndexPending(t.Context()); err != nil {
						t.Fatal(err)
					}
					if s.indexed.Load() != s.lastSeq.Load() || s.lastSeq.Load() == 0 {
						t.Fatalf("index watermark %d, newest row %d", s.indexed.Load(), s.lastSeq.Load())
					}
					hits, short = 0, 0
				} else if s.Sync(t.Context()); s.indexed.Load() == 0 || s.indexed.Load() == s.lastSeq.Load() {
					w := s.indexed.Load()
					t.Fatalf("phase 0 wants a half-indexed store; watermark %d of %d", w, s.lastSeq.Load())
				}
				for q := range queries {
					got := listIDs(t, s, Query{Text: q, Limit: 1000})
					var want []string
					for _, ex := range exs {
						if (Query{Text: q}).Matches(ex) {
							want = append(want, ex.ID)
						}
					}
					if !slices.Equal(got, want) {
						t.Errorf("phase %d: search %q: store lists %d, Matches selects %d (%s)", phase, q, len(got), len(want), diffIDs(got, want, exs))
					}
					if len(want) > 0 {
						hits++
					}
					if len([]rune(q)) < 3 {
						short++
					}
				}
			}
			// The test means something only if it saw both kinds of query
			// and both outcomes. (At 20 of each, one seed in some tens
			// failed: 101 of 120 with hits.)
			t.Logf("sample: %d queries, %d with hits, %d short", len(queries), hits, short)
			if hits < 10 || hits > len(queries)-10 || short < 10 || short > len(queries)-10 {
				t.Errorf("poor sample: %d queries, %d with hits, %d short", len(queries), hits, short)
			}
		})
	}
}

func diffIDs(got, want []string, exs []*Exchange) string {
	var b strings.Builder
	for _, ex := range exs {
		g, w := slices.Contains(got, ex.ID), slices.Contains(want, ex.ID)
		if g == w {
			continue
		}
		j, _ := ex.MarshalJSON()
		fmt.Fprintf(&b, "\n  store %v, Matches %v: %s", g, w, j)
	}
	return b.String()
}

// A NUL byte in the search text is refused as invalid input: an FTS5
// query cannot hold one (it failed with a 500 "unterminated string" once
// rows were indexed), and SQLite's LIKE ends the text and the pattern at
// one (a scan for "\x00" listed everything).
func TestSearchNUL(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	s := e.store
	mustAdd(t, s,
		newEx("z", "POST", "http://h/1", reqBody([]byte("abc\x00def"))),
		newEx("z", "POST", "http://h/2", reqBody([]byte("abcdef"))),
	)
	if err := s.IndexPending(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{"abc\x00def", "c\x00d", "\x00", "ab\x00zz"} {
		_, _, err := s.List(t.Context(), Query{Text: q})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "NUL") {
			t.Errorf("search %q: %v, want ErrInvalid naming the NUL byte", q, err)
		}
	}
	e.do(t, "GET", "/api/exchanges?q=abc%00def", "", "").wantError(t, http.StatusBadRequest, "NUL")
}

// A search over rows partly indexed and partly not pages through both in
// order, either way, with filters; and a page is read along the table in
// order, never gathered whole and sorted (which made paging through a
// large unindexed backlog take minutes).
//
// Journaled rows are checked against their records in Go; rows written
// whole (direct writes, memory) by the SQL scan.
func TestSearchPagesAcrossIndexedAndScanned(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]Options{"journal": {}, "memory": {Memory: true}, "direct writes": {DirectWrites: true}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			searchPagesAcrossIndexedAndScanned(t, openStore(t, t.TempDir(), opts))
		})
	}
}

func searchPagesAcrossIndexedAndScanned(t *testing.T, s *SQLite) {
	ctx := t.Context()
	s.manualIndex.Store(true)
	var want []string // oldest first
	add := func(n int) {
		for range n {
			i := len(want)
			bin := []string{"a", "b"}[i%2]
			body := "plain"
			if i%3 == 0 {
				body = fmt.Sprintf("the needle %d", i)
			}
			ex := newEx(bin, "POST", fmt.Sprintf("http://h/%d", i), reqBody([]byte(body)))
			mustAdd(t, s, ex)
			want = append(want, ex.ID)
		}
	}
	add(90)
	s.Sync(ctx)
	if err := s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	half := s.lastSeq.Load() // the 90th row (a store in memory numbers from its start time)
	add(90)
	s.Sync(ctx)
	if w, indexed := s.textIndexed(Query{Text: "needle"}); !indexed || w != half {
		t.Fatalf("indexed up to %d (%v), want %d, the 90th of 180 rows", w, indexed, half)
	}
	var matching []string
	for i, id := range want {
		if i%3 == 0 {
			matching = append(matching, id)
		}
	}
	var matchingA []string
	for i, id := range want {
		if i%3 == 0 && i%2 == 0 {
			matchingA = append(matchingA, id)
		}
	}
	newestFirst := func(ids []string) []string {
		ids = slices.Clone(ids)
		slices.Reverse(ids)
		return ids
	}
	for _, tc := range []struct {
		name string
		q    Query
		want []string
	}{
		{"newest first", Query{Text: "needle", Limit: 7}, newestFirst(matching)},
		{"oldest first", Query{Text: "needle", Limit: 7, Ascending: true}, matching},
		{"in a bin", Query{Text: "NEEDLE", Bin: "a", Limit: 4}, newestFirst(matchingA)},
	} {
		if got := listIDs(t, s, tc.q); !slices.Equal(got, tc.want) {
			t.Errorf("%s: got %d exchanges\n%v\nwant %d\n%v", tc.name, len(got), got, len(tc.want), tc.want)
		}
	}

	// The plan of a later page (with a cursor) of a search.
	w, indexed := s.textIndexed(Query{Text: "needle"})
	where, args, err := s.whereClause(ctx, Query{Text: "needle"}, w, indexed)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := s.rdb.QueryContext(ctx, "EXPLAIN QUERY PLAN "+summarySQL(where+" AND seq < ? ORDER BY seq DESC"), append(args, 150, 256)...)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for _, step := range plan {
		if strings.Contains(step, "TEMP B-TREE") || strings.Contains(step, "MULTI-INDEX OR") {
			t.Errorf("a page of a search gathers and sorts its rows: %q", plan)
			break
		}
	}
}

// TestIndexBatchIsBounded: one batch of the text index reads at most
// indexBatchBytes of text (and holds the writer at most indexBatchTime),
// so that large or slowly tokenized bodies do not stall the writer; the
// next batches go on from there, and search finds them all.
func TestIndexBatchIsBounded(t *testing.T) {
	t.Parallel()
	s := openStore(t, t.TempDir(), Options{})
	ctx := t.Context()
	s.manualIndex.Store(true)
	big := bytes.Repeat([]byte("x"), 5<<20)
	for i := range 4 {
		mustAdd(t, s, newEx("big", "POST", fmt.Sprintf("http://h/%d", i), reqBody(append([]byte(fmt.Sprintf("needle%d ", i)), big...))))
	}
	s.Sync(ctx)
	batch := func() int64 {
		t.Helper()
		if err := s.submit(ctx, &pendingWrite{index: true, done: make(chan error, 1)}); err != nil {
			t.Fatal(err)
		}
		return s.indexed.Load()
	}
	// Out of time after the first row: the batch ends there (set before
	// the writer indexes anything; manualIndex keeps it from doing so on
	// its own).
	s.indexTime = time.Nanosecond
	if got := batch(); got != 1 {
		t.Errorf("a batch out of time indexed up to row %d, want 1", got)
	}
	// Time enough: the text bound ends it, after the 8 MiB read.
	s.indexTime = time.Hour
	if got := batch(); got != 3 {
		t.Errorf("the next batch indexed up to row %d, want 3 (rows 2 and 3: 10 MiB of text read, over the 8 MiB bound; row 4 waits)", got)
	}
	if err := s.IndexPending(ctx); err != nil {
		t.Fatal(err)
	}
	if got := s.indexed.Load(); got != 4 {
		t.Errorf("indexed up to row %d, want all 4", got)
	}
	sums, _, err := s.List(ctx, Query{Text: "needle3"})
	if err != nil || len(sums) != 1 {
		t.Errorf("search after the batches: %d found, %v", len(sums), err)
	}

	// Response bodies count too: a batch holds what it read until it has
	// indexed it (a proxy in front of downloads: 2,000 rows of 10 MiB).
	for i := range 4 {
		mustAdd(t, s, newEx("dl", "GET", fmt.Sprintf("http://h/file/%d", i), respBody(big)))
	}
	s.Sync(ctx)
	if got := batch(); got != 6 {
		t.Errorf("a batch over 5 MiB responses indexed up to row %d, want 6 (rows 5 and 6: 10 MiB read)", got)
	}
}

// A body's bytes that are not UTF-8 read as one U+FFFD each, as they do in
// a header or the URL (and in a header value in the API's JSON): a Latin-1
// "Grüße" (two such bytes in a row) is found by the text the API shows for
// it in a header and by its own bytes, before the index has it and after.
// (A run of them read as one U+FFFD, so neither found the body, while the
// same bytes in a header were found.)
func TestSearchInvalidUTF8BytesEach(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	ex := newEx("s", "POST", "http://h/form", reqBody([]byte("name=Gr\xfc\xdfe&x=1")), reqHeader("X-Name", "Gr\xfc\xdfe"))
	mustAdd(t, e.store, ex)
	e.store.Sync(t.Context())
	check := func(when string) {
		t.Helper()
		for _, q := range []string{"Gr\ufffd\ufffde", "Gr\xfc\xdfe", "name=Gr\ufffd\ufffde", "name=Gr\xfc\xdfe", "\ufffd\ufffde&x"} {
			var page struct {
				Exchanges []Summary `json:"exchanges"`
			}
			e.do(t, "GET", "/api/exchanges?q="+url.QueryEscape(q), "", "").decode(t, http.StatusOK, &page)
			if len(page.Exchanges) != 1 {
				t.Errorf("%s: q=%+q finds %d exchanges, want 1", when, q, len(page.Exchanges))
			}
		}
	}
	check("before indexing")
	if err := e.store.IndexPending(t.Context()); err != nil {
		t.Fatal(err)
	}
	check("after indexing")
}

// A gzip or deflate body (Content-Encoding) is searched as the UI shows
// it, decoded, as json: terms read it: before the index has it and after,
// in a row with a journal record and in one without (memory), and one cut
// at --max-body as far as it decodes. (Its compressed bytes were searched,
// so a gzipped webhook or a proxied API's gzip answer was never found.)
func TestSearchDecodesContentCoding(t *testing.T) {
	t.Parallel()
	// Text that compresses little, so that half the gzip stream decodes
	// to a good part of it (Go's decoder gives out what it has in 32 KiB
	// windows).
	rng := rand.New(rand.NewPCG(1, 2))
	var long strings.Builder
	long.WriteString(`{"note":"gzipcutneedle `)
	for range 40_000 {
		fmt.Fprintf(&long, "%x", rng.Uint32()&0xf)
	}
	long.WriteString(`"}`)
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			s := openMode(t, mode.memory, Options{})
			req := newEx("z", "POST", "http://h/gz", reqBody(encoded(t, "gzip", `{"ticket":{"subject":"gzipreqneedle"}}`)), reqHeader("Content-Encoding", "gzip"))
			resp := newEx("z", "GET", "http://h/api")
			resp.Response.Headers = Headers{{"Content-Encoding", "deflate"}}
			resp.Response.Body = encoded(t, "raw-deflate", `{"items":["deflaterespneedle"]}`)
			cut := encoded(t, "gzip", long.String())
			cutEx := newEx("z", "POST", "http://h/cut", reqBody(cut[:len(cut)/2]), reqHeader("Content-Encoding", "gzip"))
			cutEx.Request.Truncated = true
			// An answer the upstream broke off is not marked truncated
			// (hooklab kept all that came), and is read as far as it
			// decodes too.
			broken := newEx("z", "GET", "http://h/broken")
			broken.Response.Headers = Headers{{"Content-Encoding", "gzip"}}
			broken.Response.Body = cut[:len(cut)/2]
			broken.Error = "reading upstream body: unexpected EOF; the answer to the client was cut off there"
			plain := newEx("z", "POST", "http://h/plain", reqBody([]byte("gzipreqneedle in plain text")))
			brEx := newEx("z", "GET", "http://h/br")
			brEx.Response.Headers = Headers{{"Content-Encoding", "br"}}
			brEx.Response.Body = encoded(t, "br", `{"items":["brotlirespneedle"]}`)
			for _, ex := range []*Exchange{req, resp, cutEx, plain, brEx, broken} {
				mustAdd(t, s, ex)
			}
			s.Sync(t.Context())
			check := func(when string) {
				t.Helper()
				for q, want := range map[string][]string{
					"gzipreqneedle":     {plain.ID, req.ID},
					"deflaterespneedle": {resp.ID},
					"gzipcutneedle":     {broken.ID, cutEx.ID},
					"brotlirespneedle":  {brEx.ID},
				} {
					list, _, err := s.List(t.Context(), Query{Text: q})
					if err != nil {
						t.Fatal(err)
					}
					var got []string
					for _, x := range list {
						got = append(got, x.ID)
					}
					if !slices.Equal(got, want) {
						t.Errorf("%s: q=%s finds %v, want %v", when, q, got, want)
					}
				}
			}
			check("before indexing")
			if err := s.IndexPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			check("after indexing")
		})
	}
}

// A body whose Content-Encoding names a coding it is not in (a HAR
// import: browsers write bodies decoded and keep the wire's headers) is
// searched as it is: a deflate reader made a few bytes of garbage of some
// such text before it failed, and those were searched instead, so the
// exchange was found by nothing it said. Some such text runs a decoder out
// of input rather than into an error, as a body cut at --max-body does:
// the deflate reader made 28 bytes of garbage of the JSON array and then
// wanted more, and the br reader took the form for an uncompressed block
// and gave out all of it but "a=la". A body that is text is read as it
// is; a compressed one cut short is not text, and is read as far as it
// decodes (TestSearchDecodesContentCoding).
func TestSearchBodyNotInItsContentCoding(t *testing.T) {
	t.Parallel()
	for _, mode := range storeModes {
		t.Run(mode.name, func(t *testing.T) {
			t.Parallel()
			s := openMode(t, mode.memory, Options{})
			ex := newEx("z", "GET", "http://h/api")
			ex.Response.Headers = Headers{{"Content-Encoding", "deflate"}}
			ex.Response.Body = []byte(`{"ok":true,"name":"labelneedle"}`)
			req := newEx("z", "POST", "http://h/form", reqBody([]byte(`[{"id":1,"name":"labelneedle"}]`)), reqHeader("Content-Encoding", "deflate"))
			arr := newEx("z", "GET", "http://h/list")
			arr.Response.Headers = Headers{{"Content-Encoding", "deflate"}}
			arr.Response.Body = []byte(`["name","labelneedle","name"]`)
			form := newEx("z", "POST", "http://h/form", reqBody([]byte(`a=labelneedle&name=1`)), reqHeader("Content-Encoding", "br"))
			for _, x := range []*Exchange{ex, req, arr, form} {
				mustAdd(t, s, x)
			}
			s.Sync(t.Context())
			check := func(when string) {
				t.Helper()
				list, _, err := s.List(t.Context(), Query{Text: "labelneedle"})
				if err != nil {
					t.Fatal(err)
				}
				var got []string
				for _, x := range list {
					got = append(got, x.ID)
				}
				if want := []string{form.ID, arr.ID, req.ID, ex.ID}; !slices.Equal(got, want) {
					t.Errorf("%s: finds %v, want %v", when, got, want)
				}
				for _, x := range []*Exchange{ex, req, arr, form} {
					if !(Query{Text: "labelneedle"}).Matches(x) {
						t.Errorf("%s: the live filter does not match %s", when, x.Request.URL)
					}
				}
			}
			check("before indexing")
			if err := s.IndexPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			check("after indexing")
		})
	}
}

// TestSearchFindsTheTextNotItsTrigrams: a row holding every trigram of the
// text but not the text (apart, or in different parts of the exchange) is
// not found, whether the index or a scan answers, in a journaled store and
// in stores that keep rows whole.
func TestSearchFindsTheTextNotItsTrigrams(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]Options{"journal": {}, "memory": {Memory: true}, "direct writes": {DirectWrites: true}} {
		for _, index := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/indexed=%v", name, index), func(t *testing.T) {
				t.Parallel()
				s := openStore(t, t.TempDir(), opts)
				s.manualIndex.Store(true)
				hit := newEx("c", "POST", "http://h/x", reqBody([]byte(`{"note":"abcdef"}`)))
				apart := newEx("c", "POST", "http://h/x", reqBody([]byte(`{"note":"abcd cdef"}`)))
				split := newEx("c", "POST", "http://h/abcd", reqBody([]byte(`{"note":"cdef"}`)))
				mustAdd(t, s, hit, apart, split)
				s.Sync(t.Context())
				if index {
					if err := s.IndexPending(t.Context()); err != nil {
						t.Fatal(err)
					}
				}
				if w, _ := s.textIndexed(Query{Text: "abcdef"}); s.fts && (w == s.lastSeq.Load()) != index {
					t.Fatalf("indexed up to %d of %d; want every row indexed: %v", w, s.lastSeq.Load(), index)
				}
				for _, tc := range []struct {
					text string
					want []string
				}{
					{"abcdef", idsOf(hit)},
					{"ABCDEF", idsOf(hit)},
					{"abcd", idsOf(split, apart, hit)},
					{"cd cd", idsOf(apart)},
				} {
					if got := listIDs(t, s, Query{Text: tc.text}); !slices.Equal(got, tc.want) {
						t.Errorf("search %q: %v, want %v", tc.text, got, tc.want)
					}
				}
			})
		}
	}
}

// TestSearchLongTextOverRepeatedText: a long search text is no phrase of
// thousands of trigrams for the text index. Matching one costs each row
// the phrase's length times the places its trigrams are in the row, and
// SQLite cannot stop it midway: a 1,000-letter text over a header of
// 900 KiB of one letter (a sender can send one) took 13 s a row, and
// went on after its client had gone. The index now looks for a bounded
// part of the text, and the rows it finds are checked for all of it.
func TestSearchLongTextOverRepeatedText(t *testing.T) {
	t.Parallel()
	for name, opts := range map[string]Options{"journal": {}, "direct writes": {DirectWrites: true}} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := openStore(t, t.TempDir(), opts)
			s.manualIndex.Store(true)
			long := strings.Repeat("a", 20000)
			hit := newEx("c", "POST", "http://h/x", reqHeader("X-Run", strings.Repeat("a", 64<<10)))
			short := newEx("c", "POST", "http://h/x", reqBody([]byte(long[1:])))
			mustAdd(t, s, hit, short)
			s.Sync(t.Context())
			if err := s.IndexPending(t.Context()); err != nil {
				t.Fatal(err)
			}
			if w, ok := s.textIndexed(Query{Text: long}); s.fts && (!ok || w != s.lastSeq.Load()) {
				t.Fatalf("indexed up to %d of %d; want every row indexed", w, s.lastSeq.Load())
			}
			var got []string
			took := threadCPUTime(t, func() { got = listIDs(t, s, Query{Text: long}) })
			if took > 5*time.Second {
				t.Errorf("search of %d letters took %v of CPU time", len(long), took)
			}
			if want := idsOf(hit); !slices.Equal(got, want) {
				t.Errorf("search: %v, want %v", got, want)
			}
		})
	}
}
