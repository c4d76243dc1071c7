package stream

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/internal/textenc"
)

// utf16Text is s in UTF-16: little-endian with a byte order mark (what
// Windows PowerShell's `>` and Out-File write), or big-endian without one.
func utf16Text(s string, littleEndian bool) []byte {
	if littleEndian {
		return textenc.Encode(s, textenc.UTF16LE, true)
	}
	return textenc.Encode(s, textenc.UTF16BE, false)
}

// A JSON-lines stream or an Advanced Hunting CSV export saved as UTF-16
// gives the messages, line numbers and events of its UTF-8 original,
// from a file (which is then read, not mapped) and from stdin.
func TestFileSourceReadsUTF16AsItsUTF8Original(t *testing.T) {
	csvExport, err := os.ReadFile("testdata/csv/network_export.csv")
	if err != nil {
		t.Fatal(err)
	}
	jsonl := "{\"records\":[{\"category\":\"AdvancedHunting-DeviceNetworkEvents\",\"properties\":{\"DeviceName\":\"ws-ü\",\"RemoteIP\":\"203.0.113.7\",\"RemoteUrl\":\"пример.рф\"}}]}\r\n" +
		"\r\n{\"broken\":\n" +
		"{\"category\":\"AdvancedHunting-DeviceEvents\",\"properties\":{\"RemoteUrl\":\"evil.example\",\"FileName\":\"😀.exe\"}}\n"
	for _, tc := range []struct{ name, text, format string }{
		{"events.jsonl", jsonl, "auto"},
		{"events.jsonl", jsonl, "jsonl"},
		{"export.csv", string(csvExport), "auto"},
		{"export.csv", string(csvExport), "csv"},
	} {
		dir := t.TempDir()
		orig := writeFile(t, dir, "utf8-"+tc.name, tc.text)
		want := sourceText(t, FileOptions{Paths: []string{orig}}, orig)
		if len(want) < 2 {
			t.Fatalf("%s: only %d messages from the UTF-8 original", tc.name, len(want))
		}
		for _, le := range []bool{true, false} {
			enc := utf16Text(tc.text, le)
			p := filepath.Join(dir, map[bool]string{true: "le-", false: "be-"}[le]+tc.name)
			if err := os.WriteFile(p, enc, 0o600); err != nil {
				t.Fatal(err)
			}
			for _, opt := range []FileOptions{{Paths: []string{p}, Format: tc.format}, {Stdin: bytes.NewReader(enc), Format: tc.format}} {
				name := p
				if opt.Stdin != nil {
					name = "stdin"
				}
				got := sourceText(t, opt, name)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s (format %s, little-endian %v):\n%s\nwant\n%s", name, tc.format, le, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			}
		}
	}
}

// sourceText reads every message of a source and decodes it, as lines of
// "line: value → events or error", the file's name left out.
func sourceText(t *testing.T, opt FileOptions, name string) []string {
	t.Helper()
	src, err := NewFileSource(opt)
	if err != nil {
		t.Fatal(err)
	}
	var d Decoder
	var out []string
	for _, m := range readAll(t, src) {
		pos, val, _ := strings.Cut(m, " ")
		pos = strings.TrimPrefix(pos, name)
		events, errs := d.Decode([]byte(val), nil)
		line := pos + " " + val + " →"
		for _, e := range events {
			line += " " + e.DeviceName + "/" + e.RemoteIP.String() + "/" + e.RemoteURL + "/" + e.FileName
		}
		for _, err := range errs {
			line += " error: " + err.Error()
		}
		out = append(out, line)
	}
	return out
}
