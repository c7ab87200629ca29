package proxy

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// handshakeTimeout bounds the TLS handshake with an intercepted client and
// the wait for its first byte.
const handshakeTimeout = 10 * time.Second

// Forward is an inspecting forward proxy, for clients that set HTTP_PROXY
// or HTTPS_PROXY to it. Absolute-form requests (http://host/path) are
// forwarded and recorded like a reverse proxy's. CONNECT requests are
// tunnelled and recorded as one tunnel exchange (host, bytes each way,
// duration) when the tunnel closes; with a CA (Options.CA) they are
// intercepted instead: the client gets a certificate for the host minted
// by the CA, speaks HTTP/2 or HTTP/1.1 as it negotiates, and each request
// inside is forwarded over verified TLS and recorded decrypted. Hosts
// matching Options.MITMIgnore keep a plain tunnel.
type Forward struct {
	rev *Reverse
	ca  *CA
	log *slog.Logger

	// inner serves the intercepted connections, fed through ln: TLS ones
	// (*tls.Conn) and plain HTTP sent inside a tunnel (*bufConn).
	inner   *http.Server
	ln      *connListener
	targets sync.Map // net.Conn (*tls.Conn or *bufConn) -> *url.URL, the CONNECT target

	mu     sync.Mutex
	open   map[net.Conn]struct{} // tunnels and handshakes, closed on Shutdown
	closed bool
	wg     sync.WaitGroup
}

var _ http.Handler = (*Forward)(nil)

type targetKey struct{}

// NewForward returns a forward proxy. opts.Routes may set faults, delays,
// headers and simulations by path prefix, with no upstream; without routes
// every request goes straight through. When opts.CA is set, CONNECT is
// intercepted, and Shutdown must be called to stop the server that serves
// intercepted connections.
func NewForward(opts Options) (*Forward, error) {
	for _, g := range opts.MITMIgnore {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("proxy %s: mitm_ignore %q: %v", opts.Name, g, err)
		}
	}
	rev, err := newReverse(opts, true)
	if err != nil {
		return nil, err
	}
	f := &Forward{rev: rev, ca: opts.CA, log: rev.log, open: map[net.Conn]struct{}{}}
	if f.ca != nil {
		f.ln = newConnListener()
		f.inner = &http.Server{
			Handler:           http.HandlerFunc(f.serveIntercepted),
			BaseContext:       func(net.Listener) context.Context { return cmp.Or(rev.opts.CutOff, rev.opts.Context) },
			ConnContext:       f.connContext,
			ConnState:         f.connState,
			ReadHeaderTimeout: 10 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    1 << 20,
			ErrorLog:          slog.NewLogLogger(rev.log.Handler(), slog.LevelDebug),
		}
		go func() { _ = f.inner.Serve(f.ln) }()
	}
	return f, nil
}

// Name returns the proxy's name, the bin its exchanges are recorded in.
func (f *Forward) Name() string { return f.rev.opts.Name }

// CloseTunnels closes (and so records) the CONNECT tunnels open through
// the proxy (a wss:// websocket without --mitm is one) and the websockets
// of intercepted or plain requests, and any from now on (see
// Reverse.CloseTunnels): at the start of a shutdown. Shutdown does it too.
func (f *Forward) CloseTunnels() {
	f.closeOpen()
	f.rev.closeTunnels()
}

// closeOpen refuses new tunnels and closes those open.
func (f *Forward) closeOpen() {
	f.mu.Lock()
	f.closed = true
	open := make([]net.Conn, 0, len(f.open))
	for c := range f.open {
		open = append(open, c)
	}
	f.mu.Unlock()
	for _, c := range open {
		_ = c.Close()
	}
}

// SetRoutes replaces the proxy's routes (see Reverse.SetRoutes).
func (f *Forward) SetRoutes(routes []Route) error { return f.rev.SetRoutes(routes) }

// Simulations reports the simulation the config sets on it (see
// Reverse.Simulations).
func (f *Forward) Simulations() []SimulationStatus { return f.rev.Simulations() }

// Wait blocks until every tunnel has ended and every recording has been
// handed to Record.
func (f *Forward) Wait() {
	f.wg.Wait()
	f.rev.Wait()
}

