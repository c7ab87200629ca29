package inspect

import (
	"net/http"
	"net/url"
	"testing"
)

// json: reads a gzip or deflate body (Content-Encoding) decoded, as mock
// rules and the UI do: a gzipped webhook is found by its fields, in the
// list and by /wait, and so is a proxied answer its upstream compressed.
// A body that does not decode in its coding is read as it is, as rules
// read it.
func TestQueryJSONDecodesContentEncoding(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	hook := newEx("hooks", "POST", "http://h/hook", reqBody(encoded(t, "gzip", `{"type":"order.created","id":"evt_gz1"}`)),
		reqHeader("Content-Encoding", "gzip"), reqHeader("Content-Type", "application/json"))
	proxied := newEx("api", "GET", "http://h/status", source(SourceProxy), respBody(encoded(t, "deflate", `{"status":"failed"}`)),
		respHeader("Content-Encoding", "deflate"), respHeader("Content-Type", "application/json"))
	broken := newEx("hooks", "POST", "http://h/broken", reqBody([]byte(`{"id":"evt_plain"}`)),
		reqHeader("Content-Encoding", "gzip"))
	mustAdd(t, e.store, hook, proxied, broken)
	for q, want := range map[string][]string{
		"json:id=evt_gz1":           {hook.ID},
		"json:type":                 {hook.ID},
		"json:status=failed":        {proxied.ID},
		"-json:status source:proxy": nil,
		"json:id=evt_plain":         {broken.ID}, // not gzip as it says: read as it is
	} {
		var page struct {
			Exchanges []Summary `json:"exchanges"`
		}
		e.do(t, "GET", "/api/exchanges?q="+url.QueryEscape(q), "", "").decode(t, http.StatusOK, &page)
		var got []string
		for _, s := range page.Exchanges {
			got = append(got, s.ID)
		}
		if len(got) != len(want) || len(want) > 0 && got[0] != want[0] {
			t.Errorf("q=%s lists %v, want %v", q, got, want)
		}
	}
	var ex Exchange
	e.do(t, "GET", "/api/exchanges/wait?timeout=0&after=00000000000000000000000000&q="+url.QueryEscape("json:id=evt_gz1"), "", "").decode(t, http.StatusOK, &ex)
	if ex.ID != hook.ID {
		t.Errorf("wait for json:id=evt_gz1 gives %s, want %s", ex.ID, hook.ID)
	}
}
