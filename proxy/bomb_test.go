package proxy_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/internal/heaptest"
	"github.com/hooklab/hooklab/proxy"
	"github.com/hooklab/hooklab/rules"
)

// A gzip body of a few KB decodes to MaxBody for a proxy's mock rules:
// many sent at once must not each hold MaxBody decoded at the same time
// (here the heap grew by 41 to 51 MiB, 17 to 21 now; 300 bodies of 100 KB
// sent through hooklab's proxy took it to 2.9 GB). Every one is still
// answered by the rule, which reads it decoded.
func TestInterceptDecodeBounded(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "the rule should have answered", http.StatusTeapot)
	}))
	defer up.Close()
	hook := &ruleHook{cfg: parseConfig(t, `
mocks:
  - name: evt
    proxy: api
    match: {method: POST, path: /evt, json: [{path: type, value: order.created}]}
    respond: {status: 202, body: 'mocked'}
`)}
	// How many decide at once, each with its body decoded: each holds its
	// decision a while (or until more than MaxDecoding are deciding), so
	// that requests that are let decode at once are deciding at once.
	// The heap alone missed an unbounded proxy one run in three, when
	// few happened to decode together.
	var mu sync.Mutex
	deciding, most := 0, 0
	over := make(chan struct{})
	intercept := func(r *http.Request, req *rules.Request, ex *inspect.Exchange) func(http.ResponseWriter) {
		mu.Lock()
		if deciding++; deciding > most {
			if most = deciding; most == proxy.MaxDecoding+1 {
				close(over) // once: most only goes up
			}
		}
		mu.Unlock()
		hold := time.NewTimer(20 * time.Millisecond)
		select {
		case <-over:
		case <-hold.C:
		}
		hold.Stop()
		mu.Lock()
		deciding--
		mu.Unlock()
		return hook.intercept(r, req, ex)
	}
	srv, _ := start(t, up.URL, func(o *proxy.Options) {
		o.MaxBody = 1 << 20
		o.Intercept = intercept
		o.Rules = func() *rules.Config { return hook.cfg }
	})
	doc := append([]byte(`{"type":"order.created"}`), bytes.Repeat([]byte(" "), 1<<20-30)...)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(doc)
	zw.Close()

	const n = 64
	stop := heaptest.Rise()
	var wg sync.WaitGroup
	status := make([]int, n)
	bodies := make([]string, n)
	errs := make([]error, n)
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{DisableKeepAlives: true}}
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/evt", bytes.NewReader(gz.Bytes()))
			req.Header.Set("Content-Encoding", "gzip")
			resp, err := client.Do(req)
			if err != nil {
				errs[i] = err
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			status[i], bodies[i] = resp.StatusCode, string(b)
		})
	}
	wg.Wait()
	grew := stop()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("request %d: %v", i, errs[i])
		}
		if status[i] != 202 || bodies[i] != "mocked" {
			t.Fatalf("request %d: %d %q; want 202 mocked (the rule reads the body decoded)", i, status[i], bodies[i])
		}
	}
	if most > proxy.MaxDecoding {
		t.Errorf("%d requests decided at once with their bodies decoded; want at most MaxDecoding (%d)", most, proxy.MaxDecoding)
	}
	if grew > 32<<20 {
		t.Errorf("the heap grew by %d MiB while %d bodies of %d KiB were decoded to 1 MiB each; want it bounded (under 32 MiB)", grew>>20, n, gz.Len()>>10)
	}
	t.Logf("heap grew by %d MiB", grew>>20)
}
