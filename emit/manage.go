package emit

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// Webhooks returns every webhook, config ones first, each with its secrets
// redacted.
func (e *Emitter) Webhooks() []*Webhook {
	s := e.snap.Load()
	out := make([]*Webhook, 0, len(s.hooks))
	for _, w := range s.cfg.webhooks {
		out = append(out, w.redacted(e.secretHeader))
	}
	var api []*Webhook
	for id, w := range s.hooks {
		if s.cfg.byID[id] == nil {
			api = append(api, w.redacted(e.secretHeader))
		}
	}
	slices.SortFunc(api, func(a, b *Webhook) int { return strings.Compare(a.ID, b.ID) })
	return append(out, api...)
}

// Webhook returns the webhook with id, secrets redacted, or ErrNotFound.
func (e *Emitter) Webhook(id string) (*Webhook, error) {
	w := e.webhook(id)
	if w == nil {
		return nil, fmt.Errorf("webhook %s: %w", id, inspect.ErrNotFound)
	}
	return w.redacted(e.secretHeader), nil
}

// CreateWebhook validates and stores a webhook made through the API. An
// empty ID gets a new one; no signing gets the zendesk scheme with a new
// secret, and a signing scheme without a secret gets a new secret. It
// returns the stored webhook (redacted) and the warnings, or a
// *ValidationError.
func (e *Emitter) CreateWebhook(ctx context.Context, w Webhook) (*Webhook, []FieldError, error) {
	e.prepareNew(&w)
	e.mu.Lock()
	defer e.mu.Unlock()
	errs, warns := e.checkNewLocked(&w)
	errs = append(errs, placeholderSecrets(&w, e.secretHeader)...)
	if len(errs) > 0 {
		return nil, warns, &ValidationError{List: errs}
	}
	if err := e.db.putWebhook(ctx, &w); err != nil {
		return nil, nil, err
	}
	e.api[w.ID] = &w
	e.rebuildLocked()
	e.logAPIWarnings(&w, nil)
	return w.redacted(e.secretHeader), warns, nil
}

// ValidateWebhook runs CreateWebhook's checks on w without storing it and
// returns the warnings, or the *ValidationError creating it would give.
// With editOf, the id of a stored webhook, w is an edit of it: its
// REDACTED secrets stand for the stored ones (as in a PATCH).
func (e *Emitter) ValidateWebhook(w Webhook, editOf string) ([]FieldError, error) {
	e.prepareNew(&w)
	e.mu.Lock()
	defer e.mu.Unlock()
	errs, warns := e.checkNewLocked(&w)
	if editOf == "" || e.webhook(editOf) == nil {
		errs = append(errs, placeholderSecrets(&w, e.secretHeader)...) // as CreateWebhook
	}
	if len(errs) > 0 {
		return warns, &ValidationError{List: errs}
	}
	return warns, nil
}

// prepareNew fills what CreateWebhook fills before validating: an ID, the
// source, timestamps, and the default signing with a fresh secret.
func (e *Emitter) prepareNew(w *Webhook) {
	now := e.clock.Now().UTC()
	if w.ID == "" {
		w.ID = strings.ToLower(e.ids.New(now))
	}
	w.Source, w.Location, w.CreatedAt, w.UpdatedAt = SourceAPI, "", now, now
	if w.Signing == nil {
		w.Signing = &Signing{Scheme: rules.SchemeZendesk}
	}
	w.normalize()
	if w.Signing.Scheme != SchemeNone && w.Signing.Secret == "" {
		w.Signing.Secret = newSecret(w.Signing.Scheme)
	}
	w.Signing.Previous = nil
}

// placeholderSecrets refuses REDACTED as a new webhook's secret: it is
// what reads show in place of a stored secret (and what a PATCH sends to
// keep one), never a secret itself.
func placeholderSecrets(w *Webhook, secret func(header string) bool) []FieldError {
	var errs []FieldError
	check := func(field, v string) {
		if v == rules.Redacted {
			msg := rules.Redacted + " stands for a stored secret, and this webhook has none here; give the secret itself"
			if field == "signing.secret" {
				msg += " (or leave signing.secret out for a new one)"
			}
			errs = append(errs, FieldError{Field: field, Msg: msg})
		}
	}
	if a := w.Authentication; a != nil {
		check("authentication.value", a.Value)
		check("authentication.password", a.Password)
		check("authentication.token", a.Token)
	}
	if sg := w.Signing; sg != nil {
		check("signing.secret", sg.Secret)
	}
	for k, v := range w.CustomHeaders {
		if secret(k) {
			check("custom_headers."+k, v)
		}
	}
	for _, name := range redactedQueryParams(w.Endpoint, secret) {
		errs = append(errs, FieldError{Field: "endpoint", Msg: fmt.Sprintf(
			"%s stands for a stored secret, and this webhook has none here for the query parameter %s; give the secret itself", rules.Redacted, name)})
	}
	return errs
}

// ownAPIEndpoint refuses an endpoint at hooklab's own API (Options.Refuse)
// when its host says so without a look-up (an IP address, localhost): each
// delivery there would be refused as it is sent, so a webhook made,
// changed or test-sent through the API with it is refused at once, as one
// of the config file is at load. A host name is left to the delivery's
// own check. It says nothing of an endpoint validate refuses already.
func (e *Emitter) ownAPIEndpoint(endpoint string, errs []FieldError) []FieldError {
	if slices.ContainsFunc(errs, func(fe FieldError) bool { return fe.Field == "endpoint" }) {
		return errs
	}
	if msg := ownAPI(e.opts.Refuse, endpoint, e.secretHeader); msg != "" {
		errs = append(errs, FieldError{Field: "endpoint", Msg: msg})
	}
	return errs
}

// ownAPI says why endpoint is refused when refuse (nil: none) refuses the
// address its host and port name without a look-up, "" otherwise. secret
// says which query parameters the message shows REDACTED.
func ownAPI(refuse func(address string) error, endpoint string, secret func(name string) bool) string {
	if refuse == nil {
		return ""
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return ""
	}
	host, port := strings.TrimSuffix(strings.ToLower(u.Hostname()), "."), u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		host = "127.0.0.1"
	}
	if _, err := netip.ParseAddr(host); err != nil || refuse(net.JoinHostPort(host, port)) == nil {
		return ""
	}
	return fmt.Sprintf("endpoint %s is hooklab's own API, where every delivery would be refused (it would drive the API, or loop); point the webhook at the capture port to see its deliveries in hooklab",
		shownURL(endpoint, secret))
}

