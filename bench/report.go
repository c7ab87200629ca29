package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the outcome of one bench subcommand: a row per target (medians
// over rounds), the checks against the targets of the issue, and notes.
// Its JSON form is what --json prints.
type Report struct {
	Bench       string   `json:"bench"`
	Command     string   `json:"command"`
	Machine     string   `json:"machine"`
	LoadAvg     []string `json:"loadavg,omitempty"` // /proc/loadavg at the start and the end`
	Load        string   `json:"load"`
	Connections int      `json:"connections"`
	Request     string   `json:"request"`
	DurationS   float64  `json:"duration_s"`
	WarmupS     float64  `json:"warmup_s"`
	Rounds      int      `json:"rounds"`
	Baseline    string   `json:"baseline"`
	Rows        []Row    `json:"targets"`
	Memory      *MemRun  `json:"memory,omitempty"`
	Checks      []Check  `json:"checks"`
	Notes       []string `json:"notes,omitempty"`
}

// Row is one target's figures: medians over its rounds, errors summed,
// peak RSS over the whole run, and the median of its per-round throughput
// ratios to the baseline measured in the same round.
type Row struct {
	Name         string       `json:"name"`
	RPS          float64      `json:"rps"`
	P50Ms        float64      `json:"p50_ms"`
	P99Ms        float64      `json:"p99_ms"`
	PeakRSSBytes int64        `json:"peak_rss_bytes"`
	Requests     int64        `json:"requests"`
	Non2xx       int64        `json:"non_2xx"`
	Errors       int64        `json:"errors"`
	Ratio        float64      `json:"ratio,omitempty"`
	Stream       *StreamStats `json:"stream,omitempty"`
	RoundsRun    []RoundRun   `json:"rounds"`
	Fixed        *FixedRate   `json:"fixed_rate,omitempty"`
	CPUPerReqUs  float64      `json:"cpu_per_req_us,omitempty"` // median over rounds
}

// FixedRate is one target's latency at a fixed request rate (open loop):
// medians over its runs, counts summed.
type FixedRate struct {
	Rate   float64 `json:"rate"`
	RPS    float64 `json:"rps"` // answered a second
	P50Ms  float64 `json:"p50_ms"`
	P99Ms  float64 `json:"p99_ms"`
	P999Ms float64 `json:"p999_ms"`
	MaxMs  float64 `json:"max_ms"`
	Late   int64   `json:"late"`
	Non2xx int64   `json:"non_2xx"`
	Errors int64   `json:"errors"`
	Runs   int     `json:"runs"`
}

// fixedRateOf summarizes the runs of one target at rate.
func fixedRateOf(rate float64, runs []Result) *FixedRate {
	f := &FixedRate{Rate: rate, Runs: len(runs)}
	var rps, p50, p99, p999, mx []float64
	for _, res := range runs {
		rps, p50, p99 = append(rps, res.RPS), append(p50, ms(res.P50)), append(p99, ms(res.P99))
		p999, mx = append(p999, ms(res.P999)), append(mx, ms(res.Max))
		f.Late += res.Late
		f.Non2xx += res.Non2xx
		f.Errors += res.Errors
	}
	f.RPS, f.P50Ms, f.P99Ms, f.P999Ms, f.MaxMs = median(rps), median(p50), median(p99), median(p999), median(mx)
	return f
}

// RoundRun is one measured run of one target.
type RoundRun struct {
	Round    int     `json:"round"`
	RPS      float64 `json:"rps"`
	P50Ms    float64 `json:"p50_ms"`
	P99Ms    float64 `json:"p99_ms"`
	Requests int64   `json:"requests"`
	Ratio    float64 `json:"ratio,omitempty"`
	// CPUPerReqUs is the server's CPU per answered request, in µs, deferred
	// work included (Result.ServerCPU); 0 when not measured.
	CPUPerReqUs float64 `json:"cpu_per_req_us,omitempty"`
}

// MemRun is a memory measurement after a fixed number of requests.
type MemRun struct {
	Target       string    `json:"target"`
	Requests     int       `json:"requests"`
	Load         string    `json:"load"`
	StartRSS     int64     `json:"start_rss_bytes"`
	RSS          int64     `json:"rss_bytes"`
	PeakRSS      int64     `json:"peak_rss_bytes"`
	RPS          float64   `json:"rps"`
	P50Ms        float64   `json:"p50_ms"`
	P99Ms        float64   `json:"p99_ms"`
	MaxMs        float64   `json:"max_ms"`
	Non2xx       int64     `json:"non_2xx"`
	Errors       int64     `json:"errors"`
	BytesPerReq  float64   `json:"rss_growth_bytes_per_request"`
	QuarterRPS   []float64 `json:"quarter_rps"` // req/s over each quarter of the requests, in order
	SettleMillis int64     `json:"settle_ms"`
}

// Check is one target of the issue with what was measured.
type Check struct {
	Name string `json:"name"`
	Got  string `json:"got"`
	Pass bool   `json:"pass"`
}

// finish records the load average at the end and notes a busy machine.
func (r *Report) finish() {
	r.LoadAvg = append(r.LoadAvg, loadAvg())
	for _, l := range r.LoadAvg {
		var one float64
		if _, err := fmt.Sscan(l, &one); err == nil && one > float64(runtime.NumCPU()) {
			r.Notes = append(r.Notes, fmt.Sprintf("the machine was busy (load average above its %d CPUs): figures are noisy, compare ratios and rerun when it is quiet", runtime.NumCPU()))
			break
		}
	}
}

// loadAvg returns the three load averages of /proc/loadavg, or "n/a".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if f := strings.Fields(string(b)); err == nil && len(f) >= 3 {
		return strings.Join(f[:3], " ")
	}
	return "n/a"
}