// Shutdown stops the proxy's own work after its listener's server has
// stopped: intercepted connections finish their requests (until ctx ends),
// open tunnels are closed (and recorded), recordings are handed over, and
// the idle upstream connections of the transport it made are closed.
func (f *Forward) Shutdown(ctx context.Context) error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	var err error
	if f.inner != nil {
		if err = f.inner.Shutdown(ctx); err != nil {
			_ = f.inner.Close()
		}
	}
	f.closeOpen()
	f.rev.closeTunnels() // websockets through the proxy; f.Wait waits for their records
	defer f.rev.closeIdle()
	done := make(chan struct{})
	go func() { f.rev.active.wait(); f.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		err = errors.Join(err, ctx.Err())
	}
	return err
}

// begin counts a piece of work Shutdown waits for; it reports false when
// shutting down. Each true must be paired with f.wg.Done.
func (f *Forward) begin() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return false
	}
	f.wg.Add(1)
	return true
}

// track registers connections to close on Shutdown; when shutting down
// already, it closes them at once.
func (f *Forward) track(cs ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		if f.closed {
			_ = c.Close()
			continue
		}
		f.open[c] = struct{}{}
	}
}

func (f *Forward) untrack(cs ...net.Conn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range cs {
		delete(f.open, c)
	}
}

func (f *Forward) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.rev.active.add(1) // Shutdown waits for requests cut off at the deadline
	defer f.rev.active.add(-1)
	if r.Method == http.MethodConnect {
		f.connect(w, r)
		return
	}
	if !r.URL.IsAbs() || r.URL.Host == "" {
		inspect.WriteJSON(w, http.StatusBadRequest, map[string]string{
			"error": "hooklab forward proxy " + f.Name() + ": send proxy requests here (absolute URLs, or CONNECT for https); e.g. HTTP_PROXY=http://" + r.Host,
		})
		return
	}
	if r.URL.Scheme != "http" {
		inspect.WriteJSON(w, http.StatusBadRequest, map[string]string{
			"error": fmt.Sprintf("hooklab forward proxy %s: cannot forward %s URLs; https goes through CONNECT (HTTPS_PROXY)", f.Name(), r.URL.Scheme),
		})
		return
	}
	if isSelf(r, r.URL.Host) {
		inspect.WriteJSON(w, http.StatusLoopDetected, map[string]string{
			"error": "hooklab forward proxy " + f.Name() + ": the request is addressed to the proxy itself",
		})
		return
	}
	f.rev.serve(w, r, &url.URL{Scheme: "http", Host: r.URL.Host})
}

// isSelf reports whether host is the address r arrived on.
func isSelf(r *http.Request, host string) bool {
	local, ok := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if !ok {
		return false
	}
	lh, lp, err := net.SplitHostPort(local.String())
	if err != nil {
		return false
	}
	h, p, err := net.SplitHostPort(host)
	if err != nil {
		h, p = host, "80"
	}
	if p != lp {
		return false
	}
	if strings.EqualFold(h, "localhost") || h == lh {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && (ip.IsLoopback() || ip.IsUnspecified())
}

// intercepts reports whether CONNECT to hostname is intercepted.
func (f *Forward) intercepts(host, hostport string) bool {
	if f.ca == nil {
		return false
	}
	host = strings.ToLower(host)
	for _, g := range f.rev.opts.MITMIgnore {
		g = strings.ToLower(g)
		if ok, _ := path.Match(g, host); ok {
			return false
		}
		if ok, _ := path.Match(g, hostport); ok {
			return false
		}
	}
	return true
}

// connect handles CONNECT: an intercepted session or a plain tunnel.
func (f *Forward) connect(w http.ResponseWriter, r *http.Request) {
	start := f.rev.opts.Now()
	hostport := r.Host
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		hostport = net.JoinHostPort(strings.Trim(hostport, "[]"), "443")
	}
	host, _, _ := net.SplitHostPort(hostport)
	ex := &inspect.Exchange{
		ID: f.rev.opts.IDs.New(start), Bin: f.Name(), Source: inspect.SourceProxy, Time: start,
		Request: inspect.RequestOf(r),
	}
	ex.Request.URL = "https://" + hostport
	if host == "" {
		ex.Error = "CONNECT without a host"
		writeJSONResponse(w, ex, http.StatusBadRequest, map[string]string{"error": "hooklab forward proxy " + f.Name() + ": " + ex.Error})
		f.recordTunnel(ex, start, hostport, nil)
		return
	}
	if f.intercepts(host, hostport) {
		f.mitm(w, r, ex, start, host, hostport)
		return
	}
	// Reach the host before saying yes, so that a failure is a real answer.
	up, err := (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext(r.Context(), "tcp", hostport)
	if err != nil {
		code := http.StatusBadGateway
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			code = http.StatusGatewayTimeout
		}
		ex.Error = fmt.Sprintf("proxy %s: CONNECT %s failed: %v", f.Name(), hostport, err)
		writeJSONResponse(w, ex, code, map[string]string{"error": ex.Error, "upstream": hostport})
		f.recordTunnel(ex, start, hostport, nil)
		return
	}
	client, err := f.hijack(w)
	if err != nil {
		up.Close()
		ex.Error = "CONNECT: " + err.Error()
		writeJSONResponse(w, ex, http.StatusNotImplemented, map[string]string{"error": ex.Error})
		f.recordTunnel(ex, start, hostport, nil)
		return
	}
	f.tunnel(ex, start, hostport, client, up)
}

