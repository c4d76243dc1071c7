package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
)

// Rules is one immutable snapshot of what the pipeline matches with. A
// reload builds a new Rules beside the old one and swaps the pointer; batches
// in flight finish on the snapshot they started with.
type Rules struct {
	// Index holds the indicators. Required.
	Index *match.Index
	// Allow holds values that must never alert (your own domains, public
	// resolvers): a hit is dropped when the allow-list matches the same
	// field of the event. Nil: no allow-list.
	Allow *match.Index
	// Exclusions are applied to the hits that remain. Nil excludes nothing.
	Exclusions *match.Exclusions
}

// ErrMessageTooLarge is the dead-letter reason for a message over
// Options.MaxMessageBytes.
var ErrMessageTooLarge = errors.New("message larger than max_message_bytes")

// Options tune a Pipeline. The zero value is usable.
type Options struct {
	// Workers decode and match in parallel; default GOMAXPROCS.
	Workers int
	// InFlight caps the batches read but not yet acknowledged (back-pressure:
	// a slow sink stops the source); default 4 × Workers.
	InFlight int
	// MaxMessageBytes: larger messages are dead-lettered undecoded; 0 = 1 MiB
	// (the Event Hubs Standard limit), < 0 = no limit.
	MaxMessageBytes int
	// MaxRecordsPerMessage: the records of a message past this many are not
	// decoded; the message is dead-lettered with ErrTooManyRecords naming
	// the first record left out (the records before it are matched).
	// 0 = 100000, < 0 = no limit.
	MaxRecordsPerMessage int
	// Ordered delivers alerts to the sink in read order, from one goroutine
	// (replays, terminals). Otherwise each worker delivers its own batch's
	// alerts concurrently; acknowledgement is in read order either way.
	Ordered bool
	// DeadLetter receives undecodable messages; nil drops them (still counted).
	DeadLetter DeadLetterWriter
	// DeadLetterFailure says what a failing DeadLetter.Write (disk full)
	// does: DeadLetterStop (the zero value) or DeadLetterContinue.
	DeadLetterFailure DeadLetterFailure
	// DrainTimeout bounds how long in-flight batches may take to finish
	// after the context is cancelled; default 30s.
	DrainTimeout time.Duration
	// Now is the clock for detected_at, indicator expiry and exclusion expiry.
	Now func() time.Time
	// Log receives one line per state change, never one per event.
	Log *slog.Logger
	// OnExcluded, if set, is called for every hit an exclusion suppressed,
	// with the alert it would have been (for an audit sink). It must be fast
	// and safe for concurrent use; a is valid during the call only (copy
	// what you keep).
	OnExcluded func(rule *match.Rule, a *sink.Alert)
	// OnDecodeError, if set, is called for every undecodable message or
	// message with broken records, with its position and the error (for a
	// rate-limited log). It must be fast and safe for concurrent use.
	OnDecodeError func(position string, err error)
	// OnDelivered, if set, is called after a batch's alerts were accepted by
	// the sink, with the alerts and the time the batch was read.
	OnDelivered func(alerts []sink.Alert, readAt time.Time)
	// OnEvents, if set, is called by the worker goroutines with the watched
	// events of every message as decoded (for the retro-hunt
	// history). The events alias the batch buffers: copy what you keep.
	OnEvents func(events []Event)
	// OnAcked, if set, is called after each batch was acknowledged, from
	// one goroutine, in read order.
	OnAcked func(BatchReport)
	// OnHit, if set, is called by the worker goroutines for every indicator
	// hit, before the allow-list and exclusions (what Stats.Hits counts);
	// never for an event without hits. It must be fast and safe for
	// concurrent use.
	OnHit func(match.Hit)
}

// DeadLetterFailure is what the pipeline does when a dead-letter entry
// cannot be written. The zero value is DeadLetterStop.
type DeadLetterFailure uint8

