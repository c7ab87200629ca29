package emit

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hooklab/hooklab/rules"
	"go.yaml.in/yaml/v3"
)

// hostile is a ticket description meant to break payloads of every format.
const hostile = "He said \"hi\" & left\n\t<b>bold</b> </script> ' \\ \u2028 a=b&c=d+e%20 {{ not.liquid }} {% raw %} ]]> \u00e9"

// TestHostilePayloads renders Liquid payloads with a hostile value in JSON,
// XML and form bodies and GET parameters, and checks each is valid for its
// format and carries the value unchanged.
func TestHostilePayloads(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	yaml := `webhooks:
  - id: j
    endpoint: ` + s.URL + `/json
    signing: {scheme: none}
  - id: x
    endpoint: ` + s.URL + `/xml
    format: xml
    signing: {scheme: none}
  - id: f
    endpoint: ` + s.URL + `/form
    format: form_encoded
    signing: {scheme: none}
  - id: fp
    endpoint: ` + s.URL + `/formpayload
    format: form_encoded
    signing: {scheme: none}
  - id: g
    endpoint: ` + s.URL + `/get?z=1&a=/x&flag&semi=a;b&fixed=1
    method: GET
    signing: {scheme: none}
triggers:
  - name: j
    when: {event: t.hostile}
    notify:
      webhook: j
      payload: '{"text": "{{ticket.description}}", "value": {{ticket.description}}, "tags": {{ticket.tags}}, "n": {{ticket.n}}, "event": "{{event.type}}", "hook": "{{webhook.id}}"}'
  - name: x
    when: {event: t.hostile}
    notify:
      webhook: x
      payload: '<ticket id="{{ticket.description}}"><d>{{ticket.description}}</d></ticket>'
  - name: f
    when: {event: t.hostile}
    notify:
      webhook: f
      params: {d: "{{ticket.description}}", n: "{{ticket.n}}"}
  - name: fp
    when: {event: t.hostile}
    notify:
      webhook: fp
      payload: 'd={{ticket.description}}&n={{ticket.n}}'
  - name: g
    when: {event: t.hostile}
    notify:
      webhook: g
      params: {d: "{{ticket.description}}"}
`
	te := newEnv(t, yaml, nil)
	data, _ := json.Marshal(map[string]any{"ticket": map[string]any{"description": hostile, "tags": []string{"a\"b", "<c>"}, "n": 42}})
	q := te.emit("t.hostile", string(data))
	if len(q) != 5 {
		t.Fatalf("queued %+v", q)
	}
	for _, x := range q {
		if inv, _ := te.drive(x.ID); inv.Status != InvocationSuccess {
			t.Errorf("%s: %s %s", x.WebhookID, inv.Status, inv.Error)
		}
	}
	got := map[string]sunk{}
	for _, r := range s.got() {
		u, _ := url.Parse(r.URL)
		got[u.Path] = r
	}

	var j struct {
		Text, Value, Event, Hook string
		Tags                     []string
		N                        int
	}
	if err := json.Unmarshal(got["/json"].Body, &j); err != nil {
		t.Fatalf("JSON payload invalid: %v\n%s", err, got["/json"].Body)
	}
	if j.Text != hostile || j.Value != hostile || j.N != 42 || len(j.Tags) != 2 || j.Tags[0] != `a"b` || j.Event != "t.hostile" || j.Hook != "j" {
		t.Errorf("JSON payload decoded to %+v", j)
	}

	var x struct {
		ID string `xml:"id,attr"`
		D  string `xml:"d"`
	}
	if err := xml.Unmarshal(got["/xml"].Body, &x); err != nil {
		t.Fatalf("XML payload invalid: %v\n%s", err, got["/xml"].Body)
	}
	// XML normalizes \t and \n in attributes to spaces; the element text
	// keeps them.
	if x.D != strings.ReplaceAll(hostile, "\u2028", "\u2028") || x.ID == "" {
		t.Errorf("XML payload decoded to %+v", x)
	}
	if ct := got["/xml"].Header.Get("Content-Type"); ct != "application/xml" {
		t.Errorf("XML Content-Type = %q", ct)
	}

	for _, path := range []string{"/form", "/formpayload"} {
		v, err := url.ParseQuery(string(got[path].Body))
		if err != nil || v.Get("d") != hostile || v.Get("n") != "42" {
			t.Errorf("%s body %q parsed to %v, %v", path, got[path].Body, v, err)
		}
		if ct := got[path].Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
			t.Errorf("%s Content-Type = %q", path, ct)
		}
	}

	gr := got["/get"]
	u, _ := url.Parse(gr.URL)
	if gr.Method != "GET" || len(gr.Body) != 0 || u.Query().Get("d") != hostile || u.Query().Get("fixed") != "1" {
		t.Errorf("GET request %s %q body %q", gr.Method, gr.URL, gr.Body)
	}
	// The endpoint's own query goes as written, the parameters after it
	// (it was sorted and re-encoded, and semi=a;b dropped).
	if !strings.HasPrefix(u.RawQuery, "z=1&a=/x&flag&semi=a;b&fixed=1&d=") {
		t.Errorf("GET query %q, want the endpoint's own first, as written", u.RawQuery)
	}
}

