package replay

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/inspect/har"
)

// APIConfig holds what the replay API needs.
type APIConfig struct {
	Store inspect.Store
	// IDs makes run ids and the ids of recorded replays.
	IDs *inspect.IDs
	// Publish sends live events, {"type": "replay", …}, one per result and
	// one when a run ends; main wires it to the hub. Nil sends none.
	Publish func(inspect.Event)
	// ResignFunc signs emitted exchanges again (see Options.ResignFunc).
	ResignFunc func(ex *inspect.Exchange) (Resigned, error)
	// Transport sends replays; NewTransport(false) when nil.
	Transport http.RoundTripper
	// SecretHeaders names more headers to redact in exports and to show
	// as inspect.Redacted in the diffs of runs.
	SecretHeaders []string
	Logger        *slog.Logger
	// Context is the app's: runs outlive the request that started them and
	// stop when it is cancelled. context.Background() when nil.
	Context context.Context
	// KeepRuns is how many finished runs are kept for GET; 50 when zero.
	KeepRuns int
	// KeepBytes bounds the results of the finished runs kept (their
	// diffs, about as held in memory): past it the oldest go, though
	// the newest is always kept; 64 MiB when zero.
	KeepBytes int64
	// MaxHAR caps an imported or posted HAR file; 256 MiB when zero.
	MaxHAR int64
	// MaxBody is how much of each imported body is stored (see
	// ImportOptions.MaxBody), and of each response a run replays (see
	// Options.MaxBody).
	MaxBody int64
	Clock   Clock
	// OwnAPI reports whether a URL names hooklab's own UI/API listener,
	// however it spells it; a run whose target it names is refused up
	// front (Transport refuses each of its requests anyway). Nil: none.
	OwnAPI func(rawURL string) bool
	// AdmitBins is asked for the bins an import stores into (see
	// ImportOptions.AdmitBins); a refusal is a 429, as POST /api/bins's.
	AdmitBins func(ctx context.Context, bins []string) error
}

// API serves the replay, import and export endpoints:
//
//	POST   /api/replay        start a run (a Spec); 202 {"id", "url",
//	                          "total"}, and "warnings" when there are any
//	GET    /api/replay        the runs kept, newest first, without results
//	GET    /api/replay/{run}  a run's state and results (?from=N: results
//	                          from the Nth completed on)
//	DELETE /api/replay/{run}  cancel a run
//	POST   /api/import        store the entries of a HAR file (?bin=NAME for entries naming none, or ?into=NAME for all)
//	GET    /api/export.har    HAR of the exchanges matching the list
//	                          filters (and path=, limit=, ids=a,b);
//	                          keep_secrets=1 leaves secrets in
type API struct {
	cfg  APIConfig
	log  *slog.Logger
	errs *inspect.ErrorWriter
	mux  *http.ServeMux
	h    http.Handler // mux, answering in JSON what it has no route for
	mu   sync.Mutex
	runs map[string]*run
	wg   sync.WaitGroup
}

var _ http.Handler = (*API)(nil)

