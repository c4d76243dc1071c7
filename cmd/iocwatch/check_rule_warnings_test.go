package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// check prints, and run logs at start, the warnings of a rule that never
// matches because its table never reports its action types, of a
// process_path that names no folder and no file, and of an expired rule —
// the last saying that replay and the retro-hunt still apply it to the
// events before its expiry. Each names the rule file's line, the rule and
// the key.
func TestCheckAndRunWarnOfRulesThatNeverMatchOrMatchEveryProcess(t *testing.T) {
	feed, excl := feedAndRules(t, "exclusions:\n"+
		"  - {name: dns-in-network, reason: r, when: {table: [DeviceNetworkEvents], action_type: [DnsQueryResponse], remote_ip: [192.0.2.10]}}\n"+
		"  - {name: any-exe, reason: r, when: {process_path: ['**\\*.exe'], remote_ip: [192.0.2.10]}}\n"+
		"  - {name: migration, reason: r, expires: 2020-06-01, when: {remote_ip: [192.0.2.10]}}\n")
	warnings := []string{
		excl + `:2: rule "dns-in-network": table "DeviceNetworkEvents" never reports action_type "DnsQueryResponse" (a DeviceEvents action type), so the rule never matches`,
		excl + `:3: rule "any-exe": process_path "**\\*.exe" names no folder and no file (only wildcards, a drive or an extension): it matches a process in every folder, so the rule drops the hits of malware anywhere under it; name the program's file (c:\program files\vendor\agent.exe)`,
		excl + `:4: rule "migration": expired on 2020-06-01: the live stream no longer applies it; replay and the retro-hunt still apply it to events from before then`,
	}
	tests := []struct {
		name   string
		args   []string
		stdout bool // the warnings are on stdout (check), else in the log on stderr (run)
		quote  func(string) string
	}{
		{"check", []string{"check", "--feed", feed, "--exclusions", excl}, true, func(w string) string { return "warning: " + w + "\n" }},
		{"run", []string{"run", "--feed", feed, "--exclusions", excl}, false, logged},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != exitOK {
				t.Fatalf("exit %d (warnings are not problems)\n%s%s", code, stdout, stderr)
			}
			out := stderr
			if tt.stdout {
				out = stdout
			}
			for _, w := range warnings {
				if !strings.Contains(out, tt.quote(w)) {
					t.Errorf("%s's output lacks %q:\n%s", tt.name, tt.quote(w), out)
				}
			}
		})
	}
}

// logged is how run's log writes warning w: the message of a text record.
func logged(w string) string { return "msg=" + strconv.Quote(w) }

// feedAndRules writes, in a new folder, a feed of 192.0.2.10 and a rule
// file of rules, and returns their paths.
func feedAndRules(t *testing.T, rules string) (feed, excl string) {
	t.Helper()
	dir := t.TempDir()
	feed = filepath.Join(dir, "f.txt")
	excl = filepath.Join(dir, "exclusions.yaml")
	writeFiles(t, map[string]string{feed: "192.0.2.10\n", excl: rules})
	return feed, excl
}
