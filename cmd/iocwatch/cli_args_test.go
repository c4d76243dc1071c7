package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// An ad-hoc --feed is named after its file, made a valid and unique feed
// name, or NAME=PATH names it; the user never has to edit a file name.
func TestAdHocFeedsAreNamedAfterTheirFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(rel string) string {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte("203.0.113.77\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	long := strings.Repeat("misp_feed_event_", 5) + ".json" // 80 characters before the extension
	tests := []struct {
		name  string
		feeds []string
		want  []string // the feed names, in order
	}{
		{"the same file name in two folders", []string{write("a/feed.txt"), write("b/feed.txt"), write("c/feed.txt")}, []string{"feed", "feed-2", "feed-3"}},
		{"a space and brackets", []string{write("IOC list (1).csv")}, []string{"IOC-list-1"}},
		{"a leading underscore or dot", []string{write("_private.txt"), write(".hidden")}, []string{"private", "hidden"}},
		{"a name over 64 characters", []string{write(long), write("x/" + long)}, []string{
			strings.Repeat("misp_feed_event_", 4), strings.Repeat("misp_feed_event_", 3) + "misp_feed_even-2"}},
		{"non-ASCII letters", []string{write("Ünïcödé.txt"), write("ßß.txt")}, []string{"n-c-d", "feed"}},
		{"NAME=PATH", []string{"c2=" + write("d/feed.txt")}, []string{"c2"}},
		{"a name given first is not taken again", []string{write("e/feed.txt"), "feed=" + write("f/x.txt")}, []string{"feed-2", "feed"}},
		{"a file whose name holds '=' is a path", []string{write("k=v.txt")}, []string{"k-v"}},
	}
	nameRE := regexp.MustCompile(`(?m)^  ip 203\.0\.113\.77 on RemoteIP — feed (\S+)$`)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"lookup", "--feed-format", "text"}
			for _, f := range tt.feeds {
				args = append(args, "--feed", f)
			}
			code, stdout, stderr := runCLI(t, "", append(args, "203.0.113.77")...)
			if code != exitOK {
				t.Fatalf("exit %d, want %d\n%s%s", code, exitOK, stdout, stderr)
			}
			var got []string
			for _, m := range nameRE.FindAllStringSubmatch(stdout, -1) {
				got = append(got, m[1])
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("feed names %q, want %q\n%s", got, tt.want, stdout)
			}
		})
	}

	// The name is the alert's indicator source.
	events := filepath.Join(dir, "events.jsonl")
	os.WriteFile(events, []byte(`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"203.0.113.77","DeviceName":"ws-1","ActionType":"ConnectionSuccess"}}`+"\n"+
		`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"198.51.100.5","DeviceName":"ws-1","ActionType":"ConnectionSuccess"}}`+"\n"), 0o600)
	other := write("h/feed.txt")
	os.WriteFile(other, []byte("198.51.100.5\n"), 0o600)
	code, stdout, stderr := runCLI(t, "", "replay", "--feed", write("g/feed.txt"), "--feed", other, events)
	if code != exitOK || !strings.Contains(stdout, `"source":"feed"`) || !strings.Contains(stdout, `"source":"feed-2"`) {
		t.Errorf("replay: exit %d, want alerts from feed and feed-2\n%s%s", code, stdout, stderr)
	}
}

// Bad --feed values are usage errors naming the flag.
func TestBadFeedArgsAreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tt := range []struct {
		name string
		args []string
		says string
	}{
		{"stdin", []string{"lookup", "--feed", "-", "203.0.113.77"}, "--feed -: a feed is read from a file"},
		{"a name without a file", []string{"check", "--feed", "c2="}, "--feed c2=: no file after the name"},
		{"a name given twice", []string{"check", "--feed", "c2=" + filepath.Join(dir, "a"), "--feed", "c2=" + filepath.Join(dir, "b")}, `"c2" is already the name of feeds[0]`},
		{"an invalid name is a path", []string{"lookup", "--feed", "_c2=x.txt", "203.0.113.77"}, "_c2=x.txt"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "1.2.3.4\n", tt.args...)
			if code != exitUsage || !strings.Contains(stderr, tt.says) {
				t.Errorf("exit %d, want %d saying %q\n%s%s", code, exitUsage, tt.says, stdout, stderr)
			}
		})
	}
}
