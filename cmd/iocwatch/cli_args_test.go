package main

import (
	"bytes"
	"compress/gzip"
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

// A bad command-line value is a usage error (exit 2) naming its flag, found
// before anything runs; an output file that cannot be created is a failure
// while running (exit 1), as for every output file.
func TestBadFlagValuesAreUsageErrors(t *testing.T) {
	dir := t.TempDir()
	feed := filepath.Join(dir, "feed.txt")
	os.WriteFile(feed, []byte("203.0.113.77\n"), 0o600)
	garbage := filepath.Join(dir, "garbage.bin")
	os.WriteFile(garbage, []byte("\x00\x01\x02\xff\xfe binary \x00\x00\n"), 0o600)
	capture := filepath.Join(dir, "capture.avro")
	if code, _, stderr := runCLI(t, "", "gen", "--records", "5", "--out", capture); code != exitOK {
		t.Fatalf("gen: exit %d\n%s", code, stderr)
	}
	events := "assets/sample-events.jsonl"
	cfg := filepath.Join(dir, "iocwatch.yaml")
	os.WriteFile(cfg, []byte("source: {type: stdin}\nfeeds: [{name: f, path: feed.txt}]\nmetrics: {enabled: false}\n"), 0o600)
	tests := []struct {
		name string
		args []string
		want int
		says string
	}{
		{"check --log-level unknown", []string{"check", "--feed", feed, "--log-level", "loud"}, exitUsage, `--log-level "loud": want debug, info, warn or error`},
		{"check -c with --log-level unknown names the flag, not the config", []string{"check", "-c", cfg, "--log-level", "loud"}, exitUsage, `--log-level "loud": want debug, info, warn or error`},
		{"lookup --ip-index unknown", []string{"lookup", "--feed", feed, "--ip-index", "radix", "203.0.113.77"}, exitUsage, `--ip-index "radix": want bart or cidranger`},
		{"replay --feed-format unknown", []string{"replay", "--feed", feed, "--feed-format", "cvs", events}, exitUsage, `--feed-format "cvs": want auto, text, csv,`},
		{"run -c with --ip-index unknown", []string{"run", "-c", cfg, "--ip-index", "radix", events}, exitUsage, `--ip-index "radix"`},
		{"run --metrics-listen not host:port", []string{"run", "--metrics-listen", "garbage", "--feed", feed, events}, exitUsage, `--metrics-listen: "garbage" is not host:port`},
		{"run --metrics-listen bad port", []string{"run", "--metrics-listen", "127.0.0.1:99999", "--feed", feed, events}, exitUsage, "--metrics-listen"},
		{"replay --events-format avro of JSON lines", []string{"replay", "--feed", feed, "--events-format", "avro", events}, exitUsage, "--events-format avro: " + events + " is not an Event Hubs Capture"},
		{"replay --events-format jsonl of a Capture file", []string{"replay", "--feed", feed, "--events-format", "jsonl", capture}, exitUsage, "--events-format jsonl: " + capture + " is an Event Hubs Capture"},
		{"replay --events-format unknown", []string{"replay", "--feed", feed, "--events-format", "xml", events}, exitUsage, `--events-format: unknown format "xml"`},
		{"replay --workers negative", []string{"replay", "--feed", feed, "--workers", "-1", events}, exitUsage, "--workers -1"},
		{"hunt --history missing", []string{"hunt", "--history", filepath.Join(dir, "nope"), "1.2.3.4"}, exitUsage, "--history " + filepath.Join(dir, "nope") + ": no such directory"},
		{"hunt --history a file", []string{"hunt", "--history", feed, "1.2.3.4"}, exitUsage, "--history " + feed + ": not a directory"},
		{"lookup --sha256 not a SHA-256", []string{"lookup", "--feed", feed, "--sha256", "xyz", "203.0.113.77"}, exitUsage, `--sha256 "xyz"`},
		{"lookup --sha256 63 digits", []string{"lookup", "--feed", feed, "--sha256", strings.Repeat("a", 63), "203.0.113.77"}, exitUsage, "--sha256"},
		{"lookup --table not watched", []string{"lookup", "--feed", feed, "--table", "DeviceLogonEvents", "203.0.113.77"}, exitUsage, `--table "DeviceLogonEvents": want DeviceNetworkEvents or DeviceEvents`},
		{"gen --feed with no indicators", []string{"gen", "--records", "10", "--feed", garbage}, exitUsage, "--feed " + garbage + ": no indicators to plant hits on"},
		{"replay --dead-letter that cannot be created", []string{"replay", "--feed", feed, "--quiet", "--dead-letter", filepath.Join(dir, "nodir", "dead.jsonl"), events}, exitFailure, "dead-letter file: open " + filepath.Join(dir, "nodir", "dead.jsonl")},

		// Good values still work.
		{"lookup --sha256 in capitals and a prefixed --table", []string{"lookup", "--feed", feed, "--sha256", strings.Repeat("AB", 32), "--table", "AdvancedHunting-deviceevents", "203.0.113.77"}, exitOK, "feed feed"},
		{"replay --events-format avro of a Capture file", []string{"replay", "--feed", feed, "--quiet", "--events-format", "avro", capture}, exitOK, "5 records"},
		{"run --metrics-listen off", []string{"run", "--metrics-listen", "off", "--feed", feed, events}, exitOK, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", tt.args...)
			if code != tt.want || !strings.Contains(stdout+stderr, tt.says) {
				t.Errorf("exit %d, want %d saying %q\nstdout: %.500s\nstderr: %s", code, tt.want, tt.says, stdout, stderr)
			}
		})
	}
}

// gen reads a compressed feed as run and check do, and --feed-format
// names the format of one it cannot detect.
func TestGenPlantsHitsOnACompressedFeed(t *testing.T) {
	dir := t.TempDir()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("evil-gen.example\n203.0.113.99\n"))
	zw.Close()
	feed := filepath.Join(dir, "c2.txt.gz")
	if err := os.WriteFile(feed, gz.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "events.jsonl")
	code, _, stderr := runCLI(t, "", "gen", "--records", "2000", "--hit-ratio", "0.05", "--feed", feed, "--out", out)
	data, _ := os.ReadFile(out)
	if code != exitOK || !strings.Contains(string(data), "evil-gen.example") && !strings.Contains(string(data), "203.0.113.99") {
		t.Errorf("gen on a gzipped feed: exit %d, no hit planted on its indicators\n%s", code, stderr)
	}
	if code, _, stderr := runCLI(t, "", "gen", "--records", "10", "--feed", feed, "--feed-format", "nope", "--out", out); code != exitUsage || !strings.Contains(stderr, `unknown feed format "nope"`) {
		t.Errorf("gen --feed-format nope: exit %d, want %d\n%s", code, exitUsage, stderr)
	}
}
