package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hooklab/hooklab/rules"
)

// TestZendeskStyleWebhookEndToEnd runs the README's example: a trigger with
// {{ticket.id}} placeholders, basic auth, a custom header and zendesk
// signing, fired with `hooklab send`, delivered to a receiver that checks
// the signature, and visible in the activity log and the live record.
func TestZendeskStyleWebhookEndToEnd(t *testing.T) {
	t.Parallel()
	type delivery struct {
		header http.Header
		body   []byte
	}
	got := make(chan delivery, 10)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), b}
		w.WriteHeader(http.StatusOK)
	}))
	defer sink.Close()

	cfg := `webhooks:
  - id: support-bot
    name: Support bot
    endpoint: ` + sink.URL + `/hooks/zendesk
    method: POST
    format: json
    authentication: {type: basic_auth, username: bot, password: ${BOT_PASSWORD}}
    custom_headers: {X-Team: support}
    signing: {scheme: zendesk, secret: ${SIGNING_SECRET}}
triggers:
  - name: urgent-ticket
    when:
      event: ticket.created
      all:
        - {path: ticket.priority, op: eq, value: urgent}
    notify:
      webhook: support-bot
      payload: '{"id": "{{ticket.id}}", "subject": "{{ticket.subject}}", "requester": "{{ticket.requester.email}}"}'
`
	path := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"BOT_PASSWORD": "hunter2", "SIGNING_SECRET": "zd-secret"}
	s := startServerEnv(t, env, "--memory", "--config", path)

	data := `{"ticket":{"id":42,"priority":"urgent","subject":"Printer \"on fire\"\nsend help","requester":{"email":"ann@example.com"}}}`
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"send", "ticket.created", "--server", s.UI, "--data", data}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("send: %v\n%s", err, errOut.String())
	}
	if !strings.Contains(out.String(), "support-bot") {
		t.Errorf("send's answer does not list the queued invocation:\n%s", out.String())
	}
	// The custom header and the credentials to a plain-HTTP endpoint are
	// warned about, once each.
	for _, w := range []string{"custom headers are sent in the clear", "credentials are sent in the clear"} {
		if n := strings.Count(s.Stderr.String(), w); n != 1 {
			t.Errorf("the plain-HTTP warning %q is logged %d times:\n%s", w, n, s.Stderr.String())
		}
	}
	// A missing file or bad JSON: the error names --data once. Bad JSON
	// is a flag value that is wrong (exit 2, as a bad event type); a file
	// that cannot be read is a failure (exit 1).
	for bad, code := range map[string]int{"@" + filepath.Join(t.TempDir(), "missing.json"): 1, "[1]": 2, "{bad": 2} {
		err := run(context.Background(), []string{"send", "ticket.created", "--server", s.UI, "--data", bad}, func(string) string { return "" }, &out, &errOut)
		if err == nil || strings.Count(err.Error(), "--data") != 1 || exitCode(err) != code {
			t.Errorf("send --data %s: %v (exit %d), want one mention of --data and exit %d", bad, err, exitCode(err), code)
		}
	}
	// Not urgent: the trigger's condition keeps it from firing, and send
	// says nothing was queued. (The type may come after the flags.)
	var quiet syncBuffer
	if err := run(context.Background(), []string{"send", "--server", s.UI, "--data", `{"ticket":{"id":7,"priority":"low"}}`, "ticket.created"}, func(string) string { return "" }, &out, &quiet); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(quiet.String(), "no active webhook is subscribed to ticket.created and no trigger of an active one fired") {
		t.Errorf("send that queued nothing says: %q", quiet.String())
	}

	var d delivery
	select {
	case d = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery reached the receiver")
	}
	var payload map[string]string
	if err := json.Unmarshal(d.body, &payload); err != nil {
		t.Fatalf("payload is not JSON: %v\n%s", err, d.body)
	}
	if payload["id"] != "42" || payload["subject"] != "Printer \"on fire\"\nsend help" || payload["requester"] != "ann@example.com" {
		t.Errorf("payload %v", payload)
	}
	if d.header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("bot:hunter2")) {
		t.Errorf("Authorization %q", d.header.Get("Authorization"))
	}
	if d.header.Get("X-Team") != "support" {
		t.Errorf("X-Team %q", d.header.Get("X-Team"))
	}
	if ok, reason := rules.VerifySignature("zendesk", "zd-secret", d.header, d.body, time.Now(), 0); !ok {
		t.Errorf("the receiver's signature check fails: %s (headers %v)", reason, d.header)
	}
	select {
	case extra := <-got:
		t.Errorf("a second delivery arrived: %s", extra.body)
	case <-time.After(300 * time.Millisecond):
	}

	// The activity log and the live record show the attempt, with the
	// password redacted.
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, b := s.api(t, "GET", "/api/webhooks/support-bot/invocations", nil)
		if strings.Contains(string(b), `"success"`) {
			if strings.Contains(string(b), "hunter2") || strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte("bot:hunter2"))) {
				t.Errorf("the activity log leaks the password: %s", b)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no successful invocation in the activity log: %s", b)
		}
		time.Sleep(20 * time.Millisecond)
	}
	var l listAnswer
	s.getJSON(t, "/api/exchanges?source=emit", &l)
	if len(l.Exchanges) != 1 || l.Exchanges[0].Bin != "support-bot" {
		t.Errorf("emitted exchanges %+v", l.Exchanges)
	}
	_, b := s.api(t, "GET", "/api/exchanges/"+l.Exchanges[0].ID, nil)
	if strings.Contains(string(b), "hunter2") || strings.Contains(string(b), base64.StdEncoding.EncodeToString([]byte("bot:hunter2"))) {
		t.Errorf("the recorded exchange leaks the password: %s", b)
	}

	// The README's `hooklab replay --resign`: the server signs the replayed
	// delivery again, with a fresh timestamp the receiver accepts.
	if err := run(context.Background(), []string{"replay", "--server", s.UI, "--bin", "support-bot", "--target", sink.URL, "--resign"},
		func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("replay --resign: %v\n%s", err, errOut.String())
	}
	select {
	case d = <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("the replay did not reach the receiver")
	}
	if ok, reason := rules.VerifySignature("zendesk", "zd-secret", d.header, d.body, time.Now(), 0); !ok {
		t.Errorf("the replayed delivery's signature: %s", reason)
	}
	// Its credentials too, which the record holds redacted.
	if d.header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("bot:hunter2")) {
		t.Errorf("the replayed delivery's Authorization %q", d.header.Get("Authorization"))
	}
}

