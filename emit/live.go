package emit

import (
	"bytes"
	"context"
	"encoding/json"
	"reflect"
	"slices"
	"time"

	"github.com/hooklab/hooklab/inspect"
)

// The live stream hears of webhooks changing (Options.Publish), so that a
// page listing them or showing one follows:
//
//	{"type":"webhook","webhook":{...}}      the webhook as GET /api/webhooks lists it
//	{"type":"webhook_deleted","id":"..."}   it is gone
//
// A webhook is published when it is made, changed (a PATCH, a rotated
// signing secret, a config reload that changes it or what in the config
// connects it), and when its circuit breaker opens, closes, or its
// cool-down ends (half_open), which no other event marks.

// listItem is webhook w, its secrets redacted, as GET /api/webhooks lists
// it: with its stats, and its circuit's state c (until: the end of an open
// one's cool-down).
func (e *Emitter) listItem(w *Webhook, c string, until time.Time) webhookListItem {
	return webhookListItem{
		webhookView:  webhookView{Webhook: w, Stats: e.counts.stats(w.ID)},
		Circuit:      c,
		CircuitUntil: timeOrNil(until),
	}
}

// publishWebhookLocked publishes webhook id as it is now. While its circuit
// is open, a wait tied to its lane publishes it again when the cool-down
// ends. e.mu is held.
func (e *Emitter) publishWebhookLocked(id string) {
	if e.opts.Publish == nil {
		return
	}
	w := e.snap.Load().hooks[id]
	if w == nil {
		return
	}
	c, until := "closed", time.Time{}
	if l := e.lanes[id]; l != nil {
		c, until = l.brk.status(e.clock.Now())
		e.watchCooldownLocked(l, c, until)
	}
	e.opts.Publish(inspect.Event{Type: "webhook", Data: map[string]any{"webhook": e.listItem(w.redacted(e.secretHeader), c, until)}})
}

// circuitMoved publishes the webhook of lane l, whose circuit changed
// state, unless l is no longer its lane (the webhook was removed).
func (e *Emitter) circuitMoved(l *lane) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.lanes[l.id] == l {
		e.publishWebhookLocked(l.id)
	}
}

// watchCooldownLocked arms (or, for a circuit that is not open, drops) the
// wait of lane l that publishes its webhook when the cool-down ends at
// until: nothing else happens then (admit moves the circuit on only when
// an attempt comes), yet the circuit reads half_open from that moment.
// The wait ends with the lane (its webhook removed, or Run ending), and
// Run waits for it as for the lanes. e.mu is held.
func (e *Emitter) watchCooldownLocked(l *lane, circuit string, until time.Time) {
	if l.stopWatch != nil {
		l.stopWatch()
		l.stopWatch = nil
	}
	if circuit != "open" || e.stopped || l.ctx == nil {
		return
	}
	ctx, cancel := context.WithCancel(l.ctx)
	l.stopWatch = cancel
	at, release := e.clock.At(until)
	e.laneWG.Add(1)
	go func() {
		defer e.laneWG.Done()
		defer release()
		select {
		case <-ctx.Done():
			return
		case <-at:
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		// Re-armed or dropped meanwhile: the publish that did so told.
		if ctx.Err() == nil && e.lanes[l.id] == l {
			e.publishWebhookLocked(l.id)
		}
	}()
}

// publishChangesLocked publishes what changed from snapshot old to s: each
// webhook made or changed (its definition, or what in the config connects
// it), and each one gone. e.mu is held.
func (e *Emitter) publishChangesLocked(old, s *snapshot) {
	if e.opts.Publish == nil || old == nil {
		return
	}
	var gone []string
	for id := range old.hooks {
		if s.hooks[id] == nil {
			gone = append(gone, id)
		}
	}
	slices.Sort(gone)
	for _, id := range gone {
		e.opts.Publish(inspect.Event{Type: "webhook_deleted", Data: map[string]any{"id": id}})
	}
	changed := make([]string, 0, len(s.hooks))
	for id, w := range s.hooks {
		was := old.hooks[id]
		if was == w && old.cfg == s.cfg {
			continue
		}
		if was != nil && sameDefinition(was, w) && reflect.DeepEqual(connectionsIn(old.cfg, id), connectionsIn(s.cfg, id)) {
			continue // a reload that left it as it was
		}
		changed = append(changed, id)
	}
	slices.Sort(changed)
	for _, id := range changed {
		e.publishWebhookLocked(id)
	}
}

// sameDefinition reports whether a and b define the same webhook, secrets
// and where it is defined included.
func sameDefinition(a, b *Webhook) bool {
	if a == b {
		return true
	}
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(ja, jb)
}
