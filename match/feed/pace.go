package feed

import (
	"context"
	"io"
	"sync/atomic"
	"time"

	"github.com/iocwatch/iocwatch/match"
)

// DefaultReloadCPU is the share of one core that the work of a reload
// (parsing changed feeds, computing what changed, indexing) may use when
// Options.ReloadCPU is 0: 1, not paced, until pacing is measured to pay
// off (docs/benchmarks-feeds.md).
const DefaultReloadCPU = 1.0

// MinReloadCPU is the smallest share of one core that paces (see
// Options.ReloadCPU): a share above 0 but below it paces as MinReloadCPU.
// At a hundredth of a core every 5 ms slice of work is followed by about
// half a second of sleep, and a reload takes about 100 times its work —
// the 3 s of work of a reload of 2 million indicators about five
// minutes, well within a feed's default hourly refresh. A thousandth would
// take most of that hour; and below about 1e-12 the sleep would not even
// fit in a time.Duration.
const MinReloadCPU = 0.01

// paceQuantum is how long reload work runs between two pauses. Short
// enough that a pipeline sharing the core waits at most about this long;
// long enough that a pause costs nothing measurable.
const paceQuantum = 5 * time.Millisecond

// paceReadMax caps one read of content being parsed, so that the parser
// comes back to the pacer about every millisecond of work.
const paceReadMax = 16 << 10

// pacer bounds the CPU share of one piece of reload work by a duty cycle:
// after every paceQuantum of work it sleeps work·(1−share)/share, so that
// the work runs at most share of the wall time. Work is measured as wall
// time between pauses, and the work between two calls of pace is far
// shorter than a quantum (every caller checks about every millisecond), so
// a slice counts at most two quanta: a slice that took longer was stretched
// by a busy machine (the goroutine waited for a core), not by work, and
// sleeping in proportion would slow a reload without bound. A share below
// MinReloadCPU paces as MinReloadCPU, so that a pause lasts at most
// 2·quantum·99 (about a second). The zero value and a nil *pacer never
// sleep (but see ctx). A pacer is used by one goroutine at a time.
type pacer struct {
	ctx   context.Context  // nil: never cancelled
	share float64          // 0 < share < 1; anything else (NaN too) never sleeps
	now   func() time.Time // nil: time.Now
	quant time.Duration    // the work between pauses; 0: paceQuantum
	mark  time.Time        // the start of the current slice of work
	slept *atomic.Int64    // nanoseconds slept, added up; nil: not counted
}

// newPacer starts a duty cycle of share (see pacer) bounded by ctx,
// adding the time it sleeps to slept (nil: not counted).
func newPacer(ctx context.Context, share float64, slept *atomic.Int64) *pacer {
	return &pacer{ctx: ctx, share: share, mark: time.Now(), slept: slept}
}

func (p *pacer) clock() time.Time {
	if p.now != nil {
		return p.now()
	}
	return time.Now()
}

// pace sleeps when the current slice of work has run a quantum. It
// returns ctx.Err() as soon as ctx is done, sleeping or not.
func (p *pacer) pace() error {
	if p == nil {
		return nil
	}
	if p.ctx != nil {
		if err := p.ctx.Err(); err != nil {
			return err
		}
	}
	if !(p.share > 0 && p.share < 1) {
		return nil
	}
	q := p.quant
	if q == 0 {
		q = paceQuantum
	}
	worked := p.clock().Sub(p.mark)
	if worked < q {
		return nil
	}
	d := pause(min(worked, 2*q), p.share)
	if err := sleepCtx(p.ctx, d); err != nil {
		return err
	}
	if p.slept != nil {
		p.slept.Add(int64(d))
	}
	p.mark = p.clock()
	return nil
}

// pause is the sleep after worked at share (0 < share < 1) of a core:
// worked·(1−share)/share, share raised to MinReloadCPU, so that it is at
// most 99 times worked and never overflows time.Duration.
func pause(worked time.Duration, share float64) time.Duration {
	share = max(share, MinReloadCPU)
	return time.Duration(float64(worked) * (1 - share) / share)
}

// every calls pace once every n calls of its result (n a power of two),
// for loops whose single step is too short to read the clock for.
func (p *pacer) every(n int) func(i int) error {
	mask := n - 1
	return func(i int) error {
		if i&mask != mask {
			return nil
		}
		return p.pace()
	}
}

// paced returns opt with a Yield that paces match.Build by p (and stops
// it when p's context is done), keeping any Yield opt has.
func paced(opt match.BuildOptions, p *pacer) match.BuildOptions {
	if p == nil {
		return opt
	}
	inner := opt.Yield
	opt.Yield = func() error {
		if inner != nil {
			if err := inner(); err != nil {
				return err
			}
		}
		return p.pace()
	}
	return opt
}

// sleepCtx sleeps d, or until ctx (nil: never) is done.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if ctx == nil {
		time.Sleep(d)
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// pacedReader hands content to a parser in small reads, pacing before
// each one: the parser (match.Load reads as it parses) is held to the
// pacer's share. A read returns the pacer's error once ctx is done.
type pacedReader struct {
	r io.Reader
	p *pacer
}

func (pr *pacedReader) Read(b []byte) (int, error) {
	if err := pr.p.pace(); err != nil {
		return 0, err
	}
	if len(b) > paceReadMax {
		b = b[:paceReadMax]
	}
	return pr.r.Read(b)
}
