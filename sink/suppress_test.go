package sink_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock { return &fakeClock{t: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// repeatsOf returns n alerts for the same device × indicator × field, each
// a different event (ReportId, Timestamp) and so a different AlertID.
func repeatsOf(a sink.Alert, n int) []sink.Alert {
	out := make([]sink.Alert, n)
	for i := range out {
		r := a
		r.ReportID = a.ReportID + int64(i)
		r.Timestamp = a.Timestamp.Add(time.Duration(i) * time.Second)
		r.AlertID = sink.NewAlertID(r.DeviceID, r.DeviceName, r.ReportID, r.Timestamp, r.Indicator.Kind, r.Indicator.Value)
		out[i] = r
	}
	return out
}

func newSuppressor(t *testing.T, opt sink.SuppressOptions) (*sink.Suppressor, *sinktest.Recorder, *fakeClock) {
	t.Helper()
	r := &sinktest.Recorder{}
	clock := newClock()
	opt.Now = clock.Now
	opt.SweepEvery = time.Hour // sweeps run only when the test says
	s := sink.NewSuppressor(r, opt)
	t.Cleanup(func() { s.Close(context.Background()) })
	return s, r, clock
}

func write(t *testing.T, s sink.Sink, alerts ...sink.Alert) {
	t.Helper()
	if err := s.Write(context.Background(), alerts); err != nil {
		t.Fatalf("Write: %v", err)
	}
}

func TestSuppressorConformance(t *testing.T) {
	sinktest.Run(t, func(t *testing.T) (sink.Sink, func() []sink.Alert) {
		r := &sinktest.Recorder{}
		return sink.NewSuppressor(r, sink.SuppressOptions{Window: 10 * time.Minute, Summaries: true}), r.Alerts
	})
}

func TestSuppressorDropsRedeliveredAlerts(t *testing.T) {
	s, r, _ := newSuppressor(t, sink.SuppressOptions{})
	a := sinktest.Alerts(3, 1)
	write(t, s, a[0], a[1])
	write(t, s, a[0])       // redelivered alone
	write(t, s, a[1], a[2]) // redelivered with a new one
	write(t, s, a[2], a[2]) // twice in one batch
	if got := ids(r.Alerts()); fmt.Sprint(got) != fmt.Sprint(ids(a)) {
		t.Errorf("delivered %v, want each alert once: %v", got, ids(a))
	}
	if c := s.Counts(); c.Duplicates != 4 || c.Keys != 3 {
		t.Errorf("counts %+v, want 4 duplicates and 3 keys", c)
	}
}

// An Advanced Hunting export projected without DeviceId (and ReportId)
// still tells devices apart by DeviceName: the same connection from three
// devices in the same second is three alerts, neither duplicates nor
// repeats of each other; the same device twice is still one.
func TestSuppressorTellsDevicesWithoutDeviceIdApartByName(t *testing.T) {
	s, r, _ := newSuppressor(t, sink.SuppressOptions{Window: 10 * time.Minute, Summaries: true})
	base := sinktest.Alerts(1, 1)[0]
	base.DeviceID, base.ReportID, base.MatchedField = "", 0, "RemoteIP"
	var batch []sink.Alert
	for _, name := range []string{"ws-1", "ws-2", "ws-3", "ws-1"} {
		a := base
		a.DeviceName = name
		a.AlertID = sink.NewAlertID(a.DeviceID, a.DeviceName, a.ReportID, a.Timestamp, a.Indicator.Kind, a.Indicator.Value)
		batch = append(batch, a)
	}
	write(t, s, batch...)
	var got []string
	for _, a := range r.Alerts() {
		got = append(got, a.DeviceName)
	}
	if fmt.Sprint(got) != "[ws-1 ws-2 ws-3]" {
		t.Errorf("delivered alerts of %v, want one per device [ws-1 ws-2 ws-3]", got)
	}
	if c := s.Counts(); c.Duplicates != 1 || c.Repeats != 0 {
		t.Errorf("counts %+v, want ws-1's second alert a duplicate and no repeat", c)
	}
}

func TestSuppressorRepeatWindow(t *testing.T) {
	s, r, clock := newSuppressor(t, sink.SuppressOptions{Window: 10 * time.Minute, Summaries: true})
	base := sinktest.Alerts(1, 2)[0]
	base.RepeatCount, base.FirstSeen, base.LastSeen = 0, time.Time{}, time.Time{}
	base.MatchedField = "RemoteIP"
	reps := repeatsOf(base, 6)

	write(t, s, reps[0])
	clock.Advance(time.Minute)
	write(t, s, reps[1], reps[2])
	otherField := reps[3]
	otherField.MatchedField = "RemoteUrl.host"
	otherDevice := reps[4]
	otherDevice.DeviceID = "another-device"
	otherDevice.AlertID = sink.NewAlertID(otherDevice.DeviceID, otherDevice.DeviceName, otherDevice.ReportID, otherDevice.Timestamp, otherDevice.Indicator.Kind, otherDevice.Indicator.Value)
	write(t, s, otherField, otherDevice)
	if got := len(r.Alerts()); got != 3 {
		t.Fatalf("%d alerts delivered inside the window, want 3 (the first, and the other field and device)", got)
	}
	if c := s.Counts(); c.Repeats != 2 {
		t.Errorf("Repeats = %d, want 2", c.Repeats)
	}

	// The window closes 10 minutes after the first delivery: the sweep
	// sends a summary, and the next repeat is an alert again.
	clock.Advance(9*time.Minute + time.Second)
	sink.SuppressorSweep(s)
	all := r.Alerts()
	if len(all) != 4 {
		t.Fatalf("%d alerts after the window closed, want 3 and a summary", len(all))
	}
	sum := all[3]
	if sum.RepeatCount != 2 || !sum.FirstSeen.Equal(reps[0].Timestamp) || !sum.LastSeen.Equal(reps[2].Timestamp) {
		t.Errorf("summary RepeatCount %d FirstSeen %v LastSeen %v, want 2, %v, %v", sum.RepeatCount, sum.FirstSeen, sum.LastSeen, reps[0].Timestamp, reps[2].Timestamp)
	}
	if sum.AlertID == reps[0].AlertID || sum.DeviceID != base.DeviceID || sum.Indicator.Value != base.Indicator.Value || !sum.DetectedAt.Equal(reps[2].DetectedAt) {
		t.Errorf("summary %+v, want the first alert's device and indicator, a new AlertID and the repeats' DetectedAt", sum)
	}
	write(t, s, reps[5])
	if got := len(r.Alerts()); got != 5 {
		t.Errorf("a repeat after the window closed was not delivered (%d alerts)", got)
	}
	if c := s.Counts(); c.SummariesSent != 1 || c.Windows != 3 {
		t.Errorf("counts %+v, want 1 summary sent and 3 open windows", c)
	}
}

func TestSuppressorWindowClosesOnWriteWithoutASweep(t *testing.T) {
	s, r, clock := newSuppressor(t, sink.SuppressOptions{Window: time.Minute})
	reps := repeatsOf(sinktest.Alerts(1, 3)[0], 3)
	write(t, s, reps[0], reps[1])
	clock.Advance(time.Minute)
	write(t, s, reps[2])
	if got := len(r.Alerts()); got != 2 {
		t.Errorf("%d delivered, want 2: the window ends exactly Window after the first alert", got)
	}
}

func TestSuppressorWithoutSummariesSendsNone(t *testing.T) {
	s, r, clock := newSuppressor(t, sink.SuppressOptions{Window: time.Minute})
	write(t, s, repeatsOf(sinktest.Alerts(1, 4)[0], 5)...)
	clock.Advance(2 * time.Minute)
	sink.SuppressorSweep(s)
	if got := len(r.Alerts()); got != 1 {
		t.Errorf("%d alerts, want only the first", got)
	}
	if c := s.Counts(); c.Repeats != 4 || c.Windows != 0 {
		t.Errorf("counts %+v, want 4 repeats and the window closed", c)
	}
}

func TestSuppressorFailedDeliveryIsNotSeen(t *testing.T) {
	s, r, _ := newSuppressor(t, sink.SuppressOptions{Window: 10 * time.Minute})
	reps := repeatsOf(sinktest.Alerts(1, 5)[0], 2)
	boom := errors.New("503")
	r.FailNext(boom)
	if err := s.Write(context.Background(), reps[:1]); !errors.Is(err, boom) {
		t.Fatalf("Write = %v, want the next sink's error", err)
	}
	// The retry of the same alert is not a duplicate, and the failed
	// delivery opened no window.
	write(t, s, reps[0])
	write(t, s, reps[1])
	if got := ids(r.Alerts()); len(got) != 1 || got[0] != reps[0].AlertID {
		t.Errorf("delivered %v, want the retried first alert only (the second is a repeat)", got)
	}
	if c := s.Counts(); c.Duplicates != 0 || c.Repeats != 1 {
		t.Errorf("counts %+v, want no duplicate and 1 repeat", c)
	}
	// A batch whose delivery fails does not count its in-batch repeats.
	r.FailNext(boom)
	other := repeatsOf(sinktest.Alerts(1, 6)[0], 3)
	if err := s.Write(context.Background(), other); err == nil {
		t.Fatal("Write = nil although next failed")
	}
	if c := s.Counts(); c.Repeats != 1 {
		t.Errorf("Repeats = %d after a failed batch, want still 1", c.Repeats)
	}
}

func TestSuppressorRetriesSummariesUntilAccepted(t *testing.T) {
	s, r, clock := newSuppressor(t, sink.SuppressOptions{Window: time.Minute, Summaries: true})
	write(t, s, repeatsOf(sinktest.Alerts(1, 7)[0], 3)...)
	clock.Advance(time.Minute)
	r.FailNext(errors.New("503"), errors.New("503"))
	sink.SuppressorSweep(s)
	sink.SuppressorSweep(s)
	if c := s.Counts(); c.SummaryFailures != 2 || c.PendingSummaries != 1 || c.SummariesSent != 0 {
		t.Fatalf("counts %+v, want 2 failures and the summary still pending", c)
	}
	sink.SuppressorSweep(s)
	all := r.Alerts()
	if c := s.Counts(); c.SummariesSent != 1 || c.PendingSummaries != 0 || len(all) != 2 || all[1].RepeatCount != 2 {
		t.Errorf("counts %+v and %d alerts, want the summary (2 repeats) sent on the third sweep", c, len(all))
	}
}

func TestSuppressorStateIsBounded(t *testing.T) {
	t.Run("capacity evicts the oldest entries and counts them", func(t *testing.T) {
		s, r, _ := newSuppressor(t, sink.SuppressOptions{Window: time.Hour, MaxKeys: 3})
		a := sinktest.Alerts(5, 8)
		write(t, s, a...)
		c := s.Counts()
		if c.Keys != 3 || c.Windows != 3 || c.Evicted != 4 {
			t.Errorf("counts %+v, want 3 keys, 3 windows and 4 evictions (2 per table)", c)
		}
		write(t, s, a[0]) // forgotten: delivered again
		write(t, s, a[4]) // still remembered
		if got := len(r.Alerts()); got != 6 {
			t.Errorf("%d delivered, want 6: the evicted alert again, the remembered one not", got)
		}
	})
	t.Run("an evicted window with repeats sends its summary", func(t *testing.T) {
		s, r, _ := newSuppressor(t, sink.SuppressOptions{Window: time.Hour, MaxKeys: 10, Summaries: true})
		first := sinktest.Alerts(1, 9)[0]
		write(t, s, repeatsOf(first, 3)...)
		write(t, s, sinktest.Alerts(10, 10)...) // pushes the window out
		sink.SuppressorSweep(s)
		var summaries int
		for _, a := range r.Alerts() {
			if a.DeviceID == first.DeviceID && a.RepeatCount == 2 {
				summaries++
			}
		}
		if summaries != 1 {
			t.Errorf("%d summaries, want 1 for the evicted window", summaries)
		}
	})
	t.Run("AlertIDs are forgotten after the TTL", func(t *testing.T) {
		s, r, clock := newSuppressor(t, sink.SuppressOptions{DedupTTL: time.Minute})
		a := sinktest.Alerts(1, 11)
		write(t, s, a...)
		clock.Advance(59 * time.Second)
		write(t, s, a...)
		clock.Advance(time.Second)
		write(t, s, a...)
		if got := len(r.Alerts()); got != 2 {
			t.Errorf("%d delivered, want 2: dropped inside the TTL, delivered after it", got)
		}
		if c := s.Counts(); c.Keys != 1 || c.Evicted != 0 {
			t.Errorf("counts %+v, want 1 key and no eviction (expiry is not eviction)", c)
		}
	})
}

func TestSuppressorCloseSendsOpenWindowSummaries(t *testing.T) {
	r := &sinktest.Recorder{}
	s := sink.NewSuppressor(r, sink.SuppressOptions{Window: time.Hour, Summaries: true, SweepEvery: time.Hour})
	write(t, s, repeatsOf(sinktest.Alerts(1, 12)[0], 4)...)
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	all := r.Alerts()
	if len(all) != 2 || all[1].RepeatCount != 3 || !r.Closed() {
		t.Errorf("%d alerts (closed %v), want the first and a summary of 3 repeats, then next closed", len(all), r.Closed())
	}
	if err := s.Close(context.Background()); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestSuppressorConcurrentUse(t *testing.T) {
	s, r, clock := newSuppressor(t, sink.SuppressOptions{Window: time.Minute, Summaries: true})
	pool := sinktest.Alerts(20, 13)
	pool = append(pool, repeatsOf(pool[0], 10)...)
	const writers, rounds = 8, 30
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range rounds {
				j := (w*7 + i*3) % len(pool)
				if err := s.Write(context.Background(), pool[j:min(j+3, len(pool))]); err != nil {
					t.Error(err)
				}
				if i%10 == 0 {
					clock.Advance(time.Second)
					sink.SuppressorSweep(s)
				}
			}
		})
	}
	wg.Wait()
	var written int
	for w := range writers {
		for i := range rounds {
			j := (w*7 + i*3) % len(pool)
			written += min(j+3, len(pool)) - j
		}
	}
	c := s.Counts()
	inPool := map[string]bool{}
	for _, a := range pool {
		inPool[a.AlertID] = true
	}
	var delivered int
	for _, a := range r.Alerts() {
		if inPool[a.AlertID] { // not a summary
			delivered++
		}
	}
	if uint64(delivered)+c.Duplicates+c.Repeats != uint64(written) {
		t.Errorf("delivered %d + duplicates %d + repeats %d != %d written: an alert was lost or double counted", delivered, c.Duplicates, c.Repeats, written)
	}
	seen := map[string]bool{}
	for _, a := range r.Alerts() {
		seen[a.AlertID] = true
	}
	// pool[0] may itself be a repeat of one of its repeats delivered
	// earlier; the others have a triple of their own and must arrive.
	for _, a := range pool[1:20] {
		if !seen[a.AlertID] {
			t.Errorf("alert %s was never delivered", a.AlertID)
		}
	}
}

