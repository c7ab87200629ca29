package main

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// webhookSink records the last request a webhook sent it.
type webhookSink struct {
	mu     sync.Mutex
	method string
	header http.Header
	body   string
	n      int
}

func (k *webhookSink) last() (string, http.Header, string, int) {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.method, k.header.Clone(), k.body, k.n
}

// testBrowserWebhookAuthEdits creates a webhook through the form and edits
// it as a user would: each authentication type in turn, custom headers
// added and removed, method, format, signing scheme and status changed,
// the page reloaded between saves. The form shows secrets REDACTED; a save
// that leaves them untouched keeps them, which a test send to a sink shows
// (what goes out carries the real secret).
func testBrowserWebhookAuthEdits(t *testing.T, p *browserPage) {
	sink := &webhookSink{}
	// An ephemeral port: the sink's URL is typed into the form once, and
	// neither it nor hooklab restarts.
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		sink.mu.Lock()
		sink.method, sink.header, sink.body = r.Method, r.Header.Clone(), string(b)
		sink.n++
		sink.mu.Unlock()
	}))
	t.Cleanup(receiver.Close)
	s := startServer(t, "--memory")

	const (
		form    = `document.querySelector('#webhook-form')`
		authSel = `[id="wh-authentication.type"]`
		scheme  = `[id="wh-signing.scheme"]`
	)
	val := func(sel string) string {
		return evalIn[string](t, p, `document.querySelector(`+jsQuote(sel)+`)?.value ?? '(missing)'`)
	}
	errorsShown := func() string {
		return evalIn[string](t, p, `[...document.querySelectorAll('#webhook-form .field-error')].map((e) => e.textContent).filter(Boolean).join('|') + ' ' + document.querySelector('#wh-form-error').textContent`)
	}
	save := func(what string) {
		t.Helper()
		p.do(t, "hide the notice", chromedp.Evaluate[chromedp.Void](`document.querySelector('#notice') && (document.querySelector('#notice').textContent = '')`))
		p.do(t, "save: "+what, chromedp.Click(chromedp.CSS("#wh-save")))
		ctxDeadline := time.Now().Add(5 * time.Second)
		for !evalIn[bool](t, p, `!!document.querySelector('#notice')?.textContent.startsWith('Saved webhook flow')`) {
			if time.Now().After(ctxDeadline) {
				p.fatalf(t, "%s: not saved; the form says %q", what, errorsShown())
			}
			time.Sleep(30 * time.Millisecond)
		}
	}
	reload := func() {
		t.Helper()
		p.do(t, "reload", chromedp.Reload())
		p.waitFor(t, "the edit form shows", form+`?.dataset.keep === 'webhooks/flow' && document.querySelector('#wh-endpoint')?.value !== ''`, 10*time.Second)
	}
	stored := func() map[string]any {
		t.Helper()
		var got struct {
			Webhook map[string]any `json:"webhook"`
		}
		s.getJSON(t, "/api/webhooks/flow", &got)
		return got.Webhook
	}
	secret := func() string {
		var sec struct {
			S struct{ Secret string } `json:"signing_secret"`
		}
		s.getJSON(t, "/api/webhooks/flow/signing_secret", &sec)
		return sec.S.Secret
	}
	testSend := func(what string) (string, http.Header, string) {
		t.Helper()
		_, _, _, before := sink.last()
		p.do(t, "clear the result", chromedp.Evaluate[chromedp.Void](`document.querySelector('#wh-test-result').replaceChildren()`))
		p.do(t, "test send: "+what, chromedp.Click(chromedp.CSS("#wh-test-send")))
		p.waitFor(t, what+": the test send shows its result", `document.querySelector('#wh-test-result .test-result, #wh-test-result .error')`, 10*time.Second)
		m, h, b, n := sink.last()
		if n != before+1 {
			p.fatalf(t, "%s: the sink got %d requests, want 1; the page says %q", what, n-before, evalIn[string](t, p, `document.querySelector('#wh-test-result').textContent`))
		}
		return m, h, b
	}

	// Create: PUT, form_encoded, two custom headers (one a secret by its
	// name), api_key, github signing.
	p.openUI(t, s.UI+"#/webhooks/new")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')`, 5*time.Second)
	p.do(t, "fill the form", setInput("#wh-id", "flow"), setInput("#wh-endpoint", receiver.URL+"/hooks"),
		setInput("#wh-method", "PUT"), setInput("#wh-format", "form_encoded"),
		setInput("#wh-custom_headers", "X-Team: support\nX-Api-Key: hk-secret"),
		setInput(authSel, "api_key"))
	p.do(t, "fill the key", setInput(`[id="wh-authentication.name"]`, "X-Key"), setInput(`[id="wh-authentication.value"]`, "k-secret"),
		setInput(scheme, "github"))
	p.do(t, "create", chromedp.Click(chromedp.CSS("#wh-save")))
	p.waitFor(t, "the saved webhook opens", `location.hash === '#/webhooks/flow' && `+form+`?.dataset.keep === 'webhooks/flow'`, 5*time.Second)
	reload()
	for sel, want := range map[string]string{"#wh-method": "PUT", "#wh-format": "form_encoded", authSel: "api_key",
		`[id="wh-authentication.name"]`: "X-Key", `[id="wh-authentication.value"]`: "REDACTED", scheme: "github", "#wh-status": "active"} {
		if got := val(sel); got != want {
			p.fatalf(t, "after create and reload %s shows %q, want %q", sel, got, want)
		}
	}
	if got := val("#wh-custom_headers"); !strings.Contains(got, "X-Api-Key: REDACTED") || !strings.Contains(got, "X-Team: support") || strings.Contains(got, "hk-secret") {
		p.fatalf(t, "the custom headers show %q", got)
	}
	sec := secret()
	check := func(what, method string, h http.Header) {
		t.Helper()
		m, got, _ := testSend(what)
		if m != method {
			p.fatalf(t, "%s: sent %s, want %s", what, m, method)
		}
		for k, v := range h {
			if got.Get(k) != v[0] {
				p.fatalf(t, "%s: header %s went out %q, want %q (all: %v)", what, k, got.Get(k), v[0], got)
			}
		}
	}
	check("created", "PUT", http.Header{"X-Key": {"k-secret"}, "X-Api-Key": {"hk-secret"}, "X-Team": {"support"}})

	// A save that changes nothing secret keeps every secret.
	p.do(t, "rename", setInput("#wh-name", "Flow"))
	save("rename")
	if got := secret(); got != sec {
		p.fatalf(t, "a rename changed the signing secret")
	}
	check("renamed", "PUT", http.Header{"X-Key": {"k-secret"}, "X-Api-Key": {"hk-secret"}, "X-Team": {"support"}})

	// basic_auth, a header removed, POST json.
	reload()
	p.do(t, "switch to basic_auth", setInput(authSel, "basic_auth"))
	p.do(t, "fill basic", setInput(`[id="wh-authentication.username"]`, "u1"), setInput(`[id="wh-authentication.password"]`, "p-secret"),
		setInput("#wh-custom_headers", "X-Api-Key: REDACTED"), setInput("#wh-method", "POST"), setInput("#wh-format", "json"))
	save("basic_auth")
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("u1:p-secret"))
	check("basic", "POST", http.Header{"Authorization": {basic}, "X-Api-Key": {"hk-secret"}})
	if _, h, _ := testSend("basic again"); h.Get("X-Team") != "" || h.Get("X-Key") != "" {
		p.fatalf(t, "a removed header or the old api key still goes out: %v", h)
	}
	reload()
	for sel, want := range map[string]string{authSel: "basic_auth", `[id="wh-authentication.username"]`: "u1", `[id="wh-authentication.password"]`: "REDACTED", "#wh-custom_headers": "X-Api-Key: REDACTED", "#wh-method": "POST", "#wh-format": "json"} {
		if got := val(sel); got != want {
			p.fatalf(t, "after basic_auth and reload %s shows %q, want %q", sel, got, want)
		}
	}
	// Save unchanged after a reload: the password stays.
	save("unchanged basic")
	check("basic kept", "POST", http.Header{"Authorization": {basic}})

	// bearer_token and stripe signing, then switch back in the same form.
	p.do(t, "switch to bearer", setInput(authSel, "bearer_token"))
	p.do(t, "token", setInput(`[id="wh-authentication.token"]`, "t-secret"), setInput(scheme, "stripe"))
	save("bearer")
	if got := secret(); got == sec || got == "" {
		p.fatalf(t, "a new scheme kept the github secret %q", got)
	}
	sec = secret()
	_, h, _ := testSend("bearer")
	if h.Get("Authorization") != "Bearer t-secret" || h.Get("Stripe-Signature") == "" {
		p.fatalf(t, "bearer: sent %v", h)
	}
	reload()
	if got := val(`[id="wh-authentication.token"]`); got != "REDACTED" {
		p.fatalf(t, "the token shows %q", got)
	}
	p.do(t, "inactive", setInput("#wh-status", "inactive"))
	save("inactive")
	reload()
	if got := val("#wh-status"); got != "inactive" {
		p.fatalf(t, "status shows %q", got)
	}
	if got := secret(); got != sec {
		p.fatalf(t, "a status change changed the signing secret")
	}
	if a, _ := json.Marshal(stored()["authentication"]); string(a) != `{"token":"REDACTED","type":"bearer_token"}` {
		p.fatalf(t, "stored auth %s", a)
	}
	p.do(t, "active", setInput("#wh-status", "active"))
	save("active")
	_, h, _ = testSend("bearer kept")
	if h.Get("Authorization") != "Bearer t-secret" {
		p.fatalf(t, "bearer kept: sent %v", h)
	}
	// None.
	p.do(t, "no auth", setInput(authSel, ""))
	save("none")
	if a := stored()["authentication"]; a != nil {
		p.fatalf(t, "after none, stored auth %v", a)
	}
	_, h, _ = testSend("none")
	if h.Get("Authorization") != "" {
		p.fatalf(t, "none: Authorization %q went out", h.Get("Authorization"))
	}
	// Back to api_key in the same form (its inputs hold what the page first showed).
	p.do(t, "api_key again", setInput(authSel, "api_key"))
	p.do(t, "fill key", setInput(`[id="wh-authentication.name"]`, "X-Key2"), setInput(`[id="wh-authentication.value"]`, "k2"))
	save("api_key again")
	check("api_key again", "POST", http.Header{"X-Key2": {"k2"}})
	p.consoleErrors()
}

