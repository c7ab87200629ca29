package ui

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/hooklab/hooklab/inspect"
)

// A burst of events, sent in batched writes, reaches the client complete,
// one message per event, in order; and the client's pings are answered
// while bursts are held.
func TestStreamBurstArrivesInOrder(t *testing.T) {
	hub := inspect.NewHub()
	srv := httptest.NewServer(Stream(StreamConfig{Hub: hub, Buffer: 10000}))
	t.Cleanup(srv.Close)
	conn, _, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(srv.URL, "http")+"/api/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pongs := make(chan struct{}, 100)
	conn.SetPongHandler(func(string) error { pongs <- struct{}{}; return nil })
	_ = conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, msg, err := conn.ReadMessage(); err != nil || string(msg) != `{"type":"hello"}` {
		t.Fatalf("first message %q, %v", msg, err)
	}
	const n = 5000
	go func() {
		for i := range n {
			hub.Publish(inspect.Event{Type: "exchange", Exchange: &inspect.Exchange{ID: fmt.Sprintf("ex%05d", i), Bin: "default",
				Request: inspect.Request{Method: "POST", URL: "http://h/p"}}})
			if i%1000 == 0 {
				_ = conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second))
			}
		}
	}()
	for i := range n {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			t.Fatalf("after %d messages: %v", i, err)
		}
		var m struct {
			Type     string
			Exchange struct{ ID string }
		}
		if err := json.Unmarshal(msg, &m); err != nil {
			t.Fatalf("message %d is not one JSON event: %v: %.200s", i, err, msg)
		}
		if want := fmt.Sprintf("ex%05d", i); m.Type != "exchange" || m.Exchange.ID != want {
			t.Fatalf("message %d = %s %s, want exchange %s", i, m.Type, m.Exchange.ID, want)
		}
	}
	// Every ping is answered: wait for the pongs still in flight.
	_ = conn.SetReadDeadline(time.Now().Add(time.Second))
	if _, msg, err := conn.ReadMessage(); err == nil {
		t.Errorf("unexpected message %.200s", msg)
	}
	if len(pongs) != n/1000 {
		t.Errorf("%d pongs for %d pings", len(pongs), n/1000)
	}
}
