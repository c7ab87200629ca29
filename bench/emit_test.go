package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hooklab/hooklab/emit"
	"github.com/hooklab/hooklab/rules"
)

func TestSubstitute(t *testing.T) {
	got, err := substitute(`{"a": "{{x}}", "b": "{{ y }}-{{x}}"}`, map[string]string{"x": `1"`, "y": "2"})
	if err != nil || string(got) != `{"a": "1\"", "b": "2-1\""}` {
		t.Errorf("got %s, %v", got, err)
	}
	if _, err := substitute(`{{x}}`, nil); err == nil {
		t.Error("a missing value: want an error")
	}
	if _, err := substitute(`{{x`, map[string]string{"x": ""}); err == nil {
		t.Error("an unclosed placeholder: want an error")
	}
}

// The bare loop sends what hooklab renders: the bench's body for event i is
// byte for byte what hooklab's template engine renders from its data.
func TestEmitExpectedBodyIsHooklabs(t *testing.T) {
	tpl, err := rules.NewTemplate(emitPayload, rules.FormatJSON)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 1, 59, 96, 19999, 99999} {
		dec := json.NewDecoder(bytes.NewReader(emitEventData(i)))
		dec.UseNumber()
		var data map[string]any
		if err := dec.Decode(&data); err != nil {
			t.Fatal(err)
		}
		ticket := data["ticket"].(map[string]any)
		n, _ := ticket["id"].(json.Number).Int64()
		ticket["id"] = n
		got, err := tpl.Render(data)
		if err != nil {
			t.Fatal(err)
		}
		want := emitExpectedBody(i)
		if !bytes.Equal(got, want) {
			t.Errorf("event %d:\nhooklab %s\nbench   %s", i, got, want)
		}
		var v struct {
			Ticket struct {
				ID, Description string
			}
		}
		if err := json.Unmarshal(want, &v); err != nil {
			t.Fatalf("event %d: body is not JSON: %v\n%s", i, err, want)
		}
		tk := emitTicketOf(i)
		if v.Ticket.ID != strconv.Itoa(tk.ID) || v.Ticket.Description != tk.Description {
			t.Errorf("event %d: body carries %+v", i, v.Ticket)
		}
	}
	if a, b := emitExpectedBody(1), emitExpectedBody(2); bytes.Equal(a, b) {
		t.Error("bodies of different events are the same")
	}
}

func TestEmitConfigIsValid(t *testing.T) {
	for _, rate := range []string{"", "1/h"} {
		yaml := emitConfig("http://127.0.0.1:9/hooks/zendesk", 32, rate)
		cfg, err := rules.Parse([]byte(yaml), "emit.yaml", func(string) string { return "" })
		if err != nil {
			t.Fatalf("rate %q: %v\n%s", rate, err, yaml)
		}
		if _, err := emit.Check(cfg, func(string) string { return "" }, nil); err != nil {
			t.Fatalf("rate %q: %v\n%s", rate, err, yaml)
		}
	}
}

func TestEmitBatches(t *testing.T) {
	bs := emitBatches(0, 1201, 500)
	if len(bs) != 3 || bs[0].count != 500 || bs[2].count != 201 {
		t.Fatalf("batches: %d", len(bs))
	}
	var evs []struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(bs[2].body, &evs); err != nil {
		t.Fatal(err)
	}
	if len(evs) != 201 || evs[0].Type != emitEventType || !bytes.Equal(evs[200].Data, emitEventData(1200)) {
		t.Errorf("last batch: %d events, first %q", len(evs), evs[0].Type)
	}
}

func TestParseEventsAnswer(t *testing.T) {
	ok := []byte(`{"events":["e1","e2"],"invocations":[{"id":"i1","status":"pending"},{"id":"i2","status":"pending"}]}`)
	ids, err := parseEventsAnswer(http.StatusAccepted, ok, 2)
	if err != nil || len(ids) != 2 || ids[0] != "i1" || ids[1] != "i2" {
		t.Errorf("got %v, %v", ids, err)
	}
	for name, tc := range map[string]struct {
		status int
		body   string
		count  int
	}{
		"status":      {400, `{"error":"bad"}`, 1},
		"not JSON":    {202, `nope`, 1},
		"too few":     {202, string(ok), 3},
		"failed":      {202, `{"invocations":[{"id":"i1","status":"failed","error":"payload too large"}]}`, 1},
		"no id":       {202, `{"invocations":[{"status":"pending"}]}`, 1},
		"long answer": {500, strings.Repeat("x", 2000), 1},
	} {
		if _, err := parseEventsAnswer(tc.status, []byte(tc.body), tc.count); err == nil {
			t.Errorf("%s: want an error", name)
		} else if len(err.Error()) > 700 {
			t.Errorf("%s: error of %d bytes", name, len(err.Error()))
		}
	}
}

