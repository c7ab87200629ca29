//go:build !unix

package inspect

import "os"

// lockFile cannot lock here, so the store runs without a journal.
func lockFile(*os.File) (bool, error) { return false, nil }
