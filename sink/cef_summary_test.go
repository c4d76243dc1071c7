package sink_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// The formats agree on the span of activity an alert reports. An alert's
// is its event timestamp. A suppression summary's starts at first_seen
// and ends at last_seen; where one is missing, it is the timestamp it
// carries (its first alert's), as OCSF's start_time and end_time have
// it, and HEC's time is the end of the span (detected_at when there is
// none). CEF writes start, and for a summary end, from the same span, so
// that a SIEM rule keyed on CEF's start finds a summary that knows an
// event time where the other formats put it.
//
// The suppressor makes summaries whose first_seen, last_seen and
// timestamp are all set; whose first alert had no timestamp (first_seen
// and last_seen only); or, when no alert of the window had a timestamp,
// with none of them (TestSuppressorSummarySeenLeavesOutAlertsWithoutATimestamp):
// such a summary knows no event time, and no format invents one (HEC's
// time, which Splunk needs, is its detection). The other cases are
// summaries a program builds with the Go API.
func TestAlertSpanAgreesAcrossFormats(t *testing.T) {
	ts := time.Date(2026, 11, 26, 9, 13, 58, 120_000_000, time.UTC)
	det := ts.Add(10 * time.Minute)
	first, last := ts.Add(-7*time.Second), ts.Add(9*time.Minute+43*time.Second)
	var none time.Time
	for _, tc := range []struct {
		name                string
		repeats             int
		timestamp           time.Time
		firstSeen, lastSeen time.Time
		start, end          time.Time // the span; zero: left out
	}{
		{"an alert", 0, ts, none, none, ts, ts},
		{"an alert without a timestamp", 0, none, none, none, none, none},
		{"a summary", 117, ts, first, last, first, last},
		{"a summary whose first alert had no timestamp", 3, none, first, last, first, last},
		{"a summary without any event time (the suppressor's only other kind)", 2, none, none, none, none, none},
		{"a summary with a timestamp only", 2, ts, none, none, ts, ts},
		{"a summary without first_seen", 2, ts, none, last, ts, last},
		{"a summary without last_seen", 2, ts, first, none, first, ts},
		{"a summary with last_seen only", 2, none, none, last, none, last},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := sinktest.Alerts(1, 9)[0]
			a.Timestamp, a.DetectedAt = tc.timestamp, det
			a.RepeatCount, a.FirstSeen, a.LastSeen = tc.repeats, tc.firstSeen, tc.lastSeen

			line := sink.AppendCEF(nil, &a, "1.2.3")
			wantEnd := tc.end
			if tc.repeats == 0 {
				wantEnd = none // CEF's end is a summary's only
			}
			if got := cefMillis(t, line, "start"); got != millisOrNone(tc.start) {
				t.Errorf("CEF start %s, want %s\n%s", got, millisOrNone(tc.start), line)
			}
			if got := cefMillis(t, line, "end"); got != millisOrNone(wantEnd) {
				t.Errorf("CEF end %s, want %s\n%s", got, millisOrNone(wantEnd), line)
			}

			o, err := sink.EncodeJSON(nil, &a, sink.FormatOCSF)
			if err != nil {
				t.Fatal(err)
			}
			var span struct {
				Start *int64 `json:"start_time"`
				End   *int64 `json:"end_time"`
			}
			if err := json.Unmarshal(o, &span); err != nil {
				t.Fatal(err)
			}
			if got := ptrMillis(span.Start); got != millisOrNone(tc.start) {
				t.Errorf("OCSF start_time %s, want %s", got, millisOrNone(tc.start))
			}
			if got := ptrMillis(span.End); got != millisOrNone(tc.end) {
				t.Errorf("OCSF end_time %s, want %s", got, millisOrNone(tc.end))
			}

			h, err := sink.NewHEC(sink.HECOptions{URL: "https://splunk.example:8088", Token: "t"})
			if err != nil {
				t.Fatal(err)
			}
			ev, err := h.AppendHECEvent(nil, &a)
			if err != nil {
				t.Fatal(err)
			}
			var env struct {
				Time json.Number `json:"time"`
			}
			dec := json.NewDecoder(bytes.NewReader(ev))
			dec.UseNumber()
			if err := dec.Decode(&env); err != nil {
				t.Fatalf("%s: %v", ev, err)
			}
			wantHEC := tc.end
			if wantHEC.IsZero() {
				wantHEC = det
			}
			if got, want := string(env.Time), strconv.FormatFloat(float64(wantHEC.UnixMilli())/1000, 'f', 3, 64); got != want {
				t.Errorf("HEC time %s, want %s (the end of the span, else the detection)", got, want)
			}
		})
	}
}

// cefMillis returns the value of the extension key k of a CEF line, or
// "none".
func cefMillis(t *testing.T, line []byte, k string) string {
	t.Helper()
	m := regexp.MustCompile(`[| ]` + k + `=([0-9-]+)(?: |$)`).FindSubmatch(line)
	if m == nil {
		return "none"
	}
	return string(m[1])
}

func millisOrNone(t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return strconv.FormatInt(t.UnixMilli(), 10)
}

func ptrMillis(p *int64) string {
	if p == nil {
		return "none"
	}
	return strconv.FormatInt(*p, 10)
}
