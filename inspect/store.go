package inspect

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Store keeps exchanges. Add returns only once the exchange is durable, so a
// caller that answers after Add never acknowledges something it could lose.
// The SQLite implementation is the embedded default; a server backend can
// implement the same interface.
type Store interface {
	// Add stores ex. It fails with ErrStoreFull when the store cannot write.
	Add(ctx context.Context, ex *Exchange) error
	// Get returns the exchange with id, or ErrNotFound. Ids are upper
	// case; one written in lower case (typed, copied) is found too, here
	// and in Delete.
	Get(ctx context.Context, id string) (*Exchange, error)
	// List returns summaries matching q, newest first, and the cursor of the
	// next page ("" when there is none).
	List(ctx context.Context, q Query) ([]Summary, string, error)
	// Delete removes one exchange, or returns ErrNotFound.
	Delete(ctx context.Context, id string) error
	// Clear removes every exchange of bin (all bins when bin is "") and
	// returns how many it removed.
	Clear(ctx context.Context, bin string) (int64, error)
	// Bins lists the bins that have exchanges or were created.
	Bins(ctx context.Context) ([]Bin, error)
	// CreateBin records a bin so that it is listed before it has traffic,
	// and says whether it is new (neither created before nor with
	// exchanges).
	CreateBin(ctx context.Context, name string) (bool, error)
	// DeleteBin removes bin, a created one too, with its exchanges, and
	// returns how many exchanges it removed; ErrNotFound when there was
	// no such bin.
	DeleteBin(ctx context.Context, name string) (int64, error)
	// Close flushes pending writes and closes the store.
	Close() error
}

// Bin is a named group of exchanges.
type Bin struct {
	Name     string    `json:"name"`
	Count    int64     `json:"count"`
	LastSeen time.Time `json:"last_seen,omitzero"`
}

// Query selects exchanges. Zero fields match everything.
type Query struct {
	Bin    string
	Method string
	Source string
	// Status is an exact code ("404") or a class ("5xx").
	Status string
	// Text is searched for, case-insensitively, in the URL, headers and
	// bodies. A NUL byte in it is ErrInvalid.
	Text string
	// Cursor continues a listing: only exchanges older than it are listed.
	Cursor string
	// After selects exchanges stored after the exchange with this id.
	After string
	Since time.Time
	Until time.Time
	// Limit caps the number of results; 0 means 50, and at most 1000.
	Limit int
	// Ascending lists oldest first (a Cursor then continues upwards).
	Ascending bool
}

// statusWant says what a status filter takes, for the errors of the API's
// status=, the CLI's --status and the query language's status:.
const statusWant = "want a code from 100 to 999 like 404 (three digits, no sign), a class from 1xx to 5xx, or none (0) for no response"

// StatusRange parses q.Status into an inclusive range: a code from 100 to
// 999 written as three digits (what a recorded response can hold: a proxied
// upstream or an imported HAR may give 999), a class 1xx to 5xx, or 0 for
// no response. ok is false otherwise: "+200", "0200", "-0" and "1000" are
// malformed, not read as numbers.
func (q Query) StatusRange() (lo, hi int, ok bool) {
	s := strings.ToLower(strings.TrimSpace(q.Status))
	switch {
	case s == "":
		return 0, 0, true
	case s == "0": // no response
		return 0, 0, true
	case len(s) != 3 || s[0] < '1' || s[0] > '9':
		return 0, 0, false
	case s[1:] == "xx":
		if s[0] > '5' {
			return 0, 0, false
		}
		c := int(s[0]-'0') * 100
		return c, c + 99, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 100 { // Atoi takes no sign here: s[0] is a digit
		return 0, 0, false
	}
	return n, n, true
}

// Matches reports whether ex satisfies q's field filters and text, the same
// way the store does (cursor and After excepted).
func (q Query) Matches(ex *Exchange) bool {
	if q.Bin != "" && ex.Bin != q.Bin {
		return false
	}
	if q.Method != "" && !strings.EqualFold(ex.Request.Method, q.Method) {
		return false
	}
	if q.Source != "" && string(ex.Source) != q.Source {
		return false
	}
	if q.Status != "" {
		lo, hi, ok := q.StatusRange()
		if !ok || ex.Status() < lo || ex.Status() > hi {
			return false
		}
	}
	if !q.Since.IsZero() && ex.Time.Before(q.Since) {
		return false
	}
	if !q.Until.IsZero() && ex.Time.After(q.Until) {
		return false
	}
	if q.Text != "" && !containsText(ex, q.Text) {
		return false
	}
	return true
}

// searchText is what text search looks in of a body: its first
// indexBodyBytes, with each byte that is not UTF-8 read as U+FFFD (a
// Latin-1 form stays searchable), and nothing of a binary body (a NUL byte
// there). The text index and the scans (containsText) both use it, so a
// query finds the same exchanges before and after the index catches up.
// One U+FFFD a byte, not one a run (strings.ToValidUTF8), is how a header
// or the URL reads when searched (and a header value in the API's JSON),
// and what strings.ToLower makes of a query holding such bytes.
func searchText(body []byte) string {
	if len(body) > indexBodyBytes {
		body = body[:indexBodyBytes]
	}
	if bytes.IndexByte(body, 0) >= 0 {
		return ""
	}
	if utf8.Valid(body) {
		return string(body)
	}
	var b strings.Builder
	b.Grow(len(body) + len(body)/2)
	for len(body) > 0 {
		r, n := utf8.DecodeRune(body)
		if r == utf8.RuneError && n == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.Write(body[:n])
		}
		body = body[n:]
	}
	return b.String()
}

// searchBody is what text search reads of a message's body: searchText of
// it decoded when its Content-Encoding is gzip, deflate or br, as the UI shows
// it and json: terms read it (a body cut at --max-body as far as it
// decodes, or one the upstream broke off), else of it as it is. A body
// that is not in its coding (a HAR import's, written decoded under the
// wire's headers) is read as it is: a deflate or br reader makes garbage
// of some text before it fails, or before it runs out of input as it does
// at a cut (["name","labelneedle","name"] gives 28 bytes of it, as
// deflate). Such a body is text (UTF-8), which a compressed stream cut
// short is not: gzip's first bytes are no UTF-8, and a few hundred of any
// stream's next to never are.
func searchBody(h Headers, body []byte) string {
	if ce := h.Get("Content-Encoding"); ce != "" && len(body) > 0 {
		dec, err := DecodeContent(ce, body, indexBodyBytes)
		if err == nil || len(dec) > 0 && errors.Is(err, io.ErrUnexpectedEOF) && !utf8.Valid(body) {
			body = dec
		}
	}
	return searchText(body)
}

// hasFold reports whether s holds t, which strings.ToLower made, in any
// case: strings.Contains(strings.ToLower(s), t), without the copy when s
// is ASCII (most URLs, headers and bodies) and t short. The loop below
// compares t at every place in s: for a long t that is len(s) times
// len(t) (16 KiB of one letter in a 512 KiB header took 7 s), so a t
// over 64 bytes is looked for by strings.Contains, in time len(s).
func hasFold(s, t string) bool {
	if len(t) > 64 {
		return strings.Contains(strings.ToLower(s), t)
	}
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.Contains(strings.ToLower(s), t)
		}
	}
	for i := 0; i+len(t) <= len(s); i++ {
		j := 0
		for j < len(t) {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != t[j] {
				break
			}
			j++
		}
		if j == len(t) {
			return true
		}
	}
	return false
}

func containsText(ex *Exchange, text string) bool {
	t := strings.ToLower(text)
	has := func(s string) bool { return hasFold(s, t) }
	if has(ex.Request.URL) || has(searchBody(ex.Request.Headers, ex.Request.Body)) {
		return true
	}
	for _, h := range ex.Request.Headers {
		if has(h.Name + ": " + h.Value) {
			return true
		}
	}
	if r := ex.Response; r != nil {
		if has(searchBody(r.Headers, r.Body)) {
			return true
		}
		for _, h := range r.Headers {
			if has(h.Name + ": " + h.Value) {
				return true
			}
		}
	}
	return false
}

func (q Query) limit() int {
	switch {
	case q.Limit <= 0:
		return 50
	case q.Limit > 1000:
		return 1000
	}
	return q.Limit
}
