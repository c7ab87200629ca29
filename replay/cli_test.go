package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/inspect/har"
)

type cliRun struct {
	stdout, stderr bytes.Buffer
	cli            *CLI
}

func newCLI(env map[string]string, open func(create bool) (inspect.Store, error)) *cliRun {
	c := &cliRun{}
	c.cli = &CLI{Stdout: &c.stdout, Stderr: &c.stderr, Getenv: func(k string) string { return env[k] }, OpenStore: open, Poll: 5 * time.Millisecond}
	return c
}

// noServer is a URL where no hooklab answers.
const noServer = "http://127.0.0.1:1"

func writeHAR(t *testing.T, exs ...*inspect.Exchange) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fixture.har")
	var buf bytes.Buffer
	if err := har.Encode(&buf, har.New(exs, har.Options{})); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// nopClose keeps a test's store open after a command closes it.
type nopClose struct{ inspect.Store }

func (nopClose) Close() error { return nil }

func TestCLIReplayHAR(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/changed" {
			io.WriteString(w, `{"ok":true,"v":2}`)
			return
		}
		io.WriteString(w, `{"ok":true,"v":1}`)
	})
	resp := func() *inspect.Response { return jsonResp(200, `{"ok":true,"v":1}`) }
	same := capture("01JNB5Z3Q0000000000000000A", "POST", "https://hooks.example.com/same", nil, []byte(`{"a":1}`), resp())
	changed := capture("01JNB5Z3Q0000000000000000B", "POST", "https://hooks.example.com/changed", nil, []byte(`{"a":2}`), resp())
	sameFile := writeHAR(t, same)
	bothFile := writeHAR(t, same, changed)
	var sevenSame []*inspect.Exchange
	for i := range 7 {
		x := *same
		x.ID = fmt.Sprintf("01JNB5Z3Q00000000000000%03d", i)
		sevenSame = append(sevenSame, &x)
	}
	sevenFile := writeHAR(t, sevenSame...)

	for _, tc := range []struct {
		name    string
		args    []string
		wantErr error
		stdout  []string
	}{
		{"same, fail-on-diff", []string{"--har", sameFile, "--target", tg.URL, "--fail-on-diff"}, nil,
			[]string{"1 replayed, 1 same, 0 differ, 0 failed\n"}},
		{"differs without fail-on-diff", []string{"--har", bothFile, "--target", tg.URL}, nil,
			[]string{"@@ body v @@\n-1\n+2\n", "2 replayed, 1 same, 1 differ, 0 failed\n"}},
		{"differs with fail-on-diff", []string{"--target", tg.URL, "--fail-on-diff", "--har", bothFile}, ErrDiff,
			[]string{"2 replayed, 1 same, 1 differ, 0 failed\n"}},
		// host:port and :port are http://, as --server takes them.
		{"target without a scheme", []string{"--har", sameFile, "--target", strings.TrimPrefix(tg.URL, "http://"), "--fail-on-diff", "-v"}, nil,
			[]string{"same   POST " + tg.URL + "/same 200", "1 replayed, 1 same, 0 differ, 0 failed\n"}},
		{"target of a port alone", []string{"--har", sameFile, "--target", tg.URL[strings.LastIndex(tg.URL, ":"):], "--fail-on-diff"}, nil,
			[]string{"1 replayed, 1 same, 0 differ, 0 failed\n"}},
		{"ignored path", []string{"--har", bothFile, "--target", tg.URL, "--fail-on-diff", "--ignore", "v"}, nil,
			[]string{"2 replayed, 2 same, 0 differ, 0 failed\n"}},
		{"failed counts with fail-on-diff", []string{"--har", sameFile, "--target", noServer, "--fail-on-diff"}, ErrDiff,
			[]string{"FAILED POST " + noServer + "/same", "1 replayed, 0 same, 0 differ, 1 failed\n"}},
		// A target that never answers: the run gives up after five in a
		// row, and still prints what it did; --give-up-after 0 tries all.
		{"gives up", []string{"--har", sevenFile, "--target", noServer}, ErrGaveUp,
			[]string{"5 replayed, 0 same, 0 differ, 5 failed\n"}},
		{"gives up, json", []string{"--har", sevenFile, "--target", noServer, "--json"}, ErrGaveUp,
			[]string{`"failed": 5`, `"error": "the target stopped answering: 5 requests in a row`}},
		{"never gives up", []string{"--har", sevenFile, "--target", noServer, "--give-up-after", "0"}, nil,
			[]string{"7 replayed, 0 same, 0 differ, 7 failed\n"}},
		{"verbose lists the same", []string{"--har", sameFile, "--target", tg.URL, "-v"}, nil,
			[]string{"same   POST " + tg.URL + "/same 200"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCLI(nil, nil)
			err := c.cli.Replay(context.Background(), tc.args)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err %v, want %v; stderr %s", err, tc.wantErr, c.stderr.String())
			}
			for _, s := range tc.stdout {
				if !strings.Contains(c.stdout.String(), s) {
					t.Errorf("stdout lacks %q:\n%s", s, c.stdout.String())
				}
			}
		})
	}

	t.Run("redacted export warns", func(t *testing.T) {
		t.Parallel()
		secret := capture("01JNB5Z3Q0000000000000000C", "POST", "https://hooks.example.com/same",
			inspect.Headers{{Name: "Authorization", Value: "Bearer s3cret"}, {Name: "Cookie", Value: "a=1"}}, []byte(`{"a":1}`), resp())
		redacted := writeHAR(t, secret) // exported without --keep-secrets
		for _, tc := range []struct {
			extra []string
			want  string
		}{
			{nil, "the values of Authorization, Cookie go out as REDACTED"},
			{[]string{"--set-header", "Authorization: Bearer fresh"}, "Cookie go out as REDACTED"},
			{[]string{"--set-header", "Authorization: Bearer fresh", "--remove-header", "cookie"}, ""},
		} {
			c := newCLI(nil, nil)
			if err := c.cli.Replay(context.Background(), append([]string{"--har", redacted, "--target", tg.URL}, tc.extra...)); err != nil {
				t.Fatal(err)
			}
			got := c.stderr.String()
			if tc.want == "" && strings.Contains(got, "warning") || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("%v: stderr %q, want %q", tc.extra, got, tc.want)
			}
		}
		// A fixture with the secrets kept gives no warning.
		p := filepath.Join(t.TempDir(), "kept.har")
		var buf bytes.Buffer
		har.Encode(&buf, har.New([]*inspect.Exchange{secret}, har.Options{KeepSecrets: true}))
		os.WriteFile(p, buf.Bytes(), 0o644)
		c := newCLI(nil, nil)
		if err := c.cli.Replay(context.Background(), []string{"--har", p, "--target", tg.URL}); err != nil || strings.Contains(c.stderr.String(), "warning") {
			t.Errorf("kept secrets: %v, stderr %q", err, c.stderr.String())
		}
	})

	t.Run("json", func(t *testing.T) {
		t.Parallel()
		c := newCLI(nil, nil)
		if err := c.cli.Replay(context.Background(), []string{"--har", bothFile, "--target", tg.URL, "--json", "--concurrency", "2"}); err != nil {
			t.Fatal(err)
		}
		var rep Report
		if err := json.Unmarshal(c.stdout.Bytes(), &rep); err != nil {
			t.Fatalf("%v in %s", err, c.stdout.String())
		}
		if rep.Summary != (Summary{Replayed: 2, Same: 1, Differ: 1}) || rep.Results[1].Changes[0].Path != "body v" {
			t.Errorf("report %+v", rep)
		}
	})
}

