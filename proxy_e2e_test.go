package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

func TestReverseProxyFlagRecords(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"echo":%q}`, b)
	}))
	defer up.Close()
	s := startServer(t, "--memory", "--proxy", "127.0.0.1:0="+up.URL)
	proxyURL(t, s, "proxy: ") // its line follows those startServer waits for
	line := ""
	for _, l := range strings.Split(s.Stdout.String(), "\n") {
		if strings.HasPrefix(l, "proxy: ") {
			line = l
		}
	}
	fields := strings.Fields(line)
	if len(fields) < 4 {
		t.Fatalf("no proxy line in %q", s.Stdout.String())
	}
	proxyURL := fields[1]
	resp, err := http.Post(proxyURL+"orders?id=7", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `{"echo":"hello"}` {
		t.Fatalf("through the proxy: %s", b)
	}
	_, wb := s.api(t, "GET", "/api/exchanges/wait?source=proxy&after=00000000000000000000000000&timeout=10s", nil)
	var e apiExchange
	if err := json.Unmarshal(wb, &e); err != nil {
		t.Fatalf("%v: %s", err, wb)
	}
	if e.Source != "proxy" || !strings.HasPrefix(e.Bin, "proxy-") || string(e.requestBody(t)) != "hello" || e.Response == nil || e.Response.Body != `{"echo":"hello"}` {
		t.Errorf("recorded %+v", e)
	}
}

// proxyURL returns the URL a startup line with the given prefix names.
func proxyURL(t *testing.T, s *server, prefix string) string {
	t.Helper()
	// The proxies' lines follow the capture and UI lines startServer
	// waits for.
	deadline := time.Now().Add(10 * time.Second)
	for {
		for _, l := range strings.Split(s.Stdout.String(), "\n") {
			if strings.HasPrefix(l, prefix) {
				return strings.Fields(l)[1]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q line in %q", prefix, s.Stdout.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestForwardProxyMITMAndSimulate: HTTPS through the forward proxy is
// decrypted with the CA `hooklab ca` prints; the session exported as HAR
// then answers through --simulate with the upstream switched off.
func TestForwardProxyMITMAndSimulate(t *testing.T) {
	t.Parallel()
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	}))
	dir := t.TempDir()
	s := startServer(t, "--data", dir, "--forward-proxy", "127.0.0.1:0", "--mitm", "--insecure-upstream")
	var caOut, caErr syncBuffer
	if err := run(context.Background(), []string{"ca", "--data", dir}, func(string) string { return "" }, &caOut, &caErr); err != nil {
		t.Fatalf("hooklab ca: %v %s", err, caErr.String())
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(caOut.String())) {
		t.Fatalf("hooklab ca printed no certificate:\n%s", caOut.String())
	}
	fwd, _ := url.Parse(proxyURL(t, s, "forward-proxy: "))
	// Its curl and Go examples go through the proxy it is told of (they
	// said 127.0.0.1:8888 whatever the proxy's address was).
	caOut = syncBuffer{}
	if err := run(context.Background(), []string{"ca", "--data", dir, "--forward-proxy", fwd.Host}, func(string) string { return "" }, &caOut, &caErr); err != nil {
		t.Fatalf("hooklab ca --forward-proxy: %v %s", err, caErr.String())
	}
	if out := caOut.String(); !strings.Contains(out, "-x http://"+fwd.Host+" ") || !strings.Contains(out, "HTTPS_PROXY=http://"+fwd.Host+" ") {
		t.Errorf("hooklab ca --forward-proxy %s examples:\n%s", fwd.Host, out)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(fwd), TLSClientConfig: &tls.Config{RootCAs: pool}}}
	resp, err := client.Get(up.URL + "/secret/orders")
	if err != nil {
		t.Fatalf("through the MITM proxy: %v", err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `{"path":"/secret/orders"}` {
		t.Fatalf("answer %s", b)
	}
	_, wb := s.api(t, "GET", "/api/exchanges/wait?source=proxy&q=orders&after=00000000000000000000000000&timeout=10s", nil)
	var e apiExchange
	if err := json.Unmarshal(wb, &e); err != nil || !strings.HasPrefix(e.Request.URL, "https://") || e.Response == nil || e.Response.Body != string(b) {
		t.Fatalf("decrypted exchange not recorded: %v %s", err, wb)
	}
	harPath := filepath.Join(dir, "session.har")
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"export", "--server", s.UI, "--source", "proxy", "--har", harPath}, func(string) string { return "" }, &out, &errOut); err != nil {
		t.Fatalf("export: %v %s", err, errOut.String())
	}
	upHost := strings.TrimPrefix(up.URL, "https://")
	up.Close() // the upstream is gone; the simulation answers

	s2 := startServer(t, "--memory", "--proxy", "127.0.0.1:0=https://"+upHost, "--simulate", harPath)
	pu := proxyURL(t, s2, "proxy: ")
	resp, err = http.Get(pu + "secret/orders")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != `{"path":"/secret/orders"}` {
		t.Fatalf("simulated answer %d %s", resp.StatusCode, b)
	}
	resp, err = http.Get(pu + "never/recorded")
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 404 || !strings.Contains(string(b), "secret/orders") {
		t.Errorf("a miss: %d %s (want 404 naming the closest recorded request)", resp.StatusCode, b)
	}
}

// TestMockForUnknownProxyWarns: a mock scoped to a proxy that is not
// running can never match, and the log says so (once per mock); one scoped
// to a running proxy, or to any ("*"), is not warned about.
func TestMockForUnknownProxyWarns(t *testing.T) {
	t.Parallel()
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	content := `mocks:
  - {name: lost, proxy: nosuch, respond: {status: 200}}
  - {name: any, proxy: "*", respond: {status: 200}}
