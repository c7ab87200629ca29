package emit

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// published keeps the webhook events an emitter publishes.
type published struct {
	mu  sync.Mutex
	evs []inspect.Event
}

func (p *published) publish(ev inspect.Event) {
	if ev.Type != "webhook" && ev.Type != "webhook_deleted" {
		return
	}
	p.mu.Lock()
	p.evs = append(p.evs, ev)
	p.mu.Unlock()
}

// circuits returns the circuit states published for webhook id, in order.
func (p *published) circuits(id string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, ev := range p.evs {
		if it, ok := ev.Data["webhook"].(webhookListItem); ok && it.ID == id {
			out = append(out, it.Circuit)
		}
	}
	return out
}

// TestCooldownPublished: the end of an open circuit's cool-down is
// published (it reads half_open from then) when it comes, by a wait that
// ends with the webhook: deleting it releases the wait, so no goroutine
// stays behind for a webhook gone.
func TestCooldownPublished(t *testing.T) {
	t.Parallel()
	s := newSink(t, status(500))
	var pub published
	te := newEnv(t, "", nil, func(o *Options) { o.Publish = pub.publish })
	c := te.api()
	if code, raw := c.do("POST", "/api/webhooks", `{"id": "hook", "endpoint": "`+s.URL+`", "subscriptions": ["test.*"], "signing": {"scheme": "none"},
		"circuit_breaker": {"min_attempts": 1, "failure_rate": 1, "cooldown": "10s"}}`, nil); code != 201 {
		t.Fatalf("create: %d %s", code, raw)
	}
	opened := te.clock.Now()
	te.emit("test.x", `{}`)
	waitFor(t, "the circuit to open", func() bool { return len(pub.circuits("hook")) == 2 })
	until := opened.Add(10 * time.Second)
	te.clock.waitWaiter(t, until)
	te.clock.Set(until)
	waitFor(t, "half_open to be published", func() bool { return len(pub.circuits("hook")) == 3 })
	if got, want := pub.circuits("hook"), []string{"closed", "open", "half_open"}; !slices.Equal(got, want) {
		t.Errorf("published circuits %v, want %v", got, want)
	}

	// The probe fails: open again, with a new wait; deleting the webhook
	// ends it.
	te.emit("test.x", `{}`)
	waitFor(t, "the circuit to open again", func() bool { return len(pub.circuits("hook")) == 4 })
	again := until.Add(10 * time.Second)
	te.clock.waitWaiter(t, again)
	if code, raw := c.do("DELETE", "/api/webhooks/hook", nil, nil); code != 204 {
		t.Fatalf("delete: %d %s", code, raw)
	}
	waitFor(t, "the cool-down's wait to end with the webhook", func() bool { return !te.clock.waitsIn(again, again) })
	pub.mu.Lock()
	last := pub.evs[len(pub.evs)-1]
	pub.mu.Unlock()
	if last.Type != "webhook_deleted" || last.Data["id"] != "hook" {
		t.Errorf("last event %+v, want webhook_deleted of hook", last)
	}
}
