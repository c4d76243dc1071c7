package ops

import (
	"sort"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream"
)

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// The metrics read at scrape time from counters that already exist
// (stream.Stats, sink stats, feed state): nothing is added to the hot path.
var (
	dBatchesRead  = desc("iocwatch_batches_read_total", "Batches read from the source.", "source")
	dBatchesAcked = desc("iocwatch_batches_acked_total", "Batches acknowledged (offset committed or checkpoint written) after every sink accepted their alerts.", "source")
	dMessages     = desc("iocwatch_messages_read_total", "Messages (Event Hubs bodies, Kafka values, lines) read from the source.", "source")
	dRecords      = desc("iocwatch_records_read_total", "Records decoded, by source and Advanced Hunting table (Other: tables that are counted and skipped).", "source", "table")
	dDecodeErrors = desc("iocwatch_decode_errors_total", "Messages or records that could not be decoded.", "source")
	dDeadLettered = desc("iocwatch_dead_lettered_messages_total", "Undecodable messages written to the dead-letter destination.", "source")
	dOversized    = desc("iocwatch_oversized_messages_total", "Messages over pipeline.max_message_bytes, dead-lettered undecoded.", "source")
	dAllowlisted  = desc("iocwatch_allowlisted_hits_total", "Indicator hits dropped because the allow-list matched the same field.")
	dExcluded     = desc("iocwatch_excluded_hits_total", "Indicator hits suppressed by an exclusion rule, by rule name.", "rule")
	dAlerts       = desc("iocwatch_alerts_total", "Alerts accepted by the sink stack (before suppression of repeats).")
	dInFlight     = desc("iocwatch_in_flight_batches", "Batches read but not yet acknowledged.")
	dLastAck      = desc("iocwatch_last_ack_timestamp_seconds", "Unix time of the last batch acknowledgement.")

	dSinkAlerts   = desc("iocwatch_sink_alerts_total", "Alerts a sink accepted.", "sink")
	dSinkErrors   = desc("iocwatch_sink_errors_total", "Alerts whose write to a sink returned an error (for a best-effort sink: failed or dropped).", "sink")
	dSinkDropped  = desc("iocwatch_sink_dropped_alerts_total", "Alerts a best-effort sink's buffer had no room for.", "sink")
	dSinkRetries  = desc("iocwatch_sink_retries_total", "Re-attempts of writes to a sink.", "sink")
	dSinkDead     = desc("iocwatch_sink_dead_lettered_alerts_total", "Alerts a sink refused permanently, written to the alert dead-letter file.", "sink")
	dSinkQueue    = desc("iocwatch_sink_queue_depth", "Alerts waiting in a sink's queue.", "sink")
	dSinkUp       = desc("iocwatch_sink_up", "1 while a sink accepts alerts, 0 while its writes fail or are retried without success.", "sink")
	dSinkBestEff  = desc("iocwatch_sink_best_effort", "1 for a best-effort sink (never holds the stream), 0 for a required one.", "sink")
	dSuppressed   = desc("iocwatch_suppressed_alerts_total", "Alerts the suppressor dropped: duplicate (same AlertID delivered again) or repeat (same device × indicator inside the window).", "reason")
	dSummaries    = desc("iocwatch_suppression_summaries_total", "Summary alerts of repeat windows accepted by the sinks.")
	dSummaryFails = desc("iocwatch_suppression_summary_failures_total", "Failed attempts to send summary alerts (they are retried).")
	dEvictions    = desc("iocwatch_suppression_evictions_total", "Suppression table entries evicted for capacity before they expired.")
	dSupKeys      = desc("iocwatch_suppression_keys", "AlertIDs the suppressor remembers.")
	dSupWindows   = desc("iocwatch_suppression_windows", "Open repeat windows.")

	dConsumerLag = desc("iocwatch_consumer_lag_messages", "Messages behind the committed position, per partition this replica reads (Kafka: high watermark − committed offset; Event Hubs: last enqueued sequence number − checkpoint).", "topic", "partition")

	dIndicators     = desc("iocwatch_indicators", "Indicators in the index in use, by kind and feed (the indicator's source); a kind the index lacks is 0 with feed=\"\".", "kind", "feed")
	dFeedSuccess    = desc("iocwatch_feed_last_success_timestamp_seconds", "Unix time of a feed's last successful load.", "feed")
	dFeedFetch      = desc("iocwatch_feed_last_fetch_timestamp_seconds", "Unix time of a feed's last load attempt.", "feed")
	dFeedErrors     = desc("iocwatch_feed_fetch_errors_total", "Failed loads of a feed (its last good indicators were kept).", "feed")
	dFeedUp         = desc("iocwatch_feed_up", "1 when a feed's last load succeeded, 0 when it failed.", "feed")
	dFeedHeld       = desc("iocwatch_feed_held_back", "1 while the shrink guard holds back a fetch of a feed that shrank (its previous indicators stay in use), else 0.", "feed")
	dFeedInterval   = desc("iocwatch_feed_refresh_interval_seconds", "How often a feed is fetched (only for feeds fetched on an interval).", "feed")
	dFeedDuration   = desc("iocwatch_feed_reload_duration_seconds", "Time the last successful load of a feed took (fetch and parse).", "feed")
	dFeedIndicators = desc("iocwatch_feed_indicators", "Indicators of a feed's last good load, by kind.", "feed", "kind")

	dReady = desc("iocwatch_ready", "1 when /readyz reports ready (index loaded, source connected, sinks accepting), else 0.")
)

