package emit

import (
	"encoding/json"
	"net/http"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// Connections is what connects the live config's webhooks to events, for
// reading (GET /api/emit/config, the UI's rules view): its triggers,
// automations and top-level subscriptions, each with where the file
// defines it. Values the config took from the environment show as the
// ${NAME} that gave them, and the values of params, data keys and
// conditions whose names look secret (inspect.IsSecretHeader) as REDACTED.
type Connections struct {
	File          string             `json:"file"`
	Triggers      []TriggerView      `json:"triggers"`
	Automations   []AutomationView   `json:"automations"`
	Subscriptions []SubscriptionView `json:"subscriptions"`
}

// TriggerView is a trigger of the config, for reading.
type TriggerView struct {
	Name   string     `json:"name"`
	Source string     `json:"source"` // file:line
	Events []string   `json:"events"`
	When   any        `json:"when,omitempty"` // its conditions beyond the event type, all and any as written
	Notify NotifyView `json:"notify"`
}

// AutomationView is an automation of the config, for reading.
type AutomationView struct {
	Name     string     `json:"name"`
	Source   string     `json:"source"`
	Schedule string     `json:"schedule"` // a duration (1h) or a cron expression, as written
	When     any        `json:"when,omitempty"`
	Data     any        `json:"data,omitempty"`
	Notify   NotifyView `json:"notify"`
}

// NotifyView is what a trigger or automation sends, and to which webhook.
type NotifyView struct {
	Webhook string      `json:"webhook"`
	Payload string      `json:"payload,omitempty"` // the template; none: the event envelope
	Params  [][2]string `json:"params,omitempty"`  // name and value template, in order
}

// SubscriptionView is a top-level subscription of the config.
type SubscriptionView struct {
	Webhook string   `json:"webhook"`
	Events  []string `json:"events"`
	Source  string   `json:"source"`
}

// WebhookConnections is what connects one webhook to events in the
// config: the top-level subscriptions naming it, and the names of the
// triggers and automations that notify it.
type WebhookConnections struct {
	Subscriptions []SubscriptionView `json:"subscriptions"`
	Triggers      []string           `json:"triggers"`
	Automations   []string           `json:"automations"`
}

// Connections returns the triggers, automations and subscriptions of the
// live config.
func (e *Emitter) Connections() Connections {
	c := e.snap.Load().cfg
	out := Connections{File: c.file, Triggers: []TriggerView{}, Automations: []AutomationView{}, Subscriptions: []SubscriptionView{}}
	secret := e.secretHeader
	for _, t := range c.triggers {
		out.Triggers = append(out.Triggers, TriggerView{
			Name: t.name, Source: t.where, Events: t.events,
			When: shownWhen(t.when, c.env, secret), Notify: shownNotify(&t.notify, c.env, secret),
		})
	}
	for _, a := range c.automations {
		v := AutomationView{
			Name: a.name, Source: a.where, Schedule: c.env.Scrub(a.spec),
			When: shownWhen(a.when, c.env, secret), Notify: shownNotify(&a.notify, c.env, secret),
		}
		if string(a.data) != "{}" {
			v.Data, _ = shownJSON(a.data, c.env, secret)
		}
		out.Automations = append(out.Automations, v)
	}
	for _, s := range c.subs {
		out.Subscriptions = append(out.Subscriptions, SubscriptionView{Webhook: s.webhook, Events: s.events, Source: s.where})
	}
	return out
}

// connectionsOf returns what connects webhook id to events in the live
// config.
func (e *Emitter) connectionsOf(id string) WebhookConnections {
	return connectionsIn(e.snap.Load().cfg, id)
}

// connectionsIn returns what connects webhook id to events in config c.
func connectionsIn(c *config, id string) WebhookConnections {
	out := WebhookConnections{Subscriptions: []SubscriptionView{}, Triggers: []string{}, Automations: []string{}}
	for _, s := range c.subs {
		if s.webhook == id {
			out.Subscriptions = append(out.Subscriptions, SubscriptionView{Webhook: s.webhook, Events: s.events, Source: s.where})
		}
	}
	for _, t := range c.triggers {
		if t.notify.webhook == id {
			out.Triggers = append(out.Triggers, t.name)
		}
	}
	for _, a := range c.automations {
		if a.notify.webhook == id {
			out.Automations = append(out.Automations, a.name)
		}
	}
	return out
}

func (e *Emitter) handleConfig(w http.ResponseWriter, r *http.Request) {
	inspect.WriteJSON(w, http.StatusOK, e.Connections())
}

func shownNotify(n *notify, env *rules.EnvSeen, secret func(string) bool) NotifyView {
	v := NotifyView{Webhook: n.webhook, Payload: env.Scrub(n.payload)}
	if n.structured {
		// A payload written as YAML is JSON: its secret-looking keys'
		// values are REDACTED (and its keys then in sorted order).
		if shown, redacted := shownJSON([]byte(n.payload), env, secret); redacted {
			if b, err := json.Marshal(shown); err == nil {
				v.Payload = string(b)
			}
		}
	}
	for _, p := range n.params {
		val := rules.Redacted
		if !secret(p.key) {
			val = env.Scrub(p.tpl.Source())
		}
		v.Params = append(v.Params, [2]string{p.key, val})
	}
	return v
}

// shownWhen returns the conditions of a when: (all and any, as written)
// as JSON values, redacted; nil for none.
func shownWhen(written json.RawMessage, env *rules.EnvSeen, secret func(string) bool) any {
	if len(written) == 0 {
		return nil
	}
	shown, _ := shownJSON(written, env, secret)
	return shown
}

// shownJSON decodes the JSON b, with the values of secret-looking keys
// (a condition's on a path whose last part looks secret too) REDACTED and
// the environment's values as their references; redacted says whether a
// value was REDACTED.
func shownJSON(b []byte, env *rules.EnvSeen, secret func(string) bool) (shown any, redacted bool) {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, false
	}
	var walk func(v any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if p, ok := x["path"].(string); ok && rules.RedactsCondition(p, secret) {
				for _, k := range rules.CondValueKeys() {
					if _, ok := x[k]; ok {
						x[k] = rules.Redacted
						redacted = true
					}
				}
			}
			for k, val := range x {
				if secret(k) {
					if _, nested := val.(map[string]any); !nested {
						x[k] = rules.Redacted
						redacted = true
						continue
					}
				}
				x[k] = walk(val)
			}
			return x
		case []any:
			for i := range x {
				x[i] = walk(x[i])
			}
			return x
		case string:
			return env.Scrub(x)
		}
		return v
	}
	return walk(v), redacted
}
