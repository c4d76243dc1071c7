package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

// chanSource yields the batches a test pushes, and io.EOF once the channel
// is closed. It counts acknowledgements.
type chanSource struct {
	batches chan stream.Batch
	acked   atomic.Int64
}

func (s *chanSource) Read(ctx context.Context) (stream.Batch, error) {
	select {
	case b, ok := <-s.batches:
		if !ok {
			return stream.Batch{}, io.EOF
		}
		return b, nil
	case <-ctx.Done():
		return stream.Batch{}, ctx.Err()
	}
}

func (s *chanSource) Close(context.Context) error { return nil }

// recordingSink keeps every alert it accepts.
type recordingSink struct {
	mu     sync.Mutex
	alerts []sink.Alert
}

func (s *recordingSink) Write(_ context.Context, alerts []sink.Alert) error {
	s.mu.Lock()
	s.alerts = append(s.alerts, alerts...)
	s.mu.Unlock()
	return nil
}

func (s *recordingSink) Close(context.Context) error { return nil }

// networkEvent is one DeviceNetworkEvents record to ip with the given
// ReportId, as Event Hubs delivers it.
func networkEvent(ip string, report int) []byte {
	return fmt.Appendf(nil, `{"records":[{"time":"2026-11-26T09:14:03Z","category":"AdvancedHunting-DeviceNetworkEvents","properties":{"Timestamp":"2026-11-26T09:13:58Z","DeviceId":"3f2a9c1e5b7d4e8f0a1b2c3d4e5f60718293a4b5","DeviceName":"ws-1","ActionType":"ConnectionSuccess","RemoteIP":%q,"RemotePort":443,"ReportId":%d}}]}`, ip, report)
}

const eventsPerBatch = 10

// batchOf makes batch n: events alternating between the old indicator
// (.1, deleted by the reload) and the new one (.2, added by it).
func (s *chanSource) batchOf(n int) stream.Batch {
	var b stream.Batch
	for i := range eventsPerBatch {
		ip := "203.0.113.1"
		if i%2 == 1 {
			ip = "203.0.113.2"
		}
		b.Messages = append(b.Messages, stream.Message{Value: networkEvent(ip, n*eventsPerBatch+i), Position: stream.Position{Source: "test", Partition: 0, Offset: int64(n)}})
	}
	b.Ack = func(context.Context) error { s.acked.Add(1); return nil }
	return b
}

// A reload under a running stream loses no event and no alert: every
// batch is matched against one snapshot, the old or the new, whole; the
// batches read after the swap alert on the new indicator and no longer on
// the deleted one.
func TestAReloadUnderARunningStreamLosesNothing(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	dir := t.TempDir()
	path := filepath.Join(dir, "c2.txt")
	if err := os.WriteFile(path, []byte("203.0.113.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.Feeds = []config.Feed{{Name: "c2", Type: "file", Path: path, Format: "text"}}
	cfg.ApplyDefaults()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var holder atomic.Pointer[stream.Rules]
	rt, err := startFeeds(ctx, cfg, mustCompileExclusions(t, cfg), &holder, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	before := holder.Load()

	src := &chanSource{batches: make(chan stream.Batch, 4)}
	out := &recordingSink{}
	p := stream.New(src, &holder, out, stream.Options{Workers: 2, Ordered: true})
	runErr := make(chan error, 1)
	go func() { runErr <- p.Run(ctx) }()

	n := 0
	push := func() { src.batches <- src.batchOf(n); n++ }
	for range 50 { // before the edit
		push()
	}
	tmp := filepath.Join(dir, ".c2.txt.tmp")
	os.WriteFile(tmp, []byte("203.0.113.2\n"), 0o600)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for holder.Load() == before { // the stream keeps running during the reload
		if time.Now().After(deadline) {
			t.Fatal("the edit was not swapped in within 10 s")
		}
		push()
		time.Sleep(time.Millisecond)
	}
	firstAfter := n
	for range 50 { // read after the swap
		push()
	}
	close(src.batches)
	if err := <-runErr; err != nil {
		t.Fatal(err)
	}

	st := p.Stats()
	if got, want := st.Watched.Load(), int64(n*eventsPerBatch); got != want || src.acked.Load() != int64(n) {
		t.Fatalf("%d events matched and %d of %d batches acknowledged; want %d events", got, src.acked.Load(), n, want)
	}
	hitsByBatch := map[int]map[string]int{}
	for _, a := range out.alerts {
		b := int(a.ReportID) / eventsPerBatch
		if hitsByBatch[b] == nil {
			hitsByBatch[b] = map[string]int{}
		}
		hitsByBatch[b][a.RemoteIP]++
	}
	half := eventsPerBatch / 2
	var old, nw int
	for b := range n {
		h := hitsByBatch[b]
		switch {
		case h["203.0.113.1"] == half && h["203.0.113.2"] == 0:
			old++
			if b >= firstAfter {
				t.Errorf("batch %d, read after the swap, matched the old indicators", b)
			}
		case h["203.0.113.2"] == half && h["203.0.113.1"] == 0:
			nw++
			if b < 50 {
				t.Errorf("batch %d, read before the edit, matched the new indicators", b)
			}
		default:
			t.Errorf("batch %d: alerts %v; want %d for exactly one of the old or the new indicator", b, h, half)
		}
	}
	if old < 50 || nw < 50 || len(out.alerts) != n*half {
		t.Errorf("%d batches on the old rules, %d on the new, %d alerts for %d batches", old, nw, len(out.alerts), n)
	}
	cancel()
	rt.Close()
}

// mustCompileExclusions compiles cfg's exclusions as run does before
// startFeeds.
func mustCompileExclusions(t *testing.T, cfg *config.Config) *match.Exclusions {
	t.Helper()
	ex, err := compileExclusions(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return ex
}
