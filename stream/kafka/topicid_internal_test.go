package kafka

import (
	"context"
	"log/slog"
	"strings"
	"testing"

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
