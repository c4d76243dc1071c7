package ops_test

import (
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/cmd/iocwatch/ops"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// statusMonitor is a Monitor with every input set, at a fixed time.
func statusMonitor(t *testing.T, hideConfig bool) *ops.Monitor {
	t.Helper()
	rules, _ := testIndex(t)
	clk := newClock()
	start := clk.Now()
	st := &stream.Stats{}
	sinks := &fakeSinks{stats: []sink.Stats{
		{Name: "soar", Accepted: 1200, Retries: 3, QueueDepth: 2},
		{Name: "chat", BestEffort: true, Accepted: 1100, Failed: 100, Dropped: 40},
	}}
	mon := ops.NewMonitor(ops.Options{
		Source: "kafka", Version: "v1.2.3", Now: clk.Now, HideIdentities: hideConfig, RecentAlerts: 3,
		Redact: ops.NewRedactor("feed-key-123").String,
	})
	mon.Watch(ops.Inputs{
		Pipeline: st, Rules: rules, Sinks: sinks,
		Suppressor: fakeSuppressor{sink.SuppressCounts{Duplicates: 4, Repeats: 310, SummariesSent: 12, Keys: 900}},
		Lag: func() []ops.PartitionLag {
			return []ops.PartitionLag{{Topic: "defender", Partition: "10", Messages: 5}, {Topic: "defender", Partition: "2", Messages: 1234}}
		},
		Feeds: ops.FeedsFunc(func() []ops.FeedState {
			return []ops.FeedState{
				{Name: "abuse.ch", Indicators: map[string]int{"ip": 1, "cidr": 1}, LastFetch: start.Add(-time.Minute),
					LastSuccess: start.Add(-time.Minute), Interval: 5 * time.Minute},
				{Name: "partner", Indicators: map[string]int{"domain": 2, "url": 1}, LastFetch: start.Add(-10 * time.Minute),
					LastSuccess: start.Add(-3 * time.Hour), LastError: "GET https://partner.example/iocs?key=feed-key-123: 503 Service Unavailable", FetchErrors: 7, Interval: 10 * time.Minute},
				{Name: "threatfox", Indicators: map[string]int{"url": 4}, LastFetch: start.Add(-time.Minute), LastSuccess: start.Add(-time.Minute),
					HeldBack: "shrank from 4 to 1 indicators at 2026-11-26T09:00:00Z: the previous ones stay in use until the next fetch confirms the size (or SIGHUP)"},
			}
		}),
		Checks: []ops.Check{{Name: "source", Func: func() error { return nil }}},
	})
	mon.Sample()
	st.Records.Add(50_000)
	st.Watched.Add(48_000)
	st.Skipped.Add(2_000)
	st.Messages.Add(6_250)
	st.Hits.Add(1_600)
	st.Excluded.Add(300)
	st.Alerts.Add(1_300)
	st.DecodeErrors.Add(2)
	st.Batches.Add(101)
	st.Acked.Add(100)
	sinks.set(0, func(s *sink.Stats) { s.Accepted += 10 })
	sinks.set(1, func(s *sink.Stats) { s.Failed += 10 })
	read := start.Add(9 * time.Second)
	mon.OnAcked(stream.BatchReport{ReadAt: read, AckedAt: read.Add(12 * time.Millisecond), Newest: read.Add(-2500 * time.Millisecond)})
	alert := func(device, account, value string, ts time.Time) sink.Alert {
		return sink.Alert{Timestamp: ts, DeviceName: device, AccountName: account, ActionType: "ConnectionSuccess",
			FileName: "rundll32.exe", MatchedField: "RemoteIP", MatchedValue: value,
			Indicator: sink.AlertIndicator{Kind: "ip", Value: value, Source: "abuse.ch", Severity: "high"}}
	}
	mon.OnDelivered([]sink.Alert{
		alert("ws-0001.corp.example", "bob", "203.0.113.1", start),
		alert("ws-0142.corp.example", "ana", "203.0.113.77", start.Add(time.Second)),
	}, read)
	mon.OnDelivered([]sink.Alert{
		alert("srv-db-01.corp.example", "", "198.51.100.9", start.Add(2*time.Second)),
		alert("ws-0142.corp.example", "ana", "<script>alert(1)</script>", start.Add(3*time.Second)),
	}, read)
	clk.Add(10 * time.Second)
	mon.Sample()
	return mon
}

func TestStatusPageMatchesTheGoldenFile(t *testing.T) {
	tests := []struct {
		name, golden, url string
		hideConfig        bool
	}{
		{"the page shows every section", "status.golden.html", "/", false},
		{"hide=1 hides device and account names", "status-hidden.golden.html", "/?hide=1", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, hdr, body := get(t, statusMonitor(t, tt.hideConfig).Handler(ops.Auth{}), tt.url, nil)
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			if ct := hdr.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if csp := hdr.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || strings.Contains(csp, "script-src") {
				t.Errorf("Content-Security-Policy %q: want no script allowed", csp)
			}
			path := filepath.Join("testdata", tt.golden)
			if *update {
				if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if body != string(want) {
				t.Errorf("the page differs from %s (run with -update to accept):\n%s", path, firstDiff(body, string(want)))
			}
		})
	}
}

func TestStatusPageContent(t *testing.T) {
	_, _, page := get(t, statusMonitor(t, false).Handler(ops.Auth{}), "/", nil)
	_, _, hidden := get(t, statusMonitor(t, false).Handler(ops.Auth{}), "/?hide=1", nil)
	_, _, forced := get(t, statusMonitor(t, true).Handler(ops.Auth{}), "/?hide=0", nil)
	tests := []struct {
		name, page, want string
		present          bool
	}{
		{"it refreshes itself every interval", page, `<meta http-equiv="refresh" content="5">`, true},
		{"it holds no script", page, "<script>", false},
		{"indicator values are escaped", page, "&lt;script&gt;alert(1)&lt;/script&gt;", true},
		{"throughput is records over the last interval", page, `<div class="value" id="records-per-second">5,000.0</div>`, true},
		{"messages per second are shown", page, `<span id="messages-per-second">625.0</span>`, true},
		{"consumer lag is the sum over partitions", page, `<div class="value" id="lag-total">1,239</div>`, true},
		{"partitions sort by number", page, "<td>2</td><td class=\"n\">1,234</td>", true},
		{"the event lag of the last batch is shown", page, `id="event-lag">2.5s<`, true},
		{"the processing latency of the last batch is shown", page, `id="latency">12ms<`, true},
		{"the indicator total is shown", page, `id="indicators-total">5<`, true},
		{"a failing feed shows its error, redacted", page, "GET https://partner.example/iocs?key=[redacted]: 503 Service Unavailable", true},
		{"a feed secret never shows", page, "feed-key-123", false},
		{"a fresh feed is ok", page, `<span class="pill ok">ok</span>`, true},
		{"a feed held back says so, and why", page, "shrank from 4 to 1 indicators at 2026-11-26T09:00:00Z", true},
		{"a failing best-effort sink shows failing", page, `<span class="pill bad">failing</span>`, true},
		{"suppressed repeats are shown", page, `<span id="suppressed-repeats">310</span>`, true},
		{"the newest alert comes first, with its device", page, "<td class=\"device\">ws-0142.corp.example</td>", true},
		{"only RecentAlerts alerts are kept", page, "ws-0001.corp.example", false},
		{"the total of alerts seen is shown", page, `<span id="alerts-seen">4</span>`, true},
		{"the page links to the hidden view", page, `href="./?hide=1"`, true},
		{"hide=1 hides device names", hidden, "ws-0142", false},
		{"hide=1 hides account names", hidden, "<td class=\"account\">ana</td>", false},
		{"hide=1 marks the hidden cells", hidden, "<td class=\"device\">hidden</td>", true},
		{"hide=1 leaves an absent account empty", hidden, "<td class=\"account\"></td>", true},
		{"the config's hide_identities wins over hide=0", forced, "ws-0142", false},
		{"the config's hiding is said", forced, "device and account names hidden by the config", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := strings.Contains(tt.page, tt.want); got != tt.present {
				t.Errorf("contains %q = %v, want %v", tt.want, got, tt.present)
			}
		})
	}
}

