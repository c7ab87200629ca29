package mock_test

import (
	"cmp"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/mock"
)

// TestTemplateAnswer sends the stripe-ok example hostile values and checks
// that the answer stays valid JSON carrying them exactly, and that the
// exchange records the rule and the response as sent.
func TestTemplateAnswer(t *testing.T) {
	t.Parallel()
	h := newHarness(t, loadExample(t), nil)
	for _, tc := range []struct {
		name    string
		account string // as it reaches the template, after URL decoding
		id      any    // the request's "id"
		wantID  string // "id" in the answer
	}{
		{"plain", "acct_123", "evt_1", "evt_1"},
		{"quotes", "acct", `say "hi"`, `say "hi"`},
		{"backslashes", "acct", `C:\dir\n\"x\\`, `C:\dir\n\"x\\`},
		{"newlines and tabs", "acct", "line1\nline2\r\n\tend", "line1\nline2\r\n\tend"},
		{"script close", "acct", `</script><script>alert(1)</script>`, `</script><script>alert(1)</script>`},
		{"non-ASCII", "acct", "ünïcødé 日本語 🚀 \u2028\u2029", "ünïcødé 日本語 🚀 \u2028\u2029"},
		{"control characters", "acct", "nul\x00bell\x07esc\x1b", "nul\x00bell\x07esc\x1b"},
		{"everything", "acct", "\"\\\n</ \u00e9", "\"\\\n</ \u00e9"},
		{"JSON-looking", "acct", `", "received": false, "x": "`, `", "received": false, "x": "`},
		{"number id stays a string", "acct", 42, "42"},
		{"hostile account", `a"c\c<t ü`, "evt", "evt"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := "tpl" + strings.NewReplacer(" ", "", "-", "").Replace(tc.name)
			body, err := json.Marshal(map[string]any{"type": "payment_intent.succeeded", "id": tc.id})
			if err != nil {
				t.Fatal(err)
			}
			path := "/b/" + bin + "/stripe/" + url.PathEscape(tc.account) + "/events"
			a := h.post(t, path, string(body))
			if a.Status != http.StatusOK {
				t.Fatalf("status %d, body %s", a.Status, a.Body)
			}
			if ct := a.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if !json.Valid(a.Body) {
				t.Fatalf("answer is not valid JSON: %s", a.Body)
			}
			var got map[string]any
			if err := json.Unmarshal(a.Body, &got); err != nil {
				t.Fatal(err)
			}
			want := map[string]any{"received": true, "account": tc.account, "id": tc.wantID}
			if len(got) != len(want) || got["received"] != true || got["account"] != tc.account || got["id"] != tc.wantID {
				t.Errorf("answer %s\ndecodes to %#v\nwant       %#v", a.Body, got, want)
			}

			ex := h.last(t, bin)
			if ex.Rule != "stripe-ok" {
				t.Errorf("exchange rule %q, want stripe-ok", ex.Rule)
			}
			if ex.Error != "" {
				t.Errorf("exchange error %q", ex.Error)
			}
			sentAsRecorded(t, ex, a)
		})
	}
}

// TestRenderError: a template that fails at request time answers 500 with
// JSON naming the rule, and the exchange carries the error.
func TestRenderError(t *testing.T) {
	t.Parallel()
	cfg := parseConfig(t, "render.yaml", `
mocks:
  - name: decoder
    match: {path: /decode}
    respond:
      headers: {Content-Type: application/json}
      body: '{"data": "{{ request.json.data | base64_decode }}"}'
  - name: bad-header
    match: {path: /header}
    respond:
      headers: {X-Decoded: '{{ request.json.data | base64_decode }}'}
      body: fine
`)
	h := newHarness(t, cfg, nil)
	for _, tc := range []struct {
		name, path, body string
		wantStatus       int
		wantRule         string
		wantBody         string // for a good render
	}{
		{"body renders", "/decode", `{"data":"aGk="}`, 200, "decoder", `{"data": "hi"}`},
		{"body fails", "/decode", `{"data":"not base64!"}`, 500, "decoder", ""},
		{"header fails", "/header", `{"data":"%%%"}`, 500, "bad-header", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := strings.ReplaceAll(tc.name, " ", "-")
			a := h.post(t, "/b/"+bin+tc.path, tc.body)
			ex := h.last(t, bin)
			if a.Status != tc.wantStatus {
				t.Fatalf("status %d, want %d; body %s", a.Status, tc.wantStatus, a.Body)
			}
			if ex.Rule != tc.wantRule {
				t.Errorf("exchange rule %q, want %q", ex.Rule, tc.wantRule)
			}
			sentAsRecorded(t, ex, a)
			if tc.wantStatus == 200 {
				if string(a.Body) != tc.wantBody || ex.Error != "" {
					t.Errorf("body %s, error %q; want %s", a.Body, ex.Error, tc.wantBody)
				}
				return
			}
			var got struct{ Error, Rule string }
			if err := json.Unmarshal(a.Body, &got); err != nil {
				t.Fatalf("500 answer is not JSON: %s", a.Body)
			}
			if got.Rule != tc.wantRule || !strings.Contains(got.Error, tc.wantRule) || !strings.Contains(got.Error, "base64_decode") {
				t.Errorf("500 answer %s does not name the rule %s and the Liquid error", a.Body, tc.wantRule)
			}
			if a.Header.Get("Content-Type") != "application/json" {
				t.Errorf("500 Content-Type %q", a.Header.Get("Content-Type"))
			}
			if !strings.Contains(ex.Error, tc.wantRule) || !strings.Contains(ex.Error, "base64_decode") {
				t.Errorf("exchange error %q does not name the rule and the Liquid error", ex.Error)
			}
		})
	}
}

