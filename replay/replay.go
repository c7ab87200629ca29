// Package replay owns re-sending recorded traffic: exchanges from the store
// (one, a list of ids, a filter) or the entries of a HAR file, to a target
// base URL or their original URLs, byte for byte or with overrides, fast
// with bounded concurrency or at the recorded pace; the structured diff of
// each new response against the recorded one (go-cmp for JSON, lines for
// text, hashes for binary); HAR import and export; the replay JSON API;
// and the replay, export and import commands.
//
// Run is the engine. It records each replay as an exchange (source replay,
// ReplayOf the original) through Options.Record, so replays show live, and
// reports each result as it completes through Options.OnResult.
package replay

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/hooklab/hooklab/inspect"
)

// Paces.
const (
	// PaceFast sends as fast as Concurrency allows.
	PaceFast = "fast"
	// PaceOriginal keeps the recorded gaps between requests, divided by
	// Speed.
	PaceOriginal = "original"
)

// Outcomes of one replay.
const (
	Same   = "same"
	Differ = "differ"
	Failed = "failed"
)

// Overrides change what is sent. The zero value sends the original.
type Overrides struct {
	// SetHeaders replaces every value of each named header (or adds it).
	SetHeaders inspect.Headers `json:"set_headers,omitempty"`
	// RemoveHeaders removes headers (any case).
	RemoveHeaders []string `json:"remove_headers,omitempty"`
	// Body replaces the body when SetBody is true (an empty Body then sends
	// none).
	Body    []byte `json:"-"`
	SetBody bool   `json:"-"`
	// Method replaces the method.
	Method string `json:"method,omitempty"`
	// Path replaces the path; with a "?" it replaces the query too.
	Path string `json:"path,omitempty"`
}

// Clock is time for pacing; tests give a fake one so nothing sleeps long.
type Clock interface {
	Now() time.Time
	// Sleep waits d or until ctx is done, and then returns ctx.Err().
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Options configure a replay run.
type Options struct {
	// Target is a base URL whose scheme and host replace each request's;
	// its path, when not "/", is put in front of each request's path, and
	// its query, if any, is added after each request's query.
	// Empty sends each request to its original URL. When a target is given,
	// a capture addressed to a bin (/b/NAME/…) loses the /b/NAME part.
	Target string
	// StripPrefix is removed from the front of each path before Target's
	// path is added.
	StripPrefix string
	Override    Overrides
	// Resign signs exchanges that hooklab emitted (source emit) again with
	// a fresh timestamp, through ResignFunc.
	Resign bool
	// ResignFunc returns the signature headers for ex (whose Request.Body
	// is what will be sent), and its credentials (recorded redacted),
	// replacing the recorded ones but not those Override sets. main wires
	// it to the emitter, which knows each webhook's scheme and secrets.
	ResignFunc func(ex *inspect.Exchange) (Resigned, error)
	// Pace is PaceFast (the default) or PaceOriginal.
	Pace string
	// Concurrency caps requests in flight; 1 when zero.
	Concurrency int
	// Speed divides the recorded gaps with PaceOriginal; 1 when zero.
	Speed float64
	// Timeout bounds each request; 30s when zero.
	Timeout time.Duration
	// GiveUpAfter ends the run when this many requests in a row got no
	// answer at all (refused, reset, timed out): the target is down or
	// hung, and the rest would each wait out Timeout. 5 when zero; -1
	// never gives up.
	GiveUpAfter int
	// MaxBody is how many response body bytes are kept, recorded and
	// compared; 10 MiB when zero. A body cut there is compared as far as
	// it goes (see Compare).
	MaxBody int64
	Diff    DiffOptions
	// Transport sends the requests; NewTransport(Insecure) when nil.
	Transport http.RoundTripper
	// Insecure skips verification of the target's TLS certificate. With a
	// Transport, that must be an *http.Transport: the run uses a clone of
	// it that does not verify.
	Insecure bool
	Clock    Clock
	// Record stores each replay as an exchange; nil records nothing.
	Record func(context.Context, *inspect.Exchange) error
	// IDs makes the ids of recorded replays.
	IDs *inspect.IDs
	// Bin is the bin of recorded replays; the original's bin when empty
	// (and "default" for HAR entries that have none).
	Bin string
	// OnResult, when set, is called with each result as it completes (from
	// several goroutines, one call at a time).
	OnResult func(Result)
}

// Resigned is what a ResignFunc returns for an emitted exchange.
type Resigned struct {
	// Signature holds fresh signature headers (none for an unsigned
	// webhook).
	Signature http.Header
	// Credentials holds the webhook's authentication headers as of now:
	// sent as they are, recorded redacted.
	Credentials http.Header
}

// Result is the outcome of replaying one exchange.
type Result struct {
	// Index is the position in the run.
	Index int `json:"index"`
	// Original is the id of the replayed exchange ("" for a HAR entry
	// without one); Replay is the id of the recorded replay.
	Original string `json:"original,omitempty"`
	Replay   string `json:"replay,omitempty"`
	Method   string `json:"method"`
	// URL is where the request went, its password (when it has user
	// info) replaced by inspect.Redacted.
	URL            string  `json:"url"`
	RecordedStatus int     `json:"recorded_status"`
	Status         int     `json:"status"`
	DurationMS     float64 `json:"duration_ms"`
	// Outcome is Same, Differ or Failed.
	Outcome string `json:"outcome"`
	// Error says why the replay failed.
	Error   string   `json:"error,omitempty"`
	Changes []Change `json:"changes,omitempty"`
	// Ignored lists what the diff's Ignore paths and IgnoreHeaders left
	// out, with both values, so that a diff view can show them greyed (see
	// differ.ignoredValues). It is empty when no ignore rule matched.
	Ignored []Change `json:"ignored,omitempty"`
	// Notes say what was not compared, or could not be recorded, or that
	// the request went out with redacted headers.
	Notes []string `json:"notes,omitempty"`
	// Redacted names the request headers that went out holding
	// inspect.Redacted, the placeholder they were recorded (or exported)
	// with in place of a secret: an emitted webhook's credentials replayed
	// without Resign, a HAR fixture's Authorization.
	Redacted []string `json:"redacted,omitempty"`
}

// Summary counts the outcomes of a run.
type Summary struct {
	Replayed int `json:"replayed"`
	Same     int `json:"same"`
	Differ   int `json:"differ"`
	Failed   int `json:"failed"`
}

// String gives the summary line: "42 replayed, 39 same, 3 differ, 0 failed".
func (s Summary) String() string {
	return fmt.Sprintf("%d replayed, %d same, %d differ, %d failed", s.Replayed, s.Same, s.Differ, s.Failed)
}

func (s *Summary) add(r Result) {
	s.Replayed++
	switch r.Outcome {
	case Same:
		s.Same++
	case Differ:
		s.Differ++
	default:
		s.Failed++
	}
}

// Report is the outcome of a run.
type Report struct {
	Summary Summary `json:"summary"`
	// Error says why the run ended early (it gave up, was stopped): the
	// requests after the last result were not sent.
	Error string `json:"error,omitempty"`
	// Run is the id of the run on the server that made it, and UI the
	// run's page in that server's UI; both are empty for a run made
	// without a server.
	Run     string   `json:"run,omitempty"`
	UI      string   `json:"ui,omitempty"`
	Results []Result `json:"results"`
}

// NewDialer is the dialer of NewTransport, for a caller that adds a
// Control (the server's refusal of its own address).
func NewDialer() *net.Dialer {
	return &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}
}

