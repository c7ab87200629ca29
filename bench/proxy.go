package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Targets of issue 5 for the recording proxy.
const (
	proxyMinRatio     = 0.8                  // hooklab's req/s over the tuned bare ReverseProxy's
	proxyMaxAddedP99  = 2 * time.Millisecond // hooklab's p99 over the bare ReverseProxy's
	proxyMaxRSSGrowth = 0.10                 // VmRSS growth over the second half of the memory run
	bareProxyIdle     = 64                   // idle connections per host of the bare ReverseProxy
)

// proxyFlags are the flags of "bench proxy".
type proxyFlags struct {
	common
	rssRequests int
	rssSettle   time.Duration
}

// runProxy is "bench proxy": the same load directly against an upstream,
// through a bare httputil.ReverseProxy whose Transport keeps 64 idle
// connections per host, and through hooklab's recording proxy (the real
// binary with --proxy), then hooklab's memory over a fixed number of
// proxied exchanges.
func runProxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f proxyFlags
	fs := flag.NewFlagSet("proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench proxy [flags]\n\n"+
			"Drives the bare upstream directly, a bare httputil.ReverseProxy in front of it\n"+
			"(Transport with %d idle connections per host) and hooklab --proxy in front of it,\n"+
			"with the same load (POST of a JSON body over keep-alive connections) in the same\n"+
			"run, then hooklab's memory over --rss-requests proxied exchanges, and checks the\n"+
			"targets of issue 5.\n\nflags:\n", bareProxyIdle)
		fs.PrintDefaults()
	}
	f.register(fs)
	fs.IntVar(&f.rssRequests, "rss-requests", 200000, "proxied exchanges in the memory run (RSS read after each quarter); 0 skips it")
	fs.DurationVar(&f.rssSettle, "rss-settle", time.Second, "pause after each quarter of the memory run before reading memory")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("proxy: unexpected arguments %q", fs.Args())
	}
	if err := f.validate(); err != nil {
		return err
	}
	if f.hooklab == "self" {
		return errors.New("proxy: the stand-in has no --proxy; build hooklab (default) or pass --hooklab PATH")
	}

	b, cleanup, err := setup(ctx, &f.common, stderr)
	defer cleanup()
	if err != nil {
		return err
	}
	r := &Report{
		Bench:       "proxy",
		Command:     "go run ./bench " + strings.Join(append([]string{"proxy"}, args...), " "),
		Machine:     machine(),
		LoadAvg:     []string{loadAvg()},
		Load:        b.gen.Name(),
		Connections: f.connections,
		Request:     fmt.Sprintf("POST %s with a %d-byte JSON body", f.path, f.bodySize),
		DurationS:   f.duration.Seconds(),
		WarmupS:     f.warmup.Seconds(),
		Rounds:      f.rounds,
		Baseline:    "direct",
	}
	if b.gen.Name() == "wrk" {
		r.Load = fmt.Sprintf("wrk (%d threads)", min(f.threads, f.connections))
	}

	up, err := b.startBare(ctx, "upstream")
	if err != nil {
		return err
	}
	upstream := up.URLs["bare"]
	bp, err := b.startBareProxy(ctx, "bare-proxy", upstream)
	if err != nil {
		return err
	}
	hl, err := b.startHooklabProxy(ctx, "hooklab", upstream)
	if err != nil {
		return err
	}
	targets := []target{
		{name: "direct", srv: up, url: upstream},
		{name: "bare-proxy", srv: bp, url: bp.URLs["bare-proxy"]},
		{name: "hooklab", srv: hl, url: hl.URLs["proxy"]},
	}
	for _, t := range targets {
		b.logf("%s (pid %d) at %s", t.name, t.srv.PID(), t.url)
	}
	if err := b.runRounds(ctx, r, targets); err != nil {
		return err
	}
	hl.Stop()
	bp.Stop()

	var quarters []int64
	if f.rssRequests > 0 {
		m, q, err := b.proxyMemoryRun(ctx, upstream, f.rssRequests, f.rssSettle)
		if err != nil {
			return err
		}
		r.Memory, quarters = m, q
		parts := make([]string, len(q))
		for i, v := range q {
			parts[i] = fmt.Sprintf("%s after %s", mb(v), thousands(float64(f.rssRequests*(i+1)/4)))
		}
		r.Notes = append(r.Notes, "hooklab VmRSS over the memory run: "+strings.Join(parts, ", "))
	}
	up.Stop()

	r.finish()
	ratio := r.pairRatio("hooklab", "bare-proxy")
	r.checkAtLeast(fmt.Sprintf("hooklab/bare-proxy req/s ≥ %.1f", proxyMinRatio), ratio, proxyMinRatio, fmt.Sprintf("%.2f", ratio))
	added := pairP99Diff(r, "hooklab", "bare-proxy")
	r.checkAtMost(fmt.Sprintf("hooklab p99 − bare-proxy p99 ≤ %v", proxyMaxAddedP99), added, ms(proxyMaxAddedP99), fmtMs(added))
	if len(quarters) == 4 && quarters[1] > 0 {
		growth := float64(quarters[3]-quarters[1]) / float64(quarters[1])
		r.checkAtMost(fmt.Sprintf("hooklab VmRSS flat: growth from %s to %s exchanges ≤ %.0f%%",
			thousands(float64(f.rssRequests/2)), thousands(float64(f.rssRequests)), proxyMaxRSSGrowth*100),
			growth, proxyMaxRSSGrowth, fmt.Sprintf("%+.1f%% (%s → %s)", growth*100, mb(quarters[1]), mb(quarters[3])))
	}
	for _, row := range r.Rows {
		r.checkAtMost(row.Name+" answered every request 2xx", float64(row.Non2xx+row.Errors), 0,
			fmt.Sprintf("%d non-2xx, %d errors", row.Non2xx, row.Errors))
	}
	if m := r.Memory; m != nil {
		r.checkAtMost("memory run answered every request 2xx", float64(m.Non2xx+m.Errors), 0,
			fmt.Sprintf("%d non-2xx, %d errors", m.Non2xx, m.Errors))
	}

	if f.json {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	if f.strict && r.Failed() {
		return errors.New("proxy: targets failed")
	}
	return nil
}

