package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hooklab/hooklab/emit"
	_ "modernc.org/sqlite"
)

// TestCrashKill9 starts the real binary, drives captures and emitter events
// at it and kills it with SIGKILL at random moments, restarting it on the
// same data directory each time. Afterwards every acknowledged capture is
// stored, every invocation of every acknowledged event reached the sink at
// least once, both databases pass PRAGMA integrity_check, and no
// invocation is left pending past its due time.
//
// HOOKLAB_CRASH_ROUNDS (default 20) sets the number of kills and
// HOOKLAB_CRASH_ROUND_MS (default 700) the longest time between a start and
// its kill, for longer runs.
func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: builds and kills the real binary; skipped with -short")
	}
	if runtime.GOOS == "windows" {
		t.Skip("crash test: needs SIGKILL")
	}
	rounds := envInt(t, "HOOKLAB_CRASH_ROUNDS", 20)
	roundMax := time.Duration(envInt(t, "HOOKLAB_CRASH_ROUND_MS", 700)) * time.Millisecond
	bin := buildHooklab(t)

	sink := newDedupSink()
	srv := httptest.NewServer(sink)
	defer srv.Close()

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "hooklab.yaml")
	// Two webhooks on one event type: each event makes two invocations.
	conf := fmt.Sprintf(`webhooks:
  - id: sink-a
    endpoint: %[1]s/a
  - id: sink-b
    endpoint: %[1]s/b
  - id: sink-c
    endpoint: %[1]s/c
subscriptions:
  - webhook: sink-a
    events: [order.*]
  - webhook: sink-b
    events: [order.created]
  - webhook: sink-c
    events: [request.captured]
`, srv.URL)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		captures = map[string]string{} // acknowledged capture id -> body token
		invs     = map[string]string{} // acknowledged invocation id -> webhook
		events   int
		failures atomic.Int64 // requests that got no answer (the kill)
	)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 8))
	seq := atomic.Int64{}
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 32}}
	for round := range rounds {
		p := startProc(t, bin, data, cfg)
		ctx, stop := context.WithCancel(context.Background())
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				for ctx.Err() == nil {
					tok := fmt.Sprintf("crash-token-%d", seq.Add(1))
					id, ok := postCapture(ctx, client, p.capture, tok)
					if !ok {
						failures.Add(1)
						continue
					}
					mu.Lock()
					captures[id] = tok
					mu.Unlock()
				}
			})
		}
		for range 2 {
			wg.Go(func() {
				for ctx.Err() == nil {
					n := seq.Add(1)
					got, ok := postEvent(ctx, client, p.ui, n)
					if !ok {
						failures.Add(1)
						continue
					}
					mu.Lock()
					events++
					for _, q := range got {
						invs[q.ID] = q.WebhookID
					}
					mu.Unlock()
				}
			})
		}
		wait := time.Duration(rng.Int64N(int64(roundMax-50*time.Millisecond))) + 50*time.Millisecond
		time.Sleep(wait)
		p.kill(t)
		stop()
		wg.Wait()
		client.CloseIdleConnections()
		if round == rounds-1 {
			// Straight after a kill, before anything opened the files again.
			checkIntegrity(t, data)
		}
	}
	mu.Lock()
	t.Logf("%d kills: %d captures and %d events (%d invocations) acknowledged, %d requests cut off by the kills",
		rounds, len(captures), events, len(invs), failures.Load())
	mu.Unlock()
	if len(captures) == 0 || len(invs) == 0 {
		t.Fatalf("nothing was acknowledged: %d captures, %d invocations", len(captures), len(invs))
	}

	// The last start, not killed: everything acknowledged must be there.
	p := startProc(t, bin, data, cfg)
	for id, tok := range captures {
		resp, err := client.Get(p.ui + "api/exchanges/" + id)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("acknowledged capture %s is lost: %d %s", id, resp.StatusCode, b)
			continue
		}
		if !bytes.Contains(b, []byte(tok)) {
			t.Errorf("capture %s does not hold its body %q: %s", id, tok, b)
		}
	}

	deadline := time.Now().Add(30 * time.Second)
	var missing []string
	for {
		missing = missing[:0]
		for id := range invs {
			if !sink.seen(id) {
				missing = append(missing, id)
			}
		}
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d acknowledged invocations never reached the sink, e.g. %v", len(missing), len(invs), missing[:min(5, len(missing))])
		for _, id := range missing[:min(3, len(missing))] {
			resp, err := client.Get(p.ui + "api/invocations/" + id)
			if err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				t.Logf("invocation %s: %d %s", id, resp.StatusCode, b)
			}
		}
	}
	t.Logf("sink: %d distinct invocations, %d deliveries (%d repeats after kills)", sink.distinct(), sink.total(), sink.total()-int64(sink.distinct()))

	// Every acknowledged capture made its request.captured event, even one
	// answered just before a kill (its event was still in memory): the
	// restart takes in what the store has and the emitter had not.
	var lostEvents []string
	for deadline := time.Now().Add(30 * time.Second); ; {
		lostEvents = lostEvents[:0]
		for id, tok := range captures {
			if !sink.captured(tok) {
				lostEvents = append(lostEvents, id)
			}
		}
		if len(lostEvents) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(lostEvents) > 0 {
		t.Errorf("%d of %d acknowledged captures never made their request.captured delivery, e.g. %v", len(lostEvents), len(captures), lostEvents[:min(5, len(lostEvents))])
	}

	// Nothing pending past its due time (a little slack for the poll).
	for _, hook := range []string{"sink-a", "sink-b", "sink-c"} {
		resp, err := client.Get(p.ui + "api/webhooks/" + hook + "/invocations?status=pending&limit=100")
		if err != nil {
			t.Fatal(err)
		}
		var list struct {
			Invocations []emit.Invocation `json:"invocations"`
		}
		err = json.NewDecoder(resp.Body).Decode(&list)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		for _, inv := range list.Invocations {
			if inv.NextAt == nil || time.Since(*inv.NextAt) > 2*time.Second {
				t.Errorf("invocation %s of %s is stuck pending (next attempt %v, %d attempts, error %q)", inv.ID, hook, inv.NextAt, inv.Attempts, inv.Error)
			}
		}
	}
	var st emit.Stats
	if resp, err := client.Get(p.ui + "api/emit/stats"); err == nil {
		_ = json.NewDecoder(resp.Body).Decode(&st)
		resp.Body.Close()
	}
	t.Logf("emit stats after restart: %+v", st)
	if n := st.ByStatus[emit.InvocationFailed]; n > 0 {
		t.Errorf("%d invocations failed for good; the sink always answers 200", n)
	}
	p.term(t)
	checkIntegrity(t, data)
}

