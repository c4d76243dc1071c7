package kafka

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/iocwatch/iocwatch/stream"
)

// TopicPartition names one partition of a topic. It is a plain comparable
// value (a map key); the zero value is partition 0 of topic "".
type TopicPartition struct {
	Topic     string
	Partition int32
}

// String formats a TopicPartition as "topic[3]".
func (tp TopicPartition) String() string {
	return tp.Topic + "[" + strconv.FormatInt(int64(tp.Partition), 10) + "]"
}

// Stats are counters of a Source since New, for metrics: a snapshot
// returned by value. The zero value is all zeros.
type Stats struct {
	// Messages is the number of messages returned by Read.
	Messages int64
	// Bytes is the number of value bytes returned by Read.
	Bytes int64
	// Generations is the number of consumer-group generations joined (1 +
	// rebalances).
	Generations int64
	// Commits is the number of successful offset commits.
	Commits int64
	// CommitErrors is the number of offset commits that failed. A failed
	// commit is retried after a back-off (100ms doubling up to 1s) until
	// one succeeds or the generation ends; what a generation could not
	// commit, the partition's next owner re-delivers.
	CommitErrors int64
	// StaleMessages counts messages fetched for a generation that ended
	// before Read returned them; they were dropped, not delivered.
	StaleMessages int64
	// StaleAcks counts acknowledged messages whose generation had ended,
	// or whose partition was restarted (OffsetResets) after they were
	// read: their offsets were not committed, so the partition's next
	// owner re-delivers them, or they belong to a log that is gone.
	StaleAcks int64
	// OffsetResets counts partitions restarted from StartOffset because
	// their topic was deleted and created again (its topic id changed, or
	// the position was past the end of the new log) or their log was
	// truncated.
	OffsetResets int64
	// UncheckedCommits counts offset commits made without a fresh check
	// of their topics' ids: the check before the commit did not answer
	// within a second, or answered without the topic's id. The commit goes
	// on, and may commit an offset of a topic deleted and created again
	// since its last check on the new one, until the check's late answer
	// or the next check restarts the partition. While a topic's last
	// successful check is recent (three check intervals, 15s) that is
	// logged at Debug; past that a recreation of the topic may go
	// unnoticed, which a Warn says at most once a minute.
	UncheckedCommits int64
	// GroupErrors counts failures to join or sync the consumer group.
	GroupErrors int64
	// Buffers counts the value buffers allocated (2 × MaxBytes, at least
	// 64 KiB, each). Values are read into them back to back and a buffer
	// is reused once every batch holding its values was released, so with
	// a pipeline that releases its batches this stays near the number of
	// assigned partitions plus the buffers that the messages in flight hold.
	Buffers int64
}

// Source consumes Kafka topics as a member of a consumer group and yields
// their messages as stream batches. It implements stream.Source. Read is
// called from one goroutine; Ack (through the batches), Lag, Stats and Close
// are safe for concurrent use. The zero value is not usable: call New.
type Source struct {
	opt    Options
	log    *slog.Logger
	dialer *kafkago.Dialer
	cg     *kafkago.ConsumerGroup
	tr     *kafkago.Transport
	client *kafkago.Client
	ids    *kgo.Client // asks for topic ids (Metadata v10+), which kafka-go cannot

	slabs     *slabPool     // value buffers
	msgs      chan fetched  // fetched messages, bounded: back-pressure
	errs      chan error    // errors that will not heal, for Read
	commitNow chan struct{} // CommitCount reached

	runCtx    context.Context
	runCancel context.CancelFunc
	runDone   chan struct{}

	closed    chan struct{} // closed when Close starts
	closeOnce sync.Once
	closeDone chan struct{}
	closeErr  error // final commit error, set before closeDone

	mu      sync.Mutex
	gen     *generation // current generation; nil between generations
	pending int         // acknowledged messages since the last commit
	// retiredIDs are, per topic, the ids it had before it was deleted and
	// created again: a broker still reporting one is behind, and the
	// partitions are not restarted for it (in any generation).
	retiredIDs map[string][]topicID

	checks idChecks // when each topic's id was last learned, for commits without a check
	// lateChecks are the commits' checks of the topic ids still waiting
	// for their answer after the commit went on without it; Close waits
	// for them once the id client is closed.
	lateChecks sync.WaitGroup

	nMessages, nBytes, nGenerations, nCommits, nCommitErrors atomic.Int64
	nStaleMessages, nStaleAcks, nGroupErrors, nBuffers       atomic.Int64
	nOffsetResets, nUncheckedCommits                         atomic.Int64
}