var allDescs = []*prometheus.Desc{
	dBatchesRead, dBatchesAcked, dMessages, dRecords, dDecodeErrors, dDeadLettered, dOversized, dAllowlisted,
	dExcluded, dAlerts, dInFlight, dLastAck, dSinkAlerts, dSinkErrors, dSinkDropped, dSinkRetries, dSinkDead,
	dSinkQueue, dSinkUp, dSinkBestEff, dSuppressed, dSummaries, dSummaryFails, dEvictions, dSupKeys, dSupWindows,
	dConsumerLag, dIndicators, dFeedSuccess, dFeedFetch, dFeedErrors, dFeedUp, dFeedHeld, dFeedInterval, dFeedDuration,
	dFeedIndicators, dReady,
}

// scrapeCollector is the Monitor seen as a prometheus.Collector.
type scrapeCollector Monitor

// Describe sends every descriptor the collector may emit.
func (c *scrapeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range allDescs {
		ch <- d
	}
}

// Collect reads the inputs and emits their current values.
func (c *scrapeCollector) Collect(ch chan<- prometheus.Metric) {
	m := (*Monitor)(c)
	in := m.inputs()
	counter := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, labels...)
	}
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	src := m.opt.Source
	if st := in.Pipeline; st != nil {
		counter(dBatchesRead, float64(st.Batches.Load()), src)
		counter(dBatchesAcked, float64(st.Acked.Load()), src)
		counter(dMessages, float64(st.Messages.Load()), src)
		for t := range st.ByTable {
			counter(dRecords, float64(st.ByTable[t].Load()), src, stream.Table(t).String())
		}
		counter(dDecodeErrors, float64(st.DecodeErrors.Load()), src)
		counter(dDeadLettered, float64(st.DeadLettered.Load()), src)
		counter(dOversized, float64(st.Oversized.Load()), src)
		counter(dAllowlisted, float64(st.Allowed.Load()))
		for rule, n := range st.ExcludedByRule() {
			counter(dExcluded, float64(n), rule)
		}
		counter(dAlerts, float64(st.Alerts.Load()))
		gauge(dInFlight, float64(max(st.Batches.Load()-st.Acked.Load(), 0)))
	}
	if t := m.lastAck.Load(); t != 0 {
		gauge(dLastAck, float64(t)/1e9)
	}
	if in.Sinks != nil {
		up := m.sinkUp()
		for _, s := range in.Sinks.SinkStats() {
			counter(dSinkAlerts, float64(s.Accepted), s.Name)
			counter(dSinkErrors, float64(s.Failed), s.Name)
			counter(dSinkDropped, float64(s.Dropped), s.Name)
			counter(dSinkRetries, float64(s.Retries), s.Name)
			counter(dSinkDead, float64(s.DeadLettered), s.Name)
			gauge(dSinkQueue, float64(s.QueueDepth), s.Name)
			gauge(dSinkUp, boolFloat(up[s.Name]), s.Name)
			gauge(dSinkBestEff, boolFloat(s.BestEffort), s.Name)
		}
	}
	if in.Suppressor != nil {
		sc := in.Suppressor.Counts()
		counter(dSuppressed, float64(sc.Duplicates), "duplicate")
		counter(dSuppressed, float64(sc.Repeats), "repeat")
		counter(dSummaries, float64(sc.SummariesSent))
		counter(dSummaryFails, float64(sc.SummaryFailures))
		counter(dEvictions, float64(sc.Evicted))
		gauge(dSupKeys, float64(sc.Keys))
		gauge(dSupWindows, float64(sc.Windows))
	}
	if in.Lag != nil {
		for _, l := range in.Lag() {
			gauge(dConsumerLag, float64(l.Messages), l.Topic, l.Partition)
		}
	}
	if ix := m.index(in); ix != nil {
		var have [match.KindPattern + 1]bool
		for _, e := range m.idx.byKindFeed(ix, &m.labels) {
			gauge(dIndicators, float64(e.n), e.kind, e.feed)
			if k, err := match.ParseKind(e.kind); err == nil && k <= match.KindPattern {
				have[k] = true
			}
		}
		// A kind the index lacks is exported as 0 with feed="" (no feed),
		// so that sum(iocwatch_indicators) is 0, not absent, for an empty
		// index.
		for k := match.KindIP; k <= match.KindPattern; k++ {
			if !have[k] {
				gauge(dIndicators, 0, k.String(), "")
			}
		}
	}
	if in.Feeds != nil {
		for _, f := range in.Feeds.FeedStates() {
			if !f.LastSuccess.IsZero() {
				gauge(dFeedSuccess, unixSeconds(f.LastSuccess), f.Name)
			}
			if !f.LastFetch.IsZero() {
				gauge(dFeedFetch, unixSeconds(f.LastFetch), f.Name)
			}
			counter(dFeedErrors, float64(f.FetchErrors), f.Name)
			gauge(dFeedUp, boolFloat(f.LastError == ""), f.Name)
			gauge(dFeedHeld, boolFloat(f.HeldBack != ""), f.Name)
			if f.Interval > 0 {
				gauge(dFeedInterval, f.Interval.Seconds(), f.Name)
			}
			if f.LastDuration > 0 {
				gauge(dFeedDuration, f.LastDuration.Seconds(), f.Name)
			}
			for _, k := range sortedKeys(f.Indicators) {
				gauge(dFeedIndicators, float64(f.Indicators[k]), f.Name, k)
			}
		}
	}
	ready, _ := m.Ready()
	gauge(dReady, boolFloat(ready))
}