// NewTransport returns the transport replays use by default: keep-alive
// with room for high concurrency, no proxy from the environment, and no
// transparent compression, so that the request goes out with exactly the
// recorded headers and the response is recorded as it came. insecure skips
// verification of the target's certificate.
func NewTransport(insecure bool) *http.Transport {
	return &http.Transport{
		DialContext:           NewDialer().DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
		DisableCompression:    true,
		ForceAttemptHTTP2:     true,
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: insecure},
	}
}

// RefuseOwnAPI makes tr refuse to connect to hooklab's own UI/API
// listener, the one on apiPort: however a URL names it (LOCALHOST, a
// 0-padded port, 127.1, another local address), the dial fails with an
// error wrapping inspect.ErrOwnAPI. A recorded URL is whatever Host its
// sender wrote, and a HAR file's are whatever its author wrote: replaying
// them must not drive hooklab's API (a DELETE would clear the exchanges).
// why, when set, is said after the refusal: how the port was known.
func RefuseOwnAPI(tr *http.Transport, apiPort, why string) {
	refuse := OwnAPICheck(apiPort)
	d := NewDialer()
	d.Control = func(_, address string, _ syscall.RawConn) error {
		err := refuse(address)
		if err != nil && why != "" {
			err = fmt.Errorf("%w (%s)", err, why)
		}
		return err
	}
	tr.DialContext = d.DialContext
}

// OwnAPICheck returns a check of the address a connection is about to be
// made to (a resolved "host:port"): an error wrapping inspect.ErrOwnAPI
// when it is apiPort on one of this machine's addresses, however written
// (a zone, ::1%lo; an IPv4-mapped IPv6 address; a 0-padded port). An
// address it cannot read on that port is refused too.
func OwnAPICheck(apiPort string) func(address string) error {
	want, perr := strconv.ParseUint(apiPort, 10, 16)
	return func(address string) error {
		host, port, err := net.SplitHostPort(address)
		if err != nil || perr != nil {
			return nil
		}
		if p, err := strconv.ParseUint(port, 10, 16); err != nil || p != want {
			return nil
		}
		if ip, err := netip.ParseAddr(host); err == nil && !IsLocalAddr(ip) {
			return nil
		}
		return fmt.Errorf("not sent: %s is %w", address, inspect.ErrOwnAPI)
	}
}

// IsLocalAddr reports whether ip (its zone and an IPv4 mapping aside) is
// loopback, unspecified or an address of this machine.
func IsLocalAddr(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	if ip.IsLoopback() || ip.IsUnspecified() {
		return true
	}
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if local, ok := netip.AddrFromSlice(n.IP); ok && local.Unmap() == ip {
				return true
			}
		}
	}
	return false
}

// ErrNothing means a run was asked to replay nothing.
var ErrNothing = fmt.Errorf("%w: nothing to replay", inspect.ErrInvalid)

// errNoEntries is ErrNothing for a HAR file without entries.
var errNoEntries = fmt.Errorf("%w: the HAR file has no entries", ErrNothing)

type runner struct {
	opts   Options
	target *url.URL
	client *http.Client
	diff   *differ
	drop   map[string]bool // canonical names of headers not sent
	mu     sync.Mutex      // serializes OnResult
	// own is the transport the runner made (a default one, or an
	// insecure clone), whose idle connections go when the run ends.
	own *http.Transport
	// unanswered counts the requests in a row, as they end, that got no
	// answer; lastErr is the latest one's error (see GiveUpAfter).
	unanswered atomic.Int32
	lastErr    atomic.Pointer[string]
}

