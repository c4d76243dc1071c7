package sink

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// A Write whose context ends between two of its rounds (or while it waits
// for its turn, as the turn comes free) starts no further round: send
// returns the context's error and hands the writer nothing, whichever of
// the two its select finds ready first. Only a round already handed to
// the writer goes on in the background (see send); one started after the
// Write ended would deliver alerts that its caller is told were not, and
// sends again.
func TestKafkaSendStartsNoRoundOnceTheContextEnded(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "iocwatch-alerts"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	var produces atomic.Int64
	c.ControlKey(int16(kmsg.Produce), func(kmsg.Request) (kmsg.Response, error, bool) {
		c.KeepControl()
		produces.Add(1)
		return nil, nil, false
	})
	k, err := NewKafka(KafkaOptions{Brokers: c.ListenAddrs()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	msgs := []kafka.Message{{Key: []byte("device"), Value: []byte(`{}`)}}
	// The turn is free each time: a select that picked it at random half
	// the time would start a round in one of these all but surely.
	for i := range 40 {
		if err := k.send(ctx, msgs); !errors.Is(err, context.Canceled) {
			t.Fatalf("send %d with an ended context = %v, want %v", i, err, context.Canceled)
		}
	}
	if err := k.Close(context.Background()); err != nil { // waits for any round started
		t.Fatal(err)
	}
	if n := produces.Load(); n != 0 {
		t.Errorf("%d produce requests for sends whose context had ended, want none", n)
	}
}
