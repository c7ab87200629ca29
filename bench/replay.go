package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/inspect/har"
	"github.com/hooklab/hooklab/replay"
)

// Targets of issue 6 for replay.
const replayMinRatio = 0.7 // replay's req/s over the bare client loop's, diffing included

// replayFlags are the flags of "bench replay".
type replayFlags struct {
	exchanges   int
	concurrency int
	rounds      int
	bodySize    int
	record      bool
	json        bool
	strict      bool
	keep        bool
}

// runReplay is "bench replay": the same recorded exchanges (N JSON POSTs,
// written to a HAR file and read back, as "hooklab replay --har" reads
// them) sent to a local target (the bare server, a child process) by a
// bare http.Client loop with --concurrency workers, and by hooklab's replay
// engine at the same concurrency, each response diffed against the
// recorded one. Both run in this process, in alternating order, --rounds
// times; the ratio is of req/s in the same round.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f replayFlags
	fs := flag.NewFlagSet("replay", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench replay [flags]\n\n"+
			"Replays --exchanges recorded JSON POSTs to a local target with hooklab's replay\n"+
			"engine (diffing every response) and with a bare http.Client loop, at the same\n"+
			"concurrency, in the same run, and checks the target of issue 6.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&f.exchanges, "exchanges", 20000, "recorded exchanges replayed in each run")
	fs.IntVar(&f.concurrency, "concurrency", 32, "requests in flight (replay --concurrency, and the bare loop's workers)")
	fs.IntVar(&f.rounds, "rounds", 3, "measured runs of each, in alternating order; medians are reported")
	fs.IntVar(&f.bodySize, "body-size", 1024, "size in bytes of each recorded JSON body")
	fs.BoolVar(&f.record, "record", false, "also record every replay in an in-memory store, as a server's POST /api/replay does")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON instead of a table")
	fs.BoolVar(&f.strict, "strict", false, "exit non-zero when a target fails")
	fs.BoolVar(&f.keep, "keep", false, "keep the temp dir (HAR fixture, child log) and print its path")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("replay: unexpected arguments %q", fs.Args())
	case f.exchanges < 1, f.concurrency < 1, f.rounds < 1:
		return errors.New("replay: --exchanges, --concurrency and --rounds must be at least 1")
	case f.bodySize < 64:
		return errors.New("replay: --body-size must be at least 64")
	}

	dir, err := os.MkdirTemp("", "hooklab-bench-")
	if err != nil {
		return err
	}
	b := &bench{c: &common{rounds: f.rounds, connections: f.concurrency, keep: f.keep}, dir: dir, progress: stderr}
	defer func() {
		for i := len(b.servers) - 1; i >= 0; i-- {
			b.servers[i].Stop()
		}
		if f.keep {
			fmt.Fprintf(stderr, "kept %s\n", dir)
		} else {
			os.RemoveAll(dir)
		}
	}()
	if b.self, err = os.Executable(); err != nil {
		return err
	}
	tg, err := b.startBare(ctx, "target")
	if err != nil {
		return err
	}
	target := strings.TrimSuffix(tg.URLs["bare"], "/")
	b.logf("target (pid %d) at %s", tg.PID(), target)

	fixture := filepath.Join(dir, "fixture.har")
	if err := writeReplayFixture(fixture, f.exchanges, f.bodySize); err != nil {
		return err
	}
	fh, err := os.Open(fixture)
	if err != nil {
		return err
	}
	exs, err := replay.ReadHAR(fh)
	fh.Close()
	if err != nil {
		return err
	}
	st, _ := os.Stat(fixture)
	b.logf("fixture: %s exchanges, %s", thousands(float64(len(exs))), mb(st.Size()))

	r := &Report{
		Bench:       "replay",
		Command:     "go run ./bench " + strings.Join(append([]string{"replay"}, args...), " "),
		Machine:     machine(),
		LoadAvg:     []string{loadAvg()},
		Load:        "in process: replay.Run vs an http.Client loop",
		Connections: f.concurrency,
		Request:     fmt.Sprintf("%s recorded POSTs with %d-byte JSON bodies per run", thousands(float64(len(exs))), f.bodySize),
		Rounds:      f.rounds,
		Baseline:    "bare-client",
	}
	runners := []struct {
		name string
		run  func() (Result, error)
	}{
		{"bare-client", func() (Result, error) { return bareReplayLoop(ctx, exs, target, f.concurrency) }},
		{"hooklab", func() (Result, error) {
			res, rep, err := measureReplay(ctx, exs, target, f.concurrency, f.record)
			if err == nil && rep.Summary.Same != len(exs) {
				err = fmt.Errorf("replay diffed %s: want every response the same", rep.Summary)
			}
			return res, err
		}},
	}
	// Warm up both (connections, code paths) on a slice of the fixture.
	warm := exs[:min(len(exs), 2000)]
	if _, err := bareReplayLoop(ctx, warm, target, f.concurrency); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	if _, _, err := measureReplay(ctx, warm, target, f.concurrency, false); err != nil {
		return fmt.Errorf("warm-up: %w", err)
	}
	for round := 1; round <= f.rounds; round++ {
		order := runners
		if round%2 == 0 {
			order = reversed(runners)
		}
		for _, ru := range order {
			res, err := ru.run()
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round, ru.name, errors.Join(err, tg.Check()))
			}
			r.addRun(ru.name, round, res)
			b.logf("round %d/%d %-11s %8s req/s  p50 %s  p99 %s  non-2xx %d  errors %d",
				round, f.rounds, ru.name, thousands(res.RPS), fmtMs(ms(res.P50)), fmtMs(ms(res.P99)), res.Non2xx, res.Errors)
		}
	}
	r.summarize()
	r.finish()
	if f.record {
		r.Notes = append(r.Notes, "hooklab recorded every replay in an in-memory store")
	}
	ratio := r.pairRatio("hooklab", "bare-client")
	r.checkAtLeast(fmt.Sprintf("hooklab replay/bare client req/s ≥ %.1f (diffing included)", replayMinRatio), ratio, replayMinRatio, fmt.Sprintf("%.2f", ratio))
	for _, row := range r.Rows {
		r.checkAtMost(row.Name+" answered every request 2xx", float64(row.Non2xx+row.Errors), 0,
			fmt.Sprintf("%d non-2xx, %d errors", row.Non2xx, row.Errors))
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
		return errors.New("replay: targets failed")
	}
	return nil
}

