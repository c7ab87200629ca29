package emit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hooklab/hooklab/inspect"
)

// Body limits of the API.
const (
	maxDefinitionBody = 1 << 20
	maxEventsBody     = 64 << 20
)

// An event post past largeEventPost bytes (or of a length not given) is
// read and decoded while it holds one of maxLargeEventPosts places: its
// body takes several times its size once decoded, and eight 50 MB posts
// at once took 1.7 GB. More wait for a place (or for their client to go);
// smaller posts, a batch of a few hundred events, never wait.
const (
	largeEventPost     = 1 << 20
	maxLargeEventPosts = 2
)

// Prefixes returns the URL patterns Handler serves, for mounting on a mux
// that also serves other /api routes.
func Prefixes() []string {
	return []string{"/api/webhooks", "/api/webhooks/", "/api/invocations", "/api/invocations/", "/api/events", "/api/emit/"}
}

// Handler returns the JSON API of webhooks, invocations and events (see
// the package documentation for the routes).
func (e *Emitter) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/webhooks", e.handleListWebhooks)
	mux.HandleFunc("POST /api/webhooks", inspect.OnlyParams(e.log, e.handleCreateWebhook))
	mux.HandleFunc("POST /api/webhooks/test", inspect.OnlyParams(e.log, e.handleTest, "webhook_id"))
	mux.HandleFunc("POST /api/webhooks/validate", inspect.OnlyParams(e.log, e.handleValidateWebhook, "edit"))
	mux.HandleFunc("GET /api/webhooks/{id}", inspect.OnlyParams(e.log, e.handleGetWebhook))
	mux.HandleFunc("PATCH /api/webhooks/{id}", inspect.OnlyParams(e.log, e.handlePatchWebhook))
	mux.HandleFunc("DELETE /api/webhooks/{id}", inspect.OnlyParams(e.log, e.handleDeleteWebhook))
	mux.HandleFunc("GET /api/webhooks/{id}/signing_secret", inspect.OnlyParams(e.log, e.handleGetSecret))
	mux.HandleFunc("POST /api/webhooks/{id}/signing_secret", inspect.OnlyParams(e.log, e.handleRotateSecret))
	mux.HandleFunc("POST /api/webhooks/{id}/test", inspect.OnlyParams(e.log, e.handleTest))
	mux.HandleFunc("GET /api/webhooks/{id}/invocations", e.handleListInvocations)
	mux.HandleFunc("GET /api/invocations", e.handleListInvocations)
	mux.HandleFunc("POST /api/invocations/retry", inspect.OnlyParams(e.log, e.handleRetryRange))
	mux.HandleFunc("GET /api/invocations/{id}", inspect.OnlyParams(e.log, e.handleGetInvocation))
	mux.HandleFunc("POST /api/invocations/{id}/retry", inspect.OnlyParams(e.log, e.handleRetry))
	mux.HandleFunc("POST /api/events", inspect.OnlyParams(e.log, e.handleEvents))
	mux.HandleFunc("GET /api/emit/stats", inspect.OnlyParams(e.log, e.handleStats))
	mux.HandleFunc("GET /api/emit/config", inspect.OnlyParams(e.log, e.handleConfig))
	return inspect.JSONErrors(mux)
}

// writeError answers with err: a *ValidationError as 400 with the field
// and the list of problems, anything else as inspect.WriteError does.
func (e *Emitter) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ve *ValidationError
	if errors.As(err, &ve) && len(ve.List) > 0 {
		body := map[string]any{"error": ve.List[0].Error(), "errors": ve.List}
		if f := ve.List[0].Field; f != "" { // not every problem is a field's
			body["field"] = f
		}
		inspect.WriteJSON(w, http.StatusBadRequest, body)
		return
	}
	e.errs.Write(w, r, err)
}

// noBody reads r's body, which must be none or {}: anything else is an
// ErrInvalid that says why (what), a body too large ErrTooLarge.
func noBody(r *http.Request, what string) error {
	var none struct{}
	if err := inspect.DecodeJSON(r, &none, maxDefinitionBody); err != nil {
		if errors.Is(err, inspect.ErrTooLarge) {
			return err
		}
		return fmt.Errorf("%w: %s", inspect.ErrInvalid, what)
	}
	return nil
}

