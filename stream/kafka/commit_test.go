package kafka_test

import (
	"context"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// TestAFailedCommitIsRetriedWithoutAnotherAck pins that a commit that fails
// is retried after a back-off, not only at the next acknowledgement or
// interval: on a quiet stream the delivered offsets are committed once the
// coordinator answers again, and Close still commits nothing more than
// what was acknowledged.
func TestAFailedCommitIsRetriedWithoutAnotherAck(t *testing.T) {
	tests := []struct {
		name     string
		interval time.Duration
		count    int
	}{
		{name: "commit after every ack (commit_interval 0)", interval: -1, count: 1 << 20},
		{name: "commit_count reached under a long interval", interval: time.Hour, count: 1},
	}
	const failures = 3
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
			produce(t, b, "t", 0, 0, 20)
			// The commits of the last acknowledged offset fail, a few times.
			h := b.Cluster().Fault(kfake.Fault{
				Keys: []kmsg.Key{kmsg.OffsetCommit}, Err: kerr.CoordinatorLoadInProgress, Count: failures,
				When: func(req kmsg.Request) bool {
					for _, tp := range req.(*kmsg.OffsetCommitRequest).Topics {
						for _, p := range tp.Partitions {
							if p.Offset == 20 {
								return true
							}
						}
					}
					return false
				},
			})
			defer h.Remove()
			opt := fastOptions(b, "g", "t")
			opt.CommitInterval, opt.CommitCount = tt.interval, tt.count
			s := newSource(t, opt)
			ackAll(t, ctx, readBatches(t, ctx, s, 20, 0))
			// No further ack: the stream is quiet.
			committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 20})
			if err := h.Wait(ctx, failures); err != nil {
				t.Fatalf("the fault never fired %d times: %v", failures, err)
			}
			if got := s.Stats().CommitErrors; got < failures {
				t.Errorf("Stats().CommitErrors = %d, want at least %d", got, failures)
			}
			produce(t, b, "t", 0, 20, 5)
			readBatches(t, ctx, s, 5, 0) // delivered, never acknowledged
			if err := s.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
			got, err := b.Committed(context.Background(), "g", "t")
			if err != nil {
				t.Fatal(err)
			}
			if fmtOffsets(got) != fmtOffsets(map[int32]int64{0: 20}) {
				t.Errorf("committed after Close = %s, want [0@20]: exactly the acknowledged messages", fmtOffsets(got))
			}
		})
	}
}

// TestCommitsWaitForTheRetryWhileTheCoordinatorFails pins that while a
// failed commit waits for its retry, acknowledgements do not start commits
// of their own: a busy stream during a coordinator outage commits at the
// retry's pace, not once per acknowledgement.
func TestCommitsWaitForTheRetryWhileTheCoordinatorFails(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
	h := b.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Err: kerr.CoordinatorLoadInProgress, Count: 1 << 30})
	opt := fastOptions(b, "g", "t")
	opt.CommitInterval, opt.CommitCount = -1, 1<<20 // a commit after every ack
	s := newSource(t, opt)
	const acks = 60
	for i := range acks {
		produce(t, b, "t", 0, i, 1)
		ackAll(t, ctx, readBatches(t, ctx, s, 1, 0))
		time.Sleep(3 * time.Millisecond)
	}
	// The first failure, then retries after 100 ms, 200 ms, 400 ms …:
	// a handful in the time the acks took, not one per ack.
	if got := s.Stats().CommitErrors; got > acks/3 {
		t.Errorf("Stats().CommitErrors = %d after %d acks during the outage, want a handful", got, acks)
	}
	h.Remove()
	committedIs(t, ctx, b, "g", "t", map[int32]int64{0: acks})
}
