package emit

import (
	"bytes"
	"container/heap"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// lane delivers the invocations of one webhook, up to Concurrency attempts
// at once, and holds due ones while the webhook is rate limited
// (throttled) or its circuit is open (circuit_broken). Each webhook has its
// own lane, so one never waits for another.
//
// The database is the queue; the lane keeps a bounded copy of it in
// memory. Invocations are handed to the lane once they are written (see
// offer), and retries come back to it once recorded, so that in the steady
// state the lane never reads the queue from disk. When the copy may be
// incomplete — at start, after more than memQueueCap invocations wait, a
// retry that does not fit, a redelivery — the lane drops its copy and reads
// due invocations from the database, as before, until the database holds
// none that the lane does not know of; then it takes hand-overs again.
type lane struct {
	e      *Emitter
	id     string
	wakeC  chan struct{}
	ctx    context.Context // ends when the lane is retired or Run ends
	cancel context.CancelFunc
	// stopWatch drops the wait that publishes the webhook when its open
	// circuit's cool-down ends (see watchCooldownLocked); e.mu guards it.
	stopWatch context.CancelFunc

	// A webhook removed from the config and added back gets a new lane
	// while the old one's attempts may still be sending. prev is that
	// older lane: this one starts once prev is idle (its run ended, its
	// attempts finished, and so did its own prev's), so that it never reads
	// an invocation still in flight there as due and sends it twice.
	prev     *lane
	attempts sync.WaitGroup // this lane's attempts in flight
	ran      chan struct{}  // closed when run returns (or never starts)
	idle     chan struct{}  // closed once retired, ran closed, attempts done, prev idle

	mu       sync.Mutex
	inflight map[string]int64 // dispatched and not yet committed: spills when taken
	spills   int64            // calls of spill
	sending  int              // attempts whose HTTP exchange is under way
	held     int              // attempts whose records wait for the database to take them
	mem      invHeap          // queued invocations by due time (memory mode)
	fromDB   bool             // the database may hold queued invocations mem lacks
	refused  int64            // hand-overs refused while fromDB
	reads    int64            // database reads of the queue started

	def *Webhook // the definition the limiter and breaker follow
	// limiter is set by the lane's goroutine alone, with mu held, so that
	// others read it with mu held (see rateUntil).
	limiter *rate.Limiter
	brk     *breaker
	buf     []*Invocation // due invocations read from the database (fromDB)
	// marked is the waiting status last written, at markedAt, after
	// markedArrivals arrivals.
	marked         string
	markedAt       time.Time
	markedArrivals int64
	// lastNow is the time the last pass read: a later one reading an
	// earlier time saw the clock set back.
	lastNow  time.Time
	arrivals atomic.Int64 // invocations queued or requeued for this webhook
}

// memQueueCap bounds the invocations a lane keeps in memory; beyond it the
// queue stays on disk only.
const memQueueCap = 1024

// invHeap is a min-heap of invocations by due time, and by id (the order
// they were made in) among those due at once: the events of one batch go
// in their order.
type invHeap []*Invocation

func (h invHeap) Len() int { return len(h) }
func (h invHeap) Less(i, j int) bool {
	if c := h[i].nextAt.Compare(h[j].nextAt); c != 0 {
		return c < 0
	}
	return h[i].ID < h[j].ID
}
func (h invHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *invHeap) Push(x any)   { *h = append(*h, x.(*Invocation)) }
func (h *invHeap) Pop() any {
	old := *h
	n := len(old)
	x := old[n-1]
	old[n-1] = nil
	*h = old[:n-1]
	return x
}

// startLaneLocked starts the lane of webhook id. e.mu is held. A new lane
// reads the database first: it may hold queued invocations.
func (e *Emitter) startLaneLocked(id string) {
	ctx, cancel := context.WithCancel(e.runCtx)
	l := &lane{e: e, id: id, wakeC: make(chan struct{}, 1), ctx: ctx, cancel: cancel, inflight: map[string]int64{}, brk: newBreaker(Breaker{}), fromDB: true,
		prev: e.retired[id], ran: make(chan struct{}), idle: make(chan struct{})}
	delete(e.retired, id)
	e.lanes[id] = l
	e.laneWG.Add(1)
	go func() {
		defer e.laneWG.Done()
		defer close(l.ran)
		if l.prev != nil {
			select {
			case <-l.prev.idle:
			case <-ctx.Done():
				return
			}
		}
		l.run(ctx)
	}()
}

// retireLocked stops lane l, whose webhook is gone. e.mu is held. It stays
// the webhook's retired lane, which a new lane for the same id waits for,
// until it is idle. When the webhook is still gone orphanGrace later, its
// queued invocations fail (they would wait forever, and go to whatever
// webhook takes the id next); an edit that drops it for a moment, or an
// editor that empties the file before writing it, loses nothing.
func (e *Emitter) retireLocked(l *lane) {
	l.cancel()
	delete(e.lanes, l.id)
	e.retired[l.id] = l
	e.removed[l.id]++
	gen := e.removed[l.id] // a later removal starts its own grace
	runCtx := e.runCtx
	go func() {
		<-l.ran
		l.attempts.Wait()
		if l.prev != nil {
			<-l.prev.idle
		}
		close(l.idle)
		e.mu.Lock()
		if e.retired[l.id] == l {
			delete(e.retired, l.id)
		}
		e.mu.Unlock()
		if runCtx == nil {
			return
		}
		if !e.waitFor(runCtx, orphanGrace) {
			return
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		if e.removed[l.id] == gen && e.lanes[l.id] == nil && e.snap.Load().hooks[l.id] == nil && !e.stopped {
			e.failOrphansLocked(runCtx, l.id)
		}
	}()
}

// waitFor waits d by the clock, reporting false when ctx ends first. A
// wait woken early, as the clock was set back, goes on: for what it had
// left, or d from the time it was set back to if that is sooner.
func (e *Emitter) waitFor(ctx context.Context, d time.Duration) bool {
	end := e.clock.Now().Add(d)
	for {
		at, release := e.clock.At(end)
		select {
		case <-ctx.Done():
			release()
			return false
		case <-at:
		}
		release()
		now := e.clock.Now()
		if !now.Before(end) {
			return true
		}
		if end.Sub(now) > d {
			end = now.Add(d)
		}
	}
}

// orphanGrace is how long the queue of a webhook removed from the config
// waits for it to come back.
const orphanGrace = time.Minute

func (l *lane) poke() {
	select {
	case l.wakeC <- struct{}{}:
	default:
	}
}

// readsStarted returns how many database reads of the queue the lane has
// started; a writer takes it before writing invocations it will offer.
func (l *lane) readsStarted() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.reads
}

// offer hands over invocations just written to the database as queued;
// reads is readsStarted from before the write. They are kept in memory
// unless the lane reads the database anyway or they do not fit; either way
// the lane will find them. When the lane started a database read since
// the write began, that read may have found them already: the lane then
// reads the database again instead of keeping a second copy.
func (l *lane) offer(invs []*Invocation, reads int64) {
	l.mu.Lock()
	if l.reads != reads && !l.fromDB {
		l.spillLocked()
	} else {
		l.offerLocked(invs)
	}
	l.mu.Unlock()
	l.arrivals.Add(int64(len(invs)))
	l.poke()
}

func (l *lane) offerLocked(invs []*Invocation) {
	switch {
	case l.fromDB:
		l.refused++
	case len(l.mem)+len(invs) > memQueueCap:
		l.spillLocked()
	default:
		for _, inv := range invs {
			heap.Push(&l.mem, inv)
		}
	}
}

// spill makes the lane read the database: invocations were queued there
// without a hand-over (a redelivery).
func (l *lane) spill() {
	l.mu.Lock()
	l.spills++
	l.spillLocked()
	l.mu.Unlock()
	l.arrivals.Add(1)
	l.poke()
}

func (l *lane) spillLocked() {
	if !l.fromDB {
		l.fromDB = true
		clear(l.mem)
		l.mem = l.mem[:0]
	}
	l.refused++
}

// done ends an attempt of inv: it leaves the in-flight set and, when it is
// to be retried, returns to the memory queue. Both happen at once, so that
// a database read never misses it (see run).
//
// A redelivery may queue inv again in the database between the commit of
// its attempt and done; a read of the queue meanwhile skips it, as in
// flight. So when a spill came during the attempt, the lane reads the
// database once more now that inv has left the set.
func (l *lane) done(inv *Invocation, requeue bool) {
	l.mu.Lock()
	if l.inflight[inv.ID] != l.spills {
		l.spillLocked()
	}
	delete(l.inflight, inv.ID)
	if requeue {
		l.offerLocked([]*Invocation{inv})
	}
	l.mu.Unlock()
	l.poke()
}

// hold counts attempts whose records wait for space (d is 1 or -1); while
// any waits, the lane starts no attempt, since it could not record it.
func (l *lane) hold(d int) {
	l.mu.Lock()
	l.held += d
	l.mu.Unlock()
	l.poke()
}

// sleep waits for ctx, a poke, or the time until (none when zero).
func (l *lane) sleep(ctx context.Context, until time.Time) {
	var tc <-chan time.Time
	if !until.IsZero() {
		c, stop := l.e.clock.At(until)
		defer stop()
		tc = c
	}
	select {
	case <-ctx.Done():
	case <-l.wakeC:
	case <-tc:
	}
}

// follow adapts the limiter and breaker to a new definition. A lane's
// first limiter starts from the bucket its attempts left in the database,
// so that a restart lets no burst through; later ones start full.
func (l *lane) follow(ctx context.Context, w *Webhook) {
	if l.def == w {
		return
	}
	old := l.def
	l.def = w
	if r := w.RateLimit; r == nil {
		l.setLimiter(nil)
	} else if old == nil || old.RateLimit == nil || *old.RateLimit != *r || l.limiter == nil {
		prev := l.limiter
		per := time.Duration(r.Window) / time.Duration(r.Limit)
		l.setLimiter(rate.NewLimiter(rate.Every(per), r.Limit)) // starts full
		switch {
		case old == nil:
			l.restoreRate(ctx)
		case prev != nil:
			// A changed limit keeps the tokens left (at most its new
			// burst): lowering it must not send a burst.
			now := l.e.clock.Now()
			l.takeDownTo(prev.TokensAt(now), now)
		}
	}
	var b Breaker
	if w.Breaker != nil {
		b = *w.Breaker
	}
	now := l.e.clock.Now()
	was, wasUntil := l.brk.status(now)
	wasOpen := l.brk.isOpen()
	l.brk.setConfig(b)
	if old == nil {
		l.restoreBreaker(ctx)
	}
	if b.Disabled && (wasOpen || old == nil) {
		// Closed by disabling it (or one saved open before a restart,
		// not restored): a later restart must not open it again.
		if err := l.e.db.write(ctx, saveBreaker(l.id, time.Time{})); err != nil && ctx.Err() == nil {
			l.e.log.Error("save the circuit breaker's state", "webhook", l.id, "err", err)
		}
	}
	// A circuit restored open, or one a new cooldown (or disabled)
	// moved, is told: the change of the webhook was published before
	// its lane followed it.
	if c, until := l.brk.status(now); c != was || !until.Equal(wasUntil) {
		switch {
		case b.Disabled && wasOpen:
			l.e.logCircuit(w, "closed", "the circuit breaker was disabled", time.Time{})
		case old == nil && c == "open":
			l.e.logCircuit(w, c, "it was open when hooklab stopped", until)
		}
		l.e.circuitMoved(l)
	}
}

// logCircuit logs that the circuit of webhook w moved to state (open,
// half_open or closed) and why; until is the end of an open one's
// cool-down. Opening is a warning, the rest information.
func (e *Emitter) logCircuit(w *Webhook, state, why string, until time.Time) {
	name := w.Name
	if name == "" {
		name = w.ID
	}
	args := []any{"webhook", w.ID, "name", name, "reason", why}
	switch state {
	case "open":
		e.log.Warn("circuit breaker open: deliveries held until its cool-down ends", append(args, "until", until)...)
	case "half_open":
		e.log.Info("circuit breaker half-open", args...)
	default:
		e.log.Info("circuit breaker closed", args...)
	}
}

// tokenWait returns how long lim (nil: no rate limit) lets no attempt go
// from now, until its next token, and false when one may go now.
func tokenWait(lim *rate.Limiter, now time.Time) (time.Duration, bool) {
	if lim == nil {
		return 0, false
	}
	tokens := lim.TokensAt(now)
	if tokens >= 1 {
		return 0, false
	}
	return time.Duration((1 - tokens) / float64(lim.Limit()) * float64(time.Second)), true
}

func (l *lane) setLimiter(lim *rate.Limiter) {
	l.mu.Lock()
	l.limiter = lim
	l.mu.Unlock()
}

// rateUntil returns when the rate limit next lets an attempt go, when it
// lets none go at now (no tokens left), and false otherwise. It may be
// called from any goroutine.
func (l *lane) rateUntil(now time.Time) (time.Time, bool) {
	l.mu.Lock()
	lim := l.limiter
	l.mu.Unlock()
	wait, ok := tokenWait(lim, now)
	if !ok {
		return time.Time{}, false
	}
	// As run waits for it; to the millisecond, as the float arithmetic
	// leaves a nanosecond or so off a whole second.
	until := now.Add(wait).Round(time.Millisecond)
	if !until.After(now) {
		until = now.Add(time.Millisecond)
	}
	return until, true
}

// restoreBreaker opens the circuit if it was open when hooklab stopped:
// the cool-down goes on (or, past it, a probe goes first), instead of
// everything that waited going to the failing endpoint at once.
func (l *lane) restoreBreaker(ctx context.Context) {
	until, ok, err := l.e.db.loadBreaker(ctx, l.id)
	if err != nil {
		if ctx.Err() == nil {
			l.e.log.Error("read the circuit breaker's state", "webhook", l.id, "err", err)
		}
		return
	}
	if ok {
		l.brk.restore(until)
	}
}

// restoreRate takes from the new limiter what the saved bucket lacked.
func (l *lane) restoreRate(ctx context.Context) {
	st, ok, err := l.e.db.loadRate(ctx, l.id)
	if err != nil {
		if ctx.Err() == nil {
			l.e.log.Error("read the rate limit's state", "webhook", l.id, "err", err)
		}
		return
	}
	if !ok {
		return
	}
	// Empty the new bucket down to the saved level as of the saved time;
	// it refills from there. A time after now (the clock was set back
	// since) counts as now: the limiter would add nothing until the clock
	// passed it, and saves, which never replace a newer state, would keep
	// it that way.
	if now := l.e.clock.Now(); st.at.After(now) {
		st.at = now
		if err := l.e.db.write(ctx, replaceRate(l.id, st)); err != nil && ctx.Err() == nil {
			l.e.log.Error("reset the rate limit's state", "webhook", l.id, "err", err)
		}
	}
	l.takeDownTo(st.tokens, st.at)
}

// takeDownTo empties the (full) limiter down to tokens as of at (a whole
// token's rounding at most, in the webhook's favour).
func (l *lane) takeDownTo(tokens float64, at time.Time) {
	burst := l.limiter.Burst()
	if spent := min(int(math.Ceil(float64(burst)-tokens)), burst); spent > 0 {
		l.limiter.AllowN(at, spent)
	}
}

// rateAfter returns the limiter's state once an attempt took its token at
// now, for the attempt's records; nil without a limit.
func (l *lane) rateAfter(now time.Time) *rateState {
	if l.limiter == nil {
		return nil
	}
	return &rateState{tokens: l.limiter.TokensAt(now), at: now}
}

// maxUnrecorded is how many attempts of one webhook may wait for their
// records, beyond its concurrency.
func maxUnrecorded(conc int) int { return max(16*conc, 256) }

// busy reports whether the lane may not start another attempt: conc
// exchanges are under way, too many attempts wait for their commit, or
// records wait for space.
func (l *lane) busy(conc int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sending >= conc || len(l.inflight) >= maxUnrecorded(conc) || l.held > 0
}

// sent frees an HTTP slot: the attempt's exchange is over and only its
// records remain to be written.
func (l *lane) sent() {
	l.mu.Lock()
	l.sending--
	l.mu.Unlock()
	l.poke()
}

// markWaiting records that due invocations wait (throttled or
// circuit_broken): when the waiting starts, when invocations arrived since,
// and at most once a second otherwise (for retries that came due).
func (l *lane) markWaiting(ctx context.Context, status string, now time.Time) {
	arrivals := l.arrivals.Load()
	if l.marked == status && arrivals == l.markedArrivals && now.Sub(l.markedAt) < time.Second {
		return
	}
	l.marked, l.markedAt, l.markedArrivals = status, now, arrivals
	if err := l.e.db.markWaiting(ctx, l.id, status, now); err != nil && ctx.Err() == nil {
		l.e.log.Error("mark invocations", "webhook", l.id, "status", status, "err", err)
	}
}

// setBack follows the clock set back to now: the webhook's queued
// invocations wait what they had left to wait from now (see rebaseFuture),
// not until the clock is back where it was, and the memory queue, which
// holds their old times, is read from the database again.
func (l *lane) setBack(ctx context.Context, now time.Time) {
	if _, err := l.e.db.rebaseFuture(ctx, l.id, now); err != nil && ctx.Err() == nil {
		l.e.log.Error("move invocations queued before the clock was set back", "webhook", l.id, "err", err)
	}
	l.mu.Lock()
	l.spillLocked()
	l.mu.Unlock()
	l.marked = ""
}

// next returns the next due invocation without taking it, or nil and when
// to look again (zero: when poked).
func (l *lane) next(ctx context.Context, now time.Time) (*Invocation, time.Time) {
	l.mu.Lock()
	if !l.fromDB {
		defer l.mu.Unlock()
		if len(l.mem) == 0 {
			return nil, time.Time{}
		}
		if inv := l.mem[0]; !inv.nextAt.After(now) {
			return inv, time.Time{}
		}
		return nil, l.mem[0].nextAt
	}
	if len(l.buf) > 0 {
		l.mu.Unlock()
		return l.buf[0], time.Time{}
	}
	// The set is copied before the query: an attempt that ends during the
	// query was committed before its id left the set, so the query sees it
	// finished (or queued again) or the copy holds it.
	busy := make(map[string]bool, len(l.inflight))
	for id := range l.inflight {
		busy[id] = true
	}
	refused := l.refused
	l.reads++
	l.mu.Unlock()
	due, err := l.e.db.due(ctx, l.id, now, 256+len(busy), func(id string) bool { return busy[id] })
	if err != nil {
		if ctx.Err() == nil {
			l.e.log.Error("read queued invocations", "webhook", l.id, "err", err)
		}
		return nil, now.Add(time.Second)
	}
	if len(due) > 0 {
		l.buf = due
		return due[0], time.Time{}
	}
	l.marked = ""
	next, ok, err := l.e.db.nextDue(ctx, l.id, now)
	if err != nil {
		if ctx.Err() == nil {
			l.e.log.Error("read queued invocations", "webhook", l.id, "err", err)
		}
		return nil, now.Add(time.Second)
	}
	if ok {
		return nil, next
	}
	// Nothing queued on disk beyond what is in flight: from now on the
	// hand-overs are the whole queue, unless one was refused meanwhile.
	l.mu.Lock()
	if l.refused == refused {
		l.fromDB = false
	}
	l.mu.Unlock()
	return nil, now // look again at once
}

// take removes inv, returned by next, from the queue and marks it in
// flight. It reports false when inv left the queue meanwhile (a spill
// dropped the memory queue; the lane reads it from the database again).
func (l *lane) take(inv *Invocation) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	found := false
	if l.fromDB {
		if found = len(l.buf) > 0 && l.buf[0] == inv; found {
			l.buf = l.buf[1:]
		}
	} else {
		// An offer since next may have put another invocation on top.
		for i, x := range l.mem {
			if x == inv {
				heap.Remove(&l.mem, i)
				found = true
				break
			}
		}
	}
	if found {
		l.inflight[inv.ID] = l.spills
		l.sending++
	}
	return found
}

