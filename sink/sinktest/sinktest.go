package sinktest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/iocwatch/iocwatch/sink"
)

// hangGuard bounds how long a check waits for a call that must return
// promptly. It is not a measurement: it only turns a hang into a failure
// with a message instead of a test binary timeout.
const hangGuard = 30 * time.Second

// Run runs the conformance checks listed in the package documentation
// against the sinks newSink builds. newSink is called once per check with
// that check's *testing.T; it returns a fresh sink and a function that
// returns every alert the destination has received so far. Resources the
// constructor starts (servers, listeners) should be released with
// t.Cleanup: the leak check runs after them.
func Run(t *testing.T, newSink func(t *testing.T) (sink.Sink, func() []sink.Alert)) {
	t.Helper()
	checks := []struct {
		name string
		fn   func(t *testing.T, s sink.Sink, received func() []sink.Alert)
	}{
		{"every alert is at the destination once Write returned nil", testAckAfterAccept},
		{"a Write of no alerts returns nil", testEmptyWrite},
		{"Write with a cancelled context fails with context.Canceled or delivers", testCancelled},
		{"Close twice is safe", testCloseTwice},
		{"Write after Close returns ErrClosed", testWriteAfterClose},
		{"8 goroutines writing concurrently get every alert delivered", testConcurrent},
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			// Registered first, so it runs last: after the constructor's
			// own cleanups stopped its servers.
			ignore := goleak.IgnoreCurrent()
			t.Cleanup(func() {
				if err := goleak.Find(ignore); err != nil {
					t.Errorf("goroutines left running after Close: %v", err)
				}
			})
			s, received := newSink(t)
			if s == nil || received == nil {
				t.Fatal("newSink returned a nil sink or a nil received function")
			}
			c.fn(t, s, received)
		})
	}
}

// call runs fn in a goroutine and fails the test if it does not return
// within hangGuard.
func call(t *testing.T, what string, fn func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		return err
	case <-time.After(hangGuard):
		t.Fatalf("%s did not return within %v", what, hangGuard)
		return nil
	}
}

func closeSink(t *testing.T, s sink.Sink) {
	t.Helper()
	if err := call(t, "Close", func() error { return s.Close(context.Background()) }); err != nil {
		t.Errorf("Close: %v", err)
	}
}

// missing returns the IDs of want that are not among got.
func missing(want, got []sink.Alert) []string {
	have := make(map[string]bool, len(got))
	for i := range got {
		have[got[i].AlertID] = true
	}
	var out []string
	for i := range want {
		if !have[want[i].AlertID] {
			out = append(out, want[i].AlertID)
		}
	}
	return out
}

// unexpected returns the IDs of got that are not among want.
func unexpected(want, got []sink.Alert) []string {
	return missing(got, want)
}

func summarize(ids []string) string {
	sort.Strings(ids)
	if len(ids) > 5 {
		return fmt.Sprintf("%s … (%d in all)", strings.Join(ids[:5], ", "), len(ids))
	}
	return strings.Join(ids, ", ")
}

func testAckAfterAccept(t *testing.T, s sink.Sink, received func() []sink.Alert) {
	all := Alerts(30, 1)
	batches := [][]sink.Alert{all[:1], all[1:10], all[10:30]}
	var written []sink.Alert
	for i, b := range batches {
		if err := call(t, "Write", func() error { return s.Write(context.Background(), b) }); err != nil {
			t.Fatalf("Write of batch %d (%d alerts): %v", i, len(b), err)
		}
		written = append(written, b...)
		got := received()
		if m := missing(written, got); len(m) > 0 {
			t.Fatalf("after Write of batch %d returned nil, the destination lacks %d alerts: %s", i, len(m), summarize(m))
		}
		if u := unexpected(written, got); len(u) > 0 {
			t.Fatalf("the destination received alerts that were never written: %s", summarize(u))
		}
	}
	closeSink(t, s)
	if m := missing(written, received()); len(m) > 0 {
		t.Errorf("after Close the destination lacks %d alerts: %s", len(m), summarize(m))
	}
}