// TestShutdownTurnsEveryAnsweredCaptureIntoItsEvent stops a server under
// capture load whose captures notify a webhook: every capture answered
// before the stop is delivered, after the restart if not before, once.
// (The emitter used to close before the store's last commits, whose
// request.captured events were then dropped without a word.)
func TestShutdownTurnsEveryAnsweredCaptureIntoItsEvent(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []string
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, string(b))
		mu.Unlock()
	}))
	defer sink.Close()
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	yaml := "webhooks:\n  - {id: w, endpoint: \"" + sink.URL + "/in\", signing: {scheme: none}}\n" +
		"subscriptions:\n  - {webhook: w, events: [request.captured]}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := startServer(t, "--data", dir, "--config", cfg)
	load := startCaptureLoad(s, "ev")
	waitFor(t, func() bool { return load.count() > 300 }, "some traffic")
	s.Stop(t)
	answered := load.ids()
	startServer(t, "--data", dir, "--config", cfg)
	missing := func() (miss []string, dup []string) {
		mu.Lock()
		defer mu.Unlock()
		seen := map[string]int{}
		for _, b := range bodies {
			var ev struct {
				Detail struct {
					Exchange struct{ ID string }
				}
			}
			if err := json.Unmarshal([]byte(b), &ev); err != nil {
				t.Fatalf("delivery %q: %v", b, err)
			}
			seen[ev.Detail.Exchange.ID]++
		}
		for _, id := range answered {
			switch seen[id] {
			case 0:
				miss = append(miss, id)
			case 1:
			default:
				dup = append(dup, id)
			}
		}
		return miss, dup
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		miss, dup := missing()
		if len(dup) > 0 {
			t.Fatalf("%d captures delivered more than once, e.g. %s", len(dup), dup[0])
		}
		if len(miss) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d answered captures never delivered, e.g. %s", len(miss), len(answered), miss[0])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestWebhookRefusesOwnAPI: a webhook pointed at hooklab's own API (here
// /api/events, with a payload that is the next event: a loop) fails its
// attempt, saying why, instead of driving the API. An endpoint whose host
// says so without a look-up (an IP address, localhost) is refused when the
// config is read (TestConfigOwnAPIEndpoint); this one names the machine by
// a host name that resolves to a loopback address, which only the
// delivery's own check, on the address dialled, can catch.
func TestWebhookRefusesOwnAPI(t *testing.T) {
	t.Parallel()
	host := loopbackName(t)
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(cfg, []byte("webhooks: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg) // the UI's port is known only once it runs
	u, _ := url.Parse(s.UI)
	yaml := "webhooks:\n  - {id: self, endpoint: \"http://" + host + ":" + u.Port() + "/api/events\", signing: {scheme: none}}\n" +
		"triggers:\n  - name: again\n    when: {event: loop.test}\n    notify: {webhook: self, payload: '{\"type\": \"loop.test\", \"data\": {}}'}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	var hooks struct{ Webhooks []struct{ ID string } }
	waitFor(t, func() bool { s.getJSON(t, "/api/webhooks", &hooks); return len(hooks.Webhooks) == 1 }, "the config")
	if r, b := s.api(t, "POST", "/api/events", strings.NewReader(`{"type": "loop.test", "data": {}}`)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("post event: %d %s", r.StatusCode, b)
	}
	var log struct {
		Invocations []struct{ Status, Error string }
	}
	waitFor(t, func() bool {
		s.getJSON(t, "/api/webhooks/self/invocations", &log)
		return len(log.Invocations) == 1 && log.Invocations[0].Status != "pending"
	}, "the attempt")
	time.Sleep(300 * time.Millisecond) // a loop would have made more by now
	s.getJSON(t, "/api/webhooks/self/invocations", &log)
	if len(log.Invocations) != 1 || log.Invocations[0].Status != "failed" || !strings.Contains(log.Invocations[0].Error, "hooklab's own API") || strings.Contains(log.Invocations[0].Error, "retried") {
		t.Errorf("invocations %+v, want one, failed because the endpoint is hooklab's own API", log.Invocations)
	}
}

// loopbackName returns a name of this machine other than localhost that
// resolves to a loopback address (its host name, from /etc/hosts), and
// skips the test when there is none.
func loopbackName(t *testing.T) string {
	t.Helper()
	name, err := os.Hostname()
	if err != nil || name == "" || strings.EqualFold(name, "localhost") {
		t.Skipf("no host name other than localhost (%q, %v)", name, err)
	}
	addrs, err := net.LookupHost(name)
	if err != nil {
		t.Skipf("host name %s does not resolve: %v", name, err)
	}
	for _, a := range addrs {
		if ip, err := netip.ParseAddr(a); err == nil && ip.Unmap() == netip.MustParseAddr("127.0.0.1") {
			return name
		}
	}
	t.Skipf("host name %s resolves to %v, not 127.0.0.1, where the UI listens", name, addrs)
	return ""
}

// TestWebhookAPIRefusesOwnAPIEndpoint: a webhook made, checked, changed or
// test-sent through the API with its endpoint at hooklab's own API
// (however its host is written: 127.0.0.1, localhost, [::1]) is a 400 on
// endpoint saying so and where to point it instead; it was stored (201,
// no warning) and each of its deliveries then failed, refused as it was
// sent. Another port of this machine (the capture port) is taken.
func TestWebhookAPIRefusesOwnAPIEndpoint(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	port := strings.Split(strings.TrimSuffix(strings.TrimPrefix(s.UI, "http://"), "/"), ":")[1]
	s.mustPost(t, "/api/webhooks", `{"id": "ok", "endpoint": "`+s.Capture+`hooks", "signing": {"scheme": "none"}}`, http.StatusCreated)
	for _, host := range []string{"127.0.0.1", "localhost", "[::1]"} {
		endpoint := "http://" + host + ":" + port + "/api/events"
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/api/webhooks", `{"id": "self", "endpoint": "` + endpoint + `"}`},
			{"POST", "/api/webhooks/validate", `{"id": "self", "endpoint": "` + endpoint + `"}`},
			{"PATCH", "/api/webhooks/ok", `{"endpoint": "` + endpoint + `"}`},
			{"POST", "/api/webhooks/test", `{"webhook": {"endpoint": "` + endpoint + `"}}`},
		} {
			r, b := s.api(t, c.method, c.path, strings.NewReader(c.body))
			var e struct {
				Error, Field string
			}
			_ = json.Unmarshal(b, &e)
			want := "endpoint " + endpoint + " is hooklab's own API"
			if r.StatusCode != http.StatusBadRequest || !strings.Contains(e.Field, "endpoint") || !strings.Contains(e.Error, want) || !strings.Contains(e.Error, "the capture port") {
				t.Errorf("%s %s with endpoint %s: %d %s, want a 400 on endpoint saying %q and pointing at the capture port", c.method, c.path, endpoint, r.StatusCode, b, want)
			}
		}
	}
	var hooks struct {
		Webhooks []struct{ ID, Endpoint string }
	}
	s.getJSON(t, "/api/webhooks", &hooks)
	if len(hooks.Webhooks) != 1 || hooks.Webhooks[0].Endpoint != s.Capture+"hooks" {
		t.Errorf("webhooks %+v, want only ok, unchanged", hooks.Webhooks)
	}
}

// TestEventPatternWithSpaceRefused: an event type pattern holding white
// space (two types joined in one item, "ticket.created, ticket.updated")
// is refused, in a webhook's subscriptions through the API and in the
// config file's subscriptions and trigger events, since no event type holds
// one (POST /api/events refuses such a type): it was taken, and matched
// nothing, ever.
func TestEventPatternWithSpaceRefused(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	want := `event type pattern \"ticket.created, ticket.updated\" holds white space, which no event type does, so it would match nothing; give each type as an item of its own`
	r, b := s.api(t, "POST", "/api/webhooks/validate", strings.NewReader(`{"endpoint": "`+s.Capture+`x", "subscriptions": ["ticket.created, ticket.updated"]}`))
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), `"field":"subscriptions.0"`) || !strings.Contains(string(b), want) {
		t.Errorf("validate: %d %s; want a 400 on subscriptions.0 saying %s", r.StatusCode, b, want)
	}
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(cfg, []byte(`webhooks:
  - {id: a, endpoint: "http://127.0.0.1:3000/a"}
  - {id: b, endpoint: "http://127.0.0.1:3000/b"}
subscriptions:
  - {webhook: a, events: ["ticket.created, ticket.updated"]}
triggers:
  - name: t
    when: {event: "ticket.created ticket.updated"}
    notify: {webhook: b}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"check", cfg}, func(string) string { return "" }, &out, &errOut)
	for _, w := range []string{
		cfg + `:5:27: subscription 1: events: event type pattern "ticket.created, ticket.updated" holds white space`,
		cfg + `:8:19: trigger t: when event: event type pattern "ticket.created ticket.updated" holds white space`,
	} {
		if exitCode(err) != 1 || !strings.Contains(errOut.String(), w) {
			t.Errorf("hooklab check: exit %d, stderr %q; want exit 1 and %q", exitCode(err), errOut.String(), w)
		}
	}
}

// TestResignUnsignedKeepsCredentialsSecret: replay --resign of an unsigned
// webhook's delivery puts back its api_key header (recorded redacted), and
// the replay's own record shows it redacted again.
func TestResignUnsignedKeepsCredentialsSecret(t *testing.T) {
	t.Parallel()
	got := make(chan http.Header, 4)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		got <- r.Header.Clone()
	}))
	defer sink.Close()
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	yaml := "webhooks:\n  - id: keyed\n    endpoint: " + sink.URL + "/in\n    signing: {scheme: none}\n" +
		"    authentication: {type: api_key, name: X-Webhook-Key, value: topsecret123}\n" +
		"subscriptions:\n  - {webhook: keyed, events: [\"k.*\"]}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	if r, b := s.api(t, "POST", "/api/events", strings.NewReader(`{"type": "k.x", "data": {}}`)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("event: %d %s", r.StatusCode, b)
	}
	select {
	case <-got:
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
	// The attempt is recorded as an exchange once it is over, which may be
	// a moment after the sink has it.
	if r, b := s.api(t, "GET", "/api/exchanges/wait?bin=keyed&after=00000000000000000000000000&timeout=10s", nil); r.StatusCode != http.StatusOK {
		t.Fatalf("the delivery was not recorded: %d %s", r.StatusCode, b)
	}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"replay", "--server", s.UI, "--bin", "keyed", "--target", sink.URL, "--resign"},
		func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("replay --resign: %v\n%s", err, errOut.String())
	}
	select {
	case h := <-got:
		if h.Get("X-Webhook-Key") != "topsecret123" {
			t.Errorf("the replay sent X-Webhook-Key %q", h.Get("X-Webhook-Key"))
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the replay did not arrive")
	}
	var l listAnswer
	s.getJSON(t, "/api/exchanges?source=replay", &l)
	if len(l.Exchanges) != 1 {
		t.Fatalf("replay records: %+v", l.Exchanges)
	}
	for _, p := range []string{"/api/exchanges/" + l.Exchanges[0].ID, "/api/export.har"} {
		if _, b := s.api(t, "GET", p, nil); strings.Contains(string(b), "topsecret123") {
			t.Errorf("%s shows the key: %.300s", p, b)
		}
	}
}

// TestResignSignsWithEverySecretOfARotation: during a rotation
// (secrets: [new, old]) a stripe or standard-webhooks delivery carries a
// signature per secret, so receivers still on the old one go on verifying
// (stripe-node's constructEvent and the standardwebhooks and svix libraries
// accept any of them). replay --resign signs the same way; it signed with
// the new secret alone, and a receiver on the old one refused the replay.
func TestResignSignsWithEverySecretOfARotation(t *testing.T) {
	t.Parallel()
	type delivery struct {
		header http.Header
		body   []byte
	}
	got := make(chan delivery, 8)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- delivery{r.Header.Clone(), b}
	}))
	defer sink.Close()
	swNew := "whsec_" + base64.StdEncoding.EncodeToString([]byte("new standard webhooks key"))
	swOld := "whsec_" + base64.StdEncoding.EncodeToString([]byte("old standard webhooks key"))
	secrets := map[string][2]string{
		"stripe":            {"whsec_new_stripe", "whsec_old_stripe"},
		"standard-webhooks": {swNew, swOld},
	}
	var yaml strings.Builder
	yaml.WriteString("webhooks:\n")
	for scheme, s := range secrets {
		fmt.Fprintf(&yaml, "  - {id: %s, endpoint: %q, signing: {scheme: %s, secrets: [%q, %q]}}\n", scheme, sink.URL+"/in", scheme, s[0], s[1])
	}
	yaml.WriteString("subscriptions:\n  - {webhook: stripe, events: [\"r.*\"]}\n  - {webhook: standard-webhooks, events: [\"r.*\"]}\n")
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(cfg, []byte(yaml.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	if r, b := s.api(t, "POST", "/api/events", strings.NewReader(`{"type": "r.x", "data": {"name": "Zoë"}}`)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("event: %d %s", r.StatusCode, b)
	}
	for range secrets {
		select {
		case <-got:
		case <-time.After(10 * time.Second):
			t.Fatal("no delivery")
		}
	}
	for scheme, sec := range secrets {
		if r, b := s.api(t, "GET", "/api/exchanges/wait?bin="+scheme+"&after=00000000000000000000000000&timeout=10s", nil); r.StatusCode != http.StatusOK {
			t.Fatalf("the %s delivery was not recorded: %d %s", scheme, r.StatusCode, b)
		}
		var out, errOut syncBuffer
		if err := run(context.Background(), []string{"replay", "--server", s.UI, "--bin", scheme, "--target", sink.URL, "--resign"},
			func(string) string { return "" }, &out, &errOut); err != nil {
			t.Fatalf("replay --resign: %v\n%s", err, errOut.String())
		}
		var d delivery
		select {
		case d = <-got:
		case <-time.After(10 * time.Second):
			t.Fatalf("the %s replay did not arrive", scheme)
		}
		for i, secret := range sec {
			if ok, reason := rules.VerifySignature(scheme, secret, d.header, d.body, time.Now(), 0); !ok {
				t.Errorf("%s replay, checked with the %s secret: %s (headers %v)", scheme, []string{"new", "old"}[i], reason, d.header)
			}
		}
	}
}

// TestSendDataFileWithBOM: a --data file saved by Notepad or PowerShell
// begins with a UTF-8 byte order mark; send reads the JSON after it (it
// was refused as "invalid character 'ï'", exit 2).
func TestSendDataFileWithBOM(t *testing.T) {
	t.Parallel()
	got := make(chan string, 1)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		select {
		case got <- string(b):
		default:
		}
	}))
	t.Cleanup(sink.Close)
	cfg := "webhooks:\n  - {id: bot, endpoint: " + sink.URL + "/hook, signing: {scheme: none}}\n" +
		"triggers:\n  - {name: t, when: {event: ticket.created}, notify: {webhook: bot, payload: '{\"id\": {{ticket.id}}}'}}\n"
	path := filepath.Join(t.TempDir(), "hooklab.yaml")
	data := filepath.Join(t.TempDir(), "ticket.json")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(data, []byte("\xef\xbb\xbf{\"ticket\": {\"id\": 42}}\r\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", path)
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"send", "ticket.created", "--server", s.UI, "--data", "@" + data}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("send --data @file with a BOM: %v (exit %d)\n%s", err, exitCode(err), errOut.String())
	}
	select {
	case b := <-got:
		if b != `{"id": 42}` {
			t.Errorf("delivered %q, want {\"id\": 42}", b)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no delivery")
	}
}

// TestReplayOfDeliveryToEndpointWithFragment: a webhook whose endpoint
// holds a fragment (a URL pasted from a browser's address bar) is
// delivered without it, as every HTTP client sends such a URL, and its
// replay and /curl send what the delivery sent: the recorded URL kept the
// fragment, and replay, which puts a recorded # back into the target (one
// a captured request line held), sent GET /in#!/view/1, which no delivery
// had sent.
func TestReplayOfDeliveryToEndpointWithFragment(t *testing.T) {
	t.Parallel()
	uris := make(chan string, 4)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uris <- r.RequestURI
	}))
	defer sink.Close()
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	yaml := "webhooks:\n  - {id: frag, endpoint: \"" + sink.URL + "/in?a=1#!/view/1\"}\nsubscriptions:\n  - {webhook: frag, events: [\"r.*\"]}\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	if r, b := s.api(t, "POST", "/api/events", strings.NewReader(`{"type": "r.x", "data": {}}`)); r.StatusCode != http.StatusAccepted {
		t.Fatalf("event: %d %s", r.StatusCode, b)
	}
	next := func(what string) string {
		t.Helper()
		select {
		case u := <-uris:
			return u
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s", what)
		}
		return ""
	}
	if u := next("delivery"); u != "/in?a=1" {
		t.Fatalf("delivered to %s", u)
	}
	r, b := s.api(t, "GET", "/api/exchanges/wait?bin=frag&after=00000000000000000000000000&timeout=10s", nil)
	if r.StatusCode != http.StatusOK {
		t.Fatalf("the delivery was not recorded: %d %s", r.StatusCode, b)
	}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"replay", "--server", s.UI, "--bin", "frag"},
		func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("replay: %v\n%s%s", err, out.String(), errOut.String())
	}
	if u := next("replay"); u != "/in?a=1" {
		t.Errorf("the replay went to %s, the delivery to /in?a=1", u)
	}
	if strings.Contains(string(b), "#!") {
		t.Errorf("recorded with the fragment no request sent: %s", b)
	}
}

// TestSendQueuingNothingForInactiveWebhook: a send that queues nothing
// because the subscribed webhook is inactive must not say that no webhook
// is subscribed (it said "no webhook is subscribed to a.b", sending the
// user to look for a subscription that is there).
func TestSendQueuingNothingForInactiveWebhook(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hooklab.yaml")
	cfg := `webhooks:
  - {id: paused, endpoint: "http://127.0.0.1:9/x", status: inactive}
subscriptions:
  - {webhook: paused, events: [a.b]}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", path)
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"send", "a.b", "--server", s.UI}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("send: %v\n%s", err, errOut.String())
	}
	if msg := errOut.String(); !strings.Contains(msg, "no active webhook") || strings.Contains(msg, "no webhook is subscribed") {
		t.Errorf("send that queued nothing (its webhook inactive) says: %q, want it to say no active webhook", msg)
	}
}

