package kafka_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/kafka"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

func TestReadYieldsEveryMessageInPartitionOrder(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "net", Partitions: 3}, embedded.Topic{Name: "dev", Partitions: 1})
	want := map[string]map[int32]int{"net": {0: 40, 1: 7, 2: 25}, "dev": {0: 11}}
	total := 0
	for topic, parts := range want {
		for p, n := range parts {
			produce(t, b, topic, p, 0, n)
			total += n
		}
	}
	opt := fastOptions(b, "g", "net", "dev")
	opt.MaxBatchMessages = 5
	s := newSource(t, opt)
	batches := readBatches(t, ctx, s, total, 5)
	msgs := messagesOf(batches)
	if len(msgs) != total {
		t.Fatalf("read %d messages, want exactly %d", len(msgs), total)
	}
	next := make(map[kafka.TopicPartition]int64)
	for _, m := range msgs {
		tp := kafka.TopicPartition{Topic: m.Position.Source, Partition: m.Position.Partition}
		if m.Position.Offset != next[tp] {
			t.Fatalf("%s: got offset %d, want %d (per-partition order)", tp, m.Position.Offset, next[tp])
		}
		next[tp]++
		checkValue(t, m)
		if m.Err != nil {
			t.Errorf("%s: Err = %v, want nil", m.Position, m.Err)
		}
	}
	for topic, parts := range want {
		for p, n := range parts {
			if got := next[kafka.TopicPartition{Topic: topic, Partition: p}]; got != int64(n) {
				t.Errorf("%s[%d]: read %d messages, want %d", topic, p, got, n)
			}
		}
	}
	if st := s.Stats(); st.Messages != int64(total) {
		t.Errorf("Stats().Messages = %d, want %d", st.Messages, total)
	}
	if got := s.Assigned(); len(got) != 4 {
		t.Errorf("Assigned() = %v, want the 4 partitions of net and dev", got)
	}
}

func TestReadTakesWhatIsBufferedWithoutWaitingForMore(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
	produce(t, b, "t", 0, 0, 3)
	opt := fastOptions(b, "g", "t")
	opt.MaxBatchMessages = 100
	s := newSource(t, opt)
	// Three messages exist; a Read that waited to fill 100 would block
	// until ctx ends.
	msgs := messagesOf(readBatches(t, ctx, s, 3, 100))
	if len(msgs) != 3 {
		t.Fatalf("read %d messages, want 3", len(msgs))
	}
}

func TestAckCommitsExactlyTheAcknowledgedMessages(t *testing.T) {
	tests := []struct {
		name string
		// the commit policy
		interval time.Duration
		count    int
		// onlyClose: no commit is expected before Close
		onlyClose bool
	}{
		{name: "the commit interval commits acked offsets", interval: 50 * time.Millisecond, count: 1 << 20},
		{name: "the commit count commits before the interval", interval: time.Hour, count: 5},
		{name: "a negative interval commits after every ack", interval: -1, count: 1 << 20},
		{name: "Close commits acked offsets and nothing more", interval: time.Hour, count: 1 << 20, onlyClose: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			b := startBroker(t, embedded.Topic{Name: "t", Partitions: 2})
			commits := recordCommits(b)
			produce(t, b, "t", 0, 0, 20)
			produce(t, b, "t", 1, 0, 20)
			opt := fastOptions(b, "g", "t")
			opt.CommitInterval, opt.CommitCount, opt.MaxBatchMessages = tt.interval, tt.count, 4
			s, err := kafka.New(opt)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			batches := readBatches(t, ctx, s, 40, 4)
			// Acknowledge the first half of the batches only.
			acked := batches[:len(batches)/2]
			ackAll(t, ctx, acked)
			// A partition with nothing acked has its start (0) pinned.
			want := map[int32]int64{0: 0, 1: 0}
			for p, o := range nextOffsets(messagesOf(acked)) {
				want[p] = o
			}
			if tt.onlyClose {
				if got := commits.max(); len(got) != 0 {
					t.Fatalf("before Close, commits %s were sent; want none", fmtOffsets(got))
				}
			} else {
				committedIs(t, ctx, b, "g", "t", want)
			}
			if err := s.Close(ctx); err != nil {
				t.Fatalf("Close: %v", err)
			}
			ackAll(t, ctx, batches[len(batches)/2:]) // acks after Close are not committed
			got, err := b.Committed(ctx, "g", "t")
			if err != nil {
				t.Fatal(err)
			}
			if fmtOffsets(got) != fmtOffsets(want) {
				t.Errorf("committed = %s, want %s (exactly the acked messages)", fmtOffsets(got), fmtOffsets(want))
			}
			// No commit ever went past an acknowledged message.
			for p, o := range commits.max() {
				if o > want[p] {
					t.Errorf("partition %d: a commit of offset %d was sent; only %d were acked", p, o, want[p])
				}
			}
		})
	}
}

