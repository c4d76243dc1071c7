package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/sink"
)

// A sink that keeps failing is logged — its name and the cause — at the
// first failure and then at most once a minute, not at every retry.
func TestASinkThatFailsIsLoggedWithItsCause(t *testing.T) {
	var calls atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	cfg := config.Default()
	sk := config.Sink{Name: "soar", Type: "webhook", Format: "native", Queue: 16,
		Retry: config.Retry{Initial: 5 * time.Millisecond, Max: 10 * time.Millisecond}}
	sk.Webhook.URL = srv.URL
	sk.Webhook.Timeout = 5 * time.Second
	cfg.Sinks = []config.Sink{sk}
	cfg.Suppression.Window, cfg.Suppression.Capacity = 0, 0
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	out, err := buildSinks(cfg, &cliEnv{}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	err = out.Write(ctx, []sink.Alert{{AlertID: "a1", DetectedAt: time.Now(), Timestamp: time.Now()}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Write: %v, want the deadline", err)
	}
	closeCtx, cancelClose := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelClose()
	out.Close(closeCtx)
	got := logs.String()
	if n := strings.Count(got, "sink delivery failed; retrying"); n != 1 || calls.Load() < 5 {
		t.Errorf("%d warnings for %d failed attempts, want 1 for at least 5:\n%s", n, calls.Load(), got)
	}
	for _, want := range []string{"level=WARN", "sink=soar", "attempt=1", "503"} {
		if !strings.Contains(got, want) {
			t.Errorf("the warning lacks %q:\n%s", want, got)
		}
	}
}

// The logger's schedule: the first failure, a later run's first failure
// after 10 s, and otherwise once a minute.
func TestRetryLoggerSchedule(t *testing.T) {
	var logs syncbuf.Buffer
	f := retryLogger(slog.New(slog.NewTextHandler(&logs, nil)), "s")
	for attempt := 1; attempt <= 50; attempt++ {
		f(attempt, errors.New("down"), time.Millisecond)
	}
	f(1, errors.New("down again"), time.Millisecond) // a new run, too soon after
	if n := strings.Count(logs.String(), "retrying"); n != 1 {
		t.Errorf("%d lines, want 1:\n%s", n, logs.String())
	}
	if retryLogger(nil, "s") != nil {
		t.Error("a nil logger gives a logging hook")
	}
}

// Alerts a sink refuses for good stop the pipeline when there is no
// dead_letter_alerts file to hold them; the error says how to go on, and
// with the file set the same replay succeeds and files them.
func TestARefusedAlertWithoutADeadLetterFileSaysHowToGoOn(t *testing.T) {
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"field too long"}`, http.StatusBadRequest)
	}))
	defer refusing.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	body := "feeds: [{name: c2, path: " + filepath.Join(mustAbs(t, "assets"), "sample-feed.txt") + "}]\n" +
		"sinks: [{name: soar, type: webhook, webhook: {url: '" + refusing.URL + "'}}]\nmetrics: {enabled: false}\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "", "replay", "-c", cfg, "--sinks", "assets/sample-events.jsonl")
	if code != exitFailure || !strings.Contains(stderr, "400 Bad Request") || !strings.Contains(stderr, "set dead_letter_alerts") {
		t.Errorf("replay into a refusing sink: exit %d, want %d with the refusal and a hint\n%s", code, exitFailure, stderr)
	}

	dead := filepath.Join(dir, "dead.jsonl")
	if err := os.WriteFile(cfg, []byte(body+"dead_letter_alerts: "+dead+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "", "replay", "-c", cfg, "--sinks", "assets/sample-events.jsonl")
	data, _ := os.ReadFile(dead)
	if code != exitOK || strings.Count(string(data), `"alert_id"`) == 0 {
		t.Errorf("replay with dead_letter_alerts: exit %d, %d alerts filed\n%s", code, strings.Count(string(data), `"alert_id"`), stderr)
	}
	// Alerts leaving the stream for the file are logged, once for the run.
	if n := strings.Count(stderr, `msg="sink refused alerts for good; written to the dead-letter file" sink=soar`); n != 1 || !strings.Contains(stderr, "400 Bad Request") {
		t.Errorf("%d log lines for the refused alerts, want 1 with the cause:\n%s", n, stderr)
	}
}

// exclusions_audit receives every hit an exclusion suppressed, with the
// rule and its reason: as many lines as the summary counts excluded.
func TestTheExclusionAuditFileHoldsEverySuppressedHit(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	audit := filepath.Join(dir, "excluded.jsonl")
	body := "feeds: [{name: c2, path: " + filepath.Join(mustAbs(t, "assets"), "sample-feed.txt") + "}]\n" +
		"exclusions_files: [" + filepath.Join(mustAbs(t, "assets"), "exclusions.yaml") + "]\n" +
		"exclusions_audit: excluded.jsonl\nmetrics: {enabled: false}\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "", "replay", "-c", cfg, "assets/sample-events.jsonl")
	if code != exitOK {
		t.Fatalf("replay: exit %d\n%s", code, stderr)
	}
	m := regexp.MustCompile(`excluded (\d+)`).FindStringSubmatch(stderr)
	if m == nil {
		t.Fatalf("no excluded count in the summary:\n%s", stderr)
	}
	data, err := os.ReadFile(audit)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if strconv.Itoa(len(lines)) != m[1] || m[1] == "0" {
		t.Fatalf("the audit file holds %d lines, the summary counts %s excluded\n%s", len(lines), m[1], data)
	}
	for i, l := range lines {
		var rec struct {
			Time   time.Time `json:"time"`
			Rule   string    `json:"rule"`
			Reason string    `json:"reason"`
			Alert  struct {
				AlertID  string `json:"alert_id"`
				RemoteIP string `json:"RemoteIP"`
			} `json:"alert"`
		}
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("line %d: %v\n%s", i+1, err, l)
		}
		if rec.Time.IsZero() || rec.Rule == "" || rec.Reason == "" || rec.Alert.AlertID == "" {
			t.Errorf("line %d lacks the time, the rule, its reason or the alert: %s", i+1, l)
		}
		if !strings.Contains(stderr, rec.Rule) {
			t.Errorf("line %d names rule %q, which the summary does not count", i+1, rec.Rule)
		}
	}
}

// A stop while a sink hangs ends within the shutdown budget and says what
// becomes of the batches it could not deliver.
func TestAStopDuringASinkOutageEndsWithinTheBudgetAndSaysWhatIsLeft(t *testing.T) {
	old := shutdownBudget
	shutdownBudget = 3 * time.Second
	defer func() { shutdownBudget = old }()
	release := make(chan struct{})
	hung := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer hung.Close()
	defer close(release)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	body := "source: {type: stdin}\nfeeds: [{name: c2, path: " + filepath.Join(mustAbs(t, "assets"), "sample-feed.txt") + "}]\n" +
		"sinks: [{name: soar, type: webhook, webhook: {url: '" + hung.URL + "', timeout: 1m}}]\nmetrics: {enabled: false}\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	events, err := assets.ReadFile("assets/sample-events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	defer pw.Close()
	go pw.Write(events) // stdin stays open: only the signal stops run
	var stdout, stderr syncbuf.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, &cliEnv{stdin: pr, stdout: &stdout, stderr: &stderr}, []string{"run", "-c", cfg})
	}()
	time.Sleep(time.Second) // the alerts reach the hung sink
	stopAt := time.Now()
	cancel()
	select {
	case code := <-done:
		if code != exitFailure || !strings.Contains(stderr.String(), "batches read but not delivered (the 3s shutdown budget ran out)") {
			t.Errorf("exit %d, want %d saying what was not delivered:\n%s", code, exitFailure, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("run did not stop:\n%s", stderr.String())
	}
	if d := time.Since(stopAt); d > 3*time.Second+5*time.Second {
		t.Errorf("run took %v to stop, over its 3s budget", d)
	}
}

// A file sink whose file cannot be created is an output file that cannot
// be created, as README.md says: a failure while running (exit 1, which
// systemd restarts after), as for dead_letter_alerts and
// pipeline.dead_letter — not a bad configuration (exit 2). A bad value of
// the sink is still exit 2.
func TestAFileSinkThatCannotBeCreatedIsAFailureWhileRunning(t *testing.T) {
	dir := t.TempDir()
	events := mustAbs(t, "assets/sample-events.jsonl")
	feedLine := "source: {type: stdin}\nfeeds: [{name: c2, path: " + filepath.Join(mustAbs(t, "assets"), "sample-feed.txt") + "}]\nmetrics: {enabled: false}\n"
	for _, tc := range []struct {
		name, sinks string
		want        int
	}{
		{"file sink in a missing directory", "sinks: [{name: archive, type: file, file: {path: " + filepath.Join(dir, "nodir", "alerts.jsonl") + "}}]\n", exitFailure},
		{"dead_letter_alerts in a missing directory", "dead_letter_alerts: " + filepath.Join(dir, "nodir", "dead.jsonl") + "\n", exitFailure},
		{"file sink with an unknown format", "sinks: [{name: archive, type: file, format: xml, file: {path: " + filepath.Join(dir, "alerts.jsonl") + "}}]\n", exitUsage},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := filepath.Join(dir, "c.yaml")
			if err := os.WriteFile(cfg, []byte(feedLine+tc.sinks), 0o600); err != nil {
				t.Fatal(err)
			}
			for _, args := range [][]string{{"run", "-c", cfg, events}, {"replay", "-c", cfg, "--sinks", events}} {
				if code, _, stderr := runCLI(t, "", args...); code != tc.want {
					t.Errorf("%s: exit %d, want %d\n%s", args[0], code, tc.want, stderr)
				}
			}
		})
	}
}

// Files named on the command line replace the config's source, so what
// depends on the source's kind follows them: a Kafka config run over an
// exported file delivers in order, as a file source does, and its metrics
// say "file".
func TestFilesOnTheCommandLineReplaceTheConfigsSource(t *testing.T) {
	for _, tt := range []struct {
		name, typ string
		paths     []string
		want      string
	}{
		{"a Kafka config and a file", "kafka", []string{"events.jsonl"}, "file"},
		{"an Event Hubs config and stdin", "eventhubs", []string{"-"}, "stdin"},
		{"a Kafka config alone", "kafka", nil, "kafka"},
		{"a file config and other files", "file", []string{"a.jsonl", "b.jsonl"}, "file"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := config.Default()
			cfg.Source.Type = tt.typ
			sourceFromPaths(cfg, tt.paths)
			if cfg.Source.Type != tt.want || sourceLabel(cfg) != tt.want {
				t.Errorf("source %q, label %q; want %q", cfg.Source.Type, sourceLabel(cfg), tt.want)
			}
		})
	}
}
