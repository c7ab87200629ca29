package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestReplayExportImportCommands drives the CLI as a user would: capture,
// export a HAR through the running server, replay it with no server at all
// against a target that changed one field (exit status and report), and
// import it into another server.
func TestReplayExportImportCommands(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	for i := range 3 {
		s.send(t, "POST", fmt.Sprintf("/b/orders/orders/%d", i), "application/json", []byte(fmt.Sprintf(`{"n":%d}`, i)))
	}
	// The "new build": answers like hooklab did, except for order 1.
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/1") {
			fmt.Fprint(w, `{"ok":false}`)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer target.Close()

	dir := t.TempDir()
	harPath := filepath.Join(dir, "orders.har")
	env := func(k string) string {
		if k == "HOOKLAB_DATA" {
			return filepath.Join(dir, "no-data-here")
		}
		return ""
	}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"export", "--server", s.UI, "--bin", "orders", "--har", harPath}, env, &out, &errOut); err != nil {
		t.Fatalf("export: %v\n%s", err, errOut.String())
	}
	var har struct {
		Log struct {
			Entries []json.RawMessage `json:"entries"`
		} `json:"log"`
	}
	b, _ := os.ReadFile(harPath)
	if err := json.Unmarshal(b, &har); err != nil || len(har.Log.Entries) != 3 {
		t.Fatalf("exported HAR: %v, %d entries", err, len(har.Log.Entries))
	}

	// Replay the fixture with no server running: ids and bins differ, so
	// ignore them; order 1 now answers differently.
	out, errOut = syncBuffer{}, syncBuffer{}
	err := run(context.Background(), []string{"replay", "--har", harPath, "--target", target.URL, "--ignore", "id", "--ignore", "bin", "--no-headers", "--fail-on-diff"}, env, &out, &errOut)
	if err == nil {
		t.Fatalf("replay with a differing answer exited 0\n%s", out.String())
	}
	if hits.Load() != 3 {
		t.Errorf("target got %d requests, want 3", hits.Load())
	}
	if !strings.Contains(out.String(), "3 replayed") || !strings.Contains(out.String(), "differ") {
		t.Errorf("report:\n%s\n%s", out.String(), errOut.String())
	}

	// Import into a second server: the three orders are there.
	s2 := startServer(t, "--memory")
	out, errOut = syncBuffer{}, syncBuffer{}
	if err := run(context.Background(), []string{"import", "--server", s2.UI, harPath}, env, &out, &errOut); err != nil {
		t.Fatalf("import: %v\n%s", err, errOut.String())
	}
	var l listAnswer
	s2.getJSON(t, "/api/exchanges?limit=10", &l)
	if len(l.Exchanges) != 3 {
		t.Errorf("imported %d exchanges, want 3", len(l.Exchanges))
	}
	_ = io.Discard
}

