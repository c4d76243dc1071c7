package sink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// DeadLetter is an append-only JSON-lines file of alerts that a sink
// refused permanently, one line per alert:
//
//	{"time":"…","sink":"soar","error":"webhook POST …: 400 Bad Request","alert":{…native alert…}}
//
// Each Write appends its lines with a single write(2) to a file opened with
// O_APPEND, so lines from concurrent writers (even other processes) never
// interleave; Sync and Close fsync it. The zero value is not usable: open
// one with OpenDeadLetter. A DeadLetter is safe for concurrent use.
type DeadLetter struct {
	log     *alertLog
	onFiled func(sinkName string, alerts int, reason error)
	hold    RetryPolicy // withDefaults applied
}

// HoldBack sets the back-off with which WithDeadLetter writes refused
// alerts again while the file cannot take them (disk full); its
// MaxElapsed is ignored: refused alerts are held until the file takes
// them, the write's context ends or the sink is closed. Its OnRetry is
// for a log line. The default is RetryPolicy's (200ms, doubling up to
// 30s). Call it before the DeadLetter is used.
func (d *DeadLetter) HoldBack(p RetryPolicy) { d.hold = p.withDefaults() }

// OnFiled sets fn to be called after WithDeadLetter filed alerts that a
// sink refused for good, with the sink's name, how many and the (first)
// reason: for a log line, since such alerts leave the stream quietly.
// Call it before the DeadLetter is used; fn must be safe for concurrent
// use.
func (d *DeadLetter) OnFiled(fn func(sinkName string, alerts int, reason error)) { d.onFiled = fn }

// OpenDeadLetter opens path for appending, creating it with mode 0600 (the
// directory must exist). An existing file is appended to.
func OpenDeadLetter(path string) (*DeadLetter, error) {
	l, err := openAlertLog("dead-letter file", path)
	if err != nil {
		return nil, err
	}
	return &DeadLetter{log: l, hold: RetryPolicy{}.withDefaults()}, nil
}

// Write appends one line per alert, recording sinkName and reason (its
// message; "" for a nil reason). It returns once the lines are written to
// the file (not yet fsynced: see Sync); when it returns an error (disk
// full, closed), the caller must not treat the alerts as handled. Writing
// no alerts writes nothing.
func (d *DeadLetter) Write(sinkName string, alerts []Alert, reason error) error {
	return d.write(sinkName, alerts, func(int) error { return reason })
}

// write appends one line per alert, with reason(i) as alerts[i]'s error,
// in one write(2).
func (d *DeadLetter) write(sinkName string, alerts []Alert, reason func(i int) error) error {
	err := d.log.write(alerts, func(w *jw, i int) {
		w.str("sink", sinkName)
		msg := ""
		if err := reason(i); err != nil {
			msg = err.Error()
		}
		w.str("error", msg)
	})
	if err != nil {
		return fmt.Errorf("%w (from sink %q)", err, sinkName)
	}
	return nil
}

// Sync fsyncs the file: every line written before it is durable.
func (d *DeadLetter) Sync() error { return d.log.sync() }

// Close fsyncs and closes the file. It is safe to call twice (the second
// call returns nil); Write after Close returns ErrClosed.
func (d *DeadLetter) Close() error { return d.log.close() }

// WithDeadLetter returns a Sink that writes to s and, when s refuses
// alerts permanently (IsPermanent), appends them to dl under sinkName with
// the error and reports them handled (nil), so a batch that can never be
// delivered does not block the pipeline. When the error is a *RefusedError
// only the alerts it names are filed: s delivered the others. When dl
// cannot take them (disk full), the write holds back: the refused alerts
// are filed again with dl's HoldBack back-off — never sent to s again —
// until dl takes them, ctx ends (the error wraps ctx.Err(), not the
// refusal: the batch is not handled) or the sink is closed (ErrClosed).
// Retryable errors are returned
// unchanged. Either order with WithRetry works:
// WithRetry(WithDeadLetter(s, …)) files each permanent refusal at once and
// retries the rest; WithDeadLetter(WithRetry(s, …), …) also files the
// alerts of a retry policy that gave up (MaxElapsed). ErrClosed from s (Write after
// Close) is returned, never dead-lettered. Close closes s, not dl (several
// sinks share one dead-letter file). Safe for concurrent use when s is.
func WithDeadLetter(s Sink, sinkName string, dl *DeadLetter) Sink {
	return &deadLettered{next: s, name: sinkName, dl: dl, closing: make(chan struct{})}
}

type deadLettered struct {
	next    Sink
	name    string
	dl      *DeadLetter
	closing chan struct{}
	once    sync.Once

	deadLettered counter
}

func (d *deadLettered) Write(ctx context.Context, alerts []Alert) error {
	err := d.next.Write(ctx, alerts)
	if err == nil || !IsPermanent(err) || errors.Is(err, ErrClosed) {
		return err
	}
	var re *RefusedError
	if !errors.As(err, &re) {
		if herr := d.holdBack(ctx, func() error { return d.dl.Write(d.name, alerts, err) }); herr != nil {
			return herr
		}
		d.deadLettered.add(len(alerts))
		d.filed(len(alerts), err)
		return nil
	}
	// Only these were refused, each for its own reason; the others were
	// delivered.
	refused := make([]Alert, 0, len(re.Alerts))
	reasons := make([]error, 0, len(re.Alerts))
	for k, i := range re.Alerts {
		if i >= 0 && i < len(alerts) {
			refused = append(refused, alerts[i])
			reasons = append(reasons, re.Reason(k))
		}
	}
	if herr := d.holdBack(ctx, func() error { return d.dl.write(d.name, refused, func(i int) error { return reasons[i] }) }); herr != nil {
		return herr
	}
	d.deadLettered.add(len(refused))
	d.filed(len(refused), err)
	return nil
}

func (d *deadLettered) filed(n int, reason error) {
	if d.dl.onFiled != nil && n > 0 {
		d.dl.onFiled(d.name, n, reason)
	}
}

// holdBack runs file until it succeeds, waiting dl's HoldBack back-off
// between attempts; it returns why it stopped early: ctx's end or Close.
// Neither error is permanent: the refused alerts were not filed, so the
// batch is not handled.
func (d *deadLettered) holdBack(ctx context.Context, file func() error) error {
	p := &d.dl.hold
	for attempt := 1; ; attempt++ {
		derr := file()
		if derr == nil {
			return nil
		}
		if errors.Is(derr, ErrClosed) {
			return fmt.Errorf("dead-letter %w: %v", ErrClosed, derr)
		}
		wait := p.backoff(attempt, nil)
		if p.OnRetry != nil {
			p.OnRetry(attempt, derr, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (refused alerts not filed: %v)", ctx.Err(), derr)
		case <-d.closing:
			t.Stop()
			return fmt.Errorf("dead-letter hold stopped: %w (refused alerts not filed: %v)", ErrClosed, derr)
		}
	}
}

// Close wakes the writes held back (they return ErrClosed) and closes s.
func (d *deadLettered) Close(ctx context.Context) error {
	d.once.Do(func() { close(d.closing) })
	return d.next.Close(ctx)
}

// Stats returns s's statistics (when it reports any) with DeadLettered
// added.
func (d *deadLettered) Stats() Stats {
	st := innerStats(d.next)
	st.DeadLettered += d.deadLettered.load()
	return st
}

// Flush flushes s when it is a Flusher.
func (d *deadLettered) Flush(ctx context.Context) error { return flushInner(ctx, d.next) }
