package kafka_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/kafka"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// newValue is the payload produced at offset i of partition 0 of the
// recreated topic t: told apart from the old topic's value(t, 0, i).
func newValue(i int64) string { return "new/t/0/" + itoa(int(i)) }

// produceNew appends n messages, offsets from..from+n-1, to partition 0 of
// the recreated topic t.
func produceNew(t *testing.T, b *embedded.Broker, from, n int) {
	t.Helper()
	vals := make([][]byte, n)
	for i := range vals {
		vals[i] = []byte(newValue(int64(from + i)))
	}
	if err := b.Produce(context.Background(), "t", 0, vals...); err != nil {
		t.Fatal(err)
	}
}

// deleteTopic deletes topic with a DeleteTopics request, as an operator's
// tool would.
func deleteTopic(t *testing.T, ctx context.Context, b *embedded.Broker, topic string) {
	t.Helper()
	tr := &kafkago.Transport{}
	defer tr.CloseIdleConnections()
	c := &kafkago.Client{Addr: kafkago.TCP(b.Addr()), Transport: tr}
	resp, err := c.DeleteTopics(ctx, &kafkago.DeleteTopicsRequest{Topics: []string{topic}})
	if err == nil {
		err = resp.Errors[topic]
	}
	if err != nil {
		t.Fatalf("deleting topic %s: %v", topic, err)
	}
}

// commitSeq records, in order, the offsets committed on partition 0 from
// now on.
type commitSeq struct {
	mu   sync.Mutex
	offs []int64
}

func recordCommitSeq(b *embedded.Broker) *commitSeq {
	l := &commitSeq{}
	c := b.Cluster()
	c.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, t := range req.(*kmsg.OffsetCommitRequest).Topics {
			for _, p := range t.Partitions {
				if p.Partition == 0 {
					l.offs = append(l.offs, p.Offset)
				}
			}
		}
		return nil, nil, false // observe only
	})
	return l
}

func (l *commitSeq) get() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]int64(nil), l.offs...)
}

// observeFetchOrLeaderLookup returns a channel closed at the first Fetch
// request, or Metadata request of kafka-go's (a partition reader looking
// for its leader; the source's topic-id checks ask for v10+), that b
// receives from now on.
func observeFetchOrLeaderLookup(b *embedded.Broker) <-chan struct{} {
	ch := make(chan struct{})
	var once sync.Once
	c := b.Cluster()
	for _, key := range []kmsg.Key{kmsg.Fetch, kmsg.Metadata} {
		c.ControlKey(int16(key), func(req kmsg.Request) (kmsg.Response, error, bool) {
			if key == kmsg.Fetch || !isIDCheck(req) {
				once.Do(func() { close(ch) })
			}
			return nil, nil, false // observe only
		})
	}
	return ch
}

// endsWithNew reports whether the last to-from messages of msgs are the
// recreated topic's offsets from..to-1, in order.
func endsWithNew(msgs []stream.Message, from, to int64) bool {
	n := int(to - from)
	if len(msgs) < n {
		return false
	}
	for i, m := range msgs[len(msgs)-n:] {
		if m.Position.Offset != from+int64(i) || string(m.Value) != newValue(from+int64(i)) {
			return false
		}
	}
	return true
}

func describeMsgs(msgs []stream.Message) string {
	var b strings.Builder
	for i, m := range msgs {
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%d:%s", m.Position.Offset, m.Value)
	}
	return b.String()
}

