package sink

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
	"github.com/segmentio/kafka-go/sasl/plain"
	"github.com/segmentio/kafka-go/sasl/scram"
)

// KafkaSASL is SASL authentication for the Kafka sink. The zero value
// (Mechanism "") means no SASL. A plain value, safe to copy.
type KafkaSASL struct {
	// Mechanism is "plain", "scram-sha-256" or "scram-sha-512"
	// (case-insensitive); "" turns SASL off.
	Mechanism string
	// Username and Password are the credentials (values already resolved
	// from the environment by the config). For the Event Hubs Kafka
	// endpoint: "$ConnectionString" and the connection string.
	Username string
	Password string
}

// KafkaOptions configures a Kafka sink. The zero value is not usable:
// Brokers is required. Defaults are applied by NewKafka.
type KafkaOptions struct {
	// Brokers are the bootstrap brokers, host:port. Required.
	Brokers []string
	// Topic is the alerts topic; it must exist (the sink never creates
	// topics). Default "iocwatch-alerts".
	Topic string
	// Format is the JSON shape of each message value: FormatNative or
	// FormatOCSF. Default native.
	Format Format
	// TLS turns TLS on when non-nil (and configures it); nil: plaintext.
	TLS *TLSOptions
	// SASL authenticates the client; the zero value means none.
	SASL KafkaSASL
	// ClientID is the Kafka client id. Default "iocwatch".
	ClientID string
	// Linger is how long the writer waits before sending a record batch
	// that is not full; it adds to the latency of every round of a Write
	// (one per 1000 alerts or 1 MiB, more once the broker refuses a
	// batch: see Kafka). Default 5ms.
	Linger time.Duration
	// Timeout bounds dialling and each produce request. Default 10s.
	Timeout time.Duration
}

// Kafka is a Sink that produces alerts to a Kafka topic as JSON, keyed by
// DeviceId (so one device's alerts stay in order on one partition; the
// murmur2 partitioner is the Java client's, so other producers keyed the
// same agree), with headers alert_id and content-type.
//
// Write is synchronous: it returns nil once every message was acknowledged
// by all in-sync replicas (acks=all). Broker errors that retrying cannot
// fix (message too large, invalid topic, authorization or SASL
// authentication failed, invalid record, invalid timestamp, a produce
// request or message format the broker or topic does not support) are
// Permanent; everything else (leader changes, unknown topic, network
// errors) is retryable. A record batch the broker refuses as too large or
// for an invalid record is sent again in halves, one after the other, so
// that only the alerts it refuses on their own are reported refused, and
// before any alert written after it, so that each partition gets a
// Write's alerts in the order written (see produce); one refused
// for its timestamp, or for a version or format the broker or topic does
// not support, is refused whole, at once (see kafkaBatchRefusal). A
// failed Write may have delivered some of its alerts; a retry sends them
// again (at-least-once; consumers dedupe by the alert_id header).
//
// Use NewKafka; the zero value is not usable. Safe for concurrent use:
// concurrent Writes take turns, each round of one alone (see send).
type Kafka struct {
	opt   KafkaOptions
	w     *kafka.Writer
	tr    *kafka.Transport
	where string
	gate  gate
	// turn is held by the one WriteMessages call under way (see send),
	// and by Close while it closes the writer.
	turn chan struct{}
}

// The writer's bounds of one record batch, which a round of produce keeps
// within (see kafkaRound).
const (
	kafkaBatchSize  = 1000
	kafkaBatchBytes = 1 << 20
)

// NewKafka checks opt, applies its defaults and returns the sink. It does
// not contact the brokers: the first Write does.
func NewKafka(opt KafkaOptions) (*Kafka, error) {
	if len(opt.Brokers) == 0 {
		return nil, errors.New("kafka brokers: at least one host:port required")
	}
	for _, b := range opt.Brokers {
		if _, _, err := net.SplitHostPort(b); err != nil {
			return nil, fmt.Errorf("kafka brokers %q: %w", b, err)
		}
	}
	if opt.Topic == "" {
		opt.Topic = "iocwatch-alerts"
	}
	if opt.Format == "" {
		opt.Format = FormatNative
	}
	if err := opt.Format.validate(); err != nil {
		return nil, fmt.Errorf("kafka format: %w", err)
	}
	if opt.ClientID == "" {
		opt.ClientID = "iocwatch"
	}
	if opt.Linger == 0 {
		opt.Linger = 5 * time.Millisecond
	}
	if opt.Timeout == 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Linger < 0 || opt.Timeout < 0 {
		return nil, errors.New("kafka linger and timeout: must be positive")
	}
	where := fmt.Sprintf("kafka topic %s at %s", opt.Topic, strings.Join(opt.Brokers, ","))
	tr := &kafka.Transport{
		DialTimeout: opt.Timeout,
		ClientID:    opt.ClientID,
		MetadataTTL: 30 * time.Second,
	}
	if opt.TLS != nil {
		tc, err := opt.TLS.config()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		tr.TLS = tc
	}
	mech, err := opt.SASL.mechanism()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	tr.SASL = mech
	w := &kafka.Writer{
		Addr:         kafka.TCP(opt.Brokers...),
		Topic:        opt.Topic,
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		BatchTimeout: opt.Linger,
		BatchSize:    kafkaBatchSize,
		BatchBytes:   kafkaBatchBytes,
		ReadTimeout:  opt.Timeout,
		WriteTimeout: opt.Timeout,
		MaxAttempts:  3,
		Transport:    tr,
	}
	return &Kafka{opt: opt, w: w, tr: tr, where: where, turn: make(chan struct{}, 1)}, nil
}

