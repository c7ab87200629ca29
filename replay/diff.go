package replay

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"mime"
	"net/http"
	"path"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/hooklab/hooklab/inspect"
)

// DiffOptions configure how a replayed response is compared with the
// recorded one. The zero value compares status, headers other than the
// volatile ones, and bodies exactly.
type DiffOptions struct {
	// Ignore lists paths in JSON bodies whose values are not compared, in
	// gjson style: "data.created_at", "items.#.id" (# is any array index),
	// "*" and "?" as wildcards within one segment, "\." for a literal dot.
	Ignore []string `json:"ignore,omitempty"`
	// IgnoreHeaders lists more headers to leave out (any case).
	IgnoreHeaders []string `json:"ignore_headers,omitempty"`
	// CompareHeaders lists volatile headers to compare after all, such as
	// ETag (any case); "Set-Cookie" compares cookie values, not only names.
	CompareHeaders []string `json:"compare_headers,omitempty"`
	// NoHeaders leaves all headers out of the comparison.
	NoHeaders bool `json:"no_headers,omitempty"`
	// Unordered compares JSON arrays as multisets: the order of elements
	// does not matter.
	Unordered bool `json:"unordered,omitempty"`
	// Tolerance is the largest difference between two JSON numbers that
	// still counts as equal (0: exact).
	Tolerance float64 `json:"tolerance,omitempty"`
}

// VolatileHeaders are the response headers left out of comparisons by
// default, because they change from one response to the next. Of
// Set-Cookie only the values are volatile: the cookie names are compared.
var VolatileHeaders = []string{"Date", "Set-Cookie", "X-Request-Id", "Content-Length", "Age", "ETag", "Server-Timing"}

// transportHeaders are never compared: they describe the connection or the
// negotiated encoding, not the answer (bodies are compared decoded, and
// browsers' HAR files keep Content-Encoding over decoded bodies).
var transportHeaders = []string{"Connection", "Keep-Alive", "Transfer-Encoding", "Proxy-Connection", "Content-Encoding"}

// Change is one difference between the recorded and the replayed response.
type Change struct {
	// Path says where: "status", "response", "header NAME", "body",
	// "body PATH" for a JSON value (gjson style, "body" alone for the root).
	Path string `json:"path"`
	// Kind is "changed", "added" (only in the replayed response) or
	// "removed" (only in the recorded one).
	Kind string `json:"kind"`
	// Old and New are the values: status codes, header values (one per
	// line), compact JSON, or a description of a binary body.
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// Unified holds the line diff of text bodies, in unified format.
	Unified string `json:"unified,omitempty"`
}

// The kinds of change.
const (
	Changed = "changed"
	Added   = "added"
	Removed = "removed"
)

// Compare returns the differences between the recorded response old and
// the replayed response new (nil responses allowed), and notes on what was
// not compared (a truncated recording, an undecodable body). No changes
// means the same.
func Compare(old, new *inspect.Response, opts DiffOptions) (changes []Change, notes []string) {
	switch {
	case old == nil && new == nil:
		return nil, nil
	case old == nil:
		return []Change{{Path: "response", Kind: Added, New: strconv.Itoa(new.Status)}}, []string{"the recording has no response"}
	case new == nil:
		return []Change{{Path: "response", Kind: Removed, Old: strconv.Itoa(old.Status)}}, nil
	}
	if old.Status != new.Status {
		changes = append(changes, Change{Path: "status", Kind: Changed, Old: strconv.Itoa(old.Status), New: strconv.Itoa(new.Status)})
	}
	if !opts.NoHeaders {
		changes = append(changes, compareHeaders(old.Headers, new.Headers, opts)...)
	}
	bc, bn := compareBodies(old, new, opts)
	return append(changes, bc...), bn
}

func compareHeaders(old, new inspect.Headers, opts DiffOptions) []Change {
	skip := map[string]bool{}
	for _, n := range transportHeaders {
		skip[http.CanonicalHeaderKey(n)] = true
	}
	for _, n := range VolatileHeaders {
		skip[http.CanonicalHeaderKey(n)] = true
	}
	for _, n := range opts.CompareHeaders {
		delete(skip, http.CanonicalHeaderKey(n))
	}
	for _, n := range opts.IgnoreHeaders {
		skip[http.CanonicalHeaderKey(n)] = true
	}
	cookieNames := skip["Set-Cookie"] && !containsFold(opts.IgnoreHeaders, "Set-Cookie")
	oh, nh := old.HTTP(), new.HTTP()
	names := map[string]bool{}
	for n := range oh {
		names[n] = true
	}
	for n := range nh {
		names[n] = true
	}
	var out []Change
	for _, n := range slices.Sorted(mapsKeys(names)) {
		ov, nv := oh[n], nh[n]
		if n == "Set-Cookie" && cookieNames {
			ov, nv = cookieNamesOf(ov), cookieNamesOf(nv)
		} else if skip[n] {
			continue
		}
		switch {
		case len(ov) == 0 && len(nv) > 0:
			out = append(out, Change{Path: "header " + n, Kind: Added, New: strings.Join(nv, "\n")})
		case len(nv) == 0 && len(ov) > 0:
			out = append(out, Change{Path: "header " + n, Kind: Removed, Old: strings.Join(ov, "\n")})
		case !slices.Equal(ov, nv):
			out = append(out, Change{Path: "header " + n, Kind: Changed, Old: strings.Join(ov, "\n"), New: strings.Join(nv, "\n")})
		}
	}
	return out
}

