package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// bareHandler is the baseline every hooklab figure is compared with: it
// reads the whole body and answers 200 with a small JSON body, about what a
// capture endpoint answers, and does nothing else.
func bareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
}

// runBareServer serves bareHandler on --addr and prints "bare: URL" once it
// listens, until ctx is cancelled.
func runBareServer(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bare-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:0", "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "bare: http://%s/\n", ln.Addr())
	return serveUntil(ctx, ln, bareHandler())
}

// serveUntil serves h on ln until ctx is cancelled, then shuts down.
func serveUntil(ctx context.Context, ln net.Listener, h http.Handler) error {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx }, // ends hijacked streams too
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// runStandIn is a minimal stand-in for "hooklab serve", run by
// "bench capture --hooklab self" to exercise the harness before (or
// without) a hooklab binary: it answers captures like hooklab does, keeps
// nothing, and streams one event per capture on /api/stream.
func runStandIn(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	captureAddr := fs.String("capture", "127.0.0.1:8080", "capture listen address")
	uiAddr := fs.String("ui", "127.0.0.1:4040", "UI listen address")
	data := fs.String("data", "", "ignored")
	fs.String("config", "", "ignored")
	fs.Bool("memory", false, "ignored")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cln, err := net.Listen("tcp", *captureAddr)
	if err != nil {
		return err
	}
	uln, err := net.Listen("tcp", *uiAddr)
	if err != nil {
		cln.Close()
		return err
	}
	fmt.Fprintf(stdout, "capture: http://%s/\n", cln.Addr())
	fmt.Fprintf(stdout, "ui:      http://%s/\n", uln.Addr())
	fmt.Fprintf(stdout, "data:    %s (stand-in: nothing is stored)\n", *data)

	h := &standInHub{clients: map[chan []byte]struct{}{}}
	var id atomic.Int64
	capture := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		x := strconv.FormatInt(id.Add(1), 10)
		h.publish([]byte(`{"type":"exchange","exchange":{"id":"` + x + `","method":"` + r.Method +
			`","path":"` + r.URL.Path + `","status":200,"request_size":` + strconv.FormatInt(n, 10) + `}}`))
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true,"id":"`+x+`","bin":"default"}`)
	})
	ui := http.NewServeMux()
	ui.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	ui.HandleFunc("GET /api/stream", h.serveStream)

	errc := make(chan error, 2)
	go func() { errc <- serveUntil(ctx, cln, capture) }()
	go func() { errc <- serveUntil(ctx, uln, ui) }()
	return errors.Join(<-errc, <-errc)
}

// standInHub fans events out to websocket clients; a client whose queue is
// full gets a resync message and is dropped.
type standInHub struct {
	mu      sync.Mutex
	clients map[chan []byte]struct{}
}

var resyncMsg = []byte(`{"type":"resync"}`)

func (h *standInHub) publish(msg []byte) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c <- msg:
		default:
			delete(h.clients, c)
			close(c)
		}
	}
}

func (h *standInHub) serveStream(w http.ResponseWriter, r *http.Request) {
	// Subscribed before the handshake's answer, so that nothing published
	// after the client's Dial returns is missed (TestStreamWatcher lost
	// the first of 50 messages once in CI).
	c := make(chan []byte, 1024)
	h.mu.Lock()
	h.clients[c] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		if _, ok := h.clients[c]; ok {
			delete(h.clients, c)
			close(c)
		}
		h.mu.Unlock()
	}()
	up := websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}
	conn, err := up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	gone := make(chan struct{})
	go func() { // reader: notices close
		defer close(gone)
		for {
			if _, _, err := conn.ReadMessage(); err != nil {
				return
			}
		}
	}()
	for {
		select {
		case msg, ok := <-c:
			if !ok {
				_ = conn.WriteMessage(websocket.TextMessage, resyncMsg)
				return
			}
			if err := conn.WriteMessage(websocket.TextMessage, msg); err != nil {
				return
			}
		case <-gone:
			return
		case <-r.Context().Done():
			return
		}
	}
}
