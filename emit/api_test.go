package emit

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

type apiClient struct {
	t    *testing.T
	base string
}

// do sends a JSON request and decodes the answer into out (when not nil);
// it returns the status and the raw body.
func (c apiClient) do(method, path string, body any, out any) (int, string) {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		if s, ok := body.(string); ok {
			r = strings.NewReader(s)
		} else {
			b, _ := json.Marshal(body)
			r = bytes.NewReader(b)
		}
	}
	req, _ := http.NewRequest(method, c.base+path, r)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode, string(raw)
}

func TestAPI(t *testing.T) {
	t.Parallel()
	s := newSink(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/fail" {
			w.WriteHeader(500)
			return
		}
		w.Header().Set("X-Receiver", "yes")
		io.WriteString(w, `{"ok": true}`)
	})
	te := newEnv(t, "webhooks:\n  - id: from-file\n    endpoint: https://example.com/f\n", nil)
	c := te.api()

	// A validation error names the field and lists every problem.
	var verr struct {
		Error  string       `json:"error"`
		Field  string       `json:"field"`
		Errors []FieldError `json:"errors"`
	}
	code, _ := c.do("POST", "/api/webhooks", `{"endpoint": "https://example.com", "custom_headers": {"X-Forwarded-For": "1.2.3.4", "X-Ok": "y"}, "method": "FETCH"}`, &verr)
	if code != 400 || verr.Field != "method" || len(verr.Errors) != 2 ||
		verr.Errors[1].Field != "custom_headers.X-Forwarded-For" || verr.Errors[1].Msg != "header names starting with x-forwarded are reserved" {
		t.Errorf("validation answer %d %+v", code, verr)
	}
	// The dry run gives the very same answer, and stores nothing.
	bad := `{"endpoint": "https://example.com", "custom_headers": {"X-Forwarded-For": "1.2.3.4", "X-Ok": "y"}, "method": "FETCH"}`
	_, createRaw := c.do("POST", "/api/webhooks", bad, nil)
	code, dryRaw := c.do("POST", "/api/webhooks/validate", bad, nil)
	if code != 400 || dryRaw != createRaw {
		t.Errorf("validate answered %d %s, create %s", code, dryRaw, createRaw)
	}
	var dry struct {
		OK       bool         `json:"ok"`
		Warnings []FieldError `json:"warnings"`
	}
	code, dryRaw = c.do("POST", "/api/webhooks/validate", `{"id": "dry", "endpoint": "http://127.0.0.1:1/x", "custom_headers": {"X-Team": "a"}}`, &dry)
	if code != 200 || !dry.OK || len(dry.Warnings) != 1 || dry.Warnings[0].Field != "custom_headers" {
		t.Errorf("validate of a good webhook: %d %s", code, dryRaw)
	}
	if code, _ := c.do("GET", "/api/webhooks/dry", nil, nil); code != 404 {
		t.Errorf("validate stored the webhook: GET answered %d", code)
	}
	// A value of the wrong kind names its field too.
	for body, field := range map[string]string{
		`{"endpoint": "https://example.com", "timeout": "soon"}`:                    "timeout",
		`{"endpoint": "https://example.com", "rate_limit": "lots"}`:                 "rate_limit",
		`{"endpoint": "https://example.com", "rate_limit": {"limit": 1, "per": 2}}`: "rate_limit",
		`{"endpoint": "https://example.com", "rate_limit": {"window": "x"}}`:        "rate_limit.window",
		`{"endpoint": "https://example.com", "retry": {"max_attempts": "3"}}`:       "retry.max_attempts",
		`{"endpoint": "https://example.com", "timeout": "1ns"}`:                     "timeout",
		`{"endpoint": "https://example.com", "max_payload": "lots"}`:                "max_payload",
		`{"endpoint": "https://example.com", "max_payload": 1.5}`:                   "max_payload",
		// 0 attempts is out of range, not the default (as in the config).
		`{"endpoint": "https://example.com", "retry": {"max_attempts": 0}}`: "retry.max_attempts",
		`{"endpoint": "https://example.com", "retry": {"initial": "soon"}}`: "retry.initial",
	} {
		code, raw := c.do("POST", "/api/webhooks", body, &verr)
		if code != 400 || verr.Field != field {
			t.Errorf("%s: %d %s, want a 400 naming %s", body, code, raw, field)
		}
		if strings.Contains(body, `"max_attempts": 0`) && !strings.Contains(verr.Error, "got 0") {
			t.Errorf("%s: %s, want it to say it got 0", body, raw)
		}
	}
	// A number of seconds past what a duration holds is refused as such,
	// not turned into a negative duration (or, on arm64, 292 years).
	if code, raw := c.do("POST", "/api/webhooks", `{"endpoint": "https://example.com", "circuit_breaker": {"cooldown": 1e10}}`, &verr); code != 400 || verr.Field != "circuit_breaker.cooldown" || !strings.Contains(verr.Error, "1e10") {
		t.Errorf("a cooldown of 1e10 seconds: %d %s, want a 400 naming circuit_breaker.cooldown and 1e10", code, raw)
	}
	if code, raw := c.do("POST", "/api/webhooks", `{"endpoint": "https://example.com", "retry": {"tries": 3}}`, &verr); code != 400 || !strings.Contains(verr.Error, `unknown field "tries"`) || verr.Field != "retry.tries" {
		t.Errorf("an unknown retry field: %d %s", code, raw)
	}
	// A list's item that does not decode is named by its index and
	// quoted, as the config file's errors point at the item: the field
	// was the list, and a type error did not say what it got.
	for _, tc := range []struct{ path, body, field, msg string }{
		{"/api/webhooks", `{"endpoint": "https://example.com", "retry": {"statuses": [500, "abc"]}}`, "retry.statuses.1", `want an integer, got "abc"`},
		{"/api/webhooks", `{"endpoint": "https://example.com", "retry": {"schedule": ["5s", "10x", "1m"]}}`, "retry.schedule.1", `got "10x"`},
		{"/api/webhooks/validate", `{"endpoint": "https://example.com", "subscriptions": ["ticket.*", 7]}`, "subscriptions.1", "want a string, got 7"},
		// And the field is the body's: it was plain.statuses, the name
		// of a type inside hooklab.
		{"/api/invocations/retry", `{"statuses": ["failed", 3]}`, "statuses.1", "want a string, got 3"},
	} {
		if code, raw := c.do("POST", tc.path, tc.body, &verr); code != 400 || verr.Field != tc.field || !strings.Contains(verr.Error, tc.msg) {
			t.Errorf("POST %s %s: %d %s, want field %s and %q", tc.path, tc.body, code, raw, tc.field, tc.msg)
		}
	}
	// The config file's rotation list is no field of the API: the error
	// says what the API takes instead, wherever a definition goes.
	for _, req := range [][3]string{
		{"POST", "/api/webhooks", `{"endpoint": "https://example.com", "signing": {"scheme": "stripe", "secrets": ["whsec_new", "whsec_old"]}}`},
		{"POST", "/api/webhooks/validate", `{"endpoint": "https://example.com", "signing": {"secrets": ["a"]}}`},
		{"POST", "/api/webhooks/test", `{"webhook": {"endpoint": "https://example.com", "signing": {"secrets": ["a"]}}}`},
	} {
		code, raw := c.do(req[0], req[1], req[2], &verr)
		if code != 400 || !strings.HasSuffix(verr.Field, "signing.secrets") ||
			!strings.Contains(verr.Error, `unknown field "secrets": secrets is the config file's key (a rotation, the new secret first); through the API a webhook has one signing secret, signing.secret, and POST /api/webhooks/{id}/signing_secret rotates it`) {
			t.Errorf("%s %s with signing.secrets: %d %s", req[0], req[1], code, raw)
		}
	}
	if code, raw := c.do("POST", "/api/webhooks", `{"endpoint": "https://example.com", "authentication": {"type": "basic_auth", "usernme": "a"}}`, &verr); code != 400 || verr.Field != "authentication.usernme" {
		t.Errorf("an unknown authentication field: %d %s, want field authentication.usernme", code, raw)
	}
	if code, raw := c.do("POST", "/api/invocations/retry", `{"from": "yesterday"}`, &verr); code != 400 || verr.Field != "from" {
		t.Errorf("bulk retry from yesterday: %d %s", code, raw)
	}
	// What can never match is said, not answered "0 redelivered".
	if code, raw := c.do("POST", "/api/invocations/retry", `{"statuses": ["failed", "pending"]}`, &verr); code != 400 || verr.Field != "statuses.1" {
		t.Errorf("bulk retry of pending: %d %s", code, raw)
	}
	if code, raw := c.do("GET", "/api/invocations?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z", nil, &verr); code != 400 || verr.Field != "from" || !strings.Contains(verr.Error, "is after to") {
		t.Errorf("list with from after to: %d %s", code, raw)
	}
	if code, raw := c.do("POST", "/api/invocations/retry", `{"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"}`, &verr); code != 400 || verr.Field != "from" || !strings.Contains(verr.Error, "is after to") {
		t.Errorf("bulk retry from after to: %d %s", code, raw)
	}
	// A body over the limit is a 413, as it is for POST /api/events.
	big := `{"description": "` + strings.Repeat("x", maxDefinitionBody) + `"}`
	for _, req := range [][2]string{{"POST", "/api/webhooks"}, {"PATCH", "/api/webhooks/x"}} {
		if code, raw := c.do(req[0], req[1], big, nil); code != http.StatusRequestEntityTooLarge {
			t.Errorf("%s of %d bytes: %d %.200s", req, len(big), code, raw)
		}
	}
	if code, raw := c.do("GET", "/api/webhooks", nil, nil); code != 200 || !strings.Contains(raw, `"warnings":[]`) {
		t.Errorf("list without warnings should say [] (not null): %s", raw)
	}
	code, raw := c.do("POST", "/api/webhooks", `{"endpoint": "https://example.com", "bogus": 1}`, nil)
	if code != 400 || !strings.Contains(raw, "bogus") {
		t.Errorf("unknown field: %d %s", code, raw)
	}

	// Create: secrets come back redacted.
	var created struct {
		Webhook  Webhook      `json:"webhook"`
		Warnings []FieldError `json:"warnings"`
	}
	def := `{"id": "bot", "name": "Bot", "endpoint": "` + s.URL + `/in", "authentication": {"type": "basic_auth", "username": "u", "password": "pw-s3cret"},
		"custom_headers": {"X-Team": "support", "X-Api-Key": "key-s3cret"}, "subscriptions": ["ticket.*"]}`
	code, raw = c.do("POST", "/api/webhooks", def, &created)
	if code != 201 || created.Webhook.Authentication.Password != rules.Redacted || created.Webhook.Signing.Secret != rules.Redacted ||
		created.Webhook.Signing.Scheme != rules.SchemeZendesk || created.Webhook.Source != SourceAPI {
		t.Fatalf("create: %d %s", code, raw)
	}
	if len(created.Warnings) != 2 || created.Warnings[0].Field != "custom_headers" || created.Warnings[1].Field != "authentication" {
		t.Errorf("warnings = %+v, want the plain-HTTP ones (custom headers, credentials)", created.Warnings)
	}
	if strings.Contains(raw, "pw-s3cret") {
		t.Errorf("create answer shows the password: %s", raw)
	}
	code, raw = c.do("POST", "/api/webhooks", `{"id": "from-file", "endpoint": "https://example.com"}`, &verr)
	if code != 400 || verr.Field != "id" || !strings.Contains(verr.Error, "defined in hooklab.yaml:2") {
		t.Errorf("duplicate of a config id: %d %s", code, raw)
	}

	var list struct{ Webhooks []Webhook }
	code, raw = c.do("GET", "/api/webhooks", nil, &list)
	if code != 200 || len(list.Webhooks) != 2 || list.Webhooks[0].ID != "from-file" || list.Webhooks[1].ID != "bot" || strings.Contains(raw, "pw-s3cret") {
		t.Errorf("list: %d %s", code, raw)
	}
	if code, raw := c.do("PATCH", "/api/webhooks/bot", `{"signing": {"secrets": ["a"]}}`, &verr); code != 400 || verr.Field != "signing.secrets" || !strings.Contains(verr.Error, "secrets is the config file's key") {
		t.Errorf("PATCH with signing.secrets: %d %s", code, raw)
	}
	// The list gives an API webhook's warnings as it gives a config one's.
	var warned struct{ Warnings []string }
	c.do("GET", "/api/webhooks", nil, &warned)
	if want := []string{
		"webhook bot (made through the API): custom_headers: custom headers are sent in the clear to a plain-HTTP endpoint; use https",
		"webhook bot (made through the API): authentication: basic_auth credentials are sent in the clear to a plain-HTTP endpoint; use https",
	}; !slices.Equal(warned.Warnings, want) {
		t.Errorf("list warnings %q, want %q", warned.Warnings, want)
	}

	var sec struct {
		SigningSecret SigningSecret `json:"signing_secret"`
	}
	c.do("GET", "/api/webhooks/bot/signing_secret", nil, &sec)
	first := sec.SigningSecret.Secret
	if sec.SigningSecret.Scheme != rules.SchemeZendesk || len(first) < 40 {
		t.Errorf("signing secret = %+v", sec)
	}
	c.do("POST", "/api/webhooks/bot/signing_secret", nil, &sec)
	if sec.SigningSecret.Secret == first || sec.SigningSecret.Secret == "" {
		t.Errorf("rotation kept %q", first)
	}
	rotated := sec.SigningSecret.Secret
	code, raw = c.do("POST", "/api/webhooks/from-file/signing_secret", nil, &verr)
	if code != 400 || !strings.Contains(verr.Error, "is defined in hooklab.yaml:2; change it there") {
		t.Errorf("rotate a config webhook: %d %s", code, raw)
	}

	// PATCH: REDACTED keeps the password; other fields change.
	code, raw = c.do("PATCH", "/api/webhooks/bot", `{"name": "Bot 2", "authentication": {"password": "REDACTED"}}`, &created)
	if code != 200 || created.Webhook.Name != "Bot 2" {
		t.Fatalf("patch: %d %s", code, raw)
	}
	// A webhook read back (secrets REDACTED, stats included) can be sent
	// back as it is, and keeps its secrets.
	var read struct{ Webhook json.RawMessage }
	c.do("GET", "/api/webhooks/bot", nil, &read)
	if code, raw := c.do("PATCH", "/api/webhooks/bot", string(read.Webhook), &created); code != 200 || created.Webhook.Name != "Bot 2" {
		t.Errorf("patch with the webhook as read: %d %s\nsent %s", code, raw, read.Webhook)
	}
	// So can GET's whole answer, circuit and all (it was a 400: unknown
	// field "circuit").
	_, whole := c.do("GET", "/api/webhooks/bot", nil, nil)
	whole = strings.Replace(whole, `"name":"Bot 2"`, `"name":"Bot 3"`, 1)
	if code, raw := c.do("PATCH", "/api/webhooks/bot", whole, &created); code != 200 || created.Webhook.Name != "Bot 3" {
		t.Errorf("patch with GET's answer: %d %s\nsent %s", code, raw, whole)
	}
	// REDACTED keeps a stored secret; with none stored, it is no secret.
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "noauth", "endpoint": "https://example.com/n"}`, nil); code != 201 {
		t.Fatalf("create noauth: %d %s", code, raw)
	}
	if code, _ := c.do("PATCH", "/api/webhooks/noauth", `{"authentication": {"type": "bearer_token", "token": "REDACTED"}}`, &verr); code != 400 || !strings.Contains(verr.Error, "stands for a stored secret") || strings.Contains(verr.Error, "signing.secret") {
		t.Errorf("PATCH a REDACTED token with none stored: %d %+v", code, verr)
	}
	// Switching the authentication type drops the old type's secrets: a
	// basic_auth password must not stay stored behind a bearer token.
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "switch", "endpoint": "https://example.com/s", "authentication": {"type": "basic_auth", "username": "u", "password": "old-pw"}}`, nil); code != 201 {
		t.Fatalf("create switch: %d %s", code, raw)
	}
	if code, raw := c.do("PATCH", "/api/webhooks/switch", `{"authentication": {"type": "bearer_token", "token": "tok"}}`, nil); code != 200 {
		t.Fatalf("switch auth: %d %s", code, raw)
	}
	var switched struct{ Webhook Webhook }
	c.do("GET", "/api/webhooks/switch", nil, &switched)
	if a := switched.Webhook.Authentication; a == nil || a.Type != AuthBearer || a.Username != "" || a.Password != "" || a.Token != rules.Redacted {
		t.Errorf("after switching to bearer_token, authentication = %+v; want the token only", a)
	}
	// REDACTED for a secret of a kind this webhook never had (bearer, on
	// a basic_auth one) says so, not that the token is missing.
	if code, _ := c.do("PATCH", "/api/webhooks/switch", `{"authentication": {"type": "api_key", "name": "X-Key", "value": "REDACTED"}}`, &verr); code != 400 || !strings.Contains(verr.Error, "stands for a stored secret") {
		t.Errorf("PATCH to api_key with value REDACTED: %d %+v", code, verr)
	}
	// REDACTED is no secret for a new webhook.
	for _, body := range []string{`{"id": "r1", "endpoint": "https://example.com", "authentication": {"type": "bearer_token", "token": "REDACTED"}}`,
		`{"id": "r2", "endpoint": "https://example.com", "signing": {"scheme": "zendesk", "secret": "REDACTED"}}`,
		`{"id": "r3", "endpoint": "https://example.com", "custom_headers": {"X-Api-Key": "REDACTED"}}`} {
		if code, _ := c.do("POST", "/api/webhooks", body, &verr); code != 400 || !strings.Contains(verr.Error, "stands for a stored secret") {
			t.Errorf("create with a REDACTED secret %s: %d %+v", body, code, verr)
		}
	}
	for body, field := range map[string]string{`{"timeout": "soon"}`: "timeout", `{"rate_limit": "lots"}`: "rate_limit", `{"retry": {"max_attempts": "3"}}`: "retry.max_attempts"} {
		if code, raw := c.do("PATCH", "/api/webhooks/bot", body, &verr); code != 400 || verr.Field != field || strings.Contains(raw, "Go struct") {
			t.Errorf("PATCH %s: %d %s, want a 400 naming %s", body, code, raw, field)
		}
	}
	code, _ = c.do("PATCH", "/api/webhooks/bot", `{"id": "other"}`, &verr)
	if code != 400 || verr.Field != "id" {
		t.Errorf("patch id: %d %+v", code, verr)
	}
	code, _ = c.do("PATCH", "/api/webhooks/from-file", `{"name": "x"}`, nil)
	if code != 400 {
		t.Errorf("patch a config webhook: %d", code)
	}

	// Events: one, then a list; the answer lists the invocations.
	var evs EventsResponse
	code, raw = c.do("POST", "/api/events", `{"type": "ticket.created", "data": {"ticket": {"id": 7}}}`, &evs)
	if code != 202 || len(evs.Events) != 1 || len(evs.Invocations) != 1 || evs.Invocations[0].WebhookID != "bot" || evs.Invocations[0].Status != InvocationPending {
		t.Fatalf("events: %d %s", code, raw)
	}
	invID := evs.Invocations[0].ID
	te.drive(invID)
	r := s.got()[0]
	if u, p, _ := (&http.Request{Header: r.Header}).BasicAuth(); u != "u" || p != "pw-s3cret" {
		t.Errorf("delivery auth %q %q; the PATCH lost the password", u, p)
	}
	if k := r.Header.Get("X-Api-Key"); k != "key-s3cret" {
		t.Errorf("delivery X-Api-Key %q; the PATCH lost the secret custom header", k)
	}
	var logged struct{ Invocation Invocation }
	c.do("GET", "/api/invocations/"+invID, nil, &logged)
	if h := logged.Invocation.History; len(h) == 0 || h[0].Request.Headers.Get("X-Api-Key") != rules.Redacted ||
		logged.Invocation.Request.Headers.Get("X-Api-Key") != rules.Redacted || logged.Invocation.Request.Headers.Get("X-Team") != "support" {
		t.Errorf("the activity log shows custom headers %+v / %+v", logged.Invocation.Request, h)
	}
	if ok, why := rules.VerifySignature(rules.SchemeZendesk, rotated, r.Header, r.Body, te.clock.Now(), 0); !ok {
		t.Errorf("signature with the rotated secret: %s", why)
	}
	code, raw = c.do("POST", "/api/events", `[{"type": "ticket.updated"}, {"type": "user.created"}]`, &evs)
	if code != 202 || len(evs.Events) != 2 || len(evs.Invocations) != 1 {
		t.Fatalf("event list: %d %s", code, raw)
	}
	te.drive(evs.Invocations[0].ID)
	code, _ = c.do("POST", "/api/events", `{"type": "bad type", "data": {}}`, &verr)
	if code != 400 || verr.Field != "type" {
		t.Errorf("bad type: %d %+v", code, verr)
	}
	for _, body := range []string{`{"type": "ticket.created", "data": {"x": 1}} trailing`, `[{"type": "ticket.created"}] {}`, `{"type": "ticket.created"}{"type": "ticket.created"}`} {
		if code, raw := c.do("POST", "/api/events", body, nil); code != 400 || !strings.Contains(string(raw), "after the JSON value") {
			t.Errorf("text after the event %q: %d %s", body, code, raw)
		}
	}
	code, _ = c.do("POST", "/api/events", `{"type": "a.b", "data": [1]}`, &verr)
	if code != 400 || verr.Field != "data" || verr.Errors[0].Msg != "data must be a JSON object" {
		t.Errorf("bad data: %d %+v", code, verr)
	}

	// The activity log: one invocation with its attempts, secrets
	// redacted.
	var got struct{ Invocation Invocation }
	code, raw = c.do("GET", "/api/invocations/"+invID, nil, &got)
	inv := got.Invocation
	if code != 200 || inv.Status != InvocationSuccess || len(inv.History) != 1 || inv.History[0].Response.Body != `{"ok": true}` ||
		inv.History[0].Response.Headers.Get("X-Receiver") != "yes" || inv.History[0].StatusCode != 200 {
		t.Fatalf("invocation: %d %s", code, raw)
	}
	if inv.History[0].Request.Headers.Get("Authorization") != rules.Redacted || strings.Contains(raw, "pw-s3cret") || strings.Contains(raw, "dTpwdy1zM2NyZXQ") {
		t.Errorf("the activity log shows a secret: %s", raw)
	}
	if inv.Request == nil || inv.Request.Body != string(r.Body) || inv.Request.Headers.Get("X-Team") != "support" {
		t.Errorf("request = %+v", inv.Request)
	}
	code, _ = c.do("GET", "/api/invocations/nope", nil, nil)
	if code != 404 {
		t.Errorf("unknown invocation: %d", code)
	}
	// Ids are found in lower case too (typed or copied so), as exchange ids.
	got.Invocation = Invocation{}
	if code, raw = c.do("GET", "/api/invocations/"+strings.ToLower(invID), nil, &got); code != 200 || got.Invocation.ID != invID {
		t.Errorf("invocation by its lower-case id: %d %s", code, raw)
	}

	var page struct {
		Invocations []Invocation `json:"invocations"`
		Next        string       `json:"next_cursor"`
	}
	c.do("GET", "/api/webhooks/bot/invocations?limit=1", nil, &page)
	if len(page.Invocations) != 1 || page.Next == "" {
		t.Fatalf("first page: %+v", page)
	}
	newest, next := page.Invocations[0].ID, page.Next
	c.do("GET", "/api/webhooks/bot/invocations?limit=1&cursor="+next, nil, &page)
	if len(page.Invocations) != 1 || page.Invocations[0].ID != invID || page.Invocations[0].ID == newest || page.Next != "" {
		t.Errorf("second page: %+v", page)
	}
	page.Invocations = nil
	if code, raw = c.do("GET", "/api/webhooks/bot/invocations?limit=1&cursor="+strings.ToLower(next), nil, &page); code != 200 || len(page.Invocations) != 1 || page.Invocations[0].ID != invID {
		t.Errorf("second page by a lower-case cursor: %d %s", code, raw)
	}
	c.do("GET", "/api/webhooks/bot/invocations?status=success", nil, &page)
	if len(page.Invocations) != 2 { // ticket.created and ticket.updated
		t.Errorf("status filter: %+v", page)
	}
	code, _ = c.do("GET", "/api/webhooks/bot/invocations?status=great", nil, &verr)
	if code != 400 || verr.Field != "status" {
		t.Errorf("bad status: %d %+v", code, verr)
	}
	code, _ = c.do("GET", "/api/webhooks/bot/invocations?cursor=garbage", nil, &verr)
	// The error quotes the cursor as given, not as hooklab upper-cases it.
	if code != 400 || verr.Field != "cursor" || !strings.Contains(verr.Error, `"garbage"`) {
		t.Errorf("bad cursor: %d %+v, want a 400 on cursor that quotes \"garbage\"", code, verr)
	}
	// A parameter a list does not take is refused, not ignored (a typo
	// would list everything), and so is one given twice.
	for _, path := range []string{"/api/invocations?stauts=failed", "/api/webhooks/bot/invocations?webhook_id=x",
		"/api/invocations?status=failed&status=success", "/api/webhooks?status=active", "/api/emit/stats?x=1",
		"/api/webhooks/bot?reveal=1", "/api/webhooks/bot/signing_secret?old=1"} {
		var e struct{ Error string }
		if code, raw := c.do("GET", path, nil, &e); code != 400 || e.Error == "" || strings.Contains(e.Error, "q=") {
			t.Errorf("GET %s: %d %s, want 400 with an error (and no word of a q= it does not take)", path, code, raw)
		}
	}
	from := te.clock.Now().Add(time.Hour).Format(time.RFC3339)
	c.do("GET", "/api/invocations?from="+from, nil, &page)
	if len(page.Invocations) != 0 {
		t.Errorf("from filter: %+v", page)
	}
	// Past what Unix nanoseconds hold: not wrapped around to 1816.
	c.do("GET", "/api/invocations?from=2300-01-01T00:00:00Z", nil, &page)
	if len(page.Invocations) != 0 {
		t.Errorf("from 2300: %d invocations, want none", len(page.Invocations))
	}
	c.do("GET", "/api/invocations?to=2300-01-01T00:00:00Z", nil, &page)
	if len(page.Invocations) == 0 {
		t.Error("to 2300: no invocations, want all")
	}
	code, _ = c.do("GET", "/api/webhooks/ghost/invocations", nil, nil)
	if code != 404 {
		t.Errorf("unknown webhook's log: %d", code)
	}

	// A body is refused (what it asked would be ignored): the invocation
	// stays as it was.
	var rerr struct{ Error string }
	if code, raw := c.do("POST", "/api/invocations/"+invID+"/retry", `{"payload": "other"}`, &rerr); code != 400 || !strings.Contains(rerr.Error, "takes no body") {
		t.Errorf("retry with a body: %d %s, want a 400 saying it takes none", code, raw)
	}
	if inv, _ := te.drive(invID); inv.Attempts != 1 {
		t.Errorf("a refused retry made an attempt: %+v", inv)
	}
	// Manual redelivery keeps the invocation and continues its attempts.
	code, raw = c.do("POST", "/api/invocations/"+strings.ToLower(invID)+"/retry", nil, nil)
	if code != 202 || strings.Contains(raw, "key-s3cret") {
		t.Fatalf("retry: %d %s", code, raw)
	}
	if inv, _ := te.drive(invID); inv.Attempts != 2 || inv.Status != InvocationSuccess {
		t.Errorf("after retry: %+v", inv)
	}

	// Bulk retry of failed invocations in a range.
	c.do("PATCH", "/api/webhooks/bot", `{"endpoint": "`+s.URL+`/fail"}`, nil)
	c.do("POST", "/api/events", `{"type": "ticket.solved"}`, &evs)
	failed := evs.Invocations[0].ID
	if inv, _ := te.drive(failed); inv.Status != InvocationServerError {
		t.Fatalf("failing delivery: %+v", inv)
	}
	var bulk struct {
		Retried     int      `json:"retried"`
		Invocations []string `json:"invocations"`
	}
	code, raw = c.do("POST", "/api/invocations/retry", map[string]any{"webhook_id": "bot", "from": te.clock.Now().Add(-time.Minute)}, &bulk)
	if code != 202 || bulk.Retried != 1 || bulk.Invocations[0] != failed {
		t.Errorf("bulk retry: %d %s", code, raw)
	}
	if inv, _ := te.drive(failed); inv.Attempts != 2 {
		t.Errorf("after bulk retry: %+v", inv)
	}
	// A redelivery goes to the webhook's endpoint of now, with its custom
	// headers of now.
	var patched struct{ Webhook Webhook }
	c.do("PATCH", "/api/webhooks/bot", `{"endpoint": "`+s.URL+`/fixed", "custom_headers": {"X-Team": "support", "X-Tenant": "right", "X-Gone": null}}`, &patched)
	if _, ok := patched.Webhook.CustomHeaders["X-Gone"]; ok || len(patched.Webhook.CustomHeaders) != 2 {
		t.Errorf("a custom header given null is kept: %v", patched.Webhook.CustomHeaders)
	}
	c.do("POST", "/api/invocations/"+failed+"/retry", nil, nil)
	if inv, _ := te.drive(failed); inv.Status != InvocationSuccess || inv.History[2].Request.URL != s.URL+"/fixed" || inv.History[1].Request.URL != s.URL+"/fail" {
		t.Errorf("redelivery after the endpoint moved: %+v", inv)
	}
	if got := s.got(); got[len(got)-1].Header.Get("X-Tenant") != "right" {
		t.Errorf("redelivery after the custom header changed sent X-Tenant %q", got[len(got)-1].Header.Get("X-Tenant"))
	}
	// One removed since the invocation was rendered goes no more.
	if got := s.got(); got[len(got)-1].Header.Get("X-Api-Key") != "" {
		t.Errorf("redelivery after X-Api-Key was removed still sent it: %q", got[len(got)-1].Header.Get("X-Api-Key"))
	}

	// Test sends: saved, with overrides; unsaved, with the test secret.
	c.do("PATCH", "/api/webhooks/bot", `{"endpoint": "`+s.URL+`/test"}`, nil)
	var res TestResult
	code, raw = c.do("POST", "/api/webhooks/bot/test", `{"payload": {"hello": "world"}, "headers": {"X-Extra": "1", "X-Tenant": "override"}}`, &res)
	last := s.got()[len(s.got())-1]
	if code != 200 || res.Response == nil || res.Response.Status != 200 || res.Request.Body != `{"hello": "world"}` ||
		string(last.Body) != `{"hello": "world"}` || last.Header.Get("X-Extra") != "1" || last.Header.Get("X-Team") != "support" ||
		last.Header.Get("X-Tenant") != "override" {
		t.Errorf("test send: %d %s", code, raw)
	}
	if res.Request.Headers.Get("Authorization") != rules.Redacted || res.ExchangeID == "" {
		t.Errorf("test send request = %+v", res)
	}
	// Test-send headers follow the custom header rules, merged with the
	// webhook's own: none the authentication or signing sets, at most five.
	sent := len(s.got())
	for _, tc := range []struct{ headers, field, msg string }{
		{`{"Authorization": "Bearer injected"}`, "headers.Authorization", "set by the authentication"},
		{`{"X-Zendesk-Webhook-Signature": "forged"}`, "headers.X-Zendesk-Webhook-Signature", "reserved"},
		{`{"A": "1", "B": "2", "C": "3", "D": "4"}`, "headers", "at most 5 custom headers"},
		{`{"x-team": "dup"}`, "", ""}, // replaces X-Team: allowed
	} {
		var verr struct {
			Errors []FieldError `json:"errors"`
		}
		code, raw = c.do("POST", "/api/webhooks/bot/test", `{"headers": `+tc.headers+`}`, &verr)
		if tc.field == "" {
			if code != 200 {
				t.Errorf("test send with %s: %d %s", tc.headers, code, raw)
			}
			sent++
			continue
		}
		if code != 400 || !slices.ContainsFunc(verr.Errors, func(fe FieldError) bool { return fe.Field == tc.field && strings.Contains(fe.Msg, tc.msg) }) {
			t.Errorf("test send with %s: %d %s, want 400 on %s saying %q", tc.headers, code, raw, tc.field, tc.msg)
		}
	}
	if len(s.got()) != sent {
		t.Errorf("refused test sends reached the receiver: %d requests, want %d", len(s.got()), sent)
	}
	unsaved := `{"webhook": {"endpoint": "` + s.URL + `/unsaved", "signing": {"scheme": "standard-webhooks"}}}`
	code, raw = c.do("POST", "/api/webhooks/test", unsaved, &res)
	last = s.got()[len(s.got())-1]
	if code != 200 || last.URL != "/unsaved" {
		t.Fatalf("unsaved test: %d %s", code, raw)
	}
	if ok, why := rules.VerifySignature(rules.SchemeStandardWebhooks, "whsec_"+TestSecret, last.Header, last.Body, te.clock.Now(), 0); !ok {
		t.Errorf("unsaved test signature: %s", why)
	}
	code, _ = c.do("POST", "/api/webhooks/test", `{"webhook": {"endpoint": "nope"}}`, &verr)
	if code != 400 || verr.Field != "webhook.endpoint" {
		t.Errorf("unsaved invalid: %d %+v", code, verr)
	}

	var st Stats
	c.do("GET", "/api/emit/stats", nil, &st)
	if st.Total != 3 || st.ByStatus[InvocationSuccess] != 3 {
		t.Errorf("stats = %+v", st)
	}

	code, _ = c.do("DELETE", "/api/webhooks/bot", nil, nil)
	if code != 204 {
		t.Errorf("delete: %d", code)
	}
	code, _ = c.do("GET", "/api/webhooks/bot", nil, nil)
	if code != 404 {
		t.Errorf("get deleted: %d", code)
	}
	code, _ = c.do("DELETE", "/api/webhooks/from-file", nil, nil)
	if code != 400 {
		t.Errorf("delete a config webhook: %d", code)
	}
}

