package proxy

import (
	"sync"
	"sync/atomic"

	"github.com/hooklab/hooklab/inspect"
)

// LargeBody is the size up to which a body is recorded as it passes. The
// record of one that grows past it (a request's or an answer's) first
// takes its places (LargeBodyBudget); a body that gets none passes whole
// all the same, and is recorded cut at LargeBody.
const LargeBody = inspect.LargeBody

// LargeBodyBudget bounds the MaxBody bytes that a proxy's records of large
// bodies hold at once, from the first byte past LargeBody until their
// exchange is handed to Record: without it, 200 clients posting 6 MB each
// through a proxy took hooklab to 5 GB (0.33 GB with it). It is cut into
// LargeBodyPlaces places of 16 MiB, and each body past LargeBody takes as
// many as MaxBody needs (one under the default 10 MiB: 16 bodies at once).
//
// A body takes its places only when they are free, and never waits for
// them: an exchange holds its places until it is recorded, so a stream
// (server-sent events, a long download, an upload answered by one) may
// hold them for as long as it lasts, and the traffic of others must not
// wait on that. A body that gets none is recorded cut at LargeBody,
// marked truncated with the reason in its Meta (cutReason).
const LargeBodyBudget = inspect.LargeBodyBudget

// LargeBodyPlaces is how many places LargeBodyBudget is cut into.
const LargeBodyPlaces = inspect.LargeBodyPlaces

// cutReason says why a body past LargeBody was recorded cut there (in the
// exchange's Meta, as request_body or response_body).
const cutReason = "recorded to 64 KiB: no room to record it whole (a proxy records at most 256 MiB of large bodies at once); the body itself passed whole"

// holder is the places that one exchange's recorded bodies hold, from the
// first take until the exchange is recorded (release), shared by its
// request and its answer. A body takes only once it grows past LargeBody,
// so a small exchange never locks it.
type holder struct {
	p *Reverse

	// used is set before a first take, by a body whose record has not
	// been made (under its tee's lock, which making the record takes
	// after): release skips the lock of an exchange that never took.
	used atomic.Bool

	mu       sync.Mutex
	held     int
	released bool // the exchange is recorded: no more takes
}

// take takes the places a body past LargeBody needs if they are free, and
// reports whether it did. A released holder gives none.
func (h *holder) take() bool {
	h.used.Store(true)
	n := inspect.LargeBodyPlacesFor(h.p.opts.MaxBody)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return false
	}
	for i := range n {
		select {
		case h.p.large <- struct{}{}:
		default:
			h.p.giveBack(i)
			return false
		}
	}
	h.held += n
	return true
}

// release gives back the places held, and refuses any take from now on.
// It may be called more than once.
func (h *holder) release() {
	if !h.used.Load() {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.released = true
	h.p.giveBack(h.held)
	h.held = 0
}

// giveBack gives n places back.
func (p *Reverse) giveBack(n int) {
	for range n {
		<-p.large
	}
}
