package rules

import (
	"encoding/json"
	"encoding/xml"
	"flag"
	"math"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// nasty is text that breaks naive escaping.
const nasty = "He said \"hi\" \\ </script>\nnext\tline \x01 Zoë 日本 🎉 \u2028 & <b> 'q' a=b&c"

func templateVars() map[string]any {
	return map[string]any{
		"ticket": map[string]any{
			"id":       int64(42),
			"title":    nasty,
			"tags":     []any{"a", "b\"c"},
			"price":    9.5,
			"open":     true,
			"assignee": nil,
			"requester": map[string]any{
				"name": "Zoë </x> \"Q\"",
			},
		},
		"secret": "key",
		"when":   time.Date(2024, 2, 29, 13, 4, 5, 0, time.UTC),
	}
}

func TestTemplateGolden(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		format Format
		src    string
	}{
		{"json_in_string", FormatJSON, `{"title": "{{ticket.title}}", "id": "{{ticket.id}}", "mixed": "#{{ticket.id}}: {{ticket.requester.name}}!"}`},
		{"json_outside_string", FormatJSON, `{"id": {{ticket.id}}, "title": {{ticket.title}}, "ticket": {{ticket}}, "missing": {{ticket.nothing}}, "tags": {{ticket.tags}}, "price": {{ticket.price}}, "open": {{ticket.open}}, "assignee": {{ticket.assignee}}, "when": {{when}}}`},
		{"json_filter", FormatJSON, `{"raw": {{ticket.requester | json}}, "embedded": "{{ticket.tags | json}}"}`},
		{"json_loop", FormatJSON, `[{% for t in ticket.tags %}{"tag": "{{t}}", "n": {{forloop.index}}}{% unless forloop.last %}, {% endunless %}{% endfor %}]`},
		{"json_key", FormatJSON, `{"{{ticket.requester.name}}": {{ticket.id}}}`},
		{"json_escaped_quote_in_literal", FormatJSON, `{"a": "x\"{{ticket.requester.name}}\" y", "b": {{ticket.id}}}`},
		{"json_raw_block", FormatJSON, `{"tpl": "{% raw %}{{x}}{% endraw %}", "v": {{ticket.id}}}`},
		{"json_comment_block", FormatJSON, `{"v": {{ticket.id}}{% comment %} "unbalanced {{x}} {% endcomment %}, "w": "{{ticket.title}}"}`},
		{"json_whitespace_control", FormatJSON, "{\"a\": \n  {{- ticket.id -}}  \n}"},
		{"json_filter_chain", FormatJSON, `{"up": "{{ ticket.requester.name | upcase }}", "n": {{ ticket.id | plus: 1 }}, "s": {{ ticket.id | append: "x" }}}`},
		{"json_capture", FormatJSON, `{% capture label %}#{{ticket.id}} "{{ticket.requester.name}}"{% endcapture %}{"label": "{{label}}", "again": {{label}}}`},
		{"json_if", FormatJSON, `{"state": {% if ticket.open %}"open"{% else %}"closed"{% endif %}, "t": "{{ ticket.requester.name | truncate: 6 }}"}`},
		{"xml", FormatXML, `<ticket id="{{ticket.id}}"><title>{{ticket.title}}</title><name a='{{ticket.requester.name}}'>{{ticket.requester.name}}</name><pre>{{ "<b>&</b>" | xml_escape }}</pre></ticket>`},
		{"form", FormatForm, `title={{ticket.title}}&name={{ticket.requester.name}}&id={{ticket.id}}&pre={{ "a b&c" | url_encode }}`},
		{"text", FormatText, "Title: {{ticket.title}}\nName: {{ticket.requester.name}}\nTags: {{ticket.tags | join: \", \"}}"},
		{"filters", FormatText, strings.Join([]string{
			`base64: {{ "hello" | base64 }}`,
			`base64_decode: {{ "aGVsbG8=" | base64_decode }}`,
			`sha256: {{ "hello" | sha256 }}`,
			`hmac_sha256: {{ "hello" | hmac_sha256: secret }}`,
			`date strftime: {{ when | date: "%Y-%m-%d %H:%M" }}`,
			`date rfc3339: {{ when | date: "rfc3339" }}`,
			`date of string: {{ "2024-02-29T13:04:05Z" | date: "%d/%m/%Y" }}`,
			`date of unix: {{ 1700000000 | date: "rfc3339" }}`,
			`default: {{ ticket.nothing | default: "none" }}`,
			`json: {{ ticket.tags | json }}`,
			`url_encode: {{ "a b&c/é" | url_encode }}`,
			`xml_escape: {{ "<a href='x'>&</a>" | xml_escape }}`,
		}, "\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tpl, err := NewTemplate(tt.src, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			got, err := tpl.Render(templateVars())
			if err != nil {
				t.Fatal(err)
			}
			switch tt.format {
			case FormatJSON:
				if !json.Valid(got) {
					t.Errorf("invalid JSON:\n%s", got)
				}
			case FormatXML:
				if err := xml.Unmarshal(got, new(struct{})); err != nil {
					t.Errorf("invalid XML: %v\n%s", err, got)
				}
			case FormatForm:
				if _, err := url.ParseQuery(string(got)); err != nil {
					t.Errorf("invalid form: %v\n%s", err, got)
				}
			}
			golden := filepath.Join("testdata", "templates", tt.name+".golden")
			if *update {
				if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s (-want +got):\n%s", golden, diff)
			}
		})
	}
}