// TestTestSendFormat: a test send's payload object goes out in the
// webhook's format, as XML to an xml webhook and as form fields to a
// form_encoded one, with that format's Content-Type; a string goes as it
// is.
func TestTestSendFormat(t *testing.T) {
	t.Parallel()
	s := newSink(t, nil)
	te := newEnv(t, "", nil)
	c := te.api()
	formatWebhooks(t, c, s.URL)
	const ticket = `{"ticket": {"id": 1, "subject": "Tea & <biscuits>", "tags": ["a", "b"], "assignee": null}}`
	tests := []struct {
		name, webhook, payload string
		unsaved                bool   // POST /api/webhooks/test with the definition
		want                   string // the body sent; "" for a 400 on payload
	}{
		{"xml object", FormatXML, ticket,
			false, `<ticket><id>1</id><subject>Tea &amp; &lt;biscuits&gt;</subject><tags>a</tags><tags>b</tags><assignee/></ticket>`},
		{"xml object of several members", FormatXML, `{"id": 1, "urgent": true}`,
			false, `<payload><id>1</id><urgent>true</urgent></payload>`},
		{"xml array member", FormatXML, `{"tags": ["a", "b"]}`,
			false, `<payload><tags>a</tags><tags>b</tags></payload>`},
		{"xml unsaved", FormatXML, `{"ticket": {"id": 2}}`,
			true, `<ticket><id>2</id></ticket>`},
		{"xml string", FormatXML, `"<ping>1</ping>"`,
			false, `<ping>1</ping>`},
		{"xml list", FormatXML, `[1, 2]`, false, ""},
		{"xml bad name", FormatXML, `{"ticket": {"2nd": 1}}`, false, ""},
		{"form object", FormatForm, ticket,
			false, `ticket%5Bid%5D=1&ticket%5Bsubject%5D=Tea+%26+%3Cbiscuits%3E&ticket%5Btags%5D%5B0%5D=a&ticket%5Btags%5D%5B1%5D=b&ticket%5Bassignee%5D=`},
		{"form unsaved", FormatForm, `{"b": 2, "a": "x y"}`,
			true, `b=2&a=x+y`},
		{"form string", FormatForm, `"a=1&b=2"`,
			false, `a=1&b=2`},
		{"form number", FormatForm, `5`, false, ""},
		{"json object", FormatJSON, ticket,
			false, ticket},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path, body := "/api/webhooks/"+tt.webhook+"/test", `{"payload": `+tt.payload+`}`
			if tt.unsaved {
				path, body = "/api/webhooks/test", `{"webhook": {"endpoint": "`+s.URL+`/`+tt.webhook+`", "format": "`+tt.webhook+`"}, "payload": `+tt.payload+`}`
			}
			before := s.count()
			var res TestResult
			code, raw := c.do("POST", path, body, &res)
			if tt.want == "" {
				if code != 400 || !strings.Contains(raw, `"field":"payload"`) || s.count() != before {
					t.Errorf("POST %s: %d %s, want a 400 on payload and nothing sent", path, code, raw)
				}
				return
			}
			if code != 200 || s.count() != before+1 {
				t.Fatalf("POST %s: %d %s", path, code, raw)
			}
			got := s.got()[before]
			if string(got.Body) != tt.want || res.Request.Body != tt.want {
				t.Errorf("sent %s\nanswered %s\nwant %s", got.Body, res.Request.Body, tt.want)
			}
			if ct, want := got.Header.Get("Content-Type"), contentTypes[tt.webhook]; ct != want {
				t.Errorf("Content-Type %q, want %q", ct, want)
			}
			if err := checkFormat(tt.webhook, got.Body); err != nil {
				t.Error(err)
			}
		})
	}
	// A form webhook sends a payload or params as its body, not both: the
	// test send says so instead of dropping the params.
	before := s.count()
	if code, raw := c.do("POST", "/api/webhooks/"+FormatForm+"/test", `{"payload": {"a": 1}, "params": {"b": "2"}}`, nil); code != 400 || !strings.Contains(raw, `"field":"params"`) || s.count() != before {
		t.Errorf("test send with payload and params: %d %s, want a 400 on params and nothing sent", code, raw)
	}
}

