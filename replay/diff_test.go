package replay

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/andybalholm/brotli"
	"github.com/google/go-cmp/cmp"

	"github.com/hooklab/hooklab/inspect"
)

func jsonResp(status int, body string, hdrs ...string) *inspect.Response {
	h := inspect.Headers{{Name: "Content-Type", Value: "application/json"}}
	for i := 0; i+1 < len(hdrs); i += 2 {
		h = append(h, inspect.Header{Name: hdrs[i], Value: hdrs[i+1]})
	}
	return &inspect.Response{Status: status, Headers: h, Body: []byte(body), Size: int64(len(body))}
}

func textResp(body string) *inspect.Response {
	return &inspect.Response{Status: 200, Headers: inspect.Headers{{Name: "Content-Type", Value: "text/plain"}}, Body: []byte(body), Size: int64(len(body))}
}

func binResp(body []byte) *inspect.Response {
	return &inspect.Response{Status: 200, Headers: inspect.Headers{{Name: "Content-Type", Value: "application/octet-stream"}}, Body: body, Size: int64(len(body))}
}

func TestCompare(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		old, new *inspect.Response
		opts     DiffOptions
		want     []Change
	}{
		{name: "same", old: jsonResp(200, `{"a":1}`), new: jsonResp(200, `{"a":1}`)},
		{name: "same JSON, other spacing and key order", old: jsonResp(200, `{"a":1,"b":[1,2]}`), new: jsonResp(200, "{\n  \"b\": [1, 2],\n  \"a\": 1\n}")},
		{name: "status change", old: jsonResp(200, `{}`), new: jsonResp(500, `{}`),
			want: []Change{{Path: "status", Kind: Changed, Old: "200", New: "500"}}},
		{name: "JSON field change", old: jsonResp(200, `{"data":{"total":3980,"currency":"EUR"}}`), new: jsonResp(200, `{"data":{"total":3990,"currency":"EUR"}}`),
			want: []Change{{Path: "body data.total", Kind: Changed, Old: "3980", New: "3990"}}},
		{name: "JSON field added and removed", old: jsonResp(200, `{"a":1,"gone":"x"}`), new: jsonResp(200, `{"a":1,"new":{"k":true}}`),
			want: []Change{{Path: "body gone", Kind: Removed, Old: `"x"`}, {Path: "body new", Kind: Added, New: `{"k":true}`}}},
		{name: "JSON type change", old: jsonResp(200, `{"id":42}`), new: jsonResp(200, `{"id":"42"}`),
			want: []Change{{Path: "body id", Kind: Changed, Old: "42", New: `"42"`}}},
		{name: "ignored path", old: jsonResp(200, `{"data":{"id":1,"created_at":"2024-01-01"}}`), new: jsonResp(200, `{"data":{"id":1,"created_at":"2026-03-01"}}`),
			opts: DiffOptions{Ignore: []string{"data.created_at"}}},
		{name: "ignored path with # and a field only on one side", old: jsonResp(200, `{"items":[{"id":"a","n":1},{"id":"b","n":2}]}`), new: jsonResp(200, `{"items":[{"id":"x","n":1},{"n":2}]}`),
			opts: DiffOptions{Ignore: []string{"items.#.id"}}},
		{name: "ignore does not hide other changes", old: jsonResp(200, `{"items":[{"id":"a","n":1}]}`), new: jsonResp(200, `{"items":[{"id":"x","n":9}]}`),
			opts: DiffOptions{Ignore: []string{"items.#.id"}},
			want: []Change{{Path: "body items.0.n", Kind: Changed, Old: "1", New: "9"}}},
		{name: "ignore with wildcard and escaped dot", old: jsonResp(200, `{"meta":{"a.b":1,"req_1":"x","req_2":"y"}}`), new: jsonResp(200, `{"meta":{"a.b":2,"req_1":"z","req_2":"w"}}`),
			opts: DiffOptions{Ignore: []string{`meta.a\.b`, "meta.req_*"}}},
		{name: "array order matters by default", old: jsonResp(200, `[1,2,3]`), new: jsonResp(200, `[3,1,2]`),
			want: []Change{{Path: "body 2→", Kind: Removed, Old: "3"}, {Path: "body →0", Kind: Added, New: "3"}}},
		// A path names an element by its recorded index, and by both when
		// it moved: items.1→0 is recorded 1, replayed 0; items.0→ is gone
		// from the replay, items.→1 new in it.
		{name: "reordered array elements name both indexes", old: jsonResp(200, `{"items":[{"id":"id1","price":1},{"id":"id2","price":2}]}`), new: jsonResp(200, `{"items":[{"id":"id2","price":2.0000001},{"id":"id1","price":1}]}`),
			want: []Change{
				{Path: "body items.0→", Kind: Removed, Old: `{"id":"id1","price":1}`},
				{Path: "body items.1→0.price", Kind: Changed, Old: "2", New: "2.0000001"},
				{Path: "body items.→1", Kind: Added, New: `{"id":"id1","price":1}`},
			}},
		{name: "appended element", old: jsonResp(200, `{"items":[1,2]}`), new: jsonResp(200, `{"items":[1,2,3]}`),
			want: []Change{{Path: "body items.→2", Kind: Added, New: "3"}}},
		{name: "unordered array", old: jsonResp(200, `{"tags":["b","a",{"k":1}],"n":[3,1,2]}`), new: jsonResp(200, `{"tags":[{"k":1},"a","b"],"n":[1,2,3]}`),
			opts: DiffOptions{Unordered: true}},
		{name: "unordered array with ignored ids", old: jsonResp(200, `[{"id":1,"v":"x"},{"id":2,"v":"y"}]`), new: jsonResp(200, `[{"id":7,"v":"y"},{"id":8,"v":"x"}]`),
			opts: DiffOptions{Unordered: true, Ignore: []string{"#.id"}}},
		{name: "unordered still sees a different element", old: jsonResp(200, `["a","b"]`), new: jsonResp(200, `["b","c"]`),
			opts: DiffOptions{Unordered: true},
			want: []Change{{Path: "body 0→1", Kind: Changed, Old: `"a"`, New: `"c"`}}},
		// An unordered change names the element by its recorded index,
		// and by its replayed one where that differs (not by where the
		// pairing put it: "items.0.p" named replayed element 1).
		{name: "unordered names the recorded index", old: jsonResp(200, `{"items":[{"id":2,"v":"b"},{"id":1,"v":"a"}]}`), new: jsonResp(200, `{"items":[{"id":1,"v":"X"},{"id":2,"v":"b"}]}`),
			opts: DiffOptions{Unordered: true},
			want: []Change{{Path: "body items.1→0.v", Kind: Changed, Old: `"a"`, New: `"X"`}}},
		{name: "unordered, tolerance", old: jsonResp(200, `{"items":[{"id":1,"p":1.0},{"id":2,"p":2}]}`), new: jsonResp(200, `{"items":[{"id":2,"p":2},{"id":1,"p":1.5}]}`),
			opts: DiffOptions{Unordered: true},
			want: []Change{{Path: "body items.0→1.p", Kind: Changed, Old: `1.0`, New: `1.5`}}},
		{name: "unordered, nested arrays", old: jsonResp(200, `[[1,2],[3,4]]`), new: jsonResp(200, `[[4,9],[2,1]]`),
			opts: DiffOptions{Unordered: true},
			want: []Change{{Path: "body 1→0.0→1", Kind: Changed, Old: `3`, New: `9`}}},
		{name: "unordered removed and added", old: jsonResp(200, `[1,2,3]`), new: jsonResp(200, `[3,1]`),
			opts: DiffOptions{Unordered: true},
			want: []Change{{Path: "body 1→", Kind: Removed, Old: "2"}}},
		{name: "unordered within the tolerance", old: jsonResp(200, `{"prices":[9.999, 5]}`), new: jsonResp(200, `{"prices":[5, 10.001]}`),
			opts: DiffOptions{Unordered: true, Tolerance: 0.01}},
		{name: "unordered nested arrays", old: jsonResp(200, `[{"tags":["x","y"]},{"tags":["z"]}]`), new: jsonResp(200, `[{"tags":["z"]},{"tags":["y","x"]}]`),
			opts: DiffOptions{Unordered: true}},
		{name: "tolerance keeps big integers exact", old: jsonResp(200, `{"n":12345678901234567890}`), new: jsonResp(200, `{"n":12345678901234567891}`),
			opts: DiffOptions{Tolerance: 0.5},
			want: []Change{{Path: "body n", Kind: Changed, Old: "12345678901234567890", New: "12345678901234567891"}}},
		{name: "tolerance with big integers within it", old: jsonResp(200, `{"n":12345678901234567890}`), new: jsonResp(200, `{"n":12345678901234567891}`),
			opts: DiffOptions{Tolerance: 1}},
		{name: "numeric tolerance", old: jsonResp(200, `{"p":1.0001,"q":10}`), new: jsonResp(200, `{"p":1.0002,"q":10.00001}`),
			opts: DiffOptions{Tolerance: 0.001}},
		{name: "numeric tolerance exceeded", old: jsonResp(200, `{"p":1.0}`), new: jsonResp(200, `{"p":1.5}`),
			opts: DiffOptions{Tolerance: 0.1},
			want: []Change{{Path: "body p", Kind: Changed, Old: "1.0", New: "1.5"}}},
		{name: "big integers compared exactly", old: jsonResp(200, `{"id":9007199254740993}`), new: jsonResp(200, `{"id":9007199254740992}`),
			want: []Change{{Path: "body id", Kind: Changed, Old: "9007199254740993", New: "9007199254740992"}}},
		{name: "volatile headers ignored", old: jsonResp(200, `{}`, "Date", "Mon, 01 Jan 2024", "X-Request-Id", "a", "ETag", `"1"`, "Age", "1", "Server-Timing", "db;dur=1", "Content-Length", "2", "Set-Cookie", "sid=1; Path=/", "Connection", "close"),
			new: jsonResp(200, `{}`, "Date", "Tue, 02 Jan 2024", "X-Request-Id", "b", "ETag", `"2"`, "Age", "9", "Server-Timing", "db;dur=7", "Content-Length", "3", "Set-Cookie", "sid=2; Path=/")},
		{name: "set-cookie names compared", old: jsonResp(200, `{}`, "Set-Cookie", "sid=1"), new: jsonResp(200, `{}`, "Set-Cookie", "sid=2", "Set-Cookie", "new=1"),
			want: []Change{{Path: "header Set-Cookie", Kind: Changed, Old: "sid=…", New: "new=…\nsid=…"}}},
		{name: "header change, add, remove", old: jsonResp(200, `{}`, "X-Version", "1", "X-Old", "o"), new: jsonResp(200, `{}`, "X-Version", "2", "X-New", "n"),
			want: []Change{{Path: "header X-New", Kind: Added, New: "n"}, {Path: "header X-Old", Kind: Removed, Old: "o"}, {Path: "header X-Version", Kind: Changed, Old: "1", New: "2"}}},
		{name: "configured header ignore and compare", old: jsonResp(200, `{}`, "X-Version", "1", "ETag", `"1"`), new: jsonResp(200, `{}`, "X-Version", "2", "ETag", `"2"`),
			opts: DiffOptions{IgnoreHeaders: []string{"x-version"}, CompareHeaders: []string{"etag"}},
			want: []Change{{Path: "header Etag", Kind: Changed, Old: `"1"`, New: `"2"`}}},
		{name: "no headers", old: jsonResp(200, `{}`, "X-Version", "1"), new: jsonResp(200, `{}`, "X-Version", "2"), opts: DiffOptions{NoHeaders: true}},
		{name: "text line by line", old: textResp("one\ntwo\nthree\n"), new: textResp("one\n2\nthree\n"),
			want: []Change{{Path: "body", Kind: Changed, Unified: "@@ -1,3 +1,3 @@\n one\n-two\n+2\n three\n"}}},
		{name: "binary by hash", old: binResp([]byte{0, 1, 2, 0xff}), new: binResp([]byte{0, 1, 3, 0xff}),
			want: []Change{{Path: "body", Kind: Changed, Old: "4 bytes, sha256 a3a1a8e0a1a8b1b9", New: ""}}},
		{name: "binary same", old: binResp([]byte{0, 1, 2, 0xff}), new: binResp([]byte{0, 1, 2, 0xff})},
		{name: "no recorded response", old: nil, new: jsonResp(200, `{}`), want: []Change{{Path: "response", Kind: Added, New: "200"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, _ := Compare(tc.old, tc.new, tc.opts)
			if tc.name == "binary by hash" {
				// The hashes are what they are; check the form.
				if len(got) != 1 || got[0].Path != "body" || !strings.HasPrefix(got[0].Old, "4 bytes, sha256 ") || got[0].Old == got[0].New {
					t.Errorf("got %+v", got)
				}
				return
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("changes (-want +got):\n%s", d)
			}
		})
	}
}

