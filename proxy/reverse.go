// Package proxy owns hooklab's inspecting proxies: a reverse proxy that
// stands in front of a service and records every exchange that passes, with
// bodies teed (never buffered whole) so large transfers, chunked bodies,
// server-sent events and websocket upgrades stream as they would without it.
package proxy

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// Route sends requests whose path starts with Prefix to Upstream.
type Route struct {
	// Prefix is a path prefix; "" or "/" matches everything.
	Prefix   string
	Upstream *url.URL
	// Strip removes Prefix from the path before forwarding.
	Strip bool
	// SetRequestHeaders and RemoveRequestHeaders edit the forwarded request;
	// SetResponseHeaders and RemoveResponseHeaders edit the answer.
	SetRequestHeaders     map[string]string
	RemoveRequestHeaders  []string
	SetResponseHeaders    map[string]string
	RemoveResponseHeaders []string
}

// Options configure a reverse proxy.
type Options struct {
	// Name is the proxy's name; exchanges are recorded in a bin of that name.
	Name   string
	Routes []Route
	// Record stores an exchange. It is called once per exchange, after the
	// response has been sent, off the request's path.
	Record func(context.Context, *inspect.Exchange) error
	IDs    *inspect.IDs
	// MaxBody is how many body bytes of each direction are recorded; the
	// rest streams through and is counted. 10 MiB when zero.
	MaxBody int64
	// Transport reaches the upstreams; NewTransport() when nil.
	Transport http.RoundTripper
	Logger    *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Context is the app's context: recordings finish under it after the
	// request's own context ends. context.Background() when nil.
	Context context.Context
}

// NewTransport returns the upstream transport: keep-alive with enough idle
// connections per host for a busy local service (Go's default of 2 leaves
// thousands of sockets in TIME_WAIT under load).
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: nil, // a reverse proxy talks to its upstream directly
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		MaxIdleConns:          1024,
		MaxIdleConnsPerHost:   256,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 60 * time.Second,
		ExpectContinueTimeout: time.Second,
		ForceAttemptHTTP2:     false,
	}
}

// Reverse is an inspecting reverse proxy.
type Reverse struct {
	opts Options
	rp   *httputil.ReverseProxy
	log  *slog.Logger
	wg   sync.WaitGroup
}

var _ http.Handler = (*Reverse)(nil)

type ctxKey struct{}

// flight is what the proxy learns about one exchange as it passes.
type flight struct {
	ex       *inspect.Exchange
	start    time.Time
	ttfb     time.Duration
	reqBody  *tee
	route    *Route
	upstream string
	tunnel   *tunnel
	once     sync.Once
}

