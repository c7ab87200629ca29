package emit

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the zones of TestCronClockChanges, wherever the tests run

	"github.com/hooklab/hooklab/rules"
)

var issueEnv = map[string]string{"BOT_PASSWORD": "hunter2-bot", "SIGNING_SECRET": "dGhpcyBpcyBhIHNlY3JldA=="}

// TestIssueExample runs the issue's YAML, verbatim in testdata, against a
// sink: an urgent ticket reaches support-bot through the trigger (basic
// auth, X-Team, zendesk signature, the Liquid payload) and audit through
// the subscription (the envelope, standard-webhooks signature); a normal
// ticket only reaches audit.
func TestIssueExample(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	yaml := strings.ReplaceAll(readFile(t, "testdata/issue.yaml"), "http://127.0.0.1:3000", s.URL)
	te := newEnv(t, "", nil, func(o *Options) { o.Getenv = func(k string) string { return issueEnv[k] }; o.AccountID = 12345 })
	cfg := issueConfig(t, yaml)
	if err := te.e.SetConfig(cfg); err != nil {
		t.Fatalf("SetConfig: %v", err)
	}
	if w := strings.Join(te.e.Warnings(), "\n"); len(te.e.Warnings()) != 2 || !strings.Contains(w, "hooklab.yaml:8:21: webhook support-bot: custom_headers: custom headers are sent in the clear") ||
		!strings.Contains(w, "hooklab.yaml:7:21: webhook support-bot: authentication: basic_auth credentials are sent in the clear") {
		t.Errorf("warnings = %q, want one for the custom header (line 8) and one for the credentials (line 7) to a plain-HTTP endpoint", w)
	}

	ticket := `{"ticket": {"id": 35436, "priority": "urgent", "subject": "Help, my \"printer\" is on fire!\n", "requester": {"email": "jdoe@example.com"}}}`
	q := te.emit("ticket.created", ticket)
	if len(q) != 2 {
		t.Fatalf("queued %+v, want 2 invocations", q)
	}
	causes := map[string]string{}
	for _, x := range q {
		causes[x.WebhookID] = x.Cause
		te.drive(x.ID)
	}
	if causes["audit"] != "subscription" || causes["support-bot"] != "trigger:urgent-ticket" {
		t.Errorf("causes = %v", causes)
	}
	byPath := map[string]sunk{}
	for _, r := range s.got() {
		byPath[r.URL] = r
	}
	bot, ok := byPath["/hooks/zendesk"]
	if !ok {
		t.Fatalf("support-bot got nothing; sink got %v", s.got())
	}
	wantBody := `{"id": "35436", "subject": "Help, my \"printer\" is on fire!\n", "requester": "jdoe@example.com"}`
	if string(bot.Body) != wantBody {
		t.Errorf("support-bot body\n got %s\nwant %s", bot.Body, wantBody)
	}
	if u, p, ok := (&http.Request{Header: bot.Header}).BasicAuth(); !ok || u != "bot" || p != "hunter2-bot" {
		t.Errorf("basic auth = %q %q %v", u, p, ok)
	}
	if bot.Header.Get("X-Team") != "support" || bot.Header.Get("Content-Type") != "application/json" {
		t.Errorf("headers = %v", bot.Header)
	}
	if ok, why := rules.VerifySignature(rules.SchemeZendesk, issueEnv["SIGNING_SECRET"], bot.Header, bot.Body, te.clock.Now(), 0); !ok {
		t.Errorf("zendesk signature: %s", why)
	}
	if bot.Header.Get("X-Zendesk-Webhook-Id") != "support-bot" || bot.Header.Get("X-Zendesk-Webhook-Invocation-Id") == "" {
		t.Errorf("zendesk id headers = %v", bot.Header)
	}
	audit := byPath["/audit"]
	if ok, why := rules.VerifySignature(rules.SchemeStandardWebhooks, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", audit.Header, audit.Body, te.clock.Now(), 0); !ok {
		t.Errorf("standard-webhooks signature: %s", why)
	}
	var env map[string]any
	if err := json.Unmarshal(audit.Body, &env); err != nil {
		t.Fatalf("audit body: %v", err)
	}
	for _, k := range []string{"id", "type", "time", "subject", "detail", "event", "account_id", "version", "zendesk_event_version"} {
		if _, ok := env[k]; !ok {
			t.Errorf("envelope lacks %q: %s", k, audit.Body)
		}
	}
	if env["type"] != "ticket.created" || env["subject"] != "zen:ticket:35436" || env["account_id"] != float64(12345) {
		t.Errorf("envelope = %s", audit.Body)
	}
	if d, _ := env["detail"].(map[string]any); d["ticket"] == nil {
		t.Errorf("envelope detail = %v", env["detail"])
	}

	// A ticket that is not urgent only reaches the subscription.
	q = te.emit("ticket.created", `{"ticket": {"id": 1, "priority": "low"}}`)
	if len(q) != 1 || q[0].WebhookID != "audit" {
		t.Errorf("low priority ticket queued %+v, want audit only", q)
	}
	// Another ticket event matches the subscription's glob, not the trigger.
	q = te.emit("ticket.comment.added", `{"ticket": {"id": 1, "priority": "urgent"}}`)
	if len(q) != 1 || q[0].WebhookID != "audit" {
		t.Errorf("ticket.comment.added queued %+v, want audit only", q)
	}
	if q := te.emit("user.created", `{}`); len(q) != 0 {
		t.Errorf("user.created queued %+v, want none", q)
	}
}

