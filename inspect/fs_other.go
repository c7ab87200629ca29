//go:build !unix

package inspect

import (
	"errors"
	"os"
)

// unlockClose closes f: there is no lock to release here.
func unlockClose(f *os.File) error { return f.Close() }

// lockFile cannot lock here, so the store runs without a journal.
func lockFile(*os.File) (bool, error) {
	return false, errors.New("file locks are not supported on this system")
}

// freeBytes cannot tell here.
func freeBytes(string) (uint64, bool) { return 0, false }

// OpenFileLimit cannot tell here.
func OpenFileLimit() (uint64, bool) { return 0, false }
