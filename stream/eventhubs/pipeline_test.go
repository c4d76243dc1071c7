package eventhubs

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/bench/gen"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/testenv"
)

// These tests run the whole watcher — Event Hubs Processor with blob
// checkpoints, decoder, index, the shipped example exclusions, a sink —
// against the emulator and Azurite, with bench/gen streams whose planted
// hits are known.

type e2eKey struct {
	device string
	report int64
}

type e2eSink struct {
	mu   sync.Mutex
	seen map[e2eKey]int
}

func (s *e2eSink) Write(_ context.Context, alerts []sink.Alert) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range alerts {
		s.seen[e2eKey{a.DeviceID, a.ReportID}]++
	}
	return nil
}

func (s *e2eSink) Close(context.Context) error { return nil }

func (s *e2eSink) has(k e2eKey) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[k] > 0
}

func e2eIndicators() []*match.Indicator {
	return []*match.Indicator{
		{Kind: match.KindIP, Value: "203.0.113.77", Meta: &match.Meta{Source: "t"}},
		{Kind: match.KindCIDR, Value: "198.51.100.0/24", Meta: &match.Meta{Source: "t"}},
		{Kind: match.KindDomain, Value: "bad-cdn.example", Meta: &match.Meta{Source: "t"}},
		{Kind: match.KindCIDR, Value: "192.0.2.0/24", Meta: &match.Meta{Source: "t"}},
	}
}

func e2eRules(t *testing.T) *atomic.Pointer[stream.Rules] {
	return testenv.ExampleRules(t, e2eIndicators())
}

type e2eWatcher struct {
	src    *Source
	p      *stream.Pipeline
	cancel context.CancelFunc
	done   chan error
}

func startE2EWatcher(t *testing.T, opt Options, r *atomic.Pointer[stream.Rules], out sink.Sink, dl stream.DeadLetterWriter) *e2eWatcher {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	src := open(t, ctx, opt)
	w := &e2eWatcher{src: src, p: stream.New(src, r, out, stream.Options{Workers: 2, DeadLetter: dl}), cancel: cancel, done: make(chan error, 1)}
	go func() { w.done <- w.p.Run(ctx) }()
	return w
}

func (w *e2eWatcher) stop(t *testing.T) {
	t.Helper()
	w.cancel()
	if err := <-w.done; err != nil {
		t.Errorf("pipeline: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := w.src.Close(ctx); err != nil {
		t.Errorf("close: %v", err)
	}
}

func e2eWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTwoReplicasAlertEveryPlantedHitAndNoLookAlike(t *testing.T) {
	conn := testenv.StartEmulator(t, "defender:4")
	blob := testenv.StartAzurite(t)
	cont := testenv.NewContainer(t, blob)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	prod, err := NewProducer(ctx, conn, "defender")
	if err != nil {
		t.Fatal(err)
	}
	g := gen.New(gen.Options{Seed: 31, HitRatio: 0.03, ExcludedRatio: 0.25, Indicators: e2eIndicators(), RecordsPerMessage: 8})
	var real, excluded []e2eKey
	for p := range 4 {
		var bodies [][]byte
		for range 40 {
			msg, planted := g.Next(nil)
			bodies = append(bodies, msg)
			for _, pl := range planted {
				if pl.Excluded {
					excluded = append(excluded, e2eKey{pl.DeviceID, pl.ReportID})
				} else {
					real = append(real, e2eKey{pl.DeviceID, pl.ReportID})
				}
			}
		}
		if err := prod.SendToPartition(ctx, strconv.Itoa(p), bodies); err != nil {
			t.Fatal(err)
		}
	}
	prod.Close(ctx)
	if len(real) < 10 || len(excluded) == 0 {
		t.Fatalf("planted %d hits and %d look-alikes: too few", len(real), len(excluded))
	}

	out := &e2eSink{seen: map[e2eKey]int{}}
	r := e2eRules(t)
	opt := testOptions(conn, blob, "defender", cont)
	opt.LoadBalancing = "balanced"
	w1 := startE2EWatcher(t, opt, r, out, nil)
	w2 := startE2EWatcher(t, opt, r, out, nil)
	e2eWait(t, "every planted hit", func() bool {
		for _, k := range real {
			if !out.has(k) {
				return false
			}
		}
		return true
	})
	w1.stop(t)
	w2.stop(t)
	for _, k := range excluded {
		if out.has(k) {
			t.Errorf("look-alike %v was alerted", k)
		}
	}
	if got := w1.p.Stats().Records.Load() + w2.p.Stats().Records.Load(); got < 4*40*8 {
		t.Errorf("the replicas decoded %d records, want at least %d", got, 4*40*8)
	}
}

func TestAPoisonEventIsDeadLetteredAndTheStreamGoesOn(t *testing.T) {
	conn := testenv.StartEmulator(t, "poison:1")
	blob := testenv.StartAzurite(t)
	cont := testenv.NewContainer(t, blob)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	g := gen.New(gen.Options{Seed: 3, HitRatio: 1, Indicators: e2eIndicators()[:1], RecordsPerMessage: 1})
	good1, _ := g.Next(nil)
	good2, _ := g.Next(nil)
	prod, err := NewProducer(ctx, conn, "poison")
	if err != nil {
		t.Fatal(err)
	}
	if err := prod.SendToPartition(ctx, "0", [][]byte{good1, []byte(`{"records":[{"category":`), good2}); err != nil {
		t.Fatal(err)
	}
	prod.Close(ctx)
	dir := t.TempDir()
	dl, err := stream.OpenDeadLetter(filepath.Join(dir, "dead.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out := &e2eSink{seen: map[e2eKey]int{}}
	w := startE2EWatcher(t, testOptions(conn, blob, "poison", cont), e2eRules(t), out, dl)
	e2eWait(t, "both good events", func() bool {
		out.mu.Lock()
		defer out.mu.Unlock()
		return len(out.seen) == 2
	})
	w.stop(t)
	dl.Close()
	data, _ := os.ReadFile(filepath.Join(dir, "dead.jsonl"))
	if !strings.Contains(string(data), `"position":"poison[0]@1"`) {
		t.Errorf("dead-letter file lacks the poison event (sequence number 1):\n%s", data)
	}
}