var envRefRE = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}`)

// issueConfig parses the issue's YAML. yaml.v3 (inside rules.Parse) refuses
// a plain ${NAME} inside a flow mapping ({... password: ${BOT_PASSWORD}}),
// so until rules accepts it (see TestIssueYAMLVerbatim) the references are
// quoted, which is the only change made to the file.
func issueConfig(t *testing.T, yaml string) *rules.Config {
	t.Helper()
	if cfg, err := rules.Parse([]byte(yaml), "hooklab.yaml", nil); err == nil {
		return cfg
	}
	return parseConfig(t, envRefRE.ReplaceAllString(yaml, `"$0"`), nil)
}

// TestIssueYAMLVerbatim parses the issue's YAML exactly as written. It
// skips, saying why, while rules.Parse rejects ${NAME} in flow mappings.
func TestIssueYAMLVerbatim(t *testing.T) {
	t.Parallel()
	cfg, err := rules.Parse([]byte(readFile(t, "testdata/issue.yaml")), "hooklab.yaml", nil)
	if err != nil {
		t.Fatalf("rules.Parse rejects the issue's YAML verbatim: %v", err)
	}
	if _, err := Check(cfg, func(k string) string { return issueEnv[k] }, nil); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

// TestTriggerEmptyAny: Zendesk writes a trigger's conditions as
// {all: [...], any: []}, an empty any meaning none; hooklab takes it so.
func TestTriggerEmptyAny(t *testing.T) {
	t.Parallel()
	src := "webhooks:\n  - id: a\n    endpoint: https://example.com/a\ntriggers:\n  - name: t\n    when:\n      event: ticket.created\n" +
		"      all: [{path: ticket.priority, op: eq, value: urgent}]\n      any: []\n    notify: {webhook: a, payload: '{}'}\n"
	cfg, err := rules.Parse([]byte(src), "hooklab.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Check(cfg, nil, nil); err != nil {
		t.Errorf("a trigger with any: [] was refused: %v", err)
	}
}

// TestConfigErrors checks that every problem in the emit sections is
// reported with its file:line:col.
func TestConfigErrors(t *testing.T) {
	t.Parallel()
	const base = "webhooks:\n  - id: a\n    endpoint: https://example.com/a\n"
	tests := []struct {
		name string
		yaml string
		env  map[string]string
		want []string
	}{
		{"unknown key", base + "    endpont: x\n", nil, []string{`hooklab.yaml:4:5: webhook a: unknown key "endpont" (did you mean "endpoint"?)`}},
		// A value from the environment is often a secret: messages name
		// the variable instead of quoting it.
		{"env value kept out", base + "    timeout: ${TOK}\n", map[string]string{"TOK": `sk_live_"SECRET`},
			[]string{`hooklab.yaml:4:14: webhook a: timeout: want a duration such as 300ms or 1m (or a number of seconds), got "${TOK}"`}},
		{"missing env", base + "    authentication:\n      type: bearer_token\n      token: ${TOKEN}\n", nil,
			[]string{"hooklab.yaml:6:14: webhook a: authentication token: environment variable TOKEN is not set"}},
		{"refused header", base + "    custom_headers:\n      X-Forwarded-For: 1.2.3.4\n", nil,
			[]string{"hooklab.yaml:5:7: webhook a: custom_headers.X-Forwarded-For: header names starting with x-forwarded are reserved"}},
		{"bad method", base + "    method: FETCH\n", nil, []string{`hooklab.yaml:4:13: webhook a: method must be GET, POST, PUT, PATCH or DELETE, got "FETCH"`}},
		{"bad scheme", base + "    signing: {scheme: hmac, secret: x}\n", nil,
			[]string{`hooklab.yaml:4:23: webhook a: signing.scheme: signing scheme must be one of zendesk, standard-webhooks, github, stripe, slack, shopify or none, got "hmac"`}},
		{"duplicate id", base + "  - id: a\n    endpoint: https://example.com/b\n", nil, []string{"hooklab.yaml:4:9: webhook a: duplicate id"}},
		{"secret and secrets", base + "    signing: {scheme: github, secret: one, secrets: [two, three]}\n", nil,
			[]string{"hooklab.yaml:4:53: webhook a: signing: give secret or secrets, not both"}},
		{"secrets and secret", base + "    signing: {scheme: github, secrets: [two], secret: one}\n", nil,
			[]string{"hooklab.yaml:4:55: webhook a: signing: give secret or secrets, not both"}},
		// Every secret of a rotation list signs: an older one that cannot
		// is refused as the first is, not found at the first delivery.
		{"bad older secret", base + "    signing: {scheme: standard-webhooks, secrets: [whsec_c2VjcmV0c2VjcmV0c2VjcmV0, 'not base64!']}\n", nil,
			[]string{"hooklab.yaml:4:84: webhook a: signing.secrets.1: standard-webhooks secret must be base64, optionally after whsec_"}},
		{"empty older secret", base + "    signing: {scheme: github, secrets: [one, two, '']}\n", nil,
			[]string{"hooklab.yaml:4:51: webhook a: signing.secrets.2: secret is empty"}},
		{"bad max_payload", base + "    max_payload: 1 KB or so\n", nil,
			[]string{`hooklab.yaml:4:18: webhook a: max_payload: want a size: a number of bytes, or a number and a unit: B, KiB or KB, MiB or MB, GiB or GB, TiB or TB (K, M, G and T are KiB, MiB, GiB and TiB), such as 10MiB or 1.5GB; got "1 KB or so"`}},
		// A description had no limit: 900 KB were taken.
		{"description too long", base + "    description: " + strings.Repeat("é", 1025) + "\n", nil,
			[]string{"hooklab.yaml:4:18: webhook a: description is 1025 characters long; the limit is 1024"}},
		// Characters, not bytes: 255 é were refused as 510 characters.
		{"name too long", base + "    name: " + strings.Repeat("é", 256) + "\n", nil,
			[]string{"hooklab.yaml:4:11: webhook a: name is 256 characters long; the limit is 255"}},
		{"zero timeout", base + "    timeout: 0\n", nil, []string{"hooklab.yaml:4:14: webhook a: timeout: want between 1ms and 5m, got 0"}},
		{"strict plain http", "webhooks:\n  - id: a\n    endpoint: http://example.com/a\n    strict: true\n    custom_headers: {X-A: b}\n", nil,
			[]string{"hooklab.yaml:5:21: webhook a: custom_headers: custom headers are sent in the clear to a plain-HTTP endpoint; use https"}},
		{"unknown webhook", base + "triggers:\n  - name: t\n    when: {event: x.y}\n    notify: {webhook: nope, payload: '{}'}\n", nil,
			[]string{`hooklab.yaml:7:23: trigger t: webhook "nope" is not defined`}},
		{"trigger without event", base + "triggers:\n  - name: t\n    when: {all: [{path: a, op: eq, value: 1}]}\n    notify: {webhook: a}\n", nil,
			[]string{"hooklab.yaml:6:11: trigger t: when.event is required (an event type or a glob such as ticket.*)"}},
		{"bad condition op", base + "triggers:\n  - name: t\n    when:\n      event: x.y\n      all:\n        - {path: a, op: equals, value: 1}\n    notify: {webhook: a}\n", nil,
			[]string{`hooklab.yaml:9:25: trigger t: json op: unknown operator "equals"`}},
		{"subscription and trigger", base + "subscriptions:\n  - webhook: a\n    events: [x.*]\ntriggers:\n  - name: t\n    when: {event: x.y}\n    notify: {webhook: a}\n", nil,
			[]string{"hooklab.yaml:10:23: trigger t: webhook a is already connected to a subscription (hooklab.yaml:5); a webhook is connected either to subscriptions or to triggers and automations, never both"}},
		{"subscription to a PUT webhook", base + "    method: PUT\nsubscriptions:\n  - webhook: a\n    events: [x.*]\n", nil,
			[]string{"hooklab.yaml:6:14: subscription 1: webhook a is connected to event subscriptions, which are always POST with json format; it is PUT json"}},
		{"params with a json POST", base + "triggers:\n  - name: t\n    when: {event: x.y}\n    notify: {webhook: a, params: {a: b}}\n", nil,
			[]string{"hooklab.yaml:7:34: trigger t notify: params are sent with GET and DELETE or with form_encoded webhooks; webhook a is POST json, use payload"}},
		{"payload and params with a form webhook", base + "    format: form_encoded\ntriggers:\n  - name: t\n    when: {event: x.y}\n    notify: {webhook: a, payload: 'a=1', params: {b: c}}\n", nil,
			[]string{"hooklab.yaml:8:50: trigger t notify: webhook a is form_encoded: give payload or params as its body, not both"}},
		{"payload never JSON", base + "triggers:\n  - name: t\n    when: {event: x.y}\n    notify: {webhook: a, payload: 'plain text {{x}}'}\n", nil,
			[]string{"hooklab.yaml:7:35: trigger t notify: webhook a is json, but this payload is never valid JSON, whatever its placeholders hold (invalid character 'p' looking for beginning of value)"}},
		{"xml payload key no XML name", base + "    format: xml\ntriggers:\n  - name: t\n    when: {event: x.y}\n    notify: {webhook: a, payload: {\"1bad\": v}}\n", nil,
			[]string{`hooklab.yaml:8:35: trigger t notify: webhook a is xml: payload key "1bad" is not an XML element name`}},
		{"xml payload never XML", base + "    format: xml\ntriggers:\n  - name: t\n    when: {event: x.y}\n    notify: {webhook: a, payload: '<a>{{x}}</b>'}\n", nil,
			[]string{"hooklab.yaml:8:35: trigger t notify: webhook a is xml, but this payload is never valid XML, whatever its placeholders hold (XML syntax error on line 1: element <a> closed by </b>)"}},
		// The XML decoder reads text alone, or two elements, as a
		// document: a JSON payload went out labelled application/xml.
		{"xml payload JSON", base + "    format: xml\ntriggers:\n  - name: t\n    when: {event: x.y}\n    notify: {webhook: a, payload: '{\"id\": \"{{x}}\"}'}\n", nil,
			[]string{`hooklab.yaml:8:35: trigger t notify: webhook a is xml, but this payload is never valid XML, whatever its placeholders hold (text outside the root element ("{\"id\": \"x\"}"))`}},
		{"xml payload two roots", base + "    format: xml\ntriggers:\n  - name: t\n    when: {event: x.y}\n    notify: {webhook: a, payload: '<a>{{x}}</a><b/>'}\n", nil,
			[]string{"hooklab.yaml:8:35: trigger t notify: webhook a is xml, but this payload is never valid XML, whatever its placeholders hold (a second root element <b>)"}},
		{"xml payload in another encoding", base + "    format: xml\ntriggers:\n  - name: t\n    when: {event: x.y}\n    notify: {webhook: a, payload: '<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>{{x}}</a>'}\n", nil,
			[]string{`hooklab.yaml:8:35: trigger t notify: webhook a is xml, but this payload is never valid XML, whatever its placeholders hold (xml: opening charset "ISO-8859-1": placeholders write UTF-8: declare encoding="UTF-8" or none)`}},
		{"payload with GET", "webhooks:\n  - id: a\n    endpoint: https://example.com/a\n    method: GET\ntriggers:\n  - name: t\n    when: {event: x.y}\n    notify: {webhook: a, payload: x}\n", nil,
			[]string{"hooklab.yaml:8:35: trigger t notify: webhook a uses GET, which sends no body; use params"}},
		{"bad liquid", base + "triggers:\n  - name: t\n    when: {event: x.y}\n    notify: {webhook: a, payload: '{% if x %}'}\n", nil,
			[]string{"hooklab.yaml:7:35: trigger t: notify payload: liquid:"}},
		{"bad automation schedule", base + "automations:\n  - name: n\n    every: often\n    notify: {webhook: a}\n", nil,
			[]string{`hooklab.yaml:6:12: automation n: every: want a duration such as 1h or a cron expression such as "0 * * * *"`}},
		// cron: takes no duration, so its error does not offer one.
		{"duration as cron", base + "automations:\n  - name: n\n    cron: 1h\n    notify: {webhook: a}\n", nil,
			[]string{`hooklab.yaml:6:11: automation n: cron: want a cron expression such as "0 * * * *" (a duration such as 1h goes in every:): want 5 fields`}},
		// The hint about every: is for a duration written in cron: only;
		// beside a cron expression that is wrong it misleads.
		{"cron that never runs", base + "automations:\n  - name: n\n    cron: 0 0 31 2 *\n    notify: {webhook: a}\n", nil,
			[]string{`hooklab.yaml:6:11: automation n: cron: want a cron expression such as "0 * * * *": "0 0 31 2 *" never runs: no month has that day`}},
		{"cron minute out of range", base + "automations:\n  - name: n\n    cron: 61 * * * *\n    notify: {webhook: a}\n", nil,
			[]string{`hooklab.yaml:6:11: automation n: cron: want a cron expression such as "0 * * * *": minute: "61" is outside 0-59`}},
		// Cron's other forms say what to write instead.
		{"cron @reboot", base + "automations:\n  - name: n\n    cron: '@reboot'\n    notify: {webhook: a}\n", nil,
			[]string{`hooklab.yaml:6:11: automation n: cron: want a cron expression such as "0 * * * *": @reboot is not supported: automations run on a schedule while hooklab runs; for a delivery at start, send an event once it is up (hooklab send)`}},
		{"cron unknown @name", base + "automations:\n  - name: n\n    cron: '@fortnightly'\n    notify: {webhook: a}\n", nil,
			[]string{`automation n: cron: want a cron expression such as "0 * * * *": unknown "@fortnightly": the names are @hourly, @daily, @midnight, @weekly, @monthly, @yearly, @annually or @every DURATION`}},
		{"cron @every without a duration", base + "automations:\n  - name: n\n    cron: '@every 5 minutes'\n    notify: {webhook: a}\n", nil,
			[]string{`hooklab.yaml:6:11: automation n: cron: @every takes one duration, such as @every 5m (or write every: 5m)`}},
		{"cron @every under a second", base + "automations:\n  - name: n\n    cron: '@every 100ms'\n    notify: {webhook: a}\n", nil,
			[]string{`hooklab.yaml:6:11: automation n: cron: @every wants at least 1s, got 100ms`}},
		{"cron with seconds", base + "automations:\n  - name: n\n    cron: '*/10 * * * * *'\n    notify: {webhook: a}\n", nil,
			[]string{`got 6: there is no seconds field; for runs under a minute apart write every: such as every: 30s`}},
		{"cron with a time zone", base + "automations:\n  - name: n\n    cron: 'CRON_TZ=Europe/Paris 0 9 * * *'\n    notify: {webhook: a}\n", nil,
			[]string{`a time zone prefix (CRON_TZ=Europe/Paris) is not supported: cron times are in hooklab's local time zone; start hooklab with TZ set (TZ=Europe/Paris hooklab)`}},
		{"bad rate", base + "    rate_limit: lots\n", nil, []string{`hooklab.yaml:4:17: webhook a: rate_limit: want a rate such as 60/min, got "lots"`}},
		{"too many headers", base + "    custom_headers: {A: 1, B: 2, C: 3, D: 4, E: 5, F: 6}\n", nil,
			[]string{"hooklab.yaml:4:21: webhook a: custom_headers: at most 5 custom headers are allowed, got 6"}},
		{"custom header the signature sets", base + "    signing: {scheme: stripe, secret: whsec_x}\n    custom_headers: {Stripe-Signature: forged}\n", nil,
			[]string{"hooklab.yaml:5:22: webhook a: custom_headers.Stripe-Signature: Stripe-Signature is set by stripe signing"}},
		{"api key header the signature sets", base + "    signing: {scheme: github, secret: s}\n    authentication: {type: api_key, name: x-hub-signature-256, value: k}\n", nil,
			[]string{"hooklab.yaml:5:43: webhook a: authentication.name: x-hub-signature-256 is set by github signing"}},
		{"bad retry", base + "    retry: {backoff: fibonacci}\n", nil, []string{`hooklab.yaml:4:22: webhook a: retry.backoff: backoff must be exponential, linear or schedule, got "fibonacci"`}},
		{"a bad item of a list: at the item", base + "    retry: {statuses: [429, 999]}\n", nil, []string{`hooklab.yaml:4:29: webhook a: retry.statuses.1: status must be between 100 and 599, got 999`}},
		// A value that does not decode: at the item, quoted, not at the
		// list (nor at its key).
		{"a bad duration in a schedule: at the item", base + "    retry:\n      schedule: [5s, 10x, 1m]\n", nil,
			[]string{`hooklab.yaml:5:22: webhook a: retry schedule: want durations such as 5s or 30m, got "10x"`}},
		{"a bad status in a block list: at the item", base + "    retry:\n      statuses:\n        - 500\n        - abc\n", nil,
			[]string{`hooklab.yaml:7:11: webhook a: retry statuses: want status codes, got "abc"`}},
		{"a bad retry_after status: at the item", base + "    retry: {retry_after_statuses: [429, x503]}\n", nil,
			[]string{`hooklab.yaml:4:41: webhook a: retry retry_after_statuses: want status codes, got "x503"`}},
		{"a bad event pattern of a subscription: at the item", base + "subscriptions:\n  - webhook: a\n    events:\n      - ticket.*\n      - 'x['\n", nil,
			[]string{`hooklab.yaml:8:9: subscription 1: events: bad event type pattern "x["`}},
		{"a bad event pattern of a trigger: at the item", base + "triggers:\n  - name: t\n    when: {event: [a.b, '[z']}\n    notify: {webhook: a}\n", nil,
			[]string{`hooklab.yaml:6:25: trigger t: when event: bad event type pattern "[z"`}},
		// The JSON API's keys (Zendesk's names, read-only fields of its
		// answers) say what the file takes instead, not only the keys.
		{"api http_method", base + "    http_method: PUT\n", nil,
			[]string{`hooklab.yaml:4:5: webhook a: "http_method" is the JSON API's key (Zendesk's name for method); in the config file write method: PUT`}},
		{"api request_format", base + "    request_format: xml\n", nil,
			[]string{`hooklab.yaml:4:5: webhook a: "request_format" is the JSON API's key (Zendesk's name for format); in the config file write format: xml`}},
		{"api signing_secret", base + "    signing_secret: {algorithm: SHA256, secret: s}\n", nil,
			[]string{`hooklab.yaml:4:5: webhook a: "signing_secret" is the JSON API's key (Zendesk's shape of signing); in the config file write signing: {scheme: zendesk, secret: ...}`}},
		{"api subscriptions", base + "    subscriptions: [ticket.created]\n", nil,
			[]string{`hooklab.yaml:4:5: webhook a: "subscriptions" is the JSON API's key; in the config file a webhook is connected to event types by the top-level subscriptions: section`}},
		{"api read-only created_at", base + "    created_at: 2026-01-02T03:04:05Z\n", nil,
			[]string{`hooklab.yaml:4:5: webhook a: "created_at" is a read-only field of the JSON API's answers; it is not set in the config file: take it out`}},
		{"api read-only circuit", base + "    circuit: closed\n", nil,
			[]string{`hooklab.yaml:4:5: webhook a: "circuit" is a read-only field of the JSON API's answers`}},
		{"zendesk read-only created_by", base + "    created_by: me\n", nil,
			[]string{`hooklab.yaml:4:5: webhook a: "created_by" is a read-only field of Zendesk's API; it is not set in the config file`}},
		{"api authentication data", base + "    authentication: {type: bearer_token, data: {token: t}}\n", nil,
			[]string{`hooklab.yaml:4:42: webhook a: authentication: "data" is the JSON API's key (Zendesk's shape); in the config file write its keys in authentication itself`}},
		{"api authentication add_position", base + "    authentication: {type: bearer_token, token: t, add_position: header}\n", nil,
			[]string{`hooklab.yaml:4:52: webhook a: authentication: "add_position" is the JSON API's key (Zendesk's, always header); it is not set in the config file`}},
		{"api signing previous", base + "    signing: {scheme: stripe, secret: whsec_x, previous: [{secret: old}]}\n", nil,
			[]string{`hooklab.yaml:4:48: webhook a: signing: "previous" is a read-only field of the JSON API's answers (the secrets a rotation keeps signing); in the config file list them after the current one: secrets: [new, old]`}},
		{"zero attempts", base + "    retry: {max_attempts: 0}\n", nil, []string{`hooklab.yaml:4:27: webhook a: retry.max_attempts: max_attempts must be between 1 and 100, got 0`}},
		// Waits that would overflow to an immediate retry (a linear backoff
		// grown by its attempts, a time past 2262).
		{"wait too long", base + "    retry: {backoff: linear, initial: 1000000h}\n", nil, []string{`hooklab.yaml:4:39: webhook a: retry.initial: initial must be at most 720h0m0s, got 1000000h0m0s`}},
		{"max too long", base + "    retry: {max: 2562047h}\n", nil, []string{`webhook a: retry.max: max must be at most 720h0m0s`}},
		{"retry after too long", base + "    retry: {retry_after_max: 8760h}\n", nil, []string{`webhook a: retry.retry_after_max: retry_after_max must be at most 720h0m0s`}},
		{"schedule wait too long", base + "    retry: {schedule: [1s, 9000h]}\n", nil, []string{`webhook a: retry.schedule.1: waits must be at most 720h0m0s, got 9000h0m0s`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := parseConfig(t, tt.yaml, nil)
			e, err := Open(Options{Memory: true, Getenv: func(k string) string { return tt.env[k] }})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			err = e.SetConfig(cfg)
			var errs *rules.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("Check = %v, want *rules.Errors", err)
			}
			got := errs.Error()
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("errors:\n%s\nwant one containing\n%s", got, w)
				}
			}
		})
	}
}

