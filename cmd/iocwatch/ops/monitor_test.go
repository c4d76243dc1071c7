package ops_test

import (
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/iocwatch/iocwatch/cmd/iocwatch/ops"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

// testIndex builds an index of ip, domain and url indicators from two
// feeds.
func testIndex(t *testing.T) (*atomic.Pointer[stream.Rules], []*match.Indicator) {
	t.Helper()
	inds := []*match.Indicator{
		{Kind: match.KindIP, Value: "203.0.113.77", Meta: &match.Meta{Source: "abuse.ch"}},
		{Kind: match.KindCIDR, Value: "198.51.100.0/24", Meta: &match.Meta{Source: "abuse.ch"}},
		{Kind: match.KindDomain, Value: "bad-cdn.example", Meta: &match.Meta{Source: "partner"}},
		{Kind: match.KindDomain, Value: "evil.example.net", Meta: &match.Meta{Source: "partner"}},
		{Kind: match.KindURL, Value: "http://files.example.com/dl/stage2.bin", Meta: &match.Meta{Source: "partner"}},
	}
	ix, err := match.Build(inds, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var h atomic.Pointer[stream.Rules]
	h.Store(&stream.Rules{Index: ix})
	return &h, inds
}

func TestMetricsReadTheCountersAtScrapeTime(t *testing.T) {
	rules, _ := testIndex(t)
	st := &stream.Stats{}
	st.Batches.Store(12)
	st.Acked.Store(10)
	st.Messages.Store(40)
	st.Records.Store(320)
	st.ByTable[stream.TableDeviceNetworkEvents].Store(300)
	st.ByTable[stream.TableOther].Store(20)
	st.DecodeErrors.Store(3)
	st.DeadLettered.Store(2)
	st.Oversized.Store(1)
	st.Allowed.Store(4)
	st.Alerts.Store(7)
	sinks := &fakeSinks{stats: []sink.Stats{
		{Name: "soar", Accepted: 7, Failed: 2, Retries: 5, DeadLettered: 1, QueueDepth: 3},
		{Name: "chat", BestEffort: true, Accepted: 6, Failed: 1, Dropped: 1},
	}}
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	mon := ops.NewMonitor(ops.Options{Source: "kafka"})
	mon.Watch(ops.Inputs{
		Pipeline: st, Rules: rules, Sinks: sinks,
		Suppressor: fakeSuppressor{sink.SuppressCounts{Duplicates: 2, Repeats: 9, SummariesSent: 1, Keys: 5, Windows: 4}},
		Lag: func() []ops.PartitionLag {
			return []ops.PartitionLag{{Topic: "defender", Partition: "0", Messages: 15}, {Topic: "defender", Partition: "1", Messages: 0}}
		},
		Feeds: ops.FeedsFunc(func() []ops.FeedState {
			return []ops.FeedState{
				{Name: "abuse.ch", Indicators: map[string]int{"ip": 1, "cidr": 1}, LastFetch: now, LastSuccess: now,
					Interval: 5 * time.Minute, LastDuration: 1500 * time.Millisecond, FetchErrors: 2},
				{Name: "partner", Indicators: map[string]int{"domain": 2}, LastFetch: now, LastError: "HTTP 503"},
				{Name: "threatfox", Indicators: map[string]int{"url": 4}, LastFetch: now, LastSuccess: now, HeldBack: "shrank from 4 to 1 indicators"},
			}
		}),
	})
	// The counters move after Watch: a scrape must see the new values.
	st.Records.Add(80)
	st.ByTable[stream.TableDeviceEvents].Store(80)

	fams := families(t, mon.Registry())
	tests := []struct {
		name, metric, labels string
		want                 float64
	}{
		{"batches read are counted per source", "iocwatch_batches_read_total", `source="kafka"`, 12},
		{"batches acknowledged are counted", "iocwatch_batches_acked_total", `source="kafka"`, 10},
		{"messages are counted", "iocwatch_messages_read_total", `source="kafka"`, 40},
		{"records are counted by table", "iocwatch_records_read_total", `source="kafka",table="DeviceNetworkEvents"`, 300},
		{"records of DeviceEvents added after Watch show", "iocwatch_records_read_total", `source="kafka",table="DeviceEvents"`, 80},
		{"records of skipped tables are counted as Other", "iocwatch_records_read_total", `source="kafka",table="Other"`, 20},
		{"decode errors are counted", "iocwatch_decode_errors_total", `source="kafka"`, 3},
		{"dead-lettered messages are counted", "iocwatch_dead_lettered_messages_total", `source="kafka"`, 2},
		{"oversized messages are counted", "iocwatch_oversized_messages_total", `source="kafka"`, 1},
		{"allow-listed hits are counted", "iocwatch_allowlisted_hits_total", ``, 4},
		{"alerts are counted", "iocwatch_alerts_total", ``, 7},
		{"batches in flight are read minus acknowledged", "iocwatch_in_flight_batches", ``, 2},
		{"alerts a sink accepted are counted by sink", "iocwatch_sink_alerts_total", `sink="soar"`, 7},
		{"sink errors are counted by sink", "iocwatch_sink_errors_total", `sink="soar"`, 2},
		{"sink retries are counted by sink", "iocwatch_sink_retries_total", `sink="soar"`, 5},
		{"dead-lettered alerts are counted by sink", "iocwatch_sink_dead_lettered_alerts_total", `sink="soar"`, 1},
		{"the queue depth is a gauge per sink", "iocwatch_sink_queue_depth", `sink="soar"`, 3},
		{"best-effort drops are counted", "iocwatch_sink_dropped_alerts_total", `sink="chat"`, 1},
		{"a best-effort sink is marked", "iocwatch_sink_best_effort", `sink="chat"`, 1},
		{"a required sink is marked", "iocwatch_sink_best_effort", `sink="soar"`, 0},
		{"a sink not sampled yet counts as up", "iocwatch_sink_up", `sink="soar"`, 1},
		{"duplicates suppressed are counted", "iocwatch_suppressed_alerts_total", `reason="duplicate"`, 2},
		{"repeats suppressed are counted", "iocwatch_suppressed_alerts_total", `reason="repeat"`, 9},
		{"summaries sent are counted", "iocwatch_suppression_summaries_total", ``, 1},
		{"the suppression keys are a gauge", "iocwatch_suppression_keys", ``, 5},
		{"open windows are a gauge", "iocwatch_suppression_windows", ``, 4},
		{"consumer lag is a gauge per partition", "iocwatch_consumer_lag_messages", `partition="0",topic="defender"`, 15},
		{"a partition without lag shows 0", "iocwatch_consumer_lag_messages", `partition="1",topic="defender"`, 0},
		{"a feed held back by the shrink guard is marked", "iocwatch_feed_held_back", `feed="threatfox"`, 1},
		{"a feed not held back is not", "iocwatch_feed_held_back", `feed="abuse.ch"`, 0},
		{"indicators are counted by kind and feed from the index", "iocwatch_indicators", `feed="partner",kind="domain"`, 2},
		{"cidr indicators are their own kind", "iocwatch_indicators", `feed="abuse.ch",kind="cidr"`, 1},
		{"a feed's last success is a Unix time", "iocwatch_feed_last_success_timestamp_seconds", `feed="abuse.ch"`, float64(now.Unix())},
		{"a feed's fetch errors are counted", "iocwatch_feed_fetch_errors_total", `feed="abuse.ch"`, 2},
		{"a feed whose last fetch succeeded is up", "iocwatch_feed_up", `feed="abuse.ch"`, 1},
		{"a feed whose last fetch failed is down", "iocwatch_feed_up", `feed="partner"`, 0},
		{"a feed's refresh interval is exported", "iocwatch_feed_refresh_interval_seconds", `feed="abuse.ch"`, 300},
		{"a feed's reload duration is exported", "iocwatch_feed_reload_duration_seconds", `feed="abuse.ch"`, 1.5},
		{"a feed's indicators are counted by kind", "iocwatch_feed_indicators", `feed="partner",kind="domain"`, 2},
		{"the watcher is ready: index loaded, pipeline watched, no sink failing", "iocwatch_ready", ``, 1},
		{"index reloads start at zero", "iocwatch_index_reloads_total", `result="ok"`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := value(fams, tt.metric, tt.labels)
			if !ok {
				t.Fatalf("%s{%s} missing", tt.metric, tt.labels)
			}
			if got != tt.want {
				t.Errorf("%s{%s} = %v, want %v", tt.metric, tt.labels, got, tt.want)
			}
		})
	}
	t.Run("a feed that never succeeded has no last-success time", func(t *testing.T) {
		if _, ok := value(fams, "iocwatch_feed_last_success_timestamp_seconds", `feed="partner"`); ok {
			t.Error("the partner feed has a last success time")
		}
	})
	t.Run("the Go runtime and process collectors are registered", func(t *testing.T) {
		for _, name := range []string{"go_goroutines", "process_resident_memory_bytes", "iocwatch_build_info"} {
			if _, ok := fams[name]; !ok {
				t.Errorf("%s missing", name)
			}
		}
	})
}

func TestMetricsPassPromlint(t *testing.T) {
	rules, _ := testIndex(t)
	mon := ops.NewMonitor(ops.Options{Source: "file"})
	st := &stream.Stats{}
	mon.Watch(ops.Inputs{Pipeline: st, Rules: rules, Sinks: &fakeSinks{stats: []sink.Stats{{Name: "soar"}}},
		Suppressor: fakeSuppressor{}, Lag: func() []ops.PartitionLag { return []ops.PartitionLag{{Topic: "t", Partition: "0"}} },
		Feeds: ops.FeedsFunc(func() []ops.FeedState {
			return []ops.FeedState{{Name: "f", LastSuccess: time.Now(), LastFetch: time.Now(), Interval: time.Minute, LastDuration: time.Second}}
		})})
	mon.OnHit(match.Hit{Indicator: match.Indicator{Kind: match.KindIP, Meta: &match.Meta{Source: "f"}}})
	problems, err := testutil.GatherAndLint(mon.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "go_") || strings.HasPrefix(p.Metric, "process_") {
			continue // the client library's own collectors
		}
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

func TestHooksCountHitsAndObserveBatches(t *testing.T) {
	mon := ops.NewMonitor(ops.Options{RecentAlerts: 3})
	var opt stream.Options
	var chained []string
	opt.OnDelivered = func(a []sink.Alert, _ time.Time) { chained = append(chained, a[0].AlertID) }
	mon.Hooks(&opt)

	ip := match.Indicator{Kind: match.KindIP, Value: "203.0.113.77", Meta: &match.Meta{Source: "abuse.ch"}}
	dom := match.Indicator{Kind: match.KindDomain, Value: "bad-cdn.example", Meta: &match.Meta{Source: "partner"}}
	for range 3 {
		opt.OnHit(match.Hit{Indicator: ip, Field: match.FieldRemoteIP})
	}
	opt.OnHit(match.Hit{Indicator: dom, Field: match.FieldRemoteURL})
	opt.OnHit(match.Hit{Indicator: match.Indicator{Kind: match.KindURL}})
	opt.OnHit(match.Hit{}) // no indicator: ignored

	read := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	opt.OnAcked(stream.BatchReport{ReadAt: read, AckedAt: read.Add(40 * time.Millisecond), Newest: read.Add(-3 * time.Second)})
	opt.OnAcked(stream.BatchReport{ReadAt: read, AckedAt: read.Add(10 * time.Millisecond)}) // no watched record: no event lag
	for i := range 5 {
		opt.OnDelivered([]sink.Alert{{AlertID: fmt.Sprint(i)}}, read)
	}

	fams := families(t, mon.Registry())
	tests := []struct {
		name, metric, labels string
		want                 float64
	}{
		{"hits are counted by kind and feed", "iocwatch_matches_total", `feed="abuse.ch",kind="ip"`, 3},
		{"another feed has its own series", "iocwatch_matches_total", `feed="partner",kind="domain"`, 1},
		{"an indicator without a source counts as unknown", "iocwatch_matches_total", `feed="unknown",kind="url"`, 1},
		{"every acknowledged batch observes the processing latency", "iocwatch_processing_latency_seconds", ``, 2},
		{"only batches with events observe the event lag", "iocwatch_event_lag_seconds", ``, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := value(fams, tt.metric, tt.labels)
			if !ok || got != tt.want {
				t.Errorf("%s{%s} = %v (present %v), want %v", tt.metric, tt.labels, got, ok, tt.want)
			}
		})
	}
	t.Run("the latency histogram sums the latencies in seconds", func(t *testing.T) {
		h := fams["iocwatch_processing_latency_seconds"].GetMetric()[0].GetHistogram()
		if got := h.GetSampleSum(); got < 0.0499 || got > 0.0501 {
			t.Errorf("sum = %v, want 0.05", got)
		}
	})
	t.Run("the event lag is acknowledgement minus the newest event", func(t *testing.T) {
		h := fams["iocwatch_event_lag_seconds"].GetMetric()[0].GetHistogram()
		if got := h.GetSampleSum(); got < 3.039 || got > 3.041 {
			t.Errorf("sum = %v, want 3.04", got)
		}
	})
	t.Run("hooks already set are still called", func(t *testing.T) {
		if len(chained) != 5 {
			t.Errorf("the earlier OnDelivered saw %d calls, want 5", len(chained))
		}
	})
}

func TestFeedLabelIsBounded(t *testing.T) {
	mon := ops.NewMonitor(ops.Options{})
	for i := range ops.MaxFeedLabels + 20 {
		mon.OnHit(match.Hit{Indicator: match.Indicator{Kind: match.KindIP, Meta: &match.Meta{Source: fmt.Sprintf("src-%03d", i)}}})
	}
	fams := families(t, mon.Registry())
	if n := len(fams["iocwatch_matches_total"].GetMetric()); n != ops.MaxFeedLabels+1 {
		t.Errorf("%d series, want %d sources and other", n, ops.MaxFeedLabels)
	}
	if got, _ := value(fams, "iocwatch_matches_total", `feed="other",kind="ip"`); got != 20 {
		t.Errorf("other = %v, want 20", got)
	}
}

func TestObserveReloadCountsResults(t *testing.T) {
	mon := ops.NewMonitor(ops.Options{})
	mon.ObserveReload(2*time.Second, nil)
	mon.ObserveReload(time.Second, errors.New("feed x: 503"))
	mon.ObserveReload(time.Second, errors.New("feed x: 503"))
	fams := families(t, mon.Registry())
	for _, c := range []struct {
		metric, labels string
		want           float64
	}{
		{"iocwatch_index_reloads_total", `result="ok"`, 1},
		{"iocwatch_index_reloads_total", `result="error"`, 2},
		{"iocwatch_index_reload_duration_seconds", ``, 1},
	} {
		if got, _ := value(fams, c.metric, c.labels); got != c.want {
			t.Errorf("%s{%s} = %v, want %v", c.metric, c.labels, got, c.want)
		}
	}
}

func TestReadinessSaysWhyNotReady(t *testing.T) {
	rules, _ := testIndex(t)
	empty, err := match.Build(nil, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var emptyRules atomic.Pointer[stream.Rules]
	emptyRules.Store(&stream.Rules{Index: empty})
	var unloaded atomic.Pointer[stream.Rules]
	failing := errors.New("not a member of Kafka consumer group \"iocwatch\"")
	tests := []struct {
		name  string
		in    *ops.Inputs // nil: Watch is never called
		stop  bool
		want  []string // reasons, in order
		ready bool
	}{
		{"before Watch the pipeline has not started", nil, false, []string{"index: indicator index not loaded", "pipeline: pipeline not started"}, false},
		{"an unloaded index is not ready", &ops.Inputs{Rules: &unloaded}, false, []string{"index: indicator index not loaded"}, false},
		{"an empty index cannot alert", &ops.Inputs{Rules: &emptyRules}, false, []string{"index: the indicator index is empty: nothing can alert"}, false},
		{"a failing check gives its reason", &ops.Inputs{Rules: rules, Checks: []ops.Check{{Name: "source", Func: func() error { return failing }}}}, false,
			[]string{"source: " + failing.Error()}, false},
		{"a stopped pipeline is not ready", &ops.Inputs{Rules: rules}, true, []string{"pipeline: pipeline stopped"}, false},
		{"a loaded index and a running pipeline are ready", &ops.Inputs{Rules: rules, Checks: []ops.Check{{Name: "source", Func: func() error { return nil }}}}, false, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mon := ops.NewMonitor(ops.Options{})
			if tt.in != nil {
				mon.Watch(*tt.in)
			}
			if tt.stop {
				mon.Stopped(nil)
			}
			ready, res := mon.Ready()
			var got []string
			for _, r := range res {
				if r.Err != nil {
					got = append(got, r.Name+": "+r.Err.Error())
				}
			}
			if ready != tt.ready || strings.Join(got, "|") != strings.Join(tt.want, "|") {
				t.Errorf("Ready() = %v %q, want %v %q", ready, got, tt.ready, tt.want)
			}
		})
	}
}

func TestSamplerJudgesSinksAndLogsOnlyStateChanges(t *testing.T) {
	rules, _ := testIndex(t)
	var logs logBuffer
	clk := newClock()
	sinks := &fakeSinks{stats: []sink.Stats{{Name: "soar"}, {Name: "chat", BestEffort: true}}}
	st := &stream.Stats{}
	mon := ops.NewMonitor(ops.Options{Log: newTestLogger(&logs), Now: clk.Now})
	mon.Watch(ops.Inputs{Pipeline: st, Rules: rules, Sinks: sinks})

	steps := []struct {
		name        string
		change      func()
		wantReady   bool
		wantSoarUp  float64
		wantReasons string
	}{
		{"a sink that accepts is up", func() { sinks.set(0, func(s *sink.Stats) { s.Accepted += 10 }) }, true, 1, ""},
		{"retries without an accepted write make it fail", func() { sinks.set(0, func(s *sink.Stats) { s.Retries += 3 }) }, false, 0, "retries"},
		{"it stays failing through a quiet interval", func() {}, false, 0, "retries"},
		{"more retries do not log again", func() { sinks.set(0, func(s *sink.Stats) { s.Retries += 4; s.Failed++ }) }, false, 0, "7 retries, 1 errors"},
		{"an accepted write recovers it", func() { sinks.set(0, func(s *sink.Stats) { s.Accepted++; s.Retries++ }) }, true, 1, ""},
		{"alerts refused for good with nothing accepted (a 401 to all) make it fail", func() { sinks.set(0, func(s *sink.Stats) { s.DeadLettered += 5 }) }, false, 0, "5 alerts refused for good"},
		{"an accepted write recovers it again", func() { sinks.set(0, func(s *sink.Stats) { s.Accepted++ }) }, true, 1, ""},
		{"one refused alert among accepted ones is no failure", func() { sinks.set(0, func(s *sink.Stats) { s.Accepted += 9; s.DeadLettered++ }) }, true, 1, ""},
		{"a failing best-effort sink leaves readiness alone", func() { sinks.set(1, func(s *sink.Stats) { s.Failed += 5 }) }, true, 1, ""},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			s.change()
			clk.Add(5 * time.Second)
			mon.Sample()
			ready, res := mon.Ready()
			if ready != s.wantReady {
				t.Errorf("ready = %v, want %v (%v)", ready, s.wantReady, res)
			}
			var reasons string
			for _, r := range res {
				if r.Name == "sinks" && r.Err != nil {
					reasons = r.Err.Error()
				}
			}
			if !strings.Contains(reasons, s.wantReasons) || (s.wantReasons == "") != (reasons == "") {
				t.Errorf("sinks reason %q, want it to mention %q", reasons, s.wantReasons)
			}
			if got, _ := value(families(t, mon.Registry()), "iocwatch_sink_up", `sink="soar"`); got != s.wantSoarUp {
				t.Errorf("iocwatch_sink_up{soar} = %v, want %v", got, s.wantSoarUp)
			}
		})
	}
	t.Run("each state change is logged once", func(t *testing.T) {
		for _, c := range []struct {
			text string
			want int
		}{
			{`msg="ops: sink failing" sink=soar`, 2},
			{`msg="ops: sink recovered" sink=soar`, 2},
			{`msg="ops: sink failing" sink=chat`, 1},
			{`msg="ops: not ready"`, 2},
			{`msg="ops: ready"`, 3}, // at the first sample, and on each recovery
		} {
			if got := len(logs.lines(c.text)); got != c.want {
				t.Errorf("%d lines with %s, want %d; log:\n%s", got, c.text, c.want, logs.String())
			}
		}
	})
}

