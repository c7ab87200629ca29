package har

import (
	"bytes"
	"cmp"
	"encoding/base64"
	"fmt"
	"io"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/net/http/httpguts"

	"github.com/hooklab/hooklab/inspect"
)

// Options control writing exchanges as HAR.
type Options struct {
	// KeepSecrets writes secret header values as they are. By default the
	// values of Authorization, Proxy-Authorization, Cookie, Set-Cookie,
	// API-key-looking headers (see IsSecret) and SecretHeaders, and the
	// password of a URL, are replaced by Redacted, and so are the values of
	// secret-named query parameters (?api_key=) of a delivery of
	// hooklab's own webhook (source emit).
	KeepSecrets bool
	// SecretHeaders names more headers to redact (any case), such as the
	// API-key headers a config names.
	SecretHeaders []string
	// Creator names the writer; "hooklab" when empty.
	Creator Creator
}

func (o Options) creator() Creator {
	if o.Creator.Name == "" {
		return Creator{Name: "hooklab", Version: "1"}
	}
	return o.Creator
}

// New returns a HAR file with one entry per exchange, in the order given.
func New(exs []*inspect.Exchange, opts Options) *File {
	f := &File{Log: Log{Version: Version, Creator: opts.creator(), Entries: make([]Entry, 0, len(exs))}}
	for _, ex := range exs {
		f.Log.Entries = append(f.Log.Entries, NewEntry(ex, opts))
	}
	return f
}