// TestConfigNameCharacters: a config webhook's name of 255 characters is
// taken however many bytes they are (255 é are 510), as the API takes it:
// the limit counted bytes, and said characters.
func TestConfigNameCharacters(t *testing.T) {
	t.Parallel()
	cfg := parseConfig(t, "webhooks:\n  - id: a\n    endpoint: https://example.com/a\n    name: "+strings.Repeat("é", 255)+"\n", nil)
	if _, err := Check(cfg, func(string) string { return "" }, nil); err != nil {
		t.Fatalf("Check: %v", err)
	}
}

// TestConfigOwnAPIEndpoint: a config webhook whose endpoint is hooklab's
// own API (the address Options.Refuse refuses) is refused at its endpoint's
// line, at load (SetConfig), on a reload's check (CheckConfig) and by
// Check, as the API refuses it (400): it was taken, and every delivery
// then refused as sent.
func TestConfigOwnAPIEndpoint(t *testing.T) {
	t.Parallel()
	refuse := func(address string) error {
		if _, port, _ := net.SplitHostPort(address); port == "4040" {
			return errors.New("own API")
		}
		return nil
	}
	const yaml = "webhooks:\n  - id: ok\n    endpoint: http://127.0.0.1:4041/x\n  - id: self\n    endpoint: http://localhost:4040/hooks\n"
	const want = "hooklab.yaml:5:15: webhook self: endpoint http://localhost:4040/hooks is hooklab's own API"
	e, err := Open(Options{Memory: true, Refuse: refuse})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	for name, err := range map[string]error{
		"SetConfig":   e.SetConfig(parseConfig(t, yaml, nil)),
		"CheckConfig": e.CheckConfig(parseConfig(t, yaml, nil)),
		"Check":       func() error { _, err := Check(parseConfig(t, yaml, nil), nil, refuse); return err }(),
	} {
		var errs *rules.Errors
		if !errors.As(err, &errs) || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "webhook ok") {
			t.Errorf("%s: %v\nwant a *rules.Errors saying %s", name, err, want)
		}
	}
	if e.webhook("self") != nil {
		t.Errorf("the refused config was applied")
	}
	// Without Refuse (another address) it is taken.
	if _, err := Check(parseConfig(t, yaml, nil), nil, nil); err != nil {
		t.Errorf("Check without refuse: %v", err)
	}
}

