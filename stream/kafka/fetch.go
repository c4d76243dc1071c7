package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	kafkago "github.com/segmentio/kafka-go"
)

// fetchTimeout is how long a broker may take, beyond MaxWait, to answer a
// fetch, and how long dialing and reading the partition's offsets may take.
const fetchTimeout = 10 * time.Second

// Buffer sizing. A value buffer (slab) holds 2 × MaxBytes, at least
// minSlab, and takes fetches while MaxBytes of it are free: every fetch has
// room for a whole answer, and a buffer is at least half used.
const (
	// minSlab is the least size of a value buffer.
	minSlab = 64 << 10
	// maxSlab bounds how far a buffer grows for one oversized message.
	maxSlab = 1 << 30
	// maxFreeSlabs is how many released buffers a Source keeps for reuse.
	maxFreeSlabs = 16
)

// idleWait is how long a fetch of a partition that had nothing new at its
// last fetch waits for the first message (with MinBytes 1): an idle
// partition costs two fetches a second, and its next message is answered
// at once. A partition that is receiving messages fetches with MinBytes and
// MaxWait instead, so that fetches grow with the load.
const idleWait = 500 * time.Millisecond

// Fetch retry back-off, as kafka-go's reader: 100ms doubling up to 1s.
const (
	backoffMin = 100 * time.Millisecond
	backoffMax = time.Second
)

// slab is a buffer that the values of one partition's messages are read
// into, back to back. It is reference-counted: the partition's fetcher holds
// one reference while it writes into the slab, and every message handed to
// Read holds one until its batch is released. When the count drops to zero
// the slab goes back to its pool and is written again, so a value must not
// be read after its batch's Release.
type slab struct {
	buf  []byte
	used int          // bytes of buf holding values; written by the fetcher only
	refs atomic.Int64 // references: the fetcher's, plus one per message not yet released
	pool *slabPool    // nil: not recycled (a slab grown for an oversized message)
}

// release drops n references and recycles the slab once none is left.
func (b *slab) release(n int64) {
	if b.refs.Add(-n) == 0 && b.pool != nil {
		b.pool.put(b)
	}
}

// slabPool recycles the slabs of one Source. Safe for concurrent use.
type slabPool struct {
	size   int           // size of every pooled slab
	allocs *atomic.Int64 // counts slabs allocated (Stats.Buffers)

	mu   sync.Mutex
	free []*slab
}

// get returns an empty slab of at least size bytes holding one reference
// (the caller's).
func (p *slabPool) get(size int) *slab {
	if size == p.size {
		p.mu.Lock()
		if n := len(p.free); n > 0 {
			b := p.free[n-1]
			p.free[n-1] = nil
			p.free = p.free[:n-1]
			p.mu.Unlock()
			b.used = 0
			b.refs.Store(1)
			return b
		}
		p.mu.Unlock()
	}
	p.allocs.Add(1)
	b := &slab{buf: make([]byte, size)}
	if size == p.size {
		b.pool = p
	}
	b.refs.Store(1)
	return b
}

// put keeps b for reuse, unless enough slabs are kept already.
func (p *slabPool) put(b *slab) {
	p.mu.Lock()
	if len(p.free) < maxFreeSlabs {
		p.free = append(p.free, b)
	}
	p.mu.Unlock()
}

// slabRef is how many messages of one batch live in one slab.
type slabRef struct {
	slab *slab
	n    int64
}

// partFetcher reads one partition of one generation through a connection
// to its leader: fetch after fetch, each answer read whole into a slab,
// then handed to Read message by message. Used by one goroutine.
type partFetcher struct {
	s *Source
	p *partState

	conn     *kafkago.Conn
	stopConn func() bool // cancels the close-on-cancel of conn

	// want is the offset of the next message to deliver; kafka-go's
	// FirstOffset or LastOffset until the first connection resolves it.
	want int64
	cur  *slab // the slab being filled; nil before the first fetch
	size int   // size of the next slab: the pool's, or more for an oversized message

	idle    bool      // the last fetch returned nothing
	out     []fetched // the messages of the last fetch, reused
	errs    int       // consecutive failures, for the back-off
	failing bool      // in a streak of failures: log the first at Warn only

	// outOfRange: the last fetch was refused with OFFSET_OUT_OF_RANGE; the
	// next connection looks at the partition's offset range.
	outOfRange bool
	epoch      int // p.epoch, which this fetcher alone writes
}

