package main

import (
	"context"
	"math"
	"runtime/metrics"
	"testing"
	"time"
)

func TestNextGCMode(t *testing.T) {
	for _, c := range []struct {
		cur  gcMode
		live uint64
		want gcMode
	}{
		{gcAtLimit, 4 << 20, gcAtLimit},
		{gcAtLimit, gcLimit / 2, gcAtLimit},
		{gcAtLimit, gcLimit/2 + 1, gcByPercent},
		{gcAtLimit, 1 << 30, gcByPercent},
		{gcByPercent, gcLimit / 2, gcByPercent}, // between a quarter and a half: stays
		{gcByPercent, gcLimit / 4, gcByPercent},
		{gcByPercent, gcLimit/4 - 1, gcAtLimit},
	} {
		if got := nextGCMode(c.cur, c.live); got != c.want {
			t.Errorf("nextGCMode(%v, %d) = %v, want %v", c.cur, c.live, got, c.want)
		}
	}
}

// TestTuneGC checks the process's settings while the tuner runs and after
// it stops, through the runtime's own metrics.
func TestTuneGC(t *testing.T) {
	read := func() (gogc, limit uint64) {
		s := []metrics.Sample{{Name: "/gc/gogc:percent"}, {Name: "/gc/gomemlimit:bytes"}}
		metrics.Read(s)
		return s[0].Value.Uint64(), s[1].Value.Uint64()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { tuneGC(ctx, 10*time.Millisecond); close(done) }()
	deadline := time.Now().Add(5 * time.Second)
	for {
		gogc, limit := read()
		if gogc == math.MaxUint64 && limit == gcLimit {
			break // GOGC off reads as -1
		}
		if time.Now().After(deadline) {
			t.Fatalf("while tuning: gogc %d, limit %d; want %d (off) and %d", gogc, limit, uint64(math.MaxUint64), gcLimit)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
	if gogc, limit := read(); gogc != 100 || limit != math.MaxInt64 {
		t.Fatalf("after tuning: gogc %d, limit %d; want Go's defaults 100 and %d", gogc, limit, int64(math.MaxInt64))
	}
}
