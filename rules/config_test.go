package rules

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"
)

// issueExample is the contract from issue 3; it must work exactly as written.
const issueExample = `mocks:
  - name: stripe-ok
    match:
      method: POST
      path: /stripe/{account}/events
      json:
        - {path: type, op: eq, value: payment_intent.succeeded}
    respond:
      status: 200
      headers: {Content-Type: application/json}
      body: '{"received": true, "account": "{{request.params.account}}", "id": "{{request.json.id}}"}'
  - name: flaky
    match: {path: /flaky}
    sequence:
      - {status: 503, headers: {Retry-After: "1"}}
      - {status: 200, body: ok}
  - name: slow
    match: {path: /slow}
    respond: {status: 204, delay: 300ms}
verify:
  - name: zendesk
    match: {path: "/zendesk/**"}
    scheme: zendesk
    secret: ${ZENDESK_SECRET}
`

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

// writeConfig writes content to hooklab.yaml in a new temporary directory.
func writeConfig(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestIssueExample(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, issueExample)
	c, err := Load(path, env("ZENDESK_SECRET", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Mocks) != 3 || len(c.Verify) != 1 {
		t.Fatalf("got %d mocks and %d verify rules", len(c.Mocks), len(c.Verify))
	}

	req := &Request{
		Method: "POST", Path: "/stripe/acct_1/events", Bin: "default",
		Header: map[string][]string{"Content-Type": {"application/json"}},
		Body:   []byte(`{"id": "evt_\"1", "type": "payment_intent.succeeded"}`),
	}
	m, params := c.MatchMock(req)
	if m == nil || m.Name != "stripe-ok" {
		t.Fatalf("MatchMock = %v; want stripe-ok", m)
	}
	if m.File != path || m.Line != 2 {
		t.Errorf("source = %s:%d; want %s:2", m.File, m.Line, path)
	}
	if params["account"] != "acct_1" {
		t.Errorf("params = %v", params)
	}
	if m.Respond.Body.Format() != FormatJSON {
		t.Errorf("body format = %v; want json", m.Respond.Body.Format())
	}
	body, err := m.Respond.RenderBody(RequestVars(req, params))
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"received": true, "account": "acct_1", "id": "evt_\"1"}`; string(body) != want {
		t.Errorf("body = %s; want %s", body, want)
	}
	if ct, _ := m.Respond.Headers["Content-Type"].Render(nil); string(ct) != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}

	flaky, _ := c.MatchMock(&Request{Method: "GET", Path: "/flaky", Bin: "default"})
	if flaky == nil || flaky.Name != "flaky" || len(flaky.Sequence) != 2 || flaky.SequenceMode != RepeatLast {
		t.Fatalf("flaky = %+v", flaky)
	}
	if flaky.Sequence[0].Status != 503 || flaky.Sequence[1].Status != 200 {
		t.Errorf("sequence statuses = %d, %d", flaky.Sequence[0].Status, flaky.Sequence[1].Status)
	}
	if ra, _ := flaky.Sequence[0].Headers["Retry-After"].Render(nil); string(ra) != "1" {
		t.Errorf("Retry-After = %q", ra)
	}
	if b, _ := flaky.Sequence[1].RenderBody(nil); string(b) != "ok" {
		t.Errorf("second body = %q", b)
	}

	slow, _ := c.MatchMock(&Request{Method: "GET", Path: "/slow", Bin: "default"})
	if slow == nil || slow.Respond.Status != 204 || slow.Respond.Delay != (Delay{300 * time.Millisecond, 300 * time.Millisecond}) {
		t.Fatalf("slow = %+v", slow)
	}

	v := c.MatchVerify(&Request{Method: "POST", Path: "/zendesk/tickets/1"})
	if v == nil || v.Scheme != SchemeZendesk || v.Secret != "s3cret" || v.Tolerance != 5*time.Minute {
		t.Fatalf("verify = %+v", v)
	}
	if c.MatchVerify(&Request{Method: "POST", Path: "/github"}) != nil {
		t.Error("MatchVerify matched /github")
	}
	if m, _ := c.MatchMock(&Request{Method: "GET", Path: "/nothing"}); m != nil {
		t.Errorf("MatchMock(/nothing) = %s", m.Name)
	}
}

func TestNormalized(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte(issueExample), "hooklab.yaml", env("ZENDESK_SECRET", "s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cret") {
		t.Errorf("Normalized leaks the secret:\n%s", out)
	}
	for _, want := range []string{"secret: REDACTED", "tolerance: 5m", "sequence_mode: repeat_last", "delay: 300ms", "max_body: 10485760", "path: /stripe/{account}/events"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("Normalized lacks %q:\n%s", want, out)
		}
	}
	// The normalized form is itself a valid config (with a literal secret).
	if _, err := Parse(out, "normalized.yaml", nil); err != nil {
		t.Fatalf("normalized output does not parse: %v\n%s", err, out)
	}
	js, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(js), "s3cret") || !json.Valid(js) || !strings.Contains(string(js), `"source":"hooklab.yaml:2"`) {
		t.Errorf("JSON = %s", js)
	}
}

// TestNormalizedRedactsWebhooks: check --print shows the webhooks section
// as written but for its secrets.
func TestNormalizedRedactsWebhooks(t *testing.T) {
	t.Parallel()
	src := `webhooks:
  - id: a
    endpoint: http://127.0.0.1:3000/a
    authentication: {type: basic_auth, username: bot, password: pw-s3cret}
    custom_headers: {X-Team: support}
    signing: {scheme: zendesk, secret: sig-s3cret}
  - id: b
    endpoint: http://127.0.0.1:3000/b
    authentication: {type: api_key, name: X-Api-Key, value: key-s3cret}
    signing:
      scheme: standard-webhooks
      secrets: [whsec_old-s3cret, "whsec_new-s3cret"]
  - id: c
    endpoint: http://127.0.0.1:3000/c
    authentication: {type: bearer_token, token: ${TOKEN}}
`
	c, err := Parse([]byte(src), "hooklab.yaml", env("TOKEN", "tok-s3cret"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(out), "s3cret") {
		t.Errorf("Normalized leaks a webhook secret:\n%s", out)
	}
	if n := strings.Count(string(out), Redacted); n != 6 {
		t.Errorf("%d values redacted, want 6:\n%s", n, out)
	}
	for _, want := range []string{"username: bot", "X-Team: support", "name: X-Api-Key", "scheme: standard-webhooks"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("Normalized lacks %q:\n%s", want, out)
		}
	}
	// The config itself keeps the secrets: redaction works on a copy.
	again, err := c.Normalized()
	if err != nil || string(again) != string(out) {
		t.Errorf("second Normalized differs or fails (%v):\n%s", err, again)
	}
	var b strings.Builder
	enc := yaml.NewEncoder(&b)
	if err := enc.Encode(c.Webhooks); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "pw-s3cret") {
		t.Errorf("the config's own webhooks section lost its secret:\n%s", b.String())
	}
}

func TestNormalizedRoundTrip(t *testing.T) {
	t.Parallel()
	src := `settings: {max_body: 1MiB, default_status: 404}
mocks:
  - name: a
    match:
      method: [get, POST]
      path: /a/{id}
      query: {page: "2", q: {regex: "^x", case_insensitive: true}}
      headers: {x-token: {present: true}}
      body: {contains: hello}
      json: [{path: n, op: gt, value: 3}]
      json_partial: {a: [1, {b: c}]}
      form: {f: {absent: true}}
      any: [{bin: one}, {bin: two}]
      not: {method: DELETE}
    sequence: [{status: 201, body: "{\"id\": {{request.params.id}}}"}, {fault: drip, drip_rate: 10}]
    sequence_mode: cycle
    rate_limit: {limit: 5, window: 10s}
`
	c, err := Parse([]byte(src), "a.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := c.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	c2, err := Parse(out, "a.yaml", nil)
	if err != nil {
		t.Fatalf("normalized output does not parse: %v\n%s", err, out)
	}
	out2, err := c2.Normalized()
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(out), string(out2)); diff != "" {
		t.Errorf("normalizing twice differs (-first +second):\n%s", diff)
	}
	if c2.Settings.MaxBody != 1<<20 || c2.Settings.DefaultStatus != 404 {
		t.Errorf("settings = %+v", c2.Settings)
	}
}

func TestParseEmpty(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"", "# only a comment\n", "---\n", "{}"} {
		c, err := Parse([]byte(src), "x.yaml", nil)
		if err != nil {
			t.Errorf("Parse(%q): %v", src, err)
			continue
		}
		if len(c.Mocks) != 0 || c.Settings.MaxBody != DefaultMaxBody || c.Settings.DefaultStatus != 200 {
			t.Errorf("Parse(%q) = %+v", src, c)
		}
	}
}

func TestReservedSectionsKept(t *testing.T) {
	t.Parallel()
	src := `webhooks:
  - name: w
    url: https://example.com/${NOT_EXPANDED}
    anything: [1, 2]
triggers: {x: 1}
automations: []
subscriptions: [a]
proxies: {api: {listen: ":9000"}}
`
	c, err := Parse([]byte(src), "x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]any{"webhooks": c.Webhooks, "triggers": c.Triggers, "automations": c.Automations, "subscriptions": c.Subscriptions, "proxies": c.Proxies} {
		if n == nil {
			t.Errorf("%s not kept", name)
		}
	}
	var hooks []map[string]any
	if err := c.Webhooks.Decode(&hooks); err != nil || hooks[0]["url"] != "https://example.com/${NOT_EXPANDED}" {
		t.Errorf("webhooks = %v, %v", hooks, err)
	}
}

// TestReservedSectionsKeptWhenInvalid: a file whose mocks are invalid
// still gives the sections decoded elsewhere, so that their owners report
// their errors with the mocks' (see Join); a file that is no YAML gives
// nothing.
func TestReservedSectionsKeptWhenInvalid(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte("mocks:\n  - respond: {status: 2000}\nwebhooks: [{id: a}]\nproxies: [{name: p}]\n"), "x.yaml", nil)
	var errs *Errors
	if !errors.As(err, &errs) || len(errs.List) != 1 || errs.List[0].Line != 2 {
		t.Fatalf("err = %v, want the status on line 2", err)
	}
	if c == nil || c.Webhooks == nil || c.Proxies == nil || c.File != "x.yaml" {
		t.Fatalf("config = %+v, want the webhooks and the proxies kept", c)
	}
	if c, err := Parse([]byte("mocks: [\n"), "x.yaml", nil); c != nil || err == nil {
		t.Errorf("no YAML: %+v, %v; want no config and an error", c, err)
	}
}

// TestJoin: every problem of the errors joined, in file order; one at a
// place an earlier error found one follows from it and is left out, but
// lends it the rule it names when that one names none (Parse knows no
// webhook's name); other errors come after.
func TestJoin(t *testing.T) {
	t.Parallel()
	parse := &Errors{List: []Error{{File: "f", Line: 7, Col: 3, Rule: `mock "a"`, Msg: "mock"}, {File: "f", Line: 15, Col: 2, Msg: "${NOPE}"}}}
	emit := &Errors{List: []Error{{File: "f", Line: 11, Col: 1, Msg: "webhook"}, {File: "f", Line: 11, Col: 1, Msg: "webhook again"},
		{File: "f", Line: 15, Col: 2, Rule: "webhook w", Msg: "header name"}, {File: "f", Line: 7, Col: 3, Rule: "webhook x", Msg: "not this"}}}
	proxy := &Errors{List: []Error{{File: "f", Line: 4, Col: 5, Rule: "proxy p", Msg: "proxy"}}}
	got := Join(parse, nil, emit, errors.New("plain"), proxy)
	want := "f:4:5: proxy p: proxy\nf:7:3: mock \"a\": mock\nf:11:1: webhook\nf:11:1: webhook again\nf:15:2: webhook w: ${NOPE}\nplain"
	if got == nil || got.Error() != want {
		t.Errorf("Join = %v, want\n%s", got, want)
	}
	if got := Join(nil, (*Errors)(nil)); got != nil {
		t.Errorf("Join of nils = %v", got)
	}
	if got := Join(nil, proxy); got.Error() != proxy.Error() {
		t.Errorf("Join of one = %v", got)
	}
}

func TestEnvExpansion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		value   string
		env     func(string) string
		want    string
		wantErr string
	}{
		{"plain", "abc", nil, "abc", ""},
		{"whole", "${A}", env("A", "x"), "x", ""},
		{"inside", "pre-${A}-${B}-post", env("A", "1", "B", "2"), "pre-1-2-post", ""},
		{"escaped", "$${A}", nil, "${A}", ""},
		{"missing", "${MISSING_ONE}", env("A", "x"), "", "environment variable MISSING_ONE is not set"},
		{"nil getenv", "${A}", nil, "", "environment variable A is not set"},
		{"unterminated", "${A", env("A", "x"), "", "unterminated"},
		{"bad name", "${1A}", env("1A", "x"), "", "bad environment variable name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			src := "mocks:\n  - name: n\n    respond:\n      body: \"" + tt.value + "\"\n"
			c, err := Parse([]byte(src), "e.yaml", tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.HasPrefix(err.Error(), `e.yaml:4:13: mock "n": body: `) {
					t.Fatalf("err = %v; want e.yaml:4:13: mock \"n\": body: ... %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Mocks[0].Respond.Body.Source(); got != tt.want {
				t.Errorf("body = %q; want %q", got, tt.want)
			}
		})
	}
}

// A value from the environment is often a secret (a token in a header
// condition): an error about the value names the variable instead of
// quoting it, even where a library's message quotes the whole value.
func TestEnvValuesKeptOutOfErrors(t *testing.T) {
	t.Parallel()
	const secret = `sk_live_"SECRET\x`
	src := "mocks:\n  - match: {headers: {Authorization: {regex: \"^Bearer ${TOK}(\"}}}\n" +
		"  - match: {headers: {X-Key: {regex: \"^${TOK}$\"}}}\n    respond: {status: '${TOK}'}\n"
	_, err := Parse([]byte(src), "e.yaml", env("TOK", secret))
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	for _, leak := range []string{secret, strconv.Quote(secret)[1 : len(strconv.Quote(secret))-1], "sk_live"} {
		if strings.Contains(msg, leak) {
			t.Errorf("error quotes the value %q:\n%s", leak, msg)
		}
	}
	for _, want := range []string{
		`e.yaml:2:38: mock "mock-1": headers Authorization regex: error parsing regexp: invalid escape sequence (near the value of ${TOK})`,
		`e.yaml:3:30: mock "mock-2": headers X-Key regex: error parsing regexp: invalid escape sequence (near the value of ${TOK})`,
		`e.yaml:4:23: mock "mock-2": status: want a whole number, got "${TOK}"`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

// A message that clips a value (a template's unclosed {{ shows 30 bytes)
// must not show the start of a secret either.
func TestEnvValueClippedOutOfErrors(t *testing.T) {
	t.Parallel()
	const secret = "sk_live_ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	src := "mocks:\n  - respond: {headers: {Authorization: 'Bearer {{${TOK}'}}\n"
	_, err := Parse([]byte(src), "e.yaml", env("TOK", secret))
	if err == nil || strings.Contains(err.Error(), secret[:6]) || !strings.Contains(err.Error(), "{{${TOK}… has no closing }}") {
		t.Errorf("err = %v; want the clipped value named ${TOK}", err)
	}
	// A "{{" inside the value: the error quotes the value from there.
	_, err = Parse([]byte("mocks:\n  - respond: {headers: {Authorization: 'Bearer ${TOK}'}}\n"), "e.yaml", env("TOK", "pw{{s3cr3t_tail"))
	if err == nil || strings.Contains(err.Error(), "s3cr3t") || !strings.Contains(err.Error(), "${TOK}") {
		t.Errorf("err = %v; want the value's tail named ${TOK}", err)
	}
}

func TestEnvInNumbers(t *testing.T) {
	t.Parallel()
	src := "mocks:\n  - respond: {status: '${CODE}'}\n"
	c, err := Parse([]byte(src), "e.yaml", env("CODE", "418"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Mocks[0].Respond.Status != 418 || c.Mocks[0].Name != "mock-1" {
		t.Errorf("got %+v", c.Mocks[0])
	}
}

func TestErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string // each must appear, in order, one per error line
	}{
		{
			name: "unknown top-level key",
			src:  "mock:\n  - respond: {}\n",
			want: []string{`x.yaml:1:1: config: unknown key "mock" (did you mean "mocks"?)`},
		},
		{
			name: "misspelt nested keys, all reported",
			src: `mocks:
  - name: a
    respond:
      stauts: 200
      bdy: x
  - name: b
    macth: {path: /b}
    respond: {}
verify:
  - scheme: github
    secrte: x
settings:
  max_bdy: 1
`,
			want: []string{
				`x.yaml:4:7: mock "a": respond: unknown key "stauts" (did you mean "status"?)`,
				`x.yaml:5:7: mock "a": respond: unknown key "bdy" (did you mean "body"?)`,
				`x.yaml:7:5: mock "b": unknown key "macth" (did you mean "match"?)`,
				`x.yaml:10:5: verify "verify-1": secret is required`,
				`x.yaml:11:5: verify "verify-1": unknown key "secrte" (did you mean "secret"?)`,
				`x.yaml:13:3: settings: unknown key "max_bdy" (did you mean "max_body"?)`,
			},
		},
		{
			// An item of another section is taken out of the list; the
			// unnamed rules after it keep the names of where they stand
			// (the third item was called mock-2, naming the trigger).
			name: "unnamed rules after an item of another section",
			src: `mocks:
  - name: a
    respond: {status: 200}
  - name: trig
    when: {event: ticket.created}
    notify: {webhook: x}
  - respond: {status: 2000}
verify:
  - respond: {status: 201}
  - {scheme: github}
`,
			want: []string{
				`x.yaml:4:5: mocks: item 2 (trig) is a trigger (it has when, notify): it goes in the triggers: section, not in mocks:`,
				`x.yaml:7:23: mock "mock-3": status: want an HTTP status between 200 and 599, got 2000`,
				`x.yaml:9:5: verify: item 1 is a mock rule (it has respond): it goes in the mocks: section, not in verify:`,
				`x.yaml:10:5: verify "verify-2": secret is required`,
			},
		},
		{
			name: "one error for a negative window",
			src:  "mocks:\n  - rate_limit: {limit: 1, window: -1s}\n    respond: {body: x}\n",
			want: []string{`x.yaml:2:36: mock "mock-1": rate_limit.window: want a duration such as 300ms or 1m, got "-1s"`},
		},
		{
			// A number that is not whole is one error, not that and a
			// "must be more than 0" about a value that was more than 0.
			name: "one error for a limit or drip rate that is not a whole number",
			src:  "mocks:\n  - rate_limit: {limit: 2.5}\n    respond: {fault: drip, drip_rate: 1.5}\n  - rate_limit: {limit: 0}\n    respond: {fault: drip, drip_rate: 0}\n  - rate_limit: {limit: }\n    respond: {fault: drip, drip_rate: }\n",
			want: []string{
				`x.yaml:2:25: mock "mock-1": rate_limit.limit: want a whole number, got "2.5"`,
				`x.yaml:3:39: mock "mock-1": drip_rate: want a whole number, got "1.5"`,
				`x.yaml:4:25: mock "mock-2": rate_limit.limit: must be more than 0`,
				`x.yaml:5:39: mock "mock-2": drip_rate: must be more than 0 bytes per second`,
				`x.yaml:6:25: mock "mock-3": rate_limit.limit: must be more than 0`,
				`x.yaml:7:39: mock "mock-3": drip_rate: must be more than 0 bytes per second`,
			},
		},
		{
			name: "a rate_limit not a mapping, or with a misspelt key, names the key as written",
			src:  "mocks:\n  - rate_limit: 5\n    respond: {body: x}\n  - rate_limit: {limt: 1}\n    respond: {body: x}\n",
			want: []string{
				`x.yaml:2:17: mock "mock-1": rate_limit: want a mapping, got "5"`,
				`x.yaml:4:17: mock "mock-2": rate_limit: limit is required`,
				`x.yaml:4:18: mock "mock-2": rate_limit: unknown key "limt" (did you mean "limit"?)`,
			},
		},
		{
			name: "framing headers",
			src:  "mocks:\n  - respond:\n      headers: {content-length: \"5\", Transfer-Encoding: chunked, X-Ok: y}\n      body: abcdefghij\n  - respond: {headers: {Content-Length: \"5368709120\"}}\n  - respond: {headers: {Content-Length: \"{{ 5 }}\"}}\n",
			want: []string{
				`x.yaml:3:17: mock "mock-1": headers: content-length is set from the body; leave it out`,
				`x.yaml:3:38: mock "mock-1": headers: Transfer-Encoding is set from the body; leave it out`,
				`x.yaml:6:41: mock "mock-3": headers: Content-Length: want a number of bytes, got "{{ 5 }}"`,
			},
		},
		{
			name: "no suggestion for a far key: the keys there are",
			src:  "zebra: 1\nmocks:\n  - respond: {zebra: 1}\n",
			want: []string{
				`x.yaml:1:1: config: unknown key "zebra"; the keys are mocks, verify, settings, webhooks, triggers, automations, subscriptions, proxies`,
				`x.yaml:3:15: mock "mock-1": respond: unknown key "zebra"; the keys are status, headers, body, file, delay, fault, drip_rate, fail_rate, fail_fault`,
			},
		},
		{
			name: "matcher keys and values",
			src: `mocks:
  - match:
      methd: GET
      path: no-slash
      json:
        - {path: a, op: equals, value: 1}
        - {path: b, op: regex, value: "("}
        - {path: c, op: gt, value: abc}
        - {op: exists}
      headers: {X-A: {regx: a}}
      query: {q: {regex: "[", case_insensitive: true}}
    respond: {}
`,
			want: []string{
				`x.yaml:3:7: mock "mock-1": match: unknown key "methd" (did you mean "method"?)`,
				`x.yaml:4:13: mock "mock-1": path: "no-slash" must start with /`,
				`x.yaml:6:25: mock "mock-1": json op: unknown operator "equals"`,
				`x.yaml:7:39: mock "mock-1": json value: error parsing regexp`,
				`x.yaml:8:25: mock "mock-1": json value: gt takes a number`,
				`x.yaml:9:11: mock "mock-1": json condition: path is required`,
				`x.yaml:10:23: mock "mock-1": condition: unknown key "regx" (did you mean "regex"?)`,
				`x.yaml:11:18: mock "mock-1": query q regex: error parsing regexp`,
			},
		},
		{
			name: "response values",
			src: `mocks:
  - respond:
      status: 999
      delay: soon
      fault: explode
      fail_rate: 2
      drip_rate: 5
      file: ../secret.txt
      body: x
  - respond: {delay: 500ms..100ms, fail_fault: rest}
  - respond: {status: 200}
    sequence: [{status: 201}]
  - name: none
  - respond: {body: "{% if %}"}
  - respond: {body: "{% include 'x' %}"}
`,
			want: []string{
				`x.yaml:3:15: mock "mock-1": status: want an HTTP status between 200 and 599, got 999`,
				`x.yaml:4:14: mock "mock-1": delay: want a duration`,
				`x.yaml:5:14: mock "mock-1": fault: unknown fault "explode"`,
				`x.yaml:6:18: mock "mock-1": fail_rate: want a share between 0 and 1, got 2`,
				`x.yaml:7:18: mock "mock-1": drip_rate: only applies to fault: drip`,
				`x.yaml:8:13: mock "mock-1": file: body and file cannot both be set`,
				`x.yaml:8:13: mock "mock-1": file: "../secret.txt" must be a path inside the config's directory`,
				`x.yaml:10:22: mock "mock-2": delay: want a range`,
				`x.yaml:10:48: mock "mock-2": fail_fault: unknown fault "rest" (did you mean "reset"?)`,
				`x.yaml:10:48: mock "mock-2": fail_fault: only applies with fail_rate`,
				`x.yaml:12:15: mock "mock-3": respond and sequence cannot both be set`,
				`x.yaml:13:5: mock "none": set respond or sequence`,
				`x.yaml:14:21: mock "mock-5": body: liquid:`,
				`x.yaml:15:21: mock "mock-6": body: templates cannot include files`,
			},
		},
		{
			name: "sequence_mode without sequence",
			src: `mocks:
  - name: m
    match: {path: /x}
    sequence_mode: cycle
    respond: {status: 200}
`,
			want: []string{`x.yaml:4:20: mock "m": sequence_mode: only applies with sequence`},
		},
		{
			name: "unquoted path parameter in a flow mapping",
			src: `mocks:
  - name: hooks
    match: {method: POST, path: /hooks/{source}}
    respond: {status: 202}
`,
			want: []string{
				`x.yaml:3:40: yaml: a path with {parameters} inside a {...} mapping must be quoted, as in path: "/hooks/{source}" (did not find expected ',' or '}')`,
			},
		},
		{
			name: "unset secret said once",
			src: `verify:
  - {scheme: github, secret: "${HOOKLAB_TEST_UNSET_SECRET}"}
`,
			want: []string{
				`x.yaml:2:30: verify "verify-1": secret: environment variable HOOKLAB_TEST_UNSET_SECRET is not set (or empty); write $${ for a literal ${`,
			},
		},
		{
			name: "bins and interim statuses",
			src: `mocks:
  - {bin: "bad bin!", respond: {status: 103}}
  - {match: {bin: ` + strings.Repeat("b", 65) + `}, respond: {status: 101}}
  - {bin: ok_bin-2, respond: {status: 200, fail_rate: 0.5, fail_fault: reset}}
`,
			want: []string{
				`x.yaml:2:11: mock "mock-1": bin: "bad bin!" cannot be a bin name (allowed: A-Z a-z 0-9 _ -)`,
				`x.yaml:2:41: mock "mock-1": status: 103 is an interim (1xx) status and cannot be the answer; want 200 to 599`,
				`x.yaml:3:19: mock "mock-2": bin: a bin name is at most 64 characters, got 65`,
				`x.yaml:3:105: mock "mock-2": status: 101 is an interim (1xx) status`,
			},
		},
		{
			name: "duplicates and shapes",
			src: `mocks:
  - {name: a, respond: {}}
  - {name: a, respond: {}, respond: {}}
  - just a string
verify:
  - {scheme: gitlab, secret: x}
  - {scheme: standard-webhooks, secret: "not base64!"}
  - {scheme: github, secret: ""}
settings: {default_status: abc, max_body: 12XB}
`,
			want: []string{
				`x.yaml:3:5: mock "a": duplicate name`,
				`x.yaml:3:28: mock "a": duplicate key "respond"`,
				`x.yaml:4:5: mock "mock-3": want a mapping, got "just a string"`,
				`x.yaml:6:14: verify "verify-1": scheme: unknown scheme "gitlab" (did you mean "github"?)`,
				`x.yaml:7:41: verify "verify-2": secret: standard-webhooks secret must be base64`,
				`x.yaml:8:30: verify "verify-3": secret: must not be empty`,
				`x.yaml:9:28: default_status: want a whole number, got "abc"`,
				`x.yaml:9:43: max_body: want a size: a number of bytes, or a number and a unit: B, KiB or KB, MiB or MB, GiB or GB, TiB or TB (K, M, G and T are KiB, MiB, GiB and TiB), such as 10MiB or 1.5GB; got "12XB"`,
			},
		},
		// 1TiB was refused as no size at all, and 2GiB (or 1000GiB) taken.
		{name: "max_body over the limit", src: "settings: {max_body: 1TiB}\n", want: []string{`x.yaml:1:22: max_body: 1TiB is over the limit of 1GiB (a body is held in memory while it is recorded`}},
		{name: "max_body just over the limit", src: "settings: {max_body: 1073741825}\n", want: []string{`x.yaml:1:22: max_body: 1073741825 is over the limit of 1GiB`}},
		{name: "duplicate keys in a JSON value", src: "mocks:\n  - name: a\n    match: {json_partial: {k: 1, k: 2}, json: [{path: x, value: {a: 1, a: 2}}]}\n    respond: {status: 200}\n", want: []string{`x.yaml:3:34: mock "a": json_partial: duplicate key "k"`, `x.yaml:3:72: mock "a": json value: duplicate key "a"`}},
		{name: "response headers differing in case", src: "mocks:\n  - name: a\n    respond: {headers: {content-type: text/plain, Content-Type: application/json}}\n", want: []string{`x.yaml:3:51: mock "a": headers: duplicate name "Content-Type" (header names are case-insensitive; only Set-Cookie, Link, WWW-Authenticate, Proxy-Authenticate and Warning may be sent more than once)`}},
		{name: "a control character", src: "mocks:\n  - name: a\n    respond: {body: \"x\x00y\"}\n", want: []string{`x.yaml:3:23: the file holds a control character (0x00) here; YAML allows none (write it as an escape in a double-quoted string, such as "\x00")`}},
		{name: "not UTF-8", src: "mocks:\n  - name: caf\xe9\n", want: []string{`x.yaml:2:14: the file is not UTF-8 text: byte 0xe9 here (save it as UTF-8)`}},
		{name: "an empty not", src: "mocks:\n  - name: a\n    match: {path: /x, not: ~}\n    respond: {status: 200}\n", want: []string{`x.yaml:3:28: mock "a": not: want a condition, got nothing (an entry left empty: fill it in or remove it)`}},
		{name: "an empty any item", src: "mocks:\n  - name: a\n    match: {any: [~]}\n    respond: {status: 200}\n", want: []string{`x.yaml:3:19: mock "a": any: want a condition, got nothing (an entry left empty: fill it in or remove it)`}},
		{name: "zero tolerance", src: "verify:\n  - {scheme: stripe, secret: whsec_x, tolerance: 0s}\n", want: []string{`x.yaml:2:50: verify "verify-1": tolerance: must be more than 0 (how far a signed timestamp may be from now; leave it out for 5m)`}},
		{name: "timestamp header of a scheme without one", src: "verify:\n  - {scheme: github, secret: abc, timestamp_header: X-Ts}\n", want: []string{`x.yaml:2:53: verify "verify-1": timestamp_header: github signatures have no timestamp header to rename`}},
		// An entry left empty is YAML's null: refused, not a rule that does
		// nothing (a mock with no answer failed every request it took).
		{name: "an empty mock entry", src: "mocks:\n  -\n  - name: real\n    respond: {status: 418}\n", want: []string{`x.yaml:2:4: mock "mock-1": want a mock (match, and respond or sequence), got nothing (an entry left empty: fill it in or remove it)`}},
		{name: "an empty sequence", src: "mocks:\n  - name: a\n    sequence:\n", want: []string{`x.yaml:3:14: mock "a": sequence: must list at least one response`}},
		{name: "an empty sequence item", src: "mocks:\n  - name: a\n    sequence: [~]\n", want: []string{`x.yaml:3:16: mock "a": respond: want a response (status, headers, body or file), got nothing (an entry left empty: fill it in or remove it)`}},
		{name: "an empty respond", src: "mocks:\n  - name: a\n    respond: ~\n", want: []string{`x.yaml:3:14: mock "a": respond: want a response (status, headers, body or file), got nothing (an entry left empty: fill it in or remove it)`}},
		{name: "an empty rate limit", src: "mocks:\n  - name: a\n    rate_limit: ~\n    respond: {status: 200}\n", want: []string{`x.yaml:3:17: mock "a": rate_limit: want a limit, such as {limit: 10, window: 1m}, got nothing (an entry left empty: fill it in or remove it)`}},
		{name: "an empty verify entry", src: "verify: [~]\n", want: []string{`x.yaml:1:10: verify "verify-1": want a verify rule (scheme and secret), got nothing (an entry left empty: fill it in or remove it)`}},
		// A match key or condition left empty is not no condition: path:
		// with nothing after it matched every path, and a header
		// condition X-Signature: with nothing matched only an empty value.
		{name: "empty match entries", src: "mocks:\n  - name: a\n    match:\n      method: POST\n      path:\n      bin:\n      headers:\n        X-Signature:\n      query: {page: ~}\n      any:\n    respond: {status: 201}\n", want: []string{
			`x.yaml:5:12: mock "a": path: want a path such as /hooks/*, got nothing (an entry left empty: fill it in or remove it)`,
			`x.yaml:6:11: mock "a": bin: want a bin name, got nothing (an entry left empty: fill it in or remove it)`,
			`x.yaml:8:21: mock "a": headers X-Signature: want a value or a condition such as {present: true}, got nothing (an entry left empty: fill it in or remove it; '' is the empty value)`,
			`x.yaml:9:21: mock "a": query page: want a value or a condition such as {present: true}, got nothing (an entry left empty: fill it in or remove it; '' is the empty value)`,
			`x.yaml:10:11: mock "a": any: want a list of conditions, got nothing (an entry left empty: fill it in or remove it)`,
		}},
		{name: "an empty json condition", src: "mocks:\n  - name: a\n    match: {json: [~]}\n    respond: {status: 200}\n", want: []string{`x.yaml:3:20: mock "a": json: want a condition such as {path: a.b, op: eq, value: 1}, got nothing (an entry left empty: fill it in or remove it)`}},
		{
			name: "yaml syntax",
			src:  "mocks: []\nverify: [\n",
			want: []string{`x.yaml:2:1: yaml: did not find expected node content`},
		},
		// The parser names the line its enclosing block starts on (from 0,
		// for some errors), at column 1; the error names the line that
		// goes wrong.
		{
			name: "yaml: a key indented less than its siblings",
			src:  "mocks:\n  - name: a\n    match:\n      path: /x\n     respond:\n      status: 200\n",
			want: []string{`x.yaml:5:6: yaml: did not find expected key`},
		},
		{
			name: "yaml: a flow mapping left open",
			src:  "mocks:\n  - name: a\n    match: {path: /x\n    respond:\n      status: 200\n",
			want: []string{`x.yaml:3:5: yaml: did not find expected ',' or '}'`},
		},
		{
			name: "yaml: a tab in the indentation",
			src:  "mocks:\n  - name: a\n    match:\n      path: /x\n\t    respond: {}\n",
			want: []string{`x.yaml:5:1: yaml: found a tab character that violates indentation`},
		},
		{
			name: "yaml: a tab that starts a line (the parser says no more)",
			src:  "mocks:\n\t- name: a\n",
			want: []string{`x.yaml:2:1: yaml: found character that cannot start any token (a tab: YAML indents with spaces only)`},
		},
		{
			name: "json paths gjson reads as nothing, whatever the body",
			src: "mocks:\n  - name: a\n    match:\n      json:\n" +
				"        - {path: 'items.#(sku==\"a\"', value: 1}\n" +
				"        - {path: '@type', value: 1}\n" + // a key (JSON-LD), as no modifier has the name
				"        - {path: 'items.#(name==\"x)', value: 1}\n" +
				"        - {path: 'items.#(sku==\"(\").qty', value: 1}\n" + // a ( in a quoted value
				"        - {path: 'a\\.b|@reverse', value: 1}\n" +
				"        - {path: 'items.#(qty>1)#.sku', value: 1}\n" +
				"        - {path: 'expand[]', value: 1}\n" +
				"    respond: {status: 200}\n",
			want: []string{
				`x.yaml:5:18: mock "a": json path: "items.#(sku==\"a\"" has a ( that is not closed`,
				`x.yaml:7:18: mock "a": json path: "items.#(name==\"x)" has a quote that is not closed`,
			},
		},
		{
			name: "yaml: a key outdented into the list",
			src:  "mocks:\n  - name: a\n    match:\n      path: /x\n format: json\n",
			want: []string{`x.yaml:5:2: yaml: did not find expected key`},
		},
		{
			name: "yaml: an open flow mapping after a quoted string over two lines",
			src:  "mocks:\n  - name: a\n    respond:\n      body: \"line one\n        line two\"\n    match: {path: /x\n",
			want: []string{`x.yaml:6:5: yaml: did not find expected ',' or '}'`},
		},
		{
			name: "yaml: an error in a second document",
			src:  "mocks: []\n---\nmocks: [\n",
			want: []string{`x.yaml:3:1: yaml: did not find expected node content`},
		},
		{
			name: "two documents",
			src:  "mocks: []\n---\nmocks: []\n",
			want: []string{`x.yaml:2:1: only one YAML document is allowed`},
		},
		// yaml.v3 gives no line for an alias to an anchor it has not seen;
		// one written below its use, as a shared x- part put at the end,
		// is the usual cause.
		{
			name: "yaml: an alias before its anchor",
			src:  "mocks:\n  - name: a\n    respond: {<<: *json, body: x}\nx-json: &json {status: 201}\n",
			want: []string{`x.yaml:3:19: yaml: unknown anchor 'json' referenced (the anchor &json is on line 4: an anchor must come before its aliases, so move it up)`},
		},
		{
			// A path's glob is no alias: the one pointed at is the alias.
			name: "yaml: an alias before its anchor, after a glob of its name",
			src:  "mocks:\n  - match: {path: /files/*json}\n    respond: {status: 200}\n  - name: a\n    respond: {<<: *json, body: x}\nx-json: &json {status: 201}\n",
			want: []string{`x.yaml:5:19: yaml: unknown anchor 'json' referenced (the anchor &json is on line 6: an anchor must come before its aliases, so move it up)`},
		},
		{
			name: "yaml: an alias to no anchor",
			src:  "mocks:\n  - name: a\n    match: {json: [{path: a, value: *nope}]}\n    respond: {}\n",
			want: []string{`x.yaml:3:37: yaml: unknown anchor 'nope' referenced (no &nope anchor in the file)`},
		},
		// A method is an HTTP token: "GET,POST" was taken as one method no
		// request has, and the rule matched nothing, with no word.
		{
			name: "methods written as one string",
			src:  "mocks:\n  - match: {method: \"GET,POST\"}\n    respond: {}\n  - match: {method: [get, 'PUT, PATCH', \"GÉT\", \"A;B\"]}\n    respond: {}\n",
			want: []string{
				`x.yaml:2:21: mock "mock-1": method: bad method "GET,POST" (several methods are a list: [GET, POST])`,
				`x.yaml:4:21: mock "mock-2": method: bad method "PUT, PATCH" (several methods are a list: [PUT, PATCH])`,
				`x.yaml:4:21: mock "mock-2": method: bad method "GÉT"`,
				`x.yaml:4:21: mock "mock-2": method: bad method "A;B"`,
			},
		},
		// request has eight fields: a misspelt one (param for params) wrote
		// nothing, or null, in every answer, with no word.
		{
			name: "a request field misspelt in a template",
			src: `mocks:
  - match: {path: "/v1/payments/{id}"}
    respond:
      headers: {Location: "/v1/{{ request.param.id }}", X-Ok: "{{ request.headers.user-agent }}{{ request.size }}"}
      body: |
        {"id": "{{ request.params.id }}", "m": "{{request.method}}",
         "q": "{{ request.querry.expand | default: 'none' }}",
         {% if request.Json.x and request.json.y %}"x": 1{% endif %}
         "s": "{{ 'request.nope' }}"}
  - respond: {body: '{% assign request = 1 %}{{ request.anything }}{{ request.params.x }}'}
`,
			want: []string{
				`x.yaml:4:27: mock "mock-1": header Location: request.param is not a template variable (did you mean "request.params"?); request has method, path, params, query, headers, body, json and form`,
				`x.yaml:7:10: mock "mock-1": body: request.querry is not a template variable (did you mean "request.query"?); request has method, path, params, query, headers, body, json and form`,
			},
		},
		// request.params holds what the rule's path captures: another name
		// is always empty.
		{
			name: "a path parameter the rule does not capture",
			src: `mocks:
  - respond: {body: '{"id": "{{ request.params.idd }}"}'}
    match: {path: "/v1/payments/{id}"}
  - match: {path: /v1/refunds}
    sequence:
      - {status: 202}
      - {headers: {Location: "/v1/refunds/{{ request.params.id }}"}}
  - match: {all: [{path: "/v1/{kind}/{id}.pdf"}], any: [{path: "/v1/{org}/**"}]}
    respond: {body: '{{ request.params.kind }}{{ request.params.id }}{{ request.params.org }}{{ request.params.size }}{{ request.params.ord }}'}
`,
			want: []string{
				`x.yaml:2:21: mock "mock-1": body: request.params.idd: the rule's path captures no {idd} (did you mean "id"?); it captures {id}`,
				`x.yaml:7:30: mock "mock-2": header Location: request.params.id: the rule's path captures no {id}; its match has no path with a {name} in it`,
				`x.yaml:9:21: mock "mock-3": body: request.params.ord: the rule's path captures no {ord} (did you mean "org"?); it captures {id}, {kind} and {org}`,
			},
		},
		// A variable that is not one of the context's (path.id for
		// request.params.id, body.qty for request.json.qty) wrote nothing,
		// or null, with no word: Liquid renders what is missing as nothing.
		{
			name: "a variable the context does not have",
			src: `mocks:
  - match: {method: POST, path: "/orders/{id}"}
    respond:
      headers: {X-Id: "{{ path.id }}"}
      body: '{"order": "{{path.id}}", "n": {{ body.qty | default: 1 }}}'
  - respond: {body: '{{ reqest.method }}'}
  - respond: {body: '{% if method == "POST" %}x{% endif %}'}
  - respond: {body: '{{ exchange.idd }}'}
  - respond:
      body: |
        {% assign n = request.json.n | default: 1 %}{% capture c %}{{ bin }}{% endcapture %}
        {% for item in request.json.items limit: 2 reversed %}{{ item.id }}{{ forloop.index }}{% endfor %}
        {{ n | plus: 1 }}{{ c }}{{ now | date: "%s" }}{{ uuid }}{{ exchange.id }}{{ "path.id" }}{{ 'x' | append: bin }}
        {% if request.json.a and request.json.b contains "x" or true %}{{ request.query["expand[]"] }}{% endif %}
        {% for i in (1..n) %}{{ i }}{% endfor %}{% for j in request.json.items offset: continue %}{{ j }}{% endfor %}{% case request.method %}{% when "GET", "HEAD" %}g{% else %}o{% endcase %}
        {{ request.json.a[request.json.k] }}{% unless empty == blank %}{{ nil }}{% endunless %}
  - respond: {body: '{{ request.body | split: sep | first }}'}
`,
			want: []string{
				`x.yaml:4:23: mock "mock-1": header X-Id: path.id: path is not a template variable (did you mean "request.params.id"?); a mock's templates read request, bin, exchange, now and uuid`,
				`x.yaml:5:13: mock "mock-1": body: path.id: path is not a template variable (did you mean "request.params.id"?); a mock's templates read request, bin, exchange, now and uuid`,
				`x.yaml:6:21: mock "mock-2": body: reqest.method: reqest is not a template variable (did you mean "request.method"?); a mock's templates read request, bin, exchange, now and uuid`,
				`x.yaml:7:21: mock "mock-3": body: method: method is not a template variable (did you mean "request.method"?); a mock's templates read request, bin, exchange, now and uuid`,
				`x.yaml:8:21: mock "mock-4": body: exchange.idd is not a template variable; exchange has id`,
				`x.yaml:17:21: mock "mock-6": body: sep: sep is not a template variable; a mock's templates read request, bin, exchange, now and uuid`,
			},
		},
		{
			name: "top level list",
			src:  "- a\n",
			want: []string{`x.yaml:1:1: config: want a mapping, got a list`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := Parse([]byte(tt.src), "x.yaml", nil)
			var errs *Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v (%T); want *Errors", err, err)
			}
			lines := strings.Split(err.Error(), "\n")
			if len(lines) != len(tt.want) {
				t.Fatalf("got %d errors, want %d:\n%s", len(lines), len(tt.want), err)
			}
			for i, want := range tt.want {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("error %d:\n got %s\nwant %s...", i, lines[i], want)
				}
			}
		})
	}
}

