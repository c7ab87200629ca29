package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Targets of issue 8 for the soak.
const (
	soakMaxGrowth = 1.2 // RSS and threads at the end, over their value after warm-up
)

type soakFlags struct {
	hooklab     string
	rev         string
	duration    time.Duration
	warmup      time.Duration
	captureRate int
	proxyRate   int
	eventRate   int
	flaky       float64
	keep        bool
	json        bool
	strict      bool
}

// soakResult is what the soak measured; --json prints it.
type soakResult struct {
	Command  string   `json:"command"`
	Machine  string   `json:"machine"`
	LoadAvg  []string `json:"loadavg"`
	Duration float64  `json:"duration_s"`
	WarmupS  float64  `json:"warmup_s"`

	CapturesSent     int64            `json:"captures_sent"`
	CapturesAcked    int64            `json:"captures_acked"`
	CapturesLost     int64            `json:"captures_lost"`
	CapturesStored   int64            `json:"captures_stored"`
	CapturesDup      int64            `json:"captures_duplicated"`
	CaptureErrors    int64            `json:"capture_errors"`
	CaptureP50Ms     float64          `json:"capture_p50_ms"`
	CaptureP99Ms     float64          `json:"capture_p99_ms"`
	CaptureMaxMs     float64          `json:"capture_max_ms"`
	ProxySent        int64            `json:"proxy_sent"`
	ProxyOK          int64            `json:"proxy_ok"`
	ProxyP99Ms       float64          `json:"proxy_p99_ms"`
	EventsAcked      int64            `json:"events_acked"`
	Invocations      int64            `json:"invocations"`
	InvocationsFinal bool             `json:"invocations_final"`
	EmitStats        map[string]int64 `json:"emit_by_status"`
	SinkDistinct     int64            `json:"sink_distinct"`
	SinkUndelivered  int64            `json:"sink_undelivered"`
	Sink503          int64            `json:"sink_503"`

	// The *AfterWarmup and *End figures are medians of the 5 s samples
	// over the minute after warm-up and the last minute of load.
	RSSAfterWarmup     int64 `json:"rss_after_warmup"`
	RSSEnd             int64 `json:"rss_end"`
	RSSMax             int64 `json:"rss_max"`
	ThreadsAfterWarmup int64 `json:"threads_after_warmup"`
	ThreadsEnd         int64 `json:"threads_end"`
	FDsAfterWarmup     int64 `json:"fds_after_warmup"`
	FDsEnd             int64 `json:"fds_end"`
	// Goroutines as /healthz reports them.
	GoroutinesAfterWarmup int64 `json:"goroutines_after_warmup"`
	GoroutinesEnd         int64 `json:"goroutines_end"`
	// RSSByMinute is the RSS sampled at the end of each minute of load.
	RSSByMinute []int64 `json:"rss_by_minute"`

	WSMessages []int64 `json:"ws_messages"` // four normal clients, then the slow one
	SlowResync int64   `json:"slow_resyncs"`
	SlowDrops  int64   `json:"slow_reconnects"`

	Checks []Check  `json:"checks"`
	Notes  []string `json:"notes,omitempty"`
}

func runSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f soakFlags
	fs := flag.NewFlagSet("bench soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.hooklab, "hooklab", "", "hooklab binary to run; empty builds the module's main package")
	fs.StringVar(&f.rev, "rev", "", "build hooklab from this git revision instead of the work tree")
	fs.DurationVar(&f.duration, "duration", 10*time.Minute, "length of the soak, warm-up included")
	fs.DurationVar(&f.warmup, "warmup", 0, "warm-up before the baseline of RSS and threads is taken (default: a fifth of --duration, at most 1m)")
	fs.IntVar(&f.captureRate, "capture-rate", 200, "captures per second")
	fs.IntVar(&f.proxyRate, "proxy-rate", 100, "requests per second through the reverse proxy")
	fs.IntVar(&f.eventRate, "event-rate", 20, "events per second (each makes one invocation)")
	fs.Float64Var(&f.flaky, "flaky", 0.1, "share of deliveries the sink answers 503 with Retry-After: 1")
	fs.BoolVar(&f.keep, "keep", false, "keep the temp dir (binary, data, log)")
	fs.BoolVar(&f.json, "json", false, "print the result as JSON")
	fs.BoolVar(&f.strict, "strict", false, "exit non-zero when a check fails")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if f.warmup == 0 {
		f.warmup = min(f.duration/5, time.Minute)
	}
	if f.duration <= f.warmup || f.captureRate < 1 || f.proxyRate < 0 || f.eventRate < 0 {
		return errors.New("soak: want --duration above --warmup and positive rates")
	}
	b, cleanup, err := setup(ctx, &common{hooklab: f.hooklab, rev: f.rev, load: "go", keep: f.keep}, stderr)
	defer cleanup()
	if err != nil {
		return err
	}
	res := &soakResult{Command: "go run ./bench soak " + strings.Join(args, " "), Machine: machine(), LoadAvg: []string{loadAvg()},
		Duration: f.duration.Seconds(), WarmupS: f.warmup.Seconds()}

	// The flaky sink and the proxy's upstream live in this process.
	sink := &flakySink{rate: f.flaky, seen: map[string]int{}}
	sinkLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sinkSrv := &http.Server{Handler: sink}
	go sinkSrv.Serve(sinkLn)
	defer sinkSrv.Close()
	upLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	upSrv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q}`, r.URL.Path)
	})}
	go upSrv.Serve(upLn)
	defer upSrv.Close()

	cfg := filepath.Join(b.dir, "soak.yaml")
	conf := fmt.Sprintf(`webhooks:
  - id: flaky
    endpoint: http://%s/hook
    retry: {max_attempts: 50, retry_after_max: 5s}
    circuit_breaker: {disabled: true}
subscriptions:
  - webhook: flaky
    events: [soak.*]
