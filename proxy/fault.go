package proxy

import (
	"context"
	"crypto/rand"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// pickFault decides whether this request fails, and how: fail is true when
// it does, with fault (rules.FaultNone means a 503 answer).
func (rt *Route) pickFault() (fault rules.Fault, fail bool) {
	switch {
	case rt.Fault == rules.FaultNone && rt.FailRate == 0:
		return rules.FaultNone, false
	case rt.FailRate > 0 && mrand.Float64() >= rt.FailRate:
		return rules.FaultNone, false
	}
	return rt.Fault, true
}

// injectFault answers in place of the upstream the way fault says, and
// records the exchange.
func (p *Reverse) injectFault(w http.ResponseWriter, r *http.Request, f *flight, fault rules.Fault) {
	meta := f.meta()
	if f.route.FailRate > 0 {
		meta["fail_rate"] = f.route.FailRate
	}
	if fault == rules.FaultNone {
		meta["fault"] = "fail_rate"
		body := inspect.JSONLine(map[string]string{
			"error": "injected failure (fail_rate)", "proxy": p.opts.Name, "route": f.route.Prefix,
		}, "")
		f.ex.Error = "injected failure (fail_rate): answered 503"
		f.ex.Response = &inspect.Response{
			Status:  http.StatusServiceUnavailable,
			Headers: inspect.Headers{{Name: "Content-Type", Value: "application/json"}},
			Body:    body, Size: int64(len(body)),
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(body)
		p.finish(f, nil)
		return
	}
	meta["fault"] = string(fault)
	f.ex.Error = "fault injected: " + string(fault)
	if fault == rules.FaultTimeout {
		var stop <-chan struct{} // nil: never
		if p.opts.Stopping != nil {
			stop = p.opts.Stopping.Done()
		}
		select { // hang until the client gives up or hooklab stops
		case <-r.Context().Done():
		case <-stop:
		}
		p.finish(f, nil)
		panic(http.ErrAbortHandler) // drop the connection: no default 200
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// HTTP/2: the connection is shared, so the stream is reset instead.
		f.ex.Error += " (HTTP/2: stream reset)"
		p.finish(f, nil)
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	switch fault {
	case rules.FaultReset:
		if tc, ok := conn.(interface{ SetLinger(int) error }); ok {
			_ = tc.SetLinger(0) // close sends RST
		}
	case rules.FaultEmpty:
		// A status line and headers that promise a body, then nothing.
		fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1024\r\n\r\n")
		_ = buf.Flush()
	case rules.FaultGarbage:
		junk := make([]byte, 1024)
		_, _ = rand.Read(junk)
		_, _ = buf.Write(junk)
		_ = buf.Flush()
	case rules.FaultClose:
		// close with nothing sent
	}
	p.finish(f, nil)
}

// dripWriter passes a response through at rate bytes per second, flushing
// as it goes.
type dripWriter struct {
	http.ResponseWriter
	ctx   context.Context
	rate  int
	start time.Time
	sent  int64
}

func newDripWriter(w http.ResponseWriter, ctx context.Context, rate int) *dripWriter {
	if rate <= 0 {
		rate = rules.DefaultDripRate
	}
	return &dripWriter{ResponseWriter: w, ctx: ctx, rate: rate}
}

func (d *dripWriter) Write(p []byte) (int, error) {
	if d.start.IsZero() {
		d.start = time.Now()
	}
	chunk := max(d.rate/10, 1) // about ten writes a second
	written := 0
	for len(p) > 0 {
		n := min(chunk, len(p))
		due := d.start.Add(time.Duration(float64(d.sent+int64(n)) / float64(d.rate) * float64(time.Second)))
		if wait := time.Until(due); wait > 0 {
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-d.ctx.Done():
				t.Stop()
				return written, d.ctx.Err()
			}
		}
		m, err := d.ResponseWriter.Write(p[:n])
		written += m
		d.sent += int64(m)
		if err != nil {
			return written, err
		}
		_ = http.NewResponseController(d.ResponseWriter).Flush()
		p = p[n:]
	}
	return written, nil
}

func (d *dripWriter) Flush() { _ = http.NewResponseController(d.ResponseWriter).Flush() }

// Unwrap gives http.ResponseController the writer underneath.
func (d *dripWriter) Unwrap() http.ResponseWriter { return d.ResponseWriter }