// Failed reports whether any check failed.
func (r *Report) Failed() bool {
	return slices.ContainsFunc(r.Checks, func(c Check) bool { return !c.Pass })
}

// row returns the row called name, or nil.
func (r *Report) row(name string) *Row {
	for i := range r.Rows {
		if r.Rows[i].Name == name {
			return &r.Rows[i]
		}
	}
	return nil
}

// addRun records one measured run of target name in round (from 1).
func (r *Report) addRun(name string, round int, res Result) {
	row := r.row(name)
	if row == nil {
		r.Rows = append(r.Rows, Row{Name: name})
		row = &r.Rows[len(r.Rows)-1]
	}
	row.Requests += res.Requests
	row.Non2xx += res.Non2xx
	row.Errors += res.Errors
	rr := RoundRun{Round: round, RPS: res.RPS, P50Ms: ms(res.P50), P99Ms: ms(res.P99), Requests: res.Requests}
	if res.ServerCPU > 0 && res.Requests > 0 {
		rr.CPUPerReqUs = float64(res.ServerCPU.Microseconds()) / float64(res.Requests)
	}
	row.RoundsRun = append(row.RoundsRun, rr)
}

// summarize fills each row's medians and its ratios to the baseline row,
// pairing runs of the same round.
func (r *Report) summarize() {
	base := r.row(r.Baseline)
	baseRPS := map[int]float64{}
	if base != nil {
		for _, rr := range base.RoundsRun {
			baseRPS[rr.Round] = rr.RPS
		}
	}
	for i := range r.Rows {
		row := &r.Rows[i]
		var rps, p50, p99, ratios, cpu []float64
		for j := range row.RoundsRun {
			rr := &row.RoundsRun[j]
			if rr.CPUPerReqUs > 0 {
				cpu = append(cpu, rr.CPUPerReqUs)
			}
			rps = append(rps, rr.RPS)
			p50 = append(p50, rr.P50Ms)
			p99 = append(p99, rr.P99Ms)
			if b := baseRPS[rr.Round]; row.Name != r.Baseline && b > 0 {
				rr.Ratio = rr.RPS / b
				ratios = append(ratios, rr.Ratio)
			}
		}
		row.RPS, row.P50Ms, row.P99Ms = median(rps), median(p50), median(p99)
		row.Ratio = median(ratios)
		row.CPUPerReqUs = median(cpu)
	}
}

// pairRatio returns the median over rounds of a's req/s over b's in the
// same round, or 0 when they share no round.
func (r *Report) pairRatio(a, b string) float64 {
	ra, rb := r.row(a), r.row(b)
	if ra == nil || rb == nil {
		return 0
	}
	brps := map[int]float64{}
	for _, rr := range rb.RoundsRun {
		brps[rr.Round] = rr.RPS
	}
	var ratios []float64
	for _, rr := range ra.RoundsRun {
		if v := brps[rr.Round]; v > 0 {
			ratios = append(ratios, rr.RPS/v)
		}
	}
	return median(ratios)
}

// median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// checkAtLeast and checkAtMost append a check of got against limit.
func (r *Report) checkAtLeast(name string, got, limit float64, show string) {
	r.Checks = append(r.Checks, Check{Name: name, Got: show, Pass: got >= limit})
}