// generation is one consumer-group generation: the partitions assigned to
// this member until the next rebalance.
type generation struct {
	kgen  *kafkago.Generation
	parts []*partState
	ended atomic.Bool // written under Source.mu; once set, acks are not committed
}

// partState is one assigned partition within a generation.
type partState struct {
	gen   *generation
	tp    TopicPartition
	start int64 // assignment offset: committed offset, or kafka-go's FirstOffset/LastOffset

	acked int64 // under Source.mu: offset after the last acknowledged message; -1 none
	// epoch counts the restarts of the partition from StartOffset (under
	// Source.mu; written by the partition's fetcher only): acks of
	// messages read before a restart are not committed.
	epoch int

	// topicID is the id of the topic (incarnation) the partition's
	// position is in: the first one seen in the generation, then the one
	// it restarted in; zero until known, or when the brokers report none.
	// nextID is the other id a check saw, while recreated is set: the
	// fetcher restarts the partition (under Source.mu).
	topicID, nextID topicID
	// recreated: a check saw the topic's id change. The fetcher restarts
	// the partition from StartOffset; until then none of its offsets is
	// committed. Written under Source.mu.
	recreated atomic.Bool

	committed atomic.Int64 // the group's committed offset; -1 unknown
	first     atomic.Int64 // offset this member started reading at; -1 not resolved yet
	hwm       atomic.Int64 // high watermark (next offset to be written); -1 unknown
}

// fetched is one message on its way from a partition reader to Read. Its
// value lives in slab, which it holds one reference to.
type fetched struct {
	part   *partState
	epoch  int // part.epoch when it was fetched
	offset int64
	value  []byte
	slab   *slab
}

// ackMark is the offset after the last message of one partition (and
// epoch) in a batch, and how many messages of it the batch holds.
type ackMark struct {
	part  *partState
	epoch int
	next  int64
	n     int
}

// New validates opt and starts a consumer-group member: it joins the group
// in the background and starts fetching the partitions it is assigned.
// Errors name the offending option ("kafka: min_bytes: …"); New never
// panics on a bad configuration.
func New(opt Options) (*Source, error) {
	opt = opt.withDefaults()
	if err := opt.validate(); err != nil {
		return nil, err
	}
	s := &Source{
		opt:       opt,
		log:       opt.Logger.With("group", opt.Group),
		dialer:    opt.dialer(),
		tr:        opt.transport(),
		msgs:      make(chan fetched, opt.MaxBatchMessages),
		errs:      make(chan error, 1),
		commitNow: make(chan struct{}, 1),
		runDone:   make(chan struct{}),
		closed:    make(chan struct{}),
		closeDone: make(chan struct{}),
		checks:    idChecks{fresh: opt.idFreshFor(), every: uncheckedLogEvery},
	}
	s.slabs = &slabPool{size: max(2*opt.MaxBytes, minSlab), allocs: &s.nBuffers}
	s.client = &kafkago.Client{Addr: kafkago.TCP(opt.Brokers...), Timeout: 10 * time.Second, Transport: s.tr}
	ids, err := opt.topicClient()
	if err != nil {
		return nil, fmt.Errorf("kafka: group %q: topic id client: %w", opt.Group, err)
	}
	s.ids = ids
	cg, err := kafkago.NewConsumerGroup(opt.groupConfig(s.dialer))
	if err != nil {
		ids.Close()
		return nil, fmt.Errorf("kafka: group %q: %w", opt.Group, err)
	}
	s.cg = cg
	s.runCtx, s.runCancel = context.WithCancel(context.Background())
	go s.run()
	return s, nil
}

