package eventhubs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/go-amqp"
)

// probeSource is a Source with what a probe and watch use, and no service:
// probeOpen is the test's.
func probeSource(logs *bytes.Buffer, open func(ctx context.Context, id string, start azeventhubs.StartPosition) error) *Source {
	s := &Source{
		log: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})), red: newRedactor(), owner: "replica-me",
		failed: make(chan struct{}), parts: map[string]*partition{},
		store:     &listStore{},
		recvCtx:   context.Background(),
		probeOpen: open,
	}
	s.opt.namespace, s.opt.hub, s.opt.ConsumerGroup = "corp.servicebus.windows.net", "defender", "iocwatch"
	s.opt.StartPosition, s.opt.checkpointTarget = "latest", "container iocwatch-checkpoints"
	return s
}

// records returns the JSON log's records at level.
func records(t *testing.T, logs, level string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec["level"] == level {
			out = append(out, rec)
		}
	}
	return out
}

// The round that finds a partition claimed but not opened starts a probe
// (ListOwnership), and then the Processor, having claimed the partition
// again, tries to open it again: the two run at once. When the Processor's
// attempt succeeds — the cause has passed — its epoch receiver displaces
// the probe's, or the service refuses the probe's attach because of it
// (amqp:link:stolen at attach, which the SDK reports as "connlost"), or the
// probe opened as well. None of that is a partition that cannot be opened:
// nothing is logged as an error. When no reader took the partition up, the
// same outcomes are reported.
func TestProbeSaysNothingOfAPartitionTheProcessorOpenedMeanwhile(t *testing.T) {
	// The service's refusal of a receiver without an owner level while
	// one with an owner level holds the partition: it answers the attach
	// without a source, then detaches the link with this error.
	stolen := &amqp.Error{Condition: "amqp:link:stolen",
		Description: "At least one receiver for the endpoint is created with epoch of '0', and so non-epoch receiver is not allowed. Either reconnect with a higher epoch, or make sure all epoch receivers are closed or disconnected. TrackingId:1, SystemTracker:corp:eventhub:defender~8191|iocwatch, Timestamp:2026-11-29T08:34:39"}
	for _, tt := range []struct {
		name    string
		err     error // the probe's outcome
		opened  bool  // the Processor opened the partition while the probe ran
		errLogs int   // ERROR records wanted
	}{
		{"refused at attach by the processor's receiver, as the SDK reports it", errors.New("(connlost): " + stolen.Error()), true, 0},
		{"refused at attach by the processor's receiver", stolen, true, 0},
		{"opened, then displaced by the processor's receiver", nil, true, 0},
		{"a refusal that has passed, with the processor's receiver open since", &amqp.Error{Condition: "com.microsoft:server-busy", Description: "try again"}, true, 0},
		{"refused at attach, no reader of ours", errors.New("(connlost): " + stolen.Error()), false, 1},
		{"opened, no reader of ours", nil, false, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			var s *Source
			s = probeSource(&logs, func(context.Context, string, azeventhubs.StartPosition) error {
				if tt.opened {
					// What startPartition does with the Processor's client.
					s.mu.Lock()
					s.parts["3"] = &partition{id: "3", num: 3, ctx: context.Background()}
					s.mu.Unlock()
				}
				return tt.err
			})
			if !s.startProbe("3") {
				t.Fatal("no probe started")
			}
			s.loops.Wait()
			alive(t, s)
			if got := records(t, logs.String(), "ERROR"); len(got) != tt.errLogs {
				t.Errorf("%d ERROR records, want %d:\n%s", len(got), tt.errLogs, logs.String())
			}
			var open bool
			for _, rec := range records(t, logs.String(), "INFO") {
				open = open || rec["msg"] == "eventhubs: a partition not opened in the last round is open now" && rec["partition"] == "3"
			}
			if open != tt.opened {
				t.Errorf("logged that partition 3 is open now: %v, want %v:\n%s", open, tt.opened, logs.String())
			}
		})
	}
}

