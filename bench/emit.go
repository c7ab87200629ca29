package main

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/hooklab/hooklab/rules"
)

// Targets of issue 4 for the emitter.
const (
	emitMinRatio = 0.5 // hooklab's deliveries/s over the bare client loop's, same round
	// With --pending invocations held back by rate_limit: 1/h the queue is
	// on disk: the process stays within the capture bench's memory target,
	// and grows by less than a rendered payload (~500 bytes) per pending
	// invocation, which is the least a queue in RAM would cost.
	emitMaxPendingRSS    = 150e6
	emitMaxPendingGrowth = 256 // bytes of VmRSS per pending invocation
)

// The webhook the bench drives: zendesk-signed, with a trigger whose Liquid
// payload picks fields of a ticket, as in the README's example.
const (
	emitSecret    = "bench-signing-secret"
	emitEventType = "ticket.created"
	emitPayload   = `{"ticket": {"id": "{{ticket.id}}", "subject": "{{ticket.subject}}", "priority": "{{ticket.priority}}", ` +
		`"status": "{{ticket.status}}", "requester": {"name": "{{ticket.requester.name}}", "email": "{{ticket.requester.email}}"}, ` +
		`"description": "{{ticket.description}}", "url": "https://example.zendesk.com/agent/tickets/{{ticket.id}}"}}`
	hdrInvocationZendesk = "X-Zendesk-Webhook-Invocation-Id"
	hdrInvocationHooklab = "X-Hooklab-Invocation-Id"
	hdrZendeskSig        = "X-Zendesk-Webhook-Signature"
	hdrZendeskTS         = "X-Zendesk-Webhook-Signature-Timestamp"
)

type emitFlags struct {
	hooklab      string
	rev          string
	hooklabArgs  stringList
	invocations  int
	rounds       int
	warmup       int
	concurrency  int
	batch        int
	posters      int
	pending      int
	settle       time.Duration
	timeout      time.Duration
	json, strict bool
	keep         bool
}

// emitRound is what one measured run of hooklab did, beyond its Result.
type emitRound struct {
	Round          int              `json:"round"`
	Invocations    int              `json:"invocations"`
	QueuedS        float64          `json:"queued_s"`              // first POST /api/events to the last answered
	DeliveredAtQ   int64            `json:"delivered_when_queued"` // sink's unique count when the last POST was answered
	LastDeliveryS  float64          `json:"last_delivery_s"`       // first POST to the last new delivery at the sink
	FinalS         float64          `json:"final_s"`               // first POST to every invocation final in /api/emit/stats
	Unique         int64            `json:"sink_unique"`
	Duplicates     int64            `json:"sink_duplicates"`
	Unknown        int64            `json:"sink_unknown_ids"` // delivered ids the events API never returned
	Missing        int64            `json:"missing"`          // queued ids the sink never saw
	BadSignatures  int64            `json:"bad_signatures"`
	Unsigned       int64            `json:"unsigned"`
	UnexpectedBody int64            `json:"unexpected_bodies"`
	Success        int64            `json:"success"`
	Final          bool             `json:"final"`
	ByStatus       map[string]int64 `json:"by_status"`
	Dropped        int64            `json:"dropped_events"`
	PeakRSS        int64            `json:"peak_rss_bytes"`
	// CPUSeconds is hooklab's user+system CPU time from the first POST to
	// every invocation final; 0 when /proc cannot tell.
	CPUSeconds float64 `json:"cpu_s"`
}

// emitPending is the memory phase: invocations held back by a rate limit.
type emitPending struct {
	Invocations  int     `json:"invocations"`
	PostedS      float64 `json:"posted_s"`
	EventsPerSec float64 `json:"events_per_s"`
	StartRSS     int64   `json:"start_rss_bytes"`
	HalfRSS      int64   `json:"half_rss_bytes"` // with half of them pending
	RSS          int64   `json:"rss_bytes"`
	PeakRSS      int64   `json:"peak_rss_bytes"`
	GrowthPerInv float64 `json:"rss_growth_bytes_per_invocation"` // from start to all pending
	// MarginalPerInv is the growth from half to all pending, per invocation
	// added: what the queue costs in RAM, without the fixed costs (caches,
	// the heap the first batches grew).
	MarginalPerInv float64          `json:"rss_marginal_bytes_per_invocation"`
	DiskBytes      int64            `json:"data_dir_bytes"`
	Queued         int64            `json:"queued"`
	Total          int64            `json:"total"`
	ByStatus       map[string]int64 `json:"by_status"`
	Dropped        int64            `json:"dropped_events"`
	Delivered      int64            `json:"sink_deliveries"`
	SettleMillis   int64            `json:"settle_ms"`
}

// emitReport is the report of "bench emit": the common table and checks,
// plus the details of each hooklab round and of the pending phase.
type emitReport struct {
	*Report
	Invocations int          `json:"invocations"`
	BodyBytes   int          `json:"body_bytes"`
	EventBytes  int          `json:"event_bytes"`
	Batch       int          `json:"batch"`
	Posters     int          `json:"posters"`
	EmitRounds  []emitRound  `json:"emit_rounds"`
	Pending     *emitPending `json:"pending,omitempty"`
}

