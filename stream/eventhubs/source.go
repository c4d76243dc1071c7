package eventhubs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2"
	"github.com/Azure/azure-sdk-for-go/sdk/messaging/azeventhubs/v2/checkpoints"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/iocwatch/iocwatch/stream"
)

// Tunables that are not worth an option.
const (
	// batchLinger is how long a partition waits for more events once one
	// arrived, before handing what it has to Read. Under load the prefetch
	// buffer fills a batch at once; when idle it bounds the added latency.
	batchLinger = 2 * time.Millisecond
	// clientCloseTimeout bounds closing one partition client.
	clientCloseTimeout = 10 * time.Second
	// flushTimeout bounds one round of checkpoint writes.
	flushTimeout = 30 * time.Second
)

// Source reads a Defender export from Azure Event Hubs with the SDK's
// Processor: partitions are shared between the replicas that use the same
// consumer group and checkpoint container, and every owned partition is read
// by its own goroutine, in order. It implements stream.Source.
//
// The zero value is not usable; create one with New. Read must be called from
// one goroutine; Ack (of the batches Read returns), Lag and Close are safe for
// concurrent use.
type Source struct {
	opt   resolved
	log   *slog.Logger
	red   *redactor
	owner string // this replica's owner ID in the checkpoint store

	consumer *azeventhubs.ConsumerClient
	store    azeventhubs.CheckpointStore // the store as the Source uses it (flush, Close)
	proc     *azeventhubs.Processor      // sees the store through a procStore
	probing  atomic.Bool                 // a probe of an unopened partition runs
	// probeOpen opens a test receiver of a partition at a start position
	// and returns the error that refused it (receiveOnce); tests replace it.
	probeOpen func(ctx context.Context, id string, start azeventhubs.StartPosition) error

	batches chan *partBatch
	carry   *partBatch // taken from batches but not fitting the last Read; Read's goroutine only

	closing  chan struct{} // closed by Close: Read returns io.EOF
	failed   chan struct{} // closed with fatal set: the processor stopped
	fatal    error
	failOnce sync.Once

	runCtx   context.Context // the processor's lifetime
	stopRun  context.CancelFunc
	procDone chan struct{}
	recvCtx  context.Context // partition loops and the dispatcher
	stopRecv context.CancelFunc
	loops    sync.WaitGroup // dispatcher, partition loops and probes
	bg       sync.WaitGroup // flusher and lag refresher
	stopBG   chan struct{}
	flushReq chan struct{}
	flushMu  sync.Mutex // one checkpoint round at a time

	closeOnce sync.Once
	closeErr  error

	mu     sync.Mutex
	parts  map[string]*partition // the newest claim of each partition
	closed bool                  // acks are no longer recorded
}

var _ stream.Source = (*Source)(nil)

// partition is one claim of a partition: it ends when ownership is lost, its
// client fails, or the Source closes. A later claim of the same partition is
// a new partition value, so acknowledgements of an ended claim are never
// checkpointed.
type partition struct {
	id     string
	num    int32
	client *azeventhubs.ProcessorPartitionClient
	ctx    context.Context
	cancel context.CancelFunc

	// Guarded by Source.mu.
	lost     bool                           // no more checkpoints for this claim
	endedAt  time.Time                      // when lost was set
	acked    *azeventhubs.ReceivedEventData // last acknowledged event
	pending  int                            // acknowledged events since the last checkpoint
	cpSeq    int64                          // sequence number of the last checkpoint
	hasCP    bool
	received bool
	firstSeq int64 // first sequence number this claim received
	lastRecv int64
	lastEnq  int64 // last enqueued sequence number, from the service
	beginSeq int64
	hasProps bool
}

// partBatch is what one partition hands to Read: consecutive events.
type partBatch struct {
	p    *partition
	last *azeventhubs.ReceivedEventData
	msgs []stream.Message
}

// New checks the options, asks the credential (when one is used) for a
// token for Event Hubs and storage (so a credential Microsoft Entra ID
// refuses fails here, naming the auth setting and what to check), connects,
// verifies that the hub and the checkpoint container exist (so a wrong name
// fails here, with its name in the error), and starts claiming partitions.
// ctx bounds only these checks; the Source runs until Close.
func New(ctx context.Context, opt Options) (*Source, error) {
	red := newRedactor(opt.ConnectionString, opt.CheckpointConnectionString, opt.CheckpointContainerURL)
	r, err := opt.resolve()
	if err != nil {
		return nil, red.Err(err)
	}
	s, err := newSource(ctx, r, red)
	if err != nil {
		return nil, red.Err(err)
	}
	return s, nil
}