// NewEntry returns the HAR entry of ex. Bodies that are valid UTF-8 are
// written as text; others as base64 (content.encoding for responses, the
// "_encoding" extension for requests, which HAR 1.2 gives no field for).
// A response body recorded in a Content-Encoding that decodes (gzip,
// deflate; not cut short; to at most inspect.MaxDecodedView: an export of
// a few gzip bombs took gigabytes) is written decoded, as HAR 1.2 has it,
// with content.size its decoded size and content.compression the bytes saved;
// the recorded bytes go in the extension, for Entry.Exchange. Timings
// split the duration at the time to first byte when it is known
// (meta.ttfb_ms): wait up to it, receive after.
func NewEntry(ex *inspect.Exchange, opts Options) Entry {
	ext := &Extension{
		ID: ex.ID, Bin: ex.Bin, Source: ex.Source, DurationNS: int64(ex.Duration),
		Error: ex.Error, Rule: ex.Rule, Signature: ex.Signature, ReplayOf: ex.ReplayOf,
		Invocation: ex.Invocation, Attempt: ex.Attempt, Meta: ex.Meta,
		Host: ex.Request.Host, RemoteAddr: ex.Request.RemoteAddr, TLS: ex.Request.TLS,
		RequestSize: ex.Request.Size, RequestTruncated: ex.Request.Truncated,
		NoResponse: ex.Response == nil,
	}
	if !ex.Time.IsZero() {
		ext.Time = ex.Time.UTC().Format(time.RFC3339Nano)
	}
	ms := float64(ex.Duration.Microseconds()) / 1000
	proto := ex.Request.Proto
	if proto == "" {
		proto = "HTTP/1.1"
	}
	redact := func(h inspect.Headers) inspect.Headers {
		if opts.KeepSecrets {
			return h
		}
		out, names := RedactHeaders(h, opts.SecretHeaders)
		for _, n := range names {
			if !containsFold(ext.Redacted, n) {
				ext.Redacted = append(ext.Redacted, n)
			}
		}
		return out
	}
	reqHeaders := redact(ex.Request.Headers)
	rawURL := ex.Request.URL
	if !opts.KeepSecrets {
		rawURL = redactURL(rawURL)
		if ex.Source == inspect.SourceEmit {
			// A delivery's secret query values come from the webhook's
			// endpoint, which the API shows redacted (as Exchange.Redact).
			rawURL, _ = inspect.RedactQuery(rawURL, inspect.QuerySecret(opts.SecretHeaders))
		}
	}
	if !utf8.ValidString(rawURL) {
		ext.URLBase64 = base64.StdEncoding.EncodeToString([]byte(rawURL))
		rawURL = strings.ToValidUTF8(rawURL, "\uFFFD")
	}
	e := Entry{
		StartedDateTime: FormatTime(ex.Time),
		Time:            ms,
		Request: Request{
			Method:      ex.Request.Method,
			URL:         rawURL,
			HTTPVersion: proto,
			Cookies:     requestCookies(reqHeaders),
			Headers:     nameValues(reqHeaders),
			QueryString: queryString(rawURL),
			HeadersSize: -1,
			BodySize:    ex.Request.Size,
		},
		Cache:   Cache{},
		Timings: timings(ex, ms),
		Hooklab: ext,
	}
	if len(ex.Request.Body) > 0 || ex.Request.Size > 0 {
		pd := &PostData{MimeType: ex.Request.Headers.Get("Content-Type")}
		if utf8.Valid(ex.Request.Body) {
			pd.Text = string(ex.Request.Body)
		} else {
			pd.Text, pd.XEncoding = base64.StdEncoding.EncodeToString(ex.Request.Body), "base64"
		}
		e.Request.PostData = pd
	}
	if ex.Response == nil {
		msg := ex.Error
		if msg == "" {
			msg = "no response"
		}
		e.Response = Response{
			Cookies: []Cookie{}, Headers: []NameValue{}, HeadersSize: -1, BodySize: -1,
			Content: Content{MimeType: "x-unknown"}, Error: msg,
		}
		return e
	}
	r := ex.Response
	ext.ResponseSize, ext.ResponseTruncated = r.Size, r.Truncated
	respHeaders := redact(r.Headers)
	mime := r.Headers.Get("Content-Type")
	if mime == "" {
		mime = "x-unknown"
	}
	e.Response = Response{
		Status:      r.Status,
		StatusText:  http.StatusText(r.Status),
		HTTPVersion: proto,
		Cookies:     responseCookies(respHeaders),
		Headers:     nameValues(respHeaders),
		Content:     Content{Size: r.Size, MimeType: mime},
		RedirectURL: r.Headers.Get("Location"),
		HeadersSize: -1,
		BodySize:    r.Size,
	}
	body := r.Body
	// HAR's content.text is the decoded body: one recorded in its
	// Content-Encoding goes decoded when it decodes whole, its recorded
	// bytes kept in the extension for a hooklab import.
	if ce := r.Headers.Get("Content-Encoding"); ce != "" && !r.Truncated && len(body) > 0 {
		if dec, err := inspect.DecodeContent(ce, body, inspect.MaxDecodedView+1); err == nil && !bytes.Equal(dec, body) && len(dec) <= inspect.MaxDecodedView {
			e.Response.Content.Size = int64(len(dec))
			e.Response.Content.Compression = int64(len(dec) - len(body))
			ext.ResponseEncoded = base64.StdEncoding.EncodeToString(body)
			body = dec
		}
	}
	if len(body) > 0 {
		if utf8.Valid(body) {
			e.Response.Content.Text = string(body)
		} else {
			e.Response.Content.Text, e.Response.Content.Encoding = base64.StdEncoding.EncodeToString(body), "base64"
		}
	}
	return e
}

// maxDecoded caps the decoding of _hooklab.response_encoded on import, to
// compare it with content.text (which is in memory already).
const maxDecoded = 256 << 20

// maxEntryMS is the longest entry time taken: a year, in milliseconds.
const maxEntryMS = 365 * 24 * 3600 * 1000.0

// timings splits the duration ms: the time to first byte, when the proxy
// measured it (meta.ttfb_ms), is wait and the rest receive; otherwise wait
// is all of it.
func timings(ex *inspect.Exchange, ms float64) Timings {
	if ttfb, ok := ex.Meta["ttfb_ms"].(float64); ok && ttfb >= 0 && ttfb <= ms {
		// In whole microseconds, as ms is: the difference of two such
		// floats is not always one (0.3 - 0.019 = 0.28099999999999997).
		ttfb = math.Round(ttfb*1000) / 1000
		return Timings{Wait: ttfb, Receive: math.Round((ms-ttfb)*1000) / 1000}
	}
	return Timings{Wait: ms}
}