// runEmit is "bench emit": --invocations events posted to a running
// hooklab, each invoking one zendesk-signed webhook through a trigger with
// a Liquid payload, delivered to a sink in this process; against a bare
// http.Client loop POSTing the same rendered bodies to the same kind of
// sink, in alternating order for --rounds rounds (a fresh hooklab each
// round, warmed up first). Then a fresh hooklab whose webhook has
// rate_limit: 1/h gets --pending events, and its memory is read once they
// are all queued.
func runEmit(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var f emitFlags
	fs := flag.NewFlagSet("emit", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: go run ./bench emit [flags]\n\n"+
			"Posts --invocations ticket.created events to hooklab's POST /api/events, each\n"+
			"invoking one zendesk-signed webhook with a Liquid JSON payload that points at a\n"+
			"sink in this process, and times them until the sink has every one; in the same\n"+
			"run a bare http.Client loop POSTs the same rendered bodies to the same kind of\n"+
			"sink. Then hooklab's memory with --pending invocations held by rate_limit: 1/h.\n"+
			"Checks the targets of issue 4.\n\nflags:\n")
		fs.PrintDefaults()
	}
	fs.StringVar(&f.hooklab, "hooklab", "", "hooklab binary to run; empty builds the module's main package into the temp dir")
	fs.StringVar(&f.rev, "rev", "", "build hooklab from this git revision (e.g. HEAD) instead of the work tree")
	fs.Var(&f.hooklabArgs, "arg", "extra argument for hooklab serve, repeatable")
	fs.IntVar(&f.invocations, "invocations", 20000, "invocations per measured run (one event each)")
	fs.IntVar(&f.rounds, "rounds", 3, "measured runs of each, in alternating order; medians are reported")
	fs.IntVar(&f.warmup, "warmup", 1000, "invocations before measuring, on each fresh hooklab and once for the bare loop; 0 for none")
	fs.IntVar(&f.concurrency, "concurrency", 32, "the bare loop's workers, and the webhook's concurrency in hooklab")
	fs.IntVar(&f.batch, "batch", 500, "events per POST /api/events")
	fs.IntVar(&f.posters, "posters", 2, "concurrent POST /api/events clients")
	fs.IntVar(&f.pending, "pending", 100000, "invocations held pending (rate_limit: 1/h) before hooklab's memory is read; 0 skips that phase")
	fs.DurationVar(&f.settle, "settle", 2*time.Second, "pause after the last pending invocation is queued before reading memory")
	fs.DurationVar(&f.timeout, "timeout", 5*time.Minute, "how long a run may take to deliver and finish every invocation")
	fs.BoolVar(&f.json, "json", false, "print the report as JSON instead of a table")
	fs.BoolVar(&f.strict, "strict", false, "exit non-zero when a target fails")
	fs.BoolVar(&f.keep, "keep", false, "keep the temp dir (binary, configs, data, child logs) and print its path")
	if err := fs.Parse(args); err != nil {
		return err
	}
	switch {
	case fs.NArg() > 0:
		return fmt.Errorf("emit: unexpected arguments %q", fs.Args())
	case f.invocations < 1, f.rounds < 1, f.concurrency < 1, f.batch < 1, f.posters < 1:
		return errors.New("emit: --invocations, --rounds, --concurrency, --batch and --posters must be at least 1")
	case f.warmup < 0, f.pending < 0:
		return errors.New("emit: --warmup and --pending must not be negative")
	}

	serveArgs, raised := withRetainCount(f.hooklabArgs, f.warmup+f.invocations)
	if raised {
		fmt.Fprintf(stderr, "bench: hooklab runs with --retain-count=%d (warm-up and measured invocations), so that retention of finished invocations does not remove ones the run counts\n", f.warmup+f.invocations)
	}
	c := &common{hooklab: f.hooklab, rev: f.rev, hooklabArgs: serveArgs, load: "go", keep: f.keep,
		rounds: f.rounds, connections: f.concurrency}
	b, cleanup, err := setup(ctx, c, stderr)
	defer cleanup()
	if err != nil {
		return err
	}

	// The events and the bodies hooklab renders from them, made once.
	n := f.invocations
	total := max(n, f.warmup)
	bodies := make([][]byte, total)
	expected := make(map[string]struct{}, total)
	for i := range total {
		bodies[i] = emitExpectedBody(i)
		expected[string(bodies[i])] = struct{}{}
	}
	batches := emitBatches(0, n, f.batch)
	warmBatches := emitBatches(0, f.warmup, f.batch)

	rep := &emitReport{
		Report: &Report{
			Bench:   "emit",
			Command: "go run ./bench " + strings.Join(append([]string{"emit"}, args...), " "),
			Machine: machine(),
			LoadAvg: []string{loadAvg()},
			Load: fmt.Sprintf("%d posters of %d-event batches to POST /api/events vs a bare http.Client loop of %d workers",
				f.posters, f.batch, f.concurrency),
			Connections: f.concurrency,
			Request:     fmt.Sprintf("%s invocations per run, one zendesk-signed webhook, a Liquid JSON payload", thousands(float64(n))),
			Rounds:      f.rounds,
			Baseline:    "bare-client",
		},
		Invocations: n, BodyBytes: len(bodies[0]), EventBytes: len(emitEventData(0)), Batch: f.batch, Posters: f.posters,
	}
	r := rep.Report
	b.logf("%s invocations per run; events of %d bytes render %d-byte bodies", thousands(float64(n)), rep.EventBytes, rep.BodyBytes)

	if f.warmup > 0 {
		b.logf("warm-up bare-client (%s POSTs)", thousands(float64(f.warmup)))
		if _, err := bareEmitLoop(ctx, bodies[:f.warmup], f.concurrency, expected, 0); err != nil {
			return fmt.Errorf("warm-up bare-client: %w", err)
		}
	}
	runners := []string{"bare-client", "hooklab"}
	for round := 1; round <= f.rounds; round++ {
		order := runners
		if round%2 == 0 {
			order = reversed(runners)
		}
		for _, name := range order {
			var res Result
			if name == "bare-client" {
				res, err = bareEmitLoop(ctx, bodies[:n], f.concurrency, expected, round)
			} else {
				var er emitRound
				res, er, err = b.hooklabEmitRun(ctx, &f, round, batches, warmBatches, expected)
				if err == nil {
					rep.EmitRounds = append(rep.EmitRounds, er)
				}
			}
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", round, name, err)
			}
			r.addRun(name, round, res)
			b.logf("round %d/%d %-11s %8s deliveries/s  p50 %s  p99 %s  undelivered %d  errors %d",
				round, f.rounds, name, thousands(res.RPS), fmtMs(ms(res.P50)), fmtMs(ms(res.P99)), res.Non2xx, res.Errors)
		}
	}
	r.summarize()
	if row := r.row("hooklab"); row != nil {
		for _, er := range rep.EmitRounds {
			row.PeakRSSBytes = max(row.PeakRSSBytes, er.PeakRSS)
		}
	}

	if f.pending > 0 {
		p, err := b.pendingRun(ctx, &f)
		if err != nil {
			return fmt.Errorf("pending: %w", err)
		}
		rep.Pending = p
	}
	r.finish()
	rep.check(n)

	if f.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		err = enc.Encode(rep)
	} else {
		err = rep.writeText(stdout)
	}
	if err != nil {
		return err
	}
	if f.strict && r.Failed() {
		return errors.New("emit: targets failed")
	}
	return nil
}

