package inspect

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestParseQueryLang(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   string
		want Terms
	}{
		{"empty", "  ", nil},
		{"text", "hello", Terms{{Value: "hello"}}},
		{"two words", "a  b", Terms{{Value: "a"}, {Value: "b"}}},
		{"method", "method:post", Terms{{Field: "method", Value: "post"}}},
		{"key any case", "METHOD:GET", Terms{{Field: "method", Value: "GET"}}},
		{"status class", "status:5xx", Terms{{Field: "status", Value: "5xx"}}},
		{"status none", "status:none", Terms{{Field: "status", Value: "none"}}},
		{"path glob", "path:/hooks/*", Terms{{Field: "path", Value: "/hooks/*"}}},
		{"bin", "bin:stripe", Terms{{Field: "bin", Value: "stripe"}}},
		{"source", "source:emit", Terms{{Field: "source", Value: "emit"}}},
		{"header value", "header:X-GitHub-Event=push", Terms{{Field: "header", Name: "X-GitHub-Event", Value: "push", HasValue: true}}},
		{"header presence", "header:x-sig", Terms{{Field: "header", Name: "x-sig"}}},
		{"header empty value", "header:x-a=", Terms{{Field: "header", Name: "x-a", HasValue: true}}},
		{"json", "json:ticket.priority=urgent", Terms{{Field: "json", Name: "ticket.priority", Value: "urgent", HasValue: true}}},
		{"json value with =", "json:a=b=c", Terms{{Field: "json", Name: "a", Value: "b=c", HasValue: true}}},
		{"sig", "sig:INVALID", Terms{{Field: "sig", Value: "invalid"}}},
		{"rule", "rule:created", Terms{{Field: "rule", Value: "created"}}},
		{"not", "-source:replay", Terms{{Not: true, Field: "source", Value: "replay"}}},
		{"not text", "-noise", Terms{{Not: true, Value: "noise"}}},
		{"lone dash is text", "-", Terms{{Value: "-"}}},
		{"unknown key is text", "http://example.com", Terms{{Value: "http://example.com"}}},
		{"quoted text", `"two words"`, Terms{{Value: "two words"}}},
		{"quoted key is text", `"method:POST"`, Terms{{Value: "method:POST"}}},
		{"negated quoted text", `-"a b"`, Terms{{Not: true, Value: "a b"}}},
		{"quoted value", `json:ticket.subject="Printer on fire"`, Terms{{Field: "json", Name: "ticket.subject", Value: "Printer on fire", HasValue: true}}},
		{"escaped quote", `"say \"hi\""`, Terms{{Value: `say "hi"`}}},
		{"empty quotes", `""`, Terms{{Value: ""}}},
		{"combination", `method:POST status:5xx -bin:noise ticket`, Terms{
			{Field: "method", Value: "POST"}, {Field: "status", Value: "5xx"},
			{Not: true, Field: "bin", Value: "noise"}, {Value: "ticket"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseQueryLang(tt.in)
			if err != nil {
				t.Fatalf("ParseQueryLang(%q): %v", tt.in, err)
			}
			if tt.name == "empty quotes" {
				// An explicitly empty phrase matches everything; it may be kept or dropped.
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseQueryLang(%q)\n got %#v\nwant %#v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseQueryLangErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"status:abc", "status:6xx", "status:", "source:mail", "bin:a.b", "bin:",
		"method:", "sig:maybe", "header:", "header:=x", "json:=1", "path:", "path:[", "rule:", "path:/a**", "path:/**/**/**/**/**",
		`"open`, `key:"open`,
	} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			_, err := ParseQueryLang(in)
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseQueryLang(%q) = %v, want ErrInvalid", in, err)
			}
		})
	}
}

// TestParseQueryLangTypos: a field name with a typo is an error naming the
// field meant, not a text search that silently finds nothing; words that
// only look like fields, and quoted terms, are text.
func TestParseQueryLangTypos(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"stauts:500": "did you mean status:?", "mehtod:POST": "did you mean method:?", "methodd:GET": "did you mean method:?",
		"-soruce:emit": "did you mean source:?", "haeder:x": "did you mean header:?", "statsu:200": "did you mean status:?",
	} {
		if _, err := ParseQueryLang(in); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseQueryLang(%q) = %v, want an error with %q", in, err, want)
		}
	}
	for _, in := range []string{"code:card_declined", "http://x", `"stauts:500"`, "type:ticket", "id:7", "x-id:1",
		"state:open", "stats:ok", "static:true", "role:admin", "sender:a@b.c", "head:x", "course:101", "resource:users",
		"patch:v2", "sip:+1555", "pin:1", "big:x", "sin:x"} {
		if terms, err := ParseQueryLang(in); err != nil || len(terms) != 1 || terms[0].Field != "" {
			t.Errorf("ParseQueryLang(%q) = %+v, %v; want one text term", in, terms, err)
		}
	}
}