func TestTwoSourcesInOneGroupSplitThePartitions(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 4})
	a := newSource(t, fastOptions(b, "g", "t"))
	c := newSource(t, fastOptions(b, "g", "t"))
	waitSplit(t, ctx, b, "g", a, c)
	for p := range int32(4) {
		produce(t, b, "t", p, 0, 30)
	}
	ca, cc := collect(ctx, a, true), collect(ctx, c, true)
	waitFor(t, ctx, "all 120 messages", func() (bool, string) {
		n := len(ca.snapshot()) + len(cc.snapshot())
		return n >= 120, "have " + itoa(n)
	})
	ma, mc := ca.snapshot(), cc.snapshot()
	if len(ma) == 0 || len(mc) == 0 {
		t.Fatalf("one member got nothing: %d and %d messages", len(ma), len(mc))
	}
	seen := make(map[stream.Position]int)
	for _, set := range [][]stream.Message{ma, mc} {
		for _, m := range set {
			seen[m.Position]++
			checkValue(t, m)
		}
	}
	if len(seen) != 120 {
		t.Errorf("%d distinct messages, want 120", len(seen))
	}
	for pos, n := range seen {
		if n != 1 {
			t.Errorf("%s delivered %d times, want once", pos, n)
		}
	}
	pa, pc := partitionsOf(ma), partitionsOf(mc)
	for p := range pa {
		if pc[p] {
			t.Errorf("partition %d was read by both members", p)
		}
	}
}

func TestAStoppedMemberHandsItsUnackedMessagesToTheOther(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 2})
	optA := fastOptions(b, "g", "t")
	optA.MaxBatchMessages = 4
	optA.CommitInterval = time.Hour // only Close commits: the hand-over point is exact
	optA.CommitCount = 1 << 20
	a, err := kafka.New(optA)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	other := newSource(t, fastOptions(b, "g", "t"))
	waitSplit(t, ctx, b, "g", a, other)
	aParts := a.Assigned()
	for p := range int32(2) {
		produce(t, b, "t", p, 0, 40)
	}
	co := collect(ctx, other, true)

	// a reads its partition, acknowledges half, and stops.
	batches := readBatches(t, ctx, a, 40, 4)
	ackAll(t, ctx, batches[:len(batches)/2])
	ackedByA := messagesOf(batches[:len(batches)/2])
	unacked := messagesOf(batches[len(batches)/2:])
	if err := a.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// The other member takes a's partition over, starting right after the
	// last message a acknowledged.
	waitFor(t, ctx, "the other member owns both partitions", func() (bool, string) {
		return len(other.Assigned()) == 2, fmtTPs(other.Assigned())
	})
	waitFor(t, ctx, "every message committed", func() (bool, string) {
		n := len(co.snapshot())
		return n >= 80-len(ackedByA), "other has " + itoa(n)
	})
	got := make(map[stream.Position]bool)
	for _, m := range co.snapshot() {
		got[m.Position] = true
	}
	for _, m := range unacked {
		if !got[m.Position] {
			t.Errorf("%s was not acked by the stopped member and never reached the other", m.Position)
		}
	}
	for _, m := range ackedByA {
		if got[m.Position] {
			t.Errorf("%s was acked and committed by the stopped member but re-delivered", m.Position)
		}
	}
	if len(aParts) != 1 {
		t.Errorf("stopped member owned %v, want one partition", aParts)
	}
	committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 40, 1: 40})
}