// check appends the targets of issue 4.
func (rep *emitReport) check(n int) {
	r := rep.Report
	ratio := r.pairRatio("hooklab", "bare-client")
	r.checkAtLeast(fmt.Sprintf("hooklab/bare-client deliveries/s ≥ %.1f", emitMinRatio), ratio, emitMinRatio, fmt.Sprintf("%.2f", ratio))

	var bad []string
	var dups, badSig, unexpected int64
	for _, er := range rep.EmitRounds {
		if er.Unique != int64(er.Invocations) || er.Missing != 0 || er.Unknown != 0 || !er.Final || er.Success != int64(er.Invocations) {
			bad = append(bad, fmt.Sprintf("round %d: %d unique of %d, %d missing, %d unknown, %d success, final %v",
				er.Round, er.Unique, er.Invocations, er.Missing, er.Unknown, er.Success, er.Final))
		}
		dups += er.Duplicates
		badSig += er.BadSignatures + er.Unsigned
		unexpected += er.UnexpectedBody
	}
	got := fmt.Sprintf("%s unique at the sink and %s success in each of %d rounds, %d duplicates",
		thousands(float64(n)), thousands(float64(n)), len(rep.EmitRounds), dups)
	if len(bad) > 0 {
		got = strings.Join(bad, "; ")
	}
	r.Checks = append(r.Checks, Check{Name: "every invocation accounted for", Got: got, Pass: len(bad) == 0 && len(rep.EmitRounds) > 0})
	r.checkAtMost("every delivery signed (zendesk) and valid", float64(badSig), 0, fmt.Sprintf("%d unsigned or invalid", badSig))
	r.checkAtMost("every delivery carried the bare loop's body", float64(unexpected), 0, fmt.Sprintf("%d other bodies", unexpected))
	if row := r.row("bare-client"); row != nil {
		r.checkAtMost("bare-client: every POST answered 2xx and seen once", float64(row.Non2xx+row.Errors), 0,
			fmt.Sprintf("%d undelivered, %d errors", row.Non2xx, row.Errors))
	}
	if p := rep.Pending; p != nil {
		r.checkAtLeast(fmt.Sprintf("%s invocations pending, none dropped", thousands(float64(p.Invocations))),
			float64(min(p.Total, p.Queued+p.Delivered)-p.Dropped), float64(p.Invocations),
			fmt.Sprintf("%s total, %s queued, %d delivered, %d events dropped", thousands(float64(p.Total)), thousands(float64(p.Queued)), p.Delivered, p.Dropped))
		r.checkAtMost(fmt.Sprintf("hooklab VmRSS with %s pending ≤ %s", thousands(float64(p.Invocations)), mb(emitMaxPendingRSS)),
			float64(p.RSS), emitMaxPendingRSS, mb(p.RSS))
		r.checkAtMost(fmt.Sprintf("VmRSS per pending invocation (half to all) ≤ %d B: queue on disk", emitMaxPendingGrowth),
			p.MarginalPerInv, emitMaxPendingGrowth, fmt.Sprintf("%.0f B (%.0f B from start)", p.MarginalPerInv, p.GrowthPerInv))
	}
}

