package proxy_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/inspect/har"
	"github.com/hooklab/hooklab/proxy"
	"github.com/hooklab/hooklab/rules"
)

// loadConfig writes a config, with a HAR file rec.har beside it, and
// decodes its proxies.
func loadConfig(t *testing.T, src string, env map[string]string) ([]proxy.Spec, error) {
	t.Helper()
	dir := t.TempDir()
	exs := []*inspect.Exchange{{
		Time:     time.Now(),
		Request:  inspect.Request{Method: "GET", URL: "http://x/a"},
		Response: &inspect.Response{Status: 200, Body: []byte("ok")},
	}}
	b, err := json.Marshal(har.New(exs, har.Options{}))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "rec.har"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "hooklab.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string { return env[k] }
	cfg, err := rules.Load(file, getenv)
	if err != nil {
		t.Fatalf("rules: %v", err)
	}
	return proxy.ParseConfig(cfg, getenv)
}

func TestParseConfig(t *testing.T) {
	t.Parallel()
	specs, err := loadConfig(t, `
proxies:
  - name: api
    listen: 127.0.0.1:9000
    upstream: http://127.0.0.1:3000
    request_headers: {add: {X-Env: dev}, remove: [Cookie]}
    delay: 10ms..20ms
    routes:
      - path: /v2
        upstream: ${V2_URL}
        strip_prefix: true
        response_headers: {add: {X-Via: hooklab}, remove: [Server]}
        fault: reset
        fail_rate: 0.25
      - path: /recorded
        upstream: http://127.0.0.1:3002
        simulate: rec.har
        simulate_miss: proxy
        simulate_ignore: {query: [ts], body: [meta.id]}
  - listen: 127.0.0.1:9100
    upstream: https://example.com
  - name: outbound
    forward: true
    mitm: true
    mitm_ignore: ["*.apple.com", pinned.example.com]
`, map[string]string{"V2_URL": "http://127.0.0.1:3001"})
	if err != nil {
		t.Fatal(err)
	}
	if len(specs) != 3 {
		t.Fatalf("%d specs", len(specs))
	}
	api := specs[0]
	if api.Name != "api" || api.Listen != "127.0.0.1:9000" || api.Forward || len(api.Routes) != 3 || api.Line != 3 {
		t.Fatalf("api: %+v", api)
	}
	root, v2, recd := api.Routes[0], api.Routes[1], api.Routes[2]
	if root.Prefix != "/" || root.Upstream.String() != "http://127.0.0.1:3000" || root.SetRequestHeaders["X-Env"] != "dev" ||
		root.RemoveRequestHeaders[0] != "Cookie" || root.Delay != (rules.Delay{Min: 10 * time.Millisecond, Max: 20 * time.Millisecond}) {
		t.Errorf("root route %+v", root)
	}
	// Proxy-level settings apply to routes that do not set them.
	if v2.Prefix != "/v2" || v2.Upstream.String() != "http://127.0.0.1:3001" || !v2.Strip || v2.Fault != rules.FaultReset ||
		v2.FailRate != 0.25 || v2.SetResponseHeaders["X-Via"] != "hooklab" || v2.SetRequestHeaders["X-Env"] != "dev" || v2.Delay.Max != 20*time.Millisecond {
		t.Errorf("v2 route %+v", v2)
	}
	if recd.Simulation == nil || recd.Simulation.Len() != 1 || recd.Simulation.Status().Miss != proxy.MissProxy ||
		recd.Simulation.Status().IgnoreQuery[0] != "ts" {
		t.Errorf("simulated route %+v", recd.Simulation)
	}
	if specs[1].Name != "proxy-9100" {
		t.Errorf("default name %q", specs[1].Name)
	}
	fwd := specs[2]
	if !fwd.Forward || !fwd.MITM || fwd.Listen != "" || len(fwd.MITMIgnore) != 2 || len(fwd.Routes) != 1 || fwd.Routes[0].Upstream != nil {
		t.Errorf("forward %+v", fwd)
	}

	// --forward-proxy gives the forward proxy its address.
	all, err := proxy.WithForwardFlag(specs, "127.0.0.1:8888")
	if err != nil || all[2].Listen != "127.0.0.1:8888" || len(all) != 3 {
		t.Errorf("with flag: %v %+v", err, all)
	}
	if _, err := proxy.WithForwardFlag(specs, ""); err == nil || !strings.Contains(err.Error(), "hooklab.yaml:") {
		t.Errorf("forward proxy without an address: %v", err)
	}
	// An address beyond loopback is refused, saying which proxy of the
	// file took it.
	if _, err := proxy.WithForwardFlag(specs, "0.0.0.0:8888"); err == nil || !strings.Contains(err.Error(), "hooklab.yaml:") || !strings.Contains(err.Error(), "beyond this machine") {
		t.Errorf("forward proxy beyond loopback: %v", err)
	}
	none, err := proxy.WithForwardFlag(nil, "127.0.0.1:8888")
	if err != nil || len(none) != 1 || none[0].Name != proxy.ForwardName || !none[0].Forward {
		t.Errorf("flag alone: %v %+v", err, none)
	}
	// Specs build working proxies.
	for _, s := range all {
		o := s.Options(proxy.Options{})
		var err error
		if s.Forward {
			_, err = proxy.NewForward(o)
		} else {
			_, err = proxy.NewReverse(o)
		}
		if err != nil {
			t.Errorf("%s: %v", s.Name, err)
		}
	}
}