func newSource(ctx context.Context, r resolved, red *redactor) (*Source, error) {
	cred := r.Credential
	if r.needsCredential && cred == nil {
		c, err := azidentity.NewDefaultAzureCredential(nil)
		if err != nil {
			return nil, fmt.Errorf("eventhubs: creating the default Azure credential failed: %w", err)
		}
		cred = c
	}
	if r.needsCredential {
		// Before any call to Event Hubs or storage: a credential
		// Microsoft Entra ID refuses fails here, naming the setting.
		if err := checkCredential(ctx, r, cred, red); err != nil {
			return nil, err
		}
	}
	owner := ownerID()
	newClient := func(opts *azeventhubs.ConsumerClientOptions) (*azeventhubs.ConsumerClient, error) {
		if r.ConnectionString != "" {
			hubArg := r.hub
			if props, perr := azeventhubs.ParseConnectionString(r.ConnectionString); perr == nil && props.EntityPath != nil && *props.EntityPath != "" {
				hubArg = "" // the SDK wants it in one place only
			}
			return azeventhubs.NewConsumerClientFromConnectionString(r.ConnectionString, hubArg, r.ConsumerGroup, opts)
		}
		return azeventhubs.NewConsumerClient(r.namespace, r.hub, r.ConsumerGroup, cred, opts)
	}
	consumer, err := newClient(&azeventhubs.ConsumerClientOptions{ApplicationID: "iocwatch", InstanceID: owner})
	if err != nil {
		return nil, fmt.Errorf("eventhubs: client for hub %q in %s: %w", r.hub, r.namespace, err)
	}
	fail := func(err error) (*Source, error) {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), clientCloseTimeout)
		defer cancel()
		_ = consumer.Close(cctx)
		return nil, err
	}

	cc, err := containerClient(r, cred)
	if err != nil {
		return fail(fmt.Errorf("eventhubs: checkpoint %s: %w", r.checkpointTarget, err))
	}
	blobStore, err := checkpoints.NewBlobStore(cc, nil)
	if err != nil {
		return fail(fmt.Errorf("eventhubs: checkpoint %s: %w", r.checkpointTarget, err))
	}
	var store azeventhubs.CheckpointStore = blobCheckpoints{BlobStore: blobStore, cc: cc, log: r.Logger}
	if r.wrapStore != nil {
		store = r.wrapStore(store)
	}

	props, err := consumer.GetEventHubProperties(ctx, nil)
	if r.afterHubCheck != nil {
		r.afterHubCheck()
	}
	if err != nil {
		return fail(fmt.Errorf("eventhubs: hub %q in namespace %s: %w", r.hub, r.namespace, err))
	}
	if len(props.PartitionIDs) == 0 {
		return fail(fmt.Errorf("eventhubs: hub %q in namespace %s has no partitions", r.hub, r.namespace))
	}
	for _, id := range props.PartitionIDs {
		if _, err := strconv.ParseInt(id, 10, 32); err != nil {
			return fail(fmt.Errorf("eventhubs: hub %q: partition ID %q is not a number", r.hub, id))
		}
	}
	// Listing one blob checks that the container exists and may be read
	// with the least a replica needs: a SAS of the container alone may
	// list its blobs but not read the container's own properties.
	one := int32(1)
	if _, err := cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{MaxResults: &one}).NextPage(ctx); err != nil {
		if bloberror.HasCode(err, bloberror.ContainerNotFound) {
			return fail(fmt.Errorf("eventhubs: checkpoint %s does not exist: create it (with soft delete and versioning off)", r.checkpointTarget))
		}
		return fail(fmt.Errorf("eventhubs: checkpoint %s: %w", r.checkpointTarget, err))
	}

	// With "latest" the Processor never falls back on this default: the
	// procStore pins a partition without a checkpoint before the Processor
	// opens it, and keeps it from opening the partition while that fails.
	start := azeventhubs.StartPosition{Latest: to.Ptr(true)}
	if r.startEarliest {
		start = azeventhubs.StartPosition{Earliest: to.Ptr(true)}
	}
	ps := &procStore{CheckpointStore: store, geo: props.GeoReplicationEnabled, geoNow: func(ctx context.Context) (bool, error) {
		p, err := consumer.GetEventHubProperties(ctx, nil)
		return p.GeoReplicationEnabled, err
	}}
	proc, err := azeventhubs.NewProcessor(consumer, ps, &azeventhubs.ProcessorOptions{
		LoadBalancingStrategy:       r.strategy,
		UpdateInterval:              r.UpdateInterval,
		PartitionExpirationDuration: r.PartitionExpiration,
		StartPositions:              azeventhubs.StartPositions{Default: start},
		Prefetch:                    r.Prefetch,
	})
	if err != nil {
		return fail(fmt.Errorf("eventhubs: processor: %w", err))
	}

	s := &Source{
		opt:      r,
		log:      r.Logger,
		red:      red,
		owner:    owner,
		consumer: consumer,
		store:    store,
		proc:     proc,
		// A probe's client has no retries, and its own connection: a
		// refusal comes back at once, and recovering from it touches
		// nothing the Processor uses.
		probeOpen: receiveOnce(func() (*azeventhubs.ConsumerClient, error) {
			return newClient(&azeventhubs.ConsumerClientOptions{
				ApplicationID: "iocwatch", InstanceID: owner + "-probe",
				RetryOptions: azeventhubs.RetryOptions{MaxRetries: -1},
			})
		}),
		batches:  make(chan *partBatch, len(props.PartitionIDs)),
		closing:  make(chan struct{}),
		failed:   make(chan struct{}),
		procDone: make(chan struct{}),
		stopBG:   make(chan struct{}),
		flushReq: make(chan struct{}, 1),
		parts:    map[string]*partition{},
	}
	ps.s = s
	s.runCtx, s.stopRun = context.WithCancel(context.Background())
	s.recvCtx, s.stopRecv = context.WithCancel(context.Background())

	go func() {
		defer close(s.procDone)
		if err := s.proc.Run(s.runCtx); err != nil && s.runCtx.Err() == nil {
			s.fail(fmt.Errorf("eventhubs: hub %q: processor stopped: %w", s.opt.hub, err))
		}
	}()
	s.loops.Add(1)
	go s.dispatch()
	s.bg.Add(2)
	go s.flusher()
	go s.refresher()

	s.log.Info("eventhubs: source started",
		"namespace", r.namespace, "hub", r.hub, "consumer_group", r.ConsumerGroup,
		"partitions", len(props.PartitionIDs), "owner", owner,
		"start_position", r.StartPosition, "load_balancing", r.LoadBalancing)
	return s, nil
}

