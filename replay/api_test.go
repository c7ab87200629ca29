package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/inspect/har"
)

func openStore(t *testing.T) *inspect.SQLite {
	t.Helper()
	s, err := inspect.OpenSQLite("", inspect.Options{Memory: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func add(t *testing.T, s inspect.Store, exs ...*inspect.Exchange) {
	t.Helper()
	for _, ex := range exs {
		if err := s.Add(context.Background(), ex); err != nil {
			t.Fatal(err)
		}
	}
}

// events collects what the API publishes.
type events struct {
	mu  sync.Mutex
	evs []inspect.Event
}

func (e *events) publish(ev inspect.Event) {
	e.mu.Lock()
	e.evs = append(e.evs, ev)
	e.mu.Unlock()
}

func (e *events) list() []inspect.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	return append([]inspect.Event(nil), e.evs...)
}

type apiServer struct {
	*httptest.Server
	store  *inspect.SQLite
	api    *API
	events *events
	conns  atomic.Int64 // connections the server accepted
	open   atomic.Int64 // of which still open
}

func newAPIServer(t *testing.T) *apiServer {
	t.Helper()
	return newAPIServerWith(t, APIConfig{})
}

// newAPIServerWith is newAPIServer with cfg's settings (its store, events,
// context and ids are the test's).
func newAPIServerWith(t *testing.T, cfg APIConfig) *apiServer {
	t.Helper()
	a := &apiServer{store: openStore(t), events: &events{}}
	ctx, cancel := context.WithCancel(context.Background())
	cfg.Store, cfg.Publish, cfg.Context, cfg.IDs = a.store, a.events.publish, ctx, new(inspect.IDs)
	a.api = NewAPI(cfg)
	mux := http.NewServeMux()
	mux.Handle("/api/", a.api)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "hooklab") // as main's listener marks every answer
		inspect.WriteJSON(w, 200, map[string]any{"ok": true})
	})
	a.Server = httptest.NewUnstartedServer(inspect.Guard(nil, nil, mux))
	a.Server.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			a.conns.Add(1)
			a.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			a.open.Add(-1)
		}
	}
	a.Server.Start()
	t.Cleanup(func() {
		a.Server.Close()
		cancel()
		a.api.Wait()
	})
	return a
}

func (a *apiServer) call(t *testing.T, method, path string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, a.URL+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, path, err, b)
		}
	}
	return resp.StatusCode
}

func (a *apiServer) waitRun(t *testing.T, id string) RunStatus {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var st RunStatus
		if code := a.call(t, "GET", "/api/replay/"+id, nil, &st); code != 200 {
			t.Fatalf("GET run: %d", code)
		}
		if st.State != StateRunning {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %s still running: %+v", id, st)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// run starts a replay run of spec and returns it once it is over.
func (a *apiServer) run(t *testing.T, spec Spec) RunStatus {
	t.Helper()
	var started struct {
		ID string `json:"id"`
	}
	if code := a.call(t, "POST", "/api/replay", spec, &started); code != http.StatusAccepted {
		t.Fatalf("start: %d", code)
	}
	return a.waitRun(t, started.ID)
}

func TestAPIReplayByIDs(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	tg := newTarget(t, nil)
	one := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/hooks", inspect.Headers{{Name: "Content-Type", Value: "application/json"}}, []byte(`{"n":1}`), okResp())
	two := capture("01JNB5Z3Q0000000000000000B", "POST", "http://127.0.0.1:8080/b/stripe/hooks", nil, []byte(`{"n":2}`), okResp())
	three := capture("01JNB5Z3Q0000000000000000C", "GET", "http://127.0.0.1:8080/b/stripe/other", nil, nil, &inspect.Response{Status: 404})
	add(t, a.store, one, two, three)

	var started struct {
		ID    string `json:"id"`
		URL   string `json:"url"`
		Total int    `json:"total"`
	}
	spec := Spec{IDs: []string{one.ID, two.ID, three.ID}, Target: tg.URL, Concurrency: 2}
	if code := a.call(t, "POST", "/api/replay", spec, &started); code != http.StatusAccepted || started.Total != 3 || started.URL != "/api/replay/"+started.ID {
		t.Fatalf("start: %d %+v", code, started)
	}
	st := a.waitRun(t, started.ID)
	if st.State != StateDone || st.Done != 3 || st.Summary != (Summary{Replayed: 3, Same: 2, Differ: 1}) || len(st.Results) != 3 {
		t.Fatalf("run %+v", st)
	}
	var later RunStatus
	a.call(t, "GET", "/api/replay/"+started.ID+"?from=2", nil, &later)
	if len(later.Results) != 1 {
		t.Errorf("from=2 gave %d results", len(later.Results))
	}
	// A run id is found in lower case too, as exchange ids are.
	var lower RunStatus
	if code := a.call(t, "GET", "/api/replay/"+strings.ToLower(started.ID), nil, &lower); code != 200 || lower.ID != started.ID {
		t.Errorf("run by its lower-case id: %d %+v", code, lower.ID)
	}

	// Each replay is in the store, linked to its original.
	sums, _, err := a.store.List(context.Background(), inspect.Query{Source: "replay"})
	if err != nil || len(sums) != 3 {
		t.Fatalf("replays stored: %d %v", len(sums), err)
	}
	for _, s := range sums {
		ex, _ := a.store.Get(context.Background(), s.ID)
		if ex.ReplayOf == "" || ex.Bin != "stripe" || !strings.HasPrefix(ex.Request.URL, tg.URL) {
			t.Errorf("stored replay %+v", ex)
		}
	}

	// Results went out live: one event per result, then the end.
	evs := a.events.list()
	if len(evs) != 4 {
		t.Fatalf("%d events", len(evs))
	}
	for _, ev := range evs[:3] {
		if ev.Type != "replay" || ev.Data["run"] != started.ID || ev.Data["result"] == nil {
			t.Errorf("event %+v", ev)
		}
	}
	last := evs[3]
	if last.Data["state"] != StateDone || last.Data["summary"] != (Summary{Replayed: 3, Same: 2, Differ: 1}) {
		t.Errorf("last event %+v", last)
	}
	var enc map[string]any
	json.Unmarshal(last.Encoded(), &enc)
	if enc["type"] != "replay" || enc["summary"].(map[string]any)["differ"] != 1.0 {
		t.Errorf("encoded event %v", enc)
	}

	var list struct {
		Runs []RunStatus `json:"runs"`
	}
	a.call(t, "GET", "/api/replay", nil, &list)
	if len(list.Runs) != 1 || list.Runs[0].ID != started.ID || list.Runs[0].Results != nil {
		t.Errorf("list %+v", list)
	}
}

// TestAPILowerCaseIDs: exchange ids written in lower case select the
// exchanges they name, for a run and an export, as they do in the
// exchange API.
func TestAPILowerCaseIDs(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	tg := newTarget(t, nil)
	one := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/hooks", nil, []byte(`{"n":1}`), okResp())
	add(t, a.store, one)
	lower := strings.ToLower(one.ID)

	st := a.run(t, Spec{IDs: []string{lower}, Target: tg.URL})
	if st.State != StateDone || len(st.Results) != 1 || st.Results[0].Original != one.ID {
		t.Errorf("run by a lower-case id: %+v", st)
	}

	resp, err := http.Get(a.URL + "/api/export.har?ids=" + lower)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("export by a lower-case id: %d %s", resp.StatusCode, body)
	}
	f, err := har.Parse(body)
	if err != nil || len(f.Log.Entries) != 1 || f.Log.Entries[0].Hooklab.ID != one.ID {
		t.Errorf("export by a lower-case id: %v %s", err, body)
	}
}

func TestAPIReplayByFilterAndHAR(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	tg := newTarget(t, nil)
	hook := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/hooks/a", nil, []byte("{}"), okResp())
	other := capture("01JNB5Z3Q0000000000000000B", "POST", "http://127.0.0.1:8080/b/stripe/elsewhere", nil, []byte("{}"), okResp())
	add(t, a.store, hook, other)

	var started struct{ ID string }
	if code := a.call(t, "POST", "/api/replay", Spec{Filter: &Filter{Bin: "stripe", Path: "/b/stripe/hooks/*"}, Target: tg.URL}, &started); code != 202 {
		t.Fatalf("filter start: %d", code)
	}
	st := a.waitRun(t, started.ID)
	if st.Summary.Replayed != 1 || st.Results[0].Original != hook.ID {
		t.Errorf("filter run %+v", st)
	}
	// Replaying the bin again leaves the replays out.
	a.call(t, "POST", "/api/replay", Spec{Filter: &Filter{Bin: "stripe"}, Target: tg.URL}, &started)
	if st := a.waitRun(t, started.ID); st.Summary.Replayed != 2 {
		t.Errorf("second run replayed %d", st.Summary.Replayed)
	}

	var buf bytes.Buffer
	har.Encode(&buf, har.New([]*inspect.Exchange{other}, har.Options{}))
	a.call(t, "POST", "/api/replay", Spec{HAR: buf.Bytes(), Target: tg.URL}, &started)
	if st := a.waitRun(t, started.ID); st.Summary != (Summary{Replayed: 1, Same: 1}) {
		t.Errorf("HAR run %+v", st)
	}
	// A browser's file, extension fields and all.
	chrome, err := os.ReadFile("../inspect/har/testdata/chrome.har")
	if err != nil {
		t.Fatal(err)
	}
	if code := a.call(t, "POST", "/api/replay", Spec{HAR: chrome, Target: tg.URL}, &started); code != 202 {
		t.Fatalf("chrome HAR: %d", code)
	}
	if st := a.waitRun(t, started.ID); st.Summary.Replayed != 5 || st.Summary.Failed != 0 {
		t.Errorf("chrome HAR run %+v", st.Summary)
	}
}

func TestAPIReplayErrors(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	for _, tc := range []struct {
		name string
		body any
		want int
		msg  string // in the error, when given
	}{
		{"nothing to replay", Spec{Target: "http://127.0.0.1:1"}, 400, ""},
		{"two sources", Spec{IDs: []string{"x"}, Filter: &Filter{}}, 400, ""},
		{"unknown id", Spec{IDs: []string{"01JNB5Z3Q0000000000000000Z"}}, 404, ""},
		{"bad status filter", Spec{Filter: &Filter{Status: "abc"}}, 400, ""},
		{"bad target", Spec{IDs: []string{"x"}, Target: "nope"}, 400, ""},
		{"bad timeout", Spec{IDs: []string{"x"}, Timeout: "soon"}, 400, ""},
		{"bad ignore", Spec{IDs: []string{"x"}, Diff: DiffOptions{Ignore: []string{"a.[b"}}}, 400, ""},
		{"empty filter result", Spec{Filter: &Filter{Bin: "none"}}, 400, ""},
		{"negative limit", Spec{Filter: &Filter{Bin: "none", Limit: -1}}, 400, "limit -1: want 0 (every match) or more"},
		{"header value with CR LF", Spec{IDs: []string{"x"}, Target: "http://127.0.0.1:1", Override: OverrideSpec{SetHeaders: inspect.Headers{{Name: "X", Value: "a\r\nb"}}}}, 400, "header X: its value holds a control character"},
		{"header name with a space", Spec{IDs: []string{"x"}, Target: "http://127.0.0.1:1", Override: OverrideSpec{SetHeaders: inspect.Headers{{Name: "X Y", Value: "a"}}}}, 400, `header name "X Y" is not a token`},
		{"unknown field", map[string]any{"ids": []string{"x"}, "tagret": "x"}, 400, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var e struct{ Error string }
			if code := a.call(t, "POST", "/api/replay", tc.body, &e); code != tc.want || e.Error == "" || !strings.Contains(e.Error, tc.msg) {
				t.Errorf("%d %q, want %d %q", code, e.Error, tc.want, tc.msg)
			}
		})
	}
	if code := a.call(t, "GET", "/api/replay/nope", nil, nil); code != 404 {
		t.Errorf("unknown run: %d", code)
	}
}

