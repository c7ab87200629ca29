package inspect

import (
	"bytes"
	"encoding/json"
	"net/url"
	"strings"
)

// Redacted replaces a secret value in API answers and exports (the same
// word the config printer uses).
const Redacted = "REDACTED"

// IsSecretHeader reports whether a header of this name holds a secret:
// Authorization, Proxy-Authorization, Cookie, Set-Cookie, any of extra
// (compared without case), or a name with a part (split at "-" and "_")
// that is token, secret, password, passwd, credential(s), auth,
// authorization, authentication, session, sessionid, apikey, or the pair
// api key / access key / secret key / private key / subscription key (X-Api-Key, X-Auth-Token,
// X-Amz-Security-Token, Ocp-Apim-Subscription-Key). WWW-Authenticate and
// signature headers are not secrets.
func IsSecretHeader(name string, extra []string) bool {
	// Called for every header of every emitted attempt and every exchange
	// read: no allocation.
	for _, n := range []string{"authorization", "proxy-authorization", "cookie", "set-cookie"} {
		if strings.EqualFold(name, n) {
			return true
		}
	}
	if containsFold(extra, name) {
		return true
	}
	prev := ""
	for rest := name; rest != ""; {
		part := rest
		if i := strings.IndexAny(rest, "-_"); i >= 0 {
			part, rest = rest[:i], rest[i+1:]
		} else {
			rest = ""
		}
		if part == "" {
			continue
		}
		if foldedOneOf(part, "token", "secret", "password", "passwd", "credential", "credentials", "auth", "authorization", "authentication", "session", "apikey", "sessionid") ||
			strings.EqualFold(part, "key") && foldedOneOf(prev, "api", "access", "secret", "private", "subscription") {
			return true
		}
		prev = part
	}
	return false
}