`
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg, "--proxy", "127.0.0.1:0=http://127.0.0.1:1")
	s.Stop(t)
	log := s.Stderr.String()
	if strings.Count(log, "mock applies to a proxy that is not running") != 1 || !strings.Contains(log, "mock=lost") || !strings.Contains(log, "proxy=nosuch") {
		t.Errorf("the log does not warn once about the mock lost:\n%s", log)
	}
}

// TestReverseProxyWebsocketOpenAtShutdown: a websocket still open through
// a proxy when hooklab stops is closed and recorded (its connection is
// hijacked, so the server's own shutdown neither waits for nor closes it).
func TestReverseProxyWebsocketOpenAtShutdown(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			kind, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			if err := c.WriteMessage(kind, msg); err != nil {
				return
			}
		}
	}))
	defer up.Close()
	dir := t.TempDir()
	s := startServer(t, "--data", dir, "--proxy", "127.0.0.1:0="+up.URL)
	base := proxyURL(t, s, "proxy: ")
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"ws", nil)
	if err != nil {
		t.Fatalf("dial through the proxy: %v", err)
	}
	defer c.Close()
	for i := range 2 {
		if err := c.WriteMessage(websocket.TextMessage, fmt.Appendf(nil, "m%d", i)); err != nil {
			t.Fatal(err)
		}
		if _, _, err := c.ReadMessage(); err != nil {
			t.Fatal(err)
		}
	}
	s.Stop(t) // the websocket is still open
	if _, _, err := c.ReadMessage(); err == nil {
		t.Error("the websocket stayed open after hooklab stopped")
	}
	s = startServer(t, "--data", dir)
	var list struct{ Exchanges []struct{ ID string } }
	s.getJSON(t, "/api/exchanges?source=proxy&status=101", &list)
	if len(list.Exchanges) != 1 {
		t.Fatalf("%d proxied 101 exchanges stored, want the websocket's one", len(list.Exchanges))
	}
	var ex struct {
		Meta map[string]any `json:"meta"`
	}
	s.getJSON(t, "/api/exchanges/"+list.Exchanges[0].ID, &ex)
	ws, _ := ex.Meta["websocket"].(map[string]any)
	if up, _ := ws["frames_up"].(float64); up < 2 {
		t.Errorf("websocket meta %v, want the 2 frames sent up", ex.Meta)
	}
}

// TestReverseProxyWebsocketClosedWhileOthersDrain: a websocket through a
// proxy is closed when shutdown starts, even while another request (a
// stream held open) keeps the shutdown waiting for its deadline; it was
// closed only at that deadline.
func TestReverseProxyWebsocketClosedWhileOthersDrain(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/hold" {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			_, _ = io.WriteString(w, "data: one\n\n")
			http.NewResponseController(w).Flush()
			<-r.Context().Done()
			return
		}
		c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		for {
			if _, _, err := c.ReadMessage(); err != nil {
				return
			}
		}
	}))
	defer up.Close()
	s := startServer(t, "--memory", "--shutdown-timeout", "6s", "--proxy", "127.0.0.1:0="+up.URL)
	base := proxyURL(t, s, "proxy: ")
	hold, err := http.Get(base + "hold")
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Body.Close()
	if _, err := bufio.NewReader(hold.Body).ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	c, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(base, "http")+"ws", nil)
	if err != nil {
		t.Fatalf("dial through the proxy: %v", err)
	}
	defer c.Close()
	s.cancel() // shutdown starts; the held stream keeps it waiting
	start := time.Now()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, _, err := c.ReadMessage(); err == nil {
		t.Fatal("a message instead of the close")
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("the websocket was closed %v after shutdown began, with a held request keeping it waiting; want at once", d.Round(time.Millisecond))
	}
	hold.Body.Close()
	s.Stop(t)
}

// TestReverseProxyH2C: a client speaking HTTP/2 with prior knowledge (curl
// --http2-prior-knowledge) is proxied as on the capture port, instead of
// its preface going upstream as a request "PRI *".
func TestReverseProxyH2C(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.Path, b)
	}))
	defer up.Close()
	s := startServer(t, "--memory", "--proxy", "127.0.0.1:0="+up.URL)
	base := proxyURL(t, s, "proxy: ")
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Post(base+"h2", "text/plain", strings.NewReader("hi"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.ProtoMajor != 2 || string(b) != "POST /h2 hi" {
		t.Fatalf("answered %s %q, want HTTP/2 and the upstream's answer", resp.Proto, b)
	}
	_, wb := s.api(t, "GET", "/api/exchanges/wait?source=proxy&after=00000000000000000000000000&timeout=10s", nil)
	var e apiExchange
	if err := json.Unmarshal(wb, &e); err != nil || e.Request.Proto != "HTTP/2.0" || e.Request.Method != "POST" {
		t.Errorf("recorded %s (%v)", wb, err)
	}
}

// TestReverseProxyRefusesForeignHost: a reverse proxy on loopback passes on
// only requests whose Host is a loopback address, localhost or an
// --allow-host name; a web page that rebinds its own name to 127.0.0.1
// reached the upstream with the credentials of the upstream's URL, and
// could read the answers.
func TestReverseProxyRefusesForeignHost(t *testing.T) {
	t.Parallel()
	var seen atomic.Int64
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen.Add(1)
		io.WriteString(w, "upstream")
	}))
	t.Cleanup(up.Close)
	u, _ := url.Parse(up.URL)
	u.User = url.UserPassword("bob", "pw")
	s := startServer(t, "--memory", "--proxy", "127.0.0.1:0="+u.String(), "--allow-host", "myapp.test")
	pu := proxyURL(t, s, "proxy: ")
	port := strings.TrimSuffix(pu[strings.LastIndexByte(pu, ':')+1:], "/")
	for _, c := range []struct {
		host string
		want int
	}{
		{"127.0.0.1:" + port, 200},
		{"localhost:" + port, 200},
		{"[::1]:" + port, 200},
		{"app.localhost:" + port, 200},
		{"myapp.test:" + port, 200},
		{"evil.example:" + port, http.StatusForbidden},
		{"evil.example", http.StatusForbidden},
		{"10.1.2.3:" + port, http.StatusForbidden},
	} {
		req, _ := http.NewRequest("POST", pu+"charge", strings.NewReader("amount=100"))
		req.Host = c.host
		req.Header.Set("Content-Type", "text/plain")
		before := seen.Load()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("Host %s: %d %s, want %d", c.host, resp.StatusCode, body, c.want)
		}
		if reached := seen.Load() > before; reached != (c.want == 200) {
			t.Errorf("Host %s: reached the upstream: %v", c.host, reached)
		}
		if c.want == http.StatusForbidden && !strings.Contains(string(body), "--allow-host evil.example") && !strings.Contains(string(body), "--allow-host 10.1.2.3") {
			t.Errorf("Host %s: the refusal does not say how to allow it: %s", c.host, body)
		}
	}
}

// TestProxyUpstreamSecretsShownRedacted: a proxy's upstream given with
// user info and a secret-named query parameter is sent as it is (the
// password as Basic auth, the query on every request), and printed with
// both REDACTED on the startup line and in the log, and its query's
// secrets REDACTED in the exchange's meta.upstream, in the API and
// exports. The startup line showed the upstream's ?access_token= as
// given (its password was already REDACTED), and meta.upstream did until
// it was recorded redacted.
func TestProxyUpstreamSecretsShownRedacted(t *testing.T) {
	t.Parallel()
	type got struct{ auth, query string }
	seen := make(chan got, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- got{r.Header.Get("Authorization"), r.URL.RawQuery}
	}))
	defer up.Close()
	upstream := strings.Replace(up.URL, "http://", "http://bob:up-s3cret@", 1) + "/base?access_token=up-tok&x=1"
	s := startServer(t, "--memory", "--log-level", "debug", "--proxy", "127.0.0.1:0="+upstream)
	p := proxyURL(t, s, "proxy: ")
	resp, err := http.Get(p + "orders")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if g, want := <-seen, (got{"Basic " + base64.StdEncoding.EncodeToString([]byte("bob:up-s3cret")), "access_token=up-tok&x=1"}); g != want {
		t.Errorf("the upstream got %+v, want %+v", g, want)
	}
	_, wb := s.api(t, "GET", "/api/exchanges/wait?source=proxy&after=00000000000000000000000000&timeout=10s", nil)
	var e struct {
		ID   string         `json:"id"`
		Meta map[string]any `json:"meta"`
	}
	if err := json.Unmarshal(wb, &e); err != nil {
		t.Fatalf("%v: %s", err, wb)
	}
	// Where the exchange went reads as the startup line shows it, in the
	// exchange, the list, the export, revealed or not.
	if want := up.URL + "/base/orders?access_token=REDACTED&x=1"; e.Meta["upstream"] != want {
		t.Errorf("meta.upstream %v, want %s", e.Meta["upstream"], want)
	}
	for _, path := range []string{"/api/exchanges/" + e.ID, "/api/exchanges/" + e.ID + "?reveal=1", "/api/exchanges?source=proxy", "/api/export.har", "/api/export.har?keep_secrets=1"} {
		if _, b := s.api(t, "GET", path, nil); strings.Contains(string(b), "up-tok") || strings.Contains(string(b), "up-s3cret") {
			t.Errorf("GET %s shows the upstream's secrets: %s", path, b)
		}
	}
	want := "/ -> " + strings.Replace(up.URL, "http://", "http://bob:REDACTED@", 1) + "/base?access_token=REDACTED&x=1 (bin proxy-"
	if out := s.Stdout.String(); !strings.Contains(out, want) {
		t.Errorf("startup lines do not show the upstream as %q:\n%s", want, out)
	}
	s.Stop(t)
	for name, out := range map[string]string{"stdout": s.Stdout.String(), "log": s.Stderr.String()} {
		for _, secret := range []string{"up-s3cret", "up-tok"} {
			if strings.Contains(out, secret) {
				t.Errorf("%s shows %s:\n%s", name, secret, out)
			}
		}
	}
}

// TestProxyFlagErrorsRedactSecretHeaders: a --proxy refused (a bad
// upstream, or one that is hooklab's own API) quotes it with the values
// of the query parameters --secret-header names REDACTED, as the startup
// line does: the errors knew only the built-in secret names, and showed
// ?x-partner-ref= as given.
func TestProxyFlagErrorsRedactSecretHeaders(t *testing.T) {
	t.Parallel()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ui := l.Addr().String()
	l.Close()
	for _, tc := range []struct{ name, spec, want string }{
		{"bad upstream", "127.0.0.1:0=http://]:1/?x-partner-ref=TOK-s3cret", "the upstream must be"},
		{"own API", "127.0.0.1:0=http://" + ui + "/?x-partner-ref=TOK-s3cret", "is hooklab's own API"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut syncBuffer
			err := run(context.Background(), []string{"serve", "--memory", "--capture", "127.0.0.1:0", "--ui", ui,
				"--secret-header", "X-Partner-Ref", "--proxy", tc.spec}, func(string) string { return "" }, &out, &errOut)
			msg := fmt.Sprint(err) + errOut.String() + out.String()
			if err == nil || !strings.Contains(msg, tc.want) || strings.Contains(msg, "TOK-s3cret") || !strings.Contains(msg, "x-partner-ref=REDACTED") {
				t.Errorf("err = %v\n%s\nwant %q with x-partner-ref=REDACTED", err, msg, tc.want)
			}
		})
	}
}

// TestProxyFailRateZeroFailsNothing: `fail_rate: 0` written on a route
// (under a proxy-level fault, or beside the route's own) is a share of
// none: every request passes to the upstream. It used to read as "fail_rate
// unset", where a fault applies to every request, so the route meant to be
// spared, or the fault dialled down to nothing, reset every connection.
func TestProxyFailRateZeroFailsNothing(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "up "+r.URL.Path)
	}))
	defer up.Close()
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	content := `proxies:
  - name: api
    listen: 127.0.0.1:0
    fault: reset
    fail_rate: 0.5
    routes:
      - {path: /spared, upstream: "` + up.URL + `", fail_rate: 0}
      - {path: /off, upstream: "` + up.URL + `", fault: close, fail_rate: 0}
      - {path: /always, upstream: "` + up.URL + `", fault: reset, fail_rate: 1}
