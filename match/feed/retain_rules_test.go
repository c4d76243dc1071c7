package feed

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/match"
)

// A value a TTL feed no longer lists is kept from one run to the next
// through the cache directory. The run after a restart may be configured
// otherwise — a stricter junk guard, a shorter ttl — or be a newer
// iocwatch: a kept value is held to the rules of the run that keeps it,
// as the feed's freshly loaded values are, not to those it was loaded
// under. One the guard refuses now is dropped and reported with the
// feed's refused entries; one whose ttl is shorter expires ttl after it
// was last listed.
func TestKeptValuesAreHeldToTheRulesOfTheRunThatKeepsThem(t *testing.T) {
	type check struct {
		value string
		at    time.Duration // after t0
		want  bool
	}
	tests := []struct {
		name        string
		first, then func(*Spec) // the feed's configuration before and after the restart
		after       string      // the feed's content after the restart
		checks      []check
		added       string // the restart's Update.Added
		retained    int
		refused     []string
	}{
		{name: "a guard that refuses the kept value now",
			first:   func(s *Spec) { s.Load.Guard.AllowPrivate = true },
			then:    func(s *Spec) {},
			after:   "203.0.113.1\n",
			checks:  []check{{"10.1.2.3", 20 * time.Minute, false}, {"203.0.113.1", 20 * time.Minute, true}},
			added:   "ip 203.0.113.1",
			refused: []string{`recent.txt:1: "10.1.2.3": private range refused (a value the feed no longer lists, kept by its ttl)`}},
		{name: "a guard that refuses the kept value now, which the feed lists again",
			first:  func(s *Spec) { s.Load.Guard.AllowPrivate = true },
			then:   func(s *Spec) {},
			after:  "10.1.2.3\n203.0.113.1\n",
			checks: []check{{"10.1.2.3", 20 * time.Minute, false}},
			added:  "ip 203.0.113.1",
			refused: []string{`recent.txt:1: "10.1.2.3": private range refused`,
				`recent.txt:1: "10.1.2.3": private range refused (a value the feed no longer lists, kept by its ttl)`}},
		{name: "a guard that still accepts it",
			first:    func(s *Spec) { s.Load.Guard.AllowPrivate = true },
			then:     func(s *Spec) { s.Load.Guard.AllowPrivate = true },
			after:    "203.0.113.1\n",
			checks:   []check{{"10.1.2.3", 59 * time.Minute, true}, {"10.1.2.3", 60 * time.Minute, false}},
			added:    "ip 10.1.2.3, ip 203.0.113.1",
			retained: 1},
		{name: "a shorter ttl",
			first:    func(s *Spec) { s.Load.Guard.AllowPrivate = true },
			then:     func(s *Spec) { s.Load.Guard.AllowPrivate = true; s.TTL = 15 * time.Minute },
			after:    "203.0.113.1\n",
			checks:   []check{{"10.1.2.3", 14 * time.Minute, true}, {"10.1.2.3", 15 * time.Minute, false}, {"10.1.2.3", 50 * time.Minute, false}},
			added:    "ip 10.1.2.3, ip 203.0.113.1",
			retained: 1},
		{name: "a guard that refuses a kept value whose ttl has passed: dropped, not reported",
			first:  func(s *Spec) { s.Load.Guard.AllowPrivate = true },
			then:   func(s *Spec) { s.TTL = 8 * time.Minute },
			after:  "203.0.113.1\n",
			checks: []check{{"10.1.2.3", 9 * time.Minute, false}},
			added:  "ip 203.0.113.1"},
		{name: "a ttl shorter than the time since it was last listed",
			first:  func(s *Spec) { s.Load.Guard.AllowPrivate = true },
			then:   func(s *Spec) { s.Load.Guard.AllowPrivate = true; s.TTL = 8 * time.Minute },
			after:  "203.0.113.1\n",
			checks: []check{{"10.1.2.3", 9 * time.Minute, false}},
			added:  "ip 203.0.113.1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			t0 := clk.Now()
			dir, cache := t.TempDir(), t.TempDir()
			path := filepath.Join(dir, "recent.txt")
			spec := func(change func(*Spec)) Options {
				s := fileSpec("recent", path)
				s.TTL = time.Hour
				change(&s)
				return Options{Feeds: []Spec{s}, FilePoll: -1, ShrinkGuard: -1, Now: clk.Now, CacheDir: cache}
			}
			writeFile(t, path, "10.1.2.3\n203.0.113.1\n")
			h, _ := newHarness(t, spec(tt.first))
			clk.Advance(5 * time.Minute) // 10.1.2.3 falls off the feed: kept
			writeFile(t, path, "203.0.113.1\n")
			if u, err := h.m.Reload(context.Background()); err != nil || u == nil {
				t.Fatalf("reload: %v %v", u, err)
			}
			if st := h.status("recent"); st.Retained != 1 {
				t.Fatalf("retained %d before the restart, want 1", st.Retained)
			}
			h.stop()

			clk.Advance(5 * time.Minute)
			writeFile(t, path, tt.after)
			h2, u := newHarness(t, spec(tt.then))
			for _, c := range tt.checks {
				if got := matches(u.Index, c.value, t0.Add(c.at)); got != c.want {
					t.Errorf("%s at t0+%s: match %v, want %v", c.value, c.at, got, c.want)
				}
			}
			if got := values(u.Added()); got != tt.added {
				t.Errorf("added %q, want %q", got, tt.added)
			}
			st := h2.status("recent")
			var refused []string
			for _, r := range st.Refused {
				refused = append(refused, strings.TrimPrefix(r.String(), dir+string(filepath.Separator)))
			}
			if st.Retained != tt.retained || st.Total != u.Index.Len() || strings.Join(refused, "\n") != strings.Join(tt.refused, "\n") {
				t.Errorf("status: retained %d total %d (index %d), refused %q; want retained %d, refused %q",
					st.Retained, st.Total, u.Index.Len(), refused, tt.retained, tt.refused)
			}
			// The retained file holds what is kept, so a refused value is
			// not read back at the next start.
			ret, err := readRetained(cache, "recent")
			if err != nil || len(ret) != tt.retained {
				t.Errorf("retained file: %d values (%v), want %d", len(ret), err, tt.retained)
			}
		})
	}
}