// ErrGaveUp ends a run whose target stopped answering (see GiveUpAfter).
var ErrGaveUp = errors.New("the target stopped answering")

// gaveUp is the error that ends the run, or nil while the target answers.
func (r *runner) gaveUp() error {
	n := int(r.unanswered.Load())
	if r.opts.GiveUpAfter < 0 || n < r.opts.GiveUpAfter {
		return nil
	}
	last := ""
	if p := r.lastErr.Load(); p != nil {
		last = *p
	}
	return fmt.Errorf("%w: %d requests in a row got no answer (the last: %s); the rest were not sent", ErrGaveUp, n, last)
}

// Run replays exs and diffs each response against the recorded one. It
// returns an error only for unusable options or a cancelled context (with
// the results so far); a request that fails is a Failed result. With
// PaceOriginal the exchanges are sent in time order.
func Run(ctx context.Context, exs []*inspect.Exchange, opts Options) (*Report, error) {
	if opts.Pace == PaceOriginal {
		exs = slices.Clone(exs)
		slices.SortStableFunc(exs, func(a, b *inspect.Exchange) int { return a.Time.Compare(b.Time) })
	}
	return replayAll(ctx, len(exs), func(i int) time.Time { return exs[i].Time },
		func(_ context.Context, i int) (*inspect.Exchange, string, error) { return exs[i], exs[i].ID, nil }, opts)
}

// RunStored is Run for exchanges of store (SelectIDs): each is read when
// its turn comes, so that a run holds only the bodies of the requests in
// flight, however many it replays. One deleted since it was selected is a
// Failed result.
func RunStored(ctx context.Context, store inspect.Store, sel []Selected, opts Options) (*Report, error) {
	if opts.Pace == PaceOriginal {
		sel = slices.Clone(sel)
		slices.SortStableFunc(sel, func(a, b Selected) int { return a.Time.Compare(b.Time) })
	}
	load := func(ctx context.Context, i int) (*inspect.Exchange, string, error) {
		ex, err := store.Get(ctx, sel[i].ID)
		if errors.Is(err, inspect.ErrNotFound) {
			err = fmt.Errorf("exchange %s was deleted before its turn", sel[i].ID)
		}
		return ex, sel[i].ID, err
	}
	return replayAll(ctx, len(sel), func(i int) time.Time { return sel[i].Time }, load, opts)
}