`
	if err := os.WriteFile(cfg, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--memory", "--config", cfg)
	base := proxyURL(t, s, "proxy: ")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, path := range []string{"spared/a", "off/b"} {
		for i := range 10 {
			resp, err := client.Get(base + path)
			if err != nil {
				t.Fatalf("%s, request %d: %v", path, i, err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 || string(b) != "up /"+path {
				t.Fatalf("%s, request %d: %d %s", path, i, resp.StatusCode, b)
			}
		}
	}
	// fail_rate: 1 still fails every request.
	if resp, err := client.Get(base + "always/c"); err == nil {
		resp.Body.Close()
		t.Errorf("fail_rate 1: got %d, want the connection reset", resp.StatusCode)
	}
}

// TestCAOfTheRunningServer: hooklab ca, given no --data, prints the CA
// that the running hooklab's decrypting forward proxy uses, with its
// address, where it made and printed a new CA in the default data
// directory: a server started with --data elsewhere decrypts with another,
// so the one trusted failed every request.
func TestCAOfTheRunningServer(t *testing.T) {
	t.Parallel()
	data, home := t.TempDir(), t.TempDir()
	s := startServer(t, "--data", data, "--forward-proxy", "127.0.0.1:0", "--mitm")
	fwd := strings.TrimSuffix(strings.TrimPrefix(proxyURL(t, s, "forward-proxy: "), "http://"), "/")
	env := map[string]string{"HOOKLAB_UI": strings.TrimSuffix(s.UI, "/"), "XDG_DATA_HOME": home}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"ca"}, func(k string) string { return env[k] }, &out, &errOut); err != nil {
		t.Fatalf("hooklab ca: %v %s", err, errOut.String())
	}
	cert := filepath.Join(data, "hooklab-ca.pem")
	if !strings.HasPrefix(out.String(), "CA certificate: "+cert+"\n") || !strings.Contains(out.String(), "-x http://"+fwd+" ") {
		t.Errorf("hooklab ca printed\n%s\nwant the CA %s and the proxy %s", out.String(), cert, fwd)
	}
	if _, err := os.Stat(filepath.Join(home, "hooklab", "hooklab-ca.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("hooklab ca made a CA in the default data directory: %v", err)
	}
	// --data given is the CA asked for.
	other := t.TempDir()
	var out2, errOut2 syncBuffer
	if err := run(context.Background(), []string{"ca", "--data", other}, func(k string) string { return env[k] }, &out2, &errOut2); err != nil ||
		!strings.HasPrefix(out2.String(), "CA certificate: "+filepath.Join(other, "hooklab-ca.pem")+"\n") {
		t.Errorf("hooklab ca --data %s: %v\n%s", other, err, out2.String())
	}
}

// TestCAOfARunningServerWithoutMITM: hooklab ca pointed at a hooklab that
// decrypts nothing says so on stderr, and that the CA it prints is the
// data directory's, for a hooklab started with --mitm there; it printed
// that CA without a word, to be taken for the running server's.
func TestCAOfARunningServerWithoutMITM(t *testing.T) {
	t.Parallel()
	home := t.TempDir()
	s := startServer(t, "--memory")
	env := map[string]string{"HOOKLAB_UI": strings.TrimSuffix(s.UI, "/"), "XDG_DATA_HOME": home}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"ca"}, func(k string) string { return env[k] }, &out, &errOut); err != nil {
		t.Fatalf("hooklab ca: %v %s", err, errOut.String())
	}
	dir := filepath.Join(home, "hooklab")
	if !strings.HasPrefix(out.String(), "CA certificate: "+filepath.Join(dir, "hooklab-ca.pem")+"\n") {
		t.Errorf("hooklab ca printed\n%s", out.String())
	}
	want := "hooklab ca: the hooklab at " + strings.TrimSuffix(s.UI, "/") + " decrypts no HTTPS (it runs no --forward-proxy with --mitm); this is the CA in " + dir
	if !strings.Contains(errOut.String(), want) {
		t.Errorf("stderr %q, want %q", errOut.String(), want)
	}
	// None running there: nothing to say of it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ln.Close()
	env["HOOKLAB_UI"] = "http://" + ln.Addr().String()
	var out2, errOut2 syncBuffer
	if err := run(context.Background(), []string{"ca"}, func(k string) string { return env[k] }, &out2, &errOut2); err != nil || errOut2.String() != "" {
		t.Errorf("hooklab ca with no server: %v, stderr %q", err, errOut2.String())
	}
}
