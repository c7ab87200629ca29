package rules

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
)

// Request is what matchers and templates see of an incoming request.
//
// A Request parses its query and body lazily, at most once, and caches the
// result; it is not safe for use by several goroutines at once.
type Request struct {
	Method string
	// Path is the URL path as rules see it: for capture traffic in a named
	// bin, without the /b/{bin} prefix.
	Path string
	// EscapedPath is Path as sent, percent-encoded (url.URL.EscapedPath,
	// without /b/{bin} too), when it may differ from Path's plain encoding;
	// "" otherwise. A path pattern that does not match Path is tried on
	// it when it holds an encoded slash (%2F): a parameter then takes the
	// segment group%2Fproject whole, decoded, as group/project.
	EscapedPath string
	RawQuery    string
	Header      http.Header
	// Host is the request's Host, which net/http keeps out of Header:
	// rules see it as the header Host.
	Host string
	Body []byte
	// Encoded is the body as it came when Body holds it decoded from its
	// Content-Encoding (gzip, deflate); nil when Body is as it came.
	// Signatures are checked over the body as sent: see SignedBody.
	Encoded []byte
	// BodySize is the body's true size when Body was cut at max_body (0
	// when Body is whole, -1 when cut at an unknown size): near-miss
	// reasons then say why it is not JSON.
	BodySize int64
	// Bin is the capture bin ("default" when none was named); Proxy names
	// the proxy the request came through ("" for capture traffic).
	Bin, Proxy string
	// Secret, when set, reports whether a header holds a secret by its
	// name (Authorization, X-Api-Key...): near-miss reasons then say that
	// its value differs without showing either value.
	Secret func(header string) bool

	parsed parsedRequest
}

type parsedRequest struct {
	query     url.Values
	queryDone bool
	queryCut  bool // pairs beyond maxQueryPairs were not read

	jsonValid, jsonDone bool
	jsonValue           any
	jsonValueDone       bool

	form     url.Values
	formDone bool
	formCut  bool // pairs beyond maxQueryPairs were not read
}

// RequestHeader is r's header as rules see it, and as the exchange
// records it: with Transfer-Encoding, which net/http keeps out of
// r.Header (in r.TransferEncoding). It is r.Header itself when that has
// nothing to add.
func RequestHeader(r *http.Request) http.Header {
	if len(r.TransferEncoding) == 0 || r.Header.Get("Transfer-Encoding") != "" {
		return r.Header
	}
	h := r.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h["Transfer-Encoding"] = []string{strings.Join(r.TransferEncoding, ", ")}
	return h
}

// EscapedPath is u's path as sent, for Request.EscapedPath: "" when it is
// the decoded path's plain encoding (u.RawPath is empty), which costs
// nothing to find.
func EscapedPath(u *url.URL) string {
	if u.RawPath == "" {
		return ""
	}
	return u.EscapedPath()
}

func (r *Request) query() url.Values {
	if !r.parsed.queryDone {
		r.parsed.queryDone = true
		r.parsed.query, r.parsed.queryCut = parseQuery(r.RawQuery)
	}
	return r.parsed.query
}

// parseQuery reads a query or URL-encoded form as url.ParseQuery does,
// but keeps what it refuses: a pair holding a semicolon, whose value
// keeps it (a=1;b=2 is a: "1;b=2"), and a % that starts no escape
// (discount=50%), kept as it came, as other servers read them. Nil when
// s holds no pair. It reads the first maxQueryPairs pairs only; cut says
// that more were left unread.
func parseQuery(s string) (v url.Values, cut bool) {
	for n := 0; s != ""; {
		var pair string
		pair, s, _ = strings.Cut(s, "&")
		if pair == "" {
			continue
		}
		if n++; n > maxQueryPairs {
			return v, true
		}
		k, val, _ := strings.Cut(pair, "=")
		if v == nil {
			v = url.Values{}
		}
		k = looseUnescape(k)
		v[k] = append(v[k], looseUnescape(val))
	}
	return v, false
}

// unreadNote says, for a near-miss reason of a field found absent, that
// the query or form held more pairs than were read; "" when none were
// left unread.
func unreadNote(what string, cut bool) string {
	if !cut {
		return ""
	}
	return fmt.Sprintf(" (only the first %d pairs of the %s were read; it holds more)", maxQueryPairs, what)
}

