package emit

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// Event types hooklab makes itself.
const (
	EventRequestCaptured   = "request.captured"
	EventExchangeProxied   = "exchange.proxied"
	EventDeliverySucceeded = "delivery.succeeded"
	EventDeliveryFailed    = "delivery.failed"
)

// Headers on every delivery. HeaderInvocation also keeps a webhook aimed at
// hooklab's own capture port from looping: captured requests that carry it
// make no request.captured event.
const (
	HeaderWebhook    = "X-Hooklab-Webhook-Id"
	HeaderInvocation = "X-Hooklab-Invocation-Id"
	HeaderAttempt    = "X-Hooklab-Attempt"
	UserAgent        = "hooklab-webhook/1"
)

// Headers of the zendesk signing scheme besides the signature and its
// timestamp, as Zendesk names them ("Anatomy of a webhook request").
const (
	HeaderZendeskAccount    = "X-Zendesk-Account-Id"
	HeaderZendeskWebhook    = "X-Zendesk-Webhook-Id"
	HeaderZendeskInvocation = "X-Zendesk-Webhook-Invocation-Id"
)

// What a shopify-signed delivery names as its shop and Admin API version
// when the webhook's custom headers name none (hooklab has no shop).
const (
	ShopifyShopDomain = "hooklab.myshopify.com"
	ShopifyAPIVersion = "2025-07"
)

// DefaultRetain is how long finished invocations are kept.
const DefaultRetain = 7 * 24 * time.Hour

// DefaultRetainCount is how many finished invocations are kept at most.
const DefaultRetainCount = 100_000

// Options configure an Emitter.
type Options struct {
	// Dir is the data directory holding emit.db; ignored with Memory.
	Dir string
	// SecretHeaders names more headers whose values are secrets (beyond
	// inspect.IsSecretHeader's), redacted in the API and activity log.
	SecretHeaders []string
	// Memory keeps the queue and webhooks in memory: nothing survives a
	// restart.
	Memory bool
	// Record stores the exchange of each attempt (source emit, Bin the
	// webhook id, Invocation and Attempt set), e.g. inspect.Store.Add. Nil
	// records nothing.
	Record func(context.Context, *inspect.Exchange) error
	// Publish sends "invocation" events (Data {"invocation": summary}),
	// and "webhook" and "webhook_deleted" events when a webhook is made,
	// changed, removed or its circuit moves (see publishChangesLocked), to
	// the live stream, e.g. inspect.Hub.Publish. It must not block; it may
	// be called with the emitter's lock held.
	Publish func(inspect.Event)
	// IDs makes invocation, event and exchange ids; a new one when nil.
	IDs *inspect.IDs
	// Logger gets errors and warnings; nothing when nil. Secrets are never
	// logged.
	Logger *slog.Logger
	// Clock runs backoff, rate limits, breakers and automations; the
	// system clock when nil.
	Clock Clock
	// Getenv resolves ${NAME} in the config's emit sections; none are set
	// when nil.
	Getenv func(string) string
	// Client sends deliveries; nil uses a client tuned for many deliveries
	// (MaxIdleConnsPerHost 128, no redirects followed, no proxy).
	Client *http.Client
	// Refuse, when set (and Client is nil), is asked about every address a
	// delivery is about to connect to, as "host:port" with the host
	// resolved; an error refuses the connection and fails the attempt. The
	// server refuses its own API this way: a webhook pointed at it would
	// drive it, and one whose payload makes the next event would loop.
	Refuse func(address string) error
	// Retain is how long finished invocations are kept; DefaultRetain when
	// zero.
	Retain time.Duration
	// RetainCount caps the finished invocations kept, the oldest going
	// first (each holds its payload and attempts: a busy subscription
	// grew emit.db by gigabytes a day); DefaultRetainCount when zero,
	// none when negative.
	RetainCount int64
	// AccountID is the account_id of subscription envelopes.
	AccountID int64
	// DrainTimeout is how long Close waits for attempts in flight before
	// cancelling them (they stay queued and resume at the next start);
	// 5s when zero.
	DrainTimeout time.Duration
	// EventBuffer is how many events OnExchange and finished deliveries
	// may queue before they are dropped (and counted); 8192 when zero.
	EventBuffer int
	// Rand returns jitter in [0, 1); math/rand when nil.
	Rand func() float64
}

