package rules

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// stripeBody is the payload of the stripe vectors, made with stripe-node.
const stripeBody = `{"id":"evt_1","object":"event","type":"payment_intent.succeeded","data":{"object":{"description":"Zoë \"Z\" 😀"}}}`

func TestVerifySignatureVectors(t *testing.T) {
	t.Parallel()
	const slackBody = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	tests := []struct {
		name   string
		scheme string
		secret string
		header http.Header
		body   string
		now    time.Time
	}{
		{
			name:   "github documentation example",
			scheme: SchemeGitHub,
			secret: "It's a Secret to Everybody",
			header: http.Header{"X-Hub-Signature-256": {"sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"}},
			body:   "Hello, World!",
			now:    time.Now(),
		},
		{
			name:   "standard webhooks specification example",
			scheme: SchemeStandardWebhooks,
			secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			header: http.Header{
				"Webhook-Id":        {"msg_p5jXN8AQM9LWM0D4loKWxJek"},
				"Webhook-Timestamp": {"1614265330"},
				"Webhook-Signature": {"v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
			},
			body: `{"test": 2432232314}`,
			now:  time.Unix(1614265330, 0),
		},
		{
			name:   "standard webhooks example among rotated signatures",
			scheme: SchemeStandardWebhooks,
			secret: "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			header: http.Header{
				"Webhook-Id":        {"msg_p5jXN8AQM9LWM0D4loKWxJek"},
				"Webhook-Timestamp": {"1614265330"},
				"Webhook-Signature": {"v1,bm9wZQ== v2,xyz v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="},
			},
			body: `{"test": 2432232314}`,
			now:  time.Unix(1614265330+60, 0),
		},
		{
			// Svix sends Standard Webhooks under svix-* header names, and
			// its receiver library (svix on npm) reads those first, then
			// the webhook-* ones. Signature made with svix 1.99.1:
			// new Webhook(secret).sign(id, new Date(1700000000000), body).
			name:   "svix library example with svix-* headers",
			scheme: SchemeStandardWebhooks,
			secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
			header: http.Header{
				"Svix-Id":        {"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"},
				"Svix-Timestamp": {"1700000000"},
				"Svix-Signature": {"v1,nlbklMRxoL1ISLRTEPpomJEWbCDeaAmn32hg2ns8fLg="},
			},
			body: `{"type":"user.created","data":{"name":"Zoë \"Z\" 😀"}}`,
			now:  time.Unix(1700000000, 0),
		},
		{
			// Shopify's event webhooks name the header
			// shopify-hmac-sha256 (no X-), and shopify.webhooks.validate
			// (@shopify/shopify-api 13.1.0) reads it first. Signature is
			// base64 HMAC-SHA256 of the body, as Shopify documents; that
			// validate call accepted it.
			name:   "shopify events webhook header",
			scheme: SchemeShopify,
			secret: "hush",
			header: http.Header{"Shopify-Hmac-Sha256": {"Oci/0fV66MCoJJn9lG3ZZ97/iuDFMQ1OkOK968qTs3Q="}},
			body:   `{"id":820982911946154508,"email":"jon@example.com","note":"Zoë \"Z\" 😀"}`,
			now:    time.Now(),
		},
		{
			// stripe-node 23.1.0: stripe.webhooks.generateTestHeaderString(
			// {payload, secret, timestamp: 1700000000}).
			name:   "stripe library example",
			scheme: SchemeStripe,
			secret: "whsec_test_secret",
			header: http.Header{"Stripe-Signature": {"t=1700000000,v1=5acfda4592991cee01bb88754b4327ac72fedd4da14f31eb952c190efce4f74e"}},
			body:   stripeBody,
			now:    time.Unix(1700000000, 0),
		},
		{
			name:   "slack documentation example",
			scheme: SchemeSlack,
			secret: "8f742231b10e8888abcd99yyyzzz85a5",
			header: http.Header{
				"X-Slack-Request-Timestamp": {"1531420618"},
				"X-Slack-Signature":         {"v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"},
			},
			body: slackBody,
			now:  time.Unix(1531420618, 0),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, reason := VerifySignature(tt.scheme, tt.secret, tt.header, []byte(tt.body), tt.now, 0)
			if !ok {
				t.Fatalf("VerifySignature = false, %q; want valid", reason)
			}
			ok, reason = VerifySignature(tt.scheme, tt.secret, tt.header, []byte(tt.body+" "), tt.now, 0)
			if ok || reason != ReasonMismatch {
				t.Errorf("tampered body: got %v, %q; want %q", ok, reason, ReasonMismatch)
			}
		})
	}
}

