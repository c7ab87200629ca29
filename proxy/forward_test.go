package proxy_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/proxy"
	"github.com/hooklab/hooklab/rules"
)

// startForward runs a forward proxy and returns its URL.
func startForward(t *testing.T, opt func(*proxy.Options)) (*url.URL, *recorder) {
	t.Helper()
	rec := newRecorder()
	o := proxy.Options{Name: "fwd", Record: rec.Record, MaxBody: 1 << 20}
	if opt != nil {
		opt(&o)
	}
	f, err := proxy.NewForward(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := f.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return mustURL(t, srv.URL), rec
}

// proxyClient returns a client that goes through proxyURL, trusting roots
// (nil: the system's).
func proxyClient(proxyURL *url.URL, roots *x509.CertPool, h2 bool) *http.Client {
	return &http.Client{
		Timeout: 10 * time.Second,
		Transport: &http.Transport{
			Proxy:             http.ProxyURL(proxyURL),
			TLSClientConfig:   &tls.Config{RootCAs: roots},
			ForceAttemptHTTP2: h2,
		},
	}
}

func poolOf(certs ...*x509.Certificate) *x509.CertPool {
	p := x509.NewCertPool()
	for _, c := range certs {
		p.AddCert(c)
	}
	return p
}

func TestForwardAbsoluteForm(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Upstream", "yes")
		fmt.Fprintf(w, "%s %s host=%s body=%s proxy-conn=%q", r.Method, r.URL.RequestURI(), r.Host, b, r.Header.Get("Proxy-Connection"))
		for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
			if v := r.Header.Values(k); len(v) > 0 {
				fmt.Fprintf(w, " %s=%s", k, strings.Join(v, "|"))
			}
		}
	}))
	defer up.Close()
	pu, rec := startForward(t, nil)
	c := proxyClient(pu, nil, false)
	// A forward proxy passes its client's forwarding headers on as they
	// are (Go's ReverseProxy would drop them, while the record showed
	// them sent).
	req, _ := http.NewRequest("GET", up.URL+"/fwd", nil)
	req.Header.Set("Forwarded", "for=9.9.9.9")
	req.Header.Set("X-Forwarded-For", "1.2.3.4")
	req.Header.Set("X-Forwarded-Host", "shop.example")
	req.Header.Set("X-Forwarded-Proto", "https")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := " Forwarded=for=9.9.9.9 X-Forwarded-For=1.2.3.4 X-Forwarded-Host=shop.example X-Forwarded-Proto=https"; !strings.HasSuffix(string(b), want) {
		t.Errorf("the upstream got %q, want it to end %q", b, want)
	}
	rec.next(t)
	resp, err = c.Post(up.URL+"/orders?id=7", "text/plain", strings.NewReader("hello"))
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	host := strings.TrimPrefix(up.URL, "http://")
	want := fmt.Sprintf(`POST /orders?id=7 host=%s body=hello proxy-conn=""`, host)
	if string(b) != want || resp.Header.Get("X-Upstream") != "yes" {
		t.Fatalf("through the forward proxy: %q, want %q", b, want)
	}
	ex := rec.next(t)
	if ex.Bin != "fwd" || ex.Source != inspect.SourceProxy || ex.Request.URL != up.URL+"/orders?id=7" ||
		string(ex.Request.Body) != "hello" || ex.Response == nil || string(ex.Response.Body) != want {
		t.Errorf("recorded %s %s body %q response %+v", ex.Bin, ex.Request.URL, ex.Request.Body, ex.Response)
	}
	if ex.Meta["upstream"] != up.URL+"/orders?id=7" {
		t.Errorf("upstream %v", ex.Meta["upstream"])
	}

	// User info in the request line is never recorded, and a query
	// url.ParseQuery refuses goes on as it came.
	conn, err := net.Dial("tcp", pu.Host)
	if err != nil {
		t.Fatal(err)
	}
	target := "http://alice:fwd-pw-77@" + host + "/raw?a=%zz&b=;c"
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", target, host)
	raw, _ := io.ReadAll(conn)
	conn.Close()
	if !strings.Contains(string(raw), "GET /raw?a=%zz&b=;c host=") {
		t.Errorf("the upstream did not get the raw query: %s", raw)
	}
	ex = rec.next(t)
	if up, _ := ex.Meta["upstream"].(string); strings.Contains(up, "fwd-pw-77") || strings.Contains(ex.Request.URL, "fwd-pw-77") {
		t.Errorf("the password is recorded: upstream %q, url %q", up, ex.Request.URL)
	}

	// Requests that are not proxy requests, or that loop back, are refused.
	for _, tc := range []struct {
		name string
		req  func() (*http.Response, error)
		want int
	}{
		{"origin-form", func() (*http.Response, error) { return http.Get(pu.String() + "/x") }, http.StatusBadRequest},
		{"to itself", func() (*http.Response, error) { return c.Get(pu.String() + "/x") }, http.StatusLoopDetected},
	} {
		resp, err := tc.req()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}

