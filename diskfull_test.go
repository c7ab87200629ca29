package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hooklab/hooklab/emit"
)

// mountTmpfs mounts a tmpfs of the given size on a fresh directory and
// unmounts it at cleanup. It skips the test when that is not possible.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("disk full test: needs root to mount a small tmpfs; skipped")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("disk full test: mount tmpfs failed (%v: %s); skipped", err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v %s", dir, err, out)
		}
	})
	return dir
}

// fill writes path until the file system is full and returns the bytes
// written.
func fill(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatalf("filler: %v", err)
	}
	defer f.Close()
	chunk := bytes.Repeat([]byte("F"), 64<<10)
	var n int64
	for {
		m, err := f.Write(chunk)
		n += int64(m)
		if errors.Is(err, syscall.ENOSPC) {
			// Then byte by byte, so that not even a page is left.
			for {
				if _, err := f.Write(chunk[:1]); err != nil {
					break
				}
				n++
			}
			return n
		}
		if err != nil {
			t.Fatalf("filler: %v", err)
		}
	}
}

// TestDiskFull runs hooklab with its data on an 8 MiB tmpfs and fills it:
// capture answers 503 with Retry-After and the log says why, the emitter
// keeps every queued invocation and refuses new events with a clear error,
// and both recover by themselves once space returns.
func TestDiskFull(t *testing.T) {
	mnt := mountTmpfs(t, "8m")
	data := filepath.Join(mnt, "data")

	var up atomic.Bool
	var smu sync.Mutex
	seen := map[string]int{}             // deliveries answered 200, by invocation
	tries := map[string]int{}            // every request, by invocation
	var diskFull, triedFull atomic.Int64 // diskFull is 1 while the disk is full
	// One attempt is held at the sink while the disk fills (holding is
	// closed to ask for it): answered once the disk is full, it is an
	// attempt made on a full disk however the emitter's lanes and the
	// filling interleave on a loaded machine.
	holding, held, release, answered := make(chan struct{}), make(chan string, 1), make(chan struct{}), make(chan struct{})
	var holdOnce sync.Once
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		id := r.Header.Get(emit.HeaderInvocation)
		smu.Lock()
		tries[id]++
		smu.Unlock()
		hold := false
		select {
		case <-holding:
			holdOnce.Do(func() { hold = true })
		default:
		}
		if hold {
			held <- id
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		triedFull.Add(diskFull.Load())
		if !up.Load() {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusServiceUnavailable)
			if hold {
				w.(http.Flusher).Flush()
				close(answered)
			}
			return
		}
		smu.Lock()
		seen[r.Header.Get(emit.HeaderInvocation)]++
		smu.Unlock()
	}))
	defer sink.Close()
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	conf := fmt.Sprintf(`webhooks:
  - id: down
    endpoint: %s/hook
    retry: {max_attempts: 100}
    timeout: 5m
    circuit_breaker: {disabled: true}
subscriptions:
  - webhook: down
    events: [order.*]
`, sink.URL)
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--data", data, "--config", cfg)

	capture := func(size int) (status int, hdr http.Header, body []byte, id string) {
		payload := fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", size))
		resp, err := http.Post(s.Capture+"b/full/x", "application/json", strings.NewReader(payload))
		if err != nil {
			t.Fatalf("capture: %v", err)
		}
		defer resp.Body.Close()
		body, _ = io.ReadAll(resp.Body)
		var a ack
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, &a); err != nil || a.ID == "" {
				t.Fatalf("capture answer %q", body)
			}
		}
		return resp.StatusCode, resp.Header, body, a.ID
	}
	postEvents := func(n, size int) (int, []byte, []emit.Queued) {
		var evs []string
		for i := range n {
			evs = append(evs, fmt.Sprintf(`{"type":"order.created","data":{"n":%d,"pad":%q}}`, i, strings.Repeat("y", size)))
		}
		resp, b := s.api(t, http.MethodPost, "/api/events", strings.NewReader("["+strings.Join(evs, ",")+"]"))
		var res emit.EventsResponse
		if resp.StatusCode == http.StatusAccepted {
			if err := json.Unmarshal(b, &res); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, b, res.Invocations
	}

	var stored []string
	invs := map[string]bool{}
	for range 5 {
		st, _, b, id := capture(100)
		if st != http.StatusOK {
			t.Fatalf("capture before the disk is full: %d %s", st, b)
		}
		stored = append(stored, id)
	}
	st, b, q := postEvents(20, 100)
	if st != http.StatusAccepted {
		t.Fatalf("events before the disk is full: %d %s", st, b)
	}
	for _, x := range q {
		invs[x.ID] = true
	}
	// Each invocation's first attempt is in the activity log before the
	// disk fills: a lane whose records still wait for their commit when
	// the disk fills holds every attempt until space returns (it could not
	// record them), and then no attempt is made on the full disk at all.
	recorded := time.Now().Add(time.Minute)
	for id := range invs {
		for {
			var got struct {
				Invocation struct {
					Attempts int `json:"attempt_count"`
				} `json:"invocation"`
			}
			s.getJSON(t, "/api/invocations/"+id, &got)
			if got.Invocation.Attempts > 0 {
				break
			}
			if time.Now().After(recorded) {
				t.Fatalf("invocation %s: no attempt recorded within a minute of queuing", id)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}

	// The disk may fill up under an attempt in flight before fill
	// returns, and the emitter then pauses until space returns: attempts
	// count as made on a full disk from the moment filling starts. One is
	// held at the sink meanwhile, so that at least one is.
	close(holding)
	select {
	case <-held:
	case <-time.After(time.Minute):
		t.Fatal("no attempt reached the sink within a minute")
	}
	filler := filepath.Join(mnt, "filler")
	diskFull.Store(1)
	n := fill(t, filler)
	t.Logf("filled the tmpfs with %d bytes", n)

	// Capture: 503 with Retry-After once the store cannot write.
	var full bool
	var fullAt time.Time // the first 503: its line starts the log's period
	// At most 2000 captures of 8 KiB: twice the disk.
	for i := 0; i < 2000; i++ {
		st, hdr, b, id := capture(8 << 10)
		switch st {
		case http.StatusOK:
			stored = append(stored, id)
			continue
		case http.StatusServiceUnavailable:
			if hdr.Get("Retry-After") == "" {
				t.Errorf("503 without Retry-After: %s", b)
			}
			t.Logf("capture %d after the fill: 503 Retry-After %q: %s", i, hdr.Get("Retry-After"), bytes.TrimSpace(b))
			full, fullAt = true, time.Now()
		default:
			t.Fatalf("capture on a full disk: %d %s (want 200 or 503)", st, b)
		}
		break
	}
	if !full {
		t.Fatalf("capture never answered 503 on a full disk (%d acknowledged)", len(stored))
	}
	if log := s.Stderr.String(); !strings.Contains(log, "capture not stored") || !strings.Contains(strings.ToLower(log), "full") {
		t.Errorf("the log does not say that capture could not store for lack of space:\n%s", lastBytes(log, 2000))
	}
	// Every request fails the same way now: the log says so once every
	// 5 s (and once more for those held back), not once a request.
	for range 30 {
		if st, _, b, _ := capture(8 << 10); st != http.StatusServiceUnavailable {
			t.Fatalf("capture on a full disk after a 503: %d %s", st, b)
		}
	}
	if n, most := strings.Count(s.Stderr.String(), "capture not stored"), 2+int(time.Since(fullAt)/(5*time.Second)); n < 1 || n > most {
		t.Errorf("31 captures refused on a full disk in %v logged %d lines; want 1 to %d (repeats are held back)", time.Since(fullAt).Round(time.Millisecond), n, most)
	}

	// Health says why, for the UI and monitors.
	if resp, b := s.api(t, "GET", "/healthz", nil); resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(strings.ToLower(string(b)), "full") {
		t.Errorf("/healthz on a full disk: %d %s; want 503 naming the store error", resp.StatusCode, b)
	}

	// New events: a clear error, not a silent drop.
	var refused bool
	for i := 0; i < 200; i++ {
		st, b, q := postEvents(10, 8<<10)
		if st == http.StatusAccepted {
			for _, x := range q {
				invs[x.ID] = true
			}
			continue
		}
		t.Logf("POST /api/events on a full disk: %d %s", st, bytes.TrimSpace(b))
		if st < 500 && st != http.StatusInsufficientStorage {
			t.Errorf("events on a full disk: %d; want a 5xx (503 or 507)", st)
		}
		if l := strings.ToLower(string(b)); !strings.Contains(l, "full") && !strings.Contains(l, "space") {
			t.Errorf("the events error does not say the disk is full: %s", b)
		}
		refused = true
		break
	}
	if !refused {
		t.Errorf("POST /api/events kept answering 202 on a full disk")
	}

	// The attempt held is answered on the full disk.
	close(release)
	select {
	case <-answered:
	case <-time.After(time.Minute):
		t.Fatal("the attempt held at the sink was not answered within a minute")
	}
	// No wait for the health ticker (once a second) to see the failures:
	// a spell that begins and ends between two ticks is said over too
	// (the stores count their spells of failure).

	// Space returns: capture recovers by itself.
	diskFull.Store(0)
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	up.Store(true)
	start := time.Now()
	for {
		st, _, b, id := capture(100)
		if st == http.StatusOK {
			stored = append(stored, id)
			t.Logf("capture recovered %v after space returned", time.Since(start).Round(time.Millisecond))
			break
		}
		if time.Since(start) > time.Minute {
			t.Fatalf("capture did not recover within a minute of space returning: %d %s", st, b)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp, b := s.api(t, "GET", "/healthz", nil); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz after space returned: %d %s", resp.StatusCode, b)
	}
	if st, b, _ := postEvents(1, 10); st != http.StatusAccepted {
		t.Errorf("events after space returned: %d %s", st, b)
	}
	// The log says so too: its last word on the store and emit.db was
	// that they could not write, which a recovery and traffic that
	// stopped would leave alike.
	for _, line := range []string{"store writes again", "emit database writes again"} {
		for wait := time.Now().Add(time.Minute); !strings.Contains(s.Stderr.String(), line); time.Sleep(50 * time.Millisecond) {
			if time.Now().After(wait) {
				t.Errorf("the log does not say %q within a minute of space returning:\n%s", line, lastBytes(s.Stderr.String(), 2000))
				break
			}
		}
	}

	for _, id := range stored {
		if resp, b := s.api(t, http.MethodGet, "/api/exchanges/"+id, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("acknowledged capture %s is lost: %d %s", id, resp.StatusCode, b)
		}
	}

	// Every invocation queued before or during the full disk is delivered.
	deadline := time.Now().Add(time.Minute)
	var missing []string
	for {
		missing = missing[:0]
		smu.Lock()
		for id := range invs {
			if seen[id] == 0 {
				missing = append(missing, id)
			}
		}
		smu.Unlock()
		if len(missing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(missing) > 0 {
		t.Errorf("%d of %d queued invocations were not delivered after space returned, e.g. %v", len(missing), len(invs), missing[:min(5, len(missing))])
		for _, id := range missing[:min(2, len(missing))] {
			_, b := s.api(t, http.MethodGet, "/api/invocations/"+id, nil)
			t.Logf("invocation %s: %s", id, b)
		}
	}
	// Every attempt is in the activity log, those made while the disk was
	// full too (their records waited in memory until space returned).
	if triedFull.Load() == 0 {
		t.Errorf("no attempt was made while the disk was full; the test proves nothing about them")
	}
	logDeadline := time.Now().Add(time.Minute)
	for id := range invs {
		var got struct {
			Invocation struct {
				Attempts int `json:"attempt_count"`
				History  []struct {
					N int `json:"attempt"`
				} `json:"attempts"`
			} `json:"invocation"`
		}
		for {
			s.getJSON(t, "/api/invocations/"+id, &got)
			smu.Lock()
			want := tries[id]
			smu.Unlock()
			if len(got.Invocation.History) == want || time.Now().After(logDeadline) {
				if len(got.Invocation.History) != want || got.Invocation.Attempts != want {
					t.Errorf("invocation %s: the sink got %d attempts, the activity log has %d (attempt_count %d)", id, want, len(got.Invocation.History), got.Invocation.Attempts)
				}
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	t.Logf("%d attempts made while the disk was full", triedFull.Load())

	var stats emit.Stats
	s.getJSON(t, "/api/emit/stats", &stats)
	t.Logf("%d captures acknowledged, %d invocations queued; emit stats %+v", len(stored), len(invs), stats)
	if n := stats.ByStatus[emit.InvocationFailed]; n > 0 {
		t.Errorf("%d invocations failed for good", n)
	}
}

func lastBytes(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

// TestStartOnFullDisk: started on a data directory whose disk is full,
// hooklab either serves (and answers 503 until space returns) or fails
// saying that the disk is full, not only "disk I/O error".
func TestStartOnFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, "8m")
	data := filepath.Join(mnt, "data")
	s := startServer(t, "--data", data)
	s.Stop(t)
	fill(t, filepath.Join(mnt, "filler"))
	var out, errOut syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := run(ctx, []string{"serve", "--data", data, "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0"}, func(string) string { return "" }, &out, &errOut)
	t.Logf("start on a full disk: %v", err)
	if err != nil && !strings.Contains(err.Error(), "the disk holding "+data+" is full") {
		t.Errorf("start on a full disk: %v; want it to say the disk is full", err)
	}
}

// TestCapturedEventsWaitForAFullEmitDB: when emit.db cannot be written
// (its disk full) while captures are answered and stored, their
// request.captured events are held and queued once it can, none lost (they
// were dropped, and the mark moved past them: 30 of 40 webhooks lost).
func TestCapturedEventsWaitForAFullEmitDB(t *testing.T) {
	mnt := mountTmpfs(t, "2m")
	data := emitDBOn(t, mnt)
	var smu sync.Mutex
	got := map[string]bool{}
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		smu.Lock()
		got[r.Header.Get(emit.HeaderInvocation)] = true
		smu.Unlock()
	}))
	defer sink.Close()
	delivered := func() int {
		smu.Lock()
		defer smu.Unlock()
		return len(got)
	}
	cfg := filepath.Join(t.TempDir(), "hooklab.yaml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("webhooks:\n  - {id: cap, endpoint: %q}\nsubscriptions:\n  - {webhook: cap, events: [request.captured]}\n", sink.URL+"/cap")), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServer(t, "--data", data, "--config", cfg)
	for range 3 {
		s.send(t, "POST", "/b/ev/x", "application/json", []byte(`{}`))
	}
	waitFor(t, func() bool { return delivered() == 3 }, "the first three delivered")

	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	for range 20 {
		s.send(t, "POST", "/b/ev/y", "application/json", []byte(`{}`)) // answered 200: the exchanges' disk has room
	}
	waitFor(t, func() bool { return strings.Contains(s.Stderr.String(), "holding them until it takes them") }, "the emitter to say it holds the events")
	// Refused four times a second, said once in 5 s, naming the file (it
	// was a line each, saying only "database or disk is full").
	time.Sleep(1500 * time.Millisecond)
	log := s.Stderr.String()
	if n := strings.Count(log, "emit database write failed"); n < 1 || n > 2 || !strings.Contains(log, "emit.db") {
		t.Errorf("%d lines of refused writes in 1.5 s (want 1 or 2, naming emit.db):\n%s", n, lastBytes(log, 3000))
	}
	// A health check sees it too (it looked at the exchanges' store only).
	if resp, b := s.api(t, "GET", "/healthz", nil); resp.StatusCode != http.StatusServiceUnavailable ||
		!strings.Contains(string(b), `"emit_error":`) || !strings.Contains(string(b), "emit.db") || !strings.Contains(string(b), "full") {
		t.Errorf("/healthz with emit.db's disk full: %d %s; want 503 with emit_error naming emit.db", resp.StatusCode, b)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return delivered() == 23 }, "every captured request's webhook once emit.db has room")
	if resp, b := s.api(t, "GET", "/healthz", nil); resp.StatusCode != http.StatusOK || strings.Contains(string(b), "emit_error") {
		t.Errorf("/healthz once emit.db has room: %d %s", resp.StatusCode, b)
	}
	time.Sleep(200 * time.Millisecond)
	if n := delivered(); n != 23 {
		t.Errorf("%d deliveries, want 23", n)
	}
}

// emitDBOn returns a data directory whose emit.db (and, SQLite following
// the link, its WAL) is on the file system at mnt, a small one to fill,
// while the exchanges stay on the big one.
func emitDBOn(t *testing.T, mnt string) string {
	t.Helper()
	data := t.TempDir()
	if err := os.Symlink(filepath.Join(mnt, "emit.db"), filepath.Join(data, "emit.db")); err != nil {
		t.Fatal(err)
	}
	return data
}

// tickingOnSmallEmitDB starts hooklab with its emit.db on mnt and an
// automation (tick, every second) notifying the webhook auto, and returns
// once a first run was delivered: the server, its config file, and the
// config's webhooks section alone.
func tickingOnSmallEmitDB(t *testing.T, mnt string) (s *server, cfg, hook string) {
	t.Helper()
	data := emitDBOn(t, mnt)
	var delivered atomic.Int64
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		delivered.Add(1)
	}))
	t.Cleanup(sink.Close)
	cfg = filepath.Join(t.TempDir(), "hooklab.yaml")
	hook = fmt.Sprintf("webhooks:\n  - {id: auto, endpoint: %q}\n", sink.URL+"/auto")
	if err := os.WriteFile(cfg, []byte(hook+"automations:\n  - {name: tick, every: 1s, notify: {webhook: auto}}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, "--data", data, "--config", cfg)
	waitFor(t, func() bool { return delivered.Load() >= 1 }, "a first run delivered")
	return s, cfg, hook
}

// TestAutomationWaitsForAFullEmitDB: an automation that fires while
// emit.db cannot be written (its disk full) is held and queued once it
// can, as captured requests' events are; it was logged and dropped.
func TestAutomationWaitsForAFullEmitDB(t *testing.T) {
	mnt := mountTmpfs(t, "2m")
	s, _, _ := tickingOnSmallEmitDB(t, mnt)
	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	// Full until a run has been refused (dropped, or held).
	waitFor(t, func() bool {
		log := s.Stderr.String()
		return strings.Contains(log, "queue automation") || strings.Contains(log, "holding the run until it takes it")
	}, "emit.db to refuse an automation run")
	full := time.Now()
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	// Runs are queued again once emit.db has room...
	var invs struct {
		Invocations []struct {
			Status    string    `json:"status"`
			CreatedAt time.Time `json:"created_at"`
		} `json:"invocations"`
	}
	waitFor(t, func() bool {
		resp, b := s.api(t, "GET", "/api/webhooks/auto/invocations?limit=1000", nil)
		if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &invs) != nil {
			return false
		}
		for _, inv := range invs.Invocations {
			if inv.Status == "success" && inv.CreatedAt.After(full) {
				return true
			}
		}
		return false
	}, "a run after emit.db has room delivered")
	// ...and the one refused was held for it, not dropped.
	if log := s.Stderr.String(); strings.Contains(log, "queue automation") || !strings.Contains(log, "took the automation run it held") {
		t.Errorf("an automation run was dropped while emit.db was full:\n%s", lastBytes(log, 3000))
	}
}

// TestHeldAutomationRunOfARemovedAutomation: a run held while emit.db is
// full is dropped when its automation is removed from the config
// meanwhile, as it is when its webhook is: it was queued once emit.db had
// room, an automation run after the automation was gone.
func TestHeldAutomationRunOfARemovedAutomation(t *testing.T) {
	mnt := mountTmpfs(t, "2m")
	s, cfg, hook := tickingOnSmallEmitDB(t, mnt)
	dir := filepath.Dir(cfg)
	filler := filepath.Join(mnt, "filler")
	fill(t, filler)
	waitFor(t, func() bool { return strings.Contains(s.Stderr.String(), "holding the run until it takes it") }, "emit.db to refuse an automation run")
	// The automation removed, the webhook kept.
	tmp := filepath.Join(dir, "next.yaml")
	if err := os.WriteFile(tmp, []byte(hook), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, cfg); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(s.Stderr.String(), "config reloaded") }, "the config reloaded")
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	const dropped, took = "its automation is no longer in the config", "took the automation run it held"
	waitFor(t, func() bool {
		log := s.Stderr.String()
		return strings.Contains(log, dropped) || strings.Contains(log, took)
	}, "the held run dropped or queued")
	if log := s.Stderr.String(); !strings.Contains(log, dropped) {
		t.Errorf("the run of a removed automation was queued:\n%s", lastBytes(log, 3000))
	}
}

