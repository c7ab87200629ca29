package emit

import (
	"bytes"
	"encoding/json"
	"github.com/hooklab/hooklab/inspect"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/tidwall/gjson"
)

// FuzzCustomHeader checks header validation: it never panics, and what it
// accepts is a valid HTTP header that is not reserved and that the HTTP
// client sends as it is.
func FuzzCustomHeader(f *testing.F) {
	for _, s := range [][2]string{
		{"X-Team", "support"},
		{"X-Forwarded-For", "1.2.3.4"},
		{"x-hooklab-attempt", "1"},
		{"Content-Length", "5"},
		{"Host", "evil"},
		{"X-A", "a\r\nX-Injected: 1"},
		{"X A", "b"},
		{"X-\u00e9", "c"},
		{"X-Ok", "\x7f"},
		{"X-Ok", " leading and trailing "},
		{"Authorization", "Bearer x"},
		{strings.Repeat("a", 129), "x"},
		{"X-Long", strings.Repeat("v", 1001)},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, name, value string) {
		why := checkCustomHeader(name, value)
		if why != "" {
			return
		}
		if !validFieldName(name) {
			t.Fatalf("accepted an invalid header name %q", name)
		}
		if !validFieldValue(value) {
			t.Fatalf("accepted an invalid header value %q", value)
		}
		lower := strings.ToLower(name)
		for _, p := range refusedPrefixes {
			if strings.HasPrefix(lower, p) {
				t.Fatalf("accepted reserved header %q", name)
			}
		}
		for _, r := range refusedHeaders {
			if lower == r {
				t.Fatalf("accepted refused header %q", name)
			}
		}
		// The value goes on the wire unchanged (net/http trims nothing in
		// what it sends, but a receiver's parser trims surrounding blanks).
		req := httptest.NewRequest(http.MethodPost, "/", nil)
		req.Header.Set(name, value)
		if got := req.Header.Get(name); got != value {
			t.Fatalf("header %q: set %q, got %q", name, value, got)
		}
	})
}

// FuzzWebhookDefinition decodes and validates random webhook definitions,
// as POST /api/webhooks does: never a panic, and a definition that passes
// redacts its secrets.
func FuzzWebhookDefinition(f *testing.F) {
	f.Add([]byte(`{"id":"a","endpoint":"http://127.0.0.1:1/x","custom_headers":{"X-Team":"s"},"authentication":{"type":"basic_auth","username":"u","password":"PLANTED-pw"},"signing":{"scheme":"zendesk","secret":"PLANTED-sig"}}`))
	f.Add([]byte(`{"id":"b","endpoint":"http://127.0.0.1:1/x","authentication":{"type":"bearer_token","token":"PLANTED-tok"},"retry":{"backoff":"schedule","schedule":["1s","-1s"]},"rate_limit":"0/h"}`))
	f.Add([]byte(`{"id":"t","endpoint":"https://127.0.0.1:1/x","authentication":{"type":"bearer_token","token":"PLANTED-tok"},"custom_headers":{"X-Api-Token":"PLANTED-hdr","X-Team":"PLANTED-same"},"signing":{"scheme":"zendesk","secret":"PLANTED-same"}}`))
	f.Add([]byte(`{"id":"c","endpoint":"ftp://x","method":"TRACE","format":"xml","circuit_breaker":{"failure_rate":2}}`))
	f.Add([]byte(`{"id":"","endpoint":"","custom_headers":{"":"\r\n"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var w Webhook
		if json.Unmarshal(data, &w) != nil {
			return
		}
		w.normalize()
		errs, _ := w.validate()
		if len(errs) > 0 {
			return
		}
		secret := func(name string) bool { return inspect.IsSecretHeader(name, nil) }
		secrets := w.secretValues(secret)
		b, err := json.Marshal(w.redacted(secret))
		if err != nil {
			t.Fatalf("marshal a valid webhook: %v", err)
		}
		// The same text may also be a field that is not secret (a custom
		// header's value, the name), where it shows: the redacted webhook
		// may hold it as often as one with every secret field emptied.
		blank := w
		if a := w.Authentication; a != nil {
			ac := *a
			ac.Value, ac.Password, ac.Token = "", "", ""
			blank.Authentication = &ac
		}
		if sg := w.Signing; sg != nil {
			sc := *sg
			sc.Secret, sc.Previous = "", nil
			blank.Signing = &sc
		}
		blank.CustomHeaders = map[string]string{}
		for k, v := range w.CustomHeaders {
			if secret(k) {
				v = ""
			}
			blank.CustomHeaders[k] = v
		}
		emptied, err := json.Marshal(&blank)
		if err != nil {
			t.Fatalf("marshal a valid webhook: %v", err)
		}
		for _, s := range secrets {
			if len(s) < 6 || strings.Contains(inspect.Redacted, s) {
				continue
			}
			if strings.Count(string(b), s) > strings.Count(string(emptied), s) {
				t.Fatalf("secret %q shows in the redacted webhook: %s", s, b)
			}
		}
	})
}

// validFieldName is RFC 9110's token.
func validFieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0) {
			return false
		}
	}
	return true
}

// validFieldValue is RFC 9110's field-value: no control characters but
// horizontal tab.
func validFieldValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// FuzzDecodeJSON: the one-pass decoder of event data accepts exactly the
// valid JSON (short of encoding/json's depth limit) and decodes it as the
// gjson walk does.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"ticket": {"id": 35436, "big": 9007199254740993, "neg": -7, "f": 1.5, "e": 1e3, "z": 0.0, "s": "a \"q\" \u00e9\n\t</x>", "t": true, "n": null}}`,
		`{"arr": [1, "two", [3], {"four": 4}], "empty": {}, "none": [], "dup": 1, "dup": 2, "esc\u0041key": "v", "emoji": "\ud83d\ude00", "lone": "\ud83d"}`,
		` [1,2] `, `"s"`, `-0`, `01`, `1.`, `.5`, `1e`, `-`, `tru`, `{"a":1,}`, `[1,]`, `{"a" 1}`, "\"\x01\"", `"\x"`, `{} {}`, `1E+2`, `-1.5e-3`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := decodeJSON(b)
		valid := json.Valid(b)
		if ok && !valid {
			t.Fatalf("decodeJSON accepted invalid JSON %q as %#v", b, got)
		}
		if !valid {
			return
		}
		if !ok {
			if len(b) < 10000 {
				t.Fatalf("decodeJSON refused valid JSON %q", b)
			}
			return
		}
		if !utf8.Valid(b) {
			return // decodeData does not call it then
		}
		if want := gjsonValue(gjson.ParseBytes(b)); !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeJSON(%q)\n got %#v\nwant %#v", b, got, want)
		}
	})
}