func TestForwardConnectTunnel(t *testing.T) {
	t.Parallel()
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprint(w, strings.Repeat("d", 1000))
	}))
	defer up.Close()
	pu, rec := startForward(t, nil) // no CA: tunnels stay encrypted
	c := proxyClient(pu, poolOf(up.Certificate()), false)
	resp, err := c.Post(up.URL+"/secret", "text/plain", strings.NewReader(strings.Repeat("u", 500)))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if len(b) != 1000 {
		t.Fatalf("answer %d bytes", len(b))
	}
	c.CloseIdleConnections() // ends the tunnel, which records it
	ex := rec.next(t)
	tun, _ := ex.Meta["tunnel"].(map[string]any)
	host := strings.TrimPrefix(up.URL, "https://")
	if ex.Request.Method != http.MethodConnect || ex.Request.URL != "https://"+host || tun["host"] != host || ex.Response.Status != 200 {
		t.Fatalf("recorded %s %s meta %v", ex.Request.Method, ex.Request.URL, ex.Meta)
	}
	// Bytes each way include the TLS handshake and records: more than the
	// bodies, and nothing decrypted.
	if tun["bytes_up"].(int64) < 500 || tun["bytes_down"].(int64) < 1000 || tun["tls"] != true || ex.Duration <= 0 {
		t.Errorf("tunnel %v duration %v", tun, ex.Duration)
	}
	if len(ex.Request.Body) != 0 || len(ex.Response.Body) != 0 {
		t.Errorf("a tunnel records no bodies")
	}

	// A host that is down: 502 with JSON, and the failure is recorded.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := ln.Addr().String()
	ln.Close()
	_, err = c.Get("https://" + dead + "/")
	if err == nil || !strings.Contains(err.Error(), "Bad Gateway") {
		t.Errorf("CONNECT to a dead host: %v", err)
	}
	ex = rec.next(t)
	if ex.Request.Method != http.MethodConnect || ex.Response == nil || ex.Response.Status != 502 || !strings.Contains(ex.Error, "CONNECT "+dead) {
		t.Errorf("dead host recorded: %q %+v", ex.Error, ex.Response)
	}
}

