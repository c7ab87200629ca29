// Package proxy owns hooklab's inspecting proxies: a reverse proxy that
// stands in front of a service, and a forward proxy (HTTP_PROXY and
// HTTPS_PROXY, CONNECT tunnels, optional HTTPS interception with a local
// CA) that stands beside its clients. Both record every exchange that
// passes, with bodies teed so large transfers, chunked bodies,
// server-sent events and websocket upgrades stream as they would without
// it (a request body of known length up to 64 KiB is read whole first, see
// smallBody). Traffic can be answered by mock rules (through a hook),
// failed or slowed by route faults, or served back from recorded exchanges
// (simulation). The proxies: section of the config file is decoded here.
package proxy

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// Route sends requests whose path starts with Prefix to Upstream.
type Route struct {
	// Prefix is a path prefix; "" or "/" matches everything.
	Prefix string
	// Upstream is where requests go. It is nil in a forward proxy, where
	// each request goes to its own host.
	Upstream *url.URL
	// Strip removes Prefix from the path before forwarding.
	Strip bool
	// SetRequestHeaders and RemoveRequestHeaders edit the forwarded request;
	// SetResponseHeaders and RemoveResponseHeaders edit the answer.
	SetRequestHeaders     map[string]string
	RemoveRequestHeaders  []string
	SetResponseHeaders    map[string]string
	RemoveResponseHeaders []string

	// Delay waits before the request goes on (to a fault, the simulation
	// or the upstream).
	Delay rules.Delay
	// Fault and FailRate inject failures. With FailRate 0 every request
	// gets Fault; otherwise that share of requests fails, with Fault or,
	// when Fault is empty, with a 503. Fault drip passes the upstream's
	// answer through at DripRate bytes per second (rules.DefaultDripRate
	// when zero) instead of failing it.
	Fault    rules.Fault
	FailRate float64
	DripRate int
	// Simulation, when set, answers this route's requests from recorded
	// exchanges instead of the upstream. A simulation loaded into the
	// proxy's Simulator for this proxy wins over it; one loaded for every
	// proxy does not.
	Simulation *Simulation
}

// Options configure a proxy.
type Options struct {
	// Name is the proxy's name; exchanges are recorded in a bin of that
	// name, and mock rules with "proxy: NAME" apply to its traffic.
	Name   string
	Routes []Route
	// SecretHeaders names more headers whose values are secrets (beyond
	// inspect.IsSecretHeader's): a mock's near-miss reason does not show
	// them.
	SecretHeaders []string
	// OwnCredentials, when set, names the headers of a request that hold
	// one of hooklab's own credentials (a delivery of its emitter through
	// this proxy): they are recorded redacted (and still sent).
	OwnCredentials func(http.Header) []string
	// OwnDelivery, when set, reports whether a request is a delivery of
	// one of hooklab's own webhooks: the values of its URL's query
	// parameters secret by name (?api_key=) are recorded redacted (and
	// still sent).
	OwnDelivery func(http.Header) bool
	// Record stores an exchange. It is called once per exchange, after the
	// response has been sent, off the request's path. At most MaxPending
	// exchanges (and MaxPendingBytes of them) wait for it at once; beyond
	// that, finishing requests wait for room, so that a store slower than
	// the traffic slows the traffic rather than filling memory.
	Record func(context.Context, *inspect.Exchange) error
	// MaxPending and MaxPendingBytes bound the exchanges waiting for
	// Record: 8192 and 16 MiB when zero.
	MaxPending      int
	MaxPendingBytes int64
	IDs             *inspect.IDs
	// MaxBody is how many body bytes of each direction are recorded; the
	// rest streams through and is counted. 10 MiB when zero. Past
	// LargeBody, a body is recorded further only while LargeBodyBudget
	// has room for it.
	MaxBody int64
	// WholeBodyTimeout bounds the wait for a small request body read
	// whole before forwarding (see smallBody); 30 s when zero. A body read
	// for mock rules or a simulation gets as long, and a second more for
	// each 64 KiB that arrives (inspect.PacedBody).
	WholeBodyTimeout time.Duration
	// Transport reaches the upstreams; NewTransport() when nil.
	Transport http.RoundTripper
	// InsecureUpstream skips the verification of upstream TLS certificates
	// (only used when Transport is nil).
	InsecureUpstream bool
	Logger           *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Context is the app's context: recordings finish under it after the
	// request's own context ends. context.Background() when nil.
	Context context.Context
	// Stopping ends when hooklab begins to shut down: a timeout fault's
	// hold ends then. Never when nil.
	Stopping context.Context
	// CutOff ends at the shutdown deadline, when the requests still open
	// are cut off (their contexts derive from it): one whose context ends
	// then is answered 503, not taken for a client gone. It is also the
	// base context of an intercepting forward proxy's own server. Never
	// when nil.
	CutOff context.Context

	// Intercept, when set, may answer a request instead of the upstream
	// (partial mocking). req is the request as mock rules see it, with its
	// body buffered (up to MaxBody); ex is the exchange being recorded.
	// When it answers, it fills ex.Response (and Rule, Meta, Error as it
	// sees fit) and returns the writing of its answer, which the proxy
	// calls with w and then records ex; it returns nil to let the request
	// go on. It decides, and the writing answers (waits for a delay,
	// drips), so that a body decoded for it is let go of before the
	// answer takes its time.
	Intercept func(r *http.Request, req *rules.Request, ex *inspect.Exchange) (answer func(w http.ResponseWriter))
	// Rules returns the live config. When set, Intercept is called (and
	// the body buffered for it) only while the config has a mock scoped to
	// this proxy ("proxy: NAME" or "proxy: '*'"). When nil, Intercept is
	// called for every request.
	Rules func() *rules.Config
	// Simulator, when set, answers from the recorded exchanges loaded into
	// it (see Simulator).
	Simulator *Simulator

	// CA, when set, makes a forward proxy intercept HTTPS: CONNECT tunnels
	// are decrypted with leaf certificates it mints, and each exchange
	// inside is recorded. Unused by a reverse proxy.
	CA *CA
	// MITMIgnore lists host globs (path.Match syntax, e.g. "*.apple.com")
	// that a forward proxy tunnels without interception even with a CA.
	MITMIgnore []string
}

// NewTransport returns the upstream transport: keep-alive with enough idle
// connections per host for a busy local service (Go's default of 2 leaves
// thousands of sockets in TIME_WAIT under load), no $HTTP_PROXY, and no
// compression the client did not ask for.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: nil, // a proxy talks to its upstream directly, never to $HTTP_PROXY (itself)
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false,
		// The proxy passes bodies through as they come; it never asks for
		// compression the client did not ask for.
		DisableCompression: true,
		// Room for a request's headers and a body read whole (see
		// smallBody) of up to ~15 KiB in one write; Go's default is 4 KiB.
		WriteBufferSize: 16 << 10,
	}
}

// Reverse is an inspecting reverse proxy. A forward proxy uses one in
// forward mode, where each request goes to its own host.
type Reverse struct {
	opts     Options
	forward  bool
	routes   atomic.Pointer[[]Route]
	rp       *httputil.ReverseProxy
	log      *slog.Logger
	storeLog *inspect.LogLimit // holds back repeats of "not stored" (a full disk)
	wg       sync.WaitGroup
	scope    atomic.Pointer[ruleScope]
	pending  *recorder
	pacer    *inspect.Pacer  // paces the request bodies buffer reads
	own      *http.Transport // the transport it made (Options.Transport nil), closed idle by Shutdown

	// Upgraded connections (websockets) are hijacked: the server's
	// Shutdown neither waits for nor closes them, so the proxy does.
	mu      sync.Mutex
	tunnels map[*tunnel]struct{}
	closed  bool
	// active counts requests being served, for Shutdown: those cut off at
	// the shutdown deadline are still answered and recorded.
	active counter
	// decoding holds a place for each request whose body is decoded for
	// the Intercept hook, until the hook has decided (see MaxDecoding).
	decoding chan struct{}
	// large holds LargeBodyPlaces places for the recorded bodies past
	// LargeBody, until their exchange is recorded (see holder).
	large chan struct{}
}