// TestTestSendPayloadWarnings: a test send of a payload that is not valid
// JSON to a json webhook (not well-formed XML to an xml one) goes out as
// it is, and the answer warns where it first fails, in the shape of the
// API's other warnings; it said nothing. A payload that is fine, or one
// to a form_encoded webhook, gets an empty list.
func TestTestSendPayloadWarnings(t *testing.T) {
	t.Parallel()
	s := newSink(t, nil)
	te := newEnv(t, "", nil)
	c := te.api()
	formatWebhooks(t, c, s.URL)
	tests := []struct {
		name, webhook, payload string
		unsaved                bool
		want                   string // in the warning; "" for none
	}{
		{"json not json", FormatJSON, `{"a": }`, false, "payload is not valid JSON at line 1, column 7: invalid character '}' looking for beginning of value; it was sent as it is, with Content-Type application/json"},
		{"json on a later line", FormatJSON, "{\"a\": 1,\n \"b\": tru}", false, "payload is not valid JSON at line 2, column 10: invalid character '}' in literal true"},
		{"json cut short", FormatJSON, `{"a": [1, 2`, false, "payload is not valid JSON: unexpected end of JSON input; it was sent"},
		{"json two values", FormatJSON, `{"a": 1} {"b": 2}`, false, "payload is not valid JSON at line 1, column 10: invalid character '{' after top-level value"},
		{"json unsaved", FormatJSON, `<ticket/>`, true, "payload is not valid JSON at line 1, column 1: invalid character '<' looking for beginning of value"},
		{"json fine", FormatJSON, `{"a": [1, 2]}`, false, ""},
		{"xml unclosed", FormatXML, `<a><b>1</a>`, false, "payload is not well-formed XML: at line 1: element <b> closed by </a>; it was sent as it is, with Content-Type application/xml"},
		{"xml two roots", FormatXML, `<a/><b/>`, false, "payload is not well-formed XML: at line 1, column 5: a second root element <b> (a document has one)"},
		{"xml text beside", FormatXML, `<a/>junk`, false, "payload is not well-formed XML: at line 1, column 5: text outside the root element"},
		{"xml not xml", FormatXML, `{"a": 1}`, true, "payload is not well-formed XML: at line 1, column 1: text outside the root element"},
		{"xml fine", FormatXML, `<?xml version="1.0"?>` + "\n<ping a=\"1\">x &amp; y</ping>\n", false, ""},
		{"form", FormatForm, `{"a": `, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload, _ := json.Marshal(tt.payload) // a string goes as it is
			path, body := "/api/webhooks/"+tt.webhook+"/test", `{"payload": `+string(payload)+`}`
			if tt.unsaved {
				path, body = "/api/webhooks/test", `{"webhook": {"endpoint": "`+s.URL+`/`+tt.webhook+`", "format": "`+tt.webhook+`"}, "payload": `+string(payload)+`}`
			}
			before := s.count()
			var res struct {
				Outcome  string            `json:"outcome"`
				Warnings []json.RawMessage `json:"warnings"`
			}
			code, raw := c.do("POST", path, body, &res)
			if code != 200 || s.count() != before+1 || string(s.got()[before].Body) != tt.payload {
				t.Fatalf("POST %s: %d %s; want it sent as it is", path, code, raw)
			}
			if res.Warnings == nil {
				t.Fatalf("answer %s has no warnings list", raw)
			}
			if tt.want != "" {
				if len(res.Warnings) != 1 || !strings.Contains(string(res.Warnings[0]), `"field":"payload"`) || !strings.Contains(string(res.Warnings[0]), `"error":"`+strings.ReplaceAll(tt.want, `"`, `\"`)) {
					t.Errorf("warnings %s\nwant one on payload: %s", raw, tt.want)
				}
				return
			}
			if len(res.Warnings) != 0 {
				t.Errorf("warnings %s, want none", raw)
			}
		})
	}
}

