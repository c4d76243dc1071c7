package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// runCLIWithin is runCLI with a shorter deadline, for commands that would
// otherwise run until interrupted when a check is missing.
func runCLIWithin(t *testing.T, d time.Duration, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	code = runMain(ctx, env, args)
	return code, out.String(), errOut.String()
}

// A first mistake on demo's command line is a usage error (exit 2) naming
// the flag, reported before the broker starts or the banner prints — not a
// broker error (exit 1), a panic, or a demo that runs with the value.
func TestDemoRefusesBadFlagsBeforeStarting(t *testing.T) {
	nodir := filepath.Join(t.TempDir(), "nodir", "planted.jsonl")
	tests := []struct {
		name string
		args []string
		want int
		says string
	}{
		{"a port out of range", []string{"--port", "99999"}, exitUsage, "--port 99999"},
		{"a negative port", []string{"--port", "-1"}, exitUsage, "--port -1"},
		{"a rate of 0", []string{"--port", "0", "--rate", "0", "--duration", "1s"}, exitUsage, "--rate 0"},
		{"a negative rate", []string{"--port", "0", "--rate", "-1", "--duration", "1s"}, exitUsage, "--rate -1"},
		{"a hit ratio above 1", []string{"--port", "0", "--hit-ratio", "2", "--duration", "1s"}, exitUsage, "--hit-ratio 2"},
		{"a negative duration", []string{"--port", "0", "--duration", "-1s"}, exitUsage, "--duration -1s"},
		{"a status interval of 0", []string{"--port", "0", "--status", "0", "--duration", "1s"}, exitUsage, "--status 0s"},
		{"a negative window", []string{"--port", "0", "--window", "-1m", "--duration", "1s"}, exitUsage, "--window -1m0s"},
		{"an argument demo does not take", []string{"--port", "0", "--duration", "1s", "events.jsonl"}, exitUsage, `unexpected arguments ["events.jsonl"]`},
		// An output file that cannot be created is a failure while
		// running (exit 1, as for gen --out), but found before the
		// broker starts.
		{"a planted file that cannot be created", []string{"--port", "0", "--duration", "1s", "--planted", nodir}, exitFailure, "--planted: open " + nodir},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLIWithin(t, 20*time.Second, append([]string{"demo"}, tt.args...)...)
			if code != tt.want || !strings.Contains(stderr, tt.says) {
				t.Errorf("exit %d, want %d saying %q\nstdout: %.300s\nstderr: %s", code, tt.want, tt.says, stdout, stderr)
			}
			if strings.Contains(stderr, "Kafka broker on") {
				t.Errorf("the demo started before refusing its arguments:\n%s", stderr)
			}
		})
	}
}

// The first try of a command that matches, without -c or --feed, says
// what to give: the ad-hoc config's "feeds: at least one feed is required"
// alone names a key of a file the user never wrote.
func TestACommandWithoutFeedsSaysHowToGiveOne(t *testing.T) {
	for _, args := range [][]string{
		{"replay", "assets/sample-events.jsonl"},
		{"run", "assets/sample-events.jsonl"},
		{"check"},
		{"lookup", "203.0.113.77"},
		{"replay", "--exclusions", "assets/exclusions.yaml", "assets/sample-events.jsonl"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, "", args...)
			if code != exitUsage || !strings.Contains(stderr, "give a feed with --feed FILE (repeatable) or a config with -c FILE") {
				t.Errorf("exit %d, want %d with the hint\n%s", code, exitUsage, stderr)
			}
		})
	}
}

// gen --start takes an RFC 3339 time; a value that is not one is refused
// with the form wanted, not with Go's layout string.
func TestGenStartSaysWhatItWants(t *testing.T) {
	out := filepath.Join(t.TempDir(), "g.jsonl")
	for _, start := range []string{"yesterday", "2026-11-26", "2026-11-26T09:00:00"} {
		t.Run(start, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", "gen", "--records", "10", "--out", out, "--start", start)
			want := `--start "` + start + `": want an RFC 3339 time with its zone, such as 2026-11-26T09:00:00Z`
			if code != exitUsage || !strings.Contains(stderr, want) || strings.Contains(stderr, "2006-01-02T15:04:05") {
				t.Errorf("exit %d, want %d saying %q\n%s", code, exitUsage, want, stderr)
			}
		})
	}
	if code, _, stderr := runCLI(t, "", "gen", "--records", "10", "--out", out, "--start", "2026-11-26T09:00:00+01:00"); code != exitOK {
		t.Errorf("a good --start: exit %d\n%s", code, stderr)
	}
}

// An output file of gen or demo that cannot be created is a failure while
// running (exit 1, as README.md says), and the message names the flag.
func TestGenOutputFilesThatCannotBeCreatedNameTheirFlag(t *testing.T) {
	dir := t.TempDir()
	nodir := filepath.Join(dir, "nodir", "x.jsonl")
	for _, tt := range []struct {
		name string
		args []string
		says string
	}{
		{"gen --out", []string{"gen", "--records", "10", "--out", nodir}, "--out: open " + nodir},
		{"gen --out of a Capture file", []string{"gen", "--records", "10", "--out", nodir + ".avro"}, "--out: open " + nodir + ".avro"},
		{"gen --planted", []string{"gen", "--records", "10", "--out", filepath.Join(dir, "g.jsonl"), "--planted", nodir}, "--planted: open " + nodir},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", tt.args...)
			if code != exitFailure || !strings.Contains(stderr, tt.says) {
				t.Errorf("exit %d, want %d saying %q\n%s", code, exitFailure, tt.says, stderr)
			}
		})
	}
}

// gen --to eventhubs with a variable that does not hold a connection
// string is a bad setting (exit 2, as an empty one is), named without its
// value — not a failure to reach a namespace (exit 1).
func TestGenToEventHubsRefusesAConnectionStringThatIsNotOne(t *testing.T) {
	const secret = "s3cr3t-not-a-connection-string"
	for _, tt := range []struct{ name, value string }{
		{"no key=value pairs", secret},
		{"no shared access key", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=" + secret},
		{"no endpoint", "SharedAccessKeyName=send;SharedAccessKey=" + secret},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("IOCWATCH_TEST_GEN_EH", tt.value)
			code, _, stderr := runCLI(t, "", "gen", "--records", "10", "--to", "eventhubs", "--hub", "defender",
				"--connection-string-env", "IOCWATCH_TEST_GEN_EH")
			want := "the environment variable IOCWATCH_TEST_GEN_EH does not hold an Event Hubs connection string"
			if code != exitUsage || !strings.Contains(stderr, want) {
				t.Errorf("exit %d, want %d saying %q\n%s", code, exitUsage, want, stderr)
			}
			if strings.Contains(stderr, secret) {
				t.Errorf("the error shows the variable's value:\n%s", stderr)
			}
		})
	}
}
