package proxy_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hooklab/hooklab/proxy"
)

// A wss:// websocket through the forward proxy with interception on: the
// client trusts hooklab's CA, the upgrade passes through to the real
// upstream, messages flow both ways, and the decrypted handshake is
// recorded with its frames counted.
func TestMITMWebsocket(t *testing.T) {
	t.Parallel()
	up := httptest.NewTLSServer(http.HandlerFunc(wsEcho))
	defer up.Close()
	pu, rec, ca := startMITM(t, up.Certificate())
	d := websocket.Dialer{
		Proxy:            http.ProxyURL(pu),
		TLSClientConfig:  &tls.Config{RootCAs: poolOf(ca.Certificate())},
		HandshakeTimeout: 10 * time.Second,
	}
	wsURL := "wss" + strings.TrimPrefix(up.URL, "https") + "/live"
	c, resp, err := d.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("dial %s through the intercepting proxy: %v", wsURL, err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("status %d", resp.StatusCode)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range 3 {
		msg := fmt.Sprintf("frame %d", i)
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.ReadMessage(); err != nil || string(got) != "echo: "+msg {
			t.Fatalf("echo %q %v", got, err)
		}
	}
	_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.Close()

	// The CONNECT is recorded too; find the decrypted handshake.
	deadline := time.After(10 * time.Second)
	for {
		select {
		case <-deadline:
			t.Fatal("no decrypted websocket handshake recorded")
		default:
		}
		ex := rec.next(t)
		if ex.Request.Method == http.MethodConnect {
			continue
		}
		if !ex.Request.TLS || !strings.HasPrefix(ex.Request.URL, "https://") || !strings.HasSuffix(ex.Request.URL, "/live") ||
			ex.Response == nil || ex.Response.Status != http.StatusSwitchingProtocols {
			t.Fatalf("recorded %s %s tls=%v response %+v", ex.Request.Method, ex.Request.URL, ex.Request.TLS, ex.Response)
		}
		ws, _ := ex.Meta["websocket"].(map[string]any)
		if up, _ := ws["frames_up"].(int64); up < 3 {
			t.Errorf("frames counted %v", ws)
		}
		if down, _ := ws["frames_down"].(int64); down < 3 {
			t.Errorf("frames counted %v", ws)
		}
		return
	}
}

// wsEcho is a websocket upstream that answers each message with "echo: "
// and the message.
func wsEcho(w http.ResponseWriter, r *http.Request) {
	c, err := (&websocket.Upgrader{}).Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	for {
		kind, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		if err := c.WriteMessage(kind, append([]byte("echo: "), msg...)); err != nil {
			return
		}
	}
}

// startMITM runs a forward proxy that intercepts HTTPS with a new CA and
// verifies upstreams against upstreamCert.
func startMITM(t *testing.T, upstreamCert *x509.Certificate) (*url.URL, *recorder, *proxy.CA) {
	t.Helper()
	ca, err := proxy.LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	roots := poolOf(upstreamCert)
	pu, rec := startForward(t, func(o *proxy.Options) {
		o.CA = ca
		tr := proxy.NewTransport()
		tr.TLSClientConfig = &tls.Config{RootCAs: roots} // verified, against the test upstream's CA
		o.Transport = tr
	})
	return pu, rec, ca
}

// A ws:// websocket through the intercepting forward proxy: the websocket
// library opens it with CONNECT and speaks plain HTTP inside, and the
// upgrade is recorded with its frames counted, as a wss:// one is.
func TestMITMPlainWebsocket(t *testing.T) {
	t.Parallel()
	up := httptest.NewServer(http.HandlerFunc(wsEcho))
	defer up.Close()
	tlsUp := httptest.NewTLSServer(http.NotFoundHandler()) // what the proxy trusts, unused here
	defer tlsUp.Close()
	pu, rec, _ := startMITM(t, tlsUp.Certificate())
	d := websocket.Dialer{Proxy: http.ProxyURL(pu), HandshakeTimeout: 10 * time.Second}
	wsURL := "ws" + strings.TrimPrefix(up.URL, "http") + "/live"
	c, _, err := d.Dial(wsURL, nil)
	if err != nil {
		t.Fatalf("dial %s through the intercepting proxy: %v", wsURL, err)
	}
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for i := range 3 {
		msg := fmt.Sprintf("frame %d", i)
		if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
			t.Fatal(err)
		}
		if _, got, err := c.ReadMessage(); err != nil || string(got) != "echo: "+msg {
			t.Fatalf("echo %q %v", got, err)
		}
	}
	_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	c.Close()
	ex := rec.next(t)
	if ex.Request.Method != http.MethodGet || ex.Request.URL != up.URL+"/live" || ex.Response == nil || ex.Response.Status != http.StatusSwitchingProtocols {
		t.Fatalf("recorded %s %s response %+v meta %v", ex.Request.Method, ex.Request.URL, ex.Response, ex.Meta)
	}
	ws, _ := ex.Meta["websocket"].(map[string]any)
	if up, _ := ws["frames_up"].(int64); up < 3 {
		t.Errorf("frames counted %v", ws)
	}
	if down, _ := ws["frames_down"].(int64); down < 3 {
		t.Errorf("frames counted %v", ws)
	}
}
