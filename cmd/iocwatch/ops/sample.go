package ops

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/iocwatch/iocwatch/sink"
)

// sample is what one Sample saw; rates are over the time since the
// previous sample.
type sample struct {
	at                     time.Time
	window                 time.Duration // since the previous sample; 0 for the first
	hasPipeline            bool
	records, msgs, alerts  int64
	recordsPS, msgsPS      float64
	alertsPS               float64
	maxLatency, maxLag     time.Duration // over the window; -1: no batch
	sinks                  []sinkVerdict
	sinkFailing, sinkTotal int
}

// sinkVerdict is one sink's health as of the last sample.
type sinkVerdict struct {
	sink.Stats
	Failing bool
	Since   time.Time // when it started failing
	Reason  string    // why it counts as failing
}

// sinkHealth is the sampler's memory of one sink.
type sinkHealth struct {
	last    sink.Stats // counters at the previous sample
	failing bool
	since   time.Time
	atFail  sink.Stats // counters when it started failing
}

// feedHealth is the sampler's memory of one feed.
type feedHealth struct {
	failing, stale bool
}

// Sample reads the counters now: it computes the rates of the status page
// over the time since the previous sample, decides which sinks are
// failing (retries or errors and nothing accepted since the previous
// sample), and logs state changes. The sampler started by Start calls it
// every Interval.
func (m *Monitor) Sample() {
	m.sampleMu.Lock()
	defer m.sampleMu.Unlock()
	now := m.opt.Now()
	in := m.inputs()
	s := &sample{at: now}
	if st := in.Pipeline; st != nil {
		s.hasPipeline = true
		s.records, s.msgs, s.alerts = st.Records.Load(), st.Messages.Load(), st.Alerts.Load()
	}
	s.maxLatency = time.Duration(m.maxLatency.Swap(-1))
	s.maxLag = time.Duration(m.maxEventLag.Swap(-1))
	if p := m.prev; p != nil && now.After(p.at) {
		s.window = now.Sub(p.at)
		dt := s.window.Seconds()
		s.recordsPS = float64(s.records-p.records) / dt
		s.msgsPS = float64(s.msgs-p.msgs) / dt
		s.alertsPS = float64(s.alerts-p.alerts) / dt
	}
	if in.Sinks != nil {
		s.sinks = m.judgeSinks(in.Sinks.SinkStats(), now)
		for _, v := range s.sinks {
			s.sinkTotal++
			if v.Failing {
				s.sinkFailing++
			}
		}
	}
	if in.Feeds != nil {
		m.judgeFeeds(in.Feeds.FeedStates(), now)
	}
	m.prev = s
	m.last.Store(s)

	ready, results := m.check()
	if m.ready == nil || *m.ready != ready {
		if ready {
			m.opt.Log.Info("ops: ready")
		} else {
			m.opt.Log.Warn("ops: not ready", "reasons", failures(results))
		}
		m.ready = &ready
	}
}

// judgeSinks updates every sink's health from its counters.
func (m *Monitor) judgeSinks(stats []sink.Stats, now time.Time) []sinkVerdict {
	out := make([]sinkVerdict, 0, len(stats))
	for _, st := range stats {
		h := m.sinkSt[st.Name]
		if h == nil {
			h = &sinkHealth{}
			m.sinkSt[st.Name] = h
		}
		accepted := st.Accepted > h.last.Accepted
		// Alerts refused for good and dead-lettered while none is accepted
		// (an expired token: 401 to everything) are a failing sink too.
		trouble := st.Failed > h.last.Failed || st.Retries > h.last.Retries || st.DeadLettered > h.last.DeadLettered
		switch {
		case accepted && h.failing:
			h.failing = false
			m.opt.Log.Info("ops: sink recovered", "sink", st.Name, "failed_for", now.Sub(h.since).Round(time.Second).String())
		case trouble && !accepted && !h.failing:
			h.failing, h.since, h.atFail = true, now, h.last
			m.opt.Log.Warn("ops: sink failing", "sink", st.Name, "best_effort", st.BestEffort,
				"retries", st.Retries-h.last.Retries, "errors", st.Failed-h.last.Failed, "dead_lettered", st.DeadLettered-h.last.DeadLettered)
		}
		h.last = st
		v := sinkVerdict{Stats: st, Failing: h.failing, Since: h.since}
		if h.failing {
			v.Reason = fmt.Sprintf("sink %q failing since %s: %d retries, %d errors and %d alerts refused for good, nothing accepted",
				st.Name, h.since.UTC().Format(time.RFC3339), st.Retries-h.atFail.Retries, st.Failed-h.atFail.Failed, st.DeadLettered-h.atFail.DeadLettered)
		}
		out = append(out, v)
	}
	return out
}

