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
	if s := b.stateName(); s != "open" {
		t.Fatalf("after two failures the breaker is %s, want open", s)
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
	if s := b.stateName(); s != "half_open" {
		t.Errorf("a late non-probe success made the breaker %s, want half_open", s)
	}
	if ok, _, _ := b.admit(after); ok {
		t.Errorf("a second attempt was admitted while the probe is in flight")
	}
	// The probe fails: open again.
	b.record(after.Add(time.Second), true, true)
	if s := b.stateName(); s != "open" {
		t.Errorf("a failed probe left the breaker %s, want open", s)
	}
}
