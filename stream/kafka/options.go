package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"strconv"
	"strings"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl"
)

// Defaults applied by New to zero fields of Options.
const (
	DefaultClientID         = "iocwatch"
	DefaultStartOffset      = "earliest"
	DefaultMinBytes         = 64 << 10              // 64 KiB: about five 8-record Defender messages
	DefaultMaxBytes         = 1 << 20               // 1 MiB, Kafka's max.partition.fetch.bytes
	DefaultMaxWait          = 10 * time.Millisecond // the most latency that batching fetches adds
	DefaultCommitInterval   = time.Second
	DefaultCommitCount      = 1000
	DefaultMaxBatchMessages = 64
	DefaultLagInterval      = 10 * time.Second
)

// kafka-go's defaults for a zero HeartbeatInterval and SessionTimeout.
const (
	defaultHeartbeatInterval = 3 * time.Second
	defaultSessionTimeout    = 30 * time.Second
)

// Options configure a Source (and, for the connection fields, a
// DeadLetterWriter). The zero value is not valid: Brokers, Topics and Group
// are required; every other zero field takes the default named in its
// comment. Options are read by New and not retained, so changing them
// afterwards has no effect.
type Options struct {
	// Brokers are the seed brokers, host:port. Required.
	Brokers []string
	// Topics are the topics to consume. Required.
	Topics []string
	// Group is the consumer group; replicas sharing it share the partitions.
	// Required.
	Group string
	// ClientID is sent to the brokers. Default: "iocwatch".
	ClientID string

	// StartOffset is where a group with no committed offset for a partition
	// starts: "earliest" or "latest". A partition whose topic was deleted
	// and created again (its topic id changed), or whose committed offset
	// is past the end of its log (the log truncated), restarts there too;
	// one whose offset retention deleted goes on at the first retained
	// message whatever StartOffset says. Default: "earliest".
	StartOffset string
	// MinBytes is the least data a fetch of a partition that is receiving
	// messages waits for, in bytes: fetches grow with the load instead of
	// returning one message each. A partition whose last fetch was empty
	// long-polls instead (MinBytes 1, up to max(MaxWait, 500ms)), so an
	// idle partition costs two fetches a second and its next message is
	// answered at once. Default: 64 KiB, or MaxBytes if that is smaller.
	MinBytes int
	// MaxBytes is the most data one fetch of one partition returns, in bytes.
	// A larger message is still returned, alone. Default: 1 MiB.
	MaxBytes int
	// MaxWait is how long the broker holds a fetch waiting for MinBytes:
	// the most latency batching adds at low rates. The broker then has
	// another 10s to answer before the fetch is abandoned and retried.
	// Default: 10ms.
	MaxWait time.Duration

	// CommitInterval is how often acknowledged offsets are committed.
	// Negative commits after every Ack (still off the caller's goroutine).
	// Default: 1s.
	CommitInterval time.Duration
	// CommitCount commits early once this many acknowledged messages are
	// waiting to be committed. Default: 1000.
	CommitCount int
	// MaxBatchMessages is the most messages one Read returns. Default: 64.
	MaxBatchMessages int

	// HeartbeatInterval is how often the group member heartbeats; it bounds
	// how long a member takes to notice a rebalance. Default: 3s.
	HeartbeatInterval time.Duration
	// SessionTimeout is how long the coordinator waits for a heartbeat before
	// it evicts a member (the broker allows 6s to 5m by default).
	// Default: 30s.
	SessionTimeout time.Duration
	// RebalanceTimeout is how long the coordinator waits for members to
	// rejoin during a rebalance. Default: 30s.
	RebalanceTimeout time.Duration
	// LagInterval is how often the high watermarks behind Lag are refreshed
	// from the brokers; negative relies on the watermarks fetches carry.
	// Default: 10s.
	LagInterval time.Duration

	// TLS secures the broker connections; nil is plaintext. Build it with
	// TLSConfig.
	TLS *tls.Config
	// SASL authenticates to the brokers; nil is none. Build it with
	// SASLMechanism.
	SASL sasl.Mechanism

	// Logger receives joins, rebalances and commit failures (Info/Warn) and
	// kafka-go's own messages (Debug). Failures to join the group are
	// logged at their first occurrence, then at most once a minute with the
	// attempts so far, and once more when a join succeeds. Default:
	// slog.Default().
	Logger *slog.Logger

	// joinBackoff is the wait after a failed join (kafka-go's
	// JoinGroupBackoff); 0 is kafka-go's default (5s). Tests shorten it.
	joinBackoff time.Duration
	// topicCheck is how often the ids of the assigned topics are checked
	// (a topic deleted and created again gets a new one); 0 is
	// defaultTopicCheck. Tests shorten it.
	topicCheck time.Duration
}

