// Command hooklab is a local HTTP sidecar for webhook and HTTP integration
// work: it captures and mocks, proxies, emits webhooks, replays, and shows
// it all live in a browser. main.go holds flags, subcommands, wiring and
// shutdown; everything else lives in the packages.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"path"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"
	"golang.org/x/net/http/httpguts"

	"github.com/hooklab/hooklab/emit"
	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/mock"
	"github.com/hooklab/hooklab/proxy"
	"github.com/hooklab/hooklab/replay"
	"github.com/hooklab/hooklab/rules"
	"github.com/hooklab/hooklab/ui"
)

func main() {
	// The first Ctrl-C (or SIGTERM) cancels ctx: run stops gracefully
	// within --shutdown-timeout. A second one exits at once. The channel
	// stays subscribed throughout, so no signal falls between the two.
	ctx, cancel := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, stopSignals(signal.Ignored(syscall.SIGHUP))...)
	go watchSignals(sigs, cancel, func(sig os.Signal) {
		fmt.Fprintf(os.Stderr, "hooklab: second %v: exiting now, without waiting for what is in flight\n", sig)
		code := 130 // 128 + SIGINT, as a shell reports it
		switch sig {
		case syscall.SIGTERM:
			code = 143
		case syscall.SIGHUP:
			code = 129
		}
		os.Exit(code)
	}, time.Now)
	if cmd, _ := commandOf(os.Args[1:]); cmd == "serve" {
		// The server's stdout (its start lines) and stderr (its log) may
		// be pipes whose reader is gone ("hooklab serve | grep -m1 ui:"):
		// a write there then fails (EPIPE, ignored) instead of killing the
		// server, which would lose its graceful stop at the first log
		// line. The client commands keep Go's default ("hooklab tail |
		// head" ends quietly).
		signal.Ignore(syscall.SIGPIPE)
	}
	if os.Getenv("GOGC") == "" && os.Getenv("GOMEMLIMIT") == "" {
		defer startGCTuner()()
	}
	cur := runtime.GOMAXPROCS(0)
	if n := procs(os.Getenv("GOMAXPROCS"), cur, runtime.NumCPU()); n != cur {
		runtime.GOMAXPROCS(n)
	}
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, errUsage) && !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, "hooklab:", err)
		}
		os.Exit(exitCode(err))
	}
}

// stopSignals are the signals that stop hooklab gracefully: Ctrl-C,
// SIGTERM, and SIGHUP (the terminal it ran in was closed), unless hupIgnored:
// started under nohup (or with SIGHUP ignored otherwise), it is asked to
// outlive the terminal, and notifying SIGHUP would undo that.
func stopSignals(hupIgnored bool) []os.Signal {
	sigs := []os.Signal{os.Interrupt, syscall.SIGTERM}
	if !hupIgnored {
		sigs = append(sigs, syscall.SIGHUP)
	}
	return sigs
}

// watchSignals calls cancel at the first signal and exit at a second one.
// The same signal again within signalRepeat is the first one delivered
// twice, not a second Ctrl-C: coreutils' timeout signals its child and then
// its whole process group, which holds the child too.
func watchSignals(sigs <-chan os.Signal, cancel func(), exit func(os.Signal), now func() time.Time) {
	first := <-sigs
	at := now()
	cancel()
	for sig := range sigs {
		if sig == first && now().Sub(at) < signalRepeat {
			continue
		}
		exit(sig)
		return
	}
}

// signalRepeat is how soon after a signal the same one counts as a repeat.
const signalRepeat = 250 * time.Millisecond

// procs is the GOMAXPROCS hooklab runs with, given $GOMAXPROCS, Go's
// default (cur) and the machine's CPUs: one P more than every CPU, unless
// GOMAXPROCS says otherwise or a CPU limit (a container's) made Go's
// default lower, which stays as Go keeps it. Each P that a goroutine holds
// in a file system call (the journal's writes, SQLite's) or through a long
// SQLite statement of the store writer is one fewer for answering
// requests: under load, a tenth of the machine sat idle with work waiting.
// With one more, captures filled it: 3-8% more requests per second at the
// same CPU per request, and "bench capture" 0.54-0.56 became 0.60-0.61 of
// bare (a bare net/http server gains nothing from it).
func procs(env string, cur, cpus int) int {
	if env != "" || cur != cpus {
		return cur
	}
	return cur + 1
}

// errUsage marks a command line that was wrong, said already (exit 2).
var errUsage = errors.New("usage")

// errReported marks a failure whose message has already been printed
// (exit 1): a config that does not check, replayed answers that differ.
var errReported = errors.New("reported")

// exitCode is the process's exit code for what run returned: 2 for a
// wrong command line, 1 for any other failure (so a CI step can tell
// "differences found" from "called wrongly").
func exitCode(err error) int {
	var ue usageErr
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage), errors.As(err, &ue):
		return 2
	}
	return 1
}

// usageErr is a command line that was wrong (a flag's value, flags that
// do not go together), not said yet: main prints it and exits 2.
type usageErr struct{ msg string }

func (e usageErr) Error() string { return e.msg }

// badUsage makes a usageErr.
func badUsage(format string, args ...any) error { return usageErr{fmt.Sprintf(format, args...)} }

// errHelp marks a -h that printed a command's flags: run returns nil.
var errHelp = errors.New("help")

const usage = `hooklab: a local HTTP sidecar for webhooks and HTTP integrations.

Usage:
  hooklab [serve] [flags]   capture, mock and show traffic (the default)
  hooklab tail [flags]      print a running server's exchanges as they arrive
  hooklab replay [flags]    re-send recorded exchanges (or a HAR file) to a target and diff the answers
  hooklab export --har FILE write recorded exchanges as HAR 1.2 (secrets redacted)
  hooklab import FILE.har   load a HAR file's entries as exchanges
  hooklab send TYPE [flags] post an event (e.g. ticket.created --data @ticket.json) to a running hooklab
  hooklab check [FILE]      validate a config file (default hooklab.yaml); --print shows it normalized
  hooklab schema            print the JSON Schema of the config file
  hooklab ca                print the local CA that --mitm uses (made on first use) and how to trust it
  hooklab version           print the version (also hooklab --version, -v)
  hooklab help              this text

Run "hooklab COMMAND -h" (or hooklab help COMMAND) for a command's usage and flags.
`

// run is the whole program; tests call it.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	err := command(ctx, args, getenv, stdout, stderr)
	if errors.Is(err, errHelp) {
		return nil // -h printed a command's flags, as asked
	}
	return err
}

// commandOf splits the command line into the command (serve when none is
// named) and its arguments.
func commandOf(args []string) (cmd string, rest []string) {
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
		return "help", nil
	case len(args) == 1 && (args[0] == "--version" || args[0] == "-version" || args[0] == "-v"):
		// What other tools answer: hooklab version by the flag users try.
		return "version", nil
	case len(args) > 0 && !strings.HasPrefix(args[0], "-"):
		return args[0], args[1:]
	}
	return "serve", args
}

func command(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	cmd, args := commandOf(args)
	switch cmd {
	case "serve":
		return serve(ctx, args, getenv, stdout, stderr)
	case "tail":
		return tail(ctx, args, getenv, stdout, stderr)
	case "replay", "export", "import":
		c := replayCLI(getenv, stdout, stderr)
		var err error
		switch cmd {
		case "replay":
			err = c.Replay(ctx, args)
		case "export":
			err = c.Export(ctx, args)
		case "import":
			err = c.Import(ctx, args)
		}
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		if errors.Is(err, replay.ErrUsage) {
			return errUsage // already said
		}
		if errors.Is(err, replay.ErrDiff) {
			return errReported
		}
		return err
	case "check":
		return check(args, getenv, stdout, stderr)
	case "send":
		return send(ctx, args, getenv, stdout, stderr)
	case "ca":
		fs := newFlags("ca", `Usage: hooklab ca [flags]

Print the local CA that serve --mitm uses to decrypt HTTPS through the
forward proxy (made on first use), and how to trust it.

Flags:
`, stdout, stderr)
		data := fs.String("data", envOr(getenv, "HOOKLAB_DATA", inspect.DefaultDataDir(getenv)), "data `directory` holding the CA (default: that of the hooklab running at --server with a decrypting forward proxy, else this)")
		fwd := fs.String("forward-proxy", "127.0.0.1:8888", "the forward proxy's `address` (serve's --forward-proxy), for the curl and Go examples (default: that of the hooklab running at --server)")
		server := inspect.ServerFlag(fs, getenv)
		if err := parseFlags(fs, args); err != nil {
			return err
		}
		given := map[string]bool{}
		fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
		if !given["data"] && getenv("HOOKLAB_DATA") == "" {
			// A server started with --data elsewhere decrypts with the CA
			// there: the one to trust, not a new one in the default.
			if srv, err := inspect.ServerURL(*server); err == nil {
				switch cert, addr, answered := runningCA(ctx, srv, getenv("HOOKLAB_AUTH")); {
				case cert != "":
					*data = filepath.Dir(cert)
					if !given["forward-proxy"] {
						*fwd = addr
					}
					fmt.Fprintf(stderr, "hooklab ca: the CA of the hooklab at %s, whose forward proxy at %s decrypts HTTPS\n", inspect.RedactURL(srv), addr)
				case answered:
					// Said, not left to be taken for that server's CA: it
					// decrypts nothing, and this one is for a hooklab started
					// with --mitm and this data directory.
					fmt.Fprintf(stderr, "hooklab ca: the hooklab at %s decrypts no HTTPS (it runs no --forward-proxy with --mitm); this is the CA in %s, which serve --mitm uses with that --data\n", inspect.RedactURL(srv), *data)
				}
			}
		}
		host, port, err := net.SplitHostPort(*fwd)
		if err != nil || port == "" {
			fmt.Fprintf(stderr, "ca: --forward-proxy %q: want host:port, as serve takes it (127.0.0.1:8888)\n", *fwd)
			return errUsage
		}
		if host == "" {
			*fwd = net.JoinHostPort("127.0.0.1", port) // serve's own default host
		}
		if *data == "" {
			return inspect.ErrNoDataDir
		}
		ca, err := proxy.LoadOrCreateCA(*data)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "CA certificate: %s\n\n%s\n%s", ca.CertPath(), ca.CertPEM(), ca.TrustInstructions(*fwd))
		return nil
	case "schema":
		if err := parseFlags(newFlags("schema", "Usage: hooklab schema\n\nPrint the JSON Schema of the config file (hooklab.yaml), for editors.\n", stdout, stderr), args); err != nil {
			return err
		}
		_, err := stdout.Write(rules.Schema())
		return err
	case "version":
		if err := parseFlags(newFlags("version", "Usage: hooklab version\n\nPrint the version.\n", stdout, stderr), args); err != nil {
			return err
		}
		fmt.Fprintln(stdout, "hooklab", version())
		return nil
	case "help":
		switch {
		case len(args) == 0 || len(args) == 1 && (args[0] == "help" || args[0] == "-h" || args[0] == "-help" || args[0] == "--help"):
			fmt.Fprint(stdout, usage)
			return nil
		case len(args) == 1 && !strings.HasPrefix(args[0], "-"):
			// help CMD is CMD -h (an unknown one says so).
			return command(ctx, []string{args[0], "-h"}, getenv, stdout, stderr)
		}
		fmt.Fprintf(stderr, "hooklab help: give one command, or none\n\n%s", usage)
		return errUsage
	}
	fmt.Fprintf(stderr, "hooklab: unknown command %q%s\n\n%s", cmd, rules.Suggest(cmd, []string{"serve", "tail", "replay", "export", "import", "send", "check", "schema", "ca", "version", "help"}), usage)
	return errUsage
}

