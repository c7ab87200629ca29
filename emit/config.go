package emit

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/hooklab/hooklab/rules"
)

// config is the emit part of a hooklab.yaml, decoded and validated.
type config struct {
	file        string
	webhooks    []*Webhook
	byID        map[string]*Webhook
	triggers    []*trigger
	automations []*automation
	subs        []*subscription
	warnings    []string
	env         *rules.EnvSeen // the values taken from the environment, for Connections
}

// trigger notifies a webhook when an event of its types meets its
// conditions.
type trigger struct {
	name   string
	where  string // file:line
	events []string
	cond   *rules.Matcher
	when   json.RawMessage // its all and any as written, for Connections
	notify notify
}

// automation notifies a webhook on a schedule.
type automation struct {
	name   string
	where  string
	every  time.Duration
	cron   *cronSpec
	spec   string // as written, to keep state across reloads
	cond   *rules.Matcher
	when   json.RawMessage // its all and any as written, for Connections
	data   json.RawMessage
	notify notify
}

// subscription connects a webhook to event types; its payload is the
// envelope.
type subscription struct {
	webhook string
	events  []string
	where   string
}

// notify is what a trigger or automation sends: a payload template (or the
// envelope when there is none) and URL or form parameters.
type notify struct {
	webhook string
	payload string
	tpls    map[string]*rules.Template // by webhook format
	params  []param
	// structured: the payload was a YAML structure, a JSON document: an
	// xml or form_encoded webhook gets it rendered as JSON and then
	// written in its format (as a test send's object payload is).
	structured bool
}

type param struct {
	key string
	tpl *rules.Template
}

// template returns the payload template for a webhook format.
func (n *notify) template(format string) *rules.Template {
	return n.tpls[format]
}

var formatEscaping = map[string]rules.Format{FormatJSON: rules.FormatJSON, FormatXML: rules.FormatXML, FormatForm: rules.FormatForm}

// decoder walks the emit sections of a config file, expanding ${NAME} and
// collecting every problem with its position.
type decoder struct {
	file   string
	getenv func(string) string
	env    *rules.EnvSeen // what getenv returned, kept out of messages
	errs   []rules.Error
	cfg    *rules.Config // the file, for the place of a template error
}

func (d *decoder) errorf(n *yaml.Node, format string, args ...any) {
	e := rules.Error{File: d.file, Msg: d.env.Scrub(fmt.Sprintf(format, args...))}
	if n != nil {
		e.Line, e.Col = n.Line, n.Column
	}
	d.errs = append(d.errs, e)
}

// erredAt reports whether one of the errors from the from'th to the to'th
// is at n.
func (d *decoder) erredAt(n *yaml.Node, from, to int) bool {
	if n == nil {
		return false
	}
	for _, e := range d.errs[from:to] {
		if e.Line == n.Line && e.Col == n.Column {
			return true
		}
	}
	return false
}

// templateErrorf records err, from rules.NewTemplate of tpl, the value of
// n, at its place in the file (in a literal block, the line at fault),
// after what.
func (d *decoder) templateErrorf(n *yaml.Node, tpl string, err error, what string) {
	line, col, msg := d.cfg.TemplatePos(n, tpl, err)
	d.errs = append(d.errs, rules.Error{File: d.file, Line: line, Col: col, Msg: d.env.Scrub(what + ": " + msg)})
}

func (d *decoder) where(n *yaml.Node) string {
	if n == nil {
		return d.file
	}
	return d.file + ":" + strconv.Itoa(n.Line)
}

func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

// orderedJSON appends v, decoded from n, as JSON with the keys of each
// mapping in the order n gives them: a merge's (<<) where the merge is,
// each key once, any other after them, sorted (there are none: v was
// decoded from n).
func orderedJSON(b []byte, n *yaml.Node, v any) []byte {
	n = resolve(n)
	switch v := v.(type) {
	case map[string]any:
		if n == nil || n.Kind != yaml.MappingNode {
			break
		}
		done := map[string]bool{}
		own := map[string]bool{} // keys n itself has: a merge's of the same name is overridden
		for i := 0; i+1 < len(n.Content); i += 2 {
			if k := resolve(n.Content[i]); k.Tag != "!!merge" {
				own[k.Value] = true
			}
		}
		b = append(b, '{')
		var emit func(m *yaml.Node)
		emit = func(m *yaml.Node) {
			m = resolve(m)
			for i := 0; m != nil && m.Kind == yaml.MappingNode && i+1 < len(m.Content); i += 2 {
				k := resolve(m.Content[i])
				if k.Tag == "!!merge" {
					if src := resolve(m.Content[i+1]); src != nil && src.Kind == yaml.SequenceNode {
						for _, c := range src.Content {
							emit(c)
						}
					} else {
						emit(src)
					}
					continue
				}
				val, ok := v[k.Value]
				if !ok || done[k.Value] || m != n && own[k.Value] {
					continue
				}
				done[k.Value] = true
				if len(done) > 1 {
					b = append(b, ',')
				}
				kb, _ := json.Marshal(k.Value)
				b = append(append(b, kb...), ':')
				b = orderedJSON(b, m.Content[i+1], val)
			}
		}
		emit(n)
		for _, k := range sortedKeys(v) {
			if !done[k] {
				done[k] = true
				if len(done) > 1 {
					b = append(b, ',')
				}
				kb, _ := json.Marshal(k)
				b = append(append(b, kb...), ':')
				vb, _ := json.Marshal(v[k])
				b = append(b, vb...)
			}
		}
		return append(b, '}')
	case []any:
		if n == nil || n.Kind != yaml.SequenceNode || len(n.Content) != len(v) {
			break
		}
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			b = orderedJSON(b, n.Content[i], e)
		}
		return append(b, ']')
	}
	vb, _ := json.Marshal(v)
	return append(b, vb...)
}

