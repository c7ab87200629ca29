package inspect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode"

	"github.com/tidwall/gjson"
	"golang.org/x/net/http/httpguts"
)

// The query language of the API's q= parameter and the UI's filter bar.
// A query is terms separated by spaces, all of which must hold (AND); a term
// starting with "-" must not hold (NOT). Values may be double-quoted to hold
// spaces ("a b", key:"a b"; \" and \\ escape inside quotes).
//
//	word                      free text: URL, headers or bodies contain it (any case)
//	method:POST               the request method (any case)
//	status:5xx status:404     a status class or code (0 or none: no response)
//	path:/hooks/*             the URL path: exact, or a glob (* within a
//	                          segment, ** any segments); a trailing * also
//	                          matches deeper paths
//	bin:stripe                the bin
//	source:emit               capture, proxy, emit or replay
//	header:x-github-event=push  a request or response header has this value
//	                          (name and value in any case); header:NAME: present
//	json:ticket.priority=urgent  a gjson path of the request or response
//	                          body has this value; json:PATH: the path exists
//	sig:invalid               signature verdict: valid, invalid or none
//	rule:NAME                 the mock rule that answered
//
// A word with an unknown key ("http://x", "a:b") is free text.

// Term is one condition of a query.
type Term struct {
	// Not negates the term.
	Not bool `json:"not,omitempty"`
	// Field is "" for free text, else method, status, path, bin, source,
	// header, json, sig or rule.
	Field string `json:"field,omitempty"`
	// Name is the header name or JSON path of header and json terms.
	Name string `json:"name,omitempty"`
	// Value is what is looked for; for header and json terms HasValue says
	// whether one was given (else the term asks for presence).
	Value    string `json:"value"`
	HasValue bool   `json:"has_value,omitempty"`
}

// Terms is a parsed query: every term must hold.
type Terms []Term

var queryFields = map[string]bool{
	"method": true, "status": true, "path": true, "bin": true, "source": true,
	"header": true, "json": true, "sig": true, "rule": true,
}

// ParseQueryLang parses the query language (see Term). An empty query gives
// no terms. Malformed terms (status:abc, source:x, bin:"a b", method:) are
// errors wrapping ErrInvalid that name the term.
func ParseQueryLang(s string) (Terms, error) {
	words, err := splitQuery(s)
	if err != nil {
		return nil, err
	}
	var out Terms
	for _, w := range words {
		t := Term{Value: w.text, Not: w.not}
		raw := w.text
		if !w.quoted && len(raw) > 1 && raw[0] == '-' {
			t.Not = true
			raw = raw[1:]
			t.Value = raw
		}
		key, val, ok := strings.Cut(raw, ":")
		if !w.quoted && ok {
			if f := nearField(strings.ToLower(key)); f != "" {
				return nil, fmt.Errorf("%w: query term %q: no field %q; did you mean %s:? (quote the term to search for it as text)", ErrInvalid, w.text, key, f)
			}
		}
		if w.quoted || !ok || !queryFields[strings.ToLower(key)] {
			if t.Value == "" {
				continue
			}
			out = append(out, t)
			continue
		}
		t.Field = strings.ToLower(key)
		t.Value = val
		if err := t.check(); err != nil {
			return nil, fmt.Errorf("%w: query term %q: %v", ErrInvalid, w.text, err)
		}
		out = append(out, t)
	}
	return out, nil
}

// nearField returns the long field name (method, status, source, header)
// key is a typo of — two neighbouring letters swapped or one doubled — or
// "" for anything else: stauts:500 would otherwise search for that text and
// find nothing, while words such as state:, stats:, course: or role: are
// searches, not typos (a dropped letter, stats for status, may be either).
func nearField(key string) string {
	if len(key) < 4 || queryFields[key] {
		return ""
	}
	for _, f := range []string{"header", "method", "source", "status"} {
		if typo(key, f) {
			return f
		}
	}
	return ""
}

// typo reports whether a is b with two neighbouring letters swapped or one
// letter typed twice.
func typo(a, b string) bool {
	switch len(a) - len(b) {
	case 0:
		for i := 0; i+1 < len(a); i++ {
			if a[i] != b[i] {
				return a[i] == b[i+1] && a[i+1] == b[i] && a[i+2:] == b[i+2:]
			}
		}
	case 1:
		for i := 1; i < len(a); i++ {
			if a[i] == a[i-1] && a[:i]+a[i+1:] == b {
				return true
			}
		}
	}
	return false
}

