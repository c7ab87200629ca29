package inspect

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"

	"modernc.org/sqlite" // registers the "sqlite" driver
)

// Options configure a SQLite store.
type Options struct {
	// Memory keeps everything in memory; Path is ignored.
	Memory bool
	// RetainCount keeps at most this many exchanges (0: no limit).
	RetainCount int64
	// RetainAge drops exchanges older than this (0: no limit).
	RetainAge time.Duration
	// RetainBytes keeps the stored size under this many bytes (0: no limit).
	RetainBytes int64
	// OnCommit, when set, is called from the writer with each committed
	// batch, in commit order. It must not block. Without a journal, an
	// Add returns after OnCommit has been given its exchange.
	OnCommit func([]*Exchange)
	// OnRetain, when set, is called from the writer after retention has
	// deleted exchanges, at most once per transaction and after OnCommit
	// has been given that transaction's batch, with what it deleted. It
	// must not block.
	OnRetain func(Retained)
	// Heard, when set, tells whether OnRetain has anyone to tell: when it
	// returns false the writer skips reading what retention kept (an
	// indexed read a transaction) and does not call OnRetain.
	Heard func() bool
	// Logger receives errors the writer cannot return to a caller.
	Logger *slog.Logger
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// DirectWrites makes each Add return once committed, without the
	// journal (a journal left by a crash is still stored at open). For
	// short-lived commands such as import, which want Add's errors.
	DirectWrites bool
	// Exclusive refuses a data directory whose journal another process
	// owns (ErrInUse): a second server there would not see the owner's
	// live traffic, and its emitter would deliver the same webhooks.
	Exclusive bool
	// NoMigrate refuses a database of an older schema (ErrOlderSchema)
	// instead of upgrading it: a command such as export must not make a
	// data directory unreadable to the older hooklab that serves it. A new
	// database is still made.
	NoMigrate bool
}

// ErrOlderSchema is returned by OpenSQLite with Options.NoMigrate for a
// database an older hooklab wrote.
var ErrOlderSchema = errors.New("written by an older hooklab")

// ErrInUse is returned by OpenSQLite with Options.Exclusive when another
// process owns the data directory.
var ErrInUse = errors.New("in use by another hooklab")

// indexBodyBytes is how much of each body the text index covers.
const indexBodyBytes = 64 << 10

// maxBatch caps how many exchanges share one transaction.
const maxBatch = 512

// SQLite is the embedded Store. Writes from all callers are group-committed
// by one writer goroutine: concurrent Adds share one transaction.
type SQLite struct {
	path string
	opts Options
	wdb  *sql.DB // the writer's single connection
	rdb  *sql.DB // readers (the same as wdb in memory)
	cdb  *sql.DB // the checkpointer's connection (nil in memory)
	// checkpointDone is closed when the checkpointer has exited.
	checkpointDone chan struct{}
	fts            bool
	queue          chan *pendingWrite
	// insert is prepared once on the writer's connection.
	insert *sql.Stmt
	// stop is closed by Close; done is closed when the writer has exited.
	stop     chan struct{}
	done     chan struct{}
	closeErr error
	once     sync.Once
	closing  sync.RWMutex
	closed   bool
	// count and bytes track what is stored, for retention. Only the writer
	// changes them.
	count, bytes atomic.Int64
	commits      atomic.Int64 // transactions written, for benchmarks
	rowRuns      atomic.Int64 // multi-row inserts run, for tests
	retainRuns   atomic.Int64 // transactions of retain, for tests
	manualIndex  atomic.Bool  // tests: text is indexed only by IndexPending
	manualSweep  atomic.Bool  // tests: segments are swept only by sweepSegments
	// lastSeq is the newest committed row; indexed is the text index's
	// watermark: rows up to it are in exchanges_text.
	lastSeq, indexed atomic.Int64
	// health is the last write error and since when (nil: writes work).
	healthMu  sync.Mutex
	healthErr error
	healthAt  time.Time
	fails     uint64 // spells of failure begun, under healthMu
	// retainedTo is the newest row retention deleted; index entries up to
	// ftsPurged are gone. Only the writer uses them.
	retainedTo, ftsPurged int64
	// retainN counts the exchanges retention deleted in transactions
	// committed since OnRetain was last told, and retainIDs spans their
	// ids. Only the writer uses them.
	retainN   int64
	retainIDs idSpan
	log       *slog.Logger

	// journalHeld: another process owns the data directory's journal.
	journalHeld bool
	// jlock is the journal's lock taken at the start of an exclusive
	// open, until recover hands it to the journal.
	jlock *os.File
	// jr is the journal (nil in memory). applied is the LSN up to which
	// every journaled row is committed (or was dropped as unstorable);
	// appliedCh is closed and replaced each time it moves.
	jr        *journal
	applied   atomic.Uint64
	appliedMu sync.Mutex
	appliedCh chan struct{}
	// stuck holds acknowledged rows whose commit failed (a full disk),
	// oldest first; the writer retries them, and Add refuses new rows
	// meanwhile. Only the writer touches stuck; stuckN mirrors its length.
	stuck  []*pendingWrite
	stuckN atomic.Int64
	// pendingBytes is the stored size of the acknowledged rows not yet
	// committed; Add waits while it is over maxPending (maxPendingBytes;
	// tests set less).
	pendingBytes atomic.Int64
	maxPending   int64
	// committedLSN is the watermark the last commit recorded; the writer
	// publishes it as applied after OnCommit.
	committedLSN uint64
	// jdir is the journal's directory, where Get reads the records that
	// hold journaled exchanges ("" in memory).
	jdir string
	// live is the oldest journal segment a stored exchange points into
	// (math.MaxUint64: none), so the journal keeps it. The writer owns it.
	live uint64
	// liveSeq is the row live was found in (0: unknown): no journaled row
	// before it is left, so findLive looks from there.
	liveSeq int64
	// insertRef inserts a journaled row: its record holds the rest;
	// insertRefs inserts refChunk of them.
	insertRef, insertRefs *sql.Stmt
	// stmts holds writerQueries, prepared at open (see txStmt).
	stmts map[string]*sql.Stmt
	// indexReserve is the free space below which the text index waits
	// (defaultIndexReserve; tests set more).
	indexReserve atomic.Uint64
	// sweepGen counts commits that deleted exchanges out of arrival order
	// (an API delete, a cleared bin, age retention), after which a segment
	// newer than live may hold none any more: the checkpointer sweeps when
	// it moves. outOfOrder is set by such a delete inside the writer's
	// transaction; the writer counts it once the transaction commits.
	sweepGen   atomic.Uint64
	outOfOrder bool
	// indexTime bounds the time one text-index batch holds the writer
	// (indexBatchTime; tests change it before the writer indexes).
	indexTime time.Duration
	// gone remembers where recently deleted exchanges were stored, for
	// after= (whereClause). Deletes add to it inside their transaction,
	// before it commits: a reader that no longer sees a row finds it
	// there (one kept after a rollback names a row that is still there,
	// which is looked up first).
	gone goneIDs
	// reserve is the room given up when deleting exchanges fails on a
	// full disk (reserve.go). The writer owns it.
	reserve reserve
}

var _ Store = (*SQLite)(nil)

type pendingWrite struct {
	ex  *Exchange
	row *row
	// lsn is the row's journal sequence number; acked says the caller
	// was answered when it was journaled, so the writer must store it
	// whatever happens (done is nil).
	lsn uint64
	// seg and off place the journal record holding the row (seg 0: not
	// journaled, so the row is stored whole in the database).
	seg   uint64
	off   int64
	acked bool
	stuck bool // in SQLite.stuck
	// op is a write other than an insert; it returns how many exchanges
	// and bytes it removed.
	op    func(tx *sql.Tx) (removed, removedBytes int64, err error)
	index bool // bring the text index up to date
	// frees says op deletes exchanges asked for (an API delete): on a
	// full disk it may use the reserve's room.
	frees bool
	err   error
	done  chan error
}

// DefaultDataDir returns the default data directory: hooklab under the
// user's data directory ($XDG_DATA_HOME or ~/.local/share), or "" when
// neither variable is set (a service account, a bare container): a shared
// temp dir would let another user read or plant data, so the caller asks
// for --data instead. A relative XDG_DATA_HOME is ignored, as the XDG Base
// Directory spec has it: it would put the data under whatever directory
// hooklab was started in.
func DefaultDataDir(getenv func(string) string) string {
	if d := getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "hooklab")
	}
	if h := getenv("HOME"); h != "" {
		return filepath.Join(h, ".local", "share", "hooklab")
	}
	return ""
}

// FullDiskHint adds to err, a failure to open or write the data in dir,
// that the disk holding dir is full, when it is (under 1 MiB left): SQLite
// says "disk I/O error" when it cannot grow a file it maps.
func FullDiskHint(dir string, err error) error {
	if err == nil || dir == "" {
		return err
	}
	if free, ok := freeBytes(dir); ok && free < 1<<20 {
		return fmt.Errorf("%w (the disk holding %s is full: %d bytes free)", err, dir, free)
	}
	return err
}

// IsCorrupt reports whether err is SQLite saying a database file is
// damaged (SQLITE_CORRUPT, SQLITE_NOTADB).
func IsCorrupt(err error) bool {
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		switch coded.Code() & 0xff { // the primary code of an extended one
		case 11, 26:
			return true
		}
	}
	return false
}

// CorruptHint adds to err, a failure to open the database file path, what
// to do when the file is damaged: hooklab.db is rebuilt from the journal
// when it is moved aside; another (emit.db) is not, and its content is
// lost with it.
func CorruptHint(path string, err error) error {
	if !IsCorrupt(err) || path == "" || path == ":memory:" {
		return err
	}
	if filepath.Base(path) == "hooklab.db" {
		return fmt.Errorf("%w: %s is damaged; stop hooklab and move %s* aside: the next start rebuilds its exchanges from the journal", err, path, path)
	}
	return fmt.Errorf("%w: %s is damaged; to start again, stop hooklab and move %s* aside (what it holds is lost with it: for emit.db, queued invocations and the activity log)", err, path, path)
}

// ErrNoDataDir says DefaultDataDir has no answer.
var ErrNoDataDir = errors.New("no data directory: neither XDG_DATA_HOME (an absolute path) nor HOME is set; give --data DIR (or HOOKLAB_DATA)")