// A HAR entry (or a recorded URL) may name the API of the hooklab at
// --server: a local run refuses to send it there, however it is spelled,
// and says why; it still goes to another port, or to --target.
func TestCLIReplayRefusesOwnAPI(t *testing.T) {
	t.Parallel()
	api := newTarget(t, nil) // stands in for a hooklab's UI/API listener
	other := newTarget(t, nil)
	_, port, _ := net.SplitHostPort(api.Listener.Addr().String())
	del := capture("01JNB5Z3Q0000000000000000D", "DELETE", "http://localhost:"+port+"/api/exchanges", nil, nil, jsonResp(200, `{"deleted":0}`))
	padded := capture("01JNB5Z3Q0000000000000000E", "POST", "http://127.0.0.1:0"+port+"/api/bins", nil, []byte(`{"name":"x"}`), jsonResp(201, `{}`))
	mapped := capture("01JNB5Z3Q0000000000000000F", "GET", "http://[::ffff:127.0.0.1]:"+port+"/api/bins", nil, nil, jsonResp(200, `{}`))
	file := writeHAR(t, del, padded, mapped)

	for _, server := range []string{api.URL, strings.TrimPrefix(api.URL, "http://")} {
		c := newCLI(map[string]string{"HOOKLAB_UI": server}, nil)
		err := c.cli.Replay(context.Background(), []string{"--har", file, "--fail-on-diff"})
		if !errors.Is(err, ErrDiff) {
			t.Fatalf("HOOKLAB_UI=%s: err %v, want the refusals counted as failed; stderr %s", server, err, c.stderr.String())
		}
		if got := api.received(); len(got) != 0 {
			t.Fatalf("HOOKLAB_UI=%s: the API got %d requests: %+v", server, len(got), got)
		}
		if n := strings.Count(c.stdout.String(), "hooklab's own API (the port of --server http://127.0.0.1:"+port+"; if hooklab is elsewhere, say so with --server or HOOKLAB_UI); give a target"); n != 3 || !strings.Contains(c.stdout.String(), "3 replayed, 0 same, 0 differ, 3 failed") {
			t.Errorf("HOOKLAB_UI=%s: %d refusals, want 3:\n%s", server, n, c.stdout.String())
		}
	}
	// --server names the API too; with a target the entries go there.
	c := newCLI(nil, nil)
	if err := c.cli.Replay(context.Background(), []string{"--har", file, "--server", api.URL, "--target", other.URL}); err != nil {
		t.Fatalf("with a target: %v; stderr %s", err, c.stderr.String())
	}
	if got := other.received(); len(got) != 3 || len(api.received()) != 0 {
		t.Errorf("with a target: target got %d, API %d requests; want 3 and 0", len(got), len(api.received()))
	}
	// A server named by a name may be this machine: guarded.
	c = newCLI(map[string]string{"HOOKLAB_UI": "http://devbox.example:" + port}, nil)
	_ = c.cli.Replay(context.Background(), []string{"--har", file})
	if n := len(api.received()); n != 0 {
		t.Errorf("with --server named by a name: the API got %d requests, want 0", n)
	}
	// A server at another machine's address has no API on this one's
	// ports.
	remote := nonLocalAddr(t)
	c = newCLI(map[string]string{"HOOKLAB_UI": "http://" + net.JoinHostPort(remote.String(), port)}, nil)
	_ = c.cli.Replay(context.Background(), []string{"--har", file})
	if n := len(api.received()); n != 3 {
		t.Errorf("with a remote --server: the local port got %d requests, want 3 (not refused)", n)
	}
}

// nonLocalAddr returns an address no interface of this machine has.
func nonLocalAddr(t *testing.T) netip.Addr {
	t.Helper()
	for _, s := range []string{"203.0.113.9", "198.51.100.9", "192.0.2.99", "100.64.7.9"} {
		if ip := netip.MustParseAddr(s); !IsLocalAddr(ip) {
			return ip
		}
	}
	t.Skip("every documentation address is local here")
	return netip.Addr{}
}

// The guard reads an address however it is written: a zone, an IPv4
// mapping, a 0-padded port.
func TestOwnAPICheck(t *testing.T) {
	t.Parallel()
	refuse := OwnAPICheck("4040")
	for addr, want := range map[string]bool{
		"127.0.0.1:4040":          true,
		"127.0.0.1:04040":         true,
		"[::1]:4040":              true,
		"[::1%lo]:4040":           true,
		"[::%lo]:4040":            true,
		"[::ffff:127.0.0.1]:4040": true,
		"0.0.0.0:4040":            true,
		"127.0.0.1:4041":          false,
		net.JoinHostPort(nonLocalAddr(t).String(), "4040"): false,
	} {
		if got := refuse(addr) != nil; got != want {
			t.Errorf("%s: refused %v, want %v", addr, got, want)
		}
	}
}