func envInt(t *testing.T, key string, def int) int {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		t.Fatalf("%s=%q: want a positive number", key, v)
	}
	return n
}

// buildHooklab builds the binary once per test into a temporary directory.
func buildHooklab(t *testing.T) string {
	t.Helper()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	out := filepath.Join(t.TempDir(), "hooklab")
	cmd := exec.Command(goBin, "build", "-o", out, ".")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
	return out
}

// proc is a running hooklab binary.
type proc struct {
	cmd     *exec.Cmd
	capture string // base URL, trailing slash
	ui      string
	stderr  *syncBuffer
	done    chan error
}

// startProc starts the binary on data and waits for its startup lines.
func startProc(t *testing.T, bin, data, cfg string, extra ...string) *proc {
	t.Helper()
	args := append([]string{"serve", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--data", data, "--config", cfg}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, stderr: new(syncBuffer), done: make(chan error, 1)}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		p.done <- cmd.Wait()
	}()
	timeout := time.After(20 * time.Second)
	for p.capture == "" || p.ui == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("hooklab exited at start: %v\nstderr:\n%s", <-p.done, p.stderr.String())
			}
			if v, ok := strings.CutPrefix(l, "capture: "); ok {
				p.capture = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(l, "ui: "); ok {
				p.ui = strings.TrimSpace(v)
			}
		case <-timeout:
			_ = cmd.Process.Kill()
			t.Fatalf("hooklab did not print its URLs within 20s\nstderr:\n%s", p.stderr.String())
		}
	}
	go func() {
		for range lines { // keep the pipe drained
		}
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	return p
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatal("hooklab survived SIGKILL for 10s")
	}
}

