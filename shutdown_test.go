package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// TestShutdownSecondInterruptExitsAtOnce runs the real binary with a
// 60-second --shutdown-timeout, holds a capture in flight (its body
// promised and never sent), and sends SIGINT twice: after the first the
// process drains and stays up; after the second it exits at once, with a
// non-zero status, long before the shutdown timeout.
func TestShutdownSecondInterruptExitsAtOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildHooklab(t)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hooklab.yaml")
	if err := os.WriteFile(cfg, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	p := startProc(t, bin, filepath.Join(dir, "data"), cfg, "--shutdown-timeout", "60s")

	// A request the capture handler is inside of: it asked for the body
	// (100 Continue) and waits for bytes that never come.
	u, _ := url.Parse(p.capture)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Minute))
	if _, err := c.Write([]byte("POST /b/held/x HTTP/1.1\r\nHost: " + u.Host + "\r\nContent-Type: text/plain\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	status, err := bufio.NewReader(c).ReadString('\n')
	if err != nil || !strings.Contains(status, " 100 ") {
		t.Fatalf("want 100 Continue while the handler reads the body, got %q, %v", status, err)
	}

	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	// The first interrupt starts a graceful stop that waits for the held
	// request: the process logs it and stays up.
	waitFor(t, func() bool { return strings.Contains(p.stderr.String(), "shutting down") }, "the shutdown log line")
	select {
	case err := <-p.done:
		t.Fatalf("hooklab exited (%v) after one SIGINT with a request in flight and a 60s shutdown timeout\nstderr:\n%s", err, p.stderr.String())
	case <-time.After(time.Second):
	}

	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() == 0 {
			t.Errorf("after a second SIGINT hooklab exited with %v; want a non-zero status", err)
		}
		t.Logf("second SIGINT: exited after %v with %v", time.Since(start).Round(time.Millisecond), err)
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("hooklab still draining 30s after a second SIGINT (shutdown timeout 60s)\nstderr:\n%s", p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), "second interrupt") {
		t.Errorf("the log does not say why it stopped at once:\n%s", p.stderr.String())
	}
}

// TestShutdownDeadlineAnswersHonestly: at the shutdown deadline a proxied
// request whose upstream has not answered gets a 503 saying hooklab
// stopped, and is recorded so; a mock's timeout fault hangs up when the
// shutdown starts. Neither client gets the empty 200 of a handler that
// wrote nothing, and hooklab exits cleanly.
func TestShutdownDeadlineAnswersHonestly(t *testing.T) {
	t.Parallel()
	reached := make(chan struct{}, 1)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-time.After(30 * time.Second):
		}
	}))
	defer up.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "hooklab.yaml")
	yaml := "mocks:\n  - name: hang\n    match: {path: /hang}\n    respond: {fault: timeout}\n" +
		"proxies:\n  - name: delayed\n    listen: 127.0.0.1:0\n    upstream: " + up.URL + "\n    delay: 30s\n"
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	s := startServer(t, "--data", data, "--config", cfg, "--shutdown-timeout", "1s", "--proxy", "127.0.0.1:0="+up.URL, "--forward-proxy", "127.0.0.1:0")
	proxyOf := func(bin string) string { // the URL of the startup line ending "(bin NAME)"
		t.Helper()
		proxyURL(t, s, "forward-proxy: ") // the last proxy line
		for _, l := range strings.Split(s.Stdout.String(), "\n") {
			if strings.HasPrefix(l, "proxy: ") && strings.HasSuffix(l, "(bin "+bin+")") {
				return strings.Fields(l)[1]
			}
		}
		t.Fatalf("no proxy of bin %s in %q", bin, s.Stdout.String())
		return ""
	}
	delayedURL := proxyOf("delayed")
	base := ""
	for _, l := range strings.Split(s.Stdout.String(), "\n") {
		if strings.HasPrefix(l, "proxy: ") && strings.Contains(l, "(bin proxy-") {
			base = strings.Fields(l)[1]
		}
	}
	type answer struct {
		status int
		body   string
		err    error
	}
	getVia := func(client *http.Client, u string) <-chan answer {
		c := make(chan answer, 1)
		go func() {
			resp, err := client.Get(u)
			if err != nil {
				c <- answer{err: err}
				return
			}
			b, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			c <- answer{resp.StatusCode, string(b), err}
		}()
		return c
	}
	get := func(u string) <-chan answer { return getVia(http.DefaultClient, u) }
	slow := get(base + "slow")
	<-reached
	// Through the forward proxy too, and into a route's injected delay.
	fwd, _ := url.Parse(proxyURL(t, s, "forward-proxy: "))
	fwdAnswer := getVia(&http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(fwd)}}, up.URL+"/slow-forward")
	<-reached
	delayed := get(delayedURL + "d")
	hang := get(s.Capture + "hang")
	if r, b := s.api(t, "GET", "/api/exchanges/wait?bin=default&after=00000000000000000000000000&timeout=10s", nil); r.StatusCode != 200 {
		t.Fatalf("the /hang capture was not stored: %d %s", r.StatusCode, b)
	}
	s.Stop(t) // fails the test if hooklab returns an error
	if a := <-slow; a.err != nil || a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "hooklab stopped") {
		t.Errorf("the proxied request cut off at the deadline got %d %q %v; want a 503 saying hooklab stopped", a.status, a.body, a.err)
	}
	if a := <-hang; a.err == nil {
		t.Errorf("the timeout fault's client got %d %q; want the connection dropped", a.status, a.body)
	}
	for name, c := range map[string]<-chan answer{"through the forward proxy": fwdAnswer, "in a route's delay": delayed} {
		if a := <-c; a.err != nil || a.status != http.StatusServiceUnavailable || !strings.Contains(a.body, "hooklab stopped") {
			t.Errorf("the request %s cut off at the deadline got %d %q %v; want a 503 saying hooklab stopped", name, a.status, a.body, a.err)
		}
	}
	s = startServer(t, "--data", data)
	var list struct {
		Exchanges []struct {
			Status int    `json:"status"`
			Error  string `json:"error"`
		} `json:"exchanges"`
	}
	s.getJSON(t, "/api/exchanges?source=proxy", &list)
	if len(list.Exchanges) != 3 {
		t.Errorf("recorded %+v; want the three proxied requests", list.Exchanges)
	}
	for _, e := range list.Exchanges {
		if e.Status != http.StatusServiceUnavailable || !strings.Contains(e.Error, "hooklab stopped") {
			t.Errorf("recorded %+v; want the 503 with why", e)
		}
	}
}