// NewReverse returns a reverse proxy over opts.Routes, longest prefix first.
func NewReverse(opts Options) (*Reverse, error) {
	if len(opts.Routes) == 0 {
		return nil, errors.New("proxy: no routes")
	}
	for i, rt := range opts.Routes {
		if rt.Upstream == nil || (rt.Upstream.Scheme != "http" && rt.Upstream.Scheme != "https") || rt.Upstream.Host == "" {
			return nil, fmt.Errorf("proxy %s: route %q: upstream must be an http or https URL with a host", opts.Name, rt.Prefix)
		}
		if opts.Routes[i].Prefix == "" {
			opts.Routes[i].Prefix = "/"
		}
	}
	// Longest prefix wins.
	routes := append([]Route(nil), opts.Routes...)
	for i := 1; i < len(routes); i++ {
		for j := i; j > 0 && len(routes[j].Prefix) > len(routes[j-1].Prefix); j-- {
			routes[j], routes[j-1] = routes[j-1], routes[j]
		}
	}
	opts.Routes = routes
	if opts.MaxBody <= 0 {
		opts.MaxBody = 10 << 20
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.IDs == nil {
		opts.IDs = new(inspect.IDs)
	}
	if opts.Context == nil {
		opts.Context = context.Background()
	}
	if opts.Transport == nil {
		opts.Transport = NewTransport()
	}
	p := &Reverse{opts: opts, log: opts.Logger}
	p.rp = &httputil.ReverseProxy{
		Rewrite:        p.rewrite,
		Transport:      opts.Transport,
		ModifyResponse: p.modifyResponse,
		ErrorHandler:   p.errorHandler,
		ErrorLog:       slog.NewLogLogger(opts.Logger.Handler(), slog.LevelDebug),
		BufferPool:     newBufferPool(),
	}
	return p, nil
}

// Name returns the proxy's name, the bin its exchanges are recorded in.
func (p *Reverse) Name() string { return p.opts.Name }

// Wait blocks until every recording in flight has been handed to Record.
func (p *Reverse) Wait() { p.wg.Wait() }

func (p *Reverse) route(path string) *Route {
	for i := range p.opts.Routes {
		rt := &p.opts.Routes[i]
		if rt.Prefix == "/" || path == rt.Prefix || strings.HasPrefix(path, strings.TrimSuffix(rt.Prefix, "/")+"/") {
			return rt
		}
	}
	return nil
}

func (p *Reverse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := p.opts.Now()
	rt := p.route(r.URL.Path)
	if rt == nil {
		inspect.WriteJSON(w, http.StatusNotFound, map[string]string{"error": "proxy " + p.opts.Name + ": no route for " + r.URL.Path})
		return
	}
	req := recordRequest(r)
	f := &flight{
		ex:    &inspect.Exchange{ID: p.opts.IDs.New(start), Bin: p.opts.Name, Source: inspect.SourceProxy, Time: start, Request: req},
		start: start,
		route: rt,
	}
	if r.Body != nil && r.Body != http.NoBody {
		f.reqBody = newTee(r.Body, p.opts.MaxBody)
		r.Body = f.reqBody
	}
	trace := &httptrace.ClientTrace{GotFirstResponseByte: func() { f.ttfb = p.opts.Now().Sub(start) }}
	ctx := httptrace.WithClientTrace(context.WithValue(r.Context(), ctxKey{}, f), trace)
	p.rp.ServeHTTP(w, r.WithContext(ctx))
	if f.tunnel != nil {
		f.tunnel.Close() // the upgraded connection is over; this records it
	}
	// A response whose body was never read to its end (HEAD, 304, a client
	// gone) is finished here.
	p.finish(f, nil)
}

func (p *Reverse) rewrite(pr *httputil.ProxyRequest) {
	f := pr.In.Context().Value(ctxKey{}).(*flight)
	rt := f.route
	out := pr.Out
	if rt.Strip && rt.Prefix != "/" {
		out.URL.Path = "/" + strings.TrimPrefix(strings.TrimPrefix(out.URL.Path, strings.TrimSuffix(rt.Prefix, "/")), "/")
		out.URL.RawPath = ""
	}
	pr.SetURL(rt.Upstream)
	pr.SetXForwarded()
	out.Host = rt.Upstream.Host
	for k, v := range rt.SetRequestHeaders {
		out.Header.Set(k, v)
	}
	for _, k := range rt.RemoveRequestHeaders {
		out.Header.Del(k)
	}
	f.upstream = out.URL.String()
}

func (p *Reverse) modifyResponse(resp *http.Response) error {
	f := resp.Request.Context().Value(ctxKey{}).(*flight)
	rt := f.route
	for k, v := range rt.SetResponseHeaders {
		resp.Header.Set(k, v)
	}
	for _, k := range rt.RemoveResponseHeaders {
		resp.Header.Del(k)
	}
	f.ex.Response = &inspect.Response{Status: resp.StatusCode, Headers: inspect.FromHTTP(resp.Header)}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		if rwc, ok := resp.Body.(io.ReadWriteCloser); ok {
			f.tunnel = newTunnel(rwc, func(t *tunnel) { p.finish(f, t) })
			resp.Body = f.tunnel
			return nil
		}
	}
	resp.Body = &respTee{tee: newTee(resp.Body, p.opts.MaxBody), done: func(t *tee) { p.finishBody(f, t) }}
	return nil
}

