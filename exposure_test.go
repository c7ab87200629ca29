package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/hooklab/hooklab/rules"
)

// Planted secrets: none may appear in any output unless revealed on
// purpose (GET /api/webhooks/{id}/signing_secret, GET
// /api/exchanges/{id}?reveal=1).
const (
	plantedPassword  = "PLANTEDpw-7f3a91"
	plantedSigning   = "PLANTEDsign-52be0c"
	plantedVerify    = "PLANTEDverify-d41e77"
	plantedBearer    = "PLANTEDbearer-93ad1f"
	plantedAPISecret = "PLANTEDapisign-6c2e88"
	plantedCaptured  = "PLANTEDcaptured-0b7d42" // a sender's Authorization, captured
	plantedCookie    = "PLANTEDcookie-e5a0c3"   // a sender's session cookie, captured
	plantedAPIKey    = "PLANTEDapikey-1f9b27"   // a sender's X-Api-Key, captured
	plantedURLPass   = "PLANTEDurlpw-4c8d10"    // a password in a proxied URL's user info
	plantedHeaderKey = "PLANTEDhdrkey-8a1c55"   // a webhook's X-Api-Key custom header
	plantedMockToken = "PLANTEDmocktok-3e9f02"  // the Authorization a mock matches
	plantedShopSig   = "PLANTEDshopsig-71c0aa"  // a --secret-header a mock matches and a webhook sends
	plantedOwnKey    = "PLANTEDownkey-5d2a90"   // an api_key (X-Partner) of a webhook aimed at hooklab's own capture port
	plantedSentSig   = "PLANTEDsentsig-0d93e4"  // the same header, as a sender sent it
)