// holdSink blocks the Writes that carry the alert with AlertID hold until
// release is closed; every other Write goes straight to the Recorder.
type holdSink struct {
	sinktest.Recorder
	hold    string
	entered chan struct{}
	release chan struct{}
}

func newHoldSink(hold string) *holdSink {
	return &holdSink{hold: hold, entered: make(chan struct{}, 16), release: make(chan struct{})}
}

func (h *holdSink) Write(ctx context.Context, alerts []sink.Alert) error {
	for _, a := range alerts {
		if a.AlertID == h.hold {
			h.entered <- struct{}{}
			select {
			case <-h.release:
			case <-ctx.Done():
				return ctx.Err()
			}
			break
		}
	}
	return h.Recorder.Write(ctx, alerts)
}

// summarised returns the repeats the summaries among alerts report.
func summarised(alerts []sink.Alert) (n int) {
	for _, a := range alerts {
		n += a.RepeatCount
	}
	return n
}

// A repeat decided while its window was open is counted in that window's
// summary even when the window closes (a sweep) while the repeat's batch
// is still being delivered.
func TestSuppressorCountsARepeatWhoseWindowClosesDuringItsWrite(t *testing.T) {
	base := sinktest.Alerts(2, 14)
	reps := repeatsOf(base[0], 3)
	h := newHoldSink(base[1].AlertID)
	clock := newClock()
	s := sink.NewSuppressor(h, sink.SuppressOptions{Window: time.Minute, Summaries: true, Now: clock.Now, SweepEvery: time.Hour})
	t.Cleanup(func() { s.Close(context.Background()) })

	write(t, s, reps[0], reps[1]) // opens the window, 1 repeat
	done := result(func() error { return s.Write(context.Background(), []sink.Alert{base[1], reps[2]}) })
	select {
	case <-h.entered:
	case <-time.After(hangGuard):
		t.Fatal("the held Write never reached the sink")
	}
	// reps[2] was decided a repeat; now its window ends.
	clock.Advance(time.Minute)
	sink.SuppressorSweep(s)
	close(h.release)
	if err := await(t, done); err != nil {
		t.Fatal(err)
	}
	sink.SuppressorSweep(s)
	c := s.Counts()
	if got := summarised(h.Alerts()); c.Repeats != 2 || got != 2 {
		t.Errorf("summaries report %d repeats, Counts.Repeats = %d; want 2 and 2 (no repeat lost)", got, c.Repeats)
	}
}

