package rules

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// The view types below give the config's printed form, shared by YAML
// (Normalized) and JSON (the API): defaults filled in, durations as text,
// secrets redacted, reserved sections as written.

type configView struct {
	Settings      settingsView `yaml:"settings" json:"settings"`
	Mocks         []*Mock      `yaml:"mocks,omitempty" json:"mocks,omitempty"`
	Verify        []*Verify    `yaml:"verify,omitempty" json:"verify,omitempty"`
	Webhooks      *yaml.Node   `yaml:"webhooks,omitempty" json:"-"`
	Triggers      *yaml.Node   `yaml:"triggers,omitempty" json:"-"`
	Automations   *yaml.Node   `yaml:"automations,omitempty" json:"-"`
	Subscriptions *yaml.Node   `yaml:"subscriptions,omitempty" json:"-"`
	Proxies       *yaml.Node   `yaml:"proxies,omitempty" json:"-"`
}

type settingsView struct {
	MaxBody       int64 `yaml:"max_body" json:"max_body"`
	DefaultStatus int   `yaml:"default_status" json:"default_status"`
}

type mockView struct {
	Name         string         `yaml:"name" json:"name"`
	Source       string         `yaml:"-" json:"source,omitempty"`
	Match        *Matcher       `yaml:"match,omitempty" json:"match,omitempty"`
	Respond      *Response      `yaml:"respond,omitempty" json:"respond,omitempty"`
	Sequence     []*Response    `yaml:"sequence,omitempty" json:"sequence,omitempty"`
	SequenceMode SequenceMode   `yaml:"sequence_mode,omitempty" json:"sequence_mode,omitempty"`
	RateLimit    *rateLimitView `yaml:"rate_limit,omitempty" json:"rate_limit,omitempty"`
	Bin          string         `yaml:"bin,omitempty" json:"bin,omitempty"`
	Proxy        string         `yaml:"proxy,omitempty" json:"proxy,omitempty"`
}

type rateLimitView struct {
	Limit  int    `yaml:"limit" json:"limit"`
	Window string `yaml:"window" json:"window"`
}

type responseView struct {
	Status    int                  `yaml:"status" json:"status"`
	Headers   map[string]*Template `yaml:"headers,omitempty" json:"headers,omitempty"`
	Body      *Template            `yaml:"body,omitempty" json:"body,omitempty"`
	File      string               `yaml:"file,omitempty" json:"file,omitempty"`
	Delay     string               `yaml:"delay,omitempty" json:"delay,omitempty"`
	Fault     Fault                `yaml:"fault,omitempty" json:"fault,omitempty"`
	DripRate  int                  `yaml:"drip_rate,omitempty" json:"drip_rate,omitempty"`
	FailRate  float64              `yaml:"fail_rate,omitempty" json:"fail_rate,omitempty"`
	FailFault Fault                `yaml:"fail_fault,omitempty" json:"fail_fault,omitempty"`
}

type verifyView struct {
	Name            string   `yaml:"name" json:"name"`
	Source          string   `yaml:"-" json:"source,omitempty"`
	Match           *Matcher `yaml:"match,omitempty" json:"match,omitempty"`
	Scheme          string   `yaml:"scheme" json:"scheme"`
	Secret          Secret   `yaml:"secret" json:"secret"`
	Tolerance       string   `yaml:"tolerance" json:"tolerance"`
	Reject          bool     `yaml:"reject,omitempty" json:"reject,omitempty"`
	TimestampHeader string   `yaml:"timestamp_header,omitempty" json:"timestamp_header,omitempty"`
}

type matcherView struct {
	Method      any              `yaml:"method,omitempty" json:"method,omitempty"`
	Path        string           `yaml:"path,omitempty" json:"path,omitempty"`
	Bin         string           `yaml:"bin,omitempty" json:"bin,omitempty"`
	Query       map[string]*Cond `yaml:"query,omitempty" json:"query,omitempty"`
	Headers     map[string]*Cond `yaml:"headers,omitempty" json:"headers,omitempty"`
	Body        *Cond            `yaml:"body,omitempty" json:"body,omitempty"`
	JSON        []*JSONCond      `yaml:"json,omitempty" json:"json,omitempty"`
	JSONPartial any              `yaml:"json_partial,omitempty" json:"json_partial,omitempty"`
	Form        map[string]*Cond `yaml:"form,omitempty" json:"form,omitempty"`
	All         []*Matcher       `yaml:"all,omitempty" json:"all,omitempty"`
	Any         []*Matcher       `yaml:"any,omitempty" json:"any,omitempty"`
	Not         *Matcher         `yaml:"not,omitempty" json:"not,omitempty"`
}