// TestATopicRecreatedUnderARunningSourceIsNoticedWhateverItsNewEnd pins
// that a source notices its topic was deleted and created again by the
// topic's id, not only when the new log ends before its position: when
// the new topic holds as many messages as the old position or more by the
// time the source fetches again, or when the source fetches nothing while
// it happens. It restarts the partition from start_offset — with earliest
// the new topic is read whole, no message of it skipped — logs a warning
// naming the topic and the partition, never commits an offset of the old
// topic on the new one, counts the restart, and its lag is the new log's.
func TestATopicRecreatedUnderARunningSourceIsNoticedWhateverItsNewEnd(t *testing.T) {
	tests := []struct {
		name  string
		start string
		// busy: how the source misses the recreation. false: it has read
		// and acknowledged the old topic, and its fetches fail until the
		// new topic holds `before` messages (a deleted topic's fetches
		// fail; hold keeps its Fetch or Metadata requests failing until
		// then: the source reconnects, or waits for the topic to exist).
		// true: it holds 20 fetched messages it cannot hand on (Read is
		// not called), so it fetches nothing while the topic is recreated.
		busy   bool
		hold   string        // "fetch", "metadata" or ""
		ackOld bool          // busy: the old messages are acknowledged after the recreation
		check  time.Duration // how often the source checks its topics' ids; 0 the default
		before int           // messages in the new topic before the source can fetch it
		more   int           // produced once the source logged the restart
		// the new topic's offsets from..to-1 are the last read, in order
		from, to int64
		// the first offset committed on the new topic: where it restarted
		restartAt int64
	}{
		{name: "refilled past the position at once", start: "earliest",
			before: 30, from: 0, to: 30, restartAt: 0},
		{name: "refilled past the position while fetches failed", start: "earliest", hold: "fetch",
			before: 30, from: 0, to: 30, restartAt: 0},
		{name: "refilled past the position while the source waited for the topic to exist", start: "earliest", hold: "metadata",
			before: 30, from: 0, to: 30, restartAt: 0},
		{name: "refilled to the position exactly while fetches failed", start: "earliest", hold: "fetch",
			before: 20, more: 5, from: 0, to: 25, restartAt: 0},
		{name: "refilled past the position with latest goes on at its end", start: "latest", hold: "fetch",
			before: 30, more: 3, from: 30, to: 33, restartAt: 30},
		{name: "recreated while busy, old messages acknowledged after it", start: "earliest", busy: true, ackOld: true,
			before: 30, from: 0, to: 30, restartAt: 0},
		{name: "recreated while busy and refilled to the position, nothing acknowledged", start: "earliest", busy: true,
			check: 100 * time.Millisecond, before: 20, more: 5, from: 0, to: 25, restartAt: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
			produce(t, b, "t", 0, 0, 20)
			var logs syncbuf.Buffer
			opt := fastOptions(b, "g", "t")
			opt.StartOffset = tt.start
			opt.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			if tt.check > 0 {
				opt = kafka.WithTopicCheckInterval(opt, tt.check)
			}
			tp := kafka.TopicPartition{Topic: "t", Partition: 0}
			var fault *kfake.FaultHandle
			if tt.busy {
				opt.MaxBatchMessages = 4
			}
			commitOffset(t, ctx, b, "g", "t", 0) // the old topic is read from its start, whatever start_offset says
			s := newSource(t, opt)
			if tt.busy {
				// The 20 messages were fetched once the lag shows them;
				// 4 wait in the queue, the fetcher holds the rest.
				waitFor(t, ctx, "the source fetching the 20 messages", func() (bool, string) {
					lag := s.Lag()
					return lag[tp] == 20, fmtLag(lag)
				})
			} else {
				ackAll(t, ctx, readBatches(t, ctx, s, 20, 0))
				committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 20})
			}
			if tt.hold != "" {
				key := kmsg.Fetch
				if tt.hold == "metadata" {
					key = kmsg.Metadata
				}
				fault = b.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{key}, Topic: "t", Err: kerr.UnknownTopicOrPartition, Count: -1})
				defer fault.Remove()
			}

			deleteTopic(t, ctx, b, "t")
			if !tt.busy && tt.hold == "" {
				// The source sees the deletion — a fetch refused, or a
				// look for the partition's leader — before the topic is
				// created again; a fetch that came only after, on the old
				// connection, would read the new topic at the old
				// position first.
				select {
				case <-observeFetchOrLeaderLookup(b):
				case <-ctx.Done():
					t.Fatal("the source neither fetched nor looked for the partition's leader after the topic was deleted")
				}
			}
			if tt.hold == "metadata" {
				// The source looks for the partition's leader: it noticed
				// the deletion, and kafka-go waits for the topic to exist.
				if err := fault.Wait(ctx, 2); err != nil {
					t.Fatalf("waiting for the source's metadata requests to fail: %v", err)
				}
			}
			commits := recordCommitSeq(b)
			if err := b.CreateTopic("t", 1); err != nil {
				t.Fatal(err)
			}
			produceNew(t, b, 0, tt.before)

			var msgs []stream.Message // read after the recreation, the old topic's left out
			var batches []stream.Batch
			if tt.busy {
				old := readBatches(t, ctx, s, 20, 0)
				oldMsgs := messagesOf(old)
				for i, m := range oldMsgs[:20] {
					if m.Position.Offset != int64(i) || string(m.Value) != string(value("t", 0, i)) {
						t.Fatalf("old message %d is %d:%s, want the old topic's offset %d", i, m.Position.Offset, m.Value, i)
					}
				}
				if tt.ackOld {
					ackAll(t, ctx, old)
				}
				msgs = append(msgs, oldMsgs[20:]...)
			}
			if tt.hold == "fetch" {
				// The source fetched the new topic, in vain.
				if err := fault.Wait(ctx, 1); err != nil {
					t.Fatalf("waiting for the source's fetch requests to fail: %v", err)
				}
			}
			if tt.hold != "" {
				fault.Remove()
			}
			const restartLine = "created again"
			readUntil := func(what string, cond func() bool) {
				t.Helper()
				for !cond() {
					rctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
					bt, err := s.Read(rctx)
					cancel()
					if err != nil {
						if ctx.Err() != nil {
							t.Fatalf("%s: never happened; read %s; log:\n%s", what, describeMsgs(msgs), logs.String())
						}
						continue
					}
					batches = append(batches, bt)
					msgs = append(msgs, bt.Messages...)
				}
			}
			readUntil("the warning that the topic was "+restartLine, func() bool { return strings.Contains(logs.String(), restartLine) })
			if tt.more > 0 {
				produceNew(t, b, tt.before, tt.more)
			}
			readUntil(fmt.Sprintf("the new topic's offsets %d to %d read last", tt.from, tt.to-1), func() bool { return endsWithNew(msgs, tt.from, tt.to) })
			for _, m := range msgs {
				if string(m.Value) != newValue(m.Position.Offset) {
					t.Errorf("message at %s has value %q: not the new topic's", m.Position, m.Value)
				}
			}
			if !tt.busy && len(msgs) != int(tt.to-tt.from) {
				// It noticed the new topic when it connected to it: it
				// read nothing of it at the old position.
				t.Errorf("read %s after the recreation, want only offsets %d to %d", describeMsgs(msgs), tt.from, tt.to-1)
			}
			ackAll(t, ctx, batches)
			committedIs(t, ctx, b, "g", "t", map[int32]int64{0: tt.to})
			if got := commits.get(); len(got) == 0 || got[0] != tt.restartAt {
				t.Errorf("offsets committed on the new topic: %v, want the first at %d (where it restarted): an offset of the old topic was committed on the new one; log:\n%s", got, tt.restartAt, logs.String())
			}
			var line string
			for l := range strings.Lines(logs.String()) {
				if strings.Contains(l, restartLine) {
					line = l
					break
				}
			}
			if !strings.Contains(line, "level=WARN") || !strings.Contains(line, "topic=t ") || !strings.Contains(line, "t[0]") {
				t.Errorf("log line %q: want a warning naming topic t and partition t[0]", line)
			}
			if got := s.Stats().OffsetResets; got != 1 {
				t.Errorf("Stats().OffsetResets = %d, want 1", got)
			}
			waitFor(t, ctx, "Lag() t[0]:0", func() (bool, string) {
				lag := s.Lag()
				return len(lag) == 1 && lag[tp] == 0, fmtLag(lag)
			})
		})
	}
}

