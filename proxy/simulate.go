package proxy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/inspect/har"
)

// Miss says what a simulation does with a request that no recorded
// exchange matches.
type Miss string

// The ways to handle a miss.
const (
	// MissNotFound answers 404 with JSON naming the closest recorded
	// request and how it differed (the default).
	MissNotFound Miss = "404"
	// MissProxy passes the request on to the upstream (spy mode).
	MissProxy Miss = "proxy"
)

// ParseMiss reads the --simulate-miss value: "404" (or "") or "proxy".
func ParseMiss(s string) (Miss, error) {
	switch Miss(s) {
	case "", MissNotFound:
		return MissNotFound, nil
	case MissProxy:
		return MissProxy, nil
	}
	return "", fmt.Errorf("%w: simulate miss %q: want 404 or proxy", inspect.ErrInvalid, s)
}

// SimulateOptions say how requests are matched to recorded exchanges.
type SimulateOptions struct {
	// IgnoreQuery names volatile query parameters left out of matching
	// (path.Match globs, e.g. "ts" or "utm_*").
	IgnoreQuery []string
	// IgnoreBody names volatile body fields left out of matching: dot
	// paths into a JSON body ("meta.request_id", "items.*.ts"; "*" is one
	// level, "**" any number of levels, so "**.timestamp" is a timestamp
	// field anywhere), or field names of a form body.
	IgnoreBody []string
	// Miss is what a request nothing matches gets; MissNotFound when "".
	Miss Miss
}

// Simulation answers requests from recorded exchanges. A request matches a
// recorded one on method, path, query (parameters in any order) and body
// (JSON compared structurally, form bodies field by field, anything else
// byte for byte), less the ignored query parameters and body fields. When
// several recorded exchanges match, repeated requests get them in recorded
// order (the third identical GET gets the third recorded answer), then the
// last one again. It is safe for concurrent use.
type Simulation struct {
	name    string
	opts    SimulateOptions
	entries []*simEntry
	byKey   map[string][]*simEntry
	skipped int

	mu     sync.Mutex
	served map[string]int // request signature -> answers given
	hits   int
	misses int
}

// simEntry is one recorded exchange, prepared for matching.
type simEntry struct {
	index  int // 0-based position among the recorded exchanges
	ex     *inspect.Exchange
	method string
	host   string
	path   string
	query  url.Values // without ignored parameters
	key    string     // method, path and query
	body   simBody
	// encoded: the recorded response body is still in the coding its
	// Content-Encoding names (hooklab records bodies as they came), so the
	// header is served with it; browsers write HAR bodies decoded.
	encoded bool
}

// simBody is a body prepared for comparison.
type simBody struct {
	kind  byte   // 0 none, 'j' JSON, 'f' form, 'b' other bytes, '*' unknown (truncated)
	canon string // canonical form: equal bodies have equal canon
	json  any    // kind 'j': the value with ignored fields removed
	form  url.Values
	size  int
}

// LoadSimulation reads a HAR file into a simulation named after the file.
func LoadSimulation(file string, opts SimulateOptions) (*Simulation, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err // names the file; callers say it is the simulation's
	}
	return ParseSimulation(filepath.Base(file), data, opts)
}

// ParseSimulation reads HAR content into a simulation called name. Errors
// wrap inspect.ErrInvalid.
func ParseSimulation(name string, data []byte, opts SimulateOptions) (*Simulation, error) {
	f, err := har.Parse(data)
	if err != nil {
		return nil, fmt.Errorf("simulate %s: %w", name, err)
	}
	exs, err := f.Exchanges()
	if err != nil {
		return nil, fmt.Errorf("simulate %s: %w", name, err)
	}
	return NewSimulation(name, exs, opts)
}