// runningCA returns the CA certificate file of a decrypting forward proxy
// of the hooklab at srv, on this machine, and that proxy's address; ""
// when none answers there, or it runs none. answered says a hooklab
// answered there (with such a proxy or without).
func runningCA(ctx context.Context, srv, token string) (cert, proxyAddr string, answered bool) {
	u, err := url.Parse(srv)
	if err != nil || !inspect.IsLoopback(u.Host) {
		return "", "", false // a path on another machine names no file here
	}
	var info struct {
		CA           string `json:"ca"`
		ForwardProxy string `json:"forward_proxy"`
	}
	if !getInfo(ctx, srv, token, "/api/info", 1<<20, &info) {
		return "", "", false
	}
	if info.CA == "" || info.ForwardProxy == "" || !filepath.IsAbs(info.CA) {
		return "", "", true
	}
	if _, err := os.Stat(info.CA); err != nil {
		return "", "", true
	}
	return info.CA, info.ForwardProxy, true
}

// configLoadError returns the config file of the hooklab at srv and the
// error its last load ended in (GET /api/rules), or "" when it loaded, or
// when that cannot be told.
func configLoadError(ctx context.Context, srv, token string) (file, problem string) {
	var rules struct {
		File  string `json:"file"`
		Error string `json:"error"`
	}
	if !getInfo(ctx, strings.TrimSuffix(srv, "/"), token, "/api/rules", 16<<20, &rules) {
		return "", ""
	}
	return rules.File, rules.Error
}

// getInfo reads the JSON answer of GET path from the hooklab at srv (with
// token as its bearer, when given) into v, at most limit bytes of it, within
// 2 s and with no proxy of the environment; false when no 200 with a JSON
// answer came: a command's hint that cannot be told is left out.
func getInfo(ctx context.Context, srv, token, path string, limit int64, v any) bool {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv+path, nil)
	if err != nil {
		return false
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	client := &http.Client{Transport: &http.Transport{Proxy: nil}}
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	return resp.StatusCode == http.StatusOK && json.NewDecoder(io.LimitReader(resp.Body, limit)).Decode(v) == nil
}

// configFileProblem says what keeps path, a file named on the command
// line, from being read as a config file, for serve --config and check
// alike: not there, or a directory; "" when neither. A relative path is
// said with the directory it was looked for in; an absolute one once
// ("no config file /x.yaml (looked for /x.yaml)" said it twice).
func configFileProblem(path string) string {
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if wd, werr := os.Getwd(); werr == nil && !filepath.IsAbs(path) {
			return fmt.Sprintf("no config file %s (in %s)", path, wd)
		}
		return "no config file " + path
	case err == nil && fi.IsDir():
		return path + " is a directory, not a config file"
	}
	return ""
}

// configReadError says why the config file named by --config cannot be
// read, err being what reading it returned.
func configReadError(path string, err error) error {
	if p := configFileProblem(path); p != "" {
		return errors.New("config: " + p)
	}
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("config: cannot read %s: %v", path, pe.Err)
	}
	return fmt.Errorf("config: %w", err)
}

func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(unknown)"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
	}
	return v
}

// newFlags returns the flag set of a command (see inspect.NewFlagSet).
func newFlags(name, head string, stdout, stderr io.Writer) *flag.FlagSet {
	return inspect.NewFlagSet(name, head, stdout, stderr)
}

// helpOrUsage is errHelp for -h, else errUsage: the flag set printed why.
func helpOrUsage(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return errHelp
	}
	return errUsage
}

func parseFlags(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		return helpOrUsage(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "%s: unexpected argument %q\n", fs.Name(), fs.Arg(0)) // fs.Name() is "hooklab tail"
		return errUsage
	}
	return nil
}

type serveOptions struct {
	capture, ui     string
	data            string
	memory          bool
	maxBody         size
	retainCount     int64
	retainAge       time.Duration
	retainBytes     size
	devUI           string
	logLevel        string
	shutdownTimeout time.Duration
	allowHosts      stringList
	config          string
	proxies         stringList
	forwardProxy    string
	mitm            bool
	insecureUp      bool
	simulate        string
	simulateMiss    string
	simIgnoreQuery  stringList
	simIgnoreBody   stringList
	cpuProfile      string
	auth            string
	captureAuth     bool
	maxConns        int
	maxBins         int
	secretHeaders   stringList
}

// defaultConfig is the config file looked for in the working directory.
const defaultConfig = "hooklab.yaml"

