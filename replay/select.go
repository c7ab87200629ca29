package replay

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/inspect/har"
	"github.com/hooklab/hooklab/rules"
)

// Filter selects recorded exchanges, with the names and forms of the list
// API's parameters (see inspect.ParseQuery), plus Path.
type Filter struct {
	Bin    string `json:"bin,omitempty"`
	Source string `json:"source,omitempty"`
	Method string `json:"method,omitempty"`
	// Status is a code ("404") or a class ("5xx").
	Status string `json:"status,omitempty"`
	// Q is text searched for in URL, headers and bodies.
	Q string `json:"q,omitempty"`
	// Since and Until are RFC 3339 times.
	Since string `json:"since,omitempty"`
	Until string `json:"until,omitempty"`
	// Path matches the URL path as q=path: does (inspect.MatchPath):
	// exactly, or as a glob where ** is any number of segments and a
	// trailing "*" also matches deeper paths ("/hooks/*" matches
	// "/hooks/a/b").
	Path string `json:"path,omitempty"`
	// Limit selects only the newest Limit matches, still in the order they
	// arrived (0: every match).
	Limit int `json:"limit,omitempty"`
}

// UnmarshalJSON reads a filter as POST /api/replay takes it, refusing
// unknown fields and a field given empty ("bin": "$BIN" with the variable
// unset), as FilterFromValues does: Values drops an empty one, and the run
// would take every exchange. An empty q is no search, as in the list API.
func (f *Filter) UnmarshalJSON(b []byte) error {
	type plain Filter
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode((*plain)(f)); err != nil {
		return err
	}
	// Again, as pointers, to tell "" from a field left out.
	var given struct {
		Bin    *string `json:"bin"`
		Source *string `json:"source"`
		Method *string `json:"method"`
		Status *string `json:"status"`
		Since  *string `json:"since"`
		Until  *string `json:"until"`
		Path   *string `json:"path"`
	}
	if err := json.Unmarshal(b, &given); err != nil {
		return err
	}
	for _, g := range []struct {
		name string
		v    *string
	}{{"bin", given.Bin}, {"source", given.Source}, {"method", given.Method}, {"status", given.Status},
		{"since", given.Since}, {"until", given.Until}, {"path", given.Path}} {
		if g.v != nil && *g.v == "" {
			return inspect.ValueError(g.name, "given empty: give a value, or leave "+g.name+" out")
		}
	}
	return nil
}

// nothing is ErrNothing saying which selection matched nothing: its
// parameters as name=value, or, with none, that nothing is recorded
// (replays are left out unless a source asks for them).
func (f Filter) nothing() error {
	given := f.given()
	if len(given) == 0 {
		return fmt.Errorf("%w: no exchange is recorded (replays aside)", ErrNothing)
	}
	return fmt.Errorf("%w: no exchange matches %s", ErrNothing, strings.Join(given, " "))
}

// given returns the fields of f given, limit aside, as name=value (the
// value quoted when it holds a space, a quote or what needs escaping).
func (f Filter) given() []string {
	var given []string
	for _, kv := range [][2]string{{"bin", f.Bin}, {"source", f.Source}, {"method", f.Method}, {"status", f.Status},
		{"q", f.Q}, {"since", f.Since}, {"until", f.Until}, {"path", f.Path}} {
		if kv[1] == "" {
			continue
		}
		v := kv[1]
		if q := strconv.Quote(v); q != `"`+v+`"` || strings.ContainsAny(v, " '") {
			v = q
		}
		given = append(given, kv[0]+"="+v)
	}
	return given
}

// Values returns f as URL parameters.
func (f Filter) Values() url.Values {
	v := url.Values{}
	for _, kv := range [][2]string{{"bin", f.Bin}, {"source", f.Source}, {"method", f.Method}, {"status", f.Status},
		{"q", f.Q}, {"since", f.Since}, {"until", f.Until}, {"path", f.Path}} {
		if kv[1] != "" {
			v.Set(kv[0], kv[1])
		}
	}
	if f.Limit > 0 {
		v.Set("limit", strconv.Itoa(f.Limit))
	}
	return v
}

