package emit

import (
	"sync"
	"sync/atomic"
	"time"
)

// workers runs attempts on goroutines it keeps for a while once they are
// idle. An attempt goes deep through net/http, the signer and SQLite: a
// fresh goroutine per attempt grew its stack by copying several times,
// every time (runtime.newstack was ~3% of the emitter's CPU in bench
// emit); a kept one has grown already.
type workers struct {
	jobs chan func()   // unbuffered: a send succeeds only when one is idle
	stop chan struct{} // closed by close: idle workers return
	once sync.Once
	wg   sync.WaitGroup

	spawned atomic.Int64 // goroutines started
	idle    atomic.Int32 // goroutines waiting for a job
}

// workerIdle is how long a worker waits for another attempt before it
// returns.
const workerIdle = 10 * time.Second

func newWorkers() *workers {
	return &workers{jobs: make(chan func()), stop: make(chan struct{})}
}

// run runs f on an idle worker, or on a new one when none is idle.
func (p *workers) run(f func()) {
	select {
	case p.jobs <- f:
	default:
		p.wg.Add(1)
		p.spawned.Add(1)
		go p.work(f)
	}
}

func (p *workers) work(f func()) {
	defer p.wg.Done()
	t := time.NewTimer(workerIdle)
	defer t.Stop()
	for {
		f()
		f = nil // not kept alive while idle
		t.Reset(workerIdle)
		p.idle.Add(1)
		select {
		case f = <-p.jobs:
			p.idle.Add(-1)
		case <-t.C:
			p.idle.Add(-1)
			return
		case <-p.stop:
			p.idle.Add(-1)
			return
		}
	}
}

// idleNow reports whether a worker waits for a job.
func (p *workers) idleNow() bool { return p.idle.Load() > 0 }

// close makes idle workers return, and waits for every worker to return
// (those busy finish what they run first).
func (p *workers) close() {
	p.once.Do(func() { close(p.stop) })
	p.wg.Wait()
}
