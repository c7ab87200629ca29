package replay

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/inspect/har"
)

// ErrUsage means the command line was wrong; the message has been printed
// to Stderr already.
var ErrUsage = errors.New("usage")

// ErrDiff is returned by the replay command with --fail-on-diff when a
// response differed or a replay failed; the diff and summary have been
// printed.
var ErrDiff = errors.New("replayed responses differ")

// CLI runs the replay, export and import commands. main builds it.
type CLI struct {
	Stdout, Stderr io.Writer
	// Stdin is read for a HAR file named "-" (import -, replay --har -).
	Stdin  io.Reader
	Getenv func(string) string
	// OpenStore opens the local store for when no server answers at
	// --server (the caller closes it); create says whether a missing one
	// may be made (import), or is an error (export, replay). Nil: those
	// commands need a server (replay --har never does).
	OpenStore func(create bool) (inspect.Store, error)
	// ResignFunc signs emitted exchanges again for local runs (--har, or
	// the local store); a server uses its own.
	ResignFunc func(ex *inspect.Exchange) (Resigned, error)
	// SecretHeaders names more headers to redact in local exports.
	SecretHeaders []string
	// Transport sends local replays (with --insecure, a clone that does
	// not verify); NewTransport when nil.
	Transport http.RoundTripper
	// Client talks to the server; when nil, a client made on first use
	// (10 s to connect), whose connections are closed when the command
	// returns.
	Client *http.Client
	Clock  Clock
	// Poll is how often a remote run is polled; 200ms when zero.
	Poll time.Duration

	ownOnce sync.Once
	own     *http.Client // the client made when Client is nil
}

// flags returns a command's flag set (see inspect.NewFlagSet).
func (c *CLI) flags(name, head string) *flag.FlagSet {
	return inspect.NewFlagSet(name, head, c.Stdout, c.Stderr)
}

func (c *CLI) getenv(k string) string {
	if c.Getenv == nil {
		return ""
	}
	return c.Getenv(k)
}

func (c *CLI) serverFlag(fs *flag.FlagSet) *string {
	return inspect.ServerFlag(fs, c.getenv)
}

// client is the client every call of a command to the server shares, so
// that they share its connections.
func (c *CLI) client() *http.Client {
	if c.Client != nil {
		return c.Client
	}
	c.ownOnce.Do(func() {
		c.own = &http.Client{Transport: &http.Transport{
			Proxy:              nil,
			DialContext:        (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
			DisableCompression: true,
			IdleConnTimeout:    30 * time.Second,
		}}
	})
	return c.own
}

// closeIdle closes the connections of the client made on first use, as a
// command returns.
func (c *CLI) closeIdle() {
	if c.own != nil {
		c.own.CloseIdleConnections()
	}
}

// parseInterleaved parses flags with positional arguments among them:
// "hooklab replay ID --target URL ID2".
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, flag.ErrHelp // -h: the flags were printed as asked
			}
			return nil, ErrUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, emptyFilterFlag(fs)
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), emptyFilterFlag(fs)
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// notAnID says why the first of args that is no exchange id (in either
// case) is not one, or returns "". Such an argument is a bin's name or a
// HAR file given without its flag, which the server would answer as an
// exchange not found; harFlag begins the hint for a file.
func notAnID(args []string, harFlag string) string {
	for _, a := range args {
		if inspect.ValidID(strings.ToUpper(a)) {
			continue
		}
		_, statErr := os.Stat(a)
		var hint string
		switch {
		case strings.HasSuffix(strings.ToLower(a), ".har") || statErr == nil:
			hint = harFlag + a
		case inspect.ValidBin(a) == nil:
			hint = "a bin is --bin " + a
		default:
			hint = "a bin is --bin NAME"
		}
		return fmt.Sprintf("%q is not an exchange id (26 letters and digits, such as 01M8M8R7863Y9RVZKPW2KWHE7R): %s", a, hint)
	}
	return ""
}

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// emptyFilterFlag refuses a selection flag given empty (--bin "$BIN" with
// BIN unset), which would select as if it were not given: every bin; and
// --q beside --text, its other name, where the last one given won.
func emptyFilterFlag(fs *flag.FlagSet) error {
	var err error
	q, text := false, false
	fs.Visit(func(f *flag.Flag) {
		q = q || f.Name == "q"
		text = text || f.Name == "text"
	})
	if q && text {
		fmt.Fprintf(fs.Output(), "%s: give --q or --text, not both (--text is --q by another name)\n", fs.Name())
		return ErrUsage
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "bin", "source", "method", "path", "status", "q", "text", "since", "until":
			if err == nil && f.Value.String() == "" {
				fmt.Fprintf(fs.Output(), "%s: --%s is empty: give a value, or leave --%s out\n", fs.Name(), f.Name, f.Name)
				err = ErrUsage
			}
		}
	})
	return err
}

