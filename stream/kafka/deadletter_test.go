package kafka_test

import (
	"bytes"
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/kafka"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// readDLQ reads n messages from partition 0 of topic.
func readDLQ(t *testing.T, ctx context.Context, b *embedded.Broker, topic string, n int) []kafkago.Message {
	t.Helper()
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, Topic: topic, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	var out []kafkago.Message
	for len(out) < n {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			t.Fatalf("reading the dead-letter topic: %v", err)
		}
		out = append(out, m)
	}
	return out
}

func headers(m kafkago.Message) map[string]string {
	out := make(map[string]string)
	for _, h := range m.Headers {
		out[h.Key] = string(h.Value)
	}
	return out
}

func TestDeadLetterWriterSendsTheMessageWithItsOrigin(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "dlq", Partitions: 1})
	w, err := kafka.NewDeadLetterWriter(kafka.Options{Brokers: []string{b.Addr()}, Logger: logger()}, "dlq")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())

	long := strings.Repeat("é", 6000) // 12000 bytes: truncated at a rune boundary
	tests := []struct {
		name   string
		msg    stream.Message
		record int
		cause  error
		want   map[string]string
	}{
		{
			name:   "a broken record of a Kafka message carries topic, partition, offset, record and error",
			msg:    stream.Message{Value: []byte(`{"records":[{"category":1}]}`), Position: stream.Position{Source: "defender", Partition: 3, Offset: 1182}},
			record: 7, cause: errors.New(`decode defender[3]@1182 record 7: RemoteIP "1.2.3": bad`),
			want: map[string]string{
				kafka.HeaderSourceTopic: "defender", kafka.HeaderSourcePartition: "3", kafka.HeaderSourceOffset: "1182",
				kafka.HeaderRecord: "7", kafka.HeaderError: `decode defender[3]@1182 record 7: RemoteIP "1.2.3": bad`,
			},
		},
		{
			name:   "a whole undecodable file line has record -1 and partition -1",
			msg:    stream.Message{Value: []byte{0xff, 0xfe, 'x'}, Position: stream.Position{Source: "export.jsonl", Partition: -1, Offset: 14}},
			record: -1, cause: errors.New("not JSON"),
			want: map[string]string{
				kafka.HeaderSourceTopic: "export.jsonl", kafka.HeaderSourcePartition: "-1", kafka.HeaderSourceOffset: "14",
				kafka.HeaderRecord: "-1", kafka.HeaderError: "not JSON",
			},
		},
		{
			name:   "a very long error is cut to 8 KiB of valid UTF-8",
			msg:    stream.Message{Value: []byte("{}"), Position: stream.Position{Source: "defender", Partition: 0, Offset: 1}},
			record: 0, cause: errors.New(long),
			want: map[string]string{kafka.HeaderError: long[:8<<10]},
		},
	}
	for _, tt := range tests {
		if err := w.Write(ctx, tt.msg, tt.record, tt.cause); err != nil {
			t.Fatalf("%s: Write: %v", tt.name, err)
		}
	}
	got := readDLQ(t, ctx, b, "dlq", len(tests))
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := got[i]
			if string(m.Value) != string(tt.msg.Value) {
				t.Errorf("value = %q, want the original %q", m.Value, tt.msg.Value)
			}
			if string(m.Key) != tt.msg.Position.String() {
				t.Errorf("key = %q, want %q", m.Key, tt.msg.Position.String())
			}
			h := headers(m)
			for k, v := range tt.want {
				if h[k] != v {
					t.Errorf("header %s = %.60q…, want %.60q…", k, h[k], v)
				}
			}
			if !utf8.ValidString(h[kafka.HeaderError]) {
				t.Error("error header is not valid UTF-8")
			}
			if ts, err := time.Parse(time.RFC3339Nano, h[kafka.HeaderTime]); err != nil || time.Since(ts) > time.Minute {
				t.Errorf("time header %q: %v", h[kafka.HeaderTime], err)
			}
		})
	}
}

func TestDeadLetterWriterErrors(t *testing.T) {
	t.Run("options and topic are validated", func(t *testing.T) {
		_, err := kafka.NewDeadLetterWriter(kafka.Options{}, "")
		if err == nil || !strings.Contains(err.Error(), "brokers") || !strings.Contains(err.Error(), "dead_letter_topic") {
			t.Fatalf("err = %v, want brokers and dead_letter_topic named", err)
		}
	})
	t.Run("a write to a missing topic fails naming the position", func(t *testing.T) {
		b := startBroker(t)
		w, err := kafka.NewDeadLetterWriter(kafka.Options{Brokers: []string{b.Addr()}, Logger: logger()}, "missing")
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close(context.Background())
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		err = w.Write(ctx, stream.Message{Value: []byte("x"), Position: stream.Position{Source: "d", Partition: 1, Offset: 2}}, -1, errors.New("bad"))
		if err == nil || !strings.Contains(err.Error(), "d[1]@2") {
			t.Fatalf("err = %v, want an error naming d[1]@2", err)
		}
	})
	t.Run("Write after Close returns ErrClosed and Close is safe twice", func(t *testing.T) {
		b := startBroker(t, embedded.Topic{Name: "dlq"})
		w, err := kafka.NewDeadLetterWriter(kafka.Options{Brokers: []string{b.Addr()}}, "dlq")
		if err != nil {
			t.Fatal(err)
		}
		ctx := testCtx(t)
		if err := w.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(ctx); err != nil {
			t.Fatalf("second Close: %v", err)
		}
		if err := w.Write(ctx, stream.Message{}, -1, errors.New("x")); !errors.Is(err, kafka.ErrClosed) {
			t.Fatalf("Write after Close: err = %v, want ErrClosed", err)
		}
	})
}

// TestDeadLetterWriterSendsAMessageLargerThanOneMiB pins that a message
// the pipeline dead-letters for being too large (over
// pipeline.max_message_bytes, 1 MiB) reaches a dead-letter topic whose
// max.message.bytes allows it: the size limit is the broker's, not a
// client-side cap that would make every oversized message stop the
// pipeline.
func TestDeadLetterWriterSendsAMessageLargerThanOneMiB(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t)
	if err := b.Cluster().CreateTopic("dlq", 1, map[string]string{"max.message.bytes": strconv.Itoa(8 << 20)}); err != nil {
		t.Fatal(err)
	}
	w, err := kafka.NewDeadLetterWriter(kafka.Options{Brokers: []string{b.Addr()}, Logger: logger()}, "dlq")
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	value := bytes.Repeat([]byte("x"), 2<<20)
	msg := stream.Message{Value: value, Position: stream.Position{Source: "defender", Partition: 2, Offset: 77}}
	if err := w.Write(ctx, msg, -1, errors.New("message too large (2097152 > 1048576 bytes)")); err != nil {
		t.Fatalf("Write of a 2 MiB message to a topic that takes 8 MiB: %v", err)
	}
	r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{b.Addr()}, Topic: "dlq", MaxBytes: 8 << 20, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	m, err := r.FetchMessage(ctx)
	if err != nil {
		t.Fatalf("reading the dead-letter topic: %v", err)
	}
	if !bytes.Equal(m.Value, value) || string(m.Key) != "defender[2]@77" {
		t.Errorf("dead letter: key %q, %d value bytes; want key defender[2]@77 and the %d original bytes", m.Key, len(m.Value), len(value))
	}
}
