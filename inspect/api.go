package inspect

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"
)

// APIConfig holds what the JSON API needs.
type APIConfig struct {
	Store Store
	Hub   *Hub
	// BinsChanged, when set, is called after a bin was cleared or deleted
	// ("": every bin was cleared), for the capture, which counts bins
	// against its limit.
	BinsChanged func(ctx context.Context, bin string)
	// CaptureURL returns the base URL of the capture listener, for bin URLs.
	CaptureURL func() string
	Logger     *slog.Logger
	// MaxWait caps the long-poll timeout; 5 minutes when zero.
	MaxWait time.Duration
	// Done, when closed, ends long-polls with a 503 (server shutdown).
	Done <-chan struct{}
	// SecretHeaders names more headers (any case) whose values are
	// redacted in answers, beside those IsSecretHeader knows.
	SecretHeaders []string
	// OwnAPI, when set, reports whether a URL is this API's own address.
	// A captured request's URL is whatever Host its sender wrote, so its
	// curl command could drive hooklab's API: such a command is not given.
	OwnAPI func(rawURL string) bool
	// AdmitBin, when set, is asked before POST /api/bins makes a bin; an
	// error (the capture endpoint's bin limit) refuses it with a 429.
	AdmitBin func(ctx context.Context, name string) error
}

// API serves the exchange and bin endpoints under /api.
type API struct {
	cfg  APIConfig
	log  *slog.Logger
	errs *ErrorWriter
	mux  *http.ServeMux
	h    http.Handler // mux, answering in JSON what it has no route for
	// decoding holds a place for each /decoded answer being made, from
	// the decode until it is written (see MaxDecoding).
	decoding chan struct{}
}

// MaxDecoding is how many bodies GET /api/exchanges/{id}/decoded decodes
// and writes at once; more wait for a place (or for their client to go).
// Each holds up to MaxDecodedView bytes, which a few hundred KB of gzip
// decode to.
const MaxDecoding = 4

// decodedWriteTimeout bounds how long a /decoded answer holds its place
// while its client reads it.
const decodedWriteTimeout = 30 * time.Second

var _ http.Handler = (*API)(nil)

// NewAPI returns the JSON API handler.
func NewAPI(cfg APIConfig) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.MaxWait == 0 {
		cfg.MaxWait = 5 * time.Minute
	}
	a := &API{cfg: cfg, log: cfg.Logger, errs: NewErrorWriter(cfg.Logger), mux: http.NewServeMux(), decoding: make(chan struct{}, MaxDecoding)}
	a.routes()
	a.h = JSONErrors(a.mux)
	return a
}

func (a *API) routes() {
	a.mux.HandleFunc("GET /api/exchanges", a.list)
	a.mux.HandleFunc("DELETE /api/exchanges", a.clear)
	a.mux.HandleFunc("GET /api/exchanges/wait", a.wait)
	a.mux.HandleFunc("GET /api/exchanges/{id}", a.only(a.get, "reveal"))
	a.mux.HandleFunc("DELETE /api/exchanges/{id}", a.only(a.delete))
	a.mux.HandleFunc("GET /api/exchanges/{id}/raw", a.only(a.raw, "reveal"))
	a.mux.HandleFunc("GET /api/exchanges/{id}/curl", a.only(a.curl, "reveal"))
	a.mux.HandleFunc("GET /api/exchanges/{id}/decoded", a.only(a.decoded, "part"))
	a.mux.HandleFunc("GET /api/bins", a.only(a.bins))
	a.mux.HandleFunc("POST /api/bins", a.only(a.createBin))
	a.mux.HandleFunc("DELETE /api/bins/{name}", a.only(a.deleteBin))
}

func (a *API) only(h http.HandlerFunc, keys ...string) http.HandlerFunc {
	return OnlyParams(a.log, h, keys...)
}

// OnlyParams serves h when the request's parameters are among keys, each
// given once: a typo (?revael=1) is refused with a 400 rather than quietly
// giving another answer. Mount h with a pattern that names its method.
func OnlyParams(log *slog.Logger, h http.HandlerFunc, keys ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		endpoint := r.Method + " " + r.Pattern[strings.IndexByte(r.Pattern, ' ')+1:]
		if err := errors.Join(Only(r.URL.Query(), endpoint, keys...), Once(r.URL.Query(), keys...)); err != nil {
			WriteError(w, r, log, err)
			return
		}
		h(w, r)
	}
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.h.ServeHTTP(w, r) }

// OnlyMethod serves h for requests of method (GET takes HEAD too) and
// answers any other 405, in JSON with Allow, as the API's own routes do. For
// a route mounted on a mux beside a catch-all, which would otherwise take
// the other methods and say 404.
func OnlyMethod(method string, h http.Handler) http.Handler {
	allow := method
	if method == http.MethodGet {
		allow = "GET, HEAD"
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method && !(method == http.MethodGet && r.Method == http.MethodHead) {
			w.Header().Set("Allow", allow)
			WriteJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": r.Method + " " + r.URL.Path + ": want " + allow})
			return
		}
		h.ServeHTTP(w, r)
	})
}

