package rules

import (
	"cmp"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/gjson"
	"go.yaml.in/yaml/v3"
)

// Matcher selects requests. Every condition that is set must hold; an empty
// Matcher matches every request. Regular expressions, globs and path
// templates are compiled when the config is loaded.
type Matcher struct {
	// Method is one method or a list; empty means any. Compared in upper
	// case; GET takes HEAD too.
	Method []string
	// Path is an exact path ("/a/b"), a glob ("*" is one segment, "**" any
	// number of segments, "*" inside a segment matches part of it: "*.json"),
	// or a template capturing parameters ("/users/{id}"), or a mix
	// ("/stripe/{account}/events", "/files/{name}.json").
	Path string
	// Bin, when set, is the only bin the matcher accepts.
	Bin string
	// Query conditions by parameter name.
	Query map[string]*Cond
	// Headers conditions by header name (names are case-insensitive).
	Headers map[string]*Cond
	// Body is a condition on the whole body as text.
	Body *Cond
	// JSON conditions on the JSON body; all must hold.
	JSON []*JSONCond
	// JSONPartial, when set, is a document the JSON body must contain:
	// objects may have extra keys, each listed array element must match some
	// element of the request's array.
	JSONPartial any
	// Form conditions by form field (URL-encoded or multipart bodies).
	Form map[string]*Cond
	// All, Any and Not combine matchers: all must match, at least one must
	// match, it must not match.
	All []*Matcher
	Any []*Matcher
	Not *Matcher

	path *pathPattern
}

// Cond is a condition on a string value: a header, query parameter, form
// field or the body. In YAML it is a plain value (exact match) or a mapping
// of equals, regex, contains, present, absent and case_insensitive. Every
// check that is set must hold; when a field has several values, one value
// must pass them all.
type Cond struct {
	Equals          *string
	Contains        *string
	Regex           string
	Present         bool // the field must be present (with any value)
	Absent          bool // the field must be absent
	CaseInsensitive bool // equals, contains and regex ignore case

	re *regexp.Regexp
}

// JSONCond is a condition on the JSON body: the value at Path (gjson syntax)
// compared with Op to Value.
type JSONCond struct {
	Path string
	// Op is one of eq (default), ne, in, exists, regex, gt, lt, gte, lte,
	// contains.
	Op    string
	Value any

	re *regexp.Regexp
}

func jsonOps() []string {
	return []string{"eq", "ne", "in", "exists", "regex", "gt", "lt", "gte", "lte", "contains"}
}

// DecodeMatcher decodes and compiles a matcher from a YAML node, for config
// sections decoded outside this package. file names the config in errors;
// getenv resolves ${NAME}. Errors are a *Errors.
func DecodeMatcher(n *yaml.Node, file string, getenv func(string) string) (*Matcher, error) {
	d := newDecoder(file, "", getenv)
	m := d.matcher(n)
	if len(d.errs) > 0 {
		errs := &Errors{List: d.errs}
		errs.sort()
		return nil, errs
	}
	return m, nil
}

// DecodeValue decodes any YAML value of a config section owned by another
// package into plain Go values (string, float64, bool, nil, []any,
// map[string]any) the way the loader does: ${NAME} expanded, merge keys
// followed, runaway aliases refused. Errors are *Errors with file:line.
func DecodeValue(n *yaml.Node, file, what string, getenv func(string) string) (any, error) {
	d := newDecoder(file, "", getenv)
	v := d.value(n, what)
	if len(d.errs) > 0 {
		errs := &Errors{List: d.errs}
		errs.sort()
		return nil, errs
	}
	return v, nil
}

