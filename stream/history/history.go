package history

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

// Defaults of Options.
const (
	DefaultRetention     = 24 * time.Hour
	DefaultMaxBytes      = 256 << 20
	DefaultBufferRecords = 4096
	DefaultQueueBuffers  = 16
	DefaultFlushEvery    = time.Second
	DefaultHuntCPU       = 0.25
	DefaultMaxRetroAlert = 100_000
	// maxSegmentBytes caps the default segment size: a hunt reads one
	// segment at a time into memory.
	maxSegmentBytes = 32 << 20
	minSegmentBytes = 64 << 10
)

// Options configure a History. The zero value is not usable: Dir is
// required; every other field has the default named on it. Plain data:
// Open copies it.
type Options struct {
	// Dir holds the segment files; it is created (mode 0700) if missing.
	// One writer at a time: Open locks it (a LOCK file) on Unix.
	Dir string
	// ReadOnly opens the history of another process for Scan: nothing is
	// written, locked or repaired, Record does nothing and Hunt fails.
	ReadOnly bool
	// Retention drops segments whose newest observation was recorded
	// longer ago than this. Default DefaultRetention (24h).
	Retention time.Duration
	// MaxBytes caps the files on disk (segments and their indexes); the
	// oldest segments are dropped first. Default DefaultMaxBytes (256 MiB).
	MaxBytes int64
	// SegmentSpan seals the segment being written once it is this old.
	// Default Retention/24 (1h): retention drops whole segments, so
	// observations live between Retention and Retention+SegmentSpan.
	SegmentSpan time.Duration
	// SegmentBytes seals the segment being written at this size. Default
	// MaxBytes/16, between 64 KiB and 32 MiB: the size cap drops at most a
	// sixteenth of the history at once.
	SegmentBytes int64
	// BufferRecords is how many observations one buffer holds before it
	// is handed to the writer (one block). Default DefaultBufferRecords
	// (4096); at most 65,536.
	BufferRecords int
	// QueueBuffers is how many full buffers may wait for the writer; when
	// they all wait, new observations are dropped and counted (Record
	// never blocks). Default DefaultQueueBuffers (16: about 64k
	// observations, a third of a second of a busy stream, 1.6 MiB each).
	QueueBuffers int
	// FlushEvery writes a partly filled buffer this often, so that a quiet
	// stream is on disk within about this long. Default 1s.
	FlushEvery time.Duration
	// HuntCPU is the share of one core a retro-hunt may use while live
	// observations keep arriving (0 < HuntCPU ≤ 1; it sleeps between
	// blocks to stay within it). With no live traffic it runs at full
	// speed. Default DefaultHuntCPU (0.25).
	HuntCPU float64
	// MaxRetroAlerts caps the alerts one Hunt emits; further hits are
	// counted (HuntReport.Truncated) and logged. Default
	// DefaultMaxRetroAlert (100,000).
	MaxRetroAlerts int
	// OnRetroExcluded, if set, is called for every retro hit an exclusion
	// suppressed, with the alert it would have been (for an audit sink).
	OnRetroExcluded func(rule *match.Rule, a *sink.Alert)
	// Now is the clock (recording times, retention, detected_at). Default
	// time.Now.
	Now func() time.Time
	// Log receives one line per state change (segment sealed, dropped,
	// repaired, write failure, hunt finished), never one per observation.
	// Default: discard.
	Log *slog.Logger
}