// Emitter sends webhooks. Build one with Open, give it the config with
// SetConfig, mount Handler, feed it OnExchange, call Run, and Close it last.
// Its methods are safe for concurrent use.
type Emitter struct {
	opts Options
	// testCreds holds, while a test send is out, the header of its
	// api_key credential by invocation id: a definition not saved is not
	// found by its webhook id (see OwnCredentials).
	testCreds sync.Map
	log       *slog.Logger
	errs      *inspect.ErrorWriter // the API's errors
	// largePosts holds a place for each large event post being read and
	// decoded (see maxLargeEventPosts).
	largePosts chan struct{}
	clock      Clock
	ids        *inspect.IDs
	db         *db
	client     *http.Client
	// transport is client's, when the emitter made the client itself
	// (see send).
	transport http.RoundTripper

	snap atomic.Pointer[snapshot]

	// planMu is held (read) from a snapshot's planning of invocations
	// to their insert, and (write) by DeleteWebhook: invocations planned
	// for a webhook are never inserted after its delete failed the
	// queued ones (they stayed pending for ever, and went to the next
	// webhook given that id).
	planMu  sync.RWMutex
	mu      sync.Mutex // guards api, cfg, lanes, runCtx, stopRun
	api     map[string]*Webhook
	cfg     *config
	lanes   map[string]*lane
	retired map[string]*lane // lanes of removed webhooks not yet idle (see lane.prev)
	removed map[string]int   // how many times each webhook was removed (see retireLocked)
	runCtx  context.Context
	stopRun context.CancelFunc
	runDone chan struct{}
	stopped bool // Run is ending: no new lanes
	laneWG  sync.WaitGroup
	reload  chan struct{}

	events  chan queued
	dropped atomic.Int64
	// seen is the id of the last exchange OnExchange was given, set after
	// its event (if any) was queued; ingest writes it down as the mark of
	// the exchanges taken in once everything queued before it is in.
	seen      atomic.Pointer[string]
	savedSeen string // the mark written last; ingest's own
	// markHeld stops the mark for good once events of exchanges could not
	// be queued: a restart takes them in again from the last mark.
	markHeld atomic.Bool
	closed   atomic.Bool
	once     sync.Once
	// intake is held (shared) by OnExchange while it checks closed and
	// queues, and by Close to set closed: an event that got past the check
	// is in events before Close drains them.
	intake sync.RWMutex

	attemptCtx     context.Context
	cancelAttempts context.CancelFunc
	attempts       sync.WaitGroup
	inflight       atomic.Int64
	workers        *workers // the goroutines attempts run on
	counts         finalCounts
}

// snapshot is an immutable view of the webhooks and what connects them,
// swapped whole on every change.
type snapshot struct {
	cfg   *config
	hooks map[string]*Webhook // config and API webhooks by id
	api   []*Webhook          // API webhooks with subscriptions
}

func (s *snapshot) wants(typ string) bool {
	for _, sub := range s.cfg.subs {
		if matchType(sub.events, typ) {
			return true
		}
	}
	for _, t := range s.cfg.triggers {
		if matchType(t.events, typ) {
			return true
		}
	}
	for _, w := range s.api {
		if matchType(w.Subscriptions, typ) {
			return true
		}
	}
	return false
}

// queued is an event waiting for the ingest loop: ev, or an exchange to
// turn into one.
type queued struct {
	ev  Event
	ex  *inspect.Exchange
	typ string
}

