package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
)

var update = flag.Bool("update", false, "rewrite golden files")

// runCLI runs the command line in-process and returns its exit code and
// output.
func runCLI(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	code = runMain(ctx, env, args)
	return code, out.String(), errOut.String()
}

// normaliseAlerts drops what changes from run to run (detected_at) and
// returns the alerts as indented JSON lines.
func normaliseAlerts(t *testing.T, jsonl string) string {
	t.Helper()
	var b strings.Builder
	for _, line := range strings.Split(strings.TrimSpace(jsonl), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("alert line is not JSON: %v\n%s", err, line)
		}
		for _, k := range []string{"detected_at", "first_seen", "last_seen"} {
			if _, ok := m[k]; ok {
				m[k] = "<varies>"
			}
		}
		out, _ := json.Marshal(m)
		b.Write(out)
		b.WriteByte('\n')
	}
	return b.String()
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update after checking):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// The sample stream plants hits on every indicator kind and look-alikes that
// must stay quiet: the golden file holds exactly the alerts expected.
func TestReplayOfTheSampleStreamGivesExactlyThePlantedAlerts(t *testing.T) {
	dead := filepath.Join(t.TempDir(), "dead.jsonl")
	code, stdout, stderr := runCLI(t, "", "replay", "--sample", "--dead-letter", dead)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	golden(t, "testdata/replay-sample/expected.jsonl", normaliseAlerts(t, stdout))

	for _, want := range []string{
		"excluded 3 (rdp-client 1, scheduled-maintenance 1, veeam-backup 1)",
		"decode errors 1 (written to " + dead + ")",
		"2 refused",
		// Named after the shipped file, not the temporary copy it is read from.
		"\n  refused sample-feed.txt:12: \"10.0.0.0/8\": private range refused\n",
		// One repeat is folded into a summary, so the 10 alerts on stdout
		// are 10 alerts matched less 1 repeat plus 1 summary.
		"suppression: repeats held back 1, summaries sent 1, duplicates dropped 0; alerts to the sinks 10",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "warning:") {
		t.Errorf("the shipped sample draws warnings (users meet them first):\n%s", stderr)
	}
	data, err := os.ReadFile(dead)
	if err != nil {
		t.Fatal(err)
	}
	var entry struct {
		Position, Error, Message string
	}
	if err := json.Unmarshal(bytes.TrimSpace(data), &entry); err != nil {
		t.Fatalf("dead-letter file holds %q: %v", data, err)
	}
	if entry.Position != "sample-events.jsonl:7" || !strings.Contains(entry.Message, `"203.0.113.77"`) {
		t.Errorf("dead-letter entry %+v: want the broken line 7 with its text", entry)
	}
}

func TestTheShippedExclusionsAreTheDocumentedExample(t *testing.T) {
	doc, err := os.ReadFile("../../docs/examples/exclusions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	shipped, err := assets.ReadFile("assets/exclusions.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(doc, shipped) {
		t.Fatal("cmd/iocwatch/assets/exclusions.yaml differs from docs/examples/exclusions.yaml: copy the docs one over")
	}
}

func TestExitCodes(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want int
		says string
	}{
		{"no command prints help and is a usage error", nil, exitUsage, "Commands:"},
		{"help succeeds", []string{"help"}, exitOK, "Exit codes:"},
		{"an unknown command is a usage error", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"a command's -h succeeds", []string{"replay", "-h"}, exitOK, "Usage: iocwatch replay"},
		{"help of a command shows its usage", []string{"help", "lookup"}, exitOK, "Usage: iocwatch lookup"},
		{"help of an unknown command is a usage error", []string{"help", "frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"an unknown flag is a usage error", []string{"check", "--nope"}, exitUsage, "flag provided but not defined"},
		{"replay without events is a usage error", []string{"replay"}, exitUsage, "no events to replay"},
		{"a missing config file is a usage error naming it", []string{"check", "-c", "testdata/nope.yaml"}, exitUsage, "nope.yaml"},
		{"a missing feed file fails check", []string{"check", "--feed", "testdata/missing-feed.txt"}, exitFailure, "missing-feed.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != tt.want {
				t.Errorf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.want, stdout, stderr)
			}
			if !strings.Contains(stdout+stderr, tt.says) {
				t.Errorf("output lacks %q\nstdout: %s\nstderr: %s", tt.says, stdout, stderr)
			}
		})
	}
}

// Help asked for goes to standard output, so that it can be paged or
// searched; the usage shown with a flag error goes to standard error.
func TestHelpAskedForGoesToStandardOutput(t *testing.T) {
	for _, c := range commands() {
		for _, flag := range []string{"-h", "--help"} {
			t.Run(c.name+" "+flag, func(t *testing.T) {
				code, stdout, stderr := runCLI(t, "", c.name, flag)
				if code != exitOK || !strings.HasPrefix(stdout, "Usage: iocwatch "+c.name) || stderr != "" {
					t.Errorf("exit %d, want %d with the usage on stdout alone\nstdout: %s\nstderr: %s", code, exitOK, stdout, stderr)
				}
			})
		}
		t.Run(c.name+" with an unknown flag", func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", c.name, "--no-such-flag")
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, "Usage: iocwatch "+c.name) {
				t.Errorf("exit %d, want %d with the usage on stderr alone\nstdout: %s\nstderr: %s", code, exitUsage, stdout, stderr)
			}
		})
	}
}

