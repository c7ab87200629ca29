package emit

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestWorkersReuse: a job run after another finished goes to the idle
// worker instead of a new goroutine; jobs that overlap each get one; close
// waits for a busy worker and ends idle ones.
func TestWorkersReuse(t *testing.T) {
	p := newWorkers()
	started := p.spawned.Load
	ran := make(chan struct{})
	for range 10 {
		p.run(func() { ran <- struct{}{} })
		<-ran
		// Let the worker get back to waiting for a job.
		deadline := time.Now().Add(5 * time.Second)
		for !p.idleNow() && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(10 * time.Millisecond) // from counting itself idle to waiting in its select
	}
	// One each would be 10. A box that stalls the idle worker between
	// counting itself idle and its select for over 10 ms may cost one more.
	if got := started(); got > 2 {
		t.Fatalf("10 jobs one after another started %d workers, want 1 (2 at most)", got)
	}
	before := started()

	var wg sync.WaitGroup
	release := make(chan struct{})
	var n atomic.Int64
	for range 4 {
		wg.Add(1)
		p.run(func() { defer wg.Done(); n.Add(1); <-release })
	}
	if got := started() - before; got < 4-before {
		t.Fatalf("4 overlapping jobs started %d workers beside the %d idle, want %d", got, before, 4-before)
	}
	closed := make(chan struct{})
	go func() { p.close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("close returned while jobs were running")
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	wg.Wait()
	select {
	case <-closed:
	case <-time.After(5 * time.Second):
		t.Fatal("close did not return once the jobs ended")
	}
	if n.Load() != 4 {
		t.Fatalf("%d of 4 jobs ran", n.Load())
	}
}
