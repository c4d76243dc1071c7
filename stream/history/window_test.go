package history

import (
	"context"
	"io"
	"net/netip"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/stream"
)

func TestParseBound(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 5, 0, 0, time.UTC)
	for _, tc := range []struct {
		name, in string
		want     time.Time
		err      string
	}{
		{name: "empty is open", in: ""},
		{name: "hours back from now", in: "24h", want: now.Add(-24 * time.Hour)},
		{name: "minutes back from now", in: "90m", want: now.Add(-90 * time.Minute)},
		{name: "days back from now", in: "7d", want: now.Add(-7 * 24 * time.Hour)},
		{name: "days and hours", in: "1d12h", want: now.Add(-36 * time.Hour)},
		{name: "RFC 3339 in UTC", in: "2026-11-27T09:50:00Z", want: time.Date(2026, 11, 27, 9, 50, 0, 0, time.UTC)},
		{name: "RFC 3339 with an offset is converted to UTC", in: "2026-11-27T10:50:00+01:00", want: time.Date(2026, 11, 27, 9, 50, 0, 0, time.UTC)},
		{name: "fractional seconds", in: "2026-11-27T09:50:00.1234567Z", want: time.Date(2026, 11, 27, 9, 50, 0, 123456700, time.UTC)},
		{name: "a date is midnight UTC", in: "2026-11-26", want: time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)},
		{name: "surrounding space is ignored", in: " 1h ", want: now.Add(-time.Hour)},
		{name: "a bare number has no unit", in: "24", err: `"24": want a duration`},
		{name: "a negative duration is refused", in: "-1h", err: "want a duration"},
		{name: "garbage is refused", in: "yesterday", err: `"yesterday"`},
		{name: "a date without a day is refused", in: "2026-11", err: "want a duration"},
		{name: "d without a number is refused", in: "d", err: "want a duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseBound(tc.in, now)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("got %v, %v; want error containing %q", got, err, tc.err)
				}
				return
			}
			if err != nil || !got.Equal(tc.want) {
				t.Fatalf("got %v, %v; want %v", got, err, tc.want)
			}
		})
	}
}

func TestParseWindowWantsSinceBeforeUntil(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 5, 0, 0, time.UTC)
	if _, err := ParseWindow("1h", "2h", now); err == nil || !strings.Contains(err.Error(), "is not before --until") {
		t.Fatalf("got %v", err)
	}
	if _, err := ParseWindow("x", "", now); err == nil || !strings.HasPrefix(err.Error(), "--since ") {
		t.Fatalf("got %v", err)
	}
	w, err := ParseWindow("2h", "1h", now)
	if err != nil || !w.Contains(now.Add(-90*time.Minute)) || w.Contains(now.Add(-30*time.Minute)) || w.Contains(time.Time{}) {
		t.Fatalf("%+v %v", w, err)
	}
	if !(Window{}).Contains(time.Time{}) {
		t.Fatal("the open window must admit an event without a time")
	}
}

// sliceSource yields fixed batches.
type sliceSource struct {
	batches []stream.Batch
}

func (s *sliceSource) Read(ctx context.Context) (stream.Batch, error) {
	if len(s.batches) == 0 {
		return stream.Batch{}, io.EOF
	}
	b := s.batches[0]
	s.batches = s.batches[1:]
	return b, nil
}

func (s *sliceSource) Close(context.Context) error { return nil }

