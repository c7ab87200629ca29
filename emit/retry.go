package emit

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// Retry is a webhook's retry policy. The zero value (or a nil *Retry) is
// Zendesk's: retry a 409 up to 3 times; retry a 429 or 503 only when
// Retry-After is present and under 60 s, waiting that long; retry a timeout
// up to 3 times; fail any other status at once. Every field overrides one
// part of that.
type Retry struct {
	// MaxAttempts counts every attempt, the first included: default 4 (3
	// retries), or len(Schedule)+1 when a schedule is given.
	MaxAttempts Attempts `json:"max_attempts,omitempty"`
	// Statuses are retried after the backoff (or after Retry-After, capped
	// at RetryAfterMax, when the response has one). nil means [409]; an
	// empty list retries none.
	Statuses []int `json:"statuses"`
	// RetryAfterStatuses are retried only when the response has a
	// Retry-After under RetryAfterMax, after waiting that long. nil means
	// [429, 503], less any of them Statuses lists (statuses: [429, 503]
	// retries them with or without Retry-After); a status listed in both
	// follows this stricter rule.
	RetryAfterStatuses []int `json:"retry_after_statuses"`
	// OnTimeout retries attempts that timed out (default true).
	OnTimeout *bool `json:"on_timeout,omitempty"`
	// OnNetworkError retries attempts that failed to connect or were reset
	// (default false, as Zendesk).
	OnNetworkError bool `json:"on_network_error,omitempty"`
	// Backoff is exponential (default; with jitter: each wait is random
	// between half and all of Initial*2^(n-1)), linear (Initial*n) or
	// schedule (the waits of Schedule in turn, as Svix does).
	Backoff string `json:"backoff,omitempty"`
	// Initial is the first wait (default 2s); Max caps every wait
	// (default 1h). Both shape exponential and linear backoff: a
	// schedule's waits are as written.
	Initial Duration `json:"initial,omitzero"`
	Max     Duration `json:"max,omitzero"`
	// Schedule is the explicit list of waits, e.g. [5s, 5m, 30m, 2h].
	Schedule []Duration `json:"schedule,omitempty"`
	// RetryAfterMax caps the Retry-After honoured (default 60s).
	RetryAfterMax Duration `json:"retry_after_max,omitzero"`
}

// Backoff kinds.
const (
	BackoffExponential = "exponential"
	BackoffLinear      = "linear"
	BackoffSchedule    = "schedule"
)

// Retry defaults (Zendesk's policy).
const (
	DefaultMaxAttempts   = 4
	DefaultInitial       = 2 * time.Second
	DefaultMaxBackoff    = time.Hour
	DefaultRetryAfterMax = 60 * time.Second
)

// withDefaults returns the policy with every unset field at its default.
func (r *Retry) withDefaults() Retry {
	var p Retry
	if r != nil {
		p = *r
	}
	if p.Statuses == nil {
		p.Statuses = []int{http.StatusConflict}
	}
	if p.RetryAfterStatuses == nil {
		p.RetryAfterStatuses = []int{}
		for _, s := range []int{http.StatusTooManyRequests, http.StatusServiceUnavailable} {
			if !slices.Contains(p.Statuses, s) {
				p.RetryAfterStatuses = append(p.RetryAfterStatuses, s)
			}
		}
	}
	if p.OnTimeout == nil {
		t := true
		p.OnTimeout = &t
	}
	if p.Backoff == "" {
		p.Backoff = BackoffExponential
		if len(p.Schedule) > 0 {
			p.Backoff = BackoffSchedule
		}
	}
	if p.MaxAttempts == 0 {
		p.MaxAttempts = DefaultMaxAttempts
		if p.Backoff == BackoffSchedule && len(p.Schedule) > 0 {
			p.MaxAttempts = Attempts(len(p.Schedule) + 1)
		}
	}
	if p.Initial == 0 {
		p.Initial = Duration(DefaultInitial)
	}
	if p.Max == 0 {
		p.Max = Duration(DefaultMaxBackoff)
	}
	if p.RetryAfterMax == 0 {
		p.RetryAfterMax = Duration(DefaultRetryAfterMax)
	}
	return p
}