// filterFlags adds the selection flags shared by replay and export.
func filterFlags(fs *flag.FlagSet, f *Filter) {
	fs.StringVar(&f.Bin, "bin", "", "only exchanges of this `bin`")
	fs.StringVar(&f.Source, "source", "", "only this `source`: capture, proxy, emit or replay")
	fs.StringVar(&f.Method, "method", "", "only this HTTP `method`")
	fs.StringVar(&f.Path, "path", "", "only this URL `path` or glob (/hooks/* also matches deeper paths)")
	fs.StringVar(&f.Status, "status", "", "only this response `status` (404) or class (5xx)")
	fs.StringVar(&f.Q, "q", "", "only exchanges matching this `query` (the UI filter's language: free text in URL, headers or bodies, status:5xx, json:a.b=c...), as tail --q")
	fs.StringVar(&f.Q, "text", "", "the same as --q `query`")
	fs.StringVar(&f.Since, "since", "", "only exchanges from this `time` on (RFC 3339, or a duration like 2h meaning that long ago)")
	fs.StringVar(&f.Until, "until", "", "only exchanges up to this `time` (RFC 3339 or a duration ago)")
	fs.IntVar(&f.Limit, "limit", 0, "only the newest `N` exchanges, in the order they arrived (0: every match)")
}

func (f *Filter) resolveTimes(now time.Time) error {
	for _, p := range []struct {
		name string
		v    *string
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if *p.v == "" {
			continue
		}
		if d, err := time.ParseDuration(*p.v); err == nil {
			*p.v = now.Add(-d).UTC().Format(time.RFC3339Nano)
		} else if _, err := time.Parse(time.RFC3339Nano, *p.v); err != nil {
			return fmt.Errorf("%w: --%s %q: want a duration back from now such as 2h, or an RFC 3339 time such as 2026-01-02T15:04:05Z", inspect.ErrInvalid, p.name, *p.v)
		}
	}
	_, _, err := f.query()
	return err
}

func (f Filter) empty() bool { return f == Filter{} }

