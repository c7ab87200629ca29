package emit

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// TestDBFileModes: emit.db and the -wal and -shm files SQLite makes
// beside it are 0600 while the database is open, for a new database and
// for one whose files an older hooklab left 0644.
func TestDBFileModes(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		old  bool
	}{{"new", false}, {"left 0644", true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tc.old {
				writeOldDB(t, dir, false)
			}
			d := openTestDB(t, dir)
			putTestWebhook(t, d, "w1")
			for _, name := range []string{DBFile, DBFile + "-wal", DBFile + "-shm"} {
				fi, err := os.Stat(filepath.Join(dir, name))
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				if got := fi.Mode().Perm(); got != 0o600 {
					t.Errorf("%s: mode %v; want 0600", name, got)
				}
			}
		})
	}
}

// TestDBPageSize: emit.db has the capture store's page size (see
// dbPageSize) and page caches bounded in pages, a database made with 4 KiB pages is rebuilt with it and
// keeps what it held, and it stays in WAL mode.
func TestDBPageSize(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		old, open bool // an older database; left with its WAL not checkpointed
	}{{"new", false, false}, {"4 KiB pages", true, false}, {"4 KiB pages, WAL not checkpointed", true, true}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			if tc.old {
				writeOldDB(t, dir, tc.open)
			}
			d := openTestDB(t, dir)
			var size int
			var mode string
			if err := d.wdb.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil {
				t.Fatal(err)
			}
			if err := d.wdb.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil {
				t.Fatal(err)
			}
			if size != dbPageSize || mode != "wal" {
				t.Errorf("page size %d, journal mode %s; want %d, wal", size, mode, dbPageSize)
			}
			var limit int64
			if err := d.wdb.QueryRow(`PRAGMA journal_size_limit`).Scan(&limit); err != nil {
				t.Fatal(err)
			}
			if limit != 16<<20 {
				t.Errorf("journal_size_limit %d, want %d (the WAL is cut back when it starts over)", limit, 16<<20)
			}
			var wcache, rcache int
			if err := d.wdb.QueryRow(`PRAGMA cache_size`).Scan(&wcache); err != nil {
				t.Fatal(err)
			}
			if err := d.rdb.QueryRow(`PRAGMA cache_size`).Scan(&rcache); err != nil {
				t.Fatal(err)
			}
			if wcache != 64 || rcache != 16 {
				t.Errorf("cache sizes: writer %d, reader %d pages; want 64, 16", wcache, rcache)
			}
			if tc.old {
				ws, err := d.loadWebhooks(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if len(ws) != 1 || ws[0].ID != "old" {
					t.Errorf("webhooks after the rebuild: %v; want the one stored before", ws)
				}
			}
			putTestWebhook(t, d, "w1")
		})
	}
}

func openTestDB(t *testing.T, dir string) *db {
	t.Helper()
	d, err := openDB(dir, false, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.close() })
	return d
}

