package history

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"runtime"
	"time"

	"github.com/iocwatch/iocwatch/internal/cputime"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

// ErrReadOnly is returned by Hunt on a History opened with ReadOnly.
var ErrReadOnly = errors.New("history: opened read-only")

// ErrClosed is returned by Hunt after Close.
var ErrClosed = errors.New("history: closed")

// ErrNoHistory is what Open read-only says of a directory that holds no
// history (a mistyped path).
var ErrNoHistory = errors.New("holds no iocwatch history")

// Query selects observations for Scan. The zero value selects nothing
// (Index is required).
type Query struct {
	// Index holds the indicators; an observation is reported with the hits
	// Index.Match gives it, exactly as the pipeline would match the event.
	Index *match.Index
	// Since and Until bound the event Timestamp: Since ≤ Timestamp < Until.
	// A zero bound is open; with a bound, observations without a Timestamp
	// are left out.
	Since, Until time.Time
	// At drops indicators not active at At (match.Query.At); zero keeps all.
	At time.Time
}

// ScanStats counts what a Scan or Hunt read. The zero value is an empty
// scan.
type ScanStats struct {
	Segments int // segments considered
	// Skipped are segments left unread: outside the time bounds, or none
	// of whose distinct remote values (kept in the segment's index) match.
	Skipped      int
	Read         int    // segments decoded
	Observations uint64 // observations decoded
	Matched      uint64 // observations with at least one hit
	// DamagedBlocks counts the stretches of segments read that do not
	// parse (one damaged block, or several in a row, each), passed over
	// to the next block that parses: their observations are lost.
	// DamagedBytes is their size. Each segment with damage is also
	// logged by name.
	DamagedBlocks int
	DamagedBytes  int64
	// LostMatches are observations that match but whose device, process,
	// account or action a damaged block held: they are counted, not
	// reported.
	LostMatches uint64
}

// add adds o's counts to s.
func (s *ScanStats) add(o ScanStats) {
	s.Segments += o.Segments
	s.Skipped += o.Skipped
	s.Read += o.Read
	s.Observations += o.Observations
	s.Matched += o.Matched
	s.DamagedBlocks += o.DamagedBlocks
	s.DamagedBytes += o.DamagedBytes
	s.LostMatches += o.LostMatches
}

// readState is the reusable memory of scans (guarded by huntMu).
type readState struct {
	dec     decoder
	log     []byte
	idx     []byte
	candIP  []bool
	candURL []bool
	hits    []match.Hit
}

// Scan calls fn, oldest segment first, for every recorded observation in
// q's time bounds that q.Index matches, with its hits. The observation and
// hits are valid only during the call. An error from fn stops the scan and
// is returned. Scans and hunts of one History run one at a time; Scan does
// not pace itself. It reads what is on disk: call Flush first to include
// the last second's observations.
func (h *History) Scan(ctx context.Context, q Query, fn func(o *Observation, hits []match.Hit) error) (ScanStats, error) {
	h.huntMu.Lock()
	defer h.huntMu.Unlock()
	return h.scan(ctx, q, nil, fn)
}

func (h *History) scan(ctx context.Context, q Query, p *pacer, fn func(*Observation, []match.Hit) error) (ScanStats, error) {
	var st ScanStats
	if q.Index == nil || q.Index.Len() == 0 {
		return st, nil
	}
	segs, act, err := h.snapshot()
	if err != nil {
		return st, err
	}
	if act != nil {
		segs = append(segs, *act)
	}
	for i := range segs {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		if err := h.scanSegment(ctx, &segs[i], &q, p, fn, &st); err != nil {
			return st, err
		}
	}
	return st, nil
}

// overlaps reports whether a segment or block with event times [lo, hi]
// (has: any at all) may hold observations within q's bounds.
func (q *Query) overlaps(lo, hi int64, has bool) bool {
	if q.Since.IsZero() && q.Until.IsZero() {
		return true
	}
	if !has {
		return false
	}
	if !q.Since.IsZero() && hi < q.Since.UnixNano() {
		return false
	}
	if !q.Until.IsZero() && lo >= q.Until.UnixNano() {
		return false
	}
	return true
}

func (q *Query) within(t time.Time) bool {
	if !q.Since.IsZero() && (t.IsZero() || t.Before(q.Since)) {
		return false
	}
	if !q.Until.IsZero() && (t.IsZero() || !t.Before(q.Until)) {
		return false
	}
	return true
}