// decodeBody reads a JSON body into v, refusing unknown fields. A value
// that does not fit is a *ValidationError naming its field, like the
// errors of validation.
func decodeBody(r *http.Request, v any, limit int64) error {
	return fieldError(inspect.DecodeJSON(r, v, limit))
}

// fieldError makes an *inspect.InputError that names its field a
// *ValidationError, answered like the errors of validation.
func fieldError(err error) error {
	var ie *inspect.InputError
	if errors.As(err, &ie) && ie.Field != "" {
		msg := ie.Msg
		if extra := configOnlyKey(ie.Field); extra != "" && strings.HasPrefix(msg, "unknown field") {
			// It says what to write instead: no near field to guess at.
			msg, _, _ = strings.Cut(msg, " (did you mean")
			msg += extra
		}
		return &ValidationError{List: []FieldError{{Field: ie.Field, Msg: msg}}}
	}
	return err
}

// configOnlyKey says, of a field the config file takes in a webhook but
// the JSON API does not, what the API takes instead; "" for any other.
func configOnlyKey(field string) string {
	if field == "signing.secrets" || strings.HasSuffix(field, ".signing.secrets") {
		return ": secrets is the config file's key (a rotation, the new secret first); through the API a webhook has one signing secret, signing.secret, and POST /api/webhooks/{id}/signing_secret rotates it (the old one keeps signing for 24 hours under standard-webhooks and stripe)"
	}
	return ""
}

// warningList is ws, or an empty list for none: JSON [] rather than null.
func warningList[T any](ws []T) []T {
	if ws == nil {
		return []T{}
	}
	return ws
}

func (e *Emitter) handleListWebhooks(w http.ResponseWriter, r *http.Request) {
	if err := inspect.Only(r.URL.Query(), "GET /api/webhooks"); err != nil {
		e.writeError(w, r, err) // it lists them all: ?status=active would not filter
		return
	}
	hooks := e.Webhooks()
	now := e.clock.Now()
	views := make([]webhookListItem, len(hooks))
	for i, h := range hooks {
		c, until := e.circuitState(h.ID, now)
		views[i] = e.listItem(h, c, until)
	}
	inspect.WriteJSON(w, http.StatusOK, map[string]any{"webhooks": views, "warnings": warningList(e.Warnings())})
}

// webhookView is a webhook as GET /api/webhooks and GET /api/webhooks/{id}
// show it: the definition (secrets redacted) and its stats.
type webhookView struct {
	*Webhook
	Stats WebhookStats `json:"stats"`
}

// webhookListItem is a webhook as GET /api/webhooks lists it: with the
// state of its circuit breaker, which GET /api/webhooks/{id} shows beside
// the webhook.
type webhookListItem struct {
	webhookView
	// Circuit is closed, open or half_open; CircuitUntil is when an open
	// circuit's cool-down ends.
	Circuit      string     `json:"circuit"`
	CircuitUntil *time.Time `json:"circuit_until,omitempty"`
}

// timeOrNil is &t, or nil for the zero time.
func timeOrNil(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func (e *Emitter) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	var def Webhook
	if err := decodeDefinition(r, &def); err != nil {
		e.writeError(w, r, err)
		return
	}
	if def.Source != "" || def.Location != "" {
		def.Source, def.Location = "", ""
	}
	got, warns, err := e.CreateWebhook(r.Context(), def)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	inspect.WriteJSON(w, http.StatusCreated, map[string]any{"webhook": got, "warnings": warningList(warns)})
}