// Open opens the emitter's database (creating it when needed) and loads
// the webhooks made through the API. Queued invocations are delivered once
// Run is called.
func Open(opts Options) (*Emitter, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.IDs == nil {
		opts.IDs = new(inspect.IDs)
	}
	if opts.Retain <= 0 {
		opts.Retain = DefaultRetain
	}
	if opts.RetainCount == 0 {
		opts.RetainCount = DefaultRetainCount
	}
	if opts.DrainTimeout <= 0 {
		opts.DrainTimeout = 5 * time.Second
	}
	if opts.EventBuffer <= 0 {
		opts.EventBuffer = 8192
	}
	if opts.Rand == nil {
		opts.Rand = rand.Float64
	}
	var transport http.RoundTripper
	if opts.Client == nil {
		opts.Client = newClient(opts.Refuse)
		transport = opts.Client.Transport
	}
	d, err := openDB(opts.Dir, opts.Memory, opts.Logger)
	if err != nil {
		return nil, err
	}
	e := &Emitter{
		opts: opts, log: opts.Logger, errs: inspect.NewErrorWriter(opts.Logger), clock: opts.Clock, ids: opts.IDs, db: d, client: opts.Client, transport: transport,
		api: map[string]*Webhook{}, cfg: &config{byID: map[string]*Webhook{}}, lanes: map[string]*lane{}, retired: map[string]*lane{}, removed: map[string]int{},
		reload: make(chan struct{}, 1), largePosts: make(chan struct{}, maxLargeEventPosts), events: make(chan queued, opts.EventBuffer), runDone: make(chan struct{}), workers: newWorkers(),
	}
	e.counts.grew = make(chan struct{}, 1)
	e.attemptCtx, e.cancelAttempts = context.WithCancel(context.Background())
	hooks, err := d.loadWebhooks(context.Background())
	if err != nil {
		d.close()
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	for _, w := range hooks {
		e.api[w.ID] = w
	}
	final, err := d.finalCounts(context.Background())
	if err != nil {
		d.close()
		return nil, fmt.Errorf("count invocations: %w", err)
	}
	e.counts.addAll(final, 1)
	if n, err := d.rebaseFuture(context.Background(), "", e.clock.Now()); err != nil {
		// They go once the clock catches up, as they would have.
		e.log.Error("move invocations queued before the clock was set back", "err", err)
	} else if n > 0 {
		e.log.Warn("the clock was set back since invocations were queued; they wait what they had left to wait", "invocations", n)
	}
	e.mu.Lock()
	e.rebuildLocked()
	e.mu.Unlock()
	return e, nil
}

// NewClient returns the HTTP client deliveries use by default: a transport
// tuned for many deliveries to few hosts, no proxy, redirects not followed
// (a 3xx is the answer). Timeouts are per attempt.
func NewClient() *http.Client { return newClient(nil) }

func newClient(refuse func(address string) error) *http.Client {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
	if refuse != nil {
		d.Control = func(_, address string, _ syscall.RawConn) error { return refuse(address) }
	}
	tr := &http.Transport{
		DialContext:           d.DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     true,
	}
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Path returns the database file, or ":memory:".
func (e *Emitter) Path() string { return e.db.path }

// rebuildLocked makes a new snapshot and starts or stops lanes. e.mu is
// held.
func (e *Emitter) rebuildLocked() {
	old := e.snap.Load()
	s := &snapshot{cfg: e.cfg, hooks: make(map[string]*Webhook, len(e.cfg.byID)+len(e.api))}
	maps.Copy(s.hooks, e.cfg.byID)
	for id, w := range e.api {
		if _, inCfg := s.hooks[id]; !inCfg {
			s.hooks[id] = w
			if len(w.Subscriptions) > 0 {
				s.api = append(s.api, w)
			}
		}
	}
	e.snap.Store(s)
	if e.runCtx != nil && !e.stopped {
		for id := range s.hooks {
			if e.lanes[id] == nil {
				e.startLaneLocked(id)
			}
		}
	}
	for id, l := range e.lanes {
		if s.hooks[id] == nil {
			e.retireLocked(l)
		} else {
			l.poke()
		}
	}
	select {
	case e.reload <- struct{}{}:
	default:
	}
	e.publishChangesLocked(old, s)
}

// OwnCredentials names the headers of h that hold a credential of one of
// hooklab's own webhooks, when h is a request hooklab sent (its
// X-Hooklab-Webhook-Id names a webhook defined here): an api_key's header,
// whatever its name. hooklab's capture and proxies record those values
// redacted, as the emitter records its own attempts. (Authorization, the
// header of the other kinds, is redacted by its name anyway.)
func (e *Emitter) OwnCredentials(h http.Header) []string {
	if name, ok := e.testCreds.Load(h.Get(HeaderInvocation)); ok {
		return []string{name.(string)}
	}
	id := h.Get(HeaderWebhook)
	if id == "" {
		return nil
	}
	w := e.webhook(id)
	if w == nil {
		return nil
	}
	if name, _ := w.Authentication.header(); name != "" {
		return []string{name}
	}
	return nil
}

// OwnDelivery reports whether h is of a request hooklab sent for one of
// its own webhooks (its X-Hooklab-Webhook-Id names a webhook defined
// here, or its invocation is a test send out now): hooklab's capture and
// proxies record the secret query values of its URL, which come from the
// webhook's endpoint, redacted, as the emitter records its own attempts.
func (e *Emitter) OwnDelivery(h http.Header) bool {
	if inv := h.Get(HeaderInvocation); inv != "" {
		if _, ok := e.testCreds.Load(inv); ok {
			return true
		}
	}
	id := h.Get(HeaderWebhook)
	return id != "" && e.webhook(id) != nil
}

// secretHeader reports whether a header's values are secrets.
func (e *Emitter) secretHeader(name string) bool {
	return inspect.IsSecretHeader(name, e.opts.SecretHeaders)
}

// Health returns the failure that the emitter's database meets (a full
// disk, an I/O error), and since when, or nil while it takes writes.
func (e *Emitter) Health() (err error, since time.Time) { return e.db.health() }

// Failures counts the spells of failure emit.db's writes have met, over
// by now or not (see inspect.SQLite.Failures).
func (e *Emitter) Failures() uint64 { return e.db.fails.Load() }

// webhook returns the live definition of id, or nil.
func (e *Emitter) webhook(id string) *Webhook { return e.snap.Load().hooks[id] }

// SetConfig applies the webhooks, triggers, automations and subscriptions
// of cfg (nil for none). When they are invalid it returns a *rules.Errors
// (each error with file:line:col) and keeps the previous ones live.
// Warnings are logged and returned by Warnings.
func (e *Emitter) SetConfig(cfg *rules.Config) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	c, err := decodeConfig(cfg, e.opts.Getenv, e.apiWebhook, e.opts.Refuse)
	if err != nil {
		return err
	}
	for _, w := range c.warnings {
		e.log.Warn("webhook config warning", "warning", w)
	}
	e.cfg = c
	e.rebuildLocked()
	return nil
}

// CheckConfig validates the sections of cfg as SetConfig does, against the
// webhooks made through the API, without applying them: a config another
// section refuses is not applied, and its errors here are reported with
// that section's. It returns a *rules.Errors when they are invalid.
func (e *Emitter) CheckConfig(cfg *rules.Config) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, err := decodeConfig(cfg, e.opts.Getenv, e.apiWebhook, e.opts.Refuse)
	return err
}

// apiWebhook is the webhook made through the API with this id, nil when
// there is none: what a section naming a webhook the file does not define
// refers to. e.mu is held.
func (e *Emitter) apiWebhook(id string) *Webhook { return e.api[id] }