func (rep *emitReport) writeText(w io.Writer) error {
	r := rep.Report
	var b strings.Builder
	fmt.Fprintf(&b, "hooklab bench emit: %s invocations per run through one zendesk-signed webhook (Liquid JSON payload,\n"+
		"%d-byte bodies from %d-byte events) vs a bare http.Client loop (%d workers) POSTing the same bodies;\n"+
		"%d round(s) in alternating order (medians), a fresh hooklab each round\n",
		thousands(float64(rep.Invocations)), rep.BodyBytes, rep.EventBytes, r.Connections, r.Rounds)
	fmt.Fprintf(&b, "load: %s\n", r.Load)
	fmt.Fprintf(&b, "machine: %s\n", r.Machine)
	if len(r.LoadAvg) > 0 {
		fmt.Fprintf(&b, "load average (1m 5m 15m): %s\n", strings.Join(r.LoadAvg, " at start, ")+" at end")
	}
	fmt.Fprintf(&b, "command: %s\n\n", r.Command)

	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%-11s\tdeliveries/s\tp50\tp99\tpeak RSS\tundelivered\terrors\tvs %s\t\n", "target", r.Baseline)
	for _, row := range r.Rows {
		ratio := ""
		if row.Name != r.Baseline {
			ratio = fmt.Sprintf("%.2f", row.Ratio)
		}
		fmt.Fprintf(tw, "%-11s\t%s\t%s\t%s\t%s\t%d\t%d\t%s\t\n", row.Name, thousands(row.RPS),
			fmtMs(row.P50Ms), fmtMs(row.P99Ms), mb(row.PeakRSSBytes), row.Non2xx, row.Errors, ratio)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	b.WriteString("  latency: bare-client, each POST; hooklab, from the POST of an event's batch to its delivery at the sink\n")
	b.WriteString("  per round (deliveries/s):")
	for _, row := range r.Rows {
		b.WriteString(" " + row.Name)
		for _, rr := range row.RoundsRun {
			b.WriteString(" " + thousands(rr.RPS))
		}
		b.WriteString(";")
	}
	b.WriteString("\n")
	for _, er := range rep.EmitRounds {
		fmt.Fprintf(&b, "  hooklab round %d: queued in %.2fs (%s events/s) with %s delivered by then (%s/s), the rest at %s/s; "+
			"last delivery at %.2fs, all final at %.2fs; hooklab used %.2fs CPU (%.0f µs per invocation, %.2f cores); sink %s unique, %d dup, %d missing; %d bad signatures; by status %s\n",
			er.Round, er.QueuedS, thousands(float64(er.Invocations)/max(er.QueuedS, 1e-9)),
			thousands(float64(er.DeliveredAtQ)), thousands(float64(er.DeliveredAtQ)/max(er.QueuedS, 1e-9)),
			thousands(float64(er.Unique-er.DeliveredAtQ)/max(er.LastDeliveryS-er.QueuedS, 1e-9)),
			er.LastDeliveryS, er.FinalS, er.CPUSeconds, er.CPUSeconds/float64(max(er.Invocations, 1))*1e6, er.CPUSeconds/max(er.FinalS, 1e-9),
			thousands(float64(er.Unique)), er.Duplicates, er.Missing, er.BadSignatures+er.Unsigned, fmtCounts(er.ByStatus))
	}
	if p := rep.Pending; p != nil {
		fmt.Fprintf(&b, "\npending: %s invocations held by rate_limit: 1/h, posted in %.1fs (%s events/s), memory read %dms after the last was queued\n",
			thousands(float64(p.Invocations)), p.PostedS, thousands(p.EventsPerSec), p.SettleMillis)
		fmt.Fprintf(&b, "  VmRSS %s, VmHWM %s; %s at start and %s with half of them pending: %.0f B per pending invocation over all, %.0f B for each of the second half; data dir %s on disk\n",
			mb(p.RSS), mb(p.PeakRSS), mb(p.StartRSS), mb(p.HalfRSS), p.GrowthPerInv, p.MarginalPerInv, mb(p.DiskBytes))
		fmt.Fprintf(&b, "  stats: total %s, queued %s, by status %s; %d delivered, %d events dropped\n",
			thousands(float64(p.Total)), thousands(float64(p.Queued)), fmtCounts(p.ByStatus), p.Delivered, p.Dropped)
	}
	if err := writeTargets(&b, r.Notes, r.Checks); err != nil {
		return err
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// fmtCounts formats counts by status in key order: "success=20000 failed=0".
func fmtCounts(m map[string]int64) string {
	if len(m) == 0 {
		return "{}"
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%s=%d", k, m[k])
	}
	return b.String()
}

// defaultRetainCount is hooklab serve's --retain-count default, which
// also bounds the finished invocations it keeps.
const defaultRetainCount = 100000

// withRetainCount returns args with --retain-count=n added when a run
// finishes more than hooklab's default keeps and args set none: retention
// would remove the oldest finished invocations during the run, and the
// stats the bench waits on would never count them all.
func withRetainCount(args []string, n int) ([]string, bool) {
	if n <= defaultRetainCount {
		return args, false
	}
	for _, a := range args {
		name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "retain-count" {
			return args, false
		}
	}
	return append(slices.Clip(args), "--retain-count="+strconv.Itoa(n)), true
}

// emitConfig returns the hooklab.yaml of the bench: one webhook to
// endpoint, signed with the zendesk scheme, fed by a trigger on urgent
// ticket.created events with a Liquid JSON payload; rateLimit, if set, is
// the webhook's rate_limit.
func emitConfig(endpoint string, concurrency int, rateLimit string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "webhooks:\n  - id: bench\n    name: Bench sink\n    endpoint: %s\n", endpoint)
	fmt.Fprintf(&b, "    signing: {scheme: zendesk, secret: %s}\n", emitSecret)
	fmt.Fprintf(&b, "    concurrency: %d\n", concurrency)
	if rateLimit != "" {
		fmt.Fprintf(&b, "    rate_limit: %s\n", rateLimit)
	}
	fmt.Fprintf(&b, "triggers:\n  - name: urgent-ticket\n    when:\n      event: %s\n      all:\n        - {path: ticket.priority, op: eq, value: urgent}\n", emitEventType)
	fmt.Fprintf(&b, "    notify:\n      webhook: bench\n      payload: '%s'\n", strings.ReplaceAll(emitPayload, "'", "''"))
	return b.String()
}

// emitTicket is the ticket of event i: Zendesk-like, with values that need
// escaping in JSON (quotes, a backslash, a newline, a tab, "</", non-ASCII).
type emitTicket struct {
	ID          int            `json:"id"`
	Subject     string         `json:"subject"`
	Priority    string         `json:"priority"`
	Status      string         `json:"status"`
	Requester   emitRequester  `json:"requester"`
	Description string         `json:"description"`
	Tags        []string       `json:"tags"`
	Via         map[string]any `json:"via"`
	Custom      []emitField    `json:"custom_fields"`
}

type emitRequester struct {
	ID    int    `json:"id"`
	Name  string `json:"name"`
	Email string `json:"email"`
}

type emitField struct {
	ID    int    `json:"id"`
	Value string `json:"value"`
}

func emitTicketOf(i int) emitTicket {
	return emitTicket{
		ID:          100000 + i,
		Subject:     fmt.Sprintf(`Printer "HP-%d" on fire`, i%97),
		Priority:    "urgent",
		Status:      "new",
		Requester:   emitRequester{ID: 9000 + i%1000, Name: "Zoë Ådahl", Email: fmt.Sprintf("user%d@example.com", i)},
		Description: fmt.Sprintf("It started at 09:%02d.\nThe panel says </b> C:\\spool\\job%d\tthen nothing ✓", i%60, i),
		Tags:        []string{"printer", "hardware", "floor-3"},
		Via:         map[string]any{"channel": "web", "source": map[string]any{"from": map[string]any{}, "rel": nil}},
		Custom: []emitField{{360001, "EMEA"}, {360002, "tier-2"}, {360003, "on-site visit requested"},
			{360004, "serial CN-48213-0042"}, {360005, "warranty until 2027-03-31"}, {360006, "contract 7781"}},
	}
}

// emitEventData returns the JSON data of event i: {"ticket": {...}}.
func emitEventData(i int) []byte {
	b, err := json.Marshal(map[string]any{"ticket": emitTicketOf(i)})
	if err != nil {
		panic(err)
	}
	return b
}

// emitExpectedBody renders emitPayload for event i as hooklab must: every
// placeholder stands inside a JSON string, so each value is written as
// that string's escaped content.
func emitExpectedBody(i int) []byte {
	t := emitTicketOf(i)
	vals := map[string]string{
		"ticket.id": strconv.Itoa(t.ID), "ticket.subject": t.Subject, "ticket.priority": t.Priority, "ticket.status": t.Status,
		"ticket.requester.name": t.Requester.Name, "ticket.requester.email": t.Requester.Email, "ticket.description": t.Description,
	}
	out, err := substitute(emitPayload, vals)
	if err != nil {
		panic(err)
	}
	return out
}

// substitute replaces each {{name}} of tpl by the JSON string content of
// vals[name]; a name not in vals is an error.
func substitute(tpl string, vals map[string]string) ([]byte, error) {
	var out []byte
	for {
		i := strings.Index(tpl, "{{")
		if i < 0 {
			return append(out, tpl...), nil
		}
		j := strings.Index(tpl[i:], "}}")
		if j < 0 {
			return nil, fmt.Errorf("unclosed placeholder in %q", tpl[i:])
		}
		name := strings.TrimSpace(tpl[i+2 : i+j])
		v, ok := vals[name]
		if !ok {
			return nil, fmt.Errorf("no value for {{%s}}", name)
		}
		out = append(out, tpl[:i]...)
		out = rules.AppendJSONStringContent(out, v)
		tpl = tpl[i+j+2:]
	}
}

// emitBatches returns the bodies of POST /api/events for events from
// first to first+n, size per batch: JSON lists of ticket.created events.
func emitBatches(first, n, size int) []emitBatch {
	var out []emitBatch
	for start := first; start < first+n; start += size {
		end := min(start+size, first+n)
		out = append(out, emitBatch{count: end - start, body: emitBatchBody(start, end)})
	}
	return out
}

type emitBatch struct {
	count int
	body  []byte
}

func emitBatchBody(start, end int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := start; i < end; i++ {
		if i > start {
			b.WriteByte(',')
		}
		b.WriteString(`{"type":"` + emitEventType + `","data":`)
		b.Write(emitEventData(i))
		b.WriteByte('}')
	}
	b.WriteByte(']')
	return b.Bytes()
}

// emitSink is the receiver deliveries go to: it answers 200, and counts
// deliveries by invocation id (the zendesk header, else hooklab's),
// checks zendesk signatures when present, and whether each body is one of
// the expected ones.
type emitSink struct {
	expected map[string]struct{} // read-only
	secret   []byte

	unique atomic.Int64

	mu         sync.Mutex
	seen       map[string]time.Time // first arrival by invocation id
	requests   int64
	dups       int64
	badSig     int64
	unsigned   int64
	unexpected int64
	noID       int64
	last       time.Time // when the latest new id arrived
}

func newEmitSink(expected map[string]struct{}, secret string) *emitSink {
	return &emitSink{expected: expected, secret: []byte(secret), seen: map[string]time.Time{}}
}

func (s *emitSink) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	now := time.Now()
	id := r.Header.Get(hdrInvocationZendesk)
	if id == "" {
		id = r.Header.Get(hdrInvocationHooklab)
	}
	sigOK, signed := true, false
	if sig := r.Header.Get(hdrZendeskSig); sig != "" {
		signed = true
		sigOK = verifyZendesk(s.secret, r.Header.Get(hdrZendeskTS), body, sig)
	}
	_, known := s.expected[string(body)]
	s.mu.Lock()
	s.requests++
	switch {
	case id == "":
		s.noID++
	case !s.seen[id].IsZero():
		s.dups++
	default:
		s.seen[id] = now
		s.last = now
		s.unique.Add(1)
	}
	if signed && !sigOK {
		s.badSig++
	}
	if !signed {
		s.unsigned++
	}
	if !known {
		s.unexpected++
	}
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

// verifyZendesk checks X-Zendesk-Webhook-Signature: base64 of
// HMAC-SHA256(secret, timestamp + body).
func verifyZendesk(secret []byte, ts string, body []byte, sig string) bool {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write(body)
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	return hmac.Equal([]byte(want), []byte(sig))
}

// reset forgets everything counted.
func (s *emitSink) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seen = map[string]time.Time{}
	s.requests, s.dups, s.badSig, s.unsigned, s.unexpected, s.noID = 0, 0, 0, 0, 0, 0
	s.last = time.Time{}
	s.unique.Store(0)
}

// serveSink serves s on a new 127.0.0.1 port; stop closes it.
func serveSink(s http.Handler) (url string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// bareEmitLoop POSTs bodies to a fresh sink from concurrency workers over
// one tuned http.Client, each with an invocation id header as hooklab
// sends, and reads each answer whole. Non2xx counts bodies the sink did not
// see exactly once.
func bareEmitLoop(ctx context.Context, bodies [][]byte, concurrency int, expected map[string]struct{}, round int) (Result, error) {
	sink := newEmitSink(expected, emitSecret)
	url, stop, err := serveSink(sink)
	if err != nil {
		return Result{}, err
	}
	defer stop()
	url += "/hooks/zendesk"
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * concurrency,
		MaxIdleConnsPerHost: 2 * concurrency,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	prefix := fmt.Sprintf("bare-%d-", round)

	var next atomic.Int64
	var mu sync.Mutex
	var res Result
	lat := make([]time.Duration, 0, len(bodies))
	var wg sync.WaitGroup
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			var mine []time.Duration
			var non2xx, errs int64
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(bodies) {
					break
				}
				req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(bodies[i]))
				if err != nil {
					errs++
					continue
				}
				req.Header["Content-Type"] = []string{"application/json"}
				req.Header[hdrInvocationZendesk] = []string{prefix + strconv.Itoa(i)}
				t := time.Now()
				resp, err := client.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				if err != nil {
					errs++
					continue
				}
				mine = append(mine, time.Since(t))
				if resp.StatusCode < 200 || resp.StatusCode > 299 {
					non2xx++
				}
			}
			mu.Lock()
			lat = append(lat, mine...)
			res.Non2xx += non2xx
			res.Errors += errs
			mu.Unlock()
		})
	}
	wg.Wait()
	res.Elapsed = time.Since(start)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	sink.mu.Lock()
	res.Requests = sink.unique.Load()
	res.Non2xx += int64(len(bodies)) - res.Requests + sink.dups + sink.unexpected
	sink.mu.Unlock()
	finishResult(&res, lat)
	res.Max = percentile(lat, 1)
	return res, nil
}

