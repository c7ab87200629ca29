package inspect

import (
	"errors"
	"net/http/httptest"
	"strings"
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
		{`{"tags": [true]}`, "tags", "want a string, got a boolean"},
		{`{"inner": {"every": 2}}`, "inner.every", "want 1, got 2"},
		{`{"inner": {"list": [1, "x"]}}`, "inner.list", `want 1, got "x"`},
		{`{"nope": 1}`, "", `unknown field "nope"`},
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
