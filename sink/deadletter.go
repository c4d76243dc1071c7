package sink

import (
	"context"
	"errors"
	"fmt"
	"os"
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
	mu     sync.Mutex
	f      *os.File
	path   string
	buf    []byte
	closed bool
	now    func() time.Time // for tests; time.Now when nil
}

// OpenDeadLetter opens path for appending, creating it with mode 0600 (the
// directory must exist). An existing file is appended to.
func OpenDeadLetter(path string) (*DeadLetter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("dead-letter file: %w", err)
	}
	return &DeadLetter{f: f, path: path}, nil
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
	if len(alerts) == 0 {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("dead-letter file %s: %w", d.path, ErrClosed)
	}
	now := time.Now
	if d.now != nil {
		now = d.now
	}
	t := now().UTC()
	b := d.buf[:0]
	for i := range alerts {
		var w jw
		w.b = b
		w.obj()
		w.time("time", t)
		w.str("sink", sinkName)
		msg := ""
		if err := reason(i); err != nil {
			msg = err.Error()
		}
		w.str("error", msg)
		w.key("alert")
		n := len(w.b)
		var err error
		w.b, err = appendNative(w.b, &alerts[i])
		if err != nil {
			// The alert cannot be encoded natively (a time out of range):
			// keep what identifies it rather than lose the line.
			w.b = w.b[:n]
			w.first = true
			w.obj()
			w.str("alert_id", alerts[i].AlertID)
			w.str("encode_error", err.Error())
			w.end()
		}
		w.end()
		b = append(w.b, '\n')
	}
	d.buf = b
	if len(d.buf) > 1<<20 {
		d.buf = nil // do not keep a huge buffer alive
	}
	if _, err := d.f.Write(b); err != nil {
		return fmt.Errorf("dead-letter file %s: write %d alerts from sink %q: %w", d.path, len(alerts), sinkName, err)
	}
	return nil
}

// Sync fsyncs the file: every line written before it is durable.
func (d *DeadLetter) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return fmt.Errorf("dead-letter file %s: %w", d.path, ErrClosed)
	}
	if err := d.f.Sync(); err != nil {
		return fmt.Errorf("dead-letter file %s: fsync: %w", d.path, err)
	}
	return nil
}

// Close fsyncs and closes the file. It is safe to call twice (the second
// call returns nil); Write after Close returns ErrClosed.
func (d *DeadLetter) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	serr := d.f.Sync()
	cerr := d.f.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("dead-letter file %s: close: %w", d.path, err)
	}
	return nil
}

// WithDeadLetter returns a Sink that writes to s and, when s refuses
// alerts permanently (IsPermanent), appends them to dl under sinkName with
// the error and reports them handled (nil), so a batch that can never be
// delivered does not block the pipeline. When the error is a *RefusedError
// only the alerts it names are filed: s delivered the others. Retryable errors are returned
// unchanged. Either order with WithRetry works:
// WithRetry(WithDeadLetter(s, …)) files each permanent refusal at once and
// retries the rest; WithDeadLetter(WithRetry(s, …), …) also files the
// alerts of a retry policy that gave up (MaxElapsed). A failure to write
// dl is returned joined with s's error. ErrClosed from s (Write after
// Close) is returned, never dead-lettered. Close closes s, not dl (several
// sinks share one dead-letter file). Safe for concurrent use when s is.
func WithDeadLetter(s Sink, sinkName string, dl *DeadLetter) Sink {
	return &deadLettered{next: s, name: sinkName, dl: dl}
}

type deadLettered struct {
	next Sink
	name string
	dl   *DeadLetter

	deadLettered counter
}

func (d *deadLettered) Write(ctx context.Context, alerts []Alert) error {
	err := d.next.Write(ctx, alerts)
	if err == nil || !IsPermanent(err) || errors.Is(err, ErrClosed) {
		return err
	}
	var re *RefusedError
	if !errors.As(err, &re) {
		if derr := d.dl.Write(d.name, alerts, err); derr != nil {
			return errors.Join(err, derr)
		}
		d.deadLettered.add(len(alerts))
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
	if derr := d.dl.write(d.name, refused, func(i int) error { return reasons[i] }); derr != nil {
		return errors.Join(err, derr)
	}
	d.deadLettered.add(len(refused))
	return nil
}

func (d *deadLettered) Close(ctx context.Context) error { return d.next.Close(ctx) }

// Stats returns s's statistics (when it reports any) with DeadLettered
// added.
func (d *deadLettered) Stats() Stats {
	st := innerStats(d.next)
	st.DeadLettered += d.deadLettered.load()
	return st
}

// Flush flushes s when it is a Flusher.
func (d *deadLettered) Flush(ctx context.Context) error { return flushInner(ctx, d.next) }