// fetch reads one partition from its assignment offset and feeds s.msgs
// until the generation ends (ctx is done).
func (s *Source) fetch(ctx context.Context, p *partState) {
	f := &partFetcher{s: s, p: p, want: p.start, size: s.slabs.size}
	defer f.disconnect()
	defer f.retire()
	for ctx.Err() == nil {
		if f.errs > 0 && !sleep(ctx, backoff(f.errs)) {
			return
		}
		if f.p.recreated.Load() {
			// A check saw the topic's id change: the next connection
			// restarts the partition.
			f.disconnect()
		}
		if f.conn == nil {
			if err := f.connect(ctx); err != nil {
				if ctx.Err() != nil {
					return
				}
				if permanent(err) {
					// Refused credentials or authorization, an untrusted
					// certificate of this partition's leader: Read says so.
					at := "its start offset"
					if f.want >= 0 {
						at = "offset " + strconv.FormatInt(f.want, 10)
					}
					s.report(fmt.Errorf("kafka: fetch %s at %s: connecting to the partition leader: %w", p.tp, at, err))
				}
				f.fail(ctx, "connecting to the partition leader", err)
				continue
			}
		}
		err := f.fetchOnce()
		if !f.deliver(ctx) {
			return
		}
		if ctx.Err() != nil {
			return
		}
		f.handle(ctx, err)
	}
}

// connect dials the partition's leader, resolves a FirstOffset or LastOffset
// start, skips what retention deleted, and restarts a partition whose topic
// was deleted and created again (its id changed, or the broker refused the
// position as past the end of its log).
func (f *partFetcher) connect(ctx context.Context) error {
	s, tp := f.s, f.p.tp
	var conn *kafkago.Conn
	var err error
	for _, broker := range s.opt.Brokers {
		if conn, err = s.dialer.DialLeader(ctx, "tcp", broker, tp.Topic, int(tp.Partition)); err == nil {
			break
		}
	}
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() }) // a generation's end interrupts a waiting fetch
	// The topic's id, once the partition's leader answered (kafka-go's
	// DialLeader waits while the topic does not exist): a topic recreated
	// since the last look, with as many messages as the position or more,
	// could not be told from the old one by its offsets. Without an
	// answer the fetcher goes on; the periodic check and every commit
	// look again.
	cctx, cancel := context.WithTimeout(ctx, checkTimeout)
	idErr := s.checkTopics(cctx, f.p.gen, []string{tp.Topic})
	cancel()
	if idErr != nil && ctx.Err() == nil {
		s.log.Debug("kafka: checking the topic id failed", "partition", tp.String(), "err", idErr)
	}
	if err := conn.SetDeadline(time.Now().Add(fetchTimeout)); err != nil {
		stop()
		conn.Close()
		return err
	}
	first, last, err := conn.ReadOffsets()
	if err != nil {
		stop()
		conn.Close()
		return fmt.Errorf("reading the offset range: %w", err)
	}
	conn.SetDeadline(time.Time{})
	recreated := f.takeRecreated()
	switch {
	case f.want == kafkago.FirstOffset:
		f.want = first
	case f.want == kafkago.LastOffset:
		f.want = last
	case recreated:
		f.restart(ctx, first, last, "kafka: the topic was deleted and created again; restarting the partition from start_offset")
	case f.want < first:
		f.skipTo(ctx, first)
	case f.want > last && f.outOfRange:
		// Only on the broker's word: a position past the high watermark
		// alone may be a leader that has not caught up yet.
		if idErr != nil {
			// The log it restarts in may be a new topic whose id the
			// check could not learn: the next id seen is its own, so
			// that it is not restarted a second time.
			s.mu.Lock()
			f.p.topicID, f.p.nextID = topicID{}, topicID{}
			f.p.recreated.Store(false)
			s.mu.Unlock()
		}
		f.restart(ctx, first, last, "kafka: the position is past the end of the partition's log (topic recreated or log truncated); restarting it from start_offset")
	}
	// A start the group never committed is pinned where it was resolved,
	// so that a rebalance or restart before the first message does not
	// resolve "latest" again past what arrived meanwhile.
	f.p.first.CompareAndSwap(-1, f.want)
	f.conn, f.stopConn = conn, stop
	return nil
}

