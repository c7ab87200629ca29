package emit

import (
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzCron: any expression (from an automation's cron: in hooklab.yaml)
// parses or fails with an error, never a panic or a hang; each field of
// one that parses holds exactly the values a plain reading of its text
// names (lo <= a <= v <= b <= hi, (v-a) divisible by the step); and next
// returns a later minute that matches, with no matching minute before it.
func FuzzCron(f *testing.F) {
	for _, s := range []string{
		"0 * * * *", "*/15 9-17 * * 1-5", "0 0 1,15 * *", "30 2 * * 0,7", "@hourly", "@yearly", "0 0 29 2 *", "0 0 31 2 *",
		"5/10 * * * *", "0-30/10 * ? * ?", "0 0 * * */9223372036854775807",
		"0 9 * * MON-FRI", "0 0 1 jan,Jul *", "0 0 * * sun/2",
		"-1 * * * *", "1-0 * * * *", "* * * *", "a b c d e", "*/0 * * * *", "0 0 30 2 */7", "0 0 */30 2 *",
	} {
		f.Add(s, int64(1767225600))
	}
	f.Fuzz(func(t *testing.T, s string, unix int64) {
		c, err := parseCron(s)
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("parseCron(%q): empty error", s)
			}
			return
		}
		fields := strings.Fields(strings.TrimSpace(s))
		if m, ok := cronMacros[strings.TrimSpace(s)]; ok {
			fields = strings.Fields(m)
		}
		fields[3], fields[4] = refNumbered(fields[3], cronMonths, 1), refNumbered(fields[4], cronDays, 0)
		for i, want := range []struct {
			got    uint64
			lo, hi int
		}{{c.minute, 0, 59}, {c.hour, 0, 23}, {c.dom, 1, 31}, {c.month, 1, 12}, {c.dow, 0, 7}} {
			got := want.got
			if i == 4 {
				got &^= 1 // Sunday is 0 or 7
			}
			for v := want.lo; v <= want.hi; v++ {
				in := refCronHas(fields[i], v, want.lo, want.hi)
				if i == 4 && v == 0 {
					continue
				}
				if (got&(1<<uint(v)) != 0) != in {
					t.Fatalf("parseCron(%q): field %d has %d = %v, want %v", s, i+1, v, !in, in)
				}
			}
			if got&^(1<<uint(want.hi+1)-1) != 0 || got&(1<<uint(want.lo)-1) != 0 && i != 4 {
				t.Fatalf("parseCron(%q): field %d = %b, outside %d-%d", s, i+1, got, want.lo, want.hi)
			}
		}

		// next, in UTC (no clock changes), from a time in 1970-2200.
		from := time.Unix(int64(uint64(unix)%(230*365*86400)), 0).UTC()
		next := c.next(from)
		if next.IsZero() {
			return // none within five years: a February 29 in a century year's gap
		}
		if !next.After(from) || next.Second() != 0 || !c.matches(next) {
			t.Fatalf("%q from %s: next = %s, which is not a later matching minute", s, from, next)
		}
		for m := from.Truncate(time.Minute).Add(time.Minute); m.Before(next) && m.Sub(from) < 3*24*time.Hour; m = m.Add(time.Minute) {
			if c.matches(m) {
				t.Fatalf("%q from %s: next = %s, but %s matches before it", s, from, next, m)
			}
		}
	})
}

// matches reports whether the minute of t (in its location) is one the
// expression names.
func (c *cronSpec) matches(t time.Time) bool {
	return c.minute&(1<<uint(t.Minute())) != 0 && c.hour&(1<<uint(t.Hour())) != 0 &&
		c.month&(1<<uint(t.Month())) != 0 && c.dayMatches(t)
}

// refCronHas is a plain reading of a cron field: whether it names v.
// refNumbered writes the names in a cron field as their numbers.
func refNumbered(field string, names []string, lo int) string {
	return regexp.MustCompile(`[A-Za-z]+`).ReplaceAllStringFunc(field, func(w string) string {
		for i, n := range names {
			if strings.EqualFold(w, n) {
				return strconv.Itoa(lo + i)
			}
		}
		return w
	})
}

func refCronHas(field string, v, lo, hi int) bool {
	for _, part := range strings.Split(field, ",") {
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := uint64(1)
		if hasStep {
			n, _ := strconv.Atoi(stepStr)
			step = uint64(n)
		}
		a, b := lo, hi
		if rng != "*" && rng != "?" {
			x, y, isRange := strings.Cut(rng, "-")
			a, _ = strconv.Atoi(x)
			b = a
			if isRange {
				b, _ = strconv.Atoi(y)
			} else if hasStep {
				b = hi
			}
		}
		if a <= v && v <= b && uint64(v-a)%step == 0 {
			return true
		}
	}
	return false
}
