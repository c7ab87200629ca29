package inspect

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// apiEnv is the JSON API served by a real server over a real store and hub.
type apiEnv struct {
	store *SQLite
	hub   *Hub
	srv   *httptest.Server
}

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	hub := NewHub()
	st := openStore(t, t.TempDir(), Options{OnCommit: hub.PublishExchanges})
	api := NewAPI(APIConfig{
		Store: st, Hub: hub, MaxWait: time.Minute,
		CaptureURL: func() string { return "http://127.0.0.1:8080/" },
	})
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close) // runs before the store closes
	return &apiEnv{store: st, hub: hub, srv: srv}
}

type apiResponse struct {
	status int
	header http.Header
	body   []byte
}

func (e *apiEnv) do(t *testing.T, method, path, contentType, body string) apiResponse {
	t.Helper()
	return e.doCtx(t, context.Background(), method, path, contentType, body)
}

func (e *apiEnv) doCtx(t *testing.T, ctx context.Context, method, path, contentType, body string) apiResponse {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, e.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return apiResponse{resp.StatusCode, resp.Header, b}
}

// decode checks the status and decodes the JSON answer into v.
func (r apiResponse) decode(t *testing.T, status int, v any) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("body %s: %v", r.body, err)
	}
}

// wantError checks for a JSON error answer whose message mentions each of
// words.
func (r apiResponse) wantError(t *testing.T, status int, words ...string) {
	t.Helper()
	var e struct {
		Error string `json:"error"`
	}
	r.decode(t, status, &e)
	if e.Error == "" {
		t.Fatalf("no error message in %s", r.body)
	}
	for _, w := range words {
		if !strings.Contains(e.Error, w) {
			t.Errorf("error %q does not mention %q", e.Error, w)
		}
	}
}

type listAnswer struct {
	Exchanges []Summary `json:"exchanges"`
	Next      string    `json:"next"`
}

func TestAPIList(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	d := seedFilterData(t, e.store)
	rfc := func(d time.Duration) string { return base.Add(d).Format(time.RFC3339Nano) }
	tests := []struct {
		name, query string
		want        []string
	}{
		{"all", "", []string{"e6", "e5", "e4", "e3", "e2", "e1"}},
		{"bin", "bin=a", []string{"e6", "e2", "e1"}},
		{"method and status class", "method=post&status=4xx", []string{"e2"}},
		{"status 5xx", "status=5xx", []string{"e4", "e3"}},
		{"source", "source=proxy", []string{"e3"}},
		{"text", "q=" + url.QueryEscape(`"quoted"`), []string{"e3"}},
		{"short text", "q=wo", []string{"e2", "e1"}},
		{"since and until", "since=" + url.QueryEscape(rfc(2*time.Second)) + "&until=" + url.QueryEscape(rfc(3*time.Second)), []string{"e3", "e2"}},
		// Beyond what Unix nanoseconds hold (1678 to 2262): compared as
		// the times they are, not wrapped around to another century.
		{"since far ahead", "since=2300-01-01T00:00:00Z", nil},
		{"until far ahead", "until=2300-01-01T00:00:00Z", []string{"e6", "e5", "e4", "e3", "e2", "e1"}},
		{"since long ago", "since=1600-01-01T00:00:00Z", []string{"e6", "e5", "e4", "e3", "e2", "e1"}},
		{"until long ago", "until=1600-01-01T00:00:00Z", nil},
		{"ascending", "order=asc&bin=b", []string{"e3", "e4"}},
		{"descending", "order=desc&bin=b", []string{"e4", "e3"}},
		{"after", "after=" + d.exs["e4"].ID, []string{"e6", "e5"}},
		{"nothing", "bin=none", nil},
		{"no response, as q=status:none says it", "status=none", []string{"e5"}},
		{"no response", "status=0", []string{"e5"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var got listAnswer
			e.do(t, "GET", "/api/exchanges?"+tt.query, "", "").decode(t, 200, &got)
			var ids []string
			for _, s := range got.Exchanges {
				ids = append(ids, s.ID)
			}
			if want := d.ids(tt.want...); !slices.Equal(ids, want) {
				t.Errorf("listed %s, want %s", fmtIDs(ids, d.names), fmtIDs(want, d.names))
			}
			if got.Next != "" {
				t.Errorf("next = %q on a short page", got.Next)
			}
			if got.Exchanges == nil {
				t.Error(`"exchanges" is null, want a list`)
			}
		})
	}

	t.Run("summary fields", func(t *testing.T) {
		t.Parallel()
		var got listAnswer
		e.do(t, "GET", "/api/exchanges?status=404", "", "").decode(t, 200, &got)
		if len(got.Exchanges) != 1 || got.Exchanges[0] != d.exs["e2"].Summarize() {
			t.Errorf("got %+v, want %+v", got.Exchanges, d.exs["e2"].Summarize())
		}
	})

	t.Run("paging", func(t *testing.T) {
		t.Parallel()
		var ids []string
		path := "/api/exchanges?limit=4"
		for pages := 0; ; pages++ {
			var got listAnswer
			e.do(t, "GET", path, "", "").decode(t, 200, &got)
			for _, s := range got.Exchanges {
				ids = append(ids, s.ID)
			}
			if got.Next == "" {
				break
			}
			if pages > 5 {
				t.Fatal("paging does not end")
			}
			path = "/api/exchanges?limit=4&cursor=" + url.QueryEscape(got.Next)
		}
		if want := d.ids("e6", "e5", "e4", "e3", "e2", "e1"); !slices.Equal(ids, want) {
			t.Errorf("pages gave %s", fmtIDs(ids, d.names))
		}
	})
}

