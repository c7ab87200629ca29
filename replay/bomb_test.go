package replay

import (
	"bytes"
	"compress/gzip"
	"slices"
	"testing"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/internal/heaptest"
)

// bomb is a gzip body of a few KB that decodes to n MiB of zeros: one
// member of 1 MiB, repeated (a gzip reader reads every member).
func bomb(n int) []byte {
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	return bytes.Repeat(gz.Bytes(), n)
}

// A recorded gzip bomb compared with its replay decoded both to 256 MiB
// (a replay of recorded 1 GB bombs took hooklab to 1.9 GB, one at a
// time). The same bytes in the same coding are alike without decoding;
// other bodies are decoded to at most 32 MiB, and a note says they were
// compared that far.
func TestCompareBombBounded(t *testing.T) {
	gzipped := func(body []byte) *inspect.Response {
		return &inspect.Response{Status: 200, Body: body, Size: int64(len(body)),
			Headers: inspect.Headers{{Name: "Content-Type", Value: "application/octet-stream"}, {Name: "Content-Encoding", Value: "gzip"}}}
	}
	big := bomb(300)
	for _, tc := range []struct {
		name     string
		old, new []byte
		changes  int
		notes    []string
		underMiB uint64
	}{
		// The bounds leave room for what the package's other tests still
		// allocate meanwhile (the heap is the process's): decoded to 256
		// MiB each, as before, the heap rose by 674 MiB.
		{"same bytes", big, bytes.Clone(big), 0, nil, 100},
		{"alike as far as compared", big, bomb(40), 0, []string{"a body decodes to more than 32 MiB: compared its first 32 MiB decoded"}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stop := heaptest.Rise()
			got, notes := Compare(gzipped(tc.old), gzipped(tc.new), DiffOptions{})
			rose := stop()
			if len(got) != tc.changes || !slices.Equal(notes, tc.notes) {
				t.Errorf("changes %+v, notes %q; want %d changes, notes %q", got, notes, tc.changes, tc.notes)
			}
			t.Logf("the heap rose by %d MiB", rose>>20)
			if rose > tc.underMiB<<20 {
				t.Errorf("the heap rose by %d MiB comparing bodies of %d and %d KiB; want under %d MiB", rose>>20, len(tc.old)>>10, len(tc.new)>>10, tc.underMiB)
			}
		})
	}
}
