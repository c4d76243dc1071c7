package feed

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/iocwatch/iocwatch/match"
)

// Status is what the Manager knows about one feed, for `check`, `lookup`
// and the status page. It is a copy: safe to keep and read concurrently.
// The zero value is a feed never fetched.
type Status struct {
	Name     string
	Type     string // file, http or taxii
	Location string // the path, or the URL without its password
	Allow    bool   // an allow-list feed
	Format   string // the format of the content in use, after detection

	LastFetch   time.Time // the last attempt, whatever its outcome
	LastSuccess time.Time // the last attempt that gave content now in use, or confirmed it unchanged; for a cached copy, when the origin last vouched for it (DataTime)
	LastChange  time.Time // when the indicators in use last changed
	LastError   error     // the error of the last attempt; nil when it succeeded
	Failures    int       // attempts failed in a row

	// DataTime is when the origin last vouched for the content in use (a
	// download, a 304, an unchanged file); for a cached copy, when it was
	// downloaded. Age is measured from it.
	DataTime  time.Time
	FromCache bool // the content in use was read from the cache directory

	Counts   map[match.Kind]int // indicators in use by kind (listed and retained)
	Total    int                // indicators in use
	Retained int                // of Total, values no longer listed, kept by the TTL

	Refused        []match.Refusal // entries the last parse refused, and values kept by the TTL that the feed's junk guard refuses now (read back after a restart)
	Skipped        int             // entries the last parse skipped, an archive's documentation, checksum and signature files included
	SkippedReasons map[string]int
	Notes          []string // how the last parse read the feed where it guessed (match.LoadResult.Notes), and the documentation, checksum and signature files of an archive it left out

	// Held is set while a suspicious shrink is held back.
	Held *Held

	Added, Removed int // values added and removed by the last change of this feed
}

// Held describes content that the shrink guard holds back: the feed keeps
// its previous indicators until a second fetch confirms the new size, or
// Manager.Confirm. Plain data.
type Held struct {
	Total    int       // indicators in the held content
	Previous int       // indicators listed before
	Since    time.Time // when it was first fetched
}

// Age is how long ago the origin last vouched for the content in use
// (now − DataTime); 0 when there is no content.
func (s *Status) Age(now time.Time) time.Duration {
	if s.DataTime.IsZero() {
		return 0
	}
	return now.Sub(s.DataTime)
}

func (s *Status) clone() Status { return *s } // maps and slices are replaced, never changed in place

// trigger is what asked for a refresh.
type trigger uint8

const (
	trigLoad     trigger = iota // the first load
	trigWatch                   // a file event
	trigPoll                    // the file poll
	trigInterval                // the interval of a remote feed
	trigReload                  // Reload (SIGHUP)
)

// ikey is an indicator's identity: its kind and canonical value.
type ikey struct {
	kind  match.Kind
	value string
}

// keyAt returns the key of the i-th indicator of l.
func keyAt(l *match.List, i int) ikey { return ikey{l.KindAt(i), l.ValueAt(i)} }

// keySet is the sorted, de-duplicated 64-bit hashes of a feed's values:
// 8 bytes a value and nothing for the garbage collector to scan, where a
// map of strings would cost several times that. Two values colliding (a
// chance of about n²/2⁶⁵) would only hide one from Update.Added.
type keySet []uint64

// hashSeed is fixed for the process: key sets are compared, never stored.
var hashSeed = maphash.MakeSeed()

func hashKey(kind match.Kind, value string) uint64 {
	return maphash.String(hashSeed, value) + uint64(kind)*0x9e3779b97f4a7c15
}

// keySetOf returns the key set of the indicators of lists, pacing the
// work with p.
func keySetOf(p *pacer, lists []*match.List) (keySet, error) {
	ks := make(keySet, 0, listsLen(lists))
	tick := p.every(4096)
	for _, l := range lists {
		for i := range l.Len() {
			ks = append(ks, hashKey(l.KindAt(i), l.ValueAt(i)))
			if err := tick(len(ks)); err != nil {
				return nil, err
			}
		}
	}
	if err := sortHashes(p, ks); err != nil {
		return nil, err
	}
	return slices.Clip(slices.Compact(ks)), nil
}

// sortHashes sorts hs in place: a least-significant-digit radix sort, a
// byte a pass, which is twice as fast as slices.Sort on a million random
// hashes and, unlike it, can be paused (by p) every few milliseconds.
func sortHashes(p *pacer, hs []uint64) error {
	if len(hs) < 1024 {
		slices.Sort(hs)
		return nil
	}
	tick := p.every(1 << 16)
	src, dst := hs, make([]uint64, len(hs))
	for shift := 0; shift < 64; shift += 8 {
		var at [256]int
		for _, h := range src {
			at[byte(h>>shift)]++
		}
		sum := 0
		for d, n := range at {
			at[d] = sum
			sum += n
		}
		for i, h := range src {
			d := byte(h >> shift)
			dst[at[d]] = h
			at[d]++
			if err := tick(i); err != nil {
				return err
			}
		}
		src, dst = dst, src
	}
	// Eight passes: the sorted hashes are back in hs.
	return nil
}

func (ks keySet) has(h uint64) bool {
	_, ok := slices.BinarySearch(ks, h)
	return ok
}

