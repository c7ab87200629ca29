package rules

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type reload struct {
	cfg *Config
	err error
	// starts is how many times the watch had begun when it was applied.
	starts int
}

// watching is a running watch: its reloads, and the count of times the
// watch has begun (watchFrom's started).
type watching struct {
	ch      chan reload
	mu      sync.Mutex
	starts  int
	started chan struct{} // closed and made anew at each start
}

// startWatch runs Watch on path, waits until it watches, and returns the
// channel of its results.
func startWatch(t *testing.T, path string) <-chan reload {
	t.Helper()
	w := startWatching(t, path)
	w.waitStarts(t, 1)
	return w.ch
}

// startWatching runs Watch on path (through watchFrom, to hear when it has
// begun) and returns at once.
func startWatching(t *testing.T, path string) *watching {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	w := &watching{ch: make(chan reload, 16), started: make(chan struct{})}
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchFrom(ctx, path, nil, env("GREETING", "hi"), slog.New(slog.NewTextHandler(io.Discard, nil)), func(c *Config, err error) {
			w.mu.Lock()
			n := w.starts
			w.mu.Unlock()
			w.ch <- reload{cfg: c, err: err, starts: n}
		}, w.start)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return w
}

func (w *watching) start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.starts++
	close(w.started)
	w.started = make(chan struct{})
}

// waitStarts waits until the watch has begun n times.
func (w *watching) waitStarts(t *testing.T, n int) {
	t.Helper()
	deadline := time.After(time.Minute)
	for {
		w.mu.Lock()
		got, c := w.starts, w.started
		w.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-c:
		case <-deadline:
			t.Fatalf("the watch began %d times in a minute, want %d", got, n)
		}
	}
}

// midWrite tells whether r is of a read that caught one of the test's
// writes mid-way: os.WriteFile truncates (or makes) the file, then writes
// its text, and a loaded machine can put the writer off between the two
// for longer than the debounce. The config is then read empty after it had
// content (an error), or a new config or a body file before its text.
func midWrite(r reload) bool {
	if r.err != nil {
		return strings.Contains(r.err.Error(), "the file is empty")
	}
	if r.cfg == nil {
		return false
	}
	if len(r.cfg.Mocks) == 0 {
		return true
	}
	for _, m := range r.cfg.Mocks {
		for _, resp := range append([]*Response{m.Respond}, m.Sequence...) {
			if resp != nil && resp.File != "" && len(resp.FileBody) == 0 {
				return true
			}
		}
	}
	return false
}

// next returns the next reload that is not of a write caught mid-way.
func next(t *testing.T, ch <-chan reload) reload {
	t.Helper()
	for {
		if r := nextAny(t, ch); !midWrite(r) {
			return r
		}
	}
}

// nextAny returns the next reload, whatever it read.
func nextAny(t *testing.T, ch <-chan reload) reload {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(time.Minute):
		t.Fatal("no reload within a minute")
		return reload{}
	}
}

func quiet(t *testing.T, ch <-chan reload) {
	t.Helper()
	select {
	case r := <-ch:
		t.Fatalf("unexpected reload: %+v", r)
	case <-time.After(400 * time.Millisecond):
	}
}