// FilterFromValues reads a Filter from URL parameters, checking it as the
// list API does. "limit" here caps the whole selection (any positive
// number).
func FilterFromValues(v url.Values) (Filter, error) {
	if err := inspect.Once(v, "bin", "source", "method", "status", "q", "since", "until", "path", "limit"); err != nil {
		return Filter{}, err
	}
	if _, err := inspect.BinParam(v); err != nil { // Values (below) drops an empty one
		return Filter{}, err
	}
	if err := inspect.NoEmpty(v, "source", "method", "status", "since", "until", "path", "limit"); err != nil {
		return Filter{}, err
	}
	f := Filter{Bin: v.Get("bin"), Source: v.Get("source"), Method: v.Get("method"), Status: v.Get("status"),
		Q: v.Get("q"), Since: v.Get("since"), Until: v.Get("until"), Path: v.Get("path")}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return f, fmt.Errorf("%w: limit %q: want a positive number", inspect.ErrInvalid, s)
		}
		f.Limit = n
	}
	_, _, err := f.query()
	return f, err
}

// query is the store query of f, and the terms of its q= in the query
// language (method:POST, path:/hooks/*...), as the list API reads them.
func (f Filter) query() (inspect.Query, inspect.Terms, error) {
	if f.Limit < 0 {
		return inspect.Query{}, nil, fmt.Errorf("%w: limit %d: want 0 (every match) or more", inspect.ErrInvalid, f.Limit)
	}
	v := f.Values()
	v.Del("limit")
	v.Del("path")
	q, err := inspect.ParseQuery(v)
	if err != nil {
		return q, nil, err
	}
	terms, err := inspect.ParseQueryLang(q.Text)
	if err != nil {
		return q, nil, fmt.Errorf("q: %w", err) // it says invalid input already
	}
	q.Text = ""
	if f.Path != "" {
		// Checked as q=path: checks it, since it matches as q=path: does.
		if err := inspect.CheckPathPattern(f.Path); err != nil {
			return q, nil, fmt.Errorf("%w: path pattern %q: %v", inspect.ErrInvalid, f.Path, err)
		}
	}
	return q, terms, nil
}

func (f Filter) matchPath(rawURL string) bool {
	// The same matching as the list API's q=path: (** for any number of
	// segments, an escaped pattern against the escaped path).
	return f.Path == "" || inspect.MatchPath(f.Path, rawURL)
}

// Select loads the exchanges to replay or export: those with ids (in that
// order; a missing one is an error wrapping inspect.ErrNotFound), or else
// those matching f, oldest first. Without an explicit Source filter, replays
// are left out, so that replaying a bin twice does not replay the replays.
func Select(ctx context.Context, store inspect.Store, ids []string, f Filter) ([]*inspect.Exchange, error) {
	var out []*inspect.Exchange
	err := Each(ctx, store, ids, f, func(ex *inspect.Exchange) error {
		out = append(out, ex)
		return nil
	})
	return out, err
}

// Each calls fn with each exchange Select would return, loading them one
// page at a time.
func Each(ctx context.Context, store inspect.Store, ids []string, f Filter, fn func(*inspect.Exchange) error) error {
	if len(ids) > 0 {
		for _, id := range ids {
			ex, err := store.Get(ctx, id)
			if err != nil {
				return err
			}
			if err := fn(ex); err != nil {
				return err
			}
		}
		return nil
	}
	return eachListed(ctx, store, f, func(s inspect.Summary) error { return withExchange(ctx, store, s.ID, fn) })
}

// Selected is an exchange chosen for a run: its id, its time for
// PaceOriginal, and its recorded URL and source, which say before the run
// what its path will be.
type Selected struct {
	ID     string
	Time   time.Time
	URL    string
	Source inspect.Source
}

// SelectIDs is Select without loading what it does not need: the ids and
// times of the exchanges Select would return, in its order. (Given ids
// are still read, one at a time, to check that they exist.)
func SelectIDs(ctx context.Context, store inspect.Store, ids []string, f Filter) ([]Selected, error) {
	var out []Selected
	var err error
	if len(ids) > 0 {
		err = Each(ctx, store, ids, f, func(ex *inspect.Exchange) error {
			out = append(out, Selected{ID: ex.ID, Time: ex.Time, URL: ex.Request.URL, Source: ex.Source})
			return nil
		})
	} else {
		err = eachListed(ctx, store, f, func(s inspect.Summary) error {
			t, _ := time.Parse(time.RFC3339Nano, s.Time) // the store's own format
			out = append(out, Selected{ID: s.ID, Time: t, URL: s.URL, Source: s.Source})
			return nil
		})
	}
	return out, err
}