func TestCompareTruncatedRecording(t *testing.T) {
	t.Parallel()
	old := &inspect.Response{Status: 200, Body: []byte("hello"), Size: 11, Truncated: true}
	got, notes := Compare(old, textResp("hello world"), DiffOptions{NoHeaders: true})
	if len(got) != 0 || len(notes) != 1 || !strings.Contains(notes[0], "cut at 5 of 11") {
		t.Errorf("prefix compare: %+v %q", got, notes)
	}
	got, _ = Compare(old, textResp("help! world"), DiffOptions{NoHeaders: true})
	if len(got) != 1 {
		t.Errorf("prefix differs: %+v", got)
	}
	missing := &inspect.Response{Status: 200, Size: 48213, Truncated: true}
	got, notes = Compare(missing, binResp(make([]byte, 100)), DiffOptions{NoHeaders: true})
	if len(got) != 0 || len(notes) != 1 || !strings.Contains(notes[0], "not kept") {
		t.Errorf("missing body: %+v %q", got, notes)
	}
}

// A replayed body cut at the run's MaxBody is compared as far as it goes,
// as a cut recording is: the cut alone is no difference.
func TestCompareTruncatedReplay(t *testing.T) {
	t.Parallel()
	cut := func(body string, size int64) *inspect.Response {
		return &inspect.Response{Status: 200, Body: []byte(body), Size: size, Truncated: true}
	}
	for _, tc := range []struct {
		name      string
		old, new  *inspect.Response
		want      int // changes
		wantNotes []string
	}{
		{name: "same prefix", old: textResp("hello world"), new: cut("hello", 11),
			wantNotes: []string{"the replayed body was cut at 5 of 11 bytes: compared that much"}},
		{name: "prefix differs", old: textResp("hello world"), new: cut("help!", 11), want: 1,
			wantNotes: []string{"the replayed body was cut at 5 of 11 bytes: compared that much"}},
		{name: "both cut, the recording longer", old: cut("hello wo", 11), new: cut("hello", 11),
			wantNotes: []string{"the recorded body was cut at 8 of 11 bytes: compared that much", "the replayed body was cut at 5 of 11 bytes: compared that much"}},
		{name: "both cut, the replay longer", old: cut("hello", 11), new: cut("hello wo", 11),
			wantNotes: []string{"the recorded body was cut at 5 of 11 bytes: compared that much", "the replayed body was cut at 8 of 11 bytes: compared that much"}},
		{name: "both cut alike, sent in other sizes", old: cut("hello", 12000000), new: cut("hello", 11000000), want: 1,
			wantNotes: []string{"the recorded body was cut at 5 of 12000000 bytes: compared that much", "the replayed body was cut at 5 of 11000000 bytes: compared that much"}},
		{name: "a shorter whole recording", old: textResp("hi"), new: cut("hello", 11), want: 2,
			wantNotes: []string{"the replayed body was cut at 5 of 11 bytes: compared that much"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, notes := Compare(tc.old, tc.new, DiffOptions{NoHeaders: true})
			if len(got) != tc.want || !slices.Equal(notes, tc.wantNotes) {
				t.Errorf("changes %+v notes %q, want %d changes, notes %q", got, notes, tc.want, tc.wantNotes)
			}
		})
	}
}