// hijack takes over the client's connection and tells it the tunnel is up.
// Bytes the client sent after its CONNECT are kept.
func (f *Forward) hijack(w http.ResponseWriter) (net.Conn, error) {
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return nil, fmt.Errorf("the client's connection cannot be taken over (%v); use HTTP/1.1 to the proxy", err)
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 200 Connection Established\r\n\r\n"); err != nil {
		conn.Close()
		return nil, err
	}
	return &bufConn{Conn: conn, r: brw.Reader}, nil
}

// bufConn is a connection whose first bytes wait in a reader.
type bufConn struct {
	net.Conn
	r *bufio.Reader
}

func (c *bufConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *bufConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}

// tunnelStats is what a tunnel carried.
type tunnelStats struct {
	up, down int64 // client to host, host to client
	tls      bool  // the client spoke TLS first
}

// tunnel copies bytes both ways until both sides are done, then records.
func (f *Forward) tunnel(ex *inspect.Exchange, start time.Time, hostport string, client net.Conn, up net.Conn) {
	if !f.begin() {
		client.Close()
		up.Close()
		ex.Error = "tunnel: the proxy is shutting down"
		f.recordTunnel(ex, start, hostport, nil)
		return
	}
	defer f.wg.Done()
	f.track(client, up)
	defer func() {
		f.untrack(client, up)
		client.Close()
		up.Close()
	}()
	ex.Response = &inspect.Response{Status: http.StatusOK, Headers: inspect.Headers{}}
	var st tunnelStats
	sniff := &sniffReader{r: client}
	done := make(chan error, 1)
	go func() {
		n, err := io.Copy(up, sniff)
		st.up = n
		closeWrite(up)
		done <- err
	}()
	n, err := io.Copy(client, up)
	st.down = n
	closeWrite(client)
	if err != nil {
		// One side broke: the other has nothing more to say.
		client.Close()
		up.Close()
	}
	uerr := <-done
	st.tls = sniff.first == 0x16
	if e := errors.Join(err, uerr); e != nil && !isClosedErr(e) {
		ex.Error = "tunnel: " + e.Error()
	}
	f.recordTunnel(ex, start, hostport, &st)
}

// sniffReader notes the first byte read.
type sniffReader struct {
	r     io.Reader
	first byte
	seen  bool
}

func (s *sniffReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 && !s.seen {
		s.seen, s.first = true, p[0]
	}
	return n, err
}

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		_ = cw.CloseWrite()
	}
}

func isClosedErr(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) ||
		strings.Contains(err.Error(), "connection reset by peer") || strings.Contains(err.Error(), "broken pipe")
}

