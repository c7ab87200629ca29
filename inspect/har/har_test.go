package har_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
	"unicode"

	"github.com/andybalholm/brotli"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/inspect/har"
)

func readHAR(t *testing.T, path string) []*inspect.Exchange {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := har.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	exs, err := f.Exchanges()
	if err != nil {
		t.Fatal(err)
	}
	return exs
}

func TestChromeExport(t *testing.T) {
	t.Parallel()
	exs := readHAR(t, "testdata/chrome.har")
	if len(exs) != 5 {
		t.Fatalf("%d exchanges, want 5", len(exs))
	}
	for _, ex := range exs {
		if ex.Meta["har_creator"] != "WebInspector 537.36" {
			t.Errorf("%s: meta %v", ex.Request.URL, ex.Meta)
		}
		if ex.ID != "" || ex.Bin != "" || ex.Source != inspect.SourceProxy {
			t.Errorf("%s: id %q bin %q source %q", ex.Request.URL, ex.ID, ex.Bin, ex.Source)
		}
	}

	post := exs[0]
	if post.Request.Method != "POST" || post.Request.URL != "https://api.example.com/v1/orders?expand=items&currency=EUR" {
		t.Errorf("request %s %s", post.Request.Method, post.Request.URL)
	}
	if post.Request.Proto != "HTTP/2.0" || !post.Request.TLS || post.Request.Host != "api.example.com" {
		t.Errorf("proto %q tls %v host %q", post.Request.Proto, post.Request.TLS, post.Request.Host)
	}
	for _, h := range post.Request.Headers {
		if strings.HasPrefix(h.Name, ":") {
			t.Errorf("pseudo-header %s kept", h.Name)
		}
	}
	if post.Request.Headers[0] != (inspect.Header{Name: "Host", Value: "api.example.com"}) {
		t.Errorf("first header %v, want Host from :authority", post.Request.Headers[0])
	}
	if got := post.Request.Headers.Get("Authorization"); !strings.HasPrefix(got, "Bearer ") {
		t.Errorf("authorization %q", got)
	}
	if want := `{"items":[{"sku":"A-100","qty":2}],"coupon":"SPRING"}`; string(post.Request.Body) != want || post.Request.Size != int64(len(want)) {
		t.Errorf("body %q size %d", post.Request.Body, post.Request.Size)
	}
	if got := post.Time; !got.Equal(time.Date(2024, 5, 14, 9, 12, 33, 517e6, time.UTC)) {
		t.Errorf("time %v", got)
	}
	if post.Duration != 183229*time.Microsecond {
		t.Errorf("duration %v", post.Duration)
	}
	if post.Response == nil || post.Response.Status != 201 || !strings.Contains(string(post.Response.Body), `"id":"ord_91"`) || post.Response.Truncated {
		t.Errorf("response %+v", post.Response)
	}
	if post.Error != "" {
		t.Errorf("error %q for a null _error", post.Error)
	}

	png := exs[1]
	want, _ := base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==")
	if !bytes.Equal(png.Response.Body, want) || png.Response.Size != 70 {
		t.Errorf("png body %d bytes, size %d", len(png.Response.Body), png.Response.Size)
	}
	if len(png.Request.Body) != 0 || png.Request.Size != 0 {
		t.Errorf("GET body %q", png.Request.Body)
	}

	redirect := exs[2]
	if redirect.Request.Proto != "HTTP/1.1" || redirect.Response.Status != 302 || len(redirect.Response.Body) != 0 || redirect.Response.Truncated {
		t.Errorf("redirect %q %+v", redirect.Request.Proto, redirect.Response)
	}

	missing := exs[3]
	if missing.Response.Status != 200 || len(missing.Response.Body) != 0 || missing.Response.Size != 48213 || !missing.Response.Truncated {
		t.Errorf("missing body: %+v", missing.Response)
	}

	failed := exs[4]
	if failed.Response != nil || failed.Error != "net::ERR_CONNECTION_REFUSED" {
		t.Errorf("failed: response %+v error %q", failed.Response, failed.Error)
	}
	if string(failed.Request.Body) != "event=checkout" || failed.Request.Proto != "HTTP/1.1" {
		t.Errorf("failed request body %q proto %q", failed.Request.Body, failed.Request.Proto)
	}
}

