package rules

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

// FuzzParseSize: a size (--max-body, --retain-bytes, max_body: in
// hooklab.yaml, max_payload in the API) parses to a count of bytes that is
// not negative, or fails with an error quoting it; units take any case;
// the count written out (as the --max-body flag prints it) parses to
// itself; and a whole number with a unit is that many units exactly.
func FuzzParseSize(f *testing.F) {
	for _, s := range []string{"1048576", "10MiB", "1.5 kb", "+2G", " 7 ", "2.01MB", "1.", ".5k", ".", "-1", "1e3", "9223372036854775807", "9223372036854775808",
		"8589934592G", "8589934591.99999g", "9007199254740993.5", "1KiB ", "0x10", "1_000", "1,5M", "١٢", "10 MiB/s"} {
		f.Add(s)
	}
	units := map[string]int64{"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30, "t": 1 << 40, "tib": 1 << 40, "kb": 1e3, "mb": 1e6, "gb": 1e9, "tb": 1e12}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseSize(s)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				t.Fatalf("ParseSize(%q): error %q does not quote it", s, err)
			}
			return
		}
		if v < 0 {
			t.Fatalf("ParseSize(%q) = %d", s, v)
		}
		if again, err := ParseSize(strconv.FormatInt(v, 10)); err != nil || again != v {
			t.Fatalf("ParseSize(%q) = %d, which reads back as %d (%v)", s, v, again, err)
		}
		if up, err := ParseSize(strings.ToUpper(s)); isASCII(s) && (err != nil || up != v) {
			t.Fatalf("ParseSize(%q) = %d but in upper case %d (%v)", s, v, up, err)
		}
		t2 := strings.TrimPrefix(strings.TrimSpace(s), "+")
		i := strings.IndexFunc(t2, func(r rune) bool { return r < '0' || r > '9' })
		if i < 0 {
			i = len(t2)
		}
		if mult, ok := units[strings.ToLower(strings.TrimSpace(t2[i:]))]; ok {
			n, err := strconv.ParseInt(t2[:i], 10, 64)
			if err == nil && n <= math.MaxInt64/mult && v != n*mult {
				t.Fatalf("ParseSize(%q) = %d, want %d×%d", s, v, n, mult)
			}
		}
	})
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// FuzzParseDelay: a mock rule's delay ("300ms" or "100ms..500ms") parses
// to a range of durations that are not negative, low before high, or fails
// with an error quoting it; and the range written back parses to itself.
func FuzzParseDelay(f *testing.F) {
	for _, s := range []string{"300ms", "100ms..500ms", " 1s .. 2s ", "2s..1s", "-1s", "0..0", "1s..", "..1s", "1s...2s", "1s..2s..3s", "9223372036854775807ns", "1h..9999999h"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDelay(s)
		if err != nil {
			if !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				t.Fatalf("ParseDelay(%q): error %q does not quote it", s, err)
			}
			return
		}
		if d.Min < 0 || d.Max < d.Min {
			t.Fatalf("ParseDelay(%q) = %v..%v", s, d.Min, d.Max)
		}
		text := d.Min.String()
		if d.Max != d.Min {
			text += ".." + d.Max.String()
		}
		if again, err := ParseDelay(text); err != nil || again != d {
			t.Fatalf("ParseDelay(%q) = %v..%v, written %q, read back %v..%v (%v)", s, d.Min, d.Max, text, again.Min, again.Max, err)
		}
	})
}