// TestSecretsNeverLeak plants a webhook basic-auth password, signing
// secrets, a bearer token and a verify secret, drives captures, a signed
// capture and deliveries, and then greps every output channel: the API
// (webhooks, rules, invocations, exchanges with raw and curl, info,
// healthz, stats, bins), the websocket stream, the HAR export, the log on
// stderr and stdout, and hooklab check --print. A sender's Authorization,
// Cookie and X-Api-Key captured by hooklab, and a password in a proxied
// URL, are redacted too, and shown with ?reveal=1.
func TestSecretsNeverLeak(t *testing.T) {
	t.Parallel()
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	}))
	defer sink.Close()
	cfg := `webhooks:
  - id: leaky
    endpoint: ` + sink.URL + `/hook
    authentication: {type: basic_auth, username: bot, password: ${HOOK_PASSWORD}}
    signing: {scheme: zendesk, secret: ${HOOK_SIGNING}}
    custom_headers: {X-Api-Key: ${HOOK_HEADER_KEY}, X-Shop-Sig: ${SHOP_SIG}}
  - id: bearer
    endpoint: ` + sink.URL + `/b
    authentication: {type: bearer_token, token: ${HOOK_BEARER}}
  - id: notified
    endpoint: ` + sink.URL + `/n
triggers:
  - name: never-fires
    when: {event: never.happens}
    notify: {webhook: notified, payload: '{"k": "${HOOK_BEARER}", "p": "${HOOK_PASSWORD}"}'}
subscriptions:
  - webhook: leaky
    events: [order.*]
  - webhook: bearer
    events: [order.*]
mocks:
  - name: private
    match: {path: /private, headers: {Authorization: "Bearer ${MOCK_TOKEN}", X-Shop-Sig: "${SHOP_SIG}"}}
    respond: {status: 204}
verify:
  - name: incoming
    match: {bin: signed}
    scheme: github
    secret: ${VERIFY_SECRET}
`
	dir := t.TempDir()
	path := filepath.Join(dir, "hooklab.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOOK_PASSWORD": plantedPassword, "HOOK_SIGNING": plantedSigning, "HOOK_BEARER": plantedBearer, "VERIFY_SECRET": plantedVerify,
		"HOOK_HEADER_KEY": plantedHeaderKey, "MOCK_TOKEN": plantedMockToken, "SHOP_SIG": plantedShopSig}
	s := startServerEnv(t, env, "--config", path, "--log-level", "debug", "--secret-header", "X-Shop-Sig")

	// The websocket sees everything that happens from here on.
	u, _ := url.Parse(s.UI)
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+u.Host+"/api/stream", http.Header{"Origin": {"http://" + u.Host}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var wsMu sync.Mutex
	var wsText strings.Builder
	wsDone := make(chan struct{})
	go func() {
		defer close(wsDone)
		for {
			_, m, err := ws.ReadMessage()
			if err != nil {
				return
			}
			wsMu.Lock()
			wsText.Write(m)
			wsText.WriteByte('\n')
			wsMu.Unlock()
		}
	}()

	// An API-made webhook with its own secrets.
	resp, b := s.api(t, http.MethodPost, "/api/webhooks", strings.NewReader(fmt.Sprintf(
		`{"id":"api-hook","endpoint":%q,"subscriptions":["order.*"],"authentication":{"type":"basic_auth","username":"u","password":%q},"signing":{"scheme":"standard-webhooks","secret":%q}}`,
		sink.URL+"/api", plantedPassword, "whsec_"+base64.StdEncoding.EncodeToString([]byte(plantedAPISecret)))))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", resp.StatusCode, b)
	}
	outputs := map[string]string{"POST /api/webhooks answer": string(b)}
	// One aimed at hooklab's own capture port, with an api_key under a
	// name that is no secret by itself: its capture is recorded redacted.
	resp, b = s.api(t, http.MethodPost, "/api/webhooks", strings.NewReader(fmt.Sprintf(
		`{"id":"own","endpoint":%q,"subscriptions":["order.*"],"authentication":{"type":"api_key","name":"X-Partner","value":%q}}`,
		s.Capture+"b/own/hook", plantedOwnKey)))
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("create webhook: %d %s", resp.StatusCode, b)
	}
	outputs["POST /api/webhooks answer (own)"] = string(b)

	// Traffic: a signed capture, a capture carrying a sender's secret, an
	// event, and a test send.
	body := []byte(`{"zen":"signed"}`)
	sig, _ := rules.Sign("github", []string{plantedVerify}, "", time.Now(), body)
	req, _ := http.NewRequest(http.MethodPost, s.Capture+"b/signed/x", strings.NewReader(string(body)))
	req.Header = sig
	req.Header.Set("Content-Type", "application/json")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	req, _ = http.NewRequest(http.MethodPost, s.Capture+"b/plain/x", strings.NewReader(`{}`))
	req.Header.Set("Authorization", "Bearer "+plantedCaptured)
	req.Header.Set("Cookie", "session="+plantedCookie+"; theme=dark")
	req.Header.Set("X-Api-Key", plantedAPIKey)
	req.Header.Set("X-Shop-Sig", plantedSentSig) // near-misses the mock "private"
	var plainID string
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		var a ack
		_ = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		plainID = a.ID
	}
	if plainID == "" {
		t.Fatal("the capture with a sender's secrets was not acknowledged")
	}
	// An imported HAR entry whose URL carries a password (as a forward
	// proxy may record one).
	harFile := `{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[{"startedDateTime":"2026-01-02T03:04:05Z","time":1,` +
		`"request":{"method":"GET","url":"http://bot:` + plantedURLPass + `@example.test/private","httpVersion":"HTTP/1.1","cookies":[],"headers":[],"queryString":[],"headersSize":-1,"bodySize":0},` +
		`"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","cookies":[],"headers":[],"content":{"size":0,"mimeType":"text/plain"},"redirectURL":"","headersSize":-1,"bodySize":0},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}]}}`
	if resp, b := s.api(t, http.MethodPost, "/api/import?bin=imported", strings.NewReader(harFile)); resp.StatusCode >= 300 {
		t.Fatalf("import: %d %s", resp.StatusCode, b)
	}
	resp, b = s.api(t, http.MethodPost, "/api/events", strings.NewReader(`{"type":"order.created","data":{"id":1}}`))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("event: %d %s", resp.StatusCode, b)
	}
	outputs["POST /api/events answer"] = string(b)
	_, b = s.api(t, http.MethodPost, "/api/webhooks/leaky/test", strings.NewReader(`{"payload":"{\"t\":1}"}`))
	outputs["POST /api/webhooks/leaky/test answer"] = string(b)

	// Wait for the four deliveries and the emitted exchanges.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st struct {
			ByStatus map[string]int `json:"by_status"`
		}
		s.getJSON(t, "/api/emit/stats", &st)
		if st.ByStatus["success"] >= 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("deliveries did not finish: %v", st.ByStatus)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond) // the store commits the emitted exchanges

	get := func(p string) string {
		resp, b := s.api(t, http.MethodGet, p, nil)
		outputs["GET "+p] = string(b)
		if resp.StatusCode >= 400 {
			t.Errorf("GET %s: %d %s", p, resp.StatusCode, b)
		}
		return string(b)
	}
	for _, p := range []string{"/api/webhooks", "/api/webhooks/leaky", "/api/webhooks/bearer", "/api/webhooks/api-hook",
		"/api/rules", "/api/invocations", "/api/webhooks/leaky/invocations", "/api/emit/stats", "/api/emit/config", "/api/webhooks/notified",
		"/api/info", "/healthz", "/api/bins", "/api/export.har", "/api/replay"} {
		get(p)
	}
	var invs struct {
		Invocations []struct {
			ID string `json:"id"`
		} `json:"invocations"`
	}
	_ = json.Unmarshal([]byte(outputs["GET /api/invocations"]), &invs)
	for _, inv := range invs.Invocations {
		get("/api/invocations/" + inv.ID)
	}
	var list listAnswer
	_ = json.Unmarshal([]byte(get("/api/exchanges?limit=100")), &list)
	if len(list.Exchanges) < 5 {
		t.Errorf("want at least 2 captures and 3 emitted exchanges, got %d", len(list.Exchanges))
	}
	for _, ex := range list.Exchanges {
		get("/api/exchanges/" + ex.ID)
		get("/api/exchanges/" + ex.ID + "/curl")
		get("/api/exchanges/" + ex.ID + "/raw")
	}
	get("/api/exchanges/wait?bin=plain&after=00000000000000000000000000&timeout=1s")
	get("/api/exchanges?q=" + url.QueryEscape("example.test"))

	// Asked for explicitly: the stored values, not outputs to search.
	revealedEx := map[string]string{}
	var importedID string
	for _, ex := range list.Exchanges {
		if ex.Bin == "imported" {
			importedID = ex.ID
		}
	}
	for _, p := range []string{"/api/exchanges/" + plainID + "?reveal=1", "/api/exchanges/" + plainID + "/curl?reveal=1",
		"/api/exchanges/" + plainID + "/raw?reveal=1", "/api/exchanges/" + importedID + "?reveal=1"} {
		_, b := s.api(t, http.MethodGet, p, nil)
		revealedEx[p] = string(b)
	}

	_, rb := s.api(t, http.MethodGet, "/api/webhooks/leaky/signing_secret", nil)
	revealed := string(rb) // asked for explicitly: not an output to search

	// hooklab check --print and check.
	var out, errOut syncBuffer
	getenv := func(k string) string {
		if k == "HOOKLAB_SECRET_HEADERS" {
			return "X-Shop-Sig"
		}
		return env[k]
	}
	if err := run(context.Background(), []string{"check", path, "--print"}, getenv, &out, &errOut); err != nil {
		t.Errorf("check --print: %v %s", err, errOut.String())
	}
	if err := run(context.Background(), []string{"check", path}, getenv, &out, &errOut); err != nil {
		t.Errorf("check: %v %s", err, errOut.String())
	}
	outputs["check --print and check stdout"] = out.String()
	outputs["check stderr"] = errOut.String()

	// A broken reload logs the file's error: still no secret.
	bad := strings.Replace(cfg, "scheme: github", "scheme: nope", 1)
	if err := os.WriteFile(path, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	time.Sleep(700 * time.Millisecond)

	ws.Close()
	<-wsDone
	s.Stop(t)
	wsMu.Lock()
	outputs["websocket /api/stream"] = wsText.String()
	wsMu.Unlock()
	outputs["stderr (log)"] = s.Stderr.String()
	outputs["stdout"] = s.Stdout.String()

	basic := base64.StdEncoding.EncodeToString([]byte("bot:" + plantedPassword))
	basicAPI := base64.StdEncoding.EncodeToString([]byte("u:" + plantedPassword))
	planted := map[string]string{
		"basic-auth password": plantedPassword, "basic-auth header": basic, "API basic-auth header": basicAPI,
		"signing secret": plantedSigning, "verify secret": plantedVerify, "bearer token": plantedBearer,
		"API signing secret": base64.StdEncoding.EncodeToString([]byte(plantedAPISecret)),
		"custom X-Api-Key":   plantedHeaderKey, "mock's Authorization": plantedMockToken,
		"--secret-header in config": plantedShopSig, "--secret-header as sent": plantedSentSig,
		"own webhook's api_key": plantedOwnKey,
	}
	for where, text := range outputs {
		if text == "" {
			continue
		}
		for what, secret := range planted {
			if i := strings.Index(text, secret); i >= 0 {
				t.Errorf("%s shows the %s: ...%s...", where, what, text[max(0, i-120):min(len(text), i+len(secret)+40)])
			}
		}
	}
	// What hooklab captured from senders is redacted everywhere too.
	captured := map[string]string{
		"captured Authorization": plantedCaptured, "captured cookie": plantedCookie,
		"captured X-Api-Key": plantedAPIKey, "URL password": plantedURLPass,
	}
	for where, text := range outputs {
		for what, secret := range captured {
			if i := strings.Index(text, secret); i >= 0 {
				t.Errorf("%s shows the %s: ...%s...", where, what, text[max(0, i-120):min(len(text), i+len(secret)+40)])
			}
		}
	}
	// The exchanges were read, so the grep had something to find.
	ownCaptured := false
	for where, text := range outputs {
		if strings.HasPrefix(where, "GET /api/exchanges/") && strings.Contains(text, `"bin":"own"`) && strings.Contains(text, `["X-Partner","REDACTED"]`) {
			ownCaptured = true
		}
	}
	if !ownCaptured {
		t.Error("the own webhook's delivery to the capture port was not read with X-Partner redacted")
	}
	if a := outputs["GET /api/exchanges/"+plainID]; !strings.Contains(a, "header X-Shop-Sig: the value differs (not shown: a secret)") {
		t.Errorf("the near miss does not say the secret header differed: %s", a)
	}
	if a := outputs["GET /api/exchanges/"+plainID]; !strings.Contains(a, `"redacted":["authorization","cookie","x-api-key","x-shop-sig"]`) || !strings.Contains(a, "session=REDACTED; theme=REDACTED") {
		t.Errorf("GET /api/exchanges/%s does not show what it redacted: %s", plainID, a)
	}
	// ?reveal=1 gives the stored values.
	for p, text := range revealedEx {
		want := []string{plantedCaptured, plantedCookie, plantedAPIKey}
		if strings.Contains(p, importedID) {
			want = []string{plantedURLPass}
		}
		for _, secret := range want {
			if !strings.Contains(text, secret) {
				t.Errorf("GET %s does not reveal %q: %s", p, secret, text)
			}
		}
	}
	if !strings.Contains(outputs["stderr (log)"], "config reload failed") {
		t.Errorf("the broken reload did not show in the log, so the log was not searched for what it prints")
	}
	// Revealing on purpose works (and shows the grep would catch a leak).
	if !strings.Contains(revealed, plantedSigning) {
		t.Errorf("GET /api/webhooks/leaky/signing_secret does not reveal the secret: %s", revealed)
	}
}

