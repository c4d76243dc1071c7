package sink

import (
	"context"
	"sync/atomic"
)

// Stats is a snapshot of one sink's counters, for the metrics code. Counts
// are of alerts unless named otherwise, and only grow. The zero value means
// nothing happened yet.
type Stats struct {
	// Name is the sink's name in Fanout ("" elsewhere).
	Name string
	// BestEffort is true for a best-effort sink of a Fanout.
	BestEffort bool
	// Accepted counts alerts whose Write returned nil, less those
	// WithDeadLetter moved to the dead-letter file (in DeadLettered).
	Accepted uint64
	// Failed counts alerts whose Write returned an error (for a
	// best-effort sink: alerts it failed to take, or that were dropped
	// because its buffer was full).
	Failed uint64
	// Dropped counts alerts a best-effort sink's buffer had no room for
	// (also counted in Failed).
	Dropped uint64
	// Retries counts re-attempts of whole Writes made by WithRetry.
	Retries uint64
	// DeadLettered counts alerts WithDeadLetter moved to the dead-letter
	// file.
	DeadLettered uint64
	// QueueDepth is the number of alerts waiting in WithQueue's queue (a
	// gauge, not a counter).
	QueueDepth int
}

// StatsReporter is implemented by the wrappers of this package (WithRetry,
// WithQueue, WithDeadLetter): Stats returns their counters merged with
// those of the sink they wrap, so the outermost wrapper reports for the
// whole chain. Fanout reads it from each of its sinks.
type StatsReporter interface {
	Stats() Stats
}

// innerStats returns s's Stats when it reports any.
func innerStats(s Sink) Stats {
	if r, ok := s.(StatsReporter); ok {
		return r.Stats()
	}
	return Stats{}
}

// flushInner flushes s when it is a Flusher.
func flushInner(ctx context.Context, s Sink) error {
	if f, ok := s.(Flusher); ok {
		return f.Flush(ctx)
	}
	return nil
}

// counter is a monotonic count; the zero value is 0. Safe for concurrent use.
type counter struct{ n atomic.Uint64 }

func (c *counter) add(n int)    { c.n.Add(uint64(n)) }
func (c *counter) load() uint64 { return c.n.Load() }