// TestPayloadLimits fails invocations whose payload or parameters are not
// under max_payload, with the reason in the activity log, and never
// attempts them; a template that renders invalid JSON fails the same way.
func TestPayloadLimits(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	yaml := `webhooks:
  - id: small
    endpoint: ` + s.URL + `
    max_payload: 64
    signing: {scheme: none}
  - id: get
    endpoint: ` + s.URL + `
    method: GET
    max_payload: 64
    signing: {scheme: none}
  - id: broken
    endpoint: ` + s.URL + `
    signing: {scheme: none}
triggers:
  - name: big
    when: {event: t.big}
    notify: {webhook: small, payload: '{"text": "{{text}}"}'}
  - name: get
    when: {event: t.big}
    notify: {webhook: get, params: {text: "{{text}}"}}
  - name: broken
    when: {event: t.big}
    notify: {webhook: broken, payload: '{% if text %}{"text": {{text}} oops{% endif %}'}
`
	te := newEnv(t, yaml, nil)
	q := te.emit("t.big", `{"text": "`+strings.Repeat("x", 100)+`"}`)
	want := map[string]string{
		"small":  "payload is 112 bytes; it must be under 64 bytes (max_payload)",
		"get":    "URL parameters are 105 bytes; they must be under 64 bytes (max_payload)",
		"broken": "the rendered payload is not valid JSON",
	}
	for _, x := range q {
		if x.Status != InvocationFailed || !strings.Contains(x.Error, want[x.WebhookID]) {
			t.Errorf("%s: %s %q, want failed with %q", x.WebhookID, x.Status, x.Error, want[x.WebhookID])
		}
		inv := te.inv(x.ID)
		if inv.Status != InvocationFailed || inv.Attempts != 0 || inv.NextAt != nil || !strings.Contains(inv.Error, want[x.WebhookID]) {
			t.Errorf("activity log of %s: %+v", x.WebhookID, inv)
		}
	}
	if len(q) != 3 || s.count() != 0 {
		t.Errorf("queued %d, sink got %d; want 3 failed and nothing sent", len(q), s.count())
	}
	// Nothing was made to send, so nothing is sent again: a redelivery
	// says why, and a bulk one passes them over.
	for _, x := range q {
		_, err := te.e.Redeliver(context.Background(), x.ID)
		var ve *ValidationError
		if !errors.As(err, &ve) || !strings.Contains(err.Error(), "failed before it was sent") {
			t.Errorf("Redeliver(%s): %v, want a validation error saying it failed before it was sent", x.WebhookID, err)
		}
	}
	if ids, err := te.e.RedeliverRange(context.Background(), RedeliverQuery{}); err != nil || len(ids) != 0 {
		t.Errorf("RedeliverRange: %v, %v; want none", ids, err)
	}
	time.Sleep(50 * time.Millisecond)
	if s.count() != 0 {
		t.Errorf("sink got %d requests after the redeliveries, want 0", s.count())
	}
	for _, x := range q {
		if inv := te.inv(x.ID); inv.Status != InvocationFailed || inv.Attempts != 0 {
			t.Errorf("after the redeliveries %s: %s with %d attempts", x.WebhookID, inv.Status, inv.Attempts)
		}
	}
}

