package eventhubs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/go-amqp"

	"github.com/iocwatch/iocwatch/testenv"
)

// The service's refusals of a start position past a partition's last event,
// as it words them (a checkpoint kept from before the hub was deleted and
// re-created), and a refusal under the same condition that is not one.
var (
	seqPastEnd = &amqp.Error{Condition: "com.microsoft:argument-out-of-range",
		Description: "The supplied sequence number '5000' is invalid. The last sequence number in the system is '41' TrackingId:0c1d, SystemTracker:corp:eventhub:defender~8191|nope, Timestamp:2026-11-29T08:34:39"}
	offsetPastEnd = &amqp.Error{Condition: "com.microsoft:argument-error",
		Description: "The supplied offset '21474836480' is invalid. The last offset in the system is '-1' TrackingId:3b23, SystemTracker:corp:eventhub:defender~8191|nope, Timestamp:2026-11-29T08:34:39"}
	noSuchPartition = &amqp.Error{Condition: "com.microsoft:argument-out-of-range",
		Description: "The specified partition is invalid for an EventHub partition sender or receiver. It should be between 0 and 3."}
)

// A partition whose checkpoint is past its last event (the hub was deleted
// and re-created, or its namespace failed over) is not read until that
// checkpoint blob is deleted: no retry cures it, and every replica that
// claims the partition meets the same refusal. The source stops — Read
// returns an error that names the hub, the consumer group, the partition,
// the checkpoint blob to delete and what start_position then does, and
// wraps the service's refusal (redacted) — whether a probe of the partition
// the Processor could not open met the refusal, or a reader whose link the
// service detached did. It is logged once, however many rounds come before
// the source is closed, not every round. A refusal under the same condition
// for another reason is no such stop: it is logged with its cause, without
// that advice, every round, and the source goes on.
func TestStartPastTheEndStopsTheSource(t *testing.T) {
	const sig = "c2VjcmV0LXNpZ25hdHVyZQ"
	const rounds = 3
	for _, tt := range []struct {
		name    string
		reader  bool  // a running reader met err (else: a probe after a failed open)
		err     error // what the client returned
		pastEnd bool
		msg     string // the record logged every round when the source goes on
	}{
		{"sequence number past the end, probe", false, seqPastEnd, true, ""},
		{"offset past the end, probe, wrapped", false, fmt.Errorf("link: %w", offsetPastEnd), true, ""},
		{"offset past the end, reader detached", true, &amqp.LinkError{RemoteErr: offsetPastEnd}, true, ""},
		{"offset past the end, behind an error that does not unwrap (the SDK's after retries)", false,
			errors.New("(connlost): " + offsetPastEnd.Error()), true, ""},
		{"sequence number past the end, reader, behind an error that does not unwrap", true,
			errors.New("(connlost): " + seqPastEnd.Error()), true, ""},
		{"sequence number past the end, with a signature in the error", false,
			fmt.Errorf("https://corp.servicebus.windows.net/defender?sig=%s: %w", sig, seqPastEnd), true, ""},
		{"no such partition, probe", false, noSuchPartition, false,
			"eventhubs: cannot open partition; retrying every update interval"},
		{"no such partition, reader", true, noSuchPartition, false,
			"eventhubs: partition reader stopped; the processor reopens it from its checkpoint"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := probeSource(&logs, func(context.Context, string, azeventhubs.StartPosition) error { return tt.err })
			s.opt.ConsumerGroup = "nope"
			s.store = &listStore{cps: []azeventhubs.Checkpoint{{PartitionID: "3", Offset: to.Ptr("21474836480"), SequenceNumber: to.Ptr[int64](5000)}}}
			w := &procStore{s: s, claimed: []string{"3"}, claimedAt: time.Now()}
			for range rounds {
				if tt.reader {
					// Each round the Processor opens the partition again,
					// and the service detaches the link again.
					p := &partition{id: "3", num: 3, ctx: context.Background()}
					s.mu.Lock()
					s.parts["3"] = p
					s.mu.Unlock()
					s.ended(p, tt.err)
				} else {
					w.watch() // what the round's ListOwnership does first
					s.loops.Wait()
				}
			}
			logged := logs.String()
			if strings.Contains(logged, sig) {
				t.Errorf("the log shows the signature:\n%s", logged)
			}
			if strings.Contains(logged, `"fix"`) {
				t.Errorf("a fix logged beside the error, not in it:\n%s", logged)
			}

			if !tt.pastEnd {
				alive(t, s)
				n := 0
				for _, level := range []string{"ERROR", "WARN", "INFO"} {
					for _, rec := range records(t, logged, level) {
						if rec["msg"] != tt.msg || rec["partition"] != "3" || rec["hub"] != "defender" {
							t.Errorf("logged %v, want %q of hub defender, partition 3", rec, tt.msg)
							continue
						}
						if e, _ := rec["err"].(string); !strings.Contains(e, noSuchPartition.Description) {
							t.Errorf("err %q lacks the service's %q", e, noSuchPartition.Description)
						}
						n++
					}
				}
				if n != rounds {
					t.Errorf("%d records in %d rounds, want one a round:\n%s", n, rounds, logged)
				}
				return
			}

			select {
			case <-s.failed:
			default:
				t.Fatalf("the source goes on after %d rounds; want it stopped:\n%s", rounds, logged)
			}
			_, err := s.Read(context.Background())
			if err == nil || err != s.fatal {
				t.Fatalf("Read: %v; want the source's error", err)
			}
			msg := err.Error()
			for _, w := range []string{
				`hub "defender"`, `consumer group "nope"`, "partition 3",
				"past the partition's last event", "deleted and re-created",
				`delete checkpoint blob "corp.servicebus.windows.net/defender/nope/checkpoint/3" in checkpoint container iocwatch-checkpoints`,
				`every blob under "corp.servicebus.windows.net/defender/nope/checkpoint/"`,
				"start iocwatch again", "start_position (latest)", "skipping",
			} {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
			var amqpErr *amqp.Error
			switch {
			case errors.As(tt.err, &amqpErr) && !errors.Is(err, amqpErr):
				t.Errorf("error %q does not wrap the service's %v", msg, amqpErr)
			case !strings.Contains(msg, seqPastEnd.Description) && !strings.Contains(msg, offsetPastEnd.Description):
				t.Errorf("error %q lacks the service's words", msg)
			}
			if strings.Contains(msg, sig) {
				t.Errorf("the error shows the signature: %s", msg)
			}
			if got := records(t, logged, "ERROR"); len(got) != 1 || !loggedError(t, logged, msg) {
				t.Errorf("%d ERROR records in %d rounds, want the stop alone, once:\n%s", len(got), rounds, logged)
			}
		})
	}
}

