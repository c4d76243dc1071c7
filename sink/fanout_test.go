package sink_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// inAll returns the alerts every recorder received (by AlertID).
func inAll(rs ...*sinktest.Recorder) []sink.Alert {
	count := map[string]int{}
	var first []sink.Alert
	for i, r := range rs {
		seen := map[string]bool{}
		for _, a := range r.Alerts() {
			if seen[a.AlertID] {
				continue
			}
			seen[a.AlertID] = true
			count[a.AlertID]++
			if i == 0 {
				first = append(first, a)
			}
		}
	}
	var out []sink.Alert
	for _, a := range first {
		if count[a.AlertID] == len(rs) {
			out = append(out, a)
		}
	}
	return out
}

func TestFanoutConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (sink.Sink, func() []sink.Alert) {
		a, b, c := &sinktest.Recorder{}, &sinktest.Recorder{}, &sinktest.Recorder{}
		f := sink.Fanout(sink.Named{Name: "a", Sink: a}, sink.Named{Name: "b", Sink: b}, sink.Named{Name: "chat", Sink: c, BestEffort: true})
		return f, func() []sink.Alert { return inAll(a, b) }
	})
}

func TestFanoutSucceedsOnlyWhenEveryRequiredSinkAccepted(t *testing.T) {
	ok, bad := &sinktest.Recorder{}, &sinktest.Recorder{}
	bad.FailNext(errors.New("503 Service Unavailable"))
	worse := &sinktest.Recorder{}
	worse.FailNext(sink.Permanent(errors.New("400 Bad Request")))
	f := sink.Fanout(sink.Named{Name: "file", Sink: ok}, sink.Named{Name: "soar", Sink: bad}, sink.Named{Name: "siem", Sink: worse})
	alerts := sinktest.Alerts(4, 1)
	err := f.Write(context.Background(), alerts)
	if err == nil {
		t.Fatal("Write = nil although two sinks failed")
	}
	msg := err.Error()
	if !strings.Contains(msg, `sink "soar": 503 Service Unavailable`) || !strings.Contains(msg, `sink "siem": 400 Bad Request`) || strings.Contains(msg, `"file"`) {
		t.Errorf("err = %q, want both failures prefixed with their sink and nothing about file", msg)
	}
	if !sink.IsPermanent(err) {
		t.Error("the joined error hides the permanent one from IsPermanent")
	}
	if len(ok.Alerts()) != 4 {
		t.Errorf("the healthy sink got %d alerts, want 4", len(ok.Alerts()))
	}
	st := f.SinkStats()
	if st[0].Name != "file" || st[0].Accepted != 4 || st[0].Failed != 0 || st[1].Failed != 4 || st[2].Failed != 4 {
		t.Errorf("stats %+v, want file accepted 4, soar and siem failed 4", st)
	}
	if err := f.Write(context.Background(), alerts); err != nil {
		t.Errorf("second Write = %v, want nil once the sinks recovered", err)
	}
}

func TestFanoutWritesRequiredSinksConcurrently(t *testing.T) {
	// Each sink waits until the other has started: written one after the
	// other, they would never finish.
	var started sync.WaitGroup
	started.Add(2)
	barrier := func(r *sinktest.Recorder) sink.Sink {
		return sinkFunc{write: func(ctx context.Context, a []sink.Alert) error {
			started.Done()
			started.Wait()
			return r.Write(ctx, a)
		}, close: r.Close}
	}
	a, b := &sinktest.Recorder{}, &sinktest.Recorder{}
	f := sink.Fanout(sink.Named{Name: "a", Sink: barrier(a)}, sink.Named{Name: "b", Sink: barrier(b)})
	if err := await(t, result(func() error { return f.Write(context.Background(), sinktest.Alerts(2, 1)) })); err != nil {
		t.Fatal(err)
	}
	f.Close(context.Background())
}

// sinkFunc adapts functions to sink.Sink.
type sinkFunc struct {
	write func(context.Context, []sink.Alert) error
	close func(context.Context) error
}

func (s sinkFunc) Write(ctx context.Context, a []sink.Alert) error { return s.write(ctx, a) }
func (s sinkFunc) Close(ctx context.Context) error                 { return s.close(ctx) }

