package emit

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tidwall/gjson"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// EnvelopeVersion is the version field of subscription payloads (both
// version and Zendesk's own name for it, zendesk_event_version).
const EnvelopeVersion = "2022-11-06"

// envelope is the fixed payload of subscription webhooks, like Zendesk's
// event webhooks.
type envelope struct {
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	Time      string          `json:"time"`
	Subject   string          `json:"subject"`
	Detail    json.RawMessage `json:"detail"`
	Event     json.RawMessage `json:"event"`
	AccountID int64           `json:"account_id"`
	Version   string          `json:"version"`
	// ZendeskVersion is version under the name Zendesk's event webhooks
	// give it, which a receiver written for them reads.
	ZendeskVersion string `json:"zendesk_event_version"`
}

func (e *Emitter) envelope(ev *Event) []byte {
	env := envelope{
		ID: ev.ID, Type: ev.Type, Time: ev.Time.UTC().Format(time.RFC3339Nano), Subject: ev.Subject,
		Detail: ev.Data, Event: ev.Changes, AccountID: e.opts.AccountID,
		Version: EnvelopeVersion, ZendeskVersion: EnvelopeVersion,
	}
	if len(env.Detail) == 0 {
		env.Detail = json.RawMessage(`{}`)
	}
	if len(env.Event) == 0 {
		env.Event = json.RawMessage(`{}`)
	}
	// As the data came: json.Marshal would write <, > and & in it as
	// \u003c, \u003e and \u0026.
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(env)
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// defaultSubject is "zen:ticket:35436", as Zendesk writes it, for a
// ticket.* event (or zen:event-type:ticket.*) whose data has ticket.id
// 35436, else "".
func defaultSubject(typ string, data []byte) string {
	head, _, _ := strings.Cut(strings.TrimPrefix(typ, "zen:event-type:"), ".")
	if head == "" || len(data) == 0 {
		return ""
	}
	id := gjson.GetBytes(data, gjson.Escape(head)+".id")
	if !id.Exists() || id.IsObject() || id.IsArray() {
		return ""
	}
	return "zen:" + head + ":" + id.String()
}

// decodeData decodes event data for Liquid: objects as map[string]any,
// numbers as rules.PlainNumbers makes them. Valid UTF-8 JSON is walked
// with gjson, which costs a fraction of encoding/json; anything else goes
// through encoding/json (which also replaces invalid UTF-8 as before).
func decodeData(b []byte) any {
	if len(b) == 0 {
		return map[string]any{}
	}
	if utf8.Valid(b) {
		if v, ok := decodeJSON(b); ok {
			return v
		}
	}
	if utf8.Valid(b) && json.Valid(b) {
		return gjsonValue(gjson.ParseBytes(b))
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return map[string]any{}
	}
	return rules.PlainNumbers(v)
}

// decodeJSON decodes b, one JSON value with optional surrounding space, as
// gjsonValue does, in one pass and without gjson's per-member callbacks.
// It reports false for anything that is not strictly valid JSON, and
// leaves strings with escapes to gjson (so that they unescape alike).
func decodeJSON(b []byte) (any, bool) {
	d := jsonDecoder{b: b}
	d.space()
	v, ok := d.value(0)
	if !ok {
		return nil, false
	}
	d.space()
	return v, d.i == len(d.b)
}

// jsonDecoder is decodeJSON's state: the input and the read position.
// With discard set it only checks values and skips them, making nothing.
type jsonDecoder struct {
	b       []byte
	i       int
	discard bool
}

// maxJSONDepth bounds nesting, as encoding/json does.
const maxJSONDepth = 10000

func (d *jsonDecoder) space() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// colon reads the colon after an object's key, and the space around it.
func (d *jsonDecoder) colon() bool {
	d.space()
	if d.i >= len(d.b) || d.b[d.i] != ':' {
		return false
	}
	d.i++
	d.space()
	return true
}

// next reads what follows a member of an object or list: a comma, so more
// members follow, or its closing byte. Anything else is malformed (ok
// false).
func (d *jsonDecoder) next(closing byte) (more, ok bool) {
	d.space()
	if d.i >= len(d.b) {
		return false, false
	}
	switch d.b[d.i] {
	case ',':
		d.i++
		return true, true
	case closing:
		d.i++
		return false, true
	}
	return false, false
}

func (d *jsonDecoder) literal(lit string, v any) (any, bool) {
	if !bytes.HasPrefix(d.b[d.i:], []byte(lit)) {
		return nil, false
	}
	d.i += len(lit)
	return v, true
}

func (d *jsonDecoder) value(depth int) (any, bool) {
	if d.i >= len(d.b) || depth > maxJSONDepth {
		return nil, false
	}
	switch c := d.b[d.i]; {
	case c == '{':
		d.i++
		var out map[string]any
		if !d.discard {
			out = map[string]any{}
		}
		d.space()
		if d.i < len(d.b) && d.b[d.i] == '}' {
			d.i++
			return out, true
		}
		for {
			d.space()
			k, ok := d.str()
			if !ok {
				return nil, false
			}
			if !d.colon() {
				return nil, false
			}
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			if out != nil {
				out[k] = v
			}
			if more, ok := d.next('}'); !more {
				return out, ok
			}
		}
	case c == '[':
		d.i++
		var out []any
		if !d.discard {
			out = []any{}
		}
		d.space()
		if d.i < len(d.b) && d.b[d.i] == ']' {
			d.i++
			return out, true
		}
		for {
			d.space()
			v, ok := d.value(depth + 1)
			if !ok {
				return nil, false
			}
			if !d.discard {
				out = append(out, v)
			}
			if more, ok := d.next(']'); !more {
				return out, ok
			}
		}
	case c == '"':
		s, ok := d.str()
		return s, ok
	case c == 't':
		return d.literal("true", true)
	case c == 'f':
		return d.literal("false", false)
	case c == 'n':
		return d.literal("null", nil)
	case c == '-' || c >= '0' && c <= '9':
		return d.number()
	}
	return nil, false
}

// str reads a string literal: directly when it holds no escape, through
// gjson when it does.
func (d *jsonDecoder) str() (string, bool) {
	if d.i >= len(d.b) || d.b[d.i] != '"' {
		return "", false
	}
	start := d.i
	escaped := false
	for j := d.i + 1; j < len(d.b); j++ {
		switch c := d.b[j]; {
		case c == '"':
			d.i = j + 1
			if !escaped {
				if d.discard {
					return "", true
				}
				return string(d.b[start+1 : j]), true
			}
			raw := d.b[start:d.i]
			if !json.Valid(raw) {
				return "", false
			}
			if d.discard {
				return "", true
			}
			return gjson.ParseBytes(raw).Str, true
		case c == '\\':
			escaped = true
			j++ // the escaped character; json.Valid checks the escape
		case c < 0x20:
			return "", false
		}
	}
	return "", false
}

// number reads a number in JSON's grammar, as plainNumbers gives it.
func (d *jsonDecoder) number() (any, bool) {
	b, start := d.b, d.i
	i := d.i
	if i < len(b) && b[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(b) && b[i] >= '0' && b[i] <= '9' {
			i++
			n++
		}
		return n
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case digits() == 0:
		return nil, false
	}
	if i < len(b) && b[i] == '.' {
		i++
		if digits() == 0 {
			return nil, false
		}
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if digits() == 0 {
			return nil, false
		}
	}
	d.i = i
	if d.discard {
		return nil, true
	}
	return rules.PlainNumbers(json.Number(b[start:i])), true
}

// gjsonValue is r as decodeData returns it.
func gjsonValue(r gjson.Result) any {
	switch r.Type {
	case gjson.False:
		return false
	case gjson.True:
		return true
	case gjson.Number:
		return rules.PlainNumbers(json.Number(r.Raw))
	case gjson.String:
		return r.Str
	case gjson.JSON:
		if r.IsArray() {
			out := []any{}
			r.ForEach(func(_, v gjson.Result) bool {
				out = append(out, gjsonValue(v))
				return true
			})
			return out
		}
		out := map[string]any{}
		r.ForEach(func(k, v gjson.Result) bool {
			out[k.Str] = gjsonValue(v)
			return true
		})
		return out
	}
	return nil
}

// liquidVars is the context of payload templates: the event's data at the
// top level, then event, webhook and now. When data is an object (as
// decodeData gives event data) it becomes the context itself, with those
// three set over its own keys of those names: data is decoded for one
// event and rendered for each of its invocations in turn, each setting
// all three again, and Render does not change the map it is given.
func liquidVars(ev *Event, data any, w *Webhook, now time.Time) map[string]any {
	vars, ok := data.(map[string]any)
	if !ok {
		vars = map[string]any{}
		if data != nil {
			vars["data"] = data
		}
	}
	if ev.Type == EventRequestCaptured || ev.Type == EventExchangeProxied {
		// As in mock templates, header names are looked up in any case:
		// {{request.headers.X-Foo}} is {{request.headers.x-foo}}.
		for _, part := range []string{"request", "response"} {
			if m, ok := vars[part].(map[string]any); ok {
				if h, ok := m["headers"].(map[string]any); ok {
					// Headers looks names up lower-cased (as exchanges'
					// events write them; a posted event may not).
					lower := make(rules.Headers, len(h))
					for k, v := range h {
						lower[strings.ToLower(k)] = v
					}
					m["headers"] = lower
				}
			}
		}
	}
	vars["event"] = map[string]any{"id": ev.ID, "type": ev.Type, "time": ev.Time, "subject": ev.Subject}
	vars["webhook"] = map[string]any{"id": w.ID, "name": w.Name, "endpoint": w.Endpoint}
	vars["now"] = now
	return vars
}

var contentTypes = map[string]string{
	FormatJSON: "application/json",
	FormatXML:  "application/xml",
	FormatForm: "application/x-www-form-urlencoded",
}

// render builds the request of an invocation of w for ev: from the notify
// of a trigger or automation, or the envelope when nt is nil. data is ev's
// decoded data (nil to decode it here).
func (e *Emitter) render(w *Webhook, ev *Event, data any, nt *notify, now time.Time) (storedRequest, error) {
	req := storedRequest{Method: w.Method, URL: w.Endpoint, Endpoint: w.Endpoint}
	bodyless := w.bodyless()
	var body []byte
	// params are the rendered URL parameters (or form fields), in the
	// order the notify lists them, as Zendesk sends its key/value pairs
	// (url.Values.Encode sorts them by name). nil: none.
	var params []string
	if nt == nil {
		if !bodyless {
			body = e.envelope(ev)
		}
	} else {
		if data == nil {
			data = decodeData(ev.Data)
		}
		vars := liquidVars(ev, data, w, now)
		if len(nt.params) > 0 {
			params = make([]string, 0, len(nt.params))
			for _, p := range nt.params {
				v, err := p.tpl.Render(vars)
				if err != nil {
					return req, fmt.Errorf("params %s: %v", p.key, err)
				}
				params = append(params, url.QueryEscape(p.key)+"="+url.QueryEscape(string(v)))
			}
		}
		switch {
		case bodyless:
		case w.Format == FormatForm && params != nil:
			body = []byte(strings.Join(params, "&"))
			params = nil
		case nt.payload != "" && nt.structured && (w.Format == FormatXML || w.Format == FormatForm):
			// A structure: rendered as the JSON it is, then written as XML
			// elements or form fields.
			b, err := nt.template(FormatJSON).Render(vars)
			if err != nil {
				return req, fmt.Errorf("payload: %v", err)
			}
			if w.Format == FormatXML {
				b, err = xmlBody(b)
			} else {
				b, err = formBody(b)
			}
			if err != nil {
				return req, fmt.Errorf("payload: %v", err)
			}
			body = b
		case nt.payload != "":
			tpl := nt.template(w.Format)
			if tpl == nil {
				return req, fmt.Errorf("payload cannot be rendered as %s", w.Format)
			}
			b, err := tpl.Render(vars)
			if err != nil {
				return req, fmt.Errorf("payload: %v", err)
			}
			body = b
		case w.Format == FormatJSON:
			body = e.envelope(ev)
		}
	}
	limit := int64(w.MaxPayload)
	if limit <= 0 {
		limit = DefaultMaxPayload
	}
	if int64(len(body)) >= limit {
		return req, fmt.Errorf("payload is %d bytes; it must be under %d bytes (max_payload)", len(body), limit)
	}
	if params != nil {
		u, err := withParams(w.Endpoint, params)
		if err != nil {
			return req, fmt.Errorf("endpoint: %v", err)
		}
		if int64(len(u.RawQuery)) >= limit {
			return req, fmt.Errorf("URL parameters are %d bytes; they must be under %d bytes (max_payload)", len(u.RawQuery), limit)
		}
		req.URL = u.String()
	}
	if len(body) > 0 {
		if err := checkFormat(w.Format, body); err != nil {
			return req, err
		}
		req.Headers = append(req.Headers, inspect.Header{Name: "Content-Type", Value: contentTypes[w.Format]})
	}
	for _, name := range sortedKeys(w.CustomHeaders) {
		req.Headers = append(req.Headers, inspect.Header{Name: name, Value: w.CustomHeaders[name]})
	}
	req.Body = body
	return req, nil
}

// checkFormat fails when a rendered body is not valid for its format.
func checkFormat(format string, body []byte) error {
	switch format {
	case FormatJSON:
		if !json.Valid(body) {
			var v any
			err := json.Unmarshal(body, &v)
			return fmt.Errorf("the rendered payload is not valid JSON: %v", err)
		}
	case FormatXML:
		// The decoder takes text alone ({"a": 1}) or several elements
		// (<a/><b/>) as a document: XML wants one root element.
		// A byte order mark may begin a document (XML 1.0, 4.3.3); the
		// decoder would take it for text outside the root element.
		dec := xml.NewDecoder(bytes.NewReader(bytes.TrimPrefix(body, []byte("\xef\xbb\xbf"))))
		dec.CharsetReader = func(string, io.Reader) (io.Reader, error) {
			// Without this the error names Go's Decoder.CharsetReader.
			return nil, errors.New(`placeholders write UTF-8: declare encoding="UTF-8" or none`)
		}
		depth, roots := 0, 0
		for {
			tok, err := dec.Token()
			if errors.Is(err, io.EOF) && roots == 0 {
				return errors.New("the rendered payload is not valid XML: it has no root element")
			}
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return fmt.Errorf("the rendered payload is not valid XML: %v", err)
			}
			switch t := tok.(type) {
			case xml.StartElement:
				if depth == 0 {
					if roots++; roots > 1 {
						return fmt.Errorf("the rendered payload is not valid XML: a second root element <%s>", t.Name.Local)
					}
				}
				depth++
			case xml.EndElement:
				depth--
			case xml.CharData:
				if text := bytes.Trim(t, " \t\r\n"); depth == 0 && len(text) > 0 {
					return fmt.Errorf("the rendered payload is not valid XML: text outside the root element (%.40q)", text)
				}
			}
		}
	}
	return nil
}

// withParams returns endpoint with params (encoded name=value pairs) after
// its own query, which stays as written (a signed or order-sensitive URL;
// url.Values would sort it and drop a pair holding ;).
func withParams(endpoint string, params []string) (*url.URL, error) {
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	if enc := strings.Join(params, "&"); enc != "" {
		if u.RawQuery != "" && !strings.HasSuffix(u.RawQuery, "&") {
			u.RawQuery += "&"
		}
		u.RawQuery += enc
	}
	return u, nil
}