// FuzzDecodeEvents: the one-pass decoder of POST /api/events bodies
// decodes what it accepts exactly as encoding/json (with unknown fields
// refused) does.
func FuzzDecodeEvents(f *testing.F) {
	for _, s := range []string{
		`{"type": "ticket.created", "data": {"ticket": {"id": 1, "subject": "a \"b\""}}}`,
		`[{"type":"a.b","data":{}},{"id":"x","type":"c","time":"2024-05-01T10:00:00+02:00","subject":"s","data":{"n":[1,2.5,null,true]},"event":{"k":"v"}}]`,
		`[]`, `[{}]`, `{}`, `{"type":"a","data":null}`, `{"Type":"a"}`, `{"type":"a","extra":1}`, `{"type":"\u0061"}`, `[{"type":"a"}] x`,
		`{"type":"a","time":"yesterday"}`, `{"type":"a","data":{"a":1},"data":[2]}`, `[{"type":"a"},]`, `{"type":1}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, ok := decodeEvents(b)
		if !ok {
			return
		}
		want, err := decodeEventsJSON(b)
		if err != nil {
			t.Fatalf("decodeEvents accepted %q, which encoding/json refuses: %v", b, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeEvents(%q)\n got %#v\nwant %#v", b, got, want)
		}
	})
}

// TestDecodeEventsFastPath: the usual bodies take the one-pass decoder.
func TestDecodeEventsFastPath(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		`{"type": "ticket.created", "data": {"ticket": {"id": 1, "subject": "a \"b\"", "tags": ["x"]}}}`,
		` [ {"type":"a.b","data":{}} , {"id":"x","type":"c","time":"2024-05-01T10:00:00+02:00","subject":"s","data":{"n":[1,2.5,null,true]},"event":{"k":"v"}} ] `,
		`{}`,
	} {
		b := bytes.TrimSpace([]byte(s))
		got, ok := decodeEvents(b)
		if !ok {
			t.Errorf("decodeEvents(%s) refused", s)
			continue
		}
		want, err := decodeEventsJSON(b)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("decodeEvents(%s)\n got %#v\nwant %#v (%v)", s, got, want, err)
		}
	}
}
