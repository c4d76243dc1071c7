package sink

import "context"

// Sink delivers alerts.
//
// Write returns once every alert is accepted (written, acknowledged by the
// peer), or with the reason it was not; an alert is never reported accepted
// before it is. Write is safe for concurrent use. Close flushes what was
// accepted and releases resources; it is safe to call twice, and Write after
// Close returns ErrClosed.
type Sink interface {
	Write(ctx context.Context, alerts []Alert) error
	Close(ctx context.Context) error
}

// Flusher is implemented by sinks that buffer: Flush returns once everything
// accepted so far is durable at the destination.
type Flusher interface {
	Flush(ctx context.Context) error
}