func TestCompareContentEncoding(t *testing.T) {
	t.Parallel()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(`{"a":1}`))
	zw.Close()
	// A browser HAR holds the decoded body under the wire's header.
	old := jsonResp(200, `{"a":1}`, "Content-Encoding", "gzip")
	new := jsonResp(200, gz.String(), "Content-Encoding", "gzip")
	if got, _ := Compare(old, new, DiffOptions{}); len(got) != 0 {
		t.Errorf("gzip vs decoded: %+v", got)
	}
	// A replayed answer that says gzip over plain bytes is one no client
	// can read: a change, though its bytes are the recorded content (it
	// read "same").
	for _, enc := range []string{"gzip", "deflate"} {
		broken := jsonResp(200, `{"a":1}`, "Content-Encoding", enc)
		got, _ := Compare(jsonResp(200, `{"a":1}`), broken, DiffOptions{})
		if len(got) != 1 || got[0].Path != "body" || !strings.Contains(got[0].New, "does not decode") {
			t.Errorf("%s over plain bytes: %+v", enc, got)
		}
		// The same broken answer as recorded: nothing changed.
		if got, _ := Compare(broken, broken, DiffOptions{}); len(got) != 0 {
			t.Errorf("%s: as broken as recorded: %+v", enc, got)
		}
	}
	// No body at all (a HEAD's, a 204's) under a Content-Encoding: nothing
	// to decode, no change.
	empty := jsonResp(200, "", "Content-Encoding", "gzip")
	if got, _ := Compare(jsonResp(200, ""), empty, DiffOptions{}); len(got) != 0 {
		t.Errorf("an empty gzip answer: %+v", got)
	}
	// Cut when replayed: decoding fails at the cut, which is no change.
	cut := jsonResp(200, gz.String()[:gz.Len()-4], "Content-Encoding", "gzip")
	cut.Truncated, cut.Size = true, int64(gz.Len())
	if got, _ := Compare(jsonResp(200, gz.String(), "Content-Encoding", "gzip"), cut, DiffOptions{}); len(got) != 0 {
		t.Errorf("a cut gzip body: %+v", got)
	}
}

