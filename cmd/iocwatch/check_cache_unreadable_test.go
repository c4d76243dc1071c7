package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A one-shot command that cannot read the feed cache — the directory, or
// a cached copy or the kept values in it (a check run as another user
// than the service, which makes the directory its own) — loads the feeds
// without them, and says so: silently it would show fewer indicators than
// run has, and a feed whose server is down as failed instead of cached.
// A directory run has not made yet is no warning.
func TestACheckThatCannotReadTheFeedCacheSaysSo(t *testing.T) {
	const warn = "the feeds load without the cached copies and kept values run starts from"
	tests := []struct {
		name  string
		setup func(t *testing.T, cache string) string // returns the feed_cache_dir
		want  string                                  // in the warning; "" for none
	}{
		{"no cache directory yet", func(t *testing.T, cache string) string {
			return filepath.Join(cache, "not-yet")
		}, ""},
		{"a readable cache", func(t *testing.T, cache string) string {
			writeCacheTestFile(t, filepath.Join(cache, "recent.retained.jsonl"), "")
			return cache
		}, ""},
		{"a path that is not a directory", func(t *testing.T, cache string) string {
			writeCacheTestFile(t, filepath.Join(cache, "file"), "")
			return filepath.Join(cache, "file", "cache")
		}, "feed_cache_dir cannot be read (open "},
		{"kept values that cannot be read", func(t *testing.T, cache string) string {
			symlinkLoop(t, filepath.Join(cache, "recent.retained.jsonl"))
			writeCacheTestFile(t, filepath.Join(cache, "notes.txt"), "")
			return cache
		}, "feed_cache_dir: a file cannot be read (open " + filepath.Join("{{CACHE}}", "recent.retained.jsonl")},
		{"two files that cannot be read", func(t *testing.T, cache string) string {
			symlinkLoop(t, filepath.Join(cache, "recent.retained.jsonl"))
			symlinkLoop(t, filepath.Join(cache, "remote.cache"))
			return cache
		}, "feed_cache_dir: 2 files cannot be read (the first: open "},
	}
	if os.Geteuid() != 0 {
		tests = append(tests, struct {
			name  string
			setup func(t *testing.T, cache string) string
			want  string
		}{"a directory of another user's", func(t *testing.T, cache string) string {
			dir := filepath.Join(cache, "private")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			writeCacheTestFile(t, filepath.Join(dir, "recent.retained.jsonl"), "")
			if err := os.Chmod(dir, 0); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.Chmod(dir, 0o700) })
			return dir
		}, "feed_cache_dir cannot be read (open "})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			feedPath := filepath.Join(dir, "recent.txt")
			writeCacheTestFile(t, feedPath, "203.0.113.1\n")
			cache := filepath.Join(dir, "cache")
			if err := os.Mkdir(cache, 0o700); err != nil {
				t.Fatal(err)
			}
			cacheDir := tt.setup(t, cache)
			cfg := writeConfig(t, dir, `
source: {type: file, file: {paths: ["{{FEED}}"]}}
feed_cache_dir: "{{CACHE}}"
feeds:
  - {name: recent, path: "{{FEED}}", format: text, ttl: 1h}
`, map[string]string{"FEED": feedPath, "CACHE": cacheDir})
			code, stdout, stderr := runCLI(t, "", "check", "-c", cfg)
			if code != exitOK {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitOK, stdout, stderr)
			}
			want := strings.ReplaceAll(tt.want, "{{CACHE}}", cacheDir)
			switch got := strings.Contains(stdout, warn); {
			case want == "" && got:
				t.Errorf("a warning for a cache it can read:\n%s", stdout)
			case want != "" && (!got || !strings.Contains(stdout, "warning: "+want)):
				t.Errorf("no warning %q …%q:\n%s", want, warn, stdout)
			}
		})
	}
}

// symlinkLoop makes path a symbolic link to itself: a file no one, root
// included, can open.
func symlinkLoop(t *testing.T, path string) {
	t.Helper()
	if err := os.Symlink(filepath.Base(path), path); err != nil {
		t.Fatal(err)
	}
}

func writeCacheTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
