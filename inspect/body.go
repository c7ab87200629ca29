package inspect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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
// whatever the caller's clock. When the request's context ends (the client
// went away, or hooklab cut off the requests still open at its shutdown
// deadline), the read ends at once, so that what arrived can be recorded
// before the store closes.
type PacedBody struct {
	ctx   context.Context
	r     io.ReadCloser
	rc    *http.ResponseController
	start time.Time
	grace time.Duration
	n     int64
	set   time.Time // the deadline last set
	stop  func() bool
}

// NewPacedBody paces r, the body of the request whose context is ctx and
// whose connection rc controls. Call Done when the read is over.
func NewPacedBody(ctx context.Context, r io.ReadCloser, rc *http.ResponseController, grace time.Duration) *PacedBody {
	p := &PacedBody{ctx: ctx, r: r, rc: rc, start: time.Now(), grace: grace}
	p.set = p.start.Add(grace)
	_ = rc.SetReadDeadline(p.set)
	p.stop = context.AfterFunc(ctx, func() { _ = rc.SetReadDeadline(time.Now()) })
	return p
}

func (p *PacedBody) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if d := p.start.Add(p.grace + time.Duration(p.n/MinBodyRate)*time.Second); d.Sub(p.set) >= time.Second {
		p.set = d // moved on by a second or more: worth a call
		_ = p.rc.SetReadDeadline(d)
		if p.ctx.Err() != nil {
			// The request was cut off meanwhile: the deadline just moved
			// must not undo the one that ends the read.
			_ = p.rc.SetReadDeadline(time.Now())
		}
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		// Before the pace's deadline, the context's end set one now. (A
		// read that times out also ends the request's context: not that.)
		if p.ctx.Err() != nil && time.Now().Before(p.set) {
			return n, fmt.Errorf("the request ended before its body did: %w", context.Cause(p.ctx))
		}
		err = &bodyTimeout{err: err, n: p.n, took: time.Since(p.start).Round(time.Millisecond), grace: p.grace}
	}
	return n, err
}

func (p *PacedBody) Close() error { return p.r.Close() }

// Pause stops the pace's clock while the caller waits before it reads on
// (for a place to hold a large body in): a body that waits is not slow, and
// nothing is read meanwhile, so TCP holds the sender back. The connection
// has no read deadline until Resume; the context's end still ends the
// read at once.
func (p *PacedBody) Pause() time.Time {
	_ = p.rc.SetReadDeadline(time.Time{})
	if p.ctx.Err() != nil {
		_ = p.rc.SetReadDeadline(time.Now())
	}
	return time.Now()
}

// Resume starts the pace's clock again after a Pause that returned at:
// the time since does not count against the body.
func (p *PacedBody) Resume(at time.Time) {
	p.start = p.start.Add(time.Since(at))
	p.set = p.start.Add(p.grace + time.Duration(p.n/MinBodyRate)*time.Second)
	_ = p.rc.SetReadDeadline(p.set)
	if p.ctx.Err() != nil {
		_ = p.rc.SetReadDeadline(time.Now())
	}
}

// Done ends the pacing. After a read that succeeded (ok) the connection
// has no read deadline again; after a failure the deadline stays, so that
// the server gives up on the rest of the body at once rather than wait to
// discard it.
func (p *PacedBody) Done(ok bool) {
	p.stop()
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