// TestBinScope: a rule with bin: answers only in that bin; paths are matched
// within the bin (/b/x/stripe/... is /stripe/...).
func TestBinScope(t *testing.T) {
	t.Parallel()
	cfg := parseConfig(t, "bins.yaml", `
mocks:
  - name: only-x
    bin: x
    match: {path: '/stripe/{account}/events'}
    respond: {status: 201, body: 'x {{request.params.account}} {{bin}}'}
  - name: matcher-bin
    match: {bin: y, path: /hook}
    respond: {status: 202, body: y}
  - name: any-bin
    match: {path: '/stripe/{account}/events'}
    respond: {status: 200, body: 'any {{request.params.account}} {{bin}}'}
`)
	h := newHarness(t, cfg, nil)
	for _, tc := range []struct {
		path       string
		bin        string
		wantStatus int
		wantRule   string
		wantBody   string
	}{
		{"/b/x/stripe/acct_1/events", "x", 201, "only-x", "x acct_1 x"},
		{"/b/z/stripe/acct_1/events", "z", 200, "any-bin", "any acct_1 z"},
		{"/stripe/acct_2/events", "default", 200, "any-bin", "any acct_2 default"},
		{"/b/x/b/x/stripe/acct_1/events", "x", 200, "", ""}, // the path within bin x is /b/x/stripe/...
		{"/b/y/hook", "y", 202, "matcher-bin", "y"},
		{"/b/x/hook", "x", 200, "", ""},
		{"/hook", "default", 200, "", ""},
		{"/b/y/stripe/acct_3/events", "y", 200, "any-bin", "any acct_3 y"},
	} {
		t.Run(tc.path, func(t *testing.T) {
			a := h.post(t, tc.path, `{}`)
			ex := h.last(t, tc.bin)
			if a.Status != tc.wantStatus || ex.Rule != tc.wantRule {
				t.Fatalf("got %d from rule %q (%s), want %d from %q", a.Status, ex.Rule, a.Body, tc.wantStatus, tc.wantRule)
			}
			if tc.wantRule == "" {
				// The default acknowledgement names the exchange.
				var ack struct{ ID, Bin string }
				if err := json.Unmarshal(a.Body, &ack); err != nil || ack.ID != ex.ID || ack.Bin != tc.bin {
					t.Errorf("default answer %s for exchange %s in %s", a.Body, ex.ID, tc.bin)
				}
				return
			}
			if string(a.Body) != tc.wantBody {
				t.Errorf("body %q, want %q", a.Body, tc.wantBody)
			}
		})
	}
}

