package match

import (
	"slices"
	"testing"
	"time"
)

// Judged at the event's time, an expired rule still applies to the events
// before its expiry, to the instant: the warning that says so names the
// instant when the expiry is not the start of a day (an RFC 3339 time),
// not only its date — the events of that day before it are excluded.
func TestAtEventTimeWarningNamesTheExpiryInstant(t *testing.T) {
	tests := []struct {
		name    string
		expires time.Time
		want    string
	}{
		{"a date", time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC),
			`w.yaml:1: rule "old": expired on 2026-11-25: applies only to events before then`},
		{"a time of day", time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC),
			`w.yaml:1: rule "old": expired on 2026-11-25T18:00:00Z: applies only to events before then`},
		{"a time with an offset, shown in UTC", time.Date(2026, 11, 25, 1, 30, 0, 0, time.FixedZone("", 2*3600)),
			`w.yaml:1: rule "old": expired on 2026-11-24T23:30:00Z: applies only to events before then`},
		{"the start of a day elsewhere is a time in UTC", time.Date(2026, 11, 25, 0, 0, 0, 0, time.FixedZone("", 2*3600)),
			`w.yaml:1: rule "old": expired on 2026-11-24T22:00:00Z: applies only to events before then`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := compileExpiring(t, "old", tt.expires)
			if got := x.AtEventTime().Warnings(t0); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("AtEventTime().Warnings = %q, want %q", got, []string{tt.want})
			}
		})
	}
}

// The warning of a rule about to expire names its expiry as the expired
// warnings do: the UTC instant, or the date alone when it is the start of
// a day in UTC. A date alone would read as the start of that day (how the
// rule file reads one), hours off for a time-of-day expiry.
func TestExpiringRuleWarningNamesTheExpiryInstantInUTC(t *testing.T) {
	tests := []struct {
		name    string
		expires time.Time
		want    string
	}{
		{"a date", time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC), `expires on 2026-11-29, in 2 days`},
		{"a time of day", time.Date(2026, 11, 29, 18, 0, 0, 0, time.UTC), `expires on 2026-11-29T18:00:00Z, in 3 days`},
		{"a time with an offset, shown in UTC", time.Date(2026, 11, 27, 1, 0, 0, 0, time.FixedZone("", 2*3600)),
			`expires on 2026-11-26T23:00:00Z, in less than a day`},
		{"the start of a day elsewhere is a time in UTC", time.Date(2026, 11, 28, 0, 0, 0, 0, time.FixedZone("", 2*3600)),
			`expires on 2026-11-27T22:00:00Z, in 1 day`},
		{"the start of a UTC day written with an offset is a date", time.Date(2026, 11, 30, 2, 0, 0, 0, time.FixedZone("", 2*3600)),
			`expires on 2026-11-30, in 3 days`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := compileExpiring(t, "soon", tt.expires)
			want := []string{`w.yaml:1: rule "soon": ` + tt.want}
			for _, x := range []*Exclusions{x, x.AtEventTime()} {
				if got := x.Warnings(t0); !slices.Equal(got, want) {
					t.Errorf("Warnings = %q, want %q", got, want)
				}
			}
		})
	}
}

// compileExpiring compiles one rule, name, of origin w.yaml:1 that
// expires at expires.
func compileExpiring(t *testing.T, name string, expires time.Time) *Exclusions {
	t.Helper()
	x, err := CompileExclusions([]RuleSpec{
		{Name: name, Reason: "r", Expires: expires, When: map[string][]string{"account": {"x"}}, Origin: "w.yaml:1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return x
}