// recordTunnel records a CONNECT exchange.
func (f *Forward) recordTunnel(ex *inspect.Exchange, start time.Time, hostport string, st *tunnelStats) {
	ex.Duration = f.rev.opts.Now().Sub(start)
	if ex.Meta == nil {
		ex.Meta = map[string]any{}
	}
	t := map[string]any{"host": hostport, "duration_ms": float64(ex.Duration.Microseconds()) / 1000}
	if st != nil {
		t["bytes_up"], t["bytes_down"], t["tls"] = st.up, st.down, st.tls
		if !st.tls && st.up > 0 {
			ex.Request.URL = "http://" + hostport
		}
	}
	ex.Meta["tunnel"] = t
	f.rev.record(ex)
}

// mitm intercepts a CONNECT session: TLS with the client under a minted
// certificate, then its requests go to the inner server.
func (f *Forward) mitm(w http.ResponseWriter, r *http.Request, ex *inspect.Exchange, start time.Time, host, hostport string) {
	client, err := f.hijack(w)
	if err != nil {
		ex.Error = "CONNECT: " + err.Error()
		writeJSONResponse(w, ex, http.StatusNotImplemented, map[string]string{"error": ex.Error})
		f.recordTunnel(ex, start, hostport, nil)
		return
	}
	if !f.begin() {
		client.Close()
		ex.Error = "CONNECT: the proxy is shutting down"
		f.recordTunnel(ex, start, hostport, nil)
		return
	}
	defer f.wg.Done()
	f.track(client)
	_ = client.SetDeadline(time.Now().Add(handshakeTimeout))
	first, up, err := firstSpeaker(r.Context(), client.(*bufConn), hostport)
	if err != nil {
		f.untrack(client)
		client.Close()
		ex.Error = "CONNECT: the client sent nothing: " + err.Error()
		ex.Meta = map[string]any{"mitm": true}
		f.recordTunnel(ex, start, hostport, nil)
		return
	}
	if up == nil && plainHTTP(client.(*bufConn)) {
		// Plain HTTP over CONNECT, as undici's ProxyAgent (Node's fetch)
		// sends every http:// request, and websocket libraries a ws://
		// one: served as decrypted requests are, each one recorded.
		_ = client.SetDeadline(time.Time{})
		f.untrack(client)
		f.targets.Store(client, &url.URL{Scheme: "http", Host: hostport})
		if !f.ln.push(client) {
			f.targets.Delete(client)
			client.Close()
		}
		return
	}
	if up != nil || first != 0x16 {
		// Not TLS or HTTP (a host that speaks first, or another
		// protocol): tunnel it as is.
		_ = client.SetDeadline(time.Time{})
		f.untrack(client)
		if up == nil {
			up, err = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext(r.Context(), "tcp", hostport)
			if err != nil {
				client.Close()
				ex.Error = fmt.Sprintf("proxy %s: CONNECT %s failed: %v", f.Name(), hostport, err)
				f.recordTunnel(ex, start, hostport, nil)
				return
			}
		}
		f.tunnel(ex, start, hostport, client, up)
		return
	}
	tconn := tls.Server(client, &tls.Config{
		MinVersion: tls.VersionTLS12,
		NextProtos: []string{"h2", "http/1.1"},
		GetCertificate: func(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
			name := hello.ServerName
			if name == "" {
				name = host // no SNI: an IP address
			}
			return f.ca.Leaf(name)
		},
	})
	ctx, cancel := context.WithTimeout(r.Context(), handshakeTimeout)
	err = tconn.HandshakeContext(ctx)
	cancel()
	f.untrack(client)
	if err != nil {
		client.Close()
		ex.Error = fmt.Sprintf("TLS handshake with the client failed: %v (a client must trust hooklab's CA to be intercepted: see hooklab ca; pinned clients belong in mitm_ignore)", err)
		ex.Meta = map[string]any{"mitm": true}
		f.recordTunnel(ex, start, hostport, nil)
		return
	}
	_ = client.SetDeadline(time.Time{})
	f.targets.Store(tconn, &url.URL{Scheme: "https", Host: hostport})
	if !f.ln.push(tconn) {
		f.targets.Delete(tconn)
		tconn.Close()
	}
}

