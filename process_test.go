package main

import (
	"bufio"
	"errors"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// waitExit waits for the process's exit status, for at most 30 s.
func waitExit(t *testing.T, cmd *exec.Cmd, done <-chan error) error {
	t.Helper()
	select {
	case err := <-done:
		return err
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		t.Fatal("hooklab did not exit within 30s of its signal")
		return nil
	}
}

// TestServeOutlivesItsOutputReaders: the readers of serve's stdout and
// stderr go away once it has started ("hooklab serve 2>&1 | grep -m1
// ui:"); it goes on capturing, and a SIGTERM still stops it gracefully,
// status 0, though its log line then has nowhere to go (a SIGPIPE used to
// kill it there, in the middle of its stop).
func TestServeOutlivesItsOutputReaders(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildHooklab(t)
	cmd := exec.Command(bin, "serve", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data"))
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	capture := ""
	sc := bufio.NewScanner(stdout)
	for capture == "" && sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "capture: "); ok {
			capture = v
		}
	}
	if capture == "" {
		t.Fatalf("hooklab printed no capture URL: %v", sc.Err())
	}
	// Both readers go: every later write of hooklab's meets a broken pipe.
	stdout.Close()
	stderr.Close()
	for i := range 3 {
		resp, err := http.Post(capture+"b/gone/x", "text/plain", strings.NewReader("hi"))
		if err != nil {
			t.Fatalf("capture %d after the readers went: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("capture %d after the readers went: %s", i, resp.Status)
		}
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := waitExit(t, cmd, done); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = errors.New(ee.ProcessState.String())
		}
		t.Fatalf("after SIGTERM hooklab exited with %v; want a graceful stop, status 0", err)
	}
}
