package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Spec describes one load run: the same request sent over and over by
// Connections keep-alive connections, for Duration or, with the Go
// generator only, until Requests requests have been answered.
type Spec struct {
	Method      string
	URL         string
	Header      http.Header
	Body        []byte
	Connections int
	Threads     int           // wrk threads; zero means min(Connections, 2)
	Duration    time.Duration // wrk rounds it up to whole seconds
	Requests    int           // stop after this many (Go generator only); zero means use Duration
	Answered    *atomic.Int64 // if set, the Go generator adds one per answered request, for progress
	// Rate, when positive, makes the load open-loop (Go generator only):
	// requests are scheduled Rate a second for Duration, whatever the
	// answers, each sent on a free connection, and a latency counts from
	// the request's scheduled time, not from when a connection was free to
	// send it. A server that falls behind so shows its backlog as latency
	// (no coordinated omission); with a closed loop, the load itself slows
	// down and hides it.
	Rate float64
}

// Result is what a load run measured. Latencies are of answered requests
// (any status); failed ones count in Errors.
type Result struct {
	Requests int64 // answered requests, any status
	Non2xx   int64 // answered with a status outside 2xx and 3xx
	Errors   int64 // connect, read, write errors and timeouts
	Elapsed  time.Duration
	RPS      float64
	P50      time.Duration
	P99      time.Duration
	P999     time.Duration // the Go generator's only
	Max      time.Duration
	// Late counts the requests of an open-loop run (Spec.Rate) sent more
	// than a millisecond after their scheduled time: every connection was
	// busy, so the server (or this generator) kept up with less than Rate.
	Late int64
	// ServerCPU is the CPU (user and system) the server's process used
	// from the start of the run until it went idle after it, so that work
	// it defers (hooklab's text index) counts; 0 when not measured.
	ServerCPU time.Duration
}

// Generator runs load.
type Generator interface {
	Name() string
	Run(ctx context.Context, s Spec) (Result, error)
}

// newGenerator returns the generator called name ("wrk" or "go"); wrk
// writes its scripts to dir.
func newGenerator(name, dir string) (Generator, error) {
	switch name {
	case "go":
		return goLoad{}, nil
	case "wrk":
		path, err := exec.LookPath("wrk")
		if err != nil {
			return nil, errors.New("--load wrk: wrk is not on PATH (install it, or use --load go)")
		}
		return &wrkLoad{path: path, dir: dir}, nil
	default:
		return nil, fmt.Errorf("--load %q: want wrk or go", name)
	}
}

// defaultLoad is wrk when it is on PATH, else go.
func defaultLoad() string {
	if _, err := exec.LookPath("wrk"); err == nil {
		return "wrk"
	}
	return "go"
}

// goLoad is the built-in generator: one goroutine per connection, each
// sending its next request when the last is answered, over a Transport that
// keeps every connection alive.
type goLoad struct{}

func (goLoad) Name() string { return "go" }

// maxConsecutiveErrors stops a worker whose server has gone away instead
// of spinning on connection refused.
const maxConsecutiveErrors = 100