func TestARestartedSourceResumesFromTheCommittedOffsets(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 2})
	produce(t, b, "t", 0, 0, 15)
	produce(t, b, "t", 1, 0, 15)
	first, err := kafka.New(fastOptions(b, "g", "t"))
	if err != nil {
		t.Fatal(err)
	}
	ackAll(t, ctx, readBatches(t, ctx, first, 30, 0))
	if err := first.Close(ctx); err != nil {
		t.Fatal(err)
	}
	produce(t, b, "t", 0, 15, 5)
	produce(t, b, "t", 1, 15, 5)

	second := newSource(t, fastOptions(b, "g", "t"))
	msgs := messagesOf(readBatches(t, ctx, second, 10, 0))
	for _, m := range msgs {
		if m.Position.Offset < 15 {
			t.Errorf("%s was acked and committed before the restart but re-delivered", m.Position)
		}
		checkValue(t, m)
	}
	if len(msgs) != 10 {
		t.Errorf("read %d messages after the restart, want the 10 new ones", len(msgs))
	}
}

func TestStartOffsetLatestSkipsOldMessages(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
	produce(t, b, "t", 0, 0, 10)
	fetched := observeFetch(b)
	opt := fastOptions(b, "fresh", "t")
	opt.StartOffset = "latest"
	s := newSource(t, opt)
	// A fetch request means the reader has resolved "latest" (10).
	select {
	case <-fetched:
	case <-ctx.Done():
		t.Fatal("the reader never fetched")
	}
	produce(t, b, "t", 0, 10, 3)
	msgs := messagesOf(readBatches(t, ctx, s, 3, 0))
	for _, m := range msgs {
		if m.Position.Offset < 10 {
			t.Errorf("latest start delivered old message %s", m.Position)
		}
		checkValue(t, m)
	}
}

// TestALatestStartIsKeptWhenTheMemberStopsBeforeAnyMessage pins that a new
// group starting at "latest" keeps the position it started from: a member
// that stopped before its partition received a message commits that
// position, so what is produced while no member runs is read after the
// restart instead of being skipped by a second "latest".
func TestALatestStartIsKeptWhenTheMemberStopsBeforeAnyMessage(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
	produce(t, b, "t", 0, 0, 10)
	fetched := observeFetch(b)
	opt := fastOptions(b, "fresh", "t")
	opt.StartOffset = "latest"
	first, err := kafka.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	// A fetch request means the reader has resolved "latest" (10).
	select {
	case <-fetched:
	case <-ctx.Done():
		first.Close(context.Background())
		t.Fatal("the reader never fetched")
	}
	if err := first.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got, err := b.Committed(ctx, "fresh", "t")
	if err != nil {
		t.Fatal(err)
	}
	if fmtOffsets(got) != fmtOffsets(map[int32]int64{0: 10}) {
		t.Errorf("committed after Close = %s, want [0@10] (where the member started)", fmtOffsets(got))
	}
	produce(t, b, "t", 0, 10, 3) // while no member runs

	second := newSource(t, opt)
	msgs := messagesOf(readBatches(t, ctx, second, 3, 0))
	for i, m := range msgs {
		if m.Position.Offset != int64(10+i) {
			t.Errorf("message %d after the restart is at %s, want offset %d", i, m.Position, 10+i)
		}
		checkValue(t, m)
	}
}

