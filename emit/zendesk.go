package emit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
//     ("zen:event-type:ticket.created") stay as written;
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
			for _, s := range subs {
				if !strings.HasPrefix(s, "conditional_") {
					kept = append(kept, s)
				}
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

// definitionOf unwraps {"webhook": {...}} (with GET's "circuit",
// "circuit_until" and "connections" beside it, or not) and rewrites Zendesk's names into
// hooklab's.
func definitionOf(body []byte) ([]byte, error) {
	var wrap map[string]json.RawMessage
	if json.Unmarshal(body, &wrap) == nil {
		extra := 0
		for _, k := range []string{"circuit", "circuit_until", "connections"} {
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
