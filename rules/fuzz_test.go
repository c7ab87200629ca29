package rules

import (
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	f.Add([]byte(issueExample))
	f.Add([]byte("mocks:\n  - match: {path: '/a/{id}/**', json: [{path: a.b, op: gt, value: 1}], any: [{not: {method: GET}}]}\n    respond: {status: 201, headers: {Content-Type: application/json}, body: '{\"id\": {{request.params.id}}}'}\n"))
	f.Add([]byte("settings: {max_body: 1MiB}\nverify: [{scheme: standard-webhooks, secret: whsec_AAAA, tolerance: 1m}]\n"))
	f.Add([]byte("mocks:\n  - sequence: [{fault: drip, drip_rate: 5}, {fault: reset}]\n    sequence_mode: cycle\n    rate_limit: {limit: 2, window: 1s}\n"))
	f.Add([]byte("a: &x [*x]\n"))
	f.Add([]byte("mocks: [{match: &x {not: *x}, respond: {}}]\n"))
	f.Add([]byte("mocks: [{respond: {<<: {status: 201}}}]\n"))
	f.Add([]byte("mocks:\n\t- bad"))
	f.Add([]byte("webhooks: {x: ${Y}}\n---\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "f.yaml", env("A", "a", "ZENDESK_SECRET", "z"))
		if err != nil {
			var errs *Errors
			if !errors.As(err, &errs) || len(errs.List) == 0 {
				t.Fatalf("error %v (%T) is not a non-empty *Errors", err, err)
			}
			for _, e := range errs.List {
				if e.File != "f.yaml" || e.Line < 1 || e.Col < 1 || e.Msg == "" {
					t.Fatalf("error without a position: %+v", e)
				}
			}
			return
		}
		if _, err := c.Normalized(); err != nil {
			t.Fatalf("Normalized: %v", err)
		}
		if _, err := json.Marshal(c); err != nil {
			t.Fatalf("MarshalJSON: %v", err)
		}
	})
}

const fuzzMatchConfig = `mocks:
  - name: template
    match: {method: [POST, PUT], path: "/users/{id}/files/{name}.json"}
    respond: {}
  - name: globs
    match: {path: "/a/**/b/*/c/**"}
    respond: {}
  - name: json
    match:
      json:
        - {path: a, op: gt, value: 1}
        - {path: b, op: in, value: [x, 2, true, null]}
        - {path: c, op: contains, value: v}
        - {path: "d.#(e>1).f", op: regex, value: "^z"}
      json_partial: {g: [1, {h: i}]}
    respond: {}
  - name: fields
    match:
      query: {q: {regex: "^a+$", case_insensitive: true}, p: {absent: true}}
      headers: {X-Token: {contains: T, case_insensitive: true}}
      form: {f: {present: true}}
      body: {contains: "="}
    respond: {}
  - name: combinators
    match:
      any:
        - all: [{method: GET}, {not: {path: /x}}]
        - not: {headers: {X-A: {present: true}}}
    respond: {}
`

func FuzzMatch(f *testing.F) {
	c, err := Parse([]byte(fuzzMatchConfig), "m.yaml", nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Add("POST", "/users/7/files/a.json", "", "", "application/json", `{"a": 2}`)
	f.Add("GET", "/a/x/y/b/z/c", "q=AAA", "t", "application/x-www-form-urlencoded", "f=1&g=2")
	f.Add("DELETE", "/a/b/c", "q=%zz&p", "", "", `{"a": 3, "b": "x", "c": ["v"], "d": [{"e": 2, "f": "zz"}], "g": [1, {"h": "i", "j": 0}]}`)
	f.Add("GET", "", "", "", "multipart/form-data; boundary=B", "--B\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nx\r\n--B--\r\n")
	f.Add("PUT", "//", ";", "\x00", "application/json; x", `[`)
	f.Fuzz(func(t *testing.T, method, path, query, token, contentType, body string) {
		h := http.Header{}
		if token != "" {
			h.Set("X-Token", token)
		}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		newReq := func() *Request {
			return &Request{Method: method, Path: path, RawQuery: query, Header: h, Body: []byte(body), Bin: "default"}
		}
		m, params := c.MatchMock(newReq())
		name, reasons := c.NearMiss(newReq())
		if m != nil && (name != "" || reasons != nil) {
			t.Fatalf("matched %s but NearMiss = %q, %q", m.Name, name, reasons)
		}
		if m == nil && len(c.Mocks) > 0 && (name == "" || len(reasons) == 0) {
			t.Fatalf("no match but no near miss")
		}
		for _, mock := range c.Mocks {
			r := newReq()
			_, ok := mock.Match.Match(r)
			why := mock.Match.Explain(r)
			if ok != (len(why) == 0) {
				t.Fatalf("%s: Match = %v but Explain = %q", mock.Name, ok, why)
			}
		}
		vars := RequestVars(newReq(), params)
		if _, err := json.Marshal(vars); err != nil {
			t.Fatalf("RequestVars not encodable: %v", err)
		}
	})
}

func FuzzRender(f *testing.F) {
	f.Add(nasty, `{"a": "{{v}}"}`)
	f.Add("\xff\x00\"\\</", `{{v | json}}`)
	f.Add("{{v}}", `[{% for c in v %}"{{c}}"{% endfor %}]`)
	f.Add("}}", `{"x": {{v | upcase}}, "y": "{{ v | split: ',' | first }}"}`)
	f.Add("a", `{% raw %}{{v}}{% endraw %}{% comment %}"{% endcomment %}`)
	f.Add("a", `{% include "x" %}`)
	f.Add("\"", `{% capture c %}"{{v}}{% endcapture %}{"c": "{{c}}", "d": {{c}}}`)
	f.Add("", `{% for i in (1..10) %}{% for j in (1..10) %}{{i}}{% endfor %}{% endfor %}`)
	f.Add("k", `{ {{v}}: -{{list}} }`)
	f.Add("1", `[{{v}}{{v}}]`)
	tpl, err := NewTemplate(`{"s": "{{v}}", "mid": "<{{v}}>", "o": {{v}}, "k": {"{{v}}": [{{v}}, "{{v | upcase}}", {{v | json}}]}}`, FormatJSON)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, v, src string) {
		// Any string value keeps a JSON template valid JSON.
		out, err := tpl.Render(map[string]any{"v": v})
		if err != nil {
			t.Fatalf("Render: %v", err)
		}
		if !json.Valid(out) {
			t.Fatalf("invalid JSON for %q:\n%s", v, out)
		}
		var got struct{ S, O string }
		if err := json.Unmarshal(out, &got); err != nil || got.S != validUTF8(v) || got.O != validUTF8(v) {
			t.Fatalf("value %q came back as %+v (%v)", v, got, err)
		}
		// Any template source parses or fails cleanly, and renders within the
		// limits.
		for _, format := range []Format{FormatText, FormatJSON, FormatXML, FormatForm} {
			t2, err := NewTemplate(src, format)
			if err != nil {
				continue
			}
			// A variable UnknownRoot names is one the source reads.
			if name, _, _ := t2.UnknownRoot([]string{"v", "list"}); name != "" && !strings.Contains(src, name) {
				t.Fatalf("UnknownRoot(%q) = %q, not in the source", src, name)
			}
			out, err := t2.Render(map[string]any{"v": v, "list": []any{v, 1}})
			if err == nil && len(out) > MaxRenderSize {
				t.Fatalf("output of %d bytes", len(out))
			}
			if format == FormatJSON && err == nil && json.Valid(out) {
				if why := t2.NeverJSON(); why != nil {
					t.Fatalf("NeverJSON(%q) = %v, but it rendered valid JSON %q", src, why, out)
				}
			}
			if format == FormatJSON && err == nil && json.Valid([]byte(src)) && !strings.Contains(src, "{%") && !strings.Contains(src, "{{") {
				// A template without Liquid renders to itself.
				if !slices.Equal(out, []byte(src)) {
					t.Fatalf("plain JSON %q rendered as %q", src, out)
				}
			}
		}
	})
}
