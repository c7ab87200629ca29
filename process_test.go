package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// startServeCmd starts cmd (the real binary serving, or a shell that
// execs it) and reads its start lines from stdout up to the UI's; it
// returns the capture URL and the channel Wait's answer comes on.
func startServeCmd(t *testing.T, cmd *exec.Cmd) (capture string, done <-chan error) {
	t.Helper()
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
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "capture: "); ok {
			capture = v
		}
		if strings.HasPrefix(sc.Text(), "ui: ") {
			break
		}
	}
	if capture == "" {
		t.Fatalf("hooklab printed no capture URL: %v", sc.Err())
	}
	c := make(chan error, 1)
	go func() {
		// Drained until the end, so that no later line finds the pipe full.
		for sc.Scan() {
		}
		c <- cmd.Wait()
	}()
	return capture, c
}

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

// TestServeHangup: a SIGHUP (the terminal hooklab ran in was closed)
// stops it gracefully, exit status 0, as Ctrl-C does; started with SIGHUP
// ignored (nohup), it keeps running, and a SIGTERM then stops it
// gracefully (one taken as a second signal would exit 143).
func TestServeHangup(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildHooklab(t)
	for _, tc := range []struct {
		name    string
		shell   string // run through /bin/sh -c shell bin args...
		signals []syscall.Signal
	}{
		{name: "terminal closed", signals: []syscall.Signal{syscall.SIGHUP}},
		{name: "nohup", shell: `trap "" HUP; exec "$0" "$@"`, signals: []syscall.Signal{syscall.SIGHUP, syscall.SIGTERM}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			args := []string{"serve", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--data", filepath.Join(t.TempDir(), "data")}
			cmd := exec.Command(bin, args...)
			if tc.shell != "" {
				cmd = exec.Command("/bin/sh", append([]string{"-c", tc.shell, bin}, args...)...)
			}
			stderr := new(syncBuffer)
			cmd.Stderr = stderr
			capture, done := startServeCmd(t, cmd)
			resp, err := http.Post(capture+"b/hup/x", "text/plain", strings.NewReader("hi"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			for _, sig := range tc.signals {
				if err := cmd.Process.Signal(sig); err != nil {
					t.Fatal(err)
				}
			}
			if err := waitExit(t, cmd, done); err != nil {
				t.Fatalf("after %v hooklab exited with %v; want a graceful stop, status 0\nstderr:\n%s", tc.signals, err, stderr.String())
			}
			if n := strings.Count(stderr.String(), "shutting down"); n != 1 {
				t.Errorf("the log says %q %d times; want once\n%s", "shutting down", n, stderr.String())
			}
		})
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

// TestServeInUseNamesTheHolder: a second serve on a data directory
// another hooklab process serves fails at once, naming the directory and
// the pid of the process that holds it; once that one is killed (kill -9,
// its lock file left behind), a serve there starts.
func TestServeInUseNamesTheHolder(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	bin := buildHooklab(t)
	data := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(bin, "serve", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--data", data)
	_, done := startServeCmd(t, cmd)
	args := []string{"serve", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--data", data}
	noEnv := func(string) string { return "" }
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := run(ctx, args, noEnv, io.Discard, io.Discard)
	if !errors.Is(err, inspect.ErrInUse) {
		t.Fatalf("a second serve on %s returned %v; want ErrInUse", data, err)
	}
	for _, want := range []string{data, fmt.Sprintf("pid %d", cmd.Process.Pid)} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not name %q", err, want)
		}
	}
	_ = cmd.Process.Kill()
	<-done
	ctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	var out syncBuffer
	go func() { served <- run(ctx, args, noEnv, &out, io.Discard) }()
	waitFor(t, func() bool { return strings.Contains(out.String(), "ui: ") }, "serve to start after the holder was killed")
	stop()
	if err := <-served; err != nil {
		t.Errorf("serve after the holder was killed: %v", err)
	}
}

// TestServeDataDirDanglingSymlink: --data naming a symbolic link to a
// directory that does not exist (not made yet, a disk not mounted) is
// refused saying so and where it points, not "mkdir: file exists".
func TestServeDataDirDanglingSymlink(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	target := filepath.Join(dir, "not-mounted", "hooklab")
	link := filepath.Join(dir, "data")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	err := run(context.Background(), []string{"serve", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--data", link}, func(string) string { return "" }, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("serve started on a symbolic link to nothing")
	}
	for _, want := range []string{link, "symbolic link", target, "does not exist"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not say %q", err, want)
		}
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the link's target was made (%v): hooklab would write to the mount point of a disk not mounted", err)
	}
}

// TestServeDefaultDataDirUnusable: with no --data, a default data
// directory that cannot be made (HOME read-only, or not a directory as
// here, since root writes anywhere) is refused naming it as the default
// and saying how to choose another, or none.
func TestServeDefaultDataDirUnusable(t *testing.T) {
	t.Parallel()
	home := filepath.Join(t.TempDir(), "home")
	if err := os.WriteFile(home, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"HOME": home}
	err := run(context.Background(), []string{"--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0"}, func(k string) string { return env[k] }, io.Discard, io.Discard)
	if err == nil {
		t.Fatal("serve started with a HOME that is a file")
	}
	for _, want := range []string{filepath.Join(home, ".local", "share", "hooklab"), "default data directory", "--data DIR", "--memory"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error %q does not say %q", err, want)
		}
	}
}