// Exchanges converts every entry but those NotHTTP counts; see
// Entry.Exchange. Entries from other tools get Meta["har_creator"] naming
// the tool that wrote the file. Errors number entries from 1.
func (f *File) Exchanges() ([]*inspect.Exchange, error) {
	out := make([]*inspect.Exchange, 0, len(f.Log.Entries))
	creator := strings.TrimSpace(f.Log.Creator.Name + " " + f.Log.Creator.Version)
	for i := range f.Log.Entries {
		if notHTTP(f.Log.Entries[i].Request.URL) {
			continue
		}
		ex, err := f.Log.Entries[i].Exchange()
		if err != nil {
			rq := f.Log.Entries[i].Request
			return nil, fmt.Errorf("HAR entry %d (%s %s): %w", i+1, quoteUnprintable(rq.Method), quoteUnprintable(rq.URL), err)
		}
		if f.Log.Entries[i].Hooklab == nil && creator != "" {
			if ex.Meta == nil {
				ex.Meta = map[string]any{}
			}
			ex.Meta["har_creator"] = creator
		}
		out = append(out, ex)
	}
	return out, nil
}

// NotHTTP counts the entries Exchanges leaves out: those browsers record
// for URLs that never went over the network (data:, blob:, about:, file:
// and extension URLs).
func (f *File) NotHTTP() int {
	n := 0
	for i := range f.Log.Entries {
		if notHTTP(f.Log.Entries[i].Request.URL) {
			n++
		}
	}
	return n
}

func notHTTP(rawURL string) bool {
	scheme, _, _ := strings.Cut(rawURL, ":")
	switch strings.ToLower(scheme) {
	case "data", "blob", "about", "file", "javascript", "chrome", "chrome-extension", "moz-extension", "safari-extension", "safari-web-extension", "edge":
		return true
	}
	return false // http(s), ws(s); anything else is an error Exchange names
}

