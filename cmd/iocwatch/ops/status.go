package ops

import (
	"bytes"
	_ "embed"
	"html/template"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/iocwatch/iocwatch/match"
	"github.com/iocwatch/iocwatch/stream"
)

//go:embed status.html.tmpl
var statusHTML string

var statusTmpl = template.Must(template.New("status").Funcs(template.FuncMap{
	"num":  formatNum,
	"rate": formatRate,
	"dur":  formatDuration,
	"ago":  formatAgo,
	"ts":   func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") },
}).Parse(statusHTML))

// MaxExclusionRows is how many exclusion rules the status page lists,
// those that suppressed the most hits first.
const MaxExclusionRows = 10

// statusView is everything the status page shows.
type statusView struct {
	Now       time.Time
	Uptime    time.Duration
	Source    string
	Version   string
	Refresh   int // seconds
	Ready     bool
	Checks    []CheckResult
	Hidden    bool // device and account names hidden
	HideForce bool // by the config: ?hide=0 cannot show them

	Sampled                   bool
	Window                    time.Duration
	RecordsPS, MsgsPS, AlerPS float64

	HasPipeline bool
	Totals      []numRow

	LastLatency, MaxLatency time.Duration // -1: none
	LastLag, MaxLag         time.Duration
	HasLag                  bool
	Lag                     []PartitionLag
	LagTotal                int64

	HasIndex    bool
	IndexTotal  int
	IndexByKind []numRow
	Feeds       []feedRow

	Exclusions     []exclusionRow
	ExclusionRules int

	Sinks      []sinkVerdict
	HasSinks   bool
	Suppressed *suppressRow

	Alerts      []alertRow
	AlertsTotal int64
	AlertsKept  int
}

type numRow struct {
	ID, Label string
	N         int64
}

type feedRow struct {
	FeedState
	Total  int
	Kinds  string
	Status string // ok, failing, stale, never loaded
	Error  string
}

type exclusionRow struct {
	Rule, Reason string
	N            int64
}

type suppressRow struct {
	Duplicates, Repeats, Summaries, Keys int64
}

type alertRow struct {
	DetectedAt, Timestamp time.Time
	Device, Account       string
	Kind, Value, Feed     string
	Field, Matched        string
	Action, Process       string
	Severity              string
	Retro, Summary        bool
	Repeats               int
}

