package emit

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// lane delivers the invocations of one webhook: it picks due ones from the
// database, holds them while the webhook is rate limited (throttled) or its
// circuit is open (circuit_broken), and runs up to Concurrency attempts at
// once. Each webhook has its own lane, so one never waits for another.
type lane struct {
	e      *Emitter
	id     string
	wakeC  chan struct{}
	cancel context.CancelFunc

	mu       sync.Mutex
	inflight map[string]bool // dispatched and not yet committed
	sending  int             // attempts whose HTTP exchange is under way

	def     *Webhook // the definition the limiter and breaker follow
	limiter *rate.Limiter
	brk     *breaker
	buf     []*Invocation
	// marked is the waiting status last written, at markedAt, after
	// markedArrivals arrivals.
	marked         string
	markedAt       time.Time
	markedArrivals int64
	arrivals       atomic.Int64 // invocations queued or requeued for this webhook
}

// startLaneLocked starts the lane of webhook id. e.mu is held.
func (e *Emitter) startLaneLocked(id string) {
	ctx, cancel := context.WithCancel(e.runCtx)
	l := &lane{e: e, id: id, wakeC: make(chan struct{}, 1), cancel: cancel, inflight: map[string]bool{}, brk: newBreaker(Breaker{})}
	e.lanes[id] = l
	e.laneWG.Add(1)
	go func() {
		defer e.laneWG.Done()
		l.run(ctx)
	}()
}

