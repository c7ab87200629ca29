package inspect

import (
	"database/sql"
	"encoding/json"
	"strings"
)

// Headers are stored as text, one "Name: value" line per header, so that
// they are cheap to write and a scan can search them as the "Name: value"
// pairs Query.Matches sees. Backslash, CR and LF are escaped in names and
// values, and so is a ':' followed by a space in a name (never in a valid
// HTTP header name), so every list round-trips exactly.

// appendHeaderText appends h in the stored form.
func appendHeaderText(b []byte, h Headers) []byte {
	for _, x := range h {
		b = appendEscaped(b, x.Name, true)
		b = append(b, ':', ' ')
		b = appendEscaped(b, x.Value, false)
		b = append(b, '\n')
	}
	return b
}

// storedHeaders returns h in the stored form, built in a buffer of the
// right size when nothing needs escaping (each capture's row holds it).
func storedHeaders(h Headers) string {
	n := 0
	for _, x := range h {
		n += len(x.Name) + len(x.Value) + 3
	}
	b := appendHeaderText(make([]byte, 0, n), h)
	return string(b)
}

// appendEscaped appends s with the stored form's escapes, copying the runs
// between them whole.
func appendEscaped(b []byte, s string, name bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		var esc byte
		switch c := s[i]; {
		case c == '\\':
			esc = '\\'
		case c == '\n':
			esc = 'n'
		case c == '\r':
			esc = 'r'
		case c == ':' && name && i+1 < len(s) && s[i+1] == ' ':
			esc = 'c' // keep the first ": " of a line the separator
		default:
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '\\', esc)
		start = i + 1
	}
	return append(b, s[start:]...)
}

// escapeHeaderSearch returns text as it would appear inside stored header
// lines, and false when it cannot appear there (it holds a line break).
func escapeHeaderSearch(text string) (string, bool) {
	if strings.ContainsAny(text, "\r\n") {
		return "", false
	}
	return strings.ReplaceAll(text, `\`, `\\`), true
}

// parseHeaderText reverses appendHeaderText.
func parseHeaderText(s string) Headers {
	if s == "" {
		return Headers{}
	}
	out := make(Headers, 0, strings.Count(s, "\n"))
	for line := range strings.SplitSeq(strings.TrimSuffix(s, "\n"), "\n") {
		name, value, _ := strings.Cut(line, ": ")
		out = append(out, Header{Name: unescape(name), Value: unescape(value)})
	}
	return out
}

func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 'c':
			b.WriteByte(':')
		default:
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// extra holds the fields of an exchange that are usually empty; it is
// stored as JSON only when one of them is set.
type extra struct {
	Signature  *Signature     `json:"signature,omitempty"`
	ReplayOf   string         `json:"replay_of,omitempty"`
	Invocation string         `json:"invocation_id,omitempty"`
	Attempt    int            `json:"attempt,omitempty"`
	Meta       map[string]any `json:"meta,omitempty"`
}

func encodeExtra(ex *Exchange) ([]byte, error) {
	if ex.Signature == nil && ex.ReplayOf == "" && ex.Invocation == "" && ex.Attempt == 0 && len(ex.Meta) == 0 {
		return nil, nil
	}
	return json.Marshal(extra{ex.Signature, ex.ReplayOf, ex.Invocation, ex.Attempt, ex.Meta})
}

// exchangeCols are the columns Get reads, in scanRow's order.
const exchangeCols = `id, bin, source, time_ns, duration_ns, method, url, proto, host, remote_addr, tls,
	req_headers, req_size, req_truncated, req_body, status, resp_headers, resp_size, resp_truncated, resp_body,
	rule, error, extra, seg, off`

type scanner interface{ Scan(dest ...any) error }

// recordAt places a journal record: segment (0: none) and offset.
type recordAt struct {
	seg uint64
	off int64
}

// scanRow reads one row of exchangeCols into an Exchange. When the row is
// a journaled one, at says where its record is, and the Exchange holds only
// what the row does (SQLite.load reads the rest).
func scanRow(sc scanner) (*Exchange, recordAt, error) {
	var at recordAt
	var seg, off sql.NullInt64
	var r row
	var tls, reqTrunc, respTrunc int
	var respHdr *string
	if err := sc.Scan(&r.id, &r.bin, &r.source, &r.timeNS, &r.durationNS, &r.method, &r.url, &r.proto,
		&r.host, &r.remote, &tls, &r.reqHeaders, &r.reqSize, &reqTrunc, &r.reqBody,
		&r.status, &respHdr, &r.respSize, &respTrunc, &r.respBody, &r.rule, &r.errText, &r.extra, &seg, &off); err != nil {
		return nil, at, err
	}
	if seg.Valid && seg.Int64 > 0 {
		at = recordAt{uint64(seg.Int64), off.Int64}
	}
	r.tls, r.reqTruncated, r.respTruncated = tls != 0, reqTrunc != 0, respTrunc != 0
	if respHdr != nil {
		r.hasResponse, r.respHeaders = true, *respHdr
	}
	ex, err := r.exchange()
	return ex, at, err
}

// decodeExtra sets the fields encodeExtra encoded in xtra.
func decodeExtra(ex *Exchange, xtra []byte) error {
	if len(xtra) == 0 {
		return nil
	}
	var x extra
	if err := json.Unmarshal(xtra, &x); err != nil {
		return err
	}
	ex.Signature, ex.ReplayOf, ex.Invocation, ex.Attempt, ex.Meta = x.Signature, x.ReplayOf, x.Invocation, x.Attempt, x.Meta
	return nil
}