func containerClient(r resolved, cred azcore.TokenCredential) (*container.Client, error) {
	switch {
	case r.CheckpointConnectionString != "":
		return container.NewClientFromConnectionString(r.CheckpointConnectionString, r.CheckpointContainer, nil)
	case r.containerURLSAS:
		return container.NewClientWithNoCredential(r.CheckpointContainerURL, nil)
	default:
		return container.NewClient(r.CheckpointContainerURL, cred, nil)
	}
}

// ownerID names this replica in the checkpoint store: host, process and a
// random part, so that two replicas never share one.
func ownerID() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "host"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("iocwatch-%s-%d-%s", host, os.Getpid(), hex.EncodeToString(b[:]))
}

// Read returns the next batch: events of one or more partitions, each
// partition's in order, at most MaxBatchEvents messages. It blocks until
// events arrive, ctx is done (ctx.Err()), the Source is closed (io.EOF) or
// it failed for good (its error, from then on): the processor stopped, the
// service refused to let it read a partition (the consumer group does not
// exist, or the credential may not listen), or the service refuses to start
// a partition after its checkpoint, which is past the partition's last
// event (the error names the checkpoint blob to delete).
//
// The batch's Ack records, per partition, its last event as acknowledged;
// checkpoints follow within CheckpointInterval or CheckpointCount events.
// Ack never fails: a checkpoint that cannot be written is retried and
// logged, and at worst events are read again after a restart.
func (s *Source) Read(ctx context.Context) (stream.Batch, error) {
	first := s.carry
	s.carry = nil
	if first == nil {
		select {
		case <-ctx.Done():
			return stream.Batch{}, ctx.Err()
		case <-s.closing:
			return stream.Batch{}, io.EOF
		case <-s.failed:
			return stream.Batch{}, s.fatal
		case first = <-s.batches:
		}
	}
	segs := []*partBatch{first}
	n := len(first.msgs)
more:
	for n < s.opt.MaxBatchEvents {
		select {
		case pb := <-s.batches:
			if n+len(pb.msgs) > s.opt.MaxBatchEvents {
				s.carry = pb
				break more
			}
			segs = append(segs, pb)
			n += len(pb.msgs)
		default:
			break more
		}
	}
	msgs := first.msgs
	if len(segs) > 1 {
		msgs = make([]stream.Message, 0, n)
		for _, sg := range segs {
			msgs = append(msgs, sg.msgs...)
		}
	}
	return stream.Batch{
		Messages: msgs,
		Ack: func(context.Context) error {
			s.ack(segs)
			return nil
		},
	}, nil
}