// topicCheckInterval is how often the ids of the assigned topics are
// checked.
func (o *Options) topicCheckInterval() time.Duration {
	if o.topicCheck > 0 {
		return o.topicCheck
	}
	return defaultTopicCheck
}

// withDefaults returns a copy of o with every zero field defaulted.
func (o Options) withDefaults() Options {
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.StartOffset == "" {
		o.StartOffset = DefaultStartOffset
	}
	if o.MaxBytes == 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.MinBytes == 0 {
		o.MinBytes = DefaultMinBytes
		if o.MaxBytes > 0 {
			o.MinBytes = min(DefaultMinBytes, o.MaxBytes) // a small max_bytes alone stays valid
		}
	}
	if o.MaxWait == 0 {
		o.MaxWait = DefaultMaxWait
	}
	if o.CommitInterval == 0 {
		o.CommitInterval = DefaultCommitInterval
	}
	if o.CommitCount == 0 {
		o.CommitCount = DefaultCommitCount
	}
	if o.MaxBatchMessages == 0 {
		o.MaxBatchMessages = DefaultMaxBatchMessages
	}
	if o.LagInterval == 0 {
		o.LagInterval = DefaultLagInterval
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// validateConn checks the fields a connection needs (brokers), collecting
// every problem.
func (o *Options) validateConn() []error {
	var errs []error
	if len(o.Brokers) == 0 {
		errs = append(errs, errors.New("brokers: at least one host:port is required"))
	}
	for i, b := range o.Brokers {
		host, port, err := net.SplitHostPort(b)
		if err != nil {
			errs = append(errs, fmt.Errorf("brokers[%d]: %q is not host:port: %w", i, b, err))
			continue
		}
		if host == "" {
			errs = append(errs, fmt.Errorf("brokers[%d]: %q has no host", i, b))
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			errs = append(errs, fmt.Errorf("brokers[%d]: %q: port must be a number from 1 to 65535", i, b))
		}
	}
	return errs
}

// validate checks every field of a defaulted Options and returns all
// problems, each prefixed with the option's configuration key.
func (o *Options) validate() error {
	errs := o.validateConn()
	if len(o.Topics) == 0 {
		errs = append(errs, errors.New("topics: at least one topic is required"))
	}
	seen := make(map[string]bool, len(o.Topics))
	for i, t := range o.Topics {
		switch {
		case t == "":
			errs = append(errs, fmt.Errorf("topics[%d]: empty topic name", i))
		case seen[t]:
			errs = append(errs, fmt.Errorf("topics[%d]: %q is listed twice", i, t))
		}
		seen[t] = true
	}
	if o.Group == "" {
		errs = append(errs, errors.New("group: a consumer group is required"))
	}
	switch o.StartOffset {
	case "earliest", "latest":
	default:
		errs = append(errs, fmt.Errorf("start_offset: %q: want earliest or latest", o.StartOffset))
	}
	if o.MinBytes < 0 {
		errs = append(errs, fmt.Errorf("min_bytes: %d is negative", o.MinBytes))
	}
	if o.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("max_bytes: %d is negative", o.MaxBytes))
	}
	if o.MaxBytes > maxSlab/2 {
		errs = append(errs, fmt.Errorf("max_bytes: %d is more than 512 MiB", o.MaxBytes))
	}
	if o.MinBytes >= 0 && o.MaxBytes >= 0 && o.MinBytes > o.MaxBytes {
		errs = append(errs, fmt.Errorf("min_bytes: %d is greater than max_bytes (%d)", o.MinBytes, o.MaxBytes))
	}
	if o.MaxWait < 0 {
		errs = append(errs, fmt.Errorf("max_wait: %v is negative", o.MaxWait))
	}
	if o.CommitCount < 0 {
		errs = append(errs, fmt.Errorf("commit_count: %d is negative", o.CommitCount))
	}
	if o.MaxBatchMessages < 0 {
		errs = append(errs, fmt.Errorf("max_batch_messages: %d is negative", o.MaxBatchMessages))
	}
	for _, d := range []struct {
		key string
		v   time.Duration
	}{
		{"heartbeat_interval", o.HeartbeatInterval},
		{"session_timeout", o.SessionTimeout},
		{"rebalance_timeout", o.RebalanceTimeout},
	} {
		if d.v < 0 || d.v/time.Millisecond >= math.MaxInt32 {
			errs = append(errs, fmt.Errorf("%s: %v is out of range (0 to 24 days)", d.key, d.v))
		}
	}
	// Zero is kafka-go's default: a heartbeat_interval set alone is checked
	// against the default session_timeout, and the other way round.
	hb, st := o.HeartbeatInterval, o.SessionTimeout
	if hb == 0 {
		hb = defaultHeartbeatInterval
	}
	if st == 0 {
		st = defaultSessionTimeout
	}
	if hb > 0 && st > 0 && hb >= st {
		errs = append(errs, fmt.Errorf("heartbeat_interval: %v must be shorter than session_timeout (%v)", hb, st))
	}
	if len(errs) > 0 {
		return prefixErrors(errs)
	}
	// Backstop: kafka-go's own checks (NewConsumerGroup fails on its config).
	cc := o.groupConfig(nil)
	if err := cc.Validate(); err != nil {
		return fmt.Errorf("kafka: group options: %w", err)
	}
	return nil
}

