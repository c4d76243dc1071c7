package kafka

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
)

// TestTopicIDReportsThatAreNoChange pins which answers of the topic-id
// check restart a partition. Only an id the topic never had before is a
// recreation: a broker that reports no id (zero), an answer without the
// topic (deleted, not created again yet), and — as metadata requests go
// to one broker after another — a broker that is behind and still reports
// an id the topic had before it was created again, are not. A partition
// that restarted for a new id would otherwise restart again, back to the
// old id, and again on the next up-to-date answer, re-reading the new
// topic each time.
func TestTopicIDReportsThatAreNoChange(t *testing.T) {
	a, b, c := topicID{1}, topicID{2}, topicID{3}
	// A step is the ids one check reported ("-" the topic absent), or
	// "restart": the fetcher restarts the partition if it was marked,
	// or "rejoin": a new generation (the same Source) takes the partition.
	type step struct {
		report map[string]topicID
		do     string
	}
	report := func(id topicID) step { return step{report: map[string]topicID{"t": id}} }
	absent := step{report: map[string]topicID{}}
	restart := step{do: "restart"}
	rejoin := step{do: "rejoin"}
	tests := []struct {
		name  string
		steps []step
		// after the last step
		wantRecreated bool
		wantID        topicID
		wantResets    int // restarts the fetcher took
		wantWarnings  int
	}{
		{name: "the first id seen is the topic's", steps: []step{report(a)}, wantID: a},
		{name: "a new id is a recreation", steps: []step{report(a), report(b)}, wantRecreated: true, wantID: a, wantWarnings: 1},
		{name: "the fetcher takes the new id when it restarts", steps: []step{report(a), report(b), restart}, wantID: b, wantResets: 1, wantWarnings: 1},
		{name: "no id reported is no change", steps: []step{report(a), report(topicID{}), report(a)}, wantID: a},
		{name: "a topic absent from the answer is no change", steps: []step{report(a), absent, absent}, wantID: a},
		{name: "a broker behind reports the old id after the restart", steps: []step{report(a), report(b), restart, report(a), restart, report(b), restart},
			wantID: b, wantResets: 1, wantWarnings: 1},
		{name: "a broker behind reports the old id before the restart", steps: []step{report(a), report(b), report(a), restart, report(a), report(b)},
			wantID: b, wantResets: 1, wantWarnings: 1},
		{name: "a broker behind reports the old id first in the next generation", steps: []step{report(a), report(b), restart, rejoin, report(a), report(b), restart},
			wantID: b, wantResets: 1, wantWarnings: 1},
		{name: "recreated twice before the restart", steps: []step{report(a), report(b), report(c), restart, report(b), report(a)},
			wantID: c, wantResets: 1, wantWarnings: 2},
		{name: "recreated again after the restart", steps: []step{report(a), report(b), restart, report(c)},
			wantRecreated: true, wantID: b, wantResets: 1, wantWarnings: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs syncbuf.Buffer
			s := &Source{opt: Options{StartOffset: "earliest"}, log: slog.New(slog.NewTextHandler(&logs, nil))}
			newGen := func() (*generation, *partState) {
				g := &generation{}
				p := &partState{gen: g, tp: TopicPartition{"t", 0}}
				g.parts = []*partState{p}
				return g, p
			}
			g, p := newGen()
			resets := 0
			for _, st := range tt.steps {
				switch st.do {
				case "restart":
					f := &partFetcher{s: s, p: p}
					if f.takeRecreated() {
						resets++
					}
				case "rejoin":
					g, p = newGen()
				default:
					s.noteTopicIDs(context.Background(), g, st.report)
				}
			}
			if got := p.recreated.Load(); got != tt.wantRecreated {
				t.Errorf("recreated = %v, want %v", got, tt.wantRecreated)
			}
			if p.topicID != tt.wantID {
				t.Errorf("topic id = %v, want %v", p.topicID, tt.wantID)
			}
			if resets != tt.wantResets {
				t.Errorf("%d restarts, want %d", resets, tt.wantResets)
			}
			if got := strings.Count(logs.String(), "level=WARN"); got != tt.wantWarnings {
				t.Errorf("%d warnings, want %d; log:\n%s", got, tt.wantWarnings, logs.String())
			}
		})
	}
}

// TestCommitsWithoutAnIDCheckAreLoggedAtABoundedRate pins what is said of
// commits made without a fresh check of their topic's id: nothing above
// Debug while the topic's last successful check is within the window
// (three check intervals); past it a Warn at once, then at most one a
// minute, counting the commits since the last; an Info when a check
// answers again after a Warn (none after a blip that warned nothing); and
// a new outage warns afresh.
func TestCommitsWithoutAnIDCheckAreLoggedAtABoundedRate(t *testing.T) {
	const fresh, every = 15 * time.Second, time.Minute
	t0 := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	// A step at a time after t0 is an answer of the check or a commit
	// made without one, and the line it logs: "" none (answer) or Debug
	// (commit), "warn N" a Warn counting N commits, "info N" an Info
	// counting N commits since the last answer.
	type step struct {
		at   time.Duration
		do   string // "answer" or "commit"
		want string
	}
	answer := func(at time.Duration, want string) step { return step{at, "answer", want} }
	commit := func(at time.Duration, want string) step { return step{at, "commit", want} }
	tests := []struct {
		name  string
		steps []step
	}{
		{name: "a recent check stands in for a fresh one", steps: []step{
			answer(0, ""), commit(time.Second, "debug"), commit(fresh, "debug")}},
		{name: "a short outage says nothing when it ends", steps: []step{
			answer(0, ""), commit(5*time.Second, "debug"), answer(10*time.Second, ""), commit(24*time.Second, "debug")}},
		{name: "past the window a Warn at once, then one a minute", steps: []step{
			answer(0, ""), commit(fresh+time.Millisecond, "warn 1"), commit(30*time.Second, "debug"),
			commit(fresh+every, "debug"), commit(fresh+every+time.Millisecond, "warn 3"), commit(fresh+every+time.Second, "debug"),
			commit(fresh+2*every+time.Millisecond, "warn 2"), answer(3*time.Minute, "info 6")}},
		{name: "after an Info a new outage warns afresh", steps: []step{
			answer(0, ""), commit(20*time.Second, "warn 1"), answer(21*time.Second, "info 1"),
			commit(22*time.Second, "debug"), commit(37*time.Second, "warn 2")}},
		{name: "never checked", steps: []step{commit(0, "warn 1"), commit(time.Second, "debug")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			now := t0
			c := &idChecks{now: func() time.Time { return now }, fresh: fresh, every: every}
			ids := map[string]topicID{"t": {1}}
			for _, st := range tt.steps {
				now = t0.Add(st.at)
				var notes []idNote
				if st.do == "answer" {
					notes = c.answered([]string{"t"}, ids)
				} else {
					notes = c.unchecked([]string{"t"})
				}
				got := ""
				for _, n := range notes {
					if n.topic != "t" {
						t.Errorf("%s at %v: a line for topic %q, want t", st.do, st.at, n.topic)
					}
					switch n.level {
					case slog.LevelDebug:
						got += "debug"
					case slog.LevelWarn:
						got += fmt.Sprintf("warn %d", n.commits)
					case slog.LevelInfo:
						got += fmt.Sprintf("info %d", n.commits)
					}
				}
				if got != st.want {
					t.Errorf("%s at %v: %q, want %q", st.do, st.at, got, st.want)
				}
			}
		})
	}
}