// emitStats is the answer of GET /api/emit/stats.
type emitStats struct {
	ByStatus       map[string]int64 `json:"by_status"`
	Queued         int64            `json:"queued"`
	InFlight       int64            `json:"in_flight"`
	Total          int64            `json:"total"`
	DroppedEvents  int64            `json:"dropped_events"`
	BufferedEvents int64            `json:"buffered_events"`
}

// final reports whether total invocations exist and none is waiting.
func (s emitStats) final(total int64) bool {
	return s.Total >= total && s.Queued == 0 && s.InFlight == 0 && s.BufferedEvents == 0
}

// emitAPI is a client of a hooklab's UI/API listener.
type emitAPI struct {
	base   string
	client *http.Client
}

func newEmitAPI(base string) *emitAPI {
	return &emitAPI{base: strings.TrimSuffix(base, "/"), client: &http.Client{Timeout: 5 * time.Minute,
		Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, DisableCompression: true}}}
}

func (a *emitAPI) stats(ctx context.Context) (emitStats, error) {
	var s emitStats
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/api/emit/stats", nil)
	if err != nil {
		return s, err
	}
	resp, err := a.client.Do(req)
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return s, fmt.Errorf("GET /api/emit/stats: %d %s", resp.StatusCode, bytes.TrimSpace(b))
	}
	return s, json.NewDecoder(resp.Body).Decode(&s)
}