// Replay runs "hooklab replay [IDS…] [flags]". It returns nil when the run
// completed (whatever the diffs), ErrDiff with --fail-on-diff when
// something differed or failed, ErrUsage for a bad command line (already
// printed), and other errors for what stopped the run.
func (c *CLI) Replay(ctx context.Context, args []string) error {
	defer c.closeIdle()
	fs := c.flags("replay", `Usage: hooklab replay [ID…] [flags]

Re-send recorded exchanges (by id, by filter, or from a HAR file) to a
target and diff the new responses against the recorded ones.

  hooklab replay 01HX… --target http://127.0.0.1:3000
  hooklab replay --bin stripe --since 1h --target http://127.0.0.1:3000 --ignore data.created
  hooklab replay --har fixtures/stripe.har --target http://127.0.0.1:3000 --fail-on-diff

Flags:
`)
	var f Filter
	filterFlags(fs, &f)
	all := fs.Bool("all", false, "replay every recorded exchange (except replays)")
	harFile := fs.String("har", "", "replay the entries of this HAR `file` (- for standard input; no server needed)")
	server := c.serverFlag(fs)
	var spec Spec
	fs.StringVar(&spec.Target, "target", "", "base `URL` (http:// when it has no scheme; :3000 is 127.0.0.1:3000) that replaces each request's scheme and host (its path is put in front, its query added after the request's; a capture's /b/BIN part is dropped); default: the original URLs")
	fs.StringVar(&spec.StripPrefix, "strip-prefix", "", "remove this path `prefix` before adding the target's path")
	var setHeaders, removeHeaders, ignore, ignoreHeaders, compareHeaders listFlag
	fs.Var(&setHeaders, "set-header", "send this header instead of the recorded one, `Name: value` (repeatable)")
	fs.Var(&removeHeaders, "remove-header", "do not send this header `name` (repeatable)")
	setBody := fs.String("set-body", "", "send this `text` as the body")
	setBodyFile := fs.String("set-body-file", "", "send this `file`'s bytes as the body")
	fs.StringVar(&spec.Override.Method, "set-method", "", "send this `method` instead")
	fs.StringVar(&spec.Override.Path, "set-path", "", "send to this `path` instead (with ?query to replace the query)")
	fs.BoolVar(&spec.Resign, "resign", false, "sign exchanges hooklab emitted again, with a fresh timestamp")
	fs.StringVar(&spec.Pace, "pace", PaceFast, "`pace`: fast (as --concurrency allows) or original (the recorded gaps, divided by --speed)")
	fs.IntVar(&spec.Concurrency, "concurrency", 1, "requests in flight at most (`N`)")
	fs.Float64Var(&spec.Speed, "speed", 1, "with --pace original, divide the gaps by this `factor`")
	timeout := fs.Duration("timeout", 30*time.Second, "give up on one request after this `duration`")
	giveUp := fs.Int("give-up-after", 5, "end the run when this many `requests` in a row got no answer (a target down or hung); 0: never")
	fs.Var(&ignore, "ignore", "JSON `path` whose value is not compared, gjson style: data.created_at, items.#.id (repeatable)")
	fs.Var(&ignoreHeaders, "ignore-header", "response header `name` not compared (repeatable)")
	fs.Var(&compareHeaders, "compare-header", "volatile header `name` to compare after all, e.g. ETag (repeatable)")
	fs.BoolVar(&spec.Diff.NoHeaders, "no-headers", false, "compare status and body only")
	fs.BoolVar(&spec.Diff.Unordered, "unordered", false, "compare JSON arrays without regard to order")
	fs.Float64Var(&spec.Diff.Tolerance, "tolerance", 0, "JSON numbers this `close` count as equal")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	failOnDiff := fs.Bool("fail-on-diff", false, "exit 1 when a response differs or a replay fails")
	verbose := fs.Bool("v", false, "also list the exchanges that are the same")
	fs.BoolVar(&spec.Insecure, "insecure", false, "do not verify the target's TLS certificate")
	ids, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	usage := func(format string, a ...any) error {
		fmt.Fprintf(c.Stderr, "hooklab replay: "+format+"\n", a...)
		return ErrUsage
	}
	if msg := notAnID(ids, "a HAR file to replay is --har "); msg != "" {
		return usage("%s", msg)
	}
	clock := c.Clock
	if clock == nil {
		clock = realClock{}
	}
	if err := f.resolveTimes(clock.Now()); err != nil {
		return usage("%v", err)
	}
	for _, h := range setHeaders {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return usage("--set-header %q: want Name: value", h)
		}
		spec.Override.SetHeaders = append(spec.Override.SetHeaders, inspect.Header{Name: strings.TrimSpace(name), Value: strings.TrimSpace(value)})
	}
	spec.Override.RemoveHeaders = removeHeaders
	spec.Target = targetURL(spec.Target)
	if *setBody != "" && *setBodyFile != "" {
		return usage("give --set-body or --set-body-file, not both")
	}
	speedSet := false
	fs.Visit(func(fl *flag.Flag) {
		switch fl.Name {
		case "set-body":
			spec.Override.Body = setBody
		case "speed":
			speedSet = true
		}
	})
	if speedSet && spec.Speed <= 0 {
		return usage("--speed %v: want a positive factor (2 replays twice as fast as recorded)", spec.Speed)
	}
	if speedSet && spec.Pace != PaceOriginal {
		return usage("--speed paces the recorded gaps: give it with --pace original")
	}
	if *setBodyFile != "" {
		b, err := os.ReadFile(*setBodyFile)
		if err != nil {
			return fmt.Errorf("--set-body-file: %w", err)
		}
		s := base64.StdEncoding.EncodeToString(b)
		spec.Override.BodyBase64 = &s
	}
	// The API takes 0 (or none) as 1; a command line that says 0 is wrong.
	if spec.Concurrency < 1 {
		return usage("%v", fmt.Errorf("%w: concurrency %d: want 1 to 1024", inspect.ErrInvalid, spec.Concurrency))
	}
	spec.Timeout = timeout.String()
	switch {
	case *giveUp < 0:
		return usage("--give-up-after %d: want a number of requests, or 0 for never", *giveUp)
	case *giveUp == 0:
		spec.GiveUpAfter = -1
	default:
		spec.GiveUpAfter = *giveUp
	}
	spec.Diff.Ignore, spec.Diff.IgnoreHeaders, spec.Diff.CompareHeaders = ignore, ignoreHeaders, compareHeaders
	// Flags that would do nothing are refused, not ignored (Spec.Options
	// refuses them too, named as the API's fields).
	if msg := spec.inert(flagNames()); msg != "" {
		return usage("%s", msg)
	}
	spec.Diff.SecretHeaders = c.SecretHeaders

	sources := 0
	for _, b := range []bool{len(ids) > 0, !f.empty() || *all, *harFile != ""} {
		if b {
			sources++
		}
	}
	switch {
	case sources == 0:
		return usage("say what to replay, one of: exchange ids, filters (--bin, --path, …, or --all), or --har FILE")
	case sources > 1:
		return usage("give one source to replay: exchange ids, filters (--bin, --path, …, or --all), or --har FILE, not several")
	}

	srv, err := inspect.ServerURL(*server)
	if err != nil {
		fmt.Fprintf(c.Stderr, "hooklab replay: --server %v\n", err)
		return ErrUsage
	}
	base := Options{ResignFunc: c.ResignFunc, Transport: c.Transport, Clock: c.Clock}
	if base.Transport == nil {
		// A local run never sends to the API of the hooklab at
		// --server when that is on this machine, on any local address:
		// a HAR entry (or a recorded URL) may name it, and would drive
		// it.
		tr := NewTransport(false)
		if port, ok := localServerPort(srv); ok {
			// Your own service may listen there while hooklab does
			// not: the message says how to tell the command.
			RefuseOwnAPI(tr, port, "the port of --server "+inspect.RedactURL(srv)+"; if hooklab is elsewhere, say so with --server or HOOKLAB_UI")
		}
		base.Transport = tr
	}
	var rep *Report
	var runErr error // a run that ended early (gave up, was stopped), reported after its results
	switch {
	case *harFile != "":
		data, err := c.readFile(*harFile)
		if err != nil {
			return err
		}
		f, err := har.Parse(data)
		var exs []*inspect.Exchange
		if err == nil {
			exs, err = f.Exchanges()
		}
		if err == nil && len(exs) == 0 {
			err = errNoEntries
		}
		if err != nil {
			return fmt.Errorf("%s: %w", *harFile, err)
		}
		check := exs
		if spec.Resign {
			// Re-signed webhooks go with their credentials put back.
			check = slices.DeleteFunc(slices.Clone(exs), func(ex *inspect.Exchange) bool { return ex.Source == inspect.SourceEmit })
		}
		if names := redactedHeaders(check, spec.Override.SetHeaders, spec.Override.RemoveHeaders); len(names) > 0 {
			fmt.Fprintf(c.Stderr, "warning: %s was exported with secrets redacted, so the values of %s go out as %s (export with --keep-secrets, or give --set-header)\n",
				*harFile, strings.Join(names, ", "), inspect.Redacted)
		}
		spec.HAR = data
		if *harFile != "-" {
			spec.HARFile = filepath.Base(*harFile)
		}
		if spec.Resign && base.ResignFunc == nil {
			// The signing secrets are the server's: it runs the file.
			up, err := c.serverUp(ctx, srv)
			if err != nil {
				return err
			}
			if !up {
				return fmt.Errorf("no hooklab server at %s: --resign needs a running server (it holds the webhooks' signing secrets)", inspect.RedactURL(srv))
			}
			if rep, runErr = c.runRemote(ctx, srv, &spec, *asJSON, *verbose); rep == nil {
				return runErr
			}
			break
		}
		opts, err := spec.Options(base)
		if err != nil {
			return usage("%v", err)
		}
		c.warn(stripWarning(spec.StripPrefix, len(exs), func(i int) (string, inspect.Source) { return exs[i].Request.URL, exs[i].Source }))
		rep, runErr = c.runLocal(ctx, func(ctx context.Context, opts Options) (*Report, error) { return Run(ctx, exs, opts) }, opts, *asJSON, *verbose)
		if rep == nil {
			return runErr
		}
	default:
		if len(ids) > 0 {
			spec.IDs = ids
		} else {
			spec.Filter = &f
		}
		// A server signs with its own webhooks' secrets: --resign is
		// checked here only as an option, and again where it runs.
		check := base
		if check.ResignFunc == nil {
			check.ResignFunc = func(*inspect.Exchange) (Resigned, error) { return Resigned{}, errNoResign }
		}
		if _, err := spec.Options(check); err != nil {
			return usage("%v", err)
		}
		up, err := c.serverUp(ctx, srv)
		if err != nil {
			return err
		}
		if up {
			rep, runErr = c.runRemote(ctx, srv, &spec, *asJSON, *verbose)
			if rep == nil {
				return runErr
			}
			break
		}
		if c.OpenStore == nil {
			return fmt.Errorf("no hooklab server at %s: start one (hooklab serve), or replay a HAR file with --har", inspect.RedactURL(srv))
		}
		if spec.Resign && c.ResignFunc == nil {
			return fmt.Errorf("no hooklab server at %s: --resign needs one (it holds the webhooks' signing secrets)", inspect.RedactURL(srv))
		}
		store, err := c.OpenStore(false)
		if err != nil {
			return fmt.Errorf("no hooklab server at %s, and %w", inspect.RedactURL(srv), err)
		}
		defer store.Close()
		sel, err := SelectIDs(ctx, store, spec.IDs, f)
		if err == nil && len(sel) == 0 {
			err = f.nothing() // said before a report of nothing
		}
		if err != nil {
			return err
		}
		opts, _ := spec.Options(base)
		opts.Record = store.Add
		c.warn(stripWarning(spec.StripPrefix, len(sel), func(i int) (string, inspect.Source) { return sel[i].URL, sel[i].Source }))
		run := func(ctx context.Context, opts Options) (*Report, error) { return RunStored(ctx, store, sel, opts) }
		if rep, runErr = c.runLocal(ctx, run, opts, *asJSON, *verbose); rep == nil {
			return runErr
		}
	}
	// A HAR file's placeholders were warned of before the run.
	if *harFile == "" {
		c.warnRedacted(rep)
	}
	if runErr != nil {
		rep.Error = runErr.Error()
	}
	if *asJSON {
		if err := WriteJSON(c.Stdout, rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(c.Stdout, rep.Summary.String())
		if rep.UI != "" {
			fmt.Fprintln(c.Stdout, "see it in the UI: "+rep.UI)
		}
	}
	if runErr != nil {
		return runErr // the run ended early (it gave up): after its report
	}
	if *failOnDiff && (rep.Summary.Differ > 0 || rep.Summary.Failed > 0) {
		return fmt.Errorf("%w: %s", ErrDiff, rep.Summary)
	}
	return nil
}

