package proxy_test

import (
	"bufio"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hooklab/hooklab/proxy"
)

// TestClientGoneFromTLSUpstreamStream: a client that leaves a stream from
// an upstream over TLS part way is recorded as gone, as it is from a plain
// HTTP upstream. Canceling the upstream request closes its connection with
// a close_notify, on which the upstream's handler returns and ends its
// chunked answer cleanly; that end, read before the connection closed,
// was taken for the answer passed on whole (no error, about one run in
// eight). Repeated, as it was a race.
func TestClientGoneFromTLSUpstreamStream(t *testing.T) {
	t.Parallel()
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		for i := 0; i < 20; i++ {
			w.Write([]byte("data: tick\n\n"))
			w.(http.Flusher).Flush()
			select {
			case <-time.After(50 * time.Millisecond):
			case <-r.Context().Done():
				return
			}
		}
	}))
	up.StartTLS()
	defer up.Close()

	check := func(t *testing.T, c *http.Client, url string, rec *recorder) {
		t.Helper()
		for i := 0; i < 15; i++ {
			resp, err := c.Get(url)
			if err != nil {
				t.Fatal(err)
			}
			line, err := bufio.NewReader(resp.Body).ReadString('\n')
			if err != nil || line != "data: tick\n" {
				t.Fatalf("first event %q %v", line, err)
			}
			resp.Body.Close()
			c.CloseIdleConnections()
			ex := rec.next(t)
			if !strings.HasPrefix(ex.Error, "client went away after ") || ex.Response == nil || ex.Response.Size >= 20*12 {
				t.Fatalf("run %d: recorded error %q, response size %d; want the client gone part way", i, ex.Error, ex.Response.Size)
			}
		}
	}
	t.Run("reverse", func(t *testing.T) {
		srv, rec := start(t, up.URL, func(o *proxy.Options) {
			tr := proxy.NewTransport()
			tr.TLSClientConfig = &tls.Config{RootCAs: poolOf(up.Certificate())}
			o.Transport = tr
		})
		check(t, &http.Client{Timeout: 10 * time.Second}, srv.URL+"/events", rec)
	})
	for _, h2 := range []bool{false, true} {
		name := "mitm http/1.1"
		if h2 {
			name = "mitm h2"
		}
		t.Run(name, func(t *testing.T) {
			pu, rec, ca := startMITM(t, up.Certificate())
			check(t, proxyClient(pu, poolOf(ca.Certificate()), h2), up.URL+"/events", rec)
		})
	}
}
