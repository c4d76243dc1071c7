package sink_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// waits records the waits OnRetry reports.
type waits struct {
	mu sync.Mutex
	d  []time.Duration
}

func (w *waits) onRetry(_ int, _ error, d time.Duration) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.d = append(w.d, d)
}

func (w *waits) get() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.d...)
}

// maxJitter makes the back-off deterministic: always the ceiling.
func maxJitter(n int64) int64 { return n }

func TestRetryConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (sink.Sink, func() []sink.Alert) {
		// Every other Write fails with a retryable error.
		r := &sinktest.Recorder{}
		for range 200 {
			r.FailNext(errors.New("503 Service Unavailable"), nil)
		}
		p := sink.RetryPolicy{Initial: time.Microsecond, Max: 10 * time.Microsecond}
		return sink.WithRetry(r, p), r.Alerts
	})
}

func TestRetryBacksOffExponentiallyUpToMax(t *testing.T) {
	r := &sinktest.Recorder{}
	boom := errors.New("connection refused")
	r.FailNext(boom, boom, boom, boom, boom, nil)
	var w waits
	p := sink.RetryPolicy{Initial: time.Microsecond, Max: 8 * time.Microsecond, OnRetry: w.onRetry}
	sink.SetRetryHooks(&p, maxJitter, nil)
	s := sink.WithRetry(r, p)
	alerts := sinktest.Alerts(3, 1)
	if err := s.Write(context.Background(), alerts); err != nil {
		t.Fatalf("Write = %v, want success after 5 retries", err)
	}
	want := []time.Duration{1 * time.Microsecond, 2 * time.Microsecond, 4 * time.Microsecond, 8 * time.Microsecond, 8 * time.Microsecond}
	if got := w.get(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("waits %v, want %v", got, want)
	}
	if got := s.Stats().Retries; got != 5 {
		t.Errorf("Stats().Retries = %d, want 5", got)
	}
	if len(r.Alerts()) != 3 || r.Writes() != 6 {
		t.Errorf("%d alerts in %d writes, want 3 in 6", len(r.Alerts()), r.Writes())
	}
}

func TestRetryJitterIsFull(t *testing.T) {
	// The wait is drawn from [0, ceiling]: with a draw of 0 there is no wait.
	r := &sinktest.Recorder{}
	r.FailNext(errors.New("x"), nil)
	var w waits
	var drawn []int64
	p := sink.RetryPolicy{Initial: time.Hour, OnRetry: w.onRetry}
	sink.SetRetryHooks(&p, func(n int64) int64 { drawn = append(drawn, n); return 0 }, nil)
	if err := sink.WithRetry(r, p).Write(context.Background(), sinktest.Alerts(1, 1)); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(drawn) != fmt.Sprint([]int64{int64(time.Hour)}) || fmt.Sprint(w.get()) != "[0s]" {
		t.Errorf("drew from %v and waited %v, want a draw in [0, 1h] and a wait of 0", drawn, w.get())
	}
}

