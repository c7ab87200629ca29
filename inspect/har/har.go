// Package har owns HAR 1.2 (HTTP Archive) files for hooklab: their types,
// reading (including the files Chrome DevTools and Firefox export, with
// their "_" extension fields, base64 content, missing bodies and failed
// requests), writing (whole or streamed entry by entry), redaction of
// secret headers, and conversion to and from inspect.Exchange.
//
// The shape of a round trip:
//
//	f, err := har.Decode(r)          // any HAR 1.2 file
//	exs, err := f.Exchanges()        // one exchange per entry
//	f = har.New(exs, har.Options{})  // back to HAR, secrets redacted
//	err = har.Encode(w, f)
//
// hooklab's own exports carry an "_hooklab" extension on each entry with
// what HAR has no field for (id, bin, source, exact time, links, binary
// request bodies), so that export then import gives identical exchanges.
// Other tools ignore it. The package imports only inspect.
package har

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// Version is the HAR version written.
const Version = "1.2"

// File is a whole HAR file: {"log": {...}}.
type File struct {
	Log Log `json:"log"`
}

// Log is the root of the archive.
type Log struct {
	Version string   `json:"version"`
	Creator Creator  `json:"creator"`
	Browser *Creator `json:"browser,omitempty"`
	Pages   []Page   `json:"pages,omitempty"`
	Entries []Entry  `json:"entries"`
	Comment string   `json:"comment,omitempty"`
}

// Creator names the program that wrote the file (also used for browser).
type Creator struct {
	Name    string `json:"name"`
	Version string `json:"version"`
	Comment string `json:"comment,omitempty"`
}

// Page is a page that entries may refer to. hooklab reads and ignores them.
type Page struct {
	StartedDateTime string          `json:"startedDateTime"`
	ID              string          `json:"id"`
	Title           string          `json:"title"`
	PageTimings     json.RawMessage `json:"pageTimings"`
	Comment         string          `json:"comment,omitempty"`
}

// Entry is one request and its response.
type Entry struct {
	Pageref string `json:"pageref,omitempty"`
	// StartedDateTime is an ISO 8601 time; see ParseTime.
	StartedDateTime string `json:"startedDateTime"`
	// Time is the total time of the exchange in milliseconds.
	Time            float64  `json:"time"`
	Request         Request  `json:"request"`
	Response        Response `json:"response"`
	Cache           Cache    `json:"cache"`
	Timings         Timings  `json:"timings"`
	ServerIPAddress string   `json:"serverIPAddress,omitempty"`
	Connection      string   `json:"connection,omitempty"`
	Comment         string   `json:"comment,omitempty"`
	// Hooklab is hooklab's extension: present in files hooklab wrote.
	Hooklab *Extension `json:"_hooklab,omitempty"`
}

// Request is the request of an entry.
type Request struct {
	Method      string      `json:"method"`
	URL         string      `json:"url"`
	HTTPVersion string      `json:"httpVersion"`
	Cookies     []Cookie    `json:"cookies"`
	Headers     []NameValue `json:"headers"`
	QueryString []NameValue `json:"queryString"`
	PostData    *PostData   `json:"postData,omitempty"`
	HeadersSize int64       `json:"headersSize"`
	BodySize    int64       `json:"bodySize"`
	Comment     string      `json:"comment,omitempty"`
}

// Response is the response of an entry. Browsers write status 0 for a
// request that got no response, with the reason in the "_error" extension.
type Response struct {
	Status      int         `json:"status"`
	StatusText  string      `json:"statusText"`
	HTTPVersion string      `json:"httpVersion"`
	Cookies     []Cookie    `json:"cookies"`
	Headers     []NameValue `json:"headers"`
	Content     Content     `json:"content"`
	RedirectURL string      `json:"redirectURL"`
	HeadersSize int64       `json:"headersSize"`
	BodySize    int64       `json:"bodySize"`
	Comment     string      `json:"comment,omitempty"`
	// Error is Chrome's (and hooklab's) reason a request failed.
	Error string `json:"_error,omitempty"`
	// FailureText is Playwright's (read, not written).
	FailureText string `json:"_failureText,omitempty"`
}

// NameValue is a header or a query parameter.
type NameValue struct {
	Name    string `json:"name"`
	Value   string `json:"value"`
	Comment string `json:"comment,omitempty"`
	// XEncoding ("_encoding": "base64") marks a header value that is not
	// UTF-8, which a JSON string cannot hold: Value is its bytes in base64.
	XEncoding string `json:"_encoding,omitempty"`
}

