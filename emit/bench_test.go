package emit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// TestThroughput compares emit with a bare loop of http.Client POSTs of
// the same bodies, as "go run ./bench emit" does end to end. It is heavy:
// set HOOKLAB_EMIT_BENCH=N (e.g. 20000) to run it.
func TestThroughput(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("HOOKLAB_EMIT_BENCH"))
	if n <= 0 {
		t.Skip("set HOOKLAB_EMIT_BENCH=20000 to compare emit with a bare client loop")
	}
	sinkH := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Write([]byte(`{"ok":true}`))
	})
	sink := httptest.NewServer(sinkH)
	defer sink.Close()
	body := []byte(`{"id": "123", "subject": "printer on fire", "requester": "jdoe@example.com"}`)

	// Bare: 32 workers POSTing the same body.
	client := NewClient()
	start := time.Now()
	var wg sync.WaitGroup
	jobs := make(chan struct{}, n)
	for range n {
		jobs <- struct{}{}
	}
	close(jobs)
	for range DefaultConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				resp, err := client.Post(sink.URL, "application/json", bytes.NewReader(body))
				if err != nil {
					t.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	bare := time.Since(start)

	dir := t.TempDir()
	e, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.SetConfig(parseConfig(t, benchConfig(sink.URL), nil)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	prequeue := os.Getenv("HOOKLAB_EMIT_PREQUEUE") != ""
	if !prequeue {
		go e.Run(ctx)
	}
	start = time.Now()
	ev := Event{Type: "ticket.created", Data: []byte(`{"ticket": {"id": 123, "subject": "printer on fire", "requester": {"email": "jdoe@example.com"}}}`)}
	for sent := 0; sent < n; {
		batch := make([]Event, min(256, n-sent))
		for i := range batch {
			batch[i] = ev
		}
		if _, err := e.Emit(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		sent += len(batch)
	}
	queued := time.Since(start)
	if prequeue {
		start = time.Now()
		go e.Run(ctx)
	}
	for {
		st, err := e.Stats(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if st.ByStatus[InvocationSuccess] == int64(n) {
			break
		}
		if st.Total == int64(n) && st.Queued == 0 && st.InFlight == 0 {
			t.Fatalf("not all succeeded: %+v", st)
		}
		time.Sleep(10 * time.Millisecond)
	}
	emitted := time.Since(start)
	cancel()
	e.Close()
	fmt.Printf("%d deliveries: bare %s (%.0f/s), emit %s (%.0f/s; queued in %s), ratio %.2f\n",
		n, bare, float64(n)/bare.Seconds(), emitted, float64(n)/emitted.Seconds(), queued, bare.Seconds()/emitted.Seconds())
}

// BenchmarkEmit measures queueing: matching, rendering a Liquid payload
// and writing the invocation, in batches of 256 events.
func BenchmarkEmit(b *testing.B) {
	e, err := Open(Options{Dir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	if err := e.SetConfig(parseConfig(b, benchConfig("http://127.0.0.1:1/"), nil)); err != nil {
		b.Fatal(err)
	}
	ev := Event{Type: "ticket.created", Data: []byte(`{"ticket": {"id": 123, "subject": "printer on fire", "requester": {"email": "jdoe@example.com"}}}`)}
	batch := make([]Event, 256)
	b.ResetTimer()
	for i := 0; i < b.N; i += len(batch) {
		for j := range batch {
			batch[j] = ev
		}
		if _, err := e.Emit(context.Background(), batch...); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPendingMemory queues invocations for a webhook whose rate limit holds
// them back and reports the heap: the queue is on disk, not in RAM. Set
// HOOKLAB_EMIT_PENDING=N (e.g. 100000) to run it.
func TestPendingMemory(t *testing.T) {
	n, _ := strconv.Atoi(os.Getenv("HOOKLAB_EMIT_PENDING"))
	if n <= 0 {
		t.Skip("set HOOKLAB_EMIT_PENDING=100000 to measure memory with that many invocations pending")
	}
	e, err := Open(Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	yaml := `webhooks:
  - id: held
    endpoint: http://127.0.0.1:1/
    rate_limit: 1/h
    signing: {scheme: zendesk, secret: c2VjcmV0}
triggers:
  - name: held
    when: {event: ticket.created}
    notify: {webhook: held, payload: '{"id": "{{ticket.id}}", "subject": "{{ticket.subject}}"}'}
`
	if err := e.SetConfig(parseConfig(t, yaml, nil)); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go e.Run(ctx)
	ev := Event{Type: "ticket.created", Data: []byte(`{"ticket": {"id": 123, "subject": "printer on fire"}}`)}
	for sent := 0; sent < n; {
		batch := make([]Event, min(256, n-sent))
		for i := range batch {
			batch[i] = ev
		}
		if _, err := e.Emit(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		sent += len(batch)
	}
	time.Sleep(time.Second)
	st, _ := e.Stats(ctx)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("%d pending (%d throttled, %d queued): heap in use %.1f MiB, sys %.1f MiB\n",
		n, st.ByStatus[InvocationThrottled], st.Queued, float64(ms.HeapInuse)/(1<<20), float64(ms.Sys)/(1<<20))
	if st.Queued != int64(n)-1 {
		t.Errorf("queued = %d, want %d", st.Queued, n-1)
	}
}

// benchConfig is one zendesk-signed webhook at endpoint, notified by a
// trigger on ticket.created with a templated payload.
func benchConfig(endpoint string) string {
	return `webhooks:
  - id: bench
    endpoint: ` + endpoint + `
    signing: {scheme: zendesk, secret: c2VjcmV0}
triggers:
  - name: bench
    when: {event: ticket.created}
    notify:
      webhook: bench
      payload: '{"id": "{{ticket.id}}", "subject": "{{ticket.subject}}", "requester": "{{ticket.requester.email}}"}'
`
}