func TestTermsFold(t *testing.T) {
	t.Parallel()
	terms, err := ParseQueryLang(`method:POST bin:a bin:b -source:emit status:none status:4xx urgent other path:/x`)
	if err != nil {
		t.Fatal(err)
	}
	q, rest := terms.Fold(Query{Limit: 5})
	want := Query{Limit: 5, Method: "POST", Bin: "a", Status: "4xx", Text: "urgent"}
	if !reflect.DeepEqual(q, want) {
		t.Errorf("folded query %+v, want %+v", q, want)
	}
	if got := rest.String(); got != `bin:b -source:emit status:none other path:/x` {
		t.Errorf("rest %q", got)
	}
	// A field already set by a URL parameter is not overwritten.
	q, rest = Terms{{Field: "bin", Value: "x"}}.Fold(Query{Bin: "y"})
	if q.Bin != "y" || len(rest) != 1 {
		t.Errorf("Fold over a set field: %+v %v", q, rest)
	}
}

// TestJSONTermHostileBody: json:a=1 over a body nested ten million deep is
// no match (gjson's recursive validator overflowed the stack and killed
// the server during a search).
func TestJSONTermHostileBody(t *testing.T) {
	t.Parallel()
	ex := newEx("default", "POST", "/deep", reqBody(bytes.Repeat([]byte("["), 11<<20)))
	q, err := ParseQueryLang("json:a=1")
	if err != nil {
		t.Fatal(err)
	}
	if q.Match(ex) {
		t.Error("a deep body matched json:a=1")
	}
}

func TestTermsMatch(t *testing.T) {
	t.Parallel()
	ticket := newEx("zendesk", "POST", "http://127.0.0.1:8080/b/zendesk/hooks/tickets?x=1",
		reqHeader("X-GitHub-Event", "push"), reqHeader("Content-Type", "application/json"),
		reqBody([]byte(`{"ticket":{"priority":"urgent","id":7,"tags":["a"]}}`)), status(503),
		respHeader("X-Trace", "abc"), respBody([]byte(`{"ok":false}`)))
	ticket.Rule = "tickets"
	ticket.Signature = &Signature{Verdict: "invalid"}
	plain := newEx("default", "GET", "/other", noResponse(), source(SourceEmit))

	tests := []struct {
		q           string
		ticket, get bool
	}{
		{"", true, true},
		{"method:post", true, false},
		{"-method:POST", false, true},
		{"status:5xx", true, false},
		{"status:503", true, false},
		{"status:none", false, true},
		{"-status:none", true, false},
		{"path:/b/zendesk/hooks/*", true, false},
		{"path:/b/*/hooks/tickets", true, false},
		{"path:/b/zendesk", false, false},
		{"path:/other", false, true},
		{"path:/b/**", true, false}, // ** as mock rules read it
		{"path:/b/**/tickets", true, false},
		{"path:/b/zendesk/hooks/tickets/**", true, false},
		{"path:/**", true, true},
		{"path:/x/**", false, false},
		{"bin:zendesk", true, false},
		{"source:emit", false, true},
		{"-source:emit", true, false},
		{"header:x-github-event=PUSH", true, false},
		{"header:x-github-event=pull", false, false},
		{"header:x-trace", true, false},
		{"-header:x-trace", false, true},
		{"json:ticket.priority=urgent", true, false},
		{"json:ticket.id=7", true, false},
		{"json:ticket.tags.0=a", true, false},
		{"json:ok=false", true, false},
		{"json:ticket.nope", false, false},
		{"sig:invalid", true, false},
		{"sig:none", false, true},
		{"rule:tickets", true, false},
		{"URGENT", true, false},
		{"-urgent", false, true},
		{"other", false, true},
		{"method:POST urgent -bin:noise", true, false},
		{"method:POST method:GET", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.q, func(t *testing.T) {
			t.Parallel()
			terms, err := ParseQueryLang(tt.q)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []struct {
				ex   *Exchange
				want bool
			}{{ticket, tt.ticket}, {plain, tt.get}} {
				if got := terms.Match(c.ex); got != c.want {
					t.Errorf("%q matches %s %s: %v, want %v", tt.q, c.ex.Request.Method, c.ex.Request.URL, got, c.want)
				}
				// Folding and matching the rest must agree with matching all.
				q, rest := terms.Fold(Query{})
				if got := q.Matches(c.ex) && rest.Match(c.ex); got != c.want {
					t.Errorf("folded %q matches %s: %v, want %v", tt.q, c.ex.Request.URL, got, c.want)
				}
				if terms.SummaryOnly() {
					s := c.ex.Summarize()
					if got := terms.MatchSummary(&s); got != c.want {
						t.Errorf("%q MatchSummary %s: %v, want %v", tt.q, c.ex.Request.URL, got, c.want)
					}
				}
			}
		})
	}
}