// eachListed calls fn with the summary of each exchange f selects, oldest
// first.
func eachListed(ctx context.Context, store inspect.Store, f Filter, fn func(inspect.Summary) error) error {
	q, terms, err := f.query()
	if err != nil {
		return err
	}
	if f.Limit > 0 {
		return eachNewest(ctx, store, q, terms, f, fn)
	}
	q.Ascending, q.Limit = true, 1000
	for {
		page, next, err := inspect.ListMatching(ctx, store, q, terms, 0)
		if err != nil {
			return err
		}
		for _, s := range page {
			if !f.takes(q, terms, s) {
				continue
			}
			if err := fn(s); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		q.Cursor = next
	}
}

// takes reports whether a listed exchange is selected: replays only when
// the filter asks for a source (source=, or a source: term), and the path
// filter, which the store cannot apply.
func (f Filter) takes(q inspect.Query, terms inspect.Terms, s inspect.Summary) bool {
	asked := q.Source != "" || slices.ContainsFunc(terms, func(t inspect.Term) bool { return t.Field == "source" && !t.Not })
	return (asked || s.Source != inspect.SourceReplay) && f.matchPath(s.URL)
}

// withExchange calls fn with the exchange id, unless retention removed it
// meanwhile. (The id was listed, so it was stored: while answered
// exchanges wait to be written, the store says ErrStoreFull of an id it
// cannot find, which for this one means the same.)
func withExchange(ctx context.Context, store inspect.Store, id string, fn func(*inspect.Exchange) error) error {
	ex, err := store.Get(ctx, id)
	if errors.Is(err, inspect.ErrNotFound) || errors.Is(err, inspect.ErrStoreFull) {
		return nil
	}
	if err != nil {
		return err
	}
	return fn(ex)
}

// eachNewest is eachListed for a filter with a limit: the newest f.Limit
// matches, in the order they arrived.
func eachNewest(ctx context.Context, store inspect.Store, q inspect.Query, terms inspect.Terms, f Filter, fn func(inspect.Summary) error) error {
	var picked []inspect.Summary
	q.Limit = min(f.Limit+16, 1000)
	for len(picked) < f.Limit {
		page, next, err := inspect.ListMatching(ctx, store, q, terms, 0) // newest first
		if err != nil {
			return err
		}
		for _, s := range page {
			if !f.takes(q, terms, s) {
				continue
			}
			if picked = append(picked, s); len(picked) == f.Limit {
				break
			}
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	slices.Reverse(picked)
	for _, s := range picked {
		if err := fn(s); err != nil {
			return err
		}
	}
	return nil
}

// Export writes the selected exchanges (see Select) to w as a HAR file,
// streaming, with secrets redacted unless opts.KeepSecrets. It returns how
// many it wrote.
func Export(ctx context.Context, store inspect.Store, ids []string, f Filter, w io.Writer, opts har.Options) (int, error) {
	hw := har.NewWriter(w, opts)
	err := Each(ctx, store, ids, f, hw.Write)
	if cerr := hw.Close(); err == nil {
		err = cerr
	}
	return hw.Count(), err
}

// ImportOptions configure Import.
type ImportOptions struct {
	// Bin is the bin of entries that name none (files from browsers);
	// "import" when empty.
	Bin string
	// Into stores every entry in Bin, also those a hooklab export names
	// a bin for.
	Into bool
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// MaxBody is how many bytes of each body are stored, as capture keeps
	// them (the rest counted, the exchange marked truncated);
	// rules.DefaultMaxBody when zero.
	MaxBody int64
	// AdmitBins, when set, is asked for the bins the entries go into, all
	// at once (hooklab's --max-bins); nothing is stored when it refuses,
	// and the error wraps ErrBinRefused.
	AdmitBins func(ctx context.Context, bins []string) error
}

// ErrBinRefused is wrapped by the error of an import that names a bin
// ImportOptions.AdmitBins refused.
var ErrBinRefused = errors.New("bin refused")

// Import reads a HAR file and stores one exchange per entry. Entries that
// hooklab exported keep their id, bin and source unless the id is taken;
// others get a new id (made from the entry's time, so they sort by it) and
// opts.Bin (with opts.Into, every entry goes into opts.Bin). It returns
// the ids stored, in file order, and how many entries it skipped as not
// HTTP (data: URLs and the like; har.File.NotHTTP).
// Nothing is stored when the file does not parse. When the store refuses
// an exchange (a full disk), those before it stay stored and the ids
// returned are theirs; the error names the one refused and says how many
// were stored.
func Import(ctx context.Context, store inspect.Store, r io.Reader, opts ImportOptions) ([]string, int, error) {
	f, err := har.Decode(r)
	if err != nil {
		return nil, 0, err
	}
	exs, err := f.Exchanges()
	if err != nil {
		return nil, 0, err
	}
	ids, err := ImportExchanges(ctx, store, exs, opts)
	return ids, f.NotHTTP(), err
}

// ImportExchanges adds exs to store as Import does, in order.
func ImportExchanges(ctx context.Context, store inspect.Store, exs []*inspect.Exchange, opts ImportOptions) ([]string, error) {
	if opts.Bin == "" {
		opts.Bin = "import"
	}
	if err := inspect.ValidBin(opts.Bin); err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var ids inspect.IDs
	seen := make(map[string]bool, len(exs))
	for _, ex := range exs {
		// An id already stored, or already taken earlier in this import,
		// gets a fresh one.
		keep := ex.ID != "" && inspect.ValidID(ex.ID) && !seen[ex.ID]
		if keep {
			if _, err := store.Get(ctx, ex.ID); !errors.Is(err, inspect.ErrNotFound) {
				keep = false
			}
		}
		if !keep {
			t := ex.Time
			if t.IsZero() {
				t = opts.Now()
			}
			ex.ID = ids.New(t)
		}
		seen[ex.ID] = true
		if opts.Into || ex.Bin == "" || inspect.ValidBin(ex.Bin) != nil {
			ex.Bin = opts.Bin
		}
		if ex.Source == "" {
			ex.Source = inspect.SourceProxy
		}
		limit := cmp.Or(opts.MaxBody, rules.DefaultMaxBody)
		if n := int64(len(ex.Request.Body)); n > limit {
			ex.Request.Body, ex.Request.Size, ex.Request.Truncated = ex.Request.Body[:limit], max(ex.Request.Size, n), true
		}
		if r := ex.Response; r != nil && int64(len(r.Body)) > limit {
			r.Body, r.Size, r.Truncated = r.Body[:limit], max(r.Size, int64(len(r.Body))), true
		}
	}
	if opts.AdmitBins != nil {
		bins := make([]string, 0, 1)
		named := map[string]bool{}
		for _, ex := range exs {
			if !named[ex.Bin] {
				named[ex.Bin] = true
				bins = append(bins, ex.Bin)
			}
		}
		if err := opts.AdmitBins(ctx, bins); err != nil {
			return nil, fmt.Errorf("%w: %w; nothing of the file is stored (to put every entry in one bin: into=NAME, or hooklab import --bin NAME)", ErrBinRefused, err)
		}
	}
	// One at a time: the store lists in the order it was given, and an
	// import keeps the file's order.
	out := make([]string, 0, len(exs))
	for i, ex := range exs {
		if err := store.Add(ctx, ex); err != nil {
			// Those before it stay: say so, since importing the file
			// again stores them twice.
			done := "none before it is stored"
			switch i {
			case 0:
			case 1:
				done = "the one before it is stored (importing the file again stores it twice)"
			default:
				done = fmt.Sprintf("the %d before it are stored (importing the file again stores them twice)", i)
			}
			return out, fmt.Errorf("store exchange %d of %d (%s %s): %w; %s", i+1, len(exs), ex.Request.Method, inspect.RedactURL(ex.Request.URL), err, done)
		}
		out = append(out, ex.ID)
	}
	return out, nil
}

// ReadHAR reads the exchanges of a HAR file, for replaying it directly.
func ReadHAR(r io.Reader) ([]*inspect.Exchange, error) {
	f, err := har.Decode(r)
	if err != nil {
		return nil, err
	}
	return f.Exchanges()
}