// probeKey marks the context of a probe the test starts: probeStore answers
// only such a probe with its extra checkpoint.
type probeKey struct{}

// probeStore adds a checkpoint to the listings asked for with probeKey.
type probeStore struct {
	azeventhubs.CheckpointStore
}

func (p probeStore) ListCheckpoints(ctx context.Context, ns, hub, group string, opt *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	cps, err := p.CheckpointStore.ListCheckpoints(ctx, ns, hub, group, opt)
	if cp, ok := ctx.Value(probeKey{}).(azeventhubs.Checkpoint); ok && err == nil {
		cp.FullyQualifiedNamespace, cp.EventHubName, cp.ConsumerGroup = ns, hub, group
		var out []azeventhubs.Checkpoint
		for _, c := range cps {
			if c.PartitionID != cp.PartitionID {
				out = append(out, c)
			}
		}
		return append(out, cp), nil
	}
	return cps, err
}

// testProbeStart: the test receiver that finds out why the Processor could
// not open a partition opens it where the Processor does — from its
// checkpoint — and without the SDK's retries, so a refusal of that start
// comes back at once instead of being lost to the probe's timeout. The
// emulator refuses no start position as past the end (the service's
// refusal, TestStartPastTheEndIsNamed); it refuses an offset that is not a
// number (amqp:not-implemented, which the SDK retries, seconds apart),
// which stands in for it here. A checkpoint the partition has does not
// make the probe fail.
func testProbeStart(t *testing.T) {
	t.Parallel()
	conn, blob := shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	produce(t, ctx, conn, "probestart", []string{"0"}, 0, 5)
	opt := testOptions(conn, blob, "probestart", testenv.NewContainer(t, blob))
	opt.wrapStore = func(s azeventhubs.CheckpointStore) azeventhubs.CheckpointStore { return probeStore{s} }
	s := open(t, ctx, opt)
	waitFor(t, ctx, "the partition claimed", func() bool { return owned(s) == 1 })

	for _, tt := range []struct {
		name    string
		cp      azeventhubs.Checkpoint
		refused string // in the error; "" means the probe opened
	}{
		{"a start the service refuses", azeventhubs.Checkpoint{PartitionID: "0", Offset: to.Ptr("not-a-number"), SequenceNumber: to.Ptr[int64](2)},
			"not-a-number"},
		{"a checkpoint the partition has", azeventhubs.Checkpoint{PartitionID: "0", SequenceNumber: to.Ptr[int64](2)}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := s.probe(context.WithValue(ctx, probeKey{}, tt.cp), "0")
			if tt.refused == "" {
				if err != nil {
					t.Fatalf("probe: %v; want it to open", err)
				}
				return
			}
			// The SDK reports a refusal it would retry as "connlost", which
			// does not unwrap: the condition is in the text.
			if err == nil || !strings.Contains(err.Error(), string(amqp.ErrCondNotImplemented)) || !strings.Contains(err.Error(), tt.refused) {
				t.Fatalf("probe: %v; want the emulator's refusal (amqp:not-implemented) of %q", err, tt.refused)
			}
		})
	}
}