// TestConfigBadRateOneError: a rate that does not parse is one error, not
// also a zero limit and window.
func TestConfigBadRateOneError(t *testing.T) {
	t.Parallel()
	cfg := parseConfig(t, "webhooks:\n  - id: a\n    endpoint: https://example.com/a\n    rate_limit: 1.5/s\n", nil)
	e, err := Open(Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var errs *rules.Errors
	if err := e.SetConfig(cfg); !errors.As(err, &errs) {
		t.Fatalf("SetConfig = %v, want *rules.Errors", err)
	}
	if want := `hooklab.yaml:4:17: webhook a: rate_limit: want a rate such as 60/min, got "1.5/s"`; len(errs.List) != 1 || errs.Error() != want {
		t.Errorf("errors:\n%s\nwant only\n%s", errs.Error(), want)
	}
}

// TestConfigUnsetVariableOneError: a ${VAR} that is unset is one error,
// the one naming it: not said twice (timeout read its value again to
// tell a written 0 from an empty one) nor followed by a complaint about
// the empty value (rate_limit parsed it, every: and cron: read it as a
// cron expression of no fields).
func TestConfigUnsetVariableOneError(t *testing.T) {
	t.Parallel()
	const base = "webhooks:\n  - id: a\n    endpoint: https://example.com/a\n"
	tests := []struct{ name, yaml, want string }{
		{"timeout", base + "    timeout: ${TMO}\n", "hooklab.yaml:4:14: webhook a: timeout: environment variable TMO is not set (or empty); write $${ for a literal ${"},
		{"rate_limit", base + "    rate_limit: ${RL}\n", "hooklab.yaml:4:17: webhook a: rate_limit: environment variable RL is not set (or empty); write $${ for a literal ${"},
		// Nor is an automation's schedule then parsed as an empty cron.
		{"every", base + "automations:\n  - name: n\n    every: ${EV}\n    notify: {webhook: a}\n", "hooklab.yaml:6:12: automation n: every: environment variable EV is not set (or empty); write $${ for a literal ${"},
		{"cron", base + "automations:\n  - name: n\n    cron: ${EV}\n    notify: {webhook: a}\n", "hooklab.yaml:6:11: automation n: cron: environment variable EV is not set (or empty); write $${ for a literal ${"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := configErrors(t, tt.yaml); got != tt.want {
				t.Errorf("errors:\n%s\nwant only\n%s", got, tt.want)
			}
		})
	}
}

