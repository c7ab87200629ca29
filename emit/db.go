package emit

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DBFile is the emitter's database in the data directory.
const DBFile = "emit.db"

// db is the emitter's SQLite database: API-made webhooks, invocations and
// their attempts. One writer goroutine group-commits every write.
type db struct {
	path     string
	wdb, rdb *sql.DB
	queue    chan *dbWrite
	stop     chan struct{}
	done     chan struct{}
	closing  sync.RWMutex
	closed   bool
	once     sync.Once
	log      *slog.Logger
	// failLog holds back repeated write failures (a full disk refuses
	// every retry, four a second): a line each 5 s, with the count.
	failLog *inspect.LogLimit
	// failing is the store failure the latest write met (nil once a
	// commit works again), for Health.
	failing atomic.Pointer[dbFailure]
	fails   atomic.Uint64 // spells of failure begun: the times failing was set

	// Statements of the hot path, prepared once on the writer's
	// connection (a transaction reuses them with tx.Stmt).
	insInvocation, insAttempt, updFinish *sql.Stmt
}

type dbWrite struct {
	op   func(tx *sql.Tx) error
	done chan error
}

const maxWriteBatch = 256

// While writes keep coming, a batch of fewer than lingerBelow writes waits
// up to lingerFor for more.
const (
	lingerBelow = 32
	lingerFor   = 2 * time.Millisecond
)

var dbMigrations = []string{
	`CREATE TABLE webhooks (
		id TEXT PRIMARY KEY,
		def BLOB NOT NULL,
		created_ns INTEGER NOT NULL,
		updated_ns INTEGER NOT NULL
	);
	CREATE TABLE invocations (
		id TEXT PRIMARY KEY,
		webhook_id TEXT NOT NULL,
		event_id TEXT NOT NULL,
		event_type TEXT NOT NULL,
		cause TEXT NOT NULL,
		status TEXT NOT NULL,
		queued INTEGER NOT NULL,
		attempts INTEGER NOT NULL,
		retry_base INTEGER NOT NULL,
		next_ns INTEGER NOT NULL,
		created_ns INTEGER NOT NULL,
		updated_ns INTEGER NOT NULL,
		method TEXT NOT NULL,
		url TEXT NOT NULL,
		endpoint TEXT NOT NULL,
		headers BLOB NOT NULL,
		body BLOB NOT NULL,
		status_code INTEGER NOT NULL,
		error TEXT NOT NULL,
		depth INTEGER NOT NULL
	);
	CREATE INDEX invocations_queue ON invocations(webhook_id, next_ns) WHERE queued = 1;
	CREATE INDEX invocations_waiting ON invocations(webhook_id, status, next_ns) WHERE queued = 1;
	CREATE INDEX invocations_webhook ON invocations(webhook_id, id);
	CREATE TABLE attempts (
		invocation_id TEXT NOT NULL REFERENCES invocations(id) ON DELETE CASCADE,
		n INTEGER NOT NULL,
		time_ns INTEGER NOT NULL,
		duration_ns INTEGER NOT NULL,
		url TEXT NOT NULL,
		req_headers BLOB NOT NULL,
		status_code INTEGER NOT NULL,
		resp_headers BLOB NOT NULL,
		resp_body BLOB NOT NULL,
		resp_size INTEGER NOT NULL,
		resp_truncated INTEGER NOT NULL,
		outcome TEXT NOT NULL,
		error TEXT NOT NULL,
		exchange_id TEXT NOT NULL,
		PRIMARY KEY (invocation_id, n)
	);
	-- invocation_counts keeps the count of invocations by status and
	-- queued, maintained by triggers, so that stats never scan.
	CREATE TABLE invocation_counts (
		status TEXT NOT NULL,
		queued INTEGER NOT NULL,
		n INTEGER NOT NULL,
		PRIMARY KEY (status, queued)
	) WITHOUT ROWID;
	INSERT INTO invocation_counts(status, queued, n)
		SELECT s.value, q.value, 0 FROM json_each('["pending","success","failed","timeout","client_error","server_error","throttled","circuit_broken"]') AS s,
		json_each('[0,1]') AS q;
	CREATE TRIGGER invocations_count_insert AFTER INSERT ON invocations BEGIN
		UPDATE invocation_counts SET n = n + 1 WHERE status = NEW.status AND queued = NEW.queued;
	END;
	CREATE TRIGGER invocations_count_update AFTER UPDATE OF status, queued ON invocations
		WHEN OLD.status != NEW.status OR OLD.queued != NEW.queued BEGIN
		UPDATE invocation_counts SET n = n - 1 WHERE status = OLD.status AND queued = OLD.queued;
		UPDATE invocation_counts SET n = n + 1 WHERE status = NEW.status AND queued = NEW.queued;
	END;
	CREATE TRIGGER invocations_count_delete AFTER DELETE ON invocations BEGIN
		UPDATE invocation_counts SET n = n - 1 WHERE status = OLD.status AND queued = OLD.queued;
	END;`,
	// rate_state keeps each rate-limited webhook's token bucket as of its
	// latest recorded attempt, so that a restart does not refill it.
	`CREATE TABLE rate_state (
		webhook_id TEXT PRIMARY KEY,
		tokens REAL NOT NULL,
		at_ns INTEGER NOT NULL
	) WITHOUT ROWID;`,
	// unsendable marks an invocation whose request could not be made
	// (its payload failed to render): a redelivery has nothing to send.
	`ALTER TABLE invocations ADD COLUMN unsendable INTEGER NOT NULL DEFAULT 0;`,
	// marks keeps named positions; "exchanges" is the last captured or
	// proxied exchange whose events were taken in (see Emitter.CatchUp).
	`CREATE TABLE marks (
		name TEXT PRIMARY KEY,
		value TEXT NOT NULL
	) WITHOUT ROWID;`,
	// breaker_state keeps each webhook whose circuit is open, and until
	// when, so that a restart honours the cool-down (a row: open; none:
	// closed).
	`CREATE TABLE breaker_state (
		webhook_id TEXT PRIMARY KEY,
		until_ns INTEGER NOT NULL
	) WITHOUT ROWID;`,
}