var _ http.Handler = (*Reverse)(nil)

type ctxKey struct{}

// flight is what the proxy learns about one exchange as it passes.
type flight struct {
	ex      *inspect.Exchange
	start   time.Time
	ttfb    time.Duration
	reqBody *tee
	// reqLength is the request's Content-Length, -1 when unknown.
	reqLength int64
	route     *Route
	target    *url.URL // where the request goes (scheme and host)
	upstream  string   // the URL it went to
	// own says the request is a delivery of hooklab's own webhook
	// (Options.OwnDelivery): its secret query values are recorded redacted.
	own    bool
	tunnel *tunnel
	once   sync.Once
	// buffered is the start of the request body read for matching (up to
	// MaxBody+1 bytes), when it was; bufLarge says whether it holds its
	// places (placed) or got none (cut: recorded to LargeBody).
	buffered []byte
	didBuf   bool
	bufLarge int8
	// hold is the places the exchange's large bodies hold.
	hold holder
	// whole is the request body when it was read whole (see smallBody).
	whole []byte
	// request is the client's request's context: done when it went away.
	request context.Context
	// sent counts the answer's body bytes written to the client, and
	// sendErr is the write that failed (see clientWriter).
	sent    int64
	sendErr error
	// answered is set once a final status went to the client's writer.
	answered bool
	// origin is the scheme and Host the client reached a reverse proxy
	// at ("http://127.0.0.1:9000"), for a Location given back in its
	// terms; "" in forward mode or without a Host.
	origin string
	// clientURL is the URL of the client's request, against which it
	// resolves a relative Location.
	clientURL *url.URL
}

// NewReverse returns a reverse proxy over opts.Routes, longest prefix first.
// Each route needs an http or https upstream.
func NewReverse(opts Options) (*Reverse, error) {
	return newReverse(opts, false)
}