func TestUnified(t *testing.T) {
	t.Parallel()
	var a, b []string
	for i := 1; i <= 20; i++ {
		a = append(a, "line "+strings.Repeat("x", i%3)+string(rune('a'+i)))
	}
	b = append(b, a...)
	b[2] = "changed"
	b = append(b[:15], b[16:]...) // remove a line
	b = append(b, "added at end")
	got := unified(strings.Join(a, "\n")+"\n", strings.Join(b, "\n")+"\n")
	want := "@@ -1,6 +1,6 @@\n line xb\n line xxc\n-line d\n+changed\n line xe\n line xxf\n line g\n" +
		"@@ -13,8 +13,8 @@\n line xn\n line xxo\n line p\n-line xq\n line xxr\n line s\n line xt\n line xxu\n+added at end\n"
	if got != want {
		t.Errorf("unified:\n%s\nwant:\n%s", got, want)
	}
}

// TestUnifiedLongBodies: bodies too long for the LCS table (5,000 lines
// here) still get small hunks around what changed, not the whole middle
// removed and added.
func TestUnifiedLongBodies(t *testing.T) {
	t.Parallel()
	var a []string
	for i := range 5000 {
		a = append(a, fmt.Sprintf("l%d", i))
	}
	b := slices.Clone(a)
	b[11], b[4001] = "eleven", "four thousand and one"
	b = slices.Insert(b, 2500, "inserted")
	got := unified(strings.Join(a, "\n")+"\n", strings.Join(b, "\n")+"\n")
	want := "@@ -9,7 +9,7 @@\n l8\n l9\n l10\n-l11\n+eleven\n l12\n l13\n l14\n" +
		"@@ -2498,6 +2498,7 @@\n l2497\n l2498\n l2499\n+inserted\n l2500\n l2501\n l2502\n" +
		"@@ -3999,7 +4000,7 @@\n l3998\n l3999\n l4000\n-l4001\n+four thousand and one\n l4002\n l4003\n l4004\n"
	if got != want {
		t.Errorf("unified:\n%s\nwant:\n%s", got, want)
	}
	// Too many edits for that too: the middle whole, as before.
	c := make([]string, len(a))
	for i := range c {
		c[i] = "other " + a[i]
	}
	if got := unified(strings.Join(a, "\n"), strings.Join(c, "\n")); !strings.HasPrefix(got, "@@ -1,5000 +1,5000 @@\n-l0\n-l1\n") {
		t.Errorf("every line different: %.60q", got)
	}
}