func TestFanoutBestEffort(t *testing.T) {
	t.Run("a failing best-effort sink neither fails the write nor goes uncounted", func(t *testing.T) {
		req, chat := &sinktest.Recorder{}, &sinktest.Recorder{}
		chat.FailNext(errors.New("chat down"), errors.New("chat down"))
		f := sink.Fanout(sink.Named{Name: "file", Sink: req}, sink.Named{Name: "chat", Sink: chat, BestEffort: true})
		for range 3 {
			if err := f.Write(context.Background(), sinktest.Alerts(2, 1)); err != nil {
				t.Fatalf("Write = %v, want nil: best-effort failures never fail it", err)
			}
		}
		if err := f.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		st := f.SinkStats()[1]
		if !st.BestEffort || st.Failed != 4 || st.Accepted != 2 || st.Dropped != 0 {
			t.Errorf("chat stats %+v, want 4 failed and 2 accepted", st)
		}
	})

	t.Run("a stuck best-effort sink never blocks the write; overflow is dropped and counted", func(t *testing.T) {
		chat := newGate()
		f := sink.Fanout(sink.Named{Name: "chat", Sink: chat, BestEffort: true})
		one := sinktest.Alerts(1, 1)
		if err := f.Write(context.Background(), one); err != nil {
			t.Fatal(err)
		}
		chat.waitEntered(t, 1) // the drain goroutine holds batch 1
		for range sink.BestEffortBuffer + 3 {
			if err := await(t, result(func() error { return f.Write(context.Background(), one) })); err != nil {
				t.Fatal(err)
			}
		}
		if st := f.SinkStats()[0]; st.Dropped != 3 || st.Failed != 3 {
			t.Errorf("stats %+v, want 3 dropped (and failed)", st)
		}
		close(chat.release)
		if err := f.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got, want := len(chat.Alerts()), 1+sink.BestEffortBuffer; got != want {
			t.Errorf("chat received %d alerts after Close drained it, want %d", got, want)
		}
	})

	t.Run("Close with a done context abandons the best-effort backlog, counted failed", func(t *testing.T) {
		chat := newGate()
		f := sink.Fanout(sink.Named{Name: "chat", Sink: chat, BestEffort: true})
		for range 5 {
			if err := f.Write(context.Background(), sinktest.Alerts(1, 1)); err != nil {
				t.Fatal(err)
			}
		}
		chat.waitEntered(t, 1)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := await(t, result(func() error { return f.Close(ctx) })); err != nil {
			t.Fatal(err)
		}
		if st := f.SinkStats()[0]; st.Failed != 5 || st.Accepted != 0 {
			t.Errorf("stats %+v, want all 5 failed", st)
		}
	})

	t.Run("the best-effort copy does not change when the caller reuses its slice", func(t *testing.T) {
		chat := newGate()
		f := sink.Fanout(sink.Named{Name: "chat", Sink: chat, BestEffort: true})
		alerts := sinktest.Alerts(2, 1)
		want := ids(alerts)
		if err := f.Write(context.Background(), alerts); err != nil {
			t.Fatal(err)
		}
		alerts[0].AlertID, alerts[1].AlertID = "reused", "reused"
		close(chat.release)
		f.Close(context.Background())
		if got := ids(chat.Alerts()); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("chat got %v, want %v", got, want)
		}
	})
}

func TestFanoutStatsIncludeWrapperCounters(t *testing.T) {
	r := &sinktest.Recorder{}
	r.FailNext(errors.New("503"))
	p := sink.RetryPolicy{Initial: 1, Max: 1}
	f := sink.Fanout(sink.Named{Name: "soar", Sink: sink.WithQueue(sink.WithRetry(r, p), 16)})
	if err := f.Write(context.Background(), sinktest.Alerts(3, 1)); err != nil {
		t.Fatal(err)
	}
	st := f.SinkStats()[0]
	if st.Name != "soar" || st.Accepted != 3 || st.Retries != 1 || st.QueueDepth != 0 {
		t.Errorf("stats %+v, want soar: 3 accepted, 1 retry, empty queue", st)
	}
	f.Close(context.Background())
}