// TestNearMiss: a request no rule matches gets the default answer and the
// exchange names the closest rule and why it missed.
func TestNearMiss(t *testing.T) {
	t.Parallel()
	h := newHarness(t, loadExample(t), nil)
	for _, tc := range []struct {
		name, method, path, body string
		wantRule                 string
		wantReason               string // a substring of one reason
	}{
		{"wrong event type", "POST", "/stripe/acct/events", `{"type":"charge.failed"}`, "stripe-ok", "type"},
		{"wrong method", "GET", "/stripe/acct/events", `{"type":"payment_intent.succeeded"}`, "stripe-ok", "method"},
		{"typo in path", "POST", "/flakey", ``, "flaky", "path"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bin := strings.ReplaceAll(tc.name, " ", "-")
			a := h.do(t, tc.method, "/b/"+bin+tc.path, http.Header{"Content-Type": {"application/json"}}, []byte(tc.body))
			if a.Status != http.StatusOK {
				t.Errorf("status %d, want the default 200", a.Status)
			}
			ex := h.last(t, bin)
			if ex.Rule != "" {
				t.Errorf("rule %q matched", ex.Rule)
			}
			nm, ok := ex.Meta["near_miss"].(map[string]any)
			if !ok {
				t.Fatalf("no near_miss in meta %v", ex.Meta)
			}
			rule, _ := nm["rule"].(string)
			if tc.wantRule != "" && rule != tc.wantRule {
				t.Errorf("near miss %q, want %q", rule, tc.wantRule)
			}
			if rule == "" {
				t.Errorf("near miss names no rule: %v", nm)
			}
			reasons, _ := nm["reasons"].([]any)
			found := false
			for _, r := range reasons {
				s, _ := r.(string)
				found = found || strings.Contains(s, tc.wantReason)
			}
			if !found {
				t.Errorf("near miss reasons %v do not mention %q", reasons, tc.wantReason)
			}
		})
	}

	t.Run("no near miss when a rule matches", func(t *testing.T) {
		h.post(t, "/b/hit/flaky", "")
		if ex := h.last(t, "hit"); ex.Rule != "flaky" || ex.Meta["near_miss"] != nil {
			t.Errorf("rule %q meta %v", ex.Rule, ex.Meta)
		}
	})
}

// TestNoConfig: without a config every request gets the acknowledgement.
func TestNoConfig(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil, nil)
	a := h.post(t, "/stripe/acct/events", `{"type":"payment_intent.succeeded"}`)
	ex := h.last(t, "default")
	var ack struct {
		OK bool
		ID string
	}
	if err := json.Unmarshal(a.Body, &ack); err != nil || !ack.OK || ack.ID != ex.ID || ex.Rule != "" {
		t.Errorf("answer %d %s, exchange %s rule %q", a.Status, a.Body, ex.ID, ex.Rule)
	}
	sentAsRecorded(t, ex, a)
}

// TestNoBodyAnswers: a rule's body is not sent to a HEAD request or with a
// 204 or 304, and so is not recorded as sent either.
func TestNoBodyAnswers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "nobody.yaml", `
mocks:
  - name: no-content
    match: {path: /nc}
    respond: {status: 204, body: dropped}
  - name: not-modified
    match: {path: /nm}
    respond: {status: 304, body: dropped, headers: {ETag: '"v1"'}}
  - name: ok
    match: {path: /ok}
    respond: {status: 200, body: kept}
  - name: no-content-length
    match: {path: /ncl}
    respond: {status: 204, headers: {Content-Length: "100"}}
  - name: not-modified-type
    match: {path: /nmt}
    respond: {status: 304, headers: {Content-Type: text/plain, ETag: '"v2"'}}
  - name: get-length
    match: {path: /gl}
    respond: {headers: {Content-Length: "100"}}
`), nil)
	for _, tc := range []struct {
		method, path string
		status       int
		body         string
	}{
		{http.MethodGet, "/nc", 204, ""},
		{http.MethodGet, "/nm", 304, ""},
		// Headers net/http does not send with these are not recorded.
		{http.MethodGet, "/ncl", 204, ""},
		{http.MethodGet, "/nmt", 304, ""},
		// A length without a body is for HEAD; a GET gets its body's.
		{http.MethodGet, "/gl", 200, ""},
		{http.MethodHead, "/ok", 200, ""},
		{http.MethodGet, "/ok", 200, "kept"},
	} {
		t.Run(tc.method+tc.path, func(t *testing.T) {
			bin := strings.ToLower(tc.method) + strings.ReplaceAll(tc.path, "/", "-")
			a := h.do(t, tc.method, "/b/"+bin+tc.path, nil, nil)
			if a.Status != tc.status || string(a.Body) != tc.body {
				t.Errorf("answer %d %q, want %d %q", a.Status, a.Body, tc.status, tc.body)
			}
			sentAsRecorded(t, h.last(t, bin), a)
		})
	}
}

