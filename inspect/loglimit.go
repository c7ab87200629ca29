package inspect

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// LogLimit lets a log line that every request may repeat (a full disk, a
// refused Host) through once per period, and counts what it holds back, so
// a fault hit ten thousand times a second is said every few seconds rather
// than ten thousand times. The zero value lets every line through.
type LogLimit struct {
	Period time.Duration

	mu   sync.Mutex
	next time.Time
	held int
}

// NewLogLimit returns a LogLimit that lets one line through per period.
func NewLogLimit(period time.Duration) *LogLimit { return &LogLimit{Period: period} }

// Allow reports whether a line may be logged now and, when it may, how many
// lines were held back since the last one let through (to be logged with
// it, as "held_back").
func (l *LogLimit) Allow(now time.Time) (ok bool, heldBack int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Before(l.next) {
		l.held++
		return false, 0
	}
	heldBack, l.held = l.held, 0
	l.next = now.Add(l.Period)
	return true, heldBack
}

// Log logs msg at level through log when Allow lets it, with "held_back"
// the number of lines held back since the last one when there were any.
func (l *LogLimit) Log(log *slog.Logger, level slog.Level, msg string, args ...any) {
	ok, n := l.Allow(time.Now())
	if !ok {
		return
	}
	if n > 0 {
		args = append(args, "held_back", n)
	}
	log.Log(context.Background(), level, msg, args...)
}
