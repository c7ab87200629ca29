package rules

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.yaml.in/yaml/v3"
)

// Config is a parsed, validated hooklab.yaml. It is read-only after Load or
// Parse returns it and safe for concurrent use.
type Config struct {
	// File is the path the config was read from ("" when parsed from bytes
	// without a name).
	File string

	Settings Settings
	// Mocks answer captured requests; order is priority, the first match wins.
	Mocks []*Mock
	// Verify checks signatures of incoming requests.
	Verify []*Verify

	// Webhooks, Triggers, Automations, Subscriptions and Proxies are reserved
	// for later features. They are kept undecoded (nil when absent) so their
	// owners can decode them; ${NAME} references in them are not expanded
	// here.
	Webhooks      *yaml.Node
	Triggers      *yaml.Node
	Automations   *yaml.Node
	Subscriptions *yaml.Node
	Proxies       *yaml.Node

	src []byte // the file's content, for TemplatePos
	// places holds the position an item of a list section had before the
	// items of other sections were taken out of it (see Place).
	places map[*yaml.Node]int
	// env holds the values Parse took from the environment, the keys of
	// the sections decoded elsewhere among them (see EnvSeen).
	env *EnvSeen
}

// Settings are the global knobs of the config file.
type Settings struct {
	// MaxBody is the largest request or response body recorded, in bytes;
	// larger bodies are stored truncated and marked. YAML accepts a number
	// or a size such as "10MiB". Default DefaultMaxBody.
	MaxBody int64
	// DefaultStatus is the status of the answer to a request no mock
	// matches. Default 200.
	DefaultStatus int
}

// MaxRules is how many mocks, and how many verify rules, one file may hold:
// every request is matched against them in turn.
const MaxRules = 1000

// DefaultMaxBody is Settings.MaxBody when the file does not set it.
const DefaultMaxBody = 10 << 20

// DefaultTolerance is Verify.Tolerance when the file does not set it.
const DefaultTolerance = 5 * time.Minute

// DefaultRateWindow is RateLimit.Window when the file does not set it.
const DefaultRateWindow = time.Minute

// DefaultDripRate is Response.DripRate for fault drip when the file does not
// set it, in bytes per second.
const DefaultDripRate = 100

// Mock is one rule that answers captured requests.
type Mock struct {
	// Name identifies the rule in the API and logs; default "mock-N" (N is
	// its 1-based position). Names are unique within a file.
	Name string
	// File and Line say where the rule is defined.
	File string
	Line int

	// Match selects requests; a nil or empty matcher matches every request.
	Match *Matcher
	// Respond is the answer; nil when Sequence is set instead.
	Respond *Response
	// Sequence is a list of answers served in turn (per rule and per bin).
	Sequence []*Response
	// SequenceMode says what happens after the last answer of Sequence.
	SequenceMode SequenceMode
	// RateLimit, when set, limits how many matches get the answer; beyond
	// it the mock answers 429.
	RateLimit *RateLimit
	// Bin scopes the rule to one bin; "" means every bin.
	Bin string
	// Proxy scopes the rule to traffic of the named proxy. "" means capture
	// traffic only (Request.Proxy == ""); "*" means traffic of any proxy.
	Proxy string

	stateKey string // see StateKey; "" for a mock not decoded from a file
}

// StateKey is what the state of the rule that outlives a request
// (sequence positions, rate-limit windows, hit counts) is kept under
// across reloads: the name the config gives it; for a rule given none
// (mock-N, by its place), its definition, so that its state follows it
// when a rule is added above it, and is not handed to the rule that then
// takes its place and name.
func (m *Mock) StateKey() string {
	if m.stateKey == "" {
		return m.Name
	}
	return m.stateKey
}

// SequenceMode is what a sequence does after its last answer.
type SequenceMode string

// Sequence modes.
const (
	// RepeatLast keeps answering with the last response (the default).
	RepeatLast SequenceMode = "repeat_last"
	// Cycle starts again from the first response.
	Cycle SequenceMode = "cycle"
)

// Fault is a way to misbehave instead of answering normally.
type Fault string

// Faults.
const (
	FaultNone    Fault = ""
	FaultReset   Fault = "reset"   // reset the connection (TCP RST)
	FaultClose   Fault = "close"   // close the connection without a response
	FaultEmpty   Fault = "empty"   // send the status line and headers, then close before the body
	FaultGarbage Fault = "garbage" // send random bytes, then close
	FaultTimeout Fault = "timeout" // hang until the client gives up
	FaultDrip    Fault = "drip"    // send the body at DripRate bytes per second
)

func validFault(f Fault) bool {
	switch f {
	case FaultReset, FaultClose, FaultEmpty, FaultGarbage, FaultTimeout, FaultDrip:
		return true
	}
	return false
}

// Response is one answer of a mock.
type Response struct {
	// Status defaults to 200.
	Status int
	// Headers are response headers; values are Liquid templates (text).
	Headers map[string]*Template
	// Body is the templated body; nil when there is none or File is set.
	Body *Template
	// File is the body file, as written in the config (relative to the
	// config's directory); FileBody is its content, read at load and served
	// as-is (not a template).
	File     string
	FileBody []byte
	// Delay waits before answering.
	Delay Delay
	// Fault, when set, replaces the normal answer.
	Fault Fault
	// DripRate is the speed of fault drip, in bytes per second (default
	// DefaultDripRate).
	DripRate int
	// FailRate is the share (0..1) of matches that fail instead of
	// answering: with FailFault, or with a 503 when FailFault is empty.
	FailRate  float64
	FailFault Fault
}

// RenderBody returns the body of the answer: FileBody when the response
// names a file, else the rendered Body template (nil when there is none).
func (r *Response) RenderBody(vars map[string]any) ([]byte, error) {
	if r.File != "" {
		return r.FileBody, nil
	}
	if r.Body == nil {
		return nil, nil
	}
	return r.Body.Render(vars)
}

// ContentType is the type an answer without a Content-Type header is sent
// with: that of a JSON, XML or HTML body template, or of the file's
// extension; "" when there is none to tell.
func (r *Response) ContentType() string {
	if r.File != "" {
		// JSON and XML as their templates are sent (the system's table
		// may say text/xml), whatever the machine; the rest by its table.
		switch ext := strings.ToLower(filepath.Ext(r.File)); ext {
		case ".json":
			return "application/json"
		case ".xml":
			return "application/xml"
		default:
			return mime.TypeByExtension(ext)
		}
	}
	if r.Body != nil {
		switch r.Body.Format() {
		case FormatJSON:
			return "application/json"
		case FormatXML:
			if isHTML(r.Body.src) {
				return "text/html; charset=utf-8"
			}
			return "application/xml"
		}
	}
	return ""
}

// Delay is a fixed wait (Min == Max) or a random one in [Min, Max]. YAML:
// "300ms" or "100ms..500ms".
type Delay struct {
	Min, Max time.Duration
}

// Pick returns a wait: Min when fixed, else uniformly random in [Min, Max].
func (d Delay) Pick() time.Duration {
	if d.Max <= d.Min {
		return d.Min
	}
	return d.Min + rand.N(d.Max-d.Min+1)
}

// String formats d as it is written in YAML ("" for no delay).
func (d Delay) String() string {
	switch {
	case d.Min == 0 && d.Max == 0:
		return ""
	case d.Min == d.Max:
		return d.Min.String()
	}
	return d.Min.String() + ".." + d.Max.String()
}

// RateLimit allows Limit matches per Window.
type RateLimit struct {
	Limit  int
	Window time.Duration // default DefaultRateWindow
}

