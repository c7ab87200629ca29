package proxy

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/hooklab/hooklab/inspect"
)

// Simulator holds the simulations that answer proxied traffic instead of
// the upstreams: one for every proxy (--simulate FILE.har) and any number
// for one proxy each. They can be swapped while requests flow (POST
// /api/simulations); a swap starts the new simulation's repeat counts from
// zero. The zero value is not usable; call NewSimulator.
type Simulator struct {
	opts    SimulateOptions
	log     *slog.Logger
	proxies []string   // the proxies the API may name; nil: any
	mu      sync.Mutex // serializes swaps
	state   atomic.Pointer[simState]
	// configured lists the simulations the proxies' routes hold from the
	// config (see Configured).
	configured atomic.Pointer[func() []SimulationStatus]
}

// Configured gives the simulator the simulations a config's simulate: sets
// on the proxies' routes, for GET /api/simulations to list after its own.
func (s *Simulator) Configured(list func() []SimulationStatus) { s.configured.Store(&list) }

type simState struct {
	all     *Simulation
	byProxy map[string]*Simulation
}

// AllProxies is the proxy name under which a simulation answers for every
// proxy.
const AllProxies = "*"

// maxHAR is the largest HAR body the API accepts.
const maxHAR = 512 << 20

// NewSimulator returns an empty simulator. opts are the defaults for
// simulations loaded through it (the API may override them per load).
func NewSimulator(opts SimulateOptions, log *slog.Logger) *Simulator {
	if opts.Miss == "" {
		opts.Miss = MissNotFound
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Simulator{opts: opts, log: log}
	s.state.Store(&simState{byProxy: map[string]*Simulation{}})
	return s
}

// Proxies names the proxies that are running, so that the API refuses a
// simulation for a proxy with another name (a typo would simulate
// nothing). Call it before serving the API.
func (s *Simulator) Proxies(names ...string) { s.proxies = slices.Clone(names) }

// checkProxy fails for a proxy name the API should not take: an empty
// one given (an unset variable would mean every proxy), or one not running.
func (s *Simulator) checkProxy(q url.Values) error {
	name := q.Get("proxy")
	if q.Has("proxy") && name == "" {
		return fmt.Errorf("%w: proxy is empty: name a proxy, * for every one, or leave proxy out", inspect.ErrInvalid)
	}
	if name == "" || name == AllProxies || s.proxies == nil || slices.Contains(s.proxies, name) {
		return nil
	}
	if len(s.proxies) == 0 {
		return fmt.Errorf("%w: no proxy named %q: none is running", inspect.ErrNotFound, name)
	}
	return fmt.Errorf("%w: no proxy named %q (running: %s; or * for every one)", inspect.ErrNotFound, name, strings.Join(s.proxies, ", "))
}

// LoadFile loads a HAR file with the simulator's options and makes it
// answer for proxy (AllProxies or "" for every proxy).
func (s *Simulator) LoadFile(file, proxy string) error {
	sim, err := LoadSimulation(file, s.opts)
	if err != nil {
		return err
	}
	s.Set(proxy, sim)
	return nil
}

// Set makes sim answer for proxy (AllProxies or "" for every proxy); a nil
// sim stops simulating there.
func (s *Simulator) Set(proxy string, sim *Simulation) {
	s.mu.Lock()
	defer s.mu.Unlock()
	old := s.state.Load()
	next := &simState{all: old.all, byProxy: maps.Clone(old.byProxy)}
	switch {
	case proxy == "" || proxy == AllProxies:
		next.all = sim
	case sim == nil:
		delete(next.byProxy, proxy)
	default:
		next.byProxy[proxy] = sim
	}
	s.state.Store(next)
}

// For returns the simulation for the proxy named proxy, and whether it was
// loaded for that proxy alone (rather than for every proxy). It returns
// nil when there is none.
func (s *Simulator) For(proxy string) (sim *Simulation, own bool) {
	st := s.state.Load()
	if sim := st.byProxy[proxy]; sim != nil {
		return sim, true
	}
	return st.all, false
}

// List reports the loaded simulations, the one for every proxy first.
func (s *Simulator) List() []SimulationStatus {
	st := s.state.Load()
	var out []SimulationStatus
	if st.all != nil {
		x := st.all.Status()
		x.Proxy = AllProxies
		out = append(out, x)
	}
	for _, name := range slices.Sorted(maps.Keys(st.byProxy)) {
		x := st.byProxy[name].Status()
		x.Proxy = name
		out = append(out, x)
	}
	if list := s.configured.Load(); list != nil {
		out = append(out, (*list)()...)
	}
	return out
}

// load answers POST /api/simulations: the body is a HAR file. Query
// parameters: proxy (default every proxy), name (default "upload.har"),
// miss (404 or proxy), ignore_query and ignore_body (comma-separated or
// repeated; they replace the defaults when given).
func (s *Simulator) load(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := inspect.Only(q, "POST /api/simulations", "proxy", "name", "miss", "ignore_query", "ignore_body"); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.checkProxy(q); err != nil {
		s.fail(w, r, err)
		return
	}
	opts := s.opts
	if v := q.Get("miss"); v != "" {
		m, err := ParseMiss(v)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		opts.Miss = m
	}
	if v, ok := q["ignore_query"]; ok {
		opts.IgnoreQuery = splitList(v)
	}
	if v, ok := q["ignore_body"]; ok {
		opts.IgnoreBody = splitList(v)
	}
	name := q.Get("name")
	if name == "" {
		name = "upload.har"
	}
	proxy := q.Get("proxy")
	if proxy == "" {
		proxy = AllProxies
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxHAR))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = fmt.Errorf("%w: the HAR file is over the limit of %d bytes", inspect.ErrTooLarge, int64(maxHAR))
		}
		s.fail(w, r, err)
		return
	}
	sim, err := ParseSimulation(name, data, opts)
	if err != nil {
		if !errors.Is(err, inspect.ErrInvalid) {
			err = fmt.Errorf("%w: %v", inspect.ErrInvalid, err)
		}
		s.fail(w, r, err)
		return
	}
	s.Set(proxy, sim)
	st := sim.Status()
	st.Proxy = proxy
	s.log.Info("simulation loaded", "proxy", proxy, "name", name, "entries", st.Entries)
	inspect.WriteJSON(w, http.StatusCreated, st)
}