// TestSlowloris holds 1,000 idle connections (half with a partial request
// line or headers) on the capture port and measures how long a normal
// request takes meanwhile.
func TestSlowloris(t *testing.T) {
	s := startServer(t, "--memory")
	u, _ := url.Parse(s.Capture)
	const idle = 1000
	conns := make([]net.Conn, 0, idle)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for i := range idle {
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		switch i % 3 {
		case 1:
			_, _ = c.Write([]byte("POST /b/slow/x HTTP/1.1\r\n"))
		case 2:
			_, _ = c.Write([]byte("POST /b/slow/x HTTP/1.1\r\nHost: x\r\nX-Slow: a"))
		}
		conns = append(conns, c)
	}
	time.Sleep(200 * time.Millisecond)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	var worst time.Duration
	for range 5 {
		start := time.Now()
		resp, err := client.Post(s.Capture+"b/normal/x", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatalf("a normal request beside %d idle connections: %v", idle, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		d := time.Since(start)
		worst = max(worst, d)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("normal request: %d", resp.StatusCode)
		}
	}
	t.Logf("with %d idle connections open, the slowest of 5 normal requests took %v", idle, worst)
	if worst > 2*time.Second {
		t.Errorf("a normal request took %v beside %d idle connections; want under 2s", worst, idle)
	}
}

// TestHeaderLimits sends headers over the limit to the capture and UI
// listeners and requires 431.
func TestHeaderLimits(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	for _, base := range []string{s.Capture, s.UI} {
		u, _ := url.Parse(base)
		c, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(10 * time.Second))
		big := strings.Repeat("a", 8<<10)
		var sb strings.Builder
		fmt.Fprintf(&sb, "GET /b/big/x HTTP/1.1\r\nHost: %s\r\n", u.Host)
		for i := range 200 { // 1.6 MB of headers, over the 1 MiB limit
			fmt.Fprintf(&sb, "X-Big-%d: %s\r\n", i, big)
		}
		sb.WriteString("\r\n")
		go func() { _, _ = io.WriteString(c, sb.String()) }()
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err != nil {
			t.Errorf("%s: reading the answer to oversized headers: %v", base, err)
			continue
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("%s: oversized headers got %d; want 431", base, resp.StatusCode)
		}
	}
}

