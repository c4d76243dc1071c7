package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
)

// HunterOptions configure a Hunter. Emit is required; the zero value of
// every other field has the default named on it. Plain data: NewHunter
// copies it.
type HunterOptions struct {
	// Rules returns the current allow-list and exclusions (either may be
	// nil), read once per hunt. Nil: neither.
	Rules func() (allow *match.Index, excl *match.Exclusions)
	// Emit delivers retro alerts: the normal sink stack (suppression
	// included). Required.
	Emit func([]sink.Alert) error
	// Grace is how long after the last Submit a hunt starts: bursts of
	// reloads are hunted together, and batches that workers were still
	// matching with the previous index when it was swapped are on disk by
	// then (they are hunted too; an alert the live path also raised has
	// the same AlertID and the suppressor drops it). Default 2s.
	Grace time.Duration
	// RetryMin is the first wait after a failed hunt (emit refused, disk
	// error); it doubles up to RetryMax. Defaults 30s and 10m.
	RetryMin, RetryMax time.Duration
	// OnReport, if set, is called after every hunt with its report and
	// error (for metrics), from the hunter's goroutine.
	OnReport func(HuntReport, error)
	// Log receives one line per failed hunt. Default: discard.
	Log *slog.Logger
}

// Hunter runs retro-hunts in the background, one at a time, in one
// goroutine that paces itself (Options.HuntCPU) so that live matching keeps
// its throughput. Submit it every reload; get one from NewHunter. The zero
// value is not usable. Safe for concurrent use.
type Hunter struct {
	h   *History
	opt HunterOptions

	mu         sync.Mutex
	pending    []*match.Indicator
	addedAt    map[match.Indicator]time.Time
	present    *match.Index
	lastSubmit time.Time

	wake      chan struct{}
	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

// NewHunter starts the background hunter of h. Close stops it.
func NewHunter(h *History, opt HunterOptions) (*Hunter, error) {
	if opt.Emit == nil {
		return nil, errors.New("history: hunter needs an Emit function")
	}
	if h.opt.ReadOnly {
		return nil, ErrReadOnly
	}
	if opt.Grace <= 0 {
		opt.Grace = 2 * time.Second
	}
	if opt.RetryMin <= 0 {
		opt.RetryMin = 30 * time.Second
	}
	if opt.RetryMax < opt.RetryMin {
		opt.RetryMax = max(10*time.Minute, opt.RetryMin)
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Hunter{h: h, opt: opt, addedAt: map[match.Indicator]time.Time{},
		wake: make(chan struct{}, 1), ctx: ctx, cancel: cancel, done: make(chan struct{})}
	go r.run()
	return r, nil
}

// Submit queues a retro-hunt of added (the indicators a reload added, at
// the time at) and records present (the reload's whole index; nil keeps
// the previous) as the set of values already present once the hunt is
// done. It only queues: safe to call from a reload callback. Submits that
// arrive while a hunt runs, or within Grace of each other, are hunted
// together.
func (r *Hunter) Submit(present *match.Index, added []*match.Indicator, at time.Time) {
	r.mu.Lock()
	for _, ind := range added {
		if ind == nil {
			continue
		}
		if _, ok := r.addedAt[*ind]; !ok {
			r.pending = append(r.pending, ind)
			r.addedAt[*ind] = at
		}
	}
	if present != nil {
		r.present = present
	}
	r.lastSubmit = time.Now()
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// Close stops the hunter: a hunt in progress is cancelled (its indicators
// are hunted again after the next start, since they were not marked as
// hunted). Safe to call twice. Close the Hunter before its History.
func (r *Hunter) Close(ctx context.Context) error {
	r.closeOnce.Do(r.cancel)
	select {
	case <-r.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("history: hunter close: %w", ctx.Err())
	}
}

func (r *Hunter) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.ctx.Done():
		return false
	}
}

func (r *Hunter) run() {
	defer close(r.done)
	backoff := r.opt.RetryMin
	for {
		select {
		case <-r.wake:
		case <-r.ctx.Done():
			return
		}
		for {
			r.mu.Lock()
			wait := time.Until(r.lastSubmit.Add(r.opt.Grace))
			r.mu.Unlock()
			if wait <= 0 {
				break
			}
			if !r.sleep(wait) {
				return
			}
		}
		r.mu.Lock()
		inds, at, present := r.pending, r.addedAt, r.present
		r.pending, r.addedAt, r.present = nil, map[match.Indicator]time.Time{}, nil
		r.mu.Unlock()
		if len(inds) == 0 && present == nil {
			continue
		}
		rep, err := r.h.hunt(r.ctx, inds, func(ind match.Indicator) time.Time { return at[ind] }, r.opt.Rules, r.opt.Emit)
		if err == nil && present != nil {
			err = r.h.SetKnownIndex(present)
		}
		if r.opt.OnReport != nil {
			r.opt.OnReport(rep, err)
		}
		if err == nil {
			backoff = r.opt.RetryMin
			continue
		}
		if r.ctx.Err() != nil {
			return
		}
		r.opt.Log.Error("history: retro-hunt failed; retrying", "indicators", len(inds), "retry_in", backoff, "err", err)
		// Put the indicators back, before anything submitted meanwhile.
		r.mu.Lock()
		var requeue []*match.Indicator
		for _, ind := range inds {
			if _, ok := r.addedAt[*ind]; !ok {
				requeue = append(requeue, ind)
				r.addedAt[*ind] = at[*ind]
			}
		}
		r.pending = append(requeue, r.pending...)
		if r.present == nil {
			r.present = present
		}
		r.mu.Unlock()
		if !r.sleep(backoff) {
			return
		}
		backoff = min(2*backoff, r.opt.RetryMax)
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}