// writeReplayFixture writes n recorded exchanges as HAR: JSON POSTs to 50
// webhook paths, each answered as the bare target answers.
func writeReplayFixture(path string, n, bodySize int) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	w := har.NewWriter(fh, har.Options{})
	body := jsonBody(bodySize)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var ids inspect.IDs
	for i := range n {
		at := t0.Add(time.Duration(i) * time.Millisecond)
		ex := &inspect.Exchange{
			ID: ids.New(at), Bin: "default", Source: inspect.SourceCapture, Time: at,
			Request: inspect.Request{
				Method: http.MethodPost, URL: fmt.Sprintf("http://127.0.0.1:8080/webhook/%d", i%50), Proto: "HTTP/1.1",
				Headers: inspect.Headers{{Name: "Content-Type", Value: "application/json"}, {Name: "X-Event-Id", Value: fmt.Sprintf("evt_%06d", i)}},
				Body:    body, Size: int64(len(body)),
			},
			Response: &inspect.Response{Status: 200, Headers: inspect.Headers{{Name: "Content-Type", Value: "application/json"}}, Body: []byte(`{"ok":true}`), Size: 11},
		}
		if err := w.Write(ex); err != nil {
			fh.Close()
			return err
		}
	}
	if err := w.Close(); err != nil {
		fh.Close()
		return err
	}
	return fh.Close()
}

// measureReplay replays exs to target with hooklab's engine.
func measureReplay(ctx context.Context, exs []*inspect.Exchange, target string, concurrency int, record bool) (Result, *replay.Report, error) {
	opts := replay.Options{Target: target, Concurrency: concurrency, Transport: replay.NewTransport(false)}
	if record {
		store, err := inspect.OpenSQLite("", inspect.Options{Memory: true})
		if err != nil {
			return Result{}, nil, err
		}
		defer store.Close()
		opts.Record = store.Add
	}
	start := time.Now()
	rep, err := replay.Run(ctx, exs, opts)
	elapsed := time.Since(start)
	if err != nil {
		return Result{}, nil, err
	}
	res := Result{Elapsed: elapsed}
	lat := make([]time.Duration, 0, len(rep.Results))
	for _, rr := range rep.Results {
		if rr.Outcome == replay.Failed {
			res.Errors++
			continue
		}
		res.Requests++
		if rr.Status < 200 || rr.Status >= 400 {
			res.Non2xx++
		}
		lat = append(lat, time.Duration(rr.DurationMS*float64(time.Millisecond)))
	}
	finishResult(&res, lat)
	return res, rep, nil
}

// bareReplayLoop sends the same requests as the replay would (method,
// target URL, recorded headers and body), from concurrency workers over one
// http.Client, reading each answer whole; nothing else.
func bareReplayLoop(ctx context.Context, exs []*inspect.Exchange, target string, concurrency int) (Result, error) {
	client := &http.Client{Transport: replay.NewTransport(false)}
	var next atomic.Int64
	var mu sync.Mutex
	res := Result{}
	lat := make([]time.Duration, 0, len(exs))
	start := time.Now()
	var wg sync.WaitGroup
	for range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			var reqs, non2xx, errs int64
			for {
				i := int(next.Add(1)) - 1
				if i >= len(exs) || ctx.Err() != nil {
					break
				}
				ex := exs[i]
				path := ex.Request.URL[strings.Index(ex.Request.URL[len("http://"):], "/")+len("http://"):]
				req, err := http.NewRequestWithContext(ctx, ex.Request.Method, target+path, bytes.NewReader(ex.Request.Body))
				if err != nil {
					errs++
					continue
				}
				for _, h := range ex.Request.Headers {
					req.Header.Add(h.Name, h.Value)
				}
				t := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					errs++
					continue
				}
				_, err = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil {
					errs++
					continue
				}
				mine = append(mine, time.Since(t))
				reqs++
				if resp.StatusCode < 200 || resp.StatusCode >= 400 {
					non2xx++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			res.Requests += reqs
			res.Non2xx += non2xx
			res.Errors += errs
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	finishResult(&res, lat)
	return res, nil
}

// finishResult fills the rate and percentiles from the latencies.
func finishResult(res *Result, lat []time.Duration) {
	slices.Sort(lat)
	if res.Elapsed > 0 {
		res.RPS = float64(res.Requests) / res.Elapsed.Seconds()
	}
	res.P50, res.P99 = percentile(lat, 0.50), percentile(lat, 0.99)
}