// writeSame writes the file's content over itself in place, without
// truncating it first: an event on the file with no moment at which a
// read finds it other than as it was.
func writeSame(t *testing.T, path string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func mockNamed(name string) string {
	return "mocks:\n  - name: " + name + "\n    respond: {body: '${GREETING}'}\n"
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWatchWrite(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, mockNamed("one"))
	ch := startWatch(t, path)
	write(t, path, mockNamed("two"))
	r := next(t, ch)
	if r.err != nil || r.cfg.Mocks[0].Name != "two" || r.cfg.Mocks[0].Respond.Body.Source() != "hi" {
		t.Fatalf("got %+v", r)
	}
	// Several quick writes are one reload: when they all land within the
	// debounce (a loaded machine can stretch the pauses between them), the
	// only reload is of the last; otherwise the reloads still end with it.
	begin := time.Now()
	for _, n := range []string{"a", "b", "three"} {
		write(t, path, mockNamed(n))
		time.Sleep(10 * time.Millisecond)
	}
	quick := time.Since(begin) < ReloadDebounce
	var names []string
	for len(names) == 0 || names[len(names)-1] != "three" {
		r = next(t, ch)
		if r.err != nil || len(names) == 6 {
			t.Fatalf("got %+v after %v", r, names)
		}
		names = append(names, r.cfg.Mocks[0].Name)
	}
	if quick && len(names) != 1 {
		t.Errorf("three writes within %v reloaded %v, want only three", ReloadDebounce, names)
	}
	quiet(t, ch)
	// The same content again is not a reload.
	writeSame(t, path)
	quiet(t, ch)
}

// A file written again and again, more often than the debounce, is
// still reloaded while the writes go on: each write put the reload off
// again, so a script rewriting it every 30 ms saw none until it stopped.
func TestWatchReloadsWhileWritesGoOn(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, mockNamed("v0"))
	ch := startWatch(t, path)
	stop := make(chan struct{})
	writes := make(chan int, 1)
	go func() {
		n := 0
		defer func() { writes <- n }()
		t := time.NewTicker(ReloadDebounce / 10)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
			}
			n++
			// Renamed into place, so that no read finds it half written.
			tmp := path + ".tmp"
			if os.WriteFile(tmp, []byte(mockNamed("v"+strconv.Itoa(n))), 0o644) != nil || os.Rename(tmp, path) != nil {
				return
			}
		}
	}()
	// The writes go on until a reload comes, for at most 20 ReloadMaxWaits.
	var got reload
	select {
	case got = <-ch:
	case <-time.After(20 * ReloadMaxWait):
	}
	close(stop)
	n := <-writes
	if got.cfg == nil {
		t.Fatalf("no reload in %v while the file was written %d times, every %v", 20*ReloadMaxWait, n, ReloadDebounce/10)
	}
	if got.err != nil {
		t.Fatalf("reload: %v", got.err)
	}
}

func TestWatchRenameAndReplace(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, mockNamed("one"))
	ch := startWatch(t, path)
	tmp := filepath.Join(filepath.Dir(path), ".hooklab.yaml.swp")
	write(t, tmp, mockNamed("renamed"))
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	r := next(t, ch)
	if r.err != nil || r.cfg.Mocks[0].Name != "renamed" {
		t.Fatalf("got %+v", r)
	}
	// Vim style: move the old file away, write a new one.
	if err := os.Rename(path, path+"~"); err != nil {
		t.Fatal(err)
	}
	write(t, path, mockNamed("vim"))
	r = next(t, ch)
	if r.err != nil || r.cfg.Mocks[0].Name != "vim" {
		t.Fatalf("got %+v", r)
	}
}

func TestWatchBrokenThenFixed(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, mockNamed("good"))
	ch := startWatch(t, path)
	write(t, path, "mocks:\n  - name: bad\n    respond: {stauts: 200}\n")
	r := next(t, ch)
	var errs *Errors
	// cfg is what Parse could decode, never applied (see Parse).
	if !errors.As(r.err, &errs) || errs.List[0].Line != 3 {
		t.Fatalf("got %+v", r)
	}
	write(t, path, mockNamed("fixed"))
	r = next(t, ch)
	if r.err != nil || r.cfg.Mocks[0].Name != "fixed" {
		t.Fatalf("got %+v", r)
	}
}

// TestWatchEmptyWhileSaving: an editor that truncates the file before it
// writes shows it empty for a moment; that is not taken for "no rules",
// so a broken save after it still leaves the last good rules live. A file
// emptied on purpose keeps a comment, and is loaded.
func TestWatchEmptyWhileSaving(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, mockNamed("good"))
	ch := startWatch(t, path)
	write(t, path, "")
	r := nextAny(t, ch)
	if r.cfg != nil || r.err == nil || !strings.Contains(r.err.Error(), "the file is empty") {
		t.Fatalf("an emptied file: got %+v, want an error keeping the last config", r)
	}
	// More events on the empty file (truncating can make several) are not
	// taken for "no rules" either.
	if err := os.Chtimes(path, time.Now(), time.Now().Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0); err == nil {
		f.Close()
	}
	select {
	case r := <-ch:
		if r.cfg != nil || r.err == nil {
			t.Fatalf("a second event on the emptied file: got %+v, want no reload or the same error", r)
		}
	case <-time.After(400 * time.Millisecond):
	}
	write(t, path, mockNamed("saved"))
	if r = next(t, ch); r.err != nil || r.cfg.Mocks[0].Name != "saved" {
		t.Fatalf("got %+v", r)
	}
	write(t, path, "# no rules for now\n")
	// Caught mid-way, the file reads empty: said, as above.
	for r = nextAny(t, ch); r.err != nil && strings.Contains(r.err.Error(), "the file is empty"); r = nextAny(t, ch) {
	}
	if r.err != nil || r.cfg == nil || len(r.cfg.Mocks) != 0 {
		t.Fatalf("a file left with a comment: got %+v, want a config with no mocks", r)
	}
}

