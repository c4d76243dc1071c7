package sink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// A HEC event's "time" is Splunk's _time: when the activity happened. A
// suppression summary stands for the repeats of one alert over a window,
// first_seen to last_seen, and is sent when the window closes; stamped
// with the first alert's timestamp (the copy's), it would sit at the
// first alert's _time — before the repeats it counts, often outside the
// time range of the search that should see it — and out-of-order repeats
// (first_seen before timestamp) would put it nowhere in particular. Its
// time is last_seen: the latest activity it reports, as its detected_at
// is the latest detection. Other alerts keep their timestamp (detected_at
// when it is missing); a summary without last_seen falls back the same way.
func TestHECSummaryTimeIsItsLastSeen(t *testing.T) {
	ts := time.Date(2026, 11, 26, 9, 13, 58, 120_000_000, time.UTC)
	det := ts.Add(2 * time.Second)
	last := ts.Add(9*time.Minute + 43*time.Second + 879*time.Millisecond)
	for _, tc := range []struct {
		name                      string
		timestamp, detected       time.Time
		repeats                   int
		firstSeen, lastSeen, want time.Time
	}{
		{"an alert: its timestamp", ts, det, 0, time.Time{}, time.Time{}, ts},
		{"an alert without a timestamp: its detection", time.Time{}, det, 0, time.Time{}, time.Time{}, det},
		{"a summary: its last_seen", ts, last.Add(time.Second), 117, ts, last, last},
		{"a summary whose first alert had no timestamp: its last_seen", time.Time{}, last.Add(time.Second), 3, time.Time{}, last, last},
		{"a summary whose repeats came out of order: its last_seen", ts, last, 5, ts.Add(-30 * time.Second), last, last},
		{"a summary without last_seen: its timestamp", ts, det, 2, time.Time{}, time.Time{}, ts},
		{"a summary with neither: its detection", time.Time{}, det, 2, time.Time{}, time.Time{}, det},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var body []byte
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body, _ = io.ReadAll(r.Body)
				hecAnswer(w, 200, `{"text":"Success","code":0}`)
			}))
			defer srv.Close()
			h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL, Token: "t"})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close(context.Background())
			a := sinktest.Alerts(1, 7)[0]
			a.Timestamp, a.DetectedAt = tc.timestamp, tc.detected
			a.RepeatCount, a.FirstSeen, a.LastSeen = tc.repeats, tc.firstSeen, tc.lastSeen
			if err := h.Write(context.Background(), []sink.Alert{a}); err != nil {
				t.Fatal(err)
			}
			var env struct {
				Time json.Number `json:"time"`
			}
			dec := json.NewDecoder(bytes.NewReader(body))
			dec.UseNumber()
			if err := dec.Decode(&env); err != nil {
				t.Fatalf("%s: %v", body, err)
			}
			if err := dec.Decode(&env); !errors.Is(err, io.EOF) {
				t.Fatalf("%s: want one event", body)
			}
			want := tc.want.UnixMilli()
			if got, err := env.Time.Float64(); err != nil || int64(got*1000+0.5) != want {
				t.Errorf("time %s, want %d.%03d", env.Time, want/1000, want%1000)
			}
		})
	}
}
