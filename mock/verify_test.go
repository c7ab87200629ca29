package mock_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/mock"
	"github.com/hooklab/hooklab/rules"
)

// secrets are the signing secrets of the verify tests, by scheme.
var secrets = map[string]string{
	rules.SchemeZendesk:          exampleSecret, // the example's ${ZENDESK_SECRET}
	rules.SchemeStandardWebhooks: "whsec_" + base64.StdEncoding.EncodeToString([]byte("standard webhooks key")),
	rules.SchemeGitHub:           "It's a Secret to Everybody",
	rules.SchemeStripe:           "whsec_stripe_test",
	rules.SchemeSlack:            "8f742231b10e8888abcd99yyyzzz85a5",
	rules.SchemeShopify:          "shopify-secret",
}

// timestamped are the schemes that sign a timestamp.
var timestamped = map[string]bool{
	rules.SchemeZendesk: true, rules.SchemeStandardWebhooks: true, rules.SchemeStripe: true, rules.SchemeSlack: true,
}

// verifyConfig is the example config plus, for each scheme, a verify rule
// on /sig/{scheme}/** and a rejecting one on /rej/{scheme}/**, and a mock
// answering everything.
func verifyConfig(t *testing.T) *rules.Config {
	t.Helper()
	var b strings.Builder
	b.WriteString("mocks:\n  - name: catch-all\n    respond: {status: 200, body: mocked}\nverify:\n")
	for _, s := range rules.Schemes() {
		for _, kind := range []string{"sig", "rej"} {
			fmt.Fprintf(&b, "  - name: %s-%s\n    match: {path: \"/%s/%s/**\"}\n    scheme: %s\n    secret: %q\n    reject: %v\n",
				kind, s, kind, s, s, secrets[s], kind == "rej")
		}
	}
	extra := parseConfig(t, "verify.yaml", b.String())
	cfg := loadExample(t)
	// The example's zendesk rule comes first; catch-all answers last.
	cfg.Verify = append(cfg.Verify, extra.Verify...)
	cfg.Mocks = append(cfg.Mocks, extra.Mocks...)
	return cfg
}

