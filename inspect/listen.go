package inspect

import (
	"net"
	"net/http"
	"sync"
	"sync/atomic"
)

// LimitListener returns a listener that serves at most n connections at
// once. A connection beyond that takes the place of a keep-alive
// connection sitting idle between requests, when there is one (closed, as
// the idle timeout would), else it is answered at once with a 503 and
// Retry-After, and closed, so a flood of connections cannot exhaust the
// process's file descriptors and a client that is turned away is told why.
// Idle connections are known through the server's ConnState hook: set it
// to ConnStateHook(ln).
func LimitListener(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, max: int64(n), idle: map[*limitConn]struct{}{}}
}

type limitListener struct {
	net.Listener
	max    int64
	active atomic.Int64

	mu   sync.Mutex
	idle map[*limitConn]struct{} // keep-alive connections between requests
}

// ConnStateHook returns the http.Server ConnState hook that tells ln
// (from LimitListener) which connections sit idle; nil for another
// listener.
func ConnStateHook(ln net.Listener) func(net.Conn, http.ConnState) {
	l, ok := ln.(*limitListener)
	if !ok {
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
		l.mu.Lock()
		if st == http.StateIdle {
			l.idle[lc] = struct{}{}
		} else {
			delete(l.idle, lc)
		}
		l.mu.Unlock()
	}
}

// evictIdle closes a connection sitting idle, if there is one, and
// reports whether it did.
func (l *limitListener) evictIdle() bool {
	l.mu.Lock()
	var victim *limitConn
	for c := range l.idle {
		victim = c
		delete(l.idle, c)
		break
	}
	l.mu.Unlock()
	if victim == nil {
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
		return &limitConn{Conn: c, l: l}, nil
	}
}

type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	c.once.Do(func() {
		c.l.active.Add(-1)
		c.l.mu.Lock()
		delete(c.l.idle, c)
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