var errNoResign = errors.New("no webhook signing here")

// localServerPort returns the port of srv, a --server URL, unless its host
// is an address of another machine, whose API is not on this machine's
// ports. A name counts as this machine (it may be this one's, or resolve
// to it), so the guard errs on the safe side.
func localServerPort(srv string) (string, bool) {
	u, err := url.Parse(srv)
	if err != nil || u.Host == "" {
		return "", false
	}
	if ip, err := netip.ParseAddr(strings.TrimSuffix(u.Hostname(), ".")); err == nil && !IsLocalAddr(ip) {
		return "", false
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return port, true
}

// runLocal runs in this process (run is Run or RunStored), printing each
// result as it completes.
func (c *CLI) runLocal(ctx context.Context, run func(context.Context, Options) (*Report, error), opts Options, asJSON, verbose bool) (*Report, error) {
	if !asJSON {
		opts.OnResult = func(r Result) { _ = WriteResult(c.Stdout, r, verbose) }
	}
	return run(ctx, opts) // a run that ended early (it gave up) still has its report
}

// readFile reads a file, or standard input for "-".
func (c *CLI) readFile(name string) ([]byte, error) {
	if name != "-" {
		return os.ReadFile(name)
	}
	if c.Stdin == nil {
		return nil, errors.New("-: no standard input to read")
	}
	return io.ReadAll(c.Stdin)
}

// serverUp reports whether a hooklab answers at srv (its answers say
// "Server: hooklab"). Any answer of one counts (a 401 for a missing token,
// a 503 for a full disk): the commands then talk to it and report what it
// says. Only when nothing listens there (the connection is refused) do
// they use a local store; anything else is an error, so that a wrong
// --server (the capture port, another program, a server too busy to
// answer) is never quietly replaced by the default data directory.
func (c *CLI) serverUp(ctx context.Context, srv string) (bool, error) {
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := c.newRequest(pctx, http.MethodGet, srv+"/healthz", nil)
	if err != nil {
		return false, fmt.Errorf("--server %s: %w", inspect.RedactURL(srv), err)
	}
	resp, err := c.client().Do(req)
	if err != nil {
		if nothingListens(err) {
			return false, nil
		}
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		if pctx.Err() != nil {
			return false, fmt.Errorf("no answer from %s within %v: is hooklab's UI listener there? (nothing listening would let this command use the data directory)", inspect.RedactURL(srv), probeTimeout)
		}
		return false, fmt.Errorf("%s: %w", inspect.RedactURL(srv), err)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	drainClose(resp)
	// Its answers say Server: hooklab, unless a front end (TLS, --auth
	// beyond loopback) put its own name there: /healthz's body says it too.
	var h struct {
		Subscribers *int `json:"subscribers"`
	}
	if resp.Header.Get("Server") != "hooklab" && (json.Unmarshal(b, &h) != nil || h.Subscribers == nil) {
		return false, inspect.NotUI(srv, resp.Status)
	}
	return true, nil
}

// nothingListens reports whether err says the connection was refused:
// a dial that failed, neither by timing out nor by a name not resolving.
func nothingListens(err error) bool {
	var op *net.OpError
	var dns *net.DNSError
	return errors.As(err, &op) && op.Op == "dial" && !op.Timeout() && !errors.As(err, &dns)
}

// probeTimeout bounds serverUp's wait for an answer: long enough for a
// busy server, short enough for a script.
const probeTimeout = 10 * time.Second

// drainClose reads what is left of a small answer and closes it, so that
// its connection serves the command's next call.
func drainClose(resp *http.Response) {
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}

// newRequest makes a request to the server, with the token of
// $HOOKLAB_AUTH when it is set.
func (c *CLI) newRequest(ctx context.Context, method, u string, body io.Reader) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, err
	}
	if c.Getenv != nil {
		if tok := c.Getenv("HOOKLAB_AUTH"); tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	return req, nil
}

// apiError reads a {"error": …} answer. A 401 says what to do with
// $HOOKLAB_AUTH (the server's own message names its --auth flag, which
// these commands do not have).
func (c *CLI) apiError(resp *http.Response) error {
	if resp.StatusCode == http.StatusUnauthorized {
		srv := resp.Request.URL.Scheme + "://" + resp.Request.URL.Host
		if c.getenv("HOOKLAB_AUTH") == "" {
			return fmt.Errorf("server: %s wants a token: set HOOKLAB_AUTH (401)", srv)
		}
		return fmt.Errorf("server: %s refused the token in HOOKLAB_AUTH (401)", srv)
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(b, &e) == nil && e.Error != "" {
		if err := inspect.NoAPIAt(resp.Request.URL, resp.StatusCode, e.Error); err != nil {
			return fmt.Errorf("server: %w", err)
		}
		return &serverError{Status: resp.StatusCode, Msg: e.Error}
	}
	return fmt.Errorf("server: %s: %s", resp.Status, bytes.TrimSpace(b))
}

// serverError is an API answer's {"error": …}: "server: MSG (STATUS)",
// but for a 400, which is the request's fault, so the flags' or the
// file's: its message alone, as a run without a server says it.
type serverError struct {
	Status int
	Msg    string
}

func (e *serverError) Error() string {
	if e.Status == http.StatusBadRequest {
		return e.Msg
	}
	return fmt.Sprintf("server: %s (%d)", e.Msg, e.Status)
}

func (c *CLI) do(ctx context.Context, method, u string, body io.Reader, out any) error {
	req, err := c.newRequest(ctx, method, u, body)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return err
	}
	defer drainClose(resp)
	if resp.StatusCode >= 300 {
		return c.apiError(resp)
	}
	if out != nil {
		return json.NewDecoder(resp.Body).Decode(out)
	}
	return nil
}

// runRemote starts the run on the server (which records the replays, so
// they show live) and follows it, printing results as they complete.
func (c *CLI) runRemote(ctx context.Context, srv string, spec *Spec, asJSON, verbose bool) (*Report, error) {
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var started struct {
		ID       string   `json:"id"`
		Warnings []string `json:"warnings"`
	}
	if err := c.do(ctx, http.MethodPost, srv+"/api/replay", bytes.NewReader(b), &started); err != nil {
		return nil, err
	}
	for _, w := range started.Warnings {
		c.warn(w)
	}
	poll := c.Poll
	if poll <= 0 {
		poll = 200 * time.Millisecond
	}
	rep := &Report{Results: []Result{}, Run: started.ID, UI: inspect.RedactURL(srv) + "/#/replays/" + url.PathEscape(started.ID)}
	for {
		var st RunStatus
		u := srv + "/api/replay/" + url.PathEscape(started.ID) + fmt.Sprintf("?from=%d", len(rep.Results))
		if err := c.do(ctx, http.MethodGet, u, nil, &st); err != nil {
			if ctx.Err() != nil {
				return c.cancelRemote(ctx, srv, started.ID, rep, asJSON, verbose)
			}
			return nil, err
		}
		c.addResults(rep, st.Results, asJSON, verbose)
		if st.State != StateRunning {
			rep.Summary = st.Summary
			sortResults(rep.Results)
			if st.State != StateDone {
				return rep, fmt.Errorf("replay run %s %s: %s", st.ID, st.State, st.Error) // with what it did
			}
			return rep, nil
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return c.cancelRemote(ctx, srv, started.ID, rep, asJSON, verbose)
		case <-t.C:
		}
	}
}

func (c *CLI) addResults(rep *Report, rs []Result, asJSON, verbose bool) {
	for _, r := range rs {
		rep.Results = append(rep.Results, r)
		if !asJSON {
			_ = WriteResult(c.Stdout, r, verbose)
		}
	}
}

// cancelRemote cancels the server's run when the command is canceled
// (Ctrl-C) and collects the results it has, so that the command prints
// what was done, as a local run does. Without an answer within
// cancelWait, it gives up with what it had.
func (c *CLI) cancelRemote(ctx context.Context, srv, id string, rep *Report, asJSON, verbose bool) (*Report, error) {
	wctx, stop := context.WithTimeout(context.WithoutCancel(ctx), cancelWait)
	defer stop()
	u := srv + "/api/replay/" + url.PathEscape(id)
	if err := c.do(wctx, http.MethodDelete, u, nil, nil); err != nil {
		return nil, ctx.Err()
	}
	for {
		var st RunStatus
		if err := c.do(wctx, http.MethodGet, u+fmt.Sprintf("?from=%d", len(rep.Results)), nil, &st); err != nil {
			return nil, ctx.Err()
		}
		c.addResults(rep, st.Results, asJSON, verbose)
		if st.State != StateRunning {
			rep.Summary = st.Summary
			sortResults(rep.Results)
			return rep, ctx.Err()
		}
		select {
		case <-wctx.Done():
			return nil, ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// cancelWait bounds how long a canceled command waits for the server's
// run to stop.
const cancelWait = 5 * time.Second

func sortResults(rs []Result) {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Index < rs[j-1].Index; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
}

// Export runs "hooklab export --har FILE [filters] [--keep-secrets]": the
// selected exchanges as a HAR file ("-" for stdout), from the server or
// else the local store.
func (c *CLI) Export(ctx context.Context, args []string) error {
	defer c.closeIdle()
	fs := c.flags("export", `Usage: hooklab export --har FILE [ID…] [flags]

Write recorded exchanges (these ids, or those the filter flags match;
every one when given neither) as HAR 1.2, secrets redacted, from the
running hooklab, else from the data directory ($HOOKLAB_DATA or the
default).

  hooklab export --har stripe.har --bin stripe --since 1h
  hooklab export --har - --status 5xx

Flags:
`)
	var f Filter
	filterFlags(fs, &f)
	file := fs.String("har", "", "write HAR to this `file` (- for standard output)")
	keep := fs.Bool("keep-secrets", false, "keep Authorization, cookies and API keys (redacted by default)")
	server := c.serverFlag(fs)
	ids, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if *file == "" {
		fmt.Fprintln(c.Stderr, "hooklab export: say where: --har FILE (or --har - for standard output)")
		return ErrUsage
	}
	if msg := notAnID(ids, "the file to write is --har "); msg != "" {
		fmt.Fprintln(c.Stderr, "hooklab export:", msg)
		return ErrUsage
	}
	asked := selectionFlags(fs) // as written, before --since 1h is a time
	clock := c.Clock
	if clock == nil {
		clock = realClock{}
	}
	if err := f.resolveTimes(clock.Now()); err != nil {
		fmt.Fprintln(c.Stderr, "hooklab export:", err)
		return ErrUsage
	}
	var out io.Writer = c.Stdout
	var tmp *os.File
	if *file != "-" {
		if fi, err := os.Stat(*file); err == nil && fi.IsDir() {
			return fmt.Errorf("--har %s is a directory: name a file in it", *file)
		}
		// Write beside the target and rename, so a failed export leaves no
		// half file behind.
		tmp, err = os.CreateTemp(filepath.Dir(*file), ".hooklab-export-*.har")
		if err != nil {
			var pe *os.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			return fmt.Errorf("--har %s: %w", *file, err)
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		out = tmp
	}
	var n int
	srv, err := inspect.ServerURL(*server)
	if err != nil {
		fmt.Fprintf(c.Stderr, "hooklab export: --server %v\n", err)
		return ErrUsage
	}
	up, err := c.serverUp(ctx, srv)
	if err != nil {
		return err
	}
	if up {
		v := f.Values()
		if len(ids) > 0 {
			v.Set("ids", strings.Join(ids, ","))
		}
		if *keep {
			v.Set("keep_secrets", "1")
		}
		n, err = c.download(ctx, srv+"/api/export.har?"+v.Encode(), out)
	} else if c.OpenStore != nil {
		var store inspect.Store
		if store, err = c.OpenStore(false); err != nil {
			return fmt.Errorf("no hooklab server at %s, and %w", inspect.RedactURL(srv), err)
		}
		n, err = Export(ctx, store, ids, f, out, har.Options{KeepSecrets: *keep, SecretHeaders: c.SecretHeaders})
		store.Close()
	} else {
		return fmt.Errorf("no hooklab server at %s: start one (hooklab serve)", inspect.RedactURL(srv))
	}
	if err != nil {
		return err
	}
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return err
		}
		if _, serr := os.Stat(*file); n == 0 && serr == nil {
			// An empty export (a filter that matched nothing) does not
			// replace a fixture.
			return fmt.Errorf("%s, so %s was left as it was", nothingMatched(asked), *file)
		}
		if err := os.Rename(tmp.Name(), *file); err != nil {
			return err
		}
		noun := "exchanges"
		if n == 1 {
			noun = "exchange"
		}
		if n == 0 {
			fmt.Fprintf(c.Stderr, "exported 0 exchanges to %s: %s\n", *file, nothingMatched(asked))
		} else {
			fmt.Fprintf(c.Stderr, "exported %d %s to %s\n", n, noun, *file)
		}
	} else if n == 0 {
		// The empty HAR on standard output is what a script asked for;
		// why it is empty is said beside it. (Exchanges exported there
		// are the output, and go unannounced.)
		fmt.Fprintf(c.Stderr, "exported 0 exchanges: %s\n", nothingMatched(asked))
	}
	return nil
}

// selectionFlags returns the selection flags given to fs, as written
// ("--bin nope", "--since 1h"), for saying what matched nothing.
func selectionFlags(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "har", "keep-secrets", "server":
			return
		}
		v := f.Value.String()
		if q := strconv.Quote(v); q != `"`+v+`"` || v == "" || strings.ContainsAny(v, " '") {
			v = q
		}
		out = append(out, "--"+f.Name+" "+v)
	})
	return out
}