// takeRecreated reports whether a check saw the partition's topic change
// its id, and makes the new id the partition's.
func (f *partFetcher) takeRecreated() bool {
	s, p := f.s, f.p
	s.mu.Lock()
	defer s.mu.Unlock()
	if !p.recreated.Load() {
		return false
	}
	p.topicID, p.nextID = p.nextID, topicID{}
	p.recreated.Store(false)
	return true
}

// skipTo moves past messages that retention deleted before they were read.
func (f *partFetcher) skipTo(ctx context.Context, first int64) {
	f.s.log.Log(ctx, slog.LevelWarn, "kafka: messages were deleted before they were read; skipping them",
		"partition", f.p.tp.String(), "offset", f.want, "first_retained", first, "skipped", first-f.want)
	f.want = first
}

// restart moves a partition whose topic was deleted and created again (its
// id changed, or its position is past the end of the log), or whose log
// was truncated, to where StartOffset starts a partition the group never
// committed: the position names no message of this log, or another one.
// Acks of messages read before are not committed any more (they belong to
// the log that is gone), and the new position is committed at once, as a
// new group's start is. msg is the warning logged.
func (f *partFetcher) restart(ctx context.Context, first, last int64, msg string) {
	s, p := f.s, f.p
	to := first
	if s.opt.StartOffset == "latest" {
		to = last
	}
	s.log.Log(ctx, slog.LevelWarn, msg, "partition", p.tp.String(), "offset", f.want, "log_start", first, "log_end", last, "start_offset", s.opt.StartOffset, "restart_at", to)
	s.mu.Lock()
	p.epoch++
	f.epoch = p.epoch
	p.acked = -1
	p.committed.Store(-1) // the group's offset is not of this log: commit the start, as for a new group
	p.first.Store(to)
	p.hwm.Store(last)
	s.mu.Unlock()
	s.nOffsetResets.Add(1)
	f.want = to
	select {
	case s.commitNow <- struct{}{}:
	default:
	}
}

// disconnect closes the connection, if any.
func (f *partFetcher) disconnect() {
	if f.conn != nil {
		f.stopConn()
		f.conn.Close()
		f.conn, f.stopConn = nil, nil
	}
}

// retire drops the fetcher's reference to its current slab.
func (f *partFetcher) retire() {
	if f.cur != nil {
		f.cur.release(1)
		f.cur = nil
	}
}

// fetchOnce sends one fetch and reads its answer into f.out and the current
// slab. Its error is the fetch's (io.EOF and RequestTimedOut mean none).
func (f *partFetcher) fetchOnce() error {
	s := f.s
	if f.cur == nil || len(f.cur.buf)-f.cur.used < s.opt.MaxBytes {
		f.retire()
		f.cur = s.slabs.get(f.size)
		f.size = s.slabs.size // an oversized slab serves one fetch only
	}
	b := f.cur
	maxBytes := min(s.opt.MaxBytes, len(b.buf)-b.used)
	if _, err := f.conn.Seek(f.want, kafkago.SeekAbsolute|kafkago.SeekDontCheck); err != nil {
		return err
	}
	minBytes, wait := min(s.opt.MinBytes, maxBytes), s.opt.MaxWait
	if f.idle {
		// Nothing came within MaxWait last time: long-poll, and answer
		// with the first message that arrives.
		minBytes, wait = 1, max(wait, idleWait)
	}
	if err := f.conn.SetReadDeadline(time.Now().Add(wait + fetchTimeout)); err != nil {
		return err
	}
	batch := f.conn.ReadBatchWith(kafkago.ReadBatchConfig{MinBytes: minBytes, MaxBytes: maxBytes, MaxWait: wait})
	f.out = f.out[:0]
	var err error
	for {
		n, rerr := batch.Read(b.buf[b.used:b.used:len(b.buf)])
		if rerr != nil {
			err = rerr
			break
		}
		off := batch.Offset() - 1
		if off < f.want {
			continue // a record batch may begin before the offset asked for
		}
		f.out = append(f.out, fetched{part: f.p, epoch: f.epoch, offset: off, value: b.buf[b.used : b.used+n : b.used+n], slab: b})
		b.used += n
		f.want = off + 1
	}
	if cerr := batch.Close(); err == nil || errors.Is(err, io.EOF) {
		err = cerr
	}
	// kafka-go moves past a record batch whose tail was compacted away.
	if next, _ := f.conn.Offset(); next > f.want {
		f.want = next
	}
	if hwm := batch.HighWaterMark(); hwm > f.p.hwm.Load() {
		f.p.hwm.Store(hwm)
	}
	f.idle = len(f.out) == 0 && (err == nil || errors.Is(err, kafkago.RequestTimedOut))
	return err
}

