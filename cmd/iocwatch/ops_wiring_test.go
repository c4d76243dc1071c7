package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/iocwatch/iocwatch/cmd/iocwatch/ops"
	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/match/feed"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/kafka"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// The secrets of the test config. Each must never reach a log line.
var opsSecrets = []string{
	"hmac-SECRET-1111",    // sinks[0].webhook.hmac_secret
	"header-SECRET-2222",  // sinks[0].webhook.headers
	"metrics-SECRET-3333", // metrics.bearer_token
	"feed-SECRET-4444",    // feeds[1].headers
	"query-SECRET-5555",   // in feeds[1].url
}

// opsTestServers starts a webhook that accepts alerts (after refusing the
// first request) and a feed server that always fails.
func opsTestServers(t *testing.T) (hook, feed *httptest.Server, hookCalls *atomic.Int64) {
	t.Helper()
	hookCalls = &atomic.Int64{}
	hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if hookCalls.Add(1) == 1 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(hook.Close)
	feed = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "feed server down", http.StatusInternalServerError)
	}))
	t.Cleanup(feed.Close)
	return hook, feed, hookCalls
}

// writeOpsConfig writes a config with secrets in every place that takes
// one: a file source over the sample stream, the sample feed, a remote
// feed that fails, a webhook sink, metrics behind a bearer token.
func writeOpsConfig(t *testing.T, hookURL, feedURL, suppression string) string {
	t.Helper()
	dir := t.TempDir()
	assets, err := filepath.Abs("assets")
	if err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
source:
  type: file
  file:
    paths: [%[1]s/sample-events.jsonl]
feeds:
  - name: sample
    type: file
    path: %[1]s/sample-feed.txt
    format: text
  - name: partner
    type: http
    url: %[3]s/iocs.txt?key=query-SECRET-5555
    format: text
    interval: 1m
    headers:
      Auth-Key: feed-SECRET-4444
exclusions_files: [%[1]s/exclusions.yaml]
sinks:
  - name: soar
    type: webhook
    retry: {initial: 1ms, max: 5ms}
    webhook:
      url: %[2]s/alerts
      hmac_secret: hmac-SECRET-1111
      headers:
        Authorization: Bearer header-SECRET-2222
%[4]s
metrics:
  listen: 127.0.0.1:0
  bearer_token: metrics-SECRET-3333
log:
  level: debug
  format: json
`, assets, hookURL, feedURL, suppression)
	path := filepath.Join(dir, "iocwatch.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runWithOps runs the config the way cmdRun does with the ops wiring,
// then calls during while the ops endpoint still serves.
func runWithOps(t *testing.T, cfgPath string, logOut io.Writer, during func(o *opsRuntime)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	log := newOpsLogger(logOut, cfg)
	o, err := startOps(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	rules, rep, err := loadRules(cfg, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	env := &cliEnv{stdin: strings.NewReader(""), stdout: io.Discard, stderr: logOut}
	src, err := openSource(ctx, cfg, nil, env, log)
	if err != nil {
		t.Fatal(err)
	}
	out, err := buildSinks(cfg, env, log)
	if err != nil {
		t.Fatal(err)
	}
	var holder atomic.Pointer[stream.Rules]
	holder.Store(rules)
	opt := stream.Options{Ordered: true, Log: log}
	o.watch(&opt, &holder, src, out, reportFeeds(rep))
	p := stream.New(src, &holder, out, opt)
	o.attach(p)
	if err := p.Run(ctx); err != nil {
		t.Fatal(err)
	}
	o.mon.Sample()
	during(o)
	if err := closeWithin(10*time.Second, src.Close, out.Close); err != nil {
		t.Fatal(err)
	}
}

func opsGet(t *testing.T, o *opsRuntime, path, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, "http://"+o.srv.Addr()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestTheOpsEndpointOfARun(t *testing.T) {
	hook, feed, hookCalls := opsTestServers(t)
	cfgPath := writeOpsConfig(t, hook.URL, feed.URL, "suppression: {window: 0s, capacity: 0}")
	var logs syncbuf.Buffer
	runWithOps(t, cfgPath, &logs, func(o *opsRuntime) {
		t.Run("every endpoint needs the bearer token", func(t *testing.T) {
			for _, path := range []string{"/metrics", "/healthz", "/readyz", "/"} {
				if code, _ := opsGet(t, o, path, ""); code != http.StatusUnauthorized {
					t.Errorf("%s without the token: %d", path, code)
				}
			}
		})
		t.Run("readiness holds once the run has alerted", func(t *testing.T) {
			code, body := opsGet(t, o, "/readyz", "metrics-SECRET-3333")
			if code != 200 || !strings.HasPrefix(body, "ready\n") {
				t.Errorf("/readyz = %d %q", code, body)
			}
		})
		t.Run("metrics count the run, per sink too", func(t *testing.T) {
			_, body := opsGet(t, o, "/metrics", "metrics-SECRET-3333")
			for _, want := range []string{
				`iocwatch_records_read_total{source="file",table="DeviceNetworkEvents"}`,
				`iocwatch_sink_alerts_total{sink="soar"} `,
				`iocwatch_sink_retries_total{sink="soar"} 1`,
				`iocwatch_feed_up{feed="partner"} 0`,
				`iocwatch_feed_up{feed="sample"} 1`,
				`iocwatch_indicators{feed="sample",kind="cidr"} 3`,
				`iocwatch_excluded_hits_total{rule=`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
			if hookCalls.Load() < 2 {
				t.Errorf("the webhook saw %d requests", hookCalls.Load())
			}
		})
		t.Run("the status page shows the failing feed without its secret", func(t *testing.T) {
			code, body := opsGet(t, o, "/", "metrics-SECRET-3333")
			if code != 200 || !strings.Contains(body, `data-feed="partner"`) || !strings.Contains(body, "failing") {
				t.Errorf("status page %d lacks the failing partner feed", code)
			}
			for _, s := range opsSecrets {
				if strings.Contains(body, s) {
					t.Errorf("the status page shows %s", s)
				}
			}
		})
	})
	t.Run("the log names the listener and the failing feed, and no secret", func(t *testing.T) {
		out := logs.String()
		for _, want := range []string{`"msg":"ops: serving /metrics, /healthz, /readyz and the status page"`,
			`"msg":"ops: feed failing; it has no indicators yet","feed":"partner"`} { // the feed server was down from the start
			if !strings.Contains(out, want) {
				t.Errorf("the log lacks %s:\n%s", want, out)
			}
		}
		for _, s := range opsSecrets {
			if strings.Contains(out, s) {
				t.Errorf("the log holds %s:\n%s", s, out)
			}
		}
	})
}

func TestTheSuppressorIsFoundBehindTheDeadLetterFile(t *testing.T) {
	hook, feed, _ := opsTestServers(t)
	dead := filepath.Join(t.TempDir(), "dead-alerts.jsonl")
	cfgPath := writeOpsConfig(t, hook.URL, feed.URL, "suppression: {window: 10m}\ndead_letter_alerts: "+dead)
	runWithOps(t, cfgPath, io.Discard, func(o *opsRuntime) {
		_, body := opsGet(t, o, "/metrics", "metrics-SECRET-3333")
		if !strings.Contains(body, `iocwatch_suppressed_alerts_total{reason="repeat"}`) {
			t.Error("/metrics lacks the suppressor's counters")
		}
	})
}

// A run of the real command with secrets in its config: whatever the
// command logs, no secret may be in it.
func TestARunLogsNoSecret(t *testing.T) {
	hook, feed, _ := opsTestServers(t)
	cfgPath := writeOpsConfig(t, hook.URL, feed.URL, "")
	code, stdout, stderr := runCLI(t, "", "run", "-c", cfgPath)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, `"msg":"watching"`) {
		t.Errorf("the log lacks the watching line:\n%s", stderr)
	}
	for _, s := range opsSecrets {
		if strings.Contains(stderr, s) || strings.Contains(stdout, s) {
			t.Errorf("the run's output holds %s:\n%s", s, stderr)
		}
	}
}

// A feed URL may carry its credential in any query parameter that
// check --show-config hides (auth=, code=, …), not only in the ones the
// log redactor recognises by name: a run must log none of them.
func TestARunLogsNoCredentialOfAFeedURL(t *testing.T) {
	_, feedSrv, _ := opsTestServers(t)
	const auth, code = "fake-url-auth-Vq8Rk2", "fake-url-code-Ln6Bw4"
	cfgPath := writeConfig(t, t.TempDir(), `
source: {type: file, file: {paths: ["{{EVENTS}}"]}}
feeds:
  - {name: sample, path: "{{FEED}}", format: text}
  - {name: remote, type: http, url: "{{URL}}/feed.txt?auth=`+auth+`&code=`+code+`"}
sinks:
  - {name: out, type: stdout}
metrics: {listen: "127.0.0.1:0"}
`, map[string]string{"EVENTS": assetPath(t, "sample-events.jsonl"), "FEED": assetPath(t, "sample-feed.txt"), "URL": feedSrv.URL})
	_, _, stderr := runCLI(t, "", "run", "-c", cfgPath)
	if !strings.Contains(stderr, "remote") || !strings.Contains(stderr, "500") {
		t.Fatalf("the log does not report the failing feed:\n%s", stderr)
	}
	for _, s := range []string{auth, code} {
		if strings.Contains(stderr, s) {
			t.Errorf("the log holds %s:\n%s", s, stderr)
		}
	}
}

func TestConfigSecretsFindsEverySecret(t *testing.T) {
	hook, feed, _ := opsTestServers(t)
	cfg, err := config.Load(writeOpsConfig(t, hook.URL, feed.URL, ""))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(configSecrets(cfg), "|")
	for _, s := range opsSecrets { // the URL is not a Secret, but its key= is a credential
		if !strings.Contains(got, s) {
			t.Errorf("configSecrets misses %s (got %q)", s, got)
		}
	}
}

func TestMetricsDisabledStartsNothing(t *testing.T) {
	cfg := config.Default()
	cfg.Metrics.Enabled = false
	o, err := startOps(cfg, newOpsLogger(io.Discard, cfg))
	if err != nil || o != nil {
		t.Fatalf("startOps = %v, %v; want nil, nil", o, err)
	}
	// Every method of a nil runtime is a no-op.
	var opt stream.Options
	o.watch(&opt, nil, nil, nil, nil)
	o.attach(nil)
	if err := o.close(); err != nil || opt.OnHit != nil {
		t.Errorf("a nil runtime changed something: %v", err)
	}
}

func TestAPortInUseIsAnError(t *testing.T) {
	cfg := config.Default()
	first, err := startOps(cfg, newOpsLogger(io.Discard, cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer first.close()
	cfg.Metrics.Listen = first.srv.Addr()
	if _, err := startOps(cfg, newOpsLogger(io.Discard, cfg)); err == nil || !strings.Contains(err.Error(), "metrics.listen") ||
		!strings.Contains(err.Error(), "--metrics-listen off") {
		t.Errorf("err = %v, want one naming metrics.listen and how to do without", err)
	}
}

func TestKafkaMetricsAreDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "operations.md"))
	if err != nil {
		t.Fatal(err)
	}
	ch := make(chan *prometheus.Desc, 16)
	kafkaCollector{}.Describe(ch)
	close(ch)
	n := 0
	for d := range ch {
		name := fqName.FindStringSubmatch(d.String())
		if name == nil {
			t.Fatalf("no name in %s", d)
		}
		n++
		if !strings.Contains(string(doc), "| `"+name[1]+"` |") {
			t.Errorf("%s is not documented in docs/operations.md", name[1])
		}
	}
	if n != 8 {
		t.Errorf("%d Kafka metrics described, want 8", n)
	}
}

var fqName = regexp.MustCompile(`fqName: "([a-z0-9_]+)"`)

// opsNullSink accepts every alert.
type opsNullSink struct{}

func (opsNullSink) Write(context.Context, []sink.Alert) error { return nil }
func (opsNullSink) Close(context.Context) error               { return nil }

func TestAKafkaWatcherIsReadyOnceInItsGroupAndExportsItsLag(t *testing.T) {
	broker, err := embedded.Start(embedded.BrokerOptions{Topics: []embedded.Topic{{Name: "defender", Partitions: 2}}})
	if err != nil {
		t.Fatal(err)
	}
	defer broker.Close()
	data, err := os.ReadFile(filepath.Join("assets", "sample-events.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var msgs [][]byte
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		msgs = append(msgs, []byte(l))
	}
	for p := range int32(2) {
		if err := broker.Produce(context.Background(), "defender", p, msgs...); err != nil {
			t.Fatal(err)
		}
	}
	cfg := config.Default()
	cfg.Source.Type = "kafka"
	cfg.Source.Kafka.Group = "ops-test"
	cfg.Metrics.Listen = "127.0.0.1:0"
	var logs syncbuf.Buffer
	log := newOpsLogger(&logs, cfg)
	o, err := startOps(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	src, err := kafka.New(kafka.Options{Brokers: []string{broker.Addr()}, Topics: []string{"defender"}, Group: "ops-test",
		StartOffset: "earliest", MaxWait: 100 * time.Millisecond, LagInterval: 100 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	rules, _, err := loadRules(cfgWithSampleFeed(t, cfg), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var holder atomic.Pointer[stream.Rules]
	holder.Store(rules)
	opt := stream.Options{Log: log}
	fan := sink.Fanout(sink.Named{Name: "null", Sink: opsNullSink{}})
	o.watch(&opt, &holder, src, fan, nil)
	p := stream.New(src, &holder, fan, opt)
	o.attach(p)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()

	want := int64(2 * len(msgs))
	deadline := time.Now().Add(30 * time.Second)
	for p.Stats().Messages.Load() < want || len(src.Lag()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("read %d of %d messages; lag of %d partitions", p.Stats().Messages.Load(), want, len(src.Lag()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	o.mon.Sample()
	code, body := opsGet(t, o, "/readyz", "")
	if code != 200 || !strings.Contains(body, "[+]source ok\n") {
		t.Errorf("/readyz = %d %q", code, body)
	}
	_, metrics := opsGet(t, o, "/metrics", "")
	for _, want := range []string{
		`iocwatch_consumer_lag_messages{partition="0",topic="defender"}`,
		`iocwatch_consumer_lag_messages{partition="1",topic="defender"}`,
		"iocwatch_kafka_group_generations_total 1\n",
		"iocwatch_kafka_offset_resets_total 0\n",
		"iocwatch_kafka_unchecked_commits_total 0\n",
		`iocwatch_records_read_total{source="kafka",table="DeviceNetworkEvents"}`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	_, page := opsGet(t, o, "/", "")
	if !strings.Contains(page, `data-partition="defender/1"`) {
		t.Error("the status page lacks partition 1's lag")
	}
}

func TestAKafkaWatcherOutsideItsGroupIsNotReady(t *testing.T) {
	cfg := config.Default()
	cfg.Source.Type = "kafka"
	cfg.Source.Kafka.Group = "nobody"
	cfg.Metrics.Listen = "127.0.0.1:0"
	o, err := startOps(cfg, newOpsLogger(io.Discard, cfg))
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	// A broker that does not exist: the source never joins.
	src, err := kafka.New(kafka.Options{Brokers: []string{"127.0.0.1:1"}, Topics: []string{"defender"}, Group: "nobody", Logger: newOpsLogger(io.Discard, cfg)})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	var opt stream.Options
	o.watch(&opt, nil, src, nil, nil)
	_, body := opsGet(t, o, "/readyz", "")
	if !strings.Contains(body, `[-]source: not a member of Kafka consumer group "nobody"`) {
		t.Errorf("/readyz = %q", body)
	}
}

// cfgWithSampleFeed is cfg with the shipped sample feed and exclusions.
func cfgWithSampleFeed(t *testing.T, cfg *config.Config) *config.Config {
	t.Helper()
	assets, err := filepath.Abs("assets")
	if err != nil {
		t.Fatal(err)
	}
	c := *cfg
	c.Feeds = []config.Feed{{Name: "sample", Type: "file", Path: filepath.Join(assets, "sample-feed.txt"), Format: "text"}}
	c.ExclusionsFiles = []string{filepath.Join(assets, "exclusions.yaml")}
	c.ApplyDefaults()
	return &c
}

func TestLiveFeedsShowTheFeedManagersState(t *testing.T) {
	hook, feedSrv, _ := opsTestServers(t)
	cfg, err := config.Load(writeOpsConfig(t, hook.URL, feedSrv.URL, ""))
	if err != nil {
		t.Fatal(err)
	}
	log := newOpsLogger(io.Discard, cfg)
	o, err := startOps(cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer o.close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var holder atomic.Pointer[stream.Rules]
	rt, err := startFeeds(ctx, cfg, mustCompileExclusions(t, cfg), &holder, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	feeds := o.liveFeeds(rt)
	states := feeds.FeedStates()
	byName := map[string]ops.FeedState{}
	for _, s := range states {
		byName[s.Name] = s
	}
	sample, partner := byName["sample"], byName["partner"]
	if sample.LastError != "" || sample.LastSuccess.IsZero() || sample.Indicators["cidr"] != 3 || sample.Interval != 0 {
		t.Errorf("sample: %+v", sample)
	}
	if partner.LastError == "" || !partner.LastSuccess.IsZero() || partner.FetchErrors != 1 || partner.Interval != time.Minute {
		t.Errorf("partner: %+v", partner)
	}
	feeds.FeedStates() // the same failure seen again is not counted again
	if got, _ := value(families(t, o.mon.Registry()), "iocwatch_index_reloads_total", `result="ok"`); got != 1 {
		t.Errorf("iocwatch_index_reloads_total{ok} = %v, want 1 (the first build)", got)
	}
	if got := feeds.FeedStates(); len(got) != 2 || got[1].FetchErrors != 1 {
		t.Errorf("after a second look: %+v", got)
	}
}

// value returns the value of the series name{labels} of a registry.
func value(fams map[string]*dto.MetricFamily, name, labels string) (float64, bool) {
	f, ok := fams[name]
	if !ok {
		return 0, false
	}
	for _, m := range f.GetMetric() {
		var parts []string
		for _, l := range m.GetLabel() {
			parts = append(parts, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
		}
		if strings.Join(parts, ",") == labels && m.Counter != nil {
			return m.Counter.GetValue(), true
		}
	}
	return 0, false
}

func families(t *testing.T, g prometheus.Gatherer) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

func TestHeldBackSaysWhatShrankAndHowToConfirm(t *testing.T) {
	got := heldBack(&feed.Held{Total: 1, Previous: 4, Since: time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)})
	if want := "shrank from 4 to 1 indicators at 2026-11-26T09:00:00Z: the previous ones stay in use until the next fetch confirms the size (or SIGHUP)"; got != want {
		t.Errorf("heldBack = %q, want %q", got, want)
	}
}

// A restart while a feed's server is down starts the feed from its cached
// copy: the ops view has the copy's download time as the last success
// (exported, and stale three intervals after it) and says it is cached.
func TestAFeedStartedFromItsCacheIsNotNeverLoaded(t *testing.T) {
	up := atomic.Bool{}
	up.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		io.WriteString(w, "203.0.113.10\n203.0.113.11\n")
	}))
	defer srv.Close()
	cache := t.TempDir()
	downloaded := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	now := downloaded
	load := func() *feed.Manager {
		t.Helper()
		m, err := feed.New(feed.Options{CacheDir: cache, Now: func() time.Time { return now },
			Feeds: []feed.Spec{{Name: "partner", Type: feed.TypeHTTP, URL: srv.URL, Interval: time.Minute}}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Load(context.Background()); err != nil {
			t.Fatal(err)
		}
		return m
	}
	load().Close()
	up.Store(false)
	now = downloaded.Add(30 * time.Second)
	m := load()
	defer m.Close()
	mon := ops.NewMonitor(ops.Options{})
	feeds := &managerFeeds{m: m, mon: mon, intervals: map[string]time.Duration{"partner": time.Minute},
		lastFailures: map[string]int{}, errors: map[string]int64{}}
	st := feeds.FeedStates()[0]
	if !st.LastSuccess.Equal(downloaded) || !st.CachedAt.Equal(downloaded) || st.LastError == "" {
		t.Fatalf("state %+v: want the download time as last success and cached-at, and the error", st)
	}
	if st.Stale(downloaded.Add(3*time.Minute)) || !st.Stale(downloaded.Add(3*time.Minute+time.Second)) {
		t.Error("a feed from its cached copy must go stale three intervals after the download")
	}
}

// Once the pipeline stopped — on a fatal source error, say — /readyz
// says so, with the error, at once: not "pipeline ok" while the sinks
// take up to the shutdown budget to close. Closing the listener keeps
// the error.
func TestReadinessSaysThePipelineStoppedAndWhy(t *testing.T) {
	cfg := config.Default()
	cfg.Metrics.Enabled, cfg.Metrics.Listen = true, "127.0.0.1:0"
	cfg.ApplyDefaults()
	o, err := startOps(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	o.pipelineStopped(errors.New("source: the broker refused the group"))
	o.mon.Sample()
	code, body := opsGet(t, o, "/readyz", "")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "[-]pipeline: pipeline stopped: source: the broker refused the group") {
		t.Errorf("/readyz = %d %q, want 503 naming the stop and its error", code, body)
	}
	if err := o.close(); err != nil {
		t.Fatal(err)
	}
	if ok, checks := o.mon.Ready(); ok || !strings.Contains(fmt.Sprint(checks), "the broker refused the group") {
		t.Errorf("after close: ready %v, %v; want the stop's error kept", ok, checks)
	}
}

// A webhook URL with a password in its user info: Go's client sends it as
// basic authentication, and a peer that echoes its request headers into
// its refusal puts the base64 form in the sink's error. The log must not
// show it, nor the URL's key= parameters the peer echoes.
func TestARunLogsNoCredentialOfAWebhookURLAPeerEchoes(t *testing.T) {
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "refused %v %s", r.Header, r.URL)
	}))
	t.Cleanup(hook.Close)
	const pw, code = "fake-hook-pw-Hn3Xc7", "fake-hook-code-Pz5Jt1"
	dir := t.TempDir()
	cfgPath := writeConfig(t, dir, `
source: {type: file, file: {paths: ["{{EVENTS}}"]}}
feeds:
  - {name: sample, path: "{{FEED}}", format: text}
dead_letter_alerts: "{{DEAD}}"
sinks:
  - name: soar
    type: webhook
    webhook: {url: "{{HOOK}}/alerts?code=`+code+`"}
metrics: {listen: "127.0.0.1:0"}
`, map[string]string{"EVENTS": assetPath(t, "sample-events.jsonl"), "FEED": assetPath(t, "sample-feed.txt"),
		"DEAD": filepath.Join(dir, "dead.jsonl"), "HOOK": strings.Replace(hook.URL, "://", "://bob:"+pw+"@", 1)})
	_, _, stderr := runCLI(t, "", "run", "-c", cfgPath)
	if !strings.Contains(stderr, "400 Bad Request") {
		t.Fatalf("the log does not report the refusal:\n%s", stderr)
	}
	basic := base64.StdEncoding.EncodeToString([]byte("bob:" + pw))
	for _, s := range []string{pw, basic, code} {
		if strings.Contains(stderr, s) {
			t.Errorf("the log holds %s:\n%s", s, stderr)
		}
	}
}
