package eventhubs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/iocwatch/iocwatch/internal/cputime"

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
	var cpu cpuMeter
	for b.Loop() {
		opt := testOptions(e.conn, e.blob, "bench", testenv.NewContainer(b, e.blob))
		// Production's rate of blob traffic: claims every 10 s, checkpoints
		// every 5 s (a lone replica claims every partition at once).
		opt.CheckpointInterval = DefaultCheckpointInterval
		opt.UpdateInterval, opt.PartitionExpiration = 0, 0
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
				cpu.start()
			}
			n += len(batch.Messages)
			_ = batch.Ack(ctx)
		}
		reading += time.Since(start)
		cpu.stop()
		events += n
		if err := s.Close(ctx); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(events)/reading.Seconds(), "events/s")
	cpu.report(b, events)
}

// BenchmarkPartitionClients is the ceiling without the Source: the SDK's
// PartitionClients read the same events, one goroutine per partition, as
// fast as they can.
func BenchmarkPartitionClients(b *testing.B) {
	e := preload(b)
	ctx := context.Background()
	var events int
	var reading time.Duration
	var cpu cpuMeter
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
		cpu.start()
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
		cpu.stop()
		events += benchEvents
		for _, pc := range clients {
			_ = pc.Close(ctx)
		}
		_ = cc.Close(ctx)
	}
	b.ReportMetric(float64(events)/reading.Seconds(), "events/s")
	cpu.report(b, events)
}

// cpuMeter adds up the CPU time, while reading, of this process and of the
// emulator and Azurite it started (its children), to show which one bounds
// the throughput. Linux only: elsewhere the children count zero.
type cpuMeter struct {
	self, emulator, azurite time.Duration
	s0, e0, a0              time.Duration
}

func (c *cpuMeter) start() {
	c.s0, c.e0, c.a0 = cputime.Process(), childCPU("eventhubs_emulator.py"), childCPU("azurite")
}

func (c *cpuMeter) stop() {
	c.self += cputime.Process() - c.s0
	c.emulator += childCPU("eventhubs_emulator.py") - c.e0
	c.azurite += childCPU("azurite") - c.a0
}

func (c *cpuMeter) report(b *testing.B, events int) {
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(events) }
	b.ReportMetric(per(c.self), "go-cpu-µs/event")
	b.ReportMetric(per(c.emulator), "emulator-cpu-µs/event")
	b.ReportMetric(per(c.azurite), "azurite-cpu-µs/event")
}

// childCPU is the user+system time of this process's children whose command
// line contains name, from /proc/<pid>/stat (in clock ticks of 10 ms).
func childCPU(name string) time.Duration {
	var total time.Duration
	eachChild(func(dir, cmd string, f []string) {
		if len(f) < 13 || !strings.Contains(cmd, name) {
			return
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		total += time.Duration(ut+st) * 10 * time.Millisecond
	})
	return total
}

// eachChild calls fn for every child of this process with its /proc
// directory, its command line and the fields of /proc/<pid>/stat after the
// command name ("state ppid …"). Linux only: elsewhere it finds none.
func eachChild(fn func(dir, cmd string, fields []string)) {
	me := strconv.Itoa(os.Getpid())
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		raw, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		rest := string(raw)
		if i := strings.LastIndexByte(rest, ')'); i >= 0 && i+2 <= len(rest) {
			rest = rest[i+2:]
		}
		f := strings.Fields(rest)
		if len(f) < 2 || f[1] != me {
			continue
		}
		dir := filepath.Dir(path)
		cmd, _ := os.ReadFile(filepath.Join(dir, "cmdline"))
		fn(dir, string(cmd), f)
	}
}