func (s *Simulator) list(w http.ResponseWriter, r *http.Request) {
	if err := inspect.Only(r.URL.Query(), "GET /api/simulations"); err != nil {
		s.fail(w, r, err)
		return
	}
	list := s.List()
	if list == nil {
		list = []SimulationStatus{}
	}
	inspect.WriteJSON(w, http.StatusOK, map[string]any{"simulations": list})
}

// stop answers DELETE /api/simulations: with proxy=NAME it stops that
// proxy's own simulation, with proxy=* the one for every proxy, and
// without proxy every simulation loaded, so that no proxy is left
// answering from a file after a 204.
func (s *Simulator) stop(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := inspect.Only(q, "DELETE /api/simulations", "proxy"); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.checkProxy(q); err != nil {
		s.fail(w, r, err)
		return
	}
	if q.Has("proxy") {
		s.Set(q.Get("proxy"), nil)
	} else {
		s.stopAll()
	}
	w.WriteHeader(http.StatusNoContent)
}

// stopAll stops every simulation: the one for every proxy and each
// proxy's own.
func (s *Simulator) stopAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state.Store(&simState{byProxy: map[string]*Simulation{}})
}

func (s *Simulator) fail(w http.ResponseWriter, r *http.Request, err error) {
	inspect.WriteError(w, r, s.log, err)
}

func splitList(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, x := range strings.Split(v, ",") {
			if x = strings.TrimSpace(x); x != "" {
				out = append(out, x)
			}
		}
	}
	return out
}