func (l *lane) run(ctx context.Context) {
	for ctx.Err() == nil {
		w := l.e.webhook(l.id)
		if w == nil {
			return
		}
		l.follow(ctx, w)
		if w.Status != StatusActive {
			l.mu.Lock()
			l.buf = nil
			l.mu.Unlock()
			// They wait for the webhook, not for its rate limit or its
			// circuit: pending, as the activity log should say.
			l.markWaiting(ctx, InvocationPending, l.e.clock.Now())
			l.sleep(ctx, time.Time{})
			continue
		}
		conc := w.Concurrency
		if conc <= 0 {
			conc = DefaultConcurrency
		}
		if l.busy(conc) {
			l.sleep(ctx, time.Time{})
			continue
		}
		now := l.e.clock.Now()
		if now.Before(l.lastNow) {
			l.setBack(ctx, now)
		}
		l.lastNow = now
		inv, until := l.next(ctx, now)
		if inv == nil {
			if until.Equal(now) {
				continue
			}
			l.marked = ""
			l.sleep(ctx, until)
			continue
		}
		if wait, ok := tokenWait(l.limiter, now); ok {
			l.markWaiting(ctx, InvocationThrottled, now)
			l.sleep(ctx, now.Add(max(wait, time.Millisecond)))
			continue
		}
		ok, probe, until, halfOpened := l.brk.admitMove(now)
		if halfOpened {
			l.e.logCircuit(w, "half_open", "the cool-down is over; one probe goes through", time.Time{})
		}
		if !ok {
			l.markWaiting(ctx, InvocationCircuitBroken, now)
			l.sleep(ctx, until)
			continue
		}
		l.marked = ""
		if ctx.Err() != nil || !l.take(inv) {
			// The lane was retired (its webhook is gone) since the pass
			// began, so no attempt with the old definition; or another
			// took inv. Nothing was spent.
			if probe {
				l.brk.cancelProbe()
			}
			continue
		}
		if l.limiter != nil {
			l.limiter.AllowN(now, 1)
		}
		rs := l.rateAfter(now)
		l.e.attempts.Add(1)
		l.attempts.Add(1)
		l.e.inflight.Add(1)
		l.e.workers.run(func() {
			requeue := false
			defer func() {
				l.done(inv, requeue)
				l.e.inflight.Add(-1)
				l.attempts.Done()
				l.e.attempts.Done()
			}()
			requeue = l.e.attemptQueued(w, inv, l, probe, rs)
		})
	}
}