`, sinkLn.Addr())
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		return err
	}
	data := filepath.Join(b.dir, "data")
	srv, err := StartServer(ctx, ServerSpec{
		Name: "hooklab", Path: b.hooklab, Dir: b.dir, LogPath: filepath.Join(b.dir, "hooklab.log"),
		Args: []string{"serve", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--data", data, "--config", cfg,
			"--retain-count", "0", "--proxy", "127.0.0.1:0=http://" + upLn.Addr().String()},
		Want: []string{"capture", "ui", "proxy"},
	})
	if err != nil {
		return err
	}
	b.servers = append(b.servers, srv)
	capURL, uiURL, proxyURL := strings.TrimSuffix(srv.URLs["capture"], "/"), strings.TrimSuffix(srv.URLs["ui"], "/"), strings.TrimSuffix(srv.URLs["proxy"], "/")
	b.logf("soak for %v (warm-up %v): %d captures/s, %d proxied/s, %d events/s, sink 503 %.0f%%", f.duration, f.warmup, f.captureRate, f.proxyRate, f.eventRate, f.flaky*100)

	// Five websocket clients; the last reads slowly.
	wsURL, origin, err := streamURL(uiURL+"/", "/api/stream")
	if err != nil {
		return err
	}
	var watchers []*streamWatcher
	for range 4 {
		w, err := watchStream(ctx, wsURL, origin)
		if err != nil {
			return err
		}
		watchers = append(watchers, w)
	}
	slow, err := watchSlow(ctx, wsURL, origin, 50*time.Millisecond)
	if err != nil {
		return err
	}

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64, MaxConnsPerHost: 64}}
	var (
		mu        sync.Mutex
		acked     = map[string]bool{}
		lat, plat []time.Duration
		invs      = map[string]bool{}
	)
	warmEnd := time.Now().Add(f.warmup)
	runCtx, stopLoad := context.WithTimeout(ctx, f.duration)
	defer stopLoad()
	var wg sync.WaitGroup
	var seq atomic.Int64
	pace(runCtx, &wg, f.captureRate, 32, func() {
		n := seq.Add(1)
		atomic.AddInt64(&res.CapturesSent, 1)
		start := time.Now()
		resp, err := client.Post(capURL+"/b/soak/c", "application/json", strings.NewReader(`{"seq":`+strconv.FormatInt(n, 10)+`}`))
		if err != nil {
			atomic.AddInt64(&res.CaptureErrors, 1)
			return
		}
		var a struct{ ID string }
		derr := json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		d := time.Since(start)
		if resp.StatusCode != http.StatusOK || derr != nil || a.ID == "" {
			atomic.AddInt64(&res.CaptureErrors, 1)
			return
		}
		mu.Lock()
		acked[a.ID] = true
		if start.After(warmEnd) {
			lat = append(lat, d)
		}
		mu.Unlock()
	})
	pace(runCtx, &wg, f.proxyRate, 16, func() {
		atomic.AddInt64(&res.ProxySent, 1)
		start := time.Now()
		resp, err := client.Get(proxyURL + "/items/" + strconv.FormatInt(seq.Add(1), 10))
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			atomic.AddInt64(&res.ProxyOK, 1)
			mu.Lock()
			plat = append(plat, time.Since(start))
			mu.Unlock()
		}
	})
	pace(runCtx, &wg, f.eventRate, 4, func() {
		body := `{"type":"soak.tick","data":{"n":` + strconv.FormatInt(seq.Add(1), 10) + `}}`
		req, _ := http.NewRequest(http.MethodPost, uiURL+"/api/events", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			return
		}
		var er struct {
			Invocations []struct{ ID string } `json:"invocations"`
		}
		derr := json.NewDecoder(resp.Body).Decode(&er)
		resp.Body.Close()
		if resp.StatusCode != http.StatusAccepted || derr != nil {
			return
		}
		atomic.AddInt64(&res.EventsAcked, 1)
		mu.Lock()
		for _, x := range er.Invocations {
			invs[x.ID] = true
		}
		mu.Unlock()
	})

	// Samples of RSS, threads and open files every 5 s.
	type sample struct {
		at                            time.Time
		rss, threads, fds, goroutines int64
	}
	var samples []sample
	take := func() {
		m, err := srv.Mem()
		if err != nil {
			return
		}
		th, fd := procCounts(srv.PID())
		var h struct {
			Goroutines int64 `json:"goroutines"`
		}
		_ = getJSON(client, uiURL+"/healthz", &h)
		samples = append(samples, sample{time.Now(), m.RSS, th, fd, h.Goroutines})
	}
	tick := time.NewTicker(5 * time.Second)
	warmTimer := time.NewTimer(f.warmup)
	progress := time.NewTicker(30 * time.Second)
	begun := time.Now()
loop:
	for {
		select {
		case <-runCtx.Done():
			break loop
		case <-warmTimer.C:
			take()
		case <-tick.C:
			take()
		case <-progress.C:
			mu.Lock()
			b.logf("%v: %d captures acknowledged, %d invocations queued, RSS %s", time.Since(begun).Round(time.Second), len(acked), len(invs), mb(samples[len(samples)-1].rss))
			mu.Unlock()
		}
	}
	tick.Stop()
	progress.Stop()
	wg.Wait()
	if ctx.Err() != nil {
		return ctx.Err()
	}
	take()
	loadEnd := time.Now()
	// One sample swings with the load's idle keep-alive connections (each
	// a file and a goroutine or two, closed after two idle minutes), so
	// "flat" compares medians of the 5 s samples: the minute after
	// warm-up against the last minute of load.
	window := func(from, to time.Time) (rss, threads, fds, goroutines int64, n int) {
		var r, t, f, g []int64
		for _, x := range samples {
			if !x.at.Before(from) && !x.at.After(to) {
				r, t, f, g = append(r, x.rss), append(t, x.threads), append(f, x.fds), append(g, x.goroutines)
			}
		}
		return medianInt(r), medianInt(t), medianInt(f), medianInt(g), len(r)
	}
	var nWarm, nEnd int
	if d := loadEnd.Sub(begun.Add(f.warmup)); d > 0 {
		w := min(time.Minute, d/2)
		res.RSSAfterWarmup, res.ThreadsAfterWarmup, res.FDsAfterWarmup, res.GoroutinesAfterWarmup, nWarm = window(begun.Add(f.warmup), begun.Add(f.warmup+w))
		res.RSSEnd, res.ThreadsEnd, res.FDsEnd, res.GoroutinesEnd, nEnd = window(loadEnd.Add(-w), loadEnd)
	}
	// Medians of too few samples prove nothing (a short soak): the flat
	// checks fail rather than pass on zeros.
	enough := nWarm >= 3 && nEnd >= 3
	minute := begun.Add(time.Minute)
	for _, s := range samples {
		res.RSSMax = max(res.RSSMax, s.rss)
		if !s.at.Before(minute) {
			res.RSSByMinute = append(res.RSSByMinute, s.rss)
			minute = minute.Add(time.Minute)
		}
	}

	// Let the emitter finish: every invocation in a final state.
	b.logf("load stopped; waiting for the emitter to finish")
	var stats struct {
		ByStatus map[string]int64 `json:"by_status"`
		Queued   int64            `json:"queued"`
		InFlight int64            `json:"in_flight"`
	}
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		// A fresh value each poll: decoding into the last one would keep
		// its by_status keys that this answer no longer has.
		stats.ByStatus = nil
		if err := getJSON(client, uiURL+"/api/emit/stats", &stats); err == nil && stats.Queued == 0 && stats.InFlight == 0 {
			res.InvocationsFinal = true
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	res.EmitStats = stats.ByStatus

	// Captures: every acknowledged one stored, none twice.
	for id := range acked {
		resp, err := client.Get(uiURL + "/api/exchanges/" + id)
		if err != nil {
			return err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			res.CapturesLost++
		}
	}
	var bins struct {
		Bins []struct {
			Name  string `json:"name"`
			Count int64  `json:"count"`
		} `json:"bins"`
	}
	if err := getJSON(client, uiURL+"/api/bins", &bins); err != nil {
		return err
	}
	for _, bn := range bins.Bins {
		if bn.Name == "soak" {
			res.CapturesStored = bn.Count
		}
	}
	res.CapturesAcked = int64(len(acked))
	res.CapturesDup = max(0, res.CapturesStored-res.CapturesSent)

	for i, w := range watchers {
		w.settle(ctx, 500*time.Millisecond, 5*time.Second)
		res.WSMessages = append(res.WSMessages, watchers[i].Stop().Messages)
	}
	ss := slow.Stop()
	res.WSMessages = append(res.WSMessages, ss.Messages)
	res.SlowResync, res.SlowDrops = ss.Resyncs, ss.Reconnects

	res.Invocations = int64(len(invs))
	sink.mu.Lock()
	res.SinkDistinct = int64(len(sink.seen))
	for id := range invs {
		if sink.seen[id] == 0 {
			res.SinkUndelivered++
		}
	}
	res.Sink503 = sink.failed
	sink.mu.Unlock()

	slices.Sort(lat)
	slices.Sort(plat)
	res.CaptureP50Ms, res.CaptureP99Ms = ms(percentile(lat, 0.50)), ms(percentile(lat, 0.99))
	if len(lat) > 0 {
		res.CaptureMaxMs = ms(lat[len(lat)-1])
	}
	res.ProxyP99Ms = ms(percentile(plat, 0.99))
	res.LoadAvg = append(res.LoadAvg, loadAvg())

	check := func(name string, pass bool, got string) {
		res.Checks = append(res.Checks, Check{Name: name, Got: got, Pass: pass})
	}
	check("no acknowledged capture lost", res.CapturesLost == 0, fmt.Sprintf("%d lost of %d acknowledged", res.CapturesLost, res.CapturesAcked))
	check("no capture duplicated", res.CapturesDup == 0 && res.CapturesStored >= res.CapturesAcked, fmt.Sprintf("%d stored, %d sent, %d acknowledged", res.CapturesStored, res.CapturesSent, res.CapturesAcked))
	check("every invocation final", res.InvocationsFinal && res.SinkUndelivered == 0, fmt.Sprintf("%d invocations, by status %v, %d never delivered", res.Invocations, res.EmitStats, res.SinkUndelivered))
	check("RSS flat after warm-up (±20%)", enough && float64(res.RSSEnd) <= soakMaxGrowth*float64(res.RSSAfterWarmup), fmt.Sprintf("%s after warm-up, %s at the end, %s max", mb(res.RSSAfterWarmup), mb(res.RSSEnd), mb(res.RSSMax)))
	check("threads flat after warm-up (±20%)", enough && float64(res.ThreadsEnd) <= soakMaxGrowth*float64(max(res.ThreadsAfterWarmup, 5)), fmt.Sprintf("%d after warm-up, %d at the end", res.ThreadsAfterWarmup, res.ThreadsEnd))
	check("goroutines flat after warm-up (±20%)", enough && float64(res.GoroutinesEnd) <= soakMaxGrowth*float64(max(res.GoroutinesAfterWarmup, 10)), fmt.Sprintf("%d after warm-up, %d at the end", res.GoroutinesAfterWarmup, res.GoroutinesEnd))
	check("open files flat after warm-up (±20%)", enough && float64(res.FDsEnd) <= soakMaxGrowth*float64(max(res.FDsAfterWarmup, 10)), fmt.Sprintf("%d after warm-up, %d at the end", res.FDsAfterWarmup, res.FDsEnd))
	fastMin := slices.Min(res.WSMessages[:4])
	check("slow websocket client resynced", res.SlowResync > 0 || res.SlowDrops > 0, fmt.Sprintf("%d resyncs, %d reconnects, %d messages", res.SlowResync, res.SlowDrops, ss.Messages))
	check("the other websocket clients kept up", fastMin > 0, fmt.Sprintf("messages %v", res.WSMessages[:4]))

	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
	} else {
		writeSoak(stdout, res)
	}
	for _, c := range res.Checks {
		if !c.Pass && f.strict {
			return errors.New("soak: a check failed")
		}
	}
	return nil
}

func writeSoak(w io.Writer, r *soakResult) {
	fmt.Fprintf(w, "%s\n%s; load average %s\n\n", r.Command, r.Machine, strings.Join(r.LoadAvg, " -> "))
	fmt.Fprintf(w, "captures   %d sent, %d acknowledged, %d stored, %d errors; latency after warm-up p50 %s p99 %s max %s\n",
		r.CapturesSent, r.CapturesAcked, r.CapturesStored, r.CaptureErrors, fmtMs(r.CaptureP50Ms), fmtMs(r.CaptureP99Ms), fmtMs(r.CaptureMaxMs))
	fmt.Fprintf(w, "proxy      %d sent, %d ok; p99 %s\n", r.ProxySent, r.ProxyOK, fmtMs(r.ProxyP99Ms))
	fmt.Fprintf(w, "emit       %d events, %d invocations, by status %v; sink saw %d distinct, answered 503 %d times\n", r.EventsAcked, r.Invocations, r.EmitStats, r.SinkDistinct, r.Sink503)
	fmt.Fprintf(w, "process    RSS %s after warm-up, %s at the end (max %s); goroutines %d -> %d; threads %d -> %d; open files %d -> %d\n",
		mb(r.RSSAfterWarmup), mb(r.RSSEnd), mb(r.RSSMax), r.GoroutinesAfterWarmup, r.GoroutinesEnd, r.ThreadsAfterWarmup, r.ThreadsEnd, r.FDsAfterWarmup, r.FDsEnd)
	if len(r.RSSByMinute) > 0 {
		by := make([]string, len(r.RSSByMinute))
		for i, v := range r.RSSByMinute {
			by[i] = mb(v)
		}
		fmt.Fprintf(w, "RSS by minute %s\n", strings.Join(by, " "))
	}
	fmt.Fprintf(w, "websocket  messages %v (the last is the slow client: %d resyncs, %d reconnects)\n\n", r.WSMessages, r.SlowResync, r.SlowDrops)
	for _, c := range r.Checks {
		v := "PASS"
		if !c.Pass {
			v = "FAIL"
		}
		fmt.Fprintf(w, "%s  %-40s %s\n", v, c.Name, c.Got)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// pace calls fn rate times a second from up to workers goroutines until
// ctx ends. Calls that find every worker busy are skipped, so a slow server
// shows as a lower rate, not as a queue in the bench.
func pace(ctx context.Context, wg *sync.WaitGroup, rate, workers int, fn func()) {
	if rate <= 0 {
		return
	}
	jobs := make(chan struct{}, workers)
	for range workers {
		wg.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-jobs:
					fn()
				}
			}
		})
	}
	wg.Go(func() {
		t := time.NewTicker(time.Second / time.Duration(rate))
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				select {
				case jobs <- struct{}{}:
				default:
				}
			}
		}
	})
}

func getJSON(c *http.Client, url string, v any) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// procCounts returns the threads and open file descriptors of pid.
func procCounts(pid int) (threads, fds int64) {
	if b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "Threads:"); ok {
				threads, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			}
		}
	}
	if es, err := os.ReadDir(filepath.Join("/proc", strconv.Itoa(pid), "fd")); err == nil {
		fds = int64(len(es))
	}
	return threads, fds
}

// flakySink answers a share of deliveries 503 with Retry-After: 1 and
// counts the others by invocation id.
type flakySink struct {
	rate   float64
	mu     sync.Mutex
	seen   map[string]int
	failed int64
}

func (s *flakySink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, r.Body)
	if rand.Float64() < s.rate {
		s.mu.Lock()
		s.failed++
		s.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	s.mu.Lock()
	s.seen[r.Header.Get("X-Hooklab-Invocation-Id")]++
	s.mu.Unlock()
}

// medianInt returns the median of xs (the upper one of an even count), or
// 0 for none.
func medianInt(xs []int64) int64 {
	if len(xs) == 0 {
		return 0
	}
	xs = slices.Clone(xs)
	slices.Sort(xs)
	return xs[len(xs)/2]
}
