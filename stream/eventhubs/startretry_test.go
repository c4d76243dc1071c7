package eventhubs

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/testenv"
)

// flakyStore fails the first listFails checkpoint listings and the first
// pinFails start recordings (conditional checkpoint writes), as a storage
// account does for a moment, and passes everything else through.
// pinErr, if set, is the recordings' error instead of errStoreDown;
// pinLands makes a failed recording write first, as one whose answer was
// lost on the way back.
type flakyStore struct {
	azeventhubs.CheckpointStore
	listFails, pinFails int64
	pinErr              error
	pinLands            bool
	lists, pins         atomic.Int64 // calls so far
}

// under puts f between the Source opt configures and its checkpoint
// store, with a back-off short enough for many retries within a test, and
// returns f.
func (f *flakyStore) under(opt *Options) *flakyStore {
	opt.storeRetryMin, opt.storeRetryMax = 20*time.Millisecond, 100*time.Millisecond
	opt.wrapStore = func(s azeventhubs.CheckpointStore) azeventhubs.CheckpointStore {
		f.CheckpointStore = s
		return f
	}
	return f
}

func (f *flakyStore) ListCheckpoints(ctx context.Context, ns, hub, group string, opt *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	if f.lists.Add(1) <= f.listFails {
		return nil, errStoreDown
	}
	return f.CheckpointStore.ListCheckpoints(ctx, ns, hub, group, opt)
}

func (f *flakyStore) createCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint) (bool, error) {
	if f.pins.Add(1) <= f.pinFails {
		if f.pinLands {
			if _, err := f.CheckpointStore.(checkpointCreator).createCheckpoint(ctx, cp); err != nil {
				return false, err
			}
		}
		if f.pinErr != nil {
			return false, f.pinErr
		}
		return false, errStoreDown
	}
	return f.CheckpointStore.(checkpointCreator).createCheckpoint(ctx, cp)
}

// testStartRetried: the SDK's Processor never again opens a partition
// whose checkpoint listing failed in the round that claimed it (it keeps it
// registered as opened, and keeps renewing the claim), so a listing — or a
// recording of a "latest" start — that fails for a moment must not reach
// it: the source retries in place, and the partition is read once the store
// answers. The outage is logged once at Warn, its end at Info. A recording
// whose write landed though its answer was lost finds the checkpoint there
// when retried, and the log does not lay it at another replica's door.
func testStartRetried(t *testing.T) {
	t.Parallel()
	conn, blob := shared(t)
	for _, tt := range []struct {
		name, hub, start    string
		listFails, pinFails int64
		pinLands            bool
		operation           string // of the logged outage
	}{
		{"the first checkpoint listings fail", "relist", "earliest", 3, 0, false, "list checkpoints"},
		{"the first recordings of a latest start fail", "repin", "latest", 0, 3, false, "record the start position of partition 0"},
		{"a recording lands but its answer is lost", "relost", "latest", 0, 1, true, "record the start position of partition 0"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			const n = 5
			logs := new(syncbuf.Buffer)
			opt := testOptions(conn, blob, tt.hub, testenv.NewContainer(t, blob))
			opt.StartPosition = tt.start
			opt.Logger = slog.New(slog.NewJSONHandler(logs, nil))
			fs := (&flakyStore{listFails: tt.listFails, pinFails: tt.pinFails, pinLands: tt.pinLands}).under(&opt)
			s := open(t, ctx, opt)

			// Many rounds (200 ms each) fit in this bound.
			octx, ocancel := context.WithTimeout(ctx, 20*time.Second)
			defer ocancel()
			var state string
			waitFor(t, octx, "the partition opened after the store failed", func() bool {
				state = fmt.Sprintf("%d checkpoint listings, %d start recordings", fs.lists.Load(), fs.pins.Load())
				return alive(t, s) && owned(s) == 1
			}, &state)
			if (tt.listFails > 0 && fs.lists.Load() <= tt.listFails) || (tt.pinFails > 0 && fs.pins.Load() <= tt.pinFails) {
				t.Fatalf("the partition opened before the store's failures were met (%s)", state)
			}
			produce(t, ctx, conn, tt.hub, []string{"0"}, 0, n)
			rec := newRecorder()
			readUntil(t, ctx, s, tt.hub, rec, func() bool { return len(rec.seen) == n })
			rec.check(t)

			logged := logs.String()
			var warns, infos int
			for _, line := range strings.Split(strings.TrimSpace(logged), "\n") {
				var r struct {
					Level     string `json:"level"`
					Msg       string `json:"msg"`
					Operation string `json:"operation"`
				}
				if err := json.Unmarshal([]byte(line), &r); err != nil {
					t.Fatalf("log line %q: %v", line, err)
				}
				if tt.pinLands && strings.Contains(r.Msg, "from another replica") {
					t.Errorf("a checkpoint this replica wrote itself was logged as another replica's: %s", line)
				}
				if r.Operation != tt.operation {
					continue
				}
				switch r.Level {
				case "WARN":
					warns++
				case "INFO":
					infos++
				}
			}
			if warns != 1 || infos != 1 {
				t.Errorf("the outage of %q was logged %d times at Warn and its end %d times at Info, want once each:\n%s",
					tt.operation, warns, infos, logged)
			}
		})
	}
}

