package eventhubs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2/checkpoints"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/Azure/go-amqp"
)

// probeTimeout bounds the test link opened to learn why the processor could
// not open a partition. A refusal comes back at once; a link that opens and
// sees no event waits this long.
const probeTimeout = 5 * time.Second

// procStore is the checkpoint store as the Processor sees it. The SDK's
// Processor stops for good when one load-balancing round cannot list or
// claim ownership, and it only logs (to the SDK's own log) a partition it
// claimed but could not open. procStore
//
//   - retries the calls whose failure stops the Processor — listing and
//     claiming ownership — with back-off while the store fails, logging
//     every failure, until it answers or the Source closes; a refusal
//     that cannot heal (no permission, an expired credential, the
//     container gone) is returned at once, with what to check: it stops
//     the Processor, and the Source with it;
//   - logs a failure to list checkpoints (the Processor then opens nothing
//     in that round and tries again in the next; waiting in place would
//     hold up the renewal of its claims);
//   - with start position "latest", records the start of every partition
//     the round claimed without a checkpoint as that partition's
//     checkpoint before the Processor opens it (pin), so that a later owner
//     resumes from there rather than from its own "latest";
//   - at the start of each round, looks for partitions the last round
//     claimed that no reader took up, and finds out why (watch).
//
// SetCheckpoint (the Source's flush) passes through unchanged: flush has
// its own retry.
type procStore struct {
	azeventhubs.CheckpointStore
	s *Source

	mu        sync.Mutex
	claimed   []string  // partitions the last round claimed for this replica
	claimedAt time.Time // when that round's claims were written
	blockedAt time.Time // when listing or pinning checkpoints last failed
}

// ListOwnership lists the claims for a load-balancing round, retrying while
// the store fails. A round starts with it, so it first checks the last
// round's claims (watch).
func (w *procStore) ListOwnership(ctx context.Context, ns, hub, group string, opt *azeventhubs.ListOwnershipOptions) ([]azeventhubs.Ownership, error) {
	w.watch()
	var out []azeventhubs.Ownership
	err := w.retry(ctx, "list partition ownership", func() error {
		var err error
		out, err = w.CheckpointStore.ListOwnership(ctx, ns, hub, group, opt)
		return err
	})
	return out, err
}