// outcome is what one attempt came to.
type outcome struct {
	attempt Attempt
	res     result
	sent    inspect.Headers // request headers as sent, secrets redacted
	reqURL  string
	// cancelled: the attempt was stopped by shutdown; it does not count.
	cancelled bool
}

// attemptQueued makes one attempt of a queued invocation and records it:
// the exchange in the store, then the attempt row and the invocation's new
// state in the emitter's database (one transaction). It reports
// whether the invocation is queued again (a retry) and recorded, so that
// the lane keeps it.
//
// When the database cannot take the records (a full disk), the attempt is
// kept and written again every retryRecordEvery until it is, meanwhile the
// lane makes no attempt; so attempts made while the disk was full appear in
// the activity log once space returns. Only when the emitter closes first
// is such an attempt lost from the log; the invocation then stays queued as
// before the attempt and is attempted again at the next start.
func (e *Emitter) attemptQueued(w *Webhook, inv *Invocation, l *lane, probe bool, rs *rateState) bool {
	brk := l.brk
	n := inv.Attempts + 1
	out := e.do(e.attemptCtx, w, inv.request, inv.ID, inv.EventType, n, nil)
	l.sent()
	if out.cancelled {
		if probe {
			brk.cancelProbe()
		}
		// Not in the activity log, which would then show an attempt the
		// invocation does not count; the receiver may have it, though.
		e.log.Warn("attempt cut short by shutdown; "+e.afterShutdown(),
			"invocation", inv.ID, "webhook", w.ID, "attempt", n, "after", out.attempt.Duration.Round(time.Millisecond))
		return false
	}
	a := &out.attempt
	now := e.clock.Now()
	brkChanged, brkUntil, brkWhy := brk.record(now, a.Outcome != InvocationSuccess, probe)
	if brkChanged {
		state := "closed"
		if !brkUntil.IsZero() {
			state = "open"
		}
		e.logCircuit(w, state, brkWhy, brkUntil)
	}
	policy := w.Retry.withDefaults()
	retry, wait, reason := policy.decide(out.res, n-inv.retryBase, n, now, e.opts.Rand)
	prev := *inv
	inv.Attempts = n
	inv.StatusCode = a.StatusCode
	inv.UpdatedAt = now
	inv.Error = a.Error
	if a.Outcome != InvocationSuccess && inv.Error == "" && a.StatusCode != 0 {
		inv.Error = fmt.Sprintf("the endpoint answered %d %s", a.StatusCode, http.StatusText(a.StatusCode))
	}
	if reason != "" {
		if inv.Error != "" {
			inv.Error += "; "
		}
		inv.Error += reason
	}
	if retry {
		inv.queued, inv.nextAt, inv.Status = true, now.Add(wait), InvocationPending
	} else {
		inv.queued, inv.Status = false, a.Outcome
	}

	// The exchange is stored first, so that the attempt the activity log
	// shows links to an exchange that exists.
	if e.opts.Record != nil {
		ex := e.attemptExchange(w, inv, &out, false)
		if e.recordExchange(ex, inv.ID, l) {
			a.ExchangeID = ex.ID
		}
	}
	var applied, delivered bool
	rec := e.db.prepareFinish(inv, a, out.reqURL, out.sent, &applied, &delivered)
	if rs != nil {
		// The bucket as this attempt left it, with the attempt's records.
		finish, save := rec, saveRate(w.ID, *rs)
		rec = func(tx *sql.Tx) error {
			if err := finish(tx); err != nil || !applied { // !applied: the webhook is gone
				return err
			}
			return save(tx)
		}
	}
	if brkChanged {
		// The circuit opened or closed: saved with the attempt that
		// moved it, so that a restart honours the cool-down.
		finish, save := rec, saveBreaker(w.ID, brkUntil)
		rec = func(tx *sql.Tx) error {
			if err := finish(tx); err != nil || !applied {
				return err
			}
			return save(tx)
		}
	}
	ctx := context.WithoutCancel(e.attemptCtx)
	err := e.db.write(ctx, rec)
	if err != nil {
		e.log.Error("record attempt; keeping it until the database takes it", "invocation", inv.ID, "err", err)
		l.hold(1)
		err = e.retryRecord(ctx, rec)
		l.hold(-1)
	}
	if err != nil {
		e.log.Error("attempt not recorded: the emitter is closing; "+e.afterShutdown(),
			"invocation", inv.ID, "attempt", n, "err", err)
		*inv = prev
		l.spill()
		return false
	}
	if !applied && !delivered {
		// The invocation was no longer queued: its webhook was deleted.
		return false
	}
	if delivered {
		// Its webhook was deleted, which counted it failed; this attempt
		// delivered it, and it ends as any success does.
		e.counts.add(inv.WebhookID, InvocationFailed, -1)
	}
	e.counts.finished(inv.WebhookID, inv.Status, inv.queued)
	e.publish(inv)
	if brkChanged {
		// Told once the attempt that moved it is counted: the webhook's
		// stats in the message include it.
		e.circuitMoved(l)
	}
	if !inv.queued {
		e.announce(inv)
	}
	return inv.queued
}