// nothingMatched says that an export's selection flags matched nothing,
// or, with none, that nothing is recorded.
func nothingMatched(asked []string) string {
	if len(asked) == 0 {
		return "nothing is recorded"
	}
	return "nothing matched " + strings.Join(asked, " ")
}

func (c *CLI) download(ctx context.Context, u string, out io.Writer) (int, error) {
	req, err := c.newRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.client().Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, c.apiError(resp)
	}
	if _, err := io.Copy(out, resp.Body); err != nil {
		return 0, fmt.Errorf("export cut short: %w", err)
	}
	var n int
	if _, err := fmt.Sscan(resp.Trailer.Get("X-Hooklab-Count"), &n); err != nil {
		return 0, errors.New("export cut short: the server did not finish the file")
	}
	return n, nil
}

var binChars = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// Import runs "hooklab import FILE.har [--bin NAME]": the file's entries
// are stored, into the server or else the local store. --bin puts every
// entry in that bin; without it, entries a hooklab export names a bin for
// go back there, and the others into a bin named after the file.
func (c *CLI) Import(ctx context.Context, args []string) error {
	defer c.closeIdle()
	fs := c.flags("import", `Usage: hooklab import FILE.har [flags]

Load a HAR file's entries (- for standard input) as exchanges, through
the running hooklab, else into the data directory ($HOOKLAB_DATA or the
default).

Flags:
`)
	bin := fs.String("bin", "", "store every entry in this `bin` (default: the bins a hooklab export names, else one named after the file)")
	server := c.serverFlag(fs)
	files, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	if len(files) != 1 {
		fmt.Fprintln(c.Stderr, "hooklab import: give one HAR file (- for standard input)")
		return ErrUsage
	}
	into := *bin != ""
	if *bin == "" {
		stem := strings.TrimSuffix(filepath.Base(files[0]), filepath.Ext(files[0]))
		*bin = strings.Trim(binChars.ReplaceAllString(stem, "-"), "-")
		if len(*bin) > 64 {
			*bin = (*bin)[:64]
		}
		if *bin == "" {
			*bin = "import"
		}
	}
	if err := inspect.ValidBin(*bin); err != nil {
		fmt.Fprintln(c.Stderr, "hooklab import: --bin:", err)
		return ErrUsage
	}
	data, err := c.readFile(files[0])
	if err != nil {
		return err
	}
	// Parse here first: a broken file is reported with its name, line and
	// column, server or not.
	f, err := har.Parse(data)
	if err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	srv, err := inspect.ServerURL(*server)
	if err != nil {
		fmt.Fprintf(c.Stderr, "hooklab import: --server %v\n", err)
		return ErrUsage
	}
	up, err := c.serverUp(ctx, srv)
	if err != nil {
		return err
	}
	var n int
	switch {
	case up:
		var res struct {
			Imported int `json:"imported"`
		}
		param := "bin"
		if into {
			param = "into"
		}
		if err := c.do(ctx, http.MethodPost, srv+"/api/import?"+param+"="+url.QueryEscape(*bin), bytes.NewReader(data), &res); err != nil {
			// A 400 is the file's fault (an entry no HTTP message could
			// carry): said as a local import says it, with the file's
			// name, not as the server's.
			if se := (*serverError)(nil); errors.As(err, &se) && se.Status == http.StatusBadRequest {
				return fmt.Errorf("%s: %s", files[0], se.Msg)
			}
			return err
		}
		n = res.Imported
	case c.OpenStore != nil:
		store, err := c.OpenStore(true)
		if err != nil {
			return err
		}
		ids, _, err := Import(ctx, store, bytes.NewReader(data), ImportOptions{Bin: *bin, Into: into})
		if cerr := store.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", files[0], err)
		}
		n = len(ids)
	default:
		return fmt.Errorf("no hooklab server at %s: start one (hooklab serve)", inspect.RedactURL(srv))
	}
	from := files[0]
	if from == "-" {
		from = "standard input"
	}
	fmt.Fprintf(c.Stdout, "imported %s from %s into %s\n", inspect.Count(n, "exchange", "exchanges"), from, importedInto(f, *bin, into))
	if skipped := f.NotHTTP(); skipped > 0 {
		fmt.Fprintf(c.Stdout, "skipped %s that never went over the network (data:, blob:, extension URLs)\n", inspect.Count(skipped, "entry", "entries"))
	}
	return nil
}