func isNull(n *yaml.Node) bool {
	n = resolve(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

type pair struct {
	key     string
	keyNode *yaml.Node
	val     *yaml.Node
}

// pairs returns the entries of mapping n, reporting unknown and duplicate
// keys.
func (d *decoder) pairs(n *yaml.Node, what string, known ...string) []pair {
	return d.pairsHint(n, what, nil, known...)
}

// pairsHint is pairs, saying for an unknown key that hint names (one of
// the JSON API's, not the config file's) what it says instead of the
// keys: hint gets the key's value node and gives the text after the key.
func (d *decoder) pairsHint(n *yaml.Node, what string, hint func(key string, val *yaml.Node) string, known ...string) []pair {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "%s: want a mapping, got %s", what, nodeKind(n))
		return nil
	}
	seen := map[string]bool{}
	var out []pair
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := resolve(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.errorf(k, "%s: keys must be strings", what)
			continue
		}
		if seen[k.Value] {
			d.errorf(k, "%s: duplicate key %q", what, k.Value)
			continue
		}
		seen[k.Value] = true
		if known != nil && !slices.Contains(known, k.Value) {
			if h := ""; hint != nil {
				if h = hint(k.Value, v); h != "" {
					d.errorf(k, "%s: %q %s", what, k.Value, h)
					continue
				}
			}
			d.errorf(k, "%s: unknown key %q%s", what, k.Value, rules.UnknownKey(k.Value, known))
			continue
		}
		out = append(out, pair{key: k.Value, keyNode: k, val: v})
	}
	return out
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
	s, err := rules.ExpandEnv(n.Value, d.getenv)
	if err != nil {
		d.errorf(n, "%s: %v", what, err)
		return "", false
	}
	return s, true
}

func (d *decoder) str(n *yaml.Node, what string) string {
	s, _ := d.scalar(n, what)
	return s
}

func (d *decoder) int(n *yaml.Node, what string) int {
	s, ok := d.scalar(n, what)
	if !ok || s == "" {
		return 0
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		d.errorf(n, "%s: want a whole number, got %q", what, s)
	}
	return v
}

func (d *decoder) size(n *yaml.Node, what string) int64 {
	s, ok := d.scalar(n, what)
	if !ok || s == "" {
		return 0
	}
	v, err := rules.ParseSize(s)
	if err != nil {
		d.errorf(n, "%s: %v", what, err)
	}
	return v
}

