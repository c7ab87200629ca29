// Package hooklabtest runs hooklab inside Go integration tests, in the
// spirit of net/http/httptest: NewServer starts the real capture endpoint
// and mock engine on 127.0.0.1 with an in-memory store, configured from a
// YAML string or file, quick mocks, or a HAR fixture whose responses it
// serves; the test points its code at srv.URL, waits for what arrives with
// WaitFor (no sleeps), looks at Exchanges, and replays HAR fixtures against
// a build with Replay. Everything stops through the test's Cleanup.
//
//	func TestCheckout(t *testing.T) {
//		srv := hooklabtest.NewServer(t, hooklabtest.WithHAR("testdata/stripe.har"))
//		app := startApp(t, srv.URL)        // the app talks to the fake Stripe
//		app.Checkout()
//		ex := srv.WaitFor(t, hooklabtest.Request("POST", "/v1/payment_intents"), 5*time.Second)
//		…
//	}
package hooklabtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/mock"
	"github.com/hooklab/hooklab/replay"
	"github.com/hooklab/hooklab/rules"
	"go.yaml.in/yaml/v3"
)

// TB is what the helper needs of a test; *testing.T and *testing.B have it.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
	Cleanup(func())
}

// Server is a running hooklab capture endpoint.
type Server struct {
	// URL is the base URL of the capture endpoint, http://127.0.0.1:PORT
	// (no trailing slash). Any method and path is recorded; /b/NAME/… goes
	// to bin NAME, everything else to bin "default".
	URL string
	// Store holds every exchange, in memory.
	Store inspect.Store
	// Hub publishes each stored exchange.
	Hub *inspect.Hub
	// Engine answers from the mock rules.
	Engine *mock.Engine

	srv *httptest.Server
	ids *inspect.IDs

	// read keeps the exchanges read from the store, by id (they do not
	// change once stored), so that waiting N times over N exchanges does
	// not read them N times each.
	readMu sync.Mutex
	read   map[string]*inspect.Exchange
}

type settings struct {
	yaml    []string // config texts
	files   []string // config files
	mocks   []quickMock
	hars    []string
	maxBody int64
	env     map[string]string // what ${NAME} reads
}

type quickMock struct {
	method, path string
	status       int
	body         string
}

// Option configures NewServer.
type Option func(*settings)

// WithConfig configures the server from hooklab.yaml text: mocks, verify
// rules, settings. ${NAME} references read the WithEnv environment.
func WithConfig(yaml string) Option { return func(s *settings) { s.yaml = append(s.yaml, yaml) } }

// WithConfigFile configures the server from a hooklab.yaml file (body files
// relative to it).
func WithConfigFile(path string) Option { return func(s *settings) { s.files = append(s.files, path) } }

// WithMock adds a mock rule: requests with method (any when "") to path (a
// hooklab path pattern: exact, glob or template such as /users/{id})
// are answered with status and body (a Liquid template, so
// {{request.json.id}} works; ${NAME} is kept as written, not read from
// the environment). Mocks added this way come after the config's.
func WithMock(method, path string, status int, body string) Option {
	return func(s *settings) { s.mocks = append(s.mocks, quickMock{method, path, status, body}) }
}

// WithHAR serves the responses recorded in a HAR file (hooklab's export, or
// one from Chrome or Firefox): a request with an entry's method and path,
// and the first value of each of its query parameters (more parameters are
// allowed), gets that entry's status, headers and body; repeated requests
// get the recorded responses in order (the third GET gets the third
// recorded answer, later ones the last). Entries without a response are
// skipped. A recorded path holding *, { or } (%2A, %7B, %7D in the URL) is
// matched with each run of them as any characters within its segment
// (path patterns have no escape), after the other entries. Config mocks
// and WithMock mocks match first. Answers carry
// Access-Control-Allow-Origin: * as every capture answer does, and a
// request no entry matches gets the default acknowledgement. For exact
// matching (every query value, the body), serve the file through a proxy
// with hooklab serve --simulate.
func WithHAR(path string) Option { return func(s *settings) { s.hars = append(s.hars, path) } }

