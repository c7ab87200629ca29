package inspect

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLogLimit(t *testing.T) {
	l := NewLogLimit(5 * time.Second)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		at   time.Duration
		ok   bool
		held int
	}{
		{0, true, 0},
		{time.Second, false, 0},
		{4999 * time.Millisecond, false, 0},
		{5 * time.Second, true, 2},
		{6 * time.Second, false, 0},
		{20 * time.Second, true, 1},
		{40 * time.Second, true, 0},
	} {
		ok, held := l.Allow(t0.Add(c.at))
		if ok != c.ok || held != c.held {
			t.Errorf("Allow at +%v = %v, %d; want %v, %d", c.at, ok, held, c.ok, c.held)
		}
	}
	var zero LogLimit
	for range 3 {
		if ok, _ := zero.Allow(t0); !ok {
			t.Error("the zero LogLimit held a line back")
		}
	}
}

func TestLogLimitLogSaysWhatItHeldBack(t *testing.T) {
	var buf syncBuffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	l := NewLogLimit(time.Second) // the three lines below come within it, however loaded the machine
	l.Log(log, slog.LevelError, "not stored", "err", "disk full 1")
	l.Log(log, slog.LevelError, "not stored", "err", "disk full 2")
	l.Log(log, slog.LevelError, "not stored", "err", "disk full 3")
	if n := strings.Count(buf.String(), "not stored"); n != 1 {
		t.Fatalf("3 lines in a period logged %d:\n%s", n, buf.String())
	}
	// The period ends with nothing more: the last line held is logged,
	// with how many were held.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(buf.String(), "held_back=2") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if !strings.Contains(buf.String(), `err="disk full 3" held_back=2`) {
		t.Fatalf("the held lines were not said when the period ended:\n%s", buf.String())
	}
	// Said once: a line let through after that holds none back.
	time.Sleep(1100 * time.Millisecond)
	l.Log(log, slog.LevelError, "not stored", "err", "disk full 4")
	if got := buf.String(); strings.Count(got, "held_back") != 1 || !strings.Contains(got, `err="disk full 4"`) {
		t.Errorf("after the flush:\n%s", got)
	}
}