// TestConfigErrorsAtOnePlace: a webhook's problems that fall at one place
// in the file (the item, for fields it lacks; a block mapping, where its
// first key is) are each reported, not only the first: a user fixing one
// should not find the next only then.
func TestConfigErrorsAtOnePlace(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"no id, no endpoint", "webhooks:\n  - name: x\n", []string{
			"hooklab.yaml:2:5: webhook 1 (no id): id is required",
			"hooklab.yaml:2:5: webhook 1 (no id): endpoint is required",
		}},
		{"basic_auth without either", "webhooks:\n  - id: a\n    endpoint: https://example.com/a\n    authentication: {type: basic_auth}\n", []string{
			"hooklab.yaml:4:21: webhook a: authentication.username: username is required for basic_auth",
			"hooklab.yaml:4:21: webhook a: authentication.password: password is required for basic_auth",
		}},
		{"too many headers, the first one bad", "webhooks:\n  - id: a\n    endpoint: https://example.com/a\n    custom_headers:\n      A B: 1\n      C: 2\n      D: 3\n      E: 4\n      F: 5\n      G: 6\n", []string{
			"hooklab.yaml:5:7: webhook a: custom_headers: at most 5 custom headers are allowed, got 6",
			"hooklab.yaml:5:7: webhook a: custom_headers.A B: header name has ' ' at position 2",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := configErrors(t, tt.yaml)
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("errors:\n%s\nwant one containing\n%s", got, w)
				}
			}
		})
	}
}

