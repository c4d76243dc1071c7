package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A file given as -c that is too large to be a configuration is refused
// as such, and not read whole a second time to see whether it is an
// exclusions file: the hint reads no more than the configuration loader
// does (16 MiB), so that -c naming a large log, or /dev/zero, cannot
// exhaust the memory.
func TestCheckOfAFileTooLargeToBeAConfigReadsNoMore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "huge.yaml")
	// An exclusions file past the limit: only a reader without the limit
	// would see that it holds only "exclusions".
	var b bytes.Buffer
	b.WriteString("exclusions: []\n")
	line := "# " + strings.Repeat("x", 1022) + "\n"
	for b.Len() <= 17<<20 {
		b.WriteString(line)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "", "check", "-c", path)
	if code != 2 || !strings.Contains(stderr, path+": larger than 16 MiB") {
		t.Fatalf("exit %d, want 2 and the size refused\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	if strings.Contains(stderr, "holds exclusions only") {
		t.Errorf("the hint read the file past the limit:\n%s", stderr)
	}
}

// One indicator is written as one: "1 indicator", not "1 indicators".
func TestCheckCountsOneIndicatorInTheSingular(t *testing.T) {
	feed := filepath.Join(t.TempDir(), "one.txt")
	if err := os.WriteFile(feed, []byte("203.0.113.5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLI(t, "", "check", "--feed", feed)
	if code != exitOK {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, " 1 indicator (ip 1), 0 refused") || !strings.Contains(stdout, "index: 1 indicator (ip 1)") || strings.Contains(stdout, "1 indicators") {
		t.Errorf("check output:\n%s", stdout)
	}
}
