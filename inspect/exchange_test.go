package inspect

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"
)

// binaryBody holds every byte value, so it is not valid UTF-8.
func binaryBody() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}

func fullExchange() *Exchange {
	return &Exchange{
		ID:       "01JNP0000000000000000000AB",
		Bin:      "orders",
		Source:   SourceProxy,
		Time:     time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.FixedZone("X", 3600)),
		Duration: 1234 * time.Microsecond,
		Request: Request{
			Method: "POST", URL: "http://127.0.0.1:8080/b/orders/hook?x=1&y=%20",
			Proto: "HTTP/1.1", Host: "127.0.0.1:8080",
			Headers: Headers{
				{"Host", "127.0.0.1:8080"},
				{"x-lower", "a"},
				{"X-Dup", "first"},
				{"Content-Type", "application/json"},
				{"X-Dup", "second"},
			},
			Body: []byte(`{"event":"paid","note":"quote \" and \\ and ünïcödé"}`),
			Size: 99, Truncated: true, RemoteAddr: "127.0.0.1:40000", TLS: true,
		},
		Response: &Response{
			Status:  502,
			Headers: Headers{{"Content-Type", "text/plain"}, {"Set-Cookie", "a=1"}, {"Set-Cookie", "b=2"}},
			Body:    []byte("bad gateway\n"),
			Size:    12,
		},
		Error:      "upstream reset",
		Rule:       "pay-rule",
		Signature:  &Signature{Rule: "stripe", Scheme: "hmac-sha256", Verdict: "invalid", Reason: "timestamp too old"},
		ReplayOf:   "01JNP0000000000000000000AA",
		Invocation: "inv-1",
		Attempt:    3,
		Meta:       map[string]any{"dns_ms": 1.5, "tunnel": "abc"},
	}
}

func TestExchangeJSONRoundTrip(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ex   func() *Exchange
	}{
		{"full", fullExchange},
		{"binary request body", func() *Exchange {
			ex := fullExchange()
			ex.Request.Body = binaryBody()
			return ex
		}},
		{"binary response body", func() *Exchange {
			ex := fullExchange()
			ex.Response.Body = []byte{0xff, 0xfe, 0x00, 'a'}
			return ex
		}},
		{"text with NUL stays text", func() *Exchange {
			ex := fullExchange()
			ex.Request.Body = []byte("a\x00b")
			return ex
		}},
		{"nil response", func() *Exchange {
			ex := fullExchange()
			ex.Response = nil
			return ex
		}},
		{"empty bodies", func() *Exchange {
			ex := fullExchange()
			ex.Request.Body = nil
			ex.Response.Body = []byte{}
			return ex
		}},
		{"no signature, meta or links", func() *Exchange {
			ex := fullExchange()
			ex.Signature, ex.Meta, ex.ReplayOf, ex.Invocation, ex.Attempt = nil, nil, "", "", 0
			return ex
		}},
		{"no headers", func() *Exchange {
			ex := fullExchange()
			ex.Request.Headers = nil
			ex.Response.Headers = Headers{}
			return ex
		}},
		{"zero time", func() *Exchange {
			ex := fullExchange()
			ex.Time = time.Time{}
			return ex
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			want := tt.ex()
			b, err := json.Marshal(want)
			if err != nil {
				t.Fatalf("Marshal: %v", err)
			}
			var got Exchange
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("Unmarshal(%s): %v", b, err)
			}
			sameExchange(t, want, &got)
			// Marshalling again gives the same bytes.
			b2, err := json.Marshal(&got)
			if err != nil {
				t.Fatal(err)
			}
			if string(b2) != string(b) {
				t.Errorf("second encoding differs:\n%s\n%s", b, b2)
			}
		})
	}
}