// Attempts is a retry policy's max_attempts. Its zero value means the
// default; a 0 given in JSON or YAML is kept apart (maxAttemptsZero), to be
// refused.
type Attempts int

// maxAttemptsZero stands for a max_attempts given as 0, out of range,
// which the zero value (the default) cannot say.
const maxAttemptsZero Attempts = math.MinInt32

// UnmarshalJSON reads a number of attempts; null leaves the default.
func (a *Attempts) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*a = Attempts(n)
	if n == 0 {
		*a = maxAttemptsZero
	}
	return nil
}

func (r *Retry) validate(p *problems) {
	if r.MaxAttempts < 0 || r.MaxAttempts > 100 {
		got := r.MaxAttempts
		if got == maxAttemptsZero {
			got = 0
		}
		p.add("retry.max_attempts", "max_attempts must be between 1 and 100, got %d", got)
	}
	for i, s := range r.Statuses {
		if s < 100 || s > 599 {
			p.add(fmt.Sprintf("retry.statuses.%d", i), "status must be between 100 and 599, got %d", s)
		}
	}
	for i, s := range r.RetryAfterStatuses {
		if s < 100 || s > 599 {
			p.add(fmt.Sprintf("retry.retry_after_statuses.%d", i), "status must be between 100 and 599, got %d", s)
		}
	}
	switch r.Backoff {
	case "", BackoffExponential, BackoffLinear:
	case BackoffSchedule:
		if len(r.Schedule) == 0 {
			p.add("retry.schedule", "backoff schedule needs a schedule of waits, such as [5s, 5m, 30m]")
		}
	default:
		p.add("retry.backoff", "backoff must be exponential, linear or schedule, got %q", r.Backoff)
	}
	for i, d := range r.Schedule {
		if d < 0 {
			p.add(fmt.Sprintf("retry.schedule.%d", i), "waits must not be negative")
		} else if d > Duration(MaxRetryWait) {
			p.add(fmt.Sprintf("retry.schedule.%d", i), "waits must be at most %s, got %s", MaxRetryWait, time.Duration(d))
		}
	}
	if r.Initial < 0 || r.Max < 0 || r.RetryAfterMax < 0 {
		p.add("retry", "initial, max and retry_after_max must not be negative")
	}
	for _, f := range []struct {
		name string
		d    Duration
	}{{"initial", r.Initial}, {"max", r.Max}, {"retry_after_max", r.RetryAfterMax}} {
		if f.d > Duration(MaxRetryWait) {
			p.add("retry."+f.name, "%s must be at most %s, got %s", f.name, MaxRetryWait, time.Duration(f.d))
		}
	}
}

// MaxRetryWait bounds every wait a retry policy sets. Beyond it a backoff
// grown by its attempts, or a time that far ahead, would overflow and
// come out negative: an immediate retry.
const MaxRetryWait = 30 * 24 * time.Hour

// result is what one attempt came to, as the retry policy sees it.
type result struct {
	status     int // 0 when there was no response
	header     http.Header
	timeout    bool
	networkErr bool
}