// run joins generation after generation until Close.
func (s *Source) run() {
	defer close(s.runDone)
	jl := joinLog{every: joinLogEvery, now: time.Now}
	for {
		kgen, err := s.cg.Next(s.runCtx)
		if err != nil {
			if s.runCtx.Err() != nil || errors.Is(err, kafkago.ErrGroupClosed) {
				return
			}
			s.nGroupErrors.Add(1)
			jl.failed(s.log, err)
			if permanent(err) {
				s.report(fmt.Errorf("kafka: group %q: %w", s.opt.Group, err))
			}
			continue
		}
		jl.joined(s.log)
		s.startGeneration(kgen)
	}
}

// joinLogEvery is how often a run of failures to join the group is logged
// after its first (kafka-go retries every 5s: 720 lines an hour otherwise).
const joinLogEvery = time.Minute

// joinLog rate-limits the log of failures to join the consumer group:
// the first of a run at once, then at most one per every with the attempts
// so far, and a line when a join succeeds after failures. Used by run's
// goroutine only.
type joinLog struct {
	every time.Duration
	now   func() time.Time

	attempts int       // failures in the current run; 0: none
	since    time.Time // first failure of the run
	last     time.Time // last failure logged
}

// failed notes one failure and logs it when due.
func (j *joinLog) failed(log *slog.Logger, err error) {
	now := j.now()
	j.attempts++
	if j.attempts == 1 {
		j.since = now
	} else if now.Sub(j.last) < j.every {
		return
	}
	j.last = now
	log.Warn("kafka: joining the consumer group failed; retrying", "attempts", j.attempts,
		"failing_for", now.Sub(j.since).Round(time.Second).String(), "err", err)
}

// joined ends a run of failures, logging how long it lasted.
func (j *joinLog) joined(log *slog.Logger) {
	if j.attempts == 0 {
		return
	}
	log.Info("kafka: consumer group joined again after failures", "failed_attempts", j.attempts,
		"failed_for", j.now().Sub(j.since).Round(time.Second).String())
	j.attempts = 0
}

// startGeneration starts the readers, the committer and the lag refresher
// of a new generation. kafka-go ends the generation when any of them
// returns, and waits for all of them before joining the next one.
func (s *Source) startGeneration(kgen *kafkago.Generation) {
	g := &generation{kgen: kgen}
	topics := make([]string, 0, len(kgen.Assignments))
	for t := range kgen.Assignments {
		topics = append(topics, t)
	}
	slices.Sort(topics)
	var names []string
	for _, t := range topics {
		for _, a := range kgen.Assignments[t] {
			p := &partState{gen: g, tp: TopicPartition{t, int32(a.ID)}, start: a.Offset, acked: -1}
			p.committed.Store(-1)
			if a.Offset >= 0 {
				p.committed.Store(a.Offset)
			}
			p.first.Store(-1)
			p.hwm.Store(-1)
			g.parts = append(g.parts, p)
			names = append(names, p.tp.String())
		}
	}
	s.mu.Lock()
	s.gen = g
	s.mu.Unlock()
	s.nGenerations.Add(1)
	s.log.Info("kafka: joined consumer group", "generation", kgen.ID, "member", kgen.MemberID, "partitions", strings.Join(names, " "))

	for _, p := range g.parts {
		kgen.Start(func(ctx context.Context) { s.fetch(ctx, p) })
	}
	kgen.Start(func(ctx context.Context) { s.commitLoop(ctx, g) })
	if s.opt.LagInterval > 0 && len(g.parts) > 0 {
		kgen.Start(func(ctx context.Context) { s.lagLoop(ctx, g) })
	}
	if len(g.parts) > 0 {
		kgen.Start(func(ctx context.Context) { s.topicLoop(ctx, g) })
	}
}

// report hands an error that will not heal to Read, keeping the first.
func (s *Source) report(err error) {
	select {
	case s.errs <- err:
	default:
	}
}