// term stops the process gracefully and requires a clean exit.
func (p *proc) term(t *testing.T) {
	t.Helper()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		if err != nil {
			t.Errorf("hooklab exited with %v after SIGTERM\nstderr:\n%s", err, p.stderr.String())
		}
	case <-time.After(20 * time.Second):
		_ = p.cmd.Process.Kill()
		t.Errorf("hooklab did not stop within 20s of SIGTERM")
	}
}

func postCapture(ctx context.Context, c *http.Client, base, tok string) (id string, ok bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"b/crash/orders", strings.NewReader(`{"token":"`+tok+`"}`))
	if err != nil {
		return "", false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	var a ack
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&a) != nil || a.ID == "" {
		return "", false
	}
	return a.ID, true
}

func postEvent(ctx context.Context, c *http.Client, base string, n int64) ([]emit.Queued, bool) {
	body := fmt.Sprintf(`{"type":"order.created","data":{"order":{"id":%d}}}`, n)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"api/events", strings.NewReader(body))
	if err != nil {
		return nil, false
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return nil, false
	}
	defer resp.Body.Close()
	var res emit.EventsResponse
	if resp.StatusCode != http.StatusAccepted || json.NewDecoder(resp.Body).Decode(&res) != nil {
		return nil, false
	}
	return res.Invocations, true
}

// checkIntegrity runs PRAGMA integrity_check on both databases in data.
func checkIntegrity(t *testing.T, data string) {
	t.Helper()
	for _, name := range []string{"hooklab.db", emit.DBFile} {
		path := filepath.Join(data, name)
		if _, err := os.Stat(path); err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(5000)")
		if err != nil {
			t.Fatal(err)
		}
		var res []string
		rows, err := db.Query(`PRAGMA integrity_check`)
		if err != nil {
			t.Errorf("%s: integrity_check: %v", name, err)
			db.Close()
			continue
		}
		for rows.Next() {
			var s string
			_ = rows.Scan(&s)
			res = append(res, s)
		}
		rows.Close()
		db.Close()
		if len(res) != 1 || res[0] != "ok" {
			t.Errorf("%s: integrity_check: %v", name, res)
		}
	}
}

// dedupSink is a webhook receiver that counts deliveries per invocation id,
// and keeps the capture tokens of request.captured deliveries (to /c).
type dedupSink struct {
	mu     sync.Mutex
	ids    map[string]int
	tokens map[string]bool
	n      atomic.Int64
	rand   *rand.Rand
}

func newDedupSink() *dedupSink {
	return &dedupSink{ids: map[string]int{}, tokens: map[string]bool{}, rand: rand.New(rand.NewPCG(1, 2))}
}

var crashToken = regexp.MustCompile(`crash-token-[0-9]+`)

func (s *dedupSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if r.URL.Path == "/c" {
		if tok := crashToken.Find(body); tok != nil {
			s.mu.Lock()
			s.tokens[string(tok)] = true
			s.mu.Unlock()
		}
	}
	id := r.Header.Get(emit.HeaderInvocation)
	s.mu.Lock()
	delay := time.Duration(s.rand.IntN(20)) * time.Millisecond
	s.mu.Unlock()
	time.Sleep(delay) // so that kills land during deliveries too
	if id == "" {
		http.Error(w, "no "+emit.HeaderInvocation, http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	s.ids[id]++
	s.mu.Unlock()
	s.n.Add(1)
	w.WriteHeader(http.StatusOK)
}

func (s *dedupSink) seen(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id] > 0
}

// captured reports whether a request.captured delivery carried tok.
func (s *dedupSink) captured(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[tok]
}

func (s *dedupSink) distinct() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.ids)
}

func (s *dedupSink) total() int64 { return s.n.Load() }