// mechanism returns the kafka-go SASL mechanism, or nil for none.
func (s KafkaSASL) mechanism() (sasl.Mechanism, error) {
	switch strings.ToLower(s.Mechanism) {
	case "":
		return nil, nil
	case "plain":
		return plain.Mechanism{Username: s.Username, Password: s.Password}, nil
	case "scram-sha-256":
		return scram.Mechanism(scram.SHA256, s.Username, s.Password)
	case "scram-sha-512":
		return scram.Mechanism(scram.SHA512, s.Username, s.Password)
	}
	return nil, fmt.Errorf("sasl mechanism %q: want plain, scram-sha-256 or scram-sha-512", s.Mechanism)
}

// Write produces alerts and returns once all were acknowledged, with the
// first retryable failure, or — when some were refused for good (too large,
// an invalid record or timestamp, a version or message format the broker
// or topic does not support, an alert the format cannot encode) — with a
// RefusedError naming them, the others acknowledged (classified as
// described on Kafka).
func (k *Kafka) Write(ctx context.Context, alerts []Alert) error {
	if err := k.gate.enter(); err != nil {
		return err
	}
	defer k.gate.leave()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%s: %w", k.where, err)
	}
	if len(alerts) == 0 {
		return nil
	}
	// What the broker or the writer refuses for good, or the format
	// cannot carry, is reported refused (RefusedError) and the rest
	// delivered; a retryable failure is returned as it is (the retry
	// re-sends the whole slice).
	var refused Refusals
	msgs := make([]kafka.Message, 0, len(alerts))
	idx := make([]int, 0, len(alerts)) // msgs[j] is alerts[idx[j]]
	for i := range alerts {
		v, err := EncodeJSON(nil, &alerts[i], k.opt.Format)
		if err != nil {
			refused.Add(i, fmt.Errorf("%s: encode alert %s: %w", k.where, alerts[i].AlertID, err))
			continue
		}
		idx = append(idx, i)
		msgs = append(msgs, kafka.Message{
			Key:   []byte(alerts[i].DeviceID),
			Value: v,
			Headers: []kafka.Header{
				{Key: "alert_id", Value: []byte(alerts[i].AlertID)},
				{Key: "content-type", Value: []byte("application/json")},
			},
		})
	}
	if err := k.produce(ctx, alerts, msgs, idx, &refused); err != nil {
		return err
	}
	return refused.Err()
}