// Read returns the messages already fetched, at least one and at most
// MaxBatchMessages, blocking only until the first is there. It returns
// ctx.Err() when ctx is done, io.EOF once Close was called, and an error
// when the brokers refuse this client for good (bad credentials, missing
// authorization, an untrusted certificate). Messages of a partition come in
// offset order within a generation, except that a partition restarted from
// StartOffset (its position was past the end of its log) goes on from its
// new position.
//
// The values live in buffers that the source reuses once the batch's
// Release was called: a value must not be read after Release (the pipeline
// calls it after Ack, when no worker or sink reads the batch any more).
// A batch that is never released keeps its buffers from reuse; the garbage
// collector reclaims them.
func (s *Source) Read(ctx context.Context) (stream.Batch, error) {
	var first fetched
	for {
		select {
		case <-s.closed:
			return stream.Batch{}, io.EOF
		default:
		}
		select {
		case <-s.closed:
			return stream.Batch{}, io.EOF
		case <-ctx.Done():
			return stream.Batch{}, ctx.Err()
		case err := <-s.errs:
			return stream.Batch{}, err
		case f := <-s.msgs:
			if f.part.gen.ended.Load() {
				s.dropStale(f)
				continue
			}
			first = f
		}
		break
	}
	n := min(s.opt.MaxBatchMessages, 1+len(s.msgs))
	rb := &readBatch{s: s, msgs: make([]stream.Message, 0, n), marks: make([]ackMark, 0, 2), slabs: make([]slabRef, 0, 2)}
	rb.add(first)
fill:
	for len(rb.msgs) < s.opt.MaxBatchMessages {
		select {
		case f := <-s.msgs:
			if f.part.gen.ended.Load() {
				s.dropStale(f)
				continue
			}
			rb.add(f)
		default:
			break fill
		}
	}
	s.nMessages.Add(int64(len(rb.msgs)))
	s.nBytes.Add(rb.size)
	return stream.Batch{Messages: rb.msgs, Ack: rb.ack, Release: rb.release}, nil
}

// dropStale drops a message fetched for a generation that has ended.
func (s *Source) dropStale(f fetched) {
	s.nStaleMessages.Add(1)
	f.slab.release(1)
}

// readBatch is what one Read returned, for its Ack and Release.
type readBatch struct {
	s        *Source
	msgs     []stream.Message
	marks    []ackMark // per partition: the offset after its last message
	slabs    []slabRef // per slab: how many values it holds
	size     int64
	released atomic.Bool
}

// add appends one fetched message.
func (rb *readBatch) add(f fetched) {
	rb.msgs = append(rb.msgs, stream.Message{
		Value:    f.value,
		Position: stream.Position{Source: f.part.tp.Topic, Partition: f.part.tp.Partition, Offset: f.offset},
	})
	rb.size += int64(len(f.value))
	rb.addSlab(f.slab)
	for i := range rb.marks {
		if rb.marks[i].part == f.part && rb.marks[i].epoch == f.epoch {
			rb.marks[i].next = f.offset + 1
			rb.marks[i].n++
			return
		}
	}
	rb.marks = append(rb.marks, ackMark{part: f.part, epoch: f.epoch, next: f.offset + 1, n: 1})
}

// addSlab counts one more value held in b.
func (rb *readBatch) addSlab(b *slab) {
	for i := len(rb.slabs) - 1; i >= 0; i-- {
		if rb.slabs[i].slab == b {
			rb.slabs[i].n++
			return
		}
	}
	rb.slabs = append(rb.slabs, slabRef{slab: b, n: 1})
}

// ack is the batch's Ack. It never fails.
func (rb *readBatch) ack(context.Context) error {
	rb.s.ack(rb.marks, len(rb.msgs))
	return nil
}

// release is the batch's Release: its value buffers may be reused. Calls
// after the first do nothing.
func (rb *readBatch) release() {
	if rb.released.Swap(true) {
		return
	}
	for _, r := range rb.slabs {
		r.slab.release(r.n)
	}
}

// ack records a batch as delivered. It never blocks on the network: the
// committer commits in the background.
func (s *Source) ack(marks []ackMark, count int) {
	s.mu.Lock()
	stale := 0
	for _, m := range marks {
		if m.part.gen.ended.Load() || m.epoch != m.part.epoch {
			stale += m.n
			continue
		}
		if m.next > m.part.acked {
			m.part.acked = m.next
		}
	}
	s.pending += count
	now := s.pending >= s.opt.CommitCount || s.opt.CommitInterval < 0
	s.mu.Unlock()
	if stale > 0 {
		s.nStaleAcks.Add(int64(stale))
	}
	if now {
		select {
		case s.commitNow <- struct{}{}:
		default:
		}
	}
}

