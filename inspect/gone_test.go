package inspect

import (
	"testing"
	"time"
)

// TestGoneIDs: the ring remembers the last goneKept deleted exchanges,
// the newest entry of an id deleted twice, and nothing that is no ULID.
func TestGoneIDs(t *testing.T) {
	var ids IDs
	var g goneIDs
	if _, ok := g.find(ids.New(time.Now())); ok {
		t.Fatal("an empty ring found an id")
	}
	all := make([]string, goneKept+1000)
	rows := make([]goneRow, len(all))
	for i := range all {
		all[i] = ids.New(time.Now())
		rows[i] = goneRow{all[i], int64(i + 1)}
	}
	// In uneven batches, as commits delete them.
	for i := 0; i < len(rows); {
		n := min(1+i%777, len(rows)-i)
		g.add(rows[i : i+n])
		i += n
	}
	for _, i := range []int{0, 999} {
		if seq, ok := g.find(all[i]); ok {
			t.Errorf("entry %d of %d is remembered (seq %d) past goneKept", i, len(all), seq)
		}
	}
	for _, i := range []int{1000, 1001, goneKept, len(all) - 1} {
		if seq, ok := g.find(all[i]); !ok || seq != int64(i+1) {
			t.Errorf("entry %d: seq %d, %v; want %d", i, seq, ok, i+1)
		}
	}
	// Deleted again (a journal replay's row) at another place: the newest.
	g.add([]goneRow{{all[2000], 7}, {"not-a-ulid", 8}})
	if seq, ok := g.find(all[2000]); !ok || seq != 7 {
		t.Errorf("an id deleted twice: seq %d, %v; want the newer 7", seq, ok)
	}
	if _, ok := g.find("not-a-ulid"); ok {
		t.Error("a non-ULID was remembered")
	}
	if len(g.ring) != goneKept {
		t.Errorf("ring of %d entries, want %d", len(g.ring), goneKept)
	}
}

func BenchmarkGoneIDs(b *testing.B) {
	var ids IDs
	rows := make([]goneRow, 512)
	for i := range rows {
		rows[i] = goneRow{ids.New(time.Now()), int64(i)}
	}
	var g goneIDs
	b.Run("add", func(b *testing.B) {
		for b.Loop() {
			g.add(rows)
		}
	})
	b.Run("find", func(b *testing.B) {
		for b.Loop() {
			g.find(rows[0].id)
		}
	})
	for len(g.ring) < goneKept {
		g.add(rows)
	}
	missing := ids.New(time.Now())
	b.Run("find-missing", func(b *testing.B) { // the whole ring
		for b.Loop() {
			g.find(missing)
		}
	})
}

// TestDecodeULID: decoding undoes encodeULID for every digit in every place.
func TestDecodeULID(t *testing.T) {
	for i := 0; i < 16; i++ {
		for _, b := range []byte{0x00, 0x01, 0x1f, 0x5a, 0xa5, 0xff} {
			var v [16]byte
			v[i] = b
			v[(i+7)%16] ^= 0x3c
			s := encodeULID(v)
			got, ok := decodeULID(s)
			if !ok || got != v {
				t.Fatalf("decodeULID(%s) = %x, %v; want %x", s, got, ok, v)
			}
		}
	}
	for d := 0; d < len(crockford); d++ {
		if got := crockfordDigit(crockford[d]); got != uint64(d) {
			t.Errorf("crockfordDigit(%q) = %d, want %d", crockford[d], got, d)
		}
	}
}

// TestGoneGather: a delete of many rows holds at most goneGather of them
// at once, and every one is remembered.
func TestGoneGather(t *testing.T) {
	var ids IDs
	var g goneIDs
	var rows []goneRow
	all := make([]string, 3*goneGather+5)
	for i := range all {
		all[i] = ids.New(time.Now())
		rows = g.gather(rows, goneRow{all[i], int64(i + 1)})
		if len(rows) > goneGather {
			t.Fatalf("%d rows gathered at once, want at most %d", len(rows), goneGather)
		}
	}
	g.add(rows)
	for i, id := range all {
		if seq, ok := g.find(id); !ok || seq != int64(i+1) {
			t.Fatalf("row %d: seq %d, %v; want %d", i, seq, ok, i+1)
		}
	}
}