// TestVerify signs requests with rules.Sign for every scheme and checks the
// recorded verdict, and that reject: true refuses only invalid ones.
func TestVerify(t *testing.T) {
	t.Parallel()
	clk := newClock()
	h := newHarness(t, verifyConfig(t), clk.Now)
	body := []byte(`{"event":"ping","n":1}`)

	type variant struct {
		name   string
		ts     time.Time
		body   []byte // sent instead of the signed body when set
		strip  bool   // send no signature headers
		reason string // "" for valid; a prefix of the reason otherwise
	}
	for _, scheme := range rules.Schemes() {
		variants := []variant{
			{name: "valid", ts: clk.Now()},
			{name: "valid within tolerance", ts: clk.Now().Add(-4 * time.Minute)},
			{name: "tampered", ts: clk.Now(), body: []byte(`{"event":"ping","n":2}`), reason: "signature mismatch"},
			{name: "missing header", ts: clk.Now(), strip: true, reason: "missing header "},
		}
		if timestamped[scheme] {
			variants = append(variants,
				variant{name: "stale", ts: clk.Now().Add(-10 * time.Minute), reason: "stale timestamp"},
				variant{name: "from the future", ts: clk.Now().Add(10 * time.Minute), reason: "timestamp in the future"})
		}
		for _, v := range variants {
			for _, reject := range []bool{false, true} {
				name := scheme + "/" + v.name
				if reject {
					name += "/reject"
				}
				t.Run(name, func(t *testing.T) {
					t.Parallel()
					hdr, err := rules.Sign(scheme, []string{secrets[scheme]}, "msg_1", v.ts, body)
					if err != nil {
						t.Fatal(err)
					}
					if v.strip {
						hdr = http.Header{}
					}
					hdr.Set("Content-Type", "application/json")
					sent := body
					if v.body != nil {
						sent = v.body
					}
					bin := strings.NewReplacer("/", "-", " ", "-").Replace(name)
					rule, path := "sig-"+scheme, "/b/"+bin+"/sig/"+scheme+"/hook"
					switch {
					case reject:
						rule, path = "rej-"+scheme, "/b/"+bin+"/rej/"+scheme+"/hook"
					case scheme == rules.SchemeZendesk:
						rule, path = "zendesk", "/b/"+bin+"/zendesk/tickets/1"
					}
					a := h.do(t, http.MethodPost, path, hdr, sent)
					ex := h.last(t, bin)
					sig := ex.Signature
					if sig == nil {
						t.Fatalf("no signature verdict recorded")
					}
					if sig.Rule != rule || sig.Scheme != scheme {
						t.Errorf("verdict from rule %q scheme %q, want %q %q", sig.Rule, sig.Scheme, rule, scheme)
					}
					if v.reason == "" {
						if sig.Verdict != "valid" || sig.Reason != "" {
							t.Errorf("verdict %q (%s), want valid", sig.Verdict, sig.Reason)
						}
					} else if sig.Verdict != "invalid" || !strings.HasPrefix(sig.Reason, v.reason) {
						t.Errorf("verdict %q (%q), want invalid (%s...)", sig.Verdict, sig.Reason, v.reason)
					}
					sentAsRecorded(t, ex, a)

					if v.reason == "" || !reject {
						// On to the mocks.
						if a.Status != 200 || string(a.Body) != "mocked" || ex.Rule != "catch-all" {
							t.Errorf("answer %d %q from rule %q, want the catch-all mock", a.Status, a.Body, ex.Rule)
						}
						return
					}
					var got struct{ Error, Rule, Scheme string }
					if a.Status != http.StatusUnauthorized || json.Unmarshal(a.Body, &got) != nil {
						t.Fatalf("answer %d %s, want 401 JSON", a.Status, a.Body)
					}
					if got.Rule != rule || got.Scheme != scheme || !strings.Contains(got.Error, v.reason) {
						t.Errorf("401 body %s does not name rule %s, scheme and reason %q", a.Body, rule, v.reason)
					}
					if ex.Rule != rule {
						t.Errorf("refused exchange rule %q, want %q", ex.Rule, rule)
					}
				})
			}
		}
	}

	t.Run("no verify rule matches", func(t *testing.T) {
		h.post(t, "/b/unsigned/other", `{}`)
		if ex := h.last(t, "unsigned"); ex.Signature != nil {
			t.Errorf("verdict %+v for a path no verify rule matches", ex.Signature)
		}
	})
}