// An unset ${NAME} is one error, where it stands: not also "listen is
// required" (it was written) or an upstream "got \"\"".
func TestParseConfigUnsetVariableOneError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, src, want string }{
		{"listen", "proxies:\n  - name: api\n    listen: ${NOPE}\n    upstream: http://127.0.0.1:1\n",
			"hooklab.yaml:3:13: proxy api: listen: environment variable NOPE is not set"},
		{"upstream", "proxies:\n  - name: api\n    listen: 127.0.0.1:9000\n    upstream: ${NOPE}\n",
			"hooklab.yaml:4:15: proxy api: upstream: environment variable NOPE is not set"},
		{"route upstream", "proxies:\n  - name: api\n    listen: 127.0.0.1:9000\n    routes:\n      - {path: /v2, upstream: ${NOPE}}\n",
			"hooklab.yaml:5:31: proxy api: upstream: environment variable NOPE is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(t, tc.src, nil)
			var errs *rules.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v, want *rules.Errors", err)
			}
			if len(errs.List) != 1 || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %d errors:\n%s\nwant one: %s", len(errs.List), err, tc.want)
			}
		})
	}
}

// TestParseConfigErrorsNameTheirProxy: every error of a proxy, its routes'
// too, names the proxy after its file:line:col: by its name, by the name
// it goes by (proxy-PORT), or by its place when it has neither. Most gave
// file:line:col and the key alone ("upstream: want ...").
func TestParseConfigErrorsNameTheirProxy(t *testing.T) {
	t.Parallel()
	const first = "proxies:\n  - {name: ok, listen: \"127.0.0.1:9001\", upstream: \"http://127.0.0.1:1\"}\n  - "
	errs := func(t *testing.T, src string) []string {
		t.Helper()
		_, err := loadConfig(t, src, nil)
		var es *rules.Errors
		if !errors.As(err, &es) {
			t.Fatalf("got %v, want *rules.Errors", err)
		}
		var out []string
		for _, e := range es.List {
			out = append(out, strings.TrimPrefix(e.Error(), e.File+":"))
		}
		return out
	}
	for _, tc := range []struct {
		name, rule string
		want       string // line:col: message, with %s for the proxy
	}{
		{"upstream", "listen: 127.0.0.1:9000\n    upstream: ftp://x",
			`4:15: %s: upstream: want an http or https URL with a host, such as http://127.0.0.1:3000, got "ftp://x": its scheme "ftp" is neither http nor https`},
		{"unknown key", "listen: 127.0.0.1:9000\n    upstream: http://x\n    delya: 1s",
			`5:5: %s: unknown key "delya" (did you mean "delay"?)`},
		{"no upstream", "listen: 127.0.0.1:9000",
			`3:5: %s: set upstream, or routes with a path and an upstream`},
		{"mitm", "listen: 127.0.0.1:9000\n    upstream: http://x\n    mitm: true",
			`5:11: %s: mitm only applies to a forward proxy (forward: true)`},
		{"request headers", "listen: 127.0.0.1:9000\n    upstream: http://x\n    request_headers: {remove: [Host]}",
			`5:31: %s: request_headers.remove: Host cannot be removed (every HTTP/1.1 request carries one); add: {Host: NAME} sets the upstream's`},
		{"delay", "listen: 127.0.0.1:9000\n    upstream: http://x\n    delay: soon",
			`5:12: %s: delay: want a duration such as 300ms or a range such as 100ms..500ms, got "soon"`},
		{"fault", "listen: 127.0.0.1:9000\n    upstream: http://x\n    fault: explode",
			`5:12: %s: fault: unknown fault "explode"; want reset, close, empty, garbage, timeout, drip`},
		{"fail rate", "listen: 127.0.0.1:9000\n    upstream: http://x\n    fail_rate: 2",
			`5:16: %s: fail_rate: want a share between 0 and 1, got "2"`},
		{"drip rate", "listen: 127.0.0.1:9000\n    upstream: http://x\n    drip_rate: 10",
			`4:15: %s: route /: drip_rate only applies to fault: drip`},
		{"route path", "listen: 127.0.0.1:9000\n    routes: [{path: v2, upstream: \"http://x\"}]",
			`4:21: %s: path: want a path prefix starting with /, got "v2"`},
		{"route upstream", "listen: 127.0.0.1:9000\n    routes: [{path: /v2}]",
			`4:14: %s: route /v2: upstream is required`},
		{"route fault", "listen: 127.0.0.1:9000\n    routes: [{path: /v2, upstream: \"http://x\", fault: rest}]",
			`4:55: %s: fault: unknown fault "rest" (did you mean "reset"?); want reset, close, empty, garbage, timeout, drip`},
		{"forward upstream", "forward: true\n    listen: 127.0.0.1:9000\n    upstream: http://x",
			`5:15: %s: a forward proxy has no upstream; each request goes to its own host`},
		{"forward beyond loopback", "forward: true\n    listen: 0.0.0.0:9000",
			`3:5: %s: a forward proxy on 0.0.0.0:9000 reaches beyond this machine: it would let anyone who can reach it into this machine's loopback services, hooklab's API included; listen on 127.0.0.1`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// A name, when given, last, so that places are the same.
			for _, named := range []struct{ key, label string }{
				{"", "proxy proxy-9000"},
				{"\n    name: api", "proxy api"},
			} {
				got := errs(t, first+tc.rule+named.key+"\n")
				if want := fmt.Sprintf(tc.want, named.label); len(got) != 1 || got[0] != want {
					t.Errorf("%s%s:\n got %q\nwant %q", tc.rule, named.key, got, want)
				}
			}
		})
	}
	// Without a name, or with one that is no bin name, its place.
	for _, tc := range []struct {
		rule string
		want []string
	}{
		{"listen: 127.0.0.1:0\n    upstream: http://x", []string{"3:5: proxy 2 (no name): name is required"}},
		{"name: \"bad name\"\n    listen: 127.0.0.1:9000\n    upstream: ftp://x", []string{
			`3:11: proxy 2: name: bin name "bad name" has ' ' at position 4 (allowed: A-Z a-z 0-9 _ -); a proxy's name is the bin its exchanges go into`,
			`5:15: proxy 2: upstream: want an http or https URL with a host, such as http://127.0.0.1:3000, got "ftp://x": its scheme "ftp" is neither http nor https`,
		}},
	} {
		if got := errs(t, first+tc.rule+"\n"); !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %q\nwant %q", tc.rule, got, tc.want)
		}
	}
}

