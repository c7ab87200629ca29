package proxy

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// TestTeeKeepsNoMoreThanMax: a body's kept part never takes a buffer
// larger than the limit (appending doubled it to 16 MiB for a 10 MiB
// limit, for each body in flight), and is the body's first bytes. Not
// parallel: TestReverseStreamsLargeBodiesWithoutBuffering reads the
// process's heap.
func TestTeeKeepsNoMoreThanMax(t *testing.T) {
	const limit = 1536 << 10
	body := make([]byte, limit+5000)
	for i := range body {
		body[i] = byte(i % 251)
	}
	for _, size := range []int64{-1, int64(len(body))} {
		tee := newTee(io.NopCloser(iotest.HalfReader(bytes.NewReader(body))), limit, size)
		if _, err := io.Copy(io.Discard, tee); err != nil {
			t.Fatal(err)
		}
		kept, n, truncated, err := tee.result(false)
		if cap(kept) > limit || !bytes.Equal(kept, body[:limit]) || n != int64(len(body)) || !truncated || err != io.EOF {
			t.Errorf("size %d: kept %d (cap %d), n %d, truncated %v, err %v", size, len(kept), cap(kept), n, truncated, err)
		}
	}
}