// TestSend posts an event the way "hooklab send" does.
func TestSend(t *testing.T) {
	t.Parallel()
	te := newEnv(t, hookYAML("hook", "https://example.com/x", ""), nil)
	h := te.e.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "hooklab") // as main's UI listener says
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	// Another program, or hooklab's capture port (it answers 200, with
	// no Server: hooklab), is named as not the UI.
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"ok":true,"id":"01JNB5Z3Q0000000000000000A","bin":"default"}`))
	}))
	t.Cleanup(other.Close)
	if _, err := Send(context.Background(), other.URL, "", "test.created", json.RawMessage(`{}`)); err == nil || !strings.Contains(err.Error(), "is not hooklab's UI listener") {
		t.Errorf("Send to another program: %v", err)
	}
	// Behind a front end that names itself in Server, hooklab's 202 is
	// taken.
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "nginx")
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	if _, err := Send(context.Background(), front.URL, "", "test.created", json.RawMessage(`{}`)); err != nil {
		t.Errorf("Send through a front end: %v", err)
	}
	file := filepath.Join(t.TempDir(), "ticket.json")
	os.WriteFile(file, []byte(`{"ticket": {"id": 1}}`), 0o600)
	data, err := ReadData("@"+file, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Send(context.Background(), srv.URL+"/", "", "test.created", data)
	if err != nil || len(res.Invocations) != 1 || res.Invocations[0].WebhookID != "hook" {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	if _, err := Send(context.Background(), srv.URL, "", "bad type", nil); err == nil {
		t.Error("Send with a bad type succeeded")
	}
	if _, err := ReadData("[1]", nil); err == nil {
		t.Error("ReadData accepted a list")
	}
	for _, arg := range []string{"-", "@-"} {
		if d, err := ReadData(arg, strings.NewReader(` {"a": 1} `)); err != nil || string(d) != `{"a": 1}` {
			t.Errorf("ReadData(%s) = %s, %v", arg, d, err)
		}
	}
	if d, err := ReadData("null", nil); err == nil {
		t.Errorf("ReadData(null) = %s, want an error", d)
	}
}

// TestSendKeepsDataAsWritten: "hooklab send" posts the event's data as
// written, so a subscription's detail carries "a & <b>" as the file had it,
// as POST /api/events with curl does, not \u0026 and \u003c.
func TestSendKeepsDataAsWritten(t *testing.T) {
	t.Parallel()
	got := make(chan []byte, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
		w.Header().Set("Server", "hooklab")
		w.WriteHeader(http.StatusAccepted)
		w.Write([]byte(`{"events":[],"invocations":[]}`))
	}))
	t.Cleanup(srv.Close)
	data := json.RawMessage(`{"ticket": {"subject": "a & <b>x</b>"}}`)
	if _, err := Send(context.Background(), srv.URL, "", "ticket.created", data); err != nil {
		t.Fatal(err)
	}
	if b := <-got; !strings.Contains(string(b), `"data":{"ticket":{"subject":"a & <b>x</b>"}}`) {
		t.Errorf("posted %s, want the data as written", b)
	}
}

// TestAPIWebhookKeepsNotifiesValid: a webhook made through the API and
// notified by the config's triggers cannot be changed into one that those
// triggers could not notify (the config refuses the same pairing).
func TestAPIWebhookKeepsNotifiesValid(t *testing.T) {
	t.Parallel()
	te := newEnv(t, "", nil)
	c := te.api()
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "api-trig", "endpoint": "https://example.com/h"}`, nil); code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	if err := te.e.SetConfig(parseConfig(t, `triggers:
  - name: made
    when: {event: user.created}
    notify: {webhook: api-trig}
`, nil)); err != nil {
		t.Fatal(err)
	}
	var verr struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}
	for _, tc := range []struct{ patch, field string }{
		{`{"format": "xml"}`, "format"},
		{`{"format": "form_encoded"}`, "format"},
	} {
		code, raw := c.do("PATCH", "/api/webhooks/api-trig", tc.patch, &verr)
		if code != 400 || verr.Field != tc.field || !strings.Contains(verr.Error, "trigger made") || !strings.Contains(verr.Error, "payload is required") {
			t.Errorf("PATCH %s: %d %s", tc.patch, code, raw)
		}
	}
	if code, raw := c.do("PATCH", "/api/webhooks/api-trig", `{"method": "PUT"}`, nil); code != 200 {
		t.Errorf("a change the trigger can follow: %d %s", code, raw)
	}
}

