package main

import (
	"bufio"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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