// TestAPIRefusesOptionsThatDoNothing: POST /api/replay refuses (400,
// naming the fields) diff.compare_headers with diff.no_headers, and
// strip_prefix without a target, as the command refuses its flags; it
// took both and ran as if they had been left out. Each alone is taken.
func TestAPIRefusesOptionsThatDoNothing(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	tg := newTarget(t, nil)
	ex := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/api/x", nil, []byte("{}"), okResp())
	add(t, a.store, ex)
	ids := []string{ex.ID}
	for _, tc := range []struct {
		name string
		spec Spec
		want string // the error; "" for a run that is taken
	}{
		{"compare_headers with no_headers", Spec{IDs: ids, Target: tg.URL, Diff: DiffOptions{NoHeaders: true, CompareHeaders: []string{"ETag"}}},
			"diff.compare_headers ETag compares a header, and diff.no_headers compares none: give one or the other"},
		{"compare_headers alone", Spec{IDs: ids, Target: tg.URL, Diff: DiffOptions{CompareHeaders: []string{"ETag"}}}, ""},
		{"no_headers alone", Spec{IDs: ids, Target: tg.URL, Diff: DiffOptions{NoHeaders: true}}, ""},
		{"strip_prefix without target", Spec{IDs: ids, StripPrefix: "/api"},
			"strip_prefix /api shortens the path put after target's, and there is no target: give target URL, or leave strip_prefix out"},
		{"strip_prefix with target", Spec{IDs: ids, Target: tg.URL, StripPrefix: "/api"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out struct{ ID, Error string }
			code := a.call(t, "POST", "/api/replay", tc.spec, &out)
			if tc.want == "" {
				if code != http.StatusAccepted {
					t.Fatalf("%d %q, want 202", code, out.Error)
				}
				if st := a.waitRun(t, out.ID); st.State != StateDone || st.Summary.Replayed != 1 {
					t.Errorf("run %s: %s, %+v", out.ID, st.State, st.Summary)
				}
				return
			}
			if code != http.StatusBadRequest || !strings.HasSuffix(out.Error, ": "+tc.want) {
				t.Errorf("%d %q, want 400 %q", code, out.Error, tc.want)
			}
		})
	}
}

func TestAPIReplayCancel(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	release := make(chan struct{})
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	var ids []string
	for i := range 3 {
		ex := capture(fmt.Sprintf("01JNB5Z3Q000000000000000%02d", i), "GET", "http://x/", nil, nil, okResp())
		add(t, a.store, ex)
		ids = append(ids, ex.ID)
	}
	var started struct{ ID string }
	a.call(t, "POST", "/api/replay", Spec{IDs: ids, Target: tg.URL}, &started)
	if code := a.call(t, "DELETE", "/api/replay/"+started.ID, nil, nil); code != 200 {
		t.Fatalf("cancel: %d", code)
	}
	if st := a.waitRun(t, started.ID); st.State != StateCanceled {
		t.Errorf("state %s", st.State)
	}
}