func TestAWindowSourcePassesOnlyTheEventsInsideTheWindow(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	rec := func(min int, report int) string {
		e := netEvent(1, "a.exe", "192.0.2.1", "", t0.Add(time.Duration(min)*time.Minute), int64(report))
		return string(AppendRecord(nil, &e))
	}
	envelope := func(recs ...string) string { return `{"records":[` + strings.Join(recs, ",") + `]}` }
	other := `{"category":"AdvancedHunting-DeviceProcessEvents","properties":{"Timestamp":"2026-11-27T09:00:00Z"}}`
	msgs := []stream.Message{
		{Value: []byte(envelope(rec(10, 1), rec(20, 2)))},            // all inside: unchanged
		{Value: []byte(envelope(rec(1, 3), rec(2, 4)))},              // all before: dropped
		{Value: []byte(envelope(rec(5, 5), rec(15, 6), rec(45, 7)))}, // mixed: rewritten to 6
		{Value: []byte(`{"records":[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"Timestamp":"2026-11-27T09:01:00Z"}},{"broken`)}, // broken: passed on
		{Value: []byte(other)}, // another table: passed on for the pipeline to count
		{Value: []byte(rec(50, 8))},
	}
	b := stream.Batch{Messages: append([]stream.Message(nil), msgs...)}
	src := NewWindowSource(&sliceSource{batches: []stream.Batch{b}}, Window{Since: t0.Add(10 * time.Minute), Until: t0.Add(30 * time.Minute)})
	got, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 4 {
		t.Fatalf("got %d messages, want 4", len(got.Messages))
	}
	if string(got.Messages[0].Value) != string(msgs[0].Value) || string(got.Messages[2].Value) != string(msgs[3].Value) ||
		string(got.Messages[3].Value) != other {
		t.Fatalf("messages passed on must be unchanged")
	}
	var dec stream.Decoder
	evs, errs := dec.Decode(got.Messages[1].Value, nil)
	if len(errs) != 0 || len(evs) != 1 || evs[0].ReportID != 6 {
		t.Fatalf("rewritten message %s: %+v %v", got.Messages[1].Value, evs, errs)
	}
	st := src.Stats()
	if st.Kept.Load() != 3 || st.Filtered.Load() != 5 || st.Rewritten.Load() != 1 {
		t.Fatalf("kept %d filtered %d rewritten %d", st.Kept.Load(), st.Filtered.Load(), st.Rewritten.Load())
	}
	if _, err := src.Read(context.Background()); err != io.EOF {
		t.Fatalf("got %v at the end", err)
	}
}

func TestAppendRecordDecodesBackToTheSameEvent(t *testing.T) {
	at := time.Date(2026, 11, 27, 9, 13, 58, 120000000, time.UTC)
	full := netEvent(1, "rundll32.exe", "2a02:cf40::1", `https://x.example/a?b="c"\d`, at, 18984951960)
	full.LocalIP, full.LocalPort, full.Protocol = netip.MustParseAddr("10.20.3.14"), 51544, "Tcp"
	full.AccountDomain, full.FileName = "corp", ""
	dev := netEvent(2, "chrome.exe", "", "münchen.example", at, 1)
	dev.Table, dev.FileName, dev.ProcessCommandLine = stream.TableDeviceEvents, "invoice.pdf.exe", "a\tb\x01c"
	odd := stream.Event{Table: stream.TableDeviceNetworkEvents, RemoteURL: "zoë\xff\x7f", ReportID: -5, Timestamp: at}
	for _, e := range []stream.Event{full, dev, odd} {
		var dec stream.Decoder
		rec := AppendRecord(nil, &e)
		evs, errs := dec.Decode(rec, nil)
		if len(errs) != 0 || len(evs) != 1 {
			t.Fatalf("%s: %v", rec, errs)
		}
		if !reflect.DeepEqual(evs[0], e) {
			t.Fatalf("round trip of %s\n got %+v\nwant %+v", rec, evs[0], e)
		}
	}
}

// An event without a Timestamp cannot be placed in the window: it is kept
// (a hunt must not miss it) and counted apart, alone or beside events
// that are left out.
func TestAWindowSourceKeepsEventsWithoutATimeAndCountsThem(t *testing.T) {
	t0 := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	undated := netEvent(1, "a.exe", "192.0.2.1", "", time.Time{}, 1)
	before := netEvent(1, "a.exe", "192.0.2.1", "", t0.Add(-time.Hour), 2)
	rec := func(e stream.Event) string { return string(AppendRecord(nil, &e)) }
	msgs := []stream.Message{
		{Value: []byte(rec(undated))},
		{Value: []byte(`{"records":[` + rec(before) + "," + rec(undated) + `]}`)},
	}
	src := NewWindowSource(&sliceSource{batches: []stream.Batch{{Messages: msgs}}}, Window{Since: t0})
	got, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Messages) != 2 {
		t.Fatalf("got %d messages, want both", len(got.Messages))
	}
	var dec stream.Decoder
	evs, errs := dec.Decode(got.Messages[1].Value, nil)
	if len(errs) != 0 || len(evs) != 1 || evs[0].ReportID != 1 {
		t.Fatalf("rewritten message %s: %+v %v", got.Messages[1].Value, evs, errs)
	}
	st := src.Stats()
	if st.Kept.Load() != 0 || st.Undated.Load() != 2 || st.Filtered.Load() != 1 {
		t.Errorf("kept %d undated %d filtered %d, want 0, 2, 1", st.Kept.Load(), st.Undated.Load(), st.Filtered.Load())
	}
}