// commitLoop commits acknowledged offsets of g every CommitInterval, when
// CommitCount acks are pending, and once more when g ends. A commit that
// fails is retried after a back-off (100ms doubling up to 1s) until one
// succeeds or g ends, so that offsets acknowledged before the stream went
// quiet do not wait for the next ack or interval; until the retry, acks
// and ticks start no commit.
func (s *Source) commitLoop(ctx context.Context, g *generation) {
	var tick <-chan time.Time
	if s.opt.CommitInterval > 0 {
		t := time.NewTicker(s.opt.CommitInterval)
		defer t.Stop()
		tick = t.C
	}
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	defer retry.Stop()
	var retryC <-chan time.Time // retry.C while a retry is due
	failures := 0               // consecutive failed commits
	try := func() {
		err := s.commit(g)
		if err == nil {
			if failures > 0 {
				s.log.Info("kafka: offset commit succeeded again after failures", "generation", g.kgen.ID, "failed_attempts", failures)
			}
			failures, retryC = 0, nil
			retry.Stop()
			return
		}
		failures++
		level := slog.LevelWarn
		if failures > 1 {
			level = slog.LevelDebug // the first failure of a run is enough at Warn
		}
		wait := backoff(failures)
		s.log.Log(ctx, level, "kafka: offset commit failed; retrying", "generation", g.kgen.ID, "attempts", failures, "retry_in", wait.String(), "err", err)
		retry.Reset(wait)
		retryC = retry.C
	}
	for {
		select {
		case <-ctx.Done():
			s.mu.Lock()
			g.ended.Store(true) // from here on acks of g are not committed
			if s.gen == g {
				s.gen = nil
			}
			s.mu.Unlock()
			err := s.commit(g)
			if err != nil {
				s.log.Warn("kafka: final offset commit of the generation failed", "generation", g.kgen.ID, "err", err)
			}
			select {
			case <-s.closed:
				s.mu.Lock()
				s.closeErr = err
				s.mu.Unlock()
			default:
			}
			return
		case <-tick:
			if retryC == nil {
				try()
			}
		case <-s.commitNow:
			// While a failed commit waits for its retry, which commits
			// everything acknowledged by then, acks start no commits of
			// their own: a busy stream would otherwise try the failing
			// coordinator once per ack.
			if retryC == nil {
				try()
			}
		case <-retryC:
			retryC = nil
			try()
		}
	}
}

// commitPart is one partition's offset in a commit, with the partition's
// epoch when the offset was taken.
type commitPart struct {
	p      *partState
	offset int64
	epoch  int
}