func TestAPIImportExport(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	data, err := os.ReadFile("../inspect/har/testdata/chrome.har")
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(a.URL+"/api/import?bin=chrome", "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	var imp struct {
		Imported int      `json:"imported"`
		IDs      []string `json:"ids"`
	}
	json.NewDecoder(resp.Body).Decode(&imp)
	resp.Body.Close()
	if resp.StatusCode != 201 || imp.Imported != 5 || len(imp.IDs) != 5 {
		t.Fatalf("import: %d %+v", resp.StatusCode, imp)
	}
	ex, err := a.store.Get(context.Background(), imp.IDs[0])
	if err != nil || ex.Bin != "chrome" || ex.Request.Method != "POST" || !ex.Time.Equal(time.Date(2024, 5, 14, 9, 12, 33, 517e6, time.UTC)) {
		t.Errorf("imported %+v %v", ex, err)
	}

	// Export: secrets redacted unless asked; the count in a trailer.
	get := func(q string) (*har.File, string) {
		resp, err := http.Get(a.URL + "/api/export.har?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("export %s: %d %s", q, resp.StatusCode, body)
		}
		if !strings.Contains(resp.Header.Get("Content-Disposition"), ".har") {
			t.Errorf("disposition %q", resp.Header.Get("Content-Disposition"))
		}
		f, err := har.Parse(body)
		if err != nil {
			t.Fatal(err)
		}
		return f, resp.Trailer.Get("X-Hooklab-Count")
	}
	f, count := get("bin=chrome")
	if len(f.Log.Entries) != 5 || count != "5" {
		t.Fatalf("export: %d entries, count %q", len(f.Log.Entries), count)
	}
	raw, _ := json.Marshal(f)
	if bytes.Contains(raw, []byte("eyJhbGciOiJIUzI1NiJ9")) || bytes.Contains(raw, []byte("ak_live_5f2c1d")) || !bytes.Contains(raw, []byte(har.Redacted)) {
		t.Error("export kept secrets")
	}
	f, _ = get("bin=chrome&keep_secrets=yes&method=GET&path=/v1/*")
	raw, _ = json.Marshal(f)
	if len(f.Log.Entries) != 1 || !bytes.Contains(raw, []byte("ak_live_5f2c1d")) {
		t.Errorf("keep_secrets with filters: %d entries", len(f.Log.Entries))
	}
	f, _ = get("ids=" + imp.IDs[1] + "," + imp.IDs[0])
	if len(f.Log.Entries) != 2 || f.Log.Entries[0].Hooklab.ID != imp.IDs[1] {
		t.Errorf("by ids: %+v", f.Log.Entries)
	}

	for _, p := range []string{"/api/replay?limit=-1", "/api/replay/x?form=2"} {
		resp, err := http.Get(a.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("GET %s: %d, want 400 (a parameter it does not take)", p, resp.StatusCode)
		}
	}
	for q, want := range map[string]int{"status=abc": 400, "ids=01JNB5Z3Q0000000000000000Z": 404, "limit=0": 400, "bin=a&bin=b": 400,
		"pth=/x&keep_secrets=1": 400, "keep_secrets=maybe": 400, "ids=": 400, "ids=,,,": 400, "bin=": 400} {
		resp, _ := http.Get(a.URL + "/api/export.har?" + q)
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("export?%s: %d, want %d", q, resp.StatusCode, want)
		}
	}
	// An unset variable in a script (into=$BIN) must not quietly send the
	// entries to the bins the file names, or to "import".
	for _, q := range []string{"into=", "bin=", "bin=&into=x"} {
		resp, err := http.Post(a.URL+"/api/import?"+q, "application/json", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !bytes.Contains(body, []byte("is empty")) {
			t.Errorf("import?%s: %d %s, want 400 saying it is empty", q, resp.StatusCode, body)
		}
	}
	resp, _ = http.Post(a.URL+"/api/import", "application/json", strings.NewReader(`{"log": {"entries": [{]}}`))
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 400 || !bytes.Contains(body, []byte("line 1")) {
		t.Errorf("bad import: %d %s", resp.StatusCode, body)
	}
}

// TestHARRoundTripThroughStore exports stored exchanges and imports them
// into another store: the exchanges come back identical.
func TestHARRoundTripThroughStore(t *testing.T) {
	t.Parallel()
	src, dst := openStore(t), openStore(t)
	bin := allBytes()
	exs := []*inspect.Exchange{
		capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/hooks?a=1&a=2",
			inspect.Headers{{Name: "Content-Type", Value: "application/json"}, {Name: "Authorization", Value: "Bearer x"}, {Name: "X-Dup", Value: "1"}, {Name: "X-Dup", Value: "2"}},
			[]byte(`{"type":"invoice.paid"}`), &inspect.Response{Status: 201, Headers: inspect.Headers{{Name: "Set-Cookie", Value: "a=b"}}, Body: bin, Size: 512}),
		capture("01JNB5Z3Q0000000000000000B", "PUT", "http://127.0.0.1:8080/b/stripe/upload", inspect.Headers{{Name: "Content-Type", Value: "multipart/form-data; boundary=b0undary"}}, multipartBody(), nil),
		{ID: "01JNB5Z3Q0000000000000000C", Bin: "default", Source: inspect.SourceEmit, Time: t0.Add(time.Minute), Duration: 1500 * time.Microsecond,
			Request:    inspect.Request{Method: "POST", URL: "http://127.0.0.1:3000/webhook", Proto: "HTTP/1.1", Body: bin[:100], Size: 4000, Truncated: true},
			Response:   &inspect.Response{Status: 500, Body: []byte("oops\n"), Size: 5},
			Invocation: "inv_1", Attempt: 2, Meta: map[string]any{"webhook": "w1"}},
	}
	exs[1].Error = "client went away"
	exs[0].Rule, exs[0].Signature = "stripe", &inspect.Signature{Scheme: "stripe", Verdict: "invalid", Reason: "stale timestamp"}
	add(t, src, exs...)

	var buf bytes.Buffer
	n, err := Export(context.Background(), src, nil, Filter{}, &buf, har.Options{KeepSecrets: true})
	if err != nil || n != 3 {
		t.Fatalf("export: %d %v", n, err)
	}
	ids, _, err := Import(context.Background(), dst, &buf, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]string{exs[0].ID, exs[1].ID, exs[2].ID}, ids); d != "" {
		t.Fatalf("ids kept (-want +got):\n%s", d)
	}
	for _, id := range ids {
		want, _ := src.Get(context.Background(), id)
		got, err := dst.Get(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("%s (-exported +imported):\n%s", id, d)
		}
	}

	// Importing again into the same store: the ids are taken, so new ones.
	buf.Reset()
	Export(context.Background(), src, nil, Filter{}, &buf, har.Options{})
	again, _, err := Import(context.Background(), src, &buf, ImportOptions{})
	if err != nil || len(again) != 3 || again[0] == ids[0] {
		t.Errorf("re-import: %v %v", again, err)
	}
}