// announce makes the delivery.succeeded or delivery.failed event of inv,
// which has ended: after its last attempt, or when it was made and could
// not be rendered. A delivery that such an event invoked makes none.
func (e *Emitter) announce(inv *Invocation) {
	if inv.depth != 0 {
		return
	}
	typ := EventDeliverySucceeded
	if inv.Status != InvocationSuccess {
		typ = EventDeliveryFailed
	}
	if !e.snap.Load().wants(typ) {
		return
	}
	data, _ := json.Marshal(deliveryEvent{Invocation: deliveryEventInvocation{
		ID: inv.ID, WebhookID: inv.WebhookID, EventID: inv.EventID, EventType: inv.EventType,
		Status: inv.Status, Attempts: inv.Attempts, StatusCode: inv.StatusCode, Error: inv.Error,
	}})
	e.push(queued{ev: Event{Type: typ, Data: data, Subject: "invocation:" + inv.ID, depth: 1}})
}

// deliveryEvent is the data of a delivery.succeeded or delivery.failed
// event.
type deliveryEvent struct {
	Invocation deliveryEventInvocation `json:"invocation"`
}

type deliveryEventInvocation struct {
	ID         string `json:"id"`
	WebhookID  string `json:"webhook_id"`
	EventID    string `json:"event_id"`
	EventType  string `json:"event_type"`
	Status     string `json:"status"`
	Attempts   int    `json:"attempts"`
	StatusCode int    `json:"status_code"`
	Error      string `json:"error"`
}

