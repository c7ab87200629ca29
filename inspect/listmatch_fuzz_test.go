package inspect

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"testing"
)

// FuzzListMatchesLive: GET /api/exchanges?… (the store's SQL, its search
// index and the query language over it) lists exactly the exchanges the
// live stream's filter (Query.Matches and Terms.Match) lets through, for
// any filter the API accepts, in a file store and in memory.
func FuzzListMatchesLive(f *testing.F) {
	exs := []*Exchange{
		newEx("default", "POST", "http://127.0.0.1:8080/hooks/a?x=1", reqBody([]byte(`{"a":{"b":"x y"},"n":5}`)), reqHeader("H", "v"), reqHeader("Content-Type", "application/json")),
		newEx("b1", "purge", "http://127.0.0.1:8080/b/b1/Path/%C3%9Cn%C3%AFcode?q=%E2%82%AC", status(404), respBody([]byte("Not Found: ÜNÏCODE"))),
		newEx("default", "GET", "http://up.example/api", source(SourceProxy), noResponse(), withError("connection reset by peer")),
		newEx("b-2", "PUT", "http://127.0.0.1:8080/b/b-2/x", source(SourceEmit), status(503), reqBody([]byte("Hello WORLD café İstanbul ß ẞ K Ω ϴ ǅ ΐ ﬀ ὀδυσσεύς ſtraße µs")), reqHeader("X-Token", "Secret")),
		newEx("default", "DELETE", "http://127.0.0.1:8080/items/7", source(SourceReplay), status(201), reqBody([]byte("\xff\x00bin\xfe"))),
		newEx("default", "GET", "http://127.0.0.1:8080/", status(302), respHeader("Location", "/next"), func(ex *Exchange) {
			ex.Rule, ex.Signature = "rule-1", &Signature{Scheme: "zendesk", Verdict: "invalid"}
		}),
	}
	var stores []*SQLite
	for _, memory := range []bool{false, true} {
		dir := ""
		if !memory {
			dir = f.TempDir()
		}
		s, err := OpenSQLite(dir, Options{Memory: memory})
		if err != nil {
			f.Fatal(err)
		}
		f.Cleanup(func() { s.Close() })
		for _, ex := range exs {
			if err := s.Add(context.Background(), ex); err != nil {
				f.Fatal(err)
			}
		}
		s.Sync(context.Background())
		if err := s.IndexPending(context.Background()); err != nil {
			f.Fatal(err)
		}
		stores = append(stores, s)
	}
	for _, s := range [][4]string{
		{"", "", "", "café"}, {"POST", "2xx", "", `json:a.b="x y"`}, {"", "none", "proxy", "reset"}, {"PURGE", "", "", "ünïcode"},
		{"", "5xx", "", "istanbul"}, {"", "", "", "header:x-token=Secret -status:404"}, {"", "", "", `"WORLD CAF"`}, {"", "", "", "ß"},
		{"", "", "", "istanbul"}, {"", "", "", "σεύσ"}, {"", "", "", "stra"}, {"", "", "", "İSTANBUL"}, {"", "", "", "sig:invalid rule:rule-1"}, {"", "", "", "path:/b/*"}, {"get", "", "", "bin"}, {"", "", "", "%"}, {"", "", "", "_"},
	} {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, method, status, src, text string) {
		v := url.Values{}
		for k, x := range map[string]string{"method": method, "status": status, "source": src, "q": text} {
			if x != "" {
				v.Set(k, x)
			}
		}
		q, terms, err := parseListQuery(v)
		if err != nil {
			return
		}
		var want []string
		for i := len(exs) - 1; i >= 0; i-- {
			if q.Matches(exs[i]) && terms.Match(exs[i]) {
				want = append(want, exs[i].ID)
			}
		}
		for i, s := range stores {
			sums, _, err := ListMatching(context.Background(), s, q, terms, 0)
			if errors.Is(err, ErrInvalid) {
				return // text search cannot look for a NUL: a 400
			}
			if err != nil {
				t.Fatalf("ListMatching(%+v, %q): %v", q, terms, err)
			}
			var got []string
			for _, x := range sums {
				got = append(got, x.ID)
			}
			slices.Sort(got)
			w := slices.Sorted(slices.Values(want))
			if !slices.Equal(got, w) {
				t.Fatalf("store %d, %v: listed %v, the live filter passes %v", i, v, got, w)
			}
		}
	})
}
