package main

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The browser tests of the webhooks views following the stream's webhook
// messages: changes made elsewhere (here through the API) show without a
// reload, and do not overwrite a form being edited.

// patchWebhook PATCHes webhook id with body through the API.
func patchWebhook(t *testing.T, s *server, id, body string) {
	t.Helper()
	if resp, b := s.api(t, http.MethodPatch, "/api/webhooks/"+id, strings.NewReader(body)); resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH %s: %d %s", id, resp.StatusCode, b)
	}
}

// testBrowserWebhooksListFollows: the webhooks list shows a webhook made,
// changed or deleted through the API as it happens. It was drawn again
// only for invocations, so it kept a webhook deleted, missed one made,
// and showed the old name and status of one changed.
func testBrowserWebhooksListFollows(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id":"first","name":"First","endpoint":`+jsQuote(refusingEndpoint(t))+`,"signing":{"scheme":"none"}}`, http.StatusCreated)
	p.openUI(t, s.UI+"#/webhooks")
	p.waitFor(t, "the list shows first", `document.querySelector('.webhook-row[data-id="first"]')`, 10*time.Second)

	s.mustPost(t, "/api/webhooks", `{"id":"second","endpoint":`+jsQuote(refusingEndpoint(t))+`,"signing":{"scheme":"none"}}`, http.StatusCreated)
	p.waitFor(t, "the list shows the webhook made elsewhere", `document.querySelector('.webhook-row[data-id="second"]')`, 10*time.Second)

	patchWebhook(t, s, "first", `{"name":"Renamed","status":"inactive"}`)
	p.waitFor(t, "the list shows the new name and status", `(() => {
		const r = document.querySelector('.webhook-row[data-id="first"]');
		return r && r.querySelector('a').textContent === 'Renamed' && r.querySelector('.badge.wh-inactive')?.textContent === 'inactive';
	})()`, 10*time.Second)

	if resp, b := s.api(t, http.MethodDelete, "/api/webhooks/second", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, b)
	}
	p.waitFor(t, "the webhook deleted elsewhere leaves the list", `!document.querySelector('.webhook-row[data-id="second"]') && document.querySelector('.webhook-row[data-id="first"]')`, 10*time.Second)
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserWebhookPageFollows: a webhook's page follows a change made
// elsewhere: its heading, and its form when the user has not edited it
// (what they typed in the test send stays). A form being edited keeps the
// user's input and says the webhook changed elsewhere, with a button that
// reloads it; the user's own save says nothing of the kind. A delete
// elsewhere is said too. The page showed the webhook as it was when opened.
func testBrowserWebhookPageFollows(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	first, second := refusingEndpoint(t), refusingEndpoint(t)
	s.mustPost(t, "/api/webhooks", `{"id":"hook","name":"Before","endpoint":`+jsQuote(first)+`,"signing":{"scheme":"none"}}`, http.StatusCreated)
	p.openUI(t, s.UI+"#/webhooks/hook")
	const heading = `document.querySelector('#webhook-title')?.textContent`
	const name = `document.querySelector('#wh-name')?.value`
	p.waitFor(t, "the page shows the webhook", name+` === 'Before'`, 10*time.Second)
	p.do(t, "type a test payload", setInput("#wh-test-payload", `{"mine": 1}`))

	// Not edited here: the form follows.
	patchWebhook(t, s, "hook", `{"name":"After","endpoint":`+jsQuote(second)+`}`)
	p.waitFor(t, "the heading and the form show the change", heading+`?.startsWith('After ') && `+name+` === 'After' && document.querySelector('#wh-endpoint').value === `+jsQuote(second), 10*time.Second)
	if got := evalIn[string](t, p, `document.querySelector('#wh-test-payload').value`); got != `{"mine": 1}` {
		p.fatalf(t, "the test payload typed holds %q after the form was drawn again, want what was typed", got)
	}
	if evalIn[bool](t, p, `!!document.querySelector('#wh-changed')`) {
		p.fatalf(t, "a form not edited says it changed elsewhere: it should just show the change")
	}

	// Edited here: the user's input stays, and a note says so.
	p.do(t, "edit the name", setInput("#wh-name", "Mine"))
	patchWebhook(t, s, "hook", `{"name":"Theirs"}`)
	p.waitFor(t, "the note says the webhook changed elsewhere", `document.querySelector('#wh-changed')?.textContent.includes('changed elsewhere')`, 10*time.Second)
	if got := evalIn[string](t, p, name); got != "Mine" {
		p.fatalf(t, "the name being edited holds %q after a change elsewhere, want the user's Mine", got)
	}
	p.waitFor(t, "the heading shows the change", heading+`?.startsWith('Theirs ')`, 10*time.Second)
	p.clickNow(t, "reload the form", "#wh-reload")
	p.waitFor(t, "the form shows the webhook as changed, the note gone", name+` === 'Theirs' && !document.querySelector('#wh-changed')`, 10*time.Second)

	// The user's own save is no change elsewhere; the form, saved, follows
	// the next change made elsewhere again.
	p.do(t, "edit the name", setInput("#wh-name", "Saved here"))
	// The note must not show even for a moment: the stream's message of
	// the save may come before its answer.
	p.do(t, "watch for the note", chromedp.Evaluate[chromedp.Void](`(() => {
		window.sawChanged = false;
		new MutationObserver(() => { if (document.querySelector('#wh-changed')) window.sawChanged = true; })
			.observe(document.body, { childList: true, subtree: true });
	})()`))
	p.do(t, "save", chromedp.Click(chromedp.CSS("#wh-save")))
	p.waitFor(t, "the heading shows the saved name", heading+`?.startsWith('Saved here ')`, 10*time.Second)
	patchWebhook(t, s, "hook", `{"custom_headers":{"X-Team":"ops"}}`)
	p.waitFor(t, "the saved form follows the next change", `document.querySelector('#wh-custom_headers')?.value === 'X-Team: ops'`, 10*time.Second)
	if evalIn[bool](t, p, `window.sawChanged`) || evalIn[string](t, p, name) != "Saved here" {
		p.fatalf(t, "after the user's own save and a change elsewhere: the note showed, or the name is not the saved one")
	}

	if resp, b := s.api(t, http.MethodDelete, "/api/webhooks/hook", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, b)
	}
	p.waitFor(t, "the page says the webhook was deleted elsewhere", `document.querySelector('#wh-deleted')?.textContent.includes('deleted elsewhere')`, 10*time.Second)
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}