func TestListMatching(t *testing.T) {
	t.Parallel()
	s := openMode(t, true, Options{})
	var want []string
	for i := range 60 {
		p := "/noise"
		var opts []exOpt
		if i%7 == 0 {
			p = "/hooks/a"
			opts = append(opts, reqHeader("X-Kind", "keep"))
		}
		ex := newEx("default", "POST", p, opts...)
		mustAdd(t, s, ex)
		if i%7 == 0 {
			want = append([]string{ex.ID}, want...) // newest first
		}
	}
	ctx := context.Background()
	for _, q := range []string{"path:/hooks/*", "header:x-kind=keep", "-path:/noise"} {
		t.Run(q, func(t *testing.T) {
			terms, err := ParseQueryLang(q)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			cursor := ""
			for range 20 {
				list, next, err := ListMatching(ctx, s, Query{Limit: 3, Cursor: cursor}, terms, 25)
				if err != nil {
					t.Fatal(err)
				}
				if len(list) > 3 {
					t.Fatalf("page of %d, limit 3", len(list))
				}
				for _, x := range list {
					got = append(got, x.ID)
				}
				if next == "" {
					break
				}
				cursor = next
			}
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("paged matches\n got %v\nwant %v", got, want)
			}
		})
	}
}

// changingStore is a Store written to while a caller pages through it:
// change runs once, after the first List.
type changingStore struct {
	*SQLite
	once   sync.Once
	change func()
}

func (c *changingStore) List(ctx context.Context, q Query) ([]Summary, string, error) {
	list, next, err := c.SQLite.List(ctx, q)
	c.once.Do(c.change)
	return list, next, err
}

// A page that fills in the middle of what ListMatching listed continues
// exactly after its last match, however the store changed meanwhile (it
// listed again to find the cursor, and rows stored in between made the
// next page repeat this one).
func TestListMatchingStoreChanges(t *testing.T) {
	t.Parallel()
	s := openMode(t, true, Options{})
	var old []string
	for range 10 {
		ex := newEx("default", "POST", "/hooks/a")
		mustAdd(t, s, ex)
		old = append([]string{ex.ID}, old...) // newest first
	}
	st := &changingStore{SQLite: s, change: func() {
		for range 3 {
			mustAdd(t, s, newEx("default", "POST", "/hooks/a"))
		}
	}}
	terms, err := ParseQueryLang("path:/hooks/*")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	cursor := ""
	for range 2 {
		list, next, err := ListMatching(context.Background(), st, Query{Limit: 3, Cursor: cursor}, terms, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range list {
			got = append(got, x.ID)
		}
		cursor = next
	}
	if want := old[:6]; !slices.Equal(got, want) {
		t.Errorf("two pages of three:\n got %v\nwant %v", got, want)
	}
}

func FuzzParseQueryLang(f *testing.F) {
	for _, s := range []string{
		"", "method:POST status:5xx -bin:x", `json:a.b="x y"`, `"unterminated`, `-"a b" header:h=v`,
		"path:/hooks/* sig:invalid", `\"`, `"\\"`, "-", "--", "status:none rule:r",
	} {
		f.Add(s)
	}
	ex := newEx("default", "POST", "/hooks/a", reqBody([]byte(`{"a":{"b":"x y"}}`)), reqHeader("H", "v"))
	f.Fuzz(func(t *testing.T, s string) {
		terms, err := ParseQueryLang(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v does not wrap ErrInvalid", err)
			}
			return
		}
		// The canonical form parses to the same terms.
		again, err := ParseQueryLang(terms.String())
		if err != nil {
			t.Fatalf("ParseQueryLang(%q) (canonical form of %q): %v", terms.String(), s, err)
		}
		if terms.String() != again.String() {
			t.Fatalf("round trip of %q: %q then %q", s, terms.String(), again.String())
		}
		q, rest := terms.Fold(Query{})
		if q.Matches(ex) && rest.Match(ex) != terms.Match(ex) {
			t.Fatalf("%q: folded match differs", s)
		}
	})
}