// TestEmitConfigAPI: GET /api/emit/config lists the live config's
// triggers, automations and top-level subscriptions with where each is
// defined, for the UI's rules view, which showed only mocks and verify
// rules; values from the environment show as their ${NAME}, and params,
// data and conditions under secret-looking names as REDACTED; conditions
// as written (all and any lists of {path, op, value}), which showed in
// the matcher's own form ("json": [...], "any": [{"json": [...]}], an
// exists with a "value": true never written). GET /api/webhooks/{id}
// says what connects that webhook to events.
func TestEmitConfigAPI(t *testing.T) {
	t.Parallel()
	const token = "PLANTEDtrigger-tok-93a"
	cfg := `webhooks:
  - {id: stream, endpoint: "http://127.0.0.1:9/stream"}
  - {id: digest, endpoint: "http://127.0.0.1:9/digest"}
  - {id: poll, endpoint: "http://127.0.0.1:9/poll", method: GET}
subscriptions:
  - {webhook: stream, events: [ticket.created, ticket.updated]}
triggers:
  - name: urgent-ticket
    when:
      event: ticket.*
      all:
        - {path: ticket.priority, op: eq, value: urgent}
        - {path: ticket.api_token, op: eq, value: literal-secret}
        - {path: ticket.region, value: "${REGION}"}
      any:
        - {path: ticket.via, op: exists}
        - {path: ticket.tags, op: in, value: [vip, gold]}
    notify:
      webhook: digest
      payload: '{"id": "{{ticket.id}}", "key": "${TOKEN}"}'
  - name: poll-it
    when: {event: ticket.solved}
    notify:
      webhook: poll
      params: {id: "{{ticket.id}}", access_token: "literal-secret"}
automations:
  - name: hourly-digest
    every: 1h
    when:
      all: [{path: digest.open, op: gt, value: 0}]
    data: {digest: {open: 3}, password: literal-secret}
    notify: {webhook: digest, payload: {open: "{{digest.open}}", api_key: literal-secret}}
`
	path := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServerEnv(t, map[string]string{"TOKEN": token, "REGION": "eu-west-1"}, "--memory", "--config", path)
	resp, raw := s.api(t, http.MethodGet, "/api/emit/config", nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/emit/config: %d %s", resp.StatusCode, raw)
	}
	for _, leak := range []string{token, "literal-secret"} {
		if strings.Contains(string(raw), leak) {
			t.Errorf("GET /api/emit/config shows %q:\n%s", leak, raw)
		}
	}
	type notify struct {
		Webhook string      `json:"webhook"`
		Payload string      `json:"payload"`
		Params  [][2]string `json:"params"`
	}
	var got struct {
		File     string `json:"file"`
		Triggers []struct {
			Name, Source string
			Events       []string
			When         map[string]any
			Notify       notify
		} `json:"triggers"`
		Automations []struct {
			Name, Source, Schedule string
			When                   any
			Data                   map[string]any
			Notify                 notify
		} `json:"automations"`
		Subscriptions []struct {
			Webhook, Source string
			Events          []string
		} `json:"subscriptions"`
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("%v\n%s", err, raw)
	}
	if got.File != path || len(got.Triggers) != 2 || len(got.Automations) != 1 || len(got.Subscriptions) != 1 {
		t.Fatalf("GET /api/emit/config:\n%s", raw)
	}
	sub := got.Subscriptions[0]
	if sub.Webhook != "stream" || strings.Join(sub.Events, ",") != "ticket.created,ticket.updated" || sub.Source != path+":6" {
		t.Errorf("subscription %+v", sub)
	}
	tr := got.Triggers[0]
	if tr.Name != "urgent-ticket" || tr.Source != path+":8" || strings.Join(tr.Events, ",") != "ticket.*" ||
		tr.Notify.Webhook != "digest" || tr.Notify.Payload != `{"id": "{{ticket.id}}", "key": "${TOKEN}"}` {
		t.Errorf("trigger %+v", tr)
	}
	// As written, the token's value REDACTED and the environment's as
	// its ${NAME} (json.Marshal sorts the keys).
	wantWhen := `{"all":[{"op":"eq","path":"ticket.priority","value":"urgent"},{"op":"eq","path":"ticket.api_token","value":"REDACTED"},` +
		`{"path":"ticket.region","value":"${REGION}"}],"any":[{"op":"exists","path":"ticket.via"},{"op":"in","path":"ticket.tags","value":["vip","gold"]}]}`
	if when, _ := json.Marshal(tr.When); string(when) != wantWhen {
		t.Errorf("trigger conditions\n%s\nwant\n%s", when, wantWhen)
	}
	if p := got.Triggers[1].Notify.Params; len(p) != 2 || p[0] != [2]string{"id", "{{ticket.id}}"} || p[1] != [2]string{"access_token", "REDACTED"} {
		t.Errorf("trigger params %q", p)
	}
	a := got.Automations[0]
	if when, _ := json.Marshal(a.When); string(when) != `{"all":[{"op":"gt","path":"digest.open","value":0}]}` {
		t.Errorf("automation conditions %s, want them as written", when)
	}
	if a.Name != "hourly-digest" || a.Schedule != "1h" || a.Source != path+":27" || a.Data["password"] != "REDACTED" ||
		!strings.Contains(a.Notify.Payload, `"api_key":"REDACTED"`) || !strings.Contains(a.Notify.Payload, `{{digest.open}}`) {
		t.Errorf("automation %+v", a)
	}

	var one struct {
		Connections struct {
			Subscriptions []struct {
				Events []string
				Source string
			}
			Triggers, Automations []string
		}
	}
	s.getJSON(t, "/api/webhooks/stream", &one)
	if c := one.Connections; len(c.Subscriptions) != 1 || c.Subscriptions[0].Source != path+":6" || len(c.Triggers) != 0 {
		t.Errorf("GET /api/webhooks/stream connections %+v", c)
	}
	s.getJSON(t, "/api/webhooks/digest", &one)
	if c := one.Connections; len(c.Subscriptions) != 0 || strings.Join(c.Triggers, ",") != "urgent-ticket" || strings.Join(c.Automations, ",") != "hourly-digest" {
		t.Errorf("GET /api/webhooks/digest connections %+v", c)
	}
}

