package emit

import (
	"strings"
	"testing"
	"time"
)

// TestCustomHeaderRules is the header validation table: the exact message
// for each refused name or value, "" for accepted ones.
func TestCustomHeaderRules(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, value, want string
	}{
		{"X-Team", "support", ""},
		{"x-custom_1!#$%&'*+-.^`|~", "v", ""},
		{"X-Value", strings.Repeat("v", 1000), ""},
		{"X-Printable", " !~ all printable ~! ", ""},
		{"", "v", "header name is empty"},
		{strings.Repeat("a", 129), "v", "header name is 129 characters long; the limit is 128"},
		{strings.Repeat("a", 128), "v", ""},
		{"X Team", "v", `header name has ' ' at position 2; allowed are letters, digits and ! # $ % & ' * + - . ^ _ ` + "`" + ` | ~`},
		{"X-Tëam", "v", `header name has 'ë' at position 4; allowed are letters, digits and ! # $ % & ' * + - . ^ _ ` + "`" + ` | ~`},
		{"X:Team", "v", `header name has ':' at position 2; allowed are letters, digits and ! # $ % & ' * + - . ^ _ ` + "`" + ` | ~`},
		{"X-Value", strings.Repeat("v", 1001), "value is 1001 characters long; the limit is 1000"},
		{"X-Value", "a\nb", "value has a character outside printable ASCII (0x20-0x7E) at position 2"},
		{"X-Value", "tab\there", "value has a character outside printable ASCII (0x20-0x7E) at position 4"},
		{"X-Value", "caf\u00e9", "value has a character outside printable ASCII (0x20-0x7E) at position 4"},
		{"X-Value", "del\x7f", "value has a character outside printable ASCII (0x20-0x7E) at position 4"},
		{"Content-Type", "text/plain", "Content-Type cannot be a custom header: hooklab or the HTTP client sets it"},
		{"HOST", "x", "HOST cannot be a custom header: hooklab or the HTTP client sets it"},
		{"Zendesk-Ep", "x", "Zendesk-Ep cannot be a custom header: hooklab or the HTTP client sets it"},
		{"X-Forwarded-For", "1.2.3.4", "header names starting with x-forwarded are reserved"},
		{"x-zendesk-anything", "x", "header names starting with x-zendesk are reserved"},
		{"X-Hooklab-Attempt", "1", "header names starting with x-hooklab are reserved"},
		{"Access-Control-Allow-Origin", "*", "header names starting with access-control are reserved"},
		{"X-Amzn-Trace-Id", "x", "header names starting with x-amzn are reserved"},
		{"X-Apigw-Id", "x", "header names starting with x-apigw are reserved"},
		{"X-Datadog-Trace", "x", "header names starting with x-datadog are reserved"},
		{"X-Envoy-Retry", "x", "header names starting with x-envoy are reserved"},
		{"X-Amz", "x", ""},
	}
	for _, name := range refusedHeaders {
		tests = append(tests, struct{ name, value, want string }{name, "x", name + " cannot be a custom header: hooklab or the HTTP client sets it"})
	}
	for _, tt := range tests {
		if got := checkCustomHeader(tt.name, tt.value); got != tt.want {
			t.Errorf("checkCustomHeader(%q, %.20q) = %q, want %q", tt.name, tt.value, got, tt.want)
		}
	}
}

