package inspect

import (
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// threadCPUTime runs f on a thread of its own and returns the CPU time that
// thread spent (user and system): what f costs, however busy the machine
// is with other work, where the time f takes on the wall grows with the
// load. Work f hands to other goroutines is not counted.
func threadCPUTime(t *testing.T, f func()) time.Duration {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	before := threadRusage(t)
	f()
	return threadRusage(t) - before
}

func threadRusage(t *testing.T) time.Duration {
	t.Helper()
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		t.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