// TestRedirectAdviceIsAnAbsoluteURL: a delivery answered with a redirect
// fails saying where to point the endpoint; a relative Location, as most
// frameworks send, is given resolved against the endpoint. It said "point
// the endpoint at /login", which the endpoint field refuses (it wants an
// absolute URL). A Location with secrets in it (a password, ?api_key=)
// is advised with them REDACTED, as an endpoint shows: the advice, in the
// test send's result and the attempt's exchange, quoted the query's
// secret values as the receiver sent them.
func TestRedirectAdviceIsAnAbsoluteURL(t *testing.T) {
	t.Parallel()
	var sink *httptest.Server
	sink = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/app/hook":
			w.Header().Set("Location", "../login?next=hook")
		case "/away":
			w.Header().Set("Location", "https://example.com/new")
		case "/keyed":
			w.Header().Set("Location", "/v2/hook?api_key=sekrit-key&next=a")
		case "/userinfo":
			w.Header().Set("Location", strings.Replace(sink.URL, "http://", "http://bob:sekrit-pw@", 1)+"/v2/hook?access_token=sekrit-token")
		default:
			w.Header().Set("Location", "/login")
		}
		w.WriteHeader(http.StatusFound)
	}))
	t.Cleanup(sink.Close)
	s := startServer(t, "--memory")
	for _, tc := range []struct{ path, want string }{
		{"/hook", sink.URL + "/login"},
		{"/app/hook", sink.URL + "/login?next=hook"},
		{"/away", "https://example.com/new"},
		{"/keyed", sink.URL + "/v2/hook?api_key=REDACTED&next=a"},
		// An endpoint with user info is refused: the advice says where
		// the credentials go instead.
		{"/userinfo", sink.URL + "/v2/hook?access_token=REDACTED (its user info as basic_auth authentication: an endpoint holds no credentials)"},
	} {
		body := `{"webhook": {"endpoint": "` + sink.URL + tc.path + `"}}`
		r, b := s.api(t, "POST", "/api/webhooks/test", strings.NewReader(body))
		if r.StatusCode != http.StatusOK {
			t.Fatalf("test send to %s: %d %s", tc.path, r.StatusCode, b)
		}
		var res struct {
			Outcome    string `json:"outcome"`
			Error      string `json:"error"`
			ExchangeID string `json:"exchange_id"`
		}
		if err := json.Unmarshal(b, &res); err != nil {
			t.Fatal(err)
		}
		want := "point the endpoint at " + tc.want
		if res.Outcome != "failed" || !strings.HasSuffix(res.Error, want) {
			t.Errorf("test send to %s: outcome %q, error %q; want failed, ending %q", tc.path, res.Outcome, res.Error, want)
		}
		var ex struct {
			Error string `json:"error"`
		}
		s.getJSON(t, "/api/exchanges/"+res.ExchangeID, &ex)
		if !strings.HasSuffix(ex.Error, want) {
			t.Errorf("exchange of the test send to %s: error %q; want it ending %q", tc.path, ex.Error, want)
		}
	}
}

