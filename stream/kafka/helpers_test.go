package kafka_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
	"go.uber.org/goleak"

	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/kafka"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// logger is silent unless IOCWATCH_TEST_LOG is set (then Debug to stderr).
func logger() *slog.Logger {
	if os.Getenv("IOCWATCH_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// testCtx is a generous deadline for one test: a hung test fails with a
// message instead of hanging the suite. It is not a speed measurement.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startBroker(t *testing.T, topics ...embedded.Topic) *embedded.Broker {
	t.Helper()
	b, err := embedded.Start(embedded.BrokerOptions{Topics: topics, Logger: logger()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Close)
	return b
}

// value is the payload produced at a position: "topic/partition/index".
func value(topic string, partition int32, i int) []byte {
	return fmt.Appendf(nil, "%s/%d/%d", topic, partition, i)
}

// produce appends n messages, indexes from..from+n-1, to one partition.
func produce(t *testing.T, b *embedded.Broker, topic string, partition int32, from, n int) {
	t.Helper()
	vals := make([][]byte, n)
	for i := range vals {
		vals[i] = value(topic, partition, from+i)
	}
	if err := b.Produce(context.Background(), topic, partition, vals...); err != nil {
		t.Fatal(err)
	}
}

// fastOptions are options for tests: quick heartbeats and short fetch waits
// so rebalances and Close take a fraction of a second.
func fastOptions(b *embedded.Broker, group string, topics ...string) kafka.Options {
	return kafka.Options{
		Brokers:           []string{b.Addr()},
		Topics:            topics,
		Group:             group,
		MaxWait:           100 * time.Millisecond,
		HeartbeatInterval: 100 * time.Millisecond,
		SessionTimeout:    6 * time.Second,
		RebalanceTimeout:  3 * time.Second,
		CommitInterval:    50 * time.Millisecond,
		LagInterval:       -1,
		Logger:            logger(),
	}
}

func newSource(t *testing.T, opt kafka.Options) *kafka.Source {
	t.Helper()
	s, err := kafka.New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// readBatches reads until at least n messages arrived, checking that every
// batch is within max messages.
func readBatches(t *testing.T, ctx context.Context, s *kafka.Source, n, max int) []stream.Batch {
	t.Helper()
	var out []stream.Batch
	got := 0
	for got < n {
		b, err := s.Read(ctx)
		if err != nil {
			t.Fatalf("Read after %d of %d messages: %v", got, n, err)
		}
		if len(b.Messages) == 0 || (max > 0 && len(b.Messages) > max) {
			t.Fatalf("Read returned a batch of %d messages, want 1..%d", len(b.Messages), max)
		}
		out = append(out, b)
		got += len(b.Messages)
	}
	return out
}

func messagesOf(batches []stream.Batch) []stream.Message {
	var out []stream.Message
	for _, b := range batches {
		out = append(out, b.Messages...)
	}
	return out
}

func ackAll(t *testing.T, ctx context.Context, batches []stream.Batch) {
	t.Helper()
	for _, b := range batches {
		if err := b.Ack(ctx); err != nil {
			t.Fatalf("Ack: %v", err)
		}
	}
}

// checkValue fails when a message's value does not match its position.
func checkValue(t *testing.T, m stream.Message) {
	t.Helper()
	want := value(m.Position.Source, m.Position.Partition, int(m.Position.Offset))
	if string(m.Value) != string(want) {
		t.Errorf("message at %s has value %q, want %q", m.Position, m.Value, want)
	}
}

// nextOffsets returns, per partition, the offset after the last message.
func nextOffsets(msgs []stream.Message) map[int32]int64 {
	out := make(map[int32]int64)
	for _, m := range msgs {
		if m.Position.Offset+1 > out[m.Position.Partition] {
			out[m.Position.Partition] = m.Position.Offset + 1
		}
	}
	return out
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(t *testing.T, ctx context.Context, what string, cond func() (bool, string)) {
	t.Helper()
	var last string
	for {
		ok, state := cond()
		if ok {
			return
		}
		last = state
		select {
		case <-ctx.Done():
			t.Fatalf("%s: never happened; last state: %s", what, last)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// committedIs waits until the group's committed offsets on topic equal want.
func committedIs(t *testing.T, ctx context.Context, b *embedded.Broker, group, topic string, want map[int32]int64) {
	t.Helper()
	waitFor(t, ctx, "committed offsets "+fmtOffsets(want), func() (bool, string) {
		got, err := b.Committed(ctx, group, topic)
		if err != nil {
			return false, err.Error()
		}
		return fmtOffsets(got) == fmtOffsets(want), fmtOffsets(got)
	})
}

func fmtOffsets(m map[int32]int64) string {
	var parts []string
	for p := range int32(64) {
		if o, ok := m[p]; ok {
			parts = append(parts, strconv.Itoa(int(p))+"@"+strconv.FormatInt(o, 10))
		}
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// collector reads from a source in the background, acking when told to.
type collector struct {
	mu   sync.Mutex
	msgs []stream.Message
	err  error
	done chan struct{}
}

func collect(ctx context.Context, s *kafka.Source, ack bool) *collector {
	c := &collector{done: make(chan struct{})}
	go func() {
		defer close(c.done)
		for {
			b, err := s.Read(ctx)
			if err != nil {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
				return
			}
			if ack {
				b.Ack(ctx)
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, b.Messages...)
			c.mu.Unlock()
		}
	}()
	return c
}

func (c *collector) snapshot() []stream.Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]stream.Message(nil), c.msgs...)
}

// commitLog records every OffsetCommit request the broker receives.
type commitLog struct {
	mu sync.Mutex
	hi map[int32]int64
}

// recordCommits starts recording the offsets committed on b.
func recordCommits(b *embedded.Broker) *commitLog {
	l := &commitLog{hi: make(map[int32]int64)}
	c := b.Cluster()
	c.ControlKey(int16(kmsg.OffsetCommit), func(req kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		l.mu.Lock()
		defer l.mu.Unlock()
		for _, t := range req.(*kmsg.OffsetCommitRequest).Topics {
			for _, p := range t.Partitions {
				if o, ok := l.hi[p.Partition]; !ok || p.Offset > o {
					l.hi[p.Partition] = p.Offset
				}
			}
		}
		return nil, nil, false // observe only: the broker handles the commit
	})
	return l
}

// max returns the highest offset committed per partition so far.
func (l *commitLog) max() map[int32]int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[int32]int64, len(l.hi))
	for p, o := range l.hi {
		out[p] = o
	}
	return out
}

// observeFetch returns a channel closed at the first Fetch request b
// receives from now on.
func observeFetch(b *embedded.Broker) <-chan struct{} {
	ch := make(chan struct{})
	var once sync.Once
	b.Cluster().ControlKey(int16(kmsg.Fetch), func(kmsg.Request) (kmsg.Response, error, bool) {
		once.Do(func() { close(ch) })
		return nil, nil, false
	})
	return ch
}