// TestClearFreesTheJournalOnAFullDisk: when the exchanges themselves fill
// the data directory's disk, all of them in the journal segment being
// written (under its 8 MiB), deleting them through the API frees that
// space, and capture answers 200 again without a restart. The segment
// being written was kept until it was full, which a full disk never lets
// it be, so capture answered 503 for good.
func TestClearFreesTheJournalOnAFullDisk(t *testing.T) {
	mnt := mountTmpfs(t, "6m")
	s := startServer(t, "--data", filepath.Join(mnt, "data"))
	pad := strings.Repeat("x", 256<<10)
	capture := func() (int, []byte) {
		resp, err := http.Post(s.Capture+"b/fill/x", "text/plain", strings.NewReader(pad))
		if err != nil {
			t.Fatalf("capture: %v", err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	full := false
	for i := 0; i < 100 && !full; i++ {
		switch st, b := capture(); st {
		case http.StatusOK:
		case http.StatusServiceUnavailable:
			full = true
		default:
			t.Fatalf("capture %d: %d %s", i, st, b)
		}
	}
	if !full {
		t.Fatal("capture never answered 503 while filling the disk")
	}
	if resp, b := s.api(t, http.MethodDelete, "/api/exchanges", nil); resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE /api/exchanges: %d %s", resp.StatusCode, b)
	}
	// The store's sweep runs every 10 s.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, b := capture()
		if st == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("capture 30 s after every exchange was deleted: %d %s; the journal still holds their bytes", st, b)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