// TestAPISchemeChangeKeepsAGivenSecret: a PATCH to another signing scheme
// keeps a secret it gives (as itself or as REDACTED); with none given the
// webhook gets a new secret of the new scheme's form.
func TestAPISchemeChangeKeepsAGivenSecret(t *testing.T) {
	t.Parallel()
	te := newEnv(t, "", nil)
	c := te.api()
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "sch", "endpoint": "https://example.com/h", "signing": {"scheme": "zendesk", "secret": "my-explicit-secret"}}`, nil); code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	secret := func() SigningSecret {
		var sec struct {
			SigningSecret SigningSecret `json:"signing_secret"`
		}
		c.do("GET", "/api/webhooks/sch/signing_secret", nil, &sec)
		return sec.SigningSecret
	}
	for _, tc := range []struct{ patch, scheme, want string }{
		{`{"signing": {"scheme": "github", "secret": "my-explicit-secret"}}`, "github", "my-explicit-secret"},
		{`{"signing": {"scheme": "slack", "secret": "REDACTED"}}`, "slack", "my-explicit-secret"},
		{`{"signing": {"scheme": "shopify", "secret": "another"}}`, "shopify", "another"},
		{`{"signing": {"scheme": "standard-webhooks"}}`, "standard-webhooks", ""},
	} {
		if code, raw := c.do("PATCH", "/api/webhooks/sch", tc.patch, nil); code != 200 {
			t.Fatalf("PATCH %s: %d %s", tc.patch, code, raw)
		}
		got := secret()
		switch {
		case string(got.Scheme) != tc.scheme:
			t.Errorf("PATCH %s: scheme %s", tc.patch, got.Scheme)
		case tc.want != "" && got.Secret != tc.want:
			t.Errorf("PATCH %s: secret %q, want %q", tc.patch, got.Secret, tc.want)
		case tc.want == "" && (got.Secret == "another" || !strings.HasPrefix(got.Secret, "whsec_")):
			t.Errorf("PATCH %s with no secret: secret %q, want a new whsec_ one", tc.patch, got.Secret)
		}
	}
}

// TestAPICustomHeaderNumbers: a custom header's value may be a number or a
// boolean in JSON too, as in the config file; other kinds are refused,
// naming the header.
func TestAPICustomHeaderNumbers(t *testing.T) {
	t.Parallel()
	te := newEnv(t, "", nil)
	c := te.api()
	var created struct{ Webhook Webhook }
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "num", "endpoint": "https://example.com/h", "custom_headers": {"X-Shard": 5, "X-Ratio": -1.5, "X-Flag": true, "X-Name": "a", "X-None": null}}`, &created); code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	want := HeaderValues{"X-Shard": "5", "X-Ratio": "-1.5", "X-Flag": "true", "X-Name": "a"}
	if !reflect.DeepEqual(created.Webhook.CustomHeaders, want) {
		t.Errorf("custom headers %v, want %v", created.Webhook.CustomHeaders, want)
	}
	var verr struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}
	if code, raw := c.do("PATCH", "/api/webhooks/num", `{"custom_headers": {"X-Obj": {"a": 1}}}`, &verr); code != 400 || verr.Field != "custom_headers.X-Obj" || !strings.Contains(verr.Error, "an object") {
		t.Errorf("an object value: %d %s", code, raw)
	}
}

// TestDeleteWebhookMidAttempt deletes a webhook while an attempt is in
// flight: the invocation ends failed, unless the attempt delivered it
// (then it is a success, counted so), and its attempt count matches the
// attempt its log shows.
func TestDeleteWebhookMidAttempt(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		answer     int
		status     string
		err        string
		statusCode int
	}{
		{200, InvocationSuccess, "", 200},
		{500, InvocationFailed, "the webhook was deleted", 0},
	} {
		t.Run(strconv.Itoa(tc.answer), func(t *testing.T) {
			t.Parallel()
			arrived, release := make(chan struct{}, 1), make(chan struct{})
			s := newSink(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
				arrived <- struct{}{}
				<-release
				w.WriteHeader(tc.answer)
			})
			te := newEnv(t, "", nil)
			c := te.api()
			if code, raw := c.do("POST", "/api/webhooks", `{"id": "gone", "endpoint": "`+s.URL+`/in", "subscriptions": ["ticket.*"]}`, nil); code != 201 {
				t.Fatalf("create: %d %s", code, raw)
			}
			watch := newSink(t, status(200))
			if code, raw := c.do("POST", "/api/webhooks", `{"id": "watch", "endpoint": "`+watch.URL+`/w", "subscriptions": ["delivery.succeeded"]}`, nil); code != 201 {
				t.Fatalf("create: %d %s", code, raw)
			}
			var evs struct {
				Invocations []struct{ ID string } `json:"invocations"`
			}
			c.do("POST", "/api/events", `{"type": "ticket.created"}`, &evs)
			if len(evs.Invocations) != 1 {
				t.Fatalf("queued %+v", evs)
			}
			select {
			case <-arrived:
			case <-time.After(time.Minute):
				t.Fatal("the attempt never reached the sink")
			}
			if code, raw := c.do("DELETE", "/api/webhooks/gone", nil, nil); code != 204 {
				t.Fatalf("delete: %d %s", code, raw)
			}
			close(release)
			id := evs.Invocations[0].ID
			var got struct{ Invocation Invocation }
			inv := &got.Invocation
			deadline := time.Now().Add(time.Minute)
			for {
				got = struct{ Invocation Invocation }{} // fields left out (error: omitempty) are not kept from the last read
				c.do("GET", "/api/invocations/"+id, nil, &got)
				if len(inv.History) == 1 || time.Now().After(deadline) { // with its count: one read
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
			if inv.Status != tc.status || inv.Error != tc.err || inv.StatusCode != tc.statusCode || inv.Attempts != 1 || len(inv.History) != 1 || inv.NextAt != nil {
				t.Errorf("invocation after its webhook was deleted mid-attempt: status %s error %q status_code %d attempt_count %d, %d attempts logged, next %v",
					inv.Status, inv.Error, inv.StatusCode, inv.Attempts, len(inv.History), inv.NextAt)
			}
			// A delivery is a delivery: delivery.succeeded goes out for it
			// (to watch, which makes one more success). The counts say the
			// same, in memory and in the database.
			wantFailed, wantSuccess, wantEvents := int64(1), int64(0), 0
			if tc.status == InvocationSuccess {
				wantFailed, wantSuccess, wantEvents = 0, 2, 1
			}
			var st Stats
			waitFor(t, "the counts", func() bool {
				st, _ = te.e.Stats(context.Background())
				return st.ByStatus[InvocationFailed] == wantFailed && st.ByStatus[InvocationSuccess] == wantSuccess && st.Queued == 0 && st.InFlight == 0
			})
			if got := te.e.counts.stats("gone"); got.ByStatus[tc.status] != 1 || got.Total != 1 {
				t.Errorf("webhook counts %+v, want one %s", got, tc.status)
			}
			time.Sleep(50 * time.Millisecond)
			if n := watch.count(); n != wantEvents {
				t.Errorf("%d delivery.succeeded events, want %d", n, wantEvents)
			}
		})
	}
}

// TestAPIRedeliverQueued: redelivering an invocation that is still queued
// is a 409 saying so.
func TestAPIRedeliverQueued(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, hookYAML("a", s.URL, "rate_limit: 1/1h"), nil)
	c := te.api()
	te.emit("test.x", `{}`)
	q := te.emit("test.x", `{}`) // throttled behind the first
	code, raw := c.do("POST", "/api/invocations/"+q[0].ID+"/retry", nil, nil)
	if code != http.StatusConflict || !strings.Contains(raw, "still queued") {
		t.Errorf("redeliver a queued invocation: %d %s, want 409", code, raw)
	}
}

// TestOwnCredentialsOfTestSends: the header of an api_key credential is
// named to hooklab's capture and proxies (to record it redacted) for a
// saved webhook's deliveries and for a test send of a definition never
// saved, whose id nothing knows (its key was recorded in clear).
func TestOwnCredentialsOfTestSends(t *testing.T) {
	t.Parallel()
	var te *testEnv
	var mu sync.Mutex
	var named [][]string
	s := newSink(t, func(_ int, w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		named = append(named, te.e.OwnCredentials(r.Header)) // as capture asks, while the request is in
		mu.Unlock()
	})
	te = newEnv(t, `webhooks:
  - id: saved
    endpoint: "`+s.URL+`/saved"
    authentication: {type: api_key, name: X-Saved-Key, value: saved-secret}
`, nil)
	if _, err := te.e.Test(context.Background(), "saved", TestRequest{}); err != nil {
		t.Fatal(err)
	}
	unsaved := Webhook{Endpoint: s.URL + "/unsaved", Authentication: &Auth{Type: AuthAPIKey, Name: "X-Custom", Value: "custkey-SECRET11"}}
	if _, err := te.e.Test(context.Background(), "", TestRequest{Webhook: &unsaved}); err != nil {
		t.Fatal(err)
	}
	// An unsaved definition under a saved webhook's id, with a key of
	// its own name.
	unsaved.ID, unsaved.Authentication.Name = "saved", "X-Other-Key"
	if _, err := te.e.Test(context.Background(), "", TestRequest{Webhook: &unsaved}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	want := [][]string{{"X-Saved-Key"}, {"X-Custom"}, {"X-Other-Key"}}
	if !slices.EqualFunc(named, want, slices.Equal) {
		t.Errorf("credential headers named %q, want %q", named, want)
	}
	// Once the test send is over, its invocation id names nothing.
	h := http.Header{}
	h.Set(HeaderWebhook, "webhook-test")
	if got := te.e.OwnCredentials(h); got != nil {
		t.Errorf("after the sends: %q", got)
	}
}

// TestAPISchemeChangeDropsRotatedSecrets: the secrets a rotation kept
// signing with were made for the old scheme: a PATCH to another scheme
// drops them (they failed every send for a day when they were not of the
// new scheme's form, and signed under it when they were); and the dry run
// refuses REDACTED for a secret the webhook never had, as create does.
func TestAPISchemeChangeDropsRotatedSecrets(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, "", nil)
	c := te.api()
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "rot", "endpoint": "`+s.URL+`/ok", "signing": {"scheme": "github", "secret": "my-secret!"}}`, nil); code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	if code, raw := c.do("POST", "/api/webhooks/rot/signing_secret", nil, nil); code != 200 {
		t.Fatalf("rotate: %d %s", code, raw)
	}
	if code, raw := c.do("PATCH", "/api/webhooks/rot", `{"signing": {"scheme": "standard-webhooks", "secret": "whsec_dGVzdHNlY3JldA=="}}`, nil); code != 200 {
		t.Fatalf("PATCH: %d %s", code, raw)
	}
	res, err := te.e.Test(context.Background(), "rot", TestRequest{})
	if err != nil || res.Outcome != InvocationSuccess {
		t.Fatalf("test send after the scheme change: %+v %v", res, err)
	}
	if sig := s.got()[0].Header.Get("Webhook-Signature"); strings.Count(sig, "v1,") != 1 {
		t.Errorf("signatures %q, want one, of the new secret", sig)
	}

	bad := `{"endpoint": "https://example.com/h", "signing": {"scheme": "stripe", "secret": "REDACTED"}}`
	code, createRaw := c.do("POST", "/api/webhooks", bad, nil)
	dryCode, dryRaw := c.do("POST", "/api/webhooks/validate", bad, nil)
	if code != 400 || dryCode != 400 || dryRaw != createRaw {
		t.Errorf("REDACTED secret: create %d %s, validate %d %s", code, createRaw, dryCode, dryRaw)
	}
	// As an edit of a stored webhook, REDACTED keeps its secret, as a
	// PATCH does: the UI's edit form validates clean.
	if code, raw := c.do("POST", "/api/webhooks/validate?edit=rot", bad, nil); code != 200 {
		t.Errorf("REDACTED secret in an edit: validate %d %s", code, raw)
	}
	if code, raw := c.do("POST", "/api/webhooks/validate?edit=nosuch", bad, nil); code != 400 {
		t.Errorf("REDACTED secret in an edit of no webhook: validate %d %s", code, raw)
	}
}

// An endpoint no connection can go to is refused when it is saved, not at
// every delivery: a port out of range failed each attempt, and a URL with
// a port but no host name (http://:8080/x) went to this machine.
func TestEndpointHostAndPort(t *testing.T) {
	t.Parallel()
	c := newEnv(t, "", nil).api()
	tests := []struct {
		endpoint, msg string
	}{
		{"http://127.0.0.1:99999/x", `endpoint port must be from 1 to 65535, got "99999"`},
		{"http://127.0.0.1:0/x", `endpoint port must be from 1 to 65535, got "0"`},
		{"http://:8080/x", `endpoint must be an absolute URL such as https://example.com/hooks, got "http://:8080/x"`},
	}
	for _, tt := range tests {
		for _, path := range []string{"/api/webhooks/validate", "/api/webhooks"} {
			var got struct {
				Field  string       `json:"field"`
				Errors []FieldError `json:"errors"`
			}
			code, raw := c.do("POST", path, map[string]string{"id": "p", "endpoint": tt.endpoint}, &got)
			if code != 400 || got.Field != "endpoint" || len(got.Errors) != 1 || got.Errors[0].Msg != tt.msg {
				t.Errorf("POST %s %s: %d %s, want 400 %s", path, tt.endpoint, code, raw, tt.msg)
			}
		}
	}
	if code, raw := c.do("POST", "/api/webhooks/validate", map[string]string{"id": "p", "endpoint": "http://127.0.0.1:65535/x"}, nil); code != 200 {
		t.Errorf("port 65535: %d %s, want 200", code, raw)
	}
}

