package main

// Browser tests of the webhook pages' polish: the test send's warnings,
// the form's messages beside their fields. Run by TestBrowser.

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// testBrowserWebhookTestSendWarnings: a test send whose payload is not
// valid JSON to a json webhook, or not well-formed XML to an xml one, goes
// out as it is, and the panel shows the API's warning saying where it
// fails, styled as a warning (not as an error) beside a successful outcome.
// The panel showed no warning; and a payload the page could not read as
// JSON was refused in the page, so an xml webhook's payload written as
// XML was never sent at all.
func testBrowserWebhookTestSendWarnings(t *testing.T, p *browserPage) {
	var mu sync.Mutex
	got := map[string]string{}
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		got[r.URL.Path] = string(b)
	}))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id":"jsonhook","endpoint":`+jsQuote(receiver.URL+"/json")+`}`, http.StatusCreated)
	s.mustPost(t, "/api/webhooks", `{"id":"xmlhook","endpoint":`+jsQuote(receiver.URL+"/xml")+`,"format":"xml"}`, http.StatusCreated)
	const (
		result   = `document.querySelector('#wh-test-result .test-result')`
		warnings = `[...document.querySelectorAll('#wh-test-result .test-warning')].map((e) => e.textContent)`
	)
	type shown struct {
		Outcome  string
		Warnings []string
		Errors   int
		WarnFG   string
		ErrFG    string
	}
	look := func() shown {
		return evalIn[shown](t, p, `(() => {
			const probe = document.createElement('p');
			probe.className = 'error';
			document.body.append(probe);
			const errFG = getComputedStyle(probe).color;
			probe.remove();
			const w = document.querySelector('#wh-test-result .test-warning');
			return {
				Outcome: document.querySelector('#wh-test-result .test-outcome')?.textContent ?? '',
				Warnings: `+warnings+`,
				Errors: document.querySelectorAll('#wh-test-result .error').length,
				WarnFG: w ? getComputedStyle(w).color : '',
				ErrFG: errFG,
			};
		})()`)
	}
	for _, tc := range []struct {
		hook, path, payload, want string
	}{
		{"jsonhook", "/json", `{"ticket": }`, "payload is not valid JSON at line 1, column 12"},
		{"xmlhook", "/xml", `<ticket><id>1</ticket>`, "payload is not well-formed XML: at line 1: element <id> closed by </ticket>"},
	} {
		p.openUI(t, s.UI+"#/webhooks/"+tc.hook)
		p.waitFor(t, "the form shows", `document.querySelector('#webhook-form')?.dataset.keep === 'webhooks/`+tc.hook+`'`, 10*time.Second)
		p.do(t, "type a payload", setInput("#wh-test-payload", tc.payload))
		p.do(t, "test send", chromedp.Click(chromedp.CSS("#wh-test-send")))
		p.waitFor(t, "the test send shows its result", result, 10*time.Second)
		g := look()
		mu.Lock()
		sent := got[tc.path]
		mu.Unlock()
		if sent != tc.payload {
			p.fatalf(t, "%s: the receiver got %q, want the payload as typed, %q", tc.hook, sent, tc.payload)
		}
		if g.Outcome != "success" || len(g.Warnings) != 1 || !strings.Contains(g.Warnings[0], tc.want) || g.Errors != 0 {
			p.fatalf(t, "%s: the panel shows outcome %q, warnings %q and %d errors; want success, one warning saying %q, no error", tc.hook, g.Outcome, g.Warnings, g.Errors, tc.want)
		}
		if g.WarnFG == "" || g.WarnFG == g.ErrFG {
			p.fatalf(t, "%s: the warning's colour %q is the errors' (%q): want it told apart", tc.hook, g.WarnFG, g.ErrFG)
		}
		browserScreenshot(t, p, "webhook-test-warning-"+tc.hook+".png")
	}
	// A payload that is fine says nothing more.
	p.do(t, "type a fine payload", setInput("#wh-test-payload", `<ticket><id>1</id></ticket>`))
	p.do(t, "test send", chromedp.Click(chromedp.CSS("#wh-test-send")))
	p.waitFor(t, "the test send shows its result", result+` && `+warnings+`.length === 0`, 10*time.Second)
	p.consoleErrors()
}

