package ops

import (
	"context"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

// Defaults of Options.
const (
	DefaultInterval     = 5 * time.Second
	DefaultRecentAlerts = 50
	// MaxFeedLabels caps the distinct values of the "feed" label: an
	// indicator's source comes from the feed's data in some formats (a CSV
	// source column, a MISP organisation), and a label must not grow
	// without bound. Sources past the cap are counted as "other".
	MaxFeedLabels = 100
	// StaleFactor: a feed with a refresh interval is stale when its last
	// success is older than StaleFactor intervals.
	StaleFactor = 3
)

// Options configure a Monitor. The zero value is usable.
type Options struct {
	// Source names the source type in the "source" label and on the status
	// page ("kafka", "eventhubs", "file", "stdin"). Default "unknown".
	Source string
	// Interval is how often the monitor samples its counters: the window
	// of the status page's rates, the delay before a failing sink is
	// noticed, and the page's refresh period. Default DefaultInterval.
	Interval time.Duration
	// RecentAlerts is how many of the last alerts the status page keeps.
	// Default DefaultRecentAlerts; negative keeps none.
	RecentAlerts int
	// HideIdentities always hides device and account names on the status
	// page; without it a viewer hides them with ?hide=1.
	HideIdentities bool
	// Version is reported by iocwatch_build_info and the status page.
	// Default "devel".
	Version string
	// Revision, the commit the binary was built from, is reported by
	// iocwatch_build_info; "" when unknown.
	Revision string
	// Redact scrubs secrets from the text the monitor logs or shows (feed
	// errors); nil leaves text as it is. See NewRedactor.
	Redact func(string) string
	// Log receives one line per state change (readiness, a sink failing
	// or recovering, a feed failing, recovering or going stale). Default:
	// discard.
	Log *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Inputs are what a Monitor reads at scrape and sample time. Every field
// may be nil (the zero value reads nothing): what is missing is neither
// exported nor shown. What the fields point to must be safe for
// concurrent use.
type Inputs struct {
	// Pipeline is the pipeline's live counters (stream.Pipeline.Stats).
	Pipeline *stream.Stats
	// Rules holds the snapshot the pipeline matches with; the index is
	// "loaded" when it holds one with an Index.
	Rules *atomic.Pointer[stream.Rules]
	// Lag returns the consumer lag of every partition this replica reads.
	Lag func() []PartitionLag
	// Sinks reports per-sink counters (a *sink.Fan).
	Sinks SinkStatser
	// Suppressor reports the suppression counters (a *sink.Suppressor).
	Suppressor SuppressCounter
	// Feeds reports the state of every indicator feed.
	Feeds Feeds
	// Checks are more readiness conditions, such as "source": the source
	// is connected.
	Checks []Check
}

// PartitionLag is the consumer lag of one partition: for Kafka the high
// watermark minus the committed offset, for Event Hubs the last enqueued
// sequence number minus the checkpoint. The zero value is no lag on
// partition "" of topic "".
type PartitionLag struct {
	// Topic is the Kafka topic or the Event Hub.
	Topic string
	// Partition is the partition number or id, as text.
	Partition string
	// Messages is how many messages wait behind the committed position.
	Messages int64
}

// SinkStatser reports one Stats per sink; *sink.Fan implements it. It must
// be safe for concurrent use.
type SinkStatser interface {
	SinkStats() []sink.Stats
}

// SuppressCounter reports the counters of suppression; *sink.Suppressor
// implements it. It must be safe for concurrent use.
type SuppressCounter interface {
	Counts() sink.SuppressCounts
}

// Check is one readiness condition: Func returns nil when it holds, or the
// reason it does not ("consumer group iocwatch: not joined yet"). Func is
// called on every /readyz, scrape and sample, concurrently: it must be
// cheap and safe for concurrent use. A Check with a nil Func always holds.
type Check struct {
	Name string
	Func func() error
}

// Monitor turns the pipeline's counters, its hooks and the state of feeds
// and sinks into Prometheus metrics, readiness and the status page.
//
// Create one with NewMonitor, give its hooks to stream.Options (Hooks),
// then Watch the pipeline's inputs, Start the sampler and serve Handler.
// The zero value is not usable. All methods are safe for concurrent use.
type Monitor struct {
	opt     Options
	reg     *prometheus.Registry
	started time.Time

	// Hook metrics: updated by the hooks, never at scrape time.
	matches        *prometheus.CounterVec
	latency        prometheus.Histogram
	eventLag       prometheus.Histogram
	reloadDuration prometheus.Histogram
	reloads        *prometheus.CounterVec

	hitCounters sync.Map // hitKey → prometheus.Counter
	labels      feedLabels

	lastLatency, maxLatency   atomic.Int64 // ns; max: since the last sample; -1: no batch
	lastEventLag, maxEventLag atomic.Int64 // ns, likewise; -1: no batch with events
	lastAck                   atomic.Int64 // unix ns of the last acknowledged batch

	recent *ring

	mu       sync.RWMutex
	in       Inputs
	watching bool
	stopped  error // set by Stopped
	isStop   bool

	sampleMu sync.Mutex // one Sample at a time; guards what follows
	prev     *sample
	last     atomic.Pointer[sample]
	sinkSt   map[string]*sinkHealth
	feedSt   map[string]feedHealth
	ready    *bool

	idx indexCache

	loop struct {
		sync.Mutex
		cancel context.CancelFunc
		done   chan struct{}
	}
}

type hitKey struct {
	kind   match.Kind
	source string
}

// NewMonitor returns a Monitor with its own registry (never the global
// default one), holding the Go runtime and process collectors and every
// iocwatch metric; docs/operations.md lists them.
func NewMonitor(opt Options) *Monitor {
	if opt.Source == "" {
		opt.Source = "unknown"
	}
	if opt.Interval <= 0 {
		opt.Interval = DefaultInterval
	}
	if opt.RecentAlerts == 0 {
		opt.RecentAlerts = DefaultRecentAlerts
	}
	if opt.Version == "" {
		opt.Version = "devel"
	}
	if opt.Redact == nil {
		opt.Redact = func(s string) string { return s }
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	m := &Monitor{
		opt:     opt,
		reg:     prometheus.NewRegistry(),
		started: opt.Now(),
		recent:  newRing(max(opt.RecentAlerts, 0)),
		sinkSt:  map[string]*sinkHealth{},
		feedSt:  map[string]feedHealth{},
	}
	for _, v := range []*atomic.Int64{&m.lastLatency, &m.maxLatency, &m.lastEventLag, &m.maxEventLag} {
		v.Store(-1)
	}
	m.labels.known = map[string]bool{}
	m.matches = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "iocwatch_matches_total",
		Help: "Indicator hits, before the allow-list and exclusions, by indicator kind and feed (the indicator's source).",
	}, []string{"kind", "feed"})
	m.latency = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "iocwatch_processing_latency_seconds",
		Help:    "Time from reading a batch to its acknowledgement, after every sink accepted its alerts.",
		Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	})
	m.eventLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "iocwatch_event_lag_seconds",
		Help:    "Time from the newest event Timestamp of a batch to its acknowledgement: how far behind reality alerts are.",
		Buckets: []float64{.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600},
	})
	m.reloadDuration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "iocwatch_index_reload_duration_seconds",
		Help:    "Time to fetch, parse and build a new indicator index on reload.",
		Buckets: []float64{.01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120},
	})
	m.reloads = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "iocwatch_index_reloads_total",
		Help: "Index reloads by result (ok: swapped in; error: the previous index was kept).",
	}, []string{"result"})
	m.reloads.WithLabelValues("ok")
	m.reloads.WithLabelValues("error")
	buildInfo := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "iocwatch_build_info",
		Help:        "Always 1; the labels say which iocwatch runs.",
		ConstLabels: prometheus.Labels{"version": opt.Version, "revision": opt.Revision, "goversion": runtime.Version()},
	})
	buildInfo.Set(1)
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		buildInfo, m.matches, m.latency, m.eventLag, m.reloadDuration, m.reloads,
		(*scrapeCollector)(m),
	)
	return m
}