const (
	// DeadLetterStop leaves the batch unacknowledged and makes Run return
	// the error: nothing is lost, the stream stops until the dead-letter
	// destination works again (the batch is read again after a restart).
	DeadLetterStop DeadLetterFailure = iota
	// DeadLetterContinue counts the message in Stats.DeadLetterFailures,
	// logs once when dead-lettering starts failing and once when it works
	// again, and acknowledges the message: its dead-letter entry — the raw
	// undecodable message — is lost. Its decodable records are still
	// matched and alerted.
	DeadLetterContinue
)

// ParseDeadLetterFailure maps the configuration's "stop" (or "") and
// "continue" to a DeadLetterFailure.
func ParseDeadLetterFailure(s string) (DeadLetterFailure, error) {
	switch s {
	case "", "stop":
		return DeadLetterStop, nil
	case "continue":
		return DeadLetterContinue, nil
	}
	return DeadLetterStop, fmt.Errorf("dead-letter failure policy %q: want stop or continue", s)
}

// BatchReport describes one acknowledged batch, for metrics.
type BatchReport struct {
	// ReadAt is when the source returned the batch; AckedAt when it was
	// acknowledged: AckedAt − ReadAt is the processing latency (read →
	// every sink accepted).
	ReadAt, AckedAt time.Time
	Messages        int
	Records         int // watched records
	Alerts          int
	// Oldest and Newest are the earliest and latest event Timestamp in the
	// batch (zero when it had no watched record): AckedAt − Newest is the
	// event lag.
	Oldest, Newest time.Time
	// First is the position of the batch's first message.
	First Position
}

// Stats counts what a Pipeline did. All fields are safe to read at any time.
type Stats struct {
	Batches      atomic.Int64 // batches read
	Acked        atomic.Int64 // batches acknowledged
	Messages     atomic.Int64 // messages read
	Records      atomic.Int64 // records decoded (every table)
	Watched      atomic.Int64 // records of watched tables
	Skipped      atomic.Int64 // records of other tables, counted and skipped
	DecodeErrors atomic.Int64 // broken records or messages
	DeadLettered atomic.Int64 // messages written to the dead-letter file
	Oversized    atomic.Int64 // messages over MaxMessageBytes (or cut short by their source)
	Hits         atomic.Int64 // indicator hits before allow-list and exclusions
	Allowed      atomic.Int64 // hits dropped by the allow-list
	Excluded     atomic.Int64 // hits suppressed by exclusions
	Alerts       atomic.Int64 // alerts accepted by the sink
	ByTable      [3]atomic.Int64

	// TooManyRecords counts messages cut at MaxRecordsPerMessage.
	TooManyRecords atomic.Int64
	// DeadLetterFailures counts messages whose dead-letter entry could not
	// be written and that were acknowledged anyway (DeadLetterContinue).
	DeadLetterFailures atomic.Int64

	excluded sync.Map // rule name → *atomic.Int64
	// firstDecodeError is the position and error of the first broken
	// record or message.
	firstDecodeError atomic.Pointer[string]
}

// FirstDecodeError returns the position and error of the first broken
// record or message ("" when none was), for a summary that shows what
// went wrong and not only how often.
func (s *Stats) FirstDecodeError() string {
	if e := s.firstDecodeError.Load(); e != nil {
		return *e
	}
	return ""
}

