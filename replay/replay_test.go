package replay

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hooklab/hooklab/inspect"
)

// received is what a target got, byte for byte.
type received struct {
	Method, RequestURI, Host string
	Header                   http.Header
	Body                     []byte
	ContentLength            int64
}

// target is a real HTTP server that keeps what it received and answers
// with answer (200 {"ok":true} when nil).
type target struct {
	*httptest.Server
	mu     sync.Mutex
	got    []received
	answer func(w http.ResponseWriter, r *http.Request, body []byte)
}

func newTarget(t *testing.T, answer func(w http.ResponseWriter, r *http.Request, body []byte)) *target {
	t.Helper()
	tg := &target{answer: answer}
	tg.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		tg.mu.Lock()
		tg.got = append(tg.got, received{r.Method, r.RequestURI, r.Host, r.Header.Clone(), body, r.ContentLength})
		tg.mu.Unlock()
		if tg.answer != nil {
			tg.answer(w, r, body)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}))
	t.Cleanup(tg.Close)
	return tg
}

func (tg *target) received() []received {
	tg.mu.Lock()
	defer tg.mu.Unlock()
	return append([]received(nil), tg.got...)
}

var t0 = time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)

// capture returns an exchange as the capture endpoint records one.
func capture(id, method, rawURL string, hdrs inspect.Headers, body []byte, resp *inspect.Response) *inspect.Exchange {
	return &inspect.Exchange{
		ID: id, Bin: "stripe", Source: inspect.SourceCapture, Time: t0,
		Request: inspect.Request{Method: method, URL: rawURL, Proto: "HTTP/1.1", Host: "127.0.0.1:8080",
			Headers: append(inspect.Headers{{Name: "Host", Value: "127.0.0.1:8080"}}, hdrs...), Body: body, Size: int64(len(body))},
		Response: resp,
	}
}

func okResp() *inspect.Response {
	return &inspect.Response{Status: 200, Headers: inspect.Headers{{Name: "Content-Type", Value: "application/json"}}, Body: []byte(`{"ok":true}`), Size: 11}
}

func allBytes() []byte {
	b := make([]byte, 512)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func multipartBody() []byte {
	var b bytes.Buffer
	b.WriteString("--b0undary\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhéllo\r\n")
	b.WriteString("--b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"blob.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n")
	b.Write(allBytes())
	b.WriteString("\r\n--b0undary--\r\n")
	return b.Bytes()
}

func TestReplaySendsRecordedBytes(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	exs := []*inspect.Exchange{
		capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/hooks?x=1",
			inspect.Headers{{Name: "Content-Type", Value: "application/json"}, {Name: "Stripe-Signature", Value: "t=1700000000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd"},
				{Name: "Connection", Value: "keep-alive, X-Hop"}, {Name: "X-Hop", Value: "drop me"}, {Name: "Content-Length", Value: "31"}, {Name: "Keep-Alive", Value: "timeout=5"},
				{Name: "X-Multi", Value: "one"}, {Name: "X-Multi", Value: "two"}},
			[]byte(`{"type":"invoice.paid","n":1}`+"\n\x00"), okResp()),
		capture("01JNB5Z3Q0000000000000000B", "PUT", "http://127.0.0.1:8080/b/stripe/files/a%2Fb?name=x%20y&z=%2F",
			inspect.Headers{{Name: "Content-Type", Value: "application/octet-stream"}, {Name: "User-Agent", Value: "uploader/2"}}, allBytes(), okResp()),
		capture("01JNB5Z3Q0000000000000000C", "POST", "http://127.0.0.1:8080/b/stripe/upload",
			inspect.Headers{{Name: "Content-Type", Value: "multipart/form-data; boundary=b0undary"}, {Name: "Transfer-Encoding", Value: "chunked"}}, multipartBody(), okResp()),
		capture("01JNB5Z3Q0000000000000000D", "GET", "http://127.0.0.1:8080/b/stripe", nil, nil, okResp()),
		// Bytes Go would escape again (|, {, ", é) or decode (%41): as
		// recorded (a signed URL breaks otherwise).
		capture("01JNB5Z3Q0000000000000000E", "GET", `http://127.0.0.1:8080/b/stripe/weird|pipe/{b}/"q"/%41/é?b=|&c={x}`, nil, nil, okResp()),
		// A space no request line may hold (a hand-written HAR's URL):
		// escaped, as it was before the bytes above went as recorded.
		capture("01JNB5Z3Q0000000000000000F", "GET", `http://127.0.0.1:8080/b/stripe/my file.txt`, nil, nil, okResp()),
	}
	var recorded []*inspect.Exchange
	var mu sync.Mutex
	rep, err := Run(context.Background(), exs, Options{
		Target: tg.URL + "/app/",
		Record: func(_ context.Context, ex *inspect.Exchange) error {
			mu.Lock()
			recorded = append(recorded, ex)
			mu.Unlock()
			return nil
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary != (Summary{Replayed: 6, Same: 6}) || rep.Summary.String() != "6 replayed, 6 same, 0 differ, 0 failed" {
		t.Errorf("summary %+v", rep.Summary)
	}
	got := tg.received()
	if len(got) != 6 {
		t.Fatalf("target got %d requests", len(got))
	}
	host := strings.TrimPrefix(tg.URL, "http://")
	wantURI := []string{"/app/hooks?x=1", "/app/files/a%2Fb?name=x%20y&z=%2F", "/app/upload", "/app/", `/app/weird|pipe/{b}/"q"/%41/é?b=|&c={x}`, "/app/my%20file.txt"}
	for i, g := range got {
		ex := exs[i]
		if g.Method != ex.Request.Method || g.RequestURI != wantURI[i] || g.Host != host {
			t.Errorf("%d: %s %s host %s", i, g.Method, g.RequestURI, g.Host)
		}
		if !bytes.Equal(g.Body, ex.Request.Body) || g.ContentLength != int64(len(ex.Request.Body)) {
			t.Errorf("%d: body %q (length %d), want %q", i, g.Body, g.ContentLength, ex.Request.Body)
		}
		// Every recorded header but the hop-by-hop ones, Host and
		// Content-Length, with values as recorded; nothing added but
		// Content-Length (and, with no User-Agent recorded, none sent).
		want := http.Header{}
		for _, h := range ex.Request.Headers {
			switch strings.ToLower(h.Name) {
			case "host", "connection", "keep-alive", "x-hop", "content-length", "transfer-encoding":
				continue
			}
			want[http.CanonicalHeaderKey(h.Name)] = append(want[http.CanonicalHeaderKey(h.Name)], h.Value)
		}
		if len(ex.Request.Body) > 0 {
			want.Set("Content-Length", fmt.Sprint(len(ex.Request.Body)))
		}
		if d := cmp.Diff(want, g.Header); d != "" {
			t.Errorf("%d: headers (-want +got):\n%s", i, d)
		}
	}
	if len(recorded) != 6 {
		t.Fatalf("%d recorded", len(recorded))
	}
	byOrig := map[string]*inspect.Exchange{}
	for _, r := range recorded {
		byOrig[r.ReplayOf] = r
	}
	for i, ex := range exs {
		r := byOrig[ex.ID]
		if r == nil || r.Source != inspect.SourceReplay || r.Bin != "stripe" || !inspect.ValidID(r.ID) {
			t.Fatalf("%d: recorded %+v", i, r)
		}
		if r.Request.URL != tg.URL+wantURI[i] || !bytes.Equal(r.Request.Body, ex.Request.Body) || r.Response == nil || r.Response.Status != 200 {
			t.Errorf("%d: recorded request %s body %d bytes, response %+v", i, r.Request.URL, len(r.Request.Body), r.Response)
		}
		if r.Request.Headers[0].Name != "Host" || r.Request.Headers[0].Value != host {
			t.Errorf("%d: recorded headers %v", i, r.Request.Headers)
		}
		if rep.Results[i].Replay != r.ID || rep.Results[i].Original != ex.ID || rep.Results[i].Outcome != Same {
			t.Errorf("%d: result %+v", i, rep.Results[i])
		}
	}
}

func TestReplayOriginalURL(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	ex := capture("01JNB5Z3Q0000000000000000A", "DELETE", tg.URL+"/b/stripe/items/7?hard=1", nil, nil, okResp())
	rep, err := Run(context.Background(), []*inspect.Exchange{ex}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := tg.received()
	// Without a target the URL is sent as recorded, bin prefix and all.
	if len(got) != 1 || got[0].Method != "DELETE" || got[0].RequestURI != "/b/stripe/items/7?hard=1" || rep.Results[0].URL != tg.URL+"/b/stripe/items/7?hard=1" {
		t.Errorf("got %+v, result %+v", got, rep.Results[0])
	}
}

// TestReplayTargetDropsRecordedBin: a capture sent to /b/NAME/... goes to
// the target without /b/NAME whatever bin it is in now: one imported into
// another bin (import --bin imp) went to TARGET/b/stripe/hooks.
func TestReplayTargetDropsRecordedBin(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	moved := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/hooks?x=1", nil, nil, okResp())
	moved.Bin = "imp"
	// Not a bin's path (no valid bin name, or not at the start): kept.
	odd := capture("01JNB5Z3Q0000000000000000B", "GET", "http://127.0.0.1:8080/b/bad.name/x", nil, nil, okResp())
	odd.Bin = "default"
	deep := capture("01JNB5Z3Q0000000000000000C", "GET", "http://127.0.0.1:8080/api/b/stripe/x", nil, nil, okResp())
	deep.Bin = "default"
	if _, err := Run(context.Background(), []*inspect.Exchange{moved, odd, deep}, Options{Target: tg.URL}); err != nil {
		t.Fatal(err)
	}
	var uris []string
	for _, g := range tg.received() {
		uris = append(uris, g.RequestURI)
	}
	slices.Sort(uris)
	if want := []string{"/api/b/stripe/x", "/b/bad.name/x", "/hooks?x=1"}; !slices.Equal(uris, want) {
		t.Errorf("target got %q, want %q", uris, want)
	}
}

// TestReplayUpstreamLocation: a redirect the reverse proxy gave back in its
// own terms (meta.upstream_location holds the upstream's) is the same as
// the upstream's answer to a replay sent to it; another Location differs.
func TestReplayUpstreamLocation(t *testing.T) {
	t.Parallel()
	const orig = "http://upstream.test:3000/login"
	var loc atomic.Value
	loc.Store(orig)
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Location", loc.Load().(string))
		w.WriteHeader(http.StatusFound)
	})
	ex := capture("01JNB5Z3Q0000000000000000A", "GET", "http://127.0.0.1:9000/app/account", nil, nil,
		&inspect.Response{Status: 302, Headers: inspect.Headers{{Name: "Location", Value: "http://127.0.0.1:9000/app/login"}}})
	ex.Source, ex.Meta = inspect.SourceProxy, map[string]any{"upstream_location": orig}
	rep, err := Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: tg.URL})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[0]; r.Outcome != Same {
		t.Errorf("the upstream's own Location: %s %+v", r.Outcome, r.Changes)
	}
	loc.Store("http://upstream.test:3000/elsewhere")
	rep, err = Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: tg.URL})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[0]; r.Outcome != Differ || len(r.Changes) != 1 || r.Changes[0].Path != "header Location" || r.Changes[0].Old != "http://127.0.0.1:9000/app/login" {
		t.Errorf("another Location: %s %+v", r.Outcome, r.Changes)
	}
}

