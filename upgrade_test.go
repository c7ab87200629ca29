package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// dataFixture copies the data directory testdata/upgrade/NAME, written by
// an older hooklab, into a new temporary directory and returns it. Its
// databases are kept gzipped (mostly empty 16 KiB pages): FILE.gz is
// written out as FILE.
func dataFixture(t *testing.T, name string) string {
	t.Helper()
	src, dst := filepath.Join("testdata", "upgrade", name), t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(dst, strings.TrimSuffix(rel, ".gz"))
		if d.IsDir() {
			return os.MkdirAll(to, 0o700)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if strings.HasSuffix(path, ".gz") {
			zr, err := gzip.NewReader(bytes.NewReader(b))
			if err != nil {
				return err
			}
			if b, err = io.ReadAll(zr); err != nil {
				return err
			}
		}
		return os.WriteFile(to, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestUpgradePreReleaseStore: a hooklab.db written by a build from before
// the exchanges table took its present layout (commit c8e5779 and the
// four before it, 29 Nov 2026: the headers and rare fields in a meta JSON
// column, schema version 1 or 2) is refused naming the file and why, and
// left as it was. That layout was changed in place rather than by a
// migration, so this hooklab took its version 2 for its own, added the
// journal columns (version 3), dropped its time index, and then failed
// with "table exchanges has no column named proto": neither that build nor
// this one could open the file again. testdata/upgrade/c8e5779 holds two
// captures written by c8e5779.
func TestUpgradePreReleaseStore(t *testing.T) {
	t.Parallel()
	data := dataFixture(t, "c8e5779")
	path := filepath.Join(data, "hooklab.db")
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var out, errOut syncBuffer
	err = run(ctx, []string{"serve", "--capture", "127.0.0.1:0", "--ui", "127.0.0.1:0", "--data", data}, func(string) string { return "" }, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "layout of an early hooklab build") {
		t.Errorf("run: %v, want it to refuse %s as written by a build from before the present layout", err, path)
	}
	if got := exitCode(err); got != 1 {
		t.Errorf("exit %d, want 1", got)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, before) {
		t.Errorf("%s was changed (%d bytes, %d before)", path, len(after), len(before))
	}
}

// TestUpgradeReindexesText: text search finds what an older hooklab
// captured as it finds what this one captures. The text index holds what
// searchText makes of a row, which changed since (a gzip body is read
// decoded, no longer as its compressed bytes), and rows an older hooklab
// had indexed kept its entries: after the upgrade a search found a word of
// a gzipped capture made after it, not one made before it.
// testdata/upgrade/ec303d0 holds two captures written and indexed by
// ec303d0: a gzipped JSON body holding gzneedle-body, and a plain one
// holding plainneedle.
func TestUpgradeReindexesText(t *testing.T) {
	t.Parallel()
	data := dataFixture(t, "ec303d0")
	s := startServer(t, "--data", data)
	defer s.Stop(t)
	for _, tc := range []struct{ q, path string }{
		{"gzneedle", "/b/old/gz"},
		{"plainneedle", "/b/old/plain"},
	} {
		var l listAnswer
		s.getJSON(t, "/api/exchanges?q="+tc.q, &l)
		if len(l.Exchanges) != 1 || l.Exchanges[0].Path != tc.path {
			t.Errorf("q=%s listed %+v, want the exchange of %s", tc.q, l.Exchanges, tc.path)
		}
	}
}

// TestUpgradeAfterGoingBack: text search finds what an older hooklab
// captured after this one had upgraded the data directory and the user
// went back to the older one. An older hooklab that knows no fts_text
// indexes into its own exchanges_fts and moves the shared watermark
// (fts_indexed) past its rows, so this one's index, still of its own
// version, never held them and a search found nothing of them.
// testdata/upgrade/083e47d-back was written by 083e47d (a capture holding
// firstneedle), then opened by this hooklab's serve, then by 083e47d
// again (a plain capture holding backneedle and a gzipped one holding
// gzbackneedle).
func TestUpgradeAfterGoingBack(t *testing.T) {
	t.Parallel()
	data := dataFixture(t, "083e47d-back")
	s := startServer(t, "--data", data)
	defer s.Stop(t)
	for _, tc := range []struct {
		q     string
		paths []string // newest first
	}{
		{"firstneedle", []string{"/b/old/first"}},
		{"backneedle", []string{"/b/back/gz", "/b/back/plain"}},
		{"gzbackneedle", []string{"/b/back/gz"}},
	} {
		var l listAnswer
		s.getJSON(t, "/api/exchanges?q="+tc.q, &l)
		var got []string
		for _, e := range l.Exchanges {
			got = append(got, e.Path)
		}
		if !slices.Equal(got, tc.paths) {
			t.Errorf("q=%s listed %q, want %q", tc.q, got, tc.paths)
		}
	}
}