// Warnings returns the warnings of the live config (file:line:col: field:
// message), then those of the webhooks made through the API, by id
// ("webhook ID (made through the API): field: message"): the same
// warnings, such as credentials sent to a plain-HTTP endpoint.
func (e *Emitter) Warnings() []string {
	s := e.snap.Load()
	out := slices.Clone(s.cfg.warnings)
	var ids []string
	for id := range s.hooks {
		if s.cfg.byID[id] == nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	for _, id := range ids {
		out = append(out, apiWarnings(s.hooks[id])...)
	}
	return out
}

// apiWarnings are the warnings of w, a webhook made through the API, as
// Warnings lists them and the log says them.
func apiWarnings(w *Webhook) []string {
	_, warns := w.validate()
	out := make([]string, len(warns))
	for i, fe := range warns {
		out[i] = fmt.Sprintf("webhook %s (made through the API): %s", w.ID, fe.Error())
	}
	return out
}

// logAPIWarnings logs the warnings of w, made or changed through the API,
// as SetConfig logs a config's: once, as it is stored. For a change, old
// is the webhook before it, and a warning it had is not logged again.
func (e *Emitter) logAPIWarnings(w, old *Webhook) {
	var had []string
	if old != nil {
		had = apiWarnings(old)
	}
	for _, msg := range apiWarnings(w) {
		if !slices.Contains(had, msg) { // a PATCH that leaves it as it was says nothing new
			e.log.Warn("webhook warning", "warning", msg)
		}
	}
}

// Check validates the emit sections of cfg without an emitter, for
// "hooklab check": references to webhooks that the file does not define
// are assumed to be API-made. refuse is what Options.Refuse would be (nil:
// none): a webhook whose endpoint it refuses is an error, as SetConfig
// makes it. It returns the warnings (in file order), and a *rules.Errors
// when the sections are invalid.
func Check(cfg *rules.Config, getenv func(string) string, refuse func(address string) error) (warnings []string, err error) {
	c, err := decodeConfig(cfg, getenv, nil, refuse)
	return c.warnings, err
}

// Queued is an invocation made by an event, as Emit and POST /api/events
// answer: pending, or failed when its payload could not be rendered.
type Queued struct {
	ID        string `json:"id"`
	EventID   string `json:"event_id"`
	WebhookID string `json:"webhook_id"`
	Cause     string `json:"cause"`
	Status    string `json:"status"`
	Error     string `json:"error,omitempty"`
}

// isJSONObject reports whether b is one valid JSON object; valid says it
// is valid JSON already.
func isJSONObject(b []byte, valid bool) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{' && (valid || json.Valid(b))
}

// normalizeEvent fills the id, time and subject of ev and checks it.
func (e *Emitter) normalizeEvent(ev *Event, now time.Time) error {
	if why := checkEventType(ev.Type); why != "" {
		return &ValidationError{List: []FieldError{{Field: "type", Msg: why}}}
	}
	if len(ev.Data) == 0 || string(ev.Data) == "null" {
		ev.Data = json.RawMessage(`{}`)
	}
	if !isJSONObject(ev.Data, ev.parsed) {
		return &ValidationError{List: []FieldError{{Field: "data", Msg: "data must be a JSON object"}}}
	}
	// Bytes that are no UTF-8 (only strings can hold them) would go out
	// as they came in an envelope, which strict parsers refuse: a U+FFFD
	// for each run of them, for envelopes and templates alike.
	if !utf8.Valid(ev.Data) {
		ev.Data = bytes.ToValidUTF8(ev.Data, []byte("\uFFFD"))
	}
	if !utf8.Valid(ev.Changes) {
		ev.Changes = bytes.ToValidUTF8(ev.Changes, []byte("\uFFFD"))
	}
	if ev.ID == "" {
		ev.ID = e.ids.New(now)
	}
	if ev.Time.IsZero() {
		ev.Time = now
	}
	if ev.Subject == "" {
		ev.Subject = defaultSubject(ev.Type, ev.Data)
	}
	return nil
}

// Emit queues the invocations that events make (every subscribed webhook,
// every trigger whose conditions hold) and returns them once they are
// written. An event with a bad type or data fails the call with a
// *ValidationError before anything is queued.
func (e *Emitter) Emit(ctx context.Context, events ...Event) ([]Queued, error) {
	if e.closed.Load() {
		return nil, inspect.ErrClosed
	}
	now := e.clock.Now()
	for i := range events {
		if err := e.normalizeEvent(&events[i], now); err != nil {
			if len(events) > 1 {
				var ve *ValidationError
				if errors.As(err, &ve) {
					for j := range ve.List {
						ve.List[j].Field = fmt.Sprintf("%d.%s", i, ve.List[j].Field)
					}
				}
			}
			return nil, err
		}
	}
	e.planMu.RLock()
	defer e.planMu.RUnlock()
	s := e.snap.Load()
	var invs []*Invocation
	for i := range events {
		invs = append(invs, e.plan(s, &events[i], now)...)
	}
	return e.enqueue(ctx, invs)
}

// plan makes the invocations of one event.
func (e *Emitter) plan(s *snapshot, ev *Event, now time.Time) []*Invocation {
	var out []*Invocation
	var data any
	var condReq *rules.Request
	add := func(w *Webhook, cause string, nt *notify) {
		if w == nil || w.Status != StatusActive {
			return
		}
		if nt != nil && data == nil {
			data = decodeData(ev.Data)
		}
		out = append(out, e.newInvocation(w, ev, data, nt, cause, now))
	}
	for _, sub := range s.cfg.subs {
		if matchType(sub.events, ev.Type) {
			add(s.hooks[sub.webhook], "subscription", nil)
		}
	}
	for _, w := range s.api {
		if matchType(w.Subscriptions, ev.Type) {
			add(w, "subscription", nil)
		}
	}
	for _, t := range s.cfg.triggers {
		if !matchType(t.events, ev.Type) {
			continue
		}
		if t.cond != nil {
			if condReq == nil {
				condReq = &rules.Request{Method: http.MethodPost, Body: ev.Data, Header: http.Header{}}
			}
			if _, ok := t.cond.Match(condReq); !ok {
				continue
			}
		}
		add(s.hooks[t.notify.webhook], "trigger:"+t.name, &t.notify)
	}
	return out
}

// newInvocation renders the invocation of w for ev; a rendering problem
// makes a failed invocation that says why.
func (e *Emitter) newInvocation(w *Webhook, ev *Event, data any, nt *notify, cause string, now time.Time) *Invocation {
	inv := &Invocation{
		ID: e.ids.New(now), WebhookID: w.ID, EventID: ev.ID, EventType: ev.Type, Cause: cause,
		Status: InvocationPending, CreatedAt: now, UpdatedAt: now, queued: true, nextAt: now, depth: ev.depth,
	}
	req, err := e.render(w, ev, data, nt, now)
	inv.request = req
	if err != nil {
		inv.Status, inv.queued, inv.Error, inv.unsendable = InvocationFailed, false, err.Error(), true
	}
	return inv
}

// enqueue writes invocations in one transaction and wakes their lanes.
func (e *Emitter) enqueue(ctx context.Context, invs []*Invocation) ([]Queued, error) {
	return e.enqueueMarked(ctx, invs, "")
}

// enqueueMarked is enqueue that also writes down exchange as the last one
// taken in, in the same transaction (when not empty).
func (e *Emitter) enqueueMarked(ctx context.Context, invs []*Invocation, exchange string) ([]Queued, error) {
	out := make([]Queued, 0, len(invs))
	if exchange != "" && e.opts.Memory {
		exchange = ""
	}
	if len(invs) == 0 && exchange == "" {
		return out, nil
	}
	reads := map[*lane]int64{}
	for _, inv := range invs {
		if inv.queued {
			if l := e.lane(inv.WebhookID); l != nil {
				if _, ok := reads[l]; !ok {
					reads[l] = l.readsStarted()
				}
			}
		}
	}
	err := e.db.write(ctx, func(tx *sql.Tx) error {
		for _, inv := range invs {
			if err := e.db.insertInvocation(tx, inv); err != nil {
				return err
			}
		}
		if exchange != "" {
			return setMark(tx, exchangesMark, exchange)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("queue invocations: %w", err)
	}
	byHook := map[string][]*Invocation{}
	for _, inv := range invs {
		out = append(out, Queued{ID: inv.ID, EventID: inv.EventID, WebhookID: inv.WebhookID, Cause: inv.Cause, Status: inv.Status, Error: inv.Error})
		e.publish(inv)
		if inv.queued {
			byHook[inv.WebhookID] = append(byHook[inv.WebhookID], inv)
		} else {
			e.counts.add(inv.WebhookID, inv.Status, 1)
			e.announce(inv) // it could not be rendered
		}
	}
	// The lanes take the invocations over: from here on only the lane
	// touches each one.
	for id, list := range byHook {
		l := e.lane(id)
		if l == nil {
			continue
		}
		if r, ok := reads[l]; ok {
			l.offer(list, r)
		} else {
			l.spill() // the lane started during the write
		}
	}
	return out, nil
}

// lane returns the lane of webhook id, or nil.
func (e *Emitter) lane(id string) *lane {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.lanes[id]
}

// spill tells the lane of webhook id that invocations were queued in the
// database without a hand-over.
func (e *Emitter) spill(id string) {
	if l := e.lane(id); l != nil {
		l.spill()
	}
}

// publish sends a copy of inv to the live stream: the stream encodes it
// later, while the lane may be changing inv.
func (e *Emitter) publish(inv *Invocation) {
	if e.opts.Publish == nil {
		return
	}
	c := *inv
	e.opts.Publish(inspect.Event{Type: "invocation", Data: map[string]any{"invocation": &c}})
}

// OnExchange makes an event of a captured (request.captured) or proxied
// (exchange.proxied) exchange. It never blocks: the event is queued for
// the Run loop, or dropped and counted (Stats.DroppedEvents, and a logged
// error) when the queue is full. Exchanges of other sources, and captured
// requests that hooklab itself emitted, make no event.
//
// Give it the exchanges in the order stored: the emitter keeps the last one
// taken in (see CatchUp).
func (e *Emitter) OnExchange(_ context.Context, ex *inspect.Exchange) {
	if ex == nil {
		return
	}
	if q, ok := e.exchangeQueued(ex); ok {
		e.intake.RLock()
		if e.closed.Load() {
			// The server closes the emitter after the store's last
			// commit, so this is an exchange recorded after shutdown
			// began.
			n := e.dropped.Add(1)
			e.log.Warn("event after the emitter closed; dropped", "type", q.typ, "exchange", ex.ID, "dropped", n)
		} else {
			e.push(q)
		}
		e.intake.RUnlock()
	}
	e.seen.Store(&ex.ID)
}

// exchangeQueued returns the event of ex to queue, if it makes one.
func (e *Emitter) exchangeQueued(ex *inspect.Exchange) (queued, bool) {
	var typ string
	switch ex.Source {
	case inspect.SourceCapture:
		typ = EventRequestCaptured
	case inspect.SourceProxy:
		typ = EventExchangeProxied
	default:
		return queued{}, false
	}
	if !e.snap.Load().wants(typ) || ex.Request.Headers.Get(HeaderInvocation) != "" {
		return queued{}, false
	}
	return queued{ex: ex, typ: typ}, true
}

// CatchUp takes in the captured and proxied exchanges st stored after the
// last one the emitter took in: those stored while it was not running, or
// whose events were still queued in memory at a crash (a kill -9 right
// after a capture was answered). It returns how many it went through. Call
// it once Run runs (it waits for room in the event queue) and before the
// listeners that record exchanges serve. A first start (no mark yet) takes
// in nothing: the mark starts at the newest exchange. With Memory it does
// nothing.
func (e *Emitter) CatchUp(ctx context.Context, st inspect.Store) (int, error) {
	if e.opts.Memory {
		return 0, nil
	}
	mark, ok, err := e.db.mark(ctx, exchangesMark)
	if err != nil {
		return 0, fmt.Errorf("read the exchanges mark: %w", err)
	}
	if !ok {
		newest, _, err := st.List(ctx, inspect.Query{Limit: 1})
		if err != nil {
			return 0, err
		}
		mark = "00000000000000000000000000"
		if len(newest) > 0 {
			mark = newest[0].ID
		}
		return 0, e.db.write(ctx, func(tx *sql.Tx) error { return setMark(tx, exchangesMark, mark) })
	}
	n := 0
	cursor := ""
	for {
		page, next, err := st.List(ctx, inspect.Query{After: mark, Ascending: true, Cursor: cursor, Limit: 500})
		if err != nil {
			return n, err
		}
		for _, sum := range page {
			if sum.Source != inspect.SourceCapture && sum.Source != inspect.SourceProxy {
				// Taken in too, as OnExchange takes them: the mark goes
				// past it, so that the next start does not list it again.
				e.seen.Store(&sum.ID)
				continue
			}
			ex, err := st.Get(ctx, sum.ID)
			if errors.Is(err, inspect.ErrNotFound) {
				continue // deleted meanwhile
			}
			if err != nil {
				return n, err
			}
			n++
			if q, ok := e.exchangeQueued(ex); ok {
				select {
				case e.events <- q:
				case <-ctx.Done():
					return n, ctx.Err()
				}
			}
			e.seen.Store(&ex.ID)
		}
		if next == "" || len(page) == 0 {
			return n, nil
		}
		cursor = next
	}
}

func (e *Emitter) push(q queued) {
	select {
	case e.events <- q:
	default:
		if n := e.dropped.Add(1); n&(n-1) == 0 {
			e.log.Error("webhook event queue full; events dropped", "dropped", n)
		}
	}
}

// exchangeEvent turns an exchange into its event: data holds bin,
// exchange (id, bin, source, time), request (as mock templates see it:
// method, path without a capture's /b/BIN, query, headers, body, json,
// form, and url, the whole URL) and, when the exchange has one (a
// captured one's mock or default answer, a proxied one's upstream answer),
// response (status, headers, body).
func exchangeEvent(ex *inspect.Exchange, typ string) Event {
	u, _ := url.Parse(ex.Request.URL)
	r := &rules.Request{Method: ex.Request.Method, Header: ex.Request.Headers.HTTP(), Body: ex.Request.Body, Bin: ex.Bin}
	if u != nil {
		r.Path, r.RawQuery = u.Path, u.RawQuery
		// As mock templates see it: a capture's path without its /b/BIN.
		if rest, ok := strings.CutPrefix(r.Path, "/b/"+ex.Bin); ok && ex.Source == inspect.SourceCapture && ex.Bin != "" && (rest == "" || rest[0] == '/') {
			r.Path = "/" + strings.TrimPrefix(rest, "/")
		}
	}
	data := rules.RequestVars(r, nil)
	if req, ok := data["request"].(map[string]any); ok {
		req["url"] = ex.Request.URL
	}
	data["bin"] = ex.Bin
	data["exchange"] = map[string]any{"id": ex.ID, "bin": ex.Bin, "source": string(ex.Source), "time": ex.Time}
	if resp := ex.Response; resp != nil {
		hdr := map[string]any{}
		for _, h := range resp.Headers {
			hdr[strings.ToLower(h.Name)] = h.Value
		}
		data["response"] = map[string]any{"status": resp.Status, "headers": hdr, "body": string(resp.Body)}
	}
	b, err := json.Marshal(data)
	if err != nil {
		b = []byte(`{}`)
	}
	return Event{ID: ex.ID, Type: typ, Time: ex.Time, Subject: "exchange:" + ex.ID, Data: b}
}

// Run delivers queued invocations, turns exchanges into events and runs
// automations until ctx ends. Attempts in flight then finish (or are
// cancelled) in Close.
func (e *Emitter) Run(ctx context.Context) error {
	e.mu.Lock()
	if e.runCtx != nil {
		e.mu.Unlock()
		return errors.New("emit: Run called twice")
	}
	if e.closed.Load() {
		e.mu.Unlock()
		return inspect.ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	e.runCtx, e.stopRun = ctx, cancel
	e.rebuildLocked()
	e.mu.Unlock()
	defer close(e.runDone)

	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); e.ingest(ctx) }()
	go func() { defer wg.Done(); e.automate(ctx) }()
	go func() { defer wg.Done(); e.sweep(ctx) }()
	<-ctx.Done()
	e.mu.Lock()
	e.stopped = true
	e.mu.Unlock()
	wg.Wait()
	e.laneWG.Wait()
	return nil
}

// failOrphansLocked fails the queued invocations of webhook id, which is
// gone (see db.failOrphans), and counts them. e.mu is held.
func (e *Emitter) failOrphansLocked(ctx context.Context, id string) {
	n, err := e.db.failOrphans(ctx, id, e.clock.Now())
	if err != nil && ctx.Err() == nil {
		e.log.Error("fail invocations of a removed webhook", "webhook", id, "err", err)
	}
	if n > 0 {
		e.counts.add(id, InvocationFailed, n)
		e.log.Warn("queued invocations of a webhook no longer defined failed", "webhook", id, "invocations", n)
	}
}

// ingest turns queued events into invocations, in batches. Once a second
// when nothing is queued, and when it stops, it writes down the last
// exchange taken in.
func (e *Emitter) ingest(ctx context.Context) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	defer e.saveSeen(context.WithoutCancel(ctx))
	for {
		select {
		case <-ctx.Done():
			return
		case q := <-e.events:
			e.ingestBatch(ctx, q)
		case <-tick.C:
			e.saveSeen(ctx)
		}
	}
}

// saveSeen writes down the last exchange given to OnExchange as taken in,
// when every event queued before it is in (nothing is queued). It runs in
// ingest, the queue's only reader: seen is loaded first, so what was queued
// before it was set has been read, and ingested, when the queue is empty.
func (e *Emitter) saveSeen(ctx context.Context) {
	if e.opts.Memory {
		return
	}
	seen := e.seen.Load()
	if seen == nil || *seen == e.savedSeen || len(e.events) > 0 || e.markHeld.Load() {
		return
	}
	if err := e.db.write(ctx, func(tx *sql.Tx) error { return setMark(tx, exchangesMark, *seen) }); err != nil {
		return // the database logged it (sparingly); tried again in a second
	}
	e.savedSeen = *seen
}

func (e *Emitter) ingestBatch(ctx context.Context, first queued) {
	batch := []Event{e.toEvent(first)}
	var mark string // the last exchange of the batch
	if first.ex != nil {
		mark = first.ex.ID
	}
fill:
	for len(batch) < 256 {
		select {
		case q := <-e.events:
			batch = append(batch, e.toEvent(q))
			if q.ex != nil {
				mark = q.ex.ID
			}
		default:
			break fill
		}
	}
	now := e.clock.Now()
	valid := batch[:0]
	for i := range batch {
		if err := e.normalizeEvent(&batch[i], now); err != nil {
			// Events made inside hooklab (captures, deliveries) should
			// always be valid: one that is not is a bug to see, not to
			// drop silently.
			e.log.Error("internal event dropped", "type", batch[i].Type, "err", err)
			continue
		}
		valid = append(valid, batch[i])
	}
	batch = valid
	// A database that refuses the write (a full disk) holds the batch
	// here, tried again until it takes it: the captures were answered,
	// their events must not be lost (the events behind them wait in the
	// queue, and past it are counted as dropped). Each try plans anew,
	// under planMu, so that no invocation of a webhook deleted meanwhile
	// is written.
	var t *time.Ticker
	for {
		err := e.planAndQueue(ctx, batch, now, mark)
		if err == nil {
			if t != nil {
				t.Stop()
				e.log.Info("the emitter's database took the invocations it held", "events", len(batch))
			}
			return
		}
		if !errors.Is(err, inspect.ErrStoreFull) || errors.Is(err, inspect.ErrClosed) || ctx.Err() != nil {
			if t != nil {
				t.Stop()
			}
			// The mark stays where it was: a restart takes these
			// exchanges in again (CatchUp), at least once.
			e.markHeld.Store(true)
			e.log.Error("queue invocations of events", "err", err, "events", len(batch))
			return
		}
		if t == nil {
			e.log.Warn("the emitter's database refused the invocations of events; holding them until it takes them", "err", err, "events", len(batch))
			t = time.NewTicker(retryRecordEvery)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
}

// planAndQueue writes the invocations of batch (normalized) and, with
// them, mark as the last exchange taken in.
func (e *Emitter) planAndQueue(ctx context.Context, batch []Event, now time.Time, mark string) error {
	e.planMu.RLock()
	defer e.planMu.RUnlock()
	s := e.snap.Load()
	var invs []*Invocation
	for i := range batch {
		invs = append(invs, e.plan(s, &batch[i], now)...)
	}
	if len(invs) == 0 || e.markHeld.Load() {
		mark = "" // no write for nothing: the next idle save writes the mark (unless held)
	}
	if _, err := e.enqueueMarked(context.WithoutCancel(ctx), invs, mark); err != nil {
		return err
	}
	if mark != "" && !e.opts.Memory {
		e.savedSeen = mark
	}
	return nil
}

func (e *Emitter) toEvent(q queued) Event {
	if q.ex != nil {
		// Secret header values and URL passwords of what was captured
		// or proxied read REDACTED in its event, as in the exchange API:
		// the event's data goes into payloads, the activity log and the
		// attempts' exchanges.
		ex, _ := q.ex.Redact(e.opts.SecretHeaders)
		return exchangeEvent(ex, q.typ)
	}
	return q.ev
}

// sweep deletes finished invocations older than Retain, every tenth of it
// (at most hourly), and the oldest beyond RetainCount (down to nine tenths
// of it, so that it is not at every one that finishes), checked each
// minute and whenever the count grows: checked only each minute, a busy
// subscription kept many times RetainCount in between.
func (e *Emitter) sweep(ctx context.Context) {
	var aged time.Time
	every := min(max(e.opts.Retain/10, time.Minute), time.Hour)
	overCount := func() {
		if keep := e.opts.RetainCount; keep > 0 {
			if n := e.counts.total(); n > keep {
				gone, err := e.db.retainOldest(ctx, n-keep*9/10)
				if err != nil && ctx.Err() == nil {
					e.log.Error("invocation retention", "err", err)
				}
				if err == nil {
					e.counts.addAll(gone, -1)
				}
			}
		}
	}
	for {
		now := e.clock.Now()
		if now.Sub(aged) >= every {
			aged = now
			gone, err := e.db.retain(ctx, now.Add(-e.opts.Retain))
			if err != nil && ctx.Err() == nil {
				e.log.Error("invocation retention", "err", err)
			}
			if err == nil {
				e.counts.addAll(gone, -1)
			}
		}
		overCount()
		c, stop := e.clock.At(now.Add(time.Minute))
	wait:
		for {
			select {
			case <-ctx.Done():
				stop()
				return
			case <-e.counts.grew:
				overCount()
			case <-c:
				break wait
			}
		}
	}
}

// Close stops Run (when it is running), waits up to DrainTimeout for
// attempts in flight (then cancels them; they stay queued), queues the
// events still buffered, closes the idle connections of the client it made
// (not those of Options.Client), and closes the database.
func (e *Emitter) Close() error {
	var err error
	e.once.Do(func() {
		e.intake.Lock()
		e.closed.Store(true)
		e.intake.Unlock()
		e.mu.Lock()
		running := e.runCtx != nil
		if running {
			e.stopRun()
		}
		e.mu.Unlock()
		if running {
			<-e.runDone
		}
		done := make(chan struct{})
		go func() { e.attempts.Wait(); close(done) }()
		t := time.NewTimer(e.opts.DrainTimeout)
		select {
		case <-done:
		case <-t.C:
			e.cancelAttempts()
			<-done
		}
		t.Stop()
		e.cancelAttempts()
		e.workers.close()
		if e.transport != nil {
			// Its own client's keep-alive connections would otherwise
			// stay open (with their goroutines) for IdleConnTimeout.
			e.client.CloseIdleConnections()
		}
		// A database that refuses them is waited for DrainTimeout at
		// most (then the events are taken in again at the next start).
		dctx, cancelDrain := context.WithTimeout(context.Background(), e.opts.DrainTimeout)
		for {
			select {
			case q := <-e.events:
				e.ingestBatch(dctx, q)
				continue
			default:
			}
			break
		}
		cancelDrain()
		if e.opts.Memory {
			if st, serr := e.Stats(context.Background()); serr == nil && st.Queued > 0 {
				e.log.Warn("invocations still queued are lost with the in-memory queue (--memory)", "queued", st.Queued)
			}
		}
		err = e.db.close()
	})
	return err
}

// afterShutdown says what becomes of an invocation left queued at
// shutdown.
func (e *Emitter) afterShutdown() string {
	if e.opts.Memory {
		return "the invocation is lost with the in-memory queue (--memory)"
	}
	return "the invocation stays queued and is attempted again at the next start (the receiver may see it twice)"
}

// Stats counts invocations.
type Stats struct {
	// ByStatus counts invocations by status.
	ByStatus map[string]int64 `json:"by_status"`
	// Queued counts invocations waiting for an attempt; InFlight those
	// being attempted now.
	Queued   int64 `json:"queued"`
	InFlight int64 `json:"in_flight"`
	Total    int64 `json:"total"`
	// DroppedEvents counts events lost because the event queue was full.
	DroppedEvents int64 `json:"dropped_events"`
	// BufferedEvents are events not yet turned into invocations.
	BufferedEvents int `json:"buffered_events"`
}

// Stats counts the invocations in the database by status.
func (e *Emitter) Stats(ctx context.Context) (Stats, error) {
	by, q, err := e.db.stats(ctx)
	if err != nil {
		return Stats{}, err
	}
	s := Stats{ByStatus: by, Queued: q, InFlight: e.inflight.Load(), DroppedEvents: e.dropped.Load(), BufferedEvents: len(e.events)}
	for _, n := range by {
		s.Total += n
	}
	return s, nil
}