func (d *decoder) float(n *yaml.Node, what string) float64 {
	s, ok := d.scalar(n, what)
	if !ok || s == "" {
		return 0
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil {
		d.errorf(n, "%s: want a number, got %q", what, s)
	}
	if strings.HasSuffix(s, "%") {
		v /= 100
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

func (d *decoder) duration(n *yaml.Node, what string) Duration {
	s, ok := d.scalar(n, what)
	if !ok || s == "" {
		return 0
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= 0 && f < float64(math.MaxInt64)/float64(time.Second) {
		return Duration(f * float64(time.Second)) // a number is seconds, as in the API's JSON
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		d.errorf(n, "%s: want a duration such as 300ms or 1m (or a number of seconds), got %q", what, s)
		return 0
	}
	return Duration(v)
}

// zeroDuration reports whether s is written as a zero duration ("0",
// "0s"), as opposed to empty or not a duration at all.
func zeroDuration(s string) bool {
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f == 0
	}
	v, err := time.ParseDuration(s)
	return err == nil && v == 0
}

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

// strList accepts one value or a list.
func (d *decoder) strList(n *yaml.Node, what string) []string {
	var out []string
	for _, it := range d.strItems(n, what) {
		out = append(out, it.s)
	}
	return out
}

// item is a value of a list with its node, so that an error about it is
// placed at it, not at the list.
type item struct {
	s string
	n *yaml.Node
}

// strItems is strList with each value's node.
func (d *decoder) strItems(n *yaml.Node, what string) []item {
	n = resolve(n)
	if isNull(n) {
		return nil
	}
	if n.Kind == yaml.SequenceNode {
		var out []item
		for _, c := range n.Content {
			if s, ok := d.scalar(c, what); ok {
				out = append(out, item{s, c})
			}
		}
		return out
	}
	if s, ok := d.scalar(n, what); ok {
		return []item{{s, n}}
	}
	return nil
}

// strMap decodes a mapping of names to single values, keeping each key's
// node for positions.
func (d *decoder) strMap(n *yaml.Node, what string, keys map[string]*yaml.Node) map[string]string {
	out := map[string]string{}
	for _, p := range d.pairs(n, what) {
		if s, ok := d.scalar(p.val, what+" "+p.key); ok {
			out[p.key] = s
			if keys != nil {
				keys[p.key] = p.keyNode
			}
		}
	}
	return out
}

// value decodes any YAML value to plain Go values, as the rules loader does
// (${NAME}, merge keys, runaway aliases refused).
func (d *decoder) value(n *yaml.Node, what string) any {
	v, err := rules.DecodeValue(n, d.file, what, d.getenv)
	var errs *rules.Errors
	if errors.As(err, &errs) {
		for _, e := range errs.List {
			// The values of its keys, which rules expanded, too.
			e.Msg = d.env.Scrub(e.Msg)
			d.errs = append(d.errs, e)
		}
		return nil
	}
	return v
}

// Keys in the config file, at each level (rules/schema.json lists the
// same; TestSchemaKeys checks).
var (
	webhookKeys = []string{"id", "name", "description", "endpoint", "method", "format", "status", "authentication",
		"custom_headers", "signing", "timeout", "retry", "rate_limit", "circuit_breaker", "strict", "max_payload", "concurrency"}
	authKeys      = []string{"type", "name", "value", "username", "password", "token"}
	signingKeys   = []string{"scheme", "secret", "secrets"}
	rateLimitKeys = []string{"limit", "window"}
	breakerKeys   = []string{"disabled", "failure_rate", "min_attempts", "window", "cooldown"}
	retryKeys     = []string{"max_attempts", "statuses", "retry_after_statuses", "on_timeout",
		"on_network_error", "backoff", "initial", "max", "schedule", "retry_after_max"}
	notifyKeys       = []string{"webhook", "payload", "params"}
	subscriptionKeys = []string{"webhook", "events"}
	triggerKeys      = []string{"name", "description", "when", "notify"}
	automationKeys   = []string{"name", "description", "every", "cron", "when", "data", "notify"}
)

// apiWebhookKey says, of a key of a webhook the JSON API takes or answers
// with but the config file does not (Zendesk's names, read-only fields),
// what to write in the file instead; "" for any other key.
func apiWebhookKey(key string, val *yaml.Node) string {
	// A plain value is shown in the advice when it is short and no
	// reference: it is a method or a format, never a secret.
	shown := func(def string) string {
		if v := resolve(val); v != nil && v.Kind == yaml.ScalarNode && v.Tag != "!!null" && v.Value != "" && len(v.Value) <= 16 && !strings.Contains(v.Value, "$") {
			return v.Value
		}
		return def
	}
	switch key {
	case "http_method":
		return "is the JSON API's key (Zendesk's name for method); in the config file write method: " + shown("POST")
	case "request_format":
		return "is the JSON API's key (Zendesk's name for format); in the config file write format: " + shown("json")
	case "signing_secret":
		return "is the JSON API's key (Zendesk's shape of signing); in the config file write signing: {scheme: zendesk, secret: ...}"
	case "subscriptions":
		return "is the JSON API's key; in the config file a webhook is connected to event types by the top-level subscriptions: section, {webhook: ID, events: [ticket.created]}"
	case "webhook":
		return "wraps a definition in the JSON API's answers; in the config file write the webhook's keys in the list item itself"
	case "created_at", "updated_at", "source", "location", "stats", "circuit", "circuit_until", "connections", "warnings":
		return "is a read-only field of the JSON API's answers; it is not set in the config file: take it out"
	case "created_by", "updated_by", "external_source":
		return "is a read-only field of Zendesk's API; it is not set in the config file: take it out"
	}
	return ""
}

// apiAuthKey is apiWebhookKey for the keys of authentication.
func apiAuthKey(key string, _ *yaml.Node) string {
	switch key {
	case "data":
		return "is the JSON API's key (Zendesk's shape); in the config file write its keys in authentication itself, such as {type: basic_auth, username: ..., password: ...}"
	case "add_position":
		return "is the JSON API's key (Zendesk's, always header); it is not set in the config file: take it out"
	}
	return ""
}

// apiSigningKey is apiWebhookKey for the keys of signing.
func apiSigningKey(key string, _ *yaml.Node) string {
	switch key {
	case "previous":
		return "is a read-only field of the JSON API's answers (the secrets a rotation keeps signing); in the config file list them after the current one: secrets: [new, old]"
	case "algorithm":
		return "is the JSON API's key (of Zendesk's signing_secret, always SHA256); in the config file write scheme: zendesk"
	}
	return ""
}

// misplacedKey says, of a key of a trigger or automation that belongs a
// level down (in when: or notify:) or is Zendesk's API shape of one,
// where it goes; "" for any other key.
func misplacedKey(key string, _ *yaml.Node) string {
	switch key {
	case "event", "events":
		return "goes in when: {event: ticket.created}"
	case "webhook", "payload", "params":
		return "goes in notify: {webhook: ID, payload: ...}"
	case "all", "any":
		return "goes in when: {all: [{path: ticket.priority, op: eq, value: urgent}]}"
	case "conditions":
		return "is the shape of Zendesk's API; in the config file conditions go in when: {all: [{path: ticket.priority, op: eq, value: urgent}]} (any: for either)"
	case "actions":
		return "is the shape of Zendesk's API; in the config file the webhook to call goes in notify: {webhook: ID, payload: ...}"
	case "schedule", "interval":
		return "is not a key; write every: 1h, or cron: \"0 * * * *\""
	}
	return ""
}

// webhook decodes one webhooks: item; fields maps each field path to its
// node, to place validation errors.
func (d *decoder) webhook(n *yaml.Node) (*Webhook, map[string]*yaml.Node) {
	w := &Webhook{Source: SourceConfig, Location: d.where(n)}
	fields := map[string]*yaml.Node{}
	for _, p := range d.pairsHint(n, "webhook", apiWebhookKey, webhookKeys...) {
		fields[p.key] = p.val
		switch p.key {
		case "id":
			w.ID = d.str(p.val, "id")
		case "name":
			w.Name = d.str(p.val, "name")
		case "description":
			w.Description = d.str(p.val, "description")
		case "endpoint":
			w.Endpoint = d.str(p.val, "endpoint")
		case "method":
			w.Method = d.str(p.val, "method")
		case "format":
			w.Format = d.str(p.val, "format")
		case "status":
			w.Status = d.str(p.val, "status")
		case "authentication":
			a := &Auth{}
			for _, q := range d.pairsHint(p.val, "authentication", apiAuthKey, authKeys...) {
				fields["authentication."+q.key] = q.val
				v := d.str(q.val, "authentication "+q.key)
				switch q.key {
				case "type":
					a.Type = v
				case "name":
					a.Name = v
				case "value":
					a.Value = v
				case "username":
					a.Username = v
				case "password":
					a.Password = v
				case "token":
					a.Token = v
				}
			}
			w.Authentication = a
		case "custom_headers":
			keys := map[string]*yaml.Node{}
			w.CustomHeaders = d.strMap(p.val, "custom_headers", keys)
			for k, kn := range keys {
				fields["custom_headers."+k] = kn
			}
		case "signing":
			s := &Signing{}
			for _, q := range d.pairsHint(p.val, "signing", apiSigningKey, signingKeys...) {
				fields["signing."+q.key] = q.val
				switch q.key {
				case "scheme":
					s.Scheme = d.str(q.val, "signing scheme")
				case "secret":
					if _, both := fields["signing.secrets"]; both {
						d.errorf(q.val, "signing: give secret or secrets, not both")
					}
					s.Secret = d.str(q.val, "signing secret")
				case "secrets":
					if _, both := fields["signing.secret"]; both {
						d.errorf(q.val, "signing: give secret or secrets, not both")
					}
					fields["signing.secret"] = q.val
					if sn := resolve(q.val); sn != nil && sn.Kind == yaml.SequenceNode {
						for i, item := range sn.Content {
							fields[fmt.Sprintf("signing.secrets.%d", i)] = item
						}
					}
					list := d.strList(q.val, "signing secrets")
					if len(list) > 0 {
						s.Secret = list[0]
						for _, old := range list[1:] {
							s.Previous = append(s.Previous, PreviousSecret{Secret: old, Until: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)})
						}
					}
				}
			}
			w.Signing = s
		case "timeout":
			s, ok := d.scalar(p.val, "timeout")
			if !ok {
				break // said why, once
			}
			w.Timeout = d.duration(p.val, "timeout")
			if w.Timeout == 0 && zeroDuration(s) {
				d.errorf(p.val, "timeout: want between 1ms and 5m, got %s", s)
			}
		case "retry":
			w.Retry = d.retry(p.val, fields)
		case "rate_limit":
			rn := resolve(p.val)
			if rn != nil && rn.Kind == yaml.ScalarNode {
				s, ok := d.scalar(rn, "rate_limit")
				if !ok {
					break // said why: no rate to parse
				}
				r, err := parseRate(s)
				if err != nil {
					d.errorf(rn, "rate_limit: %v", err)
					break // not validated again as a zero rate
				}
				w.RateLimit = &r
				break
			}
			r := &RateLimit{Window: Duration(time.Minute)}
			for _, q := range d.pairs(p.val, "rate_limit", rateLimitKeys...) {
				switch q.key {
				case "limit":
					r.Limit = d.int(q.val, "rate_limit limit")
				case "window":
					r.Window = d.duration(q.val, "rate_limit window")
				}
			}
			w.RateLimit = r
		case "circuit_breaker":
			b := &Breaker{}
			for _, q := range d.pairs(p.val, "circuit_breaker", breakerKeys...) {
				fields["circuit_breaker."+q.key] = q.val
				switch q.key {
				case "disabled":
					b.Disabled = d.bool(q.val, "circuit_breaker disabled")
				case "failure_rate":
					b.FailureRate = d.float(q.val, "circuit_breaker failure_rate")
				case "min_attempts":
					b.MinAttempts = d.int(q.val, "circuit_breaker min_attempts")
				case "window":
					b.Window = d.duration(q.val, "circuit_breaker window")
				case "cooldown":
					b.Cooldown = d.duration(q.val, "circuit_breaker cooldown")
				}
			}
			w.Breaker = b
		case "strict":
			w.Strict = d.bool(p.val, "strict")
		case "max_payload":
			w.MaxPayload = Size(d.size(p.val, "max_payload"))
		case "concurrency":
			w.Concurrency = d.int(p.val, "concurrency")
		}
	}
	return w, fields
}

func (d *decoder) retry(n *yaml.Node, fields map[string]*yaml.Node) *Retry {
	r := &Retry{}
	ints := func(n *yaml.Node, what string) []int {
		out := []int{}
		for _, it := range d.strItems(n, what) {
			v, err := strconv.Atoi(it.s)
			if err != nil {
				d.errorf(it.n, "%s: want status codes, got %q", what, it.s)
				continue
			}
			out = append(out, v)
		}
		return out
	}
	for _, p := range d.pairs(n, "retry", retryKeys...) {
		fields["retry."+p.key] = p.val
		switch p.key {
		case "max_attempts":
			if p.val.Tag == "!!null" {
				break // ~ keeps the default, as null does in JSON
			}
			r.MaxAttempts = Attempts(d.int(p.val, "retry max_attempts"))
			if r.MaxAttempts == 0 {
				r.MaxAttempts = maxAttemptsZero // explicit 0 is out of range
			}
		case "statuses":
			r.Statuses = ints(p.val, "retry statuses")
		case "retry_after_statuses":
			r.RetryAfterStatuses = ints(p.val, "retry retry_after_statuses")
		case "on_timeout":
			v := d.bool(p.val, "retry on_timeout")
			r.OnTimeout = &v
		case "on_network_error":
			r.OnNetworkError = d.bool(p.val, "retry on_network_error")
		case "backoff":
			r.Backoff = d.str(p.val, "retry backoff")
		case "initial":
			r.Initial = d.duration(p.val, "retry initial")
		case "max":
			r.Max = d.duration(p.val, "retry max")
		case "schedule":
			for _, it := range d.strItems(p.val, "retry schedule") {
				v, err := time.ParseDuration(it.s)
				if err != nil || v < 0 {
					d.errorf(it.n, "retry schedule: want durations such as 5s or 30m, got %q", it.s)
					continue
				}
				r.Schedule = append(r.Schedule, Duration(v))
			}
		case "retry_after_max":
			r.RetryAfterMax = d.duration(p.val, "retry retry_after_max")
		}
	}
	return r
}

// fieldNode finds the node of a field path, or of its closest parent.
func fieldNode(fields map[string]*yaml.Node, field string, item *yaml.Node) *yaml.Node {
	for f := field; f != ""; {
		if n := fields[f]; n != nil {
			// A list's item (retry.statuses.1) is the item's node.
			rest := strings.TrimPrefix(field[len(f):], ".")
			if i, _, _ := strings.Cut(rest, "."); i != "" {
				if idx, err := strconv.Atoi(i); err == nil && idx >= 0 {
					if l := resolve(n); l.Kind == yaml.SequenceNode && idx < len(l.Content) {
						return l.Content[idx]
					}
				}
			}
			return n
		}
		i := strings.LastIndexByte(f, '.')
		if i < 0 {
			break
		}
		f = f[:i]
	}
	return item
}

// whenCond builds a matcher from all/any lists of JSON conditions.
func (d *decoder) whenCond(all, anyList *yaml.Node, at *yaml.Node) *rules.Matcher {
	if all == nil && anyList == nil {
		return nil
	}
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
	m := &yaml.Node{Kind: yaml.MappingNode, Line: at.Line, Column: at.Column}
	if all != nil {
		if rn := resolve(all); rn.Kind != yaml.SequenceNode {
			d.errorf(rn, "all: want a list of conditions such as {path: ticket.priority, op: eq, value: urgent}, got %s", nodeKind(rn))
			return nil
		}
		m.Content = append(m.Content, str("json"), all)
	}
	if anyList != nil {
		rn := resolve(anyList)
		if rn.Kind != yaml.SequenceNode {
			d.errorf(rn, "any: want a list of conditions such as {path: ticket.priority, op: eq, value: urgent}, got %s", nodeKind(rn))
			return nil
		}
		seq := &yaml.Node{Kind: yaml.SequenceNode, Line: rn.Line, Column: rn.Column}
		for _, c := range rn.Content {
			one := &yaml.Node{Kind: yaml.SequenceNode, Line: c.Line, Column: c.Column, Content: []*yaml.Node{c}}
			seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.MappingNode, Line: c.Line, Column: c.Column, Content: []*yaml.Node{str("json"), one}})
		}
		m.Content = append(m.Content, str("any"), seq)
	}
	matcher, err := rules.DecodeMatcher(m, d.file, d.getenv)
	if err != nil {
		if errs, ok := err.(*rules.Errors); ok {
			d.errs = append(d.errs, errs.List...)
		} else {
			d.errorf(at, "%v", err)
		}
		return nil
	}
	return matcher
}