// foldedOneOf reports whether s is one of the words, in any case.
func foldedOneOf(s string, words ...string) bool {
	for _, w := range words {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}

// RedactHeaders returns h with the values of secret headers
// (IsSecretHeader) replaced by Redacted, and the names it redacted as
// received, each once. Cookie values are redacted one by one and Set-Cookie
// keeps its attributes, so names stay readable:
// "Cookie: a=REDACTED; b=REDACTED". h itself is not changed; when nothing
// is secret, h is returned as it is.
func RedactHeaders(h Headers, extra []string) (Headers, []string) {
	var out Headers
	var names []string
	for i, x := range h {
		if !IsSecretHeader(x.Name, extra) {
			continue
		}
		if out == nil {
			out = append(Headers(nil), h...)
		}
		out[i].Value = redactValue(x.Name, x.Value)
		if !containsFold(names, x.Name) {
			names = append(names, x.Name)
		}
	}
	if out == nil {
		return h, nil
	}
	return out, names
}

func redactValue(name, v string) string {
	switch strings.ToLower(name) {
	case "cookie":
		var parts []string
		for _, c := range strings.Split(v, ";") {
			// A cookie without "=" is all value (RFC 6265, as browsers
			// read it): its text is the secret, not a name.
			n, _, ok := strings.Cut(strings.TrimSpace(c), "=")
			switch {
			case ok && n != "":
				parts = append(parts, n+"="+Redacted)
			case strings.TrimSpace(c) != "":
				parts = append(parts, Redacted)
			}
		}
		return strings.Join(parts, "; ")
	case "set-cookie":
		first, attrs, hasAttrs := strings.Cut(v, ";")
		n, _, ok := strings.Cut(first, "=")
		out := Redacted
		if ok {
			out = strings.TrimSpace(n) + "=" + Redacted
		}
		if hasAttrs {
			out += ";" + attrs
		}
		return out
	}
	return Redacted
}

// RedactNamed returns h with the values of the headers named in names
// (any case) replaced by Redacted, for a header that holds a secret
// whatever its name (a webhook's api_key header, recorded as hooklab's
// capture or proxy received it from hooklab itself). h itself is not
// changed; when no header is named, h is returned as it is.
func RedactNamed(h Headers, names []string) Headers {
	if len(names) == 0 {
		return h
	}
	var out Headers
	for i, x := range h {
		if !containsFold(names, x.Name) || x.Value == Redacted {
			continue
		}
		if out == nil {
			out = append(Headers(nil), h...)
		}
		out[i].Value = Redacted
	}
	if out == nil {
		return h
	}
	return out
}

// RedactURL returns raw with the password of its user info replaced by
// Redacted, or raw itself when it has none (or does not parse).
func RedactURL(raw string) string {
	if !strings.Contains(raw, "@") {
		return raw // no user info: the common case stays cheap
	}
	u, err := url.Parse(raw)
	if err != nil {
		// Not a URL Go can read (a password with a / in it, say), as
		// error messages quote it: cut what looks like user:password@.
		if i := strings.Index(raw, "://"); i >= 0 {
			rest := raw[i+3:]
			if q := strings.IndexAny(rest, "?#"); q >= 0 {
				rest = rest[:q] // user info comes before any query
			}
			if c, at := strings.IndexByte(rest, ':'), strings.LastIndexByte(rest, '@'); c >= 0 && at > c {
				return raw[:i+3] + rest[:c+1] + Redacted + raw[i+3+at:]
			}
			return raw
		}
		return redactSchemeless(raw)
	}
	if u.User == nil {
		if u.Opaque != "" {
			return redactSchemeless(raw) // "u:pw@h:80/x" reads as scheme u, opaque "pw@h:80/x"
		}
		return raw
	}
	if _, ok := u.User.Password(); !ok {
		return raw
	}
	u.User = url.UserPassword(u.User.Username(), Redacted)
	return u.String()
}

// ShownURL returns raw as hooklab shows a URL it was given (a webhook's
// endpoint, a proxy's upstream, a Location it advises): the password of
// its user info (RedactURL) and the values of its query parameters whose
// names secret says hold secrets (RedactQuery) replaced by Redacted. What
// is sent keeps them: this is for answers, messages and logs.
func ShownURL(raw string, secret func(name string) bool) string {
	raw, _ = RedactQuery(RedactURL(raw), secret)
	return raw
}

// RedactQuery returns raw with the values of the query parameters whose
// names secret says hold secrets (api_key, access_token: IsSecretHeader's
// rule) replaced by Redacted, the query otherwise as written (its order and
// encoding kept), and whether it replaced any. A value that is empty or
// already Redacted is left as it is.
func RedactQuery(raw string, secret func(name string) bool) (string, bool) {
	return EditQuery(raw, func(name, value string) (string, bool) {
		if value == "" || value == Redacted || !secret(name) {
			return "", false
		}
		return Redacted, true
	})
}

// EditQuery calls edit with each name=value pair of raw's query in order,
// the name unescaped and the value as written, and returns raw with the
// values edit replaced (the rest of the query, and any fragment, as
// written), and whether it replaced any. A pair without = is passed over.
func EditQuery(raw string, edit func(name, value string) (string, bool)) (string, bool) {
	q := strings.IndexByte(raw, '?')
	if q < 0 {
		return raw, false // no query: the common case stays cheap
	}
	end := len(raw)
	if f := strings.IndexByte(raw[q:], '#'); f >= 0 {
		end = q + f
	}
	pairs := strings.Split(raw[q+1:end], "&")
	changed := false
	for i, p := range pairs {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			continue
		}
		name, err := url.QueryUnescape(k)
		if err != nil {
			name = k
		}
		if nv, ok := edit(name, v); ok {
			pairs[i], changed = k+"="+nv, true
		}
	}
	if !changed {
		return raw, false
	}
	return raw[:q+1] + strings.Join(pairs, "&") + raw[end:], true
}

// QuerySecret reports whether a query parameter of this name holds a
// secret, by IsSecretHeader's rule with extra: a secret's name is one rule
// for headers and query parameters alike.
func QuerySecret(extra []string) func(name string) bool {
	return func(name string) bool { return IsSecretHeader(name, extra) }
}

// redactSchemeless cuts the password of what reads as user:password@ in
// raw, a URL given without a scheme ("u:pw@host:80", "//u:pw@host"), or
// such a URL after a flag's "LISTEN=", as usage errors quote them.
func redactSchemeless(raw string) string {
	end := len(raw)
	if q := strings.IndexAny(raw, "?#"); q >= 0 {
		end = q // user info comes before any query
	}
	at := strings.LastIndexByte(raw[:end], '@')
	if at < 0 {
		return raw
	}
	start := strings.LastIndexAny(raw[:at], "= \t\"'") + 1
	for start < at && raw[start] == '/' {
		start++
	}
	c := strings.IndexByte(raw[start:at], ':')
	if c < 0 {
		return raw
	}
	return raw[:start+c+1] + Redacted + raw[at:]
}

// Redaction says what Redact replaced: the header names, lower-case and
// each once, of the request and of the response, and whether the
// request URL's password (or, for an exchange of source emit, a secret
// query value) was replaced.
type Redaction struct {
	Request  []string
	Response []string
	URL      bool
}