// plainHTTP reports whether what client has sent, as far as it is already
// read, begins an HTTP/1 request line in origin form ("GET /a HTTP/1.1",
// or "OPTIONS * "): a method token of capital letters, a space, then "/"
// or "*". A client writes its request line at once, so a partial one is
// rare; it is tunnelled. So is HTTP/2 with prior knowledge (its preface
// reads "PRI * HTTP/2.0"; gRPC's plaintext clients), which goes on end to
// end in HTTP/2 only through a tunnel.
func plainHTTP(client *bufConn) bool {
	b, _ := client.r.Peek(client.r.Buffered())
	if bytes.HasPrefix(b, []byte("PRI * ")) {
		return false
	}
	i := 0
	for i < len(b) && i < 20 && ('A' <= b[i] && b[i] <= 'Z' || b[i] == '-' || b[i] == '_') {
		i++
	}
	return i > 0 && len(b) > i+1 && b[i] == ' ' && (b[i+1] == '/' || b[i+1] == '*')
}

// serverFirstWait is how long an intercepting proxy waits for a client's
// first byte after CONNECT before it reaches the host too: where the server
// speaks first (SMTP, SSH, MySQL), the client says nothing until it has
// heard the server. A TLS client sends its hello at once.
const serverFirstWait = 500 * time.Millisecond

// firstSpeaker waits for the client's first byte, until the deadline set on
// client, and returns it. When the client is silent for serverFirstWait it
// reaches hostport as well: a host that speaks first is returned as up,
// what it said kept, for a plain tunnel. An error says the client sent
// nothing before its deadline (and no host spoke either).
func firstSpeaker(ctx context.Context, client *bufConn, hostport string) (first byte, up net.Conn, err error) {
	peeked := make(chan error, 1)
	go func() { _, err := client.r.Peek(1); peeked <- err }()
	clientFirst := func(err error) (byte, net.Conn, error) {
		if err != nil {
			return 0, nil, err
		}
		b, _ := client.r.Peek(1)
		return b[0], nil, nil
	}
	wait := time.NewTimer(serverFirstWait)
	defer wait.Stop()
	select {
	case err := <-peeked:
		return clientFirst(err)
	case <-wait.C:
	}
	conn, derr := (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext(ctx, "tcp", hostport)
	if derr != nil {
		return clientFirst(<-peeked) // the client's turn, and its error
	}
	host := &bufConn{Conn: conn, r: bufio.NewReader(conn)}
	heard := make(chan error, 1)
	go func() { _, err := host.r.Peek(1); heard <- err }()
	select {
	case err := <-peeked:
		conn.Close() // ends the host's Peek
		<-heard
		return clientFirst(err)
	case herr := <-heard:
		if herr != nil {
			conn.Close() // it hung up without a word: the client's turn
			return clientFirst(<-peeked)
		}
		// The host spoke first. The client's Peek is ended (its reader
		// keeps no error) before the tunnel reads it.
		_ = client.SetReadDeadline(time.Now())
		<-peeked
		return 0, host, nil
	}
}

func (f *Forward) connContext(ctx context.Context, c net.Conn) context.Context {
	if t, ok := f.targets.Load(c); ok {
		return context.WithValue(ctx, targetKey{}, t)
	}
	return ctx
}

func (f *Forward) connState(c net.Conn, s http.ConnState) {
	if s == http.StateClosed || s == http.StateHijacked {
		f.targets.Delete(c)
	}
}

// serveIntercepted handles a request decrypted from an intercepted session.
func (f *Forward) serveIntercepted(w http.ResponseWriter, r *http.Request) {
	target, _ := r.Context().Value(targetKey{}).(*url.URL)
	if target == nil {
		http.Error(w, "hooklab: intercepted connection without a target", http.StatusInternalServerError)
		return
	}
	f.rev.active.add(1)
	defer f.rev.active.add(-1)
	f.rev.serve(w, r, target)
}

// connListener hands connections that are already accepted (and
// decrypted) to an http.Server.
type connListener struct {
	ch   chan net.Conn
	done chan struct{}
	once sync.Once
}

func newConnListener() *connListener {
	return &connListener{ch: make(chan net.Conn), done: make(chan struct{})}
}

func (l *connListener) push(c net.Conn) bool {
	select {
	case l.ch <- c:
		return true
	case <-l.done:
		return false
	}
}

func (l *connListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ch:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *connListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *connListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }
