package rules

import (
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Redacted returns a copy of c for printing (check --print, GET
// /api/rules) in which, beyond what Normalized and MarshalJSON always
// redact (webhook auth values and signing secrets, verify secrets), the
// values of headers that secret names (such as Authorization or X-Api-Key:
// the caller decides, rules cannot know every convention) are REDACTED: in
// mock match conditions and answers, and in webhook custom_headers; and
// the URLs in the webhooks and proxies sections (an endpoint, an upstream)
// are printed as shownURL gives them (the caller's rule: their passwords
// and secret query values REDACTED, as everywhere else hooklab shows
// them), or with their passwords REDACTED when shownURL is nil. The copy
// is for printing only: its mocks do not match as c's do.
func (c *Config) Redacted(secret func(name string) bool, shownURL func(string) string) *Config {
	if c == nil {
		return nil
	}
	out := *c
	out.Mocks = make([]*Mock, len(c.Mocks))
	for i, m := range c.Mocks {
		mc := *m
		mc.Match = redactMatcher(m.Match, secret)
		mc.Respond = redactResponse(m.Respond, secret)
		if m.Sequence != nil {
			mc.Sequence = make([]*Response, len(m.Sequence))
			for j, r := range m.Sequence {
				mc.Sequence[j] = redactResponse(r, secret)
			}
		}
		out.Mocks[i] = &mc
	}
	if shownURL == nil {
		shownURL = redactURLPassword
	}
	out.Webhooks = redactNode(c.Webhooks, secret, shownURL)
	out.Proxies = redactNode(c.Proxies, secret, shownURL)
	out.Triggers = redactNotifyNode(c.Triggers, secret)
	out.Automations = redactNotifyNode(c.Automations, secret)
	return &out
}

// RedactsCondition reports whether a condition on path (ticket.api_key)
// has its value shown REDACTED, and CondValueKeys are the keys that hold
// it. GET /api/emit/config and check --print redact by these, and by the
// secret names of keys, alike.
func RedactsCondition(path string, secret func(string) bool) bool {
	return secret(path[strings.LastIndexAny(path, ".#")+1:])
}

// CondValueKeys are the keys of a condition that hold what it compares
// with (see RedactsCondition).
func CondValueKeys() []string { return []string{"value", "values", "equals", "contains", "regex"} }

// redactNotifyNode copies a triggers or automations section with the
// values (not mappings) of keys that secret names (access_token, password)
// REDACTED, at any depth (params, data, a payload written as YAML), and
// the values of a condition on such a path (RedactsCondition). A value
// the file takes from ${NAME} is printed as ${NAME}, the file's text.
func redactNotifyNode(n *yaml.Node, secret func(string) bool) *yaml.Node {
	if n == nil {
		return nil
	}
	var cp func(n *yaml.Node) *yaml.Node
	cp = func(n *yaml.Node) *yaml.Node {
		c := *n
		if n.Kind == yaml.ScalarNode {
			return &c
		}
		c.Content = make([]*yaml.Node, len(n.Content))
		condOnSecret := false
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == "path" && n.Content[i+1].Kind == yaml.ScalarNode {
					condOnSecret = RedactsCondition(n.Content[i+1].Value, secret)
				}
			}
		}
		for i, x := range n.Content {
			if n.Kind == yaml.MappingNode && i%2 == 1 {
				key := n.Content[i-1].Value
				if secret(key) && x.Kind != yaml.MappingNode || condOnSecret && slices.Contains(CondValueKeys(), key) && x.Kind != yaml.MappingNode {
					c.Content[i] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: Redacted}
					continue
				}
			}
			c.Content[i] = cp(x)
		}
		return &c
	}
	return cp(n)
}

// redactedCond stands for a condition on a secret header's value.
func redactedCond(c *Cond) *Cond {
	r := Redacted
	out := &Cond{Present: c.Present, Absent: c.Absent, CaseInsensitive: c.CaseInsensitive}
	if c.Equals != nil {
		out.Equals = &r
	}
	if c.Contains != nil {
		out.Contains = &r
	}
	if c.Regex != "" {
		out.Regex = Redacted
	}
	return out
}

func redactMatcher(m *Matcher, secret func(string) bool) *Matcher {
	if m == nil {
		return nil
	}
	mc := *m
	if len(m.Headers) > 0 {
		mc.Headers = make(map[string]*Cond, len(m.Headers))
		for name, cond := range m.Headers {
			if secret(name) && cond != nil {
				cond = redactedCond(cond)
			}
			mc.Headers[name] = cond
		}
	}
	redactList := func(list []*Matcher) []*Matcher {
		if list == nil {
			return nil
		}
		out := make([]*Matcher, len(list))
		for i, x := range list {
			out[i] = redactMatcher(x, secret)
		}
		return out
	}
	mc.All, mc.Any, mc.Not = redactList(m.All), redactList(m.Any), redactMatcher(m.Not, secret)
	return &mc
}

func redactResponse(r *Response, secret func(string) bool) *Response {
	if r == nil || len(r.Headers) == 0 {
		return r
	}
	rc := *r
	rc.Headers = make(map[string]*Template, len(r.Headers))
	for name, t := range r.Headers {
		if secret(name) && t != nil {
			t = &Template{src: Redacted}
		}
		rc.Headers[name] = t
	}
	return &rc
}

// redactNode copies a section kept as YAML, with the values of secret
// custom headers REDACTED and each scalar that holds a URL as shownURL
// gives it.
func redactNode(n *yaml.Node, secret func(string) bool, shownURL func(string) string) *yaml.Node {
	if n == nil {
		return nil
	}
	var cp func(n *yaml.Node, inHeaders bool) *yaml.Node
	cp = func(n *yaml.Node, inHeaders bool) *yaml.Node {
		c := *n
		if c.Kind == yaml.ScalarNode {
			if isURL(c.Value) {
				c.Value = shownURL(c.Value)
			}
			return &c
		}
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, x := range n.Content {
			if n.Kind == yaml.MappingNode && i%2 == 1 {
				key := n.Content[i-1].Value
				if inHeaders && secret(key) && x.Kind == yaml.ScalarNode {
					c.Content[i] = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: Redacted}
					continue
				}
				c.Content[i] = cp(x, key == "custom_headers" || key == "add" && inHeaders || key == "request_headers" || key == "response_headers")
				continue
			}
			c.Content[i] = cp(x, false)
		}
		return &c
	}
	return cp(n, false)
}

// isURL reports whether s is one URL (scheme://, no spaces), as an
// endpoint or an upstream is, and not text with a URL in it (a payload).
func isURL(s string) bool {
	i := strings.Index(s, "://")
	if i <= 0 || strings.ContainsAny(s, " \t\r\n") {
		return false
	}
	for _, r := range s[:i] {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '+' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// redactURLPassword replaces the password of a URL's user info.
func redactURLPassword(s string) string {
	if !strings.Contains(s, "@") || !strings.Contains(s, "://") {
		return s
	}
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, ok := u.User.Password(); !ok {
		return s
	}
	u.User = url.UserPassword(u.User.Username(), Redacted)
	return u.String()
}