// TestVerifyTruncatedBody: a body cut by MaxBody cannot be verified, and the
// verdict says why instead of blaming the signature alone.
func TestVerifyTruncatedBody(t *testing.T) {
	t.Parallel()
	store, err := inspect.OpenSQLite("", inspect.Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	cfg := parseConfig(t, "gh.yaml", "verify:\n  - {name: gh, scheme: github, secret: s3cret}\n")
	srv := httptest.NewServer(mock.New(mock.Config{Store: store, MaxBody: 16, Engine: mock.NewEngine(cfg, nil)}))
	t.Cleanup(srv.Close)
	h := &harness{URL: srv.URL, Store: store}
	for _, tc := range []struct {
		name      string
		body      string
		wantValid bool
		truncated bool
	}{
		{"fits", "small body", true, false},
		{"cut", strings.Repeat("large body ", 10), false, true},
	} {
		hdr, err := rules.Sign(rules.SchemeGitHub, []string{"s3cret"}, "", time.Now(), []byte(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		bin := "trunc-" + tc.name
		h.do(t, http.MethodPost, "/b/"+bin+"/x", hdr, []byte(tc.body))
		ex := h.last(t, bin)
		if ex.Request.Truncated != tc.truncated || ex.Signature == nil {
			t.Fatalf("%s: truncated %v signature %+v", tc.name, ex.Request.Truncated, ex.Signature)
		}
		if got := ex.Signature.Verdict == "valid"; got != tc.wantValid {
			t.Errorf("%s: verdict %+v", tc.name, ex.Signature)
		}
		if tc.truncated && !strings.Contains(ex.Signature.Reason, "max_body") {
			t.Errorf("%s: reason %q does not say the body was cut", tc.name, ex.Signature.Reason)
		}
	}
}

// TestVerifySvixHeaders: Svix sends Standard Webhooks under svix-id,
// svix-timestamp and svix-signature, which its own receiver library reads
// (before the webhook-* names). A standard-webhooks rule accepts them, and
// still refuses such a request tampered with.
func TestVerifySvixHeaders(t *testing.T) {
	t.Parallel()
	cfg := parseConfig(t, "svix.yaml", "verify:\n  - {name: svix, scheme: standard-webhooks, secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, reject: true}\n")
	h := newHarness(t, cfg, func() time.Time { return time.Unix(1700000000+30, 0) })
	// Signed with svix 1.99.1 (npm): new Webhook(secret).sign(id,
	// new Date(1700000000000), body).
	body := `{"type":"user.created","data":{"name":"Zoë \"Z\" 😀"}}`
	hdr := http.Header{
		"Svix-Id":        {"msg_2KWPBgLlAfxdpx2AI54pPJ85f4W"},
		"Svix-Timestamp": {"1700000000"},
		"Svix-Signature": {"v1,nlbklMRxoL1ISLRTEPpomJEWbCDeaAmn32hg2ns8fLg="},
		"Content-Type":   {"application/json"},
	}
	signedAndTampered(t, h, "svix", hdr, body)
}

// TestVerifyShopifyEventsHeader: Shopify's event webhooks carry the
// signature in Shopify-Hmac-Sha256 (no X-), which its library reads before
// X-Shopify-Hmac-Sha256. A shopify rule accepts it, and still refuses such a
// request tampered with.
func TestVerifyShopifyEventsHeader(t *testing.T) {
	t.Parallel()
	cfg := parseConfig(t, "shopify.yaml", "verify:\n  - {name: shop, scheme: shopify, secret: hush, reject: true}\n")
	h := newHarness(t, cfg, time.Now)
	// Base64 HMAC-SHA256 of the body, as Shopify documents it; accepted by
	// shopify.webhooks.validate of @shopify/shopify-api 13.1.0.
	body := `{"id":820982911946154508,"email":"jon@example.com","note":"Zoë \"Z\" 😀"}`
	hdr := http.Header{
		"Shopify-Hmac-Sha256": {"Oci/0fV66MCoJJn9lG3ZZ97/iuDFMQ1OkOK968qTs3Q="},
		"Shopify-Topic":       {"orders/create"},
		"Content-Type":        {"application/json"},
	}
	signedAndTampered(t, h, "shopify", hdr, body)
}

// signedAndTampered sends body with hdr into a bin of its own and expects
// it let through, its signature valid; then, one letter changed (Zoë to
// Zoe), refused with a mismatch (the rule has reject: true).
func signedAndTampered(t *testing.T, h *harness, prefix string, hdr http.Header, body string) {
	t.Helper()
	for _, tc := range []struct {
		name, body string
		status     int
		reason     string
	}{
		{"as signed", body, http.StatusOK, ""},
		{"tampered", strings.Replace(body, "Zoë", "Zoe", 1), http.StatusUnauthorized, rules.ReasonMismatch},
	} {
		bin := prefix + "-" + strings.ReplaceAll(tc.name, " ", "-")
		a := h.do(t, http.MethodPost, "/b/"+bin+"/hook", hdr, []byte(tc.body))
		ex := h.last(t, bin)
		if a.Status != tc.status || ex.Signature == nil || ex.Signature.Reason != tc.reason {
			t.Errorf("%s: answer %d %s, verdict %+v; want %d and reason %q", tc.name, a.Status, a.Body, ex.Signature, tc.status, tc.reason)
		}
	}
}
