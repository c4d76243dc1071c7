package eventhubs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/iocwatch/iocwatch/testenv"
)

// benchEvents is how many events the benchmarks preload: 4 partitions ×
// benchPerPartition, each a two-record Defender message (~1.7 KB).
const (
	benchPartitions   = 4
	benchPerPartition = 12_500
	benchEvents       = benchPartitions * benchPerPartition
)

type benchEnv struct {
	conn, blob string
}

// preload starts an emulator and Azurite and fills hub "bench" once.
func preload(b *testing.B) benchEnv {
	b.Helper()
	msg, err := os.ReadFile("testdata/defender_message.json")
	if err != nil {
		b.Fatal(err)
	}
	msg = bytes.TrimSpace(msg)
	e := benchEnv{
		conn: testenv.StartEmulator(b, fmt.Sprintf("bench:%d", benchPartitions)),
		blob: testenv.StartAzurite(b),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	pr, err := NewProducer(ctx, e.conn, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer pr.Close(ctx)
	bodies := make([][]byte, benchPerPartition)
	for i := range bodies {
		bodies[i] = msg
	}
	for p := range benchPartitions {
		if err := pr.SendToPartition(ctx, fmt.Sprint(p), bodies); err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// BenchmarkSource measures catch-up throughput: a Source reads and
// acknowledges all preloaded events from the emulator, from the first
// delivered batch to the last. Each iteration starts a fresh Source on a
// fresh checkpoint container (so it reads from the start); the reported
// events/s excludes that start-up, ns/op includes it.
func BenchmarkSource(b *testing.B) {
	e := preload(b)
	ctx := context.Background()
	var events int
	var reading time.Duration
	for b.Loop() {
		opt := testOptions(e.conn, e.blob, "bench", testenv.NewContainer(b, e.blob))
		opt.MaxBatchEvents = 500
		s, err := New(ctx, opt)
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		var start time.Time
		for n < benchEvents {
			batch, err := s.Read(ctx)
			if err != nil {
				b.Fatal(err)
			}
			if n == 0 {
				start = time.Now()
			}
			n += len(batch.Messages)
			_ = batch.Ack(ctx)
		}
		reading += time.Since(start)
		events += n
		if err := s.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)/reading.Seconds(), "events/s")
}

// BenchmarkPartitionClients is the ceiling without the Source: the SDK's
// PartitionClients read the same events, one goroutine per partition, as
// fast as they can.
func BenchmarkPartitionClients(b *testing.B) {
	e := preload(b)
	ctx := context.Background()
	var events int
	var reading time.Duration
	for b.Loop() {
		cc, err := azeventhubs.NewConsumerClientFromConnectionString(e.conn, "bench", azeventhubs.DefaultConsumerGroup, nil)
		if err != nil {
			b.Fatal(err)
		}
		clients := make([]*azeventhubs.PartitionClient, benchPartitions)
		for p := range clients {
			clients[p], err = cc.NewPartitionClient(fmt.Sprint(p), &azeventhubs.PartitionClientOptions{
				StartPosition: azeventhubs.StartPosition{Earliest: to.Ptr(true)},
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		start := time.Now()
		var wg sync.WaitGroup
		for _, pc := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for got := 0; got < benchPerPartition; {
					evs, err := pc.ReceiveEvents(ctx, 500, nil)
					if err != nil {
						b.Error(err)
						return
					}
					got += len(evs)
				}
			}()
		}
		wg.Wait()
		reading += time.Since(start)
		events += benchEvents
		for _, pc := range clients {
			_ = pc.Close(ctx)
		}
		_ = cc.Close(ctx)
	}
	b.ReportMetric(float64(events)/reading.Seconds(), "events/s")
}