// without removes from hs (sorted) the hashes that ks has, in place.
func (ks keySet) without(p *pacer, hs []uint64) ([]uint64, error) {
	tick := p.every(1 << 14)
	out, j := hs[:0], 0
	for i, h := range hs {
		for j < len(ks) && ks[j] < h {
			j++
			if err := tick(j); err != nil {
				return nil, err
			}
		}
		if j == len(ks) || ks[j] != h {
			out = append(out, h)
		}
		if err := tick(i); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// diff returns the hashes of ks that old lacks (sorted), and counts those
// of old that ks lacks, in one pass over both.
func (ks keySet) diff(p *pacer, old keySet) (added []uint64, removed int, err error) {
	tick := p.every(1 << 14)
	i, j := 0, 0
	for n := 0; i < len(ks) || j < len(old); n++ {
		switch {
		case j == len(old) || (i < len(ks) && ks[i] < old[j]):
			added = append(added, ks[i])
			i++
		case i == len(ks) || old[j] < ks[i]:
			removed++
			j++
		default:
			i++
			j++
		}
		if err := tick(n); err != nil {
			return nil, 0, err
		}
	}
	return added, removed, nil
}

// retained is a value a TTL feed no longer lists, kept until lastSeen+TTL.
type retained struct {
	ind      *match.Indicator
	lastSeen time.Time
	// guarded is set once the value passed the feed's junk guard in this
	// run: it was listed (match.Load guarded it), or retain checked it. A
	// value read from the retained file was guarded by the run that
	// wrote it, perhaps under another configuration or iocwatch.
	guarded bool
}

// held is content held back by the shrink guard.
type held struct {
	res  *match.LoadResult
	ver  version
	body content
	at   time.Time
}

// feedState is one feed inside the Manager.
type feedState struct {
	spec    Spec
	allow   bool
	fetcher fetcher
	taxii   *taxiiClient

	// refreshMu serialises fetches of this feed and guards the fields
	// below it up to the Manager.mu ones.
	refreshMu sync.Mutex
	ver       *version // of the content in use; nil before the first
	held      *held
	listed    *match.List       // the indicators of the content in use; nil before the first
	listedAt  time.Time         // when the origin last listed them
	bakedAt   time.Time         // the listedAt their TTL ValidUntil was computed from
	retained  map[ikey]retained // TTL feeds: values no longer listed
	loaded    bool              // content was accepted at least once
	cached    *cacheEntry       // the cache file read at load, until used
	store     *taxiiStore       // taxii: the accumulated collection
	storeAt   time.Time         // taxii: when the store was fetched (for a cached one)
	cacheOK   bool              // the cache file holds the content in use (a confirmation may touch it)
	// own holds, per Meta of listed whose valid_until from the feed was
	// later than its TTL expiry, that valid_until: an extension of the
	// TTL never moves such an indicator past it (TTL feeds).
	own map[*match.Meta]time.Time

	// Guarded by Manager.mu.
	inUse []*match.List // listed, then the retained values: what the index holds
	keys  keySet        // of inUse (indicator feeds only); nil until a rebuild computes it
	gen   uint64        // bumped at every change of inUse
	st    Status

	// Guarded by Manager.buildMu.
	builtKeys keySet
	builtGen  uint64
}

func (fs *feedState) listedLen() int { return fs.listed.Len() }

// what names the kind of feed in errors: "feed" or "allow-list".
func (fs *feedState) what() string {
	if fs.allow {
		return "allow-list"
	}
	return "feed"
}

// listsLen returns the number of indicators of lists.
func listsLen(lists []*match.List) int {
	n := 0
	for _, l := range lists {
		n += l.Len()
	}
	return n
}

func (fs *feedState) remote() bool { return fs.spec.typ() != TypeFile }

// refresh fetches one feed and applies what it gave. It reports whether
// the indicators in use changed (a rebuild is due) and the fetch error.
func (m *Manager) refresh(ctx context.Context, fs *feedState, trig trigger) (bool, error) {
	fs.refreshMu.Lock()
	defer fs.refreshMu.Unlock()
	if fs.taxii != nil {
		return m.refreshTAXII(ctx, fs, trig)
	}
	now := m.now()
	if trig == trigLoad && !fs.loaded {
		m.readCaches(fs)
	}
	since := fs.ver
	holding := fs.held != nil
	if holding {
		since = &fs.held.ver
	} else if since == nil && fs.cached != nil {
		since = &version{etag: fs.cached.hdr.ETag, lastModified: fs.cached.hdr.LastModified, hash: fs.cached.hash}
	}
	force := trig == trigLoad || trig == trigReload
	f, err := fs.fetcher.fetch(ctx, since, force)
	if err != nil {
		return m.fetchFailed(ctx, fs, trig, err, now)
	}
	if f.stillBad {
		return false, nil // the file failed as it is now: logged and counted then
	}
	switch {
	case f.unchanged && holding:
		if !f.asked {
			return false, nil // a stat saw nothing new: not a second fetch
		}
		h := fs.held
		m.log.Info("feed shrink confirmed by a second fetch", "feed", fs.spec.Name, "indicators", h.res.Indicators.Len(), "was", fs.listedLen())
		m.accept(fs, h.res, f.ver, h.body, now, now, false)
		return true, nil
	case f.unchanged && !fs.loaded && fs.cached != nil:
		// 304 to the cached copy's validators: the copy is current.
		f.body = fs.cached.content()
	case f.unchanged:
		fs.ver = &f.ver
		return m.touch(fs, now), nil
	case holding && fs.ver != nil && f.ver.hash == fs.ver.hash:
		m.log.Info("feed is back to the content in use; the shrunken copy is dropped", "feed", fs.spec.Name)
		fs.held = nil
		m.mu.Lock()
		fs.st.Held = nil
		m.mu.Unlock()
		fs.ver = &f.ver
		return m.touch(fs, now), nil
	}
	res, err := m.parse(ctx, fs, f.body, now)
	if err != nil {
		if ff, ok := fs.fetcher.(*fileFetcher); ok && ctx.Err() == nil {
			ff.failed(f.ver.info) // not parsed again until the file changes
		}
		return m.fetchFailed(ctx, fs, trig, err, now)
	}
	fromCache := m.startFromCache(ctx, fs, res, now)
	if m.holdBack(fs, res, f, now) {
		return fromCache, nil
	}
	m.accept(fs, res, f.ver, f.body, now, now, false)
	return true, nil
}

// startFromCache applies the shrink guard at the first load of an http
// feed with a cached copy: the copy is the feed's content, so a download
// that shrank from it by more than the guard allows (a server serving an
// empty database while iocwatch restarts) must not replace it. The feed
// starts from the cached copy, for holdBack to hold the download back as
// it would have without the restart. It reports whether it did so.
func (m *Manager) startFromCache(ctx context.Context, fs *feedState, res *match.LoadResult, now time.Time) bool {
	ce := fs.cached
	if fs.loaded || ce == nil || m.shrink <= 0 || ce.hdr.Indicators == 0 ||
		float64(res.Indicators.Len()) >= float64(ce.hdr.Indicators)*(1-m.shrink) {
		return false
	}
	cres, at, err := m.acceptCache(ctx, fs, now)
	if err != nil {
		return false
	}
	m.log.Info("feed shrank since its cached copy; starting from the cached copy", "feed", fs.spec.Name, "cached_at", at,
		"indicators", res.Indicators.Len(), "cached", cres.Indicators.Len())
	return true
}

// acceptCache makes the cached copy of an http feed (fs.cached) its
// content, at its first load. It returns the copy's indicators and when
// the origin last vouched for it, or why the copy cannot be used (logged).
func (m *Manager) acceptCache(ctx context.Context, fs *feedState, now time.Time) (*match.LoadResult, time.Time, error) {
	ce := fs.cached
	res, err := m.parse(ctx, fs, ce.content(), now)
	if err != nil {
		m.log.Warn("feed cache unusable", "feed", fs.spec.Name, "err", err)
		return nil, time.Time{}, err
	}
	at := ce.vouchedAt(now)
	m.accept(fs, res, version{etag: ce.hdr.ETag, lastModified: ce.hdr.LastModified, hash: ce.hash}, content{}, now, at, true)
	return res, at, nil
}

// readCaches reads, at the first load, the cache file of an http feed and
// the retained values of a TTL feed.
func (m *Manager) readCaches(fs *feedState) {
	dir := m.opt.CacheDir
	if dir == "" {
		return
	}
	if fs.spec.typ() == TypeHTTP {
		ce, err := readCache(dir, fs.spec.Name)
		switch {
		case err != nil:
			m.log.Warn("feed cache unusable; ignored", "feed", fs.spec.Name, "err", err)
		case ce != nil && ce.hdr.Type == TypeHTTP && ce.hdr.forURL(fs.spec.URL):
			fs.cached = ce
		}
	}
	if fs.spec.TTL > 0 {
		ret, err := readRetained(dir, fs.spec.Name)
		if err != nil {
			m.log.Warn("feed retained values partly unusable", "feed", fs.spec.Name, "err", err)
		}
		fs.retained = ret
	}
}

// parse reads content with match.Load, one feed at a time (m.work), paced
// after the first load (see Options.ReloadCPU). The files of an archive
// are read each as a feed of its own (loadFiles). Content with no usable
// indicator but refused entries (an HTML error page, a login form) is an
// error; so is ctx ending while it is read.
func (m *Manager) parse(ctx context.Context, fs *feedState, c content, now time.Time) (*match.LoadResult, error) {
	opt := fs.spec.Load
	opt.Name = fs.spec.location()
	opt.Now = now
	opt.TTL = 0
	// What the publisher withdrew must not be kept by the TTL (retain).
	// A TAXII collection keeps no value itself: a revocation replaces
	// the object in its store (taxiiStore.merge).
	opt.Withdrawn = fs.spec.TTL > 0 && fs.taxii == nil
	if fs.taxii != nil {
		opt.Format = match.FormatSTIX2
	}
	p, release, err := m.startWork(ctx)
	if err != nil {
		return nil, err
	}
	var res *match.LoadResult
	if c.files == nil {
		opt.SizeHint = sizeHint(fs, c.data)
		res, err = load(p, c.data, opt)
	} else {
		res, err = loadFiles(p, c, opt)
	}
	release()
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, fmt.Errorf("parse stopped: %w", ctxErr)
		}
		return nil, err
	}
	noteDocumentation(res, c.docs)
	noteChecksums(res, c.sums)
	if res.Indicators.Len() == 0 && len(res.Refused) > 0 {
		return nil, fmt.Errorf("no usable indicator: %d entries refused, the first: %s", len(res.Refused), res.Refused[0])
	}
	return res, nil
}

