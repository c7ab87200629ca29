package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"testing"
	"time"
)

func TestGCPercent(t *testing.T) {
	const roots = 1 << 20 // stacks and globals
	for _, c := range []struct {
		live, roots uint64
		want        int
	}{
		{0, 0, 2000},
		{1 << 20, roots, 2000},         // 47 MiB over 2 MiB scanned would be 2350%: capped
		{4 << 20, roots, 880},          // 44 MiB more over 5 MiB scanned: the goal is 48 MiB
		{16 << 20, roots, 188},         // 32 over 17
		{gcGoal/2 - 2<<20, roots, 113}, // 26 over 23
		{gcGoal/2 - 1<<20, roots, 104}, // 25 over 24
		{gcGoal/2 + 1<<20, roots, 100}, // 23 over 26: below Go's default, which it is from here
		{gcGoal / 2, roots, 100},
		{1 << 30, roots, 100},
	} {
		got := gcPercent(c.live, c.roots)
		if got != c.want {
			t.Errorf("gcPercent(%d, %d) = %d, want %d", c.live, c.roots, got, c.want)
		}
		if goal := c.live + (c.live+c.roots)*uint64(got)/100; got > 100 && goal > gcGoal {
			t.Errorf("live %d: next collection at %d, past gcGoal", c.live, goal)
		}
	}
}

// TestGCTuner checks the process's GOGC, through the runtime's own
// metrics, after collections while the tuner runs and after it stops.
func TestGCTuner(t *testing.T) {
	read := func() (gogc, live, roots uint64) {
		s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/heap/live:bytes"},
			{Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64() + s[3].Value.Uint64()
	}
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	stop := startGCTuner()
	t.Cleanup(stop)
	deadline := time.Now().Add(10 * time.Second)
	for {
		runtime.GC() // the finalizer runs after it, on its own goroutine
		time.Sleep(10 * time.Millisecond)
		gogc, live, roots := read()
		if int(gogc) == gcPercent(live, roots) && gogc > 100 {
			break // this test binary's live heap is far below 32 MiB
		}
		if time.Now().After(deadline) {
			t.Fatalf("while tuning: GOGC %d with a live heap of %d bytes and %d of roots; want %d", gogc, live, roots, gcPercent(live, roots))
		}
	}
	stop()
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	if gogc, _, _ := read(); gogc != 100 {
		t.Fatalf("after stopping: GOGC %d, want the 100 it found", gogc)
	}
}
