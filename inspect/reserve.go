package inspect

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
)

// The data directory keeps a small reserve file (reserveFile, reserveSize
// bytes of zeros) that the store gives up when deleting exchanges fails on
// a full disk. SQLite needs room to delete: each commit appends to the
// WAL, which grows when a checkpoint could not reset it (the checkpoint
// itself may need room in the database file). So on a disk the exchanges
// filled, a clear could not commit, and the journal segments it would have
// freed stayed: capture answered 503 until someone freed space outside
// hooklab. With the reserve, the delete commits into the reserve's room,
// the sweep then frees the segments, and the writer makes the reserve
// again once the disk has reserveRoom free.
const (
	reserveFile = "reserve"
	reserveSize = 1 << 20
	reserveRoom = 4 * reserveSize
)

// reserve is the store's reserve file. Only the writer goroutine uses it
// after open.
type reserve struct {
	path string // "" when the store keeps none (in memory, or another process owns the directory)
	have bool   // the file is there, whole
}

// keep makes the reserve file when it is missing and the disk has
// reserveRoom free. A failure is not an error: the store works without it.
func (r *reserve) keep() {
	if r.path == "" || r.have {
		return
	}
	if fi, err := os.Stat(r.path); err == nil && fi.Size() >= reserveSize {
		r.have = true
		return
	}
	if free, ok := freeBytes(filepath.Dir(r.path)); ok && free < reserveRoom {
		return
	}
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return
	}
	// Written, not truncated to size: a sparse file would hold no room.
	_, err = f.Write(make([]byte, reserveSize))
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		_ = os.Remove(r.path)
		return
	}
	r.have = true
}

// release deletes the reserve file when err says the disk is full and the
// file is there, and reports whether it did: the failed write is worth
// trying again.
func (r *reserve) release(err error) bool {
	if r.path == "" || !diskFull(err) {
		return false
	}
	if !r.have {
		if _, serr := os.Stat(r.path); serr != nil {
			return false
		}
	}
	r.have = false
	rerr := os.Remove(r.path)
	return rerr == nil
}

// diskFull reports whether err is a full disk: ENOSPC, or SQLite's FULL.
func diskFull(err error) bool {
	var se interface{ Code() int }
	return errors.Is(err, syscall.ENOSPC) || errors.As(err, &se) && se.Code()&0xff == 13
}