// ExcludedByRule returns how many hits each exclusion rule suppressed.
func (s *Stats) ExcludedByRule() map[string]int64 {
	out := map[string]int64{}
	s.excluded.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

func (s *Stats) countExcluded(rule string) {
	v, ok := s.excluded.Load(rule)
	if !ok {
		v, _ = s.excluded.LoadOrStore(rule, new(atomic.Int64))
	}
	v.(*atomic.Int64).Add(1)
}

// Pipeline reads batches from a Source, decodes them, matches every event
// against the current Rules, drops allow-listed and excluded hits, delivers
// the alerts to a Sink and acknowledges each batch — in read order — once
// its alerts and all earlier ones were accepted.
//
// # Acknowledgement
//
// A batch is acknowledged only after every alert it produced, and every
// alert of every batch read before it, was accepted by the sink, and after
// its undecodable messages were written to the dead-letter file. A sink that
// cannot accept stops acknowledgement and, once InFlight batches wait,
// reading: back-pressure, never loss.
//
// # Shutdown
//
// When the context passed to Run is cancelled the source stops being read,
// the batches in flight finish (within DrainTimeout) and are acknowledged,
// and Run returns nil. Run does not close the source or the sink.
type Pipeline struct {
	src   Source
	rules *atomic.Pointer[Rules]
	sink  sink.Sink
	opt   Options
	stats Stats

	dlFailing atomic.Bool // DeadLetterContinue: the last dead-letter write failed
	dlMu      sync.Mutex  // serialises the state-change log lines
}

// New returns a pipeline. rules must hold a snapshot before Run.
func New(src Source, rules *atomic.Pointer[Rules], snk sink.Sink, opt Options) *Pipeline {
	if opt.Workers <= 0 {
		opt.Workers = runtime.GOMAXPROCS(0)
	}
	if opt.InFlight <= 0 {
		opt.InFlight = 4 * opt.Workers
	}
	if opt.MaxMessageBytes == 0 {
		opt.MaxMessageBytes = 1 << 20
	}
	if opt.MaxRecordsPerMessage == 0 {
		opt.MaxRecordsPerMessage = 100000
	}
	if opt.DrainTimeout <= 0 {
		opt.DrainTimeout = 30 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &Pipeline{src: src, rules: rules, sink: snk, opt: opt}
}

// Stats returns the pipeline's live counters.
func (p *Pipeline) Stats() *Stats { return &p.stats }

type job struct {
	batch          Batch
	readAt         time.Time
	alerts         []sink.Alert
	records        int
	oldest, newest time.Time
	err            error
	done           chan struct{}
}

// Run processes batches until the source is exhausted (io.EOF), ctx is
// cancelled (both return nil once in-flight batches are done), or a batch
// cannot be delivered or dead-lettered (the error; nothing after it is
// acknowledged).
func (p *Pipeline) Run(ctx context.Context) error {
	if p.rules.Load() == nil || p.rules.Load().Index == nil {
		return errors.New("pipeline: no indicator index loaded")
	}
	// workCtx outlives ctx by DrainTimeout so that in-flight batches finish.
	workCtx, cancelWork := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancelWork(nil)
	stopDrain := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(p.opt.DrainTimeout, func() {
			// A cancellation still: callers tell a shutdown from a
			// failure with errors.Is(err, context.Canceled).
			cancelWork(fmt.Errorf("pipeline: in-flight batches not done %s after shutdown began: %w", p.opt.DrainTimeout, context.Canceled))
		})
		context.AfterFunc(workCtx, func() { t.Stop() })
	})
	defer stopDrain()
	readCtx, stopReading := context.WithCancel(ctx)
	defer stopReading()

	jobs := make(chan *job, p.opt.InFlight)
	order := make(chan *job, p.opt.InFlight)
	// A slot is taken before each Read and given back once the batch is
	// done with: at most InFlight batches are read and not yet acknowledged
	// (the channels alone let the reader and the acknowledging loop hold
	// one more each).
	slots := make(chan struct{}, p.opt.InFlight)
	var readErr error
	go func() {
		defer close(jobs)
		defer close(order)
		for {
			select {
			case slots <- struct{}{}:
			case <-readCtx.Done():
				return
			}
			b, err := p.src.Read(readCtx)
			if err != nil {
				if !errors.Is(err, io.EOF) && readCtx.Err() == nil {
					readErr = err
				}
				return
			}
			p.stats.Batches.Add(1)
			j := &job{batch: b, readAt: time.Now(), done: make(chan struct{})}
			select {
			case order <- j:
			case <-workCtx.Done():
				release(b)
				return
			}
			jobs <- j
		}
	}()

	var wg sync.WaitGroup
	for range p.opt.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w := worker{p: p}
			// Columns only alerts read wait for a hit (decode_defer.go).
			w.dec.deferColumns = true
			for j := range jobs {
				if workCtx.Err() == nil {
					j.err = w.process(workCtx, j)
					if j.err != nil {
						// process stopped part way: forget the failed
						// batch's decoding, or the next batch counts it.
						w.dec.Reset()
					}
					if j.err == nil && !p.opt.Ordered {
						j.err = p.deliver(workCtx, j)
					}
				} else {
					j.err = context.Cause(workCtx)
				}
				close(j.done)
			}
		}()
	}

	var runErr error
	for j := range order {
		<-j.done
		if runErr == nil && j.err == nil && p.opt.Ordered {
			j.err = p.deliver(workCtx, j)
		}
		if runErr == nil && j.err != nil {
			runErr = j.err
			cancelWork(runErr)
			stopReading()
		}
		if runErr == nil && j.batch.Ack != nil {
			if err := j.batch.Ack(workCtx); err != nil {
				runErr = fmt.Errorf("pipeline: acknowledge: %w", err)
				cancelWork(runErr)
				stopReading()
			}
		}
		if runErr == nil {
			p.stats.Acked.Add(1)
			if p.opt.OnAcked != nil {
				r := BatchReport{ReadAt: j.readAt, AckedAt: time.Now(), Messages: len(j.batch.Messages), Records: j.records,
					Alerts: len(j.alerts), Oldest: j.oldest, Newest: j.newest}
				if len(j.batch.Messages) > 0 {
					r.First = j.batch.Messages[0].Position
				}
				p.opt.OnAcked(r)
			}
		}
		release(j.batch)
		<-slots
	}
	wg.Wait()
	if runErr != nil {
		return runErr
	}
	if readErr != nil {
		return fmt.Errorf("pipeline: read: %w", readErr)
	}
	return nil
}