// maxQueryPairs bounds the pairs parseQuery reads, as url.ParseQuery
// bounds them (GODEBUG urlmaxqueryparams): a form body of a few MiB of
// "a&a&a" made millions of values from one request.
const maxQueryPairs = 10000

// looseUnescape is url.QueryUnescape, with a % that starts no escape
// kept as it is.
func looseUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			h, _ := strconv.ParseUint(s[i+1:i+3], 16, 8)
			b = append(b, byte(h))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// isJSON reports whether the body is valid JSON (checked once).
func (r *Request) isJSON() bool {
	if !r.parsed.jsonDone {
		r.parsed.jsonDone = true
		b := bytes.TrimSpace(r.Body)
		// A body cut at max_body is not read as JSON, even when the part
		// kept parses. json.Valid, unlike gjson's validator, does not
		// recurse (ten million '[' overflowed the stack and killed the
		// process), and it refuses nesting deeper than 10,000.
		r.parsed.jsonValid = r.BodySize == 0 && len(b) > 0 && json.Valid(b)
	}
	return r.parsed.jsonValid
}

// UseDecoded makes dec, the body decoded from its Content-Encoding, the
// body rules and templates read, cut at limit; the body as it came stays
// for signatures (see SignedBody).
func (r *Request) UseDecoded(dec []byte, limit int64) {
	if bytes.Equal(dec, r.Body) {
		return
	}
	r.Encoded, r.Body = r.Body, dec
	if int64(len(dec)) > limit {
		r.Body, r.BodySize = dec[:limit], -1
	}
}

// SignedBody is the body as it came, which a sender signs.
func (r *Request) SignedBody() []byte {
	if r.Encoded != nil {
		return r.Encoded
	}
	return r.Body
}

// cutNote says, for a near-miss reason, that the body was cut at max_body
// (only what came before the cut was read); "" when it is whole.
func (r *Request) cutNote() string {
	switch {
	case r.BodySize < 0:
		return fmt.Sprintf(" (the body was cut at %d bytes by max_body)", len(r.Body))
	case r.BodySize > int64(len(r.Body)):
		return fmt.Sprintf(" (the body was cut at %d of %d bytes by max_body)", len(r.Body), r.BodySize)
	}
	return ""
}

// notJSON is the near-miss reason of a body that is not JSON.
func (r *Request) notJSON() string {
	if ce := strings.TrimSpace(r.Header.Get("Content-Encoding")); ce != "" && r.Encoded == nil && !strings.EqualFold(ce, "identity") && len(r.Body) > 0 {
		switch strings.ToLower(ce) {
		case "gzip", "x-gzip", "deflate", "br":
			return fmt.Sprintf("body is in Content-Encoding %s and could not be decoded%s, so it is not read as JSON", ce, r.cutNote())
		}
		return fmt.Sprintf("body is in Content-Encoding %s, which rules do not decode (gzip, deflate and br they do), so it is not read as JSON", ce)
	}
	if r.BodySize < 0 {
		return fmt.Sprintf("body was cut at %d bytes by max_body, so it is not read as JSON", len(r.Body))
	}
	if r.BodySize > int64(len(r.Body)) {
		return fmt.Sprintf("body was cut at %d of %d bytes by max_body, so it is not read as JSON", len(r.Body), r.BodySize)
	}
	return "body is not JSON"
}

// header returns the values of the canonical header name, Host included.
func (r *Request) header(name string) ([]string, bool) {
	if name == "Host" && r.Host != "" {
		return []string{r.Host}, true
	}
	vals, ok := r.Header[name]
	return vals, ok
}

// jsonGet returns the gjson result at path in the body.
func (r *Request) jsonGet(path string) gjson.Result {
	if !r.isJSON() {
		return gjson.Result{}
	}
	return gjson.GetBytes(r.Body, path)
}

// jsonBody returns the body decoded as JSON (objects as map[string]any,
// numbers as PlainNumbers makes them), or nil.
func (r *Request) jsonBody() any {
	if !r.parsed.jsonValueDone {
		r.parsed.jsonValueDone = true
		if r.isJSON() {
			dec := json.NewDecoder(bytes.NewReader(r.Body))
			dec.UseNumber()
			var v any
			if dec.Decode(&v) == nil {
				r.parsed.jsonValue = PlainNumbers(v)
			}
		}
	}
	return r.parsed.jsonValue
}