// A kept value whose own valid_until has passed is dropped at the next
// change of the feed, as Load skips a listed value that expired: it is
// counted neither retained nor in use, and Update.Removed counts it.
func TestAKeptValuePastItsOwnValidUntilIsDropped(t *testing.T) {
	clk := newClock()
	t0 := clk.Now()
	path := filepath.Join(t.TempDir(), "c2.csv")
	until := t0.Add(20 * time.Minute).Format(time.RFC3339)
	writeFile(t, path, "indicator,valid_until\n203.0.113.1,\n203.0.113.2,"+until+"\n")
	spec := fileSpec("c2", path)
	spec.Load.Format = match.FormatCSV
	spec.TTL = time.Hour
	h, _ := newHarness(t, Options{Feeds: []Spec{spec}, FilePoll: -1, ShrinkGuard: -1, Now: clk.Now})

	clk.Advance(5 * time.Minute) // .2 falls off the feed: kept until its valid_until
	writeFile(t, path, "indicator,valid_until\n203.0.113.1,\n")
	u, err := h.m.Reload(context.Background())
	if err != nil || u == nil {
		t.Fatalf("reload: %v %v", u, err)
	}
	if !matches(u.Index, "203.0.113.2", t0.Add(19*time.Minute)) || matches(u.Index, "203.0.113.2", t0.Add(20*time.Minute)) {
		t.Error("a kept value must match until its own valid_until")
	}
	if st := h.status("c2"); st.Retained != 1 || st.Total != 2 || u.Removed != 0 {
		t.Errorf("kept: retained %d total %d removed %d, want 1, 2, 0", st.Retained, st.Total, u.Removed)
	}

	clk.Advance(25 * time.Minute) // past its valid_until; the feed changes
	writeFile(t, path, "indicator,valid_until\n203.0.113.1,\n203.0.113.3,\n")
	u, err = h.m.Reload(context.Background())
	if err != nil || u == nil {
		t.Fatalf("reload: %v %v", u, err)
	}
	if got := values(u.Added()); got != "ip 203.0.113.3" || u.Removed != 1 {
		t.Errorf("added %q removed %d, want ip 203.0.113.3 and 1", got, u.Removed)
	}
	if st := h.status("c2"); st.Retained != 0 || st.Total != 2 || u.Index.Len() != 2 {
		t.Errorf("status: retained %d total %d index %d, want 0, 2, 2", st.Retained, st.Total, u.Index.Len())
	}
}