func TestCLIReplayUsage(t *testing.T) {
	t.Parallel()
	harFile := writeHAR(t, capture("01JNB5Z3Q0000000000000000A", "GET", "http://x/", nil, nil, okResp()))
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"nothing to replay", []string{"--target", "http://127.0.0.1:3000"}, "say what to replay"},
		{"two sources", []string{"01JNB5Z3Q0000000000000000A", "--har", harFile}, "give one source to replay"},
		{"a HAR and a filter", []string{"--har", harFile, "--bin", "x"}, "not several"},
		{"unknown flag", []string{"--tagret", "x"}, "flag provided but not defined"},
		{"bad header", []string{"--har", harFile, "--set-header", "novalue"}, "want Name: value"},
		{"bad pace", []string{"--har", harFile, "--pace", "slow"}, "want fast or original"},
		{"bad status", []string{"--status", "abc"}, "status"},
		{"status with a sign", []string{"--status", "+200"}, `status "+200": want a code from 100 to 999 like 404 (three digits, no sign), a class from 1xx to 5xx, or none (0) for no response`},
		{"status with a leading zero", []string{"--status", "0500"}, `status "0500": want a code from 100 to 999`},
		{"bad since", []string{"--since", "yesterday"}, `--since "yesterday": want a duration back from now such as 2h, or an RFC 3339 time`},
		{"bad until", []string{"--until", "2026-13-01"}, `--until "2026-13-01": want a duration`},
		{"both bodies", []string{"--har", harFile, "--set-body", "x", "--set-body-file", "f"}, "not both"},
		// --text is --q by another name: one overwrote the other.
		{"q and text", []string{"--q", "stripe", "--text", "github"}, "give --q or --text, not both (--text is --q by another name)"},
		{"zero concurrency", []string{"--har", harFile, "--concurrency", "0"}, "concurrency 0: want 1 to 1024"},
		{"negative concurrency", []string{"--har", harFile, "--concurrency", "-3"}, "concurrency -3: want 1 to 1024"},
		{"negative limit", []string{"--limit", "-1"}, "limit -1: want 0 (every match) or more"},
		{"zero speed", []string{"--har", harFile, "--pace", "original", "--speed", "0"}, "--speed 0: want a positive factor"},
		{"speed without original pace", []string{"--har", harFile, "--speed", "4"}, "give it with --pace original"},
		{"bad ignore glob", []string{"--har", harFile, "--ignore", "a.["}, `ignore path "a.[": syntax error in pattern`},
		// --ignore "$FIELD" with FIELD unset ignored nothing, silently.
		{"empty ignore", []string{"--har", harFile, "--ignore", ""}, "ignore path is empty: name a JSON path such as data.created_at"},
		// A gjson query matched nothing: the value was compared after all.
		{"gjson query in ignore", []string{"--har", harFile, "--ignore", `items.#(id=="x").ts`}, `ignore path "items.#(id==\"x\").ts": #(...) queries are not supported: use # for every element (items.#.ts)`},
		{"gjson query with a dot", []string{"--har", harFile, "--ignore", `data.items.#(a.b>1)#.ts`}, `use # for every element (data.items.#.ts)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := newCLI(nil, nil)
			err := c.cli.Replay(context.Background(), tc.args)
			if !errors.Is(err, ErrUsage) || !strings.Contains(c.stderr.String(), tc.want) {
				t.Errorf("err %v, stderr %q, want %q", err, c.stderr.String(), tc.want)
			}
		})
	}
	c := newCLI(map[string]string{"HOOKLAB_UI": noServer}, nil)
	err := c.cli.Replay(context.Background(), []string{"01JNB5Z3Q0000000000000000A"})
	if err == nil || errors.Is(err, ErrUsage) || !strings.Contains(err.Error(), "no hooklab server at "+noServer) {
		t.Errorf("no server: %v", err)
	}
	c = newCLI(nil, nil)
	if err := c.cli.Replay(context.Background(), []string{"--har", "/nonexistent.har"}); err == nil || errors.Is(err, ErrUsage) {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.har")
	os.WriteFile(bad, []byte("{\n\"log\": [}"), 0o644)
	if err := c.cli.Replay(context.Background(), []string{"--har", bad}); err == nil || !strings.Contains(err.Error(), "bad.har") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad file: %v", err)
	}
}

func TestCLIReplayRemote(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	tg := newTarget(t, nil)
	ex := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/hooks", nil, []byte(`{}`), okResp())
	bad := capture("01JNB5Z3Q0000000000000000B", "POST", "http://127.0.0.1:8080/b/stripe/hooks", nil, []byte(`{}`), jsonResp(200, `{"ok":false}`))
	add(t, a.store, ex, bad)

	c := newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	if err := c.cli.Replay(context.Background(), []string{ex.ID, "--target", tg.URL, "--fail-on-diff"}); err != nil {
		t.Fatalf("%v; stderr %s", err, c.stderr.String())
	}
	if !strings.Contains(c.stdout.String(), "1 replayed, 1 same") {
		t.Errorf("stdout %s", c.stdout.String())
	}
	// The server recorded the replay.
	sums, _, _ := a.store.List(context.Background(), inspect.Query{Source: "replay"})
	if len(sums) != 1 {
		t.Errorf("%d replays stored", len(sums))
	}

	c = newCLI(nil, nil)
	before := a.conns.Load()
	err := c.cli.Replay(context.Background(), []string{"--server", strings.TrimPrefix(a.URL, "http://"), "--bin", "stripe", "--target", tg.URL, "--fail-on-diff", "--json"})
	if !errors.Is(err, ErrDiff) {
		t.Fatalf("err %v", err)
	}
	// One connection for every call of the command (it checks the server,
	// starts the run, polls it), none left open after it.
	if n := a.conns.Load() - before; n != 1 {
		t.Errorf("the command opened %d connections to the server, want 1", n)
	}
	for deadline := time.Now().Add(5 * time.Second); a.open.Load() != 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections still open after the command", a.open.Load())
		}
	}
	var rep Report
	if err := json.Unmarshal(c.stdout.Bytes(), &rep); err != nil || rep.Summary != (Summary{Replayed: 2, Same: 1, Differ: 1}) || rep.Results[0].Index != 0 {
		t.Errorf("report %+v %v", rep, err)
	}

	c = newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	err = c.cli.Replay(context.Background(), []string{"01JNB5Z3Q0000000000000000Z", "--target", tg.URL})
	if err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("unknown id: %v", err)
	}
}

// TestCLIReplayWarnsRedactedHeaders: replaying an emitted webhook without
// --resign through a server sends its credentials as recorded, REDACTED;
// the command warns and names them, as replay --har does.
func TestCLIReplayWarnsRedactedHeaders(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	tg := newTarget(t, nil)
	emitted := &inspect.Exchange{
		ID: "01JNB5Z3Q0000000000000000E", Bin: "default", Source: inspect.SourceEmit, Time: t0,
		Request: inspect.Request{Method: "POST", URL: "http://127.0.0.1:3000/webhook", Body: []byte(`{}`), Size: 2,
			Headers: inspect.Headers{{Name: "Authorization", Value: inspect.Redacted}}},
		Response: okResp(),
	}
	add(t, a.store, emitted)
	c := newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	if err := c.cli.Replay(context.Background(), []string{emitted.ID, "--target", tg.URL}); err != nil {
		t.Fatalf("%v; stderr %s", err, c.stderr.String())
	}
	if got := c.stderr.String(); !strings.Contains(got, "warning: 1 replayed request sent Authorization as REDACTED") || !strings.Contains(got, "--resign") {
		t.Errorf("stderr %q, want a warning naming Authorization", got)
	}
	c = newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	if err := c.cli.Replay(context.Background(), []string{emitted.ID, "--target", tg.URL, "--set-header", "Authorization: Bearer t"}); err != nil {
		t.Fatal(err)
	}
	if got := c.stderr.String(); got != "" {
		t.Errorf("with the header set: stderr %q", got)
	}
}

// TestCLIAuthAdvice: a server that wants a token (hooklab serve --auth)
// makes the commands say to set HOOKLAB_AUTH, which is how they send one
// (they have no --auth), or that the one set was refused.
func TestCLIAuthAdvice(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "hooklab") // as main's listener marks every answer
		inspect.Auth("s3cret", http.NotFoundHandler()).ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	harFile := writeHAR(t, capture("01JNB5Z3Q0000000000000000A", "GET", "http://x/", nil, nil, okResp()))
	for _, tc := range []struct{ token, want string }{
		{"", "wants a token: set HOOKLAB_AUTH"},
		{"wrong", "refused the token in HOOKLAB_AUTH"},
	} {
		for _, args := range [][]string{{"replay", "01JNB5Z3Q0000000000000000A"}, {"export", "--har", "-"}, {"import", harFile}} {
			c := newCLI(map[string]string{"HOOKLAB_UI": srv.URL, "HOOKLAB_AUTH": tc.token}, nil)
			cmd := map[string]func(context.Context, []string) error{"replay": c.cli.Replay, "export": c.cli.Export, "import": c.cli.Import}[args[0]]
			err := cmd(context.Background(), args[1:])
			if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "--auth") {
				t.Errorf("%s with token %q: %v, want %q", args[0], tc.token, err, tc.want)
			}
		}
	}
}

func TestCLIReplayLocalStore(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	tg := newTarget(t, nil)
	ex := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/hooks", nil, []byte(`{}`), okResp())
	add(t, store, ex)
	c := newCLI(map[string]string{"HOOKLAB_UI": noServer}, func(bool) (inspect.Store, error) { return nopClose{store}, nil })
	if err := c.cli.Replay(context.Background(), []string{"--all", "--target", tg.URL}); err != nil {
		t.Fatal(err)
	}
	sums, _, _ := store.List(context.Background(), inspect.Query{Source: "replay"})
	if len(sums) != 1 || !strings.Contains(c.stdout.String(), "1 replayed, 1 same") {
		t.Errorf("%d replays stored; stdout %s", len(sums), c.stdout.String())
	}
}

func TestCLIExportImport(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	ex := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/hooks",
		inspect.Headers{{Name: "Authorization", Value: "Bearer s3cret"}}, []byte(`{}`), okResp())
	add(t, a.store, ex)
	dir := t.TempDir()
	out := filepath.Join(dir, "stripe-fixture.har")

	c := newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	if err := c.cli.Export(context.Background(), []string{"--har", out, "--bin", "stripe"}); err != nil {
		t.Fatalf("%v %s", err, c.stderr.String())
	}
	data, _ := os.ReadFile(out)
	if !strings.Contains(c.stderr.String(), "exported 1 exchange to "+out) || bytes.Contains(data, []byte("s3cret")) {
		t.Errorf("export: %s\n%s", c.stderr.String(), data)
	}
	// --q is tail's name for the query, and export's too (--text, its
	// first name, still works).
	for _, name := range []string{"--q", "--text"} {
		c = newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
		if err := c.cli.Export(context.Background(), []string{"--har", "-", name, "method:POST path:/b/stripe/*"}); err != nil || !strings.Contains(c.stdout.String(), ex.ID) {
			t.Errorf("export %s: %v %s", name, err, c.stderr.String())
		}
		c = newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
		if err := c.cli.Export(context.Background(), []string{"--har", "-", name, "method:GET"}); err != nil || strings.Contains(c.stdout.String(), ex.ID) {
			t.Errorf("export %s method:GET: %v, exported %s", name, err, c.stdout.String())
		}
	}
	// A filter that matches nothing does not replace the fixture.
	c = newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	err := c.cli.Export(context.Background(), []string{"--har", out, "--bin", "nosuch"})
	if again, _ := os.ReadFile(out); err == nil || !strings.Contains(err.Error(), "left as it was") || !bytes.Equal(again, data) {
		t.Errorf("empty export over the fixture: %v; file changed: %v", err, !bytes.Equal(again, data))
	}
	if fresh := filepath.Join(dir, "fresh.har"); c.cli.Export(context.Background(), []string{"--har", fresh, "--bin", "nosuch"}) != nil {
		t.Errorf("an empty export to a new file is refused")
	}
	// A directory is said to be one before any work (the export was made,
	// then its rename failed with "file exists", its temporary file left).
	if err := c.cli.Export(context.Background(), []string{"--har", dir, "--bin", "stripe"}); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("export to a directory: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), ".hooklab-export-*")); len(left) > 0 {
		t.Errorf("export left %v", left)
	}
	c = newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	if err := c.cli.Export(context.Background(), []string{"--har", "-", "--keep-secrets", ex.ID}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.stdout.String(), "s3cret") {
		t.Errorf("keep-secrets to stdout: %s", c.stdout.String())
	}
	c = newCLI(nil, nil)
	if err := c.cli.Export(context.Background(), []string{"--bin", "stripe"}); !errors.Is(err, ErrUsage) {
		t.Errorf("no --har: %v", err)
	}
	c = newCLI(nil, nil)
	if err := c.cli.Export(context.Background(), []string{"--har", "-", "--limit", "-1"}); !errors.Is(err, ErrUsage) || !strings.Contains(c.stderr.String(), "limit -1: want 0 (every match) or more") {
		t.Errorf("--limit -1: %v, stderr %q", err, c.stderr.String())
	}
	c = newCLI(nil, nil)
	if err := c.cli.Export(context.Background(), []string{"--har", "-", "--status", "+404"}); !errors.Is(err, ErrUsage) || !strings.Contains(c.stderr.String(), `status "+404": want a code from 100 to 999`) {
		t.Errorf("--status +404: %v, stderr %q", err, c.stderr.String())
	}

	// Import into a local store (no server): the bin comes from the name.
	local := openStore(t)
	c = newCLI(map[string]string{"HOOKLAB_UI": noServer}, func(bool) (inspect.Store, error) { return nopClose{local}, nil })
	chrome := filepath.Join(dir, "Chrome export.har")
	b, _ := os.ReadFile("../inspect/har/testdata/chrome.har")
	os.WriteFile(chrome, b, 0o644)
	if err := c.cli.Import(context.Background(), []string{chrome}); err != nil {
		t.Fatal(err)
	}
	bins, _ := local.Bins(context.Background())
	if len(bins) != 1 || bins[0].Name != "Chrome-export" || bins[0].Count != 5 || !strings.Contains(c.stdout.String(), "imported 5 exchanges from "+chrome+" into bin Chrome-export\n") {
		t.Errorf("bins %+v; stdout %s", bins, c.stdout.String())
	}
	// "-" reads standard input, as export --har - writes standard output.
	piped := openStore(t)
	c = newCLI(map[string]string{"HOOKLAB_UI": noServer}, func(bool) (inspect.Store, error) { return nopClose{piped}, nil })
	c.cli.Stdin = bytes.NewReader(b)
	if err := c.cli.Import(context.Background(), []string{"-", "--bin", "piped"}); err != nil || !strings.Contains(c.stdout.String(), "imported 5 exchanges from standard input into bin piped\n") {
		t.Errorf("import -: %v %s", err, c.stdout.String())
	}
	// A hooklab export goes into the bins it names, and says so (it said
	// "(bin stripe-fixture unless the file names one)").
	own := openStore(t)
	c = newCLI(map[string]string{"HOOKLAB_UI": noServer}, func(bool) (inspect.Store, error) { return nopClose{own}, nil })
	if err := c.cli.Import(context.Background(), []string{out}); err != nil || c.stdout.String() != "imported 1 exchange from "+out+" into bin stripe\n" {
		t.Errorf("import of an export: %v %q", err, c.stdout.String())
	}
	// Entries a browser made for data: URLs are skipped, and said so.
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	entries := doc["log"].(map[string]any)["entries"].([]any)
	dataEntry := map[string]any{}
	for k, v := range entries[0].(map[string]any) {
		dataEntry[k] = v
	}
	req := map[string]any{}
	for k, v := range dataEntry["request"].(map[string]any) {
		req[k] = v
	}
	req["url"] = "data:image/png;base64,iVBORw0KGgo="
	dataEntry["request"] = req
	doc["log"].(map[string]any)["entries"] = append([]any{dataEntry}, entries...)
	withData := filepath.Join(dir, "with-data.har")
	wb, _ := json.Marshal(doc)
	os.WriteFile(withData, wb, 0o644)
	c = newCLI(map[string]string{"HOOKLAB_UI": noServer}, func(bool) (inspect.Store, error) { return nopClose{local}, nil })
	if err := c.cli.Import(context.Background(), []string{withData}); err != nil {
		t.Fatal(err)
	}
	if out := c.stdout.String(); !strings.Contains(out, "imported 5 exchanges") || !strings.Contains(out, "skipped 1 entry that never went over the network") {
		t.Errorf("import with a data: URL entry: %s", out)
	}
	if _, err := local.Clear(context.Background(), "with-data"); err != nil {
		t.Fatal(err)
	}
	// Import through the server; hooklab's own export keeps its bin, and
	// --bin puts it in another.
	binCount := func(name string) int64 {
		bins, _ := a.store.Bins(context.Background())
		for _, b := range bins {
			if b.Name == name {
				return b.Count
			}
		}
		return 0
	}
	c = newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	if err := c.cli.Import(context.Background(), []string{out}); err != nil {
		t.Fatal(err)
	}
	if c.stdout.String() != "imported 1 exchange from "+out+" into bin stripe\n" || binCount("stripe") != 2 {
		t.Errorf("stdout %s; bin stripe holds %d, want 2", c.stdout.String(), binCount("stripe"))
	}
	c = newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	if err := c.cli.Import(context.Background(), []string{out, "--bin", "other"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.stdout.String(), "imported 1 exchange from "+out+" into bin other") || binCount("other") != 1 || binCount("stripe") != 2 {
		t.Errorf("stdout %s; bins other %d, stripe %d; want 1 and 2", c.stdout.String(), binCount("other"), binCount("stripe"))
	}
	// The API says what it takes.
	for q, want := range map[string]string{
		"bogus=2":       `takes no parameter \"bogus\"`,
		"bin=a&into=b":  "give bin (for entries that name none) or into (for every entry), not both",
		"into=a&into=b": "into is given 2 times",
	} {
		resp, err := http.Post(a.URL+"/api/import?"+q, "application/json", bytes.NewReader(data))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 400 || !strings.Contains(string(b), want) {
			t.Errorf("POST /api/import?%s: %d %s, want 400 with %q", q, resp.StatusCode, b, want)
		}
	}
	// Another program on the server's port is no hooklab, and no reason
	// to use the local store instead: HOOKLAB_UI is wrong, and it says so.
	other := httptest.NewServer(http.NotFoundHandler())
	defer other.Close()
	c = newCLI(map[string]string{"HOOKLAB_UI": other.URL}, func(bool) (inspect.Store, error) { return nopClose{local}, nil })
	if err := c.cli.Export(context.Background(), []string{"--har", "-", "--method", "POST"}); err == nil || !strings.Contains(err.Error(), "is not hooklab's UI listener") || c.stdout.Len() != 0 {
		t.Errorf("export with another program at HOOKLAB_UI: %v %s", err, c.stdout.String())
	}
	// And a local export of the local store.
	c = newCLI(map[string]string{"HOOKLAB_UI": noServer}, func(bool) (inspect.Store, error) { return nopClose{local}, nil })
	if err := c.cli.Export(context.Background(), []string{"--har", filepath.Join(dir, "local.har"), "--method", "POST"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.stderr.String(), "exported 2 exchanges") {
		t.Errorf("local export: %s", c.stderr.String())
	}

	broken := filepath.Join(dir, "broken.har")
	os.WriteFile(broken, []byte(`{"log":`), 0o644)
	c = newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	if err := c.cli.Import(context.Background(), []string{broken}); err == nil || !strings.Contains(err.Error(), "broken.har") {
		t.Errorf("broken import: %v", err)
	}
	if err := c.cli.Import(context.Background(), nil); !errors.Is(err, ErrUsage) {
		t.Errorf("no file: %v", err)
	}
}

