package mock_test

import (
	"bufio"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/mock"
)

// fuzzConfig has mock rules that read the path, query, headers, JSON and
// form bodies, and a signature check, so that random input reaches them.
const fuzzConfig = `mocks:
  - name: json
    match:
      method: POST
      path: /j/{id}
      json: [{path: a.b, op: gt, value: 1}]
    respond:
      status: 201
      headers: {Content-Type: application/json, X-Id: "{{request.params.id}}"}
      body: '{"id": "{{request.params.id}}", "q": {{request.query | json}}, "h": {{request.headers | json}}, "j": {{request.json | json}}}'
  - name: form
    match: {path: /f, form: {a: x}}
    respond: {status: 202, body: '{{request.form | json}}'}
  - name: echo
    match: {path: "/e/**"}
    respond: {status: 200, body: '{{request.body}}|{{request.path}}|{{request.form | json}}'}
verify:
  - name: zendesk
    match: {path: "/z/**"}
    scheme: zendesk
    secret: ${ZENDESK_SECRET}
`

// FuzzCaptureRawTCP writes random bytes on a raw TCP connection to a real
// capture listener (HTTP/1.1 and unencrypted HTTP/2, the limits main sets)
// and then requires that no handler panicked and that a normal request is
// still answered.
func FuzzCaptureRawTCP(f *testing.F) {
	seeds := []string{
		"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
		"POST /j/7?x=1&x=2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\":{\"b\":2}}",
		"POST /f HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=zz\r\nContent-Length: 52\r\n\r\n--zz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--zz--\r\n",
		"POST /e/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
		"POST /e/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffff\r\nhello\r\n",
		"POST /z/a HTTP/1.1\r\nHost: x\r\nX-Zendesk-Webhook-Signature: !!\r\nX-Zendesk-Webhook-Signature-Timestamp: 2020\r\nContent-Length: 2\r\n\r\n{}",
		"GET /b/../../etc/passwd HTTP/1.0\r\n\r\n",
		"GET /b/%00/x HTTP/1.1\r\nHost: \xff\r\n\r\n",
		"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
		"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
		"OPTIONS * HTTP/1.1\r\nHost: x\r\nAccess-Control-Request-Method: PUT\r\nAccess-Control-Request-Headers: a,b\r\n\r\n",
		"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	// Every file under testdata/capture is a seed too.
	if files, _ := filepath.Glob("testdata/capture/*"); len(files) > 0 {
		for _, name := range files {
			if b, err := os.ReadFile(name); err == nil {
				f.Add(b)
			}
		}
	}

	cfg := parseConfig(f, "fuzz.yaml", fuzzConfig)
	store, err := inspect.OpenSQLite("", inspect.Options{Memory: true, RetainCount: 1000})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { store.Close() })
	var panics atomic.Value // string
	capture := mock.New(mock.Config{Store: store, Engine: mock.NewEngine(cfg, nil), Logger: slog.New(slog.DiscardHandler), MaxBody: 64 << 10})
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				panics.Store(fmt.Sprintf("%v\n%s", v, debug.Stack()))
				panic(v)
			}
		}()
		capture.ServeHTTP(w, r)
	}))
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	srv.Config.Protocols = &protocols
	srv.Config.ReadHeaderTimeout = 2 * time.Second
	srv.Config.MaxHeaderBytes = 1 << 20
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // "http: TLS handshake error" and the like
	srv.Start()
	f.Cleanup(srv.Close)
	addr := srv.Listener.Addr().String()
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}

	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = c.SetDeadline(time.Now().Add(2 * time.Second))
		_, _ = c.Write(data)
		_ = c.(*net.TCPConn).CloseWrite()
		_, _ = io.Copy(io.Discard, bufio.NewReader(c))
		c.Close()
		if p := panics.Load(); p != nil {
			t.Fatalf("the capture handler panicked on %q:\n%s", data, p)
		}
		resp, err := client.Post(srv.URL+"/e/ok", "text/plain", strings.NewReader("ok"))
		if err != nil {
			t.Fatalf("after %q the listener does not answer: %v", data, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("after %q a normal request got %d %s", data, resp.StatusCode, b)
		}
	})
}