// TestHeadGetsGetHeaders: a HEAD answer carries the headers a GET's would
// (RFC 9110 9.3.2), its body's length and type, and is recorded so.
func TestHeadGetsGetHeaders(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "head.yaml", `
mocks:
  - name: text
    match: {path: /text}
    respond: {body: headbody}
  - name: json
    match: {path: /json}
    respond: {body: '{"a":1}', headers: {Content-Type: application/json}}
  - name: empty
    match: {path: /empty}
    respond: {status: 200}
  - name: encoded
    match: {path: /encoded}
    respond: {body: "not really br!!", headers: {Content-Encoding: br}}
  - name: drip
    match: {path: /drip}
    respond: {body: headbody, fault: drip, drip_rate: 1000}
  - name: object
    match: {method: HEAD, path: /object}
    respond: {headers: {Content-Length: "5368709120", ETag: abc}}
  - name: empty-fault
    match: {path: /empty-fault}
    respond: {body: headbody, fault: empty}
`), nil)
	for _, tc := range []struct{ path, length, ctype string }{
		{"/text", "8", "text/plain; charset=utf-8"},
		{"/json", "7", "application/json"},
		{"/empty", "0", ""},
		{"/encoded", "15", ""}, // net/http does not sniff an encoded body
		{"/drip", "8", ""},     // written by drip, which sets the length only
	} {
		get := h.do(t, http.MethodGet, "/b/get"+strings.ReplaceAll(tc.path, "/", "-")+tc.path, nil, nil)
		head := h.do(t, http.MethodHead, "/b/head"+strings.ReplaceAll(tc.path, "/", "-")+tc.path, nil, nil)
		for name, want := range map[string]string{"Content-Length": tc.length, "Content-Type": tc.ctype} {
			if g, hd := get.Header.Get(name), head.Header.Get(name); g != want || hd != want {
				t.Errorf("%s: %s is %q to GET and %q to HEAD, want %q", tc.path, name, g, hd, want)
			}
		}
		sentAsRecorded(t, h.last(t, "head"+strings.ReplaceAll(tc.path, "/", "-")), head)
	}
	// A HEAD mock may describe a body it has not (an object store's).
	head := h.do(t, http.MethodHead, "/b/object/object", nil, nil)
	if got := head.Header.Get("Content-Length"); got != "5368709120" {
		t.Errorf("HEAD /object: Content-Length %q, want 5368709120", got)
	}
	sentAsRecorded(t, h.last(t, "object"), head)
	// fault: empty promises the length a GET's body has, to HEAD too.
	head = h.do(t, http.MethodHead, "/b/empty-fault/empty-fault", nil, nil)
	if got := head.Header.Get("Content-Length"); got != "8" {
		t.Errorf("HEAD with fault: empty: Content-Length %q, want 8", got)
	}
}

// TestDefaultStatus: settings.default_status answers requests no rule
// matches; with 204 the acknowledgement's body is neither sent nor
// recorded. Its ok says whether the status is a success (under 400).
func TestDefaultStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		status int
		body   bool
		ok     bool
	}{{202, true, true}, {204, false, false}, {399, true, true}, {404, true, false}, {503, true, false}} {
		t.Run(http.StatusText(tc.status), func(t *testing.T) {
			t.Parallel()
			cfg := parseConfig(t, "default.yaml", "settings: {default_status: "+strconv.Itoa(tc.status)+"}\nmocks:\n  - {name: x, match: {path: /x}, respond: {body: x}}\n")
			h := newHarness(t, cfg, nil)
			a := h.post(t, "/b/s/unmatched", `{}`)
			if a.Status != tc.status || (len(a.Body) > 0) != tc.body {
				t.Errorf("answer %d %q, want %d with a body: %v", a.Status, a.Body, tc.status, tc.body)
			}
			ex := h.last(t, "s")
			sentAsRecorded(t, ex, a)
			if !tc.body {
				return
			}
			var ack struct {
				OK      *bool
				ID, Bin string
			}
			if err := json.Unmarshal(a.Body, &ack); err != nil || ack.OK == nil || *ack.OK != tc.ok || ack.ID != ex.ID || ack.Bin != "s" {
				t.Errorf("answer %d %s, want ok %v, id %s, bin s (%v)", a.Status, a.Body, tc.ok, ex.ID, err)
			}
		})
	}
}

