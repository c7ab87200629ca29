package main

import (
	"context"
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// whenReaderGone calls gone once the reader of w has closed its end, when
// w is a pipe ("hooklab tail | head -n 3": tail would otherwise learn
// it only at its next write, when the next exchange comes). It returns
// when ctx ends.
func whenReaderGone(ctx context.Context, w io.Writer, gone func()) {
	f, ok := w.(*os.File)
	if !ok {
		return
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeNamedPipe == 0 {
		return
	}
	fd := int32(f.Fd())
	go func() {
		for ctx.Err() == nil {
			// With no events asked for, poll reports only POLLERR and
			// POLLHUP: the read end is closed.
			fds := []unix.PollFd{{Fd: fd}}
			n, err := unix.Poll(fds, 250)
			if err != nil && !errors.Is(err, unix.EINTR) {
				return
			}
			if n > 0 && fds[0].Revents&(unix.POLLERR|unix.POLLHUP) != 0 {
				gone()
				return
			}
		}
	}()
}