// TestSendDataErrorSaysWhere: send --data with JSON that does not parse
// names where it came from and the line and column of the fault, so a
// mistake in a long ticket.json is found. It said only "--data must be a
// JSON object: invalid character '"' after object key:value pair", the
// same for a file, standard input or the flag's own text.
func TestSendDataErrorSaysWhere(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "ticket.json")
	if err := os.WriteFile(file, []byte("\xef\xbb\xbf\n{\n  \"ticket\": {\n    \"id\": 7,\n    \"subject\": \"é\"\n    \"priority\": \"high\"\n  }\n}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, data string
		want       []string
	}{
		{"file", "@" + file, []string{"--data @" + file + " must be a JSON object", "malformed JSON at line 6, column 5: invalid character"}},
		{"text", `{"a": 1,}`, []string{"--data must be a JSON object", "malformed JSON at line 1, column 9"}},
		{"empty file", "@" + os.DevNull, []string{"--data @" + os.DevNull + " is empty"}},
	} {
		var out, errOut syncBuffer
		// No server: the data is refused before any is asked.
		err := run(context.Background(), []string{"send", "ticket.created", "--server", "127.0.0.1:9", "--data", tc.data}, func(string) string { return "" }, &out, &errOut)
		if exitCode(err) != 2 {
			t.Errorf("%s: exit %d (%v), want 2", tc.name, exitCode(err), err)
		}
		msg := errOut.String()
		if err != nil {
			msg += err.Error()
		}
		for _, w := range tc.want {
			if !strings.Contains(msg, w) {
				t.Errorf("%s: says %q, want it to hold %q", tc.name, msg, w)
			}
		}
	}
}

