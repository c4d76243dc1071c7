package sink_test

import (
	"context"
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// The writer puts up to 1 MiB of one partition's messages in a record
// batch, and writes a partition's batches one after the other; a broker
// whose message.max.bytes is below that refuses a batch too large as a
// whole (or one holding an alert too large alone) and takes the next. The
// refused alerts are sent again, in smaller batches — after the alerts
// written behind them, had those gone out in the same round: one device's
// alerts would reach its partition out of order. They must not: what the
// broker takes of a Write is in the order written, per partition, the
// refused alerts left out.
func TestKafkaKeepsEachPartitionsOrderWhenTheBrokerRefusesABatch(t *testing.T) {
	const kb = 1000
	for _, tc := range []struct {
		name    string
		devices int
		sizes   func(i int) int // the command line of alert i
		refused []int
	}{
		{"the first of two batches too large as a whole", 1, func(int) int { return 100 * kb }, nil},
		{"an alert too large alone in the first batch", 1, func(i int) int {
			if i == 2 {
				return 650 * kb
			}
			return 100 * kb
		}, []int{2}},
		{"three devices, interleaved", 3, func(i int) int { return 60 * kb }, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newKfake(t, kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(600 * kb)}))
			a := sinktest.Alerts(12*tc.devices, 90)
			for i := range a {
				a[i].DeviceID = fmt.Sprintf("device-%d", i%tc.devices)
				a[i].CommandLine = strings.Repeat("x", tc.sizes(i))
			}
			k, err := sink.NewKafka(sink.KafkaOptions{Brokers: c.ListenAddrs()})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			err = k.Write(ctx, a)
			var got []int
			if err != nil {
				re, ok := errors.AsType[*sink.RefusedError](err)
				if !ok {
					t.Fatalf("Write = %v, want nil or a RefusedError", err)
				}
				got = slices.Sorted(slices.Values(re.Alerts))
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.refused) {
				t.Errorf("refused alerts %v, want %v", got, tc.refused)
			}
			index := map[string]int{}
			for i := range a {
				index[a[i].AlertID] = i
			}
			for p, ms := range readTopic(t, c.ListenAddrs()[0], nil) {
				byDevice := map[string][]int{}
				for _, m := range ms {
					id := ""
					for _, h := range m.Headers {
						if h.Key == "alert_id" {
							id = string(h.Value)
						}
					}
					byDevice[string(m.Key)] = append(byDevice[string(m.Key)], index[id])
				}
				for dev, order := range byDevice {
					var want []int
					for i := range a {
						if a[i].DeviceID == dev && !slices.Contains(tc.refused, i) {
							want = append(want, i)
						}
					}
					if !slices.Equal(order, want) {
						t.Errorf("partition %d, %s: alerts %v, want %v (in the order written)", p, dev, order, want)
					}
				}
			}
		})
	}
}

// A refused batch is sent again in halves, one after the other, and what
// is learned is kept: the next round is no larger than the half that
// went through, until an alert refused alone is filed (it may have been
// the cause). So a batch only too large as a whole costs a refused
// request per halving, log2(n), and a broker that refuses every alert
// alone costs one request per alert and those log2(n), not two per alert
// (a request for every node of a binary tree over the alerts).
func TestKafkaSplitCostsLogarithmicallyManyRefusedRequests(t *testing.T) {
	for _, tc := range []struct {
		name    string
		limit   int // the broker's message.max.bytes
		n       int
		size    func(i int) int // the command line of alert i
		refused int             // the alerts refused for good
		// most is the bound on produce requests, refusedMost the bound on
		// those the broker refused.
		most, refusedMost func(n, log2 int) int
	}{
		{"every alert too large alone", 20000, 32, func(int) int { return 30000 }, 32,
			func(n, log2 int) int { return n + log2 + 1 }, func(n, log2 int) int { return n + log2 + 1 }},
		{"a batch too large as a whole, each alert fits", 20000, 64, func(int) int { return 3000 }, 0,
			func(n, log2 int) int { return n/2 + log2 + 1 }, func(_, log2 int) int { return log2 + 1 }},
		{"one alert too large alone, the others fit together", 200000, 64, func(i int) int {
			if i == 40 {
				return 250000
			}
			return 100
		}, 1, func(_, log2 int) int { return 3*log2 + 2 }, func(_, log2 int) int { return log2 + 1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newKfake(t, kfake.BrokerConfigs(map[string]string{"message.max.bytes": strconv.Itoa(tc.limit)}))
			var produces, tooLarge atomic.Int64
			c.ControlKey(int16(kmsg.Produce), func(req kmsg.Request) (kmsg.Response, error, bool) {
				c.KeepControl()
				produces.Add(1)
				for _, rt := range req.(*kmsg.ProduceRequest).Topics {
					for _, rp := range rt.Partitions {
						if len(rp.Records) > tc.limit { // as the broker will find
							tooLarge.Add(1)
						}
					}
				}
				return nil, nil, false // let the broker answer
			})
			a := sinktest.Alerts(tc.n, 91)
			for i := range a {
				a[i].DeviceID = "one-device" // one partition: one batch per request
				a[i].CommandLine = strings.Repeat("x", tc.size(i))
			}
			k, err := sink.NewKafka(sink.KafkaOptions{Brokers: c.ListenAddrs()})
			if err != nil {
				t.Fatal(err)
			}
			defer k.Close(context.Background())
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			err = k.Write(ctx, a)
			refused := 0
			if err != nil {
				re, ok := errors.AsType[*sink.RefusedError](err)
				if !ok {
					t.Fatalf("Write = %v, want nil or a RefusedError", err)
				}
				refused = len(re.Alerts)
			}
			if refused != tc.refused {
				t.Errorf("%d alerts refused, want %d", refused, tc.refused)
			}
			if got := len(kafkaAlerts(t, readTopic(t, c.ListenAddrs()[0], nil))); got != tc.n-tc.refused {
				t.Errorf("%d alerts delivered, want %d", got, tc.n-tc.refused)
			}
			log2 := bits.Len(uint(tc.n - 1))
			t.Logf("%d alerts: %d produce requests, %d refused as too large", tc.n, produces.Load(), tooLarge.Load())
			if got, most := int(produces.Load()), tc.most(tc.n, log2); got > most {
				t.Errorf("%d produce requests for %d alerts, want at most %d", got, tc.n, most)
			}
			if got, most := int(tooLarge.Load()), tc.refusedMost(tc.n, log2); got > most {
				t.Errorf("%d produce requests refused as too large, want at most %d", got, most)
			}
		})
	}
}