// TestWithoutEngine: a capture endpoint without an engine acknowledges
// everything, and records a HEAD answer without the body it did not send.
func TestWithoutEngine(t *testing.T) {
	t.Parallel()
	store, err := inspect.OpenSQLite("", inspect.Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	srv := httptest.NewServer(mock.New(mock.Config{Store: store}))
	t.Cleanup(srv.Close)
	h := &harness{URL: srv.URL, Store: store}
	for _, method := range []string{http.MethodPost, http.MethodHead} {
		a := h.do(t, method, "/b/plain/x", nil, []byte("hi"))
		ex := h.last(t, "plain")
		if a.Status != 200 || ex.Rule != "" {
			t.Errorf("%s: %d, rule %q", method, a.Status, ex.Rule)
		}
		sentAsRecorded(t, ex, a)
	}
}

// TestHeadToBuiltInAnswers: the engine's own JSON answers (here the 429 of a
// rate limit) are recorded without the body a HEAD request does not get.
func TestHeadToBuiltInAnswers(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "head.yaml", `
mocks:
  - name: once
    match: {path: /once}
    rate_limit: {limit: 1}
    respond: {body: first}
`), nil)
	for _, want := range []int{200, 429} {
		a := h.do(t, http.MethodHead, "/once", nil, nil)
		if a.Status != want {
			t.Fatalf("HEAD answered %d, want %d", a.Status, want)
		}
		sentAsRecorded(t, h.last(t, "default"), a)
	}
}

// TestHeaderValues: templated header values cannot split the header or
// break the answer, and are recorded as the client gets them.
func TestHeaderValues(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "headers.yaml", `
mocks:
  - name: echo
    match: {path: /echo}
    respond: {status: 201, headers: {X-Echo: '{{request.json.v}}'}, body: x}
  - name: echo-empty
    match: {path: /empty}
    respond: {status: 201, headers: {X-Echo: '{{request.json.v}}'}, body: x, fault: empty}
`), nil)
	for _, tc := range []struct{ name, value, want string }{
		{"plain", "abc", "abc"},
		{"CRLF injection", "a\r\nSet-Cookie: evil=1", "a  Set-Cookie: evil=1"},
		{"bare LF", "a\nb", "a b"},
		{"NUL and escape", "nul\x00esc\x1bdel\x7f", "nul esc del"},
		{"tab kept", "a\tb", "a\tb"},
		{"non-ASCII", "ünï 日本", "ünï 日本"},
		{"surrounding blanks", "  padded\t ", "padded"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body, _ := json.Marshal(map[string]string{"v": tc.value})
			bin := "hv-" + strings.ReplaceAll(strings.ToLower(tc.name), " ", "-")
			a := h.post(t, "/b/"+bin+"/echo", string(body))
			if a.Status != 201 || a.Header.Get("X-Echo") != tc.want || a.Header.Get("Set-Cookie") != "" {
				t.Errorf("answer %d X-Echo %q Set-Cookie %q, want X-Echo %q", a.Status, a.Header.Get("X-Echo"), a.Header.Get("Set-Cookie"), tc.want)
			}
			sentAsRecorded(t, h.last(t, bin), a)

			// The empty fault writes the header itself.
			a, err := h.try(http.MethodPost, "/b/"+bin+"/empty", nil, body, 10*time.Second)
			if a.Status != 201 || a.Header.Get("X-Echo") != tc.want || a.Header.Get("Set-Cookie") != "" {
				t.Errorf("empty fault: answer %d X-Echo %q Set-Cookie %q (%v), want X-Echo %q", a.Status, a.Header.Get("X-Echo"), a.Header.Get("Set-Cookie"), err, tc.want)
			}
		})
	}
}

// TestRenderedHeaderTooLarge: a header template whose value renders past
// 64 KiB (a loop) is a render failure, a 500 naming the rule and the
// header, not a header no client takes (curl refuses a line past 100 KB,
// net/http's server a head past 1 MB): it went out as rendered, megabytes
// of it. One under the bound goes out whole.
func TestRenderedHeaderTooLarge(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "big.yaml", `
mocks:
  - name: big
    match: {path: /big}
    respond: {headers: {X-Big: '{% for i in (1..request.json.n) %}0123456789{% endfor %}'}, body: x}
`), nil)
	a := h.post(t, "/b/small/big", `{"n": 6000}`)
	if a.Status != 200 || len(a.Header.Get("X-Big")) != 60000 {
		t.Fatalf("a 60,000-byte header: %d, X-Big of %d bytes", a.Status, len(a.Header.Get("X-Big")))
	}
	a = h.post(t, "/b/large/big", `{"n": 7000}`)
	want := "rule big: template: header X-Big: the value is 70000 bytes, over the 65536 a header may hold"
	if a.Status != 500 || a.Header.Get("X-Big") != "" || !strings.Contains(string(a.Body), want) {
		t.Fatalf("a 70,000-byte header: %d, X-Big of %d bytes, body %.200s; want a 500 saying %q", a.Status, len(a.Header.Get("X-Big")), a.Body, want)
	}
	ex := h.last(t, "large")
	if ex.Rule != "big" || !strings.Contains(ex.Error, want) {
		t.Errorf("exchange rule %q, error %q; want %q", ex.Rule, ex.Error, want)
	}
	sentAsRecorded(t, ex, a)
}