// deliver hands the messages of the last fetch to Read, and reports false
// when ctx ended first.
func (f *partFetcher) deliver(ctx context.Context) bool {
	if len(f.out) == 0 {
		return true
	}
	if f.p.first.Load() < 0 {
		f.p.first.Store(f.out[0].offset)
	}
	f.cur.refs.Add(int64(len(f.out)))
	for i, m := range f.out {
		select {
		case f.s.msgs <- m:
		case <-ctx.Done():
			f.cur.release(int64(len(f.out) - i))
			return false
		}
	}
	clear(f.out) // drop the slab pointers
	return true
}

// handle acts on the error of one fetch: nothing, a bigger buffer, a new
// start offset, or a reconnection after a back-off.
func (f *partFetcher) handle(ctx context.Context, err error) {
	switch {
	case err == nil, errors.Is(err, kafkago.RequestTimedOut):
		// RequestTimedOut: nothing new within MaxWait.
		f.recovered(ctx)
	case errors.Is(err, io.ErrShortBuffer):
		// The next value does not fit in what is left of the slab: take a
		// fresh one, or a larger one if it did not fit in a fresh one.
		if len(f.out) == 0 && f.cur.used == 0 {
			if len(f.cur.buf) >= maxSlab {
				f.fail(ctx, "reading", fmt.Errorf("a message at offset %d is larger than %d bytes", f.want, maxSlab))
				return
			}
			f.size = min(2*len(f.cur.buf), maxSlab)
		}
		f.retire()
	case errors.Is(err, kafkago.OffsetOutOfRange):
		// kafka-go leaves the rest of a refused answer unread on the
		// connection, so it cannot be used again: the next connection
		// reads the offset range and skips what retention deleted, or
		// restarts a position past the end of the log. Refused again
		// right after that, back off.
		f.disconnect()
		if f.outOfRange {
			f.fail(ctx, "fetching", err)
		}
		f.outOfRange = true
	default:
		var kerr kafkago.Error
		if errors.As(err, &kerr) && permanent(err) {
			f.s.report(fmt.Errorf("kafka: fetch %s at offset %d: %w", f.p.tp, f.want, err))
		}
		// Leader moves, unknown partitions, broken connections: find the
		// leader again after a back-off.
		f.disconnect()
		f.fail(ctx, "fetching", err)
	}
}

// fail counts a failure for the back-off and logs the first of a streak at
// Warn, the rest at Debug.
func (f *partFetcher) fail(ctx context.Context, what string, err error) {
	f.errs++
	level := slog.LevelWarn
	if f.failing {
		level = slog.LevelDebug
	}
	f.failing = true
	f.s.log.Log(ctx, level, "kafka: "+what+" failed; retrying", "partition", f.p.tp.String(), "offset", f.want, "err", err)
}

// recovered ends a streak of failures.
func (f *partFetcher) recovered(ctx context.Context) {
	f.errs = 0
	f.outOfRange = false
	if f.failing {
		f.failing = false
		f.s.log.Log(ctx, slog.LevelInfo, "kafka: fetching again", "partition", f.p.tp.String(), "offset", f.want)
	}
}

// backoff is the wait before the attempt after n consecutive failures.
func backoff(n int) time.Duration {
	d := backoffMin
	for i := 1; i < n && d < backoffMax; i++ {
		d *= 2
	}
	return min(d, backoffMax)
}

// sleep waits d, or less when ctx ends; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
