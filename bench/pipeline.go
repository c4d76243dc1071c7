package bench

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iocwatch/iocwatch/bench/reference"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

// AlertKey identifies an alert for comparing watchers: the event, the
// field and the indicator. A comparable value (a map key).
type AlertKey struct {
	ReportID int64
	Field    string
	Kind     string
	Value    string
}

func keyOf(a *sink.Alert) AlertKey {
	return AlertKey{a.ReportID, a.MatchedField, a.Indicator.Kind, a.Indicator.Value}
}

// CountingSink is the benchmarks' sink: it accepts every alert at once,
// counts them and, when Keep is set, remembers their keys; when Latency
// is set it records, for every alert, the time from the event's Timestamp
// to its acceptance. Safe for concurrent use; the zero value counts.
type CountingSink struct {
	Keep    bool
	Latency bool

	n    atomic.Int64
	mu   sync.Mutex
	keys map[AlertKey]int
	lat  []time.Duration
}

// Write implements sink.Sink.
func (s *CountingSink) Write(_ context.Context, alerts []sink.Alert) error {
	s.n.Add(int64(len(alerts)))
	if !s.Keep && !s.Latency {
		return nil
	}
	now := time.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range alerts {
		if s.Keep {
			if s.keys == nil {
				s.keys = make(map[AlertKey]int)
			}
			s.keys[keyOf(&alerts[i])]++
		}
		if s.Latency {
			s.lat = append(s.lat, now.Sub(alerts[i].Timestamp))
		}
	}
	return nil
}

// Close implements sink.Sink.
func (s *CountingSink) Close(context.Context) error { return nil }

// Alerts returns the number of alerts accepted.
func (s *CountingSink) Alerts() int64 { return s.n.Load() }

// Keys returns the keys of the alerts accepted (with Keep) and how often
// each came.
func (s *CountingSink) Keys() map[AlertKey]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[AlertKey]int, len(s.keys))
	for k, v := range s.keys {
		out[k] = v
	}
	return out
}

// Latencies returns the recorded latencies (with Latency).
func (s *CountingSink) Latencies() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.lat...)
}

// PipelineResult is what one pipeline run saw. Plain data.
type PipelineResult struct {
	Sample
	Records, Alerts int64
}

// RunPipeline runs iocwatch's file pipeline (stream.FileSource →
// stream.Pipeline with workers → snk) over paths, read one after the
// other, and returns the records per wall and CPU second of the whole
// process. The caller sets GOMAXPROCS.
func RunPipeline(ctx context.Context, paths []string, ix *match.Index, workers int, snk sink.Sink) (PipelineResult, error) {
	src, err := stream.NewFileSource(stream.FileOptions{Paths: paths, Format: "jsonl"})
	if err != nil {
		return PipelineResult{}, err
	}
	defer src.Close(ctx)
	var rules atomic.Pointer[stream.Rules]
	rules.Store(&stream.Rules{Index: ix})
	p := stream.New(src, &rules, snk, stream.Options{Workers: workers})
	if err := warmFiles(paths); err != nil {
		return PipelineResult{}, err
	}
	s, err := timeProcess(func() (float64, error) {
		if err := p.Run(ctx); err != nil {
			return 0, err
		}
		// Run stops early, without an error, when ctx ends: a part of the
		// files is not a measurement.
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		return float64(p.Stats().Records.Load()), nil
	})
	if err != nil {
		return PipelineResult{}, fmt.Errorf("iocwatch pipeline: %w", err)
	}
	st := p.Stats()
	if e := st.DecodeErrors.Load(); e > 0 {
		return PipelineResult{}, fmt.Errorf("iocwatch pipeline: %d decode errors", e)
	}
	return PipelineResult{Sample: s, Records: st.Records.Load(), Alerts: st.Alerts.Load()}, nil
}

// RunReference runs a reference pipeline over paths on the calling
// goroutine.
func RunReference(ctx context.Context, paths []string, p *reference.Pipeline, snk sink.Sink) (PipelineResult, error) {
	var res reference.Result
	if err := warmFiles(paths); err != nil {
		return PipelineResult{}, err
	}
	s, err := timeProcess(func() (float64, error) {
		for _, path := range paths {
			f, err := os.Open(path)
			if err != nil {
				return 0, err
			}
			r, err := reference.Run(ctx, f, p, 1024, func(a []sink.Alert) error { return snk.Write(ctx, a) })
			f.Close()
			res.Records += r.Records
			res.Alerts += r.Alerts
			res.Errors += r.Errors
			if err != nil {
				return 0, err
			}
		}
		return float64(res.Records), nil
	})
	if err != nil {
		return PipelineResult{}, fmt.Errorf("reference pipeline: %w", err)
	}
	if res.Errors > 0 {
		return PipelineResult{}, fmt.Errorf("reference pipeline: %d messages did not decode", res.Errors)
	}
	return PipelineResult{Sample: s, Records: res.Records, Alerts: res.Alerts}, nil
}

// warmFiles reads each of paths once, untimed, so that a timed run finds
// them in the page cache and measures the pipeline, not the disk. Some
// kernels page out file pages idle for a minute (DAMON's reclaim, on
// the cloud VMs of docs/benchmarks.md), and the suite goes back to a
// corpus after other sections; without this a run measured the disk as
// often as not.
func warmFiles(paths []string) error {
	buf := make([]byte, 1<<20)
	seen := map[string]bool{}
	for _, p := range paths {
		if seen[p] {
			continue
		}
		seen[p] = true
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		_, err = io.CopyBuffer(io.Discard, f, buf)
		f.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", p, err)
		}
	}
	return nil
}

// NewReference returns reference pipeline "fast" (fastjson + bart +
// suffix hash) or "naive" (encoding/json + cidranger + ahocorasick) over
// inds.
func NewReference(name string, inds []*match.Indicator) (*reference.Pipeline, error) {
	switch name {
	case "fast":
		ix, err := reference.BuildFast(inds)
		if err != nil {
			return nil, err
		}
		return &reference.Pipeline{Decoder: &reference.FastjsonDecoder{}, Index: ix}, nil
	case "naive":
		ix, err := reference.BuildNaive(inds)
		if err != nil {
			return nil, err
		}
		return &reference.Pipeline{Decoder: &reference.JSONDecoder{}, Index: ix}, nil
	}
	return nil, fmt.Errorf("bench: unknown reference %q (want fast or naive)", name)
}
