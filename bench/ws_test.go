package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestStreamURL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		base, ws, origin string
		wantErr          bool
	}{
		{base: "http://127.0.0.1:4040/", ws: "ws://127.0.0.1:4040/api/stream", origin: "http://127.0.0.1:4040"},
		{base: "http://127.0.0.1:4040", ws: "ws://127.0.0.1:4040/api/stream", origin: "http://127.0.0.1:4040"},
		{base: "https://localhost:1/ui/", ws: "wss://localhost:1/ui/api/stream", origin: "https://localhost:1"},
		{base: "ftp://x/", wantErr: true},
	}
	for _, tt := range tests {
		ws, origin, err := streamURL(tt.base, "/api/stream")
		if (err != nil) != tt.wantErr || ws != tt.ws || origin != tt.origin {
			t.Errorf("streamURL(%q) = %q, %q, %v; want %q, %q, error %v", tt.base, ws, origin, err, tt.ws, tt.origin, tt.wantErr)
		}
	}
}

// startStandIn runs the hooklab stand-in in this process and returns its
// capture and UI URLs.
func startStandIn(t *testing.T) (capture, ui string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runStandIn(ctx, []string{"--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--data", t.TempDir()}, pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("stand-in: %v", err)
		}
	})
	urls := map[string]string{}
	sc := bufio.NewScanner(pr)
	for len(urls) < 2 && sc.Scan() {
		for _, u := range parseStartupLine(sc.Text()) {
			urls[u.Label] = u.URL
		}
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	if urls["capture"] == "" || urls["ui"] == "" {
		t.Fatalf("stand-in announced %v", urls)
	}
	return urls["capture"], urls["ui"]
}

func TestStreamWatcher(t *testing.T) {
	t.Parallel()
	capture, ui := startStandIn(t)
	wsURL, origin, err := streamURL(ui, "/api/stream")
	if err != nil {
		t.Fatal(err)
	}
	w, err := watchStream(context.Background(), wsURL, origin)
	if err != nil {
		t.Fatal(err)
	}
	const n = 50
	for range n {
		resp, err := http.Post(capture+"hook", "application/json", strings.NewReader(`{}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	for deadline := time.Now().Add(10 * time.Second); w.Messages() < n && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	st := w.Stop()
	if st.Messages != n || st.Resyncs != 0 || st.Reconnects != 0 {
		t.Errorf("stream stats %+v, want %d messages and no resyncs or reconnects", st, n)
	}
}

func TestWatchStreamRefused(t *testing.T) {
	t.Parallel()
	_, ui := startStandIn(t)
	wsURL, origin, err := streamURL(ui, "/api/nothing")
	if err != nil {
		t.Fatal(err)
	}
	if w, err := watchStream(context.Background(), wsURL, origin); err == nil {
		w.Stop()
		t.Fatal("watchStream on a missing path succeeded")
	}
}
