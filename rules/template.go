package rules

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	mrand "math/rand/v2"
	"mime"
	"net/url"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/osteele/liquid"
	"github.com/osteele/liquid/filters"
	"github.com/osteele/liquid/parser"
	"github.com/osteele/liquid/render"
	"github.com/osteele/liquid/values"
	"github.com/osteele/tuesday"
)

// Format says how a template's placeholders are escaped.
type Format int

// Formats.
const (
	// FormatText writes values as Liquid does, unescaped.
	FormatText Format = iota
	// FormatJSON escapes a placeholder inside a JSON string literal for that
	// string, and writes one outside a string as a JSON value.
	FormatJSON
	// FormatXML escapes placeholders for XML text and attribute values.
	FormatXML
	// FormatForm URL-encodes placeholders (application/x-www-form-urlencoded).
	FormatForm
)

// String names the format.
func (f Format) String() string {
	switch f {
	case FormatJSON:
		return "json"
	case FormatXML:
		return "xml"
	case FormatForm:
		return "form"
	}
	return "text"
}

// Render limits. A render that writes more than MaxRenderSize bytes, runs
// more than MaxRenderIterations loop iterations, gives a list filter a list
// of more than MaxListItems or takes longer than RenderTimeout stops with
// an error. A filter is not interrupted by the timeout, so the list bound
// keeps each one to a fraction of a second (and 16 MiB of items).
const (
	MaxRenderSize       = 8 << 20
	MaxRenderIterations = 100_000
	MaxListItems        = 1 << 20
	RenderTimeout       = 2 * time.Second
)

// Names used by the rewritten template source. They are not meant for
// authors.
const (
	guardVar   = "__hl"
	tickFilter = "__hl_tick"
)

// Template is a Liquid template parsed once, with placeholders escaped for
// its Format. A Template is safe for concurrent use.
//
// Templates cannot read files ({% include %} is refused) or the environment.
// Beyond Liquid's standard filters they have json, xml_escape, url_encode,
// base64, base64_decode, sha256, hmac_sha256: key, uuid, random_int: a, b,
// and date (strftime, or "rfc3339"); {{ uuid }} alone also gives a new UUID.
type Template struct {
	src    string
	format Format
	tpl    *liquid.Template
	// fast is the template as literal text and plain placeholders, when it
	// is no more than that; nil otherwise. See renderFast.
	fast []fastSeg
	// exprs are its outputs' and tags' expressions, for UnknownField.
	exprs []exprUse
}

// FormatFor chooses the escaping format of a body from its Content-Type and,
// when the type is empty or itself a template (known only per request),
// from the body itself: past leading Liquid tags ({% assign %} and the
// like), a body starting with { or [ is JSON, one starting with < is XML,
// and one starting with a placeholder is text.
func FormatFor(contentType, body string) Format {
	if strings.Contains(contentType, "{{") || strings.Contains(contentType, "{%") {
		contentType = ""
	}
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil {
			mt = strings.ToLower(strings.TrimSpace(strings.Split(contentType, ";")[0]))
		}
		switch {
		case mt == "application/json", strings.HasSuffix(mt, "+json"), mt == "text/json":
			return FormatJSON
		case mt == "application/x-ndjson", mt == "application/ndjson", mt == "application/jsonl",
			mt == "application/jsonlines", mt == "application/x-jsonlines":
			// A JSON document a line: escaped as JSON is, so that a
			// newline in a value stays in its string.
			return FormatJSON
		case mt == "application/xml", mt == "text/xml", strings.HasSuffix(mt, "+xml"), mt == "text/html":
			// HTML: escaped as XML text is (a request's <script> stays
			// text in the page).
			return FormatXML
		case mt == "application/x-www-form-urlencoded":
			return FormatForm
		}
		return FormatText
	}
	b, ok := pastTags(body)
	switch {
	case !ok:
		return FormatText
	case strings.HasPrefix(b, "{{"):
		return FormatText
	case strings.HasPrefix(b, "{"), strings.HasPrefix(b, "["):
		return FormatJSON
	case strings.HasPrefix(b, "<"):
		return FormatXML
	}
	return FormatText
}

// pastTags returns a body template past its leading Liquid tags ({%
// assign %} and the like), the blocks among them that output nothing ({%
// comment %} and {% capture %}, whose text is not where the body starts),
// and spaces; ok is false for a tag or block left open.
func pastTags(body string) (rest string, ok bool) {
	b := strings.TrimSpace(body)
	for strings.HasPrefix(b, "{%") {
		end := strings.Index(b, "%}")
		if end < 0 {
			return "", false
		}
		name := tagName(b[2:end])
		b = strings.TrimSpace(b[end+2:])
		if name == "comment" || name == "capture" {
			if b, ok = pastBlock(b, name); !ok {
				return "", false
			}
		}
	}
	return b, true
}

// tagName is the name of a Liquid tag from what stands between its {% and
// %}, whitespace-control dashes aside.
func tagName(inner string) string {
	f := strings.Fields(strings.TrimPrefix(inner, "-"))
	if len(f) == 0 {
		return ""
	}
	return strings.TrimSuffix(f[0], "-")
}

// pastBlock returns b past the end tag of the block name that b is inside
// (blocks of the same name nest; a comment holds no tags but its end),
// with leading spaces trimmed; ok is false when the block is left open.
func pastBlock(b, name string) (string, bool) {
	depth := 1
	for {
		start := strings.Index(b, "{%")
		if start < 0 {
			return "", false
		}
		end := strings.Index(b[start:], "%}")
		if end < 0 {
			return "", false
		}
		end += start
		switch tagName(b[start+2 : end]) {
		case name:
			if name != "comment" {
				depth++
			}
		case "end" + name:
			depth--
		}
		b = b[end+2:]
		if depth == 0 {
			return strings.TrimSpace(b), true
		}
	}
}

// isHTML reports whether a body template, past leading Liquid tags, starts
// as an HTML document does.
func isHTML(body string) bool {
	b, ok := pastTags(body)
	if !ok {
		return false
	}
	b = strings.ToLower(b[:min(len(b), 14)])
	return strings.HasPrefix(b, "<!doctype html") || strings.HasPrefix(b, "<html")
}

// NewTemplate parses src as a Liquid template whose placeholders are escaped
// for format. It fails on Liquid syntax errors, on {% include %}, and on a
// template longer than any render may write (MaxRenderSize).
func NewTemplate(src string, format Format) (t *Template, err error) {
	if len(src) > MaxRenderSize {
		return nil, fmt.Errorf("the template is %d bytes, over the %d MiB a render may write; serve a large body from a file (file:)", len(src), MaxRenderSize>>20)
	}
	rw, err := rewrite(src, format)
	if err != nil {
		return nil, err // a *TemplateError, or too large
	}
	// The Liquid parser panics on some input (an integer literal beyond
	// int64): that is a syntax error, not a crash.
	defer func() {
		if r := recover(); r != nil {
			msg := fmt.Sprint(r)
			if len(msg) > 200 {
				msg = strings.ToValidUTF8(msg[:200], "") + "..."
			}
			t, err = nil, &TemplateError{Err: fmt.Errorf("liquid: %s", msg)}
		}
	}()
	eng := newEngine()
	// Line 1 is the first: ParseString counts from 0, so its "(line N)"
	// named the line before the one at fault (and none on the first).
	tpl, serr := eng.ParseTemplateLocation([]byte(rw.src), "", 1)
	if serr != nil {
		return nil, &TemplateError{Line: serr.LineNumber(), Err: fmt.Errorf("liquid: %s", unwrapInternal(serr.Error()))}
	}
	if err := checkFilters(eng, rw.filters); err != nil {
		return nil, err
	}
	return &Template{src: src, format: format, tpl: tpl, fast: rw.fast, exprs: rw.exprs}, nil
}

