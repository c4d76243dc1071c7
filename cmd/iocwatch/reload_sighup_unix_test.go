//go:build unix

package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/stream"
)

// A SIGHUP while the feeds load for the first time (a `systemctl reload`
// during a slow start) is a reload once they are in, not the end of the
// process, which is the signal's default action: were it not caught yet,
// this test binary would die.
func TestASIGHUPDuringTheFirstFeedLoadReloadsOnceLoaded(t *testing.T) {
	asked := make(chan struct{}, 8)
	release := make(chan struct{})
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			asked <- struct{}{}
			<-release
		}
		w.Write([]byte("203.0.113.1\n"))
	}))
	defer srv.Close()
	cfg := config.Default()
	cfg.Feeds = []config.Feed{{Name: "c2", Type: "http", URL: srv.URL + "/c2.txt", Format: "text"}}
	cfg.ApplyDefaults()
	var logs syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type started struct {
		rt  *feedRuntime
		err error
	}
	done := make(chan started, 1)
	var holder atomic.Pointer[stream.Rules]
	go func() {
		rt, err := startFeeds(ctx, cfg, mustCompileExclusions(t, cfg), &holder, log, nil)
		done <- started{rt, err}
	}()
	select {
	case <-asked:
	case <-time.After(30 * time.Second):
		t.Fatal("the feed was not fetched within 30 s")
	}
	if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	close(release)
	s := <-done
	if s.err != nil {
		t.Fatal(s.err)
	}
	defer s.rt.Close()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(logs.String(), "SIGHUP: reloading every feed") || requests.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("no reload after the SIGHUP (%d requests):\n%s", requests.Load(), logs.String())
		}
		time.Sleep(10 * time.Millisecond)
	}
}
