package emit

import (
	"testing"
	"time"
)

// TestBreakerLateAttemptLeavesProbeInCharge: an attempt admitted while the
// circuit was closed that ends after it opened says nothing about the
// endpoint now; only the half-open probe's outcome closes or reopens it.
func TestBreakerLateAttemptLeavesProbeInCharge(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	b := newBreaker(Breaker{FailureRate: 0.5, MinAttempts: 2, Window: Duration(time.Minute), Cooldown: Duration(10 * time.Second)})
	// Three attempts start while closed; two fail and open the circuit.
	for range 3 {
		if ok, probe, _ := b.admit(t0); !ok || probe {
			t.Fatalf("closed breaker refused an attempt")
		}
	}
	b.record(t0.Add(time.Second), true, false)
	b.record(t0.Add(time.Second), true, false)
	if s := b.stateName(t0.Add(time.Second)); s != "open" {
		t.Fatalf("after two failures the breaker is %s, want open", s)
	}
	// Once the cool-down is over the next attempt is a probe: the API
	// says half_open before one comes (it said open until then).
	if s := b.stateName(t0.Add(11 * time.Second)); s != "half_open" {
		t.Errorf("after the cool-down the breaker reads %s, want half_open", s)
	}
	// A late failure while open does not extend the cool-down.
	b.record(t0.Add(5*time.Second), true, false)
	after := t0.Add(12 * time.Second)
	ok, probe, _ := b.admit(after)
	if !ok || !probe {
		t.Fatalf("after the cool-down: admit = %v, probe %v; want the probe", ok, probe)
	}
	// The third attempt of before ends now, well: not the probe.
	b.record(after, false, false)
	if s := b.stateName(after); s != "half_open" {
		t.Errorf("a late non-probe success made the breaker %s, want half_open", s)
	}
	if ok, _, _ := b.admit(after); ok {
		t.Errorf("a second attempt was admitted while the probe is in flight")
	}
	// The probe fails: open again.
	b.record(after.Add(time.Second), true, true)
	if s := b.stateName(after.Add(time.Second)); s != "open" {
		t.Errorf("a failed probe left the breaker %s, want open", s)
	}
}

// TestBreakerWindow: the window counts attempts in a bounded number of
// spans however many attempts it holds (a webhook at 1,000 deliveries a
// second kept an entry each, copied on every attempt), opens at the rate
// over the whole window, and forgets an attempt only once its span has
// left the window.
func TestBreakerWindow(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	window := 5 * time.Minute
	b := newBreaker(Breaker{FailureRate: 0.7, MinAttempts: 20, Window: Duration(window), Cooldown: Duration(time.Minute)})
	const perSec = 1000
	n := int(window/time.Second) * perSec
	for i := range 2 * n { // 30% fail: stays closed
		b.record(t0.Add(time.Duration(i)*time.Second/perSec), i%10 < 3, false)
	}
	if got := b.stateName(t0); got != "closed" {
		t.Fatalf("30%% failures opened the breaker: %s", got)
	}
	if len(b.recent) > breakerSpans+1 {
		t.Errorf("%d attempts in the window are kept in %d counters; want at most %d", b.attempts, len(b.recent), breakerSpans+1)
	}
	if span := window / breakerSpans; b.attempts < n || b.attempts > n+int(span/time.Millisecond)+1 {
		t.Errorf("the window counts %d attempts; want %d to %d", b.attempts, n, n+int(span/time.Millisecond)+1)
	}

	// 20 failures in a row after a quiet window: the old successes have
	// left it, so the circuit opens.
	b = newBreaker(Breaker{FailureRate: 0.7, MinAttempts: 20, Window: Duration(window), Cooldown: Duration(time.Minute)})
	for i := range 100 {
		b.record(t0.Add(time.Duration(i)*time.Millisecond), false, false)
	}
	later := t0.Add(window + time.Minute)
	for i := range 19 {
		b.record(later.Add(time.Duration(i)*time.Millisecond), true, false)
	}
	if got := b.stateName(later); got != "closed" {
		t.Fatalf("19 failures opened the breaker (min 20): %s", got)
	}
	b.record(later.Add(time.Second), true, false)
	if got := b.stateName(later.Add(time.Second)); got != "open" {
		t.Errorf("20 failures after the successes left the window: %s, want open", got)
	}

	// Failures just inside the window are still counted.
	b = newBreaker(Breaker{FailureRate: 0.5, MinAttempts: 4, Window: Duration(time.Minute), Cooldown: Duration(time.Minute)})
	for range 2 {
		b.record(t0, true, false)
	}
	b.record(t0.Add(59*time.Second), false, false)
	b.record(t0.Add(59*time.Second), true, false)
	if got := b.stateName(t0.Add(59 * time.Second)); got != "open" {
		t.Errorf("3 failures of 4 within a minute: %s, want open", got)
	}
}

// TestBreakerDisabledKeepsNothingOpen: a circuit saved open is not
// restored into a breaker the config now disables, and the API does not
// call a disabled breaker open.
func TestBreakerDisabledKeepsNothingOpen(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	b := newBreaker(Breaker{Disabled: true})
	b.restore(t0.Add(time.Hour))
	if s := b.stateName(t0); s != "closed" {
		t.Errorf("a disabled breaker restored open reads %s", s)
	}
	if ok, _, _ := b.admit(t0); !ok {
		t.Error("a disabled breaker refused an attempt")
	}
	b.setConfig(Breaker{})
	if s := b.stateName(t0); s != "closed" {
		t.Errorf("enabled again, the breaker reads %s (nothing was restored)", s)
	}
}