// Registry returns the monitor's registry, to serve or to register more
// collectors on (a source's own counters).
func (m *Monitor) Registry() *prometheus.Registry { return m.reg }

// Hooks sets the pipeline hooks the monitor needs in opt, calling any hook
// already set there first.
func (m *Monitor) Hooks(opt *stream.Options) {
	if prev := opt.OnHit; prev != nil {
		opt.OnHit = func(h match.Hit) { prev(h); m.OnHit(h) }
	} else {
		opt.OnHit = m.OnHit
	}
	if prev := opt.OnAcked; prev != nil {
		opt.OnAcked = func(r stream.BatchReport) { prev(r); m.OnAcked(r) }
	} else {
		opt.OnAcked = m.OnAcked
	}
	if prev := opt.OnDelivered; prev != nil {
		opt.OnDelivered = func(a []sink.Alert, t time.Time) { prev(a, t); m.OnDelivered(a, t) }
	} else {
		opt.OnDelivered = m.OnDelivered
	}
}

// OnHit counts one indicator hit (stream.Options.OnHit).
func (m *Monitor) OnHit(h match.Hit) {
	if h.Indicator.Kind == match.KindInvalid {
		return
	}
	k := hitKey{kind: h.Indicator.Kind}
	if h.Indicator.Meta != nil {
		k.source = h.Indicator.Meta.Source
	}
	if c, ok := m.hitCounters.Load(k); ok {
		c.(prometheus.Counter).Inc()
		return
	}
	label, kept := m.labels.label(k.source)
	c := m.matches.WithLabelValues(k.kind.String(), label)
	if kept {
		m.hitCounters.Store(k, c)
	}
	c.Inc()
}

