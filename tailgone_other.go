//go:build !linux

package main

import (
	"context"
	"io"
)

// whenReaderGone does nothing here (poll reports a closed pipe reader
// without being asked only on Linux): tail learns at its next write.
func whenReaderGone(ctx context.Context, w io.Writer, gone func()) {}
