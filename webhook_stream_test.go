package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// webhookEvents reads the live stream's webhook messages ("webhook" and
// "webhook_deleted"), skipping the others.
type webhookEvents struct {
	c *websocket.Conn
}

func dialWebhookEvents(t testing.TB, s *server) *webhookEvents {
	t.Helper()
	u := "ws" + strings.TrimPrefix(s.UI, "http") + "api/stream"
	c, resp, err := websocket.DefaultDialer.Dial(u, nil)
	if err != nil {
		t.Fatalf("dial the stream: %v (%v)", err, resp)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, b, err := c.ReadMessage(); err != nil || !strings.Contains(string(b), `"hello"`) {
		t.Fatalf("first message %s (%v), want hello", b, err)
	}
	return &webhookEvents{c: c}
}

// webhookMsg is one webhook message: its type, its webhook (or the id of
// one deleted) and the message as sent.
type webhookMsg struct {
	Type    string         `json:"type"`
	Webhook map[string]any `json:"webhook"`
	ID      string         `json:"id"`
	raw     string
}

// next returns the next webhook message of webhook id, failing after d.
func (e *webhookEvents) next(t testing.TB, d time.Duration, id string) webhookMsg {
	t.Helper()
	_ = e.c.SetReadDeadline(time.Now().Add(d))
	for {
		_, b, err := e.c.ReadMessage()
		if err != nil {
			t.Fatalf("waiting for a webhook message of %s: %v", id, err)
		}
		var m webhookMsg
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("stream message %s: %v", b, err)
		}
		m.raw = string(b)
		switch {
		case m.Type == "webhook" && m.Webhook["id"] == id, m.Type == "webhook_deleted" && m.ID == id:
			return m
		case m.Type == "webhook" && m.Webhook == nil, m.Type == "webhook_deleted" && m.ID == "":
			t.Fatalf("malformed webhook message %s", b)
		}
	}
}

// listed returns webhook id as GET /api/webhooks lists it, nil when it
// is not listed.
func (s *server) listedWebhook(t testing.TB, id string) map[string]any {
	t.Helper()
	var list struct {
		Webhooks []map[string]any `json:"webhooks"`
	}
	s.getJSON(t, "/api/webhooks", &list)
	for _, w := range list.Webhooks {
		if w["id"] == id {
			return w
		}
	}
	return nil
}

