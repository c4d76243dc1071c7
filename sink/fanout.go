package sink

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
)

// BestEffortBuffer is how many batches a best-effort sink of a Fanout may
// have waiting; a batch that finds the buffer full is dropped and counted.
const BestEffortBuffer = 256

// Named is one destination of a Fanout. A nil Sink fails every Write
// with a permanent error (a wiring mistake, reported rather than a panic).
type Named struct {
	// Name identifies the sink in errors ("sink \"soar\": …") and Stats.
	Name string
	// Sink receives the alerts.
	Sink Sink
	// BestEffort sinks never block or fail a Fanout's Write: they get
	// their batches through a buffer of BestEffortBuffer batches drained
	// by a goroutine of their own, and failures and drops are only
	// counted (Stats.Failed, Stats.Dropped). Use it for a chat
	// notification, never for the sink of record.
	BestEffort bool
}

// Fan is the Sink Fanout returns. The zero value is not usable. Safe for
// concurrent use.
type Fan struct {
	sinks []*fanSink

	mu     sync.RWMutex // guards closed and the best-effort channels' close
	closed bool

	bgCtx    context.Context // best-effort writes; cancelled when Close gives up waiting
	bgCancel context.CancelFunc
	bgDone   sync.WaitGroup
}

type fanSink struct {
	Named
	accepted, failed, dropped counter
	// reported is the highest Accepted SinkStats returned: a sink's
	// wrappers count a dead-lettered alert before its Write returns here,
	// so accepted − DeadLettered dips meanwhile, and a counter never may.
	reported atomic.Uint64
	ch       chan []Alert // best-effort only
}

// Fanout returns a Sink that writes every batch to all sinks. Write sends
// to the required (non-best-effort) sinks concurrently and returns nil only
// when every one of them accepted the batch; otherwise it returns their
// errors joined, each prefixed `sink "name": `, and the caller must not
// acknowledge the batch (a later retry re-sends it to all required sinks,
// so those that had accepted it see it twice: wrap each sink in WithRetry
// so one sink's outage does not make the others repeat). Best-effort sinks
// get a copy of the batch through their buffer (see Named.BestEffort).
// Close waits for the best-effort buffers to drain (until its ctx is done,
// then cancels what is left, counting it failed) and closes every sink.
// Fanout starts one goroutine per best-effort sink; Close stops them.
func Fanout(sinks ...Named) *Fan {
	f := &Fan{}
	f.bgCtx, f.bgCancel = context.WithCancel(context.Background())
	for _, n := range sinks {
		if n.Sink == nil {
			n.Sink = nilSink{}
		}
		fs := &fanSink{Named: n}
		if n.BestEffort {
			fs.ch = make(chan []Alert, BestEffortBuffer)
			f.bgDone.Add(1)
			go f.drain(fs)
		}
		f.sinks = append(f.sinks, fs)
	}
	return f
}

// drain feeds a best-effort sink from its buffer until Close.
func (f *Fan) drain(fs *fanSink) {
	defer f.bgDone.Done()
	for batch := range fs.ch {
		if f.bgCtx.Err() != nil {
			fs.failed.add(len(batch))
			continue
		}
		if err := fs.Sink.Write(f.bgCtx, batch); err != nil {
			fs.failed.add(len(batch))
		} else {
			fs.accepted.add(len(batch))
		}
	}
}

// Write sends alerts to every sink; see Fanout.
func (f *Fan) Write(ctx context.Context, alerts []Alert) error {
	f.mu.RLock()
	if f.closed {
		f.mu.RUnlock()
		return fmt.Errorf("fanout: %w", ErrClosed)
	}
	if err := ctx.Err(); err != nil {
		f.mu.RUnlock()
		return fmt.Errorf("fanout: %w", err)
	}
	if len(alerts) == 0 {
		f.mu.RUnlock()
		return nil
	}
	var required []*fanSink
	var shared []Alert // one copy for all best-effort sinks: the caller may reuse alerts once Write returns
	for _, fs := range f.sinks {
		if !fs.BestEffort {
			required = append(required, fs)
			continue
		}
		if shared == nil {
			shared = slices.Clone(alerts)
		}
		select {
		case fs.ch <- shared:
		default:
			fs.dropped.add(len(alerts))
			fs.failed.add(len(alerts))
		}
	}
	f.mu.RUnlock()

	errs := make([]error, len(required))
	write := func(i int) {
		fs := required[i]
		if err := fs.Sink.Write(ctx, alerts); err != nil {
			fs.failed.add(len(alerts))
			errs[i] = fmt.Errorf("sink %q: %w", fs.Name, err)
		} else {
			fs.accepted.add(len(alerts))
		}
	}
	switch len(required) {
	case 0:
	case 1:
		write(0)
	default:
		var wg sync.WaitGroup
		for i := 1; i < len(required); i++ {
			wg.Go(func() { write(i) })
		}
		write(0)
		wg.Wait()
	}
	return errors.Join(errs...)
}

