// Package mock owns the capture endpoint: it records every request into a
// bin and answers it, by default with a small JSON acknowledgement and
// otherwise from the first matching mock rule.
package mock

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// Config holds what the capture endpoint needs.
type Config struct {
	Store inspect.Store
	IDs   *inspect.IDs
	// OwnCredentials, when set, names the headers of a request that hold
	// one of hooklab's own credentials (a delivery of its emitter to this
	// port): they are recorded redacted.
	OwnCredentials func(http.Header) []string
	// OwnDelivery, when set, reports whether a request is a delivery of
	// one of hooklab's own webhooks: the values of its URL's query
	// parameters secret by name (?api_key=, from the webhook's endpoint,
	// which the API shows redacted) are recorded redacted.
	OwnDelivery func(http.Header) bool
	// MaxBody is how many body bytes are stored; the rest is counted and
	// the exchange marked truncated. When zero, the engine's live config
	// decides (settings.max_body), else 10 MiB.
	MaxBody int64
	Logger  *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Engine answers from mock rules; nil answers every request with the
	// default acknowledgement.
	Engine *Engine
	// MaxBins caps how many bins exist; a request to a new bin beyond it
	// gets 429. DefaultMaxBins when zero.
	MaxBins int
	// SecretHeaders names more headers whose values are secrets (beyond
	// inspect.IsSecretHeader's): a near-miss reason does not show them.
	SecretHeaders []string
	// BodyGrace is how long a request body may take to arrive, plus a
	// second for each 64 KiB that does; a body slower than that (one that
	// stops, or trickles) gets 408. DefaultBodyGrace when zero.
	BodyGrace time.Duration
	// CutOff, when it ends, ends at once the reads of the request bodies
	// still coming (hooklab cuts off the requests still open at its
	// shutdown deadline), so that what arrived is recorded. Nil: only a
	// body's pace, or its client, ends its read.
	CutOff context.Context
}

// DefaultBodyGrace is Config.BodyGrace when not set.
const DefaultBodyGrace = 30 * time.Second

// storeLogPeriod is how often a store failure that repeats is logged.
const storeLogPeriod = 5 * time.Second

// DefaultMaxBins is Config.MaxBins when not set.
const DefaultMaxBins = 1000

// Capture is the capture endpoint's handler.
type Capture struct {
	cfg   Config
	log   *slog.Logger
	pacer *inspect.Pacer // paces request bodies
	// storeLog and cutLog hold back repeats of "not stored": on a full
	// disk every request fails the same way.
	storeLog, cutLog *inspect.LogLimit

	bins     sync.Map // bin names known to exist
	binCount atomic.Int64
	counted  atomic.Bool // binCount was read from the store once
	recount  sync.Mutex
	// recounted is when the store was last asked (Unix nanoseconds): at
	// the limit, at most once a second, so that a sender spraying new bin
	// names does not have every request count the store's bins.
	recounted atomic.Int64

	active atomic.Int64 // requests being served, for Shutdown

	// decoding holds a place for each request whose body is decoded from
	// its Content-Encoding for the rules, until its plan is made: a few
	// KB of gzip decode to max_body, so without a bound on how many are
	// held at once a few hundred small requests took gigabytes.
	decoding chan struct{}
	// large holds LargeBodyPlaces places for the request bodies past
	// LargeBody, until their exchange is stored; largeGate lets one
	// request at a time take more than one, so that two never each hold
	// a part of what they need.
	large, largeGate chan struct{}
}

// MaxDecoding is how many captured bodies are decoded from their
// Content-Encoding for the rules at once; more wait for a place (or for
// their client to go).
const MaxDecoding = 4

// LargeBody is the size up to which a request body is read as it comes.
// One that grows past it (a declared length over it, or a chunked body
// still coming) first takes its places (LargeBodyBudget), waiting for
// them, and reading nothing meanwhile, while they are taken.
const LargeBody = inspect.LargeBody

