package emit

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// Defaults of a webhook's settings.
const (
	DefaultTimeout     = 12 * time.Second
	DefaultMaxPayload  = 256 << 10
	DefaultConcurrency = 32
	// MaxCustomHeaders is how many custom headers a webhook may have.
	MaxCustomHeaders = 5
	// MaxResponseBody is how much of a response body the activity log keeps.
	MaxResponseBody = 64 << 10
	// RotationOverlap is how long a rotated-out signing secret keeps signing
	// (alongside the new one) for schemes that carry several signatures
	// (standard-webhooks, stripe).
	RotationOverlap = 24 * time.Hour
	// TestSecret signs test sends of a definition that is not saved yet, as
	// Zendesk signs its test requests. For standard-webhooks the secret is
	// "whsec_" followed by it.
	TestSecret = "dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="
)

// Formats of a webhook's payload.
const (
	FormatJSON = "json"
	FormatXML  = "xml"
	FormatForm = "form_encoded"
)

// Statuses of a webhook.
const (
	StatusActive   = "active"
	StatusInactive = "inactive"
)

// Authentication types.
const (
	AuthAPIKey = "api_key"
	AuthBasic  = "basic_auth"
	AuthBearer = "bearer_token"
)

// SchemeNone turns signing off.
const SchemeNone = "none"

// Where a webhook is defined.
const (
	SourceConfig = "config"
	SourceAPI    = "api"
)

