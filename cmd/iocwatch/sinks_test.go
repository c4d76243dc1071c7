package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
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
