package main

import (
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// gcGoal is the heap size at which hooklab collects while its live heap is
// small. The live heap is a few MB while every request allocates, so Go's
// default GOGC=100 collects every few MB: ~27 collections a second when
// proxying 7k requests/s, each with two stop-the-world pauses and a mark
// phase that takes CPU from requests. Collecting at a fixed heap size runs
// a tenth as many collections and keeps the resident size steady, at about
// this much plus SQLite's caches and the runtime's own.
const gcGoal = 48 << 20

// gcPercent is the GOGC that puts the next collection at gcGoal, given the
// live heap and the stacks and globals the collector scans (Go's goal is
// live + (live + stacks + globals) × GOGC/100), or Go's default of 100 once
// that goal would be under twice the live heap, so a large live heap
// collects as Go would. The cap is where Go's floor on the goal (4 MiB ×
// GOGC/100) reaches gcGoal, so a nearly empty heap's goal is gcGoal too.
func gcPercent(live, roots uint64) int {
	scan := max(live+roots, 1)
	if live >= gcGoal || (gcGoal-live)*100/scan <= 100 {
		return 100
	}
	return int(min((gcGoal-live)*100/scan, gcMaxPercent))
}

// gcMaxPercent is the GOGC at which Go's floor on the heap goal, 4 MiB ×
// GOGC/100, is gcGoal.
const gcMaxPercent = gcGoal * 100 / (4 << 20)

// gcTuner sets GOGC to gcPercent of the live heap after every collection,
// from a finalizer that each collection runs and that arms itself again.
// Following every collection, rather than a clock, matters when the live
// heap jumps (a burst of large bodies): the next collection already uses
// Go's default instead of collecting back to back at a fixed size.
type gcTuner struct {
	mu      sync.Mutex
	stopped bool
	prev    int
	sample  []metrics.Sample
}

// gcSentinel is the object whose finalizer runs after each collection.
type gcSentinel struct{ t *gcTuner }

// startGCTuner starts tuning and returns the function that stops it and
// puts back the GOGC it found. main runs it unless GOGC or GOMEMLIMIT is
// set in the environment, which then decide as usual. It changes the
// process's settings, so run does not: tests run many servers in one
// process.
func startGCTuner() (stop func()) {
	t := &gcTuner{sample: []metrics.Sample{
		{Name: "/gc/heap/live:bytes"}, {Name: "/gc/scan/stack:bytes"}, {Name: "/gc/scan/globals:bytes"},
	}}
	t.mu.Lock()
	t.prev = debug.SetGCPercent(t.percent())
	t.mu.Unlock()
	runtime.SetFinalizer(&gcSentinel{t: t}, (*gcSentinel).collected)
	return func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		if !t.stopped {
			t.stopped = true
			debug.SetGCPercent(t.prev)
		}
	}
}

// percent is gcPercent of what the last collection measured (Go's default
// when the runtime does not report it).
func (t *gcTuner) percent() int {
	metrics.Read(t.sample)
	for _, s := range t.sample {
		if s.Value.Kind() != metrics.KindUint64 {
			return 100
		}
	}
	return gcPercent(t.sample[0].Value.Uint64(), t.sample[1].Value.Uint64()+t.sample[2].Value.Uint64())
}

func (s *gcSentinel) collected() {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	debug.SetGCPercent(t.percent())
	runtime.SetFinalizer(s, (*gcSentinel).collected) // again after the next one
}