// checkNewLocked validates a prepared new webhook, including that its ID
// is free. e.mu must be held.
func (e *Emitter) checkNewLocked(w *Webhook) (errs, warns []FieldError) {
	errs, warns = w.validate()
	errs = e.ownAPIEndpoint(w.Endpoint, errs)
	if other := e.cfg.byID[w.ID]; other != nil {
		errs = append(errs, FieldError{Field: "id", Msg: fmt.Sprintf("a webhook with id %s is defined in %s", w.ID, other.Location)})
	} else if e.api[w.ID] != nil {
		errs = append(errs, FieldError{Field: "id", Msg: fmt.Sprintf("a webhook with id %s already exists", w.ID)})
	}
	return errs, warns
}

// errConfigWebhook refuses changing a webhook of the config file.
func errConfigWebhook(w *Webhook) error {
	return &ValidationError{List: []FieldError{{Msg: fmt.Sprintf("webhook %s is defined in %s; change it there", w.ID, w.Location)}}}
}

// patchNames reports whether the JSON object v has the field name.
func patchNames(v json.RawMessage, name string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(v, &m) != nil {
		return false
	}
	_, ok := m[name]
	return ok
}

// UpdateWebhook applies a JSON merge patch to a webhook made through the
// API: the fields present replace the stored ones (authentication,
// signing, retry, rate_limit and circuit_breaker merge one level deep), a
// secret sent as "REDACTED" keeps the stored one, and null removes a field.
// A new signing scheme with no secret given gets a new secret of its form.
// id, source and the times cannot be changed.
func (e *Emitter) UpdateWebhook(ctx context.Context, id string, patch json.RawMessage) (*Webhook, []FieldError, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if w := e.cfg.byID[id]; w != nil {
		return nil, nil, errConfigWebhook(w)
	}
	old := e.api[id]
	if old == nil {
		return nil, nil, fmt.Errorf("webhook %s: %w", id, inspect.ErrNotFound)
	}
	var p map[string]json.RawMessage
	if err := json.Unmarshal(patch, &p); err != nil {
		return nil, nil, fmt.Errorf("%w: the body must be a JSON object of fields to change: %v", inspect.ErrInvalid, err)
	}
	base, _ := json.Marshal(old)
	var cur map[string]json.RawMessage
	_ = json.Unmarshal(base, &cur)
	nested := []string{"authentication", "signing", "retry", "rate_limit", "circuit_breaker"}
	for k, v := range p {
		switch k {
		case "id":
			var s string
			if json.Unmarshal(v, &s) != nil || s != id {
				return nil, nil, &ValidationError{List: []FieldError{{Field: "id", Msg: "id cannot be changed"}}}
			}
			continue
		case "source", "location", "created_at", "updated_at", "stats", "circuit", "circuit_until":
			continue // read-only: a webhook read back can be sent as it is
		}
		if string(v) == "null" {
			delete(cur, k)
			continue
		}
		if k == "custom_headers" && strings.HasPrefix(strings.TrimSpace(string(v)), "{") {
			// The headers given replace the webhook's; one given null is
			// left out, as a field given null is (not sent empty).
			var h map[string]json.RawMessage
			if json.Unmarshal(v, &h) == nil {
				for hk, hv := range h {
					if string(hv) == "null" {
						delete(h, hk)
					}
				}
				v, _ = json.Marshal(h)
			}
		}
		if slices.Contains(nested, k) && len(cur[k]) > 0 && strings.HasPrefix(strings.TrimSpace(string(v)), "{") {
			var a, b map[string]json.RawMessage
			if json.Unmarshal(cur[k], &a) == nil && json.Unmarshal(v, &b) == nil && a != nil {
				for bk, bv := range b {
					if string(bv) == "null" {
						delete(a, bk)
					} else {
						a[bk] = bv
					}
				}
				v, _ = json.Marshal(a)
			}
		}
		cur[k] = v
	}
	merged, _ := json.Marshal(cur)
	var w Webhook
	if err := inspect.DecodeJSONBody(merged, &w); err != nil {
		return nil, nil, fieldError(err)
	}
	keepSecret := func(v *string, was string) {
		if *v == rules.Redacted && was != "" { // none stored: placeholderSecrets says so
			*v = was
		}
	}
	w.Endpoint = keepQuerySecrets(w.Endpoint, old.Endpoint, e.secretHeader)
	if a, oa := w.Authentication, old.Authentication; a != nil && oa != nil {
		keepSecret(&a.Value, oa.Value)
		keepSecret(&a.Password, oa.Password)
		keepSecret(&a.Token, oa.Token)
	}
	for k, v := range w.CustomHeaders {
		if v != rules.Redacted {
			continue
		}
		for ok, ov := range old.CustomHeaders {
			if strings.EqualFold(k, ok) {
				w.CustomHeaders[k] = ov
			}
		}
	}
	if s, os := w.Signing, old.Signing; s != nil && os != nil {
		keepSecret(&s.Secret, os.Secret)
		s.Previous = os.Previous
		if s.Scheme != os.Scheme {
			s.Previous = nil // secrets rotated out were made for the old scheme
		}
		// A new scheme with no secret given gets a secret of its own
		// form (a Stripe secret is not a Standard Webhooks one); a secret
		// given, even as REDACTED, is kept.
		if s.Scheme != os.Scheme && !patchNames(p["signing"], "secret") && s.Scheme != SchemeNone {
			s.Secret = newSecret(s.Scheme)
			s.Previous = nil
		}
	}
	w.ID, w.Source, w.CreatedAt, w.UpdatedAt = id, SourceAPI, old.CreatedAt, e.clock.Now().UTC()
	w.normalize()
	if w.Signing != nil && w.Signing.Scheme != SchemeNone && w.Signing.Secret == "" {
		w.Signing.Secret = newSecret(w.Signing.Scheme)
	}
	errs, warns := w.validate()
	errs = e.ownAPIEndpoint(w.Endpoint, errs)
	errs = append(errs, placeholderSecrets(&w, e.secretHeader)...) // REDACTED with no stored secret to keep
	errs = append(errs, e.checkConnectionsLocked(&w)...)
	if len(errs) > 0 {
		return nil, warns, &ValidationError{List: errs}
	}
	if err := e.db.putWebhook(ctx, &w); err != nil {
		return nil, nil, err
	}
	e.api[id] = &w
	e.rebuildLocked()
	e.logAPIWarnings(&w, old)
	return w.redacted(e.secretHeader), warns, nil
}

