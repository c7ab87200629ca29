package emit

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/hooklab/hooklab/rules"
)

// TestSignRoundTrip delivers under every scheme and checks the receiver's
// view with rules.VerifySignature; a retry is signed afresh, with its own
// timestamp and the same invocation id.
func TestSignRoundTrip(t *testing.T) {
	t.Parallel()
	secrets := map[string]string{
		rules.SchemeZendesk:          "dGhpcyBpcyBhIHNlY3JldA==",
		rules.SchemeStandardWebhooks: "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=",
		rules.SchemeGitHub:           "gh-secret",
		rules.SchemeStripe:           "whsec_stripe_secret",
		rules.SchemeSlack:            "slack-secret",
		rules.SchemeShopify:          "shopify-secret",
	}
	for _, scheme := range rules.Schemes() {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			s := newSink(t, seq(status(409), status(200)))
			yaml := "webhooks:\n  - id: hook\n    endpoint: " + s.URL + "\n    signing: {scheme: " + scheme + ", secret: \"" + secrets[scheme] + "\"}\n" +
				"subscriptions:\n  - webhook: hook\n    events: [test.*]\n"
			te := newEnv(t, yaml, nil, func(o *Options) { o.Rand = func() float64 { return 1 } }) // 2s between attempts
			q := te.emit("test.signed", `{"text": "héllo \"world\""}`)
			inv, _ := te.drive(q[0].ID)
			if inv.Status != InvocationSuccess || inv.Attempts != 2 {
				t.Fatalf("invocation %s after %d attempts: %s", inv.Status, inv.Attempts, inv.Error)
			}
			got := s.got()
			start := te.clock.Now().Add(-2 * time.Second)
			for i, r := range got {
				at := start.Add(time.Duration(i) * 2 * time.Second)
				if ok, why := rules.VerifySignature(scheme, secrets[scheme], r.Header, r.Body, at, time.Second); !ok {
					t.Errorf("attempt %d: signature invalid: %s (headers %v)", i+1, why, r.Header)
				}
			}
			if scheme == rules.SchemeZendesk {
				ts0, ts1 := got[0].Header.Get("X-Zendesk-Webhook-Signature-Timestamp"), got[1].Header.Get("X-Zendesk-Webhook-Signature-Timestamp")
				if ts0 == ts1 {
					t.Errorf("both attempts signed at %s; each attempt must be signed afresh", ts0)
				}
				if got[0].Header.Get("X-Zendesk-Webhook-Invocation-Id") != inv.ID || got[1].Header.Get("X-Zendesk-Webhook-Invocation-Id") != inv.ID {
					t.Errorf("invocation id headers differ from %s", inv.ID)
				}
			}
			if scheme == rules.SchemeStandardWebhooks && got[1].Header.Get("Webhook-Id") != inv.ID {
				t.Errorf("webhook-id = %q, want the invocation id %s", got[1].Header.Get("Webhook-Id"), inv.ID)
			}
			// The tampered body fails.
			if ok, _ := rules.VerifySignature(scheme, secrets[scheme], got[1].Header, append(got[1].Body, ' '), start.Add(2*time.Second), time.Second); ok {
				t.Error("a tampered body verified")
			}
		})
	}
}

// TestSignVectors signs the providers' published examples through the
// delivery path and compares the exact headers.
func TestSignVectors(t *testing.T) {
	t.Parallel()
	const slackBody = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	tests := []struct {
		name, scheme, secret, msgID, body string
		at                                time.Time
		header, want                      string
	}{
		{"standard webhooks specification", rules.SchemeStandardWebhooks, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek",
			`{"test": 2432232314}`, time.Unix(1614265330, 0), "Webhook-Signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
		{"github documentation", rules.SchemeGitHub, "It's a Secret to Everybody", "x", "Hello, World!", time.Unix(1700000000, 0),
			"X-Hub-Signature-256", "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"},
		{"slack documentation", rules.SchemeSlack, "8f742231b10e8888abcd99yyyzzz85a5", "x", slackBody, time.Unix(1531420618, 0),
			"X-Slack-Signature", "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSink(t, status(200))
			clk := &fakeClock{now: tt.at, waiters: map[*fakeWaiter]struct{}{}}
			e, err := Open(Options{Memory: true, Clock: clk})
			if err != nil {
				t.Fatal(err)
			}
			defer e.Close()
			w := &Webhook{ID: "v", Endpoint: s.URL, Method: "POST", Format: FormatJSON, Signing: &Signing{Scheme: tt.scheme, Secret: tt.secret}}
			out := e.do(context.Background(), w, storedRequest{Method: "POST", URL: s.URL, Body: []byte(tt.body)}, tt.msgID, "test.sign", 1, nil)
			if out.attempt.Outcome != InvocationSuccess {
				t.Fatalf("attempt: %s %s", out.attempt.Outcome, out.attempt.Error)
			}
			if got := s.got()[0].Header.Get(tt.header); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.header, got, tt.want)
			}
		})
	}
}

