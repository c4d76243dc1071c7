package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf16"
)

// The sample stream, feed and exclusions saved as UTF-16 — as Windows
// PowerShell's `>` and Out-File save them — replay to the same alerts and
// summary as the UTF-8 originals.
func TestReplayOfUTF16FilesMatchesTheirUTF8Originals(t *testing.T) {
	names := []string{"sample-events.jsonl", "sample-feed.txt", "exclusions.yaml"}
	replay := func(dir string, utf16LE bool) (string, string) {
		for _, n := range names {
			data, err := assets.ReadFile("assets/" + n)
			if err != nil {
				t.Fatal(err)
			}
			if utf16LE {
				data = encodeUTF16LE(string(data))
			}
			if err := os.WriteFile(filepath.Join(dir, n), data, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		code, stdout, stderr := runCLI(t, "", "replay", "--feed", filepath.Join(dir, "sample-feed.txt"),
			"--exclusions", filepath.Join(dir, "exclusions.yaml"), filepath.Join(dir, "sample-events.jsonl"))
		if code != exitOK {
			t.Fatalf("exit %d\n%s", code, stderr)
		}
		clean := func(s string) string { return strings.ReplaceAll(s, dir, "DIR") }
		summary := stderr[strings.Index(stderr, "replayed "):]
		summary = summary[:strings.Index(summary, " in ")] + strings.SplitN(summary, "\n", 2)[1]
		return clean(normaliseAlerts(t, stdout)), clean(summary)
	}
	wantAlerts, wantSummary := replay(t.TempDir(), false)
	gotAlerts, gotSummary := replay(t.TempDir(), true)
	if strings.Count(wantAlerts, "\n") < 5 {
		t.Fatalf("only %d alerts from the UTF-8 sample", strings.Count(wantAlerts, "\n"))
	}
	if gotAlerts != wantAlerts {
		t.Errorf("alerts from UTF-16 files differ:\n%s\nwant\n%s", gotAlerts, wantAlerts)
	}
	if gotSummary != wantSummary {
		t.Errorf("summary from UTF-16 files differs:\n%s\nwant\n%s", gotSummary, wantSummary)
	}
}

// encodeUTF16LE is s in UTF-16LE with a byte order mark.
func encodeUTF16LE(s string) []byte {
	b := []byte{0xff, 0xfe}
	for _, u := range utf16.Encode([]rune(s)) {
		b = append(b, byte(u), byte(u>>8))
	}
	return b
}