// PlainNumbers replaces each json.Number in v (decoded with UseNumber),
// in place, with an int when it is an integer that fits (an int, not an
// int64: Liquid's ranges, (1..n), and loop limits take only ints), else a
// float64; an integer too large for an int64 stays a json.Number, so that
// templates write it digit for digit (a float64 would round it); Liquid
// compares and computes with such a number as text.
func PlainNumbers(v any) any {
	switch v := v.(type) {
	case json.Number:
		if i, err := v.Int64(); err == nil {
			if int64(int(i)) == i {
				return int(i)
			}
			return i
		}
		if !strings.ContainsAny(string(v), ".eE") {
			return v
		}
		f, _ := v.Float64()
		return f
	case map[string]any:
		for k, x := range v {
			v[k] = PlainNumbers(x)
		}
	case []any:
		for i, x := range v {
			v[i] = PlainNumbers(x)
		}
	}
	return v
}

// form returns the body's form fields: URL-encoded bodies, multipart form
// values (files are skipped), and bodies without a Content-Type that are not
// JSON.
func (r *Request) form() url.Values {
	if r.parsed.formDone {
		return r.parsed.form
	}
	r.parsed.formDone = true
	ct := r.Header.Get("Content-Type")
	mt, params, _ := mime.ParseMediaType(ct)
	switch {
	case mt == "application/x-www-form-urlencoded", ct == "" && !r.isJSON():
		r.parsed.form, r.parsed.formCut = parseQuery(string(r.Body))
	case mt == "multipart/form-data" && params["boundary"] != "":
		r.parsed.form = multipartValues(r.Body, params["boundary"])
	}
	return r.parsed.form
}

// multipartValues returns the values of a multipart/form-data body's
// fields (files skipped), as far as they are whole: a body cut at max_body
// (an upload larger than it, its fields first) keeps the fields before the
// cut, where reading the form whole gave none.
func multipartValues(body []byte, boundary string) url.Values {
	var out url.Values
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	for {
		p, err := mr.NextPart()
		if err != nil {
			return out
		}
		name := p.FormName()
		if name == "" || p.FileName() != "" {
			continue
		}
		v, err := io.ReadAll(p)
		if err != nil {
			return out // cut inside this value
		}
		if out == nil {
			out = url.Values{}
		}
		out.Add(name, string(v))
	}
}

// mockRoots are the variables of a mock's templates: the request's (see
// RequestVars), and bin, exchange, now and uuid, which the caller adds.
func mockRoots() []string {
	return []string{"request", "bin", "exchange", "now", "uuid"}
}

// requestFields are the fields of request in the template context that
// RequestVars makes.
func requestFields() []string {
	return []string{"method", "path", "params", "query", "headers", "body", "json", "form"}
}

// RequestVars returns the template context for r: request.method, .path,
// .params (the path parameters), .query, .headers (lower-case names; any case
// works in lookups), .body (text), .json (the parsed JSON body, or nil) and
// .form. A query, header or form field with one value is a string; with
// several, a list of strings. Callers add bin, exchange and now.
func RequestVars(r *Request, params map[string]string) map[string]any {
	p := make(map[string]any, len(params))
	for k, v := range params {
		p[k] = v
	}
	hdr := make(Headers, len(r.Header)+1)
	for k, v := range r.Header {
		hdr[strings.ToLower(k)] = oneOrMany(v)
	}
	if r.Host != "" {
		hdr["host"] = r.Host
	}
	return map[string]any{
		"request": map[string]any{
			"method":  r.Method,
			"path":    r.Path,
			"params":  p,
			"query":   valuesMap(r.query()),
			"headers": hdr,
			"body":    string(r.Body),
			"json":    r.jsonBody(),
			"form":    valuesMap(r.form()),
		},
	}
}

func valuesMap(v url.Values) map[string]any {
	m := make(map[string]any, len(v))
	for k, vs := range v {
		m[k] = oneOrMany(vs)
	}
	return m
}

func oneOrMany(vs []string) any {
	if len(vs) == 1 {
		return vs[0]
	}
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = v
	}
	return out
}
