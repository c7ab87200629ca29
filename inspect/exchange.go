// Package inspect owns the record of traffic: the Exchange model and its
// JSON form, the Store interface and its SQLite implementation, retention,
// text search, the live Hub that fans new exchanges out to subscribers, and
// the JSON query API. It imports nothing else of hooklab's.
package inspect

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/andybalholm/brotli"
)

// Sentinel errors shared by every package. Check them with errors.Is.
var (
	// ErrNotFound means the thing asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrInvalid means the caller's input was malformed.
	ErrInvalid = errors.New("invalid input")
	// ErrStoreFull means the store could not write (disk full, a corrupt
	// database, or closed).
	ErrStoreFull = errors.New("store unavailable")
	// ErrDamaged means stored data cannot be read back (a journal record
	// removed or changed by hand, a damaged disk).
	ErrDamaged = errors.New("stored data damaged")
	// ErrClosed means the store or hub has been closed.
	ErrClosed = errors.New("closed")
	// ErrTooLarge means a request body was over a limit.
	ErrTooLarge = errors.New("too large")
	// ErrConflict means the request does not fit the thing's current state
	// (redelivering an invocation that is still queued).
	ErrConflict = errors.New("conflict")
	// ErrUndecodable means a stored body cannot be read in the content
	// coding its headers name (or decodes past a limit).
	ErrUndecodable = errors.New("cannot decode")
	// ErrOwnAPI means a request was not sent because it would reach
	// hooklab's own UI/API listener (which it would drive, or loop through):
	// "not sent: 127.0.0.1:4040 is hooklab's own API".
	ErrOwnAPI = errors.New("hooklab's own API")
)

// Source says which part of hooklab produced an exchange.
type Source string

// The sources of exchanges.
const (
	SourceCapture Source = "capture"
	SourceProxy   Source = "proxy"
	SourceEmit    Source = "emit"
	SourceReplay  Source = "replay"
)

// Header is one header line, kept with its name as received.
type Header struct {
	Name  string
	Value string
}

// Headers is an ordered list of header lines. It marshals as a JSON list of
// [name, value] pairs.
type Headers []Header

// MarshalJSON encodes h as [["Name","value"],...].
func (h Headers) MarshalJSON() ([]byte, error) {
	pairs := make([][2]string, len(h))
	for i, x := range h {
		pairs[i] = [2]string{x.Name, x.Value}
	}
	return json.Marshal(pairs)
}

// UnmarshalJSON decodes the [["Name","value"],...] form.
func (h *Headers) UnmarshalJSON(b []byte) error {
	var pairs [][2]string
	if err := json.Unmarshal(b, &pairs); err != nil {
		return err
	}
	out := make(Headers, len(pairs))
	for i, p := range pairs {
		out[i] = Header{Name: p[0], Value: p[1]}
	}
	*h = out
	return nil
}

// Get returns the first value of the header named name, compared without
// regard to case, or "".
func (h Headers) Get(name string) string {
	for _, x := range h {
		if strings.EqualFold(x.Name, name) {
			return x.Value
		}
	}
	return ""
}

// HTTP converts h to an http.Header.
func (h Headers) HTTP() http.Header {
	out := make(http.Header, len(h))
	for _, x := range h {
		out[http.CanonicalHeaderKey(x.Name)] = append(out[http.CanonicalHeaderKey(x.Name)], x.Value)
	}
	return out
}

