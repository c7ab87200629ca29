// Package heaptest measures how far the live heap rises while a test does
// something, for tests that bound the memory a request may take (a
// decompression bomb, many bodies at once).
package heaptest

import (
	"runtime"
	"runtime/metrics"
	"sync"
	"time"
)

// Rise collects garbage, then samples the live heap every millisecond
// until stop is called, which returns how far it rose above where it was
// at the start. The heap is the process's: what other goroutines allocate
// meanwhile counts too, so bounds want room for it.
func Rise() (stop func() uint64) {
	runtime.GC()
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	start := s[0].Value.Uint64()
	done := make(chan struct{})
	var peak uint64
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			metrics.Read(s)
			peak = max(peak, s[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return max(peak, start) - start
	}
}
