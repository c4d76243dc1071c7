package ops_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/bench/gen"
	"github.com/iocwatch/iocwatch/cmd/iocwatch/ops"
	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

// watcher is a real pipeline — the shipped sample feed and exclusions, a
// file sink behind retries, a best-effort sink that always fails, the
// suppressor — watched by a Monitor, as `iocwatch run` wires it.
type watcher struct {
	mon        *ops.Monitor
	p          *stream.Pipeline
	rules      *atomic.Pointer[stream.Rules]
	fan        *sink.Fan
	sup        *sink.Suppressor
	out        sink.Sink
	alertsPath string
	indicators []*match.Indicator
	clk        *clock

	mu        sync.Mutex
	delivered []sink.Alert // every alert the pipeline delivered, in order
}

// failingSink refuses every write: a chat webhook that is down.
type failingSink struct{}

func (failingSink) Write(context.Context, []sink.Alert) error {
	return errors.New("chat.example: 502 Bad Gateway")
}
func (failingSink) Close(context.Context) error { return nil }

// loadSampleRules loads testdata/sample-feed.txt (as feed "sample") and
// testdata/exclusions.yaml.
func loadSampleRules(t testing.TB) (*stream.Rules, []*match.Indicator) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "sample-feed.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := match.Load(f, match.LoadOptions{Name: "sample-feed.txt", Format: "text", Defaults: match.Meta{Source: "sample"}})
	if err != nil {
		t.Fatal(err)
	}
	ix, err := match.BuildLists([]*match.List{res.Indicators}, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rules, err := config.LoadExclusions(filepath.Join("testdata", "exclusions.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	specs := make([]match.RuleSpec, 0, len(rules))
	for _, r := range rules {
		specs = append(specs, match.RuleSpec{Name: r.Name, Reason: r.Reason, Expires: r.Expires, When: r.When, Origin: r.Origin})
	}
	ex, err := match.CompileExclusions(specs)
	if err != nil {
		t.Fatal(err)
	}
	return &stream.Rules{Index: ix, Exclusions: ex}, res.Indicators.Indicators()
}

// writeGenerated writes n generated messages (8 records each, with planted
// hits, some of them on excluded traffic) to a JSON-lines file and
// returns its path and the records written.
func writeGenerated(t testing.TB, inds []*match.Indicator, n int) (string, int64) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "generated.jsonl")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	g := gen.New(gen.Options{Seed: 42, HitRatio: 0.02, ExcludedRatio: 0.3, Indicators: inds, Devices: 40,
		Start: time.Now().Add(-time.Minute)})
	w := bufio.NewWriter(f)
	var buf []byte
	for range n {
		buf, _ = g.Next(buf[:0])
		w.Write(buf)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, g.Records()
}

// countRecords counts the records of a JSON-lines file of Defender
// messages independently of the decoder: an envelope counts its "records"
// (also inside a {"body":…} wrapper), a bare record counts one, and a line
// that is not JSON (the sample holds a truncated message) counts the
// records it began — each has its "category" key — as the decoder counts
// broken records among those it saw.
func countRecords(t testing.TB, path string) int64 {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	for _, line := range strings.Split(string(data), "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		var env struct {
			Records []json.RawMessage `json:"records"`
			Body    *struct {
				Records []json.RawMessage `json:"records"`
			} `json:"body"`
		}
		switch err := json.Unmarshal([]byte(line), &env); {
		case err != nil:
			n += int64(strings.Count(line, `"category":`))
		case env.Records != nil:
			n += int64(len(env.Records))
		case env.Body != nil && env.Body.Records != nil:
			n += int64(len(env.Body.Records))
		default:
			n++
		}
	}
	return n
}

// newWatcher wires a pipeline over src to a Monitor.
func newWatcher(t testing.TB, src stream.Source, source string, rules *stream.Rules, inds []*match.Indicator) *watcher {
	t.Helper()
	w := &watcher{alertsPath: filepath.Join(t.TempDir(), "alerts.jsonl"), indicators: inds, clk: newClock()}
	w.rules = &atomic.Pointer[stream.Rules]{}
	w.rules.Store(rules)
	file, err := sink.NewFile(w.alertsPath, sink.FileOptions{Sync: sink.SyncNever})
	if err != nil {
		t.Fatal(err)
	}
	w.fan = sink.Fanout(
		sink.Named{Name: "alerts-file", Sink: sink.WithRetry(file, sink.RetryPolicy{Initial: time.Millisecond, Max: 10 * time.Millisecond})},
		sink.Named{Name: "chat", Sink: failingSink{}, BestEffort: true},
	)
	w.sup = sink.NewSuppressor(w.fan, sink.SuppressOptions{Window: 10 * time.Minute})
	w.out = w.sup
	t.Cleanup(func() { w.out.Close(context.Background()) })

	w.mon = ops.NewMonitor(ops.Options{Source: source, Now: w.clk.Now, Version: "test"})
	t.Cleanup(func() { w.mon.Close() })
	opt := stream.Options{Ordered: true, Workers: 2}
	opt.OnDelivered = func(alerts []sink.Alert, _ time.Time) {
		w.mu.Lock()
		w.delivered = append(w.delivered, alerts...)
		w.mu.Unlock()
	}
	w.mon.Hooks(&opt)
	w.p = stream.New(src, w.rules, w.out, opt)
	w.mon.Watch(ops.Inputs{Pipeline: w.p.Stats(), Rules: w.rules, Sinks: w.fan, Suppressor: w.sup,
		Feeds: ops.FeedsFunc(func() []ops.FeedState {
			at := w.clk.Now().Add(-30 * time.Second)
			counts := map[string]int{}
			for _, ind := range inds {
				counts[ind.Kind.String()]++
			}
			return []ops.FeedState{{Name: "sample", Indicators: counts, LastFetch: at, LastSuccess: at, Interval: 5 * time.Minute,
				LastDuration: 20 * time.Millisecond}}
		})})
	return w
}

// runToEnd runs the pipeline until the source is exhausted, sampling
// before and after it with the monitor clock two seconds apart.
func (w *watcher) runToEnd(t testing.TB) {
	t.Helper()
	w.mon.Sample()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := w.p.Run(ctx); err != nil {
		t.Fatalf("pipeline: %v", err)
	}
	// Closing the sinks drains the best-effort buffer: every counter is
	// final before the page is read.
	if err := w.out.Close(ctx); err != nil {
		t.Fatalf("close the sinks: %v", err)
	}
	w.clk.Add(2 * time.Second)
	w.mon.Sample()
}

// deliveredAlerts returns a copy of what the pipeline delivered.
func (w *watcher) deliveredAlerts() []sink.Alert {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]sink.Alert(nil), w.delivered...)
}

// fileAlerts counts the lines of the alerts file.
func (w *watcher) fileAlerts(t testing.TB) int {
	t.Helper()
	data, err := os.ReadFile(w.alertsPath)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}