func TestWatchFileAppearsLater(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "hooklab.yaml")
	ch := startWatch(t, path)
	quiet(t, ch)
	write(t, path, mockNamed("new"))
	r := next(t, ch)
	if r.err != nil || r.cfg.Mocks[0].Name != "new" {
		t.Fatalf("got %+v", r)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	r = next(t, ch)
	if r.cfg != nil || !errors.Is(r.err, fs.ErrNotExist) {
		t.Fatalf("after remove: got %+v", r)
	}
}

func TestWatchDirectoryAppearsLater(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "conf")
	path := filepath.Join(dir, "hooklab.yaml")
	w := startWatching(t, path)
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Watch polls for the directory each second, and begins once it is there.
	w.waitStarts(t, 1)
	write(t, path, mockNamed("late"))
	r := next(t, w.ch)
	if r.err != nil || r.cfg.Mocks[0].Name != "late" {
		t.Fatalf("got %+v", r)
	}
}

// TestWatchSymlink: a config that is a symlink reloads when its target
// changes (edited in place in another directory), and when the link is
// pointed at another file.
func TestWatchSymlink(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	real1, real2, run := filepath.Join(root, "real", "a.yaml"), filepath.Join(root, "other", "b.yaml"), filepath.Join(root, "run")
	for _, d := range []string{filepath.Dir(real1), filepath.Dir(real2), run} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, real1, mockNamed("one"))
	write(t, real2, mockNamed("elsewhere"))
	link := filepath.Join(run, "hooklab.yaml")
	if err := os.Symlink(real1, link); err != nil {
		t.Fatal(err)
	}
	w := startWatching(t, link)
	w.waitStarts(t, 1)
	ch := w.ch
	write(t, real1, mockNamed("two"))
	if r := next(t, ch); r.err != nil || r.cfg.Mocks[0].Name != "two" {
		t.Fatalf("after editing the link's target: %+v", r)
	}
	// Point the link elsewhere (as a deploy tool does: new link, renamed
	// over the old one); then edits there count.
	tmp := filepath.Join(run, ".link")
	if err := os.Symlink(real2, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, link); err != nil {
		t.Fatal(err)
	}
	r := next(t, ch)
	if r.err != nil || r.cfg.Mocks[0].Name != "elsewhere" {
		t.Fatalf("after re-pointing the link: %+v", r)
	}
	w.waitStarts(t, r.starts+1) // the watch starts over on the new target
	write(t, real2, mockNamed("three"))
	if r := next(t, ch); r.err != nil || r.cfg.Mocks[0].Name != "three" {
		t.Fatalf("after editing the new target: %+v", r)
	}
}

// TestWatchSymlinkTargetRecreated: the link's target is deleted and written
// again (the link dangles meanwhile): the new content is loaded.
func TestWatchSymlinkTargetRecreated(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	real, run := filepath.Join(root, "tgt", "a.yaml"), filepath.Join(root, "run")
	for _, d := range []string{filepath.Dir(real), run} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write(t, real, mockNamed("one"))
	link := filepath.Join(run, "hooklab.yaml")
	if err := os.Symlink(real, link); err != nil {
		t.Fatal(err)
	}
	ch := startWatch(t, link)
	if err := os.Remove(real); err != nil {
		t.Fatal(err)
	}
	if r := next(t, ch); !errors.Is(r.err, fs.ErrNotExist) {
		t.Fatalf("after removing the target: %+v", r)
	}
	time.Sleep(300 * time.Millisecond) // past the debounce: two events, not one
	write(t, real, mockNamed("recreated"))
	if r := next(t, ch); r.err != nil || r.cfg.Mocks[0].Name != "recreated" {
		t.Fatalf("after writing the target again: %+v", r)
	}
}

