//go:build !unix

package inspect

import (
	"errors"
	"os"
)

// lockFile cannot lock here, so the store runs without a journal.
func lockFile(*os.File) (bool, error) {
	return false, errors.New("file locks are not supported on this system")
}

// freeBytes cannot tell here.
func freeBytes(string) (uint64, bool) { return 0, false }
