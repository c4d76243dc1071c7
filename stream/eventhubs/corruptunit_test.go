package eventhubs

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
)

// The checkpoint a blob's metadata holds: both keys present (in any case),
// the sequence number a whole number, the offset not empty. Anything else
// is a corrupt checkpoint that names the blob, the key and its value.
func TestCheckpointFromMetadata(t *testing.T) {
	const name = "ns/hub/$Default/checkpoint/3"
	long := strings.Repeat("9", 100)
	for _, tt := range []struct {
		name    string
		md      map[string]*string
		key     string // "" means a valid checkpoint
		problem string // in the error
		seq     int64
		off     string
	}{
		{"valid", map[string]*string{"sequencenumber": to.Ptr("41"), "offset": to.Ptr("8192")}, "", "", 41, "8192"},
		{"recorded start of an empty partition", map[string]*string{"sequencenumber": to.Ptr("-1"), "offset": to.Ptr("-1")}, "", "", -1, "-1"},
		{"keys in another case", map[string]*string{"SequenceNumber": to.Ptr("41"), "Offset": to.Ptr("8192")}, "", "", 41, "8192"},
		{"offset not a number (judged by the hub)", map[string]*string{"sequencenumber": to.Ptr("41"), "offset": to.Ptr("2:41:8192")}, "", "", 41, "2:41:8192"},
		{"no metadata", nil, "sequencenumber", "metadata sequencenumber is missing", 0, ""},
		{"sequencenumber nil", map[string]*string{"sequencenumber": nil, "offset": to.Ptr("1")}, "sequencenumber", "metadata sequencenumber is missing", 0, ""},
		{"sequencenumber empty", map[string]*string{"sequencenumber": to.Ptr(""), "offset": to.Ptr("1")}, "sequencenumber", `sequencenumber="" is not a whole number`, 0, ""},
		{"sequencenumber a fraction", map[string]*string{"sequencenumber": to.Ptr("4.5"), "offset": to.Ptr("1")}, "sequencenumber", `sequencenumber="4.5" is not a whole number`, 0, ""},
		{"sequencenumber too large", map[string]*string{"sequencenumber": to.Ptr(long), "offset": to.Ptr("1")}, "sequencenumber", `sequencenumber="` + long[:64] + `"… is not a whole number`, 0, ""},
		{"offset missing", map[string]*string{"sequencenumber": to.Ptr("4")}, "offset", "metadata offset is missing", 0, ""},
		{"offset empty", map[string]*string{"sequencenumber": to.Ptr("4"), "offset": to.Ptr("")}, "offset", `offset="" is empty`, 0, ""},
		{"control characters quoted", map[string]*string{"sequencenumber": to.Ptr("4\n\x1b[2J")}, "sequencenumber", `sequencenumber="4\n\x1b[2J"`, 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cp, err := checkpointFromMetadata(name, tt.md)
			if tt.key == "" {
				if err != nil {
					t.Fatalf("checkpoint: %v; want %d at %q", err, tt.seq, tt.off)
				}
				if cp.PartitionID != "3" || cp.SequenceNumber == nil || *cp.SequenceNumber != tt.seq || cp.Offset == nil || *cp.Offset != tt.off {
					t.Errorf("checkpoint %+v, want partition 3 at %d, offset %q", cp, tt.seq, tt.off)
				}
				return
			}
			var bad *corruptCheckpoint
			if !errors.As(err, &bad) {
				t.Fatalf("checkpoint: %v; want a corrupt checkpoint", err)
			}
			if bad.key != tt.key || bad.blob != name || bad.partition != "3" {
				t.Errorf("corrupt checkpoint %+v, want key %s of blob %s, partition 3", bad, tt.key, name)
			}
			for _, w := range []string{`"` + name + `"`, tt.problem} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

// On a hub without geo-replication an offset that is not a whole number is
// a corrupt checkpoint, which stops the source; on a geo-replicated hub the
// offset is the service's opaque string, and passes.
func TestOffsetsAreNumbersUnlessGeoReplicated(t *testing.T) {
	for _, tt := range []struct {
		name  string
		off   string
		geo   bool
		fatal bool
	}{
		{"number", "8192", false, false},
		{"recorded start of an empty partition", "-1", false, false},
		{"not a number", "81 92", false, true},
		{"not a number, geo-replicated", "2:41:8192", true, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := testSource(&logs)
			cps := []azeventhubs.Checkpoint{
				{FullyQualifiedNamespace: "ns", EventHubName: "defender", ConsumerGroup: "$Default", PartitionID: "0", SequenceNumber: to.Ptr[int64](1), Offset: to.Ptr("10")},
				{FullyQualifiedNamespace: "ns", EventHubName: "defender", ConsumerGroup: "$Default", PartitionID: "1", SequenceNumber: to.Ptr[int64](1), Offset: to.Ptr(tt.off)},
			}
			w := &procStore{s: s, geo: tt.geo, CheckpointStore: &listStore{cps: cps}}
			got, err := w.ListCheckpoints(context.Background(), "ns", "defender", "$Default", nil)
			select {
			case <-s.failed:
				if !tt.fatal {
					t.Fatalf("the source stopped: %v", s.fatal)
				}
				for _, w := range []string{`"ns/defender/$Default/checkpoint/1"`, `offset="` + tt.off + `" is not a whole number`, "partition 1"} {
					if !strings.Contains(s.fatal.Error(), w) {
						t.Errorf("error %q does not contain %q", s.fatal, w)
					}
				}
				if err == nil {
					t.Errorf("ListCheckpoints: %d checkpoints, want the corrupt checkpoint's error", len(got))
				}
			default:
				if tt.fatal {
					t.Fatalf("the source goes on (ListCheckpoints: %v); want it stopped", err)
				}
				if err != nil || len(got) != 2 {
					t.Errorf("ListCheckpoints: %d, %v; want both checkpoints", len(got), err)
				}
			}
		})
	}
}

// The stop a corrupt checkpoint causes says, besides the blob and the key,
// how to recover from it, with the start position the deleted checkpoint
// gives way to.
func TestCorruptCheckpointStopsTheSource(t *testing.T) {
	var logs bytes.Buffer
	s := testSource(&logs)
	s.opt.StartPosition, s.opt.startEarliest = "latest", false
	bad := &corruptCheckpoint{blob: "ns/defender/$Default/checkpoint/3", partition: "3", key: "offset", value: to.Ptr("x")}
	w := &procStore{s: s, CheckpointStore: &listStore{err: bad}}
	if _, err := w.ListCheckpoints(context.Background(), "ns", "defender", "$Default", nil); !errors.Is(err, bad) {
		t.Fatalf("ListCheckpoints: %v, want the corrupt checkpoint", err)
	}
	select {
	case <-s.failed:
	default:
		t.Fatal("the source goes on; want it stopped")
	}
	for _, w := range []string{`hub "defender"`, "checkpoint container iocwatch", `"ns/defender/$Default/checkpoint/3"`,
		`offset="x"`, "delete", "partition 3", "start_position (latest)", "set offset to"} {
		if !strings.Contains(s.fatal.Error(), w) {
			t.Errorf("error %q does not contain %q", s.fatal, w)
		}
	}
	if !errors.Is(s.fatal, bad) {
		t.Errorf("error %q does not wrap the corrupt checkpoint", s.fatal)
	}
	if strings.Contains(logs.String(), "cannot list checkpoints") {
		t.Errorf("the corrupt checkpoint was logged as an outage:\n%s", logs.String())
	}
}

// listStore answers ListCheckpoints with cps or err, and ListOwnership
// with owners or ownErr.
type listStore struct {
	azeventhubs.CheckpointStore
	cps    []azeventhubs.Checkpoint
	err    error
	owners []azeventhubs.Ownership
	ownErr error
}

func (l *listStore) ListCheckpoints(context.Context, string, string, string, *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	return l.cps, l.err
}

func (l *listStore) ListOwnership(context.Context, string, string, string, *azeventhubs.ListOwnershipOptions) ([]azeventhubs.Ownership, error) {
	return l.owners, l.ownErr
}

// Geo-replication can be enabled on a namespace while iocwatch runs: from
// then on the service's offsets are strings, and a checkpoint iocwatch
// itself wrote is no longer a whole number. Before such an offset stops the
// source as corrupt, the service is asked again; once it says the hub is
// geo-replicated, the offset passes, and later listings do not ask again.
// Only the service's "no" makes the offset corrupt: a service that cannot
// be asked for a moment is asked again, as a store that cannot be reached
// is (the failure logged once at Warn), instead of stopping the source with
// a checkpoint called corrupt that is not.
func TestOffsetsOfAHubGeoReplicatedSinceTheStart(t *testing.T) {
	errAsk := errors.New("test: management link closed")
	type answer struct {
		geo bool
		err error
	}
	for _, tt := range []struct {
		name    string
		answers []answer // what the service says (or fails to), in turn
		fatal   bool
	}{
		{"geo-replication enabled since the start", []answer{{true, nil}}, false},
		{"still not geo-replicated", []answer{{false, nil}}, true},
		{"the service cannot be asked for a moment, then says geo-replicated", []answer{{false, errAsk}, {false, errAsk}, {true, nil}}, false},
		{"the service cannot be asked for a moment, then says not", []answer{{false, errAsk}, {false, nil}}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := testSource(&logs)
			cps := []azeventhubs.Checkpoint{
				{FullyQualifiedNamespace: "ns", EventHubName: "defender", ConsumerGroup: "$Default", PartitionID: "0", SequenceNumber: to.Ptr[int64](7), Offset: to.Ptr("1:7:4096")},
			}
			asked := 0
			w := &procStore{s: s, CheckpointStore: &listStore{cps: cps}, geoNow: func(context.Context) (bool, error) {
				a := tt.answers[min(asked, len(tt.answers)-1)]
				asked++
				return a.geo, a.err
			}}
			for range 2 {
				got, err := w.ListCheckpoints(context.Background(), "ns", "defender", "$Default", nil)
				if tt.fatal {
					if err == nil {
						t.Fatalf("ListCheckpoints: %d checkpoints, want the corrupt checkpoint's error", len(got))
					}
					break
				}
				if err != nil || len(got) != 1 || *got[0].Offset != "1:7:4096" {
					t.Fatalf("ListCheckpoints: %v, %v; want the checkpoint at 1:7:4096", got, err)
				}
			}
			select {
			case <-s.failed:
				if !tt.fatal {
					t.Fatalf("the source stopped: %v", s.fatal)
				}
				if !strings.Contains(s.fatal.Error(), `offset="1:7:4096" is not a whole number`) {
					t.Errorf("error %q does not name the offset", s.fatal)
				}
			default:
				if tt.fatal {
					t.Fatal("the source goes on; want it stopped")
				}
			}
			if asked != len(tt.answers) {
				t.Errorf("the service was asked %d times, want %d", asked, len(tt.answers))
			}
			if tt.answers[0].err != nil {
				logged := logs.String()
				if n := strings.Count(logged, "level=WARN"); n != 1 || !strings.Contains(logged, errAsk.Error()) {
					t.Errorf("the failure to ask the service was logged %d times at Warn, want once, with its error:\n%s", n, logged)
				}
			}
		})
	}
}

// The processor stopping (Close) while the service is asked whether the hub
// has been geo-replicated is a plain end: the question unanswered does not
// make the offset corrupt, and does not stop the source with an error.
func TestGeoQuestionEndsWithTheProcessor(t *testing.T) {
	var logs bytes.Buffer
	s := testSource(&logs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cps := []azeventhubs.Checkpoint{
		{FullyQualifiedNamespace: "ns", EventHubName: "defender", ConsumerGroup: "$Default", PartitionID: "0", SequenceNumber: to.Ptr[int64](7), Offset: to.Ptr("1:7:4096")},
	}
	w := &procStore{s: s, CheckpointStore: &listStore{cps: cps}, geoNow: func(ctx context.Context) (bool, error) {
		cancel() // the processor stops while the service is asked
		return false, ctx.Err()
	}}
	if got, err := w.ListCheckpoints(ctx, "ns", "defender", "$Default", nil); err == nil {
		t.Fatalf("ListCheckpoints: %v; want the processor's end", got)
	}
	select {
	case <-s.failed:
		t.Errorf("the source stopped: %v; want a plain end", s.fatal)
	default:
	}
}
