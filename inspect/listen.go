package inspect

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// LimitListener returns a listener that serves at most n connections at
// once. A connection beyond that takes the place of the keep-alive
// connection that has sat idle between requests the longest, when one has
// for evictAfter (it is closed, as the idle timeout would close it: one
// that went idle a moment ago may be sending its next request, which
// would be lost), else it is answered at once with a 503 and Retry-After,
// and closed, so a flood of connections cannot exhaust the process's file
// descriptors and a client that is turned away is told why. Idle
// connections are known through the server's ConnState hook: set it to
// ConnStateHook(ln).
func LimitListener(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, max: int64(n), evictAfter: evictAfter, conns: map[*limitConn]struct{}{}}
}

// evictAfter is how long a keep-alive connection must have been idle to
// give its place up to a new one.
const evictAfter = time.Second

type limitListener struct {
	net.Listener
	max        int64
	evictAfter time.Duration
	active     atomic.Int64

	mu    sync.Mutex
	conns map[*limitConn]struct{} // open, for eviction
}

// ConnStateHook returns the http.Server ConnState hook that tells ln
// (from LimitListener) which connections sit idle; nil for another
// listener. It runs at every request: it only stores a time.
func ConnStateHook(ln net.Listener) func(net.Conn, http.ConnState) {
	if _, ok := ln.(*limitListener); !ok {
		return nil
	}
	return func(c net.Conn, st http.ConnState) {
		if t, ok := c.(interface{ NetConn() net.Conn }); ok { // TLS
			c = t.NetConn()
		}
		lc, ok := c.(*limitConn)
		if !ok {
			return
		}
		if st == http.StateIdle {
			lc.idleSince.Store(time.Now().UnixNano())
		} else {
			lc.idleSince.Store(0)
		}
	}
}

// evictIdle closes the connection idle the longest, if one has been for
// evictAfter, and reports whether it did.
func (l *limitListener) evictIdle() bool {
	cutoff := time.Now().Add(-l.evictAfter).UnixNano()
	l.mu.Lock()
	var victim *limitConn
	oldest := cutoff + 1
	for c := range l.conns {
		if since := c.idleSince.Load(); since != 0 && since < oldest {
			victim, oldest = c, since
		}
	}
	l.mu.Unlock()
	if victim == nil || !victim.idleSince.CompareAndSwap(oldest, 0) { // still idle since then
		return false
	}
	_ = victim.Close()
	return true
}

const busyAnswer = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 63\r\n\r\n" +
	`{"error":"hooklab has too many connections open; retry later"}` + "\n"

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.active.Add(1) > l.max && !(l.evictIdle() && l.active.Load() <= l.max) {
			l.active.Add(-1)
			go func() {
				_, _ = c.Write([]byte(busyAnswer))
				_ = c.Close()
			}()
			continue
		}
		lc := &limitConn{Conn: c, l: l}
		l.mu.Lock()
		l.conns[lc] = struct{}{}
		l.mu.Unlock()
		return lc, nil
	}
}

type limitConn struct {
	net.Conn
	l         *limitListener
	once      sync.Once
	idleSince atomic.Int64 // UnixNano it went idle between requests; 0 when not idle
}

