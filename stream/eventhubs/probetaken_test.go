package eventhubs

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/testenv"
)

// testProbeTaken: a replica that claimed a partition and could not open it
// probes it in its next round; meanwhile another replica took the partition
// and reads it, its receiver holding the partition with an owner level. The
// real test receiver (the SDK's client without retries, against the
// emulator) is displaced by that receiver, and the checkpoint store names
// the other replica: an Info line says the partition is another replica's
// now, and nothing is logged as an error (TestProbeOfAPartitionAnotherReplicaTookIsNoError
// has the service's other ways of saying it).
func testProbeTaken(t *testing.T) {
	t.Parallel()
	conn, blob := shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	const hub = "probetaken"
	produce(t, ctx, conn, hub, []string{"0"}, 0, 5)
	reader := open(t, ctx, testOptions(conn, blob, hub, testenv.NewContainer(t, blob)))
	// Once it read, the reader's receiver holds the partition.
	b, err := reader.Read(ctx)
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if err := b.Ack(ctx); err != nil {
		t.Fatalf("Ack: %v", err)
	}

	// This replica: the reader's hub, consumer group and store, its own
	// owner ID, and the probe New gives a Source.
	logs := new(syncbuf.Buffer)
	s := &Source{
		opt: reader.opt, log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		red: newRedactor(conn, blob), owner: "replica-me",
		failed: make(chan struct{}), parts: map[string]*partition{},
		store: reader.store, recvCtx: ctx,
		probeOpen: receiveOnce(func() (*azeventhubs.ConsumerClient, error) {
			return azeventhubs.NewConsumerClientFromConnectionString(conn, hub, reader.opt.ConsumerGroup, &azeventhubs.ConsumerClientOptions{
				ApplicationID: "iocwatch", InstanceID: "replica-me-probe",
				RetryOptions: azeventhubs.RetryOptions{MaxRetries: -1},
			})
		}),
	}
	if !s.startProbe("0") {
		t.Fatal("no probe started")
	}
	s.loops.Wait()
	alive(t, s)
	alive(t, reader)
	if got := records(t, logs.String(), "ERROR"); len(got) != 0 {
		t.Errorf("%d ERROR records, want none:\n%s", len(got), logs.String())
	}
	var taken bool
	for _, rec := range records(t, logs.String(), "INFO") {
		taken = taken || rec["msg"] == "eventhubs: a partition not opened in the last round is another replica's now" &&
			rec["partition"] == "0" && rec["new_owner"] == reader.owner
	}
	if !taken {
		t.Errorf("the log does not say that %s reads partition 0 now:\n%s", reader.owner, logs.String())
	}
}