// notify decodes a notify: mapping.
func (d *decoder) notify(n *yaml.Node, what string) (notify, map[string]*yaml.Node) {
	var nt notify
	nodes := map[string]*yaml.Node{}
	for _, p := range d.pairs(n, what+" notify", notifyKeys...) {
		nodes[p.key] = p.val
		switch p.key {
		case "webhook":
			nt.webhook = d.str(p.val, "notify webhook")
		case "payload":
			pn := resolve(p.val)
			if pn != nil && (pn.Kind == yaml.MappingNode || pn.Kind == yaml.SequenceNode) {
				// A YAML structure is a JSON payload written as YAML.
				// Keys in the file's order (json.Marshal sorts a map's):
				// an XML payload's elements follow them, and a reader of
				// the JSON expects them so.
				nt.payload, nt.structured = string(orderedJSON(nil, pn, d.value(pn, "notify payload"))), true
			} else {
				nt.payload = d.str(p.val, "notify payload")
			}
		case "params":
			keys := map[string]*yaml.Node{}
			m := d.strMap(p.val, "notify params", keys)
			// In the order the file gives them, as Zendesk sends its
			// key/value pairs.
			names := sortedKeys(m)
			slices.SortStableFunc(names, func(a, b string) int {
				ka, kb := keys[a], keys[b]
				return cmp.Or(cmp.Compare(ka.Line, kb.Line), cmp.Compare(ka.Column, kb.Column))
			})
			for _, k := range names {
				tpl, err := rules.NewTemplate(m[k], rules.FormatText)
				if err != nil {
					d.errorf(keys[k], "notify params %s: %v", k, err)
					continue
				}
				nt.params = append(nt.params, param{key: k, tpl: tpl})
			}
		}
	}
	if nt.webhook == "" {
		d.errorf(n, "%s notify: webhook is required", what)
	}
	if nt.payload != "" {
		nt.tpls = map[string]*rules.Template{}
		for f, esc := range formatEscaping {
			tpl, err := rules.NewTemplate(nt.payload, esc)
			if err != nil {
				if f == FormatJSON {
					d.templateErrorf(nodes["payload"], nt.payload, err, "notify payload")
				}
				continue
			}
			nt.tpls[f] = tpl
		}
	}
	return nt, nodes
}