// LargeBodyBudget bounds the max_body bytes that large request bodies
// hold at once, from their read until their exchange is stored (the store
// copies a body twice more meanwhile): without it, 200 clients posting 6
// MB each took hooklab to 4-5 GB. It is cut into LargeBodyPlaces places
// of 16 MiB, and a large body takes as many as max_body needs: one under
// the default 10 MiB (16 bodies at once), 7 under 100 MiB, all from 256
// MiB on (one body at a time).
const LargeBodyBudget = inspect.LargeBodyBudget

// LargeBodyPlaces is how many places LargeBodyBudget is cut into.
const LargeBodyPlaces = inspect.LargeBodyPlaces

var _ http.Handler = (*Capture)(nil)

// Shutdown waits until the requests being served have ended, or ctx
// does. Call it after the listener's server has shut down (or given up
// and cut the rest off): a request cut off mid-body is recorded with what
// arrived before it returns.
func (c *Capture) Shutdown(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for c.active.Load() > 0 {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
	return nil
}

// New returns the capture handler.
func New(cfg Config) *Capture {
	if cfg.MaxBody < 0 {
		cfg.MaxBody = 0
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.IDs == nil {
		cfg.IDs = new(inspect.IDs)
	}
	if cfg.MaxBins <= 0 {
		cfg.MaxBins = DefaultMaxBins
	}
	return &Capture{cfg: cfg, log: cfg.Logger, pacer: inspect.NewPacer(cfg.CutOff, cmp.Or(cfg.BodyGrace, DefaultBodyGrace)), storeLog: inspect.NewLogLimit(storeLogPeriod), cutLog: inspect.NewLogLimit(storeLogPeriod),
		decoding: make(chan struct{}, MaxDecoding), large: make(chan struct{}, LargeBodyPlaces), largeGate: make(chan struct{}, 1)}
}

// largeBody is the places that a request's body holds: none while it is
// small.
type largeBody struct {
	c   *Capture
	ctx context.Context    // the request's
	pb  *inspect.PacedBody // its pace stops while it waits; nil: not paced
	// wait is false over HTTP/2, where a stream that reads nothing holds
	// back the others on its connection (the unread data fills their
	// shared flow-control window), one of which may hold the places it
	// waits for: it takes them only when free, and goes on without.
	wait bool
	held int
}

// take waits for the places a body of up to limit bytes needs, or for the
// request's end. It holds none while it returns an error, nor when it
// may not wait (see wait) and they are not free.
func (l *largeBody) take(limit int64) error {
	n := inspect.LargeBodyPlacesFor(limit)
	if n == 1 {
		select {
		case l.c.large <- struct{}{}:
			l.held = 1
			return nil
		default:
		}
	}
	if !l.wait {
		return nil
	}
	if l.pb != nil {
		defer l.pb.Resume(l.pb.Pause())
	}
	gone := func() error {
		l.release()
		return fmt.Errorf("the request ended while its body waited for room (at most %d MiB of large bodies are held at once): %w", LargeBodyBudget>>20, context.Cause(l.ctx))
	}
	if n > 1 {
		select {
		case l.c.largeGate <- struct{}{}:
			defer func() { <-l.c.largeGate }()
		case <-l.ctx.Done():
			return gone()
		}
	}
	for l.held < n {
		select {
		case l.c.large <- struct{}{}:
			l.held++
		case <-l.ctx.Done():
			return gone()
		}
	}
	return nil
}

// release gives back the places held, if any.
func (l *largeBody) release() {
	for ; l.held > 0; l.held-- {
		<-l.c.large
	}
}

// AdmitBin lets bin be used (a request into it, or POST /api/bins making
// it) unless it would make more bins than MaxBins. Known bins cost one map
// lookup; a new one is let in under a lock, one at a time. The store is
// asked for the first new bin (the store may hold bins from before a
// restart) and, at most once a second, when the limit is reached (bins
// may have gone since, by retention).
func (c *Capture) AdmitBin(ctx context.Context, bin string) error {
	if _, ok := c.bins.Load(bin); ok || bin == inspect.DefaultBin {
		return nil
	}
	return c.admit(ctx, []string{bin})
}

// AdmitBins lets bins be used together, as AdmitBin does one: all of them
// or, when that would make more bins than MaxBins, none (an import that
// is refused holds no bins).
func (c *Capture) AdmitBins(ctx context.Context, bins []string) error {
	return c.admit(ctx, bins)
}

func (c *Capture) admit(ctx context.Context, bins []string) error {
	c.recount.Lock()
	defer c.recount.Unlock()
	fresh := func() []string {
		var out []string
		seen := map[string]bool{}
		for _, b := range bins {
			if _, ok := c.bins.Load(b); !ok && b != inspect.DefaultBin && !seen[b] {
				seen[b] = true
				out = append(out, b)
			}
		}
		return out
	}
	add := fresh() // let in while this one waited, or known
	if len(add) == 0 {
		return nil
	}
	limit := int64(c.cfg.MaxBins)
	if !c.counted.Load() || c.binCount.Load()+int64(len(add)) > limit && time.Since(time.Unix(0, c.recounted.Load())) >= time.Second {
		c.countBinsLocked(ctx)
		if add = fresh(); len(add) == 0 {
			return nil
		}
	}
	if over := c.binCount.Load() + int64(len(add)) - limit; over > 0 {
		return fmt.Errorf("bin %q would be one too many: the limit is %d bins (remove some with DELETE /api/bins/NAME)", add[int64(len(add))-over], c.cfg.MaxBins)
	}
	now := time.Now().UnixNano()
	for _, b := range add {
		c.bins.Store(b, now)
	}
	c.binCount.Add(int64(len(add)))
	return nil
}

// admittedKeep is how long a bin let in is counted although the store has
// none of it yet: its first request may still be arriving (a slow upload).
const admittedKeep = 10 * time.Minute

// countBinsLocked counts the bins again: the store's, and those let in
// within admittedKeep that it does not have yet. Hold c.recount.
func (c *Capture) countBinsLocked(ctx context.Context) {
	bins, err := c.cfg.Store.Bins(ctx)
	if err != nil {
		return
	}
	now := time.Now()
	c.recounted.Store(now.UnixNano())
	c.counted.Store(true)
	keep := map[string]int64{}
	for _, b := range bins {
		// Bins made with POST /api/bins count (and are let in) before
		// their first exchange.
		if b.Name != inspect.DefaultBin {
			keep[b.Name] = 0
		}
	}
	cutoff := now.Add(-admittedKeep).UnixNano()
	c.bins.Range(func(k, v any) bool {
		if at := v.(int64); at > cutoff {
			if _, ok := keep[k.(string)]; !ok {
				keep[k.(string)] = at
			}
		}
		return true
	})
	c.bins.Clear()
	for name, at := range keep {
		c.bins.Store(name, at)
	}
	c.binCount.Store(int64(len(keep)))
}

// BinsChanged tells the capture that a bin was cleared or deleted ("":
// every bin), so that a place it freed is free at once: the bins are
// counted again, that one (or all) from the store alone (a bin made with
// POST /api/bins outlives a clear).
func (c *Capture) BinsChanged(ctx context.Context, bin string) {
	c.recount.Lock()
	defer c.recount.Unlock()
	if bin == "" {
		c.bins.Clear()
	} else {
		c.bins.Delete(bin)
	}
	c.countBinsLocked(ctx)
}

// maxBody is Config.MaxBody when set, else the live config's
// settings.max_body, else 10 MiB.
func (c *Capture) maxBody() int64 {
	if c.cfg.MaxBody > 0 {
		return c.cfg.MaxBody
	}
	if c.cfg.Engine != nil {
		if cfg := c.cfg.Engine.Config(); cfg != nil && cfg.Settings.MaxBody > 0 {
			return cfg.Settings.MaxBody
		}
	}
	return rules.DefaultMaxBody
}

// SplitBin returns the bin a path routes to and the path within it:
// /b/{bin}/rest goes to {bin}, everything else to "default".
func SplitBin(path string) (bin, rest string, err error) {
	path = binSlashes(path)
	if !strings.HasPrefix(path, "/b/") {
		return inspect.DefaultBin, path, nil
	}
	name, rest, _ := strings.Cut(path[len("/b/"):], "/")
	if err := inspect.ValidBin(name); err != nil {
		return "", "", err
	}
	return name, "/" + rest, nil
}

// binSlashes reads "//b/NAME/..." as "/b/NAME/...": the printed capture
// URL ends in a slash, so "$CAPTURE/b/stripe/hook" in a script sends
// "//b/stripe/hook", which means bin stripe.
func binSlashes(path string) string {
	if strings.HasPrefix(path, "//") {
		if p := "/" + strings.TrimLeft(path, "/"); strings.HasPrefix(p, "/b/") {
			return p
		}
	}
	return path
}

// splitBinEscaped is SplitBin on a request's escaped path, so that an
// encoded slash stays inside the bin name (and is refused there) instead
// of ending it: /b/a%2Fb/x is not bin "a".
func splitBinEscaped(u *url.URL) (bin, rest string, err error) {
	esc := binSlashes(u.EscapedPath())
	if !strings.HasPrefix(esc, "/b/") {
		return SplitBin(u.Path)
	}
	name, _, _ := strings.Cut(esc[len("/b/"):], "/")
	if dec, derr := url.PathUnescape(name); derr == nil && strings.Contains(dec, "/") {
		return "", "", inspect.ValidBin(dec)
	}
	return SplitBin(u.Path)
}

// escapedRest is the path rules see (without /b/{bin}) as sent,
// percent-encoded, when that may differ from the decoded path's plain
// encoding (u.RawPath is set: an encoded slash, say); "" otherwise, and
// when the escaped path does not spell /b/{bin} plainly.
func escapedRest(u *url.URL, bin string) string {
	esc := rules.EscapedPath(u)
	if esc == "" || !strings.HasPrefix(binSlashes(u.Path), "/b/") {
		return esc
	}
	after, ok := strings.CutPrefix(binSlashes(esc), "/b/"+bin)
	if !ok || after != "" && after[0] != '/' {
		return ""
	}
	return "/" + strings.TrimPrefix(after, "/")
}

func (c *Capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.active.Add(1)
	defer c.active.Add(-1)
	start := c.cfg.Now()
	bin, rest, err := splitBinEscaped(r.URL)
	if err != nil {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		inspect.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return
	}
	if err := c.AdmitBin(r.Context(), bin); err != nil {
		w.Header().Set("Access-Control-Allow-Origin", "*")
		inspect.WriteJSON(w, http.StatusTooManyRequests, map[string]string{"error": err.Error()})
		return
	}
	ex := &inspect.Exchange{
		ID:      c.cfg.IDs.New(start),
		Bin:     bin,
		Source:  inspect.SourceCapture,
		Time:    start,
		Request: inspect.RequestOf(r),
	}
	if c.cfg.OwnCredentials != nil {
		ex.Request.Headers = inspect.RedactNamed(ex.Request.Headers, c.cfg.OwnCredentials(r.Header))
	}
	if c.cfg.OwnDelivery != nil && c.cfg.OwnDelivery(r.Header) {
		ex.Request.URL, _ = inspect.RedactQuery(ex.Request.URL, inspect.QuerySecret(c.cfg.SecretHeaders))
	}
	// A body must keep coming: a client that trickles it would hold the
	// connection (and a --max-conns slot) for as long as it liked.
	var pb *inspect.PacedBody
	reqBody := r.Body
	if r.Body != nil && r.Body != http.NoBody {
		pb = c.pacer.Body(r.Body, http.NewResponseController(w))
		defer pb.Done(false) // after a panic; else done already
		reqBody = pb
	}
	// A large body holds its places until its exchange is stored, or the
	// request ends however it does.
	big := largeBody{c: c, ctx: r.Context(), pb: pb, wait: r.ProtoMajor < 2}
	defer big.release()
	body, size, truncated, rerr := readBody(reqBody, c.maxBody(), r.ContentLength, &big)
	if pb != nil {
		pb.Done(rerr == nil)
	}
	ex.Request.Body, ex.Request.Size, ex.Request.Truncated = body, size, truncated
	if rerr != nil {
		c.bodyFailed(w, r, ex, start, rerr)
		return
	}

	plan := c.plan(r, ex, rest)
	// The exchange is stored before the answer goes (so that none is
	// answered unrecorded): its duration counts what the plan will take
	// on the wire, a delay and a drip's pace, as they are fixed now.
	ex.Duration = c.cfg.Now().Sub(start) + plan.Planned()
	if err := c.cfg.Store.Add(context.WithoutCancel(r.Context()), ex); err != nil {
		c.storeFailed(w, err)
		return
	}
	big.release() // the store has made its copies; the answer may take long
	c.stored(ex.Bin)
	plan.Write(r.Context(), w, r)
}

// stored notes that bin has an exchange in the store: from now on it
// counts against MaxBins only while the store has it, not for
// admittedKeep (retention may remove it, and with it the bin).
func (c *Capture) stored(bin string) {
	if v, ok := c.bins.Load(bin); ok && v.(int64) != 0 {
		c.bins.CompareAndSwap(bin, v, int64(0))
	}
}

// bodyFailed records a request whose body could not be read, with what
// arrived and the error, and answers: 408 to a client too slow, 400 to one
// whose body was malformed (broken chunking), and nothing to one that went
// away (the connection is dropped, so that no default answer goes out).
func (c *Capture) bodyFailed(w http.ResponseWriter, r *http.Request, ex *inspect.Exchange, start time.Time, rerr error) {
	ex.Error = fmt.Sprintf(inspect.BodyReadError+"%d bytes: %v", ex.Request.Size, rerr)
	var answer []byte
	code := http.StatusBadRequest
	var ne net.Error
	switch {
	case errors.As(rerr, &ne) && ne.Timeout():
		code = http.StatusRequestTimeout
		answer = inspect.JSONLine(map[string]string{"error": rerr.Error()}, "")
	case r.Context().Err() != nil, errors.Is(rerr, io.ErrUnexpectedEOF), errors.Is(rerr, io.EOF), errors.As(rerr, &ne), errors.Is(rerr, syscall.ECONNRESET):
		// Gone (over HTTP/2, a reset stream cancels the request).
	default:
		answer = inspect.JSONLine(map[string]string{"error": "malformed request body: " + rerr.Error()}, "")
	}
	if answer != nil {
		ex.Response = &inspect.Response{Status: code, Body: answer, Size: int64(len(answer)),
			Headers: inspect.Headers{{Name: "Access-Control-Allow-Origin", Value: "*"}, {Name: "Connection", Value: "close"}, {Name: "Content-Type", Value: "application/json"}}}
	}
	ex.Duration = c.cfg.Now().Sub(start)
	if err := c.cfg.Store.Add(context.WithoutCancel(r.Context()), ex); err != nil {
		c.cutLog.Log(c.log, slog.LevelError, "store failed for an interrupted request", "err", err, "id", ex.ID)
	} else {
		c.stored(ex.Bin)
	}
	if answer == nil {
		panic(http.ErrAbortHandler)
	}
	for _, h := range ex.Response.Headers {
		w.Header().Set(h.Name, h.Value)
	}
	w.WriteHeader(code)
	_, _ = w.Write(answer)
}

// plan decides the answer and records it, and what the rules said, in ex.
func (c *Capture) plan(r *http.Request, ex *inspect.Exchange, rest string) *Plan {
	fallback := func(status int) *inspect.Response { return c.defaultAnswer(r, ex, status) }
	if c.cfg.Engine == nil {
		p := &Plan{Response: fallback(http.StatusOK)}
		DropBody(r.Method, p.Response, true)
		ex.Response = p.Response
		return p
	}
	req := &rules.Request{
		Method: r.Method, Path: rest, EscapedPath: escapedRest(r.URL, ex.Bin), RawQuery: r.URL.RawQuery,
		Header: rules.RequestHeader(r), Host: r.Host, Body: ex.Request.Body, Bin: ex.Bin, Secret: c.isSecretHeader,
	}
	if ex.Request.Truncated {
		req.BodySize = ex.Request.Size
	} else if ce := r.Header.Get("Content-Encoding"); ce != "" && len(req.Body) > 0 {
		// Rules read a gzip or deflate body decoded, as the UI shows it
		// (a gzipped JSON webhook matched no json condition, "body is not
		// JSON"), up to max_body decoded; signatures are checked over the
		// bytes that came.
		// The decoded body is held until the plan is made, so its place
		// is too. A client gone while waiting needs no plan worth a decode.
		select {
		case c.decoding <- struct{}{}:
			defer func() { <-c.decoding }()
			limit := c.maxBody()
			if dec, err := inspect.DecodeContent(ce, req.Body, limit+1); err == nil {
				req.UseDecoded(dec, limit)
			}
		case <-r.Context().Done():
		}
	}
	p := c.cfg.Engine.Plan(req, func() map[string]any { return ExchangeVars(ex) }, fallback)
	DropBody(r.Method, p.Response, p.Fault == rules.FaultNone)
	ex.Rule, ex.Signature, ex.Error = p.Rule, p.Signature, p.Error
	ex.Response = p.Response
	if s := p.Signature; s != nil && s.Verdict != "valid" && ex.Request.Truncated {
		// Only the stored part of the body was checked: say so rather than
		// let a plain "signature mismatch" blame the sender.
		s.Reason += fmt.Sprintf(" (the body was cut at %d of %d bytes by max_body; only that part was checked)", len(ex.Request.Body), ex.Request.Size)
	}
	meta := map[string]any{}
	if p.NearMiss != nil {
		meta["near_miss"] = p.NearMiss
	}
	if p.Delay > 0 {
		meta["delay_ms"] = p.Delay.Milliseconds()
	}
	if p.Failed {
		meta["fail_rate"] = true
		if p.Fault == rules.FaultNone {
			meta["fault"] = "fail_rate"
			ex.Error = "injected failure (fail_rate): answered 503"
		}
	}
	if p.Fault != rules.FaultNone {
		meta["fault"] = string(p.Fault)
		switch p.Fault {
		case rules.FaultDrip:
		case rules.FaultEmpty:
			// The status line and headers go, then nothing.
			ex.Response = headOnly(p.Response)
			ex.Error = "fault injected: empty (the body promised was not sent)"
		default:
			ex.Response = nil // nothing well-formed is sent
			ex.Error = "fault injected: " + string(p.Fault)
		}
	}
	if len(meta) > 0 {
		ex.Meta = meta
	}
	return p
}

// ExchangeVars is the template context of a mock answering ex, before the
// request's own.
func ExchangeVars(ex *inspect.Exchange) map[string]any {
	return map[string]any{"bin": ex.Bin, "exchange": map[string]any{"id": ex.ID}, "now": ex.Time}
}

// DropBody makes resp what net/http will send, so that the exchange
// records that: no body to HEAD or with 204 or 304, whose headers net/http
// strips (Content-Length with 204; with 304 Content-Type and the framing
// too); and to other requests, no Content-Length but the body's (a rule's
// without a body is for HEAD answers), and the type net/http sniffs when
// the rule gives none. A HEAD answer keeps the headers a GET's would have
// (RFC 9110 9.3.2): the body's length, and that type; net/http adds
// neither when it writes no body. sniffed says net/http would sniff: it
// does for a body it writes whole, not an encoded one, nor one a fault
// writes.
func DropBody(method string, resp *inspect.Response, sniffed bool) {
	if resp == nil {
		return
	}
	switch {
	case resp.Status == http.StatusNoContent:
		resp.Headers = withoutHeaders(resp.Headers, "Content-Length", "Transfer-Encoding")
	case resp.Status == http.StatusNotModified:
		resp.Headers = withoutHeaders(resp.Headers, "Content-Length", "Transfer-Encoding", "Content-Type")
	case method == http.MethodHead:
		if resp.Headers.Get("Content-Length") == "" {
			resp.Headers = append(resp.Headers, inspect.Header{Name: "Content-Length", Value: strconv.Itoa(len(resp.Body))})
		}
		addSniffed(resp, sniffed)
	default:
		if cl := resp.Headers.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(resp.Body)) {
			resp.Headers = withoutHeaders(resp.Headers, "Content-Length")
		}
		addSniffed(resp, sniffed)
		return
	}
	resp.Body, resp.Size = nil, 0
}

// addSniffed adds to resp the Content-Type net/http sends with its body
// when it has none (sniffed says net/http would sniff it): the type
// http.DetectContentType gives, unless it is encoded or sent chunked by
// the rule's own Transfer-Encoding, as net/http sniffs.
func addSniffed(resp *inspect.Response, sniffed bool) {
	if !sniffed || len(resp.Body) == 0 {
		return
	}
	if slices.ContainsFunc(resp.Headers, func(h inspect.Header) bool {
		return strings.EqualFold(h.Name, "Content-Type") || strings.EqualFold(h.Name, "Transfer-Encoding") ||
			(strings.EqualFold(h.Name, "Content-Encoding") && h.Value != "")
	}) {
		return
	}
	resp.Headers = append(resp.Headers, inspect.Header{Name: "Content-Type", Value: http.DetectContentType(resp.Body)})
}

// withoutHeaders returns h without the headers of names, in a new slice
// (h may be shared).
func withoutHeaders(h inspect.Headers, names ...string) inspect.Headers {
	out := make(inspect.Headers, 0, len(h))
	for _, x := range h {
		if !slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, x.Name) }) {
			out = append(out, x)
		}
	}
	return out
}