// TestUnifiedNoNewlineAtEnd: bodies that differ only in their last
// newline show it, as diff does.
func TestUnifiedNoNewlineAtEnd(t *testing.T) {
	t.Parallel()
	got := unified("a\nb", "a\nb\n")
	want := "@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n"
	if got != want {
		t.Errorf("unified: %q, want %q", got, want)
	}
	changes, _ := Compare(textResp("a\nb"), textResp("a\nb\n"), DiffOptions{NoHeaders: true})
	if len(changes) != 1 || changes[0].Unified != want {
		t.Errorf("Compare: %+v", changes)
	}
}

// TestUnifiedLimits checks that a text diff stays small whatever the
// bodies: each line cut after 1 KiB, the whole after 64 KiB, each cut
// saying how many bytes it left out.
func TestUnifiedLimits(t *testing.T) {
	t.Parallel()
	lines := func(n int, f func(i int) string) string {
		var b strings.Builder
		for i := range n {
			b.WriteString(f(i) + "\n")
		}
		return b.String()
	}
	long := strings.Repeat("a", 5000)
	euros := strings.Repeat("€", 1000) // 3 bytes each: 1 KiB falls inside one
	manyA := lines(10000, func(i int) string { return fmt.Sprintf("old line %05d", i) })
	manyB := lines(10000, func(i int) string { return fmt.Sprintf("new line %05d", i) })
	for _, tc := range []struct {
		name string
		a, b string
		want string // the whole diff; "" to check only the limits
		// wantEnd ends the diff when want is "".
		wantEnd string
	}{
		{name: "a long changed line", a: "same\n" + long + "\n", b: "same\n" + long[:4000] + "b\n",
			want: "@@ -1,2 +1,2 @@\n same\n-" + long[:1024] + " … 3976 bytes more\n+" + long[:1024] + " … 2977 bytes more\n"},
		{name: "a cut inside a character", a: "x\n", b: euros + "\n",
			want: "@@ -1,1 +1,1 @@\n-x\n+" + strings.Repeat("€", 341) + " … 1977 bytes more\n"},
		{name: "a long unchanged line", a: long + "\nx\n", b: long + "\ny\n",
			want: "@@ -1,2 +1,2 @@\n " + long[:1024] + " … 3976 bytes more\n-x\n+y\n"},
		// 10,000 removed and 10,000 added lines of 16 bytes: 320,000 bytes
		// of lines and a header of 24.
		{name: "many changed lines", a: manyA, b: manyB, wantEnd: " bytes more\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := unified(tc.a, tc.b)
			if tc.want != "" && got != tc.want {
				t.Errorf("unified:\n%.3000s\nwant:\n%.3000s", got, tc.want)
			}
			if len(got) > 64<<10 || !strings.HasSuffix(got, tc.wantEnd) {
				t.Errorf("unified gave %d bytes, ending %q", len(got), got[max(len(got)-60, 0):])
			}
			for _, l := range strings.Split(got, "\n") {
				if len(l) > 1024+40 {
					t.Errorf("a line of %d bytes: %.80q…", len(l), l)
				}
			}
			if !utf8.ValidString(got) {
				t.Errorf("unified is not UTF-8")
			}
		})
	}

	// What the cut diff leaves out adds up to what it would have shown.
	got := unified(manyA, manyB)
	i := strings.LastIndex(got, "… ")
	if i < 0 {
		t.Fatalf("a diff of %d bytes has no cut", len(got))
	}
	var more int
	if _, err := fmt.Sscanf(got[i:], "… diff cut here: %d bytes more\n", &more); err != nil {
		t.Fatalf("last line %q: %v", got[i:], err)
	}
	if whole := 24 + 20000*16; i+more != whole {
		t.Errorf("shown %d + left out %d = %d bytes, want %d", i, more, i+more, whole)
	}
}

