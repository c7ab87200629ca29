package inspect

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"
)

func exchangeEvent(bin string, i int) Event {
	return Event{Type: "exchange", Exchange: newEx(bin, "GET", fmt.Sprintf("http://h/%d", i))}
}

// drain takes what is buffered in s without waiting.
func drain(s *Sub) []Event {
	var out []Event
	for {
		select {
		case ev := <-s.C():
			out = append(out, ev)
		default:
			return out
		}
	}
}

func overflowed(s *Sub) bool {
	select {
	case <-s.Overflow():
		return true
	default:
		return false
	}
}

// publishNow fails the test if Publish does not return promptly.
func publishNow(t *testing.T, h *Hub, ev Event) {
	t.Helper()
	done := make(chan struct{})
	go func() { h.Publish(ev); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Publish blocked")
	}
}

func TestHubFanOut(t *testing.T) {
	t.Parallel()
	h := NewHub()
	subs := []*Sub{h.Subscribe(10, nil), h.Subscribe(10, nil), h.Subscribe(10, nil)}
	if n := h.Subscribers(); n != 3 {
		t.Fatalf("Subscribers = %d, want 3", n)
	}
	var sent []string
	for i := range 5 {
		ev := exchangeEvent("a", i)
		sent = append(sent, ev.Exchange.ID)
		publishNow(t, h, ev)
	}
	for i, s := range subs {
		var got []string
		for _, ev := range drain(s) {
			got = append(got, ev.Exchange.ID)
		}
		if !reflect.DeepEqual(got, sent) {
			t.Errorf("subscriber %d got %v, want %v in order", i, got, sent)
		}
		if overflowed(s) {
			t.Errorf("subscriber %d overflowed", i)
		}
	}

	h.Unsubscribe(subs[1])
	publishNow(t, h, exchangeEvent("a", 5))
	if got := drain(subs[1]); len(got) != 0 {
		t.Errorf("unsubscribed subscriber got %d events", len(got))
	}
	if got := drain(subs[0]); len(got) != 1 {
		t.Errorf("subscriber got %d events, want 1", len(got))
	}
	if n := h.Subscribers(); n != 2 {
		t.Errorf("Subscribers = %d, want 2", n)
	}
	// Publishing with nobody listening is fine.
	empty := NewHub()
	publishNow(t, empty, exchangeEvent("a", 0))
}

func TestHubFilter(t *testing.T) {
	t.Parallel()
	h := NewHub()
	onlyB := h.Subscribe(10, func(ev *Event) bool { return ev.Exchange != nil && ev.Exchange.Bin == "b" })
	all := h.Subscribe(10, nil)
	for i, bin := range []string{"a", "b", "a", "b", "c"} {
		publishNow(t, h, exchangeEvent(bin, i))
	}
	publishNow(t, h, Event{Type: "resync"})
	var bins []string
	for _, ev := range drain(onlyB) {
		bins = append(bins, ev.Exchange.Bin)
	}
	if !reflect.DeepEqual(bins, []string{"b", "b"}) {
		t.Errorf("filtered subscriber got bins %v, want [b b]", bins)
	}
	if got := len(drain(all)); got != 6 {
		t.Errorf("unfiltered subscriber got %d events, want 6", got)
	}
	if overflowed(onlyB) {
		t.Error("events a filter rejects count against the buffer")
	}
}

func TestHubOverflow(t *testing.T) {
	t.Parallel()
	h := NewHub()
	slow := h.Subscribe(2, nil) // never read until the end
	fast := h.Subscribe(100, nil)
	var fastGot []Event
	for i := range 10 {
		publishNow(t, h, exchangeEvent("a", i))
		fastGot = append(fastGot, drain(fast)...)
	}
	if !overflowed(slow) {
		t.Fatal("slow subscriber's Overflow is not closed")
	}
	if overflowed(fast) {
		t.Error("fast subscriber overflowed")
	}
	if len(fastGot) != 10 {
		t.Errorf("fast subscriber got %d events, want 10", len(fastGot))
	}
	if got := drain(slow); len(got) != 2 {
		t.Errorf("slow subscriber holds %d events, want its buffer of 2", len(got))
	}
	// Once overflowed, a subscriber gets nothing more: it resyncs instead
	// of seeing a stream with a hole in it.
	publishNow(t, h, exchangeEvent("a", 10))
	if got := drain(slow); len(got) != 0 {
		t.Errorf("overflowed subscriber got %d more events after draining", len(got))
	}
	if got := drain(fast); len(got) != 1 {
		t.Errorf("fast subscriber got %d, want 1", len(got))
	}
}

func TestHubConcurrent(t *testing.T) {
	t.Parallel()
	h := NewHub()
	const publishers, each = 4, 200
	keep := h.Subscribe(publishers*each, nil)
	var wg sync.WaitGroup
	for p := range publishers {
		wg.Go(func() {
			for i := range each {
				h.Publish(exchangeEvent("a", p*each+i))
			}
		})
	}
	for range 4 { // subscribers coming and going meanwhile
		wg.Go(func() {
			for range 50 {
				s := h.Subscribe(1, nil)
				drain(s)
				h.Unsubscribe(s)
			}
		})
	}
	wg.Wait()
	got := drain(keep)
	if len(got) != publishers*each || overflowed(keep) {
		t.Errorf("big subscriber got %d of %d events (overflowed %v)", len(got), publishers*each, overflowed(keep))
	}
	seen := map[string]bool{}
	for _, ev := range got {
		if seen[ev.Exchange.ID] {
			t.Fatalf("event %s delivered twice", ev.Exchange.ID)
		}
		seen[ev.Exchange.ID] = true
	}
	if n := h.Subscribers(); n != 1 {
		t.Errorf("Subscribers = %d, want 1", n)
	}
}

