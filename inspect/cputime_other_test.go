//go:build !linux

package inspect

import (
	"testing"
	"time"
)

// threadCPUTime runs f and returns how long it took: where a thread's CPU time
// cannot be read, the time on the wall stands for it.
func threadCPUTime(t *testing.T, f func()) time.Duration {
	t.Helper()
	start := time.Now()
	f()
	return time.Since(start)
}