func release(b Batch) {
	if b.Release != nil {
		b.Release()
	}
}

func (p *Pipeline) deliver(ctx context.Context, j *job) error {
	if len(j.alerts) == 0 {
		return nil
	}
	if err := p.sink.Write(ctx, j.alerts); err != nil {
		pos := j.batch.Messages[0].Position
		return fmt.Errorf("pipeline: deliver %d alerts of the batch at %s: %w", len(j.alerts), pos, err)
	}
	p.stats.Alerts.Add(int64(len(j.alerts)))
	if p.opt.OnDelivered != nil {
		p.opt.OnDelivered(j.alerts, j.readAt)
	}
	return nil
}

// worker holds one goroutine's reusable state.
type worker struct {
	p      *Pipeline
	dec    Decoder
	events []Event // the batch's, all decoded before any is matched
	hits   []match.Hit
	allow  []match.Hit
	host   []byte
	// alertHint is how many alerts the worker's last batch had: the room
	// the next batch's slice of alerts starts with.
	alertHint int
}

// maxAlertHint caps the room a batch's slice of alerts starts with.
const maxAlertHint = 4096

// process decodes and matches one batch and sets its alerts. Its error
// means a dead-letter entry could not be written.
func (w *worker) process(ctx context.Context, j *job) error {
	p := w.p
	b := j.batch
	rules := p.rules.Load()
	now := p.opt.Now().UTC()
	var alerts []sink.Alert // the batch's: allocated at its first alert
	var records, watched, hits, allowed, excluded int64
	// First every message is decoded, its events appended to w.events.
	w.events = w.events[:0]
	for mi := range b.Messages {
		m := &b.Messages[mi]
		if m.Err != nil {
			if errors.Is(m.Err, ErrMessageTooLarge) {
				p.stats.Oversized.Add(1) // a source cut it short (FileOptions.MaxLineBytes)
			}
			if err := p.deadLetter(ctx, m, -1, m.Err); err != nil {
				return err
			}
			continue
		}
		if p.opt.MaxMessageBytes > 0 && len(m.Value) > p.opt.MaxMessageBytes {
			p.stats.Oversized.Add(1)
			if err := p.deadLetter(ctx, m, -1, fmt.Errorf("%w (%d > %d bytes)", ErrMessageTooLarge, len(m.Value), p.opt.MaxMessageBytes)); err != nil {
				return err
			}
			continue
		}
		var errs []RecordError
		w.dec.MaxRecords = p.opt.MaxRecordsPerMessage
		first := len(w.events)
		w.events, errs = w.dec.Decode(m.Value, w.events)
		if len(errs) > 0 {
			cut := tooManyAt(errs)
			if cut >= 0 {
				p.stats.TooManyRecords.Add(1)
			}
			if err := p.deadLetter(ctx, m, errs[0].Record, joinRecordErrors(errs, cut)); err != nil {
				return err
			}
		}
		if n := len(w.events); n > first {
			// Records of a message are close in time: its first and last
			// bound the batch's event times well enough for the lag metric.
			for _, t := range [2]time.Time{w.events[first].Timestamp, w.events[n-1].Timestamp} {
				if !t.IsZero() && (j.oldest.IsZero() || t.Before(j.oldest)) {
					j.oldest = t
				}
				if t.After(j.newest) {
					j.newest = t
				}
			}
		}
		if p.opt.OnEvents != nil && len(w.events) > first {
			for ei := first; ei < len(w.events); ei++ {
				w.dec.complete(&w.events[ei])
			}
			p.opt.OnEvents(w.events[first:])
		}
	}
	// Then the batch's events are matched, one tight loop over the index:
	// decoding streams the messages' bytes through the caches, matching
	// between two messages found the index's lines cold.
	watched = int64(len(w.events))
	for ei := range w.events {
		e := &w.events[ei]
		w.hits = rules.Index.Match(match.Query{RemoteIP: e.RemoteIP, RemoteURL: e.RemoteURL, At: now}, w.hits[:0])
		if len(w.hits) == 0 {
			continue
		}
		w.dec.complete(e)
		hits += int64(len(w.hits))
		if p.opt.OnHit != nil {
			for _, h := range w.hits {
				p.opt.OnHit(h)
			}
		}
		if rules.Allow != nil {
			before := len(w.hits)
			w.hits = w.dropAllowed(rules.Allow, e, now)
			allowed += int64(before - len(w.hits))
		}
		var subj *match.Subject
		for _, h := range w.hits {
			if alerts == nil {
				alerts = make([]sink.Alert, 0, max(w.alertHint, 4))
			}
			// The alert is built in its slot of the batch's slice:
			// copying an Alert (some 25 pointers) costs write
			// barriers while the collector marks.
			alerts = append(alerts, sink.Alert{})
			a := &alerts[len(alerts)-1]
			fillAlert(a, e, h, now)
			if rules.Exclusions != nil {
				if subj == nil {
					subj = SubjectOf(e)
				}
				if rule := rules.Exclusions.Match(subj, h, now); rule != nil {
					excluded++
					p.stats.countExcluded(rule.Name)
					if p.opt.OnExcluded != nil {
						p.opt.OnExcluded(rule, a)
					}
					*a = sink.Alert{}
					alerts = alerts[:len(alerts)-1]
					continue
				}
			}
		}
	}
	st := w.dec.Stats()
	w.dec.Reset()
	records = st.Records
	p.stats.Messages.Add(int64(len(b.Messages)))
	p.stats.Records.Add(records)
	p.stats.Watched.Add(watched)
	p.stats.Skipped.Add(st.Skipped)
	for i := range st.ByTable {
		if st.ByTable[i] != 0 {
			p.stats.ByTable[i].Add(st.ByTable[i])
		}
	}
	if hits != 0 {
		p.stats.Hits.Add(hits)
		p.stats.Allowed.Add(allowed)
		p.stats.Excluded.Add(excluded)
	}
	// The next batch's slice is sized for as many alerts as this one had.
	j.alerts, j.records = alerts, int(watched)
	w.alertHint = min(len(alerts), maxAlertHint)
	return nil
}

