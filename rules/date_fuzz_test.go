package rules

import (
	"math"
	"strconv"
	"testing"
	"time"
)

// FuzzDateUnix: the date filter reads a number, or a string of one, as
// Unix seconds: for any time in years 1 to 9999 (a timestamp from a
// request body, in seconds or by mistake in milliseconds) it renders that
// second, never a time that a conversion past int64 made up.
func FuzzDateUnix(f *testing.F) {
	for _, n := range []float64{0, 1700000000, 1700000000.5, -1.5, -1e-10, 0.9999999999, 9.3e9, 17e9, 1748779200000, 253402300799, -62135596800} {
		f.Add(n, false)
		f.Add(n, true)
	}
	tpl, err := NewTemplate(`{{ v | date: "rfc3339" }}`, FormatText)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, n float64, asString bool) {
		var v any = n
		if asString {
			v = strconv.FormatFloat(n, 'f', -1, 64)
		}
		out, err := tpl.Render(map[string]any{"v": v})
		if math.IsNaN(n) || math.IsInf(n, 0) || n < -62135596800 || n >= 253402300800 {
			return // no time of years 1 to 9999: an error, or whatever Format makes of it
		}
		if err != nil {
			t.Fatalf("%v seconds: %v", v, err)
		}
		// The second n falls in (or, a rounding of a nanosecond away, the
		// next one).
		got, err := time.Parse(time.RFC3339, string(out))
		tol := math.Max(1e-6, math.Abs(n)*1e-15)
		if d := n - float64(got.Unix()); err != nil || d <= -tol || d >= 1+tol {
			t.Fatalf("%v seconds rendered as %s (%v), want %s", v, out, err, time.Unix(int64(math.Floor(n)), 0).UTC().Format(time.RFC3339))
		}
	})
}