// The test receiver opens a partition where the Processor does
// (azeventhubs v2: getStartPosition): after its checkpoint's offset, else
// after its sequence number; without a checkpoint at start_position. Like
// the Processor it falls back to the earliest event when a geo-replicated
// hub refuses the checkpoint's offset. Its refusal names that start, wraps
// the client's error, and reaches the log with the fix when the service
// says the start is past the partition's end.
func TestProbeOpensWhereTheProcessorDoes(t *testing.T) {
	errList := errors.New("test: storage unreachable")
	geo := &amqp.Error{Condition: "com.microsoft:georeplication:invalid-offset", Description: "test: offset is not a geo-replication offset"}
	cp := func(id string, off *string, seq *int64) azeventhubs.Checkpoint {
		return azeventhubs.Checkpoint{PartitionID: id, Offset: off, SequenceNumber: seq}
	}
	type open struct {
		start string // the start position asked for, as startString prints it
		err   error  // the client's answer
	}
	for _, tt := range []struct {
		name     string
		earliest bool
		cps      []azeventhubs.Checkpoint
		listErr  error
		opens    []open // in order
		wantErr  string // in probe's error; "" means nil
	}{
		{"the checkpoint's offset", false, []azeventhubs.Checkpoint{cp("2", to.Ptr("9"), to.Ptr[int64](1)), cp("3", to.Ptr("4096"), to.Ptr[int64](7))}, nil,
			[]open{{"offset > 4096", nil}}, ""},
		{"the checkpoint's sequence number when it has no offset", false, []azeventhubs.Checkpoint{cp("3", nil, to.Ptr[int64](5000))}, nil,
			[]open{{"sequence number > 5000", seqPastEnd}}, `a test receiver of partition 3 from checkpoint sequence number 5000: ` + seqPastEnd.Error()},
		{"latest without a checkpoint", false, []azeventhubs.Checkpoint{cp("2", to.Ptr("9"), to.Ptr[int64](1))}, nil,
			[]open{{"latest", nil}}, ""},
		{"earliest without a checkpoint", true, nil, nil,
			[]open{{"earliest", noSuchPartition}}, `a test receiver of partition 3 from start_position (earliest): ` + noSuchPartition.Error()},
		{"start_position when the checkpoints cannot be listed", false, nil, errList,
			[]open{{"latest", noSuchPartition}}, `from start_position (latest) (the checkpoints could not be listed: test: storage unreachable)`},
		{"the earliest event when a geo-replicated hub refuses the offset", false, []azeventhubs.Checkpoint{cp("3", to.Ptr("4096"), to.Ptr[int64](7))}, nil,
			[]open{{"offset > 4096", geo}, {"earliest inclusive", offsetPastEnd}},
			`a test receiver of partition 3 from its earliest event (the hub is geo-replicated and refuses the checkpoint's offset): ` + offsetPastEnd.Error()},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := &Source{
				log: slog.New(slog.NewJSONHandler(&logs, nil)), red: newRedactor(), owner: "replica-me",
				failed: make(chan struct{}), parts: map[string]*partition{},
				store:   &listStore{cps: tt.cps, err: tt.listErr},
				recvCtx: context.Background(),
			}
			s.opt.namespace, s.opt.hub, s.opt.ConsumerGroup = "corp.servicebus.windows.net", "defender", "nope"
			s.opt.StartPosition, s.opt.startEarliest = "latest", tt.earliest
			if tt.earliest {
				s.opt.StartPosition = "earliest"
			}
			var asked []string
			s.probeOpen = func(_ context.Context, id string, start azeventhubs.StartPosition) error {
				if id != "3" {
					t.Errorf("probe opened partition %s, want 3", id)
				}
				asked = append(asked, startString(start))
				if len(asked) > len(tt.opens) {
					t.Errorf("probe opened %d times: %v", len(asked), asked)
					return nil
				}
				return tt.opens[len(asked)-1].err
			}
			err := s.probe(context.Background(), "3")
			var want []string
			for _, o := range tt.opens {
				want = append(want, o.start)
			}
			if fmt.Sprint(asked) != fmt.Sprint(want) {
				t.Errorf("probe opened at %v, want %v", asked, want)
			}
			last := tt.opens[len(tt.opens)-1].err
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("probe: %v, want nil", err)
			case tt.wantErr == "":
				return
			case err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, last):
				t.Fatalf("probe: %v; want an error wrapping %v with %q", err, last, tt.wantErr)
			}

			// The same, as a round finds the partition unopened.
			asked = nil
			s.startProbe("3")
			s.loops.Wait()
			if fmt.Sprint(asked) != fmt.Sprint(want) {
				t.Errorf("the round's probe opened at %v, want %v", asked, want)
			}
			logged := logs.String()
			if startPastEnd(last) {
				// A start past the end stops the source, with what to do
				// (TestStartPastTheEndStopsTheSource).
				select {
				case <-s.failed:
				default:
					t.Fatalf("the source goes on; want it stopped:\n%s", logged)
				}
				if msg := s.fatal.Error(); !strings.Contains(msg, tt.wantErr) || !strings.Contains(msg, "delete checkpoint blob") {
					t.Errorf("error %q lacks %q or the blob to delete", msg, tt.wantErr)
				}
				return
			}
			alive(t, s)
			if !strings.Contains(logged, `"partition":"3"`) || !strings.Contains(logged, tt.wantErr) {
				t.Errorf("log lacks the partition and %q:\n%s", tt.wantErr, logged)
			}
		})
	}
}

// startString prints a start position for TestProbeOpensWhereTheProcessorDoes.
func startString(sp azeventhubs.StartPosition) string {
	incl := ""
	if sp.Inclusive {
		incl = " inclusive"
	}
	switch {
	case sp.Offset != nil:
		return "offset > " + *sp.Offset + incl
	case sp.SequenceNumber != nil:
		return fmt.Sprintf("sequence number > %d%s", *sp.SequenceNumber, incl)
	case sp.Earliest != nil && *sp.Earliest:
		return "earliest" + incl
	case sp.Latest != nil && *sp.Latest:
		return "latest" + incl
	}
	return fmt.Sprintf("%+v", sp)
}
