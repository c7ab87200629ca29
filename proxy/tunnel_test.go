package proxy

import (
	"io"
	"sync"
	"testing"
	"time"
)

// slowConn's Write hands its bytes over at once but returns only when the
// connection is closed, and then late: the moment a proxy closes a websocket
// because the upstream already answered the client's close frame.
type slowConn struct {
	closed  chan struct{}
	once    sync.Once
	writing chan struct{} // closed when Write is entered
}

func (c *slowConn) Read(p []byte) (int, error) { <-c.closed; return 0, io.EOF }
func (c *slowConn) Write(p []byte) (int, error) {
	close(c.writing)
	<-c.closed
	time.Sleep(50 * time.Millisecond)
	return len(p), nil
}
func (c *slowConn) Close() error { c.once.Do(func() { close(c.closed) }); return nil }

func TestTunnelCountsWritesInFlightAtClose(t *testing.T) {
	t.Parallel()
	got := make(chan [2]int64, 1)
	conn := &slowConn{closed: make(chan struct{}), writing: make(chan struct{})}
	tun := newTunnel(conn, func(t *tunnel) {
		got <- [2]int64{t.up.frames, t.up.bytes}
	})
	// A masked close frame with a 2-byte status code: 8 bytes.
	frame := []byte{0x88, 0x82, 1, 2, 3, 4, 0, 0}
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_, _ = tun.Write(frame)
	}()
	go func() {
		// Also a Read in flight, as the other direction of the copy.
		_, _ = tun.Read(make([]byte, 16))
	}()
	<-conn.writing // the Write is in flight
	tun.Close()
	<-wrote
	if c := <-got; c != [2]int64{1, 8} {
		t.Errorf("done saw %d frames, %d bytes up; want 1, 8", c[0], c[1])
	}
	tun.Close() // a second Close reports nothing more
	select {
	case c := <-got:
		t.Errorf("reported twice: %v", c)
	default:
	}
}
