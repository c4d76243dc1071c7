package ops_test

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/iocwatch/iocwatch/cmd/iocwatch/ops"
	"github.com/iocwatch/iocwatch/stream/kafka"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// dashboardPath is the shipped Grafana dashboard.
var dashboardPath = filepath.Join("..", "..", "..", "docs", "grafana-dashboard.json")

type grafanaTarget struct {
	Expr  string `json:"expr"`
	RefID string `json:"refId"`
}

type grafanaPanel struct {
	ID         int             `json:"id"`
	Type       string          `json:"type"`
	Title      string          `json:"title"`
	Datasource json.RawMessage `json:"datasource"`
	Targets    []grafanaTarget `json:"targets"`
	GridPos    struct{ H, W, X, Y int }
	Panels     []grafanaPanel `json:"panels"`
}

type grafanaDashboard struct {
	Title      string         `json:"title"`
	UID        string         `json:"uid"`
	Panels     []grafanaPanel `json:"panels"`
	Templating struct {
		List []struct {
			Name       string `json:"name"`
			Definition string `json:"definition"`
		} `json:"list"`
	} `json:"templating"`
}

// metricNames finds the metric names in a PromQL expression: every
// identifier of our namespaces (functions, labels and keywords are not).
var metricName = regexp.MustCompile(`\b(?:iocwatch|go|process)_[a-zA-Z0-9_]+\b`)

func loadDashboard(t *testing.T) (grafanaDashboard, []grafanaPanel) {
	t.Helper()
	data, err := os.ReadFile(dashboardPath)
	if err != nil {
		t.Fatal(err)
	}
	var d grafanaDashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("%s: %v", dashboardPath, err)
	}
	var flat []grafanaPanel
	for _, p := range d.Panels {
		flat = append(flat, p)
		flat = append(flat, p.Panels...)
	}
	return d, flat
}

func TestDashboardIsWellFormed(t *testing.T) {
	d, panels := loadDashboard(t)
	if d.Title == "" || d.UID == "" {
		t.Errorf("title %q uid %q", d.Title, d.UID)
	}
	ids := map[int]bool{}
	titles := map[string]bool{}
	for _, p := range panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		titles[p.Title] = true
		if p.Type == "row" {
			continue
		}
		if p.Title == "" || len(p.Datasource) == 0 || p.GridPos.W == 0 || p.GridPos.H == 0 {
			t.Errorf("panel %d %q lacks a title, data source or position", p.ID, p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			if strings.Count(tg.Expr, "(") != strings.Count(tg.Expr, ")") || strings.Count(tg.Expr, "{") != strings.Count(tg.Expr, "}") {
				t.Errorf("panel %q: unbalanced expression %s", p.Title, tg.Expr)
			}
			if !strings.Contains(tg.Expr, `instance=~"$instance"`) {
				t.Errorf("panel %q: %s ignores the instance variable", p.Title, tg.Expr)
			}
		}
	}
	for _, want := range []string{"Records read by table", "Consumer lag by partition", "Processing latency", "Event lag",
		"Alerts by sink", "Sink errors and retries", "Feed age"} {
		if !titles[want] {
			t.Errorf("no panel %q", want)
		}
	}
}