// TestValidateWebhook checks whole definitions: each problem names its
// field.
func TestValidateWebhook(t *testing.T) {
	t.Parallel()
	ok := func() Webhook {
		return Webhook{ID: "ok", Endpoint: "https://example.com/hook"}
	}
	tests := []struct {
		name  string
		edit  func(*Webhook)
		field string
		msg   string
		warn  string
	}{
		{"valid", func(*Webhook) {}, "", "", ""},
		{"duplicate names", func(w *Webhook) { w.CustomHeaders = map[string]string{"X-A": "1", "x-a": "2"} },
			"custom_headers.x-a", "duplicate header: X-A and x-a are the same name", ""},
		{"too many", func(w *Webhook) {
			w.CustomHeaders = map[string]string{"A": "1", "B": "1", "C": "1", "D": "1", "E": "1", "F": "1"}
		}, "custom_headers", "at most 5 custom headers are allowed, got 6", ""},
		{"five is fine", func(w *Webhook) {
			w.CustomHeaders = map[string]string{"A": "1", "B": "1", "C": "1", "D": "1", "E": "1"}
		}, "", "", ""},
		{"plain http warns", func(w *Webhook) { w.Endpoint = "http://example.com"; w.CustomHeaders = map[string]string{"A": "1"} },
			"", "", "custom_headers: custom headers are sent in the clear to a plain-HTTP endpoint; use https"},
		{"plain http strict", func(w *Webhook) {
			w.Endpoint, w.Strict, w.CustomHeaders = "http://example.com", true, map[string]string{"A": "1"}
		}, "custom_headers", "custom headers are sent in the clear to a plain-HTTP endpoint; use https", ""},
		{"plain http with credentials warns", func(w *Webhook) {
			w.Endpoint, w.Authentication = "http://example.com", &Auth{Type: AuthBasic, Username: "u", Password: "p"}
		}, "", "", "authentication: basic_auth credentials are sent in the clear to a plain-HTTP endpoint; use https"},
		{"plain http with an unknown authentication: its error alone", func(w *Webhook) {
			// The type may be a ${VAR}'s value: no warning quotes it.
			w.Endpoint, w.Authentication = "http://example.com", &Auth{Type: "sk_secret_type", Token: "t"}
		}, "authentication.type", `authentication type must be api_key, basic_auth or bearer_token, got "sk_secret_type"`, "-"},
		{"plain http with credentials strict", func(w *Webhook) {
			w.Endpoint, w.Strict, w.Authentication = "http://example.com", true, &Auth{Type: AuthBearer, Token: "t"}
		}, "authentication", "bearer_token credentials are sent in the clear to a plain-HTTP endpoint; use https", ""},
		{"authorization with auth", func(w *Webhook) {
			w.Authentication = &Auth{Type: AuthBearer, Token: "t"}
			w.CustomHeaders = map[string]string{"Authorization": "x"}
		}, "custom_headers.Authorization", "Authorization is set by the authentication", ""},
		{"api key header reserved", func(w *Webhook) { w.Authentication = &Auth{Type: AuthAPIKey, Name: "X-Zendesk-Key", Value: "v"} },
			"authentication.name", "header names starting with x-zendesk are reserved", ""},
		{"api key without value", func(w *Webhook) { w.Authentication = &Auth{Type: AuthAPIKey, Name: "X-Key"} },
			"authentication.value", "value is required for api_key", ""},
		{"basic without password", func(w *Webhook) { w.Authentication = &Auth{Type: AuthBasic, Username: "u"} },
			"authentication.password", "password is required for basic_auth", ""},
		{"unknown auth", func(w *Webhook) { w.Authentication = &Auth{Type: "oauth"} },
			"authentication.type", `authentication type must be api_key, basic_auth or bearer_token, got "oauth"`, ""},
		{"bad id", func(w *Webhook) { w.ID = "a b" }, "id", `id "a b" has ' ' at position 2 (allowed: A-Z a-z 0-9 _ -)`, ""},
		{"relative endpoint", func(w *Webhook) { w.Endpoint = "/hooks" }, "endpoint", `endpoint must be an absolute URL such as https://example.com/hooks, got "/hooks"`, ""},
		{"credentials in endpoint", func(w *Webhook) { w.Endpoint = "https://u:p@example.com" }, "endpoint", "endpoint must not hold credentials; use authentication", ""},
		{"bad format", func(w *Webhook) { w.Format = "yaml" }, "format", `format must be json, xml or form_encoded, got "yaml"`, ""},
		{"bad status", func(w *Webhook) { w.Status = "paused" }, "status", `status must be active or inactive, got "paused"`, ""},
		{"no secret", func(w *Webhook) { w.Signing = &Signing{Scheme: "github"} }, "signing.secret", "secret is required for github signing", ""},
		{"bad whsec", func(w *Webhook) { w.Signing = &Signing{Scheme: "standard-webhooks", Secret: "whsec_%%"} },
			"signing.secret", "standard-webhooks secret must be base64, optionally after whsec_", ""},
		{"subscriptions need POST json", func(w *Webhook) { w.Method, w.Subscriptions = "PUT", []string{"a.*"} },
			"subscriptions", "webhooks connected to event subscriptions are always POST with json format", ""},
		{"timeout too long", func(w *Webhook) { w.Timeout = Duration(time.Hour) }, "timeout", "timeout must be between 1ms and 5m, got 1h0m0s", ""},
		{"zero rate", func(w *Webhook) { w.RateLimit = &RateLimit{Limit: 0, Window: Duration(time.Minute)} }, "rate_limit", "rate limit must allow at least 1 delivery, got 0", ""},
		{"breaker rate", func(w *Webhook) { w.Breaker = &Breaker{FailureRate: 2} }, "circuit_breaker.failure_rate", "failure_rate must be between 0 and 1, got 2", ""},
		{"retry status", func(w *Webhook) { w.Retry = &Retry{Statuses: []int{999}} }, "retry.statuses.0", "status must be between 100 and 599, got 999", ""},
		{"schedule without waits", func(w *Webhook) { w.Retry = &Retry{Backoff: BackoffSchedule} }, "retry.schedule", "backoff schedule needs a schedule of waits, such as [5s, 5m, 30m]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w := ok()
			tt.edit(&w)
			w.normalize()
			errs, warns := w.validate()
			if tt.field == "" && tt.msg == "" {
				if len(errs) > 0 {
					t.Fatalf("errors %v, want none", errs)
				}
			} else if len(errs) != 1 || errs[0].Field != tt.field || errs[0].Msg != tt.msg {
				t.Fatalf("errors = %+v, want one %s: %s", errs, tt.field, tt.msg)
			}
			if tt.warn == "-" && len(warns) > 0 {
				t.Errorf("warnings = %v, want none", warns)
			}
			if tt.warn != "" && tt.warn != "-" && (len(warns) != 1 || warns[0].Error() != tt.warn) {
				t.Errorf("warnings = %v, want %q", warns, tt.warn)
			}
		})
	}
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]RateLimit{
		"60/min": {60, Duration(time.Minute)}, "10/s": {10, Duration(time.Second)}, "1000/hour": {1000, Duration(time.Hour)},
		"5/10s": {5, Duration(10 * time.Second)}, " 3 / sec ": {3, Duration(time.Second)},
	} {
		if got, err := parseRate(s); err != nil || got != want {
			t.Errorf("parseRate(%q) = %v, %v; want %v", s, got, err, want)
		}
	}
	for _, s := range []string{"60", "x/min", "60/fortnight"} {
		if _, err := parseRate(s); err == nil {
			t.Errorf("parseRate(%q) = nil error", s)
		}
	}
}