// value is the header's value, decoded when XEncoding says base64.
func (x NameValue) value() (string, error) {
	switch strings.ToLower(x.XEncoding) {
	case "":
		return x.Value, nil
	case "base64":
		b, err := decodeBase64(x.Value)
		if err != nil {
			return "", fmt.Errorf("%w: header %s: its base64 value: %v", inspect.ErrInvalid, x.Name, err)
		}
		return string(b), nil
	}
	return "", fmt.Errorf("%w: header %s: _encoding %q: want base64 or none", inspect.ErrInvalid, x.Name, x.XEncoding)
}

// Cookie is a request or response cookie.
type Cookie struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Path     string `json:"path,omitempty"`
	Domain   string `json:"domain,omitempty"`
	Expires  string `json:"expires,omitempty"`
	HTTPOnly bool   `json:"httpOnly,omitempty"`
	Secure   bool   `json:"secure,omitempty"`
	SameSite string `json:"sameSite,omitempty"`
	Comment  string `json:"comment,omitempty"`
}

// PostData is a request body. Text holds it; Encoding "base64" (or the
// "_encoding" extension some tools and hooklab write) marks a binary body
// given in base64. Params is the parsed form some tools add, or give
// instead of Text.
type PostData struct {
	MimeType  string  `json:"mimeType"`
	Params    []Param `json:"params,omitempty"`
	Text      string  `json:"text"`
	Encoding  string  `json:"encoding,omitempty"`
	XEncoding string  `json:"_encoding,omitempty"`
	Comment   string  `json:"comment,omitempty"`
}

// Param is one posted parameter.
type Param struct {
	Name        string `json:"name"`
	Value       string `json:"value,omitempty"`
	FileName    string `json:"fileName,omitempty"`
	ContentType string `json:"contentType,omitempty"`
	Comment     string `json:"comment,omitempty"`
}

// Content is a response body, decoded from any Content-Encoding as HAR
// requires. Text is absent when the tool did not keep the body; Encoding
// "base64" marks a binary body given in base64.
type Content struct {
	Size        int64  `json:"size"`
	Compression int64  `json:"compression,omitempty"`
	MimeType    string `json:"mimeType"`
	Text        string `json:"text,omitempty"`
	Encoding    string `json:"encoding,omitempty"`
	Comment     string `json:"comment,omitempty"`
}

// Cache is the cache state of an entry; hooklab writes it empty.
type Cache struct {
	BeforeRequest json.RawMessage `json:"beforeRequest,omitempty"`
	AfterRequest  json.RawMessage `json:"afterRequest,omitempty"`
	Comment       string          `json:"comment,omitempty"`
}

// Timings are the phases of an entry in milliseconds; -1 means not known.
type Timings struct {
	Blocked float64 `json:"blocked,omitempty"`
	DNS     float64 `json:"dns,omitempty"`
	Connect float64 `json:"connect,omitempty"`
	Send    float64 `json:"send"`
	Wait    float64 `json:"wait"`
	Receive float64 `json:"receive"`
	SSL     float64 `json:"ssl,omitempty"`
	Comment string  `json:"comment,omitempty"`
}

// Extension is the "_hooklab" field of an entry: what an Exchange holds
// that HAR has no place for.
type Extension struct {
	ID         string             `json:"id,omitempty"`
	Bin        string             `json:"bin,omitempty"`
	Source     inspect.Source     `json:"source,omitempty"`
	Time       string             `json:"time,omitempty"` // RFC 3339 with nanoseconds
	DurationNS int64              `json:"duration_ns,omitempty"`
	Error      string             `json:"error,omitempty"`
	Rule       string             `json:"rule,omitempty"`
	Signature  *inspect.Signature `json:"signature,omitempty"`
	ReplayOf   string             `json:"replay_of,omitempty"`
	Invocation string             `json:"invocation_id,omitempty"`
	Attempt    int                `json:"attempt,omitempty"`
	Meta       map[string]any     `json:"meta,omitempty"`
	Host       string             `json:"host,omitempty"`
	// URLBase64 is the request URL's bytes when they are not UTF-8 (a raw
	// byte in the query), which request.url cannot hold.
	URLBase64  string `json:"url_base64,omitempty"`
	RemoteAddr string `json:"remote_addr,omitempty"`
	TLS        bool   `json:"tls,omitempty"`
	// RequestSize and ResponseSize are the true sizes; the bodies in the
	// entry may be cut short (RequestTruncated, ResponseTruncated).
	RequestSize       int64 `json:"request_size"`
	RequestTruncated  bool  `json:"request_truncated,omitempty"`
	ResponseSize      int64 `json:"response_size,omitempty"`
	ResponseTruncated bool  `json:"response_truncated,omitempty"`
	// ResponseEncoded is the response body as recorded, still in its
	// Content-Encoding (base64), when content.text holds it decoded: an
	// import gives these bytes back while the text is the one exported.
	ResponseEncoded string `json:"response_encoded,omitempty"`
	// NoResponse marks an exchange that had no response at all.
	NoResponse bool `json:"no_response,omitempty"`
	// Redacted lists the header names whose values were redacted.
	Redacted []string `json:"redacted,omitempty"`
}