// judgeFeeds logs the feeds that start or stop failing or being stale.
func (m *Monitor) judgeFeeds(feeds []FeedState, now time.Time) {
	for _, f := range feeds {
		h, seen := m.feedSt[f.Name]
		cur := feedHealth{failing: f.LastError != "", stale: f.Stale(now)}
		if cur.failing && (!seen || !h.failing) {
			if len(f.Indicators) == 0 {
				m.opt.Log.Warn("ops: feed failing; it has no indicators yet", "feed", f.Name, "err", m.opt.Redact(f.LastError))
			} else {
				m.opt.Log.Warn("ops: feed failing; its last good indicators stay in use", "feed", f.Name, "err", m.opt.Redact(f.LastError))
			}
		}
		if seen && h.failing && !cur.failing {
			m.opt.Log.Info("ops: feed recovered", "feed", f.Name)
		}
		if cur.stale && (!seen || !h.stale) {
			if f.CachedAt.IsZero() {
				m.opt.Log.Warn("ops: feed stale", "feed", f.Name, "last_success", f.LastSuccess, "interval", f.Interval.String())
			} else {
				m.opt.Log.Warn("ops: feed stale", "feed", f.Name, "last_success", f.LastSuccess, "interval", f.Interval.String(), "cached_copy", true)
			}
		}
		if seen && h.stale && !cur.stale {
			m.opt.Log.Info("ops: feed fresh again", "feed", f.Name)
		}
		m.feedSt[f.Name] = cur
	}
}

// sinkUp returns, per sink name, whether it was accepting at the last
// sample (sinks not sampled yet count as up).
func (m *Monitor) sinkUp() map[string]bool {
	up := map[string]bool{}
	in := m.inputs()
	if in.Sinks == nil {
		return up
	}
	failing := map[string]bool{}
	if s := m.last.Load(); s != nil {
		for _, v := range s.sinks {
			failing[v.Name] = v.Failing
		}
	}
	for _, st := range in.Sinks.SinkStats() {
		up[st.Name] = !failing[st.Name]
	}
	return up
}

// CheckResult is the outcome of one readiness condition: Err is nil when
// it holds. Plain data.
type CheckResult struct {
	Name string
	Err  error
}

// Ready reports whether the watcher is ready — the index is loaded and not
// empty, the pipeline runs, every extra Check holds and no required sink
// was failing at the last sample — and the result of every condition.
func (m *Monitor) Ready() (bool, []CheckResult) {
	return m.check()
}

func (m *Monitor) check() (bool, []CheckResult) {
	m.mu.RLock()
	in, watching, isStop, stopErr := m.in, m.watching, m.isStop, m.stopped
	m.mu.RUnlock()
	var res []CheckResult
	ok := true
	add := func(name string, err error) {
		if err != nil {
			ok = false
		}
		res = append(res, CheckResult{name, err})
	}
	var ixErr error
	switch ix := m.index(in); {
	case ix == nil:
		ixErr = errors.New("indicator index not loaded")
	case ix.Len() == 0:
		ixErr = errors.New("the indicator index is empty: nothing can alert")
	}
	add("index", ixErr)
	var pErr error
	switch {
	case isStop && stopErr != nil:
		pErr = fmt.Errorf("pipeline stopped: %s", m.opt.Redact(stopErr.Error()))
	case isStop:
		pErr = errors.New("pipeline stopped")
	case !watching:
		pErr = errNotWatching
	}
	add("pipeline", pErr)
	for _, c := range in.Checks {
		var err error
		if c.Func != nil {
			if err = c.Func(); err != nil {
				err = errors.New(m.opt.Redact(err.Error()))
			}
		}
		add(c.Name, err)
	}
	if in.Sinks != nil {
		var reasons []string
		if s := m.last.Load(); s != nil {
			for _, v := range s.sinks {
				if v.Failing && !v.BestEffort {
					reasons = append(reasons, v.Reason)
				}
			}
		}
		var err error
		if len(reasons) > 0 {
			err = errors.New(strings.Join(reasons, "; "))
		}
		add("sinks", err)
	}
	return ok, res
}

func failures(res []CheckResult) []string {
	var out []string
	for _, r := range res {
		if r.Err != nil {
			out = append(out, r.Name+": "+r.Err.Error())
		}
	}
	return out
}
