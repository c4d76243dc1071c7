package kafka_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/cputime"
	kafkago "github.com/segmentio/kafka-go"

	"github.com/iocwatch/iocwatch/stream/kafka"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

const (
	benchPartitions   = 4
	benchPerPartition = 1000
	benchRecords      = 8 // Defender records per message
)

// defenderMessage builds one Event Hubs-style body of benchRecords
// DeviceNetworkEvents records (about 11 KB), varied by n.
func defenderMessage(n int) []byte {
	var b strings.Builder
	b.WriteString(`{"records":[`)
	for r := range benchRecords {
		if r > 0 {
			b.WriteByte(',')
		}
		i := n*benchRecords + r
		fmt.Fprintf(&b, `{"time":"2026-11-26T09:14:%02d.5304517Z","tenantId":"0f8fad5b-d9cb-469f-a165-70867728950e","operationName":"Publish","category":"AdvancedHunting-DeviceNetworkEvents",`+
			`"properties":{"Timestamp":"2026-11-26T09:13:%02d.1200000Z","DeviceId":"3f2a9c%010d","DeviceName":"ws-%04d.corp.example","ActionType":"ConnectionSuccess",`+
			`"RemoteIP":"203.0.%d.%d","RemotePort":443,"RemoteUrl":"update-%d.cdn.example","LocalIP":"10.20.%d.%d","LocalPort":%d,"Protocol":"Tcp","RemoteIPType":"Public","LocalIPType":"Private",`+
			`"InitiatingProcessFileName":"svchost.exe","InitiatingProcessFolderPath":"c:\\windows\\system32\\svchost.exe","InitiatingProcessCommandLine":"svchost.exe -k netsvcs -p -s BITS",`+
			`"InitiatingProcessSHA1":"a1b2c3d4e5f60718293a4b5c6d7e8f9012345678","InitiatingProcessSHA256":"%064x","InitiatingProcessMD5":"0123456789abcdef0123456789abcdef",`+
			`"InitiatingProcessId":%d,"InitiatingProcessCreationTime":"2026-11-26T08:00:00.0000000Z","InitiatingProcessAccountDomain":"nt authority","InitiatingProcessAccountName":"system",`+
			`"InitiatingProcessAccountSid":"S-1-5-18","InitiatingProcessAccountUpn":null,"InitiatingProcessParentFileName":"services.exe","InitiatingProcessParentId":812,`+
			`"IsInitiatingProcessRemoteSession":false,"InitiatingProcessRemoteSessionDeviceName":null,"InitiatingProcessRemoteSessionIP":null,"ReportId":%d,"AdditionalFields":null,"MachineGroup":"Workstations"}}`,
			i%60, i%60, i, i%9000, i%250, i%250+1, i%5000, i%250, i%250+1, 49152+i%16000, i, 1000+i%60000, 18984951960+int64(i))
	}
	b.WriteString(`]}`)
	return []byte(b.String())
}

// benchBroker is a broker holding benchPartitions × benchPerPartition
// Defender-like messages on topic "defender".
func benchBroker(b *testing.B) (*embedded.Broker, int64) {
	b.Helper()
	br, err := embedded.Start(embedded.BrokerOptions{Topics: []embedded.Topic{{Name: "defender", Partitions: benchPartitions}}, Logger: logger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(br.Close)
	var bytes int64
	for p := range int32(benchPartitions) {
		vals := make([][]byte, benchPerPartition)
		for i := range vals {
			vals[i] = defenderMessage(int(p)*benchPerPartition + i)
			bytes += int64(len(vals[i]))
		}
		if err := br.Produce(context.Background(), "defender", p, vals...); err != nil {
			b.Fatal(err)
		}
	}
	return br, bytes
}

// consumer consumes the whole bench topic once with a fresh group and
// returns the time from the first message to the last ack.
type consumer func(b *testing.B, addr, group string, maxBytes int, maxWait time.Duration, total int) time.Duration

// BenchmarkSourceThroughput measures Read+Ack of Defender-like messages
// (8 records, ~11 KB) from the embedded broker over loopback. Each
// iteration consumes the whole topic (4 partitions × 1000 messages) with a
// fresh consumer group; msgs/s, records/s and MB/s count from the first
// message to the last ack, so the group join is not in them (it is in
// ns/op). cpu-µs/msg is the process CPU time (broker included) per message,
// which the other engineers' load on the machine disturbs less than the
// rates. The kafka-go sub-benchmarks are a bare kafka-go group Reader
// (FetchMessage, then CommitMessages with a 1 s commit interval), for scale.
func BenchmarkSourceThroughput(b *testing.B) {
	br, totalBytes := benchBroker(b)
	const total = benchPartitions * benchPerPartition
	cases := []struct {
		name     string
		maxBytes int
		maxWait  time.Duration
		consume  consumer
	}{
		{"iocwatch/defaults", 0, 0, consumeSource},
		{"iocwatch/max_bytes=10MiB,max_wait=250ms", 10 << 20, 250 * time.Millisecond, consumeSource},
		{"iocwatch/max_bytes=10MiB,max_wait=2s", 10 << 20, 2 * time.Second, consumeSource},
		{"kafka-go-reader/max_bytes=1MiB,max_wait=500ms", 1 << 20, 500 * time.Millisecond, consumeReader},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			var busy time.Duration
			iters := 0
			cpu0 := cputime.Process()
			for b.Loop() {
				iters++
				busy += c.consume(b, br.Addr(), fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), iters), c.maxBytes, c.maxWait, total)
			}
			cpu := cputime.Process() - cpu0
			msgs := float64(total * iters)
			b.ReportMetric(msgs/busy.Seconds(), "msgs/s")
			b.ReportMetric(msgs*benchRecords/busy.Seconds(), "records/s")
			b.ReportMetric(float64(totalBytes)*float64(iters)/busy.Seconds()/1e6, "MB/s")
			b.ReportMetric(float64(cpu.Microseconds())/msgs, "cpu-µs/msg")
		})
	}
}

func consumeSource(b *testing.B, addr, group string, maxBytes int, maxWait time.Duration, total int) time.Duration {
	ctx := context.Background()
	s, err := kafka.New(kafka.Options{
		Brokers: []string{addr}, Topics: []string{"defender"}, Group: group, MaxBytes: maxBytes, MaxWait: maxWait,
		HeartbeatInterval: 100 * time.Millisecond, LagInterval: -1, Logger: logger(),
	})
	if err != nil {
		b.Fatal(err)
	}
	var start time.Time
	n := 0
	for n < total {
		batch, err := s.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			start = time.Now()
		}
		n += len(batch.Messages)
		if err := batch.Ack(ctx); err != nil {
			b.Fatal(err)
		}
		batch.Release() // as the pipeline does: the value buffers may be reused
	}
	busy := time.Since(start)
	if err := s.Close(ctx); err != nil {
		b.Fatal(err)
	}
	if n != total {
		b.Fatalf("read %d messages, want %d", n, total)
	}
	return busy
}

func consumeReader(b *testing.B, addr, group string, maxBytes int, maxWait time.Duration, total int) time.Duration {
	ctx := context.Background()
	r := kafkago.NewReader(kafkago.ReaderConfig{
		Brokers: []string{addr}, Topic: "defender", GroupID: group, MaxBytes: maxBytes, MaxWait: maxWait,
		HeartbeatInterval: 100 * time.Millisecond, CommitInterval: time.Second,
	})
	defer r.Close()
	var start time.Time
	for n := range total {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if n == 0 {
			start = time.Now()
		}
		if err := r.CommitMessages(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	return time.Since(start)
}
