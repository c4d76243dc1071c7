package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iocwatch/iocwatch/match"
)

// Options configures a Manager. The zero value has no feeds; New fills
// the defaults named on each field. Plain data: New copies it.
type Options struct {
	// Feeds are the indicator feeds. Names are unique across Feeds and Allow.
	Feeds []Spec
	// Allow are feeds of values that must never alert (the allow-list),
	// loaded, watched and reloaded like Feeds into a second index. Callers
	// usually relax their Guard: an allow-list may name private ranges.
	Allow []Spec
	// AllowValues are allow-list values in indicator syntax (IP, CIDR,
	// domain, URL), fixed for the Manager's life.
	AllowValues []string
	// Build tunes both indexes.
	Build match.BuildOptions
	// CacheDir keeps the last good copy of every http and taxii feed (and
	// the retained values of TTL feeds). "" keeps none.
	CacheDir string
	// CacheReadOnly reads CacheDir as a running service left it but never
	// writes to it: no cache or retained file is created, replaced or
	// removed, no temporary file is made there, and no modification time
	// is moved. For one-shot loads (`check`, `lookup`) beside the service
	// that owns the directory: they start from the cached copies as the
	// service would, report what it would, and leave its state alone, so
	// that running one twice reports the same thing twice.
	CacheReadOnly bool
	// ShrinkGuard is the fraction (0–1) by which a feed may shrink in one
	// fetch before the fetch is held back as suspicious; 0 means
	// DefaultShrinkGuard (0.5), a negative value turns the guard off.
	ShrinkGuard float64
	// Debounce is how long a burst of file events must be quiet before the
	// files are read; 0 means DefaultDebounce (200ms).
	Debounce time.Duration
	// FilePoll re-checks file feeds (a stat, and a read when it changed)
	// this often, for file systems without change events; 0 means
	// DefaultFilePoll (1m), a negative value never polls.
	FilePoll time.Duration
	// RetryMin is the first retry delay of an http or taxii feed whose
	// fetch failed; it doubles up to the feed's Interval. 0 means
	// DefaultRetryMin (30s).
	RetryMin time.Duration
	// ReloadCPU is the share of one core (0–1) that the work of a reload
	// may use: parsing changed feeds and computing what changed are paced
	// by a duty cycle (work 5ms, then sleep in proportion) so that a
	// pipeline running beside keeps the cores it needs; a reload takes
	// about 1/ReloadCPU times longer. match.Build is paced too (through
	// BuildOptions.Yield); STIX and MISP content is read whole before it
	// is parsed, so only its reading is paced. The first Load is never paced.
	// 0 means DefaultReloadCPU (1: not paced); 1 or more, or a negative
	// value, does not pace; a share below MinReloadCPU paces as
	// MinReloadCPU.
	ReloadCPU float64
	// Now is the clock for fetch times, TTL and expiry; nil means time.Now.
	Now func() time.Time
	// Log receives a line per held-back shrink and rebuild, and a warning
	// when a feed starts failing or its error changes (a retry that fails
	// the same way is logged at debug level); nil discards.
	Log *slog.Logger
	// OnUpdate receives every index built after Load (Load returns the
	// first one instead). Calls never overlap and come in build order; the
	// callback should only swap a pointer and return.
	OnUpdate func(*Update)
}

// Update is one pair of indexes built by the Manager, with what changed.
// It is immutable once handed out: safe for concurrent reads.
type Update struct {
	// Index holds the indicators of every feed. Never nil.
	Index *match.Index
	// Allow holds the allow-list; nil when none is configured.
	Allow *match.Index
	// At is when the build finished (Options.Now).
	At time.Time
	// Reason is what caused it: "load", "file change", "file poll",
	// "interval", "reload", "confirm" or "ttl".
	Reason string
	// Feeds names the feeds whose indicators changed since the last build.
	Feeds []string
	// added names the indicators Added returns, nAdded counts them.
	added  []addedPart
	nAdded int
	// Removed counts the values that left a feed (summed over feeds).
	Removed int
	// BuildTime is how long match.Build took, both indexes together.
	BuildTime time.Duration
	// Paced is how long the work that led to this update (parsing the
	// changed feeds, comparing, and parses since the previous update that
	// changed nothing) slept to stay within Options.ReloadCPU; 0 when not
	// paced.
	Paced time.Duration
}

