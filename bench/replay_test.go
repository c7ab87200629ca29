package main

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/hooklab/hooklab/replay"
)

// TestReplayMeasures runs both sides of "bench replay" on a small fixture
// against an in-process bare handler.
func TestReplayMeasures(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(bareHandler())
	defer srv.Close()
	p := filepath.Join(t.TempDir(), "f.har")
	if err := writeReplayFixture(p, 200, 256); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	exs, err := replay.ReadHAR(fh)
	fh.Close()
	if err != nil || len(exs) != 200 {
		t.Fatalf("%d exchanges, %v", len(exs), err)
	}
	bare, err := bareReplayLoop(t.Context(), exs, srv.URL, 8)
	if err != nil || bare.Requests != 200 || bare.Errors != 0 || bare.Non2xx != 0 || bare.RPS <= 0 || bare.P99 <= 0 {
		t.Errorf("bare: %+v %v", bare, err)
	}
	for _, record := range []bool{false, true} {
		res, rep, err := measureReplay(t.Context(), exs, srv.URL, 8, record)
		if err != nil || res.Requests != 200 || res.Errors != 0 || rep.Summary.Same != 200 || res.P50 <= 0 {
			t.Errorf("replay (record %v): %+v %v %v", record, res, rep.Summary, err)
		}
	}
}