// produce writes msgs (msgs[j] is alerts[idx[j]]) and adds what is refused
// for good to refused; it returns a retryable failure as it is.
//
// The messages go out in rounds, one WriteMessages call each (see send),
// from the first not yet delivered or refused: a round holds at most one
// record batch per partition (kafkaRound), so the broker takes or refuses
// each partition's part of it whole.
//
// A broker answers for a partition's record batch as a whole, and
// kafka-go's writer reports that answer against every message of the
// batch (it keeps no per-record errors). Some refusals of a batch may be
// caused by only some of its messages (see kafkaBatchRefusal). Messages
// refused with one of those lead the next round, which carries half as
// many messages, as the Java producer splits a batch refused as too
// large; a message is refused only when it is refused by itself. Nothing
// written behind them goes out before they are settled, so each
// partition's messages reach it in the order written, the refused ones
// left out.
//
// What a refusal taught is kept: a round after one that went through
// whole may be twice as large, but never larger than the last refusal's
// half — until a message refused alone is filed (it may have caused the
// refusals), and the rounds may grow again. A batch too large only as a whole thus costs one refused
// request per halving, about log2(n); a broker that refuses every message
// alone costs one request per message and those log2(n); one message too
// large among fitting ones, about 3·log2(n) requests.
func (k *Kafka) produce(ctx context.Context, alerts []Alert, msgs []kafka.Message, idx []int, refused *Refusals) error {
	limit := len(msgs)   // the most messages the next round carries
	ceiling := len(msgs) // how far limit may grow again
	for len(msgs) > 0 {
		n := kafkaRound(msgs, limit)
		err := k.send(ctx, msgs[:n])
		if err == nil {
			msgs, idx = msgs[n:], idx[n:]
			limit = min(2*limit, ceiling)
			continue
		}
		if tl, ok := errors.AsType[kafka.MessageTooLargeError](err); ok && ctx.Err() == nil {
			// The writer sent nothing: drop the message too large for a
			// batch and send the others.
			j := tooLargeIndex(msgs[:n], tl)
			refused.Add(idx[j], fmt.Errorf("produce to %s: alert %s: %w", k.where, alerts[idx[j]].AlertID, err))
			msgs, idx = slices.Delete(msgs, j, j+1), slices.Delete(idx, j, j+1)
			continue
		}
		cerr := classifyKafka(ctx, k.where, func(j int) string { return alerts[idx[j]].AlertID }, err)
		we, ok := errors.AsType[kafka.WriteErrors](err)
		if !ok || !IsPermanent(cerr) {
			return cerr
		}
		// Every failure is permanent; the other messages of the round
		// were acknowledged.
		again := 0 // messages refused with their batch, maybe for another's sake
		for j, e := range we {
			if j < n && e != nil && kafkaBatchRefusal(e) {
				again++
			}
		}
		var nextMsgs []kafka.Message
		var nextIdx []int
		for j, e := range we {
			if j >= n || e == nil {
				continue
			}
			if again > 1 && kafkaBatchRefusal(e) {
				nextMsgs, nextIdx = append(nextMsgs, msgs[j]), append(nextIdx, idx[j])
				continue
			}
			refused.Add(idx[j], fmt.Errorf("produce to %s: alert %s: %w%s", k.where, alerts[idx[j]].AlertID, e, kafkaAdvice(e)))
		}
		switch {
		case len(nextMsgs) > 0:
			limit = max(1, len(nextMsgs)/2)
			ceiling = limit
		case again == 1:
			// Refused alone, and filed: it may have caused the refusals
			// that led here.
			ceiling = max(ceiling, len(msgs))
		}
		msgs, idx = append(nextMsgs, msgs[n:]...), append(nextIdx, idx[n:]...)
	}
	return nil
}

// kafkaRound returns how many of msgs, from the first, the next round
// carries: at most limit and kafkaBatchSize, and no more bytes than the
// writer puts in one record batch, so that the writer makes of the round
// one batch per partition; at least one.
func kafkaRound(msgs []kafka.Message, limit int) int {
	n, size := 0, 0
	for n < len(msgs) && n < limit && n < kafkaBatchSize {
		b := kafkaMessageBytes(&msgs[n])
		if n > 0 && size+b > kafkaBatchBytes {
			break
		}
		size += b
		n++
	}
	return max(n, 1)
}

// kafkaMessageBytes is at least what kafka-go's writer counts m as against
// its BatchBytes (Message.totalSize: the fixed fields, the key, the value
// and the headers, each length a varint): every varint is counted at its
// largest.
func kafkaMessageBytes(m *kafka.Message) int {
	n := 4 + 1 + 1 + 4 + len(m.Key) + 4 + len(m.Value) + 8 + binary.MaxVarintLen64
	for _, h := range m.Headers {
		n += 2*binary.MaxVarintLen64 + len(h.Key) + len(h.Value)
	}
	return n
}