func TestEmitStatsFinal(t *testing.T) {
	var s emitStats
	if err := json.Unmarshal([]byte(`{"by_status":{"success":3},"queued":0,"in_flight":0,"total":3,"dropped_events":0,"buffered_events":0}`), &s); err != nil {
		t.Fatal(err)
	}
	if !s.final(3) || s.final(4) || s.ByStatus["success"] != 3 {
		t.Errorf("%+v", s)
	}
	s.InFlight = 1
	if s.final(3) {
		t.Error("in flight: not final")
	}
}

func TestEmitSink(t *testing.T) {
	body := emitExpectedBody(7)
	sink := newEmitSink(map[string]struct{}{string(body): {}}, "s3cret")
	srv := httptest.NewServer(sink)
	defer srv.Close()
	send := func(id string, body []byte, signed, good bool) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL, bytes.NewReader(body))
		if id != "" {
			req.Header.Set(hdrInvocationZendesk, id)
		}
		if signed {
			sig, err := rules.Sign(rules.SchemeZendesk, []string{"s3cret"}, id, time.Now(), body)
			if err != nil {
				t.Fatal(err)
			}
			ts := sig.Get(hdrZendeskTS)
			if !good {
				ts = "2000-01-01T00:00:00Z"
			}
			req.Header.Set(hdrZendeskTS, ts)
			req.Header.Set(hdrZendeskSig, sig.Get(hdrZendeskSig))
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("sink answered %d", resp.StatusCode)
		}
	}
	send("a", body, true, true)
	send("a", body, true, true)  // a retry
	send("b", body, true, false) // a bad signature
	send("c", []byte(`{}`), false, false)
	send("", body, true, true)
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if sink.unique.Load() != 3 || sink.dups != 1 || sink.badSig != 1 || sink.unsigned != 1 || sink.unexpected != 1 || sink.noID != 1 || sink.requests != 5 {
		t.Errorf("unique %d dups %d badSig %d unsigned %d unexpected %d noID %d requests %d",
			sink.unique.Load(), sink.dups, sink.badSig, sink.unsigned, sink.unexpected, sink.noID, sink.requests)
	}
	if sink.seen["a"].IsZero() || sink.last.IsZero() {
		t.Error("arrival times not kept")
	}
	sink.mu.Unlock()
	sink.reset()
	sink.mu.Lock()
	if sink.unique.Load() != 0 || len(sink.seen) != 0 || sink.requests != 0 {
		t.Error("reset kept counts")
	}
}

func TestVerifyZendesk(t *testing.T) {
	// Zendesk's documented construction: base64(HMAC-SHA256(secret, timestamp + body)).
	h, err := rules.Sign(rules.SchemeZendesk, []string{"dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ=="}, "x", time.Unix(1700000000, 0), []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==")
	if !verifyZendesk(secret, h.Get(hdrZendeskTS), []byte(`{"a":1}`), h.Get(hdrZendeskSig)) {
		t.Error("hooklab's signature does not verify")
	}
	if verifyZendesk(secret, h.Get(hdrZendeskTS), []byte(`{"a":2}`), h.Get(hdrZendeskSig)) {
		t.Error("another body verifies")
	}
}

func TestParseProcStatCPU(t *testing.T) {
	// utime 250 and stime 50 ticks; a command name with a space and a ')'.
	stat := "4242 (hook lab) x) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 9 0 100 1000000 2000 18446744073709551615\n"
	d, err := parseProcStatCPU([]byte(stat))
	if err != nil || d != 3*time.Second {
		t.Errorf("got %v, %v; want 3s", d, err)
	}
	for _, bad := range []string{"", "1 (x) S 1 2", "1 (x) S 1 2 3 4 5 6 7 8 9 10 u s 0"} {
		if _, err := parseProcStatCPU([]byte(bad)); err == nil {
			t.Errorf("%q: want an error", bad)
		}
	}
	if d, err := procCPU(os.Getpid()); err != nil && runtime.GOOS == "linux" {
		t.Errorf("own CPU: %v", err)
	} else if err == nil && d < 0 {
		t.Errorf("own CPU %v", d)
	}
}

func TestWithRetainCount(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		n      int
		want   []string
		raised bool
	}{
		{nil, 21000, nil, false},
		{nil, 100000, nil, false},
		{nil, 101000, []string{"--retain-count=101000"}, true},
		{[]string{"--memory"}, 200000, []string{"--memory", "--retain-count=200000"}, true},
		{[]string{"--retain-count=5"}, 200000, []string{"--retain-count=5"}, false},
		{[]string{"-retain-count", "5"}, 200000, []string{"-retain-count", "5"}, false},
	} {
		got, raised := withRetainCount(tc.args, tc.n)
		if !slices.Equal(got, tc.want) || raised != tc.raised {
			t.Errorf("withRetainCount(%q, %d) = %q, %v; want %q, %v", tc.args, tc.n, got, raised, tc.want, tc.raised)
		}
	}
}