// quoted matches a Liquid string literal.
var quoted = regexp.MustCompile(`"[^"]*"|'[^']*'`)

// UnknownField returns the first NAME of root.NAME that an output or a
// tag of t reads and that is none of fields (nor size, which Liquid gives
// every object), with the line of the template it is on: a field the
// context never has, so a slip (request.param for request.params) that
// writes nothing. It returns "" when there is none, or when t assigns
// the variable root starts with ({% assign %}, {% capture %}, a loop
// variable).
func (t *Template) UnknownField(root string, fields []string) (name string, line int) {
	ref := regexp.MustCompile(`(?:^|[^\w.\-])` + regexp.QuoteMeta(root) + `\.([A-Za-z_][\w-]*)`)
	for _, e := range t.exprs {
		switch e.tag {
		case "assign", "capture", "for", "tablerow", "increment", "decrement":
			if first, _, _ := strings.Cut(strings.TrimSpace(e.args), " "); first == strings.Split(root, ".")[0] {
				return "", 0
			}
		}
	}
	for _, e := range t.exprs {
		for _, m := range ref.FindAllStringSubmatch(quoted.ReplaceAllString(e.args, `""`), -1) {
			if m[1] != "size" && !slices.Contains(fields, m[1]) {
				return m[1], e.line
			}
		}
	}
	return "", 0
}

// UnknownRoot returns the first variable that an output or a tag of t
// reads and that is none of roots, nor one t sets ({% assign %},
// {% capture %}, a loop's variable, forloop), with what follows it
// (".id" for path.id) and the line of the template it is on: a variable
// the context never has, so a slip (path.id for request.params.id) that
// writes nothing. It looks only where a name can only be a variable (an
// output, and the conditions of if, unless, elsif, case and when, the
// value of an assign, the list of a for), and returns "" when there is
// none.
func (t *Template) UnknownRoot(roots []string) (name, rest string, line int) {
	set := map[string]bool{"forloop": true, "tablerowloop": true}
	for _, e := range t.exprs {
		switch e.tag {
		case "assign", "capture", "increment", "decrement", "for", "tablerow":
			if m := identRE.FindString(strings.TrimSpace(e.args)); m != "" {
				set[m] = true
			}
		}
	}
	for _, e := range t.exprs {
		args := quoted.ReplaceAllString(e.args, `""`)
		switch e.tag {
		case "", "if", "unless", "elsif", "case", "when":
		case "assign":
			_, args, _ = strings.Cut(args, "=")
		case "for", "tablerow":
			// "item in list limit: 2": what follows " in ".
			m := inRE.FindStringIndex(args)
			if m == nil {
				continue
			}
			args = args[m[1]:]
		default:
			continue
		}
		for _, m := range identRE.FindAllStringIndex(args, -1) {
			word := args[m[0]:m[1]]
			if m[0] > 0 && strings.ContainsRune(".-[]", rune(args[m[0]-1])) || isDigitOrWord(args, m[0]-1) {
				continue // a property (a.b, a[b].c), or inside a number or range (1..n)
			}
			before := strings.TrimRight(args[:m[0]], " \t\r\n")
			after := strings.TrimLeft(args[m[1]:], " \t\r\n")
			if strings.HasSuffix(before, "|") || strings.HasPrefix(after, ":") {
				continue // a filter, or a named argument (limit: 2)
			}
			if set[word] || liquidWord(word) || slices.Contains(roots, word) {
				continue
			}
			return word, propRE.FindString(args[m[1]:]), e.line
		}
	}
	return "", "", 0
}

var (
	identRE = regexp.MustCompile(`[A-Za-z_][\w-]*`)
	inRE    = regexp.MustCompile(`\sin\s`)
	propRE  = regexp.MustCompile(`^(?:\.[A-Za-z_][\w-]*|\[""\])*`)
)

// liquidWord reports whether w is a word of Liquid's expressions that is
// not a variable.
func liquidWord(w string) bool {
	switch w {
	case "and", "or", "contains", "in", "true", "false", "nil", "null", "empty", "blank", "reversed", "with", "as", "else", "continue":
		return true
	}
	return false
}

// isDigitOrWord reports whether s[i] is a letter, digit or underscore.
func isDigitOrWord(s string, i int) bool {
	if i < 0 {
		return false
	}
	c := s[i]
	return c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

// listAnd writes words as "a, b and c".
func listAnd(words []string) string {
	if len(words) < 2 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}

// TemplateError is a template that does not parse (from NewTemplate),
// and the line of the template at fault: 1 for the first, 0 when no one
// line is.
type TemplateError struct {
	Line int
	Err  error
}

func (e *TemplateError) Error() string { return e.Err.Error() }
func (e *TemplateError) Unwrap() error { return e.Err }

// filterUse is a filter a template names, the tag that names it and the
// line it starts on, and whether it is given arguments (name: a, b).
type filterUse struct {
	name, tag string
	line      int
	nargs     int
}

// filterArgs names what the filters that cannot do without arguments
// take, and how many.
var filterArgs = map[string]struct {
	what string
	n    int
}{"hmac_sha256": {"a key", 1}, "random_int": {"two numbers a, b", 2}}

// checkFilters refuses a filter eng does not know, which Liquid would only
// report when a render reaches it: a typo in a config would otherwise
// pass `hooklab check` and fail every request.
func checkFilters(eng *liquid.Engine, uses []filterUse) error {
	known := map[string]bool{}
	for _, u := range uses {
		ok, seen := known[u.name]
		if !seen {
			_, err := eng.ParseAndRenderString("{{ nil | "+u.name+" }}", nil)
			ok = err == nil || !strings.Contains(err.Error(), "undefined filter")
			known[u.name] = ok
		}
		if !ok {
			return &TemplateError{Line: u.line, Err: fmt.Errorf("liquid: unknown filter %q in %s", u.name, u.tag)}
		}
		if want, needs := filterArgs[u.name]; needs && u.nargs != want.n {
			return &TemplateError{Line: u.line, Err: fmt.Errorf("liquid: filter %q in %s takes %s (%s: ...)", u.name, u.tag, want.what, u.name)}
		}
	}
	return nil
}

// filterName is a filter named in an expression, and how many arguments
// follow it (after a colon, separated by commas).
type filterName struct {
	name  string
	nargs int
}

// filterNames returns the names after each | outside string literals in
// a Liquid expression, and how many arguments each takes (after its colon,
// one more than the commas outside string literals before the next |).
func filterNames(expr string) []filterName {
	var out []filterName
	var quote byte
	args := -1 // the filter in out whose arguments are being read
	for i := 0; i < len(expr); i++ {
		c := expr[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == ',' && args >= 0:
			out[args].nargs++
		case c == '|':
			args = -1
			j := i + 1
			for j < len(expr) && (expr[j] == ' ' || expr[j] == '\t' || expr[j] == '\n' || expr[j] == '\r') {
				j++
			}
			k := j
			for k < len(expr) && (expr[k] == '_' || expr[k] == '-' || 'a' <= expr[k] && expr[k] <= 'z' || 'A' <= expr[k] && expr[k] <= 'Z' || '0' <= expr[k] && expr[k] <= '9') {
				k++
			}
			if k > j {
				a := k
				for a < len(expr) && (expr[a] == ' ' || expr[a] == '\t' || expr[a] == '\n' || expr[a] == '\r') {
					a++
				}
				out = append(out, filterName{expr[j:k], 0})
				if a < len(expr) && expr[a] == ':' {
					// (A colon with nothing after it is a Liquid syntax
					// error before this is asked.)
					args = len(out) - 1
					out[args].nargs = 1
					k = a + 1
				}
			}
			i = k - 1
		}
	}
	return out
}

// Sample renders t with each placeholder writing fill as it stands (fill
// should need no escaping in t's format), for a check of the form its
// renderings take; ok is false when t is beyond that (it has tags or
// filters).
func (t *Template) Sample(fill string) (out []byte, ok bool) {
	if t.fast == nil {
		return nil, false
	}
	for _, seg := range t.fast {
		if seg.path == nil {
			out = append(out, seg.text...)
		} else {
			out = append(out, fill...)
		}
	}
	return out, true
}

// NeverJSON reports why a JSON template can render nothing but invalid
// JSON, and is nil when some rendering can be valid or the template is
// beyond this check (it has tags or filters, or many placeholders outside
// strings). A plain placeholder inside a string writes text there, and one
// outside writes one JSON value, which a number or a string stands for
// (a key must be a string; text such as "-" or "1e" before it needs a
// number), so the template is never valid when no choice of those is.
func (t *Template) NeverJSON() error {
	if t.format != FormatJSON || t.fast == nil {
		return nil
	}
	values := 0
	for _, seg := range t.fast {
		if seg.path != nil && seg.filter == "__hl_json" {
			values++
		}
	}
	if values > 12 {
		return nil
	}
	var first error
	for choice := range 1 << values {
		var b []byte
		i := 0
		for _, seg := range t.fast {
			switch {
			case seg.path == nil:
				b = append(b, seg.text...)
			case seg.filter == "__hl_jstr":
				b = append(b, 'x')
			case choice>>i&1 == 0:
				b, i = append(b, '1'), i+1
			default:
				b, i = append(b, `"x"`...), i+1
			}
		}
		var v any
		err := json.Unmarshal(b, &v)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
	}
	return fmt.Errorf("never valid JSON, whatever its placeholders hold (%v)", strings.TrimPrefix(first.Error(), "json: "))
}

// Source returns the template as written.
func (t *Template) Source() string { return t.src }

// Format returns the template's escaping format.
func (t *Template) Format() Format { return t.format }

// MarshalYAML encodes the template as its source.
func (t *Template) MarshalYAML() (any, error) { return t.src, nil }

// MarshalJSON encodes the template as its source, a JSON string.
func (t *Template) MarshalJSON() ([]byte, error) { return json.Marshal(t.src) }

// Render renders the template with vars. It fails on Liquid errors and when
// a render limit (MaxRenderSize, MaxRenderIterations, RenderTimeout) is hit.
func (t *Template) Render(vars map[string]any) (out []byte, err error) {
	if t.fast != nil {
		if out, ok := t.renderFast(vars); ok {
			return out, nil
		}
	}
	return t.renderLiquid(vars)
}

// renderLiquid renders the template with the Liquid engine.
func (t *Template) renderLiquid(vars map[string]any) (out []byte, err error) {
	g := &renderGuard{deadline: time.Now().Add(RenderTimeout)}
	b := make(map[string]any, len(vars)+2)
	maps.Copy(b, vars)
	b[guardVar] = g
	if _, ok := b["uuid"]; !ok {
		b["uuid"] = uuidDrop{}
	}
	w := &capWriter{max: MaxRenderSize}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, cmpErr(g.err, w.err, fmt.Errorf("render: %v", r))
		}
	}()
	if serr := t.tpl.FRender(w, b); serr != nil {
		return nil, cmpErr(g.err, w.err, fmt.Errorf("render: %s%s", unwrapInternal(serr.Error()), renderHint(serr.Error())))
	}
	if w.err != nil {
		return nil, w.err
	}
	return w.buf.Bytes(), nil
}

// renderHint is what a Liquid error message wants added: a range bound
// that is text (a query value, "3") cannot be converted to a whole number
// by Liquid itself.
func renderHint(msg string) string {
	if strings.Contains(msg, "can't convert string(") && strings.Contains(msg, "to type int") {
		return " (query, form and header values are text: make one a number first, {% assign n = request.query.n | floor %}, then (1..n))"
	}
	return ""
}

// cmpErr returns the first non-nil error.
func cmpErr(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return e
		}
	}
	return nil
}

// capWriter is a buffer that fails beyond max bytes.
type capWriter struct {
	buf bytes.Buffer
	max int
	err error
}

func (w *capWriter) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if w.buf.Len()+len(p) > w.max {
		w.err = fmt.Errorf("render: output larger than %d bytes", w.max)
		return 0, w.err
	}
	return w.buf.Write(p)
}

// renderGuard is the per-render state that the internal filters check.
type renderGuard struct {
	deadline time.Time
	ticks    int
	err      error
}

// tick counts one loop iteration and fails once a limit is hit.
func (g *renderGuard) tick() error {
	if g == nil {
		return nil
	}
	if g.err == nil {
		if g.ticks++; g.ticks > MaxRenderIterations {
			g.err = fmt.Errorf("render: more than %d loop iterations", MaxRenderIterations)
		}
	}
	return g.check()
}

// check fails once a limit was hit or the render's time is up. Every
// placeholder's output checks it.
func (g *renderGuard) check() error {
	if g == nil {
		return nil
	}
	if g.err == nil && time.Now().After(g.deadline) {
		g.err = fmt.Errorf("render: took longer than %v", RenderTimeout)
	}
	return g.err
}

// checkSize fails when s alone is beyond the output limit.
func (g *renderGuard) checkSize(n int) error {
	if n > MaxRenderSize {
		err := fmt.Errorf("render: value larger than %d bytes", MaxRenderSize)
		if g != nil && g.err == nil {
			g.err = err
		}
		return err
	}
	return nil
}

// uuidDrop renders as a new random UUID each time {{ uuid }} is used.
type uuidDrop struct{}

func (uuidDrop) ToLiquid() any { return newUUID() }

func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// jsonText is a value that is already JSON (the json filter's result); it is
// written as-is outside JSON strings.
type jsonText string

// xmlSafe is a value already escaped for XML (xml_escape's result).
type xmlSafe string

// formSafe is a value already URL-encoded (url_encode's result).
type formSafe string

// rewritten is what rewrite makes of a template's source.
type rewritten struct {
	src string // for the Liquid engine
	// fast is the source as segments for renderFast, when it is only
	// text and plain placeholders; nil otherwise.
	fast []fastSeg
	// filters are the filters the tags name (raw and comment blocks
	// aside), for checkFilters.
	filters []filterUse
	// exprs are the expressions of the outputs and tags, in order (raw
	// and comment blocks aside), for UnknownField.
	exprs []exprUse
}

// exprUse is the expression of an output ({{ }}, tag "") or a tag, and
// the line of the template it starts on.
type exprUse struct {
	tag, args string
	line      int
}

