//go:build !unix

package inspect

import "os"

// lockFile cannot lock here, so the store runs without a journal.
func lockFile(*os.File) (bool, error) { return false, nil }

// freeBytes cannot tell here.
func freeBytes(string) (uint64, bool) { return 0, false }