// storeFailed answers 503 with Retry-After so that senders retry: nothing
// is acknowledged that was not stored.
func (c *Capture) storeFailed(w http.ResponseWriter, err error) {
	c.storeLog.Log(c.log, slog.LevelError, "capture not stored", "err", err)
	w.Header().Set("Retry-After", "5")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	inspect.WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "hooklab could not store this request: " + err.Error()})
}

// defaultAnswer is the answer to a request no rule matches: status
// (settings.default_status) with {"ok", "id", "bin"}, ok saying whether
// status is a success (under 400). A CORS preflight gets its own.
func (c *Capture) defaultAnswer(r *http.Request, ex *inspect.Exchange, status int) *inspect.Response {
	if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
		return preflight(r)
	}
	// Written out rather than marshalled (on every capture): the same
	// bytes as encoding/json.
	b := make([]byte, 0, 33+len(ex.ID)+len(ex.Bin))
	if status < 400 {
		b = append(b, `{"ok":true,"id":`...)
	} else {
		b = append(b, `{"ok":false,"id":`...)
	}
	b = inspect.AppendJSONString(b, ex.ID)
	b = append(b, `,"bin":`...)
	b = inspect.AppendJSONString(b, ex.Bin)
	b = append(b, "}\n"...)
	return &inspect.Response{
		Status: status,
		Headers: inspect.Headers{
			{Name: "Content-Type", Value: "application/json"},
			{Name: "Access-Control-Allow-Origin", Value: "*"},
		},
		Body: b,
		Size: int64(len(b)),
	}
}