// handleValidateWebhook checks a webhook definition without storing it,
// with exactly the checks and messages of POST /api/webhooks: 200
// {"ok":true,"warnings":[...]} or the 400 that creating it would give.
// The UI calls it as the user types. ?edit=ID checks the definition as an
// edit of webhook ID: REDACTED then keeps its stored secrets, as a PATCH
// does.
func (e *Emitter) handleValidateWebhook(w http.ResponseWriter, r *http.Request) {
	var def Webhook
	if err := decodeDefinition(r, &def); err != nil {
		e.writeError(w, r, err)
		return
	}
	warns, err := e.ValidateWebhook(def, r.URL.Query().Get("edit"))
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	inspect.WriteJSON(w, http.StatusOK, map[string]any{"ok": true, "warnings": warningList(warns)})
}

func (e *Emitter) handleGetWebhook(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	got, err := e.Webhook(id)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	body := map[string]any{"webhook": webhookView{Webhook: got, Stats: e.counts.stats(got.ID)}, "connections": e.connectionsOf(got.ID)}
	// Its warnings by field, as creating it gave them, so its page shows
	// them beside its fields (the list gives every webhook's as text).
	var warns []FieldError
	if live := e.webhook(got.ID); live != nil {
		_, warns = live.validate()
	}
	body["warnings"] = warningList(warns)
	c, until := e.circuitState(id, e.clock.Now())
	body["circuit"] = c
	if !until.IsZero() {
		body["circuit_until"] = until
	}
	inspect.WriteJSON(w, http.StatusOK, body)
}

// circuit names the state of a webhook's circuit breaker.
func (e *Emitter) circuit(id string) string {
	c, _ := e.circuitState(id, e.clock.Now())
	return c
}

// circuitState names the state of a webhook's circuit breaker at now
// (closed, open or half_open) and, while it is open, when its cool-down
// ends.
func (e *Emitter) circuitState(id string, now time.Time) (string, time.Time) {
	e.mu.Lock()
	l := e.lanes[id]
	e.mu.Unlock()
	if l == nil {
		return "closed", time.Time{}
	}
	return l.brk.status(now)
}

func (e *Emitter) handlePatchWebhook(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxDefinitionBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			e.writeError(w, r, fmt.Errorf("%w: request body is over the limit of %d bytes", inspect.ErrTooLarge, maxDefinitionBody))
			return
		}
		e.writeError(w, r, fmt.Errorf("%w: read body: %v", inspect.ErrInvalid, err))
		return
	}
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte(`{}`)
	}
	// GET's answer sent back whole ({"webhook": {...}, "circuit": ...,
	// "connections": ...}) patches its webhook, and so does a
	// Zendesk-shaped one.
	body, err = definitionOf(body)
	if err != nil {
		e.writeError(w, r, fieldError(err))
		return
	}
	got, warns, err := e.UpdateWebhook(r.Context(), r.PathValue("id"), body)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	inspect.WriteJSON(w, http.StatusOK, map[string]any{"webhook": got, "warnings": warningList(warns)})
}

func (e *Emitter) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	if err := e.DeleteWebhook(r.Context(), r.PathValue("id")); err != nil {
		e.writeError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *Emitter) handleGetSecret(w http.ResponseWriter, r *http.Request) {
	s, err := e.SigningSecret(r.PathValue("id"))
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	inspect.WriteJSON(w, http.StatusOK, map[string]any{"signing_secret": s})
}

func (e *Emitter) handleRotateSecret(w http.ResponseWriter, r *http.Request) {
	// A rotation makes the secret and takes nothing: a body naming one
	// ({"secret": ...}) was ignored, and deliveries went out signed with a
	// random secret the receiver did not have. An empty object is nothing.
	if err := noBody(r, "POST /api/webhooks/{id}/signing_secret makes a new random secret and takes no body; to choose the secret, PATCH /api/webhooks/"+r.PathValue("id")+` with {"signing": {"secret": "..."}}`); err != nil {
		e.writeError(w, r, err)
		return
	}
	s, err := e.RotateSigningSecret(r.Context(), r.PathValue("id"))
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	inspect.WriteJSON(w, http.StatusOK, map[string]any{"signing_secret": s})
}