// ClaimOwnership claims the partitions one at a time, retrying each while
// the store fails, so that a failure part way never leaves a written claim
// the Processor does not know about. The claims are conditional: one that
// waited out an outage fails (and is left out) if anyone changed it since.
func (w *procStore) ClaimOwnership(ctx context.Context, owns []azeventhubs.Ownership, opt *azeventhubs.ClaimOwnershipOptions) ([]azeventhubs.Ownership, error) {
	var got []azeventhubs.Ownership
	for _, o := range owns {
		err := w.retry(ctx, "claim partition "+o.PartitionID, func() error {
			one, err := w.CheckpointStore.ClaimOwnership(ctx, []azeventhubs.Ownership{o}, opt)
			if bloberror.HasCode(err, bloberror.BlobNotFound) {
				// The record this conditional claim renews was deleted
				// (the container cleaned by hand): the claim is lost, as
				// one another replica changed is, and the next round
				// claims the partition afresh.
				w.s.log.Info("eventhubs: the ownership record of a partition is gone; it is claimed again in the next round",
					"hub", w.s.opt.hub, "partition", o.PartitionID)
				return nil
			}
			got = append(got, one...)
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	var mine []string
	for _, o := range got {
		if o.OwnerID == w.s.owner {
			mine = append(mine, o.PartitionID)
		}
	}
	w.mu.Lock()
	w.claimed, w.claimedAt = mine, time.Now()
	w.mu.Unlock()
	return got, nil
}

// ListCheckpoints lists the checkpoints the Processor starts the partitions
// it opens from. With start position "latest" it first pins every partition
// just claimed that has none. A failure is logged: the Processor opens
// nothing in this round, and lists again in the next.
func (w *procStore) ListCheckpoints(ctx context.Context, ns, hub, group string, opt *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	cps, err := w.listCheckpoints(ctx, ns, hub, group, opt)
	if err != nil || w.s.opt.startEarliest {
		return cps, err
	}
	has := make(map[string]bool, len(cps))
	for _, cp := range cps {
		has[cp.PartitionID] = true
	}
	w.mu.Lock()
	claimed := w.claimed
	w.mu.Unlock()
	relist := false
	for _, id := range claimed {
		if has[id] || w.s.reading(id) {
			continue
		}
		cp, exists, err := w.pin(ctx, ns, hub, group, id)
		if err != nil {
			// Without its start recorded the partition must not be
			// opened at "latest": failing the listing keeps the
			// Processor from opening anything this round; it tries
			// again in the next.
			w.blocked()
			w.s.log.Warn("eventhubs: cannot record the start position of a claimed partition; it is opened once that succeeds",
				"hub", w.s.opt.hub, "partition", id, "err", w.s.red.String(err.Error()))
			return nil, err
		}
		if exists {
			relist = true
			continue
		}
		cps = append(cps, cp)
	}
	if relist {
		// A partition got its checkpoint from another replica since the
		// listing: the Processor starts it there.
		return w.listCheckpoints(ctx, ns, hub, group, opt)
	}
	return cps, nil
}

// listCheckpoints lists the checkpoints, logging a failure.
func (w *procStore) listCheckpoints(ctx context.Context, ns, hub, group string, opt *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	cps, err := w.CheckpointStore.ListCheckpoints(ctx, ns, hub, group, opt)
	if err != nil {
		w.blocked()
		w.s.log.Warn("eventhubs: cannot list checkpoints; claimed partitions are opened once that succeeds (retrying every update interval)",
			"hub", w.s.opt.hub, "checkpoint", w.s.opt.checkpointTarget, "err", w.s.red.String(err.Error()))
		return nil, err
	}
	return cps, nil
}

// pin records the checkpoint of partition id at its last enqueued event,
// the position "latest" stands for now, unless the partition got a
// checkpoint since it was listed (exists; nothing is written): another
// replica took it over meanwhile and recorded its start, or read and
// checkpointed it, and overwriting that would skip events. A store that
// cannot write on that condition (not a checkpointCreator) is written
// unconditionally.
func (w *procStore) pin(ctx context.Context, ns, hub, group, id string) (cp azeventhubs.Checkpoint, exists bool, err error) {
	props, err := w.s.consumer.GetPartitionProperties(ctx, id, nil)
	if err != nil {
		return cp, false, fmt.Errorf("eventhubs: properties of %s[%s] for its start position: %w", w.s.opt.hub, id, err)
	}
	seq, off := props.LastEnqueuedSequenceNumber, props.LastEnqueuedOffset
	if off == "" {
		// Never seen from the service; the checkpoint store needs an
		// offset. Start at the beginning: re-reading beats skipping.
		w.s.log.Warn("eventhubs: partition properties without a last enqueued offset; the partition is read from its earliest retained event",
			"hub", w.s.opt.hub, "partition", id)
		seq, off = -1, "-1"
	}
	cp = azeventhubs.Checkpoint{
		FullyQualifiedNamespace: ns, EventHubName: hub, ConsumerGroup: group, PartitionID: id,
		SequenceNumber: to.Ptr(seq), Offset: to.Ptr(off),
	}
	if c, ok := w.CheckpointStore.(checkpointCreator); ok {
		exists, err = c.createCheckpoint(ctx, cp)
	} else {
		err = w.CheckpointStore.SetCheckpoint(ctx, cp, nil)
	}
	if err != nil {
		return cp, false, fmt.Errorf("eventhubs: checkpoint %s[%s]@%d (its start) in checkpoint %s: %w", w.s.opt.hub, id, seq, w.s.opt.checkpointTarget, err)
	}
	if exists {
		w.s.log.Info("eventhubs: the partition got a checkpoint from another replica meanwhile; it is read on from there",
			"hub", w.s.opt.hub, "partition", id, "owner", w.s.owner)
		return cp, true, nil
	}
	w.s.log.Info("eventhubs: start position recorded as the partition's checkpoint",
		"hub", w.s.opt.hub, "partition", id, "sequence_number", seq, "owner", w.s.owner)
	return cp, false, nil
}

// checkpointCreator is a checkpoint store that can write a checkpoint on
// condition that the partition has none.
type checkpointCreator interface {
	// createCheckpoint writes cp unless its partition has a checkpoint;
	// then it writes nothing and returns true.
	createCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint) (exists bool, err error)
}

// blobCheckpoints is the SDK's blob checkpoint store with createCheckpoint.
type blobCheckpoints struct {
	*checkpoints.BlobStore
	cc *container.Client
}

var _ checkpointCreator = blobCheckpoints{}

// createCheckpoint creates the checkpoint blob as checkpoints.BlobStore
// lays it out — an empty blob <namespace>/<hub>/<group>/checkpoint/<id>
// with the metadata sequencenumber and offset — if it does not exist.
func (b blobCheckpoints) createCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint) (bool, error) {
	if cp.FullyQualifiedNamespace == "" || cp.EventHubName == "" || cp.ConsumerGroup == "" || cp.PartitionID == "" ||
		cp.SequenceNumber == nil || cp.Offset == nil {
		return false, fmt.Errorf("checkpoint of partition %q lacks a field", cp.PartitionID)
	}
	name := fmt.Sprintf("%s/%s/%s/checkpoint/%s", cp.FullyQualifiedNamespace, cp.EventHubName, cp.ConsumerGroup, cp.PartitionID)
	_, err := b.cc.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)), &blockblob.UploadOptions{
		Metadata: map[string]*string{
			"sequencenumber": to.Ptr(strconv.FormatInt(*cp.SequenceNumber, 10)),
			"offset":         to.Ptr(*cp.Offset),
		},
		AccessConditions: &blob.AccessConditions{
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)},
		},
	})
	if bloberror.HasCode(err, bloberror.BlobAlreadyExists, bloberror.ConditionNotMet) {
		return true, nil
	}
	return false, err
}