type condView struct {
	Equals          *string `yaml:"equals,omitempty" json:"equals,omitempty"`
	Contains        *string `yaml:"contains,omitempty" json:"contains,omitempty"`
	Regex           string  `yaml:"regex,omitempty" json:"regex,omitempty"`
	Present         bool    `yaml:"present,omitempty" json:"present,omitempty"`
	Absent          bool    `yaml:"absent,omitempty" json:"absent,omitempty"`
	CaseInsensitive bool    `yaml:"case_insensitive,omitempty" json:"case_insensitive,omitempty"`
}

type jsonCondView struct {
	Path  string `yaml:"path" json:"path"`
	Op    string `yaml:"op" json:"op"`
	Value any    `yaml:"value,omitempty" json:"value,omitempty"`
}

// Normalized returns the config as YAML with defaults filled in and secrets
// printed as REDACTED, for `hooklab check --print`.
func (c *Config) Normalized() ([]byte, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c.view()); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// MarshalJSON encodes the config like Normalized (secrets redacted), without
// the reserved sections.
func (c *Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.view()) }

func (c *Config) view() configView {
	return configView{
		Settings:      settingsView{MaxBody: c.Settings.MaxBody, DefaultStatus: c.Settings.DefaultStatus},
		Mocks:         c.Mocks,
		Verify:        c.Verify,
		Webhooks:      redactWebhooks(c.Webhooks),
		Triggers:      c.Triggers,
		Automations:   c.Automations,
		Subscriptions: c.Subscriptions,
		Proxies:       c.Proxies,
	}
}

func source(file string, line int) string {
	if file == "" && line == 0 {
		return ""
	}
	return file + ":" + strconv.Itoa(line)
}

func (m *Mock) view() mockView {
	v := mockView{
		Name: m.Name, Source: source(m.File, m.Line), Respond: m.Respond, Sequence: m.Sequence,
		Bin: m.Bin, Proxy: m.Proxy,
	}
	if !m.Match.empty() {
		v.Match = m.Match
	}
	if len(m.Sequence) > 0 {
		v.SequenceMode = m.SequenceMode
	}
	if m.RateLimit != nil {
		v.RateLimit = &rateLimitView{Limit: m.RateLimit.Limit, Window: durationText(m.RateLimit.Window)}
	}
	return v
}

// MarshalYAML encodes the mock in its normalized form.
func (m *Mock) MarshalYAML() (any, error) { return m.view(), nil }

// MarshalJSON encodes the mock in its normalized form, with its source
// ("file:line").
func (m *Mock) MarshalJSON() ([]byte, error) { return json.Marshal(m.view()) }

func (r *Response) view() responseView {
	return responseView{
		Status: r.Status, Headers: r.Headers, Body: r.Body, File: r.File, Delay: r.Delay.String(),
		Fault: r.Fault, DripRate: r.DripRate, FailRate: r.FailRate, FailFault: r.FailFault,
	}
}

// MarshalYAML encodes the response in its normalized form.
func (r *Response) MarshalYAML() (any, error) { return r.view(), nil }

// MarshalJSON encodes the response in its normalized form.
func (r *Response) MarshalJSON() ([]byte, error) { return json.Marshal(r.view()) }

func (v *Verify) view() verifyView {
	out := verifyView{
		Name: v.Name, Source: source(v.File, v.Line), Scheme: v.Scheme, Secret: v.Secret,
		Tolerance: durationText(v.Tolerance), Reject: v.Reject, TimestampHeader: v.TimestampHeader,
	}
	if !v.Match.empty() {
		out.Match = v.Match
	}
	return out
}

