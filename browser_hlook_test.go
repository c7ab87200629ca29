package main

// Browser tests from a look at every view at two widths and in both
// colour schemes. TestBrowser runs them.

import (
	"slices"
	"testing"
	"time"
)

// testBrowserWebhookAuthLabels: the login details of a webhook's
// authentication are labelled as the fields around them are, capitalised
// words (Username, Password, Token, Header name, Value): they read
// "username", "token", "name" and "value", the API's keys, under "Name" and
// "Endpoint".
func testBrowserWebhookAuthLabels(t *testing.T, p *browserPage) {
	s := startServer(t, "--memory")
	p.openUI(t, s.UI+"#/webhooks/new")
	p.waitFor(t, "the form shows", `document.querySelector('#wh-endpoint')`, 5*time.Second)
	for auth, want := range map[string][]string{
		"api_key":      {"Header name", "Value"},
		"basic_auth":   {"Username", "Password"},
		"bearer_token": {"Token"},
	} {
		p.do(t, "authentication "+auth, setInput(`select[name="authentication.type"]`, auth))
		got := evalIn[[]string](t, p, `[...document.querySelectorAll('#webhook-form .auth-fields label')].map((l) => l.textContent)`)
		if !slices.Equal(got, want) {
			p.fatalf(t, "authentication %s: the login fields are labelled %q, want %q", auth, got, want)
		}
	}
}