// configErrors loads yaml into an emitter (no environment variable set),
// which must refuse it, and returns its errors, a line each.
func configErrors(t *testing.T, yaml string) string {
	t.Helper()
	e, err := Open(Options{Memory: true, Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var errs *rules.Errors
	if err := e.SetConfig(parseConfig(t, yaml, nil)); !errors.As(err, &errs) {
		t.Fatalf("SetConfig = %v, want *rules.Errors", err)
	}
	return errs.Error()
}

// configWarnings loads yaml into an emitter, which must take it, and
// returns its warnings, a line each.
func configWarnings(t *testing.T, yaml string) string {
	t.Helper()
	e, err := Open(Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := e.SetConfig(parseConfig(t, yaml, nil)); err != nil {
		t.Fatalf("%v\n%s", err, yaml)
	}
	return strings.Join(e.Warnings(), "\n")
}

// TestConfigSecretsOfOneSignatureSchemes: a rotation list under a scheme
// that carries one signature is allowed (it is how one rotates) but says
// that only the first secret signs; stripe and standard-webhooks sign with
// each and say nothing.
func TestConfigSecretsOfOneSignatureSchemes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		scheme, secrets, want string
	}{
		{"github", "[new, old]", "hooklab.yaml:4:40: webhook a: signing.secrets: github signs with one secret, the first; the others sign nothing"},
		{"stripe", "[whsec_new, whsec_old]", ""},
		{"standard-webhooks", "[whsec_c2VjcmV0c2VjcmV0c2VjcmV0, whsec_b2xkc2VjcmV0]", ""},
		{"github", "[only]", ""},
	} {
		got := configWarnings(t, "webhooks:\n  - id: a\n    endpoint: https://example.com/a\n    signing: {scheme: "+tc.scheme+", secrets: "+tc.secrets+"}\n")
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: warnings %q, want %q", tc.scheme, tc.secrets, got, tc.want)
		}
	}
}

// TestConfigStandardWebhooksNotJSON: the Standard Webhooks libraries
// (standardwebhooks 1.1.1 and svix 1.99.1 on npm) parse the payload as JSON
// once its signature checks out, so an xml or form_encoded webhook signed
// so fails at every receiver using them: the config says so.
func TestConfigStandardWebhooksNotJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		scheme, format, want string
	}{
		{"standard-webhooks", "xml", "hooklab.yaml:3:13: webhook a: format: standard-webhooks receivers' libraries (standardwebhooks, svix) parse the payload as JSON, and fail on xml"},
		{"standard-webhooks", "form_encoded", "webhook a: format: standard-webhooks receivers' libraries (standardwebhooks, svix) parse the payload as JSON, and fail on form_encoded"},
		{"standard-webhooks", "json", ""},
		{"zendesk", "xml", ""},
	} {
		got := configWarnings(t, "webhooks:\n  - id: a\n    format: "+tc.format+"\n    endpoint: https://example.com/a\n    signing: {scheme: "+tc.scheme+", secret: whsec_c2VjcmV0c2VjcmV0c2VjcmV0}\n")
		if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
			t.Errorf("%s %s: warnings %q, want %q", tc.scheme, tc.format, got, tc.want)
		}
	}
}

// TestSetConfigKeepsLastGood checks that a bad config leaves the previous
// one live.
func TestSetConfigKeepsLastGood(t *testing.T) {
	t.Parallel()
	te := newEnv(t, hookYAML("hook", "https://example.com/x", ""), nil)
	bad := parseConfig(t, "webhooks:\n  - id: hook\n    endpoint: ftp://x\n", nil)
	err := te.e.SetConfig(bad)
	if err == nil || !strings.Contains(err.Error(), "hooklab.yaml:3:15:") {
		t.Fatalf("SetConfig(bad) = %v, want a file:line error", err)
	}
	if w, err := te.e.Webhook("hook"); err != nil || w.Endpoint != "https://example.com/x" {
		t.Errorf("after a bad config: %v, %v", w, err)
	}
	if err := te.e.SetConfig(nil); err != nil {
		t.Fatal(err)
	}
	if len(te.e.Webhooks()) != 0 {
		t.Errorf("after SetConfig(nil): %v", te.e.Webhooks())
	}
}

func TestCron(t *testing.T) {
	t.Parallel()
	at := time.Date(2024, 5, 1, 12, 34, 56, 0, time.UTC) // a Wednesday
	tests := []struct{ spec, want string }{
		{"0 * * * *", "2024-05-01T13:00:00Z"},
		{"*/15 * * * *", "2024-05-01T12:45:00Z"},
		{"@daily", "2024-05-02T00:00:00Z"},
		{"30 9 * * 1-5", "2024-05-02T09:30:00Z"},
		{"30 9 * * MON-FRI", "2024-05-02T09:30:00Z"},
		{"0 12 * * sun", "2024-05-05T12:00:00Z"},
		{"0 0 1 Jul,JAN *", "2024-07-01T00:00:00Z"},
		{"0 0 1 * *", "2024-06-01T00:00:00Z"},
		{"0 12 * * 0", "2024-05-05T12:00:00Z"},
		{"0 12 * * 7", "2024-05-05T12:00:00Z"},
		{"0 0 13 * 5", "2024-05-03T00:00:00Z"}, // Friday or the 13th
		{"0 0 29 2 *", "2028-02-29T00:00:00Z"},
		// A step past the field's end names the start alone (adding it
		// once overflowed int and wrapped round to 57, 55, ... 1).
		{"59/9223372036854775807 * * * *", "2024-05-01T12:59:00Z"},
	}
	for _, tt := range tests {
		c, err := parseCron(tt.spec)
		if err != nil {
			t.Fatalf("%s: %v", tt.spec, err)
		}
		if got := c.next(at).Format(time.RFC3339); got != tt.want {
			t.Errorf("%s: next = %s, want %s", tt.spec, got, tt.want)
		}
	}
	for _, bad := range []string{"* * * *", "60 * * * *", "* * * 13 *", "*/0 * * * *", "a * * * *", "0 0 31 2 *", "0 0 30 2 *", "0 0 31 4,6 *", "0 0 * * MOO", "0 0 1 JANUARY *", "0 0 * JAN *-"} {
		if _, err := parseCron(bad); err == nil {
			t.Errorf("parseCron(%q) = nil error", bad)
		}
	}
}