func putTestWebhook(t *testing.T, d *db, id string) {
	t.Helper()
	now := time.Now()
	if err := d.putWebhook(context.Background(), &Webhook{ID: id, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
}

// writeOldDB makes emit.db in dir as hooklab made it before dbPageSize:
// 4 KiB pages, WAL mode, files 0644, one webhook stored. With open, the
// database is left as a crash leaves it: its last write only in the WAL.
func writeOldDB(t *testing.T, dir string, open bool) {
	t.Helper()
	path := filepath.Join(dir, DBFile)
	sdb, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	sdb.SetMaxOpenConns(1)
	old := &db{wdb: sdb}
	if err := old.migrate(); err != nil {
		t.Fatal(err)
	}
	if _, err := sdb.Exec(`PRAGMA wal_autocheckpoint=0`); err != nil {
		t.Fatal(err)
	}
	if _, err := sdb.Exec(`INSERT INTO webhooks(id, def, created_ns, updated_ns) VALUES ('old', '{"id":"old"}', 1, 1)`); err != nil {
		t.Fatal(err)
	}
	var size int
	if err := sdb.QueryRow(`PRAGMA page_size`).Scan(&size); err != nil || size != 4096 {
		t.Fatalf("old database: page size %d, %v; want 4096", size, err)
	}
	for _, name := range []string{DBFile, DBFile + "-wal", DBFile + "-shm"} {
		if err := os.Chmod(filepath.Join(dir, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if open {
		// Copy the files while the connection is open, so that the copy
		// has the WAL a crash would leave.
		for _, name := range []string{DBFile, DBFile + "-wal"} {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+".copy"), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		sdb.Close()
		for _, name := range []string{DBFile, DBFile + "-wal"} {
			if err := os.Rename(filepath.Join(dir, name+".copy"), filepath.Join(dir, name)); err != nil {
				t.Fatal(err)
			}
		}
		os.Remove(filepath.Join(dir, DBFile+"-shm"))
		return
	}
	if err := sdb.Close(); err != nil {
		t.Fatal(err)
	}
	// Closing checkpointed and removed the WAL; make them again, 0644,
	// as a crash leaves them.
	for _, name := range []string{DBFile + "-wal", DBFile + "-shm"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestHeadersJSON: the headers kept with invocations and attempts read
// back as written, and read what encoding/json wrote before.
func TestHeadersJSON(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		h    inspect.Headers
	}{
		{"none", inspect.Headers{}},
		{"plain", inspect.Headers{{Name: "Content-Type", Value: "application/json"}, {Name: "X-Team", Value: "support"}}},
		{"empty value", inspect.Headers{{Name: "X-Empty", Value: ""}}},
		{"escapes", inspect.Headers{{Name: "X-Q", Value: `a "quoted" \ value </script>`}, {Name: "X-C", Value: "tab\there\x01\x7f"}}},
		{"non-ASCII", inspect.Headers{{Name: "X-U", Value: "café \u2028 😀"}}},
		{"brackets", inspect.Headers{{Name: "X-B", Value: `],["x","y"]`}, {Name: "X-C", Value: "["}}},
		{"repeated", inspect.Headers{{Name: "Set-Cookie", Value: "a=1"}, {Name: "Set-Cookie", Value: "b=2"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			b := appendHeadersJSON(nil, tc.h)
			old, err := json.Marshal(tc.h)
			if err != nil {
				t.Fatal(err)
			}
			var viaJSON inspect.Headers
			if err := json.Unmarshal(b, &viaJSON); err != nil {
				t.Fatalf("%s is not what encoding/json reads: %v", b, err)
			}
			for _, in := range [][]byte{b, old} {
				got := parseHeadersJSON(in)
				if !reflect.DeepEqual(got, tc.h) {
					t.Errorf("parseHeadersJSON(%s) = %q; want %q", in, got, tc.h)
				}
			}
			if !reflect.DeepEqual(viaJSON, tc.h) {
				t.Errorf("encoding/json read %s as %q; want %q", b, viaJSON, tc.h)
			}
		})
	}
	if got := appendHeadersJSON(nil, nil); string(got) != "[]" {
		t.Errorf("nil headers: %s; want []", got)
	}
	if got := appendHeadersJSON(nil, inspect.Headers{{Name: "X", Value: "\xff"}}); string(got) != `[["X","\ufffd"]]` {
		t.Errorf("invalid UTF-8: %s", got)
	}
	// Anything else reads as encoding/json reads it.
	for _, odd := range []string{``, `null`, `[`, `[["a"]]`, `[["a","b"],]`, `[["a","b"]`, `{"a":"b"}`, `[["a","b"] ]`, `[["a","b\u0041"]]`} {
		var want inspect.Headers
		_ = json.Unmarshal([]byte(odd), &want)
		if got := parseHeadersJSON([]byte(odd)); !reflect.DeepEqual(got, want) {
			t.Errorf("parseHeadersJSON(%s) = %q; want %q", odd, got, want)
		}
	}
}

// TestDBHotJournal: an emit.db that a crash left with a hot rollback
// journal (hooklab stopped during the page-size rebuild, which runs
// outside WAL mode) opens, and the interrupted write is rolled back; the
// check for another program's database read it read-only, could not
// roll the journal back, and every start failed with "attempt to write a
// readonly database".
func TestDBHotJournal(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeOldDB(t, dir, false)
	path := filepath.Join(dir, DBFile)
	for _, name := range []string{DBFile + "-wal", DBFile + "-shm"} {
		os.Remove(filepath.Join(dir, name))
	}
	sdb, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(DELETE)&_pragma=cache_size(2)")
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	sdb.SetMaxOpenConns(1)
	tx, err := sdb.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	// Enough to spill the cache: changed pages go to the file, their old
	// contents to the journal.
	if _, err := tx.Exec(`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 200)
		INSERT INTO webhooks(id, def, created_ns, updated_ns) SELECT 'new' || i, hex(randomblob(2000)), 1, 1 FROM n`); err != nil {
		t.Fatal(err)
	}
	// Copy the files while the write is open, as a crash leaves them.
	crashed := t.TempDir()
	for _, name := range []string{DBFile, DBFile + "-journal"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(crashed, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	d, err := openDB(crashed, false, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open after a crash in rollback mode: %v", err)
	}
	defer d.close()
	ws, err := d.loadWebhooks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ws) != 1 || ws[0].ID != "old" {
		t.Errorf("%d webhooks after the crash; want the one stored before", len(ws))
	}
}

// TestRebaseOneWebhookPlan: a lane that sees the clock set back moves its
// own webhook's future invocations through the queue index; it scanned
// every queued invocation of every webhook (each lane, at every step
// back: 100 webhooks with 100,000 queued read ten million rows).
func TestRebaseOneWebhookPlan(t *testing.T) {
	t.Parallel()
	d := openTestDB(t, t.TempDir())
	rows, err := d.rdb.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+rebaseSQL("hook"), time.Now().UnixNano(), "hook")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
			t.Fatal(err)
		}
		plan = append(plan, detail)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(plan) != 1 || !strings.Contains(plan[0], "USING INDEX invocations_queue (webhook_id=? AND next_ns>?)") {
		t.Errorf("rebasing one webhook's queue: plan %q, want a search of invocations_queue by webhook_id and next_ns", plan)
	}
}
