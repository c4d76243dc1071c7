package sinktest

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/iocwatch/iocwatch/sink"
)

// Recorder is an in-memory sink.Sink for tests: it keeps every alert it
// accepts and can be told to fail. It honours the Sink contract (it passes
// Run): a Write with a done context returns the context's error, Write
// after Close returns sink.ErrClosed. The zero value is an open, empty
// recorder. Safe for concurrent use.
type Recorder struct {
	mu     sync.Mutex
	alerts []sink.Alert
	writes int
	script []error
	closed bool
}

// Write accepts alerts unless the next scripted error (see FailNext) is
// non-nil, in which case it returns that error and records nothing.
func (r *Recorder) Write(ctx context.Context, alerts []sink.Alert) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("recorder: %w", err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("recorder: %w", sink.ErrClosed)
	}
	r.writes++
	if len(r.script) > 0 {
		err := r.script[0]
		r.script = r.script[1:]
		if err != nil {
			return err
		}
	}
	r.alerts = append(r.alerts, alerts...)
	return nil
}

// Close marks the recorder closed; it is safe to call twice.
func (r *Recorder) Close(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	return nil
}

// FailNext scripts the outcome of the next len(errs) Writes that reach
// the script (not those refused for a done context or after Close): each
// returns its error, or succeeds for a nil entry. Calls append to the
// script.
func (r *Recorder) FailNext(errs ...error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.script = append(r.script, errs...)
}

// Alerts returns a copy of every alert accepted so far, in order.
func (r *Recorder) Alerts() []sink.Alert {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.alerts)
}

// Writes returns how many Writes reached the recorder (failed ones too).
func (r *Recorder) Writes() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.writes
}

// Closed reports whether Close was called.
func (r *Recorder) Closed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}