// TestAPIEmptyFiltersRefused: a filter of the activity log or of a bulk
// redelivery given empty (webhook_id=$HOOK with HOOK unset) is a 400, as
// GET /api/exchanges has it, instead of selecting every webhook's
// invocations: a bulk redelivery would re-send another webhook's failures.
func TestAPIEmptyFiltersRefused(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(500))
	te := newEnv(t, `webhooks:
  - {id: a, endpoint: "`+s.URL+`", signing: {scheme: none}}
  - {id: b, endpoint: "`+s.URL+`", signing: {scheme: none}}
subscriptions:
  - {webhook: a, events: [test.a]}
  - {webhook: b, events: [test.b]}
`, nil)
	c := te.api()
	qa := te.emit("test.a", `{}`)
	qb := te.emit("test.b", `{}`)
	te.settle(qa[0].ID, 0)
	te.settle(qb[0].ID, 0)

	for _, q := range []string{"webhook_id=", "status=", "from=", "to=", "status=&webhook_id=a"} {
		if code, raw := c.do("GET", "/api/invocations?"+q, nil, nil); code != http.StatusBadRequest || !strings.Contains(raw, "is empty") {
			t.Errorf("GET /api/invocations?%s: %d %s, want 400 naming the empty filter", q, code, raw)
		}
	}
	for _, q := range []string{"status=", "from=", "to="} {
		if code, raw := c.do("GET", "/api/webhooks/a/invocations?"+q, nil, nil); code != http.StatusBadRequest || !strings.Contains(raw, "is empty") {
			t.Errorf("GET /api/webhooks/a/invocations?%s: %d %s, want 400 naming the empty filter", q, code, raw)
		}
	}
	// An empty cursor is the first page, as a paging loop starts.
	if code, raw := c.do("GET", "/api/invocations?cursor=", nil, nil); code != http.StatusOK {
		t.Errorf("GET /api/invocations?cursor=: %d %s, want 200", code, raw)
	}

	code, raw := c.do("POST", "/api/invocations/retry", `{"webhook_id": "", "statuses": ["server_error"]}`, nil)
	if code != http.StatusBadRequest || !strings.Contains(raw, "webhook_id") {
		t.Errorf(`bulk retry with "webhook_id": "": %d %s, want 400`, code, raw)
	}
	if got := te.inv(qb[0].ID); got.Status != InvocationServerError {
		t.Errorf("webhook b's invocation is %s after a bulk retry meant for one webhook, want it left %s", got.Status, InvocationServerError)
	}
	var res struct {
		Invocations []string `json:"invocations"`
	}
	if code, raw := c.do("POST", "/api/invocations/retry", `{"webhook_id": "a"}`, &res); code != http.StatusAccepted || !slices.Equal(res.Invocations, []string{qa[0].ID}) {
		t.Errorf(`bulk retry of webhook a: %d %s, want 202 with %s alone`, code, raw, qa[0].ID)
	}
}

// TestAPIBulkRetryEmptyStatuses: a bulk redelivery with "statuses": []
// (every box unticked, a list built from nothing) is a 400 naming
// statuses, as a filter given empty is: it redelivered every unsuccessful
// invocation, as no statuses at all does, while a retry policy's
// "statuses": [] means none.
func TestAPIBulkRetryEmptyStatuses(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(500))
	te := newEnv(t, hookYAML("a", s.URL, ""), nil)
	c := te.api()
	q := te.emit("test.a", `{}`)
	te.settle(q[0].ID, 0)

	code, raw := c.do("POST", "/api/invocations/retry", `{"webhook_id": "a", "statuses": []}`, nil)
	if code != http.StatusBadRequest || !strings.Contains(raw, `"field":"statuses"`) || !strings.Contains(raw, "is empty") {
		t.Errorf(`bulk retry with "statuses": []: %d %s, want a 400 on statuses`, code, raw)
	}
	if got := te.inv(q[0].ID); got.Status != InvocationServerError || got.Attempts != 1 {
		t.Errorf("the invocation is %s after %d attempts, want it left %s after 1", got.Status, got.Attempts, InvocationServerError)
	}
	// Left out or null, every unsuccessful one is redelivered.
	for _, body := range []string{`{"webhook_id": "a", "statuses": null}`, `{"webhook_id": "a"}`} {
		te.settle(q[0].ID, 0)
		var res struct {
			Invocations []string `json:"invocations"`
		}
		if code, raw := c.do("POST", "/api/invocations/retry", body, &res); code != http.StatusAccepted || !slices.Equal(res.Invocations, []string{q[0].ID}) {
			t.Errorf("bulk retry %s: %d %s, want 202 with %s", body, code, raw, q[0].ID)
		}
		waitFor(t, "the redelivery to end", func() bool { return !te.inv(q[0].ID).queued })
	}
}

// TestAPIPatchUnknownFieldNamed: a PATCH with a field a webhook does not
// have is refused naming it, as POST /api/webhooks does, so the UI can show
// the error beside it.
func TestAPIPatchUnknownFieldNamed(t *testing.T) {
	te := newEnv(t, "", nil)
	c := te.api()
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "bot", "endpoint": "https://example.com"}`, nil); code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	for body, field := range map[string]string{
		`{"bogus": 1}`:                       "bogus",
		`{"signing": {"secrets": ["a"]}}`:    "signing.secrets",
		`{"retry": {"tries": 3}}`:            "retry.tries",
		`{"authentication": {"usernme": 1}}`: "authentication.usernme",
	} {
		var verr struct {
			Error string `json:"error"`
			Field string `json:"field"`
		}
		code, raw := c.do("PATCH", "/api/webhooks/bot", body, &verr)
		if code != 400 || verr.Field != field || !strings.Contains(verr.Error, "unknown field") {
			t.Errorf("PATCH %s: %d %s, want a 400 naming %s", body, code, raw, field)
		}
	}
}

// TestAPIDescriptionLimit: a webhook's description is at most 1,024
// characters (not bytes: é is one), through POST and PATCH, refused naming
// the field, as name is at most 255; 900 KB were taken.
func TestAPIDescriptionLimit(t *testing.T) {
	te := newEnv(t, "", nil)
	c := te.api()
	long := strings.Repeat("é", 1025)
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/webhooks", `{"id": "bot", "endpoint": "https://example.com", "description": "` + long + `"}`},
		{"POST", "/api/webhooks", `{"id": "bot", "endpoint": "https://example.com", "description": "` + strings.Repeat("x", 900<<10) + `"}`},
		{"POST", "/api/webhooks/validate", `{"id": "bot", "endpoint": "https://example.com", "description": "` + long + `"}`},
	} {
		var verr struct {
			Error string `json:"error"`
			Field string `json:"field"`
		}
		code, raw := c.do(tc.method, tc.path, tc.body, &verr)
		if code != 400 || verr.Field != "description" || !strings.Contains(verr.Error, "characters long; the limit is 1024") {
			t.Errorf("%s %s with a long description: %d %.300s; want a 400 naming description and its limit", tc.method, tc.path, code, raw)
		}
	}
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "bot", "endpoint": "https://example.com", "description": "`+strings.Repeat("é", 1024)+`"}`, nil); code != 201 {
		t.Fatalf("create with 1024 characters: %d %.300s", code, raw)
	}
	var verr struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}
	if code, raw := c.do("PATCH", "/api/webhooks/bot", `{"description": "`+long+`"}`, &verr); code != 400 || verr.Field != "description" {
		t.Errorf("PATCH a long description: %d %.300s; want a 400 naming description", code, raw)
	}
}

// TestAPINameLimit: a webhook's name is at most 255 characters, counted
// as characters (runes, as Zendesk counts them), not bytes, as its message
// says: 255 é (510 bytes) were refused as "510 characters long".
func TestAPINameLimit(t *testing.T) {
	te := newEnv(t, "", nil)
	c := te.api()
	for _, path := range []string{"/api/webhooks/validate", "/api/webhooks"} {
		if code, raw := c.do("POST", path, `{"id": "bot", "endpoint": "https://example.com", "name": "`+strings.Repeat("é", 255)+`"}`, nil); code/100 != 2 {
			t.Fatalf("POST %s with a name of 255 characters (510 bytes): %d %.300s", path, code, raw)
		}
	}
	for _, tc := range []struct{ method, path, body string }{
		{"POST", "/api/webhooks/validate", `{"id": "bot2", "endpoint": "https://example.com", "name": "` + strings.Repeat("é", 256) + `"}`},
		{"POST", "/api/webhooks", `{"id": "bot2", "endpoint": "https://example.com", "name": "` + strings.Repeat("é", 256) + `"}`},
		{"PATCH", "/api/webhooks/bot", `{"name": "` + strings.Repeat("é", 256) + `"}`},
	} {
		var verr struct {
			Error string `json:"error"`
			Field string `json:"field"`
		}
		code, raw := c.do(tc.method, tc.path, tc.body, &verr)
		if code != 400 || verr.Field != "name" || !strings.Contains(verr.Error, "name is 256 characters long; the limit is 255") {
			t.Errorf("%s %s with a name of 256 characters: %d %.300s; want a 400 naming name, 256 characters", tc.method, tc.path, code, raw)
		}
	}
}