// Verify checks the signature of incoming requests it matches.
type Verify struct {
	// Name identifies the rule; default "verify-N".
	Name string
	// File and Line say where the rule is defined.
	File string
	Line int

	Match *Matcher
	// Scheme is one of Schemes().
	Scheme string
	// Secret is the signing secret. It prints as REDACTED.
	Secret Secret
	// Tolerance is how far a signed timestamp may be from now (default
	// DefaultTolerance).
	Tolerance time.Duration
	// Reject answers 401 to requests whose signature is invalid.
	Reject bool
	// TimestampHeader, when set, names the header holding the timestamp
	// instead of the scheme's own.
	TimestampHeader string
}

// Secret is a string that is never printed: String, MarshalJSON and
// MarshalYAML give "REDACTED".
type Secret string

// Redacted replaces secrets when printed.
const Redacted = "REDACTED"

// String returns "REDACTED".
func (Secret) String() string { return Redacted }

// MarshalJSON encodes "REDACTED".
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + Redacted + `"`), nil }

// MarshalYAML encodes "REDACTED".
func (Secret) MarshalYAML() (any, error) { return Redacted, nil }

// Load reads and parses the config file at path. See Parse (the Config is
// nil when the file cannot be read).
func Load(path string, getenv func(string) string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(data, path, getenv)
}

// Parse parses and validates a config file's content. file names it in
// errors and locates body files (relative to its directory). getenv resolves
// ${NAME} references (nil: none are set). When the content is invalid the
// error is a *Errors listing every problem found, and the Config is nil
// when the file could not be read as YAML, else what could be decoded, as
// go/parser gives a partial AST: the sections decoded elsewhere (webhooks,
// proxies) are there for their owners to report their errors too, so that
// an error in the mocks hides none in them. Such a Config is never to be
// applied.
func Parse(data []byte, file string, getenv func(string) string) (*Config, error) {
	// Body files are read relative to the file's directory, named in
	// errors as the absolute path it is: "(in .)" told a reader nothing.
	dir := filepath.Dir(file)
	if file == "" {
		dir = "."
	}
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	d := newDecoder(file, dir, getenv)
	d.src = data
	c := &Config{File: file, Settings: Settings{MaxBody: DefaultMaxBody, DefaultStatus: 200}, src: data}

	utf16 := bytes.HasPrefix(data, []byte{0xfe, 0xff}) || bytes.HasPrefix(data, []byte{0xff, 0xfe})
	if !utf16 && !utf8.Valid(data) {
		// YAML's own error names no place for it.
		at := 0
		for at < len(data) {
			r, size := utf8.DecodeRune(data[at:])
			if r == utf8.RuneError && size <= 1 {
				break
			}
			at += size
		}
		line := 1 + bytes.Count(data[:at], []byte("\n"))
		col := 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:at], '\n')+1:at])
		return nil, &Errors{List: []Error{{File: file, Line: line, Col: col,
			Msg: fmt.Sprintf("the file is not UTF-8 text: byte 0x%02x here (save it as UTF-8)", data[at])}}}
	}
	if !utf16 {
		// Nor for a control character (a NUL in a quoted string).
		if at := bytes.IndexFunc(data, func(r rune) bool { return r < 0x20 && r != '\t' && r != '\n' && r != '\r' || r == 0x7f }); at >= 0 {
			line := 1 + bytes.Count(data[:at], []byte("\n"))
			col := 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:at], '\n')+1:at])
			return nil, &Errors{List: []Error{{File: file, Line: line, Col: col,
				Msg: fmt.Sprintf("the file holds a control character (0x%02x) here; YAML allows none (write it as an escape in a double-quoted string, such as \"\\x%02x\")", data[at], data[at])}}}
		}
	}
	var doc yaml.Node
	yd := yaml.NewDecoder(bytes.NewReader(protectEnv(data)))
	err := yd.Decode(&doc)
	if errors.Is(err, io.EOF) {
		return c, nil
	}
	if err != nil {
		return nil, &Errors{List: []Error{yamlError(file, data, err)}}
	}
	// Empty documents after it (a file ending with ---, as some tools
	// write one) are nothing; a second one that holds something is refused.
	for {
		var extra yaml.Node
		err := yd.Decode(&extra)
		if errors.Is(err, io.EOF) {
			break
		}
		if err == nil && len(extra.Content) == 1 && isNull(extra.Content[0]) && extra.Content[0].Value == "" {
			continue
		}
		e := Error{File: file, Line: extra.Line, Col: extra.Column, Msg: "only one YAML document is allowed"}
		if err != nil {
			e = yamlError(file, data, err)
		}
		return nil, &Errors{List: []Error{e}}
	}
	var root *yaml.Node
	if len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	d.expandKeys(root)
	d.mergeAll(root)
	c.env = d.env
	d.config(root, c)
	c.places = d.places
	if len(d.errs) > 0 {
		errs := &Errors{List: d.errs}
		errs.sort()
		return c, errs
	}
	return c, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// unquotedParam finds a path parameter written unquoted inside a {...}
// mapping, as in match: {path: /users/{id}}: its braces end the mapping.
var unquotedParam = regexp.MustCompile(`\{[^'"\n]*:\s*/[^'"\s,}]*\{[A-Za-z_]`)

// yamlError turns a yaml.v3 syntax error into an Error with its line. A
// path parameter unquoted inside a {...} mapping is pointed at, with the
// fix: yaml.v3 reports such a mapping at its first line.
func yamlError(file string, data []byte, err error) Error {
	msg := err.Error()
	if strings.Contains(msg, "did not find expected ',' or '}'") {
		for i, line := range strings.Split(string(data), "\n") {
			if loc := unquotedParam.FindStringIndex(line); loc != nil {
				// The parser's own words, without its line: the
				// mapping's first, not this one.
				return Error{File: file, Line: i + 1, Col: strings.LastIndex(line[:loc[1]], "{") + 1,
					Msg: `yaml: a path with {parameters} inside a {...} mapping must be quoted, as in path: "/hooks/{source}" (` + yamlLineRE.ReplaceAllString(msg, "$2") + ")"}
			}
		}
	}
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		e := Error{File: file, Line: line, Col: 1, Msg: "yaml: " + m[2]}
		// The parser names the line where the enclosing block starts
		// (counted from 0 for some errors), not where the problem is.
		if at, ok := problemLine(protectEnv(data), line, msg); ok {
			e.Line, e.Col = at, problemCol(data, at, msg)
		}
		// "cannot start any token" does not say that the character is a
		// tab, which looks like the spaces around it.
		if text, ok := fileLine(data, e.Line); ok && !strings.Contains(msg, "tab") &&
			e.Col >= 1 && e.Col <= utf8.RuneCountInString(text) && []rune(text)[e.Col-1] == '\t' {
			e.Msg += " (a tab: YAML indents with spaces only)"
		}
		return e
	}
	if m := unknownAnchorRE.FindStringSubmatch(msg); m != nil {
		if e, ok := aliasError(file, data, m[1], msg); ok {
			return e
		}
	}
	return Error{File: file, Line: 1, Col: 1, Msg: msg}
}

var unknownAnchorRE = regexp.MustCompile(`^yaml: unknown anchor '(.*)' referenced$`)