func serve(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	// stop ends everything that runs under ctx, also when a listener fails.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	o := serveOptions{maxBody: 10 << 20}
	fs := newFlags("serve", `Usage: hooklab [serve] [flags]

Capture, mock and show traffic: any request to --capture is recorded and
answered from the config's mocks (hooklab.yaml, or --config FILE), and the
UI and JSON API are on --ui.

  hooklab serve --capture 127.0.0.1:9000 --ui 127.0.0.1:9001 --data ./hooklab-data
  hooklab serve --memory --proxy 127.0.0.1:9000=http://127.0.0.1:3000

Flags:
`, stdout, stderr)
	fs.StringVar(&o.capture, "capture", "127.0.0.1:8080", "capture `address`: any request here is recorded and answered")
	fs.StringVar(&o.ui, "ui", "127.0.0.1:4040", "UI and API `address`")
	fs.StringVar(&o.data, "data", getenv("HOOKLAB_DATA"), "data `directory` (default: $HOOKLAB_DATA, else hooklab under the user's data directory)")
	fs.BoolVar(&o.memory, "memory", false, "keep everything in memory, nothing on disk")
	fs.Var(limitedSize{&o.maxBody, rules.MaxBodyLimit, "1GiB (a body is held in memory while it is recorded; a larger one is stored cut at --max-body, with its true size)"}, "max-body", "store at most this many body `bytes` (e.g. 10MiB); the rest is counted and marked truncated")
	fs.Int64Var(&o.retainCount, "retain-count", 100000, "keep at most `N` exchanges (0: no limit)")
	fs.Var((*duration)(&o.retainAge), "retain-age", "drop exchanges older than this `duration`, e.g. 24h (0: no limit)")
	fs.Var(&o.retainBytes, "retain-bytes", "keep the stored exchanges under this `size` (0: no limit)")
	fs.StringVar(&o.devUI, "dev-ui", "", "serve the UI from this `directory` instead of the embedded copy")
	fs.StringVar(&o.logLevel, "log-level", "info", "log `level`: debug, info, warn or error")
	o.shutdownTimeout = 10 * time.Second
	fs.Var((*duration)(&o.shutdownTimeout), "shutdown-timeout", "how long shutdown waits for in-flight requests: at most this `duration`")
	fs.Var(&o.allowHosts, "allow-host", "also accept this Host `name` on the UI/API listener and the reverse proxies on loopback (repeatable)")
	fs.Var(&o.proxies, "proxy", "reverse inspecting proxy `LISTEN=UPSTREAM`, e.g. 127.0.0.1:9000=http://127.0.0.1:3000 (repeatable)")
	fs.StringVar(&o.forwardProxy, "forward-proxy", "", "serve a forward proxy for HTTP_PROXY/HTTPS_PROXY on this `address`")
	fs.BoolVar(&o.mitm, "mitm", false, "decrypt HTTPS through the forward proxy with a local CA (see hooklab ca)")
	fs.BoolVar(&o.insecureUp, "insecure-upstream", false, "do not verify upstream TLS certificates")
	fs.StringVar(&o.simulate, "simulate", "", "answer proxied requests from this HAR `file` instead of the upstreams")
	fs.StringVar(&o.simulateMiss, "simulate-miss", "404", "the `answer` a request the simulation lacks gets: 404, or proxy (pass through)")
	fs.Var(&o.simIgnoreQuery, "simulate-ignore-query", "query parameter `glob` a simulation does not compare (repeatable)")
	fs.Var(&o.simIgnoreBody, "simulate-ignore-body", "JSON body `path` a simulation does not compare (repeatable)")
	fs.StringVar(&o.auth, "auth", getenv("HOOKLAB_AUTH"), "require this `token` on the UI and API (env HOOKLAB_AUTH); needed to bind --ui beyond loopback")
	fs.BoolVar(&o.captureAuth, "capture-auth", false, "require the --auth token on the capture port too (X-Hooklab-Token header or hooklab_token query)")
	fs.IntVar(&o.maxBins, "max-bins", mock.DefaultMaxBins, "allow at most `N` bins; a request to a new bin beyond gets 429")
	o.secretHeaders = secretHeaders(getenv)
	fs.Var(&o.secretHeaders, "secret-header", "also redact the values of this header `name` in the API and HAR exports unless revealed (repeatable; env HOOKLAB_SECRET_HEADERS, comma-separated)")
	fs.IntVar(&o.maxConns, "max-conns", 4096, "serve at most `N` connections at once per listener; more take the place of one idle between requests for over a second, else get 503")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the whole run to this `file` (for performance work)")
	fs.StringVar(&o.config, "config", "", "config `file` (default: hooklab.yaml in the working directory, when there is one)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	maxBodySet, dataSet, configSet, maxConnsSet, authSet := false, false, false, false, false
	fs.Visit(func(f *flag.Flag) {
		maxBodySet = maxBodySet || f.Name == "max-body"
		maxConnsSet = maxConnsSet || f.Name == "max-conns"
		dataSet = dataSet || f.Name == "data"
		configSet = configSet || f.Name == "config"
		authSet = authSet || f.Name == "auth"
	})
	if o.cpuProfile != "" {
		f, err := os.Create(o.cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer func() { pprof.StopCPUProfile(); f.Close() }()
	}
	if dataSet && o.data == "" {
		// An unset variable in a script ("--data $DIR"): not the default.
		return badUsage("--data is empty: give a directory, or leave the flag out for the default")
	}
	if authSet && o.auth == "" {
		// --auth "$TOKEN" with TOKEN unset served the API with no token
		// at all, and --auth '' turned off the one HOOKLAB_AUTH set,
		// both without a word.
		return badUsage("--auth is empty: give a token, or leave the flag out (and HOOKLAB_AUTH unset) to serve the UI and API without one")
	}
	if configSet && o.config == "" {
		// The same: serving without the rules meant, or with another
		// hooklab.yaml, would say nothing.
		return badUsage("--config is empty: give a file, or leave the flag out for hooklab.yaml in the working directory")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(o.logLevel)); err != nil {
		return badUsage("--log-level %q: want debug, info, warn or error", o.logLevel)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	// An address no listener could take on any machine is a wrong flag
	// value (exit 2), not a failure to listen; checked first, so that
	// --ui with no port is not taken for a remote address.
	for _, a := range []struct{ flag, addr string }{{"--capture", o.capture}, {"--ui", o.ui}, {"--forward-proxy", o.forwardProxy}} {
		if err := checkListen(a.flag, a.addr); err != nil {
			return err
		}
	}
	if !inspect.IsLoopback(o.ui) && o.auth == "" {
		return badUsage("--ui %s reaches beyond this machine: set --auth TOKEN (or HOOKLAB_AUTH) so only you can read and drive hooklab", o.ui)
	}
	if o.captureAuth && o.auth == "" {
		return badUsage("--capture-auth needs --auth TOKEN (or HOOKLAB_AUTH)")
	}
	for _, name := range o.allowHosts {
		// "" would let in a request with no Host at all; a URL or a
		// list is no Host any request carries.
		if name == "" || strings.ContainsAny(name, "/, \t") {
			return badUsage("--allow-host %q: want one host name, such as hooklab.internal (repeat --allow-host for more)", name)
		}
	}
	if slices.Contains(o.allowHosts, "*") && o.auth == "" {
		// It would turn off the DNS-rebinding check: any site could
		// name itself this machine and read the API.
		return badUsage("--allow-host '*' accepts any Host: it needs --auth TOKEN (or HOOKLAB_AUTH); name the hosts instead")
	}
	for _, name := range o.secretHeaders {
		// No header has such a name ("X-Key: value"): it would redact
		// nothing, and say nothing.
		if !httpguts.ValidHeaderFieldName(name) {
			// A header given with its value ("Authorization: Bearer
			// ..."): the value, likely the secret, is not repeated.
			shown := name
			if i := strings.IndexAny(name, ":="); i > 0 {
				shown = name[:i+1] + " …"
			}
			return badUsage("--secret-header %q: not a header name (give the name alone, such as X-Internal-Key; HOOKLAB_SECRET_HEADERS takes them comma-separated)", shown)
		}
	}
	if _, port, _ := net.SplitHostPort(o.capture); o.capture == o.ui && port != "0" {
		return badUsage("--capture and --ui are both %s: give each its own address", o.capture)
	}
	if o.maxConns < 1 {
		return badUsage("--max-conns %d: want at least 1", o.maxConns)
	}
	if maxBodySet && o.maxBody == 0 {
		return badUsage("--max-body 0: want a size of at least 1 byte (bodies over it are stored cut to it, with their true size)")
	}
	if o.maxBins < 1 {
		return badUsage("--max-bins %d: want at least 1", o.maxBins)
	}
	if o.shutdownTimeout < 0 {
		return badUsage("--shutdown-timeout %v: want 0 or a positive duration", o.shutdownTimeout)
	}
	if o.retainCount < 0 {
		return badUsage("--retain-count %d: want 0 (no limit) or more", o.retainCount)
	}
	if o.retainAge < 0 {
		return badUsage("--retain-age %v: want 0 (no limit) or a positive duration", o.retainAge)
	}
	if o.devUI != "" {
		// A typo would serve a UI of 404s: refuse it, as other flags that would do nothing.
		if _, err := os.Stat(filepath.Join(o.devUI, "index.html")); err != nil {
			return badUsage("--dev-ui %s: want a directory holding the UI's index.html (%v)", o.devUI, err)
		}
	}
	if files, ok := inspect.OpenFileLimit(); ok {
		// A flood of connections to one listener must leave files for
		// the others, or the UI stops taking any (accept: too many open
		// files) while capture is full.
		if fit := inspect.FitConns(o.maxConns, files); fit < o.maxConns {
			if maxConnsSet {
				log.Warn("--max-conns is more than the open-file limit leaves room for: a flood on one listener can take every file, and the others then refuse connections; raise the limit (ulimit -n) or lower --max-conns", "max_conns", o.maxConns, "open_file_limit", files, "fits", fit)
			} else {
				log.Info("connections per listener lowered to fit the open-file limit (raise it with ulimit -n)", "max_conns", fit, "open_file_limit", files)
				o.maxConns = fit
			}
		}
	}
	// The rest of the flags that a value alone makes wrong, before the
	// config is read: a broken hooklab.yaml must not hide a typo here.
	var flagSpecs []proxy.Spec
	for _, spec := range o.proxies {
		listen, up, ok := strings.Cut(spec, "=")
		u, upErr := proxy.ParseUpstream(up)
		if ok && listen != "" && !strings.Contains(listen, "/") && upErr != nil {
			return badUsage("--proxy %q: the upstream must be an http or https URL with a host, such as 127.0.0.1:9000=http://127.0.0.1:3000; %v", inspect.ShownURL(spec, inspect.QuerySecret(o.secretHeaders)), upErr)
		}
		if !ok || listen == "" || strings.Contains(listen, "/") {
			// The spec may be an upstream URL alone, or split at an = in
			// its query: its password is redacted wherever it is.
			shown := func(s string) string { return inspect.ShownURL(s, inspect.QuerySecret(o.secretHeaders)) }
			if _, err := proxy.ParseUpstream(listen); err == nil && ok && checkListen("--proxy", up) == nil && up != "" {
				return badUsage("--proxy %q: want LISTEN=UPSTREAM; the two sides look swapped: --proxy %s=%s", shown(spec), up, shown(listen))
			}
			return badUsage("--proxy %q: want LISTEN=UPSTREAM, e.g. 127.0.0.1:9000=http://127.0.0.1:3000", shown(spec))
		}
		if err := checkListen("--proxy", listen); err != nil {
			return err
		}
		flagSpecs = append(flagSpecs, proxy.Spec{Listen: listen, Routes: []proxy.Route{{Prefix: "/", Upstream: u}}})
	}
	miss, err := proxy.ParseMiss(o.simulateMiss)
	if err != nil {
		return badUsage("--simulate-miss: %v", err)
	}
	if o.forwardProxy != "" {
		// Beyond loopback, whatever the config's proxies.
		if _, err := proxy.WithForwardFlag(nil, o.forwardProxy); err != nil {
			return badUsage("--forward-proxy: %v", err)
		}
	}
	// Checked with or without --simulate: POST /api/simulations takes
	// them later, and would refuse every file for a flag's typo.
	for _, g := range o.simIgnoreQuery {
		if _, err := path.Match(g, ""); err != nil {
			return badUsage("--simulate-ignore-query %q: want a glob such as utm_* (%v)", g, err)
		}
	}
	// Listen first: a port in use fails before anything else is touched.
	capLn, err := net.Listen("tcp", o.capture)
	if err != nil {
		return fmt.Errorf("--capture %s: %w", o.capture, err)
	}
	defer capLn.Close()
	if !inspect.IsLoopback(o.capture) {
		log.Warn("the capture port is reachable from other machines: anyone who reaches it is recorded, gets the mock rules' answers and fires request.captured triggers (which send your webhooks with their credentials)", "listen", capLn.Addr().String())
	}
	capLn = inspect.LimitListener(capLn, o.maxConns)
	uiLn, err := net.Listen("tcp", o.ui)
	if err != nil {
		return fmt.Errorf("--ui %s: %w", o.ui, err)
	}
	defer uiLn.Close()
	uiLn = inspect.LimitListener(uiLn, o.maxConns)
	// The config: a broken file stops the start (say what is wrong); once
	// running, a broken edit keeps the last good config live.
	cfgPath := o.config
	if cfgPath == "" {
		cfgPath = defaultConfig
	}
	var cfg *rules.Config
	var cfgBytes []byte    // what was loaded, so that the watcher misses no edit
	var specs []proxy.Spec // the config's proxies
	if _, statErr := os.Stat(cfgPath); statErr == nil || o.config != "" {
		if cfgBytes, err = os.ReadFile(cfgPath); err != nil {
			return configReadError(cfgPath, err)
		}
		// Every section's errors at once, as check gives them.
		cfg, err = rules.Parse(cfgBytes, cfgPath, getenv)
		var warnings []string
		if warnings, specs, err = checkSections(cfg, err, getenv, portOf(uiLn.Addr())); err != nil {
			// The warnings too (in file order), as check prints them: a
			// trigger naming a webhook the file does not define is checked
			// against the data directory's once the file has no other error.
			var also strings.Builder
			for _, w := range warnings {
				also.WriteString("\nwarning: " + w)
			}
			return fmt.Errorf("config %s:\n%w%s", cfgPath, err, also.String())
		}
	}
	engine := mock.NewEngine(cfg, nil)

	// Proxies: those of the config, --proxy flags, --forward-proxy. Every
	// listener opens before anything is served, so a taken port fails fast.
	specs = append(specs, flagSpecs...)
	if specs, err = proxy.WithForwardFlag(specs, o.forwardProxy); err != nil {
		if o.forwardProxy != "" {
			return badUsage("--forward-proxy: %v", err) // as --ui beyond loopback is
		}
		return err
	}
	if o.mitm && !slices.ContainsFunc(specs, func(sp proxy.Spec) bool { return sp.Forward }) {
		return badUsage("--mitm decrypts through a forward proxy, and none runs: add --forward-proxy ADDR (or one with forward: true in the config)")
	}
	proxyLns := make([]net.Listener, len(specs))
	for i := range specs {
		name := specs[i].Name
		switch {
		case specs[i].Forward && name == proxy.ForwardName:
			name = "--forward-proxy"
		case name == "":
			name = "--proxy"
		default:
			name = "proxy " + name
		}
		for j := range i {
			if _, port, _ := net.SplitHostPort(specs[i].Listen); port != "0" && specs[j].Listen == specs[i].Listen {
				return badUsage("two proxies listen on %s (%s and another): give each its own address", specs[i].Listen, name)
			}
		}
		ln, err := net.Listen("tcp", specs[i].Listen)
		if err != nil {
			return fmt.Errorf("%s %s: %w", name, specs[i].Listen, err)
		}
		defer ln.Close()
		if !specs[i].Forward && !inspect.IsLoopback(specs[i].Listen) {
			log.Warn("a reverse proxy is reachable from other machines: its upstreams are too, through it, whatever they bind", "listen", ln.Addr().String())
		}
		proxyLns[i] = inspect.LimitListener(ln, o.maxConns)
		if specs[i].Name == "" {
			_, port, _ := net.SplitHostPort(ln.Addr().String())
			specs[i].Name = "proxy-" + port
		}
	}
	if err := proxyLoops(specs, specs, addrs(proxyLns), uiLn.Addr(), inspect.QuerySecret(o.secretHeaders)); err != nil {
		return err
	}
	proxyNames := make([]string, len(specs))
	for i := range specs {
		proxyNames[i] = specs[i].Name
	}
	warnUnknownProxies(log, cfg, proxyNames)
	warnShadowed(log, cfg)
	if o.simulate != "" && len(specs) == 0 {
		log.Warn("--simulate answers requests through a proxy, and none runs: add --proxy LISTEN=UPSTREAM, --forward-proxy or a proxies: section (captures are answered by mock rules)", "simulate", o.simulate)
	}
	sims := proxy.NewSimulator(proxy.SimulateOptions{IgnoreQuery: o.simIgnoreQuery, IgnoreBody: o.simIgnoreBody, Miss: miss}, log.With("component", "simulate"))
	sims.Proxies(proxyNames...)
	if o.simulate != "" {
		if err := sims.LoadFile(o.simulate, proxy.AllProxies); err != nil {
			return fmt.Errorf("--simulate: %w", err)
		}
	}

	dataDir := o.data
	defaultDir := false // not asked for: a failure to use it says how to choose
	if dataDir == "" && !o.memory {
		if dataDir = inspect.DefaultDataDir(getenv); dataDir == "" {
			return fmt.Errorf("%w (or --memory)", inspect.ErrNoDataDir)
		}
		defaultDir = true
	}
	if dataDir != "" {
		// Printed at start and given in /api/info: a relative path means
		// nothing to a client started elsewhere.
		if abs, err := filepath.Abs(dataDir); err == nil {
			dataDir = abs
		}
	}
	// The stream's summaries redact what the API's do: with the names
	// --secret-header gives and those remembered in the data directory.
	streamSecrets := o.secretHeaders
	if !o.memory {
		streamSecrets = append(slices.Clone(o.secretHeaders), storedSecretHeaders(dataDir)...)
	}
	hub := inspect.NewHub(streamSecrets...)
	// The emitter hears of every captured and proxied exchange; it is
	// opened after the store, whose commits it listens to.
	var emitterRef atomic.Pointer[emit.Emitter]
	onCommit := func(exs []*inspect.Exchange) {
		hub.PublishExchanges(exs)
		emitter := emitterRef.Load()
		if emitter == nil {
			return
		}
		for _, ex := range exs {
			if ex.Source == inspect.SourceCapture || ex.Source == inspect.SourceProxy {
				emitter.OnExchange(ctx, ex)
			}
		}
	}
	store, err := inspect.OpenSQLite(dataDir, inspect.Options{
		Memory:      o.memory,
		RetainCount: o.retainCount,
		RetainAge:   o.retainAge,
		RetainBytes: int64(o.retainBytes),
		OnCommit:    onCommit,
		OnRetain:    hub.PublishRetained,
		Heard:       func() bool { return hub.Wants("retained") },
		Logger:      log.With("component", "store"),
		Exclusive:   true,
	})
	if err != nil {
		err = inspect.CorruptHint(filepath.Join(dataDir, "hooklab.db"), inspect.FullDiskHint(dataDir, err))
		if defaultDir && !errors.Is(err, inspect.ErrInUse) {
			// A read-only HOME, a service account's: the user chose none of it.
			err = fmt.Errorf("%w\n(%s is the default data directory, from XDG_DATA_HOME or HOME: give --data DIR or HOOKLAB_DATA for another, or --memory for none)", err, dataDir)
		}
		return err
	}
	defer store.Close()
	if !o.memory {
		// A name once secret stays so, here as in a local export: the
		// exchanges stored with it are still there.
		all, err := rememberSecretHeaders(dataDir, o.secretHeaders)
		if err != nil {
			log.Warn("could not note the secret headers in the data directory: a local export (no server running) will not redact them unless HOOKLAB_SECRET_HEADERS names them", "err", err)
		}
		o.secretHeaders = all
	}

	ids := new(inspect.IDs)
	emitter, err := emit.Open(emit.Options{
		Dir:     dataDir,
		Memory:  o.memory,
		Record:  store.Add,
		Publish: hub.Publish,
		IDs:     ids,
		Logger:  log.With("component", "emit"),
		Getenv:  getenv,
		// Custom headers by these names are redacted like auth values.
		SecretHeaders: o.secretHeaders,
		// The activity log follows the exchanges' retention: at most as
		// many finished invocations, no older, and 7 days at most.
		RetainCount: cmp.Or(o.retainCount, -1),
		Retain:      min(cmp.Or(o.retainAge, emit.DefaultRetain), emit.DefaultRetain),
		// A webhook at hooklab's own API would drive it (or loop: its
		// payload can be the next event); the capture port is the place
		// to point one at hooklab.
		Refuse: refuseOwnAPI(uiLn.Addr()),
	})
	if err != nil {
		return inspect.CorruptHint(filepath.Join(dataDir, emit.DBFile), inspect.FullDiskHint(dataDir, fmt.Errorf("emitter: %w", err)))
	}
	defer emitter.Close()
	emitterRef.Store(emitter)
	if cfg != nil {
		// SetConfig logs the warnings (custom headers to plain HTTP).
		if err := emitter.SetConfig(cfg); err != nil {
			return fmt.Errorf("config %s:\n%w", cfgPath, err)
		}
	}
	// The emitter runs until the store's last commit at shutdown (see
	// below), so that it turns those captures into invocations as they
	// come rather than buffer them.
	emitCtx, stopEmit := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEmit()
	emitDone := make(chan struct{})
	go func() {
		defer close(emitDone)
		if err := emitter.Run(emitCtx); err != nil && emitCtx.Err() == nil {
			log.Error("emitter stopped", "err", err)
		}
	}()
	// Captures answered just before a crash (kill -9) reached the store
	// (from the journal) but not the emitter: their events come now,
	// before anything new is captured.
	if n, err := emitter.CatchUp(ctx, store); err != nil {
		log.Warn("events of exchanges stored before this start not all made", "err", err)
	} else if n > 0 {
		log.Info("took in exchanges stored since the emitter last ran", "exchanges", n)
	}

	captureURL := localURL(capLn.Addr())
	uiURL := localURL(uiLn.Addr())

	// --max-body wins; otherwise the live config's settings.max_body, which
	// a reload can change.
	maxBody := int64(o.maxBody)
	if !maxBodySet && cfg != nil && cfg.Settings.MaxBody > 0 {
		maxBody = cfg.Settings.MaxBody
	}
	captureMax := int64(0)
	if maxBodySet {
		captureMax = maxBody
	}
	// A delivery of hooklab's own webhooks to its capture port or through
	// a proxy is recorded with its api_key redacted, as its attempt is.
	ownCredentials := func(h http.Header) []string {
		if em := emitterRef.Load(); em != nil {
			return em.OwnCredentials(h)
		}
		return nil
	}
	ownDelivery := func(h http.Header) bool {
		if em := emitterRef.Load(); em != nil {
			return em.OwnDelivery(h)
		}
		return false
	}
	// Requests run under their own context, which ends only when the
	// shutdown timeout runs out: a graceful stop lets them finish.
	reqCtx, endRequests := context.WithCancel(context.WithoutCancel(ctx))
	defer endRequests()
	capture := mock.New(mock.Config{
		OwnCredentials: ownCredentials,
		OwnDelivery:    ownDelivery,
		Store:          store,
		IDs:            ids,
		MaxBody:        captureMax,
		Logger:         log.With("component", "capture"),
		Engine:         engine,
		MaxBins:        o.maxBins,
		// Near-miss reasons do not show these headers' values.
		SecretHeaders: o.secretHeaders,
		CutOff:        reqCtx,
	})
	streamDone := make(chan struct{})
	api := inspect.NewAPI(inspect.APIConfig{
		Store:       store,
		Hub:         hub,
		BinsChanged: capture.BinsChanged,
		CaptureURL:  func() string { return captureURL },
		Logger:      log.With("component", "api"),
		Done:        streamDone,
		// Captured secrets are redacted unless ?reveal=1.
		SecretHeaders: o.secretHeaders,
		OwnAPI:        ownAPIURL(uiLn.Addr()),
		AdmitBin:      capture.AdmitBin,
	})
	uiMux := http.NewServeMux()
	uiMux.Handle("/api/", api)
	rulesAPI := engine.API(log, o.secretHeaders)
	uiMux.Handle("/api/rules", rulesAPI)
	uiMux.Handle("/api/rules/", rulesAPI)
	// Routes of one method are mounted for every method, so that another
	// gets 405 with Allow (beside the catch-alls it would get their 404).
	uiMux.Handle("/api/stream", inspect.OnlyMethod(http.MethodGet, ui.Stream(ui.StreamConfig{Hub: hub, Logger: log.With("component", "stream"), Done: streamDone})))
	uiMux.Handle("/healthz", inspect.OnlyMethod(http.MethodGet, inspect.OnlyParams(log, func(w http.ResponseWriter, r *http.Request) {
		count, bytes := store.Stats(r.Context())
		h := map[string]any{"ok": true, "exchanges": count, "bytes": bytes, "goroutines": runtime.NumGoroutine(), "subscribers": hub.Subscribers()}
		code := http.StatusOK
		if err, since := store.Health(); err != nil {
			h["ok"], h["store_error"], h["store_error_since"] = false, err.Error(), since
			code = http.StatusServiceUnavailable
		}
		if err, since := emitter.Health(); err != nil {
			h["ok"], h["emit_error"], h["emit_error_since"] = false, err.Error(), since
			code = http.StatusServiceUnavailable
		}
		inspect.WriteJSON(w, code, h)
	})))
	// Shared by the API's replay runs; its idle connections are closed
	// once they have ended (see replayAPI.Wait below).
	replayTransport := selfRefusingTransport(uiLn.Addr())
	replayAPI := replay.NewAPI(replay.APIConfig{
		Store:         store,
		IDs:           ids,
		Publish:       hub.Publish,
		ResignFunc:    resigner(emitter),
		SecretHeaders: o.secretHeaders,
		MaxBody:       maxBody,
		Transport:     replayTransport,
		OwnAPI:        ownAPIURL(uiLn.Addr()),
		AdmitBins:     capture.AdmitBins,
		Logger:        log.With("component", "replay"),
		Context:       ctx,
	})
	uiMux.Handle("/api/simulations", sims.API())
	emitAPI := emitter.Handler()
	for _, prefix := range emit.Prefixes() {
		uiMux.Handle(prefix, emitAPI)
	}
	uiMux.Handle("/api/replay", replayAPI)
	uiMux.Handle("/api/replay/", replayAPI)
	uiMux.Handle("/api/import", replayAPI) // its own routes say 405 to other methods
	uiMux.Handle("/api/export.har", replayAPI)
	// Set below, before any listener serves: the CA a decrypting forward
	// proxy uses and that proxy's address, for hooklab ca.
	var mitmCA, mitmProxy string
	uiMux.Handle("/api/info", inspect.OnlyMethod(http.MethodGet, inspect.OnlyParams(log, func(w http.ResponseWriter, r *http.Request) {
		// query_language: GET /api/exchanges parses the filter language in
		// q= (and refuses a malformed term with 400); the UI asks here
		// rather than probing with a bad query.
		info := map[string]any{
			"version": version(), "capture_url": captureURL, "ui_url": uiURL, "data": store.Path(),
			"query_language": true,
		}
		if mitmCA != "" {
			info["ca"], info["forward_proxy"] = mitmCA, mitmProxy
		}
		inspect.WriteJSON(w, http.StatusOK, info)
	})))
	uiMux.Handle("/", ui.Assets(o.devUI))

	var captureHandler http.Handler = capture
	if o.captureAuth {
		captureHandler = inspect.CaptureAuth(o.auth, capture)
	}
	captureHandler = inspect.StripAuthCookie(captureHandler)
	var apiHandler http.Handler = uiMux
	allowHosts := o.allowHosts
	if o.auth != "" {
		apiHandler = inspect.Auth(o.auth, uiMux)
		allowHosts = append(allowHosts, "*") // the token guards it, whatever name it is reached by
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	baseCtx := func(net.Listener) context.Context { return reqCtx }
	capSrv := &http.Server{
		BaseContext:       baseCtx,
		ConnState:         inspect.ConnStateHook(capLn), // --max-conns takes idle keep-alives' places
		Handler:           inspect.Recover(log, captureHandler),
		Protocols:         &protocols,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          errLog,
	}
	uiSrv := &http.Server{
		BaseContext: baseCtx,
		ConnState:   inspect.ConnStateHook(uiLn),
		// Requests Guard refuses are logged by it, with a limit: a page in
		// another tab may send many.
		Handler:           serverHeader(inspect.Recover(log, inspect.Guard(log, allowHosts, inspect.AccessLog(log.With("component", "http"), apiHandler)))),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    1 << 20,
		ErrorLog:          errLog,
	}

	// Proxied requests that a mock scoped to their proxy matches are
	// answered by the mock engine instead of the upstream.
	intercept := func(r *http.Request, req *rules.Request, ex *inspect.Exchange) func(http.ResponseWriter) {
		p := engine.Plan(req, func() map[string]any { return mock.ExchangeVars(ex) }, func(int) *inspect.Response { return &inspect.Response{Status: http.StatusOK} })
		if p.Rule == "" {
			return nil
		}
		mock.DropBody(r.Method, p.Response, p.Fault == rules.FaultNone)
		ex.Rule, ex.Signature, ex.Error, ex.Response = p.Rule, p.Signature, p.Error, p.Response
		if p.Fault != rules.FaultNone && p.Fault != rules.FaultDrip {
			ex.Response, ex.Error = nil, "fault injected: "+string(p.Fault)
		}
		return func(w http.ResponseWriter) { p.Write(r.Context(), w, r) }
	}
	var ca *proxy.CA
	needCA := o.mitm
	for _, sp := range specs {
		needCA = needCA || sp.MITM
	}
	if o.memory && dataSet && !needCA {
		log.Warn("--memory keeps nothing on disk: --data is not used (it would hold the CA of a decrypting forward proxy)", "data", o.data)
	}
	if needCA {
		caDir := dataDir // absolute, as printed
		if caDir == "" {
			if caDir = inspect.DefaultDataDir(getenv); caDir == "" { // even with --memory: the CA must persist
				return fmt.Errorf("--mitm keeps its CA in the data directory: %w", inspect.ErrNoDataDir)
			}
		}
		if ca, err = proxy.LoadOrCreateCA(caDir); err != nil {
			return fmt.Errorf("--mitm: %w", err)
		}
	}
	type runningProxy struct {
		name    string
		reverse *proxy.Reverse
		forward *proxy.Forward
		srv     *http.Server
		ln      net.Listener
	}
	var running []runningProxy
	base := proxy.Options{
		Record: store.Add, IDs: ids, MaxBody: maxBody, InsecureUpstream: o.insecureUp, SecretHeaders: o.secretHeaders, OwnCredentials: ownCredentials, OwnDelivery: ownDelivery,
		Context: context.WithoutCancel(ctx), Stopping: ctx, CutOff: reqCtx, Intercept: intercept, Rules: engine.Config, Simulator: sims,
	}
	for i, sp := range specs {
		po := sp.Options(base)
		po.Logger = log.With("component", "proxy", "proxy", sp.Name)
		rp := runningProxy{name: sp.Name, ln: proxyLns[i]}
		var h http.Handler
		if sp.Forward {
			if o.mitm || sp.MITM {
				po.CA = ca
			}
			if rp.forward, err = proxy.NewForward(po); err != nil {
				return err
			}
			h = rp.forward
		} else {
			if rp.reverse, err = proxy.NewReverse(po); err != nil {
				return err
			}
			h = rp.reverse
			if inspect.IsLoopback(sp.Listen) {
				// It passes requests on with the upstream's credentials:
				// not for a web page that rebinds its name to 127.0.0.1.
				h = inspect.HostGuard(po.Logger, o.allowHosts, "hooklab proxy "+sp.Name, h)
			}
		}
		// No h2c and no write timeout: CONNECT needs HTTP/1.1 and tunnels live long.
		rp.srv = &http.Server{
			Handler:           inspect.Recover(log, inspect.StripAuthCookie(h)),
			BaseContext:       baseCtx,
			ConnState:         inspect.ConnStateHook(rp.ln),
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    1 << 20,
			ErrorLog:          errLog,
		}
		if rp.reverse != nil {
			// h2c with prior knowledge, as the capture port takes it (its
			// preface was otherwise forwarded as a request "PRI *").
			rp.srv.Protocols = &protocols
		}
		running = append(running, rp)
	}
	// GET /api/simulations lists the config's simulate: ones too.
	withSims := slices.Clone(running)
	sims.Configured(func() []proxy.SimulationStatus {
		var out []proxy.SimulationStatus
		for _, rp := range withSims {
			if rp.reverse != nil {
				out = append(out, rp.reverse.Simulations()...)
			} else {
				out = append(out, rp.forward.Simulations()...)
			}
		}
		return out
	})

	where := store.Path()
	if o.memory {
		where = "memory (nothing is kept on disk)"
	}
	fmt.Fprintf(stdout, "hooklab %s\ncapture: %s\nui: %s\ndata: %s\n", version(), captureURL, uiURL, where)

	for i, rp := range running {
		if specs[i].Forward {
			mode := "tunnels HTTPS"
			if ca != nil && (o.mitm || specs[i].MITM) {
				mode = "decrypts HTTPS with the CA at " + ca.CertPath()
				mitmCA, mitmProxy = ca.CertPath(), rp.ln.Addr().String()
			}
			fmt.Fprintf(stdout, "forward-proxy: %s (bin %s; %s)\n", localURL(rp.ln.Addr()), rp.name, mode)
			continue
		}
		var ups []string
		for _, rt := range specs[i].Routes {
			ups = append(ups, rt.Prefix+" -> "+inspect.ShownURL(rt.Upstream.String(), inspect.QuerySecret(o.secretHeaders)))
		}
		fmt.Fprintf(stdout, "proxy: %s %s (bin %s)\n", localURL(rp.ln.Addr()), strings.Join(ups, ", "), rp.name)
	}
	if cfg != nil {
		fmt.Fprintf(stdout, "config: %s (%s)\n", cfgPath, configSummary(cfg))
	}
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	// Joined at shutdown, before the emitter and the store close: a reload
	// under way then must not reach them closed.
	watchDone := make(chan struct{})
	go func() {
		defer close(watchDone)
		rules.WatchFrom(watchCtx, cfgPath, cfgBytes, getenv, log, func(c *rules.Config, err error) {
			var newSpecs []proxy.Spec
			if c != nil {
				// Webhooks, triggers, subscriptions and proxies are validated
				// too, whatever the rules' errors (c is then what they could
				// decode): every section's errors at once. A config any of
				// them refuses is refused whole.
				var perr error
				if newSpecs, perr = proxy.ParseConfig(c, getenv); perr == nil {
					// As at start: --forward-proxy gives a config forward proxy
					// its address, and no route may loop to a listener.
					if newSpecs, perr = proxy.WithForwardFlag(newSpecs, o.forwardProxy); perr == nil {
						perr = proxyLoops(newSpecs, specs, addrs(proxyLns), uiLn.Addr(), inspect.QuerySecret(o.secretHeaders))
					}
				}
				if err == nil && perr == nil {
					err = emitter.SetConfig(c) // applied last: all else is good
				} else {
					err = rules.Join(err, perr, emitter.CheckConfig(c))
				}
			}
			if err == nil {
				// Routes change live; listen addresses and modes need a restart.
				for _, msg := range proxyRestarts(specs, newSpecs) {
					log.Warn(msg)
				}
				for _, ns := range newSpecs {
					for _, rp := range running {
						// A proxy whose mode changed keeps its routes too: a
						// reverse proxy's need upstreams, a forward one's have none.
						if rp.name != ns.Name || (rp.reverse == nil) != ns.Forward {
							continue
						}
						var rerr error
						if rp.reverse != nil {
							rerr = rp.reverse.SetRoutes(ns.Routes)
						} else {
							rerr = rp.forward.SetRoutes(ns.Routes)
						}
						if rerr != nil {
							log.Error("proxy routes not changed", "proxy", ns.Name, "err", rerr)
						}
					}
				}
			}
			engine.Apply(c, err)
			if err != nil {
				log.Error("config reload failed; the last good config stays live", "err", err)
				hub.Publish(inspect.Event{Type: "rules", Data: map[string]any{"error": err.Error()}})
				return
			}
			log.Info("config reloaded", "file", cfgPath, "config", configSummary(c))
			warnUnknownProxies(log, c, proxyNames)
			warnShadowed(log, c)
			hub.Publish(inspect.Event{Type: "rules", Data: map[string]any{"error": nil}})
		})
	}()

	// Tell the UI when the store stops (or starts again) being able to
	// write, and the log when the store or emit.db writes again: their
	// failures are logged while they last, and a log whose last word was
	// "disk is full" would leave a recovery and traffic that stopped alike.
	healthDone := make(chan struct{})
	go func() {
		defer close(healthDone)
		t := time.NewTicker(time.Second)
		defer t.Stop()
		var last, lastEmit error
		var lastSince, lastEmitSince time.Time
		// A spell of failure may begin and end between two ticks: the
		// counts tell, so that the log does not end on the failure.
		var lastFails, lastEmitFails uint64
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			fails := store.Failures()
			err, since := store.Health()
			if (err == nil) != (last == nil) {
				msg := any(nil)
				if err != nil {
					msg = "hooklab cannot store traffic: " + err.Error()
				}
				hub.Publish(inspect.Event{Type: "store", Data: map[string]any{"error": msg}})
			}
			switch {
			case err == nil && last != nil:
				log.Info("store writes again", "component", "store", "failed_for", time.Since(lastSince).Round(time.Second))
			case err == nil && fails != lastFails:
				log.Info("store writes again", "component", "store", "failed_for", "brief, between two checks a second apart")
			}
			last, lastSince, lastFails = err, since, fails
			emitFails := emitter.Failures()
			eerr, esince := emitter.Health()
			switch {
			case eerr == nil && lastEmit != nil:
				log.Info("emit database writes again", "component", "emit", "failed_for", time.Since(lastEmitSince).Round(time.Second))
			case eerr == nil && emitFails != lastEmitFails:
				log.Info("emit database writes again", "component", "emit", "failed_for", "brief, between two checks a second apart")
			}
			lastEmit, lastEmitSince, lastEmitFails = eerr, esince, emitFails
		}
	}()

	errc := make(chan error, 2+len(running))
	go func() { errc <- capSrv.Serve(capLn) }()
	go func() { errc <- uiSrv.Serve(uiLn) }()
	for _, rp := range running {
		go func() { errc <- rp.srv.Serve(rp.ln) }()
	}
	select {
	case <-ctx.Done():
	case err = <-errc:
		log.Error("listener failed", "err", err)
	}
	stop()

	// Stop accepting, finish in-flight requests, then flush the store.
	log.Info("shutting down")
	stopWatch()
	<-watchDone
	<-healthDone // no look at the store or the hub while they close
	close(streamDone)
	engine.Stop() // timeout faults hang up now: they would never finish
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), o.shutdownTimeout)
	defer cancel()
	context.AfterFunc(sctx, endRequests) // what has not finished by then is cut off
	// Requests cut off at the deadline end at once, answered 503 or
	// dropped; a moment more lets them be recorded before the store closes.
	dctx, dcancel := context.WithTimeout(context.WithoutCancel(ctx), o.shutdownTimeout+2*time.Second)
	defer dcancel()
	// Every listener stops accepting at once, then waits for its requests.
	srvs := []*http.Server{capSrv, uiSrv}
	for _, rp := range running {
		srvs = append(srvs, rp.srv)
	}
	shutErrs := make([]error, len(srvs))
	var shutWG sync.WaitGroup
	for i, srv := range srvs {
		shutWG.Go(func() { shutErrs[i] = srv.Shutdown(sctx) })
	}
	// Websockets through a proxy are closed (and recorded) now, not once
	// the other requests have ended: a server's Shutdown does not wait
	// for them, nor close them.
	for _, rp := range running {
		if rp.forward != nil {
			rp.forward.CloseTunnels()
		} else {
			rp.reverse.CloseTunnels()
		}
	}
	shutWG.Wait()
	// What the handlers record (a capture cut off mid-body, proxied
	// exchanges, open tunnels) reaches the store before it closes.
	waits := []error{capture.Shutdown(dctx)}
	for _, rp := range running {
		if rp.forward != nil {
			waits = append(waits, rp.forward.Shutdown(dctx))
		} else {
			waits = append(waits, rp.reverse.Shutdown(dctx))
		}
	}
	var serr error
	cut := false
	for _, e := range append(shutErrs, waits...) {
		switch {
		case errors.Is(e, context.DeadlineExceeded):
			cut = true // requests cut off, or that would not end even then
		case e != nil:
			serr = errors.Join(serr, e)
		}
	}
	if cut {
		log.Warn("requests still open at the shutdown deadline were cut off", "shutdown_timeout", o.shutdownTimeout)
	}
	replayAPI.Wait() // runs stop with ctx; their recordings reach the store
	replayTransport.CloseIdleConnections()
	// Every answered capture is committed, and so turned into its events
	// (OnCommit), before the emitter stops taking them: with time of its
	// own, since requests may have used all of --shutdown-timeout (an event
	// committed after the emitter closed would be lost).
	syncCtx, syncCancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer syncCancel()
	store.Sync(syncCtx)
	stopEmit()
	<-emitDone
	if eerr := emitter.Close(); eerr != nil { // drains deliveries, before the store closes
		serr = errors.Join(serr, fmt.Errorf("close emitter: %w", eerr))
	}
	if cerr := store.Close(); cerr != nil {
		serr = errors.Join(serr, fmt.Errorf("close store: %w", cerr))
	}
	if err != nil && !errors.Is(err, http.ErrServerClosed) {
		return errors.Join(err, serr)
	}
	return serr
}

// replayCLI builds the replay, export and import commands. They talk to a
// running server (--server, $HOOKLAB_UI) and otherwise open the store in
// $HOOKLAB_DATA or the default data directory.
func replayCLI(getenv func(string) string, stdout, stderr io.Writer) *replay.CLI {
	return &replay.CLI{
		Stdout: stdout, Stderr: stderr, Stdin: os.Stdin, Getenv: getenv,
		// With no server to ask, what the servers of the data directory
		// redacted as well.
		SecretHeaders: append(secretHeaders(getenv), storedSecretHeaders(envOr(getenv, "HOOKLAB_DATA", inspect.DefaultDataDir(getenv)))...),
		OpenStore: func(create bool) (inspect.Store, error) {
			dir := envOr(getenv, "HOOKLAB_DATA", inspect.DefaultDataDir(getenv))
			if dir == "" {
				return nil, inspect.ErrNoDataDir
			}
			if _, err := os.Stat(filepath.Join(dir, "hooklab.db")); !create && errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("no hooklab data in %s (set HOOKLAB_DATA, or start hooklab serve)", dir)
			}
			// Never upgrade a data directory from here: the older
			// hooklab that may serve it could not open it again. An
			// import writes: not beside a server, which would neither
			// count the rows nor make their events.
			st, err := inspect.OpenSQLite(dir, inspect.Options{DirectWrites: true, NoMigrate: true, Exclusive: create})
			if errors.Is(err, inspect.ErrInUse) {
				return nil, fmt.Errorf("a hooklab is serving from %s: import through it (--server URL, or HOOKLAB_UI)", dir)
			}
			return st, err
		},
	}
}