// NewSimulation prepares recorded exchanges, in recorded order, for
// matching. CONNECT tunnels are skipped. It fails on an ignore pattern
// that is not a valid glob.
func NewSimulation(name string, exs []*inspect.Exchange, opts SimulateOptions) (*Simulation, error) {
	if opts.Miss == "" {
		opts.Miss = MissNotFound
	}
	for _, g := range opts.IgnoreQuery {
		if _, err := path.Match(g, ""); err != nil {
			return nil, fmt.Errorf("%w: simulate: ignored query parameter %q: %v", inspect.ErrInvalid, g, err)
		}
	}
	s := &Simulation{name: name, opts: opts, byKey: map[string][]*simEntry{}, served: map[string]int{}}
	for i, ex := range exs {
		if ex.Request.Method == http.MethodConnect {
			s.skipped++
			continue
		}
		u, err := url.Parse(ex.Request.URL)
		if err != nil {
			s.skipped++
			continue
		}
		e := &simEntry{index: i, ex: ex, method: ex.Request.Method, host: u.Host, path: escapedPath(u)}
		e.query = s.query(u.RawQuery)
		e.key = e.method + " " + e.path + "?" + e.query.Encode()
		e.body = s.body(ex.Request.Body, ex.Request.Headers.Get("Content-Type"))
		if ex.Request.Truncated {
			e.body = simBody{kind: '*', size: int(ex.Request.Size)}
		}
		if r := ex.Response; r != nil {
			e.encoded = stillEncoded(r.Headers.Get("Content-Encoding"), r.Body)
		}
		s.entries = append(s.entries, e)
		s.byKey[e.key] = append(s.byKey[e.key], e)
	}
	return s, nil
}

func escapedPath(u *url.URL) string {
	if p := u.EscapedPath(); p != "" {
		return p
	}
	return "/"
}

// Name is the simulation's name (the HAR file's name).
func (s *Simulation) Name() string { return s.name }

// Len is the number of recorded exchanges it answers from.
func (s *Simulation) Len() int { return len(s.entries) }

// SimulationStatus is what the API says about a simulation.
type SimulationStatus struct {
	Proxy string `json:"proxy"` // "*" for every proxy
	// Route and Config are set for a simulation a config's simulate:
	// sets: the route it answers for (its proxy's own: "/"), and that the
	// config holds it (DELETE /api/simulations does not stop it).
	Route       string   `json:"route,omitempty"`
	Config      bool     `json:"config,omitempty"`
	Name        string   `json:"name"`
	Entries     int      `json:"entries"`
	Skipped     int      `json:"skipped,omitempty"`
	Hits        int      `json:"hits"`
	Misses      int      `json:"misses"`
	Miss        Miss     `json:"miss"`
	IgnoreQuery []string `json:"ignore_query,omitempty"`
	IgnoreBody  []string `json:"ignore_body,omitempty"`
}

// Status reports the simulation's size and use.
func (s *Simulation) Status() SimulationStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	return SimulationStatus{
		Name: s.name, Entries: len(s.entries), Skipped: s.skipped, Hits: s.hits, Misses: s.misses,
		Miss: s.opts.Miss, IgnoreQuery: s.opts.IgnoreQuery, IgnoreBody: s.opts.IgnoreBody,
	}
}

// query parses a raw query without the ignored parameters.
func (s *Simulation) query(raw string) url.Values {
	q, _ := url.ParseQuery(raw)
	for k := range q {
		for _, g := range s.opts.IgnoreQuery {
			if ok, _ := path.Match(g, k); ok {
				delete(q, k)
				break
			}
		}
	}
	return q
}

// body prepares a body for comparison.
func (s *Simulation) body(b []byte, contentType string) simBody {
	if len(bytes.TrimSpace(b)) == 0 {
		return simBody{}
	}
	mt, _, _ := mime.ParseMediaType(contentType)
	if mt == "application/x-www-form-urlencoded" {
		if f, err := url.ParseQuery(string(b)); err == nil {
			for k := range f {
				if s.ignoredField([]string{k}) {
					delete(f, k)
				}
			}
			return simBody{kind: 'f', canon: f.Encode(), form: f, size: len(b)}
		}
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err == nil && !dec.More() {
		v = s.normalize(v, nil)
		canon, _ := json.Marshal(v)
		return simBody{kind: 'j', canon: string(canon), json: v, size: len(b)}
	}
	return simBody{kind: 'b', canon: string(b), size: len(b)}
}

// ignoredMark stands in for an ignored array element, so that positions
// after it still line up.
const ignoredMark = "\x00ignored"

// normalize drops ignored fields and writes numbers canonically (1.0 and 1
// compare equal), in place.
func (s *Simulation) normalize(v any, at []string) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return json.Number(strconv.FormatInt(i, 10))
		}
		if f, err := strconv.ParseFloat(string(x), 64); err == nil {
			return json.Number(strconv.FormatFloat(f, 'g', -1, 64))
		}
		return x
	case map[string]any:
		for k, c := range x {
			p := append(slices.Clip(at), k)
			if s.ignoredField(p) {
				delete(x, k)
				continue
			}
			x[k] = s.normalize(c, p)
		}
	case []any:
		for i, c := range x {
			p := append(slices.Clip(at), strconv.Itoa(i))
			if s.ignoredField(p) {
				x[i] = ignoredMark
				continue
			}
			x[i] = s.normalize(c, p)
		}
	}
	return v
}