// TestWatchLinkedDirectory: the config sits in a directory reached through
// links that a deploy re-points while the old target stays: a release's
// "current" (releases/1 -> releases/2), and a Kubernetes volume's
// "hooklab.yaml -> ..data/hooklab.yaml" with "..data" swapped.
func TestWatchLinkedDirectory(t *testing.T) {
	t.Parallel()
	swap := func(t *testing.T, link, to string) {
		t.Helper()
		tmp := link + ".tmp"
		if err := os.Symlink(to, tmp); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, link); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("release", func(t *testing.T) {
		t.Parallel()
		root := t.TempDir()
		for i, name := range []string{"rel1", "rel2"} {
			d := filepath.Join(root, "releases", fmt.Sprint(i+1))
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(d, "hooklab.yaml"), mockNamed(name))
		}
		current := filepath.Join(root, "current")
		if err := os.Symlink("releases/1", current); err != nil {
			t.Fatal(err)
		}
		w := startWatching(t, filepath.Join(current, "hooklab.yaml"))
		w.waitStarts(t, 1)
		ch := w.ch
		swap(t, current, "releases/2")
		r := next(t, ch)
		if r.err != nil || r.cfg.Mocks[0].Name != "rel2" {
			t.Fatalf("after re-pointing current: %+v", r)
		}
		w.waitStarts(t, r.starts+1) // the watch starts over
		write(t, filepath.Join(root, "releases", "2", "hooklab.yaml"), mockNamed("rel2-edited"))
		if r := next(t, ch); r.err != nil || r.cfg.Mocks[0].Name != "rel2-edited" {
			t.Fatalf("after editing the new release: %+v", r)
		}
	})
	t.Run("kubernetes", func(t *testing.T) {
		t.Parallel()
		vol := t.TempDir()
		for _, v := range []string{"..v1", "..v2"} {
			if err := os.Mkdir(filepath.Join(vol, v), 0o755); err != nil {
				t.Fatal(err)
			}
			write(t, filepath.Join(vol, v, "hooklab.yaml"), mockNamed("k"+v[3:]))
		}
		if err := os.Symlink("..v1", filepath.Join(vol, "..data")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink("..data/hooklab.yaml", filepath.Join(vol, "hooklab.yaml")); err != nil {
			t.Fatal(err)
		}
		ch := startWatch(t, filepath.Join(vol, "hooklab.yaml"))
		swap(t, filepath.Join(vol, "..data"), "..v2")
		if r := next(t, ch); r.err != nil || r.cfg.Mocks[0].Name != "k2" {
			t.Fatalf("after swapping ..data: %+v", r)
		}
	})
}

// TestWatchBodyFile: editing a file a response takes its body from
// reloads the config; writing it unchanged does not.
func TestWatchBodyFile(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "mocks:\n  - name: fromfile\n    respond: {file: bodies/answer.json}\n")
	body := filepath.Join(filepath.Dir(path), "bodies", "answer.json")
	if err := os.MkdirAll(filepath.Dir(body), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, body, `{"v":1}`)
	ch := startWatch(t, path)
	write(t, body, `{"v":2}`)
	if r := next(t, ch); r.err != nil || string(r.cfg.Mocks[0].Respond.FileBody) != `{"v":2}` {
		t.Fatalf("after editing the body file: %+v", r)
	}
	writeSame(t, body)
	quiet(t, ch)
}

// TestWatchBodyFileAppears: a config refused for a file: body that does
// not exist yet loads once the file is written, without touching the YAML.
func TestWatchBodyFileAppears(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "mocks:\n  - name: later\n    respond: {file: later.json}\n")
	ch := startWatch(t, path)
	write(t, filepath.Join(filepath.Dir(path), "unrelated.txt"), "x") // tried again: the same error, not applied
	quiet(t, ch)
	write(t, filepath.Join(filepath.Dir(path), "later.json"), `{"here":true}`)
	if r := next(t, ch); r.err != nil || string(r.cfg.Mocks[0].Respond.FileBody) != `{"here":true}` {
		t.Fatalf("after the body file appeared: %+v", r)
	}
}