// exchangesMark names the mark of the exchanges taken in.
const exchangesMark = "exchanges"

// setMark writes mark name in tx.
func setMark(tx *sql.Tx, name, value string) error {
	_, err := tx.Exec(`INSERT INTO marks(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value`, name, value)
	return err
}

// mark reads mark name; ok is false when it was never set.
func (d *db) mark(ctx context.Context, name string) (value string, ok bool, err error) {
	err = d.rdb.QueryRowContext(ctx, `SELECT value FROM marks WHERE name = ?`, name).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	}
	return value, err == nil, err
}

// openDB opens (creating when needed) dir/emit.db, or a private in-memory
// database when memory is set.
func openDB(dir string, memory bool, log *slog.Logger) (*db, error) {
	d := &db{queue: make(chan *dbWrite, 1024), stop: make(chan struct{}), done: make(chan struct{}), log: log, failLog: inspect.NewLogLimit(5 * time.Second)}
	var err error
	if memory {
		d.path = ":memory:"
		if d.wdb, err = sql.Open("sqlite", "file:emit?mode=memory&_pragma=foreign_keys(1)"); err != nil {
			return nil, fmt.Errorf("open memory emit database: %w", err)
		}
		d.wdb.SetMaxOpenConns(1)
		d.wdb.SetConnMaxLifetime(0)
		d.wdb.SetConnMaxIdleTime(0)
		d.rdb = d.wdb
	} else {
		if dir == "" {
			return nil, errors.New("emit: a data directory is required unless Memory is set")
		}
		if err := inspect.MakeDataDir(dir); err != nil {
			return nil, err
		}
		d.path = filepath.Join(dir, DBFile)
		if err := inspect.CheckDBFile(d.path); err != nil {
			return nil, err
		}
		if err := prepareDBFile(d.path, log); err != nil {
			return nil, fmt.Errorf("database %s: %w", d.path, err)
		}
		// The WAL is checkpointed at 256 pages (4 MiB) rather than
		// SQLite's 1,000. Page caches are bounded in pages: the writer
		// 64 (1 MiB), readers 16, where SQLite's default of 2,000 KiB
		// would keep 125 pages each; the C allocator gives a 16 KiB page
		// a 64 KiB region, so every cached page costs 64 KiB of RSS and
		// the caches would keep growing with the database for minutes.
		// The writer's working set (the right edges of the tables and
		// indexes it appends to) fits.
		dsn := inspect.FileURI(d.path) + "?_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=wal_autocheckpoint(256)"
		// journal_size_limit: a WAL that grew past the checkpoint's 4 MiB
		// (readers held it) is cut back when it starts over.
		if d.wdb, err = sql.Open("sqlite", dsn+"&_txlock=immediate&_pragma=cache_size(64)&_pragma=journal_size_limit(16777216)"); err != nil {
			return nil, fmt.Errorf("open %s: %w", d.path, err)
		}
		d.wdb.SetMaxOpenConns(1)
		if d.rdb, err = sql.Open("sqlite", dsn+"&_pragma=query_only(1)&_pragma=cache_size(16)"); err != nil {
			d.wdb.Close()
			return nil, fmt.Errorf("open %s: %w", d.path, err)
		}
		d.rdb.SetMaxOpenConns(4)
	}
	if err := d.migrate(); err != nil {
		d.closeDBs()
		return nil, fmt.Errorf("database %s: %w", d.path, err)
	}
	for _, p := range []struct {
		dst *(*sql.Stmt)
		sql string
	}{{&d.insInvocation, insertInvocationSQL}, {&d.insAttempt, insertAttemptSQL}, {&d.updFinish, updateFinishSQL}} {
		if *p.dst, err = d.wdb.Prepare(p.sql); err != nil {
			d.closeDBs()
			return nil, fmt.Errorf("database %s: %w", d.path, err)
		}
	}
	go d.writer()
	return d, nil
}

// dbPageSize is emit.db's page size: the capture store's (inspect), so
// that the two databases' pages are the same size. SQLite (as the driver
// builds it, with SQLITE_ENABLE_MEMORY_MANAGEMENT) keeps every
// connection's pages in one process-wide LRU: a connection at its cache
// size takes the least recently used page of any other connection, and
// when the two differ in size it frees that page and allocates one of
// its own. With 4 KiB emit.db pages beside 16 KiB hooklab.db pages,
// every emitter write under capture load freed and allocated pages of
// both sizes, and the C allocator's heap grew with the churn (RSS +100%
// over a 10-minute soak); with one size a page is reused in place.
const dbPageSize = 16384