// TestSendSaysWhatFailedUnsent: an invocation refused as it is made (a
// payload over the webhook's max_payload) is named on stderr with its
// reason, in plain words, and send fails when every one was: it exited 0
// saying nothing, the reason only in the JSON's error fields; then it
// said the invocation "is failed at once", and "every invocation (1)".
func TestSendSaysWhatFailedUnsent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hooklab.yaml")
	cfg := `webhooks:
  - {id: tiny, endpoint: "http://127.0.0.1:9/tiny", max_payload: 64B}
  - {id: roomy, endpoint: "http://127.0.0.1:9/roomy"}
  - {id: small, endpoint: "http://127.0.0.1:9/small", max_payload: 64B}
subscriptions:
  - {webhook: tiny, events: [a.b, c.d, e.f]}
  - {webhook: roomy, events: [c.d]}
  - {webhook: small, events: [e.f]}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", path)
	data := `{"text":"` + strings.Repeat("x", 200) + `"}`
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"send", "a.b", "--server", s.UI, "--data", data}, func(string) string { return "" }, &out, &errOut)
	if want := "send: nothing was sent: the only invocation failed before it was sent; see above"; err == nil || err.Error() != want {
		t.Errorf("send whose only invocation failed unsent: err %v, want %q", err, want)
	}
	if msg := errOut.String(); !strings.Contains(msg, "of webhook tiny failed before it was sent: ") || !strings.Contains(msg, "max_payload") {
		t.Errorf("stderr %q: want the invocation named, failed before it was sent, with its reason", msg)
	}
	if !strings.Contains(out.String(), `"invocations"`) {
		t.Errorf("stdout %q: want the answer as JSON still", out.String())
	}

	// One of two queued: a warning for the other, and success.
	var out2, errOut2 syncBuffer
	if err := run(context.Background(), []string{"send", "c.d", "--server", s.UI, "--data", data}, func(string) string { return "" }, &out2, &errOut2); err != nil {
		t.Errorf("send with one invocation queued: %v", err)
	}
	if msg := errOut2.String(); !strings.Contains(msg, "of webhook tiny failed before it was sent: ") || strings.Contains(msg, "roomy") {
		t.Errorf("stderr %q: want tiny's invocation named, roomy's not", msg)
	}

	// Two, both refused.
	var out3, errOut3 syncBuffer
	err = run(context.Background(), []string{"send", "e.f", "--server", s.UI, "--data", data}, func(string) string { return "" }, &out3, &errOut3)
	if want := "send: nothing was sent: all 2 invocations failed before they were sent; see above"; err == nil || err.Error() != want {
		t.Errorf("send whose two invocations failed unsent: err %v, want %q", err, want)
	}
	if n := strings.Count(errOut3.String(), "failed before it was sent: "); n != 2 {
		t.Errorf("stderr %q: want both invocations named", errOut3.String())
	}
}

// TestWebhookEndpointQuerySecretRedacted: a webhook whose endpoint carries
// a secret in its query (?api_key=) showed it in full in GET /api/webhooks,
// the activity log, the test-send result and the attempt's exchange (a
// tester found it). The value now reads REDACTED everywhere but
// ?reveal=1 on the exchange, the receiver still gets it, and a PATCH
// sending the endpoint back as read keeps it.
func TestWebhookEndpointQuerySecretRedacted(t *testing.T) {
	t.Parallel()
	const secret = "QSECRET123"
	uris := make(chan string, 8)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		uris <- r.RequestURI
	}))
	defer sink.Close()
	next := func(what string) string {
		t.Helper()
		select {
		case u := <-uris:
			return u
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s reached the sink", what)
		}
		return ""
	}
	s := startServer(t, "--memory")
	endpoint := sink.URL + "/hooks/q?page=2&api_key=" + secret + "&key=plain"
	sentURI := "/hooks/q?page=2&api_key=" + secret + "&key=plain"
	shown := sink.URL + "/hooks/q?page=2&api_key=REDACTED&key=plain"
	noSecret := func(what string, b []byte) {
		t.Helper()
		if strings.Contains(string(b), secret) {
			t.Errorf("%s shows the secret: %s", what, b)
		}
		if !strings.Contains(string(b), "api_key=REDACTED") {
			t.Errorf("%s does not show api_key=REDACTED: %s", what, b)
		}
	}
	get := func(path string) []byte {
		t.Helper()
		r, b := s.api(t, "GET", path, nil)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.StatusCode, b)
		}
		return b
	}

	created := s.mustPost(t, "/api/webhooks", `{"id": "qs", "endpoint": "`+endpoint+`", "subscriptions": ["q.*"]}`, http.StatusCreated)
	noSecret("POST /api/webhooks", created)
	noSecret("GET /api/webhooks", get("/api/webhooks"))
	read := get("/api/webhooks/qs")
	noSecret("GET /api/webhooks/qs", read)

	stream := dialStream(t, s)
	test := s.mustPost(t, "/api/webhooks/qs/test", `{}`, http.StatusOK)
	_ = stream.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := stream.c.ReadMessage()
		if err != nil {
			t.Fatalf("no exchange event for the test send on the stream: %v", err)
		}
		if strings.Contains(string(b), `"type":"exchange"`) && strings.Contains(string(b), `"source":"emit"`) {
			noSecret("the live stream's exchange", b)
			break
		}
	}
	if u := next("test send"); u != sentURI {
		t.Errorf("test send went to %s, want %s", u, sentURI)
	}
	noSecret("the test-send result", test)
	var tr struct {
		ExchangeID string `json:"exchange_id"`
	}
	if err := json.Unmarshal(test, &tr); err != nil || tr.ExchangeID == "" {
		t.Fatalf("test result %s: %v", test, err)
	}
	ex := get("/api/exchanges/" + tr.ExchangeID)
	noSecret("the attempt's exchange", ex)
	if !strings.Contains(string(ex), `"url"]`) {
		t.Errorf("the exchange's request does not list url as redacted: %s", ex)
	}
	if b := get("/api/exchanges/" + tr.ExchangeID + "?reveal=1"); !strings.Contains(string(b), "api_key="+secret) {
		t.Errorf("?reveal=1 does not show the endpoint as sent: %s", b)
	}
	noSecret("GET /api/exchanges", get("/api/exchanges?bin=qs"))

	s.mustPost(t, "/api/events", `{"type": "q.x", "data": {}}`, http.StatusAccepted)
	if u := next("delivery"); u != sentURI {
		t.Errorf("delivered to %s, want %s", u, sentURI)
	}
	var list struct {
		Invocations []struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		} `json:"invocations"`
	}
	waitFor(t, func() bool {
		s.getJSON(t, "/api/webhooks/qs/invocations", &list)
		return len(list.Invocations) == 1 && list.Invocations[0].Status == "success"
	}, "the delivery's invocation to succeed")
	if b := get("/api/webhooks/qs/invocations"); strings.Contains(string(b), secret) {
		t.Errorf("the activity log shows the secret: %s", b)
	}
	inv := get("/api/invocations/" + list.Invocations[0].ID)
	noSecret("GET /api/invocations/{id}", inv)
	var got struct {
		Invocation struct {
			Request struct {
				URL string `json:"url"`
			} `json:"request"`
			Attempts []struct {
				Request struct {
					URL string `json:"url"`
				} `json:"request"`
			} `json:"attempts"`
		} `json:"invocation"`
	}
	if err := json.Unmarshal(inv, &got); err != nil || len(got.Invocation.Attempts) != 1 {
		t.Fatalf("invocation %s: %v", inv, err)
	}
	invJSON := got.Invocation
	if invJSON.Request.URL != shown || invJSON.Attempts[0].Request.URL != shown {
		t.Errorf("invocation url %q, attempt url %q; want %q", invJSON.Request.URL, invJSON.Attempts[0].Request.URL, shown)
	}

	// A webhook read back and sent as it is keeps the stored value.
	var back struct{ Webhook map[string]any }
	if err := json.Unmarshal(read, &back); err != nil || back.Webhook == nil {
		t.Fatalf("GET /api/webhooks/qs: %s: %v", read, err)
	}
	back.Webhook["name"] = "renamed"
	patch, _ := json.Marshal(back.Webhook)
	r, b := s.api(t, "PATCH", "/api/webhooks/qs", strings.NewReader(string(patch)))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("PATCH the webhook as read: %d %s", r.StatusCode, b)
	}
	noSecret("the PATCH's answer", b)
	s.mustPost(t, "/api/webhooks/qs/test", `{}`, http.StatusOK)
	if u := next("test send after the PATCH"); u != sentURI {
		t.Errorf("after the PATCH, the test send went to %s, want %s", u, sentURI)
	}
	// A path changed with the query sent back REDACTED keeps it too.
	r, b = s.api(t, "PATCH", "/api/webhooks/qs", strings.NewReader(`{"endpoint": "`+sink.URL+`/hooks/v2?page=2&api_key=REDACTED&key=plain"}`))
	if r.StatusCode != http.StatusOK {
		t.Fatalf("PATCH a new path: %d %s", r.StatusCode, b)
	}
	s.mustPost(t, "/api/webhooks/qs/test", `{}`, http.StatusOK)
	if u, want := next("test send to the new path"), "/hooks/v2?page=2&api_key="+secret+"&key=plain"; u != want {
		t.Errorf("after the new path, the test send went to %s, want %s", u, want)
	}
	// REDACTED for a secret never stored is refused, not sent.
	for _, tc := range []struct{ method, path, body string }{
		{"PATCH", "/api/webhooks/qs", `{"endpoint": "` + sink.URL + `/hooks/v2?api_key=REDACTED&access_token=REDACTED"}`},
		{"POST", "/api/webhooks", `{"id": "qs2", "endpoint": "` + sink.URL + `/hooks/q?api_key=REDACTED"}`},
	} {
		r, b := s.api(t, tc.method, tc.path, strings.NewReader(tc.body))
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), "stands for a stored secret") || !strings.Contains(string(b), `"endpoint"`) {
			t.Errorf("%s %s with REDACTED for no stored secret: %d %s", tc.method, tc.path, r.StatusCode, b)
		}
	}
	noSecret("GET /api/webhooks/qs at the end", get("/api/webhooks/qs"))
	s.Stop(t)
	if log := s.Stdout.String() + s.Stderr.String(); strings.Contains(log, secret) {
		t.Errorf("the log shows the secret:\n%s", log)
	}
}

// TestWebhookEndpointQuerySecretExported: the attempts' exchanges of a
// webhook whose endpoint carries a secret in its query read REDACTED in
// the API, and GET /api/export.har (whose entries say "secrets redacted")
// wrote the value in full, in the entry's url and its queryString (found
// by a review helper). keep_secrets still writes it as sent.
func TestWebhookEndpointQuerySecretExported(t *testing.T) {
	t.Parallel()
	const secret = "QSECRETHAR"
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer sink.Close()
	s := startServer(t, "--memory")
	s.mustPost(t, "/api/webhooks", `{"id": "qh", "endpoint": "`+sink.URL+`/h?api_key=`+secret+`&page=2"}`, http.StatusCreated)
	s.mustPost(t, "/api/webhooks/qh/test", `{}`, http.StatusOK)
	for _, tc := range []struct {
		path string
		keep bool
	}{
		{"/api/export.har?bin=qh", false},
		{"/api/export.har?bin=qh&keep_secrets=1", true},
	} {
		r, b := s.api(t, "GET", tc.path, nil)
		if r.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", tc.path, r.StatusCode, b)
		}
		var har struct {
			Log struct {
				Entries []struct {
					Request struct {
						URL         string `json:"url"`
						QueryString []struct {
							Name, Value string
						} `json:"queryString"`
					} `json:"request"`
				} `json:"entries"`
			} `json:"log"`
		}
		if err := json.Unmarshal(b, &har); err != nil || len(har.Log.Entries) != 1 {
			t.Fatalf("GET %s: want one entry: %v\n%s", tc.path, err, b)
		}
		req := har.Log.Entries[0].Request
		want := "REDACTED"
		if tc.keep {
			want = secret
		}
		if wantURL := sink.URL + "/h?api_key=" + want + "&page=2"; req.URL != wantURL {
			t.Errorf("GET %s: url %q, want %q", tc.path, req.URL, wantURL)
		}
		if len(req.QueryString) != 2 || req.QueryString[0].Value != want || req.QueryString[1].Value != "2" {
			t.Errorf("GET %s: queryString %+v, want api_key %s and page 2", tc.path, req.QueryString, want)
		}
	}
}

// TestWebhookEndpointQuerySecretHeaderFlag: a query parameter named by
// --secret-header read REDACTED in GET /api/webhooks and in the attempt's
// exchange, but in full in GET /api/exchanges and the live stream, whose
// summaries were redacted by the built-in names only (found by a review
// helper with --secret-header X-Tenant).
func TestWebhookEndpointQuerySecretHeaderFlag(t *testing.T) {
	t.Parallel()
	const secret = "TSECRET77"
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer sink.Close()
	s := startServer(t, "--memory", "--secret-header", "X-Tenant")
	created := s.mustPost(t, "/api/webhooks", `{"id": "qt", "endpoint": "`+sink.URL+`/h?x-tenant=`+secret+`"}`, http.StatusCreated)
	if strings.Contains(string(created), secret) {
		t.Fatalf("POST /api/webhooks shows the secret: %s", created)
	}
	stream := dialStream(t, s)
	s.mustPost(t, "/api/webhooks/qt/test", `{}`, http.StatusOK)
	_ = stream.c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, b, err := stream.c.ReadMessage()
		if err != nil {
			t.Fatalf("no exchange event for the test send on the stream: %v", err)
		}
		if strings.Contains(string(b), `"type":"exchange"`) && strings.Contains(string(b), `"source":"emit"`) {
			if !strings.Contains(string(b), "x-tenant=REDACTED") {
				t.Errorf("the live stream's exchange: want x-tenant=REDACTED: %s", b)
			}
			break
		}
	}
	r, b := s.api(t, "GET", "/api/exchanges?bin=qt", nil)
	if r.StatusCode != http.StatusOK || strings.Contains(string(b), secret) || !strings.Contains(string(b), "x-tenant=REDACTED") {
		t.Errorf("GET /api/exchanges: %d %s; want x-tenant=REDACTED", r.StatusCode, b)
	}
}

// TestOwnDeliveryQuerySecretRecordedRedacted: a webhook whose endpoint is
// hooklab's own capture port, or one of its proxies, with a secret in its
// query (?api_key=) hid it in GET /api/webhooks and in the attempt's
// exchange, and showed it in full in the capture's or the proxy's record
// of the same request: the list, the exchange, /raw and /curl (found by a
// review helper pointing a webhook at the capture port). Those records
// now hold it redacted, as they hold an api_key header; the receiver
// still gets it, and a request that is not a delivery keeps its query.
func TestOwnDeliveryQuerySecretRecordedRedacted(t *testing.T) {
	t.Parallel()
	const secret = "QSECRETOWN"
	uris := make(chan string, 4)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { uris <- r.RequestURI }))
	defer up.Close()
	s := startServer(t, "--memory", "--proxy", "127.0.0.1:0="+up.URL)
	prox := proxyURL(t, s, "proxy: ")
	for _, tc := range []struct{ name, base, source string }{
		{"capture", s.Capture, "capture"},
		{"proxy", prox, "proxy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			id := "own" + tc.name
			endpoint := strings.TrimSuffix(tc.base, "/") + "/" + id + "/h?api_key=" + secret + "&page=2"
			s.mustPost(t, "/api/webhooks", `{"id": "`+id+`", "endpoint": "`+endpoint+`"}`, http.StatusCreated)
			s.mustPost(t, "/api/webhooks/"+id+"/test", `{}`, http.StatusOK)
			if tc.source == "proxy" {
				if u := <-uris; !strings.Contains(u, "api_key="+secret) {
					t.Errorf("the upstream got %s, want api_key=%s", u, secret)
				}
			}
			var list struct {
				Exchanges []struct{ ID, Source, URL string }
			}
			waitFor(t, func() bool {
				list.Exchanges = nil
				s.getJSON(t, "/api/exchanges?source="+tc.source, &list)
				return len(list.Exchanges) == 1
			}, "the "+tc.source+"'s record of the delivery")
			ex := list.Exchanges[0]
			if strings.Contains(ex.URL, secret) || !strings.Contains(ex.URL, "api_key=REDACTED&page=2") {
				t.Errorf("GET /api/exchanges: url %q, want api_key=REDACTED", ex.URL)
			}
			for _, p := range []string{"", "/raw", "/curl", "?reveal=1"} {
				r, b := s.api(t, "GET", "/api/exchanges/"+ex.ID+p, nil)
				if r.StatusCode != http.StatusOK || strings.Contains(string(b), secret) {
					t.Errorf("GET /api/exchanges/{id}%s: %d, shows the secret: %s", p, r.StatusCode, b)
				}
			}
		})
	}
	// A request that is not a delivery keeps its query as sent.
	resp, err := http.Get(s.Capture + "plain/h?api_key=NOTOURS")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var list struct{ Exchanges []struct{ Path, URL string } }
	waitFor(t, func() bool {
		list.Exchanges = nil
		s.getJSON(t, "/api/exchanges?source=capture", &list)
		return len(list.Exchanges) == 2
	}, "the plain request's record")
	if got := list.Exchanges[0]; got.Path != "/plain/h" || !strings.Contains(got.URL, "api_key=NOTOURS") {
		t.Errorf("a plain request's record: %+v, want /plain/h with its query as sent", got)
	}
}

// TestEndpointCredentialsRefusedUnshown: a webhook endpoint with user info
// (http://bot:PASSWORD@host) is refused with a 400 on endpoint wherever a
// webhook comes in (create, Zendesk's form, validate, an inline test send,
// a PATCH, with a new password or REDACTED, and the config file), and no
// answer, check's output or the log quotes its password: credentials go
// in authentication, whose values are redacted. So no stored endpoint
// has a password to redact.
func TestEndpointCredentialsRefusedUnshown(t *testing.T) {
	t.Parallel()
	const secret = "pin-s3cret"
	endpoint := "http://bot:" + secret + "@127.0.0.1:1/hooks?x=1"
	s := startServer(t, "--memory", "--log-level", "debug")
	s.mustPost(t, "/api/webhooks", `{"id": "kept", "endpoint": "http://127.0.0.1:1/kept"}`, http.StatusCreated)
	for _, tc := range []struct{ name, method, path, body, field string }{
		{"create", "POST", "/api/webhooks", `{"id": "a", "endpoint": "` + endpoint + `"}`, "endpoint"},
		{"zendesk form", "POST", "/api/webhooks", `{"webhook": {"name": "z", "endpoint": "` + endpoint + `", "http_method": "POST", "request_format": "json", "subscriptions": ["conditional_ticket_events"]}}`, "endpoint"},
		{"validate", "POST", "/api/webhooks/validate", `{"id": "a", "endpoint": "` + endpoint + `"}`, "endpoint"},
		{"test send", "POST", "/api/webhooks/test", `{"webhook": {"endpoint": "` + endpoint + `"}}`, "webhook.endpoint"},
		{"patch", "PATCH", "/api/webhooks/kept", `{"endpoint": "` + endpoint + `"}`, "endpoint"},
		{"patch REDACTED", "PATCH", "/api/webhooks/kept", `{"endpoint": "http://bot:REDACTED@127.0.0.1:1/kept"}`, "endpoint"},
	} {
		r, b := s.api(t, tc.method, tc.path, strings.NewReader(tc.body))
		var e struct{ Field, Error string }
		if err := json.Unmarshal(b, &e); err != nil {
			t.Fatalf("%s: %v in %s", tc.name, err, b)
		}
		if r.StatusCode != http.StatusBadRequest || e.Field != tc.field || !strings.Contains(e.Error, "must not hold credentials") {
			t.Errorf("%s: %d %s; want 400 on %s, must not hold credentials", tc.name, r.StatusCode, b, tc.field)
		}
		if strings.Contains(string(b), secret) {
			t.Errorf("%s: the answer quotes the password: %s", tc.name, b)
		}
	}
	var kept struct {
		Webhook struct{ Endpoint string }
	}
	s.getJSON(t, "/api/webhooks/kept", &kept)
	if kept.Webhook.Endpoint != "http://127.0.0.1:1/kept" {
		t.Errorf("after the refused PATCHes the endpoint is %q", kept.Webhook.Endpoint)
	}
	s.Stop(t)
	if log := s.Stderr.String(); strings.Contains(log, secret) {
		t.Errorf("the log quotes the password:\n%s", log)
	}

	file := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(file, []byte("webhooks:\n  - id: a\n    endpoint: "+endpoint+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"check", file}, {"check", "--print", file}} {
		var out, errOut syncBuffer
		err := run(context.Background(), args, func(string) string { return "" }, &out, &errOut)
		all := out.String() + errOut.String()
		if err == nil || !strings.Contains(all, file+":3:") || !strings.Contains(all, "must not hold credentials") || strings.Contains(all, secret) {
			t.Errorf("%v: error %v, output:\n%s\nwant the refusal at line 3, without the password", args, err, all)
		}
	}
}

// TestEmitAPIWebhookWarnings: a webhook made or changed through the API
// that sends credentials to a plain-HTTP endpoint gets the warning a
// config one gets, where config warnings go: GET /api/webhooks's
// warnings, and the log, once as it is stored (not at each list). Only
// the create's answer said it, so the list and the UI showed nothing.
func TestEmitAPIWebhookWarnings(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	const token = "tok-s3cret-warn"
	s.mustPost(t, "/api/webhooks", `{"id": "ext", "endpoint": "http://hooks.example.test/in", "subscriptions": ["ticket.*"],
		"authentication": {"type": "bearer_token", "token": "`+token+`"}}`, http.StatusCreated)
	const want = "webhook ext (made through the API): authentication: bearer_token credentials are sent in the clear to a plain-HTTP endpoint; use https"
	var list struct{ Warnings []string }
	s.getJSON(t, "/api/webhooks", &list)
	s.getJSON(t, "/api/webhooks", &list)
	if !slices.Equal(list.Warnings, []string{want}) {
		t.Errorf("GET /api/webhooks warnings %q, want %q", list.Warnings, []string{want})
	}
	logged := func() int { return strings.Count(s.Stderr.String(), "plain-HTTP endpoint") }
	if n := logged(); n != 1 {
		t.Errorf("the warning was logged %d times, want once:\n%s", n, s.Stderr.String())
	}
	// A PATCH that leaves it (a new name) does not log it again.
	if resp, b := s.api(t, http.MethodPatch, "/api/webhooks/ext", strings.NewReader(`{"name": "External"}`)); resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH: %d %s", resp.StatusCode, b)
	}
	if n := logged(); n != 1 {
		t.Errorf("after a PATCH of its name, the warning was logged %d times, want once:\n%s", n, s.Stderr.String())
	}
	// Fixed by a PATCH: gone from the list; made plain again: back, and
	// logged again.
	if resp, b := s.api(t, http.MethodPatch, "/api/webhooks/ext", strings.NewReader(`{"endpoint": "https://hooks.example.test/in"}`)); resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH: %d %s", resp.StatusCode, b)
	}
	s.getJSON(t, "/api/webhooks", &list)
	if len(list.Warnings) != 0 {
		t.Errorf("after the endpoint became https, warnings %q", list.Warnings)
	}
	if resp, b := s.api(t, http.MethodPatch, "/api/webhooks/ext", strings.NewReader(`{"endpoint": "http://hooks.example.test/again"}`)); resp.StatusCode != http.StatusOK {
		t.Fatalf("PATCH: %d %s", resp.StatusCode, b)
	}
	s.getJSON(t, "/api/webhooks", &list)
	if !slices.Equal(list.Warnings, []string{want}) || logged() != 2 {
		t.Errorf("after a PATCH back to http: warnings %q, logged %d times, want %q and twice", list.Warnings, logged(), want)
	}
	if strings.Contains(s.Stderr.String(), token) {
		t.Errorf("the log shows the token:\n%s", s.Stderr.String())
	}
}

// TestEmitResignWebhookGone: replay --resign of a delivery whose webhook
// has been deleted says why it cannot sign it, naming the exchange and
// the webhook ("resign: webhook gone: not found" said neither why nor
// what to do), and one of a captured request, which no webhook sent,
// says it went unsigned rather than nothing.
func TestEmitResignWebhookGone(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer sink.Close()
	s.mustPost(t, "/api/webhooks", `{"id": "gone", "endpoint": "`+sink.URL+`/in", "subscriptions": ["ticket.*"]}`, http.StatusCreated)
	s.mustPost(t, "/api/events", `{"type": "ticket.created", "data": {"ticket": {"id": 1}}}`, http.StatusAccepted)
	var l listAnswer
	waitFor(t, func() bool { s.getJSON(t, "/api/exchanges?source=emit", &l); return len(l.Exchanges) == 1 }, "the delivery's exchange")
	delivery := l.Exchanges[0].ID
	if resp, b := s.api(t, http.MethodDelete, "/api/webhooks/gone", nil); resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d %s", resp.StatusCode, b)
	}
	captured := s.send(t, "POST", "/plain", "application/json", []byte(`{}`)).ID
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"replay", "--server", s.UI, "--target", sink.URL, "--resign", "--json", delivery, captured},
		func(string) string { return "" }, &out, &errOut)
	if err != nil && exitCode(err) != 1 {
		t.Fatalf("replay --resign: %v\n%s", err, errOut.String())
	}
	var rep struct {
		Results []struct {
			Original, Outcome, Error string
			Notes                    []string
		}
	}
	if err := json.Unmarshal([]byte(out.String()), &rep); err != nil || len(rep.Results) != 2 {
		t.Fatalf("report: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	for _, r := range rep.Results {
		switch r.Original {
		case delivery:
			want := "resign: exchange " + delivery + " is a delivery of webhook gone, which no longer exists (deleted, or taken out of the config): no secret is left to sign it with; replay it without --resign (the API's \"resign\": true), or define webhook gone again"
			if r.Outcome != "failed" || r.Error != want {
				t.Errorf("the delivery: %s %q, want failed %q", r.Outcome, r.Error, want)
			}
		case captured:
			want := "not signed again: exchange " + captured + " is no delivery of a hooklab webhook (its source is capture), so no webhook's secret signs it; it went as recorded"
			if !slices.Contains(r.Notes, want) {
				t.Errorf("the capture's notes %q, want %q", r.Notes, want)
			}
		default:
			t.Errorf("a result of %s", r.Original)
		}
	}
}

// TestMaxPayloadBoundary: a payload must be under max_payload, as
// Zendesk's must be under 256 KB: one of max_payload bytes less one is
// sent, one of exactly max_payload bytes fails before it is sent, saying
// so, for an event's invocation (hooklab send) and a test send alike.
func TestMaxPayloadBoundary(t *testing.T) {
	t.Parallel()
	got := make(chan int, 8)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- len(b)
	}))
	defer sink.Close()
	path := filepath.Join(t.TempDir(), "hooklab.yaml")
	cfg := `webhooks:
  - {id: edge, endpoint: "` + sink.URL + `/edge", max_payload: 64, signing: {scheme: none}}