func TestReadStopsOnContextAndClose(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
	s, err := kafka.New(fastOptions(b, "g", "t"))
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Read(short); !errors.Is(err, context.Canceled) {
		t.Errorf("Read with a cancelled context: err = %v, want context.Canceled", err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(ctx)
		done <- err
	}()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, io.EOF) {
			t.Errorf("Read in progress during Close: err = %v, want io.EOF", err)
		}
	case <-ctx.Done():
		t.Fatal("Read in progress did not return after Close")
	}
	if _, err := s.Read(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("Read after Close: err = %v, want io.EOF", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestLagIsHighWatermarkMinusCommitted(t *testing.T) {
	tests := []struct {
		name        string
		lagInterval time.Duration
		batch       int
		// produceMore is produced after the reader stalls; only a refresh
		// from the brokers sees it.
		produceMore int
	}{
		{name: "fetched watermarks give the lag of unacknowledged messages", lagInterval: -1, batch: 4},
		{name: "the periodic refresh sees messages a stalled reader has not fetched", lagInterval: 30 * time.Millisecond, batch: 1, produceMore: 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
			produce(t, b, "t", 0, 0, 40)
			opt := fastOptions(b, "g", "t")
			opt.LagInterval, opt.MaxBatchMessages = tt.lagInterval, tt.batch
			s := newSource(t, opt)
			batches := readBatches(t, ctx, s, 10, 0)
			ackAll(t, ctx, batches)
			acked := nextOffsets(messagesOf(batches))[0]
			committedIs(t, ctx, b, "g", "t", map[int32]int64{0: acked})
			if tt.produceMore > 0 {
				produce(t, b, "t", 0, 40, tt.produceMore)
			}
			want := 40 + int64(tt.produceMore) - acked
			tp := kafka.TopicPartition{Topic: "t", Partition: 0}
			waitFor(t, ctx, "lag "+itoa(int(want)), func() (bool, string) {
				lag := s.Lag()
				return lag[tp] == want, fmtLag(lag)
			})
		})
	}
}

func waitSplit(t *testing.T, ctx context.Context, b *embedded.Broker, group string, srcs ...*kafka.Source) {
	t.Helper()
	if _, err := b.Cluster().WaitGroupStable(ctx, group, len(srcs)); err != nil {
		t.Fatalf("group %s never stable with %d members: %v", group, len(srcs), err)
	}
	waitFor(t, ctx, "every member assigned", func() (bool, string) {
		state := ""
		ok := true
		for _, s := range srcs {
			a := s.Assigned()
			state += fmtTPs(a) + " "
			if len(a) == 0 {
				ok = false
			}
		}
		return ok, state
	})
}

func partitionsOf(msgs []stream.Message) map[int32]bool {
	out := make(map[int32]bool)
	for _, m := range msgs {
		out[m.Position.Partition] = true
	}
	return out
}

func fmtTPs(tps []kafka.TopicPartition) string {
	s := "["
	for i, tp := range tps {
		if i > 0 {
			s += " "
		}
		s += tp.String()
	}
	return s + "]"
}

func fmtLag(lag map[kafka.TopicPartition]int64) string {
	keys := make([]kafka.TopicPartition, 0, len(lag))
	for k := range lag {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b kafka.TopicPartition) int { return int(a.Partition - b.Partition) })
	s := ""
	for _, k := range keys {
		s += k.String() + "=" + itoa(int(lag[k])) + " "
	}
	return s
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	neg := n < 0
	if neg {
		n = -n
	}
	var b []byte
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	if neg {
		b = append([]byte{'-'}, b...)
	}
	return string(b)
}