func newReverse(opts Options, forward bool) (*Reverse, error) {
	if opts.MaxBody <= 0 {
		opts.MaxBody = 10 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.WholeBodyTimeout <= 0 {
		opts.WholeBodyTimeout = 30 * time.Second
	}
	if opts.IDs == nil {
		opts.IDs = new(inspect.IDs)
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	var own *http.Transport
	if opts.Transport == nil {
		own = NewTransport()
		if opts.InsecureUpstream {
			own.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
		}
		opts.Transport = own
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 8192
	}
	if opts.MaxPendingBytes <= 0 {
		opts.MaxPendingBytes = 16 << 20
	}
	p := &Reverse{opts: opts, forward: forward, log: opts.Logger, storeLog: inspect.NewLogLimit(5 * time.Second), decoding: make(chan struct{}, MaxDecoding),
		large: make(chan struct{}, LargeBodyPlaces), pacer: inspect.NewPacer(opts.CutOff, opts.WholeBodyTimeout), own: own}
	p.pending = newRecorder(opts, func(ex *inspect.Exchange) {
		defer p.wg.Done()
		if err := opts.Record(opts.Context, ex); err != nil {
			p.storeLog.Log(p.log, slog.LevelError, "proxy exchange not stored", "id", ex.ID, "err", err) // the logger names the proxy
		}
	})
	if err := p.SetRoutes(opts.Routes); err != nil {
		return nil, err
	}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      opts.Transport,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
		ErrorLog:       slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
		BufferPool:     newBufferPool(),
		// What the upstream sent goes on within flushInterval, as it
		// would without hooklab between: the status line of a slow body
		// of known length, and what passed of one the upstream then
		// breaks off (held in the server's buffer, it was lost with the
		// connection). Streams of unknown length (chunked, server-sent
		// events) are flushed at every write, as ReverseProxy does.
		FlushInterval: flushInterval,
	}
	return p, nil
}

// SetRoutes replaces the proxy's routes, for a config reload; requests in
// flight finish on the old ones. It returns an error, and changes nothing,
// when a route is invalid.
func (p *Reverse) SetRoutes(routes []Route) error {
	routes = append([]Route(nil), routes...)
	if len(routes) == 0 && !p.forward {
		return fmt.Errorf("proxy %s: no routes", p.opts.Name)
	}
	if p.forward && !slices.ContainsFunc(routes, func(rt Route) bool { return rt.Prefix == "/" || rt.Prefix == "" }) {
		routes = append(routes, Route{Prefix: "/"}) // every request goes somewhere
	}
	for i := range routes {
		rt := &routes[i]
		if rt.Prefix == "" {
			rt.Prefix = "/"
		}
		if !strings.HasPrefix(rt.Prefix, "/") {
			return fmt.Errorf("proxy %s: route %q: the path prefix must start with /", p.opts.Name, rt.Prefix)
		}
		switch {
		case p.forward && rt.Upstream != nil:
			return fmt.Errorf("proxy %s: route %q: a forward proxy's routes have no upstream", p.opts.Name, rt.Prefix)
		case !p.forward && rt.Upstream == nil:
			return fmt.Errorf("proxy %s: route %q: upstream must be an http or https URL with a host", p.opts.Name, rt.Prefix)
		case !p.forward:
			if err := checkUpstream(rt.Upstream); err != nil {
				return fmt.Errorf("proxy %s: route %q: upstream must be an http or https URL with a host: %w", p.opts.Name, rt.Prefix, err)
			}
		}
		if rt.FailRate < 0 || rt.FailRate > 1 {
			return fmt.Errorf("proxy %s: route %q: fail rate %v is not between 0 and 1", p.opts.Name, rt.Prefix, rt.FailRate)
		}
	}
	// Longest prefix wins.
	for i := 1; i < len(routes); i++ {
		for j := i; j > 0 && len(routes[j].Prefix) > len(routes[j-1].Prefix); j-- {
			routes[j], routes[j-1] = routes[j-1], routes[j]
		}
	}
	p.routes.Store(&routes)
	return nil
}

// Name returns the proxy's name, the bin its exchanges are recorded in.
func (p *Reverse) Name() string { return p.opts.Name }

// Simulations reports the simulations its routes hold from the config
// (simulate:), in route order.
func (p *Reverse) Simulations() []SimulationStatus {
	var out []SimulationStatus
	for _, rt := range *p.routes.Load() {
		if rt.Simulation != nil {
			st := rt.Simulation.Status()
			st.Proxy, st.Route, st.Config = p.opts.Name, rt.Prefix, true
			out = append(out, st)
		}
	}
	return out
}

// counter counts work in flight and waits for none. Unlike a WaitGroup it
// may count up from zero while someone waits (a request that began just as
// shutdown did): the wait then lasts until that one is done too.
type counter struct {
	mu   sync.Mutex
	n    int
	zero *sync.Cond
}

func (c *counter) add(d int) {
	c.mu.Lock()
	c.n += d
	if c.n == 0 && c.zero != nil {
		c.zero.Broadcast()
	}
	c.mu.Unlock()
}

func (c *counter) wait() {
	c.mu.Lock()
	if c.zero == nil {
		c.zero = sync.NewCond(&c.mu)
	}
	for c.n > 0 {
		c.zero.Wait()
	}
	c.mu.Unlock()
}

// cutOff reports whether hooklab has cut off the requests still open.
func (p *Reverse) cutOff() bool { return p.opts.CutOff != nil && p.opts.CutOff.Err() != nil }

// answerCutOff answers a request hooklab cut off at its shutdown deadline
// with a 503, which is recorded: the client must not get the default 200
// of a handler that wrote nothing.
func (p *Reverse) answerCutOff(w http.ResponseWriter, f *flight, during string) {
	msg := fmt.Sprintf("proxy %s: hooklab stopped %s", p.opts.Name, during)
	f.ex.Error = msg
	answerJSON(w, f, http.StatusServiceUnavailable, []byte(fmt.Sprintf(`{"error":%q,"upstream":%q}`+"\n", msg, f.upstream)))
}

// Wait blocks until every recording in flight has been handed to Record.
func (p *Reverse) Wait() { p.wg.Wait() }

// Shutdown closes the upgraded connections still open, which records them,
// and waits until the requests being served have ended and every
// recording is handed to Record, or ctx ends. Call it after the listener's
// server has shut down (or given up); an upgrade that completes later is
// closed at once. The idle upstream connections of the transport the proxy
// made (not those of Options.Transport) are closed then.
func (p *Reverse) Shutdown(ctx context.Context) error {
	p.closeTunnels()
	defer p.closeIdle()
	done := make(chan struct{})
	go func() { p.active.wait(); p.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// closeIdle closes the idle keep-alive connections of the transport the
// proxy made, which would otherwise stay open, with their goroutines, for
// its IdleConnTimeout after the proxy has stopped.
func (p *Reverse) closeIdle() {
	if p.own != nil {
		p.own.CloseIdleConnections()
	}
}

// CloseTunnels closes (and so records) the websockets and other upgraded
// connections open through the proxy, and any upgraded from now on: at the
// start of a shutdown, since the server's Shutdown neither waits for nor
// closes them (Shutdown does it too).
func (p *Reverse) CloseTunnels() { p.closeTunnels() }

// closeTunnels closes (and so records) the upgraded connections still
// open, and any upgraded from now on.
func (p *Reverse) closeTunnels() {
	p.mu.Lock()
	p.closed = true
	open := make([]*tunnel, 0, len(p.tunnels))
	for t := range p.tunnels {
		open = append(open, t)
	}
	p.mu.Unlock()
	for _, t := range open {
		_ = t.Close()
	}
}

// openTunnel tracks t until it is recorded; it reports false when the
// proxy is shutting down, and t must then be closed.
func (p *Reverse) openTunnel(t *tunnel) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	if p.tunnels == nil {
		p.tunnels = map[*tunnel]struct{}{}
	}
	p.tunnels[t] = struct{}{}
	return true
}

func (p *Reverse) route(path string) *Route {
	routes := *p.routes.Load()
	for i := range routes {
		rt := &routes[i]
		if rt.Prefix == "/" || path == rt.Prefix || strings.HasPrefix(path, strings.TrimSuffix(rt.Prefix, "/")+"/") {
			return rt
		}
	}
	return nil
}

// ruleScope caches, per live config, whether it has mocks for this proxy.
type ruleScope struct {
	cfg *rules.Config
	has bool
}

// intercepting reports whether Intercept should see this request.
func (p *Reverse) intercepting() bool {
	if p.opts.Intercept == nil {
		return false
	}
	if p.opts.Rules == nil {
		return true
	}
	cfg := p.opts.Rules()
	if s := p.scope.Load(); s != nil && s.cfg == cfg {
		return s.has
	}
	has := HasMocks(cfg, p.opts.Name)
	p.scope.Store(&ruleScope{cfg: cfg, has: has})
	return has
}

// HasMocks reports whether cfg has a mock rule scoped to the proxy named
// name ("proxy: NAME" or "proxy: '*'").
func HasMocks(cfg *rules.Config, name string) bool {
	if cfg == nil {
		return false
	}
	for _, m := range cfg.Mocks {
		if m.Proxy == name || m.Proxy == "*" {
			return true
		}
	}
	return false
}

func (p *Reverse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.active.add(1)
	defer p.active.add(-1)
	p.serve(w, r, nil)
}

// serve handles one request. target, in forward mode, is the scheme and
// host the request goes to; nil sends it to its route's upstream.
func (p *Reverse) serve(w http.ResponseWriter, r *http.Request, target *url.URL) {
	start := p.opts.Now()
	rt := p.route(r.URL.Path)
	if rt == nil {
		inspect.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "proxy " + p.opts.Name + ": no route for " + r.URL.Path})
		return
	}
	if target == nil {
		target = rt.Upstream
	}
	f := &flight{
		ex:      &inspect.Exchange{ID: p.opts.IDs.New(start), Bin: p.opts.Name, Source: inspect.SourceProxy, Time: start, Request: inspect.RequestOf(r)},
		start:   start,
		route:   rt,
		target:  target,
		request: r.Context(),
	}
	f.hold.p = p
	// The places of the exchange's large bodies are given back once it is
	// recorded (finish), or when the request's handling ends, however it
	// does (an upgraded connection is recorded when it closes).
	defer f.hold.release()
	if !p.forward && r.Host != "" {
		f.origin = "http://" + r.Host
		if r.TLS != nil {
			f.origin = "https://" + r.Host
		}
	}
	if p.opts.OwnCredentials != nil {
		f.ex.Request.Headers = inspect.RedactNamed(f.ex.Request.Headers, p.opts.OwnCredentials(r.Header))
	}
	if p.opts.OwnDelivery != nil && p.opts.OwnDelivery(r.Header) {
		f.own = true
		f.ex.Request.URL, _ = inspect.RedactQuery(f.ex.Request.URL, inspect.QuerySecret(p.opts.SecretHeaders))
	}
	sim := p.simulation(rt)
	intercept := p.intercepting()
	if intercept || sim != nil {
		if err := p.buffer(w, r, f); err != nil {
			p.bodyFailed(w, f, fmt.Sprintf("%d bytes", len(f.buffered)), err)
			return
		}
	}
	if intercept {
		req := &rules.Request{
			Method: r.Method, Path: r.URL.Path, EscapedPath: rules.EscapedPath(r.URL), RawQuery: r.URL.RawQuery, Header: rules.RequestHeader(r), Host: r.Host,
			Body: f.bodyForRules(p.opts.MaxBody), Bin: p.opts.Name, Proxy: p.opts.Name,
			Secret: func(name string) bool { return inspect.IsSecretHeader(name, p.opts.SecretHeaders) },
		}
		if int64(len(f.buffered)) > p.opts.MaxBody { // cut for the rules
			req.BodySize = max(r.ContentLength, -1) // -1: a chunked body's size is not known
		}
		if answer := p.intercept(r, req, f); answer != nil {
			p.answer(w, f, answer)
			p.finish(f, nil)
			return
		}
	}
	if d := rt.Delay.Pick(); d > 0 {
		f.meta()["delay_ms"] = d.Milliseconds()
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			if p.cutOff() {
				p.answerCutOff(w, f, "during the route's delay, before the request went to upstream "+f.target.Host)
				p.finish(f, nil)
				return
			}
			f.ex.Error = "client went away during the injected delay"
			p.finish(f, nil)
			panic(http.ErrAbortHandler) // no default 200 (see errorHandler)
		}
	}
	if fault, fail := rt.pickFault(); fail {
		if fault != rules.FaultDrip {
			p.injectFault(w, r, f, fault)
			return
		}
		f.meta()["fault"] = string(rules.FaultDrip)
		w = newDripWriter(w, r.Context(), rt.DripRate)
	}
	if sim != nil && sim.serve(asSent{w}, r, f.bodyForRules(p.opts.MaxBody), f.ex, p.forward) { // the recorded headers only
		p.finish(f, nil)
		return
	}
	// The upstream gets a copy of r with the teed body: the server keeps
	// its own, whose type tells it, among other things, that a client
	// waiting for 100 Continue never got one (then it closes the connection
	// after the answer instead of waiting for a body that won't come).
	out := r.WithContext(context.WithValue(r.Context(), ctxKey{}, f))
	if r.Body != nil && r.Body != http.NoBody {
		f.reqBody, f.reqLength = newTee(r.Body, p.opts.MaxBody, r.ContentLength), r.ContentLength
		f.reqBody.h = &f.hold
		if f.didBuf {
			f.reqBody.adopt(f.buffered, f.bufLarge)
		}
		out.Body = f.reqBody
		if !f.didBuf && r.ContentLength > 0 && r.ContentLength <= smallBody && r.Header.Get("Expect") == "" {
			body, err := readWhole(w, f.reqBody, r.ContentLength, p.opts.WholeBodyTimeout)
			if err != nil {
				p.bodyFailed(w, f, fmt.Sprintf("%d of %d bytes", f.reqBody.count(), r.ContentLength), err)
				return
			}
			f.whole = body // rewrite hands it to the Transport
		}
	}
	p.relay(asSent{clientWriter{w, f}}, out, f)
	if f.tunnel != nil {
		f.tunnel.Close() // the upgraded connection is over; this records it
	}
	// A response whose body was never read to its end (HEAD, 304, a client
	// gone) is finished here.
	p.finish(f, nil)
}