// checkConnectionsLocked checks that a changed API webhook still fits the
// config's triggers, automations and subscriptions that name it.
func (e *Emitter) checkConnectionsLocked(w *Webhook) []FieldError {
	var errs []FieldError
	type notifier struct {
		kind, name, where string
		n                 *notify
	}
	var ns []notifier
	for _, t := range e.cfg.triggers {
		ns = append(ns, notifier{"trigger", t.name, t.where, &t.notify})
	}
	for _, a := range e.cfg.automations {
		ns = append(ns, notifier{"automation", a.name, a.where, &a.notify})
	}
	for _, x := range ns {
		if x.n.webhook != w.ID {
			continue
		}
		if len(w.Subscriptions) > 0 {
			errs = append(errs, FieldError{Field: "subscriptions", Msg: fmt.Sprintf("the webhook is notified by %s %s (%s); a webhook is connected either to subscriptions or to triggers and automations, never both", x.kind, x.name, x.where)})
		}
		if _, msg := notifyProblem(x.n, w); msg != "" {
			errs = append(errs, FieldError{Field: bodyField(w), Msg: fmt.Sprintf("%s %s (%s) notifies this webhook: %s", x.kind, x.name, x.where, msg)})
		}
	}
	for _, s := range e.cfg.subs {
		if s.webhook == w.ID && (w.Method != http.MethodPost || w.Format != FormatJSON) {
			errs = append(errs, FieldError{Field: "method", Msg: fmt.Sprintf("the webhook is connected to event subscriptions (%s), which are always POST with json format", s.where)})
		}
	}
	return errs
}

// bodyField names the field that decides how w sends what a notify gives:
// its method when that sends no body, else its format.
func bodyField(w *Webhook) string {
	if w.bodyless() {
		return "method"
	}
	return "format"
}

// DeleteWebhook deletes a webhook made through the API; its queued
// invocations fail. A webhook that the config's triggers, automations or
// subscriptions name cannot be deleted.
func (e *Emitter) DeleteWebhook(ctx context.Context, id string) error {
	e.planMu.Lock() // no invocation planned for it is inserted after this
	defer e.planMu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if w := e.cfg.byID[id]; w != nil {
		return errConfigWebhook(w)
	}
	if e.api[id] == nil {
		return fmt.Errorf("webhook %s: %w", id, inspect.ErrNotFound)
	}
	var users []string
	for _, t := range e.cfg.triggers {
		if t.notify.webhook == id {
			users = append(users, "trigger "+t.name+" ("+t.where+")")
		}
	}
	for _, a := range e.cfg.automations {
		if a.notify.webhook == id {
			users = append(users, "automation "+a.name+" ("+a.where+")")
		}
	}
	for _, s := range e.cfg.subs {
		if s.webhook == id {
			users = append(users, "a subscription ("+s.where+")")
		}
	}
	if len(users) > 0 {
		return &ValidationError{List: []FieldError{{Msg: fmt.Sprintf("webhook %s is used by %s; remove those first", id, strings.Join(users, ", "))}}}
	}
	failed, err := e.db.deleteWebhook(ctx, id, e.clock.Now())
	e.counts.add(id, InvocationFailed, failed)
	if err != nil {
		return err
	}
	delete(e.api, id)
	e.rebuildLocked()
	return nil
}

// SigningSecret is a webhook's signing scheme and secret, shown only when
// asked for explicitly.
type SigningSecret struct {
	Scheme string `json:"scheme"`
	Secret string `json:"secret"`
}

// SigningSecret returns the webhook's signing secret.
func (e *Emitter) SigningSecret(id string) (SigningSecret, error) {
	w := e.webhook(id)
	if w == nil {
		return SigningSecret{}, fmt.Errorf("webhook %s: %w", id, inspect.ErrNotFound)
	}
	if w.Signing == nil || w.Signing.Scheme == SchemeNone {
		return SigningSecret{Scheme: SchemeNone}, nil
	}
	return SigningSecret{Scheme: w.Signing.Scheme, Secret: w.Signing.Secret}, nil
}

// Resign returns the headers that sign body for webhook id as its
// deliveries are signed now (its scheme, and during a rotation every secret
// that still signs), with msgID as the message id and now as the signing
// time; nil for an unsigned webhook. A replay of a recorded delivery uses
// it, so receivers still on a rotated-out secret accept the replay as they
// accept the deliveries.
func (e *Emitter) Resign(id, msgID string, body []byte) (http.Header, error) {
	w := e.webhook(id)
	if w == nil {
		return nil, fmt.Errorf("webhook %s: %w", id, inspect.ErrNotFound)
	}
	s := w.Signing
	if s == nil || s.Scheme == SchemeNone || s.Scheme == "" {
		return nil, nil
	}
	now := e.clock.Now()
	return rules.Sign(s.Scheme, s.secrets(now), msgID, now, body)
}

// Credentials returns the headers that carry webhook id's secrets as its
// deliveries send them now: its authentication, and the custom headers
// that are secrets (X-Api-Key and the like). Recorded deliveries hold them
// redacted; a replay signed again (Resign) sends these.
func (e *Emitter) Credentials(id string) (http.Header, error) {
	w := e.webhook(id)
	if w == nil {
		return nil, fmt.Errorf("webhook %s: %w", id, inspect.ErrNotFound)
	}
	h := http.Header{}
	for name, v := range w.CustomHeaders {
		if e.secretHeader(name) {
			h.Set(name, v)
		}
	}
	if name, v := w.Authentication.header(); name != "" {
		h.Set(name, v)
	}
	return h, nil
}