// The match.LoadResult.SkippedReasons keys that count the files of an
// archive unzip left out: its documentation (isDocumentation), and its
// checksum and signature files (isChecksumOrSignature).
const (
	skipDocumentation = "zip documentation file"
	skipChecksum      = "zip checksum or signature file"
)

// noteDocumentation counts the documentation files of an archive, which
// unzip left out, as skipped entries of res, and names them in a note.
func noteDocumentation(res *match.LoadResult, docs []string) {
	noteLeftOut(res, skipDocumentation, "documentation file", docs)
}

// noteChecksums counts the checksum and signature files of an archive,
// which unzip left out, as skipped entries of res, and names them in a
// note.
func noteChecksums(res *match.LoadResult, sums []string) {
	noteLeftOut(res, skipChecksum, "checksum or signature file", sums)
}

// noteLeftOut counts names, files of an archive that are not feeds (what
// one of them is), as skipped entries of res under reason, and names them
// in a note.
func noteLeftOut(res *match.LoadResult, reason, what string, names []string) {
	if len(names) == 0 {
		return
	}
	res.Skipped += len(names)
	if res.SkippedReasons == nil {
		res.SkippedReasons = map[string]int{}
	}
	res.SkippedReasons[reason] += len(names)
	if len(names) == 1 {
		res.Notes = append(res.Notes, "1 "+what+" of the archive not read as a feed: "+names[0])
		return
	}
	res.Notes = append(res.Notes, fmt.Sprintf("%d %ss of the archive not read as feeds: %s", len(names), what, someNames(names)))
}

// load reads data with match.Load, paced by p.
func load(p *pacer, data []byte, opt match.LoadOptions) (*match.LoadResult, error) {
	var r io.Reader = bytes.NewReader(data)
	if p.share > 0 {
		r = &pacedReader{r: r, p: p}
	}
	return match.Load(r, opt)
}