// relay has the ReverseProxy pass out to the upstream and its answer back
// to w. When the upstream's body breaks off (or the client goes) the
// ReverseProxy drops the connection by panicking with ErrAbortHandler;
// what it had written of the answer waited in the server's buffer for the
// flush interval, and the client of an answer that broke off within it got
// nothing, not even the status the record shows. So what was written is
// flushed first: the client gets what the upstream sent, then the close.
// (The ReverseProxy has stopped its flush timer by then. An answer it
// never began, its ErrorHandler's abort, has nothing to flush, and no
// status line is made up for it.)
func (p *Reverse) relay(w http.ResponseWriter, out *http.Request, f *flight) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler && f.answered {
				_ = http.NewResponseController(w).Flush()
			}
			panic(v)
		}
	}()
	p.rp.ServeHTTP(w, out)
}

// flushInterval is how long what an upstream sent may wait in the
// server's buffer. Flushing at every write cost 12% of the proxy's
// throughput in "bench proxy" (a write(2) for every read of a body); a
// small answer is over long before this, in one write.
const flushInterval = 20 * time.Millisecond

// smallBody is the largest request body of known length that the proxy
// reads whole before it forwards the request, as webhook bodies mostly are.
// Go's Transport sends the headers of a request in a write of their own
// unless the body is one it can see is in memory, so a streamed body costs
// a second write and TCP segment on both sides of the upstream connection
// (measured: four write(2) calls per proxied 1 KiB POST, three with this).
// Larger and chunked bodies stream through the tee, and so does a body
// whose client waits for 100 Continue: that answer is the upstream's to
// give.
const smallBody = 64 << 10

// readWhole reads the n-byte body (n at most smallBody) from t within
// timeout. It allocates past the first 4 KiB only once those have arrived,
// so a client that sends nothing holds little. After a failure the deadline stays
// passed, so the server, which reads what is left of a body before it
// answers, gives up on it too and closes the connection after the answer.
func readWhole(w http.ResponseWriter, t *tee, n int64, timeout time.Duration) ([]byte, error) {
	rc := http.NewResponseController(w)
	deadline := rc.SetReadDeadline(time.Now().Add(timeout)) == nil
	buf, err := readFull(t, n)
	if err != nil {
		if deadline {
			_ = rc.SetReadDeadline(time.Now())
		}
		return nil, err
	}
	if deadline {
		_ = rc.SetReadDeadline(time.Time{})
	}
	return buf, nil
}

// readFull reads n bytes from r, allocating past the first 4 KiB only once
// they have arrived.
func readFull(r io.Reader, n int64) ([]byte, error) {
	const first = 4 << 10
	buf := make([]byte, min(n, first))
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if n > first {
		buf = append(buf, make([]byte, n-first)...)
		if _, err := io.ReadFull(r, buf[first:]); err != nil {
			return nil, err
		}
	}
	return buf, nil
}

// intercept asks the Intercept hook. An answer that ends in a panic (a
// fault that aborts the connection) is still recorded.
func (p *Reverse) intercept(r *http.Request, req *rules.Request, f *flight) func(http.ResponseWriter) {
	if ce := r.Header.Get("Content-Encoding"); ce != "" && len(req.Body) > 0 && req.BodySize == 0 { // not cut for the rules
		// Rules read a gzip or deflate body decoded, as capture's do. A
		// few KB decode to MaxBody, so at most MaxDecoding requests hold
		// a decoded body at once, until the hook has decided; a client
		// gone while waiting needs no decision worth a decode.
		select {
		case p.decoding <- struct{}{}:
			defer func() { <-p.decoding }()
			if dec, err := inspect.DecodeContent(ce, req.Body, p.opts.MaxBody+1); err == nil {
				req.UseDecoded(dec, p.opts.MaxBody)
			}
		case <-r.Context().Done():
		}
	}
	defer p.aborted(f)
	return p.opts.Intercept(r, req, f.ex)
}

// answer writes the answer the Intercept hook gave.
func (p *Reverse) answer(w http.ResponseWriter, f *flight, answer func(http.ResponseWriter)) {
	defer p.aborted(f)
	answer(w)
}

// aborted records an intercepted answer that ends in a panic (a fault that
// aborts the connection) before the panic goes on.
func (p *Reverse) aborted(f *flight) {
	if v := recover(); v != nil {
		if f.ex.Error == "" {
			f.ex.Error = fmt.Sprintf("intercepted answer aborted: %v", v)
		}
		p.finish(f, nil)
		panic(v)
	}
}

// MaxDecoding is how many requests a proxy decodes from their
// Content-Encoding for its mock rules at once; more wait for a place (or
// for their client to go).
const MaxDecoding = 4

// simulation returns the simulation that answers rt's requests, or nil.
func (p *Reverse) simulation(rt *Route) *Simulation {
	if p.opts.Simulator != nil {
		if s, own := p.opts.Simulator.For(p.opts.Name); s != nil && (own || rt.Simulation == nil) {
			return s
		}
	}
	return rt.Simulation
}

// bodyFailed answers and records a request whose body could not be read
// (read says how much arrived): 408 when it stopped coming, else 400 (a
// client that closed its side, broken chunking), before anything went to
// the upstream. A client already gone never reads the answer; the record
// keeps what arrived and why it ended.
func (p *Reverse) bodyFailed(w http.ResponseWriter, f *flight, read string, err error) {
	code := http.StatusBadRequest
	if ne := net.Error(nil); errors.As(err, &ne) && ne.Timeout() {
		code = http.StatusRequestTimeout
	}
	f.ex.Error = fmt.Sprintf(inspect.BodyReadError+"%s: %v", read, err)
	answerJSON(w, f, code, []byte(fmt.Sprintf(`{"error":%q}`+"\n", "proxy "+p.opts.Name+": "+f.ex.Error)))
	p.finish(f, nil)
}

// buffer reads the start of the request body (up to MaxBody+1 bytes) for
// matching, and puts it back in front of the rest for the upstream. The
// body must keep coming while it is read (inspect.PacedBody). Past
// LargeBody it takes the request's places (see holder) if they are free;
// the rules see the whole body either way (so this buffer is not bounded
// by them), and without them it is recorded cut at LargeBody.
func (p *Reverse) buffer(w http.ResponseWriter, r *http.Request, f *flight) error {
	f.didBuf = true
	if r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	limit := p.opts.MaxBody + 1
	first := min(limit, LargeBody+1)
	buf := make([]byte, 0, min(max(r.ContentLength, 512), first))
	pb := p.pacer.Body(r.Body, http.NewResponseController(w))
	defer pb.Done(false) // after a panic; else done already
	buf, err := readUpTo(pb, buf, first)
	if err == nil && int64(len(buf)) == first && first < limit {
		f.bufLarge = cut
		if f.hold.take() {
			f.bufLarge = placed
			if r.ContentLength > int64(len(buf)) {
				buf = slices.Grow(buf, int(min(r.ContentLength, limit))-len(buf))
			}
		}
		// The rules see the body whole (to max_body) with places or
		// without: what a mock or a simulation answers must not depend
		// on other traffic. Without them it is only recorded cut (adopt).
		buf, err = readUpTo(pb, buf, limit)
	}
	pb.Done(err == nil)
	f.buffered = buf
	if err != nil {
		return err
	}
	orig := r.Body
	r.Body = &replayBody{Reader: io.MultiReader(bytes.NewReader(f.buffered), orig), c: orig}
	return nil
}

