// Command bench runs hooklab's end-to-end benchmarks. Each one drives a bare
// baseline and hooklab with the same load in the same run, on this machine,
// and checks the figures against the targets of the issues:
//
//	go run ./bench capture [flags]   capture endpoint vs a bare net/http handler
//	go run ./bench capture -h        its flags
//
// Every server runs as a child process on 127.0.0.1 ephemeral ports, in its
// own process group, so that its memory can be read from /proc: the bare
// baseline is this binary re-executed as "bare-server", hooklab is built
// from the module root once per run (or taken from --hooklab PATH; "self"
// runs this binary's stand-in "serve", to test the harness without
// hooklab). Children announce their URLs with startup lines such as
// "capture: http://127.0.0.1:PORT/", and are stopped on exit and on Ctrl-C.
//
// Load comes from wrk when it is on PATH, else from a built-in Go generator
// (--load wrk|go): 1 KiB JSON POSTs over 32 keep-alive connections. The
// machine is noisy, so targets are measured in --rounds rounds in
// alternating order, each ratio pairs runs of the same round, and medians
// are reported, with the load average at start and end.
//
// A new benchmark (emit, proxy, replay, soak) is a function in its own file
// registered in commands(): it uses setup for the temp dir, generator and
// hooklab binary, StartServer (or bench.startBare, bench.startHooklab) for
// its children, runRounds for warm-up and rounds, and Report for the table,
// the JSON (--json) and the PASS/FAIL checks.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"syscall"
)

// command is one subcommand of bench.
type command struct {
	name    string
	summary string // empty hides it from help
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"capture", "capture endpoint vs a bare net/http handler, with and without a websocket reader, and memory after 200k captures", runCapture},
		{"proxy", "recording proxy vs direct and a bare httputil.ReverseProxy (64 idle conns per host), and memory over 200k proxied exchanges", runProxy},
		{"soak", "capture, reverse proxy, emitter to a flaky sink and five websocket clients (one slow) for --duration; lost or duplicated captures, final invocations, RSS flat, p99", runSoak},
		{"emit", "emitter (signed, templated webhook) vs a bare http.Client loop over 20,000 invocations, and memory with 100,000 pending", runEmit},
		{"replay", "replay engine (diffing included) vs a bare http.Client loop over 20,000 recorded exchanges at concurrency 32", runReplay},
		// Internal: the children the benches start, this binary re-executed.
		{"bare-server", "", runBareServer},
		{"serve", "", runStandIn},
		{"bare-proxy", "", runBareProxy},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	case errors.Is(err, context.Canceled):
		fmt.Fprintln(os.Stderr, "bench: interrupted")
		os.Exit(130)
	default:
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// run dispatches to the subcommand named by args[0].
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(stderr)
		if len(args) == 0 {
			return flag.ErrHelp
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, args[1:], stdout, stderr)
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: go run ./bench COMMAND [flags]   (COMMAND -h for its flags)")
	fmt.Fprintln(w)
	for _, c := range commands() {
		if c.summary != "" {
			fmt.Fprintf(w, "  %-10s %s\n", c.name, c.summary)
		}
	}
}

// jsonBody returns a webhook-like JSON object of exactly size bytes (at
// least 64), padded in a string field. The same bytes go to every target.
func jsonBody(size int) []byte {
	const (
		head = `{"type":"order.created","id":"evt_01HZX4T9","created":1718000000,` +
			`"data":{"order":{"id":"ord_42","currency":"EUR","amount":1999,` +
			`"items":[{"sku":"A-1","qty":1},{"sku":"B-2","qty":3}]}},"note":"`
		tail  = `"}`
		short = `{"type":"bench","note":"`
		pad   = "the quick brown fox jumps over the lazy dog 0123456789 "
	)
	h := head
	if size < len(head)+len(tail) {
		h = short
	}
	n := max(size-len(h)-len(tail), 0)
	b := make([]byte, 0, size)
	b = append(b, h...)
	for i := 0; i < n; i++ {
		b = append(b, pad[i%len(pad)])
	}
	return append(b, tail...)
}

// machine describes where the figures were measured.
func machine() string {
	return fmt.Sprintf("%d CPUs, %s/%s, bench built with %s", runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version())
}