// eventsAnswer is the part of POST /api/events' answer the bench reads.
type eventsAnswer struct {
	Invocations []struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Error  string `json:"error"`
	} `json:"invocations"`
}

// parseEventsAnswer reads the answer of POST /api/events for a batch of
// count events that each invoke one webhook, and returns the invocation
// ids; an invocation that failed at once (rendering, payload size) is an
// error.
func parseEventsAnswer(status int, body []byte, count int) ([]string, error) {
	if status != http.StatusAccepted {
		return nil, fmt.Errorf("POST /api/events: %d %s", status, bytes.TrimSpace(body[:min(len(body), 500)]))
	}
	var a eventsAnswer
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("POST /api/events: %w", err)
	}
	if len(a.Invocations) != count {
		return nil, fmt.Errorf("POST /api/events: %d events queued %d invocations, want one each", count, len(a.Invocations))
	}
	ids := make([]string, len(a.Invocations))
	for i, inv := range a.Invocations {
		if inv.ID == "" || inv.Error != "" || inv.Status == "failed" {
			return nil, fmt.Errorf("POST /api/events: invocation %q is %s: %s", inv.ID, inv.Status, inv.Error)
		}
		ids[i] = inv.ID
	}
	return ids, nil
}

// post sends batches from posters concurrent clients, calling queued with
// the invocation ids of each batch and when its POST started.
func (a *emitAPI) post(ctx context.Context, batches []emitBatch, posters int, queued func(ids []string, sent time.Time)) error {
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for range posters {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(batches) {
					return
				}
				sent := time.Now()
				ids, err := a.postOne(ctx, batches[i])
				if err != nil {
					once.Do(func() { firstErr = err })
					next.Store(int64(len(batches))) // stop the others
					return
				}
				queued(ids, sent)
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return firstErr
}

func (a *emitAPI) postOne(ctx context.Context, bt emitBatch) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/api/events", bytes.NewReader(bt.body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	return parseEventsAnswer(resp.StatusCode, body, bt.count)
}