// Close waits for the Writes under way, so that the repeats they suppress
// (of open windows, and of their own batch) are in the summaries it sends.
func TestSuppressorCloseCountsTheRepeatsOfWritesUnderWay(t *testing.T) {
	base := sinktest.Alerts(2, 15)
	reps := repeatsOf(base[0], 3)
	other := repeatsOf(base[1], 2)
	h := newHoldSink(other[0].AlertID)
	s := sink.NewSuppressor(h, sink.SuppressOptions{Window: time.Hour, Summaries: true, SweepEvery: time.Hour})

	write(t, s, reps[0], reps[1])
	done := result(func() error { return s.Write(context.Background(), []sink.Alert{other[0], reps[2], other[1]}) })
	select {
	case <-h.entered:
	case <-time.After(hangGuard):
		t.Fatal("the held Write never reached the sink")
	}
	closed := result(func() error { return s.Close(context.Background()) })
	eventually(t, "Close refusing new Writes", func() bool {
		return errors.Is(s.Write(context.Background(), nil), sink.ErrClosed)
	})
	close(h.release)
	if err := await(t, done); err != nil {
		t.Fatal(err)
	}
	if err := await(t, closed); err != nil {
		t.Fatal(err)
	}
	c := s.Counts()
	if got := summarised(h.Alerts()); c.Repeats != 3 || got != 3 {
		t.Errorf("summaries sent at Close report %d repeats, Counts.Repeats = %d; want 3 and 3", got, c.Repeats)
	}
}