// TestDefaultContentType: an answer without a Content-Type header gets the
// type its body template is escaped for, and one that names its own keeps
// it.
func TestDefaultContentType(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "ct.yaml", `
mocks:
  - {name: json, match: {path: /json}, respond: {body: '{"id": "{{request.json.id}}"}'}}
  - {name: xml, match: {path: /xml}, respond: {body: '<a>{{request.json.id}}</a>'}}
  - {name: text, match: {path: /text}, respond: {body: 'ok {{request.json.id}}'}}
  - {name: own, match: {path: /own}, respond: {headers: {Content-Type: application/vnd.x+json}, body: '{"a": 1}'}}
  - {name: empty, match: {path: /empty}, respond: {status: 204}}
`), nil)
	for path, want := range map[string]string{"/json": "application/json", "/xml": "application/xml",
		"/text": "text/plain; charset=utf-8", "/own": "application/vnd.x+json", "/empty": ""} {
		a := h.post(t, "/b/ct"+strings.TrimPrefix(path, "/")+path, `{"id": 7}`)
		if got := a.Header.Get("Content-Type"); got != want {
			t.Errorf("%s: Content-Type %q, want %q (body %s)", path, got, want, a.Body)
		}
		sentAsRecorded(t, h.last(t, "ct"+strings.TrimPrefix(path, "/")), a)
	}
}

// TestEmptyContentTypeKept: a rule that sets Content-Type, even empty,
// gets no second one.
func TestEmptyContentTypeKept(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "ct-empty.yaml", `
mocks:
  - {name: empty-ct, match: {path: /e}, respond: {headers: {content-type: ""}, body: '{"a": 1}'}}
`), nil)
	a := h.post(t, "/b/ctempty/e", `{}`)
	if v := a.Header.Values("Content-Type"); len(v) > 1 {
		t.Errorf("Content-Type %q: the rule's and a default", v)
	}
}

// TestJSONIntegerAsRangeBound: a JSON body's integer bounds a range, as
// the README's "JSON body values keep their types" promises. (It was
// decoded as an int64, which Liquid's ranges refuse: "can't convert
// int64(3) to type int".)
func TestJSONIntegerAsRangeBound(t *testing.T) {
	t.Parallel()
	cfg := parseConfig(t, "range.yaml", `
mocks:
  - name: items
    match: {path: /items}
    respond:
      body: '[{% for i in (1..request.json.count) %}{"n": {{ i }}}{% unless forloop.last %},{% endunless %}{% endfor %}]'
  - name: first
    match: {path: /first}
    respond: {body: '{{ request.json.list[request.json.at] }} {% for x in request.json.list limit: request.json.at %}{{ x }}{% endfor %}'}
`)
	h := newHarness(t, cfg, nil)
	if a := h.post(t, "/items", `{"count": 3}`); a.Status != http.StatusOK || string(a.Body) != `[{"n": 1},{"n": 2},{"n": 3}]` {
		t.Fatalf("items: %d %s", a.Status, a.Body)
	}
	if a := h.post(t, "/first", `{"list": ["a", "b", "c"], "at": 1}`); a.Status != http.StatusOK || string(a.Body) != `b a` {
		t.Fatalf("first: %d %s", a.Status, a.Body)
	}
}

