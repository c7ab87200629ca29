package emit

import (
	"sync"
	"time"
)

// Clock tells the time and wakes waiters. Backoff, rate limits, the circuit
// breaker and automations run on it, so tests replace it with a fake one and
// never sleep. Per-attempt HTTP timeouts use real time.
type Clock interface {
	Now() time.Time
	// At returns a channel that receives once the time reaches t (at once
	// when t has passed), or sooner when the clock was set back (the waiter
	// then looks at the time again: what it waits for may be nearer), and a
	// function that releases the wait early.
	At(t time.Time) (<-chan time.Time, func())
}

// realClock is the system clock, by the wall: the times it gives carry no
// monotonic reading, as the times read back from the database do not, and
// a wait ends when the wall clock reaches its time. A timer alone counts
// on the monotonic clock, which stands still while the machine sleeps (and
// does not follow the clock being set): an automation due at 09:00, whose
// timer was set the evening before a night's sleep, ran that night. So a
// long wait reads the wall clock again every wallCheck, and ends early
// when it went back.
//
// Its zero value reads time.Now every wallCheck; tests set wall (to move
// the clock as a machine's sleep does) and check.
type realClock struct {
	wall  func() time.Time
	check time.Duration
}

// wallCheck is the longest a wait goes without reading the wall clock.
const wallCheck = time.Minute

func (c realClock) Now() time.Time {
	if c.wall != nil {
		return c.wall().Round(0)
	}
	return time.Now().Round(0)
}

func (c realClock) At(t time.Time) (<-chan time.Time, func()) {
	t = t.Round(0) // by the wall, whatever reading t carries
	every := c.check
	if every <= 0 {
		every = wallCheck
	}
	d := t.Sub(c.Now())
	if d <= every {
		// Short: the next check would come after it anyway.
		tm := time.NewTimer(d)
		return tm.C, func() { tm.Stop() }
	}
	ch := make(chan time.Time, 1)
	var mu sync.Mutex
	var tm *time.Timer
	stopped := false
	was := c.Now()
	var look func()
	look = func() {
		mu.Lock()
		defer mu.Unlock()
		if stopped {
			return
		}
		now := c.Now()
		if d := t.Sub(now); d > 0 && !now.Before(was) {
			was = now
			tm = time.AfterFunc(min(d, every), look)
			return
		}
		ch <- now
	}
	mu.Lock() // look may run before tm is set
	tm = time.AfterFunc(every, look)
	mu.Unlock()
	return ch, func() {
		mu.Lock()
		stopped = true
		tm.Stop()
		mu.Unlock()
	}
}
