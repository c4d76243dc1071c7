package kafka_test

import (
	"context"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/kafka"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// commitOffset commits offset for partition 0 of topic as group, which has
// no member: a simple commit, as an operator's tool would make.
func commitOffset(t *testing.T, ctx context.Context, b *embedded.Broker, group, topic string, offset int64) {
	t.Helper()
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafkago.Client{Addr: kafkago.TCP(b.Addr()), Transport: tr}
	resp, err := c.OffsetCommit(ctx, &kafkago.OffsetCommitRequest{
		GroupID: group, GenerationID: -1,
		Topics: map[string][]kafkago.OffsetCommit{topic: {{Partition: 0, Offset: offset}}},
	})
	if err != nil {
		t.Fatalf("committing %s[0]@%d: %v", topic, offset, err)
	}
	for _, p := range resp.Topics[topic] {
		if p.Error != nil {
			t.Fatalf("committing %s[0]@%d: %v", topic, offset, p.Error)
		}
	}
}

// checkOffsets fails unless msgs are exactly the offsets from..to-1 of
// partition 0, in order, each with its value.
func checkOffsets(t *testing.T, msgs []stream.Message, from, to int64) {
	t.Helper()
	if len(msgs) != int(to-from) {
		t.Errorf("read %d messages, want offsets %d to %d", len(msgs), from, to-1)
	}
	for i, m := range msgs {
		if m.Position.Offset != from+int64(i) {
			t.Errorf("message %d is at %s, want offset %d", i, m.Position, from+int64(i))
		}
		checkValue(t, m)
	}
}

// TestAPositionOutsideTheLogRestartsThePartition pins what a source does
// when the group's committed offset of a partition is not in its log: past
// the end (the topic was recreated, the log truncated) it restarts the
// partition from start_offset, as Kafka's auto.offset.reset; before the
// start (retention deleted unread messages) it skips to the first retained
// message whatever start_offset says, so falling behind retention never
// drops messages that are still there.
func TestAPositionOutsideTheLogRestartsThePartition(t *testing.T) {
	tests := []struct {
		name      string
		start     string
		committed int64 // the group's committed offset; the log holds 0..9
		deleteTo  int64 // the log starts here (retention); 0: nothing deleted
		// produced after the source logged what it did
		more int
		// what is read: offsets from..to-1
		from, to int64
		log      string // a line the source logs, naming the partition and the offset
		resets   int64
		// committed before any ack: where the partition restarted, so that
		// a restart of the source does not restart it again; -1 unchanged
		restartAt int64
	}{
		{name: "past the end with earliest reads the log from its start", start: "earliest", committed: 100,
			from: 0, to: 10, log: "restarting it from start_offset", resets: 1, restartAt: 0},
		{name: "past the end with latest reads what comes next", start: "latest", committed: 100, more: 3,
			from: 10, to: 13, log: "restarting it from start_offset", resets: 1, restartAt: 10},
		{name: "before the log start with earliest skips to the first retained message", start: "earliest", committed: 3, deleteTo: 6,
			from: 6, to: 10, log: "deleted before they were read", restartAt: -1},
		{name: "before the log start with latest still reads every retained message", start: "latest", committed: 3, deleteTo: 6,
			from: 6, to: 10, log: "deleted before they were read", restartAt: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
			produce(t, b, "t", 0, 0, 10)
			if tt.deleteTo > 0 {
				if err := b.Cluster().DeleteRecords("t", 0, tt.deleteTo); err != nil {
					t.Fatal(err)
				}
			}
			commitOffset(t, ctx, b, "g", "t", tt.committed)
			var logs syncbuf.Buffer
			opt := fastOptions(b, "g", "t")
			opt.StartOffset = tt.start
			opt.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			s := newSource(t, opt)
			waitFor(t, ctx, "the log line "+tt.log, func() (bool, string) {
				return strings.Contains(logs.String(), tt.log), logs.String()
			})
			line := ""
			for l := range strings.Lines(logs.String()) {
				if strings.Contains(l, tt.log) {
					line = l
				}
			}
			if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "partition=t[0]") || !strings.Contains(line, "offset="+itoa(int(tt.committed))) {
				t.Errorf("log line %q: want a warning naming t[0] and offset %d", line, tt.committed)
			}
			if tt.restartAt >= 0 {
				committedIs(t, ctx, b, "g", "t", map[int32]int64{0: tt.restartAt})
			}
			if tt.more > 0 {
				produce(t, b, "t", 0, 10, tt.more)
			}
			batches := readBatches(t, ctx, s, int(tt.to-tt.from), 0)
			checkOffsets(t, messagesOf(batches), tt.from, tt.to)
			ackAll(t, ctx, batches)
			committedIs(t, ctx, b, "g", "t", map[int32]int64{0: tt.to})
			if got := s.Stats().OffsetResets; got != tt.resets {
				t.Errorf("Stats().OffsetResets = %d, want %d", got, tt.resets)
			}
		})
	}
}