// RotateSigningSecret gives an API webhook a new signing secret. The old
// one keeps signing, next to the new one, for RotationOverlap where the
// scheme carries several signatures (standard-webhooks, stripe).
func (e *Emitter) RotateSigningSecret(ctx context.Context, id string) (SigningSecret, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if w := e.cfg.byID[id]; w != nil {
		return SigningSecret{}, errConfigWebhook(w)
	}
	old := e.api[id]
	if old == nil {
		return SigningSecret{}, fmt.Errorf("webhook %s: %w", id, inspect.ErrNotFound)
	}
	if old.Signing == nil || old.Signing.Scheme == SchemeNone {
		return SigningSecret{}, &ValidationError{List: []FieldError{{Field: "signing", Msg: "signing is off for this webhook; set a signing scheme first"}}}
	}
	now := e.clock.Now().UTC()
	w := *old
	s := *old.Signing
	prev := []PreviousSecret{{Secret: s.Secret, Until: now.Add(RotationOverlap)}}
	for _, p := range s.Previous {
		if now.Before(p.Until) {
			prev = append(prev, p)
		}
	}
	s.Previous = prev
	s.Secret = newSecret(s.Scheme)
	w.Signing = &s
	w.UpdatedAt = now
	if err := e.db.putWebhook(ctx, &w); err != nil {
		return SigningSecret{}, err
	}
	e.api[id] = &w
	e.rebuildLocked()
	return SigningSecret{Scheme: s.Scheme, Secret: s.Secret}, nil
}

// Invocation returns one invocation with its request and every attempt.
// The URLs' passwords and secret query values (?api_key=, from the
// endpoint) are redacted here, and the stored request's headers, by name (custom headers
// such as X-Api-Key); the attempts' were redacted as they were made. The
// receiver's answers are stored as received (a Set-Cookie, a token it
// hands out) and redacted here too.
func (e *Emitter) Invocation(ctx context.Context, id string) (*Invocation, error) {
	inv, err := e.db.getInvocation(ctx, id)
	if err != nil {
		return nil, err
	}
	if inv.Request != nil {
		inv.Request.Headers, _ = inspect.RedactHeaders(inv.Request.Headers, e.opts.SecretHeaders)
		inv.Request.URL = shownURL(inv.Request.URL, e.secretHeader)
	}
	for i := range inv.History {
		inv.History[i].Request.URL = shownURL(inv.History[i].Request.URL, e.secretHeader)
		inv.History[i].Response = e.redactResponse(inv.History[i].Response)
	}
	inv.Waiting, inv.WaitingUntil = e.waitingFor(inv, e.clock.Now())
	return inv, nil
}

// waitingFor says what holds queued invocation inv back at now (see
// Invocation.Waiting), or "", and until when, when that ends by itself.
func (e *Emitter) waitingFor(inv *Invocation, now time.Time) (string, *time.Time) {
	if !inv.queued {
		return "", nil
	}
	w := e.webhook(inv.WebhookID)
	switch {
	case w == nil:
		return "the webhook is not in the config", nil
	case w.Status != StatusActive:
		return "the webhook is inactive", nil
	}
	// An open circuit, or a rate limit with no token left, holds it when
	// that ends after it is due; when both do, the later end is the one
	// it waits for.
	var why string
	var until time.Time
	if c, end := e.circuitState(inv.WebhookID, now); c == "open" && end.After(inv.nextAt) {
		why, until = "the circuit is open until "+end.Format(time.RFC3339), end
	}
	e.mu.Lock()
	l := e.lanes[inv.WebhookID]
	e.mu.Unlock()
	if l != nil && w.RateLimit != nil {
		if end, ok := l.rateUntil(now); ok && end.After(inv.nextAt) && end.After(until) {
			why, until = fmt.Sprintf("the rate limit of %s is used up until %s", rateText(*w.RateLimit), end.Format(time.RFC3339)), end
		}
	}
	if why != "" {
		return why, &until
	}
	// A retry waits for its backoff: which attempt it is, of how many the
	// retry policy makes (counted since the last redelivery, as the
	// policy counts them).
	if inv.Attempts > 0 && inv.nextAt.After(now) {
		n := inv.Attempts + 1 - inv.retryBase
		// A policy lowered since the retry was planned still lets it go.
		most := max(int(w.Retry.withDefaults().MaxAttempts), n)
		of := fmt.Sprintf("attempt %d of %d", n, most)
		if inv.retryBase > 0 {
			of = fmt.Sprintf("attempt %d of %d since the redelivery (%d in all)", n, most, inv.Attempts+1)
		}
		at := inv.nextAt
		return "retrying: " + of + " at " + at.Format(time.RFC3339), &at
	}
	return "", nil
}

// rateText writes a rate limit as the config does: "60/min", "2/10s".
func rateText(r RateLimit) string {
	switch d := time.Duration(r.Window); d {
	case time.Second:
		return fmt.Sprintf("%d/s", r.Limit)
	case time.Minute:
		return fmt.Sprintf("%d/min", r.Limit)
	case time.Hour:
		return fmt.Sprintf("%d/h", r.Limit)
	default:
		return fmt.Sprintf("%d/%s", r.Limit, d)
	}
}

// redactResponse returns r with its secret headers redacted (a copy when
// any is).
func (e *Emitter) redactResponse(r *SentResponse) *SentResponse {
	if r == nil {
		return nil
	}
	h, names := inspect.RedactHeaders(r.Headers, e.opts.SecretHeaders)
	if len(names) == 0 {
		return r
	}
	c := *r
	c.Headers = h
	return &c
}

// Invocations lists invocations newest first, and the cursor of the next
// page ("" when there is none).
func (e *Emitter) Invocations(ctx context.Context, q InvocationQuery) ([]*Invocation, string, error) {
	if q.Status != "" && !slices.Contains(invocationStatuses, q.Status) {
		return nil, "", &ValidationError{List: []FieldError{{Field: "status", Msg: fmt.Sprintf("status must be one of %s, got %q", strings.Join(invocationStatuses, ", "), q.Status)}}}
	}
	list, next, err := e.db.list(ctx, q)
	now := e.clock.Now()
	for _, inv := range list {
		inv.Waiting, inv.WaitingUntil = e.waitingFor(inv, now)
	}
	return list, next, err
}