// TestWatchBodyFileAppearsInSubdirectory: the same, for a body file in a
// directory of its own.
func TestWatchBodyFileAppearsInSubdirectory(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "mocks:\n  - name: later\n    respond: {file: fixtures/later.json}\n")
	sub := filepath.Join(filepath.Dir(path), "fixtures")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	ch := startWatch(t, path)
	write(t, filepath.Join(sub, "later.json"), `{"here":true}`)
	if r := next(t, ch); r.err != nil || string(r.cfg.Mocks[0].Respond.FileBody) != `{"here":true}` {
		t.Fatalf("after the body file appeared: %+v", r)
	}
}

// TestWatchBodyDirectoryRepointed: a file: body in a directory that is a
// symlink follows the link when it is re-pointed (fixtures -> release v2),
// and edits where it now leads; it kept the old body until the YAML changed.
func TestWatchBodyDirectoryRepointed(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "mocks:\n  - name: fx\n    respond: {file: fixtures/a.json}\n")
	root := filepath.Dir(path)
	for _, v := range []string{"v1", "v2"} {
		if err := os.MkdirAll(filepath.Join(root, v), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, filepath.Join(root, v, "a.json"), `{"v":"`+v+`"}`)
	}
	if err := os.Symlink("v1", filepath.Join(root, "fixtures")); err != nil {
		t.Fatal(err)
	}
	ch := startWatch(t, path)
	tmp := filepath.Join(root, "fixtures.tmp")
	if err := os.Symlink("v2", tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(root, "fixtures")); err != nil {
		t.Fatal(err)
	}
	if r := next(t, ch); r.err != nil || string(r.cfg.Mocks[0].Respond.FileBody) != `{"v":"v2"}` {
		t.Fatalf("after re-pointing the fixtures link: %+v", r)
	}
	write(t, filepath.Join(root, "v2", "a.json"), `{"v":"v2b"}`)
	if r := next(t, ch); r.err != nil || string(r.cfg.Mocks[0].Respond.FileBody) != `{"v":"v2b"}` {
		t.Fatalf("after editing the body where the link now leads: %+v", r)
	}
	write(t, filepath.Join(root, "v1", "a.json"), `{"v":"v1b"}`) // no longer used
	quiet(t, ch)
}

// TestWatchBodyDirectoryAppearsLater: a file: body whose directory does
// not exist yet is watched once the directory is made: its first content
// loads the config, and later edits reload it. (Edits were missed until a
// restart: the directory, missing when the watch began, was never added.)
func TestWatchBodyDirectoryAppearsLater(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "mocks:\n  - name: later\n    respond: {file: fixtures/deep/later.json}\n")
	sub := filepath.Join(filepath.Dir(path), "fixtures", "deep")
	ch := startWatch(t, path)
	if err := os.Mkdir(filepath.Dir(sub), 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // tried again: the same error, not applied
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	write(t, filepath.Join(sub, "later.json"), `{"v":1}`)
	if r := next(t, ch); r.err != nil || string(r.cfg.Mocks[0].Respond.FileBody) != `{"v":1}` {
		t.Fatalf("after the body file appeared: %+v", r)
	}
	write(t, filepath.Join(sub, "later.json"), `{"v":2}`)
	if r := next(t, ch); r.err != nil || string(r.cfg.Mocks[0].Respond.FileBody) != `{"v":2}` {
		t.Fatalf("after editing the body file: %+v", r)
	}
	// Removed with its directories and made again: the same.
	if err := os.RemoveAll(filepath.Dir(sub)); err != nil {
		t.Fatal(err)
	}
	if r := next(t, ch); r.err == nil {
		t.Fatalf("after removing the body's directory: %+v", r)
	}
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	write(t, filepath.Join(sub, "later.json"), `{"v":3}`)
	if r := next(t, ch); r.err != nil || string(r.cfg.Mocks[0].Respond.FileBody) != `{"v":3}` {
		t.Fatalf("after making the body's directory again: %+v", r)
	}
}