// send hands msgs to the writer in one WriteMessages call and returns its
// error, or ctx's when ctx ends first.
//
// kafka-go's writer adds the messages of a call to each partition's
// current record batch, the one still open to messages of other calls,
// and starts a new batch when one is full. A call that joined another's
// batch could see its partition's messages split over two batches, the
// broker refuse the first and take the second: its messages would arrive
// out of order. So a call is made only when no other call of the sink is
// under way, and it is not cancelled: its batches are all sent before the
// next call starts (a Write whose ctx ends returns at once, and leaves the
// call to end in the background, bounded by Timeout and the writer's
// three attempts: the messages may still arrive, as kafka-go documents
// for a cancelled WriteMessages). A Write whose ctx has ended starts no
// call, even when the turn is free.
// Concurrent Writes thus never share a produce request.
func (k *Kafka) send(ctx context.Context, msgs []kafka.Message) error {
	select {
	case k.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		// Both were ready, and select took the turn.
		<-k.turn
		return err
	}
	done := make(chan error, 1)
	go func() {
		err := k.w.WriteMessages(context.WithoutCancel(ctx), msgs...)
		<-k.turn
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// kafkaBatchRefusal reports whether a broker error refuses a record batch
// for what may be only some of its records, for good (see produce). Of
// the error codes kafka-go knows, these are the non-retriable ones a
// broker answers a produce request with because of some of the records it
// holds:
//
//   - MESSAGE_TOO_LARGE (10) and RECORD_LIST_TOO_LARGE (18):
//     message.max.bytes and segment.bytes bound the batch, not one
//     message;
//   - INVALID_RECORD (87): a record the broker rejects (no key for a
//     compacted topic, a record whose magic is not its batch's).
//
// The broker rejects the whole batch for one such record (it names the
// records in the response's record_errors, which kafka-go does not read).
//
// INVALID_TIMESTAMP (32) is per-record at the broker (a record's
// timestamp further from the broker's clock than the topic's
// message.timestamp.difference.max.ms, or .before.max.ms / .after.max.ms
// since Kafka 3.6, allows; a batch that also holds an invalid record is
// refused as INVALID_TIMESTAMP), but not for this writer: the messages
// carry no time of their own, and kafka-go stamps every record of a
// request with the one time it encodes the request at. When one record is
// out of range, all are, and halves sent later are stamped by the same
// clock: splitting would only cost requests (some 1000 for a 1000-alert
// Write while the host's clock is off). kafkaPermanent refuses the batch
// whole, at once.
//
// No other produce error is per-record. CORRUPT_MESSAGE (2) is retriable
// (a batch damaged in transit). The request- or topic-wide refusals in
// kafkaPermanent, UNSUPPORTED_VERSION (35), INVALID_REQUEST (42) and
// UNSUPPORTED_FOR_MESSAGE_FORMAT (43, a pre-0.11 topic format without
// headers) among them, fail every record alike, so splitting cannot help:
// such a batch is refused whole, at once. The idempotence and transaction
// errors (45–53, 59, 90) and UNSUPPORTED_COMPRESSION_TYPE (76) do not
// arise for this writer (neither idempotent nor transactional,
// uncompressed). The rest (leaders, replicas, timeouts, storage,
// UNKNOWN_SERVER_ERROR) are retryable.
func kafkaBatchRefusal(err error) bool {
	if ke, ok := errors.AsType[kafka.Error](err); ok {
		switch ke {
		case kafka.MessageSizeTooLarge, kafka.RecordListTooLarge, kafka.InvalidRecord:
			return true
		}
	}
	return false
}

// tooLargeIndex finds the message a MessageTooLargeError names among msgs
// (its Remaining are msgs without it, in order).
func tooLargeIndex(msgs []kafka.Message, tl kafka.MessageTooLargeError) int {
	for j := range tl.Remaining {
		if j >= len(msgs) || !sameMessage(&msgs[j], &tl.Remaining[j]) {
			return j
		}
	}
	return len(tl.Remaining)
}

// sameMessage reports whether a and b share their value's bytes.
func sameMessage(a, b *kafka.Message) bool {
	return len(a.Value) == len(b.Value) && (len(a.Value) == 0 || &a.Value[0] == &b.Value[0])
}

// classifyKafka wraps a kafka-go write error with context and marks the
// errors that no retry can fix as Permanent. alertID names the alert of
// the i-th message written.
func classifyKafka(ctx context.Context, where string, alertID func(msg int) string, err error) error {
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		err = fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	if we, ok := errors.AsType[kafka.WriteErrors](err); ok {
		// Report the first failed alert and count the rest; the batch is
		// permanent only if every failure is.
		perm, first, n := true, -1, 0
		for i, e := range we {
			if e == nil {
				continue
			}
			n++
			if first < 0 {
				first = i
			}
			if !kafkaPermanent(e) {
				perm = false
			}
		}
		if first < 0 {
			return fmt.Errorf("produce to %s: %w", where, err)
		}
		id := ""
		if first < len(we) && alertID != nil {
			id = alertID(first)
		}
		e := fmt.Errorf("produce to %s: %d of %d messages failed, first (alert %s): %w%s", where, n, len(we), id, we[first], kafkaAdvice(we[first]))
		if perm {
			return Permanent(e)
		}
		return e
	}
	e := fmt.Errorf("produce to %s: %w%s", where, err, kafkaAdvice(err))
	if kafkaPermanent(err) {
		return Permanent(e)
	}
	return e
}

// kafkaPermanent reports whether a produce error will recur however often
// the same messages are sent: a per-record refusal (kafkaBatchRefusal), a
// batch refused for its timestamp, INVALID_TIMESTAMP (32, see
// kafkaBatchRefusal), or one that fails the whole request —
// INVALID_TOPIC_EXCEPTION (17), INVALID_REQUIRED_ACKS (21),
// TOPIC_AUTHORIZATION_FAILED (29), CLUSTER_AUTHORIZATION_FAILED (31),
// UNSUPPORTED_SASL_MECHANISM (33), SASL_AUTHENTICATION_FAILED (58), and
// the refusals of what this client sends, which the broker or topic gives
// every request alike until it is upgraded or reconfigured (see
// kafkaAdvice): UNSUPPORTED_VERSION (35), INVALID_REQUEST (42),
// UNSUPPORTED_FOR_MESSAGE_FORMAT (43).
func kafkaPermanent(err error) bool {
	if _, ok := errors.AsType[kafka.MessageTooLargeError](err); ok {
		return true
	}
	if kafkaBatchRefusal(err) {
		return true
	}
	if ke, ok := errors.AsType[kafka.Error](err); ok {
		switch ke {
		case kafka.InvalidTimestamp, kafka.InvalidTopic, kafka.InvalidRequiredAcks, kafka.TopicAuthorizationFailed,
			kafka.ClusterAuthorizationFailed, kafka.UnsupportedSASLMechanism,
			kafka.SASLAuthenticationFailed, kafka.UnsupportedVersion, kafka.InvalidRequest,
			kafka.UnsupportedForMessageFormat:
			return true
		}
	}
	return false
}

// kafkaAdvice returns, for a produce error caused by the broker's or the
// topic's version or configuration rather than by the alerts, what to
// check, to be appended to the error's text; "" for any other error.
//
// The messages are record batches of format v2 (Kafka 0.11) with headers,
// sent with the produce version kafka-go negotiated with the broker. A
// broker (or a proxy, or a Kafka-compatible service, in front of it) that
// then refuses the request's version (UNSUPPORTED_VERSION) or the request
// itself (INVALID_REQUEST) does not speak what it advertised; a topic whose
// message.format.version (log.message.format.version on the broker) is
// before 0.11 cannot carry headers and refuses the batch as
// UNSUPPORTED_FOR_MESSAGE_FORMAT.
func kafkaAdvice(err error) string {
	ke, ok := errors.AsType[kafka.Error](err)
	if !ok {
		return ""
	}
	switch ke {
	case kafka.UnsupportedVersion, kafka.InvalidRequest:
		return " (the broker refuses the produce request itself, whatever the alerts: check the broker's Kafka version, 0.11 or later, its log, and any proxy or Kafka-compatible service in front of it)"
	case kafka.UnsupportedForMessageFormat:
		return " (the topic's message format predates Kafka 0.11 and cannot carry the alert_id and content-type headers: set the topic's message.format.version, or the broker's log.message.format.version, to 0.11 or later)"
	}
	return ""
}

// Close waits for in-flight Writes, and for the produce request that a
// Write whose ctx ended left under way (see send), or for ctx; then it
// closes the writer and its connections. When ctx ends first, the writer
// is closed once that request ends, in the background. Safe to call twice.
func (k *Kafka) Close(ctx context.Context) error {
	first, err := k.gate.close(ctx)
	if !first {
		return err
	}
	// kafka-go's Writer.Close closes the partition writers it has and then
	// waits for every goroutine of the writer. A WriteMessages call under
	// way that makes a partition writer after that (its batches are made
	// once it has the partitions, which may take a dial and a metadata
	// request) leaves one whose goroutine never ends: Close would wait for
	// ever. So the writer is closed only while Close holds the turn, which
	// each call holds until it returns (see send).
	select {
	case k.turn <- struct{}{}:
	default:
		select {
		case k.turn <- struct{}{}:
		case <-ctx.Done():
			go func() {
				k.turn <- struct{}{}
				_ = k.closeWriter()
			}()
			return errors.Join(err, fmt.Errorf("%s: close: gave up waiting for a produce request still under way (the writer is closed when it ends): %w", k.where, ctx.Err()))
		}
	}
	return errors.Join(err, k.closeWriter())
}

// closeWriter closes the writer and the transport's connections, and lets
// go of the turn, which the caller holds: a call made after it (by a
// Write still under way) fails at once, as the writer is closed.
func (k *Kafka) closeWriter() error {
	defer func() { <-k.turn }()
	var err error
	if cerr := k.w.Close(); cerr != nil {
		err = fmt.Errorf("%s: close: %w", k.where, cerr)
	}
	k.tr.CloseIdleConnections()
	return err
}