// TestRotationSignsWithBoth rotates an API webhook's standard-webhooks
// secret: deliveries then verify with the new secret and the old one.
func TestRotationSignsWithBoth(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200))
	te := newEnv(t, "", nil)
	ctx := context.Background()
	w, _, err := te.e.CreateWebhook(ctx, Webhook{ID: "rot", Endpoint: s.URL, Signing: &Signing{Scheme: rules.SchemeStandardWebhooks}, Subscriptions: []string{"test.*"}})
	if err != nil {
		t.Fatal(err)
	}
	if w.Signing.Secret != rules.Redacted {
		t.Errorf("created webhook shows secret %q", w.Signing.Secret)
	}
	old, err := te.e.SigningSecret("rot")
	if err != nil || !strings.HasPrefix(old.Secret, "whsec_") {
		t.Fatalf("SigningSecret = %v, %v", old, err)
	}
	cur, err := te.e.RotateSigningSecret(ctx, "rot")
	if err != nil || cur.Secret == old.Secret {
		t.Fatalf("Rotate = %v, %v", cur, err)
	}
	q := te.emit("test.rotated", `{}`)
	te.drive(q[0].ID)
	r := s.got()[0]
	if n := len(strings.Fields(r.Header.Get("Webhook-Signature"))); n != 2 {
		t.Errorf("%d signatures, want 2 during rotation", n)
	}
	for name, secret := range map[string]string{"old": old.Secret, "new": cur.Secret} {
		if ok, why := rules.VerifySignature(rules.SchemeStandardWebhooks, secret, r.Header, r.Body, te.clock.Now(), 0); !ok {
			t.Errorf("%s secret: %s", name, why)
		}
	}
	// After the overlap only the new secret signs.
	te.clock.Advance(RotationOverlap + time.Minute)
	q = te.emit("test.rotated", `{}`)
	te.drive(q[0].ID)
	r = s.got()[1]
	if ok, _ := rules.VerifySignature(rules.SchemeStandardWebhooks, old.Secret, r.Header, r.Body, te.clock.Now(), 0); ok {
		t.Error("the old secret still signs after the overlap")
	}
	if ok, why := rules.VerifySignature(rules.SchemeStandardWebhooks, cur.Secret, r.Header, r.Body, te.clock.Now(), 0); !ok {
		t.Errorf("new secret: %s", why)
	}
}

// TestAuthAndRedaction checks each authentication type reaches the
// receiver and is redacted in the activity log and the recorded exchange.
func TestAuthAndRedaction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, auth, header, want string
	}{
		{"api key", "{type: api_key, name: X-Api-Key, value: key-s3cret}", "X-Api-Key", "key-s3cret"},
		{"basic", "{type: basic_auth, username: u, password: pw-s3cret}", "Authorization", "Basic dTpwdy1zM2NyZXQ="},
		{"bearer", "{type: bearer_token, token: tok-s3cret}", "Authorization", "Bearer tok-s3cret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newSink(t, status(200))
			te := newEnv(t, hookYAML("hook", s.URL, "authentication: "+tt.auth), nil)
			q := te.emit("test.auth", `{}`)
			inv, _ := te.drive(q[0].ID)
			if got := s.got()[0].Header.Get(tt.header); got != tt.want {
				t.Errorf("%s = %q, want %q", tt.header, got, tt.want)
			}
			if v := inv.History[0].Request.Headers.Get(tt.header); v != rules.Redacted {
				t.Errorf("activity log %s = %q, want REDACTED", tt.header, v)
			}
			ex := te.rec.all()[0]
			if v := ex.Request.Headers.Get(tt.header); v != rules.Redacted {
				t.Errorf("exchange %s = %q, want REDACTED", tt.header, v)
			}
			w, _ := te.e.Webhook("hook")
			a := w.Authentication
			if strings.Contains(a.Value+a.Password+a.Token, "s3cret") {
				t.Errorf("API webhook shows a secret: %+v", a)
			}
		})
	}
	_ = http.StatusOK
}

// TestReceiverSecretsRedacted: what the receiver answers with (a cookie,
// a token it hands out) is redacted in the activity log and a test send's
// result, as it is in the recorded exchange.
func TestReceiverSecretsRedacted(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(200, "Set-Cookie", "session=SESSION-s3cret; Path=/", "X-Auth-Token", "TOKEN-s3cret", "X-Plain", "shown"))
	te := newEnv(t, hookYAML("hook", s.URL, ""), nil)
	q := te.emit("test.auth", `{}`)
	inv, _ := te.drive(q[0].ID)
	got, err := te.e.Invocation(context.Background(), inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := te.e.Test(context.Background(), "hook", TestRequest{})
	if err != nil {
		t.Fatal(err)
	}
	for what, r := range map[string]*SentResponse{"activity log": got.History[0].Response, "test send": tr.Response} {
		if r == nil {
			t.Fatalf("%s: no response", what)
		}
		b, _ := json.Marshal(r)
		if strings.Contains(string(b), "s3cret") {
			t.Errorf("%s shows the receiver's secrets: %s", what, b)
		}
		if r.Headers.Get("X-Plain") != "shown" || !strings.Contains(r.Headers.Get("Set-Cookie"), "session=") {
			t.Errorf("%s: redacted too much: %s", what, b)
		}
	}
}