// TestJSONEscapingRoundTrip checks that values survive JSON rendering: in a
// string they decode back to themselves, outside one they decode to the
// same value.
func TestJSONEscapingRoundTrip(t *testing.T) {
	t.Parallel()
	values := []string{"", nasty, `\`, `"`, `\"`, "</script><script>", "\x00\x1f\x7f", "\xff\xfe invalid", "}}{{", "{% raw %}", "\u2028\u2029", "😀\r\n"}
	tpl, err := NewTemplate(`{"s": "{{v}}", "mid": "a{{v}}b", "o": {{v}}, "k": {"{{v}}": 1}, "l": [{{v}}, "{{v}}"]}`, FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range values {
		out, err := tpl.Render(map[string]any{"v": v})
		if err != nil {
			t.Fatal(err)
		}
		var got struct {
			S, Mid, O string
			K         map[string]int
			L         []string
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("value %q: %v\n%s", v, err, out)
		}
		want := validUTF8(v)
		if got.S != want || got.O != want || got.Mid != "a"+want+"b" || got.K[want] != 1 || len(got.L) != 2 || got.L[0] != want || got.L[1] != want {
			t.Errorf("value %q came back as %+v", v, got)
		}
		if strings.Contains(string(out), "</") {
			t.Errorf("value %q: output contains </: %s", v, out)
		}
	}
}

// validUTF8 replaces each invalid byte of s with U+FFFD.
func validUTF8(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

func TestJSONOutsideStringTypes(t *testing.T) {
	t.Parallel()
	tpl, err := NewTemplate(`{{v}}`, FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"int", 42, "42"},
		{"int64", int64(-7), "-7"},
		{"float", 1.5, "1.5"},
		{"whole float", 3.0, "3"},
		{"string", "x", `"x"`},
		{"nil", nil, "null"},
		{"bool", false, "false"},
		{"map", map[string]any{"b": 1, "a": []any{"x"}}, `{"a":["x"],"b":1}`},
		{"typed map", map[string]string{"k": "v"}, `{"k":"v"}`},
		{"typed slice", []int{1, 2}, `[1,2]`},
		{"time", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC), `"2024-01-02T03:04:05Z"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := tpl.Render(map[string]any{"v": tt.v})
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestRequestVars(t *testing.T) {
	t.Parallel()
	r := &Request{
		Method: "POST", Path: "/users/7", RawQuery: "q=go&tag=a&tag=b",
		Header: http.Header{"Content-Type": {"application/json"}, "X-Request-Id": {"rid-1"}, "Accept": {"a", "b"}},
		Body:   []byte(`{"ticket": {"id": 42, "big": 12345678901234567890, "f": 1.25}}`),
	}
	vars := RequestVars(r, map[string]string{"id": "7"})
	vars["bin"] = "default"
	tests := []struct {
		src  string
		want string
	}{
		{"{{request.method}} {{request.path}} {{request.params.id}}", "POST /users/7 7"},
		{"{{request.query.q}} {{request.query.tag | join: ','}}", "go a,b"},
		{"{{request.headers.x-request-id}}|{{request.headers.X-Request-Id}}|{{request.headers['X-REQUEST-ID']}}", "rid-1|rid-1|rid-1"},
		{"{% if request.headers contains 'X-Request-ID' %}yes{% endif %}", "yes"},
		{"{{request.headers.accept | join: '+'}}", "a+b"},
		{"{{request.json.ticket.id}} {{request.json.ticket.f}}", "42 1.25"},
		{"{{request.json.ticket.id | plus: 1}}", "43"},
		{"{{request.body | size}}", "62"},
		{"{{bin}}", "default"},
	}
	for _, tt := range tests {
		tpl, err := NewTemplate(tt.src, FormatText)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tpl.Render(vars)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		if string(got) != tt.want {
			t.Errorf("%s = %q; want %q", tt.src, got, tt.want)
		}
	}
	form := RequestVars(&Request{Method: "POST", Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, Body: []byte("a=1&b=x+y")}, nil)
	if f := form["request"].(map[string]any)["form"].(map[string]any); f["a"] != "1" || f["b"] != "x y" {
		t.Errorf("form = %v", f)
	}
	js, err := json.Marshal(vars)
	if err != nil || !strings.Contains(string(js), `"x-request-id":"rid-1"`) {
		t.Errorf("vars as JSON = %s, %v", js, err)
	}
}

func TestTemplateRandom(t *testing.T) {
	t.Parallel()
	tpl, err := NewTemplate(`{{ uuid }} {{ "" | uuid }} {{ "" | random_int: 5, 7 }}`, FormatText)
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`^([0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}) ([0-9a-f-]{36}) ([5-7])$`)
	seen := map[string]bool{}
	for range 20 {
		out, err := tpl.Render(nil)
		if err != nil {
			t.Fatal(err)
		}
		m := re.FindStringSubmatch(string(out))
		if m == nil {
			t.Fatalf("output %q", out)
		}
		if m[1] == m[2] || seen[m[1]] {
			t.Errorf("uuid repeated: %q", out)
		}
		seen[m[1]] = true
	}
	if _, err := mustRender(t, `{{ "" | random_int: 9, 1 }}`, nil); err == nil {
		t.Error("random_int 9, 1: want an error")
	}
}

func mustRender(t *testing.T, src string, vars map[string]any) ([]byte, error) {
	t.Helper()
	tpl, err := NewTemplate(src, FormatText)
	if err != nil {
		t.Fatal(err)
	}
	return tpl.Render(vars)
}

func TestTemplateLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want string
	}{
		{"loop without output", `{% for i in (1..100000000) %}{% endfor %}`, "loop iterations"},
		{"nested loops", `{% for i in (1..100000) %}{% for j in (1..100000) %}{% endfor %}{% endfor %}`, "loop iterations"},
		{"gigabytes of output", `{% for i in (1..100000000) %}` + strings.Repeat("x", 1000) + `{% endfor %}`, "output larger than"},
		{"doubling with append", `{% assign s = "xxxxxxxxxxxxxxxx" %}{% for i in (1..64) %}{% assign s = s | append: s %}{% endfor %}`, "larger than"},
		{"doubling with capture", `{% assign s = "xxxxxxxxxxxxxxxx" %}{% for i in (1..64) %}{% capture s %}{{s}}{{s}}{% endcapture %}{% endfor %}`, "larger than"},
		{"growing with replace", `{% assign s = "xxxxxxxxxxxxxxxx" %}{% for i in (1..64) %}{% assign s = s | replace: "x", "xxxxxxxxxx" %}{% endfor %}`, "larger than"},
		// A range given to a list filter was made a list of that many
		// items first, and a list joined with a long separator was
		// allocated whole: either was a fatal out-of-memory, not a panic,
		// that took hooklab down.
		{"a long range as a list", `{% assign n = "1000000000000" | plus: 0 | floor %}{{ (1..n) | join: "," }}`, "longer than"},
		{"a long range concatenated", `{% assign a = "x" | split: "," %}{{ a | concat: (1..1000000000000) | size }}`, "longer than"},
		{"doubling with concat", `{% assign a = "x,x,x,x,x,x,x,x" | split: "," %}{% for i in (1..64) %}{% assign a = a | concat: a %}{% endfor %}`, "longer than"},
		{"joined with a long separator", `{% assign s = "xxxxxxxxxxxxxxxx" %}{% for i in (1..16) %}{% assign s = s | append: s %}{% endfor %}{{ s | split: "" | join: s | size }}`, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			out, err := mustRender(t, tt.src, nil)
			if err == nil || !(strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "took longer than")) {
				t.Fatalf("err = %v (output %d bytes); want %q", err, len(out), tt.want)
			}
			if d := time.Since(start); d > 5*RenderTimeout {
				t.Errorf("took %v", d)
			}
		})
	}
}

// TestTemplateLoopLimitCountsIterations: the loop limit is on
// iterations, as its message says; the placeholders a loop renders do not
// count towards it (they check the render's time only). Counted on the
// guard itself: a render of 100,000 placeholders is too slow under the
// race detector.
func TestTemplateLoopLimitCountsIterations(t *testing.T) {
	t.Parallel()
	g := &renderGuard{deadline: time.Now().Add(time.Hour)}
	for range 2 * MaxRenderIterations {
		if err := g.check(); err != nil {
			t.Fatalf("a placeholder's check failed: %v", err)
		}
	}
	for i := range MaxRenderIterations {
		if err := g.tick(); err != nil {
			t.Fatalf("iteration %d: %v", i+1, err)
		}
	}
	if err := g.tick(); err == nil || !strings.Contains(err.Error(), "more than 100000 loop iterations") {
		t.Errorf("iteration %d: %v", MaxRenderIterations+1, err)
	}
	if err := g.check(); err == nil {
		t.Error("a placeholder after the limit was hit rendered")
	}
	// The loop's tick is wired: a small loop with placeholders renders.
	out, err := mustRender(t, `{% for i in (1..3) %}{{ t.s }}{{ t.s }}{% endfor %}`, map[string]any{"t": map[string]any{"s": "x"}})
	if err != nil || string(out) != "xxxxxx" {
		t.Errorf("a small loop: %q, %v", out, err)
	}
}

func TestTemplateErrors(t *testing.T) {
	t.Parallel()
	for _, src := range []string{`{% if %}`, `{{ x | }}`, `{% include "a.html" %}`, `{% for %}`, `{% unknowntag %}`, `{{10000000000000000000}}`,
		`{"a": {% comment %}x"}`, `{"a": {% raw %}{{x}}"}`, `{% if x %}{% comment %}{% endif %}`} { // unclosed blocks took the rest in
		if _, err := NewTemplate(src, FormatJSON); err == nil {
			t.Errorf("NewTemplate(%q): want an error", src)
		}
	}
	if _, err := mustRender(t, `{{ "%%%" | base64_decode }}`, nil); err == nil {
		t.Error("bad base64: want an error")
	}
	// Errors quote expressions as written, not as rewritten for escaping.
	if _, err := NewTemplate(`{"a": "{{ 1.5e999 }}"}`, FormatJSON); err == nil || strings.Contains(err.Error(), "__hl") || !strings.Contains(err.Error(), "1.5e999") {
		t.Errorf("syntax error = %v", err)
	}
	if _, err := mustRender(t, `{"a": {{ x | divided_by: 0 }}}`, map[string]any{"x": 1}); err == nil ||
		strings.Contains(err.Error(), "__hl") || !strings.Contains(err.Error(), "{{ x | divided_by: 0 }}") {
		t.Errorf("render error = %v", err)
	}
	// An unknown filter is a parse error, wherever it stands, and not one
	// in a string literal, a raw block or a comment.
	for _, src := range []string{`{"a": {{ x | nosuchfilter }}}`, `{% assign y = x | upcase | nosuchfilter: 1 %}`,
		`{% for i in list | nosuchfilter %}{% endfor %}`, `{% if x %}{{ x |nosuchfilter}}{% endif %}`} {
		if _, err := NewTemplate(src, FormatJSON); err == nil || !strings.Contains(err.Error(), `unknown filter "nosuchfilter"`) {
			t.Errorf("NewTemplate(%q) = %v, want unknown filter", src, err)
		}
	}
	// A filter that cannot do without arguments, given none: a parse
	// error (hmac_sha256 signed with an empty key).
	for src, name := range map[string]string{`{{ 'x' | hmac_sha256 }}`: "hmac_sha256", `{{ x | random_int | plus: 1 }}`: "random_int",
		`{{ 0 | random_int: 6 }}`: "random_int", `{{ 0 | random_int: 1, 2, 3 | plus: 1 }}`: "random_int"} {
		if _, err := NewTemplate(src, FormatText); err == nil || !strings.Contains(err.Error(), `filter "`+name+`"`) {
			t.Errorf("NewTemplate(%q) = %v, want the filter's arguments named", src, err)
		}
	}
	for _, src := range []string{`{{ 'x' | hmac_sha256: 'k' }}`, `{{ 'x' | random_int: 1, 2 }}`, `{{ 'x' | hmac_sha256: 'a,b' | random_int: 1, 2 }}`,
		`{{ 'x' | random_int: a, b | plus: 1 }}`} {
		if _, err := NewTemplate(src, FormatText); err != nil {
			t.Errorf("NewTemplate(%q) = %v", src, err)
		}
	}
	for _, src := range []string{`{{ "a | nosuchfilter" | upcase }}`, `{% raw %}{{ x | nosuchfilter }}{% endraw %}`,
		`{% comment %}{{ x | nosuchfilter }}{% endcomment %}`, `{{ x | default: 'a|b' | json | base64 | date: "%Y" }}`} {
		if _, err := NewTemplate(src, FormatJSON); err != nil {
			t.Errorf("NewTemplate(%q) = %v", src, err)
		}
	}
	// A render error names the Liquid problem.
	if _, err := mustRender(t, `{{ 1 | divided_by: 0 }}`, nil); err == nil || !strings.Contains(err.Error(), "render") {
		t.Errorf("divided_by 0: err = %v", err)
	}
	// A range bound that is text, as query values are, says how to make
	// it a number.
	if _, err := mustRender(t, `{% for i in (1..n) %}{{i}}{% endfor %}`, map[string]any{"n": "3"}); err == nil ||
		!strings.Contains(err.Error(), "| floor %}") {
		t.Errorf("a text range bound: err = %v, want the floor hint", err)
	}
}

func TestFormatFor(t *testing.T) {
	t.Parallel()
	tests := []struct {
		ct, body string
		want     Format
	}{
		{"application/json", "x", FormatJSON},
		{"application/json; charset=utf-8", "", FormatJSON},
		{"application/vnd.api+json", "", FormatJSON},
		{"text/xml", "", FormatXML},
		{"application/atom+xml", "", FormatXML},
		{"application/x-www-form-urlencoded", "", FormatForm},
		{"text/plain", `{"a": 1}`, FormatText},
		{"", `  {"a": 1}`, FormatJSON},
		{"", `[1]`, FormatJSON},
		{"", `{{ request.body }}`, FormatText},
		{"", `{% if x %}{}{% endif %}`, FormatJSON},
		{"", `{% assign n = request.query.a %}{"a": "{{ n }}"}`, FormatJSON},
		{"", "{%- assign n = 1 -%}\n  <a>{{n}}</a>", FormatXML},
		{"", `{% assign n = 1 %}{{ n }}`, FormatText},
		{"", `{% if x`, FormatText},
		{"{{ request.query.ct }}", `{"a": "{{ request.query.a }}"}`, FormatJSON},
		{"application/{% if x %}json{% endif %}", `<a/>`, FormatXML},
		{"", `<?xml version="1.0"?><a/>`, FormatXML},
		{"", `ok`, FormatText},
		{"not a media type;;", ``, FormatText},
	}
	for _, tt := range tests {
		if got := FormatFor(tt.ct, tt.body); got != tt.want {
			t.Errorf("FormatFor(%q, %q) = %v; want %v", tt.ct, tt.body, got, tt.want)
		}
	}
}

func TestTemplateConcurrent(t *testing.T) {
	t.Parallel()
	tpl, err := NewTemplate(`{"n": {{n}}, "s": "{{s}}"}{% for i in (1..50) %} {% endfor %}`, FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 8)
	for i := range 8 {
		go func() {
			for range 50 {
				out, err := tpl.Render(map[string]any{"n": i, "s": "x"})
				if err == nil && !json.Valid(out) {
					err = &json.SyntaxError{}
				}
				if err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestAppendJSONStringContent(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`plain`, `plain`},
		{`say "hi"`, `say \"hi\"`},
		{`C:\spool`, `C:\\spool`},
		{"a\nb\r\tc", `a\nb\r\tc`},
		{"\x01\x7f", `\u0001\u007f`},
		{`</b> a/b <`, `<\/b> a/b <`},
		{"Zoë ✓", "Zoë ✓"},
		{"\u2028\u2029", `\u2028\u2029`},
		{"bad \xff", `bad \ufffd`},
	} {
		got := string(AppendJSONStringContent(nil, tc.in))
		if got != tc.want {
			t.Errorf("AppendJSONStringContent(%q) = %s, want %s", tc.in, got, tc.want)
		}
		var back string
		if err := json.Unmarshal([]byte(`"`+got+`"`), &back); err != nil {
			t.Errorf("%q: not a JSON string: %v", got, err)
		} else if !strings.Contains(tc.in, "\xff") && back != tc.in {
			t.Errorf("%q decodes to %q", got, back)
		}
	}
}

// TestTemplateXMLAttributeWhitespace: tabs and line breaks in a value
// survive an XML parser in an attribute as in text.
func TestTemplateXMLAttributeWhitespace(t *testing.T) {
	t.Parallel()
	v := "line1\nline2\ttab\r\nend"
	tpl, err := NewTemplate(`<a x="{{v}}">{{v}}</a>`, FormatXML)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpl.Render(map[string]any{"v": v})
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		X    string `xml:"x,attr"`
		Text string `xml:",chardata"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("%s: %v", out, err)
	}
	if doc.X != v || doc.Text != v {
		t.Errorf("%s parses as attribute %q and text %q, want %q", out, doc.X, doc.Text, v)
	}
}

// TestTemplateXMLCDATAAndComments: a value in a CDATA section arrives as
// it is (entities are not read there), one holding "]]>" too; a value in a
// comment never breaks it. Both through the fast path (plain placeholders)
// and through Liquid (a filter).
func TestTemplateXMLCDATAAndComments(t *testing.T) {
	t.Parallel()
	for _, v := range []string{`q"'<&>]]>--x`, "a]]>b]]>", "ends-", "-5", "--", "ctl\x01 and \ttab\nline\r\nend\r"} {
		for _, src := range []string{
			`<r><c><![CDATA[{{v}}]]></c><!-- {{v}} --><t>{{v}}</t><!--{{v}}--><!-- offset-{{v}}- --></r>`,
			`<r><c><![CDATA[{{v | strip}}]]></c><!-- {{v | strip}} --><t>{{v | strip}}</t><!--{{v | strip}}--></r>`,
		} {
			tpl, err := NewTemplate(src, FormatXML)
			if err != nil {
				t.Fatal(err)
			}
			out, err := tpl.Render(map[string]any{"v": v})
			if err != nil {
				t.Fatal(err)
			}
			var doc struct {
				C string `xml:"c"`
				T string `xml:"t"`
			}
			if err := xml.Unmarshal(out, &doc); err != nil {
				t.Errorf("%q in %s: invalid XML %s: %v", v, src, out, err)
				continue
			}
			want := strings.ReplaceAll(v, "\x01", "\uFFFD")
			if strings.Contains(src, "strip") {
				want = strings.TrimSpace(want)
			}
			if doc.C != want || doc.T != want {
				t.Errorf("%q in %s: %s reads CDATA %q and text %q, want %q", v, src, out, doc.C, doc.T, want)
			}
		}
	}
}