func (o *Options) fill() error {
	if o.Dir == "" {
		return errors.New("history: no directory given")
	}
	if o.Retention <= 0 {
		o.Retention = DefaultRetention
	}
	if o.MaxBytes <= 0 {
		o.MaxBytes = DefaultMaxBytes
	}
	if o.SegmentSpan <= 0 {
		o.SegmentSpan = max(o.Retention/24, time.Second)
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = min(max(o.MaxBytes/16, minSegmentBytes), maxSegmentBytes)
	}
	if o.BufferRecords <= 0 {
		o.BufferRecords = DefaultBufferRecords
	}
	o.BufferRecords = min(o.BufferRecords, 1<<16)
	if o.QueueBuffers <= 0 {
		o.QueueBuffers = DefaultQueueBuffers
	}
	if o.FlushEvery <= 0 {
		o.FlushEvery = DefaultFlushEvery
	}
	if o.HuntCPU <= 0 || o.HuntCPU > 1 {
		o.HuntCPU = DefaultHuntCPU
	}
	if o.MaxRetroAlerts <= 0 {
		o.MaxRetroAlerts = DefaultMaxRetroAlert
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Stats is a snapshot of a History's counters since Open. The zero value
// means nothing happened. Counts only grow; Segments, Bytes, Observations,
// Oldest and Newest describe what is held now.
type Stats struct {
	Recorded uint64 // observations accepted by Record
	Written  uint64 // observations written to disk
	// DroppedBehind are observations dropped because the writer fell
	// behind (QueueBuffers full); DroppedOversized those whose strings
	// exceed 64 KiB; DroppedWriteError those a failed write lost.
	DroppedBehind     uint64
	DroppedOversized  uint64
	DroppedWriteError uint64
	// ExpiredRetention and ExpiredSize are observations removed with their
	// segment by the time bound and by the size bound.
	ExpiredRetention uint64
	ExpiredSize      uint64
	WriteErrors      uint64 // failed writes (each also logged)

	Segments     int    // segment files, the one being written included
	Bytes        int64  // their size on disk, indexes included
	Observations uint64 // observations they hold
	// Oldest and Newest bound the event times held (zero when none).
	Oldest, Newest time.Time
}

// History is a bounded, persisted record of recent network observations,
// re-checked against indicators as they are added (Hunt, Hunter) and
// searched by analysts (Scan). Get one from Open; the zero value is not
// usable. A History is safe for concurrent use: Record is called by the
// pipeline's workers, hunts and scans run beside it.
type History struct {
	opt Options
	dir string

	// Recording: Record fills cur under mu and hands full buffers to the
	// writer through full; free returns them, most recently used last
	// (a stack: the buffers in use stay few and warm in the caches).
	mu       sync.Mutex
	cur      *buffer
	full     chan *buffer
	free     []*buffer
	nbufs    int // buffers made: free never holds more
	closed   bool
	recorded uint64
	behind   uint64
	oversize uint64

	flushReq chan chan struct{}
	stop     chan struct{}
	done     chan struct{}
	stopOnce sync.Once
	closeErr error
	lock     *os.File

	// smu guards the segment list and counters shared with readers.
	smu      sync.Mutex
	segs     []segMeta // sealed, oldest first
	act      *segMeta  // being written; nil until the first write
	nextSeq  uint64
	written  uint64
	lostIO   uint64
	expRet   uint64
	expSize  uint64
	ioErrors uint64

	// Writer-only state.
	enc      *encoder
	f        *os.File
	blockBuf []byte
	lastErr  time.Time

	// huntMu serialises hunts and scans (they share the read buffers).
	huntMu sync.Mutex
	// For benchmarks: observations decoded and remote values matched by
	// scans and hunts.
	scanned, matchedValues atomic.Uint64
	rd                     readState
	known                  knownSet
	noKnown                bool // history predates the known set: the first hunt only learns
	// domainWarned names the exclusion rules a hunt has said cannot apply
	// for want of the account domain (huntMu held): said once per rule.
	domainWarned map[string]bool
}

// Open opens (creating if needed) the history in opt.Dir, recovers what a
// crash left (a torn last block is cut off, a missing index rebuilt),
// applies the bounds, and starts the background writer. Close stops it.
func Open(opt Options) (*History, error) {
	if err := opt.fill(); err != nil {
		return nil, err
	}
	h := &History{opt: opt, dir: opt.Dir}
	if opt.ReadOnly {
		st, err := os.Stat(opt.Dir)
		if err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("history: %s is not a directory", opt.Dir)
		}
		found, err := looksLikeHistory(opt.Dir)
		if err != nil {
			// Not "holds no history": the files may well be there.
			return nil, fmt.Errorf("history: list the history directory: %w", err)
		}
		if !found {
			// A mistyped path must not read as "nobody talked to it".
			return nil, fmt.Errorf("history: %s %w (no %s, %s or *%s file): check the path", opt.Dir, ErrNoHistory, lockName, knownName, logExt)
		}
		h.closed = true
		return h, nil
	}
	if err := os.MkdirAll(opt.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	lock, err := lockDir(opt.Dir)
	if err != nil {
		return nil, err
	}
	h.lock = lock
	if err := h.recover(); err != nil {
		unlockDir(lock)
		return nil, err
	}
	known, found, err := loadKnown(opt.Dir)
	if err != nil {
		unlockDir(lock)
		return nil, err
	}
	h.known = known
	h.noKnown = !found && len(h.segs) > 0
	n := opt.QueueBuffers + 3
	h.full = make(chan *buffer, opt.QueueBuffers)
	h.nbufs = n
	arena := opt.BufferRecords * arenaPerRecord
	h.cur = newBuffer(opt.BufferRecords, arena)
	for range n - 1 {
		h.free = append(h.free, newBuffer(opt.BufferRecords, arena))
	}
	h.enc = newEncoder()
	h.flushReq = make(chan chan struct{})
	h.stop = make(chan struct{})
	h.done = make(chan struct{})
	h.maintain(h.opt.Now())
	go h.run()
	return h, nil
}

// looksLikeHistory reports whether dir holds a file a history writes: its
// lock (created when a writer opens it), its known indicators or a
// segment. An error is dir that cannot be listed (permissions).
func looksLikeHistory(dir string) (bool, error) {
	entries, err := readDir(dir)
	if err != nil {
		return false, err
	}
	for _, e := range entries {
		if n := e.Name(); n == lockName || n == knownName || strings.HasSuffix(n, logExt) {
			return true, nil
		}
	}
	return false, nil
}

// recover loads every segment's summary, repairing what a crash left.
func (h *History) recover() error {
	seqs, err := listSegments(h.dir)
	if err != nil {
		return err
	}
	var dec decoder
	var buf, ibuf []byte
	for _, seq := range seqs {
		m, err := loadMeta(h.dir, seq, true, false, &dec, &buf, &ibuf, h.opt.Log)
		if err != nil {
			return err
		}
		if m == nil {
			continue
		}
		if m.count == 0 {
			// A segment a crash left with no block: nothing to keep, and
			// its name is the one the next segment takes.
			os.Remove(m.idxPath(h.dir))
			if err := os.Remove(m.logPath(h.dir)); err != nil {
				return fmt.Errorf("history: %w", err)
			}
			continue
		}
		h.segs = append(h.segs, *m)
		h.nextSeq = max(h.nextSeq, m.firstSeq+m.count)
	}
	return nil
}

// loadMeta returns the summary of segment seq: from its index when that
// matches the segment, else by parsing the segment. Damaged blocks
// followed by blocks that parse are passed over (decoder.next). With
// repair, a torn or damaged tail is cut off, a segment that does not
// parse at all is removed, damage is logged and the index is (re)written;
// without, nothing is changed, a segment that does not parse at all is
// logged unless live (the newest segment of a writer, whose only block
// may be half written), and the others are reported sealed unless live,
// so that the scan that reads them reports their damage. A nil meta means
// the segment is gone. The index is derived data: failing to write it (a
// full disk) is logged, not an error, so that it does not keep a writer
// from starting.
func loadMeta(dir string, seq uint64, repair, live bool, dec *decoder, buf, ibuf *[]byte, log *slog.Logger) (*segMeta, error) {
	m := &segMeta{firstSeq: seq}
	lp, ip := m.logPath(dir), m.idxPath(dir)
	st, err := os.Stat(lp)
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("history: %w", err)
	}
	if data, err := readFileInto(ip, *ibuf, -1); err == nil {
		*ibuf = data
		if im, err := decodeIdx(data, ip); err == nil && im.firstSeq == seq && im.logSize == st.Size() {
			return &im, nil
		}
	}
	data, err := readFileInto(lp, *buf, -1)
	*buf = data
	if err != nil {
		if isNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("history: %w", err)
	}
	valid, perr := dec.load(data, lp)
	if valid == 0 {
		if !repair {
			if !live {
				log.Warn("history: segment does not parse; skipped", "segment", lp, "err", perr)
			}
			return nil, nil
		}
		log.Warn("history: removing a segment that does not parse", "segment", lp, "err", perr)
		os.Remove(ip)
		if err := os.Remove(lp); err != nil {
			return nil, fmt.Errorf("history: %w", err)
		}
		return nil, nil
	}
	for i := range dec.blocks {
		m.addBlock(&dec.blocks[i])
	}
	if !repair {
		if m.count == 0 {
			// No block parses: the scan will not read it, so it is
			// reported here.
			if perr != nil && !live {
				log.Warn("history: segment does not parse; skipped", "segment", lp, "err", perr)
			}
			return m, nil
		}
		// The scan reads the segment as far as it goes and reports what
		// does not parse; the live segment's tail may be a block being
		// written.
		m.logSize = int64(len(data))
		m.sealed = !live
		return m, nil
	}
	m.logSize = int64(valid)
	if dec.damaged > 0 {
		log.Warn("history: damaged blocks in a segment passed over; their observations are lost", "segment", lp,
			"damaged_stretches", dec.damaged, "damaged_bytes", dec.damagedBytes, "err", dec.firstDamage)
	}
	if perr != nil {
		log.Warn("history: cutting off a torn segment tail", "segment", lp, "valid_bytes", valid, "dropped_bytes", len(data)-valid, "err", perr)
		if err := os.Truncate(lp, int64(valid)); err != nil {
			return nil, fmt.Errorf("history: repair %s: %w", lp, err)
		}
	}
	m.sealed = true // never written to again: new observations go to a new segment
	idx := encodeIdx(m)
	if err := writeFileAtomic(ip, idx, true); err != nil {
		log.Warn("history: writing a segment index failed; it is rebuilt at the next start", "segment", lp, "err", err)
		return m, nil
	}
	m.idxSize = int64(len(idx))
	return m, nil
}

// Record copies the observable events (those with a remote IP or URL) into
// the current buffer; a background goroutine encodes and writes them. It
// never blocks on I/O: when the writer is behind, the observations are
// dropped and counted (Stats.DroppedBehind). Its signature fits
// stream.Options.OnEvents; it keeps no reference to events. Safe for
// concurrent use; a no-op after Close and on a read-only History.
func (h *History) Record(events []stream.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	for i := range events {
		e := &events[i]
		if !observable(e) {
			continue
		}
		n := stringsLen(e)
		if n > maxRecordStrings {
			h.oversize++
			continue
		}
		b := h.cur
		if len(b.recs) > 0 && (len(b.recs) == cap(b.recs) || len(b.arena)+n > cap(b.arena)) {
			h.handOff()
		}
		h.cur.add(e)
		h.recorded++
	}
}

// handOff queues the current buffer for the writer, or drops its contents
// when the queue is full. h.mu is held.
func (h *History) handOff() {
	select {
	case h.full <- h.cur:
		if b := h.popFree(); b != nil {
			h.cur = b
		} else {
			// Every buffer is queued or being written: a rare race with a
			// flush. A new buffer keeps Record from blocking.
			h.cur = newBuffer(h.opt.BufferRecords, h.opt.BufferRecords*arenaPerRecord)
		}
	default:
		h.behind += uint64(len(h.cur.recs))
		h.cur.reset()
	}
}

// popFree takes the most recently released buffer, or nil. h.mu is held.
func (h *History) popFree() *buffer {
	n := len(h.free)
	if n == 0 {
		return nil
	}
	b := h.free[n-1]
	h.free = h.free[:n-1]
	return b
}

// takeCurrent swaps out the current buffer if it holds anything.
func (h *History) takeCurrent() *buffer {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cur == nil || len(h.cur.recs) == 0 {
		return nil
	}
	b := h.popFree()
	if b == nil {
		return nil
	}
	old := h.cur
	h.cur = b
	return old
}

func (h *History) release(b *buffer) {
	b.reset()
	h.mu.Lock()
	if len(h.free) < h.nbufs {
		h.free = append(h.free, b)
	} // else an extra buffer made by handOff: let it go
	h.mu.Unlock()
}

// run is the writer goroutine.
func (h *History) run() {
	defer close(h.done)
	t := time.NewTicker(h.opt.FlushEvery)
	defer t.Stop()
	// drain writes the buffers queued and the current one: what was
	// recorded before it began (more may arrive meanwhile; it does not
	// chase them, or a busy stream would keep it from returning).
	drain := func() {
		for n := len(h.full); n > 0; n-- {
			h.write(<-h.full)
		}
		if b := h.takeCurrent(); b != nil {
			h.write(b)
		}
	}
	for {
		select {
		case b := <-h.full:
			h.write(b)
		case <-t.C:
			drain()
			h.maintain(h.opt.Now())
		case reply := <-h.flushReq:
			drain()
			h.maintain(h.opt.Now())
			close(reply)
		case <-h.stop:
			// Record does nothing once closed: this ends.
			for len(h.full) > 0 {
				h.write(<-h.full)
			}
			if b := h.takeCurrent(); b != nil {
				h.write(b)
			}
			h.seal()
			return
		}
	}
}

// write encodes one buffer as a block of the current segment.
func (h *History) write(b *buffer) {
	defer h.release(b)
	if len(b.recs) == 0 {
		return
	}
	now := h.opt.Now()
	if h.f != nil && now.UnixNano()-h.act.recFrom >= int64(h.opt.SegmentSpan) {
		h.seal() // time-partitioned: a block never joins a segment older than the span
	}
	if h.f == nil {
		if err := h.startSegment(now); err != nil {
			h.writeFailed(err, len(b.recs))
			return
		}
	}
	h.blockBuf = h.enc.block(h.blockBuf[:0], b, now.UnixNano())
	if _, err := h.f.Write(h.blockBuf); err != nil {
		// Cut the partial block off so that the segment stays readable,
		// and start a new segment (the dictionaries took this block's
		// entries, which are now lost).
		h.smu.Lock()
		size := h.act.logSize
		h.smu.Unlock()
		h.f.Truncate(size)
		h.writeFailed(err, len(b.recs))
		h.seal()
		return
	}
	var bi blockInfo
	var r reader
	r.b = h.blockBuf[frameHeader:]
	bi.recordedAt = r.varint()
	bi.minTs = r.varint()
	bi.maxTs = bi.minTs + int64(r.uvarint())
	bi.n = len(b.recs)
	for i := range b.recs {
		if b.recs[i].hasTime {
			bi.hasTime = true
			break
		}
	}
	h.smu.Lock()
	h.act.logSize += int64(len(h.blockBuf))
	h.act.addBlock(&bi)
	h.nextSeq += uint64(bi.n)
	h.written += uint64(bi.n)
	full := h.act.logSize >= h.opt.SegmentBytes
	h.smu.Unlock()
	if full || int64(h.enc.dictBytes) >= h.opt.SegmentBytes {
		h.seal()
	}
	h.enforceSize()
}

func (h *History) writeFailed(err error, lost int) {
	h.smu.Lock()
	h.ioErrors++
	h.lostIO += uint64(lost)
	h.smu.Unlock()
	if now := time.Now(); now.Sub(h.lastErr) >= time.Minute {
		h.lastErr = now
		h.opt.Log.Error("history: write failed; observations dropped", "dir", h.dir, "dropped", lost, "err", err)
	}
}

// startSegment creates the next segment file.
func (h *History) startSegment(now time.Time) error {
	h.smu.Lock()
	m := &segMeta{firstSeq: h.nextSeq, logSize: segHeader, recFrom: now.UnixNano()}
	h.smu.Unlock()
	f, err := os.OpenFile(m.logPath(h.dir), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("history: %w", err)
	}
	var hdr [segHeader]byte
	copy(hdr[:], segMagic)
	putUint64(hdr[8:], m.firstSeq)
	if _, err := f.Write(hdr[:]); err != nil {
		f.Close()
		os.Remove(m.logPath(h.dir))
		return fmt.Errorf("history: %w", err)
	}
	h.f = f
	h.smu.Lock()
	h.act = m
	h.smu.Unlock()
	return nil
}

// seal finishes the segment being written: its index is written and it
// joins the sealed list. Writer goroutine only.
func (h *History) seal() {
	if h.f == nil {
		return
	}
	h.smu.Lock()
	m := *h.act
	h.smu.Unlock()
	err := h.f.Sync()
	if cerr := h.f.Close(); err == nil {
		err = cerr
	}
	h.f = nil
	idx := encodeIdx(&m)
	if err == nil {
		err = writeFileAtomic(m.idxPath(h.dir), idx, false)
	}
	if err != nil {
		// The segment stays readable; its index is rebuilt at the next Open.
		h.opt.Log.Error("history: sealing a segment failed", "segment", m.logPath(h.dir), "err", err)
	} else {
		m.idxSize = int64(len(idx))
		m.sealed = true
	}
	h.smu.Lock()
	if m.count > 0 {
		h.segs = append(h.segs, m)
	}
	h.act = nil
	h.smu.Unlock()
	if m.count == 0 {
		os.Remove(m.logPath(h.dir))
		os.Remove(m.idxPath(h.dir))
	}
	h.enc = newEncoder()
	h.opt.Log.Debug("history: segment sealed", "segment", m.logPath(h.dir), "observations", m.count, "bytes", m.bytes())
}

// maintain seals the current segment when it is old enough and drops
// segments past the retention.
func (h *History) maintain(now time.Time) {
	h.smu.Lock()
	old := h.act != nil && now.UnixNano()-h.act.recFrom >= int64(h.opt.SegmentSpan)
	h.smu.Unlock()
	if old {
		h.seal()
	}
	cutoff := now.Add(-h.opt.Retention).UnixNano()
	for {
		h.smu.Lock()
		if len(h.segs) == 0 || h.segs[0].recUntil >= cutoff {
			h.smu.Unlock()
			break
		}
		m := h.segs[0]
		h.segs = slices.Delete(h.segs, 0, 1)
		h.expRet += m.count
		h.smu.Unlock()
		h.remove(&m, "retention")
	}
	h.enforceSize()
}

// enforceSize drops the oldest sealed segments while the files exceed
// MaxBytes.
func (h *History) enforceSize() {
	for {
		h.smu.Lock()
		total := int64(0)
		for i := range h.segs {
			total += h.segs[i].bytes()
		}
		if h.act != nil {
			total += h.act.logSize
		}
		if total <= h.opt.MaxBytes || len(h.segs) == 0 {
			h.smu.Unlock()
			return
		}
		m := h.segs[0]
		h.segs = slices.Delete(h.segs, 0, 1)
		h.expSize += m.count
		h.smu.Unlock()
		h.remove(&m, "size")
	}
}

func (h *History) remove(m *segMeta, why string) {
	err := os.Remove(m.logPath(h.dir))
	if err != nil && !isNotExist(err) {
		h.opt.Log.Error("history: removing a segment failed", "segment", m.logPath(h.dir), "err", err)
	}
	os.Remove(m.idxPath(h.dir))
	h.opt.Log.Info("history: segment dropped", "reason", why, "segment", m.logPath(h.dir), "observations", m.count)
}

// Flush returns once every observation recorded before the call is
// written (or dropped and counted) and the bounds are applied, or when ctx
// is done.
func (h *History) Flush(ctx context.Context) error {
	if h.opt.ReadOnly {
		return nil
	}
	reply := make(chan struct{})
	select {
	case h.flushReq <- reply:
	case <-h.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("history: flush: %w", ctx.Err())
	}
	select {
	case <-reply:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("history: flush: %w", ctx.Err())
	}
}

// Close stops recording, writes what is buffered, seals the segment being
// written and releases the directory. It is safe to call twice; the second
// call returns the first one's result. If ctx ends first, Close returns
// its error and the writer finishes in the background.
func (h *History) Close(ctx context.Context) error {
	if h.opt.ReadOnly {
		return nil
	}
	h.stopOnce.Do(func() {
		h.mu.Lock()
		h.closed = true
		h.mu.Unlock()
		close(h.stop)
	})
	select {
	case <-h.done:
	case <-ctx.Done():
		return fmt.Errorf("history: close: %w", ctx.Err())
	}
	h.huntMu.Lock()
	defer h.huntMu.Unlock()
	if h.lock != nil {
		h.closeErr = unlockDir(h.lock)
		h.lock = nil
	}
	return h.closeErr
}

// Stats returns the counters.
func (h *History) Stats() Stats {
	var s Stats
	h.mu.Lock()
	s.Recorded, s.DroppedBehind, s.DroppedOversized = h.recorded, h.behind, h.oversize
	h.mu.Unlock()
	if h.opt.ReadOnly {
		h.huntMu.Lock()
		defer h.huntMu.Unlock()
	}
	segs, act, err := h.snapshot()
	if err != nil {
		// Scan, which reads the same, returns the error.
		h.opt.Log.Error("history: reading the segments' summaries failed", "err", err)
	}
	if act != nil {
		segs = append(segs, *act)
	}
	h.smu.Lock()
	s.Written, s.DroppedWriteError, s.WriteErrors = h.written, h.lostIO, h.ioErrors
	s.ExpiredRetention, s.ExpiredSize = h.expRet, h.expSize
	h.smu.Unlock()
	var lo, hi int64
	has := false
	for i := range segs {
		m := &segs[i]
		s.Segments++
		s.Bytes += m.bytes()
		s.Observations += m.count
		if m.hasTime {
			if !has || m.minTs < lo {
				lo = m.minTs
			}
			if !has || m.maxTs > hi {
				hi = m.maxTs
			}
			has = true
		}
	}
	if has {
		s.Oldest, s.Newest = time.Unix(0, lo).UTC(), time.Unix(0, hi).UTC()
	}
	return s
}

// snapshot returns the sealed segments and the one being written (nil if
// none). A read-only History lists the directory (huntMu held); only it
// can fail.
func (h *History) snapshot() ([]segMeta, *segMeta, error) {
	if h.opt.ReadOnly {
		segs, err := h.listReadOnly()
		return segs, nil, err
	}
	h.smu.Lock()
	defer h.smu.Unlock()
	segs := slices.Clone(h.segs)
	if h.act == nil || h.act.count == 0 {
		return segs, nil, nil
	}
	act := *h.act
	return segs, &act, nil
}

// listReadOnly reads the summaries of another process's segments without
// changing anything. A segment or directory that cannot be read (its
// permissions) is an error naming it: leaving it out would read as
// "nobody talked to it". A damaged segment is not: it is logged and read
// as far as it parses, or skipped.
func (h *History) listReadOnly() ([]segMeta, error) {
	seqs, err := listSegments(h.dir)
	if err != nil {
		return nil, err
	}
	var out []segMeta
	for i, seq := range seqs {
		m, err := loadMeta(h.dir, seq, false, i == len(seqs)-1, &h.rd.dec, &h.rd.log, &h.rd.idx, h.opt.Log)
		if err != nil {
			return nil, err
		}
		if m != nil && m.count > 0 {
			out = append(out, *m)
		}
	}
	return out, nil
}

func putUint64(b []byte, v uint64) {
	for i := range 8 {
		b[i] = byte(v >> (8 * i))
	}
}