func (e *Emitter) handleTest(w http.ResponseWriter, r *http.Request) {
	// Zendesk's Test Webhook names a saved webhook in the query
	// (POST /api/v2/webhooks/test?webhook_id=ID): the same test as
	// POST /api/webhooks/{id}/test.
	id := r.PathValue("id")
	if id == "" {
		v := r.URL.Query()
		if err := inspect.NoEmpty(v, "webhook_id"); err != nil {
			e.writeError(w, r, err)
			return
		}
		id = v.Get("webhook_id")
	}
	var raw json.RawMessage
	if err := decodeBody(r, &raw, maxDefinitionBody); err != nil {
		e.writeError(w, r, err)
		return
	}
	if len(raw) == 0 {
		raw = json.RawMessage(`{}`)
	}
	// Zendesk's shape too: {"request": {"endpoint", "http_method", ...}}.
	body, err := testRequestOf(raw, id != "")
	if err != nil {
		e.writeError(w, r, fieldError(err))
		return
	}
	var tr TestRequest
	if err := fieldError(inspect.DecodeJSONBody(body, &tr)); err != nil {
		e.writeError(w, r, err)
		return
	}
	res, err := e.Test(r.Context(), id, tr)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	inspect.WriteJSON(w, http.StatusOK, res)
}

// parseInvocationQuery reads status, from, to (RFC 3339), cursor, limit
// and webhook_id.
func parseInvocationQuery(r *http.Request) (InvocationQuery, error) {
	v := r.URL.Query()
	// A typo (?stauts=failed) would list everything.
	keys := []string{"status", "from", "to", "cursor", "limit", "webhook_id"}
	endpoint := "GET /api/invocations"
	if r.PathValue("id") != "" {
		keys, endpoint = keys[:5], "GET /api/webhooks/{id}/invocations"
	}
	if err := inspect.Only(v, endpoint, keys...); err != nil {
		return InvocationQuery{}, err
	}
	if err := inspect.Once(v, keys...); err != nil {
		return InvocationQuery{}, err
	}
	// As GET /api/exchanges has it: a script's unset variable
	// (webhook_id=$HOOK) would list every webhook's. (An empty cursor is
	// the first page, as a paging loop starts.)
	if err := inspect.NoEmpty(v, "status", "from", "to", "webhook_id"); err != nil {
		return InvocationQuery{}, err
	}
	// Invocation ids (and so cursors) are upper case; lower case is taken
	// too, as for exchange ids. Webhook ids are the user's, kept as given.
	q := InvocationQuery{WebhookID: v.Get("webhook_id"), Status: v.Get("status"), Cursor: strings.ToUpper(v.Get("cursor"))}
	if id := r.PathValue("id"); id != "" {
		q.WebhookID = id
	}
	var p problems
	if q.Cursor != "" && !inspect.ValidID(q.Cursor) {
		p.add("cursor", "want the next_cursor of a previous page, got %q", v.Get("cursor"))
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"from", &q.From}, {"to", &q.To}} {
		if s := v.Get(f.name); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				p.add(f.name, "want a time such as 2024-05-01T12:00:00Z, got %q", s)
			}
			*f.dst = t
		}
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.From.After(q.To) { // as POST /api/invocations/retry says
		p.add("from", "from %s is after to %s: nothing is in that range", q.From.Format(time.RFC3339Nano), q.To.Format(time.RFC3339Nano))
	}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			p.add("limit", "want a number from 1 to 1000, got %q", s)
		}
		q.Limit = n
	}
	return q, p.err()
}

func (e *Emitter) handleListInvocations(w http.ResponseWriter, r *http.Request) {
	q, err := parseInvocationQuery(r)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	if id := r.PathValue("id"); id != "" && e.webhook(id) == nil {
		// A deleted webhook still has its log; an unknown id has none.
		if list, _, err := e.Invocations(r.Context(), InvocationQuery{WebhookID: id, Limit: 1}); err == nil && len(list) == 0 {
			e.writeError(w, r, fmt.Errorf("webhook %s: %w", id, inspect.ErrNotFound))
			return
		}
	}
	list, next, err := e.Invocations(r.Context(), q)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	inspect.WriteJSON(w, http.StatusOK, map[string]any{"invocations": list, "next_cursor": next})
}