// An alert the sink refused for good and the dead-letter file kept is
// counted as dead-lettered, not as accepted.
func TestFanoutStatsDoNotCountDeadLetteredAlertsAsAccepted(t *testing.T) {
	dl, err := sink.OpenDeadLetter(filepath.Join(t.TempDir(), "dead.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	r := &sinktest.Recorder{}
	r.FailNext(sink.Permanent(errors.New("400 Bad Request")))
	f := sink.Fanout(sink.Named{Name: "soar", Sink: sink.WithDeadLetter(r, "soar", dl)})
	for _, batch := range [][]sink.Alert{sinktest.Alerts(2, 1), sinktest.Alerts(3, 2)} {
		if err := f.Write(context.Background(), batch); err != nil {
			t.Fatal(err)
		}
	}
	if st := f.SinkStats()[0]; st.Accepted != 3 || st.DeadLettered != 2 {
		t.Errorf("stats %+v, want 3 accepted and 2 dead-lettered", st)
	}
}

func TestFanoutCloseClosesEverySinkAndNamesFailures(t *testing.T) {
	a := &sinktest.Recorder{}
	bad := sinkFunc{write: a.Write, close: func(context.Context) error { return errors.New("flush failed") }}
	f := sink.Fanout(sink.Named{Name: "a", Sink: a}, sink.Named{Name: "b", Sink: bad})
	err := f.Close(context.Background())
	if err == nil || !strings.Contains(err.Error(), `sink "b": flush failed`) {
		t.Errorf("Close = %v, want b's failure named", err)
	}
	if !a.Closed() {
		t.Error("a was not closed")
	}
}

func TestFanoutReportsANilSinkInsteadOfPanicking(t *testing.T) {
	f := sink.Fanout(sink.Named{Name: "oops"})
	err := f.Write(context.Background(), sinktest.Alerts(1, 1))
	if !sink.IsPermanent(err) || !strings.Contains(err.Error(), `sink "oops"`) {
		t.Errorf("Write = %v, want a permanent error naming the sink", err)
	}
	if err := f.Close(context.Background()); err != nil {
		t.Errorf("Close = %v", err)
	}
}

// A best-effort sink that is down at shutdown uses the close budget beside
// the required sink, not before it: the required sink closes cleanly,
// every alert it was given delivered; the best-effort sink's alert is
// counted failed, and its running out of time is no error.
func TestABestEffortSinkDownAtCloseDoesNotFailTheRequiredOne(t *testing.T) {
	var got atomic.Int64
	ok := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { got.Add(1) }))
	defer ok.Close()
	down := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer down.Close()
	soar, err := sink.NewWebhook(sink.WebhookOptions{URL: ok.URL})
	if err != nil {
		t.Fatal(err)
	}
	chat, err := sink.NewWebhook(sink.WebhookOptions{URL: down.URL})
	if err != nil {
		t.Fatal(err)
	}
	f := sink.Fanout(
		sink.Named{Name: "soar", Sink: sink.WithQueue(sink.WithRetry(soar, sink.RetryPolicy{}), 1024)},
		sink.Named{Name: "chat", Sink: sink.WithQueue(sink.WithRetry(chat, sink.RetryPolicy{}), 1024), BestEffort: true},
	)
	if err := f.Write(context.Background(), []sink.Alert{{AlertID: "a1"}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := f.Close(ctx); err != nil {
		t.Errorf("Close: %v, want nil: soar closed cleanly, chat may lose alerts", err)
	}
	if st := f.SinkStats(); st[1].Failed != 1 {
		t.Errorf("chat: %+v, want its alert counted failed", st[1])
	}
	if got.Load() != 1 {
		t.Errorf("soar got %d alerts, want 1", got.Load())
	}
}

// slowReturn hands a Write's outcome back only once release is closed, as
// a queue's worker hands it back to the waiting writer a moment after the
// sink (here: its dead-letter wrapper) is done; Stats reads through it.
type slowReturn struct {
	next     sink.Sink
	returned chan struct{}
	release  chan struct{}
}

func (s *slowReturn) Write(ctx context.Context, a []sink.Alert) error {
	err := s.next.Write(ctx, a)
	s.returned <- struct{}{}
	<-s.release
	return err
}

func (s *slowReturn) Close(ctx context.Context) error { return s.next.Close(ctx) }
func (s *slowReturn) Stats() sink.Stats               { return s.next.(sink.StatsReporter).Stats() }

// iocwatch_sink_alerts_total is a counter: a scrape while a batch with a
// dead-lettered alert is on its way back must not see Accepted go down.
func TestFanoutAcceptedNeverGoesBackwards(t *testing.T) {
	dl, err := sink.OpenDeadLetter(filepath.Join(t.TempDir(), "dead.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Close()
	r := &sinktest.Recorder{}
	gate := &slowReturn{next: sink.WithDeadLetter(r, "soar", dl), returned: make(chan struct{}, 2), release: make(chan struct{})}
	f := sink.Fanout(sink.Named{Name: "soar", Sink: gate})
	close(gate.release)
	if err := f.Write(context.Background(), sinktest.Alerts(3, 1)); err != nil {
		t.Fatal(err)
	}
	<-gate.returned
	before := f.SinkStats()[0].Accepted
	gate.release = make(chan struct{})
	r.FailNext(sink.Permanent(errors.New("400 Bad Request")))
	done := result(func() error { return f.Write(context.Background(), sinktest.Alerts(2, 2)) })
	select {
	case <-gate.returned:
	case <-time.After(hangGuard):
		t.Fatal("the write never reached the sink")
	}
	during := f.SinkStats()[0].Accepted
	close(gate.release)
	if err := await(t, done); err != nil {
		t.Fatal(err)
	}
	after := f.SinkStats()[0].Accepted
	if before != 3 || during < before || after != 3 {
		t.Errorf("Accepted went %d → %d → %d, want 3 → 3 → 3 (a counter never goes down)", before, during, after)
	}
}
