package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// reloadWithin is how soon an edit of the config must change behaviour.
const reloadWithin = time.Second

// greetConfig is a config whose /hello answers body, with rule "greet" on
// line 2.
func greetConfig(body string) string {
	return "mocks:\n  - name: greet\n    match: {path: /hello}\n    respond: {status: 200, body: " + strconv.Quote(body) + "}\n"
}

// brokenConfig keeps the greet rule but has an invalid status on line 5.
const brokenConfig = "mocks:\n  - name: greet\n    match: {path: /hello}\n    respond:\n      status: 2000\n"

// hello returns the capture endpoint's answer to GET /hello.
func (s *server) hello(t testing.TB) string {
	t.Helper()
	resp, err := http.Get(strings.TrimSuffix(s.Capture, "/") + "/hello")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return strconv.Itoa(resp.StatusCode) + " " + string(b)
}

// within polls cond every 10ms and fails the test when d passes first.
func within(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > d {
			t.Fatalf("%s: not within %v", what, d)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// rulesAPI is GET /api/rules.
type rulesAPI struct {
	File  *string `json:"file"`
	Error *string `json:"error"`
	Rules []struct {
		Name   string `json:"name"`
		Source string `json:"source"`
		Hits   int64  `json:"hits"`
	} `json:"rules"`
}

func (s *server) rules(t testing.TB) rulesAPI {
	t.Helper()
	var r rulesAPI
	s.getJSON(t, "/api/rules", &r)
	return r
}

// rulesEvents reads the live stream's "rules" events.
type rulesEvents struct {
	c *websocket.Conn
}

func dialStream(t testing.TB, s *server) *rulesEvents {
	t.Helper()
	u, _ := url.Parse(s.UI)
	c, _, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rulesEvents{c: c}
}

// wait returns the error field (nil for none) of the first "rules" event
// that want accepts, skipping other events, or fails after d. A save can
// reload more than once (an editor writing in steps), so events that want
// refuses are skipped too.
func (e *rulesEvents) wait(t testing.TB, d time.Duration, what string, want func(errField any) bool) any {
	t.Helper()
	_ = e.c.SetReadDeadline(time.Now().Add(d))
	var seen []any
	for {
		_, b, err := e.c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for a rules event %s (saw %v): %v", what, seen, err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("stream message %s: %v", b, err)
		}
		if m["type"] != "rules" {
			continue
		}
		v, ok := m["error"]
		if !ok {
			t.Fatalf("rules event without an error field: %s", b)
		}
		if want(v) {
			return v
		}
		seen = append(seen, v)
	}
}

func noError(v any) bool { return v == nil }

// TestRulesReload edits a running server's config: in place, by rename and
// replace, broken (the old config stays; the API and the stream show the
// error with file:line) and fixed again.
func TestRulesReload(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "hooklab.yaml")
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	replace := func(content string) {
		t.Helper()
		tmp := filepath.Join(dir, ".hooklab.yaml.swp")
		if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
	}
	write(greetConfig("v1"))
	s := startServer(t, "--memory", "--config", file)
	if got := s.hello(t); got != "200 v1" {
		t.Fatalf("at start /hello answers %q", got)
	}
	if r := s.rules(t); r.Error != nil || len(r.Rules) != 1 || r.Rules[0].Source != file+":2" || r.Rules[0].Hits != 1 {
		t.Fatalf("GET /api/rules at start: %+v", r)
	}
	events := dialStream(t, s)

	steps := []struct {
		name    string
		edit    func(string)
		content string
		want    string // the answer to /hello afterwards
		broken  bool
	}{
		{"edit in place", write, greetConfig("v2"), "200 v2", false},
		{"rename and replace", replace, greetConfig("v3"), "200 v3", false},
		{"broken edit", write, brokenConfig, "200 v3", true},
		{"fixed", write, greetConfig("v4"), "200 v4", false},
		{"broken by rename", replace, "mocks: [\n  {name: greet,\n", "200 v4", true},
		{"fixed by rename", replace, greetConfig("v5"), "200 v5", false},
	}
	for _, st := range steps {
		st.edit(st.content)
		edited := time.Now()
		if !st.broken {
			within(t, reloadWithin, st.name+": /hello answers "+st.want, func() bool { return s.hello(t) == st.want })
			events.wait(t, 5*time.Second, st.name+" without an error", noError)
			if r := s.rules(t); r.Error != nil {
				t.Errorf("%s: GET /api/rules still shows the error %q", st.name, *r.Error)
			}
			continue
		}
		got := events.wait(t, 5*time.Second, st.name+" with an error", func(v any) bool { return v != nil })
		msg, _ := got.(string)
		if !strings.HasPrefix(msg, file+":") {
			t.Fatalf("%s: rules event error %v, want it to start with %s:<line>", st.name, got, file)
		}
		if d := time.Since(edited); d > reloadWithin {
			t.Errorf("%s: the error reached the stream after %v", st.name, d)
		}
		r := s.rules(t)
		if r.Error == nil || *r.Error != msg {
			t.Errorf("%s: GET /api/rules error %v, want the stream's %q", st.name, r.Error, msg)
		}
		if got := s.hello(t); got != st.want {
			t.Errorf("%s: /hello answers %q; the last good config should stay", st.name, got)
		}
		if len(r.Rules) != 1 || r.Rules[0].Name != "greet" {
			t.Errorf("%s: rules listed %+v; the last good ones should stay", st.name, r.Rules)
		}
		if st.content == brokenConfig && !strings.HasPrefix(msg, file+":5:") {
			t.Errorf("%s: error %q does not point at line 5", st.name, msg)
		}
	}

	// Removing the file keeps the last config and says so; writing it
	// again applies it.
	if err := os.Remove(file); err != nil {
		t.Fatal(err)
	}
	events.wait(t, 5*time.Second, "for the removed file", func(v any) bool { return v != nil })
	if got := s.hello(t); got != "200 v5" {
		t.Errorf("after the file was removed /hello answers %q", got)
	}
	write(greetConfig("v6"))
	within(t, reloadWithin, "the re-created file answers", func() bool { return s.hello(t) == "200 v6" })
	events.wait(t, 5*time.Second, "for the re-created file", noError)

	logged := s.Stderr.String()
	if !strings.Contains(logged, file+":5:") {
		t.Errorf("the log does not show the error with file:line:\n%s", logged)
	}
	// One line per outcome: five good reloads (v2 to v6), three refused
	// (two broken edits and the removed file), none said twice.
	if n, m := strings.Count(logged, `msg="config reloaded"`), strings.Count(logged, "config reload failed"); n != 5 || m != 3 {
		t.Errorf("the log has %d reloaded and %d failed lines, want 5 and 3:\n%s", n, m, logged)
	}
	// Each says what the file now holds, as the start does.
	if n := strings.Count(logged, `config="1 mock, 0 verify rules"`); n != 5 {
		t.Errorf("%d reloaded lines say what the file holds, want 5:\n%s", n, logged)
	}
}

