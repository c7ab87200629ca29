package inspect

import (
	"bytes"
	"compress/gzip"
	"net/url"
	"testing"
	"time"
)

// A json: search reads each stored body decoded, up to MaxDecodedView: a
// page over stored gzip bombs (100 KB each) decoded 32 MiB a row, and a
// listing over a few hundred of them took half a minute. A page stops
// once its json: terms have read MaxMatchRead bytes and gives a cursor;
// paging on finds the match further down.
func TestJSONSearchReadBounded(t *testing.T) {
	t.Parallel()
	e := newAPIEnv(t)
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(make([]byte, MaxDecodedView))
	zw.Close()
	match := newEx("default", "POST", "/evt", reqBody([]byte(`{"type":"order.created"}`)))
	mustAdd(t, e.store, match)
	const bombs = 3 // 3 × 32 MiB decoded: more than MaxMatchRead
	for range bombs {
		mustAdd(t, e.store, newEx("default", "POST", "/bomb", reqHeader("Content-Encoding", "gzip"), reqBody(gz.Bytes())))
	}

	path := "/api/exchanges?q=" + url.QueryEscape("json:type=order.created")
	start := time.Now()
	var first listAnswer
	e.do(t, "GET", path, "", "").decode(t, 200, &first)
	took := time.Since(start)
	if len(first.Exchanges) != 0 || first.Next == "" {
		t.Fatalf("first page: %d matches, next %q (in %v); want none and a cursor: it should stop after reading %d MiB of bodies, not decode all %d bombs",
			len(first.Exchanges), first.Next, took, MaxMatchRead>>20, bombs)
	}
	next, pages := first.Next, 1
	var found []Summary
	for next != "" {
		var a listAnswer
		e.do(t, "GET", path+"&cursor="+url.QueryEscape(next), "", "").decode(t, 200, &a)
		found = append(found, a.Exchanges...)
		next = a.Next
		if pages++; pages > bombs+1 {
			t.Fatalf("%d pages and still a cursor", pages)
		}
	}
	if len(found) != 1 || found[0].ID != match.ID {
		t.Fatalf("paging on found %v; want only %s", found, match.ID)
	}
}