// TestErrorsNameTheirRule: every error of a mock or verify rule names the
// rule it is in, after its file:line:col: by its name, or for a rule
// without one by the name it goes by (mock-N, verify-N: its place), once.
// They gave file:line:col alone, and in a file of many rules written
// alike the reader counted lines to learn which rule was at fault.
func TestErrorsNameTheirRule(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, section, rule string
		want                string // after "x.yaml:", with %s for the rule
	}{
		{"method", "mocks", "match: {method: \"GET,POST\"}\n    respond: {status: 200}",
			`3:21: %s: method: bad method "GET,POST" (several methods are a list: [GET, POST])`},
		{"path pattern", "mocks", "match: {path: \"/a/{id\"}\n    respond: {status: 200}",
			`3:19: %s: path: unmatched { in "/a/{id"`},
		{"query", "mocks", "match: {query: {q: {regex: \"[\"}}}\n    respond: {status: 200}",
			"3:24: %s: query q regex: error parsing regexp: missing closing ]: `[`"},
		{"headers", "mocks", "match: {headers: {\"X A\": x}}\n    respond: {status: 200}",
			`3:23: %s: headers: bad header name "X A"`},
		{"json condition", "mocks", "match: {json: [{path: a, op: equals, value: 1}]}\n    respond: {status: 200}",
			`3:34: %s: json op: unknown operator "equals"; want one of eq, ne, in, exists, regex, gt, lt, gte, lte, contains`},
		{"body condition", "mocks", "match: {body: {regex: \"(\"}}\n    respond: {status: 200}",
			"3:19: %s: body regex: error parsing regexp: missing closing ): `(`"},
		{"status", "mocks", "respond: {status: 999}",
			`3:23: %s: status: want an HTTP status between 200 and 599, got 999`},
		{"response header template", "mocks", "respond: {headers: {X-Id: \"{{ request.nope }}\"}}",
			`3:31: %s: header X-Id: request.nope is not a template variable; request has method, path, params, query, headers, body, json and form`},
		{"body template", "mocks", "respond: {body: \"{{ x | nofilter }}\"}",
			`3:21: %s: body: liquid: unknown filter "nofilter" in {{ x | nofilter }}`},
		{"delay", "mocks", "respond: {delay: soon}",
			`3:22: %s: delay: want a duration such as 300ms or a range such as 100ms..500ms, got "soon"`},
		{"fault", "mocks", "respond: {fault: explode}",
			`3:22: %s: fault: unknown fault "explode"; want reset, close, empty, garbage, timeout or drip`},
		{"empty sequence", "mocks", "sequence: []",
			`3:15: %s: sequence: must list at least one response`},
		{"sequence answer", "mocks", "sequence: [{status: 200}, {status: 1000}]",
			`3:40: %s: status: want an HTTP status between 200 and 599, got 1000`},
		{"no answer", "mocks", "match: {path: /a}",
			`3:5: %s: set respond or sequence`},
		{"rate limit", "mocks", "rate_limit: {limit: 0}\n    respond: {status: 200}",
			`3:25: %s: rate_limit.limit: must be more than 0`},
		{"bin", "mocks", "bin: \"bad bin!\"\n    respond: {status: 200}",
			`3:10: %s: bin: "bad bin!" cannot be a bin name (allowed: A-Z a-z 0-9 _ -)`},
		{"mock key", "mocks", "macth: {path: /a}\n    respond: {status: 200}",
			`3:5: %s: unknown key "macth" (did you mean "match"?)`},
		// Said before the rules are decoded: named by the rule whose
		// text holds them.
		{"key from the environment", "mocks", "respond: {headers: {${NOPE}: v}}",
			`3:25: %s: ${NOPE}: environment variable NOPE is not set (or empty); write $${ for a literal ${`},
		{"merge of no mapping", "mocks", "match: {path: &p /a}\n    respond: {<<: *p}",
			`4:19: %s: <<: a merge takes a mapping or a list of mappings, got "/a"`},

		{"scheme", "verify", "scheme: gitlab\n    secret: x",
			`3:13: %s: scheme: unknown scheme "gitlab" (did you mean "github"?); want one of zendesk, standard-webhooks, github, stripe, slack, shopify`},
		{"no scheme", "verify", "secret: x",
			`3:5: %s: scheme is required`},
		{"secret", "verify", "scheme: github\n    secret: \"\"",
			`4:13: %s: secret: must not be empty`},
		{"tolerance", "verify", "scheme: github\n    secret: x\n    tolerance: 0s",
			`5:16: %s: tolerance: must be more than 0 (how far a signed timestamp may be from now; leave it out for 5m)`},
		{"timestamp header", "verify", "scheme: github\n    secret: x\n    timestamp_header: X-Ts",
			`5:23: %s: timestamp_header: github signatures have no timestamp header to rename`},
		{"verify match", "verify", "match: {path: nope}\n    scheme: github\n    secret: x",
			`3:19: %s: path: "nope" must start with /`},
		{"verify key", "verify", "scheme: github\n    secrte: x\n    secret: x",
			`4:5: %s: unknown key "secrte" (did you mean "secret"?)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A good rule first, so that the one at fault is the second;
			// a name, when given, last, so that places are the same.
			first, kind := "{name: ok, respond: {status: 200}}", "mock"
			if tc.section == "verify" {
				first, kind = "{name: ok, scheme: github, secret: x}", "verify"
			}
			for _, named := range []struct{ key, label string }{
				{"", kind + ` "` + kind + `-2"`},
				{"\n    name: support-bot", kind + ` "support-bot"`},
			} {
				src := tc.section + ":\n  - " + first + "\n  - " + tc.rule + named.key + "\n"
				_, err := Parse([]byte(src), "x.yaml", nil)
				if want := "x.yaml:" + fmt.Sprintf(tc.want, named.label); err == nil || err.Error() != want {
					t.Errorf("%s\n got %v\nwant %s", src, err, want)
				}
			}
		})
	}
}

func TestRecursiveAliases(t *testing.T) {
	t.Parallel()
	laughs := "mocks: [{match: {json_partial: {a: &a [1,1,1,1,1,1,1,1,1,1], b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a], " +
		"c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b], d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c], e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d], " +
		"f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]}}, respond: {}}]\n"
	for _, src := range []string{
		"mocks: [{match: &x {not: *x}, respond: {}}]\n",
		"mocks: [{match: {json_partial: &x [*x]}, respond: {}}]\n",
		"mocks: [{respond: &x {<<: *x}}]\n",
		laughs,
	} {
		_, err := Parse([]byte(src), "r.yaml", nil)
		if err == nil || !strings.Contains(err.Error(), "recursive alias") {
			t.Errorf("Parse(%.40q) = %v; want a recursive alias error", src, err)
		}
	}
}

func TestBodyFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "bodies"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "bodies", "ok.json"), []byte(`{"ok": "{{not a template}}"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	outside := filepath.Join(t.TempDir(), "outside.txt")
	if err := os.WriteFile(outside, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(dir, "link.txt")); err != nil {
		t.Fatal(err)
	}
	write := func(content string) string {
		p := filepath.Join(dir, "hooklab.yaml")
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	c, err := Load(write("mocks:\n  - respond: {file: bodies/ok.json}\n"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := c.Mocks[0].Respond.RenderBody(nil); string(b) != `{"ok": "{{not a template}}"}` {
		t.Errorf("body = %s", b)
	}

	for _, name := range []string{"/etc/passwd", "../x", "link.txt", "missing.json"} {
		_, err := Load(write("mocks:\n  - respond: {file: '"+name+"'}\n"), nil)
		if err == nil || !strings.Contains(err.Error(), "hooklab.yaml:2:") {
			t.Errorf("file %s: err = %v; want an error at line 2", name, err)
		}
	}
	// The message names the file and where it was looked for, not the
	// system call that failed.
	_, err = Load(write("mocks:\n  - respond: {file: missing.json}\n"), nil)
	if want := "file: missing.json (in " + dir + "): no such file or directory"; err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "openat") {
		t.Errorf("missing file: %v; want %q", err, want)
	}
}

func TestLoadMissingFile(t *testing.T) {
	t.Parallel()
	_, err := Load(filepath.Join(t.TempDir(), "none.yaml"), nil)
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("err = %v; want not-exist", err)
	}
}

func TestMergeKeys(t *testing.T) {
	t.Parallel()
	src := `x-common: &json
  headers: {Content-Type: application/json}
  status: 201
mocks:
  - respond:
      <<: *json
      body: '{"a": {{request.query.a}}}'
`
	// x- keys at the top are extension keys, as in Compose files: a place
	// for anchors, read only where they are merged.
	c, err := Parse([]byte(src), "m.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := c.Mocks[0].Respond; r.Status != 201 || r.Headers["Content-Type"] == nil {
		t.Errorf("merged from x-common: %+v", r)
	}
	// Another unknown key is still an error; so is "x" alone, and an
	// extension key further down.
	for _, bad := range []string{"xcommon: 1\n", "x: 1\n", "mocks:\n  - x-note: 1\n"} {
		if _, err := Parse([]byte(bad), "m.yaml", nil); err == nil || !strings.Contains(err.Error(), "unknown key") {
			t.Errorf("%q: err = %v, want unknown key", bad, err)
		}
	}
	src = `mocks:
  - name: base
    match: &m {method: POST}
    respond: &r {status: 201, headers: {Content-Type: application/json}}
  - name: derived
    match: {<<: *m, path: /d}
    respond:
      <<: *r
      body: '{"a": {{request.query.a}}}'
`
	c, err = Parse([]byte(src), "m.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	d := c.Mocks[1]
	if d.Respond.Status != 201 || d.Respond.Body.Format() != FormatJSON || d.Match.Path != "/d" || d.Match.Method[0] != "POST" {
		t.Errorf("derived = %+v / %+v", d.Respond, d.Match)
	}
}

func TestDelayPick(t *testing.T) {
	t.Parallel()
	d, err := ParseDelay("100ms..200ms")
	if err != nil {
		t.Fatal(err)
	}
	for range 100 {
		if p := d.Pick(); p < 100*time.Millisecond || p > 200*time.Millisecond {
			t.Fatalf("Pick = %v", p)
		}
	}
	if d.String() != "100ms..200ms" {
		t.Errorf("String = %q", d.String())
	}
	if (Delay{Min: time.Second, Max: time.Second}).Pick() != time.Second {
		t.Error("fixed delay")
	}
}

func TestSecretRedacted(t *testing.T) {
	t.Parallel()
	s := Secret("hunter2")
	js, _ := json.Marshal(struct{ S Secret }{s})
	if strings.Contains(string(js), "hunter2") || s.String() != Redacted {
		t.Errorf("secret printed: %s %s", js, s)
	}
}

// TestPreflightGoesToOptionsMocksOnly: a CORS preflight is left to
// hooklab's permissive answer unless a mock names OPTIONS; a mock naming
// no method takes a plain OPTIONS, not a preflight.
func TestPreflightGoesToOptionsMocksOnly(t *testing.T) {
	t.Parallel()
	src := "mocks:\n  - name: any-method\n    match: {path: /v1/**, any: []}\n    respond: {status: 401}\n" +
		"  - name: options\n    match: {method: [OPTIONS], path: /cors/**}\n    respond: {status: 204}\n" +
		"  - name: nested\n    match: {all: [{method: OPTIONS}, {path: /nested}]}\n    respond: {status: 204}\n" +
		"  - name: by-header\n    match: {path: /hdr, headers: {access-control-request-method: {present: true}}}\n    respond: {status: 204}\n"
	c, err := Parse([]byte(src), "x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	preflight := http.Header{"Origin": {"http://app"}, "Access-Control-Request-Method": {"GET"}}
	for _, tc := range []struct {
		method, path string
		header       http.Header
		want         string
	}{
		{"OPTIONS", "/v1/charges", preflight, ""},
		{"OPTIONS", "/cors/x", preflight, "options"},
		{"OPTIONS", "/nested", preflight, "nested"},
		{"OPTIONS", "/hdr", preflight, "by-header"},
		{"OPTIONS", "/v1/charges", nil, "any-method"},
		{"GET", "/v1/charges", preflight, "any-method"},
	} {
		m, _ := c.MatchMock(&Request{Method: tc.method, Path: tc.path, Header: tc.header, Bin: "default"})
		got := ""
		if m != nil {
			got = m.Name
		}
		if got != tc.want {
			t.Errorf("%s %s (preflight headers %v): mock %q, want %q", tc.method, tc.path, tc.header != nil, got, tc.want)
		}
	}
	// A mock built without a matcher (matching everything) is safe too.
	bare := &Config{Mocks: []*Mock{{Name: "bare"}}}
	if m, _ := bare.MatchMock(&Request{Method: "OPTIONS", Path: "/", Header: preflight, Bin: "default"}); m != nil {
		t.Errorf("a preflight went to a mock without a matcher: %s", m.Name)
	}
}

// TestFileContentType: a file body is sent with its extension's type,
// JSON and XML as their templates are, whatever the machine's table says.
func TestFileContentType(t *testing.T) {
	t.Parallel()
	for file, want := range map[string]string{"a.xml": "application/xml", "b.JSON": "application/json", "c.html": "text/html; charset=utf-8", "d": ""} {
		if got := (&Response{File: file}).ContentType(); got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
}

// TestHTMLBody: a body that starts as an HTML document is sent as
// text/html (it went as application/xml, which a browser refuses for
// <br>), and placeholders in HTML, by its start or by a text/html
// Content-Type (where they were written as they are), are escaped.
func TestHTMLBody(t *testing.T) {
	t.Parallel()
	hostile := &Request{Method: "GET", Path: "/", RawQuery: "q=%3Cscript%3Ex%3C/script%3E", Header: http.Header{}}
	for _, tc := range []struct{ yaml, wantType string }{
		{"respond: {body: '<!DOCTYPE html><p>{{ request.query.q }}</p>'}", "text/html; charset=utf-8"},
		{"respond: {body: '{% assign a = 1 %}<HTML><p>{{ request.query.q }}</p></HTML>'}", "text/html; charset=utf-8"},
		{"respond: {headers: {Content-Type: text/html}, body: '<p>{{ request.query.q }}</p>'}", "-"}, // its own type
		{"respond: {body: '<doc>{{ request.query.q }}</doc>'}", "application/xml"},
	} {
		c, err := Parse([]byte("mocks:\n  - name: m\n    "+tc.yaml+"\n"), "h.yaml", nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.yaml, err)
		}
		m := c.Mocks[0]
		if got := m.Respond.ContentType(); tc.wantType != "-" && got != tc.wantType {
			t.Errorf("%s: type %q, want %q", tc.yaml, got, tc.wantType)
		}
		out, err := m.Respond.Body.Render(RequestVars(hostile, nil))
		if err != nil || strings.Contains(string(out), "<script>") || !strings.Contains(string(out), "&lt;script&gt;") {
			t.Errorf("%s: rendered %q, %v; want the script escaped", tc.yaml, out, err)
		}
	}
}

// TestVerifyNamesItsTimestampHeader: a rule that reads the timestamp from
// a header of its own says that header is missing, not the scheme's.
func TestVerifyNamesItsTimestampHeader(t *testing.T) {
	t.Parallel()
	c, err := Parse([]byte("verify:\n  - {scheme: slack, secret: abc, timestamp_header: X-Ts}\n"), "x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	h := http.Header{"X-Slack-Signature": {"v0=00"}}
	if ok, reason := c.Verify[0].Check(h, []byte("{}"), time.Now()); ok || reason != "missing header X-Ts" {
		t.Errorf("Check: %v %q, want missing header X-Ts", ok, reason)
	}
	// And that it cannot be read.
	h.Set("X-Ts", "2023-11-14T22:13:20Z")
	want := `bad encoding X-Ts: want Unix seconds, got "2023-11-14T22:13:20Z"`
	if ok, reason := c.Verify[0].Check(h, []byte("{}"), time.Now()); ok || reason != want {
		t.Errorf("Check: %v %q, want %q", ok, reason, want)
	}
	// Standard Webhooks names its headers in lower case.
	c, err = Parse([]byte("verify:\n  - {scheme: standard-webhooks, secret: whsec_AAAA, timestamp_header: X-Sent-At}\n"), "x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	h = http.Header{"Webhook-Id": {"m"}, "Webhook-Signature": {"v1,AAAA"}, "X-Sent-At": {"soon"}}
	want = `bad encoding X-Sent-At: want Unix seconds, got "soon"`
	if ok, reason := c.Verify[0].Check(h, []byte("{}"), time.Now()); ok || reason != want {
		t.Errorf("Check: %v %q, want %q", ok, reason, want)
	}
}

// TestTwoSetCookies: a mock sends two cookies by naming Set-Cookie in two
// cases (a YAML mapping has each key once): still loads.
func TestTwoSetCookies(t *testing.T) {
	t.Parallel()
	src := "mocks:\n  - name: login\n    respond:\n      status: 200\n      headers:\n        Set-Cookie: session=abc; Path=/; HttpOnly\n        set-cookie: csrf=xyz; Path=/\n"
	c, err := Parse([]byte(src), "x.yaml", env())
	if err != nil {
		t.Fatalf("a mock setting two cookies is refused:\n%v", err)
	}
	if n := len(c.Mocks[0].Respond.Headers); n != 2 {
		t.Errorf("%d headers, want both cookies", n)
	}
}

// TestFileTemplateHint: a file: name with a placeholder (WireMock's
// bodyFileName takes one) is refused saying file: is no template, not
// only that no such file exists.
func TestFileTemplateHint(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "x.yaml")
	_, err := Parse([]byte("mocks:\n  - respond: {file: \"bodies/{{ request.params.id }}.json\"}\n"), file, nil)
	if err == nil || !strings.Contains(err.Error(), "not a template") {
		t.Errorf("err = %v; want one saying file: is not a template", err)
	}
}

// TestForeignKeysHint: keys of other mock servers' stubs (WireMock's,
// Mockoon's) are refused naming what to write instead, not only as
// unknown.
func TestForeignKeysHint(t *testing.T) {
	t.Parallel()
	src := `mocks:
  - name: a
    priority: 1
    match: {urlPath: /a, queryParameters: {q: x}, bodyPatterns: []}
    respond: {jsonBody: {a: 1}, fixedDelayMilliseconds: 10, bodyFileName: a.json, statusCode: 201}
  - match: {cookies: {session: abc}}
    respond: {status: 200}
`
	_, err := Parse([]byte(src), "x.yaml", nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`x.yaml:3:5: mock "a": unknown key "priority" (rules are tried in file order`,
		`x.yaml:4:13: mock "a": match: unknown key "urlPath" (write the path as path:`,
		`x.yaml:4:26: mock "a": match: unknown key "queryParameters" (write query conditions as query:`,
		`x.yaml:4:51: mock "a": match: unknown key "bodyPatterns" (write body conditions as body:, json: or json_partial:`,
		`x.yaml:5:15: mock "a": respond: unknown key "jsonBody" (write the JSON as text in body:`,
		`x.yaml:5:33: mock "a": respond: unknown key "fixedDelayMilliseconds" (write delay:`,
		`x.yaml:5:61: mock "a": respond: unknown key "bodyFileName" (write file:`,
		`x.yaml:5:83: mock "a": respond: unknown key "statusCode" (write status:`,
		`x.yaml:6:13: mock "mock-2": match: unknown key "cookies" (match a cookie with headers: {Cookie:`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no error starting %s in:\n%v", want, err)
		}
	}
}

// TestPathWithQueryOrURL: a path written with its query, which a path
// never holds (it matched nothing, silently), or as a whole URL, is
// refused saying how to write it.
func TestPathWithQueryOrURL(t *testing.T) {
	t.Parallel()
	src := `mocks:
  - match: {path: "/search?q=shoes"}
    respond: {body: x}
  - match: {path: "https://api.example.com/v1/x"}
    respond: {body: x}
`
	_, err := Parse([]byte(src), "x.yaml", nil)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`x.yaml:2:19: mock "mock-1": path: "/search?q=shoes" holds a query, which the path never does: write path: /search and query: {q: shoes}`,
		`x.yaml:4:19: mock "mock-2": path: "https://api.example.com/v1/x" must start with / (write the path only, /v1/x; headers: {Host: ...} matches the host)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("no error %s in:\n%v", want, err)
		}
	}
}

// TestTrailingEmptyDocument: a file ending with a document marker (---),
// as some generators write it, holds one document: the empty one after it
// is nothing, not a second config.
func TestTrailingEmptyDocument(t *testing.T) {
	t.Parallel()
	for _, src := range []string{"mocks: []\n---\n", "mocks: []\n---\n# nothing more\n", "---\nmocks: []\n---\n...\n"} {
		if _, err := Parse([]byte(src), "x.yaml", nil); err != nil {
			t.Errorf("%q: %v", src, err)
		}
	}
	if _, err := Parse([]byte("mocks: []\n---\n\n---\nmocks: []\n"), "x.yaml", nil); err == nil || !strings.Contains(err.Error(), "x.yaml:4:1: only one YAML document is allowed") {
		t.Errorf("a second document after an empty one: %v", err)
	}
}

func TestExtensionKeys(t *testing.T) {
	t.Parallel()
	// What no section merges is not read: its references need no
	// variable. What one merges is read there, keys and values.
	src := `x-unused:
  ${UNSET_KEY}: ${UNSET_VALUE}
x-headers: &h
  ${HDR}: ${VAL}
mocks:
  - respond:
      status: 200
      headers: {<<: *h}
`
	c, err := Parse([]byte(src), "x.yaml", env("HDR", "X-Team", "VAL", "support"))
	if err != nil {
		t.Fatal(err)
	}
	if h := c.Mocks[0].Respond.Headers; len(h) != 1 || h["X-Team"] == nil {
		t.Errorf("headers = %v, want X-Team", h)
	}
	// A top-level key from the environment is still read as the name it
	// gives (it was, before extension keys came).
	c, err = Parse([]byte("${SECTION}:\n  - respond: {status: 201}\n"), "x.yaml", env("SECTION", "mocks"))
	if err != nil || len(c.Mocks) != 1 {
		t.Errorf("a top-level key from the environment: %v", err)
	}
	_, err = Parse([]byte(src), "x.yaml", env("HDR", "X-Team"))
	if err == nil || !strings.Contains(err.Error(), "x.yaml:4:11:") || !strings.Contains(err.Error(), "VAL") || strings.Contains(err.Error(), "UNSET") {
		t.Errorf("err = %v, want only VAL unset, at 4:11", err)
	}
}

// TestYAMLErrorLineInALargeFile: a syntax error at the end of a config of
// 1,000 rules (the limit) is said on its line: the search for that line
// parsed the file's prefixes, one line longer each time, gave up past 32
// MiB parsed (3.8 s) and said 1:1, the line of mocks:.
func TestYAMLErrorLineInALargeFile(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	b.WriteString("mocks:\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "  - name: m%d\n    match: {path: /p%d, method: POST, json: [{path: a.b, op: eq, value: %d}]}\n"+
			"    respond: {body: '{\"i\": \"{{ request.json.a }}\"}'}\n", i, i, i)
	}
	b.WriteString("  - name: x\n   bad: [\n")
	_, err := Parse([]byte(b.String()), "x.yaml", nil)
	const want = "x.yaml:3003:4: yaml: did not find expected '-' indicator"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// TestShadowed: a mock below one that matches every request in its scope
// can never match, and Shadowed names it with the mock that takes its
// requests; one of another bin or proxy, or one that takes CORS
// preflights (which a mock naming no method leaves alone), still can.
func TestShadowed(t *testing.T) {
	t.Parallel()
	src := `mocks:
  - name: bin-a-all
    bin: a
    respond: {status: 200}
  - name: in-a
    bin: a
    match: {path: /x}
    respond: {status: 201}
  - name: in-b
    bin: b
    match: {path: /x}
    respond: {status: 201}
  - name: proxied-all
    proxy: "*"
    respond: {status: 200}
  - name: proxied
    proxy: api
    match: {path: /x}
    respond: {status: 201}
  - name: catch-all
    match: {path: "/**"}
    respond: {status: 404, body: '{"error": "not mocked"}'}
  - name: never
    match: {method: POST, path: /v1/charges}
    respond: {status: 201}
  - name: also-never
    bin: b
    respond: {status: 200}
  - name: preflight
    match: {method: OPTIONS, path: /v1/**}
    respond: {status: 204}
  - name: in-c
    bin: c
    proxy: api
    respond: {status: 200}
`
	c, err := Parse([]byte(src), "x.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range c.Shadowed() {
		got = append(got, fmt.Sprintf("%s:%d by %s:%d", s.Mock.Name, s.Mock.Line, s.By.Name, s.By.Line))
	}
	want := []string{"in-a:5 by bin-a-all:2", "proxied:16 by proxied-all:13", "never:23 by catch-all:20", "also-never:26 by catch-all:20", "in-c:32 by proxied-all:13"}
	if !slices.Equal(got, want) {
		t.Errorf("Shadowed:\n got %q\nwant %q", got, want)
	}
}

// TestRedactedTriggersAndAutomations: check --print shows triggers and
// automations with the values of secret-named keys REDACTED (params, data,
// a payload written as YAML), and a condition's value on such a path, as
// GET /api/emit/config does: they printed as written.
func TestRedactedTriggersAndAutomations(t *testing.T) {
	t.Parallel()
	src := `webhooks:
  - id: hook
    endpoint: http://127.0.0.1:3000/x
    method: GET
triggers:
  - name: t
    when:
      event: ticket.created
      all:
        - {path: ticket.api_key, op: eq, value: cond-secret}
        - {path: ticket.priority, op: eq, value: urgent}
    notify: {webhook: hook, params: {id: "{{ticket.id}}", access_token: param-secret, env: "${TOKEN}"}}
automations:
  - name: a
    every: 1h
    data: {account: {password: data-secret, name: acme}}
    notify: {webhook: hook, payload: {ticket: {api_key: payload-secret, tags: [a]}}}
`
	c, err := Parse([]byte(src), "x.yaml", func(string) string { return "env-value" })
	if err != nil {
		t.Fatal(err)
	}
	secret := func(name string) bool {
		n := strings.ToLower(name)
		return strings.Contains(n, "token") || strings.Contains(n, "password") || strings.Contains(n, "key")
	}
	out, err := c.Redacted(secret, nil).Normalized()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	for _, leak := range []string{"cond-secret", "param-secret", "data-secret", "payload-secret", "env-value"} {
		if strings.Contains(s, leak) {
			t.Errorf("the printed config shows %s:\n%s", leak, s)
		}
	}
	for _, kept := range []string{"urgent", "{{ticket.id}}", "acme", "${TOKEN}", "ticket.api_key"} {
		if !strings.Contains(s, kept) {
			t.Errorf("the printed config lost %s:\n%s", kept, s)
		}
	}
	if strings.Count(s, Redacted) != 4 {
		t.Errorf("want 4 values REDACTED:\n%s", s)
	}
}

// A file whose every rule repeats one mistake gives the first MaxShown
// problems and a line counting the rest, not thousands of lines; the
// list keeps them all.
func TestErrorsShownAreCapped(t *testing.T) {
	t.Parallel()
	var src strings.Builder
	src.WriteString("mocks:\n")
	for i := range 30 {
		fmt.Fprintf(&src, "  - name: m%d\n    path: /p%d\n    respond: {}\n", i, i)
	}
	_, err := Parse([]byte(src.String()), "x.yaml", nil)
	var es *Errors
	if !errors.As(err, &es) {
		t.Fatalf("Parse: %v, want *Errors", err)
	}
	if len(es.List) != 30 {
		t.Fatalf("List holds %d problems, want 30", len(es.List))
	}
	lines := strings.Split(err.Error(), "\n")
	if len(lines) != MaxShown+1 {
		t.Fatalf("Error() has %d lines, want %d:\n%s", len(lines), MaxShown+1, err)
	}
	if want := `x.yaml:3:5: mock "m0": unknown key "path"`; !strings.HasPrefix(lines[0], want) {
		t.Errorf("first line %q, want it to begin %q", lines[0], want)
	}
	if want := "... and 10 more problems (30 in all)"; lines[MaxShown] != want {
		t.Errorf("last line %q, want %q", lines[MaxShown], want)
	}
	// Up to MaxShown, every problem is spelt out.
	es.List = es.List[:MaxShown]
	if got := strings.Count(es.Error(), "\n") + 1; got != MaxShown || strings.Contains(es.Error(), "more problems") {
		t.Errorf("%d problems: Error() has %d lines:\n%s", MaxShown, got, es)
	}
}