// prefixErrors joins errs, each prefixed with "kafka: ".
func prefixErrors(errs []error) error {
	for i, e := range errs {
		errs[i] = fmt.Errorf("kafka: %w", e)
	}
	return errors.Join(errs...)
}

// groupConfig is the kafka-go configuration of the consumer group.
func (o *Options) groupConfig(d *kafkago.Dialer) kafkago.ConsumerGroupConfig {
	start := kafkago.FirstOffset
	if o.StartOffset == "latest" {
		start = kafkago.LastOffset
	}
	return kafkago.ConsumerGroupConfig{
		ID:                o.Group,
		Brokers:           o.Brokers,
		Dialer:            d,
		Topics:            o.Topics,
		HeartbeatInterval: o.HeartbeatInterval,
		SessionTimeout:    o.SessionTimeout,
		RebalanceTimeout:  o.RebalanceTimeout,
		JoinGroupBackoff:  o.joinBackoff,
		StartOffset:       start,
		Logger:            debugLogger(o.Logger),
		ErrorLogger:       debugLogger(o.Logger),
	}
}

// dialer builds the kafka-go dialer shared by the group and the readers.
func (o *Options) dialer() *kafkago.Dialer {
	return &kafkago.Dialer{
		ClientID:      o.ClientID,
		Timeout:       10 * time.Second,
		DualStack:     true,
		KeepAlive:     30 * time.Second,
		TLS:           o.TLS,
		SASLMechanism: o.SASL,
	}
}

// transport builds the kafka-go transport of the lag client and the
// dead-letter writer.
func (o *Options) transport() *kafkago.Transport {
	return &kafkago.Transport{
		ClientID:    o.ClientID,
		DialTimeout: 10 * time.Second,
		TLS:         o.TLS,
		SASL:        o.SASL,
	}
}

// debugLogger adapts kafka-go's printf logging to slog at Debug level
// (kafka-go logs routine reconnects and rebalances as errors).
func debugLogger(l *slog.Logger) kafkago.Logger {
	if l == nil {
		return nil
	}
	return kafkago.LoggerFunc(func(format string, args ...any) {
		if l.Enabled(context.Background(), slog.LevelDebug) {
			l.Debug("kafka-go: " + strings.TrimSpace(fmt.Sprintf(format, args...)))
		}
	})
}
