package sink

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"
)

// RetryPolicy is WithRetry's exponential back-off with full jitter: before
// attempt n+1 it waits a random time in [0, min(Max, Initial·2ⁿ⁻¹)]. The
// zero value is the default policy: Initial 200ms, Max 30s, retry forever.
type RetryPolicy struct {
	// Initial is the back-off cap of the first retry. Default 200ms.
	Initial time.Duration
	// Max caps every wait, a server's Retry-After included. Default 30s.
	Max time.Duration
	// MaxElapsed gives up once the next wait would end more than this
	// long after the first attempt, returning the last error marked
	// Permanent (so WithDeadLetter, outside, files the alerts). Default 0:
	// retry forever — alerts are never lost, a down sink applies
	// back-pressure.
	MaxElapsed time.Duration
	// OnRetry, when set (default nil: nothing), is called before each wait with the attempt that
	// failed (1 for the first), its error and the wait; for logging. It
	// must be safe for concurrent use.
	OnRetry func(attempt int, err error, wait time.Duration)

	// Test hooks: jitter draws in [0, n]; now is the clock.
	jitter func(n int64) int64
	now    func() time.Time
}

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Initial <= 0 {
		p.Initial = 200 * time.Millisecond
	}
	if p.Max <= 0 {
		p.Max = 30 * time.Second
	}
	if p.Max < p.Initial {
		p.Max = p.Initial
	}
	if p.jitter == nil {
		p.jitter = func(n int64) int64 { return rand.Int64N(n + 1) }
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p
}

// backoff returns the wait before the retry that follows failed attempt n
// (n >= 1), honouring a Retry-After in err.
func (p *RetryPolicy) backoff(n int, err error) time.Duration {
	if d, ok := RetryAfterDelay(err); ok {
		return min(d, p.Max)
	}
	ceiling := p.Max
	if n < 63 {
		if c := p.Initial << (n - 1); c > 0 && c < ceiling {
			ceiling = c
		}
	}
	return time.Duration(p.jitter(int64(ceiling)))
}

// Retry is the Sink WithRetry returns. The zero value is not usable.
// Safe for concurrent use.
type Retry struct {
	next    Sink
	p       RetryPolicy
	closing chan struct{}
	once    sync.Once
	retries counter
}

// WithRetry returns a Sink that retries s.Write until it succeeds, the
// error is permanent (IsPermanent: returned at once), ctx is done, the
// policy's MaxElapsed is spent, or Close is called. Each retry re-sends the
// whole batch, so a sink may receive alerts twice (at-least-once). A wait
// ends early on ctx (the error wraps ctx.Err() and the last error) or on
// Close (it wraps ErrClosed and the last error). Close closes s.
func WithRetry(s Sink, p RetryPolicy) *Retry {
	return &Retry{next: s, p: p.withDefaults(), closing: make(chan struct{})}
}

// Write writes alerts to the wrapped sink, retrying as the policy says.
func (r *Retry) Write(ctx context.Context, alerts []Alert) error {
	select {
	case <-r.closing:
		return fmt.Errorf("retry: %w", ErrClosed)
	default:
	}
	start := r.p.now()
	for attempt := 1; ; attempt++ {
		err := r.next.Write(ctx, alerts)
		if err == nil || IsPermanent(err) {
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return wrapCtx(cerr, err)
		}
		wait := r.p.backoff(attempt, err)
		if r.p.MaxElapsed > 0 {
			if spent := r.p.now().Sub(start); spent+wait > r.p.MaxElapsed {
				return Permanent(fmt.Errorf("gave up after %d attempts in %v: %w", attempt, spent.Round(time.Millisecond), err))
			}
		}
		if r.p.OnRetry != nil {
			r.p.OnRetry(attempt, err, wait)
		}
		r.retries.add(1)
		if err := r.sleep(ctx, wait, err); err != nil {
			return err
		}
	}
}

// sleep waits d, or returns why it stopped early (wrapping last).
func (r *Retry) sleep(ctx context.Context, d time.Duration, last error) error {
	if d <= 0 {
		select {
		case <-ctx.Done():
			return wrapCtx(ctx.Err(), last)
		case <-r.closing:
			return fmt.Errorf("retry stopped: %w (last error: %w)", ErrClosed, last)
		default:
			return nil
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return wrapCtx(ctx.Err(), last)
	case <-r.closing:
		return fmt.Errorf("retry stopped: %w (last error: %w)", ErrClosed, last)
	}
}

// wrapCtx returns last when it already wraps ctxErr, else both.
func wrapCtx(ctxErr, last error) error {
	if errors.Is(last, ctxErr) {
		return last
	}
	return fmt.Errorf("%w (last error: %w)", ctxErr, last)
}

// Close wakes every waiting retry (they return ErrClosed) and closes the
// wrapped sink. It is safe to call twice.
func (r *Retry) Close(ctx context.Context) error {
	first := false
	r.once.Do(func() { close(r.closing); first = true })
	if !first {
		return nil
	}
	return r.next.Close(ctx)
}

// Flush flushes the wrapped sink when it is a Flusher.
func (r *Retry) Flush(ctx context.Context) error { return flushInner(ctx, r.next) }

// Stats returns the wrapped sink's Stats with this wrapper's Retries added.
func (r *Retry) Stats() Stats {
	st := innerStats(r.next)
	st.Retries += r.retries.load()
	return st
}