// TestTemplateTextValues: in text (bodies and headers) lists and objects
// are written as JSON and times in RFC 3339, as inside JSON strings, XML
// and forms; strings, numbers and booleans as Liquid writes them.
func TestTemplateTextValues(t *testing.T) {
	t.Parallel()
	tpl, err := NewTemplate(`{{m}}|{{l}}|{{t}}|{{b}}|{{s}}|{{n}}|{{ok}}|{{h}}|{{none}}|{% capture c %}{{l}}{% endcapture %}{{c}}`, FormatText)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpl.Render(map[string]any{
		"m": map[string]any{"k": "</v>", "n": 1}, "l": []any{"1", 2, map[string]any{"x": nil}},
		"t": time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC), "b": []byte("raw"), "s": "str", "n": 2.5, "ok": true,
		"h": Headers{"accept": "a"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"k":"<\/v>","n":1}|["1",2,{"x":null}]|2026-11-30T05:00:00Z|raw|str|2.5|true|{"accept":"a"}||["1",2,{"x":null}]`
	if string(out) != want {
		t.Errorf("got  %s\nwant %s", out, want)
	}
}

// TestTemplateOverRenderLimitRefused: a template whose text alone is
// over what a render may write is refused when it loads, not at every
// request.
func TestTemplateOverRenderLimitRefused(t *testing.T) {
	t.Parallel()
	if _, err := NewTemplate(strings.Repeat("x", MaxRenderSize+1), FormatText); err == nil || !strings.Contains(err.Error(), "file:") {
		t.Errorf("a %d-byte template: %v", MaxRenderSize+1, err)
	}
	if _, err := NewTemplate(strings.Repeat("x", 1<<20), FormatText); err != nil {
		t.Errorf("a 1 MiB template: %v", err)
	}
}

// TestSizeOfMaps: the size filter counts a map's keys (request.headers,
// request.query), as it counts a list's items and a string's characters.
func TestSizeOfMaps(t *testing.T) {
	t.Parallel()
	vars := map[string]any{"request": map[string]any{
		"headers": Headers{"a": "1", "b": "2"}, "query": map[string]any{"x": "1", "y": "2", "z": "3"},
		"list": []any{1, 2, 3, 4}, "text": "héllo",
	}}
	for src, want := range map[string]string{
		`{{ request.headers | size }}`: "2", `{{ request.query | size }}`: "3",
		`{{ request.list | size }}`: "4", `{{ request.text | size }}`: "5", `{{ request.none | size }}`: "0",
	} {
		tpl, err := NewTemplate(src, FormatText)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := tpl.Render(vars); err != nil || string(out) != want {
			t.Errorf("%s = %q, %v; want %s", src, out, err, want)
		}
	}
}

// TestBigIntegersExact: an integer too large for an int64 renders digit
// for digit, in and out of JSON strings; one that fits stays a number
// Liquid can compare.
func TestBigIntegersExact(t *testing.T) {
	t.Parallel()
	dec := json.NewDecoder(strings.NewReader(`{"big": 12345678901234567890, "small": 42, "frac": 1.5}`))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	vars := map[string]any{"x": PlainNumbers(v)}
	for src, want := range map[string]string{
		`{"id": {{x.big}}, "s": "{{x.big}}", "f": {{x.frac}}}`: `{"id": 12345678901234567890, "s": "12345678901234567890", "f": 1.5}`,
		`{% if x.small > 40 %}yes{% endif %} {{x.big}}`:        `yes 12345678901234567890`,
	} {
		f := FormatFor("", src)
		tpl, err := NewTemplate(src, f)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := tpl.Render(vars); err != nil || string(out) != want {
			t.Errorf("%s = %s, %v; want %s", src, out, err, want)
		}
	}
}

func TestNeverJSON(t *testing.T) {
	tests := []struct {
		src   string
		never bool
	}{
		{`{"id": "{{ticket.id}}", "subject": "{{ticket.subject}}"}`, false},
		{`{"id": {{ticket.id}}, "tags": {{ticket.tags}}}`, false},
		{`{ {{key}}: 1 }`, false},              // a key: a string value
		{`{"n": -{{n}}, "e": 1e{{e}}}`, false}, // a number after "-" and "1e"
		{`[{{a}}{{b}}]`, false},                // 1 and 2 make 12
		{`plain text {{x}}`, true},
		{`{"id": {{ticket.id}}`, true}, // unclosed
		{`{"a": 1 {{x}}}`, true},
		{`{"a": "{{x}}" "{{y}}"}`, true},
		{`tr{{x}}`, true},
		{`{% if x %}{"a": 1}{% endif %}`, false}, // tags: beyond the check
		{`{"a": {{x | upcase}}`, false},          // filters: beyond the check
	}
	for _, tt := range tests {
		tpl, err := NewTemplate(tt.src, FormatJSON)
		if err != nil {
			t.Fatalf("NewTemplate(%q): %v", tt.src, err)
		}
		err = tpl.NeverJSON()
		if (err != nil) != tt.never {
			t.Errorf("NeverJSON(%q) = %v, want never %v", tt.src, err, tt.never)
		}
		if err != nil && !strings.Contains(err.Error(), "never valid JSON") {
			t.Errorf("NeverJSON(%q) = %q", tt.src, err)
		}
	}
	// Another format is not JSON's business.
	if tpl, _ := NewTemplate(`plain {{x}}`, FormatText); tpl.NeverJSON() != nil {
		t.Errorf("a text template was judged as JSON")
	}
}

func TestTemplateUnclosedTag(t *testing.T) {
	for _, src := range []string{`{"id": "{{ request.json.id "}`, `{{ request.json.id `, `a {% if x b`, `{"a": 1} {{`, `{%- assign x = 1`} {
		if _, err := NewTemplate(src, FormatJSON); err == nil || !strings.Contains(err.Error(), "has no closing") {
			t.Errorf("NewTemplate(%q) = %v, want an error saying the tag has no closing", src, err)
		}
	}
	// Braces that are no tag, and a tag kept as text by raw, are fine.
	for _, src := range []string{`{"a": {"b": {{x}}}}`, `{% raw %}{{ not a tag{% endraw %}`, `{ {x} }`, `{% comment %}{{ draft{% endcomment %}ok`,
		`https://app.example/cb?state={%22a%22:1}`, `{"redirect":"https://x/cb?d={%22id%22:{{request.json.id}}}"}`, `b={%`} {
		if _, err := NewTemplate(src, FormatJSON); err != nil {
			t.Errorf("NewTemplate(%q) = %v", src, err)
		}
	}
}

// TestTemplateNumbersAsText: a number written as text (inside a JSON
// string, in XML, a form, plain text, through a filter, or by the fast
// path) is written as JSON writes numbers: plain decimals, not 1.5e+06.
func TestTemplateNumbersAsText(t *testing.T) {
	t.Parallel()
	vars := map[string]any{"v": map[string]any{"num": 1500000.5, "flt": 2500000.0, "small": 0.00005, "tiny": 1e-7, "huge": 1e21, "neg": -1234567.25}}
	for _, tc := range []struct {
		format   Format
		src, out string
	}{
		{FormatJSON, `{"a": "{{v.num}}", "f": "{{v.flt}}", "s": "{{v.small}}", "bare": {{v.num}}}`, `{"a": "1500000.5", "f": "2500000", "s": "0.00005", "bare": 1500000.5}`},
		{FormatJSON, `{"b": "{{v.num | default: 0}}", "n": "{{v.neg}}"}`, `{"b": "1500000.5", "n": "-1234567.25"}`},
		{FormatXML, `<n>{{v.num}}</n><t>{{v.tiny}}</t><h>{{v.huge}}</h>`, `<n>1500000.5</n><t>1e-7</t><h>1e+21</h>`},
		{FormatForm, `n={{v.num}}&s={{v.small}}`, `n=1500000.5&s=0.00005`},
		{FormatText, `{{v.num}} {{v.flt}}`, `1500000.5 2500000`},
	} {
		tpl, err := NewTemplate(tc.src, tc.format)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tpl.Render(vars)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != tc.out {
			t.Errorf("%s:\n got %s\nwant %s", tc.src, got, tc.out)
		}
	}
}

// TestAppendNumberIsJSONs: numbers are written as encoding/json writes
// them, in JSON and as text.
func TestAppendNumberIsJSONs(t *testing.T) {
	t.Parallel()
	for _, f := range []float64{0, math.Copysign(0, -1), 1, -2.5, 1500000.5, 2500000, 0.00005, 1e-6, 9.99e-7, 1e-7, 1e20, 1e21,
		123456789.125, 5e-324, math.MaxFloat64, -1e300, 1.0 / 3} {
		want, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendNumber(nil, f); string(got) != string(want) {
			t.Errorf("appendNumber(%v) = %s, want %s", f, got, want)
		}
	}
}

// TestTemplateClosedBlocks: comment and raw blocks that close, nested in
// each other or holding what looks like tags, are fine.
func TestTemplateClosedBlocks(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]string{
		`{% comment %}{% raw %}{% endcomment %}x`:           "x",
		`{% raw %}{% comment %}{{ y }}{% endraw %}`:         "{% comment %}{{ y }}",
		`a{% comment %} {{ x }} {% if %} {% endcomment %}b`: "ab",
	} {
		got, err := mustRender(t, src, nil)
		if err != nil || string(got) != want {
			t.Errorf("%s rendered %q, %v; want %q", src, got, err, want)
		}
	}
}

// A body that starts with a comment or a capture is read for its format
// from what follows the block, not from the block's own text: a JSON body
// behind a comment was sent as text/plain with its placeholders unescaped.
func TestFormatForPastBlocks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body string
		want Format
	}{
		{"{% comment %}Stripe's customer, trimmed{% endcomment %}\n{\"email\": \"{{ e }}\"}", FormatJSON},
		{"{%- comment -%} {\"x\": 1} {%- endcomment -%}\n<r>{{ e }}</r>", FormatXML},
		{"{% comment %}{% if %}{% comment %}{% endcomment %}[1]", FormatJSON},
		{"{% capture g %}Hello {{ e }}{% endcapture %}\n{\"g\": \"{{ g }}\"}", FormatJSON},
		{"{% capture a %}{% capture b %}x{% endcapture %}y{% endcapture %}{% assign n = 1 %} [1]", FormatJSON},
		{"{%\tcapture\tg\t%}<x>{%\tendcapture\t%}{\"a\": 1}", FormatJSON},
		{"{% comment %} never closed {\"a\": 1}", FormatText},
		{"{% capture g %}x{% endcapture %}{{ g }}", FormatText},
		{"{% capture g %}x{% endcapture %}<!DOCTYPE html><p>{{ g }}</p>", FormatXML},
	}
	for _, tt := range tests {
		if got := FormatFor("", tt.body); got != tt.want {
			t.Errorf("FormatFor(%q) = %v; want %v", tt.body, got, tt.want)
		}
	}
	if !isHTML("{% comment %}<p>{% endcomment %}<!DOCTYPE html><p>x</p>") {
		t.Error("isHTML: a leading comment hides the doctype")
	}
	tpl, err := NewTemplate("{% comment %}c{% endcomment %}{\"e\": \"{{ e }}\"}", FormatFor("", "{% comment %}c{% endcomment %}{\"e\": \"{{ e }}\"}"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpl.Render(map[string]any{"e": `a"},"admin":true,"x":"`})
	if err != nil || !json.Valid(out) {
		t.Errorf("render = %s, %v; want valid JSON", out, err)
	}
}

// A Liquid error names the template's line as an editor counts it, from 1.
func TestTemplateErrorLine(t *testing.T) {
	t.Parallel()
	for src, want := range map[string]string{
		"a\nb\nc\nd\n{{ x | bad filter }}":   "(line 5)",
		"{% if x %}1{% endiff %}":            "(line 1)",
		"a\n{% if x %}1{% endiff %}":         "(line 2)",
		"{\n\"a\": {% for %}{% endfor %}\n}": "(line 2)",
	} {
		_, err := NewTemplate(src, FormatText)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("NewTemplate(%q) = %v; want an error naming %s", src, err, want)
		}
	}
	tpl, err := NewTemplate("a\nb\n{{ 1 | divided_by: 0 }}", FormatText)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tpl.Render(nil); err == nil || !strings.Contains(err.Error(), "(line 3)") {
		t.Errorf("render error = %v; want one naming (line 3)", err)
	}
}

// TestTemplateRangeAtIntLimits: a range reaching the ends of int (a JSON
// body's integers are ints) given to a list filter is refused or made
// without looping past its end. Liquid's Range.Len wraps around for
// (min..max), and Range.AsArray never ends a range ending at max: either
// appended items until the process ran out of memory.
func TestTemplateRangeAtIntLimits(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, src, want, err string
	}{
		{"the whole of int", `{{ (a..b) | join: "," }}`, "", "longer than"},
		{"from zero to max", `{{ (0..b) | join: "," }}`, "", "longer than"},
		{"the last three ints", `{{ (c..b) | join: "," }}`, "9223372036854775805,9223372036854775806,9223372036854775807", ""},
		{"the first three ints", `{{ (a..d) | join: "," }}`, "-9223372036854775808,-9223372036854775807,-9223372036854775806", ""},
		{"an empty range", `{{ (3..1) | join: "," }}`, "", ""},
	}
	vars := map[string]any{"a": math.MinInt, "b": math.MaxInt, "c": math.MaxInt - 2, "d": math.MinInt + 2}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			out, err := mustRender(t, tt.src, vars)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v; want %q", err, tt.err)
				}
				return
			}
			if err != nil || string(out) != tt.want {
				t.Fatalf("= %q, %v; want %q", out, err, tt.want)
			}
		})
	}
}

// TestDateUnixPast2262: Unix seconds that do not fit in int64 nanoseconds
// (years before 1678 or after 2262) are still that second: converting
// them to nanoseconds gave 1677-09-21T00:12:43Z for every one.
func TestDateUnixPast2262(t *testing.T) {
	t.Parallel()
	tpl, err := NewTemplate(`{{ a | date: "rfc3339" }} {{ b | date: "rfc3339" }} {{ c | date: "%Y" }} {{ d | date }}`, FormatText)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := tpl.Render(map[string]any{"a": 0, "b": 0, "c": 0, "d": math.NaN()}); err == nil {
		t.Errorf("NaN: Render = %q, want an error (NaN is no time)", got)
	}
	got, err := tpl.Render(map[string]any{"a": 17000000000, "b": "-62135596800", "c": 253402300799.5, "d": 0})
	if want := "2508-09-16T06:13:20Z 0001-01-01T00:00:00Z 9999 1970-01-01T00:00:00Z"; err != nil || string(got) != want {
		t.Errorf("Render = %q, %v; want %q", got, err, want)
	}
}

// TestNDJSONBody: a body sent as newline-delimited JSON is escaped as JSON,
// line by line, so that a value with a quote or a newline in it keeps each
// line one JSON document: application/x-ndjson was text, and such a value
// broke the line it was in and made another.
func TestNDJSONBody(t *testing.T) {
	t.Parallel()
	src := "{\"a\": \"{{ v }}\", \"raw\": {{ v }}}\n{\"b\": \"{{ v | upcase }}\"}\n"
	for _, ct := range []string{"application/x-ndjson", "application/ndjson", "application/jsonl", "application/jsonlines; charset=utf-8", "application/x-jsonlines"} {
		tpl, err := NewTemplate(src, FormatFor(ct, src))
		if err != nil {
			t.Fatal(err)
		}
		out, err := tpl.Render(map[string]any{"v": "x\"}\n{\"evil\": 1"})
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(lines) != 2 {
			t.Errorf("%s: %d lines, want 2:\n%s", ct, len(lines), out)
			continue
		}
		for _, l := range lines {
			if !json.Valid([]byte(l)) {
				t.Errorf("%s: line %q is not JSON", ct, l)
			}
		}
	}
}

// TestTruncateFilters: truncate and truncatewords give what Shopify's
// Liquid gives, for a ticket description of several lines too (truncate
// cut none: its pattern's "." stopped at the first newline).
func TestTruncateFilters(t *testing.T) {
	t.Parallel()
	vars := map[string]any{"d": "line one\nline two\r\nthree", "s": "hello world foo bar", "u": "héllo wörld"}
	tests := []struct{ src, want string }{
		{`{{ d | truncate: 10 }}`, "line on..."},
		{`{{ d | truncate: 10, "" }}`, "line one\nl"},
		{`{{ s | truncate: 10 }}`, "hello w..."},
		{`{{ s | truncate: 19 }}`, "hello world foo bar"},
		{`{{ s | truncate: 2 }}`, "..."},
		{`{{ s | truncate: 0 }}`, "..."},
		{`{{ u | truncate: 8, "…" }}`, "héllo w…"},
		{`{{ s | truncate }}`, "hello world foo bar"},
	}
	for _, tt := range tests {
		tpl, err := NewTemplate(tt.src, FormatText)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := tpl.Render(vars); err != nil || string(out) != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.src, out, err, tt.want)
		}
	}
}

// TestTruncateWordsFilter: truncatewords adds its ellipsis only when words
// were cut, as Shopify's Liquid does (a text of exactly that many words
// ended in "..."), and keeps at least one word.
func TestTruncateWordsFilter(t *testing.T) {
	t.Parallel()
	vars := map[string]any{"d": "line one\nline two", "s": "hello world foo bar"}
	tests := []struct{ src, want string }{
		{`{{ s | truncatewords: 4 }}`, "hello world foo bar"},
		{`{{ s | truncatewords: 9 }}`, "hello world foo bar"},
		{`{{ s | truncatewords: 2 }}`, "hello world..."},
		{`{{ s | truncatewords: 0 }}`, "hello..."},
		{`{{ d | truncatewords: 2, "" }}`, "line one"},
		{`{{ d | truncatewords: 3 }}`, "line one line..."},
	}
	for _, tt := range tests {
		tpl, err := NewTemplate(tt.src, FormatText)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := tpl.Render(vars); err != nil || string(out) != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.src, out, err, tt.want)
		}
	}
}

