package inspect

import (
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestIDsSameMillisecond(t *testing.T) {
	t.Parallel()
	var g IDs
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 100000 {
		id := g.New(now)
		if !ValidID(id) {
			t.Fatalf("New() = %q, not a valid id", id)
		}
		if id <= prev {
			t.Fatalf("id %d: %q is not after %q", i, id, prev)
		}
		prev = id
	}
}

func TestIDsOrder(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		times []time.Time
	}{
		{"later milliseconds", []time.Time{t0, t0.Add(time.Millisecond), t0.Add(time.Hour)}},
		{"clock going back", []time.Time{t0.Add(time.Second), t0, t0.Add(-time.Hour), t0.Add(time.Second)}},
		{"sub-millisecond steps", []time.Time{t0, t0.Add(time.Microsecond), t0.Add(999 * time.Microsecond)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var g IDs
			var ids []string
			for _, tm := range tt.times {
				ids = append(ids, g.New(tm))
			}
			if !slices.IsSorted(ids) || len(slices.Compact(slices.Clone(ids))) != len(ids) {
				t.Errorf("ids not strictly increasing: %v", ids)
			}
		})
	}
	t.Run("time prefix sorts across generators", func(t *testing.T) {
		t.Parallel()
		var a, b IDs
		x := a.New(t0.Add(time.Millisecond))
		y := b.New(t0)
		if x <= y {
			t.Errorf("id of a later millisecond %q sorts before %q", x, y)
		}
		// The first 10 characters are the millisecond time.
		if x[:10] == y[:10] {
			t.Errorf("time prefixes %q and %q are equal", x[:10], y[:10])
		}
	})
}

func TestIDsConcurrent(t *testing.T) {
	t.Parallel()
	const workers, each = 8, 5000
	var g IDs
	now := time.Now()
	results := make([][]string, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ids := make([]string, each)
			for i := range ids {
				// Half share one millisecond, half use the real clock.
				if i%2 == 0 {
					ids[i] = g.New(now)
				} else {
					ids[i] = g.New(time.Now())
				}
			}
			results[w] = ids
		})
	}
	wg.Wait()
	seen := make(map[string]bool, workers*each)
	for w, ids := range results {
		for i, id := range ids {
			if i > 0 && id <= ids[i-1] {
				t.Fatalf("worker %d: id %q not after %q", w, id, ids[i-1])
			}
			if seen[id] {
				t.Fatalf("duplicate id %q", id)
			}
			seen[id] = true
		}
	}
}

func TestValidID(t *testing.T) {
	t.Parallel()
	var g IDs
	tests := []struct {
		name, id string
		want     bool
	}{
		{"generated", g.New(time.Now()), true},
		{"all zero", strings.Repeat("0", 26), true},
		{"largest", "7" + strings.Repeat("Z", 25), true},
		{"empty", "", false},
		{"short", strings.Repeat("0", 25), false},
		{"long", strings.Repeat("0", 27), false},
		{"lower case", strings.Repeat("a", 26), false},
		{"I", "I" + strings.Repeat("0", 25), false},
		{"L", strings.Repeat("0", 25) + "L", false},
		{"O", strings.Repeat("0", 12) + "O" + strings.Repeat("0", 13), false},
		{"U", strings.Repeat("0", 25) + "U", false},
		{"punctuation", strings.Repeat("0", 25) + "-", false},
		{"over 128 bits", "8" + strings.Repeat("0", 25), false},
		{"path traversal", "../../../../../etc/passwdx", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ValidID(tt.id); got != tt.want {
				t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
			}
		})
	}
}
