package match

import (
	"net/netip"
	"slices"
	"testing"
	"time"
)

// A rule says "until D this traffic is benign": judged at the event's time
// (AtEventTime, for a replay or a retro-hunt), a rule expired since still
// applies to the events from before its expiry, and a rule in force now
// does not to those after it. The event's time is never taken later than
// now, and an event without one is judged at now.
func TestExclusionsAtEventTimeJudgeExpiryAtTheEventsTime(t *testing.T) {
	expiry := t0.Add(-24 * time.Hour) // expired yesterday
	x, err := CompileExclusions([]RuleSpec{
		{Name: "until-yesterday", Reason: "r", Expires: expiry, When: map[string][]string{"account": {"system"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	now := t0
	tests := []struct {
		name      string
		eventTime time.Time
		want      bool // excluded
	}{
		{"an event of last month, before the expiry, is excluded", expiry.AddDate(0, -1, 0), true},
		{"an event a second before the expiry is excluded", expiry.Add(-time.Second), true},
		{"an event at the expiry instant is not", expiry, false},
		{"an event after the expiry is not", expiry.Add(time.Hour), false},
		{"an event without a time is judged at now: the rule has expired", time.Time{}, false},
		{"an event stamped in the future is judged at now", now.Add(48 * time.Hour), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := svchostSubject()
			s.Time = tt.eventTime
			if got := x.AtEventTime().Match(&s, Hit{}, now) != nil; got != tt.want {
				t.Errorf("AtEventTime: excluded = %v, want %v", got, tt.want)
			}
			// Without AtEventTime (the live path) the rule is judged at
			// now, whatever the event says.
			if x.Match(&s, Hit{}, now) != nil {
				t.Error("Match at now applied a rule expired at now")
			}
		})
	}
	// A rule in force now, expiring tomorrow, does not apply to an event
	// stamped the day after tomorrow only if that time is not later than
	// now: a clock ahead of the real one cannot expire it early.
	y, err := CompileExclusions([]RuleSpec{
		{Name: "until-tomorrow", Reason: "r", Expires: now.Add(24 * time.Hour), When: map[string][]string{"account": {"system"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := svchostSubject()
	s.Time = now.Add(48 * time.Hour)
	if y.AtEventTime().Match(&s, Hit{}, now) == nil {
		t.Error("a rule in force now did not apply to an event stamped after its expiry by a clock ahead of now")
	}
	// MatchRange judges as Match does.
	s.Time = expiry.Add(-time.Hour)
	if sh := x.AtEventTime().MatchRange(&s, netip.MustParsePrefix("192.0.2.0/24"), Hit{}, t0); len(sh) != 1 || sh[0].Rule == nil {
		t.Errorf("MatchRange at the event's time = %+v, want the whole range excluded", sh)
	}
	var nilX *Exclusions
	if nilX.AtEventTime() != nil {
		t.Error("AtEventTime of nil is not nil")
	}
}

// Warnings of rules judged at the event's time say what an expired rule
// still does: apply to the events before its expiry.
func TestExclusionWarningsAtEventTimeSayAnExpiredRuleAppliesBeforeItsExpiry(t *testing.T) {
	x, err := CompileExclusions([]RuleSpec{
		{Name: "old", Reason: "r", Expires: t0.Add(-24 * time.Hour), When: map[string][]string{"account": {"x"}}, Origin: "w.yaml:1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := x.Warnings(t0), []string{`w.yaml:1: rule "old": expired on 2026-11-25T09:00:00Z: the live stream no longer applies it; replay and the retro-hunt still apply it to events from before then`}; !slices.Equal(got, want) {
		t.Errorf("Warnings = %q, want %q", got, want)
	}
	if got, want := x.AtEventTime().Warnings(t0), []string{`w.yaml:1: rule "old": expired on 2026-11-25T09:00:00Z: applies only to events before then`}; !slices.Equal(got, want) {
		t.Errorf("AtEventTime().Warnings = %q, want %q", got, want)
	}
}

// DomainAccounts names the account values written DOMAIN\name: they never
// match where the account domain is unknown (the retro-hunt history).
func TestRuleDomainAccounts(t *testing.T) {
	tests := []struct {
		accounts []string
		want     []string
	}{
		{[]string{`CORP\svc-backup`}, []string{`CORP\svc-backup`}},
		{[]string{"system", `NT AUTHORITY\SYSTEM`, `corp\svc`}, []string{`NT AUTHORITY\SYSTEM`, `corp\svc`}},
		{[]string{"system"}, nil},
		{nil, nil}, // no account condition
	}
	for _, tt := range tests {
		when := map[string][]string{"remote_port": {"443"}}
		if tt.accounts != nil {
			when["account"] = tt.accounts
		}
		r := compileOne(t, when).Rules()[0]
		if got := r.DomainAccounts(); !slices.Equal(got, tt.want) {
			t.Errorf("accounts %q: DomainAccounts = %q, want %q", tt.accounts, got, tt.want)
		}
	}
}
