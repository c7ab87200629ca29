package inspect

import (
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The journal is how an Add becomes durable without waiting for a SQLite
// transaction. Concurrent Adds append their rows to one buffer; one of them
// (the leader) writes the whole buffer to the active segment file in one
// write(2) while the next group gathers, hands the rows to the store's
// writer in order, and then every caller of the group returns. The writer
// inserts them later, in transactions as large as the backlog, and records
// in the same transaction the highest log sequence number (LSN) it has
// applied. At open, records past that LSN are inserted again, so an
// exchange whose answer went out survives kill -9 at any moment.
//
// Like SQLite's WAL with synchronous=NORMAL, the journal is not fsynced:
// it survives the process dying, not the machine losing power.
//
// The journal is also where the exchanges live: a row the writer inserts
// holds what lists and filters need, and the place of its record (segment
// and offset), from which Get reads the rest: headers and bodies. So an
// exchange is written once in full, not once here and again (twice, with
// SQLite's WAL) in the database.
//
// A segment file holds records, each
//
//	u32 length of the payload (little-endian)
//	u32 CRC-32C of the payload
//	payload: uvarint LSN, then the row (row.appendTo)
//
// and is named after the LSN of its first record. A segment is deleted when
// the writer has applied every record in it, a newer segment exists, and no
// stored exchange points into it any more (retention or a delete removed
// them all). The bytes of an exchange deleted on its own stay in its
// segment until then, as a deleted row's stay in SQLite's free pages.
type journal struct {
	dir      string
	segLimit int64
	log      *slog.Logger
	lock     *os.File // held (flock) while this process owns the journal

	// The leader alone writes the file, so f, name, size and broken are
	// the leader's; mu guards the rest.
	f      *os.File
	name   string
	size   int64
	broken bool // a failed write may have left a torn record: start a new segment

	mu       sync.Mutex
	first    uint64    // LSN the active segment is named after
	sealed   []segment // older segments, oldest first
	next     uint64    // the LSN the next record gets
	buf      []byte    // records of the gathering group
	spare    []byte
	cur      *group
	flushing bool // a leader is writing (or leadership is being handed on)

	// acked is the highest LSN written.
	acked atomic.Uint64
	// failing is the last failed write, nil once one works.
	failing atomic.Pointer[writeFailure]
	// fails counts the spells of failure: the times failing was set.
	fails atomic.Uint64
}

type writeFailure struct {
	err   error
	since time.Time
	size  int // of the write that failed
}

type segment struct {
	name  string
	first uint64
}

// group is the records written by one write.
type group struct {
	members []*pendingWrite
	last    uint64
	err     error
	done    chan struct{} // closed when written (or failed)
	lead    chan struct{} // a token: its receiver leads this group's write
}

func newGroup() *group {
	return &group{done: make(chan struct{}), lead: make(chan struct{}, 1)}
}

// segmentLimit is the size at which the journal starts a new segment.
const segmentLimit = 8 << 20

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// journalRecord is a record read back at open.
type journalRecord struct {
	lsn uint64
	row *row
	seg uint64 // the segment it is in (its first LSN)
	off int64  // where it starts in the segment
}

// errJournalHeld is openJournal's answer when another process holds the
// journal's lock (a file system that cannot lock gives no journal and no
// error).
var errJournalHeld = errors.New("the journal is held by another process")

// lockJournal takes the lock of the journal in dir, creating both when
// missing, and writes this process's pid in it. It returns errJournalHeld
// when another process owns dir (a hooklab serving from the same data
// directory while a command such as export opens it), and a nil file when
// the file system cannot lock.
func lockJournal(dir string, log *slog.Logger) (*os.File, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	lock, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("journal: %w", err)
	}
	if ok, err := lockFile(lock); !ok {
		lock.Close()
		if err != nil {
			log.Warn("journal cannot be locked; writing to the database directly", "err", err)
			return nil, nil
		}
		return nil, errJournalHeld
	}
	// The holder's pid, for the error of the next process refused here
	// (a stale one from a killed holder is overwritten: the lock is not
	// held then). Only a hint: the lock is the flock.
	if err := lock.Truncate(0); err == nil {
		_, _ = lock.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return lock, nil
}

// openJournal reads every segment in dir and returns the records after
// applied, in LSN order, with a journal whose next record follows the last
// one seen. The old segments stay until dropRecovered. lock is the
// journal's lock when the caller took it already (lockJournal), else nil
// and openJournal takes it, with lockJournal's answers: errJournalHeld,
// or a nil journal when the file system cannot lock.
func openJournal(dir string, lock *os.File, applied uint64, log *slog.Logger) (*journal, []journalRecord, error) {
	if lock == nil {
		var err error
		if lock, err = lockJournal(dir, log); lock == nil {
			return nil, nil, err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		_ = unlockClose(lock)
		return nil, nil, fmt.Errorf("journal: %w", err)
	}
	j := &journal{dir: dir, segLimit: segmentLimit, log: log, lock: lock, cur: newGroup(), next: applied + 1}
	var recs []journalRecord
	for _, e := range entries {
		first, ok := segmentLSN(e.Name())
		if !ok {
			continue
		}
		if !e.Type().IsRegular() {
			// Not read (a directory, a symbolic link): said, since the
			// records it was to hold are not stored; and no new segment
			// takes its name, which the writes would fail to open.
			log.Warn("journal: a segment's name on what is not a regular file; not read", "file", filepath.Join(dir, e.Name()), "type", e.Type().String())
			j.next = max(j.next, first+1)
			continue
		}
		j.sealed = append(j.sealed, segment{filepath.Join(dir, e.Name()), first})
	}
	slices.SortFunc(j.sealed, func(a, b segment) int { return cmp.Compare(a.first, b.first) })
	for i, seg := range j.sealed {
		if i+1 < len(j.sealed) && j.sealed[i+1].first-1 <= applied {
			continue // every record in it is applied: nothing to read
		}
		last, got, err := readSegment(seg.name, seg.first, applied, log)
		if err != nil {
			_ = unlockClose(lock)
			return nil, nil, err
		}
		recs = append(recs, got...)
		j.next = max(j.next, last+1)
	}
	if n := len(j.sealed); n > 0 {
		// The newest segment may hold no readable record (hooklab died
		// right after making it, or its first write failed): the next
		// segment must still get a name of its own, or it would reopen
		// that file while it is listed as sealed, and retiring it would
		// delete the active segment.
		j.next = max(j.next, j.sealed[n-1].first+1)
	}
	j.acked.Store(j.next - 1)
	return j, recs, nil
}

func segmentLSN(name string) (uint64, bool) {
	base, ok := strings.CutSuffix(name, ".log")
	if !ok {
		return 0, false
	}
	n, err := strconv.ParseUint(base, 10, 64)
	return n, err == nil
}

// readSegment returns the records of one segment after applied, and the
// last LSN it holds. It stops at the first record that is torn or fails
// its checksum (what a crash mid-write leaves), saying so when more follows
// — but for a damaged record that a whole one follows (damage after the
// write, not a torn end): that one is skipped, and the records after it
// are kept.
func readSegment(name string, first, applied uint64, log *slog.Logger) (last uint64, recs []journalRecord, err error) {
	b, err := os.ReadFile(name)
	if err != nil {
		return 0, nil, fmt.Errorf("journal: %w", err)
	}
	off := 0
	for off < len(b) {
		if !wholeRecordAt(b, off) {
			if len(b)-off < 8 {
				break
			}
			n := int(binary.LittleEndian.Uint32(b[off:]))
			if n > len(b)-off-8 || !wholeRecordAt(b, off+8+n) {
				break
			}
			log.Warn("journal record damaged (checksum mismatch); skipped, the records after it are kept", "file", name, "offset", off)
			off += 8 + n
			continue
		}
		n := int(binary.LittleEndian.Uint32(b[off:]))
		payload := b[off+8 : off+8+n]
		lsn, k := binary.Uvarint(payload)
		if k <= 0 {
			break
		}
		last = max(last, lsn)
		if lsn > applied {
			r, err := decodeRow(payload[k:])
			if err != nil {
				break
			}
			recs = append(recs, journalRecord{lsn, r, first, int64(off)})
		}
		off += 8 + n
	}
	if off < len(b) {
		log.Warn("journal segment ends in an unreadable record; the rest is ignored", "file", name, "offset", off, "ignored_bytes", len(b)-off)
	}
	return last, recs, nil
}

// wholeRecordAt reports whether a record with a matching checksum starts
// at off in b.
func wholeRecordAt(b []byte, off int) bool {
	if len(b)-off < 8 {
		return false
	}
	n := int(binary.LittleEndian.Uint32(b[off:]))
	return n <= len(b)-off-8 && crc32.Checksum(b[off+8:off+8+n], castagnoli) == binary.LittleEndian.Uint32(b[off+4:])
}

// segmentName is the file of the segment whose first record is first.
func segmentName(dir string, first uint64) string {
	return filepath.Join(dir, fmt.Sprintf("%020d.log", first))
}

// errRecordGone is segmentFiles.read's answer when the record's segment
// file is not there: its exchanges were deleted meanwhile, or someone
// removed it.
var errRecordGone = errors.New("journal record gone")

// recordGoneError is errRecordGone naming the segment file that is not
// there, so that an exchange's detail says which file to look for.
type recordGoneError struct{ file string }

func (e *recordGoneError) Error() string { return "journal record gone: " + e.file + " is missing" }

func (e *recordGoneError) Is(target error) bool { return target == errRecordGone }

// readRecord reads the row of the record at off in f, the segment whose
// first record is seg and which is size bytes long, checking its length,
// checksum and LSN.
func readRecord(f *os.File, size int64, seg uint64, off int64) (*row, error) {
	var hdr [8]byte
	if off < 0 || off+8 > size {
		return nil, fmt.Errorf("journal record %d@%d: past the end of the segment (%d bytes): %w", seg, off, size, errBadRow)
	}
	if _, err := f.ReadAt(hdr[:], off); err != nil {
		return nil, fmt.Errorf("journal record %d@%d: %w", seg, off, err)
	}
	n := binary.LittleEndian.Uint32(hdr[:])
	if int64(n) > size-off-8 {
		return nil, fmt.Errorf("journal record %d@%d: length %d runs past the end of the segment: %w", seg, off, n, errBadRow)
	}
	payload := make([]byte, n)
	if _, err := f.ReadAt(payload, off+8); err != nil {
		return nil, fmt.Errorf("journal record %d@%d: %w", seg, off, err)
	}
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(hdr[4:]) {
		return nil, fmt.Errorf("journal record %d@%d: checksum mismatch: %w", seg, off, errBadRow)
	}
	lsn, k := binary.Uvarint(payload)
	if k <= 0 || lsn < seg {
		return nil, fmt.Errorf("journal record %d@%d: bad LSN: %w", seg, off, errBadRow)
	}
	return decodeRow(payload[k:])
}

// segmentFiles opens segments for reading and keeps a few open until close,
// for a reader of many records.
type segmentFiles struct {
	dir   string
	files map[uint64]openSegment
}

type openSegment struct {
	f    *os.File
	size int64
}

// maxOpenSegments bounds the files one reader keeps open.
const maxOpenSegments = 16

func (sf *segmentFiles) read(seg uint64, off int64) (*row, error) {
	o, ok := sf.files[seg]
	if !ok {
		f, err := os.Open(segmentName(sf.dir, seg))
		if errors.Is(err, os.ErrNotExist) {
			return nil, &recordGoneError{file: segmentName(sf.dir, seg)}
		}
		if err != nil {
			return nil, fmt.Errorf("journal: %w", err)
		}
		// The active segment grows: a record stored in the database was
		// written before, so the size now covers it.
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("journal: %w", err)
		}
		if len(sf.files) >= maxOpenSegments {
			sf.close()
		}
		if sf.files == nil {
			sf.files = make(map[uint64]openSegment)
		}
		o = openSegment{f, fi.Size()}
		sf.files[seg] = o
	}
	r, err := readRecord(o.f, o.size, seg, off)
	if errors.Is(err, errBadRow) {
		// The active segment may have grown since it was opened (a
		// reader lists page after page): look again before calling the
		// record damaged.
		if fi, serr := o.f.Stat(); serr == nil && fi.Size() > o.size {
			o.size = fi.Size()
			sf.files[seg] = o
			r, err = readRecord(o.f, o.size, seg, off)
		}
	}
	return r, err
}

func (sf *segmentFiles) close() {
	for _, o := range sf.files {
		o.f.Close()
	}
	sf.files = nil
}

// append journals p's row and returns once it is written, after the
// group's rows were handed to enqueue in LSN order.
func (j *journal) append(p *pendingWrite, enqueue func([]*pendingWrite)) error {
	j.mu.Lock()
	p.lsn = j.next
	j.next++
	start := len(j.buf)
	p.off = int64(start) // in the group's buffer until written
	j.buf = append(j.buf, 0, 0, 0, 0, 0, 0, 0, 0)
	j.buf = binary.AppendUvarint(j.buf, p.lsn)
	j.buf = p.row.appendTo(j.buf)
	payload := j.buf[start+8:]
	binary.LittleEndian.PutUint32(j.buf[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(j.buf[start+4:], crc32.Checksum(payload, castagnoli))
	g := j.cur
	g.members = append(g.members, p)
	g.last = p.lsn
	if j.flushing {
		j.mu.Unlock()
		select {
		case <-g.done:
			return g.err
		case <-g.lead:
		}
		j.mu.Lock()
	}
	// Lead: write the gathered group while the next one gathers.
	j.flushing = true
	buf := j.buf
	j.buf, j.spare = j.spare, nil
	j.cur = newGroup()
	j.mu.Unlock()

	var seg uint64
	var base int64
	seg, base, g.err = j.write(buf, g.members[0].lsn)
	if g.err == nil {
		for _, m := range g.members {
			m.seg, m.off = seg, base+m.off
		}
		enqueue(g.members)
		j.acked.Store(g.last)
		// On a nearly full disk a small write may fit where a larger one
		// did not: the failure is over once one as large would fit.
		if f := j.failing.Load(); f != nil {
			if free, ok := freeBytes(j.dir); !ok || free >= uint64(f.size)+64<<10 {
				j.failing.Store(nil)
			}
		}
	} else if f := j.failing.Load(); f == nil {
		j.failing.Store(&writeFailure{g.err, time.Now(), len(buf)})
		j.fails.Add(1)
	}
	close(g.done)

	j.mu.Lock()
	if cap(buf) <= 1<<20 {
		j.spare = buf[:0]
	}
	if len(j.cur.members) > 0 {
		j.cur.lead <- struct{}{} // flushing stays set: leadership passes on
	} else {
		j.flushing = false
	}
	j.mu.Unlock()
	return g.err
}

// failure returns the last failed write, or nil once one works again or,
// for a full disk, once space for a write as large has come back (so
// /healthz recovers when space is freed, not only at the next capture).
func (j *journal) failure() *writeFailure {
	f := j.failing.Load()
	if f == nil || !SpaceFor(j.dir, f.err, uint64(f.size)+64<<10) {
		return f
	}
	j.failing.CompareAndSwap(f, nil)
	return nil
}

// write appends buf to the active segment, starting a new one first when
// there is none, it is full, or a failed write may have torn its end. It
// returns the segment written (its first LSN) and the offset buf went to.
func (j *journal) write(buf []byte, first uint64) (seg uint64, base int64, err error) {
	if j.f == nil || j.broken || j.size >= j.segLimit {
		if err := j.rotate(first); err != nil {
			return 0, 0, err
		}
	}
	base = j.size
	n, err := j.f.Write(buf)
	if err != nil {
		// Cut off the partial record so the segment stays readable to
		// its end; if that fails too, the next write starts a new one.
		if terr := j.f.Truncate(j.size); terr != nil {
			j.broken = true
		}
		return 0, 0, fmt.Errorf("journal: %w", err)
	}
	j.size += int64(n)
	return j.first, base, nil
}

func (j *journal) rotate(first uint64) error {
	name := segmentName(j.dir, first)
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	old := j.f
	j.mu.Lock()
	// A name is never listed twice (openJournal names the next segment
	// past every one it found).
	j.sealed = slices.DeleteFunc(j.sealed, func(sg segment) bool { return sg.name == name })
	if old != nil {
		j.sealed = append(j.sealed, segment{j.name, j.first})
	}
	j.first = first
	j.mu.Unlock()
	if old != nil {
		// Not synced, like the rest of the journal (see above): an fsync
		// of 8 MiB, even on a goroutine of its own, stalled captures
		// (fixed-rate p99 5.5-6 ms became 10-18 ms in bench capture).
		old.Close()
	}
	j.f, j.name, j.size, j.broken = f, name, 0, false
	return nil
}

// retire deletes the sealed segments whose records are all applied and
// that hold no stored exchange: those before live, the oldest segment a
// stored exchange points into.
func (j *journal) retire(applied, live uint64) {
	j.mu.Lock()
	gone := j.retireLocked(applied, live)
	j.mu.Unlock()
	j.unlink(gone)
}

// retireLocked takes the segments retire deletes out of the list and
// returns them, for unlink.
func (j *journal) retireLocked(applied, live uint64) []segment {
	k := 0
	for ; k < len(j.sealed); k++ {
		next := j.first
		if k+1 < len(j.sealed) {
			next = j.sealed[k+1].first
		}
		if next == 0 || next-1 > applied || j.sealed[k].first >= live {
			break
		}
	}
	gone := slices.Clone(j.sealed[:k])
	j.sealed = j.sealed[k:]
	return gone
}

// unlink deletes the files of segments taken out of the list, without
// j.mu: every capture's append takes it, and deleting a few 8 MiB files
// (a cleared bin) takes milliseconds. One whose file stays goes back into
// the list, to be tried again.
func (j *journal) unlink(segs []segment) {
	var kept []segment
	for _, sg := range segs {
		if err := os.Remove(sg.name); err != nil && !errors.Is(err, os.ErrNotExist) {
			j.log.Warn("journal segment not removed", "file", sg.name, "err", err)
			kept = append(kept, sg)
		}
	}
	if len(kept) == 0 {
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	j.sealed = append(j.sealed, kept...)
	slices.SortFunc(j.sealed, func(a, b segment) int { return cmp.Compare(a.first, b.first) })
}

// newestSegment is the first LSN of the newest segment: the active one, or
// before the first write since open, the newest sealed one (0: none).
func (j *journal) newestSegment() uint64 {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.first == 0 && len(j.sealed) > 0 {
		return j.sealed[len(j.sealed)-1].first
	}
	return j.first
}

// sealedSegment reports whether the segment named after first is sealed
// (or gone) and every record in it applied: a sweep can decide on it.
func (j *journal) sealedSegment(first, applied uint64) bool {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.first == first {
		return false // still being written
	}
	next := j.first
	for i, sg := range j.sealed {
		if sg.first == first && i+1 < len(j.sealed) {
			next = j.sealed[i+1].first
		}
	}
	return next != 0 && next-1 <= applied
}

// sweep deletes the sealed segments whose records are all applied and that
// hold no exchange in refs (the segments stored exchanges point into).
func (j *journal) sweep(applied uint64, refs map[uint64]bool) {
	j.mu.Lock()
	kept := j.sealed[:0]
	var gone []segment
	for i, sg := range j.sealed {
		next := j.first
		if i+1 < len(j.sealed) {
			next = j.sealed[i+1].first
		}
		if next != 0 && next-1 <= applied && !refs[sg.first] {
			gone = append(gone, sg)
			continue
		}
		kept = append(kept, sg)
	}
	clear(j.sealed[len(kept):])
	j.sealed = kept
	j.mu.Unlock()
	j.unlink(gone)
	j.dropActive(applied, refs)
}

// dropActive deletes the segment being written when every record in it is
// applied and no exchange in refs points into it (deletes emptied it), so
// that the next write starts a new one. Kept until full, it would hold its
// bytes for good on a disk it filled itself, where no write can make it
// full. It takes the leader's turn, so that no write is under way, and does
// nothing while one is.
func (j *journal) dropActive(applied uint64, refs map[uint64]bool) {
	j.mu.Lock()
	if j.flushing || j.f == nil || j.size == 0 || refs[j.first] || j.acked.Load() > applied {
		j.mu.Unlock()
		return
	}
	j.flushing = true
	f, name, first := j.f, j.name, j.first
	j.f, j.name, j.size, j.broken = nil, "", 0, false
	j.mu.Unlock()

	f.Close()
	err := os.Remove(name)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		j.log.Warn("journal segment not removed", "file", name, "err", err)
	}

	j.mu.Lock()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		// Sealed now (the next write starts a new segment): a later sweep
		// tries again.
		j.sealed = append(j.sealed, segment{name, first})
	}
	if len(j.cur.members) > 0 {
		j.cur.lead <- struct{}{} // flushing stays set: leadership passes on
	} else {
		j.flushing = false
	}
	j.mu.Unlock()
}

// close closes the active segment and deletes the segments retire would,
// the active one included once it is applied and holds no stored exchange:
// a clean shutdown leaves only the segments of stored exchanges behind.
func (j *journal) close(applied, live uint64) error {
	var err error
	if j.f != nil {
		err = j.f.Close()
		j.f = nil
	}
	defer unlockClose(j.lock) // after the segments are gone: the next owner starts clean
	j.mu.Lock()
	if j.name != "" {
		j.sealed = append(j.sealed, segment{j.name, j.first})
		j.name = ""
	}
	j.first = j.acked.Load() + 1 // as if the next segment began: every sealed one may go
	gone := j.retireLocked(applied, live)
	j.mu.Unlock()
	j.unlink(gone)
	return err
}
