package main

import (
	"bufio"
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// serviceUnit is the systemd unit docs/operations.md offers.
const serviceUnit = "../../docs/examples/iocwatch.service"

// unitSection returns the Key=Value lines of one [section] of a unit file,
// every value of a key in order.
func unitSection(t *testing.T, text []byte, section string) map[string][]string {
	t.Helper()
	keys := map[string][]string{}
	in := false
	sc := bufio.NewScanner(bytes.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || line[0] == '#' || line[0] == ';':
		case line[0] == '[':
			in = line == "["+section+"]"
		case in:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: %q is not Key=Value", serviceUnit, line)
			}
			keys[k] = append(keys[k], v)
		}
	}
	return keys
}

// TestTheSystemdUnitRunsTheWatcher checks the example unit against this
// binary: its ExecStart is a run command line that works (run here with
// the config path swapped for a small file-source config), it reloads
// with SIGHUP, which run reloads feeds on, and it does not restart after
// exit code 2, a bad configuration, which no restart can mend.
func TestTheSystemdUnitRunsTheWatcher(t *testing.T) {
	text, err := os.ReadFile(serviceUnit)
	if err != nil {
		t.Fatal(err)
	}
	svc := unitSection(t, text, "Service")
	start := strings.Fields(strings.Join(svc["ExecStart"], " "))
	if len(start) != 4 || start[0] != "/usr/local/bin/iocwatch" || start[1] != "run" || start[2] != "-c" {
		t.Fatalf("ExecStart %q: want /usr/local/bin/iocwatch run -c FILE", start)
	}
	if got := svc["ExecReload"]; len(got) != 1 || got[0] != "/bin/kill -HUP $MAINPID" {
		t.Errorf("ExecReload %q: run reloads its feeds on SIGHUP", got)
	}
	if got := svc["RestartPreventExitStatus"]; len(got) != 1 || got[0] != strconv.Itoa(exitUsage) {
		t.Errorf("RestartPreventExitStatus %q: want %d, the exit code of a bad configuration", got, exitUsage)
	}

	// The shipped sample stream and feed, named by absolute paths since
	// relative ones resolve next to the config.
	samples, err := filepath.Abs("assets")
	if err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(t.TempDir(), "iocwatch.yaml")
	os.WriteFile(cfg, []byte(`source:
  type: file
  file:
    paths: [`+filepath.Join(samples, "sample-events.jsonl")+`]
feeds:
  - {name: sample, type: file, path: `+filepath.Join(samples, "sample-feed.txt")+`, format: text}
sinks:
  - {name: console, type: stdout, format: native}
metrics:
  listen: 127.0.0.1:0
`), 0o600)
	code, stdout, stderr := runCLI(t, "", append(start[1:3], cfg)...)
	if code != exitOK {
		t.Fatalf("%s: exit %d\n%s", strings.Join(start[1:3], " "), code, stderr)
	}
	if !strings.Contains(stdout, `"alert_id"`) {
		t.Errorf("the unit's command line alerted nothing:\n%s\n%s", stdout, stderr)
	}
}

// TestSystemdAcceptsTheUnit runs systemd-analyze verify over the example
// unit, its binary's path pointed at an executable (verify wants one):
// an unknown key, a bad value or a misspelled section is a message, and
// any message fails the test.
func TestSystemdAcceptsTheUnit(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("systemd-analyze not found and CI=true: install systemd (scripts/test does)")
		}
		t.Skip("systemd-analyze not found (apt-get install -y systemd); skipped outside CI")
	}
	text, err := os.ReadFile(serviceUnit)
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "iocwatch.service")
	os.WriteFile(unit, bytes.ReplaceAll(text, []byte("/usr/local/bin/iocwatch"), []byte(self)), 0o600)
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) > 0 {
		t.Fatalf("systemd-analyze verify: %v\n%s", err, out)
	}
}