// dropAllowed removes the hits on fields that the allow-list matches.
func (w *worker) dropAllowed(allow *match.Index, e *Event, now time.Time) []match.Hit {
	w.allow = allow.Match(match.Query{RemoteIP: e.RemoteIP, RemoteURL: e.RemoteURL, At: now}, w.allow[:0])
	if len(w.allow) == 0 {
		return w.hits
	}
	kept := w.hits[:0]
	for _, h := range w.hits {
		allowed := false
		for _, a := range w.allow {
			if a.Field == h.Field {
				allowed = true
				break
			}
		}
		if !allowed {
			kept = append(kept, h)
		}
	}
	return kept
}

func (p *Pipeline) deadLetter(ctx context.Context, m *Message, record int, cause error) error {
	p.stats.DecodeErrors.Add(1)
	if p.stats.firstDecodeError.Load() == nil {
		e := fmt.Sprintf("%s: %v", m.Position, cause)
		p.stats.firstDecodeError.CompareAndSwap(nil, &e)
	}
	if p.opt.OnDecodeError != nil {
		p.opt.OnDecodeError(m.Position.String(), cause)
	}
	if p.opt.DeadLetter == nil {
		return nil
	}
	if err := p.opt.DeadLetter.Write(ctx, *m, record, fmt.Errorf("%s: %w", m.Position, cause)); err != nil {
		if p.opt.DeadLetterFailure != DeadLetterContinue || ctx.Err() != nil {
			return fmt.Errorf("pipeline: dead-letter %s: %w", m.Position, err)
		}
		p.stats.DeadLetterFailures.Add(1)
		if !p.dlFailing.Load() {
			p.dlMu.Lock()
			if !p.dlFailing.Swap(true) {
				p.opt.Log.Error("dead-letter writes fail; continuing: undecodable messages are acknowledged without their dead-letter entry (pipeline.dead_letter_failure: continue)",
					"position", m.Position.String(), "err", err)
			}
			p.dlMu.Unlock()
		}
		return nil
	}
	p.stats.DeadLettered.Add(1)
	if p.dlFailing.Load() {
		p.dlMu.Lock()
		if p.dlFailing.Swap(false) {
			p.opt.Log.Info("dead-letter writes work again", "lost_so_far", p.stats.DeadLetterFailures.Load())
		}
		p.dlMu.Unlock()
	}
	return nil
}