// Any reports whether anything was redacted.
func (r Redaction) Any() bool { return len(r.Request) > 0 || len(r.Response) > 0 || r.URL }

// Redact returns a copy of e with the values of secret headers
// (IsSecretHeader with extra) and the password of the request URL replaced
// by Redacted, and what it replaced. For an exchange of source emit (a
// delivery of hooklab's own webhook) the values of secret-named query
// parameters (RedactQuery) are replaced too: they come from the webhook's
// endpoint, whose API read redacts them. Bodies are not redacted. e itself is
// not changed; the copy shares what it did not change with e.
func (e *Exchange) Redact(extra []string) (*Exchange, Redaction) {
	c := *e
	var r Redaction
	var names []string
	c.Request.Headers, names = RedactHeaders(e.Request.Headers, extra)
	r.Request = lowerNames(names)
	if u := RedactURL(e.Request.URL); u != e.Request.URL {
		c.Request.URL, r.URL = u, true
	}
	if e.Source == SourceEmit {
		if u, ok := RedactQuery(c.Request.URL, QuerySecret(extra)); ok {
			c.Request.URL, r.URL = u, true
		}
	}
	if e.Response != nil {
		resp := *e.Response
		resp.Headers, names = RedactHeaders(e.Response.Headers, extra)
		r.Response = lowerNames(names)
		c.Response = &resp
	}
	return &c, r
}

// RedactSummary returns s with the password of its URL replaced, and for
// an exchange of source emit its secret query values too (as Redact, by
// IsSecretHeader's rule with extra).
func RedactSummary(s Summary, extra []string) Summary {
	s.URL = RedactURL(s.URL)
	if s.Source == SourceEmit {
		s.URL, _ = RedactQuery(s.URL, QuerySecret(extra))
	}
	return s
}

func lowerNames(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = strings.ToLower(n)
	}
	return out
}

// RedactedJSON is an exchange as the API gives it without ?reveal=1: the
// JSON of Exchange with secrets replaced, and on the request and the
// response a "redacted" list naming (lower-case) the headers whose values
// were replaced. The request's list holds "url" too when the URL's password
// was replaced.
type RedactedJSON struct {
	Exchange  *Exchange
	Redaction Redaction
}

// RedactJSON returns what the API writes for e without ?reveal=1.
func RedactJSON(e *Exchange, extra []string) RedactedJSON {
	c, r := e.Redact(extra)
	return RedactedJSON{Exchange: c, Redaction: r}
}

type redactedRequest struct {
	jsonRequest
	Redacted []string `json:"redacted,omitempty"`
}

type redactedResponse struct {
	jsonResponse
	Redacted []string `json:"redacted,omitempty"`
}

// redactedExchange is jsonExchange with the "redacted" lists, its fields
// in the same order (TestRedactedJSON holds them together).
type redactedExchange struct {
	Summary
	Request    redactedRequest   `json:"request"`
	Response   *redactedResponse `json:"response"`
	Signature  *Signature        `json:"signature,omitempty"`
	ReplayOf   string            `json:"replay_of,omitempty"`
	Invocation string            `json:"invocation_id,omitempty"`
	Attempt    int               `json:"attempt,omitempty"`
	Meta       map[string]any    `json:"meta,omitempty"`
}

// MarshalJSON writes the exchange's JSON with the "redacted" lists.
func (x RedactedJSON) MarshalJSON() ([]byte, error) {
	f, err := x.Exchange.jsonForm()
	if err != nil {
		return nil, err
	}
	reqNames := x.Redaction.Request
	if x.Redaction.URL {
		reqNames = append(append([]string(nil), reqNames...), "url")
	}
	j := redactedExchange{
		Summary: f.Summary, Request: redactedRequest{jsonRequest: f.Request, Redacted: reqNames},
		Signature: f.Signature, ReplayOf: f.ReplayOf, Invocation: f.Invocation, Attempt: f.Attempt, Meta: f.Meta,
	}
	if f.Response != nil {
		j.Response = &redactedResponse{jsonResponse: *f.Response, Redacted: x.Redaction.Response}
	}
	return json.Marshal(j)
}

// jsonForm is the exchange as MarshalJSON writes it, decoded back from that
// JSON (numbers kept as written), so that this stays exactly the Exchange's
// own form.
func (e *Exchange) jsonForm() (jsonExchange, error) {
	var j jsonExchange
	b, err := e.MarshalJSON()
	if err != nil {
		return j, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	err = dec.Decode(&j)
	return j, err
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
