package rules

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.yaml.in/yaml/v3"
)

// ReloadDebounce is how long Watch waits after the last change before it
// reloads.
const ReloadDebounce = 100 * time.Millisecond

// ReloadMaxWait bounds how long changes put a reload off: a file written
// more often than ReloadDebounce (a script's loop, a generator) is still
// read at least this often, rather than only once its writes stop. A read
// between a writer's truncation and its text fails, and keeps the last
// good config until the next.
const ReloadMaxWait = time.Second

// Watch reloads the config file at path when it changes, until ctx is done,
// and calls apply with the new config or the error (a *Errors for an invalid
// file, with what Parse could decode of it, or nil; one wrapping
// fs.ErrNotExist when the file was removed). The caller keeps its last good
// config when err is not nil. apply is called from one
// goroutine, never concurrently. It is not called for the content Watch
// found at start, nor when a change leaves the content the same. apply
// reports the outcome (Watch logs only about the watch itself): the caller
// may refuse a config that parses, and should not log it as reloaded first.
//
// Watch watches the directory, so editors that save by writing a new file and
// renaming it over the old one are seen, and so is a file that does not exist
// yet. When the directory itself is missing, Watch waits for it (one
// removed while watched is a removal of the file, passed to apply once).
// It blocks until ctx is done.
func Watch(ctx context.Context, path string, getenv func(string) string, log *slog.Logger, apply func(*Config, error)) {
	WatchFrom(ctx, path, nil, getenv, log, apply)
}

// WatchFrom is Watch with the content the caller last loaded (nil: what the
// file holds now, or that it is missing). A change made between the
// caller's load and the start of watching is then applied, not missed.
func WatchFrom(ctx context.Context, path string, loaded []byte, getenv func(string) string, log *slog.Logger, apply func(*Config, error)) {
	watchFrom(ctx, path, loaded, getenv, log, apply, nil)
}