// OnAcked observes the processing latency and the event lag of one
// acknowledged batch (stream.Options.OnAcked).
func (m *Monitor) OnAcked(r stream.BatchReport) {
	lat := max(r.AckedAt.Sub(r.ReadAt), 0)
	m.latency.Observe(lat.Seconds())
	m.lastLatency.Store(int64(lat))
	atomicMax(&m.maxLatency, int64(lat))
	if !r.Newest.IsZero() {
		lag := max(r.AckedAt.Sub(r.Newest), 0)
		m.eventLag.Observe(lag.Seconds())
		m.lastEventLag.Store(int64(lag))
		atomicMax(&m.maxEventLag, int64(lag))
	}
	m.lastAck.Store(r.AckedAt.UnixNano())
}

// OnDelivered keeps the last alerts for the status page
// (stream.Options.OnDelivered).
func (m *Monitor) OnDelivered(alerts []sink.Alert, _ time.Time) {
	m.recent.push(alerts)
}

// ObserveReload records one index reload: how long it took and whether it
// was swapped in (err == nil) or the previous index kept.
func (m *Monitor) ObserveReload(d time.Duration, err error) {
	if err != nil {
		m.reloads.WithLabelValues("error").Inc()
		return
	}
	m.reloads.WithLabelValues("ok").Inc()
	m.reloadDuration.Observe(d.Seconds())
}

// Watch gives the monitor what it reads. It may be called again to add
// inputs: non-nil fields replace those given before, Checks are appended.
// From the first Watch on, the pipeline counts as running (readiness)
// until Stopped.
func (m *Monitor) Watch(in Inputs) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if in.Pipeline != nil {
		m.in.Pipeline = in.Pipeline
	}
	if in.Rules != nil {
		m.in.Rules = in.Rules
	}
	if in.Lag != nil {
		m.in.Lag = in.Lag
	}
	if in.Sinks != nil {
		m.in.Sinks = in.Sinks
	}
	if in.Suppressor != nil {
		m.in.Suppressor = in.Suppressor
	}
	if in.Feeds != nil {
		m.in.Feeds = in.Feeds
	}
	m.in.Checks = append(m.in.Checks, in.Checks...)
	m.watching = true
}

// Stopped records that the pipeline ended, with its error (nil for a
// clean stop): readiness fails from then on.
func (m *Monitor) Stopped(err error) {
	m.mu.Lock()
	m.isStop, m.stopped = true, err
	m.mu.Unlock()
}

func (m *Monitor) inputs() Inputs {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.in
}

// Start starts the sampler: a goroutine that calls Sample every Interval
// until Close. Calling Start again does nothing.
func (m *Monitor) Start() {
	m.loop.Lock()
	defer m.loop.Unlock()
	if m.loop.done != nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	m.loop.cancel, m.loop.done = cancel, make(chan struct{})
	go func() {
		defer close(m.loop.done)
		t := time.NewTicker(m.opt.Interval)
		defer t.Stop()
		m.Sample()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				m.Sample()
			}
		}
	}()
}

// Close stops the sampler and waits for it. Safe to call twice, and
// without Start.
func (m *Monitor) Close() error {
	m.loop.Lock()
	defer m.loop.Unlock()
	if m.loop.done == nil {
		return nil
	}
	m.loop.cancel()
	<-m.loop.done
	return nil
}

// atomicMax raises v to n.
func atomicMax(v *atomic.Int64, n int64) {
	for {
		cur := v.Load()
		if n <= cur || v.CompareAndSwap(cur, n) {
			return
		}
	}
}

// feedLabels bounds the values of the "feed" label.
type feedLabels struct {
	mu    sync.Mutex
	known map[string]bool
}

// label returns the label value for an indicator source, and whether it
// is the source's own (false once MaxFeedLabels sources were seen).
func (f *feedLabels) label(source string) (string, bool) {
	if source == "" {
		return "unknown", true
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.known[source] {
		return source, true
	}
	if len(f.known) >= MaxFeedLabels {
		return "other", false
	}
	f.known[source] = true
	return source, true
}

// errNotWatching is the readiness reason before Watch.
var errNotWatching = errors.New("pipeline not started")
