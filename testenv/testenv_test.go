package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2/checkpoints"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// recordingTB records how missing() ended a test.
type recordingTB struct {
	testing.TB
	skipped, failed string
}

func (r *recordingTB) Helper()                   {}
func (r *recordingTB) Skip(args ...any)          { r.skipped = fmt.Sprint(args...) }
func (r *recordingTB) Fatal(args ...any)         { r.failed = fmt.Sprint(args...) }
func (r *recordingTB) Skipf(f string, a ...any)  { r.skipped = fmt.Sprintf(f, a...) }
func (r *recordingTB) Fatalf(f string, a ...any) { r.failed = fmt.Sprintf(f, a...) }

func TestMissingDependency(t *testing.T) {
	tests := []struct {
		name, ci  string
		wantSkip  bool
		wantFatal bool
	}{
		{name: "skips the test on a developer machine", ci: "", wantSkip: true},
		{name: "skips when CI is anything but true", ci: "1", wantSkip: true},
		{name: "fails the test under CI=true", ci: "true", wantFatal: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CI", tt.ci)
			r := &recordingTB{TB: t}
			missing(r, "thing %s not found", "x")
			if (r.skipped != "") != tt.wantSkip || (r.failed != "") != tt.wantFatal {
				t.Errorf("skipped %q failed %q, want skip %v fatal %v", r.skipped, r.failed, tt.wantSkip, tt.wantFatal)
			}
			msg := r.skipped + r.failed
			if !strings.Contains(msg, "thing x not found") || !strings.Contains(msg, "scripts/setup-test-deps") {
				t.Errorf("message %q should name the dependency and the setup script", msg)
			}
		})
	}
}

func TestEmulatorCommandLine(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	py, err := pythonCheck()
	if err != nil {
		missing(t, "%v", err)
		return
	}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"a hub without a partition count is refused", []string{"--hub", "defender"}, "want name:partitions"},
		{"a partition count that is not a number is refused", []string{"--hub", "defender:four"}, "is not a number"},
		{"zero partitions are refused", []string{"--hub", "defender:0"}, "must be 1..1024"},
		{"two hubs with one name are refused", []string{"--hub", "a:1", "--hub", "a:2"}, "hub names must be unique"},
		{"no hub at all is refused", nil, "at least one --hub"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(py, append([]string{filepath.Join(root, "testenv", "eventhubs_emulator.py"), "--port", "0"}, tt.args...)...)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 || !strings.Contains(string(out), tt.want) {
				t.Errorf("exit %v, output %q; want exit status 2 and %q", err, out, tt.want)
			}
		})
	}
}

