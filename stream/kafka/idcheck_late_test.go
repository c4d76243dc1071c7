package kafka_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/kafka"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// TestALateTopicIDAnswerRestartsTheRecreatedTopicsPartition pins what a
// commit made without its check's answer leaves behind when the topic was
// deleted and created again meanwhile. The checks answer, but later than a
// commit waits for them: the commit goes on, and commits an offset of the
// old topic on the new one. The answer that comes late is acted on all the
// same: the partition restarts from start_offset, its new start is
// committed over that offset, and the new topic is read whole — without a
// periodic check (none is due during the test) or a reconnection (the
// fetcher keeps its connection) to notice it.
func TestALateTopicIDAnswerRestartsTheRecreatedTopicsPartition(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
	produce(t, b, "t", 0, 0, 20)
	var logs syncbuf.Buffer
	opt := kafka.WithTopicCheckInterval(fastOptions(b, "g", "t"), time.Hour)
	opt.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	opt.MaxBatchMessages = 4 // the fetcher holds what Read does not take: it fetches nothing while the topic is recreated
	commitOffset(t, ctx, b, "g", "t", 0)
	s := newSource(t, opt)
	tp := kafka.TopicPartition{Topic: "t", Partition: 0}
	waitFor(t, ctx, "the source fetching the 20 messages", func() (bool, string) {
		lag := s.Lag()
		return lag[tp] == 20, fmtLag(lag)
	})

	// From now on every check of the topic ids is answered 2s late: after
	// a commit stopped waiting for it (1s), well before a check gives up
	// (5s).
	c := b.Cluster()
	done := make(chan struct{})
	t.Cleanup(func() { close(done) })
	c.ControlKey(int16(kmsg.Metadata), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		if isIDCheck(req) {
			c.SleepControl(func() {
				select {
				case <-time.After(2 * time.Second):
				case <-done:
				}
			})
		}
		return nil, nil, false // answered as usual, once awake
	})
	deleteTopic(t, ctx, b, "t")
	commits := recordCommitSeq(b)
	if err := b.CreateTopic("t", 1); err != nil {
		t.Fatal(err)
	}
	produceNew(t, b, 0, 30)

	old := readBatches(t, ctx, s, 20, 0)
	for i, m := range messagesOf(old)[:20] {
		if m.Position.Offset != int64(i) || string(m.Value) != string(value("t", 0, i)) {
			t.Fatalf("old message %d is %d:%s, want the old topic's offset %d", i, m.Position.Offset, m.Value, i)
		}
	}
	ackAll(t, ctx, old) // committed without the check's answer: on the new topic
	msgs := messagesOf(old)[20:]
	var batches []stream.Batch
	for !endsWithNew(msgs, 0, 30) {
		rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		bt, err := s.Read(rctx)
		cancel()
		if err != nil {
			if ctx.Err() != nil {
				t.Fatalf("the new topic's offsets 0 to 29 never read last (the late answer was not acted on); read %s; commits %v; log:\n%s",
					describeMsgs(msgs), commits.get(), logs.String())
			}
			continue
		}
		batches = append(batches, bt)
		msgs = append(msgs, bt.Messages...)
	}
	ackAll(t, ctx, batches)
	committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 30})

	got := commits.get()
	if len(got) == 0 || got[0] == 0 {
		t.Fatalf("offsets committed on the new topic: %v, want first an offset of the old topic, committed without the check's answer (else the test did not test a late answer)", got)
	}
	if i := slices.Index(got, 0); i < 0 {
		t.Errorf("offsets committed on the new topic: %v, want the restart's 0 after the old topic's %d", got, got[0])
	}
	st := s.Stats()
	if st.UncheckedCommits == 0 || st.OffsetResets != 1 {
		t.Errorf("Stats() = %+v, want commits made without the check and one offset reset", st)
	}
	if !strings.Contains(logs.String(), "the topic was deleted and created again (its topic id changed)") {
		t.Errorf("no warning that the topic's id changed; log:\n%s", logs.String())
	}
}

// TestCommitsInANewGenerationCountAsUncheckedWhileTheChecksStillFail pins
// that a rebalance during an outage of the topic-id checks does not hide
// it: a partition taken in the new generation has not learned its topic's
// id (its checks fail), yet its commits are made without a check all the
// same, and they are counted in Stats().UncheckedCommits as before the
// rebalance.
func TestCommitsInANewGenerationCountAsUncheckedWhileTheChecksStillFail(t *testing.T) {
	for _, how := range []string{"error", "close"} {
		t.Run(how, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			b := startBroker(t, embedded.Topic{Name: "t", Partitions: 2})
			opt := kafka.WithTopicCheckInterval(fastOptions(b, "g", "t"), 50*time.Millisecond)
			a := newSource(t, opt)
			for p := range int32(2) {
				produce(t, b, "t", p, 0, 10)
			}
			ackAll(t, ctx, readBatches(t, ctx, a, 20, 0))
			committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 10, 1: 10}) // checked: the topic's id is known

			failed, _ := idCheckFault(t, b, how)
			waitFor(t, ctx, "a check failing", func() (bool, string) { return failed.Load() > 0, fmt.Sprint(failed.Load()) })
			other := newSource(t, opt) // a rebalance: a takes one partition in a new generation
			waitSplit(t, ctx, b, "g", a, other)
			if got := a.Stats().Generations; got < 2 {
				t.Fatalf("Stats().Generations = %d, want a new generation", got)
			}
			p := a.Assigned()[0].Partition
			want := map[int32]int64{0: 10, 1: 10}
			before := a.Stats().UncheckedCommits
			for round := range 3 {
				produce(t, b, "t", p, 10+5*round, 5)
				ackAll(t, ctx, readBatches(t, ctx, a, 5, 0))
				want[p] += 5
				committedIs(t, ctx, b, "g", "t", want)
			}
			// The broker holds a commit before the source has its answer
			// and counts it: wait for the count, not the time it takes.
			waitFor(t, ctx, "3 commits counted as made without a check in the new generation", func() (bool, string) {
				got := a.Stats().UncheckedCommits
				return got >= before+3, fmt.Sprintf("Stats().UncheckedCommits went from %d to %d", before, got)
			})
		})
	}
}