// aliasError points at the first alias *name, which yaml.v3 reports
// without a line, and says where its anchor is when it comes later: an
// anchor must come before its aliases (a shared x- part written at the
// end of the file).
func aliasError(file string, data []byte, name, msg string) (Error, bool) {
	// Where a node may begin (not in a scalar: a path's /files/*json is
	// no alias), and where a name ends.
	start, end := `(?m)(?:^|[\s,\[{])`, `(?:[\s,\[\]{}]|$)`
	alias := regexp.MustCompile(start + `(\*)` + regexp.QuoteMeta(name) + end).FindSubmatchIndex(data)
	if alias == nil {
		return Error{}, false
	}
	e := Error{File: file, Line: lineAt(data, alias[2]), Col: colAt(data, alias[2])}
	if at := regexp.MustCompile(start + `(&)` + regexp.QuoteMeta(name) + end).FindSubmatchIndex(data); at != nil {
		e.Msg = fmt.Sprintf("%s (the anchor &%s is on line %d: an anchor must come before its aliases, so move it up)", msg, name, lineAt(data, at[2]))
	} else {
		e.Msg = fmt.Sprintf("%s (no &%s anchor in the file)", msg, name)
	}
	return e, true
}

// lineAt and colAt give the line and column (1-based, in characters) of
// byte offset at of data.
func lineAt(data []byte, at int) int { return 1 + bytes.Count(data[:at], []byte("\n")) }

func colAt(data []byte, at int) int {
	return 1 + utf8.RuneCount(data[bytes.LastIndexByte(data[:at], '\n')+1:at])
}

// maxProblemScan bounds the bytes problemLine parses: the file again for
// each line it tries. Past maxLinearScan it stops trying line by line and
// halves the lines left instead, so that an error at the end of a large
// file (1,000 rules) is found within a few parses of it.
const (
	maxProblemScan = 32 << 20
	maxLinearScan  = 1 << 20
)

// problemLine returns the line (1-based) where a YAML parse that failed
// with msg goes wrong: the first prefix of data, ending at a line from
// `from` on, that fails with the same message. (A prefix that fails some
// other way, such as ending inside a quoted string that goes on, is not
// it.) ok is false when none does within maxProblemScan bytes.
func problemLine(data []byte, from int, msg string) (line int, ok bool) {
	from = max(from, 1)
	// ends[j] is the end of line from+j, its newline included.
	var ends []int
	for i, end := 1, 0; end < len(data); i++ {
		next := bytes.IndexByte(data[end:], '\n')
		if next < 0 {
			end = len(data)
		} else {
			end += next + 1
		}
		if i >= from {
			ends = append(ends, end)
		}
	}
	scanned := 0
	fails := func(j int) bool {
		scanned += ends[j]
		err := parseAll(data[:ends[j]])
		return err != nil && stripYAMLLine(err.Error()) == stripYAMLLine(msg)
	}
	j := 0
	for ; j < len(ends) && scanned+ends[j] <= maxLinearScan; j++ {
		if fails(j) {
			return from + j, true
		}
	}
	// The first prefix from here on that fails so, when the whole file
	// does.
	lo, hi := j, len(ends)-1
	if lo > hi || scanned+ends[hi] > maxProblemScan || !fails(hi) {
		return 0, false
	}
	for lo < hi {
		mid := lo + (hi-lo)/2
		if scanned+ends[mid] > maxProblemScan {
			return 0, false
		}
		if fails(mid) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return from + lo, true
}

// parseAll parses every document of data and returns the first error.
func parseAll(data []byte) error {
	yd := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var n yaml.Node
		if err := yd.Decode(&n); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
}

// stripYAMLLine drops the "yaml: line N: " of a parse error.
func stripYAMLLine(msg string) string {
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		return m[2]
	}
	return msg
}

// problemCol guesses the column of a parse error on line: a tab's for a
// tab in the indentation (YAML forbids them there), else where the line's
// text starts.
func problemCol(data []byte, line int, msg string) int {
	text := string(data)
	for range line - 1 {
		i := strings.IndexByte(text, '\n')
		if i < 0 {
			return 1
		}
		text = text[i+1:]
	}
	if i := strings.IndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	}
	trimmed := strings.TrimLeft(text, " \t")
	indent := text[:len(text)-len(trimmed)]
	if i := strings.IndexByte(indent, '\t'); i >= 0 {
		return i + 1
	}
	if strings.Contains(msg, "tab character") {
		if i := strings.IndexByte(text, '\t'); i >= 0 {
			return utf8.RuneCountInString(text[:i]) + 1
		}
	}
	if trimmed == "" {
		return 1
	}
	return len(indent) + 1
}

func (d *decoder) config(n *yaml.Node, c *Config) {
	// The errors said before the rules were decoded (a key's ${NAME}, a
	// merge of no mapping) are named after the rule whose text holds them.
	early := len(d.errs)
	var texts []ruleText
	var keys map[string][]string // each list section's item keys, read from the schema when first needed
	for _, p := range d.pairs(n, "config") {
		if slices.ContainsFunc(sections, func(s section) bool { return s.key == p.key }) {
			d.dropMisplaced(p.key, p.val, &keys)
		}
		switch p.key {
		case "mocks":
			names := map[string]bool{}
			twins := map[string]int{} // unnamed rules by state key
			items := d.list(p.val, "mocks")
			if len(items) > MaxRules {
				d.errorf(p.val, "mocks: %d rules; the limit is %d", len(items), MaxRules)
				texts = append(texts, ruleText{at: items[MaxRules]}) // read as no rule's
				items = items[:MaxRules]
			}
			for i, item := range items {
				from := len(d.errs)
				m := d.mock(item, d.place(item, i))
				if names[m.Name] {
					d.errorf(item, "duplicate name")
				}
				names[m.Name] = true
				label := d.name(from, "mock", m.Name)
				texts = append(texts, ruleText{item, label})
				if m.stateKey != "" {
					// Rules written alike keep their states apart, by
					// their order among themselves.
					if twins[m.stateKey]++; twins[m.stateKey] > 1 {
						m.stateKey += fmt.Sprintf("/%d", twins[m.stateKey])
					}
				}
				c.Mocks = append(c.Mocks, m)
			}
		case "verify":
			names := map[string]bool{}
			items := d.list(p.val, "verify")
			if len(items) > MaxRules {
				d.errorf(p.val, "verify: %d rules; the limit is %d", len(items), MaxRules)
				texts = append(texts, ruleText{at: items[MaxRules]}) // read as no rule's
				items = items[:MaxRules]
			}
			for i, item := range items {
				from := len(d.errs)
				v := d.verify(item, d.place(item, i))
				if names[v.Name] {
					d.errorf(item, "duplicate name")
				}
				names[v.Name] = true
				label := d.name(from, "verify", v.Name)
				texts = append(texts, ruleText{item, label})
				c.Verify = append(c.Verify, v)
			}
		case "settings":
			d.settings(p.val, &c.Settings)
		case "webhooks":
			c.Webhooks = d.rawSection(p.val)
		case "triggers":
			c.Triggers = d.rawSection(p.val)
		case "automations":
			c.Automations = d.rawSection(p.val)
		case "subscriptions":
			c.Subscriptions = d.rawSection(p.val)
		case "proxies":
			c.Proxies = d.rawSection(p.val)
		}
	}
	if n = resolve(n); early > 0 && len(texts) > 0 && n.Kind == yaml.MappingNode {
		// A section's key ends the text of the last rule before it.
		for i := 0; i+1 < len(n.Content); i += 2 {
			texts = append(texts, ruleText{at: n.Content[i]})
		}
		d.nameByPlace(d.errs[:early], texts)
	}
}

// ruleText is where the text of a mock or verify rule begins, and its
// label (mock "a"); a label "" begins text of no rule.
type ruleText struct {
	at    *yaml.Node
	label string
}

// name labels the errors said from the from'th on, those of the rule of
// kind (mock, verify) named name, with the rule (mock "a": ...). It
// returns the label.
func (d *decoder) name(from int, kind, name string) string {
	label := d.env.Scrub(fmt.Sprintf("%s %q", kind, name))
	for i := range d.errs[from:] {
		d.errs[from+i].label(kind, label)
	}
	return label
}

