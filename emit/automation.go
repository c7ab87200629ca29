package emit

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/hooklab/hooklab/inspect"
	"github.com/hooklab/hooklab/rules"
)

// automate fires automations on their schedules until ctx ends. An
// automation's schedule starts when Run starts (or when it first appears
// in the config); one whose definition is unchanged by a reload keeps its
// schedule.
func (e *Emitter) automate(ctx context.Context) {
	next := map[string]time.Time{}
	for {
		s := e.snap.Load()
		now := e.clock.Now()
		var soonest time.Time
		live := map[string]bool{}
		for _, a := range s.cfg.automations {
			key := a.name + "\x00" + a.spec
			live[key] = true
			t, ok := next[key]
			if n := a.after(now); !ok || !n.IsZero() && n.Before(t) {
				// First, or the clock was set back: the next run is
				// nearer than the one waited for (an hour's schedule
				// set back a day waited a day and an hour).
				t = n
			}
			if !t.IsZero() && !t.After(now) {
				e.fire(ctx, s, a, t)
				prev := t
				if t = a.after(prev); !t.IsZero() && !t.After(now) {
					t = a.after(now)
				}
			}
			next[key] = t
			if !t.IsZero() && (soonest.IsZero() || t.Before(soonest)) {
				soonest = t
			}
		}
		for k := range next {
			if !live[k] {
				delete(next, k)
			}
		}
		var tc <-chan time.Time
		stop := func() {}
		if !soonest.IsZero() {
			tc, stop = e.clock.At(soonest)
		}
		select {
		case <-ctx.Done():
			stop()
			return
		case <-tc:
		case <-e.reload:
		}
		stop()
	}
}

// after returns the automation's first run after t.
func (a *automation) after(t time.Time) time.Time {
	if a.cron != nil {
		return a.cron.next(t)
	}
	if a.every > 0 {
		return t.Add(a.every)
	}
	return time.Time{}
}

// fire runs one automation at time at: its conditions are checked against
// its data plus now (iso, unix, year, month, day, hour, minute, weekday),
// and its webhook is notified with event type automation.NAME.
func (e *Emitter) fire(ctx context.Context, s *snapshot, a *automation, at time.Time) {
	ev := Event{Type: "automation." + a.name, Time: at, Data: a.data}
	if err := e.normalizeEvent(&ev, at); err != nil {
		e.log.Error("automation event", "automation", a.name, "err", err)
		return
	}
	if a.cond != nil {
		var m map[string]any
		_ = json.Unmarshal(a.data, &m)
		if m == nil {
			m = map[string]any{}
		}
		m["now"] = map[string]any{
			"iso": at.UTC().Format(time.RFC3339), "unix": at.Unix(), "year": at.Year(), "month": int(at.Month()),
			"day": at.Day(), "hour": at.Hour(), "minute": at.Minute(), "weekday": int(at.Weekday()),
		}
		body, _ := json.Marshal(m)
		if _, ok := a.cond.Match(&rules.Request{Method: http.MethodPost, Body: body, Header: http.Header{}}); !ok {
			return
		}
	}
	// A database that refuses the write (a full disk) holds the run here,
	// tried again until it takes it, as captured requests' events are;
	// the runs that fall due meanwhile are not made (as while hooklab is
	// stopped). Each try takes the webhook from the live config, so that
	// none deleted or made inactive meanwhile is invoked.
	var t *time.Ticker
	name := a.name
	for {
		w := s.hooks[a.notify.webhook]
		if w == nil || w.Status != StatusActive {
			return
		}
		inv := e.newInvocation(w, &ev, nil, &a.notify, "automation:"+a.name, at)
		_, err := e.enqueue(context.WithoutCancel(ctx), []*Invocation{inv})
		if err == nil {
			if t != nil {
				t.Stop()
				e.log.Info("the emitter's database took the automation run it held", "automation", a.name)
			}
			return
		}
		if !errors.Is(err, inspect.ErrStoreFull) || errors.Is(err, inspect.ErrClosed) || ctx.Err() != nil {
			if t != nil {
				t.Stop()
			}
			e.log.Error("queue automation", "automation", a.name, "err", err)
			return
		}
		if t == nil {
			e.log.Warn("the emitter's database refused an automation run; holding the run until it takes it", "automation", a.name, "err", err)
			t = time.NewTicker(retryRecordEvery)
		}
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		s = e.snap.Load()
		// Nor is the run of an automation removed meanwhile (or whose
		// schedule changed: a new one, which makes its own runs).
		if a = s.cfg.automation(a.name, a.spec); a == nil {
			t.Stop()
			e.log.Info("an automation run held for the emitter's database is dropped: its automation is no longer in the config", "automation", name)
			return
		}
	}
}

// automation returns the automation of this name and schedule, or nil.
func (c *config) automation(name, spec string) *automation {
	for _, a := range c.automations {
		if a.name == name && a.spec == spec {
			return a
		}
	}
	return nil
}