// Exchange converts e to an exchange. An entry hooklab wrote comes back as
// the exchange it was written from (redacted values stay redacted). An entry
// from another tool gets no ID or Bin (the importer assigns them), source
// proxy, the URL without its fragment (a browser's, never sent), HTTP/2
// pseudo-headers dropped (":authority" becomes Host when there is none), the body from postData text, base64 or params (a
// urlencoded or multipart form rebuilt, never taken as cut short), a
// status 0 response as no response with "_error" as the error, and a
// missing response body, or one shorter than content.size, as a cut body
// with Size from content.size and Truncated set. Note that HAR response bodies are decoded, while the
// headers may still name the Content-Encoding of the wire.
func (e *Entry) Exchange() (*inspect.Exchange, error) {
	t, err := ParseTime(e.StartedDateTime)
	if err != nil {
		return nil, err
	}
	if !inspect.InNanosRange(t) {
		return nil, fmt.Errorf("%w: startedDateTime %q: want a time between the years 1678 and 2262", inspect.ErrInvalid, e.StartedDateTime)
	}
	if ms := e.Time; ms > maxEntryMS || math.IsNaN(ms) {
		return nil, fmt.Errorf("%w: time %v: want milliseconds under %v (a year)", inspect.ErrInvalid, ms, maxEntryMS)
	}
	if err := e.check(); err != nil {
		return nil, err
	}
	ext := e.Hooklab
	ex := &inspect.Exchange{
		Source:   inspect.SourceProxy,
		Time:     t.UTC(),
		Duration: time.Duration(math.Round(max(e.Time, 0) * float64(time.Millisecond))),
	}
	ex.Request = inspect.Request{
		Method: e.Request.Method,
		URL:    e.Request.URL,
		Proto:  e.Request.HTTPVersion,
	}
	if ext != nil {
		ex.ID, ex.Bin, ex.Source, ex.Error, ex.Rule = ext.ID, ext.Bin, ext.Source, ext.Error, ext.Rule
		ex.Signature, ex.ReplayOf, ex.Invocation, ex.Attempt, ex.Meta = ext.Signature, ext.ReplayOf, ext.Invocation, ext.Attempt, ext.Meta
		switch ext.Source {
		case "":
			ex.Source = inspect.SourceProxy
		case inspect.SourceCapture, inspect.SourceProxy, inspect.SourceEmit, inspect.SourceReplay:
		default:
			// Filters and views know these four: another would be stored
			// under a name nothing lists.
			return nil, fmt.Errorf("%w: _hooklab.source %q: want capture, proxy, emit or replay", inspect.ErrInvalid, ext.Source)
		}
		if ext.DurationNS < 0 {
			return nil, fmt.Errorf("%w: _hooklab.duration_ns %d: want a duration, not a negative number", inspect.ErrInvalid, ext.DurationNS)
		}
		ex.Duration = time.Duration(ext.DurationNS)
		if ext.Time != "" {
			if et, err := time.Parse(time.RFC3339Nano, ext.Time); err == nil && inspect.InNanosRange(et) {
				ex.Time = et
			}
		}
		ex.Request.Host, ex.Request.RemoteAddr, ex.Request.TLS = ext.Host, ext.RemoteAddr, ext.TLS
		ex.Request.Headers = headers(e.Request.Headers, false)
		if ext.URLBase64 != "" {
			b, err := decodeBase64(ext.URLBase64)
			if err != nil {
				return nil, fmt.Errorf("%w: _hooklab.url_base64: %v", inspect.ErrInvalid, err)
			}
			ex.Request.URL = string(b)
		}
		// Held to what another tool's entry is (an edited fixture, or
		// url_base64, which can hold any bytes): a URL no request could
		// have been sent to fails every replay and /curl, and control
		// characters reached the terminal through tail and replay.
		if _, err := absoluteURL(ex.Request.URL); err != nil {
			return nil, err
		}
	} else {
		ex.Request.Proto = normalizeProto(e.Request.HTTPVersion)
		ex.Request.Headers = headers(e.Request.Headers, true)
		u, err := absoluteURL(e.Request.URL)
		if err != nil {
			return nil, err
		}
		if i := strings.IndexByte(e.Request.URL, '#'); i >= 0 {
			// A browser's HAR (Firefox's, and Chrome's as chrome-har and
			// Puppeteer write it) gives a page's URL with its fragment,
			// which the browser never sent: the record holds the request
			// as it went, or replay and /curl would send the # on.
			ex.Request.URL = e.Request.URL[:i]
		}
		ex.Request.Host = u.Host
		ex.Request.TLS = u.Scheme == "https" || u.Scheme == "wss"
		if ex.Request.Headers.Get("Host") == "" {
			if a := pseudo(e.Request.Headers, ":authority"); a != "" {
				ex.Request.Host = a
				ex.Request.Headers = append(inspect.Headers{{Name: "Host", Value: a}}, ex.Request.Headers...)
			}
		}
		if e.ServerIPAddress != "" {
			ex.Request.RemoteAddr = e.ServerIPAddress
		}
	}
	body, rebuilt, err := e.Request.PostData.body()
	if err != nil {
		return nil, fmt.Errorf("request body: %w", err)
	}
	ex.Request.Body = body
	ex.Request.Size = int64(len(body))
	if ext != nil {
		// The true size of a body exported cut; a whole one is as long as
		// it is now, edited since or not (a fixture adjusted by hand).
		if ext.RequestTruncated {
			ex.Request.Size, ex.Request.Truncated = ext.RequestSize, true
		}
	} else if e.Request.BodySize > ex.Request.Size && !rebuilt {
		// A body rebuilt from params is encoded anew (a space as +, not
		// %20): its size says nothing of a cut.
		ex.Request.Size, ex.Request.Truncated = e.Request.BodySize, true
	}

	noResponse := e.Response.Status <= 0 // Playwright writes -1 for a request that failed
	if ext != nil {
		noResponse = ext.NoResponse
	}
	if noResponse {
		if ex.Error == "" {
			ex.Error = cmp.Or(e.Response.Error, e.Response.FailureText, "no response recorded")
		}
		return ex, nil
	}
	r := &inspect.Response{Status: e.Response.Status, Headers: headers(e.Response.Headers, ext == nil)}
	c := e.Response.Content
	switch strings.ToLower(c.Encoding) {
	case "":
		if c.Text != "" {
			r.Body = []byte(c.Text)
		}
	case "base64":
		if r.Body, err = decodeBase64(c.Text); err != nil {
			return nil, fmt.Errorf("%w: response content: %v", inspect.ErrInvalid, err)
		}
	default:
		return nil, fmt.Errorf("%w: response content encoding %q: want base64 or none", inspect.ErrInvalid, c.Encoding)
	}
	r.Size = int64(len(r.Body))
	if ext != nil && ext.ResponseEncoded != "" {
		// Exported decoded: the recorded bytes come back, unless the text
		// was edited since, which is then taken as it is (decoded, as
		// from a browser's file).
		enc, err := decodeBase64(ext.ResponseEncoded)
		if err != nil {
			return nil, fmt.Errorf("%w: _hooklab.response_encoded: %v", inspect.ErrInvalid, err)
		}
		if dec, err := inspect.DecodeContent(r.Headers.Get("Content-Encoding"), enc, maxDecoded); err == nil && bytes.Equal(dec, r.Body) {
			r.Body, r.Size = enc, ext.ResponseSize
		}
	} else if ext != nil {
		if ext.ResponseTruncated { // a whole body is as long as it is now, as the request's
			r.Size, r.Truncated = ext.ResponseSize, true
		}
	} else if c.Size > r.Size {
		// The tool did not keep the body (Chrome for redirects and some
		// binary types): known size, no bytes; or kept its start
		// (Firefox, the first 1 MiB): a cut body, compared as far as
		// it goes.
		r.Size, r.Truncated = c.Size, true
	}
	if ext == nil && e.Response.Error != "" {
		ex.Error = e.Response.Error
	}
	// Some tools give the type only as content.mimeType.
	if mt := c.MimeType; ext == nil && mt != "" && mt != "x-unknown" && r.Headers.Get("Content-Type") == "" {
		r.Headers = append(r.Headers, inspect.Header{Name: "Content-Type", Value: mt})
	}
	ex.Response = r
	return ex, nil
}

