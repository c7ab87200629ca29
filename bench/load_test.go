package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The files in testdata/wrk are real output of wrk 4.1.0 --latency against
// small local servers: fast answers, 500s, a few ms, over a second, closed
// connections, timeouts, and a refused connection.
func TestParseWrk(t *testing.T) {
	t.Parallel()
	us, ms := time.Microsecond, time.Millisecond
	tests := []struct {
		file    string
		want    Result
		wantErr string
	}{
		{file: "fast.txt", want: Result{Requests: 92049, Elapsed: 2100 * ms, RPS: 43825.57, P50: 494 * us, P99: 6920 * us, Max: 14970 * us}},
		{file: "fail.txt", want: Result{Requests: 35570, Non2xx: 35570, Elapsed: 1100 * ms, RPS: 32373.21, P50: 569 * us, P99: 217190 * us, Max: 245020 * us}},
		{file: "ms.txt", want: Result{Requests: 1163, Elapsed: 1100 * ms, RPS: 1057.30, P50: 3570 * us, P99: 7450 * us, Max: 14890 * us}},
		{file: "slow.txt", want: Result{Requests: 16, Elapsed: 3010 * ms, RPS: 5.31, P50: 1100 * ms, P99: 1100 * ms, Max: 1100 * ms}},
		{file: "close.txt", want: Result{Requests: 0, Errors: 8261, Elapsed: 1100 * ms, RPS: 0}},
		{file: "timeout.txt", want: Result{Requests: 4, Errors: 4, Elapsed: 3010 * ms, RPS: 1.33}},
		{file: "refused.txt", wantErr: "no \"N requests in T\" line"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(filepath.Join("testdata", "wrk", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseWrk(string(b))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("parseWrk error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("parseWrk =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestParseWrkErrors(t *testing.T) {
	t.Parallel()
	fast, err := os.ReadFile(filepath.Join("testdata", "wrk", "fast.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, out, wantErr string
	}{
		{"no latency flag", strings.Split(string(fast), "  Latency Distribution")[0] + "  92049 requests in 2.10s, 10.36MB read\n", "no latency distribution"},
		{"no 99 line", strings.Replace(string(fast), "     99%    6.92ms\n", "", 1), "lacks the 50% or 99%"},
		{"bad unit", strings.Replace(string(fast), "494.00us", "494.00ns", 1), "bad duration unit"},
		{"empty", "", "no \"N requests in T\" line"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := parseWrk(tt.out)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("parseWrk error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestParseWrkDuration(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{in: "0.00us", want: 0},
		{in: "494.00us", want: 494 * time.Microsecond},
		{in: "1.22ms", want: 1220 * time.Microsecond},
		{in: "217.19ms", want: 217190 * time.Microsecond},
		{in: "1.10s", want: 1100 * time.Millisecond},
		{in: "1.00m", want: time.Minute},
		{in: "2.50h", want: 150 * time.Minute},
		{in: "12", wantErr: true},
		{in: "ms", wantErr: true},
		{in: "1.2.3ms", wantErr: true},
		{in: "5ns", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := parseWrkDuration(tt.in)
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseWrkDuration(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("parseWrkDuration(%q) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestPercentile(t *testing.T) {
	t.Parallel()
	seq := func(n int) []time.Duration {
		s := make([]time.Duration, n)
		for i := range s {
			s[i] = time.Duration(i + 1)
		}
		return s
	}
	tests := []struct {
		name string
		in   []time.Duration
		q    float64
		want time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", seq(1), 0.99, 1},
		{"median of 100", seq(100), 0.50, 50},
		{"p99 of 100", seq(100), 0.99, 99},
		{"p99 of 1000", seq(1000), 0.99, 990},
		{"p99 of 10", seq(10), 0.99, 10},
		{"median of 3", seq(3), 0.5, 2},
		{"max", seq(7), 1, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := percentile(tt.in, tt.q); got != tt.want {
				t.Errorf("percentile(%d values, %v) = %v, want %v", len(tt.in), tt.q, got, tt.want)
			}
		})
	}
}

// recorder is an upstream that counts requests and remembers the first
// body and content type it saw.
type recorder struct {
	status int
	n      atomic.Int64
	mu     sync.Mutex
	body   []byte
	ctype  string
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if rec.n.Add(1) == 1 {
		rec.mu.Lock()
		rec.body, rec.ctype = b, r.Header.Get("Content-Type")
		rec.mu.Unlock()
	}
	if rec.status != 0 {
		w.WriteHeader(rec.status)
	}
}

func loadSpec(url string) Spec {
	return Spec{
		Method:      http.MethodPost,
		URL:         url,
		Header:      http.Header{"Content-Type": {"application/json"}},
		Body:        jsonBody(1024),
		Connections: 4,
		Threads:     1,
	}
}

func TestGoLoadDuration(t *testing.T) {
	t.Parallel()
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	s := loadSpec(srv.URL + "/hook")
	s.Duration = time.Second
	res, err := goLoad{}.Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Requests != rec.n.Load() {
		t.Errorf("Requests = %d, server saw %d", res.Requests, rec.n.Load())
	}
	if res.Errors != 0 || res.Non2xx != 0 {
		t.Errorf("Errors = %d, Non2xx = %d, want 0", res.Errors, res.Non2xx)
	}
	if res.RPS <= 0 || res.P50 <= 0 || res.P50 > res.P99 || res.P99 > res.Max {
		t.Errorf("RPS %v, P50 %v, P99 %v, Max %v: want positive and P50 ≤ P99 ≤ Max", res.RPS, res.P50, res.P99, res.Max)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !bytes.Equal(rec.body, s.Body) || rec.ctype != "application/json" {
		t.Errorf("server got %d bytes of %q, want the %d-byte JSON body", len(rec.body), rec.ctype, len(s.Body))
	}
}

func TestGoLoadCount(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		status     int
		wantNon2xx int64
	}{
		{"ok", 0, 0},
		{"server errors", http.StatusInternalServerError, 250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rec := &recorder{status: tt.status}
			srv := httptest.NewServer(rec)
			t.Cleanup(srv.Close)
			s := loadSpec(srv.URL)
			s.Requests = 250
			res, err := goLoad{}.Run(context.Background(), s)
			if err != nil {
				t.Fatal(err)
			}
			if res.Requests != 250 || rec.n.Load() != 250 {
				t.Errorf("Requests = %d, server saw %d, want 250", res.Requests, rec.n.Load())
			}
			if res.Non2xx != tt.wantNon2xx {
				t.Errorf("Non2xx = %d, want %d", res.Non2xx, tt.wantNon2xx)
			}
		})
	}
}

func TestGoLoadFixedRate(t *testing.T) {
	t.Parallel()
	t.Run("sends exactly rate × duration", func(t *testing.T) {
		t.Parallel()
		rec := &recorder{}
		srv := httptest.NewServer(rec)
		t.Cleanup(srv.Close)
		s := loadSpec(srv.URL)
		s.Rate, s.Duration = 200, time.Second
		res, err := goLoad{}.Run(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests != 200 || rec.n.Load() != 200 {
			t.Errorf("Requests = %d, server saw %d, want the 200 scheduled", res.Requests, rec.n.Load())
		}
		if res.Elapsed < 990*time.Millisecond {
			t.Errorf("Elapsed %v: the requests were not spread over the second", res.Elapsed)
		}
	})
	t.Run("a server behind shows its backlog", func(t *testing.T) {
		t.Parallel()
		// One connection to a server taking 10 ms a request, asked for 400
		// a second over 250 ms: 100 requests take a second to answer, so
		// the last waited ~750 ms from its scheduled time. A closed loop
		// would report 10 ms for every one.
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			time.Sleep(10 * time.Millisecond)
		}))
		t.Cleanup(srv.Close)
		s := loadSpec(srv.URL)
		s.Connections, s.Rate, s.Duration = 1, 400, 250*time.Millisecond
		res, err := goLoad{}.Run(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if res.Requests != 100 || res.P99 < 500*time.Millisecond || res.P50 < 200*time.Millisecond || res.Late < 90 {
			t.Errorf("requests %d, p50 %v, p99 %v, late %d: want 100, a p50 over 200 ms, a p99 over 500 ms, 90+ late",
				res.Requests, res.P50, res.P99, res.Late)
		}
	})
	t.Run("refused", func(t *testing.T) {
		t.Parallel()
		s := loadSpec("http://127.0.0.1:1")
		s.Rate, s.Requests = 10, 5
		if _, err := (goLoad{}).Run(context.Background(), s); err == nil || !strings.Contains(err.Error(), "fixed rate") {
			t.Errorf("rate with a request count: %v", err)
		}
	})
}

func TestGoLoadServerGone(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	s := loadSpec(url)
	s.Duration = 10 * time.Second // the error stops it long before
	_, err := goLoad{}.Run(context.Background(), s)
	if err == nil || !strings.Contains(err.Error(), "errors in a row") {
		t.Fatalf("Run against a closed port: error = %v, want errors in a row", err)
	}
}

func TestGoLoadCancel(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&recorder{})
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := loadSpec(srv.URL)
	s.Duration = 10 * time.Second
	if _, err := (goLoad{}).Run(ctx, s); err != context.Canceled {
		t.Fatalf("Run with a cancelled context: error = %v, want context.Canceled", err)
	}
}

func TestLuaQuote(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"POST", `"POST"`},
		{`{"a":"b\c"}`, `"{\034a\034:\034b\092c\034}"`},
		{"x\n\x00\xff1", `"x\010\000\2551"`},
	}
	for _, tt := range tests {
		if got := luaQuote(tt.in); got != tt.want {
			t.Errorf("luaQuote(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// TestWrkLoad runs wrk for one second, when it is installed, to check that
// the script sends the exact body and that its report parses.
func TestWrkLoad(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("wrk"); err != nil {
		t.Skip("wrk not on PATH")
	}
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	gen, err := newGenerator("wrk", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	s := loadSpec(srv.URL + "/hook")
	s.Body = append(jsonBody(200), "\n\x00\xff\"\\]]"...) // bytes a naive quoting would mangle
	s.Duration = time.Second
	res, err := gen.Run(context.Background(), s)
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests == 0 || res.Errors != 0 || res.Non2xx != 0 {
		t.Errorf("wrk result %+v: want requests and no errors", res)
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if !bytes.Equal(rec.body, s.Body) || rec.ctype != "application/json" {
		t.Errorf("server got %q (%q), want %q (application/json)", rec.body, rec.ctype, s.Body)
	}
}