// RequestOf copies what is known of r before its body is read: method,
// full URL with the raw query, proto, Host and headers (Host first, and
// the Transfer-Encoding net/http takes out of them), remote address and
// TLS. Capture and the proxies record requests with it.
//
// The URL is the target as sent when it came in absolute form
// (http://host/path, as to a proxy; without user info, which is never
// recorded), else the scheme, the Host and the
// target. With no Host (HTTP/1.0) or one no URL can hold ("h:abc"), the
// URL names the address the request came in on, so that it still reads
// as a URL and a command made from it (/curl) goes back there, not to
// whatever the target's first segment names; the Host header keeps what
// was sent.
func RequestOf(r *http.Request) Request {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	uri := r.RequestURI
	var full string
	switch {
	case hasHTTPScheme(uri):
		if u := withoutUserinfo(uri); authority(u) != "" {
			full = u
		} else { // "http:///x": net/http took the Host header's host
			uri = r.URL.RequestURI()
		}
	case uri == "" || !strings.HasPrefix(uri, "/"):
		uri = r.URL.RequestURI()
	}
	if full == "" {
		host := r.Host
		if !urlHost(host) {
			if a, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr); ok {
				host = a.String()
			}
		}
		full = scheme + "://" + host + uri
	}
	var hdr Headers
	if r.Host != "" || r.ProtoAtLeast(1, 1) { // HTTP/1.1 has one, if empty
		hdr = append(make(Headers, 0, len(r.Header)+2), Header{Name: "Host", Value: r.Host})
	}
	hdr = appendFromHTTP(hdr, r.Header, 1) // and Transfer-Encoding
	if len(r.TransferEncoding) > 0 {
		hdr = append(hdr, Header{Name: "Transfer-Encoding", Value: strings.Join(r.TransferEncoding, ", ")})
	}
	return Request{
		Method:     r.Method,
		URL:        full,
		Proto:      r.Proto,
		Host:       r.Host,
		Headers:    hdr,
		RemoteAddr: r.RemoteAddr,
		TLS:        r.TLS != nil,
	}
}

// hasHTTPScheme reports whether target is in absolute form.
func hasHTTPScheme(target string) bool {
	for _, p := range []string{"http://", "https://"} {
		if len(target) >= len(p) && strings.EqualFold(target[:len(p)], p) {
			return true
		}
	}
	return false
}

// authority returns the authority of the absolute URL u (what follows
// "://" up to the path, query or fragment).
func authority(u string) string {
	rest := u[strings.Index(u, "://")+3:]
	if j := strings.IndexAny(rest, "/?#"); j >= 0 {
		rest = rest[:j]
	}
	return rest
}

// withoutUserinfo returns the absolute URL u without the user:password@ of
// its authority, which is never recorded.
func withoutUserinfo(u string) string {
	i := strings.Index(u, "://") + 3
	end := len(u)
	if j := strings.IndexAny(u[i:], "/?#"); j >= 0 {
		end = i + j
	}
	if at := strings.LastIndexByte(u[i:end], '@'); at >= 0 {
		return u[:i] + u[i+at+1:]
	}
	return u
}

// urlHost reports whether host can stand as a URL's authority: a name or
// address with an optional port.
func urlHost(host string) bool {
	if host == "" {
		return false
	}
	name := host
	if i := strings.LastIndexByte(host, ':'); i >= 0 {
		name = host[:i]
		for _, c := range []byte(host[i+1:]) {
			if c < '0' || c > '9' {
				name = "" // not a port: ask url.Parse
				break
			}
		}
	}
	simple := name != ""
	for i := 0; simple && i < len(name); i++ {
		c := name[i]
		simple = 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-'
	}
	if simple {
		return true
	}
	u, err := url.Parse("http://" + host + "/")
	return err == nil && u.Host == host && u.User == nil
}

// FromHTTP converts an http.Header to Headers, sorted by name with each
// name's values in their received order (net/http does not keep the order
// between different names).
func FromHTTP(h http.Header) Headers {
	if out := appendFromHTTP(nil, h, 0); out != nil {
		return out
	}
	return Headers{} // none: a list, never null
}

// appendFromHTTP appends FromHTTP(h) to dst, with room for more headers
// after them.
func appendFromHTTP(dst Headers, h http.Header, more int) Headers {
	var buf [24]string // a request's names, without an allocation
	names := buf[:0]
	n := 0
	for k, v := range h {
		names = append(names, k)
		n += len(v)
	}
	slices.Sort(names)
	dst = slices.Grow(dst, n+more)
	for _, k := range names {
		for _, v := range h[k] {
			dst = append(dst, Header{Name: k, Value: v})
		}
	}
	return dst
}

// Request is the request half of an exchange.
type Request struct {
	Method     string  `json:"method"`
	URL        string  `json:"url"`
	Proto      string  `json:"proto"`
	Host       string  `json:"host"`
	Headers    Headers `json:"headers"`
	Body       []byte  `json:"-"`
	Size       int64   `json:"size"`
	Truncated  bool    `json:"truncated"`
	RemoteAddr string  `json:"remote_addr"`
	TLS        bool    `json:"tls"`
}