// TestAPIEndpointLimit: an endpoint is at most 2,048 characters, counted
// as characters as the message says (and as name is): 2,048 of them that
// take two bytes each were refused as "4,0xx characters long".
func TestAPIEndpointLimit(t *testing.T) {
	te := newEnv(t, "", nil)
	c := te.api()
	base := "https://example.com/"
	ok := base + strings.Repeat("é", 2048-len(base))
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "long", "endpoint": "`+ok+`"}`, nil); code/100 != 2 {
		t.Fatalf("POST an endpoint of 2048 characters (%d bytes): %d %.300s", len(ok), code, raw)
	}
	var verr struct {
		Error string `json:"error"`
		Field string `json:"field"`
	}
	code, raw := c.do("POST", "/api/webhooks/validate", `{"id": "longer", "endpoint": "`+ok+`é"}`, &verr)
	if code != 400 || verr.Field != "endpoint" || !strings.Contains(verr.Error, "endpoint is 2049 characters long; the limit is 2048") {
		t.Errorf("an endpoint of 2049 characters: %d %.300s; want a 400 naming endpoint, 2049 characters", code, raw)
	}
}

// TestAPIGetWebhookWarnings: GET /api/webhooks/{id} gives the webhook's
// warnings by field ({field, error}, as creating it did), so its page
// shows them beside their fields as it opens: a plain-HTTP endpoint's
// credentials and custom headers. Only the list said them (as text), so
// the page of the webhook they were about showed none until edited. A
// webhook without any gets [].
func TestAPIGetWebhookWarnings(t *testing.T) {
	te := newEnv(t, hookYAML("cfg", "http://127.0.0.1:9/c", "custom_headers: {X-Team: support}"), nil)
	c := te.api()
	c.do("POST", "/api/webhooks", `{"id": "plain", "endpoint": "http://127.0.0.1:9/x", "authentication": {"type": "bearer_token", "token": "tok"}}`, nil)
	c.do("POST", "/api/webhooks", `{"id": "fine", "endpoint": "https://example.com/x"}`, nil)
	for id, want := range map[string]string{
		"plain": `"warnings":[{"field":"authentication","error":"bearer_token credentials are sent in the clear to a plain-HTTP endpoint; use https"}]`,
		"cfg":   `"warnings":[{"field":"custom_headers","error":"custom headers are sent in the clear to a plain-HTTP endpoint; use https"}]`,
		"fine":  `"warnings":[]`,
	} {
		if code, raw := c.do("GET", "/api/webhooks/"+id, "", nil); code != 200 || !strings.Contains(raw, want) {
			t.Errorf("GET /api/webhooks/%s: %d %s\nwant %s", id, code, raw, want)
		}
	}
}

// TestEventsFieldErrors: an event of POST /api/events that does not fit
// (a field an event does not have, a value of the wrong kind) is refused
// naming the field, and in a list which event, as the webhook endpoints
// name theirs.
func TestEventsFieldErrors(t *testing.T) {
	te := newEnv(t, "", nil)
	c := te.api()
	for body, field := range map[string]string{
		`{"type": "a.b", "dat": {}}`:                   "dat",
		`[{"type": "a.b"}, {"type": "a.b", "dat": 1}]`: "1.dat",
		`{"type": 5}`:                    "type",
		`[{"type": "a.b"}, {"type": 5}]`: "1.type",
	} {
		var verr struct {
			Error string `json:"error"`
			Field string `json:"field"`
		}
		code, raw := c.do("POST", "/api/events", body, &verr)
		if code != 400 || verr.Field != field || strings.Contains(verr.Error, "Go ") {
			t.Errorf("POST /api/events %s: %d %s, want a 400 naming %s", body, code, raw, field)
		}
	}
}

// TestReadDataErrors: --data that is not a JSON object is refused saying
// what it is instead, in the words of JSON (not of Go's types).
func TestReadDataErrors(t *testing.T) {
	t.Parallel()
	empty := filepath.Join(t.TempDir(), "empty.json")
	os.WriteFile(empty, []byte(" \n"), 0o600)
	for _, tc := range []struct{ arg, want string }{
		{"", "--data is empty"},
		{"@" + empty, "--data @" + empty + " is empty"},
		{"[1]", "must be a JSON object, not a list"},
		{`"x"`, "not a string"},
		{"12", "not a number"},
		{"-1", "not a number"},
		{"null", "not null"},
		{"true", "not a boolean"},
		{`{"a":`, "must be a JSON object: malformed JSON at line 1, column 5: unexpected end of JSON input"},
		{"hello", "must be a JSON object: malformed JSON at line 1, column 1: invalid character 'h'"},
		{`{"a": 1} {}`, "must be a JSON object: malformed JSON at line 1, column 10: invalid character '{' after top-level value"},
	} {
		_, err := ReadData(tc.arg, nil)
		if err == nil || !errors.Is(err, inspect.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ReadData(%q) = %v, want an invalid-input error with %q", tc.arg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "Go value") {
			t.Errorf("ReadData(%q) names Go types: %v", tc.arg, err)
		}
	}
}

// TestLargeEventPostsTakeTurns: event posts past a MiB (or of unknown
// length) are read and decoded at most maxLargeEventPosts at a time, as
// a JSON body takes several times its size once decoded: eight 50 MB
// posts at once peaked at 1.7 GB. More wait for a place; small posts do
// not.
func TestLargeEventPostsTakeTurns(t *testing.T) {
	te := newEnv(t, "", nil)
	srv := httptest.NewServer(te.e.Handler())
	t.Cleanup(srv.Close)
	// Posts that hold a place: their headers promise 2 MiB, and they send
	// a few bytes of it, then wait.
	var stalled []net.Conn
	for range maxLargeEventPosts {
		c, err := net.Dial("tcp", srv.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		fmt.Fprintf(c, "POST /api/events HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n[", srv.Listener.Addr(), 2<<20)
		stalled = append(stalled, c)
	}
	post := func(body []byte) (int, error) {
		resp, err := http.Post(srv.URL+"/api/events", "application/json", bytes.NewReader(body))
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	// A small post goes through meanwhile.
	if code, err := post([]byte(`{"type":"a.b","data":{}}`)); err != nil || code != http.StatusAccepted {
		t.Fatalf("a small post while the large ones hold their places: %d %v", code, err)
	}
	// A large one waits for a place.
	filler := strings.Repeat("x", 2<<20)
	large := []byte(`{"type":"a.b","data":{"x":"` + filler + `"}}`)
	done := make(chan error, 1)
	go func() {
		code, err := post(large)
		if err == nil && code != http.StatusAccepted {
			err = fmt.Errorf("status %d", code)
		}
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("a third large post was taken in while %d held their places (%v)", maxLargeEventPosts, err)
	case <-time.After(300 * time.Millisecond):
	}
	// One of them gives up: its place goes to the waiting post.
	stalled[0].Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the waiting large post: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the waiting large post was not taken in once a place was free")
	}
}

// TestAPIRotateRefusesABody: POST .../signing_secret makes a new random
// secret and takes nothing; a body naming the secret to use was ignored,
// and the webhook went on signing with a secret its receiver did not
// have. It is refused, saying how to choose one, and the secret stays.
func TestAPIRotateRefusesABody(t *testing.T) {
	t.Parallel()
	te := newEnv(t, "", nil)
	c := te.api()
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "rot", "endpoint": "https://example.com/h", "signing": {"scheme": "github", "secret": "mine"}}`, nil); code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	var verr struct{ Error, Field string }
	for _, body := range []string{`{"secret": "chosen"}`, `{"signing": {"secret": "chosen"}}`, `[]`} {
		code, raw := c.do("POST", "/api/webhooks/rot/signing_secret", body, &verr)
		if code != 400 || !strings.Contains(verr.Error, "PATCH") {
			t.Errorf("rotate with %s: %d %s, want a 400 saying to PATCH signing.secret", body, code, raw)
		}
	}
	var sec struct {
		SigningSecret SigningSecret `json:"signing_secret"`
	}
	c.do("GET", "/api/webhooks/rot/signing_secret", nil, &sec)
	if sec.SigningSecret.Secret != "mine" {
		t.Errorf("after refused rotations the secret is %q, want mine", sec.SigningSecret.Secret)
	}
	// No body, or an empty object, rotates as before.
	for _, body := range []any{nil, `{}`} {
		if code, raw := c.do("POST", "/api/webhooks/rot/signing_secret", body, &sec); code != 200 || sec.SigningSecret.Secret == "mine" {
			t.Errorf("rotate with %v: %d %s", body, code, raw)
		}
	}
}

// TestAPIZendeskShapedWebhook: the body of a call to Zendesk's Webhooks API
// ({"webhook": {http_method, request_format, authentication: {type, data,
// add_position}, signing_secret, subscriptions: ["conditional_ticket_events"]}})
// makes the same webhook as hooklab's names do, and its deliveries carry
// the auth, the custom header and a zendesk signature made with the given
// secret. Names given both ways, and what Zendesk would refuse, are
// refused naming the field.
func TestAPIZendeskShapedWebhook(t *testing.T) {
	t.Parallel()
	s := newSink(t, nil)
	te := newEnv(t, "", nil)
	c := te.api()
	const secret = "zendesk-given-secret"
	body := `{"webhook": {
		"name": "Support bot", "status": "active",
		"endpoint": "` + s.URL + `/hooks/zendesk",
		"http_method": "PUT", "request_format": "json",
		"subscriptions": ["conditional_ticket_events"],
		"authentication": {"type": "basic_auth", "data": {"username": "bot", "password": "pw-123"}, "add_position": "header"},
		"custom_headers": {"X-Team": "support"},
		"signing_secret": {"algorithm": "SHA256", "secret": "` + secret + `"},
		"created_by": "-1", "external_source": {"type": "app_installation"}
	}}`
	var created struct {
		Webhook Webhook `json:"webhook"`
	}
	if code, raw := c.do("POST", "/api/webhooks", body, &created); code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	w := created.Webhook
	if w.Method != http.MethodPut || w.Format != FormatJSON || len(w.Subscriptions) != 0 ||
		w.Authentication == nil || w.Authentication.Type != AuthBasic || w.Authentication.Username != "bot" ||
		w.Signing == nil || w.Signing.Scheme != rules.SchemeZendesk {
		t.Fatalf("created %+v", w)
	}
	var res struct {
		Response struct {
			Status int `json:"status"`
		} `json:"response"`
	}
	if code, raw := c.do("POST", "/api/webhooks/"+w.ID+"/test", `{"payload": "{\"ticket\": {\"id\": 7}}"}`, &res); code != 200 || res.Response.Status != 200 {
		t.Fatalf("test send: %d %s", code, raw)
	}
	got := s.got()
	if len(got) != 1 {
		t.Fatalf("the sink got %d requests", len(got))
	}
	r := got[0]
	user, pass, _ := (&http.Request{Header: r.Header}).BasicAuth()
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(r.Header.Get("X-Zendesk-Webhook-Signature-Timestamp")))
	mac.Write(r.Body)
	if r.Method != http.MethodPut || r.URL != "/hooks/zendesk" || user != "bot" || pass != "pw-123" || r.Header.Get("X-Team") != "support" ||
		r.Header.Get("X-Zendesk-Webhook-Signature") != base64.StdEncoding.EncodeToString(mac.Sum(nil)) {
		t.Errorf("delivery %s %s %v %s", r.Method, r.URL, r.Header, r.Body)
	}

	// A PATCH in Zendesk's shape too.
	if code, raw := c.do("PATCH", "/api/webhooks/"+w.ID, `{"webhook": {"http_method": "POST", "authentication": {"type": "bearer_token", "data": {"token": "tok"}, "add_position": "header"}}}`, &created); code != 200 ||
		created.Webhook.Method != http.MethodPost || created.Webhook.Authentication.Type != AuthBearer {
		t.Errorf("patch: %d %s", code, raw)
	}

	for body, field := range map[string]string{
		`{"webhook": {"endpoint": "https://example.com", "http_method": "POST", "method": "PUT"}}`:                                                 "http_method",
		`{"endpoint": "https://example.com", "request_format": "json", "format": "xml"}`:                                                           "request_format",
		`{"endpoint": "https://example.com", "authentication": {"type": "api_key", "data": {"name": "K", "value": "v"}, "add_position": "query"}}`: "authentication.add_position",
		`{"endpoint": "https://example.com", "authentication": {"type": "basic_auth", "username": "a", "data": {"username": "b"}}}`:                "authentication.data.username",
		`{"endpoint": "https://example.com", "signing_secret": {"algorithm": "MD5", "secret": "x"}}`:                                               "signing_secret.algorithm",
		`{"endpoint": "https://example.com", "signing_secret": {"secret": "x", "bits": 1}}`:                                                        "signing_secret",
		`{"endpoint": "https://example.com", "authentication": {"type": "api_key", "data": {"header": "K"}, "add_position": "header"}}`:            "authentication.header",
	} {
		var verr struct {
			Error string `json:"error"`
			Field string `json:"field"`
		}
		if code, raw := c.do("POST", "/api/webhooks/validate", body, &verr); code != 400 || verr.Field != field {
			t.Errorf("%s: %d %s, want a 400 naming %s", body, code, raw, field)
		}
	}
}

// TestAPIZendeskConditionalWithEventTypes: subscriptions that hold both
// "conditional_ticket_events" (a webhook for triggers and automations) and
// event types ask for both connection methods, which Zendesk refuses: a
// webhook has one. The conditional entry was dropped without a word and
// the webhook made an event webhook, which the triggers meant for it are
// then refused.
func TestAPIZendeskConditionalWithEventTypes(t *testing.T) {
	t.Parallel()
	s := newSink(t, nil)
	te := newEnv(t, "", nil)
	c := te.api()
	body := `{"webhook": {"name": "mixed", "endpoint": "` + s.URL + `/hook", "http_method": "POST", "request_format": "json",
		"subscriptions": ["conditional_ticket_events", "zen:event-type:user.created"]}}`
	for _, path := range []string{"/api/webhooks/validate", "/api/webhooks"} {
		var verr struct {
			Error string `json:"error"`
			Field string `json:"field"`
		}
		code, raw := c.do("POST", path, body, &verr)
		if code != 400 || verr.Field != "subscriptions" || !strings.Contains(verr.Error, "conditional_ticket_events") || !strings.Contains(verr.Error, "zen:event-type:user.created") {
			t.Errorf("POST %s: %d %s, want a 400 on subscriptions naming both", path, code, raw)
		}
	}
	// Either alone is fine.
	for _, subs := range []string{`["conditional_ticket_events"]`, `["zen:event-type:user.created"]`} {
		b := `{"webhook": {"endpoint": "` + s.URL + `/hook", "subscriptions": ` + subs + `}}`
		if code, raw := c.do("POST", "/api/webhooks/validate", b, nil); code != 200 {
			t.Errorf("subscriptions %s: %d %s", subs, code, raw)
		}
	}
}

