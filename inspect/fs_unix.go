//go:build unix

package inspect

import (
	"errors"
	"os"
	"syscall"
)

// unlockClose releases the lock lockFile took on f, then closes f. Closing
// alone is not enough: a child the process forks at that moment (any
// exec, as tests and commands start programs) holds a copy of f until it
// execs, and with it the lock, so the next open of the same data
// directory in this process would be refused as in use.
func unlockClose(f *os.File) error {
	uerr := syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	if err := f.Close(); err != nil {
		return err
	}
	return uerr
}

// lockFile takes an exclusive lock on f without waiting. It reports false
// when another process holds it.
func lockFile(f *os.File) (bool, error) {
	err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// freeBytes is how much room the file system holding dir has left for an
// unprivileged writer; ok is false when that cannot be told.
func freeBytes(dir string) (free uint64, ok bool) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, false
	}
	return st.Bavail * uint64(st.Bsize), true
}

// OpenFileLimit returns how many files the process may have open
// (RLIMIT_NOFILE's soft limit, which Go raises to the hard one at start);
// false when it cannot tell.
func OpenFileLimit() (uint64, bool) {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil || r.Cur == ^uint64(0) { // RLIM_INFINITY
		return 0, false
	}
	return r.Cur, true
}