// absoluteURL parses an entry's request URL, refusing one no request
// could have been sent to: not absolute, of a scheme other than http,
// https, ws or wss (an ftp: or gopher: entry would be stored, then fail
// every replay and every /curl), or with a control character.
func absoluteURL(raw string) (*url.URL, error) {
	if hasCTL(raw) {
		return nil, fmt.Errorf("%w: request url %q holds a control character", inspect.ErrInvalid, raw)
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: request url %q is not absolute", inspect.ErrInvalid, raw)
	}
	switch strings.ToLower(u.Scheme) {
	case "http", "https", "ws", "wss":
	default:
		return nil, fmt.Errorf("%w: request url %q: want http, https, ws or wss, not %s", inspect.ErrInvalid, raw, u.Scheme)
	}
	return u, nil
}

// quoteUnprintable quotes s, for an error import prints to a terminal,
// when it holds what is not printable: a C0 or C1 control (ESC, U+009B
// CSI), or bytes that are not UTF-8. A method that is no token is one an
// entry's error is about, and a URL that parses may hold C1 controls.
func quoteUnprintable(s string) string {
	for _, r := range s {
		if !strconv.IsPrint(r) || r == utf8.RuneError {
			return strconv.Quote(s)
		}
	}
	return s
}

// hasCTL reports whether s holds a byte below 0x20 or DEL, which
// url.Parse refuses and no request line can carry.
func hasCTL(s string) bool {
	return strings.IndexFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0
}

