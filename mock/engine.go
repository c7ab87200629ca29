package mock

import (
	"bufio"
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"math"
	mrand "math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// Engine answers requests from the live config's mock rules and checks their
// signatures against its verify rules. It keeps the per-rule state that
// outlives one request: sequence positions (per rule and bin), rate-limit
// windows and match counts. A new config replaces the old one atomically;
// state is kept for rules whose names stay.
type Engine struct {
	cfg     atomic.Pointer[rules.Config]
	now     func() time.Time
	mu      sync.Mutex
	seq     map[stateKey]int
	windows map[stateKey]*window
	hits    map[string]int64 // mock's StateKey → matches
	vhits   map[string]int64 // verify name → matches

	reloadMu  sync.Mutex
	lastErr   error
	reloadAt  time.Time
	reloadErr time.Time

	stopOnce sync.Once
	stopping chan struct{} // closed by Stop
}

type stateKey struct{ rule, bin string }

type window struct {
	start time.Time
	n     int
}

// NewEngine returns an engine with cfg (nil for none). now is the clock;
// time.Now when nil.
func NewEngine(cfg *rules.Config, now func() time.Time) *Engine {
	if now == nil {
		now = time.Now
	}
	e := &Engine{now: now, seq: map[stateKey]int{}, windows: map[stateKey]*window{}, hits: map[string]int64{}, vhits: map[string]int64{}, stopping: make(chan struct{})}
	e.cfg.Store(cfg)
	return e
}

// Stop says hooklab is shutting down: the connections a timeout fault
// holds are dropped now, rather than keep shutdown waiting until its
// deadline for an answer that never comes.
func (e *Engine) Stop() { e.stopOnce.Do(func() { close(e.stopping) }) }

// Config returns the live config (nil when there is none).
func (e *Engine) Config() *rules.Config { return e.cfg.Load() }

// Apply is the reload callback: with err == nil cfg becomes live; otherwise
// the last good config stays and err is kept for the API.
func (e *Engine) Apply(cfg *rules.Config, err error) {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	if err != nil {
		e.lastErr, e.reloadErr = err, e.now()
		return
	}
	e.cfg.Store(cfg)
	e.lastErr, e.reloadAt = nil, e.now()
}

// LastError returns the error of the last reload, or nil when it worked.
func (e *Engine) LastError() error {
	e.reloadMu.Lock()
	defer e.reloadMu.Unlock()
	return e.lastErr
}

// Reset starts every sequence from its first answer and clears rate-limit
// windows.
func (e *Engine) Reset() {
	e.mu.Lock()
	e.seq = map[stateKey]int{}
	e.windows = map[stateKey]*window{}
	e.mu.Unlock()
}

// Hits returns how many requests each mock rule has matched, by its
// StateKey (its name, when the config gives one).
func (e *Engine) Hits() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.hits)
}

// verifyHits returns how many requests each verify rule has matched.
func (e *Engine) verifyHits() map[string]int64 {
	e.mu.Lock()
	defer e.mu.Unlock()
	return maps.Clone(e.vhits)
}

// Plan is how a request will be answered: the response to record and send,
// and what to do on the wire (delay, fault).
type Plan struct {
	// Rule is the name of the mock that answered ("" for the default).
	Rule     string
	Response *inspect.Response
	Delay    time.Duration
	Fault    rules.Fault
	DripRate int
	// Error is set when the rule failed to render; the response is a 500.
	Error string
	// Signature is the verdict of a verify rule, when one matched.
	Signature *inspect.Signature
	// NearMiss names the rule that came closest when none matched.
	NearMiss *NearMiss
	// stopping is closed when hooklab begins to shut down (Engine.Stop).
	stopping <-chan struct{}
	// Failed is set when fail_rate chose this request to fail: Response is
	// a 503, or Fault is the rule's fail_fault.
	Failed bool
}

// NearMiss says which rule came closest to matching, and why it missed.
type NearMiss struct {
	Rule    string   `json:"rule"`
	Reasons []string `json:"reasons"`
}

