package sink

import (
	"context"
	"testing"
)

// The ackBook's rules: which ackIds show that Splunk counts the channel
// from 0 again, which tickets that makes stale, and which ackIds may be
// another request's. Steps run in order: "start p" starts post p, "end p
// id" books the ackId id for it, "lose p" ends it without an answer.
func TestAckBookRules(t *testing.T) {
	type step struct {
		op   string // start, end, lose, release (the post's Write ends)
		post string
		id   int64
	}
	for _, tc := range []struct {
		name  string
		steps []step
		stale []string // the posts whose tickets are stale at the end
		// exposed: the posts whose ackId a request numbered after theirs
		// may hold, after a reset, at the end
		exposed []string
	}{
		{
			name:  "one post after the other: ackIds grow",
			steps: []step{{"start", "a", 0}, {"end", "a", 40}, {"start", "b", 0}, {"end", "b", 41}},
		},
		{
			name: "concurrent posts answered out of order: no reset",
			steps: []step{{"start", "a", 0}, {"start", "b", 0}, {"start", "c", 0},
				{"end", "c", 42}, {"end", "a", 40}, {"end", "b", 41}},
		},
		{
			name:  "an ackId a ticket holds, given again: both stale",
			steps: []step{{"start", "a", 0}, {"end", "a", 3}, {"start", "b", 0}, {"end", "b", 3}},
			stale: []string{"a", "b"},
		},
		{
			name:  "an ackId below one booked before the post was sent: the earlier tickets stale, not its own",
			steps: []step{{"start", "a", 0}, {"end", "a", 7}, {"start", "b", 0}, {"end", "b", 2}},
			stale: []string{"a"},
		},
		{
			name:  "an ackId below one booked while the post was under way: no reset",
			steps: []step{{"start", "a", 0}, {"start", "b", 0}, {"end", "a", 7}, {"end", "b", 2}},
		},
		{
			name: "a post under way across a reset shows no second one",
			steps: []step{{"start", "a", 0}, {"end", "a", 50}, {"start", "b", 0}, {"start", "c", 0},
				{"end", "c", 0}, {"end", "b", 51}, {"start", "d", 0}, {"end", "d", 1}},
			stale:   []string{"a"},
			exposed: []string{"c"},
		},
		{
			name: "the count goes on after a reset",
			steps: []step{{"start", "a", 0}, {"end", "a", 9}, {"start", "b", 0}, {"end", "b", 0},
				{"start", "c", 0}, {"end", "c", 1}},
			stale:   []string{"a"},
			exposed: []string{"b"},
		},
		{
			name: "small ackIds: within reach of the posts after them",
			steps: []step{{"start", "a", 0}, {"end", "a", 0}, {"start", "b", 0}, {"start", "c", 0},
				{"end", "b", 1}, {"end", "c", 2}},
			exposed: []string{"a"},
		},
		{
			name: "an ackId given to another post while this one was under way, that Write ended: stale",
			steps: []step{{"start", "a", 0}, {"start", "b", 0}, {"end", "b", 0}, {"release", "b", 0},
				{"end", "a", 0}},
			stale:   []string{"a", "b"},
			exposed: []string{"a", "b"},
		},
		{
			name: "the same, across a reset seen meanwhile",
			steps: []step{{"start", "w", 0}, {"end", "w", 3}, {"release", "w", 0},
				{"start", "a", 0}, {"start", "c", 0}, {"end", "c", 0}, {"start", "b", 0}, {"end", "b", 1},
				{"release", "b", 0}, {"end", "a", 1}},
			stale:   []string{"w", "a", "b", "c"},
			exposed: []string{"a", "b", "c"},
		},
		{
			name: "an ackId booked before the post started, then let go: the count's order tells",
			steps: []step{{"start", "a", 0}, {"start", "b", 0}, {"end", "a", 4}, {"release", "a", 0},
				{"end", "b", 5}, {"start", "c", 0}, {"end", "c", 4}},
			stale: []string{"a", "b"},
		},
		{
			name:  "a post lost without an answer books nothing",
			steps: []step{{"start", "a", 0}, {"end", "a", 5}, {"start", "b", 0}, {"lose", "b", 0}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b ackBook
			started := map[string]postStart{}
			tickets := map[string]*ackTicket{}
			for _, s := range tc.steps {
				switch s.op {
				case "start":
					started[s.post] = b.start()
				case "end":
					tickets[s.post] = b.end(started[s.post], s.id, true, true)
				case "release":
					b.release([]ackedRequest{{ackTicket: tickets[s.post]}})
				case "lose":
					if tk := b.end(started[s.post], 0, false, false); tk != nil {
						t.Errorf("a lost post booked %+v", tk)
					}
				}
			}
			want := map[string]bool{}
			for _, p := range tc.stale {
				want[p] = true
			}
			exposed := map[string]bool{}
			for _, p := range tc.exposed {
				exposed[p] = true
			}
			for p, tk := range tickets {
				if got := b.anyStale([]ackedRequest{{ackTicket: tk}}); got != want[p] {
					t.Errorf("post %s (ackId %d) stale = %v, want %v", p, tk.id, got, want[p])
				}
				if got := b.exposed(tk, b.next); got != exposed[p] {
					t.Errorf("post %s (ackId %d) within reach = %v, want %v", p, tk.id, got, exposed[p])
				}
			}
			if len(b.under) != 0 {
				t.Errorf("%d posts left under way", len(b.under))
			}
			if len(b.recent) != 0 {
				t.Errorf("%d ackIds still kept for posts under way, with none under way", len(b.recent))
			}
		})
	}
}