// preflight answers a CORS preflight permissively: the method asked for
// (any, PROPFIND too) and the headers asked for are allowed.
func preflight(r *http.Request) *inspect.Response {
	methods := "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS"
	if m := strings.TrimSpace(r.Header.Get("Access-Control-Request-Method")); httpguts.ValidHeaderFieldName(m) && !slices.Contains(strings.Split(methods, ", "), m) {
		methods += ", " + m
	}
	h := inspect.Headers{
		{Name: "Access-Control-Allow-Origin", Value: "*"},
		{Name: "Access-Control-Allow-Methods", Value: methods},
		{Name: "Access-Control-Max-Age", Value: "86400"},
	}
	if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
		h = append(h, inspect.Header{Name: "Access-Control-Allow-Headers", Value: req})
	}
	return &inspect.Response{Status: http.StatusNoContent, Headers: h}
}

func writeResponse(w http.ResponseWriter, resp *inspect.Response) {
	h := w.Header()
	for _, x := range resp.Headers {
		k := http.CanonicalHeaderKey(x.Name)
		h[k] = append(h[k], x.Value)
	}
	if resp.Body != nil && h.Get("Content-Length") == "" {
		h.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	}
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
}

// ReadBody reads up to limit bytes of body and counts the rest. size is the
// true size; truncated says bytes were dropped. err is set when the body
// could not be read to its end (the client went away).
func ReadBody(body io.Reader, limit, hint int64) (b []byte, size int64, truncated bool, err error) {
	return readBody(body, limit, hint, nil)
}