func TestStatusPageOfAWatcherNotReady(t *testing.T) {
	mon := ops.NewMonitor(ops.Options{})
	code, _, page := get(t, mon.Handler(ops.Auth{}), "/", nil)
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	for _, want := range []string{
		`<span class="badge bad" id="state">NOT READY</span>`,
		"indicator index not loaded",
		"pipeline not started",
		"No index loaded.",
		"No alert since start.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
}

func TestNumberFormats(t *testing.T) {
	mon := ops.NewMonitor(ops.Options{})
	st := &stream.Stats{}
	mon.Watch(ops.Inputs{Pipeline: st})
	for _, c := range []struct {
		n    int64
		want string
	}{{0, ">0<"}, {999, ">999<"}, {1000, ">1,000<"}, {1234567, ">1,234,567<"}} {
		st.Records.Store(c.n)
		_, _, page := get(t, mon.Handler(ops.Auth{}), "/", nil)
		if !strings.Contains(page, `id="records-total"`+c.want) {
			t.Errorf("records %d: want %s", c.n, c.want)
		}
	}
}

// firstDiff shows the first line where got and want differ.
func firstDiff(got, want string) string {
	g, w := strings.Split(got, "\n"), strings.Split(want, "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n got: " + gl + "\nwant: " + wl
		}
	}
	return ""
}