// A summary's detected_at is when iocwatch detected the latest of the
// repeats it reports (their own DetectedAt), however and whenever its
// window ends: not the time the window closed, iocwatch stopped, a full
// table pushed the window out, or a retry finally got the summary through.
func TestSuppressorSummaryDetectedAtIsTheLastRepeatsDetection(t *testing.T) {
	for _, tc := range []struct {
		name string
		// undetected: the repeats carry no DetectedAt, and the time the
		// suppressor counted them stands in.
		undetected bool
		end        func(t *testing.T, s *sink.Suppressor, r *sinktest.Recorder, clock *fakeClock)
	}{
		{"the window expires", false, func(t *testing.T, s *sink.Suppressor, r *sinktest.Recorder, clock *fakeClock) {
			clock.Advance(9 * time.Minute)
			sink.SuppressorSweep(s)
		}},
		{"iocwatch stops", false, func(t *testing.T, s *sink.Suppressor, r *sinktest.Recorder, clock *fakeClock) {
			clock.Advance(time.Minute)
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
		}},
		{"a full table evicts the window", false, func(t *testing.T, s *sink.Suppressor, r *sinktest.Recorder, clock *fakeClock) {
			clock.Advance(time.Minute)
			write(t, s, sinktest.Alerts(10, 10)...)
			sink.SuppressorSweep(s)
		}},
		{"the summary is sent on a retry", false, func(t *testing.T, s *sink.Suppressor, r *sinktest.Recorder, clock *fakeClock) {
			clock.Advance(9 * time.Minute)
			r.FailNext(errors.New("503"))
			sink.SuppressorSweep(s)
			clock.Advance(5 * time.Minute)
			sink.SuppressorSweep(s)
		}},
		{"repeats without a detection time", true, func(t *testing.T, s *sink.Suppressor, r *sinktest.Recorder, clock *fakeClock) {
			clock.Advance(9 * time.Minute)
			sink.SuppressorSweep(s)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, r, clock := newSuppressor(t, sink.SuppressOptions{Window: 10 * time.Minute, Summaries: true, MaxKeys: 10})
			base := sinktest.Alerts(1, 16)[0]
			base.Retro, base.RepeatCount, base.FirstSeen, base.LastSeen = false, 0, time.Time{}, time.Time{}
			reps := repeatsOf(base, 3)
			t0 := clock.Now()
			// The pipeline detects before the suppressor sees the alert,
			// and a batch may hold the later detection first.
			reps[0].DetectedAt = t0.Add(-time.Second)
			reps[1].DetectedAt = t0.Add(90 * time.Second)
			reps[2].DetectedAt = t0.Add(30 * time.Second)
			want := reps[1].DetectedAt
			if tc.undetected {
				reps[1].DetectedAt, reps[2].DetectedAt = time.Time{}, time.Time{}
			}
			write(t, s, reps[0])
			clock.Advance(2 * time.Minute)
			if tc.undetected {
				want = clock.Now()
			}
			write(t, s, reps[1], reps[2])
			tc.end(t, s, r, clock)

			var sums []sink.Alert
			for _, a := range r.Alerts() {
				if a.RepeatCount > 0 && a.DeviceID == base.DeviceID {
					sums = append(sums, a)
				}
			}
			if len(sums) != 1 {
				t.Fatalf("%d summaries of the window, want 1", len(sums))
			}
			sum := sums[0]
			if !sum.DetectedAt.Equal(want) {
				t.Errorf("summary detected_at %v, want %v: the detection of its last repeat (the clock is at %v)", sum.DetectedAt, want, clock.Now())
			}
			if sum.RepeatCount != 2 || !sum.FirstSeen.Equal(reps[0].Timestamp) || !sum.LastSeen.Equal(reps[2].Timestamp) {
				t.Errorf("summary repeat_count %d first_seen %v last_seen %v, want 2, %v, %v", sum.RepeatCount, sum.FirstSeen, sum.LastSeen, reps[0].Timestamp, reps[2].Timestamp)
			}
		})
	}
}