// tooManyAt returns the index in errs of the error saying the message was
// cut at MaxRecordsPerMessage, or -1. It is not always the last: a message
// error of an enclosing "body" wrapper (junk after it) can follow it.
func tooManyAt(errs []RecordError) int {
	for i := len(errs) - 1; i >= 0; i-- {
		if errors.Is(errs[i].Err, ErrTooManyRecords) {
			return i
		}
	}
	return -1
}

// joinRecordErrors joins errs into one error, the first five and, when the
// message was cut short, the reason (errs[cut]; cut < 0: it was not).
func joinRecordErrors(errs []RecordError, cut int) error {
	if len(errs) == 1 {
		return errs[0]
	}
	var b strings.Builder
	for i, e := range errs {
		if i == 5 {
			if cut >= 5 {
				// The reason the message was cut short is always shown.
				fmt.Fprintf(&b, "; and %d more; %s", len(errs)-6, errs[cut].Error())
				break
			}
			fmt.Fprintf(&b, "; and %d more", len(errs)-5)
			break
		}
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(e.Error())
	}
	return errors.New(b.String())
}

// SubjectOf gives the exclusion rules their view of an event: the live
// pipeline's, and the retro-hunt's of a recorded observation.
func SubjectOf(e *Event) *match.Subject {
	host, _ := match.NormalizeHost(e.RemoteURL)
	return &match.Subject{
		Table:         e.Table.String(),
		ActionType:    e.ActionType,
		DeviceName:    e.DeviceName,
		DeviceGroup:   e.MachineGroup,
		Account:       e.AccountName,
		AccountDomain: e.AccountDomain,
		ProcessName:   e.ProcessFileName,
		ProcessPath:   e.ProcessFolderPath,
		ProcessSHA256: e.ProcessSHA256,
		RemoteIP:      e.RemoteIP,
		RemoteHost:    host,
		RemotePort:    e.RemotePort,
		Time:          e.Timestamp,
	}
}