// TestRebase moves rendered URLs to a webhook's new endpoint, keeping the
// rendered parameters.
func TestRebase(t *testing.T) {
	t.Parallel()
	tests := []struct{ stored, old, cur, want string }{
		{"https://a.example/x", "https://a.example/x", "https://b.example/y", "https://b.example/y"},
		{"https://a.example/x?d=1", "https://a.example/x", "https://b.example/y", "https://b.example/y?d=1"},
		{"https://a.example/x?d=1&fixed=1", "https://a.example/x?fixed=1", "https://b.example/y?other=2", "https://b.example/y?other=2&d=1"},
		{"https://a.example/x?sig=a;b&d=1", "https://a.example/x?sig=a;b", "https://b.example/y?sig=c;d&z=1", "https://b.example/y?sig=c;d&z=1&d=1"},
		{"https://a.example/x?fixed=1&d=1", "https://a.example/x?fixed=1&", "https://b.example/y?z=1&", "https://b.example/y?z=1&d=1"},
		{"https://a.example/x?fixed=1&fixed=2", "https://a.example/x?fixed=1", "https://b.example/y", "https://b.example/y?fixed=2"},
	}
	for _, tt := range tests {
		if got := rebase(tt.stored, tt.old, tt.cur); got != tt.want {
			t.Errorf("rebase(%q, %q, %q) = %q, want %q", tt.stored, tt.old, tt.cur, got, tt.want)
		}
	}
}

// TestRebaseKeepsTheEndpointQuery: an invocation rendered with URL
// parameters and attempted after its webhook's endpoint changed goes to the
// new endpoint with that endpoint's own query as written (a signed or
// order-sensitive URL, a pair holding ;) and the parameters after it, as a
// fresh render lays them out.
func TestRebaseKeepsTheEndpointQuery(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	yaml := func(path, extra string) string {
		return `webhooks:
  - id: get
    endpoint: "` + s.URL + path + `"
    method: GET
    signing: {scheme: none}
` + extra + `triggers:
  - name: get
    when: {event: t.get}
    notify: {webhook: get, params: {q: "{{v}}", b: fixed}}
`
	}
	te := newEnv(t, yaml("/old?sig=a;b&z=2&a=1", "    rate_limit: 1/h\n"), nil)
	first := te.emit("t.get", `{"v": "x1"}`)
	te.settle(first[0].ID, 0)
	second := te.emit("t.get", `{"v": "x2"}`) // throttled: rendered for /old
	te.setConfig(yaml("/new?sig=c;d&z=3&a=1", ""))
	te.settle(second[0].ID, 0)
	got := s.got()
	want := []string{"/old?sig=a;b&z=2&a=1&q=x1&b=fixed", "/new?sig=c;d&z=3&a=1&q=x2&b=fixed"} // params in the config's order
	if len(got) != 2 || got[0].URL != want[0] || got[1].URL != want[1] {
		var urls []string
		for _, g := range got {
			urls = append(urls, g.URL)
		}
		t.Errorf("the sink got %q, want %q", urls, want)
	}
}