// when decodes a trigger's or automation's when: mapping. written is its
// all and any as the file has them (the keys in its order, ${NAME}
// expanded), as JSON; nil when it has neither.
func (d *decoder) when(n *yaml.Node, what string, withEvent bool) (events []string, cond *rules.Matcher, written json.RawMessage, eventNode *yaml.Node) {
	keys := []string{"all", "any"}
	if withEvent {
		keys = append(keys, "event")
	}
	var all, anyList *yaml.Node
	for _, p := range d.pairs(n, what+" when", keys...) {
		switch p.key {
		case "event":
			eventNode = p.val
			for _, it := range d.strItems(p.val, "when event") {
				events = append(events, it.s)
				if why := checkGlob(it.s); why != "" {
					d.errorf(it.n, "when event: %s", why)
				}
			}
		case "all":
			all = p.val
		case "any":
			anyList = p.val
		}
	}
	if rn := resolve(n); rn != nil {
		cond = d.whenCond(all, anyList, rn)
	}
	if cond != nil {
		// The matcher's own form (json:, any: [{json: ...}]) is not what
		// was written. Its errors were reported as the matcher was made.
		v := map[string]any{}
		for _, c := range []struct {
			key string
			n   *yaml.Node
		}{{"all", all}, {"any", anyList}} {
			if c.n != nil {
				if x, err := rules.DecodeValue(c.n, d.file, "when "+c.key, d.getenv); err == nil {
					v[c.key] = x
				}
			}
		}
		written = orderedJSON(nil, n, v)
	}
	return events, cond, written, eventNode
}