// addedPart is the added indicators of one feed: every indicator of
// lists, or those whose key hash is in hashes.
type addedPart struct {
	lists  []*match.List
	all    bool
	hashes keySet
}

// Added returns the indicators whose value (kind and canonical value) no
// feed had in the previous build: the first build adds everything.
// Allow-list feeds add nothing here. The indicators are built at each
// call (they are kept in the feeds' lists, without pointers, until then):
// call it once per update.
func (u *Update) Added() []*match.Indicator {
	out := make([]*match.Indicator, 0, u.nAdded)
	for _, p := range u.added {
		for _, l := range p.lists {
			if p.all {
				out = append(out, l.Indicators()...)
				continue
			}
			for i := range l.Len() {
				if p.hashes.has(hashKey(l.KindAt(i), l.ValueAt(i))) {
					ind := l.At(i)
					out = append(out, &ind)
				}
			}
		}
	}
	return out
}

// AddedCount returns len(u.Added()) without building the indicators.
func (u *Update) AddedCount() int { return u.nAdded }

// Manager owns every feed's current indicators, keeps them fresh (file
// watches, polling intervals, Reload) and builds the indexes off the hot
// path. The zero value is unusable: use New. A Manager is safe for
// concurrent use; see the package documentation for the semantics.
type Manager struct {
	opt     Options
	log     *slog.Logger
	now     func() time.Time
	shrink  float64 // 0: off
	feeds   []*feedState
	byName  map[string]*feedState
	static  []*match.Indicator // AllowValues
	hasAllw bool
	clients []*http.Client

	reloadCPU   float64       // share of a core for paced work; 0: not paced (guarded by mu, for tests)
	paceQuantum time.Duration // 0: paceQuantum; tests shorten it (guarded by mu)
	work        chan struct{} // one parse or rebuild at a time (startWork)
	slept       atomic.Int64  // nanoseconds paced work slept since the last build
	buildMu     sync.Mutex    // serialises builds and OnUpdate

	mu       sync.Mutex // guards the feed states' shared fields, gen, builtGen, cur, loaded
	gen      uint64
	builtGen uint64
	cur      *Update
	loaded   bool
}

