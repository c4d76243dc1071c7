package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/stream"
)

// The secrets of the test config. Each must never reach a log line.
var opsSecrets = []string{
	"hmac-SECRET-1111",    // sinks[0].webhook.hmac_secret
	"header-SECRET-2222",  // sinks[0].webhook.headers
	"metrics-SECRET-3333", // metrics.bearer_token
	"feed-SECRET-4444",    // feeds[1].headers
	"query-SECRET-5555",   // in feeds[1].url
}

// syncBuffer is a log destination safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
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
	var logs syncBuffer
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
			`"msg":"ops: feed failing; its last good indicators stay in use","feed":"partner"`} {
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

func TestConfigSecretsFindsEverySecret(t *testing.T) {
	hook, feed, _ := opsTestServers(t)
	cfg, err := config.Load(writeOpsConfig(t, hook.URL, feed.URL, ""))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(configSecrets(cfg), "|")
	for _, s := range opsSecrets[:4] { // the URL is not a Secret: the redactor's shapes cover its key=
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
	if _, err := startOps(cfg, newOpsLogger(io.Discard, cfg)); err == nil || !strings.Contains(err.Error(), "metrics.listen") {
		t.Errorf("err = %v, want one naming metrics.listen", err)
	}
}