func (h *History) scanSegment(ctx context.Context, m *segMeta, q *Query, p *pacer, fn func(*Observation, []match.Hit) error, st *ScanStats) error {
	st.Segments++
	if !q.overlaps(m.minTs, m.maxTs, m.hasTime) {
		st.Skipped++
		return nil
	}
	rs := &h.rd
	path := m.logPath(h.dir)
	data, err := readFilePaced(ctx, path, rs.log, m.logSize, p)
	rs.log = data
	if isNotExist(err) {
		return nil // dropped by the bounds meanwhile
	}
	if err != nil {
		return err
	}
	d := &rs.dec
	if err := d.begin(data, path); err != nil {
		h.opt.Log.Warn("history: segment unreadable; skipped", "err", err)
		st.Skipped++
		return nil
	}
	read := false
	var o Observation
	var tail error
	lost := uint64(0)
	for bi := 0; ; bi++ {
		b, err := d.next()
		if b == nil {
			tail = err
			break
		}
		if !q.overlaps(b.minTs, b.maxTs, b.hasTime) {
			continue
		}
		// The block's distinct remote values first: its records are
		// decoded only when one of them matches.
		ips, urls := d.ips[b.ipBase:b.ipEnd], d.urls[b.urlBase:b.urlEnd]
		any, err := rs.prefilter(ctx, q, p, ips, len(urls), func(i int) string { return d.s(urls[i]) })
		h.matchedValues.Add(uint64(len(ips) + len(urls)))
		if err != nil {
			return err
		}
		if any {
			read = true
			c := d.cursor(b)
			h.scanned.Add(uint64(b.n))
			for c.next(&o) {
				st.Observations++
				if !(c.ipID >= 0 && rs.candIP[c.ipID-b.ipBase] || c.urlID >= 0 && rs.candURL[c.urlID-b.urlBase]) {
					continue
				}
				if !q.within(o.Timestamp) {
					continue
				}
				rs.hits = q.Index.Match(o.query(q.At), rs.hits[:0])
				if len(rs.hits) == 0 {
					continue
				}
				if c.lost {
					lost++ // who it was is in a damaged block
					continue
				}
				st.Matched++
				if err := fn(&o, rs.hits); err != nil {
					return err
				}
			}
			if c.r.err != "" {
				h.opt.Log.Warn("history: damaged records skipped", "segment", path, "block", bi, "err", c.r.err)
			}
		}
		if err := p.yield(ctx); err != nil {
			return err
		}
	}
	// A sealed segment's tail that does not parse is damage too; the live
	// segment's may be a block being written.
	damaged, bytes, first := d.damaged, d.damagedBytes, d.firstDamage
	if tail != nil && m.sealed {
		damaged++
		bytes += len(data) - d.off
		if first == nil {
			first = tail
		}
	}
	if damaged > 0 {
		st.DamagedBlocks += damaged
		st.DamagedBytes += int64(bytes)
		st.LostMatches += lost
		h.opt.Log.Warn("history: segment damaged; what does not parse is passed over, the rest read", "segment", path,
			"damaged_stretches", damaged, "damaged_bytes", bytes, "matches_lost", lost, "err", first)
	}
	if read {
		st.Read++
	} else {
		st.Skipped++
	}
	return nil
}

