package rules

import (
	"maps"
	"math/rand/v2"
	"strings"
	"testing"
)

// refMatchSegs is the plain backtracking matcher that matchSegs replaced:
// every ** tries every number of segments. It is the reference the tests
// compare with.
func refMatchSegs(segs []pathSeg, rest string, more bool, caps *[]capture) bool {
	for len(segs) > 0 {
		s := segs[0]
		if s.kind == segAny {
			if len(segs) == 1 {
				return true
			}
			saved := 0
			if caps != nil {
				saved = len(*caps)
			}
			for {
				if refMatchSegs(segs[1:], rest, more, caps) {
					return true
				}
				if caps != nil {
					*caps = (*caps)[:saved]
				}
				if !more {
					return false
				}
				_, rest, more = nextSeg(rest)
			}
		}
		if !more {
			return false
		}
		var p string
		p, rest, more = nextSeg(rest)
		if !matchSeg(s, p, false, caps) {
			return false
		}
		segs = segs[1:]
	}
	return !more
}

// refMatch is pathPattern.match with refMatchSegs.
func refMatch(pp *pathPattern, path string) (map[string]string, bool) {
	if pp.isExact {
		return nil, path == pp.exact
	}
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	var caps []capture
	if !refMatchSegs(pp.segs, path[1:], true, &caps) {
		return nil, false
	}
	if pp.nparams == 0 {
		return nil, true
	}
	params := map[string]string{}
	for _, c := range caps {
		params[c.name] = c.value
	}
	return params, true
}

// checkPathMatch compares match with the reference on one pattern and path.
func checkPathMatch(t *testing.T, pattern, path string) {
	t.Helper()
	pp, err := compilePath(pattern)
	if err != nil || pp == nil { // nil: no pattern, every path
		return
	}
	got, ok := pp.match(path)
	want, wantOK := refMatch(pp, path)
	if ok != wantOK || !maps.Equal(got, want) {
		t.Errorf("%q on %q: %v %v, want %v %v", pattern, path, got, ok, want, wantOK)
	}
}

// TestPathMatchLikeReference: patterns with several ** (and parameters
// between them) match, and capture, as full backtracking does, on
// random paths.
func TestPathMatchLikeReference(t *testing.T) {
	t.Parallel()
	r := rand.New(rand.NewPCG(1, 2))
	pieces := []string{"**", "*", "a", "b", "{x}", "{y}.json", "*.json", ""}
	names := []string{"a", "b", "c", "a.json", "", "b.json"}
	for range 20000 {
		var pat, path strings.Builder
		for range 1 + r.IntN(5) {
			pat.WriteString("/" + pieces[r.IntN(len(pieces))])
		}
		for range r.IntN(7) {
			path.WriteString("/" + names[r.IntN(len(names))])
		}
		if path.Len() == 0 {
			path.WriteString("/")
		}
		checkPathMatch(t, pat.String(), path.String())
	}
}

// TestPathMatchManyDoubleStars: a long path against patterns with several
// ** is answered (full backtracking took seconds to minutes of CPU here,
// at the sender's choice of path).
func TestPathMatchManyDoubleStars(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("/a", 20000)
	for _, tc := range []struct {
		pattern, path string
		want          bool
	}{
		{"/**/a/**/z", long, false},
		{"/**/a/**/a/**/a/**/z", long, false},
		{"/**/a/**/a/**/a/**/z", long + "/z", true},
		{"/**/{p}/**/z", long + "/b/z", true},
	} {
		pp, err := compilePath(tc.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := pp.match(tc.path); ok != tc.want {
			t.Errorf("%s on %d segments: %v, want %v", tc.pattern, strings.Count(tc.path, "/"), ok, tc.want)
		}
	}
	pp, _ := compilePath("/**/{p}/**/z")
	if params, _ := pp.match("/a/b/c/z"); params["p"] != "a" {
		t.Errorf("p = %q, want the first place (a)", params["p"])
	}
}

// FuzzPathMatch compares match with full backtracking.
func FuzzPathMatch(f *testing.F) {
	for _, s := range [][2]string{{"/**/a/**/z", "/a/b/z"}, {"/**/{x}/**", "/a/b"}, {"/a/**/*.json", "/a/b/c.json"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, pattern, path string) {
		if len(path) > 200 || strings.Count(pattern, "**") > 4 {
			return // the reference is exponential in **s
		}
		checkPathMatch(t, pattern, path)
	})
}