type queryWord struct {
	text   string
	quoted bool // the word began with a quote: never a key:value term
	not    bool // "-" before a quoted word
}

// splitQuery splits s at unquoted white space, removing quotes.
func splitQuery(s string) ([]queryWord, error) {
	var out []queryWord
	var b strings.Builder
	var w queryWord
	quoted, started := false, false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\'):
			i++
			b.WriteByte(s[i])
		case !started && c == '-' && i+1 < len(s) && s[i+1] == '"':
			w.not = true
		case c == '"':
			if !started {
				w.quoted = true
			}
			quoted = !quoted
			started = true
		case !quoted && c < 0x80 && unicode.IsSpace(rune(c)):
			if started {
				w.text = b.String()
				out = append(out, w)
			}
			b.Reset()
			w, started = queryWord{}, false
		default:
			b.WriteByte(c)
			started = true
		}
	}
	if quoted {
		return nil, fmt.Errorf("%w: query %q: a quote is not closed", ErrInvalid, s)
	}
	if started {
		w.text = b.String()
		out = append(out, w)
	}
	return out, nil
}

// CheckPathPattern says why p cannot be a path pattern of MatchPath (as
// path: takes it), or nil.
func CheckPathPattern(p string) error {
	if p == "" {
		return fmt.Errorf("want a path like /hooks/*")
	}
	if _, err := path.Match(p, ""); err != nil {
		return fmt.Errorf("bad glob: %v", err)
	}
	for _, seg := range strings.Split(p, "/") {
		if strings.Contains(seg, "**") && seg != "**" {
			return fmt.Errorf("** must be a whole segment, as in /hooks/**")
		}
	}
	if n := strings.Count(p, "**"); n > maxDoubleStars {
		return fmt.Errorf("at most %d ** in a path, got %d", maxDoubleStars, n)
	}
	return nil
}

func (t *Term) check() error {
	switch t.Field {
	case "method":
		if !httpguts.ValidHeaderFieldName(t.Value) {
			return fmt.Errorf("want a method like POST")
		}
	case "status":
		if _, _, ok := statusRange(t.Value); !ok {
			return errors.New(statusWant)
		}
	case "path":
		return CheckPathPattern(t.Value)
	case "bin":
		if err := ValidBin(t.Value); err != nil {
			return err
		}
	case "source":
		switch Source(t.Value) {
		case SourceCapture, SourceProxy, SourceEmit, SourceReplay:
		default:
			return fmt.Errorf("want capture, proxy, emit or replay")
		}
	case "header", "json":
		name, val, has := strings.Cut(t.Value, "=")
		if name == "" {
			return fmt.Errorf("want %s:NAME=VALUE or %s:NAME", t.Field, t.Field)
		}
		t.Name, t.Value, t.HasValue = name, val, has
	case "sig":
		t.Value = strings.ToLower(t.Value)
		switch t.Value {
		case "valid", "invalid", "none":
		default:
			return fmt.Errorf("want valid, invalid or none")
		}
	case "rule":
		if t.Value == "" {
			return fmt.Errorf("want a rule name")
		}
	}
	return nil
}

// statusRange is Query.StatusRange plus "0" and "none" for no response.
func statusRange(s string) (lo, hi int, ok bool) {
	s = strings.ToLower(s)
	if s == "" {
		return 0, 0, false
	}
	if s == "none" {
		return 0, 0, true
	}
	return Query{Status: s}.StatusRange()
}

// String gives the query back in the language's canonical form.
func (ts Terms) String() string {
	parts := make([]string, len(ts))
	for i, t := range ts {
		v := t.Value
		if t.Field == "header" || t.Field == "json" {
			v = t.Name
			if t.HasValue {
				v += "=" + t.Value
			}
		}
		v = quoteQueryValue(v)
		if t.Field != "" {
			v = t.Field + ":" + v
		} else if strings.Contains(v, ":") && !strings.HasPrefix(v, `"`) {
			v = `"` + v + `"`
		}
		if t.Not {
			v = "-" + v
		}
		parts[i] = v
	}
	return strings.Join(parts, " ")
}

func quoteQueryValue(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\r\n\v\f\"\\") && !strings.HasPrefix(v, "-") {
		return v
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(v) + `"`
}