// TestCloseIsBoundedByItsContextWhenTheCommitHangs pins that a final commit
// the coordinator never answers does not block shutdown beyond Close's
// context.
func TestCloseIsBoundedByItsContextWhenTheCommitHangs(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
	produce(t, b, "t", 0, 0, 5)
	opt := fastOptions(b, "g", "t")
	opt.CommitInterval, opt.CommitCount = time.Hour, 1<<20 // only Close commits
	s, err := kafka.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	ackAll(t, ctx, readBatches(t, ctx, s, 5, 0))

	// From now on the broker holds every offset commit until release.
	release := make(chan struct{})
	held := make(chan struct{}, 1)
	c := b.Cluster()
	c.ControlKey(int16(kmsg.OffsetCommit), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		select {
		case held <- struct{}{}:
		default:
		}
		c.SleepControl(func() { <-release })
		return nil, nil, false
	})

	var releaseOnce sync.Once
	letGo := func() { releaseOnce.Do(func() { close(release) }) }
	defer letGo() // never leave the broker's control goroutine behind

	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	began := time.Now()
	err = s.Close(short)
	if took := time.Since(began); took > 2*time.Second {
		t.Fatalf("Close took %s with a 300ms context", took)
	}
	if err == nil {
		t.Fatal("Close with a hanging commit reported success")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		// Under load kafka-go may fail the commit on its closing
		// connection before the deadline: still bounded, still an error,
		// but then nothing was committed and there is nothing more to pin.
		t.Logf("Close failed before the deadline: %v", err)
		return
	}
	select {
	case <-held:
	default:
		t.Fatal("Close returned without attempting the final commit")
	}
	// Let the commit through: the background shutdown completes and a
	// second Close reports its outcome.
	letGo()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("second Close after the commit was released: %v", err)
	}
	committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 5})
}

// TestAcksOfARevokedPartitionAreNotCommitted pins that a member acknowledging
// messages of a generation that ended does not commit them: the partitions'
// next owner re-delivers them, nothing is lost.
func TestAcksOfARevokedPartitionAreNotCommitted(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 2})
	produce(t, b, "t", 0, 0, 10)
	produce(t, b, "t", 1, 0, 10)
	optA := fastOptions(b, "g", "t")
	optA.CommitInterval, optA.CommitCount = time.Hour, 1<<20
	a, err := kafka.New(optA)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(context.Background())
	old := readBatches(t, ctx, a, 20, 0) // generation 1: both partitions, not acked yet

	other := newSource(t, fastOptions(b, "g", "t"))
	waitSplit(t, ctx, b, "g", a, other) // generation 2
	ackAll(t, ctx, old)                 // too late: generation 1 has ended
	if got := a.Stats().StaleAcks; got != 20 {
		t.Errorf("Stats().StaleAcks = %d, want 20", got)
	}
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	co := collect(ctx, other, true)
	waitFor(t, ctx, "the other member re-delivers all 20 messages", func() (bool, string) {
		seen := make(map[stream.Position]bool)
		for _, m := range co.snapshot() {
			seen[m.Position] = true
		}
		return len(seen) == 20, "seen " + itoa(len(seen))
	})
	committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 10, 1: 10})
}

func TestTransientBrokerErrorsAreRetried(t *testing.T) {
	tests := []struct {
		name  string
		fault kfake.Fault
		check func(t *testing.T, s *kafka.Source)
	}{
		{
			name:  "fetches refused by a moving leader are retried and nothing is lost",
			fault: kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Err: kerr.NotLeaderForPartition, Count: 3},
		},
		{
			name:  "a failed offset commit is retried at the next commit",
			fault: kfake.Fault{Keys: []kmsg.Key{kmsg.OffsetCommit}, Err: kerr.CoordinatorLoadInProgress, Count: 1},
			check: func(t *testing.T, s *kafka.Source) {
				if st := s.Stats(); st.CommitErrors < 1 {
					t.Errorf("Stats().CommitErrors = %d, want the failed commit counted", st.CommitErrors)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			b := startBroker(t, embedded.Topic{Name: "t", Partitions: 2})
			produce(t, b, "t", 0, 0, 20)
			produce(t, b, "t", 1, 0, 20)
			h := b.Cluster().Fault(tt.fault)
			defer h.Remove()
			s := newSource(t, fastOptions(b, "g", "t"))
			batches := readBatches(t, ctx, s, 40, 0)
			msgs := messagesOf(batches)
			next := map[int32]int64{}
			for _, m := range msgs {
				if m.Position.Offset != next[m.Position.Partition] {
					t.Fatalf("%s: want offset %d (in order, no gap, no repeat)", m.Position, next[m.Position.Partition])
				}
				next[m.Position.Partition]++
			}
			ackAll(t, ctx, batches)
			committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 20, 1: 20})
			if err := h.Wait(ctx, max(tt.fault.Count, 1)); err != nil {
				t.Fatalf("the fault never fired: %v", err)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

// TestAPermanentErrorReachingAPartitionLeaderIsReturnedByRead pins that an
// error that will not heal while a partition's reader (re)connects to its
// leader — here missing topic authorization, as an untrusted certificate of
// that one broker would be — ends Read naming the partition, instead of
// stalling the partition with a retry for ever.
func TestAPermanentErrorReachingAPartitionLeaderIsReturnedByRead(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
	produce(t, b, "t", 0, 0, 5)
	s := newSource(t, fastOptions(b, "g", "t"))
	ackAll(t, ctx, readBatches(t, ctx, s, 5, 0)) // the reader is connected
	// From now on the topic's metadata is refused; one fetch fails as if
	// the leader moved, so the reader looks the leader up again.
	auth := b.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Metadata}, Topic: "t", Err: kerr.TopicAuthorizationFailed, Count: -1})
	defer auth.Remove()
	moved := b.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Err: kerr.NotLeaderForPartition, Count: 1})
	defer moved.Remove()
	_, err := s.Read(ctx)
	if err == nil || ctx.Err() != nil {
		t.Fatalf("Read: err = %v, want the authorization failure", err)
	}
	if !errors.Is(err, kafkago.TopicAuthorizationFailed) || !strings.Contains(err.Error(), "t[0]") {
		t.Errorf("Read: err = %v, want TopicAuthorizationFailed naming t[0]", err)
	}
}