func TestEveryDashboardMetricExistsAfterARealRun(t *testing.T) {
	// A short real run: the sample stream and a generated one through an
	// in-process Kafka broker, a consumer-group source, the pipeline and
	// the sinks, watched by a Monitor.
	broker, err := embedded.Start(embedded.BrokerOptions{Topics: []embedded.Topic{{Name: "defender", Partitions: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	rules, inds := loadSampleRules(t)
	sample := filepath.Join("testdata", "sample-events.jsonl")
	generated, genRecords := writeGenerated(t, inds, 200)
	want := countRecords(t, sample) + genRecords
	for p, path := range []string{sample, generated} {
		if err := broker.Produce(context.Background(), "defender", int32(p), lines(t, path)...); err != nil {
			t.Fatal(err)
		}
	}
	src, err := kafka.New(kafka.Options{Brokers: []string{broker.Addr()}, Topics: []string{"defender"}, Group: "dashboard",
		StartOffset: "earliest", CommitInterval: 50 * time.Millisecond, HeartbeatInterval: 200 * time.Millisecond,
		SessionTimeout: 6 * time.Second, RebalanceTimeout: 3 * time.Second, MaxWait: 100 * time.Millisecond, LagInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w := newWatcher(t, src, "kafka", rules, inds)
	w.mon.Watch(ops.Inputs{Lag: func() []ops.PartitionLag {
		var out []ops.PartitionLag
		for tp, n := range src.Lag() {
			out = append(out, ops.PartitionLag{Topic: tp.Topic, Partition: strconv.Itoa(int(tp.Partition)), Messages: n})
		}
		return out
	}})
	w.mon.ObserveReload(300*time.Millisecond, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.p.Run(ctx) }()
	deadline := time.Now().Add(60 * time.Second)
	for w.p.Stats().Records.Load() < want || len(src.Lag()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("read %d of %d records; lag known for %d partitions", w.p.Stats().Records.Load(), want, len(src.Lag()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// Scrape while the watcher runs, as Prometheus does.
	w.mon.Sample()
	fams := families(t, w.mon.Registry())
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	closeCtx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if err := src.Close(closeCtx); err != nil {
		t.Fatal(err)
	}
	exists := func(name string) bool {
		if _, ok := fams[name]; ok {
			return true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if f, ok := fams[strings.TrimSuffix(name, suffix)]; ok && strings.HasSuffix(name, suffix) && f.GetType() == dto.MetricType_HISTOGRAM {
				return true
			}
		}
		return false
	}
	d, panels := loadDashboard(t)
	var exprs []string
	for _, p := range panels {
		for _, tg := range p.Targets {
			exprs = append(exprs, tg.Expr)
		}
	}
	for _, v := range d.Templating.List {
		exprs = append(exprs, v.Definition)
	}
	seen := map[string]bool{}
	for _, e := range exprs {
		for _, name := range metricName.FindAllString(e, -1) {
			if seen[name] {
				continue
			}
			seen[name] = true
			t.Run(name, func(t *testing.T) {
				if !exists(name) {
					t.Errorf("the dashboard queries %s, which the registry does not hold after a run", name)
				}
			})
		}
	}
	if len(seen) < 30 {
		t.Errorf("only %d metric names found in the dashboard's queries", len(seen))
	}
	doc := operationsDoc(t)
	t.Run("every metric of the alert rules in operations.md exists", func(t *testing.T) {
		rules := yamlBlocks(doc[strings.Index(doc, "## What to alert on"):strings.Index(doc, "## Dashboard")])
		names := metricName.FindAllString(rules, -1)
		if len(names) < 15 {
			t.Fatalf("only %d metric names in the alert rules", len(names))
		}
		for _, name := range names {
			if !exists(name) {
				t.Errorf("an alert rule uses %s, which the registry does not hold after a run", name)
			}
		}
	})
	t.Run("every iocwatch metric is documented in operations.md", func(t *testing.T) {
		documented := map[string]bool{}
		for _, m := range documentedMetric.FindAllStringSubmatch(doc, -1) {
			documented[m[1]] = true
		}
		for name := range fams {
			if strings.HasPrefix(name, "iocwatch_") && !documented[name] {
				t.Errorf("%s is not in the tables of docs/operations.md", name)
			}
		}
		for name := range documented {
			if !strings.HasPrefix(name, "iocwatch_kafka_") && !exists(name) {
				t.Errorf("docs/operations.md documents %s, which the registry does not hold after a run", name)
			}
		}
	})
	t.Run("the run's lag and counters are real", func(t *testing.T) {
		if got, _ := value(fams, "iocwatch_records_read_total", `source="kafka",table="DeviceNetworkEvents"`); got == 0 {
			t.Error("no DeviceNetworkEvents records counted")
		}
		if len(fams["iocwatch_consumer_lag_messages"].GetMetric()) != 2 {
			t.Errorf("consumer lag for %d partitions, want 2", len(fams["iocwatch_consumer_lag_messages"].GetMetric()))
		}
		if got, _ := value(fams, "iocwatch_matches_total", `feed="sample",kind="cidr"`); got == 0 {
			t.Error("no cidr hits counted for the sample feed")
		}
	})
}

// lines returns the non-empty lines of a file.
func lines(t *testing.T, path string) [][]byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][]byte
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if len(strings.TrimSpace(sc.Text())) > 0 {
			out = append(out, append([]byte(nil), sc.Bytes()...))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// documentedMetric matches the first cell of a metric table row in
// docs/operations.md.
var documentedMetric = regexp.MustCompile("(?m)^\\| `(iocwatch_[a-z0-9_]+)` \\|")

func operationsDoc(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// yamlBlocks returns the content of the ```yaml blocks of md.
func yamlBlocks(md string) string {
	var b strings.Builder
	for _, part := range strings.Split(md, "```yaml\n")[1:] {
		if end := strings.Index(part, "```"); end >= 0 {
			b.WriteString(part[:end])
		}
	}
	return b.String()
}
