//go:build linux

package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// A dead_letter_alerts file that cannot be written (here /dev/full: every
// write fails with ENOSPC) holds the stream back, as docs/sinks.md says:
// run keeps retrying, logs why, and does not stop on its own with exit 1
// on what may be a passing disk problem. Nothing is acknowledged past the
// alerts that could not be filed.
func TestADeadLetterFileThatCannotBeWrittenHoldsTheStreamBack(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full:", err)
	}
	old := shutdownBudget
	shutdownBudget = 3 * time.Second
	defer func() { shutdownBudget = old }()
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"error":"field too long"}`, http.StatusBadRequest)
	}))
	defer refusing.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	body := "source: {type: file, file: {paths: ['" + mustAbs(t, "assets/sample-events.jsonl") + "']}}\n" +
		"feeds: [{name: c2, path: " + filepath.Join(mustAbs(t, "assets"), "sample-feed.txt") + "}]\n" +
		"sinks: [{name: soar, type: webhook, retry: {initial: 10ms, max: 100ms}, webhook: {url: '" + refusing.URL + "'}}]\n" +
		"metrics: {enabled: false}\ndead_letter_alerts: /dev/full\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncbuf.Buffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr},
			[]string{"run", "-c", cfg})
	}()
	deadline := time.After(30 * time.Second)
	for !strings.Contains(stderr.String(), "sink delivery failed; retrying") || !strings.Contains(stderr.String(), "no space left on device") {
		select {
		case code := <-done:
			t.Fatalf("run stopped on its own (exit %d) instead of holding back while the dead-letter file cannot be written:\n%s", code, stderr.String())
		case <-deadline:
			t.Fatalf("no log line says the refused alerts are held back:\n%s", stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	select {
	case code := <-done:
		if code != exitFailure || !strings.Contains(stderr.String(), "batches read but not delivered") {
			t.Errorf("exit %d, want %d saying what was not delivered:\n%s", code, exitFailure, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("run did not stop:\n%s", stderr.String())
	}
}

// Once the dead-letter file can be written again, the alerts held back
// are filed and the write succeeds — without the batch being sent to the
// sink again. The file is a FIFO: writes fail (EPIPE) while no reader has
// it open and work again once one opens it.
func TestRefusedAlertsHeldBackAreFiledOnceTheDeadLetterFileRecovers(t *testing.T) {
	var requests atomic.Int64
	refusing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		http.Error(w, "bad request", http.StatusBadRequest)
	}))
	defer refusing.Close()
	fifo := filepath.Join(t.TempDir(), "dead.fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFO:", err)
	}
	// A reader while the file is opened (an open for writing waits for
	// one), gone before the first write.
	r1, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	cfg.DeadLetterAlerts = fifo
	sc := config.Sink{Name: "soar", Type: "webhook", Retry: config.Retry{Initial: 10 * time.Millisecond, Max: 100 * time.Millisecond}}
	sc.Webhook.URL = refusing.URL
	cfg.Sinks = []config.Sink{sc}
	cfg.ApplyDefaults()
	var logs syncbuf.Buffer
	out, err := buildSinks(cfg, &cliEnv{stdout: &bytes.Buffer{}, stderr: &logs}, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close(context.Background()) // fsync of a FIFO fails: not what is tested
	r1.Close()

	alerts := sinktest.Alerts(3, 1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	written := make(chan error, 1)
	go func() { written <- out.Write(ctx, alerts) }()
	for !strings.Contains(logs.String(), "broken pipe") {
		select {
		case err := <-written:
			t.Fatalf("Write = %v while the dead-letter file could not be written; want it held back until it can", err)
		case <-ctx.Done():
			t.Fatalf("no retry logged:\n%s", logs.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	r2, err := os.OpenFile(fifo, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer r2.Close()
	select {
	case err := <-written:
		if err != nil {
			t.Fatalf("Write = %v once the dead-letter file could be written again", err)
		}
	case <-ctx.Done():
		t.Fatalf("Write still held back after the dead-letter file recovered:\n%s", logs.String())
	}
	buf := make([]byte, 1<<20)
	n, err := r2.Read(buf)
	if err != nil && !errors.Is(err, syscall.EAGAIN) {
		t.Fatal(err)
	}
	if got := bytes.Count(buf[:n], []byte(`"alert_id"`)); got != len(alerts) {
		t.Errorf("%d alerts filed, want %d:\n%s", got, len(alerts), buf[:n])
	}
	if got := requests.Load(); got != int64(len(alerts)) {
		t.Errorf("the webhook got %d requests for %d alerts: the batch was sent to it again while the dead-letter file failed", got, len(alerts))
	}
	if st := sinkStats(t, out); st.DeadLettered != uint64(len(alerts)) {
		t.Errorf("DeadLettered = %d, want %d", st.DeadLettered, len(alerts))
	}
}

func sinkStats(t *testing.T, out sink.Sink) sink.Stats {
	t.Helper()
	fan, _ := sinkParts(out)
	if fan == nil {
		t.Fatal("no fan-out in the sink stack")
	}
	for _, s := range fan.SinkStats() {
		return s
	}
	t.Fatal("no sink stats")
	return sink.Stats{}
}
