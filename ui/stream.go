package ui

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hooklab/hooklab/inspect"
)

// StreamConfig configures the live stream.
type StreamConfig struct {
	Hub    *inspect.Hub
	Logger *slog.Logger
	// Buffer is how many events a client may fall behind before it is sent
	// a resync and dropped; 4096 when zero (a commit publishes up to 512).
	Buffer int
	// PingInterval is how often the server pings; 20 s when zero.
	PingInterval time.Duration
	// Done, when closed, ends every stream (server shutdown).
	Done <-chan struct{}
}

// sendBuffer is the kernel send buffer of a stream connection.
const sendBuffer = 64 << 10

// Stream returns the websocket handler of GET /api/stream. Each client gets
// {"type":"hello"}, then one message per event; ?bin= keeps only exchanges
// of that bin, ?q= (the query language of GET /api/exchanges) only those
// that match it, tested here on the whole exchange (free text, header:,
// json:), so that a client filtering so need not fetch each to know. A
// client that falls behind gets {"type":"resync"} and is disconnected; it
// is never waited for.
func Stream(cfg StreamConfig) http.Handler {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 4096
	}
	if cfg.PingInterval <= 0 {
		cfg.PingInterval = DefaultPingInterval
	}
	up := websocket.Upgrader{
		ReadBufferSize:  1024,
		WriteBufferSize: 16 << 10,
		CheckOrigin:     inspect.SameOrigin,
		// Refusals are JSON like the rest of the API.
		Error: func(w http.ResponseWriter, _ *http.Request, status int, reason error) {
			inspect.WriteJSON(w, status, map[string]string{"error": reason.Error()})
		},
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		bin, err := inspect.BinParam(q)
		terms, qerr := inspect.ParseQueryLang(q.Get("q"))
		if qerr != nil {
			qerr = fmt.Errorf("q: %w", qerr)
		}
		// A typo (?bim=) or an empty bin= would stream every bin.
		if err := errors.Join(inspect.Only(q, "GET /api/stream", "bin", "q"), inspect.Once(q, "bin", "q"), err, qerr); err != nil {
			inspect.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		// Matched by the stream's own goroutine as it sends, not in
		// Publish (the store's writer): a slow match makes this client
		// fall behind (and resync), not every capture wait.
		keep := func(*inspect.Event) bool { return true }
		if len(terms) > 0 {
			keep = func(ev *inspect.Event) bool { return ev.Exchange == nil || terms.Match(ev.Exchange) }
		}
		// Subscribed before the handshake is answered: a client may
		// send a capture the moment its Dial returns, and must get it.
		var filter func(*inspect.Event) bool
		if bin != "" {
			filter = func(ev *inspect.Event) bool { return ev.Exchange == nil || ev.Exchange.Bin == bin }
		}
		sub := cfg.Hub.Subscribe(cfg.Buffer, filter)
		defer cfg.Hub.Unsubscribe(sub)
		hw := &hijackWriter{ResponseWriter: w}
		conn, err := up.Upgrade(hw, r, nil)
		if err != nil {
			return // the upgrader has answered
		}
		// A small kernel send buffer makes a slow reader show as a full
		// queue here (and get a resync) instead of megabytes of backlog
		// hidden in the socket.
		if tc, ok := hw.conn.Conn.(interface{ SetWriteBuffer(int) error }); ok {
			_ = tc.SetWriteBuffer(sendBuffer)
		}
		serveStream(r.Context(), cfg, conn, hw.conn, sub, keep)
	})
}

// maxBurst bounds how many queued events go out in one write, and
// flushTimeout how long that write may take.
const (
	maxBurst     = 256
	flushTimeout = 10 * time.Second
)

func serveStream(ctx context.Context, cfg StreamConfig, conn *websocket.Conn, bc *batchConn, sub *inspect.Sub, keep func(*inspect.Event) bool) {
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	// The reader notices the client closing and answers pongs.
	wait := 3 * cfg.PingInterval
	conn.SetReadLimit(4 << 10)
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(wait)) })
	go func() {
		defer cancel()
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()

	write := func(kind int, b []byte) error {
		_ = conn.SetWriteDeadline(time.Now().Add(flushTimeout))
		return conn.WriteMessage(kind, b)
	}
	// dropped says why a client whose socket stayed full is let go: it
	// gets no resync (there is no room for one) and learns from the close.
	dropped := func(err error) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			cfg.Logger.Warn("stream client stopped reading; dropped", "remote", conn.RemoteAddr().String(), "waited", flushTimeout)
		}
	}
	if err := write(websocket.TextMessage, []byte(`{"type":"hello"}`)); err != nil {
		return
	}
	ping := time.NewTicker(cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-cfg.Done:
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
			return
		case <-sub.Overflow():
			cfg.Logger.Warn("stream client fell behind; sent resync", "remote", conn.RemoteAddr().String())
			write(websocket.TextMessage, []byte(`{"type":"resync"}`))
			_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseTryAgainLater, "resync"), time.Now().Add(time.Second))
			return
		case ev := <-sub.C():
			if !keep(&ev) {
				continue
			}
			// Under load events queue up: send what is queued in one
			// write instead of a syscall (and a wakeup of the client)
			// each.
			bc.hold()
			err := write(websocket.TextMessage, ev.Encoded())
		burst:
			for n := 1; err == nil && n < maxBurst; n++ {
				select {
				case ev := <-sub.C():
					if keep(&ev) {
						err = write(websocket.TextMessage, ev.Encoded())
					}
				default:
					break burst
				}
			}
			if ferr := bc.flush(); err == nil {
				err = ferr
			}
			if err != nil {
				dropped(err)
				return
			}
		case <-ping.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second)); err != nil {
				dropped(err)
				return
			}
		}
	}
}

// hijackWriter hands the websocket upgrader a batchConn around the
// hijacked connection.
type hijackWriter struct {
	http.ResponseWriter
	conn *batchConn
}

func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.conn = &batchConn{Conn: c}
	return w.conn, rw, nil
}

// batchConn collects the frames written between hold and flush and sends
// them in one write. Outside that it writes through. Writes may come from
// the stream's writer and from the websocket reader (pongs) at once.
type batchConn struct {
	net.Conn
	mu      sync.Mutex
	holding bool
	buf     []byte
}

func (c *batchConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.holding {
		c.buf = append(c.buf, p...)
		return len(p), nil
	}
	return c.Conn.Write(p)
}

func (c *batchConn) hold() {
	c.mu.Lock()
	c.holding = true
	c.mu.Unlock()
}

// flush sends what was held, with a deadline of its own: a control
// frame written meanwhile from the reader (a pong) sets a shorter one.
func (c *batchConn) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holding = false
	if len(c.buf) == 0 {
		return nil
	}
	_ = c.Conn.SetWriteDeadline(time.Now().Add(flushTimeout))
	_, err := c.Conn.Write(c.buf)
	if cap(c.buf) > 1<<20 {
		c.buf = nil // a rare huge burst does not pin its buffer
	} else {
		c.buf = c.buf[:0]
	}
	return err
}