// ack records the last event of each segment as acknowledged.
func (s *Source) ack(segs []*partBatch) {
	trigger := false
	s.mu.Lock()
	for _, sg := range segs {
		p := sg.p
		if p.lost || s.closed {
			continue
		}
		p.acked = sg.last
		p.pending += len(sg.msgs)
		if p.pending >= s.opt.CheckpointCount {
			trigger = true
		}
	}
	s.mu.Unlock()
	if trigger {
		select {
		case s.flushReq <- struct{}{}:
		default:
		}
	}
}

// Lag returns, for every partition this replica owns, how many events wait
// behind its checkpoint: the partition's last enqueued sequence number minus
// the checkpointed one. The last enqueued numbers are refreshed every 10 s
// (and raised by every event received), so the value is approximate. A
// partition without a checkpoint counts from the first event this replica
// read (or, before any, from the start position). Safe for concurrent use.
func (s *Source) Lag() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(s.parts))
	for id, p := range s.parts {
		if p.lost {
			continue
		}
		last := int64(-1)
		if p.hasProps {
			last = p.lastEnq
		}
		if p.received && p.lastRecv > last {
			last = p.lastRecv
		}
		var base int64
		switch {
		case p.hasCP:
			base = p.cpSeq
		case p.received:
			base = p.firstSeq - 1
		case s.opt.startEarliest && p.hasProps:
			base = p.beginSeq - 1
		default:
			base = last
		}
		out[id] = max(0, last-base)
	}
	return out
}

// Close stops reading, writes the checkpoints of everything acknowledged
// so far, releases this replica's partitions (so others take them at once)
// and closes the connection. A Read in progress returns io.EOF. Batches
// acknowledged after Close are not checkpointed (they are read again by the
// next owner). Safe to call twice; later calls return the first result.
func (s *Source) Close(ctx context.Context) error {
	s.closeOnce.Do(func() { s.closeErr = s.red.Err(s.close(ctx)) })
	return s.closeErr
}

func (s *Source) close(ctx context.Context) error {
	close(s.closing)
	s.stopRecv()
	// A probe joins loops under mu, and only while recvCtx is live: once
	// this empty critical section has passed none joins any more, so the
	// Wait below never races with an Add.
	s.mu.Lock()
	s.mu.Unlock()
	var errs []error
	if err := waitGroup(ctx, &s.loops); err != nil {
		errs = append(errs, fmt.Errorf("eventhubs: hub %q: stop partition readers: %w", s.opt.hub, err))
	}
	close(s.stopBG)
	if err := waitGroup(ctx, &s.bg); err != nil {
		errs = append(errs, fmt.Errorf("eventhubs: hub %q: stop checkpointing: %w", s.opt.hub, err))
	}
	if err := s.flush(ctx); err != nil {
		errs = append(errs, err)
	}
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.stopRun() // the processor closes its clients and gives up its claims
	select {
	case <-s.procDone:
		s.releaseClaims(ctx)
	case <-ctx.Done():
		errs = append(errs, fmt.Errorf("eventhubs: hub %q: release partitions: %w", s.opt.hub, ctx.Err()))
	}
	if err := s.consumer.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("eventhubs: hub %q: close client: %w", s.opt.hub, err))
	}
	s.log.Info("eventhubs: source closed", "hub", s.opt.hub, "owner", s.owner)
	return errors.Join(errs...)
}

