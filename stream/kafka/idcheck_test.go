package kafka_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/stream/kafka"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// isIDCheck tells the source's own topic-id requests from kafka-go's:
// only the source's franz-go client asks for Metadata v10+ (kafka-go asks
// for v8 at most).
func isIDCheck(req kmsg.Request) bool { return req.GetVersion() >= 10 }

// idCheckFault makes the topic-id checks fail the way named by how —
// "silent": the broker never answers them; "error": it answers with an
// error for the topic (no id); "close": it closes the connection — until
// the returned function is called. failed counts the checks failed.
func idCheckFault(t *testing.T, b *embedded.Broker, how string) (failed *atomic.Int64, stop func()) {
	t.Helper()
	failed = new(atomic.Int64)
	var stopped atomic.Bool
	c := b.Cluster()
	c.ControlKey(int16(kmsg.Metadata), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if !isIDCheck(req) || stopped.Load() {
			return nil, nil, false
		}
		failed.Add(1)
		switch how {
		case "silent":
			return nil, nil, true // no answer
		case "close":
			return nil, errors.New("test: connection closed"), true
		}
		return nil, nil, false // the fault below answers
	})
	var fault *kfake.FaultHandle
	if how == "error" {
		fault = c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Metadata}, Topic: "t", Err: kerr.LeaderNotAvailable, Count: -1, When: isIDCheck})
	}
	var once atomic.Bool
	stop = func() {
		if once.Swap(true) {
			return
		}
		stopped.Store(true)
		if fault != nil {
			fault.Remove()
		}
	}
	t.Cleanup(stop)
	return failed, stop
}

// TestCommitsGoOnWhileTheTopicIDCheckCannotAnswer pins that a check of
// the topic ids that gets no answer — none at all, an error for the topic,
// a connection closed — stops no commit, however long it lasts: reading
// and committing go on, each commit after a short wait for the check, and
// once the topic's last successful check is older than the window a
// warning names the topic and says that recreation detection is impaired
// and since when — once, not once per commit (at most once a minute). An
// Info says when the checks answer again, and commits are checked again.
func TestCommitsGoOnWhileTheTopicIDCheckCannotAnswer(t *testing.T) {
	for _, how := range []string{"silent", "error", "close"} {
		t.Run(how, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second) // generous: the silent case waits for franz-go to give up a connection
			defer cancel()
			b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
			produce(t, b, "t", 0, 0, 10)
			var logs syncbuf.Buffer
			opt := kafka.WithTopicCheckInterval(fastOptions(b, "g", "t"), 50*time.Millisecond)
			opt.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			s := newSource(t, opt)
			ackAll(t, ctx, readBatches(t, ctx, s, 10, 0))
			committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 10}) // checked: the topic's id is known

			failed, stop := idCheckFault(t, b, how)
			waitFor(t, ctx, "a check failing", func() (bool, string) { return failed.Load() > 0, fmt.Sprint(failed.Load()) })

			next := 10
			round := func() {
				t.Helper()
				produce(t, b, "t", 0, next, 5)
				ackAll(t, ctx, readBatches(t, ctx, s, 5, 0))
				next += 5
				committedIs(t, ctx, b, "g", "t", map[int32]int64{0: int64(next)})
			}
			const impaired = "recreation detection is impaired"
			rounds := 0
			for !strings.Contains(logs.String(), impaired) {
				if ctx.Err() != nil {
					t.Fatalf("no warning %q after %d commits without the check; log:\n%s", impaired, rounds, logs.String())
				}
				round()
				rounds++
			}
			round()
			round()
			rounds += 2

			var warnings []string
			for l := range strings.Lines(logs.String()) {
				if strings.Contains(l, impaired) {
					warnings = append(warnings, l)
				}
			}
			if len(warnings) != 1 {
				t.Errorf("%d warnings %q over %d rounds of commits, want 1 (at most one a minute); log:\n%s", len(warnings), impaired, rounds, logs.String())
			}
			if w := warnings[0]; !strings.Contains(w, "level=WARN") || !strings.Contains(w, "topic=t ") || !strings.Contains(w, "unchecked_since=") {
				t.Errorf("warning %q: want a Warn naming topic t and since when its id is unchecked", w)
			}
			// The broker holds a commit before the source has its answer
			// and counts it: wait for the count, not the time it takes.
			waitFor(t, ctx, fmt.Sprintf("Stats().UncheckedCommits at least %d (one per round)", rounds), func() (bool, string) {
				st := s.Stats()
				return st.UncheckedCommits >= int64(rounds), fmt.Sprintf("%+v", st)
			})
			if st := s.Stats(); st.CommitErrors != 0 || st.OffsetResets != 0 {
				t.Errorf("Stats() = %+v, want no commit error and no offset reset", st)
			}

			stop()
			const restored = "recreation detection works again"
			waitFor(t, ctx, "the Info that the checks answer again", func() (bool, string) {
				return strings.Contains(logs.String(), restored), ""
			})
			for l := range strings.Lines(logs.String()) {
				if strings.Contains(l, restored) && (!strings.Contains(l, "level=INFO") || !strings.Contains(l, "topic=t ")) {
					t.Errorf("line %q: want an Info naming topic t", l)
				}
			}
			unchecked := s.Stats().UncheckedCommits
			round()
			if got := s.Stats().UncheckedCommits; got != unchecked {
				t.Errorf("Stats().UncheckedCommits went from %d to %d once the checks answered again: the commit was not checked", unchecked, got)
			}
			if strings.Contains(logs.String(), "the topic was deleted and created again") {
				t.Errorf("a failed check was taken for a recreation; log:\n%s", logs.String())
			}
		})
	}
}

// TestCloseCommitsWhenARecentlyCheckedTopicCannotBeCheckedAgain pins that
// Close's final commit does not fail — and does not wait for the full
// check timeout — when the check of the topic ids gets no answer but the
// last successful check is recent: the acknowledged offsets are committed
// and Close reports no error, so nothing acknowledged is re-delivered
// after a restart.
func TestCloseCommitsWhenARecentlyCheckedTopicCannotBeCheckedAgain(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
	produce(t, b, "t", 0, 0, 10)
	opt := fastOptions(b, "g", "t")
	opt.CommitInterval, opt.CommitCount = time.Hour, 1<<20 // only Close commits
	s, err := kafka.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			s.Close(context.Background())
		}
	})
	// The fetcher checked the topic's id before it fetched: the check is
	// recent.
	ackAll(t, ctx, readBatches(t, ctx, s, 10, 0))

	failed, _ := idCheckFault(t, b, "silent")
	err = s.Close(ctx)
	closed = true
	if err != nil {
		t.Errorf("Close: %v, want the final commit made", err)
	}
	committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 10})
	if got := s.Stats(); got.UncheckedCommits != 1 || got.CommitErrors != 0 {
		t.Errorf("Stats() = %+v, want one commit made without a fresh check and no commit error", got)
	}
	if failed.Load() == 0 {
		t.Error("the final commit did not ask for the topic ids: a recreation would go unnoticed at Close even when the check answers")
	}
}