// commit commits, in g, the offset after the last acknowledged message of
// every partition that advanced. A partition that has no committed offset
// yet gets the offset this member started reading it at, so a rebalance
// before the first acknowledgement does not move a "latest" start past it.
// The ids of the topics are checked first: a partition whose topic was
// deleted and created again is not committed (its offset is one of the old
// topic) but restarted by its fetcher. A check that has not answered
// within commitCheckWait is not waited for: the commit is made without it
// and noted (noteUncheckedCommit), as a check that cannot answer must not
// stop the commits; its answer, when it comes, is still acted on (see
// commitCheck). The error names the offsets and the generation; the
// caller logs it.
func (s *Source) commit(g *generation) error {
	var parts []commitPart
	var check []string // topics whose id is known
	s.mu.Lock()
	s.pending = 0
	for _, p := range g.parts {
		off := p.acked
		if off < 0 && p.committed.Load() < 0 {
			off = p.first.Load()
		}
		if off < 0 || off <= p.committed.Load() || p.recreated.Load() {
			continue
		}
		parts = append(parts, commitPart{p: p, offset: off, epoch: p.epoch})
		// A topic whose id this source learned before is checked even
		// when this generation has not learned it yet (its checks fail
		// since the rebalance): a commit without the check is one.
		if (p.topicID != (topicID{}) || s.checks.learned(p.tp.Topic)) && !slices.Contains(check, p.tp.Topic) {
			check = append(check, p.tp.Topic)
		}
	}
	s.mu.Unlock()
	var unchecked []string // topics committed without a fresh check
	var uncheckedWhy error
	if len(check) > 0 {
		missing, err := s.commitCheck(g, check)
		s.mu.Lock()
		parts = slices.DeleteFunc(parts, func(c commitPart) bool { return c.p.recreated.Load() || c.epoch != c.p.epoch })
		s.mu.Unlock()
		for _, t := range missing {
			if slices.ContainsFunc(parts, func(c commitPart) bool { return c.p.tp.Topic == t }) {
				unchecked = append(unchecked, t)
			}
		}
		if err != nil {
			uncheckedWhy = fmt.Errorf("checking that the topics were not deleted and created again: %w", err)
		}
	}
	if len(parts) == 0 {
		return nil
	}
	offsets := make(map[string]map[int]int64)
	for _, c := range parts {
		if offsets[c.p.tp.Topic] == nil {
			offsets[c.p.tp.Topic] = make(map[int]int64)
		}
		offsets[c.p.tp.Topic][int(c.p.tp.Partition)] = c.offset
	}
	if err := g.kgen.CommitOffsets(offsets); err != nil {
		s.nCommitErrors.Add(1)
		return fmt.Errorf("kafka: group %q: commit %s in generation %d: %w", s.opt.Group, formatOffsets(parts), g.kgen.ID, err)
	}
	s.nCommits.Add(1)
	if len(unchecked) > 0 {
		s.noteUncheckedCommit(g, unchecked, uncheckedWhy)
	}
	s.mu.Lock()
	for _, c := range parts {
		// A partition restarted meanwhile keeps its reset position: the
		// offset committed here belongs to the log that is gone.
		if c.epoch == c.p.epoch && c.offset > c.p.committed.Load() {
			c.p.committed.Store(c.offset)
		}
	}
	s.mu.Unlock()
	return nil
}

// formatOffsets renders the offsets of a commit as "topic[0]@12 topic[3]@40".
func formatOffsets(parts []commitPart) string {
	var b strings.Builder
	for i, c := range parts {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(c.p.tp.String())
		b.WriteByte('@')
		b.WriteString(strconv.FormatInt(c.offset, 10))
	}
	return b.String()
}