// index returns the index in use, or nil.
func (m *Monitor) index(in Inputs) *match.Index {
	if in.Rules == nil {
		return nil
	}
	r := in.Rules.Load()
	if r == nil {
		return nil
	}
	return r.Index
}

// indexCache holds the indicator counts by kind and feed of one index:
// computed once per index (a reload swaps the pointer), not per scrape.
type indexCache struct {
	mu     sync.Mutex
	ix     *match.Index
	counts []kindFeedCount
}

type kindFeedCount struct {
	kind, feed string
	n          int
}

func (c *indexCache) byKindFeed(ix *match.Index, labels *feedLabels) []kindFeedCount {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ix == ix {
		return c.counts
	}
	type key struct {
		kind match.Kind
		feed string
	}
	n := map[key]int{}
	bySource := map[string]string{}
	for _, ind := range ix.Indicators() {
		feed, ok := bySource[ind.Meta.Source]
		if !ok {
			feed, _ = labels.label(ind.Meta.Source)
			bySource[ind.Meta.Source] = feed
		}
		n[key{ind.Kind, feed}]++
	}
	out := make([]kindFeedCount, 0, len(n))
	for k, v := range n {
		out = append(out, kindFeedCount{k.kind.String(), k.feed, v})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].feed != out[j].feed {
			return out[i].feed < out[j].feed
		}
		return out[i].kind < out[j].kind
	})
	c.ix, c.counts = ix, out
	return out
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
