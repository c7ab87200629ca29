package proxy

import (
	"sync"

	"github.com/hooklab/hooklab/inspect"
)

// maxRecorders is how many Record calls run at once. A store that batches
// its writes (inspect.SQLite) commits what these hand it together.
const maxRecorders = 512

// recorder hands exchanges to Record off the request's path: a queue
// bounded in count and bytes, drained by up to maxRecorders goroutines
// that start when there is work and end when there is none. When the queue
// is full, add waits for room: a store slower than the traffic slows the
// traffic instead of filling memory.
type recorder struct {
	store func(*inspect.Exchange)

	mu      sync.Mutex
	room    *sync.Cond
	queue   []pendingExchange
	n, max  int   // exchanges queued or being stored
	b, maxB int64 // their StoredBytes
	workers int
}

type pendingExchange struct {
	ex   *inspect.Exchange
	size int64
}

func newRecorder(opts Options, store func(*inspect.Exchange)) *recorder {
	r := &recorder{store: store, max: opts.MaxPending, maxB: opts.MaxPendingBytes}
	r.room = sync.NewCond(&r.mu)
	return r
}

// add queues ex, waiting while the queue is full. One exchange larger
// than the byte bound alone goes through when nothing else is pending.
func (r *recorder) add(ex *inspect.Exchange) {
	size := ex.StoredBytes()
	r.mu.Lock()
	for r.n >= r.max || (r.n > 0 && r.b+size > r.maxB) {
		r.room.Wait()
	}
	r.n++
	r.b += size
	r.queue = append(r.queue, pendingExchange{ex, size})
	if r.workers < maxRecorders {
		r.workers++
		go r.work()
	}
	r.mu.Unlock()
}

func (r *recorder) work() {
	r.mu.Lock()
	for len(r.queue) > 0 {
		p := r.queue[0]
		r.queue[0] = pendingExchange{}
		r.queue = r.queue[1:]
		r.mu.Unlock()
		r.store(p.ex)
		r.mu.Lock()
		r.n--
		r.b -= p.size
		r.room.Broadcast()
	}
	r.workers--
	if cap(r.queue) > 1024 && r.n == 0 {
		r.queue = nil // let a burst's backing array go
	}
	r.mu.Unlock()
}