// TestDataFileModes: the data directory is 0700 and the databases 0600.
func TestDataFileModes(t *testing.T) {
	t.Parallel()
	data := filepath.Join(t.TempDir(), "fresh")
	s := startServer(t, "--data", data)
	resp, b := s.api(t, http.MethodPost, "/api/events", strings.NewReader(`{"type":"x.y"}`))
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("event: %d %s", resp.StatusCode, b)
	}
	s.Stop(t)
	want := map[string]os.FileMode{".": 0o700, "hooklab.db": 0o600, "emit.db": 0o600}
	entries, _ := os.ReadDir(data)
	for _, e := range entries {
		if _, ok := want[e.Name()]; !ok && !e.IsDir() {
			want[e.Name()] = 0o600 // -wal, -shm and anything else holding payloads
		}
	}
	for name, mode := range want {
		fi, err := os.Stat(filepath.Join(data, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := fi.Mode().Perm(); got&^mode != 0 {
			t.Errorf("%s: mode %v; want at most %v", name, got, mode)
		}
	}

	// A database left 0644 (by hand, or an older hooklab) is made 0600
	// before SQLite opens it, so the WAL it creates, which holds what is
	// captured, is 0600 too.
	if err := os.Chmod(filepath.Join(data, "hooklab.db"), 0o644); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, "--data", data)
	s.send(t, "POST", "/secret", "application/json", []byte(`{"a":1}`))
	for _, name := range []string{"hooklab.db", "hooklab.db-wal", "hooklab.db-shm"} {
		fi, err := os.Stat(filepath.Join(data, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
		} else if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("while serving, %s: mode %v; want 0600", name, got)
		}
	}
	s.Stop(t)
}

