package sink_test

import (
	"context"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// hangGuard turns a hang into a failure; it is never a measurement.
const hangGuard = 30 * time.Second

// gateSink blocks every Write until release is closed (or its ctx ends),
// then hands the alerts to a Recorder. Each Write first sends on entered
// (when there is room), so a test can wait for a Write to be under way.
type gateSink struct {
	sinktest.Recorder
	entered chan struct{}
	release chan struct{}
}

func newGate() *gateSink {
	return &gateSink{entered: make(chan struct{}, 1024), release: make(chan struct{})}
}

func (g *gateSink) Write(ctx context.Context, alerts []sink.Alert) error {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	select {
	case <-g.release:
	case <-ctx.Done():
		return ctx.Err()
	}
	return g.Recorder.Write(ctx, alerts)
}

// waitEntered waits until n Writes have entered g.
func (g *gateSink) waitEntered(t *testing.T, n int) {
	t.Helper()
	for range n {
		select {
		case <-g.entered:
		case <-time.After(hangGuard):
			t.Fatalf("no Write reached the sink within %v", hangGuard)
		}
	}
}

// eventually polls cond, yielding between polls, and fails the test when
// it stays false past hangGuard. It waits for another goroutine to reach a
// state, and measures nothing.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(hangGuard)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s did not happen within %v", what, hangGuard)
		}
		runtime.Gosched()
		time.Sleep(100 * time.Microsecond)
	}
}

// cancelAtRetry returns a retry policy of millisecond waits that counts
// its retries in n and calls cancel at the limit-th: a Write retried where
// it should not be ends instead of retrying for ever, and n shows it.
func cancelAtRetry(limit int64, cancel context.CancelFunc, n *atomic.Int64) sink.RetryPolicy {
	return sink.RetryPolicy{Initial: time.Millisecond, Max: time.Millisecond, OnRetry: func(int, error, time.Duration) {
		if n.Add(1) >= limit {
			cancel()
		}
	}}
}

// result runs fn in a goroutine and returns a channel with its error.
func result(fn func() error) <-chan error {
	ch := make(chan error, 1)
	go func() { ch <- fn() }()
	return ch
}

// await waits for an error from ch, failing past hangGuard.
func await(t *testing.T, ch <-chan error) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(hangGuard):
		t.Fatalf("call did not return within %v", hangGuard)
		return nil
	}
}

// ids returns the AlertIDs of alerts, in order.
func ids(alerts []sink.Alert) []string {
	out := make([]string, len(alerts))
	for i := range alerts {
		out[i] = alerts[i].AlertID
	}
	return out
}