// decide says whether to retry after attempt number n (1-based, since the
// last manual redelivery; total in all) ended in res, and after how long.
// rnd gives the jitter, in [0, 1). reason explains a stop that is not a
// plain success or failure.
func (p Retry) decide(res result, n, total int, now time.Time, rnd func() float64) (retry bool, wait time.Duration, reason string) {
	if res.status >= 200 && res.status < 300 {
		return false, 0, "" // delivered: an abort has nothing left to stop
	}
	if res.header != nil && strings.EqualFold(strings.TrimSpace(res.header.Get("Webhook-Delivery")), "abort") {
		return false, 0, "the receiver answered webhook-delivery: abort; no more retries"
	}
	can := n < int(p.MaxAttempts)
	ra, hasRA := retryAfter(res.header, now)
	switch {
	case res.status != 0 && slices.Contains(p.RetryAfterStatuses, res.status):
		if !hasRA {
			if v := strings.TrimSpace(res.header.Get("Retry-After")); v != "" {
				return false, 0, fmt.Sprintf("%d with a Retry-After that is neither seconds nor an HTTP date (%.40q) is not retried", res.status, v)
			}
			return false, 0, fmt.Sprintf("%d without Retry-After is not retried", res.status)
		}
		if ra >= time.Duration(p.RetryAfterMax) {
			said := ra.String()
			if ra >= 24*time.Hour {
				said = strings.TrimSpace(res.header.Get("Retry-After")) // inf, 1e300: as sent
			}
			return false, 0, fmt.Sprintf("%d with Retry-After %s (not under %s) is not retried", res.status, said, time.Duration(p.RetryAfterMax))
		}
		if !can {
			return false, 0, gaveUp(n, total)
		}
		return true, ra, ""
	case res.status != 0 && slices.Contains(p.Statuses, res.status):
		if !can {
			return false, 0, gaveUp(n, total)
		}
		if hasRA {
			return true, min(ra, time.Duration(p.RetryAfterMax)), ""
		}
		return true, p.backoff(n, rnd), ""
	case res.timeout && *p.OnTimeout, res.networkErr && p.OnNetworkError:
		if !can {
			return false, 0, gaveUp(n, total)
		}
		return true, p.backoff(n, rnd), ""
	case !can:
		// No attempt was left anyway: not retrying is no surprise.
	case res.networkErr:
		return false, 0, "a failed connection is not retried (Zendesk's policy); retry: {on_network_error: true} retries it"
	case res.timeout:
		return false, 0, "a timeout is not retried: retry.on_timeout is false"
	case res.status >= 400:
		retried := "none"
		if len(p.Statuses) > 0 {
			retried = strings.Trim(strings.Join(strings.Fields(fmt.Sprint(p.Statuses)), ", "), "[]")
		}
		return false, 0, fmt.Sprintf("%d is not retried: retry.statuses lists the statuses that are (%s)", res.status, retried)
	}
	return false, 0, ""
}

// gaveUp says that the retries ran out after n attempts, and how many
// there were in all when a redelivery made n start again.
func gaveUp(n, total int) string {
	attempts := inspect.Count(n, "attempt", "attempts")
	if total > n {
		return fmt.Sprintf("gave up after %s since the last redelivery (%d in all)", attempts, total)
	}
	return "gave up after " + attempts
}

// backoff is the wait before retry number n (the first retry is 1).
func (p Retry) backoff(n int, rnd func() float64) time.Duration {
	maxWait := time.Duration(p.Max)
	switch p.Backoff {
	case BackoffSchedule:
		if len(p.Schedule) == 0 {
			return 0
		}
		return time.Duration(p.Schedule[min(n-1, len(p.Schedule)-1)])
	case BackoffLinear:
		return min(time.Duration(p.Initial)*time.Duration(n), maxWait)
	}
	d := time.Duration(p.Initial)
	for i := 1; i < n && d < maxWait; i++ {
		d *= 2
	}
	d = min(d, maxWait)
	return d/2 + time.Duration(rnd()*float64(d/2))
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	if h == nil {
		return 0, false
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s >= 0 {
		// Beyond what a Duration holds (up to +Inf) is as long as it gets:
		// the conversion would overflow to a negative wait.
		if s >= float64(math.MaxInt64)/float64(time.Second) {
			return time.Duration(math.MaxInt64), true
		}
		return time.Duration(s * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		// An HTTP date holds whole seconds: the sender's "60 seconds from
		// now" reads as 59.x here, which a wait given in seconds ("60")
		// is not. Rounded up, the two agree.
		d := max(t.Sub(now), 0)
		if r := d.Truncate(time.Second); r != d {
			d = r + time.Second
		}
		return d, true
	}
	return 0, false
}
