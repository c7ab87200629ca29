package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// stopTimeout is how long a child gets to shut down after SIGINT before it
// is killed.
const stopTimeout = 5 * time.Second

// ServerSpec describes a child process that serves HTTP and announces its
// listeners on stdout or stderr with startup lines such as
// "capture: http://127.0.0.1:39211/".
type ServerSpec struct {
	Name    string        // short name for logs and errors: "bare", "hooklab"
	Path    string        // executable
	Args    []string      // arguments after the executable
	Dir     string        // working directory; empty means the current one
	Env     []string      // extra environment, appended to os.Environ()
	LogPath string        // where its stdout and stderr go; empty means discard
	Want    []string      // startup labels that must appear before it counts as up
	Timeout time.Duration // how long to wait for them; zero means 30s
}

// Server is a running child process started by StartServer.
type Server struct {
	Name string
	// URLs maps each startup label seen (lower case) to its URL.
	URLs map[string]string

	cmd  *exec.Cmd
	out  *lineWriter
	done chan struct{} // closed when the process has exited
	err  error         // Wait's error, valid after done
	stop sync.Once
}

// StartServer starts the process of spec and waits until every label in
// spec.Want has been announced. The process is stopped when ctx is
// cancelled or Stop is called; it runs in its own process group (so a
// terminal's Ctrl-C reaches only the bench, which then stops it) and, on
// Linux, is killed if the bench dies.
func StartServer(ctx context.Context, spec ServerSpec) (*Server, error) {
	if spec.Timeout == 0 {
		spec.Timeout = 30 * time.Second
	}
	var logw io.Writer = io.Discard
	var logf *os.File
	if spec.LogPath != "" {
		f, err := os.Create(spec.LogPath)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", spec.Name, err)
		}
		logf, logw = f, f
	}
	want := make(map[string]bool, len(spec.Want))
	for _, w := range spec.Want {
		want[strings.ToLower(w)] = true
	}
	found := make(chan startupURL, 16)
	out := &lineWriter{log: logw, onLine: func(line string) {
		for _, u := range parseStartupLine(line) {
			select {
			case found <- u:
			default: // nobody listens any more, or a flood: startup is over
			}
		}
	}}

	cmd := exec.CommandContext(ctx, spec.Path, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Stdout = out
	cmd.Stderr = out // same comparable writer: one pipe, one copying goroutine
	cmd.SysProcAttr = sysProcAttr()
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = stopTimeout
	if err := cmd.Start(); err != nil {
		if logf != nil {
			logf.Close()
		}
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	s := &Server{Name: spec.Name, URLs: map[string]string{}, cmd: cmd, out: out, done: make(chan struct{})}
	go func() {
		s.err = cmd.Wait()
		if logf != nil {
			logf.Close()
		}
		close(s.done)
	}()

	timer := time.NewTimer(spec.Timeout)
	defer timer.Stop()
	for missing(want, s.URLs) != "" {
		select {
		case u := <-found:
			if _, ok := s.URLs[u.Label]; !ok {
				s.URLs[u.Label] = u.URL
			}
		case <-s.done:
			return nil, fmt.Errorf("%s exited before announcing %q (%v)%s", spec.Name, missing(want, s.URLs), s.err, s.out.tailText())
		case <-timer.C:
			s.Stop()
			return nil, fmt.Errorf("%s did not announce %q within %v%s", spec.Name, missing(want, s.URLs), spec.Timeout, s.out.tailText())
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		}
	}
	return s, nil
}

func missing(want map[string]bool, got map[string]string) string {
	var m []string
	for w := range want {
		if _, ok := got[w]; !ok {
			m = append(m, w)
		}
	}
	return strings.Join(m, ", ")
}

// PID returns the process id.
func (s *Server) PID() int { return s.cmd.Process.Pid }

// Exited reports whether the process has exited, and its error if so.
func (s *Server) Exited() (bool, error) {
	select {
	case <-s.done:
		if s.err == nil {
			return true, errors.New("exited")
		}
		return true, s.err
	default:
		return false, nil
	}
}

// Check returns an error with the end of the process's output if it has
// exited.
func (s *Server) Check() error {
	if gone, err := s.Exited(); gone {
		return fmt.Errorf("%s died: %v%s", s.Name, err, s.out.tailText())
	}
	return nil
}

// Stop asks the process to shut down with SIGINT and kills it after
// stopTimeout. It is safe to call more than once.
func (s *Server) Stop() {
	s.stop.Do(func() {
		select {
		case <-s.done:
			return
		default:
		}
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(stopTimeout):
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
}

// CPUTicks is the CPU time (user and system, in clock ticks) the server's
// process has used, from /proc.
func (s *Server) CPUTicks() (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.PID()))
	if err != nil {
		return 0, err
	}
	return parseStatTicks(b)
}

// ticks is n clock ticks of /proc's CPU times (USER_HZ: 100 a second on
// Linux).
func ticks(n int64) time.Duration { return time.Duration(n) * 10 * time.Millisecond }

// parseStatTicks returns utime+stime from a /proc/PID/stat line. The
// command name in parentheses may hold spaces, so fields count from the
// last ')'.
func parseStatTicks(b []byte) (int64, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[i+1:]))
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("short /proc stat")
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, fmt.Errorf("/proc stat: %w", err)
	}
	return u + st, nil
}

