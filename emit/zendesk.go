package emit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// fromZendeskShape rewrites a webhook definition written the way Zendesk's
// Webhooks API takes one into hooklab's names, so that the body of a call
// to Zendesk can be sent to POST /api/webhooks (or /validate, or a PATCH)
// as it is:
//   - http_method is method, request_format is format;
//   - authentication {type, data: {...}, add_position: "header"} is
//     authentication {type, ...data}: data's name and value (api_key),
//     username and password (basic_auth), token (bearer_token);
//   - signing_secret {algorithm: "SHA256", secret} is signing {scheme:
//     zendesk, secret};
//   - subscriptions "conditional_ticket_events" and the like say that the
//     webhook is connected to triggers or automations, which is what a
//     webhook with no subscriptions is: they are dropped. Event types
//     ("zen:event-type:ticket.created") stay as written; both together
//     are an error, as in Zendesk;
//   - the read-only created_by, updated_by and external_source are dropped.
//
// def is a JSON object; anything else, and a definition that uses neither
// shape's names, comes back unchanged for the usual decoding to judge. A
// name given both ways (method and http_method) is an error.
func fromZendeskShape(def []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if json.Unmarshal(def, &m) != nil || m == nil {
		return def, nil
	}
	changed := false
	for _, names := range [][2]string{{"http_method", "method"}, {"request_format", "format"}} {
		zd, hl := names[0], names[1]
		v, ok := m[zd]
		if !ok {
			continue
		}
		if _, both := m[hl]; both {
			return nil, inputError(zd, fmt.Sprintf("%s and %s are the same field, in Zendesk's name and hooklab's: give one", zd, hl))
		}
		m[hl] = v
		delete(m, zd)
		changed = true
	}
	for _, k := range []string{"created_by", "updated_by", "external_source"} {
		if _, ok := m[k]; ok {
			delete(m, k)
			changed = true
		}
	}
	if raw, ok := m["authentication"]; ok {
		auth, err := zendeskAuth(raw)
		if err != nil {
			return nil, err
		}
		if auth != nil {
			m["authentication"], changed = auth, true
		}
	}
	if raw, ok := m["signing_secret"]; ok {
		if _, both := m["signing"]; both {
			return nil, inputError("signing_secret", "signing_secret (Zendesk's name) and signing are both given: give one")
		}
		var s struct {
			Algorithm string `json:"algorithm"`
			Secret    string `json:"secret"`
		}
		if err := inspect.DecodeJSONBody(raw, &s); err != nil {
			msg := err.Error()
			if ie := (*inspect.InputError)(nil); errors.As(err, &ie) {
				msg = strings.TrimPrefix(ie.Field+": "+ie.Msg, ": ")
			}
			return nil, inputError("signing_secret", `want {"algorithm": "SHA256", "secret": "..."}: `+msg)
		}
		if s.Algorithm != "" && !strings.EqualFold(s.Algorithm, "SHA256") {
			return nil, inputError("signing_secret.algorithm", fmt.Sprintf("Zendesk signs with SHA256; got %q", s.Algorithm))
		}
		sig, err := json.Marshal(Signing{Scheme: rules.SchemeZendesk, Secret: s.Secret})
		if err != nil {
			return nil, err
		}
		m["signing"] = sig
		delete(m, "signing_secret")
		changed = true
	}
	if raw, ok := m["subscriptions"]; ok {
		var subs []string
		if json.Unmarshal(raw, &subs) == nil {
			kept := subs[:0:0]
			conditional := ""
			for _, s := range subs {
				if strings.HasPrefix(s, "conditional_") {
					conditional = s
				} else {
					kept = append(kept, s)
				}
			}
			if conditional != "" && len(kept) > 0 {
				// Both connection methods: Zendesk refuses it, and
				// dropping either would make a webhook not asked for.
				return nil, inputError("subscriptions", fmt.Sprintf("%s connects the webhook to triggers and automations, and %s subscribes it to events: a webhook is connected one way or the other, never both; give one", conditional, kept[0]))
			}
			if len(kept) != len(subs) {
				changed = true
				if len(kept) == 0 {
					delete(m, "subscriptions")
				} else {
					m["subscriptions"], _ = json.Marshal(kept) // strings marshal
				}
			}
		}
	}
	if !changed {
		return def, nil
	}
	return json.Marshal(m)
}

// zendeskAuth rewrites Zendesk's {type, data, add_position} into hooklab's
// flat authentication, or returns nil when raw has neither data nor
// add_position (hooklab's own shape, or something for decoding to refuse).
func zendeskAuth(raw json.RawMessage) (json.RawMessage, error) {
	var a map[string]json.RawMessage
	if json.Unmarshal(raw, &a) != nil || a == nil {
		return nil, nil
	}
	data, hasData := a["data"]
	pos, hasPos := a["add_position"]
	if !hasData && !hasPos {
		return nil, nil
	}
	if hasPos {
		var p string
		if json.Unmarshal(pos, &p) != nil || p != "header" {
			return nil, inputError("authentication.add_position", fmt.Sprintf(`only "header" is supported, as in Zendesk; got %s`, bytes.TrimSpace(pos)))
		}
		delete(a, "add_position")
	}
	if hasData {
		var d map[string]json.RawMessage
		if err := json.Unmarshal(data, &d); err != nil {
			return nil, inputError("authentication.data", "want an object such as {\"username\": ..., \"password\": ...}")
		}
		delete(a, "data")
		for k, v := range d {
			if _, both := a[k]; both {
				return nil, inputError("authentication.data."+k, fmt.Sprintf("%s is given both in data and beside it: give it once", k))
			}
			a[k] = v
		}
	}
	return json.Marshal(a)
}