// retry calls op until it succeeds, ctx ends, the Source stops running
// the Processor or the store refuses for good (storeRefusal), waiting
// storeRetryMin, then twice as long each time up to storeRetryMax. Every
// failure retried is logged; so is the recovery.
func (w *procStore) retry(ctx context.Context, what string, op func() error) error {
	s := w.s
	delay := s.opt.storeRetryMin
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			if attempt > 1 {
				s.log.Info("eventhubs: checkpoint store reachable again", "hub", s.opt.hub,
					"checkpoint", s.opt.checkpointTarget, "operation", what, "attempts", attempt)
			}
			return nil
		}
		if ctx.Err() != nil || s.runCtx.Err() != nil {
			return err
		}
		if hint := storeRefusal(err); hint != "" {
			// Not an outage: retrying would leave the Source reading
			// nothing for ever. The Processor stops, and the Source
			// with it (Read returns this).
			return fmt.Errorf("checkpoint %s refuses to %s (%s): %w", s.opt.checkpointTarget, what, hint, err)
		}
		s.log.Warn("eventhubs: checkpoint store unavailable; retrying (owned partitions are still read, nothing is checkpointed or claimed meanwhile)",
			"hub", s.opt.hub, "checkpoint", s.opt.checkpointTarget, "operation", what,
			"attempt", attempt, "retry_in", delay, "err", s.red.String(err.Error()))
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
		case <-s.runCtx.Done():
		case <-t.C:
		}
		t.Stop()
		if ctx.Err() != nil || s.runCtx.Err() != nil {
			return err
		}
		delay = min(2*delay, s.opt.storeRetryMax)
	}
}

// storeRefusal returns what to check when err is the checkpoint store
// answering with a refusal that retrying cannot change — a client error
// other than a timeout or throttling: the credential may not (or no
// longer) read or write the container's blobs, the container is gone — and
// "" for a failure that may heal: no answer, a timeout, throttling, a
// server error.
func storeRefusal(err error) string {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return ""
	}
	switch code := re.StatusCode; {
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		return "check the storage credential: it may have expired, or may not read, write and list the container's blobs; " +
			"it needs the Storage Blob Data Contributor role, or a SAS with read, add, create, write and list permissions"
	case bloberror.HasCode(err, bloberror.ContainerNotFound):
		return "the container does not exist: create it"
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		return "the storage account refuses the request"
	}
	return ""
}

// blocked records that the Processor opens nothing in this round, for a
// reason already logged.
func (w *procStore) blocked() {
	w.mu.Lock()
	w.blockedAt = time.Now()
	w.mu.Unlock()
}