// TestServerBehindAFrontEnd: a hooklab whose answers a front end (TLS,
// --auth beyond loopback) re-labels in Server is still found by its
// /healthz, not replaced by the local store.
func TestServerBehindAFrontEnd(t *testing.T) {
	t.Parallel()
	var exported atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Server", "nginx")
		switch r.URL.Path {
		case "/healthz":
			w.Write([]byte(`{"ok":true,"exchanges":0,"bytes":0,"goroutines":9,"subscribers":0}`))
		case "/api/export.har":
			exported.Store(true)
			http.Error(w, "test", http.StatusTeapot)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := newCLI(map[string]string{"HOOKLAB_UI": srv.URL}, func(bool) (inspect.Store, error) { return nil, errors.New("the local store was opened") })
	err := c.cli.Export(context.Background(), []string{"--har", "-"})
	if !exported.Load() || err == nil || strings.Contains(err.Error(), "local store") || strings.Contains(err.Error(), "not hooklab") {
		t.Errorf("export through a front end asked the server: %v (err %v)", exported.Load(), err)
	}
}

// TestCLIReplayHARParamsOnly replays forms a tool gave only as
// postData.params (testdata/params-only.har, in Charles's shape): the
// target gets the form, rebuilt, rather than a refusal (the rebuilt
// urlencoded form is shorter than the bodySize of the one sent, not cut)
// or an empty multipart body.
func TestCLIReplayHARParamsOnly(t *testing.T) {
	t.Parallel()
	type form struct {
		values map[string][]string
		files  map[string]string // name: filename, type, content
	}
	forms := make(chan form, 2)
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		r.Body = io.NopCloser(bytes.NewReader(body))
		f := form{files: map[string]string{}}
		if err := r.ParseMultipartForm(1 << 20); err == nil {
			for name, fhs := range r.MultipartForm.File {
				rc, _ := fhs[0].Open()
				b, _ := io.ReadAll(rc)
				f.files[name] = fhs[0].Filename + ", " + fhs[0].Header.Get("Content-Type") + ", " + string(b)
			}
		} else if err := r.ParseForm(); err != nil {
			t.Errorf("%s: %v", r.URL.Path, err)
		}
		f.values = r.PostForm
		forms <- f
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})
	c := newCLI(nil, nil)
	if err := c.cli.Replay(context.Background(), []string{"--har", "testdata/params-only.har", "--target", tg.URL, "--concurrency", "1", "--fail-on-diff"}); err != nil {
		t.Fatalf("replay: %v\n%s%s", err, c.stdout.String(), c.stderr.String())
	}
	if !strings.Contains(c.stdout.String(), "2 replayed, 2 same, 0 differ, 0 failed") {
		t.Errorf("report:\n%s", c.stdout.String())
	}
	urlencoded, multipart := <-forms, <-forms
	if got, want := fmt.Sprint(urlencoded.values), "map[path:[~/x y] q:[a b&c]]"; got != want {
		t.Errorf("urlencoded form %s, want %s", got, want)
	}
	if got, want := fmt.Sprint(multipart.values), "map[n:[1]]"; got != want {
		t.Errorf("multipart values %s, want %s", got, want)
	}
	if got, want := multipart.files["file"], "a \"b\".txt, text/plain, hello\r\nworld"; got != want {
		t.Errorf("multipart file %q, want %q", got, want)
	}
}