// TestDecodeDataMatchesEncodingJSON: the gjson walk gives what
// encoding/json with plain numbers gives.
func TestDecodeDataMatchesEncodingJSON(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		`{"ticket": {"id": 35436, "big": 9007199254740993, "neg": -7, "f": 1.5, "e": 1e3, "z": 0.0, "s": "a \"q\" \u00e9\n\t</x>", "t": true, "n": null,
		  "arr": [1, "two", [3], {"four": 4}], "empty": {}, "none": []}, "dup": 1, "dup": 2, "esc\u0041key": "v", "emoji": "\ud83d\ude00"}`,
		`{}`, `{"a": [], "b": {"c": {"d": {}}}}`,
	} {
		dec := json.NewDecoder(strings.NewReader(in))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatal(err)
		}
		want = rules.PlainNumbers(want)
		if got := decodeData([]byte(in)); !reflect.DeepEqual(got, want) {
			t.Errorf("decodeData(%s)\n got %#v\nwant %#v", in, got, want)
		}
	}
}

// TestStructuredPayloadInEachFormat: a trigger payload written as a YAML
// structure goes to an xml webhook as XML and to a form_encoded one as
// form fields (it went as JSON, escaped for the other format).
func TestStructuredPayloadInEachFormat(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	yaml := `webhooks:
  - {id: x1, endpoint: "` + s.URL + `/x", format: xml, signing: {scheme: none}}
  - {id: f1, endpoint: "` + s.URL + `/f", format: form_encoded, signing: {scheme: none}}
triggers:
  - name: tx
    when: {event: e}
    notify: {webhook: x1, payload: {ticket: {id: "{{ticket.id}}", s: "{{ticket.s}}"}}}
  - name: tf
    when: {event: e}
    notify: {webhook: f1, payload: {id: "{{ticket.id}}", s: "{{ticket.s}}"}}
`
	te := newEnv(t, yaml, nil)
	for _, q := range te.emit("e", `{"ticket": {"id": 7, "s": "a & <b> \"q\" = ?"}}`) {
		if inv := te.settle(q.ID, 0); inv.Status != InvocationSuccess {
			t.Fatalf("%s: %s %q", q.WebhookID, inv.Status, inv.Error)
		}
	}
	want := map[string]string{
		"/x": `<ticket><id>7</id><s>a &amp; &lt;b&gt; &#34;q&#34; = ?</s></ticket>`,
		"/f": `id=7&s=a+%26+%3Cb%3E+%22q%22+%3D+%3F`,
	}
	for _, r := range s.got() {
		if string(r.Body) != want[r.URL] {
			t.Errorf("%s got %q, want %q", r.URL, r.Body, want[r.URL])
		}
	}
}

// structuredBodies sends an event with data to a json webhook whose
// trigger has payload jsonPayload and an xml one with xmlPayload (both YAML
// flow mappings), and returns what each received.
func structuredBodies(t *testing.T, jsonPayload, xmlPayload, data string) (j, x string) {
	t.Helper()
	s := newSink(t, status(200))
	yaml := `webhooks:
  - {id: j1, endpoint: "` + s.URL + `/j", signing: {scheme: none}}
  - {id: x1, endpoint: "` + s.URL + `/x", format: xml, signing: {scheme: none}}
triggers:
  - name: tj
    when: {event: e}
    notify: {webhook: j1, payload: ` + jsonPayload + `}
  - name: tx
    when: {event: e}
    notify: {webhook: x1, payload: ` + xmlPayload + `}
`
	te := newEnv(t, yaml, nil)
	for _, q := range te.emit("e", data) {
		if inv := te.settle(q.ID, 0); inv.Status != InvocationSuccess {
			t.Fatalf("%s: %s %q", q.WebhookID, inv.Status, inv.Error)
		}
	}
	got := map[string]string{}
	for _, r := range s.got() {
		got[r.URL] = string(r.Body)
	}
	return got["/j"], got["/x"]
}