// WithMaxBody sets how many body bytes are stored (10 MiB by default).
func WithMaxBody(n int64) Option { return func(s *settings) { s.maxBody = n } }

// WithEnv sets variables that ${NAME} in the config reads; the process
// environment is not read, so that a test means the same everywhere.
// Several WithEnv add up (a later one's value wins for a name both set).
func WithEnv(env map[string]string) Option {
	return func(s *settings) {
		if s.env == nil {
			s.env = map[string]string{}
		}
		maps.Copy(s.env, env)
	}
}

// NewServer starts a server for the test t and stops it in t.Cleanup. It
// fails t when a config or HAR file is wrong.
func NewServer(t TB, opts ...Option) *Server {
	t.Helper()
	if t == nil {
		panic("hooklabtest: NewServer needs the test's t")
	}
	var s settings
	for i, o := range opts {
		if o == nil {
			t.Fatalf("hooklabtest: option %d is nil", i+1)
			return nil
		}
		o(&s)
	}
	cfg, cleanup, err := s.config()
	if err != nil {
		t.Fatalf("hooklabtest: %v", err)
		return nil
	}
	hub := inspect.NewHub()
	store, err := inspect.OpenSQLite("", inspect.Options{Memory: true, OnCommit: hub.PublishExchanges})
	if err != nil {
		cleanup()
		t.Fatalf("hooklabtest: store: %v", err)
		return nil
	}
	if s.maxBody == 0 && cfg != nil && cfg.Settings.MaxBody > 0 {
		s.maxBody = cfg.Settings.MaxBody
	}
	ids := new(inspect.IDs)
	engine := mock.NewEngine(cfg, nil)
	capture := mock.New(mock.Config{Store: store, IDs: ids, Engine: engine, MaxBody: s.maxBody})
	srv := &Server{Store: store, Hub: hub, Engine: engine, ids: ids}
	srv.srv = httptest.NewServer(capture)
	srv.URL = srv.srv.URL
	t.Cleanup(func() {
		// Close waits for every request. Stop taking connections first:
		// a client's Transport sends a dropped GET again on a new one,
		// which would then sit out its mock's delay. Then end what a
		// timeout fault holds and drop the connections (a long delay: the
		// test is over).
		srv.srv.Listener.Close()
		engine.Stop()
		srv.srv.CloseClientConnections()
		srv.srv.Close()
		store.Close()
		cleanup()
	})
	return srv
}