// redactWebhooks returns a copy of the webhooks section whose secrets read
// REDACTED: authentication's value, password and token, and signing's
// secret and secrets. The section is kept as written otherwise (the
// emitter parses it).
func redactWebhooks(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	var cp func(n *yaml.Node, parent, key string) *yaml.Node
	cp = func(n *yaml.Node, parent, key string) *yaml.Node {
		c := *n
		c.Content = make([]*yaml.Node, len(n.Content))
		secret := key == "password" || key == "token" || key == "secret" || key == "secrets" ||
			key == "value" && parent == "authentication"
		if secret || parent == "secrets" {
			if c.Kind == yaml.ScalarNode && c.Value != "" {
				c.Value, c.Tag, c.Style = Redacted, "!!str", 0
			}
			if c.Kind == yaml.AliasNode {
				return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: Redacted}
			}
		}
		for i, x := range n.Content {
			switch {
			case n.Kind == yaml.MappingNode && i%2 == 1:
				c.Content[i] = cp(x, key, n.Content[i-1].Value)
			case n.Kind == yaml.SequenceNode && (secret || parent == "secrets"):
				c.Content[i] = cp(x, "secrets", "")
			default:
				c.Content[i] = cp(x, parent, key)
			}
		}
		return &c
	}
	return cp(n, "", "")
}

// MarshalYAML encodes the rule in its normalized form; the secret is
// REDACTED.
func (v *Verify) MarshalYAML() (any, error) { return v.view(), nil }

// MarshalJSON encodes the rule in its normalized form; the secret is
// REDACTED.
func (v *Verify) MarshalJSON() ([]byte, error) { return json.Marshal(v.view()) }

func (m *Matcher) empty() bool {
	return m == nil || (len(m.Method) == 0 && m.Path == "" && m.Bin == "" && len(m.Query) == 0 &&
		len(m.Headers) == 0 && m.Body == nil && len(m.JSON) == 0 && m.JSONPartial == nil &&
		len(m.Form) == 0 && len(m.All) == 0 && len(m.Any) == 0 && m.Not == nil)
}

func (m *Matcher) view() matcherView {
	v := matcherView{
		Path: m.Path, Bin: m.Bin, Query: m.Query, Headers: m.Headers, Body: m.Body, JSON: m.JSON,
		JSONPartial: m.JSONPartial, Form: m.Form, All: m.All, Any: m.Any, Not: m.Not,
	}
	switch len(m.Method) {
	case 0:
	case 1:
		v.Method = m.Method[0]
	default:
		v.Method = m.Method
	}
	return v
}

// MarshalYAML encodes the matcher as it is written in the config.
func (m *Matcher) MarshalYAML() (any, error) { return m.view(), nil }

// MarshalJSON encodes the matcher as it is written in the config.
func (m *Matcher) MarshalJSON() ([]byte, error) { return json.Marshal(m.view()) }

func (c *Cond) simple() bool {
	return c.Equals != nil && c.Contains == nil && c.Regex == "" && !c.Present && !c.Absent && !c.CaseInsensitive
}

func (c *Cond) view() condView {
	return condView{Equals: c.Equals, Contains: c.Contains, Regex: c.Regex, Present: c.Present, Absent: c.Absent, CaseInsensitive: c.CaseInsensitive}
}

// MarshalYAML encodes a plain equality as its value, else as a mapping.
func (c *Cond) MarshalYAML() (any, error) {
	if c.simple() {
		return *c.Equals, nil
	}
	return c.view(), nil
}

// MarshalJSON encodes a plain equality as its value, else as an object.
func (c *Cond) MarshalJSON() ([]byte, error) {
	if c.simple() {
		return json.Marshal(*c.Equals)
	}
	return json.Marshal(c.view())
}

// MarshalYAML encodes the condition as written, with its operator.
func (c *JSONCond) MarshalYAML() (any, error) {
	return jsonCondView{Path: c.Path, Op: c.Op, Value: c.Value}, nil
}

// MarshalJSON encodes the condition as written, with its operator.
func (c *JSONCond) MarshalJSON() ([]byte, error) {
	return json.Marshal(jsonCondView{Path: c.Path, Op: c.Op, Value: c.Value})
}

// durationText formats d compactly: 5m rather than 5m0s.
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