// invocationID is the {id} of an invocation's path as the client sent
// it: the store takes either case, and a 404 quotes it as sent.
func invocationID(r *http.Request) string { return r.PathValue("id") }

func (e *Emitter) handleGetInvocation(w http.ResponseWriter, r *http.Request) {
	inv, err := e.Invocation(r.Context(), invocationID(r))
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	inspect.WriteJSON(w, http.StatusOK, map[string]any{"invocation": inv})
}

func (e *Emitter) handleRetry(w http.ResponseWriter, r *http.Request) {
	// What a body could ask (another payload, other headers) would be
	// ignored: the invocation goes again as it was made.
	if err := noBody(r, `POST /api/invocations/{id}/retry sends the invocation again as it was made and takes no body; to redeliver many, POST /api/invocations/retry with {"webhook_id", "from", "to", "statuses"}; to send another payload, POST /api/webhooks/{id}/test`); err != nil {
		e.writeError(w, r, err)
		return
	}
	inv, err := e.Redeliver(r.Context(), invocationID(r))
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	inspect.WriteJSON(w, http.StatusAccepted, map[string]any{"invocation": inv})
}

func (e *Emitter) handleRetryRange(w http.ResponseWriter, r *http.Request) {
	var q RedeliverQuery
	if err := decodeBody(r, &q, maxDefinitionBody); err != nil {
		e.writeError(w, r, err)
		return
	}
	ids, err := e.RedeliverRange(r.Context(), q)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	inspect.WriteJSON(w, http.StatusAccepted, map[string]any{"retried": len(ids), "invocations": ids})
}

// EventsResponse is the answer of POST /api/events: the ids of the events
// and the invocations they queued.
type EventsResponse struct {
	Events      []string `json:"events"`
	Invocations []Queued `json:"invocations"`
}

func (e *Emitter) handleEvents(w http.ResponseWriter, r *http.Request) {
	if r.ContentLength < 0 || r.ContentLength > largeEventPost {
		select {
		case e.largePosts <- struct{}{}:
			defer func() { <-e.largePosts }()
		case <-r.Context().Done():
			e.writeError(w, r, r.Context().Err())
			return
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxEventsBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			e.writeError(w, r, fmt.Errorf("%w: request body is over the limit of %d bytes", inspect.ErrTooLarge, maxEventsBody))
			return
		}
		e.writeError(w, r, fmt.Errorf("%w: read body: %v", inspect.ErrInvalid, err))
		return
	}
	trimmed := bytes.TrimSpace(body)
	events, ok := decodeEvents(trimmed)
	if !ok {
		events, err = decodeEventsJSON(trimmed)
	}
	if err != nil {
		if ie := (*inspect.InputError)(nil); errors.As(err, &ie) && ie.Field != "" {
			e.writeError(w, r, fieldError(err))
			return
		}
		why := strings.TrimPrefix(err.Error(), inspect.ErrInvalid.Error()+": ")
		e.writeError(w, r, fmt.Errorf("%w: want {\"type\": \"ticket.created\", \"data\": {...}} or a list of them: %s", inspect.ErrInvalid, why))
		return
	}
	if len(events) == 0 {
		e.writeError(w, r, &ValidationError{List: []FieldError{{Field: "type", Msg: "no event: want {\"type\": \"ticket.created\", \"data\": {...}}"}}})
		return
	}
	for i := range events {
		events[i].parsed = true
	}
	queued, err := e.Emit(r.Context(), events...)
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	res := EventsResponse{Events: make([]string, len(events)), Invocations: queued}
	for i, ev := range events {
		res.Events[i] = ev.ID
	}
	inspect.WriteJSON(w, http.StatusAccepted, res)
}