func TestFirefoxExport(t *testing.T) {
	t.Parallel()
	exs := readHAR(t, "testdata/firefox.har")
	if len(exs) != 5 {
		t.Fatalf("%d exchanges, want 5", len(exs))
	}
	form := exs[0]
	if got, want := string(form.Request.Body), "plan=team&seats=12&note=upgrade+%26+go"; got != want {
		t.Errorf("form body from params %q, want %q", got, want)
	}
	if form.Request.Proto != "HTTP/2.0" || form.Request.Host != "billing.example.org" || form.Request.RemoteAddr != "93.184.215.14" {
		t.Errorf("proto %q host %q remote %q", form.Request.Proto, form.Request.Host, form.Request.RemoteAddr)
	}
	if !form.Time.Equal(time.Date(2024, 5, 14, 9, 20, 2, 338e6, time.UTC)) || form.Time.Location() != time.UTC {
		t.Errorf("time %v, want 09:20:02.338 UTC", form.Time)
	}
	if form.Response.Status != 200 || !json.Valid(form.Response.Body) || form.Response.Headers.Get("Content-Encoding") != "gzip" {
		t.Errorf("response %+v", form.Response)
	}

	multipart := exs[1]
	if !strings.HasPrefix(string(multipart.Request.Body), "-----------------------------3861745310\r\nContent-Disposition: form-data") ||
		len(multipart.Request.Body) != 195 || multipart.Request.Truncated {
		t.Errorf("multipart body %d bytes %q", len(multipart.Request.Body), multipart.Request.Body)
	}
	if multipart.Response.Status != 204 || len(multipart.Response.Body) != 0 {
		t.Errorf("204 %+v", multipart.Response)
	}

	webp := exs[2]
	if !bytes.HasPrefix(webp.Response.Body, []byte("RIFF")) || len(webp.Response.Body) != 12 {
		t.Errorf("webp %q", webp.Response.Body)
	}

	missing := exs[3]
	if len(missing.Response.Body) != 0 || missing.Response.Size != 18422 || !missing.Response.Truncated {
		t.Errorf("missing body %+v", missing.Response)
	}

	blocked := exs[4]
	if blocked.Response != nil || blocked.Error == "" {
		t.Errorf("blocked: response %+v error %q", blocked.Response, blocked.Error)
	}
}

