package rules

import (
	"errors"
	"fmt"
	"math"
	"regexp/syntax"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// knownKeys lists the keys the parser accepts for each kind of object in the
// config file. The JSON Schema (schema.json) must list the same keys; a test
// checks that they agree.
func knownKeys(kind string) []string {
	switch kind {
	case "config":
		return []string{"mocks", "verify", "settings", "webhooks", "triggers", "automations", "subscriptions", "proxies"}
	case "mock":
		return []string{"name", "match", "respond", "sequence", "sequence_mode", "rate_limit", "bin", "proxy"}
	case "respond":
		return []string{"status", "headers", "body", "file", "delay", "fault", "drip_rate", "fail_rate", "fail_fault"}
	case "rate_limit":
		return []string{"limit", "window"}
	case "verify":
		return []string{"name", "match", "scheme", "secret", "tolerance", "reject", "timestamp_header"}
	case "settings":
		return []string{"max_body", "default_status"}
	case "match":
		return []string{"method", "path", "bin", "query", "headers", "body", "json", "json_partial", "form", "all", "any", "not"}
	case "condition":
		return []string{"equals", "regex", "contains", "present", "absent", "case_insensitive"}
	case "json_condition":
		return []string{"path", "op", "value"}
	}
	panic("rules: unknown kind " + kind)
}

// foreignKey says what to write instead of key, a key of another mock
// server's stubs (WireMock's, Mockoon's) in a section of kind; "" for
// any other.
func foreignKey(kind, key string) string {
	var hint string
	switch k := strings.ToLower(key); kind {
	case "mock":
		switch k {
		case "priority":
			hint = "rules are tried in file order, and the first that matches answers: put the more specific one first"
		case "request":
			hint = "write the conditions under match:"
		case "scenarioname", "requiredscenariostate", "newscenariostate":
			hint = "answers given in turn are a sequence: list, with sequence_mode:"
		}
	case "match":
		switch k {
		case "url", "urlpath", "urlpattern", "urlpathpattern", "endpoint", "route":
			hint = `write the path as path: "/users/{id}", "/v1/**" or "/img/*.png"`
		case "queryparameters", "queryparams", "params":
			hint = "write query conditions as query:"
		case "bodypatterns":
			hint = "write body conditions as body:, json: or json_partial:"
		case "verb":
			hint = "write method:"
		case "cookies":
			hint = `match a cookie with headers: {Cookie: {regex: "(^|; )session=abc(;|$)"}}`
		case "basicauth", "basicauthcredentials":
			hint = "match the Authorization header with headers:"
		}
	case "respond":
		switch k {
		case "jsonbody":
			hint = "write the JSON as text in body:, sent as application/json"
		case "fixeddelaymilliseconds", "latency", "delaydistribution":
			hint = "write delay: 300ms, or 100ms..500ms for a random one"
		case "bodyfilename", "filepath":
			hint = "write file:"
		case "statuscode", "status_code":
			hint = "write status:"
		case "transformers":
			hint = "every body is a Liquid template already"
		}
	}
	if hint == "" {
		return ""
	}
	return " (" + hint + ")"
}

// decoder walks yaml.Node trees, expanding ${NAME} references in scalars and
// collecting every problem with its position.
type decoder struct {
	file   string
	dir    string // directory of the config file, for body files
	src    []byte // the file's content, for the place of a template error
	getenv func(string) string
	env    *EnvSeen // what getenv returned, kept out of messages
	errs   []Error
	// badKeys are keys whose ${NAME} could not be expanded: that is said
	// once, not again as a bad name for each use of the key.
	badKeys map[*yaml.Node]bool
	// places holds the position an item had in its list before
	// dropMisplaced took out the items of other sections, so that an
	// unnamed rule after one is still named by where it stands (mock-3).
	places map[*yaml.Node]int

	// depth and steps bound the walk, so recursive or exponential aliases
	// fail instead of running forever.
	depth, steps int
	tooDeep      bool
}

// Walk limits: nesting depth and nodes visited.
const (
	maxDepth = 64
	maxSteps = 200_000
)

// enter counts a step into n; it reports false (once, with an error) when
// the walk is too deep or too long. Each true must be paired with leave.
func (d *decoder) enter(n *yaml.Node) bool {
	d.steps++
	if d.depth >= maxDepth || d.steps > maxSteps {
		if !d.tooDeep {
			d.tooDeep = true
			d.errorf(n, "nested too deeply or too many aliased nodes (a recursive alias?)")
		}
		return false
	}
	d.depth++
	return true
}

func (d *decoder) leave() { d.depth-- }

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	if d.badKeys[n] {
		return
	}
	e := Error{File: d.file, Msg: d.env.Scrub(fmt.Sprintf(format, args...))}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// newDecoder returns a decoder of file whose ${NAME} references are looked
// up with getenv.
func newDecoder(file, dir string, getenv func(string) string) *decoder {
	env := NewEnvSeen(getenv)
	return &decoder{file: file, dir: dir, getenv: env.Getenv, env: env}
}

// regexError describes err, from compiling a regular expression, without
// the part of it the error quotes when that part may come from a value of
// the environment.
func (d *decoder) regexError(expr string, err error) string {
	var se *syntax.Error
	if errors.As(err, &se) {
		if ref, ok := d.env.Overlaps(expr, se.Expr); ok {
			return fmt.Sprintf("error parsing regexp: %s (near the value of %s)", se.Code, ref)
		}
	}
	return err.Error()
}

// pair is one key and its value in a YAML mapping.
type pair struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
}