// prepareDBFile creates path with mode 0600, before SQLite creates its
// -wal and -shm files, which take the main file's mode, and puts the
// database in WAL mode with dbPageSize pages. An existing database with
// another page size is rebuilt (VACUUM, which needs a rollback journal
// while it runs); what it holds is kept. When the rebuild fails (no space
// for the copy), the database keeps its page size and the error is
// logged.
func prepareDBFile(path string, log *slog.Logger) error {
	if err := inspect.OwnerOnly(path); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", inspect.FileURI(path)+"?_pragma=busy_timeout(10000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// A database with tables but no schema version is someone else's, as
	// the capture store says of hooklab.db: refused before anything here
	// writes to it (its page size, WAL mode, then the migrations). This
	// connection may write: a crash in rollback mode (during the VACUUM
	// below) leaves a journal that only a writer can roll back.
	var v, tables int
	if err := db.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if v == 0 {
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_master`).Scan(&tables); err != nil {
			return err
		}
		if tables > 0 {
			return errors.New("not a hooklab database (it holds other tables); move it away or choose another --data")
		}
	} else {
		// A schema version but not the emitter's tables: another
		// database put in its place, such as the capture store's, which
		// the migrations below would change before failing.
		if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'invocations'`).Scan(&tables); err != nil {
			return err
		}
		if tables == 0 {
			return fmt.Errorf("not a hooklab database: it has schema version %d but no invocations table (is it a copy of hooklab.db?); move it away or choose another --data", v)
		}
	}
	var size int
	var mode string
	if err := db.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
		return err
	}
	if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
		return err
	}
	if size != dbPageSize {
		// The page size of a database in WAL mode cannot change. The
		// rebuild is best effort: on a full disk or a busy file the
		// database keeps its page size and the emitter starts anyway.
		left := !strings.EqualFold(mode, "wal")
		if !left {
			var m string
			if err := db.QueryRow(`PRAGMA journal_mode=DELETE`).Scan(&m); err != nil {
				log.Error("emit database: keeping its page size", "path", path, "page_size", size, "err", err)
			} else {
				left, mode = true, m
			}
		}
		if left {
			if _, err := db.Exec(fmt.Sprintf(`PRAGMA page_size=%d; VACUUM`, dbPageSize)); err != nil {
				log.Error("emit database: keeping its page size", "path", path, "page_size", size, "err", err)
			}
		}
	}
	if !strings.EqualFold(mode, "wal") {
		// Opening the database for use switches WAL on again if this
		// fails (a full disk), so only say so here.
		if err := db.QueryRow(`PRAGMA journal_mode=WAL`).Scan(&mode); err != nil {
			log.Warn("emit database: WAL mode", "path", path, "err", err)
		}
	}
	return db.Close()
}