// TestParseConfigUnnamedAfterMisplacedItem: an unnamed proxy (or one
// whose name is no bin name) after an item of another section, which the
// config's parser reports and takes out of the list, is named by the
// place it has in the file (proxy 3), as mocks are (mock-3): it was
// numbered from the shortened list, proxy 2, the misplaced item's place.
func TestParseConfigUnnamedAfterMisplacedItem(t *testing.T) {
	t.Parallel()
	const src = `proxies:
  - {name: ok, listen: "127.0.0.1:9001", upstream: "http://127.0.0.1:1"}
  - name: trig
    when: {event: ticket.created}
    notify: {webhook: x}
  - listen: 127.0.0.1:0
    upstream: http://x
  - name: "bad name"
    listen: 127.0.0.1:9002
    upstream: http://x
`
	file := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(file, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// The config's parser reports the misplaced item and gives the rest,
	// for the proxies' errors to be reported too.
	cfg, rerr := rules.Load(file, nil)
	_, perr := proxy.ParseConfig(cfg, nil)
	var list []rules.Error
	for _, err := range []error{rerr, perr} {
		var es *rules.Errors
		if !errors.As(err, &es) {
			t.Fatalf("got %v, want *rules.Errors", err)
		}
		list = append(list, es.List...)
	}
	var got []string
	for _, e := range list {
		got = append(got, fmt.Sprintf("%s:%d:%d: %s", filepath.Base(e.File), e.Line, e.Col, strings.TrimPrefix(e.Error(), fmt.Sprintf("%s:%d:%d: ", e.File, e.Line, e.Col))))
	}
	want := []string{
		`hooklab.yaml:3:5: proxies: item 2 (trig) is a trigger (it has when, notify): it goes in the triggers: section, not in proxies:`,
		`hooklab.yaml:6:5: proxy 3 (no name): name is required`,
		`hooklab.yaml:8:11: proxy 4: name: bin name "bad name" has ' ' at position 4 (allowed: A-Z a-z 0-9 _ -); a proxy's name is the bin its exchanges go into`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("errors:\n got %q\nwant %q", got, want)
	}
}

func TestParseConfigErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, src string
		want      []string // each a "line:col: message" part
	}{
		{"not a list", "proxies: {api: 1}\n", []string{"hooklab.yaml:1:10: proxies: want a list"}},
		// A value from the environment is often a secret: messages name
		// the variable instead of quoting it (TOK is set below).
		{"env value kept out", "\nproxies:\n  - name: p\n    listen: ${TOK}\n    upstream: http://127.0.0.1:1\n",
			[]string{`hooklab.yaml:4:13: proxy p: listen: want host:port such as 127.0.0.1:9000, got "${TOK}"`}},
		{"unknown key with suggestion", `
proxies:
  - name: api
    listen: 127.0.0.1:9000
    upstrem: http://x
`, []string{":5:5: proxy api: unknown key \"upstrem\" (did you mean \"upstream\"?)", ":3:5: proxy api: set upstream"}},
		// It says what it got, as every other value's message does.
		{"simulate_miss misspelt", `
proxies:
  - name: api
    listen: 127.0.0.1:9000
    upstream: http://127.0.0.1:1
    simulate_miss: pass
`, []string{`:6:20: proxy api: simulate_miss: want 404 or proxy, got "pass"`}},
		{"request Host removed", `
proxies:
  - name: api
    listen: 127.0.0.1:9000
    upstream: http://127.0.0.1:1
    request_headers: {remove: [Cookie, host]}
`, []string{":6:31: proxy api: request_headers.remove: Host cannot be removed"}},
		// Go's transport refuses such a request header: every request
		// the route took failed 502, the config having loaded fine.
		{"header value with a control character", `
proxies:
  - name: api
    listen: 127.0.0.1:9000
    upstream: http://127.0.0.1:1
    request_headers: {add: {X-Env: "dev\nprod", X-Tok: "${TOK}\r"}}
    response_headers: {add: {X-Via: "a\x00b"}}
`, []string{":6:36: proxy api: request_headers.add: the value of X-Env holds a control character (0x0a), which no header value may",
			":6:56: proxy api: request_headers.add: the value of X-Tok holds a control character (0x0d)",
			":7:37: proxy api: response_headers.add: the value of X-Via holds a control character (0x00)"}},
		// Proxy header values are no templates: the placeholder went to the
		// upstream as written, with no word.
		{"header value written as a template", `
proxies:
  - name: api
    listen: 127.0.0.1:9000
    upstream: http://127.0.0.1:1
    request_headers: {add: {X-Path: "{{ request.path }}"}}
    response_headers: {add: {X-Id: "{% if x %}1{% endif %}"}}
`, []string{":6:37: proxy api: request_headers.add: the value of X-Path is sent as written, not as a template",
			":7:36: proxy api: response_headers.add: the value of X-Id is sent as written"}},
		{"missing listen and bad upstream", `
proxies:
  - name: api
    upstream: ftp://x
`, []string{":3:5: proxy api: listen is required", ":4:15: proxy api: upstream: want an http or https URL"}},
		{"upstream without a host name", `
proxies:
  - name: api
    listen: 127.0.0.1:9000
    upstream: http://:3000
`, []string{":5:15: proxy api: upstream: want an http or https URL with a host, such as http://127.0.0.1:3000, got \"http://:3000\": it has no host"}},
		// Go's URL parser takes "]" and "a!b" for hosts: the config
		// loaded, and each request the route took failed 502.
		{"upstream host not a host", `
proxies:
  - name: api
    listen: 127.0.0.1:9000
    upstream: http://]:3000
    routes:
      - {path: /v2, upstream: "http://a!b/v2"}
`, []string{`:5:15: proxy api: upstream: want an http or https URL with a host, such as http://127.0.0.1:3000, got "http://]:3000": its host "]" is neither a host name nor an IP address: it holds ']'`,
			`:7:31: proxy api: upstream: want an http or https URL with a host, such as http://127.0.0.1:3000, got "http://a!b/v2": its host "a!b" is neither a host name nor an IP address: it holds '!'`}},
		{"route problems", `
proxies:
  - name: api
    listen: 127.0.0.1:9000
    routes:
      - path: v2
        upstream: http://x
      - path: /a
      - path: /b
        upstream: http://x
        fault: rest
        fail_rate: 2
        delay: soon
        drip_rate: 10
        simulate: missing.har
`, []string{
			":6:15: proxy api: path: want a path prefix starting with /",
			":8:9: proxy api: route /a: upstream is required",
			":9:15: proxy api: route /b: drip_rate only applies to fault: drip",
			":11:16: proxy api: fault: unknown fault \"rest\" (did you mean \"reset\"?)",
			":12:20: proxy api: fail_rate: want a share between 0 and 1",
			":13:16: proxy api: delay: want a duration",
			":15:19: proxy api: simulate: open",
		}},
		{"duplicates and bad names", `
proxies:
  - {name: api, listen: "127.0.0.1:9000", upstream: "http://x"}
  - {name: api, listen: "127.0.0.1:9000", upstream: "http://x"}
  - {name: "bad name", listen: "127.0.0.1:9001", upstream: "http://x"}
  - {name: r, listen: "127.0.0.1:9002", routes: [{path: /a, upstream: "http://x"}, {path: /a, upstream: "http://y"}]}
`, []string{":4:5: proxy api: duplicate name", ":4:5: proxy api: another proxy listens on 127.0.0.1:9000",
			":5:12: proxy 3: name: bin name \"bad name\" has ' ' at position 4 (allowed: A-Z a-z 0-9 _ -); a proxy's name is the bin", ":6:91: proxy r: route path /a is defined twice (line 6)"}},
		{"forward misuse", `
proxies:
  - name: f
    forward: true
    upstream: http://x
    routes: [{path: /a, upstream: "http://y"}]
  - name: r
    listen: 127.0.0.1:9000
    upstream: http://x
    mitm: true
    mitm_ignore: ["["]
`, []string{":5:15: proxy f: a forward proxy has no upstream", ":6:35: proxy f: a forward proxy's routes have no upstream",
			":10:11: proxy r: mitm only applies", ":11:18: proxy r: mitm_ignore: bad glob", ":11:18: proxy r: mitm_ignore only applies"}},
		{"unset variable", `
proxies:
  - {name: api, listen: "127.0.0.1:9000", upstream: "${NOPE}"}
`, []string{":3:53: proxy api: upstream: environment variable NOPE is not set"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := loadConfig(t, tc.src, map[string]string{"TOK": `sk_live_"SECRET`})
			if err != nil && strings.Contains(err.Error(), "SECRET") {
				t.Errorf("an error quotes a value from the environment:\n%s", err)
			}
			var errs *rules.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("got %v, want *rules.Errors", err)
			}
			msg := err.Error()
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("missing %q in:\n%s", w, msg)
				}
			}
			for _, e := range errs.List {
				if !strings.HasSuffix(e.File, "hooklab.yaml") || e.Line == 0 {
					t.Errorf("error without a position: %+v", e)
				}
			}
		})
	}
}