// TestCompareLargeText checks that text bodies over 1 MiB are compared by
// size and hash, not line by line, and the note says where they differ.
func TestCompareLargeText(t *testing.T) {
	t.Parallel()
	line := strings.Repeat("x", 99) + "\n"
	old := strings.Repeat(line, 12000)                 // 1.2 MB
	new := old[:500*100] + "changed\n" + old[501*100:] // line 501
	got, notes := Compare(textResp(old), textResp(new), DiffOptions{NoHeaders: true})
	want := []Change{{Path: "body", Kind: Changed, Old: describeTextWant(old), New: describeTextWant(new)}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "compared by size and hash") || !strings.Contains(notes[0], "line 501") {
		t.Errorf("notes %q", notes)
	}
	// Under the limit, lines are diffed.
	small := strings.Repeat(line, 100)
	got, _ = Compare(textResp(small), textResp(small[:100]+"changed\n"+small[200:]), DiffOptions{NoHeaders: true})
	if len(got) != 1 || !strings.HasPrefix(got[0].Unified, "@@ -1,5 +1,5 @@\n") {
		t.Errorf("small text: %+v", got)
	}
}

func describeTextWant(s string) string {
	sum := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%d bytes, %d lines, sha256 %s", len(s), strings.Count(s, "\n"), hex.EncodeToString(sum[:8]))
}

func TestIgnorePaths(t *testing.T) {
	t.Parallel()
	pats := compileIgnores([]string{"data.created_at", "items.#.id", `a\.b.c`, "body.x.*"})
	for _, tc := range []struct {
		at   []string
		want bool
	}{
		{[]string{"data", "created_at"}, true},
		{[]string{"data", "created"}, false},
		{[]string{"data"}, false},
		{[]string{"items", "3", "id"}, true},
		{[]string{"items", "x", "id"}, false},
		{[]string{"a.b", "c"}, true},
		{[]string{"x", "anything"}, true},
	} {
		if got := ignored(pats, tc.at); got != tc.want {
			t.Errorf("ignored(%q) = %v", tc.at, got)
		}
	}
}

func TestCompareUndecodableEncoding(t *testing.T) {
	t.Parallel()
	old := jsonResp(200, `{"a":1}`, "Content-Encoding", "zstd")
	new := jsonResp(200, "\x28\xb5\x2f\xfd", "Content-Encoding", "zstd")
	got, notes := Compare(old, new, DiffOptions{})
	if len(got) != 1 || got[0].Path != "body" || len(notes) != 1 || !strings.Contains(notes[0], "zstd-encoded") {
		t.Errorf("changes %+v notes %q", got, notes)
	}
}

// TestCompareBrotli: br answers (what Node's fetch and browsers ask for)
// compare by content, as gzip ones do: the same JSON compressed at two
// qualities is the same, another value a change at its path. They were
// compared as bytes, so any recompression differed.
func TestCompareBrotli(t *testing.T) {
	t.Parallel()
	br := func(s string, quality int) string {
		var b bytes.Buffer
		w := brotli.NewWriterLevel(&b, quality)
		w.Write([]byte(s))
		w.Close()
		return b.String()
	}
	old := jsonResp(200, br(`{"a":1,"b":[1,2]}`, 11), "Content-Encoding", "br")
	if got, notes := Compare(old, jsonResp(200, br(`{"b":[1,2],"a":1}`, 1), "Content-Encoding", "br"), DiffOptions{}); len(got) != 0 || len(notes) != 0 {
		t.Errorf("the same JSON: changes %+v notes %q", got, notes)
	}
	if got, _ := Compare(old, jsonResp(200, br(`{"a":2,"b":[1,2]}`, 5), "Content-Encoding", "br"), DiffOptions{}); len(got) != 1 || got[0].Path != "body a" {
		t.Errorf("another value: changes %+v", got)
	}
}

// A secret header that differs is reported as changed, its values
// redacted, unless Set-Cookie is compared by cookie names.
func TestCompareRedactsSecretHeaders(t *testing.T) {
	t.Parallel()
	old := jsonResp(200, `{}`, "X-Api-Key", "k-old", "Set-Cookie", "sid=a", "X-Tenant-Token", "t-old")
	new := jsonResp(200, `{}`, "X-Api-Key", "k-new", "Set-Cookie", "sid=b", "X-Tenant-Token", "t-new")
	changes, _ := Compare(old, new, DiffOptions{CompareHeaders: []string{"Set-Cookie"}, SecretHeaders: []string{"X-Tenant-Token"}})
	want := []Change{
		{Path: "header Set-Cookie", Kind: Changed, Old: "REDACTED", New: "REDACTED"},
		{Path: "header X-Api-Key", Kind: Changed, Old: "REDACTED", New: "REDACTED"},
		{Path: "header X-Tenant-Token", Kind: Changed, Old: "REDACTED", New: "REDACTED"},
	}
	if d := cmp.Diff(want, changes); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
	// By cookie names, the names are shown (and here they are the same).
	changes, _ = Compare(jsonResp(200, `{}`, "Set-Cookie", "sid=a"), jsonResp(200, `{}`, "Set-Cookie", "other=b"), DiffOptions{})
	if len(changes) != 1 || changes[0].Old != "sid=…" || changes[0].New != "other=…" {
		t.Errorf("cookie names: %+v", changes)
	}
}

