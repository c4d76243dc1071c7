package sink_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// A Write whose context ends returns at once and leaves the produce round
// it had started to end in the background. Here the round is still
// waiting for the topic's partitions (the broker holds its first metadata
// answer: a slow dial or a slow broker) when the Write ends and Close
// begins: the client library makes the round's batches only after that.
// Close must neither close the writer under the round — kafka-go's
// Writer.Close would then wait for ever for the partition writer the
// round makes after it — nor outlast its own context: with time left, it
// waits for the round, whose alerts arrive; with none, it returns at once
// with its context's error, and the writer is closed when the round ends.
func TestKafkaCloseAfterACancelledWriteNeitherHangsNorOutlastsItsContext(t *testing.T) {
	for _, tc := range []struct {
		name      string
		closeTime bool // Close's context has time left
	}{
		{"Close with time left waits for the round", true},
		{"Close without time left returns at once", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newKfake(t)
			held, release := make(chan struct{}), make(chan struct{})
			var once sync.Once
			c.ControlKey(int16(kmsg.Metadata), func(kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				once.Do(func() {
					close(held)
					c.SleepControl(func() { <-release })
				})
				return nil, nil, false // the broker answers
			})
			released := sync.OnceFunc(func() { close(release) })
			t.Cleanup(released)
			k, err := sink.NewKafka(sink.KafkaOptions{Brokers: c.ListenAddrs(), Timeout: 20 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			a := sinktest.Alerts(4, 120)

			ctx, cancel := context.WithCancel(context.Background())
			wrote := result(func() error { return k.Write(ctx, a) })
			select {
			case <-held:
			case <-time.After(hangGuard):
				t.Fatal("the writer asked for no metadata")
			}
			cancel()
			if err := await(t, wrote); !errors.Is(err, context.Canceled) || sink.IsPermanent(err) {
				t.Fatalf("the cancelled Write = %v, want a retryable error naming its context's end", err)
			}

			closeCtx, closeCancel := context.WithTimeout(context.Background(), hangGuard)
			if !tc.closeTime {
				closeCancel()
			}
			defer closeCancel()
			closed := result(func() error { return k.Close(closeCtx) })
			if !tc.closeTime {
				if err := await(t, closed); !errors.Is(err, context.Canceled) {
					t.Errorf("Close with its context ended, a round under way = %v, want an error naming the context's end", err)
				}
				released()
				return
			}
			// Give Close time to reach the writer before the round makes
			// its batches (a correct Close passes in either order).
			time.Sleep(100 * time.Millisecond)
			released()
			if err := await(t, closed); err != nil {
				t.Fatalf("Close = %v", err)
			}
			if got := len(kafkaAlerts(t, readTopic(t, c.ListenAddrs()[0], nil))); got != len(a) {
				t.Errorf("%d alerts of the cancelled Write's round delivered before Close returned, want %d", got, len(a))
			}
		})
	}
}
