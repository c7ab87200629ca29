package rules

import (
	"bytes"
	"cmp"
	"slices"
	"strconv"
	"strings"
)

// ExpandEnv replaces ${NAME} in s with getenv(NAME), as the config loader
// does for every scalar: "$${" stands for a literal "${", and a variable
// that is unset or empty is an error naming it. It is exported for config
// sections decoded outside this package (webhooks, triggers, automations,
// subscriptions).
func ExpandEnv(s string, getenv func(string) string) (string, error) {
	return expandEnv(s, getenv)
}

// In a YAML flow mapping, as in {user: bot, password: ${BOT_PASSWORD}}, the
// braces of a ${NAME} reference end the mapping early. Parse therefore
// rewrites each reference to $«NAME» (the same number of characters, so
// positions in errors stay right) before decoding, and expansion turns it
// back.
const (
	envOpen  = "$\u00ab" // $«
	envClose = "\u00bb"  // »
)

// protectEnv rewrites ${NAME} references, and their escapes $${NAME}, to
// $«NAME».
func protectEnv(data []byte) []byte {
	if !bytes.Contains(data, []byte("${")) {
		return data
	}
	var out bytes.Buffer
	out.Grow(len(data) + 16)
	for {
		i := bytes.Index(data, []byte("${"))
		if i < 0 {
			out.Write(data)
			return out.Bytes()
		}
		// An escaped one ($${NAME}, a literal ${NAME}) is rewritten too:
		// its braces would end a mapping as well, and expansion turns
		// $$«NAME» back into $${NAME}, then into the literal.
		j := bytes.IndexByte(data[i:], '}')
		if j < 0 || !validEnvName(string(data[i+2:i+j])) {
			out.Write(data[:i+2])
			data = data[i+2:]
			continue
		}
		out.Write(data[:i])
		out.WriteString(envOpen)
		out.Write(data[i+2 : i+j])
		out.WriteString(envClose)
		data = data[i+j+1:]
	}
}

// unprotectEnv turns $«NAME» back into ${NAME}.
func unprotectEnv(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, envOpen)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.Index(s[i:], envClose)
		if j < 0 || !validEnvName(s[i+len(envOpen):i+j]) {
			b.WriteString(s[:i+len(envOpen)])
			s = s[i+len(envOpen):]
			continue
		}
		b.WriteString(s[:i])
		b.WriteString("${")
		b.WriteString(s[i+len(envOpen) : i+j])
		b.WriteString("}")
		s = s[i+j+len(envClose):]
	}
}

// EnvSeen looks environment variables up for a config's ${NAME}
// references and remembers their values, so that error messages about the
// config can name a variable instead of quoting its value, which is often
// a secret: a regex with a token in it that does not compile must not
// print the token (in the log, GET /api/rules, the UI and hooklab check).
type EnvSeen struct {
	getenv func(string) string
	vals   map[string]string // value → "${NAME}"
}

// NewEnvSeen returns an EnvSeen looking variables up with getenv (nil: none
// are set).
func NewEnvSeen(getenv func(string) string) *EnvSeen {
	return &EnvSeen{getenv: getenv}
}

// Getenv returns the variable's value, and remembers it.
func (e *EnvSeen) Getenv(name string) string {
	if e.getenv == nil {
		return ""
	}
	v := e.getenv(name)
	ref := "${" + name + "}"
	// Some fields are read trimmed and in one case before they are
	// checked (a webhook's method, format, authentication type), and
	// their errors quote them so: those forms are the value too.
	t := strings.TrimSpace(v)
	for _, s := range []string{v, t, strings.ToUpper(t), strings.ToLower(t)} {
		if len(s) < minScrubbed {
			continue
		}
		if e.vals == nil {
			e.vals = map[string]string{}
		}
		if _, ok := e.vals[s]; !ok || s == v {
			e.vals[s] = ref
		}
	}
	return v
}

// Values shorter than minScrubbed are left in messages: replacing a port,
// a method or a word like "mock" everywhere would garble them, and hides
// no secret worth the name.
const minScrubbed = 6

// Scrub replaces each value seen in msg (as it is, trimmed, upper- or
// lower-cased, or as %q quotes it) by the reference that gave it, longest
// values first; and what a template error quotes of a value, which starts
// at a "{{" and may be clipped ("{{sk_live_ABC… has no closing }}"): the
// part of a value from a "{{" in it, and the start of a value, or of such
// a part, that ends where the message clipped it. A nil EnvSeen leaves msg
// as it is.
func (e *EnvSeen) Scrub(msg string) string {
	if e == nil || len(e.vals) == 0 {
		return msg
	}
	type piece struct{ text, ref string }
	var pieces []piece // each value, longest first, then its parts from a "{{"
	vals := e.sorted()
	for _, v := range vals {
		pieces = append(pieces, piece{v, e.vals[v]})
	}
	for _, v := range vals {
		for j := 1; j < len(v); j++ {
			if strings.HasPrefix(v[j:], "{{") && len(v)-j >= 3 {
				pieces = append(pieces, piece{v[j:], e.vals[v]})
			}
		}
	}
	// Clipped pieces first, before a shorter value inside one is replaced
	// and hides the rest of it.
	const clipped = "…"
	for from := 0; ; {
		i := strings.Index(msg[from:], clipped)
		if i < 0 {
			break
		}
		i += from
		from = i + len(clipped)
		// The longest start of a piece (3 bytes or more) that ends at the
		// clip, unless the whole piece is there (its own "…").
		best, bestK := piece{}, 0
		for _, p := range pieces {
			for k := min(len(p.text)-1, i); k >= 3 && k > bestK; k-- {
				if msg[i-k:i] == p.text[:k] && !strings.HasPrefix(msg[i-k:], p.text) {
					best, bestK = p, k
					break
				}
			}
		}
		if bestK > 0 {
			msg = msg[:i-bestK] + best.ref + msg[i:]
			from = i - bestK + len(best.ref) + len(clipped)
		}
	}
	for _, p := range pieces {
		msg = strings.ReplaceAll(msg, p.text, p.ref)
		if q := strconv.Quote(p.text); q[1:len(q)-1] != p.text {
			msg = strings.ReplaceAll(msg, q[1:len(q)-1], p.ref)
		}
	}
	return msg
}

// sorted returns the values seen, longest first (then in byte order), so
// that a value inside another is replaced after it, and results are the
// same from run to run.
func (e *EnvSeen) sorted() []string {
	vals := make([]string, 0, len(e.vals))
	for v := range e.vals {
		vals = append(vals, v)
	}
	slices.SortFunc(vals, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	return vals
}

// Overlaps returns the reference whose value, where it is in text, shares
// a byte with fragment, a part of text that a library's message quotes (a
// regular expression's bad part): a message must not quote part of a
// secret either.
func (e *EnvSeen) Overlaps(text, fragment string) (ref string, ok bool) {
	if e == nil || fragment == "" {
		return "", false
	}
	for _, v := range e.sorted() {
		ref := e.vals[v]
		for i := 0; ; {
			vi := strings.Index(text[i:], v)
			if vi < 0 {
				break
			}
			vStart, vEnd := i+vi, i+vi+len(v)
			for j := 0; ; {
				fi := strings.Index(text[j:], fragment)
				if fi < 0 {
					break
				}
				if fStart := j + fi; fStart < vEnd && fStart+len(fragment) > vStart {
					return ref, true
				}
				j += fi + 1
			}
			i = vStart + 1
		}
	}
	return "", false
}