// decodeConfig decodes and checks the emit sections of cfg. lookup finds a
// webhook made through the API (nil: references to webhooks not in the file
// are not checked); refuse is Options.Refuse (nil: an endpoint at
// hooklab's own API is not checked). Errors are a *rules.Errors.
func decodeConfig(cfg *rules.Config, getenv func(string) string, lookup func(id string) *Webhook, refuse func(address string) error) (*config, error) {
	c := &config{byID: map[string]*Webhook{}}
	if cfg == nil {
		return c, nil
	}
	c.file = cfg.File
	file := cfg.File
	if file == "" {
		file = "hooklab.yaml"
	}
	env := cfg.EnvSeen(getenv) // the keys' values too: rules expanded them
	c.env = env
	d := &decoder{file: file, getenv: env.Getenv, env: env, cfg: cfg}
	// Each item's errors name it (webhook a, trigger t): those said as
	// its keys were read, before its name was known, are named at the end.
	var spans []span
	open := func(kind string) { spans = append(spans, span{from: len(d.errs), kind: kind}) }
	named := func(label string) { spans[len(spans)-1].label = label }

	for i, item := range d.list(cfg.Webhooks, "webhooks") {
		open("webhook")
		before := len(d.errs)
		w, fields := d.webhook(item)
		decoded := len(d.errs) // the validation's errors come after these
		w.normalize()
		errs, warns := w.validate()
		name := w.ID
		if name == "" {
			name = fmt.Sprintf("%d (no id)", i+1)
		}
		named("webhook " + name)
		for _, fe := range errs {
			if fe.Field == "subscriptions" {
				continue
			}
			n := fieldNode(fields, fe.Field, item)
			if d.erredAt(n, before, decoded) {
				continue // a value that did not decode: said already, there
			}
			d.errorf(n, "webhook %s: %s", name, fe.Error())
		}
		// As the API refuses it: every delivery would be refused as sent.
		if !slices.ContainsFunc(errs, func(fe FieldError) bool { return fe.Field == "endpoint" }) {
			if msg := ownAPI(refuse, w.Endpoint, nil); msg != "" {
				d.errorf(fieldNode(fields, "endpoint", item), "webhook %s: %s", name, msg)
			}
		}
		if n := fields["signing.secrets"]; n != nil && w.Signing != nil && len(w.Signing.Previous) > 0 && slices.Contains(rules.Schemes(), w.Signing.Scheme) &&
			w.Signing.Scheme != rules.SchemeStandardWebhooks && w.Signing.Scheme != rules.SchemeStripe {
			// Only these two carry a signature per secret.
			warns = append(warns, FieldError{Field: "signing.secrets", Msg: w.Signing.Scheme + " signs with one secret, the first; the others sign nothing (standard-webhooks and stripe sign with each)"})
		}
		for _, fe := range warns {
			n := fieldNode(fields, fe.Field, item)
			c.warnings = append(c.warnings, fmt.Sprintf("%s:%d:%d: webhook %s: %s", file, n.Line, n.Column, name, fe.Error()))
		}
		if w.ID == "" {
			continue
		}
		if _, dup := c.byID[w.ID]; dup {
			d.errorf(fieldNode(fields, "id", item), "webhook %s: duplicate id", w.ID)
			continue
		}
		if lookup != nil {
			if other := lookup(w.ID); other != nil && other.Source == SourceAPI {
				d.errorf(fieldNode(fields, "id", item), "webhook %s: a webhook made through the API has this id; rename one", w.ID)
			}
		}
		c.byID[w.ID] = w
		c.webhooks = append(c.webhooks, w)
	}
	find := func(id string) *Webhook {
		if w := c.byID[id]; w != nil {
			return w
		}
		if lookup != nil {
			return lookup(id)
		}
		return nil
	}
	// usedBy records how each webhook is connected, to refuse mixing.
	type use struct {
		kind  string // "subscription" or "trigger"/"automation"
		where string
	}
	usedBy := map[string]use{}
	connect := func(n *yaml.Node, id, kind, name string) {
		w := find(id)
		if w == nil {
			if lookup != nil || id == "" {
				if id != "" {
					d.errorf(n, "%s: webhook %q is not defined", name, id)
				}
				return
			}
			// Not in the file and no API to ask: checked at load.
			c.warnings = append(c.warnings, fmt.Sprintf("%s:%d:%d: %s: webhook %q is not defined in this file; hooklab serve accepts it only if it was made through the API",
				file, n.Line, n.Column, name, id))
		}
		subscr := kind == "subscription"
		if w != nil && subscr && (w.Method != http.MethodPost || w.Format != FormatJSON) {
			d.errorf(n, "%s: webhook %s is connected to event subscriptions, which are always POST with json format; it is %s %s", name, id, w.Method, w.Format)
		}
		if w != nil && !subscr && len(w.Subscriptions) > 0 {
			d.errorf(n, "%s: webhook %s is connected to event subscriptions (through the API); a webhook is connected either to subscriptions or to triggers and automations, never both", name, id)
		}
		if prev, ok := usedBy[id]; ok && (prev.kind == "subscription") != subscr {
			d.errorf(n, "%s: webhook %s is already connected to a %s (%s); a webhook is connected either to subscriptions or to triggers and automations, never both", name, id, prev.kind, prev.where)
			return
		}
		if _, ok := usedBy[id]; !ok {
			usedBy[id] = use{kind: kind, where: d.where(n)}
		}
	}

	open("")
	for i, item := range d.list(cfg.Subscriptions, "subscriptions") {
		open("subscription")
		s := &subscription{where: d.where(item)}
		var whNode, evNode *yaml.Node
		for _, p := range d.pairs(item, "subscription", subscriptionKeys...) {
			switch p.key {
			case "webhook":
				whNode = p.val
				s.webhook = d.str(p.val, "subscription webhook")
			case "events":
				evNode = p.val
				for _, it := range d.strItems(p.val, "subscription events") {
					s.events = append(s.events, it.s)
					if why := checkGlob(it.s); why != "" {
						d.errorf(it.n, "subscription events: %s", why)
					}
				}
			}
		}
		if resolve(item) == nil || resolve(item).Kind != yaml.MappingNode {
			continue
		}
		name := fmt.Sprintf("subscription %d", i+1)
		named(name)
		if s.webhook == "" {
			d.errorf(item, "%s: webhook is required", name)
			continue
		}
		if len(s.events) == 0 {
			d.errorf(cmpNode(evNode, item), "%s: events is required, such as [\"ticket.*\"]", name)
		}
		connect(whNode, s.webhook, "subscription", name)
		c.subs = append(c.subs, s)
	}

	names := map[string]bool{}
	open("")
	for i, item := range d.list(cfg.Triggers, "triggers") {
		open("trigger")
		t := &trigger{where: d.where(item)}
		var whenNode, notifyNode *yaml.Node
		var nodes map[string]*yaml.Node
		for _, p := range d.pairsHint(item, "trigger", misplacedKey, triggerKeys...) {
			switch p.key {
			case "name":
				t.name = d.str(p.val, "trigger name")
			case "description":
			case "when":
				whenNode = p.val
			case "notify":
				notifyNode = p.val
			}
		}
		if resolve(item) == nil || resolve(item).Kind != yaml.MappingNode {
			continue
		}
		if t.name == "" {
			t.name = fmt.Sprintf("trigger-%d", i+1)
		}
		label := "trigger " + t.name
		named(label)
		if names[t.name] {
			d.errorf(item, "%s: duplicate name", label)
		}
		names[t.name] = true
		if whenNode == nil {
			d.errorf(item, "%s: when is required, with at least an event type", label)
		} else {
			var evNode *yaml.Node
			t.events, t.cond, t.when, evNode = d.when(whenNode, label, true)
			if evNode == nil || len(t.events) == 0 {
				d.errorf(whenNode, "%s: when.event is required (an event type or a glob such as ticket.*)", label)
			}
		}
		if notifyNode == nil {
			d.errorf(item, "%s: notify is required", label)
			continue
		}
		t.notify, nodes = d.notify(notifyNode, label)
		d.checkNotify(&t.notify, find(t.notify.webhook), nodes, notifyNode, label)
		connect(cmpNode(nodes["webhook"], notifyNode), t.notify.webhook, "trigger", label)
		c.triggers = append(c.triggers, t)
	}

	anames := map[string]bool{}
	open("")
	for i, item := range d.list(cfg.Automations, "automations") {
		open("automation")
		a := &automation{where: d.where(item)}
		var notifyNode, everyNode *yaml.Node
		var nodes map[string]*yaml.Node
		for _, p := range d.pairsHint(item, "automation", func(key string, v *yaml.Node) string {
			if key == "event" || key == "events" {
				return "is no key of an automation: its schedule makes its event (automation.NAME); conditions on its data: go in when: {all: [...]}"
			}
			return misplacedKey(key, v)
		}, automationKeys...) {
			switch p.key {
			case "name":
				a.name = d.str(p.val, "automation name")
			case "description":
			case "every", "cron":
				if everyNode != nil {
					d.errorf(p.keyNode, "automation: set every or cron, not both")
				}
				everyNode = p.val
				s, ok := d.scalar(p.val, "automation "+p.key)
				if !ok {
					break // said why: no schedule to parse
				}
				a.spec = s
				if v, err := time.ParseDuration(s); err == nil && p.key == "every" {
					if v < time.Second {
						d.errorf(p.val, "automation every: want at least 1s, got %s", v)
					}
					a.every = v
				} else if v, ok, err := cronEvery(s); ok {
					// Cron's @every is every:, counted from the start.
					switch {
					case err != nil:
						d.errorf(p.val, "automation %s: %v", p.key, err)
					case v < time.Second:
						d.errorf(p.val, "automation %s: @every wants at least 1s, got %s", p.key, v)
					}
					a.every = v
				} else if cs, err := parseCron(s); err == nil {
					a.cron = cs
				} else if p.key == "cron" {
					// cron: takes no duration; do not offer one, but say where
					// one goes when that is what was written.
					hint := ""
					if _, derr := time.ParseDuration(s); derr == nil {
						hint = " (a duration such as 1h goes in every:)"
					}
					d.errorf(p.val, "automation cron: want a cron expression such as \"0 * * * *\"%s: %v", hint, err)
				} else {
					d.errorf(p.val, "automation every: want a duration such as 1h or a cron expression such as \"0 * * * *\": %v", err)
				}
			case "when":
				_, a.cond, a.when, _ = d.when(p.val, "automation", false)
			case "data":
				v := d.value(p.val, "automation data")
				if _, ok := v.(map[string]any); !ok && v != nil {
					d.errorf(p.val, "automation data: want a mapping")
				}
				a.data, _ = json.Marshal(v)
			case "notify":
				notifyNode = p.val
			}
		}
		if resolve(item) == nil || resolve(item).Kind != yaml.MappingNode {
			continue
		}
		if a.name == "" {
			a.name = fmt.Sprintf("automation-%d", i+1)
		}
		label := "automation " + a.name
		named(label)
		if anames[a.name] {
			d.errorf(item, "%s: duplicate name", label)
		}
		anames[a.name] = true
		if everyNode == nil {
			d.errorf(item, "%s: every is required (a duration such as 1h, or a cron expression)", label)
		}
		if len(a.data) == 0 || string(a.data) == "null" {
			a.data = json.RawMessage(`{}`)
		}
		if notifyNode == nil {
			d.errorf(item, "%s: notify is required", label)
			continue
		}
		a.notify, nodes = d.notify(notifyNode, label)
		d.checkNotify(&a.notify, find(a.notify.webhook), nodes, notifyNode, label)
		connect(cmpNode(nodes["webhook"], notifyNode), a.notify.webhook, "automation", label)
		c.automations = append(c.automations, a)
	}

	open("")
	for i, sp := range spans[:len(spans)-1] {
		d.label(d.errs[sp.from:spans[i+1].from], sp.kind, sp.label)
	}
	rules.SortByPlace(file, c.warnings)
	if len(d.errs) > 0 {
		errs := &rules.Errors{List: d.errs}
		slices.SortStableFunc(errs.List, func(a, b rules.Error) int {
			if a.Line != b.Line {
				return a.Line - b.Line
			}
			return a.Col - b.Col
		})
		return c, errs // c for its warnings: check prints them beside the errors
	}
	return c, nil
}

