package inspect

import (
	"bytes"
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
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	l := NewLogLimit(time.Hour)
	for range 3 {
		l.Log(log, slog.LevelError, "not stored", "err", "disk full")
	}
	if n := strings.Count(buf.String(), "not stored"); n != 1 {
		t.Fatalf("3 lines in a period logged %d:\n%s", n, &buf)
	}
	l.next = time.Time{} // the period is over
	l.Log(log, slog.LevelError, "not stored", "err", "disk full")
	if !strings.Contains(buf.String(), "held_back=2") {
		t.Errorf("the line after the period does not say 2 were held back:\n%s", &buf)
	}
}
