package kafka_test

import (
	"context"
	"strings"
	"testing"
	"time"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/iocwatch/iocwatch/stream/kafka"
)

// valid is a complete Options; the broker is never dialled by these tests
// beyond New's background join, which Close stops.
func valid() kafka.Options {
	return kafka.Options{
		Brokers: []string{"127.0.0.1:1"},
		Topics:  []string{"defender"},
		Group:   "iocwatch",
		Logger:  logger(),
	}
}

func TestNewRefusesBadOptionsNamingTheOption(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*kafka.Options)
		want   []string
	}{
		{"brokers are required", func(o *kafka.Options) { o.Brokers = nil }, []string{"kafka: brokers:"}},
		{"a broker without a port is refused", func(o *kafka.Options) { o.Brokers = []string{"kafka.example"} }, []string{"brokers[0]", "kafka.example"}},
		{"a broker with port 0 is refused", func(o *kafka.Options) { o.Brokers = []string{"a:1", "b:0"} }, []string{"brokers[1]", "port"}},
		{"a broker without a host is refused", func(o *kafka.Options) { o.Brokers = []string{":9092"} }, []string{"brokers[0]", "no host"}},
		{"topics are required", func(o *kafka.Options) { o.Topics = nil }, []string{"kafka: topics:"}},
		{"an empty topic name is refused", func(o *kafka.Options) { o.Topics = []string{"a", ""} }, []string{"topics[1]: empty"}},
		{"a topic listed twice is refused", func(o *kafka.Options) { o.Topics = []string{"a", "a"} }, []string{"topics[1]", "twice"}},
		{"the group is required", func(o *kafka.Options) { o.Group = "" }, []string{"kafka: group:"}},
		{"start_offset is earliest or latest", func(o *kafka.Options) { o.StartOffset = "newest" }, []string{"start_offset", `"newest"`}},
		{"a negative min_bytes is refused", func(o *kafka.Options) { o.MinBytes = -1 }, []string{"min_bytes: -1"}},
		{"a negative max_bytes is refused", func(o *kafka.Options) { o.MaxBytes = -5 }, []string{"max_bytes: -5"}},
		{"min_bytes above max_bytes is refused", func(o *kafka.Options) { o.MinBytes, o.MaxBytes = 100, 10 }, []string{"min_bytes: 100 is greater than max_bytes (10)"}},
		{"a negative max_wait is refused", func(o *kafka.Options) { o.MaxWait = -time.Second }, []string{"max_wait"}},
		{"a negative commit_count is refused", func(o *kafka.Options) { o.CommitCount = -1 }, []string{"commit_count"}},
		{"a negative max_batch_messages is refused", func(o *kafka.Options) { o.MaxBatchMessages = -1 }, []string{"max_batch_messages"}},
		{"a negative session_timeout is refused", func(o *kafka.Options) { o.SessionTimeout = -1 }, []string{"session_timeout"}},
		{"a heartbeat_interval not shorter than session_timeout is refused",
			func(o *kafka.Options) { o.HeartbeatInterval, o.SessionTimeout = 10*time.Second, 10*time.Second },
			[]string{"heartbeat_interval", "session_timeout"}},
		{"a heartbeat_interval not shorter than the default session_timeout (30s) is refused",
			func(o *kafka.Options) { o.HeartbeatInterval = 45 * time.Second },
			[]string{"heartbeat_interval: 45s must be shorter than session_timeout (30s)"}},
		{"a session_timeout not longer than the default heartbeat_interval (3s) is refused",
			func(o *kafka.Options) { o.SessionTimeout = 2 * time.Second },
			[]string{"heartbeat_interval: 3s must be shorter than session_timeout (2s)"}},
		{"every problem is reported at once",
			func(o *kafka.Options) { o.Brokers, o.Topics, o.Group, o.StartOffset = nil, nil, "", "x" },
			[]string{"brokers", "topics", "group", "start_offset"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := valid()
			tt.modify(&opt)
			s, err := kafka.New(opt)
			if err == nil {
				s.Close(context.Background())
				t.Fatal("New succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not name %q", err, w)
				}
			}
		})
	}
}

// TestNewReturnsAnErrorWhereNewReaderPanics pins that a configuration
// kafka-go's NewReader panics on becomes an error from New.
func TestNewReturnsAnErrorWhereNewReaderPanics(t *testing.T) {
	tests := []struct {
		name     string
		min, max int
	}{
		{"min_bytes above max_bytes", 2 << 20, 1 << 20},
		{"negative min_bytes", -1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The same values make kafka-go panic…
			func() {
				defer func() {
					if recover() == nil {
						t.Fatalf("kafka-go NewReader accepted min %d max %d; this test no longer pins a panic", tt.min, tt.max)
					}
				}()
				r := kafkago.NewReader(kafkago.ReaderConfig{Brokers: []string{"127.0.0.1:1"}, Topic: "t", MinBytes: tt.min, MaxBytes: tt.max})
				r.Close()
			}()
			// …and New returns an error instead.
			opt := valid()
			opt.MinBytes, opt.MaxBytes = tt.min, tt.max
			s, err := kafka.New(opt)
			if err == nil {
				s.Close(context.Background())
				t.Fatal("New succeeded")
			}
			if !strings.Contains(err.Error(), "min_bytes") {
				t.Errorf("error %q does not name min_bytes", err)
			}
		})
	}
}

func TestNewAcceptsAMinimalConfiguration(t *testing.T) {
	s, err := kafka.New(valid())
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close of a source that never reached its broker: %v", err)
	}
}