// TestATopicRecreatedUnderARunningSourceIsReadFromItsStart pins that a
// source whose topic is deleted and created again while it reads it goes
// on with the new topic from its start (start_offset earliest), and that
// acknowledgements of messages of the old topic, arriving after that, are
// not committed on the new one.
func TestATopicRecreatedUnderARunningSourceIsReadFromItsStart(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
	produce(t, b, "t", 0, 0, 20)
	opt := fastOptions(b, "g", "t")
	s := newSource(t, opt)
	old := readBatches(t, ctx, s, 20, 0) // not acknowledged yet

	if err := b.Cluster().DeleteTopic("t"); err != nil {
		t.Fatal(err)
	}
	if err := b.CreateTopic("t", 1); err != nil {
		t.Fatal(err)
	}
	produce(t, b, "t", 0, 0, 5)
	batches := readBatches(t, ctx, s, 5, 0)
	checkOffsets(t, messagesOf(batches), 0, 5)
	ackAll(t, ctx, old) // too late: their log is gone
	ackAll(t, ctx, batches)
	committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 5})
	// The broker has the commit a moment before the source has its answer:
	// wait for the source's view. With the old log's high watermark (20)
	// the lag would stay at 15.
	waitFor(t, ctx, "Lag() t[0]:0 (the old log's high watermark is not this one's)", func() (bool, string) {
		lag := s.Lag()
		return len(lag) == 1 && lag[kafka.TopicPartition{Topic: "t", Partition: 0}] == 0, fmtLag(lag)
	})
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	got, err := b.Committed(ctx, "g", "t")
	if err != nil {
		t.Fatal(err)
	}
	if fmtOffsets(got) != fmtOffsets(map[int32]int64{0: 5}) {
		t.Errorf("committed after Close = %s, want [0@5]: an ack of the old topic was committed on the new one", fmtOffsets(got))
	}
	if st := s.Stats(); st.OffsetResets != 1 || st.StaleAcks != 20 {
		t.Errorf("Stats() = %+v, want OffsetResets 1 and StaleAcks 20", st)
	}
}

// logEnd watches the requests for the log end ("latest") of one
// partition and counts them. With stale at 0 or more, the broker answers
// the next one with stale instead of the real end, as a leader that has
// just taken over may, and the ones after it truly.
func logEnd(b *embedded.Broker, stale int64) *atomic.Int64 {
	var asked atomic.Int64
	c := b.Cluster()
	c.ControlKey(int16(kmsg.ListOffsets), func(r kmsg.Request) (kmsg.Response, error, bool) {
		req := r.(*kmsg.ListOffsetsRequest)
		if len(req.Topics) != 1 || len(req.Topics[0].Partitions) != 1 || req.Topics[0].Partitions[0].Timestamp != -1 {
			return nil, nil, false // not the log end: the broker answers
		}
		if asked.Add(1) > 1 || stale < 0 {
			return nil, nil, false
		}
		resp := req.ResponseKind().(*kmsg.ListOffsetsResponse)
		resp.Version = req.Version
		rt := kmsg.NewListOffsetsResponseTopic()
		rt.Topic = req.Topics[0].Topic
		rp := kmsg.NewListOffsetsResponseTopicPartition()
		rp.Partition = req.Topics[0].Partitions[0].Partition
		rp.Timestamp = -1
		rp.Offset = stale
		rp.OldStyleOffsets = []int64{stale} // version 0
		rt.Partitions = append(rt.Partitions, rp)
		resp.Topics = append(resp.Topics, rt)
		c.KeepControl() // and watch on
		return resp, nil, true
	})
	return &asked
}

// TestAPositionTheLogHoldsIsNotRestarted pins that only a position past
// the end of the log on the broker's word restarts a partition: a log end
// reported below the position (a new leader's high watermark that has not
// caught up yet) does not, nor does a refusal after which the log holds
// the position. A restart there would read the whole partition again.
func TestAPositionTheLogHoldsIsNotRestarted(t *testing.T) {
	tests := []struct {
		name  string
		fetch *kerr.Error // what the broker answers one fetch with
		stale bool        // and the log end reported when the source reconnects is below its position
	}{
		{name: "a leader move and a stale log end", fetch: kerr.NotLeaderForPartition, stale: true},
		{name: "an out-of-range refusal at the log end, which holds the position", fetch: kerr.OffsetOutOfRange},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
			produce(t, b, "t", 0, 0, 20)
			s := newSource(t, fastOptions(b, "g", "t"))
			ackAll(t, ctx, readBatches(t, ctx, s, 20, 0))
			committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 20})
			stale := int64(-1)
			if tt.stale {
				stale = 10
			}
			asked := logEnd(b, stale)
			h := b.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Topic: "t", Err: tt.fetch})
			defer h.Remove()
			// The source reconnects and reads the log's range; only then
			// do more messages arrive, so the end it saw is 20 (or 10).
			waitFor(t, ctx, "the source reading the log end again", func() (bool, string) {
				return asked.Load() > 0, "fetch fault hits " + itoa(h.Hits())
			})
			produce(t, b, "t", 0, 20, 5)
			batches := readBatches(t, ctx, s, 5, 0)
			checkOffsets(t, messagesOf(batches), 20, 25)
			ackAll(t, ctx, batches)
			committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 25})
			if got := s.Stats().OffsetResets; got != 0 {
				t.Errorf("Stats().OffsetResets = %d, want 0", got)
			}
		})
	}
}