// TestStripNewlinesFilter: strip_newlines takes out CRLF line ends whole,
// as Shopify's Liquid does; an email's text kept its \r.
func TestStripNewlinesFilter(t *testing.T) {
	t.Parallel()
	tpl, err := NewTemplate(`{"d": "{{ d | strip_newlines }}"}`, FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpl.Render(map[string]any{"d": "Hi,\r\nthe printer\nis on fire\r\n"})
	if want := `{"d": "Hi,the printeris on fire"}`; err != nil || string(out) != want {
		t.Errorf("strip_newlines = %s, %v; want %s", out, err, want)
	}
}

func TestNewlineToBrFilter(t *testing.T) {
	t.Parallel()
	tpl, err := NewTemplate(`{{ d | newline_to_br }}`, FormatText)
	if err != nil {
		t.Fatal(err)
	}
	out, err := tpl.Render(map[string]any{"d": "Hi,\r\nthe printer\nis on fire"})
	if want := "Hi,<br />\nthe printer<br />\nis on fire"; err != nil || string(out) != want {
		t.Errorf("newline_to_br = %q, %v; want %q", out, err, want)
	}
}

// TestEscapeFilters: escape (and its alias h) and escape_once give what
// Shopify's Liquid gives: &quot; for a double quote, and escape_once keeps
// the entities already in the text, numeric or named, as they are.
func TestEscapeFilters(t *testing.T) {
	t.Parallel()
	vars := map[string]any{
		"s": `Tom & "Jerry's" <b>`,
		"e": `a &lt; b &amp;&amp; &nbsp;&#39;&#x41;& c;&;&#;&abc`,
		"n": nil,
		"i": 42,
	}
	tests := []struct{ src, want string }{
		{`{{ s | escape }}`, `Tom &amp; &quot;Jerry&#39;s&quot; &lt;b&gt;`},
		{`{{ s | h }}`, `Tom &amp; &quot;Jerry&#39;s&quot; &lt;b&gt;`},
		{`{{ s | escape_once }}`, `Tom &amp; &quot;Jerry&#39;s&quot; &lt;b&gt;`},
		{`{{ s | escape | escape_once }}`, `Tom &amp; &quot;Jerry&#39;s&quot; &lt;b&gt;`},
		{`{{ e | escape_once }}`, `a &lt; b &amp;&amp; &nbsp;&#39;&amp;#x41;&amp; c;&amp;;&amp;#;&amp;abc`},
		{`{{ n | escape }}`, ``},
		{`{{ i | escape }}`, `42`},
	}
	for _, tt := range tests {
		tpl, err := NewTemplate(tt.src, FormatText)
		if err != nil {
			t.Fatal(err)
		}
		if out, err := tpl.Render(vars); err != nil || string(out) != tt.want {
			t.Errorf("%s = %q, %v; want %q", tt.src, out, err, tt.want)
		}
	}
}

// TestDateFilterReadsCommonDates: date reads the dates that providers and
// people write, Zendesk's "May 1, 2024" among them (it was refused), as
// Shopify's Liquid (Ruby's Time.parse) does.
func TestDateFilterReadsCommonDates(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"May 1, 2024", "2024-05-01 00:00"},
		{"may 1 2024", "2024-05-01 00:00"},
		{"September 30, 2024 14:05", "2024-09-30 14:05"},
		{"Sep 30, 2024 2:05 PM", "2024-09-30 14:05"},
		{"Sep 30, 2024 2:05 pm", "2024-09-30 14:05"},
		{"September 30, 2024 9:05 am", "2024-09-30 09:05"},
		{"Monday, September 30, 2024", "2024-09-30 00:00"},
		{"30 Sep 2024", "2024-09-30 00:00"},
		{"30 September 2024 14:05", "2024-09-30 14:05"},
		{"2024/09/30", "2024-09-30 00:00"},
		{"2024/09/30 14:05:06", "2024-09-30 14:05"},
		{"2024-09-30 14:05", "2024-09-30 14:05"},
		{"2024-09-30T14:05", "2024-09-30 14:05"},
		{"2024-09-30 14:05:06.123", "2024-09-30 14:05"},
		{"Mon Sep 30 14:05:06 2024", "2024-09-30 14:05"},
		{"Mon, 30 Sep 2024 14:05:06 GMT", "2024-09-30 14:05"},
		{"2024-09-30T14:05:06Z", "2024-09-30 14:05"},
	}
	tpl, err := NewTemplate(`{{ d | date: "%Y-%m-%d %H:%M" }}`, FormatText)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		if out, err := tpl.Render(map[string]any{"d": tt.in}); err != nil || string(out) != tt.want {
			t.Errorf("%q | date = %q, %v; want %q", tt.in, out, err, tt.want)
		}
	}
	if out, err := tpl.Render(map[string]any{"d": "the first of May"}); err == nil {
		t.Errorf("an unreadable date gave %q, want an error", out)
	}
}

