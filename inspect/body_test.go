package inspect

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// pacedServer serves requests whose bodies pacer paces, over HTTP/1.1 or
// h2c, and sends each read's error (nil: the body was read whole) on the
// returned channel once Done has been called. got receives a value once
// the first bytes have arrived.
func pacedServer(t *testing.T, pacer *Pacer, h2c bool) (url string, client *http.Client, errs <-chan error, got <-chan struct{}) {
	t.Helper()
	errc := make(chan error, 1)
	gotc := make(chan struct{}, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pb := pacer.Body(r.Body, http.NewResponseController(w))
		b := make([]byte, 1024)
		var err error
		for {
			var n int
			n, err = pb.Read(b)
			if n > 0 {
				select {
				case gotc <- struct{}{}:
				default:
				}
			}
			if err != nil {
				break
			}
		}
		if err == io.EOF {
			err = nil
		}
		pb.Done(err == nil)
		errc <- err
	}))
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	tr := &http.Transport{Protocols: new(http.Protocols)}
	if h2c {
		tr.Protocols.SetUnencryptedHTTP2(true)
	} else {
		tr.Protocols.SetHTTP1(true)
	}
	t.Cleanup(tr.CloseIdleConnections)
	return srv.URL, &http.Client{Transport: tr}, errc, gotc
}

// TestPacerCutOff: when a Pacer's context ends, a body still coming ends
// at once, saying the request ended before it did, over HTTP/1.1 and h2c;
// and its pacer holds on to nothing once it is done.
func TestPacerCutOff(t *testing.T) {
	for _, h2c := range []bool{false, true} {
		t.Run(map[bool]string{false: "http1", true: "h2c"}[h2c], func(t *testing.T) {
			t.Parallel()
			ctx, cut := context.WithCancel(context.Background())
			defer cut()
			pacer := NewPacer(ctx, time.Minute)
			url, client, errs, got := pacedServer(t, pacer, h2c)
			pr, pw := io.Pipe()
			defer pw.Close()
			go func() { _, _ = pw.Write([]byte("the start of a body that never ends")) }()
			req, _ := http.NewRequest("POST", url, pr)
			req.ContentLength = -1
			go func() {
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			<-got
			cut()
			// The body never ends: only the cut-off ends the read.
			select {
			case err := <-errs:
				if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "the request ended before its body did") {
					t.Errorf("read ended with %v; want the cut-off's error", err)
				}
			case <-time.After(time.Minute):
				t.Fatal("the cut-off did not end the read")
			}
			wantNoneOpen(t, pacer)
		})
	}
}

// TestPacerClientGone: a client that goes away mid-body ends the read
// itself, with no context (a nil one) to end it, and not as a slow body.
func TestPacerClientGone(t *testing.T) {
	for _, h2c := range []bool{false, true} {
		t.Run(map[bool]string{false: "http1", true: "h2c"}[h2c], func(t *testing.T) {
			t.Parallel()
			pacer := NewPacer(nil, time.Minute)
			url, client, errs, got := pacedServer(t, pacer, h2c)
			pr, pw := io.Pipe()
			defer pw.Close()
			go func() { _, _ = pw.Write([]byte("the start of a body that never ends")) }()
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "POST", url, pr)
			req.ContentLength = -1
			go func() {
				if resp, err := client.Do(req); err == nil {
					resp.Body.Close()
				}
			}()
			<-got
			cancel()
			select {
			case err := <-errs:
				var bt *bodyTimeout
				if err == nil || errors.As(err, &bt) {
					t.Errorf("read ended with %v; want the client gone", err)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("a client gone did not end the read")
			}
			wantNoneOpen(t, pacer)
		})
	}
}

// TestPacerAfterCutOff: a body that starts after the cut-off is cut off
// at once, and a body read whole before it is untouched.
func TestPacerAfterCutOff(t *testing.T) {
	t.Parallel()
	ctx, cut := context.WithCancel(context.Background())
	pacer := NewPacer(ctx, time.Minute)
	url, client, errs, _ := pacedServer(t, pacer, false)
	resp, err := client.Post(url, "text/plain", strings.NewReader("whole"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := <-errs; err != nil {
		t.Fatalf("a whole body before the cut-off: %v", err)
	}
	cut()
	time.Sleep(10 * time.Millisecond) // the cut-off runs in its own goroutine: let it run first
	pr, pw := io.Pipe()
	defer pw.Close()
	go func() { _, _ = pw.Write([]byte("late")) }()
	req, _ := http.NewRequest("POST", url, pr)
	req.ContentLength = -1
	go func() {
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	select {
	case err := <-errs:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("read ended with %v; want the cut-off's error", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a body after the cut-off was not cut off")
	}
}

// wantNoneOpen checks that pacer holds no body once their reads are done.
func wantNoneOpen(t *testing.T, pacer *Pacer) {
	t.Helper()
	pacer.mu.Lock()
	defer pacer.mu.Unlock()
	if len(pacer.open) != 0 {
		t.Errorf("pacer holds %d bodies after their reads were done", len(pacer.open))
	}
}