// A status above 599 is one a proxied upstream (LinkedIn answers 999) or
// an imported HAR can give: status=999 finds it, where 6xx-9xx classes and
// four digits are refused (TestAPIBadParams).
func TestAPIListStatusBeyond599(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	ex := newEx("a", "GET", "http://h/in", at(base), status(999))
	mustAdd(t, e.store, ex)
	mustAdd(t, e.store, newEx("a", "GET", "http://h/other", at(base.Add(time.Second)), status(200)))
	for _, q := range []string{"status=999", "q=status:999"} {
		var got listAnswer
		e.do(t, "GET", "/api/exchanges?"+q, "", "").decode(t, 200, &got)
		if len(got.Exchanges) != 1 || got.Exchanges[0].ID != ex.ID {
			t.Errorf("%s: got %+v, want only %s", q, got.Exchanges, ex.ID)
		}
	}
}

func TestAPIBadParams(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	tests := []struct {
		name, path string
		mention    string
	}{
		{"bad bin", "/api/exchanges?bin=no%20spaces", "bin name"},
		{"long bin", "/api/exchanges?bin=" + strings.Repeat("x", 65), "64"},
		{"bad status", "/api/exchanges?status=abc", "status"},
		{"status class out of range", "/api/exchanges?status=7xx", "status"},
		{"status out of range", "/api/exchanges?status=99", "status"},
		// Each said what is accepted; a sign or a leading zero was read
		// as a number and filtered as 200 or as none.
		{"status with a sign", "/api/exchanges?status=%2B200", `status "+200": want a code from 100 to 999 like 404 (three digits, no sign), a class from 1xx to 5xx, or none (0) for no response`},
		{"status with a leading zero", "/api/exchanges?status=0200", `status "0200": want a code from 100 to 999`},
		{"status minus zero", "/api/exchanges?status=-0", `status "-0": want a code from 100 to 999`},
		{"status four digits", "/api/exchanges?status=1000", `status "1000": want a code from 100 to 999`},
		{"status term with a sign", "/api/exchanges?q=" + url.QueryEscape("status:+404"), "want a code from 100 to 999"},
		{"wait with a status with a leading zero", "/api/exchanges/wait?status=0404&timeout=1s", `status "0404": want a code from 100 to 999`},
		{"bad source", "/api/exchanges?source=ftp", "source"},
		{"limit zero", "/api/exchanges?limit=0", "limit"},
		{"limit too big", "/api/exchanges?limit=1001", "limit"},
		{"limit not a number", "/api/exchanges?limit=ten", "limit"},
		{"bad since", "/api/exchanges?since=yesterday", "since"},
		{"bad until", "/api/exchanges?until=2026-13-01", "until"},
		{"bad order", "/api/exchanges?order=sideways", "order"},
		{"since after until", "/api/exchanges?since=2026-02-01T00:00:00Z&until=2026-01-01T00:00:00Z", "since 2026-02-01T00:00:00Z is after until"},
		{"method with a space", "/api/exchanges?method=P%20OST", `method "P OST"`},
		{"method term with a slash", "/api/exchanges?q=" + url.QueryEscape("method:GET/POST"), "method like POST"},
		{"wait with a cursor", "/api/exchanges/wait?cursor=01JNB5Z3Q0000000000000000Z&timeout=1s", `takes no parameter "cursor"`},
		{"wait with a limit", "/api/exchanges/wait?limit=5&timeout=1s", `takes no parameter "limit"`},
		{"wait with an order", "/api/exchanges/wait?order=asc&timeout=1s", `takes no parameter "order"`},
		{"bad cursor", "/api/exchanges?cursor=abc", `cursor "abc": want the "next" of an earlier page`},
		{"negative cursor", "/api/exchanges?order=asc&cursor=-4", `cursor "-4": want the "next" of an earlier page`},
		{"wait with bad filter", "/api/exchanges/wait?status=abc&timeout=1s", "status"},
		{"wait after no id", "/api/exchanges/wait?after=notanid&timeout=1s", "after"},
		{"wait after a truncated id", "/api/exchanges/wait?after=01M8M8R7863Y9RVZKPW2KWHE7&timeout=1s", "after"},
		{"list after a bad id", "/api/exchanges?after=ZZZZZZZZZZZZZZZZZZZZZZZZZZ", "after"},
		{"clear with bad bin", "/api/exchanges?bin=a.b", "bin name"},
		// A script's unset $BIN must not clear every bin.
		{"clear with an empty bin", "/api/exchanges?bin=", "leave bin= out"},
		{"list with an empty bin", "/api/exchanges?bin=", "bin is empty"},
		{"wait with an empty bin", "/api/exchanges/wait?bin=&timeout=1s", "bin is empty"},
		// So must an unset $LAST: the wait would start from the newest
		// and miss the match already stored.
		{"wait after nothing", "/api/exchanges/wait?after=&timeout=1s", "after is empty"},
		{"list since nothing", "/api/exchanges?since=", "since is empty"},
		{"list with an empty status", "/api/exchanges?status=", "status is empty"},
		{"two bins", "/api/exchanges?bin=a&bin=b", "bin is given 2 times"},
		{"two statuses", "/api/exchanges?status=200&status=404", "status is given 2 times"},
		{"clear with two bins", "/api/exchanges?bin=a&bin=b", "one bin at a time"},
		// A typo must not widen the answer to everything.
		{"list with an unknown parameter", "/api/exchanges?pth=/x", `takes no parameter "pth"`},
		{"wait with an unknown parameter", "/api/exchanges/wait?text=zzz&timeout=1s", `takes no parameter "text"`},
		// One would be used and the other ignored: timeout=0 answered at once.
		{"wait with two timeouts", "/api/exchanges/wait?timeout=0&timeout=30s", "timeout is given 2 times"},
		{"wait with two reveals", "/api/exchanges/wait?reveal=1&reveal=0&timeout=0", "reveal is given 2 times"},
		{"get with a typo", "/api/exchanges/01JNB5Z3Q0000000000000000Z?revael=1", `GET /api/exchanges/{id} takes no parameter "revael" (it takes reveal)`},
		{"raw with a typo", "/api/exchanges/01JNB5Z3Q0000000000000000Z/raw?reveel=1", `takes no parameter "reveel"`},
		{"bins with a parameter", "/api/bins?foo=1", `GET /api/bins takes no parameters (got "foo")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			method := "GET"
			if strings.HasPrefix(tt.name, "clear") {
				method = "DELETE"
			}
			e.do(t, method, tt.path, "", "").wantError(t, 400, tt.mention)
		})
	}
}

func TestAPIGetDeleteClear(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	d := seedFilterData(t, e.store)

	for _, name := range []string{"e2", "e5", "e6"} {
		t.Run("get "+name, func(t *testing.T) {
			var got Exchange // as stored: secrets too (see TestAPIRedaction)
			e.do(t, "GET", "/api/exchanges/"+d.exs[name].ID+"?reveal=1", "", "").decode(t, 200, &got)
			sameExchange(t, d.exs[name], &got)
		})
	}
	t.Run("get by a lower-case id", func(t *testing.T) {
		var got Exchange
		e.do(t, "GET", "/api/exchanges/"+strings.ToLower(d.exs["e2"].ID)+"?reveal=1", "", "").decode(t, 200, &got)
		sameExchange(t, d.exs["e2"], &got)
		if r := e.do(t, "GET", "/api/exchanges/"+strings.ToLower(d.exs["e2"].ID)+"/raw", "", ""); r.status != 200 {
			t.Errorf("raw by a lower-case id: %d %s", r.status, r.body)
		}
	})
	t.Run("get binary body is base64", func(t *testing.T) {
		var m struct {
			Request struct{ Body, Encoding string }
		}
		e.do(t, "GET", "/api/exchanges/"+d.exs["e6"].ID, "", "").decode(t, 200, &m)
		if m.Request.Encoding != "base64" {
			t.Errorf("encoding %q, want base64", m.Request.Encoding)
		}
	})
	t.Run("get missing", func(t *testing.T) {
		e.do(t, "GET", "/api/exchanges/"+testIDs.New(time.Now()), "", "").wantError(t, 404, "not found")
	})
	t.Run("raw and curl of missing", func(t *testing.T) {
		e.do(t, "GET", "/api/exchanges/nope/raw", "", "").wantError(t, 404)
		e.do(t, "GET", "/api/exchanges/nope/curl", "", "").wantError(t, 404)
	})
	t.Run("delete", func(t *testing.T) {
		id := d.exs["e1"].ID
		if r := e.do(t, "DELETE", "/api/exchanges/"+id, "", ""); r.status != 204 || len(r.body) != 0 {
			t.Fatalf("DELETE = %d %s, want 204 and no body", r.status, r.body)
		}
		e.do(t, "GET", "/api/exchanges/"+id, "", "").wantError(t, 404)
		e.do(t, "DELETE", "/api/exchanges/"+id, "", "").wantError(t, 404)
	})
	t.Run("clear refuses other filters", func(t *testing.T) {
		// Not ignored (which deleted everything): refused, nothing deleted.
		for _, q := range []string{"method=GET", "q=path:/other/*", "bin=b&method=GET", "status=200", "source=capture"} {
			e.do(t, "DELETE", "/api/exchanges?"+q, "", "").wantError(t, 400, "takes only bin=")
		}
		var l listAnswer
		e.do(t, "GET", "/api/exchanges", "", "").decode(t, 200, &l)
		if len(l.Exchanges) != 5 {
			t.Errorf("%d left, want 5: a refused clear deleted some", len(l.Exchanges))
		}
	})
	t.Run("clear a bin", func(t *testing.T) {
		var got struct{ Deleted int64 }
		e.do(t, "DELETE", "/api/exchanges?bin=b", "", "").decode(t, 200, &got)
		if got.Deleted != 2 {
			t.Errorf("deleted %d, want 2", got.Deleted)
		}
		var l listAnswer
		e.do(t, "GET", "/api/exchanges", "", "").decode(t, 200, &l)
		if len(l.Exchanges) != 3 {
			t.Errorf("%d left, want 3 (e2, e5, e6)", len(l.Exchanges))
		}
	})
	t.Run("clear all", func(t *testing.T) {
		var got struct{ Deleted int64 }
		e.do(t, "DELETE", "/api/exchanges", "", "").decode(t, 200, &got)
		if got.Deleted != 3 {
			t.Errorf("deleted %d, want 3", got.Deleted)
		}
		var l listAnswer
		e.do(t, "GET", "/api/exchanges", "", "").decode(t, 200, &l)
		if len(l.Exchanges) != 0 {
			t.Errorf("%d left after clearing all", len(l.Exchanges))
		}
	})
	t.Run("unknown route", func(t *testing.T) {
		// JSON like every other API error.
		r := e.do(t, "PATCH", "/api/exchanges", "", "")
		r.wantError(t, 405, "PATCH /api/exchanges is not allowed")
		if allow := r.header.Get("Allow"); !strings.Contains(allow, "GET") || !strings.Contains(allow, "DELETE") {
			t.Errorf("Allow %q", allow)
		}
		e.do(t, "GET", "/api/nope", "", "").wantError(t, 404, "no API endpoint /api/nope")
	})
}

func TestAPIBins(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	mustAdd(t, e.store, newEx("default", "GET", "http://h/", at(base)), newEx("seen", "GET", "http://h/", at(base.Add(time.Second))))

	type created struct{ Name, URL string }
	t.Run("given name", func(t *testing.T) {
		var got created
		e.do(t, "POST", "/api/bins", "application/json", `{"name":"orders"}`).decode(t, 201, &got)
		if got != (created{"orders", "http://127.0.0.1:8080/b/orders/"}) {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("generated name", func(t *testing.T) {
		for _, body := range []string{"", "{}", `{"name":""}`} {
			var got created
			e.do(t, "POST", "/api/bins", "application/json", body).decode(t, 201, &got)
			if ValidBin(got.Name) != nil || got.URL != "http://127.0.0.1:8080/b/"+got.Name+"/" {
				t.Errorf("body %q: got %+v", body, got)
			}
		}
	})
	for _, tt := range []struct{ name, body, mention string }{
		{"invalid name", `{"name":"no/slash"}`, "bin name"},
		{"too long", `{"name":"` + strings.Repeat("a", 65) + `"}`, "64"},
		{"malformed JSON", "{\n\"name\": }", "line 2"},
		{"unknown field", `{"nom":"x"}`, "nom"},
		{"wrong type", `{"name":5}`, "name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.do(t, "POST", "/api/bins", "application/json", tt.body).wantError(t, 400, tt.mention)
		})
	}
	t.Run("too large", func(t *testing.T) {
		e.do(t, "POST", "/api/bins", "application/json", `{"name":"`+strings.Repeat("a", 1<<20)+`"}`).wantError(t, 413)
	})
	t.Run("list", func(t *testing.T) {
		var got struct {
			Bins []struct {
				Name     string
				Count    int64
				URL      string
				LastSeen *time.Time `json:"last_seen"`
			}
		}
		e.do(t, "GET", "/api/bins", "", "").decode(t, 200, &got)
		byName := map[string]int{}
		for i, b := range got.Bins {
			byName[b.Name] = i
		}
		for _, want := range []struct {
			name, url string
			count     int64
			seen      time.Time
		}{
			{"default", "http://127.0.0.1:8080/", 1, base},
			{"seen", "http://127.0.0.1:8080/b/seen/", 1, base.Add(time.Second)},
			{"orders", "http://127.0.0.1:8080/b/orders/", 0, time.Time{}},
		} {
			i, ok := byName[want.name]
			if !ok {
				t.Errorf("bin %s not listed in %+v", want.name, got.Bins)
				continue
			}
			b := got.Bins[i]
			if b.URL != want.url || b.Count != want.count {
				t.Errorf("bin %s = %+v, want url %s count %d", want.name, b, want.url, want.count)
			}
			if want.seen.IsZero() != (b.LastSeen == nil) || b.LastSeen != nil && !b.LastSeen.Equal(want.seen) {
				t.Errorf("bin %s last_seen = %v, want %v", want.name, b.LastSeen, want.seen)
			}
		}
		if len(got.Bins) != 6 { // default, seen, orders and three generated
			t.Errorf("%d bins listed, want 6", len(got.Bins))
		}
	})
}

// waitCall runs a wait request in the background.
func (e *apiEnv) waitCall(t *testing.T, ctx context.Context, query string) <-chan apiResponse {
	t.Helper()
	ch := make(chan apiResponse, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/exchanges/wait?"+query, nil)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			ch <- apiResponse{status: -1, body: []byte(err.Error())}
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		ch <- apiResponse{resp.StatusCode, resp.Header, b}
	}()
	return ch
}

func receive(t *testing.T, ch <-chan apiResponse) apiResponse {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(30 * time.Second):
		t.Fatal("no answer to wait")
		return apiResponse{}
	}
}

func TestAPIWait(t *testing.T) {
	t.Parallel()

	t.Run("an exchange added while waiting", func(t *testing.T) {
		t.Parallel()
		e := newAPIEnv(t)
		mustAdd(t, e.store, newEx("w", "GET", "http://h/before")) // already there: not the answer
		ch := e.waitCall(t, context.Background(), "bin=w&q=needle&timeout=30s")
		eventually(t, 10*time.Second, "subscribed", func() bool { return e.hub.Subscribers() == 1 })
		other := newEx("x", "GET", "http://h/needle") // other bin
		plain := newEx("w", "GET", "http://h/hay")    // no needle
		want := newEx("w", "POST", "http://h/p", reqBody([]byte("a needle here")))
		mustAdd(t, e.store, other, plain, want)
		var got Exchange
		receive(t, ch).decode(t, 200, &got)
		sameExchange(t, want, &got)
		eventually(t, 10*time.Second, "unsubscribed", func() bool { return e.hub.Subscribers() == 0 })
	})

	// timeout=0 looks in the store and answers at once; since= counts
	// stored exchanges from that time on, not only arrivals.
	t.Run("timeout 0 and since look in the store", func(t *testing.T) {
		t.Parallel()
		e := newAPIEnv(t)
		first := newEx("w", "GET", "http://h/1")
		second := newEx("w", "GET", "http://h/2")
		second.Time = first.Time.Add(time.Second)
		mustAdd(t, e.store, first, second)
		var got Exchange
		e.do(t, "GET", "/api/exchanges/wait?bin=w&after="+first.ID+"&timeout=0", "", "").decode(t, 200, &got)
		if got.ID != second.ID {
			t.Errorf("timeout=0 after the first: got %s, want %s", got.ID, second.ID)
		}
		if r := e.do(t, "GET", "/api/exchanges/wait?bin=w&after="+second.ID+"&timeout=0", "", ""); r.status != 204 {
			t.Errorf("timeout=0 after the newest: %d %s, want 204", r.status, r.body)
		}
		since := url.QueryEscape(second.Time.Format(time.RFC3339Nano))
		e.do(t, "GET", "/api/exchanges/wait?bin=w&since="+since+"&timeout=0", "", "").decode(t, 200, &got)
		if got.ID != second.ID {
			t.Errorf("since the second's time: got %s, want %s", got.ID, second.ID)
		}
		later := url.QueryEscape(second.Time.Add(time.Second).Format(time.RFC3339Nano))
		if r := e.do(t, "GET", "/api/exchanges/wait?bin=w&since="+later+"&timeout=0", "", ""); r.status != 204 {
			t.Errorf("since after the newest: %d %s, want 204", r.status, r.body)
		}
	})

	t.Run("after an id returns a stored newer one at once", func(t *testing.T) {
		t.Parallel()
		e := newAPIEnv(t)
		first := newEx("w", "GET", "http://h/1")
		other := newEx("x", "GET", "http://h/2")
		second := newEx("w", "GET", "http://h/3", reqBody([]byte("second")))
		third := newEx("w", "GET", "http://h/4")
		mustAdd(t, e.store, first, other, second, third)
		start := time.Now()
		var got Exchange
		e.do(t, "GET", "/api/exchanges/wait?bin=w&after="+first.ID+"&timeout=50s", "", "").decode(t, 200, &got)
		if got.ID != second.ID {
			t.Errorf("got %s, want the next newer in bin w %s", got.ID, second.ID)
		}
		sameExchange(t, second, &got)
		// The same id in lower case is the same id.
		var again Exchange
		e.do(t, "GET", "/api/exchanges/wait?bin=w&after="+strings.ToLower(first.ID)+"&timeout=50s", "", "").decode(t, 200, &again)
		if again.ID != second.ID {
			t.Errorf("after a lower-case id: got %s, want %s", again.ID, second.ID)
		}
		if d := time.Since(start); d > 25*time.Second {
			t.Errorf("took %v: it waited", d)
		}
	})

	t.Run("after an id returns a stored match further on than a page scans", func(t *testing.T) {
		t.Parallel()
		e := newAPIEnv(t)
		first := newEx("w", "GET", "http://h/first")
		mustAdd(t, e.store, first)
		for i := range 10_050 { // path: is checked by reading summaries, 10,000 a page
			mustAdd(t, e.store, newEx("w", "POST", fmt.Sprintf("http://h/%d", i)))
		}
		want := newEx("w", "POST", "http://h/needle")
		mustAdd(t, e.store, want)
		var got Exchange
		e.do(t, "GET", "/api/exchanges/wait?q=path:/needle&after="+first.ID+"&timeout=60s", "", "").decode(t, 200, &got)
		if got.ID != want.ID {
			t.Errorf("got %s, want %s", got.ID, want.ID)
		}
	})

	t.Run("after the newest waits for the next", func(t *testing.T) {
		t.Parallel()
		e := newAPIEnv(t)
		last := newEx("w", "GET", "http://h/last")
		mustAdd(t, e.store, last)
		ch := e.waitCall(t, context.Background(), "after="+last.ID+"&timeout=30s")
		eventually(t, 10*time.Second, "subscribed", func() bool { return e.hub.Subscribers() == 1 })
		next := newEx("w", "GET", "http://h/next")
		mustAdd(t, e.store, next)
		var got Exchange
		receive(t, ch).decode(t, 200, &got)
		if got.ID != next.ID {
			t.Errorf("got %s, want %s", got.ID, next.ID)
		}
	})

	for _, tt := range []struct{ name, query string }{
		{"timeout", "bin=w&timeout=50ms"},
		{"timeout in seconds", "timeout=0.05"},
		{"zero timeout", "timeout=0"},
		{"timeout after the newest", "after=LAST&timeout=50ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newAPIEnv(t)
			last := newEx("w", "GET", "http://h/")
			mustAdd(t, e.store, last)
			r := e.do(t, "GET", "/api/exchanges/wait?"+strings.ReplaceAll(tt.query, "LAST", last.ID), "", "")
			if r.status != 204 || len(r.body) != 0 {
				t.Errorf("got %d %s, want 204 and no body", r.status, r.body)
			}
			if n := e.hub.Subscribers(); n != 0 {
				t.Errorf("%d subscribers left", n)
			}
		})
	}

	t.Run("bad timeout", func(t *testing.T) {
		t.Parallel()
		e := newAPIEnv(t)
		for _, q := range []string{"timeout=abc", "timeout=-1s", "timeout=2m", "timeout=1e9"} {
			e.do(t, "GET", "/api/exchanges/wait?"+q, "", "").wantError(t, 400, "timeout")
		}
	})

	t.Run("client gone", func(t *testing.T) {
		t.Parallel()
		e := newAPIEnv(t)
		ctx, cancel := context.WithCancel(context.Background())
		ch := e.waitCall(t, ctx, "timeout=30s")
		eventually(t, 10*time.Second, "subscribed", func() bool { return e.hub.Subscribers() == 1 })
		cancel()
		if r := receive(t, ch); r.status != -1 {
			t.Errorf("cancelled wait answered %d", r.status)
		}
		eventually(t, 10*time.Second, "unsubscribed after the client left", func() bool { return e.hub.Subscribers() == 0 })
	})

	t.Run("much non-matching traffic", func(t *testing.T) {
		t.Parallel()
		// More non-matching traffic than a waiter's buffer, then the match.
		e := newAPIEnv(t)
		ch := e.waitCall(t, context.Background(), "bin=w&q=needle&timeout=30s")
		eventually(t, 10*time.Second, "subscribed", func() bool { return e.hub.Subscribers() == 1 })
		var wg sync.WaitGroup
		for i := range 300 {
			wg.Go(func() {
				if err := e.store.Add(context.Background(), newEx("w", "GET", "http://h/hay/"+strings.Repeat("x", i%7))); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		want := newEx("w", "GET", "http://h/needle")
		mustAdd(t, e.store, want)
		var got Exchange
		receive(t, ch).decode(t, 200, &got)
		if got.ID != want.ID {
			t.Errorf("got %s, want %s", got.ID, want.ID)
		}
	})
}

func TestAPIRaw(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	tests := []struct {
		name string
		ex   *Exchange
		want string
	}{
		{"post with headers", &Exchange{Request: Request{
			Method: "POST", URL: "http://127.0.0.1:8080/b/x/hook?a=1&b=%20", Host: "127.0.0.1:8080",
			Headers: Headers{{"Host", "127.0.0.1:8080"}, {"Content-Length", "7"}, {"x-lower", "v"}, {"X-Dup", "1"}, {"X-Dup", "2"}},
			Body:    []byte("{\"a\":1}"),
		}}, "POST /b/x/hook?a=1&b=%20 HTTP/1.1\r\nHost: 127.0.0.1:8080\r\nContent-Length: 7\r\nx-lower: v\r\nX-Dup: 1\r\nX-Dup: 2\r\n\r\n{\"a\":1}"},
		{"host and length added", &Exchange{Request: Request{
			Method: "PUT", URL: "http://example.test/p", Host: "example.test",
			Headers: Headers{{"Content-Type", "text/plain"}}, Body: []byte("abc"),
		}}, "PUT /p HTTP/1.1\r\nHost: example.test\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\nabc"},
		{"chunked body written whole", &Exchange{Request: Request{
			Method: "POST", URL: "http://h/", Host: "h",
			Headers: Headers{{"Host", "h"}, {"Transfer-Encoding", "chunked"}}, Body: []byte("xyz"),
		}}, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nxyz"},
		{"binary body", &Exchange{Request: Request{
			Method: "POST", URL: "http://h", Host: "h", Body: []byte{0, 0xff, '\r', '\n'},
		}}, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\n\r\n\x00\xff\r\n"},
		{"get without body", &Exchange{Request: Request{Method: "GET", URL: "http://h/a%2Fb?x", Host: "h"}},
			"GET /a%2Fb?x HTTP/1.1\r\nHost: h\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.ex.ID = testIDs.New(time.Now())
			tt.ex.Bin, tt.ex.Source, tt.ex.Time = "r", SourceCapture, base
			mustAdd(t, e.store, tt.ex)
			r := e.do(t, "GET", "/api/exchanges/"+tt.ex.ID+"/raw", "", "")
			if r.status != 200 || r.header.Get("Content-Type") != "message/http" {
				t.Fatalf("got %d %q", r.status, r.header.Get("Content-Type"))
			}
			if string(r.body) != tt.want {
				t.Errorf("raw =\n%q\nwant\n%q", r.body, tt.want)
			}
			// It parses back as the same request.
			req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(r.body)))
			if err != nil {
				t.Fatalf("ReadRequest: %v", err)
			}
			body, _ := io.ReadAll(req.Body)
			if req.Method != tt.ex.Request.Method || !bytes.Equal(body, tt.ex.Request.Body) {
				t.Errorf("parsed back as %s with body %q", req.Method, body)
			}
		})
	}
}

// goneOnce is a store whose Get says the first id asked for is gone, as
// when retention deletes a row between its listing and its read.
type goneOnce struct {
	*SQLite
	once sync.Once
}

func (g *goneOnce) Get(ctx context.Context, id string) (*Exchange, error) {
	gone := false
	g.once.Do(func() { gone = true })
	if gone {
		return nil, fmt.Errorf("exchange %s: %w", id, ErrNotFound)
	}
	return g.SQLite.Get(ctx, id)
}

// TestWaitLooksPastARowDeletedMeanwhile: a wait whose first match is
// deleted before it is read answers the next match (it answered 404 for an
// id the caller never asked about, or 204 with timeout=0).
func TestWaitLooksPastARowDeletedMeanwhile(t *testing.T) {
	t.Parallel()
	hub := NewHub()
	st := openStore(t, t.TempDir(), Options{OnCommit: hub.PublishExchanges})
	first, second := newEx("b", "POST", "/one"), newEx("b", "POST", "/two")
	for _, ex := range []*Exchange{first, second} {
		if err := st.Add(context.Background(), ex); err != nil {
			t.Fatal(err)
		}
	}
	srv := httptest.NewServer(NewAPI(APIConfig{Store: &goneOnce{SQLite: st}, Hub: hub, MaxWait: time.Minute,
		CaptureURL: func() string { return "http://127.0.0.1:8080/" }}))
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/api/exchanges/wait?after=00000000000000000000000000&timeout=0")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct{ ID string }
	if err := json.NewDecoder(resp.Body).Decode(&got); resp.StatusCode != 200 || err != nil || got.ID != second.ID {
		t.Errorf("wait answered %d with %q (%v), want 200 with the second exchange %s", resp.StatusCode, got.ID, err, second.ID)
	}
}

// TestAfterAGoneExchangeGoesOnInStoreOrder: after= naming an exchange that
// retention or a delete removed goes on from where that exchange was
// stored, as it does while it is there. It went on in id order instead, so
// a wait (or tail's catch-up, or a list) after it skipped a proxied
// exchange that began before it and was stored after it, and answered one
// stored before it that began after it.
func TestAfterAGoneExchangeGoesOnInStoreOrder(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		retain int64
		// order of the ids: slow began first, then gone, then quick; the
		// store order is quick (when stored first), gone, slow, then later.
		quickFirst bool
		remove     func(e *apiEnv, gone *Exchange)
		want       func(slow, later *Exchange) []string
	}{
		{
			name: "retention", retain: 2,
			remove: func(*apiEnv, *Exchange) {}, // the next Add retains it away
			want:   func(slow, later *Exchange) []string { return idsOf(slow, later) },
		},
		{
			name: "delete", quickFirst: true,
			remove: func(e *apiEnv, gone *Exchange) {
				if r := e.do(t, "DELETE", "/api/exchanges/"+gone.ID, "", ""); r.status != http.StatusNoContent {
					t.Fatalf("DELETE: %d %s", r.status, r.body)
				}
			},
			want: func(slow, later *Exchange) []string { return idsOf(slow, later) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			hub := NewHub()
			st := openStore(t, t.TempDir(), Options{OnCommit: hub.PublishExchanges, RetainCount: tc.retain})
			srv := httptest.NewServer(NewAPI(APIConfig{Store: st, Hub: hub, MaxWait: time.Minute,
				CaptureURL: func() string { return "http://127.0.0.1:8080/" }}))
			t.Cleanup(srv.Close)
			e := &apiEnv{store: st, hub: hub, srv: srv}
			slow := newEx("b", "POST", "http://h/slow", source(SourceProxy)) // its id is taken first
			gone := newEx("b", "POST", "http://h/gone")
			quick := newEx("b", "POST", "http://h/quick") // began after gone, stored before it
			later := newEx("b", "POST", "http://h/later")
			if tc.quickFirst {
				mustAdd(t, st, quick)
			}
			mustAdd(t, st, gone, slow)
			tc.remove(e, gone)
			mustAdd(t, st, later)
			if _, err := st.Get(context.Background(), gone.ID); !errors.Is(err, ErrNotFound) {
				t.Fatalf("the exchange after= names is still there (%v)", err)
			}
			names := map[string]string{slow.ID: "slow", gone.ID: "gone", quick.ID: "quick", later.ID: "later"}
			want := tc.want(slow, later)

			var page listAnswer
			e.do(t, "GET", "/api/exchanges?order=asc&after="+gone.ID, "", "").decode(t, 200, &page)
			var got []string
			for _, s := range page.Exchanges {
				got = append(got, s.ID)
			}
			if !slices.Equal(got, want) {
				t.Errorf("list after the gone exchange: %s, want %s", fmtIDs(got, names), fmtIDs(want, names))
			}
			var ex Exchange
			e.do(t, "GET", "/api/exchanges/wait?after="+gone.ID+"&timeout=0", "", "").decode(t, 200, &ex)
			if ex.ID != want[0] {
				t.Errorf("wait after the gone exchange: %s, want %s", fmtIDs([]string{ex.ID}, names), fmtIDs(want[:1], names))
			}
		})
	}
}

// TestCursorAcrossAMemoryRestart: a cursor a --memory server gave out
// before it restarted goes on sensibly in the next run, whose store starts
// empty: oldest first, with everything stored since; newest first, with
// nothing (what was older is gone). The next run numbered its rows from 1
// again, so oldest first skipped as many of its exchanges as the first run
// had stored, and newest first listed its newest as older than the page
// before.
func TestCursorAcrossAMemoryRestart(t *testing.T) {
	t.Parallel()
	serve := func() (*SQLite, *apiEnv) {
		hub := NewHub()
		st, err := OpenSQLite("", Options{Memory: true, OnCommit: hub.PublishExchanges})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(NewAPI(APIConfig{Store: st, Hub: hub, MaxWait: time.Minute,
			CaptureURL: func() string { return "http://127.0.0.1:8080/" }}))
		return st, &apiEnv{store: st, hub: hub, srv: srv}
	}
	st, e := serve()
	for i := range 30 {
		mustAdd(t, st, newEx("m", "POST", fmt.Sprintf("http://h/old%d", i)))
	}
	cursors := map[string]string{}
	for _, order := range []string{"asc", "desc"} {
		var page listAnswer
		e.do(t, "GET", "/api/exchanges?limit=10&order="+order, "", "").decode(t, 200, &page)
		if page.Next == "" {
			t.Fatalf("order=%s: no cursor after 10 of 30", order)
		}
		cursors[order] = page.Next
	}
	e.srv.Close()
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, e = serve()
	t.Cleanup(func() {
		e.srv.Close()
		st.Close()
	})
	var fresh []*Exchange
	for i := range 3 {
		fresh = append(fresh, newEx("m", "POST", fmt.Sprintf("http://h/new%d", i)))
	}
	mustAdd(t, st, fresh...)
	for _, tc := range []struct {
		order string
		want  []string
	}{
		{"asc", idsOf(fresh...)},
		{"desc", nil},
	} {
		var page listAnswer
		e.do(t, "GET", "/api/exchanges?limit=10&order="+tc.order+"&cursor="+cursors[tc.order], "", "").decode(t, 200, &page)
		var got []string
		for _, s := range page.Exchanges {
			got = append(got, s.URL)
		}
		var want []string
		for _, id := range tc.want {
			for _, ex := range fresh {
				if ex.ID == id {
					want = append(want, ex.Request.URL)
				}
			}
		}
		if !slices.Equal(got, want) {
			t.Errorf("order=%s with the first run's cursor %s: %v, want %v", tc.order, cursors[tc.order], got, want)
		}
	}
}

// countHandler counts the records logged with each message.
type countHandler struct {
	mu sync.Mutex
	n  map[string]int
}

func (h *countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *countHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.n[r.Message]++
	return nil
}
func (h *countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countHandler) WithGroup(string) slog.Handler      { return h }

// TestErrorWriterStoreFullLogsOnce: a full disk refuses every request that
// writes, thousands a second; the log says so once a period, as it does
// for captures, not once a request (POST /api/events logged 9,600 lines
// in 10 s). Other server errors are each logged.
func TestErrorWriterStoreFullLogsOnce(t *testing.T) {
	h := &countHandler{n: map[string]int{}}
	errs := NewErrorWriter(slog.New(h))
	logged := func() int {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.n["request failed"]
	}
	for range 1000 {
		rec := httptest.NewRecorder()
		errs.Write(rec, httptest.NewRequest("POST", "/api/events", nil), fmt.Errorf("queue invocations: %w: emit.db: database or disk is full", ErrStoreFull))
		if rec.Code != http.StatusServiceUnavailable {
			t.Fatalf("status %d, want 503", rec.Code)
		}
	}
	n := logged()
	if n != 1 {
		// Once: the first refusal is logged at once (the others are
		// held back), not never.
		t.Errorf("logged %q %d times for 1000 refusals in a row, want once", "request failed", n)
	}
	for range 2 {
		errs.Write(httptest.NewRecorder(), httptest.NewRequest("GET", "/api/exchanges", nil), errors.New("reading the database: boom"))
	}
	if got := logged(); got != n+2 {
		t.Errorf("two other server errors made %d lines, want 2", got-n)
	}
}