// testBrowserWebhookAuthFieldCleared: clearing an authentication field of a
// saved webhook (the api_key's header name, the basic_auth password) and
// saving is refused by that field, as the live validation says while
// typing. The form left an empty field out of the PATCH, which merges
// authentication one level deep, so the save went through and kept the
// stored value the form showed cleared.
func testBrowserWebhookAuthFieldCleared(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id":"cleared","endpoint":"https://127.0.0.1:9/h","authentication":{"type":"api_key","name":"X-Key","value":"k-secret"}}`, http.StatusCreated)
	p.openUI(t, s.UI+"#/webhooks/cleared")
	p.waitFor(t, "the edit form shows", `document.querySelector('[id="wh-authentication.name"]')?.value === 'X-Key'`, 10*time.Second)
	for _, c := range []struct{ field, sel string }{
		{"authentication.name", `[id="wh-authentication.name"]`},
		{"authentication.value", `[id="wh-authentication.value"]`},
	} {
		p.do(t, "reload", chromedp.Reload())
		p.waitFor(t, "the edit form shows", `document.querySelector('[id="wh-authentication.name"]')?.value === 'X-Key'`, 10*time.Second)
		p.do(t, "clear "+c.field, setInput(c.sel, ""))
		box := `document.querySelector('[data-field="` + c.field + `"] .field-error')`
		p.waitFor(t, "live validation says "+c.field+" is wanted", box+`?.textContent !== ''`, 5*time.Second)
		p.do(t, "hide the notice", chromedp.Evaluate[chromedp.Void](`document.querySelector('#notice') && (document.querySelector('#notice').textContent = '')`))
		p.do(t, "save", chromedp.Click(chromedp.CSS("#wh-save")))
		time.Sleep(500 * time.Millisecond)
		notice := evalIn[string](t, p, `document.querySelector('#notice')?.textContent ?? ''`)
		msg := evalIn[string](t, p, box+`?.textContent ?? ''`)
		if strings.HasPrefix(notice, "Saved") || msg == "" {
			var got struct {
				Webhook struct{ Authentication map[string]string } `json:"webhook"`
			}
			s.getJSON(t, "/api/webhooks/cleared", &got)
			p.fatalf(t, "%s cleared: saving says %q (field error %q); the API keeps %v", c.field, notice, msg, got.Webhook.Authentication)
		}
	}
}