// Webhook is one destination of deliveries. Its JSON form is the API's; in
// answers every secret (authentication value, password or token, signing
// secret) reads "REDACTED", and a "REDACTED" sent back in a PATCH keeps the
// stored secret.
type Webhook struct {
	// ID is 1-64 of A-Z a-z 0-9 _ -; the API makes one when it is empty.
	// It is also the bin of the exchanges that record the attempts.
	ID          string `json:"id"`
	Name        string `json:"name"` // default the ID
	Description string `json:"description,omitempty"`
	// Endpoint is an absolute http or https URL.
	Endpoint string `json:"endpoint"`
	// Method is GET, POST (default), PUT, PATCH or DELETE.
	Method string `json:"method"`
	// Format is json (default), xml or form_encoded.
	Format string `json:"format"`
	// Status is active (default) or inactive; inactive webhooks are not
	// invoked and their queued invocations wait.
	Status         string       `json:"status"`
	Authentication *Auth        `json:"authentication,omitempty"`
	CustomHeaders  HeaderValues `json:"custom_headers,omitempty"`
	// Signing is nil or scheme none for unsigned deliveries. An API-made
	// webhook without signing gets the zendesk scheme and a new secret.
	Signing *Signing `json:"signing,omitempty"`
	// Timeout of each attempt; default DefaultTimeout.
	Timeout   Duration   `json:"timeout,omitzero"`
	Retry     *Retry     `json:"retry,omitempty"`
	RateLimit *RateLimit `json:"rate_limit,omitempty"`
	Breaker   *Breaker   `json:"circuit_breaker,omitempty"`
	// Subscriptions are event types (globs allowed) this API-made webhook is
	// subscribed to; config webhooks use the subscriptions: section.
	Subscriptions []string `json:"subscriptions,omitempty"`
	// Strict turns warnings (custom headers to a plain-HTTP endpoint) into
	// errors.
	Strict bool `json:"strict,omitempty"`
	// MaxPayload caps the rendered payload and URL parameters, in bytes;
	// default DefaultMaxPayload. At or over it an invocation fails: they
	// must be under it, as Zendesk's must be under 256 KB.
	MaxPayload Size `json:"max_payload,omitempty"`
	// Concurrency is how many attempts to this webhook may be in flight;
	// default DefaultConcurrency.
	Concurrency int `json:"concurrency,omitempty"`

	// Source is "config" or "api"; Location is file:line for config ones.
	Source    string    `json:"source,omitempty"`
	Location  string    `json:"location,omitempty"`
	CreatedAt time.Time `json:"created_at,omitzero"`
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Auth is how deliveries authenticate.
type Auth struct {
	// Type is api_key, basic_auth or bearer_token.
	Type string `json:"type"`
	// Name is the header of an api_key; Value its value.
	Name  string `json:"name,omitempty"`
	Value string `json:"value,omitempty"`
	// Username and Password of basic_auth.
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
	// Token of bearer_token.
	Token string `json:"token,omitempty"`
}

// header is the header the authentication goes in and its value, as a
// delivery sends it ("" when there is none).
func (a *Auth) header() (name, value string) {
	if a == nil {
		return "", ""
	}
	switch a.Type {
	case AuthAPIKey:
		return http.CanonicalHeaderKey(a.Name), a.Value
	case AuthBasic:
		return "Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password))
	case AuthBearer:
		return "Authorization", "Bearer " + a.Token
	}
	return "", ""
}

// Signing says how deliveries are signed.
type Signing struct {
	// Scheme is zendesk (default), standard-webhooks, github, stripe, slack,
	// shopify or none.
	Scheme string `json:"scheme"`
	// Secret is the current signing secret.
	Secret string `json:"secret,omitempty"`
	// Previous holds rotated-out secrets that still sign until their time.
	Previous []PreviousSecret `json:"previous,omitempty"`
}

// PreviousSecret is a rotated-out secret and when it stops signing.
type PreviousSecret struct {
	Secret string    `json:"secret"`
	Until  time.Time `json:"until"`
}

// previousSecretFault returns the first older secret that cannot sign
// under s.Scheme, with its place in a secrets list (the current one 0).
func previousSecretFault(s *Signing) (int, error) {
	for i, p := range s.Previous {
		if p.Secret == "" {
			return i + 1, errors.New("secret is empty")
		}
		if _, err := rules.Sign(s.Scheme, []string{p.Secret}, "msg_check", time.Unix(0, 0), nil); err != nil {
			return i + 1, errors.New(strings.TrimPrefix(err.Error(), "sign: "))
		}
	}
	return 0, nil
}

// secrets returns the secrets that sign at now, the current one first.
func (s *Signing) secrets(now time.Time) []string {
	out := []string{s.Secret}
	for _, p := range s.Previous {
		if now.Before(p.Until) {
			out = append(out, p.Secret)
		}
	}
	return out
}

// Duration is a time.Duration written as "12s" in JSON; a number is seconds.
type Duration time.Duration

// MarshalJSON writes the duration as a string such as "1m30s".
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads "1m30s" or a number of seconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		var f float64
		if err := json.Unmarshal(b, &f); err != nil {
			return inspect.ValueError("", `want a duration such as "30s" or a number of seconds, got `+string(b))
		}
		// Converting a float beyond int64 is not an error in Go: it gave
		// the most negative duration (on amd64) for 1e10 seconds.
		if ns := f * float64(time.Second); ns >= math.MaxInt64 || ns <= math.MinInt64 {
			return inspect.ValueError("", fmt.Sprintf("want a duration of at most %s, got %s seconds", time.Duration(math.MaxInt64).Truncate(time.Hour), b))
		}
		*d = Duration(f * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return inspect.ValueError("", fmt.Sprintf("want a duration such as \"30s\", got %q", s))
	}
	*d = Duration(v)
	return nil
}

// RateLimit paces deliveries at Limit per Window, as a token bucket of
// Limit tokens: after a quiet spell up to Limit go at once, then one more
// each Window/Limit (so a window that starts with a full bucket can see up
// to 2×Limit−1). Beyond it invocations wait (status throttled). YAML and JSON accept "60/min" (s, sec, min, h, hour,
// or a duration such as 10s) or {limit, window}.
type RateLimit struct {
	Limit  int      `json:"limit"`
	Window Duration `json:"window"`
}