// exchanges returns a varied set: text, binary and multipart bodies,
// no response, every link field, meta, secrets.
func exchanges() []*inspect.Exchange {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 123456789, time.UTC)
	bin := []byte{0x00, 0xff, 0x10, 0x80, 'P', 'K', 0x03, 0x04, 0xfe}
	multipart := "--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"a.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n" + string(bin) + "\r\n--XyZ--\r\n"
	return []*inspect.Exchange{
		{
			ID: "01JNB5Z3Q0000000000000000A", Bin: "default", Source: inspect.SourceCapture, Time: t0,
			Duration: 1234567 * time.Nanosecond,
			Request: inspect.Request{
				Method: "POST", URL: "http://127.0.0.1:8080/hooks/stripe?a=1&b=two%20words&a=3", Proto: "HTTP/1.1", Host: "127.0.0.1:8080",
				Headers: inspect.Headers{{Name: "Host", Value: "127.0.0.1:8080"}, {Name: "Content-Type", Value: "application/json"},
					{Name: "Stripe-Signature", Value: "t=1,v1=abc"}, {Name: "X-Dup", Value: "1"}, {Name: "x-dup", Value: "2"}},
				Body: []byte(`{"type":"invoice.paid","data":{"id":"in_1"}}`), Size: 44, RemoteAddr: "127.0.0.1:5555",
			},
			Response: &inspect.Response{Status: 200, Headers: inspect.Headers{{Name: "Content-Type", Value: "application/json"}}, Body: []byte(`{"ok":true}`), Size: 11},
			Rule:     "stripe", Signature: &inspect.Signature{Rule: "stripe", Scheme: "stripe", Verdict: "valid"},
			Meta: map[string]any{"delay_ms": float64(20), "nested": map[string]any{"x": "y"}},
		},
		{
			ID: "01JNB5Z3Q0000000000000000B", Bin: "uploads", Source: inspect.SourceProxy, Time: t0.Add(time.Second),
			Request: inspect.Request{
				Method: "PUT", URL: "https://files.example.com/up", Proto: "HTTP/2.0", Host: "files.example.com", TLS: true,
				Headers: inspect.Headers{{Name: "Content-Type", Value: "multipart/form-data; boundary=XyZ"}},
				Body:    []byte(multipart), Size: int64(len(multipart)),
			},
			Response: &inspect.Response{Status: 201, Headers: inspect.Headers{{Name: "Content-Type", Value: "application/octet-stream"}}, Body: bin, Size: 5000, Truncated: true},
		},
		{
			ID: "01JNB5Z3Q0000000000000000C", Bin: "default", Source: inspect.SourceEmit, Time: t0.Add(2 * time.Second),
			Request: inspect.Request{Method: "POST", URL: "http://127.0.0.1:3000/webhook", Proto: "HTTP/1.1",
				Headers: inspect.Headers{{Name: "User-Agent", Value: "hooklab"}}, Body: bin, Size: 9000, Truncated: true},
			Error:      "dial tcp 127.0.0.1:3000: connect: connection refused",
			Invocation: "inv_1", Attempt: 3,
		},
		{
			ID: "01JNB5Z3Q0000000000000000D", Bin: "default", Source: inspect.SourceReplay, Time: t0.Add(3 * time.Second),
			ReplayOf: "01JNB5Z3Q0000000000000000A",
			Request: inspect.Request{Method: "GET", URL: "http://127.0.0.1:3000/", Proto: "HTTP/1.1",
				Headers: inspect.Headers{{Name: "Authorization", Value: "Bearer s3cret"}, {Name: "Cookie", Value: "a=1; b=2"}}},
			Response: &inspect.Response{Status: 302, Headers: inspect.Headers{{Name: "Location", Value: "/next"}, {Name: "Set-Cookie", Value: "sid=xyz; Path=/; HttpOnly"}}},
		},
		// Bytes that are not UTF-8 in a header value and in the URL (JSON
		// strings cannot hold them): kept byte for byte.
		{
			ID: "01JNB5Z3Q0000000000000000E", Bin: "default", Source: inspect.SourceCapture, Time: t0.Add(4 * time.Second),
			Request: inspect.Request{Method: "GET", URL: "http://127.0.0.1:8080/echo?q=caf\xe9", Proto: "HTTP/1.1",
				Headers: inspect.Headers{{Name: "X-Latin", Value: "caf\xe9"}, {Name: "X-Plain", Value: "caf\u00e9"}}},
			Response: &inspect.Response{Status: 200, Headers: inspect.Headers{{Name: "X-Raw", Value: "\xff\xfe"}}},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		write func(t *testing.T, exs []*inspect.Exchange) []byte
	}{
		{"New and Encode", func(t *testing.T, exs []*inspect.Exchange) []byte {
			var buf bytes.Buffer
			if err := har.Encode(&buf, har.New(exs, har.Options{KeepSecrets: true})); err != nil {
				t.Fatal(err)
			}
			return buf.Bytes()
		}},
		{"Writer", func(t *testing.T, exs []*inspect.Exchange) []byte {
			var buf bytes.Buffer
			w := har.NewWriter(&buf, har.Options{KeepSecrets: true})
			for _, ex := range exs {
				if err := w.Write(ex); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatal(err)
			}
			if w.Count() != len(exs) {
				t.Errorf("count %d", w.Count())
			}
			return buf.Bytes()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want := exchanges()
			data := tc.write(t, want)
			checkSchema(t, data)
			f, err := har.Parse(data)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Exchanges()
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}
}

func TestWriterEmpty(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	w := har.NewWriter(&buf, har.Options{})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	checkSchema(t, buf.Bytes())
	f, err := har.Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Log.Entries) != 0 || f.Log.Version != "1.2" || f.Log.Creator.Name != "hooklab" {
		t.Errorf("%+v", f.Log)
	}
	if err := w.Write(exchanges()[0]); err == nil {
		t.Error("write after close worked")
	}
}

func TestRedaction(t *testing.T) {
	t.Parallel()
	exs := exchanges()
	exs[0].Request.Headers = append(exs[0].Request.Headers, inspect.Header{Name: "X-Tenant-Secret", Value: "abc"}, inspect.Header{Name: "X-Custom", Value: "keep-me-not"})
	exs[3].Request.URL = "http://user:pa55@127.0.0.1:3000/"
	f := har.New(exs, har.Options{SecretHeaders: []string{"x-custom"}})
	var buf bytes.Buffer
	if err := har.Encode(&buf, f); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, secret := range []string{"s3cret", "xyz", "pa55", "keep-me-not", `"abc"`, "a=1; b=2"} {
		if strings.Contains(out, secret) {
			t.Errorf("export contains %q", secret)
		}
	}
	for _, kept := range []string{"Stripe-Signature", "t=1,v1=abc", "a=REDACTED; b=REDACTED", "sid=REDACTED; Path=/; HttpOnly", "user:REDACTED@"} {
		if !strings.Contains(out, kept) {
			t.Errorf("export lacks %q", kept)
		}
	}
	if exs[3].Request.Headers.Get("Authorization") != "Bearer s3cret" {
		t.Error("redaction changed the exchange")
	}
	e := f.Log.Entries[3]
	if d := cmp.Diff([]string{"Authorization", "Cookie", "Set-Cookie"}, e.Hooklab.Redacted); d != "" {
		t.Errorf("redacted names: %s", d)
	}
	if e.Request.Cookies[0] != (har.Cookie{Name: "a", Value: har.Redacted}) {
		t.Errorf("cookies %+v", e.Request.Cookies)
	}
	if e.Response.Cookies[0].Value != har.Redacted || !e.Response.Cookies[0].HTTPOnly {
		t.Errorf("set-cookies %+v", e.Response.Cookies)
	}
}

func TestIsSecret(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"Authorization": true, "proxy-authorization": true, "Cookie": true, "Set-Cookie": true,
		"X-Api-Key": true, "Api-Key": true, "apikey": true, "X-API_KEY": true, "X-Goog-Api-Key": true,
		"X-Auth-Token": true, "X-Amz-Security-Token": true, "Private-Token": true, "X-Shopify-Access-Token": true,
		"Ocp-Apim-Subscription-Key": true, "X-Client-Secret": true, "X-Session-Id": true, "X-Csrf-Token": true,
		"Content-Type": false, "WWW-Authenticate": false, "X-Hub-Signature-256": false, "Stripe-Signature": false,
		"Idempotency-Key": false, "Keep-Alive": false, "X-Request-Id": false, "Authority": false,
	} {
		if got := har.IsSecret(name, nil); got != want {
			t.Errorf("IsSecret(%q) = %v, want %v", name, got, want)
		}
	}
	if !har.IsSecret("X-Tenant", []string{"x-TENANT"}) {
		t.Error("extra names are not compared without case")
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in, want string
	}{
		{"not JSON", "{\n  \"log\": {,", "line 2, column"},
		{"not HAR", `{"entries": []}`, "no \"log\""},
		{"wrong type", `{"log": {"version": "1.2", "entries": [{"time": "slow"}]}}`, "HAR entry 1: field time at line 1, column 54: want a number, found a string"},
		// A field in the second entry: the error numbers the entry (a file
		// holds thousands), and a fraction where an integer goes says so.
		{"fraction for an integer", "{\"log\": {\"version\": \"1.2\", \"entries\": [\n" +
			`{"request": {"method": "GET", "url": "http://x/", "bodySize": 3}},` + "\n" +
			`{"request": {"method": "GET", "url": "http://x/"}, "response": {"bodySize": 12.5}}]}}`,
			"HAR entry 2: field response.bodySize at line 3, column 80: want an integer, found 12.5"},
		{"string for an integer", `{"log": {"entries": [{"request": {"headersSize": "-1"}}]}}`,
			"HAR entry 1: field request.headersSize at line 1, column 53: want an integer, found a string"},
		{"headers an object", `{"log": {"entries": [{}, {}, {"request": {"headers": {"a": "b"}}}]}}`,
			"HAR entry 3: field request.headers at line 1, column 54: want an array, found an object"},
		{"creator a string", `{"log": {"creator": "me", "entries": []}}`, "HAR field log.creator at line 1, column 24: want an object, found a string"},
		{"an array", `[{"request": {}}]`, "want a HAR file: a JSON object with a log, found an array"},
		{"a string", `"log"`, "want a HAR file: a JSON object with a log, found a string"},
		{"log an array", `{"log": []}`, "HAR field log at line 1, column 9: want an object, found an array"},
		{"no method", `{"log": {"version": "1.2", "entries": [{"request": {"url": "http://x/"}}]}}`, "entry 1: request has no method"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := har.Parse([]byte(tc.in))
			if err == nil || !errors.Is(err, inspect.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err %v, want ErrInvalid with %q", err, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name, entry, want string
	}{
		{"bad time", `{"startedDateTime": "yesterday", "request": {"method": "GET", "url": "http://x/"}, "response": {"status": 200}}`, "startedDateTime"},
		{"bad base64", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "http://x/"}, "response": {"status": 200, "content": {"text": "!!!", "encoding": "base64"}}}`, "response content"},
		{"unknown encoding", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "http://x/"}, "response": {"status": 200, "content": {"text": "x", "encoding": "rot13"}}}`, "rot13"},
		{"relative url", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "/x"}, "response": {"status": 200}}`, "not absolute"},
		// Stored, it failed every replay and /curl.
		{"ftp url", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "ftp://x/file"}, "response": {"status": 200}}`, "want http, https, ws or wss, not ftp"},
		// An entry of a hooklab export is held to the same: an edited
		// fixture's URL, or _hooklab.url_base64, which can hold any bytes
		// (a tail line or an error printed them to the terminal as they
		// were: escape sequences).
		{"hooklab entry, ftp url", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "ftp://x/file"}, "response": {"status": 200}, "_hooklab": {"bin": "b"}}`, "want http, https, ws or wss, not ftp"},
		{"hooklab entry, no url", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "not a url"}, "response": {"status": 200}, "_hooklab": {"bin": "b"}}`, "not absolute"},
		{"hooklab entry, escapes in url_base64", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "http://x/"}, "response": {"status": 200}, "_hooklab": {"url_base64": "aHR0cDovL3gveBtdMDtQV05FRAc="}}`, "control character"},
		{"control character in the url", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "http://x/\u001b[31mred"}, "response": {"status": 200}}`, "control character"},
		// The entry's method and URL that the error names are quoted as
		// the error's own quote them: a method that is no token may be an
		// escape sequence, and a URL that parses may hold C1 controls
		// (U+009B is CSI) or bytes that are not UTF-8.
		{"escape sequence as the method", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "\u001b]0;PWNED\u0007", "url": "http://x/"}, "response": {"status": 200}}`, "is not a token"},
		{"C1 control in a url, bad method", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "G T", "url": "http://x/\u009b31mred"}, "response": {"status": 200}}`, "is not a token"},
		// What no HTTP message holds: /raw and /curl would print a header
		// of its own from a value with CR LF, and replays fail late.
		{"CR LF in a header value", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "http://x/", "headers": [{"name": "X-Evil", "value": "a\r\nInjected: yes"}]}, "response": {"status": 200}}`,
			"request header X-Evil: its value holds a control character"},
		{"space in a header name", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "http://x/"}, "response": {"status": 200, "headers": [{"name": "Bad Name", "value": "x"}]}}`,
			`response header name "Bad Name" is not a token`},
		{"space in the method", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "G E T", "url": "http://x/"}, "response": {"status": 200}}`,
			`request method "G E T" is not a token`},
		{"status 42", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "http://x/"}, "response": {"status": 42}}`,
			"response status 42: want 100 to 999"},
		{"status too large", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "http://x/"}, "response": {"status": 99999}}`,
			"response status 99999"},
		// Times an exchange cannot be stored with (Unix nanoseconds would
		// wrap around to another century).
		{"year 9999", `{"startedDateTime": "9999-12-31T23:59:59Z", "request": {"method": "GET", "url": "http://x/"}, "response": {"status": 200}}`,
			`startedDateTime "9999-12-31T23:59:59Z": want a time between the years 1678 and 2262`},
		{"year 1", `{"startedDateTime": "0001-01-01T00:00:00Z", "request": {"method": "GET", "url": "http://x/"}, "response": {"status": 200}}`,
			"want a time between the years 1678 and 2262"},
		{"endless time", `{"startedDateTime": "2024-01-01T00:00:00Z", "time": 1e300, "request": {"method": "GET", "url": "http://x/"}, "response": {"status": 200}}`,
			"time 1e+300: want milliseconds under"},
		{"negative duration_ns", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "http://x/"}, "response": {"status": 200}, "_hooklab": {"duration_ns": -5}}`,
			"_hooklab.duration_ns -5"},
		{"unknown source", `{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "http://x/"}, "response": {"status": 200}, "_hooklab": {"source": "bogus"}}`,
			`_hooklab.source "bogus": want capture, proxy, emit or replay`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f, err := har.Parse([]byte(`{"log": {"version": "1.2", "entries": [` + tc.entry + `]}}`))
			if err != nil {
				t.Fatal(err)
			}
			_, err = f.Exchanges()
			if err == nil || !errors.Is(err, inspect.ErrInvalid) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "HAR entry 1") {
				t.Errorf("err %v, want ErrInvalid with %q", err, tc.want)
			}
			if err != nil && strings.ContainsFunc(err.Error(), unicode.IsControl) {
				t.Errorf("err %q holds a control character, which import prints to the terminal", err)
			}
		})
	}
}