// loadFiles reads the files of an archive, each as a feed of its own: in
// the feed's format, or, for "auto", the format its name and first bytes
// say; its origins are "<archive>!<file>:<line>". It returns their
// indicators together, in archive order, Format the formats used
// ("csv,text") and each note prefixed with its file. A file that cannot
// be read fails them all (its error names it): a feed is never loaded
// short of a file.
func loadFiles(p *pacer, c content, opt match.LoadOptions) (*match.LoadResult, error) {
	all := &match.LoadResult{SkippedReasons: map[string]int{}}
	var lists []*match.List
	var formats []string
	n := 0
	for name, data := range c.parts {
		o := opt
		o.Name = opt.Name + "!" + name
		o.SizeHint = lineHint(data)
		res, err := load(p, data, o)
		if err != nil {
			return nil, err
		}
		lists = append(lists, res.Indicators)
		n += res.Indicators.Len()
		all.Refused = append(all.Refused, res.Refused...)
		all.Withdrawn = append(all.Withdrawn, res.Withdrawn...)
		all.Skipped += res.Skipped
		for k, v := range res.SkippedReasons {
			all.SkippedReasons[k] += v
		}
		for _, note := range res.Notes {
			all.Notes = append(all.Notes, name+": "+note)
		}
		if !slices.Contains(formats, res.Format) {
			formats = append(formats, res.Format)
		}
	}
	slices.Sort(formats)
	all.Format = strings.Join(formats, ",")
	all.Indicators = match.NewList(n)
	tick := p.every(4096)
	i := 0
	for _, l := range lists {
		for j := range l.Len() {
			if all.Indicators.Full() {
				return nil, fmt.Errorf("%s: more indicators than a list holds", opt.Name)
			}
			all.Indicators.Append(l.At(j))
			if err := tick(i); err != nil {
				return nil, err
			}
			i++
		}
	}
	return all, nil
}

// sizeHint estimates how many indicators body holds, for
// match.LoadOptions.SizeHint: a little more than the feed listed last
// time, or, at its first load, lineHint. The caller holds fs.refreshMu.
func sizeHint(fs *feedState, body []byte) int {
	if n := fs.listedLen(); n > 0 {
		return n + n/16
	}
	return lineHint(body)
}

// lineHint estimates how many indicators body holds from its line count:
// a line per indicator in text and most CSV feeds; STIX and MISP JSON
// gets no hint.
func lineHint(body []byte) int {
	if t := bytes.TrimLeft(body, " \t\r\n\xef\xbb\xbf"); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
		return 0
	}
	return bytes.Count(body, []byte{'\n'}) + 1
}

