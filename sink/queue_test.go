package sink_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

func TestQueueConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (sink.Sink, func() []sink.Alert) {
		r := &sinktest.Recorder{}
		return sink.WithQueue(r, 8), r.Alerts
	})
}

func TestQueueAppliesBackPressureWithoutDropping(t *testing.T) {
	g := newGate()
	q := sink.WithQueue(g, 4)
	all := sinktest.Alerts(9, 1)
	a, b, c := all[:4], all[4:8], all[8:]
	resA := result(func() error { return q.Write(context.Background(), a) })
	g.waitEntered(t, 1) // a is being written
	resB := result(func() error { return q.Write(context.Background(), b) })
	eventually(t, "b queued", func() bool { return q.Depth() == 8 })
	resC := result(func() error { return q.Write(context.Background(), c) })
	eventually(t, "c waiting for room", func() bool { return sink.QueueWaiting(q) == 1 })
	if d := q.Depth(); d != 8 {
		t.Errorf("Depth = %d with a full queue, want 8 (4 in flight, 4 queued): c must not be let in", d)
	}
	if st := q.Stats(); st.QueueDepth != 8 {
		t.Errorf("Stats().QueueDepth = %d, want 8", st.QueueDepth)
	}
	close(g.release)
	for _, r := range []<-chan error{resA, resB, resC} {
		if err := await(t, r); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := strings.Join(ids(g.Alerts()), ","), strings.Join(ids(all), ","); got != want {
		t.Errorf("delivered %s, want every alert in order %s", got, want)
	}
	if d := q.Depth(); d != 0 {
		t.Errorf("Depth = %d after everything was delivered", d)
	}
	q.Close(context.Background())
}

func TestQueueDeliversWaitingBatchesTogether(t *testing.T) {
	g := newGate()
	q := sink.WithQueue(g, 100)
	all := sinktest.Alerts(4, 2)
	resA := result(func() error { return q.Write(context.Background(), all[:1]) })
	g.waitEntered(t, 1)
	var rest []<-chan error
	for i := 1; i < 4; i++ {
		rest = append(rest, result(func() error { return q.Write(context.Background(), all[i:i+1]) }))
		eventually(t, "the batch queued", func() bool { return q.Depth() == 1+i })
	}
	close(g.release)
	for _, r := range append(rest, resA) {
		if err := await(t, r); err != nil {
			t.Fatal(err)
		}
	}
	if w := g.Writes(); w != 2 {
		t.Errorf("%d downstream writes, want 2 (the first batch, then the 3 that waited, together)", w)
	}
	if got, want := strings.Join(ids(g.Alerts()), ","), strings.Join(ids(all), ","); got != want {
		t.Errorf("delivered %s, want %s", got, want)
	}
	q.Close(context.Background())
}

func TestQueueErrorsReachEveryWriterOfTheBatch(t *testing.T) {
	g := newGate()
	g.FailNext(nil, sink.Permanent(errors.New("400 Bad Request")))
	q := sink.WithQueue(g, 100)
	all := sinktest.Alerts(3, 3)
	resA := result(func() error { return q.Write(context.Background(), all[:1]) })
	g.waitEntered(t, 1)
	resB := result(func() error { return q.Write(context.Background(), all[1:2]) })
	eventually(t, "b queued", func() bool { return q.Depth() == 2 })
	resC := result(func() error { return q.Write(context.Background(), all[2:]) })
	eventually(t, "c queued", func() bool { return q.Depth() == 3 })
	close(g.release)
	if err := await(t, resA); err != nil {
		t.Errorf("a = %v, want nil", err)
	}
	for _, r := range []<-chan error{resB, resC} {
		if err := await(t, r); !sink.IsPermanent(err) || !strings.Contains(err.Error(), "400") {
			t.Errorf("err = %v, want the permanent 400 of the shared batch", err)
		}
	}
	q.Close(context.Background())
}

func TestQueueCancelledWhileWaitingIsTakenOut(t *testing.T) {
	g := newGate()
	q := sink.WithQueue(g, 100)
	all := sinktest.Alerts(2, 4)
	resA := result(func() error { return q.Write(context.Background(), all[:1]) })
	g.waitEntered(t, 1)
	ctx, cancel := context.WithCancel(context.Background())
	resB := result(func() error { return q.Write(ctx, all[1:]) })
	eventually(t, "b queued", func() bool { return q.Depth() == 2 })
	cancel()
	if err := await(t, resB); !errors.Is(err, context.Canceled) {
		t.Errorf("b = %v, want context.Canceled", err)
	}
	if d := q.Depth(); d != 1 {
		t.Errorf("Depth = %d after b left the queue, want 1", d)
	}
	close(g.release)
	if err := await(t, resA); err != nil {
		t.Fatal(err)
	}
	q.Close(context.Background())
	if got := ids(g.Alerts()); len(got) != 1 || got[0] != all[0].AlertID {
		t.Errorf("delivered %v, want only a", got)
	}
}

func TestQueueLetsAnOversizedBatchInAlone(t *testing.T) {
	r := &sinktest.Recorder{}
	q := sink.WithQueue(r, 2)
	if err := await(t, result(func() error { return q.Write(context.Background(), sinktest.Alerts(7, 1)) })); err != nil {
		t.Fatal(err)
	}
	if len(r.Alerts()) != 7 {
		t.Errorf("%d alerts delivered, want 7", len(r.Alerts()))
	}
	q.Close(context.Background())
}

func TestQueueClose(t *testing.T) {
	t.Run("Close delivers what was queued before closing the sink", func(t *testing.T) {
		g := newGate()
		q := sink.WithQueue(g, 100)
		all := sinktest.Alerts(2, 5)
		resA := result(func() error { return q.Write(context.Background(), all[:1]) })
		g.waitEntered(t, 1)
		resB := result(func() error { return q.Write(context.Background(), all[1:]) })
		eventually(t, "b queued", func() bool { return q.Depth() == 2 })
		resClose := result(func() error { return q.Close(context.Background()) })
		done, cancel := context.WithCancel(context.Background())
		cancel() // a Write with a done context never blocks: ErrClosed once closed, else Canceled
		eventually(t, "new writes refused", func() bool {
			return errors.Is(q.Write(done, all[:1]), sink.ErrClosed)
		})
		close(g.release)
		for _, r := range []<-chan error{resA, resB, resClose} {
			if err := await(t, r); err != nil {
				t.Fatal(err)
			}
		}
		if len(g.Alerts()) != 2 || !g.Closed() {
			t.Errorf("%d alerts delivered, sink closed %v; want 2 and closed", len(g.Alerts()), g.Closed())
		}
	})
	t.Run("Close with a done context cancels the stuck downstream write", func(t *testing.T) {
		g := newGate()
		q := sink.WithQueue(g, 100)
		resA := result(func() error { return q.Write(context.Background(), sinktest.Alerts(1, 6)) })
		g.waitEntered(t, 1)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := await(t, result(func() error { return q.Close(ctx) })); err != nil {
			t.Fatal(err)
		}
		if err := await(t, resA); !errors.Is(err, context.Canceled) {
			t.Errorf("a = %v, want context.Canceled from the cancelled downstream write", err)
		}
	})
	t.Run("Close wakes writers waiting for room with ErrClosed", func(t *testing.T) {
		g := newGate()
		q := sink.WithQueue(g, 1)
		all := sinktest.Alerts(3, 7)
		resA := result(func() error { return q.Write(context.Background(), all[:1]) })
		g.waitEntered(t, 1)
		resB := result(func() error { return q.Write(context.Background(), all[1:2]) })
		eventually(t, "b queued", func() bool { return q.Depth() == 2 })
		resC := result(func() error { return q.Write(context.Background(), all[2:]) })
		eventually(t, "c waiting", func() bool { return sink.QueueWaiting(q) == 1 })
		resClose := result(func() error { return q.Close(context.Background()) })
		if err := await(t, resC); !errors.Is(err, sink.ErrClosed) {
			t.Errorf("c = %v, want ErrClosed", err)
		}
		close(g.release)
		for _, r := range []<-chan error{resA, resB, resClose} {
			if err := await(t, r); err != nil {
				t.Fatal(err)
			}
		}
	})
}