// Redeliver queues a finished invocation again, now, with a fresh retry
// budget; its attempts continue its history and it keeps its id, which
// receivers use to de-duplicate.
func (e *Emitter) Redeliver(ctx context.Context, id string) (*Invocation, error) {
	inv, err := e.db.getInvocation(ctx, id)
	if err != nil {
		return nil, err
	}
	id = inv.ID // as stored: the request may name it in lower case
	// Held from the check to the requeue: a delete between them would
	// leave a queued invocation of a webhook that is gone.
	e.planMu.RLock()
	if e.webhook(inv.WebhookID) == nil {
		e.planMu.RUnlock()
		return nil, &ValidationError{List: []FieldError{{Msg: fmt.Sprintf("webhook %s no longer exists", inv.WebhookID)}}}
	}
	got, was, err := e.db.requeue(ctx, "id = ?", []any{id}, e.clock.Now())
	e.planMu.RUnlock()
	if err != nil {
		return nil, err
	}
	e.counts.addAll(was, -1)
	if len(got) == 0 {
		inv, err := e.db.getInvocation(ctx, id)
		if err != nil {
			return nil, err
		}
		if !inv.queued && e.db.unsendable(ctx, id) {
			return nil, &ValidationError{List: []FieldError{{Msg: fmt.Sprintf(
				"invocation %s has no request to send again: it failed before it was sent (%s); fix the webhook and send the event again", id, inv.Error)}}}
		}
		if !inv.queued { // its attempt finished between the two reads
			return nil, fmt.Errorf("%w: invocation %s changed meanwhile (now %s); try again", inspect.ErrConflict, id, inv.Status)
		}
		return nil, fmt.Errorf("%w: invocation %s is still queued (%s); redeliver it once it has finished", inspect.ErrConflict, id, inv.Status)
	}
	e.spill(got[id])
	return e.Invocation(ctx, id)
}

// RedeliverQuery selects finished invocations to queue again.
type RedeliverQuery struct {
	WebhookID string    `json:"webhook_id,omitempty"`
	From      time.Time `json:"from,omitzero"`
	To        time.Time `json:"to,omitzero"`
	// Statuses to redeliver; default every unsuccessful final status
	// (failed, timeout, client_error, server_error).
	Statuses []string `json:"statuses,omitempty"`
}

// UnmarshalJSON reads the query, refusing unknown fields, and says which of
// from and to is not an RFC 3339 time.
func (q *RedeliverQuery) UnmarshalJSON(b []byte) error {
	type plain RedeliverQuery
	var v struct {
		plain
		WebhookID *string         `json:"webhook_id"`
		From      json.RawMessage `json:"from"`
		To        json.RawMessage `json:"to"`
		Statuses  *[]string       `json:"statuses"`
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		if te := (*json.UnmarshalTypeError)(nil); errors.As(err, &te) {
			// encoding/json names the embedded struct in the path
			// (plain.statuses): the field is the body's statuses.
			te.Field = strings.TrimPrefix(te.Field, "plain.")
		}
		return err
	}
	*q = RedeliverQuery(v.plain)
	if v.WebhookID != nil {
		// Given empty ("webhook_id": "$HOOK" with HOOK unset), it would
		// redeliver every webhook's failures.
		if *v.WebhookID == "" {
			return inspect.ValueError("webhook_id", "webhook_id is empty: name a webhook, or leave webhook_id out for every webhook")
		}
		q.WebhookID = *v.WebhookID
	}
	if v.Statuses != nil {
		// Given empty (every box unticked), it would redeliver every
		// unsuccessful invocation, as no statuses at all does.
		if len(*v.Statuses) == 0 {
			return inspect.ValueError("statuses", "statuses is empty: name at least one of failed, timeout, client_error and server_error, or leave statuses out for every unsuccessful one")
		}
		q.Statuses = *v.Statuses
	}
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		t    *time.Time
	}{{"from", v.From, &q.From}, {"to", v.To, &q.To}} {
		if len(f.raw) == 0 || string(f.raw) == "null" {
			continue
		}
		if err := json.Unmarshal(f.raw, f.t); err != nil {
			return inspect.ValueError(f.name, `want an RFC 3339 time such as "2026-01-02T15:04:05Z", got `+string(f.raw))
		}
	}
	return nil
}

// RedeliverRange queues again every finished, unsuccessful invocation
// created in the range, and returns their ids.
func (e *Emitter) RedeliverRange(ctx context.Context, q RedeliverQuery) ([]string, error) {
	redeliverable := []string{InvocationFailed, InvocationTimeout, InvocationClientError, InvocationServerError}
	sts := q.Statuses
	if len(sts) == 0 {
		sts = redeliverable
	}
	if !q.From.IsZero() && !q.To.IsZero() && q.From.After(q.To) {
		return nil, &ValidationError{List: []FieldError{{Field: "from", Msg: fmt.Sprintf("from %s is after to %s: nothing is in that range", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339))}}}
	}
	conds := []string{"status IN (" + strings.TrimSuffix(strings.Repeat("?,", len(sts)), ",") + ")"}
	var args []any
	for i, s := range sts {
		// Only finished, unsuccessful invocations are redelivered: a
		// queued one (pending, throttled, circuit_broken) goes anyway.
		if !slices.Contains(redeliverable, s) {
			return nil, &ValidationError{List: []FieldError{{Field: fmt.Sprintf("statuses.%d", i), Msg: fmt.Sprintf("status must be one of failed, timeout, client_error, server_error, got %q", s)}}}
		}
		args = append(args, s)
	}
	// Held from the webhooks' check to the requeue (see Redeliver).
	e.planMu.RLock()
	defer e.planMu.RUnlock()
	if q.WebhookID != "" {
		if e.webhook(q.WebhookID) == nil {
			return nil, fmt.Errorf("webhook %s: %w", q.WebhookID, inspect.ErrNotFound)
		}
		conds, args = append(conds, "webhook_id = ?"), append(args, q.WebhookID)
	} else {
		// Only webhooks that still exist can take deliveries.
		hooks := e.snap.Load().hooks
		if len(hooks) == 0 {
			return []string{}, nil
		}
		conds = append(conds, "webhook_id IN ("+strings.TrimSuffix(strings.Repeat("?,", len(hooks)), ",")+")")
		for id := range hooks {
			args = append(args, id)
		}
	}
	if !q.From.IsZero() {
		conds, args = append(conds, "created_ns >= ?"), append(args, inspect.Nanos(q.From))
	}
	if !q.To.IsZero() {
		conds, args = append(conds, "created_ns <= ?"), append(args, inspect.Nanos(q.To))
	}
	got, was, err := e.db.requeue(ctx, strings.Join(conds, " AND "), args, e.clock.Now())
	if err != nil {
		return nil, err
	}
	e.counts.addAll(was, -1)
	ids := make([]string, 0, len(got))
	hooks := map[string]bool{}
	for id, wh := range got {
		ids = append(ids, id)
		hooks[wh] = true
	}
	slices.Sort(ids)
	for wh := range hooks {
		e.spill(wh)
	}
	return ids, nil
}