func TestRetryStops(t *testing.T) {
	boom := errors.New("503")
	for _, tc := range []struct {
		name      string
		script    []error
		policy    sink.RetryPolicy
		wantWrite int
		check     func(t *testing.T, err error)
	}{
		{
			name: "a permanent error stops at once and is returned", script: []error{sink.Permanent(errors.New("400 Bad Request"))},
			wantWrite: 1,
			check: func(t *testing.T, err error) {
				if !sink.IsPermanent(err) || !strings.Contains(err.Error(), "400") {
					t.Errorf("err = %v, want the permanent 400", err)
				}
			},
		},
		{
			name: "ErrClosed from the sink is permanent", script: []error{fmt.Errorf("webhook: %w", sink.ErrClosed)},
			wantWrite: 1,
			check: func(t *testing.T, err error) {
				if !errors.Is(err, sink.ErrClosed) {
					t.Errorf("err = %v, want ErrClosed", err)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &sinktest.Recorder{}
			r.FailNext(tc.script...)
			err := sink.WithRetry(r, tc.policy).Write(context.Background(), sinktest.Alerts(1, 1))
			tc.check(t, err)
			if r.Writes() != tc.wantWrite {
				t.Errorf("%d writes, want %d", r.Writes(), tc.wantWrite)
			}
		})
	}

	t.Run("a cancelled context during the wait returns context.Canceled and the last error", func(t *testing.T) {
		r := &sinktest.Recorder{}
		r.FailNext(boom)
		ctx, cancel := context.WithCancel(context.Background())
		p := sink.RetryPolicy{Initial: time.Hour, OnRetry: func(int, error, time.Duration) { cancel() }}
		sink.SetRetryHooks(&p, maxJitter, nil)
		err := sink.WithRetry(r, p).Write(ctx, sinktest.Alerts(1, 1))
		if !errors.Is(err, context.Canceled) || !errors.Is(err, boom) {
			t.Errorf("err = %v, want context.Canceled wrapping the last error", err)
		}
	})

	t.Run("Close during the wait returns ErrClosed and the last error", func(t *testing.T) {
		r := &sinktest.Recorder{}
		r.FailNext(boom)
		var s *sink.Retry
		p := sink.RetryPolicy{Initial: time.Hour, OnRetry: func(int, error, time.Duration) { s.Close(context.Background()) }}
		sink.SetRetryHooks(&p, maxJitter, nil)
		s = sink.WithRetry(r, p)
		err := s.Write(context.Background(), sinktest.Alerts(1, 1))
		if !errors.Is(err, sink.ErrClosed) || !errors.Is(err, boom) {
			t.Errorf("err = %v, want ErrClosed wrapping the last error", err)
		}
		if !r.Closed() {
			t.Error("Close did not close the wrapped sink")
		}
	})

	t.Run("MaxElapsed gives up with the last error marked permanent", func(t *testing.T) {
		r := &sinktest.Recorder{}
		r.FailNext(boom, boom, boom, boom)
		clock := time.Unix(0, 0)
		p := sink.RetryPolicy{Initial: time.Nanosecond, Max: time.Nanosecond, MaxElapsed: 25 * time.Second}
		sink.SetRetryHooks(&p, maxJitter, func() time.Time { clock = clock.Add(10 * time.Second); return clock })
		err := sink.WithRetry(r, p).Write(context.Background(), sinktest.Alerts(1, 1))
		if !sink.IsPermanent(err) || !errors.Is(err, boom) || !strings.Contains(err.Error(), "gave up after 3 attempts") {
			t.Errorf("err = %v, want a permanent 'gave up after 3 attempts' wrapping the last error", err)
		}
	})

	t.Run("Write after Close is ErrClosed", func(t *testing.T) {
		s := sink.WithRetry(&sinktest.Recorder{}, sink.RetryPolicy{})
		s.Close(context.Background())
		if err := s.Write(context.Background(), sinktest.Alerts(1, 1)); !errors.Is(err, sink.ErrClosed) {
			t.Errorf("err = %v, want ErrClosed", err)
		}
	})
}

func TestRetryHonoursRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after time.Duration
		want  time.Duration
	}{
		{"a server's Retry-After replaces the back-off", 5 * time.Microsecond, 5 * time.Microsecond},
		{"a Retry-After longer than Max is capped at Max", time.Hour, 20 * time.Microsecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := &sinktest.Recorder{}
			r.FailNext(sink.RetryAfter(errors.New("429 Too Many Requests"), tc.after), nil)
			var w waits
			p := sink.RetryPolicy{Initial: time.Microsecond, Max: 20 * time.Microsecond, OnRetry: w.onRetry}
			sink.SetRetryHooks(&p, maxJitter, nil)
			if err := sink.WithRetry(r, p).Write(context.Background(), sinktest.Alerts(1, 1)); err != nil {
				t.Fatal(err)
			}
			if got := w.get(); len(got) != 1 || got[0] != tc.want {
				t.Errorf("waits %v, want [%v]", got, tc.want)
			}
		})
	}
}

func TestErrorClassification(t *testing.T) {
	base := errors.New("root cause")
	for _, tc := range []struct {
		name      string
		err       error
		permanent bool
		after     time.Duration
	}{
		{"nil is neither", nil, false, 0},
		{"a plain error is retryable", base, false, 0},
		{"Permanent marks it", sink.Permanent(base), true, 0},
		{"Permanent survives wrapping", fmt.Errorf("sink %q: %w", "x", sink.Permanent(base)), true, 0},
		{"Permanent survives errors.Join", errors.Join(errors.New("other"), sink.Permanent(base)), true, 0},
		{"ErrClosed is permanent", fmt.Errorf("x: %w", sink.ErrClosed), true, 0},
		{"RetryAfter carries its delay", fmt.Errorf("x: %w", sink.RetryAfter(base, 7*time.Second)), false, 7 * time.Second},
		{"RetryAfter with no delay changes nothing", sink.RetryAfter(base, 0), false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sink.IsPermanent(tc.err); got != tc.permanent {
				t.Errorf("IsPermanent = %v, want %v", got, tc.permanent)
			}
			d, ok := sink.RetryAfterDelay(tc.err)
			if d != tc.after || ok != (tc.after > 0) {
				t.Errorf("RetryAfterDelay = %v, %v; want %v", d, ok, tc.after)
			}
			if tc.err != nil && !errors.Is(tc.err, base) && !errors.Is(tc.err, sink.ErrClosed) {
				t.Error("the wrapper hides the root cause from errors.Is")
			}
		})
	}
	if sink.Permanent(nil) != nil || sink.RetryAfter(nil, time.Second) != nil {
		t.Error("wrapping nil is not nil")
	}
	if got := sink.Permanent(base).Error(); got != "root cause" {
		t.Errorf("Permanent changes the message to %q", got)
	}
}