func check(args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("check", `Usage: hooklab check [--print] [FILE]

Validate a config file (default: hooklab.yaml in the working directory)
as serve would load it, without serving.

Flags:
`, stdout, stderr)
	print := fs.Bool("print", false, "print the normalized config (secrets redacted)")
	// The file comes before or after the flags, or as serve takes it.
	var file string
	flagFile := fs.String("config", "", "config `file` to check, as serve --config takes it (or give it as the argument; default hooklab.yaml)")
	// A webhook or proxy route at hooklab's own API is refused, as serve
	// refuses it: at the port serve's --ui listens on.
	ui := fs.String("ui", "127.0.0.1:4040", "the `address` serve's --ui listens on: a webhook endpoint or proxy upstream there, hooklab's own API, is refused")
	given := false
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		file, args, given = args[0], args[1:], true
	}
	if err := fs.Parse(args); err != nil {
		return helpOrUsage(err)
	}
	rest := fs.Args()
	if !given && len(rest) > 0 {
		file, rest, given = rest[0], rest[1:], true
	}
	flagSet := false
	fs.Visit(func(f *flag.Flag) { flagSet = flagSet || f.Name == "config" })
	if (given && file == "") || (flagSet && *flagFile == "") {
		// An unset variable in a script, as serve refuses it: checking
		// the working directory's hooklab.yaml instead would say ok.
		fmt.Fprintln(stderr, "hooklab check: the config file is empty: give a file, or leave it out for hooklab.yaml in the working directory")
		return errUsage
	}
	if *flagFile != "" {
		if file != "" {
			fmt.Fprintf(stderr, "hooklab check: two config files, %q and --config %q (one at a time)\n", file, *flagFile)
			return errUsage
		}
		file = *flagFile
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "hooklab check: unexpected argument %q (one config file at a time)\n", rest[0])
		return errUsage
	}
	_, uiPort, err := net.SplitHostPort(*ui)
	if _, perr := strconv.ParseUint(uiPort, 10, 16); err != nil || perr != nil {
		return badUsage("--ui %q: want host:port, as serve --ui takes it", *ui)
	}
	named := file != ""
	if file == "" {
		file = defaultConfig
	}
	// Said plainly, with where it looked: "read config: open hooklab.yaml:
	// no such file or directory" left a new user to work out that check
	// wants a file, and which.
	if _, err := os.Stat(file); errors.Is(err, os.ErrNotExist) && !named {
		abs, aerr := filepath.Abs(file)
		if aerr != nil {
			abs = file
		}
		fmt.Fprintf(stderr, "hooklab check: no config file: there is no %s in the working directory (looked for %s); name one (hooklab check FILE), or write one (hooklab schema describes it; serve runs without one)\n", defaultConfig, abs)
		return errReported
	}
	if p := configFileProblem(file); p != "" {
		fmt.Fprintln(stderr, "hooklab check: "+p)
		return errReported
	}
	cfg, err := rules.Load(file, getenv)
	warnings, specs, err := checkSections(cfg, err, getenv, uiPort)
	if err == nil {
		var names []string
		for _, sp := range specs {
			names = append(names, sp.Name)
		}
		for _, m := range mocksForUnknownProxies(cfg, names) {
			warnings = append(warnings, fmt.Sprintf("%s:%d: mock %q applies to proxy %q, which this file does not define (fine when serve gets it from --proxy, named proxy-PORT)", m.File, m.Line, m.Name, m.Proxy))
		}
		for _, sh := range cfg.Shadowed() {
			warnings = append(warnings, fmt.Sprintf("%s:%d: mock %q never matches: mock %q above it (line %d) matches every request", sh.Mock.File, sh.Mock.Line, sh.Mock.Name, sh.By.Name, sh.By.Line))
		}
	}
	// The warnings come with the errors too, after them, as a refused
	// start lists them: a webhook the file does not define is one (an
	// API-made one is fine), whatever else is wrong.
	rules.SortByPlace(file, warnings)
	if err != nil {
		fmt.Fprintln(stderr, err)
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "warning:", w)
	}
	if err != nil {
		return errReported
	}
	if *print {
		extra := secretHeaders(getenv)
		secret := inspect.QuerySecret(extra)
		b, err := cfg.Redacted(secret, func(u string) string { return inspect.ShownURL(u, secret) }).Normalized()
		if err != nil {
			return err
		}
		_, err = stdout.Write(b)
		return err
	}
	fmt.Fprintf(stdout, "%s: ok (%s)\n", file, configSummary(cfg))
	return nil
}

