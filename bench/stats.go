package bench

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"

	"github.com/iocwatch/iocwatch/internal/cputime"
)

// Sample is one timed run of a measurement: the units of work done
// (records, lookups, builds), the wall time and the CPU time they took.
// Plain data; the zero value is an empty run (its rates are NaN).
type Sample struct {
	Units float64
	Wall  time.Duration
	// CPU is the process's CPU time; zero when the OS does not tell.
	CPU time.Duration
	// Waited is the time the process's threads spent runnable but
	// waiting for a CPU that other processes held (Linux schedstat); zero
	// when the OS does not tell.
	Waited time.Duration
}

// Rate is Units per wall-clock second.
func (s Sample) Rate() float64 { return s.Units / s.Wall.Seconds() }

// CPURate is Units per CPU second (per core), or NaN without CPU time.
func (s Sample) CPURate() float64 {
	if s.CPU <= 0 {
		return math.NaN()
	}
	return s.Units / s.CPU.Seconds()
}

// Stat summarises one metric over the runs of a measurement. The zero
// value is "not measured".
type Stat struct {
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
	Runs   int     `json:"runs"`
}

// Spread is (Max − Min) / Median: how noisy the runs were.
func (s Stat) Spread() float64 {
	if s.Runs == 0 || s.Median == 0 {
		return math.NaN()
	}
	return (s.Max - s.Min) / s.Median
}

// statOf summarises xs, ignoring NaNs.
func statOf(xs []float64) Stat {
	var v []float64
	for _, x := range xs {
		if !math.IsNaN(x) && !math.IsInf(x, 0) {
			v = append(v, x)
		}
	}
	if len(v) == 0 {
		return Stat{}
	}
	slices.Sort(v)
	m := v[len(v)/2]
	if len(v)%2 == 0 {
		m = (v[len(v)/2-1] + v[len(v)/2]) / 2
	}
	return Stat{Median: m, Min: v[0], Max: v[len(v)-1], Runs: len(v)}
}

// alt is one alternative of an interleaved comparison.
type alt struct {
	name string
	run  func() (Sample, error)
}

// interleave runs every alternative once per round, rounds times, in
// turn, so that each one sees the same load on a shared machine, and
// returns the samples of each alternative by name.
func interleave(rounds int, alts []alt) (map[string][]Sample, error) {
	out := make(map[string][]Sample, len(alts))
	for r := range rounds {
		for _, a := range alts {
			s, err := a.run()
			if err != nil {
				return nil, fmt.Errorf("%s (round %d): %w", a.name, r+1, err)
			}
			out[a.name] = append(out[a.name], s)
		}
	}
	return out, nil
}

// rates returns the wall and CPU rates of samples.
func rates(ss []Sample) (wall, cpu Stat) {
	w := make([]float64, len(ss))
	c := make([]float64, len(ss))
	for i, s := range ss {
		w[i], c[i] = s.Rate(), s.CPURate()
	}
	return statOf(w), statOf(c)
}

// ratio returns the median over rounds of a[i]/b[i] of the per-round
// metric f: a ratio from the same round sees the same load.
func ratio(a, b []Sample, f func(Sample) float64) Stat {
	n := min(len(a), len(b))
	xs := make([]float64, n)
	for i := range n {
		xs[i] = f(a[i]) / f(b[i])
	}
	return statOf(xs)
}

// timeProcess runs fn and returns the wall time, the process's CPU time
// and run-queue wait it took; fn returns its units of work. Callers that
// measure one core set GOMAXPROCS 1 around it.
func timeProcess(fn func() (float64, error)) (Sample, error) {
	settleHeap()
	w0, wok := runQueueWait()
	c0 := cputime.Process()
	ok := c0 > 0
	t0 := time.Now()
	units, err := fn()
	wall := time.Since(t0)
	c1 := cputime.Process()
	w1, _ := runQueueWait()
	s := Sample{Units: units, Wall: wall}
	if ok {
		s.CPU = c1 - c0
	}
	if wok && w1 > w0 {
		s.Waited = w1 - w0
	}
	return s, err
}

// settleHeap collects the garbage of whatever ran before a measurement
// (fixtures, the alternative measured just before), as go test does before
// each benchmark, so that a measurement pays only for its own collections.
func settleHeap() { runtime.GC() }

// heapMiB returns the live heap after two collections, in MiB.
func heapMiB() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}