// TestCronClockChanges: cron times across daylight-saving changes. A
// local time the clocks skip is not run (time.Date maps it to an earlier
// instant, on which next once looped for ever, stopping every automation
// and shutdown with it); a time of day the clocks repeat is run once,
// unless the expression names every hour.
func TestCronClockChanges(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		zone, spec, from string
		want             []string
	}{
		{"America/New_York", "0 9 * * *", "2026-03-07T10:00:00-05:00", []string{"2026-03-08T09:00:00-04:00", "2026-03-09T09:00:00-04:00"}},
		{"America/New_York", "30 2 * * *", "2026-03-07T03:00:00-05:00", []string{"2026-03-09T02:30:00-04:00"}},
		{"America/New_York", "30 1 * * *", "2026-10-31T12:00:00-04:00", []string{"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
		{"America/New_York", "*/30 * * * *", "2026-11-01T00:45:00-04:00", []string{"2026-11-01T01:00:00-04:00", "2026-11-01T01:30:00-04:00",
			"2026-11-01T01:00:00-05:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:00:00-05:00"}},
		{"America/Chicago", "*/30 3 * * *", "2026-03-07T04:00:00-06:00", []string{"2026-03-08T03:00:00-05:00", "2026-03-08T03:30:00-05:00"}},
		{"America/Santiago", "0 9 * * 0", "2026-09-05T12:00:00-04:00", []string{"2026-09-06T09:00:00-03:00"}}, // midnight skipped
		{"America/Santiago", "0 0 * * *", "2026-09-05T12:00:00-04:00", []string{"2026-09-07T00:00:00-03:00"}},
		{"Australia/Lord_Howe", "45 1 * * *", "2026-04-04T12:00:00+11:00", []string{"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"}},
	} {
		loc, err := time.LoadLocation(tc.zone)
		if err != nil {
			t.Fatal(err)
		}
		c, err := parseCron(tc.spec)
		if err != nil {
			t.Fatal(err)
		}
		at, err := time.Parse(time.RFC3339, tc.from)
		if err != nil {
			t.Fatal(err)
		}
		at = at.In(loc)
		for i, want := range tc.want {
			if at = c.next(at); at.Format(time.RFC3339) != want {
				t.Errorf("%s %q from %s: run %d at %s, want %s", tc.zone, tc.spec, tc.from, i+1, at.Format(time.RFC3339), want)
				break
			}
		}
	}
}

// TestAutomationDataAliasBomb: aliases that would expand exponentially in
// an emit section are refused with a position, not expanded (the same
// guard as the rest of the config).
func TestAutomationDataAliasBomb(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("webhooks:\n  - id: a\n    endpoint: http://127.0.0.1:9/x\nautomations:\n  - name: n\n    every: 1h\n    notify: {webhook: a}\n    data:\n")
	b.WriteString("      l0: &l0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "      l%d: &l%d [*l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d, *l%d]\n", i, i, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1, i-1)
	}
	cfg, err := rules.Parse([]byte(b.String()), "hooklab.yaml", nil)
	if err != nil {
		t.Fatalf("rules.Parse: %v", err)
	}
	done := make(chan error, 1)
	go func() { _, err := Check(cfg, nil, nil); done <- err }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "hooklab.yaml:") {
			t.Fatalf("an alias bomb in automation data: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("an alias bomb in automation data was expanded (no answer in 20s)")
	}
}

// TestConfigAndAPIReadAlike: a number of seconds and a rate limit without
// a window mean the same in hooklab.yaml and in the API's JSON.
func TestConfigAndAPIReadAlike(t *testing.T) {
	t.Parallel()
	te := newEnv(t, "webhooks:\n  - {id: y, endpoint: \"https://example.com/y\", timeout: 5, rate_limit: {limit: 2}, signing: {scheme: none}}\n", nil)
	c := te.api()
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "j", "endpoint": "https://example.com/j", "timeout": 5, "rate_limit": {"limit": 2}, "signing": {"scheme": "none"}}`, nil); code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	// A size is a number of bytes or has a unit, in both.
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "k", "endpoint": "https://example.com/k", "max_payload": "1KiB", "signing": {"scheme": "none"}}`, nil); code != 201 {
		t.Fatalf("create with max_payload 1KiB: %d %s", code, raw)
	}
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "l", "endpoint": "https://example.com/l", "max_payload": "lots", "signing": {"scheme": "none"}}`, nil); code != 400 || !strings.Contains(string(raw), "lots") {
		t.Errorf("max_payload \"lots\": %d %s, want 400 naming it", code, raw)
	}
	te.setConfig("webhooks:\n  - {id: y, endpoint: \"https://example.com/y\", timeout: 5, rate_limit: {limit: 2}, signing: {scheme: none}, max_payload: 2KB}\n")
	if w := te.e.webhook("y"); w == nil || w.MaxPayload != 2000 {
		t.Errorf("config max_payload 2KB: %+v", w)
	}
	if w := te.e.webhook("k"); w == nil || w.MaxPayload != 1024 {
		t.Errorf("API max_payload 1KiB: %+v", w)
	}
	for _, id := range []string{"y", "j"} {
		w := te.e.webhook(id)
		if w == nil || time.Duration(w.Timeout) != 5*time.Second || w.RateLimit == nil || w.RateLimit.Limit != 2 || time.Duration(w.RateLimit.Window) != time.Minute {
			t.Errorf("webhook %s: %+v", id, w)
		}
	}
}

// TestConfigErrorsOncePerValue: a value that does not decode is one error,
// not also "is required" at the same place, and a webhook without an id is
// named by its place in the list ("webhook : format ..." said nothing).
func TestConfigErrorsOncePerValue(t *testing.T) {
	t.Parallel()
	cfg := parseConfig(t, `webhooks:
  - id: a
    endpoint: [1, 2]
  - endpoint: http://127.0.0.1:3000/c
    format: yaml