// checkSections adds to rerr, the rules' error for a config file (nil for
// none), what serve checks beyond the rules in cfg, what they decoded of
// it: webhooks and the rest (emit, taking webhooks not in the file for
// API-made ones, and refusing an endpoint at uiPort on this machine,
// hooklab's own API) and proxies (a route to its own listen address too).
// Every section's errors come at once, in file order: one in the mocks
// hides none in the webhooks or the proxies; the warnings (emit's) come in
// file order too. cfg nil (a file not read, or not YAML): rerr alone.
func checkSections(cfg *rules.Config, rerr error, getenv func(string) string, uiPort string) (warnings []string, specs []proxy.Spec, err error) {
	if cfg == nil {
		return nil, nil, rerr
	}
	// A webhook at the UI/API port is refused, as the emitter refuses it
	// (emit.Options.Refuse) and as the API refuses one made there.
	warnings, emitErr := emit.Check(cfg, getenv, replay.OwnAPICheck(uiPort))
	specs, err = proxy.ParseConfig(cfg, getenv)
	if err == nil {
		err = fileLoops(specs, uiPort)
	}
	return warnings, specs, rules.Join(rerr, emitErr, err)
}

// selfRefusingTransport is replay's transport for the server's runs: it
// will not connect to the UI/API listener at addr, however the URL names
// it (LOCALHOST, 0-padded ports, another local address). A replayed
// capture's URL is whatever Host its sender wrote, and the replay would
// drive hooklab's own API on the developer's click.
func selfRefusingTransport(addr net.Addr) *http.Transport {
	tr := replay.NewTransport(false)
	replay.RefuseOwnAPI(tr, portOf(addr), "")
	return tr
}

