package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/iocwatch/iocwatch/internal/textenc"
	"github.com/iocwatch/iocwatch/stream"
)

// The sample stream and feed saved as UTF-16 — as Windows PowerShell's `>`
// and Out-File save them — or compressed with gzip or zstd (and the
// exclusions as UTF-16 too), and the stream as an Event Hubs Capture file,
// replay to the same alerts and summary as the plain UTF-8 originals.
func TestReplayOfRepackedFilesMatchesThePlainOnes(t *testing.T) {
	names := []string{"sample-events.jsonl", "sample-feed.txt", "exclusions.yaml"}
	replay := func(dir string, repack func(name string, data []byte) []byte) (string, string) {
		for _, n := range names {
			data, err := assets.ReadFile("assets/" + n)
			if err != nil {
				t.Fatal(err)
			}
			data = repack(n, data)
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
	wantAlerts, wantSummary := replay(t.TempDir(), func(_ string, b []byte) []byte { return b })
	if strings.Count(wantAlerts, "\n") < 5 {
		t.Fatalf("only %d alerts from the plain sample", strings.Count(wantAlerts, "\n"))
	}
	yamlAsIs := func(name string, b, packed []byte) []byte {
		if strings.HasSuffix(name, ".yaml") {
			return b // YAML is neither compressed nor, here, UTF-16
		}
		return packed
	}
	for _, tc := range []struct {
		name   string
		repack func(name string, b []byte) []byte
	}{
		{"UTF-16LE", func(_ string, b []byte) []byte { return textenc.Encode(string(b), textenc.UTF16LE, true) }},
		{"gzip", func(n string, b []byte) []byte { return yamlAsIs(n, b, gzipBytes(t, b)) }},
		{"zstd", func(n string, b []byte) []byte { return yamlAsIs(n, b, zstdBytes(t, b)) }},
		{"UTF-16LE in gzip", func(n string, b []byte) []byte {
			return yamlAsIs(n, b, gzipBytes(t, textenc.Encode(string(b), textenc.UTF16LE, true)))
		}},
		{"Event Hubs Capture", func(n string, b []byte) []byte {
			if n != "sample-events.jsonl" {
				return b
			}
			return captureFile(t, b)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotAlerts, gotSummary := replay(t.TempDir(), tc.repack)
			if gotAlerts != wantAlerts {
				t.Errorf("alerts differ:\n%s\nwant\n%s", gotAlerts, wantAlerts)
			}
			if gotSummary != wantSummary {
				t.Errorf("summary differs:\n%s\nwant\n%s", gotSummary, wantSummary)
			}
		})
	}
}

func gzipBytes(t *testing.T, b []byte) []byte {
	var out bytes.Buffer
	w := gzip.NewWriter(&out)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

func zstdBytes(t *testing.T, b []byte) []byte {
	w, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	return w.EncodeAll(b, nil)
}

// captureFile writes each line of jsonl as the Body of a record of an
// Event Hubs Capture (Avro) file.
func captureFile(t *testing.T, jsonl []byte) []byte {
	var out bytes.Buffer
	w, err := stream.NewCaptureWriter(&out)
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range bytes.Split(jsonl, []byte("\n")) {
		if err := w.Write(bytes.TrimRight(line, "\r")); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}