// readUpTo reads r into b until it holds limit bytes or r ends, growing b
// as the bytes come. It returns nil at the end of r.
func readUpTo(r io.Reader, b []byte, limit int64) ([]byte, error) {
	for int64(len(b)) < limit {
		if len(b) == cap(b) {
			b = slices.Grow(b, int(min(int64(max(cap(b), 512)), limit-int64(len(b)))))
		}
		n, err := r.Read(b[len(b):min(int64(cap(b)), limit)])
		b = b[:len(b)+n]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	return b, nil
}

// bodyForRules is the buffered body as matchers see it (at most max
// bytes).
func (f *flight) bodyForRules(max int64) []byte {
	if int64(len(f.buffered)) > max {
		return f.buffered[:max]
	}
	return f.buffered
}

// meta returns the exchange's Meta, made when needed.
func (f *flight) meta() map[string]any {
	if f.ex.Meta == nil {
		f.ex.Meta = map[string]any{}
	}
	return f.ex.Meta
}

// replayBody is a request body whose start was read and is served again.
type replayBody struct {
	io.Reader
	c io.Closer
}

func (b *replayBody) Close() error { return b.c.Close() }

func (p *Reverse) rewrite(pr *httputil.ProxyRequest) {
	f := pr.In.Context().Value(ctxKey{}).(*flight)
	f.clientURL = pr.In.URL
	rt := f.route
	out := pr.Out
	// ReverseProxy drops query parameters url.ParseQuery cannot read
	// (a=%zz, a;b); a recording proxy passes the query on byte for byte,
	// as a receiver that signs the URL needs.
	out.URL.RawQuery = pr.In.URL.RawQuery
	if f.didBuf {
		// The body was read for matching, so the client has had its 100
		// Continue from hooklab: one asked of the upstream would reach it
		// as a second, or hold the body back until the Transport's wait
		// for it ends.
		out.Header.Del("Expect")
	}
	if f.whole != nil {
		// In place of ReverseProxy's wrapper, which hides that the body
		// is in memory from the Transport (see smallBody).
		out.Body = io.NopCloser(bytes.NewReader(f.whole))
	}
	// The prefix itself, stripped, leaves nothing: the upstream's own path
	// goes as it is, not with a slash the client did not send (/v2 to
	// /base, not /base/).
	bare := false
	if rt.Strip && rt.Prefix != "/" {
		rest, escaped := stripPrefix(out.URL, strings.TrimSuffix(rt.Prefix, "/"))
		bare = rest == "" && !strings.HasSuffix(out.URL.Path, "/")
		out.URL.Path, out.URL.RawPath = "/"+rest, "/"+escaped
	}
	// Rewrite starts Out without the inbound Forwarded and X-Forwarded-*
	// headers: a forward proxy passes its client's on as they are (as it
	// records them); a reverse proxy passes Forwarded on and adds to
	// X-Forwarded-For below.
	passOn := []string{"Forwarded"}
	if p.forward {
		passOn = append(passOn, "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto")
	}
	// ReverseProxy has removed from Out the headers the client's
	// Connection header names (RFC 9110 7.6.1); what is copied from In
	// skips them too.
	hop := connectionNamed(pr.In.Header)
	for _, k := range passOn {
		if v := pr.In.Header.Values(k); len(v) > 0 && !hop[k] {
			out.Header[k] = slices.Clone(v)
		}
	}
	if p.forward {
		// The request goes where its client meant it to, Host and all.
		out.URL.Scheme, out.URL.Host = f.target.Scheme, f.target.Host
		out.Host = pr.In.Host
	} else {
		pr.SetURL(rt.Upstream)
		if bare && len(out.URL.Path) > 1 && !strings.HasSuffix(rt.Upstream.Path, "/") {
			out.URL.Path, out.URL.RawPath = strings.TrimSuffix(out.URL.Path, "/"), ""
		}
		// The client's own chain goes on, with its address added (Rewrite
		// starts Out without the inbound X-Forwarded-* headers).
		if xff := pr.In.Header.Values("X-Forwarded-For"); len(xff) > 0 && !hop["X-Forwarded-For"] {
			out.Header["X-Forwarded-For"] = slices.Clone(xff)
		}
		pr.SetXForwarded()
		if pr.In.Host == "" {
			// An HTTP/1.0 request without Host: there is no host to say
			// (SetXForwarded would send the header empty).
			out.Header.Del("X-Forwarded-Host")
		}
		out.Host = rt.Upstream.Host
		// Credentials in the upstream URL are sent as curl would, unless
		// the client sent its own.
		if u := rt.Upstream.User; u != nil && out.Header.Get("Authorization") == "" {
			pw, _ := u.Password()
			out.SetBasicAuth(u.Username(), pw)
		}
	}
	for k, v := range rt.SetRequestHeaders {
		if http.CanonicalHeaderKey(k) == "Host" {
			// The Transport sends Out.Host, never a Host in the header
			// map: a route that sets one means the upstream's Host.
			out.Host = v
			continue
		}
		out.Header.Set(k, v)
	}
	for _, k := range rt.RemoveRequestHeaders {
		out.Header.Del(k)
	}
	f.upstream = p.shownUpstream(out.URL, rt, f.own) // recorded and shown in errors
}

// shownUpstream is u, where a request through route rt went, as it is
// recorded (meta.upstream) and shown in answers: with Redacted for its
// password (user info a forward proxy's client sent) and for the values
// of the secret-named query parameters of the route's upstream (?api_key=
// as hooklab was given it, which SetURL puts before the client's own), as
// the startup line shows them, and for a delivery of hooklab's own
// webhook (own) for those of the whole query. The client's own query is
// otherwise kept as it was sent: the recorded request shows it so.
func (p *Reverse) shownUpstream(u *url.URL, rt *Route, own bool) string {
	secret := inspect.QuerySecret(p.opts.SecretHeaders)
	c := *u
	if own {
		return inspect.ShownURL(c.String(), secret)
	}
	q := ""
	if !p.forward && rt.Upstream != nil {
		q = rt.Upstream.RawQuery
	}
	if q != "" {
		rest, ok := strings.CutPrefix(c.RawQuery, q)
		if !ok {
			return inspect.ShownURL(c.String(), secret) // not where SetURL puts it: all of it
		}
		shown, _ := inspect.RedactQuery("?"+q, secret)
		c.RawQuery = shown[1:] + rest
	}
	return inspect.RedactURL(c.String())
}

// stripPrefix returns u's path after prefix (which the decoded path starts
// with, as routes match it) and one slash, decoded and as the client
// escaped it: an escaped slash or semicolon in the rest is part of a
// segment, and the upstream must get it so (/projects/group%2Fname).
func stripPrefix(u *url.URL, prefix string) (rest, escaped string) {
	rest = strings.TrimPrefix(u.Path, prefix)
	// Each byte of the decoded path is one byte of the escaped one, or a
	// %XX triplet: skip as many as the prefix has.
	escaped = u.EscapedPath()
	i := 0
	for range len(u.Path) - len(rest) {
		if i < len(escaped) && escaped[i] == '%' {
			i += 2
		}
		i++
	}
	escaped = escaped[min(i, len(escaped)):]
	if r, ok := strings.CutPrefix(rest, "/"); ok {
		rest = r
		if len(escaped) >= 3 && escaped[0] == '%' {
			escaped = escaped[3:] // %2F
		} else {
			escaped = escaped[1:]
		}
	}
	return rest, escaped
}

func (p *Reverse) modifyResponse(resp *http.Response) error {
	f := resp.Request.Context().Value(ctxKey{}).(*flight)
	// The transport hands the response over as soon as its header is read:
	// this is the upstream's time to first byte, without the cost of an
	// httptrace per request.
	f.ttfb = p.opts.Now().Sub(f.start)
	rt := f.route
	if loc := resp.Header.Get("Location"); loc != "" && f.origin != "" {
		if to, ok := clientLocation(loc, resp.Request, f.clientURL, rt, f.origin); ok && to != loc && p.routesBack(to, rt) {
			resp.Header.Set("Location", to)
			f.meta()["upstream_location"] = inspect.RedactURL(loc)
		}
	}
	for k, v := range rt.SetResponseHeaders {
		resp.Header.Set(k, v)
	}
	for _, k := range rt.RemoveResponseHeaders {
		resp.Header.Del(k)
	}
	hdr := inspect.FromHTTP(resp.Header)
	if len(resp.TransferEncoding) > 0 && resp.Header.Get("Transfer-Encoding") == "" {
		// net/http takes it out of the header: recorded as sent, as a
		// chunked request's is (inspect.RequestOf).
		hdr = append(hdr, inspect.Header{Name: "Transfer-Encoding", Value: strings.Join(resp.TransferEncoding, ", ")})
	}
	f.ex.Response = &inspect.Response{Status: resp.StatusCode, Headers: hdr}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if rwc, ok := resp.Body.(io.ReadWriteCloser); ok {
			f.tunnel = newTunnel(rwc, func(t *tunnel) {
				p.mu.Lock()
				delete(p.tunnels, t)
				p.mu.Unlock()
				p.finish(f, t)
			})
			resp.Body = f.tunnel
			if !p.openTunnel(f.tunnel) {
				_ = f.tunnel.Close() // shutting down: the client gets a closed connection
			}
			return nil
		}
	}
	body := newTee(resp.Body, p.opts.MaxBody, resp.ContentLength)
	body.h = &f.hold
	body.gone = f.request
	resp.Body = &respTee{tee: body, done: func(t *tee) {
		// Trailers (gRPC's grpc-status) arrive with the body's end, which
		// has been read when the body is closed; ReverseProxy sends them
		// on after that.
		if tr := inspect.FromHTTP(resp.Trailer); len(tr) > 0 { // those sent: one announced only has no values
			f.meta()["trailers"] = tr
		}
		p.finishBody(f, t)
	}}
	return nil
}