// TestDateFilterZoneNames: a date with a zone's name means that zone's
// offset, the same on every machine: Go's parser reads a name it does not
// know as a zone of offset 0 (and one the host's zone uses as the host's
// offset), so 10:00 EST came out as 10:00 UTC. A name whose offset is not
// known is an error, not a time hours off.
func TestDateFilterZoneNames(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"2024-05-01 10:00:00 EST", "2024-05-01T15:00:00Z"},
		{"2024-05-01 10:00:00 PDT", "2024-05-01T17:00:00Z"},
		{"2024-05-01 10:00:00 UTC", "2024-05-01T10:00:00Z"},
		{"Wed May  1 10:00:00 PDT 2024", "2024-05-01T17:00:00Z"},
		{"Wed, 01 May 2024 10:00:00 CEST", "2024-05-01T08:00:00Z"},
		{"Wed, 01 May 2024 10:00:00 GMT", "2024-05-01T10:00:00Z"},
		{"Wed, 01 May 2024 10:00:00 -0500", "2024-05-01T15:00:00Z"},
		{"May 1, 2024 10:00", "2024-05-01T10:00:00Z"},
	}
	for _, tt := range tests {
		got, err := parseLiquidDate(tt.in)
		if err != nil || got.UTC().Format(time.RFC3339) != tt.want {
			t.Errorf("parseLiquidDate(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	if got, err := parseLiquidDate("2024-05-01 10:00:00 XYZT"); err == nil {
		t.Errorf("a zone of no known offset gave %v, want an error", got)
	}
}