// Response is the response half of an exchange.
type Response struct {
	Status    int     `json:"status"`
	Headers   Headers `json:"headers"`
	Body      []byte  `json:"-"`
	Size      int64   `json:"size"`
	Truncated bool    `json:"truncated"`
}

// Signature is the verdict of an incoming signature check.
type Signature struct {
	Rule    string `json:"rule,omitempty"`
	Scheme  string `json:"scheme"`
	Verdict string `json:"verdict"` // "valid" or "invalid"
	Reason  string `json:"reason,omitempty"`
}

// Exchange is one request and, where there was one, its response.
type Exchange struct {
	ID        string        `json:"id"`
	Bin       string        `json:"bin"`
	Source    Source        `json:"source"`
	Time      time.Time     `json:"time"`
	Duration  time.Duration `json:"-"`
	Request   Request       `json:"request"`
	Response  *Response     `json:"response"`
	Error     string        `json:"error,omitempty"`
	Rule      string        `json:"rule,omitempty"`
	Signature *Signature    `json:"signature,omitempty"`
	// Links to related records.
	ReplayOf   string `json:"replay_of,omitempty"`
	Invocation string `json:"invocation_id,omitempty"`
	Attempt    int    `json:"attempt,omitempty"`
	// Meta holds extra facts a source wants kept (timings, tunnel bytes).
	Meta map[string]any `json:"meta,omitempty"`
}

// BodyReadError begins an exchange's Error when its request body could
// not be read whole (the client stalled or went away mid-body): the body
// kept is what arrived.
const BodyReadError = "reading request body after "

// RequestIncomplete reports whether the request body is only part of what
// the client meant to send (see BodyReadError).
func (e *Exchange) RequestIncomplete() bool { return strings.HasPrefix(e.Error, BodyReadError) }

// AnswerLeftError and AnswerStoppedError begin a proxied exchange's Error
// when the client went away mid-answer, or hooklab's shutdown cut it off:
// the response body kept is what passed, and the upstream's answer went
// on past it.
const (
	AnswerLeftError    = "client went away after "
	AnswerStoppedError = "hooklab stopped after "
)

// ResponseCutOff reports whether the response body is only the part of
// the answer that passed before hooklab's side cut it off (see
// AnswerLeftError).
func (e *Exchange) ResponseCutOff() bool {
	return strings.HasPrefix(e.Error, AnswerLeftError) || strings.HasPrefix(e.Error, AnswerStoppedError)
}

// Status returns the response status, or 0 when there was no response.
func (e *Exchange) Status() int {
	if e.Response == nil {
		return 0
	}
	return e.Response.Status
}

// StoredBytes is the size the exchange occupies, for retention by bytes.
func (e *Exchange) StoredBytes() int64 {
	n := int64(len(e.Request.Body)) + 512
	for _, h := range e.Request.Headers {
		n += int64(len(h.Name) + len(h.Value))
	}
	if e.Response != nil {
		n += int64(len(e.Response.Body))
		for _, h := range e.Response.Headers {
			n += int64(len(h.Name) + len(h.Value))
		}
	}
	return n
}

// Summary is the short form of an exchange used in lists and the stream.
type Summary struct {
	ID           string  `json:"id"`
	Bin          string  `json:"bin"`
	Source       Source  `json:"source"`
	Time         string  `json:"time"`
	Method       string  `json:"method"`
	URL          string  `json:"url"`
	Path         string  `json:"path"`
	Status       int     `json:"status"`
	DurationMS   float64 `json:"duration_ms"`
	RequestSize  int64   `json:"request_size"`
	ResponseSize int64   `json:"response_size"`
	Truncated    bool    `json:"truncated"`
	Rule         string  `json:"rule,omitempty"`
	Signature    string  `json:"signature,omitempty"`
	Error        string  `json:"error,omitempty"`

	// seq is the row's place in the SQLite store, set by its List: a
	// cursor continuing after this row. ListMatching pages with it.
	seq int64
}

// truncated reports whether either body was cut at the size limit.
func (e *Exchange) truncated() bool {
	return e.Request.Truncated || e.Response != nil && e.Response.Truncated
}