// TestReplayRefusesOwnAPI: a capture whose sender wrote hooklab's UI
// address as its Host, replayed to its "original URL", is not sent: it
// would drive the API on the developer's click.
func TestReplayRefusesOwnAPI(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	keep := s.send(t, "POST", "/b/iso/x", "text/plain", []byte("keep me"))
	u, _ := url.Parse(s.UI)
	// However the Host names the UI's address: as it is, in capitals,
	// with a 0-padded port, by another loopback name.
	var ids []string
	for _, host := range []string{u.Host, "LOCALHOST:" + u.Port(), "127.0.0.1:0" + u.Port(), "[::ffff:127.0.0.1]:" + u.Port(), "x.localhost:" + u.Port(),
		"127.1:" + u.Port(), "2130706433:" + u.Port(), "0x7f000001:" + u.Port()} {
		req, _ := http.NewRequest("DELETE", s.Capture+"api/exchanges?bin=iso", nil)
		req.Host = host
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var a ack
		_ = json.NewDecoder(resp.Body).Decode(&a)
		resp.Body.Close()
		ids = append(ids, `"`+a.ID+`"`)
	}
	_, b := s.api(t, "POST", "/api/replay", strings.NewReader(`{"ids": [`+strings.Join(ids, ",")+`]}`))
	var run struct{ URL string }
	if err := json.Unmarshal(b, &run); err != nil || run.URL == "" {
		t.Fatalf("start: %v %s", err, b)
	}
	var st struct {
		State   string
		Results []struct{ Outcome, Error string }
	}
	waitFor(t, func() bool { s.getJSON(t, run.URL, &st); return st.State == "done" }, "the run")
	if len(st.Results) != len(ids) {
		t.Errorf("results %+v", st.Results)
	}
	for _, r := range st.Results {
		// (x.localhost and 127.1 fail to resolve where the resolver does
		// not map them to loopback as curl does: not sent either way.)
		if r.Outcome != "failed" || !strings.Contains(r.Error, "hooklab's own API; give a target") && !strings.Contains(r.Error, "no such host") {
			t.Errorf("result %+v", r)
		}
	}
	// A target that is the API, however spelled, is refused up front: every
	// request of the run would be.
	for _, target := range []string{s.UI, "http://LOCALHOST:" + u.Port() + "/x", "http://127.0.0.1:0" + u.Port()} {
		r, b := s.api(t, "POST", "/api/replay", strings.NewReader(`{"ids": [`+ids[0]+`], "target": "`+target+`"}`))
		if r.StatusCode != 400 || !strings.Contains(string(b), "is hooklab's own API") {
			t.Errorf("start with the API %s as target: %d %s, want a 400 saying it is hooklab's own API", target, r.StatusCode, b)
		}
	}
	if r, _ := s.api(t, "GET", "/api/exchanges/"+keep.ID, nil); r.StatusCode != 200 {
		t.Errorf("the bin was cleared by the replay: %d", r.StatusCode)
	}
	// Nor is a curl command for them given, which would do it by hand.
	for _, id := range ids {
		_, b := s.api(t, "GET", "/api/exchanges/"+strings.Trim(id, `"`)+"/curl?reveal=1", nil)
		if !strings.HasPrefix(string(b), "# not given") || strings.Contains(string(b), "\ncurl") {
			t.Errorf("curl of a request claiming the API's Host:\n%s", b)
		}
	}
	if _, b := s.api(t, "GET", "/api/exchanges/"+keep.ID+"/curl", nil); !strings.HasPrefix(string(b), "curl ") {
		t.Errorf("curl of an ordinary capture:\n%s", b)
	}
}

// TestImportBesideAServerRefused: an import that opens a data directory a
// server is serving (no server at HOOKLAB_UI) is refused, saying to import
// through it: the server would neither count the rows (retention) nor make
// their events, and would make some at its next start.
func TestImportBesideAServerRefused(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServer(t, "--data", data)
	s.send(t, "POST", "/b/src/x", "application/json", []byte(`{"a":1}`))
	harPath := filepath.Join(t.TempDir(), "one.har")
	env := func(k string) string {
		return map[string]string{"HOOKLAB_UI": "http://127.0.0.1:1", "HOOKLAB_DATA": data}[k]
	}
	var out, errOut syncBuffer
	if err := run(context.Background(), []string{"export", "--har", harPath}, env, &out, &errOut); err != nil {
		t.Fatalf("export beside the server (read only: allowed): %v\n%s", err, errOut.String())
	}
	err := run(context.Background(), []string{"import", "--bin", "direct", harPath}, env, &out, &errOut)
	if err == nil || !strings.Contains(err.Error(), "a hooklab is serving from "+data) {
		t.Fatalf("import beside the server: %v; want it refused, naming the server", err)
	}
	var l listAnswer
	s.getJSON(t, "/api/exchanges?bin=direct", &l)
	if len(l.Exchanges) != 0 {
		t.Errorf("%d exchanges imported beside the server", len(l.Exchanges))
	}
}