// testBrowserActivityWaitingFollows: the activity log's waiting texts
// follow the webhook changed elsewhere: made inactive, its queued retry
// says it waits for that; active again, it says it waits for its retry
// as it did before. The log was drawn
// again only for invocations, and changing the webhook makes none.
func testBrowserActivityWaitingFollows(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	retryWaits(t, s, "paused")
	firstRetryQueued(t, s, "paused")
	p.openUI(t, s.UI+"#/webhooks/paused")
	const status = `document.querySelector('.activity .invocation-row')?.children[3].textContent`
	p.waitFor(t, "the activity log shows the retry pending", status+`?.startsWith('pending')`, 10*time.Second)
	if got := evalIn[string](t, p, status); !strings.HasPrefix(got, "pending — retrying: attempt 2 of 3 at ") {
		p.fatalf(t, "the retry of an active webhook shows %q, want it waiting for its retry", got)
	}
	patchWebhook(t, s, "paused", `{"status":"inactive"}`)
	p.waitFor(t, "the retry says it waits for the inactive webhook", status+`?.startsWith('pending — the webhook is inactive')`, 10*time.Second)
	patchWebhook(t, s, "paused", `{"status":"active"}`)
	p.waitFor(t, "the retry says it waits for its retry again", status+`?.startsWith('pending — retrying: attempt 2 of 3 at ')`, 10*time.Second)
	if errs := p.consoleErrors(); len(errs) > 0 {
		t.Errorf("console errors: %v", errs)
	}
}