// retryRecordEvery is how often records the database refused are tried
// again.
const retryRecordEvery = 250 * time.Millisecond

// retryRecord writes op until the database takes it, or the emitter closes
// (attempts are cancelled).
func (e *Emitter) retryRecord(ctx context.Context, op func(tx *sql.Tx) error) error {
	t := time.NewTicker(retryRecordEvery)
	defer t.Stop()
	for {
		select {
		case <-e.attemptCtx.Done():
			return e.attemptCtx.Err()
		case <-t.C:
		}
		err := e.db.write(ctx, op)
		if err == nil || errors.Is(err, inspect.ErrClosed) {
			return err
		}
	}
}

// recordExchange stores ex, trying again while the store is full (as the
// attempt's own record does). It reports whether ex was stored.
func (e *Emitter) recordExchange(ex *inspect.Exchange, invID string, l *lane) bool {
	ctx := context.WithoutCancel(e.attemptCtx)
	err := e.opts.Record(ctx, ex)
	if err == nil {
		return true
	}
	if !errors.Is(err, inspect.ErrStoreFull) {
		e.log.Error("record attempt exchange", "invocation", invID, "err", err)
		return false
	}
	l.hold(1)
	defer l.hold(-1)
	t := time.NewTicker(retryRecordEvery)
	defer t.Stop()
	for {
		select {
		case <-e.attemptCtx.Done():
			e.log.Error("record attempt exchange", "invocation", invID, "err", err)
			return false
		case <-t.C:
		}
		if err = e.opts.Record(ctx, ex); err == nil {
			return true
		}
		if !errors.Is(err, inspect.ErrStoreFull) {
			e.log.Error("record attempt exchange", "invocation", invID, "err", err)
			return false
		}
	}
}

