package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestAuthAndListenerLimits(t *testing.T) {
	t.Parallel()
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"serve", "--memory", "--capture", "127.0.0.1:0", "--ui", "0.0.0.0:0"}, func(string) string { return "" }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "--auth") {
		t.Fatalf("a UI beyond loopback without --auth: %v", err)
	}
	// A forward proxy beyond loopback would open this machine's loopback
	// services (the API included) to anyone: refused, --auth or not.
	for _, env := range []string{"", "s3cret"} {
		err = run(context.Background(), []string{"serve", "--memory", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--forward-proxy", "0.0.0.0:0"},
			func(k string) string { return map[string]string{"HOOKLAB_AUTH": env}[k] }, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "forward proxy forward on 0.0.0.0:0 reaches beyond this machine") || exitCode(err) != 2 {
			t.Errorf("a forward proxy beyond loopback (HOOKLAB_AUTH %q): %v (exit %d, want 2 as for --ui)", env, err, exitCode(err))
		}
	}

	s := startServerEnv(t, map[string]string{"HOOKLAB_AUTH": "s3cret"}, "--memory", "--capture-auth", "--max-conns", "4")
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string, hdr ...string) (*http.Response, string) {
		req, _ := http.NewRequest("GET", s.UI+strings.TrimPrefix(path, "/"), nil)
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	if resp, b := get("/api/exchanges"); resp.StatusCode != 401 || !strings.Contains(b, "token") {
		t.Errorf("API without the token: %d %s", resp.StatusCode, b)
	}
	if resp, b := get("/"); resp.StatusCode != 401 || !strings.Contains(b, "<form") {
		t.Errorf("page without the token: %d, want the token form", resp.StatusCode)
	}
	if resp, _ := get("/api/exchanges", "Authorization", "Bearer wrong"); resp.StatusCode != 401 {
		t.Errorf("a wrong token: %d", resp.StatusCode)
	}
	for _, h := range []string{"Bearer s3cret", "bearer s3cret", "BEARER  s3cret"} { // the scheme in any case
		if resp, _ := get("/api/exchanges", "Authorization", h); resp.StatusCode != 200 {
			t.Errorf("Authorization: %s: %d", h, resp.StatusCode)
		}
	}
	if resp, _ := get("/api/exchanges", "Authorization", "Basic s3cret"); resp.StatusCode != 401 {
		t.Errorf("the token under another scheme: %d", resp.StatusCode)
	}
	resp, _ := get("/?token=s3cret")
	var cookie *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "hooklab_auth" {
			cookie = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || cookie == nil || !cookie.HttpOnly {
		t.Fatalf("the token form: %d, cookie %v", resp.StatusCode, cookie)
	}
	if resp, _ := get("/api/exchanges", "Cookie", "hooklab_auth="+cookie.Value); resp.StatusCode != 200 {
		t.Errorf("the cookie: %d", resp.StatusCode)
	}

	// Capture needs the token too with --capture-auth.
	post := func(hdr string) (int, string) {
		req, _ := http.NewRequest("POST", s.Capture+"hook", strings.NewReader("{}"))
		if hdr != "" {
			req.Header.Set("X-Hooklab-Token", hdr)
		}
		// No keep-alive: a connection left idle here would count against
		// --max-conns below.
		req.Close = true
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode, string(b)
	}
	// The refusal names both ways of sending the token.
	if got, b := post(""); got != 401 || !strings.Contains(b, "X-Hooklab-Token header") || !strings.Contains(b, "hooklab_token query parameter") {
		t.Errorf("capture without the token: %d %s", got, b)
	}
	if got, _ := post("s3cret"); got != 200 {
		t.Errorf("capture with the token: %d", got)
	}
	// The token as a query parameter: it is not recorded, and the rest of
	// the query is, as sent (it was sorted and re-encoded, %zz dropped).
	qreq, _ := http.NewRequest("GET", s.Capture+"b/q/x%41?z=1&hooklab_token=s3cret&b=%zz&c=d%20e", nil)
	qreq.Close = true
	if resp, err := http.DefaultClient.Do(qreq); err != nil || resp.StatusCode != 200 {
		t.Fatalf("capture with the token in the query: %v", err)
	} else {
		resp.Body.Close()
	}
	if resp, b := get("/api/exchanges?bin=q", "Authorization", "Bearer s3cret"); resp.StatusCode != 200 || !strings.Contains(b, `/b/q/x%41?z=1\u0026b=%zz\u0026c=d%20e"`) && !strings.Contains(b, `/b/q/x%41?z=1&b=%zz&c=d%20e"`) {
		t.Errorf("recorded URL with the token taken out: %d %s", resp.StatusCode, b)
	}

	// The CLI sends $HOOKLAB_AUTH; without it, it says so rather than
	// retrying forever or quietly reading a local store instead. (A server
	// of its own: the connections the commands leave would count against
	// this one's --max-conns.)
	cs := startServerEnv(t, map[string]string{"HOOKLAB_AUTH": "s3cret"}, "--memory", "--capture-auth")
	if resp, err := http.DefaultClient.Do(func() *http.Request {
		req, _ := http.NewRequest("POST", cs.Capture+"hook", strings.NewReader("{}"))
		req.Header.Set("X-Hooklab-Token", "s3cret")
		return req
	}()); err != nil || resp.StatusCode != 200 {
		t.Fatalf("capture on the CLI's server: %v", err)
	} else {
		resp.Body.Close()
	}
	cli := func(token string, args ...string) (string, error) {
		env := map[string]string{"HOOKLAB_UI": cs.UI, "HOOKLAB_AUTH": token, "HOOKLAB_DATA": t.TempDir()}
		var out, errOut syncBuffer
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		err := run(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
		return out.String() + errOut.String(), err
	}
	if out, err := cli("s3cret", "export", "--har", "-"); err != nil || !strings.Contains(out, `"url":"`+cs.Capture+`hook"`) {
		t.Errorf("export with the token: %v\n%.300s", err, out)
	}
	if out, err := cli("", "export", "--har", "-"); err == nil || !strings.Contains(err.Error(), "wants a token: set HOOKLAB_AUTH (401)") {
		t.Errorf("export without the token: %v\n%.300s", err, out)
	}
	if out, err := cli("wrong", "export", "--har", "-"); err == nil || !strings.Contains(err.Error(), "refused the token in HOOKLAB_AUTH (401)") {
		t.Errorf("export with a wrong token: %v\n%.300s", err, out)
	}
	if out, err := cli("", "send", "order.created"); err == nil || !strings.Contains(err.Error(), "wants a token: set HOOKLAB_AUTH (401)") {
		t.Errorf("send without the token: %v %s", err, out)
	}
	if out, err := cli("s3cret", "send", "order.created"); err != nil || !strings.Contains(out, `"events"`) {
		t.Errorf("send with the token: %v %s", err, out)
	}
	if _, err := cli("", "tail", "--server", cs.UI); err == nil || !strings.Contains(err.Error(), "wants a token: set HOOKLAB_AUTH") {
		t.Errorf("tail without the token: %v", err)
	}
	if _, err := cli("wrong", "tail", "--server", cs.UI); err == nil || !strings.Contains(err.Error(), "refused the token") {
		t.Errorf("tail with a wrong token: %v", err)
	}
	// No server and no data: an error, not an empty export from a store
	// made on the spot.
	empty := filepath.Join(t.TempDir(), "none")
	env := map[string]string{"HOOKLAB_UI": "http://127.0.0.1:1", "HOOKLAB_DATA": empty}
	if err := run(context.Background(), []string{"export", "--har", "-"}, func(k string) string { return env[k] }, &out, &errOut); err == nil || !strings.Contains(err.Error(), "no hooklab data in "+empty) {
		t.Errorf("export with neither server nor data: %v", err)
	}
	if _, err := os.Stat(empty); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("export made %s: %v", empty, err)
	}

	// --max-conns 4: keep-alive connections idle between requests for over
	// a second give their places up (one is closed, as the idle timeout
	// would); connections that hold a place otherwise (here, ones that
	// have begun a request) turn the next away with a 503.
	addr := strings.TrimSuffix(strings.TrimPrefix(s.Capture, "http://"), "/")
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	request := func(c net.Conn) (int, error) {
		fmt.Fprintf(c, "GET /held HTTP/1.1\r\nHost: %s\r\nX-Hooklab-Token: s3cret\r\n\r\n", addr)
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			return 0, err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, nil
	}
	var idle []net.Conn
	defer func() {
		for _, c := range idle {
			c.Close()
		}
	}()
	for tries := 0; len(idle) < 4; tries++ {
		c := dial()
		// An answered request proves the server accepted (and counts)
		// the connection, which then stays open, idle.
		code, err := request(c)
		if err != nil {
			t.Fatal(err)
		}
		if code == http.StatusServiceUnavailable && tries < 100 {
			// The server may not have counted the captures' closed
			// connections out yet.
			c.Close()
			time.Sleep(10 * time.Millisecond)
			continue
		}
		idle = append(idle, c)
		if code != 200 {
			t.Fatalf("a held connection's request: %d", code)
		}
	}
	time.Sleep(1200 * time.Millisecond) // idle over a second: their places may be given up
	fifth := dial()
	defer fifth.Close()
	if code, err := request(fifth); err != nil || code != 200 {
		t.Errorf("with the 4 places held by idle keep-alives, a fifth connection's request: %d, %v; want 200", code, err)
	}
	closed := 0
	for _, c := range idle {
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(make([]byte, 1)); errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) {
			closed++
		}
	}
	if closed != 1 {
		t.Errorf("%d idle connections were closed for the fifth; want 1", closed)
	}
	for _, c := range idle {
		c.Close()
	}
	idle = nil
	fifth.Close()

	// Places held by connections in the middle of something are kept.
	// Each first has a request answered, which proves it holds a place
	// (the server may not have counted the closed ones out yet: a 503,
	// and another try), then begins a second and does not end it.
	var quiet []net.Conn
	defer func() {
		for _, c := range quiet {
			c.Close()
		}
	}()
	for tries := 0; len(quiet) < 4; tries++ {
		c := dial()
		code, err := request(c)
		if err != nil {
			t.Fatal(err)
		}
		if code == http.StatusServiceUnavailable && tries < 100 {
			c.Close()
			time.Sleep(10 * time.Millisecond)
			continue
		}
		quiet = append(quiet, c)
		if code != 200 {
			t.Fatalf("a quiet connection's first request: %d", code)
		}
		fmt.Fprintf(c, "GET /slow HTTP/1.1\r\n") // a request begun, not ended
	}
	c := dial()
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(c)
	if !strings.HasPrefix(string(b), "HTTP/1.1 503") || !strings.Contains(string(b), "too many connections") {
		t.Errorf("a connection beyond --max-conns got %q", b)
	}
}

