package emit

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// cronSpec is a five-field cron expression (minute hour day-of-month month
// day-of-week), in the clock's location. Fields take *, numbers, ranges
// (1-5), steps (*/15, 0-30/10) and lists (1,15); day-of-week 0 or 7 is
// Sunday. Months and days of the week may be named in English, by their
// first three letters in any case (JAN-DEC, MON-FRI). When both day fields are restricted (neither starts with *) a
// day matching either runs, as in cron; else a day must match both.
// @hourly, @daily (@midnight), @weekly, @monthly and @yearly (@annually)
// are accepted, in any case; @every DURATION is an every: schedule (see
// cronEvery).
type cronSpec struct {
	minute, hour, dom, month, dow uint64 // bit sets
	domAny, dowAny                bool
}

var cronMacros = map[string]string{
	"@hourly": "0 * * * *", "@daily": "0 0 * * *", "@midnight": "0 0 * * *",
	"@weekly": "0 0 * * 0", "@monthly": "0 0 1 * *", "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *",
}

// cronNames lists the @names parseCron takes, for its errors.
const cronNames = "@hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually or @every DURATION"

// cronEvery reads "@every DURATION" (as robfig/cron and the crontabs
// that follow it write it): ok is false for anything else.
func cronEvery(s string) (d time.Duration, ok bool, err error) {
	f := strings.Fields(s)
	if len(f) == 0 || !strings.EqualFold(f[0], "@every") {
		return 0, false, nil
	}
	if len(f) != 2 {
		return 0, true, fmt.Errorf("@every takes one duration, such as @every 5m (or write every: 5m)")
	}
	d, err = time.ParseDuration(f[1])
	if err != nil || d <= 0 {
		return 0, true, fmt.Errorf("@every takes a duration such as 5m or 1h30m, got %q", f[1])
	}
	return d, true, nil
}

func parseCron(s string) (*cronSpec, error) {
	s = strings.TrimSpace(s)
	if m, ok := cronMacros[strings.ToLower(s)]; ok {
		s = m
	}
	f := strings.Fields(s)
	switch {
	case len(f) > 0 && strings.EqualFold(f[0], "@reboot"):
		return nil, fmt.Errorf("@reboot is not supported: automations run on a schedule while hooklab runs; for a delivery at start, send an event once it is up (hooklab send)")
	case len(f) > 0 && strings.EqualFold(f[0], "@every"):
		return nil, fmt.Errorf("@every takes one duration, such as @every 5m (or write every: 5m)")
	case len(f) > 0 && strings.HasPrefix(f[0], "@"):
		return nil, fmt.Errorf("unknown %q: the names are %s", f[0], cronNames)
	case len(f) > 0 && (strings.HasPrefix(f[0], "CRON_TZ=") || strings.HasPrefix(f[0], "TZ=")):
		return nil, fmt.Errorf("a time zone prefix (%s) is not supported: cron times are in hooklab's local time zone; start hooklab with TZ set (TZ=%s hooklab)", f[0], f[0][strings.IndexByte(f[0], '=')+1:])
	case len(f) == 6:
		return nil, fmt.Errorf("want 5 fields (minute hour day month weekday), got 6: there is no seconds field; for runs under a minute apart write every: such as every: 30s")
	case len(f) != 5:
		return nil, fmt.Errorf("want 5 fields (minute hour day month weekday), or one of %s; got %d", cronNames, len(f))
	}
	var c cronSpec
	var err error
	if c.minute, err = cronField(f[0], 0, 59, "minute", nil); err != nil {
		return nil, err
	}
	if c.hour, err = cronField(f[1], 0, 23, "hour", nil); err != nil {
		return nil, err
	}
	if c.dom, err = cronField(f[2], 1, 31, "day of month", nil); err != nil {
		return nil, err
	}
	if c.month, err = cronField(f[3], 1, 12, "month", cronMonths); err != nil {
		return nil, err
	}
	if c.dow, err = cronField(f[4], 0, 7, "day of week", cronDays); err != nil {
		return nil, err
	}
	if c.dow&(1<<7) != 0 {
		c.dow |= 1
	}
	// A day field is restricted when it does not start with * (crontab(5)):
	// */2 is not.
	c.domAny = strings.HasPrefix(f[2], "*") || strings.HasPrefix(f[2], "?")
	c.dowAny = strings.HasPrefix(f[4], "*") || strings.HasPrefix(f[4], "?")
	// Five years from any day hold a February 29: an expression with no
	// run in five years has none at all (the 31st of February).
	if c.next(time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)).IsZero() {
		return nil, fmt.Errorf("%q never runs: no month has that day", s)
	}
	return &c, nil
}