// TestSelectPages lists more exchanges than one store page holds, oldest
// first, skipping replays, up to a limit.
func TestSelectPages(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	var ids inspect.IDs
	var want []string
	var wg sync.WaitGroup
	errs := make(chan error, 1300)
	for i := range 1300 {
		ex := capture(ids.New(t0.Add(time.Duration(i)*time.Millisecond)), "POST", fmt.Sprintf("http://127.0.0.1:8080/b/stripe/n/%d", i), nil, []byte("{}"), okResp())
		if i%13 == 0 {
			ex.Source = inspect.SourceReplay
		} else {
			want = append(want, ex.ID)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := store.Add(context.Background(), ex); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	exs, err := Select(context.Background(), store, nil, Filter{Bin: "stripe"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ex := range exs {
		got = append(got, ex.ID)
	}
	// Stored concurrently: the store's order is the order of commits.
	slices.Sort(got)
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ids (-want +got):\n%s", d)
	}
	exs, _ = Select(context.Background(), store, nil, Filter{Source: "replay", Limit: 7})
	if len(exs) != 7 || exs[0].Source != inspect.SourceReplay {
		t.Errorf("replays with a limit: %d", len(exs))
	}
	// Asked for in the query language, as the UI's filter does.
	exs, _ = Select(context.Background(), store, nil, Filter{Q: "source:replay"})
	if len(exs) != 100 || exs[0].Source != inspect.SourceReplay {
		t.Errorf("q=source:replay selected %d", len(exs))
	}
}

// TestAPIReplayReportsIgnored checks that a run's results list the values
// its ignore paths left out, beside the changes, for the UI to grey.
func TestAPIReplayReportsIgnored(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"evt_1","created_at":"2026-03-01","n":2}`)
	})
	resp := &inspect.Response{Status: 200, Headers: inspect.Headers{{Name: "Content-Type", Value: "application/json"}}, Body: []byte(`{"id":"evt_1","created_at":"2024-01-01","n":1}`)}
	ex := capture("01JNB5Z3Q0000000000000000D", "POST", "http://127.0.0.1:8080/b/stripe/hooks", nil, []byte(`{}`), resp)
	add(t, a.store, ex)

	var started struct {
		ID string `json:"id"`
	}
	spec := Spec{IDs: []string{ex.ID}, Target: tg.URL, Diff: DiffOptions{Ignore: []string{"created_at"}}}
	if code := a.call(t, "POST", "/api/replay", spec, &started); code != http.StatusAccepted {
		t.Fatalf("start: %d", code)
	}
	a.waitRun(t, started.ID)
	var raw struct {
		Ignore  []string `json:"ignore"`
		Results []struct {
			Outcome string           `json:"outcome"`
			Changes []map[string]any `json:"changes"`
			Ignored []map[string]any `json:"ignored"`
		} `json:"results"`
	}
	a.call(t, "GET", "/api/replay/"+started.ID, nil, &raw)
	if !slices.Equal(raw.Ignore, []string{"created_at"}) || len(raw.Results) != 1 {
		t.Fatalf("run %+v", raw)
	}
	r := raw.Results[0]
	wantIgnored := []map[string]any{{"path": "body created_at", "kind": "changed", "old": `"2024-01-01"`, "new": `"2026-03-01"`}}
	wantChanges := []map[string]any{{"path": "body n", "kind": "changed", "old": "1", "new": "2"}}
	if r.Outcome != Differ || !cmp.Equal(r.Ignored, wantIgnored) || !cmp.Equal(r.Changes, wantChanges) {
		t.Errorf("result: outcome %s\nchanges %v\nignored %v", r.Outcome, r.Changes, r.Ignored)
	}
}

// TestAPIReplayRedactsSecretHeaders checks that a run's diffs show the
// values of the server's --secret-header headers as REDACTED, in the run's
// results and in its live events, as Compare does.
func TestAPIReplayRedactsSecretHeaders(t *testing.T) {
	t.Parallel()
	a := newAPIServerWith(t, APIConfig{SecretHeaders: []string{"X-Private"}})
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Private", "NEW-SECRET-VALUE")
		io.WriteString(w, `{"ok":true}`)
	})
	resp := okResp()
	resp.Headers = append(resp.Headers, inspect.Header{Name: "X-Private", Value: "OLD-SECRET-VALUE"})
	ex := capture("01JNB5Z3Q0000000000000000E", "POST", "http://127.0.0.1:8080/b/stripe/hooks", nil, []byte(`{}`), resp)
	add(t, a.store, ex)

	st := a.run(t, Spec{IDs: []string{ex.ID}, Target: tg.URL})
	want := []Change{{Path: "header X-Private", Kind: Changed, Old: inspect.Redacted, New: inspect.Redacted}}
	if st.State != StateDone || len(st.Results) != 1 || !cmp.Equal(st.Results[0].Changes, want) {
		t.Errorf("run %+v, want changes %+v", st, want)
	}
	var raw json.RawMessage
	a.call(t, "GET", "/api/replay/"+st.ID, nil, &raw)
	if bytes.Contains(raw, []byte("SECRET-VALUE")) {
		t.Errorf("run JSON shows a secret header's value: %s", raw)
	}
	for _, ev := range a.events.list() {
		if enc := ev.Encoded(); bytes.Contains(enc, []byte("SECRET-VALUE")) {
			t.Errorf("event shows a secret header's value: %s", enc)
		}
	}
}

// TestAPIReplayRedactsTargetPassword checks that the password of a
// target's user info goes out as basic auth but shows as REDACTED in the
// run, its results, its live events and the replay command's output; so
// does one in a recorded URL.
func TestAPIReplayRedactsTargetPassword(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	tg := newTarget(t, nil)
	ex := capture("01JNB5Z3Q0000000000000000F", "POST", "http://127.0.0.1:8080/b/stripe/hooks", nil, []byte(`{}`), okResp())
	// Not sent (its body was cut): its result names the target's URL, where
	// it would have gone, and the recorded password shows nowhere.
	cut := capture("01JNB5Z3Q0000000000000000G", "POST", "http://carol:origpw1234@127.0.0.1:8080/b/stripe/hooks", nil, []byte(`{`), okResp())
	cut.Request.Size, cut.Request.Truncated = 100, true
	add(t, a.store, ex, cut)
	target := strings.Replace(tg.URL, "http://", "http://bob:hunter2pw@", 1)

	st := a.run(t, Spec{IDs: []string{ex.ID, cut.ID}, Target: target})
	if st.Summary != (Summary{Replayed: 2, Same: 1, Failed: 1}) {
		t.Fatalf("run %+v", st)
	}
	got := tg.received()
	if len(got) != 1 {
		t.Fatalf("target got %d requests", len(got))
	}
	req := &http.Request{Header: got[0].Header}
	if user, pass, ok := req.BasicAuth(); !ok || user != "bob" || pass != "hunter2pw" {
		t.Errorf("target got basic auth %q %q %v, want bob hunter2pw", user, pass, ok)
	}
	if want := "http://bob:REDACTED@" + strings.TrimPrefix(tg.URL, "http://"); st.Target != want {
		t.Errorf("target %q, want %q", st.Target, want)
	}

	secrets := [][]byte{[]byte("hunter2pw"), []byte("origpw1234")}
	var raw json.RawMessage
	a.call(t, "GET", "/api/replay/"+st.ID, nil, &raw)
	var list json.RawMessage
	a.call(t, "GET", "/api/replay", nil, &list)
	outputs := map[string][]byte{"run": raw, "list": list}
	for i, ev := range a.events.list() {
		outputs[fmt.Sprintf("event %d", i)] = ev.Encoded()
	}
	c := newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	if err := c.cli.Replay(context.Background(), []string{ex.ID, "--target", target, "-v"}); err != nil {
		t.Fatalf("replay command: %v; stderr %s", err, c.stderr.String())
	}
	outputs["replay command"] = c.stdout.Bytes()
	if !bytes.Contains(c.stdout.Bytes(), []byte("bob:REDACTED@")) {
		t.Errorf("replay command output lacks the redacted target URL:\n%s", c.stdout.Bytes())
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if bytes.Contains(out, s) {
				t.Errorf("%s shows the password %s: %s", name, s, out)
			}
		}
	}
}

// TestAPIReplayMaxBody checks that a run keeps as much of each replayed
// body as the server's MaxBody (--max-body) says, and that a body cut
// there is compared as far as it goes rather than reported as differing.
func TestAPIReplayMaxBody(t *testing.T) {
	t.Parallel()
	// Binary (a NUL in each 16 bytes): compared by hash, not line by line.
	body := func(n int) []byte { return bytes.Repeat([]byte("0123456789abcde\x00"), n/16) }
	for _, tc := range []struct {
		name    string
		maxBody int64
		answer  int // bytes the target answers
		// recorded is how much of the answer the recording kept (all of
		// it when it equals answer).
		recorded int
		wantKept int
		wantNote string
	}{
		// A limit under the default 10 MiB shows that the run honours it;
		// one over it (20 MiB against a 12 MiB answer, which the default
		// cut and reported as differing) works the same but takes seconds
		// under -race.
		{name: "under the default", maxBody: 64 << 10, answer: 100 << 10, recorded: 100 << 10, wantKept: 64 << 10,
			wantNote: "the replayed body was cut at 65536 of 102400 bytes"},
		{name: "both cut, the recording longer", maxBody: 64 << 10, answer: 200 << 10, recorded: 100 << 10, wantKept: 64 << 10,
			wantNote: "the replayed body was cut at 65536 of 204800 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			a := newAPIServerWith(t, APIConfig{MaxBody: tc.maxBody})
			tg := newTarget(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
				w.Header().Set("Content-Type", "application/octet-stream")
				w.Write(body(tc.answer))
			})
			resp := &inspect.Response{Status: 200, Headers: inspect.Headers{{Name: "Content-Type", Value: "application/octet-stream"}},
				Body: body(tc.recorded), Size: int64(tc.answer), Truncated: tc.recorded < tc.answer}
			ex := capture("01JNB5Z3Q0000000000000000H", "GET", "http://127.0.0.1:8080/b/stripe/big", nil, nil, resp)
			add(t, a.store, ex)

			st := a.run(t, Spec{IDs: []string{ex.ID}, Target: tg.URL})
			if len(st.Results) != 1 {
				t.Fatalf("run %+v", st)
			}
			r := st.Results[0]
			if r.Outcome != Same || len(r.Changes) != 0 {
				t.Errorf("outcome %s, changes %+v, notes %q", r.Outcome, r.Changes, r.Notes)
			}
			if tc.wantNote != "" && !slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, tc.wantNote) }) {
				t.Errorf("notes %q lack %q", r.Notes, tc.wantNote)
			}
			rec, err := a.store.Get(context.Background(), r.Replay)
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.Response; len(got.Body) != tc.wantKept || got.Size != int64(tc.answer) || got.Truncated != (tc.wantKept < tc.answer) {
				t.Errorf("stored replay kept %d of %d bytes (truncated %v), want %d of %d", len(got.Body), got.Size, got.Truncated, tc.wantKept, tc.answer)
			}
		})
	}
}

// Two entries of one import carrying the same id both get stored: the
// second gets a fresh id (the store would refuse, or drop, a duplicate).
func TestImportDuplicateIDsWithinOneImport(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	id := new(inspect.IDs).New(time.Now())
	exs := []*inspect.Exchange{
		{ID: id, Request: inspect.Request{Method: "GET", URL: "http://h/a"}},
		{ID: id, Request: inspect.Request{Method: "GET", URL: "http://h/b"}},
	}
	ids, err := ImportExchanges(context.Background(), s, exs, ImportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ids) != 2 || ids[0] != id || ids[1] == id {
		t.Fatalf("ids %v: want the first kept and the second renewed", ids)
	}
	for _, id := range ids {
		if _, err := s.Get(context.Background(), id); err != nil {
			t.Errorf("imported %s: %v", id, err)
		}
	}
}

// TestImportKeepsFileOrder: an import is listed (and so exported and
// replayed) in the order of its file, even when every entry has the same
// time.
func TestImportKeepsFileOrder(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var exs []*inspect.Exchange
	for i := range 300 {
		exs = append(exs, &inspect.Exchange{Time: at, Request: inspect.Request{Method: "POST", URL: "http://h/seq", Body: []byte(strconv.Itoa(i))}})
	}
	if _, err := ImportExchanges(context.Background(), s, exs, ImportOptions{Bin: "seq"}); err != nil {
		t.Fatal(err)
	}
	sums, _, err := s.List(context.Background(), inspect.Query{Bin: "seq", Limit: 1000})
	if err != nil || len(sums) != 300 {
		t.Fatalf("listed %d, %v", len(sums), err)
	}
	for i, sum := range sums { // newest first: the last entry of the file first
		ex, err := s.Get(context.Background(), sum.ID)
		if err != nil {
			t.Fatal(err)
		}
		if want := strconv.Itoa(299 - i); string(ex.Request.Body) != want {
			t.Fatalf("listed #%d is entry %s, want %s", i, ex.Request.Body, want)
		}
	}
}

// TestImportTruncatesLikeCapture: bodies over MaxBody are stored cut,
// with their true size, as capture stores them.
func TestImportTruncatesLikeCapture(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	big := bytes.Repeat([]byte("x"), 5000)
	ex := &inspect.Exchange{Request: inspect.Request{Method: "POST", URL: "http://h/big", Body: big, Size: 5000},
		Response: &inspect.Response{Status: 200, Body: big, Size: 5000}}
	ids, err := ImportExchanges(context.Background(), s, []*inspect.Exchange{ex}, ImportOptions{MaxBody: 1024})
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(context.Background(), ids[0])
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Request.Body) != 1024 || !got.Request.Truncated || got.Request.Size != 5000 ||
		len(got.Response.Body) != 1024 || !got.Response.Truncated || got.Response.Size != 5000 {
		t.Errorf("stored request %d bytes (truncated %v, size %d), response %d (truncated %v, size %d)",
			len(got.Request.Body), got.Request.Truncated, got.Request.Size, len(got.Response.Body), got.Response.Truncated, got.Response.Size)
	}
}

// TestSelectLimitTakesNewest: --limit N selects the newest N matches
// (skipping replays and paths that do not match), in arrival order.
func TestSelectLimitTakesNewest(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	var ids inspect.IDs
	var hooks []string
	for i := range 40 {
		path := "/b/stripe/hooks"
		if i%3 == 0 {
			path = "/b/stripe/other"
		}
		ex := capture(ids.New(t0.Add(time.Duration(i)*time.Millisecond)), "POST", "http://127.0.0.1:8080"+path, nil, []byte("{}"), okResp())
		if i%5 == 0 {
			ex.Source = inspect.SourceReplay
		} else if path == "/b/stripe/hooks" {
			hooks = append(hooks, ex.ID)
		}
		add(t, store, ex)
	}
	exs, err := Select(context.Background(), store, nil, Filter{Bin: "stripe", Path: "/b/stripe/hooks", Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ex := range exs {
		got = append(got, ex.ID)
	}
	if d := cmp.Diff(hooks[len(hooks)-3:], got); d != "" {
		t.Errorf("the newest 3 (-want +got):\n%s", d)
	}
}

// TestSelectQueryLanguage: q= is read in the query language, as the list
// (and so the UI's filter, which export and replay take) reads it.
func TestSelectQueryLanguage(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	var ids inspect.IDs
	for i, m := range []string{"POST", "GET", "POST", "DELETE"} {
		add(t, store, capture(ids.New(t0.Add(time.Duration(i)*time.Millisecond)), m, fmt.Sprintf("http://127.0.0.1:8080/b/q/hooks/%d", i), nil, nil, okResp()))
	}
	for q, want := range map[string]int{"method:POST": 2, "-method:POST": 2, "path:/b/q/hooks/1": 1, "method:POST path:/b/q/hooks/2": 1, "": 4} {
		exs, err := Select(context.Background(), store, nil, Filter{Bin: "stripe", Q: q})
		if err != nil || len(exs) != want {
			t.Errorf("q=%q selected %d (%v), want %d", q, len(exs), err, want)
		}
	}
	if _, err := Select(context.Background(), store, nil, Filter{Q: "status:abc"}); err == nil {
		t.Error("q=status:abc selected without an error")
	}
}

// TestAPIReplayInsecure checks that a run verifies the target's TLS
// certificate unless its spec says "insecure": true, and that the replay
// command's --insecure reaches a server's run.
func TestAPIReplayInsecure(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	tg := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	tg.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	tg.StartTLS()
	t.Cleanup(tg.Close)
	ex := capture("01JNB5Z3Q0000000000000000H", "POST", "http://127.0.0.1:8080/b/stripe/hooks", nil, []byte(`{}`), okResp())
	add(t, a.store, ex)

	for _, tc := range []struct {
		name string
		spec map[string]any
		want Summary
	}{
		{"verified by default", map[string]any{"ids": []string{ex.ID}, "target": tg.URL}, Summary{Replayed: 1, Failed: 1}},
		{"insecure", map[string]any{"ids": []string{ex.ID}, "target": tg.URL, "insecure": true}, Summary{Replayed: 1, Same: 1}},
	} {
		var started struct {
			ID string `json:"id"`
		}
		if code := a.call(t, "POST", "/api/replay", tc.spec, &started); code != http.StatusAccepted {
			t.Fatalf("%s: start: %d", tc.name, code)
		}
		st := a.waitRun(t, started.ID)
		if st.State != StateDone || st.Summary != tc.want {
			t.Errorf("%s: run %+v, want %+v", tc.name, st, tc.want)
		}
		if tc.want.Failed > 0 && (len(st.Results) != 1 || !strings.Contains(st.Results[0].Error, "certificate")) {
			t.Errorf("%s: results %+v, want a certificate error", tc.name, st.Results)
		}
	}

	c := newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	if err := c.cli.Replay(context.Background(), []string{ex.ID, "--target", tg.URL, "--insecure", "--fail-on-diff"}); err != nil {
		t.Fatalf("replay --insecure: %v; stdout %s stderr %s", err, c.stdout.String(), c.stderr.String())
	}
	if !strings.Contains(c.stdout.String(), "1 replayed, 1 same") {
		t.Errorf("replay --insecure: %s", c.stdout.String())
	}
}

// TestAPIKeepsRunsWithinBytes: finished runs are kept while their results
// fit KeepBytes, oldest dropped first, the newest always (a run's results
// with large text diffs stayed, 50 of them, and the server grew by
// hundreds of MB).
func TestAPIKeepsRunsWithinBytes(t *testing.T) {
	t.Parallel()
	a := newAPIServerWith(t, APIConfig{KeepBytes: 150 << 10})
	big := strings.Repeat("recorded line\n", 10_000) // 140 KB of text
	tg := newTarget(t, func(w http.ResponseWriter, _ *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.ReplaceAll(big, "recorded", "replayed"))
	})
	ex := capture("01JNB5Z3Q0000000000000000A", "GET", "http://127.0.0.1:8080/b/t/text", nil, nil,
		&inspect.Response{Status: 200, Headers: inspect.Headers{{Name: "Content-Type", Value: "text/plain"}}, Body: []byte(big), Size: int64(len(big))})
	add(t, a.store, ex)
	var ids []string
	for range 4 {
		st := a.run(t, Spec{IDs: []string{ex.ID}, Target: tg.URL})
		if st.State != StateDone || st.Summary.Differ != 1 {
			t.Fatalf("run %+v", st.Summary)
		}
		ids = append(ids, st.ID)
	}
	var list struct {
		Runs []RunStatus `json:"runs"`
	}
	a.call(t, "GET", "/api/replay", nil, &list)
	var kept []string
	for _, r := range list.Runs {
		kept = append(kept, r.ID)
	}
	slices.Sort(kept)
	// Each run's diff is 64 KiB (cut there) and more: four do not fit
	// 150 KiB; the newest is there.
	if len(kept) == 0 || len(kept) >= 4 || kept[len(kept)-1] != ids[3] {
		t.Errorf("kept runs %v of %v", kept, ids)
	}
	// A run that ends after one started later is the one kept: "newest"
	// is the last to finish, which its client is reading (it was
	// deleted as it finished: the CLI got a 404 for a whole run).
	c := newAPIServerWith(t, APIConfig{KeepBytes: 100 << 10})
	release := make(chan struct{})
	slowTarget := newTarget(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if strings.Contains(r.URL.Path, "slow") {
			<-release
		}
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, strings.ReplaceAll(big, "recorded", "replayed"))
	})
	slow, fast := *ex, *ex
	slow.ID, slow.Request.URL = "01JNB5Z3Q0000000000000000S", "http://127.0.0.1:8080/b/t/slow"
	fast.ID, fast.Request.URL = "01JNB5Z3Q0000000000000000F", "http://127.0.0.1:8080/b/t/fast"
	add(t, c.store, &slow, &fast)
	var started struct{ ID string }
	if code := c.call(t, "POST", "/api/replay", Spec{IDs: []string{slow.ID}, Target: slowTarget.URL}, &started); code != http.StatusAccepted {
		t.Fatalf("start the slow run: %d", code)
	}
	c.run(t, Spec{IDs: []string{fast.ID}, Target: slowTarget.URL})
	close(release)
	if st := c.waitRun(t, started.ID); st.State != StateDone {
		t.Errorf("the slow run: %+v", st.Summary)
	}
	// One run larger than the budget is still kept: it is the newest.
	b := newAPIServerWith(t, APIConfig{KeepBytes: 1})
	add(t, b.store, ex)
	st := b.run(t, Spec{IDs: []string{ex.ID}, Target: tg.URL})
	if code := b.call(t, "GET", "/api/replay/"+st.ID, nil, nil); code != 200 {
		t.Errorf("the only run, over the budget: GET %d", code)
	}
}

// TestFilterPathMatchesQueryLanguage: the path filter of export and replay
// means what q=path: means (it was path.Match: /b/stripe/** selected one
// exchange of 3,460, found by H8).
func TestFilterPathMatchesQueryLanguage(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		pat, url string
		want     bool
	}{
		{"/b/stripe/**", "http://h/b/stripe/hooks/a", true},
		{"/**", "http://h/x", true},
		{"/**/items", "http://h/b/x/items", true},
		{"/v1/**", "http://h/v1", true},
		{"/hooks/*", "http://h/hooks/a/b", true},
		{"/p/%C3%BCber", "http://h/p/%C3%BCber", true},
		{"/hooks/b c", "http://h/hooks/b%20c", true},
		{"/hooks/a", "http://h/hooks/b", false},
	} {
		if got := (Filter{Path: c.pat}).matchPath(c.url); got != c.want {
			t.Errorf("path %q, url %q: %v, want %v", c.pat, c.url, got, c.want)
		}
	}
	if _, _, err := (Filter{Path: "/a**b"}).query(); err == nil {
		t.Error("path /a**b: no error")
	}
	if _, _, err := (Filter{Path: "["}).query(); err == nil {
		t.Error("path [: no error")
	}
}

// TestAPIReplayEmptyFilterField: a filter field given empty ("bin": "$BIN"
// with the variable unset) is refused, as GET /api/exchanges and
// /api/export.har refuse one (q, an empty search, aside), instead of read
// as absent: the run would send every stored exchange to the target. An
// empty filter object still means every exchange (the command's --all),
// and a misspelt field is still named with its path.
func TestAPIReplayEmptyFilterField(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	tg := newTarget(t, nil)
	add(t, a.store,
		capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/hooks", nil, []byte("{}"), okResp()),
		capture("01JNB5Z3Q0000000000000000B", "POST", "http://127.0.0.1:8080/b/github/hooks", nil, []byte("{}"), okResp()))
	for _, field := range []string{"bin", "source", "method", "status", "since", "until", "path"} {
		var e struct{ Error string }
		body := map[string]any{"filter": map[string]any{field: ""}, "target": tg.URL}
		if code := a.call(t, "POST", "/api/replay", body, &e); code != 400 || !strings.Contains(e.Error, "filter."+field) || !strings.Contains(e.Error, "empty") {
			t.Errorf(`"filter": {%q: ""}: %d %q, want a 400 saying filter.%s is empty`, field, code, e.Error, field)
		}
	}
	var e struct{ Error string }
	if code := a.call(t, "POST", "/api/replay", map[string]any{"filter": map[string]any{"bni": "x"}, "target": tg.URL}, &e); code != 400 || !strings.Contains(e.Error, "filter.bni") {
		t.Errorf("a misspelt filter field: %d %q, want a 400 naming filter.bni", code, e.Error)
	}
	if code := a.call(t, "POST", "/api/replay", map[string]any{"filter": map[string]any{"limit": "x"}, "target": tg.URL}, &e); code != 400 || !strings.Contains(e.Error, "filter.limit") {
		t.Errorf("a filter limit of the wrong type: %d %q, want a 400 naming filter.limit", code, e.Error)
	}
	if st := a.run(t, Spec{Filter: &Filter{}, Target: tg.URL}); st.Summary.Replayed != 2 {
		t.Errorf("an empty filter object replayed %d, want every exchange (2)", st.Summary.Replayed)
	}
}

// fullAfter is a store that takes n exchanges, then refuses the rest as a
// full disk does.
type fullAfter struct {
	inspect.Store
	mu sync.Mutex
	n  int
}

func (s *fullAfter) Add(ctx context.Context, ex *inspect.Exchange) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == 0 {
		return fmt.Errorf("%w: journal: write 00000000000000000001.log: no space left on device", inspect.ErrStoreFull)
	}
	s.n--
	return s.Store.Add(ctx, ex)
}

// TestImportCutShortSaysWhatWasStored: an import the store stops taking
// part way through answers 503 naming the exchange that failed and how many
// before it were stored, since importing the file again stores those
// twice (it said only "the 3. stored").
func TestImportCutShortSaysWhatWasStored(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	real, err := inspect.OpenSQLite(filepath.Join(dir, "hooklab.db"), inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { real.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	api := NewAPI(APIConfig{Store: &fullAfter{Store: real, n: 2}, Context: ctx, IDs: new(inspect.IDs), Publish: func(inspect.Event) {}})
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		api.Wait()
	})
	data, err := os.ReadFile("../inspect/har/testdata/chrome.har")
	if err != nil {
		t.Fatal(err)
	}
	f, err := har.Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	third := f.Log.Entries[2].Request
	resp, err := http.Post(srv.URL+"/api/import?bin=chrome", "application/json", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("import on a full store: %d %s, want 503", resp.StatusCode, body)
	}
	exs, _, err := real.List(context.Background(), inspect.Query{Bin: "chrome", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(exs) != 2 {
		t.Fatalf("%d exchanges stored, want the 2 the store took", len(exs))
	}
	for _, want := range []string{
		"exchange 3 of 5 (" + third.Method + " " + inspect.RedactURL(third.URL) + ")",
		"no space left on device",
		"the 2 before it are stored (importing the file again stores them twice)",
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("answer %s does not say %q", body, want)
		}
	}
}

// TestExportOfDamagedStoreSaysWhy: an export that fails before any of the
// file has gone out (the first exchange's journal segment was removed)
// answers an error naming what is wrong; it used to cut the connection, so
// hooklab export printed only `Get ".../api/export.har?": EOF`.
func TestExportOfDamagedStoreSaysWhy(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := inspect.OpenSQLite(dir, inspect.Options{})
	if err != nil {
		t.Fatal(err)
	}
	add(t, s, capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/d/x", nil, []byte(`{"a":1}`), nil))
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	segs, err := filepath.Glob(filepath.Join(dir, "journal", "*.log"))
	if err != nil || len(segs) == 0 {
		t.Fatalf("journal segments %v %v", segs, err)
	}
	for _, seg := range segs {
		if err := os.Remove(seg); err != nil {
			t.Fatal(err)
		}
	}
	s, err = inspect.OpenSQLite(dir, inspect.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	api := NewAPI(APIConfig{Store: s, Context: ctx, IDs: new(inspect.IDs), Publish: func(inspect.Event) {}, Logger: slog.New(slog.DiscardHandler)})
	srv := httptest.NewServer(api)
	t.Cleanup(func() {
		srv.Close()
		cancel()
		api.Wait()
	})
	for _, q := range []string{"", "ids=01JNB5Z3Q0000000000000000A"} {
		resp, err := http.Get(srv.URL + "/api/export.har?" + q)
		if err != nil {
			t.Fatalf("export?%s: %v, want an answer saying what is wrong", q, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusInternalServerError || !bytes.Contains(body, []byte("journal record is gone")) {
			t.Errorf("export?%s: %d %s, want a 500 saying the journal record is gone", q, resp.StatusCode, body)
		}
	}
}

// TestAPIRunSaysWhatItReplays: a run, in the list of runs and on its own,
// says what it replays (the exchanges by id, the filter, or a HAR file's
// entries, and how many) and the overrides it goes with, secret header
// values and secret query values REDACTED, in words (selection.text) and
// as fields. A run said only its target and counts of outcomes, so the
// list of runs could not tell one bin's run from another's.
func TestAPIRunSaysWhatItReplays(t *testing.T) {
	t.Parallel()
	a := newAPIServerWith(t, APIConfig{SecretHeaders: []string{"X-Tenant-Pass"}})
	tg := newTarget(t, nil)
	var ids []string
	for i := range 12 {
		bin := "stripe"
		if i >= 3 {
			bin = "github"
		}
		ex := capture(fmt.Sprintf("01JNB5Z3Q00000000000000%03d", i), "POST", "http://127.0.0.1:8080/b/"+bin+"/hooks", nil, []byte(`{}`), okResp())
		ex.Bin = bin
		add(t, a.store, ex)
		ids = append(ids, ex.ID)
	}
	var buf bytes.Buffer
	har.Encode(&buf, har.New([]*inspect.Exchange{capture("01JNB5Z3Q0000000000000HAR1", "GET", "http://127.0.0.1:8080/x", nil, nil, okResp())}, har.Options{}))
	body := "a new body"
	tests := []struct {
		name string
		spec Spec
		want Selection
	}{
		{"one id", Spec{IDs: ids[:1]}, Selection{IDs: ids[:1], Text: "1 exchange: " + ids[0]}},
		{"ids", Spec{IDs: ids[:3]}, Selection{IDs: ids[:3], Text: "3 exchanges by id: " + strings.Join(ids[:3], ", ")}},
		{"many ids", Spec{IDs: ids}, Selection{IDs: ids[:10], MoreIDs: 2, Text: "12 exchanges by id: " + strings.Join(ids[:10], ", ") + " and 2 more"}},
		{"filter", Spec{Filter: &Filter{Bin: "stripe", Method: "POST"}}, Selection{Filter: &Filter{Bin: "stripe", Method: "POST"}, Text: "3 exchanges matching bin=stripe method=POST"}},
		{"limit", Spec{Filter: &Filter{Bin: "github", Limit: 4}}, Selection{Filter: &Filter{Bin: "github", Limit: 4}, Text: "4 exchanges matching bin=github, the newest 4"}},
		{"every", Spec{Filter: &Filter{}}, Selection{Filter: &Filter{}, Text: "12 exchanges: every one recorded (replays aside)"}},
		{"har", Spec{HAR: buf.Bytes()}, Selection{HAR: true, Text: "1 entry of a HAR file"}},
		{"har named", Spec{HAR: buf.Bytes(), HARFile: "/home/me/fixtures/stripe.har"}, Selection{HAR: true, HARFile: "stripe.har", Text: "1 entry of the HAR file stripe.har"}},
		{"har named on windows", Spec{HAR: buf.Bytes(), HARFile: `C:\Users\me\github.har`}, Selection{HAR: true, HARFile: "github.har", Text: "1 entry of the HAR file github.har"}},
		{"overrides", Spec{IDs: ids[:1], Override: OverrideSpec{
			Method: "PUT", Path: "/v2/hooks?token=PATHSECRET&x=1", Body: &body,
			SetHeaders:    inspect.Headers{{Name: "Authorization", Value: "Bearer AUTHSECRET"}, {Name: "X-Tenant-Pass", Value: "TENANTSECRET"}, {Name: "X-Env", Value: "staging"}},
			RemoveHeaders: []string{"X-Old"},
		}}, Selection{IDs: ids[:1], Overrides: []string{
			"method PUT", "path /v2/hooks?token=REDACTED&x=1", "header Authorization: REDACTED", "header X-Tenant-Pass: REDACTED", "header X-Env: staging",
			"without header X-Old", "body of 10 bytes",
		}, Text: "1 exchange: " + ids[0] + "; method PUT, path /v2/hooks?token=REDACTED&x=1, header Authorization: REDACTED, header X-Tenant-Pass: REDACTED, header X-Env: staging, without header X-Old, body of 10 bytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Target = tg.URL
			var started struct{ ID string }
			var raw json.RawMessage
			if code := a.call(t, "POST", "/api/replay", tt.spec, &raw); code != http.StatusAccepted {
				t.Fatalf("start: %d %s", code, raw)
			}
			json.Unmarshal(raw, &started)
			st := a.waitRun(t, started.ID)
			if diff := cmp.Diff(tt.want, st.Selection); diff != "" {
				t.Errorf("the run's selection (-want +got):\n%s", diff)
			}
			var list struct{ Runs []RunStatus }
			a.call(t, "GET", "/api/replay", nil, &list)
			i := slices.IndexFunc(list.Runs, func(r RunStatus) bool { return r.ID == started.ID })
			if i < 0 || !cmp.Equal(list.Runs[i].Selection, tt.want) {
				t.Errorf("the list of runs has this run as %+v, want selection %+v", list.Runs, tt.want)
			}
			var all json.RawMessage
			a.call(t, "GET", "/api/replay", nil, &all)
			for _, secret := range []string{"PATHSECRET", "AUTHSECRET", "TENANTSECRET"} {
				if bytes.Contains(all, []byte(secret)) {
					t.Errorf("the list of runs shows %s: %s", secret, all)
				}
			}
		})
	}
}

// TestAPIRunResultsNeverNull: a run's results are a list, [] while it has
// none, as the API's other lists are; the list of runs and a cancel's
// answer carry no results (each run's summary only), so they leave the
// field out rather than say null.
func TestAPIRunResultsNeverNull(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	release := make(chan struct{})
	held := make(chan struct{}, 1)
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		held <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	add(t, a.store, capture("01JNB5Z3Q0000000000000000A", "GET", "http://127.0.0.1:8080/b/other/x", nil, nil, okResp()))
	raw := func(method, path string) string {
		t.Helper()
		req, _ := http.NewRequest(method, a.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
		}
		return string(b)
	}
	var started struct{ ID string }
	if code := a.call(t, "POST", "/api/replay", Spec{IDs: []string{"01JNB5Z3Q0000000000000000A"}, Target: tg.URL}, &started); code != http.StatusAccepted {
		t.Fatalf("start: %d", code)
	}
	<-held // the run is under way, with no result yet
	if got := raw("GET", "/api/replay/"+started.ID); !strings.Contains(got, `"results":[]`) {
		t.Errorf("GET of a run without results: want \"results\":[] in %s", got)
	}
	if got := raw("GET", "/api/replay"); strings.Contains(got, `"results"`) || !strings.Contains(got, `"runs":[{`) {
		t.Errorf("the list of runs: want summaries without results in %s", got)
	}
	if got := raw("DELETE", "/api/replay/"+started.ID); strings.Contains(got, `"results"`) {
		t.Errorf("cancel's answer: want no results in %s", got)
	}
	a.waitRun(t, started.ID)
}

// TestAPIRefusesBadHARFile: a har_file that names no file, is too long,
// holds a control character, or comes without a HAR file is a 400 on
// har_file.
func TestAPIRefusesBadHARFile(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	tg := newTarget(t, nil)
	add(t, a.store, capture("01JNB5Z3Q0000000000000000A", "GET", "http://127.0.0.1:8080/x", nil, nil, okResp()))
	var buf bytes.Buffer
	har.Encode(&buf, har.New([]*inspect.Exchange{capture("01JNB5Z3Q0000000000000HAR1", "GET", "http://127.0.0.1:8080/x", nil, nil, okResp())}, har.Options{}))
	for name, spec := range map[string]Spec{
		"a directory":   {HAR: buf.Bytes(), HARFile: "fixtures/"},
		"dot dot":       {HAR: buf.Bytes(), HARFile: "fixtures/.."},
		"too long":      {HAR: buf.Bytes(), HARFile: strings.Repeat("a", 252) + ".har"},
		"a line feed":   {HAR: buf.Bytes(), HARFile: "a\nb.har"},
		"without a HAR": {IDs: []string{"01JNB5Z3Q0000000000000000A"}, HARFile: "x.har"},
	} {
		spec.Target = tg.URL
		var e struct{ Error, Detail string }
		if code := a.call(t, "POST", "/api/replay", spec, &e); code != http.StatusBadRequest || !strings.Contains(e.Error+e.Detail, "har_file") {
			t.Errorf("%s: %d %+v, want a 400 on har_file", name, code, e)
		}
	}
}