// check refuses what no HTTP request or response can hold, which a HAR
// file (edited, or from another tool) may: a method or header name that is
// not a token, a header value with CR, LF or NUL (/raw and /curl would
// print a header of its own), a status outside 100-999 (0, or Playwright's
// -1: no response).
// A value is not quoted: it may be a secret.
func (e *Entry) check() error {
	if !httpguts.ValidHeaderFieldName(e.Request.Method) {
		return fmt.Errorf("%w: request method %q is not a token", inspect.ErrInvalid, e.Request.Method)
	}
	for _, h := range []struct {
		what string
		nv   []NameValue
	}{{"request", e.Request.Headers}, {"response", e.Response.Headers}} {
		for _, x := range h.nv {
			name := strings.TrimPrefix(x.Name, ":") // HTTP/2 pseudo-headers, as browsers record them
			if !httpguts.ValidHeaderFieldName(name) {
				return fmt.Errorf("%w: %s header name %q is not a token", inspect.ErrInvalid, h.what, x.Name)
			}
			v, err := x.value()
			if err != nil {
				return fmt.Errorf("%s %w", h.what, err)
			}
			if !httpguts.ValidHeaderFieldValue(v) {
				return fmt.Errorf("%w: %s header %s: its value holds a control character (CR, LF, NUL…)", inspect.ErrInvalid, h.what, x.Name)
			}
		}
	}
	if st := e.Response.Status; st > 0 && (st < 100 || st > 999) {
		return fmt.Errorf("%w: response status %d: want 100 to 999 (or 0 or less for no response)", inspect.ErrInvalid, st)
	}
	return nil
}

// body is the posted body: text (base64 when its encoding says so), or
// else one rebuilt from params, when a tool gave only those (rebuilt is
// then true): a urlencoded form, or a multipart one with the boundary its
// mimeType names, a file's value being its content as HAR 1.2 has it.
func (p *PostData) body() (body []byte, rebuilt bool, err error) {
	if p == nil {
		return nil, false, nil
	}
	enc := p.Encoding
	if enc == "" {
		enc = p.XEncoding
	}
	switch strings.ToLower(enc) {
	case "base64":
		b, err := decodeBase64(p.Text)
		if err != nil {
			return nil, false, fmt.Errorf("%w: postData: %v", inspect.ErrInvalid, err)
		}
		return b, false, nil
	case "":
	default:
		return nil, false, fmt.Errorf("%w: postData encoding %q: want base64 or none", inspect.ErrInvalid, enc)
	}
	if p.Text != "" || len(p.Params) == 0 {
		return []byte(p.Text), false, nil
	}
	mt, mp, _ := mime.ParseMediaType(p.MimeType)
	switch {
	case strings.HasPrefix(strings.ToLower(p.MimeType), "application/x-www-form-urlencoded"):
		parts := make([]string, len(p.Params))
		for i, pr := range p.Params {
			parts[i] = url.QueryEscape(pr.Name) + "=" + url.QueryEscape(pr.Value)
		}
		return []byte(strings.Join(parts, "&")), true, nil
	case mt == "multipart/form-data" && mp["boundary"] != "":
		var buf bytes.Buffer
		w := multipart.NewWriter(&buf)
		if w.SetBoundary(mp["boundary"]) != nil {
			return nil, false, nil // one Go cannot write: no body, as before rebuilding
		}
		for _, pr := range p.Params {
			h := textproto.MIMEHeader{}
			cd := `form-data; name="` + quoteEscaper.Replace(pr.Name) + `"`
			if pr.FileName != "" {
				cd += `; filename="` + quoteEscaper.Replace(pr.FileName) + `"`
			}
			h.Set("Content-Disposition", cd)
			if pr.ContentType != "" {
				h.Set("Content-Type", pr.ContentType)
			}
			part, err := w.CreatePart(h)
			if err != nil {
				return nil, false, err
			}
			io.WriteString(part, pr.Value) // a bytes.Buffer does not fail
		}
		if err := w.Close(); err != nil {
			return nil, false, err
		}
		return buf.Bytes(), true, nil
	}
	return nil, false, nil
}