// config builds the rules: config texts and files first, then quick mocks,
// then HAR mocks.
func (s *settings) config() (*rules.Config, func(), error) {
	cleanup := func() {}
	// unset collects the ${NAME}s WithEnv did not give, for the error.
	var unset []string
	getenv := func(k string) string {
		v := s.env[k]
		if v == "" && !slices.Contains(unset, k) {
			unset = append(unset, k)
		}
		return v
	}
	// envHint says where ${NAME} is read from when one was not set: the
	// process environment may well hold it.
	envHint := func() string {
		if len(unset) == 0 {
			return ""
		}
		return fmt.Sprintf("\n(hooklabtest reads ${NAME} from WithEnv, not the process environment: WithEnv does not set %s, or sets it empty)", strings.Join(unset, ", "))
	}
	var merged *rules.Config
	names := map[string]bool{}
	// set says which settings a config's text sets (nil: none).
	addCfg := func(c *rules.Config, set map[string]bool) {
		// Each mock keeps a name of its own (sequences and rate limits
		// count per name, and exchanges name the rule): one that an
		// earlier config already has gets its file's name after it.
		mocks := make([]*rules.Mock, 0, len(c.Mocks))
		for _, m := range c.Mocks {
			if names[m.Name] {
				cp := *m
				cp.Name = m.Name + "@" + cmp.Or(m.File, "config")
				m = &cp
			}
			names[m.Name] = true
			mocks = append(mocks, m)
		}
		if merged == nil {
			cp := *c
			cp.Mocks = mocks
			merged = &cp
			return
		}
		merged.Mocks = append(merged.Mocks, mocks...)
		merged.Verify = append(merged.Verify, c.Verify...)
		// Settings: a later config's win where it sets them, even to
		// their defaults.
		if set["max_body"] {
			merged.Settings.MaxBody = c.Settings.MaxBody
		}
		if set["default_status"] {
			merged.Settings.DefaultStatus = c.Settings.DefaultStatus
		}
	}
	for i, y := range s.yaml {
		unset = nil
		c, err := rules.Parse([]byte(y), fmt.Sprintf("config-%d.yaml", i+1), getenv)
		if err == nil {
			err = capturesOnly(c)
		}
		if err != nil {
			return nil, cleanup, fmt.Errorf("config:\n%w%s", err, envHint())
		}
		addCfg(c, settingsSet([]byte(y)))
	}
	for _, f := range s.files {
		unset = nil
		c, err := rules.Load(f, getenv)
		if err == nil {
			err = capturesOnly(c)
		}
		if err != nil {
			return nil, cleanup, fmt.Errorf("config %s:\n%w%s", f, err, envHint())
		}
		data, _ := os.ReadFile(f) // Load has read it
		addCfg(c, settingsSet(data))
	}
	for i, m := range s.mocks {
		call := fmt.Sprintf("WithMock #%d (%s %s)", i+1, cmp.Or(m.method, "any method"), m.path)
		if p, _, ok := strings.Cut(m.path, "?"); ok {
			// The rules' own message tells a YAML field WithMock has not.
			return nil, cleanup, fmt.Errorf("%s: the path holds a query; WithMock matches the path only: use WithConfig for a rule with match: {path: %s, query: {...}}", call, p)
		}
		// One at a time, so that an error names the call.
		match := map[string]any{"path": m.path}
		if m.method != "" {
			match["method"] = strings.ToUpper(m.method)
		}
		respond := map[string]any{"status": m.status}
		if m.body != "" {
			respond["body"] = m.body
		}
		mock := map[string]any{"name": fmt.Sprintf("with-mock-%d", i+1), "match": match, "respond": respond}
		c, err := parseMocks([]any{mock}, "", call)
		if errs := (*rules.Errors)(nil); errors.As(err, &errs) {
			// Without the line and column of YAML the test did not write,
			// nor the name of a rule it did not name: the call names it.
			msgs := make([]string, len(errs.List))
			for i, e := range errs.List {
				msgs[i] = e.Msg
			}
			return nil, cleanup, fmt.Errorf("%s: %s", call, strings.Join(msgs, "; "))
		}
		if err != nil {
			return nil, cleanup, err
		}
		addCfg(c, nil)
	}
	if len(s.hars) > 0 {
		dir, err := os.MkdirTemp("", "hooklabtest-har-")
		if err != nil {
			return nil, cleanup, err
		}
		cleanup = func() { os.RemoveAll(dir) }
		for i, h := range s.hars {
			c, err := harMocks(h, dir, fmt.Sprintf("har%d", i+1))
			if err != nil {
				cleanup()
				return nil, func() {}, err
			}
			addCfg(c, nil)
		}
	}
	if merged != nil && merged.Settings.DefaultStatus == 0 {
		merged.Settings.DefaultStatus = 200
	}
	return merged, cleanup, nil
}

// settingsSet returns the keys of a config text's settings section (merge
// keys followed), so that a setting given its default value still counts.
func settingsSet(data []byte) map[string]bool {
	var doc struct {
		Settings map[string]any `yaml:"settings"`
	}
	if yaml.Unmarshal(data, &doc) != nil {
		return nil // rules.Parse took it; cannot happen
	}
	set := map[string]bool{}
	for k := range doc.Settings {
		set[k] = true
	}
	return set
}

