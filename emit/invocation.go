package emit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// Invocation statuses. pending, throttled and circuit_broken are states of
// a queued invocation; the others are final.
const (
	InvocationPending       = "pending"
	InvocationSuccess       = "success"
	InvocationFailed        = "failed"
	InvocationTimeout       = "timeout"
	InvocationClientError   = "client_error"
	InvocationServerError   = "server_error"
	InvocationThrottled     = "throttled"
	InvocationCircuitBroken = "circuit_broken"
)

// invocationStatuses lists every status, for validating filters.
var invocationStatuses = []string{InvocationPending, InvocationSuccess, InvocationFailed, InvocationTimeout,
	InvocationClientError, InvocationServerError, InvocationThrottled, InvocationCircuitBroken}

// Invocation is one delivery of an event (or automation) to a webhook, with
// all its attempts. The request is rendered once, when the invocation is
// queued; authentication and signature headers are added to each attempt
// (signed afresh), and are never stored with the invocation.
type Invocation struct {
	ID        string `json:"id"`
	WebhookID string `json:"webhook_id"`
	EventID   string `json:"event_id"`
	EventType string `json:"event_type"`
	// Cause is subscription, trigger:NAME, automation:NAME.
	Cause  string `json:"cause"`
	Status string `json:"status"`
	// Attempts is how many attempts were made; StatusCode and Error are the
	// last one's.
	Attempts   int       `json:"attempt_count"`
	StatusCode int       `json:"status_code,omitempty"`
	Error      string    `json:"error,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
	// NextAt is when the next attempt is due, while the invocation is
	// queued.
	NextAt *time.Time `json:"next_attempt_at,omitempty"`
	// Waiting says what a queued invocation waits for, while it waits for
	// something: its webhook is inactive, the config no longer defines
	// it, its circuit is open, its rate limit is used up, or it is a
	// retry waiting for its next_attempt_at ("retrying: attempt 2 of 4 at
	// T"). It is worked out when the invocation is shown, never stored.
	Waiting string `json:"waiting,omitempty"`
	// WaitingUntil is when what Waiting names ends by itself (the open
	// circuit's cool-down, the rate limit's next token, the retry's
	// time), when it does: the time that ends Waiting's text, for a
	// client that shows it in its own form.
	WaitingUntil *time.Time `json:"waiting_until,omitempty"`
	// Request (the rendered request, without auth and signature headers)
	// and History are filled by GET /api/invocations/{id}.
	Request *SentRequest `json:"request,omitempty"`
	History []Attempt    `json:"attempts,omitempty"`

	request   storedRequest
	queued    bool
	nextAt    time.Time
	retryBase int // attempts made before the last manual redelivery
	// unsendable: the request could not be made (rendering failed), so
	// there is nothing to deliver again.
	unsendable bool
	depth      int // 1 when caused by a delivery.* event
}

// storedRequest is the rendered request kept with an invocation.
type storedRequest struct {
	Method string
	URL    string
	// Endpoint is the webhook's endpoint when the request was rendered;
	// when the webhook moves, attempts go to the new endpoint (see
	// rebase).
	Endpoint string
	Headers  inspect.Headers
	Body     []byte
	// current: Headers hold the webhook's custom headers of now (a test
	// send's, with its overrides), so an attempt does not set them again.
	current bool
}

// rebase moves a rendered URL from the endpoint it was rendered for (old)
// to the webhook's current one (cur), keeping the parameters the render
// added. As render lays them out, they follow cur's own query, which is
// kept as written (a signed or order-sensitive URL; url.Values would sort
// it and drop a pair holding ;).
func rebase(stored, old, cur string) string {
	su, err1 := url.Parse(stored)
	ou, err2 := url.Parse(old)
	cu, err3 := url.Parse(cur)
	if err1 != nil || err2 != nil || err3 != nil {
		return cur
	}
	// render appended the parameters to old's query, after a & when it
	// did not end with one.
	added, ok := strings.CutPrefix(su.RawQuery, ou.RawQuery)
	if ok && ou.RawQuery != "" && !strings.HasSuffix(ou.RawQuery, "&") && added != "" {
		added, ok = strings.CutPrefix(added, "&")
	}
	if !ok {
		// Not laid out as render does: the parameters beyond old's.
		q := url.Values{}
		oq := ou.Query()
		for k, vs := range su.Query() {
			if vs = vs[min(len(oq[k]), len(vs)):]; len(vs) > 0 {
				q[k] = vs
			}
		}
		added = q.Encode()
	}
	if added != "" {
		if cu.RawQuery != "" && !strings.HasSuffix(cu.RawQuery, "&") {
			cu.RawQuery += "&"
		}
		cu.RawQuery += added
	}
	return cu.String()
}

// public is the request as stored; Emitter.Invocation redacts its headers.
func (r storedRequest) public() SentRequest {
	return SentRequest{Method: r.Method, URL: r.URL, Headers: r.Headers, Body: string(r.Body)}
}

// SentRequest is a request as the activity log shows it: secrets redacted.
type SentRequest struct {
	Method  string          `json:"method"`
	URL     string          `json:"url"`
	Headers inspect.Headers `json:"headers"`
	Body    string          `json:"body"`
}

// SentResponse is a response as the activity log keeps it: the body cut at
// MaxResponseBody bytes (Truncated), Size its full length.
type SentResponse struct {
	Status    int             `json:"status"`
	Headers   inspect.Headers `json:"headers"`
	Body      string          `json:"body"`
	Size      int64           `json:"size"`
	Truncated bool            `json:"truncated"`
}

// Attempt is one try of an invocation.
type Attempt struct {
	N          int           `json:"attempt"`
	Time       time.Time     `json:"time"`
	Duration   time.Duration `json:"-"`
	DurationMS float64       `json:"duration_ms"`
	Request    SentRequest   `json:"request"`
	StatusCode int           `json:"status_code"`
	Response   *SentResponse `json:"response"`
	// Outcome is success, client_error, server_error, timeout or failed.
	Outcome string `json:"outcome"`
	Error   string `json:"error,omitempty"`
	// ExchangeID is the exchange (source emit) that records the attempt.
	ExchangeID string `json:"exchange_id,omitempty"`
}

// Event is something that happened and may invoke webhooks: a type such as
// ticket.created and its data, a JSON object.
type Event struct {
	// ID is made when empty.
	ID   string `json:"id"`
	Type string `json:"type"`
	// Time defaults to now.
	Time time.Time `json:"time,omitzero"`
	// Subject names what the event is about (the envelope's subject);
	// default "zen:TYPE:ID", as Zendesk writes it, from the first part of
	// the type (after a "zen:event-type:" prefix) and the id of the data's
	// object of that name ("zen:ticket:35436" for ticket.created with
	// {"ticket": {"id": 35436}}).
	Subject string `json:"subject,omitempty"`
	// Data is the event's JSON data: the envelope's detail, and the top
	// level of the Liquid context of triggers.
	Data json.RawMessage `json:"data,omitempty"`
	// Changes is the envelope's "event" (what changed), when the sender
	// has one.
	Changes json.RawMessage `json:"event,omitempty"`

	depth int
	// parsed: Data came through encoding/json already (it is valid JSON).
	parsed bool
}

// checkEventType returns why t cannot be an event type, or "".
func checkEventType(t string) string {
	switch {
	case t == "":
		return "type is required, such as ticket.created"
	case len(t) > 128:
		return fmt.Sprintf("type is %d characters long; the limit is 128", len(t))
	case strings.ContainsAny(t, " \t\r\n*?[]"):
		return fmt.Sprintf("type %q must not contain spaces or glob characters", t)
	}
	return ""
}

// CheckEventType returns why t cannot be an event type, or nil: for a
// client to refuse it before any request.
func CheckEventType(t string) error {
	if why := checkEventType(t); why != "" {
		return errors.New(why)
	}
	return nil
}

// checkGlob returns why g cannot be an event type pattern, or "".
func checkGlob(g string) string {
	if g == "" {
		return "event type pattern is empty"
	}
	if strings.ContainsAny(g, " \t\r\n") {
		// No event type holds one (checkEventType), so it would match
		// nothing: two types joined in one item, most likely.
		return fmt.Sprintf("event type pattern %q holds white space, which no event type does, so it would match nothing; give each type as an item of its own", g)
	}
	if _, err := path.Match(g, ""); err != nil {
		return fmt.Sprintf("bad event type pattern %q: %v", g, err)
	}
	return ""
}

// matchType reports whether event type t matches one of the patterns; "*"
// matches any run of characters (dots and slashes included), "?" one
// character.
func matchType(patterns []string, t string) bool {
	for _, p := range patterns {
		if p == t || p == "*" {
			return true
		}
		if ok, _ := path.Match(unslash(p, t)); ok {
			return true
		}
	}
	return false
}

// unslash returns pattern p and type t with each "/" replaced by a
// character neither holds: path.Match stops * and ? at "/", which a
// type may hold (Shopify's topics: orders/create), so that "orders*"
// would miss orders/create while "ticket.*" matches ticket.comment.added.
func unslash(p, t string) (string, string) {
	if !strings.Contains(p, "/") && !strings.Contains(t, "/") {
		return p, t
	}
	r := rune(0xE000) // the private use area: in no provider's type
	for strings.ContainsRune(p, r) || strings.ContainsRune(t, r) {
		r++
	}
	return strings.ReplaceAll(p, "/", string(r)), strings.ReplaceAll(t, "/", string(r))
}