// TestHeadMatchesGetRule: a HEAD request is answered by a rule for GET
// with the headers that rule gives a GET (RFC 9110 9.3.2), as Go's
// ServeMux does; a rule naming HEAD before it still wins, and a rule for
// another method does not take HEAD.
func TestHeadMatchesGetRule(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "head.yaml", `
mocks:
  - name: head-probe
    match: {method: HEAD, path: /probe/special}
    respond: {headers: {X-Which: head}}
  - name: get-file
    match: {method: [GET], path: "/probe/{name}"}
    respond: {body: '{"name": "{{ request.params.name }}"}', headers: {ETag: '"v1"'}}
  - name: post-only
    match: {method: POST, path: /post}
    respond: {status: 201, body: created}
`), nil)
	get := h.do(t, http.MethodGet, "/b/get/probe/a.json", nil, nil)
	head := h.do(t, http.MethodHead, "/b/head/probe/a.json", nil, nil)
	ex := h.last(t, "head")
	if head.Status != 200 || ex.Rule != "get-file" {
		t.Fatalf("HEAD /probe/a.json: %d by rule %q, want 200 by get-file", head.Status, ex.Rule)
	}
	for _, name := range []string{"Content-Length", "Content-Type", "Etag"} {
		if g, hd := get.Header.Get(name), head.Header.Get(name); g != hd {
			t.Errorf("%s is %q to GET, %q to HEAD", name, g, hd)
		}
	}
	if len(head.Body) != 0 {
		t.Errorf("HEAD got a body: %q", head.Body)
	}
	sentAsRecorded(t, ex, head)

	h.do(t, http.MethodHead, "/b/special/probe/special", nil, nil)
	if ex := h.last(t, "special"); ex.Rule != "head-probe" {
		t.Errorf("HEAD /probe/special answered by %q, want head-probe (listed first)", ex.Rule)
	}
	h.do(t, http.MethodHead, "/b/post/post", nil, nil)
	if ex := h.last(t, "post"); ex.Rule != "" {
		t.Errorf("HEAD /post answered by %q, want the default answer (the rule is for POST)", ex.Rule)
	}
}

// TestEncodedSlashInParam: a path parameter takes a segment holding an
// encoded slash whole, decoded (GitLab's /projects/group%2Fproject), as
// routers that match the path as sent do; a rule whose pattern matches
// the decoded path still does, and a pattern written with %2F matches it.
func TestEncodedSlashInParam(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "gitlab.yaml", `
mocks:
  - name: mr
    match: {method: GET, path: "/api/v4/projects/{id}/merge_requests/{iid}"}
    respond: {body: '{"project": "{{ request.params.id }}", "iid": "{{ request.params.iid }}"}'}
  - name: file
    match: {path: "/files/{name}.json"}
    respond: {body: 'file {{ request.params.name }}'}
  - name: raw
    match: {path: "/raw/a%2Fb"}
    respond: {body: raw}
  - name: split
    match: {path: "/split/{a}/{b}"}
    respond: {body: 'split {{ request.params.a }} {{ request.params.b }}'}
`), nil)
	for _, tc := range []struct{ path, rule, body string }{
		{"/api/v4/projects/group%2Fsub%2Fproject/merge_requests/7", "mr", `{"project": "group/sub/project", "iid": "7"}`},
		{"/b/gitlab/api/v4/projects/g%2fp/merge_requests/8", "mr", `{"project": "g/p", "iid": "8"}`},
		{"/api/v4/projects/42/merge_requests/9", "mr", `{"project": "42", "iid": "9"}`},
		{"/files/a%2Fb%20c.json", "file", "file a/b c"},
		{"/raw/a%2Fb", "raw", "raw"},
		{"/split/x%2Fy", "split", "split x y"}, // the decoded path matches first
	} {
		a := h.do(t, http.MethodGet, tc.path, nil, nil)
		all := h.exchanges(t, "")
		ex := all[len(all)-1]
		if a.Status != 200 || ex.Rule != tc.rule || string(a.Body) != tc.body {
			t.Errorf("GET %s: %d %q by rule %q, want %q by %s", tc.path, a.Status, a.Body, ex.Rule, tc.body, tc.rule)
		}
	}
}

// TestLooseQuery: a query or form value with a stray % (discount=50%) or
// a semicolon is read as it came, as other servers read it, not dropped
// with its name (Go's url.ParseQuery refuses the pair): a rule on it
// matched nothing and the near miss said "absent".
func TestLooseQuery(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "loose.yaml", `
mocks:
  - name: coupon
    match: {path: /coupon, query: {code: SAVE}}
    respond: {body: 'discount={{ request.query.discount }} note={{ request.query.note }}'}
  - name: form
    match: {method: POST, path: /form, form: {code: SAVE}}
    respond: {body: 'discount={{ request.form.discount }}'}
  - name: matrix
    match: {path: /matrix, query: {a: "1"}}
    respond: {body: matrix}
`), nil)
	a := h.do(t, http.MethodGet, "/coupon?code=SAVE&discount=50%&note=a+b%2Bc%zz", nil, nil)
	if want := "discount=50% note=a b+c%zz"; string(a.Body) != want {
		t.Errorf("GET /coupon: %q, want %q", a.Body, want)
	}
	a = h.do(t, http.MethodPost, "/form", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, []byte("discount=5%&code=SAVE"))
	if want := "discount=5%"; string(a.Body) != want {
		t.Errorf("POST /form: %q, want %q", a.Body, want)
	}
	h.do(t, http.MethodGet, "/b/semi/matrix?a=1;b=2", nil, nil)
	ex := h.last(t, "semi")
	nm, _ := json.Marshal(ex.Meta["near_miss"])
	if ex.Rule != "" || !strings.Contains(string(nm), `got \"1;b=2\"`) {
		t.Errorf("GET /matrix?a=1;b=2: rule %q, near miss %s; want none, and the value got named", ex.Rule, nm)
	}
}