// testBrowserWebhookNameCharacters: the form takes a name of 255
// characters however many bytes they are (255 é are 510) and refuses 256,
// as the API and the config file do, counting characters as its message
// says: it refused 255 é as "510 characters long".
func testBrowserWebhookNameCharacters(t *testing.T, p *browserPage) {
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")
	p.openUI(t, s.UI+"#/webhooks/new")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')`, 5*time.Second)
	p.do(t, "fill the endpoint", setInput("#wh-endpoint", receiver.URL+"/hooks"))
	const nameError = `document.querySelector('#wh-name-error').textContent`
	p.do(t, "a name of 256 characters", setInput("#wh-name", strings.Repeat("é", 256)))
	p.waitFor(t, "the name is refused", `document.querySelector('#webhook-form').dataset.validation === 'invalid'`, 5*time.Second)
	if got := evalIn[string](t, p, nameError); !strings.Contains(got, "256 characters long; the limit is 255") {
		p.fatalf(t, "a name of 256 é says %q, want 256 characters, the limit 255", got)
	}
	p.do(t, "a name of 255 characters", setInput("#wh-name", strings.Repeat("é", 255)))
	p.waitFor(t, "a name of 255 é is taken", `document.querySelector('#webhook-form').dataset.validation === 'ok' && `+nameError+` === ''`, 5*time.Second)
	p.do(t, "create", chromedp.Click(chromedp.CSS("#wh-save")))
	p.waitFor(t, "the saved webhook opens", `location.hash.startsWith('#/webhooks/') && location.hash !== '#/webhooks/new'`, 5*time.Second)
	p.consoleErrors()
}

