package rules

import (
	"bytes"
	"mime/multipart"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// FuzzVerifySignature runs every scheme's verifier on random headers and
// bodies (it must never panic, nor accept a signature made with another
// secret), and checks that what Sign makes, VerifySignature accepts, and
// that a changed body is refused.
func FuzzVerifySignature(f *testing.F) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	f.Add(uint8(0), "zd-secret", "sig", "2025-06-01T12:00:00Z", []byte(`{"a":1}`), int64(0))
	f.Add(uint8(1), "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "v1,abc v1,=", "1748779200", []byte(`{}`), int64(-5))
	f.Add(uint8(1), "whsec_", "v2,x", "-1", []byte(nil), int64(0))
	f.Add(uint8(2), "gh", "sha256=zz", "", []byte("body"), int64(0))
	f.Add(uint8(3), "sk", "t=1748779200,v1=00,v0=11,t=2", "", []byte("x"), int64(3600))
	f.Add(uint8(3), "sk", "t=,v1=,,=,", "", []byte(""), int64(0))
	f.Add(uint8(4), "slack", "v0=abcd", "99999999999999999999", []byte("a=b"), int64(0))
	f.Add(uint8(5), "shop", "====", "", []byte("x"), int64(1))
	f.Fuzz(func(t *testing.T, which uint8, secret, sigVal, tsVal string, body []byte, skew int64) {
		schemes := Schemes()
		scheme := schemes[int(which)%len(schemes)]
		// Random headers: every header any scheme reads.
		h := http.Header{}
		for _, name := range []string{hdrZendeskSig, hdrSWSig, hdrGitHubSig, hdrStripeSig, hdrSlackSig, hdrShopifySig} {
			h.Set(name, sigVal)
		}
		for _, name := range []string{hdrZendeskTS, hdrSWTS, hdrSlackTS, hdrSWID} {
			h.Set(name, tsVal)
		}
		VerifySignature(scheme, secret, h, body, now, 0)
		VerifySignature(scheme, secret, http.Header{}, body, now, time.Duration(skew))

		// What Sign makes verifies, within the tolerance.
		at := now.Add(time.Duration(skew%300) * time.Second)
		signed, err := Sign(scheme, []string{secret}, "msg_"+tsVal, at, body)
		if err != nil {
			return // a secret Sign refuses (empty, or not whsec_ base64)
		}
		if ok, why := VerifySignature(scheme, secret, signed, body, now, 0); !ok {
			t.Fatalf("%s: a fresh signature does not verify: %s (headers %v)", scheme, why, signed)
		}
		changed := append(bytes.Clone(body), 'x')
		if ok, _ := VerifySignature(scheme, secret, signed, changed, now, 0); ok {
			t.Fatalf("%s: a changed body verifies", scheme)
		}
		if other := secret + "x"; !strings.HasPrefix(secret, "whsec_") {
			if ok, _ := VerifySignature(scheme, other, signed, body, now, 0); ok {
				t.Fatalf("%s: another secret verifies", scheme)
			}
		}
	})
}

// FuzzMultipartForm feeds random multipart bodies and boundaries to what
// matchers and templates read from a form (request.form, form conditions).
func FuzzMultipartForm(f *testing.F) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.SetBoundary("zz")
	_ = mw.WriteField("a", "x")
	_ = mw.WriteField("a", "y")
	fw, _ := mw.CreateFormFile("file", "f.txt")
	_, _ = fw.Write([]byte("file body"))
	_ = mw.Close()
	f.Add("zz", buf.Bytes())
	f.Add("zz", []byte("--zz\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nx\r\n--zz--\r\n"))
	f.Add("zz", []byte("--zz\r\nContent-Disposition: form-data; name*=UTF-8''%E2%82%AC\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=E2=82=AC=\r\n--zz--"))
	f.Add("a b", []byte("--a b\r\n\r\n\r\n--a b--"))
	f.Add(strings.Repeat("b", 70), []byte("--"))
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		r := &Request{
			Method: http.MethodPost, Path: "/f",
			Header: http.Header{"Content-Type": {"multipart/form-data; boundary=\"" + strings.ReplaceAll(boundary, `"`, "") + "\""}},
			Body:   body,
		}
		vars := RequestVars(r, nil)
		form := vars["request"].(map[string]any)["form"]
		if form == nil {
			t.Fatal("request.form is nil")
		}
		// A form condition reads the same fields.
		m := &Matcher{Form: map[string]*Cond{"a": {Present: true}}}
		_, _ = m.Match(r)
	})
}

// FuzzMultipartRoundTrip: the fields of a form mime/multipart writes (any
// boundary it accepts, any names and values) are what request.form holds
// and what a form condition sees.
func FuzzMultipartRoundTrip(f *testing.F) {
	f.Add("zz", "a", "x", "b", "y")
	f.Add("zz", "a", "x", "a", "y")
	f.Add("b0und ary", `q"uo\te`, "v\r\nw", "€", "")
	f.Add("x", "a", "--x", "b", "\r\n--x\r\n")
	f.Fuzz(func(t *testing.T, boundary, n1, v1, n2, v2 string) {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		if mw.SetBoundary(boundary) != nil {
			return
		}
		want := map[string][]string{}
		for _, fv := range [][2]string{{n1, v1}, {n2, v2}} {
			// A name is a quoted string without control bytes (which
			// mime.ParseMediaType refuses); a value cannot hold
			// the boundary (mime/multipart writes both as given).
			if fv[0] == "" || strings.ContainsFunc(fv[0], func(r rune) bool { return r < ' ' || r == 0x7f }) || strings.Contains(fv[1], "--"+boundary) {
				return
			}
			if err := mw.WriteField(fv[0], fv[1]); err != nil {
				t.Fatal(err)
			}
			want[fv[0]] = append(want[fv[0]], fv[1])
		}
		if err := mw.Close(); err != nil {
			t.Fatal(err)
		}
		r := &Request{Method: http.MethodPost, Path: "/f", Header: http.Header{"Content-Type": {mw.FormDataContentType()}}, Body: buf.Bytes()}
		form := RequestVars(r, nil)["request"].(map[string]any)["form"].(map[string]any)
		if len(form) != len(want) {
			t.Fatalf("form %q, want %q", form, want)
		}
		for name, vs := range want {
			got := form[name]
			if len(vs) == 1 && got != vs[0] || len(vs) == 2 && !reflect.DeepEqual(got, []any{vs[0], vs[1]}) {
				t.Fatalf("form[%q] = %q, want %q", name, got, vs)
			}
		}
		m := &Matcher{Form: map[string]*Cond{n1: {Present: true}}}
		if _, ok := m.Match(r); !ok {
			t.Fatalf("form condition: %q not present in %q (%q)", n1, form, m.Explain(r))
		}
	})
}
