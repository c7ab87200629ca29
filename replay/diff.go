package replay

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
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
	// SecretHeaders names more headers whose values a diff shows as
	// inspect.Redacted, besides those inspect.IsSecretHeader knows.
	SecretHeaders []string `json:"-"`
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
	// line), compact JSON, or a description (size and hash) of a binary
	// body or of a text body over 1 MiB.
	Old string `json:"old,omitempty"`
	New string `json:"new,omitempty"`
	// Unified holds the line diff of text bodies, in unified format, each
	// line cut after 1 KiB (" … N bytes more" at its end) and the whole
	// after 64 KiB (a last line "… diff cut here: N bytes more").
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
// not compared (a truncated body, an undecodable one). A body cut when
// recorded or replayed is compared as far as both bodies go. No changes
// means the same.
func Compare(old, new *inspect.Response, opts DiffOptions) (changes []Change, notes []string) {
	return newDiffer(opts).compare(old, new, "")
}

// differ is DiffOptions prepared once for many comparisons.
type differ struct {
	opts        DiffOptions
	skip        map[string]bool // canonical header names left out
	cookieNames bool            // compare Set-Cookie by cookie names only
	ignores     []ignorePath
}

func newDiffer(opts DiffOptions) *differ {
	d := &differ{opts: opts, skip: map[string]bool{}, ignores: compileIgnores(opts.Ignore)}
	for _, n := range transportHeaders {
		d.skip[http.CanonicalHeaderKey(n)] = true
	}
	for _, n := range VolatileHeaders {
		d.skip[http.CanonicalHeaderKey(n)] = true
	}
	for _, n := range opts.CompareHeaders {
		delete(d.skip, http.CanonicalHeaderKey(n))
	}
	for _, n := range opts.IgnoreHeaders {
		d.skip[http.CanonicalHeaderKey(n)] = true
	}
	d.cookieNames = d.skip["Set-Cookie"] && !containsFold(opts.IgnoreHeaders, "Set-Cookie")
	return d
}

// compare is Compare. cutOff, when not empty, says why the recorded
// answer was cut off on the recording's side (the client went away): its
// body is compared as far as it goes, and its size, which is not the
// answer's, not at all.
func (d *differ) compare(old, new *inspect.Response, cutOff string) (changes []Change, notes []string) {
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
	var hn []string
	if !d.opts.NoHeaders {
		var hc []Change
		hc, hn = d.compareHeaders(old.Headers, new.Headers)
		changes = append(changes, hc...)
	}
	bc, bn := d.compareBodies(old, new, cutOff)
	return append(changes, bc...), append(hn, bn...)
}

// headerValues is one header name (canonical) with its values in order.
type headerValues struct {
	name string
	vals []string
}

// collect groups h by canonical name, sorted by name, without skipped ones.
func (d *differ) collect(h inspect.Headers) []headerValues {
	out := make([]headerValues, 0, len(h))
	for _, x := range h {
		n := http.CanonicalHeaderKey(x.Name)
		if d.skip[n] && !(n == "Set-Cookie" && d.cookieNames) {
			continue
		}
		if i := slices.IndexFunc(out, func(hv headerValues) bool { return hv.name == n }); i >= 0 {
			out[i].vals = append(out[i].vals, x.Value)
			continue
		}
		out = append(out, headerValues{n, []string{x.Value}})
	}
	slices.SortFunc(out, func(a, b headerValues) int { return strings.Compare(a.name, b.name) })
	if d.cookieNames {
		for i := range out {
			if out[i].name == "Set-Cookie" {
				out[i].vals = cookieNamesOf(out[i].vals)
			}
		}
	}
	return out
}

// compareHeaders compares headers by name. A secret header recorded as
// inspect.Redacted (a HAR exported without its secrets) holds no value to
// compare: only that the replay has it too (as many times) counts, and a
// note says so.
func (d *differ) compareHeaders(old, new inspect.Headers) (out []Change, notes []string) {
	oh, nh := d.collect(old), d.collect(new)
	i, j := 0, 0
	for i < len(oh) || j < len(nh) {
		switch {
		case j == len(nh) || i < len(oh) && oh[i].name < nh[j].name:
			out = append(out, Change{Path: "header " + oh[i].name, Kind: Removed, Old: d.shown(oh[i].name, oh[i].vals)})
			i++
		case i == len(oh) || nh[j].name < oh[i].name:
			out = append(out, Change{Path: "header " + nh[j].name, Kind: Added, New: d.shown(nh[j].name, nh[j].vals)})
			j++
		default:
			switch {
			case slices.Equal(oh[i].vals, nh[j].vals):
			case len(oh[i].vals) == len(nh[j].vals) && d.recordedRedacted(oh[i]):
				notes = append(notes, fmt.Sprintf("header %s was recorded %s (exported without --keep-secrets): its value is not compared", oh[i].name, inspect.Redacted))
			default:
				out = append(out, Change{Path: "header " + oh[i].name, Kind: Changed, Old: d.shown(oh[i].name, oh[i].vals), New: d.shown(nh[j].name, nh[j].vals)})
			}
			i, j = i+1, j+1
		}
	}
	return out, notes
}