// TestReplayOfAnAnswerTheClientLeft: a proxied answer the client hung up
// on is recorded with what passed (the upstream's answer went on). Its
// replay against the same upstream gets the whole answer: compared as far
// as the recording goes, as a truncated body is, it is the same (found by
// replaying a download stopped with Ctrl-C; an SSE stream closed by the
// browser is one too).
func TestReplayOfAnAnswerTheClientLeft(t *testing.T) {
	t.Parallel()
	body := strings.Repeat("0123456789abcdef", 4096) // 64 KiB
	var hits atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		if hits.Add(1) == 1 { // the recorded one: the client leaves after 1 KiB
			io.WriteString(w, body[:1024])
			w.(http.Flusher).Flush()
			<-r.Context().Done()
			return
		}
		io.WriteString(w, body)
	}))
	defer up.Close()
	s := startServer(t, "--memory", "--proxy", "127.0.0.1:0="+up.URL)
	resp, err := http.Get(proxyURL(t, s, "proxy: ") + "download")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(resp.Body, make([]byte, 1024)); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	_, wb := s.api(t, "GET", "/api/exchanges/wait?source=proxy&after=00000000000000000000000000&timeout=10s", nil)
	var e apiExchange
	if err := json.Unmarshal(wb, &e); err != nil || !strings.HasPrefix(e.Error, "client went away after") {
		t.Fatalf("recorded %v: %s", err, wb)
	}

	_, b := s.api(t, "POST", "/api/replay", strings.NewReader(`{"ids": ["`+e.ID+`"], "target": "`+up.URL+`"}`))
	var run struct{ URL string }
	if err := json.Unmarshal(b, &run); err != nil || run.URL == "" {
		t.Fatalf("start: %v %s", err, b)
	}
	var st struct {
		State   string
		Results []struct {
			Outcome string
			Changes []struct{ Path, Old, New string }
			Notes   []string
		}
	}
	waitFor(t, func() bool { s.getJSON(t, run.URL, &st); return st.State == "done" }, "the run")
	if len(st.Results) != 1 || st.Results[0].Outcome != "same" || len(st.Results[0].Notes) != 1 || !strings.Contains(st.Results[0].Notes[0], "client went away") {
		t.Errorf("replay of the answer the client left: %+v", st.Results)
	}
}

// TestReplayOfAWebsocketHandshakeNotUpgraded: a request asking for a
// websocket that the capture port answered 200 (it never upgrades) replays
// as the plain request it was, without Upgrade and Connection.
func TestReplayOfAWebsocketHandshakeNotUpgraded(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	req, err := http.NewRequest("GET", s.Capture+"b/s/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Upgrade", "websocket")
	req.Header.Set("Connection", "Upgrade")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("capture answered %d", resp.StatusCode)
	}
	var out, errOut syncBuffer
	env := func(string) string { return "" }
	if err := run(context.Background(), []string{"replay", "--server", s.UI, "--bin", "s", "--target", s.Capture, "--ignore", "id", "--ignore", "bin"}, env, &out, &errOut); err != nil {
		t.Fatalf("replay: %v\n%s%s", err, out.String(), errOut.String())
	}
	if !strings.Contains(out.String(), "1 replayed, 1 same") {
		t.Errorf("report:\n%s%s", out.String(), errOut.String())
	}
	// The replay went to the capture port, into bin default.
	_, wb := s.api(t, "GET", "/api/exchanges/wait?bin=default&after=00000000000000000000000000&timeout=10s", nil)
	var e apiExchange
	if err := json.Unmarshal(wb, &e); err != nil || e.ID == "" {
		t.Fatalf("the replay's capture: %v %s", err, wb)
	}
	if e.header("Upgrade") != "" || e.header("Connection") != "" {
		t.Errorf("the replay went with Upgrade %q, Connection %q", e.header("Upgrade"), e.header("Connection"))
	}
}