// record stores the attempt of a test send as an exchange and returns its
// id ("" when there is no recorder or it failed).
func (e *Emitter) record(w *Webhook, inv *Invocation, out *outcome, test bool) string {
	if e.opts.Record == nil {
		return ""
	}
	ex := e.attemptExchange(w, inv, out, test)
	if err := e.opts.Record(context.WithoutCancel(e.attemptCtx), ex); err != nil {
		e.log.Error("record attempt exchange", "invocation", inv.ID, "err", err)
		return ""
	}
	return ex.ID
}

// attemptExchange is the exchange (source emit) that records an attempt. A
// test send links to no invocation.
func (e *Emitter) attemptExchange(w *Webhook, inv *Invocation, out *outcome, test bool) *inspect.Exchange {
	a := &out.attempt
	ex := &inspect.Exchange{
		ID: e.ids.New(a.Time), Bin: w.ID, Source: inspect.SourceEmit, Time: a.Time, Duration: a.Duration,
		Request: inspect.Request{
			Method: inv.request.Method, URL: out.reqURL, Proto: "HTTP/1.1", Headers: out.sent,
			Body: inv.request.Body, Size: int64(len(inv.request.Body)),
		},
		Error: a.Error, Invocation: inv.ID, Attempt: a.N,
		Meta: map[string]any{"webhook": w.ID, "event_type": inv.EventType, "outcome": a.Outcome, "cause": inv.Cause},
	}
	if test {
		ex.Invocation, ex.Attempt = "", 0
		ex.Meta["test"] = true
	}
	if u, err := url.Parse(out.reqURL); err == nil {
		ex.Request.Host = u.Host
		ex.Request.TLS = u.Scheme == "https"
	}
	if r := a.Response; r != nil {
		ex.Response = &inspect.Response{Status: r.Status, Headers: r.Headers, Body: []byte(r.Body), Size: r.Size, Truncated: r.Truncated}
	}
	return ex
}