// resolve follows aliases.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// empty reports an entry left empty (a lone "-", or "key:" with nothing
// after it) where what needs something: YAML reads it as null, which would
// otherwise pass as a rule that does nothing, or matches nothing.
func (d *decoder) empty(n *yaml.Node, what, want string) bool {
	if !isNull(n) {
		return false
	}
	d.errorf(n, "%s: want %s, got nothing (an entry left empty: fill it in or remove it)", what, want)
	return true
}

// isNull reports whether n is absent or an explicit null.
func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || (n.Kind == yaml.ScalarNode && n.Tag == "!!null")
}

// pairs returns the entries of mapping n, reporting a non-mapping, unknown
// keys (with a suggestion) and duplicates. Merge keys (<<) are honoured.
func (d *decoder) pairs(n *yaml.Node, kind string) []pair {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping, got %s", kindName(kind), nodeKind(n))
		return nil
	}
	known := knownKeys(kind)
	seen := map[string]bool{}
	var out []pair
	var merged []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: keys must be strings", kindName(kind))
			continue
		}
		if k.Tag == "!!merge" || k.Value == "<<" {
			if !d.enter(v) {
				continue
			}
			v = resolve(v)
			var srcs []*yaml.Node
			if v.Kind == yaml.SequenceNode {
				srcs = v.Content
			} else {
				srcs = []*yaml.Node{v}
			}
			for _, s := range srcs {
				merged = append(merged, d.pairs(s, kind)...)
			}
			d.leave()
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "%s: duplicate key %q", kindName(kind), k.Value)
			continue
		}
		seen[k.Value] = true
		if kind == "config" && strings.HasPrefix(k.Value, "x-") {
			// An extension key, as in Compose files: a place for anchors
			// that the sections merge (<<: *name), read only through them.
			continue
		}
		if !contains(known, k.Value) {
			hint := suggest(k.Value, known)
			if hint == "" {
				hint = foreignKey(kind, k.Value)
			}
			if hint == "" {
				hint = UnknownKey(k.Value, known)
			}
			d.errorf(k, "%s: unknown key %q%s", kindName(kind), k.Value, hint)
			continue
		}
		out = append(out, pair{key: k.Value, keyNode: k, val: v})
	}
	for _, p := range merged {
		if !seen[p.key] {
			seen[p.key] = true
			out = append(out, p)
		}
	}
	return out
}