// NewAlert builds the alert for hit h on event e. Every string is copied:
// the alert outlives the event's buffer.
func NewAlert(e *Event, h match.Hit, detectedAt time.Time) sink.Alert {
	var a sink.Alert
	fillAlert(&a, e, h, detectedAt)
	return a
}

// fillAlert sets the fields of the zero Alert *a to the alert for hit h on
// event e (see NewAlert).
func fillAlert(a *sink.Alert, e *Event, h match.Hit, now time.Time) {
	ind := h.Indicator
	fileName := e.AlertFileName()
	// The event's strings point into the message, which the source reuses:
	// copy them, all into one allocation.
	t := alertText{b: make([]byte, 0, len(e.DeviceID)+len(e.DeviceName)+len(e.ActionType)+len(fileName)+
		len(e.ProcessFolderPath)+len(e.ProcessCommandLine)+len(e.ProcessSHA256)+len(e.AccountName)+
		len(e.RemoteURL)+len(e.TenantID)+len(e.MachineGroup)+2*len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")+32)}
	// Field by field, not a composite literal: a literal is built aside
	// and copied into *a whole.
	a.DetectedAt = now
	a.Timestamp = e.Timestamp
	a.Table = e.Table.String()
	a.DeviceID = t.str(e.DeviceID)
	a.DeviceName = t.str(e.DeviceName)
	a.ActionType = t.str(e.ActionType)
	a.FileName = t.str(fileName)
	a.FolderPath = t.str(e.ProcessFolderPath)
	a.CommandLine = t.str(e.ProcessCommandLine)
	a.SHA256 = t.str(e.ProcessSHA256)
	a.AccountName = t.str(e.AccountName)
	a.RemoteIP = t.addr(e.RemoteIP)
	a.RemotePort = int(e.RemotePort)
	a.RemoteURL = t.str(e.RemoteURL)
	a.LocalIP = t.addr(e.LocalIP)
	a.ReportID = e.ReportID
	a.TenantID = t.str(e.TenantID)
	a.MachineGroup = t.str(e.MachineGroup)
	a.MatchedField = h.Field.String()
	a.Indicator.Kind = ind.Kind.String()
	a.Indicator.Value = ind.Value
	a.Indicator.Source = ind.Meta.Source
	a.Indicator.Severity = ind.Meta.Severity
	a.Indicator.Confidence = ind.Meta.Confidence
	a.Indicator.Tags = ind.Meta.Tags
	a.Indicator.Description = ind.Meta.Description
	a.Indicator.Reference = ind.Meta.Reference
	switch h.Field {
	case match.FieldRemoteIP:
		a.MatchedValue = a.RemoteIP
	case match.FieldRemoteURLHost:
		host, _ := match.NormalizeHost(e.RemoteURL)
		a.MatchedValue = host
	default:
		a.MatchedValue = a.RemoteURL
	}
	at := len(t.b)
	t.b = sink.AppendAlertID(t.b, a.DeviceID, a.DeviceName, a.ReportID, a.Timestamp, a.Indicator.Kind, a.Indicator.Value)
	a.AlertID = unsafe.String(&t.b[at], len(t.b)-at)
}

// alertText copies the strings of one alert into one allocation. A string
// it returns is never written again (should b grow, the earlier strings
// keep the old array).
type alertText struct{ b []byte }

func (t *alertText) str(s string) string {
	if s == "" {
		return ""
	}
	at := len(t.b)
	t.b = append(t.b, s...)
	return unsafe.String(&t.b[at], len(s))
}

// addr returns a's text, "" for the zero Addr.
func (t *alertText) addr(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	at := len(t.b)
	t.b = a.AppendTo(t.b)
	return unsafe.String(&t.b[at], len(t.b)-at)
}
