package mock_test

import (
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

const faultsConfig = `
mocks:
  - name: ranged
    match: {path: /ranged}
    respond: {status: 202, body: late, delay: 100ms..250ms}
  - name: reset
    match: {path: /reset}
    respond: {fault: reset}
  - name: close
    match: {path: /close}
    respond: {fault: close}
  - name: empty
    match: {path: /empty}
    respond: {status: 201, body: never sent, fault: empty}
  - name: garbage
    match: {path: /garbage}
    respond: {fault: garbage}
  - name: drip
    match: {path: /drip}
    respond:
      headers: {Content-Type: text/plain}
      body: "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN"
      fault: drip
      drip_rate: 100
  - name: always-fails
    match: {path: /fail}
    respond: {body: fine, fail_rate: 1}
  - name: never-fails
    match: {path: /nofail}
    respond: {body: fine, fail_rate: 0}
  - name: fails-closing
    match: {path: /fail-close}
    respond: {body: fine, fail_rate: 1, fail_fault: close}
  - name: fails-dripping
    match: {path: /fail-drip}
    respond: {body: "twenty bytes of body", fail_rate: 1, fail_fault: drip} # drip_rate is refused here (rules bug); the default is 100
`

// TestDelay: the answer arrives no earlier than the delay, fixed (the
// example's slow rule) or picked from a range, and the delay is recorded.
func TestDelay(t *testing.T) {
	t.Parallel()
	cfg := loadExample(t)
	cfg.Mocks = append(cfg.Mocks, parseConfig(t, "faults.yaml", faultsConfig).Mocks...)
	h := newHarness(t, cfg, nil)
	for _, tc := range []struct {
		path       string
		status     int
		body       string
		lo, hi     time.Duration
		wantRecord time.Duration // 0: any in [lo, hi]
	}{
		{"/b/slow/slow", 204, "", 300 * time.Millisecond, 300 * time.Millisecond, 300 * time.Millisecond},
		{"/b/ranged/ranged", 202, "late", 100 * time.Millisecond, 250 * time.Millisecond, 0},
		{"/b/ranged/ranged", 202, "late", 100 * time.Millisecond, 250 * time.Millisecond, 0},
		{"/b/ranged/ranged", 202, "late", 100 * time.Millisecond, 250 * time.Millisecond, 0},
	} {
		a := h.do(t, http.MethodPost, tc.path, nil, nil)
		if a.Status != tc.status || string(a.Body) != tc.body {
			t.Errorf("%s: %d %q, want %d %q", tc.path, a.Status, a.Body, tc.status, tc.body)
		}
		bin, _, _ := strings.Cut(strings.TrimPrefix(tc.path, "/b/"), "/")
		ex := h.last(t, bin)
		ms, ok := ex.Meta["delay_ms"].(float64)
		picked := time.Duration(ms) * time.Millisecond
		if !ok || picked < tc.lo || picked > tc.hi || tc.wantRecord != 0 && picked != tc.wantRecord {
			t.Errorf("%s: recorded delay %v (%v), want in [%v, %v]", tc.path, ex.Meta["delay_ms"], picked, tc.lo, tc.hi)
		}
		if a.Elapsed < picked {
			t.Errorf("%s: answered after %v, before the delay of %v", tc.path, a.Elapsed, picked)
		}
		if ex.Duration < picked {
			t.Errorf("%s: recorded duration %v, less than the delay of %v", tc.path, ex.Duration, picked)
		}
		sentAsRecorded(t, ex, a)
	}
}

// TestFaults: each fault misbehaves on the wire as named, and the exchange
// records it.
func TestFaults(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "faults.yaml", faultsConfig), nil)
	for _, tc := range []struct {
		fault string
		// check inspects what the client saw.
		check func(t *testing.T, a answer, err error)
	}{
		{"reset", func(t *testing.T, a answer, err error) {
			if !errors.Is(err, syscall.ECONNRESET) {
				t.Errorf("client error %v (answer %d %q), want connection reset", err, a.Status, a.Body)
			}
		}},
		{"close", func(t *testing.T, a answer, err error) {
			if !errors.Is(err, io.EOF) {
				t.Errorf("client error %v (answer %d %q), want EOF (empty reply)", err, a.Status, a.Body)
			}
		}},
		{"empty", func(t *testing.T, a answer, err error) {
			// The status line and headers arrive, then the connection
			// ends without the promised body.
			if a.Status != 201 || !errors.Is(err, io.ErrUnexpectedEOF) || len(a.Body) != 0 {
				t.Errorf("answer %d %q, error %v; want 201 with a body cut short", a.Status, a.Body, err)
			}
		}},
		{"garbage", func(t *testing.T, a answer, err error) {
			if err == nil || !strings.Contains(err.Error(), "malformed HTTP") {
				t.Errorf("client error %v (answer %d), want a malformed-response error", err, a.Status)
			}
		}},
	} {
		t.Run(tc.fault, func(t *testing.T) {
			t.Parallel()
			bin := "fault-" + tc.fault
			a, err := h.try(http.MethodPost, "/b/"+bin+"/"+tc.fault, nil, []byte("payload"), 10*time.Second)
			tc.check(t, a, err)
			ex := h.last(t, bin)
			wantFault(t, ex, tc.fault)
			switch {
			case tc.fault == "empty":
				// What went is recorded: the status and headers.
				if ex.Response == nil || ex.Response.Status != 201 || len(ex.Response.Body) != 0 || ex.Response.Headers.Get("Content-Length") == "" {
					t.Errorf("fault empty recorded the response %+v, want the 201 head that was sent", ex.Response)
				}
			case ex.Response != nil:
				t.Errorf("fault %s recorded a response %+v", tc.fault, ex.Response)
			}
			if string(ex.Request.Body) != "payload" {
				t.Errorf("request body %q not recorded", ex.Request.Body)
			}
		})
	}
}

