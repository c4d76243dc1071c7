package kafka

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/iocwatch/iocwatch/stream"
)

// Header keys of a dead-letter message.
const (
	HeaderSourceTopic     = "iocwatch.source.topic"     // topic (or file) of the original message
	HeaderSourcePartition = "iocwatch.source.partition" // its partition, decimal; -1 for files
	HeaderSourceOffset    = "iocwatch.source.offset"    // its offset (line for files), decimal
	HeaderRecord          = "iocwatch.record"           // index of the broken record, decimal; -1 for the whole message
	HeaderError           = "iocwatch.error"            // why it could not be decoded
	HeaderTime            = "iocwatch.time"             // when it was dead-lettered, RFC 3339 UTC
)

// maxErrorHeader caps the error header, in bytes.
const maxErrorHeader = 8 << 10

// ErrClosed is returned by DeadLetterWriter.Write after Close.
var ErrClosed = errors.New("kafka: dead-letter writer closed")

// DeadLetterWriter sends messages that could not be decoded to a Kafka
// topic: the value is the original message, unchanged; the key is its
// position ("topic[3]@1182"); the headers (HeaderSourceTopic …) say where it
// came from and why it failed. It is safe for concurrent use. The zero value
// is not usable: call NewDeadLetterWriter.
type DeadLetterWriter struct {
	topic string
	w     *kafkago.Writer
	tr    *kafkago.Transport

	mu     sync.RWMutex
	closed bool
}

// NewDeadLetterWriter returns a writer to topic on the cluster opt connects
// to (opt's Brokers, ClientID, TLS and SASL; the consumer fields are
// ignored). The topic must exist: it is not created.
func NewDeadLetterWriter(opt Options, topic string) (*DeadLetterWriter, error) {
	opt = opt.withDefaults()
	errs := opt.validateConn()
	if topic == "" {
		errs = append(errs, errors.New("dead_letter_topic: empty topic name"))
	}
	if len(errs) > 0 {
		return nil, prefixErrors(errs)
	}
	tr := opt.transport()
	w := &kafkago.Writer{
		Addr:         kafkago.TCP(opt.Brokers...),
		Topic:        topic,
		Balancer:     &kafkago.Hash{},
		RequiredAcks: kafkago.RequireAll,
		BatchSize:    1, // dead letters are rare: send each at once
		// No client-side size cap: the pipeline dead-letters messages over
		// its max_message_bytes, and the topic's max.message.bytes decides.
		BatchBytes:  maxSlab,
		MaxAttempts: 5,
		Transport:   tr,
		ErrorLogger: debugLogger(opt.Logger),
	}
	return &DeadLetterWriter{topic: topic, w: w, tr: tr}, nil
}

// Write sends msg, with the index of its broken record (-1 for the whole
// message) and the cause, and returns once every in-sync replica has it.
// An error means it was not stored: do not acknowledge the message then.
func (d *DeadLetterWriter) Write(ctx context.Context, msg stream.Message, record int, cause error) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return ErrClosed
	}
	reason := "unknown error"
	if cause != nil {
		reason = truncateUTF8(cause.Error(), maxErrorHeader)
	}
	pos := msg.Position
	m := kafkago.Message{
		Key:   []byte(pos.String()),
		Value: msg.Value,
		Headers: []kafkago.Header{
			{Key: HeaderSourceTopic, Value: []byte(pos.Source)},
			{Key: HeaderSourcePartition, Value: strconv.AppendInt(nil, int64(pos.Partition), 10)},
			{Key: HeaderSourceOffset, Value: strconv.AppendInt(nil, pos.Offset, 10)},
			{Key: HeaderRecord, Value: strconv.AppendInt(nil, int64(record), 10)},
			{Key: HeaderError, Value: []byte(reason)},
			{Key: HeaderTime, Value: []byte(time.Now().UTC().Format(time.RFC3339Nano))},
		},
	}
	if err := d.w.WriteMessages(ctx, m); err != nil {
		return fmt.Errorf("kafka: dead-letter %s to topic %s: %w", pos, d.topic, err)
	}
	return nil
}

// Close waits for writes in progress, then closes the connections. Writes
// after Close return ErrClosed. It returns early with ctx.Err() when ctx is
// done first. Safe to call twice.
func (d *DeadLetterWriter) Close(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		d.mu.Lock()
		already := d.closed
		d.closed = true
		d.mu.Unlock()
		var err error
		if !already {
			err = d.w.Close()
			d.tr.CloseIdleConnections()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("kafka: dead-letter topic %s: close: %w", d.topic, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("kafka: dead-letter topic %s: close: %w", d.topic, ctx.Err())
	}
}

// truncateUTF8 shortens s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