// TestStructuredPayloadKeepsKeyOrder: a YAML payload's keys go out in the
// file's order, merges (<<) where they are and overridden by the
// mapping's own keys (they went sorted: an XML receiver with a sequence
// schema refused the elements).
func TestStructuredPayloadKeepsKeyOrder(t *testing.T) {
	t.Parallel()
	j, x := structuredBodies(t, `{zeta: "{{t.a}}", alpha: 1, list: [{y: 2, b: x}], defaults: &base {zz: 1, mid: base, aa: 2}, <<: *base, mid: own}`,
		`{order: {zeta: "{{t.a}}", alpha: 1, mid: {y: 2, b: x}}}`, `{"t": {"a": "A"}}`)
	if want := `{"zeta":"A","alpha":1,"list":[{"y":2,"b":"x"}],"defaults":{"zz":1,"mid":"base","aa":2},"zz":1,"aa":2,"mid":"own"}`; j != want {
		t.Errorf("json got %s, want %s", j, want)
	}
	if want := `<order><zeta>A</zeta><alpha>1</alpha><mid><y>2</y><b>x</b></mid></order>`; x != want {
		t.Errorf("xml got %s, want %s", x, want)
	}
}

// TestStructuredPayloadKeepsBigIntegers: integers of a YAML payload beyond
// what a float64 holds go out digit for digit, as JSON and as XML
// (9007199254740993 went out as ...992).
func TestStructuredPayloadKeepsBigIntegers(t *testing.T) {
	t.Parallel()
	j, x := structuredBodies(t, `{id: 9007199254740993, big: 12345678901234567890, small: 42, p: 19.99}`,
		`{t: {id: 9007199254740993, big: 12345678901234567890}}`, `{}`)
	if want := `{"id":9007199254740993,"big":12345678901234567890,"small":42,"p":19.99}`; j != want {
		t.Errorf("json got %q, want %q", j, want)
	}
	if want := `<t><id>9007199254740993</id><big>12345678901234567890</big></t>`; x != want {
		t.Errorf("xml got %q, want %q", x, want)
	}
}

// TestOrderedJSONMatchesMarshal: orderedJSON writes what json.Marshal
// writes of the same value, keys aside: merges, aliases, overrides,
// nesting, lists of mappings.
func TestOrderedJSONMatchesMarshal(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{
		`{b: 1, a: [1, {z: 1, y: [true, null, "s"]}], c: {}}`,
		`{a: &x {q: 1, p: 2}, b: *x, <<: *x, q: 9}`,
		`{<<: [{a: 1, b: 1}, {b: 2, c: 2}], b: 3}`,
		`[{<<: {m: 1}, n: 2}, [], "x", 1.5, 12345678901234567890]`,
		`{"k<&>": "v<&>", "": 0}`,
	} {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
			t.Fatal(err)
		}
		v, err := rules.DecodeValue(n.Content[0], "t.yaml", "payload", func(string) string { return "" })
		if err != nil {
			t.Fatal(err)
		}
		got := orderedJSON(nil, n.Content[0], v)
		want, _ := json.Marshal(v)
		var g, w any
		if err := json.Unmarshal(got, &g); err != nil {
			t.Fatalf("%s: %s is no JSON: %v", doc, got, err)
		}
		json.Unmarshal(want, &w)
		if !reflect.DeepEqual(g, w) || len(got) != len(want) {
			t.Errorf("%s: ordered %s, json.Marshal %s", doc, got, want)
		}
	}
}