// TestReplayTargetQuery: a target's query is added to each request's
// query (the recorded one, or the one --set-path gives), which goes first
// as it was recorded.
func TestReplayTargetQuery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, url string
		override  Overrides
		wantURI   string
	}{
		{name: "both", url: "http://127.0.0.1:8080/b/stripe/echo/w1?x=1", wantURI: "/p/echo/w1?x=1&k=v&k=w"},
		{name: "only the target's", url: "http://127.0.0.1:8080/b/stripe/echo/w1", wantURI: "/p/echo/w1?k=v&k=w"},
		{name: "a set path's", url: "http://127.0.0.1:8080/b/stripe/echo/w1?x=1", override: Overrides{Path: "/v2/hooks?y=2"}, wantURI: "/v2/hooks?y=2&k=v&k=w"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, nil)
			ex := capture("01JNB5Z3Q0000000000000000A", "POST", tc.url, nil, []byte(`{}`), okResp())
			rep, err := Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: tg.URL + "/p/?k=v&k=w", Override: tc.override})
			if err != nil {
				t.Fatal(err)
			}
			got := tg.received()
			if len(got) != 1 || got[0].RequestURI != tc.wantURI || rep.Results[0].URL != tg.URL+tc.wantURI {
				t.Errorf("got %+v, result %+v, want %s", got, rep.Results[0], tc.wantURI)
			}
		})
	}
}