// A HAR exported without --keep-secrets holds REDACTED for secret headers:
// there is no recorded value to compare, so a replay that has the header
// is the same (with a note), not a difference on every run.
func TestCompareRecordedRedactedHeaders(t *testing.T) {
	t.Parallel()
	old := jsonResp(200, `{}`, "X-Upstream-Token", "REDACTED", "X-Api-Key", "REDACTED", "X-Api-Key", "REDACTED", "X-Plain", "REDACTED")
	new := jsonResp(200, `{}`, "X-Upstream-Token", "tok-123", "X-Api-Key", "k1", "X-Plain", "x")
	changes, notes := Compare(old, new, DiffOptions{})
	want := []Change{
		{Path: "header X-Api-Key", Kind: Changed, Old: "REDACTED\nREDACTED", New: "REDACTED"}, // recorded twice, replayed once
		{Path: "header X-Plain", Kind: Changed, Old: "REDACTED", New: "x"},                    // not a secret: a value like any other
	}
	if d := cmp.Diff(want, changes); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
	if len(notes) != 1 || !strings.Contains(notes[0], "header X-Upstream-Token was recorded REDACTED") {
		t.Errorf("notes %q, want one about X-Upstream-Token", notes)
	}
	// Gone from the replay is still a change.
	changes, _ = Compare(jsonResp(200, `{}`, "X-Upstream-Token", "REDACTED"), jsonResp(200, `{}`), DiffOptions{})
	if len(changes) != 1 || changes[0].Kind != Removed {
		t.Errorf("header gone from the replay: %+v", changes)
	}
}

func TestIgnoredValues(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		old, new *inspect.Response
		opts     DiffOptions
		want     []Change
	}{
		{name: "no ignore rules", old: jsonResp(200, `{"a":1}`), new: jsonResp(200, `{"a":2}`)},
		{name: "changed, same, added and removed values",
			old:  jsonResp(200, `{"data":{"id":1,"created_at":"2024-01-01","req":"a"},"items":[{"id":"a","n":1},{"id":"b"}]}`),
			new:  jsonResp(200, `{"data":{"id":1,"created_at":"2026-03-01","req":"a","extra":{"k":1}},"items":[{"id":"x","n":1},{"n":2}]}`),
			opts: DiffOptions{Ignore: []string{"data.created_at", "data.req", "data.extra", "items.#.id"}},
			want: []Change{
				{Path: "body data.created_at", Kind: Changed, Old: `"2024-01-01"`, New: `"2026-03-01"`},
				{Path: "body data.extra", Kind: Added, New: `{"k":1}`},
				{Path: "body data.req", Kind: Same, Old: `"a"`, New: `"a"`},
				{Path: "body items.0.id", Kind: Changed, Old: `"a"`, New: `"x"`},
				{Path: "body items.1.id", Kind: Removed, Old: `"b"`},
			}},
		{name: "escaped dot in a key", old: jsonResp(200, `{"meta":{"a.b":1}}`), new: jsonResp(200, `{"meta":{"a.b":2}}`),
			opts: DiffOptions{Ignore: []string{`meta.a\.b`}},
			want: []Change{{Path: `body meta.a\.b`, Kind: Changed, Old: "1", New: "2"}}},
		{name: "listed headers", old: jsonResp(200, `{}`, "X-Version", "1", "X-Trace", "t"), new: jsonResp(200, `{}`, "X-Version", "2"),
			opts: DiffOptions{IgnoreHeaders: []string{"x-version", "X-Trace", "x-absent"}},
			want: []Change{{Path: "header X-Version", Kind: Changed, Old: "1", New: "2"}, {Path: "header X-Trace", Kind: Removed, Old: "t"}}},
		{name: "secret headers show redacted", old: jsonResp(200, `{}`, "Set-Cookie", "sid=old-secret", "X-Tenant-Token", "t-old"),
			new:  jsonResp(200, `{}`, "Set-Cookie", "sid=new-secret", "X-Tenant-Token", "t-new"),
			opts: DiffOptions{IgnoreHeaders: []string{"Set-Cookie", "X-Tenant-Token"}, SecretHeaders: []string{"x-tenant-token"}},
			want: []Change{{Path: "header Set-Cookie", Kind: Changed, Old: "REDACTED", New: "REDACTED"}, {Path: "header X-Tenant-Token", Kind: Changed, Old: "REDACTED", New: "REDACTED"}}},
		{name: "text bodies have no paths", old: textResp("a"), new: textResp("b"), opts: DiffOptions{Ignore: []string{"a"}}},
		{name: "no response", old: jsonResp(200, `{"a":1}`), opts: DiffOptions{Ignore: []string{"a"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got := newDiffer(tc.opts).ignoredValues(tc.old, tc.new)
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("ignoredValues (-want +got):\n%s", diff)
			}
			// What is ignored never shows among the changes.
			changes, _ := Compare(tc.old, tc.new, tc.opts)
			for _, c := range changes {
				for _, ig := range got {
					if c.Path == ig.Path {
						t.Errorf("%s is both changed and ignored", c.Path)
					}
				}
			}
		})
	}
}