// refuseOwnAPI returns a check of the address a connection is about to be
// made to (a resolved "host:port"): an error when it is the UI/API
// listener at addr, on any local address.
func refuseOwnAPI(addr net.Addr) func(address string) error {
	return replay.OwnAPICheck(portOf(addr))
}

func portOf(addr net.Addr) string {
	_, port, _ := net.SplitHostPort(addr.String())
	return port
}

// ownAPIURL returns a check of whether a URL names the UI/API listener at
// addr, however it spells it (LOCALHOST, a 0-padded port, a name that
// resolves to this machine), for commands hooklab prints but does not run.
func ownAPIURL(addr net.Addr) func(rawURL string) bool {
	refuse := refuseOwnAPI(addr)
	return func(rawURL string) bool {
		u, err := url.Parse(rawURL)
		if err != nil || u.Port() == "" {
			return false
		}
		port, err := strconv.ParseUint(u.Port(), 10, 16)
		if err != nil || refuse(net.JoinHostPort("127.0.0.1", strconv.FormatUint(port, 10))) == nil {
			return false // another port: no need to look the name up
		}
		host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
		if host == "localhost" || strings.HasSuffix(host, ".localhost") {
			return true // curl and browsers take these as loopback without asking DNS
		}
		ips := []net.IP{net.ParseIP(host)}
		if ips[0] == nil {
			ips[0] = looseIPv4(host) // 127.1, 2130706433, 0x7f000001, as curl reads them
		}
		if ips[0] == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			addrs, err := net.DefaultResolver.LookupIPAddr(ctx, host)
			if err != nil {
				return false
			}
			ips = ips[:0]
			for _, a := range addrs {
				ips = append(ips, a.IP)
			}
		}
		for _, ip := range ips {
			if refuse(net.JoinHostPort(ip.String(), strconv.FormatUint(port, 10))) != nil {
				return true
			}
		}
		return false
	}
}