// The names a month or day-of-week field may use, from its lowest value.
var (
	cronMonths = []string{"jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"}
	cronDays   = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}
)

// cronField parses one field into a bit set of its values lo-hi; names,
// when given, stand for lo, lo+1, and so on.
func cronField(s string, lo, hi int, what string, names []string) (uint64, error) {
	atoi := func(x string) (int, error) {
		for i, n := range names {
			if strings.EqualFold(x, n) {
				return lo + i, nil
			}
		}
		return strconv.Atoi(x)
	}
	var set uint64
	for _, part := range strings.Split(s, ",") {
		rng, stepStr, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepStr)
			if err != nil || n < 1 {
				return 0, fmt.Errorf("%s: bad step %q", what, stepStr)
			}
			step = n
		}
		a, b := lo, hi
		switch {
		case rng == "*" || rng == "?":
		case strings.Contains(rng, "-"):
			x, y, _ := strings.Cut(rng, "-")
			var err1, err2 error
			a, err1 = atoi(x)
			b, err2 = atoi(y)
			if err1 != nil || err2 != nil || a > b {
				return 0, fmt.Errorf("%s: bad range %q", what, rng)
			}
		default:
			n, err := atoi(rng)
			if err != nil {
				return 0, fmt.Errorf("%s: bad value %q", what, rng)
			}
			a = n
			if !hasStep {
				b = n
			}
		}
		if a < lo || b > hi {
			return 0, fmt.Errorf("%s: %q is outside %d-%d", what, part, lo, hi)
		}
		for i := a; i <= b; i += step {
			set |= 1 << uint(i)
			if step > b-i {
				break // i+step is past b, or would overflow int and wrap round below it
			}
		}
	}
	return set, nil
}

func (c *cronSpec) dayMatches(t time.Time) bool {
	dom := c.dom&(1<<uint(t.Day())) != 0
	dow := c.dow&(1<<uint(t.Weekday())) != 0
	if c.domAny || c.dowAny {
		return dom && dow
	}
	return dom || dow
}

// next returns the first time after t that the expression matches, or the
// zero time when there is none within five years. Times are in t's
// location. Where clocks go forward, a time that does not exist is not
// run (as in cron, the next match is); where they go back, a time of day
// that comes twice is run once, unless the expression names every hour
// (as "*/20 * * * *" does: it runs by the clock through both).
func (c *cronSpec) next(t time.Time) time.Time {
	t = t.Truncate(time.Minute).Add(time.Minute)
	limit := t.AddDate(5, 0, 0)
	// step moves t to to, or, when to is not later (time.Date gives an
	// earlier instant for a local time a clock change skipped), by one
	// minute: every step moves on.
	step := func(to time.Time) {
		if to.After(t) {
			t = to
		} else {
			t = t.Add(time.Minute)
		}
	}
	everyHour := c.hour&(1<<24-1) == 1<<24-1
	for t.Before(limit) {
		if c.month&(1<<uint(t.Month())) == 0 {
			step(time.Date(t.Year(), t.Month()+1, 1, 0, 0, 0, 0, t.Location()))
			continue
		}
		if !c.dayMatches(t) {
			step(time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, t.Location()))
			continue
		}
		if c.hour&(1<<uint(t.Hour())) == 0 {
			step(time.Date(t.Year(), t.Month(), t.Day(), t.Hour()+1, 0, 0, 0, t.Location()))
			continue
		}
		if c.minute&(1<<uint(t.Minute())) == 0 {
			t = t.Add(time.Minute)
			continue
		}
		if !everyHour && cameBefore(t) {
			t = t.Add(time.Minute)
			continue
		}
		return t
	}
	return time.Time{}
}

// cameBefore reports whether t's time of day was already on the clock
// earlier that day: t is in the hour a clock going back repeats.
func cameBefore(t time.Time) bool {
	for _, d := range []time.Duration{30 * time.Minute, time.Hour, 2 * time.Hour} {
		if e := t.Add(-d); e.Day() == t.Day() && e.Hour() == t.Hour() && e.Minute() == t.Minute() {
			return true
		}
	}
	return false
}