// readBody is ReadBody; a body growing past LargeBody first takes big's
// places (none when big is nil), and, holding them, is given its declared
// length at once.
func readBody(body io.Reader, limit, hint int64, big *largeBody) (b []byte, size int64, truncated bool, err error) {
	if body == nil || body == http.NoBody {
		return nil, 0, false, nil
	}
	// One allocation for a body of the declared length (one byte more, to
	// see the end without growing); a bytes.Buffer wanted 512 bytes free
	// for every read and allocated twice. A declared length is trusted
	// only so far (LargeBody, or once the body holds its places): the body
	// grows as it comes.
	c := int64(512)
	if hint > 0 {
		c = min(hint, LargeBody) + 1
	}
	b = make([]byte, 0, min(c, limit))
	for int64(len(b)) < limit && err == nil {
		if len(b) == cap(b) {
			more := min(int64(cap(b)), limit-int64(len(b)))
			switch {
			case big == nil || big.held > 0:
			case int64(cap(b)) < LargeBody:
				more = min(more, LargeBody-int64(cap(b)))
			default:
				// Past LargeBody: its places first, and, holding them,
				// room for the whole declared length at once.
				if err = big.take(limit); err == nil && big.held > 0 {
					more = max(more, min(hint, limit-1)+1-int64(len(b)))
				}
			}
			if err != nil {
				break // the request ended while it waited
			}
			// Exactly: slices.Grow rounds up as append does, past
			// LargeBody without places, and past max_body with them.
			grown := make([]byte, len(b), len(b)+int(more))
			copy(grown, b)
			b = grown
		}
		var n int
		n, err = body.Read(b[len(b):min(int64(cap(b)), limit)])
		b = b[:len(b)+n]
	}
	size = int64(len(b))
	if err == nil {
		var rest int64
		rest, err = io.Copy(io.Discard, body)
		size += rest
		truncated = rest > 0
	}
	if errors.Is(err, io.EOF) {
		err = nil
	}
	return b, size, truncated, err
}

// isSecretHeader is rules.Request.Secret: near misses do not show the
// values of headers that hold secrets.
func (c *Capture) isSecretHeader(name string) bool {
	return inspect.IsSecretHeader(name, c.cfg.SecretHeaders)
}