// Plan decides the answer to req. vars makes the template context (bin,
// exchange, now; the request's are added), called only when a mock
// matches; fallback answers when none does, given the status of the
// default answer (settings.default_status, 200 by default).
func (e *Engine) Plan(req *rules.Request, vars func() map[string]any, fallback func(status int) *inspect.Response) *Plan {
	cfg := e.cfg.Load()
	p := &Plan{stopping: e.stopping}
	if v := cfg.MatchVerify(req); v != nil {
		e.mu.Lock()
		e.vhits[v.Name]++
		e.mu.Unlock()
		ok, reason := v.Check(req.Header, req.SignedBody(), e.now())
		p.Signature = &inspect.Signature{Rule: v.Name, Scheme: v.Scheme, Verdict: "valid"}
		if !ok {
			p.Signature.Verdict, p.Signature.Reason = "invalid", reason
			if v.Reject {
				p.Rule = v.Name
				p.Response = jsonResponse(http.StatusUnauthorized, map[string]string{
					"error": "signature check failed: " + reason, "rule": v.Name, "scheme": v.Scheme,
				})
				return p
			}
		}
	}
	m, params := cfg.MatchMock(req)
	if m == nil {
		if cfg != nil && len(cfg.Mocks) > 0 {
			if name, why := cfg.NearMiss(req); name != "" {
				p.NearMiss = &NearMiss{Rule: name, Reasons: why}
			}
		}
		status := http.StatusOK
		if cfg != nil && cfg.Settings.DefaultStatus != 0 {
			status = cfg.Settings.DefaultStatus
		}
		p.Response = fallback(status)
		return p
	}
	p.Rule = m.Name
	key := stateKey{m.StateKey(), req.Bin}

	e.mu.Lock()
	e.hits[m.StateKey()]++
	var rate *rateState
	if m.RateLimit != nil {
		rate = e.limit(key, m.RateLimit)
		if rate.over {
			e.mu.Unlock()
			p.Response = rate.refusal(m.Name)
			return p
		}
	}
	r := m.Respond
	if len(m.Sequence) > 0 {
		// A reload may have shortened the sequence under a kept position.
		i := min(e.seq[key], len(m.Sequence)-1)
		r = m.Sequence[i]
		switch {
		case i+1 < len(m.Sequence):
			e.seq[key] = i + 1
		case m.SequenceMode == rules.Cycle:
			e.seq[key] = 0
		default:
			e.seq[key] = i
		}
	}
	e.mu.Unlock()

	failed := r.FailRate > 0 && mrand.Float64() < r.FailRate
	if failed && r.FailFault == rules.FaultNone {
		p.Failed = true
		p.Response = jsonResponse(http.StatusServiceUnavailable, map[string]string{"error": "injected failure (fail_rate)", "rule": m.Name})
		rate.addHeaders(p.Response)
		return p
	}

	tv := withParams(vars(), req, params)
	body, err := r.RenderBody(tv)
	if err != nil {
		return renderFailed(p, m.Name, quietError(err, req, tv, func(v map[string]any) error { _, err := r.RenderBody(v); return err }))
	}
	hdr := make(inspect.Headers, 0, len(r.Headers)+1)
	for name, t := range r.Headers {
		v, err := t.Render(tv)
		if err != nil {
			err = quietError(err, req, tv, func(v map[string]any) error { _, err := t.Render(v); return err })
			return renderFailed(p, m.Name, fmt.Errorf("header %s: %w", name, err))
		}
		if len(v) > maxHeaderValue {
			return renderFailed(p, m.Name, fmt.Errorf("header %s: the value is %d bytes, over the %d a header may hold", name, len(v), maxHeaderValue))
		}
		hdr = append(hdr, inspect.Header{Name: name, Value: headerValue(v)})
	}
	if ct := r.ContentType(); ct != "" && len(body) > 0 && !slices.ContainsFunc(hdr, func(h inspect.Header) bool { return strings.EqualFold(h.Name, "Content-Type") }) {
		hdr = append(hdr, inspect.Header{Name: "Content-Type", Value: ct})
	}
	sortHeaders(hdr)
	if hdr.Get("Access-Control-Allow-Origin") == "" {
		hdr = append(hdr, inspect.Header{Name: "Access-Control-Allow-Origin", Value: "*"})
	}
	status := r.Status
	if status == 0 {
		status = http.StatusOK
	}
	p.Response = &inspect.Response{Status: status, Headers: hdr, Body: body, Size: int64(len(body))}
	rate.addHeaders(p.Response)
	p.Delay = r.Delay.Pick()
	p.Fault, p.DripRate = r.Fault, r.DripRate
	if failed {
		// The failure replaces the answer's own fault, if it has one; the
		// rendered answer is what a drip or an empty reply carries.
		p.Failed, p.Fault = true, r.FailFault
	}
	if p.Fault == rules.FaultDrip && p.DripRate <= 0 {
		p.DripRate = rules.DefaultDripRate
	}
	return p
}

// maxHeaderValue bounds a rendered header's value: past it, clients refuse
// the answer (curl a line over 100 KB, net/http's server a head over 1 MB),
// so a template rendering more (a loop) fails as a render does.
const maxHeaderValue = 64 << 10