// An exclusions file given as the config says how to pass it.
func TestAnExclusionsFileGivenAsTheConfigSaysHowToPassIt(t *testing.T) {
	code, _, stderr := runCLI(t, "", "check", "-c", "assets/exclusions.yaml")
	if want := "assets/exclusions.yaml holds exclusions only, not a config: pass it as --exclusions assets/exclusions.yaml"; code != exitUsage || !strings.Contains(stderr, want) {
		t.Errorf("exit %d, want %d and %q:\n%s", code, exitUsage, want, stderr)
	}
	code, _, stderr = runCLI(t, "", "check", "-c", "testdata/replay-sample/missing.yaml")
	if code != exitUsage || strings.Contains(stderr, "exclusions only") {
		t.Errorf("a missing config: exit %d, and no exclusions hint wanted:\n%s", code, stderr)
	}
}

func TestABadConfigRefusesToStartAndNamesTheKey(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "iocwatch.yaml")
	os.WriteFile(cfg, []byte("source:\n  type: file\n  file:\n    paths: [events.jsonl]\nsinkz: []\n"), 0o600)
	code, _, stderr := runCLI(t, "", "run", "-c", cfg)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d: %s", code, exitUsage, stderr)
	}
	if !strings.Contains(stderr, "iocwatch.yaml:5") || !strings.Contains(stderr, "sinkz") {
		t.Errorf("error does not name the file, line and key: %s", stderr)
	}
}

func TestCheckCountsIndicatorsAndFailsOnRefusedLines(t *testing.T) {
	code, stdout, _ := runCLI(t, "", "check", "--feed", "assets/sample-feed.txt", "--exclusions", "assets/exclusions.yaml")
	if code != exitFailure {
		t.Fatalf("exit %d, want %d (the sample feed holds two junk lines)\n%s", code, exitFailure, stdout)
	}
	for _, want := range []string{
		"8 indicators (ip 1, cidr 3, domain 2, url 2), 2 refused",
		`assets/sample-feed.txt:12: "10.0.0.0/8": private range refused`,
		"exclusions: 7 rules",
		"rdp-client",
		"2 problems",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, stdout)
		}
	}
	clean := filepath.Join(t.TempDir(), "clean.txt")
	os.WriteFile(clean, []byte("203.0.113.77\nevil.example.net\n"), 0o600)
	if code, stdout, _ := runCLI(t, "", "check", "--feed", clean); code != exitOK || !strings.Contains(stdout, "\nok\n") {
		t.Errorf("a clean feed: exit %d\n%s", code, stdout)
	}
}

// An expired or soon expiring exclusion rule is one warning of check,
// written inline in the config or in an exclusions file.
func TestCheckWarnsOnceOfAnExpiredRule(t *testing.T) {
	dir := t.TempDir()
	rule := "  - {name: old, reason: r, expires: 2020-01-01, when: {device: x}}\n"
	os.WriteFile(filepath.Join(dir, "ex.yaml"), []byte("exclusions:\n"+rule), 0o600)
	feed, err := filepath.Abs(filepath.Join("assets", "sample-feed.txt"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := "source: {type: stdin}\nfeeds: [{name: f, path: '" + feed + "'}]\nmetrics: {enabled: false}\n"
	for _, tt := range []struct{ name, config string }{
		{"inline", cfg + "exclusions:\n" + rule},
		{"in an exclusions file", cfg + "exclusions_files: [ex.yaml]\n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "iocwatch.yaml")
			os.WriteFile(p, []byte(tt.config), 0o600)
			_, stdout, stderr := runCLI(t, "", "check", "-c", p)
			if n := strings.Count(stdout, `"old"`); n != 1 || !strings.Contains(stdout, "expired on 2020-01-01") {
				t.Errorf("%d warnings name the rule, want one saying it expired\n%s%s", n, stdout, stderr)
			}
		})
	}
}

// A plain list saved as .csv has no header row: its first value loads,
// and check says how the file was read.
func TestHeaderlessCSVFeedKeepsItsFirstValue(t *testing.T) {
	feed := filepath.Join(t.TempDir(), "iocs.csv")
	if err := os.WriteFile(feed, []byte("203.0.113.5\n198.51.100.0/24\nevil.example\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, _ := runCLI(t, "", "check", "--feed", feed)
	if code != exitOK {
		t.Fatalf("check: exit %d\n%s", code, stdout)
	}
	for _, want := range []string{"3 indicators (ip 1, cidr 1, domain 1), 0 refused", "note: no header row: column 1 read as the value"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, stdout)
		}
	}
	if code, stdout, _ := runCLI(t, "", "lookup", "--feed", feed, "203.0.113.5"); code != exitOK || !strings.Contains(stdout, "203.0.113.5: 1 matching indicator") {
		t.Errorf("lookup of the first value: exit %d\n%s", code, stdout)
	}
}

func TestLookupTellsWhichIndicatorsAndExclusionsApply(t *testing.T) {
	base := []string{"lookup", "--feed", "assets/sample-feed.txt", "--exclusions", "assets/exclusions.yaml"}
	code, stdout, _ := runCLI(t, "", append(base, "http://x.Bad-CDN.example:8080/a", "198.51.100.9")...)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stdout)
	}
	for _, want := range []string{"domain bad-cdn.example on RemoteUrl", "cidr 198.51.100.0/24 on RemoteIP", "sample-feed.txt:"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("lookup output lacks %q:\n%s", want, stdout)
		}
	}
	args := append(base, "--process", "svchost.exe", "--path", `C:\Windows\System32\svchost.exe`, "192.0.2.10")
	if _, stdout, _ := runCLI(t, "", args...); !strings.Contains(stdout, `excluded by "scheduled-maintenance"`) {
		t.Errorf("svchost under System32 to a management server should be excluded:\n%s", stdout)
	}
	args = append(base, "--process", "svchost.exe", "--path", `C:\Users\Public\svchost.exe`, "192.0.2.10")
	if _, stdout, _ := runCLI(t, "", args...); !strings.Contains(stdout, "no exclusion applies") {
		t.Errorf("svchost outside System32 must not be excluded:\n%s", stdout)
	}
	if code, _, _ := runCLI(t, "", append(base, "www.example.org")...); code != exitFailure {
		t.Errorf("a value matching nothing: exit %d, want %d", code, exitFailure)
	}
}

