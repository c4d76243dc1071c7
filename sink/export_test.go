package sink

import (
	"context"
	"time"
)

// Test hooks for the external tests of this package.

// SetRetryHooks replaces the jitter draw and the clock of p.
func SetRetryHooks(p *RetryPolicy, jitter func(n int64) int64, now func() time.Time) {
	p.jitter, p.now = jitter, now
}

// QueueWaiting returns how many Writes wait for room in q.
func QueueWaiting(q *Queue) int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.waiting
}

// SuppressorSweep runs one sweep of s's background loop now.
func SuppressorSweep(s *Suppressor) { s.sweep(context.Background()) }