// recordedRedacted reports whether every value of a recorded secret header
// is inspect.Redacted (by cookie names, every cookie's name).
func (d *differ) recordedRedacted(h headerValues) bool {
	if !inspect.IsSecretHeader(h.name, d.opts.SecretHeaders) {
		return false
	}
	redacted := inspect.Redacted
	if d.cookieNames && h.name == "Set-Cookie" {
		redacted = inspect.Redacted + "=…"
	}
	for _, v := range h.vals {
		if v != redacted {
			return false
		}
	}
	return true
}

// shown joins a header's values for a diff, each replaced by
// inspect.Redacted when the header holds secrets (Set-Cookie compared by
// cookie names shows the names only, which are kept).
func (d *differ) shown(name string, vals []string) string {
	if !inspect.IsSecretHeader(name, d.opts.SecretHeaders) || d.cookieNames && http.CanonicalHeaderKey(name) == "Set-Cookie" {
		return strings.Join(vals, "\n")
	}
	out := make([]string, len(vals))
	for i := range out {
		out[i] = inspect.Redacted
	}
	return strings.Join(out, "\n")
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
// It decodes at most 256 MiB.
func DecodeBody(h inspect.Headers, body []byte) []byte {
	return decodeBody(h, body, maxDecodeBody)
}

// maxDecodeBody bounds DecodeBody, whose result is served as a recorded
// answer's body (hooklabtest's HAR fixtures): the diff's own bound
// (maxDiffDecoded) cut those at 32 MiB.
const maxDecodeBody = 256 << 20

// decodeBody is DecodeBody decoding at most limit bytes.
func decodeBody(h inspect.Headers, body []byte, limit int64) []byte {
	if out, err := inspect.DecodeContent(h.Get("Content-Encoding"), body, limit); err == nil {
		return out
	}
	return body
}

// maxDiffDecoded bounds the decoding of a body to compare it: a few KB of
// gzip decode to that much, for each side of every diff in flight (at 256
// MiB, a replay of recorded 1 GB bombs, one at a time, took hooklab to
// 1.9 GB). A body that decodes to more is compared that far, and a note
// says so.
const maxDiffDecoded = inspect.MaxDecodedView

func (d *differ) compareBodies(old, new *inspect.Response, cutOff string) ([]Change, []string) {
	// The same bytes in the same coding decode the same: nothing to
	// decode (a recorded bomb answered again as it was costs nothing).
	if !old.Truncated && !new.Truncated && cutOff == "" && bytes.Equal(old.Body, new.Body) &&
		strings.EqualFold(strings.TrimSpace(old.Headers.Get("Content-Encoding")), strings.TrimSpace(new.Headers.Get("Content-Encoding"))) {
		return nil, nil
	}
	// As DecodeBody, but a recording cut mid-stream, which does not decode
	// to its end, as far as it does (not its compressed bytes, which the
	// replay's decoded ones would never match).
	// odec, ndec: the body was decoded (so maybe cut at maxDiffDecoded+1),
	// not taken as it came, which is compared whole however long.
	oce := old.Headers.Get("Content-Encoding")
	ob, err := inspect.DecodeContent(oce, old.Body, maxDiffDecoded+1)
	odec := !inspect.IdentityCoding(oce)
	if cut := old.Truncated || cutOff != ""; err != nil && !(cut && errors.Is(err, io.ErrUnexpectedEOF) && len(ob) > 0) {
		ob, odec = old.Body, false
	}
	// The replayed body is as it came over the wire (a recorded one may be
	// a browser's, decoded already): one its Content-Encoding does not
	// decode is one no client could read (unless the recorded one was the
	// same bytes).
	enc := new.Headers.Get("Content-Encoding")
	nb, err := inspect.DecodeContent(enc, new.Body, maxDiffDecoded+1)
	ndec := !inspect.IdentityCoding(enc)
	if err != nil {
		if !new.Truncated || len(nb) == 0 {
			nb, ndec = new.Body, false
		} // else as far as the cut body decodes
		same := bytes.Equal(old.Body, new.Body) && strings.EqualFold(old.Headers.Get("Content-Encoding"), enc) // the recorded answer was as broken
		if !new.Truncated && !same && len(new.Body) > 0 && !errors.Is(err, errors.ErrUnsupported) {            // none: a HEAD's, a 204's
			return []Change{{Path: "body", Kind: Changed, Old: "as recorded",
				New: fmt.Sprintf("Content-Encoding %s, but the body does not decode (%v): %s", enc, err, describeBinary(new.Body))}}, nil
		}
	}
	var notes []string
	noted := ""
	for _, r := range []*inspect.Response{old, new} {
		switch enc := strings.ToLower(strings.TrimSpace(r.Headers.Get("Content-Encoding"))); enc {
		case "", "identity", "gzip", "x-gzip", "deflate", "br":
		default:
			if enc != noted {
				noted = enc
				notes = append(notes, fmt.Sprintf("a body is %s-encoded, which hooklab cannot decode: bodies compared as bytes (replay with --set-header 'Accept-Encoding: gzip' to compare content)", enc))
			}
		}
	}
	var limited []string // said even when the bodies are alike that far
	ocut, ncut := odec && len(ob) > maxDiffDecoded, ndec && len(nb) > maxDiffDecoded
	if ocut || ncut {
		limited = []string{fmt.Sprintf("a body decodes to more than %d MiB: compared its first %d MiB decoded", maxDiffDecoded>>20, maxDiffDecoded>>20)}
		notes = append(notes, limited...)
		// Both go past the bound: alike or not that far. One that ends
		// within it (a body that came as it is, compared whole however
		// long, or decoded whole) differs from one cut there, however
		// alike the bytes before the cut.
		if len(ob) > maxDiffDecoded && len(nb) > maxDiffDecoded {
			ob, nb = ob[:maxDiffDecoded], nb[:maxDiffDecoded]
		}
	}
	// A body cut when recorded or when replayed is compared as far as it
	// goes: the cut alone is no difference.
	if old.Truncated && len(ob) == 0 {
		return nil, []string{fmt.Sprintf("the recorded body (%d bytes) was not kept: bodies not compared", old.Size)}
	}
	if old.Truncated {
		notes = append(notes, fmt.Sprintf("the recorded body was cut at %d of %d bytes: compared that much", len(old.Body), old.Size))
	}
	if cutOff != "" {
		notes = append(notes, fmt.Sprintf("the recorded body stops where the answer was cut off (%s): compared that much", cutOff))
	}
	if (old.Truncated || cutOff != "") && len(nb) > len(ob) {
		nb = nb[:len(ob)]
	}
	if new.Truncated {
		notes = append(notes, fmt.Sprintf("the replayed body was cut at %d of %d bytes: compared that much", len(new.Body), new.Size))
		if len(ob) > len(nb) {
			ob = ob[:len(nb)]
		}
	}
	if old.Truncated || new.Truncated || cutOff != "" {
		var changes []Change
		if !bytes.Equal(ob, nb) {
			changes = append(changes, binaryChange(ob, nb))
		}
		// The sizes sent are known either way: bodies alike as far as
		// both were kept still differ when one is longer (a recorded
		// answer cut off has no size to compare).
		if old.Size != new.Size && cutOff == "" {
			changes = append(changes, Change{Path: "body size", Kind: Changed, Old: fmt.Sprintf("%d bytes", old.Size), New: fmt.Sprintf("%d bytes", new.Size)})
		}
		return changes, notes
	}
	if bytes.Equal(ob, nb) {
		return nil, limited
	}
	if isJSON(old.Headers, ob) && isJSON(new.Headers, nb) {
		ov, oerr := decodeJSON(ob)
		nv, nerr := decodeJSON(nb)
		if oerr == nil && nerr == nil {
			return d.compareJSON(ov, nv), notes
		}
	}
	if isText(ob) && isText(nb) {
		if len(ob) > maxTextDiff || len(nb) > maxTextDiff {
			notes = append(notes, fmt.Sprintf("text bodies over %d MiB are compared by size and hash, not line by line: they first differ on line %d", maxTextDiff>>20, firstDiffLine(ob, nb)))
			return []Change{{Path: "body", Kind: Changed, Old: describeText(ob), New: describeText(nb)}}, notes
		}
		return []Change{{Path: "body", Kind: Changed, Unified: unified(string(ob), string(nb))}}, notes
	}
	return []Change{binaryChange(ob, nb)}, notes
}

func binaryChange(ob, nb []byte) Change {
	return Change{Path: "body", Kind: Changed, Old: describeBinary(ob), New: describeBinary(nb)}
}

func describeBinary(b []byte) string {
	return fmt.Sprintf("%d bytes, %s", len(b), hashOf(b))
}

// hashOf is the start of b's SHA-256, to tell bodies apart in a diff.
func hashOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256 " + hex.EncodeToString(sum[:8])
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
func (d *differ) compareJSON(ov, nv any) []Change {
	ov = normalize(ov, nil, d.ignores)
	nv = normalize(nv, nil, d.ignores)
	tol := d.opts.Tolerance
	var bigTol *big.Rat
	if tol > 0 {
		bigTol = new(big.Rat).SetFloat64(tol)
	}
	numbers := cmp.Comparer(func(a, b json.Number) bool {
		if a == b {
			return true
		}
		// Exactly, in decimal: 1.0 equals 1, and ids past 2^53 stay apart,
		// within the tolerance too. (Not with exponents, which could ask
		// big.Rat for huge numbers.)
		if !strings.ContainsAny(string(a)+string(b), "eE") {
			ra, ok1 := new(big.Rat).SetString(string(a))
			rb, ok2 := new(big.Rat).SetString(string(b))
			if ok1 && ok2 {
				if ra.Cmp(rb) == 0 {
					return true
				}
				if bigTol == nil {
					return false
				}
				return new(big.Rat).Abs(ra.Sub(ra, rb)).Cmp(bigTol) <= 0
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
	if d.opts.Unordered {
		a := aligner{eq: func(a, b any) bool { return cmp.Equal(a, b, numbers) }, budget: maxAlignCompares, from: map[uintptr][]int{}}
		nv = a.align(ov, nv)
		r.from = a.from
	}
	cmp.Equal(ov, nv, numbers, cmp.Reporter(&r))
	slices.SortStableFunc(r.changes, func(a, b Change) int { return strings.Compare(a.Path, b.Path) })
	return r.changes
}

// collector is a cmp.Reporter that keeps each unequal leaf as a Change.
type collector struct {
	steps   []cmp.PathStep
	changes []Change
	// from maps the arrays align reordered (by their first element's
	// address) to the replayed index of each element, for the paths.
	from map[uintptr][]int
}

func (c *collector) PushStep(ps cmp.PathStep) { c.steps = append(c.steps, ps) }
func (c *collector) PopStep()                 { c.steps = c.steps[:len(c.steps)-1] }

func (c *collector) Report(rs cmp.Result) {
	if rs.Equal() {
		return
	}
	var segs []string
	for k, s := range c.steps {
		switch s := s.(type) {
		case cmp.MapIndex:
			segs = append(segs, strings.ReplaceAll(s.Key().String(), ".", `\.`))
		case cmp.SliceIndex:
			ix, iy := s.SplitKeys()
			segs = append(segs, sliceStep(ix, c.replayedIndex(k, iy)))
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

// replayedIndex is index iy of the array step k is in, in the replayed
// body as it came (before align reordered it).
func (c *collector) replayedIndex(k, iy int) int {
	if iy < 0 || len(c.from) == 0 {
		return iy
	}
	for j := k - 1; j >= 0; j-- {
		_, vy := c.steps[j].Values()
		if vy.Kind() == reflect.Interface {
			vy = vy.Elem()
		}
		if vy.IsValid() && vy.Kind() == reflect.Slice {
			if idx, ok := c.from[vy.Pointer()]; ok && iy < len(idx) {
				return idx[iy]
			}
			return iy
		}
	}
	return iy
}

// sliceStep names an array element in a Change path by its recorded
// index ix, unambiguously when the two sides do not agree: "1" is index 1
// in both, "1→0" recorded 1 and replayed 0 (the element moved), "0→" only
// recorded (removed), "→2" only replayed (added). -1 is no index.
func sliceStep(ix, iy int) string {
	switch {
	case ix == iy:
		return strconv.Itoa(ix)
	case iy < 0:
		return strconv.Itoa(ix) + "→"
	case ix < 0:
		return "→" + strconv.Itoa(iy)
	}
	return strconv.Itoa(ix) + "→" + strconv.Itoa(iy)
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

// ignoredValues lists what the Ignore paths and IgnoreHeaders left out of
// the comparison of old and new, for showing greyed beside the changes:
// "header NAME" for each listed header either response has, and "body
// PATH" for each JSON value an Ignore path matched (in either body, when
// both are JSON). Kind says how the two differ: Changed, Added, Removed
// or Same. Nil when nothing was left out or a response is missing.
func (d *differ) ignoredValues(old, new *inspect.Response) []Change {
	if old == nil || new == nil {
		return nil
	}
	var out []Change
	if !d.opts.NoHeaders {
		seen := map[string]bool{}
		for _, n := range d.opts.IgnoreHeaders {
			n = http.CanonicalHeaderKey(strings.TrimSpace(n))
			if n == "" || seen[n] {
				continue
			}
			seen[n] = true
			ov, nv := headerValuesOf(old.Headers, n), headerValuesOf(new.Headers, n)
			if len(ov) == 0 && len(nv) == 0 {
				continue
			}
			// Values are compared as stored and shown redacted when secret.
			c := valueChange("header "+n, len(ov) > 0, len(nv) > 0, strings.Join(ov, "\n"), strings.Join(nv, "\n"))
			if c.Old != "" {
				c.Old = d.shown(n, ov)
			}
			if c.New != "" {
				c.New = d.shown(n, nv)
			}
			out = append(out, c)
		}
	}
	if len(d.ignores) == 0 || old.Truncated || new.Truncated {
		return out
	}
	ob, nb := decodeBody(old.Headers, old.Body, maxDiffDecoded), decodeBody(new.Headers, new.Body, maxDiffDecoded)
	if !isJSON(old.Headers, ob) || !isJSON(new.Headers, nb) {
		return out
	}
	ov, oerr := decodeJSON(ob)
	nv, nerr := decodeJSON(nb)
	if oerr != nil || nerr != nil {
		return out
	}
	om, nm := map[string]string{}, map[string]string{}
	var paths []string
	collect := func(m map[string]string) func([]string, any) {
		return func(at []string, v any) {
			p := ignoredPath(at)
			if _, ok := om[p]; !ok {
				if _, ok := nm[p]; !ok {
					paths = append(paths, p)
				}
			}
			m[p] = compact(reflect.ValueOf(v))
		}
	}
	walkIgnored(ov, nil, d.ignores, collect(om))
	walkIgnored(nv, nil, d.ignores, collect(nm))
	slices.Sort(paths)
	for _, p := range paths {
		o, inOld := om[p]
		n, inNew := nm[p]
		out = append(out, valueChange(p, inOld, inNew, o, n))
	}
	return out
}

// headerValuesOf returns the values of the header name (any case) in order.
func headerValuesOf(h inspect.Headers, name string) []string {
	var out []string
	for _, x := range h {
		if strings.EqualFold(x.Name, name) {
			out = append(out, x.Value)
		}
	}
	return out
}

// valueChange is the Change of one value present in old, new or both.
func valueChange(path string, inOld, inNew bool, o, n string) Change {
	c := Change{Path: path, Old: o, New: n}
	switch {
	case !inNew:
		c.Kind = Removed
	case !inOld:
		c.Kind = Added
	case o == n:
		c.Kind = Same
	default:
		c.Kind = Changed
	}
	return c
}

// ignoredPath formats the segments of a JSON value as a Change path.
func ignoredPath(at []string) string {
	segs := make([]string, len(at))
	for i, s := range at {
		segs[i] = strings.ReplaceAll(s, ".", `\.`)
	}
	return "body " + strings.Join(segs, ".")
}

// walkIgnored calls fn with each value of v an ignore pattern matches (and
// does not look inside it).
func walkIgnored(v any, at []string, pats []ignorePath, fn func([]string, any)) {
	switch v := v.(type) {
	case map[string]any:
		keys := slices.Sorted(maps.Keys(v))
		for _, k := range keys {
			p := append(slices.Clip(at), k)
			if ignored(pats, p) {
				fn(p, v[k])
				continue
			}
			walkIgnored(v[k], p, pats, fn)
		}
	case []any:
		for i, x := range v {
			p := append(slices.Clip(at), strconv.Itoa(i))
			if ignored(pats, p) {
				fn(p, x)
				continue
			}
			walkIgnored(x, p, pats, fn)
		}
	}
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

// normalize drops ignored paths.
func normalize(v any, at []string, pats []ignorePath) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			p := append(slices.Clip(at), k)
			if ignored(pats, p) {
				continue
			}
			out[k] = normalize(x, p, pats)
		}
		return out
	case []any:
		out := make([]any, 0, len(v))
		for i, x := range v {
			p := append(slices.Clip(at), strconv.Itoa(i))
			if ignored(pats, p) {
				continue
			}
			out = append(out, normalize(x, p, pats))
		}
		return out
	}
	return v
}

// maxAlignCompares bounds the element comparisons align makes beyond
// matching equal JSON, for one diff.
const maxAlignCompares = 20000

// align returns nv with the elements of its arrays, at every depth,
// reordered to face ov's (Unordered): each recorded element faces a
// replayed one equal to it (by the same JSON first, then by eq, which
// allows the tolerance and nested arrays in another order, while budget
// lasts); the replayed elements left over take the places of the recorded
// ones left over, in order, and any more follow. So a change names an
// element by its recorded index, and elements that only moved are equal.
type aligner struct {
	eq     func(a, b any) bool
	budget int
	// from maps each array made (by its first element's address) to
	// the replayed index of each of its elements.
	from map[uintptr][]int
}

func (a *aligner) align(ov, nv any) any {
	switch o := ov.(type) {
	case map[string]any:
		n, ok := nv.(map[string]any)
		if !ok {
			return nv
		}
		out := make(map[string]any, len(n))
		for k, y := range n {
			if x, ok := o[k]; ok {
				y = a.align(x, y)
			}
			out[k] = y
		}
		return out
	case []any:
		n, ok := nv.([]any)
		if !ok {
			return nv
		}
		return a.alignArray(o, n)
	}
	return nv
}

func (a *aligner) alignArray(o, n []any) []any {
	slot := make([]any, len(o))
	slotJ := make([]int, len(o))
	has := make([]bool, len(o))
	used := make([]bool, len(n))
	canon := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	byJSON := map[string][]int{}
	for j, y := range n {
		k := canon(y)
		byJSON[k] = append(byJSON[k], j)
	}
	for i, x := range o {
		k := canon(x)
		if js := byJSON[k]; len(js) > 0 {
			slot[i], slotJ[i], has[i], used[js[0]] = n[js[0]], js[0], true, true
			byJSON[k] = js[1:]
		}
	}
	for i, x := range o {
		for j, y := range n {
			if has[i] || a.budget <= 0 {
				break
			}
			if used[j] {
				continue
			}
			a.budget--
			if ay := a.align(x, y); a.eq(x, ay) {
				slot[i], slotJ[i], has[i], used[j] = ay, j, true, true
			}
		}
	}
	var rest []int
	for j := range n {
		if !used[j] {
			rest = append(rest, j)
		}
	}
	out := make([]any, 0, len(n))
	from := make([]int, 0, len(n))
	for i, x := range o {
		switch {
		case has[i]:
			out, from = append(out, slot[i]), append(from, slotJ[i])
		case len(rest) > 0:
			out, from = append(out, a.align(x, n[rest[0]])), append(from, rest[0])
			rest = rest[1:]
		}
	}
	for _, j := range rest {
		out, from = append(out, n[j]), append(from, j)
	}
	if len(out) > 0 && a.from != nil {
		a.from[reflect.ValueOf(out).Pointer()] = from
	}
	return out
}

func containsFold(list []string, s string) bool {
	for _, x := range list {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// pathMatchCheck reports a malformed glob in an ignore path, and a gjson
// query (#(...)), which would be taken as a key of that name, match
// nothing, and leave the value compared.
func pathMatchCheck(p string) (bool, error) {
	segs := splitPath(strings.TrimPrefix(p, "body."))
	for i, seg := range segs {
		if strings.HasPrefix(seg, "#(") {
			j := i // the query may hold dots: it ends at the segment with ")"
			for j < len(segs)-1 && !strings.Contains(segs[j], ")") {
				j++
			}
			alt := slices.Concat(segs[:i], []string{"#"}, segs[j+1:])
			return false, fmt.Errorf("#(...) queries are not supported: use # for every element (%s)", strings.Join(alt, "."))
		}
		if _, err := path.Match(seg, ""); err != nil {
			return false, err
		}
	}
	return true, nil
}
