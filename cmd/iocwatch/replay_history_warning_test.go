package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// A replay reads no history: with a config whose history is on, it does
// not say that a DOMAIN\name account cannot apply — in the replay it does,
// the events carrying the account domain — while check still says so of
// the retro-hunts.
func TestReplayDoesNotWarnThatADomainAccountCannotApply(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "f.txt")
	events := filepath.Join(dir, "events.jsonl")
	cfg := filepath.Join(dir, "iocwatch.yaml")
	writeFiles(t, map[string]string{
		feed:   "192.0.2.10\n",
		events: connection("2020-05-31T23:59:59Z", "1"), // svc-backup in domain corp
		cfg: "source: {type: stdin}\nfeeds: [{name: f, path: '" + feed + "'}]\nmetrics: {enabled: false}\n" +
			"history: {enabled: true, path: '" + filepath.Join(dir, "history") + "'}\n" +
			"exclusions:\n  - {name: backup-agent, reason: r, when: {account: ['CORP\\svc-backup'], remote_ip: [192.0.2.10]}}\n",
	})
	const warning = "names the account's domain, which the history does not keep"
	for _, tt := range []struct {
		cmd  string
		args []string
		want bool // the warning, on stdout or stderr
	}{
		{"check", []string{"check", "-c", cfg}, true},
		{"replay", []string{"replay", "-c", cfg, events}, false},
	} {
		t.Run(tt.cmd, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != exitOK {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			if got := strings.Contains(stdout+stderr, warning); got != tt.want {
				t.Errorf("%s: warning %q shown = %v, want %v\n%s%s", tt.cmd, warning, got, tt.want, stdout, stderr)
			}
			if tt.cmd == "replay" && !strings.Contains(stderr, "excluded 1 (backup-agent 1), alerts 0") {
				t.Errorf("the replay did not exclude the event of CORP\\svc-backup:\n%s", stderr)
			}
		})
	}
}