// decodeEventsJSON decodes the body of POST /api/events, one event or a
// JSON list of them, with encoding/json (one value only: text after it is
// a mistake, not more events). Its errors are inspect.DecodeJSONBody's,
// naming the field (in a list, "1.type") where they can.
func decodeEventsJSON(b []byte) ([]Event, error) {
	if len(b) > 0 && b[0] == '[' {
		var items []json.RawMessage
		if err := inspect.DecodeJSONBody(b, &items); err != nil {
			return nil, err
		}
		// One by one, so that an error names its event.
		events := make([]Event, len(items))
		for i, item := range items {
			if err := inspect.DecodeJSONBody(item, &events[i]); err != nil {
				if ie := (*inspect.InputError)(nil); errors.As(err, &ie) && ie.Field != "" {
					ie.Field = fmt.Sprintf("%d.%s", i, ie.Field)
				}
				return nil, err
			}
		}
		return events, nil
	}
	var ev Event
	err := inspect.DecodeJSONBody(b, &ev)
	return []Event{ev}, err
}

// decodeEvents decodes the body of POST /api/events as decodeEventsJSON
// does, in one pass, for the usual shape: fields named exactly as Event's
// JSON names, id, type, subject and time as strings without escapes, data
// and event any JSON but null. It reports false for anything else (other
// fields or spellings, nulls, escapes, invalid UTF-8, an empty list, text
// after the value), which decodeEventsJSON then decodes, or explains.
func decodeEvents(b []byte) ([]Event, bool) {
	if !utf8.Valid(b) {
		return nil, false
	}
	d := &jsonDecoder{b: b, discard: true}
	d.space()
	if d.i >= len(b) || b[d.i] != '[' {
		ev, ok := d.event()
		d.space()
		return []Event{ev}, ok && d.i == len(b)
	}
	d.i++
	events := make([]Event, 0, bytes.Count(b, []byte(`"type"`)))
	for {
		d.space()
		ev, ok := d.event()
		if !ok {
			return nil, false
		}
		events = append(events, ev)
		more, ok := d.next(']')
		if !ok {
			return nil, false
		}
		if !more {
			break
		}
	}
	d.space()
	return events, d.i == len(b)
}

// event reads one event object for decodeEvents.
func (d *jsonDecoder) event() (Event, bool) {
	var ev Event
	b := d.b
	if d.i >= len(b) || b[d.i] != '{' {
		return ev, false
	}
	d.i++
	d.space()
	if d.i < len(b) && b[d.i] == '}' {
		d.i++
		return ev, true
	}
	for {
		d.space()
		key, ok := d.plainString()
		if !ok {
			return ev, false
		}
		if !d.colon() {
			return ev, false
		}
		start := d.i
		switch key {
		case "id", "type", "subject", "time":
			s, ok := d.plainString()
			if !ok {
				return ev, false
			}
			switch key {
			case "id":
				ev.ID = s
			case "type":
				ev.Type = s
			case "subject":
				ev.Subject = s
			case "time":
				if ev.Time.UnmarshalJSON(b[start:d.i]) != nil {
					return ev, false
				}
			}
		case "data", "event":
			if _, ok := d.value(0); !ok {
				return ev, false
			}
			raw := b[start:d.i]
			if string(raw) == "null" {
				return ev, false
			}
			if key == "data" {
				ev.Data = bytes.Clone(raw)
			} else {
				ev.Changes = bytes.Clone(raw)
			}
		default:
			return ev, false
		}
		if more, ok := d.next('}'); !more {
			return ev, ok
		}
	}
}

// plainString reads a string literal without escapes or control
// characters.
func (d *jsonDecoder) plainString() (string, bool) {
	b := d.b
	if d.i >= len(b) || b[d.i] != '"' {
		return "", false
	}
	for j := d.i + 1; j < len(b); j++ {
		switch c := b[j]; {
		case c == '"':
			s := string(b[d.i+1 : j])
			d.i = j + 1
			return s, true
		case c == '\\' || c < 0x20:
			return "", false
		}
	}
	return "", false
}

func (e *Emitter) handleStats(w http.ResponseWriter, r *http.Request) {
	s, err := e.Stats(r.Context())
	if err != nil {
		e.writeError(w, r, err)
		return
	}
	inspect.WriteJSON(w, http.StatusOK, s)
}
