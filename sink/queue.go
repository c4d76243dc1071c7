package sink

import (
	"context"
	"fmt"
	"slices"
	"sync"
)

// DefaultQueueSize is WithQueue's size when given 0 or less.
const DefaultQueueSize = 4096

// Queue is the Sink WithQueue returns. The zero value is not usable.
// Safe for concurrent use.
type Queue struct {
	next Sink
	size int

	mu       sync.Mutex
	pending  []*queued
	queued   int           // alerts in pending
	inFlight int           // alerts in the downstream Write under way
	space    chan struct{} // closed (and replaced) whenever queued shrinks
	closed   bool

	wake    chan struct{} // has work; capacity 1
	done    chan struct{} // closed when the worker returned
	ctx     context.Context
	cancel  context.CancelFunc
	waiting int // Writes blocked for room (for tests)
}

type queued struct {
	alerts []Alert
	taken  bool       // handed to the worker; guarded by Queue.mu
	result chan error // capacity 1
}

// WithQueue returns a Sink that puts a bounded queue in front of s, so that
// several pipeline batches can be in flight to one slow sink without ever
// dropping one:
//
//   - Write queues its alerts and returns only once s accepted them (or
//     with s's error), so acknowledgements stay correct;
//   - a single goroutine writes to s, taking everything queued at once as
//     one batch (batches that waited together are delivered together, in
//     order);
//   - at most size alerts wait (a Write larger than size is let in alone
//     when the queue is empty); further Writes block until there is room:
//     back-pressure, never a drop.
//
// A Write whose ctx ends while it is still waiting is taken out of the
// queue and returns ctx's error; once its alerts are being written it also
// returns ctx's error at once, and they may still arrive (at-least-once).
// Close lets everything queued be written (until its ctx is done, then
// cancels the downstream Write) and closes s. size <= 0 means
// DefaultQueueSize. The slice handed to s combines several Writes and is
// reused once s.Write returns: s must not keep it (no sink of this package
// does).
func WithQueue(s Sink, size int) *Queue {
	if size <= 0 {
		size = DefaultQueueSize
	}
	q := &Queue{
		next:  s,
		size:  size,
		space: make(chan struct{}),
		wake:  make(chan struct{}, 1),
		done:  make(chan struct{}),
	}
	q.ctx, q.cancel = context.WithCancel(context.Background())
	go q.run()
	return q
}

// Write queues alerts and waits until the wrapped sink accepted them.
func (q *Queue) Write(ctx context.Context, alerts []Alert) error {
	n := len(alerts)
	q.mu.Lock()
	for {
		if q.closed {
			q.mu.Unlock()
			return fmt.Errorf("queue: %w", ErrClosed)
		}
		if err := ctx.Err(); err != nil {
			q.mu.Unlock()
			return fmt.Errorf("queue: %w", err)
		}
		if n == 0 {
			q.mu.Unlock()
			return nil
		}
		if q.queued == 0 || q.queued+n <= q.size {
			break
		}
		space := q.space
		q.waiting++
		q.mu.Unlock()
		select {
		case <-space:
		case <-ctx.Done():
		}
		q.mu.Lock()
		q.waiting--
	}
	req := &queued{alerts: alerts, result: make(chan error, 1)}
	q.pending = append(q.pending, req)
	q.queued += n
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}

	select {
	case err := <-req.result:
		return err
	case <-ctx.Done():
		select {
		case err := <-req.result: // delivered meanwhile: report that
			return err
		default:
		}
		q.mu.Lock()
		if !req.taken {
			if i := slices.Index(q.pending, req); i >= 0 {
				q.pending = slices.Delete(q.pending, i, i+1)
				q.queued -= n
				q.freed()
			}
		}
		q.mu.Unlock()
		return fmt.Errorf("queue: %w", ctx.Err())
	}
}

// freed wakes Writes waiting for room. The caller holds q.mu.
func (q *Queue) freed() {
	close(q.space)
	q.space = make(chan struct{})
}

// run is the worker: it writes everything queued, one batch at a time,
// until Close and an empty queue.
func (q *Queue) run() {
	defer close(q.done)
	var batch []Alert
	for {
		q.mu.Lock()
		for len(q.pending) == 0 {
			if q.closed {
				q.mu.Unlock()
				return
			}
			q.mu.Unlock()
			<-q.wake
			q.mu.Lock()
		}
		reqs := q.pending
		q.pending = nil
		q.inFlight, q.queued = q.queued, 0
		for _, r := range reqs {
			r.taken = true
		}
		q.freed()
		q.mu.Unlock()

		alerts := reqs[0].alerts
		if len(reqs) > 1 {
			batch = batch[:0]
			for _, r := range reqs {
				batch = append(batch, r.alerts...)
			}
			alerts = batch
		}
		err := q.next.Write(q.ctx, alerts)
		if err != nil {
			err = fmt.Errorf("queue: %w", err)
		}
		// No longer in flight before any writer learns the outcome, so a
		// Write that returned is never still counted in Depth.
		q.mu.Lock()
		q.inFlight = 0
		q.mu.Unlock()
		for _, r := range reqs {
			r.result <- err
		}
		if cap(batch) > 4*q.size {
			batch = nil
		}
		clear(batch) // do not keep the alerts' strings alive
	}
}

// Depth returns how many alerts are queued or being written.
func (q *Queue) Depth() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.queued + q.inFlight
}

// Close refuses new Writes, waits until everything queued is written (or
// ctx is done: then it cancels the downstream Write, and the Writes still
// waiting get its error), stops the worker and closes the wrapped sink. It
// is safe to call twice.
func (q *Queue) Close(ctx context.Context) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil
	}
	q.closed = true
	q.freed() // Writes waiting for room see closed
	q.mu.Unlock()
	select {
	case q.wake <- struct{}{}:
	default:
	}
	select {
	case <-q.done:
	case <-ctx.Done():
		q.cancel()
		<-q.done
	}
	q.cancel()
	return q.next.Close(ctx)
}

// Flush flushes the wrapped sink when it is a Flusher. Every Write has
// returned only after its alerts were accepted, so there is nothing of the
// queue's own to flush.
func (q *Queue) Flush(ctx context.Context) error { return flushInner(ctx, q.next) }

// Stats returns the wrapped sink's Stats with QueueDepth set to Depth.
func (q *Queue) Stats() Stats {
	st := innerStats(q.next)
	st.QueueDepth += q.Depth()
	return st
}
