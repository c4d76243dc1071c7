package sink

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Suppressor defaults.
const (
	// DefaultSuppressWindow is the repeat window the configuration uses
	// when it says nothing; SuppressOptions.Window 0 turns repeats
	// suppression off.
	DefaultSuppressWindow = 10 * time.Minute
	// DefaultDedupTTL is how long an AlertID is remembered.
	DefaultDedupTTL = time.Hour
	// DefaultSuppressKeys bounds each of the two tables (AlertIDs,
	// windows).
	DefaultSuppressKeys = 1_000_000
)

// SuppressOptions configures NewSuppressor. The zero value drops
// redelivered duplicates only (no repeat window), with the defaults below.
type SuppressOptions struct {
	// Window is how long, after an alert for a DeviceId × indicator (kind
	// and value) × MatchedField was delivered, further alerts for the same
	// triple are suppressed. 0 turns repeat suppression off (duplicates by
	// AlertID are still dropped); DefaultSuppressWindow (10 min) is the
	// configuration's default.
	Window time.Duration
	// Summaries sends, when a window that suppressed repeats closes, one
	// summary alert: a copy of the window's first alert with a new
	// AlertID, RepeatCount the number of suppressed repeats,
	// FirstSeen/LastSeen the earliest and latest event Timestamp among
	// them and the first alert (an alert without a Timestamp takes no
	// part; both are zero when none had one), and DetectedAt the latest
	// DetectedAt among the repeats — when iocwatch detected the last hit
	// the summary reports (a repeat without one counts as detected when the
	// suppressor counted it). DetectedAt is not when the window closed or
	// the summary was sent: those depend on the window length, the sweep,
	// shutdown and retries, and say nothing about the hits.
	Summaries bool
	// DedupTTL is how long a delivered AlertID is remembered, to drop
	// redeliveries (Event Hubs and Kafka deliver at least once). Default
	// DefaultDedupTTL (1h).
	DedupTTL time.Duration
	// MaxKeys bounds the AlertID table and the window table, each. When
	// one is full the oldest entry is evicted (Counts.Evicted); an evicted
	// window with repeats sends its summary early. Default
	// DefaultSuppressKeys (1,000,000).
	MaxKeys int
	// SweepEvery is how often the background loop closes expired windows
	// and sends (or retries) summaries. Default 1s.
	SweepEvery time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// SuppressCounts is a snapshot of a Suppressor's counters; the zero value
// means nothing happened. Counts only grow; Keys, Windows and
// PendingSummaries are gauges.
type SuppressCounts struct {
	Duplicates       uint64 // alerts dropped because their AlertID was already delivered
	Repeats          uint64 // alerts suppressed inside a repeat window
	Evicted          uint64 // table entries evicted for capacity before they expired
	SummariesSent    uint64 // summary alerts accepted by the next sink
	SummaryFailures  uint64 // failed attempts to send summaries (they are retried)
	Keys             int    // AlertIDs remembered
	Windows          int    // open repeat windows
	PendingSummaries int    // summaries waiting to be sent
}

// Suppressor is a Sink wrapper that drops redelivered alerts and repeats;
// see NewSuppressor. The zero value is not usable. Safe for concurrent
// use.
type Suppressor struct {
	next Sink
	opt  SuppressOptions

	mu      sync.Mutex
	ids     map[[16]byte]time.Time // AlertID key → expiry
	idOrder fifo[idEntry]
	windows map[[16]byte]*window
	wOrder  fifo[*window]
	pending []Alert // summaries to send
	closed  bool
	counts  SuppressCounts
	// writes counts the Writes between their decision and their
	// bookkeeping; idle, made by Close, is closed when it drops to 0.
	writes int
	idle   chan struct{}

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// idEntry is an AlertID key with the expiry it was remembered with, so a
// stale queue entry never removes a newer table entry.
type idEntry struct {
	key     [16]byte
	expires time.Time
}

type window struct {
	key     [16]byte
	expires time.Time // processing time
	count   int
	// refs counts the repeats Writes decided against this window and have
	// not counted yet; a window closed meanwhile (closing) queues its
	// summary when the last of them is counted, so none is lost.
	refs                int
	closing             bool
	firstSeen, lastSeen time.Time // event time; zero until an alert has one (see seen)
	// lastDetected is the latest DetectedAt of the counted repeats: the
	// summary's DetectedAt.
	lastDetected time.Time
	first        Alert // kept only with Summaries
}

// NewSuppressor returns a Suppressor in front of next:
//
//   - an alert whose AlertID was already delivered (within DedupTTL) is
//     dropped — the same event and indicator delivered twice yields one
//     alert;
//   - with a Window, an alert for a DeviceId × indicator × MatchedField
//     that was delivered less than Window ago is suppressed, and counted
//     for the window's summary (with Summaries).
//
// Suppressed alerts count as accepted: Write returns nil for them. An
// alert only counts as seen once next accepted it: if next fails, nothing
// of that Write is remembered, so its retry is not mistaken for a
// duplicate. Two concurrent Writes of the same new triple may both be
// delivered (never neither).
//
// Windows run on processing time (opt.Now), not event time: Defender
// delivers late and out of order, endpoint clocks drift, and a replay of
// old events would otherwise open and close windows in the past; the
// window's purpose — bounding how often a SOC is paged and how long state
// is kept — is about the wall clock. Summaries still report event times.
//
// NewSuppressor starts a background goroutine (sweeping expired windows
// and sending summaries through next, retrying until accepted) that Close
// stops. Negative durations and sizes mean their defaults.
func NewSuppressor(next Sink, opt SuppressOptions) *Suppressor {
	if opt.Window < 0 {
		opt.Window = 0
	}
	if opt.DedupTTL <= 0 {
		opt.DedupTTL = DefaultDedupTTL
	}
	if opt.MaxKeys <= 0 {
		opt.MaxKeys = DefaultSuppressKeys
	}
	if opt.SweepEvery <= 0 {
		opt.SweepEvery = time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Suppressor{
		next:    next,
		opt:     opt,
		ids:     make(map[[16]byte]time.Time),
		windows: make(map[[16]byte]*window),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go s.loop()
	return s
}

// idKey is the table key of an AlertID: its 16 bytes when it is
// NewAlertID's 32 hex digits, else a SHA-256 prefix of it.
func idKey(id string) [16]byte {
	var k [16]byte
	if len(id) == 32 {
		if _, err := hex.Decode(k[:], []byte(id)); err == nil {
			return k
		}
	}
	sum := sha256.Sum256([]byte(id))
	copy(k[:], sum[:16])
	return k
}

// windowKey is the table key of an alert's device (DeviceId, or
// DeviceName without one) × indicator × MatchedField.
func windowKey(a *Alert) [16]byte {
	h := sha256.New()
	var dev [128]byte
	h.Write(appendDevice(dev[:0], a.DeviceID, a.DeviceName))
	h.Write([]byte{0})
	for _, s := range [...]string{a.Indicator.Kind, a.Indicator.Value, a.MatchedField} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	var k [16]byte
	var sum [sha256.Size]byte
	copy(k[:], h.Sum(sum[:0]))
	return k
}

// decision is what Write decided for one alert of its batch.
type decision struct {
	id, win [16]byte
	w       *window // the open window a repeat was decided against
	// send: deliver; dup: drop as a duplicate; repeat: count in a window.
	kind uint8
}

const (
	send = iota
	dup
	repeat
)

// Write drops duplicates and repeats and writes the rest to next.
func (s *Suppressor) Write(ctx context.Context, alerts []Alert) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("suppressor: %w", err)
	}
	now := s.opt.Now()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("suppressor: %w", ErrClosed)
	}
	s.expire(now)
	s.writes++
	decisions := make([]decision, len(alerts))
	var out []Alert
	var batchIDs, batchWins map[[16]byte]bool
	if len(alerts) > 1 {
		batchIDs = make(map[[16]byte]bool, len(alerts))
		if s.opt.Window > 0 {
			batchWins = make(map[[16]byte]bool, len(alerts))
		}
	}
	for i := range alerts {
		a, d := &alerts[i], &decisions[i]
		d.id = idKey(a.AlertID)
		if _, ok := s.ids[d.id]; ok || batchIDs[d.id] {
			d.kind = dup
			continue
		}
		if batchIDs != nil {
			batchIDs[d.id] = true
		}
		if s.opt.Window > 0 {
			d.win = windowKey(a)
			if w := s.windows[d.win]; w != nil && now.Before(w.expires) {
				d.kind, d.w = repeat, w
				w.refs++
				continue
			}
			if batchWins[d.win] {
				d.kind = repeat // of an alert of this batch: its window opens below
				continue
			}
			if batchWins != nil {
				batchWins[d.win] = true
			}
		}
		d.kind = send
		if out == nil {
			out = make([]Alert, 0, len(alerts)-i)
		}
		out = append(out, *a)
	}
	s.mu.Unlock()

	if len(out) > 0 {
		if err := s.next.Write(ctx, out); err != nil {
			// Nothing remembered: a retry is not a duplicate.
			s.mu.Lock()
			defer s.mu.Unlock()
			defer s.writeDone()
			now = s.opt.Now()
			for i := range decisions {
				if w := decisions[i].w; w != nil {
					s.unref(w, now)
				}
			}
			return err
		}
	}

	now = s.opt.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	defer s.writeDone()
	// Deliveries first, so that the repeats of this batch find the
	// windows their first alert opens.
	for i := range alerts {
		d := &decisions[i]
		if d.kind != send {
			continue
		}
		s.remember(d.id, now)
		if s.opt.Window > 0 {
			if w := s.windows[d.win]; w == nil || !now.Before(w.expires) {
				s.open(d.win, &alerts[i], now)
			}
		}
	}
	for i := range alerts {
		d := &decisions[i]
		switch d.kind {
		case dup:
			s.counts.Duplicates++
		case repeat:
			s.counts.Repeats++
			s.remember(d.id, now)
			// A repeat of an open window counts in that window even if it
			// closed meanwhile (see window.refs). A repeat of this batch
			// counts in the window its first alert opened above — unless a
			// full table evicted it at once: then its count is lost.
			w := d.w
			if w == nil {
				w = s.windows[d.win]
			}
			if w != nil {
				w.count++
				w.seen(alerts[i].Timestamp)
				det := alerts[i].DetectedAt
				if det.IsZero() {
					det = now // counted now: the suppressor's own detection
				}
				if det.After(w.lastDetected) {
					w.lastDetected = det
				}
				if d.w != nil {
					s.unref(w, now)
				}
			}
		}
	}
	return nil
}

// seen widens w's FirstSeen..LastSeen to the event time ts. The zero
// time, an alert without a Timestamp, says nothing about when the activity
// happened and takes no part: it is before every time and would otherwise
// become FirstSeen. s.mu is held.
func (w *window) seen(ts time.Time) {
	if ts.IsZero() {
		return
	}
	if w.firstSeen.IsZero() || ts.Before(w.firstSeen) {
		w.firstSeen = ts
	}
	if ts.After(w.lastSeen) {
		w.lastSeen = ts
	}
}

// unref drops a Write's reference to w, taken when it decided a repeat
// against w, and sends the summary of a window that closed meanwhile once
// its last repeat is counted. s.mu is held.
func (s *Suppressor) unref(w *window, now time.Time) {
	w.refs--
	if w.refs == 0 && w.closing {
		s.closeWindow(w, now)
	}
}

// writeDone ends a Write for Close. s.mu is held.
func (s *Suppressor) writeDone() {
	s.writes--
	if s.writes == 0 && s.idle != nil {
		close(s.idle)
		s.idle = nil
	}
}

// remember records a delivered or suppressed AlertID. s.mu is held.
func (s *Suppressor) remember(k [16]byte, now time.Time) {
	if _, ok := s.ids[k]; ok {
		return
	}
	exp := now.Add(s.opt.DedupTTL)
	s.ids[k] = exp
	s.idOrder.push(idEntry{k, exp})
	for len(s.ids) > s.opt.MaxKeys {
		old, _ := s.idOrder.pop()
		if exp, ok := s.ids[old.key]; ok && exp.Equal(old.expires) {
			delete(s.ids, old.key)
			s.counts.Evicted++
		}
	}
}

// open starts a window for a's triple, closing an expired one first.
// s.mu is held.
func (s *Suppressor) open(k [16]byte, a *Alert, now time.Time) {
	if old := s.windows[k]; old != nil {
		s.closeWindow(old, now)
	}
	w := &window{key: k, expires: now.Add(s.opt.Window)}
	w.seen(a.Timestamp)
	if s.opt.Summaries {
		w.first = *a
	}
	s.windows[k] = w
	s.wOrder.push(w)
	for len(s.windows) > s.opt.MaxKeys {
		old, _ := s.wOrder.pop()
		if s.windows[old.key] == old {
			s.closeWindow(old, now)
			s.counts.Evicted++
		}
	}
}

// closeWindow removes w and queues its summary when it suppressed
// repeats — or, while Writes still have repeats of w to count, leaves that
// to the last of them (unref). s.mu is held.
func (s *Suppressor) closeWindow(w *window, now time.Time) {
	if s.windows[w.key] == w {
		delete(s.windows, w.key)
	}
	if w.refs > 0 {
		w.closing = true
		return
	}
	w.closing = false
	if w.count == 0 || !s.opt.Summaries {
		return
	}
	sum := w.first
	sum.RepeatCount, sum.FirstSeen, sum.LastSeen = w.count, w.firstSeen, w.lastSeen
	sum.DetectedAt = w.lastDetected
	sum.AlertID = summaryID(w.first.AlertID, w.count, w.lastSeen)
	w.count = 0
	s.pending = append(s.pending, sum)
}

// summaryID derives a summary's AlertID from its window's first alert.
func summaryID(first string, count int, last time.Time) string {
	return NewAlertID(first, "", int64(count), last, "summary", "")
}

// expire drops AlertIDs past their TTL and closes windows past their end.
// s.mu is held.
func (s *Suppressor) expire(now time.Time) {
	for {
		e, ok := s.idOrder.peek()
		if !ok || now.Before(e.expires) {
			break
		}
		s.idOrder.pop()
		if exp, ok := s.ids[e.key]; ok && exp.Equal(e.expires) {
			delete(s.ids, e.key)
		}
	}
	for {
		w, ok := s.wOrder.peek()
		if !ok {
			break
		}
		if s.windows[w.key] == w && now.Before(w.expires) {
			break
		}
		s.wOrder.pop()
		if s.windows[w.key] == w {
			s.closeWindow(w, now)
		}
	}
}

// loop sweeps and sends summaries every SweepEvery until Close.
func (s *Suppressor) loop() {
	defer close(s.done)
	t := time.NewTicker(s.opt.SweepEvery)
	defer t.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		<-s.stop
		cancel()
	}()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.sweep(ctx)
		}
	}
}