// capturesOnly fails for a config with sections this package does not
// run: a test would wait for deliveries that never come.
func capturesOnly(c *rules.Config) error {
	var found []string
	for _, sec := range []struct {
		name string
		node *yaml.Node
	}{{"webhooks", c.Webhooks}, {"triggers", c.Triggers}, {"automations", c.Automations}, {"subscriptions", c.Subscriptions}, {"proxies", c.Proxies}} {
		if sec.node != nil && len(sec.node.Content) > 0 {
			found = append(found, sec.name)
		}
	}
	if len(found) > 0 {
		return fmt.Errorf("%s: hooklabtest answers captures with mocks and verify rules only; it does not run %s (run hooklab serve for them)",
			cmp.Or(c.File, "config"), strings.Join(found, ", "))
	}
	return nil
}

// Match selects exchanges; nil matches every one.
type Match func(*inspect.Exchange) bool

// Request matches exchanges with method (any when "") whose path (within
// its bin: /b/NAME is left out) matches pattern as mock rules read it: an
// exact path, "*" for one segment, "**" for any number (/hooks/** matches
// /hooks and /hooks/a/b), "{name}" for one segment, "*.json" within one.
// It panics on a pattern mock rules refuse (one not starting with /, a
// bad parameter name), which would otherwise match nothing.
func Request(method, pattern string) Match {
	matches, err := rules.PathMatcher(pattern)
	if err != nil {
		panic("hooklabtest.Request: " + err.Error())
	}
	return func(ex *inspect.Exchange) bool {
		if method != "" && !strings.EqualFold(ex.Request.Method, method) {
			return false
		}
		p := ex.Summarize().Path
		if _, rest, err := mock.SplitBin(p); err == nil {
			p = rest
		}
		_, ok := matches(p)
		return ok
	}
}

// InBin matches the exchanges of a bin.
func InBin(bin string) Match {
	return func(ex *inspect.Exchange) bool { return ex.Bin == bin }
}

// After matches exchanges whose requests started after the one of the
// exchange with id (ids sort by when a request started):
// WaitFor(t, All(After(last.ID), Request("POST", "/hooks")), timeout)
// waits for the next delivery, not the first. A request that started
// before that one but ended after it does not match: to wait for whatever
// the server stores next, use WaitNext.
func After(id string) Match {
	return func(ex *inspect.Exchange) bool { return ex.ID > id }
}

// All matches when every one of ms matches.
func All(ms ...Match) Match {
	return func(ex *inspect.Exchange) bool {
		for _, m := range ms {
			if m != nil && !m(ex) {
				return false
			}
		}
		return true
	}
}

// BinURL returns the URL of a named bin, with a trailing slash.
func (s *Server) BinURL(bin string) string { return s.URL + "/b/" + bin + "/" }

// WaitFor returns the first exchange, oldest first, that matches: one
// already stored, or the next to arrive within timeout (to wait for a later
// one, add After(previous.ID) to the match). It fails t on
// timeout, listing what did arrive: method, URL, status, and the rule that
// answered, the signature verdict and why, the source when not a capture,
// and the error where there are. It never polls: it follows the hub.
// The exchanges WaitFor, WaitNext and Exchanges return are read once and
// shared between calls: treat them as read-only.
func (s *Server) WaitFor(t TB, match Match, timeout time.Duration) *inspect.Exchange {
	t.Helper()
	return s.wait(t, "", match, timeout)
}

// WaitNext is WaitFor for the exchanges stored after the one with id, in
// the order the server stored them (as the API's after= counts): the next
// delivery, even one whose request started before that one's, as a slow
// sender's does.
func (s *Server) WaitNext(t TB, id string, match Match, timeout time.Duration) *inspect.Exchange {
	t.Helper()
	return s.wait(t, id, match, timeout)
}