// TestCLIImportEditedFixture: a hooklab export whose bodies were edited
// (a fixture adjusted by hand, as the README invites) imports with sizes
// that are those of the bodies it holds; they kept the exported sizes, so
// the record claimed 26 bytes for a 7-byte body it did not mark as cut.
// A body exported cut keeps its true size and its mark.
func TestCLIImportEditedFixture(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	edited := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/fx/orders",
		inspect.Headers{{Name: "Content-Type", Value: "application/json"}}, []byte(`{"b":2,"a":[1,2],"u":"x"}`), jsonResp(200, `{"ok":true,"id":"01M8VGCVZ51A7E1X87N60NJXRQ"}`))
	cut := capture("01JNB5Z3Q0000000000000000B", "POST", "http://127.0.0.1:8080/b/fx/big", nil, []byte("0123456789"), jsonResp(200, `{"ok":true}`))
	edited.Bin, cut.Bin = "fx", "fx"
	cut.Request.Size, cut.Request.Truncated = 1000, true
	var f struct {
		Log struct {
			Entries []map[string]any `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(mustRead(t, writeHAR(t, edited, cut)), &f); err != nil {
		t.Fatal(err)
	}
	e := f.Log.Entries[0]
	e["request"].(map[string]any)["postData"].(map[string]any)["text"] = `{"b":3}`
	e["response"].(map[string]any)["content"].(map[string]any)["text"] = `{"ok":false}`
	f.Log.Entries[1]["request"].(map[string]any)["postData"].(map[string]any)["text"] = "01234"
	data, _ := json.Marshal(f)
	p := filepath.Join(t.TempDir(), "edited.har")
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	c := newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	if err := c.cli.Import(context.Background(), []string{p}); err != nil {
		t.Fatalf("import: %v\n%s", err, c.stderr.String())
	}
	got, _, err := a.store.List(context.Background(), inspect.Query{Bin: "fx", Ascending: true})
	if err != nil || len(got) != 2 {
		t.Fatalf("list: %v, %+v", err, got)
	}
	var exs []*inspect.Exchange
	for _, s := range got {
		ex, err := a.store.Get(context.Background(), s.ID)
		if err != nil {
			t.Fatal(err)
		}
		exs = append(exs, ex)
	}
	if r := exs[0].Request; string(r.Body) != `{"b":3}` || r.Size != 7 || r.Truncated {
		t.Errorf("edited request: body %q size %d truncated %v, want 7 bytes, not truncated", r.Body, r.Size, r.Truncated)
	}
	if r := exs[0].Response; string(r.Body) != `{"ok":false}` || r.Size != 12 || r.Truncated {
		t.Errorf("edited response: body %q size %d truncated %v, want 12 bytes, not truncated", r.Body, r.Size, r.Truncated)
	}
	if r := exs[1].Request; string(r.Body) != "01234" || r.Size != 1000 || !r.Truncated {
		t.Errorf("cut request: body %q size %d truncated %v, want 1000 bytes, truncated", r.Body, r.Size, r.Truncated)
	}
}

func mustRead(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestCLIReplayHARFirefoxCutBody: Firefox keeps at most 1 MiB of a
// response in content.text and gives the whole size as content.size
// (testdata/firefox-cut.har: 1024 of 5100 bytes). The body is imported as
// cut, so the replay compares as far as it goes; it was taken as whole,
// and every such answer differed from the full one replayed.
func TestCLIReplayHARFirefoxCutBody(t *testing.T) {
	t.Parallel()
	full := strings.Repeat("0123456789abcdef\n", 300)
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, full)
	})
	c := newCLI(nil, nil)
	if err := c.cli.Replay(context.Background(), []string{"--har", "testdata/firefox-cut.har", "--target", tg.URL, "--fail-on-diff", "-v"}); err != nil {
		t.Fatalf("replay: %v\n%s%s", err, c.stdout.String(), c.stderr.String())
	}
	if out := c.stdout.String(); !strings.Contains(out, "the recorded body was cut at 1024 of 5100 bytes") || !strings.Contains(out, "1 replayed, 1 same, 0 differ, 0 failed") {
		t.Errorf("report:\n%s", out)
	}
	tg2 := newTarget(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, full[:2000]) // the same start, shorter
	})
	c = newCLI(nil, nil)
	if err := c.cli.Replay(context.Background(), []string{"--har", "testdata/firefox-cut.har", "--target", tg2.URL, "--fail-on-diff"}); !errors.Is(err, ErrDiff) || !strings.Contains(c.stdout.String(), "@@ body size @@\n-5100 bytes\n+2000 bytes") {
		t.Errorf("a shorter answer: %v\n%s", err, c.stdout.String())
	}
}

// TestCLIReplayHARDropsFragment: a browser's HAR (Firefox's, and those
// chrome-har and Puppeteer write from Chrome) gives a page's URL with its
// fragment, which the browser never sent; the replay sends the request the
// browser made, with no # in its target, to the target and to the
// original URL alike.
func TestCLIReplayHARDropsFragment(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	entry := func(u string) string {
		return `{"startedDateTime":"2026-03-01T10:00:00.000Z","time":5,
			"request":{"method":"GET","url":"` + u + `","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},
			"response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[{"name":"Content-Type","value":"application/json"}],"cookies":[],
				"content":{"size":11,"mimeType":"application/json","text":"{\"ok\":true}"},"redirectURL":"","headersSize":-1,"bodySize":11},
			"cache":{},"timings":{"send":0,"wait":5,"receive":0}}`
	}
	file := filepath.Join(t.TempDir(), "browser.har")
	har := `{"log":{"version":"1.2","creator":{"name":"Firefox","version":"140.0"},"entries":[` +
		entry(tg.URL+"/docs#install") + `,` + entry(tg.URL+"/app?x=1#/orders/7") + `]}}`
	if err := os.WriteFile(file, []byte(har), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"--target", tg.URL + "/"}, nil} {
		c := newCLI(nil, nil)
		if err := c.cli.Replay(context.Background(), append([]string{"--har", file, "--concurrency", "1", "--fail-on-diff"}, args...)); err != nil {
			t.Fatalf("replay %q: %v\n%s%s", args, err, c.stdout.String(), c.stderr.String())
		}
	}
	var uris []string
	for _, g := range tg.received() {
		uris = append(uris, g.RequestURI)
	}
	if got, want := strings.Join(uris, " "), "/docs /app?x=1 /docs /app?x=1"; got != want {
		t.Errorf("target got %s, want %s", got, want)
	}
}

// TestCLIReplayRemoteCanceled: a run through a server that is canceled
// (Ctrl-C) prints what it did before it stopped, as a local run does,
// and cancels the server's run.
func TestCLIReplayRemoteCanceled(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		if strings.HasSuffix(r.URL.Path, "/slow") {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})
	fast := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/fast", nil, []byte(`{}`), okResp())
	slow := capture("01JNB5Z3Q0000000000000000B", "POST", "http://127.0.0.1:8080/b/stripe/slow", nil, []byte(`{}`), okResp())
	add(t, a.store, fast, slow)

	for i, asJSON := range []bool{false, true} {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			for len(tg.received()) < 2*(i+1) {
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(50 * time.Millisecond) // the first result polled
			cancel()
		}()
		c := newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
		args := []string{"--bin", "stripe", "--target", tg.URL}
		if asJSON {
			args = append(args, "--json")
		}
		err := c.cli.Replay(ctx, args)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("json %v: err %v", asJSON, err)
		}
		if !asJSON {
			if !strings.Contains(c.stdout.String(), "1 same") {
				t.Errorf("stdout %q, want the summary of what was done", c.stdout.String())
			}
			continue
		}
		var rep Report
		if err := json.Unmarshal(c.stdout.Bytes(), &rep); err != nil || rep.Summary.Same != 1 || rep.Error == "" {
			t.Errorf("report %+v %v; stdout %q", rep, err, c.stdout.String())
		}
	}
	// The server's runs were canceled, not left to finish.
	a.api.mu.Lock()
	defer a.api.mu.Unlock()
	for _, r := range a.api.runs {
		if st := r.status(0); st.State == StateRunning {
			t.Errorf("run %s still running", st.ID)
		}
	}
}

// TestCLIReplayHARResign: replay --har --resign signs a fixture's emitted
// webhooks again through the running server, which holds the secrets;
// with none, the command says that it needs one.
func TestCLIReplayHARResign(t *testing.T) {
	t.Parallel()
	resign := func(ex *inspect.Exchange) (Resigned, error) {
		return Resigned{Signature: http.Header{"Webhook-Timestamp": {"1772359200"}, "Webhook-Signature": {"v1,fresh"}}}, nil
	}
	a := newAPIServerWith(t, APIConfig{ResignFunc: resign})
	tg := newTarget(t, nil)
	emitted := &inspect.Exchange{
		ID: "01JNB5Z3Q0000000000000000E", Bin: "default", Source: inspect.SourceEmit, Time: t0,
		Request: inspect.Request{Method: "POST", URL: "http://127.0.0.1:3000/webhook", Body: []byte(`{"e":1}`), Size: 7,
			Headers: inspect.Headers{{Name: "Webhook-Id", Value: "msg_1"}, {Name: "Webhook-Timestamp", Value: "1700000000"}, {Name: "Webhook-Signature", Value: "v1,old"},
				{Name: "Authorization", Value: inspect.Redacted}}},
		Response: okResp(),
	}
	p := writeHAR(t, emitted)

	c := newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	if err := c.cli.Replay(context.Background(), []string{"--har", p, "--resign", "--target", tg.URL, "--fail-on-diff"}); err != nil {
		t.Fatalf("%v; stderr %s", err, c.stderr.String())
	}
	if got := tg.received(); len(got) != 1 || got[0].Header.Get("Webhook-Signature") != "v1,fresh" {
		t.Errorf("target got %+v", got)
	}
	// The server's run names the file, not the directory it is in.
	var list struct{ Runs []RunStatus }
	a.call(t, "GET", "/api/replay", nil, &list)
	if len(list.Runs) != 1 || list.Runs[0].Selection.HARFile != "fixture.har" || !strings.HasPrefix(list.Runs[0].Selection.Text, "1 entry of the HAR file fixture.har;") {
		t.Errorf("the server's runs %+v, want one naming fixture.har", list.Runs)
	}
	// Re-signing puts an emitted webhook's credentials back: no warning
	// that its redacted Authorization goes out as it is.
	if strings.Contains(c.stderr.String(), "warning") {
		t.Errorf("stderr: %s", c.stderr.String())
	}

	c = newCLI(map[string]string{"HOOKLAB_UI": noServer}, nil)
	err := c.cli.Replay(context.Background(), []string{"--har", p, "--resign", "--target", tg.URL})
	if err == nil || !strings.Contains(err.Error()+c.stderr.String(), "needs a running server") {
		t.Errorf("no server: %v; stderr %s", err, c.stderr.String())
	}
}

// TestStripPrefixMatchingNoneWarns: a strip prefix that no selected path
// starts with (here the /b/NAME part, which a capture's path loses anyway)
// is warned of, naming it and counting (0 of N), by the command on stderr
// (a HAR file, the local store, a server's run) and by the API in its
// answer and the run's status; the run still goes, each path unchanged.
// The command and the API said nothing. A prefix some paths start with is
// not warned of.
func TestStripPrefixMatchingNoneWarns(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	tg := newTarget(t, nil)
	one := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/hooks/a", nil, []byte(`{}`), okResp())
	two := capture("01JNB5Z3Q0000000000000000B", "POST", "http://127.0.0.1:8080/b/stripe/hooks/b", nil, []byte(`{}`), okResp())
	add(t, a.store, one, two)
	harFile := writeHAR(t, one, two)
	const warning = "warning: strip prefix /b/stripe matched 0 of 2 exchanges: no recorded path starts with it, so each path goes after the target's unchanged\n"

	for _, tc := range []struct {
		name string
		env  map[string]string
		open func(bool) (inspect.Store, error)
		args []string
	}{
		{"har", map[string]string{"HOOKLAB_UI": noServer}, nil, []string{"--har", harFile}},
		{"local store", map[string]string{"HOOKLAB_UI": noServer}, func(bool) (inspect.Store, error) { return nopClose{a.store}, nil }, []string{"--bin", "stripe", "--source", "capture"}},
		{"server, filter", map[string]string{"HOOKLAB_UI": a.URL}, nil, []string{"--bin", "stripe", "--source", "capture"}},
		{"server, ids", map[string]string{"HOOKLAB_UI": a.URL}, nil, []string{one.ID, two.ID}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, strip := range []struct {
				prefix, stderr string
				paths          []string // the target got
			}{{"/b/stripe", warning, []string{"/hooks/a", "/hooks/b"}}, {"/hooks", "", []string{"/a", "/b"}}} {
				tg.mu.Lock()
				before := len(tg.got)
				tg.mu.Unlock()
				c := newCLI(tc.env, tc.open)
				args := append(slices.Clone(tc.args), "--target", tg.URL, "--strip-prefix", strip.prefix)
				if err := c.cli.Replay(context.Background(), args); err != nil {
					t.Fatalf("replay %s: %v; stderr %s", strings.Join(args, " "), err, c.stderr.String())
				}
				if got := c.stderr.String(); got != strip.stderr {
					t.Errorf("replay %s: stderr %q, want %q", strings.Join(args, " "), got, strip.stderr)
				}
				if !strings.Contains(c.stdout.String(), "2 replayed, 2 same") {
					t.Errorf("replay %s: stdout %s", strings.Join(args, " "), c.stdout.String())
				}
				var paths []string
				tg.mu.Lock()
				for _, r := range tg.got[before:] {
					paths = append(paths, r.RequestURI)
				}
				tg.mu.Unlock()
				if slices.Sort(paths); !slices.Equal(paths, strip.paths) {
					t.Errorf("replay %s: the target got %q, want %q", strings.Join(args, " "), paths, strip.paths)
				}
			}
		})
	}

	// The API: in the answer that starts the run, and in its status.
	var started struct {
		ID       string
		Total    int
		Warnings []string
	}
	if code := a.call(t, "POST", "/api/replay", Spec{IDs: []string{one.ID, two.ID}, Target: tg.URL, StripPrefix: "/b/stripe"}, &started); code != http.StatusAccepted {
		t.Fatalf("start: %d", code)
	}
	want := []string{strings.TrimSuffix(strings.TrimPrefix(warning, "warning: "), "\n")}
	if !slices.Equal(started.Warnings, want) || started.Total != 2 {
		t.Errorf("answer %+v, want warnings %q", started, want)
	}
	if st := a.waitRun(t, started.ID); !slices.Equal(st.Warnings, want) || st.Summary.Replayed != 2 {
		t.Errorf("run %+v, want warnings %q", st, want)
	}
	started.Warnings = nil
	a.call(t, "POST", "/api/replay", Spec{IDs: []string{one.ID, two.ID}, Target: tg.URL, StripPrefix: "/hooks/a"}, &started)
	if st := a.waitRun(t, started.ID); started.Warnings != nil || st.Warnings != nil {
		t.Errorf("a prefix one path starts with: answer %q, run %q", started.Warnings, st.Warnings)
	}
}

// TestCLIReplaySaysWhereToSeeIt: a replay run on a server ends its report
// with the run's page in the UI (and, with --json, its id and that page),
// where the diffs show side by side: the command printed the diffs and
// the counts only, so finding the run among the server's meant guessing
// from their times. A run without a server has no page and says none.
func TestCLIReplaySaysWhereToSeeIt(t *testing.T) {
	t.Parallel()
	a := newAPIServer(t)
	tg := newTarget(t, nil)
	ex := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/hooks", nil, []byte(`{}`), okResp())
	add(t, a.store, ex)

	c := newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	if err := c.cli.Replay(context.Background(), []string{ex.ID, "--target", tg.URL}); err != nil {
		t.Fatalf("%v; stderr %s", err, c.stderr.String())
	}
	var list struct{ Runs []RunStatus }
	a.call(t, "GET", "/api/replay", nil, &list)
	if len(list.Runs) != 1 {
		t.Fatalf("%d runs on the server, want 1", len(list.Runs))
	}
	page := a.URL + "/#/replays/" + list.Runs[0].ID
	lines := strings.Split(strings.TrimSuffix(c.stdout.String(), "\n"), "\n")
	if want := []string{"1 replayed, 1 same, 0 differ, 0 failed", "see it in the UI: " + page}; len(lines) < 2 || !slices.Equal(lines[len(lines)-2:], want) {
		t.Errorf("stdout ends %q, want %q", lines, want)
	}

	c = newCLI(map[string]string{"HOOKLAB_UI": a.URL}, nil)
	if err := c.cli.Replay(context.Background(), []string{ex.ID, "--target", tg.URL, "--json"}); err != nil {
		t.Fatalf("%v; stderr %s", err, c.stderr.String())
	}
	var rep Report
	if err := json.Unmarshal(c.stdout.Bytes(), &rep); err != nil || rep.Run == "" || rep.UI != a.URL+"/#/replays/"+rep.Run {
		t.Errorf("--json report %+v (%v), want the run's id and its page", rep, err)
	}

	p := writeHAR(t, ex)
	c = newCLI(map[string]string{"HOOKLAB_UI": noServer}, nil)
	if err := c.cli.Replay(context.Background(), []string{"--har", p, "--target", tg.URL}); err != nil {
		t.Fatalf("%v; stderr %s", err, c.stderr.String())
	}
	if got := c.stdout.String(); strings.Contains(got, "UI") {
		t.Errorf("a run without a server says %q", got)
	}
}