// label names the rule of kind that e is in, label: a message that begins
// with kind ("mock: unknown key ...") has it in its place.
func (e *Error) label(kind, label string) {
	if rest, ok := strings.CutPrefix(e.Msg, kind+":"); ok {
		e.Msg = strings.TrimPrefix(rest, " ")
	}
	e.Rule = label
}

// nameByPlace labels each of errs with the rule whose text holds its
// place: the last of texts that begins at or before it.
func (d *decoder) nameByPlace(errs []Error, texts []ruleText) {
	before := func(a *yaml.Node, line, col int) bool {
		return a.Line < line || a.Line == line && a.Column <= col
	}
	for i := range errs {
		e := &errs[i]
		var in *ruleText
		for j := range texts {
			if before(texts[j].at, e.Line, e.Col) && (in == nil || before(in.at, texts[j].at.Line, texts[j].at.Column)) {
				in = &texts[j]
			}
		}
		if in != nil && in.label != "" {
			kind, _, _ := strings.Cut(in.label, " ")
			e.label(kind, in.label)
		}
	}
}

// section is one of the config's list sections: its key, the schema's
// definition of its items, and what one item is called.
type section struct{ key, def, item string }

// sections lists the list sections in the order an item written under the
// wrong one is looked for among the others.
var sections = []section{
	{"mocks", "mock", "a mock rule"},
	{"verify", "verify", "a verify rule"},
	{"webhooks", "webhook", "a webhook"},
	{"triggers", "trigger", "a trigger"},
	{"automations", "automation", "an automation"},
	{"subscriptions", "subscription", "a subscription"},
	{"proxies", "proxy", "a proxy"},
}