// TestWatchReadErrorThenSameContent: a config that cannot be read (here a
// directory put in its place) is reported, and the file written back as
// it was clears that error. (It was skipped as unchanged, so the error
// stayed at GET /api/rules and in the UI over a config that was fine.)
func TestWatchReadErrorThenSameContent(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, mockNamed("one"))
	ch := startWatch(t, path)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	if r := next(t, ch); r.err == nil || errors.Is(r.err, fs.ErrNotExist) {
		t.Fatalf("with a directory in the config's place: %+v", r)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	write(t, path, mockNamed("one"))
	if r := next(t, ch); r.err != nil || r.cfg.Mocks[0].Name != "one" {
		t.Fatalf("after writing the config back: %+v", r)
	}
}

// TestWatchBodyDirectoryRemadeWhileFailing: a file: body's directory
// removed and made again at once, with the body in it, while the config
// fails for want of that body, is watched again: the body's next edit
// reloads. (The event of the directory itself was taken as "any change in
// the config's directory while it fails" before it was seen as the end of
// the directory's watch, so the watch was not started over, and later
// edits to the body went unheard.)
func TestWatchBodyDirectoryRemadeWhileFailing(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, "mocks:\n  - name: a\n    respond: {file: fixtures/a.json}\n")
	fx := filepath.Join(filepath.Dir(path), "fixtures")
	if err := os.Mkdir(fx, 0o755); err != nil {
		t.Fatal(err)
	}
	ch := startWatch(t, path)
	if err := os.RemoveAll(fx); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(fx, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, filepath.Join(fx, "a.json"), `{"v":1}`)
	if r := next(t, ch); r.err != nil || string(r.cfg.Mocks[0].Respond.FileBody) != `{"v":1}` {
		t.Fatalf("after the body's directory was made again with it: %+v", r)
	}
	time.Sleep(300 * time.Millisecond)
	write(t, filepath.Join(fx, "a.json"), `{"v":2}`)
	if r := next(t, ch); r.err != nil || string(r.cfg.Mocks[0].Respond.FileBody) != `{"v":2}` {
		t.Fatalf("after editing the body: %+v", r)
	}
}

// TestWatchDirectoryRemoved: removing the config's directory, file and
// all, is said as removing the file is (the caller keeps its config), and
// the directory made again with the file in it is applied.
func TestWatchDirectoryRemoved(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "conf")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "hooklab.yaml")
	write(t, path, mockNamed("one"))
	ch := startWatch(t, path)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	r := next(t, ch)
	if r.cfg != nil || !errors.Is(r.err, fs.ErrNotExist) || !strings.Contains(r.err.Error(), path) {
		t.Fatalf("after the directory was removed: got %+v, want the file %s missing", r, path)
	}
	// Said once, not at each look for the directory (one a second).
	for range 3 {
		quiet(t, ch)
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, path, mockNamed("one"))
	r = next(t, ch)
	if r.err != nil || r.cfg == nil || r.cfg.Mocks[0].Name != "one" {
		t.Fatalf("the directory made again with the same file: got %+v, want it applied", r)
	}
}

// TestWatchEventOverflow: when the kernel's queue of events overflows
// (a busy directory while apply is slow), the events lost may include the
// config's own, so the file is read again rather than left as it was.
func TestWatchEventOverflow(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "conf", "hooklab.yaml")
	watchOverflow(t, path, func() { write(t, path, mockNamed("three")) })
}

// TestWatchEventOverflowDirectoryMadeAgain: among the events lost may be
// those of the config's directory removed and made again, whose watch
// then stays on the removed one: the watch starts over, so an edit after
// that is seen too.
func TestWatchEventOverflowDirectoryMadeAgain(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "conf", "hooklab.yaml")
	ch := watchOverflow(t, path, func() {
		if err := os.RemoveAll(filepath.Dir(path)); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		write(t, path, mockNamed("three"))
	})
	write(t, path, mockNamed("four"))
	deadline := time.After(time.Minute)
	for {
		select {
		case r := <-ch:
			if r.err == nil && r.cfg.Mocks[0].Name == "four" {
				return
			}
		case <-deadline:
			t.Fatal("an edit after the directory was made again, during a lost-events overflow, was never applied")
		}
	}
}

