package emit

import (
	"sync"
	"time"
)

// breaker is one webhook's circuit breaker. It is closed (attempts flow)
// until the share of failures among the attempts of the last Window reaches
// FailureRate with at least MinAttempts of them; it is then open for
// Cooldown, and afterwards half-open: one probe goes through, its success
// closes the circuit and its failure opens it again.
type breaker struct {
	mu      sync.Mutex
	cfg     Breaker
	outcome []outcomeAt // attempts within the window, oldest first
	fails   int
	state   breakerState
	until   time.Time // end of the cool-down while open
	probing bool      // the half-open probe is in flight
}

type outcomeAt struct {
	t      time.Time
	failed bool
}

type breakerState int

const (
	breakerClosed breakerState = iota
	breakerOpen
	breakerHalfOpen
)

func newBreaker(cfg Breaker) *breaker { return &breaker{cfg: cfg.withDefaults()} }

// setConfig replaces the configuration, keeping the history.
func (b *breaker) setConfig(cfg Breaker) {
	b.mu.Lock()
	b.cfg = cfg.withDefaults()
	b.mu.Unlock()
}

// admit says whether an attempt may start at now. When it may not, until
// is when to ask again (the zero time while a probe is in flight). probe
// reports that this attempt is the half-open probe.
func (b *breaker) admit(now time.Time) (ok, probe bool, until time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg.Disabled {
		return true, false, time.Time{}
	}
	switch b.state {
	case breakerOpen:
		if now.Before(b.until) {
			return false, false, b.until
		}
		b.state = breakerHalfOpen
		b.probing = false
		fallthrough
	case breakerHalfOpen:
		if b.probing {
			return false, false, time.Time{}
		}
		b.probing = true
		return true, true, time.Time{}
	}
	return true, false, time.Time{}
}

// record adds the outcome of an attempt that ended at now.
func (b *breaker) record(now time.Time, failed, probe bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cfg.Disabled {
		return
	}
	if probe {
		b.probing = false
		if failed {
			b.state, b.until = breakerOpen, now.Add(time.Duration(b.cfg.Cooldown))
		} else {
			b.state = breakerClosed
			b.outcome, b.fails = b.outcome[:0], 0
		}
		return
	}
	if b.state != breakerClosed {
		// Admitted before the circuit opened: it says nothing of the
		// endpoint now, and the probe (in flight or to come) decides.
		return
	}
	b.outcome = append(b.outcome, outcomeAt{t: now, failed: failed})
	if failed {
		b.fails++
	}
	cut := now.Add(-time.Duration(b.cfg.Window))
	i := 0
	for i < len(b.outcome) && b.outcome[i].t.Before(cut) {
		if b.outcome[i].failed {
			b.fails--
		}
		i++
	}
	if i > 0 {
		b.outcome = append(b.outcome[:0], b.outcome[i:]...)
	}
	if b.state == breakerClosed && len(b.outcome) >= b.cfg.MinAttempts &&
		float64(b.fails) >= b.cfg.FailureRate*float64(len(b.outcome)) {
		b.state, b.until = breakerOpen, now.Add(time.Duration(b.cfg.Cooldown))
		b.outcome, b.fails = b.outcome[:0], 0
	}
}

// cancelProbe releases a probe that was admitted but not attempted.
func (b *breaker) cancelProbe() {
	b.mu.Lock()
	b.probing = false
	b.mu.Unlock()
}

// stateName names the state for the API.
func (b *breaker) stateName() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch b.state {
	case breakerOpen:
		return "open"
	case breakerHalfOpen:
		return "half_open"
	}
	return "closed"
}