// rewrite wraps every output tag of src with the internal filter that
// escapes it for format and its position, inserts a guard at the start of
// every loop body, and refuses {% include %}.
func rewrite(src string, format Format) (rewritten, error) {
	var fast []fastSeg
	var filters []filterUse
	var exprs []exprUse
	uses := func(tok parser.Token) {
		tag := ""
		if tok.Type == parser.TagTokenType {
			tag = tok.Name
		}
		exprs = append(exprs, exprUse{tag, tok.Args, tok.SourceLoc.LineNo})
		for _, f := range filterNames(tok.Args) {
			filters = append(filters, filterUse{f.name, tok.Source, tok.SourceLoc.LineNo, f.nargs})
		}
	}
	simple := true
	var b strings.Builder
	b.Grow(len(src) + 64)
	var lex jsonLexer
	var xlex xmlLexer
	inRaw, inComment := false, false
	// captures is the depth of {% capture %} blocks. Their content is not
	// output where it stands: it is escaped when the variable is output, so
	// placeholders inside are left raw and their text does not move the
	// lexer.
	captures := 0
	feed := func(s string) {
		if captures == 0 {
			lex.feed(s)
			xlex.feed(s)
		}
	}
	for _, tok := range parser.Scan(src, parser.SourceLoc{LineNo: 1}, nil) {
		switch tok.Type {
		case parser.TextTokenType:
			if !inRaw && !inComment {
				// Liquid passes an unclosed tag on as text; it can only be a
				// mistake ({{ starts output wherever it stands).
				if i := unclosedTag(tok.Source); i >= 0 {
					shut := "}}"
					if tok.Source[i+1] == '%' {
						shut = "%}"
					}
					line := tok.SourceLoc.LineNo + strings.Count(tok.Source[:i], "\n")
					return rewritten{}, &TemplateError{Line: line, Err: fmt.Errorf("%s has no closing %s", clipLine(tok.Source[i:], 30), shut)}
				}
			}
			b.WriteString(tok.Source)
			if !inComment {
				feed(tok.Source)
			}
			fast = append(fast, fastSeg{text: tok.Source})
		case parser.ObjTokenType:
			switch {
			case inComment:
				b.WriteString(tok.Source)
			case inRaw:
				b.WriteString(tok.Source)
				feed(tok.Source)
			case captures > 0:
				uses(tok)
				b.WriteString(wrapOutput(tok, outFilter(FormatText, false, 0)))
			default:
				uses(tok)
				filter := outFilter(format, lex.inString, xlex.in)
				b.WriteString(wrapOutput(tok, filter))
				lex.escaped = false
				if path := plainPath(tok); path != nil {
					fast = append(fast, fastSeg{path: path, filter: filter})
				} else {
					simple = false
				}
			}
		case parser.TagTokenType:
			simple = false
			b.WriteString(tok.Source)
			switch {
			case inComment:
				if tok.Name == "endcomment" {
					inComment = false
				}
			case inRaw:
				if tok.Name == "endraw" {
					inRaw = false
				} else {
					feed(tok.Source)
				}
			case tok.Name == "raw":
				inRaw = true
			case tok.Name == "comment":
				inComment = true
			case tok.Name == "include":
				return rewritten{}, &TemplateError{Line: tok.SourceLoc.LineNo, Err: errors.New("templates cannot include files")}
			default:
				uses(tok)
				switch {
				case tok.Name == "capture":
					captures++
				case tok.Name == "endcapture" && captures > 0:
					captures--
				case tok.Name == "for", tok.Name == "tablerow":
					b.WriteString("{{" + guardVar + " | " + tickFilter + "}}")
				}
			}
		}
	}
	// Liquid takes the rest of the template into an unclosed comment or
	// raw block, without a word (an unclosed if it refuses).
	switch {
	case inComment:
		return rewritten{}, errors.New("{% comment %} has no {% endcomment %}")
	case inRaw:
		return rewritten{}, errors.New("{% raw %} has no {% endraw %}")
	}
	switch {
	case !simple:
		fast = nil
	case fast == nil:
		fast = []fastSeg{} // empty source: renders empty
	}
	return rewritten{src: b.String(), fast: fast, filters: filters, exprs: exprs}, nil
}

// outFilter names the internal filter for an output tag: by the format,
// and where the text before it ends (inString: in a JSON string; xmlIn: in
// an XML CDATA section or comment, see xmlLexer).
func outFilter(format Format, inString bool, xmlIn byte) string {
	switch format {
	case FormatJSON:
		if inString {
			return "__hl_jstr"
		}
		return "__hl_json"
	case FormatXML:
		switch xmlIn {
		case xmlInCDATA:
			return "__hl_xcdata"
		case xmlInComment:
			return "__hl_xcomment"
		}
		return "__hl_xml"
	case FormatForm:
		return "__hl_form"
	}
	return "__hl_text"
}

// internalWrap matches what wrapOutput adds around an expression, as
// Liquid's error messages quote it.
var internalWrap = regexp.MustCompile(`(\{\{-?\s*|")\((.*?)\) \| __hl_[a-z]+: ` + guardVar)

// unwrapInternal shows an error's quoted expressions as written, without
// the escaping filter rewrite adds.
func unwrapInternal(msg string) string {
	return internalWrap.ReplaceAllString(msg, "$1$2")
}

// wrapOutput turns {{ expr }} into {{ (expr) | filter: __hl }}, keeping
// whitespace-control dashes.
func wrapOutput(tok parser.Token, filter string) string {
	args := tok.Args
	if strings.TrimSpace(args) == "" || len(tok.Source) < 4 {
		return tok.Source
	}
	i := strings.Index(tok.Source[2:], args)
	if i < 0 {
		return tok.Source
	}
	i += 2
	return tok.Source[:i] + "(" + args + ") | " + filter + ": " + guardVar + tok.Source[i+len(args):]
}

// jsonLexer tracks whether the text seen so far ends inside a JSON string
// literal. Liquid tags are ignored: branches of an if are read one after the
// other, which is right for the usual balanced templates.
type jsonLexer struct {
	inString, escaped bool
}

func (l *jsonLexer) feed(s string) {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !l.inString {
			if c == '"' {
				l.inString = true
			}
			continue
		}
		switch {
		case l.escaped:
			l.escaped = false
		case c == '\\':
			l.escaped = true
		case c == '"':
			l.inString = false
		}
	}
}

// xmlLexer tracks whether the text seen so far ends inside an XML CDATA
// section or comment, where entities are not read: a value there is
// written as it is, but for what would end the section (see appendEscaped).
type xmlLexer struct {
	in byte // 0, xmlInCDATA or xmlInComment
}

const (
	xmlInCDATA   = 'c'
	xmlInComment = '-'
)

func (l *xmlLexer) feed(s string) {
	for s != "" {
		switch l.in {
		case 0:
			c, m := strings.Index(s, "<![CDATA["), strings.Index(s, "<!--")
			switch {
			case c >= 0 && (m < 0 || c < m):
				l.in, s = xmlInCDATA, s[c+len("<![CDATA["):]
			case m >= 0:
				l.in, s = xmlInComment, s[m+len("<!--"):]
			default:
				return
			}
		case xmlInCDATA:
			i := strings.Index(s, "]]>")
			if i < 0 {
				return
			}
			l.in, s = 0, s[i+len("]]>"):]
		case xmlInComment:
			i := strings.Index(s, "-->")
			if i < 0 {
				return
			}
			l.in, s = 0, s[i+len("-->"):]
		}
	}
}

// appendEscaped appends v as the internal output filter named filter (one
// of outFilter's, but __hl_text) writes it: the one place both Liquid and
// renderFast escape a placeholder.
func appendEscaped(buf []byte, filter string, v any) ([]byte, error) {
	switch filter {
	case "__hl_json":
		out, err := encodeJSON(v)
		return append(buf, out...), err
	case "__hl_jstr":
		return AppendJSONStringContent(buf, valueText(v)), nil
	case "__hl_xml":
		if s, ok := v.(xmlSafe); ok {
			return append(buf, s...), nil
		}
		return append(buf, xmlEscape(valueText(v))...), nil
	case "__hl_xcdata":
		// A "]]>" in the value ends the section and starts another; so
		// does a carriage return, written between the two as a character
		// reference (a parser reads a raw one as a line feed).
		return append(buf, cdataEscaper.Replace(xmlChars(valueText(v)))...), nil
	case "__hl_xcomment":
		// A comment holds no "--": not in the value, nor where it meets
		// the text around it ("<!-- a-{{v}} -->" with v "-5"), nor
		// before the comment's "-->".
		t := xmlChars(valueText(v))
		for strings.Contains(t, "--") {
			t = strings.ReplaceAll(t, "--", "- -")
		}
		if strings.HasPrefix(t, "-") {
			t = " " + t
		}
		if strings.HasSuffix(t, "-") {
			t += " "
		}
		return append(buf, t...), nil
	case "__hl_form":
		if s, ok := v.(formSafe); ok {
			return append(buf, s...), nil
		}
		return append(buf, url.QueryEscape(valueText(v))...), nil
	}
	return nil, fmt.Errorf("unknown output filter %q", filter)
}