func TestEventJSON(t *testing.T) {
	t.Parallel()
	ex := newEx("a", "POST", "http://h/x?y", status(201))
	tests := []struct {
		name string
		ev   Event
		want map[string]any
	}{
		{"exchange", Event{Type: "exchange", Exchange: ex}, map[string]any{
			"type": "exchange", "exchange": summaryMap(t, ex.Summarize()),
		}},
		{"resync", Event{Type: "resync"}, map[string]any{"type": "resync"}},
		{"data merged, type wins", Event{Type: "rules", Data: map[string]any{"version": 3.0, "type": "spoof"}},
			map[string]any{"type": "rules", "version": 3.0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ev := tt.ev
			var got map[string]any
			if err := json.Unmarshal(ev.Encoded(), &got); err != nil {
				t.Fatalf("Encoded() = %s: %v", ev.Encoded(), err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Encoded() = %v, want %v", got, tt.want)
			}
		})
	}
	t.Run("the exchange message is the map's bytes", func(t *testing.T) {
		t.Parallel()
		// Written without a map, byte for byte what encoding the map gives:
		// sorted keys, HTML-safe escaping, invalid UTF-8 replaced.
		hostile := &Exchange{ID: "01X", Bin: "b<i>n", Source: SourceCapture, Time: time.Unix(1, 5).UTC(), Duration: 1500 * time.Microsecond,
			Request:  Request{Method: "POST", URL: "http://h/p?q=<script>&x=\u2028 \"\xff", Size: 3, Truncated: true},
			Response: &Response{Status: 201, Size: 9}, Rule: "r&1", Error: "bad \"x\"\n\t\x01"}
		for _, x := range []*Exchange{ex, hostile} {
			want, err := json.Marshal(map[string]any{"type": "exchange", "exchange": x.Summarize()})
			if err != nil {
				t.Fatal(err)
			}
			ev := Event{Type: "exchange", Exchange: x}
			if got := ev.Encoded(); string(got) != string(want) {
				t.Errorf("Encoded() = %s\nwant        %s", got, want)
			}
			if got, _ := json.Marshal(ev); string(got) != string(want) {
				t.Errorf("json.Marshal = %s\nwant          %s", got, want)
			}
		}
	})
	t.Run("subscribers get the encoding", func(t *testing.T) {
		t.Parallel()
		h := NewHub()
		s := h.Subscribe(1, nil)
		h.Publish(Event{Type: "exchange", Exchange: ex})
		ev := <-s.C()
		want, _ := json.Marshal(Event{Type: "exchange", Exchange: ex})
		if got := ev.Encoded(); string(got) != string(want) {
			t.Errorf("delivered encoding %s, want %s", got, want)
		}
	})
}

func summaryMap(t *testing.T, s Summary) map[string]any {
	t.Helper()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestHubPublishRetained: retention's message, with its bound and with
// none (list again), and [] for nothing kept, never null.
func TestHubPublishRetained(t *testing.T) {
	t.Parallel()
	h := NewHub()
	s := h.Subscribe(8, nil)
	defer h.Unsubscribe(s)
	h.PublishRetained(Retained{Deleted: 2, From: "01M8ZZZZZZZZZZZZZZZZZZZZYZ", Before: "01M8ZZZZZZZZZZZZZZZZZZZZZ0"})
	h.PublishRetained(Retained{Deleted: 3, From: "01M8ZZZZZZZZZZZZZZZZZZZZYZ", Before: "01M8ZZZZZZZZZZZZZZZZZZZZZ1", Kept: []string{"01M8ZZZZZZZZZZZZZZZZZZZZZ0"}})
	h.PublishRetained(Retained{Deleted: 1500})
	want := []string{
		`{"before":"01M8ZZZZZZZZZZZZZZZZZZZZZ0","deleted":2,"from":"01M8ZZZZZZZZZZZZZZZZZZZZYZ","kept":[],"type":"retained"}`,
		`{"before":"01M8ZZZZZZZZZZZZZZZZZZZZZ1","deleted":3,"from":"01M8ZZZZZZZZZZZZZZZZZZZZYZ","kept":["01M8ZZZZZZZZZZZZZZZZZZZZZ0"],"type":"retained"}`,
		`{"deleted":1500,"type":"retained"}`,
	}
	got := drain(s)
	if len(got) != len(want) {
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
	for i, ev := range got {
		if string(ev.Encoded()) != want[i] {
			t.Errorf("event %d: %s, want %s", i, ev.Encoded(), want[i])
		}
	}
}

// TestHubWants: an event type is wanted when a subscriber's filter takes
// it; a subscriber that takes only exchanges (a /wait long poll) does not
// make the store read what retention kept for nobody.
func TestHubWants(t *testing.T) {
	t.Parallel()
	h := NewHub()
	if h.Wants("retained") {
		t.Fatal("a hub without subscribers wants retained")
	}
	waits := h.Subscribe(8, func(ev *Event) bool { return ev.Exchange != nil })
	if h.Wants("retained") {
		t.Fatal("a subscriber of exchanges only makes the hub want retained")
	}
	page := h.Subscribe(8, func(ev *Event) bool { return ev.Exchange == nil || ev.Exchange.Bin == "b" })
	if !h.Wants("retained") {
		t.Fatal("a stream client's subscription does not make the hub want retained")
	}
	h.Unsubscribe(page)
	if h.Wants("retained") {
		t.Fatal("still wanted once the stream client left")
	}
	h.Unsubscribe(waits)
	all := h.Subscribe(8, nil)
	defer h.Unsubscribe(all)
	if !h.Wants("retained") {
		t.Fatal("a subscriber of everything does not make the hub want retained")
	}
}