// importedInto names the bins an import went into: bin, for all of them
// with --into; else the bins a hooklab export names for its entries, and
// bin for any others.
func importedInto(f *har.File, bin string, into bool) string {
	var bins []string
	for i := range f.Log.Entries {
		b := bin
		if e := &f.Log.Entries[i]; !into && e.Hooklab != nil && e.Hooklab.Bin != "" {
			b = e.Hooklab.Bin
		}
		if !slices.Contains(bins, b) {
			bins = append(bins, b)
		}
	}
	switch {
	case len(bins) == 0:
		return "bin " + bin
	case len(bins) == 1:
		return "bin " + bins[0]
	case len(bins) > 5:
		return "bins " + strings.Join(bins[:5], ", ") + fmt.Sprintf(" and %d more", len(bins)-5)
	}
	return "bins " + strings.Join(bins, ", ")
}

// warn prints msg to Stderr as a warning, unless it is "".
func (c *CLI) warn(msg string) {
	if msg != "" {
		fmt.Fprintf(c.Stderr, "warning: %s\n", msg)
	}
}

// warnRedacted warns when replayed requests went out with headers holding
// the redaction placeholder, as an emitted webhook's credentials do when
// replayed without --resign.
func (c *CLI) warnRedacted(rep *Report) {
	var names []string
	n := 0
	for _, r := range rep.Results {
		if len(r.Redacted) == 0 {
			continue
		}
		n++
		for _, name := range r.Redacted {
			if !slices.ContainsFunc(names, func(s string) bool { return strings.EqualFold(s, name) }) {
				names = append(names, name)
			}
		}
	}
	if n == 0 {
		return
	}
	requests := "requests"
	if n == 1 {
		requests = "request"
	}
	fmt.Fprintf(c.Stderr, "warning: %d replayed %s sent %s as %s, the placeholder recorded in place of the secret (replay emitted webhooks with --resign, or give --set-header or --remove-header)\n",
		n, requests, strings.Join(names, ", "), inspect.Redacted)
}

