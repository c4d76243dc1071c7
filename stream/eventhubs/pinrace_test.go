package eventhubs

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"

	"github.com/iocwatch/iocwatch/testenv"
)

// racingStore lets another writer record a checkpoint of a partition just
// before this replica records its start there: between this replica's
// listing of the checkpoints (none for the partition) and its write, as a
// second replica that took the partition over meanwhile does.
type racingStore struct {
	azeventhubs.CheckpointStore
	once  sync.Once
	other func() // writes the other replica's checkpoint
}

func (r *racingStore) SetCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint, opt *azeventhubs.SetCheckpointOptions) error {
	r.once.Do(r.other)
	return r.CheckpointStore.SetCheckpoint(ctx, cp, opt)
}

func (r *racingStore) createCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint) (bool, error) {
	r.once.Do(r.other)
	return r.CheckpointStore.(checkpointCreator).createCheckpoint(ctx, cp)
}

// testPinRace: the start a replica records for a partition without a
// checkpoint never overwrites a checkpoint another replica wrote after this
// one listed them. The replica reads on from that checkpoint instead: the
// events after it are not skipped.
func testPinRace(t *testing.T) {
	t.Parallel()
	conn, blob := shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cont := testenv.NewContainer(t, blob)
	const hub, n = "pinrace", 5

	// Events 0..4, then the other replica's checkpoint position (event 4),
	// then events 5..9: read by the other replica, never acknowledged.
	produce(t, ctx, conn, hub, []string{"0"}, 0, n)
	pr, err := NewProducer(ctx, conn, hub)
	if err != nil {
		t.Fatal(err)
	}
	props, err := pr.pc.GetPartitionProperties(ctx, "0", nil)
	pr.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if props.LastEnqueuedSequenceNumber != n-1 {
		t.Fatalf("partition 0 ends at %d, want %d", props.LastEnqueuedSequenceNumber, n-1)
	}
	produce(t, ctx, conn, hub, []string{"0"}, n, n)

	opt := testOptions(conn, blob, hub, cont)
	opt.StartPosition = "latest"
	opt.CheckpointInterval = time.Hour
	opt.CheckpointCount = 1 << 30
	var ns string
	rs := &racingStore{other: func() {
		err := blobStore(t, blob, cont).SetCheckpoint(ctx, azeventhubs.Checkpoint{
			FullyQualifiedNamespace: ns, EventHubName: hub, ConsumerGroup: DefaultConsumerGroup, PartitionID: "0",
			SequenceNumber: to.Ptr(props.LastEnqueuedSequenceNumber), Offset: to.Ptr(props.LastEnqueuedOffset),
		}, nil)
		if err != nil {
			t.Errorf("the other replica's checkpoint: %v", err)
		}
	}}
	opt.wrapStore = func(s azeventhubs.CheckpointStore) azeventhubs.CheckpointStore {
		rs.CheckpointStore = s
		return rs
	}
	r, err := opt.resolve()
	if err != nil {
		t.Fatal(err)
	}
	ns = r.namespace
	s := open(t, ctx, opt)
	waitFor(t, ctx, "the partition claimed", func() bool { return owned(s) == 1 })
	if cps := storedCheckpoints(t, ctx, blob, cont, ns, hub); cps["0"] != n-1 {
		t.Errorf("checkpoint of partition 0: %d, want the other replica's, %d, kept", cps["0"], n-1)
	}
	produce(t, ctx, conn, hub, []string{"0"}, 2*n, 1) // a marker after them
	rec := newRecorder()
	readUntil(t, ctx, s, hub, rec, func() bool { return rec.seen[event{0, 2 * n}] > 0 })
	rec.check(t)
	for i := range int64(2 * n) {
		got := rec.seen[event{0, i}]
		switch {
		case i < n && got > 0:
			t.Errorf("event %d, before the other replica's checkpoint, was read", i)
		case i >= n && got == 0:
			t.Errorf("event %d, after the other replica's checkpoint, was skipped", i)
		}
	}
}