// TestJSONContainsNumberKey: contains with a number finds an object's key
// spelt so, as value: 1 equals "1" elsewhere (users keyed by id).
func TestJSONContainsNumberKey(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "key.yaml", `
mocks:
  - name: user
    match: {path: /users, json: [{path: users, op: contains, value: 123}]}
    respond: {body: found}
`), nil)
	for body, want := range map[string]string{
		`{"users": {"123": {"name": "a"}}}`: "found",
		`{"users": {"124": {"name": "a"}}}`: "",
	} {
		a := h.post(t, "/users", body)
		if got := string(a.Body); (want == "") != (got != "found") {
			t.Errorf("POST %s: %q, want %q", body, got, cmp.Or(want, "the default answer"))
		}
	}
}

// TestTransferEncodingSeenByRules: rules see Transfer-Encoding as the
// exchange records it (net/http keeps it out of the request's headers):
// a condition on it never held while the UI showed the header.
func TestTransferEncodingSeenByRules(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "te.yaml", `
mocks:
  - name: chunked
    match: {path: /upload, headers: {Transfer-Encoding: chunked}}
    respond: {body: 'te={{ request.headers.transfer-encoding }}'}
`), nil)
	req, err := http.NewRequest(http.MethodPost, h.URL+"/upload", io.MultiReader(strings.NewReader("abc")))
	if err != nil {
		t.Fatal(err)
	}
	req.TransferEncoding = []string{"chunked"}
	resp, err := h.client(10 * time.Second).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if ex := h.last(t, "default"); string(b) != "te=chunked" || ex.Rule != "chunked" {
		t.Errorf("chunked POST: %q by rule %q, want te=chunked by chunked (recorded headers %v)", b, ex.Rule, ex.Request.Headers)
	}
}

// TestRecordedTypeAsSent: a mock's body with no Content-Type goes out with
// the type net/http sniffs, and is recorded with it, to a GET or POST as
// to a HEAD: it was recorded without one, so the record said less than
// the client got, and a replay of the capture to the same mock differed
// ("header Content-Type added") where nothing had changed. Where net/http
// sniffs nothing (an encoded body, one a drip fault writes, a type given
// empty), nothing is recorded.
func TestRecordedTypeAsSent(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "sniff.yaml", `
mocks:
  - name: text
    match: {path: /text}
    respond: {body: "ok\nall good\n"}
  - name: html
    match: {path: /html}
    respond: {status: 503, body: "<html><body>down</body></html>"}
  - name: json
    match: {path: /json}
    respond: {body: '{"a":1}', headers: {Content-Type: application/json}}
  - name: encoded
    match: {path: /encoded}
    respond: {body: "not really br!!", headers: {Content-Encoding: br}}
  - name: drip
    match: {path: /drip}
    respond: {body: dripped, fault: drip, drip_rate: 1000}
`), nil)
	for _, tc := range []struct{ method, path, ctype string }{
		{http.MethodGet, "/text", "text/plain; charset=utf-8"},
		{http.MethodPost, "/text", "text/plain; charset=utf-8"},
		{http.MethodGet, "/html", "text/html; charset=utf-8"},
		{http.MethodGet, "/json", "application/json"},
		{http.MethodGet, "/encoded", ""},
		{http.MethodGet, "/drip", ""},
	} {
		bin := strings.ToLower(tc.method) + strings.ReplaceAll(tc.path, "/", "-")
		a := h.do(t, tc.method, "/b/"+bin+tc.path, nil, nil)
		ex := h.last(t, bin)
		if got := a.Header.Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s %s: sent Content-Type %q, want %q", tc.method, tc.path, got, tc.ctype)
		}
		var got []string
		for _, hd := range ex.Response.Headers {
			if strings.EqualFold(hd.Name, "Content-Type") {
				got = append(got, hd.Value)
			}
		}
		if len(got) > 1 || strings.Join(got, "") != tc.ctype {
			t.Errorf("%s %s: recorded Content-Type %q, sent %q", tc.method, tc.path, got, a.Header.Get("Content-Type"))
		}
		sentAsRecorded(t, ex, a)
	}
}