// TestRequest is the body of a test send. Payload is sent in the
// webhook's format: a JSON string as its text, whatever the format; any
// other JSON value as JSON to a json webhook, and an object rendered as
// XML to an xml webhook or as form fields to a form_encoded one (see
// xmlBody and formBody). Without one a small test payload in the
// webhook's format is sent. Params go to the URL of GET and DELETE
// webhooks, or form the body of form_encoded ones, in the order given.
// Headers add to (or override) the custom headers, under the same rules.
// Webhook is an unsaved definition, for POST /api/webhooks/test only; it
// is signed with TestSecret. The API takes Zendesk's shape of a test
// send too (see testRequestOf).
type TestRequest struct {
	Webhook *Webhook          `json:"webhook,omitempty"`
	Payload json.RawMessage   `json:"payload,omitempty"`
	Params  TestParams        `json:"params,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

// TestParams are the URL parameters or form fields of a test send, as
// name, value pairs in the order they go, as Zendesk sends a trigger's
// key/value pairs. In JSON they are a list of [name, value] pairs
// ([["b", "2"], ["a", "1"], ["a", "3"]]), in which a name may repeat as
// in a query string, or an object ({"b": "2", "a": "1"}), its members in
// the order written; values are strings.
type TestParams [][2]string

// UnmarshalJSON reads a list of [name, value] pairs or an object of
// strings. An object that gives a name twice is refused (encoding/json
// would keep the last): repeats are for the list.
func (p *TestParams) UnmarshalJSON(b []byte) error {
	t := bytes.TrimSpace(b)
	switch {
	case string(t) == "null":
		return nil
	case len(t) > 0 && t[0] == '[':
		var list []json.RawMessage
		if err := json.Unmarshal(t, &list); err != nil {
			return err
		}
		out := make(TestParams, 0, len(list))
		for i, raw := range list {
			var pair []json.RawMessage
			if json.Unmarshal(raw, &pair) != nil || len(pair) != 2 {
				return inspect.ValueError(strconv.Itoa(i), `want a [name, value] pair such as ["page", "2"], got `+string(bytes.TrimSpace(raw)))
			}
			var kv [2]string
			for j, what := range []string{"name", "value"} {
				if json.Unmarshal(pair[j], &kv[j]) != nil {
					return inspect.ValueError(strconv.Itoa(i), "want the "+what+" as a string, got "+jsonValueKind(pair[j]))
				}
			}
			out = append(out, kv)
		}
		*p = out
		return nil
	case len(t) > 0 && t[0] == '{':
		dec := json.NewDecoder(bytes.NewReader(t))
		if _, err := dec.Token(); err != nil {
			return err
		}
		var out TestParams
		seen := map[string]bool{}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return err
			}
			k := tok.(string)
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return err
			}
			var v string
			if json.Unmarshal(raw, &v) != nil {
				return inspect.ValueError(k, "want a string, got "+jsonValueKind(raw))
			}
			if seen[k] {
				return inspect.ValueError(k, "given twice; to send a name more than once, give params as a list of [name, value] pairs")
			}
			seen[k] = true
			out = append(out, [2]string{k, v})
		}
		*p = out
		return nil
	}
	return inspect.ValueError("", `want a list of [name, value] pairs such as [["page", "2"]] or an object such as {"page": "2"}, got `+jsonValueKind(t))
}

// jsonValueKind names the kind of the JSON value raw, for messages: "a
// number", "a list".
func jsonValueKind(raw []byte) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "a list"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// TestResult is what a test send did: the request sent (secrets redacted)
// and the response received, or the error.
type TestResult struct {
	Request    SentRequest   `json:"request"`
	Response   *SentResponse `json:"response"`
	Outcome    string        `json:"outcome"`
	Error      string        `json:"error,omitempty"`
	DurationMS float64       `json:"duration_ms"`
	ExchangeID string        `json:"exchange_id,omitempty"`
	// Warnings name what was sent though it looks wrong: a json
	// webhook's payload that is not JSON, an xml one's that is not
	// well-formed XML. A test send is for trying things, so it goes.
	Warnings []FieldError `json:"warnings"`
}

// Test sends once, with no retry, to the webhook id (or, with id "", to
// the unsaved definition tr.Webhook) using its method, format, auth and
// signing, and returns what was sent and received. The attempt is recorded
// as an exchange but makes no invocation.
func (e *Emitter) Test(ctx context.Context, id string, tr TestRequest) (*TestResult, error) {
	var w *Webhook
	var secrets []string
	if id == "" {
		if tr.Webhook == nil {
			return nil, &ValidationError{List: []FieldError{{Field: "webhook", Msg: "webhook is required: the definition to test"}}}
		}
		c := *tr.Webhook
		if c.ID == "" {
			c.ID = "webhook-test"
		}
		if c.Signing == nil {
			c.Signing = &Signing{Scheme: rules.SchemeZendesk}
		}
		c.normalize()
		if c.Signing.Scheme != SchemeNone {
			c.Signing.Secret = testSecret(c.Signing.Scheme)
			secrets = []string{c.Signing.Secret}
		}
		errs, _ := c.validate()
		if errs = e.ownAPIEndpoint(c.Endpoint, errs); len(errs) > 0 {
			for i := range errs {
				errs[i].Field = strings.TrimPrefix("webhook."+errs[i].Field, ".")
			}
			return nil, &ValidationError{List: errs}
		}
		w = &c
	} else {
		if tr.Webhook != nil {
			return nil, &ValidationError{List: []FieldError{{Field: "webhook", Msg: "a saved webhook is tested as it is; send the definition to POST /api/webhooks/test instead"}}}
		}
		if w = e.webhook(id); w == nil {
			return nil, fmt.Errorf("webhook %s: %w", id, inspect.ErrNotFound)
		}
	}
	req, err := e.testRequest(w, tr)
	if err != nil {
		return nil, err
	}
	invID := e.ids.New(e.clock.Now())
	if name, _ := w.Authentication.header(); name != "" {
		e.testCreds.Store(invID, name)
		defer e.testCreds.Delete(invID)
	}
	// A test send is no event; GitHub's own test delivery is a ping.
	ev := "test"
	if w.Signing != nil && w.Signing.Scheme == rules.SchemeGitHub {
		ev = "ping"
	}
	out := e.do(ctx, w, req, invID, ev, 1, secrets)
	if out.cancelled {
		return nil, ctx.Err()
	}
	inv := &Invocation{ID: invID, WebhookID: w.ID, EventType: "test", Cause: "test", request: req}
	res := &TestResult{
		Request:  SentRequest{Method: req.Method, URL: shownURL(req.URL, e.secretHeader), Headers: out.sent, Body: string(req.Body)},
		Response: e.redactResponse(out.attempt.Response), Outcome: out.attempt.Outcome, Error: out.attempt.Error, DurationMS: out.attempt.DurationMS,
		Warnings: warningList(payloadWarnings(w.Format, req.Body)),
	}
	if inspect.ValidBin(w.ID) != nil {
		w = &Webhook{ID: "webhook-test"}
	}
	res.ExchangeID = e.record(w, inv, &out, true)
	return res, nil
}

// payloadWarnings says, for a body of format json or xml, where it first
// fails to be valid JSON or well-formed XML.
func payloadWarnings(format string, body []byte) []FieldError {
	if len(body) == 0 {
		return nil
	}
	switch format {
	case FormatJSON:
		var v json.RawMessage
		err := json.Unmarshal(body, &v)
		if err == nil {
			return nil
		}
		where := ""
		// (Cut short, it fails at its end, which the message says.)
		if se := (*json.SyntaxError)(nil); errors.As(err, &se) && !strings.HasPrefix(se.Error(), "unexpected end") {
			line, col := inspect.LineCol(body, se.Offset)
			where = fmt.Sprintf(" at line %d, column %d", line, col)
		}
		return []FieldError{{Field: "payload", Msg: fmt.Sprintf("payload is not valid JSON%s: %s; it was sent as it is, with Content-Type %s", where, strings.TrimPrefix(err.Error(), "json: "), contentTypes[format])}}
	case FormatXML:
		if why := xmlProblem(body); why != "" {
			return []FieldError{{Field: "payload", Msg: fmt.Sprintf("payload is not well-formed XML: %s; it was sent as it is, with Content-Type %s", why, contentTypes[format])}}
		}
	}
	return nil
}

// xmlProblem says where body first fails to be one well-formed XML
// document (encoding/xml's tokens: tags that close, names, entities, one
// root element and no text beside it), or "" when it is one.
func xmlProblem(body []byte) string {
	dec := xml.NewDecoder(bytes.NewReader(body))
	roots := 0
	depth := 0
	for {
		line, col := dec.InputPos() // where the next token begins
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			if se := (*xml.SyntaxError)(nil); errors.As(err, &se) {
				return fmt.Sprintf("at line %d: %s", se.Line, se.Msg)
			}
			return err.Error()
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				roots++
				if roots == 2 {
					return fmt.Sprintf("at line %d, column %d: a second root element <%s> (a document has one)", line, col, t.Name.Local)
				}
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(t)) > 0 {
				return fmt.Sprintf("at line %d, column %d: text outside the root element", line, col)
			}
		}
	}
	if roots == 0 {
		return "it holds no element"
	}
	return ""
}

// testRequest builds the request of a test send.
func (e *Emitter) testRequest(w *Webhook, tr TestRequest) (storedRequest, error) {
	req := storedRequest{Method: w.Method, URL: w.Endpoint, Endpoint: w.Endpoint, current: true}
	var p problems
	bodyless := w.bodyless()
	var body []byte
	if len(tr.Payload) > 0 && string(tr.Payload) != "null" {
		if bodyless {
			p.add("payload", "%s sends no body; use params", w.Method)
		}
		var s string
		var err error
		switch {
		case json.Unmarshal(tr.Payload, &s) == nil:
			body = []byte(s)
		case w.Format == FormatXML:
			body, err = xmlBody(tr.Payload)
		case w.Format == FormatForm:
			body, err = formBody(tr.Payload)
		default:
			body = tr.Payload
		}
		if err != nil {
			p.add("payload", "%v", err)
		}
	}
	// In the order given (url.Values.Encode would sort them by name).
	params := make([]string, 0, len(tr.Params))
	for _, kv := range tr.Params {
		params = append(params, url.QueryEscape(kv[0])+"="+url.QueryEscape(kv[1]))
	}
	switch {
	case !bodyless && len(params) > 0 && w.Format != FormatForm:
		p.add("params", "params are sent with GET and DELETE or with form_encoded webhooks; this one is %s %s, use payload", w.Method, w.Format)
	case !bodyless && len(params) > 0 && body != nil:
		p.add("params", "a form_encoded webhook sends payload or params as its body; give one, not both")
	}
	if !bodyless && body == nil {
		now := e.clock.Now().UTC().Format(time.RFC3339)
		switch {
		case w.Format == FormatForm && len(params) > 0:
			body = []byte(strings.Join(params, "&"))
		case w.Format == FormatForm:
			body = []byte(url.Values{"type": {"hooklab.test"}, "webhook_id": {w.ID}, "time": {now}}.Encode())
		case w.Format == FormatXML:
			body = fmt.Appendf(nil, "<test><type>hooklab.test</type><webhook_id>%s</webhook_id><time>%s</time></test>", xmlText(w.ID), now)
		default:
			body, _ = json.Marshal(map[string]string{"type": "hooklab.test", "webhook_id": w.ID, "time": now})
		}
	}
	if bodyless && len(params) > 0 {
		if u, err := withParams(w.Endpoint, params); err == nil {
			req.URL = u.String()
		}
	}
	headers := map[string]string{}
	for k, v := range w.CustomHeaders {
		headers[k] = v
	}
	for _, k := range sortedKeys(tr.Headers) {
		if why := checkCustomHeader(k, tr.Headers[k]); why != "" {
			p.add("headers."+k, "%s", why)
			continue
		}
		for old := range headers {
			if strings.EqualFold(old, k) {
				delete(headers, old)
			}
		}
		headers[k] = tr.Headers[k]
	}
	if len(tr.Headers) > 0 {
		// The webhook's rules for custom headers hold for the merged set:
		// at most five, none the authentication or signing sets.
		c := *w
		c.CustomHeaders = headers
		errs, _ := c.validate()
		for _, fe := range errs {
			name, one := strings.CutPrefix(fe.Field, "custom_headers.")
			_, given := tr.Headers[name]
			switch {
			case one && given:
				p.add("headers."+name, "%s", fe.Msg)
			case one:
				p.add(fe.Field, "%s", fe.Msg)
			case fe.Field == "custom_headers":
				p.add("headers", "%s", fe.Msg)
			}
		}
	}
	limit := int64(w.MaxPayload)
	if limit <= 0 {
		limit = DefaultMaxPayload
	}
	if int64(len(body)) >= limit {
		p.add("payload", "payload is %d bytes; it must be under %d bytes (max_payload)", len(body), limit)
	}
	if err := p.err(); err != nil {
		return req, err
	}
	if len(body) > 0 {
		req.Headers = append(req.Headers, inspect.Header{Name: "Content-Type", Value: contentTypes[w.Format]})
	}
	for _, k := range sortedKeys(headers) {
		req.Headers = append(req.Headers, inspect.Header{Name: k, Value: headers[k]})
	}
	req.Body = body
	return req, nil
}

func xmlText(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	return r.Replace(s)
}

// jsonNode is a decoded JSON value that keeps the order of an object's
// members: an object (keys and vals), an array (vals), or a scalar (text:
// a string's value, a number or true or false as written; null sets null).
type jsonNode struct {
	kind byte // '{', '[' or 0 for a scalar
	keys []string
	vals []jsonNode
	text string
	null bool
}

// decodeOrdered decodes one JSON value, keeping the order of members.
func decodeOrdered(b []byte) (jsonNode, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var read func() (jsonNode, error)
	read = func() (jsonNode, error) {
		tok, err := dec.Token()
		if err != nil {
			return jsonNode{}, err
		}
		switch v := tok.(type) {
		case json.Delim:
			n := jsonNode{kind: byte(v)}
			for dec.More() {
				if n.kind == '{' {
					k, err := dec.Token()
					if err != nil {
						return n, err
					}
					n.keys = append(n.keys, k.(string))
				}
				c, err := read()
				if err != nil {
					return n, err
				}
				n.vals = append(n.vals, c)
			}
			_, err := dec.Token() // the closing delimiter
			return n, err
		case string:
			return jsonNode{text: v}, nil
		case json.Number:
			return jsonNode{text: v.String()}, nil
		case bool:
			return jsonNode{text: strconv.FormatBool(v)}, nil
		}
		return jsonNode{null: true}, nil
	}
	return read()
}

// kindName names the kind of a payload that is neither an object nor a
// string, for messages.
func (n jsonNode) kindName() string {
	switch {
	case n.kind == '[':
		return "an array"
	case n.null:
		return "null"
	}
	return n.text
}

// xmlBody renders a test send's JSON object payload as XML: each member is
// an element named by its key, in the order written; an array repeats its
// element once per item; null is an empty element. An object of one
// member that is not an array is the document's root ({"ticket": {"id":
// 1}} is <ticket><id>1</id></ticket>); the members of any other object go
// in a <payload> root. Anything but an object, and a key that is not an
// XML name, is an error.
func xmlBody(payload json.RawMessage) ([]byte, error) {
	root, err := decodeOrdered(payload)
	if err != nil {
		return nil, err
	}
	if root.kind != '{' {
		return nil, fmt.Errorf("the payload of an xml webhook must be an object (sent as XML) or a string (sent as it is), got %s", root.kindName())
	}
	if len(root.keys) != 1 || root.vals[0].kind == '[' {
		root = jsonNode{kind: '{', keys: []string{"payload"}, vals: []jsonNode{root}}
	}
	var b bytes.Buffer
	var write func(name string, n jsonNode) error
	write = func(name string, n jsonNode) error {
		if n.kind == '[' {
			for _, c := range n.vals {
				if err := write(name, c); err != nil {
					return err
				}
			}
			return nil
		}
		if !xmlName(name) {
			return fmt.Errorf("payload key %q is not an XML element name", name)
		}
		if n.null {
			fmt.Fprintf(&b, "<%s/>", name)
			return nil
		}
		fmt.Fprintf(&b, "<%s>", name)
		if n.kind == '{' {
			for i, k := range n.keys {
				if err := write(k, n.vals[i]); err != nil {
					return err
				}
			}
		} else {
			xml.EscapeText(&b, []byte(n.text))
		}
		fmt.Fprintf(&b, "</%s>", name)
		return nil
	}
	if err := write(root.keys[0], root.vals[0]); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// xmlName reports whether s is an XML element name without a namespace
// prefix: a letter or _, then letters, digits, _, - and dots.
func xmlName(s string) bool {
	for i, r := range s {
		if !(unicode.IsLetter(r) || r == '_' || i > 0 && (unicode.IsDigit(r) || r == '-' || r == '.')) {
			return false
		}
	}
	return s != ""
}

// formBody renders a test send's JSON object payload as form fields
// (application/x-www-form-urlencoded), in the order written: a nested
// object's members are named key[member] and an array's items key[0],
// key[1], as PHP and qs read them; null is an empty value. Anything but an
// object is an error.
func formBody(payload json.RawMessage) ([]byte, error) {
	root, err := decodeOrdered(payload)
	if err != nil {
		return nil, err
	}
	if root.kind != '{' {
		return nil, fmt.Errorf("the payload of a form_encoded webhook must be an object (sent as form fields) or a string (sent as it is), got %s", root.kindName())
	}
	var b strings.Builder
	var write func(name string, n jsonNode)
	write = func(name string, n jsonNode) {
		switch n.kind {
		case '{':
			for i, k := range n.keys {
				write(name+"["+k+"]", n.vals[i])
			}
		case '[':
			for i, c := range n.vals {
				write(name+"["+strconv.Itoa(i)+"]", c)
			}
		default:
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(name) + "=" + url.QueryEscape(n.text))
		}
	}
	for i, k := range root.keys {
		write(k, root.vals[i])
	}
	return []byte(b.String()), nil
}