// sectionKeys returns the keys an item of each list section takes, by
// section key, as the schema lists them (TestSchemaKeysMatchParser and
// emit's TestSchemaKeys hold the schema to the decoders).
func sectionKeys() map[string][]string {
	var s struct {
		Defs map[string]struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"$defs"`
	}
	if err := json.Unmarshal([]byte(schema), &s); err != nil {
		panic("rules: schema.json: " + err.Error())
	}
	keys := map[string][]string{}
	for _, sec := range sections {
		for k := range s.Defs[sec.def].Properties {
			keys[sec.key] = append(keys[sec.key], k)
		}
	}
	return keys
}

// dropMisplaced finds the items of the list section key (n) written with
// the keys of another section's items, such as a mock rule appended at the
// end of a file whose last section is triggers: or webhooks:. Each is one
// error naming the section it goes in, and is taken out of the list, so
// that it is not also a wall of unknown keys and missing fields of the
// section it stands in. An item fits another section when it has a key
// its own section does not take and every one of its keys is of that
// other section; the first such section in sections' order is named.
func (d *decoder) dropMisplaced(key string, n *yaml.Node, keys *map[string][]string) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.SequenceNode {
		return
	}
	kept := n.Content[:0:0]
	for i, item := range n.Content {
		if len(kept) < i { // an item before was dropped: this one's place moves
			if d.places == nil {
				d.places = map[*yaml.Node]int{}
			}
			d.places[item] = i
		}
		m := resolve(item)
		var names []string
		if m != nil && m.Kind == yaml.MappingNode {
			for j := 0; j+1 < len(m.Content); j += 2 {
				names = append(names, m.Content[j].Value)
			}
		}
		if len(names) == 0 {
			kept = append(kept, item)
			continue
		}
		if *keys == nil {
			*keys = sectionKeys()
		}
		var foreign []string
		for _, k := range names {
			if !slices.Contains((*keys)[key], k) {
				foreign = append(foreign, k)
			}
		}
		var home *section
		for j, sec := range sections {
			if sec.key != key && len(foreign) > 0 && !slices.ContainsFunc(names, func(k string) bool { return !slices.Contains((*keys)[sec.key], k) }) {
				home = &sections[j]
				break
			}
		}
		if home == nil {
			kept = append(kept, item)
			continue
		}
		label := ""
		for j := 0; j+1 < len(m.Content); j += 2 {
			if k, v := m.Content[j].Value, resolve(m.Content[j+1]); (k == "name" || k == "id") && v != nil && v.Kind == yaml.ScalarNode && v.Value != "" {
				label = fmt.Sprintf(" (%s)", v.Value)
				break
			}
		}
		d.errorf(item, "%s: item %d%s is %s (it has %s): it goes in the %s: section, not in %s:",
			key, i+1, label, home.item, strings.Join(foreign, ", "), home.key, key)
	}
	n.Content = kept
}

// Place returns the position (from 0) that item, the i'th of its list
// section (proxies:, webhooks: ...) as the Config holds it, has in the
// file: an item written there with the keys of another section's items is
// reported and taken out of the list, and the items after it keep their
// place, so an unnamed one is named by where it stands (proxy 3).
func (c *Config) Place(item *yaml.Node, i int) int {
	if p, ok := c.places[item]; ok {
		return p
	}
	return i
}

// place returns the position item had in its list before dropMisplaced
// took items out of it; i, its position now, when nothing moved it.
func (d *decoder) place(item *yaml.Node, i int) int {
	if p, ok := d.places[item]; ok {
		return p
	}
	return i
}

// expandKeys expands the ${NAME} references in the keys of every mapping
// under n, in place, as scalar does for values: a key named by the
// environment (a header, a query parameter) reads as the name it gives, in
// this package's sections and in those decoded elsewhere. A key whose
// reference cannot be expanded is an error, at the key. The top level's
// extension keys (x-...) are walked only where an alias reaches them: what
// no section uses is not read.
func (d *decoder) expandKeys(root *yaml.Node) {
	done := map[*yaml.Node]bool{}
	stack := []*yaml.Node{root}
	for len(stack) > 0 {
		n := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if n == nil || done[n] {
			continue
		}
		done[n] = true
		if n.Kind == yaml.AliasNode {
			stack = append(stack, n.Alias)
			continue
		}
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := n.Content[i]
				if k.Kind != yaml.ScalarNode || !strings.Contains(k.Value, "$") {
					continue
				}
				v, err := expandEnv(k.Value, d.getenv)
				if err != nil {
					k.Value = unprotectEnv(k.Value)
					d.errorf(k, "%s: %v", k.Value, err)
					if d.badKeys == nil {
						d.badKeys = map[*yaml.Node]bool{}
					}
					d.badKeys[k] = true
					continue
				}
				k.Value = v
			}
		}
		if n == root && n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if k := n.Content[i]; k.Kind != yaml.ScalarNode || !strings.HasPrefix(k.Value, "x-") {
					stack = append(stack, k, n.Content[i+1])
				}
			}
			continue
		}
		stack = append(stack, n.Content...)
	}
}

// TemplatePos returns where in the file the error err, from NewTemplate of
// tpl, the value of n, is, and what to say there. In a literal block
// (body: |) the template's lines are the file's: it is the line at fault,
// at the column where its text starts, and the message leaves out the
// template's own line number. Elsewhere (a quoted or folded value, whose
// lines are not the file's; an error of no one line) it is n's position.
// Config sections decoded outside this package use it for their templates.
func (c *Config) TemplatePos(n *yaml.Node, tpl string, err error) (line, col int, msg string) {
	return templatePos(c.src, n, tpl, err)
}

// EnvSeen returns an EnvSeen for a config section decoded outside this
// package, looking variables up with getenv: it knows the values Parse
// took from the environment already, those of the section's keys among
// them (Parse expands every key), so that a message quoting such a key
// (an unknown key, a bad header name) names its reference, as one quoting
// a value does.
func (c *Config) EnvSeen(getenv func(string) string) *EnvSeen {
	e := NewEnvSeen(getenv)
	if c != nil && c.env != nil {
		e.vals = maps.Clone(c.env.vals)
	}
	return e
}

// liquidLine is the template's line number in a Liquid error.
var liquidLine = regexp.MustCompile(`Liquid error \(line \d+\): `)

func templatePos(src []byte, n *yaml.Node, tpl string, err error) (line, col int, msg string) {
	msg = err.Error()
	n = resolve(n)
	if n == nil {
		return 0, 0, msg
	}
	line, col = n.Line, n.Column
	var te *TemplateError
	// A value expanded from the environment with line breaks of its own
	// moves the lines after it: then n's position it is.
	if !errors.As(err, &te) || te.Line < 1 || n.Kind != yaml.ScalarNode || n.Style&yaml.LiteralStyle == 0 ||
		strings.Count(tpl, "\n") != strings.Count(n.Value, "\n") {
		return line, col, msg
	}
	at := n.Line + te.Line
	text, ok := fileLine(src, at)
	if !ok {
		return line, col, msg
	}
	indent := len(text) - len(strings.TrimLeft(text, " "))
	return at, indent + 1, liquidLine.ReplaceAllString(msg, "")
}

// fileLine returns line (1 for the first) of src, without its line break.
func fileLine(src []byte, line int) (string, bool) {
	for i := 1; i < line; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return "", false
		}
		src = src[j+1:]
	}
	if j := bytes.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return strings.TrimSuffix(string(src), "\r"), true
}

// templateErrorf records err, from NewTemplate of tpl, the value of n, at
// its place in the file (see TemplatePos), after what.
func (d *decoder) templateErrorf(n *yaml.Node, tpl string, err error, what string) {
	line, col, msg := templatePos(d.src, n, tpl, err)
	d.errs = append(d.errs, Error{File: d.file, Line: line, Col: col, Msg: d.env.Scrub(what + ": " + msg)})
}

// rawSection returns a reserved section as written: ${NAME} references,
// protected for decoding, are put back (their owners expand them), and
// merge keys (<<: *anchor) are merged, as this package's own sections take
// them, so that their owners see plain mappings. A merge of something
// other than a mapping is an error, here, as in this package's sections.
func (d *decoder) rawSection(n *yaml.Node) *yaml.Node {
	mergeKeys(n, map[*yaml.Node]bool{}, func(src *yaml.Node) {
		d.errorf(src, "<<: a merge takes a mapping or a list of mappings, got %s", nodeKind(resolve(src)))
	})
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n == nil {
			return
		}
		if n.Kind == yaml.ScalarNode {
			n.Value = unprotectEnv(n.Value)
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	return n
}

// mergeAll merges the merge keys (<<: *anchor) of every mapping in the
// file, so that each section, and each mapping of names in one (headers,
// query, form), reads plain entries. The top level's extension keys
// (x-...) are merged only where an alias reaches them, as expandKeys
// reads them.
func (d *decoder) mergeAll(root *yaml.Node) {
	if root == nil || root.Kind != yaml.MappingNode {
		return
	}
	done := map[*yaml.Node]bool{}
	bad := func(src *yaml.Node) {
		d.errorf(src, "<<: a merge takes a mapping or a list of mappings, got %s", nodeKind(resolve(src)))
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		if k := root.Content[i]; k.Kind != yaml.ScalarNode || !strings.HasPrefix(k.Value, "x-") {
			mergeKeys(root.Content[i+1], done, bad)
		}
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		done[root.Content[i+1]] = true // an extension no alias reached
	}
	mergeKeys(root, done, bad)
}

// mergeKeys replaces, in every mapping under n, each merge key (<<) by the
// entries, where it stands, of the mappings it names that the mapping does
// not set itself (the first named wins, as in pairs). done holds the nodes
// seen, so an alias of an ancestor or a node met twice is not walked again.
// bad is given each thing a merge names that is no mapping (dropped).
func mergeKeys(n *yaml.Node, done map[*yaml.Node]bool, bad func(src *yaml.Node)) {
	if n == nil || done[n] {
		return
	}
	done[n] = true
	if n.Kind == yaml.AliasNode {
		mergeKeys(n.Alias, done, bad)
		return
	}
	for _, c := range n.Content {
		mergeKeys(c, done, bad)
	}
	if n.Kind != yaml.MappingNode {
		return
	}
	isMerge := func(k *yaml.Node) bool {
		// A plain << only: a quoted "<<" is a key (in a payload document).
		return k.Kind == yaml.ScalarNode && k.Tag == "!!merge"
	}
	has := map[string]bool{} // the mapping's own keys, then those merged
	merges := false
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; isMerge(k) {
			merges = true
		} else if k.Kind == yaml.ScalarNode {
			has[k.Value] = true
		}
	}
	if !merges {
		return
	}
	var out []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !isMerge(k) {
			out = append(out, k, v)
			continue
		}
		srcs := []*yaml.Node{v}
		if rv := resolve(v); rv != nil && rv.Kind == yaml.SequenceNode {
			srcs = rv.Content
		}
		for _, at := range srcs {
			src := resolve(at)
			if src == nil || src.Kind != yaml.MappingNode {
				bad(at)
				continue
			}
			for j := 0; j+1 < len(src.Content); j += 2 {
				if sk := src.Content[j]; sk.Kind == yaml.ScalarNode && !has[sk.Value] {
					has[sk.Value] = true
					out = append(out, sk, src.Content[j+1])
				}
			}
		}
	}
	n.Content = out
}

func (d *decoder) settings(n *yaml.Node, s *Settings) {
	for _, p := range d.pairs(n, "settings") {
		switch p.key {
		case "max_body":
			v, ok := d.size(p.val, "max_body")
			switch {
			case ok && v > MaxBodyLimit:
				d.errorf(p.val, "max_body: %s is over the limit of 1GiB (a body is held in memory while it is recorded; a larger one is stored cut at max_body, with its true size)", p.val.Value)
			case ok && v > 0:
				s.MaxBody = v
			case ok || isNull(p.val):
				d.errorf(p.val, "max_body: must be more than 0")
			}
		case "default_status":
			s.DefaultStatus = d.status(p.val, "default_status")
		}
	}
}

// bin reads a bin name: 1-64 of A-Z a-z 0-9 _ - (the capture endpoint's
// grammar, so that a rule names a bin that can exist).
func (d *decoder) bin(n *yaml.Node) string {
	s := d.str(n, "bin")
	if len(s) > 64 {
		d.errorf(n, "bin: a bin name is at most 64 characters, got %d", len(s))
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			d.errorf(n, "bin: %q cannot be a bin name (allowed: A-Z a-z 0-9 _ -)", s)
			break
		}
	}
	return s
}

func (d *decoder) status(n *yaml.Node, what string) int {
	v, ok := d.intOK(n, what)
	if !ok {
		if isNull(n) {
			d.errorf(n, "%s: want an HTTP status", what)
		}
		return 200
	}
	if v < 100 || v > 599 {
		d.errorf(n, "%s: want an HTTP status between 200 and 599, got %d", what, v)
		return 200
	}
	if v < 200 {
		// net/http sends a 1xx as an interim answer and then a 200.
		d.errorf(n, "%s: %d is an interim (1xx) status and cannot be the answer; want 200 to 599", what, v)
		return 200
	}
	return v
}

func (d *decoder) mock(n *yaml.Node, i int) *Mock {
	n = resolve(n)
	m := &Mock{Name: fmt.Sprintf("mock-%d", i+1), File: d.file, Line: n.Line, SequenceMode: RepeatLast}
	d.empty(n, "mock", "a mock (match, and respond or sequence)")
	var respondNode, seqNode, modeNode, matchNode *yaml.Node
	var seqItems []*yaml.Node
	named := false
	for _, p := range d.pairs(n, "mock") {
		switch p.key {
		case "name":
			if s := d.str(p.val, "name"); s != "" {
				m.Name, named = s, true
			}
		case "match":
			m.Match = d.matcher(p.val)
			matchNode = p.val
		case "respond":
			respondNode = p.val
		case "sequence":
			seqNode = p.val
			seqItems = d.list(p.val, "sequence")
			if len(seqItems) == 0 && (isNull(p.val) || resolve(p.val).Kind == yaml.SequenceNode) {
				d.errorf(p.val, "sequence: must list at least one response")
			}
		case "sequence_mode":
			modeNode = p.val
			switch s := d.str(p.val, "sequence_mode"); SequenceMode(s) {
			case RepeatLast, Cycle:
				m.SequenceMode = SequenceMode(s)
			case "":
			default:
				d.errorf(p.val, "sequence_mode: want repeat_last or cycle, got %q%s", s, suggest(s, []string{"repeat_last", "cycle"}))
			}
		case "rate_limit":
			m.RateLimit = d.rateLimit(p.val)
		case "bin":
			m.Bin = d.bin(p.val)
		case "proxy":
			m.Proxy = d.str(p.val, "proxy")
		}
	}
	if m.Proxy == "" {
		d.binPath(matchNode)
	}
	// The answers after the match, wherever they stand: their templates
	// may read only the parameters its paths capture.
	params := m.Match.paramNames()
	if respondNode != nil {
		m.Respond = d.response(respondNode, params)
	}
	for _, item := range seqItems {
		m.Sequence = append(m.Sequence, d.response(item, params))
	}
	switch {
	case respondNode != nil && seqNode != nil:
		d.errorf(seqNode, "respond and sequence cannot both be set")
	case respondNode == nil && seqNode == nil && n.Kind == yaml.MappingNode:
		d.errorf(n, "set respond or sequence")
	case modeNode != nil && seqNode == nil:
		d.errorf(modeNode, "sequence_mode: only applies with sequence (a list of answers given in turn); with respond, every request gets the same answer")
	}
	if m.Respond == nil && respondNode != nil {
		m.Respond = &Response{Status: 200}
	}
	if m.Match == nil {
		m.Match = &Matcher{}
	}
	if !named {
		v := m.view()
		v.Name, v.Source = "", ""
		if b, err := json.Marshal(v); err == nil {
			sum := sha256.Sum256(b)
			m.stateKey = "\x00" + hex.EncodeToString(sum[:16]) // no name a config gives
		}
	}
	return m
}

// binPath refuses the path of a capture rule's match (n) that begins
// with /b/ and a bin's name, such as /b/stripe/hooks: a request to a bin
// is matched by its path after /b/NAME (/hooks), so such a rule took only
// /b/x/b/stripe/hooks, never what it was written for. The proxies' rules
// see the whole path, and are not asked.
func (d *decoder) binPath(n *yaml.Node) {
	n = resolve(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		v := resolve(n.Content[i+1])
		if n.Content[i].Value != "path" || v == nil || v.Kind != yaml.ScalarNode {
			continue
		}
		rest, ok := strings.CutPrefix(v.Value, "/b/")
		if !ok {
			return
		}
		bin, after, _ := strings.Cut(rest, "/")
		if bin == "" || len(bin) > 64 || strings.ContainsFunc(bin, func(c rune) bool {
			return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-')
		}) {
			return // a pattern (/b/*/hooks, /b/{bin}/x) or no bin's name
		}
		d.errorf(v, "path: %q is matched against the path after /b/NAME of a request to a bin, so it would take only /b/NAME%s; for requests to %s write bin: %s and path: /%s", v.Value, v.Value, v.Value, bin, after)
	}
}

func (d *decoder) rateLimit(n *yaml.Node) *RateLimit {
	rl := &RateLimit{Window: DefaultRateWindow}
	if d.empty(n, "rate_limit", "a limit, such as {limit: 10, window: 1m}") {
		rl.Limit = 1 // refused anyway: not a limit of 0
		return rl
	}
	var limitSet bool
	for _, p := range d.pairs(n, "rate_limit") {
		switch p.key {
		case "limit":
			limitSet = true
			before := len(d.errs)
			rl.Limit = d.int(p.val, "rate_limit.limit")
			if rl.Limit <= 0 && len(d.errs) == before { // one error for one value
				d.errorf(p.val, "rate_limit.limit: must be more than 0")
			}
		case "window":
			before := len(d.errs)
			if w := d.duration(p.val, "rate_limit.window"); w > 0 {
				rl.Window = w
			} else if len(d.errs) == before { // one error for one value
				d.errorf(p.val, "rate_limit.window: must be more than 0")
			}
		}
	}
	if !limitSet && resolve(n).Kind == yaml.MappingNode {
		d.errorf(n, "rate_limit: limit is required")
	}
	return rl
}

// repeatable are the response headers a mock may send more than once,
// written in names that differ in case (Set-Cookie, set-cookie).
var repeatable = map[string]bool{"Set-Cookie": true, "Link": true, "Www-Authenticate": true, "Proxy-Authenticate": true, "Warning": true}

const repeatableNames = "Set-Cookie, Link, WWW-Authenticate, Proxy-Authenticate and Warning"

// response decodes an answer of a mock whose paths capture params.
func (d *decoder) response(n *yaml.Node, params []string) *Response {
	r := &Response{Status: 200}
	d.empty(n, "respond", "a response (status, headers, body or file)")
	var bodyNode, fileNode, dripNode, failFaultNode, headersNode *yaml.Node
	var bodySrc string
	for _, p := range d.pairs(n, "respond") {
		switch p.key {
		case "status":
			r.Status = d.status(p.val, "status")
		case "headers":
			headersNode = p.val
		case "body":
			bodyNode = p.val
			bodySrc = d.str(p.val, "body")
		case "file":
			fileNode = p.val
			r.File = d.str(p.val, "file")
		case "delay":
			r.Delay = d.delay(p.val)
		case "fault":
			r.Fault = d.fault(p.val, "fault")
		case "drip_rate":
			dripNode = p.val
			before := len(d.errs)
			r.DripRate = d.int(p.val, "drip_rate")
			if r.DripRate <= 0 && len(d.errs) == before { // one error for one value
				d.errorf(p.val, "drip_rate: must be more than 0 bytes per second")
			}
		case "fail_rate":
			r.FailRate = d.float(p.val, "fail_rate")
			if r.FailRate < 0 || r.FailRate > 1 {
				d.errorf(p.val, "fail_rate: want a share between 0 and 1, got %v", r.FailRate)
			}
		case "fail_fault":
			failFaultNode = p.val
			r.FailFault = d.fault(p.val, "fail_fault")
		}
	}
	contentType := ""
	if headersNode != nil {
		r.Headers = map[string]*Template{}
		hn := resolve(headersNode)
		if !isNull(hn) && hn.Kind != yaml.MappingNode {
			d.errorf(hn, "headers: want a mapping of name to value, got %s", nodeKind(hn))
		} else if hn != nil {
			seen := map[string]bool{}
			for i := 0; i+1 < len(hn.Content); i += 2 {
				k, v := hn.Content[i], hn.Content[i+1]
				name := k.Value
				if !validHeaderName(name) {
					d.errorf(k, "headers: bad header name %q", name)
					continue
				}
				// Names that differ in case only are both sent: the way to
				// send a header twice (two cookies), and a slip for one
				// that has a single value (two Content-Types).
				if canon := http.CanonicalHeaderKey(name); seen[canon] && !repeatable[canon] {
					d.errorf(k, "headers: duplicate name %q (header names are case-insensitive; only %s may be sent more than once)", name, repeatableNames)
					continue
				} else {
					seen[canon] = true
				}
				// The body's framing is hooklab's to write: a length that
				// is not the body's cuts it short or hangs the client, and
				// the record would show a body it never got. (fault: empty
				// and fault: drip break framing on purpose.) Without a
				// body, a length is what a HEAD answer describes (other
				// requests get the length of the body they get: none).
				if strings.EqualFold(name, "Transfer-Encoding") ||
					strings.EqualFold(name, "Content-Length") && (bodyNode != nil || fileNode != nil) {
					d.errorf(k, "headers: %s is set from the body; leave it out (fault: empty or drip_rate make a broken or slow body)", name)
					continue
				}
				src := d.str(v, "header "+name)
				if strings.EqualFold(name, "Content-Length") {
					if n, err := strconv.ParseUint(src, 10, 63); err != nil || strconv.FormatUint(n, 10) != src {
						d.errorf(v, "headers: Content-Length: want a number of bytes, got %q", src)
						continue
					}
				}
				t, err := NewTemplate(src, FormatText)
				if err == nil {
					err = unknownRequestField(t, params)
				}
				if err != nil {
					d.templateErrorf(v, src, err, "header "+name)
					continue
				}
				if strings.EqualFold(name, "Content-Type") {
					contentType = src
				}
				r.Headers[name] = t
			}
		}
	}
	if bodyNode != nil && fileNode != nil {
		d.errorf(fileNode, "file: body and file cannot both be set")
	}
	if bodyNode != nil && bodySrc != "" {
		t, err := NewTemplate(bodySrc, FormatFor(contentType, bodySrc))
		if err == nil {
			err = unknownRequestField(t, params)
		}
		if err != nil {
			d.templateErrorf(bodyNode, bodySrc, err, "body")
		}
		r.Body = t
	}
	if fileNode != nil && r.File != "" {
		r.FileBody = d.readBodyFile(fileNode, r.File)
	}
	if dripNode != nil && r.Fault != FaultDrip && r.FailFault != FaultDrip {
		d.errorf(dripNode, "drip_rate: only applies to fault: drip")
	}
	if failFaultNode != nil && r.FailRate == 0 {
		d.errorf(failFaultNode, "fail_fault: only applies with fail_rate (the share of requests that fail)")
	}
	if (r.Fault == FaultDrip || r.FailFault == FaultDrip) && r.DripRate == 0 {
		r.DripRate = DefaultDripRate
	}
	return r
}

// unknownRequestField returns a *TemplateError naming the first field of
// request that t reads and the context never has (request.param), or
// the first path parameter it reads that none of params, those the rule's
// paths capture, is; nil when there is none.
func unknownRequestField(t *Template, params []string) error {
	fields := requestFields()
	roots := mockRoots()
	if name, rest, line := t.UnknownRoot(roots); name != "" {
		meant := ""
		switch field, _ := strings.CutPrefix(rest, "."); {
		case name == "path" && slices.Contains(params, field):
			meant = "request.params" + rest
		case name == "body" && rest != "":
			meant = "request.json" + rest
		case slices.Contains(fields, name):
			meant = "request." + name + rest
		default:
			if c := closest(name, roots); c != "" {
				meant = c + rest
			}
		}
		if meant != "" {
			meant = fmt.Sprintf(" (did you mean %q?)", meant)
		}
		return &TemplateError{Line: line, Err: fmt.Errorf("%s%s: %s is not a template variable%s; a mock's templates read %s",
			name, rest, name, meant, listAnd(roots))}
	}
	if name, line := t.UnknownField("exchange", []string{"id"}); name != "" {
		return &TemplateError{Line: line, Err: fmt.Errorf("exchange.%s is not a template variable; exchange has id", name)}
	}
	if name, line := t.UnknownField("request", fields); name != "" {
		return &TemplateError{Line: line, Err: fmt.Errorf("request.%s is not a template variable%s; request has %s",
			name, strings.Replace(suggest(name, fields), `"`, `"request.`, 1), listAnd(fields))}
	}
	if name, line := t.UnknownField("request.params", params); name != "" {
		has := "its match has no path with a {name} in it"
		if len(params) > 0 {
			braced := make([]string, len(params))
			for i, p := range params {
				braced[i] = "{" + p + "}"
			}
			has = "it captures " + listAnd(braced)
		}
		return &TemplateError{Line: line, Err: fmt.Errorf("request.params.%s: the rule's path captures no {%s}%s; %s", name, name, suggest(name, params), has)}
	}
	return nil
}

// readBodyFile reads name relative to the config's directory, refusing paths
// that leave it (including through symlinks).
func (d *decoder) readBodyFile(n *yaml.Node, name string) []byte {
	if !filepath.IsLocal(filepath.FromSlash(name)) {
		d.errorf(n, "file: %q must be a path inside the config's directory", name)
		return nil
	}
	root, err := os.OpenRoot(d.dir)
	if err != nil {
		d.errorf(n, "file: %v", err)
		return nil
	}
	defer root.Close()
	// Only a regular file: reading a named pipe waits for a writer, which
	// held a check, or the reload and every one after it, for good.
	var data []byte
	fi, err := root.Stat(filepath.FromSlash(name))
	if err == nil && !fi.IsDir() && !fi.Mode().IsRegular() {
		d.errorf(n, "file: %s (in %s): not a regular file (%s)", name, d.dir, fileKind(fi.Mode()))
		return nil
	}
	if err == nil {
		data, err = root.ReadFile(filepath.FromSlash(name))
	}
	if err != nil {
		// Not "openat NAME: …": the system call is no news to the reader.
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		hint := ""
		if errors.Is(err, fs.ErrNotExist) && (strings.Contains(name, "{{") || strings.Contains(name, "{%")) {
			hint = " (file names one file as written, not a template: one rule per file, or a body template)"
		}
		d.errorf(n, "file: %s (in %s): %v%s", name, d.dir, err, hint)
		return nil
	}
	return data
}

// fileKind names the type of a file that is not a regular one.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "type " + m.Type().String()
}

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range []byte(s) {
		if c <= ' ' || c >= 0x7f || strings.IndexByte("()<>@,;:\\\"/[]?={}", c) >= 0 {
			return false
		}
	}
	return true
}

func (d *decoder) fault(n *yaml.Node, what string) Fault {
	s := d.str(n, what)
	if s == "" {
		return FaultNone
	}
	f := Fault(s)
	if !validFault(f) {
		d.errorf(n, "%s: unknown fault %q%s; want reset, close, empty, garbage, timeout or drip", what, s,
			suggest(s, []string{"reset", "close", "empty", "garbage", "timeout", "drip"}))
		return FaultNone
	}
	return f
}

func (d *decoder) delay(n *yaml.Node) Delay {
	s, ok := d.scalar(n, "delay")
	if !ok || s == "" {
		return Delay{}
	}
	dl, err := ParseDelay(s)
	if err != nil {
		d.errorf(n, "delay: %v", err)
	}
	return dl
}

// ParseDelay reads "300ms" or "100ms..500ms", a fixed delay or a range
// to pick from, as mock rules and proxy routes write delays.
func ParseDelay(s string) (Delay, error) {
	lo, hi, ranged := strings.Cut(s, "..")
	min, err := time.ParseDuration(strings.TrimSpace(lo))
	if err != nil || min < 0 {
		return Delay{}, fmt.Errorf("want a duration such as 300ms or a range such as 100ms..500ms, got %q", s)
	}
	if !ranged {
		return Delay{Min: min, Max: min}, nil
	}
	max, err := time.ParseDuration(strings.TrimSpace(hi))
	if err != nil || max < min {
		return Delay{}, fmt.Errorf("want a range such as 100ms..500ms (low..high), got %q", s)
	}
	return Delay{Min: min, Max: max}, nil
}

func (d *decoder) verify(n *yaml.Node, i int) *Verify {
	n = resolve(n)
	v := &Verify{Name: fmt.Sprintf("verify-%d", i+1), File: d.file, Line: n.Line, Tolerance: DefaultTolerance}
	d.empty(n, "verify", "a verify rule (scheme and secret)")
	var schemeNode, secretNode, tsNode *yaml.Node
	secretBad := false
	for _, p := range d.pairs(n, "verify") {
		switch p.key {
		case "name":
			if s := d.str(p.val, "name"); s != "" {
				v.Name = s
			}
		case "match":
			d.binPath(p.val)
			v.Match = d.matcher(p.val)
		case "scheme":
			schemeNode = p.val
			v.Scheme = d.str(p.val, "scheme")
		case "secret":
			secretNode = p.val
			before := len(d.errs)
			v.Secret = Secret(d.str(p.val, "secret"))
			secretBad = len(d.errs) > before // ${VAR} not set: said once
		case "tolerance":
			before := len(d.errs)
			if t := d.duration(p.val, "tolerance"); t > 0 {
				v.Tolerance = t
			} else if len(d.errs) == before {
				d.errorf(p.val, "tolerance: must be more than 0 (how far a signed timestamp may be from now; leave it out for %s)", durationText(DefaultTolerance))
			}
		case "reject":
			v.Reject = d.bool(p.val, "reject")
		case "timestamp_header":
			tsNode = p.val
			v.TimestampHeader = d.str(p.val, "timestamp_header")
			if v.TimestampHeader != "" && !validHeaderName(v.TimestampHeader) {
				d.errorf(p.val, "timestamp_header: bad header name %q", v.TimestampHeader)
			}
		}
	}
	if n.Kind == yaml.MappingNode {
		switch {
		case schemeNode == nil:
			d.errorf(n, "scheme is required")
		case !contains(Schemes(), v.Scheme):
			d.errorf(schemeNode, "scheme: unknown scheme %q%s; want one of %s", v.Scheme,
				suggest(v.Scheme, Schemes()), strings.Join(Schemes(), ", "))
		case tsNode != nil && v.TimestampHeader != "" && timestampHeader(v.Scheme) == "":
			d.errorf(tsNode, "timestamp_header: %s signatures have no timestamp header to rename", v.Scheme)
		}
		switch {
		case secretNode == nil:
			d.errorf(n, "secret is required")
		case v.Secret == "" && !secretBad:
			d.errorf(secretNode, "secret: must not be empty")
		case v.Scheme == SchemeStandardWebhooks:
			if _, err := standardWebhooksKey(string(v.Secret)); err != nil {
				d.errorf(secretNode, "secret: %v", err)
			}
		}
	}
	if v.Match == nil {
		v.Match = &Matcher{}
	}
	return v
}

// MatchMock returns the first mock, in file order, whose scope (bin, proxy)
// admits r and whose matcher matches it, with the path parameters it
// captured. It returns nil when no mock matches.
func (c *Config) MatchMock(r *Request) (*Mock, map[string]string) {
	if c == nil {
		return nil, nil
	}
	// A CORS preflight goes only to mocks that ask for one (naming OPTIONS
	// or Access-Control-Request-Method anywhere in their match): one naming
	// no method mocks the requests it is about, and answering their
	// preflight (without CORS headers) would keep a browser from sending
	// them.
	preflight := r.Method == "OPTIONS" && r.Header.Get("Access-Control-Request-Method") != ""
	for _, m := range c.Mocks {
		if !m.inScope(r) || preflight && !m.Match.asksPreflight() {
			continue
		}
		if params, ok := m.Match.Match(r); ok {
			return m, params
		}
	}
	return nil, nil
}

// Shadow is a mock that can never match: By, above it, matches every
// request it could.
type Shadow struct {
	Mock, By *Mock
}

// Shadowed returns the mocks of c, in file order, that can never match
// because a mock above them matches every request of their scope (it has
// no match conditions, and its bin and proxy scope hold theirs), each
// with the first such mock. A mock that takes CORS preflights is not
// among them: a mock naming no method leaves preflights to it.
func (c *Config) Shadowed() []Shadow {
	if c == nil {
		return nil
	}
	var out []Shadow
	for i, m := range c.Mocks {
		if m.Match.asksPreflight() {
			continue
		}
		for _, by := range c.Mocks[:i] {
			if by.Match.matchesAll() && by.covers(m) {
				out = append(out, Shadow{Mock: m, By: by})
				break
			}
		}
	}
	return out
}

// covers reports whether every request in o's bin and proxy scope is in
// m's.
func (m *Mock) covers(o *Mock) bool {
	if m.Bin != "" && m.Bin != o.Bin {
		return false
	}
	return m.Proxy == o.Proxy || m.Proxy == "*" && o.Proxy != ""
}

// inScope reports whether the mock's bin and proxy scope admit r.
func (m *Mock) inScope(r *Request) bool {
	if m.Bin != "" && m.Bin != r.Bin {
		return false
	}
	switch m.Proxy {
	case "":
		return r.Proxy == ""
	case "*":
		return r.Proxy != ""
	}
	return m.Proxy == r.Proxy
}

// NearMiss returns the mock that came closest to matching r, and why it
// missed. It returns "" and nil when there are no mocks for r's proxy
// scope, or one matches. Closest is, in order: a rule whose path matched,
// then one of another bin whose path matched ("bin: ..."), then one whose
// path did not match or that has none; then the fewest failing
// conditions, then the longest start its path pattern shares with r's
// path, then the first.
func (c *Config) NearMiss(r *Request) (name string, reasons []string) {
	if c == nil {
		return "", nil
	}
	type rank struct{ miss, n, common int }
	var best rank
	for _, m := range c.Mocks {
		otherBin := m.Bin != "" && m.Bin != r.Bin
		sr := *r
		if otherBin {
			sr.Bin = m.Bin // judge its conditions as if in its bin
		}
		if !m.inScope(&sr) {
			continue // another proxy's, or capture's
		}
		why := m.Match.Explain(&sr)
		if len(why) == 0 && !otherBin {
			return "", nil
		}
		k := rank{n: len(why), common: -1}
		if m.Match != nil {
			k.common = commonPrefix(m.Match.Path, r.Path)
		}
		switch {
		case m.Match == nil || m.Match.Path == "":
			k.miss += 2 // no path to have matched: no closer than one that missed
		case slices.ContainsFunc(why, func(w string) bool { return strings.HasPrefix(w, "path:") }):
			k.miss += 2
		}
		if otherBin {
			why = append([]string{fmt.Sprintf("bin: the rule answers in bin %s, not %s", m.Bin, r.Bin)}, why...)
			k.miss++
			k.n++
		}
		if reasons == nil || k.miss < best.miss || k.miss == best.miss && (k.n < best.n || k.n == best.n && k.common > best.common) {
			name, reasons, best = m.Name, why, k
		}
	}
	return name, reasons
}

// commonPrefix is the length of the start a and b share.
func commonPrefix(a, b string) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}

// MatchVerify returns the first verify rule that matches r, or nil.
func (c *Config) MatchVerify(r *Request) *Verify {
	if c == nil {
		return nil
	}
	for _, v := range c.Verify {
		if _, ok := v.Match.Match(r); ok {
			return v
		}
	}
	return nil
}