// decodeDefinition reads the body of POST /api/webhooks and
// /api/webhooks/validate into def: hooklab's definition, the same wrapped
// as GET answers it ({"webhook": {...}}), or Zendesk's (see
// fromZendeskShape), unwrapped and rewritten before it is decoded.
func decodeDefinition(r *http.Request, def *Webhook) error {
	var raw json.RawMessage
	if err := decodeBody(r, &raw, maxDefinitionBody); err != nil {
		return err
	}
	if len(raw) == 0 {
		raw = json.RawMessage(`{}`)
	}
	body, err := definitionOf(raw)
	if err != nil {
		return fieldError(err)
	}
	return fieldError(inspect.DecodeJSONBody(body, def))
}

// definitionOf unwraps {"webhook": {...}} (with GET's "circuit", "warnings",
// "circuit_until" and "connections" beside it, or not) and rewrites Zendesk's names into
// hooklab's.
func definitionOf(body []byte) ([]byte, error) {
	var wrap map[string]json.RawMessage
	if json.Unmarshal(body, &wrap) == nil {
		extra := 0
		for _, k := range []string{"circuit", "circuit_until", "connections", "warnings"} {
			if _, ok := wrap[k]; ok {
				extra++
			}
		}
		if def, ok := wrap["webhook"]; ok && len(wrap) == 1+extra {
			body = def
		}
	}
	return fromZendeskShape(body)
}

// inputError is a value of the definition that does not fit, naming its
// field, answered as the webhook's validation errors are.
func inputError(field, msg string) error { return &inspect.InputError{Field: field, Msg: msg} }

// zendeskTestKeys are the fields of Zendesk's Test Webhook request
// ({"request": {...}}) that describe the webhook; the others
// (zendeskTestSendKeys) what to send.
var (
	zendeskTestKeys     = []string{"endpoint", "http_method", "request_format", "authentication", "custom_headers"}
	zendeskTestSendKeys = []string{"payload", "params", "headers"}
)

// testRequestOf rewrites the body of a test send written as Zendesk's
// Test Webhook API takes it, {"request": {"endpoint", "http_method",
// "request_format", "authentication", "payload", ...}}, into hooklab's
// TestRequest: the webhook's fields go in webhook (see fromZendeskShape),
// payload, params and headers stay, and params and headers given as
// Zendesk lists them, [{"key": ..., "value": ...}], become hooklab's
// pairs and object. saved says the test is of a saved webhook, which is
// tested as it is: a request that describes a webhook is refused there.
// A body without request comes back unchanged.
func testRequestOf(body []byte, saved bool) ([]byte, error) {
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return body, nil
	}
	zr, ok := top["request"]
	if !ok {
		return body, nil
	}
	if len(top) > 1 {
		return nil, inputError("request", "request is a test send as Zendesk writes it; give it alone, or hooklab's webhook, payload, params and headers, not both")
	}
	var req map[string]json.RawMessage
	if err := json.Unmarshal(zr, &req); err != nil || req == nil {
		return nil, inputError("request", `want an object such as {"endpoint": "https://example.com/hook", "http_method": "POST", "request_format": "json", "payload": "{\"a\": 1}"}`)
	}
	out := map[string]json.RawMessage{}
	def := map[string]json.RawMessage{}
	for _, k := range sortedKeys(req) {
		v := req[k]
		switch {
		case slices.Contains(zendeskTestKeys, k):
			if saved {
				return nil, inputError("request."+k, "a saved webhook is tested as it is; give only "+strings.Join(zendeskTestSendKeys, ", ")+
					" (what to send), or the whole definition to POST /api/webhooks/test without a webhook_id")
			}
			def[k] = v
		case k == "params" || k == "headers":
			conv, err := fromKeyValues(v, k == "headers")
			if err != nil {
				return nil, inputError("request."+k, err.Error())
			}
			out[k] = conv
		case k == "payload":
			out[k] = v
		default:
			return nil, inputError("request."+k, "unknown field; a test send's request takes "+strings.Join(append(slices.Clone(zendeskTestKeys), zendeskTestSendKeys...), ", "))
		}
	}
	if len(def) > 0 {
		d, err := json.Marshal(def)
		if err != nil {
			return nil, err
		}
		if out["webhook"], err = fromZendeskShape(d); err != nil {
			var ie *inspect.InputError
			if errors.As(err, &ie) {
				return nil, inputError("request."+ie.Field, ie.Msg)
			}
			return nil, err
		}
	}
	return json.Marshal(out)
}

// fromKeyValues rewrites Zendesk's [{"key": "id", "value": "7"}] as
// hooklab's params ([["id", "7"]]) or, for headers, its object ({"id":
// "7"}, where a name given twice is refused). Any other value comes back
// unchanged, for TestRequest's own decoding to judge.
func fromKeyValues(raw json.RawMessage, headers bool) (json.RawMessage, error) {
	var list []map[string]json.RawMessage
	if json.Unmarshal(raw, &list) != nil || len(list) == 0 {
		return raw, nil
	}
	pairs := make([][2]string, 0, len(list))
	for i, kv := range list {
		if _, ok := kv["key"]; !ok {
			return raw, nil // not Zendesk's form
		}
		var p [2]string
		if len(kv) != 2 || json.Unmarshal(kv["key"], &p[0]) != nil || json.Unmarshal(kv["value"], &p[1]) != nil {
			return nil, fmt.Errorf(`item %d: want {"key": "name", "value": "text"}, both strings`, i)
		}
		pairs = append(pairs, p)
	}
	if !headers {
		return json.Marshal(pairs)
	}
	m := map[string]string{}
	for _, p := range pairs {
		if _, twice := m[p[0]]; twice {
			return nil, fmt.Errorf("header %s is given twice", p[0])
		}
		m[p[0]] = p[1]
	}
	return json.Marshal(m)
}