// waitFinal polls stats until total invocations are final, or timeout.
func (a *emitAPI) waitFinal(ctx context.Context, total int64, timeout time.Duration) (emitStats, bool, error) {
	deadline := time.Now().Add(timeout)
	for {
		st, err := a.stats(ctx)
		if err != nil {
			return st, false, err
		}
		if st.final(total) {
			return st, true, nil
		}
		if time.Now().After(deadline) {
			return st, false, nil
		}
		select {
		case <-ctx.Done():
			return st, false, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// startEmitHooklab writes the config for endpoint and starts a fresh
// hooklab with it.
func (b *bench) startEmitHooklab(ctx context.Context, name, endpoint string, concurrency int, rateLimit string) (*Server, error) {
	cfg := filepath.Join(b.dir, name+".yaml")
	if err := os.WriteFile(cfg, []byte(emitConfig(endpoint, concurrency, rateLimit)), 0o600); err != nil {
		return nil, err
	}
	b.c.config = cfg
	return b.startHooklab(ctx, name, true)
}

// stopAndClean stops srv and removes its data dir, unless --keep.
func (b *bench) stopAndClean(srv *Server, name string) {
	srv.Stop()
	if !b.c.keep {
		os.RemoveAll(filepath.Join(b.dir, "data-"+name))
	}
}

// hooklabEmitRun is one measured hooklab run: a fresh hooklab and sink,
// warm-up, then the batches posted while the sink counts deliveries.
func (b *bench) hooklabEmitRun(ctx context.Context, f *emitFlags, round int, batches, warm []emitBatch, expected map[string]struct{}) (Result, emitRound, error) {
	er := emitRound{Round: round}
	for _, bt := range batches {
		er.Invocations += bt.count
	}
	n := er.Invocations
	sink := newEmitSink(expected, emitSecret)
	url, stopSink, err := serveSink(sink)
	if err != nil {
		return Result{}, er, err
	}
	defer stopSink()
	name := fmt.Sprintf("hooklab-r%d", round)
	srv, err := b.startEmitHooklab(ctx, name, url+"/hooks/zendesk", f.concurrency, "")
	if err != nil {
		return Result{}, er, err
	}
	defer b.stopAndClean(srv, name)
	api := newEmitAPI(srv.URLs["ui"])
	fail := func(err error) (Result, emitRound, error) { return Result{}, er, errors.Join(err, srv.Check()) }

	var warmN int64
	if len(warm) > 0 {
		for _, bt := range warm {
			warmN += int64(bt.count)
		}
		if err := api.post(ctx, warm, f.posters, func([]string, time.Time) {}); err != nil {
			return fail(fmt.Errorf("warm-up: %w", err))
		}
		st, ok, err := api.waitFinal(ctx, warmN, f.timeout)
		if err != nil {
			return fail(err)
		}
		if !ok {
			return fail(fmt.Errorf("warm-up: invocations not final within %v: %+v", f.timeout, st))
		}
	}
	base, err := api.stats(ctx)
	if err != nil {
		return fail(err)
	}
	sink.reset()

	var mu sync.Mutex
	sentAt := make(map[string]time.Time, n)
	cpu0, cpuErr := procCPU(srv.PID())
	start := time.Now()
	err = api.post(ctx, batches, f.posters, func(ids []string, sent time.Time) {
		mu.Lock()
		for _, id := range ids {
			sentAt[id] = sent
		}
		mu.Unlock()
	})
	if err != nil {
		return fail(err)
	}
	er.QueuedS = time.Since(start).Seconds()
	er.DeliveredAtQ = sink.unique.Load()

	// Until the sink has every invocation, or hooklab says all are final
	// (some failed), or the timeout.
	deadline := time.Now().Add(f.timeout)
	lastPoll := time.Now()
	for sink.unique.Load() < int64(n) && time.Now().Before(deadline) {
		if err := ctx.Err(); err != nil {
			return fail(err)
		}
		if err := srv.Check(); err != nil {
			return fail(err)
		}
		if time.Since(lastPoll) > 500*time.Millisecond {
			lastPoll = time.Now()
			if st, err := api.stats(ctx); err == nil && st.final(base.Total+int64(n)) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
	st, final, err := api.waitFinal(ctx, base.Total+int64(n), time.Until(deadline))
	if err != nil {
		return fail(err)
	}
	er.FinalS = time.Since(start).Seconds()
	er.Final = final
	if cpu1, err := procCPU(srv.PID()); err == nil && cpuErr == nil {
		er.CPUSeconds = (cpu1 - cpu0).Seconds()
	}
	er.ByStatus = map[string]int64{}
	for k, v := range st.ByStatus {
		if d := v - base.ByStatus[k]; d != 0 {
			er.ByStatus[k] = d
		}
	}
	er.Success = er.ByStatus["success"]
	er.Dropped = st.DroppedEvents
	if m, err := srv.Mem(); err == nil {
		er.PeakRSS = m.Peak
	}

	sink.mu.Lock()
	defer sink.mu.Unlock()
	er.Unique = sink.unique.Load()
	er.Duplicates = sink.dups
	er.BadSignatures, er.Unsigned, er.UnexpectedBody = sink.badSig, sink.unsigned, sink.unexpected
	last := sink.last
	if last.IsZero() {
		last = time.Now()
	}
	er.LastDeliveryS = last.Sub(start).Seconds()
	lat := make([]time.Duration, 0, n)
	for id, t := range sink.seen {
		if s, ok := sentAt[id]; ok {
			lat = append(lat, t.Sub(s))
		} else {
			er.Unknown++
		}
	}
	for id := range sentAt {
		if sink.seen[id].IsZero() {
			er.Missing++
		}
	}
	res := Result{
		Requests: er.Unique - er.Unknown,
		Non2xx:   er.Missing,
		Errors:   er.Duplicates + er.Unknown + sink.noID,
		Elapsed:  last.Sub(start),
	}
	finishResult(&res, lat)
	res.Max = percentile(lat, 1)
	// Deliveries/s over the whole pipeline: first event posted to the last
	// invocation delivered.
	if res.Elapsed > 0 {
		res.RPS = float64(res.Requests) / res.Elapsed.Seconds()
	}
	return res, er, nil
}

// pendingRun starts a fresh hooklab whose webhook allows one delivery an
// hour and posts f.pending events in two halves; after each half, once
// every invocation is in the database and f.settle has passed, it reads
// the process's memory. The growth between the two readings, per
// invocation, is what one more pending invocation costs in RAM.
func (b *bench) pendingRun(ctx context.Context, f *emitFlags) (*emitPending, error) {
	p := &emitPending{Invocations: f.pending, SettleMillis: f.settle.Milliseconds()}
	sink := newEmitSink(map[string]struct{}{}, emitSecret)
	url, stopSink, err := serveSink(sink)
	if err != nil {
		return nil, err
	}
	defer stopSink()
	name := "hooklab-pending"
	srv, err := b.startEmitHooklab(ctx, name, url+"/hooks/zendesk", f.concurrency, "1/h")
	if err != nil {
		return nil, err
	}
	defer b.stopAndClean(srv, name)
	fail := func(err error) (*emitPending, error) { return nil, errors.Join(err, srv.Check()) }
	api := newEmitAPI(srv.URLs["ui"])
	m0, err := srv.Mem()
	if err != nil {
		return fail(err)
	}
	p.StartRSS = m0.RSS
	b.logf("pending: %s events to a fresh hooklab (pid %d) whose webhook has rate_limit: 1/h", thousands(float64(f.pending)), srv.PID())

	half := f.pending / 2
	var posting time.Duration
	var st emitStats
	var mems [2]Mem
	for step, upto := range []int{half, f.pending} {
		from := 0
		if step == 1 {
			from = half
		}
		start := time.Now()
		if err := b.postRange(ctx, api, f, from, upto); err != nil {
			return fail(err)
		}
		// Every invocation written to the database (none buffered).
		deadline := time.Now().Add(f.timeout)
		for {
			if st, err = api.stats(ctx); err != nil {
				return fail(err)
			}
			if st.Total >= int64(upto) && st.BufferedEvents == 0 {
				break
			}
			if time.Now().After(deadline) {
				return fail(fmt.Errorf("invocations not all queued within %v: %+v", f.timeout, st))
			}
			time.Sleep(50 * time.Millisecond)
		}
		posting += time.Since(start)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(f.settle):
		}
		if err := srv.Check(); err != nil {
			return nil, err
		}
		if mems[step], err = srv.Mem(); err != nil {
			return fail(err)
		}
		b.logf("pending: VmRSS %s, VmHWM %s with %s invocations", mb(mems[step].RSS), mb(mems[step].Peak), thousands(float64(upto)))
	}
	if st, err = api.stats(ctx); err != nil {
		return fail(err)
	}
	p.PostedS = posting.Seconds()
	p.EventsPerSec = float64(f.pending) / p.PostedS
	p.HalfRSS, p.RSS, p.PeakRSS = mems[0].RSS, mems[1].RSS, mems[1].Peak
	p.GrowthPerInv = float64(mems[1].RSS-m0.RSS) / float64(f.pending)
	if n := f.pending - half; n > 0 && half > 0 {
		p.MarginalPerInv = float64(mems[1].RSS-mems[0].RSS) / float64(n)
	} else {
		p.MarginalPerInv = p.GrowthPerInv
	}
	p.Queued, p.Total, p.ByStatus, p.Dropped = st.Queued, st.Total, st.ByStatus, st.DroppedEvents
	p.Delivered = sink.unique.Load()
	p.DiskBytes = dirSize(filepath.Join(b.dir, "data-"+name))
	return p, nil
}

// postRange posts events from first to end in batches of f.batch from
// f.posters clients, making each batch as it goes (100,000 events are
// ~60 MB of JSON), and logs progress every 10 s.
func (b *bench) postRange(ctx context.Context, api *emitAPI, f *emitFlags, first, end int) error {
	var (
		next, posted atomic.Int64
		firstErr     error
		once         sync.Once
		wg           sync.WaitGroup
		logMu        sync.Mutex
		lastLog      = time.Now()
	)
	next.Store(int64(first))
	for range f.posters {
		wg.Go(func() {
			for ctx.Err() == nil {
				from := int(next.Add(int64(f.batch))) - f.batch
				if from >= end {
					return
				}
				to := min(from+f.batch, end)
				if _, err := api.postOne(ctx, emitBatch{count: to - from, body: emitBatchBody(from, to)}); err != nil {
					once.Do(func() { firstErr = err })
					next.Store(int64(end))
					return
				}
				got := posted.Add(int64(to - from))
				logMu.Lock()
				if time.Since(lastLog) >= 10*time.Second {
					lastLog = time.Now()
					b.logf("pending: %s/%s events posted", thousands(float64(first)+float64(got)), thousands(float64(f.pending)))
				}
				logMu.Unlock()
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return firstErr
}

// userHZ is the unit of the CPU times in /proc/PID/stat (USER_HZ, 100 on
// every Linux architecture Go supports).
const userHZ = 100

// procCPU returns the user+system CPU time pid has used.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, err
	}
	return parseProcStatCPU(b)
}

// parseProcStatCPU reads utime and stime (fields 14 and 15) from the text
// of /proc/PID/stat. The command name (field 2) is in parentheses and may
// hold spaces and parentheses, so fields are counted after its last ')'.
func parseProcStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, errors.New("proc stat: no command name")
	}
	f := strings.Fields(string(b[i+1:])) // f[0] is field 3, the state
	if len(f) < 13 {
		return 0, errors.New("proc stat: too few fields")
	}
	var ticks int64
	for _, s := range f[11:13] {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("proc stat: bad CPU time %q", s)
		}
		ticks += n
	}
	return time.Duration(ticks) * time.Second / userHZ, nil
}

// dirSize returns the bytes of the regular files under dir.
func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return n
}