func TestCloseLeavesNoGoroutineBehind(t *testing.T) {
	ctx := testCtx(t)
	func() {
		b, err := embedded.Start(embedded.BrokerOptions{Topics: []embedded.Topic{{Name: "t", Partitions: 3}, {Name: "dlq"}}, Logger: logger()})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		for p := range int32(3) {
			produce(t, b, "t", p, 0, 10)
		}
		opt := fastOptions(b, "g", "t")
		opt.LagInterval = 20 * time.Millisecond // the lag refresher's client too
		s, err := kafka.New(opt)
		if err != nil {
			t.Fatal(err)
		}
		ackAll(t, ctx, readBatches(t, ctx, s, 30, 0))
		w, err := kafka.NewDeadLetterWriter(opt, "dlq")
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Write(ctx, stream.Message{Value: []byte("x")}, -1, errors.New("bad")); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}()
	goleak.VerifyNone(t)
}

// A broker that refuses the group join for a while (an outage) is logged
// once, not at every retry, and the join that ends it is logged with the
// failed attempts.
func TestRepeatedJoinFailuresAreLoggedOnce(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
	produce(t, b, "t", 0, 0, 5)
	const failures = 6
	h := b.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.JoinGroup}, Err: kerr.CoordinatorNotAvailable, Count: failures})
	defer h.Remove()
	var logs syncbuf.Buffer
	opt := fastOptions(b, "g", "t")
	opt.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	s := newSource(t, kafka.WithJoinBackoff(opt, 10*time.Millisecond))
	readBatches(t, ctx, s, 5, 0)
	if err := h.Wait(ctx, failures); err != nil {
		t.Fatalf("the fault never fired: %v", err)
	}
	if st := s.Stats(); st.GroupErrors < 2 {
		t.Fatalf("Stats().GroupErrors = %d: the test wants several failed joins", st.GroupErrors)
	}
	out := logs.String()
	if n := strings.Count(out, "joining the consumer group failed"); n != 1 {
		t.Errorf("%d failure lines, want 1 (then at most one a minute); log:\n%s", n, out)
	}
	if !strings.Contains(out, "attempts=1 ") {
		t.Errorf("the first failure is logged with attempts=1; log:\n%s", out)
	}
	if !strings.Contains(out, "consumer group joined again after failures") || !strings.Contains(out, "failed_attempts=") {
		t.Errorf("no line for the join that ended the failures; log:\n%s", out)
	}
}