// Each round probes one partition that was claimed and not opened, and
// with several, each in turn: every one is reported, not only the first.
// A partition a reader took up is not probed.
func TestEveryUnopenedPartitionIsProbedInTurn(t *testing.T) {
	for _, tt := range []struct {
		name    string
		claimed []string
		reading []string // partitions with a running reader
		want    []string // probed, one per round
	}{
		{"one", []string{"3"}, nil, []string{"3", "3", "3"}},
		{"three, in numeric order whatever the claims' order", []string{"10", "2", "1"}, nil, []string{"1", "2", "10", "1", "2", "10"}},
		{"a partition being read is left out", []string{"0", "1", "2"}, []string{"1"}, []string{"0", "2", "0", "2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			var mu sync.Mutex
			var probed []string
			s := probeSource(&logs, func(_ context.Context, id string, _ azeventhubs.StartPosition) error {
				mu.Lock()
				probed = append(probed, id)
				mu.Unlock()
				return fmt.Errorf("test: partition %s refused", id)
			})
			for _, id := range tt.reading {
				s.parts[id] = &partition{id: id, ctx: context.Background()}
			}
			w := &procStore{s: s, claimed: tt.claimed, claimedAt: time.Now()}
			for range tt.want {
				w.watch()
				s.loops.Wait()
			}
			if !slices.Equal(probed, tt.want) {
				t.Errorf("probed %v, want %v", probed, tt.want)
			}
			logged := map[string]bool{}
			for _, rec := range records(t, logs.String(), "ERROR") {
				p, _ := rec["partition"].(string)
				logged[p] = true
			}
			for _, id := range tt.want {
				if !logged[id] {
					t.Errorf("partition %s never logged:\n%s", id, logs.String())
				}
			}
		})
	}
}

// A partition claimed in the last round and not opened may have been taken
// by another replica since (one joined, or balanced the shares): that
// replica's receiver, with an owner level, displaces the test receiver once
// it opened (the SDK's ErrorCodeOwnershipLost, a link detached as
// amqp:link:stolen), or the service refuses its attach (amqp:link:stolen,
// which the SDK, having retried it as a lost connection, reports as
// "connlost" without unwrapping). That is how replicas share a hub, not a
// partition that cannot be opened: when the checkpoint store names another
// replica as the partition's owner, an Info line says so, with the new
// owner, and nothing is logged as an error. When the store names this
// replica (or cannot be read), what keeps the partition out is a receiver
// of another application with an owner level: that stays an error, as does
// any other failure while another replica owns the partition, and a
// refusal still stops the source.
func TestProbeOfAPartitionAnotherReplicaTookIsNoError(t *testing.T) {
	stolen := &amqp.Error{Condition: amqp.ErrCondStolen,
		Description: "At least one receiver for the endpoint is created with epoch of '0', and so non-epoch receiver is not allowed. Either reconnect with a higher epoch, or make sure all epoch receivers are closed or disconnected. TrackingId:1, SystemTracker:corp:eventhub:defender~8191|iocwatch, Timestamp:2026-11-29T08:34:39"}
	busy := &amqp.Error{Condition: "com.microsoft:server-busy", Description: "try again"}
	noListen := &amqp.Error{Condition: amqp.ErrCondUnauthorizedAccess, Description: "Unauthorized access. 'Listen' claim(s) are required to perform this operation."}
	const other = "iocwatch-other-replica"
	for _, tt := range []struct {
		name    string
		err     error  // the probe's outcome
		owner   string // the store's owner of partition 3
		ownErr  error  // the store's failure to list ownership
		taken   bool   // logged at Info as another replica's
		errLogs int    // ERROR records wanted
		fatal   bool   // the source stops
	}{
		{"displaced once opened: the SDK's ownership lost", &azeventhubs.Error{Code: azeventhubs.ErrorCodeOwnershipLost}, other, nil, true, 0, false},
		{"link detached as stolen", &amqp.LinkError{RemoteErr: stolen}, other, nil, true, 0, false},
		{"attach refused as stolen", stolen, other, nil, true, 0, false},
		{"attach refused as stolen, as the SDK reports it", errors.New("(connlost): " + stolen.Error()), other, nil, true, 0, false},
		{"opened, then displaced (the probe's own nil)", nil, other, nil, true, 0, false},
		{"stolen, the store names this replica", errors.New("(connlost): " + stolen.Error()), "replica-me", nil, false, 1, false},
		{"stolen, the store names no owner", &azeventhubs.Error{Code: azeventhubs.ErrorCodeOwnershipLost}, "", nil, false, 1, false},
		{"stolen, the store cannot be read", errors.New("(connlost): " + stolen.Error()), other, errors.New("test: storage unreachable"), false, 1, false},
		{"another failure, another replica owns it", busy, other, nil, false, 1, false},
		{"another failure as the SDK reports it, another replica owns it", errors.New("(connlost): " + busy.Error()), other, nil, false, 1, false},
		{"a refusal, another replica owns it", noListen, other, nil, false, 1, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := probeSource(&logs, func(context.Context, string, azeventhubs.StartPosition) error { return tt.err })
			s.store = &listStore{ownErr: tt.ownErr, owners: []azeventhubs.Ownership{
				{PartitionID: "2", OwnerID: "replica-me"},
				{PartitionID: "3", OwnerID: tt.owner},
			}}
			if !s.startProbe("3") {
				t.Fatal("no probe started")
			}
			s.loops.Wait()
			select {
			case <-s.failed:
				if !tt.fatal {
					t.Fatalf("the source stopped: %v", s.fatal)
				}
			default:
				if tt.fatal {
					t.Fatal("the source goes on; want it stopped by the refusal")
				}
			}
			if got := records(t, logs.String(), "ERROR"); len(got) != tt.errLogs {
				t.Errorf("%d ERROR records, want %d:\n%s", len(got), tt.errLogs, logs.String())
			}
			var taken []map[string]any
			for _, rec := range records(t, logs.String(), "INFO") {
				if rec["msg"] == "eventhubs: a partition not opened in the last round is another replica's now" {
					taken = append(taken, rec)
				}
			}
			if got := len(taken) == 1; got != tt.taken || len(taken) > 1 {
				t.Fatalf("logged %d times that another replica took partition 3, want %v:\n%s", len(taken), tt.taken, logs.String())
			}
			if !tt.taken {
				return
			}
			rec := taken[0]
			if rec["partition"] != "3" || rec["hub"] != "defender" || rec["new_owner"] != other || rec["owner"] != "replica-me" {
				t.Errorf("record %v, want hub defender, partition 3, owner replica-me, new_owner %s", rec, other)
			}
			want := "<nil>"
			if tt.err != nil {
				want = "a test receiver of partition 3 from start_position (latest): " + tt.err.Error()
			}
			if p, _ := rec["probe"].(string); p != want {
				t.Errorf("probe %q, want %q", p, want)
			}
		})
	}
}