// JSONErrors serves mux, answering a request no route takes in JSON, as
// every API error is, rather than the mux's plain text: 404, or 405 with
// the mux's Allow header. (Redirects have a route: they go the mux's way.)
func JSONErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &statusRecorder{h: http.Header{}}
		h.ServeHTTP(rec, r)
		if rec.code == http.StatusMethodNotAllowed {
			allow := rec.h.Get("Allow")
			w.Header().Set("Allow", allow)
			WriteJSON(w, rec.code, map[string]string{"error": fmt.Sprintf("%s %s is not allowed; %s takes %s", r.Method, r.URL.Path, r.URL.Path, allow)})
			return
		}
		WriteJSON(w, http.StatusNotFound, map[string]string{"error": "no API endpoint " + r.URL.Path})
	})
}

// statusRecorder keeps the status and headers a handler answers with and
// drops its body.
type statusRecorder struct {
	h    http.Header
	code int
}

func (s *statusRecorder) Header() http.Header { return s.h }
func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
}
func (s *statusRecorder) Write(b []byte) (int, error) {
	s.WriteHeader(http.StatusOK)
	return len(b), nil
}

// JSONLine returns v as JSON and a newline, with <, > and & as they are
// (json.Marshal escapes them for HTML): what hooklab's own answers on the
// capture port and the proxies carry, as WriteJSON's do, so that an error
// such as "want sha256=<hex>" reads as written. indent, when set, indents.
func JSONLine(v any, indent string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if indent != "" {
		enc.SetIndent("", indent)
	}
	_ = enc.Encode(v)
	return b.Bytes()
}

// WriteJSON writes v as JSON with status code.
func WriteJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// StatusOf maps an error to an HTTP status: 404 for ErrNotFound, 413 for
// ErrTooLarge, 409 for ErrConflict, 422 for ErrUndecodable, 400 for
// ErrInvalid, 503 for ErrStoreFull and ErrClosed, 499 for a client that
// went away, else 500.
func StatusOf(err error) int {
	switch {
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrUndecodable):
		return http.StatusUnprocessableEntity
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest
	case errors.Is(err, ErrStoreFull), errors.Is(err, ErrClosed):
		return http.StatusServiceUnavailable
	case errors.Is(err, context.Canceled):
		return 499
	}
	return http.StatusInternalServerError
}

// WriteError answers with err as JSON {"error": …}, logging server errors.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	writeError(w, r, err, func(args ...any) { log.Error("request failed", args...) })
}

// ErrorWriter answers with errors as WriteError does, but logs the
// refusals of a store that cannot write once every 5 s, with held_back the
// refusals meanwhile, as capture logs its own: a full disk refuses every
// write, and a sender's retries or a test's loop made a line each (POST
// /api/events logged 9,600 in 10 s). An API keeps one.
type ErrorWriter struct {
	log  *slog.Logger
	full *LogLimit
}

// NewErrorWriter returns an ErrorWriter that logs to log.
func NewErrorWriter(log *slog.Logger) *ErrorWriter {
	return &ErrorWriter{log: log, full: NewLogLimit(5 * time.Second)}
}

// Write answers r with err.
func (e *ErrorWriter) Write(w http.ResponseWriter, r *http.Request, err error) {
	writeError(w, r, err, func(args ...any) {
		if errors.Is(err, ErrStoreFull) {
			e.full.Log(e.log, slog.LevelError, "request failed", args...)
			return
		}
		e.log.Error("request failed", args...)
	})
}

func writeError(w http.ResponseWriter, r *http.Request, err error, logFailed func(args ...any)) {
	code := StatusOf(err)
	if code == 499 {
		// The request's context ended: the client went away, or the server
		// is stopping. Say so in case someone is still listening.
		w.Header().Set("Retry-After", "1")
		WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "request cancelled (client gone or hooklab stopping)"})
		return
	}
	if code >= 500 {
		logFailed("method", r.Method, "path", r.URL.Path, "err", err)
	}
	if code == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	WriteJSON(w, code, map[string]string{"error": err.Error()})
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) { a.errs.Write(w, r, err) }

// Only fails when v holds a parameter that is not one of keys: a typo
// (?pth=/x) would otherwise be ignored and the answer hold everything.
func Only(v url.Values, endpoint string, keys ...string) error {
	for k := range v {
		if slices.Contains(keys, k) {
			continue
		}
		if len(keys) == 0 {
			return fmt.Errorf("%w: %s takes no parameters (got %q)", ErrInvalid, endpoint, k)
		}
		return fmt.Errorf("%w: %s takes no parameter %q (it takes %s)", ErrInvalid, endpoint, k, strings.Join(keys, ", "))
	}
	return nil
}

// listParams are the parameters of GET /api/exchanges.
var listParams = []string{"bin", "method", "source", "status", "q", "cursor", "after", "limit", "since", "until", "order"}