// New checks the options and returns a Manager; nothing is read yet. The
// error names every bad feed (unknown type, missing path or URL, bad TLS
// files, duplicate names) and every bad allow value.
func New(opt Options) (*Manager, error) {
	m := &Manager{opt: opt, log: opt.Log, now: opt.Now, byName: map[string]*feedState{}, work: make(chan struct{}, 1)}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	switch {
	case opt.ReloadCPU == 0 && DefaultReloadCPU < 1:
		m.reloadCPU = DefaultReloadCPU
	case opt.ReloadCPU > 0 && opt.ReloadCPU < 1:
		m.reloadCPU = opt.ReloadCPU
	}
	switch {
	case opt.ShrinkGuard == 0:
		m.shrink = DefaultShrinkGuard
	case opt.ShrinkGuard > 0:
		m.shrink = min(opt.ShrinkGuard, 1)
	}
	if m.opt.Debounce <= 0 {
		m.opt.Debounce = DefaultDebounce
	}
	if m.opt.FilePoll == 0 {
		m.opt.FilePoll = DefaultFilePoll
	}
	if m.opt.RetryMin <= 0 {
		m.opt.RetryMin = DefaultRetryMin
	}
	var errs []error
	files := map[string]string{}
	add := func(s Spec, allow bool) {
		if err := s.validate(); err != nil {
			errs = append(errs, err)
			return
		}
		if _, dup := m.byName[s.Name]; dup {
			errs = append(errs, fmt.Errorf("feed %q: name used twice", s.Name))
			return
		}
		if other, dup := files[cacheName(s.Name)]; dup {
			errs = append(errs, fmt.Errorf("feed %q: its cache file name is that of feed %q", s.Name, other))
			return
		}
		files[cacheName(s.Name)] = s.Name
		fs := &feedState{spec: s, allow: allow, st: Status{Name: s.Name, Type: s.typ(), Location: s.location(), Allow: allow}}
		switch s.typ() {
		case TypeFile:
			fs.fetcher = &fileFetcher{path: s.Path, maxBytes: s.maxBytes()}
		case TypeHTTP, TypeTAXII:
			c, err := newHTTPClient(&fs.spec)
			if err != nil {
				errs = append(errs, err)
				return
			}
			m.clients = append(m.clients, c)
			if s.typ() == TypeHTTP {
				fs.fetcher = &httpFetcher{spec: &fs.spec, client: c}
			} else {
				fs.taxii = &taxiiClient{spec: &fs.spec, client: c}
			}
		}
		m.feeds = append(m.feeds, fs)
		m.byName[s.Name] = fs
	}
	for _, s := range opt.Feeds {
		add(s, false)
	}
	for _, s := range opt.Allow {
		add(s, true)
	}
	for i, v := range opt.AllowValues {
		kind, canon, err := match.ParseValue(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("allowlist[%d] %q: %w", i, v, err))
			continue
		}
		m.static = append(m.static, &match.Indicator{Kind: kind, Value: canon, Meta: &match.Meta{Source: "allowlist", Where: fmt.Sprintf("allowlist[%d]", i)}})
	}
	m.hasAllw = len(opt.Allow) > 0 || len(opt.AllowValues) > 0
	if err := errors.Join(errs...); err != nil {
		m.Close()
		return nil, err
	}
	return m, nil
}

// Load reads every feed once (concurrently), falling back to the cache
// for an http or taxii feed that cannot be fetched, and builds the first
// indexes, which it returns (OnUpdate is not called for them). A feed that
// fails is reported in Status and left out; the error is only for indexes
// that cannot be built. Calling Load again works like Reload.
func (m *Manager) Load(ctx context.Context) (*Update, error) {
	m.refreshAll(ctx, trigLoad)
	m.mu.Lock()
	first := !m.loaded
	m.mu.Unlock()
	u, err := m.rebuild(ctx, "load", !first) // paced unless first
	m.mu.Lock()
	m.loaded = true
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if u == nil {
		m.mu.Lock()
		u = m.cur
		m.mu.Unlock()
	}
	return u, nil
}

// Reload fetches every feed now (SIGHUP): files are read even if their
// stat did not change, remote feeds are asked with conditional requests.
// It returns the update it made (nil when nothing changed) and the feeds'
// errors joined, each naming its feed; a feed that failed keeps its last
// good indicators. A file feed held back by the shrink guard whose file
// still holds the shrunken content is confirmed.
func (m *Manager) Reload(ctx context.Context) (*Update, error) {
	errs := m.refreshAll(ctx, trigReload)
	u, err := m.rebuild(ctx, "reload", true)
	return u, errors.Join(append(errs, err)...)
}

// Confirm accepts the content held back by the shrink guard for the named
// feed and rebuilds the indexes. It is an error when no such feed exists
// or nothing is held back for it.
func (m *Manager) Confirm(name string) (*Update, error) {
	fs := m.byName[name]
	if fs == nil {
		return nil, fmt.Errorf("feed %q: no such feed", name)
	}
	fs.refreshMu.Lock()
	h := fs.held
	if h == nil {
		fs.refreshMu.Unlock()
		return nil, fmt.Errorf("feed %q: nothing held back to confirm", name)
	}
	m.log.Info("feed shrink confirmed by hand", "feed", name, "indicators", h.res.Indicators.Len(), "was", fs.listedLen())
	now := m.now()
	m.accept(fs, h.res, h.ver, h.body, now, now, false)
	fs.refreshMu.Unlock()
	return m.rebuild(context.Background(), "confirm", true)
}