// testBrowserWebhookAuthSwitchBack: a saved switch of authentication type
// drops the old type's secret on the server, so switching back in the same
// form must not offer REDACTED (the stored secret shown when the page
// loaded) for it: saving that was refused, "REDACTED stands for a stored
// secret, and this webhook has none here", for a field that showed dots.
func testBrowserWebhookAuthSwitchBack(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id":"back","endpoint":"https://127.0.0.1:9/h","authentication":{"type":"basic_auth","username":"u","password":"p-secret"}}`, http.StatusCreated)
	p.openUI(t, s.UI+"#/webhooks/back")
	p.waitFor(t, "the edit form shows", `document.querySelector('[id="wh-authentication.password"]')?.value === 'REDACTED'`, 10*time.Second)
	p.do(t, "switch to bearer", setInput(`[id="wh-authentication.type"]`, "bearer_token"))
	p.do(t, "token", setInput(`[id="wh-authentication.token"]`, "t"))
	p.do(t, "save", chromedp.Click(chromedp.CSS("#wh-save")))
	p.waitFor(t, "the save is confirmed", `document.querySelector('#notice')?.textContent.startsWith('Saved webhook back')`, 5*time.Second)
	p.do(t, "switch back to basic_auth", setInput(`[id="wh-authentication.type"]`, "basic_auth"))
	if got := evalIn[string](t, p, `document.querySelector('[id="wh-authentication.password"]').value`); got == "REDACTED" {
		p.fatalf(t, "switched back to basic_auth after saving bearer_token, the password shows REDACTED, a stored secret the server no longer has")
	}
}