func TestRunReadsStdinAndWritesJSONAlerts(t *testing.T) {
	events, err := assets.ReadFile("assets/sample-events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, string(events), "run", "--feed", "assets/sample-feed.txt", "--exclusions", "assets/exclusions.yaml")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if got := strings.Count(stdout, `"alert_id"`); got != 10 {
		t.Errorf("%d alerts on stdout, want 10 (9 + one suppression summary):\n%s", got, stdout)
	}
	// The broken line 7 is logged with its position, and the stop line
	// says how many alerts the sinks got after suppression.
	for _, want := range []string{`msg="undecodable message skipped" position=stdin:7`, "alerts=10 ", "repeats_held_back=1 summaries_sent=1 duplicates_dropped=0 alerts_to_sinks=10"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("the log lacks %q:\n%s", want, stderr)
		}
	}
}

// run reading stdin from a pipe alerts on each event as it comes, not
// when a batch of lines is full, and stops at once when told to while the
// writer is still silent (a SIGTERM does not wait for the next line).
func TestRunOnALiveStdinAlertsAsEventsComeAndStopsWhenTold(t *testing.T) {
	events, err := assets.ReadFile("assets/sample-events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := bytes.Cut(events, []byte("\n")) // two alerts: an IP and a domain
	pr, pw := io.Pipe()
	defer pw.Close()
	var stdout, stderr syncbuf.Buffer
	env := &cliEnv{stdin: pr, stdout: &stdout, stderr: &stderr}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, env, []string{"run", "--feed", "assets/sample-feed.txt", "--metrics-listen", "off"})
	}()
	go pw.Write(append(first, '\n'))
	for strings.Count(stdout.String(), `"alert_id"`) < 2 {
		select {
		case code := <-done:
			t.Fatalf("run returned (exit %d) before the first event's alerts\n%s", code, stderr.String())
		case <-ctx.Done():
			t.Fatalf("the first event's alerts did not come while stdin stayed open:\n%s\n%s", stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	stopAt := time.Now()
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("run stopped with exit %d, want %d\n%s", code, exitOK, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("run did not stop within 20s of being told, stdin still open\n%s", stderr.String())
	}
	if d := time.Since(stopAt); d > 10*time.Second {
		t.Errorf("run took %v to stop", d)
	}
}

// run --follow follows a file named on the command line, not only the
// config's: events appended after the start are read and alerted on.
func TestRunFollowsAFileNamedOnTheCommandLine(t *testing.T) {
	events, err := assets.ReadFile("assets/sample-events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncbuf.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done := make(chan int, 1)
	go func() {
		done <- runMain(ctx, env, []string{"run", "--feed", "assets/sample-feed.txt", "--exclusions", "assets/exclusions.yaml", "--follow", path})
	}()
	time.Sleep(500 * time.Millisecond) // an unfollowed empty file has ended by now
	select {
	case code := <-done:
		t.Fatalf("run --follow %s returned (exit %d) at the end of the empty file\n%s", path, code, stderr.String())
	default:
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(events); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for strings.Count(stdout.String(), `"alert_id"`) < 9 {
		select {
		case code := <-done:
			t.Fatalf("run returned (exit %d) before the appended events' alerts\n%s", code, stderr.String())
		case <-ctx.Done():
			t.Fatalf("the appended events' alerts did not come:\n%s\n%s", stdout.String(), stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
	cancel()
	if code := <-done; code != exitOK {
		t.Errorf("run stopped with exit %d, want %d\n%s", code, exitOK, stderr.String())
	}
	if !strings.Contains(stderr.String(), "source=file") {
		t.Errorf("the log does not name the file source it read:\n%s", stderr.String())
	}
}

// A feed file that is not there (or is a directory) stops run, replay and
// lookup with a usage error naming the feed and the path, instead of
// matching against nothing; check reports it as a problem it found.
func TestAMissingFeedFileIsAConfigurationError(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nosuch.txt")
	events := filepath.Join(dir, "events.jsonl")
	data, err := assets.ReadFile("assets/sample-events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(events, data, 0o600); err != nil {
		t.Fatal(err)
	}
	cfgPath := filepath.Join(dir, "c.yaml")
	cfg := "source: {type: file, file: {paths: [" + events + "]}}\nfeeds:\n  - {name: c2, type: file, path: " + missing + "}\nsinks: [{name: out, type: stdout}]\nmetrics: {enabled: false}\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		args []string
		want int
	}{
		{"replay --feed", []string{"replay", "--feed", missing, events}, exitUsage},
		{"lookup --feed", []string{"lookup", "--feed", missing, "192.0.2.1"}, exitUsage},
		{"run --feed", []string{"run", "--feed", missing, events}, exitUsage},
		{"run -c", []string{"run", "-c", cfgPath}, exitUsage},
		{"replay --allow", []string{"replay", "--feed", "assets/sample-feed.txt", "--allow", missing, events}, exitUsage},
		{"check -c", []string{"check", "-c", cfgPath}, exitFailure},
		{"replay --feed DIRECTORY", []string{"replay", "--feed", dir, events}, exitUsage},
		{"lookup --allow DIRECTORY", []string{"lookup", "--feed", "assets/sample-feed.txt", "--allow", dir, "192.0.2.1"}, exitUsage},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != tt.want {
				t.Fatalf("exit %d, want %d\n%s%s", code, tt.want, stdout, stderr)
			}
			want := missing
			if strings.Contains(tt.name, "DIRECTORY") {
				want = dir + ": is a directory"
			}
			if !strings.Contains(stdout+stderr, want) {
				t.Errorf("the output does not name %s:\n%s%s", want, stdout, stderr)
			}
			if strings.Contains(stdout, `"alert_id"`) {
				t.Errorf("alerts without indicators:\n%s", stdout)
			}
		})
	}
}

// An invalid exclusions file is a configuration error for check as for
// run and replay: exit 2, the message naming file, line and key once.
func TestAnInvalidExclusionIsAConfigurationErrorForEveryCommand(t *testing.T) {
	ex := filepath.Join(t.TempDir(), "ex.yaml")
	if err := os.WriteFile(ex, []byte("exclusions:\n  - name: r\n    reason: test\n    when:\n      remote_ip: [\"192.0.2.300\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"check", "replay", "lookup", "run"} {
		args := []string{cmd, "--feed", "assets/sample-feed.txt", "--exclusions", ex}
		switch cmd {
		case "replay", "run":
			args = append(args, "assets/sample-events.jsonl")
		case "lookup":
			args = append(args, "192.0.2.1")
		}
		code, _, stderr := runCLI(t, "", args...)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d\n%s", cmd, code, exitUsage, stderr)
		}
		if want := ex + `:5: rule "r": remote_ip: "192.0.2.300": bad IP`; strings.Count(stderr, want) != 1 {
			t.Errorf("%s: want %q once:\n%s", cmd, want, stderr)
		}
	}
}

// check reports every problem of an exclusions file in one run — reading
// problems, missing keys, bad values and values that match everything —
// and refuses a rule that would exclude everything (exit 2), with or
// without the other problems of the configuration.
func TestCheckReportsEveryExclusionProblemInOneRun(t *testing.T) {
	ex := filepath.Join(t.TempDir(), "ex.yaml")
	rules := `exclusions:
  - name: veeam
    reason: Veeam copies backups to the repository servers
    expires: 30/06/2027
    when:
      process_pth: ['c:\program files\veeam\**']
      remote_ip: 203.0.113.0/33
  - name: rdp
    reason: ""
    when:
      remote_port: [0, 70000, 90-80]
  - name: VEEAM
    reason: the same name
    when:
      process_sha256: abc
  - name: everything
    reason: hides every hit
    when:
      remote_ip: [0.0.0.0/0]
      process_path: ['***']
`
	if err := os.WriteFile(ex, []byte(rules), 0o600); err != nil {
		t.Fatal(err)
	}
	want := []string{
		ex + `:4: exclusions[0].expires: "30/06/2027" is not a date`,
		ex + `:6: unknown condition "process_pth" in exclusions[0].when (did you mean "process_path"?)`,
		ex + `:7: rule "veeam": remote_ip: "203.0.113.0/33": bad CIDR`,
		ex + `:9: exclusions[1].reason: required`,
		ex + `:11: rule "rdp": remote_port: "0": bad port`,
		ex + `:11: rule "rdp": remote_port: "70000": bad port`,
		ex + `:11: rule "rdp": remote_port: "90-80": bad port`,
		ex + `:12: exclusions[2].name: "VEEAM" is already the name of the rule at ` + ex + `:2`,
		ex + `:15: rule "VEEAM": process_sha256: "abc": bad SHA-256`,
		ex + `:19: rule "everything": remote_ip: "0.0.0.0/0": matches every address: the rule would hide every hit`,
		ex + `:20: rule "everything": process_path: "***": matches any path (a glob of only '*' and separators): the rule would hide every hit`,
	}
	tests := []struct {
		name  string
		args  []string
		extra string // another problem reported in the same run
	}{
		{"with a feed", []string{"check", "--feed", "assets/sample-feed.txt", "--exclusions", ex}, ""},
		{"without a feed, with the configuration's own problem", []string{"check", "--exclusions", ex}, "feeds: at least one feed is required"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d\n%s%s", code, exitUsage, stdout, stderr)
			}
			for _, w := range want {
				if strings.Count(stderr, w) != 1 {
					t.Errorf("want %q once in:\n%s", w, stderr)
				}
			}
			if tt.extra != "" && !strings.Contains(stderr, tt.extra) {
				t.Errorf("want %q in:\n%s", tt.extra, stderr)
			}
			if n := strings.Count(stderr, ex+":"); n != len(want)+1 { // and the duplicate's "rule at ex:2"
				t.Errorf("%d messages name the file, want %d:\n%s", n, len(want)+1, stderr)
			}
		})
	}
}

func TestGenWritesASeededStreamThatReplaysToItsPlantedHits(t *testing.T) {
	dir := t.TempDir()
	events, planted := filepath.Join(dir, "events.jsonl"), filepath.Join(dir, "planted.jsonl")
	code, _, stderr := runCLI(t, "", "gen", "--seed", "5", "--records", "8000", "--hit-ratio", "0.01", "--excluded-ratio", "0.3",
		"--to", "file", "--out", events, "--planted", planted)
	if code != exitOK {
		t.Fatalf("gen: exit %d: %s", code, stderr)
	}
	type key struct {
		Device string
		Report int64
	}
	want := map[key]bool{} // planted record → excluded
	data, _ := os.ReadFile(planted)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var p struct {
			DeviceID string
			ReportID int64
			Excluded bool
		}
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatal(err)
		}
		want[key{p.DeviceID, p.ReportID}] = p.Excluded
	}
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("source: {type: stdin}\nsuppression: {window: 0s}\nsinks: [{name: out, type: stdout}]\nmetrics: {enabled: false}\n"), 0o600)
	code, stdout, stderr := runCLI(t, "", "replay", "-c", cfg, "--feed", "assets/sample-feed.txt", "--exclusions", "assets/exclusions.yaml", events)
	if code != exitOK {
		t.Fatalf("replay: exit %d: %s", code, stderr)
	}
	got := map[key]bool{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var a struct {
			DeviceID string `json:"DeviceId"`
			ReportID int64  `json:"ReportId"`
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatal(err)
		}
		got[key{a.DeviceID, a.ReportID}] = true
	}
	var real, excluded int
	for k, isExcluded := range want {
		if isExcluded {
			excluded++
			if got[k] {
				t.Errorf("planted look-alike %v was alerted, though the example exclusions cover it", k)
			}
			continue
		}
		real++
		if !got[k] {
			t.Errorf("planted hit %v was not alerted", k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("alert for %v, where nothing was planted", k)
		}
	}
	if real < 30 || excluded < 10 {
		t.Errorf("planted %d real hits and %d look-alikes: too few to mean anything", real, excluded)
	}
}