// OpenSQLite opens (creating when needed) the store in dir, or in memory
// when opts.Memory is set. It refuses a file that is not a hooklab database
// and never overwrites one.
func OpenSQLite(dir string, opts Options) (*SQLite, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &SQLite{opts: opts, queue: make(chan *pendingWrite, writerQueue), stop: make(chan struct{}), done: make(chan struct{}), log: opts.Logger, maxPending: maxPendingBytes, indexTime: indexBatchTime}
	var err error
	if opts.Memory {
		s.path = ":memory:"
		s.wdb, err = sql.Open("sqlite", "file:hooklab?mode=memory&_pragma=foreign_keys(1)")
		if err != nil {
			return nil, fmt.Errorf("open memory store: %w", err)
		}
		s.wdb.SetMaxOpenConns(1)
		s.wdb.SetConnMaxLifetime(0)
		s.wdb.SetConnMaxIdleTime(0)
		s.rdb = s.wdb
	} else {
		if err := MakeDataDir(dir); err != nil {
			return nil, err
		}
		if err := checkWritable(dir); err != nil {
			return nil, err
		}
		s.path = filepath.Join(dir, "hooklab.db")
		if err := CheckDBFile(s.path); err != nil {
			return nil, err
		}
		// The journal's lock is taken before anything below reads or
		// writes the database another process serves (the time index, a
		// migration), and held: two servers started at the same moment on
		// a new directory both passed a check that let go of it, and the
		// second met the first's migration or its switch to WAL as
		// "database is locked", which reads as a damaged database.
		if opts.Exclusive {
			if s.jlock, err = lockJournal(filepath.Join(dir, "journal"), s.log); err != nil {
				if errors.Is(err, errJournalHeld) {
					return nil, inUse(dir)
				}
				return nil, err
			}
		}
		if err := OwnerOnly(s.path); err != nil {
			s.unlockJournal()
			return nil, fmt.Errorf("database %s: %w", s.path, err)
		}
		// WAL is switched on after migrate has checked the file is ours:
		// setting it writes to the file. It persists in the database.
		// New databases get 16 KiB pages: a commit writes every page it
		// changed to the WAL, two syscalls a page, so the same rows in
		// bigger pages cost fewer of them (measured: a sixth less CPU per
		// capture). An existing database keeps its page size.
		dsn := FileURI(s.path) + "?_pragma=page_size(16384)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)"
		// The checkpointer copies the WAL into the database beside the
		// writer every checkpointEvery, so the writer's own automatic
		// checkpoint (which is what lets the WAL start over, keeping it
		// bounded) finds little left to copy. That one still syncs the
		// database while every capture waits on the commit (20–35 ms on a
		// busy disk), so it runs once per 4,096 pages (64 MiB of WAL with
		// 16 KiB pages) rather than SQLite's default 1,000: measured, slow
		// commits fell from 62 to 7–12 in a 10 s run at ~9k captures/s.
		//
		// Memory is bounded per connection, in pages: the driver runs the
		// _pragma list sorted by name, so cache_size runs before the page
		// size is known, and a size in KiB (-N) is turned into a count of
		// 4 KiB pages that then hold 16 KiB each (measured: an explicit
		// cache_size(-2000) on the writer cost ~8 MB more RSS). The
		// writer keeps 128 pages (2 MiB), each reader 32, the checkpointer,
		// which copies WAL frames without the cache, 16. No mmap: the
		// database's pages stay out of the RSS as it grows.
		dsn += "&_pragma=mmap_size(0)"
		// A checkpoint cannot start the WAL over while a reader still
		// reads an older snapshot (a long search under load), so it can
		// grow past those 64 MiB; journal_size_limit cuts the file back
		// to them when it starts over, instead of keeping its peak size.
		if s.wdb, err = sql.Open("sqlite", dsn+"&_txlock=immediate&_pragma=cache_size(128)&_pragma=wal_autocheckpoint(4096)&_pragma=journal_size_limit(67108864)"); err != nil {
			s.unlockJournal()
			return nil, fmt.Errorf("open %s: %w", s.path, err)
		}
		s.wdb.SetMaxOpenConns(1)
		if s.rdb, err = sql.Open("sqlite", dsn+"&_pragma=query_only(1)&_pragma=cache_size(32)"); err != nil {
			s.wdb.Close()
			s.unlockJournal()
			return nil, fmt.Errorf("open %s: %w", s.path, err)
		}
		s.rdb.SetMaxOpenConns(4)
		s.rdb.SetMaxIdleConns(2)
		s.rdb.SetConnMaxIdleTime(time.Minute) // a burst of queries leaves no caches behind
		if s.cdb, err = sql.Open("sqlite", dsn+"&_pragma=cache_size(16)"); err != nil {
			s.closeDBs()
			return nil, fmt.Errorf("open %s: %w", s.path, err)
		}
		s.cdb.SetMaxOpenConns(1)
	}
	if err := s.migrate(); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("database %s: %w", s.path, err)
	}
	if opts.Memory {
		if err := s.seedSeq(); err != nil {
			s.closeDBs()
			return nil, fmt.Errorf("database %s: %w", s.path, err)
		}
	}
	// The time_ns index serves age retention only, and costs every insert
	// a B-tree update: it is there while --retain-age is set (built once
	// when it is first set), and dropped while it is not.
	// (Commands that open the store beside a server leave it alone.)
	if !opts.DirectWrites {
		timeIndex := `DROP INDEX IF EXISTS exchanges_time`
		if opts.RetainAge > 0 {
			timeIndex = `CREATE INDEX IF NOT EXISTS exchanges_time ON exchanges(time_ns)`
		}
		if _, err := s.wdb.Exec(timeIndex); err != nil {
			s.closeDBs()
			return nil, fmt.Errorf("database %s: %w", s.path, err)
		}
	}
	if !opts.Memory {
		var mode string
		if err := s.wdb.QueryRow(`PRAGMA journal_mode=WAL`).Scan(&mode); err != nil {
			s.closeDBs()
			return nil, fmt.Errorf("database %s: %w", s.path, err)
		}
	}
	if s.insert, err = s.wdb.Prepare(insertSQL); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("database %s: %w", s.path, err)
	}
	if s.insertRef, err = s.wdb.Prepare(insertRefSQL); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("database %s: %w", s.path, err)
	}
	if s.insertRefs, err = s.wdb.Prepare(insertRefsSQL); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("database %s: %w", s.path, err)
	}
	s.stmts = make(map[string]*sql.Stmt, len(writerQueries))
	for _, q := range writerQueries {
		st, err := s.wdb.Prepare(q)
		if err != nil {
			s.closeDBs()
			return nil, fmt.Errorf("database %s: %w", s.path, err)
		}
		s.stmts[q] = st
	}
	s.live = math.MaxUint64
	s.indexReserve.Store(defaultIndexReserve)
	var n, b sql.NullInt64
	if err := s.wdb.QueryRow(`SELECT count(*), coalesce(sum(bytes),0) FROM exchanges`).Scan(&n, &b); err != nil {
		s.closeDBs()
		return nil, fmt.Errorf("database %s: %w", s.path, err)
	}
	s.count.Store(n.Int64)
	s.bytes.Store(b.Int64)
	var last, indexed sql.NullInt64
	_ = s.wdb.QueryRow(`SELECT max(seq) FROM exchanges`).Scan(&last)
	_ = s.wdb.QueryRow(`SELECT v FROM kv WHERE k = 'fts_indexed'`).Scan(&indexed)
	s.lastSeq.Store(last.Int64)
	s.indexed.Store(indexed.Int64)
	// Everything below the oldest row was deleted by retention.
	var oldest, purged sql.NullInt64
	_ = s.wdb.QueryRow(`SELECT min(seq) FROM exchanges`).Scan(&oldest)
	_ = s.wdb.QueryRow(`SELECT v FROM kv WHERE k = 'fts_purged'`).Scan(&purged)
	s.retainedTo, s.ftsPurged = last.Int64, purged.Int64
	if oldest.Valid {
		s.retainedTo = oldest.Int64 - 1
	}
	if !opts.Memory {
		s.jdir = filepath.Join(dir, "journal")
		if err := s.findLive(); err != nil {
			s.closeDBs()
			return nil, fmt.Errorf("database %s: %w", s.path, err)
		}
	}
	s.appliedCh = make(chan struct{})
	if !opts.Memory {
		if err := s.recover(filepath.Join(dir, "journal")); err != nil {
			s.closeDBs()
			return nil, fmt.Errorf("database %s: %w", s.path, err)
		}
		if opts.Exclusive && s.journalHeld {
			s.closeDBs()
			return nil, inUse(dir)
		}
		if opts.DirectWrites && s.jr != nil {
			if err := s.jr.close(s.applied.Load(), s.live); err != nil {
				s.log.Warn("journal not removed", "err", err)
			}
			s.jr = nil
		}
	}
	if !opts.Memory && !s.journalHeld {
		s.reserve.path = filepath.Join(dir, reserveFile)
		s.reserve.keep()
	}
	go s.writer()
	if s.cdb != nil {
		s.checkpointDone = make(chan struct{})
		go s.checkpointer(s.jr)
	}
	return s, nil
}

// MakeDataDir creates the data directory dir (0700) when it is missing.
// A symbolic link there to nothing (a directory not made yet, a disk not
// mounted) is an error saying so and where the link points: MkdirAll
// would say only "file exists".
func MakeDataDir(dir string) error {
	err := os.MkdirAll(dir, 0o700)
	if err == nil {
		return nil
	}
	if fi, lerr := os.Lstat(dir); lerr == nil && fi.Mode()&os.ModeSymlink != 0 {
		if target, rerr := os.Readlink(dir); rerr == nil {
			if _, serr := os.Stat(dir); errors.Is(serr, os.ErrNotExist) {
				return fmt.Errorf("data directory %s is a symbolic link to %s, which does not exist: create it (or give --data another directory)", dir, target)
			}
		}
	}
	return fmt.Errorf("data directory: %w", err)
}

// inUse is the error for a data directory another process serves. It
// names that process by the pid it wrote in the lock file, when it did.
func inUse(dir string) error {
	lock := filepath.Join(dir, "journal", "LOCK")
	who := "it"
	if b, err := os.ReadFile(lock); err == nil {
		if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
			who = fmt.Sprintf("pid %d", pid)
		}
	}
	return fmt.Errorf("data directory %s: %w (%s holds %s): stop that one, or give this one another --data",
		dir, ErrInUse, who, lock)
}

// unlockJournal lets go of the journal's lock an exclusive open took,
// when an open fails before the journal has it.
func (s *SQLite) unlockJournal() error {
	if s.jlock == nil {
		return nil
	}
	err := unlockClose(s.jlock)
	s.jlock = nil
	return err
}

// Path returns the database file, or ":memory:".
func (s *SQLite) Path() string { return s.path }

// SearchIndexed reports whether text search uses the FTS5 index.
func (s *SQLite) SearchIndexed() bool { return s.fts }

func checkWritable(dir string) error {
	f, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data directory %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// FileURI is the "file:" URI of the database at path that the SQLite
// driver opens (a query of pragmas may follow): the characters a URI
// gives a meaning to are escaped, so a directory named with '?', '#' or
// '%' is opened where it is, not at what comes before them or with an
// escape decoded. path is cleaned (filepath.Join), so it never starts
// with the "//" of an authority.
func FileURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
}

// OwnerOnly makes the SQLite database at path (created empty when missing)
// and its -wal and -shm files readable by their owner alone, before SQLite
// opens it: SQLite gives the files it creates beside a database the
// database's mode, and captured secrets pass through the WAL.
func OwnerOnly(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		if err := os.Chmod(p, 0o600); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}

// CheckDBFile refuses an existing path that hooklab cannot use as its
// database, so a wrong data directory never clobbers someone's file and a
// new user reads what is wrong and what to do instead of SQLite's own
// error: a directory or another non-regular file, a file that cannot be
// opened or read (permissions), or a file that is not an SQLite database.
// A missing or empty file is fine: SQLite makes a new database there.
// The files SQLite keeps beside it, path-wal and path-shm, are refused
// alike when they are there and are not a regular file this user can
// open: SQLite's error for them was "unable to open database file" or
// "disk I/O error" of the database, or none at all (a -shm directory: it
// opened the database read-only and every write failed; a -wal pipe).
func CheckDBFile(path string) error {
	if err := checkDBFile(path); err != nil {
		return err
	}
	for _, side := range []struct{ suffix, what string }{{"-wal", "write-ahead log"}, {"-shm", "shared-memory index"}} {
		if err := checkSideFile(path, path+side.suffix, side.what); err != nil {
			return err
		}
	}
	return nil
}

// dbElsewhere ends the messages of CheckDBFile.
const dbElsewhere = "or use another data directory (--data, or HOOKLAB_DATA)"

// checkSideFile is CheckDBFile for side, the file that is what of the
// database at path. Its content is not looked at: SQLite ignores a
// write-ahead log that is not the database's, and rebuilds the index.
func checkSideFile(path, side, what string) error {
	fi, err := os.Stat(side)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("database %s: its %s %s cannot be opened (%v): fix or remove it, %s", path, what, side, unwrapPath(err), dbElsewhere)
	}
	if fi.IsDir() {
		return fmt.Errorf("database %s: its %s %s is a directory, not a file: move it away (hooklab then makes a new one there), %s", path, what, side, dbElsewhere)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("database %s: its %s %s is not a regular file: move it away (hooklab then makes a new one there), %s", path, what, side, dbElsewhere)
	}
	f, err := os.Open(side)
	if err != nil {
		return fmt.Errorf("database %s: its %s %s cannot be opened (%v): give this user read and write access to it, %s", path, what, side, unwrapPath(err), dbElsewhere)
	}
	return f.Close()
}

func checkDBFile(path string) error {
	const elsewhere = dbElsewhere
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("database %s cannot be opened (%v): fix or remove it, %s", path, unwrapPath(err), elsewhere)
	}
	if fi.IsDir() {
		return fmt.Errorf("database %s is a directory, not a database file: move it away (hooklab then makes a new database there), %s", path, elsewhere)
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("database %s is not a regular file: move it away (hooklab then makes a new database there), %s", path, elsewhere)
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("database %s cannot be opened (%v): give this user read and write access to it, %s", path, unwrapPath(err), elsewhere)
	}
	defer f.Close()
	hdr := make([]byte, 16)
	n, err := io.ReadFull(f, hdr)
	if n == 0 && (err == nil || errors.Is(err, io.EOF)) {
		return nil // empty file: SQLite treats it as a new database
	}
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("database %s cannot be read (%v): check the disk and the file, %s", path, unwrapPath(err), elsewhere)
	}
	if n < 16 || string(hdr) != "SQLite format 3\x00" {
		return fmt.Errorf("database %s is not a hooklab database (corrupt, or another program's file): move it away (hooklab then makes a new database there), %s", path, elsewhere)
	}
	return nil
}

// unwrapPath is err without the operation and path an *os.PathError
// repeats ("permission denied" for "open /x/y: permission denied"), for a
// message that names the path itself.
func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

var migrations = []string{
	`CREATE TABLE exchanges (
		seq INTEGER PRIMARY KEY AUTOINCREMENT,
		id TEXT NOT NULL UNIQUE,
		bin TEXT NOT NULL,
		source TEXT NOT NULL,
		time_ns INTEGER NOT NULL,
		duration_ns INTEGER NOT NULL,
		method TEXT NOT NULL,
		url TEXT NOT NULL,
		path TEXT NOT NULL,
		proto TEXT NOT NULL,
		host TEXT NOT NULL,
		remote_addr TEXT NOT NULL,
		tls INTEGER NOT NULL,
		req_headers TEXT NOT NULL,
		req_size INTEGER NOT NULL,
		req_truncated INTEGER NOT NULL,
		req_body BLOB,
		status INTEGER NOT NULL,
		resp_headers TEXT,
		resp_size INTEGER NOT NULL,
		resp_truncated INTEGER NOT NULL,
		resp_body BLOB,
		truncated INTEGER NOT NULL,
		rule TEXT NOT NULL,
		signature TEXT NOT NULL,
		error TEXT NOT NULL,
		extra BLOB,
		bytes INTEGER NOT NULL
	);
	CREATE INDEX exchanges_bin ON exchanges(bin, seq);
	CREATE TABLE bins (name TEXT PRIMARY KEY, created_ns INTEGER NOT NULL);
	CREATE TABLE kv (k TEXT PRIMARY KEY, v INTEGER NOT NULL);`,
	// Age retention finds the expired rows wherever they are in arrival
	// order without scanning the table. (OpenSQLite drops this index when
	// no age limit is set, and makes it again when one is.)
	`CREATE INDEX exchanges_time ON exchanges(time_ns);`,
	// A journaled exchange's row points at its journal record (segment,
	// offset), which holds its headers and bodies; those columns are then
	// empty. Rows written without a journal keep everything in the row.
	`ALTER TABLE exchanges ADD COLUMN seg INTEGER;
	ALTER TABLE exchanges ADD COLUMN off INTEGER;`,
}

// ftsSchema is the text index. It holds text as strings.ToLower lowers it
// (the indexer lowers what it indexes, and search what it looks for) and
// matches it as it is, so that it finds what containsText finds: FTS5's
// own folding did not lower İ to i, and took ς for σ and ſ for s. Its name
// is not the older hooklabs' exchanges_fts (folded by FTS5, text indexed
// as it came), which an older hooklab, opening the database after this
// one, takes as its own: given this table under that name, it indexed
// into it and its search for "hello" found no "Hello".
const ftsSchema = `CREATE VIRTUAL TABLE IF NOT EXISTS exchanges_text USING fts5(url, headers, body, content='', contentless_delete=1, tokenize='trigram case_sensitive 1')`

