package inspect

import (
	"net"
	"sync"
	"sync/atomic"
)

// LimitListener returns a listener that serves at most n connections at
// once. A connection beyond that is answered at once with a 503 and
// Retry-After, and closed, so a flood of idle connections cannot exhaust the
// process's file descriptors and a client that is turned away is told why.
func LimitListener(ln net.Listener, n int) net.Listener {
	return &limitListener{Listener: ln, max: int64(n)}
}

type limitListener struct {
	net.Listener
	max    int64
	active atomic.Int64
}

const busyAnswer = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\nContent-Length: 63\r\n\r\n" +
	`{"error":"hooklab has too many connections open; retry later"}` + "\n"

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.active.Add(1) > l.max {
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
	c.once.Do(func() { c.l.active.Add(-1) })
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