func (l *lane) poke() {
	select {
	case l.wakeC <- struct{}{}:
	default:
	}
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

// follow adapts the limiter and breaker to a new definition.
func (l *lane) follow(w *Webhook) {
	if l.def == w {
		return
	}
	old := l.def
	l.def = w
	if r := w.RateLimit; r == nil {
		l.limiter = nil
	} else if old == nil || old.RateLimit == nil || *old.RateLimit != *r || l.limiter == nil {
		per := time.Duration(r.Window) / time.Duration(r.Limit)
		l.limiter = rate.NewLimiter(rate.Every(per), r.Limit) // starts full
	}
	var b Breaker
	if w.Breaker != nil {
		b = *w.Breaker
	}
	l.brk.setConfig(b)
}

// busy reports whether the lane may not start another attempt: conc
// exchanges are under way, or 4*conc attempts wait for their commit.
func (l *lane) busy(conc int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sending >= conc || len(l.inflight) >= 4*conc
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

func (l *lane) run(ctx context.Context) {
	for ctx.Err() == nil {
		w := l.e.webhook(l.id)
		if w == nil {
			return
		}
		l.follow(w)
		if w.Status != StatusActive {
			l.buf = nil
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
		if len(l.buf) == 0 {
			// The set is copied before the query: an attempt that ends
			// during the query was committed before its id left the set,
			// so the query sees it finished or the copy holds it.
			l.mu.Lock()
			busy := make(map[string]bool, len(l.inflight))
			for id := range l.inflight {
				busy[id] = true
			}
			l.mu.Unlock()
			due, err := l.e.db.due(ctx, l.id, now, 256+len(busy), func(id string) bool { return busy[id] })
			if err != nil {
				if ctx.Err() == nil {
					l.e.log.Error("read queued invocations", "webhook", l.id, "err", err)
				}
				l.sleep(ctx, now.Add(time.Second))
				continue
			}
			l.buf = due
			if len(l.buf) == 0 {
				l.marked = ""
				next, ok, err := l.e.db.nextDue(ctx, l.id, now)
				if err != nil && ctx.Err() == nil {
					l.e.log.Error("read queued invocations", "webhook", l.id, "err", err)
					next, ok = now.Add(time.Second), true
				}
				if !ok {
					next = time.Time{}
				}
				l.sleep(ctx, next)
				continue
			}
		}
		if l.limiter != nil {
			if tokens := l.limiter.TokensAt(now); tokens < 1 {
				l.markWaiting(ctx, InvocationThrottled, now)
				wait := time.Duration((1 - tokens) / float64(l.limiter.Limit()) * float64(time.Second))
				l.sleep(ctx, now.Add(max(wait, time.Millisecond)))
				continue
			}
		}
		ok, probe, until := l.brk.admit(now)
		if !ok {
			l.markWaiting(ctx, InvocationCircuitBroken, now)
			l.sleep(ctx, until)
			continue
		}
		if l.limiter != nil {
			l.limiter.AllowN(now, 1)
		}
		l.marked = ""
		inv := l.buf[0]
		l.buf = l.buf[1:]
		l.mu.Lock()
		l.inflight[inv.ID] = true
		l.sending++
		l.mu.Unlock()
		l.e.attempts.Add(1)
		l.e.inflight.Add(1)
		go func() {
			defer func() {
				l.mu.Lock()
				delete(l.inflight, inv.ID)
				l.mu.Unlock()
				l.e.inflight.Add(-1)
				l.e.attempts.Done()
				l.poke()
			}()
			l.e.attemptQueued(w, inv, l.brk, probe, l.sent)
		}()
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

// attemptQueued makes one attempt of a queued invocation and records it.
// sent is called once the HTTP exchange is over.
func (e *Emitter) attemptQueued(w *Webhook, inv *Invocation, brk *breaker, probe bool, sent func()) {
	n := inv.Attempts + 1
	out := e.do(e.attemptCtx, w, inv.request, inv.ID, n, nil)
	sent()
	if out.cancelled {
		if probe {
			brk.cancelProbe()
		}
		return
	}
	a := &out.attempt
	now := e.clock.Now()
	brk.record(now, a.Outcome != InvocationSuccess, probe)
	policy := w.Retry.withDefaults()
	retry, wait, reason := policy.decide(out.res, n-inv.retryBase, now, e.opts.Rand)
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
	a.ExchangeID = e.record(w, inv, &out, false)
	ctx := context.WithoutCancel(e.attemptCtx)
	if err := e.db.finish(ctx, inv, a, out.reqURL, out.sent); err != nil {
		e.log.Error("record attempt", "invocation", inv.ID, "err", err)
		return
	}
	e.publish(inv)
	if !inv.queued && inv.depth == 0 {
		typ := EventDeliverySucceeded
		if inv.Status != InvocationSuccess {
			typ = EventDeliveryFailed
		}
		if e.snap.Load().wants(typ) {
			data := fmt.Appendf(nil, `{"invocation":{"id":%q,"webhook_id":%q,"event_id":%q,"event_type":%q,"status":%q,"attempts":%d,"status_code":%d,"error":%q}}`,
				inv.ID, inv.WebhookID, inv.EventID, inv.EventType, inv.Status, inv.Attempts, inv.StatusCode, inv.Error)
			e.push(queued{ev: Event{Type: typ, Data: data, Subject: "invocation:" + inv.ID, depth: 1}})
		}
	}
}

// record stores the attempt as an exchange and returns its id ("" when
// there is no recorder or it failed). A test send links to no invocation.
func (e *Emitter) record(w *Webhook, inv *Invocation, out *outcome, test bool) string {
	if e.opts.Record == nil {
		return ""
	}
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
	if err := e.opts.Record(context.WithoutCancel(e.attemptCtx), ex); err != nil {
		e.log.Error("record attempt exchange", "invocation", inv.ID, "err", err)
		return ""
	}
	return ex.ID
}

// do sends one attempt of req to w and reads the answer. invID is the
// invocation id (the signed message id); secrets, when set, sign instead
// of w's.
func (e *Emitter) do(ctx context.Context, w *Webhook, req storedRequest, invID string, n int, secrets []string) outcome {
	start := e.clock.Now()
	if req.Endpoint != "" && req.Endpoint != w.Endpoint {
		req.URL = rebase(req.URL, req.Endpoint, w.Endpoint)
	}
	out := outcome{attempt: Attempt{N: n, Time: start}, reqURL: req.URL}
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
	for _, h := range req.Headers {
		hr.Header.Add(h.Name, h.Value)
	}
	hr.Header.Set("User-Agent", UserAgent)
	hr.Header.Set(HeaderWebhook, w.ID)
	hr.Header.Set(HeaderInvocation, invID)
	hr.Header.Set(HeaderAttempt, strconv.Itoa(n))
	redact := map[string]bool{}
	if au := w.Authentication; au != nil {
		switch au.Type {
		case AuthAPIKey:
			hr.Header.Set(au.Name, au.Value)
			redact[http.CanonicalHeaderKey(au.Name)] = true
		case AuthBasic:
			hr.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(au.Username+":"+au.Password)))
			redact["Authorization"] = true
		case AuthBearer:
			hr.Header.Set("Authorization", "Bearer "+au.Token)
			redact["Authorization"] = true
		}
	}
	if s := w.Signing; s != nil && s.Scheme != SchemeNone && s.Scheme != "" {
		if secrets == nil {
			secrets = s.secrets(start)
		}
		sh, err := rules.Sign(s.Scheme, secrets, invID, start, req.Body)
		if err != nil {
			a.Outcome, a.Error = InvocationFailed, err.Error()
			out.sent = redactHeaders(hr.Header, redact)
			return out
		}
		for k, v := range sh {
			hr.Header[k] = v
		}
		if s.Scheme == rules.SchemeZendesk {
			hr.Header.Set("X-Zendesk-Webhook-Id", w.ID)
			hr.Header.Set("X-Zendesk-Webhook-Invocation-Id", invID)
		}
	}
	out.sent = redactHeaders(hr.Header, redact)
	realStart := time.Now()
	resp, err := e.client.Do(hr)
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
			out.res.networkErr = true
			a.Outcome, a.Error = InvocationFailed, describeNetErr(err)
		}
		return out
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBody+1))
	size := int64(len(body))
	truncated := false
	if size > MaxResponseBody {
		body, truncated = body[:MaxResponseBody], true
		rest, _ := io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<20))
		size += rest
	}
	resp.Body.Close()
	a.Duration = time.Since(realStart)
	a.DurationMS = float64(a.Duration.Microseconds()) / 1000
	a.StatusCode = resp.StatusCode
	a.Response = &SentResponse{Status: resp.StatusCode, Headers: inspect.FromHTTP(resp.Header), Body: string(body), Size: size, Truncated: truncated}
	out.res.status = resp.StatusCode
	out.res.header = resp.Header
	a.Outcome = outcomeOf(resp.StatusCode)
	if readErr != nil && a.Outcome == InvocationSuccess {
		a.Error = "reading the response body: " + readErr.Error()
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
	return "request failed: " + err.Error()
}

// redactHeaders lists h with the named headers' values replaced.
func redactHeaders(h http.Header, redact map[string]bool) inspect.Headers {
	out := inspect.FromHTTP(h)
	for i := range out {
		if redact[http.CanonicalHeaderKey(out[i].Name)] {
			out[i].Value = rules.Redacted
		}
	}
	return out
}