// watchFrom is WatchFrom that calls started, when it is not nil, each time
// the watch has begun (at start, and each time it starts over): every
// change made after that is seen. started is called from the goroutine
// that calls apply. Tests wait on it rather than guess how long the watch
// takes to begin.
func watchFrom(ctx context.Context, path string, loaded []byte, getenv func(string) string, log *slog.Logger, apply func(*Config, error), started func()) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("component", "rules", "config", path)
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	dir := filepath.Dir(abs)
	// A config read from a pipe (--config <(...), a named pipe) has nothing
	// more to give: read again, it is empty, or the read waits for a writer
	// that never comes, and shutdown with it.
	if fi, err := os.Stat(abs); err == nil && !fi.Mode().IsRegular() && !fi.IsDir() {
		log.Info("config is not a regular file: not watched for changes", "type", fileKind(fi.Mode()))
		if started != nil {
			started()
		}
		<-ctx.Done()
		return
	}

	last, lastMissing := loaded, loaded == nil
	if loaded == nil {
		last, _ = os.ReadFile(abs)
		lastMissing = last == nil
	}
	// hadContent: the file has held something since the start. An empty
	// read after that is a save in progress, however many events it makes.
	hadContent := len(bytes.TrimSpace(last)) > 0
	// The body files (file:) the config names: edits to them reload it
	// too. lastBodies is what they held at the last load.
	var bodies []string
	var lastBodies map[string][]byte
	failed := "" // the error of the last load, if it failed
	if c, err := Parse(last, path, getenv); err == nil {
		bodies, lastBodies = bodyFiles(c, abs)
	} else if !lastMissing {
		failed, bodies = err.Error(), fileRefs(last, abs)
	}

	for ctx.Err() == nil {
		w, err := fsnotify.NewWatcher()
		if err != nil {
			log.Error("config watch", "err", err)
			sleep(ctx, time.Second)
			continue
		}
		if err := w.Add(dir); err != nil {
			w.Close()
			// The directory was removed, and the file with it: said as a
			// removed file is, once, and the file read back when the
			// directory is made again is applied.
			if _, rerr := os.ReadFile(abs); errors.Is(rerr, fs.ErrNotExist) && !lastMissing {
				last, lastMissing = nil, true
				apply(nil, rerr)
			}
			log.Debug("config directory not watchable yet", "dir", dir, "err", err)
			sleep(ctx, time.Second)
			continue
		}
		// A config reached through symlinks (itself one, or in a linked
		// directory: a release's "current", a Kubernetes volume's "..data")
		// changes where it lives: watch where it leads, even while that is
		// missing, and every link on the way, and start over when one of
		// them is pointed elsewhere.
		// So are the file: bodies: a fixtures directory that is a link
		// re-pointed to another release is a change of every body in it.
		watchedBodies := slices.Clone(bodies)
		targets, links := linkChains(append([]string{abs}, watchedBodies...))
		watched := append(append([]string{abs}, watchedBodies...), targets...)
		added := map[string]bool{dir: true}
		// A directory not made yet (fixtures/ of a config written before
		// its fixtures, or removed) is watched through the nearest one
		// above it that is there, until it is made: present maps each
		// directory to that one (itself when it is there).
		present := map[string]string{}
		for _, f := range append(slices.Clone(watched[1:]), links...) {
			if d := filepath.Dir(f); !added[d] {
				added[d] = true
				present[d] = existingDir(d)
				if err := w.Add(present[d]); err != nil {
					log.Debug("not watchable", "file", f, "err", err)
				}
			}
		}
		// moved: a directory was made or removed since present was made.
		moved := func() bool {
			for d, up := range present {
				if existingDir(d) != up {
					return true
				}
			}
			return false
		}
		// One made (or removed) after it was looked for and before the
		// one above it was watched made its event unheard: start over.
		if moved() {
			w.Close()
			continue
		}
		// The directory may have appeared with the file already in it.
		reload := func() {
			data, err := os.ReadFile(abs)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				if lastMissing {
					return
				}
				last, lastMissing = nil, true
				apply(nil, err)
				return
			case err != nil:
				// Failed, so the file read back as it was is applied (and
				// clears this error), not skipped as unchanged.
				failed = err.Error()
				apply(nil, err)
				return
			}
			if !lastMissing && failed == "" && bytes.Equal(data, last) && maps.EqualFunc(readAll(bodies), lastBodies, bytes.Equal) {
				return
			}
			var cfg *Config
			if len(bytes.TrimSpace(data)) == 0 && hadContent {
				// An editor that truncates the file and then writes it shows
				// it empty for a moment: taking that for "no rules" would drop
				// every mock, and a broken save after it would leave none.
				err = &Errors{List: []Error{{File: path, Line: 1, Col: 1, Msg: "the file is empty (a save in progress?); to drop every rule, leave a comment in it"}}}
			} else {
				hadContent = hadContent || len(bytes.TrimSpace(data)) > 0
				cfg, err = Parse(data, path, getenv)
			}
			if err != nil && err.Error() == failed && bytes.Equal(data, last) {
				return // tried again (a file it needs may have appeared): the same error
			}
			last, lastMissing = data, false
			failed = ""
			if err == nil {
				bodies, lastBodies = bodyFiles(cfg, abs)
			} else {
				failed = err.Error()
				// The bodies it names, as far as the text says: one not
				// written yet, in a directory of its own, is then watched.
				bodies = fileRefs(data, abs)
			}
			apply(cfg, err)
		}
		reload()
		if started != nil {
			started()
		}
		// selfEvent: a watched body directory itself was removed or moved,
		// which ends its watch, even if one is made again in its place.
		// Looked for first: the event of a body directory in the config's
		// directory also matches "any change there" below. While the config
		// fails, any change in its directory may be the file it lacks (a
		// file: body not yet written): try again on each, but without
		// putting off a reload already due, which a file written there
		// more often than the debounce (a log) would do for as long as it
		// is written.
		selfEvent := false
		interested := func(name string) (reload, own bool) {
			if up, ok := present[name]; ok && up == name {
				selfEvent = true
				return true, true
			}
			if slices.Contains(watched, name) || slices.Contains(links, name) {
				return true, true
			}
			for d, up := range present {
				if d != up && (d == name || strings.HasPrefix(d, name+string(filepath.Separator))) {
					return true, true
				}
			}
			return failed != "" && filepath.Dir(name) == dir, false
		}
		watchLoop(ctx, w, dir, interested, log, func() bool {
			// Looked at before reload, which tells the config's users:
			// one of them may make the directory again at once.
			restart := selfEvent || moved()
			reload()
			if restart {
				return true
			}
			t, l := linkChains(append([]string{abs}, bodies...))
			return !slices.Equal(t, targets) || !slices.Equal(l, links) || !slices.Equal(bodies, watchedBodies)
		})
		w.Close()
	}
}

// bodyFiles lists the files the responses of cfg (read from abs) take
// their bodies from, sorted, and what each held when cfg was loaded.
func bodyFiles(cfg *Config, abs string) ([]string, map[string][]byte) {
	var out []string
	held := map[string][]byte{}
	add := func(r *Response) {
		if r != nil && r.File != "" {
			f := filepath.Join(filepath.Dir(abs), filepath.FromSlash(r.File))
			out, held[f] = append(out, f), r.FileBody
		}
	}
	for _, m := range cfg.Mocks {
		add(m.Respond)
		for _, r := range m.Sequence {
			add(r)
		}
	}
	// The proxies' simulate: files (HAR) too, read as the proxies read
	// them: relative to the config's directory. A session recorded again
	// over one changes what its simulation answers.
	for _, name := range simulateFiles(cfg.Proxies) {
		f := filepath.FromSlash(name)
		if !filepath.IsAbs(f) {
			f = filepath.Join(filepath.Dir(abs), f)
		}
		b, _ := os.ReadFile(f)
		out, held[f] = append(out, f), b
	}
	slices.Sort(out)
	return slices.Compact(out), held
}