// fastSeg is a piece of a template that is only literal text and plain
// placeholders ({{ a.b.c }}, no filters, no tags): text, or a variable
// path with the internal filter that escapes it where it stands.
type fastSeg struct {
	text   string
	path   []string
	filter string
}

// renderFast renders a template of plain placeholders without the Liquid
// engine, which costs about ten times as much per placeholder. It only
// writes values it is sure Liquid would write the same way, and reports
// false for anything else (a path through a value that is not a map, a
// missing size/first/last, the uuid drop, a type it does not know, a
// non-string in a text template, output over the size limit); Render then
// uses the engine, so results and errors never differ.
func (t *Template) renderFast(vars map[string]any) ([]byte, bool) {
	n := 0
	for _, s := range t.fast {
		n += len(s.text)
	}
	out := make([]byte, 0, n+n/2+64)
	for _, s := range t.fast {
		if s.path == nil {
			out = append(out, s.text...)
			continue
		}
		v, ok := plainValue(vars, s.path)
		if !ok {
			return nil, false
		}
		if s.filter == "__hl_text" {
			switch v := v.(type) {
			case nil:
			case string:
				out = append(out, v...)
			default:
				return nil, false // Liquid's own formatting of numbers and lists
			}
		} else {
			var err error
			if out, err = appendEscaped(out, s.filter, v); err != nil {
				return nil, false
			}
		}
		if len(out) > MaxRenderSize {
			return nil, false // early: Liquid gives the error
		}
	}
	if len(out) > MaxRenderSize {
		return nil, false
	}
	if len(out) == 0 {
		return nil, true // as Liquid, which never wrote
	}
	return out, true
}

// plainValue looks path up in vars through maps, as Liquid does, and
// reports false where Liquid might do otherwise.
func plainValue(vars map[string]any, path []string) (any, bool) {
	v, ok := vars[path[0]]
	if !ok && path[0] == "uuid" {
		return nil, false // the uuid drop Render adds
	}
	for _, k := range path[1:] {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		x, ok := m[k]
		if !ok && (k == "size" || k == "first" || k == "last") {
			return nil, false
		}
		v = x
	}
	switch v.(type) {
	case nil, string, bool, int, int64, float64, json.Number, time.Time, map[string]any, []any:
		return v, true
	}
	return nil, false
}

// plainPath returns the variable path of an output tag that is nothing
// but a dotted path of identifiers, or nil.
func plainPath(tok parser.Token) []string {
	if strings.HasPrefix(tok.Source, "{{-") || strings.HasSuffix(tok.Source, "-}}") {
		return nil
	}
	args := strings.TrimSpace(tok.Args)
	if args == "" {
		return nil
	}
	path := strings.Split(args, ".")
	for _, p := range path {
		if !isIdent(p) {
			return nil
		}
		switch p {
		case "true", "false", "nil", "null", "empty", "blank", "and", "or", "contains", "in", guardVar:
			return nil
		}
	}
	return path
}

