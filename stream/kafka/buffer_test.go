package kafka_test

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// bigValue is the payload produced at a position: its name, then a filler
// byte that depends on the position, size bytes in all (at least the name).
func bigValue(topic string, partition int32, i, size int) []byte {
	v := fmt.Appendf(nil, "%s/%d/%d/", topic, partition, i)
	fill := byte('a' + (int(partition)*7+i)%26)
	return append(v, bytes.Repeat([]byte{fill}, max(0, size-len(v)))...)
}

// bigSize varies the value sizes (3–9 KB) so that values straddle the ends
// of buffers.
func bigSize(i int) int { return 3000 + (i*7919)%6000 }

// produced is what a test produced, by position.
type produced map[stream.Position][]byte

// produceBig produces n values of size(i) bytes to a partition, per
// produce request (one record batch each), and records them in want.
func produceBig(t *testing.T, b *embedded.Broker, want produced, topic string, p int32, n, per int, size func(int) int) int64 {
	t.Helper()
	var total int64
	for from := 0; from < n; from += per {
		var vals [][]byte
		for i := from; i < min(from+per, n); i++ {
			v := bigValue(topic, p, i, size(i))
			want[stream.Position{Source: topic, Partition: p, Offset: int64(i)}] = v
			vals = append(vals, v)
			total += int64(len(v))
		}
		if err := b.Produce(context.Background(), topic, p, vals...); err != nil {
			t.Fatal(err)
		}
	}
	return total
}

// check fails when a message's value is not what was produced at its
// position (a reused buffer overwrote it).
func (want produced) check(t *testing.T, m stream.Message) {
	t.Helper()
	w, ok := want[m.Position]
	if !ok {
		t.Fatalf("message at %s was never produced", m.Position)
	}
	if !bytes.Equal(m.Value, w) {
		t.Fatalf("message at %s: value %q… (%d bytes) is not what was produced (%d bytes)", m.Position, m.Value[:min(len(m.Value), 40)], len(m.Value), len(w))
	}
}

// TestValueBuffersAreReusedOnlyAfterRelease holds batches back, as the
// pipeline does while workers and sinks still read them, and checks that
// the buffers the source reuses never overwrite a value still held.
func TestValueBuffersAreReusedOnlyAfterRelease(t *testing.T) {
	const (
		partitions = 2
		perPart    = 300 // × ~6 KB: ~1.8 MB per partition
		maxBytes   = 64 << 10
		bufSize    = 2 * maxBytes
	)
	tests := []struct {
		name string
		// hold is how many batches stay unreleased (never: all of them).
		hold  int
		never bool
		// twice releases every batch twice.
		twice bool
	}{
		{name: "released batches free their buffers and held batches keep their values", hold: 8},
		{name: "a batch released twice does not free buffers that later batches still use", hold: 8, twice: true},
		{name: "one batch held at a time still sees its own values", hold: 1},
		{name: "batches that are never released keep every value and no buffer is reused", never: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			b := startBroker(t, embedded.Topic{Name: "t", Partitions: partitions})
			want := produced{}
			var total int64
			for p := range int32(partitions) {
				total += produceBig(t, b, want, "t", p, perPart, 6, bigSize)
			}
			opt := fastOptions(b, "g", "t")
			opt.MaxBytes = maxBytes
			opt.MaxBatchMessages = 5
			s := newSource(t, opt)
			var held []stream.Batch
			got := 0
			for got < partitions*perPart {
				batch, err := s.Read(ctx)
				if err != nil {
					t.Fatalf("Read after %d messages: %v", got, err)
				}
				got += len(batch.Messages)
				if err := batch.Ack(ctx); err != nil {
					t.Fatal(err)
				}
				held = append(held, batch)
				// Every value still held is intact.
				for _, hb := range held {
					for _, m := range hb.Messages {
						want.check(t, m)
					}
				}
				if !tt.never && len(held) > tt.hold {
					held[0].Release()
					if tt.twice {
						held[0].Release()
					}
					held = held[1:]
				}
			}
			// Without reuse, the values need at least this many buffers.
			withoutReuse := total / bufSize
			st := s.Stats()
			if !tt.never && st.Buffers >= withoutReuse {
				t.Errorf("Stats().Buffers = %d for %d bytes of values in %d-byte buffers: no buffer was reused", st.Buffers, total, bufSize)
			}
			if tt.never && st.Buffers < withoutReuse {
				t.Errorf("Stats().Buffers = %d, fewer than the %d that %d bytes of unreleased values need", st.Buffers, withoutReuse, total)
			}
		})
	}
}

// TestMessagesLargerThanMaxBytesAreReadWhole pins what a fetch does when an
// answer does not fit its buffer: a value larger than the buffer is fetched
// again into a larger one; a record batch larger than max_bytes is read
// across fetches. Order and values are kept.
func TestMessagesLargerThanMaxBytesAreReadWhole(t *testing.T) {
	tests := []struct {
		name string
		size func(int) int
		// per is the messages per produce request (one record batch).
		per int
	}{
		{name: "values larger than the buffer are read into a larger one", per: 1, size: func(i int) int {
			if i == 5 || i == 6 || i == 11 {
				return 300 << 10 // over max_bytes and over the 64 KiB buffer
			}
			return 20 << 10
		}},
		{name: "a record batch larger than max_bytes is read across fetches", per: 40, size: bigSize},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t)
			b := startBroker(t, embedded.Topic{Name: "t", Partitions: 1})
			want := produced{}
			const n = 40
			produceBig(t, b, want, "t", 0, n, tt.per, tt.size)
			opt := fastOptions(b, "g", "t")
			opt.MaxBytes = 32 << 10
			opt.MaxBatchMessages = 3
			s := newSource(t, opt)
			var msgs []stream.Message
			for len(msgs) < n {
				batch, err := s.Read(ctx)
				if err != nil {
					t.Fatalf("Read after %d messages: %v", len(msgs), err)
				}
				for _, m := range batch.Messages {
					if m.Position.Offset != int64(len(msgs)) {
						t.Fatalf("message %d is at %s, want offset %d", len(msgs), m.Position, len(msgs))
					}
					want.check(t, m)
					msgs = append(msgs, m)
				}
				batch.Release()
			}
		})
	}
}

// TestBuffersOfOneSourceAreNotSharedWithAnother pins that two sources in
// one process reuse only their own buffers.
func TestBuffersOfOneSourceAreNotSharedWithAnother(t *testing.T) {
	ctx := testCtx(t)
	b := startBroker(t, embedded.Topic{Name: "a", Partitions: 1}, embedded.Topic{Name: "b", Partitions: 1})
	want := produced{}
	produceBig(t, b, want, "a", 0, 100, 6, bigSize)
	produceBig(t, b, want, "b", 0, 100, 6, bigSize)
	opt := fastOptions(b, "ga", "a")
	opt.MaxBytes = 32 << 10
	sa := newSource(t, opt)
	opt.Group, opt.Topics = "gb", []string{"b"}
	sb := newSource(t, opt)
	// a's batches are all held; b's are released at once.
	heldA := readBatches(t, ctx, sa, 100, 0)
	for _, batch := range readBatches(t, ctx, sb, 100, 0) {
		for _, m := range batch.Messages {
			want.check(t, m)
		}
		batch.Release()
	}
	for _, m := range messagesOf(heldA) {
		want.check(t, m)
	}
}
