package history

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/iocwatch/iocwatch/internal/jsonstr"
	"github.com/iocwatch/iocwatch/stream"
)

// Window bounds event times: Since ≤ t < Until. A zero bound is open; the
// zero Window admits every time, the zero time included. Plain data.
type Window struct {
	Since, Until time.Time
}

// Open reports whether the window has no bound.
func (w Window) Open() bool { return w.Since.IsZero() && w.Until.IsZero() }

// Contains reports whether t is inside the window. With a bound, the zero
// time (an event without a Timestamp) is outside.
func (w Window) Contains(t time.Time) bool {
	if w.Open() {
		return true
	}
	if t.IsZero() {
		return false
	}
	return (w.Since.IsZero() || !t.Before(w.Since)) && (w.Until.IsZero() || t.Before(w.Until))
}

// ParseBound parses a --since or --until value: a duration back from now
// ("90m", "24h", "7d", "1d12h"; a unit is required) or a time — RFC 3339
// ("2026-11-27T09:50:00Z", an offset or fractional seconds allowed), or a
// date ("2026-11-27", midnight UTC). "" gives the zero time. Errors quote
// the value and say what is accepted.
func ParseBound(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t.UTC(), nil
	}
	if d, ok := parseAgo(s); ok {
		return now.Add(-d).UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%q: want a duration back from now (90m, 24h, 7d) or a time (2026-11-27T09:50:00Z, 2026-11-27)", s)
}

// parseAgo parses a non-negative duration with an optional leading day
// count ("7d", "1d12h").
func parseAgo(s string) (time.Duration, bool) {
	var days int64
	if i := strings.IndexByte(s, 'd'); i > 0 {
		n, err := strconv.ParseInt(s[:i], 10, 32)
		if err != nil || n < 0 || n > 100_000 {
			return 0, false
		}
		days, s = n, s[i+1:]
	}
	var d time.Duration
	if s != "" {
		var err error
		if d, err = time.ParseDuration(s); err != nil || d < 0 || strings.HasPrefix(s, "+") {
			return 0, false
		}
		if strings.Trim(s, "0.") == "" {
			return 0, false // a bare number: no unit
		}
	}
	if d > time.Duration(1<<62)-time.Duration(days)*24*time.Hour {
		return 0, false
	}
	return d + time.Duration(days)*24*time.Hour, true
}

// ParseWindow parses a --since/--until pair (see ParseBound); Since must
// come before Until.
func ParseWindow(since, until string, now time.Time) (Window, error) {
	var w Window
	var err error
	if w.Since, err = ParseBound(since, now); err != nil {
		return Window{}, fmt.Errorf("--since %w", err)
	}
	if w.Until, err = ParseBound(until, now); err != nil {
		return Window{}, fmt.Errorf("--until %w", err)
	}
	if !w.Since.IsZero() && !w.Until.IsZero() && !w.Since.Before(w.Until) {
		return Window{}, fmt.Errorf("--since %s is not before --until %s", w.Since.Format(time.RFC3339), w.Until.Format(time.RFC3339))
	}
	return w, nil
}

// WindowStats counts what a WindowSource did. Safe to read at any time.
type WindowStats struct {
	Kept     atomic.Int64 // events inside the window, passed on
	Filtered atomic.Int64 // events outside it, left out
	// Undated are events without a Timestamp: they cannot be placed, so
	// they are passed on (a hunt must not miss them) and counted here.
	Undated atomic.Int64
	// Rewritten are messages holding events on both sides, replaced by
	// their events inside the window re-encoded as bare records.
	Rewritten atomic.Int64
}

// WindowSource passes on, from another Source, only the events whose
// Timestamp is inside a Window (for `replay --since/--until`), and those
// without a Timestamp (counted apart: they cannot be placed). Get one from
// NewWindowSource; the zero value is not usable. Read is called from one
// goroutine, like any Source; Stats is safe for concurrent use.
//
// Each message is decoded once to see its events' times. A message whose
// events are all inside passes unchanged, one whose events are all outside
// is left out (its batch is still acknowledged), and one with events on both
// sides is replaced by a JSON array of its inside events re-encoded as bare
// Defender records holding the columns iocwatch reads. A message that fails
// to decode, in whole or in part, or that the source could not frame, passes
// unchanged, so that the pipeline dead-letters it as usual.
type WindowSource struct {
	src   stream.Source
	w     Window
	dec   stream.Decoder
	evs   []stream.Event
	stats WindowStats
}

// keeps reports whether an event at t is passed on: inside the window, or
// without a time.
func (s *WindowSource) keeps(t time.Time) bool { return t.IsZero() || s.w.Contains(t) }