// TestCompareTruncatedGzipRecording: a gzip answer recorded cut (at
// --max-body, or where the client went away) is compared as far as it
// decodes, as a cut replayed one is. (Its cut stream did not decode, so
// its compressed bytes were compared with the replay's decoded ones: it
// always differed.)
func TestCompareTruncatedGzipRecording(t *testing.T) {
	t.Parallel()
	text := strings.Repeat("the same answer, line after line\n", 4000)
	var zb bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&zb, gzip.NoCompression) // stored blocks: a cut keeps a decodable prefix
	zw.Write([]byte(text))
	zw.Close()
	gz := inspect.Headers{{Name: "Content-Encoding", Value: "gzip"}}
	old := &inspect.Response{Status: 200, Headers: gz, Body: zb.Bytes()[:zb.Len()/2], Size: int64(zb.Len()), Truncated: true}
	new := &inspect.Response{Status: 200, Headers: gz, Body: zb.Bytes(), Size: int64(zb.Len())}
	got, notes := Compare(old, new, DiffOptions{NoHeaders: true})
	if len(got) != 0 {
		t.Errorf("a cut gzip recording of the same answer: changes %+v, notes %q", got, notes)
	}
	var ob bytes.Buffer
	zw, _ = gzip.NewWriterLevel(&ob, gzip.NoCompression)
	zw.Write([]byte(strings.ToUpper(text)))
	zw.Close()
	other := &inspect.Response{Status: 200, Headers: gz, Body: ob.Bytes(), Size: int64(ob.Len())}
	if got, _ := Compare(old, other, DiffOptions{NoHeaders: true}); len(got) == 0 {
		t.Error("a cut gzip recording of another answer: no changes")
	}
}

// The 32 MiB bound is on decoding: a body that came as it is (no
// Content-Encoding, as a --max-body over 32 MiB keeps it) is compared
// whole, and a decoded body cut at the bound is not alike a whole one that
// ends where the cut is. Bodies that differed past 32 MiB were reported
// alike, with a note that a body "decodes to more than 32 MiB".
func TestCompareBeyondDecodeBound(t *testing.T) {
	const mib = 1 << 20
	plain := func(body []byte) *inspect.Response {
		return &inspect.Response{Status: 200, Body: body, Size: int64(len(body)),
			Headers: inspect.Headers{{Name: "Content-Type", Value: "application/octet-stream"}}}
	}
	gzipped := func(body []byte) *inspect.Response {
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		zw.Write(body)
		zw.Close()
		return &inspect.Response{Status: 200, Body: gz.Bytes(), Size: int64(gz.Len()),
			Headers: inspect.Headers{{Name: "Content-Type", Value: "application/octet-stream"}, {Name: "Content-Encoding", Value: "gzip"}}}
	}
	big := make([]byte, 40*mib)
	other := bytes.Clone(big)
	other[36*mib] = 1
	for _, tc := range []struct {
		name     string
		old, new *inspect.Response
	}{
		{"plain, differing past the bound", plain(big), plain(other)},
		{"gzip over the bound, plain ending at it", gzipped(big), plain(big[:maxDiffDecoded])},
		{"plain ending at the bound, gzip over it", plain(big[:maxDiffDecoded]), gzipped(big)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, notes := Compare(tc.old, tc.new, DiffOptions{})
			if len(got) == 0 {
				t.Errorf("no changes (notes %q); want the bodies to differ", notes)
			}
		})
	}
}

// DecodeBody decodes the whole body: hooklabtest serves what it returns
// as a HAR fixture's body. It stopped at the diff's 32 MiB bound, so a
// recorded gzip answer of 40 MiB was served cut at 32.
func TestDecodeBodyWhole(t *testing.T) {
	body := bytes.Repeat([]byte("0123456789abcdef"), 40<<20/16)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	got := DecodeBody(inspect.Headers{{Name: "Content-Encoding", Value: "gzip"}}, gz.Bytes())
	if !bytes.Equal(got, body) {
		t.Errorf("DecodeBody gave %d bytes; want the %d it decodes to", len(got), len(body))
	}
}