// TestConfigErrorsNameVariables: an error about a value from ${NAME} names
// the variable, not the value, also where hooklab reads the value
// trimmed and in another case before checking it (a webhook's method,
// format and authentication type): "got "SK_LIVE_..."" put the value in
// the log, GET /api/rules and hooklab check.
func TestConfigErrorsNameVariables(t *testing.T) {
	t.Parallel()
	env := map[string]string{"HOOK_METHOD": " sk_Method_51aa ", "HOOK_FORMAT": "sk_Format_52bb", "HOOK_AUTH": "Sk_AuthType_53cc", "HOOK_SCHEME": "sk_Scheme_54dd"}
	// Over plain HTTP and with two secrets, so that the warnings a valid
	// type or scheme would get are in play too: check prints them beside
	// the errors.
	cfg := `webhooks:
  - id: w
    endpoint: http://127.0.0.1:1/hook
    method: ${HOOK_METHOD}
    format: ${HOOK_FORMAT}
    authentication: {type: "${HOOK_AUTH}", token: t}
    signing: {scheme: "${HOOK_SCHEME}", secrets: [one, two]}
`
	path := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"check", path}, func(k string) string { return env[k] }, &out, &errOut)
	if exitCode(err) != 1 {
		t.Fatalf("check: exit %d (%v), want 1: %s", exitCode(err), err, errOut.String())
	}
	msg := errOut.String() + out.String()
	if err != nil {
		msg += err.Error()
	}
	for name, v := range env {
		if !strings.Contains(msg, "${"+name+"}") {
			t.Errorf("the errors do not name ${%s}:\n%s", name, msg)
		}
		if i := strings.Index(strings.ToLower(msg), strings.ToLower(strings.TrimSpace(v))); i >= 0 {
			t.Errorf("the errors quote the value of ${%s}: ...%s...", name, msg[max(0, i-60):min(len(msg), i+len(v)+20)])
		}
	}
}

