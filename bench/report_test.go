package main

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestMedian(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestThousands(t *testing.T) {
	t.Parallel()
	tests := map[float64]string{0: "0", 999.4: "999", 999.6: "1,000", 43825.57: "43,826", 1234567: "1,234,567", -1500: "-1,500"}
	for in, want := range tests {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
}

// TestSummarize checks that ratios pair runs of the same round, whatever
// order they were recorded in, and that the median of the ratios is taken.
func TestSummarize(t *testing.T) {
	t.Parallel()
	r := &Report{Baseline: "bare"}
	runs := []struct {
		name  string
		round int
		rps   float64
	}{
		{"bare", 1, 1000}, {"hooklab", 1, 600},
		{"hooklab", 2, 300}, {"bare", 2, 500}, // a slow round: same ratio
		{"bare", 3, 1000}, {"hooklab", 3, 900},
	}
	for _, x := range runs {
		r.addRun(x.name, x.round, Result{Requests: int64(x.rps), RPS: x.rps, P50: time.Millisecond, P99: time.Duration(x.rps) * time.Microsecond})
	}
	r.summarize()
	bare, hl := r.row("bare"), r.row("hooklab")
	if bare.RPS != 1000 || hl.RPS != 600 {
		t.Errorf("median req/s: bare %v, hooklab %v; want 1000, 600", bare.RPS, hl.RPS)
	}
	if math.Abs(hl.Ratio-0.6) > 1e-9 {
		t.Errorf("hooklab ratio = %v, want 0.6 (median of 0.6, 0.6, 0.9)", hl.Ratio)
	}
	if bare.Ratio != 0 {
		t.Errorf("baseline ratio = %v, want 0", bare.Ratio)
	}
	if got := r.pairRatio("hooklab", "bare"); math.Abs(got-hl.Ratio) > 1e-9 {
		t.Errorf("pairRatio(hooklab, bare) = %v, want %v", got, hl.Ratio)
	}
	if got := r.pairRatio("bare", "missing"); got != 0 {
		t.Errorf("pairRatio with a missing row = %v, want 0", got)
	}
	if hl.P99Ms != 0.6 || hl.Requests != 1800 {
		t.Errorf("hooklab p99 %vms, requests %d; want 0.6ms, 1800", hl.P99Ms, hl.Requests)
	}
}

func TestReportOutput(t *testing.T) {
	t.Parallel()
	r := &Report{Bench: "capture", Baseline: "bare", Load: "go", Connections: 32, Rounds: 1, DurationS: 1}
	r.addRun("bare", 1, Result{Requests: 1000, RPS: 1000, P50: time.Millisecond, P99: 2 * time.Millisecond, ServerCPU: 22 * time.Millisecond})
	r.addRun("hooklab", 1, Result{Requests: 500, RPS: 500, P50: time.Millisecond, P99: 7 * time.Millisecond, ServerCPU: 30 * time.Millisecond})
	r.summarize()
	r.row("bare").Fixed = fixedRateOf(5000, []Result{
		{RPS: 4990, P50: time.Millisecond, P99: 3 * time.Millisecond, P999: 4 * time.Millisecond, Max: 9 * time.Millisecond, Late: 1},
		{RPS: 5000, P50: time.Millisecond, P99: 2 * time.Millisecond, P999: 5 * time.Millisecond, Max: 8 * time.Millisecond, Late: 2},
		{RPS: 4980, P50: 2 * time.Millisecond, P99: 4 * time.Millisecond, P999: 6 * time.Millisecond, Max: 7 * time.Millisecond, Errors: 3},
	})
	r.checkAtLeast("ratio ≥ 0.6", r.row("hooklab").Ratio, 0.6, "0.50")
	r.checkAtMost("p99 ≤ 5ms", r.row("hooklab").P99Ms, 5, "7.00ms")
	r.checkAtMost("p99 bare ≤ 5ms", r.row("bare").P99Ms, 5, "2.00ms")
	if !r.Failed() {
		t.Error("Failed() = false with failing checks")
	}
	var text bytes.Buffer
	if err := r.WriteText(&text); err != nil {
		t.Fatal(err)
	}
	for _, want := range [][]string{
		{"hooklab", "500", "1.00ms", "7.00ms", "n/a", "0", "0", "0.50"},
		{"ratio", "≥", "0.6", "0.50", "FAIL"},
		{"server", "CPU", "per", "request", "(each", "target's", "own", "process,", "until", "idle", "again", "after", "each", "round,", "so", "deferred", "work", "counts;", "medians):", "bare", "22.0", "µs,", "hooklab", "60.0", "µs"},
		{"p99", "bare", "≤", "5ms", "2.00ms", "PASS"},
		{"latency", "at", "a", "fixed", "5,000", "req/s", "(open", "loop,", "Go", "generator;", "from", "each", "request's", "scheduled", "time;", "medians", "of", "3", "runs):"},
		{"bare", "4,990", "1.00ms", "3.00ms", "5.00ms", "8.00ms", "3", "0", "3"},
	} {
		if !hasLine(text.String(), want) {
			t.Errorf("text report lacks a line of %q:\n%s", want, text.String())
		}
	}
	var js bytes.Buffer
	if err := r.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if len(back.Rows) != 2 || back.Rows[1].Ratio != 0.5 || len(back.Checks) != 3 || back.Checks[0].Pass ||
		back.Rows[0].Fixed == nil || back.Rows[0].Fixed.P999Ms != 5 || back.Rows[1].Fixed != nil {
		t.Errorf("JSON round trip: %s", js.String())
	}
}

// hasLine reports whether text has a line made of exactly fields.
func hasLine(text string, fields []string) bool {
	for _, line := range strings.Split(text, "\n") {
		if slices.Equal(strings.Fields(line), fields) {
			return true
		}
	}
	return false
}