// clientLocation gives loc, a Location an upstream answered out (the
// request it answered), in the terms of the client whose request in
// reached route rt at origin, as nginx's proxy_redirect does by default.
// An upstream sent its own Host builds its absolute redirects on it, and
// a client that followed one would pass the proxy by, unrecorded. A path
// from the root ("/login", as Go's http.Redirect, Express and Flask give)
// is on the upstream too, and is given back as a path: a client that
// followed it as it is would miss a stripped prefix, or go to another
// route. One relative to the request's path ("login", "../x") stays as it
// is where the client, resolving it against its own URL, reaches what the
// upstream meant; where it would not (a stripped prefix, or a base path,
// climbed out of), it is given back as a path from the root. Dot segments
// are resolved first: /base/../x is /x, outside a base /base. ok is false
// for a Location to anywhere else (another host or scheme, a path no
// request through rt reaches, such as one outside the route's upstream
// path or its base path itself without the slash the proxy always sends
// after it), which goes as it is.
func clientLocation(loc string, out *http.Request, in *url.URL, rt *Route, origin string) (string, bool) {
	u, err := url.Parse(loc)
	if err != nil || u.User != nil || u.Opaque != "" || escapedDots(u.EscapedPath()) {
		// %2e%2e is .. to a browser, a name to Go: what it points at
		// depends on who follows it.
		return "", false
	}
	rel := u.Scheme == "" && u.Host == ""
	if u.Scheme == "" && u.Host != "" { // //host/path: the request's scheme
		u.Scheme = out.URL.Scheme
	}
	if !rel && (u.Scheme != out.URL.Scheme ||
		!sameHost(u.Host, out.URL.Host, u.Scheme) && !sameHost(u.Host, out.Host, u.Scheme)) {
		return "", false
	}
	// What the upstream meant, its dot segments resolved (as clients
	// resolve them), and the path the client sends the proxy for it.
	meant := out.URL.ResolveReference(u)
	to, ok := clientPath(meant.EscapedPath(), rt)
	if !ok {
		return "", false
	}
	if rel && !strings.HasPrefix(u.Path, "/") {
		if in != nil && in.ResolveReference(u).EscapedPath() == to {
			return loc, true // the client reaches it as it is
		}
	}
	if rel && strings.HasPrefix(to, "//") {
		return "", false // a path from the root would read as //host
	}
	c := *u
	if !rel {
		o, err := url.Parse(origin)
		if err != nil {
			return "", false
		}
		c.Scheme, c.Host = o.Scheme, o.Host
	}
	if c.Path, err = url.PathUnescape(to); err != nil {
		return "", false
	}
	c.RawPath = to
	return c.String(), true
}

// clientPath returns the path, escaped, that a client sends through route
// rt for its upstream to get path up (escaped, its dot segments resolved),
// and whether there is one. The proxy sends the upstream its base path
// (less a trailing slash), then the client's path, which begins with a
// slash (less a stripped prefix; the prefix alone, stripped, sends the base
// as it is written).
func clientPath(up string, rt *Route) (string, bool) {
	base := rt.Upstream.EscapedPath()
	b := strings.TrimSuffix(base, "/")
	rest, ok := strings.CutPrefix(up, b)
	if !ok {
		return "", false
	}
	strip := rt.Strip && rt.Prefix != "/"
	switch {
	case rest == "" && b == "":
		rest = "/" // the upstream's root, written without its slash
	case rest == "":
		// The base itself, without a slash after it: only a stripped
		// prefix alone sends it, and only a base written so.
		if !strip || strings.HasSuffix(base, "/") {
			return "", false
		}
	case rest[0] != '/':
		return "", false // /basement is not under /base
	}
	if strip {
		rest = strings.TrimSuffix(rt.Prefix, "/") + rest
	}
	return rest, true
}

// escapedDots reports whether the escaped path p has a segment that a
// browser takes for . or .. and Go's URL resolution does not (%2e, .%2E).
func escapedDots(p string) bool {
	if !strings.Contains(p, "%2") {
		return false
	}
	for seg := range strings.SplitSeq(p, "/") {
		switch strings.ToLower(seg) {
		case "%2e", ".%2e", "%2e.", "%2e%2e":
			return true
		}
	}
	return false
}

// routesBack reports whether the proxy sends the path of to, a Location
// given in its terms, to route rt again: a path another route takes (a
// longer prefix, or the "/" route for one outside rt's prefix) would take
// a client that followed it to another upstream than the one that meant it.
func (p *Reverse) routesBack(to string, rt *Route) bool {
	u, err := url.Parse(to)
	if err != nil {
		return false
	}
	back := p.route(u.Path)
	return back != nil && back.Prefix == rt.Prefix
}

// sameHost reports whether the authorities a and b name the same host and
// port, a missing port being scheme's default.
func sameHost(a, b, scheme string) bool {
	port := func(h string) string {
		if _, _, err := net.SplitHostPort(h); err == nil {
			return h
		}
		if scheme == "https" {
			return net.JoinHostPort(strings.Trim(h, "[]"), "443")
		}
		return net.JoinHostPort(strings.Trim(h, "[]"), "80")
	}
	return a != "" && strings.EqualFold(port(a), port(b))
}