// testBrowserWebhookFieldMessages: a message beside a field of the webhook
// form reads as a sentence about that field, which its label names: "name
// is 256 characters long; the limit is 255" under Name, not "name: name
// is ...", and no "authentication.token:", "subscriptions.0:" or
// "webhook.endpoint:" before the rest. A part of the field the label does
// not name stays (the header of custom_headers.X-Forwarded-For). The
// API's JSON errors still name their fields.
func testBrowserWebhookFieldMessages(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI+"#/webhooks/new")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')`, 5*time.Second)
	// Send test with no endpoint: the test's API names it webhook.endpoint.
	p.clickNow(t, "send a test with no endpoint", "#wh-test-send")
	p.waitFor(t, "the test refusal shows by the endpoint", `document.querySelector('[id="wh-endpoint-error"]').textContent !== ''`, 5*time.Second)
	if got := evalIn[string](t, p, `document.querySelector('[id="wh-endpoint-error"]').textContent`); got != "endpoint is required" {
		p.fatalf(t, "after a test send with no endpoint the Endpoint says %q, want %q", got, "endpoint is required")
	}
	p.do(t, "choose bearer auth", setInput(`select[name="authentication.type"]`, "bearer_token"))
	p.do(t, "fill the form wrong", setInput("#wh-name", strings.Repeat("n", 256)), setInput("#wh-endpoint", "not a url"),
		setInput("#wh-custom_headers", "X-Forwarded-For: 1.2.3.4"), setInput("#wh-subscriptions", "a b"))
	want := map[string]string{
		"name":                 "name is 256 characters long; the limit is 255",
		"endpoint":             `endpoint must be an absolute URL such as https://example.com/hooks, got "not a url"`,
		"authentication.token": "token is required for bearer_token",
		"custom_headers":       "X-Forwarded-For: header names starting with x-forwarded are reserved",
		"subscriptions":        `event type pattern "a b" holds white space`,
	}
	const shown = `Object.fromEntries([...document.querySelectorAll('#webhook-form .field-error')].map((e) => [e.id.replace(/^wh-/, '').replace(/-error$/, ''), e.textContent]))`
	p.waitFor(t, "every field's error shows", `(() => { const m = `+shown+`; return ['name', 'endpoint', 'authentication.token', 'custom_headers', 'subscriptions'].every((k) => m[k]); })()`, 10*time.Second)
	got := evalIn[map[string]string](t, p, shown)
	for field, w := range want {
		if !strings.HasPrefix(got[field], w) {
			p.fatalf(t, "beside %s the form says %q, want it to read %q…", field, got[field], w)
		}
	}
	browserScreenshot(t, p, "webhook-field-messages.png")
	// A warning beside its field reads the same way.
	p.do(t, "a plain-HTTP endpoint with a custom header", setInput("#wh-name", ""), setInput("#wh-endpoint", "http://127.0.0.1:9/hooks"),
		setInput(`select[name="authentication.type"]`, ""), setInput("#wh-custom_headers", "X-Team: support"), setInput("#wh-subscriptions", ""))
	p.waitFor(t, "the custom headers' warning shows", `document.querySelector('#webhook-form').dataset.validation === 'ok' && document.querySelector('[id="wh-custom_headers-warning"]').textContent !== ''`, 10*time.Second)
	if got := evalIn[string](t, p, `document.querySelector('[id="wh-custom_headers-warning"]').textContent`); !strings.HasPrefix(got, "custom headers are sent in the clear to a plain-HTTP endpoint") {
		p.fatalf(t, "the custom headers' warning says %q, want it to begin 'custom headers are sent in the clear'", got)
	}
	// The API's JSON still names each field.
	resp, body := s.api(t, http.MethodPost, "/api/webhooks/validate", strings.NewReader(`{"endpoint": "not a url", "name": "`+strings.Repeat("n", 256)+`"}`))
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), `{"field":"name","error":"name is 256 characters long; the limit is 255"}`) ||
		!strings.Contains(string(body), `{"field":"endpoint","error":"endpoint must be an absolute URL`) {
		t.Fatalf("POST /api/webhooks/validate: %d %s; want errors naming name and endpoint", resp.StatusCode, body)
	}
	p.consoleErrors()
}

// testBrowserWebhookPageWarnings: a saved webhook's page shows its
// warnings beside their fields as it opens (basic_auth credentials to a
// plain-HTTP endpoint by Authentication; a config webhook's custom headers
// to one by Custom headers). Only the webhooks list said them: the page
// of the webhook they were about showed none until the form was edited.
func testBrowserWebhookPageWarnings(t *testing.T, p *browserPage) {
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(cfg, []byte("webhooks:\n  - id: from-config\n    endpoint: http://127.0.0.1:9/c\n    custom_headers: {X-Team: support}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	s.mustPost(t, "/api/webhooks", `{"id":"plain","endpoint":"http://127.0.0.1:9/x","authentication":{"type":"basic_auth","username":"u","password":"p"}}`, http.StatusCreated)
	for _, tc := range []struct{ id, field, want string }{
		{"plain", "authentication", "basic_auth credentials are sent in the clear to a plain-HTTP endpoint; use https"},
		{"from-config", "custom_headers", "custom headers are sent in the clear to a plain-HTTP endpoint; use https"},
	} {
		p.openUI(t, s.UI+"#/webhooks/"+tc.id)
		p.waitFor(t, "the form shows", `document.querySelector('#webhook-form')?.dataset.keep === 'webhooks/`+tc.id+`'`, 10*time.Second)
		box := `document.getElementById('wh-` + tc.field + `-warning').textContent`
		if got := evalIn[string](t, p, box); got != tc.want {
			p.fatalf(t, "%s's page opens with %q beside %s, want %q", tc.id, got, tc.field, tc.want)
		}
	}
	p.consoleErrors()
}