// isIdent reports whether s is [A-Za-z_][A-Za-z0-9_]*.
func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// newEngine builds a Liquid engine with hooklab's filters. Each template has
// its own engine, so nothing is shared between configs.
func newEngine() *liquid.Engine {
	e := liquid.NewEngine()
	// The list filters make the list they are given first: a range
	// ((1..n)) becomes n items, and concat may double a list at each step.
	// Refuse lists longer than MaxListItems before they are made: an
	// allocation too large is a fatal error, not a panic.
	std := filterSet{}
	filters.AddStandardFilters(std)
	for name, fn := range std {
		if g := guardLists(fn); g != nil {
			e.RegisterFilter(name, g)
		}
	}
	e.RegisterTag("include", func(render.Context) (string, error) {
		return "", errors.New("templates cannot include files")
	})

	e.RegisterFilter(tickFilter, func(g *renderGuard) (any, error) {
		return nil, g.tick()
	})
	e.RegisterFilter("__hl_text", func(v any, g *renderGuard) (any, error) {
		if err := g.check(); err != nil {
			return nil, err
		}
		// Lists, objects, times and decimals read as everywhere else
		// (JSON, RFC 3339, 1500000.5), not as Go prints them (map[k:v],
		// 1.5000005e+06) or Liquid joins a list.
		switch v.(type) {
		case nil, []byte:
		case time.Time, float64, float32, iterable:
			v = valueText(v)
		default:
			switch reflect.TypeOf(v).Kind() {
			case reflect.Map, reflect.Array, reflect.Slice:
				v = valueText(v)
			}
		}
		if s, ok := v.(string); ok {
			if err := g.checkSize(len(s)); err != nil {
				return nil, err
			}
		}
		return v, nil
	})
	for _, f := range []string{"__hl_json", "__hl_jstr", "__hl_xml", "__hl_xcdata", "__hl_xcomment", "__hl_form"} {
		e.RegisterFilter(f, func(v any, g *renderGuard) (any, error) {
			if err := g.check(); err != nil {
				return nil, err
			}
			out, err := appendEscaped(nil, f, v)
			if err != nil {
				return nil, err
			}
			return string(out), g.checkSize(len(out))
		})
	}

	e.RegisterFilter("json", func(v any) (any, error) {
		out, err := encodeJSON(v)
		if err != nil {
			return nil, err
		}
		return jsonText(out), nil
	})
	e.RegisterFilter("xml_escape", func(v any) xmlSafe { return xmlSafe(xmlEscape(valueText(v))) })
	e.RegisterFilter("url_encode", func(v any) formSafe { return formSafe(url.QueryEscape(valueText(v))) })
	e.RegisterFilter("base64", func(v any) string {
		return base64.StdEncoding.EncodeToString([]byte(valueText(v)))
	})
	e.RegisterFilter("base64_decode", func(v any) (string, error) {
		s := strings.TrimSpace(valueText(v))
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(s); err == nil {
				return string(b), nil
			}
		}
		return "", errors.New("base64_decode: not base64")
	})
	e.RegisterFilter("sha256", func(v any) string {
		sum := sha256.Sum256([]byte(valueText(v)))
		return hex.EncodeToString(sum[:])
	})
	e.RegisterFilter("hmac_sha256", func(v any, key any) string {
		mac := hmac.New(sha256.New, []byte(valueText(key)))
		mac.Write([]byte(valueText(v)))
		return hex.EncodeToString(mac.Sum(nil))
	})
	e.RegisterFilter("uuid", func(any) string { return newUUID() })
	e.RegisterFilter("random_int", func(_ any, a, b any) (int, error) {
		lo, ok1 := toFloat(a)
		hi, ok2 := toFloat(b)
		if !ok1 || !ok2 || hi < lo || hi-lo > math.MaxInt32 {
			return 0, errors.New("random_int: want two numbers a <= b")
		}
		return int(lo) + mrand.IntN(int(hi)-int(lo)+1), nil
	})
	e.RegisterFilter("date", dateFilter)
	// truncate as Shopify's Liquid has it: length counts characters, the
	// ellipsis's too, and a text of several lines is cut as well (the
	// engine's pattern stopped at a newline, so a ticket description was
	// never cut, and counted the ellipsis in bytes).
	e.RegisterFilter("truncate", func(s string, length func(int) int, ellipsis func(string) string) string {
		n, el := length(50), ellipsis("...")
		if utf8.RuneCountInString(s) <= n {
			return s
		}
		keep := max(n-utf8.RuneCountInString(el), 0)
		cut := len(s)
		for i := range s {
			if keep == 0 {
				cut = i
				break
			}
			keep--
		}
		return s[:cut] + el
	})
	// strip_newlines takes out a CRLF line end whole, as Shopify's Liquid
	// does (gsub(/\r?\n/, "")); the engine's left its \r behind.
	e.RegisterFilter("strip_newlines", func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", ""), "\n", "")
	})
	// newline_to_br as Shopify's Liquid has it (gsub(/\r?\n/, "<br />\n")):
	// the line end stays after the <br />, a CRLF's \r goes.
	e.RegisterFilter("newline_to_br", func(s string) string {
		return strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "<br />\n")
	})
	// escape, its alias h, and escape_once as Shopify's Liquid has them:
	// a double quote is &quot; (the engine's gave &#34;), and escape_once
	// leaves an entity already there as it is, &nbsp; or &#39; included
	// (the engine's decoded every entity first, so &nbsp; came out as the
	// character and &#x41; as A).
	htmlEscaper := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")
	e.RegisterFilter("escape", func(v any) string { return htmlEscaper.Replace(valueText(v)) })
	e.RegisterFilter("h", func(v any) string { return htmlEscaper.Replace(valueText(v)) })
	e.RegisterFilter("escape_once", func(v any) string { return escapeOnce(valueText(v)) })
	// truncatewords as Shopify's Liquid has it: the first n words (at
	// least one), joined by a space, and the ellipsis only when words were
	// left out. The engine's pattern could split a word in several, so
	// "hello world" | truncatewords: 5 gave "hello world...".
	e.RegisterFilter("truncatewords", func(s string, length func(int) int, ellipsis func(string) string) string {
		n, el := max(length(15), 1), ellipsis("...")
		// Words are read one at a time up to the n+1th, not split out:
		// an event's text may be megabytes of one-letter words.
		var b strings.Builder
		rest := s
		for k := 0; ; k++ {
			rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
			if rest == "" {
				return s
			}
			if k == n {
				return b.String() + el
			}
			end := strings.IndexFunc(rest, unicode.IsSpace)
			if end < 0 {
				end = len(rest)
			}
			if k > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(rest[:end])
			rest = rest[end:]
		}
	})

	// Guard the filters that can grow a string without writing it.
	grow := func(n int) error {
		if n > MaxRenderSize {
			return fmt.Errorf("value larger than %d bytes", MaxRenderSize)
		}
		return nil
	}
	e.RegisterFilter("append", func(s, suffix string) (string, error) {
		return s + suffix, grow(len(s) + len(suffix))
	})
	e.RegisterFilter("prepend", func(s, prefix string) (string, error) {
		return prefix + s, grow(len(s) + len(prefix))
	})
	// join: as Liquid's, with the separator's share counted first.
	e.RegisterFilter("join", func(v any, sep func(string) string) (string, error) {
		sp := sep(" ")
		// The separators alone too long: refused before the list is
		// converted and its items written (a million of them take
		// seconds). Its items are counted as they come, nil ones too.
		if rv := reflect.ValueOf(v); len(sp) > 0 && (rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array) {
			if k := rv.Len(); k > 1 && k-1 > MaxRenderSize/len(sp) {
				return "", grow(MaxRenderSize + 1)
			}
		}
		a, err := boundedList(v)
		if err != nil {
			return "", err
		}
		ss := make([]string, 0, len(a))
		n := 0
		for _, x := range a {
			if x != nil {
				ss = append(ss, fmt.Sprint(x))
				n += len(ss[len(ss)-1])
			}
		}
		if len(ss) > 1 && len(sp) > 0 && len(ss)-1 > (MaxRenderSize-n)/len(sp) {
			return "", grow(MaxRenderSize + 1)
		}
		return strings.Join(ss, sp), grow(n)
	})
	e.RegisterFilter("replace", func(s, old, n string) (string, error) {
		if c := strings.Count(s, old); c > 0 && len(n) > len(old) {
			if err := grow(len(s) + c*(len(n)-len(old))); err != nil {
				return "", err
			}
		}
		return strings.ReplaceAll(s, old, n), nil
	})
	// size counts the keys of a map too (request.headers, request.query),
	// as Shopify's Liquid does; the engine's counts only lists and strings.
	e.RegisterFilter("size", func(v any) int {
		if m := reflect.ValueOf(values.ToLiquid(v)); m.Kind() == reflect.Map {
			return m.Len()
		}
		return values.Length(v)
	})
	return e
}

// errLongList refuses a list filter's list over MaxListItems.
var errLongList = fmt.Errorf("list longer than %d items", MaxListItems)