// sweep closes expired windows and tries once to send every pending
// summary; what fails stays pending for the next sweep.
func (s *Suppressor) sweep(ctx context.Context) {
	s.mu.Lock()
	s.expire(s.opt.Now())
	batch := s.pending
	s.pending = nil
	s.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	err := s.next.Write(ctx, batch)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.counts.SummaryFailures++
		s.pending = append(batch, s.pending...)
		return
	}
	s.counts.SummariesSent += uint64(len(batch))
}

// Counts returns the current counters.
func (s *Suppressor) Counts() SuppressCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.counts
	c.Keys, c.Windows, c.PendingSummaries = len(s.ids), len(s.windows), len(s.pending)
	return c
}

// Close refuses new Writes, waits for the Writes under way to finish (until
// ctx is done), stops the background loop, sends the summaries of every
// window that suppressed repeats (open windows included, so no count is
// lost at shutdown) in one last attempt bounded by ctx, and closes next. It
// is safe to call twice.
func (s *Suppressor) Close(ctx context.Context) error {
	first := false
	s.once.Do(func() { first = true })
	if !first {
		return nil
	}
	s.mu.Lock()
	s.closed = true
	var idle chan struct{}
	if s.writes > 0 {
		s.idle = make(chan struct{})
		idle = s.idle
	}
	s.mu.Unlock()
	if idle != nil {
		select {
		case <-idle:
		case <-ctx.Done():
		}
	}
	close(s.stop)
	<-s.done
	s.mu.Lock()
	now := s.opt.Now()
	for _, w := range s.windows {
		s.closeWindow(w, now)
	}
	batch := s.pending
	s.pending = nil
	s.mu.Unlock()
	var serr error
	if len(batch) > 0 {
		if serr = s.next.Write(ctx, batch); serr != nil {
			s.mu.Lock()
			s.counts.SummaryFailures++
			s.mu.Unlock()
			serr = fmt.Errorf("suppressor: %d summaries not sent at close: %w", len(batch), serr)
		} else {
			s.mu.Lock()
			s.counts.SummariesSent += uint64(len(batch))
			s.mu.Unlock()
		}
	}
	return errors.Join(serr, s.next.Close(ctx))
}

// Flush flushes next when it is a Flusher.
func (s *Suppressor) Flush(ctx context.Context) error { return flushInner(ctx, s.next) }

// fifo is a queue backed by a slice that compacts itself; the zero value
// is empty.
type fifo[T any] struct {
	items []T
	head  int
}

func (f *fifo[T]) push(v T) { f.items = append(f.items, v) }

func (f *fifo[T]) peek() (T, bool) {
	if f.head == len(f.items) {
		var zero T
		return zero, false
	}
	return f.items[f.head], true
}

func (f *fifo[T]) pop() (T, bool) {
	v, ok := f.peek()
	if !ok {
		return v, false
	}
	var zero T
	f.items[f.head] = zero
	f.head++
	if f.head == len(f.items) {
		f.items, f.head = f.items[:0], 0
	} else if f.head > 1024 && f.head*2 > len(f.items) {
		n := copy(f.items, f.items[f.head:])
		clear(f.items[n:])
		f.items, f.head = f.items[:n], 0
	}
	return v, true
}

// Unwrap returns the sink the suppressor writes to (for metrics and
// readiness checks that look through wrappers).
func (s *Suppressor) Unwrap() Sink { return s.next }