func (c *limitConn) Close() error {
	c.once.Do(func() {
		c.l.active.Add(-1)
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

// The TCP knobs that handlers reach for on a hijacked connection (a reset
// fault sets linger, the stream shrinks its send buffer, tunnels half-close)
// pass through to the connection underneath.

// SetLinger sets SO_LINGER when the connection is TCP.
func (c *limitConn) SetLinger(sec int) error {
	if t, ok := c.Conn.(interface{ SetLinger(int) error }); ok {
		return t.SetLinger(sec)
	}
	return nil
}

// SetWriteBuffer sets the kernel send buffer when the connection is TCP.
func (c *limitConn) SetWriteBuffer(n int) error {
	if t, ok := c.Conn.(interface{ SetWriteBuffer(int) error }); ok {
		return t.SetWriteBuffer(n)
	}
	return nil
}

// CloseWrite half-closes the connection when it is TCP.
func (c *limitConn) CloseWrite() error {
	if t, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return t.CloseWrite()
	}
	return nil
}

// CloseRead half-closes the reading side when the connection is TCP.
func (c *limitConn) CloseRead() error {
	if t, ok := c.Conn.(interface{ CloseRead() error }); ok {
		return t.CloseRead()
	}
	return nil
}

// ServerURL is the base URL of a client command's --server (or
// $HOOKLAB_UI), the one place every client command reads it: http:// is
// assumed when no scheme is given (127.0.0.1:4040), a URL with a port but
// no host (:4040, http://:4040) means 127.0.0.1, as serve's --ui takes
// it, and a trailing slash is dropped (a path stays: a front end may serve
// the UI under one). Anything but an http or https URL of a host is an
// error (ftp://h, http://, a query), for the command to report as a usage
// error, which quotes s as ShownURL shows it (its password and secret-named
// query values REDACTED).
func ServerURL(s string) (string, error) {
	in := s
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	s = strings.TrimSuffix(s, "/")
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(s, "?#") {
		return "", fmt.Errorf("%q: want the UI's URL, like http://127.0.0.1:4040 (or :4040)", ShownURL(in, QuerySecret(nil)))
	}
	if u.Hostname() == "" {
		// ":4040" alone: the port of this machine's loopback, as a
		// listen flag takes it. Sent as it was, its Host ":4040" is
		// refused by the UI's Host check.
		if u.Port() == "" {
			return "", fmt.Errorf("%q: want the UI's URL, like http://127.0.0.1:4040 (or :4040)", ShownURL(in, QuerySecret(nil)))
		}
		u.Host = net.JoinHostPort("127.0.0.1", u.Port())
		s = u.String()
	}
	return s, nil
}

// NoAPIAt is the error of a client command whose server, hooklab's UI,
// answered that u is no API endpoint (its {"error"} began "no API
// endpoint ") while u has a path before its /api/ (the command puts
// /api/... after the server's URL, so its --server or HOOKLAB_UI has a
// path it should not, such as http://127.0.0.1:4040/api), or nil for any
// other answer: a server given without a path that lacks the endpoint (an
// older hooklab) has no path to drop.
func NoAPIAt(u *url.URL, status int, msg string) error {
	if status != http.StatusNotFound || !strings.HasPrefix(msg, "no API endpoint ") || strings.HasPrefix(u.Path, "/api/") && !strings.HasPrefix(u.Path, "/api/api/") {
		return nil
	}
	return fmt.Errorf("%s has no API endpoint %s: give the UI's address without a path, like http://127.0.0.1:4040 (--server or HOOKLAB_UI)",
		RedactURL(u.Scheme+"://"+u.Host), u.EscapedPath())
}

// NotUI is the error of a client command whose server answered but is not
// hooklab's UI listener (whose answers say Server: hooklab): the capture
// port, say, which records each request the command sends it.
func NotUI(server, status string) error {
	return fmt.Errorf("%s answered %s but is not hooklab's UI listener (is it the capture port? the UI is on :4040 by default)", RedactURL(server), status)
}

// FitConns returns how many connections each listener may hold so that a
// flood of them on one listener leaves files for the others and for the
// store: files is the process's limit of open files (OpenFileLimit). A
// listener's connections are counted twice, since a proxy opens one to its
// upstream for each, and two listeners are counted (capture and UI; a
// proxy is the second one's worth), with reserve files kept out. It is
// maxConns when that fits, and never below 16.
func FitConns(maxConns int, files uint64) int {
	const reserve = 256
	if files <= reserve {
		return min(maxConns, 16)
	}
	fit := (files - reserve) / 4
	if uint64(maxConns) <= fit {
		return maxConns
	}
	return max(int(fit), 16)
}