// TestATopicRecreatedIsNoticedOverTLSAndSASL pins that the topic ids are
// asked for with the source's TLS and SASL settings (through a client of
// their own, as kafka-go cannot ask for them): over TLS, with each SASL
// mechanism, a topic recreated with more messages than the position is
// noticed and read whole. The source's fetches fail while the topic is
// recreated, so that it connects to the new topic (and checks its id)
// before it fetches it: a fetch that came after the recreation on the old
// connection would read the new topic at the old position first, as
// kafka.md says a replica that was not fetching may.
func TestATopicRecreatedIsNoticedOverTLSAndSASL(t *testing.T) {
	p := newPKI(t)
	for _, mech := range []string{"plain", "scram-sha-256", "scram-sha-512"} {
		t.Run(mech, func(t *testing.T) {
			ctx := testCtx(t)
			b, err := embedded.Start(embedded.BrokerOptions{
				Topics: []embedded.Topic{{Name: "t", Partitions: 1}},
				TLS:    p.Server,
				Users:  []embedded.User{{Mechanism: mech, Name: "iocwatch", Password: "s3cret"}},
				Logger: logger(),
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(b.Close)
			produce(t, b, "t", 0, 0, 20)
			opt := fastOptions(b, "g", "t")
			if opt.TLS, err = kafka.TLSConfig(p.CAFile, "", "", "", false); err != nil {
				t.Fatal(err)
			}
			if opt.SASL, err = kafka.SASLMechanism(mech, "iocwatch", "s3cret"); err != nil {
				t.Fatal(err)
			}
			s := newSource(t, opt)
			ackAll(t, ctx, readBatches(t, ctx, s, 20, 0))
			committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 20})

			fault := b.Cluster().Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Fetch}, Topic: "t", Err: kerr.UnknownTopicOrPartition, Count: -1})
			defer fault.Remove()
			if err := b.Cluster().DeleteTopic("t"); err != nil {
				t.Fatal(err)
			}
			if err := b.CreateTopic("t", 1); err != nil {
				t.Fatal(err)
			}
			produceNew(t, b, 0, 30)
			// A fetch failed after the recreation: the source connects
			// again, to the new topic.
			if err := fault.Wait(ctx, fault.Hits()+1); err != nil {
				t.Fatalf("waiting for the source's fetch requests to fail: %v", err)
			}
			fault.Remove()
			var msgs []stream.Message
			var batches []stream.Batch
			for !endsWithNew(msgs, 0, 30) {
				bt, err := s.Read(ctx)
				if err != nil {
					t.Fatalf("Read: %v; read %s, want the new topic's offsets 0 to 29", err, describeMsgs(msgs))
				}
				batches = append(batches, bt)
				msgs = append(msgs, bt.Messages...)
			}
			if len(msgs) != 30 {
				t.Errorf("read %s after the recreation, want only offsets 0 to 29", describeMsgs(msgs))
			}
			ackAll(t, ctx, batches)
			committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 30})
			if got := s.Stats().OffsetResets; got != 1 {
				t.Errorf("Stats().OffsetResets = %d, want 1", got)
			}
		})
	}
}

