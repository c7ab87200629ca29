package proxy

import (
	"io"
	"sync"
)

// tunnel wraps the upstream side of an upgraded (websocket) connection and
// counts bytes and websocket frames in each direction. Reads are frames from
// the upstream (down), writes are frames from the client (up).
//
// done sees the counts once, at Close, after any Read or Write still in
// flight has returned: the proxy closes the tunnel as soon as one direction
// ends, possibly while the other is between writing its last frame and
// counting it (the upstream can answer a close frame before our Write
// returns).
type tunnel struct {
	rwc      io.ReadWriteCloser
	mu       sync.Mutex
	idle     sync.Cond // signalled when inflight drops to 0
	inflight int
	up       frameCounter
	down     frameCounter
	done     func(*tunnel)
	once     sync.Once
}

func newTunnel(rwc io.ReadWriteCloser, done func(*tunnel)) *tunnel {
	t := &tunnel{rwc: rwc, done: done}
	t.idle.L = &t.mu
	return t
}

func (t *tunnel) Read(p []byte) (int, error) {
	t.begin()
	n, err := t.rwc.Read(p)
	t.end(&t.down, p[:n])
	return n, err
}

func (t *tunnel) Write(p []byte) (int, error) {
	t.begin()
	n, err := t.rwc.Write(p)
	t.end(&t.up, p[:n])
	return n, err
}

func (t *tunnel) begin() {
	t.mu.Lock()
	t.inflight++
	t.mu.Unlock()
}

func (t *tunnel) end(c *frameCounter, p []byte) {
	t.mu.Lock()
	c.feed(p)
	if t.inflight--; t.inflight == 0 {
		t.idle.Broadcast()
	}
	t.mu.Unlock()
}

// Close closes the connection, which ends a Read or Write in flight, waits
// for them to be counted, and reports once.
func (t *tunnel) Close() error {
	err := t.rwc.Close()
	t.once.Do(func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		for t.inflight > 0 {
			t.idle.Wait()
		}
		t.done(t)
	})
	return err
}

// frameCounter follows a websocket byte stream (RFC 6455 section 5.2) and
// counts whole frames without keeping their payloads.
type frameCounter struct {
	bytes  int64
	frames int64
	hdr    [14]byte
	hlen   int   // header bytes collected
	need   int   // header bytes needed (0: unknown yet)
	skip   int64 // payload bytes still to pass over
}

func (c *frameCounter) feed(p []byte) {
	c.bytes += int64(len(p))
	for len(p) > 0 {
		if c.skip > 0 {
			n := min(int64(len(p)), c.skip)
			c.skip -= n
			p = p[n:]
			continue
		}
		c.hdr[c.hlen] = p[0]
		c.hlen++
		p = p[1:]
		if c.hlen == 2 {
			c.need = 2
			switch c.hdr[1] & 0x7f {
			case 126:
				c.need += 2
			case 127:
				c.need += 8
			}
			if c.hdr[1]&0x80 != 0 {
				c.need += 4 // masking key
			}
		}
		if c.hlen >= 2 && c.hlen == c.need {
			var n int64
			switch l := c.hdr[1] & 0x7f; l {
			case 126:
				n = int64(c.hdr[2])<<8 | int64(c.hdr[3])
			case 127:
				for i := 2; i < 10; i++ {
					n = n<<8 | int64(c.hdr[i])
				}
			default:
				n = int64(l)
			}
			c.frames++
			c.skip, c.hlen, c.need = n, 0, 0
		}
	}
}