// pairP99Diff returns the median over rounds of a's p99 minus b's in the
// same round, in milliseconds.
func pairP99Diff(r *Report, a, b string) float64 {
	ra, rb := r.row(a), r.row(b)
	if ra == nil || rb == nil {
		return 0
	}
	bp99 := map[int]float64{}
	for _, rr := range rb.RoundsRun {
		bp99[rr.Round] = rr.P99Ms
	}
	var diffs []float64
	for _, rr := range ra.RoundsRun {
		if v, ok := bp99[rr.Round]; ok {
			diffs = append(diffs, rr.P99Ms-v)
		}
	}
	return median(diffs)
}

// startBareProxy starts the bare ReverseProxy baseline (this binary,
// re-executed) in front of upstream.
func (b *bench) startBareProxy(ctx context.Context, name, upstream string) (*Server, error) {
	s, err := StartServer(ctx, ServerSpec{
		Name:    name,
		Path:    b.self,
		Args:    []string{"bare-proxy", "--addr", "127.0.0.1:0", "--upstream", upstream},
		Dir:     b.dir,
		LogPath: filepath.Join(b.dir, name+".log"),
		Want:    []string{"bare-proxy"},
	})
	if err != nil {
		return nil, err
	}
	b.servers = append(b.servers, s)
	return s, nil
}

