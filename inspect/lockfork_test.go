package inspect_test

import (
	"context"
	"errors"
	"os/exec"
	"sync"
	"testing"

	"github.com/hooklab/hooklab/inspect"
)

// TestReopenWhileForking: a closed store's data directory can be opened
// again at once by the same process, even while it starts other programs
// (a forked child holds a copy of every descriptor until it execs, the
// journal's LOCK too).
func TestReopenWhileForking(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for ctx.Err() == nil {
				_ = exec.Command("true").Run()
			}
		})
	}
	defer wg.Wait()
	defer cancel()
	for i := range 40 {
		s, err := inspect.OpenSQLite(dir, inspect.Options{Exclusive: true})
		if errors.Is(err, inspect.ErrInUse) {
			t.Fatalf("open %d, right after the last one closed: %v", i, err)
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}