// watch looks for partitions the last round claimed for this replica that
// no reader took up since: the Processor could not open them, and says so
// only in the SDK's log. A probe finds out why. A round in which listing or
// pinning checkpoints failed is skipped: its reason is logged already.
func (w *procStore) watch() {
	w.mu.Lock()
	claimed, at, blocked := w.claimed, w.claimedAt, !w.blockedAt.Before(w.claimedAt)
	w.mu.Unlock()
	s := w.s
	if blocked || len(claimed) == 0 {
		return
	}
	select {
	case <-s.failed:
		return // stopped already
	default:
	}
	s.mu.Lock()
	var idle []string
	for _, id := range claimed {
		if p := s.parts[id]; p == nil || (p.lost && p.endedAt.Before(at)) {
			idle = append(idle, id)
		}
	}
	s.mu.Unlock()
	if len(idle) > 0 {
		s.startProbe(idle[0])
	}
}

// reading reports whether a reader of partition id is running.
func (s *Source) reading(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.parts[id]
	return p != nil && !p.lost
}

// startProbe probes partition id in the background, one probe at a time.
func (s *Source) startProbe(id string) {
	if !s.probing.CompareAndSwap(false, true) {
		return
	}
	s.mu.Lock()
	if s.recvCtx.Err() != nil {
		s.mu.Unlock()
		s.probing.Store(false)
		return
	}
	s.loops.Add(1) // Close waits for it (see close)
	s.mu.Unlock()
	go func() {
		defer s.loops.Done()
		defer s.probing.Store(false)
		err := s.probe(s.recvCtx, id)
		if s.recvCtx.Err() != nil {
			return
		}
		s.cannotOpen(id, err)
	}()
}

// probe opens a receiver of partition id without an owner level (it takes
// the partition from nobody) and returns the error that refused it, or nil
// when it opened, another receiver holds the partition, or no answer came
// within probeTimeout.
func (s *Source) probe(ctx context.Context, id string) error {
	pc, err := s.consumer.NewPartitionClient(id, &azeventhubs.PartitionClientOptions{
		StartPosition: azeventhubs.StartPosition{Latest: to.Ptr(true)},
		Prefetch:      -1,
	})
	if err != nil {
		return err
	}
	defer func() {
		cctx, cancel := context.WithTimeout(context.Background(), clientCloseTimeout)
		defer cancel()
		_ = pc.Close(cctx)
	}()
	pctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	_, err = pc.ReceiveEvents(pctx, 1, nil)
	var ehErr *azeventhubs.Error
	switch {
	case err == nil, pctx.Err() != nil:
		return nil
	case errors.As(err, &ehErr) && ehErr.Code == azeventhubs.ErrorCodeOwnershipLost:
		return nil
	}
	return err
}

// cannotOpen reports a partition the Processor claimed but could not open:
// a refusal that cannot heal stops the source; anything else is logged as
// an error, every round it happens.
func (s *Source) cannotOpen(id string, err error) {
	if err == nil {
		s.log.Error("eventhubs: partition claimed but not opened; retrying every update interval",
			"hub", s.opt.hub, "partition", id, "consumer_group", s.opt.ConsumerGroup, "owner", s.owner)
		return
	}
	if refused := s.refusal(id, err); refused != nil {
		s.fail(refused)
		return
	}
	s.log.Error("eventhubs: cannot open partition; retrying every update interval",
		"hub", s.opt.hub, "partition", id, "consumer_group", s.opt.ConsumerGroup,
		"err", s.red.String(err.Error()))
}

// refusal returns the error that stops the source when err is the service
// refusing this replica a receiver for good: the consumer group (or hub) is
// not there, or the credential may not read it. Otherwise it returns nil.
func (s *Source) refusal(id string, err error) error {
	var hint string
	var ehErr *azeventhubs.Error
	var amqpErr *amqp.Error
	switch {
	case errors.As(err, &ehErr) && ehErr.Code == azeventhubs.ErrorCodeUnauthorizedAccess,
		errors.As(err, &amqpErr) && amqpErr.Condition == amqp.ErrCondUnauthorizedAccess:
		hint = "check that the credential may read the hub: the Listen claim of its shared access policy, or the Azure Event Hubs Data Receiver role"
	case errors.As(err, &amqpErr) && amqpErr.Condition == amqp.ErrCondNotFound:
		hint = "check that the consumer group exists in the hub"
	default:
		return nil
	}
	return fmt.Errorf("eventhubs: hub %q consumer group %q: the service refuses to let this replica read partition %s (%s): %w",
		s.opt.hub, s.opt.ConsumerGroup, id, hint, err)
}