func (p *Reverse) errorHandler(w http.ResponseWriter, r *http.Request, err error) {
	f := r.Context().Value(ctxKey{}).(*flight)
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		f.ex.Error = "client went away: " + err.Error()
		return // nobody to answer
	}
	code := http.StatusBadGateway
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		code = http.StatusGatewayTimeout
	}
	msg := fmt.Sprintf("proxy %s: upstream %s failed: %v", p.opts.Name, f.route.Upstream.Host, err)
	f.ex.Error = msg
	body := []byte(fmt.Sprintf(`{"error":%q,"upstream":%q}`+"\n", msg, f.upstream))
	f.ex.Response = &inspect.Response{
		Status:  code,
		Headers: inspect.Headers{{Name: "Content-Type", Value: "application/json"}},
		Body:    body, Size: int64(len(body)),
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func (p *Reverse) finishBody(f *flight, t *tee) {
	if f.ex.Response != nil && f.ex.Response.Body == nil {
		f.ex.Response.Body, f.ex.Response.Size, f.ex.Response.Truncated = t.bytes(), t.n, t.truncated()
		if t.err != nil && !errors.Is(t.err, io.EOF) {
			f.ex.Error = "reading upstream body: " + t.err.Error()
		}
	}
	p.finish(f, nil)
}

// finish records the exchange once, off the request's path.
func (p *Reverse) finish(f *flight, tun *tunnel) {
	f.once.Do(func() {
		ex := f.ex
		ex.Duration = p.opts.Now().Sub(f.start)
		if f.reqBody != nil {
			ex.Request.Body, ex.Request.Size, ex.Request.Truncated = f.reqBody.bytes(), f.reqBody.n, f.reqBody.truncated()
		}
		meta := map[string]any{"upstream": f.upstream, "ttfb_ms": float64(f.ttfb.Microseconds()) / 1000}
		if tun != nil {
			meta["websocket"] = map[string]any{
				"bytes_up": tun.up.bytes, "bytes_down": tun.down.bytes,
				"frames_up": tun.up.frames, "frames_down": tun.down.frames,
			}
		}
		ex.Meta = meta
		if p.opts.Record == nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			if err := p.opts.Record(p.opts.Context, ex); err != nil {
				p.log.Error("proxy exchange not stored", "proxy", p.opts.Name, "id", ex.ID, "err", err)
			}
		}()
	})
}

// recordRequest copies what is known of r before its body is read.
func recordRequest(r *http.Request) inspect.Request {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	uri := r.RequestURI
	if uri == "" || !strings.HasPrefix(uri, "/") {
		uri = r.URL.RequestURI()
	}
	hdr := make(inspect.Headers, 0, len(r.Header)+1)
	hdr = append(hdr, inspect.Header{Name: "Host", Value: r.Host})
	hdr = append(hdr, inspect.FromHTTP(r.Header)...)
	return inspect.Request{
		Method: r.Method, URL: scheme + "://" + r.Host + uri, Proto: r.Proto, Host: r.Host,
		Headers: hdr, RemoteAddr: r.RemoteAddr, TLS: r.TLS != nil,
	}
}

// tee passes a body through while keeping its first max bytes and counting
// all of them.
type tee struct {
	r   io.ReadCloser
	buf bytes.Buffer
	max int64
	n   int64
	err error
}

func newTee(r io.ReadCloser, max int64) *tee { return &tee{r: r, max: max} }

func (t *tee) Read(p []byte) (int, error) {
	n, err := t.r.Read(p)
	if n > 0 {
		if room := t.max - int64(t.buf.Len()); room > 0 {
			t.buf.Write(p[:min(int64(n), room)])
		}
		t.n += int64(n)
	}
	if err != nil && t.err == nil {
		t.err = err
	}
	return n, err
}

func (t *tee) Close() error    { return t.r.Close() }
func (t *tee) truncated() bool { return t.n > int64(t.buf.Len()) }
func (t *tee) bytes() []byte   { return t.buf.Bytes() }

// respTee reports the response body once it is read to its end or closed.
type respTee struct {
	*tee
	done func(*tee)
	once sync.Once
}

func (r *respTee) Read(p []byte) (int, error) {
	n, err := r.tee.Read(p)
	if err != nil {
		r.once.Do(func() { r.done(r.tee) })
	}
	return n, err
}

func (r *respTee) Close() error {
	err := r.tee.Close()
	r.once.Do(func() { r.done(r.tee) })
	return err
}

// bufferPool recycles the 32 KiB copy buffers of the reverse proxy.
type bufferPool struct{ p sync.Pool }

func newBufferPool() *bufferPool {
	return &bufferPool{p: sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}}
}

func (b *bufferPool) Get() []byte  { return *(b.p.Get().(*[]byte)) }
func (b *bufferPool) Put(x []byte) { b.p.Put(&x) }