func TestSignVectors(t *testing.T) {
	t.Parallel()
	h, err := Sign(SchemeGitHub, []string{"It's a Secret to Everybody"}, "", time.Now(), []byte("Hello, World!"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Get("X-Hub-Signature-256"), "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"; got != want {
		t.Errorf("github: got %q, want %q", got, want)
	}
	h, err = Sign(SchemeStandardWebhooks, []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "msg_p5jXN8AQM9LWM0D4loKWxJek", time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Get("Webhook-Signature"), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("standard-webhooks: got %q, want %q", got, want)
	}
	// stripe-node 23.1.0's generateTestHeaderString gives the same header.
	h, err = Sign(SchemeStripe, []string{"whsec_test_secret"}, "", time.Unix(1700000000, 0), []byte(stripeBody))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := h.Get("Stripe-Signature"), "t=1700000000,v1=5acfda4592991cee01bb88754b4327ac72fedd4da14f31eb952c190efce4f74e"; got != want {
		t.Errorf("stripe: got %q, want %q", got, want)
	}
}

func TestSignVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	body := []byte(`{"ticket":{"id":42,"title":"caf\u00e9 \"quoted\""}}`)
	secrets := map[string]string{
		SchemeZendesk:          "dGhpcyBpcyBhIHplbmRlc2sgc2VjcmV0",
		SchemeStandardWebhooks: "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM=",
		SchemeGitHub:           "gh-secret",
		SchemeStripe:           "whsec_stripe_secret",
		SchemeSlack:            "slack-secret",
		SchemeShopify:          "shopify-secret",
	}
	timestamped := map[string]bool{SchemeZendesk: true, SchemeStandardWebhooks: true, SchemeStripe: true, SchemeSlack: true}
	for _, scheme := range Schemes() {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			secret := secrets[scheme]
			h, err := Sign(scheme, []string{secret}, "msg_1", now, body)
			if err != nil {
				t.Fatal(err)
			}
			if ok, reason := VerifySignature(scheme, secret, h, body, now.Add(time.Minute), 0); !ok {
				t.Fatalf("round trip: %s", reason)
			}
			if ok, reason := VerifySignature(scheme, secret, h, append([]byte("x"), body...), now, 0); ok || reason != ReasonMismatch {
				t.Errorf("tampered body: got %v, %q", ok, reason)
			}
			other := "b3RoZXItc2VjcmV0"
			if ok, reason := VerifySignature(scheme, other, h, body, now, 0); ok || reason != ReasonMismatch {
				t.Errorf("wrong secret: got %v, %q", ok, reason)
			}
			ok, reason := VerifySignature(scheme, secret, h, body, now.Add(6*time.Minute), 0)
			if timestamped[scheme] {
				if ok || reason != ReasonStale {
					t.Errorf("stale: got %v, %q; want %q", ok, reason, ReasonStale)
				}
				if ok, reason := VerifySignature(scheme, secret, h, body, now.Add(6*time.Minute), 10*time.Minute); !ok {
					t.Errorf("within a 10m tolerance: %s", reason)
				}
				if ok, reason := VerifySignature(scheme, secret, h, body, now.Add(-6*time.Minute), 0); ok || reason != ReasonFuture {
					t.Errorf("from the future: got %v, %q", ok, reason)
				}
			} else if !ok {
				t.Errorf("no timestamp, so never stale: %s", reason)
			}
			for name := range h {
				missing := h.Clone()
				missing.Del(name)
				ok, reason := VerifySignature(scheme, secret, missing, body, now, 0)
				if ok || !strings.HasPrefix(reason, ReasonMissingHeader) || !strings.Contains(strings.ToLower(reason), strings.ToLower(name)) {
					t.Errorf("without %s: got %v, %q", name, ok, reason)
				}
			}
		})
	}
}

