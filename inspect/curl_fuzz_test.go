package inspect

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzCurl runs the command GET /api/exchanges/{id}/curl gives for a
// request an HTTP/1.1 server could have recorded (a token method, a target
// without spaces or line breaks, header values without control bytes) with
// sh and curl against a server that keeps the bytes it got: the same
// method, target, headers and body arrive.
func FuzzCurl(f *testing.F) {
	for _, tool := range []string{"sh", "curl", "base64"} {
		if _, err := exec.LookPath(tool); err != nil {
			f.Skipf("%s not on PATH", tool)
		}
	}
	f.Add("POST", "b/orders/hook?a=1&b=%20x&c", "Content-Type", "application/json", "X-Signature", "t=1,v1=abc", []byte(`{"id":"it's"}`))
	f.Add("GET", "a/../b/./c?filter[status]=paid&x={y}", "X-Empty", "", "X-Dup", "2", []byte(nil))
	f.Add("HEAD", "head?x=1", "X-Probe", "1", "Accept", "*/*", []byte(nil))
	f.Add("PUT", "caf\xc3\xa9?q=\xe9#frag", "Content-Type", "text/plain", "X-Q", `'"$HOME`+"`id`", []byte("@x\x00\xff"))
	f.Add("GET", "a?b=1#c", "X-A", "1", "X-B", "2", []byte(nil))
	f.Add("purge", "?only=query", "Cookie", "a=b; c=d", "x-lower", "v", []byte("-d"))
	f.Fuzz(func(t *testing.T, method, target, n1, v1, n2, v2 string, body []byte) {
		if !isToken(method) || method == "CONNECT" || method == "HEAD" && len(body) > 0 || len(body) > 4096 ||
			strings.ContainsAny(target, " \r\n\x00") {
			return
		}
		var want Headers
		for _, h := range []Header{{n1, v1}, {n2, v2}} {
			switch strings.ToLower(h.Name) {
			case "host", "content-length", "transfer-encoding", "connection", "keep-alive", "te", "proxy-authorization",
				"proxy-connection", "expect", "upgrade", "trailer":
				return // the connection's own, or what the body decides
			}
			if !isToken(h.Name) || !fieldValue(h.Value) || strings.Trim(h.Value, " \t") != h.Value {
				return
			}
			want = append(want, h)
		}
		target = "/" + target
		srv, rec := recordingServer(t)
		host := strings.TrimPrefix(srv.URL, "http://")
		hdr := Headers{{"Host", host}}
		if len(body) > 0 {
			hdr = append(hdr, Header{"Content-Length", strconv.Itoa(len(body))})
		}
		hdr = append(hdr, want...)
		ex := &Exchange{Request: Request{Method: method, URL: srv.URL + target, Host: host, Headers: hdr, Body: body}}
		cmd := Curl(ex)
		script := filepath.Join(t.TempDir(), "curl.sh")
		if err := os.WriteFile(script, []byte(cmd+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if out, err := exec.CommandContext(ctx, "sh", script).CombinedOutput(); err != nil {
			t.Fatalf("running %q: %v\n%s", cmd, err, out)
		}
		got := parseWire(t, rec.bytes())
		if got.method != method || got.target != target {
			t.Fatalf("request line %q %q, want %q %q; command %q", got.method, got.target, method, target, cmd)
		}
		if !bytes.Equal(got.body, body) {
			t.Fatalf("body %q, want %q; command %q", got.body, body, cmd)
		}
		var sent Headers
		for _, h := range got.headers {
			if !strings.EqualFold(h.Name, "Host") && !strings.EqualFold(h.Name, "Content-Length") {
				sent = append(sent, h)
			}
		}
		if !equalHeaders(sent, want) {
			t.Fatalf("headers sent %q, want %q; command %q", sent, want, cmd)
		}
	})
}

func isToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// fieldValue reports whether s is a header value net/http accepts: no
// control bytes but tab.
func fieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}
