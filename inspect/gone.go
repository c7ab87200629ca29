package inspect

import "sync"

// goneKept is how many deleted exchanges goneIDs remembers the place of:
// at 2,000 captures a second under count retention, the last half a
// minute; 1.5 MiB.
const goneKept = 1 << 16

// goneIDs remembers where the most recently deleted exchanges were stored
// (their id's seq), so that after= naming one that retention or a delete
// removed goes on from its place in store order, as it does while the
// exchange is there: a wait chain or tail's catch-up a little behind
// retention would otherwise go on in id order, which skips an exchange
// that began earlier and was stored later (a slow proxied one) and repeats
// one that began later and was stored earlier. It is kept in memory only:
// after a restart, or beyond goneKept deletes, after= falls back to id
// order. Its zero value is ready to use.
//
// It is a ring and nothing more: retention adds to it at every commit
// under load, while find runs only for an after= whose exchange is gone,
// so find scans (about 50 µs) rather than every add keep a map.
type goneIDs struct {
	mu   sync.Mutex
	ring []goneEntry
	next int // where the next entry goes once the ring is full
}

type goneEntry struct {
	id  [16]byte
	seq int64
}

// goneRow is a deleted exchange's id and seq, as a delete returns them.
type goneRow struct {
	id  string
	seq int64
}

// add remembers rows, forgetting the oldest beyond goneKept. An id that
// is no ULID (none is made so) is left out: after= takes only ULIDs.
func (g *goneIDs) add(rows []goneRow) {
	if len(rows) == 0 {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, r := range rows {
		k, ok := decodeULID(r.id)
		if !ok {
			continue
		}
		e := goneEntry{k, r.seq}
		if len(g.ring) < goneKept {
			g.ring = append(g.ring, e)
		} else {
			g.ring[g.next] = e
			g.next = (g.next + 1) % goneKept
		}
	}
}

// goneGather is how many deleted rows a delete gathers before it hands
// them to add: a Clear of millions would otherwise hold every one.
const goneGather = 4096

// gather appends r to rows, handing them to add once goneGather are
// gathered; the caller adds what is left at its end.
func (g *goneIDs) gather(rows []goneRow, r goneRow) []goneRow {
	if len(rows) == goneGather {
		g.add(rows)
		rows = rows[:0]
	}
	return append(rows, r)
}

// find returns the seq the deleted exchange id had, if it is remembered:
// the latest entry for it, should an id be deleted twice (a journal replay
// inserts a row again).
func (g *goneIDs) find(id string) (int64, bool) {
	k, ok := decodeULID(id)
	if !ok {
		return 0, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	// Newest first: the entries before next, then those from the end.
	for i := g.next - 1; i >= 0; i-- {
		if g.ring[i].id == k {
			return g.ring[i].seq, true
		}
	}
	for i := len(g.ring) - 1; i >= g.next; i-- {
		if g.ring[i].id == k {
			return g.ring[i].seq, true
		}
	}
	return 0, false
}

// decodeULID reads an id in the form ValidID accepts (upper case) as its
// 128 bits.
func decodeULID(s string) (v [16]byte, ok bool) {
	if !ValidID(s) {
		return v, false
	}
	var hi, lo uint64
	for i := 0; i < len(s); i++ {
		hi = hi<<5 | lo>>59
		lo = lo<<5 | crockfordDigit(s[i])
	}
	for i := 0; i < 8; i++ {
		v[i] = byte(hi >> (56 - 8*i))
		v[8+i] = byte(lo >> (56 - 8*i))
	}
	return v, true
}

// crockfordDigit is the value of c, one of the crockford digits.
func crockfordDigit(c byte) uint64 {
	switch {
	case c <= '9':
		return uint64(c - '0')
	case c < 'I': // A–H
		return uint64(c-'A') + 10
	case c < 'L': // J K
		return uint64(c-'J') + 18
	case c < 'O': // M N
		return uint64(c-'M') + 20
	case c < 'U': // P–T
		return uint64(c-'P') + 22
	default: // V–Z
		return uint64(c-'V') + 27
	}
}