// readFilePaced reads at most limit bytes of path into buf (reused), a
// MiB at a time, yielding between reads.
func readFilePaced(ctx context.Context, path string, buf []byte, limit int64, p *pacer) ([]byte, error) {
	f, err := openFile(path)
	if err != nil {
		return buf, fmt.Errorf("history: read segment: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return buf, fmt.Errorf("history: read segment: %w", err)
	}
	n := min(fi.Size(), limit)
	if int64(cap(buf)) < n {
		buf = make([]byte, n)
	}
	buf = buf[:n]
	for off := 0; off < len(buf); {
		m, err := f.Read(buf[off:min(off+1<<20, len(buf))])
		off += m
		if errors.Is(err, io.EOF) {
			return buf[:off], nil // truncated meanwhile: what was read is all there is
		}
		if err != nil {
			return buf, fmt.Errorf("history: read segment: %w", err)
		}
		if err := p.yield(ctx); err != nil {
			return buf, err
		}
	}
	return buf, nil
}

// prefilter matches each distinct remote value of a segment against the
// index and marks the candidates. It reports whether any value matched.
func (rs *readState) prefilter(ctx context.Context, q *Query, p *pacer, ips []netip.Addr, nURL int, url func(int) string) (bool, error) {
	rs.candIP = resetBools(rs.candIP, len(ips))
	rs.candURL = resetBools(rs.candURL, nURL)
	any := false
	for i, a := range ips {
		rs.hits = q.Index.Match(match.Query{RemoteIP: a, At: q.At}, rs.hits[:0])
		if len(rs.hits) > 0 {
			rs.candIP[i], any = true, true
		}
		if i&1023 == 1023 {
			if err := p.yield(ctx); err != nil {
				return false, err
			}
		}
	}
	for i := range nURL {
		rs.hits = q.Index.Match(match.Query{RemoteURL: url(i), At: q.At}, rs.hits[:0])
		if len(rs.hits) > 0 {
			rs.candURL[i], any = true, true
		}
		if i&1023 == 1023 {
			if err := p.yield(ctx); err != nil {
				return false, err
			}
		}
	}
	return any, nil
}

func resetBools(b []bool, n int) []bool {
	if cap(b) < n {
		return make([]bool, n)
	}
	b = b[:n]
	clear(b)
	return b
}

// pacer keeps a hunt within a share of one core while live observations
// arrive: after each stretch of at least a millisecond of CPU time it
// sleeps long enough that work/(work+sleep) = cpu. Work is the CPU time of
// the hunting thread (the hunt locks its goroutine to it), so that time
// spent waiting for a core the pipeline holds is not counted as work; where
// that clock is missing, wall time. A nil pacer only checks ctx.
type pacer struct {
	h       *History
	cpu     float64
	start   time.Duration
	lastRec uint64
	slept   time.Duration
}

func (h *History) newPacer() *pacer {
	return &pacer{h: h, cpu: h.opt.HuntCPU, start: workClock(), lastRec: h.recordedCount()}
}

// workClock is the hunting thread's CPU time, or the wall clock.
func workClock() time.Duration {
	if t := cputime.Thread(); t > 0 {
		return t
	}
	return time.Duration(time.Now().UnixNano())
}

func (h *History) recordedCount() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.recorded
}

