package replay

import (
	"bytes"
	"testing"
)

// firstWrite keeps the first slice written to it.
type firstWrite struct {
	got   [][]byte
	total bytes.Buffer
}

func (f *firstWrite) Write(p []byte) (int, error) {
	f.got = append(f.got, p)
	f.total.Write(p)
	return len(p), nil
}

// An export's first entry may be hundreds of MiB (a large body): the
// writer that holds back the first holdMax bytes passes a write past
// them on as it is, rather than copy it whole into what it holds.
func TestHoldWriterDoesNotCopyLargeWrite(t *testing.T) {
	under := &firstWrite{}
	h := &holdWriter{w: under}
	head := []byte(`{"log":`)
	large := bytes.Repeat([]byte("x"), 4*holdMax)
	if _, err := h.Write(head); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Write(large); err != nil {
		t.Fatal(err)
	}
	if _, err := h.Write([]byte("}")); err != nil {
		t.Fatal(err)
	}
	if _, err := h.release(); err != nil {
		t.Fatal(err)
	}
	if want := string(head) + string(large) + "}"; under.total.String() != want {
		t.Fatalf("wrote %d bytes, want %d", under.total.Len(), len(want))
	}
	for _, p := range under.got {
		if len(p) == len(large) && &p[0] == &large[0] {
			return
		}
	}
	t.Errorf("the large write was copied before it went on (writes of %d bytes)", lens(under.got))
}

func lens(ps [][]byte) []int {
	var out []int
	for _, p := range ps {
		out = append(out, len(p))
	}
	return out
}
