package rules

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// fastVars holds every kind of value a placeholder meets: from decoded
// JSON, from Go code (ints, times, Headers), hostile strings, and the names
// Liquid treats specially.
func fastVars() map[string]any {
	return map[string]any{
		"ticket": map[string]any{
			"id":      42,
			"big":     int64(1<<53 + 1),
			"f":       1.5,
			"whole":   3.0,
			"n":       json.Number("12.50"),
			"subject": "Printer \"HP\" </b> C:\\spool\n\tdone ✓ \u2028 & <x a='1'> bad\xff",
			"ok":      true,
			"none":    nil,
			"tags":    []any{"a", 1.0, nil, map[string]any{"x": "</y>"}},
			"via":     map[string]any{"b": 1, "a": "</script>"},
			"size":    "S",
			"empty":   map[string]any{},
			"strs":    []string{"a", "b"},
			"headers": Headers{"X-A": []string{"1", "2"}},
		},
		"list":    []any{1, 2},
		"now":     time.Date(2026, 11, 30, 4, 5, 6, 7, time.UTC),
		"s":       "plain",
		"empty_s": "",
		"drop":    fixedDrop{},
		"request": map[string]any{"headers": Headers{"accept": "text/html"}},
	}
}

// fixedDrop is a Liquid drop: the engine renders what ToLiquid returns.
type fixedDrop struct{}

func (fixedDrop) ToLiquid() any { return "dropped" }

// fastPaths are placeholders to try, with whether renderFast must handle
// them in every format (true) or may leave them to Liquid.
var fastPaths = []struct {
	path string
	fast bool
}{
	{"ticket.id", false}, // an int: fast but for text templates
	{"ticket.big", false},
	{"ticket.f", false},
	{"ticket.whole", false},
	{"ticket.n", false},
	{"ticket.subject", true},
	{"ticket.ok", false},
	{"ticket.none", true},
	{"ticket.none.x", false},
	{"ticket.tags", false},
	{"ticket.tags.first", false},
	{"ticket.tags.size", false},
	{"ticket.via", false},
	{"ticket.via.a", true},
	{"ticket.via.size", false},
	{"ticket.size", true},
	{"ticket.empty", false},
	{"ticket.strs", false},
	{"ticket.headers", false},
	{"ticket.missing", true},
	{"missing", true},
	{"missing.deeper", false},
	{"now", false},
	{"list", false},
	{"list.size", false},
	{"s", true},
	{"empty_s", true},
	{"drop", false},
	{"uuid", false}, // the drop Render adds: a new UUID each time
	{"request.headers.Accept", false},
	{"request.headers.accept", false},
	{"request.headers", false},
	{"ticket.subject | upcase", false},
	{"ticket . id", false},
	{"true", false},
	{"empty", false},
}