// TestShutdownStopsEveryListenerAndRecordsCutBodies: once shutdown
// starts, every listener refuses new connections at once (the UI too,
// while a capture still drains), and a capture whose body is still coming
// at the deadline is recorded with what arrived.
func TestShutdownStopsEveryListenerAndRecordsCutBodies(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServer(t, "--data", data, "--shutdown-timeout", "3s")
	capHost := strings.TrimPrefix(strings.TrimSuffix(s.Capture, "/"), "http://")
	uiHost := strings.TrimPrefix(strings.TrimSuffix(s.UI, "/"), "http://")
	conn, err := net.Dial("tcp", capHost)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// The capture asks for the body (100 Continue) once its handler runs:
	// then the connection is the server's, and shutdown waits for it.
	if _, err := io.WriteString(conn, "POST /b/cut/x HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(conn)
	if status, err := br.ReadString('\n'); err != nil || !strings.Contains(status, " 100 ") {
		t.Fatalf("want 100 Continue once the capture reads the body, got %q, %v", status, err)
	}
	if blank, err := br.ReadString('\n'); err != nil || blank != "\r\n" {
		t.Fatalf("100 Continue ended with %q, %v", blank, err)
	}
	if _, err := io.WriteString(conn, "abc"); err != nil {
		t.Fatal(err)
	}
	s.cancel()
	refused := false
	for !refused {
		select {
		case err := <-s.done:
			t.Fatalf("hooklab exited (%v) before the UI refused connections", err)
		default:
		}
		c, err := net.DialTimeout("tcp", uiHost, time.Second)
		if err != nil {
			refused = true
			break
		}
		c.Close()
		time.Sleep(10 * time.Millisecond)
	}
	// The capture is still draining: the server has not closed it.
	_ = conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
	if _, err := conn.Read(make([]byte, 1)); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("the capture's connection ended (%v) before the UI refused connections", err)
	}
	s.Stop(t) // waits for the exit the cancel above began

	s = startServer(t, "--data", data)
	var list struct {
		Exchanges []struct {
			ID          string `json:"id"`
			RequestSize int64  `json:"request_size"`
		} `json:"exchanges"`
	}
	s.getJSON(t, "/api/exchanges?bin=cut", &list)
	if len(list.Exchanges) != 1 || list.Exchanges[0].RequestSize != 3 {
		t.Fatalf("recorded %+v; want the capture with the 3 bytes that arrived", list.Exchanges)
	}
	var ex struct {
		Error string `json:"error"`
	}
	s.getJSON(t, "/api/exchanges/"+list.Exchanges[0].ID, &ex)
	if !strings.Contains(ex.Error, "the request ended before its body did") {
		t.Errorf("recorded error %q; want it to say the request was cut off", ex.Error)
	}
}

// TestShutdownClosesReplayConnections: the keep-alive connections that
// replay runs started through the API leave to their target are closed
// when the server stops, not left open (with their goroutines) for the
// transport's idle timeout after run has returned.
func TestShutdownClosesReplayConnections(t *testing.T) {
	t.Parallel()
	var open atomic.Int64
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	up.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			open.Add(1)
		case http.StateClosed, http.StateHijacked:
			open.Add(-1)
		}
	}
	up.Start()
	defer up.Close()
	s := startServer(t, "--memory")
	a := s.send(t, "GET", "/x", "", nil)
	_, b := s.api(t, "POST", "/api/replay", strings.NewReader(`{"ids": ["`+a.ID+`"], "target": "`+up.URL+`"}`))
	var run struct{ URL string }
	if err := json.Unmarshal(b, &run); err != nil || run.URL == "" {
		t.Fatalf("start: %v %s", err, b)
	}
	var st struct{ State string }
	waitFor(t, func() bool { s.getJSON(t, run.URL, &st); return st.State == "done" }, "the run")
	if n := open.Load(); n != 1 {
		t.Fatalf("%d connections open to the target after the run; want 1 (kept alive)", n)
	}
	s.Stop(t)
	deadline := time.Now().Add(5 * time.Second)
	for open.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections to the replay target still open 5s after the server stopped", open.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}