// Summarize returns the summary of e.
func (e *Exchange) Summarize() Summary {
	s := Summary{
		ID:          e.ID,
		Bin:         e.Bin,
		Source:      e.Source,
		Time:        e.Time.UTC().Format(time.RFC3339Nano),
		Method:      e.Request.Method,
		URL:         RedactURL(e.Request.URL), // summaries go to the stream and lists
		Path:        pathOf(e.Request.URL),
		Status:      e.Status(),
		DurationMS:  float64(e.Duration.Microseconds()) / 1000,
		RequestSize: e.Request.Size,
		Truncated:   e.truncated(),
		Rule:        e.Rule,
		Error:       e.Error,
	}
	if e.Response != nil {
		s.ResponseSize = e.Response.Size
	}
	if e.Signature != nil {
		s.Signature = e.Signature.Verdict
	}
	return s
}

// body is the JSON form of a body: text when valid UTF-8, else base64.
type body struct {
	Body     string `json:"body"`
	Encoding string `json:"encoding,omitempty"`
}

func encodeBody(b []byte) body {
	if utf8.Valid(b) {
		return body{Body: string(b)}
	}
	return body{Body: base64.StdEncoding.EncodeToString(b), Encoding: "base64"}
}

func decodeBody(b body) ([]byte, error) {
	switch b.Encoding {
	case "":
		return []byte(b.Body), nil
	case "base64":
		return base64.StdEncoding.DecodeString(b.Body)
	default:
		return nil, fmt.Errorf("%w: unknown body encoding %q", ErrInvalid, b.Encoding)
	}
}

type jsonRequest struct {
	Request
	body
}

type jsonResponse struct {
	Response
	body
}

type jsonExchange struct {
	Summary
	Request    jsonRequest    `json:"request"`
	Response   *jsonResponse  `json:"response"`
	Signature  *Signature     `json:"signature,omitempty"` // shadows Summary.Signature
	ReplayOf   string         `json:"replay_of,omitempty"`
	Invocation string         `json:"invocation_id,omitempty"`
	Attempt    int            `json:"attempt,omitempty"`
	Meta       map[string]any `json:"meta,omitempty"`
}

// MarshalJSON encodes the whole exchange: the summary fields, then request
// and response with their bodies as text or base64.
func (e Exchange) MarshalJSON() ([]byte, error) {
	j := jsonExchange{
		Summary:   e.Summarize(),
		Request:   jsonRequest{Request: e.Request, body: encodeBody(e.Request.Body)},
		Signature: e.Signature, ReplayOf: e.ReplayOf, Invocation: e.Invocation,
		Attempt: e.Attempt, Meta: e.Meta,
	}
	// The whole exchange is shown as it is (the API redacts it first
	// unless asked to reveal), so its summary URL is the request's.
	j.Summary.URL = e.Request.URL
	if e.Response != nil {
		j.Response = &jsonResponse{Response: *e.Response, body: encodeBody(e.Response.Body)}
	}
	return json.Marshal(j)
}

// UnmarshalJSON decodes the form written by MarshalJSON.
func (e *Exchange) UnmarshalJSON(b []byte) error {
	var j jsonExchange
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339Nano, j.Summary.Time)
	if err != nil && j.Summary.Time != "" {
		return fmt.Errorf("time: %w", err)
	}
	*e = Exchange{
		ID: j.ID, Bin: j.Bin, Source: j.Source, Time: t,
		Duration: time.Duration(math.Round(j.DurationMS*1000)) * time.Microsecond,
		Request:  j.Request.Request, Error: j.Summary.Error, Rule: j.Summary.Rule,
		Signature: j.Signature, ReplayOf: j.ReplayOf, Invocation: j.Invocation,
		Attempt: j.Attempt, Meta: j.Meta,
	}
	if e.Request.Body, err = decodeBody(j.Request.body); err != nil {
		return fmt.Errorf("request body: %w", err)
	}
	if j.Response != nil {
		r := j.Response.Response
		if r.Body, err = decodeBody(j.Response.body); err != nil {
			return fmt.Errorf("response body: %w", err)
		}
		e.Response = &r
	}
	return nil
}

// pathOf returns the path of a URL string, or the string itself when it does
// not parse.
func pathOf(raw string) string {
	if p, ok := plainPath(raw); ok {
		return p
	}
	return parsedPath(raw)
}

// parsedPath is pathOf by url.Parse, for any URL string.
func parsedPath(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	if u.Opaque != "" {
		return u.Opaque
	}
	return u.EscapedPath()
}