func TestMITM(t *testing.T) {
	t.Parallel()
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"path":%q,"got":%q,"upstream_proto":%q}`, r.URL.Path, b, r.Proto)
	}))
	up.EnableHTTP2 = true
	up.StartTLS()
	defer up.Close()
	pu, rec, ca := startMITM(t, up.Certificate())
	host := strings.TrimPrefix(up.URL, "https://")

	for _, tc := range []struct {
		name      string
		h2        bool
		wantProto string
	}{
		{"http/1.1", false, "HTTP/1.1"},
		{"h2", true, "HTTP/2.0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := proxyClient(pu, poolOf(ca.Certificate()), tc.h2)
			defer c.CloseIdleConnections()
			resp, err := c.Post(up.URL+"/pay", "application/json", strings.NewReader(`{"amount":5}`))
			if err != nil {
				t.Fatalf("client trusting the CA: %v", err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.Proto != tc.wantProto {
				t.Errorf("client spoke %s, want %s", resp.Proto, tc.wantProto)
			}
			if resp.TLS == nil || resp.TLS.PeerCertificates[0].Issuer.CommonName != ca.Certificate().Subject.CommonName {
				t.Errorf("the client did not get a certificate from hooklab's CA")
			}
			want := `{"path":"/pay","got":"{\"amount\":5}","upstream_proto":"HTTP/1.1"}`
			if string(b) != want {
				t.Fatalf("answer %s", b)
			}
			ex := rec.next(t)
			if ex.Request.URL != "https://"+host+"/pay" || !ex.Request.TLS || ex.Request.Proto != tc.wantProto ||
				string(ex.Request.Body) != `{"amount":5}` || ex.Response == nil || string(ex.Response.Body) != want {
				t.Errorf("decrypted exchange: %s %s tls=%v body %q response %+v", ex.Request.Proto, ex.Request.URL, ex.Request.TLS, ex.Request.Body, ex.Response)
			}
		})
	}

	t.Run("client without the CA fails cleanly", func(t *testing.T) {
		c := proxyClient(pu, poolOf(up.Certificate()), false) // trusts the real upstream, not hooklab
		_, err := c.Get(up.URL + "/pay")
		var uae x509.UnknownAuthorityError
		if !errors.As(err, &uae) {
			t.Fatalf("got %v, want an unknown-authority error", err)
		}
		ex := rec.next(t)
		if ex.Request.Method != http.MethodConnect || !strings.Contains(ex.Error, "TLS handshake with the client failed") || ex.Meta["mitm"] != true {
			t.Errorf("recorded %s %q %v", ex.Request.Method, ex.Error, ex.Meta)
		}
	})
}

func TestMITMIgnoreAndUpstreamVerification(t *testing.T) {
	t.Parallel()
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "real") }))
	t.Cleanup(up.Close) // the subtests run after this function returns
	ca, err := proxy.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}

	t.Run("mitm_ignore keeps a plain tunnel", func(t *testing.T) {
		t.Parallel()
		pu, rec := startForward(t, func(o *proxy.Options) { o.CA = ca; o.MITMIgnore = []string{"127.0.0.*"} })
		c := proxyClient(pu, poolOf(up.Certificate()), false) // a "pinned" client: only the real certificate will do
		resp, err := c.Get(up.URL)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		c.CloseIdleConnections()
		if string(b) != "real" {
			t.Fatalf("answer %q", b)
		}
		if ex := rec.next(t); ex.Request.Method != http.MethodConnect || ex.Meta["tunnel"] == nil {
			t.Errorf("recorded %s %v, want a tunnel", ex.Request.Method, ex.Meta)
		}
	})

	for _, tc := range []struct {
		name     string
		insecure bool
		want     int
	}{
		{"upstream TLS verified", false, http.StatusBadGateway},
		{"--insecure-upstream", true, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			pu, rec := startForward(t, func(o *proxy.Options) { o.CA = ca; o.InsecureUpstream = tc.insecure })
			c := proxyClient(pu, poolOf(ca.Certificate()), false)
			defer c.CloseIdleConnections()
			resp, err := c.Get(up.URL)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, b, tc.want)
			}
			ex := rec.next(t)
			if tc.want == http.StatusBadGateway && !strings.Contains(ex.Error, "certificate") {
				t.Errorf("recorded error %q, want a certificate error", ex.Error)
			}
		})
	}
}

func TestCAFiles(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	ca, err := proxy.LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]os.FileMode{proxy.CAKeyFile: 0o600, proxy.CACertFile: 0o644} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != want {
			t.Errorf("%s: mode %04o, want %04o", name, fi.Mode().Perm(), want)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("data directory holds %d files, want the certificate and the key", len(entries))
	}
	if ca.CertPath() != filepath.Join(dir, proxy.CACertFile) || !strings.Contains(string(ca.CertPEM()), "BEGIN CERTIFICATE") {
		t.Errorf("path %s", ca.CertPath())
	}
	if strings.Contains(string(ca.CertPEM()), "PRIVATE") || !strings.Contains(ca.TrustInstructions(""), "update-ca-certificates") || !strings.Contains(ca.TrustInstructions(""), "SSL_CERT_FILE="+ca.CertPath()) {
		t.Errorf("instructions:\n%s", ca.TrustInstructions(""))
	}
	// Node's fetch ignores HTTPS_PROXY: the CA alone records nothing.
	if node := ca.TrustInstructions("127.0.0.1:9999"); !strings.Contains(node, "NODE_EXTRA_CA_CERTS="+ca.CertPath()+" HTTPS_PROXY=http://127.0.0.1:9999") || !strings.Contains(node, "EnvHttpProxyAgent") {
		t.Errorf("Node's instructions:\n%s", node)
	}

	// Loaded again, it is the same CA.
	again, err := proxy.LoadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !again.Certificate().Equal(ca.Certificate()) {
		t.Errorf("a second load made a new CA")
	}

	// Leaves: per host, cached, for names and IP addresses, chaining to the CA.
	for _, host := range []string{"api.example.com", "127.0.0.1"} {
		leaf, err := ca.Leaf(host)
		if err != nil {
			t.Fatal(err)
		}
		if again, _ := ca.Leaf(host); again != leaf {
			t.Errorf("%s: leaf not cached", host)
		}
		if _, err := leaf.Leaf.Verify(x509.VerifyOptions{DNSName: host, Roots: poolOf(ca.Certificate())}); err != nil {
			t.Errorf("%s: %v", host, err)
		}
		if leaf.Leaf.PublicKeyAlgorithm != x509.ECDSA {
			t.Errorf("%s: key %v", host, leaf.Leaf.PublicKeyAlgorithm)
		}
	}

	// A key others can read is refused.
	if err := os.Chmod(filepath.Join(dir, proxy.CAKeyFile), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := proxy.LoadOrCreateCA(dir); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("loose key: %v", err)
	}
}

func TestForwardShutdownClosesTunnels(t *testing.T) {
	t.Parallel()
	// An upstream that reads and then says nothing: the tunnel stays open.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	got := make(chan string, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		b := make([]byte, 4)
		io.ReadFull(c, b)
		got <- string(b)
		io.Copy(io.Discard, c)
	}()
	rec := newRecorder()
	f, c := connectThrough(t, rec, ln.Addr().String())
	buf := make([]byte, 64)
	c.Write([]byte("ping"))
	if g := <-got; g != "ping" {
		t.Fatalf("upstream got %q", g)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := f.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	ex := rec.next(t)
	if tun := ex.Meta["tunnel"].(map[string]any); tun["bytes_up"] != int64(4) || tun["tls"] != false || ex.Request.URL != "http://"+ln.Addr().String() {
		t.Errorf("recorded %s %v", ex.Request.URL, ex.Meta)
	}
	if _, err := c.Read(buf); err == nil {
		t.Errorf("the client's side of the tunnel is still open")
	}
}

// Faults reach intercepted HTTP/2 traffic as stream resets, and a forward
// proxy's simulation matches the host too.
func TestMITMFaultAndSimulation(t *testing.T) {
	t.Parallel()
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "real "+r.Host) }))
	defer up.Close()
	ca, err := proxy.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	host := strings.TrimPrefix(up.URL, "https://")
	sim, err := proxy.NewSimulation("s", []*inspect.Exchange{{
		Request:  inspect.Request{Method: "GET", URL: "https://" + host + "/recorded"},
		Response: &inspect.Response{Status: 200, Headers: inspect.Headers{{Name: "Content-Encoding", Value: "gzip"}}, Body: []byte("from the recording")},
	}, {
		Request:  inspect.Request{Method: "GET", URL: "https://other.example:443/recorded"},
		Response: &inspect.Response{Status: 200, Body: []byte("other host")},
	}}, proxy.SimulateOptions{Miss: proxy.MissProxy})
	if err != nil {
		t.Fatal(err)
	}
	pu, rec := startForward(t, func(o *proxy.Options) {
		o.CA, o.InsecureUpstream = ca, true
		o.Routes = []proxy.Route{{Prefix: "/broken", Fault: rules.FaultReset}, {Prefix: "/recorded", Simulation: sim}}
	})
	c := proxyClient(pu, poolOf(ca.Certificate()), true)
	defer c.CloseIdleConnections()

	if _, err := c.Get(up.URL + "/broken"); err == nil || !strings.Contains(err.Error(), "stream error") {
		t.Errorf("fault over HTTP/2: %v, want a stream reset", err)
	}
	if ex := rec.next(t); !strings.Contains(ex.Error, "fault injected: reset") {
		t.Errorf("recorded %q", ex.Error)
	}
	for range 2 { // the other host's recording never answers
		resp, err := c.Get(up.URL + "/recorded")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "from the recording" || resp.Header.Get("Content-Encoding") != "" {
			t.Errorf("simulated %q %v", b, resp.Header)
		}
		rec.next(t)
	}
	resp, err := c.Get(up.URL + "/other")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "real "+host {
		t.Errorf("unrouted path: %q", b)
	}
	rec.next(t)
}

// TestForwardCloseTunnelsClosesCONNECT: at the start of a shutdown the
// CONNECT tunnels close too (a wss:// websocket through the forward proxy
// without --mitm is one), not only the websockets of proxied requests.
func TestForwardCloseTunnelsClosesCONNECT(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(io.Discard, c)
	}()
	f, c := connectThrough(t, newRecorder(), ln.Addr().String())
	buf := make([]byte, 64)
	f.CloseTunnels() // what main does when shutdown starts
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(buf); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("after CloseTunnels the CONNECT tunnel is still open (read: %v)", err)
	}
}

// connectThrough starts a forward proxy recording into rec and opens a
// CONNECT tunnel through it to target; both close at the test's end.
func connectThrough(t *testing.T, rec *recorder, target string) (*proxy.Forward, net.Conn) {
	t.Helper()
	f, err := proxy.NewForward(proxy.Options{Name: "fwd", Record: rec.Record})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	buf := make([]byte, 64)
	if n, _ := c.Read(buf); !strings.HasPrefix(string(buf[:n]), "HTTP/1.1 200") {
		t.Fatalf("CONNECT answered %q", buf[:n])
	}
	return f, c
}

// TestMITMServerSpeaksFirst: through an intercepting proxy, a CONNECT to a
// host whose protocol has the server speak first (SMTP, SSH, MySQL) is
// tunnelled: the client, waiting for the greeting, says nothing, and the
// proxy, waiting for a TLS hello, cut it off after the handshake timeout.
func TestMITMServerSpeaksFirst(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.WriteString(c, "220 ready\r\n")
				line, _ := bufio.NewReader(c).ReadString('\n')
				io.WriteString(c, "250 "+line)
			}()
		}
	}()
	tlsUp := httptest.NewTLSServer(http.NotFoundHandler()) // what the proxy trusts, unused here
	defer tlsUp.Close()
	pu, rec, _ := startMITM(t, tlsUp.Certificate())
	c, err := net.Dial("tcp", pu.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	host := ln.Addr().String()
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", host, host)
	// Long past the proxy's 10 s handshake timeout: within it the greeting comes.
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	greeting, err := br.ReadString('\n')
	if err != nil || greeting != "220 ready\r\n" {
		t.Fatalf("greeting %q, %v", greeting, err)
	}
	io.WriteString(c, "HELO me\r\n")
	if got, err := br.ReadString('\n'); err != nil || got != "250 HELO me\r\n" {
		t.Fatalf("answer %q, %v", got, err)
	}
	c.Close()
	ex := rec.next(t)
	tun, _ := ex.Meta["tunnel"].(map[string]any)
	if ex.Request.Method != http.MethodConnect || ex.Error != "" || tun["tls"] != false || tun["bytes_up"] != int64(9) || tun["bytes_down"] != int64(24) {
		t.Errorf("recorded %s %q %v", ex.Request.Method, ex.Error, ex.Meta)
	}
}

// TestMITMPlainHTTPInConnect: with interception on, plain HTTP a client
// sends through a CONNECT tunnel, as Node's fetch with undici's ProxyAgent
// does for every http:// URL, is recorded request by request, keep-alive
// and all, as the same requests sent in absolute form are: it was one
// opaque tunnel, with nothing of what passed in it.
func TestMITMPlainHTTPInConnect(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s %s", r.Method, r.URL.RequestURI(), b)
	}))
	defer up.Close()
	tlsUp := httptest.NewTLSServer(http.NotFoundHandler()) // what the proxy trusts, unused here
	defer tlsUp.Close()
	pu, rec, _ := startMITM(t, tlsUp.Certificate())
	c, err := net.Dial("tcp", pu.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	host := up.Listener.Addr().String()
	br := bufio.NewReader(c)
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", host, host)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("CONNECT: %v %v", resp, err)
	}
	for _, req := range []string{
		"GET /a?x=1 HTTP/1.1\r\nHost: " + host + "\r\n\r\n",
		"POST /b HTTP/1.1\r\nHost: " + host + "\r\nContent-Length: 5\r\n\r\nhello",
	} {
		io.WriteString(c, req)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("answer to %q: %v", req, err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if want := strings.Join(strings.Fields(req)[:2], " "); !strings.HasPrefix(string(b), want) {
			t.Fatalf("answer %q, want %q...", b, want)
		}
	}
	c.Close()
	for _, want := range []struct{ method, url, body string }{
		{"GET", up.URL + "/a?x=1", "GET /a?x=1 "},
		{"POST", up.URL + "/b", "POST /b hello"},
	} {
		ex := rec.next(t)
		if ex.Request.Method != want.method || ex.Request.URL != want.url || ex.Response == nil || string(ex.Response.Body) != want.body {
			t.Fatalf("recorded %s %s %v (meta %v), want %s %s answered %q", ex.Request.Method, ex.Request.URL, ex.Response, ex.Meta, want.method, want.url, want.body)
		}
		if want.method == "POST" && string(ex.Request.Body) != "hello" {
			t.Errorf("recorded request body %q", ex.Request.Body)
		}
	}
}

// TestMITMH2CInConnectTunnelled: HTTP/2 with prior knowledge inside a
// CONNECT tunnel (gRPC's plaintext clients) is not taken for an HTTP/1
// request ("PRI * HTTP/2.0"): it stays a tunnel, end to end in HTTP/2, as
// before plain HTTP inside a CONNECT was intercepted.
func TestMITMH2CInConnectTunnelled(t *testing.T) {
	t.Parallel()
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	up := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s", r.Proto, r.URL.Path)
	}))
	up.Config.Protocols = &h2c
	up.Start()
	defer up.Close()
	tlsUp := httptest.NewTLSServer(http.NotFoundHandler()) // what the proxy trusts, unused here
	defer tlsUp.Close()
	pu, rec, _ := startMITM(t, tlsUp.Certificate())
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		Protocols: &h2c,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := (&net.Dialer{}).DialContext(ctx, network, pu.Host)
			if err != nil {
				return nil, err
			}
			fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", addr, addr)
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil || resp.StatusCode != http.StatusOK || br.Buffered() > 0 {
				c.Close()
				return nil, fmt.Errorf("CONNECT: %v %v", resp, err)
			}
			return c, nil
		},
	}}
	resp, err := client.Get(up.URL + "/svc")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "HTTP/2.0 /svc" {
		t.Fatalf("upstream saw %q", b)
	}
	client.CloseIdleConnections()
	if ex := rec.next(t); ex.Request.Method != http.MethodConnect {
		t.Errorf("recorded %s %s, want the CONNECT tunnel", ex.Request.Method, ex.Request.URL)
	}
}