func mapsKeys(m map[string]bool) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// cookieNamesOf turns Set-Cookie values into "name (value not compared)".
func cookieNamesOf(vals []string) []string {
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		name, _, _ := strings.Cut(v, "=")
		out = append(out, strings.TrimSpace(name)+"=…")
	}
	slices.Sort(out)
	return out
}

// DecodeBody returns body without the Content-Encoding named in h (gzip or
// deflate), when the body really is so encoded; otherwise body itself.
// Browsers' HAR files hold decoded bodies under a Content-Encoding header.
func DecodeBody(h inspect.Headers, body []byte) []byte {
	switch strings.ToLower(strings.TrimSpace(h.Get("Content-Encoding"))) {
	case "gzip", "x-gzip":
		if len(body) < 2 || body[0] != 0x1f || body[1] != 0x8b {
			return body
		}
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			return body
		}
		out, err := io.ReadAll(io.LimitReader(zr, 256<<20))
		if err != nil {
			return body
		}
		return out
	case "deflate":
		out, err := io.ReadAll(io.LimitReader(flate.NewReader(bytes.NewReader(body)), 256<<20))
		if err != nil {
			return body
		}
		return out
	}
	return body
}

func compareBodies(old, new *inspect.Response, opts DiffOptions) ([]Change, []string) {
	ob, nb := DecodeBody(old.Headers, old.Body), DecodeBody(new.Headers, new.Body)
	var notes []string
	for _, r := range []*inspect.Response{old, new} {
		switch enc := strings.ToLower(strings.TrimSpace(r.Headers.Get("Content-Encoding"))); enc {
		case "", "identity", "gzip", "x-gzip", "deflate":
		default:
			if !slices.Contains(notes, enc) {
				notes = append(notes, fmt.Sprintf("a body is %s-encoded, which hooklab cannot decode: bodies compared as bytes (replay with --set-header 'Accept-Encoding: gzip' to compare content)", enc))
			}
		}
	}
	if old.Truncated {
		if len(ob) == 0 {
			return nil, []string{fmt.Sprintf("the recorded body (%d bytes) was not kept: bodies not compared", old.Size)}
		}
		notes = append(notes, fmt.Sprintf("the recorded body was cut at %d of %d bytes: compared that much", len(old.Body), old.Size))
		if len(nb) > len(ob) {
			nb = nb[:len(ob)]
		}
		if bytes.Equal(ob, nb) {
			return nil, notes
		}
		return []Change{binaryChange(ob, nb)}, notes
	}
	if bytes.Equal(ob, nb) {
		return nil, nil
	}
	if isJSON(old.Headers, ob) && isJSON(new.Headers, nb) {
		ov, oerr := decodeJSON(ob)
		nv, nerr := decodeJSON(nb)
		if oerr == nil && nerr == nil {
			return compareJSON(ov, nv, opts), notes
		}
	}
	if isText(ob) && isText(nb) {
		return []Change{{Path: "body", Kind: Changed, Unified: unified(string(ob), string(nb))}}, notes
	}
	return []Change{binaryChange(ob, nb)}, notes
}

func binaryChange(ob, nb []byte) Change {
	return Change{Path: "body", Kind: Changed, Old: describeBinary(ob), New: describeBinary(nb)}
}

func describeBinary(b []byte) string {
	sum := sha256.Sum256(b)
	return fmt.Sprintf("%d bytes, sha256 %s", len(b), hex.EncodeToString(sum[:8]))
}

func isJSON(h inspect.Headers, b []byte) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	if mt == "application/json" || strings.HasSuffix(mt, "+json") || strings.HasSuffix(mt, "/json") {
		return true
	}
	t := bytes.TrimSpace(b)
	return len(t) > 0 && (t[0] == '{' || t[0] == '[')
}

func isText(b []byte) bool { return utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 }

func decodeJSON(b []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the JSON value")
	}
	return v, nil
}