// TestMatchPathDeepAndHostile: "**" matching stays linear in the path's
// depth: a pattern that cannot match a path of 20,000 segments says so
// (backtracking over every "**" took seconds for 150 segments, and would
// not end for these).
func TestMatchPathDeepAndHostile(t *testing.T) {
	t.Parallel()
	deep := "http://h" + strings.Repeat("/a", 20000)
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{"/**/**/**/**/z", false},
		{"/**/a/**/a", true},
		{"/a/**", true},
		{"/**/b", false},
	} {
		if got := MatchPath(tc.pattern, deep); got != tc.want {
			t.Errorf("MatchPath(%q, 20,000 segments) = %v, want %v", tc.pattern, got, tc.want)
		}
	}
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"/a/**/b/**/c", "/a/x/b/y/z/c", true},
		{"/a/**/b/**/c", "/a/x/b/y/z/d", false},
		{"/a/**", "/a", true},
		{"/**", "/", true},
		{"/x*/**/y", "/xa/y", true},
		{"/x*/**/y", "/ya/q/y", false},
	} {
		if got := MatchPath(tc.pattern, "http://h"+tc.path); got != tc.want {
			t.Errorf("MatchPath(%q, %q) = %v, want %v", tc.pattern, tc.path, got, tc.want)
		}
	}
}

// FuzzHasFold: hasFold answers as strings.Contains over strings.ToLower
// does, which the ASCII path must not change.
func FuzzHasFold(f *testing.F) {
	for _, seed := range [][2]string{{"Hello World", "WORLD"}, {"customer: José Müller", "MÜLLER"}, {"abc", ""}, {"", "a"}, {"AAAb", "aab"}, {"x\xffY", "y"}, {"İstanbul", "istanbul"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, s, q string) {
		lq := strings.ToLower(q)
		if got, want := hasFold(s, lq), strings.Contains(strings.ToLower(s), lq); got != want {
			t.Errorf("hasFold(%q, %q) = %v, want %v", s, lq, got, want)
		}
	})
}

// A method is stored as sent ("purge" and "PURGE" are both methods to
// net/http), and the method filter takes any case, in the store as in the
// live stream's Matches.
func TestMethodFilterTakesAnyCase(t *testing.T) {
	s := openStore(t, t.TempDir(), Options{})
	lower, upper := newEx("b", "purge", "http://h/lower"), newEx("b", "PURGE", "http://h/upper")
	mustAdd(t, s, lower, upper, newEx("b", "POST", "http://h/other"))
	for _, m := range []string{"purge", "PURGE", "Purge"} {
		q := Query{Method: m}
		got := listIDs(t, s, q)
		if len(got) != 2 || !slices.Contains(got, lower.ID) || !slices.Contains(got, upper.ID) {
			t.Errorf("method=%s listed %v; want %s and %s", m, got, lower.ID, upper.ID)
		}
		if !q.Matches(lower) || !q.Matches(upper) {
			t.Errorf("method=%s: Matches disagrees with the store", m)
		}
		terms, err := ParseQueryLang("method:" + m)
		if err != nil {
			t.Fatal(err)
		}
		folded, rest := terms.Fold(Query{})
		if got := listIDs(t, s, folded); len(got) != 2 || len(rest) != 0 {
			t.Errorf("q=method:%s listed %v; want both", m, got)
		}
	}
}

// TestMatchPathEscaped: a path: pattern written as the list shows a path
// (escaped) matches, as the same path written decoded does.
func TestMatchPathEscaped(t *testing.T) {
	t.Parallel()
	const u = "http://h/caf%C3%A9/x?q=1"
	for _, tc := range []struct {
		pattern string
		want    bool
	}{
		{"/café/x", true},
		{"/caf%C3%A9/x", true},
		{"/caf%C3%A9/*", true},
		{"/caf%C3%A9/**", true},
		{"/caf%C3%A9/y", false},
		{"/100%/x", false},
	} {
		if got := MatchPath(tc.pattern, u); got != tc.want {
			t.Errorf("MatchPath(%q, %q) = %v, want %v", tc.pattern, u, got, tc.want)
		}
	}
}

// TestHasFoldLongTextInLongRun: hasFold takes time in proportion to what
// it reads, not to that times the text's length: a search of 16 KiB of one
// letter and another after it, in a captured header of 512 KiB of that
// letter (what the scan checks of each row not indexed yet, and of each
// row the index finds for a long text), compared the text at every place.
func TestHasFoldLongTextInLongRun(t *testing.T) {
	t.Parallel()
	s := "X-Run: " + strings.Repeat("A", 512<<10)
	for _, q := range []string{strings.Repeat("a", 16<<10) + "b", strings.Repeat("a", 16<<10)} {
		var got bool
		took := threadCPUTime(t, func() { got = hasFold(s, q) })
		want := !strings.HasSuffix(q, "b")
		if took > time.Second {
			t.Errorf("hasFold of %d bytes in %d took %v of CPU time", len(q), len(s), took)
		}
		if got != want {
			t.Errorf("hasFold(%d bytes) = %v, want %v", len(q), got, want)
		}
	}
}