// TestTestSendParamsInOrder: a test send's params go as URL parameters
// (GET) or form fields (form_encoded) in the order given, as a trigger's
// do: as a list of [name, value] pairs, where a name may repeat, or as an
// object in the order written. They were taken as a map, sent sorted by
// name, and a name could not repeat.
func TestTestSendParamsInOrder(t *testing.T) {
	t.Parallel()
	s := newSink(t, nil)
	te := newEnv(t, "", nil)
	c := te.api()
	for _, def := range []string{
		`{"id": "get", "endpoint": "` + s.URL + `/get?b=0", "method": "GET", "signing": {"scheme": "none"}}`,
		`{"id": "form", "endpoint": "` + s.URL + `/form", "format": "form_encoded"}`,
	} {
		if code, raw := c.do("POST", "/api/webhooks", def, nil); code != 201 {
			t.Fatalf("create %s: %d %s", def, code, raw)
		}
	}
	const (
		list   = `[["z", "1"], ["a", "2"], ["z", "3"], ["m", "x y&"]]`
		object = `{"z": "1", "a": "2", "m": "x y&"}`
	)
	tests := []struct {
		name, path, body string
		want             string // the query (GET) or body (form) received
	}{
		{"get list", "/api/webhooks/get/test", `{"params": ` + list + `}`, "b=0&z=1&a=2&z=3&m=x+y%26"},
		{"get object", "/api/webhooks/get/test", `{"params": ` + object + `}`, "b=0&z=1&a=2&m=x+y%26"},
		{"form list", "/api/webhooks/form/test", `{"params": ` + list + `}`, "z=1&a=2&z=3&m=x+y%26"},
		{"form object", "/api/webhooks/form/test", `{"params": ` + object + `}`, "z=1&a=2&m=x+y%26"},
		{"unsaved get list", "/api/webhooks/test",
			`{"webhook": {"endpoint": "` + s.URL + `/get", "method": "GET"}, "params": ` + list + `}`, "z=1&a=2&z=3&m=x+y%26"},
		{"unsaved form list", "/api/webhooks/test",
			`{"webhook": {"endpoint": "` + s.URL + `/form", "format": "form_encoded"}, "params": ` + list + `}`, "z=1&a=2&z=3&m=x+y%26"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := s.count()
			var res TestResult
			if code, raw := c.do("POST", tt.path, tt.body, &res); code != 200 || res.Response == nil || res.Response.Status != 200 || s.count() != before+1 {
				t.Fatalf("POST %s: %d %s", tt.path, code, raw)
			}
			got := s.got()[before]
			u, err := url.Parse(got.URL)
			if err != nil {
				t.Fatal(err)
			}
			sent, answered := string(got.Body), res.Request.Body
			if got.Method == http.MethodGet {
				sent = u.RawQuery
				if ru, err := url.Parse(res.Request.URL); err == nil {
					answered = ru.RawQuery
				}
			}
			if sent != tt.want || answered != tt.want {
				t.Errorf("%s %s got %q (the answer says %q), want %q", got.Method, u.Path, sent, answered, tt.want)
			}
		})
	}

	refused := []struct{ name, params, field string }{
		{"name twice in an object", `{"a": "1", "a": "2"}`, "params.a"},
		{"number in an object", `{"a": 1}`, "params.a"},
		{"pair of one", `[["a", "1"], ["b"]]`, "params.1"},
		{"number value in a pair", `[["a", 1]]`, "params.0"},
		{"not a pair", `["a=1"]`, "params.0"},
		{"a string", `"a=1"`, "params"},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			before := s.count()
			var verr struct{ Field, Error string }
			code, raw := c.do("POST", "/api/webhooks/get/test", `{"params": `+tt.params+`}`, &verr)
			if code != 400 || verr.Field != tt.field || s.count() != before {
				t.Errorf("params %s: %d %s, want a 400 on %s and nothing sent", tt.params, code, raw, tt.field)
			}
		})
	}
}

// TestTestSendZendeskShape: a test send written as Zendesk's Test Webhook
// API takes it, {"request": {"endpoint", "http_method", "request_format",
// "authentication", "payload", "params", "headers"}}, tests that
// definition as hooklab's {"webhook": ..., "payload": ...} does; it was
// refused ("unknown field request"). A saved webhook's test takes the
// request's payload, params and headers, and refuses one that describes
// a webhook.
func TestTestSendZendeskShape(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, hookYAML("saved", s.URL+"/saved", ""), nil)
	c := te.api()
	var res TestResult
	code, raw := c.do("POST", "/api/webhooks/test", `{"request": {"endpoint": "`+s.URL+`/zd", "http_method": "POST", "request_format": "json",
		"authentication": {"type": "bearer_token", "data": {"token": "zd-token-42"}, "add_position": "header"},
		"payload": "{\"ticket\": {\"id\": 7}}", "headers": [{"key": "X-Team", "value": "support"}]}}`, &res)
	if code != 200 || res.Outcome != InvocationSuccess || res.Response == nil || res.Response.Status != 200 {
		t.Fatalf("Zendesk-shaped test send: %d %s", code, raw)
	}
	last := s.got()[len(s.got())-1]
	if last.Method != "POST" || last.URL != "/zd" || string(last.Body) != `{"ticket": {"id": 7}}` ||
		last.Header.Get("Authorization") != "Bearer zd-token-42" || last.Header.Get("X-Team") != "support" {
		t.Errorf("the receiver got %s %s %q with %v", last.Method, last.URL, last.Body, last.Header)
	}
	// Signed as Zendesk signs its test requests, and the token redacted
	// in the answer.
	if ok, why := rules.VerifySignature(rules.SchemeZendesk, TestSecret, last.Header, last.Body, te.clock.Now(), 0); !ok {
		t.Errorf("signature: %s", why)
	}
	if strings.Contains(raw, "zd-token-42") {
		t.Errorf("the answer shows the token: %s", raw)
	}

	// A GET with Zendesk's params list.
	code, raw = c.do("POST", "/api/webhooks/test", `{"request": {"endpoint": "`+s.URL+`/lookup", "http_method": "GET", "request_format": "json",
		"params": [{"key": "id", "value": "7"}, {"key": "tag", "value": "vip"}, {"key": "tag", "value": "gold"}]}}`, &res)
	if last := s.got()[len(s.got())-1]; code != 200 || last.Method != "GET" || last.URL != "/lookup?id=7&tag=vip&tag=gold" {
		t.Errorf("Zendesk-shaped GET test send: %d %s; the receiver got %s %s", code, raw, last.Method, last.URL)
	}

	// A saved webhook's test takes what to send from request.
	code, raw = c.do("POST", "/api/webhooks/saved/test", `{"request": {"payload": "{\"hi\": 1}"}}`, &res)
	if last := s.got()[len(s.got())-1]; code != 200 || last.URL != "/saved" || string(last.Body) != `{"hi": 1}` {
		t.Errorf("saved webhook's test with a request: %d %s; the receiver got %s %q", code, raw, last.URL, last.Body)
	}

	// ... and so does Zendesk's documented form, the saved webhook named
	// by ?webhook_id= (it was a 400: the route took no parameter).
	code, raw = c.do("POST", "/api/webhooks/test?webhook_id=saved", `{"request": {"payload": "{\"via\": \"query\"}", "headers": [{"key": "X-Via", "value": "query"}]}}`, &res)
	if last := s.got()[len(s.got())-1]; code != 200 || res.Outcome != InvocationSuccess || last.URL != "/saved" || string(last.Body) != `{"via": "query"}` || last.Header.Get("X-Via") != "query" {
		t.Errorf("test with ?webhook_id=saved: %d %s; the receiver got %s %q %v", code, raw, last.URL, last.Body, last.Header)
	}
	code, raw = c.do("POST", "/api/webhooks/test?webhook_id=saved", ``, &res)
	if last := s.got()[len(s.got())-1]; code != 200 || last.URL != "/saved" {
		t.Errorf("test with ?webhook_id=saved and no body: %d %s; the receiver got %s", code, raw, last.URL)
	}

	sent := len(s.got())
	for _, tc := range []struct {
		name, path, body string
		code             int
		msg              string
	}{
		{"webhook_id of no webhook", "/api/webhooks/test?webhook_id=nosuch", `{"request": {"payload": "x"}}`, 404, "nosuch"},
		{"webhook_id empty", "/api/webhooks/test?webhook_id=", `{"request": {"payload": "x"}}`, 400, "webhook_id is empty"},
		{"webhook_id twice", "/api/webhooks/test?webhook_id=saved&webhook_id=other", `{}`, 400, "webhook_id is given 2 times"},
		{"webhook_id on a webhook's own test", "/api/webhooks/saved/test?webhook_id=saved", `{}`, 400, `takes no parameters (got "webhook_id")`},
		{"webhook_id and a definition", "/api/webhooks/test?webhook_id=saved", `{"request": {"endpoint": "` + s.URL + `/elsewhere"}}`, 400, "tested as it is"},
	} {
		var e struct {
			Error string `json:"error"`
		}
		if code, raw := c.do("POST", tc.path, tc.body, &e); code != tc.code || !strings.Contains(e.Error, tc.msg) {
			t.Errorf("%s: %d %s, want %d saying %q", tc.name, code, raw, tc.code, tc.msg)
		}
	}
	for _, tc := range []struct{ name, path, body, field, msg string }{
		{"saved webhook redefined", "/api/webhooks/saved/test", `{"request": {"endpoint": "` + s.URL + `/elsewhere"}}`, "request.endpoint", "tested as it is"},
		{"both shapes", "/api/webhooks/test", `{"request": {"endpoint": "` + s.URL + `"}, "payload": "x"}`, "request", "not both"},
		{"unknown field", "/api/webhooks/test", `{"request": {"endpoint": "` + s.URL + `", "verb": "POST"}}`, "request.verb", "http_method"},
		{"not an object", "/api/webhooks/test", `{"request": "` + s.URL + `"}`, "request", `"http_method"`},
		{"bad key/value", "/api/webhooks/test", `{"request": {"endpoint": "` + s.URL + `", "headers": [{"key": "X-A", "value": 1}]}}`, "request.headers", "both strings"},
		{"bad authentication", "/api/webhooks/test", `{"request": {"endpoint": "` + s.URL + `", "authentication": {"type": "bearer_token", "data": {"token": "t"}, "add_position": "body"}}}`,
			"request.authentication.add_position", `only "header"`},
	} {
		var verr struct {
			Errors []FieldError `json:"errors"`
		}
		code, raw := c.do("POST", tc.path, tc.body, &verr)
		if code != 400 || !slices.ContainsFunc(verr.Errors, func(fe FieldError) bool { return fe.Field == tc.field && strings.Contains(fe.Msg, tc.msg) }) {
			t.Errorf("%s: %d %s, want 400 on %s saying %q", tc.name, code, raw, tc.field, tc.msg)
		}
	}
	if len(s.got()) != sent {
		t.Errorf("refused test sends reached the receiver: %d requests, want %d", len(s.got()), sent)
	}
}

// formatWebhooks makes a webhook of each format, named after it, whose
// endpoint is base/FORMAT.
func formatWebhooks(t *testing.T, c apiClient, base string) {
	t.Helper()
	for _, f := range []string{FormatJSON, FormatXML, FormatForm} {
		if code, raw := c.do("POST", "/api/webhooks", map[string]any{"id": f, "endpoint": base + "/" + f, "format": f}, nil); code != 201 {
			t.Fatalf("create %s: %d %s", f, code, raw)
		}
	}
}