// Status reports every feed (indicator feeds first, then allow-list
// feeds, each in configuration order). The result is a copy.
func (m *Manager) Status() []Status {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Status, len(m.feeds))
	for i, fs := range m.feeds {
		out[i] = fs.st.clone()
	}
	return out
}

// Current returns the last update built, nil before Load.
func (m *Manager) Current() *Update {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cur
}

// Run keeps the feeds fresh until ctx is done: it watches the directories
// of file feeds (debounced), re-checks them every FilePoll, and refreshes
// http and taxii feeds every Interval (sooner after a failure). Every
// change is built and handed to OnUpdate. Run returns nil once ctx is done
// and every goroutine it started has ended; it is an error to call it
// before Load.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	loaded := m.loaded
	m.mu.Unlock()
	if !loaded {
		return errors.New("feed manager: Run before Load")
	}
	var wg sync.WaitGroup
	var files []*feedState
	for _, fs := range m.feeds {
		if fs.spec.typ() == TypeFile {
			files = append(files, fs)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.pollRemote(ctx, fs)
		}()
	}
	if len(files) > 0 {
		w, err := newWatcher(m, files)
		if err != nil {
			m.log.Warn("cannot watch feed files; they are re-checked every file poll and on reload", "err", err)
		} else {
			wg.Add(1)
			go func() {
				defer wg.Done()
				w.run(ctx)
			}()
		}
		if m.opt.FilePoll > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m.pollFiles(ctx, files)
			}()
		}
	}
	wg.Wait()
	m.Close()
	return nil
}

// Close releases idle HTTP connections. It is safe to call more than
// once, and the Manager stays usable (connections are reopened).
func (m *Manager) Close() {
	for _, c := range m.clients {
		c.CloseIdleConnections()
	}
}

// pollRemote refreshes one http or taxii feed every Interval, retrying a
// failed fetch sooner (RetryMin, doubling up to Interval).
func (m *Manager) pollRemote(ctx context.Context, fs *feedState) {
	interval := fs.spec.interval()
	failures := 0
	m.mu.Lock()
	if fs.st.LastError != nil {
		failures = 1
	}
	m.mu.Unlock()
	for {
		delay := interval
		if failures > 0 {
			delay = min(interval, m.opt.RetryMin<<min(failures-1, 20))
		}
		if sleepCtx(ctx, delay) != nil {
			return
		}
		changed, err := m.refresh(ctx, fs, trigInterval)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failures++
		} else {
			failures = 0
		}
		if changed {
			m.rebuildLogged(ctx, "interval")
		}
	}
}

// pollFiles re-checks the file feeds every FilePoll.
func (m *Manager) pollFiles(ctx context.Context, files []*feedState) {
	t := time.NewTicker(m.opt.FilePoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed := false
		for _, fs := range files {
			c, _ := m.refresh(ctx, fs, trigPoll)
			changed = changed || c
		}
		if changed {
			m.rebuildLogged(ctx, "file poll")
		}
	}
}

// refreshAll refreshes every feed concurrently and returns their errors.
func (m *Manager) refreshAll(ctx context.Context, trig trigger) []error {
	errs := make([]error, len(m.feeds))
	var wg sync.WaitGroup
	for i, fs := range m.feeds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.refresh(ctx, fs, trig); err != nil {
				errs[i] = fmt.Errorf("%s %q: %w", fs.what(), fs.spec.Name, err)
			}
		}()
	}
	wg.Wait()
	return slices.DeleteFunc(errs, func(e error) bool { return e == nil })
}

// rebuildLogged rebuilds after a background change; the error is logged
// (the previous indexes stay in use) unless ctx ended.
func (m *Manager) rebuildLogged(ctx context.Context, reason string) {
	if _, err := m.rebuild(ctx, reason, true); err != nil && ctx.Err() == nil {
		m.log.Error("index rebuild failed; the previous index stays in use", "reason", reason, "err", err)
	}
}