// lagLoop refreshes the high watermarks of g's partitions every
// LagInterval until g ends.
func (s *Source) lagLoop(ctx context.Context, g *generation) {
	t := time.NewTicker(s.opt.LagInterval)
	defer t.Stop()
	for {
		s.refreshWatermarks(ctx, g)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// refreshWatermarks asks the partition leaders for the high watermarks of
// g's partitions.
func (s *Source) refreshWatermarks(ctx context.Context, g *generation) {
	req := &kafkago.ListOffsetsRequest{Topics: make(map[string][]kafkago.OffsetRequest)}
	byTP := make(map[TopicPartition]*partState, len(g.parts))
	for _, p := range g.parts {
		req.Topics[p.tp.Topic] = append(req.Topics[p.tp.Topic], kafkago.LastOffsetOf(int(p.tp.Partition)))
		byTP[p.tp] = p
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := s.client.ListOffsets(cctx, req)
	if err != nil {
		if ctx.Err() == nil {
			s.log.Debug("kafka: refreshing high watermarks failed", "err", err)
		}
		return
	}
	for topic, parts := range resp.Topics {
		for _, po := range parts {
			p := byTP[TopicPartition{topic, int32(po.Partition)}]
			if p == nil || po.Error != nil {
				continue
			}
			if po.LastOffset > p.hwm.Load() {
				p.hwm.Store(po.LastOffset)
			}
		}
	}
}

// Lag returns, for every partition currently assigned to this member, the
// number of messages not yet committed by the group: high watermark minus
// committed offset. A partition the group never committed counts from
// where this member started reading it; partitions whose position or high
// watermark is not known yet are absent. The high watermark is the newest
// of what fetches carried and what the brokers reported at the last
// LagInterval refresh. Between generations Lag is empty.
func (s *Source) Lag() map[TopicPartition]int64 {
	s.mu.Lock()
	g := s.gen
	s.mu.Unlock()
	out := make(map[TopicPartition]int64)
	if g == nil {
		return out
	}
	for _, p := range g.parts {
		pos := p.committed.Load()
		if pos < 0 {
			pos = p.first.Load()
		}
		hwm := p.hwm.Load()
		if pos < 0 || hwm < 0 {
			continue
		}
		out[p.tp] = max(hwm-pos, 0)
	}
	return out
}

// Assigned returns the partitions assigned to this member in the current
// generation, sorted by topic and partition; empty between generations.
func (s *Source) Assigned() []TopicPartition {
	s.mu.Lock()
	g := s.gen
	s.mu.Unlock()
	if g == nil {
		return nil
	}
	out := make([]TopicPartition, len(g.parts))
	for i, p := range g.parts {
		out[i] = p.tp
	}
	slices.SortFunc(out, func(a, b TopicPartition) int {
		if c := strings.Compare(a.Topic, b.Topic); c != 0 {
			return c
		}
		return int(a.Partition - b.Partition)
	})
	return out
}

// Stats returns the counters since New.
func (s *Source) Stats() Stats {
	return Stats{
		Messages:         s.nMessages.Load(),
		Bytes:            s.nBytes.Load(),
		Generations:      s.nGenerations.Load(),
		Commits:          s.nCommits.Load(),
		CommitErrors:     s.nCommitErrors.Load(),
		StaleMessages:    s.nStaleMessages.Load(),
		StaleAcks:        s.nStaleAcks.Load(),
		OffsetResets:     s.nOffsetResets.Load(),
		UncheckedCommits: s.nUncheckedCommits.Load(),
		GroupErrors:      s.nGroupErrors.Load(),
		Buffers:          s.nBuffers.Load(),
	}
}

// Close stops fetching, commits the offsets of every message acknowledged
// so far (nothing more), leaves the consumer group and closes the
// connections. Read returns io.EOF from then on, and later acks are not
// committed. Close waits at most until ctx is done: the commit and the
// leave then finish in the background, bounded by the group's network
// timeout, and Close returns an error saying so. The commit waits at most
// a second for its check of the topic ids and is made without it when it
// does not answer. It returns the error of the final commit, if that
// failed. Safe to call twice.
func (s *Source) Close(ctx context.Context) error {
	s.closeOnce.Do(func() {
		close(s.closed)
		go func() {
			defer close(s.closeDone)
			_ = s.cg.Close() // ends the generation: readers stop, the committer commits acked offsets
			s.runCancel()
			<-s.runDone
			s.tr.CloseIdleConnections()
			s.ids.Close() // ends the checks still waiting for an answer
			s.lateChecks.Wait()
		}()
	})
	select {
	case <-s.closeDone:
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.closeErr
	case <-ctx.Done():
		return fmt.Errorf("kafka: close group %q: %w (the final offset commit may not have completed)", s.opt.Group, ctx.Err())
	}
}

// permanent reports whether err will not heal by retrying: refused
// credentials or authorization, an invalid group setting, or a TLS failure.
// Everything else (network errors, leader moves, rebalances) is retried.
func permanent(err error) bool {
	for _, k := range []kafkago.Error{
		kafkago.SASLAuthenticationFailed,
		kafkago.UnsupportedSASLMechanism,
		kafkago.IllegalSASLState,
		kafkago.TopicAuthorizationFailed,
		kafkago.GroupAuthorizationFailed,
		kafkago.ClusterAuthorizationFailed,
		kafkago.InvalidSessionTimeout,
		kafkago.InvalidGroupId,
		kafkago.InconsistentGroupProtocol,
	} {
		if errors.Is(err, k) {
			return true
		}
	}
	var (
		verify   *tls.CertificateVerificationError
		header   tls.RecordHeaderError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &header) || errors.As(err, &unknown) ||
		errors.As(err, &hostname) || errors.As(err, &invalid)
}

// Interface check.
var _ stream.Source = (*Source)(nil)