// watchOverflow watches path (a config in a directory of its own, made
// here), holds apply while the directory's events overflow the kernel's
// queue, runs change, and waits for the config named "three" to be
// applied. It returns the reloads that follow.
func watchOverflow(t *testing.T, path string, change func()) <-chan reload {
	t.Helper()
	b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events")
	if err != nil {
		t.Skip("no inotify queue to overflow:", err)
	}
	limit, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || limit > 100_000 {
		t.Skipf("an inotify queue of %q events: too many to overflow in a test", b)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, path, mockNamed("one"))
	ctx, cancel := context.WithCancel(context.Background())
	applied := make(chan reload)
	release := make(chan struct{})
	begun := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		watchFrom(ctx, path, nil, env("GREETING", "hi"), slog.New(slog.DiscardHandler), func(c *Config, err error) {
			select {
			case applied <- reload{cfg: c, err: err}:
			case <-ctx.Done():
				return
			}
			select {
			case <-release:
			case <-ctx.Done():
			}
		}, func() {
			select {
			case begun <- struct{}{}:
			default:
			}
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	select { // as startWatch: let the watch start
	case <-begun:
	case <-time.After(time.Minute):
		t.Fatal("the watch did not begin within a minute")
	}
	// Renamed into place, so that the apply held is of "two", not of a
	// read that caught the write mid-way.
	write(t, path+".tmp", mockNamed("two"))
	if err := os.Rename(path+".tmp", path); err != nil {
		t.Fatal(err)
	}
	if r := next(t, applied); r.err != nil || r.cfg.Mocks[0].Name != "two" {
		t.Fatalf("got %+v", r)
	}
	// Watch is in apply, which the test holds: nothing reads the events
	// while the directory fills the queue past its limit, and then the
	// config changes.
	// Writes to two files in turn: each is an event of its own (the
	// kernel merges an event only with the same one just before it).
	var noise [2]*os.File
	for i := range noise {
		f, err := os.Create(filepath.Join(filepath.Dir(path), fmt.Sprintf("noise-%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		noise[i] = f
	}
	for i := range limit + 1000 {
		if _, err := noise[i%2].Write([]byte{'.'}); err != nil {
			t.Fatal(err)
		}
	}
	change()
	close(release)
	var names []string
	for {
		select {
		case r := <-applied:
			if r.err != nil {
				t.Fatalf("after %v: got %+v", names, r)
			}
			if names = append(names, r.cfg.Mocks[0].Name); names[len(names)-1] == "three" {
				return applied
			}
		case <-time.After(time.Minute):
			t.Fatalf("reloads after two: %v; the last content (three), whose event was lost when the queue overflowed, was never applied", names)
		}
	}
}

// TestWatchBusyDirectoryWhileFailing: while the config fails, any change
// in its directory is a reason to read it again (it may be a file the
// config lacks); a log written there every 20ms must not hold off the
// reload of the fixed config for as long as it is written.
func TestWatchBusyDirectoryWhileFailing(t *testing.T) {
	t.Parallel()
	path := writeConfig(t, mockNamed("one"))
	ch := startWatch(t, path)
	write(t, path, "mocks: [\n")
	if r := next(t, ch); r.err == nil {
		t.Fatalf("a broken edit: got %+v, want an error", r)
	}
	devLog, err := os.Create(filepath.Join(filepath.Dir(path), "dev.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer devLog.Close()
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				devLog.WriteString("GET /health 200\n")
			}
		}
	}()
	defer func() { close(stop); <-stopped }()
	write(t, path, mockNamed("fixed"))
	deadline := time.After(20 * ReloadMaxWait)
	for {
		select {
		case r := <-ch:
			if r.err == nil && r.cfg.Mocks[0].Name == "fixed" {
				return
			}
			// A reload may read the file as the write empties it.
		case <-deadline:
			t.Fatalf("the fixed config was not applied within %v while a log was written beside it", 20*ReloadMaxWait)
		}
	}
}