func TestReplayOverrides(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name       string
		override   Overrides
		strip      string
		wantMethod string
		wantURI    string
		wantBody   string
		check      func(t *testing.T, h http.Header)
	}{
		{name: "set and remove headers", override: Overrides{
			SetHeaders:    inspect.Headers{{Name: "x-version", Value: "2"}, {Name: "X-New", Value: "n"}},
			RemoveHeaders: []string{"X-SECRET"}},
			wantMethod: "POST", wantURI: "/hooks?x=1", wantBody: `{"a":1}`,
			check: func(t *testing.T, h http.Header) {
				if h.Values("X-Version")[0] != "2" || len(h.Values("X-Version")) != 1 || h.Get("X-New") != "n" || h.Get("X-Secret") != "" || h.Get("Content-Type") != "application/json" {
					t.Errorf("headers %v", h)
				}
			}},
		{name: "replace body", override: Overrides{Body: []byte{0xff, 0x00}, SetBody: true},
			wantMethod: "POST", wantURI: "/hooks?x=1", wantBody: "\xff\x00"},
		{name: "empty body", override: Overrides{SetBody: true},
			wantMethod: "POST", wantURI: "/hooks?x=1", wantBody: "",
			check: func(t *testing.T, h http.Header) {
				if h.Get("Content-Length") != "0" && h.Get("Content-Length") != "" {
					t.Errorf("content-length %q", h.Get("Content-Length"))
				}
			}},
		{name: "method and path", override: Overrides{Method: "put", Path: "/v2/hooks"},
			wantMethod: "PUT", wantURI: "/v2/hooks?x=1", wantBody: `{"a":1}`},
		{name: "path with query", override: Overrides{Path: "/v2/hooks?y=2&z=%20"},
			wantMethod: "POST", wantURI: "/v2/hooks?y=2&z=%20", wantBody: `{"a":1}`},
		{name: "strip prefix", strip: "/hooks",
			wantMethod: "POST", wantURI: "/?x=1", wantBody: `{"a":1}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tg := newTarget(t, nil)
			ex := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/b/stripe/hooks?x=1",
				inspect.Headers{{Name: "Content-Type", Value: "application/json"}, {Name: "X-Version", Value: "1"}, {Name: "X-Version", Value: "1b"}, {Name: "X-Secret", Value: "s"}},
				[]byte(`{"a":1}`), okResp())
			rep, err := Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: tg.URL, Override: tc.override, StripPrefix: tc.strip})
			if err != nil {
				t.Fatal(err)
			}
			got := tg.received()
			if len(got) != 1 {
				t.Fatalf("result %+v", rep.Results)
			}
			if got[0].Method != tc.wantMethod || got[0].RequestURI != tc.wantURI || string(got[0].Body) != tc.wantBody {
				t.Errorf("got %s %s %q", got[0].Method, got[0].RequestURI, got[0].Body)
			}
			if tc.check != nil {
				tc.check(t, got[0].Header)
			}
		})
	}
}

func TestReplayBadOptions(t *testing.T) {
	t.Parallel()
	ex := capture("01JNB5Z3Q0000000000000000A", "GET", "http://127.0.0.1:8080/", nil, nil, okResp())
	for _, tc := range []struct {
		name string
		opts Options
	}{
		{"target not a URL", Options{Target: "127.0.0.1:3000"}},
		{"pace", Options{Pace: "slow"}},
		{"resign without signing", Options{Resign: true}},
		{"method", Options{Override: Overrides{Method: "GE T"}}},
		{"header", Options{Override: Overrides{SetHeaders: inspect.Headers{{Name: "Bad Name", Value: "x"}}}}},
		{"path", Options{Override: Overrides{Path: "relative"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			if _, err := Run(context.Background(), []*inspect.Exchange{ex}, tc.opts); !errors.Is(err, inspect.ErrInvalid) {
				t.Errorf("err %v", err)
			}
		})
	}
	if _, err := Run(context.Background(), nil, Options{}); !errors.Is(err, ErrNothing) {
		t.Errorf("empty run: %v", err)
	}
}

func TestReplayResign(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	emitted := &inspect.Exchange{
		ID: "01JNB5Z3Q0000000000000000E", Bin: "default", Source: inspect.SourceEmit, Time: t0,
		Request: inspect.Request{Method: "POST", URL: "http://127.0.0.1:3000/webhook", Body: []byte(`{"e":1}`), Size: 7,
			Headers: inspect.Headers{{Name: "Webhook-Id", Value: "msg_1"}, {Name: "Webhook-Timestamp", Value: "1700000000"}, {Name: "Webhook-Signature", Value: "v1,old"}}},
		Response: okResp(),
	}
	captured := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/x", inspect.Headers{{Name: "Webhook-Signature", Value: "v1,captured"}}, []byte("{}"), okResp())
	var calls atomic.Int32
	resign := func(ex *inspect.Exchange) (Resigned, error) {
		calls.Add(1)
		if ex.ID != emitted.ID || string(ex.Request.Body) != `{"e":2}` {
			return Resigned{}, fmt.Errorf("resign got %s %q", ex.ID, ex.Request.Body)
		}
		return Resigned{Signature: http.Header{"Webhook-Timestamp": {"1772359200"}, "Webhook-Signature": {"v1,fresh"}}}, nil
	}
	rep, err := Run(context.Background(), []*inspect.Exchange{emitted, captured}, Options{
		Target: tg.URL, Resign: true, ResignFunc: resign,
		Override: Overrides{Body: []byte(`{"e":2}`), SetBody: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := tg.received()
	if len(got) != 2 || calls.Load() != 1 {
		t.Fatalf("got %d requests, %d resign calls; results %+v", len(got), calls.Load(), rep.Results)
	}
	if h := got[0].Header; h.Get("Webhook-Signature") != "v1,fresh" || h.Get("Webhook-Timestamp") != "1772359200" || h.Get("Webhook-Id") != "msg_1" {
		t.Errorf("emitted headers %v", h)
	}
	if h := got[1].Header; h.Get("Webhook-Signature") != "v1,captured" {
		t.Errorf("a capture was re-signed: %v", h)
	}

	failing := func(*inspect.Exchange) (Resigned, error) { return Resigned{}, errors.New("webhook w1 is gone") }
	rep, err = Run(context.Background(), []*inspect.Exchange{emitted}, Options{Target: tg.URL, Resign: true, ResignFunc: failing})
	if err != nil || rep.Results[0].Outcome != Failed || !strings.Contains(rep.Results[0].Error, "webhook w1 is gone") {
		t.Errorf("failing resign: %v %+v", err, rep.Results)
	}
}

// TestReplayNotesRedactedHeaders: a request that goes out with headers
// holding the redaction placeholder (an emitted webhook's credentials,
// replayed without resigning) says so in its result, naming them; those
// resigning or overrides replace are not named.
func TestReplayNotesRedactedHeaders(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	emitted := &inspect.Exchange{
		ID: "01JNB5Z3Q0000000000000000E", Bin: "default", Source: inspect.SourceEmit, Time: t0,
		Request: inspect.Request{Method: "POST", URL: "http://127.0.0.1:3000/webhook", Body: []byte(`{}`), Size: 2,
			Headers: inspect.Headers{{Name: "Authorization", Value: inspect.Redacted}, {Name: "X-Api-Key", Value: inspect.Redacted}, {Name: "Cookie", Value: "a=" + inspect.Redacted}}},
		Response: okResp(),
	}
	resign := func(*inspect.Exchange) (Resigned, error) {
		return Resigned{Credentials: http.Header{"Authorization": {"Bearer real"}}}, nil
	}
	for _, tc := range []struct {
		name string
		opts Options
		want []string
	}{
		{"as recorded", Options{}, []string{"Authorization", "X-Api-Key", "Cookie"}},
		{"resigned", Options{Resign: true, ResignFunc: resign}, []string{"X-Api-Key", "Cookie"}},
		{"overridden", Options{Resign: true, ResignFunc: resign, Override: Overrides{SetHeaders: inspect.Headers{{Name: "X-Api-Key", Value: "k"}}, RemoveHeaders: []string{"cookie"}}}, nil},
	} {
		tc.opts.Target = tg.URL
		rep, err := Run(context.Background(), []*inspect.Exchange{emitted}, tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		r := rep.Results[0]
		if !slices.Equal(r.Redacted, tc.want) {
			t.Errorf("%s: redacted %q, want %q", tc.name, r.Redacted, tc.want)
		}
		note := slices.ContainsFunc(r.Notes, func(n string) bool { return strings.Contains(n, "went out as "+inspect.Redacted) })
		if note != (len(tc.want) > 0) || note && !strings.Contains(strings.Join(r.Notes, "\n"), strings.Join(tc.want, ", ")) {
			t.Errorf("%s: notes %q, want them to name %q", tc.name, r.Notes, tc.want)
		}
	}
}

// TestReplayResignRecordsNewCredentialsRedacted: a webhook whose
// authentication changed since the delivery (bearer, now an API key under
// a name that does not say it is secret) is replayed with the new key,
// which the replay's record shows redacted.
func TestReplayResignRecordsNewCredentialsRedacted(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	emitted := &inspect.Exchange{
		ID: "01JNB5Z3Q0000000000000000E", Bin: "default", Source: inspect.SourceEmit, Time: t0,
		Request: inspect.Request{Method: "POST", URL: "http://127.0.0.1:3000/webhook", Body: []byte(`{}`), Size: 2,
			Headers: inspect.Headers{{Name: "Authorization", Value: inspect.Redacted}}},
		Response: okResp(),
	}
	resign := func(*inspect.Exchange) (Resigned, error) {
		return Resigned{Credentials: http.Header{"X-Partner-Key": {"SECOND-s3cret"}}}, nil
	}
	var rc recorder
	record := rc.record
	if _, err := Run(context.Background(), []*inspect.Exchange{emitted}, Options{Target: tg.URL, Resign: true, ResignFunc: resign, Record: record}); err != nil {
		t.Fatal(err)
	}
	if got := tg.received(); len(got) != 1 || got[0].Header.Get("X-Partner-Key") != "SECOND-s3cret" {
		t.Fatalf("the target got %v, want the new key", got)
	}
	recorded := rc.all()
	if len(recorded) != 1 {
		t.Fatalf("recorded %d replays", len(recorded))
	}
	if v := recorded[0].Request.Headers.Get("X-Partner-Key"); v != inspect.Redacted {
		t.Errorf("the replay's record shows X-Partner-Key %q, want %s", v, inspect.Redacted)
	}
}

// TestReplayWebsocketHandshakeIsNotSent: a recorded websocket handshake
// that was upgraded (101) fails with the reason, rather than go out without
// its upgrade and be reported as a difference. One that was not upgraded
// (the capture port answers 200) was a plain request and goes as one,
// without the hop-by-hop Upgrade and Connection.
func TestReplayWebsocketHandshakeIsNotSent(t *testing.T) {
	t.Parallel()
	hdrs := inspect.Headers{{Name: "Connection", Value: "Upgrade"}, {Name: "Upgrade", Value: "websocket"}, {Name: "Sec-Websocket-Version", Value: "13"}}
	upgraded := &inspect.Response{Status: 101, Headers: inspect.Headers{{Name: "Connection", Value: "Upgrade"}, {Name: "Upgrade", Value: "websocket"}}}

	tg := newTarget(t, nil)
	ex := capture("01JNB5Z3Q0000000000000000A", "GET", "http://127.0.0.1:8080/ws", hdrs, nil, upgraded)
	rep, err := Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: tg.URL})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[0]; r.Outcome != Failed || !strings.Contains(r.Error, "websocket handshake is not replayed") || len(tg.received()) != 0 {
		t.Errorf("upgraded: result %+v, target got %d", r, len(tg.received()))
	}

	ex = capture("01JNB5Z3Q0000000000000000B", "GET", "http://127.0.0.1:8080/ws", hdrs, nil, okResp())
	rep, err = Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: tg.URL})
	if err != nil {
		t.Fatal(err)
	}
	got := tg.received()
	if r := rep.Results[0]; r.Outcome != Same || len(got) != 1 {
		t.Fatalf("answered 200: result %+v, target got %d", r, len(got))
	}
	if h := got[0].Header; h.Get("Upgrade") != "" || h.Get("Connection") != "" || h.Get("Sec-Websocket-Version") != "13" {
		t.Errorf("answered 200: the target got headers %v, want no Upgrade or Connection and the rest as recorded", h)
	}
}

// TestReplayTunnelIsNotSent: a CONNECT tunnel the forward proxy recorded
// fails with the reason, like a websocket handshake, rather than go to the
// target as a CONNECT request and be diffed against the tunnel's answer.
func TestReplayTunnelIsNotSent(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	ex := capture("01JNB5Z3Q0000000000000000A", "CONNECT", "https://api.example.com:443", nil, nil, &inspect.Response{Status: 200})
	ex.Source = inspect.SourceProxy
	ex.Meta = map[string]any{"tunnel": map[string]any{"host": "api.example.com:443", "bytes_up": 517, "bytes_down": 4096, "tls": true}}
	for _, opts := range []Options{{Target: tg.URL}, {Target: tg.URL, Override: Overrides{Method: "GET"}}} {
		rep, err := Run(context.Background(), []*inspect.Exchange{ex}, opts)
		if err != nil {
			t.Fatal(err)
		}
		if r := rep.Results[0]; r.Outcome != Failed || !strings.Contains(r.Error, "CONNECT tunnel is not replayed") {
			t.Errorf("method %q: result %+v", opts.Override.Method, r)
		}
	}
	if n := len(tg.received()); n != 0 {
		t.Errorf("target got %d requests", n)
	}
}

// TestReplayNotSentNamesTargetURL: a request that is not sent (a
// websocket handshake, a body cut when recorded) names in its result, and
// in the command's FAILED line, the URL it would have gone to.
func TestReplayNotSentNamesTargetURL(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	ws := capture("01JNB5Z3Q0000000000000000A", "GET", "http://127.0.0.1:8080/b/stripe/ws?v=1",
		inspect.Headers{{Name: "Connection", Value: "Upgrade"}, {Name: "Upgrade", Value: "websocket"}}, nil, &inspect.Response{Status: 101})
	cut := capture("01JNB5Z3Q0000000000000000B", "POST", "http://127.0.0.1:8080/b/stripe/hooks", nil, []byte("part"), okResp())
	cut.Request.Size, cut.Request.Truncated = 100, true
	rep, err := Run(context.Background(), []*inspect.Exchange{ws, cut}, Options{Target: tg.URL + "/api", Override: Overrides{Method: "put"}})
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{tg.URL + "/api/ws?v=1", tg.URL + "/api/hooks"} {
		r := rep.Results[i]
		var b strings.Builder
		WriteResult(&b, r, false)
		if r.Outcome != Failed || r.URL != want || r.Method != "PUT" || !strings.HasPrefix(b.String(), "FAILED PUT "+want+" [") {
			t.Errorf("result %+v written as %q, want it to name PUT %s", r, b.String(), want)
		}
	}
}

// TestReplayOwnAPIAdvice: a request the transport refuses as hooklab's own
// API (main's transport does) says to give a target, or another one when
// it was sent to the target.
func TestReplayOwnAPIAdvice(t *testing.T) {
	t.Parallel()
	tr := NewTransport(false)
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, fmt.Errorf("not sent: %s is %w", addr, inspect.ErrOwnAPI)
	}
	ex := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:4040/api/exchanges", nil, nil, okResp())
	// A redacted secret is said to have gone out only when something went.
	ex.Request.Headers = append(ex.Request.Headers, inspect.Header{Name: "Authorization", Value: inspect.Redacted})
	for _, tc := range []struct{ target, want string }{
		{"", "is hooklab's own API; give a target"},
		{"http://127.0.0.1:4040", "is hooklab's own API; give another target"},
	} {
		rep, err := Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: tc.target, Transport: tr})
		if err != nil {
			t.Fatal(err)
		}
		if r := rep.Results[0]; r.Outcome != Failed || !strings.HasSuffix(r.Error, tc.want) {
			t.Errorf("target %q: error %q, want it to end %q", tc.target, r.Error, tc.want)
		}
		if r := rep.Results[0]; len(r.Redacted) > 0 || len(r.Notes) > 0 {
			t.Errorf("target %q: nothing went out, yet redacted %v, notes %q", tc.target, r.Redacted, r.Notes)
		}
	}
}

// TestReplayUnsendableURLAdvice: a recorded URL without a host asks for a
// target when none is given; one that does not parse says why, target or
// not (a target does not mend it: its path is what is unknown).
func TestReplayUnsendableURLAdvice(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ url, target, want string }{
		{"/hooks/x", "", `recorded URL "/hooks/x" cannot be sent: give a target`},
		{"http://127.0.0.1:8080/%zz", "", `recorded URL "http://127.0.0.1:8080/%zz" cannot be sent: invalid URL escape "%zz"`},
		{"http://127.0.0.1:8080/%zz", "http://127.0.0.1:1", `recorded URL "http://127.0.0.1:8080/%zz" cannot be sent: invalid URL escape "%zz"`},
		// The URL is quoted without its password, as the result's URL is.
		// With user info, not Go's reason, which may quote a part of it: a
		// password with a / in it reads as a port.
		{"http://u:hunter2@127.0.0.1:8080/%zz", "", `recorded URL "http://u:REDACTED@127.0.0.1:8080/%zz" cannot be sent: it does not parse as a URL`},
		{"http://u:hunter2/x@127.0.0.1:8080/", "", `recorded URL "http://u:REDACTED@127.0.0.1:8080/" cannot be sent: it does not parse as a URL`},
	} {
		ex := capture("01JNB5Z3Q0000000000000000A", "POST", tc.url, nil, nil, okResp())
		rep, err := Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: tc.target})
		if err != nil {
			t.Fatal(err)
		}
		if r := rep.Results[0]; r.Outcome != Failed || !strings.Contains(r.Error, tc.want) || tc.target != "" && strings.Contains(r.Error, "give a target") || strings.Contains(r.Error, "hunter2") {
			t.Errorf("url %q, target %q: %s %q, want it to hold %q", tc.url, tc.target, r.Outcome, r.Error, tc.want)
		}
	}
}

func TestReplayTruncatedRequestIsNotSent(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	ex := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/x", nil, []byte("partial"), okResp())
	ex.Request.Size, ex.Request.Truncated = 1<<20, true
	rep, err := Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: tg.URL})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[0]; r.Outcome != Failed || !strings.Contains(r.Error, "cut when recorded") || len(tg.received()) != 0 {
		t.Errorf("result %+v, target got %d", r, len(tg.received()))
	}
	// With a replacement body it goes.
	rep, _ = Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: tg.URL, Override: Overrides{Body: []byte("whole"), SetBody: true}})
	if rep.Results[0].Outcome != Same || len(tg.received()) != 1 {
		t.Errorf("with a body: %+v", rep.Results[0])
	}
	// A client that went away mid-body: what arrived is kept whole, not
	// cut, yet it is not the request the client meant (it went, with a
	// Content-Length of what arrived).
	gone := capture("01JNB5Z3Q0000000000000000B", "POST", "http://127.0.0.1:8080/x",
		inspect.Headers{{Name: "Content-Length", Value: "187"}}, bytes.Repeat([]byte("x"), 185), okResp())
	gone.Error = inspect.BodyReadError + "185 bytes: unexpected EOF"
	rep, _ = Run(context.Background(), []*inspect.Exchange{gone}, Options{Target: tg.URL})
	if r := rep.Results[0]; r.Outcome != Failed || !strings.Contains(r.Error, "not all received") || len(tg.received()) != 1 {
		t.Errorf("a partial body: result %+v, target got %d", r, len(tg.received()))
	}
	// An upload the upstream refused before reading it (a 417 to
	// Expect: 100-continue) is recorded as far as the proxy forwarded it,
	// here nothing: the reason says so, not "0 of 0 bytes kept".
	early := capture("01JNB5Z3Q0000000000000000C", "POST", "http://127.0.0.1:9000/upload",
		inspect.Headers{{Name: "Content-Length", Value: "200000"}, {Name: "Expect", Value: "100-continue"}}, nil, okResp())
	early.Request.Truncated = true
	early.Meta = map[string]any{"request_body": "incomplete: the upstream answered after 0 bytes of it were forwarded"}
	rep, _ = Run(context.Background(), []*inspect.Exchange{early}, Options{Target: tg.URL})
	if r := rep.Results[0]; r.Outcome != Failed || !strings.Contains(r.Error, "the upstream answered after 0 bytes") || strings.Contains(r.Error, "0 of 0") || len(tg.received()) != 1 {
		t.Errorf("an upload answered early: result %+v, target got %d", r, len(tg.received()))
	}
}

func TestReplayFailures(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	slow := newTarget(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
	})
	ex := capture("01JNB5Z3Q0000000000000000A", "GET", "http://127.0.0.1:8080/x", nil, nil, okResp())

	var rec *inspect.Exchange
	rep, err := Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: downURL, Record: func(_ context.Context, e *inspect.Exchange) error { rec = e; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if r := rep.Results[0]; r.Outcome != Failed || !strings.Contains(r.Error, "connect") || rep.Summary.Failed != 1 {
		t.Errorf("down: %+v", r)
	}
	if rec == nil || rec.Response != nil || rec.Error == "" || rec.ReplayOf != ex.ID {
		t.Errorf("down: recorded %+v", rec)
	}

	start := time.Now()
	rep, _ = Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: slow.URL, Timeout: 100 * time.Millisecond})
	if r := rep.Results[0]; r.Outcome != Failed || !strings.Contains(r.Error, "no answer within 100ms") || time.Since(start) > 3*time.Second {
		t.Errorf("slow: %+v after %v", r, time.Since(start))
	}

	rep, _ = Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: slow.URL, Timeout: 50 * time.Millisecond,
		Record: func(context.Context, *inspect.Exchange) error { return inspect.ErrStoreFull }})
	if r := rep.Results[0]; r.Replay != "" || len(r.Notes) != 1 || !strings.Contains(r.Notes[0], "not recorded") {
		t.Errorf("record failure: %+v", r)
	}
}

func TestReplayDiffers(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Date", "Sun, 01 Mar 2026 10:00:00 GMT")
		if r.URL.Path == "/changed" {
			w.WriteHeader(201)
			io.WriteString(w, `{"ok":false,"created":"now"}`)
			return
		}
		io.WriteString(w, `{"ok":true}`)
	})
	same := capture("01JNB5Z3Q0000000000000000A", "GET", "http://x/same", nil, nil, okResp())
	changed := capture("01JNB5Z3Q0000000000000000B", "GET", "http://x/changed", nil, nil, okResp())
	rep, err := Run(context.Background(), []*inspect.Exchange{same, changed}, Options{Target: tg.URL, Diff: DiffOptions{Ignore: []string{"created"}}})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary != (Summary{Replayed: 2, Same: 1, Differ: 1}) {
		t.Fatalf("summary %v", rep.Summary)
	}
	want := []Change{{Path: "status", Kind: Changed, Old: "200", New: "201"}, {Path: "body ok", Kind: Changed, Old: "true", New: "false"}}
	if d := cmp.Diff(want, rep.Results[1].Changes); d != "" {
		t.Errorf("changes (-want +got):\n%s", d)
	}
	var out bytes.Buffer
	if err := WriteText(&out, rep, false); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, line := range []string{
		"--- recorded 01JNB5Z3Q0000000000000000B 200\n",
		"+++ replayed - GET " + tg.URL + "/changed 201 (",
		"@@ status @@\n-200\n+201\n@@ body ok @@\n-true\n+false\n",
		"2 replayed, 1 same, 1 differ, 0 failed\n",
	} {
		if !strings.Contains(text, line) {
			t.Errorf("text lacks %q:\n%s", line, text)
		}
	}
	if strings.Contains(text, "/same") {
		t.Errorf("same exchange listed without verbose:\n%s", text)
	}
}

// fakeClock advances only when slept on.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func TestPaceOriginalFakeClock(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	at := func(id string, off time.Duration) *inspect.Exchange {
		ex := capture(id, "GET", "http://x/"+id, nil, nil, okResp())
		ex.Time = t0.Add(off)
		return ex
	}
	// Given out of order: original pace sends in time order.
	exs := []*inspect.Exchange{at("c", 40*time.Second), at("a", 0), at("d", 41*time.Second), at("b", 10*time.Second)}
	clock := &fakeClock{now: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	rep, err := Run(context.Background(), exs, Options{Target: tg.URL, Pace: PaceOriginal, Speed: 10, Clock: clock})
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff([]time.Duration{time.Second, 3 * time.Second, 100 * time.Millisecond}, clock.sleeps); d != "" {
		t.Errorf("sleeps (-want +got):\n%s", d)
	}
	var order []string
	for _, g := range tg.received() {
		order = append(order, g.RequestURI)
	}
	if d := cmp.Diff([]string{"/a", "/b", "/c", "/d"}, order); d != "" {
		t.Errorf("order: %s", d)
	}
	if rep.Results[0].Original != "a" || rep.Results[3].Original != "d" {
		t.Errorf("results %+v", rep.Results)
	}
}

func TestPaceOriginalMeasured(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var arrivals []time.Time
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		mu.Lock()
		arrivals = append(arrivals, time.Now())
		mu.Unlock()
	})
	var exs []*inspect.Exchange
	for i, off := range []time.Duration{0, time.Second, 2 * time.Second} {
		ex := capture(fmt.Sprint(i), "GET", "http://x/", nil, nil, &inspect.Response{Status: 200})
		ex.Time = t0.Add(off)
		exs = append(exs, ex)
	}
	start := time.Now()
	if _, err := Run(context.Background(), exs, Options{Target: tg.URL, Pace: PaceOriginal, Speed: 2}); err != nil {
		t.Fatal(err)
	}
	if len(arrivals) != 3 {
		t.Fatalf("%d arrivals", len(arrivals))
	}
	// Each request leaves at its due time after the start (never before)
	// and arrives soon after: well before the time it would have at speed
	// 1, with room for a busy machine's scheduling.
	for i, want := range []time.Duration{0, 500 * time.Millisecond, time.Second} {
		got := arrivals[i].Sub(start)
		if got < want || got > want+450*time.Millisecond {
			t.Errorf("arrival %d at %v, want %v", i+1, got, want)
		}
	}
}

func TestConcurrencyBound(t *testing.T) {
	t.Parallel()
	var inflight, peak atomic.Int32
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request, _ []byte) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(15 * time.Millisecond)
		inflight.Add(-1)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})
	var exs []*inspect.Exchange
	for i := range 40 {
		exs = append(exs, capture(fmt.Sprint(i), "GET", "http://x/", nil, nil, okResp()))
	}
	var seen atomic.Int32
	rep, err := Run(context.Background(), exs, Options{Target: tg.URL, Concurrency: 4, OnResult: func(Result) { seen.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > 4 || p < 2 {
		t.Errorf("peak in flight %d, want 2..4", p)
	}
	if rep.Summary.Same != 40 || seen.Load() != 40 {
		t.Errorf("summary %v, %d results reported", rep.Summary, seen.Load())
	}
	for i, r := range rep.Results {
		if r.Index != i || r.Original != fmt.Sprint(i) {
			t.Fatalf("result %d is %+v", i, r)
		}
	}
}

func TestRunCancelled(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	ctx, cancel := context.WithCancel(context.Background())
	var exs []*inspect.Exchange
	for i := range 5 {
		ex := capture(fmt.Sprint(i), "GET", "http://x/", nil, nil, okResp())
		ex.Time = t0.Add(time.Duration(i) * time.Hour)
		exs = append(exs, ex)
	}
	clock := &fakeClock{now: t0}
	done := 0
	rep, err := Run(ctx, exs, Options{Target: tg.URL, Pace: PaceOriginal, Clock: clock, OnResult: func(Result) {
		done++
		if done == 2 {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) || len(rep.Results) != 2 || rep.Summary.Replayed != 2 {
		t.Errorf("err %v, %d results", err, len(rep.Results))
	}
}

// TestReplaySetHostAndLength: an override that sets Host and a stale
// Content-Length (as the UI's edit form sends back the headers it showed)
// sends one Host, the one set, and the body's true length; the recorded
// request says the same.
func TestReplaySetHostAndLength(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	ex := capture("01JNB5Z3Q0000000000000000A", "POST", "http://127.0.0.1:8080/x",
		inspect.Headers{{Name: "Host", Value: "127.0.0.1:8080"}, {Name: "Content-Length", Value: "11"}}, []byte("hello world"), okResp())
	var recorded []*inspect.Exchange
	var mu sync.Mutex
	rep, err := Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: tg.URL,
		Record: func(_ context.Context, ex *inspect.Exchange) error {
			mu.Lock()
			recorded = append(recorded, ex)
			mu.Unlock()
			return nil
		},
		Override: Overrides{SetHeaders: inspect.Headers{{Name: "Host", Value: "edited.test"}, {Name: "Content-Length", Value: "11"}}, Body: []byte("short"), SetBody: true}})
	if err != nil || len(rep.Results) != 1 || rep.Results[0].Outcome == Failed {
		t.Fatalf("%v %+v", err, rep.Results)
	}
	got := tg.received()
	if len(got) != 1 || got[0].Host != "edited.test" || got[0].ContentLength != 5 {
		t.Fatalf("the target got %+v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(recorded) != 1 {
		t.Fatalf("recorded %d", len(recorded))
	}
	var hosts, lengths []string
	for _, h := range recorded[0].Request.Headers {
		switch strings.ToLower(h.Name) {
		case "host":
			hosts = append(hosts, h.Value)
		case "content-length":
			lengths = append(lengths, h.Value)
		}
	}
	if len(hosts) != 1 || hosts[0] != "edited.test" || len(lengths) > 1 || len(lengths) == 1 && lengths[0] != "5" {
		t.Errorf("recorded Host %v, Content-Length %v", hosts, lengths)
	}
}

// TestRunStoredReadsEachInTurn: a run of stored exchanges reads each when
// its turn comes (SelectIDs holds ids and times only), in the order
// selected; one deleted meanwhile is a failed result saying so, and the
// run goes on.
func TestRunStoredReadsEachInTurn(t *testing.T) {
	t.Parallel()
	store := openStore(t)
	var got []string
	tg := newTarget(t, func(w http.ResponseWriter, r *http.Request, body []byte) {
		got = append(got, r.URL.Path) // Concurrency 1: one at a time
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	})
	base := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 3 {
		ex := capture(fmt.Sprintf("01JNB5Z3Q000000000000000%02d", i), "GET", fmt.Sprintf("http://127.0.0.1:8080/b/s/%d", i), nil, nil, okResp())
		ex.Bin, ex.Time = "s", base.Add(time.Duration(i)*time.Second)
		add(t, store, ex)
		ids = append(ids, ex.ID)
	}
	sel, err := SelectIDs(context.Background(), store, nil, Filter{Bin: "s"})
	if err != nil || len(sel) != 3 || sel[0].ID != ids[0] || !sel[2].Time.Equal(base.Add(2*time.Second)) {
		t.Fatalf("selected %+v, %v", sel, err)
	}
	if err := store.Delete(context.Background(), ids[1]); err != nil {
		t.Fatal(err)
	}
	rep, err := RunStored(context.Background(), store, sel, Options{Target: tg.URL})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Summary.Same != 2 || rep.Summary.Failed != 1 || strings.Join(got, " ") != "/0 /2" {
		t.Fatalf("summary %v, sent %q", rep.Summary, got)
	}
	if r := rep.Results[1]; r.Original != ids[1] || r.Outcome != Failed || !strings.Contains(r.Error, "was deleted before its turn") {
		t.Errorf("result of the deleted one: %+v", r)
	}
	if _, err := RunStored(context.Background(), store, nil, Options{Target: tg.URL}); !errors.Is(err, ErrNothing) {
		t.Errorf("empty selection: %v", err)
	}
}

// TestReplayRecordsTheProtocolSent: an upstream answering in HTTP/1.0 got
// an HTTP/1.1 request, and the recording says so (it copied the answer's).
func TestReplayRecordsTheProtocolSent(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = http.ReadRequest(bufio.NewReader(c))
				_, _ = io.WriteString(c, "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nold")
			}()
		}
	}()
	ex := capture("01JNB5Z3Q0000000000000000B", "GET", "http://127.0.0.1:8080/x", nil, nil, okResp())
	var rec *inspect.Exchange
	if _, err := Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: "http://" + ln.Addr().String(),
		Record: func(_ context.Context, e *inspect.Exchange) error { rec = e; return nil }}); err != nil {
		t.Fatal(err)
	}
	if rec == nil || rec.Response == nil || string(rec.Response.Body) != "old" || rec.Request.Proto != "HTTP/1.1" {
		t.Fatalf("recorded %+v", rec)
	}
}

// TestReplayGivesUpOnASilentTarget: a target that accepts and never
// answers (or refuses every connection) ends the run after GiveUpAfter
// requests in a row with no answer, not after one Timeout per exchange;
// an answer in between starts the count again.
func TestReplayGivesUpOnASilentTarget(t *testing.T) {
	t.Parallel()
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer hang.Close()
	var exs []*inspect.Exchange
	for i := range 20 {
		exs = append(exs, capture(fmt.Sprintf("01JNB5Z3Q00000000000000%03d", i), "GET", "http://127.0.0.1:8080/x", nil, nil, okResp()))
	}
	rep, err := Run(context.Background(), exs, Options{Target: hang.URL, Timeout: 50 * time.Millisecond, GiveUpAfter: 3})
	if !errors.Is(err, ErrGaveUp) || !strings.Contains(err.Error(), "3 requests in a row got no answer") || len(rep.Results) != 3 || rep.Summary.Failed != 3 {
		t.Fatalf("err %v, %d results %+v", err, len(rep.Results), rep.Summary)
	}
	// Refused connections count the same; -1 never gives up.
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	if rep, err := Run(context.Background(), exs[:8], Options{Target: downURL, GiveUpAfter: -1}); err != nil || len(rep.Results) != 8 {
		t.Errorf("GiveUpAfter -1: %v, %d results", err, len(rep.Results))
	}
	if _, err := Run(context.Background(), exs[:8], Options{Target: downURL}); !errors.Is(err, ErrGaveUp) {
		t.Errorf("a refusing target, by default: %v", err)
	}
	// Every other request answered: never five in a row.
	var n atomic.Int32
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 0 {
			panic(http.ErrAbortHandler) // the connection drops: no answer
		}
		w.Write([]byte(`{"ok":true}`))
	}))
	defer flaky.Close()
	if rep, err := Run(context.Background(), exs, Options{Target: flaky.URL}); err != nil || len(rep.Results) != 20 {
		t.Errorf("a flaky target: %v, %d results", err, len(rep.Results))
	}
}

// TestReplayErrorNamesTheURLAsSent: a request sent with its recorded path
// bytes (an Opaque URL) is named whole in its error, host included (Go
// writes such a URL "http:/a|b").
func TestReplayErrorNamesTheURLAsSent(t *testing.T) {
	t.Parallel()
	down := httptest.NewServer(http.NotFoundHandler())
	target := down.URL
	down.Close()
	ex := capture("01JNB5Z3Q0000000000000000A", "GET", "http://127.0.0.1:8080/b/stripe/a|b", nil, nil, okResp())
	rep, _ := Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: target})
	if r := rep.Results[0]; r.Outcome != Failed || !strings.Contains(r.Error, `"`+target+`/a|b"`) {
		t.Errorf("error %q, want it to name %s/a|b", r.Error, target)
	}
}

// TestReplayEscapesSpaceInQuery: a space in a recorded URL's query (a
// hand-written or foreign HAR's "?q=x y") goes out as %20, as one in its
// path does: sent raw, it split the request line and the receiver
// answered 400 to a request nobody recorded.
func TestReplayEscapesSpaceInQuery(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	exs := []*inspect.Exchange{
		capture("01JNB5Z3Q0000000000000000A", "GET", "http://127.0.0.1:8080/b/stripe/my file.txt?q=x y&b=|", nil, nil, okResp()),
		capture("01JNB5Z3Q0000000000000000B", "GET", tg.URL+"/search?q=a b c", nil, nil, okResp()),
	}
	for i, opts := range []Options{{Target: tg.URL}, {}} {
		rep, err := Run(context.Background(), exs[i:i+1], opts)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Summary != (Summary{Replayed: 1, Same: 1}) {
			t.Errorf("%d: summary %+v: %+v", i, rep.Summary, rep.Results)
		}
	}
	got := tg.received()
	want := []string{"/my%20file.txt?q=x%20y&b=|", "/search?q=a%20b%20c"}
	if len(got) != len(want) {
		t.Fatalf("target got %d requests, want %d", len(got), len(want))
	}
	for i, g := range got {
		if g.RequestURI != want[i] {
			t.Errorf("%d: sent %s, want %s", i, g.RequestURI, want[i])
		}
	}
}

// TestReplayNumberSign: a # a request's target held (a request line has
// no fragment: the server read it as part of the path or the query) goes
// again where it was, with a target and without; parsed as a URL it was a
// fragment, which Go does not send.
func TestReplayNumberSign(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ recorded, target, wantURI string }{
		{"/b/stripe/a?b=1#c", "", "/b/stripe/a?b=1#c"},
		{"/b/stripe/a#c?d", "", "/b/stripe/a#c?d"},
		{"/b/stripe/a?b=1#c", "/app/", "/app/a?b=1#c"},
		{"/b/stripe/a#c", "/app/", "/app/a#c"},
	} {
		tg := newTarget(t, nil)
		ex := capture("01JNB5Z3Q0000000000000000A", "GET", tg.URL+tc.recorded, nil, nil, okResp())
		opts := Options{}
		if tc.target != "" {
			opts.Target = tg.URL + tc.target
		}
		rep, err := Run(context.Background(), []*inspect.Exchange{ex}, opts)
		if err != nil {
			t.Fatal(err)
		}
		got := tg.received()
		if len(got) != 1 || got[0].RequestURI != tc.wantURI || rep.Results[0].URL != tg.URL+tc.wantURI {
			t.Errorf("%s to %q: got %+v, result URL %s, want %s", tc.recorded, tc.target, got, rep.Results[0].URL, tc.wantURI)
		}
	}
}

// TestReplayEmittedEndpointQuerySecretsRedacted: an emitted delivery's URL
// is its webhook's endpoint, ?api_key= and all. The replay sends the
// value, and its result (the run's API, events, the command's output),
// its error and its record show it REDACTED, as the exchange API shows
// the delivery's; a capture's query is shown as it was. The results and
// the replay's record showed the endpoint's key.
func TestReplayEmittedEndpointQuerySecretsRedacted(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // nothing listens there now
	emitted := func(id, base string) *inspect.Exchange {
		return &inspect.Exchange{
			ID: id, Bin: "default", Source: inspect.SourceEmit, Time: t0,
			Request:  inspect.Request{Method: "POST", URL: base + "/hook?api_key=EP-s3cret&x=1&X-Partner-Token=EP-tok", Body: []byte(`{}`), Size: 2},
			Response: okResp(),
		}
	}
	captured := capture("01JNB5Z3Q0000000000000000C", "GET", tg.URL+"/in?api_key=caller-own", nil, nil, okResp())
	var rc recorder
	record := rc.record
	exs := []*inspect.Exchange{emitted("01JNB5Z3Q0000000000000000A", tg.URL), emitted("01JNB5Z3Q0000000000000000B", dead.URL), captured}
	rep, err := Run(context.Background(), exs, Options{Record: record, IDs: &inspect.IDs{}, Diff: DiffOptions{SecretHeaders: []string{"X-Partner-Token"}}})
	if err != nil {
		t.Fatal(err)
	}
	got := tg.received()
	if len(got) != 2 || got[0].RequestURI != "/hook?api_key=EP-s3cret&x=1&X-Partner-Token=EP-tok" {
		t.Fatalf("the target got %+v, want the endpoint's key", got)
	}
	want := []string{tg.URL + "/hook?api_key=REDACTED&x=1&X-Partner-Token=REDACTED", dead.URL + "/hook?api_key=REDACTED&x=1&X-Partner-Token=REDACTED", tg.URL + "/in?api_key=caller-own"}
	for i, r := range rep.Results {
		if r.URL != want[i] {
			t.Errorf("result %d: url %q, want %q", i, r.URL, want[i])
		}
	}
	if r := rep.Results[1]; r.Outcome != Failed || !strings.Contains(r.Error, want[1]) || strings.Contains(r.Error, "EP-") {
		t.Errorf("the dead endpoint's result: %s %q, want it to name %s", r.Outcome, r.Error, want[1])
	}
	recorded := rc.all()
	if len(recorded) != 3 {
		t.Fatalf("recorded %d replays", len(recorded))
	}
	for i, rec := range recorded {
		if rec.Request.URL != want[i] || strings.Contains(rec.Error, "EP-") {
			t.Errorf("replay %d recorded %s (error %q), want %s", i, rec.Request.URL, rec.Error, want[i])
		}
	}
	// The replay's record, replayed, sends the placeholder, and says so.
	rep, err = Run(context.Background(), recorded[:1], Options{})
	if err != nil {
		t.Fatal(err)
	}
	if notes := strings.Join(rep.Results[0].Notes, "\n"); !strings.Contains(notes, "the query went out holding REDACTED") {
		t.Errorf("replaying the replay: notes %q, want them to say the query held REDACTED", notes)
	}
	if r := rep.Results[0]; len(r.Redacted) != 0 {
		t.Errorf("replaying the replay: redacted %q, which names headers", r.Redacted)
	}
}

// TestReplayTargetQuerySecretsRedacted: a target given with a secret in
// its query (?api_key=) adds it to every request, and the results, the
// errors (one to a dead target, and the run's when it gives up) and the
// replays' records show it REDACTED, as the run's target does; the
// recorded request's own query is kept as it was. They showed the key.
func TestReplayTargetQuerySecretsRedacted(t *testing.T) {
	t.Parallel()
	tg := newTarget(t, nil)
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // nothing listens there now
	var rc recorder
	record := rc.record
	ex := capture("01JNB5Z3Q0000000000000000A", "GET", "http://127.0.0.1:8080/b/stripe/in?token=caller-own&x=1", nil, nil, okResp())
	rep, err := Run(context.Background(), []*inspect.Exchange{ex}, Options{
		Target: tg.URL + "/v2?api_key=TG-s3cret&X-Partner-Token=TG-tok&page=2", Record: record, IDs: &inspect.IDs{},
		Diff: DiffOptions{SecretHeaders: []string{"X-Partner-Token"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := tg.received(); len(got) != 1 || got[0].RequestURI != "/v2/in?token=caller-own&x=1&api_key=TG-s3cret&X-Partner-Token=TG-tok&page=2" {
		t.Fatalf("the target got %+v, want the target's key", got)
	}
	want := tg.URL + "/v2/in?token=caller-own&x=1&api_key=REDACTED&X-Partner-Token=REDACTED&page=2"
	if r := rep.Results[0]; r.URL != want || r.Outcome != Same {
		t.Errorf("result: %s %q, want %q", r.Outcome, r.URL, want)
	}

	rep, err = Run(context.Background(), []*inspect.Exchange{ex, ex}, Options{
		Target: dead.URL + "/?access_token=DEAD-s3cret", Record: record, IDs: &inspect.IDs{}, GiveUpAfter: 1,
	})
	if !errors.Is(err, ErrGaveUp) || strings.Contains(err.Error(), "DEAD-s3cret") || !strings.Contains(err.Error(), "access_token=REDACTED") {
		t.Errorf("a dead target: run error %v, want it to give up naming the URL with access_token=REDACTED", err)
	}
	wantDead := dead.URL + "/in?token=caller-own&x=1&access_token=REDACTED"
	if len(rep.Results) == 0 {
		t.Fatal("no result from the dead target")
	}
	if r := rep.Results[0]; r.Outcome != Failed || r.URL != wantDead || !strings.Contains(r.Error, wantDead) || strings.Contains(r.Error, "DEAD-") {
		t.Errorf("the dead target's result: %s %q %q, want it to name %s", r.Outcome, r.URL, r.Error, wantDead)
	}
	recorded := rc.all()
	if len(recorded) != 2 {
		t.Fatalf("recorded %d replays, want 2", len(recorded))
	}
	for i, w := range []string{want, wantDead} {
		if rec := recorded[i]; rec.Request.URL != w || strings.Contains(rec.Error, "s3cret") {
			t.Errorf("replay %d recorded %s (error %q), want %s", i, rec.Request.URL, rec.Error, w)
		}
	}
}

// TestReplayTargetShownRedacted: a target refused quotes it with the
// values of its secret-named query parameters REDACTED, as its password.
func TestReplayTargetShownRedacted(t *testing.T) {
	t.Parallel()
	ex := capture("01JNB5Z3Q0000000000000000A", "GET", "http://127.0.0.1:8080/in", nil, nil, okResp())
	_, err := Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: "127.0.0.1:1/?api_key=BAD-s3cret"})
	if err == nil || strings.Contains(err.Error(), "BAD-s3cret") || !strings.Contains(err.Error(), "api_key=REDACTED") {
		t.Errorf("a target without its scheme: %v, want it refused quoting api_key=REDACTED", err)
	}
}

// TestReplayEmittedQuerySecretRedactedTargetPassword: a delivery replayed
// to a target with a password in its user info, where nothing listens,
// fails with an error that shows neither the password nor the
// endpoint's secret query values. Go's client quotes such a URL with its
// password as ***, so the error no longer held the URL as sent, and the
// query's api_key went out in the result and the replay's record as it
// was.
func TestReplayEmittedQuerySecretRedactedTargetPassword(t *testing.T) {
	t.Parallel()
	dead := httptest.NewServer(http.NotFoundHandler())
	dead.Close() // nothing listens there now
	ex := &inspect.Exchange{
		ID: "01JNB5Z3Q0000000000000000A", Bin: "default", Source: inspect.SourceEmit, Time: t0,
		Request:  inspect.Request{Method: "POST", URL: "http://127.0.0.1:1/hook?api_key=EP-s3cret&x=1", Body: []byte(`{}`), Size: 2},
		Response: okResp(),
	}
	var rc recorder
	record := rc.record
	target := strings.Replace(dead.URL, "http://", "http://bob:TARGET-pw@", 1)
	rep, err := Run(context.Background(), []*inspect.Exchange{ex}, Options{Target: target, Record: record, IDs: &inspect.IDs{}})
	if err != nil {
		t.Fatal(err)
	}
	r := rep.Results[0]
	if r.Outcome != Failed || !strings.Contains(r.Error, "api_key=REDACTED") {
		t.Errorf("result %s %q, want a failure naming the URL with api_key=REDACTED", r.Outcome, r.Error)
	}
	recorded := rc.all()
	if len(recorded) != 1 {
		t.Fatalf("recorded %d replays", len(recorded))
	}
	// The record keeps the target's password, as every recorded URL
	// does (the exchange API shows it REDACTED), and not the query's key.
	for what, s := range map[string]string{"the result's URL": r.URL, "the result's error": r.Error, "the record's URL": recorded[0].Request.URL, "the record's error": recorded[0].Error} {
		if strings.Contains(s, "EP-s3cret") || what != "the record's URL" && strings.Contains(s, "TARGET-pw") {
			t.Errorf("%s shows a secret: %s", what, s)
		}
	}
}

// recorder keeps what Run records, for the test to read once it is done.
type recorder struct {
	mu  sync.Mutex
	exs []*inspect.Exchange
}

func (r *recorder) record(_ context.Context, ex *inspect.Exchange) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.exs = append(r.exs, ex)
	return nil
}

func (r *recorder) all() []*inspect.Exchange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.exs)
}