// looseIPv4 reads an IPv4 address the way inet_aton does, and so curl:
// one to four parts, each decimal, octal (a leading 0) or hex (0x), the
// last filling the bytes left ("127.1" is 127.0.0.1). It returns nil for
// anything else.
func looseIPv4(s string) net.IP {
	parts := strings.Split(s, ".")
	if len(parts) > 4 {
		return nil
	}
	var v []uint64
	for _, p := range parts {
		base, digits := 10, p
		switch {
		case len(p) > 2 && (p[:2] == "0x" || p[:2] == "0X"):
			base, digits = 16, p[2:]
		case len(p) > 1 && p[0] == '0':
			base, digits = 8, p[1:]
		}
		n, err := strconv.ParseUint(digits, base, 32)
		if err != nil {
			return nil
		}
		v = append(v, n)
	}
	var addr uint64
	for i, n := range v[:len(v)-1] {
		if n > 255 {
			return nil
		}
		addr |= n << (24 - 8*i)
	}
	last := v[len(v)-1]
	if last >= 1<<(8*(5-len(v))) {
		return nil
	}
	addr |= last
	return net.IPv4(byte(addr>>24), byte(addr>>16), byte(addr>>8), byte(addr))
}

// serverHeader marks every answer of the UI/API listener "Server:
// hooklab", refusals included, so that the client commands know a
// hooklab answered (and not some other program on the port); and
// "X-Content-Type-Options: nosniff", so that no answer (/raw begins with
// a sender's bytes) can be loaded as a script or style by a page.
func serverHeader(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "hooklab")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		next.ServeHTTP(w, r)
	})
}

// warnUnknownProxies logs each mock that applies to a proxy of a name no
// running proxy has: it can never match. (Proxies from flags are named
// only at start, so this is a warning, not an error of the file.)
func warnUnknownProxies(log *slog.Logger, cfg *rules.Config, running []string) {
	for _, m := range mocksForUnknownProxies(cfg, running) {
		log.Warn("mock applies to a proxy that is not running, so it never matches", "mock", m.Name,
			"at", fmt.Sprintf("%s:%d", m.File, m.Line), "proxy", m.Proxy, "running", running)
	}
}

// warnShadowed logs each mock that a mock above it, matching every
// request, keeps from ever matching: a catch-all put first, or a rule
// added below one.
func warnShadowed(log *slog.Logger, cfg *rules.Config) {
	for _, sh := range cfg.Shadowed() {
		log.Warn("mock never matches: a mock above it matches every request", "mock", sh.Mock.Name,
			"at", fmt.Sprintf("%s:%d", sh.Mock.File, sh.Mock.Line), "by", sh.By.Name, "by_at", fmt.Sprintf("%s:%d", sh.By.File, sh.By.Line))
	}
}

// mocksForUnknownProxies returns the mocks of cfg that apply to a proxy
// none of names is.
func mocksForUnknownProxies(cfg *rules.Config, names []string) []*rules.Mock {
	if cfg == nil {
		return nil
	}
	var out []*rules.Mock
	for _, m := range cfg.Mocks {
		if m.Proxy != "" && m.Proxy != "*" && !slices.Contains(names, m.Proxy) {
			out = append(out, m)
		}
	}
	return out
}

// proxyLoops refuses each reverse proxy route of check whose upstream is
// one of the running proxies' listeners (lns, in the order of running) or
// hooklab's API: every request would come back to it (until --max-conns),
// or drive the API. A proxy of the config is refused at its place in the
// file (a *rules.Errors, which rules.Join puts among the file's other
// errors, in file order); one of --proxy with a plain error. secret says
// which query parameters the errors show REDACTED.
func proxyLoops(check, running []proxy.Spec, lns []net.Addr, ui net.Addr, secret func(name string) bool) error {
	own := func(string) bool { return false }
	if ui != nil {
		own = ownAPIURL(ui)
	}
	var inFile []rules.Error
	var flags []error
	for _, sp := range check {
		for _, rt := range sp.Routes {
			if rt.Upstream == nil {
				continue
			}
			up := rt.Upstream.String()
			msg := ""
			if own(up) {
				msg = fmt.Sprintf("proxy %s: route %s: upstream %s is hooklab's own API", sp.Name, rt.Prefix, inspect.ShownURL(up, secret))
			}
			for j, ln := range lns {
				if msg == "" && ln != nil && ownAPIURL(ln)(up) {
					what := "proxy " + running[j].Name + "'s own listener"
					if running[j].Name == sp.Name {
						what = "this proxy's own listener"
					}
					msg = fmt.Sprintf("proxy %s: route %s: upstream %s is %s: every request would loop back", sp.Name, rt.Prefix, inspect.ShownURL(up, secret), what)
				}
			}
			switch {
			case msg == "":
			case sp.File != "":
				inFile = append(inFile, rules.Error{File: sp.File, Line: sp.Line, Col: sp.Col, Msg: msg})
			default:
				flags = append(flags, errors.New(msg))
			}
		}
	}
	var errs []error
	if len(inFile) > 0 {
		errs = append(errs, &rules.Errors{List: inFile})
	}
	return rules.Join(append(errs, flags...)...)
}

// fileLoops is proxyLoops for the proxies of a config file before any
// listens: a route to its own proxy's listen address loops, and one to
// uiPort on this machine (serve's --ui; "" for none) drives hooklab's own
// API, whatever serve adds (the ports it picks for :0).
func fileLoops(specs []proxy.Spec, uiPort string) error {
	var lns []net.Addr
	for _, sp := range specs {
		a, _ := net.ResolveTCPAddr("tcp", sp.Listen)
		if a == nil || a.Port == 0 {
			lns = append(lns, nil)
			continue
		}
		lns = append(lns, a)
	}
	var ui net.Addr
	if p, err := strconv.Atoi(uiPort); err == nil && p > 0 {
		ui = &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: p}
	}
	return proxyLoops(specs, specs, lns, ui, inspect.QuerySecret(nil))
}

// checkListen is a usage error for an address no listener can take: no
// port, or one that is not a port (out of range, an unknown name). ""
// (a flag not given) passes.
func checkListen(flag, addr string) error {
	if addr == "" {
		return nil
	}
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = net.LookupPort("tcp", port)
	}
	if err != nil {
		return badUsage("%s %s: want host:port such as 127.0.0.1:8080 (%v)", flag, addr, err)
	}
	return nil
}

// localURL is the URL this machine reaches a listener at: one on every
// interface (0.0.0.0, [::] or no host) is shown at 127.0.0.1, which a
// browser opens and the API's Host check takes (Go listens on both
// families there), where http://[::]:8080/ is neither.
func localURL(a net.Addr) string {
	if ta, ok := a.(*net.TCPAddr); ok && (ta.IP == nil || ta.IP.IsUnspecified()) {
		return "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(ta.Port)) + "/"
	}
	return "http://" + a.String() + "/"
}

// addrs lists the listeners' addresses.
func addrs(lns []net.Listener) []net.Addr {
	out := make([]net.Addr, len(lns))
	for i, ln := range lns {
		out[i] = ln.Addr()
	}
	return out
}

// proxyRestarts says which proxy changes of a reloaded config wait for a
// restart: a new proxy, a listen address, mode or mitm_ignore changed, a
// proxy of the file removed. Routes change live.
func proxyRestarts(running, next []proxy.Spec) []string {
	var out []string
	for _, n := range next {
		i := slices.IndexFunc(running, func(o proxy.Spec) bool { return o.Name == n.Name })
		if i < 0 {
			out = append(out, fmt.Sprintf("proxy %s (%s:%d) is new: it starts at the next restart of hooklab", n.Name, n.File, n.Line))
			continue
		}
		o := running[i]
		if o.Forward != n.Forward {
			out = append(out, fmt.Sprintf("proxy %s (%s:%d): its mode (forward or reverse) changed, which takes effect, with its routes, at the next restart of hooklab", n.Name, n.File, n.Line))
		} else if o.Listen != n.Listen || o.MITM != n.MITM || !slices.Equal(o.MITMIgnore, n.MITMIgnore) {
			out = append(out, fmt.Sprintf("proxy %s (%s:%d): its listen address, mode or mitm_ignore changed, which takes effect at the next restart of hooklab (its routes changed now)", n.Name, n.File, n.Line))
		}
	}
	for _, o := range running {
		if o.File != "" && !slices.ContainsFunc(next, func(n proxy.Spec) bool { return n.Name == o.Name }) {
			out = append(out, fmt.Sprintf("proxy %s was removed from the config; it keeps running until the next restart of hooklab", o.Name))
		}
	}
	return out
}