// NewWindowSource returns src filtered to w.
func NewWindowSource(src stream.Source, w Window) *WindowSource {
	return &WindowSource{src: src, w: w}
}

// Stats returns the live counters.
func (s *WindowSource) Stats() *WindowStats { return &s.stats }

// Read returns the next batch of src, filtered.
func (s *WindowSource) Read(ctx context.Context) (stream.Batch, error) {
	b, err := s.src.Read(ctx)
	if err != nil || s.w.Open() {
		return b, err
	}
	kept := b.Messages[:0]
	for _, m := range b.Messages {
		if v, keep := s.filter(m); keep {
			m.Value = v
			kept = append(kept, m)
		}
	}
	clear(b.Messages[len(kept):])
	b.Messages = kept
	s.dec.Reset()
	return b, nil
}

// filter decides one message: its (possibly rewritten) value, and whether
// to keep it.
func (s *WindowSource) filter(m stream.Message) ([]byte, bool) {
	if m.Err != nil {
		return m.Value, true
	}
	var errs []stream.RecordError
	s.evs, errs = s.dec.Decode(m.Value, s.evs[:0])
	if len(errs) > 0 {
		return m.Value, true
	}
	in, undated := 0, 0
	for i := range s.evs {
		switch t := s.evs[i].Timestamp; {
		case t.IsZero():
			undated++
		case s.w.Contains(t):
			in++
		}
	}
	s.stats.Kept.Add(int64(in))
	s.stats.Undated.Add(int64(undated))
	s.stats.Filtered.Add(int64(len(s.evs) - in - undated))
	in += undated
	switch {
	case in == len(s.evs):
		// Records of other tables ride along: the pipeline counts and
		// skips them.
		return m.Value, true
	case in == 0:
		return nil, false
	}
	s.stats.Rewritten.Add(1)
	out := make([]byte, 0, len(m.Value))
	out = append(out, '[')
	n := 0
	for i := range s.evs {
		if !s.keeps(s.evs[i].Timestamp) {
			continue
		}
		if n > 0 {
			out = append(out, ',')
		}
		out = AppendRecord(out, &s.evs[i])
		n++
	}
	return append(out, ']'), true
}

// Close closes src.
func (s *WindowSource) Close(ctx context.Context) error { return s.src.Close(ctx) }

// AppendRecord appends e as a bare Defender record — category, and the
// columns under "properties" — that stream.Decoder decodes back to e (the
// RemoteUrl an inspected event carried in AdditionalFields becomes its
// RemoteUrl). Absent values are left out. Strings are escaped as JSON
// requires; their bytes, valid UTF-8 or not, are otherwise kept as they are.
func AppendRecord(b []byte, e *stream.Event) []byte {
	b = append(b, `{"category":"AdvancedHunting-`...)
	b = append(b, e.Table.String()...)
	b = append(b, `","properties":{`...)
	first := true
	key := func(k string) {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, '"')
		b = append(b, k...)
		b = append(b, `":`...)
	}
	str := func(k, v string) {
		if v != "" {
			key(k)
			b = jsonstr.Append(b, v)
		}
	}
	if !e.Timestamp.IsZero() {
		key("Timestamp")
		b = append(b, '"')
		b = e.Timestamp.UTC().AppendFormat(b, time.RFC3339Nano)
		b = append(b, '"')
	}
	str("TenantId", e.TenantID)
	str("DeviceId", e.DeviceID)
	str("DeviceName", e.DeviceName)
	str("ActionType", e.ActionType)
	str("MachineGroup", e.MachineGroup)
	if e.ReportID != 0 {
		key("ReportId")
		b = strconv.AppendInt(b, e.ReportID, 10)
	}
	if e.RemoteIP.IsValid() {
		str("RemoteIP", e.RemoteIP.String())
	}
	if e.RemotePort != 0 {
		key("RemotePort")
		b = strconv.AppendUint(b, uint64(e.RemotePort), 10)
	}
	str("RemoteUrl", e.RemoteURL)
	if e.LocalIP.IsValid() {
		str("LocalIP", e.LocalIP.String())
	}
	if e.LocalPort != 0 {
		key("LocalPort")
		b = strconv.AppendUint(b, uint64(e.LocalPort), 10)
	}
	str("Protocol", e.Protocol)
	str("InitiatingProcessFileName", e.ProcessFileName)
	str("InitiatingProcessFolderPath", e.ProcessFolderPath)
	str("InitiatingProcessCommandLine", e.ProcessCommandLine)
	str("InitiatingProcessSHA256", e.ProcessSHA256)
	str("InitiatingProcessAccountName", e.AccountName)
	str("InitiatingProcessAccountDomain", e.AccountDomain)
	str("FileName", e.FileName)
	return append(b, "}}"...)
}
