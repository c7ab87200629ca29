package inspect

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// journalOnly journals exs in dir the way Add does, but nothing commits
// them: what a store leaves behind when it is killed between the answer
// and the insert. applied is the journal LSN the database has committed up
// to (what OpenSQLite passes).
func journalOnly(t *testing.T, dir string, applied uint64, exs ...*Exchange) {
	t.Helper()
	j, recs, err := openJournal(filepath.Join(dir, "journal"), applied, slog.New(slog.DiscardHandler))
	if err != nil || len(recs) != 0 {
		t.Fatalf("openJournal: %v, %d records", err, len(recs))
	}
	for _, ex := range exs {
		r, err := newRow(ex)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.append(&pendingWrite{ex: ex, row: r, acked: true}, func([]*pendingWrite) {}); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.f.Close(); err != nil {
		t.Fatal(err)
	}
	j.lock.Close() // the process is gone, and its lock with it
}

// segments lists the journal's segment files.
func segments(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, name := range dirNames(t, filepath.Join(dir, "journal")) {
		if strings.HasSuffix(name, ".log") {
			out = append(out, name)
		}
	}
	return out
}

func TestJournalRecoversUncommittedExchanges(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	// A database that already holds one exchange, as a running hooklab's
	// would.
	s := openStore(t, dir, Options{})
	first := newEx("j", "POST", "http://h/first", reqBody([]byte(`{"n":0}`)))
	mustAdd(t, s, first)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if names := segments(t, dir); len(names) != 0 {
		t.Errorf("a clean close left journal segments: %v", names)
	}

	var exs []*Exchange
	for i := range 5 {
		ex := newEx("j", "POST", "http://h/x", reqBody([]byte(strings.Repeat("b", i*100))),
			reqHeader("X-Nth", strings.Repeat("n", i)), respBody([]byte(`{"ok":true}`)))
		if i == 2 {
			ex.Response = nil
			ex.Error = "upstream went away"
		}
		if i == 3 {
			ex.Signature = &Signature{Scheme: "github", Verdict: "invalid", Reason: "mismatch"}
			ex.Meta = map[string]any{"delay_ms": float64(5)}
		}
		exs = append(exs, ex)
	}
	journalOnly(t, dir, 1, exs...) // the database has applied first's LSN

	s2 := openStore(t, dir, Options{})
	for _, want := range append([]*Exchange{first}, exs...) {
		got, err := s2.Get(context.Background(), want.ID)
		if err != nil {
			t.Fatalf("after recovery: %v", err)
		}
		sameExchange(t, want, got)
	}
	if c, _ := s2.Stats(); c != 6 {
		t.Errorf("count after recovery = %d, want 6", c)
	}
	if names := segments(t, dir); len(names) != 0 {
		t.Errorf("recovered segments were kept: %v", names)
	}
	// The recovered rows are committed: a second open finds them once.
	if err := s2.Close(); err != nil {
		t.Fatal(err)
	}
	s3 := openStore(t, dir, Options{})
	if got := listIDs(t, s3, Query{}); len(got) != 6 {
		t.Errorf("after a second open: %d exchanges, want 6", len(got))
	}
}

func TestJournalTornTail(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a := newEx("j", "POST", "http://h/a", reqBody([]byte("first")))
	b := newEx("j", "POST", "http://h/b", reqBody([]byte("second, cut short by a crash")))
	journalOnly(t, dir, 0, a, b)
	names := segments(t, dir)
	if len(names) != 1 {
		t.Fatalf("segments %v, want one", names)
	}
	seg := filepath.Join(dir, "journal", names[0])
	st, err := os.Stat(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(seg, st.Size()-5); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s := openStore(t, dir, Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if _, err := s.Get(context.Background(), a.ID); err != nil {
		t.Errorf("the whole record before the torn one: %v", err)
	}
	wantErrIs(t, func() error { _, err := s.Get(context.Background(), b.ID); return err }(), ErrNotFound)
	if !strings.Contains(logs.String(), "unreadable record") {
		t.Errorf("the torn record was not reported: %s", logs.String())
	}
	// New writes go on after it.
	c := newEx("j", "GET", "http://h/c")
	mustAdd(t, s, c)
	if got := listIDs(t, s, Query{}); !slices.Equal(got, idsOf(c, a)) {
		t.Errorf("listed %v, want c, a", got)
	}
}

// A crash image (the files as they are on disk while hooklab runs) never
// brings back an exchange deleted after it was committed, nor loses one
// acknowledged before.
func TestJournalCrashImage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	gone := newEx("j", "GET", "http://h/gone")
	kept := newEx("j", "GET", "http://h/kept")
	mustAdd(t, s, gone, kept)
	if err := s.Delete(context.Background(), gone.ID); err != nil {
		t.Fatal(err)
	}
	last := newEx("j", "GET", "http://h/last")
	mustAdd(t, s, last)
	s.Sync(context.Background())

	img := t.TempDir()
	copyTree(t, dir, img)
	s2 := openStore(t, img, Options{})
	if got := listIDs(t, s2, Query{}); !slices.Equal(got, idsOf(last, kept)) {
		t.Errorf("after the crash image: %v, want last, kept", got)
	}
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		if strings.HasSuffix(path, "-shm") {
			return nil // rebuilt from the WAL
		}
		in, err := os.Open(path)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestJournalSegmentsRotateAndRetire(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	s.jr.segLimit = 4 << 10
	body := []byte(strings.Repeat("r", 1500))
	var exs []*Exchange
	for range 30 {
		ex := newEx("j", "POST", "http://h/r", reqBody(body))
		mustAdd(t, s, ex)
		exs = append(exs, ex)
	}
	s.Sync(context.Background())
	// Every record is committed, so only the active segment may remain.
	eventually(t, 5*time.Second, "retired segments", func() bool {
		return len(segments(t, dir)) == 1
	})
	if got := listIDs(t, s, Query{}); len(got) != len(exs) {
		t.Errorf("%d exchanges stored, want %d", len(got), len(exs))
	}
}

// A second store on the same directory (a command such as import while
// hooklab serves) does not own the journal: it commits directly, and the
// owner sees what it wrote.
func TestJournalSecondOpenerWritesDirectly(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	owner := openStore(t, dir, Options{})
	other := openStore(t, dir, Options{})
	if owner.jr == nil || other.jr != nil {
		t.Fatalf("journal owners: first %v, second %v; want only the first", owner.jr != nil, other.jr != nil)
	}
	a, b := newEx("j", "GET", "http://h/a"), newEx("j", "GET", "http://h/b")
	mustAdd(t, owner, a)
	mustAdd(t, other, b)
	got, want := listIDs(t, owner, Query{}), idsOf(a, b)
	slices.Sort(got) // the two commit in either order
	if !slices.Equal(got, want) {
		t.Errorf("the owner lists %v, want %v", got, want)
	}
}

func TestRowRoundTrip(t *testing.T) {
	t.Parallel()
	for _, ex := range []*Exchange{
		newEx("a", "GET", "http://h/"),
		newEx("b", "POST", "http://h/p?q=1", reqBody([]byte{0, 1, 2, 0xff}), noResponse(), withError("boom")),
		newEx("c", "PUT", "http://h/", reqBody([]byte{}), respBody([]byte("x")), reqHeader("A", "b\nc")),
	} {
		r, err := newRow(ex)
		if err != nil {
			t.Fatal(err)
		}
		got, err := decodeRow(r.appendTo(nil))
		if err != nil {
			t.Fatalf("decode: %v", err)
		}
		if diff := cmp.Diff(r, got, cmp.AllowUnexported(row{})); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

// FuzzDecodeRow: any bytes decode to a row or an error, never a panic, and
// a decoded row encodes back to the same bytes.
func FuzzDecodeRow(f *testing.F) {
	r, _ := newRow(newEx("a", "POST", "http://h/", reqBody([]byte("body")), respBody([]byte("resp"))))
	f.Add(r.appendTo(nil))
	f.Add([]byte{rowVersion})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRow(b)
		if err != nil {
			return
		}
		if again := r.appendTo(nil); !bytes.Equal(again, b) {
			// Varints have one shortest form; a longer one decodes too.
			r2, err := decodeRow(again)
			if err != nil || !cmp.Equal(r, r2, cmp.AllowUnexported(row{})) {
				t.Fatalf("re-encoding changed the row: %v", err)
			}
		}
	})
}
