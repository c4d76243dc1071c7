package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestInputProgressSaysHowFarAndHowLong(t *testing.T) {
	for _, c := range []struct {
		read, total int64
		elapsed     time.Duration
		want        string
	}{
		{0, 0, time.Second, ""}, // stdin: size not known
		{0, 2_980_000_000, 0, ", 0% of 2.98 GB"},
		{745_000_000, 2_980_000_000, 4 * time.Second, ", 25% of 2.98 GB, 12s left"},
		{2_980_000_000, 2_980_000_000, 16 * time.Second, ", 100% of 2.98 GB"},
		{500, 1000, 3 * time.Second, ", 50% of 1.0 kB, 3s left"},
		{1, 900, time.Millisecond, ", 0% of 900 B, 1s left"}, // rounded to the second
		{15_000_000, 30_000_000, time.Minute, ", 50% of 30.0 MB, 1m0s left"},
	} {
		if got := inputProgress(c.read, c.total, c.elapsed); got != c.want {
			t.Errorf("inputProgress(%d, %d, %s) = %q, want %q", c.read, c.total, c.elapsed, got, c.want)
		}
	}
}

func TestGenProgressSaysHowManyAndHowLong(t *testing.T) {
	for _, c := range []struct {
		records, planted, limit int64
		elapsed                 time.Duration
		want                    string
	}{
		{0, 0, 3_000_000, 0, "generating: 0 records, 0/s, 0 planted, 0% of 3.00M"},
		{1_200_000, 36_100, 3_000_000, 20 * time.Second, "generating: 1.20M records, 60.0k/s, 36.1k planted, 40% of 3.00M, 30s left"},
		{500, 15, 0, time.Second, "generating: 500 records, 500/s, 15 planted"}, // no limit: runs until interrupted
		{10_000, 300, 10_000, 2 * time.Second, "generating: 10.0k records, 5.0k/s, 300 planted, 100% of 10.0k"},
	} {
		if got := genProgressLine(c.records, c.planted, c.limit, c.elapsed); got != c.want {
			t.Errorf("genProgressLine(%d, %d, %d, %s) = %q, want %q", c.records, c.planted, c.limit, c.elapsed, got, c.want)
		}
	}
}

// gen draws its progress line on a terminal (here for about a second,
// five ticks), and not when its records go to that same terminal.
func TestGenDrawsProgressOnATerminal(t *testing.T) {
	run := func(stdoutTerminal bool, args ...string) (string, string) {
		var out, errOut bytes.Buffer
		env := &cliEnv{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, stderrIsTerminal: true, stdoutIsTerminal: stdoutTerminal}
		if code := runMain(context.Background(), env, append([]string{"gen", "--records", "4000", "--rate", "4000"}, args...)); code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut.String())
		}
		return out.String(), errOut.String()
	}
	_, stderr := run(false, "--to", "file", "--out", filepath.Join(t.TempDir(), "events.jsonl"))
	if !strings.Contains(stderr, "\r\033[Kgenerating: ") || !strings.Contains(stderr, "% of 4.0k") || !strings.Contains(stderr, "\r\033[Kgenerated 4000 records") {
		t.Errorf("no progress line, or it was not cleared for the summary: %q", stderr)
	}
	stdout, stderr := run(true)
	if strings.Contains(stderr, "generating:") || !strings.Contains(stdout, `"records"`) {
		t.Errorf("a progress line on the terminal the records go to: %q", stderr)
	}
}

// Output to the terminal the progress line is on clears the line first,
// once, so that an alert never starts after "…37% of 2.98 GB, 12s left".
func TestOutputClearsTheProgressLineBeforeItWrites(t *testing.T) {
	var stderr, stdout strings.Builder
	tl := newTerminalLine(&stderr)
	out := tl.above(&stdout)
	tl.draw("replaying: 37%")
	out.Write([]byte("alert 1\n"))
	out.Write([]byte("alert 2\n"))
	tl.draw("replaying: 40%")
	out.Write([]byte("alert 3\n"))
	if got, want := stderr.String(), "\r\033[Kreplaying: 37%\r\033[K\r\033[Kreplaying: 40%\r\033[K"; got != want {
		t.Errorf("stderr %q, want %q", got, want)
	}
	if got := stdout.String(); got != "alert 1\nalert 2\nalert 3\n" {
		t.Errorf("stdout %q", got)
	}
}