func (goLoad) Run(ctx context.Context, s Spec) (Result, error) {
	if s.Connections < 1 {
		return Result{}, errors.New("load: need at least one connection")
	}
	if s.Duration <= 0 && s.Requests <= 0 {
		return Result{}, errors.New("load: need a duration or a request count")
	}
	if s.Rate > 0 && (s.Duration <= 0 || s.Requests > 0) {
		return Result{}, errors.New("load: a fixed rate runs for a duration, not a request count")
	}
	method := s.Method
	if method == "" {
		method = http.MethodGet
	}
	tr := &http.Transport{
		Proxy:               nil, // load only ever targets 127.0.0.1
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        s.Connections,
		MaxIdleConnsPerHost: s.Connections,
		MaxConnsPerHost:     s.Connections,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	var (
		left     atomic.Int64 // requests still to send when s.Requests > 0
		non2xx   atomic.Int64
		failures atomic.Int64
		late     atomic.Int64
		slot     atomic.Int64 // the next scheduled request of an open-loop run
		firstErr error
		errOnce  sync.Once
		wg       sync.WaitGroup
	)
	left.Store(int64(s.Requests))
	lat := make([][]time.Duration, s.Connections)
	perWorker := 1024
	if s.Requests > 0 {
		perWorker = s.Requests/s.Connections + 1
	}
	start := time.Now()
	deadline := start.Add(s.Duration)
	for i := range s.Connections {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mine := make([]time.Duration, 0, perWorker)
			defer func() { lat[i] = mine }()
			consecutive := 0
			for ctx.Err() == nil {
				var t0 time.Time
				switch {
				case s.Rate > 0:
					// Take the next slot and wait for its time: connections
					// that are free take turns, a busy one's slots go to the
					// others.
					n := slot.Add(1) - 1
					t0 = start.Add(time.Duration(float64(n) * float64(time.Second) / s.Rate))
					if !t0.Before(deadline) {
						return
					}
					if d := time.Until(t0); d > 0 {
						select {
						case <-ctx.Done():
							return
						case <-time.After(d):
						}
					} else if d < -time.Millisecond {
						late.Add(1)
					}
				case s.Requests > 0:
					if left.Add(-1) < 0 {
						return
					}
				default:
					if !time.Now().Before(deadline) {
						return
					}
				}
				req, err := http.NewRequestWithContext(ctx, method, s.URL, bytes.NewReader(s.Body))
				if err != nil {
					errOnce.Do(func() { firstErr = err })
					return
				}
				for k, v := range s.Header {
					req.Header[k] = v
				}
				if t0.IsZero() {
					t0 = time.Now()
				}
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err == nil && (resp.StatusCode < 200 || resp.StatusCode > 399) {
						non2xx.Add(1)
					}
				}
				if err != nil {
					if ctx.Err() != nil {
						return
					}
					failures.Add(1)
					if consecutive++; consecutive >= maxConsecutiveErrors {
						errOnce.Do(func() { firstErr = fmt.Errorf("load: %d errors in a row, last: %w", consecutive, err) })
						return
					}
					continue
				}
				consecutive = 0
				mine = append(mine, time.Since(t0))
				if s.Answered != nil {
					s.Answered.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	if firstErr != nil {
		return Result{}, firstErr
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	r := Result{
		Requests: int64(len(all)),
		Non2xx:   non2xx.Load(),
		Errors:   failures.Load(),
		Elapsed:  elapsed,
		P50:      percentile(all, 0.50),
		P99:      percentile(all, 0.99),
		P999:     percentile(all, 0.999),
		Max:      percentile(all, 1),
		Late:     late.Load(),
	}
	if elapsed > 0 {
		r.RPS = float64(r.Requests) / elapsed.Seconds()
	}
	return r, nil
}

// percentile returns the nearest-rank q-quantile (0 < q ≤ 1) of sorted
// durations: the smallest value with at least q of all values at or below
// it. It returns 0 for no values.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// wrkLoad runs the wrk binary with a Lua script that sets the method,
// headers and body, and parses its --latency report.
type wrkLoad struct {
	path string
	dir  string
	n    atomic.Int64 // script file counter
}

func (*wrkLoad) Name() string { return "wrk" }

func (w *wrkLoad) Run(ctx context.Context, s Spec) (Result, error) {
	if s.Requests > 0 || s.Rate > 0 {
		return Result{}, errors.New("wrk cannot stop after a request count or keep a fixed rate; use the go generator")
	}
	if s.Connections < 1 {
		return Result{}, errors.New("load: need at least one connection")
	}
	threads := s.Threads
	if threads <= 0 {
		threads = 2
	}
	threads = min(threads, s.Connections) // wrk refuses more threads than connections
	secs := max(int(math.Ceil(s.Duration.Seconds())), 1)
	script := filepath.Join(w.dir, fmt.Sprintf("wrk-%d.lua", w.n.Add(1)))
	if err := os.WriteFile(script, []byte(wrkScript(s)), 0o644); err != nil {
		return Result{}, err
	}
	cmd := exec.CommandContext(ctx, w.path,
		"-t", strconv.Itoa(threads),
		"-c", strconv.Itoa(s.Connections),
		"-d", strconv.Itoa(secs)+"s",
		"--latency",
		"-s", script,
		s.URL)
	cmd.SysProcAttr = sysProcAttr()
	cmd.WaitDelay = stopTimeout
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		return Result{}, ctx.Err()
	}
	if err != nil {
		return Result{}, fmt.Errorf("wrk: %w: %s%s", err, strings.TrimSpace(stderr.String()), strings.TrimSpace(stdout.String()))
	}
	r, err := parseWrk(stdout.String())
	if err != nil {
		return Result{}, fmt.Errorf("%w\n%s", err, stdout.String())
	}
	return r, nil
}

// wrkScript returns a wrk Lua script that sends s's method, headers and
// body on every request.
func wrkScript(s Spec) string {
	var b strings.Builder
	b.WriteString("-- written by hooklab bench\n")
	method := s.Method
	if method == "" {
		method = http.MethodGet
	}
	fmt.Fprintf(&b, "wrk.method = %s\n", luaQuote(method))
	keys := make([]string, 0, len(s.Header))
	for k := range s.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "wrk.headers[%s] = %s\n", luaQuote(k), luaQuote(s.Header.Get(k)))
	}
	if s.Body != nil {
		fmt.Fprintf(&b, "wrk.body = %s\n", luaQuote(string(s.Body)))
	}
	return b.String()
}

// luaQuote returns s as a Lua string literal that is exact for any bytes:
// printable ASCII as is, everything else as a three-digit decimal escape
// (Lua 5.1 and LuaJIT, which wrk embeds, know no other escape for all
// bytes).
func luaQuote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c < 0x7f && c != '"' && c != '\\' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "\\%03d", c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

var (
	wrkTotalRE   = regexp.MustCompile(`(?m)^\s*(\d+) requests in ([0-9.]+[a-z]+),`)
	wrkRPSRE     = regexp.MustCompile(`(?m)^Requests/sec:\s*([0-9.]+)\s*$`)
	wrkLatencyRE = regexp.MustCompile(`(?m)^\s*Latency\s+[0-9.]+[a-z]+\s+[0-9.]+[a-z]+\s+([0-9.]+[a-z]+)`)
	wrkPctRE     = regexp.MustCompile(`(?m)^\s*([0-9.]+)%\s+([0-9.]+[a-z]+)\s*$`)
	wrkSocketRE  = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
	wrkNon2xxRE  = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)`)
	wrkDistLabel = "Latency Distribution"
)

// parseWrk reads the report that wrk --latency prints: the request count and
// elapsed time, Requests/sec, the maximum latency, the 50% and 99% lines of
// the latency distribution, socket errors and non-2xx responses.
func parseWrk(out string) (Result, error) {
	var r Result
	m := wrkTotalRE.FindStringSubmatch(out)
	if m == nil {
		return r, errors.New(`wrk output: no "N requests in T" line`)
	}
	r.Requests, _ = strconv.ParseInt(m[1], 10, 64)
	el, err := parseWrkDuration(m[2])
	if err != nil {
		return r, fmt.Errorf("wrk output: elapsed: %w", err)
	}
	r.Elapsed = el
	if m := wrkRPSRE.FindStringSubmatch(out); m != nil {
		r.RPS, _ = strconv.ParseFloat(m[1], 64)
	} else if el > 0 {
		r.RPS = float64(r.Requests) / el.Seconds()
	}
	if m := wrkLatencyRE.FindStringSubmatch(out); m != nil {
		if r.Max, err = parseWrkDuration(m[1]); err != nil {
			return r, fmt.Errorf("wrk output: max latency: %w", err)
		}
	}
	i := strings.Index(out, wrkDistLabel)
	if i < 0 {
		return r, errors.New("wrk output: no latency distribution (was --latency given?)")
	}
	var got50, got99 bool
	for _, m := range wrkPctRE.FindAllStringSubmatch(out[i:], -1) {
		d, err := parseWrkDuration(m[2])
		if err != nil {
			return r, fmt.Errorf("wrk output: %s%%: %w", m[1], err)
		}
		switch q, _ := strconv.ParseFloat(m[1], 64); q {
		case 50:
			r.P50, got50 = d, true
		case 99:
			r.P99, got99 = d, true
		}
	}
	if !got50 || !got99 {
		return r, errors.New("wrk output: latency distribution lacks the 50% or 99% line")
	}
	if m := wrkSocketRE.FindStringSubmatch(out); m != nil {
		for _, s := range m[1:] {
			n, _ := strconv.ParseInt(s, 10, 64)
			r.Errors += n
		}
	}
	if m := wrkNon2xxRE.FindStringSubmatch(out); m != nil {
		r.Non2xx, _ = strconv.ParseInt(m[1], 10, 64)
	}
	return r, nil
}

// parseWrkDuration parses a duration as wrk prints it: a decimal number and
// one of the units us, ms, s, m, h.
func parseWrkDuration(s string) (time.Duration, error) {
	i := strings.IndexFunc(s, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	if i <= 0 {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	v, err := strconv.ParseFloat(s[:i], 64)
	if err != nil {
		return 0, fmt.Errorf("bad duration %q", s)
	}
	var unit time.Duration
	switch s[i:] {
	case "us":
		unit = time.Microsecond
	case "ms":
		unit = time.Millisecond
	case "s":
		unit = time.Second
	case "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	default:
		return 0, fmt.Errorf("bad duration unit in %q", s)
	}
	return time.Duration(math.Round(v * float64(unit))), nil
}
