package feed

import (
	"context"
	"math"
	"sync/atomic"
	"testing"
	"time"
)

// A share below MinReloadCPU paces as MinReloadCPU: a tiny share made
// pauses of years (1e-13) or overflowed time.Duration into a negative
// pause that did not pace at all (1e-300); NaN, which fails every
// comparison, does not pace, as 0 does. A short quantum keeps the real
// sleeps short; the deadline turns a pause of years into a failure.
func TestAShareBelowTheFloorPacesAsTheFloor(t *testing.T) {
	const worked = 10 * time.Microsecond
	sleep := func(t *testing.T, share float64) time.Duration {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		t0 := time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)
		var slept atomic.Int64
		p := &pacer{ctx: ctx, share: share, now: func() time.Time { return t0.Add(worked) }, quant: worked, mark: t0, slept: &slept}
		if err := p.pace(); err != nil {
			t.Fatalf("share %v: pace: %v (a pause far longer than the floor allows)", share, err)
		}
		return time.Duration(slept.Load())
	}
	floor := sleep(t, MinReloadCPU)
	// At a hundredth of a core, 99 times the work (less a rounding).
	if floor < 98*worked || floor > 99*worked {
		t.Fatalf("at the floor, %v of work sleeps %v, want about %v", worked, floor, 99*worked)
	}
	for _, tt := range []struct {
		name  string
		share float64
		want  time.Duration
	}{
		{"a thousandth of a core", 0.001, floor},
		{"a share whose pause would last years", 1e-13, floor},
		{"a share whose pause would overflow", 1e-300, floor},
		{"the smallest positive share", math.SmallestNonzeroFloat64, floor},
		{"NaN does not pace", math.NaN(), 0},
		{"infinity does not pace", math.Inf(1), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := sleep(t, tt.share); got != tt.want {
				t.Errorf("share %v: slept %v, want %v", tt.share, got, tt.want)
			}
		})
	}
}