// do sends one attempt of req to w and reads the answer. invID is the
// invocation id (the signed message id); secrets, when set, sign instead
// of w's.
func (e *Emitter) do(ctx context.Context, w *Webhook, req storedRequest, invID, eventType string, n int, secrets []string) outcome {
	start := e.clock.Now()
	if req.Endpoint != "" && req.Endpoint != w.Endpoint {
		req.URL = rebase(req.URL, req.Endpoint, w.Endpoint)
	}
	// Recorded as sent: a fragment (an endpoint pasted from a browser's
	// address bar) goes to no server, and replay and /curl send a recorded
	// # on, as one a captured request line held.
	sent, _, _ := strings.Cut(req.URL, "#")
	out := outcome{attempt: Attempt{N: n, Time: start}, reqURL: sent}
	a := &out.attempt
	timeout := time.Duration(w.Timeout)
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	actx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(actx, req.Method, req.URL, bytes.NewReader(req.Body))
	if err != nil {
		a.Outcome, a.Error = InvocationFailed, "build request: "+err.Error()
		return out
	}
	// One backing array holds the values of the headers set here (each
	// in a slot of its own, capacity one, so that adding to one header
	// cannot overwrite another).
	vals := make([]string, 0, 8)
	set := func(name, value string) {
		vals = append(vals, value)
		hr.Header[name] = vals[len(vals)-1 : len(vals) : len(vals)]
	}
	hr.Header = make(http.Header, len(req.Headers)+12)
	for _, h := range req.Headers {
		// A rendered request holds its Content-Type and the custom
		// headers of then; those go as the webhook has them now (below),
		// so one removed since goes no more.
		if !req.current && !strings.EqualFold(h.Name, "Content-Type") {
			continue
		}
		hr.Header.Add(h.Name, h.Value)
	}
	// Custom headers as the webhook has them now, like its endpoint, auth
	// and signing: "fix the header, then redeliver" works.
	if !req.current {
		for name, v := range w.CustomHeaders {
			set(http.CanonicalHeaderKey(name), v)
		}
	}
	set("User-Agent", UserAgent)
	set(HeaderWebhook, w.ID)
	set(HeaderInvocation, invID)
	set(HeaderAttempt, strconv.Itoa(n))
	redact, auth := w.Authentication.header() // redact: the header holding a secret
	if redact != "" {
		set(redact, auth)
	}
	if s := w.Signing; s != nil && s.Scheme != SchemeNone && s.Scheme != "" {
		if secrets == nil {
			secrets = s.secrets(start)
		}
		sh, err := rules.Sign(s.Scheme, secrets, invID, start, req.Body)
		if err != nil {
			a.Outcome, a.Error = InvocationFailed, err.Error()
			out.sent = redactHeaders(hr.Header, redact, e.secretHeader)
			return out
		}
		for k, v := range sh {
			hr.Header[k] = v
		}
		if s.Scheme == rules.SchemeZendesk {
			// What Zendesk sends with every webhook request, besides the
			// signature: its account, the webhook and the invocation (the
			// same on every retry, for de-duplication).
			set(HeaderZendeskAccount, strconv.FormatInt(e.opts.AccountID, 10))
			set(HeaderZendeskWebhook, w.ID)
			set(HeaderZendeskInvocation, invID)
		}
		// What GitHub and Shopify send besides the signature, and what
		// their receivers' libraries require, spelt as they spell it;
		// custom headers of the same names win.
		provider := func(name, value string) {
			if hr.Header.Get(name) == "" {
				set(name, value)
			}
		}
		switch s.Scheme {
		case rules.SchemeGitHub:
			// The event's name (the event type as sent: push,
			// pull_request), the delivery's id and the hook's.
			provider("X-GitHub-Event", eventType)
			provider("X-GitHub-Delivery", invID)
			provider("X-GitHub-Hook-ID", w.ID)
		case rules.SchemeShopify:
			// The topic (the event type: orders/create), the delivery's
			// id, when it was triggered, and (its webhooks.validate
			// answers missing_headers without them) the shop and the API
			// version.
			provider("X-Shopify-Topic", eventType)
			provider("X-Shopify-Webhook-Id", invID)
			provider("X-Shopify-Triggered-At", start.UTC().Format(time.RFC3339Nano))
			provider("X-Shopify-Shop-Domain", ShopifyShopDomain)
			provider("X-Shopify-API-Version", ShopifyAPIVersion)
		}
	}
	out.sent = redactHeaders(hr.Header, redact, e.secretHeader)
	realStart := time.Now()
	resp, err := e.send(hr)
	if err != nil {
		a.Duration = time.Since(realStart)
		a.DurationMS = float64(a.Duration.Microseconds()) / 1000
		switch {
		case ctx.Err() != nil:
			out.cancelled = true
		case errors.Is(err, context.DeadlineExceeded) || isTimeout(err):
			out.res.timeout = true
			a.Outcome, a.Error = InvocationTimeout, fmt.Sprintf("no response within %s", timeout)
		default:
			// A refusal to connect to hooklab's own API is no network
			// error to retry: every attempt would be refused alike.
			out.res.networkErr = !errors.Is(err, inspect.ErrOwnAPI)
			a.Outcome, a.Error = InvocationFailed, describeNetErr(err)
		}
		return out
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody+1))
	size := int64(len(body))
	truncated := false
	if size > MaxResponseBody {
		body, truncated = body[:MaxResponseBody], true
		// The true size: the Content-Length when the receiver gave one;
		// else what a few more MiB hold (no more is read: a receiver
		// could send forever), a lower bound.
		if resp.ContentLength > size {
			size = resp.ContentLength
		} else {
			rest, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<20))
			size += rest
		}
	}
	resp.Body.Close()
	if readErr != nil {
		// Cut short: what came is kept, and says so.
		truncated = true
		size = max(size, resp.ContentLength)
	}
	a.Duration = time.Since(realStart)
	a.DurationMS = float64(a.Duration.Microseconds()) / 1000
	a.StatusCode = resp.StatusCode
	a.Response = &SentResponse{Status: resp.StatusCode, Headers: inspect.FromHTTP(resp.Header), Body: string(body), Size: size, Truncated: truncated}
	out.res.status = resp.StatusCode
	out.res.header = resp.Header
	a.Outcome = outcomeOf(resp.StatusCode)
	switch {
	case readErr != nil && ctx.Err() == nil && a.Outcome == InvocationSuccess && (errors.Is(readErr, context.DeadlineExceeded) || isTimeout(readErr)):
		// The answer was not all in within the timeout: a timeout, as
		// one with no answer at all (its retries follow; the attempt
		// keeps the status it got).
		out.res = result{timeout: true}
		a.Outcome, a.Error = InvocationTimeout, fmt.Sprintf("the %d answer's body was not all in within %s", resp.StatusCode, timeout)
	case readErr != nil && a.Outcome == InvocationSuccess:
		a.Error = "reading the response body: " + readErr.Error()
	}
	if a.Outcome == InvocationFailed && a.Error == "" {
		a.Error = answerError(resp, e.secretHeader)
	}
	if ctx.Err() != nil && readErr != nil {
		out.cancelled = true
	}
	return out
}

