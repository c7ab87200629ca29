package emit

import "time"

// Clock tells the time and wakes waiters. Backoff, rate limits, the circuit
// breaker and automations run on it, so tests replace it with a fake one and
// never sleep. Per-attempt HTTP timeouts use real time.
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once the time reaches t (at once
	// when t has passed) and a function that releases the wait early.
	At(t time.Time) (<-chan time.Time, func())
}

// realClock is the system clock.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) At(t time.Time) (<-chan time.Time, func()) {
	tm := time.NewTimer(time.Until(t))
	return tm.C, func() { tm.Stop() }
}
