package main

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for a child server: with
// BENCH_TEST_CHILD set it runs that bench subcommand instead of the tests.
func TestMain(m *testing.M) {
	if args := os.Getenv("BENCH_TEST_CHILD"); args != "" {
		if err := run(context.Background(), strings.Fields(args), os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestParseStartupLine(t *testing.T) {
	t.Parallel()
	tests := []struct {
		line string
		want []startupURL
	}{
		{"capture: http://127.0.0.1:39211/", []startupURL{{"capture", "http://127.0.0.1:39211/"}}},
		{"ui:      http://127.0.0.1:4040/", []startupURL{{"ui", "http://127.0.0.1:4040/"}}},
		{"  UI: http://127.0.0.1:4040", []startupURL{{"ui", "http://127.0.0.1:4040"}}},
		{"bare: http://127.0.0.1:1234/\r", []startupURL{{"bare", "http://127.0.0.1:1234/"}}},
		{"hooklab dev: capture: http://127.0.0.1:1/ (bin default)", []startupURL{{"capture", "http://127.0.0.1:1/"}}},
		{`time=2024-06-01T10:00:00Z level=INFO msg=listening capture=http://127.0.0.1:5/ ui="http://127.0.0.1:6/"`,
			[]startupURL{{"capture", "http://127.0.0.1:5/"}, {"ui", "http://127.0.0.1:6/"}}},
		{`{"level":"INFO","msg":"listening","ui":"http://127.0.0.1:7/"}`, []startupURL{{"ui", "http://127.0.0.1:7/"}}},
		{"data: /root/.local/share/hooklab", nil},
		{"listening on http://127.0.0.1:8080", nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.line, func(t *testing.T) {
			t.Parallel()
			if got := parseStartupLine(tt.line); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseStartupLine(%q) = %v, want %v", tt.line, got, tt.want)
			}
		})
	}
}

func TestParseProcStatus(t *testing.T) {
	t.Parallel()
	const status = "Name:\thooklab\nVmPeak:\t 1300000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t   40960 kB\nThreads:\t8\n"
	tests := []struct {
		name    string
		in      string
		want    Mem
		wantErr bool
	}{
		{"linux", status, Mem{RSS: 40960 * 1024, Peak: 51200 * 1024}, false},
		{"kernel thread", "Name:\tkthreadd\nThreads:\t1\n", Mem{}, true},
		{"bad unit", strings.Replace(status, "40960 kB", "40960 MB", 1), Mem{}, true},
		{"bad number", strings.Replace(status, "40960 kB", "4x kB", 1), Mem{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := parseProcStatus([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseProcStatus error = %v, wantErr %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseProcStatus = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestLineWriter(t *testing.T) {
	t.Parallel()
	var lines []string
	var log strings.Builder
	w := &lineWriter{log: &log, onLine: func(s string) { lines = append(lines, s) }}
	for _, chunk := range []string{"cap", "ture: http://x/\r\nui: ", "http://y/\n", "tail"} {
		if _, err := w.Write([]byte(chunk)); err != nil {
			t.Fatal(err)
		}
	}
	if want := []string{"capture: http://x/", "ui: http://y/"}; !reflect.DeepEqual(lines, want) {
		t.Errorf("lines = %q, want %q", lines, want)
	}
	if log.String() != "capture: http://x/\r\nui: http://y/\ntail" {
		t.Errorf("log = %q", log.String())
	}
	if got := w.tailText(); !strings.Contains(got, "ui: http://y/\n    tail") {
		t.Errorf("tailText = %q", got)
	}
}

// childSpec runs this test binary as the bench subcommand args.
func childSpec(t *testing.T, name, args string, want ...string) ServerSpec {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return ServerSpec{
		Name:    name,
		Path:    exe,
		Env:     []string{"BENCH_TEST_CHILD=" + args},
		LogPath: filepath.Join(t.TempDir(), name+".log"),
		Want:    want,
		Timeout: 10 * time.Second,
	}
}

func TestStartServer(t *testing.T) {
	t.Parallel()
	s, err := StartServer(context.Background(), childSpec(t, "bare", "bare-server --addr 127.0.0.1:0", "bare"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	u := s.URLs["bare"]
	if !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Fatalf("URLs = %v, want a bare URL on 127.0.0.1", s.URLs)
	}
	resp, err := http.Post(u+"hook", "application/json", strings.NewReader(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("bare server answered %s", resp.Status)
	}
	if runtime.GOOS == "linux" {
		m, err := s.Mem()
		if err != nil {
			t.Fatal(err)
		}
		if m.RSS <= 0 || m.Peak < m.RSS {
			t.Errorf("Mem = %+v, want RSS > 0 and peak ≥ RSS", m)
		}
	}
	if err := s.Check(); err != nil {
		t.Fatalf("Check on a live server: %v", err)
	}
	s.Stop()
	if gone, _ := s.Exited(); !gone {
		t.Fatal("server still running after Stop")
	}
	if err := s.Check(); err == nil {
		t.Fatal("Check after Stop: want an error")
	}
	s.Stop() // twice is fine
}

func TestStartServerFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, args string
		want       []string
		timeout    time.Duration
		wantErr    string
	}{
		{"exits early", "bare-server --addr nonsense", []string{"bare"}, 10 * time.Second, "exited before announcing"},
		// "bare" may or may not have come by the deadline on a busy machine; "ui" never does.
		{"never announces", "bare-server --addr 127.0.0.1:0", []string{"ui"}, time.Second, `did not announce "ui"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			spec := childSpec(t, "child", tt.args, tt.want...)
			spec.Timeout = tt.timeout
			s, err := StartServer(context.Background(), spec)
			if err == nil {
				s.Stop()
				t.Fatal("StartServer succeeded, want an error")
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("StartServer error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestStartServerCancel(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	s, err := StartServer(ctx, childSpec(t, "bare", "bare-server --addr 127.0.0.1:0", "bare"))
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	select {
	case <-s.done:
	case <-time.After(2 * stopTimeout):
		s.Stop()
		t.Fatal("server still running after its context was cancelled")
	}
}

func TestUntar(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		files   map[string]string
		wantErr bool
	}{
		{"tree", map[string]string{"go.mod": "module x\n", "a/b/c.go": "package b\n"}, false},
		{"escapes", map[string]string{"../evil": "x"}, true},
		{"absolute", map[string]string{"/etc/evil": "x"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			tw := tar.NewWriter(&buf)
			for name, body := range tt.files {
				if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}); err != nil {
					t.Fatal(err)
				}
				if _, err := tw.Write([]byte(body)); err != nil {
					t.Fatal(err)
				}
			}
			if err := tw.Close(); err != nil {
				t.Fatal(err)
			}
			dst := t.TempDir()
			err := untar(&buf, dst)
			if (err != nil) != tt.wantErr {
				t.Fatalf("untar error = %v, wantErr %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			for name, body := range tt.files {
				got, err := os.ReadFile(filepath.Join(dst, filepath.FromSlash(name)))
				if err != nil || string(got) != body {
					t.Errorf("%s = %q, %v; want %q", name, got, err, body)
				}
			}
		})
	}
}

func TestExportRev(t *testing.T) {
	t.Parallel()
	root, err := moduleRoot(t.Context())
	if err != nil {
		t.Skip(err)
	}
	if err := exec.Command("git", "-C", root, "rev-parse", "--verify", "HEAD").Run(); err != nil {
		t.Skip("not a git checkout with a HEAD")
	}
	dst := t.TempDir()
	if err := exportRev(t.Context(), root, "HEAD", dst); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dst, "go.mod")); err != nil {
		t.Errorf("exported HEAD has no go.mod: %v", err)
	}
	if err := exportRev(t.Context(), root, "no-such-rev-"+strings.Repeat("0", 8), t.TempDir()); err == nil {
		t.Error("exportRev of a missing revision succeeded")
	}
}