// TestAuthCookieStaysHome: a browser sends the UI's hooklab_auth cookie to
// every port of the host; the capture port does not record it and a proxy
// does not pass it upstream, while the request's other cookies go as sent.
func TestAuthCookieStaysHome(t *testing.T) {
	t.Parallel()
	cookies := make(chan []string, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cookies <- r.Header.Values("Cookie")
	}))
	defer up.Close()
	s := startServerEnv(t, map[string]string{"HOOKLAB_AUTH": "s3cret"}, "--memory", "--proxy", "127.0.0.1:0="+up.URL)
	const sent, want = "a=1; hooklab_auth=0123abcd;b=2", "a=1; b=2"
	do := func(url string, cookie ...string) {
		req, _ := http.NewRequest("GET", url, nil)
		for _, c := range cookie {
			req.Header.Add("Cookie", c)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	do(proxyURL(t, s, "proxy: ")+"p", sent, "hooklab_auth=0123abcd")
	if got := <-cookies; len(got) != 1 || got[0] != want {
		t.Errorf("the upstream got Cookie %q, want [%q]", got, want)
	}
	do(s.Capture+"c", sent)
	var list struct {
		Exchanges []struct{ ID, Path string }
	}
	req, _ := http.NewRequest("GET", s.UI+"api/exchanges?source=capture", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if len(list.Exchanges) != 1 {
		t.Fatalf("captured %+v, want one exchange", list.Exchanges)
	}
	req, _ = http.NewRequest("GET", s.UI+"api/exchanges/"+list.Exchanges[0].ID+"/raw", nil)
	req.Header.Set("Authorization", "Bearer s3cret")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if strings.Contains(string(raw), "hooklab_auth") || !strings.Contains(string(raw), "Cookie: a=REDACTED; b=REDACTED") { // Raw redacts cookie values
		t.Errorf("the capture recorded:\n%s", raw)
	}
}
