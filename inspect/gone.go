package inspect

import (
	"strings"
	"sync"
)

// goneKept is how many deleted exchanges goneIDs remembers the place of:
// at 2,000 captures a second under count retention, the last half a
// minute; about 3 MiB.
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
type goneIDs struct {
	mu   sync.Mutex
	seq  map[[16]byte]int64
	ring [][16]byte
	next int
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
	if g.seq == nil {
		g.seq = make(map[[16]byte]int64)
	}
	for _, r := range rows {
		k, ok := decodeULID(r.id)
		if !ok {
			continue
		}
		if len(g.ring) < goneKept {
			g.ring = append(g.ring, k)
		} else {
			delete(g.seq, g.ring[g.next])
			g.ring[g.next] = k
			g.next = (g.next + 1) % goneKept
		}
		g.seq[k] = r.seq
	}
}

// find returns the seq the deleted exchange id had, if it is remembered.
func (g *goneIDs) find(id string) (int64, bool) {
	k, ok := decodeULID(id)
	if !ok {
		return 0, false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	seq, ok := g.seq[k]
	return seq, ok
}

// decodeULID reads an id in the form ValidID accepts (upper case) as its
// 128 bits.
func decodeULID(s string) (v [16]byte, ok bool) {
	if !ValidID(s) {
		return v, false
	}
	var hi, lo uint64
	for i := 0; i < len(s); i++ {
		d := uint64(strings.IndexByte(crockford, s[i])) // ValidID: it is there
		hi = hi<<5 | lo>>59
		lo = lo<<5 | d
	}
	for i := 0; i < 8; i++ {
		v[i] = byte(hi >> (56 - 8*i))
		v[8+i] = byte(lo >> (56 - 8*i))
	}
	return v, true
}