// The demo must show, within seconds, the C2 beacons the generator plants —
// every one not covered by an exclusion, and none of the look-alikes.
func TestDemoPrintsThePlantedAlerts(t *testing.T) {
	planted := filepath.Join(t.TempDir(), "planted.jsonl")
	code, stdout, stderr := runCLI(t, "", "demo", "--port", "0", "--duration", "4s", "--rate", "4000", "--hit-ratio", "0.003",
		"--seed", "11", "--json", "--window", "0", "--status", "1s", "--planted", planted)
	if code != exitOK {
		t.Fatalf("demo: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"Kafka broker on 127.0.0.1:", "kcat -P -b 127.0.0.1:", "[status]", "demo stopped"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("demo output lacks %q:\n%s", want, stderr)
		}
	}
	type key struct {
		Device string
		Report int64
	}
	alerted := map[key]bool{}
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n") {
		var a struct {
			DeviceID   string    `json:"DeviceId"`
			ReportID   int64     `json:"ReportId"`
			Timestamp  time.Time `json:"timestamp"`
			DetectedAt time.Time `json:"detected_at"`
			Indicator  struct {
				Source string `json:"source"`
			} `json:"indicator"`
		}
		if err := json.Unmarshal([]byte(line), &a); err != nil {
			t.Fatalf("alert line %q: %v", line, err)
		}
		alerted[key{a.DeviceID, a.ReportID}] = true
		// The feed is named as replay --sample names it.
		if a.Indicator.Source != "sample-feed" {
			t.Errorf("alert on %s/%d: indicator source %q, want sample-feed", a.DeviceID, a.ReportID, a.Indicator.Source)
		}
		// A live stream: the event happened before it was detected.
		if a.Timestamp.IsZero() || a.Timestamp.After(a.DetectedAt) {
			t.Errorf("alert on %s/%d: event time %s, detected at %s", a.DeviceID, a.ReportID, a.Timestamp, a.DetectedAt)
		}
	}
	data, err := os.ReadFile(planted)
	if err != nil {
		t.Fatal(err)
	}
	var real int
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var p struct {
			DeviceID string
			ReportID int64
			Excluded bool
		}
		if err := json.Unmarshal([]byte(line), &p); err != nil {
			t.Fatal(err)
		}
		k := key{p.DeviceID, p.ReportID}
		switch {
		case p.Excluded && alerted[k]:
			t.Errorf("look-alike %v was alerted", k)
		case !p.Excluded && !alerted[k]:
			t.Errorf("planted beacon %v was not alerted", k)
		case !p.Excluded:
			real++
		}
	}
	if real < 5 {
		t.Errorf("only %d beacons planted and alerted: the demo shows too little", real)
	}
}