// TestTemplateFastPathMatchesLiquid renders every placeholder in every
// format and position both ways: the fast path must give exactly what the
// Liquid engine gives, and must be taken where it is expected to be.
func TestTemplateFastPathMatchesLiquid(t *testing.T) {
	vars := fastVars()
	shapes := []string{`{{%s}}`, `"{{ %s }}"`, `{"v": {{%s}}, "w": "a{{%s}}b"}`, `<a x="{{%s}}">{{%s}}</a>`, `k={{%s}}&j=1`, `x {{-%s}} y`}
	formats := []Format{FormatText, FormatJSON, FormatXML, FormatForm}
	fastCount := 0
	for _, p := range fastPaths {
		for _, shape := range shapes {
			src := strings.ReplaceAll(shape, "%s", p.path)
			for _, f := range formats {
				tpl, err := NewTemplate(src, f)
				if err != nil {
					continue // e.g. "{{ __hl }}" shapes Liquid refuses
				}
				want, werr := tpl.renderLiquid(vars)
				got, gerr := tpl.Render(vars)
				if p.path == "uuid" {
					// Random: the same shape, a UUID where Liquid put one.
					want, got = uuidRE.ReplaceAll(want, []byte("U")), uuidRE.ReplaceAll(got, []byte("U"))
					if !bytes.Contains(got, []byte("U")) {
						t.Errorf("%s %q: no UUID in %q", f, src, got)
					}
				}
				if (werr != nil) != (gerr != nil) || !bytes.Equal(got, want) || (got == nil) != (want == nil) {
					t.Errorf("%s %q: Render = %q, %v; Liquid = %q, %v", f, src, got, gerr, want, werr)
				}
				if tpl.fast == nil {
					continue
				}
				_, ok := tpl.renderFast(vars)
				if ok {
					fastCount++
				}
				if p.fast && !ok && shape != `x {{-%s}} y` {
					t.Errorf("%s %q: not rendered by the fast path", f, src)
				}
			}
		}
	}
	if fastCount < 40 {
		t.Errorf("only %d renders took the fast path", fastCount)
	}
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}`)

// TestTemplateFastPathLimits checks that the render limits hold on the
// fast path as on Liquid's: output size, literal text included.
func TestTemplateFastPathLimits(t *testing.T) {
	big := strings.Repeat("x", MaxRenderSize-5)
	for _, tt := range []struct {
		name string
		src  string
		vars map[string]any
	}{
		{"text after a placeholder", `{{x}}0123456789`, map[string]any{"x": big}},
		// (Text alone over the limit is refused when the template loads.)
		{"text with a short placeholder", strings.Repeat("y", MaxRenderSize-6) + "{{s}}", map[string]any{"s": "0123456789"}},
		{"placeholder", `{{x}}{{x}}`, map[string]any{"x": big}},
	} {
		for _, f := range []Format{FormatText, FormatJSON} {
			tpl, err := NewTemplate(tt.src, f)
			if err != nil {
				t.Fatal(err)
			}
			out, err := tpl.Render(tt.vars)
			if err == nil {
				t.Errorf("%s, %s: rendered %d bytes, want a limit error", tt.name, f, len(out))
			}
		}
	}
}

// TestTemplateFastPathTaken pins the templates the emitter and mock rules
// use most: JSON payloads of plain placeholders render without the engine,
// numbers outside strings included.
func TestTemplateFastPathTaken(t *testing.T) {
	vars := fastVars()
	for _, tt := range []struct {
		src  string
		f    Format
		want string
	}{
		{`{"id": {{ticket.id}}, "s": "{{ticket.via.a}}", "n": {{ticket.n}}, "ok": {{ticket.ok}}}`, FormatJSON,
			`{"id": 42, "s": "<\/script>", "n": 12.50, "ok": true}`},
		{`<t id="{{ticket.id}}">{{ticket.via.a}}</t>`, FormatXML, `<t id="42">&lt;/script&gt;</t>`},
		{`a={{s}}&b={{ticket.via.a}}`, FormatForm, `a=plain&b=%3C%2Fscript%3E`},
		{`hello {{s}}{{missing}}!`, FormatText, `hello plain!`},
	} {
		tpl, err := NewTemplate(tt.src, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		out, ok := tpl.renderFast(vars)
		if !ok || string(out) != tt.want {
			t.Errorf("%q: renderFast = %q, %v; want %q", tt.src, out, ok, tt.want)
		}
	}
}

// FuzzTemplateFastPath checks that for any template and any JSON data the
// fast path, when it answers, answers as Liquid does.
func FuzzTemplateFastPath(f *testing.F) {
	f.Add(`{"id": {{ticket.id}}, "s": "{{ticket.subject}}"}`, `{"ticket":{"id":1,"subject":"a\"b"}}`, uint8(1))
	f.Add(`<a>{{x}}</a>`, `{"x":"<&>"}`, uint8(2))
	f.Add(`q={{x.y}}`, `{"x":{"y":[1,"2"]}}`, uint8(3))
	f.Add(`{{ uuid }}`, `{"uuid":"u"}`, uint8(0))
	f.Add(`"\\"{{x}}"`, `{"x":1.25e3}`, uint8(1))
	f.Fuzz(func(t *testing.T, src, data string, format uint8) {
		vars := map[string]any{}
		if json.Unmarshal([]byte(data), &vars) != nil {
			return
		}
		tpl, err := NewTemplate(src, Format(format%4))
		if err != nil || tpl.fast == nil {
			return
		}
		got, ok := tpl.renderFast(vars)
		if !ok {
			return
		}
		want, err := tpl.renderLiquid(vars)
		if err != nil {
			t.Fatalf("%q: fast path rendered %q, Liquid failed: %v", src, got, err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("%q with %s: fast path %q, Liquid %q", src, data, got, want)
		}
	})
}

// BenchmarkTemplateRender compares the fast path with the Liquid engine on
// a Zendesk-style JSON payload of seven placeholders.
func BenchmarkTemplateRender(b *testing.B) {
	tpl, err := NewTemplate(`{"id": {{ticket.id}}, "subject": "{{ticket.subject}}", "priority": "{{ticket.size}}", "a": "{{ticket.via.a}}", "s": "{{s}}", "m": "{{missing}}", "n": {{ticket.n}}}`, FormatJSON)
	if err != nil {
		b.Fatal(err)
	}
	vars := fastVars()
	for _, bb := range []struct {
		name   string
		render func(map[string]any) ([]byte, error)
	}{{"fast", tpl.Render}, {"liquid", tpl.renderLiquid}} {
		b.Run(bb.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := bb.render(vars); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