// TestClientCommandsHideServerPassword: a password in the user info of
// HOOKLAB_UI or --server (a UI behind a front end that asks for basic
// auth) stays out of what the client commands print when the server does
// not answer, is not hooklab, or the URL is wrong; it was printed whole
// (as Go's own errors beside it printed "***").
func TestClientCommandsHideServerPassword(t *testing.T) {
	t.Parallel()
	const pw = "PLANTEDserverpw-6b1e0f"
	notUI := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer notUI.Close()
	dir := t.TempDir()
	harFile := filepath.Join(dir, "in.har")
	if err := os.WriteFile(harFile, []byte(`{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[]}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, server := range []string{
		"http://bob:" + pw + "@127.0.0.1:1",                                 // nothing listens
		"http://bob:" + pw + "@" + strings.TrimPrefix(notUI.URL, "http://"), // not hooklab
		"http://bob:" + pw + "@127.0.0.1:1/?x",                              // not a UI URL
	} {
		for _, args := range [][]string{
			{"send", "ticket.created", "--data", "{}"},
			{"tail", "--wait", "50ms"},
			{"export", "--har", filepath.Join(dir, "out.har")},
			{"replay", "--all", "--target", "http://127.0.0.1:1"},
			{"import", harFile},
		} {
			getenv := func(k string) string {
				switch k {
				case "HOOKLAB_UI":
					return server
				case "HOOKLAB_DATA":
					return filepath.Join(dir, "data")
				}
				return ""
			}
			var out, errOut syncBuffer
			// (import, with nothing listening, imports into the data
			// directory: no error.)
			err := run(context.Background(), args, getenv, &out, &errOut)
			text := fmt.Sprint(err) + "\n" + out.String() + errOut.String()
			if strings.Contains(text, pw) {
				t.Errorf("hooklab %s with HOOKLAB_UI %s prints the password:\n%s", args[0], server, text)
			}
		}
	}
}