// plainPath is pathOf's answer for the common URL without parsing it
// whole (each capture asks twice, for its row and its summary; url.Parse
// was about 1.5% of a capture's CPU): scheme://host[:port]/path[?query]
// with a plain host and a path that url.Parse and EscapedPath would give
// back as it is. ok is false for anything else, which pathOf parses.
func plainPath(raw string) (path string, ok bool) {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x21 || c >= 0x7f || c == '#' {
			return "", false // url.Parse refuses control bytes; a fragment is parsed
		}
	}
	scheme, rest, found := strings.Cut(raw, "://")
	if !found || scheme == "" || !isLetter(scheme[0]) {
		return "", false
	}
	for i := 1; i < len(scheme); i++ {
		if c := scheme[i]; !isLetter(c) && !isDigit(c) && c != '+' && c != '-' && c != '.' {
			return "", false
		}
	}
	slash := strings.IndexByte(rest, '/')
	if slash <= 0 {
		return "", false
	}
	host, port, hasPort := strings.Cut(rest[:slash], ":")
	if host == "" || (hasPort && port == "") {
		return "", false
	}
	for i := 0; i < len(host); i++ {
		if c := host[i]; !isLetter(c) && !isDigit(c) && c != '.' && c != '-' {
			return "", false
		}
	}
	for i := 0; i < len(port); i++ {
		if !isDigit(port[i]) {
			return "", false
		}
	}
	path, _, _ = strings.Cut(rest[slash:], "?")
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case isLetter(c) || isDigit(c) || strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0:
		case c == '%' && i+2 < len(path) && isHex(path[i+1]) && isHex(path[i+2]):
			i += 2
		default:
			return "", false
		}
	}
	return path, true
}

func isLetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isDigit(c byte) bool  { return '0' <= c && c <= '9' }
func isHex(c byte) bool    { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

// MaxDecodedView bounds how much of a gzip, deflate or br body is decoded to
// show it or look into it: the UI's viewers, json: terms, a HAR export. A
// few hundred KB of gzip decode to hundreds of MB.
const MaxDecodedView = 32 << 20

// DecodeContent returns body decoded from the content coding ce names
// (the last of a list): gzip, deflate (zlib-wrapped as HTTP says, else
// raw, as some servers send it) or br, at most limit bytes of it. err is nil
// only when body is wholly in that coding; for "" and identity it is body
// itself, and for another coding (zstd) an error wrapping
// errors.ErrUnsupported.
func DecodeContent(ce string, body []byte, limit int64) ([]byte, error) {
	ce = lastCoding(ce)
	read := func(r io.Reader) ([]byte, error) { return io.ReadAll(io.LimitReader(r, limit)) }
	switch ce {
	case "", "identity":
		return body, nil
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		return read(zr)
	case "deflate":
		if zr, err := zlib.NewReader(bytes.NewReader(body)); err == nil {
			if out, err := read(zr); err == nil {
				return out, nil
			}
		}
		return read(flate.NewReader(bytes.NewReader(body)))
	case "br":
		return read(brotli.NewReader(bytes.NewReader(body)))
	}
	return nil, fmt.Errorf("content coding %q: %w", ce, errors.ErrUnsupported)
}

// lastCoding is the content coding a Content-Encoding value ce applied
// last (the last of its list), lower case: the one to undo first.
func lastCoding(ce string) string {
	if i := strings.LastIndexByte(ce, ','); i >= 0 {
		ce = ce[i+1:]
	}
	return strings.ToLower(strings.TrimSpace(ce))
}

// IdentityCoding reports whether DecodeContent leaves a body of the
// Content-Encoding ce as it is (none, or identity last in the list).
func IdentityCoding(ce string) bool {
	c := lastCoding(ce)
	return c == "" || c == "identity"
}

// Nanos is t in Unix nanoseconds for a comparison in SQL, clamped to what
// an int64 holds (years 1678 to 2262): UnixNano wraps around outside that
// range, so that since=2300-01-01 would have read as a time in 1816 and
// selected everything.
func Nanos(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, math.MinInt64)):
		return math.MinInt64
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// InNanosRange reports whether t is a time an exchange can be stored with
// (Unix nanoseconds in an int64: years 1678 to 2262).
func InNanosRange(t time.Time) bool {
	return !t.Before(time.Unix(0, math.MinInt64)) && !t.After(time.Unix(0, math.MaxInt64))
}
