package ui

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestTailReconnectsAfterSilence: a stream that goes quiet without a close
// (a server whose machine slept, a network gone) is taken for dead once it
// has brought nothing, not even a ping, for Silence, and tail reconnects.
// It waited on the dead connection for ever.
func TestTailReconnectsAfterSilence(t *testing.T) {
	t.Parallel()
	var conns atomic.Int32
	quit := make(chan struct{})
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "hooklab")
		switch r.URL.Path {
		case "/api/exchanges":
			io.WriteString(w, `{"exchanges":[],"next":""}`)
		case "/api/stream":
			c, err := up.Upgrade(w, r, w.Header())
			if err != nil {
				return
			}
			defer c.Close()
			conns.Add(1)
			c.WriteMessage(websocket.TextMessage, []byte(`{"type":"hello"}`))
			select { // silent: no message, no ping, no close
			case <-quit:
			case <-r.Context().Done():
			}
		default:
			http.NotFound(w, r)
		}
	}))
	defer func() { close(quit); srv.Close() }()

	ctx, cancel := context.WithCancel(context.Background())
	status := &lockedBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- Tail(ctx, TailConfig{Server: srv.URL, Out: io.Discard, Status: status, Silence: 200 * time.Millisecond})
	}()
	defer func() { cancel(); <-done }()
	for deadline := time.Now().Add(time.Minute); conns.Load() < 2; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("tail did not reconnect from a silent stream within a minute; status:\n%s", status.String())
		}
	}
	if s := status.String(); !strings.Contains(s, "sent nothing, not even a ping, for 200ms; reconnecting") {
		t.Errorf("status does not say why it reconnected:\n%s", s)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