// waitIdle waits, up to limit, until every server has used at most one
// clock tick of CPU in a quarter second: work a server defers (hooklab's
// text index catches up when traffic pauses) must not run during another
// target's measured run. It returns how long it waited.
func waitIdle(ctx context.Context, servers []*Server, limit time.Duration) time.Duration {
	start := time.Now()
	prev := make([]int64, len(servers))
	for i, s := range servers {
		prev[i], _ = s.CPUTicks()
	}
	for time.Since(start) < limit {
		select {
		case <-ctx.Done():
			return time.Since(start)
		case <-time.After(250 * time.Millisecond):
		}
		idle := true
		for i, s := range servers {
			t, err := s.CPUTicks()
			if err != nil {
				continue // not on Linux, or gone: nothing to wait for
			}
			if t-prev[i] > 1 {
				idle = false
			}
			prev[i] = t
		}
		if idle {
			break
		}
	}
	return time.Since(start)
}

// Mem returns the process's memory figures from /proc.
func (s *Server) Mem() (Mem, error) { return readMem(s.PID()) }

// Mem holds a process's resident set size now and its peak, in bytes.
type Mem struct {
	RSS  int64 // VmRSS
	Peak int64 // VmHWM
}

func readMem(pid int) (Mem, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return Mem{}, fmt.Errorf("read memory of %d: %w", pid, err)
	}
	return parseProcStatus(b)
}

// parseProcStatus reads VmRSS and VmHWM from the text of /proc/PID/status.
func parseProcStatus(b []byte) (Mem, error) {
	var m Mem
	var seen int
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || (k != "VmRSS" && k != "VmHWM") {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return Mem{}, fmt.Errorf("proc status: bad %s line %q", k, sc.Text())
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return Mem{}, fmt.Errorf("proc status: bad %s line %q", k, sc.Text())
		}
		if k == "VmRSS" {
			m.RSS = n * 1024
		} else {
			m.Peak = n * 1024
		}
		seen++
	}
	if seen != 2 {
		return Mem{}, errors.New("proc status: no VmRSS and VmHWM (kernel thread or not Linux?)")
	}
	return m, nil
}

type startupURL struct{ Label, URL string }

// startupRE matches "label: URL" as printed at startup, and also the
// label=URL and "label":"URL" of structured log lines. Labels are one word.
var startupRE = regexp.MustCompile(`([A-Za-z][A-Za-z0-9_-]*)"?\s*[:=]\s*"?((?:https?|wss?)://[^\s"',]+)`)

// parseStartupLine returns the labelled URLs in one line of a server's
// output, labels in lower case, e.g. "  UI:  http://127.0.0.1:4040/" gives
// {ui http://127.0.0.1:4040/}.
func parseStartupLine(line string) []startupURL {
	var out []startupURL
	for _, m := range startupRE.FindAllStringSubmatch(line, -1) {
		out = append(out, startupURL{Label: strings.ToLower(m[1]), URL: m[2]})
	}
	return out
}

// lineWriter splits a child's output into lines, copies it to a log, calls
// onLine for each line, and keeps the last few lines for error messages.
type lineWriter struct {
	log    io.Writer
	onLine func(string)

	mu      sync.Mutex
	partial []byte
	tail    []string
}

const tailLines = 20

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, _ = w.log.Write(p) // a failing log must not kill the child's pipe
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.partial[:i]), "\r")
		w.partial = w.partial[i+1:]
		if len(w.tail) == tailLines {
			w.tail = w.tail[1:]
		}
		w.tail = append(w.tail, line)
		if w.onLine != nil {
			w.onLine(line)
		}
	}
	if len(w.partial) > 64<<10 { // a line without end: keep the log going, parse nothing
		w.partial = w.partial[:0]
	}
	return len(p), nil
}

// tailText returns the last lines of output, indented, for an error message.
func (w *lineWriter) tailText() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := w.tail
	if len(w.partial) > 0 {
		lines = append(append([]string(nil), lines...), string(w.partial))
	}
	if len(lines) == 0 {
		return " (no output)"
	}
	return "; last output:\n    " + strings.Join(lines, "\n    ")
}

// moduleRoot returns the directory holding the go.mod of the current module.
func moduleRoot(ctx context.Context) (string, error) {
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the hooklab module (go env GOMOD is empty); run from the repository or pass --hooklab")
	}
	return filepath.Dir(gomod), nil
}

// buildHooklab builds the hooklab binary of the current module into dir and
// returns its path: from the work tree, or with rev set from that git
// revision exported into dir (so that others' unfinished edits in the tree
// do not matter, and revisions can be compared).
func buildHooklab(ctx context.Context, dir, rev string) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	if rev != "" {
		src := filepath.Join(dir, "src")
		if err := exportRev(ctx, root, rev, src); err != nil {
			return "", err
		}
		root = src
	}
	bin := filepath.Join(dir, "hooklab")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build hooklab in %s: %w\n%s", root, err, bytes.TrimSpace(out))
	}
	return bin, nil
}

// exportRev writes the files of git revision rev of the repository at root
// into dst.
func exportRev(ctx context.Context, root, rev, dst string) error {
	cmd := exec.CommandContext(ctx, "git", "archive", "--format=tar", rev)
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("git archive %s: %w", rev, err)
	}
	terr := untar(out, dst)
	_, _ = io.Copy(io.Discard, out)
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("git archive %s: %w: %s", rev, err, bytes.TrimSpace(stderr.Bytes()))
	}
	if terr != nil {
		return fmt.Errorf("export %s: %w", rev, terr)
	}
	return nil
}

// untar writes the directories and regular files of a tar stream into dst;
// git archive has nothing else that a build needs (symlinks are skipped).
func untar(r io.Reader, dst string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.FromSlash(h.Name)
		if !filepath.IsLocal(name) {
			return fmt.Errorf("unsafe path %q", h.Name)
		}
		path := filepath.Join(dst, name)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(path, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&0o755|0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}