func TestExchangeJSONDuration(t *testing.T) {
	t.Parallel()
	// duration_ms carries microseconds; every whole number of them must come
	// back exactly.
	for us := int64(990); us < 3000; us++ {
		want := time.Duration(us) * time.Microsecond
		b, err := json.Marshal(&Exchange{Duration: want})
		if err != nil {
			t.Fatal(err)
		}
		var got Exchange
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if got.Duration != want {
			t.Fatalf("duration %v came back as %v (JSON %s)", want, got.Duration, b)
		}
	}
}

func TestExchangeJSONForm(t *testing.T) {
	t.Parallel()
	ex := fullExchange()
	ex.Request.Body = binaryBody()
	b, err := json.Marshal(ex)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	req := m["request"].(map[string]any)
	resp := m["response"].(map[string]any)

	tests := []struct {
		name string
		got  any
		want any
	}{
		{"id", m["id"], ex.ID},
		{"time is UTC RFC 3339", m["time"], "2026-01-02T02:04:05.123456789Z"},
		{"status", m["status"], 502.0},
		{"path", m["path"], "/b/orders/hook"},
		{"duration_ms", m["duration_ms"], 1.234},
		{"truncated", m["truncated"], true},
		{"request headers are ordered pairs", req["headers"], []any{
			[]any{"Host", "127.0.0.1:8080"}, []any{"x-lower", "a"}, []any{"X-Dup", "first"},
			[]any{"Content-Type", "application/json"}, []any{"X-Dup", "second"},
		}},
		{"binary body is base64", req["body"], base64.StdEncoding.EncodeToString(binaryBody())},
		{"binary body says so", req["encoding"], "base64"},
		{"text body is text", resp["body"], "bad gateway\n"},
		{"text body has no encoding", resp["encoding"], nil},
		{"signature is an object", m["signature"], map[string]any{
			"rule": "stripe", "scheme": "hmac-sha256", "verdict": "invalid", "reason": "timestamp too old",
		}},
		{"links", []any{m["replay_of"], m["invocation_id"], m["attempt"]}, []any{ex.ReplayOf, "inv-1", 3.0}},
		{"meta", m["meta"], map[string]any{"dns_ms": 1.5, "tunnel": "abc"}},
		{"no Go field names", m["Body"], nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %#v, want %#v", tt.got, tt.want)
			}
		})
	}

	t.Run("nil response is null", func(t *testing.T) {
		ex := fullExchange()
		ex.Response = nil
		b, _ := json.Marshal(ex)
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		if string(m["response"]) != "null" {
			t.Errorf("response = %s, want null", m["response"])
		}
		if string(m["status"]) != "0" {
			t.Errorf("status = %s, want 0", m["status"])
		}
	})
}

func TestExchangeUnmarshalErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, json string
		invalid    bool // the error is ErrInvalid
	}{
		{"unknown request encoding", `{"request":{"body":"x","encoding":"gzip"}}`, true},
		{"unknown response encoding", `{"request":{},"response":{"body":"x","encoding":"hex"}}`, true},
		{"bad base64", `{"request":{"body":"!!!","encoding":"base64"}}`, false},
		{"bad time", `{"time":"yesterday","request":{}}`, false},
		{"headers not pairs", `{"request":{"headers":{"a":"b"}}}`, false},
		{"not an object", `[1,2]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var ex Exchange
			err := json.Unmarshal([]byte(tt.json), &ex)
			if err == nil {
				t.Fatalf("Unmarshal(%s) = nil error, got %+v", tt.json, ex)
			}
			if tt.invalid {
				wantErrIs(t, err, ErrInvalid)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	t.Parallel()
	h := Headers{{"Content-Type", "a"}, {"x-one", "1"}, {"X-One", "2"}}

	t.Run("Get ignores case and takes the first", func(t *testing.T) {
		for _, tt := range []struct{ name, want string }{
			{"content-type", "a"}, {"X-ONE", "1"}, {"missing", ""},
		} {
			if got := h.Get(tt.name); got != tt.want {
				t.Errorf("Get(%q) = %q, want %q", tt.name, got, tt.want)
			}
		}
	})
	t.Run("HTTP canonicalises and keeps value order", func(t *testing.T) {
		want := http.Header{"Content-Type": {"a"}, "X-One": {"1", "2"}}
		if got := h.HTTP(); !reflect.DeepEqual(got, want) {
			t.Errorf("HTTP() = %v, want %v", got, want)
		}
	})
	t.Run("FromHTTP sorts names and keeps each name's values in order", func(t *testing.T) {
		in := http.Header{"Zeta": {"z"}, "Alpha": {"2", "1"}, "Mid": {""}}
		want := Headers{{"Alpha", "2"}, {"Alpha", "1"}, {"Mid", ""}, {"Zeta", "z"}}
		if got := FromHTTP(in); !reflect.DeepEqual(got, want) {
			t.Errorf("FromHTTP = %v, want %v", got, want)
		}
	})
	t.Run("JSON pairs", func(t *testing.T) {
		b, err := json.Marshal(h)
		if err != nil {
			t.Fatal(err)
		}
		if want := `[["Content-Type","a"],["x-one","1"],["X-One","2"]]`; string(b) != want {
			t.Errorf("Marshal = %s, want %s", b, want)
		}
		var back Headers
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(back, h) {
			t.Errorf("round trip = %v, want %v", back, h)
		}
		var empty Headers
		b, _ = json.Marshal(empty)
		if string(b) != "[]" {
			t.Errorf("nil headers marshal as %s, want []", b)
		}
	})
}

func TestSummarize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ex   *Exchange
		want Summary
	}{
		{"full", fullExchange(), Summary{
			ID: "01JNP0000000000000000000AB", Bin: "orders", Source: SourceProxy,
			Time: "2026-01-02T02:04:05.123456789Z", Method: "POST",
			URL: "http://127.0.0.1:8080/b/orders/hook?x=1&y=%20", Path: "/b/orders/hook",
			Status: 502, DurationMS: 1.234, RequestSize: 99, ResponseSize: 12, Truncated: true,
			Rule: "pay-rule", Signature: "invalid", Error: "upstream reset",
		}},
		{"no response", &Exchange{ID: "x", Time: base, Request: Request{Method: "GET", URL: "/a%2Fb?q"}}, Summary{
			ID: "x", Time: "2026-03-04T05:06:07Z", Method: "GET", URL: "/a%2Fb?q", Path: "/a%2Fb",
		}},
		{"response truncated", &Exchange{Time: base, Request: Request{URL: "http://h/"}, Response: &Response{Status: 200, Truncated: true, Size: 5}},
			Summary{Time: "2026-03-04T05:06:07Z", URL: "http://h/", Path: "/", Status: 200, ResponseSize: 5, Truncated: true}},
		{"unparsable URL is its own path", &Exchange{Time: base, Request: Request{URL: "%zz"}},
			Summary{Time: "2026-03-04T05:06:07Z", URL: "%zz", Path: "%zz"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.ex.Summarize(); got != tt.want {
				t.Errorf("Summarize =\n %+v\nwant\n %+v", got, tt.want)
			}
		})
	}
}

func TestStoredBytes(t *testing.T) {
	t.Parallel()
	ex := &Exchange{
		Request:  Request{Body: make([]byte, 100), Headers: Headers{{"ab", "cd"}}},
		Response: &Response{Body: make([]byte, 10), Headers: Headers{{"e", "f"}}},
	}
	if got, want := ex.StoredBytes(), int64(100+512+4+10+2); got != want {
		t.Errorf("StoredBytes = %d, want %d", got, want)
	}
	ex.Response = nil
	if got, want := ex.StoredBytes(), int64(100+512+4); got != want {
		t.Errorf("StoredBytes without response = %d, want %d", got, want)
	}
}

func TestStatusRange(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		lo, hi int
		ok     bool
	}{
		{"", 0, 0, true},
		{"404", 404, 404, true},
		{" 200 ", 200, 200, true},
		{"5xx", 500, 599, true},
		{"2XX", 200, 299, true},
		{"1xx", 100, 199, true},
		{"0", 0, 0, true},
		{"6xx", 0, 0, false},
		{"0xx", 0, 0, false},
		{"abc", 0, 0, false},
		{"-1", 0, 0, false},
		{"1000", 0, 0, false},
		{"4x", 0, 0, false},
		{"999", 999, 999, true}, // LinkedIn's; a proxy records it
		{"100", 100, 100, true},
		{"99", 0, 0, false},
		{"+200", 0, 0, false},
		{"0200", 0, 0, false},
		{"-0", 0, 0, false},
		{"+0", 0, 0, false},
		{"000", 0, 0, false},
		{"00", 0, 0, false},
		{"2 0", 0, 0, false},
		{"9xx", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			lo, hi, ok := Query{Status: tt.in}.StatusRange()
			if lo != tt.lo || hi != tt.hi || ok != tt.ok {
				t.Errorf("StatusRange(%q) = %d, %d, %v; want %d, %d, %v", tt.in, lo, hi, ok, tt.lo, tt.hi, tt.ok)
			}
		})
	}
}

func TestQueryMatches(t *testing.T) {
	t.Parallel()
	ex := newEx("a", "POST", "http://h/Path?Q=1", status(503), at(base),
		reqHeader("X-Key", "Secret"), reqBody([]byte("Hello")), respBody([]byte("World")), respHeader("X-Resp", "yes"))
	tests := []struct {
		name string
		q    Query
		want bool
	}{
		{"empty", Query{}, true},
		{"bin", Query{Bin: "a"}, true},
		{"other bin", Query{Bin: "b"}, false},
		{"method any case", Query{Method: "post"}, true},
		{"other method", Query{Method: "GET"}, false},
		{"source", Query{Source: "capture"}, true},
		{"other source", Query{Source: "proxy"}, false},
		{"status class", Query{Status: "5xx"}, true},
		{"status exact", Query{Status: "503"}, true},
		{"other status", Query{Status: "4xx"}, false},
		{"bad status", Query{Status: "zz"}, false},
		{"since equal", Query{Since: base}, true},
		{"since later", Query{Since: base.Add(time.Nanosecond)}, false},
		{"until equal", Query{Until: base}, true},
		{"until earlier", Query{Until: base.Add(-time.Nanosecond)}, false},
		{"text in url", Query{Text: "path?q"}, true},
		{"text in request header", Query{Text: "x-key: secret"}, true},
		{"text in request body", Query{Text: "HELLO"}, true},
		{"text in response body", Query{Text: "world"}, true},
		{"text in response header", Query{Text: "X-Resp"}, true},
		{"text absent", Query{Text: "nowhere"}, false},
		{"text in method is not searched", Query{Text: "POST"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.q.Matches(ex); got != tt.want {
				t.Errorf("%+v.Matches = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestValidBin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, bin string
		ok        bool
	}{
		{"default", "default", true},
		{"all kinds", "A-z_09", true},
		{"64 long", strings.Repeat("a", 64), true},
		{"empty", "", false},
		{"65 long", strings.Repeat("a", 65), false},
		{"space", "a b", false},
		{"slash", "a/b", false},
		{"dot", "a.b", false},
		{"non-ASCII", "bïn", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidBin(tt.bin)
			if (err == nil) != tt.ok {
				t.Fatalf("ValidBin(%q) = %v, want ok=%v", tt.bin, err, tt.ok)
			}
			if err != nil {
				wantErrIs(t, err, ErrInvalid)
			}
		})
	}
	t.Run("NewBinName is valid and varies", func(t *testing.T) {
		seen := map[string]bool{}
		for range 100 {
			n := NewBinName()
			if err := ValidBin(n); err != nil || len(n) != 10 {
				t.Fatalf("NewBinName() = %q: %v", n, err)
			}
			seen[n] = true
		}
		if len(seen) < 99 {
			t.Errorf("100 names gave only %d distinct", len(seen))
		}
	})
}