// releaseClaims gives up the claims the checkpoint store still holds in
// this replica's name once the processor has stopped. The processor gives
// up what it knows it owns, but a claim renewed by a load-balancing cycle
// in flight as it stops carries an ETag the processor never saw, so its
// release fails and the partition would wait for the claim to expire
// before another replica takes it (seen under load: a handover stalled
// for the whole expiry). A failure here only means that wait: it is
// logged, not returned.
func (s *Source) releaseClaims(ctx context.Context) {
	owners, err := s.store.ListOwnership(ctx, s.opt.namespace, s.opt.hub, s.opt.ConsumerGroup, nil)
	if err != nil {
		s.log.Warn("eventhubs: cannot list claims to release; other replicas take the partitions when the claims expire", "err", s.red.String(err.Error()))
		return
	}
	var mine []azeventhubs.Ownership
	for _, o := range owners {
		if o.OwnerID == s.owner {
			o.OwnerID = "" // released: any replica may claim it at once
			mine = append(mine, o)
		}
	}
	if len(mine) == 0 {
		return
	}
	released, err := s.store.ClaimOwnership(ctx, mine, nil)
	if err != nil || len(released) < len(mine) {
		s.log.Warn("eventhubs: some claims not released; other replicas take those partitions when the claims expire",
			"claims", len(mine), "released", len(released), "err", s.red.String(fmt.Sprint(err)))
		return
	}
	s.log.Info("eventhubs: released claims the processor could not", "hub", s.opt.hub, "partitions", len(mine), "owner", s.owner)
}

