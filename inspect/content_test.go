package inspect

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"errors"
	"io"
	"testing"

	"github.com/andybalholm/brotli"
)

// TestDecodeContent: gzip, deflate as HTTP sends it (zlib-wrapped) and as
// some servers do (raw) and br decode; text under a coding's header does
// not; zstd is reported unsupported.
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
	br := enc(func(w io.Writer) io.WriteCloser { return brotli.NewWriter(w) })
	for _, tc := range []struct {
		ce   string
		body []byte
		ok   bool
	}{
		{"gzip", gz, true}, {"x-gzip", gz, true}, {"deflate", zl, true}, {"deflate", raw, true},
		{"br, gzip", gz, true}, {"", plain, true}, {"identity", plain, true},
		{"gzip", plain, false}, {"deflate", []byte("80 bottles of beer on the wall"), false},
		// Brotli, which Node's fetch and browsers ask for: a proxied
		// answer in it read as bytes in search, json: and diffs.
		{"br", br, true}, {"gzip, br", br, true}, {"br", plain, false},
	} {
		out, err := DecodeContent(tc.ce, tc.body, 1<<20)
		if (err == nil) != tc.ok || tc.ok && !bytes.Equal(out, plain) {
			t.Errorf("%q %x: %q, %v", tc.ce, tc.body[:4], out, err)
		}
	}
	if _, err := DecodeContent("zstd", []byte{1, 2, 3}, 1<<20); !errors.Is(err, errors.ErrUnsupported) {
		t.Errorf("zstd: %v", err)
	}
	// A limit holds for brotli as for gzip: a small body can decode to
	// gigabytes.
	big := enc(func(w io.Writer) io.WriteCloser {
		bw := brotli.NewWriter(w)
		return struct {
			io.Writer
			io.Closer
		}{bw, closerFunc(func() error { bw.Write(bytes.Repeat([]byte("a"), 1<<22)); return bw.Close() })}
	})
	if out, err := DecodeContent("br", big, 1000); err != nil || len(out) != 1000 {
		t.Errorf("br over the limit: %d bytes, %v", len(out), err)
	}
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

// TestAPIDecoded: GET /api/exchanges/{id}/decoded answers a body decoded
// from its Content-Encoding, for the UI's viewers (a browser decodes no
// br itself); a body that does not decode, or a wrong part, says why.
func TestAPIDecoded(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	plain := []byte(`{"items":["decoded"]}`)
	ex := newEx("d", "POST", "http://h/br", reqBody([]byte("not br")), reqHeader("Content-Encoding", "br"))
	ex.Response.Headers = Headers{{"Content-Encoding", "br"}, {"Content-Type", "application/json"}}
	ex.Response.Body = encoded(t, "br", string(plain))
	mustAdd(t, e.store, ex)
	r := e.do(t, "GET", "/api/exchanges/"+ex.ID+"/decoded?part=response", "", "")
	if r.status != 200 || !bytes.Equal(r.body, plain) || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("response decoded: %d %q %q", r.status, r.header.Get("Content-Type"), r.body)
	}
	e.do(t, "GET", "/api/exchanges/"+ex.ID+"/decoded?part=request", "", "").wantError(t, 422, "does not decode as br")
	e.do(t, "GET", "/api/exchanges/"+ex.ID+"/decoded?part=body", "", "").wantError(t, 400, "want request or response")
	e.do(t, "GET", "/api/exchanges/"+ex.ID+"/decoded", "", "").wantError(t, 400, "want request or response")
	e.do(t, "GET", "/api/exchanges/"+ex.ID+"/decoded?part=response&x=1", "", "").wantError(t, 400, "x")
	e.do(t, "GET", "/api/exchanges/01JNB5Z3Q0000000000000000Z/decoded?part=response", "", "").wantError(t, 404)
}