func kindName(kind string) string {
	switch kind {
	case "config":
		return "config"
	case "respond":
		return "respond" // also a sequence item: the same keys
	case "json_condition":
		return "json condition"
	case "rate_limit":
		return "rate_limit" // the key, as written
	}
	return strings.ReplaceAll(kind, "_", " ")
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// scalar returns the value of scalar node n with ${NAME} references expanded.
// ok is false (and an error recorded) when n is not a scalar or a variable is
// missing.
func (d *decoder) scalar(n *yaml.Node, what string) (string, bool) {
	n = resolve(n)
	if n == nil {
		return "", true
	}
	if n.Kind != yaml.ScalarNode {
		d.errorf(n, "%s: want a single value, got %s", what, nodeKind(n))
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	s, err := expandEnv(n.Value, d.getenv)
	if err != nil {
		d.errorf(n, "%s: %v", what, err)
		return "", false
	}
	return s, true
}

// expandEnv replaces ${NAME} with getenv(NAME); "$${" stands for a literal
// "${". A variable that is unset or empty is an error naming it.
func expandEnv(s string, getenv func(string) string) (string, error) {
	if strings.Contains(s, envOpen) {
		s = unprotectEnv(s)
	}
	if !strings.Contains(s, "${") {
		return s, nil
	}
	var b strings.Builder
	for {
		i := strings.Index(s, "${")
		if i < 0 {
			b.WriteString(s)
			return b.String(), nil
		}
		if i > 0 && s[i-1] == '$' {
			b.WriteString(s[:i-1])
			b.WriteString("${")
			s = s[i+2:]
			continue
		}
		b.WriteString(s[:i])
		j := strings.IndexByte(s[i:], '}')
		if j < 0 {
			return "", fmt.Errorf("unterminated ${ in %q", s)
		}
		name := s[i+2 : i+j]
		if !validEnvName(name) {
			return "", fmt.Errorf("bad environment variable name %q", name)
		}
		v := ""
		if getenv != nil {
			v = getenv(name)
		}
		if v == "" {
			return "", fmt.Errorf("environment variable %s is not set (or empty); write $${ for a literal ${", name)
		}
		b.WriteString(v)
		s = s[i+j+1:]
	}
}

func validEnvName(s string) bool {
	if s == "" {
		return false
	}
	for i, c := range s {
		switch {
		case c == '_', c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z':
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

func (d *decoder) str(n *yaml.Node, what string) string {
	s, _ := d.scalar(n, what)
	return s
}

func (d *decoder) int(n *yaml.Node, what string) int {
	v, _ := d.intOK(n, what)
	return v
}

// intOK is int, reporting whether a number was read (false after an error
// or for an empty value).
func (d *decoder) intOK(n *yaml.Node, what string) (int, bool) {
	s, ok := d.scalar(n, what)
	if !ok || s == "" {
		return 0, false
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		d.errorf(n, "%s: want a whole number, got %q", what, s)
		return 0, false
	}
	return v, true
}

func (d *decoder) float(n *yaml.Node, what string) float64 {
	s, ok := d.scalar(n, what)
	if !ok || s == "" {
		return 0
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		d.errorf(n, "%s: want a number, got %q", what, s)
		return 0
	}
	return v
}

func (d *decoder) bool(n *yaml.Node, what string) bool {
	s, ok := d.scalar(n, what)
	if !ok || s == "" {
		return false
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		d.errorf(n, "%s: want true or false, got %q", what, s)
	}
	return v
}

func (d *decoder) duration(n *yaml.Node, what string) time.Duration {
	s, ok := d.scalar(n, what)
	if !ok || s == "" {
		return 0
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		d.errorf(n, "%s: want a duration such as 300ms or 1m, got %q", what, s)
		return 0
	}
	return v
}

// size parses a byte count: a number, or a number with a unit (KB, KiB, MB,
// MiB, GB, GiB).
func (d *decoder) size(n *yaml.Node, what string) (int64, bool) {
	s, ok := d.scalar(n, what)
	if !ok || s == "" {
		return 0, false
	}
	v, err := ParseSize(s)
	if err != nil {
		d.errorf(n, "%s: %v", what, err)
		return 0, false
	}
	return v, true
}

// ParseSize reads a byte count: a number (a fraction too: 1.5MiB),
// optionally followed by a unit in any case: B; KiB, MiB, GiB, TiB (or K,
// M, G, T); KB, MB, GB, TB. The flags (--max-body), hooklab.yaml and the
// API all read sizes with it. Its error quotes s and lists the units.
func ParseSize(s string) (int64, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), "+")
	i := 0
	for i < len(t) && (t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
		i++
	}
	num, unit := t[:i], strings.ToLower(strings.TrimSpace(t[i:]))
	var mult int64
	switch unit {
	case "", "b":
		mult = 1
	case "k", "kib":
		mult = 1 << 10
	case "m", "mib":
		mult = 1 << 20
	case "g", "gib":
		mult = 1 << 30
	case "t", "tib":
		mult = 1 << 40
	case "kb":
		mult = 1e3
	case "mb":
		mult = 1e6
	case "gb":
		mult = 1e9
	case "tb":
		mult = 1e12
	}
	if mult == 0 || num == "" {
		return 0, fmt.Errorf("want a size: a number of bytes, or a number and a unit: B, KiB or KB, MiB or MB, GiB or GB, TiB or TB (K, M, G and T are KiB, MiB, GiB and TiB), such as 10MiB or 1.5GB; got %q", s)
	}
	tooLarge := fmt.Errorf("%q is too large: a size is under 8EiB", s)
	if !strings.Contains(num, ".") {
		// Digits only: the one error is a number out of range.
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil || v > math.MaxInt64/mult {
			return 0, tooLarge
		}
		return v * mult, nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil {
		return 0, fmt.Errorf("want a size such as 1048576 or 1.5MiB, got %q", s)
	}
	if f*float64(mult) >= math.MaxInt64 {
		return 0, tooLarge
	}
	return int64(math.Round(f * float64(mult))), nil // 2.01MB is 2010000, not 2009999
}

// MaxBodyLimit is the largest max_body (and --max-body) taken: 1GiB. A
// body is held in memory while it is recorded, and a stored exchange is
// one record holding both its bodies.
const MaxBodyLimit = 1 << 30

// strList accepts one scalar or a list of scalars.
func (d *decoder) strList(n *yaml.Node, what string) []string {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind == yaml.SequenceNode {
		out := make([]string, 0, len(n.Content))
		for _, c := range n.Content {
			if s, ok := d.scalar(c, what); ok {
				out = append(out, s)
			}
		}
		return out
	}
	if s, ok := d.scalar(n, what); ok {
		return []string{s}
	}
	return nil
}

// list returns the items of sequence n, reporting anything else.
func (d *decoder) list(n *yaml.Node, what string) []*yaml.Node {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		d.errorf(n, "%s: want a list, got %s", what, nodeKind(n))
		return nil
	}
	return n.Content
}

// value decodes any YAML value into plain Go values (string, float64, bool,
// nil, []any, map[string]any; json.Number for an integer float64 cannot
// hold), expanding ${NAME} in strings.
func (d *decoder) value(n *yaml.Node, what string) any {
	n = resolve(n)
	if n == nil || !d.enter(n) {
		return nil
	}
	defer d.leave()
	switch n.Kind {
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return nil
		case "!!bool":
			v, _ := strconv.ParseBool(n.Value)
			return v
		case "!!int", "!!float":
			var f float64
			if err := n.Decode(&f); err != nil {
				d.errorf(n, "%s: bad number %q", what, n.Value)
			}
			if n.Tag == "!!int" {
				return configInt(n.Value, f) // beyond 2^53: its digits
			}
			return f
		}
		s, _ := d.scalar(n, what)
		return s
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			out = append(out, d.value(c, what))
		}
		return out
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		merged := map[string]bool{} // keys that came from a merge (<<)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := resolve(n.Content[i])
			if k.Tag == "!!merge" {
				if m, ok := d.value(n.Content[i+1], what).(map[string]any); ok {
					for mk, mv := range m {
						if _, dup := out[mk]; !dup {
							out[mk] = mv
							merged[mk] = true
						}
					}
				}
				continue
			}
			if _, dup := out[k.Value]; dup && !merged[k.Value] {
				d.errorf(k, "%s: duplicate key %q", what, k.Value)
				continue
			}
			delete(merged, k.Value) // a key of its own wins over a merged one
			out[k.Value] = d.value(n.Content[i+1], what)
		}
		return out
	}
	return nil
}