// waitParams are the filters of GET /api/exchanges/wait: the list's
// without cursor, limit and order, which a wait for one exchange has no
// use for (refused, not ignored: a script that sets them expects them to
// mean something).
var waitParams = []string{"bin", "method", "source", "status", "q", "after", "since", "until"}

// Once fails when one of keys is given more than once in v: one value
// would be used and the others ignored without a word.
func Once(v url.Values, keys ...string) error {
	for _, k := range keys {
		if n := len(v[k]); n > 1 {
			hint := ""
			if slices.Contains(keys, "q") {
				hint = " (q= takes several terms)"
			}
			return fmt.Errorf("%w: %s is given %d times; give it once%s", ErrInvalid, k, n, hint)
		}
	}
	return nil
}

// BinParam returns the bin= parameter of v ("" when there is none), and
// fails for a bin name that is not one, or for bin= given empty: an unset
// variable in a script (bin=$BIN) would widen a list, wait, stream or
// export to every bin.
func BinParam(v url.Values) (string, error) {
	bin := v.Get("bin")
	switch {
	case bin != "":
		return bin, ValidBin(bin)
	case v.Has("bin"):
		return "", fmt.Errorf("%w: bin is empty: name a bin, or leave bin out for every bin", ErrInvalid)
	}
	return "", nil
}

// NoEmpty refuses each of keys given with an empty value: a script's unset
// variable (after=$LAST) would otherwise widen the selection unseen (a
// wait would miss what it waits for).
func NoEmpty(v url.Values, keys ...string) error {
	for _, k := range keys {
		if vs, ok := v[k]; ok && slices.Contains(vs, "") {
			return fmt.Errorf("%w: %s is empty: give a value, or leave %s out", ErrInvalid, k, k)
		}
	}
	return nil
}

// ParseQuery reads the list filters from URL parameters.
func ParseQuery(v url.Values) (Query, error) {
	if err := Once(v, "bin", "method", "source", "status", "q", "cursor", "after", "limit", "since", "until", "order"); err != nil {
		return Query{}, err
	}
	// (An empty cursor is the first page, as a paging loop starts.)
	if err := NoEmpty(v, "method", "source", "status", "after", "since", "until"); err != nil {
		return Query{}, err
	}
	if strings.EqualFold(v.Get("status"), "none") { // as q=status:none says it
		v = maps.Clone(v)
		v.Set("status", "0")
	}
	q := Query{
		Bin:    v.Get("bin"),
		Method: v.Get("method"),
		Source: v.Get("source"),
		Status: v.Get("status"),
		Text:   v.Get("q"),
		Cursor: v.Get("cursor"),
		After:  v.Get("after"),
	}
	if _, err := BinParam(v); err != nil {
		return q, err
	}
	if q.After != "" {
		// Ids are upper case; a lower-case copy is the same id.
		q.After = strings.ToUpper(q.After)
		if !ValidID(q.After) {
			return q, fmt.Errorf("%w: after %q: want an exchange id (26 characters, as in the API's answers)", ErrInvalid, v.Get("after"))
		}
	}
	if _, _, ok := q.StatusRange(); !ok {
		return q, fmt.Errorf("%w: status %q: %s", ErrInvalid, q.Status, statusWant)
	}
	switch q.Source {
	case "", string(SourceCapture), string(SourceProxy), string(SourceEmit), string(SourceReplay):
	default:
		return q, fmt.Errorf("%w: source %q: want capture, proxy, emit or replay", ErrInvalid, q.Source)
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return q, fmt.Errorf("%w: limit %q: want a number from 1 to 1000", ErrInvalid, s)
		}
		q.Limit = n
	}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"since", &q.Since}, {"until", &q.Until}} {
		if s := v.Get(f.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return q, fmt.Errorf("%w: %s %q: want an RFC 3339 time like 2026-01-02T15:04:05Z", ErrInvalid, f.name, s)
			}
			*f.t = t
		}
	}
	if !q.Since.IsZero() && !q.Until.IsZero() && q.Since.After(q.Until) {
		return q, fmt.Errorf("%w: since %s is after until %s: nothing could match", ErrInvalid, v.Get("since"), v.Get("until"))
	}
	if q.Method != "" && !httpguts.ValidHeaderFieldName(q.Method) {
		return q, fmt.Errorf("%w: method %q: want an HTTP method such as GET or POST", ErrInvalid, q.Method)
	}
	if s := v.Get("order"); s != "" {
		switch s {
		case "asc":
			q.Ascending = true
		case "desc":
		default:
			return q, fmt.Errorf("%w: order %q: want asc or desc", ErrInvalid, s)
		}
	}
	return q, nil
}