func (r *Report) checkAtMost(name string, got, limit float64, show string) {
	r.Checks = append(r.Checks, Check{Name: name, Got: show, Pass: got <= limit})
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteText writes the report as a table followed by the checks.
func (r *Report) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "hooklab bench %s: %s, %d connections, %s, %s × %d rounds (medians), %s warm-up\n",
		r.Bench, r.Load, r.Connections, r.Request, secs(r.DurationS), r.Rounds, secs(r.WarmupS))
	fmt.Fprintf(&b, "machine: %s\n", r.Machine)
	if len(r.LoadAvg) > 0 {
		fmt.Fprintf(&b, "load average (1m 5m 15m): %s\n", strings.Join(r.LoadAvg, " at start, ")+" at end")
	}
	fmt.Fprintf(&b, "command: %s\n\n", r.Command)

	width := len("target")
	for _, row := range r.Rows {
		width = max(width, len(row.Name))
	}
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-*s\treq/s\tp50\tp99\tpeak RSS\tnon-2xx\terrors\tvs %s\t\n", width, "target", r.Baseline)
	for _, row := range r.Rows {
		ratio := ""
		if row.Name != r.Baseline {
			ratio = fmt.Sprintf("%.2f", row.Ratio)
		}
		fmt.Fprintf(tw, "%-*s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t\n", width, row.Name, thousands(row.RPS),
			fmtMs(row.P50Ms), fmtMs(row.P99Ms), mb(row.PeakRSSBytes), row.Non2xx, row.Errors, ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	var cpu []string
	for _, row := range r.Rows {
		if row.CPUPerReqUs > 0 {
			cpu = append(cpu, fmt.Sprintf("%s %.1f µs", row.Name, row.CPUPerReqUs))
		}
	}
	if len(cpu) > 0 {
		// Steadier than req/s on a shared machine: what each answer cost.
		fmt.Fprintf(&b, "  server CPU per request (each target's own process, until idle again after each round, so deferred work counts; medians): %s\n", strings.Join(cpu, ", "))
	}
	for _, row := range r.Rows {
		if s := row.Stream; s != nil {
			fmt.Fprintf(&b, "  %s stream: %s messages for %s answered requests, %d resyncs, %d reconnects\n",
				row.Name, thousands(float64(s.Messages)), thousands(float64(row.Requests)), s.Resyncs, s.Reconnects)
		}
	}
	if fixed := slices.IndexFunc(r.Rows, func(row Row) bool { return row.Fixed != nil }); fixed >= 0 {
		fmt.Fprintf(&b, "\nlatency at a fixed %s req/s (open loop, Go generator; from each request's scheduled time; medians of %d runs):\n",
			thousands(r.Rows[fixed].Fixed.Rate), r.Rows[fixed].Fixed.Runs)
		tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%-*s\treq/s\tp50\tp99\tp99.9\tmax\tlate\tnon-2xx\terrors\t\n", width, "target")
		for _, row := range r.Rows {
			if f := row.Fixed; f != nil {
				fmt.Fprintf(tw, "%-*s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t%d\t\n", width, row.Name, thousands(f.RPS),
					fmtMs(f.P50Ms), fmtMs(f.P99Ms), fmtMs(f.P999Ms), fmtMs(f.MaxMs), f.Late, f.Non2xx, f.Errors)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	b.WriteString("  per round (req/s):")
	for _, row := range r.Rows {
		b.WriteString(" " + row.Name)
		for _, rr := range row.RoundsRun {
			b.WriteString(" " + thousands(rr.RPS))
		}
		b.WriteString(";")
	}
	b.WriteString("\n")
	if m := r.Memory; m != nil {
		fmt.Fprintf(&b, "\nmemory of %s after %s requests (%s load, %d non-2xx, %d errors, read %dms after the last):\n",
			m.Target, thousands(float64(m.Requests)), m.Load, m.Non2xx, m.Errors, m.SettleMillis)
		fmt.Fprintf(&b, "  %s req/s, latency p50 %s, p99 %s, max %s\n", thousands(m.RPS), fmtMs(m.P50Ms), fmtMs(m.P99Ms), fmtMs(m.MaxMs))
		fmt.Fprintf(&b, "  VmRSS %s, VmHWM %s; %s at start, so %.2f KB more per request\n",
			mb(m.RSS), mb(m.PeakRSS), mb(m.StartRSS), m.BytesPerReq/1000)
		if len(m.QuarterRPS) > 0 {
			b.WriteString("  req/s over each quarter of the requests:")
			for _, q := range m.QuarterRPS {
				b.WriteString(" " + thousands(q))
			}
			b.WriteString("\n")
		}
	}
	if err := writeTargets(&b, r.Notes, r.Checks); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTargets writes the notes, then the checks as a PASS/FAIL table
// under "targets".
func writeTargets(b *strings.Builder, notes []string, checks []Check) error {
	for _, n := range notes {
		fmt.Fprintf(b, "note: %s\n", n)
	}
	b.WriteString("\ntargets\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', 0)
	for _, c := range checks {
		verdict := "PASS"
		if !c.Pass {
			verdict = "FAIL"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", c.Name, c.Got, verdict)
	}
	return tw.Flush()
}

// mb formats bytes in decimal megabytes, as the targets are written.
func mb(n int64) string {
	if n <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1f MB", float64(n)/1e6)
}

func fmtMs(v float64) string { return fmt.Sprintf("%.2fms", v) }

func secs(s float64) string { return (time.Duration(s * float64(time.Second))).String() }

// thousands formats v rounded to an integer with comma separators.
func thousands(v float64) string {
	s := strconv.FormatInt(int64(math.Round(v)), 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