// configSummary counts what a config holds: "1 mock, 2 verify rules",
// then each other section that has entries.
func configSummary(cfg *rules.Config) string {
	s := inspect.Count(len(cfg.Mocks), "mock", "mocks") + ", " + inspect.Count(len(cfg.Verify), "verify rule", "verify rules")
	for _, sec := range []struct {
		one, many string
		n         *yaml.Node
	}{{"webhook", "webhooks", cfg.Webhooks}, {"trigger", "triggers", cfg.Triggers}, {"automation", "automations", cfg.Automations},
		{"subscription", "subscriptions", cfg.Subscriptions}, {"proxy", "proxies", cfg.Proxies}} {
		if sec.n != nil && sec.n.Kind == yaml.SequenceNode && len(sec.n.Content) > 0 {
			s += ", " + inspect.Count(len(sec.n.Content), sec.one, sec.many)
		}
	}
	return s
}

// resigner signs an emitted exchange again, as the webhook signs its
// deliveries now (every secret of a rotation) and with a fresh timestamp,
// and gives back its credentials (recorded redacted), for replay --resign.
func resigner(e *emit.Emitter) func(ex *inspect.Exchange) (replay.Resigned, error) {
	return func(ex *inspect.Exchange) (replay.Resigned, error) {
		var res replay.Resigned
		id := ex.Invocation
		if id == "" {
			id = ex.ID
		}
		// Unsigned: no signature, credentials only.
		sig, err := e.Resign(ex.Bin, id, ex.Request.Body)
		if errors.Is(err, inspect.ErrNotFound) {
			// Its secrets went with it: say so, and what to do.
			return res, fmt.Errorf("exchange %s is a delivery of webhook %s, which no longer exists (deleted, or taken out of the config): no secret is left to sign it with; replay it without --resign (the API's \"resign\": true), or define webhook %s again", ex.ID, ex.Bin, ex.Bin)
		}
		if err != nil {
			return res, err
		}
		res.Signature = sig
		res.Credentials, err = e.Credentials(ex.Bin)
		return res, err
	}
}

func send(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("send", `Usage: hooklab send TYPE [flags]

Post an event of TYPE to a running hooklab: the webhooks subscribed to
it, and those whose triggers match, are invoked.

  hooklab send ticket.created --data @ticket.json
  hooklab send ticket.updated --data '{"ticket":{"id":7,"status":"solved"}}'

Flags:
`, stdout, stderr)
	server := inspect.ServerFlag(fs, getenv)
	data := fs.String("data", "{}", "event data: `JSON`, @file, or - (or @-) for standard input")
	var typ string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		typ, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return helpOrUsage(err)
	}
	if rest := fs.Args(); typ == "" && len(rest) > 0 {
		typ, rest = rest[0], rest[1:] // the type after the flags
		if err := parseFlags(fs, rest); err != nil {
			return err
		}
	} else if len(rest) > 0 {
		fmt.Fprintf(stderr, "hooklab send: unexpected argument %q\n", rest[0])
		return errUsage
	}
	if typ == "" {
		fmt.Fprintln(stderr, "hooklab send: want an event type, e.g. hooklab send ticket.created --data @ticket.json")
		return errUsage
	}
	if err := emit.CheckEventType(typ); err != nil {
		return badUsage("%v", err)
	}
	body, err := emit.ReadData(*data, os.Stdin)
	if errors.Is(err, inspect.ErrInvalid) {
		return badUsage("%v", err) // it names --data; a flag value that is wrong, as a bad event type
	}
	if err != nil {
		return err // it names --data: a file that cannot be read
	}
	s, err := inspect.ServerURL(*server)
	if err != nil {
		return badUsage("--server %v", err)
	}
	res, err := emit.Send(ctx, s, getenv("HOOKLAB_AUTH"), typ, body)
	if err != nil {
		return err
	}
	if len(res.Invocations) == 0 {
		// Inactive webhooks are not invoked: the one subscribed may be.
		fmt.Fprintf(stderr, "hooklab send: nothing was queued: no active webhook is subscribed to %s and no trigger of an active one fired (see GET %s/api/webhooks)\n", typ, strings.TrimSuffix(s, "/"))
		// A trigger or subscription just added in an edit that did not
		// load is not live: say so, or its conditions get the blame.
		if file, problem := configLoadError(ctx, s, getenv("HOOKLAB_AUTH")); problem != "" {
			fmt.Fprintf(stderr, "hooklab send: the config file %s did not load, so the triggers and subscriptions live are its last good version's: %s\n", file, problem)
		}
	}
	// An invocation refused as it was made (a payload over max_payload,
	// a template that failed) is final already, never sent: say so, and
	// fail when nothing will go out.
	failed := 0
	for _, q := range res.Invocations {
		if q.Status == emit.InvocationFailed {
			failed++
			fmt.Fprintf(stderr, "hooklab send: invocation %s of webhook %s failed before it was sent: %s\n", q.ID, q.WebhookID, q.Error)
		}
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(res); err != nil {
		return err
	}
	switch {
	case failed == 1 && len(res.Invocations) == 1:
		return errors.New("send: nothing was sent: the only invocation failed before it was sent; see above")
	case failed > 0 && failed == len(res.Invocations):
		return fmt.Errorf("send: nothing was sent: all %d invocations failed before they were sent; see above", failed)
	}
	return nil
}

func tail(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := newFlags("tail", `Usage: hooklab tail [flags]

Print a running server's exchanges as they arrive, one line each (or one
JSON object each, with --json); reconnects when the server restarts.

Flags:
`, stdout, stderr)
	server := inspect.ServerFlag(fs, getenv)
	bin := fs.String("bin", "", "only exchanges of this `bin`")
	q := fs.String("q", "", "only exchanges matching this `query` (the language of the UI's filter: status:5xx, json:ticket.id=7, free text...)")
	asJSON := fs.Bool("json", false, "print each exchange as a JSON line")
	wait := fs.Duration("wait", 0, "give up when no server answers within this `duration` at first (0: keep trying); once connected, tail reconnects until stopped")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *wait < 0 {
		fmt.Fprintf(stderr, "hooklab tail: --wait %v: want 0 (keep trying) or a positive duration\n", *wait)
		return errUsage
	}
	// A filter given empty (--bin "$BIN" with BIN unset) would show every
	// exchange, as export and replay refuse it.
	var empty string
	fs.Visit(func(f *flag.Flag) {
		if (f.Name == "bin" || f.Name == "q") && f.Value.String() == "" && empty == "" {
			empty = f.Name
		}
	})
	if empty != "" {
		fmt.Fprintf(stderr, "hooklab tail: --%s is empty: give a value, or leave --%s out\n", empty, empty)
		return errUsage
	}
	if *bin != "" {
		if err := inspect.ValidBin(*bin); err != nil {
			return badUsage("--bin: %v", err)
		}
	}
	if _, err := inspect.ParseQueryLang(*q); err != nil {
		return badUsage("--q: %v", err)
	}
	s, err := inspect.ServerURL(*server)
	if err != nil {
		return badUsage("--server %v", err)
	}
	// A reader that goes away ends tail (cleanly: it asked for no more)
	// at once, not at the next exchange's write.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	whenReaderGone(ctx, stdout, stop)
	done := make(chan error, 1)
	go func() {
		done <- ui.Tail(ctx, ui.TailConfig{Server: s, Bin: *bin, Q: *q, JSON: *asJSON, Out: stdout, Status: stderr, Token: getenv("HOOKLAB_AUTH"), Wait: *wait})
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		// Stopped (a signal, or the reader went): Tail returns at once,
		// unless it is in a write to a reader that does not read, which
		// nothing ends (one kill left tail running for minutes): it
		// ends without Tail then.
		select {
		case err = <-done:
		case <-time.After(time.Second):
			return nil
		}
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// size is a byte count flag that accepts units: 512, 64KiB, 10MiB, 1GB.
type size int64

// String gives a whole number of MiB or KiB in that unit, as the help's
// defaults and the README write them (10MiB), else the byte count.
func (s *size) String() string {
	switch n := int64(*s); {
	case n != 0 && n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "MiB"
	case n != 0 && n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "KiB"
	default:
		return strconv.FormatInt(n, 10)
	}
}

func (s *size) Set(v string) error {
	n, err := rules.ParseSize(v)
	if err != nil {
		return err
	}
	*s = size(n)
	return nil
}

// limitedSize is a size flag of at most max, whose error says why: the
// limit as written, and the reason.
type limitedSize struct {
	p     *size
	max   int64
	limit string
}

func (l limitedSize) String() string {
	if l.p == nil { // the flag package's zero value
		return "0"
	}
	return l.p.String()
}

func (l limitedSize) Set(v string) error {
	var s size
	if err := s.Set(v); err != nil {
		return err
	}
	if int64(s) > l.max {
		return fmt.Errorf("%s is over the limit of %s", strings.TrimSpace(v), l.limit)
	}
	*l.p = s
	return nil
}

// duration is a time.Duration flag whose error says what it wants (the
// flag package's says "parse error").
type duration time.Duration

func (d *duration) String() string { return time.Duration(*d).String() }

func (d *duration) Set(v string) error {
	t, err := time.ParseDuration(v)
	if err != nil {
		return fmt.Errorf("want a duration such as 24h, 30m or 90s")
	}
	*d = duration(t)
	return nil
}

// stringList is a repeatable string flag.
type stringList []string

// secretHeaders returns the header names in $HOOKLAB_SECRET_HEADERS
// (comma-separated): more headers whose values are redacted.
func secretHeaders(getenv func(string) string) stringList {
	var out stringList
	for _, n := range strings.Split(getenv("HOOKLAB_SECRET_HEADERS"), ",") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// secretHeadersFile, in the data directory, names every header a server
// of it was told to redact (--secret-header), one a line: a local export
// or replay, with no server to ask, redacts them too.
const secretHeadersFile = "secret-headers"

// storedSecretHeaders returns the names in dir's secretHeadersFile.
func storedSecretHeaders(dir string) []string {
	if dir == "" {
		return nil
	}
	b, err := os.ReadFile(filepath.Join(dir, secretHeadersFile))
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range strings.Split(string(b), "\n") {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out
}

// rememberSecretHeaders adds names to dir's secretHeadersFile (a name once
// secret stays so: the exchanges stored with it are still there) and
// returns names with those the file held before, which stay secret even
// when writing the file fails.
func rememberSecretHeaders(dir string, names []string) ([]string, error) {
	old := storedSecretHeaders(dir)
	all := slices.Clone(old)
	for _, n := range names {
		if !slices.ContainsFunc(all, func(o string) bool { return strings.EqualFold(o, n) }) {
			all = append(all, n)
		}
	}
	if len(all) == len(old) {
		return all, nil
	}
	tmp, err := os.CreateTemp(dir, ".secret-headers-*")
	if err != nil {
		return all, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(strings.Join(all, "\n") + "\n"); err != nil {
		tmp.Close()
		return all, err
	}
	if err := tmp.Close(); err != nil {
		return all, err
	}
	return all, os.Rename(tmp.Name(), filepath.Join(dir, secretHeadersFile))
}

func (l *stringList) String() string     { return strings.Join(*l, ",") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }
