package inspect

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// minutes is a field type whose UnmarshalJSON refuses values with
// ValueError, as hooklab's own types do.
type minutes int

func (m *minutes) UnmarshalJSON(b []byte) error {
	if string(b) != "1" {
		return ValueError("", "want 1, got "+string(b))
	}
	*m = 1
	return nil
}

// TestDecodeJSONNamesTheField: a value that does not fit is an
// *InputError naming its field (the path through objects and arrays),
// whether encoding/json or an UnmarshalJSON method refuses it.
func TestDecodeJSONNamesTheField(t *testing.T) {
	t.Parallel()
	type inner struct {
		N     int       `json:"n"`
		Every minutes   `json:"every"`
		List  []minutes `json:"list"`
	}
	type body struct {
		Name  string    `json:"name"`
		On    bool      `json:"on"`
		Inner inner     `json:"inner"`
		At    time.Time `json:"at"`
		Tags  []string  `json:"tags"`
	}
	for _, tc := range []struct{ body, field, msg string }{
		{`{"name": 5}`, "name", "want a string, got a number"},
		{`{"on": "yes"}`, "on", "want true or false, got a string"},
		{`{"inner": {"n": "x"}}`, "inner.n", "want an integer, got a string"},
		{`{"inner": {"n": 1.5}}`, "inner.n", "want an integer, got number 1.5"},
		{`{"inner": []}`, "inner", "want an object, got an array"},
		{`{"tags": {}}`, "tags", "want an array, got an object"},
		// A list's item: its index, and what it got, quoted.
		{`{"tags": [true]}`, "tags.0", "want a string, got true"},
		{`{"tags": ["a", "b", {"c": 1}]}`, "tags.2", `want a string, got {"c":1}`},
		{`{"inner": {"every": 2}}`, "inner.every", "want 1, got 2"},
		{`{"inner": {"list": [1, "x"]}}`, "inner.list.1", `want 1, got "x"`},
		{`{"nope": 1}`, "nope", `unknown field "nope"`},
		// The path, which encoding/json does not give: nested, in a list,
		// and matched without regard to case as encoding/json matches.
		{`{"Inner": {"n": 1, "m": 2}}`, "Inner.m", `unknown field "m"`},
		{`{"name": "x", "inner": {"list": [1], "nn": 1}}`, "inner.nn", `unknown field "nn"`},
	} {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tc.body))
		var v body
		err := DecodeJSON(r, &v, 1<<20)
		var ie *InputError
		if !errors.As(err, &ie) || ie.Field != tc.field || ie.Msg != tc.msg || !errors.Is(err, ErrInvalid) {
			t.Errorf("%s: %#v (%v), want field %q message %q", tc.body, ie, err, tc.field, tc.msg)
		}
	}
	// Malformed JSON still says where.
	r := httptest.NewRequest("POST", "/", strings.NewReader("{\n  \"name\": ,\n}"))
	var v body
	if err := DecodeJSON(r, &v, 1<<20); err == nil || !strings.Contains(err.Error(), "line 2, column 11") {
		t.Errorf("malformed JSON: %v", err)
	}
}

// TestDecodeJSONWholeBody: text after the JSON value is refused, saying
// where; a body whose Content-Length is over the limit is refused before
// any of it is read, so a client that waits for 100 Continue gets the 413
// and sends nothing.
func TestDecodeJSONWholeBody(t *testing.T) {
	t.Parallel()
	type body struct {
		Name string `json:"name"`
	}
	for _, tc := range []struct{ body, want string }{
		{`{"name": "a"}`, ""},
		{"{\"name\": \"a\"}\n \t", ""},
		{`{"name": "a"}, "oops"`, "line 1, column 14: unexpected text after the JSON value"},
		{"{\"name\": \"a\"}\n{\"name\": 5}", "line 2, column 1: unexpected text after the JSON value"},
		{`{"name": "a"}}`, "line 1, column 14: unexpected text after the JSON value"},
	} {
		var v body
		err := DecodeJSON(httptest.NewRequest("POST", "/", strings.NewReader(tc.body)), &v, 1<<20)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("%q: %v, want %q", tc.body, err, tc.want)
		}
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var v body
		if err := DecodeJSON(r, &v, 1024); err != nil {
			WriteError(w, r, nil, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	var sent atomic.Int64
	big := &countingReader{r: strings.NewReader(`{"name": "` + strings.Repeat("a", 1<<20) + `"}`), n: &sent}
	req, err := http.NewRequest("POST", srv.URL, big)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = int64(len(`{"name": ""}`) + 1<<20)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Expect", "100-continue")
	tr := &http.Transport{ExpectContinueTimeout: 10 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(msg), "over the limit of 1024 bytes") || sent.Load() != 0 {
		t.Errorf("got %d %s with %d bytes sent, want 413 and none sent", resp.StatusCode, msg, sent.Load())
	}
}

type countingReader struct {
	r io.Reader
	n *atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}