// TestProviderHeaders: github and shopify deliveries carry what those
// providers send besides the signature, which their receivers' libraries
// require: the event (the event type as sent) and the delivery's id, the
// invocation's, the same on every attempt. A test send is GitHub's ping.
func TestProviderHeaders(t *testing.T) {
	t.Parallel()
	s := newSink(t, seq(status(409), status(200)))
	te := newEnv(t, `webhooks:
  - {id: gh, endpoint: "`+s.URL+`/gh", signing: {scheme: github, secret: s1}}
  - {id: shop, endpoint: "`+s.URL+`/shop", signing: {scheme: shopify, secret: s2}}
  - {id: shop2, endpoint: "`+s.URL+`/shop2", signing: {scheme: shopify, secret: s3}, custom_headers: {X-Shopify-Shop-Domain: mine.myshopify.com}}
  - {id: gh2, endpoint: "`+s.URL+`/gh2", signing: {scheme: github, secret: s4}, custom_headers: {X-GitHub-Event: issues}}
subscriptions:
  - {webhook: gh, events: [push]}
  - {webhook: shop, events: ["orders/create"]}
`, nil)
	q := te.emit("push", `{"ref": "refs/heads/main"}`)
	if len(q) != 1 {
		t.Fatalf("queued %+v", q)
	}
	if inv, _ := te.drive(q[0].ID); inv.Attempts != 2 {
		t.Fatalf("attempts %d, want 2 (a 409, then a 200)", inv.Attempts)
	}
	q2 := te.emit("orders/create", `{"id": 1}`)
	te.drive(q2[0].ID)
	got := s.got()
	if len(got) != 3 {
		t.Fatalf("%d requests, want 3", len(got))
	}
	for i, r := range got[:2] {
		if ev, d := r.Header.Get("X-GitHub-Event"), r.Header.Get("X-GitHub-Delivery"); ev != "push" || d != q[0].ID {
			t.Errorf("attempt %d: X-GitHub-Event %q, X-GitHub-Delivery %q; want push, %s", i+1, ev, d, q[0].ID)
		}
		if id := r.Header.Get("X-GitHub-Hook-Id"); id != "gh" {
			t.Errorf("attempt %d: X-GitHub-Hook-Id %q, want gh", i+1, id)
		}
	}
	sh := got[2].Header
	if sh.Get("X-Shopify-Topic") != "orders/create" || sh.Get("X-Shopify-Webhook-Id") != q2[0].ID || sh.Get("X-Shopify-Hmac-Sha256") == "" {
		t.Errorf("shopify headers %v", sh)
	}
	// What @shopify/shopify-api's webhooks.validate requires besides
	// those: without either it answers missing_headers.
	if sh.Get("X-Shopify-Shop-Domain") == "" || sh.Get("X-Shopify-API-Version") == "" {
		t.Errorf("shopify: X-Shopify-Shop-Domain %q, X-Shopify-API-Version %q; want both set", sh.Get("X-Shopify-Shop-Domain"), sh.Get("X-Shopify-API-Version"))
	}
	if _, err := time.Parse(time.RFC3339Nano, sh.Get("X-Shopify-Triggered-At")); err != nil {
		t.Errorf("X-Shopify-Triggered-At: %v", err)
	}
	// The shop's domain a webhook's custom header names is the one sent.
	if _, err := te.e.Test(context.Background(), "shop2", TestRequest{}); err != nil {
		t.Fatal(err)
	}
	if d := s.got()[3].Header.Values("X-Shopify-Shop-Domain"); len(d) != 1 || d[0] != "mine.myshopify.com" {
		t.Errorf("X-Shopify-Shop-Domain %q with a custom one, want mine.myshopify.com", d)
	}
	// So is a GitHub event a custom header names, once.
	if _, err := te.e.Test(context.Background(), "gh2", TestRequest{}); err != nil {
		t.Fatal(err)
	}
	if ev := s.got()[4].Header.Values("X-GitHub-Event"); len(ev) != 1 || ev[0] != "issues" {
		t.Errorf("X-GitHub-Event %q with a custom one, want issues", ev)
	}
	if got[2].Header.Get("X-GitHub-Event") != "" || got[0].Header.Get("X-Shopify-Topic") != "" {
		t.Errorf("one provider's headers on the other's delivery")
	}

	res, err := te.e.Test(context.Background(), "gh", TestRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if res == nil {
		t.Fatal("no test result")
	}
	last := s.got()[len(s.got())-1]
	if ev := last.Header.Get("X-GitHub-Event"); ev != "ping" {
		t.Errorf("a test send's X-GitHub-Event is %q, want ping", ev)
	}
}