// Fold moves the terms the store filters by itself into q — the first
// positive method, status (not none), bin, source and free-text term, each
// only when q's field is still empty — and returns q and the terms left,
// which Match (or MatchSummary) must still check.
func (ts Terms) Fold(q Query) (Query, Terms) {
	var rest Terms
	for _, t := range ts {
		if !t.Not {
			var dst *string
			switch t.Field {
			case "":
				dst = &q.Text
			case "method":
				dst = &q.Method
			case "status":
				if strings.EqualFold(t.Value, "none") {
					break
				}
				dst = &q.Status
			case "bin":
				dst = &q.Bin
			case "source":
				dst = &q.Source
			}
			if dst != nil && *dst == "" {
				*dst = t.Value
				continue
			}
		}
		rest = append(rest, t)
	}
	return q, rest
}

// SummaryOnly reports whether MatchSummary can decide every term, so that
// filtering a listing needs no whole exchanges.
func (ts Terms) SummaryOnly() bool {
	for _, t := range ts {
		switch t.Field {
		case "", "header", "json":
			return false
		}
	}
	return true
}

// Match reports whether ex satisfies every term.
func (ts Terms) Match(ex *Exchange) bool {
	var read int64
	return ts.matchReading(ex, &read)
}

// matchReading is Match, adding to *read how many body bytes json: terms
// read (decoded), the work a json: term costs.
func (ts Terms) matchReading(ex *Exchange, read *int64) bool {
	for _, t := range ts {
		if t.match(ex, read) == t.Not {
			return false
		}
	}
	return true
}

// MatchSummary reports whether s satisfies every term. Terms that need the
// whole exchange (free text, header, json) count as satisfied; check
// SummaryOnly first.
func (ts Terms) MatchSummary(s *Summary) bool {
	for _, t := range ts {
		switch t.Field {
		case "", "header", "json":
			continue
		}
		if t.matchFields(s.Method, s.URL, s.Bin, string(s.Source), s.Status, s.Signature, s.Rule) == t.Not {
			return false
		}
	}
	return true
}

func (t Term) match(ex *Exchange, read *int64) bool {
	switch t.Field {
	case "":
		return containsText(ex, t.Value)
	case "header":
		return headerHas(ex.Request.Headers, t) || ex.Response != nil && headerHas(ex.Response.Headers, t)
	case "json":
		return jsonHas(ex.Request.Headers, ex.Request.Body, t, read) || ex.Response != nil && jsonHas(ex.Response.Headers, ex.Response.Body, t, read)
	}
	sig := ""
	if ex.Signature != nil {
		sig = ex.Signature.Verdict
	}
	return t.matchFields(ex.Request.Method, ex.Request.URL, ex.Bin, string(ex.Source), ex.Status(), sig, ex.Rule)
}

func (t Term) matchFields(method, rawURL, bin, source string, status int, sig, rule string) bool {
	switch t.Field {
	case "method":
		return strings.EqualFold(method, t.Value)
	case "status":
		lo, hi, ok := statusRange(t.Value)
		return ok && status >= lo && status <= hi
	case "path":
		return MatchPath(t.Value, rawURL)
	case "bin":
		return bin == t.Value
	case "source":
		return source == t.Value
	case "sig":
		if t.Value == "none" {
			return sig == ""
		}
		return sig == t.Value
	case "rule":
		return rule == t.Value
	}
	return false
}

// MatchPath reports whether the path of rawURL matches pattern: exactly,
// as a glob ("*" within a segment, "**" as a whole segment any number of
// segments, as mock rules read it: "/hooks/**" matches "/hooks" and
// "/hooks/a/b"), or, for a pattern ending in * with no other glob
// characters, as a prefix ("/hooks/*" matches "/hooks/a/b"). replay's path
// filter means the same.
func MatchPath(pattern, rawURL string) bool {
	p := rawURL
	if u, err := url.Parse(rawURL); err == nil {
		p = u.Path
		// A pattern written escaped, as the list shows a path
		// ("/caf%C3%A9/x"), matches the path as escaped too.
		if strings.Contains(pattern, "%") && matchPathIn(pattern, u.EscapedPath()) {
			return true
		}
	}
	return matchPathIn(pattern, p)
}