// testCloseWhileStartWaits: closing the source while the round that claimed
// a partition waits for its checkpoint listing ends that wait: Close returns
// without an error, Read says the source closed (it did not fail), and the
// claim the waiting round made is given up, so that another replica may
// take the partition at once.
func testCloseWhileStartWaits(t *testing.T) {
	t.Parallel()
	conn, blob := shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cont := testenv.NewContainer(t, blob)
	const hub = "reclose"
	opt := testOptions(conn, blob, hub, cont)
	fs := (&flakyStore{listFails: 1 << 30}).under(&opt)
	s := open(t, ctx, opt)
	waitFor(t, ctx, "the round to wait for the checkpoint listing", func() bool { return alive(t, s) && fs.lists.Load() >= 3 })
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close while the round waits: %v", err)
	}
	if _, err := s.Read(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("Read after Close: %v, want io.EOF (closed, not failed)", err)
	}
	owners, err := blobStore(t, blob, cont).ListOwnership(ctx, s.opt.namespace, hub, DefaultConsumerGroup, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(owners) != 1 || owners[0].OwnerID != "" {
		t.Errorf("claims after Close: %+v, want partition 0 given up (no owner)", owners)
	}
}

// testStartRefused: a store that refuses to record a "latest" start for good
// (here a 403) is not an outage to wait out in the round: the source stops
// with an error naming the hub, the container, the partition and what to
// check.
func testStartRefused(t *testing.T) {
	t.Parallel()
	conn, blob := shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cont := testenv.NewContainer(t, blob)
	opt := testOptions(conn, blob, "pinrefused", cont)
	opt.StartPosition = "latest"
	refused := responseError(http.StatusForbidden, bloberror.AuthorizationPermissionMismatch)
	fs := (&flakyStore{pinFails: 1 << 30, pinErr: refused}).under(&opt)
	s := open(t, ctx, opt)
	_, err := s.Read(ctx)
	if err == nil || errors.Is(err, io.EOF) || ctx.Err() != nil {
		t.Fatalf("Read: %v; want the store's refusal as an error before the deadline", err)
	}
	for _, w := range []string{`hub "pinrefused"`, "checkpoint container " + cont, "record the start position of partition 0",
		"Storage Blob Data Contributor"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("Read error %q does not contain %q", err, w)
		}
	}
	if n := fs.pins.Load(); n != 1 {
		t.Errorf("the refused start was recorded %d times, want once (no retry)", n)
	}
}

// seqStore answers the n-th checkpoint listing with errs[n] while there is
// one, then with cps; called (if set) hears of every call.
type seqStore struct {
	azeventhubs.CheckpointStore
	errs   []error
	cps    []azeventhubs.Checkpoint
	calls  int
	called chan int
}

func (q *seqStore) ListCheckpoints(context.Context, string, string, string, *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	q.calls++
	if q.called != nil {
		q.called <- q.calls
	}
	if q.calls <= len(q.errs) {
		return nil, q.errs[q.calls-1]
	}
	return q.cps, nil
}

