package inspect

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// row is an exchange as the exchanges table stores it. The caller builds it
// (so the work runs on the request's goroutine, not the single writer's),
// the journal records it, and the writer binds it.
type row struct {
	id, bin, source                        string
	timeNS, durationNS                     int64
	method, url, path, proto, host, remote string
	tls                                    bool
	reqHeaders                             string
	reqSize                                int64
	reqTruncated                           bool
	reqBody                                []byte
	status                                 int64
	hasResponse                            bool
	respHeaders                            string
	respSize                               int64
	respTruncated                          bool
	respBody                               []byte
	truncated                              bool
	rule, signature, errText               string
	extra                                  []byte
	bytes                                  int64
}

func newRow(ex *Exchange) (*row, error) {
	xtra, err := encodeExtra(ex)
	if err != nil {
		return nil, fmt.Errorf("encode exchange: %w", err)
	}
	r := &row{
		id: ex.ID, bin: ex.Bin, source: string(ex.Source),
		timeNS: ex.Time.UnixNano(), durationNS: int64(ex.Duration),
		method: ex.Request.Method, url: ex.Request.URL, path: pathOf(ex.Request.URL), proto: ex.Request.Proto,
		host: ex.Request.Host, remote: ex.Request.RemoteAddr, tls: ex.Request.TLS,
		reqHeaders: storedHeaders(ex.Request.Headers),
		reqSize:    ex.Request.Size, reqTruncated: ex.Request.Truncated, reqBody: nonNil(ex.Request.Body),
		status: int64(ex.Status()), truncated: ex.truncated(),
		rule: ex.Rule, errText: ex.Error, extra: xtra, bytes: ex.StoredBytes(),
	}
	if ex.Signature != nil {
		r.signature = ex.Signature.Verdict
	}
	if resp := ex.Response; resp != nil {
		r.hasResponse = true
		r.respHeaders = storedHeaders(resp.Headers)
		r.respSize, r.respTruncated, r.respBody = resp.Size, resp.Truncated, resp.Body
	}
	return r, nil
}

// args are the values of insertSQL.
func (r *row) args() []any {
	var respHeaders any // NULL: no response
	if r.hasResponse {
		respHeaders = r.respHeaders
	}
	return []any{r.id, r.bin, r.source, r.timeNS, r.durationNS, r.method,
		r.url, r.path, r.proto, r.host, r.remote, boolInt(r.tls),
		r.reqHeaders, r.reqSize, boolInt(r.reqTruncated), r.reqBody,
		r.status, respHeaders, r.respSize, boolInt(r.respTruncated), r.respBody, boolInt(r.truncated),
		r.rule, r.signature, r.errText, r.extra, r.bytes}
}

// appendRefArgs appends the values of insertRefSQL for a row whose journal
// record is at off in segment seg.
func (r *row) appendRefArgs(args []any, seg uint64, off int64) []any {
	return append(args, r.id, r.bin, r.source, r.timeNS, r.durationNS, r.method, r.url, r.path,
		r.reqSize, r.status, r.respSize, boolInt(r.truncated),
		r.rule, r.signature, r.errText, r.bytes, int64(seg), off)
}

// exchange is the Exchange r was made from (newRow's reverse).
func (r *row) exchange() (*Exchange, error) {
	ex := &Exchange{ID: r.id, Bin: r.bin, Source: Source(r.source), Time: time.Unix(0, r.timeNS).UTC(),
		Duration: time.Duration(r.durationNS), Rule: r.rule, Error: r.errText}
	ex.Request = Request{Method: r.method, URL: r.url, Proto: r.proto, Host: r.host, RemoteAddr: r.remote, TLS: r.tls,
		Headers: parseHeaderText(r.reqHeaders), Body: nonNil(r.reqBody), Size: r.reqSize, Truncated: r.reqTruncated}
	if r.hasResponse {
		ex.Response = &Response{Status: int(r.status), Headers: parseHeaderText(r.respHeaders), Body: r.respBody,
			Size: r.respSize, Truncated: r.respTruncated}
	}
	if err := decodeExtra(ex, r.extra); err != nil {
		return nil, err
	}
	return ex, nil
}

// rowVersion leads every encoded row, so that a later hooklab can tell
// the layouts apart.
const rowVersion = 1

// appendTo appends r's journal encoding: a version byte, then each field
// in declaration order, strings and bytes with a uvarint length, integers
// as varints, booleans as one byte. Bytes that were nil come back nil.
func (r *row) appendTo(b []byte) []byte {
	str := func(s string) {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	blob := func(p []byte) {
		if p == nil {
			b = append(b, 0)
			return
		}
		b = binary.AppendUvarint(b, uint64(len(p))+1)
		b = append(b, p...)
	}
	num := func(n int64) { b = binary.AppendVarint(b, n) }
	flag := func(v bool) {
		if v {
			b = append(b, 1)
		} else {
			b = append(b, 0)
		}
	}
	b = append(b, rowVersion)
	str(r.id)
	str(r.bin)
	str(r.source)
	num(r.timeNS)
	num(r.durationNS)
	str(r.method)
	str(r.url)
	str(r.path)
	str(r.proto)
	str(r.host)
	str(r.remote)
	flag(r.tls)
	str(r.reqHeaders)
	num(r.reqSize)
	flag(r.reqTruncated)
	blob(r.reqBody)
	num(r.status)
	flag(r.hasResponse)
	str(r.respHeaders)
	num(r.respSize)
	flag(r.respTruncated)
	blob(r.respBody)
	flag(r.truncated)
	str(r.rule)
	str(r.signature)
	str(r.errText)
	blob(r.extra)
	num(r.bytes)
	return b
}

var errBadRow = errors.New("malformed journal row")

// decodeRow reverses appendTo. The row's strings and bytes are copies.
func decodeRow(b []byte) (*row, error) {
	if len(b) == 0 || b[0] != rowVersion {
		return nil, errBadRow
	}
	b = b[1:]
	bad := false
	raw := func(n uint64) []byte {
		if bad || n > uint64(len(b)) {
			bad = true
			return nil
		}
		p := b[:n]
		b = b[n:]
		return p
	}
	length := func() uint64 {
		n, k := binary.Uvarint(b)
		if k <= 0 {
			bad = true
			return 0
		}
		b = b[k:]
		return n
	}
	str := func() string { return string(raw(length())) }
	blob := func() []byte {
		n := length()
		if n == 0 || bad {
			return nil
		}
		return append([]byte{}, raw(n-1)...)
	}
	num := func() int64 {
		n, k := binary.Varint(b)
		if k <= 0 {
			bad = true
			return 0
		}
		b = b[k:]
		return n
	}
	flag := func() bool {
		p := raw(1)
		return len(p) == 1 && p[0] == 1
	}
	r := &row{}
	r.id = str()
	r.bin = str()
	r.source = str()
	r.timeNS = num()
	r.durationNS = num()
	r.method = str()
	r.url = str()
	r.path = str()
	r.proto = str()
	r.host = str()
	r.remote = str()
	r.tls = flag()
	r.reqHeaders = str()
	r.reqSize = num()
	r.reqTruncated = flag()
	r.reqBody = blob()
	r.status = num()
	r.hasResponse = flag()
	r.respHeaders = str()
	r.respSize = num()
	r.respTruncated = flag()
	r.respBody = blob()
	r.truncated = flag()
	r.rule = str()
	r.signature = str()
	r.errText = str()
	r.extra = blob()
	r.bytes = num()
	if bad || len(b) != 0 {
		return nil, errBadRow
	}
	if r.reqBody == nil {
		r.reqBody = []byte{}
	}
	return r, nil
}