// TestStreamWebhookChanges: the live stream says when a webhook is made,
// patched, has its signing secret rotated, is deleted, changes or goes
// with a config reload, and when its circuit opens and its cool-down ends
// (half_open) with nothing else happening: each "webhook" message holds
// the webhook exactly as GET /api/webhooks lists it, secrets redacted. The
// stream said nothing of webhooks, so a page showing them went stale.
func TestStreamWebhookChanges(t *testing.T) {
	t.Parallel()
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusInternalServerError) }))
	defer failing.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "hooklab.yaml")
	cfgHook := func(name string) string {
		return `webhooks:
  - id: cfg
    name: ` + name + `
    endpoint: ` + failing.URL + `/cfg?api_key=cfg-query-secret
    authentication: {type: bearer_token, token: cfg-token-secret}
    signing: {scheme: zendesk, secret: cfg-signing-secret}
`
	}
	write := func(content string) {
		t.Helper()
		if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(cfgHook("Before"))
	s := startServer(t, "--memory", "--config", file)
	events := dialWebhookEvents(t, s)
	secrets := []string{"cfg-query-secret", "cfg-token-secret", "cfg-signing-secret", "api-query-secret", "api-token-secret", "api-header-secret", "api-signing-secret"}
	// check checks that m is a "webhook" message holding the webhook as
	// the list shows it now, and no secret.
	check := func(what string, m webhookMsg) {
		t.Helper()
		for _, sec := range secrets {
			if strings.Contains(m.raw, sec) {
				t.Errorf("%s: the stream message holds the secret %q: %s", what, sec, m.raw)
			}
		}
		if m.Type != "webhook" {
			t.Fatalf("%s: message %s, want a webhook message", what, m.raw)
		}
		id, _ := m.Webhook["id"].(string)
		if listed := s.listedWebhook(t, id); !reflect.DeepEqual(m.Webhook, listed) {
			t.Errorf("%s: the message's webhook\n%v\nis not as GET /api/webhooks lists it:\n%v", what, m.Webhook, listed)
		}
	}

	// Made through the API.
	s.mustPost(t, "/api/webhooks", `{"id": "api", "name": "Made", "endpoint": "`+failing.URL+`/api?api_key=api-query-secret",
		"authentication": {"type": "bearer_token", "token": "api-token-secret"}, "custom_headers": {"X-Api-Key": "api-header-secret"},
		"signing": {"scheme": "zendesk", "secret": "api-signing-secret"}}`, http.StatusCreated)
	m := events.next(t, 10*time.Second, "api")
	check("create", m)
	if m.Webhook["name"] != "Made" || m.Webhook["circuit"] != "closed" {
		t.Errorf("create: %s", m.raw)
	}

	// Patched.
	if resp, b := s.api(t, http.MethodPatch, "/api/webhooks/api", strings.NewReader(`{"name": "Patched"}`)); resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH: %d %s", resp.StatusCode, b)
	}
	m = events.next(t, 10*time.Second, "api")
	check("patch", m)
	if m.Webhook["name"] != "Patched" {
		t.Errorf("patch: %s", m.raw)
	}
	patched := m.Webhook["updated_at"]

	// Its signing secret rotated: the new secret is not in the message.
	var rotated struct {
		SigningSecret struct{ Secret string } `json:"signing_secret"`
	}
	if err := json.Unmarshal(s.mustPost(t, "/api/webhooks/api/signing_secret", "", http.StatusOK), &rotated); err != nil || rotated.SigningSecret.Secret == "" {
		t.Fatalf("rotate: %v %+v", err, rotated)
	}
	secrets = append(secrets, rotated.SigningSecret.Secret)
	m = events.next(t, 10*time.Second, "api")
	check("rotate", m)
	if m.Webhook["updated_at"] == patched {
		t.Errorf("rotate: updated_at is still %v: %s", patched, m.raw)
	}

	// Deleted.
	if resp, b := s.api(t, http.MethodDelete, "/api/webhooks/api", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, b)
	}
	if m = events.next(t, 10*time.Second, "api"); m.Type != "webhook_deleted" || m.raw != `{"id":"api","type":"webhook_deleted"}` {
		t.Errorf("delete: %s", m.raw)
	}

	// Changed by a config reload, then dropped by one.
	write(cfgHook("After"))
	m = events.next(t, 10*time.Second, "cfg")
	check("reload", m)
	if m.Webhook["name"] != "After" || m.Webhook["source"] != "config" {
		t.Errorf("reload: %s", m.raw)
	}
	write("webhooks: []\n")
	if m = events.next(t, 10*time.Second, "cfg"); m.Type != "webhook_deleted" {
		t.Errorf("reload without it: %s", m.raw)
	}

	// Its circuit opens at the first failure, and reads half_open once the
	// cool-down is over: told then, though nothing else happens.
	s.mustPost(t, "/api/webhooks", `{"id": "flaky", "endpoint": "`+failing.URL+`/flaky", "subscriptions": ["test.*"], "signing": {"scheme": "none"},
		"circuit_breaker": {"min_attempts": 1, "failure_rate": 1, "cooldown": "1s"}}`, http.StatusCreated)
	if m = events.next(t, 10*time.Second, "flaky"); m.Webhook["circuit"] != "closed" {
		t.Fatalf("flaky made: %s", m.raw)
	}
	s.mustPost(t, "/api/events", `{"type": "test.fail"}`, http.StatusAccepted)
	m = events.next(t, 10*time.Second, "flaky")
	check("circuit open", m)
	until, err := time.Parse(time.RFC3339Nano, fmt.Sprint(m.Webhook["circuit_until"]))
	if m.Webhook["circuit"] != "open" || err != nil {
		t.Fatalf("circuit open: %s (%v)", m.raw, err)
	}
	m = events.next(t, 10*time.Second, "flaky")
	if got := time.Now(); got.Before(until) {
		t.Errorf("half_open told at %s, before the cool-down's end %s", got.Format(time.RFC3339Nano), until.Format(time.RFC3339Nano))
	}
	check("cool-down over", m)
	if _, ok := m.Webhook["circuit_until"]; m.Webhook["circuit"] != "half_open" || ok {
		t.Errorf("cool-down over: %s, want half_open without circuit_until", m.raw)
	}
}

// TestTailIgnoresWebhookMessages: tail prints exchanges, and nothing of
// the stream's webhook messages.
func TestTailIgnoresWebhookMessages(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	out, errOut := startTail(t, s.UI, "--json")
	events := dialWebhookEvents(t, s)
	s.mustPost(t, "/api/webhooks", `{"id": "tailed", "endpoint": "http://127.0.0.1:1/never", "status": "inactive"}`, http.StatusCreated)
	// Read on this stream, so tail's (opened before) had it too.
	if m := events.next(t, 10*time.Second, "tailed"); m.Type != "webhook" {
		t.Fatalf("message %s", m.raw)
	}
	if resp, b := s.api(t, http.MethodDelete, "/api/webhooks/tailed", nil); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, b)
	}
	if m := events.next(t, 10*time.Second, "tailed"); m.Type != "webhook_deleted" {
		t.Fatalf("message %s", m.raw)
	}
	id := s.send(t, "POST", "/b/tailed/x", "application/json", []byte(`{}`)).ID
	waitFor(t, func() bool { return strings.Contains(out.String(), id) }, "tail to print the exchange")
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 1 {
		t.Errorf("tail printed %d lines, want the exchange alone:\n%s", len(lines), out.String())
	}
	for _, l := range lines {
		var sm map[string]any
		if err := json.Unmarshal([]byte(l), &sm); err != nil || sm["type"] != nil || sm["id"] != id {
			t.Errorf("tail printed %q, not the exchange %s", l, id)
		}
	}
	if strings.Contains(errOut.String(), "skipped") {
		t.Errorf("tail said: %s", errOut.String())
	}
}
