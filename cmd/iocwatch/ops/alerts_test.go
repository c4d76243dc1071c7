package ops_test

import (
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/cmd/iocwatch/ops"
	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream"
)

// An empty index exports every kind as 0 (feed=""), so that
// sum(iocwatch_indicators) == 0 (IocwatchNoIndicators) can fire; a kind
// the index has is not given a zero series beside its feeds'.
func TestAnEmptyIndexExportsZeroIndicatorsPerKind(t *testing.T) {
	empty, err := match.Build(nil, match.BuildOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var rules atomic.Pointer[stream.Rules]
	rules.Store(&stream.Rules{Index: empty})
	mon := ops.NewMonitor(ops.Options{Source: "file"})
	mon.Watch(ops.Inputs{Pipeline: &stream.Stats{}, Rules: &rules})
	fams := families(t, mon.Registry())
	for _, kind := range []string{"ip", "cidr", "domain", "url", "pattern"} {
		got, ok := value(fams, "iocwatch_indicators", `feed="",kind="`+kind+`"`)
		if !ok || got != 0 {
			t.Errorf("iocwatch_indicators{kind=%q} = %v (present %v), want 0", kind, got, ok)
		}
	}

	full, _ := testIndex(t) // ip, cidr, domain and url; no pattern
	mon = ops.NewMonitor(ops.Options{Source: "file"})
	mon.Watch(ops.Inputs{Pipeline: &stream.Stats{}, Rules: full})
	fams = families(t, mon.Registry())
	if _, ok := value(fams, "iocwatch_indicators", `feed="",kind="ip"`); ok {
		t.Error("a kind with indicators has a zero series too")
	}
	if got, ok := value(fams, "iocwatch_indicators", `feed="",kind="pattern"`); !ok || got != 0 {
		t.Errorf("iocwatch_indicators{kind=pattern} = %v (present %v), want 0", got, ok)
	}
}

// A feed started from its cached copy (its source unreachable) carries the
// copy's time as its last success: the metric is exported, it goes stale
// three intervals after the copy was downloaded, and the status page says
// it runs from a cached copy.
func TestAFeedFromItsCachedCopyAgesAndGoesStale(t *testing.T) {
	var logs logBuffer
	clk := newClock()
	start := clk.Now()
	cachedAt := start.Add(-time.Minute)
	f := ops.FeedState{Name: "partner", Indicators: map[string]int{"ip": 3}, LastFetch: start, LastSuccess: cachedAt, CachedAt: cachedAt,
		LastError: "GET https://partner.example/: connection refused", FetchErrors: 1, Interval: time.Minute}
	mon := ops.NewMonitor(ops.Options{Log: newTestLogger(&logs), Now: clk.Now})
	mon.Watch(ops.Inputs{Feeds: ops.FeedsFunc(func() []ops.FeedState { return []ops.FeedState{f} })})
	mon.Sample()
	if got, ok := value(families(t, mon.Registry()), "iocwatch_feed_last_success_timestamp_seconds", `feed="partner"`); !ok || got != float64(cachedAt.Unix()) {
		t.Errorf("last success %v (present %v), want the cached copy's time %d", got, ok, cachedAt.Unix())
	}
	clk.Add(2*time.Minute + time.Second) // 3 intervals and a second after the download
	mon.Sample()
	if got := logs.lines(`msg="ops: feed stale" feed=partner`); len(got) != 1 || !strings.Contains(got[0], "cached_copy=true") {
		t.Errorf("stale lines %q; log:\n%s", got, logs.String())
	}
	_, _, body := get(t, mon.Handler(ops.Auth{}), "/", nil)
	if !strings.Contains(body, "cached copy from 2026-11-26 09:14:00Z") {
		t.Errorf("the status page does not say the feed runs from its cached copy:\n%s", body)
	}
}

// IocwatchStalled must be able to fire while the Kafka replica is out of
// its group: iocwatch_consumer_lag_messages is then absent, so the rule
// needs another branch whose series exist (readiness, which is 0).
func TestTheStalledRuleCanFireWhileTheSourceIsOutOfItsGroup(t *testing.T) {
	rules, _ := testIndex(t)
	clk := newClock()
	mon := ops.NewMonitor(ops.Options{Source: "kafka", Now: clk.Now})
	mon.Watch(ops.Inputs{Pipeline: &stream.Stats{}, Rules: rules,
		Lag:    func() []ops.PartitionLag { return nil }, // not in the group: no partitions
		Checks: []ops.Check{{Name: "source", Func: func() error { return errors.New("kafka: not in the consumer group") }}}})
	at := clk.Now().Add(-10 * time.Minute)
	mon.OnAcked(stream.BatchReport{ReadAt: at, AckedAt: at})
	mon.Sample()
	fams := families(t, mon.Registry())
	if _, ok := fams["iocwatch_consumer_lag_messages"]; ok {
		t.Fatal("the test expects no lag series out of the group")
	}
	if got, ok := value(fams, "iocwatch_ready", ""); !ok || got != 0 {
		t.Fatalf("iocwatch_ready = %v, want 0 out of the group", got)
	}
	expr := alertExpr(t, operationsDoc(t), "IocwatchStalled")
	guard, alts, ok := strings.Cut(expr, " and on (instance) ")
	if !ok {
		t.Fatalf("IocwatchStalled %q: want «last ack old and on (instance) (…)»", expr)
	}
	for _, name := range metricName.FindAllString(guard, -1) {
		if _, ok := fams[name]; !ok {
			t.Errorf("IocwatchStalled's condition uses %s, absent out of the group", name)
		}
	}
	usable := false
	for alt := range strings.SplitSeq(alts, " or ") {
		names := metricName.FindAllString(alt, -1)
		all := len(names) > 0
		for _, name := range names {
			if _, ok := fams[name]; !ok {
				all = false
			}
		}
		usable = usable || all
	}
	if !usable {
		t.Errorf("IocwatchStalled %q: every branch needs a series absent while the replica is out of its group", expr)
	}
}

// alertExpr returns the expr of the named alert rule of operations.md,
// on one line.
func alertExpr(t *testing.T, doc, alert string) string {
	t.Helper()
	rules := yamlBlocks(doc)
	i := strings.Index(rules, "- alert: "+alert+"\n")
	if i < 0 {
		t.Fatalf("no alert rule %s in operations.md", alert)
	}
	rule := rules[i:]
	e := strings.Index(rule, "expr:")
	f := strings.Index(rule, "\n        for:")
	if e < 0 || f < e {
		t.Fatalf("alert rule %s: no expr before for", alert)
	}
	expr := strings.TrimPrefix(strings.TrimSpace(rule[e+len("expr:"):f]), "|")
	return strings.Join(strings.Fields(expr), " ")
}