// parseListQuery reads the list filters and the query language of q=.
func parseListQuery(v url.Values) (Query, Terms, error) {
	q, err := ParseQuery(v)
	if err != nil {
		return q, nil, err
	}
	terms, err := ParseQueryLang(q.Text)
	if err != nil {
		return q, nil, fmt.Errorf("q: %w", err) // it says invalid input already
	}
	q.Text = ""
	return q, terms, nil
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	if err := Only(r.URL.Query(), "GET /api/exchanges", listParams...); err != nil {
		a.fail(w, r, err)
		return
	}
	q, terms, err := parseListQuery(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	exs, next, err := ListMatching(r.Context(), a.cfg.Store, q, terms, 0)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	for i := range exs { // summaries hold no headers; a URL may hold a password
		exs[i] = RedactSummary(exs[i], a.cfg.SecretHeaders)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"exchanges": exs, "next": next})
}

// revealed reports whether the request asks for secrets as stored:
// ?reveal=1, true or yes (0, false, no or none: redacted), the words
// export.har's keep_secrets takes. Any other value is an ErrInvalid, not
// an answer quietly redacted.
func revealed(r *http.Request) (bool, error) {
	switch v := r.URL.Query().Get("reveal"); strings.ToLower(v) {
	case "1", "true", "yes":
		return true, nil
	case "", "0", "false", "no":
		return false, nil
	default:
		return false, fmt.Errorf("%w: reveal %q: want 1, true or yes, or 0, false or no", ErrInvalid, v)
	}
}

// writeExchange answers with ex: secrets redacted (RedactJSON) unless
// reveal (?reveal=1).
func (a *API) writeExchange(w http.ResponseWriter, ex *Exchange, reveal bool) {
	if reveal {
		WriteJSON(w, http.StatusOK, ex)
		return
	}
	WriteJSON(w, http.StatusOK, RedactJSON(ex, a.cfg.SecretHeaders))
}