// jsonKind says what a json.UnmarshalTypeError's Value ("array",
// "number -1") is, with an article.
func jsonKind(v string) string {
	switch kind, rest, _ := strings.Cut(v, " "); kind {
	case "array", "object":
		return "an " + kind
	case "bool":
		return "true or false"
	case "number":
		if rest != "" {
			return rest // the number itself: 12.5 where an integer goes
		}
		return "a number"
	case "string":
		return "a " + kind
	}
	return v
}

// goKind says what JSON a field of type t takes.
func goKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return t.String()
}

// entryAt numbers (from 1) the entry of log.entries whose JSON holds the
// byte offset off of data, or gives 0 when none does, so that a type error
// names the entry, as Exchanges' errors do.
func entryAt(data []byte, off int64) int {
	dec := json.NewDecoder(bytes.NewReader(data))
	// into walks into the object at the decoder's position up to the value
	// of key, skipping the others.
	into := func(key string) bool {
		if t, err := dec.Token(); err != nil || t != json.Delim('{') {
			return false
		}
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return false
			}
			if k == key {
				return true
			}
			var skip json.RawMessage
			if dec.Decode(&skip) != nil {
				return false
			}
		}
		return false
	}
	if !into("log") || !into("entries") {
		return 0
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('[') {
		return 0
	}
	for n := 1; dec.More(); n++ {
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return 0
		}
		if dec.InputOffset() >= off {
			return n
		}
	}
	return 0
}

// Decode reads a HAR file. It accepts what browsers write: unknown and "_"
// fields are ignored, a missing "entries" is an empty log. The error says
// where the JSON is malformed and wraps inspect.ErrInvalid.
func Decode(r io.Reader) (*File, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("read HAR: %w", err)
	}
	return Parse(data)
}

// Parse is Decode of a byte slice.
func Parse(data []byte) (*File, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Firefox on Windows writes a BOM
	var f File
	if err := json.Unmarshal(data, &f); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			line, col := inspect.LineCol(data, se.Offset)
			return nil, fmt.Errorf("%w: HAR is not valid JSON at line %d, column %d: %v", inspect.ErrInvalid, line, col, err)
		}
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if te.Field == "" {
				return nil, fmt.Errorf("%w: want a HAR file: a JSON object with a log, found %s", inspect.ErrInvalid, jsonKind(te.Value))
			}
			line, col := inspect.LineCol(data, te.Offset)
			if field, ok := strings.CutPrefix(te.Field, "log.entries."); ok {
				if n := entryAt(data, te.Offset); n > 0 {
					return nil, fmt.Errorf("%w: HAR entry %d: field %s at line %d, column %d: want %s, found %s", inspect.ErrInvalid, n, field, line, col, goKind(te.Type), jsonKind(te.Value))
				}
			}
			return nil, fmt.Errorf("%w: HAR field %s at line %d, column %d: want %s, found %s", inspect.ErrInvalid, te.Field, line, col, goKind(te.Type), jsonKind(te.Value))
		}
		return nil, fmt.Errorf("%w: HAR: %v", inspect.ErrInvalid, err)
	}
	if f.Log.Version == "" && f.Log.Entries == nil && f.Log.Creator.Name == "" {
		var top map[string]json.RawMessage
		if json.Unmarshal(data, &top) == nil && top["log"] != nil {
			return nil, fmt.Errorf("%w: not a HAR file: its \"log\" object has no entries", inspect.ErrInvalid)
		}
		return nil, fmt.Errorf("%w: not a HAR file: no \"log\" object", inspect.ErrInvalid)
	}
	for i := range f.Log.Entries {
		e := &f.Log.Entries[i]
		if e.Request.Method == "" || e.Request.URL == "" {
			return nil, fmt.Errorf("%w: HAR entry %d: request has no method or url", inspect.ErrInvalid, i+1)
		}
	}
	return &f, nil
}

// Encode writes f as indented JSON, with HTML characters unescaped.
func Encode(w io.Writer, f *File) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(f)
}

// ParseTime reads an entry's startedDateTime: RFC 3339 with any fraction,
// or the ISO 8601 variants some tools write (offset without a colon, no
// zone at all, which is taken as UTC).
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999Z0700", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%w: startedDateTime %q is not an ISO 8601 time", inspect.ErrInvalid, s)
}

// FormatTime writes t as HAR wants it: RFC 3339 in UTC with milliseconds.
func FormatTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }
