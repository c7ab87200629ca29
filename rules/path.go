package rules

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// pathPattern is a compiled path: exact, glob or template.
type pathPattern struct {
	exact   string
	isExact bool
	segs    []pathSeg
	nparams int
}

type segKind int

const (
	segLit   segKind = iota // literal segment
	segStar                 // "*": any one non-empty segment
	segParam                // "{name}": one non-empty segment, captured
	segAny                  // "**": zero or more segments
	segRE                   // mixed, such as "*.json" or "{name}.json"
)

type pathSeg struct {
	kind  segKind
	lit   string
	name  string
	re    *regexp.Regexp
	names []string // capture names of segRE, in order
}

var paramNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// PathMatcher compiles a path pattern as mock rules read it (an exact
// path; "*" for one segment, "**" for any number, "{name}" for one
// captured, "*.json" or "{id}.json" within one) into a func that reports
// whether a path matches, with the captured parameters. An empty pattern
// matches any path.
func PathMatcher(pattern string) (func(path string) (map[string]string, bool), error) {
	pp, err := compilePath(pattern)
	if err != nil {
		return nil, err
	}
	if pp == nil {
		return func(string) (map[string]string, bool) { return nil, true }, nil
	}
	return pp.match, nil
}

// compilePath compiles a path pattern. An empty pattern matches any path.
func compilePath(p string) (*pathPattern, error) {
	if p == "" {
		return nil, nil
	}
	if !strings.HasPrefix(p, "/") {
		return nil, fmt.Errorf("%q must start with /", p)
	}
	if !strings.ContainsAny(p, "*{}") {
		return &pathPattern{exact: p, isExact: true}, nil
	}
	pp := &pathPattern{}
	seen := map[string]bool{}
	addName := func(n string) error {
		if !paramNameRE.MatchString(n) {
			return fmt.Errorf("bad parameter name %q in %q", n, p)
		}
		if seen[n] {
			return fmt.Errorf("parameter %q appears twice in %q", n, p)
		}
		seen[n] = true
		pp.nparams++
		return nil
	}
	for _, s := range strings.Split(p[1:], "/") {
		switch {
		case s == "**":
			if n := len(pp.segs); n > 0 && pp.segs[n-1].kind == segAny {
				continue // "/**/**" is "/**"
			}
			pp.segs = append(pp.segs, pathSeg{kind: segAny})
		case s == "*":
			pp.segs = append(pp.segs, pathSeg{kind: segStar})
		case strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") && strings.Count(s, "{") == 1 && strings.Count(s, "}") == 1:
			name := s[1 : len(s)-1]
			if err := addName(name); err != nil {
				return nil, err
			}
			pp.segs = append(pp.segs, pathSeg{kind: segParam, name: name})
		case !strings.ContainsAny(s, "*{}"):
			pp.segs = append(pp.segs, pathSeg{kind: segLit, lit: s})
		default:
			if strings.Contains(s, "**") {
				return nil, fmt.Errorf("** must be a whole segment in %q", p)
			}
			seg := pathSeg{kind: segRE}
			var b strings.Builder
			b.WriteString("^")
			rest := s
			for rest != "" {
				i := strings.IndexAny(rest, "*{}")
				if i < 0 {
					b.WriteString(regexp.QuoteMeta(rest))
					break
				}
				b.WriteString(regexp.QuoteMeta(rest[:i]))
				switch rest[i] {
				case '*':
					b.WriteString(`(?s:.*)`) // a segment has no '/' but a decoded %2F
					rest = rest[i+1:]
				case '}':
					return nil, fmt.Errorf("unmatched } in %q", p)
				case '{':
					j := strings.IndexByte(rest[i:], '}')
					if j < 0 {
						return nil, fmt.Errorf("unmatched { in %q", p)
					}
					name := rest[i+1 : i+j]
					if err := addName(name); err != nil {
						return nil, err
					}
					seg.names = append(seg.names, name)
					b.WriteString(`((?s:.+?))`)
					rest = rest[i+j+1:]
				}
			}
			b.WriteString("$")
			re, err := regexp.Compile(b.String())
			if err != nil {
				return nil, fmt.Errorf("bad pattern %q: %v", p, err)
			}
			seg.re = re
			pp.segs = append(pp.segs, seg)
		}
	}
	return pp, nil
}

// capture is one captured path parameter.
type capture struct{ name, value string }

// match matches path, returning captured parameters (nil when the pattern
// has none). It allocates only for the parameters of a match.
func (pp *pathPattern) match(path string) (map[string]string, bool) {
	return pp.matchAs(path, false)
}

// matchEscaped matches a path as sent, percent-encoded, whose segments
// are split before they are decoded: a segment with an encoded slash
// (group%2Fproject) is one segment, and a parameter captures it decoded.
// A literal segment matches the segment decoded or as sent, and an exact
// pattern the whole path as sent ("/raw/a%2Fb").
func (pp *pathPattern) matchEscaped(path string) (map[string]string, bool) {
	return pp.matchAs(path, true)
}

// matchAs is match, or matchEscaped when escaped is set.
func (pp *pathPattern) matchAs(path string, escaped bool) (map[string]string, bool) {
	if pp.isExact {
		return nil, path == pp.exact
	}
	if !strings.HasPrefix(path, "/") {
		return nil, false
	}
	// Match first without capturing, so a miss allocates nothing.
	if !matchSegs(pp.segs, path[1:], true, escaped, nil) {
		return nil, false
	}
	if pp.nparams == 0 {
		return nil, true
	}
	caps := make([]capture, 0, pp.nparams)
	matchSegs(pp.segs, path[1:], true, escaped, &caps)
	params := make(map[string]string, len(caps))
	for _, c := range caps {
		params[c.name] = c.value
	}
	return params, true
}

// hasEncodedSlash reports whether an escaped path holds %2F (any case).
func hasEncodedSlash(escaped string) bool {
	for i := 0; i+2 < len(escaped); i++ {
		if escaped[i] == '%' && escaped[i+1] == '2' && escaped[i+2]|0x20 == 'f' {
			return true
		}
	}
	return false
}

// matchSegs matches segs against the rest of a path; more is false once
// every segment of the path is used up. Captures go to caps unless it is nil.
//
// A ** first takes no segment, then one more each time what follows it
// fails. Only the last ** met takes more: the segments between two **s
// match one path segment each, so when they match at their first place
// they can stay there (whatever a later place allows, this one allows
// too). Going back further made "/**/a/**/z" take seconds of CPU on a
// path of a few thousand "/a" segments; this way a match costs at most the
// path's segments times the pattern's.
func matchSegs(segs []pathSeg, rest string, more, escaped bool, caps *[]capture) bool {
	var (
		starred  bool      // a ** was met
		star     []pathSeg // the segments after the last **
		starRest string    // the path after what that ** has taken
		starMore bool
		starCaps int
	)
	for {
		if len(segs) > 0 && segs[0].kind == segAny {
			if len(segs) == 1 {
				return true
			}
			starred, star, starRest, starMore = true, segs[1:], rest, more
			if caps != nil {
				starCaps = len(*caps)
			}
			segs = segs[1:]
			continue
		}
		if len(segs) == 0 {
			if !more {
				return true
			}
		} else if more {
			var p string
			p, rest, more = nextSeg(rest)
			if matchSeg(segs[0], p, escaped, caps) {
				segs = segs[1:]
				continue
			}
		}
		// A miss: the last ** takes one more segment, if there is one.
		if !starred || !starMore {
			return false
		}
		_, starRest, starMore = nextSeg(starRest)
		segs, rest, more = star, starRest, starMore
		if caps != nil {
			*caps = (*caps)[:starCaps]
		}
	}
}

// matchSeg matches one pattern segment (not **) against one path segment;
// escaped says p is as sent, percent-encoded (see matchEscaped).
func matchSeg(s pathSeg, p string, escaped bool, caps *[]capture) bool {
	if escaped {
		if s.kind == segLit && p == s.lit {
			return true
		}
		if u, err := url.PathUnescape(p); err == nil {
			p = u
		}
	}
	switch s.kind {
	case segLit:
		return p == s.lit
	case segStar:
		return p != ""
	case segParam:
		if p == "" {
			return false
		}
		if caps != nil {
			*caps = append(*caps, capture{s.name, p})
		}
		return true
	case segRE:
		if caps == nil {
			return s.re.MatchString(p)
		}
		m := s.re.FindStringSubmatch(p)
		if m == nil {
			return false
		}
		for i, name := range s.names {
			*caps = append(*caps, capture{name, m[i+1]})
		}
		return true
	}
	return false
}

// nextSeg splits the first segment off rest.
func nextSeg(rest string) (seg, after string, more bool) {
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		return rest[:i], rest[i+1:], true
	}
	return rest, "", false
}
