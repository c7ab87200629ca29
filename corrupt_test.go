package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// TestCorruptDatabase damages hooklab.db between two runs: the restarted
// server stores nothing more but loses nothing it acknowledged. Captures
// get 503 with Retry-After once the store has failed, /healthz reports the
// error, the acknowledged capture stays in the journal, and a server
// started on the repaired file stores it.
func TestCorruptDatabase(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	db := filepath.Join(data, "hooklab.db")
	s := startServer(t, "--data", data)
	for i := range 30 {
		s.send(t, "POST", fmt.Sprintf("/b/c/%d", i), "application/json", []byte(`{"before":true}`))
	}
	s.Stop(t)

	// Overwrite the page of the id index and the two after it (the
	// sequence table, the bin index), keeping the header page and the
	// table's own: the server starts, and its first insert meets the damage.
	var root, pageSize int64
	func() {
		rdb, err := sql.Open("sqlite", "file:"+db+"?mode=ro")
		if err != nil {
			t.Fatal(err)
		}
		defer rdb.Close()
		if err := rdb.QueryRow(`SELECT rootpage FROM sqlite_master WHERE name = 'sqlite_autoindex_exchanges_1'`).Scan(&root); err != nil {
			t.Fatal(err)
		}
		if err := rdb.QueryRow(`PRAGMA page_size`).Scan(&pageSize); err != nil {
			t.Fatal(err)
		}
	}()
	good, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	bad := bytes.Clone(good)
	copy(bad[(root-1)*pageSize:], bytes.Repeat([]byte{0xa5}, int(3*pageSize)))
	if err := os.WriteFile(db, bad, 0o600); err != nil {
		t.Fatal(err)
	}

	s = startServer(t, "--data", data)
	var acked []string
	refused := false
	for deadline := time.Now().Add(10 * time.Second); !refused; {
		if time.Now().After(deadline) {
			t.Fatalf("captures still answered 200 on a corrupt database (%d of them)", len(acked))
		}
		resp, err := http.Post(s.Capture+"b/c/after", "application/json", strings.NewReader(`{"after":true}`))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		switch resp.StatusCode {
		case http.StatusOK:
			var a ack
			if err := json.Unmarshal(b, &a); err != nil {
				t.Fatalf("capture answer %q: %v", b, err)
			}
			acked = append(acked, a.ID)
			time.Sleep(20 * time.Millisecond)
		case http.StatusServiceUnavailable:
			refused = true
			if resp.Header.Get("Retry-After") == "" {
				t.Error("503 without Retry-After")
			}
		default:
			t.Fatalf("capture on a corrupt database: %d %s", resp.StatusCode, b)
		}
	}
	resp, b := s.api(t, http.MethodGet, "/healthz", nil)
	var h struct {
		OK         bool   `json:"ok"`
		StoreError string `json:"store_error"`
	}
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatalf("healthz %s: %v", b, err)
	}
	if resp.StatusCode != http.StatusServiceUnavailable || h.OK || !strings.Contains(h.StoreError, "malformed") {
		t.Errorf("healthz on a corrupt database: %d %s", resp.StatusCode, b)
	}
	if strings.Contains(s.Stderr.String(), "dropped") {
		t.Errorf("acknowledged captures were dropped:\n%s", s.Stderr.String())
	}
	// Stopping says the acknowledged captures wait in the journal.
	s.stopped = true
	s.cancel()
	if err := <-s.done; !errors.Is(err, inspect.ErrStoreFull) {
		t.Errorf("stopping on a corrupt database: %v, want ErrStoreFull", err)
	}

	// Repaired (here: restored), the next server stores what the journal
	// kept.
	for _, f := range []string{db + "-wal", db + "-shm"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(db, good, 0o600); err != nil {
		t.Fatal(err)
	}
	s = startServer(t, "--data", data)
	for _, id := range acked {
		if resp, b := s.api(t, http.MethodGet, "/api/exchanges/"+id, nil); resp.StatusCode != http.StatusOK {
			t.Errorf("acknowledged capture %s after repair: %d %s", id, resp.StatusCode, b)
		}
	}
}