// span is where the errors of one item of a section start, and what
// names the item ("" for none: not a mapping, or between sections).
type span struct {
	from  int
	kind  string // webhook, subscription, trigger, automation
	label string // webhook a, trigger t
}

// label names the item each of errs is in, label (its rules.Error.Rule),
// unless the message names it already ("trigger t notify: ..."):
// "automation cron: ..." becomes "automation n: cron: ...", "timeout:
// ..." of a webhook "webhook a: timeout: ...".
func (d *decoder) label(errs []rules.Error, kind, label string) {
	if label == "" {
		return
	}
	for i := range errs {
		m := errs[i].Msg
		switch {
		case strings.HasPrefix(m, label+" "): // "trigger t notify: ..."
			continue
		case strings.HasPrefix(m, label+":"):
			m = strings.TrimPrefix(m[len(label)+1:], " ")
		case strings.HasPrefix(m, kind+":"):
			m = strings.TrimPrefix(m[len(kind)+1:], " ")
		case strings.HasPrefix(m, kind+" "):
			m = m[len(kind)+1:]
		}
		errs[i].Rule, errs[i].Msg = label, m
	}
}

// checkNotify checks a notify against its webhook's method and format.
func (d *decoder) checkNotify(n *notify, w *Webhook, nodes map[string]*yaml.Node, at *yaml.Node, label string) {
	if w == nil {
		return
	}
	if key, msg := notifyProblem(n, w); msg != "" {
		node := at
		if key != "" {
			node = cmpNode(nodes[key], at)
		}
		d.errorf(node, "%s notify: %s", label, msg)
	}
}