// wantFault checks the exchange records fault.
func wantFault(t testing.TB, ex *inspect.Exchange, fault string) {
	t.Helper()
	if got := metaString(ex, "fault"); got != fault {
		t.Errorf("meta fault %q, want %q (meta %v)", got, fault, ex.Meta)
	}
	if ex.Rule == "" {
		t.Errorf("fault %s exchange names no rule", fault)
	}
	if fault != "drip" && !strings.Contains(ex.Error, fault) {
		t.Errorf("exchange error %q does not name fault %s", ex.Error, fault)
	}
}

// TestFaultTimeout: the client gives up; the handler returns once the
// request's context ends, without answering.
func TestFaultTimeout(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "timeout.yaml", `
mocks:
  - name: hang
    match: {path: /hang}
    respond: {body: never, fault: timeout}
`), nil)
	start := time.Now()
	a, err := h.try(http.MethodPost, "/b/to/hang", nil, []byte("x"), 300*time.Millisecond)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("client error %v (answer %d %q), want its timeout", err, a.Status, a.Body)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("client gave up after %v, before its timeout", d)
	}
	h.waitHandler(t, 5*time.Second, "a hanging request whose client gave up")
	ex := h.last(t, "to")
	wantFault(t, ex, "timeout")
	if ex.Response != nil {
		t.Errorf("timeout recorded a response %+v", ex.Response)
	}
}

// TestFaultDrip: the body arrives complete, at the drip rate.
func TestFaultDrip(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "faults.yaml", faultsConfig), nil)
	for _, tc := range []struct {
		path    string
		body    string
		minTime time.Duration // bytes at 100 B/s, less one tick of slack
	}{
		{"/b/drip/drip", "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMN", 400 * time.Millisecond},
		{"/b/faildrip/fail-drip", "twenty bytes of body", 100 * time.Millisecond},
	} {
		t.Run(tc.path, func(t *testing.T) {
			t.Parallel()
			a := h.do(t, http.MethodGet, tc.path, nil, nil)
			if a.Status != 200 || string(a.Body) != tc.body {
				t.Fatalf("answer %d %q, want the whole body", a.Status, a.Body)
			}
			if a.Elapsed < tc.minTime {
				t.Errorf("%d bytes at 100 B/s arrived in %v", len(a.Body), a.Elapsed)
			}
			bin, _, _ := strings.Cut(strings.TrimPrefix(tc.path, "/b/"), "/")
			ex := h.last(t, bin)
			wantFault(t, ex, "drip")
			sentAsRecorded(t, ex, a)
			if want := time.Duration(len(tc.body)) * time.Second / 100; ex.Duration < want {
				t.Errorf("recorded duration %v, less than %d bytes at 100 B/s", ex.Duration, len(tc.body))
			}
		})
	}
}