func waitGroup(ctx context.Context, wg *sync.WaitGroup) error {
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// fail records a fatal error; Read returns it from then on.
func (s *Source) fail(err error) {
	s.failOnce.Do(func() {
		s.fatal = s.red.Err(err)
		s.log.Error("eventhubs: source failed", "err", s.fatal.Error())
		close(s.failed)
	})
}

// dispatch starts a reader for every partition the processor claims.
func (s *Source) dispatch() {
	defer s.loops.Done()
	for {
		pc := s.proc.NextPartitionClient(s.recvCtx)
		if pc == nil {
			return
		}
		s.startPartition(pc)
	}
}

func (s *Source) startPartition(pc *azeventhubs.ProcessorPartitionClient) {
	id := pc.PartitionID()
	num, _ := strconv.ParseInt(id, 10, 32) // checked in New
	ctx, cancel := context.WithCancel(s.recvCtx)
	s.mu.Lock()
	if s.recvCtx.Err() != nil {
		s.mu.Unlock()
		cancel()
		closeClient(pc)
		return
	}
	p := &partition{id: id, num: int32(num), client: pc, ctx: ctx, cancel: cancel}
	if old := s.parts[id]; old != nil && !old.lost {
		old.lost, old.endedAt = true, time.Now()
		old.cancel()
	}
	s.parts[id] = p
	s.mu.Unlock()
	s.log.Info("eventhubs: partition claimed", "hub", s.opt.hub, "partition", id,
		"consumer_group", s.opt.ConsumerGroup, "owner", s.owner)
	s.loops.Add(1) // the dispatcher holds a count: no race with Wait
	go s.consume(p)
}

func closeClient(pc *azeventhubs.ProcessorPartitionClient) {
	ctx, cancel := context.WithTimeout(context.Background(), clientCloseTimeout)
	defer cancel()
	_ = pc.Close(ctx)
}

// consume reads one claimed partition until the claim ends.
func (s *Source) consume(p *partition) {
	defer s.loops.Done()
	defer closeClient(p.client) // lets the processor claim it afresh if still ours
	s.loadCheckpoint(p)
	for {
		evs, err := s.receive(p)
		if len(evs) > 0 {
			pb := s.makeBatch(p, evs)
			select {
			case s.batches <- pb:
			case <-p.ctx.Done():
				s.ended(p, nil)
				return
			}
		}
		if err != nil {
			s.ended(p, err)
			return
		}
	}
}

// receive waits for at least one event, then takes what else arrives within
// batchLinger, up to MaxBatchEvents.
func (s *Source) receive(p *partition) ([]*azeventhubs.ReceivedEventData, error) {
	evs, err := p.client.ReceiveEvents(p.ctx, 1, nil)
	if err != nil || s.opt.MaxBatchEvents == 1 {
		return evs, err
	}
	lctx, cancel := context.WithTimeout(p.ctx, batchLinger)
	more, err := p.client.ReceiveEvents(lctx, s.opt.MaxBatchEvents-1, nil)
	cancel()
	if err != nil && lctx.Err() != nil && p.ctx.Err() == nil {
		err = nil // the linger ended, nothing more arrived
	}
	return append(evs, more...), err
}

func (s *Source) makeBatch(p *partition, evs []*azeventhubs.ReceivedEventData) *partBatch {
	msgs := make([]stream.Message, len(evs))
	for i, ev := range evs {
		pos := stream.Position{Source: s.opt.hub, Partition: p.num, Offset: ev.SequenceNumber}
		body, err := eventBody(ev)
		if err != nil {
			err = fmt.Errorf("eventhubs: %s: %w", pos, err)
		}
		msgs[i] = stream.Message{Value: body, Position: pos, Err: err}
	}
	s.mu.Lock()
	if !p.received {
		p.received = true
		p.firstSeq = evs[0].SequenceNumber
	}
	p.lastRecv = evs[len(evs)-1].SequenceNumber
	s.mu.Unlock()
	return &partBatch{p: p, last: evs[len(evs)-1], msgs: msgs}
}

// eventBody returns an event's payload. Defender sends one data section;
// several are joined, and an amqp-value string or binary is taken as is.
func eventBody(ev *azeventhubs.ReceivedEventData) ([]byte, error) {
	if ev.Body != nil || ev.RawAMQPMessage == nil {
		return ev.Body, nil
	}
	b := ev.RawAMQPMessage.Body
	switch {
	case len(b.Data) > 1:
		var out []byte
		for _, d := range b.Data {
			out = append(out, d...)
		}
		return out, nil
	case b.Value != nil:
		switch v := b.Value.(type) {
		case []byte:
			return v, nil
		case string:
			return []byte(v), nil
		default:
			return nil, fmt.Errorf("event body is an AMQP value of type %T, not data", v)
		}
	case len(b.Sequence) > 0:
		return nil, errors.New("event body is an AMQP sequence, not data")
	}
	return []byte{}, nil
}

// ended handles the end of a partition's reader. err is nil when its
// context was cancelled (Close, or lose already logged why).
func (s *Source) ended(p *partition, err error) {
	if p.ctx.Err() != nil {
		return // Close (acks still checkpointed) or lose (already marked)
	}
	var ehErr *azeventhubs.Error
	if errors.As(err, &ehErr) && ehErr.Code == azeventhubs.ErrorCodeOwnershipLost {
		s.lose(p, "another replica took the partition")
		return
	}
	s.mu.Lock()
	p.lost, p.endedAt = true, time.Now()
	s.mu.Unlock()
	if refused := s.refusal(p.id, err); refused != nil {
		s.fail(refused)
		return
	}
	if startPastEnd(err) {
		// The link opened, and the service detached it at once: reopened
		// from the same checkpoint, it would be detached again every round.
		s.fail(s.pastEnd(p.id, err))
		return
	}
	s.log.Warn("eventhubs: partition reader stopped; the processor reopens it from its checkpoint",
		"hub", s.opt.hub, "partition", p.id, "err", s.red.String(err.Error()))
}

// lose ends a claim: its acknowledgements are no longer checkpointed.
func (s *Source) lose(p *partition, why string) {
	s.mu.Lock()
	already := p.lost
	if !already {
		p.lost, p.endedAt = true, time.Now()
	}
	s.mu.Unlock()
	p.cancel()
	if !already {
		s.log.Info("eventhubs: partition lost", "hub", s.opt.hub, "partition", p.id, "reason", why, "owner", s.owner)
	}
}

// loadCheckpoint reads the partition's stored checkpoint, the base of Lag.
func (s *Source) loadCheckpoint(p *partition) {
	ctx, cancel := context.WithTimeout(p.ctx, flushTimeout)
	defer cancel()
	cps, err := s.store.ListCheckpoints(ctx, s.opt.namespace, s.opt.hub, s.opt.ConsumerGroup, nil)
	if err != nil {
		s.log.Debug("eventhubs: list checkpoints", "err", s.red.String(err.Error()))
		return
	}
	for _, cp := range cps {
		if cp.PartitionID == p.id && cp.SequenceNumber != nil {
			s.mu.Lock()
			if !p.hasCP {
				p.cpSeq, p.hasCP = *cp.SequenceNumber, true
			}
			s.mu.Unlock()
		}
	}
}

// flusher writes checkpoints every CheckpointInterval, or sooner when a
// partition has CheckpointCount acknowledged events waiting. Of a run of
// failed flushes the first is logged at Warn, the rest at Debug, and the
// flush that succeeds again at Info.
func (s *Source) flusher() {
	defer s.bg.Done()
	t := time.NewTicker(s.opt.CheckpointInterval)
	defer t.Stop()
	failures := 0
	for {
		select {
		case <-s.stopBG:
			return
		case <-t.C:
		case <-s.flushReq:
		}
		ctx, cancel := context.WithTimeout(s.runCtx, flushTimeout)
		if err := s.flush(ctx); err != nil {
			failures++
			level := slog.LevelWarn
			if failures > 1 {
				level = slog.LevelDebug
			}
			s.log.Log(ctx, level, "eventhubs: checkpoint not written; retrying at the next interval",
				"hub", s.opt.hub, "attempts", failures, "err", s.red.String(err.Error()))
		} else if failures > 0 {
			s.log.Info("eventhubs: checkpoints written again", "hub", s.opt.hub, "failed_attempts", failures)
			failures = 0
		}
		cancel()
	}
}

// flush checks in the store that this replica still owns its partitions
// (ending the claims it lost, so that a reader held up by back-pressure
// notices too), then writes a checkpoint for every owned partition whose
// acknowledged position moved.
func (s *Source) flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	type job struct {
		p       *partition
		ev      *azeventhubs.ReceivedEventData
		pending int
	}
	var owned []*partition
	s.mu.Lock()
	for _, p := range s.parts {
		if !p.lost {
			owned = append(owned, p)
		}
	}
	s.mu.Unlock()
	if len(owned) == 0 {
		return nil
	}
	owners, err := s.store.ListOwnership(ctx, s.opt.namespace, s.opt.hub, s.opt.ConsumerGroup, nil)
	if err != nil {
		return fmt.Errorf("eventhubs: read partition ownership of hub %q from checkpoint %s: %w", s.opt.hub, s.opt.checkpointTarget, err)
	}
	ownerOf := make(map[string]string, len(owners))
	for _, o := range owners {
		ownerOf[o.PartitionID] = o.OwnerID
	}
	var jobs []job
	for _, p := range owned {
		if ownerOf[p.id] != s.owner {
			s.lose(p, "the checkpoint store names another owner")
			continue
		}
		s.mu.Lock()
		if !p.lost && p.acked != nil && (!p.hasCP || p.cpSeq != p.acked.SequenceNumber) {
			jobs = append(jobs, job{p: p, ev: p.acked, pending: p.pending})
		}
		s.mu.Unlock()
	}
	var errs []error
	for _, j := range jobs {
		if err := j.p.client.UpdateCheckpoint(ctx, j.ev, nil); err != nil {
			errs = append(errs, fmt.Errorf("eventhubs: checkpoint %s[%s]@%d: %w", s.opt.hub, j.p.id, j.ev.SequenceNumber, err))
			continue
		}
		s.mu.Lock()
		j.p.cpSeq, j.p.hasCP = j.ev.SequenceNumber, true
		j.p.pending -= j.pending
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}

// refresher keeps the last enqueued sequence numbers of owned partitions
// fresh for Lag.
func (s *Source) refresher() {
	defer s.bg.Done()
	t := time.NewTicker(s.opt.lagRefresh)
	defer t.Stop()
	for {
		select {
		case <-s.stopBG:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(s.recvCtx, s.opt.lagRefresh)
		if err := s.refreshLag(ctx); err != nil && ctx.Err() == nil {
			s.log.Debug("eventhubs: partition properties", "err", s.red.String(err.Error()))
		}
		cancel()
	}
}

func (s *Source) refreshLag(ctx context.Context) error {
	s.mu.Lock()
	var owned []*partition
	for _, p := range s.parts {
		if !p.lost {
			owned = append(owned, p)
		}
	}
	s.mu.Unlock()
	var errs []error
	for _, p := range owned {
		props, err := s.consumer.GetPartitionProperties(ctx, p.id, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("eventhubs: properties of %s[%s]: %w", s.opt.hub, p.id, err))
			continue
		}
		s.mu.Lock()
		p.lastEnq, p.beginSeq, p.hasProps = props.LastEnqueuedSequenceNumber, props.BeginningSequenceNumber, true
		s.mu.Unlock()
	}
	return errors.Join(errs...)
}
