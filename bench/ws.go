package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// StreamStats counts what a websocket client attached to /api/stream read.
type StreamStats struct {
	Messages   int64 // every message read, resyncs included
	Resyncs    int64 // {"type":"resync"} messages
	Reconnects int64 // times the server dropped us and we dialled again
}

// streamWatcher is one websocket client reading everything a stream sends,
// as the UI does: when the server drops it (after a resync), it dials again.
type streamWatcher struct {
	url    string
	header http.Header
	// delay, when set, is a pause after each message (a slow reader), and
	// readBuffer a small socket receive buffer so the kernel does not
	// absorb megabytes of unread messages and the server sees the client
	// fall behind within seconds.
	delay      time.Duration
	readBuffer int

	messages, resyncs, reconnects atomic.Int64

	cancel context.CancelFunc
	mu     sync.Mutex
	conn   *websocket.Conn
	done   chan struct{}
}

// streamURL turns a UI base URL such as http://127.0.0.1:4040/ into the
// websocket URL of path on it and the Origin header the UI's own page would
// send.
func streamURL(uiBase, path string) (wsURL, origin string, err error) {
	u, err := url.Parse(uiBase)
	if err != nil {
		return "", "", fmt.Errorf("ui url %q: %w", uiBase, err)
	}
	origin = u.Scheme + "://" + u.Host
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", "", fmt.Errorf("ui url %q: want http or https", uiBase)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	return u.String(), origin, nil
}

// watchStream dials wsURL and, once connected, reads in the background
// until Stop.
func watchStream(ctx context.Context, wsURL, origin string) (*streamWatcher, error) {
	return startWatcher(ctx, &streamWatcher{url: wsURL, header: http.Header{"Origin": {origin}}})
}

// watchSlow is watchStream for a client that reads one message per delay
// through a 16 KiB receive buffer, so that the server finds it slow, sends
// it a resync and drops it; it then dials again, as the UI does.
func watchSlow(ctx context.Context, wsURL, origin string, delay time.Duration) (*streamWatcher, error) {
	return startWatcher(ctx, &streamWatcher{url: wsURL, header: http.Header{"Origin": {origin}}, delay: delay, readBuffer: 16 << 10})
}

func startWatcher(ctx context.Context, w *streamWatcher) (*streamWatcher, error) {
	w.done = make(chan struct{})
	conn, err := w.dial(ctx)
	if err != nil {
		return nil, err
	}
	ctx, w.cancel = context.WithCancel(ctx)
	go w.loop(ctx, conn)
	return w, nil
}

func (w *streamWatcher) dial(ctx context.Context) (*websocket.Conn, error) {
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second, Proxy: nil}
	if w.readBuffer > 0 {
		d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			var nd net.Dialer
			c, err := nd.DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(w.readBuffer)
			}
			return c, err
		}
	}
	conn, resp, err := d.DialContext(ctx, w.url, w.header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("websocket %s: %w (HTTP %s)", w.url, err, resp.Status)
		}
		return nil, fmt.Errorf("websocket %s: %w", w.url, err)
	}
	return conn, nil
}

func (w *streamWatcher) loop(ctx context.Context, conn *websocket.Conn) {
	defer close(w.done)
	for {
		w.mu.Lock()
		w.conn = conn
		stopped := ctx.Err() != nil // Stop cancels before it closes w.conn
		w.mu.Unlock()
		if stopped {
			conn.Close()
			return
		}
		for {
			_, msg, err := conn.ReadMessage()
			if err != nil {
				break
			}
			w.messages.Add(1)
			if bytes.Contains(msg, []byte(`"resync"`)) {
				w.resyncs.Add(1)
			}
			if w.delay > 0 {
				select {
				case <-ctx.Done():
				case <-time.After(w.delay):
				}
			}
		}
		conn.Close()
		// Dropped (or stopped): dial again like the UI does, until Stop.
		for {
			if ctx.Err() != nil {
				return
			}
			c, err := w.dial(ctx)
			if err == nil {
				conn = c
				w.reconnects.Add(1)
				break
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}
}

// Messages returns the number of messages read so far.
func (w *streamWatcher) Messages() int64 { return w.messages.Load() }

// Stop closes the connection, waits for the reader, and returns the counts.
func (w *streamWatcher) Stop() StreamStats {
	w.cancel()
	w.mu.Lock()
	if w.conn != nil {
		_ = w.conn.Close()
	}
	w.mu.Unlock()
	<-w.done
	return StreamStats{Messages: w.messages.Load(), Resyncs: w.resyncs.Load(), Reconnects: w.reconnects.Load()}
}

// settle waits until no message has arrived for quiet, or for at most max,
// so that events for the last answered requests are counted.
func (w *streamWatcher) settle(ctx context.Context, quiet, max time.Duration) {
	end := time.Now().Add(max)
	last, lastChange := w.Messages(), time.Now()
	t := time.NewTicker(quiet / 4)
	defer t.Stop()
	for time.Now().Before(end) {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if n := w.Messages(); n != last {
			last, lastChange = n, time.Now()
		} else if time.Since(lastChange) >= quiet {
			return
		}
	}
}