func TestSamplerLogsFeedsFailingAndStaleOnce(t *testing.T) {
	var logs logBuffer
	clk := newClock()
	start := clk.Now()
	var state atomic.Pointer[ops.FeedState]
	state.Store(&ops.FeedState{Name: "abuse.ch", Indicators: map[string]int{"ip": 3}, LastFetch: start, LastSuccess: start, Interval: time.Minute})
	// A feed that has failed since the start has no last good indicators.
	never := ops.FeedState{Name: "never", LastFetch: start, LastError: "GET https://never.example/: 503", Interval: time.Hour}
	mon := ops.NewMonitor(ops.Options{Log: newTestLogger(&logs), Now: clk.Now,
		Redact: ops.NewRedactor("s3cr3t-key").String})
	mon.Watch(ops.Inputs{Feeds: ops.FeedsFunc(func() []ops.FeedState { return []ops.FeedState{*state.Load(), never} })})
	set := func(f func(*ops.FeedState)) {
		s := *state.Load()
		f(&s)
		state.Store(&s)
	}
	mon.Sample()
	set(func(s *ops.FeedState) {
		s.LastError = "GET https://feeds.example/x?auth=s3cr3t-key: 503"
		s.FetchErrors++
	})
	clk.Add(time.Minute)
	mon.Sample()
	clk.Add(time.Minute)
	mon.Sample()
	clk.Add(2 * time.Minute) // 4 min since the last success: stale
	mon.Sample()
	mon.Sample()
	set(func(s *ops.FeedState) { s.LastError, s.LastSuccess = "", clk.Now() })
	mon.Sample()
	for _, c := range []struct {
		text string
		want int
	}{
		{`msg="ops: feed failing; its last good indicators stay in use" feed=abuse.ch`, 1},
		{`msg="ops: feed failing; it has no indicators yet" feed=never`, 1},
		{`msg="ops: feed failing; its last good indicators stay in use" feed=never`, 0},
		{`msg="ops: feed stale" feed=abuse.ch`, 1},
		{`msg="ops: feed recovered" feed=abuse.ch`, 1},
		{`msg="ops: feed fresh again" feed=abuse.ch`, 1},
		{`s3cr3t-key`, 0},
	} {
		if got := len(logs.lines(c.text)); got != c.want {
			t.Errorf("%d lines with %s, want %d; log:\n%s", got, c.text, c.want, logs.String())
		}
	}
}