func TestParseTime(t *testing.T) {
	t.Parallel()
	want := time.Date(2024, 5, 14, 9, 12, 33, 517e6, time.UTC)
	for _, s := range []string{"2024-05-14T09:12:33.517Z", "2024-05-14T11:12:33.517+02:00", "2024-05-14T11:12:33.517+0200", "2024-05-14T09:12:33.517"} {
		got, err := har.ParseTime(s)
		if err != nil || !got.Equal(want) {
			t.Errorf("ParseTime(%q) = %v, %v", s, got, err)
		}
	}
	if s := har.FormatTime(want.In(time.FixedZone("x", 3600))); s != "2024-05-14T09:12:33.517Z" {
		t.Errorf("FormatTime %s", s)
	}
}

func TestBOM(t *testing.T) {
	t.Parallel()
	if _, err := har.Parse([]byte("\xef\xbb\xbf{\"log\":{\"version\":\"1.2\",\"creator\":{\"name\":\"x\",\"version\":\"1\"},\"entries\":[]}}")); err != nil {
		t.Fatal(err)
	}
}

// checkSchema checks data against the required fields and types of the
// HAR 1.2 JSON schema (ahmadnassri/har-schema), which is what "validates"
// means for tools that read HAR.
func checkSchema(t *testing.T, data []byte) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	req := func(where string, v any, fields ...string) map[string]any {
		m, ok := v.(map[string]any)
		if !ok {
			t.Errorf("%s: not an object", where)
			return nil
		}
		for _, f := range fields {
			if _, ok := m[f]; !ok {
				t.Errorf("%s: missing required %q", where, f)
			}
		}
		return m
	}
	num := func(where string, v any, min float64) {
		if n, ok := v.(float64); !ok || n < min {
			t.Errorf("%s: %v, want a number >= %v", where, v, min)
		}
	}
	nvs := func(where string, v any, fields ...string) {
		list, ok := v.([]any)
		if !ok {
			t.Errorf("%s: not an array", where)
			return
		}
		for i, x := range list {
			m := req(where+"["+string(rune('0'+i%10))+"]", x, fields...)
			for _, f := range fields {
				if _, ok := m[f].(string); !ok {
					t.Errorf("%s: %s is not a string", where, f)
				}
			}
		}
	}
	log := req("log", doc["log"], "version", "creator", "entries")
	if log == nil {
		return
	}
	req("log.creator", log["creator"], "name", "version")
	entries, _ := log["entries"].([]any)
	for _, x := range entries {
		e := req("entry", x, "startedDateTime", "time", "request", "response", "cache", "timings")
		if e == nil {
			continue
		}
		if s, _ := e["startedDateTime"].(string); !strings.HasSuffix(s, "Z") {
			t.Errorf("startedDateTime %q", s)
		} else if _, err := time.Parse(time.RFC3339, s); err != nil {
			t.Errorf("startedDateTime: %v", err)
		}
		num("entry.time", e["time"], 0)
		r := req("request", e["request"], "method", "url", "httpVersion", "cookies", "headers", "queryString", "headersSize", "bodySize")
		nvs("request.headers", r["headers"], "name", "value")
		nvs("request.queryString", r["queryString"], "name", "value")
		nvs("request.cookies", r["cookies"], "name", "value")
		if pd, ok := r["postData"]; ok {
			req("postData", pd, "mimeType")
		}
		s := req("response", e["response"], "status", "statusText", "httpVersion", "cookies", "headers", "content", "redirectURL", "headersSize", "bodySize")
		nvs("response.headers", s["headers"], "name", "value")
		nvs("response.cookies", s["cookies"], "name", "value")
		c := req("content", s["content"], "size", "mimeType")
		num("content.size", c["size"], 0)
		tm := req("timings", e["timings"], "send", "wait", "receive")
		for _, k := range []string{"send", "wait", "receive"} {
			num("timings."+k, tm[k], -1)
		}
		for k := range e {
			switch k {
			case "pageref", "startedDateTime", "time", "request", "response", "cache", "timings", "serverIPAddress", "connection", "comment":
			default:
				if !strings.HasPrefix(k, "_") {
					t.Errorf("entry field %q is neither HAR nor an _extension", k)
				}
			}
		}
	}
}

