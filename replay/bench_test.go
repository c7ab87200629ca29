package replay

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hooklab/hooklab/inspect"
)

// BenchmarkRun measures the engine per replayed exchange, diff included,
// against a local target.
func BenchmarkRun(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	body := []byte(`{"type":"order.created","data":{"id":"ord_1"},"note":"` + strings.Repeat("x", 900) + `"}`)
	exs := make([]*inspect.Exchange, 1000)
	for i := range exs {
		exs[i] = capture(fmt.Sprint(i), "POST", "http://127.0.0.1:8080/webhook", inspect.Headers{{Name: "Content-Type", Value: "application/json"}}, body,
			jsonResp(200, `{"ok":true}`))
	}
	tr := NewTransport(false)
	b.ResetTimer()
	for range b.N {
		rep, err := Run(context.Background(), exs, Options{Target: srv.URL, Concurrency: 32, Transport: tr})
		if err != nil || rep.Summary.Same != len(exs) {
			b.Fatal(err, rep.Summary)
		}
	}
}

// BenchmarkBare is the same traffic from a plain client loop, for the
// ratio bench/replay.go checks.
func BenchmarkBare(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	defer srv.Close()
	body := []byte(`{"type":"order.created","data":{"id":"ord_1"},"note":"` + strings.Repeat("x", 900) + `"}`)
	client := &http.Client{Transport: NewTransport(false)}
	b.ResetTimer()
	for range b.N {
		work := make(chan struct{}, 1000)
		for range 1000 {
			work <- struct{}{}
		}
		close(work)
		done := make(chan struct{})
		for range 32 {
			go func() {
				defer func() { done <- struct{}{} }()
				for range work {
					req, _ := http.NewRequest("POST", srv.URL+"/webhook", strings.NewReader(string(body)))
					req.Header.Set("Content-Type", "application/json")
					resp, err := client.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}()
		}
		for range 32 {
			<-done
		}
	}
}
