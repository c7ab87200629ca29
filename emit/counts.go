package emit

import (
	"sync"
)

// finalCounts counts the finished invocations of each webhook by status,
// over what the database keeps (the retention window). It is rebuilt from
// the database at Open and then follows every committed write that
// finishes, requeues or deletes invocations, so that reading it costs no
// query.
type finalCounts struct {
	mu sync.Mutex
	by map[string]map[string]int64 // webhook id -> status -> count
	// grew, when set, is signalled (without waiting) when a count grows,
	// so that the retention sweep deletes past RetainCount as they
	// finish, not once a minute.
	grew chan struct{}
}

func (c *finalCounts) add(webhook, status string, n int64) {
	if n == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if n > 0 && c.grew != nil {
		select {
		case c.grew <- struct{}{}:
		default:
		}
	}
	if c.by == nil {
		c.by = map[string]map[string]int64{}
	}
	m := c.by[webhook]
	if m == nil {
		m = map[string]int64{}
		c.by[webhook] = m
	}
	// A count may go below zero for a moment: a redelivery's -1 can be
	// applied before the +1 of the attempt that made the invocation final
	// (they commit in that order, but apply from different goroutines).
	m[status] += n
	if m[status] == 0 {
		delete(m, status)
	}
}

// total counts every finished invocation.
func (c *finalCounts) total() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	var n int64
	for _, m := range c.by {
		for _, k := range m {
			n += max(k, 0) // see add
		}
	}
	return n
}

// addAll applies counts by (webhook, status), each times sign.
func (c *finalCounts) addAll(counts map[[2]string]int64, sign int64) {
	for k, n := range counts {
		c.add(k[0], k[1], sign*n)
	}
}

// finished counts an invocation whose attempt was recorded, when that
// attempt made it final.
func (c *finalCounts) finished(webhook, status string, queued bool) {
	if !queued {
		c.add(webhook, status, 1)
	}
}

// WebhookStats counts a webhook's finished invocations, as
// GET /api/webhooks answers with each webhook.
type WebhookStats struct {
	// ByStatus counts finished invocations by final status (success,
	// failed, timeout, client_error, server_error) over the retention
	// window; statuses with none are listed as 0.
	ByStatus map[string]int64 `json:"by_status"`
	// Total is the number of finished invocations.
	Total int64 `json:"total"`
	// SuccessRate is ByStatus.success / Total, or null when there are
	// none.
	SuccessRate *float64 `json:"success_rate"`
}

// finalStatuses are the statuses of finished invocations.
var finalStatuses = []string{InvocationSuccess, InvocationFailed, InvocationTimeout, InvocationClientError, InvocationServerError}

// stats returns the counts of webhook.
func (c *finalCounts) stats(webhook string) WebhookStats {
	s := WebhookStats{ByStatus: make(map[string]int64, len(finalStatuses))}
	for _, st := range finalStatuses {
		s.ByStatus[st] = 0
	}
	c.mu.Lock()
	for st, n := range c.by[webhook] {
		n = max(n, 0) // see add
		s.ByStatus[st] += n
		s.Total += n
	}
	c.mu.Unlock()
	if s.Total > 0 {
		r := float64(s.ByStatus[InvocationSuccess]) / float64(s.Total)
		s.SuccessRate = &r
	}
	return s
}