// NewAPI returns the replay API handler.
func NewAPI(cfg APIConfig) *API {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Context == nil {
		cfg.Context = context.Background()
	}
	if cfg.IDs == nil {
		cfg.IDs = new(inspect.IDs)
	}
	if cfg.KeepRuns <= 0 {
		cfg.KeepRuns = 50
	}
	if cfg.KeepBytes <= 0 {
		cfg.KeepBytes = 64 << 20
	}
	if cfg.MaxHAR <= 0 {
		cfg.MaxHAR = 256 << 20
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	a := &API{cfg: cfg, log: cfg.Logger, errs: inspect.NewErrorWriter(cfg.Logger), mux: http.NewServeMux(), runs: map[string]*run{}}
	a.mux.HandleFunc("POST /api/replay", inspect.OnlyParams(a.log, a.start))
	a.mux.HandleFunc("GET /api/replay", inspect.OnlyParams(a.log, a.list))
	a.mux.HandleFunc("GET /api/replay/{run}", inspect.OnlyParams(a.log, a.get, "from"))
	a.mux.HandleFunc("DELETE /api/replay/{run}", inspect.OnlyParams(a.log, a.cancel))
	a.mux.HandleFunc("POST /api/import", a.importHAR)
	a.mux.HandleFunc("GET /api/export.har", a.export)
	a.h = inspect.JSONErrors(a.mux)
	return a
}

// ServeHTTP implements http.Handler.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.h.ServeHTTP(w, r) }

// Wait blocks until every run has ended; call it after cancelling the app
// context, before closing the store.
func (a *API) Wait() { a.wg.Wait() }

// Run states.
const (
	StateRunning  = "running"
	StateDone     = "done"
	StateFailed   = "failed"
	StateCanceled = "canceled"
)

// RunStatus is a run as GET /api/replay/{run} gives it.
type RunStatus struct {
	ID    string `json:"id"`
	State string `json:"state"`
	// Target is the run's target, its password and the values of its
	// secret-named query parameters (?api_key=) replaced by
	// inspect.Redacted (inspect.ShownURL).
	Target string `json:"target,omitempty"`
	// Selection says what the run replays (exchanges by id, a filter, a
	// HAR file's entries) and with which overrides, secrets REDACTED.
	Selection Selection  `json:"selection"`
	Started   time.Time  `json:"started"`
	Finished  *time.Time `json:"finished,omitempty"`
	Total     int        `json:"total"`
	Done      int        `json:"done"`
	Summary   Summary    `json:"summary"`
	// Ignore is the run's diff.ignore: JSON paths not compared.
	Ignore []string `json:"ignore,omitempty"`
	// Warnings say what of the run's options may not be what was meant
	// (a strip_prefix no path starts with); POST /api/replay answers them
	// too.
	Warnings []string `json:"warnings,omitempty"`
	Error    string   `json:"error,omitempty"`
	// Results are in the order they completed (each has its Index).
	Results []Result `json:"results"`
}

type run struct {
	mu     sync.Mutex
	st     RunStatus
	size   int64 // of st.Results, about (resultSize)
	cancel context.CancelFunc
}

// resultSize is about the memory r holds: its strings and a fixed part.
func resultSize(r Result) int64 {
	n := 256 + len(r.Original) + len(r.Replay) + len(r.Method) + len(r.URL) + len(r.Error)
	for _, cs := range [][]Change{r.Changes, r.Ignored} {
		for _, c := range cs {
			n += 64 + len(c.Path) + len(c.Kind) + len(c.Old) + len(c.New) + len(c.Unified)
		}
	}
	for _, ss := range [][]string{r.Notes, r.Redacted} {
		for _, s := range ss {
			n += 16 + len(s)
		}
	}
	return int64(n)
}

func (r *run) status(from int) RunStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	from = min(max(from, 0), len(st.Results))
	st.Results = slices.Clone(st.Results[from:])
	return st
}

func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	a.errs.Write(w, r, err)
}