triggers:
  - name: edge
    when: {event: edge.test}
    notify: {webhook: edge, payload: '{"t":"{{t}}"}'}
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", path)
	const want = "payload is 64 bytes; it must be under 64 bytes (max_payload)"
	for _, n := range []int{63, 64} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			text := strings.Repeat("x", n-len(`{"t":""}`))
			var out, errOut syncBuffer
			err := run(context.Background(), []string{"send", "edge.test", "--server", s.UI, "--data", `{"t":"` + text + `"}`}, func(string) string { return "" }, &out, &errOut)
			switch {
			case n < 64 && err != nil:
				t.Errorf("send of a %d-byte payload: %v\n%s", n, err, errOut.String())
			case n < 64:
				if size := <-got; size != n {
					t.Errorf("the endpoint got %d bytes, want %d", size, n)
				}
			case err == nil || !strings.Contains(errOut.String(), want):
				t.Errorf("send of a %d-byte payload: %v, stderr %q; want it failed before it was sent with %q", n, err, errOut.String(), want)
			}

			r, b := s.api(t, "POST", "/api/webhooks/edge/test", strings.NewReader(`{"payload": {"t":"`+text+`"}}`))
			switch {
			case n < 64 && r.StatusCode != http.StatusOK:
				t.Errorf("test send of a %d-byte payload: %d %s", n, r.StatusCode, b)
			case n < 64:
				if size := <-got; size != n {
					t.Errorf("the test send's endpoint got %d bytes, want %d", size, n)
				}
			case r.StatusCode != http.StatusBadRequest || !strings.Contains(string(b), want):
				t.Errorf("test send of a %d-byte payload: %d %s; want a 400 saying %q", n, r.StatusCode, b, want)
			}
		})
	}
	select {
	case size := <-got:
		t.Errorf("the endpoint got a %d-byte payload it should not have", size)
	default:
	}
}