func (p *Reverse) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	f := r.Context().Value(ctxKey{}).(*flight)
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		if p.cutOff() {
			p.answerCutOff(w, f, "before upstream "+f.target.Host+" answered") // the client is still there
			return
		}
		if f.reqBody != nil {
			if _, n, _, rerr := f.reqBody.result(false); rerr != nil && rerr != io.EOF {
				// It closed its side in the middle of its body (the
				// server takes that for gone, and cancels): told so, as
				// when the body is read whole.
				p.bodyFailed(w, f, fmt.Sprintf("%d bytes, some of them sent to upstream %s", n, f.target.Host), rerr)
				return
			}
		}
		f.ex.Error = "client went away: " + err.Error()
		// Nobody to answer. Returning would have the server write a
		// default 200, which a client that only closed its sending side
		// reads as the upstream's answer.
		p.finish(f, nil)
		panic(http.ErrAbortHandler)
	}
	if f.reqBody != nil {
		// The request's body broke on the client's side (bad chunking, a
		// client that stopped sending): the client's fault, not the
		// upstream's.
		if _, n, _, rerr := f.reqBody.result(false); rerr != nil && rerr != io.EOF {
			p.bodyFailed(w, f, fmt.Sprintf("%d bytes, some of them sent to upstream %s", n, f.target.Host), rerr)
			return
		}
	}
	code := http.StatusBadGateway
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		code = http.StatusGatewayTimeout
	}
	msg := fmt.Sprintf("proxy %s: upstream %s failed: %v", p.opts.Name, f.target.Host, err)
	if cve := (*tls.CertificateVerificationError)(nil); errors.As(err, &cve) {
		// A local service's self-signed certificate, most likely.
		msg += " (to proxy an upstream whose certificate is not trusted, start hooklab with --insecure-upstream, or add its CA to SSL_CERT_FILE)"
	}
	if tr, ok := p.opts.Transport.(*http.Transport); ok && tr.ResponseHeaderTimeout > 0 && strings.Contains(err.Error(), "timeout awaiting response headers") {
		msg += fmt.Sprintf(" (no answer within %v: the upstream is slow or hung)", tr.ResponseHeaderTimeout)
	}
	switch {
	case errors.Is(err, io.EOF):
		// A bare "EOF": the connection ended before a byte of answer.
		msg += " (it closed the connection without answering)"
	case errors.Is(err, io.ErrUnexpectedEOF):
		msg += " (it closed the connection in the middle of its answer's headers)"
	}
	if rhe := (tls.RecordHeaderError{}); f.target.Scheme == "https" && errors.As(err, &rhe) && string(rhe.RecordHeader[:]) == "HTTP/" {
		// Its answer to the TLS hello: a plain HTTP server's 400.
		if p.forward {
			msg += " (it answered in plain HTTP, not TLS)"
		} else {
			msg += " (it answered in plain HTTP, not TLS: is the upstream http? give it as http://" + f.target.Host + ")"
		}
	}
	if f.target.Scheme == "http" && answeredTLS(err) {
		msg += " (its answer is a TLS record, not HTTP: is the upstream https? give it as https://" + f.target.Host + ")"
	}
	f.ex.Error = msg
	answerJSON(w, f, code, []byte(fmt.Sprintf(`{"error":%q,"upstream":%q}`+"\n", msg, f.upstream)))
}

// answeredTLS reports whether err is the transport's "malformed HTTP
// response" over bytes that begin as a TLS record (a content type, 20 to
// 24, then version 3.x): the upstream speaks TLS where HTTP was sent, and
// answered with an alert. A bare reset or EOF says nothing of the kind.
func answeredTLS(err error) bool {
	const mark = "malformed HTTP response "
	s := err.Error()
	i := strings.Index(s, mark)
	if i < 0 {
		return false
	}
	q, qerr := strconv.QuotedPrefix(s[i+len(mark):])
	if qerr != nil {
		return false
	}
	b, qerr := strconv.Unquote(q)
	return qerr == nil && len(b) >= 3 && b[0] >= 20 && b[0] <= 24 && b[1] == 3 && b[2] <= 4
}