`, nil)
	e, err := Open(Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	var errs *rules.Errors
	if err := e.SetConfig(cfg); !errors.As(err, &errs) {
		t.Fatalf("SetConfig = %v, want *rules.Errors", err)
	}
	want := []string{
		"hooklab.yaml:3:15: webhook a: endpoint: want a single value, got a list",
		"hooklab.yaml:4:5: webhook 2 (no id): id is required",
		`hooklab.yaml:5:13: webhook 2 (no id): format must be json, xml or form_encoded, got "yaml"`,
	}
	if got := strings.Split(errs.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("errors:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// The envelope's default subject is Zendesk's, for Zendesk's own event
// type names too.
func TestDefaultSubject(t *testing.T) {
	for _, c := range []struct{ typ, data, want string }{
		{"ticket.created", `{"ticket": {"id": 35436}}`, "zen:ticket:35436"},
		{"zen:event-type:ticket.tags_changed", `{"ticket": {"id": 7}}`, "zen:ticket:7"},
		{"user.created", `{"user": {"id": "u-1"}}`, "zen:user:u-1"},
		{"ticket.created", `{"ticket": {"id": {"x": 1}}}`, ""},
		{"ticket.created", `{}`, ""},
	} {
		if got := defaultSubject(c.typ, []byte(c.data)); got != c.want {
			t.Errorf("defaultSubject(%q, %s) = %q, want %q", c.typ, c.data, got, c.want)
		}
	}
}

// TestConfigErrorsNameTheirItem: every error of a webhook, subscription,
// trigger or automation names which one it is in (by its id or name, else
// its place in the list): those said as its keys were read, before its
// name was known, named none ("automation cron: ...", "json op: ..."), so
// in a file of many the user had to count lines.
func TestConfigErrorsNameTheirItem(t *testing.T) {
	t.Parallel()
	const base = "webhooks:\n  - id: a\n    endpoint: https://example.com/a\n"
	tests := []struct{ name, yaml, want string }{
		{"automation schedule", base + "automations:\n  - name: nightly\n    cron: 61 * * * *\n    notify: {webhook: a}\n",
			`hooklab.yaml:6:11: automation nightly: cron: want a cron expression such as "0 * * * *": minute: "61" is outside 0-59`},
		{"automation both schedules", base + "automations:\n  - name: nightly\n    every: 1h\n    cron: 0 * * * *\n    notify: {webhook: a}\n",
			"hooklab.yaml:7:5: automation nightly: set every or cron, not both"},
		{"automation unknown key", base + "automations:\n  - name: nightly\n    every: 1h\n    notfy: {webhook: a}\n",
			`hooklab.yaml:7:5: automation nightly: unknown key "notfy" (did you mean "notify"?)`},
		{"automation data", base + "automations:\n  - name: nightly\n    every: 1h\n    data: [1]\n    notify: {webhook: a}\n",
			"hooklab.yaml:7:11: automation nightly: data: want a mapping"},
		{"automation without a name", base + "automations:\n  - every: 1s\n  - every: 0.5s\n    notify: {webhook: a}\n",
			"hooklab.yaml:6:12: automation automation-2: every: want at least 1s"},
		{"trigger condition", base + "triggers:\n  - name: urgent\n    when:\n      event: x.y\n      all:\n        - {path: a, op: equals, value: 1}\n    notify: {webhook: a}\n",
			`hooklab.yaml:9:25: trigger urgent: json op: unknown operator "equals"`},
		{"trigger unknown key", base + "triggers:\n  - name: urgent\n    wen: {event: x.y}\n    notify: {webhook: a}\n",
			`hooklab.yaml:6:5: trigger urgent: unknown key "wen" (did you mean "when"?)`},
		{"trigger payload", base + "triggers:\n  - name: urgent\n    when: {event: x.y}\n    notify: {webhook: a, payload: '{% if x %}'}\n",
			"hooklab.yaml:7:35: trigger urgent: notify payload: liquid:"},
		{"subscription", base + "subscriptions:\n  - webhook: a\n    events: ['x[']\n",
			`hooklab.yaml:6:14: subscription 1: events: bad event type pattern "x["`},
		// Keys a level too high, or in Zendesk's API shape, say where
		// they go.
		{"trigger event beside when", base + "triggers:\n  - name: urgent\n    event: ticket.created\n    notify: {webhook: a}\n",
			`hooklab.yaml:6:5: trigger urgent: "event" goes in when: {event: ticket.created}`},
		{"trigger webhook beside notify", base + "triggers:\n  - name: urgent\n    when: {event: x.y}\n    webhook: a\n",
			`hooklab.yaml:7:5: trigger urgent: "webhook" goes in notify: {webhook: ID, payload: ...}`},
		{"trigger conditions", base + "triggers:\n  - name: urgent\n    conditions: {all: []}\n",
			`hooklab.yaml:6:5: trigger urgent: "conditions" is the shape of Zendesk's API; in the config file conditions go in when: {all: [{path: ticket.priority, op: eq, value: urgent}]}`},
		{"trigger actions", base + "triggers:\n  - name: urgent\n    actions: []\n",
			`hooklab.yaml:6:5: trigger urgent: "actions" is the shape of Zendesk's API; in the config file the webhook to call goes in notify: {webhook: ID, payload: ...}`},
		{"automation schedule", base + "automations:\n  - name: nightly\n    schedule: 1h\n",
			`hooklab.yaml:6:5: automation nightly: "schedule" is not a key; write every: 1h, or cron: "0 * * * *"`},
		{"automation event", base + "automations:\n  - name: nightly\n    every: 1h\n    event: x.y\n",
			`hooklab.yaml:7:5: automation nightly: "event" is no key of an automation: its schedule makes its event (automation.NAME)`},
		{"webhook value", base + "    timeout: soon\n",
			`hooklab.yaml:4:14: webhook a: timeout: want a duration such as 300ms or 1m (or a number of seconds), got "soon"`},
		{"webhook nested key", base + "    retry: {statuses: [x]}\n",
			`hooklab.yaml:4:24: webhook a: retry statuses: want status codes, got "x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := configErrors(t, tt.yaml); !strings.Contains(got, tt.want) {
				t.Errorf("errors:\n%s\nwant one containing\n%s", got, tt.want)
			}
		})
	}
}