func (a *API) start(w http.ResponseWriter, r *http.Request) {
	var spec Spec
	if err := inspect.DecodeJSON(r, &spec, a.cfg.MaxHAR); err != nil {
		a.fail(w, r, err)
		return
	}
	if spec.Target != "" && a.cfg.OwnAPI != nil && a.cfg.OwnAPI(spec.Target) {
		a.fail(w, r, fmt.Errorf("%w: target %s is hooklab's own API, which replays are never sent to: give the address of the service to replay to", inspect.ErrInvalid, inspect.ShownURL(spec.Target, inspect.QuerySecret(a.cfg.SecretHeaders))))
		return
	}
	// Before Options, which copies spec.Diff into the run's options.
	spec.Diff.SecretHeaders = a.cfg.SecretHeaders
	opts, err := spec.Options(Options{
		ResignFunc: a.cfg.ResignFunc, Transport: a.cfg.Transport, Clock: a.cfg.Clock,
		Record: a.cfg.Store.Add, IDs: a.cfg.IDs, MaxBody: a.cfg.MaxBody,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	// A HAR's entries are in hand; stored exchanges are read as their
	// turn comes (RunStored), so that the run holds only those in flight.
	var total int
	var warning string
	var replayRun func(ctx context.Context) error
	if len(spec.HAR) > 0 {
		var f *har.File
		var exs []*inspect.Exchange
		if f, err = har.Parse(spec.HAR); err == nil {
			exs, err = f.Exchanges()
		}
		total = len(exs)
		warning = stripWarning(spec.StripPrefix, total, func(i int) (string, inspect.Source) { return exs[i].Request.URL, exs[i].Source })
		if err == nil && total == 0 {
			err = errNoEntries
		}
		replayRun = func(ctx context.Context) error { _, err := Run(ctx, exs, opts); return err }
	} else {
		var f Filter
		if spec.Filter != nil {
			f = *spec.Filter
		}
		var sel []Selected
		sel, err = SelectIDs(r.Context(), a.cfg.Store, spec.IDs, f)
		total = len(sel)
		warning = stripWarning(spec.StripPrefix, total, func(i int) (string, inspect.Source) { return sel[i].URL, sel[i].Source })
		if err == nil && total == 0 {
			err = f.nothing()
		}
		replayRun = func(ctx context.Context) error { _, err := RunStored(ctx, a.cfg.Store, sel, opts); return err }
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var warnings []string
	if warning != "" {
		warnings = append(warnings, warning)
	}
	now := a.cfg.Clock.Now()
	ctx, cancel := context.WithCancel(a.cfg.Context)
	rn := &run{cancel: cancel, st: RunStatus{ID: a.cfg.IDs.New(now), State: StateRunning, Target: inspect.ShownURL(spec.Target, inspect.QuerySecret(a.cfg.SecretHeaders)), Selection: spec.selection(total, a.cfg.SecretHeaders), Started: now, Total: total, Ignore: spec.Diff.Ignore, Warnings: warnings, Results: []Result{}}}
	a.mu.Lock()
	a.runs[rn.st.ID] = rn
	a.prune()
	a.mu.Unlock()

	opts.OnResult = func(res Result) {
		rn.mu.Lock()
		rn.st.Results = append(rn.st.Results, res)
		rn.size += resultSize(res)
		rn.st.Done++
		rn.st.Summary.add(res)
		done, total := rn.st.Done, rn.st.Total
		rn.mu.Unlock()
		a.publish(map[string]any{"run": rn.st.ID, "state": StateRunning, "done": done, "total": total, "result": res})
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		defer cancel()
		err := replayRun(ctx)
		fin := a.cfg.Clock.Now()
		rn.mu.Lock()
		rn.st.Finished = &fin
		switch {
		case errors.Is(err, context.Canceled):
			rn.st.State, rn.st.Error = StateCanceled, "canceled"
		case err != nil:
			rn.st.State, rn.st.Error = StateFailed, err.Error()
		default:
			rn.st.State = StateDone
		}
		ev := map[string]any{"run": rn.st.ID, "state": rn.st.State, "done": rn.st.Done, "total": rn.st.Total, "summary": rn.st.Summary}
		if rn.st.Error != "" {
			ev["error"] = rn.st.Error
		}
		rn.mu.Unlock()
		a.mu.Lock()
		a.prune()
		a.mu.Unlock()
		a.publish(ev)
	}()
	w.Header().Set("Location", "/api/replay/"+rn.st.ID)
	answer := map[string]any{"id": rn.st.ID, "url": "/api/replay/" + rn.st.ID, "total": total}
	if len(warnings) > 0 {
		answer["warnings"] = warnings
	}
	inspect.WriteJSON(w, http.StatusAccepted, answer)
}

func (a *API) publish(data map[string]any) {
	if a.cfg.Publish != nil {
		a.cfg.Publish(inspect.Event{Type: "replay", Data: data})
	}
}

// prune drops the oldest finished runs beyond KeepRuns, and while those
// kept hold more than KeepBytes of results, the newest finished run
// aside. a.mu is held.
func (a *API) prune() {
	ids := make([]string, 0, len(a.runs))
	for id := range a.runs {
		ids = append(ids, id)
	}
	slices.Sort(ids) // oldest first
	var finished []string
	ended := map[string]time.Time{}
	var size int64
	for _, id := range ids {
		rn := a.runs[id]
		rn.mu.Lock()
		if rn.st.State != StateRunning {
			finished = append(finished, id)
			size += rn.size
			if rn.st.Finished != nil {
				ended[id] = *rn.st.Finished
			}
		}
		rn.mu.Unlock()
	}
	// Oldest finished first: the run that just ended is the last, kept.
	slices.SortStableFunc(finished, func(x, y string) int { return ended[x].Compare(ended[y]) })
	for _, id := range finished[:max(len(finished)-1, 0)] {
		if len(a.runs) <= a.cfg.KeepRuns && size <= a.cfg.KeepBytes {
			return
		}
		rn := a.runs[id]
		rn.mu.Lock()
		size -= rn.size
		rn.mu.Unlock()
		delete(a.runs, id)
	}
}

func (a *API) lookup(r *http.Request) (*run, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	rn, ok := a.runs[strings.ToUpper(r.PathValue("run"))] // ids are found in lower case too
	if !ok {
		return nil, fmt.Errorf("replay run %q: %w", r.PathValue("run"), inspect.ErrNotFound)
	}
	return rn, nil
}

func (a *API) get(w http.ResponseWriter, r *http.Request) {
	rn, err := a.lookup(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	from := 0
	if s := r.URL.Query().Get("from"); s != "" {
		if from, err = strconv.Atoi(s); err != nil || from < 0 {
			a.fail(w, r, fmt.Errorf("%w: from %q: want a number of results", inspect.ErrInvalid, s))
			return
		}
	}
	inspect.WriteJSON(w, http.StatusOK, rn.status(from))
}

// runSummary is a run without its results, as GET /api/replay lists it
// and DELETE /api/replay/{run} answers: the field is left out, not null
// (GET /api/replay/{run} gives them, [] while there are none).
type runSummary struct {
	RunStatus
	Results []Result `json:"results,omitempty"` // always nil: hides RunStatus.Results
}

// summary is the run's state without its results.
func (r *run) summary() runSummary {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.st
	st.Results = nil
	return runSummary{RunStatus: st}
}

func (a *API) list(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	out := make([]runSummary, 0, len(a.runs))
	for _, rn := range a.runs {
		out = append(out, rn.summary())
	}
	a.mu.Unlock()
	slices.SortFunc(out, func(x, y runSummary) int { return strings.Compare(y.ID, x.ID) })
	inspect.WriteJSON(w, http.StatusOK, map[string]any{"runs": out})
}

func (a *API) cancel(w http.ResponseWriter, r *http.Request) {
	rn, err := a.lookup(r)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	rn.cancel()
	inspect.WriteJSON(w, http.StatusOK, rn.summary())
}

func (a *API) importHAR(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	// NoEmpty: an unset variable (into=$BIN) would send the entries to the
	// bins the file names instead, without a word.
	if err := errors.Join(inspect.Only(v, "POST /api/import", "bin", "into"), inspect.Once(v, "bin", "into"), inspect.NoEmpty(v, "bin", "into")); err != nil {
		a.fail(w, r, err)
		return
	}
	bin, into := v.Get("bin"), v.Get("into")
	if bin != "" && into != "" {
		a.fail(w, r, fmt.Errorf("%w: give bin (for entries that name none) or into (for every entry), not both", inspect.ErrInvalid))
		return
	}
	if into != "" {
		bin = into
	}
	if bin != "" {
		if err := inspect.ValidBin(bin); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	body := http.MaxBytesReader(w, r.Body, a.cfg.MaxHAR)
	ids, skipped, err := Import(r.Context(), a.cfg.Store, body, ImportOptions{Bin: bin, Into: into != "", Now: a.cfg.Clock.Now, MaxBody: a.cfg.MaxBody, AdmitBins: a.cfg.AdmitBins})
	if errors.Is(err, ErrBinRefused) {
		inspect.WriteJSON(w, http.StatusTooManyRequests, map[string]string{"error": err.Error()})
		return
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = fmt.Errorf("%w: the HAR file is over the limit of %d bytes", inspect.ErrTooLarge, a.cfg.MaxHAR)
		}
		a.fail(w, r, err)
		return
	}
	inspect.WriteJSON(w, http.StatusCreated, map[string]any{"imported": len(ids), "ids": ids, "skipped_not_http": skipped})
}

func (a *API) export(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	if err := inspect.Only(v, "GET /api/export.har", "bin", "source", "method", "status", "q", "since", "until", "path", "limit", "ids", "keep_secrets"); err != nil {
		a.fail(w, r, err)
		return
	}
	f, err := FilterFromValues(v)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var ids []string
	if v.Has("ids") {
		if ids = splitComma(v.Get("ids")); len(ids) == 0 {
			// An empty list from a script would export everything.
			a.fail(w, r, fmt.Errorf("%w: ids is empty: give exchange ids separated by commas, or leave ids out", inspect.ErrInvalid))
			return
		}
	}
	var keep bool
	switch s := strings.ToLower(v.Get("keep_secrets")); s {
	case "1", "true", "yes":
		keep = true
	case "", "0", "false", "no":
	default:
		a.fail(w, r, fmt.Errorf("%w: keep_secrets %q: want 1, true or yes, or 0, false or no", inspect.ErrInvalid, v.Get("keep_secrets")))
		return
	}
	opts := har.Options{KeepSecrets: keep, SecretHeaders: a.cfg.SecretHeaders}
	// Check that there is something to export before the headers go out,
	// so that a bad id is a 404 rather than a broken file.
	for _, id := range ids {
		if _, err := a.cfg.Store.Get(r.Context(), id); err != nil {
			a.fail(w, r, err)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="hooklab-`+a.cfg.Clock.Now().UTC().Format("20060102-150405")+`.har"`)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Trailer", "X-Hooklab-Count")
	hold := &holdWriter{w: w}
	n, err := Export(r.Context(), a.cfg.Store, ids, f, hold, opts)
	if err == nil {
		_, err = hold.release()
	}
	if err != nil {
		if !hold.released {
			// Nothing of the file has gone out: the client gets the
			// reason (a damaged store names the missing file), not a cut
			// connection that hooklab export could only call EOF.
			for _, h := range []string{"Content-Disposition", "Trailer"} {
				w.Header().Del(h)
			}
			a.fail(w, r, err)
			return
		}
		a.log.Error("export failed midway", "err", err, "written", n)
		panic(http.ErrAbortHandler) // the client sees a cut file, not a valid one
	}
	w.Header().Set("X-Hooklab-Count", strconv.Itoa(n))
}

// holdMax is how much of an export holdWriter keeps back.
const holdMax = 64 << 10

// holdWriter keeps the first holdMax bytes of an export back, so that an
// export failing early can still answer an error instead of a cut file.
type holdWriter struct {
	w        io.Writer
	buf      []byte
	released bool
}

func (h *holdWriter) Write(p []byte) (int, error) {
	if h.released {
		return h.w.Write(p)
	}
	if len(h.buf)+len(p) < holdMax {
		h.buf = append(h.buf, p...)
		return len(p), nil
	}
	// Past holdMax: what is held goes, then p as it is (the first entry
	// of an export may be hundreds of MiB, not to be copied whole).
	if _, err := h.release(); err != nil {
		return 0, err
	}
	return h.w.Write(p)
}

// release writes what was kept back; what follows goes straight through.
func (h *holdWriter) release() (int, error) {
	if h.released {
		return 0, nil
	}
	h.released = true
	n, err := h.w.Write(h.buf)
	h.buf = nil
	return n, err
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
