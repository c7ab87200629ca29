package inspect

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDs makes sortable, unique identifiers in the ULID form: 26 characters of
// Crockford base32, a 48-bit millisecond time followed by 80 bits that are
// random for each new millisecond and incremented within one, so that ids
// made by one IDs sort in the order they were made. The zero value is ready
// to use.
type IDs struct {
	mu     sync.Mutex
	lastMS uint64
	hi     uint16 // top 16 bits of the 80-bit entropy
	lo     uint64 // low 64 bits
}

// New returns a new id for the time now.
func (g *IDs) New(now time.Time) string {
	ms := uint64(now.UnixMilli())
	g.mu.Lock()
	if ms <= g.lastMS {
		ms = g.lastMS
		g.lo++
		if g.lo == 0 {
			g.hi++
		}
	} else {
		var b [10]byte
		_, _ = rand.Read(b[:])
		g.lastMS = ms
		g.hi = binary.BigEndian.Uint16(b[:2]) >> 1 // leave room to increment
		g.lo = binary.BigEndian.Uint64(b[2:])
	}
	hi, lo := g.hi, g.lo
	g.mu.Unlock()

	var v [16]byte
	binary.BigEndian.PutUint64(v[0:8], ms<<16|uint64(hi))
	binary.BigEndian.PutUint64(v[8:16], lo)
	return encodeULID(v)
}

// encodeULID writes 128 bits as 26 base32 characters, most significant first.
func encodeULID(v [16]byte) string {
	var out [26]byte
	// 128 bits = 2 leading bits + 25*5 bits... ULID uses 130 bits with the
	// first character carrying the top 3 bits.
	hi := binary.BigEndian.Uint64(v[0:8])
	lo := binary.BigEndian.Uint64(v[8:16])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// ValidID reports whether s has the form of an id made by IDs.
func ValidID(s string) bool {
	if len(s) != 26 || s[0] > '7' { // 26 characters hold 130 bits; ids have 128
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') || c == 'I' || c == 'L' || c == 'O' || c == 'U' {
			return false
		}
	}
	return true
}

// nextID returns the id that sorts right after id, which need not have
// been made: a bound that every id after id reaches. ok is false when id
// is no id IDs makes, or the last one there can be.
func nextID(id string) (next string, ok bool) {
	v, ok := decodeULID(id)
	if !ok {
		return "", false
	}
	for i := len(v) - 1; i >= 0; i-- {
		v[i]++
		if v[i] != 0 {
			return encodeULID(v), true
		}
	}
	return "", false
}