// TestRulesCheckCommand: check exits non-zero with every error as
// file:line:col, and --print shows the normalized config with secrets
// redacted.
func TestRulesCheckCommand(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	good := filepath.Join(dir, "good.yaml")
	hooks := filepath.Join(dir, "hooks.yaml")
	brokenHook := filepath.Join(dir, "broken-hook.yaml")
	apiHook := filepath.Join(dir, "api-hook.yaml")
	brokenProxy := filepath.Join(dir, "broken-proxy.yaml")
	headerSecrets := filepath.Join(dir, "header-secrets.yaml")
	ghostProxy := filepath.Join(dir, "ghost-proxy.yaml")
	brokenBoth := filepath.Join(dir, "broken-both.yaml")
	shadowed := filepath.Join(dir, "shadowed.yaml")
	files := map[string]string{
		shadowed:   "mocks:\n  - name: everything\n    respond: {status: 200}\n  - name: charges\n    match: {path: /v1/charges}\n    respond: {status: 201}\n",
		brokenBoth: "webhooks:\n  - id: a\n    endpoint: http://127.0.0.1:3000/a\n    authentication: {type: magic}\nproxies:\n  - name: p\n    listen: 127.0.0.1:0\n    upstream: nope\n",
		ghostProxy: "mocks:\n  - name: m\n    proxy: nope\n    respond: {status: 200}\n",
		headerSecrets: `mocks:
  - name: needs-token
    match:
      headers: {Authorization: "Bearer tok-SECRET1", X-Trace: visible-1}
      any: [{headers: {X-Api-Key: {contains: tok-SECRET2}}}]
    respond:
      headers: {Set-Cookie: "sid=tok-SECRET3", X-Plain: visible-2}
      body: ok
webhooks:
  - id: w
    endpoint: https://hooks.example.com/in?api_key=tok-SECRET8&team=visible-5
    custom_headers: {X-Api-Key: tok-SECRET5, X-Team: visible-3}
proxies:
  - name: p
    listen: 127.0.0.1:0
    upstream: http://u:tok-SECRET6@127.0.0.1:3000/?access_token=tok-SECRET9
    request_headers: {add: {Authorization: "Basic tok-SECRET7", X-Env: visible-4}}
`,
		brokenHook: "webhooks:\n  - id: a\n    endpoint: http://127.0.0.1:3000/a\n    authentication: {type: magic}\n",
		apiHook: `triggers:
  - name: t
    when: {event: ticket.created}
    notify: {webhook: made-by-api, payload: "{}"}
`,
		brokenProxy: "proxies:\n  - name: p\n    listen: 127.0.0.1:0\n    upstream: nope\n  - name: open\n    forward: true\n    listen: 0.0.0.0:8888\n",
		hooks: `webhooks:
  - id: a
    endpoint: http://127.0.0.1:3000/a
    authentication: {type: basic_auth, username: bot, password: hook-secret-value}
    signing: {scheme: zendesk, secret: ${ZD_SECRET}}
triggers:
  - name: t
    when: {event: ticket.created}
    notify: {webhook: a, payload: '{"id": "{{ticket.id}}"}'}
`,
		bad: `mocks:
  - name: a
    match: {path: /a}
    respond: {stauts: 200}
  - name: b
    match: {path: /b}
    respond: {status: 2000}
verfiy: []
`,
		good: `mocks:
  - name: ok
    match: {path: /ok}
    respond: {status: 201, body: fine}
verify:
  - name: gh
    match: {path: /gh}
    scheme: github
    secret: literal-secret-value
  - name: zd
    scheme: zendesk
    secret: ${ZD_SECRET}
`,
	}
	for name, content := range files {
		if err := os.WriteFile(name, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	getenv := func(k string) string {
		if k == "ZD_SECRET" {
			return "env-secret-value"
		}
		return ""
	}
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr bool
		want    []string // in stdout+stderr
		notWant []string
	}{
		{"errors", []string{"check", bad}, true,
			[]string{bad + ":4:15: ", `"status"`, bad + ":7:23: ", "2000", bad + ":8:1: ", `"verify"`}, nil},
		{"missing file", []string{"check", filepath.Join(dir, "none.yaml")}, true, []string{"none.yaml"}, nil},
		{"good", []string{"check", good}, false, []string{good + ": ok (1 mock, 2 verify rules)"}, nil},
		{"print", []string{"check", "--print", good}, false,
			[]string{"REDACTED", "name: gh", "status: 201"}, []string{"literal-secret-value", "env-secret-value"}},
		{"print after the file", []string{"check", good, "--print"}, false,
			[]string{"REDACTED", "name: zd"}, []string{"literal-secret-value", "env-secret-value"}},
		{"print errors", []string{"check", "--print", bad}, true, []string{bad + ":4:15: "}, nil},
		{"webhooks", []string{"check", hooks}, false, []string{hooks + ": ok (0 mocks, 0 verify rules, 1 webhook, 1 trigger)"}, nil},
		{"print validates webhooks", []string{"check", "--print", brokenHook}, true, []string{brokenHook + ":4:"}, []string{"endpoint:"}},
		{"webhooks validated", []string{"check", brokenHook}, true, []string{brokenHook + ":4:"}, nil},
		{"webhooks and proxies validated at once", []string{"check", brokenBoth}, true, []string{brokenBoth + ":4:", brokenBoth + ":8:"}, nil},
		{"proxies validated", []string{"check", brokenProxy}, true, []string{brokenProxy + ":4:", brokenProxy + ":5:5: proxy open: a forward proxy on 0.0.0.0:8888 reaches beyond this machine"}, nil},
		{"webhook not in the file", []string{"check", apiHook}, false,
			[]string{"warning: " + apiHook + `:4:23: trigger t: webhook "made-by-api" is not defined in this file`, apiHook + ": ok"}, nil},
		{"two files", []string{"check", good, hooks}, true, []string{`unexpected argument "` + hooks + `"`}, []string{": ok"}},
		{"mock for a proxy not defined", []string{"check", ghostProxy}, false,
			[]string{"warning: " + ghostProxy + `:2: mock "m" applies to proxy "nope", which this file does not define`, ghostProxy + ": ok"}, nil},
		{"mock below a catch-all", []string{"check", shadowed}, false,
			[]string{"warning: " + shadowed + `:4: mock "charges" never matches: mock "everything" above it (line 2) matches every request`, shadowed + ": ok"}, nil},
		{"--config as serve takes it", []string{"check", "--config", good}, false, []string{good + ": ok (1 mock, 2 verify rules)"}, nil},
		{"a file and --config", []string{"check", good, "--config", hooks}, true, []string{"two config files"}, []string{": ok"}},
		{"stray flag after the file", []string{"check", good, "--bogus"}, true, []string{"-bogus"}, []string{": ok"}},
		{"print redacts secret headers, URL passwords and secret query values", []string{"check", "--print", headerSecrets}, false,
			[]string{"visible-1", "visible-2", "visible-3", "visible-4", "u:REDACTED@", "?api_key=REDACTED&team=visible-5", "?access_token=REDACTED"},
			[]string{"tok-SECRET1", "tok-SECRET2", "tok-SECRET3", "tok-SECRET4", "tok-SECRET5", "tok-SECRET6", "tok-SECRET7", "tok-SECRET8", "tok-SECRET9"}},
		{"print webhooks", []string{"check", "--print", hooks}, false,
			[]string{"password: REDACTED", "secret: REDACTED", "username: bot"}, []string{"hook-secret-value", "env-secret-value"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut syncBuffer
			err := run(context.Background(), tc.args, getenv, &out, &errOut)
			if (err != nil) != tc.wantErr {
				t.Errorf("run %v: error %v, want error %v", tc.args, err, tc.wantErr)
			}
			all := out.String() + errOut.String()
			if err != nil && err != errUsage {
				all += err.Error()
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("output does not contain %q:\n%s", w, all)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(all, w) {
					t.Errorf("output contains %q:\n%s", w, all)
				}
			}
		})
	}
}

// TestRulesSchemaCommand: schema prints a JSON Schema of the config.
func TestRulesSchemaCommand(t *testing.T) {
	t.Parallel()
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"schema"}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatal(err, errOut.String())
	}
	var schema struct {
		Schema     string                     `json:"$schema"`
		Type       string                     `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal([]byte(out.String()), &schema); err != nil {
		t.Fatalf("schema is not JSON: %v\n%s", err, out.String())
	}
	if !strings.Contains(schema.Schema, "json-schema.org") || schema.Type != "object" {
		t.Errorf("not a JSON Schema of an object: $schema %q type %q", schema.Schema, schema.Type)
	}
	for _, key := range []string{"mocks", "verify", "settings"} {
		if _, ok := schema.Properties[key]; !ok {
			t.Errorf("schema has no property %q", key)
		}
	}
}

// TestRulesBrokenConfigAtStart: a server does not start on a broken config
// and says where it is broken.
func TestRulesBrokenConfigAtStart(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(file, []byte(brokenConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"serve", "--memory", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--config", file},
		func(string) string { return "" }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), file+":5:") {
		t.Errorf("run with a broken config: %v", err)
	}
}

// everySectionBroken has an error in each section's owner's part: proxies
// (rule p's upstream, line 4), mocks (a status, line 7) and webhooks (an
// authentication type, line 11), proxies first, so that file order is not
// the order the owners are asked in.
const everySectionBroken = `proxies:
  - name: p
    listen: 127.0.0.1:0
    upstream: nope
mocks:
  - name: greet
    respond: {status: 2000}
webhooks:
  - id: a
    endpoint: http://127.0.0.1:3000/a
    authentication: {type: magic}
`

// inFileOrder reports whether each of want is in s, each after the one
// before it.
func inFileOrder(s string, want ...string) bool {
	at := 0
	for _, w := range want {
		i := strings.Index(s[at:], w)
		if i < 0 {
			return false
		}
		at += i + len(w)
	}
	return true
}

// TestRulesErrorsOfEverySection: an error in the mocks hides none in the
// webhooks or the proxies: check, a start and a reload list every
// section's errors at once, in file order. They listed the mocks' alone,
// and the user learned of the next section's only once those were fixed.
func TestRulesErrorsOfEverySection(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "hooklab.yaml")
	if err := os.WriteFile(file, []byte(everySectionBroken), 0o600); err != nil {
		t.Fatal(err)
	}
	lines := []string{file + ":4:", file + ":7:", file + ":11:"}
	getenv := func(string) string { return "" }

	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"check", file}, getenv, &out, &errOut); err == nil {
		t.Errorf("check passed a broken file:\n%s", out.String())
	}
	if got := errOut.String(); !inFileOrder(got, lines...) {
		t.Errorf("check does not list %q in file order:\n%s", lines, got)
	}

	err := run(context.Background(), []string{"serve", "--memory", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--config", file}, getenv, &out, &errOut)
	if err == nil || !inFileOrder(err.Error(), lines...) {
		t.Errorf("serve with the broken file: %v; want %q in file order", err, lines)
	}

	// A reload: the last good config stays live, the mocks' and the
	// webhooks' alike, and the error lists both sections'.
	good := greetConfig("v1") + "webhooks:\n  - id: a\n    endpoint: http://127.0.0.1:3000/a\n"
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", file)
	events := dialStream(t, s)
	// A trigger for a webhook neither in the file nor made through the
	// API: check takes it for an API-made one, a running server knows.
	broken := strings.NewReplacer("status: 200,", "status: 2000,", "/a\n", "/b\n").Replace(good) + "    authentication: {type: magic}\n" +
		"triggers:\n  - name: t\n    when: {event: ticket.created}\n    notify: {webhook: ghost, payload: \"{}\"}\n"
	replaceFile(t, file, broken) // at once: a reload must not read it half-written
	got := events.wait(t, 5*time.Second, "with an error", func(v any) bool { return v != nil })
	msg, _ := got.(string)
	if want := []string{file + ":4:", file + ":8:", file + `:12:23: trigger t: webhook "ghost"`}; !inFileOrder(msg, want...) {
		t.Errorf("the reload's error %q does not list %q in file order", msg, want)
	}
	if r := s.rules(t); r.Error == nil || *r.Error != msg {
		t.Errorf("GET /api/rules error %v, want the stream's %q", r.Error, msg)
	}
	if got := s.hello(t); got != "200 v1" {
		t.Errorf("/hello answers %q; the last good config should stay", got)
	}
	var hooks struct {
		Webhooks []struct {
			ID       string `json:"id"`
			Endpoint string `json:"endpoint"`
		} `json:"webhooks"`
	}
	s.getJSON(t, "/api/webhooks", &hooks)
	if w := hooks.Webhooks; len(w) != 1 || w[0].Endpoint != "http://127.0.0.1:3000/a" {
		t.Errorf("webhooks after the broken reload: %+v; the last good ones should stay", w)
	}
}

// TestRulesReloadProxyNeedsRestart: a reload that adds a proxy or moves
// one's listen address says it waits for a restart, instead of reporting
// the config reloaded and leaving the new address silently unserved.
func TestRulesReloadProxyNeedsRestart(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "hooklab.yaml")
	proxies := func(extra string) string {
		return "proxies:\n  - name: api\n    listen: 127.0.0.1:0\n    upstream: http://127.0.0.1:9\n" + extra
	}
	if err := os.WriteFile(file, []byte(proxies("")), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", file)
	edit := strings.Replace(proxies("  - name: api2\n    listen: 127.0.0.1:0\n    upstream: http://127.0.0.1:9\n"), "listen: 127.0.0.1:0\n    upstream: http://127.0.0.1:9\n  - name: api2", "listen: 127.0.0.2:0\n    upstream: http://127.0.0.1:9\n  - name: api2", 1)
	if err := os.WriteFile(file, []byte(edit), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		log := s.Stderr.String()
		return strings.Contains(log, "proxy api2 ("+file+":5) is new: it starts at the next restart") &&
			strings.Contains(log, "proxy api ("+file+":2): its listen address, mode or mitm_ignore changed")
	}, "the reload's warnings that the new proxy and the new address wait for a restart")
	// A reload may not make a route loop to a running proxy's listener.
	own := strings.TrimPrefix(strings.TrimSuffix(proxyURL(t, s, "proxy: "), "/"), "http://")
	loop := "proxies:\n  - name: api\n    listen: 127.0.0.1:0\n    upstream: http://" + own + "\n"
	if err := os.WriteFile(file, []byte(loop), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool {
		return strings.Contains(s.Stderr.String(), "config reload failed") && strings.Contains(s.Stderr.String(), "every request would loop back")
	}, "the reload refused for a route that loops")
}

// TestRulesReloadProxyModeChange: a reload that turns a reverse proxy into
// a forward one says the change, routes included, waits for a restart; it
// no longer claims its routes changed and then logs that they did not.
func TestRulesReloadProxyModeChange(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "upstream")
	}))
	t.Cleanup(up.Close)
	dir := t.TempDir()
	file := filepath.Join(dir, "hooklab.yaml")
	if err := os.WriteFile(file, []byte("proxies:\n  - name: api\n    listen: 127.0.0.1:0\n    upstream: "+up.URL+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", file)
	pu := proxyURL(t, s, "proxy: ")
	if err := os.WriteFile(file, []byte("proxies:\n  - name: api\n    listen: 127.0.0.1:0\n    forward: true\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(s.Stderr.String(), "config reloaded") }, "the reload")
	log := s.Stderr.String()
	if !strings.Contains(log, "proxy api ("+file+":2): its mode (forward or reverse) changed, which takes effect, with its routes, at the next restart") {
		t.Errorf("no warning that the mode change waits for a restart:\n%s", log)
	}
	if strings.Contains(log, "routes changed now") || strings.Contains(log, "proxy routes not changed") {
		t.Errorf("the log contradicts itself about the routes:\n%s", log)
	}
	resp, err := http.Get(pu + "x")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(body) != "upstream" {
		t.Errorf("the reverse proxy until the restart: %d %q", resp.StatusCode, body)
	}
}

// TestRulesEnvInKeys: a ${NAME} reference in a mapping key is expanded, as
// in a value ("anywhere in the file"): a header, query or response header
// named by the environment. It was kept as the text "$«NAME»", so a query
// condition on it never held, and a header key was refused with that text.
func TestRulesEnvInKeys(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(cfg, []byte(`mocks:
  - name: keyed
    match: {query: {${QK}: v}, headers: {${HK}: {present: true}}}
    respond: {status: 201, headers: {${HK}: "yes"}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServerEnv(t, map[string]string{"QK": "token_kind", "HK": "X-Key"}, "--config", cfg)
	req, _ := http.NewRequest("GET", s.Capture+"k?token_kind=v", nil)
	req.Header.Set("X-Key", "1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 || resp.Header.Get("X-Key") != "yes" {
		t.Errorf("got %d, X-Key %q; want the rule keyed by the environment: 201, yes", resp.StatusCode, resp.Header.Get("X-Key"))
	}

	// check: an unset one in a key is named, at the key, in every section.
	for _, tc := range []struct{ src, want string }{
		{"mocks:\n  - name: a\n    respond: {headers: {${NOPE_K}: v}}\n", `:3:25: mock "a": ${NOPE_K}: environment variable NOPE_K is not set`},
		// Named by the webhook or proxy it is in, as its owner knows it.
		{"webhooks:\n  - id: w\n    endpoint: http://127.0.0.1:1/h\n    custom_headers:\n      ${NOPE_K}: v\n", ":5:7: webhook w: ${NOPE_K}: environment variable NOPE_K is not set"},
		{"proxies:\n  - name: api\n    listen: 127.0.0.1:0\n    upstream: http://127.0.0.1:1\n    request_headers: {add: {${NOPE_K}: v}}\n", ":5:29: proxy api: ${NOPE_K}: environment variable NOPE_K is not set"},
	} {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(bad, []byte(tc.src), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut syncBuffer
		err := run(context.Background(), []string{"check", bad}, func(string) string { return "" }, &out, &errOut)
		if exitCode(err) != 1 || !strings.Contains(errOut.String(), bad+tc.want) {
			t.Errorf("check %q: exit %d, stderr %q, want %q", tc.src, exitCode(err), errOut.String(), tc.want)
		}
	}
	// and a set one in a webhook's custom header name is that name.
	good := filepath.Join(t.TempDir(), "good.yaml")
	if err := os.WriteFile(good, []byte("webhooks:\n  - id: w\n    endpoint: http://127.0.0.1:1/h\n    custom_headers: {${HK}: v}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	err = run(context.Background(), []string{"check", "--print", good}, func(k string) string { return map[string]string{"HK": "X-Team"}[k] }, &out, &errOut)
	if err != nil || !strings.Contains(out.String(), "X-Team") {
		t.Errorf("check --print: %v, stdout %q, stderr %q", err, out.String(), errOut.String())
	}
}

// TestRulesCheckTemplateLine: a template error in a literal block (body: |)
// is reported at the file's line and column of the template line at fault,
// for a mock's body and a trigger's payload: it was the line of the "|",
// with the template's own line number in the message, or none at all for an
// unclosed tag or an unknown filter.
func TestRulesCheckTemplateLine(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, src, want string }{
		{"liquid syntax", `mocks:
  - name: a
    respond:
      status: 200
      body: |
        {"a": 1,
         "b": "{{ x }}",
         "c": {% for i in (1..3 %}1{% endfor %}}
`, `:8:10: mock "a": body: liquid: syntax error`},
		{"unclosed", `mocks:
  - name: a
    respond:
      body: |
        one
          two {{ request.json.id
`, `:6:11: mock "a": body: {{ request.json.id… has no closing }}`},
		{"unknown filter", `mocks:
  - name: a
    respond:
      body: |-
        one

        {{ x | nofilter }}
`, `:7:9: mock "a": body: liquid: unknown filter`},
		{"quoted: the value's own place", `mocks:
  - name: a
    respond: {body: "one\n{{ x | nofilter }}"}
`, `:3:21: mock "a": body: liquid: unknown filter`},
		{"trigger payload", `webhooks:
  - {id: w, endpoint: "http://127.0.0.1:1/h"}
triggers:
  - name: t
    when: {event: ticket.created}
    notify:
      webhook: w
      payload: |
        {"id": "{{ ticket.id }}",
         "x": "{{ ticket.x | nofilter }}"}
`, ":10:10: trigger t: notify payload: liquid: unknown filter"},
	} {
		file := filepath.Join(t.TempDir(), "h.yaml")
		if err := os.WriteFile(file, []byte(tc.src), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut syncBuffer
		err := run(context.Background(), []string{"check", file}, func(string) string { return "" }, &out, &errOut)
		if exitCode(err) != 1 || !strings.Contains(errOut.String(), file+tc.want) {
			t.Errorf("%s: exit %d, stderr %q, want %q", tc.name, exitCode(err), errOut.String(), file+tc.want)
		}
	}
}

// TestRulesErrorsNameTheirRule: check, a refused start and a refused
// reload (logged, the last good config staying live) name the rule each
// error is in (a mock, a verify rule, a proxy), by its name or, for one
// without, by the name it goes by (mock-2: its place). They gave
// file:line:col alone.
func TestRulesErrorsNameTheirRule(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "hooklab.yaml")
	broken := greetConfig("v2") + `  - match: {path: /slow}
    respond: {fault: explode}
  - name: charge
    respond: {status: 2000}
verify:
  - {scheme: gitlab, secret: x}
proxies:
  - name: api
    listen: 127.0.0.1:0
    upstream: ftp://x
`
	want := []string{
		file + `:6:22: mock "mock-2": fault: unknown fault "explode"; want reset, close, empty, garbage, timeout or drip`,
		file + `:8:23: mock "charge": status: want an HTTP status between 200 and 599, got 2000`,
		file + `:10:14: verify "verify-1": scheme: unknown scheme "gitlab" (did you mean "github"?); want one of zendesk, standard-webhooks, github, stripe, slack, shopify`,
		file + `:14:15: proxy api: upstream: want an http or https URL with a host, such as http://127.0.0.1:3000, got "ftp://x": its scheme "ftp" is neither http nor https`,
	}
	if err := os.WriteFile(file, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(string) string { return "" }

	var out, errOut syncBuffer
	err := run(context.Background(), []string{"check", file}, getenv, &out, &errOut)
	if exitCode(err) != 1 || errOut.String() != strings.Join(want, "\n")+"\n" {
		t.Errorf("check: exit %d, stderr\n%s\nwant\n%s", exitCode(err), errOut.String(), strings.Join(want, "\n"))
	}

	err = run(context.Background(), []string{"serve", "--memory", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--config", file}, getenv, &out, &errOut)
	if w := "config " + file + ":\n" + strings.Join(want, "\n"); err == nil || err.Error() != w {
		t.Errorf("serve with the broken file: %v\nwant %s", err, w)
	}

	replaceFile(t, file, greetConfig("v1"))
	s := startServer(t, "--memory", "--config", file)
	events := dialStream(t, s)
	replaceFile(t, file, broken)
	got := events.wait(t, 5*time.Second, "with an error", func(v any) bool { return v != nil })
	if msg, _ := got.(string); msg != strings.Join(want, "\n") {
		t.Errorf("the reload's error\n%s\nwant\n%s", msg, strings.Join(want, "\n"))
	}
	if got := s.hello(t); got != "200 v1" {
		t.Errorf("/hello answers %q; the last good config should stay", got)
	}
	logged := s.Stderr.String()
	for _, w := range want {
		// The log quotes the error, its lines in one value.
		if q := strconv.Quote(w); !strings.Contains(logged, "config reload failed") || !strings.Contains(logged, q[1:len(q)-1]) {
			t.Errorf("the log does not show the reload's error %s:\n%s", w, logged)
		}
	}
}

// TestRulesMergeKeysInEverySection: a YAML merge key (<<: *anchor), which
// mocks take, works in webhooks, triggers and proxies too, its own keys
// winning: they refused it as an unknown key "<<".
func TestRulesMergeKeysInEverySection(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "h.yaml")
	if err := os.WriteFile(file, []byte(`webhooks:
  - &hook {id: a, endpoint: "http://127.0.0.1:1/a", custom_headers: {X-Team: one}}
  - {<<: *hook, id: b, endpoint: "http://127.0.0.1:1/b"}
triggers:
  - &trig
    name: t1
    when: {event: ticket.created}
    notify: {webhook: a, payload: "{}"}
  - <<: *trig
    name: t2
    notify: {webhook: b, payload: "{}"}
proxies:
  - &px {name: p1, listen: "127.0.0.1:21171", upstream: "http://127.0.0.1:1"}
  - <<: [*px]
    name: p2
    listen: "127.0.0.1:21172"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"check", "--print", file}, func(string) string { return "" }, &out, &errOut)
	if err != nil {
		t.Fatalf("check: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"id: b", `endpoint: "http://127.0.0.1:1/b"`, "name: t2", "name: p2", `listen: "127.0.0.1:21172"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("check --print lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Count(out.String(), "X-Team") != 2 || strings.Count(out.String(), `upstream: "http://127.0.0.1:1"`) != 2 {
		t.Errorf("b or p2 lacks what it merged:\n%s", out.String())
	}
}

// TestRulesMergeOfNoMapping: a merge key (<<) naming something other than a
// mapping (a scalar, null, a list holding one) in a section decoded outside
// rules is refused as in mocks, saying what a merge takes, once for each
// thing it names: it was called an unknown key "<<" (and a duplicate one
// for each further scalar in the list), though << works there.
func TestRulesMergeOfNoMapping(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "h.yaml")
	if err := os.WriteFile(file, []byte(`webhooks:
  - <<: &s hello
    id: a
    endpoint: "https://127.0.0.1:1/a"
  - <<: [*s, *s]
    id: b
    endpoint: "https://127.0.0.1:1/b"
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"check", file}, func(string) string { return "" }, &out, &errOut)
	want := []string{
		file + `:2:9: <<: a merge takes a mapping or a list of mappings, got "hello"`,
		file + `:5:10: <<: a merge takes a mapping or a list of mappings, got "hello"`,
		file + `:5:14: <<: a merge takes a mapping or a list of mappings, got "hello"`,
	}
	if exitCode(err) != 1 || strings.TrimSpace(errOut.String()) != strings.Join(want, "\n") {
		t.Errorf("check: exit %d, stderr\n%s\nwant\n%s", exitCode(err), errOut.String(), strings.Join(want, "\n"))
	}
}

// TestRulesQuotedMergeKeyIsAKey: a quoted "<<" is a key like any other, not
// a merge (YAML merges only a plain <<): a payload document keyed so is
// sent as written. The merging of the other sections took it for one, so
// {"<<": {a: 1}, b: 2} went out as {"a": 1, "b": 2}.
func TestRulesQuotedMergeKeyIsAKey(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "h.yaml")
	if err := os.WriteFile(file, []byte(`webhooks:
  - id: w
    endpoint: "https://127.0.0.1:1/a"
triggers:
  - name: t
    when: {event: exchange.captured}
    notify: {webhook: w, payload: {"<<": {a: 1}, b: 2}}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"check", "--print", file}, func(string) string { return "" }, &out, &errOut)
	if err != nil {
		t.Fatalf("check: %v\n%s", err, errOut.String())
	}
	if want := `payload: {"<<": {a: 1}, b: 2}`; !strings.Contains(out.String(), want) {
		t.Errorf("check --print lacks %q:\n%s", want, out.String())
	}
}

// TestRulesEnvInKeysScrubbed: a key named by the environment in a section
// decoded outside rules (webhooks, proxies) is named by its reference in
// that section's errors, as a value is: the emitter's and the proxies'
// messages quoted the value the key was expanded to (an unknown key, a bad
// custom header name).
func TestRulesEnvInKeysScrubbed(t *testing.T) {
	t.Parallel()
	const secret = "sk_live_abcdef:123456"
	getenv := func(k string) string { return map[string]string{"SECRET_TOKEN": secret, "SAME_TOKEN": secret}[k] }
	for _, tc := range []struct{ src, want string }{
		{"webhooks:\n  - id: w\n    endpoint: https://127.0.0.1:1/h\n    ${SECRET_TOKEN}: 1\n", `:4:5: webhook w: unknown key "${SECRET_TOKEN}"`},
		{"webhooks:\n  - id: w\n    endpoint: https://127.0.0.1:1/h\n    custom_headers:\n      ${SECRET_TOKEN}: v\n", ":5:7: webhook w: custom_headers.${SECRET_TOKEN}: header name"},
		{"proxies:\n  - listen: 127.0.0.1:0\n    upstream: http://127.0.0.1:1\n    ${SECRET_TOKEN}: 2\n", `:4:5: proxy 1 (no name): unknown key "${SECRET_TOKEN}"`},
		// Two keys naming the same value, in a payload decoded as a document.
		{"webhooks:\n  - id: w\n    endpoint: https://127.0.0.1:1/h\ntriggers:\n  - name: t\n    when: {event: exchange.captured}\n    notify: {webhook: w, payload: {\"${SECRET_TOKEN}\": 1, \"${SAME_TOKEN}\": 2}}\n",
			`:7:58: trigger t: notify payload: duplicate key "${`},
	} {
		bad := filepath.Join(t.TempDir(), "bad.yaml")
		if err := os.WriteFile(bad, []byte(tc.src), 0o600); err != nil {
			t.Fatal(err)
		}
		var out, errOut syncBuffer
		err := run(context.Background(), []string{"check", bad}, getenv, &out, &errOut)
		if exitCode(err) != 1 || !strings.Contains(errOut.String(), bad+tc.want) || strings.Contains(errOut.String(), "abcdef") {
			t.Errorf("check %q: exit %d, stderr %q, want %q and not the value", tc.src, exitCode(err), errOut.String(), tc.want)
		}
	}
}

// TestProxyUpstreamPortOutOfRange: a proxies upstream whose port no
// connection can have is refused when the config loads, as a listen
// address's is; it was taken, and every request answered 502.
func TestProxyUpstreamPortOutOfRange(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "h.yaml")
	if err := os.WriteFile(file, []byte("proxies:\n  - name: p\n    listen: 127.0.0.1:0\n    upstream: http://127.0.0.1:99999\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"check", file}, func(string) string { return "" }, &out, &errOut)
	if want := file + `:4:15: proxy p: upstream: want an http or https URL with a host`; exitCode(err) != 1 || !strings.Contains(errOut.String(), want) {
		t.Errorf("check: exit %d, stderr %q, want %q", exitCode(err), errOut.String(), want)
	}
}

// TestRulesLoopAmongOtherErrors: a proxy route that loops to its own
// listener is one more of the file's errors, listed with the others at
// file:line:col in file order, by check, a start and a reload. It came
// last whatever its line, without a column, and check and a start gave it
// only once every other error was fixed.
func TestRulesLoopAmongOtherErrors(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "hooklab.yaml")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().String()
	ln.Close()
	broken := func(addr string) string {
		return "proxies:\n  - name: api\n    listen: " + addr + "\n    upstream: http://" + addr + "\n" +
			"mocks:\n  - name: greet\n    respond: {status: 2000}\n"
	}
	want := []string{file + ":2:5: proxy api: route /: upstream", file + ":7:"}
	if err := os.WriteFile(file, []byte(broken(port)), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(string) string { return "" }
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"check", file}, getenv, &out, &errOut); err == nil {
		t.Errorf("check passed a broken file:\n%s", out.String())
	}
	if got := errOut.String(); !inFileOrder(got, want...) {
		t.Errorf("check does not list %q in file order:\n%s", want, got)
	}
	err = run(context.Background(), []string{"serve", "--memory", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--config", file}, getenv, &out, &errOut)
	if err == nil || !inFileOrder(err.Error(), want...) {
		t.Errorf("serve with the broken file: %v; want %q in file order", err, want)
	}

	good := "proxies:\n  - name: api\n    listen: 127.0.0.1:0\n    upstream: http://127.0.0.1:9\n"
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", file)
	events := dialStream(t, s)
	own := strings.TrimPrefix(strings.TrimSuffix(proxyURL(t, s, "proxy: "), "/"), "http://")
	replaceFile(t, file, strings.Replace(broken(own), "listen: "+own, "listen: 127.0.0.1:0", 1)) // at once: see replaceFile
	got := events.wait(t, 5*time.Second, "with an error", func(v any) bool { return v != nil })
	if msg, _ := got.(string); !inFileOrder(msg, want...) {
		t.Errorf("the reload's error %q does not list %q in file order", msg, want)
	}
}

// replaceFile puts content in file at once (a new file renamed over it),
// so that a reload never reads it half-written: os.WriteFile truncates it
// first, and a reload at that moment reads an empty file.
func replaceFile(t *testing.T, file, content string) {
	t.Helper()
	tmp := file + ".tmp"
	if err := os.WriteFile(tmp, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, file); err != nil {
		t.Fatal(err)
	}
}

// TestRulesCheckWarnings: check prints its warnings in file order, and
// after the errors when there are some, as a refused start lists them: a
// trigger naming a webhook the file does not define is a warning (an
// API-made one is fine), and an error elsewhere hid it.
func TestRulesCheckWarnings(t *testing.T) {
	t.Parallel()
	const hooks = `webhooks:
  - id: a
    endpoint: http://127.0.0.1:3000/a
    authentication: {type: basic_auth, username: bot, password: pw}
    custom_headers: {X-Team: support}
triggers:
  - name: t
    when: {event: ticket.created}
    notify: {webhook: made-by-api, payload: "{}"}
`
	file := filepath.Join(t.TempDir(), "hooklab.yaml")
	warned := []string{file + ":4:21: webhook a: authentication:", file + ":5:21: webhook a: custom_headers:", file + `:9:23: trigger t: webhook "made-by-api" is not defined`}
	for _, tc := range []struct {
		name, src string
		wantErr   bool
		want      []string // in stderr, in this order
	}{
		{"warnings in file order", hooks, false, warned},
		{"warnings after an error", strings.Replace(hooks, "http://127.0.0.1:3000/a", "nope", 1), true,
			[]string{file + ":3:15: webhook a: endpoint", "warning: " + file + `:9:23: trigger t: webhook "made-by-api" is not defined`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(file, []byte(tc.src), 0o600); err != nil {
				t.Fatal(err)
			}
			var out, errOut syncBuffer
			err := run(context.Background(), []string{"check", file}, func(string) string { return "" }, &out, &errOut)
			if (err != nil) != tc.wantErr {
				t.Errorf("check: error %v, want error %v", err, tc.wantErr)
			}
			if got := errOut.String(); !inFileOrder(got, tc.want...) {
				t.Errorf("check printed\n%s\nwant %q in this order", got, tc.want)
			}
			if !tc.wantErr {
				return
			}
			// A start refuses the file with the same errors and warnings,
			// in the same order.
			err = run(context.Background(), []string{"serve", "--memory", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--config", file},
				func(string) string { return "" }, &out, &errOut)
			if err == nil || !inFileOrder(err.Error(), tc.want...) {
				t.Errorf("serve: %v; want the errors, then the warnings %q", err, tc.want)
			}
		})
	}
}

// TestShadowedMockWarns: a mock below one that matches every request
// never matches, and the log says so at start and at each reload that
// keeps it so.
func TestShadowedMockWarns(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	content := "mocks:\n  - name: everything\n    respond: {status: 200}\n  - name: charges\n    match: {path: /v1/charges}\n    respond: {status: 201}\n"
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	if err := os.WriteFile(cfg, []byte(content+"  - name: refunds\n    match: {path: /v1/refunds}\n    respond: {status: 201}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(s.Stderr.String(), "config reloaded") }, "the reload")
	s.Stop(t)
	log := s.Stderr.String()
	const warn = "mock never matches: a mock above it matches every request"
	if strings.Count(log, warn) != 3 || strings.Count(log, "mock=charges") != 2 || strings.Count(log, "mock=refunds") != 1 ||
		!strings.Contains(log, "by=everything") || !strings.Contains(log, "at="+cfg+":4") {
		t.Errorf("the log does not warn about charges at start and at the reload, and refunds at the reload:\n%s", log)
	}
}

// TestOwnAnswersKeepAngleBrackets: the JSON answers hooklab writes itself
// on the capture port and a proxy (a verify rule's 401, a template that
// fails, a simulation's miss) carry <, > and & as they are, as the API's
// answers do: they were escaped for HTML (\u003chex\u003e, \u0026), which
// a developer reading curl's output had to decode.
func TestOwnAnswersKeepAngleBrackets(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hooklab.yaml")
	yaml := `verify:
  - name: gh
    match: {path: "/gh/**"}
    scheme: github
    secret: gh-secret
    reject: true
mocks:
  - name: xml
    match: {path: /xml}
    respond: {headers: {Content-Type: application/xml}, body: '<t>{{ "<a&b>" | divided_by: 0 }}</t>'}
`
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	har := filepath.Join(dir, "rec.har")
	if err := os.WriteFile(har, []byte(`{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [
{"startedDateTime": "2026-01-01T00:00:00Z", "time": 1,
 "request": {"method": "GET", "url": "http://127.0.0.1:1/search?q=a&lt=<b>", "httpVersion": "HTTP/1.1", "headers": [], "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
 "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [], "content": {"size": 2, "mimeType": "text/plain", "text": "ok"}, "redirectURL": "", "headersSize": -1, "bodySize": 2},
 "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg, "--proxy", "127.0.0.1:0=http://127.0.0.1:1", "--simulate", har)
	pu := proxyURL(t, s, "proxy: ")
	for _, tc := range []struct {
		name, url, header string
		status            int
		want              string
	}{
		{"verify 401", s.Capture + "gh/x", "sha256=zz", 401, `bad encoding X-Hub-Signature-256: want sha256=<hex>`},
		{"template error", s.Capture + "xml", "", 500, `in {{ \"<a&b>\" | divided_by: 0 }}`},
		{"simulation miss", pu + "search?q=b", "", 404, `"url": "http://127.0.0.1:1/search?q=a&lt=<b>"`},
	} {
		req, _ := http.NewRequest(http.MethodGet, tc.url, nil)
		if tc.header != "" {
			req.Header.Set("X-Hub-Signature-256", tc.header)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(b), tc.want) || strings.Contains(string(b), `\u00`) {
			t.Errorf("%s: %d %s; want %d with %s, nothing escaped", tc.name, resp.StatusCode, b, tc.status, tc.want)
		}
	}
}

// TestBinPathInRuleRefused: a capture rule's path that begins with /b/ and
// a bin's name (/b/stripe/hooks) is refused, saying to write bin: and the
// path after it: a request to a bin is matched by its path after /b/NAME,
// so the rule took only /b/x/b/stripe/hooks, never what it was written
// for (three of hooklab's own tests had written one). A pattern in the bin's
// place and a proxy's rule, which sees the whole path, are taken; the
// advice, followed, matches.
func TestBinPathInRuleRefused(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(`mocks:
  - match: {path: /b/stripe/hooks}
    respond: {status: 201}
  - match: {path: "/b/*/hooks"}
    respond: {status: 202}
  - proxy: "*"
    match: {path: /b/stripe/hooks}
    respond: {status: 203}
verify:
  - match: {path: "/b/github/**"}
    scheme: github
    secret: gh-secret
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"check", bad}, func(string) string { return "" }, &out, &errOut)
	want := bad + `:2:19: mock "mock-1": path: "/b/stripe/hooks" is matched against the path after /b/NAME of a request to a bin, so it would take only /b/NAME/b/stripe/hooks; for requests to /b/stripe/hooks write bin: stripe and path: /hooks` + "\n" +
		bad + `:10:19: verify "verify-1": path: "/b/github/**" is matched against the path after /b/NAME of a request to a bin, so it would take only /b/NAME/b/github/**; for requests to /b/github/** write bin: github and path: /**` + "\n"
	if exitCode(err) != 1 || errOut.String() != want {
		t.Errorf("hooklab check: exit %d, stderr:\n%s\nwant exit 1 and:\n%s", exitCode(err), errOut.String(), want)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("mocks:\n  - bin: stripe\n    match: {path: /hooks}\n    respond: {status: 201}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", good)
	resp, err := http.Post(s.Capture+"b/stripe/hooks", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Errorf("POST /b/stripe/hooks with the advice followed: %d, want 201", resp.StatusCode)
	}
}

// TestBodyFileNotARegularFile: a mock's file: that is a named pipe (or
// another file that is not a regular one) in the config's directory is an
// error naming it, in check and on a reload, and later reloads go on. Its
// read blocked until something wrote to the pipe: check hung (and ignored
// Ctrl-C), and the reload that met it stopped every later one.
func TestBodyFileNotARegularFile(t *testing.T) {
	dir := t.TempDir()
	mkfifo(t, filepath.Join(dir, "pipe.json"))
	pipeConfig := "mocks:\n  - name: piped\n    match: {path: /p}\n    respond: {file: pipe.json}\n"
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte(pipeConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	want := "file: pipe.json (in " + dir + "): not a regular file"
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"check", bad}, func(string) string { return "" }, &out, &errOut) }()
	select {
	case err := <-done:
		if exitCode(err) != 1 || !strings.Contains(errOut.String(), "bad.yaml:4:") || !strings.Contains(errOut.String(), want) {
			t.Errorf("check: exit %d, stderr %q; want exit 1 and bad.yaml:4: ... %q", exitCode(err), errOut.String(), want)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("check of a config whose body file is a named pipe: no answer within 10 s")
	}

	cfg := filepath.Join(dir, "hooklab.yaml")
	if err := os.WriteFile(cfg, []byte(greetConfig("one")), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	if err := os.WriteFile(cfg, []byte(pipeConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, "the reload's error", func() bool {
		r := s.rules(t)
		return r.Error != nil && strings.Contains(*r.Error, want)
	})
	if got := s.hello(t); got != "200 one" {
		t.Errorf("GET /hello after the failed reload: %q, want the last good config's 200 one", got)
	}
	if err := os.WriteFile(cfg, []byte(greetConfig("two")), 0o600); err != nil {
		t.Fatal(err)
	}
	within(t, 5*time.Second, "the reload after it", func() bool { return s.hello(t) == "200 two" })
}

// TestConfigFromAPipe: a config read from a pipe (--config <(...), a
// named pipe) serves its rules with no reload error: there is nothing to
// watch. The watcher read the pipe again at once, found it empty, and put
// "the file is empty (a save in progress?)" in the log, GET /api/rules
// and the UI, for a config nobody had touched.
func TestConfigFromAPipe(t *testing.T) {
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	mkfifo(t, cfg)
	go func() {
		f, err := os.OpenFile(cfg, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		defer f.Close()
		_, _ = f.WriteString(greetConfig("piped"))
	}()
	s := startServer(t, "--memory", "--config", cfg)
	if got := s.hello(t); got != "200 piped" {
		t.Fatalf("GET /hello: %q, want the piped config's 200 piped", got)
	}
	// The watch reads the file again as soon as it starts.
	time.Sleep(2 * reloadWithin)
	if r := s.rules(t); r.Error != nil {
		t.Errorf("GET /api/rules error %q for a config read once from a pipe", *r.Error)
	}
	if log := s.Stderr.String(); strings.Contains(log, "reload failed") {
		t.Errorf("the log says a reload failed:\n%s", log)
	}
	if got := s.hello(t); got != "200 piped" {
		t.Errorf("GET /hello later: %q, want 200 piped", got)
	}
}

// TestRulesReloadOnSimulateFileEdit: a proxy route's simulate: file is
// followed as a mock's file: body is: recording the session again (an
// export over the HAR file) changes what the simulation answers, without
// touching the config. It went on answering from the file as it was at
// the last config load.
func TestRulesReloadOnSimulateFileEdit(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	har := func(path string, status int, body string) string {
		return fmt.Sprintf(`{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [
{"startedDateTime": "2026-01-01T00:00:00Z", "time": 1,
 "request": {"method": "GET", "url": "http://127.0.0.1:1%s", "httpVersion": "HTTP/1.1", "headers": [], "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
 "response": {"status": %d, "statusText": "", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [], "content": {"size": %d, "mimeType": "text/plain", "text": %q}, "redirectURL": "", "headersSize": -1, "bodySize": %d},
 "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}]}}`, path, status, len(body), body, len(body))
	}
	if err := os.MkdirAll(filepath.Join(dir, "fixtures"), 0o700); err != nil {
		t.Fatal(err)
	}
	replaceFile(t, filepath.Join(dir, "fixtures", "rec.har"), har("/v1/orders", 200, "first"))
	replaceFile(t, filepath.Join(dir, "proxy.har"), har("/orders", 200, "proxy-wide first"))
	cfg := filepath.Join(dir, "hooklab.yaml")
	replaceFile(t, cfg, `proxies:
  - name: api
    listen: 127.0.0.1:0
    upstream: http://127.0.0.1:1
    simulate: proxy.har
    routes:
      - path: /v1
        upstream: http://127.0.0.1:1
        strip_prefix: true
        simulate: fixtures/rec.har
`)
	s := startServer(t, "--memory", "--config", cfg)
	pu := proxyURL(t, s, "proxy: ")
	get := func(path string) string {
		resp, err := http.Get(pu + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return fmt.Sprintf("%d %s", resp.StatusCode, b)
	}
	if got := get("v1/orders"); got != "200 first" {
		t.Fatalf("route's simulation answers %q", got)
	}
	if got := get("orders"); got != "200 proxy-wide first" {
		t.Fatalf("proxy's simulation answers %q", got)
	}
	replaceFile(t, filepath.Join(dir, "fixtures", "rec.har"), har("/v1/orders", 201, "second"))
	waitFor(t, func() bool { return get("v1/orders") == "201 second" }, "the route's simulation answering from the edited file")
	replaceFile(t, filepath.Join(dir, "proxy.har"), har("/orders", 202, "proxy-wide second"))
	waitFor(t, func() bool { return get("orders") == "202 proxy-wide second" }, "the proxy's simulation answering from the edited file")
}

// TestSimulationsListsConfigRoutes: GET /api/simulations lists the
// simulations a config's simulate: sets, with their proxy, route and use,
// marked as the config's (DELETE leaves them: the config holds them). It
// listed only those loaded through the API or --simulate, so with a
// config's simulation answering it read {"simulations": []}.
func TestSimulationsListsConfigRoutes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	har := `{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [
{"startedDateTime": "2026-01-01T00:00:00Z", "time": 1,
 "request": {"method": "GET", "url": "http://127.0.0.1:1/v1/orders", "httpVersion": "HTTP/1.1", "headers": [], "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
 "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [], "content": {"size": 2, "mimeType": "text/plain", "text": "ok"}, "redirectURL": "", "headersSize": -1, "bodySize": 2},
 "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}]}}`
	replaceFile(t, filepath.Join(dir, "rec.har"), har)
	cfg := filepath.Join(dir, "hooklab.yaml")
	replaceFile(t, cfg, `proxies:
  - name: api
    listen: 127.0.0.1:0
    upstream: http://127.0.0.1:1
    routes:
      - path: /v1
        upstream: http://127.0.0.1:1
        simulate: rec.har
`)
	s := startServer(t, "--memory", "--config", cfg)
	pu := proxyURL(t, s, "proxy: ")
	resp, err := http.Get(pu + "v1/orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	type sim struct {
		Proxy, Name, Route string
		Config             bool
		Entries, Hits      int
	}
	var list struct{ Simulations []sim }
	s.getJSON(t, "/api/simulations", &list)
	want := []sim{{Proxy: "api", Name: "rec.har", Route: "/v1", Config: true, Entries: 1, Hits: 1}}
	if fmt.Sprint(list.Simulations) != fmt.Sprint(want) {
		t.Errorf("GET /api/simulations: %+v, want %+v", list.Simulations, want)
	}
}