// startHooklabProxy starts "hooklab serve --proxy 127.0.0.1:0=UPSTREAM"
// with its own data dir (exchanges are recorded to disk, as by default).
func (b *bench) startHooklabProxy(ctx context.Context, name, upstream string) (*Server, error) {
	data := filepath.Join(b.dir, "data-"+name)
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	args := []string{"serve", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--data", data,
		"--proxy", "127.0.0.1:0=" + strings.TrimSuffix(upstream, "/")}
	if b.c.config != "" {
		cfg, err := filepath.Abs(b.c.config)
		if err != nil {
			return nil, err
		}
		args = append(args, "--config", cfg)
	}
	args = append(args, b.c.hooklabArgs...)
	s, err := StartServer(ctx, ServerSpec{
		Name:    name,
		Path:    b.hooklab,
		Args:    args,
		Dir:     b.dir,
		LogPath: filepath.Join(b.dir, name+".log"),
		Want:    []string{"capture", "ui", "proxy"},
	})
	if err != nil {
		return nil, err
	}
	b.servers = append(b.servers, s)
	return s, nil
}

// proxyMemoryRun starts a fresh hooklab proxy, sends n requests through it
// in four quarters with the Go generator (which stops at an exact count),
// and reads its memory after each quarter (after settle).
func (b *bench) proxyMemoryRun(ctx context.Context, upstream string, n int, settle time.Duration) (*MemRun, []int64, error) {
	srv, err := b.startHooklabProxy(ctx, "hooklab-mem", upstream)
	if err != nil {
		return nil, nil, err
	}
	defer srv.Stop()
	m0, err := srv.Mem()
	if err != nil {
		return nil, nil, err
	}
	b.logf("memory: %s requests through a fresh hooklab proxy (pid %d)", thousands(float64(n)), srv.PID())
	mr := &MemRun{Target: "hooklab", Requests: n, Load: "go", StartRSS: m0.RSS, SettleMillis: settle.Milliseconds()}
	var rss []int64
	var p50s []float64
	var elapsed time.Duration
	for q := range 4 {
		s := b.spec(srv.URLs["proxy"], 0)
		s.Requests = n*(q+1)/4 - n*q/4
		res, err := goLoad{}.Run(ctx, s)
		if err != nil {
			return nil, nil, fmt.Errorf("memory run: %w", errors.Join(err, srv.Check()))
		}
		mr.Non2xx += res.Non2xx
		mr.Errors += res.Errors
		mr.QuarterRPS = append(mr.QuarterRPS, res.RPS)
		p50s = append(p50s, ms(res.P50))
		mr.P99Ms = max(mr.P99Ms, ms(res.P99)) // the worst quarter's
		mr.MaxMs = max(mr.MaxMs, ms(res.Max))
		elapsed += res.Elapsed
		select {
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		case <-time.After(settle):
		}
		if err := srv.Check(); err != nil {
			return nil, nil, err
		}
		m, err := srv.Mem()
		if err != nil {
			return nil, nil, err
		}
		rss = append(rss, m.RSS)
		mr.RSS, mr.PeakRSS = m.RSS, m.Peak
		b.logf("memory: VmRSS %s after %s requests (%s req/s)", mb(m.RSS), thousands(float64(n*(q+1)/4)), thousands(res.RPS))
	}
	if elapsed > 0 {
		mr.RPS = float64(n) / elapsed.Seconds()
	}
	mr.P50Ms = median(p50s)
	mr.BytesPerReq = float64(mr.RSS-m0.RSS) / float64(n)
	return mr, rss, nil
}

// runBareProxy serves a bare httputil.ReverseProxy to --upstream on
// --addr, its Transport keeping --idle idle connections per host, and
// prints "bare-proxy: URL" once it listens, until ctx is cancelled.
func runBareProxy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bare-proxy", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	upstream := fs.String("upstream", "", "upstream URL")
	idle := fs.Int("idle", bareProxyIdle, "idle connections per host kept by the Transport")
	if err := fs.Parse(args); err != nil {
		return err
	}
	u, err := url.Parse(*upstream)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bare-proxy: --upstream %q: want a URL", *upstream)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = *idle
	tr.MaxIdleConns = max(tr.MaxIdleConns, *idle)
	rp := &httputil.ReverseProxy{
		Rewrite:   func(pr *httputil.ProxyRequest) { pr.SetURL(u); pr.SetXForwarded() },
		Transport: tr,
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bare-proxy: http://%s/\n", ln.Addr())
	return serveUntil(ctx, ln, rp)
}
