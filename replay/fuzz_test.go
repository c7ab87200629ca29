package replay

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzUnified checks the limits of a text diff for any bodies and limits:
// the diff never exceeds its total, each line is cut after maxLine bytes,
// and each cut is exact: a cut line is the start of the whole line and
// counts the bytes it left out, and a cut diff is the start of the whole
// diff and counts the bytes of the lines it left out.
func FuzzUnified(f *testing.F) {
	for _, s := range []struct {
		a, b        string
		line, total int
	}{
		{"a\nb\nc\n", "a\nB\nc\n", 1024, 64 << 10},
		{"same\n" + strings.Repeat("a", 300) + "\n", "same\n" + strings.Repeat("a", 200) + "b\n", 64, 4096},
		{"x\n", strings.Repeat("€", 100) + "\n", 10, 4096},
		{strings.Repeat("old\n", 200), strings.Repeat("new\n", 200), 1024, 256},
		{"", "only new\n", 0, 0},
		{"no newline", "no newline at all", 3, 100},
		{"… diff cut here: 1 bytes more\n", "x … 2 bytes more\n", 4, 120},
		// Room for the header and "-a", not for the cut "+yyy…" line.
		{"a\n", strings.Repeat("y", 500) + "\n", 10, 25},
	} {
		f.Add(s.a, s.b, s.line, s.total)
	}
	f.Fuzz(func(t *testing.T, a, b string, maxLine, maxTotal int) {
		if len(a)+len(b) > 64<<10 {
			return // beyond the line-diff table's cells the diff is whole lines, no different
		}
		maxLine = int(uint(maxLine) % 2048)
		maxTotal = cutRoom + int(uint(maxTotal)%(32<<10))
		got := unifiedLimit(a, b, maxLine, maxTotal)
		whole := unifiedLimit(a, b, math.MaxInt, math.MaxInt)
		lineCut := unifiedLimit(a, b, maxLine, math.MaxInt)

		if len(got) > maxTotal {
			t.Fatalf("a diff of %d bytes over its limit of %d", len(got), maxTotal)
		}
		if a == b && got != "" {
			t.Fatalf("a diff of equal bodies: %q", got)
		}
		if utf8.ValidString(a) && utf8.ValidString(b) && !utf8.ValidString(got) {
			t.Fatalf("a diff of text is not UTF-8: %q", got)
		}
		if strings.Contains(a+b, "…") {
			// The bodies hold what a cut writes: the checks below could not
			// tell which is which.
			if !strings.HasPrefix(lineCut, strings.TrimSuffix(got, lastLine(got))) {
				t.Fatalf("the diff %q is not the start of %q", got, lineCut)
			}
			return
		}

		// Each line of lineCut is that of whole, or its start and what was
		// left out.
		wl, cl := splitLines(whole), splitLines(lineCut)
		if len(wl) != len(cl) {
			t.Fatalf("%d lines cut to %d", len(wl), len(cl))
		}
		for i := range wl {
			if wl[i] == cl[i] {
				if wl[i][0] != '@' && wl[i] != noEOL[1:] && len(wl[i]) > maxLine+1 {
					t.Fatalf("a line of %d bytes not cut (limit %d)", len(wl[i]), maxLine)
				}
				continue
			}
			shown, more, ok := strings.Cut(cl[i], " … ")
			var n int
			if !ok || !strings.HasPrefix(wl[i], shown) || len(shown) > maxLine+1 {
				t.Fatalf("line %q cut to %q (limit %d)", wl[i], cl[i], maxLine)
			}
			if _, err := fmt.Sscanf(more, "%d bytes more", &n); err != nil || len(shown)+n != len(wl[i]) || fmt.Sprintf("%d bytes more", n) != more {
				t.Fatalf("line of %d bytes cut to %q", len(wl[i]), cl[i])
			}
		}

		// got is lineCut, or its first lines and what was left out.
		if got == lineCut {
			return
		}
		last := lastLine(got)
		shown := strings.TrimSuffix(got, last)
		var n int
		if _, err := fmt.Sscanf(last, "… diff cut here: %d bytes more\n", &n); err != nil || fmt.Sprintf("… diff cut here: %d bytes more\n", n) != last {
			t.Fatalf("the diff ends %q, not with a cut", last)
		}
		if !strings.HasPrefix(lineCut, shown) {
			t.Fatalf("the diff %q is not the start of %q", got, lineCut)
		}
		k := strings.Count(shown, "\n")
		wholeShown := 0
		for _, l := range wl[:k] {
			wholeShown += len(l) + 1
		}
		if wholeShown+n != len(whole) {
			t.Fatalf("cut after %d lines (%d bytes whole) saying %d bytes more, of %d", k, wholeShown, n, len(whole))
		}
	})
}

// lastLine returns the last line of s, which ends with a newline ("" when s
// is empty).
func lastLine(s string) string {
	if s == "" {
		return ""
	}
	return s[strings.LastIndexByte(s[:len(s)-1], '\n')+1:]
}

// FuzzCompareUnordered: any two JSON bodies compare without a panic, with
// and without Unordered, a body against itself finds nothing, and every
// change's path names indices within the bodies.
func FuzzCompareUnordered(f *testing.F) {
	f.Add(`{"items":[{"id":2,"v":"b"},{"id":1,"v":"a"}]}`, `{"items":[{"id":1,"v":"X"},{"id":2,"v":"b"}]}`)
	f.Add(`[[1,2],[3,4]]`, `[[4,9],[2,1],[]]`)
	f.Add(`[1,2,3]`, `[3,1]`)
	f.Add(`9007199254740993`, `9007199254740992`)
	f.Add(`{"a":1.0,"b":[1e2,-0]}`, `{"b":[100,0],"a":1}`)
	f.Add(`{"a":1,"a":2}`, `{"a":2}`)
	f.Add(`"\u00e9"`, `"é"`)
	f.Fuzz(func(t *testing.T, a, b string) {
		if !json.Valid([]byte(a)) || !json.Valid([]byte(b)) {
			return
		}
		for _, un := range []bool{false, true} {
			opts := DiffOptions{Unordered: un, NoHeaders: true}
			if got, _ := Compare(jsonResp(200, a), jsonResp(200, a), opts); len(got) != 0 {
				t.Fatalf("%s against itself (unordered %v): %+v", a, un, got)
			}
			// In order, a change is found exactly when the two bodies hold
			// different JSON values; in any order, none is found between
			// equal ones.
			changes, _ := Compare(jsonResp(200, a), jsonResp(200, b), opts)
			equal, exact := jsonEqual(a, b)
			if !exact {
				continue
			}
			if !un && (len(changes) == 0) != equal {
				t.Fatalf("%s against %s: equal %v, changes %+v", a, b, equal, changes)
			}
			if un && len(changes) != 0 && equal {
				t.Fatalf("%s against %s in any order: changes %+v between equal values", a, b, changes)
			}
		}
	})
}

// jsonNumber is a number's value as text, which no string equals.
type jsonNumber string

// jsonEqual reports whether a and b hold the same JSON value, numbers
// compared by value (1, 1.0 and 1e0 are one number; 2^53+1 is not 2^53).
// exact is false when a number had more digits than the comparison holds.
func jsonEqual(a, b string) (equal, exact bool) {
	exact = true
	var norm func(v any) any
	norm = func(v any) any {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				v[k] = norm(x)
			}
		case []any:
			for i, x := range v {
				v[i] = norm(x)
			}
		case json.Number:
			f, _, err := big.ParseFloat(string(v), 10, 4096, big.ToNearestEven)
			if err != nil || f.Acc() != big.Exact {
				exact = false
				return string(v)
			}
			if f.Sign() == 0 {
				f.SetInt64(0) // -0 is 0
			}
			return jsonNumber(f.Text('p', 0))
		}
		return v
	}
	dec := func(s string) any {
		d := json.NewDecoder(strings.NewReader(s))
		d.UseNumber()
		var v any
		_ = d.Decode(&v)
		return norm(v)
	}
	return reflect.DeepEqual(dec(a), dec(b)), exact
}
