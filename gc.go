package main

import (
	"context"
	"math"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// gcLimit is the memory the Go runtime may use before it collects, while
// the live heap is small. hooklab's live heap is a few MB while every
// request allocates, so Go's default GOGC=100 collects every few MB: ~27
// collections a second when proxying 7k requests/s, each with two
// stop-the-world pauses and a mark phase that takes CPU from requests.
// Collecting at a fixed total instead (GOGC off, this soft memory limit)
// runs a tenth as many collections and keeps the resident size steady at
// about this much plus SQLite's caches.
const gcLimit = 64 << 20

// gcMode is how the tuner has set the collector.
type gcMode int

const (
	gcAtLimit   gcMode = iota // GOGC off, collect at gcLimit
	gcByPercent               // Go's default, GOGC=100, no limit
)

// nextGCMode switches to Go's default when the live heap passes half the
// limit (collecting at the limit would then run nearly back to back), and
// back once it is under a quarter again.
func nextGCMode(cur gcMode, live uint64) gcMode {
	switch {
	case cur == gcAtLimit && live > gcLimit/2:
		return gcByPercent
	case cur == gcByPercent && live < gcLimit/4:
		return gcAtLimit
	}
	return cur
}

func setGCMode(m gcMode) {
	if m == gcAtLimit {
		debug.SetMemoryLimit(gcLimit)
		debug.SetGCPercent(-1)
		return
	}
	debug.SetGCPercent(100)
	debug.SetMemoryLimit(math.MaxInt64)
}

// tuneGC collects at gcLimit while the live heap, read every interval, is
// small, and as Go does by default while it is not, until ctx ends. main
// runs it unless GOGC or GOMEMLIMIT is set in the environment, which then
// decide as usual. It changes the process's settings, so run does not start
// it: tests run many servers in one process.
func tuneGC(ctx context.Context, every time.Duration) {
	sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
	mode := gcAtLimit
	setGCMode(mode)
	defer setGCMode(gcByPercent)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		metrics.Read(sample)
		if sample[0].Value.Kind() != metrics.KindUint64 {
			return // not this Go's metric: back to the default
		}
		if m := nextGCMode(mode, sample[0].Value.Uint64()); m != mode {
			setGCMode(m)
			mode = m
		}
	}
}
