package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/internal/dirstate"
	"github.com/iocwatch/iocwatch/stream"
)

// feedCacheConfig is a config with a TTL file feed and an http feed
// cached in feed_cache_dir; {{ALLOW}} and {{TTL}} are the TTL feed's guard
// and ttl.
const feedCacheConfig = `
source: {type: file, file: {paths: ["{{EVENTS}}"]}}
feed_cache_dir: "{{CACHE}}"
feeds:
  - {name: recent, path: "{{FEED}}", format: text, ttl: {{TTL}}, allow: {private: {{ALLOW}}}}
  - {name: remote, type: http, url: "{{URL}}/feed.txt", format: text}
`

// The one-shot commands — check, lookup, replay — read the feed cache of
// the running service (they start from it, and show what run would use)
// but write nothing there, even with a candidate configuration whose
// stricter guard and shorter ttl would drop the values the service keeps,
// and while the feed server has content the service has not loaded. So
// check reports a kept value the candidate refuses every time it runs,
// and the service, restarted with its server down, still has its kept
// value and its cached copy.
func TestOneShotCommandsLeaveTheServicesFeedCacheAlone(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	feedPath := filepath.Join(dir, "recent.txt")
	if err := os.WriteFile(feedPath, []byte("10.1.2.3\n203.0.113.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var body atomic.Value // what the feed server serves; "" is down
	body.Store("203.0.113.10\nc2.example\n")
	srv := feedServer(t, &body)
	vars := map[string]string{"EVENTS": assetPath(t, "sample-events.jsonl"), "CACHE": cache, "FEED": feedPath, "URL": srv.URL}
	configWith := func(allow, ttl string) string {
		vars["ALLOW"], vars["TTL"] = allow, ttl
		return writeConfig(t, t.TempDir(), feedCacheConfig, vars)
	}
	service, candidate := configWith("true", "1h"), configWith("false", "30m")

	// The service loads both feeds, then the TTL feed drops 10.1.2.3,
	// which it keeps.
	svc := startService(t, service)
	if err := os.WriteFile(feedPath, []byte("203.0.113.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	svc.reload(context.Background(), slog.New(slog.DiscardHandler))
	if st := serviceStatus(t, svc, "recent"); st.Retained != 1 {
		t.Fatalf("the service keeps %d values, want 1", st.Retained)
	}
	svc.Close()

	body.Store("203.0.113.10\nc2.example\nnewer.example\n") // not loaded by the service
	old := time.Date(2026, 2, 1, 0, 0, 0, 0, time.UTC)
	ageTree(t, cache, old)
	before := treeState(t, cache)
	const refused = `"10.1.2.3": private range refused (a value the feed no longer lists, kept by its ttl)`
	commands := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"check", "-c", candidate}, exitFailure, refused},
		{[]string{"check", "-c", candidate}, exitFailure, refused},
		{[]string{"lookup", "-c", candidate, "newer.example"}, exitOK, "newer.example"},
		{[]string{"replay", "-c", candidate, "--quiet", assetPath(t, "sample-events.jsonl")}, exitOK, ""},
		{[]string{"check", "-c", service}, exitOK, "1 of them no longer listed, kept until their ttl"},
	}
	for _, c := range commands {
		code, stdout, stderr := runCLI(t, "", c.args...)
		if code != c.code || !strings.Contains(stdout, c.want) {
			t.Errorf("%s: exit %d, want %d with %q\nstdout:\n%s\nstderr:\n%s", c.args[0], code, c.code, c.want, stdout, stderr)
		}
		if changed := dirstate.Changed(before, treeState(t, cache)); len(changed) > 0 {
			t.Fatalf("%q changed the feed cache: %q", c.args, changed)
		}
	}

	// The service restarts while its feed server is down: its kept value
	// and its cached copy are as it left them.
	body.Store("")
	svc = startService(t, service)
	defer svc.Close()
	if st := serviceStatus(t, svc, "recent"); st.Retained != 1 {
		t.Errorf("after the restart the service keeps %d values, want 1", st.Retained)
	}
	if st := serviceStatus(t, svc, "remote"); !st.FromCache || st.Total != 2 {
		t.Errorf("after the restart: remote from cache %v with %d indicators, want its cached 2", st.FromCache, st.Total)
	}
	if changed := dirstate.Changed(before, treeState(t, cache)); !slices.Contains(changed, "recent.retained.jsonl") {
		t.Errorf("the service wrote nothing to its cache (changed %q)", changed)
	}
}

// startService starts the feeds of `run` for the config at path.
func startService(t *testing.T, path string) *feedRuntime {
	t.Helper()
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	var holder atomic.Pointer[stream.Rules]
	rt, err := startFeeds(context.Background(), cfg, mustCompileExclusions(t, cfg), &holder, slog.New(slog.DiscardHandler), nil)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

func serviceStatus(t *testing.T, rt *feedRuntime, name string) (st struct {
	Retained, Total int
	FromCache       bool
}) {
	t.Helper()
	for _, s := range rt.Status() {
		if s.Name == name {
			st.Retained, st.Total, st.FromCache = s.Retained, s.Total, s.FromCache
			return st
		}
	}
	t.Fatalf("no feed %q", name)
	return st
}

// treeState snapshots dir (dirstate.Snapshot), failing the test on an error.
func treeState(t *testing.T, dir string) map[string]dirstate.Entry {
	t.Helper()
	s, err := dirstate.Snapshot(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// ageTree ages every entry under dir to at (dirstate.Age), failing the test on
// an error.
func ageTree(t *testing.T, dir string, at time.Time) {
	t.Helper()
	if err := dirstate.Age(dir, at); err != nil {
		t.Fatal(err)
	}
}

// A service started after only one-shot commands ran finds no cache (they
// made none, not even the directory) and starts as a first run does: it
// downloads, then makes the directory and keeps its copy, which a restart
// with the server down starts from.
func TestRunAfterOnlyOneShotCommandsStartsWithoutACache(t *testing.T) {
	dir := t.TempDir()
	cache := filepath.Join(dir, "cache")
	feedPath := filepath.Join(dir, "recent.txt")
	if err := os.WriteFile(feedPath, []byte("203.0.113.1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var body atomic.Value
	body.Store("203.0.113.10\nc2.example\n")
	srv := feedServer(t, &body)
	cfg := writeConfig(t, dir, feedCacheConfig, map[string]string{"EVENTS": assetPath(t, "sample-events.jsonl"), "CACHE": cache,
		"FEED": feedPath, "URL": srv.URL, "ALLOW": "false", "TTL": "1h"})
	for _, args := range [][]string{{"check", "-c", cfg}, {"lookup", "-c", cfg, "c2.example"}} {
		if code, stdout, stderr := runCLI(t, "", args...); code != exitOK {
			t.Fatalf("%s: exit %d\nstdout:\n%s\nstderr:\n%s", args[0], code, stdout, stderr)
		}
		if _, err := os.Stat(cache); !os.IsNotExist(err) {
			t.Fatalf("%s made the cache directory: %v", args[0], err)
		}
	}
	svc := startService(t, cfg)
	st := serviceStatus(t, svc, "remote")
	svc.Close()
	if st.FromCache || st.Total != 2 {
		t.Errorf("the first run: remote from cache %v with %d indicators, want downloaded, 2", st.FromCache, st.Total)
	}
	for _, name := range []string{"remote.cache", "recent.retained.jsonl"} {
		if _, err := os.Stat(filepath.Join(cache, name)); err != nil {
			t.Errorf("the first run wrote no %s: %v", name, err)
		}
	}
	body.Store("")
	svc = startService(t, cfg)
	defer svc.Close()
	if st := serviceStatus(t, svc, "remote"); !st.FromCache || st.Total != 2 {
		t.Errorf("restarted with the server down: remote from cache %v with %d indicators, want its cached 2", st.FromCache, st.Total)
	}
}

// feedServer serves body's text as a feed, or a 502 while it is "" (the
// server down), until the test ends.
func feedServer(t *testing.T, body *atomic.Value) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b := body.Load().(string)
		if b == "" {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		w.Write([]byte(b))
	}))
	t.Cleanup(srv.Close)
	return srv
}
