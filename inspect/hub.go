package inspect

import (
	"encoding/json"
	"sync"
)

// Event is one message of the live stream.
type Event struct {
	// Type is "exchange", "resync", "rules", or another feature's event.
	Type string
	// Exchange is set for "exchange" events.
	Exchange *Exchange
	// Data holds the other fields of the message.
	Data map[string]any

	enc   *encoding // the encoded message, made once for all subscribers
	extra []string  // the hub's secret header names, for RedactSummary
}

type encoding struct {
	once sync.Once
	raw  []byte
}

// MarshalJSON writes {"type":…, "exchange":summary, …Data}, keys sorted;
// the summary is redacted as the list API's (RedactSummary, with the
// secret header names of the hub that published it).
func (e Event) MarshalJSON() ([]byte, error) {
	if len(e.Data) == 0 && e.Exchange != nil {
		// The message of every capture, written without a map: the same
		// bytes, a third of the work.
		sum := RedactSummary(e.Exchange.Summarize(), e.extra)
		b := make([]byte, 0, 320)
		b = append(b, `{"exchange":`...)
		b = sum.AppendJSON(b)
		b = append(b, `,"type":`...)
		b = AppendJSONString(b, e.Type)
		return append(b, '}'), nil
	}
	m := make(map[string]any, len(e.Data)+2)
	for k, v := range e.Data {
		m[k] = v
	}
	m["type"] = e.Type
	if e.Exchange != nil {
		m["exchange"] = RedactSummary(e.Exchange.Summarize(), e.extra)
	}
	return json.Marshal(m)
}

// Encoded returns the event's JSON. Copies of a published event share one
// encoding, made by the first subscriber that asks (not by the publisher,
// which must stay fast).
func (e *Event) Encoded() []byte {
	if e.enc == nil {
		e.enc = new(encoding)
	}
	e.enc.once.Do(func() {
		// MarshalJSON directly: through json.Marshal its output would be
		// parsed again to compact it.
		e.enc.raw, _ = e.MarshalJSON()
	})
	return e.enc.raw
}

// Hub fans events out to subscribers without ever waiting for one: a
// subscriber whose buffer is full is marked overflowed and gets nothing more;
// it is expected to resync from the API.
type Hub struct {
	mu    sync.RWMutex
	subs  map[*Sub]struct{}
	extra []string
}

// NewHub returns an empty hub. secretHeaders are the names, beyond
// IsSecretHeader's own, whose values the summaries it sends redact (as
// --secret-header adds them): the query values of an exchange of source
// emit under such a name read Redacted, as in the list API.
func NewHub(secretHeaders ...string) *Hub {
	return &Hub{subs: make(map[*Sub]struct{}), extra: secretHeaders}
}

// Sub is one subscription.
type Sub struct {
	c        chan Event
	filter   func(*Event) bool
	overflow chan struct{}
	once     sync.Once
}

// C delivers the subscription's events.
func (s *Sub) C() <-chan Event { return s.c }

// Overflow is closed when the subscriber fell behind and lost events.
func (s *Sub) Overflow() <-chan struct{} { return s.overflow }

// Subscribe adds a subscriber with a buffer of buf events. filter, when not
// nil, selects the events it gets.
func (h *Hub) Subscribe(buf int, filter func(*Event) bool) *Sub {
	s := &Sub{c: make(chan Event, buf), filter: filter, overflow: make(chan struct{})}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

// Unsubscribe removes s.
func (h *Hub) Unsubscribe(s *Sub) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
}

// Subscribers returns how many subscribers there are.
func (h *Hub) Subscribers() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.subs)
}

// Wants reports whether some subscriber's filter accepts an event of type
// typ that carries no exchange (as "retained" does), so that a publisher
// can skip the work of making one nobody would get.
func (h *Hub) Wants(typ string) bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	ev := Event{Type: typ}
	for s := range h.subs {
		if s.filter == nil || s.filter(&ev) {
			return true
		}
	}
	return false
}

// Publish sends ev to every subscriber whose filter accepts it. It never
// blocks.
func (h *Hub) Publish(ev Event) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	if len(h.subs) == 0 {
		return
	}
	if ev.enc == nil {
		ev.enc = new(encoding)
	}
	ev.extra = h.extra
	for s := range h.subs {
		if s.filter != nil && !s.filter(&ev) {
			continue
		}
		select {
		case <-s.overflow:
			continue // it lost events: it gets nothing more and resyncs
		default:
		}
		select {
		case s.c <- ev:
		default:
			s.once.Do(func() { close(s.overflow) })
		}
	}
}

// PublishExchanges publishes an "exchange" event for each of exs; it is
// meant as the store's OnCommit.
func (h *Hub) PublishExchanges(exs []*Exchange) {
	for _, ex := range exs {
		h.Publish(Event{Type: "exchange", Exchange: ex})
	}
}

// PublishRetained publishes what retention deleted as one "retained"
// event: {"type":"retained","deleted":N,"from":id,"before":id,"kept":[ids]},
// or, when r has no Before, {"type":"retained","deleted":N} (list again).
// It is meant as the store's OnRetain.
func (h *Hub) PublishRetained(r Retained) {
	data := map[string]any{"deleted": r.Deleted}
	if r.Before != "" {
		data["from"], data["before"] = r.From, r.Before
		kept := r.Kept
		if kept == nil {
			kept = []string{} // [], not null
		}
		data["kept"] = kept
	}
	h.Publish(Event{Type: "retained", Data: data})
}