// serveStatus renders the status page.
func (m *Monitor) serveStatus(w http.ResponseWriter, r *http.Request) {
	hide := m.opt.HideIdentities
	if v := r.URL.Query().Get("hide"); v != "" && v != "0" && v != "false" {
		hide = true
	}
	var buf bytes.Buffer
	if err := statusTmpl.Execute(&buf, m.view(hide)); err != nil {
		m.opt.Log.Error("ops: status page", "err", err)
		plain(w, http.StatusInternalServerError, "status page: "+err.Error()+"\n")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	_, _ = w.Write(buf.Bytes())
}

// view gathers the status page's data.
func (m *Monitor) view(hide bool) *statusView {
	now := m.opt.Now()
	in := m.inputs()
	ready, checks := m.check()
	v := &statusView{
		Now: now, Uptime: now.Sub(m.started), Source: m.opt.Source, Version: m.opt.Version,
		Refresh: max(int(math.Ceil(m.opt.Interval.Seconds())), 1), Ready: ready, Checks: checks,
		Hidden: hide, HideForce: m.opt.HideIdentities,
		LastLatency: time.Duration(m.lastLatency.Load()), LastLag: time.Duration(m.lastEventLag.Load()),
		MaxLatency: -1, MaxLag: -1,
	}
	if s := m.last.Load(); s != nil {
		v.Sampled, v.Window = s.window > 0, s.window
		v.RecordsPS, v.MsgsPS, v.AlerPS = s.recordsPS, s.msgsPS, s.alertsPS
		v.MaxLatency, v.MaxLag = s.maxLatency, s.maxLag
		v.Sinks = s.sinks
	}
	if st := in.Pipeline; st != nil {
		v.HasPipeline = true
		v.Totals = []numRow{
			{"records", "Records read", st.Records.Load()},
			{"watched", "Network records (watched tables)", st.Watched.Load()},
			{"skipped", "Other tables (skipped)", st.Skipped.Load()},
			{"matches", "Indicator hits", st.Hits.Load()},
			{"allowlisted", "Dropped by the allow-list", st.Allowed.Load()},
			{"excluded", "Suppressed by exclusions", st.Excluded.Load()},
			{"alerts", "Alerts", st.Alerts.Load()},
			{"decode-errors", "Decode errors", st.DecodeErrors.Load()},
			{"dead-lettered", "Dead-lettered messages", st.DeadLettered.Load()},
			{"in-flight", "Batches in flight", max(st.Batches.Load()-st.Acked.Load(), 0)},
		}
		v.Exclusions, v.ExclusionRules = m.topExclusions(st, in)
	}
	if in.Lag != nil {
		v.HasLag = true
		v.Lag = in.Lag()
		sort.Slice(v.Lag, func(i, j int) bool {
			if v.Lag[i].Topic != v.Lag[j].Topic {
				return v.Lag[i].Topic < v.Lag[j].Topic
			}
			return partitionLess(v.Lag[i].Partition, v.Lag[j].Partition)
		})
		for _, l := range v.Lag {
			v.LagTotal += l.Messages
		}
	}
	if ix := m.index(in); ix != nil {
		v.HasIndex = true
		v.IndexTotal = ix.Len()
		counts := ix.Counts()
		for k := match.KindIP; k <= match.KindPattern; k++ {
			v.IndexByKind = append(v.IndexByKind, numRow{"indicators-" + k.String(), k.String(), int64(counts[k])})
		}
	}
	if in.Feeds != nil {
		for _, f := range in.Feeds.FeedStates() {
			v.Feeds = append(v.Feeds, m.feedRow(f, now))
		}
	}
	if in.Sinks != nil {
		v.HasSinks = true
		if len(v.Sinks) == 0 { // not sampled yet: counters without a verdict
			for _, st := range in.Sinks.SinkStats() {
				v.Sinks = append(v.Sinks, sinkVerdict{Stats: st})
			}
		}
	}
	if in.Suppressor != nil {
		c := in.Suppressor.Counts()
		v.Suppressed = &suppressRow{int64(c.Duplicates), int64(c.Repeats), int64(c.SummariesSent), int64(c.Keys)}
	}
	alerts, total := m.recent.newest()
	v.AlertsTotal, v.AlertsKept = total, len(m.recent.buf)
	for i := range alerts {
		a := &alerts[i]
		row := alertRow{
			DetectedAt: a.DetectedAt, Timestamp: a.Timestamp, Device: a.DeviceName, Account: a.AccountName,
			Kind: a.Indicator.Kind, Value: a.Indicator.Value, Feed: a.Indicator.Source, Field: a.MatchedField,
			Matched: a.MatchedValue, Action: a.ActionType, Process: a.FileName, Severity: a.Indicator.Severity,
			Retro: a.Retro, Summary: a.RepeatCount > 0, Repeats: a.RepeatCount,
		}
		if hide {
			row.Device, row.Account = "hidden", "hidden"
			if a.AccountName == "" {
				row.Account = ""
			}
		}
		v.Alerts = append(v.Alerts, row)
	}
	return v
}

func (m *Monitor) feedRow(f FeedState, now time.Time) feedRow {
	row := feedRow{FeedState: f}
	var kinds []string
	for _, k := range sortedKeys(f.Indicators) {
		row.Total += f.Indicators[k]
		kinds = append(kinds, k+" "+formatInt(int64(f.Indicators[k])))
	}
	row.Kinds = strings.Join(kinds, ", ")
	switch {
	case f.LastError != "":
		row.Status, row.Error = "failing", m.opt.Redact(f.LastError)
	case f.HeldBack != "":
		row.Status, row.Error = "held back", f.HeldBack
	case f.LastSuccess.IsZero():
		row.Status = "never loaded"
	case f.Stale(now):
		row.Status = "stale"
	default:
		row.Status = "ok"
	}
	return row
}

// topExclusions returns the rules that suppressed the most hits, with
// their reasons, and how many rules are loaded.
func (m *Monitor) topExclusions(st *stream.Stats, in Inputs) ([]exclusionRow, int) {
	reasons := map[string]string{}
	if in.Rules != nil {
		if r := in.Rules.Load(); r != nil && r.Exclusions != nil {
			for _, rule := range r.Exclusions.Rules() {
				reasons[rule.Name] = rule.Reason
			}
		}
	}
	var rows []exclusionRow
	for rule, n := range st.ExcludedByRule() {
		rows = append(rows, exclusionRow{rule, reasons[rule], n})
	}
	sort.Slice(rows, func(i, j int) bool {
		if rows[i].N != rows[j].N {
			return rows[i].N > rows[j].N
		}
		return rows[i].Rule < rows[j].Rule
	})
	if len(rows) > MaxExclusionRows {
		rows = rows[:MaxExclusionRows]
	}
	return rows, len(reasons)
}

func partitionLess(a, b string) bool {
	na, ea := strconv.Atoi(a)
	nb, eb := strconv.Atoi(b)
	if ea == nil && eb == nil {
		return na < nb
	}
	return a < b
}

// formatNum formats any integer with formatInt.
func formatNum(v any) string {
	switch n := v.(type) {
	case int:
		return formatInt(int64(n))
	case int64:
		return formatInt(n)
	case uint64:
		if n > math.MaxInt64 {
			return strconv.FormatUint(n, 10)
		}
		return formatInt(int64(n))
	case int32:
		return formatInt(int64(n))
	default:
		return "?"
	}
}

// formatInt groups digits in threes: 1234567 → "1,234,567".
func formatInt(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// formatRate shows a per-second rate with one decimal: "1,234.5".
func formatRate(r float64) string {
	if math.IsNaN(r) || math.IsInf(r, 0) {
		return "–"
	}
	r = max(r, 0)
	r = math.Round(r*10) / 10
	whole := int64(r)
	tenth := int64(math.Round(math.Abs(r-float64(whole)) * 10))
	return formatInt(whole) + "." + strconv.FormatInt(tenth, 10)
}

// formatDuration shows a duration rounded for reading: "850µs", "12ms",
// "2.5s", "3m12s", "5m", "26h5m", "3h"; a negative one (none yet) as "–".
func formatDuration(d time.Duration) string {
	switch {
	case d < 0:
		return "–"
	case d < time.Millisecond:
		return d.Round(time.Microsecond).String()
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	case d < time.Minute:
		return d.Round(100 * time.Millisecond).String()
	case d < time.Hour:
		return strings.TrimSuffix(d.Round(time.Second).String(), "m0s") + minuteSuffix(d.Round(time.Second))
	default:
		s := strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
		return strings.TrimSuffix(s, "h0m") + hourSuffix(s)
	}
}

// minuteSuffix restores the "m" that formatDuration trimmed with "m0s".
func minuteSuffix(d time.Duration) string {
	if strings.HasSuffix(d.String(), "m0s") {
		return "m"
	}
	return ""
}

// hourSuffix restores the "h" that formatDuration trimmed with "h0m".
func hourSuffix(s string) string {
	if strings.HasSuffix(s, "h0m") {
		return "h"
	}
	return ""
}

// formatAgo shows how long before now t was: "12s ago", "never".
func formatAgo(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return formatDuration(max(now.Sub(t), 0)) + " ago"
}
