package main

import (
	"strings"
	"testing"
)

// A hostile feed's text — STIX ids, names and patterns, text lines —
// reaches check's report: it must stay one entry a line, without terminal
// escapes that could forge or hide lines on the analyst's screen.
func TestCheckOfAHostileFeedPrintsOneEntryALineWithoutEscapes(t *testing.T) {
	code, stdout, stderr := runCLI(t, "", "check", "--feed", "testdata/hostile/stix-bundle.json", "--feed", "testdata/hostile/escapes.txt")
	if code != exitFailure {
		t.Errorf("exit %d, want %d (refused entries)", code, exitFailure)
	}
	out := stdout + stderr
	if strings.ContainsAny(out, "\x1b\r\a") {
		t.Errorf("the report holds terminal control characters:\n%q", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "fake") {
			t.Errorf("a feed forged a line of the report: %q", line)
		}
	}
	if !strings.Contains(out, `indicator--x\nfake: ok\x1b[31m`) {
		t.Errorf("the hostile STIX id is not shown escaped:\n%s", out)
	}
}