// notifyProblem says why n cannot notify w (its method and format), with
// the notify key at fault ("" for the notify itself); msg is "" when it
// can.
func notifyProblem(n *notify, w *Webhook) (key, msg string) {
	bodyless := w.bodyless()
	switch {
	case bodyless && n.payload != "":
		return "payload", fmt.Sprintf("webhook %s uses %s, which sends no body; use params", w.ID, w.Method)
	case !bodyless && w.Format != FormatForm && len(n.params) > 0:
		return "params", fmt.Sprintf("params are sent with GET and DELETE or with form_encoded webhooks; webhook %s is %s %s, use payload", w.ID, w.Method, w.Format)
	case !bodyless && n.payload != "" && len(n.params) > 0:
		return "params", fmt.Sprintf("webhook %s is form_encoded: give payload or params as its body, not both", w.ID)
	case !bodyless && w.Format != FormatJSON && n.payload == "" && len(n.params) == 0:
		return "", fmt.Sprintf("payload is required for a %s webhook", w.Format)
	case !bodyless && w.Format == FormatXML && n.structured:
		// Its keys are as written (only values are templates): one that
		// is no XML name would fail every delivery.
		if _, err := xmlBody(json.RawMessage(n.payload)); err != nil {
			return "payload", fmt.Sprintf("webhook %s is xml: %v", w.ID, err)
		}
	case !bodyless && w.Format == FormatXML && n.payload != "" && n.template(FormatXML) != nil:
		// A placeholder writes escaped text: if neither some text nor
		// none makes the payload XML, nothing will.
		x, ok := n.template(FormatXML).Sample("x")
		empty, _ := n.template(FormatXML).Sample("")
		if err := checkFormat(FormatXML, x); ok && err != nil && checkFormat(FormatXML, empty) != nil {
			return "payload", fmt.Sprintf("webhook %s is xml, but this payload is never valid XML, whatever its placeholders hold (%v)", w.ID, strings.TrimPrefix(err.Error(), "the rendered payload is not valid XML: "))
		}
	case !bodyless && w.Format == FormatJSON && n.payload != "" && !n.structured && n.template(FormatJSON) != nil:
		if err := n.template(FormatJSON).NeverJSON(); err != nil {
			return "payload", fmt.Sprintf("webhook %s is json, but this payload is %v", w.ID, err)
		}
	}
	return "", ""
}

func cmpNode(a, b *yaml.Node) *yaml.Node {
	if a != nil {
		return a
	}
	return b
}