// TestATopicIDCheckThatFailsRestartsNothing pins that a check of the topic
// ids that fails is not taken for a recreation. Whether the brokers do not
// answer it or answer it with an error for the topic, commits go on (see
// TestCommitsGoOnWhileTheTopicIDCheckCannotAnswer), nothing is restarted,
// and once the check is answered again the messages are not read again.
func TestATopicIDCheckThatFailsRestartsNothing(t *testing.T) {
	tests := []struct {
		name   string
		silent bool // the topic-id requests get no answer; else an error for the topic
	}{
		{name: "no answer", silent: true},
		{name: "an error for the topic", silent: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
			produce(t, b, "t", 0, 0, 10)
			var logs syncbuf.Buffer
			opt := kafka.WithTopicCheckInterval(fastOptions(b, "g", "t"), 50*time.Millisecond)
			opt.Logger = slog.New(slog.NewTextHandler(&logs, nil))
			s := newSource(t, opt)
			ackAll(t, ctx, readBatches(t, ctx, s, 10, 0))
			committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 10}) // checked: the topic's id is known

			// Only the source's own client asks for Metadata v10+ (kafka-go
			// asks for v8 at most).
			ids := func(req kmsg.Request) bool { return req.GetVersion() >= 10 }
			c := b.Cluster()
			var failed atomic.Int64
			var stop atomic.Bool
			answered := make(chan struct{}, 1)
			c.ControlKey(int16(kmsg.Metadata), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				if !ids(req) {
					return nil, nil, false
				}
				if stop.Load() {
					select {
					case answered <- struct{}{}:
					default:
					}
					return nil, nil, false
				}
				failed.Add(1)
				if tt.silent {
					return nil, nil, true // no answer
				}
				return nil, nil, false
			})
			var fault *kfake.FaultHandle
			if !tt.silent {
				fault = c.Fault(kfake.Fault{Keys: []kmsg.Key{kmsg.Metadata}, Topic: "t", Err: kerr.LeaderNotAvailable, Count: -1, When: ids})
				defer fault.Remove()
			}
			waitFor(t, ctx, "a check failing", func() (bool, string) { return failed.Load() > 0, fmt.Sprint(failed.Load()) })

			produce(t, b, "t", 0, 10, 5)
			ackAll(t, ctx, readBatches(t, ctx, s, 5, 0))
			committedIs(t, ctx, b, "g", "t", map[int32]int64{0: 15})
			if fault != nil {
				fault.Remove()
			}
			stop.Store(true)
			select {
			case <-answered:
			case <-ctx.Done():
				t.Fatal("no check answered after the failures")
			}
			if st := s.Stats(); st.OffsetResets != 0 || st.Messages != 15 {
				t.Errorf("Stats() = %+v, want no offset reset and the 15 messages read once", st)
			}
			if strings.Contains(logs.String(), "the topic was deleted and created again") {
				t.Errorf("a failed check was taken for a recreation; log:\n%s", logs.String())
			}
		})
	}
}