// escapeOnce escapes s for HTML as Shopify's escape_once does: an & that
// starts an entity (&name; or &#digits;) is left alone, as its regular
// expression /["><']|&(?!([a-zA-Z]+|(#\d+));)/ has it.
func escapeOnce(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&#39;")
		case '&':
			if entityAt(s[i+1:]) {
				b.WriteByte('&')
			} else {
				b.WriteString("&amp;")
			}
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// entityAt reports whether s, which follows an &, begins the rest of an
// entity: letters or # and digits, then a semicolon.
func entityAt(s string) bool {
	isLetter := func(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
	isDigit := func(c byte) bool { return '0' <= c && c <= '9' }
	ok := isLetter
	if strings.HasPrefix(s, "#") {
		s, ok = s[1:], isDigit
	}
	n := 0
	for n < len(s) && ok(s[n]) {
		n++
	}
	return n > 0 && n < len(s) && s[n] == ';'
}

// filterSet collects the standard Liquid filters, to wrap them.
type filterSet map[string]any

func (s filterSet) AddFilter(name string, fn any) { s[name] = fn }

var listType = reflect.TypeFor[[]any]()

// guardLists returns filter fn taking its list arguments as any, refused
// by boundedList when too long before Liquid makes them lists; nil when fn
// takes no list.
func guardLists(fn any) any {
	ft := reflect.TypeOf(fn)
	in := make([]reflect.Type, ft.NumIn())
	var lists []int
	for i := range in {
		in[i] = ft.In(i)
		if in[i] == listType && !ft.IsVariadic() {
			in[i], lists = reflect.TypeFor[any](), append(lists, i)
		}
	}
	if lists == nil {
		return nil
	}
	call := reflect.ValueOf(fn)
	out := []reflect.Type{reflect.TypeFor[any](), reflect.TypeFor[error]()}
	return reflect.MakeFunc(reflect.FuncOf(in, out, false), func(args []reflect.Value) []reflect.Value {
		fail := func(err error) []reflect.Value {
			return []reflect.Value{reflect.Zero(out[0]), reflect.ValueOf(&err).Elem()}
		}
		total := 0
		for _, i := range lists {
			a, err := boundedList(args[i].Interface())
			if err != nil {
				return fail(err)
			}
			if total += len(a); total > MaxListItems {
				return fail(errLongList)
			}
			args[i] = reflect.ValueOf(a)
		}
		res := call.Call(args)
		if len(res) == 2 && !res[1].IsNil() {
			return fail(res[1].Interface().(error))
		}
		v := reflect.New(out[0]).Elem()
		if r := res[0].Interface(); r != nil {
			v.Set(reflect.ValueOf(r))
		}
		return []reflect.Value{v, reflect.Zero(out[1])}
	}).Interface()
}

// boundedList converts v to a list as Liquid does, unless that would be
// longer than MaxListItems items (a range such as (1..n)).
func boundedList(v any) ([]any, error) {
	if v == nil {
		return nil, nil
	}
	if r, ok := v.(values.Range); ok {
		return rangeList(r)
	}
	if values.Length(v) > MaxListItems {
		return nil, errLongList
	}
	a, err := values.Convert(v, listType)
	if err != nil {
		return nil, err
	}
	return a.([]any), nil
}

// rangeList makes the list of range r, as Range.AsArray does, unless it is
// longer than MaxListItems items. Range.Len wraps around for a range
// reaching both ends of int (a JSON body's integers are ints), and AsArray
// never ends one ending at math.MaxInt, so neither is used: the last item
// is found from the first and the wrapped length, which is exact.
func rangeList(r values.Range) ([]any, error) {
	b, _ := r.Index(0).(int)
	e := b + r.Len() - 1
	if e < b {
		return []any{}, nil
	}
	if uint(e-b) >= MaxListItems {
		return nil, errLongList
	}
	a := make([]any, 0, e-b+1)
	for i := range e - b + 1 {
		a = append(a, b+i)
	}
	return a, nil
}

// dateFilter formats a time (or a string parsed as a date, "now", or Unix
// seconds) with strftime, or "rfc3339"/"rfc3339nano"; the default format is
// RFC 3339.
func dateFilter(v any, format func(string) string) (string, error) {
	var t time.Time
	switch v := v.(type) {
	case time.Time:
		t = v
	case string:
		s := strings.TrimSpace(v)
		if p, err := time.Parse(time.RFC3339Nano, s); err == nil {
			t = p
		} else if f, err := strconv.ParseFloat(s, 64); err == nil {
			if t, err = unixSeconds(f); err != nil {
				return "", err
			}
		} else if s == "now" || s == "today" {
			t = time.Now()
		} else {
			p, err := parseLiquidDate(s)
			if err != nil {
				return "", err
			}
			t = p
		}
	case nil:
		return "", nil
	default:
		f, ok := toFloat(numberValue(v))
		if !ok {
			return "", fmt.Errorf("date: cannot use %T as a date", v)
		}
		var err error
		if t, err = unixSeconds(f); err != nil {
			return "", err
		}
	}
	f := format("rfc3339")
	switch strings.ToLower(f) {
	case "rfc3339":
		return t.Format(time.RFC3339), nil
	case "rfc3339nano":
		return t.Format(time.RFC3339Nano), nil
	}
	return tuesday.Strftime(f, t)
}

// unixSeconds is the time f Unix seconds name. Seconds and nanoseconds
// go apart: f*1e9 passes int64 after 2262 (or a timestamp given in
// milliseconds), and a float converted past int64 is made up (amd64 gave
// 1677-09-21 for every one).
func unixSeconds(f float64) (time.Time, error) {
	if math.IsNaN(f) || math.Abs(f) >= math.MaxInt64 {
		return time.Time{}, fmt.Errorf("date: %v is no number of Unix seconds", f)
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(math.Round(frac*1e9))).UTC(), nil
}

// parseLiquidDate reads the dates people and providers write, as Ruby's
// Time.parse does for Shopify's date filter: Zendesk's own "May 1, 2024"
// (and with a time), day-first "1 May 2024", slashes, and the HTTP, RFC and
// Unix forms. Month and day names are read in any case; a date with no zone
// is UTC.
func parseLiquidDate(s string) (time.Time, error) {
	layouts := []string{time.RFC1123Z, time.RFC1123, time.RFC850, time.RFC822Z, time.RFC822, time.ANSIC, time.UnixDate, time.RubyDate,
		"2006-01-02 15:04:05 -0700", "2006-01-02 15:04:05 MST", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04", "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02",
		"2006/01/02 15:04:05", "2006/01/02 15:04", "2006/01/02",
		"January 2, 2006", "January 2 2006", "January 2, 2006 15:04", "January 2, 2006 15:04:05", "January 2, 2006 3:04 PM", "January 2, 2006 3:04 pm", "January 2, 2006 at 15:04",
		"Jan 2, 2006", "Jan 2 2006", "Jan 2, 2006 15:04", "Jan 2, 2006 15:04:05", "Jan 2, 2006 3:04 PM", "Jan 2, 2006 3:04 pm",
		"Monday, January 2, 2006", "Mon, Jan 2, 2006",
		"2 January 2006", "2 Jan 2006", "2 January 2006 15:04", "2 Jan 2006 15:04", "2 Jan 2006 15:04:05"}
	for _, l := range layouts {
		// In UTC, not time.Local: a zone's name (PDT) then means the same
		// offset on every machine, never the host's.
		t, err := time.ParseInLocation(l, s, time.UTC)
		if err != nil {
			continue
		}
		if !strings.Contains(l, "MST") {
			return t, nil
		}
		// Go reads a zone's name it does not know (all but UTC here) as
		// a zone of offset 0 by that name: 10:00 EST would be 10:00 UTC.
		name, off := t.Zone()
		if off != 0 {
			return t, nil // GMT+3: Go read its offset
		}
		off, ok := zoneOffset(name)
		if !ok {
			return time.Time{}, fmt.Errorf("date: %q: the offset of zone %q is not known; write it as an offset (-0500) or in UTC", s, name)
		}
		y, mo, d := t.Date()
		h, mi, sec := t.Clock()
		return time.Date(y, mo, d, h, mi, sec, t.Nanosecond(), time.FixedZone(strings.ToUpper(name), off)), nil
	}
	return time.Time{}, fmt.Errorf("date: cannot parse %q", s)
}

// zoneOffset is the offset, in seconds east of UTC, of a zone's name
// parseLiquidDate reads: Ruby's own (UTC, GMT and North America's) and
// the common European, Asian and Australian ones; ok is false for others.
func zoneOffset(name string) (off int, ok bool) {
	const h = 3600
	switch strings.ToUpper(name) {
	case "UTC", "UT", "GMT", "Z", "WET":
		return 0, true
	case "EST":
		return -5 * h, true
	case "EDT", "AST":
		return -4 * h, true
	case "CST":
		return -6 * h, true
	case "CDT":
		return -5 * h, true
	case "MST":
		return -7 * h, true
	case "MDT":
		return -6 * h, true
	case "PST":
		return -8 * h, true
	case "PDT":
		return -7 * h, true
	case "AKDT":
		return -8 * h, true
	case "AKST":
		return -9 * h, true
	case "HST":
		return -10 * h, true
	case "WEST", "BST", "CET":
		return h, true
	case "CEST", "EET":
		return 2 * h, true
	case "EEST":
		return 3 * h, true
	case "IST":
		return 5*h + h/2, true
	case "JST", "KST":
		return 9 * h, true
	case "AEST":
		return 10 * h, true
	case "AEDT":
		return 11 * h, true
	}
	return 0, false
}

// numberValue converts any Go number to float64 (others unchanged).
func numberValue(v any) any {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(rv.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return float64(rv.Uint())
	case reflect.Float32, reflect.Float64:
		return rv.Float()
	}
	return v
}

// valueText is a value as text: strings as they are, nil as "", maps and
// lists as JSON, times in RFC 3339, numbers and booleans as Liquid writes
// them.
func valueText(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case jsonText:
		return string(v)
	case xmlSafe:
		return string(v)
	case formSafe:
		return string(v)
	case []byte:
		return string(v)
	case time.Time:
		return v.Format(time.RFC3339)
	case float64:
		return string(appendNumber(nil, v))
	case float32:
		return string(appendNumber(nil, float64(v)))
	case fmt.Stringer:
		return v.String()
	}
	switch reflect.ValueOf(v).Kind() {
	case reflect.Map, reflect.Slice, reflect.Array, reflect.Struct:
		if b, err := encodeJSON(v); err == nil {
			return string(b)
		}
	}
	if it, ok := v.(iterable); ok {
		if b, err := encodeJSON(it); err == nil {
			return string(b)
		}
	}
	return fmt.Sprint(v)
}

// appendNumber writes f as encoding/json writes a number (without its
// allocation), in JSON and as text alike, which is how a receiver expects
// an amount: plain decimals (1500000.5, 0.00005), an exponent only below
// 1e-6 or from 1e21 on (fmt.Sprint writes 1.5000005e+06, which a decimal
// parser refuses). NaN and infinities, which JSON has no word for, are
// written as Go writes them; the JSON encoder writes null for them first.
// (inspect's summary encoder has the same, as it imports nothing of rules.)
func appendNumber(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.AppendFloat(b, f, 'g', -1, 64)
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-7, as JSON writes it, not 1e-07.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// iterable is Liquid's lazy list (ranges).
type iterable interface {
	Len() int
	Index(int) any
}

// encodeJSON encodes v as JSON with HTML-safe strings (</ becomes <\/).
// Map keys are sorted. NaN and infinities become null.
func encodeJSON(v any) ([]byte, error) {
	e := jsonEncoder{}
	if err := e.encode(v, 0); err != nil {
		return nil, err
	}
	return e.buf, nil
}

type jsonEncoder struct {
	buf []byte
}

func (e *jsonEncoder) encode(v any, depth int) error {
	if depth > 100 {
		return errors.New("json: value nested too deeply")
	}
	if len(e.buf) > MaxRenderSize {
		return fmt.Errorf("json: value larger than %d bytes", MaxRenderSize)
	}
	switch v := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
		return nil
	case jsonText:
		e.buf = append(e.buf, v...)
		return nil
	case string:
		e.buf = appendJSONString(e.buf, v)
		return nil
	case xmlSafe:
		e.buf = appendJSONString(e.buf, string(v))
		return nil
	case formSafe:
		e.buf = appendJSONString(e.buf, string(v))
		return nil
	case []byte:
		e.buf = appendJSONString(e.buf, string(v))
		return nil
	case bool:
		e.buf = strconv.AppendBool(e.buf, v)
		return nil
	case time.Time:
		e.buf = appendJSONString(e.buf, v.Format(time.RFC3339Nano))
		return nil
	case json.Number:
		e.buf = append(e.buf, v...)
		return nil
	case map[string]any:
		e.buf = append(e.buf, '{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = appendJSONString(e.buf, k)
			e.buf = append(e.buf, ':')
			if err := e.encode(v[k], depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, '}')
		return nil
	case Headers:
		return e.encode(map[string]any(v), depth)
	case []any:
		e.buf = append(e.buf, '[')
		for i, x := range v {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.encode(x, depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
		return nil
	case iterable:
		n := v.Len()
		if n > MaxRenderSize {
			return fmt.Errorf("json: list longer than %d items", MaxRenderSize)
		}
		e.buf = append(e.buf, '[')
		for i := 0; i < n; i++ {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.encode(v.Index(i), depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
		return nil
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		e.buf = strconv.AppendInt(e.buf, rv.Int(), 10)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		e.buf = strconv.AppendUint(e.buf, rv.Uint(), 10)
		return nil
	case reflect.Float32, reflect.Float64:
		f := rv.Float()
		if math.IsNaN(f) || math.IsInf(f, 0) {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		e.buf = appendNumber(e.buf, f)
		return nil
	case reflect.String:
		e.buf = appendJSONString(e.buf, rv.String())
		return nil
	case reflect.Map:
		if rv.Type().Key().Kind() != reflect.String {
			break
		}
		m := make(map[string]any, rv.Len())
		for _, k := range rv.MapKeys() {
			m[k.String()] = rv.MapIndex(k).Interface()
		}
		return e.encode(m, depth)
	case reflect.Slice, reflect.Array:
		l := make([]any, rv.Len())
		for i := range l {
			l[i] = rv.Index(i).Interface()
		}
		return e.encode(l, depth)
	case reflect.Pointer, reflect.Interface:
		if rv.IsNil() {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		return e.encode(rv.Elem().Interface(), depth+1)
	}
	e.buf = appendJSONString(e.buf, fmt.Sprint(v))
	return nil
}

// appendJSONString appends s as a quoted JSON string.
func appendJSONString(buf []byte, s string) []byte {
	buf = append(buf, '"')
	buf = AppendJSONStringContent(buf, s)
	return append(buf, '"')
}

// AppendJSONStringContent appends s escaped for the inside of a JSON string
// literal, exactly as templates escape values placed in JSON (benchmarks
// build their expected bodies with it): quotes, backslashes and control characters are escaped, "</"
// becomes "<\/", U+2028 and U+2029 are escaped, and invalid UTF-8 becomes
// U+FFFD.
func AppendJSONStringContent(buf []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20 || c == 0x7f:
				buf = append(buf, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			case c == '/' && i > 0 && s[i-1] == '<':
				buf = append(buf, '\\', '/')
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, `\ufffd`...)
		case r == '\u2028':
			buf = append(buf, `\u2028`...)
		case r == '\u2029':
			buf = append(buf, `\u2029`...)
		default:
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return buf
}

var cdataEscaper = strings.NewReplacer("]]>", "]]]]><![CDATA[>", "\r", "]]>&#13;<![CDATA[")

// xmlChars returns s with the characters XML does not allow as U+FFFD.
func xmlChars(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 && r != '\t' && r != '\n' && r != '\r' || (r >= 0xD800 && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF {
			return '\uFFFD'
		}
		return r
	}, s)
}

// xmlEscape escapes s for XML text and attribute values; tabs and line
// breaks become character references and characters XML does not allow
// U+FFFD.
func xmlEscape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch r {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		case '\t', '\n', '\r':
			// As character references, so that they survive in attribute
			// values too, where a parser turns them into spaces.
			fmt.Fprintf(&b, "&#%d;", r)
		default:
			if r < 0x20 || (r >= 0xD800 && r <= 0xDFFF) || r == 0xFFFE || r == 0xFFFF {
				r = '\uFFFD'
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// unclosedTag returns where text (outside any tag) holds the start of a
// tag Liquid would take for one, or -1: "{{" anywhere, or "{%" followed by
// an optional "-", spaces and a letter (a tag's name). Other "{%" are text,
// such as URL-encoded JSON ({%22id%22:1}).
func unclosedTag(text string) int {
	for i := 0; i+1 < len(text); i++ {
		if text[i] != '{' {
			continue
		}
		switch text[i+1] {
		case '{':
			return i
		case '%':
			j := i + 2
			if j < len(text) && text[j] == '-' {
				j++
			}
			for j < len(text) && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' || text[j] == '\r') {
				j++
			}
			if j < len(text) && (text[j] >= 'a' && text[j] <= 'z' || text[j] >= 'A' && text[j] <= 'Z') {
				return i
			}
		}
	}
	return -1
}

// clip shortens s to at most n bytes for a message, on a rune boundary.
// clipLine is clip of s's first line, marked clipped (…) when s goes on,
// so that a message stays on one line (and EnvSeen.Scrub knows it cut).
func clipLine(s string, n int) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 && i < n {
		return s[:i] + "…"
	}
	return clip(s, n)
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
