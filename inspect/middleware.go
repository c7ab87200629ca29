package inspect

import (
	"bufio"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"time"
)

// Recover turns a handler panic into a 500 answer and an error log line,
// so no panic reaches a client as a dropped connection.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil || v == http.ErrAbortHandler {
				if v != nil {
					panic(v)
				}
				return
			}
			log.Error("handler panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			WriteJSON(w, http.StatusInternalServerError, map[string]string{"error": "internal error (logged)"})
		}()
		next.ServeHTTP(w, r)
	})
}

// AccessLog logs each request next has answered, once it has: a 5xx at
// Error, a 4xx at Warn, anything else at Debug (so --log-level debug shows
// every request). A line has the method, the path (never the query, which
// may carry captured text), the status, the bytes of the body sent and the
// time taken. A websocket logs 101 when its connection ends. A handler that
// panics is not logged here: Recover, outside it, logs the panic. A 401 (a
// missing or wrong --auth token) is logged once per 5 s, the next with
// "held_back" the number held back (see LogLimit): a page or a script
// retrying with a wrong token would flood the log.
func AccessLog(log *slog.Logger, next http.Handler) http.Handler {
	return accessLog(log, 5*time.Second, next)
}

// accessLog is AccessLog with the period at which a 401 is logged (a test
// sends its 401s well within one, however slow the machine).
func accessLog(log *slog.Logger, authPeriod time.Duration, next http.Handler) http.Handler {
	authLog := NewLogLimit(authPeriod)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		lw := &loggedWriter{ResponseWriter: w}
		answered := false
		defer func() {
			if !answered {
				return // a panic: Recover, further out, logs it
			}
			code := lw.code
			if code == 0 {
				code = http.StatusOK // the handler wrote nothing: net/http sends 200
			}
			level := slog.LevelDebug
			switch {
			case code >= 500:
				level = slog.LevelError
			case code >= 400:
				level = slog.LevelWarn
			}
			if !log.Enabled(r.Context(), level) {
				return
			}
			args := []any{"method", r.Method, "path", r.URL.Path, "status", code,
				"bytes", lw.bytes, "duration_ms", float64(time.Since(start).Microseconds()) / 1000, "remote", r.RemoteAddr}
			if code == http.StatusUnauthorized {
				authLog.Log(log, level, "request", args...)
				return
			}
			log.Log(r.Context(), level, "request", args...)
		}()
		next.ServeHTTP(lw, r)
		answered = true
	})
}

// loggedWriter keeps the status and the body size of an answer. It passes
// Hijack (the websocket upgrader asks for it by type assertion) and, through
// Unwrap, what http.ResponseController reaches (Flush, deadlines).
type loggedWriter struct {
	http.ResponseWriter
	code  int
	bytes int64
}

func (w *loggedWriter) WriteHeader(code int) {
	if w.code == 0 && (code >= 200 || code == http.StatusSwitchingProtocols) {
		w.code = code // a 1xx such as 100 Continue is not the answer
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *loggedWriter) Write(b []byte) (int, error) {
	if w.code == 0 {
		w.code = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *loggedWriter) Flush() { _ = w.FlushError() }

// FlushError is what http.ResponseController.Flush calls: the error of the
// writer underneath reaches its caller.
func (w *loggedWriter) FlushError() error {
	return http.NewResponseController(w.ResponseWriter).Flush()
}

func (w *loggedWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil && w.code == 0 {
		w.code = http.StatusSwitchingProtocols
	}
	return c, rw, err
}

func (w *loggedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