// TestDripRateBelowTenPerSecond: a low drip rate is not rounded up to one
// byte per tick.
func TestDripRateBelowTenPerSecond(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "slowdrip.yaml", `
mocks:
  - name: trickle
    match: {path: /t}
    respond: {body: abcd, fault: drip, drip_rate: 5}
`), nil)
	a := h.do(t, http.MethodGet, "/t", nil, nil)
	// 4 bytes at 5 B/s take 800ms.
	if string(a.Body) != "abcd" || a.Elapsed < 700*time.Millisecond {
		t.Errorf("%q arrived in %v, want 4 bytes at 5 B/s", a.Body, a.Elapsed)
	}
}

// TestFailRate: fail_rate 1 always fails (with a 503, or with fail_fault);
// fail_rate 0 never does.
func TestFailRate(t *testing.T) {
	t.Parallel()
	h := newHarness(t, parseConfig(t, "faults.yaml", faultsConfig), nil)

	for i := 0; i < 20; i++ {
		a := h.do(t, http.MethodGet, "/b/fail/fail", nil, nil)
		var got struct{ Error, Rule string }
		if a.Status != http.StatusServiceUnavailable || json.Unmarshal(a.Body, &got) != nil || got.Rule != "always-fails" {
			t.Fatalf("request %d with fail_rate 1: %d %s", i, a.Status, a.Body)
		}
		ex := h.last(t, "fail")
		wantFault(t, ex, "fail_rate")
		sentAsRecorded(t, ex, a)
		if t.Failed() {
			t.FailNow()
		}

		if a := h.do(t, http.MethodGet, "/b/nofail/nofail", nil, nil); a.Status != 200 || string(a.Body) != "fine" {
			t.Fatalf("request %d with fail_rate 0: %d %s", i, a.Status, a.Body)
		}
		if ex := h.last(t, "nofail"); ex.Error != "" || ex.Meta["fault"] != nil {
			t.Fatalf("fail_rate 0 exchange marked: %q %v", ex.Error, ex.Meta)
		}
	}

	_, err := h.try(http.MethodGet, "/b/failclose/fail-close", nil, nil, 10*time.Second)
	if !errors.Is(err, io.EOF) {
		t.Errorf("fail_fault close: client error %v, want EOF", err)
	}
	ex := h.last(t, "failclose")
	wantFault(t, ex, "close")
	if ex.Meta["fail_rate"] != true {
		t.Errorf("fail_fault exchange does not say fail_rate chose it: %v", ex.Meta)
	}
}

// TestFaultsHTTP2: over HTTP/2, where the connection cannot be taken over,
// the connection-breaking faults reset the stream; the others behave as on
// HTTP/1.1.
func TestFaultsHTTP2(t *testing.T) {
	t.Parallel()
	h := newHarnessProto(t, parseConfig(t, "faults.yaml", faultsConfig), nil, true)
	for _, fault := range []string{"reset", "close", "empty", "garbage"} {
		t.Run(fault, func(t *testing.T) {
			bin := "h2-" + fault
			a, err := h.try(http.MethodPost, "/b/"+bin+"/"+fault, nil, []byte("payload"), 10*time.Second)
			if err == nil {
				t.Errorf("fault %s over HTTP/2: answer %d %q and no error", fault, a.Status, a.Body)
			}
			wantFault(t, h.last(t, bin), fault)
		})
	}
	t.Run("drip", func(t *testing.T) {
		a := h.do(t, http.MethodGet, "/b/h2-drip/drip", nil, nil)
		if len(a.Body) != 50 || a.Elapsed < 400*time.Millisecond {
			t.Errorf("drip over HTTP/2: %d bytes in %v", len(a.Body), a.Elapsed)
		}
		if p := h.last(t, "h2-drip").Request.Proto; p != "HTTP/2.0" {
			t.Errorf("request went over %s", p)
		}
	})
	t.Run("timeout", func(t *testing.T) {
		h2 := newHarnessProto(t, parseConfig(t, "timeout.yaml", "mocks:\n  - {name: hang, match: {path: /hang}, respond: {fault: timeout}}\n"), nil, true)
		if _, err := h2.try(http.MethodGet, "/hang", nil, nil, 300*time.Millisecond); err == nil {
			t.Fatal("no client timeout")
		}
		h2.waitHandler(t, 5*time.Second, "a hanging HTTP/2 request whose client gave up")
	})
}