func (s *Server) wait(t TB, after string, match Match, timeout time.Duration) *inspect.Exchange {
	t.Helper()
	if match == nil {
		match = func(*inspect.Exchange) bool { return true }
	}
	// Subscribe before looking in the store, so nothing falls between.
	sub := s.Hub.Subscribe(4096, func(ev *inspect.Event) bool { return ev.Exchange != nil })
	// A closure: after an overflow sub is a new subscription, and that
	// one must go (Unsubscribe(sub) deferred directly binds the first).
	defer func() { s.Hub.Unsubscribe(sub) }()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	seen := map[string]bool{}
	// The first look is not bounded by the timeout: with 0, WaitFor looks
	// in the store once.
	found, err := s.find(context.Background(), after, match, seen)
	for found == nil && err == nil {
		select {
		case ev := <-sub.C():
			if !seen[ev.Exchange.ID] && match(ev.Exchange) {
				found = ev.Exchange
			}
			seen[ev.Exchange.ID] = true
		case <-sub.Overflow():
			// Too much at once to follow: look in the store, listen again.
			s.Hub.Unsubscribe(sub)
			sub = s.Hub.Subscribe(4096, func(ev *inspect.Event) bool { return ev.Exchange != nil })
			found, err = s.find(ctx, after, match, seen)
		case <-ctx.Done():
			err = ctx.Err()
		}
	}
	if found != nil {
		return found
	}
	what := "no matching exchange"
	if after != "" {
		what = "no matching exchange stored after " + after
	}
	why := ""
	if !errors.Is(err, context.DeadlineExceeded) {
		why = fmt.Sprintf(" (%v)", err) // the store failed
	}
	t.Fatalf("hooklabtest: %s within %s%s; the server got:\n  %s", what, timeout, why, strings.Join(s.lastSeen(20, after), "\n  "))
	return nil
}

// lastSeen describes the last n exchanges stored, oldest first, with what
// a match may have looked at besides method, URL and status: the rule that
// answered, the signature verdict, the source when not a capture, the
// error. The exchange with id mark (WaitNext's) is marked.
func (s *Server) lastSeen(n int, mark string) []string {
	sums, next, err := s.Store.List(context.Background(), inspect.Query{Limit: n})
	if err != nil {
		return []string{"(the store failed: " + err.Error() + ")"}
	}
	if len(sums) == 0 {
		return []string{"(nothing)"}
	}
	var out []string
	if next != "" {
		out = append(out, fmt.Sprintf("… (only the last %d shown)", n))
	}
	for i := len(sums) - 1; i >= 0; i-- {
		sum := sums[i]
		line := fmt.Sprintf("%s %s → %d", sum.Method, sum.URL, sum.Status)
		var facts []string
		if sum.Source != inspect.SourceCapture {
			facts = append(facts, string(sum.Source))
		}
		if sum.Rule != "" {
			facts = append(facts, "rule "+sum.Rule)
		}
		if ex, err := s.get(context.Background(), sum.ID); err == nil && ex.Signature != nil {
			sig := strings.Join(strings.Fields("signature "+ex.Signature.Rule+" "+ex.Signature.Verdict), " ")
			if ex.Signature.Reason != "" {
				sig += ": " + ex.Signature.Reason
			}
			facts = append(facts, sig)
		}
		if sum.Error != "" {
			facts = append(facts, "error: "+sum.Error)
		}
		if len(facts) > 0 {
			line += " (" + strings.Join(facts, ", ") + ")"
		}
		if sum.ID == mark {
			line += " ← WaitNext's " + mark
		}
		out = append(out, line)
	}
	return out
}

// find looks in the store for the oldest match not yet seen (stored after
// the exchange after, when set).
func (s *Server) find(ctx context.Context, after string, match Match, seen map[string]bool) (*inspect.Exchange, error) {
	var found *inspect.Exchange
	err := s.each(ctx, after, func(ex *inspect.Exchange) bool {
		if seen[ex.ID] {
			return true
		}
		seen[ex.ID] = true
		if match(ex) {
			found = ex
			return false
		}
		return true
	})
	return found, err
}

// each calls fn with the exchanges stored (after the exchange after, when
// set) up to the newest when it starts, oldest first, until fn returns
// false. What is stored later the hub brings: a scan to the end never
// ended while a test's senders stored faster than it read.
func (s *Server) each(ctx context.Context, after string, fn func(*inspect.Exchange) bool) error {
	newest, _, err := s.Store.List(ctx, inspect.Query{Limit: 1})
	if err != nil || len(newest) == 0 {
		return err
	}
	last := newest[0].ID
	q := inspect.Query{Ascending: true, Limit: 1000, After: after}
	for {
		page, next, err := s.Store.List(ctx, q)
		if err != nil {
			return err
		}
		for _, sum := range page {
			ex, err := s.get(ctx, sum.ID)
			if err == nil && !fn(ex) {
				return nil
			} // else removed meanwhile
			if sum.ID == last {
				return nil
			}
		}
		if next == "" || len(page) == 0 {
			return nil
		}
		q.Cursor = next
	}
}