// The file source's paths may be glob patterns and directories: check
// counts the files run would read and reports a pattern that matches
// nothing as a problem; replay takes a directory too.
func TestFileSourcePatternsAndDirectories(t *testing.T) {
	dir := t.TempDir()
	events, err := assets.ReadFile("assets/sample-events.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"capture/0/a.jsonl", "capture/1/b.jsonl"} {
		full := filepath.Join(dir, p)
		os.MkdirAll(filepath.Dir(full), 0o700)
		if err := os.WriteFile(full, events, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	feed := filepath.Join(dir, "feed.txt")
	os.WriteFile(feed, []byte("203.0.113.77\n"), 0o600)
	conf := func(paths string) string {
		p := filepath.Join(dir, "iocwatch.yaml")
		body := "source:\n  file:\n    paths: [" + paths + "]\nfeeds:\n  - name: f\n    path: feed.txt\n"
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if code, stdout, _ := runCLI(t, "", "check", "-c", conf(`"capture/*/*.jsonl"`)); code != exitOK || !strings.Contains(stdout, "source: file, 2 files") {
		t.Errorf("a pattern: exit %d\n%s", code, stdout)
	}
	if code, stdout, _ := runCLI(t, "", "check", "-c", conf(`"capture"`)); code != exitOK || !strings.Contains(stdout, "source: file, 2 files") {
		t.Errorf("a directory: exit %d\n%s", code, stdout)
	}
	code, stdout, _ := runCLI(t, "", "check", "-c", conf(`"capture/*/*.parquet"`))
	if code != exitFailure || !strings.Contains(stdout, `source.file.paths: file source: no file matches`) {
		t.Errorf("a pattern matching nothing: exit %d\n%s", code, stdout)
	}
	code, _, stderr := runCLI(t, "", "replay", "--feed", feed, filepath.Join(dir, "capture"))
	if code != exitOK || !strings.Contains(stderr, "replayed 26 messages") {
		t.Errorf("replay of a directory: exit %d\n%s", code, stderr)
	}
}

// lookup - reads the values from stdin, one a line, skipping blank lines
// and comments.
func TestLookupReadsValuesFromStdin(t *testing.T) {
	stdin := "# from the incident ticket\n198.51.100.9\n\n  http://x.Bad-CDN.example:8080/a  \n203.0.113.250\n"
	code, stdout, _ := runCLI(t, stdin, "lookup", "--feed", "assets/sample-feed.txt", "-", "203.0.113.77")
	if code != exitFailure {
		t.Errorf("exit %d, want %d: 203.0.113.250 matches nothing", code, exitFailure)
	}
	for _, want := range []string{
		"198.51.100.9: 1 matching indicator",
		"http://x.Bad-CDN.example:8080/a: 1 matching indicator",
		"203.0.113.250: 0 matching indicators",
		"203.0.113.77: 1 matching indicator",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("lookup output lacks %q:\n%s", want, stdout)
		}
	}
	if strings.Contains(stdout, "# from") || strings.Contains(stdout, "\n: ") {
		t.Errorf("a comment or blank line was looked up:\n%s", stdout)
	}
	if code, _, stderr := runCLI(t, "\n# nothing\n", "lookup", "--feed", "assets/sample-feed.txt", "-"); code != exitUsage || !strings.Contains(stderr, "no value to look up") {
		t.Errorf("empty stdin: exit %d\n%s", code, stderr)
	}
}

// lookup takes what an analyst pastes: defanged values, CIDR ranges,
// UTF-16 from a Windows tool, comments after a value; it says when a value
// is in a feed but not valid now, and which event facts it checked.
func TestLookupTakesWhatAnAnalystPastes(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "later.csv")
	if err := os.WriteFile(feed, []byte("value,valid_from\n203.0.113.99,2099-01-01\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	utf16 := "\xff\xfe" + strings.Join(strings.Split("203.0.113.77 # from the ticket\r\n", ""), "\x00") + "\x00"
	code, stdout, _ := runCLI(t, utf16, "lookup", "--feed", "assets/sample-feed.txt", "--feed", feed, "--exclusions", "assets/exclusions.yaml",
		"--device-group", "Backup Servers", "bad-cdn[.]example", "hxxp://x.bad-cdn[.]example/a", "198.51.0.0/16", "203.0.113.0/24", "203.0.113.99", "-")
	if code != exitFailure {
		t.Errorf("exit %d, want %d: 203.0.113.99 is not active now", code, exitFailure)
	}
	for _, want := range []string{
		"bad-cdn[.]example: 1 matching indicator\n  domain bad-cdn.example on RemoteUrl",
		"hxxp://x.bad-cdn[.]example/a: 1 matching indicator",
		"198.51.0.0/16: 1 indicator overlaps the range (covering it or inside it)\n  cidr 198.51.100.0/24 on RemoteIP",
		"203.0.113.0/24: 1 indicator overlaps the range (covering it or inside it)\n  ip 203.0.113.77 on RemoteIP",
		"203.0.113.99: 0 matching indicators\n  ip 203.0.113.99 from feed later matches but is not active now (valid from 2099-01-01T00:00:00Z)",
		"203.0.113.77: 1 matching indicator",
		"(for device-group=Backup Servers)",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("lookup output lacks %q:\n%s", want, stdout)
		}
	}
}

// Flags may follow the values, as in most tools; "--" ends them.
func TestFlagsMayFollowThePositionalArguments(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "lookup", "203.0.113.77", "--feed", "assets/sample-feed.txt", "bad-cdn.example", "--", "--feed")
	if code != exitFailure { // "--feed" matches nothing
		t.Fatalf("exit %d, want %d\n%s", code, exitFailure, stderr)
	}
	for _, want := range []string{"203.0.113.77: 1 matching indicator\n", "bad-cdn.example: 1 matching indicator\n", "--feed: 0 matching indicators\n"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("lookup output lacks %q:\n%s", want, stdout)
		}
	}
	if code, _, stderr := runCLI(t, "", "replay", "assets/sample-events.jsonl", "--feed", "assets/sample-feed.txt", "--quiet"); code != exitOK || !strings.Contains(stderr, "matches ") {
		t.Errorf("replay EVENTS --feed F: exit %d\n%s", code, stderr)
	}
}