// headerValue makes a rendered value safe to send as a header field: control
// characters (CR and LF above all, which would split the header) become
// spaces, as net/http does with CR and LF, and surrounding blanks go, as a
// client drops them. What is recorded is then what the client sees.
func headerValue(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			c = ' '
		}
		out[i] = c
	}
	return strings.Trim(string(out), " \t")
}

// withParams returns the template context with the request's variables.
func withParams(base map[string]any, req *rules.Request, params map[string]string) map[string]any {
	vars := rules.RequestVars(req, params)
	for k, v := range base {
		vars[k] = v
	}
	return vars
}

// quietError is err, a template's failure to render with tv, unless the
// request carries secret headers: a Liquid error quotes the value it could
// not use (date: cannot parse "Bearer sk_..."), and the error goes into
// the exchange's summary, which shows no header's value. Then it is the
// error of rendering again with those values REDACTED, as the exchange API
// shows them, or, when that works, a note that a secret value failed.
func quietError(err error, req *rules.Request, tv map[string]any, render func(map[string]any) error) error {
	rv, _ := tv["request"].(map[string]any)
	hv, _ := rv["headers"].(rules.Headers)
	if hv == nil {
		return err
	}
	var quiet rules.Headers
	for name, vals := range req.Header {
		if req.Secret == nil || !req.Secret(name) {
			continue
		}
		if quiet == nil {
			quiet = maps.Clone(hv)
		}
		if len(vals) == 1 {
			quiet[strings.ToLower(name)] = inspect.Redacted
			continue
		}
		list := make([]any, len(vals))
		for i := range list {
			list[i] = inspect.Redacted
		}
		quiet[strings.ToLower(name)] = list
	}
	if quiet == nil {
		return err
	}
	rv = maps.Clone(rv)
	rv["headers"] = quiet
	v := maps.Clone(tv)
	v["request"] = rv
	if qerr := render(v); qerr != nil {
		return qerr
	}
	return fmt.Errorf("render: failed on the value of a secret header (the Liquid error is not shown: it may quote it)")
}

func renderFailed(p *Plan, rule string, err error) *Plan {
	p.Error = fmt.Sprintf("rule %s: template: %v", rule, err)
	p.Response = jsonResponse(http.StatusInternalServerError, map[string]string{"error": p.Error, "rule": rule})
	p.Delay, p.Fault = 0, rules.FaultNone
	return p
}

// rateState is where a request stands in its rate-limit window.
type rateState struct {
	limit, remaining int
	reset            time.Time
	retryAfter       int // whole seconds until reset, at least 1
	over             bool
}

// limit counts a match against a fixed window. Called with e.mu held.
func (e *Engine) limit(key stateKey, rl *rules.RateLimit) *rateState {
	now := e.now()
	win := rl.Window
	if win <= 0 {
		win = rules.DefaultRateWindow
	}
	w := e.windows[key]
	if w == nil || now.Sub(w.start) >= win || now.Before(w.start) {
		w = &window{start: now}
		e.windows[key] = w
	}
	w.n++
	reset := w.start.Add(win)
	return &rateState{
		limit:      rl.Limit,
		remaining:  max(rl.Limit-w.n, 0),
		reset:      reset,
		retryAfter: max(int(math.Ceil(reset.Sub(now).Seconds())), 1),
		over:       w.n > rl.Limit,
	}
}

// refusal is the 429 answer to a request over the limit.
func (s *rateState) refusal(rule string) *inspect.Response {
	resp := jsonResponse(http.StatusTooManyRequests, map[string]string{"error": "rate limit exceeded", "rule": rule})
	resp.Headers = append(resp.Headers, inspect.Header{Name: "Retry-After", Value: strconv.Itoa(s.retryAfter)})
	s.addHeaders(resp)
	return resp
}

// addHeaders adds the X-RateLimit-* headers to resp, unless the rule set
// them itself. s may be nil (no rate limit).
func (s *rateState) addHeaders(resp *inspect.Response) {
	if s == nil {
		return
	}
	for _, h := range []inspect.Header{
		{Name: "X-RateLimit-Limit", Value: strconv.Itoa(s.limit)},
		{Name: "X-RateLimit-Remaining", Value: strconv.Itoa(s.remaining)},
		{Name: "X-RateLimit-Reset", Value: strconv.FormatInt(s.reset.Unix(), 10)},
	} {
		if resp.Headers.Get(h.Name) == "" {
			resp.Headers = append(resp.Headers, h)
		}
	}
}