// believe waits only for the posts sent before the answer, and only for
// an ackId within their reach; a post that got no answer makes such an
// ackId doubted.
func TestAckBookBelieve(t *testing.T) {
	ctx := context.Background()
	t.Run("out of reach: believed while a post is under way", func(t *testing.T) {
		var b ackBook
		a := b.start()
		ta := b.end(a, 1000, true, true)
		b.start() // under way, never ends
		if d, err := b.believe(ctx, []*ackTicket{ta}); d != ackBelieved || err != nil {
			t.Errorf("believe = %v, %v; want believed", d, err)
		}
	})
	t.Run("within reach: waits for the post under way, ends with the context", func(t *testing.T) {
		var b ackBook
		a := b.start()
		ta := b.end(a, 0, true, true)
		b.start()
		b.start()
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := b.believe(cctx, []*ackTicket{ta}); err == nil {
			t.Error("believe returned with posts under way and its context ended, want the context's error")
		}
	})
	t.Run("within reach: a lost post makes it doubted", func(t *testing.T) {
		var b ackBook
		a := b.start()
		ta := b.end(a, 0, true, true)
		p := b.start()
		b.end(p, 0, false, false)
		b.end(b.start(), 1, true, true)
		if d, err := b.believe(ctx, []*ackTicket{ta}); d != ackUnanswered || err != nil {
			t.Errorf("believe = %v, %v; want doubted (unanswered)", d, err)
		}
	})
	t.Run("within reach: a post refused by HEC does not", func(t *testing.T) {
		var b ackBook
		a := b.start()
		ta := b.end(a, 0, true, true)
		b.end(b.start(), 0, false, true)
		b.end(b.start(), 1, true, true)
		if d, err := b.believe(ctx, []*ackTicket{ta}); d != ackBelieved || err != nil {
			t.Errorf("believe = %v, %v; want believed", d, err)
		}
	})
	t.Run("stale: doubted", func(t *testing.T) {
		var b ackBook
		ta := b.end(b.start(), 3, true, true)
		b.end(b.start(), 3, true, true)
		if d, err := b.believe(ctx, []*ackTicket{ta}); d != ackReset || err != nil {
			t.Errorf("believe = %v, %v; want doubted (reset)", d, err)
		}
	})
}
