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
		{0, 0, gcMaxPercent},
		{1 << 20, roots, gcMaxPercent}, // 47 MiB over 2 MiB scanned would be 2350%: capped
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
		// Go's goal, with its floor of 4 MiB × GOGC/100.
		goal := max(c.live+(c.live+c.roots)*uint64(got)/100, 4<<20*uint64(got)/100)
		if got > 100 && goal > gcGoal {
			t.Errorf("live %d: next collection at %d, past gcGoal", c.live, goal)
		}
	}
}

// TestGCTuner checks the process's GOGC, through the runtime's own
// metrics, while the tuner runs: it follows the live heap down when the
// heap holds more and back up when it is let go, and is put back when the
// tuner stops.
func TestGCTuner(t *testing.T) {
	read := func() (gogc, live, roots uint64) {
		s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/heap/live:bytes"},
			{Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64(), s[1].Value.Uint64(), s[2].Value.Uint64() + s[3].Value.Uint64()
	}
	// waitGOGC collects until GOGC is what the tuner should have made of
	// the live heap, and checks it against want.
	waitGOGC := func(what string, want func(uint64) bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			runtime.GC() // the finalizer runs after it, on its own goroutine
			time.Sleep(10 * time.Millisecond)
			gogc, live, roots := read()
			if int(gogc) == gcPercent(live, roots) && want(gogc) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: GOGC %d with a live heap of %d bytes and %d of roots; want %d", what, gogc, live, roots, gcPercent(live, roots))
			}
		}
	}
	prev := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(prev) })
	stop := startGCTuner()
	t.Cleanup(stop)

	hold := make([][]byte, 12)
	for i := range hold {
		hold[i] = make([]byte, 1<<20)
	}
	waitGOGC("holding 12 MiB", func(g uint64) bool { return g > 100 && g < 400 })
	runtime.KeepAlive(hold)
	hold = nil
	waitGOGC("let go", func(g uint64) bool { return g >= 400 })

	stop()
	runtime.GC()
	time.Sleep(10 * time.Millisecond)
	if gogc, _, _ := read(); gogc != 100 {
		t.Fatalf("after stopping: GOGC %d, want the 100 it found", gogc)
	}
}