// TestReplayNothingSaysWhatMatchedNothing: a selection that matches nothing
// says which, through a server and from the data directory alone, and no
// report of nothing comes before the error.
func TestReplayNothingSaysWhatMatchedNothing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := startServer(t, "--data", dir)
	s.send(t, "POST", "/b/s/hook", "application/json", []byte(`{}`))
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the target got %s %s", r.Method, r.URL)
	}))
	defer target.Close()
	env := func(k string) string {
		if k == "HOOKLAB_DATA" {
			return dir
		}
		return ""
	}
	replayNothing := func(server string, args ...string) (string, error) {
		t.Helper()
		var out, errOut syncBuffer
		err := run(context.Background(), append([]string{"replay", "--server", server, "--target", target.URL}, args...), env, &out, &errOut)
		if out.String() != "" {
			t.Errorf("replay %s (server %s) printed %q before its error", args, server, out.String())
		}
		return fmt.Sprint(err), err
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bin", "nobin"}, "nothing to replay: no exchange matches bin=nobin"},
		{[]string{"--bin", "s", "--method", "GET", "--q", "two words"}, `nothing to replay: no exchange matches bin=s method=GET q="two words"`},
	} {
		// Through the server, then (once it has stopped) from its data
		// directory, with nothing listening at --server.
		if msg, err := replayNothing(s.UI, tc.args...); err == nil || !strings.Contains(msg, tc.want) {
			t.Errorf("replay %s through the server: %s, want it to hold %q", tc.args, msg, tc.want)
		}
	}
	s.Stop(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--bin", "nobin"}, "nothing to replay: no exchange matches bin=nobin"},
		{[]string{"--path", "/nowhere"}, "nothing to replay: no exchange matches path=/nowhere"},
	} {
		if msg, err := replayNothing("http://127.0.0.1:1", tc.args...); err == nil || !strings.Contains(msg, tc.want) {
			t.Errorf("replay %s offline: %s, want it to hold %q", tc.args, msg, tc.want)
		}
	}
	empty := filepath.Join(dir, "empty.har")
	if err := os.WriteFile(empty, []byte(`{"log": {"version": "1.2", "creator": {"name": "x", "version": "1"}, "entries": []}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if msg, err := replayNothing("http://127.0.0.1:1", "--har", empty); err == nil || !strings.Contains(msg, "nothing to replay: the HAR file has no entries") {
		t.Errorf("replay of a HAR file without entries: %s", msg)
	}
}

// TestReplayEmittedEndpointQuerySecretRedacted: replaying a delivery of a
// webhook whose endpoint carries a secret in its query (?api_key=) sends
// the value, and shows it REDACTED wherever the delivery's exchange does:
// the command's output, the run's results in the API, and the replay's
// exchange (revealed too, as it is recorded without it). They all showed
// the endpoint's key.
func TestReplayEmittedEndpointQuerySecretRedacted(t *testing.T) {
	t.Parallel()
	const secret = "RQSECRET456"
	uris := make(chan string, 8)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		uris <- r.RequestURI
	}))
	defer sink.Close()
	s := startServer(t, "--memory")
	sentURI := "/hooks/q?api_key=" + secret + "&page=2"
	s.mustPost(t, "/api/webhooks", `{"id": "rq", "endpoint": "`+sink.URL+sentURI+`"}`, http.StatusCreated)
	test := s.mustPost(t, "/api/webhooks/rq/test", `{}`, http.StatusOK)
	var tr struct {
		ExchangeID string `json:"exchange_id"`
	}
	if err := json.Unmarshal(test, &tr); err != nil || tr.ExchangeID == "" {
		t.Fatalf("test result %s: %v", test, err)
	}
	// received is the next request the sink got, failing (rather than
	// hanging) when none comes.
	received := func(what string) string {
		t.Helper()
		select {
		case u := <-uris:
			return u
		case <-time.After(time.Minute):
			t.Fatalf("%s never reached the endpoint", what)
			return ""
		}
	}
	if u := received("the test send"); u != sentURI {
		t.Fatalf("the test send went to %s", u)
	}
	noSecret := func(what string, b []byte) {
		t.Helper()
		if strings.Contains(string(b), secret) || !strings.Contains(string(b), "api_key=REDACTED") {
			t.Errorf("%s does not show the endpoint's api_key REDACTED: %s", what, b)
		}
	}

	for _, format := range []string{"-v", "--json"} {
		var out, errOut syncBuffer
		if err := run(context.Background(), []string{"replay", "--server", s.UI, "--bin", "rq", format},
			func(string) string { return "" }, &out, &errOut); err != nil {
			t.Fatalf("replay %s: %v\n%s", format, err, errOut.String())
		}
		if u := received("hooklab replay " + format); u != sentURI {
			t.Errorf("the replay went to %s, want %s", u, sentURI)
		}
		noSecret("hooklab replay "+format, []byte(out.String()+errOut.String()))
	}

	started := s.mustPost(t, "/api/replay", `{"ids": ["`+tr.ExchangeID+`"]}`, http.StatusAccepted)
	var st struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(started, &st); err != nil {
		t.Fatal(err)
	}
	if u := received("the API's replay"); u != sentURI {
		t.Errorf("the API's replay went to %s, want %s", u, sentURI)
	}
	var runBody []byte
	waitFor(t, func() bool {
		_, runBody = s.api(t, "GET", "/api/replay/"+st.ID, nil)
		return strings.Contains(string(runBody), `"state":"done"`)
	}, "the run to end")
	noSecret("GET /api/replay/{run}", runBody)

	var l listAnswer
	s.getJSON(t, "/api/exchanges?source=replay", &l)
	if len(l.Exchanges) != 3 {
		t.Fatalf("replay records: %+v", l.Exchanges)
	}
	_, b := s.api(t, "GET", "/api/exchanges?source=replay", nil)
	noSecret("GET /api/exchanges", b)
	for _, p := range []string{"/api/exchanges/" + l.Exchanges[0].ID, "/api/exchanges/" + l.Exchanges[0].ID + "?reveal=1", "/api/export.har?source=replay&keep_secrets=1"} {
		_, b := s.api(t, "GET", p, nil)
		noSecret(p, b)
	}
}

// TestImportFileErrorThroughServer: a HAR file the server refuses (an
// entry no HTTP message could carry) is said as the file's fault, with
// its name, as a local import says it: it was "server: HAR entry 1 ...
// (400)", as if the server had failed.
func TestImportFileErrorThroughServer(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	harPath := filepath.Join(t.TempDir(), "bad.har")
	bad := `{"log": {"version": "1.2", "creator": {"name": "t", "version": "1"}, "entries": [` +
		`{"startedDateTime": "2026-01-02T03:04:05Z", "time": 1, "request": {"method": "GET", "url": "ftp://files.example/x", "httpVersion": "HTTP/1.1", "headers": [], "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},` +
		` "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "headers": [], "cookies": [], "content": {"size": 0, "mimeType": "text/plain"}, "redirectURL": "", "headersSize": -1, "bodySize": 0}, "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}]}}`
	if err := os.WriteFile(harPath, []byte(bad), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"import", "--server", s.UI, harPath}, func(string) string { return "" }, &out, &errOut)
	// The same file imported with no server, into a data directory.
	local := run(context.Background(), []string{"import", harPath}, func(k string) string {
		return map[string]string{"HOOKLAB_UI": "http://127.0.0.1:1", "HOOKLAB_DATA": t.TempDir()}[k]
	}, &out, &errOut)
	if err == nil || local == nil {
		t.Fatalf("import of a bad file: through the server %v, locally %v; want both refused", err, local)
	}
	if !strings.HasPrefix(err.Error(), harPath+": HAR entry 1 ") || strings.Contains(err.Error(), "server") || strings.Contains(err.Error(), "(400)") {
		t.Errorf("through the server: %q, want the file's error, %s: HAR entry 1 ...", err, harPath)
	}
	if err.Error() != local.Error() {
		t.Errorf("through the server: %q\nlocally:            %q\nwant the same", err, local)
	}
}

// TestReplayRefusedAsLocally: what a server refuses with a 400 (nothing
// matches the flags) is said as a run without a server says it: it was
// "server: invalid input: ... (400)", as if the server had failed.
func TestReplayRefusedAsLocally(t *testing.T) {
	t.Parallel()
	s := startServer(t, "--memory")
	var out, errOut syncBuffer
	err := run(context.Background(), []string{"replay", "--server", s.UI, "--bin", "nothing-here", "--target", "http://127.0.0.1:1"},
		func(string) string { return "" }, &out, &errOut)
	// The same run with no server, over a data directory one left.
	data := t.TempDir()
	startServer(t, "--data", data).Stop(t)
	local := run(context.Background(), []string{"replay", "--bin", "nothing-here", "--target", "http://127.0.0.1:1"}, func(k string) string {
		return map[string]string{"HOOKLAB_UI": "http://127.0.0.1:1", "HOOKLAB_DATA": data}[k]
	}, &out, &errOut)
	const want = "invalid input: nothing to replay: no exchange matches bin=nothing-here"
	if err == nil || local == nil || err.Error() != want || local.Error() != want {
		t.Errorf("through the server: %v\nlocally: %v\nwant both %q", err, local, want)
	}
}

// TestReplayTargetQuerySecretRedacted: a replay to a target given with a
// secret in its query (--target 'http://HOST/?api_key=...') sends the
// value, and shows it REDACTED wherever the run shows where it went: the
// command's output (-v and --json), the run's target and results (GET
// /api/replay and /api/replay/{run}), and the replays' exchanges (list,
// revealed, HAR export with keep_secrets: recorded so). They showed it,
// but for a password.
func TestReplayTargetQuerySecretRedacted(t *testing.T) {
	t.Parallel()
	const secret = "RTSECRET789"
	uris := make(chan string, 8)
	sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		uris <- r.RequestURI
	}))
	defer sink.Close()
	s := startServer(t, "--memory")
	resp, err := http.Post(s.Capture+"b/rt/orders?page=2", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	target := sink.URL + "/?api_key=" + secret
	const sentURI = "/orders?page=2&api_key=" + secret
	noSecret := func(what string, b []byte) {
		t.Helper()
		if strings.Contains(string(b), secret) || !strings.Contains(string(b), "api_key=REDACTED") {
			t.Errorf("%s does not show the target's api_key REDACTED: %s", what, b)
		}
	}

	for _, format := range []string{"-v", "--json"} {
		var out, errOut syncBuffer
		if err := run(context.Background(), []string{"replay", "--server", s.UI, "--bin", "rt", "--target", target, format},
			func(string) string { return "" }, &out, &errOut); err != nil {
			t.Fatalf("replay %s: %v\n%s", format, err, errOut.String())
		}
		if u := <-uris; u != sentURI {
			t.Errorf("the replay went to %s, want %s", u, sentURI)
		}
		noSecret("hooklab replay "+format, []byte(out.String()+errOut.String()))
	}

	started := s.mustPost(t, "/api/replay", `{"filter": {"bin": "rt", "source": "capture"}, "target": "`+target+`"}`, http.StatusAccepted)
	var st struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(started, &st); err != nil || st.ID == "" {
		t.Fatalf("POST /api/replay: %s (%v)", started, err)
	}
	if strings.Contains(string(started), secret) {
		t.Errorf("POST /api/replay shows the target's api_key: %s", started)
	}
	if u := <-uris; u != sentURI {
		t.Errorf("the API's replay went to %s, want %s", u, sentURI)
	}
	var runBody []byte
	waitFor(t, func() bool {
		_, runBody = s.api(t, "GET", "/api/replay/"+st.ID, nil)
		return strings.Contains(string(runBody), `"state":"done"`)
	}, "the run to end")
	noSecret("GET /api/replay/{run}", runBody)
	if !strings.Contains(string(runBody), `"target":"`+sink.URL+`/?api_key=REDACTED"`) {
		t.Errorf("GET /api/replay/{run}: want the target with api_key=REDACTED: %s", runBody)
	}
	_, b := s.api(t, "GET", "/api/replay", nil)
	noSecret("GET /api/replay", b)

	var l listAnswer
	s.getJSON(t, "/api/exchanges?source=replay", &l)
	if len(l.Exchanges) != 3 {
		t.Fatalf("replay records: %+v", l.Exchanges)
	}
	_, b = s.api(t, "GET", "/api/exchanges?source=replay", nil)
	noSecret("GET /api/exchanges", b)
	for _, p := range []string{"/api/exchanges/" + l.Exchanges[0].ID, "/api/exchanges/" + l.Exchanges[0].ID + "?reveal=1", "/api/export.har?source=replay&keep_secrets=1"} {
		_, b := s.api(t, "GET", p, nil)
		noSecret(p, b)
	}
}