// The checkpoint listing the Processor starts partitions from never hands
// it a failure that may heal (it would never open the partitions of that
// round): it is retried in place, the outage logged once at Warn and its
// end at Info. A refusal stops the source instead, with the container, the
// operation and what to check.
func TestCheckpointListingRetriedInPlace(t *testing.T) {
	busy := responseError(http.StatusServiceUnavailable, bloberror.ServerBusy)
	forbidden := responseError(http.StatusForbidden, bloberror.AuthorizationPermissionMismatch)
	for _, tt := range []struct {
		name  string
		errs  []error
		fatal []string // in the error that stops the source; nil: listed after the errors
	}{
		{"listed at once", nil, nil},
		{"no answer, then listed", []error{errStoreDown, errStoreDown, errStoreDown, errStoreDown}, nil},
		{"server busy, then listed", []error{busy, busy}, nil},
		{"refused", []error{forbidden}, []string{`hub "defender"`, "checkpoint container iocwatch", "refuses to list checkpoints", "Storage Blob Data Contributor"}},
		{"refused after an outage", []error{errStoreDown, forbidden}, []string{"refuses to list checkpoints"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := testSource(&logs)
			cps := []azeventhubs.Checkpoint{{PartitionID: "0", SequenceNumber: to.Ptr[int64](4), Offset: to.Ptr("512")}}
			store := &seqStore{errs: tt.errs, cps: cps}
			w := &procStore{s: s, CheckpointStore: store}
			got, err := w.ListCheckpoints(context.Background(), "ns", "defender", "$Default", nil)
			warns, infos := strings.Count(logs.String(), "level=WARN"), strings.Count(logs.String(), "level=INFO")
			select {
			case <-s.failed:
				if tt.fatal == nil {
					t.Fatalf("the source stopped: %v", s.fatal)
				}
				if err == nil {
					t.Errorf("ListCheckpoints: %v, want the refusal", got)
				}
				for _, w := range tt.fatal {
					if !strings.Contains(s.fatal.Error(), w) {
						t.Errorf("error %q does not contain %q", s.fatal, w)
					}
				}
				if store.calls != len(tt.errs) {
					t.Errorf("listed %d times, want %d (none after the refusal)", store.calls, len(tt.errs))
				}
				return
			default:
			}
			if tt.fatal != nil {
				t.Fatalf("ListCheckpoints: %v, %v; want the source stopped", got, err)
			}
			if err != nil || len(got) != 1 || got[0].PartitionID != "0" {
				t.Fatalf("ListCheckpoints: %v, %v; want the checkpoint of partition 0", got, err)
			}
			if store.calls != len(tt.errs)+1 {
				t.Errorf("listed %d times, want %d", store.calls, len(tt.errs)+1)
			}
			want := 0
			if len(tt.errs) > 0 {
				want = 1
			}
			if warns != want || infos != want {
				t.Errorf("%d Warn and %d Info lines, want %d each (the outage and its end, not every attempt):\n%s", warns, infos, want, logs.String())
			}
		})
	}
}

// A listing retried while the store is down ends as soon as the Processor
// stops (the context it passes ends) or the Source closes, without
// waiting out the back-off, and does not stop the source as a failure.
func TestCheckpointListingRetryEndsWithTheProcessor(t *testing.T) {
	for _, tt := range []struct {
		name    string
		closing bool // the Source closes (else the Processor's context ends)
	}{
		{"the processor stops", false},
		{"the source closes", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			s := testSource(&logs)
			s.opt.storeRetryMin, s.opt.storeRetryMax = time.Hour, time.Hour // only an end stops the wait
			runCtx, stopRun := context.WithCancel(context.Background())
			defer stopRun()
			s.runCtx = runCtx
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			store := &seqStore{errs: []error{errStoreDown, errStoreDown}, called: make(chan int, 2)}
			w := &procStore{s: s, CheckpointStore: store}
			done := make(chan error, 1)
			go func() {
				_, err := w.ListCheckpoints(ctx, "ns", "defender", "$Default", nil)
				done <- err
			}()
			<-store.called
			if tt.closing {
				stopRun()
			} else {
				cancel()
			}
			if err := <-done; !errors.Is(err, errStoreDown) {
				t.Errorf("ListCheckpoints: %v, want the store's last error", err)
			}
			select {
			case <-s.failed:
				t.Errorf("the source stopped: %v; want a plain end", s.fatal)
			default:
			}
			if store.calls != 1 {
				t.Errorf("listed %d times, want once", store.calls)
			}
		})
	}
}

// testSource is a Source for procStore's unit tests: start position
// earliest (no start to record), a text log into logs, a back-off of 1 ms.
func testSource(logs *bytes.Buffer) *Source {
	s := &Source{log: slog.New(slog.NewTextHandler(logs, nil)), red: newRedactor(), failed: make(chan struct{})}
	s.opt.hub, s.opt.checkpointTarget, s.opt.StartPosition, s.opt.startEarliest = "defender", "container iocwatch", "earliest", true
	s.opt.storeRetryMin, s.opt.storeRetryMax = time.Millisecond, time.Millisecond
	s.runCtx = context.Background()
	return s
}
