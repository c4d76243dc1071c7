package ops_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/bench/gen"
	"github.com/iocwatch/iocwatch/cmd/iocwatch/ops"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

// The hooks run on the pipeline's goroutines: OnHit once per indicator
// hit, OnAcked and OnDelivered once per batch.

func BenchmarkOnHit(b *testing.B) {
	mon := ops.NewMonitor(ops.Options{})
	hit := match.Hit{Indicator: match.Indicator{Kind: match.KindDomain, Value: "bad-cdn.example", Meta: &match.Meta{Source: "abuse.ch"}}, Field: match.FieldRemoteURL}
	b.ReportAllocs()
	for b.Loop() {
		mon.OnHit(hit)
	}
}

func BenchmarkOnAcked(b *testing.B) {
	mon := ops.NewMonitor(ops.Options{})
	now := time.Now()
	r := stream.BatchReport{ReadAt: now, AckedAt: now.Add(3 * time.Millisecond), Newest: now.Add(-2 * time.Second), Records: 1024}
	b.ReportAllocs()
	for b.Loop() {
		mon.OnAcked(r)
	}
}

// sliceSource replays the same batches, then io.EOF.
type sliceSource struct {
	batches [][]stream.Message
	next    int
}

func (s *sliceSource) Read(ctx context.Context) (stream.Batch, error) {
	if s.next == len(s.batches) {
		return stream.Batch{}, io.EOF
	}
	s.next++
	return stream.Batch{Messages: s.batches[s.next-1]}, nil
}

func (s *sliceSource) Close(context.Context) error { return nil }

type discard struct{}

func (discard) Write(context.Context, []sink.Alert) error { return nil }
func (discard) Close(context.Context) error               { return nil }

// BenchmarkPipeline compares a pipeline without hooks to one whose hooks
// feed a Monitor: the monitor's cost on the hot path.
func BenchmarkPipeline(b *testing.B) {
	rules, inds := loadSampleRules(b)
	g := gen.New(gen.Options{Seed: 1, HitRatio: 0.01, ExcludedRatio: 0.3, Indicators: inds})
	const batches, perBatch = 32, 64
	var msgs [][]stream.Message
	for range batches {
		var batch []stream.Message
		for range perBatch {
			v, _ := g.Next(nil)
			batch = append(batch, stream.Message{Value: v})
		}
		msgs = append(msgs, batch)
	}
	records := float64(g.Records())
	var holder atomic.Pointer[stream.Rules]
	holder.Store(rules)
	for _, monitored := range []bool{false, true} {
		name := "bare"
		if monitored {
			name = "monitored"
		}
		b.Run(name, func(b *testing.B) {
			mon := ops.NewMonitor(ops.Options{})
			b.ReportAllocs()
			var st *stream.Stats
			for b.Loop() {
				opt := stream.Options{Workers: 1}
				if monitored {
					mon.Hooks(&opt)
				}
				p := stream.New(&sliceSource{batches: msgs}, &holder, discard{}, opt)
				if err := p.Run(context.Background()); err != nil {
					b.Fatal(err)
				}
				st = p.Stats()
			}
			if st.Records.Load() != int64(records) {
				b.Fatalf("records %d, want %v", st.Records.Load(), records)
			}
			b.ReportMetric(records*float64(b.N)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// benchMonitor is a Monitor over realistic inputs: a 100k-indicator
// index from 20 feeds, 8 sinks, 32 partitions, 10 exclusion rules.
func benchMonitor(b *testing.B) *ops.Monitor {
	b.Helper()
	var inds []*match.Indicator
	for i := range 100_000 {
		inds = append(inds, &match.Indicator{Kind: match.KindIP, Value: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255), Meta: &match.Meta{Source: "feed-" + strconv.Itoa(i%20)}})
	}
	ix, err := match.Build(inds, match.BuildOptions{})
	if err != nil {
		b.Fatal(err)
	}
	var rules atomic.Pointer[stream.Rules]
	rules.Store(&stream.Rules{Index: ix})
	sinks := &fakeSinks{}
	for i := range 8 {
		sinks.stats = append(sinks.stats, sink.Stats{Name: "sink-" + strconv.Itoa(i), Accepted: 1000})
	}
	lag := make([]ops.PartitionLag, 32)
	for i := range lag {
		lag[i] = ops.PartitionLag{Topic: "defender", Partition: strconv.Itoa(i), Messages: int64(i * 10)}
	}
	feeds := make([]ops.FeedState, 20)
	for i := range feeds {
		feeds[i] = ops.FeedState{Name: "feed-" + strconv.Itoa(i), Indicators: map[string]int{"ip": 5000}, LastFetch: time.Now(), LastSuccess: time.Now(), Interval: time.Hour}
	}
	mon := ops.NewMonitor(ops.Options{})
	mon.Watch(ops.Inputs{Pipeline: &stream.Stats{}, Rules: &rules, Sinks: sinks, Suppressor: fakeSuppressor{},
		Lag: func() []ops.PartitionLag { return lag }, Feeds: ops.FeedsFunc(func() []ops.FeedState { return feeds })})
	for i := range 50 {
		mon.OnDelivered([]sink.Alert{{DeviceName: "ws-" + strconv.Itoa(i), Indicator: sink.AlertIndicator{Kind: "ip", Value: "10.0.0.1"}}}, time.Now())
	}
	mon.Sample()
	return mon
}

// BenchmarkScrape measures one /metrics request (after the first, which
// counts the index by feed once).
func BenchmarkScrape(b *testing.B) {
	h := benchMonitor(b).Handler(ops.Auth{})
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	h.ServeHTTP(httptest.NewRecorder(), req)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkStatusPage measures one render of the status page.
func BenchmarkStatusPage(b *testing.B) {
	h := benchMonitor(b).Handler(ops.Auth{})
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkRedact measures the redaction of one log line with a
// connection string and ten known secrets.
func BenchmarkRedact(b *testing.B) {
	var secrets []string
	for i := range 10 {
		secrets = append(secrets, fmt.Sprintf("secret-value-%02d", i))
	}
	r := ops.NewRedactor(secrets...)
	line := `eventhubs: source failed: Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=secret-value-03;EntityPath=defender: amqp: link detached`
	b.ReportAllocs()
	for b.Loop() {
		_ = r.String(line)
	}
}