func outcomeOf(status int) string {
	switch {
	case status >= 200 && status < 300:
		return InvocationSuccess
	case status >= 400 && status < 500:
		return InvocationClientError
	case status >= 500 && status < 600:
		return InvocationServerError
	}
	return InvocationFailed
}

// answerError says why an answer that is neither 2xx, 4xx nor 5xx
// failed: redirects are not followed (as providers do not). The Location
// it advises is shown as an endpoint is (shownURL, by secret): its secret
// query values REDACTED, and its user info left out.
func answerError(resp *http.Response, secret func(string) bool) string {
	if resp.StatusCode == http.StatusNotModified {
		return "the receiver answered 304 Not Modified, which is not a success (a webhook is no conditional request)"
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		msg := fmt.Sprintf("the receiver answered %d, a redirect; webhooks do not follow redirects", resp.StatusCode)
		if loc := resp.Header.Get("Location"); loc != "" {
			// A relative Location (/login, as most frameworks send it)
			// is resolved against the endpoint, so the advice is a URL
			// the endpoint field takes.
			// An endpoint holds no credentials (validate refuses user
			// info), so the advice leaves them out and says where they go.
			creds := ""
			if u, err := resp.Location(); err == nil {
				if u.User != nil {
					u.User = nil
					creds = " (its user info as basic_auth authentication: an endpoint holds no credentials)"
				}
				loc = u.String()
			}
			msg += ": point the endpoint at " + shownURL(loc, secret) + creds
		}
		return msg
	}
	return fmt.Sprintf("the receiver answered %d, which is not a success", resp.StatusCode)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// describeNetErr says what went wrong without the Go error's URL noise.
func describeNetErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	// A bare EOF says neither what nor who: the endpoint accepted the
	// connection and closed it before any answer came.
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "request failed: the endpoint closed the connection before answering (" + err.Error() + ")"
	}
	return "request failed: " + err.Error()
}

// redactHeaders lists h with the values of the header named redact (a
// canonical name; none when "", the API key header's name) and of headers
// secret by name (custom headers such as X-Api-Key) replaced.
func redactHeaders(h http.Header, redact string, secret func(header string) bool) inspect.Headers {
	out := inspect.FromHTTP(h)
	for i := range out {
		if redact != "" && (out[i].Name == redact || http.CanonicalHeaderKey(out[i].Name) == redact) || secret(out[i].Name) {
			out[i].Value = rules.Redacted
		}
	}
	return out
}

// send makes one HTTP exchange. With the emitter's own client (see
// NewClient) it goes to the transport directly, skipping what http.Client
// adds that NewClient's client does not use (no redirects followed, no
// cookies, no client timeout) — but a copy of the request headers per
// request; credentials in the URL become basic auth, as the client does.
// A client from Options is used as given.
func (e *Emitter) send(hr *http.Request) (*http.Response, error) {
	if e.transport == nil {
		return e.client.Do(hr)
	}
	if u := hr.URL.User; u != nil && hr.Header.Get("Authorization") == "" {
		p, _ := u.Password()
		hr.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(u.Username()+":"+p)))
	}
	resp, err := e.transport.RoundTrip(hr)
	if err != nil {
		return nil, &url.Error{Op: urlErrorOp(hr.Method), URL: hr.URL.Redacted(), Err: err}
	}
	return resp, nil
}

// urlErrorOp is the Op of the *url.Error http.Client returns.
func urlErrorOp(method string) string {
	if method == "" {
		return "Get"
	}
	return method[:1] + strings.ToLower(method[1:])
}