func TestFeedStaleness(t *testing.T) {
	at := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		f    ops.FeedState
		now  time.Time
		want bool
	}{
		{"a feed loaded once is never stale", ops.FeedState{LastSuccess: at}, at.Add(1000 * time.Hour), false},
		{"a fresh feed is not stale", ops.FeedState{LastSuccess: at, Interval: time.Hour}, at.Add(2 * time.Hour), false},
		{"three intervals without success is stale", ops.FeedState{LastSuccess: at, Interval: time.Hour}, at.Add(3*time.Hour + time.Second), true},
		{"a feed that never succeeded goes stale three intervals after its first attempt", ops.FeedState{LastFetch: at, Interval: time.Minute}, at.Add(4 * time.Minute), true},
		{"a feed never fetched is not stale yet", ops.FeedState{Interval: time.Minute}, at, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Stale(tt.now); got != tt.want {
				t.Errorf("Stale = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCloseIsSafeTwiceAndWithoutStart(t *testing.T) {
	mon := ops.NewMonitor(ops.Options{Interval: time.Hour})
	if err := mon.Close(); err != nil {
		t.Fatal(err)
	}
	mon.Start()
	mon.Start()
	if err := mon.Close(); err != nil {
		t.Fatal(err)
	}
	if err := mon.Close(); err != nil {
		t.Fatal(err)
	}
}