// simulateFiles lists the simulate: values of a proxies: section, the
// proxies' own and their routes'. One that takes a ${NAME} from the
// environment is left out.
func simulateFiles(proxies *yaml.Node) []string {
	var out []string
	var walk func(n *yaml.Node, routes bool)
	walk = func(n *yaml.Node, routes bool) {
		if n == nil || n.Kind != yaml.SequenceNode {
			return
		}
		for _, item := range n.Content {
			if item.Kind != yaml.MappingNode {
				continue
			}
			for i := 0; i+1 < len(item.Content); i += 2 {
				k, v := item.Content[i], item.Content[i+1]
				switch {
				case k.Value == "simulate" && v.Kind == yaml.ScalarNode && v.Value != "" && !strings.Contains(v.Value, "${"):
					out = append(out, v.Value)
				case k.Value == "routes" && !routes:
					walk(v, true)
				}
			}
		}
	}
	walk(proxies, false)
	return out
}

// fileRefRE finds the file: (and simulate:) values of a config's text.
var fileRefRE = regexp.MustCompile(`(?m)\b(?:file|simulate):\s*["']?([^"'\s,}#]+)`)

// fileRefs lists the files a config's text names in file: keys (for a
// config that does not load, whose responses are not known), sorted.
func fileRefs(data []byte, abs string) []string {
	var out []string
	for _, m := range fileRefRE.FindAllSubmatch(data, -1) {
		if name := filepath.FromSlash(string(m[1])); filepath.IsLocal(name) {
			out = append(out, filepath.Join(filepath.Dir(abs), name))
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// existingDir returns dir when it is a directory that exists, else the
// nearest directory above it that does.
func existingDir(dir string) string {
	for {
		if fi, err := os.Stat(dir); err == nil && fi.IsDir() {
			return dir
		}
		up := filepath.Dir(dir)
		if up == dir {
			return dir
		}
		dir = up
	}
}

// readAll reads each file (nil for one it cannot read).
func readAll(files []string) map[string][]byte {
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		// Not one that is not a regular file: a named pipe's read waits
		// for a writer (the load says what is wrong with it).
		out[f] = nil
		if fi, err := os.Stat(f); err == nil && fi.Mode().IsRegular() {
			out[f], _ = os.ReadFile(f)
		}
	}
	return out
}

// linkChains is linkChain of each path: where each leads, in order, and
// the symlinks met on the ways.
func linkChains(paths []string) (targets, links []string) {
	for _, p := range paths {
		t, l := linkChain(p)
		targets, links = append(targets, t), append(links, l...)
	}
	return targets, links
}

// linkChain follows the symlinks of the absolute path, in every
// component, and returns where it leads, even when that does not exist
// (where the file will appear), and the symlinks met on the way.
func linkChain(path string) (target string, links []string) {
	rest := strings.Split(filepath.Clean(path), string(filepath.Separator))
	cur := string(filepath.Separator)
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		if c == "" || c == "." {
			continue
		}
		next := filepath.Join(cur, c) // cur has no links left: ".." is lexical
		fi, err := os.Lstat(next)
		if err != nil {
			return filepath.Join(append([]string{next}, rest...)...), links
		}
		if fi.Mode()&fs.ModeSymlink == 0 || hops >= 255 {
			cur = next
			continue
		}
		to, err := os.Readlink(next)
		if err != nil {
			cur = next
			continue
		}
		hops++
		links = append(links, next)
		if filepath.IsAbs(to) {
			cur = string(filepath.Separator)
		}
		rest = append(strings.Split(to, string(filepath.Separator)), rest...)
	}
	return cur, links
}

// watchLoop runs reload, debounced, after events on the files it is
// interested in (the config's path, where its symlinks lead, its bodies):
// an event on one of them (own) puts the reload off to ReloadDebounce
// after it, up to ReloadMaxWait after the first, any other that interests
// it only makes sure one is due. It
// returns when ctx is done, the watch fails (for example dir was removed),
// or reload says the watch is stale, so Watch can start over.
func watchLoop(ctx context.Context, w *fsnotify.Watcher, dir string, interested func(name string) (reload, own bool), log *slog.Logger, reload func() (stale bool)) {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	due := false // the timer runs
	var dueSince time.Time
	changed := func(own bool) {
		switch {
		case !due:
			due, dueSince = true, time.Now()
			timer.Reset(ReloadDebounce)
		case own:
			timer.Reset(max(min(ReloadDebounce, time.Until(dueSince.Add(ReloadMaxWait))), 0))
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-w.Events:
			if !ok {
				return
			}
			if yes, own := interested(filepath.Clean(ev.Name)); yes {
				changed(own)
			}
			if filepath.Clean(ev.Name) == dir && ev.Has(fsnotify.Remove|fsnotify.Rename) {
				return
			}
		case err, ok := <-w.Errors:
			if !ok {
				return
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// The kernel dropped events (a busy directory while a
				// reload was slow): the config's own may be among them,
				// or those of a directory removed and made again, whose
				// watch would stay on the removed one. Start over: watch
				// afresh and read the config again.
				log.Warn("config watch lost events; watching and reading the config again", "err", err)
				return
			}
			log.Warn("config watch", "err", err)
		case <-timer.C:
			due = false
			if reload() {
				return
			}
			if _, err := os.Stat(dir); err != nil {
				return
			}
		}
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
