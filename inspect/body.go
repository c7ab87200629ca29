package inspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// MinBodyRate is the pace a request body read through a [PacedBody] must
// keep after its grace period.
const MinBodyRate = 64 << 10 // bytes a second

// PacedBody reads a request body under a read deadline that moves with
// it: a grace period from the start, plus a second for each MinBodyRate
// bytes that arrived. A body that stops, or trickles below that pace,
// fails with a timeout saying so, so that a client cannot hold a
// connection (and a --max-conns slot) for as long as it likes. Real time,
// whatever the caller's clock. When its [Pacer]'s context ends (hooklab
// cut off the requests still open at its shutdown deadline), the read ends
// at once, so that what arrived can be recorded before the store closes.
// (A client that goes away ends the read itself.)
type PacedBody struct {
	pacer *Pacer
	r     io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	n     int64
	set   time.Time // the deadline last set
	done  bool
}

// A Pacer makes the PacedBodies of one server's requests, and cuts off
// the reads of those still coming when its context ends. One context for
// all of them, rather than an AfterFunc on each request's: that cost
// about 2% of a capture's CPU.
type Pacer struct {
	ctx   context.Context
	grace time.Duration
	cut   atomic.Bool
	mu    sync.Mutex
	open  map[*PacedBody]struct{}
}

// NewPacer returns a Pacer whose bodies get grace and then a second for
// each MinBodyRate bytes, and whose reads end at once when ctx does (nil:
// never).
func NewPacer(ctx context.Context, grace time.Duration) *Pacer {
	p := &Pacer{ctx: ctx, grace: grace, open: make(map[*PacedBody]struct{})}
	if ctx != nil {
		context.AfterFunc(ctx, p.cutOff)
	}
	return p
}

func (p *Pacer) cutOff() {
	p.cut.Store(true) // before the deadlines: see PacedBody.setDeadline
	p.mu.Lock()
	defer p.mu.Unlock()
	for b := range p.open {
		_ = b.rc.SetReadDeadline(time.Now())
	}
}

// Body paces r, the body of a request whose connection rc controls. Call
// Done when the read is over.
func (p *Pacer) Body(r io.ReadCloser, rc *http.ResponseController) *PacedBody {
	b := &PacedBody{pacer: p, r: r, rc: rc, start: time.Now(), grace: p.grace}
	p.mu.Lock()
	p.open[b] = struct{}{}
	p.mu.Unlock()
	b.setDeadline(b.start.Add(b.grace))
	return b
}

// setDeadline sets the read deadline to d, unless the pacer has cut the
// reads off: a deadline moved on must not undo the one that ends them.
func (p *PacedBody) setDeadline(d time.Time) {
	p.set = d
	_ = p.rc.SetReadDeadline(d)
	if p.pacer.cut.Load() {
		_ = p.rc.SetReadDeadline(time.Now())
	}
}

func (p *PacedBody) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if d := p.start.Add(p.grace + time.Duration(p.n/MinBodyRate)*time.Second); d.Sub(p.set) >= time.Second {
		p.setDeadline(d) // moved on by a second or more: worth a call
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// Before the pace's deadline, the cut-off set one now.
		if p.pacer.cut.Load() && time.Now().Before(p.set) {
			return n, fmt.Errorf("the request ended before its body did: %w", context.Cause(p.pacer.ctx))
		}
		err = &bodyTimeout{err: err, n: p.n, took: time.Since(p.start).Round(time.Millisecond), grace: p.grace}
	}
	return n, err
}

func (p *PacedBody) Close() error { return p.r.Close() }

// Pause stops the pace's clock while the caller waits before it reads on
// (for a place to hold a large body in): a body that waits is not slow, and
// nothing is read meanwhile, so TCP holds the sender back. The connection
// has no read deadline until Resume; the pacer's cut-off still ends the
// read at once.
func (p *PacedBody) Pause() time.Time {
	_ = p.rc.SetReadDeadline(time.Time{})
	if p.pacer.cut.Load() {
		_ = p.rc.SetReadDeadline(time.Now())
	}
	return time.Now()
}

// Resume starts the pace's clock again after a Pause that returned at:
// the time since does not count against the body.
func (p *PacedBody) Resume(at time.Time) {
	p.start = p.start.Add(time.Since(at))
	p.setDeadline(p.start.Add(p.grace + time.Duration(p.n/MinBodyRate)*time.Second))
}

// Done ends the pacing. After a read that succeeded (ok) the connection
// has no read deadline again; after a failure the deadline stays, so that
// the server gives up on the rest of the body at once rather than wait to
// discard it. Calls after the first do nothing: a caller defers one, so
// that a panic cannot leave its body to a cut-off after its response is
// gone.
func (p *PacedBody) Done(ok bool) {
	if p.done {
		return
	}
	p.done = true
	p.pacer.mu.Lock()
	delete(p.pacer.open, p)
	p.pacer.mu.Unlock()
	if ok {
		_ = p.rc.SetReadDeadline(time.Time{})
	}
}

// bodyTimeout is the error of a body that did not keep coming.
type bodyTimeout struct {
	err         error
	n           int64
	took, grace time.Duration
}

func (e *bodyTimeout) Error() string {
	return fmt.Sprintf("the request body stopped coming: %d bytes in %v (a body gets %v, and a second more for each 64 KiB that arrives)", e.n, e.took, e.grace)
}
func (e *bodyTimeout) Unwrap() error   { return e.err }
func (e *bodyTimeout) Timeout() bool   { return true }
func (e *bodyTimeout) Temporary() bool { return false }

// Large bodies are bounded alike where they are held whole: the capture's
// request bodies (package mock) and the proxy's records (package proxy).
// A body that grows past LargeBody takes places of LargeBodyBudget, cut
// into LargeBodyPlaces places of 16 MiB, before it grows on; each package
// says what a body that finds none does.
const (
	LargeBody       = 64 << 10
	LargeBodyBudget = 256 << 20
	LargeBodyPlaces = 16
)

// LargeBodyPlacesFor is how many places a body kept up to limit bytes
// takes: as many as limit needs, at least one, at most all.
func LargeBodyPlacesFor(limit int64) int {
	const place = LargeBodyBudget / LargeBodyPlaces
	n := limit / place
	if limit%place != 0 {
		n++
	}
	return int(min(max(n, 1), LargeBodyPlaces))
}