// answerJSON answers with a JSON body of the proxy's own and records it as
// the exchange's response.
func answerJSON(w http.ResponseWriter, f *flight, code int, body []byte) {
	f.ex.Response = &inspect.Response{
		Status:  code,
		Headers: inspect.Headers{{Name: "Content-Type", Value: "application/json"}},
		Body:    body, Size: int64(len(body)),
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func (p *Reverse) finishBody(f *flight, t *tee) {
	if f.ex.Response != nil && f.ex.Response.Body == nil {
		var err error
		var wasCut bool
		f.ex.Response.Body, f.ex.Response.Size, f.ex.Response.Truncated, wasCut, err = t.end() // read to its end here
		if wasCut {
			f.meta()["response_body"] = cutReason
		}
		switch {
		case err == nil || errors.Is(err, context.Canceled) && f.request != nil && f.request.Err() != nil:
			// Closed before its end, or its read canceled: the client
			// went away. Told where the upstream said how long the body
			// is; a body of unknown length (chunked, or to the close)
			// not read to its end was cut too.
			want, perr := strconv.ParseInt(f.ex.Response.Headers.Get("Content-Length"), 10, 64)
			if err != nil || perr != nil || want > f.ex.Response.Size {
				f.ex.Error = fmt.Sprintf(inspect.AnswerLeftError+"%d bytes of the answer", f.ex.Response.Size)
				if p.cutOff() {
					// Not the client: hooklab's shutdown deadline.
					f.ex.Error = fmt.Sprintf(inspect.AnswerStoppedError+"%d bytes of the answer", f.ex.Response.Size)
				}
				if perr == nil {
					f.ex.Error += fmt.Sprintf(" (of %d)", want)
				}
			}
		case !errors.Is(err, io.EOF):
			// The client's answer broke off there too (the connection
			// is closed; what it got of it depends on what was flushed).
			f.ex.Error = "reading upstream body: " + err.Error() + "; the answer to the client was cut off there"
		case f.sendErr != nil:
			// Read to its end, but the client went before it had all of
			// it (the last read's bytes held up by a drip fault).
			f.ex.Error = fmt.Sprintf(inspect.AnswerLeftError+"%d bytes of the answer (of %d)", f.sent, f.ex.Response.Size)
			if p.cutOff() {
				f.ex.Error = fmt.Sprintf(inspect.AnswerStoppedError+"%d bytes of the answer (of %d)", f.sent, f.ex.Response.Size)
			}
		}
	}
	p.finish(f, nil)
}

// finish records the exchange once, off the request's path.
func (p *Reverse) finish(f *flight, tun *tunnel) {
	f.once.Do(func() {
		ex := f.ex
		ex.Duration = p.opts.Now().Sub(f.start)
		switch {
		case f.reqBody != nil:
			var err error
			var wasCut bool
			ex.Request.Body, ex.Request.Size, ex.Request.Truncated, wasCut, err = f.reqBody.end()
			if wasCut {
				f.meta()["request_body"] = cutReason
			}
			if err == nil && f.ttfb > 0 && (f.reqLength < 0 || ex.Request.Size < f.reqLength) {
				// The upstream answered before the body was all forwarded
				// (a 401 or 413 to an upload does): the rest never passed.
				ex.Request.Truncated = true
				why := fmt.Sprintf("incomplete: the upstream answered after %d bytes of it were forwarded", ex.Request.Size)
				if wasCut {
					why += "; " + cutReason
				}
				f.meta()["request_body"] = why
			}
		case f.didBuf:
			// Answered without the upstream: what was read for matching is
			// what is known (at least Size bytes when truncated).
			ex.Request.Body, ex.Request.Size = f.bodyForRules(p.opts.MaxBody), int64(len(f.buffered))
			ex.Request.Truncated = int64(len(f.buffered)) > p.opts.MaxBody
			if f.bufLarge == cut {
				f.meta()["request_body"] = cutReason
			}
		}
		if f.upstream != "" {
			meta := f.meta()
			meta["upstream"] = f.upstream
			if f.ttfb > 0 { // else no answer came from it (a 502, a 504)
				meta["ttfb_ms"] = float64(f.ttfb.Microseconds()) / 1000
			}
		}
		if tun != nil {
			f.meta()["websocket"] = map[string]any{
				"bytes_up": tun.up.bytes, "bytes_down": tun.down.bytes,
				"frames_up": tun.up.frames, "frames_down": tun.down.frames,
			}
		}
		p.record(ex)
		f.hold.release() // the record has the bodies now
	})
}

// record hands ex to Record off the request's path (see recorder).
func (p *Reverse) record(ex *inspect.Exchange) {
	if p.opts.Record == nil {
		return
	}
	p.wg.Add(1)
	p.pending.add(ex)
}

// tee passes a body through while keeping its first max bytes and counting
// all of them. A request body's tee is read by the Transport, which may
// still be forwarding it when an upstream that answered early has ended
// the exchange; mu guards what finish reads meanwhile.
type tee struct {
	r   io.ReadCloser
	mu  sync.Mutex
	buf []byte // what is kept: up to max bytes
	max int64
	n   int64
	err error

	// Past LargeBody a body is kept only with its places, taken from h
	// (when set) as it grows past; without them it is kept to LargeBody
	// (cut).
	h     *holder
	large int8  // small, placed or cut
	size  int64 // what r says it holds, -1 when not known
	// skip is how many of the first bytes are kept already (read for
	// matching, and given to the tee by adopt).
	skip int64
	// ended: the exchange is recorded (end), and nothing more is kept.
	ended bool
	// gone, when set, is the client's request's context: an end of the
	// body read after it was done did not reach the client. An upstream
	// over TLS that the canceled request's close_notify reaches first
	// ends its answer cleanly (its handler sees the cancel and returns),
	// and that end can still be read before the connection is closed.
	gone context.Context
}

// What a tee with a holder keeps past LargeBody.
const (
	small  = iota // not past it yet
	placed        // up to max: it holds its places
	cut           // no places: kept to LargeBody
)

// newTee keeps up to max bytes of what r gives. size is what r says it
// holds (-1 when not known): the buffer starts at that, up to 32 KiB (a
// sender may announce more than it sends, on every connection).
func newTee(r io.ReadCloser, max, size int64) *tee {
	t := &tee{r: r, max: min(max, math.MaxInt), size: size}
	if size > 0 {
		t.buf = make([]byte, 0, min(size, t.max, 32<<10))
	}
	return t
}

// keep appends b to what is kept, growing the buffer no further than max:
// appending would double it past max (16 MiB for a 10 MiB limit, with the
// 8 MiB it was copied from), for each body in flight.
func (t *tee) keep(b []byte) {
	if need := len(t.buf) + len(b); need > cap(t.buf) {
		grown := make([]byte, len(t.buf), min(max(2*cap(t.buf), need, 4096), int(t.max)))
		copy(grown, t.buf)
		t.buf = grown
	}
	t.buf = append(t.buf, b...)
}

func (t *tee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	t.mu.Lock()
	if n > 0 {
		b := p[:n]
		if t.skip > t.n {
			b = b[min(t.skip-t.n, int64(n)):]
		}
		limit := t.max
		if t.h != nil {
			if t.large == small && !t.ended && t.max > LargeBody && int64(len(t.buf)+len(b)) > LargeBody && int64(len(t.buf)) < t.max {
				// Before end can see the tee, which stops its takes:
				// the holder's release follows end.
				t.large = cut
				if t.h.take() {
					t.large = placed
					if want := min(t.size, t.max); want > int64(cap(t.buf)) {
						t.buf = slices.Grow(t.buf, int(want)-len(t.buf)) // its declared length at once
					}
				}
			}
			if t.large != placed {
				limit = min(limit, LargeBody)
			}
		}
		if t.ended {
			limit = 0 // what was kept is the record's now
		}
		if room := limit - int64(len(t.buf)); room > 0 && len(b) > 0 {
			t.keep(b[:min(int64(len(b)), room)])
		}
		t.n += int64(n)
	}
	if err != nil && t.err == nil {
		t.err = err
		if err == io.EOF && t.gone != nil && t.gone.Err() != nil {
			t.err = t.gone.Err() // the client went first: not an answer passed on whole
		}
	}
	t.mu.Unlock()
	return n, err
}

// adopt makes buffered, the first bytes of the body read for matching
// (placed when they hold their places), the tee's first kept bytes: they
// pass through it again, and are not kept twice.
func (t *tee) adopt(buffered []byte, large int8) {
	limit := t.max
	if t.h != nil && large != placed {
		limit = min(limit, LargeBody)
	}
	k := min(int64(len(buffered)), limit)
	kept := buffered[:k:k]
	if large == cut {
		// The rules read the whole body; the record keeps LargeBody of it
		// (a copy: not the rules' buffer, kept alive by the record).
		kept = bytes.Clone(kept)
	}
	t.buf, t.skip, t.large = kept, int64(len(buffered)), large
}

func (t *tee) Close() error { return t.r.Close() }

// count is how many bytes have passed.
func (t *tee) count() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.n
}

// result returns what passed: the bytes kept (a copy when copied is set,
// for a body still being read), the count, whether it was cut at max, and
// the read error (io.EOF once it was read to its end).
func (t *tee) result(copied bool) (kept []byte, n int64, truncated bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	kept = t.buf
	if copied {
		kept = bytes.Clone(kept)
	}
	return kept, t.n, t.n > int64(len(kept)), t.err
}

// end is result for the record: what was kept is handed over (no copy:
// the tee keeps nothing more, even while the Transport still reads it) and
// takes no more places. cut says it was kept only to LargeBody, for want
// of places.
func (t *tee) end() (kept []byte, n int64, truncated, wasCut bool, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	kept, t.buf, t.ended = t.buf, nil, true
	if int64(len(kept)) > t.n {
		kept = kept[:t.n] // read for matching (adopt) but never passed on
	}
	if cap(kept) > 2*len(kept) {
		// It ended short of the length it announced, for which the buffer
		// was made: the record keeps its bytes, not the whole buffer.
		kept = bytes.Clone(kept)
	}
	return kept, t.n, t.n > int64(len(kept)), t.large == cut, t.err
}

// respTee reports the response body once it is closed, which
// ReverseProxy does when it has written what it read to the client: the
// last read (which may come with the end of the body) is not the end of the
// exchange while its bytes are still going out, held up by a slow client or
// a drip fault.
type respTee struct {
	*tee
	done func(*tee)
	once sync.Once
}

func (r *respTee) Close() error {
	err := r.tee.Close()
	r.once.Do(func() { r.done(r.tee) })
	return err
}

// bufferPool recycles the 32 KiB copy buffers of the reverse proxy.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(x []byte) { b.p.Put(&x) }

// asSent passes the upstream's answer on with no header of net/http's own
// making: without a Content-Type net/http would sniff one from the body
// (an untyped API answer labelled text/html), and it adds a Date. The
// recording shows the upstream's headers; so does the client.
type asSent struct{ http.ResponseWriter }

func (w asSent) WriteHeader(code int) {
	h := w.ResponseWriter.Header()
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		// An upstream's 100 Continue or 103 Early Hints, which
		// ReverseProxy passes on with its headers as they came: the
		// hop-by-hop ones were for the upstream's connection (RFC 9110
		// 7.6.1), and an HTTP/2 client resets the stream whose HEADERS
		// carry one (RFC 9113 8.2.2).
		removeHopByHop(h)
		w.ResponseWriter.WriteHeader(code)
		return
	}
	for _, name := range []string{"Content-Type", "Date"} {
		if _, ok := h[name]; !ok {
			h[name] = nil // net/http's way of saying: none
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w asSent) Write(b []byte) (int, error) {
	if _, ok := w.ResponseWriter.Header()["Content-Type"]; !ok {
		w.WriteHeader(http.StatusOK) // a Write before WriteHeader sniffs too
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer's Flush and
// Hijack.
func (w asSent) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// clientWriter counts the answer's bytes written to the client and keeps
// the first write that failed, in the flight: an upstream body read to its
// end has not reached a client that went away while it was written.
type clientWriter struct {
	http.ResponseWriter
	f *flight
}

func (w clientWriter) WriteHeader(code int) {
	if code >= 200 {
		w.f.answered = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w clientWriter) Write(b []byte) (int, error) {
	w.f.answered = true // a write without WriteHeader is a 200
	n, err := w.ResponseWriter.Write(b)
	w.f.sent += int64(n)
	if err != nil && w.f.sendErr == nil {
		w.f.sendErr = err
	}
	return n, err
}

// Unwrap lets http.ResponseController reach the writer's Flush and
// Hijack.
func (w clientWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// hopHeaders are the hop-by-hop headers a proxy does not pass on, beside
// those a Connection header names (as httputil.ReverseProxy's list).
var hopHeaders = []string{
	"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate",
	"Proxy-Authorization", "Te", "Trailer", "Transfer-Encoding", "Upgrade",
}

// removeHopByHop removes from h the headers its Connection header names,
// and the hop-by-hop ones.
func removeHopByHop(h http.Header) {
	for name := range connectionNamed(h) {
		h.Del(name)
	}
	for _, name := range hopHeaders {
		h.Del(name)
	}
}

// connectionNamed returns the (canonical) names h's Connection header
// lists: headers for that connection only.
func connectionNamed(h http.Header) map[string]bool {
	var named map[string]bool
	for _, v := range h["Connection"] {
		for name := range strings.SplitSeq(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				if named == nil {
					named = map[string]bool{}
				}
				named[http.CanonicalHeaderKey(name)] = true
			}
		}
	}
	return named
}