// quoteEscaper escapes a multipart part's name and filename as
// mime/multipart does.
var quoteEscaper = strings.NewReplacer("\\", "\\\\", `"`, "\\\"")

func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	if b, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "=")); err == nil {
		return b, nil
	}
	return base64.URLEncoding.DecodeString(s)
}

// headers converts HAR headers; foreign drops HTTP/2 pseudo-headers, which
// are not headers one can send.
func headers(nv []NameValue, foreign bool) inspect.Headers {
	out := make(inspect.Headers, 0, len(nv))
	for _, h := range nv {
		if foreign && strings.HasPrefix(h.Name, ":") {
			continue
		}
		v, _ := h.value() // check has refused what does not decode
		out = append(out, inspect.Header{Name: h.Name, Value: v})
	}
	return out
}

func pseudo(nv []NameValue, name string) string {
	for _, h := range nv {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

func normalizeProto(v string) string {
	switch strings.ToLower(v) {
	case "http/1.0":
		return "HTTP/1.0"
	case "http/1.1", "":
		return "HTTP/1.1"
	case "h2", "http/2", "http/2.0":
		return "HTTP/2.0"
	case "h3", "http/3", "http/3.0":
		return "HTTP/3.0"
	}
	return v
}

func nameValues(h inspect.Headers) []NameValue {
	out := make([]NameValue, len(h))
	for i, x := range h {
		out[i] = NameValue{Name: x.Name, Value: x.Value}
		if !utf8.ValidString(x.Value) {
			out[i].Value, out[i].XEncoding = base64.StdEncoding.EncodeToString([]byte(x.Value)), "base64"
		}
	}
	return out
}

func queryString(raw string) []NameValue {
	out := []NameValue{}
	u, err := url.Parse(raw)
	if err != nil || u.RawQuery == "" {
		return out
	}
	for _, kv := range strings.Split(u.RawQuery, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if dv, err := url.QueryUnescape(v); err == nil {
			v = dv
		}
		out = append(out, NameValue{Name: k, Value: v})
	}
	return out
}

func requestCookies(h inspect.Headers) []Cookie {
	out := []Cookie{}
	for _, x := range h {
		if !strings.EqualFold(x.Name, "Cookie") {
			continue
		}
		for _, c := range strings.Split(x.Value, ";") {
			name, value, _ := strings.Cut(strings.TrimSpace(c), "=")
			if name != "" {
				out = append(out, Cookie{Name: name, Value: value})
			}
		}
	}
	return out
}

func responseCookies(h inspect.Headers) []Cookie {
	out := []Cookie{}
	for _, x := range h {
		if !strings.EqualFold(x.Name, "Set-Cookie") {
			continue
		}
		c, err := http.ParseSetCookie(x.Value)
		if err != nil {
			name, value, _ := strings.Cut(x.Value, "=")
			value, _, _ = strings.Cut(value, ";")
			out = append(out, Cookie{Name: strings.TrimSpace(name), Value: value})
			continue
		}
		hc := Cookie{Name: c.Name, Value: c.Value, Path: c.Path, Domain: c.Domain, HTTPOnly: c.HttpOnly, Secure: c.Secure}
		if !c.Expires.IsZero() {
			hc.Expires = c.Expires.UTC().Format(time.RFC3339)
		}
		switch c.SameSite {
		case http.SameSiteLaxMode:
			hc.SameSite = "Lax"
		case http.SameSiteStrictMode:
			hc.SameSite = "Strict"
		case http.SameSiteNoneMode:
			hc.SameSite = "None"
		}
		out = append(out, hc)
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}