// paramNames returns the names the paths of m, and of its all and any
// matchers, capture into request.params, sorted.
func (m *Matcher) paramNames() []string {
	if m == nil {
		return nil
	}
	var out []string
	if m.path != nil {
		for _, s := range m.path.segs {
			if s.kind == segParam {
				out = append(out, s.name)
			}
			out = append(out, s.names...)
		}
	}
	for _, sub := range append(slices.Clone(m.All), m.Any...) {
		out = append(out, sub.paramNames()...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// matchesAll reports whether m matches every request: it is nil, or has
// no condition but a path of /** (any path).
func (m *Matcher) matchesAll() bool {
	return m == nil || (m.Path == "" || m.Path == "/**") && len(m.Method) == 0 && m.Bin == "" &&
		m.Query == nil && m.Headers == nil && m.Body == nil && m.JSON == nil && m.JSONPartial == nil &&
		m.Form == nil && m.All == nil && m.Any == nil && m.Not == nil
}

// asksPreflight reports whether m (or a condition inside it) names the
// OPTIONS method or the Access-Control-Request-Method header: a mock
// meant to answer CORS preflights.
func (m *Matcher) asksPreflight() bool {
	if m == nil {
		return false
	}
	if slices.Contains(m.Method, "OPTIONS") || m.Headers["Access-Control-Request-Method"] != nil {
		return true
	}
	for _, s := range append(append([]*Matcher{m.Not}, m.All...), m.Any...) {
		if s.asksPreflight() {
			return true
		}
	}
	return false
}

func (d *decoder) matcher(n *yaml.Node) *Matcher {
	m := &Matcher{}
	if !d.enter(n) {
		return m
	}
	defer d.leave()
	for _, p := range d.pairs(n, "match") {
		// A key left empty is not a condition that always holds: path:
		// with nothing after it would match every path.
		if want, ok := emptyMatchWant[p.key]; ok && d.empty(p.val, p.key, want) {
			continue
		}
		switch p.key {
		case "method":
			for _, s := range d.strList(p.val, "method") {
				s = strings.ToUpper(strings.TrimSpace(s))
				// A method is a token, as a header name is: "GET,POST"
				// is none, and no request would have it.
				if !validHeaderName(s) {
					hint := ""
					if parts := strings.Split(s, ","); len(parts) > 1 {
						for i := range parts {
							parts[i] = strings.TrimSpace(parts[i])
						}
						hint = fmt.Sprintf(" (several methods are a list: [%s])", strings.Join(parts, ", "))
					}
					d.errorf(p.val, "method: bad method %q%s", s, hint)
					continue
				}
				m.Method = append(m.Method, s)
			}
		case "path":
			m.Path = d.str(p.val, "path")
			pp, err := compilePath(m.Path)
			switch {
			case err != nil:
				hint := ""
				if u, uerr := url.Parse(m.Path); uerr == nil && u.Scheme != "" && u.Host != "" {
					hint = fmt.Sprintf(" (write the path only, %s; headers: {Host: ...} matches the host)", cmp.Or(u.Path, "/"))
				}
				d.errorf(p.val, "path: %v%s", err, hint)
			case strings.Contains(m.Path, "?"):
				// The path rules see never holds the query (a ? in a path
				// comes encoded, %3F): such a rule matched nothing.
				path, query, _ := strings.Cut(m.Path, "?")
				var conds []string
				for _, kv := range strings.Split(query, "&") {
					if k, v, _ := strings.Cut(kv, "="); k != "" {
						conds = append(conds, k+": "+v)
					}
				}
				d.errorf(p.val, "path: %q holds a query, which the path never does: write path: %s and query: {%s}", m.Path, path, strings.Join(conds, ", "))
			}
			m.path = pp
		case "bin":
			m.Bin = d.bin(p.val)
		case "query":
			m.Query = d.condMap(p.val, "query", false)
		case "headers":
			m.Headers = d.condMap(p.val, "headers", true)
		case "body":
			m.Body = d.cond(p.val, "body")
		case "json":
			for _, item := range d.list(p.val, "json") {
				m.JSON = append(m.JSON, d.jsonCond(item))
			}
		case "json_partial":
			m.JSONPartial = d.value(p.val, "json_partial")
		case "form":
			m.Form = d.condMap(p.val, "form", false)
		case "all":
			for _, item := range d.list(p.val, "all") {
				d.empty(item, "all", "a condition")
				m.All = append(m.All, d.matcher(item))
			}
		case "any":
			for _, item := range d.list(p.val, "any") {
				// An empty item matches everything, and so would the any.
				d.empty(item, "any", "a condition")
				m.Any = append(m.Any, d.matcher(item))
			}
		case "not":
			// Not of nothing matches nothing: the rule would never apply.
			d.empty(p.val, "not", "a condition")
			m.Not = d.matcher(p.val)
		}
	}
	return m
}

// emptyMatchWant says, for each match key but not (which says its own),
// what it wants when it is left empty.
var emptyMatchWant = map[string]string{
	"method":       "a method such as POST, or a list of them",
	"path":         "a path such as /hooks/*",
	"bin":          "a bin name",
	"query":        "a mapping of name to condition",
	"headers":      "a mapping of name to condition",
	"form":         "a mapping of name to condition",
	"body":         "a value or a condition such as {contains: x}",
	"json":         "a list of conditions such as {path: a.b, op: eq, value: 1}",
	"json_partial": "a document the body contains",
	"all":          "a list of conditions",
	"any":          "a list of conditions",
}

func (d *decoder) condMap(n *yaml.Node, what string, header bool) map[string]*Cond {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping of name to condition, got %s", what, nodeKind(n))
		return nil
	}
	out := map[string]*Cond{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		name := k.Value
		if header {
			if !validHeaderName(name) {
				d.errorf(k, "headers: bad header name %q", name)
				continue
			}
			name = http.CanonicalHeaderKey(name)
		}
		if _, dup := out[name]; dup {
			d.errorf(k, "%s: duplicate name %q", what, k.Value)
			continue
		}
		out[name] = d.cond(v, what+" "+k.Value)
	}
	return out
}

func (d *decoder) cond(n *yaml.Node, what string) *Cond {
	n = resolve(n)
	c := &Cond{}
	if n != nil && isNull(n) {
		// Left empty (X-Signature: with nothing after it): not the empty
		// value, which only a header sent empty has.
		d.errorf(n, "%s: want a value or a condition such as {present: true}, got nothing (an entry left empty: fill it in or remove it; '' is the empty value)", what)
		return c
	}
	if n != nil && n.Kind == yaml.ScalarNode {
		s, _ := d.scalar(n, what)
		c.Equals = &s
		return c
	}
	if n != nil && n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a value or a mapping of equals, regex, contains, present, absent, case_insensitive; got %s", what, nodeKind(n))
		return c
	}
	var absentNode *yaml.Node
	set := 0
	before := len(d.errs)
	pairs := d.pairs(n, "condition")
	keyErrs := len(d.errs) > before // an unknown key says more than "empty"
	for _, p := range pairs {
		switch p.key {
		case "equals":
			s := d.str(p.val, what+" equals")
			c.Equals = &s
			set++
		case "contains":
			s := d.str(p.val, what+" contains")
			c.Contains = &s
			set++
		case "regex":
			c.Regex = d.str(p.val, what+" regex")
			set++
		case "present":
			if d.bool(p.val, what+" present") {
				c.Present = true
			} else {
				c.Absent = true
				absentNode = p.val
			}
		case "absent":
			if d.bool(p.val, what+" absent") {
				c.Absent = true
				absentNode = p.val
			} else {
				c.Present = true
			}
		case "case_insensitive":
			c.CaseInsensitive = d.bool(p.val, what+" case_insensitive")
		}
	}
	if c.Absent && (set > 0 || c.Present) {
		d.errorf(absentNode, "%s: absent cannot be combined with other checks", what)
	}
	if c.Regex != "" {
		expr := c.Regex
		if c.CaseInsensitive {
			expr = "(?i)" + expr
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			d.errorf(n, "%s regex: %s", what, d.regexError(expr, err))
		}
		c.re = re
	}
	if set == 0 && !c.Present && !c.Absent && !keyErrs {
		d.errorf(n, "%s: empty condition; set equals, regex, contains, present or absent", what)
	}
	return c
}

func (d *decoder) jsonCond(n *yaml.Node) *JSONCond {
	c := &JSONCond{Op: "eq"}
	if d.empty(n, "json", "a condition such as {path: a.b, op: eq, value: 1}") {
		return c
	}
	var valueNode, opNode *yaml.Node
	hasPath := false
	for _, p := range d.pairs(n, "json_condition") {
		switch p.key {
		case "path":
			hasPath = true
			c.Path = d.str(p.val, "json path")
			if c.Path == "" {
				d.errorf(p.val, "json path: must not be empty")
			} else if err := checkPath(c.Path); err != nil {
				d.errorf(p.val, "json path: %v", err)
			}
		case "op":
			opNode = p.val
			c.Op = d.str(p.val, "json op")
			if !contains(jsonOps(), c.Op) {
				d.errorf(p.val, "json op: unknown operator %q%s; want one of %s", c.Op, suggest(c.Op, jsonOps()), strings.Join(jsonOps(), ", "))
			}
		case "value":
			valueNode = p.val
			c.Value = d.value(p.val, "json value")
		}
	}
	rn := resolve(n)
	if rn == nil || rn.Kind != yaml.MappingNode {
		return c
	}
	if !hasPath {
		d.errorf(rn, "json condition: path is required")
	}
	where := rn
	if opNode != nil {
		where = opNode
	}
	switch c.Op {
	case "exists":
		switch c.Value.(type) {
		case nil:
			c.Value = true
		case bool:
		default:
			d.errorf(valueNode, "json value: exists takes true or false")
		}
	case "regex":
		s, ok := c.Value.(string)
		if !ok {
			d.errorf(where, "json value: regex takes a regular expression string")
			break
		}
		re, err := regexp.Compile(s)
		if err != nil {
			d.errorf(valueNode, "json value: %s", d.regexError(s, err))
		}
		c.re = re
	case "gt", "lt", "gte", "lte":
		if _, ok := toFloat(c.Value); !ok {
			d.errorf(where, "json value: %s takes a number", c.Op)
		}
	case "in":
		if _, ok := c.Value.([]any); !ok {
			d.errorf(where, "json value: in takes a list of values")
		}
	case "eq", "ne", "contains":
		if valueNode == nil {
			d.errorf(where, "json condition: %s needs a value", c.Op)
		}
	}
	return c
}

// toFloat converts numbers, and strings holding numbers, to float64.
func toFloat(v any) (float64, bool) {
	switch v := v.(type) {
	case float64:
		return v, true
	case int64:
		return float64(v), true
	case int:
		return float64(v), true
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		return f, err == nil
	case string:
		// A string holding a number as JSON writes one (a leading +
		// allowed): not "Infinity", "NaN" or hex, which ParseFloat takes.
		v = strings.TrimSpace(v)
		if !decimalNumber(v) {
			return 0, false
		}
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	}
	return 0, false
}

// decimalNumber reports whether s is a decimal number: an optional sign,
// digits with an optional fraction, an optional exponent.
func decimalNumber(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	digits := func() int {
		n := 0
		for n < len(s) && '0' <= s[n] && s[n] <= '9' {
			n++
		}
		s = s[n:]
		return n
	}
	n := digits()
	if s != "" && s[0] == '.' {
		s = s[1:]
		n += digits()
	}
	if n == 0 {
		return false
	}
	if s != "" && (s[0] == 'e' || s[0] == 'E') {
		s = s[1:]
		if s != "" && (s[0] == '+' || s[0] == '-') {
			s = s[1:]
		}
		if digits() == 0 {
			return false
		}
	}
	return s == ""
}

// Match reports whether r matches, and the parameters captured by path
// templates (nil when there are none).
func (m *Matcher) Match(r *Request) (params map[string]string, ok bool) {
	if m == nil {
		return nil, true
	}
	return m.eval(r, nil)
}

// Explain says why r does not match, one reason per failing condition (for
// example `method: want POST, got GET`). It is empty when r matches.
func (m *Matcher) Explain(r *Request) []string {
	if m == nil {
		return nil
	}
	var why []string
	if _, ok := m.eval(r, &why); ok {
		return nil
	}
	if len(why) == 0 {
		why = []string{"does not match"}
	}
	return why
}

// methodOK reports whether method (upper case) is one of m's. A rule for
// GET takes HEAD too, as RFC 9110 (9.3.2) has a server answer HEAD as GET
// without the body, and as Go's ServeMux does: a client checking a
// download's size or ETag first got the default answer. A rule naming
// HEAD, listed before, answers it alone.
func (m *Matcher) methodOK(method string) bool {
	return slices.Contains(m.Method, method) || method == http.MethodHead && slices.Contains(m.Method, http.MethodGet)
}

// eval matches r. With why nil it stops at the first failing condition;
// otherwise it checks every condition and adds a reason for each failure.
func (m *Matcher) eval(r *Request, why *[]string) (map[string]string, bool) {
	ok := true
	miss := func(format string, args ...any) {
		ok = false
		*why = append(*why, fmt.Sprintf(format, args...))
	}
	if len(m.Method) > 0 && !m.methodOK(strings.ToUpper(r.Method)) {
		if why == nil {
			return nil, false
		}
		miss("method: want %s, got %s", strings.Join(m.Method, " or "), r.Method)
	}
	var params map[string]string
	if m.path != nil {
		var pathOK bool
		params, pathOK = m.path.match(r.Path)
		if !pathOK && hasEncodedSlash(r.EscapedPath) {
			params, pathOK = m.path.matchEscaped(r.EscapedPath)
		}
		if !pathOK {
			if why == nil {
				return nil, false
			}
			miss("path: want %s, got %s", m.Path, r.Path)
		}
	}
	if m.Bin != "" && m.Bin != r.Bin {
		if why == nil {
			return nil, false
		}
		miss("bin: want %s, got %s", m.Bin, r.Bin)
	}
	for _, name := range sortedKeys(m.Query) {
		vals, present := r.query()[name]
		if good, reason := m.Query[name].test(vals, present); !good {
			if why == nil {
				return nil, false
			}
			if !present {
				reason += unreadNote("query", r.parsed.queryCut)
			}
			miss("query %s: %s", name, reason)
		}
	}
	for _, name := range sortedKeys(m.Headers) {
		vals, present := r.header(name)
		if good, reason := m.Headers[name].test(vals, present); !good {
			if why == nil {
				return nil, false
			}
			if present && r.Secret != nil && r.Secret(name) {
				reason = "the value differs (not shown: a secret)"
			}
			miss("header %s: %s", name, reason)
		}
	}
	if m.Body != nil {
		if good, reason := m.Body.test([]string{string(r.Body)}, len(r.Body) > 0); !good {
			if why == nil {
				return nil, false
			}
			miss("body: %s", reason)
		}
	}
	for _, c := range m.JSON {
		if good, reason := c.test(r); !good {
			if why == nil {
				return nil, false
			}
			miss("json %s: %s", c.Path, reason)
		}
	}
	if m.JSONPartial != nil {
		if !r.isJSON() {
			if why == nil {
				return nil, false
			}
			miss("json_partial: %s", r.notJSON())
		} else if !partialMatch(r.jsonBody(), m.JSONPartial) {
			if why == nil {
				return nil, false
			}
			miss("json_partial: body does not contain the document")
		}
	}
	for _, name := range sortedKeys(m.Form) {
		vals, present := r.form()[name]
		if good, reason := m.Form[name].test(vals, present); !good {
			if why == nil {
				return nil, false
			}
			if !present {
				reason += unreadNote("form", r.parsed.formCut)
			}
			miss("form %s: %s%s", name, reason, r.cutNote())
		}
	}
	for i, sub := range m.All {
		subParams, good := sub.eval(r, nil)
		if !good {
			if why == nil {
				return nil, false
			}
			ok = false
			for _, s := range sub.Explain(r) {
				*why = append(*why, fmt.Sprintf("all[%d]: %s", i, s))
			}
			continue
		}
		params = mergeParams(params, subParams)
	}
	if len(m.Any) > 0 {
		matched := false
		for _, sub := range m.Any {
			if subParams, good := sub.eval(r, nil); good {
				params = mergeParams(params, subParams)
				matched = true
				break
			}
		}
		if !matched {
			if why == nil {
				return nil, false
			}
			// Report the closest alternative.
			var best []string
			bestIdx := 0
			for i, sub := range m.Any {
				if w := sub.Explain(r); best == nil || len(w) < len(best) {
					best, bestIdx = w, i
				}
			}
			ok = false
			for _, s := range best {
				*why = append(*why, fmt.Sprintf("any[%d]: %s", bestIdx, s))
			}
		}
	}
	if m.Not != nil {
		if _, matched := m.Not.eval(r, nil); matched {
			if why == nil {
				return nil, false
			}
			miss("not: the request matches the negated conditions")
		}
	}
	if !ok {
		return nil, false
	}
	return params, true
}

func mergeParams(dst, src map[string]string) map[string]string {
	if len(src) == 0 {
		return dst
	}
	if dst == nil {
		dst = make(map[string]string, len(src))
	}
	for k, v := range src {
		if _, set := dst[k]; !set {
			dst[k] = v
		}
	}
	return dst
}

func sortedKeys[V any](m map[string]V) []string {
	if len(m) == 0 {
		return nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// test checks the condition against a field's values; present says whether
// the field exists. It returns a reason when the check fails.
func (c *Cond) test(vals []string, present bool) (bool, string) {
	if c.Absent {
		if present {
			return false, fmt.Sprintf("want absent, got %s", quoteVals(vals))
		}
		return true, ""
	}
	if !present {
		return false, "absent"
	}
	if c.Equals == nil && c.Contains == nil && c.re == nil {
		return true, ""
	}
	for _, v := range vals {
		if c.pass(v) {
			return true, ""
		}
	}
	var want []string
	if c.Equals != nil {
		want = append(want, strconv.Quote(*c.Equals))
	}
	if c.Contains != nil {
		want = append(want, "containing "+strconv.Quote(*c.Contains))
	}
	if c.re != nil {
		want = append(want, "matching /"+c.Regex+"/")
	}
	return false, fmt.Sprintf("want %s, got %s", strings.Join(want, " and "), quoteVals(vals))
}

func (c *Cond) pass(v string) bool {
	if c.Equals != nil {
		if c.CaseInsensitive {
			if !strings.EqualFold(v, *c.Equals) {
				return false
			}
		} else if v != *c.Equals {
			return false
		}
	}
	if c.Contains != nil {
		if c.CaseInsensitive {
			if !strings.Contains(strings.ToLower(v), strings.ToLower(*c.Contains)) {
				return false
			}
		} else if !strings.Contains(v, *c.Contains) {
			return false
		}
	}
	if c.re != nil && !c.re.MatchString(v) {
		return false
	}
	return true
}

func quoteVals(vals []string) string {
	const maxLen = 80
	q := make([]string, len(vals))
	for i, v := range vals {
		if len(v) > maxLen {
			v = v[:maxLen] + "…"
		}
		q[i] = strconv.Quote(v)
	}
	if len(q) == 1 {
		return q[0]
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// test checks the JSON condition against r's body.
func (c *JSONCond) test(r *Request) (bool, string) {
	if !r.isJSON() {
		return false, r.notJSON()
	}
	res := r.jsonGet(c.Path)
	got := "nothing"
	if res.Exists() {
		got = truncate(res.Raw, 80)
	}
	want := func() string { return fmt.Sprintf("want %s %s, got %s", c.Op, describe(c.Value), got) }
	switch c.Op {
	case "exists":
		if res.Exists() != c.Value.(bool) {
			if res.Exists() {
				return false, "want absent, got " + got
			}
			return false, "want present, got nothing"
		}
	case "eq":
		if !res.Exists() || !jsonEqual(res, c.Value) {
			return false, want()
		}
	case "ne":
		if res.Exists() && jsonEqual(res, c.Value) {
			return false, want()
		}
	case "in":
		list, _ := c.Value.([]any)
		if !res.Exists() || !slices.ContainsFunc(list, func(v any) bool { return jsonEqual(res, v) }) {
			return false, want()
		}
	case "regex":
		if !res.Exists() || c.re == nil || !c.re.MatchString(res.String()) {
			return false, want()
		}
	case "gt", "lt", "gte", "lte":
		f, ok := resultFloat(res)
		if !ok {
			return false, want()
		}
		cmp, ok := compareNumber(resultLiteral(res), f, c.Value)
		if !ok {
			return false, want()
		}
		var pass bool
		switch c.Op {
		case "gt":
			pass = cmp > 0
		case "lt":
			pass = cmp < 0
		case "gte":
			pass = cmp >= 0
		case "lte":
			pass = cmp <= 0
		}
		if !pass {
			return false, want()
		}
	case "contains":
		if !jsonContains(res, c.Value) {
			return false, want()
		}
	}
	return true, ""
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func describe(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case nil:
		return "null"
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// resultLiteral is the text of a number in a JSON body: its raw literal,
// or the string that holds it.
func resultLiteral(res gjson.Result) string {
	if res.Type == gjson.String {
		return res.Str
	}
	return res.Raw
}

func resultFloat(res gjson.Result) (float64, bool) {
	switch res.Type {
	case gjson.Number:
		return res.Num, true
	case gjson.String:
		return toFloat(res.Str)
	}
	return 0, false
}

// jsonEqual compares a gjson result with a value from the config. Strings and
// numbers compare leniently: "42" equals 42.
func jsonEqual(res gjson.Result, want any) bool {
	switch want := want.(type) {
	case nil:
		return res.Type == gjson.Null && res.Exists()
	case bool:
		return (res.Type == gjson.True && want) || (res.Type == gjson.False && !want)
	case float64, json.Number:
		f, ok := resultFloat(res)
		if !ok {
			return false
		}
		c, ok := compareNumber(resultLiteral(res), f, want)
		return ok && c == 0
	case string:
		switch res.Type {
		case gjson.String:
			return res.Str == want
		case gjson.Number:
			c, ok := compareNumber(res.Raw, res.Num, want)
			return ok && c == 0
		case gjson.True, gjson.False:
			return res.Raw == want
		}
		return false
	case []any, map[string]any:
		return jsonDeepEqual(res, want)
	}
	return false
}

// jsonDeepEqual compares a JSON value with a config value strictly ("42"
// is not 42), arrays item by item and objects key by key, numbers by value
// (integers beyond 2^53 by their digits).
func jsonDeepEqual(res gjson.Result, want any) bool {
	switch w := want.(type) {
	case []any:
		if !res.IsArray() {
			return false
		}
		items := res.Array()
		if len(items) != len(w) {
			return false
		}
		for i := range items {
			if !jsonDeepEqual(items[i], w[i]) {
				return false
			}
		}
		return true
	case map[string]any:
		if !res.IsObject() {
			return false
		}
		// A key given twice counts once, its last value (as a JSON
		// decoder reads it): {"id":1,"id":1} is {id: 1}, and it is not
		// {id: 1, role: admin}.
		got := map[string]gjson.Result{}
		res.ForEach(func(k, v gjson.Result) bool {
			got[k.String()] = v
			return true
		})
		if len(got) != len(w) {
			return false
		}
		for k, v := range got {
			wv, has := w[k]
			if !has || !jsonDeepEqual(v, wv) {
				return false
			}
		}
		return true
	case nil:
		return res.Type == gjson.Null
	case bool:
		return res.Type == gjson.True && w || res.Type == gjson.False && !w
	case string:
		return res.Type == gjson.String && res.Str == w
	case float64, json.Number:
		if res.Type != gjson.Number {
			return false
		}
		c, ok := compareNumber(res.Raw, res.Num, w)
		return ok && c == 0
	}
	return false
}

// jsonContains: an array contains an equal element, a string contains the
// text, an object contains the key.
func jsonContains(res gjson.Result, want any) bool {
	switch {
	case res.IsArray():
		found := false
		res.ForEach(func(_, v gjson.Result) bool {
			found = jsonEqual(v, want)
			return !found
		})
		return found
	case res.Type == gjson.String:
		s, ok := want.(string)
		if !ok {
			s = describe(want)
		}
		return strings.Contains(res.Str, s)
	case res.IsObject():
		var key string
		switch w := want.(type) {
		case string:
			key = w
		case float64, json.Number:
			key = describe(w) // value: 123 finds the key "123", as 123 equals "123"
		default:
			return false
		}
		return res.Get(gjson.Escape(key)).Exists()
	}
	return false
}

// partialMatch reports whether got contains want: objects may have extra
// keys, every element of a wanted array must match some element of the got
// array, scalars are equal (numbers by value).
func partialMatch(got, want any) bool {
	switch want := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range want {
			gv, ok := g[k]
			if !ok || !partialMatch(gv, wv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		if !ok {
			return false
		}
		for _, wv := range want {
			if !slices.ContainsFunc(g, func(gv any) bool { return partialMatch(gv, wv) }) {
				return false
			}
		}
		return true
	case float64, json.Number:
		lit, f, ok := numberOf(got)
		if !ok {
			return false
		}
		c, ok := compareNumber(lit, f, want)
		return ok && c == 0
	case nil:
		return got == nil
	}
	return got == want
}

// checkPath refuses a gjson path that gjson reads as nothing, whatever the
// body, so that a condition on it would never hold (or always, with ne):
// a query (#(...)) or a multipath ([a,b], {a,b}) left open, or a quote left
// open inside one. (gjson itself has no errors: a path it cannot read
// finds nothing. An @name that is no modifier is a key: @type.)
func checkPath(path string) error {
	var open []byte // the brackets open, innermost last
	inQuote, compStart := false, true
	for i := 0; i < len(path); i++ {
		c := path[i]
		if c == '\\' {
			i++ // an escaped character is a character
			compStart = false
			continue
		}
		if inQuote {
			if c == '"' {
				inQuote = false
			}
			continue
		}
		switch {
		case c == '"' && len(open) > 0:
			inQuote = true
		case c == '(' && (len(open) > 0 || i > 0 && path[i-1] == '#'),
			(c == '[' || c == '{') && (len(open) > 0 || compStart):
			open = append(open, c)
		case (c == ')' || c == ']' || c == '}') && len(open) > 0:
			if want := map[byte]byte{')': '(', ']': '[', '}': '{'}[c]; open[len(open)-1] != want {
				return fmt.Errorf("%q closes a %c with %c", path, open[len(open)-1], c)
			}
			open = open[:len(open)-1]
		}
		compStart = len(open) == 0 && (c == '.' || c == '|')
	}
	switch {
	case inQuote:
		return fmt.Errorf("%q has a quote that is not closed", path)
	case len(open) > 0:
		return fmt.Errorf("%q has a %c that is not closed", path, open[len(open)-1])
	}
	return nil
}
