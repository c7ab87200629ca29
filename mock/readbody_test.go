package mock

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"
)

// ReadBody keeps the first limit bytes, counts the rest, and reports a body
// that ended in an error, however the reader hands the bytes over and
// whatever length was declared.
func TestReadBody(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(1, 2))
	readers := map[string]func(io.Reader) io.Reader{
		"whole":      func(r io.Reader) io.Reader { return r },
		"one byte":   iotest.OneByteReader,
		"half":       iotest.HalfReader,
		"data + EOF": iotest.DataErrReader,
	}
	for _, size := range []int{0, 1, 511, 512, 513, 1023, 1024, 1025, 4096, 70_000} {
		body := make([]byte, size)
		for i := range body {
			body[i] = byte(rnd.IntN(256))
		}
		for _, limit := range []int64{0, 1, 1024, 10 << 20} {
			for _, hint := range []int64{-1, 0, int64(size), int64(size) / 2, int64(size) * 3} {
				for name, wrap := range readers {
					got, n, truncated, err := ReadBody(wrap(bytes.NewReader(body)), limit, hint)
					want := body[:min(int64(size), limit)]
					if err != nil || !bytes.Equal(got, want) || n != int64(size) || truncated != (int64(size) > limit) {
						t.Fatalf("size %d, limit %d, hint %d, %s reader: got %d bytes (equal %v), size %d, truncated %v, err %v",
							size, limit, hint, name, len(got), bytes.Equal(got, want), n, truncated, err)
					}
					if got == nil {
						t.Fatalf("size %d, limit %d, hint %d, %s reader: nil, want a body (empty is not absent)", size, limit, hint, name)
					}
				}
			}
		}
	}
	// A body cut short says so, with what came.
	cut := io.MultiReader(bytes.NewReader([]byte("abcdef")), iotest.ErrReader(io.ErrUnexpectedEOF))
	got, n, _, err := ReadBody(cut, 1024, 100)
	if !errors.Is(err, io.ErrUnexpectedEOF) || string(got) != "abcdef" || n != 6 {
		t.Errorf("a body cut short: %q, %d, %v", got, n, err)
	}
}

// A body of no declared length takes its places as it grows past
// LargeBody, not only past where the allocator's rounding took its
// buffer (80 KiB), and holding them its buffer stays within max_body.
func TestReadBodyTakesPlacesPastLargeBody(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		size, limit int64
		held        int
	}{
		{LargeBody - 1, 10 << 20, 0},
		{LargeBody, 10 << 20, 1}, // its end is not seen without reading on
		{LargeBody + 1, 10 << 20, 1},
		{70 << 10, 10 << 20, 1},
		{3 << 20, 3 << 20, 1},
	} {
		c := New(Config{})
		big := largeBody{c: c, wait: false}
		body := bytes.Repeat([]byte("x"), int(tc.size))
		b, size, _, err := readBody(iotest.HalfReader(bytes.NewReader(body)), tc.limit, -1, &big)
		if err != nil || size != tc.size || !bytes.Equal(b, body[:min(tc.size, tc.limit)]) {
			t.Fatalf("%d bytes: read %d (size %d), %v", tc.size, len(b), size, err)
		}
		if big.held != tc.held {
			t.Errorf("a body of %d bytes holds %d places, want %d", tc.size, big.held, tc.held)
		}
		if int64(cap(b)) > tc.limit+1 {
			t.Errorf("a body of %d bytes under a %d-byte limit has a %d-byte buffer", tc.size, tc.limit, cap(b))
		}
		big.release()
	}
}