// ownersWait is a store whose ListOwnership says it was asked (asked) and
// then waits for its context to end, as a store that has not answered yet
// when the Source closes.
type ownersWait struct {
	*listStore
	asked chan struct{}
}

func (o *ownersWait) ListOwnership(ctx context.Context, _, _, _ string, _ *azeventhubs.ListOwnershipOptions) ([]azeventhubs.Ownership, error) {
	close(o.asked)
	<-ctx.Done()
	return nil, ctx.Err()
}

// A probe displaced or refused by an owner-level receiver asks the
// checkpoint store who owns the partition now. When the Source closes
// while it waits for that answer, the listing ends with the close, and
// what the probe met is not reported: no error is logged, nor the
// partition as one that cannot be opened, and the source does not stop.
func TestCloseWhileAProbeAsksTheOwnerIsNoError(t *testing.T) {
	stolen := &amqp.Error{Condition: amqp.ErrCondStolen, Description: "At least one receiver for the endpoint is created with epoch of '0', and so non-epoch receiver is not allowed."}
	for _, tt := range []struct {
		name string
		err  error // the probe's outcome
	}{
		{"attach refused as stolen, as the SDK reports it", errors.New("(connlost): " + stolen.Error())},
		{"displaced once opened: the SDK's ownership lost", &azeventhubs.Error{Code: azeventhubs.ErrorCodeOwnershipLost}},
		{"opened (the probe's own nil)", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := probeSource(&logs, func(context.Context, string, azeventhubs.StartPosition) error { return tt.err })
			s.recvCtx, s.stopRecv = context.WithCancel(context.Background())
			store := &ownersWait{listStore: &listStore{}, asked: make(chan struct{})}
			s.store = store
			if !s.startProbe("3") {
				t.Fatal("no probe started")
			}
			<-store.asked
			s.stopRecv() // what Close does first
			s.loops.Wait()
			alive(t, s)
			if got := records(t, logs.String(), "ERROR"); len(got) != 0 {
				t.Errorf("%d ERROR records after the close, want none:\n%s", len(got), logs.String())
			}
			if strings.Contains(logs.String(), "cannot open partition") || strings.Contains(logs.String(), "claimed but not opened") {
				t.Errorf("a partition reported as not opened after the close:\n%s", logs.String())
			}
		})
	}
}