// UnmarshalJSON accepts "60/min" or {"limit": 60, "window": "1m"} (the
// window is a minute when left out).
func (r *RateLimit) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		v, err := parseRate(s)
		if err != nil {
			return inspect.ValueError("", err.Error())
		}
		*r = v
		return nil
	}
	type plain RateLimit
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	*r = RateLimit{Window: Duration(time.Minute)} // as in the config: a window left out is a minute
	if err := dec.Decode((*plain)(r)); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return err // encoding/json prefixes the path of rate_limit
		}
		return inspect.ValueError("", `want a rate such as "60/min" or {"limit": 60, "window": "1m"}: `+strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// parseRate reads "60/min".
func parseRate(s string) (RateLimit, error) {
	n, per, ok := strings.Cut(strings.TrimSpace(s), "/")
	limit, err := strconv.Atoi(strings.TrimSpace(n))
	if !ok || err != nil {
		return RateLimit{}, fmt.Errorf("want a rate such as 60/min, got %q", s)
	}
	var w time.Duration
	switch strings.TrimSpace(per) {
	case "s", "sec", "second":
		w = time.Second
	case "m", "min", "minute":
		w = time.Minute
	case "h", "hour":
		w = time.Hour
	default:
		if w, err = time.ParseDuration(strings.TrimSpace(per)); err != nil {
			return RateLimit{}, fmt.Errorf("want a rate such as 60/min, got %q", s)
		}
	}
	return RateLimit{Limit: limit, Window: Duration(w)}, nil
}

// Breaker configures a webhook's circuit breaker: when at least
// FailureRate of at least MinAttempts attempts within Window failed, no
// attempt is made for Cooldown; then one probe goes through, and its success
// closes the circuit. Defaults: 0.7, 20, 5m, 1m.
type Breaker struct {
	Disabled    bool     `json:"disabled,omitempty"`
	FailureRate float64  `json:"failure_rate,omitempty"`
	MinAttempts int      `json:"min_attempts,omitempty"`
	Window      Duration `json:"window,omitzero"`
	Cooldown    Duration `json:"cooldown,omitzero"`
}

// Breaker defaults.
const (
	DefaultBreakerRate     = 0.7
	DefaultBreakerAttempts = 20
	DefaultBreakerWindow   = 5 * time.Minute
	DefaultBreakerCooldown = time.Minute
)

func (b Breaker) withDefaults() Breaker {
	if b.FailureRate == 0 {
		b.FailureRate = DefaultBreakerRate
	}
	if b.MinAttempts == 0 {
		b.MinAttempts = DefaultBreakerAttempts
	}
	if b.Window == 0 {
		b.Window = Duration(DefaultBreakerWindow)
	}
	if b.Cooldown == 0 {
		b.Cooldown = Duration(DefaultBreakerCooldown)
	}
	return b
}

// FieldError is one validation problem: the field (a dotted path such as
// "custom_headers.X-Forwarded-For" or "retry.max_attempts") and the message
// the UI shows next to it.
type FieldError struct {
	Field string `json:"field,omitempty"`
	Msg   string `json:"error"`
}

// Error formats the problem as "field: message".
func (e FieldError) Error() string {
	// "endpoint must be ..." names its field already.
	if e.Field == "" || strings.HasPrefix(e.Msg, e.Field+" ") {
		return e.Msg
	}
	return e.Field + ": " + e.Msg
}

// ValidationError lists every problem of a definition. It wraps
// inspect.ErrInvalid.
type ValidationError struct {
	List []FieldError
}

// Error is the first problem, followed by how many more there are.
func (e *ValidationError) Error() string {
	if len(e.List) == 0 {
		return "invalid"
	}
	s := e.List[0].Error()
	if n := len(e.List) - 1; n > 0 {
		s += fmt.Sprintf(" (and %d more)", n)
	}
	return s
}

// Unwrap makes errors.Is(err, inspect.ErrInvalid) true.
func (e *ValidationError) Unwrap() error { return inspect.ErrInvalid }

// problems collects field errors and warnings.
type problems struct {
	errs, warns []FieldError
}

func (p *problems) add(field, format string, args ...any) {
	p.errs = append(p.errs, FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) warn(field, format string, args ...any) {
	p.warns = append(p.warns, FieldError{Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error {
	if len(p.errs) == 0 {
		return nil
	}
	return &ValidationError{List: p.errs}
}

// refusedHeaders may not be custom headers: hooklab, the HTTP stack or the
// provider sets them.
var refusedHeaders = []string{
	"accept-charset", "accept-encoding", "connection", "content-encoding", "content-length",
	"content-md5", "content-type", "date", "expect", "forwarded", "host", "keep-alive",
	"max-forwards", "origin", "proxy-authenticate", "referer", "server", "te", "trailer",
	"transfer-encoding", "upgrade", "user-agent", "via", "www-authenticate",
	"zendesk-api-version", "zendesk-ep",
}

// refusedPrefixes may not start a custom header's name.
var refusedPrefixes = []string{
	"access-control", "x-amzn", "x-apigw", "x-datadog", "x-envoy", "x-forwarded", "x-zendesk", "x-hooklab",
}

const tokenChars = "!#$%&'*+-.^_`|~"

// checkHeaderName returns why name cannot be a header name, or "".
func checkHeaderName(name string) string {
	if name == "" {
		return "header name is empty"
	}
	if len(name) > 128 {
		return fmt.Sprintf("header name is %d characters long; the limit is 128", len(name))
	}
	pos := 0
	for _, c := range name {
		pos++
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c < 0x80 && strings.IndexByte(tokenChars, byte(c)) >= 0) {
			return fmt.Sprintf("header name has %q at position %d; allowed are letters, digits and ! # $ %% & ' * + - . ^ _ ` | ~", c, pos)
		}
	}
	return ""
}

// checkCustomHeader returns why name: value cannot be a custom header, or "".
func checkCustomHeader(name, value string) string {
	if why := checkHeaderName(name); why != "" {
		return why
	}
	lower := strings.ToLower(name)
	if slices.Contains(refusedHeaders, lower) {
		return fmt.Sprintf("%s cannot be a custom header: hooklab or the HTTP client sets it", name)
	}
	for _, p := range refusedPrefixes {
		if strings.HasPrefix(lower, p) {
			return fmt.Sprintf("header names starting with %s are reserved", p)
		}
	}
	if len(value) > 1000 {
		return fmt.Sprintf("value is %d characters long; the limit is 1000", len(value))
	}
	for i := 0; i < len(value); i++ {
		if c := value[i]; c < 0x20 || c > 0x7e {
			return fmt.Sprintf("value has a character outside printable ASCII (0x20-0x7E) at position %d", i+1)
		}
	}
	return ""
}

// validID checks a webhook id: the rules of a bin name.
func validID(id string) string {
	if id == "" {
		return "id is required"
	}
	if err := inspect.ValidBin(id); err != nil {
		return strings.Replace(strings.TrimPrefix(err.Error(), inspect.ErrInvalid.Error()+": "), "bin name", "id", 1)
	}
	return ""
}

// MaxName is the most characters (runes, not bytes) a webhook's name
// holds, as Zendesk counts them.
const MaxName = 255

// MaxDescription is the most characters a webhook's description holds.
// Zendesk documents no limit for it; this one keeps a description a
// description (a 900 KB one was taken) while leaving room for a paragraph.
const MaxDescription = 1024

// normalize fills defaults in place.
func (w *Webhook) normalize() {
	w.Method = strings.ToUpper(strings.TrimSpace(w.Method))
	if w.Method == "" {
		w.Method = http.MethodPost
	}
	w.Format = strings.ToLower(strings.TrimSpace(w.Format))
	if w.Format == "" {
		w.Format = FormatJSON
	}
	if w.Status == "" {
		w.Status = StatusActive
	}
	if w.Name == "" {
		w.Name = w.ID
	}
	if w.Signing != nil && w.Signing.Scheme == "" {
		w.Signing.Scheme = rules.SchemeZendesk
	}
	if a := w.Authentication; a != nil {
		a.Type = strings.ToLower(strings.TrimSpace(a.Type))
		// Only the type's own fields are kept: a PATCH that switches
		// basic_auth to bearer_token merges into the stored object, and
		// the old password must not stay stored, unused, behind the token.
		switch a.Type {
		case AuthAPIKey:
			a.Username, a.Password, a.Token = "", "", ""
		case AuthBasic:
			a.Name, a.Value, a.Token = "", "", ""
		case AuthBearer:
			a.Name, a.Value, a.Username, a.Password = "", "", "", ""
		}
	}
}

// validate checks a normalized webhook; it returns every problem found and
// the warnings (custom headers to a plain-HTTP endpoint, unless Strict).
func (w *Webhook) validate() (errs, warns []FieldError) {
	var p problems
	if why := validID(w.ID); why != "" {
		p.add("id", "%s", why)
	}
	if n := utf8.RuneCountInString(w.Name); n > MaxName {
		p.add("name", "name is %d characters long; the limit is %d", n, MaxName)
	}
	if n := utf8.RuneCountInString(w.Description); n > MaxDescription {
		p.add("description", "description is %d characters long; the limit is %d", n, MaxDescription)
	}
	plainHTTP := false
	switch u, err := url.Parse(w.Endpoint); {
	case w.Endpoint == "":
		p.add("endpoint", "endpoint is required")
	case err != nil || !u.IsAbs() || u.Hostname() == "":
		// http://:8080/x has a Host but no host name: the dial went to this machine.
		p.add("endpoint", "endpoint must be an absolute URL such as https://example.com/hooks, got %q", shownURL(w.Endpoint, nil))
	case u.Scheme != "http" && u.Scheme != "https":
		p.add("endpoint", "endpoint must use http or https, got %q", u.Scheme)
	case u.Port() != "" && !validPort(u.Port()):
		p.add("endpoint", "endpoint port must be from 1 to 65535, got %q", u.Port())
	case u.User != nil:
		p.add("endpoint", "endpoint must not hold credentials; use authentication")
	case utf8.RuneCountInString(w.Endpoint) > 2048:
		p.add("endpoint", "endpoint is %d characters long; the limit is 2048", utf8.RuneCountInString(w.Endpoint))
	default:
		plainHTTP = u.Scheme == "http"
	}
	switch w.Method {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
	default:
		p.add("method", "method must be GET, POST, PUT, PATCH or DELETE, got %q", w.Method)
	}
	switch w.Format {
	case FormatJSON, FormatXML, FormatForm:
	default:
		p.add("format", "format must be json, xml or form_encoded, got %q", w.Format)
	}
	switch w.Status {
	case StatusActive, StatusInactive:
	default:
		p.add("status", "status must be active or inactive, got %q", w.Status)
	}
	if a := w.Authentication; a != nil {
		switch a.Type {
		case AuthAPIKey:
			if why := checkHeaderName(a.Name); why != "" {
				p.add("authentication.name", "%s", why)
			} else if why := checkCustomHeader(a.Name, a.Value); why != "" && !strings.HasPrefix(why, "value") {
				p.add("authentication.name", "%s", why)
			}
			if a.Value == "" {
				p.add("authentication.value", "value is required for api_key")
			} else if why := checkCustomHeader("X", a.Value); why != "" {
				p.add("authentication.value", "%s", why)
			}
		case AuthBasic:
			if a.Username == "" {
				p.add("authentication.username", "username is required for basic_auth")
			}
			if strings.Contains(a.Username, ":") {
				p.add("authentication.username", "username must not contain a colon")
			}
			if a.Password == "" {
				p.add("authentication.password", "password is required for basic_auth")
			}
		case AuthBearer:
			if a.Token == "" {
				p.add("authentication.token", "token is required for bearer_token")
			} else if why := checkCustomHeader("X", a.Token); why != "" {
				p.add("authentication.token", "%s", why)
			}
		default:
			p.add("authentication.type", "authentication type must be api_key, basic_auth or bearer_token, got %q", a.Type)
		}
	}
	if n := len(w.CustomHeaders); n > MaxCustomHeaders {
		p.add("custom_headers", "at most %d custom headers are allowed, got %d", MaxCustomHeaders, n)
	}
	seen := map[string]string{}
	for _, name := range sortedKeys(w.CustomHeaders) {
		field := "custom_headers." + name
		if why := checkCustomHeader(name, w.CustomHeaders[name]); why != "" {
			p.add(field, "%s", why)
			continue
		}
		lower := strings.ToLower(name)
		if other, dup := seen[lower]; dup {
			p.add(field, "duplicate header: %s and %s are the same name", other, name)
			continue
		}
		seen[lower] = name
		if w.Authentication != nil && (lower == "authorization" && w.Authentication.Type != AuthAPIKey ||
			w.Authentication.Type == AuthAPIKey && strings.EqualFold(name, w.Authentication.Name)) {
			p.add(field, "%s is set by the authentication", name)
		}
	}
	if plainHTTP && len(w.CustomHeaders) > 0 {
		msg := "custom headers are sent in the clear to a plain-HTTP endpoint; use https"
		if w.Strict {
			p.add("custom_headers", "%s", msg)
		} else {
			p.warn("custom_headers", "%s", msg)
		}
	}
	// Only for a type there is (an unknown one is an error already, and
	// may be a ${VAR}'s value, which no message quotes).
	if a := w.Authentication; plainHTTP && a != nil && (a.Type == AuthAPIKey || a.Type == AuthBasic || a.Type == AuthBearer) {
		msg := fmt.Sprintf("%s credentials are sent in the clear to a plain-HTTP endpoint; use https", a.Type)
		if w.Strict {
			p.add("authentication", "%s", msg)
		} else {
			p.warn("authentication", "%s", msg)
		}
	}
	if s := w.Signing; s != nil && s.Scheme != SchemeNone {
		if !slices.Contains(rules.Schemes(), s.Scheme) {
			p.add("signing.scheme", "signing scheme must be one of %s or none, got %q", strings.Join(rules.Schemes(), ", "), s.Scheme)
		} else if s.Secret == "" {
			p.add("signing.secret", "secret is required for %s signing", s.Scheme)
		} else if sh, err := rules.Sign(s.Scheme, []string{s.Secret}, "msg_check", time.Unix(0, 0), nil); err != nil {
			p.add("signing.secret", "%s", strings.TrimPrefix(err.Error(), "sign: "))
		} else if i, err := previousSecretFault(s); err != nil {
			// Older secrets come from a config's signing.secrets list; each
			// signs every delivery too.
			p.add(fmt.Sprintf("signing.secrets.%d", i), "%s", err)
		} else {
			// The signature's headers are set last: a custom or API key
			// header of the same name would never reach the receiver.
			for _, k := range sortedKeys(sh) {
				for _, name := range sortedKeys(w.CustomHeaders) {
					if strings.EqualFold(name, k) {
						p.add("custom_headers."+name, "%s is set by %s signing", name, s.Scheme)
					}
				}
				if a := w.Authentication; a != nil && a.Type == AuthAPIKey && strings.EqualFold(a.Name, k) {
					p.add("authentication.name", "%s is set by %s signing", a.Name, s.Scheme)
				}
			}
		}
	}
	if s := w.Signing; s != nil && s.Scheme == rules.SchemeStandardWebhooks && w.Format != FormatJSON && w.Format != "" {
		// The signature is valid whatever the body, but the scheme's
		// libraries return the payload parsed as JSON, and throw when it
		// is not.
		p.warn("format", "standard-webhooks receivers' libraries (standardwebhooks, svix) parse the payload as JSON, and fail on %s", w.Format)
	}
	if t := time.Duration(w.Timeout); t < 0 || t > 0 && t < time.Millisecond || t > 5*time.Minute {
		p.add("timeout", "timeout must be between 1ms and 5m, got %s", t)
	}
	if w.MaxPayload < 0 {
		p.add("max_payload", "max_payload must not be negative")
	}
	if w.Concurrency < 0 || w.Concurrency > 1024 {
		p.add("concurrency", "concurrency must be between 1 and 1024, got %d", w.Concurrency)
	}
	if r := w.RateLimit; r != nil {
		if r.Limit < 1 {
			p.add("rate_limit", "rate limit must allow at least 1 delivery, got %d", r.Limit)
		}
		if r.Window <= 0 {
			p.add("rate_limit", "rate limit window must be positive")
		}
	}
	if b := w.Breaker; b != nil {
		if b.FailureRate < 0 || b.FailureRate > 1 {
			p.add("circuit_breaker.failure_rate", "failure_rate must be between 0 and 1, got %v", b.FailureRate)
		}
		if b.MinAttempts < 0 {
			p.add("circuit_breaker.min_attempts", "min_attempts must not be negative")
		}
		if b.Window < 0 || b.Cooldown < 0 {
			p.add("circuit_breaker", "window and cooldown must not be negative")
		}
	}
	if w.Retry != nil {
		w.Retry.validate(&p)
	}
	for i, s := range w.Subscriptions {
		if why := checkGlob(s); why != "" {
			p.add(fmt.Sprintf("subscriptions.%d", i), "%s", why)
		}
	}
	if len(w.Subscriptions) > 0 && (w.Method != http.MethodPost || w.Format != FormatJSON) {
		p.add("subscriptions", "webhooks connected to event subscriptions are always POST with json format")
	}
	return p.errs, p.warns
}

// bodyless reports whether w's method sends no body (GET, DELETE): what a
// notify gives goes in the URL's query instead.
func (w *Webhook) bodyless() bool {
	return w.Method == http.MethodGet || w.Method == http.MethodDelete
}

// redacted returns a copy of w whose secrets read REDACTED: auth values,
// signing secrets, custom headers secret by name, and the values of the
// endpoint's query parameters secret by name (?api_key=).
func (w *Webhook) redacted(secret func(header string) bool) *Webhook {
	c := *w
	c.Endpoint, _ = inspect.RedactQuery(w.Endpoint, secret)
	if a := w.Authentication; a != nil {
		ac := *a
		for _, s := range []*string{&ac.Value, &ac.Password, &ac.Token} {
			if *s != "" {
				*s = rules.Redacted
			}
		}
		c.Authentication = &ac
	}
	if s := w.Signing; s != nil {
		sc := *s
		if sc.Secret != "" {
			sc.Secret = rules.Redacted
		}
		sc.Previous = nil
		c.Signing = &sc
	}
	if secretCustomHeaders(w.CustomHeaders, secret) {
		c.CustomHeaders = make(map[string]string, len(w.CustomHeaders))
		for k, v := range w.CustomHeaders {
			if secret(k) {
				v = rules.Redacted
			}
			c.CustomHeaders[k] = v
		}
	}
	return &c
}

// shownURL returns u as answers and messages show it: its password and
// the values of its query parameters secret by name (by secret, or
// inspect.IsSecretHeader's rule when nil) REDACTED.
func shownURL(u string, secret func(string) bool) string {
	if secret == nil {
		secret = inspect.QuerySecret(nil)
	}
	return inspect.ShownURL(u, secret)
}

// keepQuerySecrets returns endpoint with each secret-named query value
// given as REDACTED replaced by the value of the same parameter (the same
// name, the same occurrence) in was, the stored endpoint: a webhook read
// back and sent as it is keeps its ?api_key=. A REDACTED with no value in
// was to stand for stays, for placeholderSecrets to refuse.
func keepQuerySecrets(endpoint, was string, secret func(string) bool) string {
	if !strings.Contains(endpoint, rules.Redacted) {
		return endpoint
	}
	stored := map[string][]string{}
	inspect.EditQuery(was, func(name, value string) (string, bool) {
		stored[name] = append(stored[name], value)
		return "", false
	})
	seen := map[string]int{}
	out, _ := inspect.EditQuery(endpoint, func(name, value string) (string, bool) {
		n := seen[name]
		seen[name]++
		if value == rules.Redacted && secret(name) && n < len(stored[name]) && stored[name][n] != "" {
			return stored[name][n], true
		}
		return "", false
	})
	return out
}

// redactedQueryParams lists the secret-named query parameters of endpoint
// whose value is REDACTED.
func redactedQueryParams(endpoint string, secret func(string) bool) []string {
	var out []string
	inspect.EditQuery(endpoint, func(name, value string) (string, bool) {
		if value == rules.Redacted && secret(name) {
			out = append(out, name)
		}
		return "", false
	})
	return out
}

// HeaderValues are custom headers by name. In JSON a value may be a
// number or a boolean too (as in the config file: X-Shard: 5), taken as its
// text.
type HeaderValues map[string]string

// UnmarshalJSON reads an object of strings, numbers and booleans.
func (h *HeaderValues) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	out := make(HeaderValues, len(raw))
	for k, v := range raw {
		var s string
		switch t := strings.TrimSpace(string(v)); {
		case t == "null":
			continue // left out, as a PATCH that gives one null leaves it out
		case json.Unmarshal(v, &s) == nil:
			out[k] = s
		case t == "true" || t == "false":
			out[k] = t
		case t != "" && (t[0] == '-' || '0' <= t[0] && t[0] <= '9'):
			out[k] = t // a JSON number, as written
		default:
			return inspect.ValueError(k, "want a string, number or boolean, got "+jsonKind(t)) // the decoder adds custom_headers.
		}
	}
	*h = out
	return nil
}

// jsonKind names the kind of the JSON value t.
func jsonKind(t string) string {
	switch {
	case strings.HasPrefix(t, "{"):
		return "an object"
	case strings.HasPrefix(t, "["):
		return "a list"
	}
	return "something else"
}

// secretCustomHeaders reports whether any of h is secret by its name
// (X-Api-Key, X-Auth-Token...).
func secretCustomHeaders(h map[string]string, secret func(string) bool) bool {
	for k := range h {
		if secret(k) {
			return true
		}
	}
	return false
}

// secretValues lists the secrets of w, for scrubbing logs and records.
func (w *Webhook) secretValues(secret func(header string) bool) []string {
	var out []string
	if a := w.Authentication; a != nil {
		for _, s := range []string{a.Value, a.Password, a.Token} {
			if s != "" {
				out = append(out, s)
			}
		}
		if a.Type == AuthBasic {
			out = append(out, base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password)))
		}
	}
	if s := w.Signing; s != nil {
		if s.Secret != "" {
			out = append(out, s.Secret)
		}
		for _, p := range s.Previous {
			out = append(out, p.Secret)
		}
	}
	for k, v := range w.CustomHeaders {
		if v != "" && secret(k) {
			out = append(out, v)
		}
	}
	return out
}

// newSecret makes a signing secret in the form scheme expects.
func newSecret(scheme string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	switch scheme {
	case rules.SchemeStandardWebhooks:
		return "whsec_" + base64.StdEncoding.EncodeToString(b[:24])
	case rules.SchemeZendesk, rules.SchemeShopify:
		return base64.StdEncoding.EncodeToString(b)
	case rules.SchemeStripe:
		return "whsec_" + hex.EncodeToString(b[:16])
	}
	return hex.EncodeToString(b)
}

// validPort says whether a URL's port (digits, as url.Parse leaves it)
// is one a connection can go to.
func validPort(port string) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n >= 1 && n <= 65535
}

// testSecret is the fixed secret that signs test sends of unsaved
// definitions under scheme.
func testSecret(scheme string) string {
	if scheme == rules.SchemeStandardWebhooks {
		return "whsec_" + TestSecret
	}
	return TestSecret
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Size is a count of bytes, given as a number or as a string with a unit
// ("256KB", "1MiB"); it is written as a number.
type Size int64

// UnmarshalJSON reads a number of bytes or a string such as "256KiB";
// null leaves s as it is, as for a number.
func (s *Size) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var str string
	if json.Unmarshal(b, &str) == nil {
		v, err := rules.ParseSize(str)
		if err != nil {
			return inspect.ValueError("", err.Error()) // named by the decoder: max_payload
		}
		*s = Size(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return inspect.ValueError("", fmt.Sprintf("want a number of bytes or a size such as \"256KiB\", got %s", b))
	}
	*s = Size(n)
	return nil
}
