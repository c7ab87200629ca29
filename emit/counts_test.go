package emit

import "testing"

// TestCountsOutOfOrder: a -1 applied before the +1 it follows (a
// redelivery racing the attempt that made the invocation final) leaves no
// phantom count behind.
func TestCountsOutOfOrder(t *testing.T) {
	t.Parallel()
	var c finalCounts
	c.add("w", InvocationFailed, -1)
	if st := c.stats("w"); st.Total != 0 || st.ByStatus[InvocationFailed] != 0 {
		t.Errorf("after -1: %+v, want nothing shown below zero", st)
	}
	c.finished("w", InvocationFailed, false)
	c.finished("w", InvocationSuccess, false)
	if st := c.stats("w"); st.Total != 1 || st.ByStatus[InvocationFailed] != 0 || st.ByStatus[InvocationSuccess] != 1 {
		t.Errorf("after -1, +1 failed, +1 success: %+v, want one success", st)
	}
}
