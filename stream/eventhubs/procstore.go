package eventhubs

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

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
// claim ownership; when the round cannot list checkpoints it never opens
// the partitions it claimed in that round (azeventhubs v2: addPartitionClient
// leaves them registered as opened, so later rounds skip them while their
// claims are renewed); and it only logs (to the SDK's own log) a partition
// it claimed but could not open. procStore
//
//   - retries the calls whose failure stops the Processor — listing and
//     claiming ownership — with back-off while the store fails, logging
//     every failure, until it answers or the Source closes; a refusal
//     that cannot heal (no permission, an expired credential, the
//     container gone) is returned at once, with what to check: it stops
//     the Processor, and the Source with it;
//   - retries listing checkpoints in place the same way (logging the
//     outage once at Warn and its end at Info), so that no failure that
//     may heal reaches the Processor. The round waits meanwhile: no
//     claim is made or renewed, so other replicas may take this one's
//     partitions once the claims expire, while the partitions already
//     open are read on. A refusal stops the Source, and so does a corrupt
//     checkpoint (corruptCheckpoint), which no retry cures, with the blob,
//     the key and how to recover (an offset that is not a number only
//     once the service says the hub is still not geo-replicated: while it
//     cannot be asked, the listing is retried);
//   - with start position "latest", records the start of every partition
//     the round claimed without a checkpoint as that partition's
//     checkpoint before the Processor opens it (pin), retried in place as
//     the listing is (a refusal by the store or by the hub stops the
//     Source), so that a later owner resumes from there rather than from
//     its own "latest";
//   - at the start of each round, looks for partitions the last round
//     claimed that no reader took up, and finds out why (watch).
//
// SetCheckpoint (the Source's flush) passes through unchanged: flush has
// its own retry.
type procStore struct {
	azeventhubs.CheckpointStore
	s *Source
	// geoNow asks the service whether the hub is geo-replicated now
	// (geo-replication can be enabled while iocwatch runs); nil: geo
	// stands.
	geoNow func(context.Context) (bool, error)

	mu        sync.Mutex
	geo       bool      // the hub is geo-replicated: its offsets need not be numbers
	claimed   []string  // partitions the last round claimed for this replica
	claimedAt time.Time // when that round's claims were written
	probed    string    // the partition the last probe started by watch was of
}