func TestVerifySignatureBadEncoding(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	tests := []struct {
		name   string
		scheme string
		secret string
		header http.Header
		want   string
	}{
		{"github without prefix", SchemeGitHub, "s", http.Header{"X-Hub-Signature-256": {"757107ea"}},
			"bad encoding X-Hub-Signature-256: want sha256=<hex>"},
		{"github not hex", SchemeGitHub, "s", http.Header{"X-Hub-Signature-256": {"sha256=zz"}},
			"bad encoding X-Hub-Signature-256: want sha256=<hex>"},
		{"shopify not base64", SchemeShopify, "s", http.Header{"X-Shopify-Hmac-Sha256": {"%%%"}},
			"bad encoding X-Shopify-Hmac-Sha256: want base64"},
		{"slack not hex", SchemeSlack, "s", http.Header{"X-Slack-Signature": {"v0=q"}, "X-Slack-Request-Timestamp": {"1700000000"}},
			"bad encoding X-Slack-Signature: want v0=<hex>"},
		{"slack bad timestamp", SchemeSlack, "s", http.Header{"X-Slack-Signature": {"v0=00"}, "X-Slack-Request-Timestamp": {"yesterday"}},
			`bad encoding X-Slack-Request-Timestamp: want Unix seconds, got "yesterday"`},
		{"stripe without v1", SchemeStripe, "s", http.Header{"Stripe-Signature": {"t=1700000000,v0=abc"}},
			"bad encoding Stripe-Signature: want t=<Unix seconds>,v1=<hex>"},
		{"stripe bad t", SchemeStripe, "s", http.Header{"Stripe-Signature": {"t=soon,v1=00"}},
			"bad encoding Stripe-Signature: want t=<Unix seconds>,v1=<hex>"},
		{"zendesk not base64", SchemeZendesk, "s", http.Header{"X-Zendesk-Webhook-Signature": {"%%"}, "X-Zendesk-Webhook-Signature-Timestamp": {"2023-11-14T22:13:20Z"}},
			"bad encoding X-Zendesk-Webhook-Signature: want base64"},
		{"zendesk unix timestamp", SchemeZendesk, "s", http.Header{"X-Zendesk-Webhook-Signature": {"AAAA"}, "X-Zendesk-Webhook-Signature-Timestamp": {"1700000000"}},
			`bad encoding X-Zendesk-Webhook-Signature-Timestamp: want RFC 3339 such as 2006-01-02T15:04:05Z, got "1700000000"`},
		{"zendesk long timestamp quoted short", SchemeZendesk, "s", http.Header{"X-Zendesk-Webhook-Signature": {"AAAA"}, "X-Zendesk-Webhook-Signature-Timestamp": {strings.Repeat("é", 30)}},
			`bad encoding X-Zendesk-Webhook-Signature-Timestamp: want RFC 3339 such as 2006-01-02T15:04:05Z, got "` + strings.Repeat("é", 20) + `…"`},
		{"standard webhooks bad secret", SchemeStandardWebhooks, "whsec_%%%", http.Header{"Webhook-Id": {"m"}, "Webhook-Timestamp": {"1700000000"}, "Webhook-Signature": {"v1,AAAA"}},
			"bad encoding of the secret: want whsec_ and base64"},
		{"standard webhooks bad timestamp", SchemeStandardWebhooks, "whsec_AAAA", http.Header{"Webhook-Id": {"m"}, "Webhook-Timestamp": {"2023-11-14T22:13:20Z"}, "Webhook-Signature": {"v1,AAAA"}},
			`bad encoding webhook-timestamp: want Unix seconds, got "2023-11-14T22:13:20Z"`},
		{"standard webhooks no v1", SchemeStandardWebhooks, "whsec_AAAA", http.Header{"Webhook-Id": {"m"}, "Webhook-Timestamp": {"1700000000"}, "Webhook-Signature": {"v2,AAAA"}},
			"bad encoding webhook-signature: want v1,<base64> entries separated by spaces"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ok, reason := VerifySignature(tt.scheme, tt.secret, tt.header, []byte("{}"), now, 0)
			if ok || reason != tt.want || !strings.HasPrefix(reason, ReasonBadEncoding+" ") {
				t.Errorf("got %v, %q; want %q", ok, reason, tt.want)
			}
		})
	}
	if ok, reason := VerifySignature("acme", "s", http.Header{}, nil, now, 0); ok || !strings.Contains(reason, "unknown scheme") {
		t.Errorf("unknown scheme: got %v, %q", ok, reason)
	}
}

func TestSignRotation(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	body := []byte("{}")
	for _, scheme := range []string{SchemeStandardWebhooks, SchemeStripe} {
		t.Run(scheme, func(t *testing.T) {
			t.Parallel()
			old, cur := "whsec_b2xkLXNlY3JldA==", "whsec_bmV3LXNlY3JldA=="
			h, err := Sign(scheme, []string{cur, old}, "msg_2", now, body)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{cur, old} {
				if ok, reason := VerifySignature(scheme, s, h, body, now, 0); !ok {
					t.Errorf("secret %s: %s", s, reason)
				}
			}
		})
	}
	if _, err := Sign(SchemeGitHub, nil, "", now, body); err == nil {
		t.Error("Sign without a secret: want an error")
	}
	if _, err := Sign("acme", []string{"s"}, "", now, body); err == nil {
		t.Error("Sign with an unknown scheme: want an error")
	}
}

func TestVerifyCheckTimestampHeader(t *testing.T) {
	t.Parallel()
	now := time.Unix(1700000000, 0)
	body := []byte("{}")
	h, err := Sign(SchemeSlack, []string{"s"}, "", now, body)
	if err != nil {
		t.Fatal(err)
	}
	h.Set("X-Custom-Ts", h.Get("X-Slack-Request-Timestamp"))
	h.Del("X-Slack-Request-Timestamp")
	v := &Verify{Scheme: SchemeSlack, Secret: "s", Tolerance: time.Minute, TimestampHeader: "X-Custom-Ts"}
	if ok, reason := v.Check(h, body, now); !ok {
		t.Fatalf("Check with timestamp_header: %s", reason)
	}
	if h.Get("X-Slack-Request-Timestamp") != "" {
		t.Error("Check changed the caller's header")
	}
}