// redactedHeaders lists the request headers of exs, each once, whose values
// are (or, for cookies, hold) the redaction placeholder, as in a HAR
// exported without --keep-secrets, and that are not set or removed.
func redactedHeaders(exs []*inspect.Exchange, set inspect.Headers, remove []string) []string {
	var names []string
	has := func(list []string, name string) bool {
		return slices.ContainsFunc(list, func(n string) bool { return strings.EqualFold(n, name) })
	}
	for _, ex := range exs {
		for _, h := range ex.Request.Headers {
			if strings.Contains(h.Value, inspect.Redacted) && !has(names, h.Name) && !has(remove, h.Name) && set.Get(h.Name) == "" {
				names = append(names, h.Name)
			}
		}
	}
	return names
}

// targetURL is --target as a URL: one without a scheme is http://, as
// --server takes it (127.0.0.1:3000, localhost:3000/v2), and a port alone
// (:3000) is this machine's loopback. Anything else is left to Options to
// refuse.
func targetURL(s string) string {
	if s == "" || strings.Contains(s, "://") {
		return s
	}
	if strings.HasPrefix(s, ":") {
		s = "127.0.0.1" + s
	}
	if u, err := url.Parse("http://" + s); err != nil || u.Host == "" || strings.HasSuffix(u.Host, ":") {
		return s // ftp:/x, /path: refused as written
	}
	return "http://" + s
}