// TestEmitConfigShortEnvValues: GET /api/emit/config shows a value from
// ${NAME} as ${NAME} when it is 6 characters or more, the rule by which
// error messages leave the environment's values out; a shorter one (a
// port, a region, a word) shows as it is, not taken for a secret, unless
// its name looks secret (REDACTED whatever its length).
func TestEmitConfigShortEnvValues(t *testing.T) {
	t.Parallel()
	cfg := `webhooks:
  - {id: hook, endpoint: "http://127.0.0.1:9/hook"}
triggers:
  - name: env
    when:
      event: ticket.*
      all: [{path: ticket.region, value: "${SHORT}"}, {path: ticket.zone, value: "${LONG}"}]
    notify:
      webhook: hook
      payload: {region: "${SHORT}", zone: "${LONG}", api_key: "${KEY}"}
`
	path := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServerEnv(t, map[string]string{"SHORT": "eu-w1", "LONG": "eu-west-1", "KEY": "k1"}, "--memory", "--config", path)
	var got struct {
		Triggers []struct {
			When   any
			Notify struct{ Payload string }
		}
	}
	s.getJSON(t, "/api/emit/config", &got)
	if len(got.Triggers) != 1 {
		t.Fatalf("triggers %+v", got.Triggers)
	}
	tr := got.Triggers[0]
	if want := `{"api_key":"REDACTED","region":"eu-w1","zone":"${LONG}"}`; tr.Notify.Payload != want {
		t.Errorf("payload %s, want %s", tr.Notify.Payload, want)
	}
	when, _ := json.Marshal(tr.When)
	if want := `{"all":[{"path":"ticket.region","value":"eu-w1"},{"path":"ticket.zone","value":"${LONG}"}]}`; string(when) != want {
		t.Errorf("conditions %s, want %s", when, want)
	}
}

// TestSendAfterFailedReload: when a send queues nothing while the config
// file's last reload failed (a trigger just added in a broken edit), send
// says so, with the error, since the live triggers are the last good
// file's. It said only that no trigger fired, pointing at the webhooks,
// and the new trigger's author looked for a fault in its conditions.
func TestSendAfterFailedReload(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "hooklab.yaml")
	good := "webhooks:\n  - {id: bot, endpoint: \"http://127.0.0.1:9/hook\"}\n"
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", file)
	broken := good + "triggers:\n  - name: new-ticket\n    when: {event: ticket.created}\n    notify: {webhook: bot, paylaod: '{}'}\n"
	if err := os.WriteFile(file, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	within(t, reloadWithin, "the reload to fail", func() bool { return s.rules(t).Error != nil })

	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"send", "ticket.created", "--server", s.UI}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("send: %v\n%s", err, errOut.String())
	}
	msg := errOut.String()
	for _, want := range []string{"nothing was queued", "the config file " + file + " did not load", file + ":6", "paylaod"} {
		if !strings.Contains(msg, want) {
			t.Errorf("send after a failed reload says %q, want it to contain %q", msg, want)
		}
	}

	// Fixed, the note goes.
	if err := os.WriteFile(file, []byte(good), 0o600); err != nil {
		t.Fatal(err)
	}
	within(t, reloadWithin, "the reload to succeed", func() bool { return s.rules(t).Error == nil })
	var fixed syncBuffer
	if err := run(context.Background(), []string{"send", "ticket.created", "--server", s.UI}, func(string) string { return "" }, &out, &fixed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(fixed.String(), "did not load") {
		t.Errorf("send after the config was fixed says %q", fixed.String())
	}
}