// Flush flushes every sink that is a Flusher, concurrently; errors are
// joined and prefixed with the sink's name.
func (f *Fan) Flush(ctx context.Context) error {
	return f.each(func(fs *fanSink) error { return flushInner(ctx, fs.Sink) })
}

// Close stops accepting writes and closes the required sinks while the
// best-effort buffers drain until ctx is done (then abandons what is left,
// counted failed); then it closes the best-effort sinks. A best-effort
// sink that runs out of time is not an error: its alerts may be lost by
// design. It is safe to call twice.
func (f *Fan) Close(ctx context.Context) error {
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil
	}
	f.closed = true
	for _, fs := range f.sinks {
		if fs.ch != nil {
			close(fs.ch)
		}
	}
	f.mu.Unlock()

	// The required sinks close (flushing their queues) while the
	// best-effort buffers drain: a best-effort sink that is down uses the
	// budget only of its own, and the error names it, not a healthy sink.
	required := make(chan error, 1)
	go func() {
		required <- f.each(func(fs *fanSink) error {
			if fs.BestEffort {
				return nil
			}
			return fs.Sink.Close(ctx)
		})
	}()
	drained := make(chan struct{})
	go func() { f.bgDone.Wait(); close(drained) }()
	select {
	case <-drained:
	case <-ctx.Done():
		f.bgCancel()
		<-drained
	}
	f.bgCancel()
	bestEffort := f.each(func(fs *fanSink) error {
		if !fs.BestEffort {
			return nil
		}
		err := fs.Sink.Close(ctx)
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			// Out of time: what it still held is abandoned, as a
			// best-effort sink's alerts may be, and counted failed.
			return nil
		}
		return err
	})
	return errors.Join(<-required, bestEffort)
}

// each runs fn for every sink concurrently and joins the errors.
func (f *Fan) each(fn func(*fanSink) error) error {
	errs := make([]error, len(f.sinks))
	var wg sync.WaitGroup
	for i, fs := range f.sinks {
		wg.Go(func() {
			if err := fn(fs); err != nil {
				errs[i] = fmt.Errorf("sink %q: %w", fs.Name, err)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// SinkStats returns one Stats per sink, in Fanout's order: the counts of
// this Fan (Accepted, Failed, Dropped) merged with what the sink's own
// wrappers report (Retries, QueueDepth, DeadLettered; see StatsReporter).
func (f *Fan) SinkStats() []Stats {
	out := make([]Stats, len(f.sinks))
	for i, fs := range f.sinks {
		st := innerStats(fs.Sink)
		st.Name, st.BestEffort = fs.Name, fs.BestEffort
		// An alert the sink refused for good and WithDeadLetter wrote to
		// the dead-letter file returned nil to this Fan: it was not
		// accepted by the sink.
		acc := fs.accepted.load()
		acc -= min(st.DeadLettered, acc)
		for {
			prev := fs.reported.Load()
			if acc <= prev {
				acc = prev
				break
			}
			if fs.reported.CompareAndSwap(prev, acc) {
				break
			}
		}
		st.Accepted += acc
		st.Failed += fs.failed.load()
		st.Dropped += fs.dropped.load()
		out[i] = st
	}
	return out
}

// nilSink stands in for a Named without a Sink.
type nilSink struct{}

var errNilSink = Permanent(errors.New("no sink configured (nil Sink)"))

func (nilSink) Write(context.Context, []Alert) error { return errNilSink }
func (nilSink) Close(context.Context) error          { return nil }