// --events-format overrides the detection of the EVENTS files' format.
func TestReplayEventsFormat(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pretty.json")
	os.WriteFile(p, []byte("[\n  {\"RemoteIP\": \"203.0.113.77\", \"DeviceName\": \"ws-1\"}\n]\n"), 0o600)
	feed := filepath.Join(t.TempDir(), "feed.txt")
	os.WriteFile(feed, []byte("203.0.113.77\n"), 0o600)
	if code, _, stderr := runCLI(t, "", "replay", "--feed", feed, p); code != exitOK || !strings.Contains(stderr, "alerts 1") {
		t.Errorf("auto: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "", "replay", "--feed", feed, "--events-format", "jsonl", p); code != exitOK || !strings.Contains(stderr, "decode errors 2") {
		t.Errorf("jsonl: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "", "replay", "--feed", feed, "--events-format", "xml", p); code != exitUsage || !strings.Contains(stderr, `unknown format "xml"`) {
		t.Errorf("xml: exit %d\n%s", code, stderr)
	}
}

// gen --out compresses by the file's extension, or writes an Event Hubs
// Capture file for .avro; each replays to what the plain JSON lines do.
func TestGenWritesCompressedAndCaptureFiles(t *testing.T) {
	dir := t.TempDir()
	replayed := func(name string) string {
		p := filepath.Join(dir, name)
		if code, _, stderr := runCLI(t, "", "gen", "--records", "400", "--seed", "7", "--to", "file", "--out", p); code != exitOK {
			t.Fatalf("gen %s: exit %d\n%s", name, code, stderr)
		}
		code, _, stderr := runCLI(t, "", "replay", "--quiet", "--feed", "assets/sample-feed.txt", p)
		if code != exitOK {
			t.Fatalf("replay %s: exit %d\n%s", name, code, stderr)
		}
		var keep []string
		for _, line := range strings.Split(stderr, "\n") {
			if before, _, ok := strings.Cut(line, " in "); ok && strings.HasPrefix(line, "replayed ") {
				keep = append(keep, before)
			} else if strings.HasPrefix(line, "matches ") {
				keep = append(keep, line)
			}
		}
		return strings.Join(keep, "\n")
	}
	want := replayed("events.jsonl")
	if !strings.Contains(want, "400 records") || !strings.Contains(want, "matches ") {
		t.Fatalf("the plain replay: %q", want)
	}
	for _, name := range []string{"events.jsonl.gz", "events.jsonl.zst", "events.avro"} {
		if got := replayed(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	// A damaged file among them is a decode error; the files after it are
	// replayed all the same.
	gz, err := os.ReadFile(filepath.Join(dir, "events.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	many := filepath.Join(dir, "many")
	if err := os.MkdirAll(many, 0o700); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"1-cut.jsonl.gz": gz[:len(gz)/2], "2-whole.jsonl.gz": gz} {
		if err := os.WriteFile(filepath.Join(many, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	code, _, stderr := runCLI(t, "", "replay", "--quiet", "--feed", "assets/sample-feed.txt", many)
	if wantErr := "decode errors 1 (not kept: add --dead-letter FILE to keep them); the first: " + filepath.Join(many, "1-cut.jsonl.gz") + ":"; code != exitOK || !strings.Contains(stderr, wantErr) || !strings.Contains(stderr, "gzip data cut short: unexpected EOF; the rest of the file is not read") {
		t.Errorf("a directory with a cut file: exit %d, want %d and %q:\n%s", code, exitOK, wantErr, stderr)
	}
	var messages, records int
	_, summary, _ := strings.Cut(stderr, "replayed ")
	if _, err := fmt.Sscanf(summary, "%d messages, %d records", &messages, &records); err != nil || records <= 400 {
		t.Errorf("a directory with a cut file: want more than the whole file's 400 records replayed:\n%s", stderr)
	}
	head := make([]byte, 4)
	for name, magic := range map[string]string{"events.jsonl.gz": "\x1f\x8b", "events.jsonl.zst": "\x28\xb5\x2f\xfd", "events.avro": "Obj\x01"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		f.Read(head)
		f.Close()
		if !strings.HasPrefix(string(head), magic) {
			t.Errorf("%s starts with %q, want %q", name, head, magic)
		}
	}
}

// replay's summary says what an analyst needs to see without check: the
// allow-lists it loaded, a feed that holds nothing, the first decode error;
// and a replay whose input holds no Defender record at all fails.
func TestReplaySummaryShowsAllowListsEmptyFeedsAndTheFirstDecodeError(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.txt")
	if err := os.WriteFile(empty, []byte("# nothing yet\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr := runCLI(t, "", "replay", "--feed", "assets/sample-feed.txt", "--allow", empty, "--quiet", "assets/sample-events.jsonl")
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	for _, want := range []string{
		"feed sample-feed (text): 8 indicators (ip 1, cidr 3, domain 2, url 2), 2 refused (check lists them)\n",
		"allow-list allowlist_files[0] (text): 0 indicators (none)\n",
		`warning: allow-list "allowlist_files[0]" (` + empty + ") holds no indicators\n",
		"decode errors 1 (not kept: add --dead-letter FILE to keep them); the first: assets/sample-events.jsonl:7: record 0: offset 131: unexpected end of JSON",
		"17 records (15 watched, 1 of other tables, 1 broken)",
	} {
		if !strings.Contains(stderr, want) {
			t.Errorf("summary lacks %q:\n%s", want, stderr)
		}
	}

	code, _, stderr = runCLI(t, "", "replay", "--feed", "assets/sample-feed.txt", "--quiet", "assets/sample-feed.txt")
	if want := "no record could be decoded (13 errors): are these Defender events? The first: assets/sample-feed.txt:1: "; code != exitFailure || !strings.Contains(stderr, want) {
		t.Errorf("replay of a feed as events: exit %d, want %d and %q:\n%s", code, exitFailure, want, stderr)
	}
	// JSON whose records are all broken decodes nothing either.
	notRecords := filepath.Join(dir, "not-records.jsonl")
	if err := os.WriteFile(notRecords, []byte(`{"records":[1,2,3]}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = runCLI(t, "", "replay", "--feed", "assets/sample-feed.txt", "--quiet", notRecords)
	if want := "3 records (0 watched, 0 of other tables, 3 broken)"; code != exitFailure || !strings.Contains(stderr, want) || !strings.Contains(stderr, "no record could be decoded (1 error)") {
		t.Errorf("replay of records that are not objects: exit %d, want %d, %q and the error:\n%s", code, exitFailure, want, stderr)
	}
}

// replay -c prints its alerts and leaves the config's sinks alone (a
// retro-hunt must not page the SOC by surprise); --sinks delivers them
// there instead. A config for replay needs no source.
func TestReplayPrintsAlertsUnlessToldToUseTheConfigsSinks(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "alerts.jsonl")
	cfg := filepath.Join(dir, "c.yaml")
	body := "feeds: [{name: c2, path: " + filepath.Join(mustAbs(t, "assets"), "sample-feed.txt") + "}]\n" +
		"sinks: [{name: soar, type: file, file: {path: " + out + "}}]\nmetrics: {enabled: false}\n"
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "", "replay", "-c", cfg, "assets/sample-events.jsonl")
	if code != exitOK {
		t.Fatalf("replay: exit %d\n%s", code, stderr)
	}
	if n := strings.Count(stdout, `"alert_id"`); n == 0 {
		t.Errorf("replay -c printed no alerts:\n%s", stderr)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("replay -c wrote the config's file sink (%v)", err)
	}

	code, stdout, stderr = runCLI(t, "", "replay", "-c", cfg, "--sinks", "assets/sample-events.jsonl")
	if code != exitOK {
		t.Fatalf("replay --sinks: exit %d\n%s", code, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil || strings.Count(string(data), `"alert_id"`) == 0 || strings.Contains(stdout, `"alert_id"`) {
		t.Errorf("replay --sinks: the file sink holds %d bytes (%v), stdout %d alerts; want the alerts in the file only", len(data), err, strings.Count(stdout, `"alert_id"`))
	}

	if code, _, stderr := runCLI(t, "", "replay", "--sinks", "--feed", "assets/sample-feed.txt", "assets/sample-events.jsonl"); code != exitUsage || !strings.Contains(stderr, "give -c FILE") {
		t.Errorf("replay --sinks without a config: exit %d, want %d with a hint\n%s", code, exitUsage, stderr)
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	abs, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return abs
}

// gen writes exactly --records records (the last envelope holds what is
// left), --out alone means a file, and out-of-range flags are refused.
func TestGenTakesItsFlagsAtTheirWord(t *testing.T) {
	out := filepath.Join(t.TempDir(), "g.jsonl")
	code, stdout, stderr := runCLI(t, "", "gen", "--records", "10", "--out", out)
	if code != exitOK || stdout != "" {
		t.Fatalf("exit %d, stdout %d bytes: %s", code, len(stdout), stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var env struct{ Records []json.RawMessage }
		if err := json.Unmarshal([]byte(line), &env); err != nil {
			t.Fatal(err)
		}
		n += len(env.Records)
	}
	if n != 10 {
		t.Errorf("%d records written, want 10", n)
	}
	for _, args := range [][]string{
		{"--hit-ratio", "2"}, {"--excluded-ratio", "-0.1"}, {"--records", "-5"}, {"--per-message", "0"}, {"--rate", "-1"},
		{"--to", "kafka", "--out", out},
	} {
		if code, _, stderr := runCLI(t, "", append([]string{"gen"}, args...)...); code != exitUsage {
			t.Errorf("gen %v: exit %d, want %d\n%s", args, code, exitUsage, stderr)
		}
		// The same checks hold with --out alone, the usual call.
		if args[0] == "--to" {
			continue
		}
		if code, _, stderr := runCLI(t, "", append([]string{"gen", "--out", out}, args...)...); code != exitUsage {
			t.Errorf("gen --out %v: exit %d, want %d\n%s", args, code, exitUsage, stderr)
		}
	}
}

// A feed file that opens but loads nothing because of an error (its format
// not recognised) stops the one-shot commands, which would otherwise answer
// without it; run keeps watching it (it may be mended).
func TestAFeedThatLoadsNothingStopsReplayAndLookup(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "j.json")
	if err := os.WriteFile(bad, []byte(`{"foo":"bar"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"replay", "--feed", bad, "--quiet", "assets/sample-events.jsonl"},
		{"lookup", "--feed", bad, "203.0.113.77"},
	} {
		code, _, stderr := runCLI(t, "", args...)
		if code != exitUsage || !strings.Contains(stderr, bad+": cannot detect the feed format") {
			t.Errorf("%v: exit %d, want %d naming the file\n%s", args, code, exitUsage, stderr)
		}
	}
}

// The warnings of a replay of the shipped sample name the shipped files,
// not the temporary copies they are read from.
func TestSampleWarningsNameTheShippedFiles(t *testing.T) {
	dir := filepath.Join(os.TempDir(), "iocwatch-sample-123")
	var b strings.Builder
	printLoadSummary(&b, &loadReport{warnings: []string{filepath.Join(dir, "exclusions.yaml") + `:48: rule "x": expires within 7 days`}}, dir)
	if got, want := b.String(), "warning: exclusions.yaml:48: rule \"x\": expires within 7 days\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// A replay stopped by a signal says so and exits 1: a partial hunt must
// not pass for a complete one.
func TestAnInterruptedReplaySaysSoAndFails(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var stdout, stderr bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr}
	code := runMain(ctx, env, []string{"replay", "--feed", "assets/sample-feed.txt", "--quiet", "assets/sample-events.jsonl"})
	if code != exitFailure || !strings.Contains(stderr.String(), "interrupted before the end of the input") || !strings.Contains(stderr.String(), "replayed ") {
		t.Errorf("exit %d, want %d with the summary and 'interrupted':\n%s", code, exitFailure, stderr.String())
	}
}

// An allow-list file that cannot be read is named as an allow-list, not
// as a feed, with its path.
func TestAMissingAllowListIsNamedAsOne(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "allow.txt")
	code, _, stderr := runCLI(t, "", "replay", "--feed", "assets/sample-feed.txt", "--allow", missing, "--quiet", "assets/sample-events.jsonl")
	if code != exitUsage {
		t.Errorf("exit %d, want %d (as for a missing feed)", code, exitUsage)
	}
	if want := `allow-list "allowlist_files[0]": open ` + missing; !strings.Contains(stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, stderr)
	}
}