// matchPathIn matches pattern against the path p.
func matchPathIn(pattern, p string) bool {
	if strings.Contains(pattern, "**") {
		return matchSegments(strings.Split(pattern, "/"), strings.Split(p, "/"))
	}
	if ok, _ := path.Match(pattern, p); ok {
		return true
	}
	if prefix, ok := strings.CutSuffix(pattern, "*"); ok && !strings.ContainsAny(prefix, `*?[\`) {
		return strings.HasPrefix(p, prefix)
	}
	return false
}

// matchSegments matches path segments against pattern segments, where
// "**" stands for any number of segments and any other pattern segment is
// a path.Match glob for one. It backtracks only to the last "**" seen, so
// a match costs at most len(pat) × len(segs) steps whatever the path (a
// captured one is hostile input).
func matchSegments(pat, segs []string) bool {
	p, s := 0, 0
	starP, starS := -1, 0
	for s < len(segs) {
		switch {
		case p < len(pat) && pat[p] == "**":
			starP, starS = p, s
			p++
		case p < len(pat) && segmentMatch(pat[p], segs[s]):
			p++
			s++
		case starP >= 0:
			// Let the last "**" take one more segment, and go on after it.
			starS++
			p, s = starP+1, starS
		default:
			return false
		}
	}
	for p < len(pat) && pat[p] == "**" {
		p++
	}
	return p == len(pat)
}

func segmentMatch(pattern, seg string) bool {
	ok, _ := path.Match(pattern, seg)
	return ok
}

// maxDoubleStars bounds the "**" of a path pattern (a pattern needs few).
const maxDoubleStars = 4

func headerHas(hs Headers, t Term) bool {
	for _, h := range hs {
		if strings.EqualFold(h.Name, t.Name) && (!t.HasValue || strings.EqualFold(strings.TrimSpace(h.Value), t.Value)) {
			return true
		}
	}
	return false
}

func jsonHas(h Headers, body []byte, t Term, read *int64) bool {
	// A gzip or deflate body (Content-Encoding) is read decoded, as mock
	// rules and the UI read it; one that does not decode, as it is.
	if ce := h.Get("Content-Encoding"); ce != "" && len(body) > 0 {
		if dec, err := DecodeContent(ce, body, MaxDecodedView); err == nil {
			body = dec
		}
	}
	*read += int64(len(body))
	// json.Valid: gjson's validator recurses once per level of nesting,
	// and a stored body of millions of '[' overflowed the stack.
	if len(body) == 0 || !json.Valid(body) {
		return false
	}
	r := gjson.GetBytes(body, t.Name)
	if !r.Exists() {
		return false
	}
	return !t.HasValue || r.String() == t.Value
}

// MaxMatchRead bounds how many body bytes (decoded) the json: terms of one
// ListMatching call read: each stored body may decode to MaxDecodedView,
// so a page over a few hundred gzip bombs of 100 KB each decoded for half
// a minute, and 10,000 rows of them for most of an hour.
const MaxMatchRead = 64 << 20

// ListMatching lists, like Store.List, the exchanges matching q and terms:
// it folds what the store can filter into q, pages through the store and
// checks the rest itself (on summaries when SummaryOnly, else on whole
// exchanges). It stops after q's limit of matches, after scanning scan
// rows (10,000 when scan <= 0), or once json: terms have read
// MaxMatchRead body bytes (decoded); the cursor it returns continues
// exactly after the last row it looked at, so a page may hold fewer
// matches than the limit and still have a next one.
func ListMatching(ctx context.Context, st Store, q Query, terms Terms, scan int) ([]Summary, string, error) {
	q, rest := terms.Fold(q)
	if len(rest) == 0 {
		return st.List(ctx, q)
	}
	if scan <= 0 {
		scan = 10_000
	}
	want := q.limit()
	summaryOnly := rest.SummaryOnly()
	out := make([]Summary, 0, min(want, 64))
	scanned := 0
	var read int64
	for {
		page := q
		page.Limit = 1000
		if summaryOnly {
			page.Limit = min(1000, max(want*4, 200))
		}
		page.Limit = min(page.Limit, scan-scanned)
		list, next, err := st.List(ctx, page)
		if err != nil {
			return nil, "", err
		}
		for i := range list {
			ok := false
			if summaryOnly {
				ok = rest.MatchSummary(&list[i])
			} else if rest.MatchSummary(&list[i]) {
				ex, err := st.Get(ctx, list[i].ID)
				switch {
				case err == nil:
					ok = rest.matchReading(ex, &read)
				case ctx.Err() != nil:
					return nil, "", ctx.Err()
				}
			}
			if ok {
				out = append(out, list[i])
			}
			if len(out) == want || read >= MaxMatchRead {
				// Rows i+1… are unseen: the next page continues after row
				// i, from its own place (listing again to get a cursor saw
				// rows stored or deleted meanwhile, and repeated or skipped
				// rows).
				if i == len(list)-1 {
					return out, next, nil
				}
				return out, strconv.FormatInt(list[i].seq, 10), nil
			}
		}
		scanned += len(list)
		if next == "" || scanned >= scan {
			return out, next, nil
		}
		q.Cursor = next
	}
}
