package inspect

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"testing"
)

// TestDecodeContent: gzip, deflate as HTTP sends it (zlib-wrapped) and as
// some servers do (raw) decode; text under a coding's header does not;
// br is reported unsupported.
func TestDecodeContent(t *testing.T) {
	t.Parallel()
	plain := []byte(`{"compressed":true}`)
	enc := func(w func(io.Writer) io.WriteCloser) []byte {
		var b bytes.Buffer
		zw := w(&b)
		zw.Write(plain)
		zw.Close()
		return b.Bytes()
	}
	gz := enc(func(w io.Writer) io.WriteCloser { return gzip.NewWriter(w) })
	zl := enc(func(w io.Writer) io.WriteCloser { return zlib.NewWriter(w) })
	raw := enc(func(w io.Writer) io.WriteCloser { fw, _ := flate.NewWriter(w, 5); return fw })
	for _, tc := range []struct {
		ce   string
		body []byte
		ok   bool
	}{
		{"gzip", gz, true}, {"x-gzip", gz, true}, {"deflate", zl, true}, {"deflate", raw, true},
		{"br, gzip", gz, true}, {"", plain, true}, {"identity", plain, true},
		{"gzip", plain, false}, {"deflate", []byte("80 bottles of beer on the wall"), false},
	} {
		out, err := DecodeContent(tc.ce, tc.body, 1<<20)
		if (err == nil) != tc.ok || tc.ok && !bytes.Equal(out, plain) {
			t.Errorf("%q %x: %q, %v", tc.ce, tc.body[:4], out, err)
		}
	}
	if _, err := DecodeContent("br", []byte{1, 2, 3}, 1<<20); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("br: %v", err)
	}
}