// shown returns ex as an answer may show it: redacted unless reveal.
func (a *API) shown(ex *Exchange, reveal bool) *Exchange {
	if reveal {
		return ex
	}
	c, _ := ex.Redact(a.cfg.SecretHeaders)
	return c
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	reveal, err := revealed(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ex, err := a.cfg.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.writeExchange(w, ex, reveal)
}

func (a *API) delete(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if err := a.cfg.Store.Delete(r.Context(), id); err != nil {
		a.fail(w, r, err)
		return
	}
	// Other pages showing it take it out of their lists.
	a.publish(Event{Type: "deleted", Data: map[string]any{"id": strings.ToUpper(id)}})
	w.WriteHeader(http.StatusNoContent)
}

func (a *API) clear(w http.ResponseWriter, r *http.Request) {
	// Only bin= narrows a clear. Any other filter is refused rather than
	// ignored: ignoring ?method=GET would delete everything.
	for k := range r.URL.Query() {
		if k != "bin" {
			a.fail(w, r, fmt.Errorf("%w: DELETE /api/exchanges takes only bin= (got %s=); delete single exchanges with DELETE /api/exchanges/{id}", ErrInvalid, k))
			return
		}
	}
	q := r.URL.Query()
	bin := q.Get("bin")
	if q.Has("bin") || len(q["bin"]) > 1 {
		// An empty bin= (a script's unset $BIN) must not mean every bin.
		if len(q["bin"]) > 1 {
			a.fail(w, r, fmt.Errorf("%w: bin= is given %d times; clear one bin at a time", ErrInvalid, len(q["bin"])))
			return
		}
		if err := ValidBin(bin); err != nil {
			a.fail(w, r, fmt.Errorf("%w (to clear every bin, leave bin= out)", err))
			return
		}
	}
	n, err := a.cfg.Store.Clear(r.Context(), bin)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.binsChanged(r.Context(), bin)
	// Other pages reload their lists: the bin (null: every bin) is empty.
	cleared := any(nil)
	if q.Has("bin") {
		cleared = bin
	}
	a.publish(Event{Type: "cleared", Data: map[string]any{"bin": cleared, "deleted": n}})
	WriteJSON(w, http.StatusOK, map[string]any{"deleted": n})
}

// wait answers with the first exchange matching the filters that is newer
// than ?after= or arrives before ?timeout=, or 204.
func (a *API) wait(w http.ResponseWriter, r *http.Request) {
	if err := errors.Join(Only(r.URL.Query(), "GET /api/exchanges/wait", append(slices.Clip(waitParams), "timeout", "reveal")...), Once(r.URL.Query(), "timeout", "reveal")); err != nil {
		a.fail(w, r, err)
		return
	}
	reveal, err := revealed(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	q, terms, err := parseListQuery(r.URL.Query())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	timeout := 30 * time.Second
	if s := r.URL.Query().Get("timeout"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			if n, nerr := strconv.ParseFloat(s, 64); nerr == nil {
				d, err = time.Duration(n*float64(time.Second)), nil
			}
		}
		if err != nil || d < 0 || d > a.cfg.MaxWait {
			a.fail(w, r, fmt.Errorf("%w: timeout %q: want a duration like 10s, at most %s", ErrInvalid, s, a.cfg.MaxWait))
			return
		}
		timeout = d
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	// Let the store publish what it has acknowledged first, so that the
	// subscription below gets only what comes after the look in the store.
	if sy, ok := a.cfg.Store.(interface{ Sync(context.Context) }); ok {
		sy.Sync(r.Context())
	}
	// Subscribe before looking in the store so nothing falls between.
	// The hub filters on cheap fields only (it runs on the store's writer);
	// the query language's terms are checked here.
	filter := func(ev *Event) bool { return ev.Exchange != nil && q.Matches(ev.Exchange) }
	sub := a.cfg.Hub.Subscribe(256, filter)
	defer func() { a.cfg.Hub.Unsubscribe(sub) }()
	// seen is the newest exchange this wait has accounted for: the one
	// given as ?after=, else the newest stored when the wait began. A look
	// in the store covers everything committed after it.
	seen := q.After
	if seen == "" && !q.Since.IsZero() {
		// since= says which exchanges count: those stored from then on
		// too, not only arrivals.
		seen = "00000000000000000000000000"
	}
	if seen == "" {
		newest, _, err := a.cfg.Store.List(r.Context(), Query{Limit: 1})
		if err != nil {
			a.fail(w, r, err)
			return
		}
		seen = "00000000000000000000000000" // an empty store: everything is new
		if len(newest) > 0 {
			seen = newest[0].ID
		}
	}
	find := func(ctx context.Context) (*Exchange, error) {
		qq := q
		qq.After, qq.Ascending, qq.Limit, qq.Cursor = seen, true, 1, ""
		for {
			// Terms the store cannot filter by (path:, json:, header:,
			// negations…) are checked a bounded number of rows a page, so
			// a page can come back empty with more to look at: follow it.
			found, next, err := ListMatching(ctx, a.cfg.Store, qq, terms, 0)
			switch {
			case err != nil:
				return nil, err
			case len(found) > 0:
				ex, err := a.cfg.Store.Get(ctx, found[0].ID)
				if errors.Is(err, ErrNotFound) {
					// Deleted since it was listed (retention, a clear):
					// look past it.
					seen, qq.After, qq.Cursor = found[0].ID, found[0].ID, ""
					continue
				}
				return ex, err
			case next == "":
				return nil, nil
			}
			qq.Cursor = next
		}
	}
	var ex *Exchange
	if q.After != "" || !q.Since.IsZero() {
		// Not bounded by the timeout: timeout=0 looks in the store and
		// answers at once.
		ex, err = find(r.Context())
	}
	take := func(ev Event) {
		seen = ev.Exchange.ID
		if terms.Match(ev.Exchange) {
			ex = ev.Exchange
		}
	}
	for ex == nil && err == nil {
		select {
		case ev := <-sub.C():
			take(ev)
		case <-sub.Overflow():
			// What was buffered came in commit order: look at it first.
			for drained := false; !drained && ex == nil; {
				select {
				case ev := <-sub.C():
					take(ev)
				default:
					drained = true
				}
			}
			if ex != nil {
				break
			}
			// Too much traffic to follow: subscribe again, then look in the
			// store past the last exchange seen, so nothing falls between.
			a.cfg.Hub.Unsubscribe(sub)
			sub = a.cfg.Hub.Subscribe(256, filter)
			ex, err = find(ctx)
		case <-a.cfg.Done:
			w.Header().Set("Retry-After", "1")
			WriteJSON(w, http.StatusServiceUnavailable, map[string]string{"error": "hooklab is stopping"})
			return
		case <-ctx.Done():
			if r.Context().Err() != nil {
				return
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if err != nil {
		if ctx.Err() != nil && r.Context().Err() == nil {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		a.fail(w, r, err)
		return
	}
	a.writeExchange(w, ex, reveal)
}

func (a *API) raw(w http.ResponseWriter, r *http.Request) {
	reveal, err := revealed(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ex, err := a.cfg.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "message/http")
	w.Header().Set("Content-Disposition", `attachment; filename="`+ex.ID+`.http"`)
	if ex.Request.Truncated {
		// The message carries what is stored; its sender sent more.
		w.Header().Set("X-Hooklab-Truncated", fmt.Sprintf("%d of %d bytes of the body were stored", len(ex.Request.Body), ex.Request.Size))
	}
	_, _ = w.Write(RawRequest(a.shown(ex, reveal)))
}

// decoded answers the body of ?part=request or response decoded from its
// Content-Encoding (gzip, deflate or br), at most MaxDecodedView bytes of
// it: the UI's viewers ask for it where the browser decodes no such coding
// itself (br). A body that does not decode whole (cut at --max-body, or
// not in that coding), or is in no coding hooklab reads, is a 422.
func (a *API) decoded(w http.ResponseWriter, r *http.Request) {
	ex, err := a.cfg.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var h Headers
	var body []byte
	switch part := r.URL.Query().Get("part"); {
	case part == "request":
		h, body = ex.Request.Headers, ex.Request.Body
	case part == "response" && ex.Response != nil:
		h, body = ex.Response.Headers, ex.Response.Body
	case part == "response":
		a.fail(w, r, fmt.Errorf("%w: exchange %s has no response", ErrNotFound, ex.ID))
		return
	default:
		a.fail(w, r, fmt.Errorf("%w: part %q: want request or response", ErrInvalid, part))
		return
	}
	select {
	case a.decoding <- struct{}{}:
		defer func() { <-a.decoding }()
	case <-r.Context().Done():
		a.fail(w, r, r.Context().Err())
		return
	}
	ce := h.Get("Content-Encoding")
	dec, err := DecodeContent(ce, body, MaxDecodedView+1)
	switch {
	case err != nil:
		a.fail(w, r, fmt.Errorf("%w: the body does not decode as %s: %v", ErrUndecodable, cmp.Or(ce, "identity"), err))
		return
	case len(dec) > MaxDecodedView:
		a.fail(w, r, fmt.Errorf("%w: the body decodes to more than %d MiB", ErrUndecodable, MaxDecodedView>>20))
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Cache-Control", "no-store")
	// A client that stops reading gives its place up after a while.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(decodedWriteTimeout))
	_, _ = w.Write(dec)
}

func (a *API) curl(w http.ResponseWriter, r *http.Request) {
	reveal, err := revealed(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	ex, err := a.cfg.Store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	if a.cfg.OwnAPI != nil && a.cfg.OwnAPI(ex.Request.URL) {
		// A comment, so that a copy pasted into a shell does nothing.
		fmt.Fprintf(w, "# not given: this request's URL, %s, is hooklab's own API (its sender chose the Host);\n"+
			"# running it would drive hooklab. Replay it to a target instead.\n", RedactURL(ex.Request.URL))
		return
	}
	if ex.Request.Truncated {
		fmt.Fprintf(w, "# the body was truncated: %d of %d bytes were stored, and this sends those\n", len(ex.Request.Body), ex.Request.Size)
	}
	_, _ = io.WriteString(w, Curl(a.shown(ex, reveal))+"\n")
}

func (a *API) bins(w http.ResponseWriter, r *http.Request) {
	bins, err := a.cfg.Store.Bins(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(bins))
	for _, b := range bins {
		m := map[string]any{"name": b.Name, "count": b.Count, "url": a.binURL(b.Name)}
		if !b.LastSeen.IsZero() {
			m["last_seen"] = b.LastSeen
		}
		out = append(out, m)
	}
	WriteJSON(w, http.StatusOK, map[string]any{"bins": out})
}

func (a *API) binURL(name string) string {
	base := ""
	if a.cfg.CaptureURL != nil {
		base = strings.TrimSuffix(a.cfg.CaptureURL(), "/")
	}
	if name == DefaultBin {
		return base + "/"
	}
	return base + "/b/" + name + "/"
}

func (a *API) createBin(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name string `json:"name"`
	}
	if err := DecodeJSON(r, &req, 1<<20); err != nil {
		a.fail(w, r, err)
		return
	}
	if req.Name == "" {
		req.Name = NewBinName()
	}
	if err := ValidBin(req.Name); err != nil {
		a.fail(w, r, err)
		return
	}
	if a.cfg.AdmitBin != nil {
		if err := a.cfg.AdmitBin(r.Context(), req.Name); err != nil {
			WriteJSON(w, http.StatusTooManyRequests, map[string]string{"error": err.Error()})
			return
		}
	}
	created, err := a.cfg.Store.CreateBin(r.Context(), req.Name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	code := http.StatusOK // it was there already
	if created {
		code = http.StatusCreated
	}
	WriteJSON(w, code, map[string]any{"name": req.Name, "url": a.binURL(req.Name)})
}

// deleteBin removes a bin, a created one too, with its exchanges.
func (a *API) deleteBin(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	if err := ValidBin(name); err != nil {
		a.fail(w, r, err)
		return
	}
	n, err := a.cfg.Store.DeleteBin(r.Context(), name)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	a.binsChanged(r.Context(), name)
	a.publish(Event{Type: "cleared", Data: map[string]any{"bin": name, "deleted": n, "bin_deleted": true}})
	WriteJSON(w, http.StatusOK, map[string]any{"deleted": n})
}

// publish sends ev to the live stream's clients, when there is a hub.
func (a *API) publish(ev Event) {
	if a.cfg.Hub != nil {
		a.cfg.Hub.Publish(ev)
	}
}

func (a *API) binsChanged(ctx context.Context, bin string) {
	if a.cfg.BinsChanged != nil {
		a.cfg.BinsChanged(ctx, bin)
	}
}

// DecodeJSON decodes a JSON request body of at most limit bytes into v. An
// empty body leaves v as it is. Errors wrap ErrInvalid and say what was
// wrong and where: the line and column of malformed JSON, or an
// *InputError naming the field of a value that does not fit.
func DecodeJSON(r *http.Request, v any, limit int64) error {
	if r.ContentLength > limit {
		// Said before any of it is read: a client waiting for 100
		// Continue gets the answer instead, rather than a connection
		// closed while it sends.
		return fmt.Errorf("%w: request body is over the limit of %d bytes (Content-Length %d)", ErrTooLarge, limit, r.ContentLength)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: request body is over the limit of %d bytes", ErrTooLarge, limit)
		}
		return fmt.Errorf("%w: read body: %v", ErrInvalid, err)
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		return nil
	}
	return DecodeJSONBody(body, v)
}

// DecodeJSONBody decodes the JSON value body into v, refusing unknown
// fields and text after the value, with the errors of DecodeJSON.
func DecodeJSONBody(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := LineCol(body, se.Offset)
			return fmt.Errorf("%w: malformed JSON at line %d, column %d: %v", ErrInvalid, line, col, err)
		}
		ie := InputErrorOf(err)
		if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) && ie.Field != "" {
			// encoding/json names a list, not its item: the item at fault,
			// quoted, as the config file's errors point at it.
			if path, item, ok := badItem(body, reflect.TypeOf(v), ie.Field); ok {
				ie.Field = path
				if te.Type != reflect.TypeFor[valueErrorMarker]() {
					ie.Msg = "want " + jsonKind(te.Type) + ", got " + shortJSON(item)
				}
			}
		}
		if quoted, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok && ie.Field == "" {
			if path, near, ok := unknownFieldPath(body, reflect.TypeOf(v), quoted); ok {
				ie.Field = path
				if near != "" {
					ie.Msg += fmt.Sprintf(" (did you mean %q?)", near)
				}
			}
		}
		return ie
	}
	// One value: what follows it is a mistake (a paste gone wrong, two
	// bodies run together), not something to ignore.
	off := dec.InputOffset()
	if _, err := dec.Token(); err != io.EOF {
		rest := bytes.TrimLeft(body[off:], " \t\r\n")
		line, col := LineCol(body, int64(len(body)-len(rest))+1)
		return fmt.Errorf("%w: malformed JSON at line %d, column %d: unexpected text after the JSON value", ErrInvalid, line, col)
	}
	return nil
}

// LineCol returns the line and column (from 1) of the byte a JSON error's
// Offset points after: the character json.SyntaxError complains about.
func LineCol(b []byte, off int64) (int, int) {
	line, col := 1, 1
	for i := int64(0); i < off-1 && i < int64(len(b)); i++ {
		if b[i] == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// RawRequest renders the request of ex as HTTP/1.1 bytes. The body is sent
// whole, with a Content-Length: a chunked body loses its chunking, and a
// truncated one announces the bytes stored, not the size its sender sent.
// A request without a Host header (HTTP/1.0) gets one, its URL's host.
func RawRequest(ex *Exchange) []byte {
	var b strings.Builder
	target := "/"
	if ex.Request.Method == http.MethodConnect {
		target = connectTarget(ex)
	} else {
		_, target = splitTarget(ex.Request.URL)
		// A space no request line holds (a URL imported from a HAR
		// file) goes as %20, as /curl and replay send it.
		target = strings.ReplaceAll(target, " ", "%20")
	}
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\n", ex.Request.Method, target)
	hasHost, hasLen := false, false
	for _, h := range ex.Request.Headers {
		switch strings.ToLower(h.Name) {
		case "host":
			hasHost = true
		case "content-length":
			hasLen = !ex.Request.Truncated
		case "transfer-encoding":
			continue // the body is written whole
		}
	}
	// HTTP/1.1 requires a Host: one received without (HTTP/1.0 allows
	// that) gets its URL's authority, where it was sent.
	host := ex.Request.Host
	if host == "" && hasHTTPScheme(ex.Request.URL) {
		host = authority(ex.Request.URL)
	}
	if !hasHost && host != "" {
		fmt.Fprintf(&b, "Host: %s\r\n", host)
	}
	for _, h := range ex.Request.Headers {
		if strings.EqualFold(h.Name, "transfer-encoding") || !hasLen && strings.EqualFold(h.Name, "content-length") {
			continue
		}
		fmt.Fprintf(&b, "%s: %s\r\n", h.Name, h.Value)
	}
	if !hasLen && len(ex.Request.Body) > 0 {
		fmt.Fprintf(&b, "Content-Length: %d\r\n", len(ex.Request.Body))
	}
	b.WriteString("\r\n")
	b.Write(ex.Request.Body)
	return []byte(b.String())
}

// Curl returns a shell command that sends the request of ex again, body byte
// for byte: text bodies inline, binary and long ones (over what one program
// argument may hold) decoded from base64 on stdin. The URL is sent as it is:
// no globbing of []{}, no squashing of dot segments.
func Curl(ex *Exchange) string {
	if ex.Request.Method == http.MethodConnect {
		// A tunnel's request is nothing alone: what went through it is.
		return "# CONNECT " + strings.NewReplacer("\r", " ", "\n", " ").Replace(connectTarget(ex)) +
			" opened a tunnel, which curl does not send alone (with --mitm, hooklab records the requests that went through it)"
	}
	var b strings.Builder
	body := ex.Request.Body
	binary := !utf8.Valid(body) || strings.ContainsRune(string(body), 0) || len(body) > 0 && body[0] == '@' ||
		len(body) > 64<<10 // Linux caps one argument at 128 KiB; printf is a shell builtin
	if len(body) > 0 && binary {
		fmt.Fprintf(&b, "printf %%s %s | base64 -d | ", shellQuote(base64.StdEncoding.EncodeToString(body)))
	}
	b.WriteString("curl -sS -g --path-as-is")
	switch {
	case ex.Request.Method == http.MethodHead && len(body) == 0:
		// -X HEAD would wait for the body the answer's Content-Length
		// announces; --head knows a HEAD answer has none.
		b.WriteString(" --head")
	case ex.Request.Method != http.MethodGet || len(body) > 0:
		fmt.Fprintf(&b, " -X %s", shellQuote(ex.Request.Method))
	}
	origin, target := splitTarget(ex.Request.URL)
	// A space no request line may hold (in a URL imported from a HAR
	// file; none comes in on one) goes as %20, as replay sends it.
	target = strings.ReplaceAll(target, " ", "%20")
	if oddTarget(target) {
		// curl would percent-encode bytes outside ASCII, and drop a
		// fragment: the target goes as it came.
		fmt.Fprintf(&b, " --request-target %s %s", shellQuote(target), shellQuote(origin+"/"))
	} else if strings.Contains(ex.Request.URL, " ") {
		fmt.Fprintf(&b, " %s", shellQuote(origin+target))
	} else {
		fmt.Fprintf(&b, " %s", shellQuote(ex.Request.URL))
	}
	// Hop-by-hop headers were for the connection the request came on (a
	// forward proxy's Proxy-Authorization never reached the origin,
	// which curl would send it to), as are those Connection names.
	hop := map[string]bool{}
	for _, h := range ex.Request.Headers {
		if strings.EqualFold(h.Name, "Connection") {
			for _, n := range strings.Split(h.Value, ",") {
				hop[strings.ToLower(strings.TrimSpace(n))] = true
			}
		}
	}
	seen := map[string]bool{}
	for _, h := range ex.Request.Headers {
		n := strings.ToLower(h.Name)
		seen[n] = true
		switch n {
		case "content-length":
			if len(body) == 0 && strings.TrimSpace(h.Value) == "0" {
				// curl sends no length for no data; the original said 0.
				b.WriteString(" -H 'Content-Length: 0'")
			}
			continue
		case "host", "transfer-encoding", "connection", "keep-alive", "te", "proxy-authorization", "proxy-connection":
			continue
		}
		if hop[n] {
			continue
		}
		if strings.TrimSpace(h.Value) == "" {
			// "Name:" would tell curl to drop the header; "Name;" sends it empty.
			fmt.Fprintf(&b, " -H %s", shellQuote(h.Name+";"))
			continue
		}
		fmt.Fprintf(&b, " -H %s", shellQuote(h.Name+": "+h.Value))
	}
	// curl adds these unless told not to; the original had none.
	for _, n := range []string{"User-Agent", "Accept"} {
		if !seen[strings.ToLower(n)] {
			fmt.Fprintf(&b, " -H %s", shellQuote(n+":"))
		}
	}
	if len(body) > 0 {
		if !seen["content-type"] {
			b.WriteString(" -H 'Content-Type:'")
		}
		if !seen["expect"] { // curl asks for 100-continue before a large body
			b.WriteString(" -H 'Expect:'")
		}
		if binary {
			b.WriteString(" --data-binary @-")
		} else {
			fmt.Fprintf(&b, " --data-binary %s", shellQuote(string(body)))
		}
	}
	return b.String()
}

// splitTarget splits a recorded URL into its scheme and authority and its
// request target, byte for byte as recorded ("/" when there is none).
func splitTarget(rawURL string) (origin, target string) {
	i := strings.Index(rawURL, "://")
	if i < 0 {
		return "", "/"
	}
	i += 3
	j := strings.IndexAny(rawURL[i:], "/?")
	if j < 0 {
		return rawURL, "/"
	}
	origin, target = rawURL[:i+j], rawURL[i+j:]
	if target[0] == '?' {
		target = "/" + target
	}
	return origin, target
}

// oddTarget reports whether target holds bytes curl would not send as they
// are: outside printable ASCII, or a # (which starts a fragment to curl,
// left unsent, but came as part of the target).
func oddTarget(target string) bool {
	for i := 0; i < len(target); i++ {
		if target[i] <= ' ' || target[i] >= 0x7f || target[i] == '#' {
			return true
		}
	}
	return false
}

// connectTarget is the authority a CONNECT request named: host:port.
func connectTarget(ex *Exchange) string {
	host := ex.Request.Host
	if u, err := url.Parse(ex.Request.URL); err == nil && u.Host != "" {
		host = u.Host
		if u.Port() == "" {
			port := "443"
			if u.Scheme == "http" {
				port = "80"
			}
			host = net.JoinHostPort(u.Hostname(), port)
		}
	}
	return host
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// Count writes n and the noun that goes with it: "1 mock", "0 mocks",
// "2 mocks".
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
