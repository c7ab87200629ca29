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
// than ten thousand times. Use one per message. The zero value lets every
// line through.
type LogLimit struct {
	Period time.Duration

	mu      sync.Mutex
	next    time.Time
	held    int
	pending func(heldBack int) // logs the last line held back
	timer   *time.Timer
}

// NewLogLimit returns a LogLimit that lets one line through per period.
func NewLogLimit(period time.Duration) *LogLimit { return &LogLimit{Period: period} }

// Allow reports whether a line may be logged now and, when it may, how many
// lines were held back since the last one let through.
func (l *LogLimit) Allow(now time.Time) (ok bool, heldBack int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.allowLocked(now)
}

func (l *LogLimit) allowLocked(now time.Time) (bool, int) {
	if now.Before(l.next) {
		l.held++
		return false, 0
	}
	heldBack := l.held
	l.held, l.pending = 0, nil
	l.next = now.Add(l.Period)
	return true, heldBack
}

// Log logs msg at level through log when the period allows, with
// "held_back" the number of lines held back before it when there were
// any. Lines held back are not lost from sight: when the period ends, the
// last of them is logged with "held_back" the number held (itself
// included), unless a line let through said it first.
func (l *LogLimit) Log(log *slog.Logger, level slog.Level, msg string, args ...any) {
	now := time.Now()
	l.mu.Lock()
	ok, n := l.allowLocked(now)
	if !ok {
		args := append([]any(nil), args...)
		l.pending = func(held int) {
			log.Log(context.Background(), level, msg, append(args, "held_back", held)...)
		}
		if l.timer == nil {
			l.timer = time.AfterFunc(l.next.Sub(now), l.flush)
		}
		l.mu.Unlock()
		return
	}
	l.mu.Unlock()
	if n > 0 {
		args = append(args, "held_back", n)
	}
	log.Log(context.Background(), level, msg, args...)
}

// flush logs the last line held back, at the end of its period.
func (l *LogLimit) flush() {
	l.mu.Lock()
	n, p := l.held, l.pending
	l.held, l.pending, l.timer = 0, nil, nil
	if n > 0 {
		l.next = time.Now().Add(l.Period)
	}
	l.mu.Unlock()
	if n > 0 && p != nil {
		p(n)
	}
}
