package inspect

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestParseCPUStat(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in    string
		total, idle uint64
		ok          bool
	}{
		{"linux", "cpu  66406 0 39423 192856 3041 0 8317 0 0 0\ncpu0 1 2 3 4 5 6 7 8 9 10\n", 66406 + 39423 + 192856 + 3041 + 8317, 192856 + 3041, true},
		{"old kernel, four fields", "cpu 10 20 30 40\n", 100, 40, true},
		{"steal counted, guest not again", "cpu 1 1 1 1 1 1 1 1 100 100\n", 8, 2, true},
		{"per-CPU lines only", "cpu0 1 2 3 4 5\n", 0, 0, false},
		{"not numbers", "cpu a b c d e\n", 0, 0, false},
		{"empty", "", 0, 0, false},
	} {
		total, idle, ok := parseCPUStat([]byte(tc.in))
		if total != tc.total || idle != tc.idle || ok != tc.ok {
			t.Errorf("%s: got %d, %d, %v; want %d, %d, %v", tc.name, total, idle, ok, tc.total, tc.idle, tc.ok)
		}
	}
}

func TestCPUMeter(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "stat")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	m := cpuMeter{path: path}
	write("cpu 100 0 0 100 0\n")
	if _, ok := m.idleShare(); ok {
		t.Error("the first reading told a share")
	}
	write("cpu 190 0 0 110 0\n") // 100 ticks, 10 idle
	if share, ok := m.idleShare(); !ok || share != 0.1 {
		t.Errorf("idle share %v (%v), want 0.1", share, ok)
	}
	write("cpu 190 0 0 110 0\n") // no time passed
	if _, ok := m.idleShare(); ok {
		t.Error("told a share over no time")
	}
	os.Remove(path)
	if _, ok := m.idleShare(); ok {
		t.Error("told a share with no file")
	}
	if _, ok := (&cpuMeter{path: "/proc/stat"}).idleShare(); ok {
		t.Error("the first reading of /proc/stat told a share")
	}
}

func TestIndexNow(t *testing.T) {
	t.Parallel()
	busy := time.Millisecond // the writer wrote a moment ago
	for _, tc := range []struct {
		name            string
		backlog, recent int64
		sinceWrite      time.Duration
		idle            float64
		known           bool
		want            int
	}{
		{"nothing to index", 0, 0, time.Hour, 1, true, 0},
		{"writer idle", 10, 0, indexEvery, 0, true, indexBatch},
		{"writer idle, CPUs busy with something else", 10, 0, indexEvery, 0.01, true, indexBatch},
		{"light traffic", 10, indexLightRows, busy, 0.5, true, indexBusyBatch},
		{"heavy traffic", 10, indexLightRows + 1, busy, 0.5, true, 0},
		{"heavy traffic, large backlog", indexBacklog, 5000, busy, 0.5, true, indexBusyBatch},
		{"heavy traffic, large backlog, CPUs unknown", indexBacklog, 5000, busy, 0, false, indexBusyBatch},
		{"heavy traffic, large backlog, CPUs nearly all busy", indexBacklog, 5000, busy, 0.04, true, 0},
		{"light traffic, CPUs nearly all busy", 10, 5, busy, 0.04, true, indexBusyBatch},
	} {
		if got := indexNow(tc.backlog, tc.recent, tc.sinceWrite, tc.idle, tc.known); got != tc.want {
			t.Errorf("%s: %d rows, want %d", tc.name, got, tc.want)
		}
	}
}