// startWork waits for the right to do CPU-heavy reload work (one parse or
// rebuild at a time: less garbage at once, and at most one core taken
// from the pipeline) and returns its pacer and the release. The first load
// is not paced: nothing runs beside it yet.
func (m *Manager) startWork(ctx context.Context) (*pacer, func(), error) {
	select {
	case m.work <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	share := 0.0
	m.mu.Lock()
	if m.loaded {
		share = m.reloadCPU
	}
	quant := m.paceQuantum
	m.mu.Unlock()
	p := newPacer(ctx, share, &m.slept)
	p.quant = quant
	return p, func() { <-m.work }, nil
}

// holdBack applies the shrink guard to new content: it reports true when
// the content is held back (the feed keeps its indicators).
func (m *Manager) holdBack(fs *feedState, res *match.LoadResult, f *fetched, now time.Time) bool {
	prev, n := fs.listedLen(), res.Indicators.Len()
	if m.shrink <= 0 || prev == 0 || float64(n) >= float64(prev)*(1-m.shrink) {
		return false
	}
	if h := fs.held; h != nil && similar(n, h.res.Indicators.Len()) {
		m.log.Info("feed shrink confirmed by a second fetch", "feed", fs.spec.Name, "indicators", n, "was", prev)
		return false
	}
	fs.held = &held{res: res, ver: f.ver, body: f.body, at: now}
	m.mu.Lock()
	fs.st.LastFetch = now
	fs.st.Held = &Held{Total: n, Previous: prev, Since: now}
	m.mu.Unlock()
	m.log.Warn("feed shrank suspiciously: held back, the previous indicators stay in use until a second fetch confirms it or it is confirmed by hand",
		"feed", fs.spec.Name, "indicators", n, "was", prev, "guard", m.shrink)
	return true
}

// similar reports whether n is within 10% of held.
func similar(n, held int) bool {
	d := n - held
	if d < 0 {
		d = -d
	}
	return d*10 <= held
}

// fetchFailed records a failed fetch. At the first load an http feed falls
// back to its cached copy. A TTL feed gets its expiry recomputed from the
// time it was last listed, so that it expires exactly TTL after that.
// The failure is logged as a warning when the feed starts failing, or
// fails with another error than last time; a retry that fails the same
// way is logged at debug level.
func (m *Manager) fetchFailed(ctx context.Context, fs *feedState, trig trigger, err error, now time.Time) (bool, error) {
	m.mu.Lock()
	prev := fs.st.LastError
	fs.st.LastFetch = now
	fs.st.LastError = err
	fs.st.Failures++
	failures := fs.st.Failures
	m.mu.Unlock()
	again := prev != nil && prev.Error() == err.Error() && trig != trigReload
	level := func(l slog.Level) slog.Level {
		if again {
			return slog.LevelDebug
		}
		return l
	}
	if trig == trigLoad && !fs.loaded && fs.cached != nil {
		if _, at, perr := m.acceptCache(ctx, fs, now); perr == nil {
			m.log.Warn("feed unreachable; starting from its cached copy", "feed", fs.spec.Name, "cached_at", at, "err", err)
			m.mu.Lock()
			fs.st.LastError = err
			fs.st.Failures = 1
			m.mu.Unlock()
			return true, err
		}
	}
	if fs.loaded {
		m.log.Log(ctx, level(slog.LevelWarn), "feed refresh failed; its last good indicators stay in use", "feed", fs.spec.Name, "err", err, "failures", failures)
	} else {
		m.log.Log(ctx, level(slog.LevelError), "feed failed to load; it has no indicators", "feed", fs.spec.Name, "err", err, "failures", failures)
	}
	return m.rebake(fs, now, true), err
}

// touch records a fetch that confirmed the content in use.
func (m *Manager) touch(fs *feedState, now time.Time) bool {
	fs.listedAt = now
	m.mu.Lock()
	fs.st.LastFetch, fs.st.LastSuccess, fs.st.DataTime = now, now, now
	fs.st.LastError, fs.st.Failures, fs.st.FromCache = nil, 0, false
	m.mu.Unlock()
	if dir := m.cacheWriteDir(); dir != "" && fs.cacheOK {
		if err := touchCache(dir, fs.spec.Name, now); err != nil {
			fs.cacheOK = false
			m.log.Warn("cannot record the feed's confirmation in its cache", "feed", fs.spec.Name, "err", err)
		}
	}
	return m.rebake(fs, now, false)
}

// rebake moves the TTL expiry of the listed indicators to listedAt+TTL.
// Indicators are immutable once indexed, so the changed ones are copied;
// it happens when the baked expiry is older than half the TTL, or when a
// fetch fails (so that the feed expires exactly TTL after it was last
// listed). It reports whether the indicators changed.
func (m *Manager) rebake(fs *feedState, now time.Time, failing bool) bool {
	ttl := fs.spec.TTL
	if ttl <= 0 || fs.taxii != nil || fs.listedLen() == 0 || !fs.listedAt.After(fs.bakedAt) {
		return false
	}
	if !failing && now.Sub(fs.bakedAt) <= ttl/2 {
		return false
	}
	old, exp := fs.bakedAt.Add(ttl), fs.listedAt.Add(ttl)
	moved := metaMemo{}
	own := map[*match.Meta]time.Time{}
	listed := fs.listed.WithMetas(func(m *match.Meta) *match.Meta {
		if !m.ValidUntil.Equal(old) {
			return m
		}
		until := fs.ttlUntil(m, exp)
		c := moved.edit(m, func(m *match.Meta) { m.ValidUntil = until })
		if u, ok := fs.own[m]; ok && u.After(until) {
			own[c] = u
		}
		return c
	})
	fs.listed, fs.bakedAt, fs.own = listed, fs.listedAt, own
	inUse := fs.inUseOf()
	m.mu.Lock()
	fs.inUse = inUse
	fs.gen++
	m.gen++
	m.mu.Unlock()
	return true
}

// ttlUntil is the TTL expiry exp of a listed indicator with Meta m, or
// the feed's own valid_until when that is earlier.
func (fs *feedState) ttlUntil(m *match.Meta, exp time.Time) time.Time {
	if u, ok := fs.own[m]; ok && u.Before(exp) {
		return u
	}
	return exp
}

// inUseOf returns listed followed by a list of the retained values.
func (fs *feedState) inUseOf() []*match.List {
	if len(fs.retained) == 0 {
		return []*match.List{fs.listed}
	}
	ret := match.NewList(len(fs.retained))
	for _, r := range fs.retained {
		ret.Append(*r.ind)
	}
	return []*match.List{fs.listed, ret}
}

// accept makes res the feed's content: its indicators replace the listed
// ones (a TTL feed keeps those it no longer lists until TTL after they
// were last seen), the cache is written, and a rebuild is due. dataAt is
// when the origin vouched for the content (the download time of a cached
// copy).
func (m *Manager) accept(fs *feedState, res *match.LoadResult, ver version, body content, now, dataAt time.Time, fromCache bool) {
	ttl := fs.spec.TTL
	listed := res.Indicators
	var keptRefused []match.Refusal
	if ttl > 0 && fs.taxii == nil {
		exp := dataAt.Add(ttl)
		// Fresh from Load: not indexed yet, and a Meta is shared only by
		// indicators of this result with the same metadata, so it is
		// changed in place. The feed's own valid_until only ever shortens
		// the TTL; a later one is kept aside for the extensions.
		own := map[*match.Meta]time.Time{}
		listed = listed.WithMetas(func(m *match.Meta) *match.Meta {
			if m.ValidUntil.After(exp) {
				own[m] = m.ValidUntil
			}
			if m.ValidUntil.IsZero() || m.ValidUntil.After(exp) {
				m.ValidUntil = exp
			}
			return m
		})
		fs.retained, keptRefused = m.retain(fs, listed, res.Withdrawn, now) // reads the previous listed and own
		fs.own = own
	}
	refused := res.Refused
	if len(keptRefused) > 0 {
		refused = append(slices.Clip(refused), keptRefused...)
	}
	reloaded := fs.loaded
	fs.listed, fs.listedAt, fs.bakedAt = listed, dataAt, dataAt
	fs.ver, fs.held, fs.cached, fs.loaded = &ver, nil, nil, true
	fs.cacheOK = fromCache // writeCaches sets it once the new content is written
	inUse := fs.inUseOf()
	var perKind [match.KindPattern + 1]int
	for _, l := range inUse {
		for i := range l.Len() {
			if k := l.KindAt(i); k <= match.KindPattern {
				perKind[k]++
			}
		}
	}
	counts := make(map[match.Kind]int, len(perKind))
	for k, n := range perKind {
		if n > 0 {
			counts[match.Kind(k)] = n
		}
	}
	m.mu.Lock()
	fs.inUse, fs.keys = inUse, nil // the next rebuild computes the keys
	fs.gen++
	m.gen++
	st := &fs.st
	st.Format, st.Counts, st.Total, st.Retained = res.Format, counts, listsLen(inUse), len(fs.retained)
	st.Refused, st.Skipped, st.SkippedReasons, st.Notes = refused, res.Skipped, res.SkippedReasons, res.Notes
	st.LastFetch, st.LastChange, st.DataTime, st.FromCache, st.Held = now, now, dataAt, fromCache, nil
	if fromCache {
		// The last success known is the download (or last confirmation)
		// of the cached copy: its age counts towards staleness.
		st.LastSuccess = dataAt
	} else {
		st.LastSuccess, st.LastError, st.Failures = now, nil, 0
	}
	total := st.Total
	m.mu.Unlock()
	if reloaded { // the first load is reported by its caller, with every feed's
		if n := len(refused); n > 0 {
			m.log.Warn("feed reloaded; some lines were refused and are left out", "feed", fs.spec.Name, "indicators", total, "refused", n, "first_refused", refused[0].String())
		} else {
			m.log.Info("feed reloaded", "feed", fs.spec.Name, "indicators", total)
		}
	}
	m.writeCaches(fs, ver, body, dataAt, fromCache)
}

// retain computes a TTL feed's retained values after new content: the
// values it listed before and no longer does join them (last seen when
// the feed last listed them), values listed again leave them, and values
// the new content names as withdrawn by their publisher (revoked,
// deleted, to_ids=false, Allowed, expired: match.LoadResult.Withdrawn)
// are neither kept nor keep being kept, unless it lists them too. A kept
// value is held to the rules a listed one goes through in this run, not
// those it was loaded under (a value read from the retained file was
// loaded before a restart, perhaps with another configuration): its
// expiry is at most TTL (as configured now) after it was last listed,
// it is dropped once that expiry or its own valid_until has passed, as
// match.Load skips an expired value, and, if not, the feed's junk guard
// refuses it (returned, for Status.Refused).
func (m *Manager) retain(fs *feedState, listed *match.List, withdrawn []match.Withdrawal, now time.Time) (map[ikey]retained, []match.Refusal) {
	ttl := fs.spec.TTL
	// keys holds the values not to keep: those listed, which the new
	// content holds, and those withdrawn, which it drops at once.
	keys := make(map[ikey]struct{}, listed.Len()+len(withdrawn))
	for i := range listed.Len() {
		keys[keyAt(listed, i)] = struct{}{}
	}
	for _, w := range withdrawn {
		keys[ikey{w.Kind, w.Value}] = struct{}{}
	}
	ret := make(map[ikey]retained, len(fs.retained))
	var refused []match.Refusal
	capped := map[cappedMeta]*match.Meta{}
	for k, r := range fs.retained {
		if _, listedOrWithdrawn := keys[k]; listedOrWithdrawn {
			continue
		}
		// Never seen later than now: a clock set back, or a file edited.
		if r.lastSeen.After(now) {
			r.lastSeen = now
		}
		until := r.lastSeen.Add(ttl)
		if u := r.ind.Meta.ValidUntil; !u.IsZero() && u.Before(until) {
			until = u
		}
		if !now.Before(until) {
			continue // expired: dropped, whatever the guard says of it
		}
		if !r.guarded {
			if reason := fs.spec.Load.Guard.Check(k.kind, k.value); reason != "" {
				refused = append(refused, match.Refusal{Origin: r.ind.Origin(), Value: k.value,
					Reason: reason + " (a value the feed no longer lists, kept by its ttl)"})
				continue
			}
			r.guarded = true
		}
		if !r.ind.Meta.ValidUntil.Equal(until) { // a shorter ttl than the run that kept it
			ind := *r.ind
			ck := cappedMeta{ind.Meta, until}
			if capped[ck] == nil {
				c := *ind.Meta // indexed: never changed in place
				c.ValidUntil = until
				capped[ck] = &c
			}
			ind.Meta = capped[ck]
			r.ind = &ind
		}
		ret[k] = r
	}
	if fs.loaded {
		exp, baked := fs.listedAt.Add(ttl), fs.bakedAt.Add(ttl)
		moved := metaMemo{}
		for i := range fs.listed.Len() {
			k := keyAt(fs.listed, i)
			if _, listedOrWithdrawn := keys[k]; listedOrWithdrawn {
				continue
			}
			if _, have := ret[k]; have || !now.Before(exp) {
				continue
			}
			ind := fs.listed.At(i)
			if u := ind.Meta.ValidUntil; u.IsZero() || u.Equal(baked) || u.After(exp) {
				until := fs.ttlUntil(ind.Meta, exp)
				ind.Meta = moved.edit(ind.Meta, func(m *match.Meta) { m.ValidUntil = until }) // indexed: never changed in place
			}
			if !now.Before(ind.Meta.ValidUntil) {
				continue // its own valid_until has passed
			}
			ret[k] = retained{ind: &ind, lastSeen: fs.listedAt, guarded: true}
		}
	}
	return ret, refused
}

// cappedMeta is a kept value's Meta with the expiry retain gives it.
type cappedMeta struct {
	meta  *match.Meta
	until time.Time
}

// cacheWriteDir is the cache directory to write to: "" when there is
// none, or when it is only read (Options.CacheReadOnly). Every write to
// the cache — a file, its temporary file, a touch — goes through it.
func (m *Manager) cacheWriteDir() string {
	if m.opt.CacheReadOnly {
		return ""
	}
	return m.opt.CacheDir
}

// writeCaches keeps the last good copy of a remote feed and the retained
// values of a TTL feed in the cache directory, unless it is read-only.
// Failures are logged: the cache is a help at start-up, not a condition
// for running.
func (m *Manager) writeCaches(fs *feedState, ver version, body content, dataAt time.Time, fromCache bool) {
	dir := m.cacheWriteDir()
	if dir == "" {
		return
	}
	if fs.spec.typ() == TypeHTTP && !fromCache && body.data != nil {
		shown, hash := cacheURL(fs.spec.URL)
		hdr := cacheHeader{Feed: fs.spec.Name, Type: TypeHTTP, URL: shown, URLHash: hash, ETag: ver.etag, LastModified: ver.lastModified, FetchedAt: dataAt.UTC(),
			Indicators: fs.listedLen(), Files: cacheFiles(body), Docs: body.docs, Checksums: body.sums}
		if err := writeCache(dir, hdr, body.data); err != nil {
			m.log.Warn("cannot write the feed cache", "feed", fs.spec.Name, "err", err)
		} else {
			fs.cacheOK = true
		}
	}
	if fs.spec.TTL > 0 && fs.taxii == nil {
		if err := writeRetained(dir, fs.spec.Name, fs.retained); err != nil {
			m.log.Warn("cannot write the feed's retained values", "feed", fs.spec.Name, "err", err)
		}
	}
}

// refreshTAXII polls a collection for what was added since the cursor,
// merges it into the accumulated objects and, when something changed,
// reads them all (Format stix2). At the first load the objects and cursor
// come from the cache, so that a restart asks only for what is new, and
// stand in when the server cannot be reached.
func (m *Manager) refreshTAXII(ctx context.Context, fs *feedState, trig trigger) (bool, error) {
	now := m.now()
	if fs.store == nil && m.opt.CacheDir != "" {
		ce, err := readCache(m.opt.CacheDir, fs.spec.Name)
		if err == nil && ce != nil && ce.hdr.Type == TypeTAXII && ce.hdr.forURL(fs.spec.URL) && ce.hdr.Collection == fs.spec.TAXII.Collection {
			fs.store, err = parseTAXIIStore(ce.body, ce.hdr.AddedAfter)
			fs.storeAt = ce.vouchedAt(now)
		}
		if err != nil {
			m.log.Warn("feed cache unusable; ignored", "feed", fs.spec.Name, "err", err)
			fs.store = nil
		}
	}
	base := fs.store
	if base == nil {
		base = &taxiiStore{objects: map[string]*taxiiObject{}}
	}
	objs, cursor, err := fs.taxii.poll(ctx, base.addedAfter)
	if err != nil {
		if !fs.loaded && fs.store != nil {
			if res, perr := m.parseTAXII(ctx, fs, fs.store, now); perr == nil {
				m.log.Warn("taxii server unreachable; starting from the cached collection", "feed", fs.spec.Name, "cached_at", fs.storeAt, "err", err)
				m.accept(fs, res, version{}, content{}, now, fs.storeAt, true)
				m.mu.Lock()
				fs.st.LastError, fs.st.Failures = err, 1
				m.mu.Unlock()
				return true, err
			}
		}
		return m.fetchFailed(ctx, fs, trig, err, now)
	}
	if len(objs) == 0 && fs.loaded {
		if cursor != "" {
			fs.store.addedAfter = cursor
		}
		return m.touch(fs, now), nil
	}
	next, bad, changed := base.merge(objs, now, fs.spec.TTL, cursor)
	if fs.loaded && changed == 0 && bad == 0 && (fs.spec.TTL <= 0 || now.Sub(fs.bakedAt) <= fs.spec.TTL/2) {
		// The objects as they were (a server that does not move the
		// cursor returns them at every poll): no rebuild. With a TTL, the
		// indicators are rebuilt for their new expiry once half of it is
		// spent, as rebake does for other feeds.
		fs.store = next
		return m.touch(fs, now), nil
	}
	res, err := m.parseTAXII(ctx, fs, next, now)
	if err != nil {
		return m.fetchFailed(ctx, fs, trig, err, now)
	}
	if bad > 0 {
		res.Refused = append(res.Refused, match.Refusal{Origin: fs.spec.location(), Reason: fmt.Sprintf("%d objects without a type or id", bad)})
	}
	fs.store, fs.storeAt = next, now
	m.accept(fs, res, version{}, content{}, now, now, false)
	if dir := m.cacheWriteDir(); dir != "" {
		body, err := next.marshal()
		if err == nil {
			shown, hash := cacheURL(fs.spec.URL)
			hdr := cacheHeader{Feed: fs.spec.Name, Type: TypeTAXII, URL: shown, URLHash: hash, Collection: fs.spec.TAXII.Collection, AddedAfter: next.addedAfter, FetchedAt: now.UTC()}
			err = writeCache(dir, hdr, body)
		}
		if err != nil {
			m.log.Warn("cannot write the feed cache", "feed", fs.spec.Name, "err", err)
		} else {
			fs.cacheOK = true
		}
	}
	return true, nil
}

// parseTAXII reads the accumulated objects. With a TTL, an indicator
// expires TTL after a poll last returned it, or at its object's
// valid_until when that is earlier.
func (m *Manager) parseTAXII(ctx context.Context, fs *feedState, s *taxiiStore, now time.Time) (*match.LoadResult, error) {
	if len(s.objects) == 0 {
		return &match.LoadResult{Format: match.FormatSTIX2, SkippedReasons: map[string]int{}}, nil
	}
	res, err := m.parse(ctx, fs, content{data: s.bundle()}, now)
	if err != nil {
		return nil, err
	}
	if ttl := fs.spec.TTL; ttl > 0 {
		// Fresh from parse: a Meta is shared only by the indicators of one
		// object, so it is changed in place.
		prefix := fs.spec.location() + ": "
		l := res.Indicators
		for i := range l.Len() {
			m := l.MetaAt(i)
			exp := now.Add(ttl)
			ind := l.At(i)
			if o := s.objects[strings.TrimPrefix(ind.Origin(), prefix)]; o != nil {
				exp = o.seen.Add(ttl)
			}
			// The object's own valid_until only ever shortens the TTL.
			if m.ValidUntil.IsZero() || m.ValidUntil.After(exp) {
				m.ValidUntil = exp
			}
		}
	}
	return res, nil
}

// rebuild builds the indexes when some feed changed since the last build,
// and hands them to OnUpdate when notify is set. It returns nil, nil when
// nothing changed. After the first load its work is paced (see
// Options.ReloadCPU), match.Build included; when ctx ends first, nothing
// is swapped and the next rebuild redoes it.
func (m *Manager) rebuild(ctx context.Context, reason string, notify bool) (*Update, error) {
	m.buildMu.Lock()
	defer m.buildMu.Unlock()

	type snap struct {
		fs    *feedState
		inUse []*match.List
		keys  keySet
		gen   uint64
		chg   bool
	}
	m.mu.Lock()
	prev := m.cur
	if prev != nil && m.gen == m.builtGen {
		m.mu.Unlock()
		return nil, nil
	}
	gen := m.gen
	snaps := make([]snap, len(m.feeds))
	ixChanged, alChanged := prev == nil, prev == nil
	for i, fs := range m.feeds {
		chg := fs.gen != fs.builtGen
		snaps[i] = snap{fs: fs, inUse: fs.inUse, keys: fs.keys, gen: fs.gen, chg: chg}
		if chg && fs.allow {
			alChanged = true
		} else if chg {
			ixChanged = true
		}
	}
	m.mu.Unlock()

	p, release, err := m.startWork(ctx)
	if err != nil {
		return nil, fmt.Errorf("rebuild stopped: %w", err)
	}
	defer release()
	stopped := func(err error) (*Update, error) { return nil, fmt.Errorf("rebuild stopped: %w", err) }

	// The values of every changed feed, hashed once for all the builds
	// that follow until its values change again (a TTL extension keeps them).
	if ixChanged {
		for i := range snaps {
			s := &snaps[i]
			if !s.chg || s.fs.allow || s.keys != nil {
				continue
			}
			if s.keys, err = keySetOf(p, s.inUse); err != nil {
				return stopped(err)
			}
			m.mu.Lock()
			if s.fs.gen == s.gen {
				s.fs.keys = s.keys
			}
			m.mu.Unlock()
		}
	}

	u := &Update{Reason: reason}
	if prev != nil {
		u.Index, u.Allow = prev.Index, prev.Allow
	}
	if err := p.pace(); err != nil {
		return stopped(err)
	}
	start := time.Now()
	var errs []error
	if ixChanged {
		var all []*match.List // what the new index holds, feed after feed
		for _, s := range snaps {
			if !s.fs.allow {
				all = append(all, s.inUse...)
			}
		}
		ix, err := match.BuildLists(all, paced(m.opt.Build, p))
		if err != nil {
			errs = append(errs, fmt.Errorf("build the index: %w", err))
		}
		u.Index = ix
	}
	if alChanged && m.hasAllw {
		all := []*match.List{match.ListOf(m.static)}
		for _, s := range snaps {
			if s.fs.allow {
				all = append(all, s.inUse...)
			}
		}
		ix, err := match.BuildLists(all, paced(m.opt.Build, p))
		if err != nil {
			errs = append(errs, fmt.Errorf("build the allow-list: %w", err))
		}
		u.Allow = ix
	}
	u.BuildTime = time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}

	// What was added: the values of a changed feed that it did not have
	// at the last build, less those another feed had; sorted merges of
	// the key sets, then one pass over the feed when something was.
	added := make([]int, len(snaps))
	removed := make([]int, len(snaps))
	if ixChanged {
		for i, s := range snaps {
			if !s.chg || s.fs.allow {
				continue
			}
			u.Feeds = append(u.Feeds, s.fs.spec.Name)
			newHs, gone, err := s.keys.diff(p, s.fs.builtKeys)
			if err != nil {
				return stopped(err)
			}
			removed[i] = gone
			u.Removed += gone
			for _, o := range snaps {
				if len(newHs) == 0 {
					break
				}
				if o.fs == s.fs || o.fs.allow {
					continue
				}
				if newHs, err = o.fs.builtKeys.without(p, newHs); err != nil {
					return stopped(err)
				}
			}
			switch {
			case len(newHs) == 0:
			case len(newHs) == len(s.keys): // every value is new
				u.added = append(u.added, addedPart{lists: s.inUse, all: true})
				added[i] = listsLen(s.inUse)
			default:
				tick := p.every(4096)
				j := 0
				for _, l := range s.inUse {
					for k := range l.Len() {
						if keySet(newHs).has(hashKey(l.KindAt(k), l.ValueAt(k))) {
							added[i]++
						}
						if err := tick(j); err != nil {
							return stopped(err)
						}
						j++
					}
				}
				u.added = append(u.added, addedPart{lists: s.inUse, hashes: newHs})
			}
			u.nAdded += added[i]
		}
	}
	for _, s := range snaps {
		if s.chg && s.fs.allow {
			u.Feeds = append(u.Feeds, s.fs.spec.Name)
		}
	}
	u.At = m.now()
	u.Paced = time.Duration(m.slept.Swap(0))

	m.mu.Lock()
	for i, s := range snaps {
		if s.chg {
			s.fs.builtKeys, s.fs.builtGen = s.keys, s.gen
			if !s.fs.allow {
				s.fs.st.Added, s.fs.st.Removed = added[i], removed[i]
			}
		}
	}
	m.builtGen = gen
	m.cur = u
	m.mu.Unlock()
	m.log.Info("indicator index rebuilt", "reason", reason, "feeds", u.Feeds, "indicators", u.Index.Len(),
		"added", u.nAdded, "removed", u.Removed, "build", u.BuildTime.Round(time.Millisecond),
		"paced", u.Paced.Round(time.Millisecond))
	if notify && m.opt.OnUpdate != nil {
		m.opt.OnUpdate(u)
	}
	return u, nil
}

// metaMemo changes the metadata of indexed indicators without touching
// what they share: indicators that shared a Meta share its changed copy.
type metaMemo map[*match.Meta]*match.Meta

// edit returns the changed copy of m; change runs once per distinct Meta
// of a memo, so a memo serves one change.
func (mm metaMemo) edit(m *match.Meta, change func(*match.Meta)) *match.Meta {
	c, ok := mm[m]
	if !ok {
		cp := *m
		change(&cp)
		c = &cp
		mm[m] = c
	}
	return c
}