// ListOwnership lists the claims for a load-balancing round, retrying while
// the store fails. A round starts with it, so it first checks the last
// round's claims (watch).
func (w *procStore) ListOwnership(ctx context.Context, ns, hub, group string, opt *azeventhubs.ListOwnershipOptions) ([]azeventhubs.Ownership, error) {
	w.watch()
	var out []azeventhubs.Ownership
	err := w.retry(ctx, "list partition ownership", ownershipRetry, func() error {
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
		err := w.retry(ctx, "claim partition "+o.PartitionID, ownershipRetry, func() error {
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
// just claimed that has none. Failures that may heal are retried in place
// (the round waits): an error returned here makes the Processor skip the
// partitions this round claimed until it restarts. It returns an error only
// when the Processor stops (ctx ends) or the Source failed: the store
// refused, a checkpoint is corrupt, the service refused the hub.
func (w *procStore) ListCheckpoints(ctx context.Context, ns, hub, group string, opt *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	cps, err := w.startCheckpoints(ctx, ns, hub, group, opt)
	if err != nil {
		switch {
		case errors.As(err, new(permanent)):
			w.s.fail(err)
		case ctx.Err() == nil && w.s.runCtx.Err() == nil:
			w.s.fail(fmt.Errorf("eventhubs: hub %q: %w", w.s.opt.hub, err))
		}
		return nil, err
	}
	return cps, nil
}

// startCheckpoints lists the checkpoints and, with start position
// "latest", pins the partitions just claimed that have none, retrying
// each step while it fails.
func (w *procStore) startCheckpoints(ctx context.Context, ns, hub, group string, opt *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
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
		// Without its start recorded the partition must not be opened
		// at "latest": the round waits until the start is recorded.
		var cp azeventhubs.Checkpoint
		var exists, failed bool
		err := w.retry(ctx, "record the start position of partition "+id, pinRetry, func() error {
			var err error
			cp, exists, err = w.pin(ctx, ns, hub, group, id)
			if refused := w.s.refusal(id, err); refused != nil {
				return permanent{refused}
			}
			failed = failed || err != nil
			return err
		})
		if err != nil {
			return nil, err
		}
		if exists {
			// After a failed attempt the checkpoint found may be that
			// attempt's own: its write landed, its answer was lost.
			msg := "eventhubs: the partition got a checkpoint from another replica meanwhile; it is read on from there"
			if failed {
				msg = "eventhubs: the partition has a checkpoint since a failed attempt to record its start (that attempt's, its answer lost, or another replica's); it is read on from there"
			}
			w.s.log.Info(msg, "hub", w.s.opt.hub, "partition", id, "owner", w.s.owner)
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

// listCheckpoints lists the checkpoints, retrying while the store fails. A
// corrupt checkpoint is returned at once, as the error that stops the
// Source: listing again cannot cure it. An offset that is not a number is
// corrupt only once the service says the hub is not geo-replicated; while
// the service cannot be asked, that is retried as an outage is.
func (w *procStore) listCheckpoints(ctx context.Context, ns, hub, group string, opt *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	var cps []azeventhubs.Checkpoint
	err := w.retry(ctx, "list checkpoints", listRetry, func() error {
		var err error
		cps, err = w.CheckpointStore.ListCheckpoints(ctx, ns, hub, group, opt)
		bad := (*corruptCheckpoint)(nil)
		switch {
		case errors.As(err, &bad):
			return permanent{w.corrupt(bad)}
		case err != nil || w.isGeo():
			return err
		}
		if bad = numericOffsets(cps); bad == nil {
			return nil
		}
		geo, err := w.geoSince(ctx)
		switch {
		case err != nil:
			// Unanswered, the offset is not known to be corrupt: asked
			// again, as a store outage is retried.
			return fmt.Errorf("eventhubs: %v, which only a hub geo-replicated since the start may hold; cannot ask whether hub %q is: %w",
				bad, w.s.opt.hub, err)
		case geo:
			return nil
		}
		return permanent{w.corrupt(bad)}
	})
	if err != nil {
		return nil, err
	}
	return cps, nil
}

// isGeo reports whether the hub is known to be geo-replicated.
func (w *procStore) isGeo() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.geo
}

// geoSince reports whether the hub, not geo-replicated when the Source
// started, is now (geoNow): its offsets are then strings, and a checkpoint
// whose offset is not a number is not corrupt. From then on offsets are not
// checked. It returns the error of a failure to ask: neither yes nor no.
func (w *procStore) geoSince(ctx context.Context) (bool, error) {
	if w.geoNow == nil {
		return false, nil
	}
	geo, err := w.geoNow(ctx)
	if err != nil || !geo {
		return false, err
	}
	w.mu.Lock()
	w.geo = true
	w.mu.Unlock()
	w.s.log.Info("eventhubs: the hub has been geo-replicated since the start; its offsets are the service's strings from now on",
		"hub", w.s.opt.hub)
	return true, nil
}

// corrupt returns the error that stops the Source for checkpoint bad: what
// is wrong, where, and the two ways out.
func (w *procStore) corrupt(bad *corruptCheckpoint) error {
	fix := "the sequence number of the partition's last processed event"
	if bad.key == metaOffset {
		fix = "the offset of the partition's last processed event"
	}
	return fmt.Errorf("eventhubs: hub %q: checkpoint %s holds a corrupt checkpoint, which retrying cannot cure: %w; "+
		"delete that blob to read partition %s from start_position (%s) again, or set %s to %s",
		w.s.opt.hub, w.s.opt.checkpointTarget, bad, bad.partition, w.s.opt.StartPosition, bad.key, fix)
}

// numericOffsets returns the first checkpoint whose offset is not a whole
// number, as a corrupt one, or nil. Only a hub without geo-replication is
// held to it: there the service's offsets are numbers, while in a
// geo-replicated hub they are strings only the service reads.
func numericOffsets(cps []azeventhubs.Checkpoint) *corruptCheckpoint {
	for _, cp := range cps {
		if cp.Offset == nil {
			continue
		}
		if _, err := strconv.ParseInt(*cp.Offset, 10, 64); err != nil {
			return &corruptCheckpoint{blob: checkpointBlob(cp), partition: cp.PartitionID,
				key: metaOffset, value: cp.Offset, problem: "is not a whole number"}
		}
	}
	return nil
}

// pin records the checkpoint of partition id at its last enqueued event,
// the position "latest" stands for now, unless the partition got a
// checkpoint since it was listed (exists; nothing is written, nor logged):
// another replica took it over meanwhile and recorded its start, or read
// and checkpointed it, and overwriting that would skip events. A store that
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

// blobCheckpoints is the SDK's blob checkpoint store with createCheckpoint,
// and listings that tell a corrupt record from an outage.
type blobCheckpoints struct {
	*checkpoints.BlobStore
	cc  *container.Client
	log *slog.Logger // nil: nothing is logged
}

var _ checkpointCreator = blobCheckpoints{}

// The metadata keys of checkpoint and ownership blobs, as
// checkpoints.BlobStore (and the other Event Hubs SDKs) write them.
const (
	metaSequenceNumber = "sequencenumber"
	metaOffset         = "offset"
	metaOwnerID        = "ownerid"
)

// blobFolder is the folder of a consumer group's records of kind
// ("checkpoint" or "ownership") as checkpoints.BlobStore lays them out:
// <namespace>/<hub>/<group>/<kind>/, each blob named after its partition.
func blobFolder(ns, hub, group, kind string) string {
	return ns + "/" + hub + "/" + group + "/" + kind + "/"
}

// checkpointBlob is the name of cp's blob as checkpoints.BlobStore lays it
// out: <namespace>/<hub>/<group>/checkpoint/<partition>.
func checkpointBlob(cp azeventhubs.Checkpoint) string {
	return blobFolder(cp.FullyQualifiedNamespace, cp.EventHubName, cp.ConsumerGroup, "checkpoint") + cp.PartitionID
}

// createCheckpoint creates the checkpoint blob as checkpoints.BlobStore
// lays it out — an empty blob <namespace>/<hub>/<group>/checkpoint/<id>
// with the metadata sequencenumber and offset — if it does not exist.
func (b blobCheckpoints) createCheckpoint(ctx context.Context, cp azeventhubs.Checkpoint) (bool, error) {
	if cp.FullyQualifiedNamespace == "" || cp.EventHubName == "" || cp.ConsumerGroup == "" || cp.PartitionID == "" ||
		cp.SequenceNumber == nil || cp.Offset == nil {
		return false, fmt.Errorf("checkpoint of partition %q lacks a field", cp.PartitionID)
	}
	_, err := b.cc.NewBlockBlobClient(checkpointBlob(cp)).Upload(ctx, streaming.NopCloser(bytes.NewReader(nil)), &blockblob.UploadOptions{
		Metadata: map[string]*string{
			metaSequenceNumber: to.Ptr(strconv.FormatInt(*cp.SequenceNumber, 10)),
			metaOffset:         to.Ptr(*cp.Offset),
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

// ListCheckpoints lists the checkpoints as checkpoints.BlobStore does, but
// a blob whose metadata holds no checkpoint is a *corruptCheckpoint that
// names the blob, the key and its value (the SDK's error names neither,
// and looks like any other failure to list).
func (b blobCheckpoints) ListCheckpoints(ctx context.Context, ns, hub, group string, _ *azeventhubs.ListCheckpointsOptions) ([]azeventhubs.Checkpoint, error) {
	if ns == "" || hub == "" || group == "" {
		return nil, errors.New("eventhubs: checkpoints listed without a namespace, hub or consumer group")
	}
	var cps []azeventhubs.Checkpoint
	err := b.list(ctx, blobFolder(ns, hub, group, "checkpoint"), func(item *container.BlobItem) error {
		cp, err := checkpointFromMetadata(*item.Name, item.Metadata)
		if err != nil {
			return err
		}
		cp.FullyQualifiedNamespace, cp.EventHubName, cp.ConsumerGroup = ns, hub, group
		cps = append(cps, cp)
		return nil
	})
	return cps, err
}

// ListOwnership lists the claims as checkpoints.BlobStore does, but a
// record whose metadata names no owner (edited by hand, or written by
// another tool) is logged and counts as released, so that the next claim
// overwrites it: the SDK's listing fails on it, every round, for good.
func (b blobCheckpoints) ListOwnership(ctx context.Context, ns, hub, group string, _ *azeventhubs.ListOwnershipOptions) ([]azeventhubs.Ownership, error) {
	if ns == "" || hub == "" || group == "" {
		return nil, errors.New("eventhubs: ownership listed without a namespace, hub or consumer group")
	}
	var owners []azeventhubs.Ownership
	err := b.list(ctx, blobFolder(ns, hub, group, "ownership"), func(item *container.BlobItem) error {
		name := *item.Name
		if item.Properties == nil || item.Properties.LastModified == nil || item.Properties.ETag == nil {
			return fmt.Errorf("eventhubs: ownership blob %q listed without its last-modified time or ETag", name)
		}
		o := azeventhubs.Ownership{
			FullyQualifiedNamespace: ns, EventHubName: hub, ConsumerGroup: group, PartitionID: partitionOf(name),
			LastModifiedTime: *item.Properties.LastModified, ETag: item.Properties.ETag,
		}
		// A released claim has an empty owner, which the blob client may
		// list as no metadata at all.
		switch owner, ok := metadata(item.Metadata, metaOwnerID); {
		case ok:
			if owner != nil {
				o.OwnerID = *owner
			}
		case len(item.Metadata) > 0 && b.log != nil:
			b.log.Warn("eventhubs: an ownership record names no owner; it counts as released and is claimed over",
				"blob", name, "metadata_keys", strings.Join(slices.Sorted(maps.Keys(item.Metadata)), ","))
		}
		owners = append(owners, o)
		return nil
	})
	return owners, err
}

// list calls each for every blob whose name starts with prefix, with its
// metadata, until each fails.
func (b blobCheckpoints) list(ctx context.Context, prefix string, each func(*container.BlobItem) error) error {
	pager := b.cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix:  &prefix,
		Include: container.ListBlobsInclude{Metadata: true},
	})
	for pager.More() {
		resp, err := pager.NextPage(ctx)
		if err != nil {
			return err
		}
		for _, item := range resp.Segment.BlobItems {
			if item == nil || item.Name == nil {
				continue
			}
			if err := each(item); err != nil {
				return err
			}
		}
	}
	return nil
}

// corruptCheckpoint is a checkpoint blob whose metadata holds no
// checkpoint: a key is missing, or its value cannot be one. Listing again
// does not change it; deleting or fixing the blob does.
type corruptCheckpoint struct {
	blob      string  // the blob's name in the container
	partition string  // the partition it is the checkpoint of
	key       string  // the metadata key at fault
	value     *string // its value; nil when the key is missing
	problem   string  // what is wrong with value
}

func (e *corruptCheckpoint) Error() string {
	if e.value == nil {
		return fmt.Sprintf("checkpoint blob %q: metadata %s is missing", e.blob, e.key)
	}
	return fmt.Sprintf("checkpoint blob %q: metadata %s=%s %s", e.blob, e.key, quoteValue(*e.value), e.problem)
}

// checkpointFromMetadata returns the checkpoint blob name holds in its
// metadata md (without namespace, hub and group): a sequence number that
// is a whole number and an offset that is not empty, as
// checkpoints.BlobStore writes them. Anything else is a
// *corruptCheckpoint.
func checkpointFromMetadata(name string, md map[string]*string) (azeventhubs.Checkpoint, error) {
	cp := azeventhubs.Checkpoint{PartitionID: partitionOf(name)}
	bad := func(key string, value *string, problem string) error {
		return &corruptCheckpoint{blob: name, partition: cp.PartitionID, key: key, value: value, problem: problem}
	}
	seq, ok := metadata(md, metaSequenceNumber)
	if !ok || seq == nil {
		return cp, bad(metaSequenceNumber, nil, "")
	}
	n, err := strconv.ParseInt(*seq, 10, 64)
	if err != nil {
		return cp, bad(metaSequenceNumber, seq, "is not a whole number")
	}
	off, ok := metadata(md, metaOffset)
	switch {
	case !ok || off == nil:
		return cp, bad(metaOffset, nil, "")
	case *off == "":
		return cp, bad(metaOffset, off, "is empty")
	}
	cp.SequenceNumber, cp.Offset = &n, off
	return cp, nil
}

// partitionOf returns the partition a checkpoint or ownership blob is of:
// the last element of its name.
func partitionOf(name string) string {
	return name[strings.LastIndexByte(name, '/')+1:]
}

// metadata looks key up in md; blob metadata names are not case-sensitive.
func metadata(md map[string]*string, key string) (*string, bool) {
	if v, ok := md[key]; ok {
		return v, true
	}
	for k, v := range md {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// maxQuoted bounds how much of a metadata value an error quotes.
const maxQuoted = 64

// quoteValue quotes a metadata value for an error, its first maxQuoted
// characters at most.
func quoteValue(v string) string {
	if utf8.RuneCountInString(v) <= maxQuoted {
		return strconv.Quote(v)
	}
	i := 0
	for range maxQuoted {
		_, size := utf8.DecodeRuneInString(v[i:])
		i += size
	}
	return strconv.Quote(v[:i]) + "…"
}

// retryLog says how retry logs an outage.
type retryLog struct {
	warn      string // the message of a failure
	recovered string // the message of the success that ends an outage
	every     bool   // every failure at Warn; else the first, the rest at Debug
}

var (
	// ownershipRetry logs every failure of an ownership call: the
	// Processor renews no claim while it waits.
	ownershipRetry = retryLog{
		warn:      "eventhubs: checkpoint store unavailable; retrying (owned partitions are still read, nothing is checkpointed or claimed meanwhile)",
		recovered: "eventhubs: checkpoint store reachable again",
		every:     true,
	}
	// listRetry and pinRetry log an outage once: the round waits for
	// them, so the outage has only to be told once, and its end.
	listRetry = retryLog{
		warn:      "eventhubs: cannot list checkpoints; the partitions just claimed are opened once that succeeds (retrying; owned partitions are still read, no claim is renewed meanwhile)",
		recovered: "eventhubs: checkpoints listed again; the partitions just claimed are opened",
	}
	pinRetry = retryLog{
		warn:      "eventhubs: cannot record the start position of a claimed partition; it is opened once that succeeds (retrying; owned partitions are still read, no claim is renewed meanwhile)",
		recovered: "eventhubs: start position settled after retrying; the partition is opened",
	}
)

// permanent marks an error of op that retrying cannot cure, and that says
// all the Source's error needs to: retry returns it at once.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// retry calls op until it succeeds, ctx ends, the Source stops running
// the Processor, op's error is permanent or the store refuses for good
// (storeRefusal), waiting storeRetryMin, then twice as long each time up
// to storeRetryMax. Failures retried are logged as how says; so is the
// recovery.
func (w *procStore) retry(ctx context.Context, what string, how retryLog, op func() error) error {
	s := w.s
	delay := s.opt.storeRetryMin
	var began time.Time
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil {
			if attempt > 1 {
				s.log.Info(how.recovered, "hub", s.opt.hub, "checkpoint", s.opt.checkpointTarget,
					"operation", what, "attempts", attempt, "outage", time.Since(began).Round(time.Millisecond))
			}
			return nil
		}
		if errors.As(err, new(permanent)) {
			return err
		}
		if ctx.Err() != nil || s.runCtx.Err() != nil {
			return err
		}
		if hint := storeRefusal(err); hint != "" {
			// Not an outage: retrying would leave the Source reading
			// nothing for ever. The Source stops (Read returns this):
			// with the Processor, for an ownership call; by
			// ListCheckpoints, for its own.
			return fmt.Errorf("checkpoint %s refuses to %s (%s): %w", s.opt.checkpointTarget, what, hint, err)
		}
		level := slog.LevelWarn
		if attempt == 1 {
			began = time.Now()
		} else if !how.every {
			level = slog.LevelDebug
		}
		s.log.Log(ctx, level, how.warn,
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
// other than a timeout or throttling: the account's firewall does not let
// this host in, the credential may not (or no longer) read or write the
// container's blobs, the container is gone — and
// "" for a failure that may heal: no answer, a timeout, throttling, a
// server error.
func storeRefusal(err error) string {
	var re *azcore.ResponseError
	if !errors.As(err, &re) {
		return ""
	}
	switch code := re.StatusCode; {
	case bloberror.HasCode(err, bloberror.AuthorizationFailure):
		// Azure Storage's answer to a request its network rules keep
		// out: a role or a new SAS would not help.
		return "check the storage account's network rules (firewall, virtual networks, private endpoints): they may not let this host in"
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		return "check the storage credential, which may have expired, or may not read, write and list the container's blobs; " +
			"it needs the Storage Blob Data Contributor role, or a SAS with read, add, create, write and list permissions"
	case bloberror.HasCode(err, bloberror.ContainerNotFound):
		return "the container does not exist: create it"
	case code >= 400 && code < 500 && code != http.StatusRequestTimeout && code != http.StatusTooManyRequests:
		return "the storage account refuses the request"
	}
	return ""
}

// watch looks for partitions the last round claimed for this replica that
// no reader took up since: the Processor could not open them, and says so
// only in the SDK's log. A probe finds out why: one a round, of each such
// partition in turn (the next after the last one probed, in numeric
// order), so that every one is reported, and a round costs one test
// receiver however many there are. Listing or pinning checkpoints gives up
// only when the Processor stops or the Source failed (ListCheckpoints), so
// a round it held up needs no check of its own.
func (w *procStore) watch() {
	w.mu.Lock()
	claimed, at, last := w.claimed, w.claimedAt, w.probed
	w.mu.Unlock()
	s := w.s
	if len(claimed) == 0 {
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
	if len(idle) == 0 {
		return
	}
	if next := nextProbe(idle, last); s.startProbe(next) {
		w.mu.Lock()
		w.probed = next
		w.mu.Unlock()
	}
}

// nextProbe returns the partition of idle that follows last in numeric
// order, or the first when none does.
func nextProbe(idle []string, last string) string {
	num := func(id string) int64 {
		n, _ := strconv.ParseInt(id, 10, 64) // checked in New
		return n
	}
	ids := slices.SortedFunc(slices.Values(idle), func(a, b string) int {
		if c := cmp.Compare(num(a), num(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
	if last != "" {
		for _, id := range ids {
			if num(id) > num(last) {
				return id
			}
		}
	}
	return ids[0]
}

// reading reports whether a reader of partition id is running.
func (s *Source) reading(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	p := s.parts[id]
	return p != nil && !p.lost
}

// startProbe probes partition id in the background, one probe at a time,
// and reports whether it started one. The round that starts a probe goes
// on to claim the partition again and the Processor tries to open it
// again, at the same time: when a reader of it started meanwhile, that
// attempt succeeded, and whatever the probe met (displaced or refused by
// the Processor's receiver, or a cause that has passed) is not reported as
// an error: an Info line says the partition is open now. Nor is a probe
// displaced or refused by a receiver with an owner level (partitionTaken),
// or one that opened, while the checkpoint store names another replica as
// the partition's owner: that replica took the partition since the last
// round and reads it, which is how replicas share a hub; an Info line says
// so. Anything else is cannotOpen's.
func (s *Source) startProbe(id string) bool {
	if !s.probing.CompareAndSwap(false, true) {
		return false
	}
	s.mu.Lock()
	if s.recvCtx.Err() != nil {
		s.mu.Unlock()
		s.probing.Store(false)
		return false
	}
	before := s.parts[id] // a reader that starts is a new value
	s.loops.Add(1)        // Close waits for it (see close)
	s.mu.Unlock()
	go func() {
		defer s.loops.Done()
		defer s.probing.Store(false)
		err := s.probe(s.recvCtx, id)
		if s.recvCtx.Err() != nil {
			return
		}
		s.mu.Lock()
		opened := s.parts[id] != before
		s.mu.Unlock()
		if opened {
			s.log.Info("eventhubs: a partition not opened in the last round is open now",
				"hub", s.opt.hub, "partition", id, "consumer_group", s.opt.ConsumerGroup,
				"probe", s.red.String(fmt.Sprint(err)))
			return
		}
		if err == nil || partitionTaken(err) {
			other := s.otherOwner(id)
			if s.recvCtx.Err() != nil {
				return // closed while the store was asked: nothing to report
			}
			if other != "" {
				s.log.Info("eventhubs: a partition not opened in the last round is another replica's now",
					"hub", s.opt.hub, "partition", id, "consumer_group", s.opt.ConsumerGroup,
					"owner", s.owner, "new_owner", other, "probe", s.red.String(fmt.Sprint(err)))
				return
			}
		}
		s.cannotOpen(id, err)
	}()
	return true
}

// partitionTaken reports whether err is the service giving partition's
// place to a receiver with an owner level: a link it detached for one (the
// SDK's azeventhubs.ErrorCodeOwnershipLost, or amqp:link:stolen on the
// link), or an attach it refused because one holds the partition
// (amqp:link:stolen). The SDK retries that refusal as a lost connection
// and then reports it as an *azeventhubs.Error with
// ErrorCodeConnectionLost, which does not unwrap to the AMQP error: when no
// AMQP error can be reached, the condition is looked for in the text.
func partitionTaken(err error) bool {
	var ehErr *azeventhubs.Error
	var linkErr *amqp.LinkError
	var amqpErr *amqp.Error
	switch {
	case err == nil:
		return false
	case errors.As(err, &ehErr) && ehErr.Code == azeventhubs.ErrorCodeOwnershipLost:
		return true
	case errors.As(err, &linkErr) && linkErr.RemoteErr != nil:
		return linkErr.RemoteErr.Condition == amqp.ErrCondStolen
	case errors.As(err, &amqpErr):
		return amqpErr.Condition == amqp.ErrCondStolen
	}
	return strings.Contains(err.Error(), string(amqp.ErrCondStolen))
}

// otherOwner returns the replica the checkpoint store names as partition
// id's owner when that is not this one; "" when it names this replica or
// none, or cannot be read (logged at Debug: the caller then reports what
// it met as it would without the store's answer). Close ends the listing
// (recvCtx); the caller then reports nothing.
func (s *Source) otherOwner(id string) string {
	ctx, cancel := context.WithTimeout(s.recvCtx, flushTimeout)
	defer cancel()
	owners, err := s.store.ListOwnership(ctx, s.opt.namespace, s.opt.hub, s.opt.ConsumerGroup, nil)
	if err != nil {
		if s.recvCtx.Err() == nil {
			s.log.Debug("eventhubs: cannot list partition ownership to learn whether another replica took a partition",
				"hub", s.opt.hub, "partition", id, "err", s.red.String(err.Error()))
		}
		return ""
	}
	for _, o := range owners {
		if o.PartitionID == id && o.OwnerID != "" && o.OwnerID != s.owner {
			return o.OwnerID
		}
	}
	return ""
}

// probe opens a receiver of partition id where the Processor opens it from
// (processorStart), without an owner level (it takes the partition from
// nobody), and returns the error that refused it, wrapped with that start,
// or nil when it opened (even if a receiver with an owner level then took
// the partition from it) or no answer came within probeTimeout. While a
// receiver with an owner level holds the partition the service refuses
// the probe's attach (amqp:link:stolen): that is returned, as it is what
// keeps out a Processor whose owner level is lower (startProbe reports no
// error when the holder is this replica's own reader, or another replica
// the checkpoint store names as the owner). Like the
// Processor, it reads a partition whose checkpoint has an offset a
// geo-replicated hub refuses from its earliest event instead.
func (s *Source) probe(ctx context.Context, id string) error {
	start, from := s.processorStart(ctx, id)
	err := s.probeOpen(ctx, id, start)
	if geoOffsetRefused(err) {
		start, from = azeventhubs.StartPosition{Earliest: to.Ptr(true), Inclusive: true},
			"its earliest event (the hub is geo-replicated and refuses the checkpoint's offset)"
		err = s.probeOpen(ctx, id, start)
	}
	if err != nil {
		return fmt.Errorf("a test receiver of partition %s from %s: %w", id, from, err)
	}
	return nil
}

// processorStart returns the position the Processor opens partition id from,
// and says which it is: the partition's checkpoint — its offset, else its
// sequence number — or, without one, start_position. When the checkpoints
// cannot be listed it returns start_position, and says so.
func (s *Source) processorStart(ctx context.Context, id string) (azeventhubs.StartPosition, string) {
	lctx, cancel := context.WithTimeout(ctx, flushTimeout)
	defer cancel()
	cps, err := s.store.ListCheckpoints(lctx, s.opt.namespace, s.opt.hub, s.opt.ConsumerGroup, nil)
	start, from := startOf(cps, id, s.opt.startEarliest, s.opt.StartPosition)
	if err != nil {
		from += " (the checkpoints could not be listed: " + s.red.String(err.Error()) + ")"
	}
	return start, from
}

// startOf is where the Processor (azeventhubs v2: getStartPosition) opens
// partition id given the checkpoints cps: after the checkpoint's offset,
// else after its sequence number; without a checkpoint, at the start
// position named startPosition (earliest or latest). It also says which.
func startOf(cps []azeventhubs.Checkpoint, id string, earliest bool, startPosition string) (azeventhubs.StartPosition, string) {
	for _, cp := range cps {
		switch {
		case cp.PartitionID != id:
		case cp.Offset != nil:
			return azeventhubs.StartPosition{Offset: cp.Offset}, "checkpoint offset " + quoteValue(*cp.Offset)
		case cp.SequenceNumber != nil:
			return azeventhubs.StartPosition{SequenceNumber: cp.SequenceNumber}, "checkpoint sequence number " + strconv.FormatInt(*cp.SequenceNumber, 10)
		}
	}
	if earliest {
		return azeventhubs.StartPosition{Earliest: to.Ptr(true)}, "start_position (" + startPosition + ")"
	}
	return azeventhubs.StartPosition{Latest: to.Ptr(true)}, "start_position (" + startPosition + ")"
}

// errCondGeoOffset is the service's refusal of an offset that is a number
// on a geo-replicated hub (azeventhubs v2: eh.ErrCondGeoReplicationOffset,
// internal).
const errCondGeoOffset = amqp.ErrCond("com.microsoft:georeplication:invalid-offset")

// geoOffsetRefused reports whether err is the service refusing a
// checkpoint's offset because the hub is geo-replicated. (The SDK does not
// retry that refusal, so it reaches here unwrapped.)
func geoOffsetRefused(err error) bool {
	var amqpErr *amqp.Error
	return errors.As(err, &amqpErr) && amqpErr.Condition == errCondGeoOffset
}

// receiveOnce returns the probe's way to open a partition: with a client
// newClient makes — one without the SDK's retries, so that a refusal the
// SDK would retry seconds apart comes back at once — it opens a receiver
// of the partition at start and waits up to probeTimeout for one event. It
// returns nil when an event came, none came in time, or a receiver with an
// owner level took the partition from it once it had opened.
func receiveOnce(newClient func() (*azeventhubs.ConsumerClient, error)) func(context.Context, string, azeventhubs.StartPosition) error {
	return func(ctx context.Context, id string, start azeventhubs.StartPosition) error {
		c, err := newClient()
		if err != nil {
			return err
		}
		defer func() {
			cctx, cancel := context.WithTimeout(context.Background(), clientCloseTimeout)
			defer cancel()
			_ = c.Close(cctx)
		}()
		pc, err := c.NewPartitionClient(id, &azeventhubs.PartitionClientOptions{StartPosition: start, Prefetch: -1})
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
}

// pastEndRE matches the service's words for a start position past the
// partition's last event: "The supplied offset '…' is invalid. The last
// offset in the system is '…'", or the same of a sequence number.
var pastEndRE = regexp.MustCompile(`(?is)\bsupplied (offset|sequence number) '[^']*' is invalid\b.*\blast (offset|sequence number) in the system is\b`)

// startPastEnd reports whether err is the service refusing a receiver's
// start position as past the partition's last event: a checkpoint kept
// from before the hub was deleted and re-created (sequence numbers and
// offsets start again from 0), or before its namespace failed over to
// another (Geo-disaster recovery copies no events). The service
// words it so under com.microsoft:argument-error or
// com.microsoft:argument-out-of-range; the words decide, as the latter
// also refuses a partition that does not exist. They are looked for in the
// error's text: the SDK reports a refusal it retried as an
// *azeventhubs.Error ("connlost") that does not unwrap to the AMQP error.
func startPastEnd(err error) bool {
	return err != nil && pastEndRE.MatchString(err.Error())
}

// pastEnd returns the error that stops the source when the service
// refuses partition id's start position (err) as past the partition's last
// event. No retry cures it: every replica that claims the partition starts
// from the same checkpoint, and going on would leave the partition unread
// — with one log line a round — until the new hub's partition passes the
// checkpoint, and then skip the events before it. The error names the
// checkpoint blob to delete, and what start_position then does.
func (s *Source) pastEnd(id string, err error) error {
	folder := blobFolder(s.opt.namespace, s.opt.hub, s.opt.ConsumerGroup, "checkpoint")
	return fmt.Errorf("eventhubs: hub %q consumer group %q: partition %s cannot be read: its checkpoint is past the partition's last event, "+
		"so the service refuses to start there (the hub was deleted and re-created, or its namespace failed over to another: Geo-disaster recovery); "+
		"delete checkpoint blob %q in checkpoint %s (after re-creating the hub or a failover, every blob under %q) and start iocwatch again, "+
		"to read the partition from start_position (%s) (earliest reads what the new hub already holds; started again without that, "+
		"iocwatch stops again until the hub passes the checkpoint, and then reads from there, skipping the events before): %w",
		s.opt.hub, s.opt.ConsumerGroup, id, folder+id, s.opt.checkpointTarget, folder, s.opt.StartPosition, err)
}

// cannotOpen reports a partition the Processor claimed but could not open:
// a refusal that cannot heal stops the source, and so does a start
// position the service refuses as past the partition's last event
// (pastEnd), once; anything else is logged as an error, with the probe's
// error (err, nil when the probe opened), every round it happens. The
// Processor tries to open it again in its next round: it forgets a
// partition it failed to open, and the start it opens one from
// (ListCheckpoints) never fails while the Source runs.
func (s *Source) cannotOpen(id string, err error) {
	if err == nil {
		s.log.Error("eventhubs: partition claimed but not opened; retrying every update interval",
			"hub", s.opt.hub, "partition", id, "consumer_group", s.opt.ConsumerGroup, "owner", s.owner,
			"cause", "unknown: a test receiver opened from where the processor opens the partition; "+
				"the SDK's own log has the processor's error (run with AZURE_SDK_GO_LOGGING=all)")
		return
	}
	if refused := s.refusal(id, err); refused != nil {
		s.fail(refused)
		return
	}
	if startPastEnd(err) {
		s.fail(s.pastEnd(id, err))
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
		switch notFoundEntity(amqpErr.Description, s.opt.hub) {
		case missingHub:
			hint = fmt.Sprintf("the hub was not found in namespace %s: it was deleted, or the hub name or the namespace is wrong", s.opt.namespace)
		case missingGroup:
			hint = "check that the consumer group exists in the hub"
		default:
			hint = "check that the hub exists in the namespace and the consumer group in the hub"
		}
	default:
		return nil
	}
	return fmt.Errorf("eventhubs: hub %q consumer group %q: the service refuses to let this replica read partition %s (%s): %w",
		s.opt.hub, s.opt.ConsumerGroup, id, hint, err)
}

// missing is what an amqp:not-found refusal of a receiver says is not there.
type missing int

const (
	missingUnknown missing = iota // the description names no entity iocwatch knows
	missingHub
	missingGroup
)

// notFoundEntity reads which entity the description of an amqp:not-found
// refusal of a receiver names ("The messaging entity '…' could not be
// found."), in the forms the service and the emulators give:
//
//   - "namespace:eventhub:hub~32766|group": the consumer group's entity,
//     which the service and Microsoft's emulator name for a group the hub
//     does not have (the hub itself was found: it has an id);
//   - "sb://namespace/hub/consumergroups/group/partitions/0": the
//     receiver's whole address, which the service's gateway names when it
//     finds no such hub (the group named is then often $Default, which
//     every hub has);
//   - "hub" or "hub/consumergroups/group": the project's emulator's, for
//     no such hub or no such group.
//
// The hub the receiver's address and the emulator's texts name must be
// hub, the one iocwatch reads (in any case: the service's names are
// case-insensitive). Anything else — another name alone ("$Default", the
// group's), another hub's address — is missingUnknown.
func notFoundEntity(desc, hub string) missing {
	_, rest, ok := strings.Cut(desc, "entity '")
	entity, _, closed := strings.Cut(rest, "'")
	if !ok || !closed || entity == "" {
		return missingUnknown
	}
	if strings.Contains(entity, "|") {
		return missingGroup
	}
	if _, after, ok := strings.Cut(entity, "://"); ok {
		// The namespace's host, then the path.
		_, entity, ok = strings.Cut(after, "/")
		if !ok {
			return missingUnknown
		}
	}
	parts := strings.Split(entity, "/")
	if slices.Contains(parts, "") || !strings.EqualFold(parts[0], hub) {
		return missingUnknown
	}
	switch {
	case len(parts) == 1:
		return missingHub
	case len(parts) == 3 && strings.EqualFold(parts[1], "consumergroups"):
		return missingGroup
	case len(parts) == 5 && strings.EqualFold(parts[1], "consumergroups") && strings.EqualFold(parts[3], "partitions"):
		return missingHub
	}
	return missingUnknown
}
