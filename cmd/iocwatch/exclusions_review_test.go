package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFiles writes each path's content, failing the test on error.
func writeFiles(t *testing.T, files map[string]string) {
	t.Helper()
	for path, data := range files {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// connection is a DeviceNetworkEvents record of svc-backup's agent
// connecting to 192.0.2.10 at ts.
func connection(ts, reportID string) string {
	return `{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"Timestamp":"` + ts + `","DeviceId":"d1","DeviceName":"ws-1","ActionType":"ConnectionSuccess",` +
		`"RemoteIP":"192.0.2.10","RemotePort":443,"InitiatingProcessFileName":"agent.exe","InitiatingProcessFolderPath":"c:\\program files\\agent\\agent.exe",` +
		`"InitiatingProcessAccountName":"svc-backup","InitiatingProcessAccountDomain":"corp","ReportId":` + reportID + `}}` + "\n"
}

// A replay judges a rule's expiry at each event's time: last month's
// events are excluded by a rule that was in force then, even if it has
// expired since; the events after its expiry alert.
func TestReplayJudgesExclusionExpiryAtTheEventsTime(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "f.txt")
	excl := filepath.Join(dir, "exclusions.yaml")
	events := filepath.Join(dir, "events.jsonl")
	writeFiles(t, map[string]string{
		feed: "192.0.2.10\n",
		excl: "exclusions:\n  - name: migration\n    reason: The agent copied to the old vault until the migration\n    expires: 2020-06-01\n" +
			"    when:\n      process_name: [agent.exe]\n      process_path: ['c:\\program files\\agent\\*']\n      remote_ip: [192.0.2.10]\n",
		events: connection("2020-05-31T23:59:59Z", "1") + // before the expiry: excluded
			connection("2020-06-01T00:00:00Z", "2") + // at the expiry: alerts
			connection("2020-06-15T09:00:00Z", "3") + // after: alerts (a repeat of 2, held back)
			`{"DeviceId":"d2","DeviceName":"ws-2","ActionType":"ConnectionSuccess","RemoteIP":"192.0.2.10","RemotePort":443,"InitiatingProcessFileName":"agent.exe","InitiatingProcessFolderPath":"c:\\program files\\agent\\agent.exe","ReportId":4}` + "\n", // no time: judged now, expired: alerts
	})
	code, stdout, stderr := runCLI(t, "", "replay", "--feed", feed, "--exclusions", excl, events)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "matches 4, allow-listed 0, excluded 1 (migration 1), alerts 3") ||
		strings.Contains(stdout, `"ReportId":1,`) || !strings.Contains(stdout, `"ReportId":2,`) || !strings.Contains(stdout, `"ReportId":4,`) {
		t.Errorf("want the event before the expiry excluded and the others alerting:\n%s\n%s", stdout, stderr)
	}
	// The load summary says what the expired rule still does in a replay.
	if !strings.Contains(stderr, `rule "migration": expired on 2020-06-01: applies only to events before then`) {
		t.Errorf("the replay's warning does not say the rule applies to the events before its expiry:\n%s", stderr)
	}
}

// check warns of an action_type value Defender never reports, naming the
// rule and the key: "did you mean" for a misspelling, a milder warning for
// a value unlike any known one.
func TestCheckWarnsOfAMisspeltActionType(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "f.txt")
	excl := filepath.Join(dir, "exclusions.yaml")
	writeFiles(t, map[string]string{
		feed: "192.0.2.10\n",
		excl: "exclusions:\n  - name: agent-connects\n    reason: The agent's connections are expected\n    when:\n      action_type: [ConnectionSucess, NewShinyThingObserved]\n      remote_ip: [192.0.2.10]\n",
	})
	code, stdout, stderr := runCLI(t, "", "check", "--feed", feed, "--exclusions", excl)
	if code != exitOK {
		t.Fatalf("exit %d (warnings are not problems)\n%s%s", code, stdout, stderr)
	}
	for _, want := range []string{
		`warning: ` + excl + `:2: rule "agent-connects": action_type "ConnectionSucess" is not an action type Defender reports (did you mean "ConnectionSuccess"?), so it never matches`,
		`warning: ` + excl + `:2: rule "agent-connects": action_type "NewShinyThingObserved" is not a DeviceNetworkEvents or DeviceEvents action type iocwatch knows`,
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("check output lacks %q:\n%s", want, stdout)
		}
	}
}

// With the history on, check says that a rule naming an account as
// DOMAIN\name cannot apply to retro-hunts: the history does not keep the
// account domain.
func TestCheckWarnsThatADomainAccountCannotApplyToRetroHunts(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "f.txt")
	writeFiles(t, map[string]string{feed: "192.0.2.10\n"})
	rules := "exclusions:\n" +
		"  - {name: backup-agent, reason: r, when: {account: ['CORP\\svc-backup', svc-copy], remote_ip: [192.0.2.10]}}\n" +
		"  - {name: bare-name, reason: r, when: {account: [svc-backup], remote_ip: [192.0.2.10]}}\n"
	cfg := "source: {type: stdin}\nfeeds: [{name: f, path: '" + feed + "'}]\nmetrics: {enabled: false}\n" + rules
	warning := `rule "backup-agent": account "CORP\\svc-backup" names the account's domain, which the history does not keep: the rule never excludes that account's retro-hunt hits (a bare name matches in any domain)`
	for _, tt := range []struct {
		name    string
		history string
		want    bool
	}{
		{"with the history", "history: {enabled: true, path: '" + filepath.Join(dir, "history") + "'}\n", true},
		{"without it", "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(dir, "iocwatch.yaml")
			writeFiles(t, map[string]string{p: cfg + tt.history})
			code, stdout, stderr := runCLI(t, "", "check", "-c", p)
			if code != exitOK {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			if n := strings.Count(stdout, warning); n != btoi(tt.want) {
				t.Errorf("%d warnings %q, want %d\n%s", n, warning, btoi(tt.want), stdout)
			}
			if strings.Contains(stdout, `rule "bare-name": account`) {
				t.Errorf("a bare account name drew a warning:\n%s", stdout)
			}
		})
	}
}