func (p *pacer) yield(ctx context.Context) error {
	if p == nil {
		return ctx.Err()
	}
	runtime.Gosched()
	work := workClock() - p.start
	if p.cpu >= 1 || work < time.Millisecond {
		return ctx.Err()
	}
	if rec := p.h.recordedCount(); rec != p.lastRec {
		p.lastRec = rec
		d := time.Duration(float64(work) * (1 - p.cpu) / p.cpu)
		t := time.NewTimer(d)
		select {
		case <-t.C:
			p.slept += d
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	p.start = workClock()
	return ctx.Err()
}

// HuntReport says what one Hunt did. The zero value is a hunt of nothing.
type HuntReport struct {
	// Indicators were hunted; Known were skipped because their value was
	// already present before (a restart re-adds every indicator).
	Indicators, Known int
	ScanStats
	Hits     int // hits before the allow-list and exclusions
	Allowed  int // hits dropped by the allow-list
	Excluded int // hits suppressed by exclusions
	// ExcludedByRule counts Excluded per exclusion rule name.
	ExcludedByRule map[string]int
	Alerts         int // retro alerts emitted
	// Truncated are hits past Options.MaxRetroAlerts, not emitted.
	Truncated int
	Duration  time.Duration // wall time, pauses included
	Paused    time.Duration // time slept to leave the CPU to live traffic
}

// emitBatch is how many retro alerts go to emit at once.
const emitBatch = 256

// maxPatternsPerPass bounds the patterns of one pass's index (each costs
// about 62 KiB in the Aho-Corasick automaton); more take several passes.
const maxPatternsPerPass = 512

// Hunt re-checks the history against the indicators added by a reload.
//
// Only added indicators whose value (kind and canonical value) was not
// already present are hunted: a value the history has seen in an earlier
// Hunt is skipped, so the reload after a restart, which adds every
// indicator, hunts only the new ones. (The first Hunt on a history written
// before this bookkeeping existed only learns the values.) A small
// match.Index of the new indicators is matched against every recorded
// observation, as the pipeline matches a live event (indicators not active
// now are left out). rules gives the current allow-list and exclusions
// (either may be nil): an exclusion's expiry is judged at each
// observation's time (match.Exclusions.AtEventTime), and an account
// written DOMAIN\name never matches, since the account domain is not kept
// (logged once per rule). Hits they drop are counted, the others become
// alerts marked Retro, with Timestamp the observation's time, DetectedAt
// now and IndicatorAddedAt the time of the call, and go to emit in batches
// (in observation order, oldest first) — emit should be the normal sink
// stack, so that suppression gives one alert per device × indicator.
//
// Hunt paces itself (Options.HuntCPU) while live observations arrive. It
// returns emit's first error (the indicators are then not marked as
// hunted, so a later Hunt retries them), or ctx's. Hunts run one at a
// time; Hunt is safe for concurrent use.
func (h *History) Hunt(ctx context.Context, added []*match.Indicator, rules func() (allow *match.Index, excl *match.Exclusions), emit func([]sink.Alert) error) (HuntReport, error) {
	now := h.opt.Now()
	return h.hunt(ctx, added, func(match.Indicator) time.Time { return now }, rules, emit)
}

func (h *History) hunt(ctx context.Context, added []*match.Indicator, addedAt func(match.Indicator) time.Time, rules func() (*match.Index, *match.Exclusions), emit func([]sink.Alert) error) (HuntReport, error) {
	var rep HuntReport
	if h.opt.ReadOnly {
		return rep, ErrReadOnly
	}
	started := time.Now()
	h.huntMu.Lock()
	defer h.huntMu.Unlock()
	// The pacer measures this thread's CPU time.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h.mu.Lock()
	closed := h.closed
	h.mu.Unlock()
	if closed {
		return rep, ErrClosed
	}
	if h.noKnown {
		// Which of these were present before is unknown: hunting them all
		// would re-alert what was alerted live. Learn them instead.
		h.known = h.known.union(added)
		h.noKnown = false
		rep.Known = len(added)
		h.opt.Log.Warn("history: no record of the indicators already hunted; learning the current ones without hunting them", "indicators", len(added))
		return rep, h.known.save(h.dir)
	}
	var fresh []*match.Indicator
	for _, ind := range added {
		if ind != nil && !h.known.has(indicatorKey(ind)) {
			fresh = append(fresh, ind)
		}
	}
	rep.Known = len(added) - len(fresh)
	rep.Indicators = len(fresh)
	if len(fresh) == 0 {
		return rep, nil
	}
	if err := h.Flush(ctx); err != nil {
		return rep, err
	}
	if segs, act, _ := h.snapshot(); len(segs) == 0 && act == nil { // a writer's: never fails
		// Nothing recorded yet (the first start): nothing to hunt, and no
		// index of every indicator to build for it.
		h.known = h.known.union(fresh)
		return rep, h.known.save(h.dir)
	}
	var allow *match.Index
	var excl *match.Exclusions
	if rules != nil {
		allow, excl = rules()
	}
	// A rule applies to the traffic from before its expiry, even when it
	// has expired since: "until D this is benign".
	excl = excl.AtEventTime()
	h.warnDomainAccounts(excl)
	now := h.opt.Now()
	p := h.newPacer()
	var (
		alerts    []sink.Alert
		allowHits []match.Hit
		emitErr   error
	)
	flush := func() error {
		if len(alerts) == 0 {
			return nil
		}
		if err := emit(alerts); err != nil {
			return fmt.Errorf("history: emit %d retro alerts: %w", len(alerts), err)
		}
		rep.Alerts += len(alerts)
		alerts = nil // a sink may keep the slice it was given
		return nil
	}
	fn := func(o *Observation, hits []match.Hit) error {
		rep.Hits += len(hits)
		if allow != nil {
			allowHits = allow.Match(o.query(now), allowHits[:0])
			if len(allowHits) > 0 {
				kept := hits[:0]
				for _, ht := range hits {
					if !sameField(allowHits, ht.Field) {
						kept = append(kept, ht)
					}
				}
				rep.Allowed += len(hits) - len(kept)
				hits = kept
			}
		}
		if len(hits) == 0 {
			return nil
		}
		var subj *match.Subject
		e := o.Event()
		for _, ht := range hits {
			if excl != nil {
				if subj == nil {
					subj = stream.SubjectOf(&e)
				}
				if rule := excl.Match(subj, ht, now); rule != nil {
					rep.Excluded++
					if rep.ExcludedByRule == nil {
						rep.ExcludedByRule = map[string]int{}
					}
					rep.ExcludedByRule[rule.Name]++
					if h.opt.OnRetroExcluded != nil {
						a := retroAlert(&e, ht, now, addedAt)
						h.opt.OnRetroExcluded(rule, &a)
					}
					continue
				}
			}
			if rep.Alerts+len(alerts) >= h.opt.MaxRetroAlerts {
				rep.Truncated++
				continue
			}
			alerts = append(alerts, retroAlert(&e, ht, now, addedAt))
			if len(alerts) >= emitBatch {
				if err := flush(); err != nil {
					emitErr = err
					return err
				}
			}
		}
		return nil
	}
	for _, chunk := range splitByPatterns(fresh) {
		ix, err := match.Build(chunk, match.BuildOptions{})
		if err != nil {
			return rep, fmt.Errorf("history: retro-hunt index: %w", err)
		}
		st, err := h.scan(ctx, Query{Index: ix, At: now}, p, fn)
		rep.ScanStats.add(st)
		if err != nil {
			if emitErr != nil {
				return rep, emitErr
			}
			return rep, err
		}
	}
	if err := flush(); err != nil {
		return rep, err
	}
	rep.Duration = time.Since(started)
	rep.Paused = p.slept
	if rep.Truncated > 0 {
		h.opt.Log.Warn("history: retro-hunt alert cap reached; further hits not alerted", "cap", h.opt.MaxRetroAlerts, "not_alerted", rep.Truncated)
	}
	h.known = h.known.union(fresh)
	if err := h.known.save(h.dir); err != nil {
		return rep, err
	}
	h.opt.Log.Info("history: retro-hunt finished", "indicators", rep.Indicators, "already_present", rep.Known,
		"segments_read", rep.Read, "observations", rep.Observations, "hits", rep.Hits, "allow_listed", rep.Allowed,
		"excluded", rep.Excluded, "alerts", rep.Alerts, "damaged_stretches", rep.DamagedBlocks, "matches_lost", rep.LostMatches, "duration", rep.Duration.Round(time.Millisecond), "paused", rep.Paused.Round(time.Millisecond))
	return rep, nil
}

// warnDomainAccounts logs, once per rule for the life of h, each
// exclusion rule naming an account as DOMAIN\name: the history does not
// keep the account domain, so such a value never matches an observation
// and the rule never excludes that account's retro hits (a bare name
// does). Called with huntMu held.
func (h *History) warnDomainAccounts(excl *match.Exclusions) {
	for _, r := range excl.Rules() {
		accounts := r.DomainAccounts()
		if len(accounts) == 0 || h.domainWarned[r.Name] {
			continue
		}
		if h.domainWarned == nil {
			h.domainWarned = map[string]bool{}
		}
		h.domainWarned[r.Name] = true
		h.opt.Log.Warn("history: an exclusion rule names an account as DOMAIN\\name, and the history does not keep the account domain: the rule never excludes that account's retro-hunt hits, which alert (a bare name matches in any domain)",
			"rule", r.Name, "origin", r.Origin, "accounts", accounts)
	}
}

// SetKnown replaces the set of values the history treats as already
// present with the values of present (the indicators of the current
// index), so that a value removed from every feed and later added again is
// hunted again. Call it after the Hunt of each reload. It is persisted.
func (h *History) SetKnown(present []*match.Indicator) error {
	return h.setKnown(func() knownSet { return newKnownSet(present) })
}

// SetKnownIndex is SetKnown with the indicators of ix, read from its lists
// without building them (2.1 M indicators would be as many allocations).
func (h *History) SetKnownIndex(ix *match.Index) error {
	return h.setKnown(func() knownSet { return knownSetOfLists(ix.Lists()) })
}

func (h *History) setKnown(known func() knownSet) error {
	if h.opt.ReadOnly {
		return ErrReadOnly
	}
	h.huntMu.Lock()
	defer h.huntMu.Unlock()
	k := known()
	if slicesEqual(k, h.known) && !h.noKnown {
		return nil
	}
	h.known, h.noKnown = k, false
	return k.save(h.dir)
}

func slicesEqual(a, b knownSet) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sameField(hits []match.Hit, f match.Field) bool {
	for _, h := range hits {
		if h.Field == f {
			return true
		}
	}
	return false
}

// retroAlert is the pipeline's alert for the hit, marked as a retro alert.
func retroAlert(e *stream.Event, ht match.Hit, now time.Time, addedAt func(match.Indicator) time.Time) sink.Alert {
	a := stream.NewAlert(e, ht, now)
	a.Retro = true
	a.IndicatorAddedAt = addedAt(ht.Indicator).UTC()
	return a
}

// splitByPatterns splits inds so that no part has more than
// maxPatternsPerPass patterns.
func splitByPatterns(inds []*match.Indicator) [][]*match.Indicator {
	var pats, rest []*match.Indicator
	for _, ind := range inds {
		if ind.Kind == match.KindPattern {
			pats = append(pats, ind)
		} else {
			rest = append(rest, ind)
		}
	}
	if len(pats) <= maxPatternsPerPass {
		return [][]*match.Indicator{inds}
	}
	parts := [][]*match.Indicator{append(rest, pats[:maxPatternsPerPass]...)}
	for pats = pats[maxPatternsPerPass:]; len(pats) > 0; {
		n := min(len(pats), maxPatternsPerPass)
		parts = append(parts, pats[:n])
		pats = pats[n:]
	}
	return parts
}
