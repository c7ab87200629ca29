package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReverseProxyFlagRecords(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"echo":%q}`, b)
	}))
	defer up.Close()
	s := startServer(t, "--memory", "--proxy", "127.0.0.1:0="+up.URL)
	line := ""
	for _, l := range strings.Split(s.Stdout.String(), "\n") {
		if strings.HasPrefix(l, "proxy: ") {
			line = l
		}
	}
	fields := strings.Fields(line)
	if len(fields) < 4 {
		t.Fatalf("no proxy line in %q", s.Stdout.String())
	}
	proxyURL := fields[1]
	resp, err := http.Post(proxyURL+"orders?id=7", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != `{"echo":"hello"}` {
		t.Fatalf("through the proxy: %s", b)
	}
	_, wb := s.api(t, "GET", "/api/exchanges/wait?source=proxy&after=00000000000000000000000000&timeout=10s", nil)
	var e apiExchange
	if err := json.Unmarshal(wb, &e); err != nil {
		t.Fatalf("%v: %s", err, wb)
	}
	if e.Source != "proxy" || !strings.HasPrefix(e.Bin, "proxy-") || string(e.requestBody(t)) != "hello" || e.Response == nil || e.Response.Body != `{"echo":"hello"}` {
		t.Errorf("recorded %+v", e)
	}
}