func testEmptyWrite(t *testing.T, s sink.Sink, received func() []sink.Alert) {
	if err := call(t, "Write(nil)", func() error { return s.Write(context.Background(), nil) }); err != nil {
		t.Errorf("Write(ctx, nil) = %v, want nil", err)
	}
	if err := call(t, "Write(empty)", func() error { return s.Write(context.Background(), []sink.Alert{}) }); err != nil {
		t.Errorf("Write(ctx, []Alert{}) = %v, want nil", err)
	}
	closeSink(t, s)
	if got := received(); len(got) != 0 {
		t.Errorf("the destination received %d alerts from empty writes", len(got))
	}
}

func testCancelled(t *testing.T, s sink.Sink, received func() []sink.Alert) {
	alerts := Alerts(5, 2)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := call(t, "Write with a cancelled context", func() error { return s.Write(ctx, alerts) })
	switch {
	case err == nil:
		if m := missing(alerts, received()); len(m) > 0 {
			t.Errorf("Write with a cancelled context returned nil but %d alerts were not delivered: %s", len(m), summarize(m))
		}
	case !errors.Is(err, context.Canceled):
		t.Errorf("Write with a cancelled context = %v, want an error wrapping context.Canceled", err)
	}
	// The sink must still work with a live context afterwards.
	more := Alerts(3, 3)
	if err := call(t, "Write", func() error { return s.Write(context.Background(), more) }); err != nil {
		t.Fatalf("Write after a cancelled Write: %v", err)
	}
	if m := missing(more, received()); len(m) > 0 {
		t.Errorf("after a cancelled Write, a later Write returned nil but %d alerts were not delivered: %s", len(m), summarize(m))
	}
	closeSink(t, s)
}

func testCloseTwice(t *testing.T, s sink.Sink, _ func() []sink.Alert) {
	if err := call(t, "Write", func() error { return s.Write(context.Background(), Alerts(2, 4)) }); err != nil {
		t.Fatalf("Write: %v", err)
	}
	closeSink(t, s)
	err := call(t, "second Close", func() error { return s.Close(context.Background()) })
	if err != nil && !errors.Is(err, sink.ErrClosed) {
		t.Errorf("second Close = %v, want nil or ErrClosed", err)
	}
}

func testWriteAfterClose(t *testing.T, s sink.Sink, received func() []sink.Alert) {
	closeSink(t, s)
	alerts := Alerts(2, 5)
	err := call(t, "Write after Close", func() error { return s.Write(context.Background(), alerts) })
	if !errors.Is(err, sink.ErrClosed) {
		t.Errorf("Write after Close = %v, want an error wrapping ErrClosed", err)
	}
	if u := unexpected(nil, received()); len(u) > 0 {
		t.Errorf("Write after Close delivered alerts: %s", summarize(u))
	}
}

func testConcurrent(t *testing.T, s sink.Sink, received func() []sink.Alert) {
	const writers, batches, per = 8, 5, 4
	all := Alerts(writers*batches*per, 6)
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Go(func() {
			mine := all[w*batches*per : (w+1)*batches*per]
			for b := range batches {
				if err := s.Write(context.Background(), mine[b*per:(b+1)*per]); err != nil {
					errs <- fmt.Errorf("writer %d batch %d: %w", w, b, err)
				}
			}
		})
	}
	if err := call(t, "8 concurrent writers", func() error { wg.Wait(); return nil }); err != nil {
		t.Fatal(err)
	}
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Write: %v", err)
	}
	if m := missing(all, received()); len(m) > 0 {
		t.Errorf("after every concurrent Write returned nil, the destination lacks %d alerts: %s", len(m), summarize(m))
	}
	closeSink(t, s)
}