// get reads an exchange once.
func (s *Server) get(ctx context.Context, id string) (*inspect.Exchange, error) {
	s.readMu.Lock()
	ex := s.read[id]
	s.readMu.Unlock()
	if ex != nil {
		return ex, nil
	}
	ex, err := s.Store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	s.readMu.Lock()
	if s.read == nil {
		s.read = map[string]*inspect.Exchange{}
	}
	s.read[id] = ex
	s.readMu.Unlock()
	return ex, nil
}

// Exchanges returns the stored exchanges that match (all with nil), oldest
// first, replays included.
func (s *Server) Exchanges(match Match) []*inspect.Exchange { return s.exchanges(match) }

func (s *Server) exchanges(match Match) []*inspect.Exchange {
	var out []*inspect.Exchange
	s.each(context.Background(), "", func(ex *inspect.Exchange) bool {
		if match == nil || match(ex) {
			out = append(out, ex)
		}
		return true
	})
	return out
}

// Reset forgets every exchange, starts mock sequences again and clears
// rate-limit windows. Engine.Hits keeps counting.
func (s *Server) Reset(t TB) {
	t.Helper()
	if _, err := s.Store.Clear(context.Background(), ""); err != nil {
		t.Fatalf("hooklabtest: reset: %v", err)
	}
	s.readMu.Lock()
	s.read = nil
	s.readMu.Unlock()
	s.Engine.Reset()
}

// ReplayOption adjusts a replay's diff (Ignore, IgnoreHeaders).
type ReplayOption func(*replay.Options)

// Replay sends the entries of the HAR file to target (a base URL: scheme,
// host and an optional path prefix), records each replay in this server's
// store, and returns the diff of every response against the recorded one.
// It fails t when the file cannot be read or the options are wrong; diffs
// are for the test to judge:
//
//	rep := srv.Replay(t, "testdata/stripe.har", app.URL)
//	if rep.Summary.Differ+rep.Summary.Failed > 0 { t.Error(…) }
func (s *Server) Replay(t TB, harFile, target string, opts ...ReplayOption) *replay.Report {
	t.Helper()
	f, err := os.Open(harFile)
	if err != nil {
		t.Fatalf("hooklabtest: replay: %v", err)
		return nil
	}
	exs, err := replay.ReadHAR(f)
	f.Close()
	if err != nil {
		t.Fatalf("hooklabtest: replay %s: %v", harFile, err)
		return nil
	}
	if target == "" {
		// Empty would send the recorded requests (credentials and all) to
		// their recorded hosts: an unset variable must not do that.
		t.Fatalf("hooklabtest: replay %s: no target", harFile)
		return nil
	}
	// Every request is tried: a target that does not answer is for the
	// test to judge, from each result (a run gives up otherwise).
	o := replay.Options{Target: target, Record: s.Store.Add, IDs: s.ids, GiveUpAfter: -1}
	for _, opt := range opts {
		opt(&o)
	}
	rep, err := replay.Run(context.Background(), exs, o)
	if err != nil {
		t.Fatalf("hooklabtest: replay %s: %v", harFile, err)
		return nil
	}
	return rep
}

// Ignore leaves JSON paths out of Replay's diff (gjson style: data.id,
// items.#.created).
func Ignore(paths ...string) ReplayOption {
	return func(o *replay.Options) { o.Diff.Ignore = append(o.Diff.Ignore, paths...) }
}

// IgnoreHeaders leaves response headers out of Replay's diff, besides the
// volatile ones (replay.VolatileHeaders).
func IgnoreHeaders(names ...string) ReplayOption {
	return func(o *replay.Options) { o.Diff.IgnoreHeaders = append(o.Diff.IgnoreHeaders, names...) }
}
