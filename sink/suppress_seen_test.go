package sink_test

import (
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// A summary's first_seen and last_seen are the earliest and latest event
// Timestamp among its first alert and the repeats that have one. An alert
// without a Timestamp (the zero time, which is before every time) says
// nothing about when the activity happened: it takes no part in them, so
// it neither wipes out first_seen nor stands for it when the first alert
// had none. Only a window where no alert had a Timestamp has neither.
func TestSuppressorSummarySeenLeavesOutAlertsWithoutATimestamp(t *testing.T) {
	t0 := time.Date(2026, 11, 26, 9, 13, 58, 120_000_000, time.UTC)
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	var none time.Time
	for _, tc := range []struct {
		name                string
		first               time.Time
		repeats             []time.Time
		firstSeen, lastSeen time.Time // the summary's
	}{
		{"repeats in order", t0, []time.Time{at(time.Second), at(5 * time.Second)}, t0, at(5 * time.Second)},
		{"a repeat before the first alert", t0, []time.Time{at(-3 * time.Second), at(4 * time.Second)}, at(-3 * time.Second), at(4 * time.Second)},
		{"a repeat without a timestamp", t0, []time.Time{none, at(5 * time.Second)}, t0, at(5 * time.Second)},
		{"a repeat without a timestamp last", t0, []time.Time{at(5 * time.Second), none}, t0, at(5 * time.Second)},
		{"repeats without a timestamp only", t0, []time.Time{none, none}, t0, t0},
		{"a first alert without a timestamp", none, []time.Time{at(5 * time.Second), at(2 * time.Second)}, at(2 * time.Second), at(5 * time.Second)},
		{"a first alert and a repeat without a timestamp", none, []time.Time{none, at(7 * time.Second)}, at(7 * time.Second), at(7 * time.Second)},
		{"no timestamp at all", none, []time.Time{none, none}, none, none},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, r, clock := newSuppressor(t, sink.SuppressOptions{Window: 10 * time.Minute, Summaries: true})
			base := sinktest.Alerts(1, 2)[0]
			base.RepeatCount, base.FirstSeen, base.LastSeen = 0, time.Time{}, time.Time{}
			alerts := repeatsOf(base, 1+len(tc.repeats))
			for i, ts := range append([]time.Time{tc.first}, tc.repeats...) {
				a := &alerts[i]
				a.Timestamp = ts
				a.AlertID = sink.NewAlertID(a.DeviceID, a.DeviceName, a.ReportID, a.Timestamp, a.Indicator.Kind, a.Indicator.Value)
			}
			write(t, s, alerts[0])
			clock.Advance(time.Minute)
			write(t, s, alerts[1:]...)
			clock.Advance(10 * time.Minute)
			sink.SuppressorSweep(s)
			got := r.Alerts()
			if len(got) != 2 || got[1].RepeatCount != len(tc.repeats) {
				t.Fatalf("%d alerts delivered, want the first and a summary of %d repeats", len(got), len(tc.repeats))
			}
			sum := got[1]
			if !sum.FirstSeen.Equal(tc.firstSeen) || !sum.LastSeen.Equal(tc.lastSeen) {
				t.Errorf("summary first_seen %v last_seen %v, want %v, %v", sum.FirstSeen, sum.LastSeen, tc.firstSeen, tc.lastSeen)
			}
			if !sum.Timestamp.Equal(tc.first) {
				t.Errorf("summary timestamp %v, want the first alert's, %v", sum.Timestamp, tc.first)
			}
		})
	}
}