// replayAll replays n exchanges: the i-th is what load(i) gives (with its
// id, for the result of a failed load), called when its turn comes;
// timeOf(i) paces PaceOriginal runs.
func replayAll(ctx context.Context, n int, timeOf func(int) time.Time, load func(context.Context, int) (*inspect.Exchange, string, error), opts Options) (*Report, error) {
	if n == 0 {
		return &Report{Results: []Result{}}, ErrNothing
	}
	r, err := newRunner(opts)
	if err != nil {
		return nil, err
	}
	results := make([]Result, n)
	sem := make(chan struct{}, r.opts.Concurrency)
	var wg sync.WaitGroup
	start := r.opts.Clock.Now()
	var runErr error
	sent := n
	for i := range n {
		if r.opts.Pace == PaceOriginal && i > 0 {
			due := time.Duration(float64(timeOf(i).Sub(timeOf(0))) / r.opts.Speed)
			if wait := due - r.opts.Clock.Now().Sub(start); wait > 0 {
				if err := r.opts.Clock.Sleep(ctx, wait); err != nil {
					runErr = err
				}
			}
		}
		if runErr == nil {
			select {
			case sem <- struct{}{}:
				// Both may be ready at once (the last result cancelled as
				// it freed its slot): a cancelled run sends nothing more.
				if runErr = ctx.Err(); runErr == nil {
					runErr = r.gaveUp()
				}
				if runErr != nil {
					<-sem
				}
			case <-ctx.Done():
				runErr = ctx.Err()
			}
		}
		if runErr != nil {
			sent = i
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			var res Result
			if ex, id, err := load(ctx, i); err != nil {
				res = Result{Index: i, Original: id, Outcome: Failed, Error: err.Error()}
			} else {
				res = r.one(ctx, i, ex)
			}
			results[i] = res
			if r.opts.OnResult != nil {
				r.mu.Lock()
				r.opts.OnResult(res)
				r.mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if r.own != nil {
		r.own.CloseIdleConnections()
	}
	rep := &Report{Results: results[:sent]}
	for _, res := range rep.Results {
		rep.Summary.add(res)
	}
	return rep, runErr
}

func newRunner(opts Options) (*runner, error) {
	if opts.Concurrency <= 0 {
		opts.Concurrency = 1
	}
	if opts.Speed <= 0 {
		opts.Speed = 1
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	if opts.GiveUpAfter == 0 {
		opts.GiveUpAfter = 5
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = 10 << 20
	}
	if opts.Clock == nil {
		opts.Clock = realClock{}
	}
	if opts.IDs == nil {
		opts.IDs = new(inspect.IDs)
	}
	switch opts.Pace {
	case "":
		opts.Pace = PaceFast
	case PaceFast, PaceOriginal:
	default:
		return nil, fmt.Errorf("%w: pace %q: want fast or original", inspect.ErrInvalid, opts.Pace)
	}
	if opts.Resign && opts.ResignFunc == nil {
		return nil, fmt.Errorf("%w: resign: no webhook signing is configured here", inspect.ErrInvalid)
	}
	if opts.Override.Method != "" && !validToken(opts.Override.Method) {
		return nil, fmt.Errorf("%w: method %q is not an HTTP method", inspect.ErrInvalid, opts.Override.Method)
	}
	for _, h := range opts.Override.SetHeaders {
		if !validToken(h.Name) {
			return nil, fmt.Errorf("%w: header name %q", inspect.ErrInvalid, h.Name)
		}
		if !httpguts.ValidHeaderFieldValue(h.Value) {
			return nil, fmt.Errorf("%w: header %s: its value holds a control character (CR, LF, NUL...)", inspect.ErrInvalid, h.Name)
		}
	}
	if opts.Override.Path != "" && !strings.HasPrefix(opts.Override.Path, "/") {
		return nil, fmt.Errorf("%w: path %q must start with /", inspect.ErrInvalid, opts.Override.Path)
	}
	r := &runner{opts: opts, diff: newDiffer(opts.Diff), drop: map[string]bool{}}
	for _, n := range hopHeaders {
		r.drop[http.CanonicalHeaderKey(n)] = true
	}
	for _, n := range opts.Override.RemoveHeaders {
		r.drop[http.CanonicalHeaderKey(n)] = true
	}
	if opts.Target != "" {
		u, err := url.Parse(opts.Target)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, fmt.Errorf("%w: target %q: want a base URL like http://127.0.0.1:3000", inspect.ErrInvalid, inspect.ShownURL(opts.Target, inspect.QuerySecret(opts.Diff.SecretHeaders)))
		}
		r.target = u
	}
	tr := opts.Transport
	switch t := tr.(type) {
	case nil:
		r.own = NewTransport(opts.Insecure)
		tr = r.own
	case *http.Transport:
		if opts.Insecure {
			r.own = t.Clone()
			if r.own.TLSClientConfig == nil {
				r.own.TLSClientConfig = &tls.Config{}
			}
			r.own.TLSClientConfig.InsecureSkipVerify = true
			tr = r.own
		}
	default:
		if opts.Insecure {
			return nil, fmt.Errorf("%w: insecure: this transport cannot skip TLS verification", inspect.ErrInvalid)
		}
	}
	r.client = &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return r, nil
}

// validToken reports whether s is an HTTP token (RFC 9110), as a method
// and a header name must be.
func validToken(s string) bool { return httpguts.ValidHeaderFieldName(s) }

// upstreamLocation is ex's recorded answer as compared with answer: when
// the reverse proxy gave the client the upstream's Location in its own
// terms (meta.upstream_location) and answer, from the upstream itself,
// holds that original, the original is what is compared.
func upstreamLocation(ex *inspect.Exchange, answer *inspect.Response) *inspect.Response {
	orig, _ := ex.Meta["upstream_location"].(string)
	if orig == "" || ex.Response == nil || answer == nil || answer.Headers.Get("Location") != orig {
		return ex.Response
	}
	resp := *ex.Response
	resp.Headers = slices.Clone(resp.Headers)
	for i, h := range resp.Headers {
		if strings.EqualFold(h.Name, "Location") {
			resp.Headers[i].Value = orig
		}
	}
	return &resp
}

// hopHeaders are not forwarded: they belong to one connection. Host
// follows the target; Content-Length is set from the body sent.
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade", "Host", "Content-Length"}

// destination is the URL ex goes to: its own, or the target's, with the
// overrides' path and the target's query.
func (r *runner) destination(ex *inspect.Exchange) (*url.URL, error) {
	o := r.opts.Override
	u, err := url.Parse(ex.Request.URL)
	if err != nil {
		// A target does not mend it: its path is what is unknown.
		var ue *url.Error
		switch {
		case strings.Contains(ex.Request.URL, "@"):
			// Go's reason may quote a part of the user info (a password
			// with a / in it reads as a port).
			err = errors.New("it does not parse as a URL")
		case errors.As(err, &ue):
			err = ue.Err // without the URL again
		}
		return nil, fmt.Errorf("recorded URL %q cannot be sent: %w", r.shown(ex, ex.Request.URL), err)
	}
	if u.Host == "" && r.target == nil {
		return nil, fmt.Errorf("recorded URL %q cannot be sent: give a target", r.shown(ex, ex.Request.URL))
	}
	if err := numberSign(u, ex.Request.URL); err != nil {
		return nil, fmt.Errorf("recorded URL %q cannot be sent: %w", r.shown(ex, ex.Request.URL), err)
	}
	if u.Scheme == "" {
		u.Scheme = "http"
	}
	if r.target != nil {
		p := pathAfterTarget(u, ex.Source)
		if rest, ok := cutPathPrefix(p, r.opts.StripPrefix); ok {
			p = rest
		}
		if p == "" {
			p = "/"
		}
		p = strings.TrimSuffix(r.target.EscapedPath(), "/") + p
		u = &url.URL{Scheme: r.target.Scheme, Host: r.target.Host, User: r.target.User, RawQuery: u.RawQuery}
		if err := setEscapedPath(u, p); err != nil {
			return nil, err
		}
	}
	if o.Path != "" {
		p, q, hasQ := strings.Cut(o.Path, "?")
		if err := setEscapedPath(u, p); err != nil {
			return nil, err
		}
		if hasQ {
			u.RawQuery = q
		}
	}
	if r.target != nil && r.target.RawQuery != "" {
		// The target's parameters go after the request's own, which keep
		// their recorded bytes.
		if u.RawQuery != "" {
			u.RawQuery += "&"
		}
		u.RawQuery += r.target.RawQuery
	}
	// A space no request line may hold (a hand-written or foreign HAR's
	// "?q=x y"; url.Parse refuses control bytes) is escaped, as in the
	// path; Go's client would send it raw, splitting the request line.
	u.RawQuery = strings.ReplaceAll(u.RawQuery, " ", "%20")
	return u, nil
}

// pathAfterTarget is the path of u, recorded from source, that goes after
// a target's: its recorded bytes, even where Go would escape them, without
// a capture's /b/NAME part.
func pathAfterTarget(u *url.URL, source inspect.Source) string {
	p := u.RawPath
	if p == "" {
		p = u.EscapedPath()
	}
	if source == inspect.SourceCapture {
		// /b/NAME/... went to bin NAME when captured: the bin the
		// exchange is in now may be another (imported with --bin).
		if after, ok := strings.CutPrefix(p, "/b/"); ok {
			if name, _, _ := strings.Cut(after, "/"); inspect.ValidBin(name) == nil {
				p = after[len(name):]
			}
		}
	}
	return p
}

// cutPathPrefix returns p without prefix, which must end where a segment
// of p does, and whether it did; an empty prefix cuts nothing.
func cutPathPrefix(p, prefix string) (string, bool) {
	if prefix == "" {
		return p, false
	}
	rest, ok := strings.CutPrefix(p, strings.TrimSuffix(prefix, "/"))
	if !ok || (rest != "" && rest[0] != '/') {
		return p, false
	}
	return rest, true
}

// stripWarning warns, or returns "", when prefix, a StripPrefix, cuts the
// path of none of the n exchanges that at gives (the recorded URL and
// source of the i-th): each then goes after the target's path whole, which
// a mistyped prefix would not otherwise show until the target answered
// 404s. A prefix that cuts some paths is not warned of: a run may mix
// traffic with it and without.
func stripWarning(prefix string, n int, at func(i int) (rawURL string, source inspect.Source)) string {
	if prefix == "" || n == 0 {
		return ""
	}
	for i := range n {
		rawURL, source := at(i)
		u, err := url.Parse(rawURL)
		if err != nil {
			continue // it is not sent at all; its result says why
		}
		if _, ok := cutPathPrefix(pathAfterTarget(u, source), prefix); ok {
			return ""
		}
	}
	return fmt.Sprintf("strip prefix %s matched 0 of %s: no recorded path starts with it, so each path goes after the target's unchanged", prefix, inspect.Count(n, "exchange", "exchanges"))
}

// method is the method ex goes with.
func (r *runner) method(ex *inspect.Exchange) string {
	if m := r.opts.Override.Method; m != "" {
		return strings.ToUpper(m)
	}
	return ex.Request.Method
}

// prepare builds the request of ex to u (its destination), or says why it
// is not sent.
func (r *runner) prepare(ctx context.Context, ex *inspect.Exchange, u *url.URL) (*http.Request, inspect.Headers, error) {
	o := r.opts.Override
	var restored []string // credentials resigning sent: recorded redacted
	if strings.EqualFold(ex.Request.Headers.Get("Upgrade"), "websocket") && ex.Response != nil && ex.Response.Status == http.StatusSwitchingProtocols {
		// Upgraded: what went through is not recorded. One answered
		// otherwise (the capture port's 200, a 426) was a plain request
		// and goes as one, without Upgrade and Connection (hop-by-hop):
		// a target that upgraded would leave nothing to compare.
		return nil, nil, errors.New("a websocket handshake is not replayed: hooklab counts its frames but does not record them")
	}
	if strings.EqualFold(ex.Request.Method, http.MethodConnect) {
		return nil, nil, errors.New("a CONNECT tunnel is not replayed: hooklab records its host, bytes and duration, not what went through it")
	}
	if ex.Request.Truncated && !o.SetBody {
		// Cut at --max-body, or by the upstream's early answer, when the
		// proxy says how far it forwarded.
		why, ok := ex.Meta["request_body"].(string)
		if !ok {
			why = fmt.Sprintf("%d of %d bytes kept", len(ex.Request.Body), ex.Request.Size)
		}
		return nil, nil, fmt.Errorf("the request body was cut when recorded (%s): not replayed, as the receiver would get a different body", why)
	}
	if ex.RequestIncomplete() && !o.SetBody {
		return nil, nil, fmt.Errorf("the request body was not all received when recorded (%s): not replayed, as the receiver would get a different body", ex.Error)
	}
	method := r.method(ex)
	body := ex.Request.Body
	if o.SetBody {
		body = o.Body
	}

	// Headers in recorded order, minus hop-by-hop ones and those named in
	// Connection, with overrides applied.
	var connListed map[string]bool
	for _, v := range ex.Request.Headers {
		if strings.EqualFold(v.Name, "Connection") {
			for _, n := range strings.Split(v.Value, ",") {
				if connListed == nil {
					connListed = map[string]bool{}
				}
				connListed[http.CanonicalHeaderKey(strings.TrimSpace(n))] = true
			}
		}
	}
	hdrs := make(inspect.Headers, 0, len(ex.Request.Headers)+len(o.SetHeaders))
	for _, h := range ex.Request.Headers {
		k := http.CanonicalHeaderKey(h.Name)
		if !r.drop[k] && !connListed[k] {
			hdrs = append(hdrs, h)
		}
	}
	// Set headers go as given, but Content-Length follows the body sent,
	// and a Host set becomes the request's Host (once, not a second Host
	// line).
	var set inspect.Headers
	hostOverride := ""
	for _, h := range o.SetHeaders {
		switch http.CanonicalHeaderKey(h.Name) {
		case "Host":
			hostOverride = h.Value
		case "Content-Length":
		default:
			set = append(set, h)
		}
	}
	hdrs = setHeaders(hdrs, set)
	if r.opts.Resign && ex.Source == inspect.SourceEmit {
		sent := *ex
		sent.Request.Body = body
		sent.Request.Headers = hdrs
		res, err := r.opts.ResignFunc(&sent)
		if err != nil {
			return nil, nil, fmt.Errorf("resign: %w", err)
		}
		sig := res.Signature.Clone()
		if sig == nil {
			sig = http.Header{}
		}
		for name, v := range res.Credentials {
			sig[name] = v
		}
		// What the user sets explicitly stays as set.
		for _, h := range set {
			sig.Del(h.Name)
		}
		hdrs = setHeaders(hdrs, inspect.FromHTTP(sig))
		// Credentials go out real and are recorded redacted: the
		// webhook's as of now (its authentication may have changed since),
		// and any the record held redacted that resigning put back.
		for name := range res.Credentials {
			if sig.Get(name) != "" {
				restored = append(restored, name)
			}
		}
		for _, h := range ex.Request.Headers {
			if h.Value == inspect.Redacted && sig.Get(h.Name) != "" {
				restored = append(restored, h.Name)
			}
		}
	}

	req, err := http.NewRequestWithContext(ctx, method, u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, nil, fmt.Errorf("build request: %w", err)
	}
	req.URL = u // keep the exact escaping
	if sendsRawPath(u) {
		v := *u
		v.Opaque = u.RawPath
		req.URL = &v
	}
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
		req.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
	}
	req.Header = make(http.Header, len(hdrs))
	for _, h := range hdrs {
		k := http.CanonicalHeaderKey(h.Name)
		req.Header[k] = append(req.Header[k], h.Value)
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header["User-Agent"] = []string{""} // send none, as the original did
	}
	hostHdr := inspect.Header{Name: "Host", Value: u.Host}
	if hostOverride != "" {
		req.Host, hostHdr.Value = hostOverride, hostOverride
	}
	recorded := append(inspect.Headers{hostHdr}, hdrs...)
	for i, h := range recorded {
		if slices.ContainsFunc(restored, func(n string) bool { return strings.EqualFold(n, h.Name) }) {
			recorded[i].Value = inspect.Redacted
		}
	}
	return req, recorded, nil
}

// sendsRawPath reports whether u goes out with its RawPath as it is, in
// an Opaque URL: Go re-escapes a RawPath it deems invalid (|, {, ", bytes
// outside ASCII) and decodes the rest (%41 to A), where the recorded bytes
// should go. Not spaces or control bytes, which no request line may hold
// (a hand-written HAR's "my file.txt" goes escaped), nor a path starting
// "//", which an Opaque URL would read as a host.
func sendsRawPath(u *url.URL) bool {
	return u.RawPath != "" && u.EscapedPath() != u.RawPath && !strings.HasPrefix(u.RawPath, "//") &&
		!strings.ContainsFunc(u.RawPath, func(r rune) bool { return r <= ' ' || r == 0x7f })
}

// rawURL is u as it goes out: its path with the recorded bytes (RawPath
// or an Opaque one) where Go's String would escape them again.
func rawURL(u *url.URL) string {
	p := u.Opaque
	if p == "" && sendsRawPath(u) {
		p = u.RawPath
	}
	if p == "" || u.EscapedPath() == p {
		return u.String()
	}
	v := *u
	v.Opaque, v.RawPath, v.Path = "", "", ""
	s := v.String() // scheme, user info and host
	if i := strings.IndexByte(s, '?'); i >= 0 {
		return s[:i] + p + s[i:]
	}
	return s + p
}

// numberSign puts back into u's path or query a # its recorded URL held
// there: a request line has no fragment (the server read the # as part of
// the target), but url.Parse took the rest for one, which Go does not
// send.
func numberSign(u *url.URL, recorded string) error {
	i := strings.IndexByte(recorded, '#')
	if i < 0 {
		return nil
	}
	u.Fragment, u.RawFragment = "", ""
	rest := recorded[i:]
	if strings.Contains(recorded[:i], "?") {
		u.RawQuery += rest
		return nil
	}
	p, q, hasQuery := strings.Cut(rest, "?")
	path := u.RawPath
	if path == "" {
		path = u.EscapedPath()
	}
	if path == "" {
		path = "/"
	}
	if err := setEscapedPath(u, path+p); err != nil {
		return err
	}
	if hasQuery {
		u.RawQuery, u.ForceQuery = q, q == ""
	}
	return nil
}

func setEscapedPath(u *url.URL, p string) error {
	dec, err := url.PathUnescape(p)
	if err != nil {
		return fmt.Errorf("path %q: %w", p, err)
	}
	u.Path, u.RawPath = dec, ""
	if u.EscapedPath() != p {
		u.RawPath = p
	}
	return nil
}

// setHeaders replaces every value of each header in set, in the place of
// its first occurrence, or appends it.
func setHeaders(hdrs, set inspect.Headers) inspect.Headers {
	for _, s := range set {
		out := hdrs[:0:0]
		placed := false
		for _, h := range hdrs {
			if strings.EqualFold(h.Name, s.Name) {
				if !placed {
					out = append(out, s)
					placed = true
				}
				continue
			}
			out = append(out, h)
		}
		if !placed {
			out = append(out, s)
		}
		hdrs = out
	}
	return hdrs
}

// one replays ex and diffs the answer.
func (r *runner) one(ctx context.Context, i int, ex *inspect.Exchange) Result {
	res := Result{Index: i, Original: ex.ID, Method: ex.Request.Method, URL: r.shown(ex, ex.Request.URL), RecordedStatus: ex.Status()}
	start := r.opts.Clock.Now()
	rctx, cancel := context.WithTimeout(ctx, r.opts.Timeout)
	defer cancel()
	u, err := r.destination(ex)
	var req *http.Request
	var sentHdrs inspect.Headers
	if err == nil {
		// The request goes with the target's user info (as basic auth);
		// the result, shown in runs, events and output, without its
		// password (and an emitted one without its endpoint's secret
		// query values). One not sent names where it would have gone.
		res.Method, res.URL = r.method(ex), r.shown(ex, rawURL(r.targetShown(u)))
		req, sentHdrs, err = r.prepare(rctx, ex, u)
	}
	if err != nil {
		res.Outcome, res.Error = Failed, err.Error()
		return res
	}
	redacted := sentRedacted(req.Header, sentHdrs)
	body := r.opts.Override.Body
	if !r.opts.Override.SetBody {
		body = ex.Request.Body
	}
	rec := &inspect.Exchange{
		Bin:      r.opts.Bin,
		Source:   inspect.SourceReplay,
		Time:     start,
		ReplayOf: ex.ID,
		Request: inspect.Request{
			Method: req.Method, URL: rawURL(req.URL), Proto: "HTTP/1.1", Host: req.URL.Host,
			Headers: sentHdrs, Body: body, Size: int64(len(body)), TLS: req.URL.Scheme == "https",
		},
	}
	// An emitted exchange's URL is its webhook's endpoint: the request
	// goes with its secret query values, the record without them.
	// So does a target's (?api_key= as the target was given).
	rec.Request.URL = r.recordedURL(ex, rawURL(r.targetShown(req.URL)))
	if rec.Bin == "" {
		rec.Bin = ex.Bin
	}
	if rec.Bin == "" {
		rec.Bin = inspect.DefaultBin
	}
	resp, err := r.client.Do(req)
	// Go's error quotes the URL as sent: it is named as recorded, here
	// and in the run's error when it gives up.
	errText := ""
	if err != nil {
		// Go writes a URL with an Opaque path without its host
		// ("http:/a|b"), and one with a password with *** for it: the
		// error names the URL as recorded, its password REDACTED.
		errText = describeError(err, r.opts.Timeout)
		for _, quoted := range goQuotedURLs(req.URL) {
			errText = strings.ReplaceAll(errText, `"`+quoted+`"`, `"`+inspect.RedactURL(rec.Request.URL)+`"`)
		}
	}
	switch {
	case err == nil:
		r.unanswered.Store(0)
	case !errors.Is(err, inspect.ErrOwnAPI) && ctx.Err() == nil:
		r.lastErr.Store(&errText)
		r.unanswered.Add(1)
	}
	if err == nil {
		if resp.ProtoMajor == 2 { // negotiated: the request went as HTTP/2 too
			rec.Request.Proto = resp.Proto
		} // an HTTP/1.0 answer came to an HTTP/1.1 request
		rec.Response = &inspect.Response{Status: resp.StatusCode, Headers: inspect.FromHTTP(resp.Header)}
		var rerr error
		rec.Response.Body, rec.Response.Size, rec.Response.Truncated, rerr = readBody(resp.Body, r.opts.MaxBody, resp.ContentLength)
		resp.Body.Close()
		if rerr != nil {
			err = fmt.Errorf("reading the response body after %d bytes: %w", rec.Response.Size, rerr)
		}
	}
	rec.Duration = r.opts.Clock.Now().Sub(start)
	res.DurationMS = float64(rec.Duration.Microseconds()) / 1000
	if heldRedacted(req.URL.RawQuery) && !errors.Is(err, inspect.ErrOwnAPI) {
		res.Notes = append(res.Notes, fmt.Sprintf("the query went out holding %s, the placeholder recorded in place of a secret value (a replay of a delivery is recorded so: replay the delivery itself, or give --set-path with the query)", inspect.Redacted))
	}
	if r.opts.Resign && ex.Source != inspect.SourceEmit && !errors.Is(err, inspect.ErrOwnAPI) {
		// Asked to sign again, it went unsigned: say why, not nothing.
		res.Notes = append(res.Notes, fmt.Sprintf("not signed again: exchange %s is no delivery of a hooklab webhook (its source is %s), so no webhook's secret signs it; it went as recorded", ex.ID, cmp.Or(ex.Source, "unknown")))
	}
	if len(redacted) > 0 && !errors.Is(err, inspect.ErrOwnAPI) { // refused: nothing went out
		res.Redacted = redacted
		res.Notes = append(res.Notes, fmt.Sprintf("%s went out as %s, the placeholder recorded in place of the secret (replay emitted webhooks with --resign, or give --set-header or --remove-header)",
			strings.Join(redacted, ", "), inspect.Redacted))
	}
	if err != nil {
		if errText == "" { // the body's error
			errText = describeError(err, r.opts.Timeout)
		}
		rec.Error = errText
		if errors.Is(err, inspect.ErrOwnAPI) {
			if r.target != nil {
				rec.Error += "; give another target"
			} else {
				rec.Error += "; give a target"
			}
		}
		res.Outcome, res.Error = Failed, rec.Error
	} else {
		res.Status = rec.Response.Status
		var notes []string
		cutOff := ""
		if ex.ResponseCutOff() {
			cutOff = ex.Error
		}
		res.Changes, notes = r.diff.compare(upstreamLocation(ex, rec.Response), rec.Response, cutOff)
		res.Notes = append(res.Notes, notes...)
		res.Ignored = r.diff.ignoredValues(ex.Response, rec.Response)
		res.Outcome = Same
		if len(res.Changes) > 0 {
			res.Outcome = Differ
		}
	}
	if r.opts.Record != nil {
		rec.ID = r.opts.IDs.New(start)
		if err := r.opts.Record(context.WithoutCancel(ctx), rec); err != nil {
			res.Notes = append(res.Notes, "not recorded: "+err.Error())
		} else {
			res.Replay = rec.ID
		}
	}
	return res
}

// shown is rawURL, where ex goes, as a run's results, errors and events
// show it: without the password of its user info, and for an exchange
// hooklab emitted (whose URL is its webhook's endpoint, ?api_key= and
// all) without the values of its secret-named query parameters, as the
// exchange API shows the delivery's.
func (r *runner) shown(ex *inspect.Exchange, rawURL string) string {
	return inspect.RedactURL(r.recordedURL(ex, rawURL))
}

// recordedURL is rawURL, where ex went, as its replay is recorded and its
// error quotes it: for an exchange hooklab emitted, with its secret-named
// query values Redacted, as hooklab's capture port and proxies record a
// delivery of its own webhook.
func (r *runner) recordedURL(ex *inspect.Exchange, rawURL string) string {
	if ex.Source != inspect.SourceEmit {
		return rawURL
	}
	shown, _ := inspect.RedactQuery(rawURL, r.secret())
	return shown
}

// targetShown is u, where an exchange goes (see destination), with the
// values of the secret-named query parameters that the target adds after
// the request's own (?api_key= as the target was given) Redacted, as the
// run's target shows them: the request goes with them; its result, error
// and record without. The request's own query is kept as it was recorded.
func (r *runner) targetShown(u *url.URL) *url.URL {
	if r.target == nil || r.target.RawQuery == "" {
		return u
	}
	tq := strings.ReplaceAll(r.target.RawQuery, " ", "%20") // as destination escapes it
	shown, ok := inspect.RedactQuery("?"+tq, r.secret())
	if !ok {
		return u
	}
	c := *u
	if rest, ok := strings.CutSuffix(u.RawQuery, tq); ok {
		c.RawQuery = rest + shown[1:]
	} else { // not where destination puts it: all of it
		all, _ := inspect.RedactQuery("?"+u.RawQuery, r.secret())
		c.RawQuery = all[1:]
	}
	return &c
}

// secret says which query parameters hold secrets (inspect.QuerySecret
// with the secret headers given).
func (r *runner) secret() func(name string) bool {
	return inspect.QuerySecret(r.opts.Diff.SecretHeaders)
}

// goQuotedURLs are the ways Go's HTTP client quotes u in its errors: as
// u.String(), and with the password *** where u has one (net/http's
// stripPassword).
func goQuotedURLs(u *url.URL) []string {
	out := []string{u.String()}
	if _, ok := u.User.Password(); ok {
		out = append(out, strings.Replace(u.String(), u.User.String()+"@", u.User.Username()+":***@", 1))
	}
	return out
}

// heldRedacted reports whether a value of the query q is inspect.Redacted.
func heldRedacted(q string) bool {
	if !strings.Contains(q, inspect.Redacted) {
		return false
	}
	_, held := inspect.EditQuery("?"+q, func(_, v string) (string, bool) { return v, v == inspect.Redacted })
	return held
}

// sentRedacted names, in the order of order (the headers as recorded),
// the headers of sent whose values hold inspect.Redacted (a cookie's
// "session=REDACTED" included).
func sentRedacted(sent http.Header, order inspect.Headers) []string {
	var names []string
	for _, h := range order {
		if slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, h.Name) }) {
			continue
		}
		if slices.ContainsFunc(sent.Values(h.Name), func(v string) bool { return strings.Contains(v, inspect.Redacted) }) {
			names = append(names, h.Name)
		}
	}
	return names
}

func describeError(err error, timeout time.Duration) string {
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		return fmt.Sprintf("no answer within %s: %v", timeout, err)
	}
	return err.Error()
}

// readBody reads up to limit bytes and counts the rest.
func readBody(body io.Reader, limit, hint int64) (b []byte, size int64, truncated bool, err error) {
	var buf bytes.Buffer
	if hint > 0 {
		buf.Grow(int(min(hint, limit)) + bytes.MinRead)
	}
	n, err := io.Copy(&buf, io.LimitReader(body, limit))
	size = n
	if err == nil && n == limit {
		var rest int64
		rest, err = io.Copy(io.Discard, body)
		size += rest
		truncated = rest > 0
	}
	return buf.Bytes(), size, truncated, err
}