// compareJSON diffs two decoded documents with go-cmp after removing the
// ignored paths and, with Unordered, sorting arrays.
func compareJSON(ov, nv any, opts DiffOptions) []Change {
	ign := compileIgnores(opts.Ignore)
	ov = normalize(ov, nil, ign, opts.Unordered)
	nv = normalize(nv, nil, ign, opts.Unordered)
	tol := opts.Tolerance
	numbers := cmp.Comparer(func(a, b json.Number) bool {
		if a == b {
			return true
		}
		// Exactly, in decimal: 1.0 equals 1, and ids past 2^53 stay apart.
		// (Not with exponents, which could ask big.Rat for huge numbers.)
		if !strings.ContainsAny(string(a)+string(b), "eE") {
			ra, ok1 := new(big.Rat).SetString(string(a))
			rb, ok2 := new(big.Rat).SetString(string(b))
			if ok1 && ok2 {
				if ra.Cmp(rb) == 0 {
					return true
				}
				if tol == 0 {
					return false
				}
			}
		}
		fa, err1 := a.Float64()
		fb, err2 := b.Float64()
		if err1 != nil || err2 != nil {
			return false
		}
		d := fa - fb
		return d <= tol && -d <= tol
	})
	var r collector
	cmp.Equal(ov, nv, numbers, cmp.Reporter(&r))
	slices.SortStableFunc(r.changes, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return r.changes
}

// collector is a cmp.Reporter that keeps each unequal leaf as a Change.
type collector struct {
	steps   []cmp.PathStep
	changes []Change
}

func (c *collector) PushStep(ps cmp.PathStep) { c.steps = append(c.steps, ps) }
func (c *collector) PopStep()                 { c.steps = c.steps[:len(c.steps)-1] }

func (c *collector) Report(rs cmp.Result) {
	if rs.Equal() {
		return
	}
	var segs []string
	for _, s := range c.steps {
		switch s := s.(type) {
		case cmp.MapIndex:
			segs = append(segs, strings.ReplaceAll(s.Key().String(), ".", `\.`))
		case cmp.SliceIndex:
			ix, iy := s.SplitKeys()
			if ix < 0 {
				ix = iy
			}
			segs = append(segs, strconv.Itoa(ix))
		}
	}
	p := "body"
	if len(segs) > 0 {
		p += " " + strings.Join(segs, ".")
	}
	vx, vy := c.steps[len(c.steps)-1].Values()
	ch := Change{Path: p, Kind: Changed}
	switch {
	case !vx.IsValid():
		ch.Kind, ch.New = Added, compact(vy)
	case !vy.IsValid():
		ch.Kind, ch.Old = Removed, compact(vx)
	default:
		ch.Old, ch.New = compact(vx), compact(vy)
	}
	c.changes = append(c.changes, ch)
}

func compact(v reflect.Value) string {
	if !v.IsValid() || !v.CanInterface() {
		return ""
	}
	b, err := json.Marshal(v.Interface())
	if err != nil {
		return fmt.Sprint(v.Interface())
	}
	if len(b) > 200 {
		return string(b[:197]) + "..."
	}
	return string(b)
}

// ignorePath is one compiled ignore pattern: its segments.
type ignorePath []string

func compileIgnores(paths []string) []ignorePath {
	out := make([]ignorePath, 0, len(paths))
	for _, p := range paths {
		p = strings.TrimPrefix(strings.TrimSpace(p), "body.")
		if p == "" {
			continue
		}
		out = append(out, splitPath(p))
	}
	return out
}

// splitPath splits a gjson-style path at unescaped dots.
func splitPath(p string) []string {
	var segs []string
	var cur strings.Builder
	for i := 0; i < len(p); i++ {
		switch {
		case p[i] == '\\' && i+1 < len(p):
			i++
			cur.WriteByte(p[i])
		case p[i] == '.':
			segs = append(segs, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(p[i])
		}
	}
	return append(segs, cur.String())
}

func ignored(pats []ignorePath, at []string) bool {
	for _, p := range pats {
		if len(p) != len(at) {
			continue
		}
		ok := true
		for i, seg := range p {
			if seg == "#" && isIndex(at[i]) {
				continue
			}
			if seg == at[i] {
				continue
			}
			if m, err := path.Match(seg, at[i]); err == nil && m {
				continue
			}
			ok = false
			break
		}
		if ok {
			return true
		}
	}
	return false
}

func isIndex(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil && s != ""
}

// normalize drops ignored paths and, when unordered, sorts arrays by the
// canonical JSON of their (normalized) elements.
func normalize(v any, at []string, pats []ignorePath, unordered bool) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			p := append(slices.Clip(at), k)
			if ignored(pats, p) {
				continue
			}
			out[k] = normalize(x, p, pats, unordered)
		}
		return out
	case []any:
		out := make([]any, 0, len(v))
		for i, x := range v {
			p := append(slices.Clip(at), strconv.Itoa(i))
			if ignored(pats, p) {
				continue
			}
			out = append(out, normalize(x, p, pats, unordered))
		}
		if unordered {
			keys := make([]string, len(out))
			for i, x := range out {
				b, _ := json.Marshal(x)
				keys[i] = string(b)
			}
			idx := make([]int, len(out))
			for i := range idx {
				idx[i] = i
			}
			slices.SortStableFunc(idx, func(a, b int) int { return strings.Compare(keys[a], keys[b]) })
			sorted := make([]any, len(out))
			for i, j := range idx {
				sorted[i] = out[j]
			}
			out = sorted
		}
		return out
	}
	return v
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// pathMatchCheck reports a malformed glob in an ignore path.
func pathMatchCheck(p string) (bool, error) {
	for _, seg := range splitPath(strings.TrimPrefix(p, "body.")) {
		if _, err := path.Match(seg, ""); err != nil {
			return false, err
		}
	}
	return true, nil
}