func sendTo(t *testing.T, ctx context.Context, pc *azeventhubs.ProducerClient, opts *azeventhubs.EventDataBatchOptions, events ...*azeventhubs.EventData) {
	t.Helper()
	b, err := pc.NewEventDataBatch(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range events {
		if err := b.AddEventData(e, nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := pc.SendEventDataBatch(ctx, b, nil); err != nil {
		t.Fatal(err)
	}
}

func bodies(n int, prefix string) []*azeventhubs.EventData {
	out := make([]*azeventhubs.EventData, n)
	for i := range out {
		out[i] = &azeventhubs.EventData{Body: fmt.Appendf(nil, "%s%d", prefix, i)}
	}
	return out
}

// receive reads up to n events from a fresh partition client at start.
func receive(t *testing.T, ctx context.Context, cc *azeventhubs.ConsumerClient, partition string, start azeventhubs.StartPosition, n int) []*azeventhubs.ReceivedEventData {
	t.Helper()
	pc, err := cc.NewPartitionClient(partition, &azeventhubs.PartitionClientOptions{StartPosition: start})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close(ctx)
	rctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	evs, err := pc.ReceiveEvents(rctx, n, nil)
	if err != nil && rctx.Err() == nil {
		t.Fatalf("receive: %v", err)
	}
	return evs
}

func seqs(evs []*azeventhubs.ReceivedEventData) []int64 {
	out := make([]int64, len(evs))
	for i, e := range evs {
		out[i] = e.SequenceNumber
	}
	return out
}

func TestEmulator(t *testing.T) {
	conn := StartEmulator(t, "props:3", "pos:1", "epoch:1", "keys:4", "refuse:2")
	if !strings.HasPrefix(conn, "Endpoint=sb://127.0.0.1:") || !strings.HasSuffix(conn, ";UseDevelopmentEmulator=true") {
		t.Fatalf("connection string %q", conn)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	producer := func(t *testing.T, hub string) *azeventhubs.ProducerClient {
		pc, err := azeventhubs.NewProducerClientFromConnectionString(conn, hub, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pc.Close(context.Background()) })
		return pc
	}
	consumer := func(t *testing.T, hub string) *azeventhubs.ConsumerClient {
		cc, err := azeventhubs.NewConsumerClientFromConnectionString(conn, hub, azeventhubs.DefaultConsumerGroup, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cc.Close(context.Background()) })
		return cc
	}

	t.Run("hub and partition properties describe the hub and what was sent", func(t *testing.T) {
		cc := consumer(t, "props")
		hp, err := cc.GetEventHubProperties(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if hp.Name != "props" || strings.Join(hp.PartitionIDs, ",") != "0,1,2" || hp.CreatedOn.IsZero() {
			t.Errorf("hub properties %+v", hp)
		}
		empty, err := cc.GetPartitionProperties(ctx, "2", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !empty.IsEmpty || empty.LastEnqueuedSequenceNumber != -1 || empty.PartitionID != "2" || empty.EventHubName != "props" {
			t.Errorf("empty partition properties %+v", empty)
		}
		before := time.Now().Add(-time.Second)
		sendTo(t, ctx, producer(t, "props"), &azeventhubs.EventDataBatchOptions{PartitionID: to.Ptr("1")}, bodies(5, "p")...)
		pp, err := cc.GetPartitionProperties(ctx, "1", nil)
		if err != nil {
			t.Fatal(err)
		}
		if pp.IsEmpty || pp.BeginningSequenceNumber != 0 || pp.LastEnqueuedSequenceNumber != 4 || pp.LastEnqueuedOn.Before(before) || pp.LastEnqueuedOffset == "" {
			t.Errorf("partition properties after 5 events %+v", pp)
		}
	})

	t.Run("start positions select the events a real hub would", func(t *testing.T) {
		pc := producer(t, "pos")
		one := &azeventhubs.EventDataBatchOptions{PartitionID: to.Ptr("0")}
		sendTo(t, ctx, pc, one, bodies(5, "a")...)
		time.Sleep(20 * time.Millisecond) // a distinct enqueued time for the second batch
		mark := time.Now()
		time.Sleep(20 * time.Millisecond)
		sendTo(t, ctx, pc, one, bodies(5, "b")...)
		cc := consumer(t, "pos")
		all := receive(t, ctx, cc, "0", azeventhubs.StartPosition{Earliest: to.Ptr(true)}, 100)
		if fmt.Sprint(seqs(all)) != "[0 1 2 3 4 5 6 7 8 9]" {
			t.Fatalf("earliest: sequence numbers %v", seqs(all))
		}
		prev := int64(-1)
		for i, e := range all {
			off, err := strconv.ParseInt(e.Offset, 10, 64)
			if e.EnqueuedTime == nil || err != nil || off <= prev {
				t.Errorf("event %d: offset %q (after %d) enqueued %v: want increasing byte offsets and a time", i, e.Offset, prev, e.EnqueuedTime)
			}
			prev = off
		}
		off := all[3].Offset
		tests := []struct {
			name  string
			start azeventhubs.StartPosition
			want  string
		}{
			{"after a sequence number", azeventhubs.StartPosition{SequenceNumber: to.Ptr[int64](6)}, "[7 8 9]"},
			{"at a sequence number", azeventhubs.StartPosition{SequenceNumber: to.Ptr[int64](6), Inclusive: true}, "[6 7 8 9]"},
			{"after an offset", azeventhubs.StartPosition{Offset: &off}, "[4 5 6 7 8 9]"},
			{"at an offset", azeventhubs.StartPosition{Offset: &off, Inclusive: true}, "[3 4 5 6 7 8 9]"},
			{"after an enqueued time", azeventhubs.StartPosition{EnqueuedTime: &mark}, "[5 6 7 8 9]"},
			{"latest", azeventhubs.StartPosition{Latest: to.Ptr(true)}, "[]"},
		}
		for _, tt := range tests {
			if got := fmt.Sprint(seqs(receive(t, ctx, cc, "0", tt.start, 100))); got != tt.want {
				t.Errorf("%s: sequence numbers %s, want %s", tt.name, got, tt.want)
			}
		}
		if !bytes.Equal(all[7].Body, []byte("b2")) {
			t.Errorf("event 7 body %q, want b2", all[7].Body)
		}
	})

	t.Run("an equal or higher epoch steals the partition and a lower one is refused", func(t *testing.T) {
		cc := consumer(t, "epoch")
		open := func(epoch int64) *azeventhubs.PartitionClient {
			pc, err := cc.NewPartitionClient("0", &azeventhubs.PartitionClientOptions{
				StartPosition: azeventhubs.StartPosition{Earliest: to.Ptr(true)}, OwnerLevel: &epoch,
			})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = pc.Close(context.Background()) })
			return pc
		}
		first := open(0)
		sendTo(t, ctx, producer(t, "epoch"), nil, bodies(2, "e")...)
		if evs, err := first.ReceiveEvents(ctx, 1, nil); err != nil || len(evs) != 1 {
			t.Fatalf("first receiver: %d events, %v", len(evs), err)
		}
		second := open(0)
		if evs, err := second.ReceiveEvents(ctx, 2, nil); err != nil || len(evs) != 2 {
			t.Fatalf("second receiver: %d events, %v", len(evs), err)
		}
		_, err := first.ReceiveEvents(ctx, 5, nil)
		var ehErr *azeventhubs.Error
		if !errors.As(err, &ehErr) || ehErr.Code != azeventhubs.ErrorCodeOwnershipLost {
			t.Errorf("first receiver after the takeover: %v, want ErrorCodeOwnershipLost", err)
		}
		third := open(1)
		if _, err := third.ReceiveEvents(ctx, 1, nil); err != nil {
			t.Fatalf("epoch 1: %v", err)
		}
		lower := open(0)
		_, err = lower.ReceiveEvents(ctx, 1, nil)
		if !errors.As(err, &ehErr) || ehErr.Code != azeventhubs.ErrorCodeOwnershipLost {
			t.Errorf("epoch 0 below an epoch 1 receiver: %v, want ErrorCodeOwnershipLost", err)
		}
	})

	t.Run("unknown hubs and partitions are refused at once", func(t *testing.T) {
		fast, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		cc := consumer(t, "nohub")
		if _, err := cc.GetEventHubProperties(fast, nil); err == nil || !strings.Contains(err.Error(), "could not be found") {
			t.Errorf("properties of an unknown hub: %v", err)
		}
		pc := producer(t, "nohub")
		if _, err := pc.NewEventDataBatch(fast, nil); err == nil || !strings.Contains(err.Error(), "amqp:not-found") {
			t.Errorf("sender to an unknown hub: %v", err)
		}
		real := producer(t, "refuse")
		if _, err := real.NewEventDataBatch(fast, &azeventhubs.EventDataBatchOptions{PartitionID: to.Ptr("7")}); err == nil || !strings.Contains(err.Error(), "argument-out-of-range") {
			t.Errorf("sender to partition 7 of 2: %v", err)
		}
		rc := consumer(t, "refuse")
		p, err := rc.NewPartitionClient("9", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer p.Close(ctx)
		if _, err := p.ReceiveEvents(fast, 1, nil); err == nil || !strings.Contains(err.Error(), "argument-out-of-range") {
			t.Errorf("receiver on partition 9 of 2: %v", err)
		}
		if fast.Err() != nil {
			t.Error("a refusal was retried until the deadline; want it at once")
		}
	})

	t.Run("a partition key keeps its events together and properties arrive unchanged", func(t *testing.T) {
		pc := producer(t, "keys")
		ev := &azeventhubs.EventData{
			Body: []byte("k"), ContentType: to.Ptr("application/json"), MessageID: to.Ptr("m-1"),
			Properties: map[string]any{"table": "DeviceNetworkEvents", "n": int64(7)},
		}
		sendTo(t, ctx, pc, &azeventhubs.EventDataBatchOptions{PartitionKey: to.Ptr("device-42")}, ev, ev, ev)
		sendTo(t, ctx, pc, &azeventhubs.EventDataBatchOptions{PartitionKey: to.Ptr("device-42")}, ev)
		cc := consumer(t, "keys")
		found := 0
		for _, p := range []string{"0", "1", "2", "3"} {
			evs := receive(t, ctx, cc, p, azeventhubs.StartPosition{Earliest: to.Ptr(true)}, 10)
			if len(evs) == 0 {
				continue
			}
			found++
			if len(evs) != 4 {
				t.Errorf("partition %s holds %d events of the key, want all 4", p, len(evs))
			}
			e := evs[0]
			if e.PartitionKey == nil || *e.PartitionKey != "device-42" || e.ContentType == nil || *e.ContentType != "application/json" ||
				e.MessageID == nil || *e.MessageID != "m-1" || e.Properties["table"] != "DeviceNetworkEvents" || e.Properties["n"] != int64(7) {
				t.Errorf("received %+v", e)
			}
		}
		if found != 1 {
			t.Errorf("events of one key in %d partitions, want 1", found)
		}
	})
}

func TestAzurite(t *testing.T) {
	blob := StartAzurite(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	name := NewContainer(t, blob)
	cc, err := container.NewClientFromConnectionString(blob, name, nil)
	if err != nil {
		t.Fatal(err)
	}
	store, err := checkpoints.NewBlobStore(cc, nil)
	if err != nil {
		t.Fatal(err)
	}
	const ns, hub, cg = "127.0.0.1:1", "h", "$Default"
	t.Run("checkpoints round-trip through blob metadata", func(t *testing.T) {
		cp := azeventhubs.Checkpoint{FullyQualifiedNamespace: ns, EventHubName: hub, ConsumerGroup: cg, PartitionID: "3",
			SequenceNumber: to.Ptr[int64](41), Offset: to.Ptr("4100")}
		if err := store.SetCheckpoint(ctx, cp, nil); err != nil {
			t.Fatal(err)
		}
		cp.SequenceNumber = to.Ptr[int64](42)
		if err := store.SetCheckpoint(ctx, cp, nil); err != nil {
			t.Fatal(err)
		}
		got, err := store.ListCheckpoints(ctx, ns, hub, cg, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].PartitionID != "3" || *got[0].SequenceNumber != 42 || *got[0].Offset != "4100" {
			t.Errorf("checkpoints %+v", got)
		}
	})
	t.Run("an ownership claim with a stale ETag loses, as the processor relies on", func(t *testing.T) {
		o := azeventhubs.Ownership{FullyQualifiedNamespace: ns, EventHubName: hub, ConsumerGroup: cg, PartitionID: "0", OwnerID: "a"}
		won, err := store.ClaimOwnership(ctx, []azeventhubs.Ownership{o}, nil)
		if err != nil || len(won) != 1 {
			t.Fatalf("first claim: %v %v", won, err)
		}
		stale := won[0]
		again := won[0]
		again.OwnerID = "b"
		if won, err := store.ClaimOwnership(ctx, []azeventhubs.Ownership{again}, nil); err != nil || len(won) != 1 {
			t.Fatalf("claim with the current ETag: %v %v", won, err)
		}
		stale.OwnerID = "c"
		if won, err := store.ClaimOwnership(ctx, []azeventhubs.Ownership{stale}, nil); err != nil || len(won) != 0 {
			t.Errorf("claim with a stale ETag: won %v, err %v; want none", won, err)
		}
		owners, err := store.ListOwnership(ctx, ns, hub, cg, nil)
		if err != nil || len(owners) != 1 || owners[0].OwnerID != "b" {
			t.Errorf("owners %+v %v, want b", owners, err)
		}
	})
}