// TestXMLPayloadNeedsOneRoot: a rendered xml payload that is text, or more
// than one element, fails before it is sent, as invalid JSON does (it went
// out labelled application/xml); one root element with text and comments
// around it goes.
func TestXMLPayloadNeedsOneRoot(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	yaml := `webhooks:
  - {id: text, endpoint: ` + s.URL + `/text, format: xml, signing: {scheme: none}}
  - {id: two, endpoint: ` + s.URL + `/two, format: xml, signing: {scheme: none}}
  - {id: ok, endpoint: ` + s.URL + `/ok, format: xml, signing: {scheme: none}}
triggers:
  - {name: text, when: {event: t.x}, notify: {webhook: text, payload: '{"id": "{{id | upcase}}"}'}}
  - {name: two, when: {event: t.x}, notify: {webhook: two, payload: '<a>{{id | upcase}}</a><b/>'}}
  - {name: ok, when: {event: t.x}, notify: {webhook: ok, payload: '<?xml version="1.0"?>
      <!-- ticket --><a>{{id | upcase}}</a>'}}
`
	te := newEnv(t, yaml, nil)
	q := te.emit("t.x", `{"id": "abc"}`)
	want := map[string]string{
		"text": `the rendered payload is not valid XML: text outside the root element ("{\"id\": \"ABC\"}")`,
		"two":  "the rendered payload is not valid XML: a second root element <b>",
	}
	for _, x := range q {
		if w := want[x.WebhookID]; w != "" && (x.Status != InvocationFailed || x.Error != w) {
			t.Errorf("%s: %s %q, want failed with %q", x.WebhookID, x.Status, x.Error, w)
		}
	}
	waitFor(t, "the delivery of ok", func() bool { return s.count() > 0 })
	time.Sleep(50 * time.Millisecond)
	if got := s.got(); len(q) != 3 || len(got) != 1 || got[0].URL != "/ok" || !strings.HasSuffix(string(got[0].Body), "<a>ABC</a>") {
		t.Errorf("queued %d, sink got %+v; want 3 queued and only ok sent, ending <a>ABC</a>", len(q), got)
	}
}

// TestXMLPayloadAfterByteOrderMark: an xml payload that begins with a
// byte order mark (a document saved by a Windows editor) is XML, as XML
// 1.0 has it, and goes as it was written; the one-root check took the mark
// for text outside the root element and refused the config.
func TestXMLPayloadAfterByteOrderMark(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	yaml := `webhooks:
  - {id: bom, endpoint: ` + s.URL + `/bom, format: xml, signing: {scheme: none}}
triggers:
  - {name: bom, when: {event: t.x}, notify: {webhook: bom, payload: "\ufeff<?xml version=\"1.0\"?><a>{{id}}</a>"}}
`
	te := newEnv(t, yaml, nil)
	if q := te.emit("t.x", `{"id": "abc"}`); len(q) != 1 || q[0].Status == InvocationFailed {
		t.Fatalf("queued %+v, want one delivery", q)
	}
	waitFor(t, "the delivery", func() bool { return s.count() > 0 })
	if got := s.got(); string(got[0].Body) != "\ufeff<?xml version=\"1.0\"?><a>abc</a>" {
		t.Errorf("sink got %q", got[0].Body)
	}
}

// TestParamsKeepTheirOrder: URL parameters and form fields go in the order
// the notify lists them, as Zendesk sends its key/value pairs; they were
// sorted by name.
func TestParamsKeepTheirOrder(t *testing.T) {
	t.Parallel()
	s := newSink(t, nil)
	yaml := `webhooks:
  - id: f
    endpoint: ` + s.URL + `/form
    format: form_encoded
    signing: {scheme: none}
  - id: g
    endpoint: ` + s.URL + `/get?b=0
    method: GET
    signing: {scheme: none}
triggers:
  - name: f
    when: {event: t.order}
    notify: {webhook: f, params: {z: "1", a: "{{ticket.n}}", m: "x y"}}
  - name: g
    when: {event: t.order}
    notify: {webhook: g, params: {z: "1", a: "{{ticket.n}}", m: "x y"}}
`
	te := newEnv(t, yaml, nil)
	for _, x := range te.emit("t.order", `{"ticket": {"n": 42}}`) {
		if inv, _ := te.drive(x.ID); inv.Status != InvocationSuccess {
			t.Fatalf("%s: %s %s", x.WebhookID, inv.Status, inv.Error)
		}
	}
	got := map[string]sunk{}
	for _, r := range s.got() {
		u, _ := url.Parse(r.URL)
		got[u.Path] = r
	}
	if b := string(got["/form"].Body); b != "z=1&a=42&m=x+y" {
		t.Errorf("form body %q, want z=1&a=42&m=x+y", b)
	}
	if u, _ := url.Parse(got["/get"].URL); u == nil || u.RawQuery != "b=0&z=1&a=42&m=x+y" {
		t.Errorf("GET URL %q, want the query b=0&z=1&a=42&m=x+y", got["/get"].URL)
	}
}