// TestForeignEmitDB: an emit.db that is someone else's SQLite database
// (tables, no schema version) stops the start naming it and is left as it
// was, as a foreign hooklab.db is; it was rebuilt to hooklab's page size,
// put in WAL mode and given hooklab's tables.
func TestForeignEmitDB(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	path := filepath.Join(data, "emit.db")
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE notes (x TEXT); INSERT INTO notes VALUES ('precious')`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	err = run(ctx, []string{"serve", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--data", data}, func(string) string { return "" }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), path+": not a hooklab database") {
		t.Errorf("run: %v, want it to refuse %s as not a hooklab database", err, path)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Errorf("%s was changed (%d bytes, %d before)", path, len(after), len(before))
	}
}

// TestSwappedDatabases: hooklab.db and emit.db put in each other's place (a
// copy or a restore gone wrong) stop the start naming the file, which is
// left as it was. A hooklab.db taken for emit.db was given the emitter's
// later migrations, then failed with "no such table: invocations"; an
// emit.db taken for hooklab.db was called one from a newer hooklab.
func TestSwappedDatabases(t *testing.T) {
	t.Parallel()
	src := t.TempDir()
	s := startServer(t, "--data", src)
	s.Stop(t)
	for _, tc := range []struct{ name, from, to string }{
		{"hooklab.db as emit.db", "hooklab.db", "emit.db"},
		{"emit.db as hooklab.db", "emit.db", "hooklab.db"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			before, err := os.ReadFile(filepath.Join(src, tc.from))
			if err != nil {
				t.Fatal(err)
			}
			data := t.TempDir()
			path := filepath.Join(data, tc.to)
			if err := os.WriteFile(path, before, 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out, errOut syncBuffer
			err = run(ctx, []string{"serve", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--data", data}, func(string) string { return "" }, &out, &errOut)
			if err == nil || !strings.Contains(err.Error(), path+": not a hooklab database") || !strings.Contains(err.Error(), tc.from) {
				t.Errorf("run: %v, want it to refuse %s as not a hooklab database, naming %s as what it may be", err, path, tc.from)
			}
			if got := exitCode(err); got != 1 {
				t.Errorf("exit %d, want 1", got)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
				t.Errorf("%s was changed (%d bytes, %d before)", path, len(after), len(before))
			}
		})
	}
}

// TestRefusedSecondServeLeavesTheDatabase: a second serve on a data
// directory another one serves is refused before it writes to the
// database. It changed the live one first: with another --retain-age it
// built (or dropped) the time index, holding the first one's writer, and
// captures waiting on it, for as long as that took on a big database.
func TestRefusedSecondServeLeavesTheDatabase(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	first := startServer(t, "--data", data)
	resp, err := http.Post(first.Capture+"x", "text/plain", strings.NewReader("one"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	err = run(ctx, []string{"serve", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--data", data, "--retain-age", "1h"}, func(string) string { return "" }, &out, &errOut)
	if !errors.Is(err, inspect.ErrInUse) {
		t.Fatalf("second serve: %v, want it refused as in use", err)
	}
	db, err := sql.Open("sqlite", "file:"+filepath.Join(data, "hooklab.db")+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'exchanges_time'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Error("the refused serve built its time index in the served database")
	}
}

// TestUnopenableDatabase: a hooklab.db or emit.db that exists but cannot be
// used (a directory, a named pipe, a symlink loop, a file this user may not
// read) stops serve, and a client command reading the data directory, with
// a message that names the file, says what is wrong and what to do, instead
// of SQLite's error or an open's ("open X: is a directory"). The thing
// found there is left as it was.
func TestUnopenableDatabase(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, file string
		make       func(t *testing.T, path string)
		want       string
		root       bool // the case works for root too
		export     bool // hooklab export on the data directory, not serve
	}{
		{"hooklab.db a directory", "hooklab.db", mkdir, "is a directory, not a database file", true, false},
		{"emit.db a directory", "emit.db", mkdir, "is a directory, not a database file", true, false},
		{"hooklab.db a symlink loop", "hooklab.db", symlinkLoop, "cannot be opened (too many levels of symbolic links)", true, false},
		{"emit.db a named pipe", "emit.db", mkfifo, "is not a regular file", true, false},
		{"hooklab.db not a database", "hooklab.db", writeText, "is not a hooklab database", true, false},
		{"hooklab.db unreadable", "hooklab.db", unreadable, "cannot be opened (permission denied): give this user read and write access", false, false},
		{"emit.db unreadable", "emit.db", unreadable, "cannot be opened (permission denied): give this user read and write access", false, false},
		{"export: hooklab.db a directory", "hooklab.db", mkdir, "is a directory, not a database file", true, true},
		// The files SQLite keeps beside a database: it said "unable to
		// open database file" or "disk I/O error" of the database, or
		// started and failed every write (a -shm directory: "attempt to
		// write a readonly database").
		{"hooklab.db-wal a directory", "hooklab.db-wal", mkdir, "is a directory, not a file: move it away", true, false},
		{"hooklab.db-wal a directory beside the database", "hooklab.db-wal", besideDatabases(mkdir), "is a directory, not a file: move it away", true, false},
		{"hooklab.db-shm a directory beside the database", "hooklab.db-shm", besideDatabases(mkdir), "is a directory, not a file: move it away", true, false},
		{"hooklab.db-wal a named pipe beside the database", "hooklab.db-wal", besideDatabases(mkfifo), "is not a regular file: move it away", true, false},
		{"emit.db-shm a named pipe", "emit.db-shm", mkfifo, "is not a regular file: move it away", true, false},
		{"emit.db-wal a directory beside the database", "emit.db-wal", besideDatabases(mkdir), "is a directory, not a file: move it away", true, false},
		{"emit.db-shm a directory beside the database", "emit.db-shm", besideDatabases(mkdir), "is a directory, not a file: move it away", true, false},
		{"hooklab.db-wal unreadable", "hooklab.db-wal", unreadableFile, "cannot be opened (permission denied): give this user read and write access", false, false},
		{"export: hooklab.db-shm a directory", "hooklab.db-shm", besideDatabases(mkdir), "is a directory, not a file: move it away", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if !tc.root && os.Geteuid() == 0 {
				t.Skip("root reads any file")
			}
			data := t.TempDir()
			path := filepath.Join(data, tc.file)
			tc.make(t, path)
			before, err := os.Lstat(path)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			args := []string{"serve", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--data", data}
			env := map[string]string{}
			if tc.export {
				args = []string{"export", "--har", "-"}
				env = map[string]string{"HOOKLAB_UI": "http://127.0.0.1:1", "HOOKLAB_DATA": data}
			}
			var out, errOut syncBuffer
			err = run(ctx, args, func(k string) string { return env[k] }, &out, &errOut)
			if err == nil {
				t.Fatalf("run: nil error, want a refusal naming %s\nstdout:\n%s", path, out.String())
			}
			msg := err.Error()
			if !strings.Contains(msg, path+" "+tc.want) || !strings.Contains(msg, "another data directory (--data, or HOOKLAB_DATA)") {
				t.Errorf("run: %v\nwant it to say %q of %s and what to do", err, tc.want, path)
			}
			if strings.Contains(msg, "open "+path) || strings.Contains(msg, "SQL") {
				t.Errorf("run: %v: a raw open or SQLite error", err)
			}
			if got := exitCode(err); got != 1 {
				t.Errorf("exit %d, want 1", got)
			}
			if after, err := os.Lstat(path); err != nil || after.Mode() != before.Mode() || after.Size() != before.Size() {
				t.Errorf("%s was changed: %v, %v before", path, after, before)
			}
		})
	}
}

func mkdir(t *testing.T, path string) {
	if err := os.Mkdir(path, 0o700); err != nil {
		t.Fatal(err)
	}
}

func symlinkLoop(t *testing.T, path string) {
	if err := os.Symlink(filepath.Base(path), path); err != nil {
		t.Fatal(err)
	}
}

func mkfifo(t *testing.T, path string) {
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeText(t *testing.T, path string) {
	if err := os.WriteFile(path, []byte("notes, not a database\n"), 0o600); err != nil {
		t.Fatal(err)
	}
}

// besideDatabases makes the data directory of path in use (a first serve
// makes its databases) before make makes path, which that serve may have
// left behind.
func besideDatabases(make func(t *testing.T, path string)) func(t *testing.T, path string) {
	return func(t *testing.T, path string) {
		s := startServer(t, "--data", filepath.Dir(path))
		s.Stop(t)
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		make(t, path)
	}
}

// unreadableFile is an empty file its owner may not read.
func unreadableFile(t *testing.T, path string) {
	if err := os.WriteFile(path, nil, 0); err != nil {
		t.Fatal(err)
	}
}

// unreadable is an SQLite database (made by a first serve) that its owner
// may no longer read.
func unreadable(t *testing.T, path string) {
	s := startServer(t, "--data", filepath.Dir(path))
	s.Stop(t)
	if err := os.Chmod(path, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(path, 0o600) })
}