func (s *SQLite) migrate() error {
	// The version and the tables in one statement, so one snapshot: a
	// hooklab starting at the same moment may commit its first migration
	// between two reads, and its tables beside version 0 read as someone
	// else's database.
	var v, tables int
	if err := s.wdb.QueryRow(`SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_master)`).Scan(&v, &tables); err != nil {
		return err
	}
	if v > 0 {
		// A schema version but not the store's tables: another database
		// put in its place, such as the emitter's, not one from a newer
		// hooklab.
		var n int
		if err := s.wdb.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'exchanges'`).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return fmt.Errorf("not a hooklab database: it has schema version %d but no exchanges table (is it a copy of emit.db?); move it away or choose another --data", v)
		}
		// The first builds (up to commit c8e5779, 29 Nov 2026) kept
		// headers and rare fields in a meta JSON column, at schema
		// version 1 or 2. Their layout was replaced in place, not by a
		// migration, so their version numbers mean other tables: the
		// migrations would run on it and fail, leaving a file that
		// neither hooklab opens. Refuse it before writing anything.
		if err := s.wdb.QueryRow(`SELECT count(*) FROM pragma_table_info('exchanges') WHERE name = 'meta'`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("the exchanges table has the layout of an early hooklab build (before commit 629092a, 29 Nov 2026: schema version %d with a meta column), which this one cannot read; look at it with that build, or move the file away to start afresh", v)
		}
	}
	if v > len(migrations) {
		return fmt.Errorf("schema version %d is newer than this hooklab knows (%d): a newer hooklab wrote it; use that one (this one cannot go back to it)", v, len(migrations))
	}
	if s.opts.NoMigrate && v > 0 && v < len(migrations) {
		return fmt.Errorf("%w (schema version %d; this one writes %d): start this hooklab's serve on it once to upgrade it (the older one can then no longer open it), or use the older hooklab", ErrOlderSchema, v, len(migrations))
	}
	if v == 0 && tables > 0 {
		// A database with tables but no schema version is someone else's.
		return errors.New("not a hooklab database (it holds other tables); move it away or choose another --data")
	}
	for i := v; i < len(migrations); i++ {
		tx, err := s.wdb.Begin()
		if err != nil {
			return err
		}
		// The version again, under the write lock the transaction holds
		// (BEGIN IMMEDIATE, or memory): a hooklab starting at the same
		// moment may have migrated since it was read, and running this
		// one again would fail on its tables. That one then holds the
		// journal, and this one is refused as in use.
		var now int
		if err := tx.QueryRow(`PRAGMA user_version`).Scan(&now); err != nil {
			tx.Rollback()
			return err
		}
		if now > i {
			tx.Rollback()
			i = now - 1
			continue
		}
		if _, err := tx.Exec(migrations[i]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", i+1, err)
		}
		if _, err := tx.Exec(fmt.Sprintf(`PRAGMA user_version = %d`, i+1)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	// A command that does not migrate searches by scanning a database
	// whose text index is another hooklab's, which serve builds again.
	if s.opts.NoMigrate {
		if v, err := s.indexText(); err != nil {
			return fmt.Errorf("text index: %w", err)
		} else if v != indexTextVersion {
			s.log.Info("text index: built by another hooklab; search scans until this one's serve builds it again", "path", s.path)
			return nil
		}
	}
	// The text index is optional: without FTS5 (or its trigram tokenizer)
	// search falls back to scanning.
	if _, err := s.wdb.Exec(ftsSchema); err == nil {
		s.fts = true
		if !s.opts.NoMigrate {
			if err := s.checkIndexText(); err != nil {
				return fmt.Errorf("text index: %w", err)
			}
		}
		// Merging index segments happens in bounded steps the writer
		// chooses (mergeIndex), never as an unbounded merge inside an
		// insert that captures would wait behind. Set only when not set
		// yet: a setting written changes the index's pages, and this
		// runs before anything has read the tables, so a damaged
		// hooklab.db was written to before it was refused.
		for _, c := range []struct {
			k string
			v int64
		}{{"automerge", 0}, {"crisismerge", 1000}} {
			var v sql.NullInt64
			_ = s.wdb.QueryRow(`SELECT v FROM exchanges_text_config WHERE k = ?`, c.k).Scan(&v)
			if v.Valid && v.Int64 == c.v {
				continue
			}
			if _, err := s.wdb.Exec(`INSERT INTO exchanges_text(exchanges_text, rank) VALUES(?, ?)`, c.k, c.v); err != nil {
				s.log.Warn("text index setting", "err", err)
			}
		}
	} else {
		s.log.Warn("text index unavailable; search will scan", "err", err)
	}
	return nil
}

// seedSeq numbers the rows of a store in memory on from the time it
// opens, in microseconds, past those of any earlier run (which stored
// fewer rows than a microsecond each), since a list's cursor is a row's
// number: a cursor given out before a restart then lists, oldest first,
// what is stored since, and newest first, nothing, as the rows it stood
// among are gone. Numbered from 1 again, oldest first skipped as many new
// exchanges as the earlier run had stored, and newest first listed the
// newest ones as older than the page before. The text index's marks
// start there too: purgeIndex goes up from its purge mark in bounded
// steps, and the writer reads the rows past its watermark as the backlog.
func (s *SQLite) seedSeq() error {
	seed := s.opts.Now().UnixMicro()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`INSERT INTO sqlite_sequence(name, seq) VALUES ('exchanges', ?)`, []any{seed}},
		{setKV, []any{"fts_purged", seed}},
		{setKV, []any{"fts_indexed", seed}},
	} {
		if _, err := s.wdb.Exec(q.sql, q.args...); err != nil {
			return fmt.Errorf("numbering rows from %d: %w", seed, err)
		}
	}
	return nil
}

// indexTextVersion names what the text index holds for a row (headerText,
// bodyText, searchText); it goes up whenever that changes, so that an index
// an older hooklab built is built again. 6: a body that is text is read
// as it is when it does not decode whole (one not in its coding can run a
// decoder out of input too, as a cut one does); 5: a body not in its
// coding is read as it is, not as what a deflate reader made of it before
// it failed;
// 4: text is lowered by strings.ToLower and matched case-sensitively
// (ftsSchema); 3: a br body is read decoded too; 2: a gzip or deflate body
// is read decoded (dfe82aa); before it (1, no fts_text in kv), its
// compressed bytes.
const indexTextVersion = 6

// checkIndexText empties a text index built for another indexTextVersion
// and moves its watermark back to the start, so that the indexer builds it
// again in the background; search scans the rows not yet indexed
// meanwhile, so it finds what this hooklab's index would from the start.
// (An index left as it was found nothing of a gzipped capture an older
// hooklab had indexed, and everything of one captured since.)
func (s *SQLite) checkIndexText() error {
	if v, err := s.indexText(); err != nil || v == indexTextVersion {
		return err
	}
	tx, err := s.wdb.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	var indexed int64
	if err := tx.QueryRow(`SELECT coalesce((SELECT v FROM kv WHERE k = 'fts_indexed'), 0)`).Scan(&indexed); err != nil {
		return err
	}
	// Made again, not emptied: an older one folds case itself; and an
	// older hooklab's own goes (ftsSchema).
	for _, q := range []string{`DROP TABLE IF EXISTS exchanges_fts`, `DROP TABLE exchanges_text`, ftsSchema} {
		if _, err := tx.Exec(q); err != nil {
			return err
		}
	}
	if indexed > 0 {
		s.log.Info("text index: built by an older hooklab; building it again in the background (search scans meanwhile)", "path", s.path, "rows", indexed)
		if _, err := tx.Exec(setKV, "fts_indexed", 0); err != nil {
			return err
		}
		// Nothing is left to purge of the rows retention deleted.
		if _, err := tx.Exec(`INSERT INTO kv(k, v) SELECT 'fts_purged', coalesce(min(seq) - 1, 0) FROM exchanges WHERE true
			ON CONFLICT(k) DO UPDATE SET v = excluded.v`); err != nil {
			return err
		}
	}
	if _, err := tx.Exec(setKV, "fts_text", indexTextVersion); err != nil {
		return err
	}
	return tx.Commit()
}

// indexText returns the indexTextVersion of the text index the database
// holds: 0 for none recorded, or when an older hooklab's exchanges_fts is
// there. checkIndexText drops that table, so it is there only when an
// older hooklab, one that knows no fts_text, ran on the database since:
// it indexed its rows into exchanges_fts and moved the shared watermark
// (fts_indexed) past them, so exchanges_text lacks them and search here
// would never find them.
func (s *SQLite) indexText() (int64, error) {
	var older int
	if err := s.wdb.QueryRow(`SELECT count(*) FROM sqlite_master WHERE name = 'exchanges_fts'`).Scan(&older); err != nil || older > 0 {
		return 0, err
	}
	var v int64
	err := s.wdb.QueryRow(`SELECT v FROM kv WHERE k = 'fts_text'`).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return v, err
}

// recover opens the journal in dir and commits what it holds past the
// applied LSN the database records: the exchanges that were acknowledged
// but not yet inserted when hooklab last stopped.
func (s *SQLite) recover(dir string) error {
	var applied int64
	if err := s.wdb.QueryRow(`SELECT v FROM kv WHERE k = 'journal_lsn'`).Scan(&applied); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("journal: reading how far it was applied: %w", err)
	}
	s.applied.Store(uint64(applied))
	jr, recs, err := openJournal(dir, s.jlock, uint64(applied), s.log)
	s.jlock = nil // the journal's now, or closed
	if errors.Is(err, errJournalHeld) {
		s.journalHeld = true
		return nil // commit directly, beside the owner
	}
	if err != nil || jr == nil {
		return err // nil: no locks here; commit directly
	}
	fail := func(err error) error {
		_ = unlockClose(jr.lock)
		return fmt.Errorf("journal: storing the exchanges it holds: %w (they stay in %s until a start succeeds)", err, dir)
	}
	for len(recs) > 0 {
		n := min(len(recs), maxBatch)
		batch := make([]*pendingWrite, n)
		for i, rec := range recs[:n] {
			batch[i] = &pendingWrite{row: rec.row, lsn: rec.lsn, seg: rec.seg, off: rec.off, acked: true}
		}
		if bad, err := s.writeBatch(batch); err != nil {
			if bad < 0 || !IsRowFault(err) {
				return fail(err)
			}
			// A row the database refuses on its own: store the rest.
			var failed []*pendingWrite
			for _, p := range batch {
				if bad, err := s.writeBatch([]*pendingWrite{p}); err != nil {
					if bad < 0 || !IsRowFault(err) {
						return fail(err)
					}
					p.err = err
					failed = append(failed, p)
				}
			}
			if len(failed) == len(batch) && failedAlike(failed) {
				return fail(failed[0].err)
			}
			for _, p := range failed {
				s.log.Error("journal row cannot be stored; dropped", "id", p.row.id, "err", p.err)
			}
		}
		recs = recs[n:]
	}
	// Nobody listens yet: what retention deleted here is nothing to tell.
	s.retainN, s.retainIDs = 0, idSpan{}
	s.setApplied(s.committedLSN)
	if got := jr.acked.Load(); got > s.applied.Load() {
		// Rows past what was committed that were dropped: move on.
		if _, err := s.wdb.Exec(setKV, "journal_lsn", int64(got)); err != nil {
			return fail(err)
		}
		s.applied.Store(got)
	}
	if err := s.findLive(); err != nil {
		return fail(err)
	}
	jr.retire(s.applied.Load(), s.live)
	s.jr = jr
	return nil
}

// Add stores ex. With a journal it returns once ex is journaled (durable
// against the process dying; the writer inserts it shortly after), else
// once it is committed.
func (s *SQLite) Add(ctx context.Context, ex *Exchange) error {
	r, err := newRow(ex)
	if err != nil {
		return err
	}
	p := &pendingWrite{ex: ex, row: r}
	if s.jr == nil {
		p.done = make(chan error, 1)
		return s.submit(ctx, p)
	}
	// Rows wait in memory until committed: past maxPendingBytes of them,
	// callers wait for the writer (one row larger than that alone goes).
	for s.pendingBytes.Load() > 0 && s.pendingBytes.Load()+r.bytes > s.maxPending && s.stuckN.Load() == 0 {
		ch := s.commitSignal()
		if s.pendingBytes.Load()+r.bytes <= s.maxPending {
			break
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.stuckN.Load() > 0 {
		// The database cannot take rows: refuse rather than pile up
		// acknowledged ones in memory.
		err, _ := s.Health()
		if err == nil {
			err = errors.New("the database cannot be written")
		}
		return fmt.Errorf("%w: %v", ErrStoreFull, err)
	}
	s.closing.RLock()
	defer s.closing.RUnlock()
	if s.closed {
		return ErrClosed
	}
	p.acked = true
	s.pendingBytes.Add(r.bytes)
	if err := s.jr.append(p, s.enqueue); err != nil {
		s.pendingBytes.Add(-r.bytes)
		return fmt.Errorf("%w: %v", ErrStoreFull, err)
	}
	return nil
}

// maxPendingBytes bounds the acknowledged rows held in memory until the
// writer commits them.
const maxPendingBytes = 64 << 20

// writerQueue is how many writes wait for the writer before the next one
// waits too. While the writer is busy (a large transaction, the text
// index's merge after a lull) the captures of a burst go on, where a queue
// of 4,096 stopped them once full. Memory stays bounded either way: large
// bodies meet maxPendingBytes long before this many rows, and small
// captures (about 1 KB each held in memory) meet this bound at about
// 65 MB. 65,536 is 1.5 s of a burst at 45,000 a second.
const writerQueue = 1 << 16

// enqueue hands journaled rows to the writer, in order. It waits when the
// writer is a queue behind, which holds back the callers.
func (s *SQLite) enqueue(ps []*pendingWrite) {
	for _, p := range ps {
		s.queue <- p
	}
}

// caughtUp waits until the writer has committed every row journaled before
// the call, so that a read sees every exchange whose answer went out. It
// gives up after a while, and at once while the database cannot be
// written: reads then show what is committed.
func (s *SQLite) caughtUp(ctx context.Context) {
	if s.jr == nil {
		return
	}
	target := s.jr.acked.Load()
	var timeout <-chan time.Time
	for s.applied.Load() < target && s.stuckN.Load() == 0 {
		ch := s.commitSignal()
		if s.applied.Load() >= target || s.stuckN.Load() > 0 {
			return
		}
		if timeout == nil {
			t := time.NewTimer(5 * time.Second)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-ch:
		case <-timeout:
			return
		case <-ctx.Done():
			return
		}
	}
}

// setApplied records that every journaled row up to lsn is committed.
// It also lets the journal delete the segments no longer needed.
func (s *SQLite) setApplied(lsn uint64) {
	if lsn > s.applied.Load() {
		s.applied.Store(lsn)
		s.wake()
	}
	if s.jr != nil {
		s.jr.retire(s.applied.Load(), s.live)
	}
}

// wake wakes whoever waits for the writer: readers in caughtUp, Adds
// waiting for room.
func (s *SQLite) wake() {
	s.appliedMu.Lock()
	close(s.appliedCh)
	s.appliedCh = make(chan struct{})
	s.appliedMu.Unlock()
}

// commitSignal returns a channel closed when the writer next commits.
func (s *SQLite) commitSignal() <-chan struct{} {
	s.appliedMu.Lock()
	defer s.appliedMu.Unlock()
	return s.appliedCh
}

func (s *SQLite) submit(ctx context.Context, p *pendingWrite) error {
	// The read lock orders every enqueue before Close's drain.
	s.closing.RLock()
	if s.closed {
		s.closing.RUnlock()
		return ErrClosed
	}
	select {
	case s.queue <- p:
		s.closing.RUnlock()
	case <-ctx.Done():
		s.closing.RUnlock()
		return ctx.Err()
	}
	// Wait for the commit even if ctx ends: the write is in flight and the
	// caller must learn whether it is durable.
	return <-p.done
}

// writer owns every write: it takes whatever is queued, up to maxBatch,
// writes it in one transaction and then reports to each caller. When idle it
// enforces retention and brings the text index up to date, so neither costs
// the capture path anything.
func (s *SQLite) writer() {
	defer close(s.done)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	index := time.NewTicker(indexEvery)
	defer index.Stop()
	lastWrite := time.Now()
	lastMerge := time.Now()
	lastBatch, prevBatch, waited := 0, 0, false
	lastIndexSeq := s.lastSeq.Load()
	indexPaused, indexFailing := false, false
	batch := make([]*pendingWrite, 0, maxBatch)
	cpu := cpuMeter{path: "/proc/stat"}
	retry := time.NewTicker(stuckRetry)
	defer retry.Stop()
	for {
		batch = batch[:0]
		var retryC <-chan time.Time // nil, never ready, unless rows are stuck
		if len(s.stuck) > 0 {
			retryC = retry.C
		}
		select {
		case p := <-s.queue:
			batch = append(batch, p)
		case <-retryC:
			s.commit(nil)
			continue
		case <-tick.C:
			s.retain()
			s.reserve.keep()
			continue
		case <-index.C:
			if s.journalHeld {
				// Another process (the server) owns this data directory,
				// and the text index with it: its watermark is in that
				// process's memory, so rows indexed from here would be
				// indexed again there, and every batch here holds the
				// database's write lock that its captures wait on.
				continue
			}
			backlog := s.lastSeq.Load() - s.indexed.Load()
			recent := s.lastSeq.Load() - lastIndexSeq
			lastIndexSeq = s.lastSeq.Load()
			// /proc/stat is read only when there is something to index:
			// an idle hooklab reads nothing five times a second.
			var idle float64
			var idleKnown bool
			if backlog > 0 {
				idle, idleKnown = cpu.idleShare()
			}
			n := indexNow(backlog, recent, time.Since(lastWrite), idle, idleKnown)
			// Entries of rows retention deleted are purged on every tick,
			// as much as indexing would take: waiting for an idle moment
			// left them forever under steady traffic, and the index grew
			// without bound while retention kept the rows bounded.
			purge := int64(indexBusyBatch)
			if time.Since(lastWrite) >= indexEvery {
				purge = indexBatch
			}
			if s.retainedTo > s.ftsPurged {
				if err := s.purgeIndex(purge); err != nil {
					s.log.Error("text index purge failed", "err", err)
				}
			}
			// The index takes a few times the bytes it indexes: on a
			// nearly full disk it waits, so that the room left (or
			// freed) goes to captures, and search scans meanwhile.
			if n > 0 && !s.manualIndex.Load() && s.indexRoom(&indexPaused) {
				err := s.indexSome(n)
				switch {
				case err != nil && !indexFailing:
					s.log.Error("text index update failed; search scans the exchanges not yet indexed", "err", err)
				case err == nil && indexFailing:
					s.log.Info("text index updates again")
				}
				indexFailing = err != nil
			} else {
				n = 0
			}
			if s.fts && !indexPaused && (n > 0 || time.Since(lastWrite) >= indexEvery && time.Since(lastMerge) >= time.Second) {
				// A bounded amount of merge work keeps segments few: more
				// when idle, a little under load.
				pages := 32
				if time.Since(lastWrite) >= indexEvery {
					pages = 512
				}
				if _, err := s.wdb.Exec(`INSERT INTO exchanges_text(exchanges_text, rank) VALUES('merge', ?)`, pages); err != nil {
					s.log.Error("text index merge failed", "err", err)
				}
				lastMerge = time.Now()
			}
			continue
		case <-s.stop:
			// Drain what was queued before Close.
			for {
				select {
				case p := <-s.queue:
					batch = append(batch, p)
					if len(batch) == maxBatch {
						s.commit(batch)
						batch = batch[:0]
					}
				default:
					if len(batch) > 0 || len(s.stuck) > 0 {
						s.commit(batch)
					}
					return
				}
			}
		}
		// Callers may alternate between two batches while the writer
		// keeps up; once fill had to wait, every active caller was in the
		// last batch (or no more came), so wait for that many only.
		want := lastBatch + prevBatch
		if waited {
			want = lastBatch
		}
		waited = s.fill(&batch, lastBatch, want)
		s.commit(batch)
		lastWrite = time.Now()
		prevBatch, lastBatch = lastBatch, len(batch)
	}
}

// fill adds what is queued to batch. Under load (the last batch had more
// than one write) it lingers up to fillLinger for more writes, so that
// concurrent callers share this transaction instead of each paying for one:
// a commit costs several times what a row does. It stops as soon as the
// batch reaches want, its guess at how many callers are active, and says
// whether it had to wait. A lone caller never waits.
func (s *SQLite) fill(batch *[]*pendingWrite, lastBatch, want int) (waited bool) {
	drain := func() {
		for len(*batch) < maxBatch {
			select {
			case p := <-s.queue:
				*batch = append(*batch, p)
			default:
				return
			}
		}
	}
	drain()
	want = min(want, maxBatch)
	linger := fillLinger
	if (*batch)[0].acked {
		// Nobody waits on a journaled row's commit: under load, gather
		// a larger batch, since a commit costs many rows' worth.
		want, linger = maxBatch, journalLinger
	}
	if lastBatch <= 1 || len(*batch) >= want {
		return false
	}
	t := time.NewTimer(linger)
	defer t.Stop()
	for len(*batch) < want {
		select {
		case p := <-s.queue:
			*batch = append(*batch, p)
			drain()
		case <-t.C:
			return true
		}
	}
	return true
}

// stuckRetry is how often the writer retries rows whose commit failed.
const stuckRetry = 250 * time.Millisecond

// journalLinger bounds how long fill gathers journaled rows under load.
const journalLinger = 5 * time.Millisecond

// fillLinger bounds how long fill waits for more writes.
const fillLinger = 500 * time.Microsecond

// defaultIndexReserve is the free space below which the text index waits.
const defaultIndexReserve = 64 << 20

// indexRoom reports whether the data directory's disk has room for the text
// index to grow, logging when that changes (paused says it had not).
func (s *SQLite) indexRoom(paused *bool) bool {
	if s.jdir == "" {
		return true
	}
	free, ok := freeBytes(filepath.Dir(s.path))
	reserve := s.indexReserve.Load()
	room := !ok || free >= reserve
	switch {
	case !room && !*paused:
		s.log.Warn("text index paused: the data directory's disk is nearly full; search scans the exchanges not yet indexed",
			"free_mib", free>>20, "wants_mib", reserve>>20)
	case room && *paused:
		s.log.Info("text index resumed")
	}
	*paused = !room
	return room
}

// Text indexing runs off the write path: every indexEvery the writer indexes
// up to indexBatch rows when it has been idle that long, or indexBusyBatch
// rows when at most indexLightRows were written since the last tick or the
// backlog has reached indexBacklog rows, unless the machine's CPUs were
// less than indexIdleCPU idle since the last tick. Rows not yet indexed are
// searched by scanning.
const (
	indexEvery     = 200 * time.Millisecond
	indexBatch     = 2000
	indexBusyBatch = 200
	indexLightRows = 200
	indexBacklog   = 50000
	indexIdleCPU   = 0.10
)

// indexNow is how many rows the writer indexes at a tick, given the rows
// not yet indexed (backlog), those written since the last tick (recent),
// how long ago the writer last wrote, and how idle the machine's CPUs were
// since the last tick (when known).
//
// It indexes a lot when the writer has been idle a moment, and a little at
// a time while captures are light. Under heavy load the index waits, so
// that captures keep the writer and the CPUs to themselves; search scans
// the rows not yet indexed meanwhile, so it stays correct. Once that
// backlog would make every search slow, a little at a time again, unless
// the CPUs are nearly all busy: indexing a row costs more CPU than
// capturing it (a trigram for every byte), so it would take that time
// from captures (or the service beside hooklab), and it is done when the
// load pauses.
func indexNow(backlog, recent int64, sinceWrite time.Duration, cpuIdle float64, cpuKnown bool) int {
	switch {
	case backlog <= 0:
		return 0
	case sinceWrite >= indexEvery:
		return indexBatch
	case recent <= indexLightRows:
		return indexBusyBatch
	case backlog >= indexBacklog && !(cpuKnown && cpuIdle < indexIdleCPU):
		return indexBusyBatch
	}
	return 0
}

// commit writes a batch in one transaction. When one item of a batch fails
// on its own (not the commit), the others are written one by one so only the
// failing caller gets the error.
func (s *SQLite) commit(all []*pendingWrite) {
	batch := make([]*pendingWrite, 0, len(all))
	for _, p := range all {
		if p.index {
			p.done <- s.indexSome(indexBatch)
		} else {
			batch = append(batch, p)
		}
	}
	if len(batch) == 0 && len(s.stuck) == 0 {
		return
	}
	// Acknowledged rows that failed before go first, in journal order.
	if len(s.stuck) > 0 {
		for _, p := range s.stuck {
			p.stuck = false
			p.err = nil // this attempt's outcome decides, not the last one's
		}
		batch = append(s.stuck, batch...)
		s.stuck = nil
	}
	// An acknowledged row is kept (stuck) when the store failed (a full
	// disk, a corrupt file) or the transaction as a whole did, and dropped
	// only when the database refuses the row itself.
	keep := func(p *pendingWrite, txFailed bool) bool {
		if p.acked && (txFailed || !IsRowFault(p.err)) {
			p.stuck = true
			s.stuck = append(s.stuck, p)
		}
		return p.stuck
	}
	bad, err := s.writeBatch(batch)
	if err != nil && slices.ContainsFunc(batch, func(p *pendingWrite) bool { return p.frees }) && s.reserve.release(err) {
		// Deleting exchanges is how a full disk gets room back: it may
		// use the reserve's.
		s.log.Warn("the data directory's disk is full: gave up the reserve file so that deleting exchanges can free room", "file", s.reserve.path, "bytes", reserveSize)
		bad, err = s.writeBatch(batch)
	}
	switch {
	case err == nil:
		s.setHealth(nil)
	case bad >= 0 && len(batch) > 1:
		// One item failed: write them one by one so only it fails. Once
		// an acknowledged row is stuck, nothing after it may commit
		// before it (the journal's watermark could not pass it, so a
		// crash would replay rows committed or deleted since).
		failed := 0
		var firstErr error
		for _, p := range batch {
			if len(s.stuck) > 0 {
				p.err = fmt.Errorf("an earlier exchange is waiting to be stored: %w", s.stuck[0].err)
				failed++
				keep(p, true)
				continue
			}
			var one int
			if one, p.err = s.writeBatch([]*pendingWrite{p}); p.err != nil {
				failed++
				firstErr = cmp.Or(firstErr, p.err)
				keep(p, one < 0)
			}
		}
		if failed == len(batch) && len(s.stuck) == 0 && failedAlike(batch) {
			// Every row refused the same way is the store failing (a
			// broken schema, say), not each row: keep them all.
			for _, p := range batch {
				keep(p, true)
			}
		}
		switch {
		case failed == len(batch):
			s.setHealth(firstErr) // the store, not one item, is failing
		case len(s.stuck) > 0:
			s.setHealth(s.stuck[0].err)
		default:
			s.setHealth(nil)
		}
	default:
		for _, p := range batch {
			p.err = err
			keep(p, bad < 0)
		}
		if bad < 0 || len(s.stuck) > 0 {
			s.setHealth(err)
		}
	}
	var exs []*Exchange
	var dropped uint64
	for _, p := range batch {
		switch {
		case p.err != nil && p.acked:
			if !p.stuck {
				dropped = max(dropped, p.lsn)
				s.log.Error("exchange cannot be stored; dropped", "id", p.row.id, "err", p.err)
			}
		case p.err != nil:
			if !errors.Is(p.err, ErrNotFound) {
				p.err = fmt.Errorf("%w: %v", ErrStoreFull, p.err)
				s.log.Error("store write failed", "err", p.err)
			}
		case p.ex != nil && s.opts.OnCommit != nil:
			exs = append(exs, p.ex)
		}
	}
	// OnCommit first: an Add without the journal returns when told, and
	// Sync (a no-op then) promises that what has returned was handed on.
	if len(exs) > 0 {
		s.opts.OnCommit(exs)
	}
	// Then what retention deleted: a client has every exchange it could
	// hold of those, and none stored since.
	s.tellRetained()
	for _, p := range batch {
		if p.done != nil {
			p.done <- p.err
		}
		if p.acked && !p.stuck { // stored or dropped: it leaves the budget
			s.pendingBytes.Add(-p.row.bytes)
		}
	}
	// A dropped row has nothing left to apply: the watermark passes it in
	// memory (after a crash before the next commit records that, it is
	// replayed and dropped again). It never passes a stuck row.
	to := max(s.committedLSN, dropped)
	if len(s.stuck) > 0 {
		to = min(to, s.stuck[0].lsn-1)
	}
	s.stuckN.Store(int64(len(s.stuck)))
	s.setApplied(to)
	if len(s.stuck) > 0 {
		s.wake() // readers and Adds waiting on a stuck store return at once
	}
}

// IsRowFault reports whether a write failed because of the row itself (a
// duplicate id, a value too large), which retrying cannot fix and which
// says nothing about the next row. Every other SQLite error is the store
// failing: a full disk, an I/O error, a lock, and also a corrupt file
// (CORRUPT, NOTADB) or a broken one, which no row can be stored in until
// someone repairs it, so the row must wait in the journal rather than be
// dropped. An error that is not SQLite's counts as the row's; commit and
// recover take it for the store's when every row of a batch has it.
func IsRowFault(err error) bool {
	var se interface{ Code() int }
	if !errors.As(err, &se) {
		return true
	}
	switch se.Code() & 0xff {
	case 18, 19, 20, 25: // TOOBIG, CONSTRAINT, MISMATCH, RANGE
		return true
	}
	return false
}

// failedAlike reports whether the rows of ps, more than one, all failed
// with the same error, so that the store is failing rather than each row.
// Duplicate ids are each row's own however many there are.
func failedAlike(ps []*pendingWrite) bool {
	if len(ps) < 2 || ps[0].err == nil {
		return false
	}
	var se interface{ Code() int }
	if errors.As(ps[0].err, &se) {
		switch se.Code() {
		case 1555, 2067: // CONSTRAINT_PRIMARYKEY, CONSTRAINT_UNIQUE
			return false
		}
	}
	msg := ps[0].err.Error()
	for _, p := range ps[1:] {
		if p.err == nil || p.err.Error() != msg {
			return false
		}
	}
	return true
}

// writeBatch writes batch in one transaction. bad is the index of the item
// that failed, or -1 when the transaction itself failed (or nothing did).
func (s *SQLite) writeBatch(batch []*pendingWrite) (bad int, err error) {
	s.outOfOrder = false // a failed transaction's deletes did not happen
	tx, err := s.wdb.Begin()
	if err != nil {
		return -1, err
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	var ins, insRef, insRefs *sql.Stmt
	var dCount, dBytes, lastSeq int64
	removed := false
	minSeg := uint64(math.MaxUint64) // of the journaled rows inserted
	var maxLSN uint64
	var args []any
	for i := 0; i < len(batch); i++ {
		p := batch[i]
		if n := refRun(batch[i:]); n >= refChunk {
			// A run of journaled rows: refChunk at a time in one statement.
			// (If it fails, commit writes the rows one by one.)
			if insRefs == nil {
				insRefs = tx.Stmt(s.insertRefs)
				defer insRefs.Close()
			}
			args = args[:0]
			for _, p := range batch[i : i+refChunk] {
				args = p.row.appendRefArgs(args, p.seg, p.off)
				minSeg = min(minSeg, p.seg)
				dBytes += p.row.bytes
				maxLSN = max(maxLSN, p.lsn)
			}
			res, err := insRefs.Exec(args...)
			if err != nil {
				return i, err
			}
			s.rowRuns.Add(1)
			lastSeq, _ = res.LastInsertId()
			dCount += refChunk
			i += refChunk - 1
			runtime.Gosched()
			continue
		}
		if p.op != nil {
			n, b, err := p.op(tx)
			if err != nil {
				return i, err
			}
			removed = removed || n > 0
			dCount -= n
			dBytes -= b
			continue
		}
		var res sql.Result
		var err error
		if p.seg > 0 {
			if insRef == nil {
				insRef = tx.Stmt(s.insertRef)
				defer insRef.Close()
			}
			res, err = insRef.Exec(p.row.appendRefArgs(args[:0], p.seg, p.off)...)
			minSeg = min(minSeg, p.seg)
		} else {
			if ins == nil {
				ins = tx.Stmt(s.insert)
				defer ins.Close()
			}
			res, err = ins.Exec(p.row.args()...)
		}
		if err != nil {
			return i, err
		}
		yieldEvery(i, 16)
		lastSeq, _ = res.LastInsertId()
		dCount++
		dBytes += p.row.bytes
		maxLSN = max(maxLSN, p.lsn)
	}
	// The journal's watermark moves in the same transaction, never past
	// a row still waiting to be retried.
	applied := max(s.applied.Load(), s.committedLSN)
	if len(s.stuck) > 0 {
		maxLSN = min(maxLSN, s.stuck[0].lsn-1)
	}
	if maxLSN > applied {
		if _, err := s.txExec(tx, setKV, "journal_lsn", int64(maxLSN)); err != nil {
			return -1, err
		}
		applied = maxLSN
	}
	// Retention rides in the same transaction.
	var retainedTo, retainN int64
	var retainIDs idSpan
	var cutoff int64
	if s.opts.RetainAge > 0 {
		cutoff = s.opts.Now().Add(-s.opts.RetainAge).UnixNano()
	}
	if dCount > 0 && (cutoff > 0 || s.overLimit(s.count.Load()+dCount, s.bytes.Load()+dBytes)) {
		// Never the rows this batch wrote for callers about to be told
		// they are stored; journaled rows were acknowledged already, so
		// only the newest row is spared (as retain does).
		upTo := s.lastSeq.Load()
		if batch[len(batch)-1].acked && lastSeq > 0 {
			upTo = lastSeq - 1
		}
		n, b, to, span, err := s.retainTx(tx, s.count.Load()+dCount, s.bytes.Load()+dBytes, cutoff, upTo)
		if err != nil {
			return -1, err
		}
		dCount, dBytes, retainedTo = dCount-n, dBytes-b, to
		retainN, retainIDs = n, span
		removed = removed || n > 0
	}
	if err := tx.Commit(); err != nil {
		return -1, err
	}
	s.noteRetained(retainN, retainIDs)
	s.live = min(s.live, minSeg)
	if s.outOfOrder {
		s.outOfOrder = false
		s.sweepGen.Add(1)
	}
	if removed {
		if err := s.findLive(); err != nil {
			// Keep every segment rather than lose one in use.
			s.live = 0
			s.log.Warn("journal: finding the oldest segment in use", "err", err)
		}
	}
	s.commits.Add(1)
	s.count.Add(dCount)
	s.bytes.Add(dBytes)
	s.committedLSN = applied // applied once OnCommit has seen the batch
	if lastSeq > s.lastSeq.Load() {
		s.lastSeq.Store(lastSeq)
	}
	if retainedTo > s.retainedTo {
		s.retainedTo = retainedTo
	}
	return -1, nil
}

func (s *SQLite) setHealth(err error) {
	s.healthMu.Lock()
	defer s.healthMu.Unlock()
	if (err == nil) != (s.healthErr == nil) {
		s.healthAt = s.opts.Now()
		if err != nil {
			s.fails++
		}
	}
	s.healthErr = err
}

// Failures counts the spells of failure the store's writes have met since
// it opened, over by now or not. A spell that began and ended between two
// looks at Health shows here alone: the log can still say that writes
// work again.
func (s *SQLite) Failures() uint64 {
	s.healthMu.Lock()
	n := s.fails
	s.healthMu.Unlock()
	if s.jr != nil {
		n += s.jr.fails.Load()
	}
	return n
}

// Health returns the error of the last failed write, and since when, or nil
// once a write has worked again (disk full, then space freed).
func (s *SQLite) Health() (err error, since time.Time) {
	s.healthMu.Lock()
	err, since = s.healthErr, s.healthAt
	s.healthMu.Unlock()
	if err == nil && s.jr != nil {
		if f := s.jr.failure(); f != nil {
			return f.err, f.since
		}
	}
	return err, since
}

// overLimit reports whether count or bytes exceed the retention limits.
func (s *SQLite) overLimit(count, bytes int64) bool {
	o := s.opts
	return o.RetainCount > 0 && count > o.RetainCount || o.RetainBytes > 0 && bytes > o.RetainBytes
}

// retainTx deletes the exchanges older than cutoffNS (0: no age limit),
// whatever order they arrived in, then the oldest in arrival order while
// the store is over its count or byte limit; never a row past upTo. to is
// the row up to which every row is gone: the text index entries of those
// are purged later, a bounded step at each index tick (purgeIndex), and
// until then search never returns them, since it selects from the
// exchanges that exist. Entries of rows deleted past to (expired rows
// that arrived after a younger one still kept) go here, in the
// transaction: a range purge would take the kept row's entry too. span
// spans the ids of the rows deleted.
func (s *SQLite) retainTx(tx *sql.Tx, count, bytes, cutoffNS, upTo int64) (n, b, to int64, span idSpan, err error) {
	var aged []int64
	var gone []goneRow
	defer func() { s.gone.add(gone) }()
	if cutoffNS > 0 {
		// Through the time_ns index (OpenSQLite makes it when an age limit
		// is set; "+seq" keeps the planner off the rowid range), so that
		// only the expired rows are read: the rowid range alone would scan
		// the table every commit.
		rows, err := tx.Query(`DELETE FROM exchanges WHERE time_ns < ? AND +seq <= ? RETURNING seq, bytes, id`, cutoffNS, upTo)
		if err != nil {
			return 0, 0, 0, idSpan{}, err
		}
		for rows.Next() {
			var seq, nb int64
			var id string
			if err := rows.Scan(&seq, &nb, &id); err != nil {
				rows.Close()
				return 0, 0, 0, idSpan{}, err
			}
			aged = append(aged, seq)
			gone = s.gone.gather(gone, goneRow{id, seq})
			n, b = n+1, b+nb
			span.add(id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, 0, 0, idSpan{}, err
		}
		if len(aged) > 0 {
			s.outOfOrder = true // by time, not arrival: maybe out of order
		}
	}
	const page = 512
	after, last := int64(0), int64(0)
	for s.overLimit(count-n, bytes-b) {
		st, err := s.txStmt(tx, retainPageSQL)
		if err != nil {
			return 0, 0, 0, idSpan{}, err
		}
		rows, err := st.Query(after, upTo, page)
		if err != nil {
			st.Close()
			return 0, 0, 0, idSpan{}, err
		}
		got, stop := 0, false
		for rows.Next() {
			var seq, nb int64
			var id string
			if err := rows.Scan(&seq, &nb, &id); err != nil {
				rows.Close()
				st.Close()
				return 0, 0, 0, idSpan{}, err
			}
			got++
			if !s.overLimit(count-n, bytes-b) {
				stop = true
				break
			}
			n, b, last, after = n+1, b+nb, seq, seq
			span.add(id)
			gone = s.gone.gather(gone, goneRow{id, seq})
		}
		rows.Close()
		st.Close()
		if err := rows.Err(); err != nil {
			return 0, 0, 0, idSpan{}, err
		}
		if stop || got < page {
			break
		}
	}
	if last > 0 {
		if _, err := s.txExec(tx, retainDeleteSQL, last); err != nil {
			return 0, 0, 0, idSpan{}, err
		}
	}
	if n == 0 {
		return 0, 0, 0, idSpan{}, nil
	}
	var oldest sql.NullInt64
	st, err := s.txStmt(tx, oldestSeqSQL)
	if err != nil {
		return 0, 0, 0, idSpan{}, err
	}
	err = st.QueryRow().Scan(&oldest)
	st.Close()
	if err != nil {
		return 0, 0, 0, idSpan{}, err
	}
	to = last
	for _, seq := range aged {
		to = max(to, seq)
	}
	if oldest.Valid {
		to = oldest.Int64 - 1
	}
	if s.fts {
		indexed := s.indexed.Load()
		for _, seq := range aged {
			if seq <= to || seq > indexed {
				continue // purged by range later, or never indexed
			}
			if _, err := tx.Exec(`DELETE FROM exchanges_text WHERE rowid = ?`, seq); err != nil {
				return 0, 0, 0, idSpan{}, err
			}
		}
	}
	return n, b, to, span, nil
}

// purgeIndex removes the text index entries of up to n exchanges that
// retention deleted, in one transaction. It runs in the writer, and lets
// other goroutines run between steps as indexSome does between rows. n
// counts entries, not rowids: under heavy traffic the rows indexed are
// far apart (indexSome passes over those deleted before it came), and a
// step of n rowids fell behind captures, so the index grew without bound.
func (s *SQLite) purgeIndex(n int64) error {
	to := min(s.retainedTo, s.indexed.Load())
	if !s.fts || to <= s.ftsPurged {
		return nil
	}
	tx, err := s.wdb.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows, err := tx.Query(`SELECT rowid FROM exchanges_text WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?`, s.ftsPurged, to, n)
	if err != nil {
		return err
	}
	var seqs []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			rows.Close()
			return err
		}
		seqs = append(seqs, seq)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	if int64(len(seqs)) == n {
		to = seqs[len(seqs)-1] // more may follow: the next step goes on from here
	}
	for i, seq := range seqs {
		if _, err := tx.Exec(`DELETE FROM exchanges_text WHERE rowid = ?`, seq); err != nil {
			return err
		}
		yieldEvery(i, 16)
	}
	if _, err := tx.Exec(setKV, "fts_purged", to); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.ftsPurged = to
	return nil
}

// indexBatchBytes and indexBatchTime bound one batch of indexSome beyond
// its row count: the bytes it reads (and holds until it indexes them:
// request and response bodies, though only indexBodyBytes of each is
// indexed), and the time it holds the writer.
const (
	indexBatchBytes = 8 << 20
	indexBatchTime  = 100 * time.Millisecond
)

// indexSome adds up to n rows past the index watermark to the text index,
// in one transaction, and moves the watermark. It runs in the writer.
func (s *SQLite) indexSome(n int) error {
	from := s.indexed.Load()
	tx, err := s.wdb.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()
	rows, err := tx.Query(`SELECT seq, `+exchangeCols+` FROM exchanges WHERE seq > ? ORDER BY seq LIMIT ?`, from, n)
	if err != nil {
		return err
	}
	type row struct {
		seq int64
		ex  *Exchange
	}
	var todo []row
	var sf segmentFiles
	defer sf.close()
	scanned, lastScanned := 0, from
	var read int64
	for read < indexBatchBytes && rows.Next() {
		var r row
		var err error
		var at recordAt
		r.ex, at, err = scanRow(prefixScanner{rows, &r.seq})
		if err != nil {
			rows.Close()
			return err
		}
		scanned++
		lastScanned = r.seq
		if at.seg > 0 {
			// The writer deletes rows and segments, and runs this: a
			// row here still exists. A record that is gone (its file
			// removed by hand), damaged or unreadable (EIO, EACCES) is
			// indexed by what the row holds (the URL), so it neither
			// stops the index nor hides the rows after it. A shortage
			// that passes (no file descriptor or memory left) fails the
			// batch instead, and the next one tries the row again.
			full, err := s.loadRecord(&sf, at, r.ex.ID)
			switch {
			case err == nil:
				r.ex = full
			case shortage(err):
				rows.Close()
				return fmt.Errorf("exchange %s: %w", r.ex.ID, err)
			default:
				s.log.Warn("text index: exchange record unreadable; indexing its URL only", "id", r.ex.ID, "err", err)
			}
		}
		todo = append(todo, r)
		read += int64(len(r.ex.Request.Body)) + int64(len(r.ex.Request.URL))
		if r.ex.Response != nil {
			read += int64(len(r.ex.Response.Body))
		}
	}
	cut := read >= indexBatchBytes // rows may be left after the last read
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	ins, err := tx.Prepare(`INSERT INTO exchanges_text(rowid, url, headers, body) VALUES (?, ?, ?, ?)`)
	if err != nil {
		return err
	}
	defer ins.Close()
	to := s.lastSeq.Load()
	if scanned == n || cut {
		to = lastScanned
	}
	// A batch holds the writer: bounded in time too (text that tokenizes
	// slowly, such as base64, runs at ~13 rows of 60 KB a second), so that
	// captures are written and shutdown is not held up behind it.
	deadline := time.Now().Add(s.indexTime)
	for i, r := range todo {
		if _, err := ins.Exec(r.seq, strings.ToLower(r.ex.Request.URL), strings.ToLower(headerText(r.ex)), strings.ToLower(bodyText(r.ex))); err != nil {
			return err
		}
		if i < len(todo)-1 && time.Now().After(deadline) {
			to = r.seq // the rest waits for the next batch
			break
		}
		yieldEvery(i, 8)
	}
	if _, err := tx.Exec(setKV, "fts_indexed", to); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	s.indexed.Store(to)
	return nil
}

// IndexPending brings the text index up to date now instead of when the
// writer is next idle. Search is correct either way; this is for tests and
// for callers that want the index's speed at once.
func (s *SQLite) IndexPending(ctx context.Context) error {
	if !s.fts {
		return nil
	}
	s.caughtUp(ctx)
	for s.indexed.Load() < s.lastSeq.Load() {
		if err := s.submit(ctx, &pendingWrite{index: true, done: make(chan error, 1)}); err != nil {
			return err
		}
	}
	return nil
}

// yieldEvery lets other goroutines run after every nth row the writer
// inserts. A batch is milliseconds of CPU that the Go scheduler would
// otherwise leave on one of the process's Ps until it preempts it (10 ms):
// with two CPUs, requests that arrive meanwhile queue on the other one.
// Measured with go run ./bench proxy, three runs each: hooklab's p99 over
// a bare ReverseProxy's went from +1.26, +1.41, +1.39 ms to +1.25, +0.77,
// +0.92 ms.
func yieldEvery(i, n int) {
	if i%n == n-1 {
		runtime.Gosched()
	}
}

// refRun is how many journaled rows lead batch, counting to refChunk.
func refRun(batch []*pendingWrite) int {
	n := 0
	for _, p := range batch[:min(len(batch), refChunk)] {
		if p.op != nil || p.seg == 0 {
			break
		}
		n++
	}
	return n
}

// setKV records a watermark (k, v) in the kv table.
const setKV = `INSERT INTO kv(k, v) VALUES (?, ?) ON CONFLICT(k) DO UPDATE SET v = excluded.v`

// writerQueries are the statements the writer runs every commit besides
// its inserts: OpenSQLite prepares them once (see txStmt).
var writerQueries = []string{setKV, retainPageSQL, retainDeleteSQL, oldestSeqSQL, findLiveSQL}

const (
	retainPageSQL   = `SELECT seq, bytes, id FROM exchanges WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`
	retainDeleteSQL = `DELETE FROM exchanges WHERE seq <= ?`
	oldestSeqSQL    = `SELECT min(seq) FROM exchanges`
	findLiveSQL     = `SELECT seq, seg FROM exchanges WHERE seq >= ? AND seg IS NOT NULL ORDER BY seq LIMIT 1`
)

// txStmt returns query for tx, prepared once at open when it is one of
// writerQueries (preparing one cost about as much as running it: 1.8% of
// a capture's CPU under load); close it after use, which keeps the
// prepared statement. (The writer's connection is its only one, and busy
// with tx, so nothing can be prepared beside it now.)
func (s *SQLite) txStmt(tx *sql.Tx, query string) (*sql.Stmt, error) {
	if st := s.stmts[query]; st != nil {
		return tx.Stmt(st), nil
	}
	return tx.Prepare(query)
}

// writerRow runs query on the writer's connection, outside a transaction,
// as a statement prepared once when it is one of writerQueries.
func (s *SQLite) writerRow(query string, args ...any) *sql.Row {
	if st := s.stmts[query]; st != nil {
		return st.QueryRow(args...)
	}
	return s.wdb.QueryRow(query, args...)
}

// txExec runs query in tx as a statement prepared once (txStmt).
func (s *SQLite) txExec(tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	st, err := s.txStmt(tx, query)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	return st.Exec(args...)
}

// insertRefSQL inserts a journaled row: the columns lists and filters read,
// and where its record is. The record holds the rest.
const insertRefSQL = insertRefHead + insertRefValues

// insertRefsSQL inserts refChunk journaled rows in one statement: under
// load the writer's rows come in runs, and one statement for a run saves
// each row a statement's start, finish and trip through database/sql. It
// says OR FAIL: with the default (ABORT), SQLite would keep a statement
// journal (a copy of every page the statement changes) to undo the rows
// before a failing one; a failed write rolls back its whole transaction
// anyway (see commit). (Before it did, the statement journal was a
// temporary file with a write(2) per page: ~4% of all CPU under load.)
var insertRefsSQL = strings.Replace(insertRefHead, "INSERT INTO", "INSERT OR FAIL INTO", 1) +
	strings.Repeat(insertRefValues+",", refChunk-1) + insertRefValues

const (
	insertRefHead = `INSERT INTO exchanges (id, bin, source, time_ns, duration_ns, method, url, path, proto, host, remote_addr, tls,
	req_headers, req_size, req_truncated, req_body, status, resp_headers, resp_size, resp_truncated, resp_body, truncated,
	rule, signature, error, extra, bytes, seg, off)
	VALUES `
	insertRefValues = `(?,?,?,?,?,?,?,?,'','','',0,'',?,0,NULL,?,NULL,?,0,NULL,?,?,?,?,NULL,?,?,?)`
	// refChunk is how many rows insertRefsSQL inserts.
	refChunk = 16
)

// findLive sets live to the oldest journal segment a stored exchange points
// into. Journaled rows are inserted in journal order, so it is the first
// such row's. Rows are only deleted and appended, so the search starts at
// the row found last time: rows stored whole (by an older hooklab, or
// without a journal) before it are not looked at again.
func (s *SQLite) findLive() error {
	var seq, seg int64
	err := s.writerRow(findLiveSQL, s.liveSeq).Scan(&seq, &seg)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		s.live = math.MaxUint64
		s.liveSeq = s.lastSeq.Load() + 1
	case err != nil:
		return err
	default:
		s.live, s.liveSeq = uint64(seg), seq
	}
	return nil
}

const insertSQL = `INSERT INTO exchanges (id, bin, source, time_ns, duration_ns, method, url, path, proto, host, remote_addr, tls,
	req_headers, req_size, req_truncated, req_body, status, resp_headers, resp_size, resp_truncated, resp_body, truncated,
	rule, signature, error, extra, bytes)
	VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

func headerText(ex *Exchange) string {
	var b strings.Builder
	for _, h := range ex.Request.Headers {
		b.WriteString(h.Name)
		b.WriteString(": ")
		b.WriteString(h.Value)
		b.WriteByte('\n')
	}
	if ex.Response != nil {
		for _, h := range ex.Response.Headers {
			b.WriteString(h.Name)
			b.WriteString(": ")
			b.WriteString(h.Value)
			b.WriteByte('\n')
		}
	}
	return b.String()
}

func bodyText(ex *Exchange) string {
	var b strings.Builder
	add := func(h Headers, body []byte) {
		if t := searchBody(h, body); t != "" {
			b.WriteString(t)
			b.WriteByte('\n')
		}
	}
	add(ex.Request.Headers, ex.Request.Body)
	if ex.Response != nil {
		add(ex.Response.Headers, ex.Response.Body)
	}
	return b.String()
}

// retain enforces the count, byte and age limits. It runs in the writer.
func (s *SQLite) retain() {
	o := s.opts
	if o.RetainCount <= 0 && o.RetainBytes <= 0 && o.RetainAge <= 0 {
		return
	}
	var cutoff int64
	if o.RetainAge > 0 {
		cutoff = o.Now().Add(-o.RetainAge).UnixNano()
	}
	if cutoff == 0 && !s.overLimit(s.count.Load(), s.bytes.Load()) {
		return
	}
	tx, err := s.wdb.Begin()
	if err != nil {
		s.log.Error("retention failed", "err", err)
		return
	}
	// The newest exchange stays whatever the limits say: an exchange larger
	// than the byte limit is kept until a newer one arrives.
	s.outOfOrder = false
	n, b, to, span, err := s.retainTx(tx, s.count.Load(), s.bytes.Load(), cutoff, s.lastSeq.Load()-1)
	if err == nil {
		err = tx.Commit()
	} else {
		tx.Rollback()
	}
	if err != nil {
		s.log.Error("retention failed", "err", err)
		return
	}
	s.retainRuns.Add(1)
	s.noteRetained(n, span)
	s.tellRetained()
	s.count.Add(-n)
	s.bytes.Add(-b)
	if to > s.retainedTo {
		s.retainedTo = to
	}
	if s.outOfOrder {
		s.outOfOrder = false
		s.sweepGen.Add(1)
	}
	if n > 0 {
		if err := s.findLive(); err != nil {
			s.live = 0
			s.log.Warn("journal: finding the oldest segment in use", "err", err)
		}
		s.setApplied(0) // retires the segments no exchange is in any more
	}
}

// maxKept is how many exchanges a Retained may name in Kept.
const maxKept = 1000

// Retained says what retention deleted, for Options.OnRetain, in a form a
// client holding some exchanges (a page's list) can apply exactly without
// a message per exchange: of the exchanges it holds, those whose id sorts
// from From and before Before are gone, except those Kept names, and no
// other is. Ids sort by when an exchange began, and retention deletes the
// oldest in arrival order or by age, so Kept holds the few in that span
// stored out of step with their ids (a slow exchange, stored after
// younger ones) that are still there; exchanges older than every one
// deleted (an import's, stored after the ones deleted) are below From,
// and named nowhere. When more than maxKept would be, From and Before
// are "" and Kept nil: the client lists again.
type Retained struct {
	// Deleted counts the exchanges deleted.
	Deleted int64
	// From is the least id deleted, or "".
	From string
	// Before is one past the greatest id deleted, or "".
	Before string
	// Kept lists the exchanges still stored whose ids sort from From and
	// before Before, in id order.
	Kept []string
}

// idSpan is the least and the greatest of some ids; the zero span has
// none.
type idSpan struct{ lo, hi string }

func (sp *idSpan) add(id string) {
	if sp.lo == "" || id < sp.lo {
		sp.lo = id
	}
	sp.hi = max(sp.hi, id)
}

// noteRetained adds a committed retention pass, which deleted n exchanges
// whose ids span covers, to what OnRetain is told next.
func (s *SQLite) noteRetained(n int64, span idSpan) {
	if n == 0 {
		return
	}
	s.retainN += n
	s.retainIDs.add(span.lo)
	s.retainIDs.add(span.hi)
}

// tellRetained tells OnRetain what retention deleted since it was last
// told, if anything. It runs in the writer after commits, so that the
// store it reads is the one the deletes left.
func (s *SQLite) tellRetained() {
	n, span := s.retainN, s.retainIDs
	s.retainN, s.retainIDs = 0, idSpan{}
	if n == 0 || s.opts.OnRetain == nil || s.opts.Heard != nil && !s.opts.Heard() {
		return
	}
	r := Retained{Deleted: n}
	if before, ok := nextID(span.hi); ok {
		kept, err := s.keptBetween(span)
		switch {
		case err != nil:
			s.log.Warn("retention: reading the exchanges it kept; stream clients list again", "err", err)
		case len(kept) <= maxKept:
			r.From, r.Before, r.Kept = span.lo, before, kept
		}
	}
	s.opts.OnRetain(r)
}

// keptBetween returns the ids of the exchanges stored whose ids sort
// within span, in id order, up to maxKept+1 of them.
func (s *SQLite) keptBetween(span idSpan) ([]string, error) {
	rows, err := s.wdb.Query(`SELECT id FROM exchanges WHERE id >= ? AND id <= ? ORDER BY id LIMIT ?`, span.lo, span.hi, maxKept+1)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	kept := []string{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		kept = append(kept, id)
	}
	return kept, rows.Err()
}

// deleteTx deletes matching exchanges and their index entries. It runs in
// the writer, which also owns the index watermark.
func (s *SQLite) deleteTx(tx *sql.Tx, cond string, args ...any) (n, bytes int64, err error) {
	defer func() {
		if n > 0 {
			s.outOfOrder = true
		}
	}()
	rows, err := tx.Query(`DELETE FROM exchanges WHERE `+cond+` RETURNING seq, bytes, id`, args...)
	if err != nil {
		return 0, 0, err
	}
	var seqs []int64
	var gone []goneRow
	for rows.Next() {
		var seq, b int64
		var id string
		if err := rows.Scan(&seq, &b, &id); err != nil {
			rows.Close()
			return 0, 0, err
		}
		seqs = append(seqs, seq)
		gone = s.gone.gather(gone, goneRow{id, seq})
		bytes += b
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, err
	}
	s.gone.add(gone)
	if s.fts && len(seqs) > 0 {
		del, err := tx.Prepare(`DELETE FROM exchanges_text WHERE rowid = ?`)
		if err != nil {
			return 0, 0, err
		}
		defer del.Close()
		indexed := s.indexed.Load()
		for _, seq := range seqs {
			if seq > indexed {
				continue // never indexed
			}
			if _, err := del.Exec(seq); err != nil {
				return 0, 0, err
			}
		}
	}
	return int64(len(seqs)), bytes, nil
}

// write runs op in the writer, in its batch transaction.
func (s *SQLite) write(ctx context.Context, op func(tx *sql.Tx) (int64, int64, error)) error {
	return s.submit(ctx, &pendingWrite{op: op, done: make(chan error, 1)})
}

// remove is write for an op that deletes exchanges a caller asked to:
// on a full disk it may use the reserve's room (reserve.go).
func (s *SQLite) remove(ctx context.Context, op func(tx *sql.Tx) (int64, int64, error)) error {
	return s.submit(ctx, &pendingWrite{op: op, frees: true, done: make(chan error, 1)})
}

// Get returns one exchange with its bodies.
func (s *SQLite) Get(ctx context.Context, id string) (_ *Exchange, err error) {
	defer func() { err = s.closedErr(err) }()
	asked := id // a 404 quotes the id as the client wrote it
	id = strings.ToUpper(id)
	var target uint64
	if s.jr != nil {
		target = s.jr.acked.Load()
	}
	var sf segmentFiles
	defer sf.close()
	look := func() (*Exchange, error) {
		return s.load(s.rdb.QueryRowContext(ctx, `SELECT `+exchangeCols+` FROM exchanges WHERE id = ?`, id), &sf)
	}
	// Read before the look: an exchange the writer commits between the
	// look and a later read of applied would be missed.
	behind := s.applied.Load() < target
	ex, err := look()
	if errors.Is(err, sql.ErrNoRows) && behind {
		// It may be answered and not written yet: wait for the writer,
		// then look again. Only then: a stored exchange is read at once
		// while the writer is behind (a search checking rows one by one
		// waited up to caughtUp's limit for each).
		s.caughtUp(ctx)
		ex, err = look()
	}
	if errors.Is(err, sql.ErrNoRows) {
		if s.applied.Load() < target {
			// It may be one of the answered exchanges not written yet
			// (a full disk, a writer far behind): not a 404.
			why := "the store is behind"
			if herr, _ := s.Health(); herr != nil {
				why = herr.Error()
			}
			return nil, fmt.Errorf("exchange %s is not stored yet, or not at all: answered exchanges wait to be written (%s): %w", id, why, ErrStoreFull)
		}
		return nil, fmt.Errorf("exchange %s: %w", asked, ErrNotFound)
	}
	if errors.Is(err, errRecordGone) || errors.Is(err, errBadRow) {
		// Deleted since the row was read (its segment went with it), or
		// the record was removed or changed by hand.
		var still bool
		if qerr := s.rdb.QueryRowContext(ctx, `SELECT EXISTS(SELECT 1 FROM exchanges WHERE id = ?)`, id).Scan(&still); qerr != nil {
			return nil, fmt.Errorf("get exchange %s: %w", id, qerr)
		} else if !still {
			return nil, fmt.Errorf("exchange %s: %w", asked, ErrNotFound)
		}
		what := "its journal record is gone (a segment file in " + s.jdir + " was removed)"
		if gone := (*recordGoneError)(nil); errors.As(err, &gone) {
			what = "its journal record is gone (" + gone.file + " was removed)"
		}
		if errors.Is(err, errBadRow) {
			what = "its journal record is damaged (" + err.Error() + ")"
		}
		return nil, fmt.Errorf("exchange %s: %s: %w", id, what, ErrDamaged)
	}
	if err != nil {
		return nil, fmt.Errorf("get exchange %s: %w", id, err)
	}
	return ex, nil
}

// load reads one row of exchangeCols into an Exchange, from the journal
// record the row points at when it is a journaled one.
func (s *SQLite) load(sc scanner, sf *segmentFiles) (*Exchange, error) {
	ex, at, err := scanRow(sc)
	if err != nil || at.seg == 0 {
		return ex, err
	}
	return s.loadRecord(sf, at, ex.ID)
}

// loadRecord reads exchange id from its journal record at at. A damaged
// record's error names its segment file, as a missing one's does.
func (s *SQLite) loadRecord(sf *segmentFiles, at recordAt, id string) (*Exchange, error) {
	sf.dir = s.jdir
	r, err := sf.read(at.seg, at.off)
	if err == nil && r.id != id {
		err = fmt.Errorf("journal record %d@%d holds exchange %s, not %s: %w", at.seg, at.off, r.id, id, errBadRow)
	}
	if errors.Is(err, errBadRow) {
		return nil, fmt.Errorf("%s: %w", segmentName(s.jdir, at.seg), err)
	}
	if err != nil {
		return nil, err
	}
	return r.exchange()
}

// prefixScanner scans a leading column into first, then the rest with
// scanRow's destinations.
type prefixScanner struct {
	sc    scanner
	first *int64
}

func (p prefixScanner) Scan(dest ...any) error {
	return p.sc.Scan(append([]any{p.first}, dest...)...)
}

// List returns summaries newest first.
func (s *SQLite) List(ctx context.Context, q Query) (_ []Summary, _ string, err error) {
	defer func() { err = s.closedErr(err) }()
	s.caughtUp(ctx)
	// The index's watermark is read once: the SQL and the check of
	// journaled rows below must agree on which rows it answered for.
	w, indexed := s.textIndexed(q)
	_, whole := indexPhrase(strings.ToLower(q.Text))
	where, args, err := s.whereClause(ctx, q, w, indexed)
	if err != nil {
		return nil, "", err
	}
	lim := q.limit()
	order, page := " ORDER BY seq DESC", "seq < ?"
	if q.Ascending {
		order, page = " ORDER BY seq ASC", "seq > ?"
	}
	// Journaled rows a text search must check are read from the journal
	// and dropped when they do not match, so the rows come in pages until
	// lim+1 have matched (the one past lim says there is a next page).
	var sf segmentFiles
	defer sf.close()
	out := make([]Summary, 0, min(lim, 64))
	var lastSeq, after int64
	next := ""
	for {
		w2, a2 := where, args
		if after > 0 {
			if w2 == "" {
				w2 = " WHERE " + page
			} else {
				w2 += " AND " + page
			}
			a2 = append(slices.Clip(args), after)
		}
		pageSize := lim + 1
		if q.Text != "" {
			pageSize = max(pageSize, 256) // rows checked in Go may be dropped
		}
		n, more, err := s.listPage(ctx, w2+order, append(a2, pageSize), func(sm Summary, at recordAt) (bool, error) {
			after = sm.seq
			if q.Text != "" && at.seg > 0 && !(indexed && whole && sm.seq <= w) {
				ok, err := s.recordHas(&sf, at, sm.ID, sm.URL, q.Text)
				if err != nil || !ok {
					return true, err
				}
			}
			if len(out) == lim {
				next = strconv.FormatInt(lastSeq, 10)
				return false, nil
			}
			out = append(out, sm)
			lastSeq = sm.seq
			return true, nil
		})
		if err != nil {
			return nil, "", fmt.Errorf("list exchanges: %w", err)
		}
		if next != "" || !more || n == 0 {
			return out, next, nil
		}
	}
}

// listPage runs the summary query with the given WHERE… ORDER… LIMIT tail
// and calls each for the rows in order until it returns false. It returns
// how many rows it saw and whether the page was full (more may follow).
func (s *SQLite) listPage(ctx context.Context, tail string, args []any, each func(Summary, recordAt) (bool, error)) (n int, more bool, err error) {
	rows, err := s.rdb.QueryContext(ctx, summarySQL(tail), args...)
	if err != nil {
		return 0, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var sm Summary
		var seq, tns, dns int64
		var trunc int
		var seg, off sql.NullInt64
		if err := rows.Scan(&seq, &sm.ID, &sm.Bin, &sm.Source, &tns, &dns, &sm.Method, &sm.URL, &sm.Path, &sm.Status,
			&sm.RequestSize, &sm.ResponseSize, &trunc, &sm.Rule, &sm.Signature, &sm.Error, &seg, &off); err != nil {
			return n, false, err
		}
		n++
		sm.Time = time.Unix(0, tns).UTC().Format(time.RFC3339Nano)
		sm.DurationMS = float64(time.Duration(dns).Microseconds()) / 1000
		sm.Truncated = trunc != 0
		sm.seq = seq
		var at recordAt
		if seg.Valid && seg.Int64 > 0 {
			at = recordAt{uint64(seg.Int64), off.Int64}
		}
		goOn, err := each(sm, at)
		if err != nil {
			return n, false, err
		}
		if !goOn {
			return n, false, rows.Err()
		}
	}
	return n, n == args[len(args)-1].(int), rows.Err()
}

// summarySQL is the query of a page of summaries, given its WHERE… ORDER…
// tail; its last argument is the LIMIT.
func summarySQL(tail string) string {
	return `SELECT seq, id, bin, source, time_ns, duration_ns, method, url, path, status,
		req_size, resp_size, truncated, rule, signature, error, seg, off FROM exchanges` + tail + ` LIMIT ?`
}

// recordHas reports whether the journaled exchange whose record is at at
// holds text where a search looks (URL, headers, bodies). An exchange
// deleted meanwhile does not.
func (s *SQLite) recordHas(sf *segmentFiles, at recordAt, id, rawURL, text string) (bool, error) {
	ex, err := s.loadRecord(sf, at, id)
	switch {
	case err == nil:
		return containsText(ex, text), nil
	case shortage(err):
		return false, err
	}
	// Deleted meanwhile, or a record gone, damaged or unreadable (EIO,
	// EACCES, a directory in its place): what the row holds is searched,
	// as the indexer indexes it, and the search goes on.
	if !errors.Is(err, errRecordGone) {
		s.log.Warn("search: exchange record unreadable; searching its URL only", "id", id, "err", err)
	}
	return containsText(&Exchange{Request: Request{URL: rawURL}}, text), nil
}

// maxIndexedRunes bounds the search text the text index looks for. FTS5
// matches a phrase of n trigrams against a row in time n times the places
// they are in the row, without stopping for a cancelled query: 1,000 letters
// over a header of 900 KiB of one letter took 13 s, and a query of 900 KiB
// took the CPU for as long as it took. The index finds the rows holding
// the text's first maxIndexedRunes characters, and those are checked for
// all of it, as rows not indexed yet are.
const maxIndexedRunes = 32

// indexPhrase is what the text index looks for of t, a lowered search
// text: all of it (whole), or its first maxIndexedRunes characters.
func indexPhrase(t string) (phrase string, whole bool) {
	n := 0
	for i := range t {
		if n == maxIndexedRunes {
			return t[:i], false
		}
		n++
	}
	return t, true
}

// textIndexed says whether the text index can answer q's text, for the
// rows up to w (for a text longer than maxIndexedRunes, which rows may
// hold it).
func (s *SQLite) textIndexed(q Query) (w int64, ok bool) {
	if !s.fts || utf8.RuneCountInString(q.Text) < 3 {
		return 0, false
	}
	return s.indexed.Load(), true
}

// whereClause is q's WHERE clause; the text index answers q.Text for the
// rows up to w when indexed.
func (s *SQLite) whereClause(ctx context.Context, q Query, w int64, indexed bool) (string, []any, error) {
	var conds []string
	var args []any
	add := func(c string, a ...any) {
		conds = append(conds, c)
		args = append(args, a...)
	}
	if q.Bin != "" {
		add(`bin = ?`, q.Bin)
	}
	if q.Method != "" {
		add(`method = ? COLLATE NOCASE`, q.Method) // stored as sent: "post" is a method too
	}
	if q.Source != "" {
		add(`source = ?`, q.Source)
	}
	if q.Status != "" {
		lo, hi, ok := q.StatusRange()
		if !ok {
			return "", nil, fmt.Errorf("%w: status %q: %s", ErrInvalid, q.Status, statusWant)
		}
		add(`status BETWEEN ? AND ?`, lo, hi)
	}
	if !q.Since.IsZero() {
		add(`time_ns >= ?`, Nanos(q.Since))
	}
	if !q.Until.IsZero() {
		add(`time_ns <= ?`, Nanos(q.Until))
	}
	if q.Cursor != "" {
		seq, err := strconv.ParseInt(q.Cursor, 10, 64)
		if err != nil || seq < 0 {
			return "", nil, fmt.Errorf(`%w: cursor %q: want the "next" of an earlier page of this list (a number), or none for the first page`, ErrInvalid, q.Cursor)
		}
		if q.Ascending {
			add(`seq > ?`, seq)
		} else {
			add(`seq < ?`, seq)
		}
	}
	if q.After != "" {
		var seq int64
		err := s.rdb.QueryRowContext(ctx, `SELECT seq FROM exchanges WHERE id = ?`, q.After).Scan(&seq)
		switch {
		case err == nil:
			add(`seq > ?`, seq)
		case errors.Is(err, sql.ErrNoRows):
			// Gone: on from where it was stored when that is remembered
			// (goneIDs), else in id order.
			if seq, ok := s.gone.find(q.After); ok {
				add(`seq > ?`, seq)
			} else {
				add(`id > ?`, q.After)
			}
		default:
			return "", nil, err
		}
	}
	if q.Text != "" {
		// Neither an FTS5 query nor SQLite's LIKE can look for a NUL: the
		// first fails to parse, the second ends text and pattern at it.
		if strings.IndexByte(q.Text, 0) >= 0 {
			return "", nil, fmt.Errorf("%w: search text %q holds a NUL byte, which search cannot look for", ErrInvalid, q.Text)
		}
		// A row that keeps its headers and bodies (no journal) is looked
		// at as containsText looks at a journaled one, by hl_has and
		// hl_body_has (see init): the same text, folded the same way.
		t := strings.ToLower(q.Text)
		scan := `(hl_has(url, ?) OR hl_body_has(req_body, req_headers, ?) OR hl_body_has(resp_body, resp_headers, ?))`
		scanArgs := []any{t, t, t}
		if h, ok := escapeHeaderSearch(t); ok {
			// Stored header lines are "Name: value" pairs, as Query.Matches
			// sees them.
			scan = `(hl_has(url, ?) OR hl_body_has(req_body, req_headers, ?) OR hl_body_has(resp_body, resp_headers, ?)
				OR hl_has(req_headers, ?) OR hl_has(resp_headers, ?))`
			scanArgs = append(scanArgs, h, h)
		}
		// A journaled row's headers and bodies are in its journal
		// record: such a row is a candidate here, and List reads its
		// record to check it (unless the index answered for it).
		scan = `(seg IS NOT NULL OR ` + scan + `)`
		if indexed {
			// Indexed rows through the index; the rest (not yet indexed)
			// by scanning. A CASE, not an OR: given an OR, SQLite
			// gathered the rows of both sides and sorted them in a
			// temporary B-tree for every page, every row of the scanned
			// side included (minutes to page through a large backlog).
			// For a long text the index finds the rows holding its
			// start, and the scan checks them for all of it.
			phrase, whole := indexPhrase(t)
			match := `seq IN (SELECT rowid FROM exchanges_text WHERE exchanges_text MATCH ?)`
			matchArgs := []any{w, `"` + strings.ReplaceAll(phrase, `"`, `""`) + `"`}
			if !whole {
				match += ` AND ` + scan
				matchArgs = append(matchArgs, scanArgs...)
			}
			add(`CASE WHEN seq <= ? THEN `+match+` ELSE `+scan+` END`, append(matchArgs, scanArgs...)...)
		} else {
			add(scan, scanArgs...)
		}
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// shortage reports whether err, reading a journal record, is a shortage
// that passes (no file descriptor or memory left): the read is worth
// failing and trying again, not taking the record as unreadable.
func shortage(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) || errors.Is(err, syscall.ENOMEM) || errors.Is(err, syscall.EINTR)
}

// hl_has(text, t) and hl_body_has(body, headers, t) are text search's scan
// of a row that keeps its headers and bodies: 1 when text, or what
// searchBody reads of body (its stored header lines say its
// Content-Encoding), holds t (lowered) in any case (hasFold). SQLite's LIKE folds
// ASCII letters only, the text index and containsText every letter.
func init() {
	arg := func(v driver.Value) string {
		switch x := v.(type) {
		case string:
			return x
		case []byte:
			return string(x)
		}
		return ""
	}
	has := func(text string, args []driver.Value) driver.Value {
		if hasFold(text, arg(args[1])) {
			return int64(1)
		}
		return int64(0)
	}
	sqlite.MustRegisterDeterministicScalarFunction("hl_has", 2, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		return has(arg(args[0]), args), nil
	})
	sqlite.MustRegisterDeterministicScalarFunction("hl_body_has", 3, func(_ *sqlite.FunctionContext, args []driver.Value) (driver.Value, error) {
		b, _ := args[0].([]byte)
		if s, ok := args[0].(string); ok {
			b = []byte(s)
		}
		var h Headers
		if hs := arg(args[1]); len(b) > 0 && hasFold(hs, "content-encoding") {
			h = parseHeaderText(hs)
		}
		return has(searchBody(h, b), args[1:]), nil
	})
}

// Delete removes one exchange.
func (s *SQLite) Delete(ctx context.Context, id string) error {
	asked := id
	id = strings.ToUpper(id)
	var n int64
	err := s.remove(ctx, func(tx *sql.Tx) (int64, int64, error) {
		var b int64
		var err error
		n, b, err = s.deleteTx(tx, `id = ?`, id)
		return n, b, err
	})
	if err != nil {
		return fmt.Errorf("delete exchange: %w", err)
	}
	if n == 0 {
		return fmt.Errorf("exchange %s: %w", asked, ErrNotFound)
	}
	return nil
}

// Clear removes every exchange of bin, or all when bin is "".
func (s *SQLite) Clear(ctx context.Context, bin string) (int64, error) {
	var n int64
	err := s.remove(ctx, func(tx *sql.Tx) (int64, int64, error) {
		cond, args := `1`, []any(nil)
		if bin != "" {
			cond, args = `bin = ?`, []any{bin}
		}
		var b int64
		var err error
		n, b, err = s.deleteTx(tx, cond, args...)
		return n, b, err
	})
	if err != nil {
		return 0, fmt.Errorf("clear exchanges: %w", err)
	}
	return n, nil
}

// DeleteBin removes bin name, a created one too, with its exchanges.
func (s *SQLite) DeleteBin(ctx context.Context, name string) (int64, error) {
	var n, made int64
	err := s.remove(ctx, func(tx *sql.Tx) (int64, int64, error) {
		var b int64
		var err error
		if n, b, err = s.deleteTx(tx, `bin = ?`, name); err != nil {
			return 0, 0, err
		}
		res, err := tx.Exec(`DELETE FROM bins WHERE name = ?`, name)
		if err != nil {
			return 0, 0, err
		}
		made, err = res.RowsAffected()
		return n, b, err
	})
	if err != nil {
		return 0, fmt.Errorf("delete bin %s: %w", name, err)
	}
	if n == 0 && made == 0 {
		return 0, fmt.Errorf("bin %s: %w", name, ErrNotFound)
	}
	return n, nil
}

// CreateBin records a bin name.
func (s *SQLite) CreateBin(ctx context.Context, name string) (bool, error) {
	now := s.opts.Now().UnixNano()
	var created bool
	err := s.write(ctx, func(tx *sql.Tx) (int64, int64, error) {
		res, err := tx.Exec(`INSERT INTO bins(name, created_ns) VALUES (?, ?) ON CONFLICT(name) DO NOTHING`, name, now)
		if err != nil {
			return 0, 0, err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return 0, 0, err
		}
		var used bool
		err = tx.QueryRow(`SELECT EXISTS(SELECT 1 FROM exchanges WHERE bin = ?)`, name).Scan(&used)
		created = !used
		return 0, 0, err
	})
	return created, err
}

// Bins lists bins with their counts and the time of their newest exchange.
func (s *SQLite) Bins(ctx context.Context) (_ []Bin, err error) {
	defer func() { err = s.closedErr(err) }()
	s.caughtUp(ctx)
	rows, err := s.rdb.QueryContext(ctx, `SELECT name, sum(n), max(last) FROM (
		SELECT bin AS name, count(*) AS n, max(time_ns) AS last FROM exchanges GROUP BY bin
		UNION ALL SELECT name, 0, 0 FROM bins) GROUP BY name ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list bins: %w", err)
	}
	defer rows.Close()
	var out []Bin
	for rows.Next() {
		var b Bin
		var last int64
		if err := rows.Scan(&b.Name, &b.Count, &last); err != nil {
			return nil, fmt.Errorf("list bins: %w", err)
		}
		if last > 0 {
			b.LastSeen = time.Unix(0, last).UTC()
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// Stats reports what the store holds, every acknowledged Add included
// (waiting for those to be committed, for at most 5 s or until ctx ends).
func (s *SQLite) Stats(ctx context.Context) (count, bytes int64) {
	s.caughtUp(ctx)
	return s.count.Load(), s.bytes.Load()
}

// Sync waits until every Add that has returned is committed and handed to
// OnCommit (with a journal that happens shortly after Add returns).
func (s *SQLite) Sync(ctx context.Context) { s.caughtUp(ctx) }

// Close stops accepting writes, commits what was queued and closes the
// database.
func (s *SQLite) Close() error {
	s.once.Do(func() {
		s.closing.Lock()
		s.closed = true
		s.closing.Unlock()
		close(s.stop)
		<-s.done
		if s.checkpointDone != nil {
			<-s.checkpointDone
		}
		if s.path != ":memory:" {
			_, _ = s.wdb.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		}
		s.closeErr = s.closeDBs()
		if s.jr != nil {
			applied, acked := s.applied.Load(), s.jr.acked.Load()
			s.closeErr = errors.Join(s.closeErr, s.jr.close(applied, s.live))
			if applied < acked {
				s.closeErr = errors.Join(s.closeErr, fmt.Errorf("%w: some acknowledged exchanges could not be written to the database; they stay in the journal and are stored at the next start", ErrStoreFull))
			}
		}
	})
	return s.closeErr
}

// closedErr is err of a read, marked ErrClosed when the store is closed
// (it failed for that: the database is closed), as a write's is.
func (s *SQLite) closedErr(err error) error {
	if err == nil || errors.Is(err, ErrClosed) || errors.Is(err, ErrNotFound) {
		return err
	}
	s.closing.RLock()
	closed := s.closed
	s.closing.RUnlock()
	if closed {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return err
}

// sweepEvery is how often the checkpointer looks for journal segments that
// no stored exchange points into any more, whatever their age: retention
// frees the oldest at once (live), while this finds those emptied by deletes
// and by clearing a bin while older exchanges stay.
const sweepEvery = 10 * time.Second

// sweepSegments deletes the sealed segments no stored exchange points into.
// It reads on the checkpointer's connection, beside the writer. A segment
// counts only if every record in it was applied before the read began, so
// no row pointing into it can be committed after what the read sees.
//
// It also reports, once each, segments stored exchanges point into that are
// not on disk (removed by hand): their exchanges list, but their details
// cannot be read.
func (s *SQLite) sweepSegments(db *sql.DB, jr *journal, missing map[uint64]bool) error {
	applied := s.applied.Load()
	rows, err := db.Query(`SELECT DISTINCT seg FROM exchanges WHERE seg IS NOT NULL`)
	if err != nil {
		return err
	}
	defer rows.Close()
	refs := make(map[uint64]bool)
	for rows.Next() {
		var seg int64
		if err := rows.Scan(&seg); err != nil {
			return err
		}
		refs[uint64(seg)] = true
	}
	if err := rows.Err(); err != nil {
		return err
	}
	jr.sweep(applied, refs)
	for seg := range refs {
		if missing[seg] {
			continue
		}
		if _, err := os.Stat(segmentName(s.jdir, seg)); errors.Is(err, os.ErrNotExist) {
			// Retention may have deleted it (with its rows) since the
			// query above: only rows that still point at it count.
			var n int64
			if err := db.QueryRow(`SELECT count(*) FROM exchanges WHERE seg = ?`, int64(seg)).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				missing[seg] = true
				s.log.Error("journal segment missing: the headers and bodies of its exchanges are lost", "file", segmentName(s.jdir, seg), "exchanges", n)
			}
		}
	}
	missing[0] = true // (no segment is 0) the check has run once
	return nil
}

// sweepState is what the checkpointer remembers between sweeps.
type sweepState struct {
	gen     uint64          // sweepGen when the last sweep began
	recheck uint64          // the newest segment then, when deletes came before it
	missing map[uint64]bool // segments reported missing ([0]: the first check ran)
}

// sweepTick sweeps when one is due: after deletes out of order (sweepGen
// moved), again once the segment that was the newest then is sealed and
// applied (those deletes may have emptied it), and once at start. It
// reports whether it swept.
func (s *SQLite) sweepTick(db *sql.DB, jr *journal, st *sweepState) (bool, error) {
	gen := s.sweepGen.Load() // before the sweep's query: a delete after it moves gen again
	prev := st.recheck
	switch {
	case gen != st.gen:
		st.recheck = jr.newestSegment()
	case st.recheck != 0 && jr.sealedSegment(st.recheck, s.applied.Load()):
		st.recheck = 0
	case st.missing[0]:
		return false, nil
	}
	if err := s.sweepSegments(db, jr, st.missing); err != nil {
		st.recheck = prev // the next tick tries again
		return true, err
	}
	st.gen = gen
	return true, nil
}

// checkpointEvery is how often the checkpointer runs.
const checkpointEvery = 100 * time.Millisecond

// checkpointer copies the WAL into the database every checkpointEvery without
// blocking the writer (PASSIVE), until the store closes. Only the writer's
// own checkpoint resets the WAL; this one keeps that cheap. With the
// journal jr (nil: none) it also sweeps segments (sweepTick); jr is the one
// the store opened with, passed in so no later change of s.jr races with it.
func (s *SQLite) checkpointer(jr *journal) {
	defer close(s.checkpointDone)
	t := time.NewTicker(checkpointEvery)
	defer t.Stop()
	failing := false
	lastSweep := time.Now().Add(-sweepEvery + time.Second) // the first a second after start
	sweep := sweepState{missing: make(map[uint64]bool)}
	// seenVersion is the data version before the last checkpoint, and
	// done says that checkpoint copied all of the WAL.
	var seenVersion int64
	done := false
	dataVersion, err := s.cdb.Prepare(`PRAGMA data_version`)
	if err != nil {
		dataVersion = nil // no skipping: a checkpoint every tick
	} else {
		defer dataVersion.Close()
	}
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			if jr != nil && time.Since(lastSweep) >= sweepEvery && !s.manualSweep.Load() {
				did, err := s.sweepTick(s.cdb, jr, &sweep)
				if did {
					lastSweep = time.Now()
				}
				if err != nil {
					s.log.Warn("journal: looking for segments no exchange is in", "err", err)
				}
			}
			// Nothing committed since a checkpoint that copied the whole
			// WAL: nothing to do. data_version (of this connection: the
			// pool holds one) changes with every commit of another
			// connection, and costs a fraction of the checkpoint's call.
			var version int64
			verr := errors.New("no statement")
			if dataVersion != nil {
				verr = dataVersion.QueryRow().Scan(&version)
			}
			if verr == nil && done && version == seenVersion {
				continue
			}
			// A failure (a full disk) is logged when it starts and when
			// it ends, not ten times a second.
			var busy, frames, copied int
			err := s.cdb.QueryRow(`PRAGMA wal_checkpoint(PASSIVE)`).Scan(&busy, &frames, &copied)
			done = err == nil && verr == nil && busy == 0 && copied == frames
			seenVersion = version
			switch {
			case err != nil && !failing:
				s.log.Warn("checkpoint failed", "err", err)
			case err == nil && failing:
				s.log.Info("checkpoint works again")
			}
			failing = err != nil
		}
	}
}

func (s *SQLite) closeDBs() error {
	err := errors.Join(s.wdb.Close(), s.unlockJournal())
	if s.cdb != nil {
		err = errors.Join(err, s.cdb.Close())
	}
	if s.rdb != s.wdb {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// SpaceFor reports whether err is a full disk (SQLite's FULL or ENOSPC)
// and the file system holding dir has since got at least need bytes free
// again, so that a store failing with it can tell it would work now
// rather than wait for its next write to find out.
func SpaceFor(dir string, err error, need uint64) bool {
	if !diskFull(err) {
		return false
	}
	free, ok := freeBytes(dir)
	return ok && free >= need
}