func (s *Simulation) ignoredField(p []string) bool {
	for _, g := range s.opts.IgnoreBody {
		if matchPath(strings.Split(g, "."), p) {
			return true
		}
	}
	return false
}

// matchPath matches a dot path against a pattern where "*" is one segment
// and "**" any number of them.
func matchPath(pat, p []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for i := 0; i <= len(p); i++ {
				if matchPath(pat[1:], p[i:]) {
					return true
				}
			}
			return false
		}
		if len(p) == 0 || (pat[0] != "*" && pat[0] != p[0]) {
			return false
		}
		pat, p = pat[1:], p[1:]
	}
	return len(p) == 0
}

// incoming is a request prepared for matching.
type incoming struct {
	method, host, path string
	query              url.Values
	key                string
	body               simBody
}

func (s *Simulation) prepare(r *http.Request, body []byte) *incoming {
	in := &incoming{method: r.Method, host: r.Host, path: escapedPath(r.URL)}
	in.query = s.query(r.URL.RawQuery)
	in.key = in.method + " " + in.path + "?" + in.query.Encode()
	in.body = s.body(body, r.Header.Get("Content-Type"))
	return in
}

// lookup returns the recorded exchange that answers in, and which repeat
// of its request this is (0-based), or nil.
func (s *Simulation) lookup(in *incoming, matchHost bool) (*simEntry, int) {
	var cands []*simEntry
	exact := false
	for _, e := range s.byKey[in.key] {
		if matchHost && !strings.EqualFold(e.host, in.host) {
			continue
		}
		if e.body.kind == '*' || (e.body.kind == in.body.kind && e.body.canon == in.body.canon) {
			cands = append(cands, e)
			exact = exact || e.body.kind != '*'
		}
	}
	// Repeats are counted per request; a request only truncated recordings
	// answer is told apart by nothing but its key (those recordings cannot
	// tell bodies apart), so that every body sent does not keep a count of
	// its own for the simulation's life.
	sig := in.key + "\x00*"
	if exact {
		sig = in.key + "\x00" + string(rune(in.body.kind)) + in.body.canon
	}
	if matchHost {
		sig = strings.ToLower(in.host) + "\x00" + sig
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(cands) == 0 {
		s.misses++
		return nil, 0
	}
	s.hits++
	n := s.served[sig]
	s.served[sig] = n + 1
	return cands[min(n, len(cands)-1)], n
}

// closest returns the recorded exchange nearest to in and how it differs.
func (s *Simulation) closest(in *incoming, matchHost bool) (*simEntry, []string) {
	var best *simEntry
	var bestDiffs []string
	bestScore := -1
	for _, e := range s.entries {
		score, diffs := e.diff(in, matchHost)
		if bestScore < 0 || score < bestScore {
			best, bestDiffs, bestScore = e, diffs, score
		}
	}
	return best, bestDiffs
}

// diff says how in differs from e, with a score: a different method, host
// or path weighs more than a parameter or field.
func (e *simEntry) diff(in *incoming, matchHost bool) (int, []string) {
	var out []string
	score := 0
	if e.method != in.method {
		score += 8
		out = append(out, fmt.Sprintf("method: recorded %s, got %s", e.method, in.method))
	}
	if matchHost && !strings.EqualFold(e.host, in.host) {
		score += 8
		out = append(out, fmt.Sprintf("host: recorded %s, got %s", e.host, in.host))
	}
	if e.path != in.path {
		score += 4 + pathDistance(e.path, in.path)
		out = append(out, fmt.Sprintf("path: recorded %s, got %s", e.path, in.path))
	}
	qd := diffValues("query", e.query, in.query)
	score += len(qd)
	out = append(out, qd...)
	bd := diffBody(e.body, in.body)
	score += len(bd)
	out = append(out, bd...)
	return score, out
}

// pathDistance counts the segments in which two paths differ.
func pathDistance(a, b string) int {
	as, bs := strings.Split(a, "/"), strings.Split(b, "/")
	n := max(len(as), len(bs)) - min(len(as), len(bs))
	for i := range min(len(as), len(bs)) {
		if as[i] != bs[i] {
			n++
		}
	}
	return n
}

func diffValues(what string, rec, got url.Values) []string {
	var out []string
	keys := make([]string, 0, len(rec)+len(got))
	for k := range rec {
		keys = append(keys, k)
	}
	for k := range got {
		if _, ok := rec[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		r, rok := rec[k]
		g, gok := got[k]
		switch {
		case !gok:
			out = append(out, fmt.Sprintf("%s %s: missing (recorded %s)", what, k, joinValues(r)))
		case !rok:
			out = append(out, fmt.Sprintf("%s %s: not recorded (got %s)", what, k, joinValues(g)))
		case !slices.Equal(r, g):
			out = append(out, fmt.Sprintf("%s %s: recorded %s, got %s", what, k, joinValues(r), joinValues(g)))
		}
	}
	return out
}

// joinValues writes a field's values for a near miss, an empty one as ""
// (?page= would otherwise read "got " with nothing after it).
func joinValues(vs []string) string {
	if s := strings.Join(vs, ","); s != "" {
		return s
	}
	return `""`
}

// maxBodyDiffs bounds the differences listed for one body.
const maxBodyDiffs = 8

func diffBody(rec, got simBody) []string {
	switch {
	case rec.kind == '*':
		return nil
	case rec.kind == got.kind && rec.canon == got.canon:
		return nil
	case rec.kind == 'j' && got.kind == 'j':
		var out []string
		diffJSON("body", rec.json, got.json, &out)
		if len(out) > maxBodyDiffs {
			out = append(out[:maxBodyDiffs], fmt.Sprintf("body: %d more differences", len(out)-maxBodyDiffs))
		}
		return out
	case rec.kind == 'f' && got.kind == 'f':
		return diffValues("body field", rec.form, got.form)
	case rec.kind != got.kind:
		return []string{fmt.Sprintf("body: recorded %s, got %s", bodyKind(rec), bodyKind(got))}
	}
	return []string{fmt.Sprintf("body: recorded %d bytes, got %d bytes that differ", rec.size, got.size)}
}

func bodyKind(b simBody) string {
	switch b.kind {
	case 0:
		return "no body"
	case 'j':
		return "JSON"
	case 'f':
		return "a form"
	}
	return fmt.Sprintf("%d bytes (not JSON)", b.size)
}

// diffJSON lists where two JSON values differ, by dot path.
func diffJSON(at string, rec, got any, out *[]string) {
	if len(*out) > maxBodyDiffs {
		return
	}
	switch r := rec.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			break
		}
		keys := make([]string, 0, len(r)+len(g))
		for k := range r {
			keys = append(keys, k)
		}
		for k := range g {
			if _, ok := r[k]; !ok {
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		for _, k := range keys {
			rv, rok := r[k]
			gv, gok := g[k]
			switch {
			case !gok:
				*out = append(*out, fmt.Sprintf("%s.%s: missing (recorded %s)", at, k, short(rv)))
			case !rok:
				*out = append(*out, fmt.Sprintf("%s.%s: not recorded (got %s)", at, k, short(gv)))
			default:
				diffJSON(at+"."+k, rv, gv, out)
			}
		}
		return
	case []any:
		g, ok := got.([]any)
		if !ok {
			break
		}
		for i := range min(len(r), len(g)) {
			diffJSON(fmt.Sprintf("%s.%d", at, i), r[i], g[i], out)
		}
		if len(r) != len(g) {
			*out = append(*out, fmt.Sprintf("%s: recorded %d items, got %d", at, len(r), len(g)))
		}
		return
	}
	a, _ := json.Marshal(rec)
	b, _ := json.Marshal(got)
	if !bytes.Equal(a, b) {
		*out = append(*out, fmt.Sprintf("%s: recorded %s, got %s", at, short(rec), short(got)))
	}
}

// short formats a JSON value for a difference, cut to a readable length.
func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

// serve answers r from the simulation. It reports false when nothing
// matched and the miss policy is to pass the request on. body is the
// request body as read for matching; ex is the exchange being recorded.
func (s *Simulation) serve(w http.ResponseWriter, r *http.Request, body []byte, ex *inspect.Exchange, matchHost bool) bool {
	in := s.prepare(r, body)
	e, repeat := s.lookup(in, matchHost)
	if ex.Meta == nil {
		ex.Meta = map[string]any{}
	}
	if e == nil {
		if s.opts.Miss == MissProxy {
			ex.Meta["simulate"] = map[string]any{"simulation": s.name, "miss": true, "passed": true}
			return false
		}
		s.missed(w, r, in, ex, matchHost)
		return true
	}
	ex.Meta["simulate"] = map[string]any{"simulation": s.name, "entry": e.index + 1, "repeat": repeat + 1}
	rec := e.ex.Response
	if rec == nil || rec.Status < 200 {
		msg := "the recorded exchange has no response"
		if e.ex.Error != "" {
			msg = "the recorded exchange failed: " + e.ex.Error
		} else if rec != nil {
			msg = fmt.Sprintf("the recorded exchange was answered %d, which cannot be replayed", rec.Status)
		}
		ex.Error = "simulate: " + msg
		writeJSONResponse(w, ex, http.StatusBadGateway, map[string]any{"error": ex.Error, "simulation": s.name, "entry": e.index + 1})
		return true
	}
	h := w.Header()
	// A HAR from a browser or another proxy keeps the headers that were
	// for the recorded connection (Apache's Upgrade: h2,h2c, Keep-Alive,
	// those its Connection header named): they are not served again (an
	// HTTP/2 client resets a stream whose HEADERS carry one).
	hop := map[string]bool{}
	for _, name := range hopHeaders {
		hop[name] = true
	}
	for _, x := range rec.Headers {
		if http.CanonicalHeaderKey(x.Name) == "Connection" {
			for name := range strings.SplitSeq(x.Value, ",") {
				hop[http.CanonicalHeaderKey(strings.TrimSpace(name))] = true
			}
		}
	}
	for _, x := range rec.Headers {
		if hop[http.CanonicalHeaderKey(x.Name)] {
			continue
		}
		switch http.CanonicalHeaderKey(x.Name) {
		case "Content-Encoding":
			// Browsers write HAR bodies decoded; hooklab records them as
			// they came, still encoded.
			if !e.encoded {
				continue
			}
		case "Content-Length":
			continue // the length is set below
		}
		h.Add(x.Name, x.Value)
	}
	switch {
	case rec.Status == http.StatusNoContent || rec.Status == http.StatusNotModified:
	case r.Method == http.MethodHead && rec.Headers.Get("Content-Length") != "":
		h.Set("Content-Length", rec.Headers.Get("Content-Length")) // what a GET would carry
	default:
		h.Set("Content-Length", strconv.Itoa(len(rec.Body)))
	}
	ex.Response = &inspect.Response{Status: rec.Status, Headers: inspect.FromHTTP(h), Body: rec.Body, Size: int64(len(rec.Body))}
	if rec.Truncated {
		ex.Meta["simulate"].(map[string]any)["truncated"] = true
	}
	w.WriteHeader(rec.Status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(rec.Body)
	}
	return true
}

// stillEncoded reports whether body is still in the content coding ce
// names: gzip and deflate if it decodes, zstd by its magic number, others
// (br) by whether the body is not text. Worked out once per entry, when a
// simulation loads.
func stillEncoded(ce string, body []byte) bool {
	if ce == "" {
		return false
	}
	_, err := inspect.DecodeContent(ce, body, 1<<20) // a first MiB decoding is proof enough
	if !errors.Is(err, errors.ErrUnsupported) {
		return err == nil && !strings.EqualFold(strings.TrimSpace(ce), "identity")
	}
	if len(body) >= 4 && body[0] == 0x28 && body[1] == 0xb5 && body[2] == 0x2f && body[3] == 0xfd {
		return true // zstd
	}
	return !utf8.Valid(body) // br and the rest
}

// missed answers 404 naming the closest recorded request.
func (s *Simulation) missed(w http.ResponseWriter, r *http.Request, in *incoming, ex *inspect.Exchange, matchHost bool) {
	target := in.path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	msg := fmt.Sprintf("simulate: no recorded exchange in %s matches %s %s", s.name, r.Method, target)
	out := map[string]any{"error": msg, "simulation": s.name}
	miss := map[string]any{"simulation": s.name, "miss": true}
	if e, diffs := s.closest(in, matchHost); e != nil {
		closest := map[string]any{
			"entry": e.index + 1, "method": e.ex.Request.Method, "url": e.ex.Request.URL, "differences": diffs,
		}
		out["closest"] = closest
		miss["closest"] = closest
	}
	ex.Meta["simulate"] = miss
	ex.Error = msg
	writeJSONResponse(w, ex, http.StatusNotFound, out)
}

// writeJSONResponse answers v as JSON and records it as ex's response.
func writeJSONResponse(w http.ResponseWriter, ex *inspect.Exchange, code int, v any) {
	body := inspect.JSONLine(v, "  ")
	ex.Response = &inspect.Response{
		Status:  code,
		Headers: inspect.Headers{{Name: "Content-Type", Value: "application/json"}},
		Body:    body, Size: int64(len(body)),
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body)
}