func jsonResponse(status int, v any) *inspect.Response {
	b := inspect.JSONLine(v, "")
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

func sortHeaders(h inspect.Headers) {
	for i := 1; i < len(h); i++ {
		for j := i; j > 0 && h[j].Name < h[j-1].Name; j-- {
			h[j], h[j-1] = h[j-1], h[j]
		}
	}
}

// Planned is how long the plan takes on the wire by design: its delay,
// and the time a drip takes to send its body. (A timeout fault lasts as
// long as the client waits: it is not counted.)
func (p *Plan) Planned() time.Duration {
	d := p.Delay
	if p.Fault == rules.FaultDrip && p.Response != nil && len(p.Response.Body) > 0 {
		d += time.Duration(float64(len(p.Response.Body)) / float64(max(p.DripRate, 1)) * float64(time.Second))
	}
	return d
}

// headOnly is the response an empty fault sends: resp's status and headers,
// with the Content-Length that promises its body, and no body.
func headOnly(resp *inspect.Response) *inspect.Response {
	out := &inspect.Response{Status: http.StatusOK}
	n := 0
	if resp != nil {
		if resp.Status != 0 {
			out.Status = resp.Status
		}
		n = len(resp.Body)
		if cl, err := strconv.Atoi(resp.Headers.Get("Content-Length")); err == nil && n == 0 {
			n = cl // an answer to HEAD: its body's length, as a GET gets it
		}
		out.Headers = withoutHeaders(resp.Headers, "Content-Length")
	}
	out.Headers = append(inspect.Headers{{Name: "Content-Length", Value: strconv.Itoa(max(n, 1))}}, out.Headers...)
	return out
}

// Write carries out the plan on the wire: wait, then answer or misbehave.
// It returns when the client has its answer, gave up, or ctx ended. When
// ctx ends before an answer was written (a delay cut off at the shutdown
// deadline, a timeout fault's hang), it panics with http.ErrAbortHandler:
// the connection is dropped, so that no default 200 goes out instead.
func (p *Plan) Write(ctx context.Context, w http.ResponseWriter, r *http.Request) {
	if p.Delay > 0 {
		t := time.NewTimer(p.Delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			panic(http.ErrAbortHandler)
		}
	}
	switch p.Fault {
	case rules.FaultNone:
		writeResponse(w, p.Response)
	case rules.FaultTimeout:
		// Hang until the client gives up or hooklab stops.
		select {
		case <-ctx.Done():
		case <-p.stopping:
		}
		panic(http.ErrAbortHandler)
	case rules.FaultDrip:
		drip(ctx, w, p.Response, p.DripRate)
	default:
		misbehave(w, p.Fault, p.Response)
	}
}

// misbehave breaks the connection the way the fault says. On HTTP/2, where
// the connection cannot be taken over, the stream is reset instead.
func misbehave(w http.ResponseWriter, fault rules.Fault, resp *inspect.Response) {
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	switch fault {
	case rules.FaultReset:
		if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
			_ = tc.SetLinger(0) // close sends RST
		}
	case rules.FaultEmpty:
		writeHeadOnly(buf, resp)
	case rules.FaultGarbage:
		junk := make([]byte, 1024)
		_, _ = rand.Read(junk)
		_, _ = buf.Write(junk)
		_ = buf.Flush()
	case rules.FaultClose:
		// close with nothing sent
	}
}

// writeHeadOnly sends a status line and headers that promise a body, then
// nothing: the client sees the response end early.
func writeHeadOnly(buf *bufio.ReadWriter, resp *inspect.Response) {
	head := headOnly(resp) // what the exchange records
	fmt.Fprintf(buf, "HTTP/1.1 %d %s\r\n", head.Status, http.StatusText(head.Status))
	for _, h := range head.Headers {
		fmt.Fprintf(buf, "%s: %s\r\n", h.Name, h.Value)
	}
	buf.WriteString("\r\n")
	_ = buf.Flush()
}

// drip sends the status and headers, then the body at rate bytes a second:
// every tick it writes what is due since the start, so slow ticks never
// lower the average and low rates are not rounded up.
func drip(ctx context.Context, w http.ResponseWriter, resp *inspect.Response, rate int) {
	h := w.Header()
	for _, x := range resp.Headers {
		h.Add(x.Name, x.Value)
	}
	if h.Get("Content-Length") == "" { // an answer to HEAD has its body's already
		h.Set("Content-Length", strconv.Itoa(len(resp.Body)))
	}
	w.WriteHeader(resp.Status)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	rate = max(rate, 1)
	tick := max(100*time.Millisecond, time.Second/time.Duration(rate))
	t := time.NewTicker(tick)
	defer t.Stop()
	start := time.Now()
	body, sent := resp.Body, 0
	for sent < len(body) {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		due := min(int(float64(rate)*time.Since(start).Seconds()), len(body))
		if due <= sent {
			continue
		}
		if _, err := w.Write(body[sent:due]); err != nil {
			return
		}
		_ = rc.Flush()
		sent = due
	}
}