// TestMimeTypeOnly: a tool that gives a response's type only as
// content.mimeType gets it as Content-Type.
func TestMimeTypeOnly(t *testing.T) {
	t.Parallel()
	f, err := har.Parse([]byte(`{"log":{"version":"1.2","creator":{"name":"t","version":"1"},"entries":[
	{"startedDateTime":"2026-01-02T03:04:05Z","time":1,"request":{"method":"GET","url":"http://h/img","httpVersion":"HTTP/1.1","headers":[],"queryString":[],"cookies":[],"headersSize":-1,"bodySize":0},
	 "response":{"status":200,"statusText":"OK","httpVersion":"HTTP/1.1","headers":[],"cookies":[],"content":{"size":3,"mimeType":"image/png","text":"iVBO","encoding":"base64"},"redirectURL":"","headersSize":-1,"bodySize":3},"cache":{},"timings":{"send":0,"wait":1,"receive":0}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	exs, err := f.Exchanges()
	if err != nil || len(exs) != 1 {
		t.Fatalf("%d, %v", len(exs), err)
	}
	if ct := exs[0].Response.Headers.Get("Content-Type"); ct != "image/png" {
		t.Errorf("Content-Type %q, want image/png", ct)
	}
}

func gzipped(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestContentEncodedResponse: a response body recorded in its
// Content-Encoding (hooklab keeps bodies as they came) is exported decoded,
// as HAR 1.2 wants content.text, with size the decoded size and
// compression the bytes saved; a hooklab import gets the recorded bytes
// back, unless the text was edited, when it takes the text as a browser's
// file gives it. A body that does not decode is exported as it is.
func TestContentEncodedResponse(t *testing.T) {
	t.Parallel()
	text := []byte(`{"items":[` + strings.Repeat(`{"id":"it_1","price":1},`, 20) + `{"id":"last"}]}`)
	binary := bytes.Repeat([]byte{0x00, 0xff, 0xfe, 0x10}, 50)
	resp := func(body []byte, size int64, truncated bool, enc string) *inspect.Exchange {
		return &inspect.Exchange{
			ID: "01JNB5Z3Q0000000000000000A", Bin: "default", Source: inspect.SourceProxy, Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
			Request: inspect.Request{Method: "GET", URL: "https://api.example.com/items", Proto: "HTTP/1.1"},
			Response: &inspect.Response{Status: 200, Headers: inspect.Headers{{Name: "Content-Type", Value: "application/json"}, {Name: "Content-Encoding", Value: enc}},
				Body: body, Size: size, Truncated: truncated},
		}
	}
	gz, gzBin := gzipped(t, text), gzipped(t, binary)
	var bb bytes.Buffer
	bw := brotli.NewWriter(&bb)
	bw.Write(text)
	bw.Close()
	brText := bb.Bytes()
	for _, tc := range []struct {
		name             string
		ex               *inspect.Exchange
		text, encoding   string
		size, compressed int64
	}{
		{"gzip text", resp(gz, int64(len(gz)), false, "gzip"), string(text), "", int64(len(text)), int64(len(text) - len(gz))},
		{"gzip binary", resp(gzBin, int64(len(gzBin)), false, "gzip"), base64.StdEncoding.EncodeToString(binary), "base64", int64(len(binary)), int64(len(binary) - len(gzBin))},
		{"cut gzip", resp(gz[:20], int64(len(gz)), true, "gzip"), base64.StdEncoding.EncodeToString(gz[:20]), "base64", int64(len(gz)), 0},
		{"br that does not decode", resp([]byte{0x1b, 0xff, 0x00}, 3, false, "br"), "G/8A", "base64", 3, 0},
		{"br text", resp(brText, int64(len(brText)), false, "br"), string(text), "", int64(len(text)), int64(len(text) - len(brText))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := har.NewEntry(tc.ex, har.Options{})
			c := e.Response.Content
			if c.Text != tc.text || c.Encoding != tc.encoding || c.Size != tc.size || c.Compression != tc.compressed || e.Response.BodySize != tc.ex.Response.Size {
				t.Errorf("content %+v, bodySize %d; want text %.40q encoding %q size %d compression %d", c, e.Response.BodySize, tc.text, tc.encoding, tc.size, tc.compressed)
			}
			var buf bytes.Buffer
			if err := har.Encode(&buf, &har.File{Log: har.Log{Version: har.Version, Entries: []har.Entry{e}}}); err != nil {
				t.Fatal(err)
			}
			checkSchema(t, buf.Bytes())
			f, err := har.Parse(buf.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.Exchanges()
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff([]*inspect.Exchange{tc.ex}, got, cmpopts.EquateEmpty()); d != "" {
				t.Errorf("round trip (-want +got):\n%s", d)
			}
		})
	}

	// Edited by hand: the text wins, decoded, as from a browser's file.
	e := har.NewEntry(resp(gz, int64(len(gz)), false, "gzip"), har.Options{})
	e.Response.Content.Text = `{"items":[]}`
	ex, err := e.Exchange()
	if err != nil {
		t.Fatal(err)
	}
	if r := ex.Response; string(r.Body) != `{"items":[]}` || r.Size != 12 || r.Truncated {
		t.Errorf("edited: body %q size %d truncated %v", r.Body, r.Size, r.Truncated)
	}
}

// TestTimingsFromTTFB: with the time to first byte known (the proxy's
// meta.ttfb_ms), wait is that and receive the rest; without it, wait is
// the whole duration.
func TestTimingsFromTTFB(t *testing.T) {
	t.Parallel()
	ex := &inspect.Exchange{
		ID: "01JNB5Z3Q0000000000000000A", Source: inspect.SourceProxy, Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), Duration: 40 * time.Millisecond,
		Request:  inspect.Request{Method: "GET", URL: "http://h/"},
		Response: &inspect.Response{Status: 200},
	}
	if tm := har.NewEntry(ex, har.Options{}).Timings; tm.Wait != 40 || tm.Receive != 0 {
		t.Errorf("without ttfb: %+v", tm)
	}
	ex.Meta = map[string]any{"ttfb_ms": 12.5}
	if e := har.NewEntry(ex, har.Options{}); e.Timings.Wait != 12.5 || e.Timings.Receive != 27.5 || e.Time != 40 {
		t.Errorf("with ttfb: time %v, %+v", e.Time, e.Timings)
	}
	// Times are whole microseconds: the subtraction's float noise
	// (0.3 - 0.019 = 0.28099999999999997) is not written out.
	ex.Duration, ex.Meta = 300*time.Microsecond, map[string]any{"ttfb_ms": 0.019}
	b, err := json.Marshal(har.NewEntry(ex, har.Options{}).Timings)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"wait":0.019,"receive":0.281}`) {
		t.Errorf("timings %s, want wait 0.019 and receive 0.281", b)
	}
}

// Playwright's HARs give a request that failed (no response) status -1:
// such an entry imports as one without a response, as status 0 does.
func TestPlaywrightFailedRequest(t *testing.T) {
	t.Parallel()
	f, err := har.Parse([]byte(`{"log": {"version": "1.2", "creator": {"name": "Playwright", "version": "1.48"}, "entries": [
		{"startedDateTime": "2024-01-01T00:00:00Z", "request": {"method": "GET", "url": "http://x/a"}, "response": {"status": -1, "statusText": "", "_failureText": "net::ERR_CONNECTION_REFUSED"}},
		{"startedDateTime": "2024-01-01T00:00:01Z", "request": {"method": "GET", "url": "http://x/b"}, "response": {"status": 200}}]}}`))
	if err != nil {
		t.Fatal(err)
	}
	exs, err := f.Exchanges()
	if err != nil || len(exs) != 2 {
		t.Fatalf("%d exchanges, %v", len(exs), err)
	}
	if exs[0].Response != nil || exs[0].Error != "net::ERR_CONNECTION_REFUSED" || exs[1].Response == nil || exs[1].Response.Status != 200 {
		t.Errorf("failed request: response %+v, error %q; second: %+v", exs[0].Response, exs[0].Error, exs[1].Response)
	}
}

// TestContentEncodedBombStaysEncoded: a small recorded body that decodes
// to more than the UI shows decoded (32 MiB) is exported as recorded. It
// was decoded up to 256 MiB: three 250 KB gzip answers of 250 MiB of NULs
// made GET /api/export.har write a 4.7 GB file, the server peaking at
// 15 GB of memory.
func TestContentEncodedBombStaysEncoded(t *testing.T) {
	t.Parallel()
	gz := gzipped(t, make([]byte, 32<<20+1))
	ex := &inspect.Exchange{
		ID: "01JNB5Z3Q0000000000000000A", Bin: "default", Source: inspect.SourceProxy, Time: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC),
		Request: inspect.Request{Method: "GET", URL: "https://api.example.com/big", Proto: "HTTP/1.1"},
		Response: &inspect.Response{Status: 200, Headers: inspect.Headers{{Name: "Content-Encoding", Value: "gzip"}},
			Body: gz, Size: int64(len(gz))},
	}
	e := har.NewEntry(ex, har.Options{})
	if c := e.Response.Content; c.Encoding != "base64" || c.Text != base64.StdEncoding.EncodeToString(gz) || c.Size != int64(len(gz)) || c.Compression != 0 || e.Hooklab.ResponseEncoded != "" {
		t.Errorf("content: encoding %q, %d characters of text, size %d, compression %d, %d of response_encoded; want the %d recorded bytes in base64",
			c.Encoding, len(c.Text), c.Size, c.Compression, len(e.Hooklab.ResponseEncoded), len(gz))
	}
	got, err := e.Exchange()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Response.Body, gz) || got.Response.Size != int64(len(gz)) {
		t.Errorf("round trip: %d bytes, size %d", len(got.Response.Body), got.Response.Size)
	}
}
