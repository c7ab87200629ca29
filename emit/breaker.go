package emit

import (
	"fmt"
	"sync"
	"time"
)

// breaker is one webhook's circuit breaker. It is closed (attempts flow)
// until the share of failures among the attempts of the last Window reaches
// FailureRate with at least MinAttempts of them; it is then open for
// Cooldown, and afterwards half-open: one probe goes through, its success
// closes the circuit and its failure opens it again.
type breaker struct {
	mu  sync.Mutex
	cfg Breaker
	// recent counts the attempts of the window in spans of
	// Window/breakerSpans, oldest first: a webhook taking thousands of
	// deliveries a second keeps a few hundred counters, not an entry an
	// attempt.
	recent   []outcomes
	attempts int // in recent
	fails    int // in recent
	state    breakerState
	until    time.Time // end of the cool-down while open
	probing  bool      // the half-open probe is in flight
}

// outcomes counts the attempts that ended in a span starting at t.
type outcomes struct {
	t               time.Time
	attempts, fails int
}

// breakerSpans is how many spans the window is counted in. An attempt
// stays counted until its whole span has left the window: up to
// Window/breakerSpans longer, never shorter (a failure is not forgotten
// early).
const breakerSpans = 256

type breakerState int

const (
	breakerClosed breakerState = iota
	breakerOpen
	breakerHalfOpen
)

func newBreaker(cfg Breaker) *breaker { return &breaker{cfg: cfg.withDefaults()} }

// setConfig replaces the configuration, keeping the history. A disabled
// breaker closes the circuit and forgets the history: the attempts it
// lets through are not counted, so enabled again it starts closed, not
// open for the rest of a cool-down that deliveries since have outlived.
func (b *breaker) setConfig(cfg Breaker) {
	b.mu.Lock()
	b.cfg = cfg.withDefaults()
	if b.cfg.Disabled {
		b.state, b.until, b.probing = breakerClosed, time.Time{}, false
		b.forget()
	}
	b.mu.Unlock()
}

// admit says whether an attempt may start at now. When it may not, until
// is when to ask again (the zero time while a probe is in flight). probe
// reports that this attempt is the half-open probe.
func (b *breaker) admit(now time.Time) (ok, probe bool, until time.Time) {
	ok, probe, until, _ = b.admitMove(now)
	return ok, probe, until
}

// admitMove is admit, and also reports that the circuit went half-open
// (its cool-down over, this attempt is the probe), which it does once a
// cool-down.
func (b *breaker) admitMove(now time.Time) (ok, probe bool, until time.Time, halfOpened bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg.Disabled {
		return true, false, time.Time{}, false
	}
	b.clampLocked(now)
	switch b.state {
	case breakerOpen:
		if now.Before(b.until) {
			return false, false, b.until, false
		}
		b.state = breakerHalfOpen
		b.probing = false
		halfOpened = true
		fallthrough
	case breakerHalfOpen:
		if b.probing {
			return false, false, time.Time{}, halfOpened
		}
		b.probing = true
		return true, true, time.Time{}, halfOpened
	}
	return true, false, time.Time{}, false
}

// restore opens the circuit until until, as it was saved before a
// restart: the cool-down goes on, then a probe goes first.
func (b *breaker) restore(until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg.Disabled {
		return // no breaker now: nothing to keep open
	}
	b.state, b.until, b.probing = breakerOpen, until, false
	b.forget()
}

// record adds the outcome of an attempt that ended at now. changed says
// that the circuit opened (until is the end of its cool-down) or closed
// (until is zero), which is saved so that a restart keeps it; why says
// what moved it, for the log.
func (b *breaker) record(now time.Time, failed, probe bool) (changed bool, until time.Time, why string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg.Disabled {
		return false, time.Time{}, ""
	}
	if probe {
		b.probing = false
		if failed {
			b.state, b.until = breakerOpen, now.Add(time.Duration(b.cfg.Cooldown))
			return true, b.until, "the half-open probe failed"
		}
		b.state = breakerClosed
		b.forget()
		return true, time.Time{}, "the half-open probe succeeded"
	}
	if b.state != breakerClosed {
		// Admitted before the circuit opened: it says nothing of the
		// endpoint now, and the probe (in flight or to come) decides.
		return false, time.Time{}, ""
	}
	window := time.Duration(b.cfg.Window)
	span := max(window/breakerSpans, 1)
	if n := len(b.recent); n == 0 || now.Sub(b.recent[n-1].t) >= span || now.Before(b.recent[n-1].t) {
		b.recent = append(b.recent, outcomes{t: now})
	}
	last := &b.recent[len(b.recent)-1]
	last.attempts++
	b.attempts++
	if failed {
		last.fails++
		b.fails++
	}
	cut := now.Add(-window)
	i := 0
	for i < len(b.recent) && !b.recent[i].t.Add(span).After(cut) {
		b.attempts -= b.recent[i].attempts
		b.fails -= b.recent[i].fails
		i++
	}
	if i > 0 {
		b.recent = append(b.recent[:0], b.recent[i:]...)
	}
	// The share is compared with a margin for the rate's rounding in
	// binary: 0.28×25 is 7.000000000000001, and 7 failures of 25 make 28%.
	if b.attempts >= b.cfg.MinAttempts && float64(b.fails) >= b.cfg.FailureRate*float64(b.attempts)-1e-9 {
		why = fmt.Sprintf("%d of %d attempts failed within %v (failure_rate %v)",
			b.fails, b.attempts, time.Duration(b.cfg.Window), b.cfg.FailureRate)
		b.state, b.until = breakerOpen, now.Add(time.Duration(b.cfg.Cooldown))
		b.forget()
		return true, b.until, why
	}
	return false, time.Time{}, ""
}

// clampLocked ends an open circuit's cool-down at most Cooldown after
// now. It ends later when the clock was set back since the circuit opened
// (or since it was saved, before a restart), which would hold every
// delivery for as long as the clock went back, or when the cool-down was
// shortened since. b.mu is held.
func (b *breaker) clampLocked(now time.Time) {
	if cd := time.Duration(b.cfg.Cooldown); b.state == breakerOpen && b.until.Sub(now) > cd {
		b.until = now.Add(cd)
	}
}

// isOpen reports whether the circuit is open or half-open, whatever the
// configuration says.
func (b *breaker) isOpen() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.state != breakerClosed
}

// forget drops the counts.
func (b *breaker) forget() {
	b.recent, b.attempts, b.fails = b.recent[:0], 0, 0
}

// cancelProbe releases a probe that was admitted but not attempted.
func (b *breaker) cancelProbe() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// stateName names the state for the API at now (see status).
func (b *breaker) stateName(now time.Time) string {
	name, _ := b.status(now)
	return name
}

// status names the state for the API at now, and while it is open, until
// when: an open circuit whose cool-down is over lets the next attempt
// through as a probe, so it reads half_open (admit moves it there only
// when an attempt comes).
func (b *breaker) status(now time.Time) (string, time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg.Disabled {
		return "closed", time.Time{} // it lets everything through
	}
	b.clampLocked(now)
	switch b.state {
	case breakerOpen:
		if !now.Before(b.until) {
			return "half_open", time.Time{}
		}
		return "open", b.until
	case breakerHalfOpen:
		return "half_open", time.Time{}
	}
	return "closed", time.Time{}
}
