//go:build !unix

package main

import (
	"context"
	"io"
)

// whenReaderGone does nothing here: tail learns at its next write.
func whenReaderGone(ctx context.Context, w io.Writer, gone func()) {}