func (d *db) migrate() error {
	var v int
	if err := d.wdb.QueryRow(`PRAGMA user_version`).Scan(&v); err != nil {
		return err
	}
	if v > len(dbMigrations) {
		return fmt.Errorf("schema version %d is newer than this hooklab knows (%d): a newer hooklab wrote it; use that one (this one cannot go back to it)", v, len(dbMigrations))
	}
	for i := v; i < len(dbMigrations); i++ {
		tx, err := d.wdb.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(dbMigrations[i]); err != nil {
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
	return nil
}

// write runs op in the writer, in a transaction shared with other writes,
// and returns once it is committed. It waits for the commit even when ctx
// ends after the write was queued.
func (d *db) write(ctx context.Context, op func(tx *sql.Tx) error) error {
	p := &dbWrite{op: op, done: make(chan error, 1)}
	d.closing.RLock()
	if d.closed {
		d.closing.RUnlock()
		return inspect.ErrClosed
	}
	select {
	case d.queue <- p:
		d.closing.RUnlock()
	case <-ctx.Done():
		d.closing.RUnlock()
		return ctx.Err()
	}
	return <-p.done
}

func (d *db) writer() {
	defer close(d.done)
	batch := make([]*dbWrite, 0, maxWriteBatch)
	var lastCommit time.Time
	for {
		batch = batch[:0]
		select {
		case p := <-d.queue:
			batch = append(batch, p)
		case <-d.stop:
			for {
				select {
				case p := <-d.queue:
					batch = append(batch, p)
					if len(batch) == maxWriteBatch {
						d.commit(batch)
						batch = batch[:0]
					}
				default:
					if len(batch) > 0 {
						d.commit(batch)
					}
					return
				}
			}
		}
	fill:
		for len(batch) < maxWriteBatch {
			select {
			case p := <-d.queue:
				batch = append(batch, p)
			default:
				break fill
			}
		}
		if len(batch) < lingerBelow && time.Since(lastCommit) < lingerFor*5 {
			// Under load writes come in a trickle: wait a moment for
			// more, so that one commit carries many. After a quiet
			// spell a write is committed at once.
			linger := time.NewTimer(lingerFor)
		more:
			for len(batch) < maxWriteBatch {
				select {
				case p := <-d.queue:
					batch = append(batch, p)
				case <-linger.C:
					break more
				}
			}
			linger.Stop()
		}
		d.commit(batch)
		lastCommit = time.Now()
	}
}

// commit writes batch in one transaction; when that fails, each write is
// tried alone so that one bad write fails only its own caller.
func (d *db) commit(batch []*dbWrite) {
	err := d.tx(func(tx *sql.Tx) error {
		for _, p := range batch {
			if err := p.op(tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		d.failing.Store(nil)
	}
	if err == nil || len(batch) == 1 {
		if err != nil {
			err = d.writeFailed(err)
		}
		for _, p := range batch {
			p.done <- err
		}
		return
	}
	for _, p := range batch {
		err := d.tx(p.op)
		if err != nil {
			err = d.writeFailed(err)
		} else {
			d.failing.Store(nil)
		}
		p.done <- err
	}
}

// dbFailure is a failing store: the error and since when.
type dbFailure struct {
	err   error
	cause error // as SQLite returned it
	since time.Time
}

// writeFailed logs a refused write (sparingly) and returns it, naming the
// file: as inspect.ErrStoreFull when the store refused it (a full disk, an
// I/O error), which Health then reports and callers wait out; as itself
// when the write was at fault (a constraint), which waiting cannot fix.
func (d *db) writeFailed(err error) error {
	d.failLog.Log(d.log, slog.LevelError, "emit database write failed", "file", d.path, "err", err)
	if inspect.IsRowFault(err) {
		return fmt.Errorf("%s: %w", d.name(), err)
	}
	if d.failing.Load() == nil {
		d.failing.Store(&dbFailure{err: fmt.Errorf("%s: %v", d.name(), err), cause: err, since: time.Now()})
		d.fails.Add(1)
	}
	return fmt.Errorf("%w: %s: %v", inspect.ErrStoreFull, d.name(), err)
}

// health returns the failure the store's writes meet, and since when, or
// nil once a commit works again or, for a full disk, once space for a
// commit has come back (so /healthz recovers when space is freed, not
// only at the next write, which may be long in coming).
func (d *db) health() (error, time.Time) {
	f := d.failing.Load()
	if f == nil {
		return nil, time.Time{}
	}
	if d.path != ":memory:" && inspect.SpaceFor(d.fileDir(), f.cause, spaceToCommit) {
		d.failing.CompareAndSwap(f, nil)
		return nil, time.Time{}
	}
	return f.err, f.since
}

// fileDir is the directory emit.db is in, after links (SQLite follows a
// linked emit.db, and puts its WAL beside the file linked to).
func (d *db) fileDir() string {
	if p, err := filepath.EvalSymlinks(d.path); err == nil {
		return filepath.Dir(p)
	}
	return filepath.Dir(d.path)
}

// spaceToCommit is the free room taken to mean a commit would work again:
// a typical batch writes a few hundred KiB to the WAL. A larger one that
// still fails sets the failure again.
const spaceToCommit = 1 << 20

// name is the database's file, or "emit.db (in memory)".
func (d *db) name() string {
	if d.path == ":memory:" {
		return DBFile + " (in memory)"
	}
	return d.path
}

func (d *db) tx(op func(tx *sql.Tx) error) error {
	tx, err := d.wdb.Begin()
	if err != nil {
		return err
	}
	if err := op(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// close flushes queued writes and closes the database.
func (d *db) close() error {
	var err error
	d.once.Do(func() {
		d.closing.Lock()
		d.closed = true
		d.closing.Unlock()
		close(d.stop)
		<-d.done
		err = d.closeDBs()
	})
	return err
}

func (d *db) closeDBs() error {
	var err error
	for _, st := range []*sql.Stmt{d.insInvocation, d.insAttempt, d.updFinish} {
		if st != nil {
			st.Close()
		}
	}
	if d.rdb != nil && d.rdb != d.wdb {
		err = d.rdb.Close()
	}
	if d.wdb != nil {
		err = errors.Join(err, d.wdb.Close())
	}
	return err
}

// --- webhooks ---

func (d *db) loadWebhooks(ctx context.Context) ([]*Webhook, error) {
	rows, err := d.rdb.QueryContext(ctx, `SELECT def FROM webhooks ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Webhook
	for rows.Next() {
		var b []byte
		if err := rows.Scan(&b); err != nil {
			return nil, err
		}
		w := new(Webhook)
		if err := json.Unmarshal(b, w); err != nil {
			return nil, fmt.Errorf("decode stored webhook: %w", err)
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

func (d *db) putWebhook(ctx context.Context, w *Webhook) error {
	b, err := json.Marshal(w)
	if err != nil {
		return err
	}
	return d.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO webhooks(id, def, created_ns, updated_ns) VALUES (?,?,?,?)
			ON CONFLICT(id) DO UPDATE SET def = excluded.def, updated_ns = excluded.updated_ns`,
			w.ID, b, w.CreatedAt.UnixNano(), w.UpdatedAt.UnixNano())
		return err
	})
}

// deleteWebhook removes the webhook and fails its queued invocations; it
// returns how many it failed.
func (d *db) deleteWebhook(ctx context.Context, id string, now time.Time) (int64, error) {
	var failed int64
	err := d.write(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`DELETE FROM webhooks WHERE id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM rate_state WHERE webhook_id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.Exec(`DELETE FROM breaker_state WHERE webhook_id = ?`, id); err != nil {
			return err
		}
		var err error
		failed, err = failQueued(tx, id, "the webhook was deleted", now)
		return err
	})
	return failed, err
}

// failQueued fails the queued invocations of webhook id, saying why, and
// returns how many.
func failQueued(tx *sql.Tx, id, why string, now time.Time) (int64, error) {
	res, err := tx.Exec(`UPDATE invocations SET queued = 0, status = ?, error = ?, updated_ns = ?
		WHERE webhook_id = ? AND queued = 1`, InvocationFailed, why, now.UnixNano(), id)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// unsendable reports whether invocation id failed before it could be sent
// (see Invocation.unsendable).
func (d *db) unsendable(ctx context.Context, id string) bool {
	var u int
	err := d.rdb.QueryRowContext(ctx, `SELECT unsendable FROM invocations WHERE id = ?`, id).Scan(&u)
	return err == nil && u == 1
}

// failOrphans fails the queued invocations of webhook id, removed from the
// config, and returns how many.
func (d *db) failOrphans(ctx context.Context, id string, now time.Time) (int64, error) {
	var n int64
	err := d.write(ctx, func(tx *sql.Tx) error {
		var err error
		n, err = failQueued(tx, id, "webhook "+id+" is no longer defined (removed from the config)", now)
		return err
	})
	return n, err
}

// --- rate limits ---

// rateState is a webhook's token bucket at a time: what a restart starts
// from.
type rateState struct {
	tokens float64
	at     time.Time
}

// saveRate returns the write of w's bucket state; an older state never
// replaces a newer one (attempts finish out of order).
func saveRate(webhook string, st rateState) func(tx *sql.Tx) error {
	return func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT INTO rate_state(webhook_id, tokens, at_ns) VALUES (?, ?, ?)
			ON CONFLICT(webhook_id) DO UPDATE SET tokens = excluded.tokens, at_ns = excluded.at_ns
			WHERE excluded.at_ns >= rate_state.at_ns`, webhook, st.tokens, st.at.UnixNano())
		return err
	}
}

// replaceRate returns the write of w's bucket state, whatever was saved
// before.
func replaceRate(webhook string, st rateState) func(tx *sql.Tx) error {
	return func(tx *sql.Tx) error {
		_, err := tx.Exec(`INSERT OR REPLACE INTO rate_state(webhook_id, tokens, at_ns) VALUES (?, ?, ?)`, webhook, st.tokens, st.at.UnixNano())
		return err
	}
}

// saveBreaker returns the write of webhook's circuit: open until until, or
// closed (the zero time).
func saveBreaker(webhook string, until time.Time) func(tx *sql.Tx) error {
	return func(tx *sql.Tx) error {
		if until.IsZero() {
			_, err := tx.Exec(`DELETE FROM breaker_state WHERE webhook_id = ?`, webhook)
			return err
		}
		_, err := tx.Exec(`INSERT OR REPLACE INTO breaker_state(webhook_id, until_ns) VALUES (?, ?)`, webhook, until.UnixNano())
		return err
	}
}

// loadBreaker returns until when webhook's circuit was open, if it was.
func (d *db) loadBreaker(ctx context.Context, webhook string) (time.Time, bool, error) {
	var until int64
	err := d.rdb.QueryRowContext(ctx, `SELECT until_ns FROM breaker_state WHERE webhook_id = ?`, webhook).Scan(&until)
	if errors.Is(err, sql.ErrNoRows) {
		return time.Time{}, false, nil
	}
	if err != nil {
		return time.Time{}, false, err
	}
	return time.Unix(0, until), true, nil
}

// loadRate returns the last saved bucket state of webhook, if any.
func (d *db) loadRate(ctx context.Context, webhook string) (rateState, bool, error) {
	var tokens float64
	var at int64
	err := d.rdb.QueryRowContext(ctx, `SELECT tokens, at_ns FROM rate_state WHERE webhook_id = ?`, webhook).Scan(&tokens, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return rateState{}, false, nil
	}
	if err != nil {
		return rateState{}, false, err
	}
	return rateState{tokens: tokens, at: time.Unix(0, at)}, true, nil
}

// --- invocations ---

const invColumns = `id, webhook_id, event_id, event_type, cause, status, queued, attempts, retry_base, next_ns,
	created_ns, updated_ns, method, url, endpoint, headers, body, status_code, error, depth`

// The statements of the hot path say OR FAIL: with the default (ABORT)
// every one, since the count triggers make it write two tables, would
// save each page it changes to a statement journal so that it could be
// undone alone — inside a group commit, and spilled to a temporary file
// past 64 KiB (four of our pages), two write syscalls per page per
// statement, a fifth of the emitter's CPU in "bench emit". A failed write
// rolls back its whole group commit anyway (see commit), and each of these
// checks its constraints before it writes. (Rarer statements that change
// many rows, such as retention's, keep their statement journals on disk.)
const insertInvocationSQL = `INSERT OR FAIL INTO invocations(` + invColumns + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

func (d *db) insertInvocation(tx *sql.Tx, inv *Invocation) error {
	hdr := appendHeadersJSON(nil, inv.request.Headers)
	_, err := tx.Stmt(d.insInvocation).Exec(
		inv.ID, inv.WebhookID, inv.EventID, inv.EventType, inv.Cause, inv.Status, boolInt(inv.queued), inv.Attempts,
		inv.retryBase, inv.nextAt.UnixNano(), inv.CreatedAt.UnixNano(), inv.UpdatedAt.UnixNano(),
		inv.request.Method, inv.request.URL, inv.request.Endpoint, hdr, nonNil(inv.request.Body), inv.StatusCode, inv.Error, inv.depth)
	if err == nil && inv.unsendable { // rare: not worth a column in the hot statement
		_, err = tx.Exec(`UPDATE invocations SET unsendable = 1 WHERE id = ?`, inv.ID)
	}
	return err
}

type scanner interface{ Scan(...any) error }

func scanInvocation(s scanner) (*Invocation, error) {
	var inv Invocation
	var queued int
	var next, created, updated int64
	var hdr []byte
	err := s.Scan(&inv.ID, &inv.WebhookID, &inv.EventID, &inv.EventType, &inv.Cause, &inv.Status, &queued, &inv.Attempts,
		&inv.retryBase, &next, &created, &updated, &inv.request.Method, &inv.request.URL, &inv.request.Endpoint, &hdr, &inv.request.Body,
		&inv.StatusCode, &inv.Error, &inv.depth)
	if err != nil {
		return nil, err
	}
	inv.queued = queued == 1
	inv.nextAt = time.Unix(0, next).UTC()
	inv.CreatedAt = time.Unix(0, created).UTC()
	inv.UpdatedAt = time.Unix(0, updated).UTC()
	inv.request.Headers = parseHeadersJSON(hdr)
	if inv.queued {
		t := inv.nextAt
		inv.NextAt = &t
	}
	return &inv, nil
}

// due returns up to limit queued invocations of webhook due at now, oldest
// due first, leaving out those skip holds.
func (d *db) due(ctx context.Context, webhook string, now time.Time, limit int, skip func(id string) bool) ([]*Invocation, error) {
	rows, err := d.rdb.QueryContext(ctx, `SELECT `+invColumns+` FROM invocations
		WHERE webhook_id = ? AND queued = 1 AND next_ns <= ? ORDER BY next_ns LIMIT ?`, webhook, now.UnixNano(), limit)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Invocation
	for rows.Next() {
		inv, err := scanInvocation(rows)
		if err != nil {
			return nil, err
		}
		if skip == nil || !skip(inv.ID) {
			out = append(out, inv)
		}
	}
	return out, rows.Err()
}

// nextDue returns when the first queued invocation of webhook due after now
// is due.
func (d *db) nextDue(ctx context.Context, webhook string, now time.Time) (time.Time, bool, error) {
	var next sql.NullInt64
	err := d.rdb.QueryRowContext(ctx, `SELECT min(next_ns) FROM invocations WHERE webhook_id = ? AND queued = 1 AND next_ns > ?`,
		webhook, now.UnixNano()).Scan(&next)
	if err != nil || !next.Valid {
		return time.Time{}, false, err
	}
	return time.Unix(0, next.Int64), true, nil
}

// rebaseFuture moves queued invocations (of webhook; "" for every one)
// last written after now (the clock was set back since) to wait what they
// had left to wait from now: until the clock caught up, a retry 2 s away
// waited as long as the clock went back. It returns how many it moved.
func (d *db) rebaseFuture(ctx context.Context, webhook string, now time.Time) (int64, error) {
	var n int64
	err := d.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.Exec(rebaseSQL(webhook), now.UnixNano(), webhook)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// rebaseSQL is rebaseFuture's statement (?1 now, ?2 webhook). Only those
// due after now move (one due already stays due), so that one webhook's
// are found through invocations_queue, from now on: a lane seeing the
// clock set back read every webhook's queue (a condition "every webhook,
// or this one" uses no index on webhook_id).
func rebaseSQL(webhook string) string {
	const set = `UPDATE invocations SET next_ns = ?1 + max(next_ns - updated_ns, 0), updated_ns = ?1
		WHERE queued = 1 AND next_ns > ?1 AND updated_ns > ?1`
	if webhook == "" {
		return set + ` AND ?2 = ''`
	}
	return set + ` AND webhook_id = ?2`
}

// markWaiting sets the status of webhook's due invocations to status
// (throttled or circuit_broken) while they wait. It visits only those of
// other statuses, through the invocations_waiting index.
func (d *db) markWaiting(ctx context.Context, webhook, status string, now time.Time) error {
	return d.write(ctx, func(tx *sql.Tx) error {
		for _, from := range []string{InvocationPending, InvocationThrottled, InvocationCircuitBroken} {
			if from == status {
				continue
			}
			if _, err := tx.Exec(`UPDATE invocations SET status = ?, updated_ns = ? WHERE webhook_id = ? AND queued = 1 AND status = ? AND next_ns <= ?`,
				status, now.UnixNano(), webhook, from, now.UnixNano()); err != nil {
				return err
			}
		}
		return nil
	})
}

func (d *db) getInvocation(ctx context.Context, id string) (*Invocation, error) {
	asked := id // quoted as given when there is none
	id = strings.ToUpper(id)
	// One read transaction: the invocation and its attempts as of one
	// commit (an attempt and the count it adds are written together).
	tx, err := d.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, err
	}
	defer tx.Rollback()
	inv, err := scanInvocation(tx.QueryRowContext(ctx, `SELECT `+invColumns+` FROM invocations WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("invocation %s: %w", asked, inspect.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT n, time_ns, duration_ns, url, req_headers, status_code, resp_headers, resp_body,
		resp_size, resp_truncated, outcome, error, exchange_id FROM attempts WHERE invocation_id = ? ORDER BY n`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	inv.History = []Attempt{}
	for rows.Next() {
		var a Attempt
		var t, dur int64
		var reqH, respH, body []byte
		var trunc int
		var size int64
		var attemptURL string
		if err := rows.Scan(&a.N, &t, &dur, &attemptURL, &reqH, &a.StatusCode, &respH, &body, &size, &trunc, &a.Outcome, &a.Error, &a.ExchangeID); err != nil {
			return nil, err
		}
		a.Time = time.Unix(0, t).UTC()
		a.Duration = time.Duration(dur)
		a.DurationMS = float64(a.Duration.Microseconds()) / 1000
		_ = json.Unmarshal(reqH, &a.Request.Headers)
		a.Request.Method, a.Request.URL = inv.request.Method, attemptURL
		a.Request.Body = string(inv.request.Body)
		if a.StatusCode != 0 || len(respH) > 2 {
			var h inspect.Headers
			_ = json.Unmarshal(respH, &h)
			a.Response = &SentResponse{Status: a.StatusCode, Headers: h, Body: string(body), Truncated: trunc == 1, Size: size}
		}
		inv.History = append(inv.History, a)
	}
	req := inv.request.public()
	inv.Request = &req
	return inv, rows.Err()
}

// InvocationQuery filters the activity log. Zero fields match everything.
type InvocationQuery struct {
	WebhookID string
	Status    string
	From, To  time.Time
	// Cursor continues a listing: only invocations older than it.
	Cursor string
	// Limit caps the page: 0 means 50, at most 1000.
	Limit int
}

// list returns invocations newest first and the cursor of the next page.
func (d *db) list(ctx context.Context, q InvocationQuery) ([]*Invocation, string, error) {
	var conds []string
	var args []any
	if q.WebhookID != "" {
		conds, args = append(conds, "webhook_id = ?"), append(args, q.WebhookID)
	}
	if q.Status != "" {
		conds, args = append(conds, "status = ?"), append(args, q.Status)
	}
	if !q.From.IsZero() {
		conds, args = append(conds, "created_ns >= ?"), append(args, inspect.Nanos(q.From))
	}
	if !q.To.IsZero() {
		conds, args = append(conds, "created_ns <= ?"), append(args, inspect.Nanos(q.To))
	}
	if q.Cursor != "" {
		conds, args = append(conds, "id < ?"), append(args, q.Cursor)
	}
	lim := q.Limit
	if lim <= 0 {
		lim = 50
	}
	lim = min(lim, 1000)
	where := ""
	if len(conds) > 0 {
		where = "WHERE " + strings.Join(conds, " AND ")
	}
	rows, err := d.rdb.QueryContext(ctx, `SELECT `+invColumns+` FROM invocations `+where+` ORDER BY id DESC LIMIT ?`, append(args, lim+1)...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	out := []*Invocation{}
	for rows.Next() {
		inv, err := scanInvocation(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, inv)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	next := ""
	if len(out) > lim {
		out = out[:lim]
		next = out[lim-1].ID
	}
	return out, next, nil
}

const (
	insertAttemptSQL = `INSERT OR FAIL INTO attempts(invocation_id, n, time_ns, duration_ns, url, req_headers, status_code,
		resp_headers, resp_body, resp_size, resp_truncated, outcome, error, exchange_id) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT(invocation_id, n) DO UPDATE SET time_ns = excluded.time_ns, duration_ns = excluded.duration_ns, url = excluded.url,
		req_headers = excluded.req_headers, status_code = excluded.status_code, resp_headers = excluded.resp_headers,
		resp_body = excluded.resp_body, resp_size = excluded.resp_size, resp_truncated = excluded.resp_truncated,
		outcome = excluded.outcome, error = excluded.error, exchange_id = excluded.exchange_id`
	updateFinishSQL = `UPDATE OR FAIL invocations SET status = ?, queued = ?, attempts = ?, next_ns = ?, updated_ns = ?, status_code = ?, error = ?
		WHERE id = ? AND queued = 1`
)

// prepareFinish returns the write that records one attempt and the
// invocation's new state, in one transaction. It holds copies of what it
// writes, so inv may change afterwards. The state is written only while
// the invocation is queued (deleting its webhook fails it meanwhile);
// applied tells, once the write is committed, whether it was; when it was
// not, delivered tells whether the attempt's success made the failed
// invocation a success.
func (d *db) prepareFinish(inv *Invocation, a *Attempt, reqURL string, reqHeaders inspect.Headers, applied, delivered *bool) func(tx *sql.Tx) error {
	reqH := appendHeadersJSON(nil, reqHeaders)
	var respH []byte = []byte("[]")
	var body []byte = []byte{}
	var size int64
	trunc := 0
	if a.Response != nil {
		respH = appendHeadersJSON(nil, a.Response.Headers)
		body = []byte(a.Response.Body)
		size = a.Response.Size
		trunc = boolInt(a.Response.Truncated)
	}
	id, n, t, dur, code, outcome, errMsg, exID := inv.ID, a.N, a.Time.UnixNano(), int64(a.Duration), a.StatusCode, a.Outcome, a.Error, a.ExchangeID
	status, queued, attempts, next, updated, invCode, invErr := inv.Status, boolInt(inv.queued), inv.Attempts, inv.nextAt.UnixNano(), inv.UpdatedAt.UnixNano(), inv.StatusCode, inv.Error
	return func(tx *sql.Tx) error {
		if _, err := tx.Stmt(d.insAttempt).Exec(
			id, n, t, dur, reqURL, reqH, code, respH, body, size, trunc, outcome, errMsg, exID); err != nil {
			return err
		}
		res, err := tx.Stmt(d.updFinish).Exec(status, queued, attempts, next, updated, invCode, invErr, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		*applied = n == 1
		if *applied {
			return nil
		}
		// No longer queued: its webhook was deleted during the attempt,
		// which failed it. It counts the attempt it logs; and when the
		// attempt delivered it, it is a success after all.
		if outcome != InvocationSuccess {
			_, err = tx.Exec(`UPDATE invocations SET attempts = max(attempts, ?) WHERE id = ?`, attempts, id)
			return err
		}
		res, err = tx.Exec(`UPDATE invocations SET attempts = max(attempts, ?), status = ?, status_code = ?, error = '', updated_ns = ?
			WHERE id = ? AND queued = 0 AND status = ?`, attempts, InvocationSuccess, code, updated, id, InvocationFailed)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		*delivered = n == 1
		return err
	}
}

// requeue queues finished invocations again, now, with a fresh retry
// budget. It returns the ids it queued, with their webhooks, and how many
// of each webhook's final statuses it took back.
func (d *db) requeue(ctx context.Context, cond string, args []any, now time.Time) (map[string]string, map[[2]string]int64, error) {
	out := map[string]string{}
	was := map[[2]string]int64{}
	err := d.write(ctx, func(tx *sql.Tx) error {
		clear(out)
		clear(was)
		rows, err := tx.Query(`SELECT webhook_id, status, count(*) FROM invocations WHERE queued = 0 AND unsendable = 0 AND (`+cond+`) GROUP BY 1, 2`, args...)
		if err != nil {
			return err
		}
		if err := scanCounts(rows, was); err != nil {
			return err
		}
		rows, err = tx.Query(`UPDATE invocations SET queued = 1, status = ?, retry_base = attempts, next_ns = ?, updated_ns = ?, error = ''
			WHERE queued = 0 AND unsendable = 0 AND (`+cond+`) RETURNING id, webhook_id`, append([]any{InvocationPending, now.UnixNano(), now.UnixNano()}, args...)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id, wh string
			if err := rows.Scan(&id, &wh); err != nil {
				return err
			}
			out[id] = wh
		}
		return rows.Err()
	})
	return out, was, err
}

// finalCounts counts finished invocations by webhook and status.
func (d *db) finalCounts(ctx context.Context) (map[[2]string]int64, error) {
	rows, err := d.rdb.QueryContext(ctx, `SELECT webhook_id, status, count(*) FROM invocations WHERE queued = 0 GROUP BY 1, 2`)
	if err != nil {
		return nil, err
	}
	out := map[[2]string]int64{}
	return out, scanCounts(rows, out)
}

// scanCounts reads rows of (webhook_id, status, count) into into, and
// closes rows.
func scanCounts(rows *sql.Rows, into map[[2]string]int64) error {
	defer rows.Close()
	for rows.Next() {
		var wh, st string
		var n int64
		if err := rows.Scan(&wh, &st, &n); err != nil {
			return err
		}
		into[[2]string{wh, st}] = n
	}
	return rows.Err()
}

// stats counts invocations by status, and those queued.
func (d *db) stats(ctx context.Context) (map[string]int64, int64, error) {
	rows, err := d.rdb.QueryContext(ctx, `SELECT status, queued, n FROM invocation_counts`)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	// Every status is listed, zeros too, so that a client that decodes
	// each answer into the same map sees none left over from an earlier
	// one.
	by := make(map[string]int64, len(invocationStatuses))
	for _, s := range invocationStatuses {
		by[s] = 0
	}
	var queued int64
	for rows.Next() {
		var s string
		var q int
		var n int64
		if err := rows.Scan(&s, &q, &n); err != nil {
			return nil, 0, err
		}
		by[s] += n
		if q == 1 {
			queued += n
		}
	}
	return by, queued, rows.Err()
}

// retain deletes finished invocations last changed before cutoff and
// returns how many of each webhook and status it deleted.
func (d *db) retain(ctx context.Context, cutoff time.Time) (map[[2]string]int64, error) {
	return d.deleteFinished(ctx, `DELETE FROM invocations WHERE queued = 0 AND updated_ns < ? RETURNING webhook_id, status`, cutoff.UnixNano())
}

// retainOldest deletes the n finished invocations updated longest ago.
func (d *db) retainOldest(ctx context.Context, n int64) (map[[2]string]int64, error) {
	return d.deleteFinished(ctx, `DELETE FROM invocations WHERE rowid IN (SELECT rowid FROM invocations WHERE queued = 0 ORDER BY updated_ns LIMIT ?) RETURNING webhook_id, status`, n)
}

// deleteFinished runs del (a DELETE ... RETURNING webhook_id, status) and
// counts what it deleted by (webhook, status).
func (d *db) deleteFinished(ctx context.Context, del string, arg any) (map[[2]string]int64, error) {
	gone := map[[2]string]int64{}
	err := d.write(ctx, func(tx *sql.Tx) error {
		clear(gone)
		rows, err := tx.Query(del, arg)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var wh, st string
			if err := rows.Scan(&wh, &st); err != nil {
				return err
			}
			gone[[2]string{wh, st}]++
		}
		return rows.Err()
	})
	return gone, err
}

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

// appendHeadersJSON appends h as inspect.Headers encode themselves,
// [["Name","value"],...], without a trip through encoding/json.
func appendHeadersJSON(buf []byte, h inspect.Headers) []byte {
	n := 2
	for _, x := range h {
		n += len(x.Name) + len(x.Value) + 8
	}
	buf = slices.Grow(buf, n)
	buf = append(buf, '[')
	for i, x := range h {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '[', '"')
		buf = rules.AppendJSONStringContent(buf, x.Name)
		buf = append(buf, '"', ',', '"')
		buf = rules.AppendJSONStringContent(buf, x.Value)
		buf = append(buf, '"', ']')
	}
	return append(buf, ']')
}

// parseHeadersJSON decodes what appendHeadersJSON (or encoding/json)
// made. Names and values without escapes are read directly; anything
// else goes through encoding/json. Undecodable input gives no headers.
func parseHeadersJSON(b []byte) inspect.Headers {
	if h, ok := parsePlainHeadersJSON(b); ok {
		return h
	}
	var h inspect.Headers
	_ = json.Unmarshal(b, &h)
	return h
}

func parsePlainHeadersJSON(b []byte) (inspect.Headers, bool) {
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' || bytes.IndexByte(b, '\\') >= 0 || !utf8.Valid(b) {
		return nil, false
	}
	b = b[1 : len(b)-1]
	n := bytes.Count(b, []byte(`],[`)) + 1
	if len(b) == 0 {
		return inspect.Headers{}, true
	}
	out := make(inspect.Headers, 0, n)
	// str reads a string literal at the start of b.
	str := func(b []byte) (string, []byte, bool) {
		if len(b) == 0 || b[0] != '"' {
			return "", nil, false
		}
		end := bytes.IndexByte(b[1:], '"')
		if end < 0 {
			return "", nil, false
		}
		for _, c := range b[1 : 1+end] {
			if c < 0x20 {
				return "", nil, false
			}
		}
		return string(b[1 : 1+end]), b[2+end:], true
	}
	for len(b) > 0 {
		if b[0] != '[' {
			return nil, false
		}
		name, rest, ok := str(b[1:])
		if !ok || len(rest) == 0 || rest[0] != ',' {
			return nil, false
		}
		value, rest, ok := str(rest[1:])
		if !ok || len(rest) == 0 || rest[0] != ']' {
			return nil, false
		}
		out = append(out, inspect.Header{Name: name, Value: value})
		b = rest[1:]
		if len(b) > 0 {
			if b[0] != ',' {
				return nil, false
			}
			b = b[1:]
			if len(b) == 0 {
				return nil, false
			}
		}
	}
	return out, true
}
