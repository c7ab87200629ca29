package emit

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"
)

// FuzzRateLimit: a webhook's rate_limit, as a string ("60/min") or an
// object, decodes or fails with an error, never a panic; an error of the
// string form quotes it; and what decodes is written back (GET then PUT of
// a webhook) as the same limit.
func FuzzRateLimit(f *testing.F) {
	for _, s := range []string{
		`"60/min"`, `"1/s"`, `" 5 / hour "`, `"10/90s"`, `"0/h"`, `"-3/min"`, `"x/min"`, `"60"`, `"60/"`, `"60/fortnight"`,
		`{"limit": 2, "window": "1s"}`, `{"limit": 2}`, `{"limit": 2, "window": 30}`, `{"limit": 2, "window": 1e300}`, `{"limit": 2, "extra": 1}`, `null`, `[]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var r RateLimit
		err := json.Unmarshal(b, &r)
		var s string
		if err != nil {
			if json.Unmarshal(b, &s) == nil && !strings.Contains(err.Error(), fmt.Sprintf("%q", s)) {
				t.Fatalf("rate %q: error %q does not quote it", s, err)
			}
			return
		}
		out, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("marshal %+v: %v", r, err)
		}
		var again RateLimit
		if err := json.Unmarshal(out, &again); err != nil || again != r {
			t.Fatalf("%s decoded as %+v, written as %s, read back as %+v (%v)", b, r, out, again, err)
		}
	})
}

// FuzzDuration: a duration in a webhook definition ("30s" or a number of
// seconds) decodes to that many seconds, or is refused: never to a
// duration of another sign or size (a number of seconds past what
// time.Duration holds converted to the most negative one); and what
// decodes is written back as the same duration.
func FuzzDuration(f *testing.F) {
	for _, s := range []string{`"30s"`, `"1m30s"`, `30`, `1.5`, `-2`, `0.0000000001`, `1e10`, `-1e10`, `9.3e9`, `1e300`, `"-2562047h47m16.854775808s"`, `"x"`, `true`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var d Duration
		if json.Unmarshal(b, &d) != nil {
			return
		}
		var secs float64
		if json.Unmarshal(b, &secs) == nil {
			if want := secs * float64(time.Second); math.Abs(float64(d)-want) > math.Max(1, math.Abs(want)*1e-9) {
				t.Fatalf("%s seconds decoded as %s", b, time.Duration(d))
			}
		}
		out, err := json.Marshal(d)
		if err != nil {
			t.Fatalf("marshal %s: %v", time.Duration(d), err)
		}
		var again Duration
		if err := json.Unmarshal(out, &again); err != nil || again != d {
			t.Fatalf("%s decoded as %s, written as %s, read back as %s (%v)", b, time.Duration(d), out, time.Duration(again), err)
		}
	})
}
