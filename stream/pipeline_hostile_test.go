package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/iocwatch/iocwatch/sink"
)

// Hostile input: what an attacker who controls event content (a device
// name, a URL, a command line) or the stream itself can send. None of it may
// crash or stall the pipeline; every bound is enforced and counted; what
// reaches a sink is well-formed.

// hit is a one-record DeviceNetworkEvents envelope to the planted indicator
// 203.0.113.7 with extra properties (a leading comma is added).
func hit(report int, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Sprintf(`{"records":[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"DeviceId":"d","RemoteIP":"203.0.113.7","ReportId":%d%s}}]}`, report, extra)
}

// runHostile runs msgs, one message per batch, through a pipeline with a
// dead-letter file, checks that it ends and acknowledges every batch, and
// returns the alerts, the stats and the dead-letter entries.
func runHostile(t *testing.T, opt Options, msgs ...string) ([]sink.Alert, *Stats, []DeadLetterEntry) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "dead.jsonl")
	dl, err := OpenDeadLetter(path)
	if err != nil {
		t.Fatal(err)
	}
	var batches [][]string
	for _, m := range msgs {
		batches = append(batches, []string{m})
	}
	src := newSliceSource(batches...)
	out := &recordingSink{}
	opt.DeadLetter = dl
	p := New(src, testRules(t, "203.0.113.7"), out, opt)
	if err := p.Run(context.Background()); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := dl.Close(); err != nil {
		t.Fatal(err)
	}
	if got := len(src.ackedBatches()); got != len(msgs) {
		t.Errorf("%d of %d batches acknowledged", got, len(msgs))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var dead []DeadLetterEntry
	dec := json.NewDecoder(bytes.NewReader(data))
	for dec.More() {
		var e DeadLetterEntry
		if err := dec.Decode(&e); err != nil {
			t.Fatalf("dead-letter file is not JSON lines: %v", err)
		}
		dead = append(dead, e)
	}
	return out.got(), p.Stats(), dead
}

// checkAlertOutputs encodes every alert in each output format and checks
// that the result is well-formed: valid JSON in valid UTF-8, one line.
func checkAlertOutputs(t *testing.T, alerts []sink.Alert) {
	t.Helper()
	for i := range alerts {
		a := &alerts[i]
		for _, f := range []sink.Format{sink.FormatNative, sink.FormatOCSF} {
			b, err := sink.EncodeJSON(nil, a, f)
			if err != nil {
				t.Errorf("alert %d: %s: %v", i, f, err)
				continue
			}
			if !json.Valid(b) || !utf8.Valid(b) || bytes.ContainsAny(b, "\n\r") {
				t.Errorf("alert %d: %s encoding is not one line of valid JSON in UTF-8: %.200q", i, f, b)
			}
		}
		cef := sink.AppendCEF(nil, a, "1")
		if !utf8.Valid(cef) || bytes.ContainsFunc(cef, func(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }) {
			t.Errorf("alert %d: CEF line holds control characters or invalid UTF-8: %.200q", i, cef)
		}
		human := sink.AppendHuman(nil, a)
		if bytes.Count(human, []byte("\n")) > 1 || bytes.ContainsAny(human, "\r\x1b") {
			t.Errorf("alert %d: the terminal line can be split or recoloured: %.200q", i, human)
		}
	}
}

func TestHostileValuesNeitherCrashNorStallThePipelineAndReachSinksWellFormed(t *testing.T) {
	deep := 400_000 // 800 KB of brackets: under the default 1 MiB bound
	tests := []struct {
		name   string
		msg    string
		alerts int
		dead   int
	}{
		{"deeply nested arrays in an unknown column are skipped",
			hit(1, `"Unknown":`+strings.Repeat("[", deep)+strings.Repeat("]", deep)), 1, 0},
		{"deeply nested objects in AdditionalFields are skipped",
			hit(2, `"AdditionalFields":`+strings.Repeat(`{"a":`, deep/4)+`1`+strings.Repeat("}", deep/4)), 1, 0},
		{"deep nesting that never closes is dead-lettered",
			`{"records":[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"x":` + strings.Repeat("[", deep), 0, 1},
		{"body wrappers nested beyond eight are dead-lettered",
			strings.Repeat(`{"body":`, 20) + hit(3, "") + strings.Repeat("}", 20), 0, 1},
		{"invalid UTF-8 in a device name still alerts",
			hit(4, "\"DeviceName\":\"ws-\xff\xfe\xc0\xaf-1\",\"InitiatingProcessCommandLine\":\"a\xed\xa0\x80b\""), 1, 0},
		{"NUL bytes, escaped and raw, still alert",
			hit(5, "\"DeviceName\":\"ws\\u0000-1\",\"RemoteUrl\":\"http://x.example/\x00a\",\"InitiatingProcessFileName\":\"a\\u0000.exe\""), 1, 0},
		{"numbers, objects and arrays where strings belong leave the column absent",
			hit(6, `"DeviceName":12345,"ActionType":{"a":1},"RemoteUrl":[1,2],"InitiatingProcessFileName":true,"RemotePort":"not a port","ReportId":"x"`), 1, 0},
		{"a number where RemoteIP belongs is not an address",
			`{"records":[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":3405803783}}]}`, 0, 0},
		{"duplicate keys: the last RemoteIP wins",
			`{"records":[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"203.0.113.7","RemoteIP":"34.1.1.1"}}]}`, 0, 0},
		{"duplicate keys: a later planted RemoteIP alerts",
			`{"records":[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"34.1.1.1","RemoteIP":"203.0.113.7"}}]}`, 1, 0},
		{"escaped quotes in a value cannot inject a column",
			hit(7, `"DeviceName":"x\",\"RemoteIP\":\"34.1.1.1"`), 1, 0},
		{"newlines, tabs and escape sequences in every string column still alert",
			hit(8, `"DeviceName":"ws-1\n2026-11-27 level=ERROR msg=forged\r\n","ActionType":"\u001b[31mred\u001b[0m","RemoteUrl":"http://x.example/a\nb","InitiatingProcessCommandLine":"cmd /c \"calc\"\t\u0007","InitiatingProcessAccountName":"\u2028\u2029"`), 1, 0},
		{"spreadsheet formulas in a device name still alert",
			hit(9, `"DeviceName":"=cmd|' /C calc'!A0","InitiatingProcessFileName":"+SUM(1)","InitiatingProcessAccountName":"@evil","InitiatingProcessCommandLine":"-2+3"`), 1, 0},
		{"a lone surrogate escape is kept as a replacement character",
			hit(10, `"DeviceName":"\ud800x\udfff"`), 1, 0},
		{"a record that is a bare string is an error, not a crash",
			`{"records":["just a string",` + strings.TrimSuffix(strings.TrimPrefix(hit(11, ""), `{"records":[`), `]}`) + `]}`, 1, 1},
		{"an empty message yields nothing", ``, 0, 0},
		{"a message of whitespace and a byte order mark yields nothing", "\xef\xbb\xbf \t\r\n", 0, 0},
		{"binary garbage is dead-lettered", "\x00\x01\x02\xff\xfe\x7f", 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			alerts, st, dead := runHostile(t, Options{Workers: 1}, tc.msg)
			if len(alerts) != tc.alerts || len(dead) != tc.dead {
				t.Errorf("%d alerts and %d dead letters, want %d and %d (stats: decode errors %d)", len(alerts), len(dead), tc.alerts, tc.dead, st.DecodeErrors.Load())
			}
			for _, e := range dead {
				if e.Message == "" && e.MessageBase64 == "" {
					t.Errorf("dead letter %+v lost the message", e)
				}
			}
			checkAlertOutputs(t, alerts)
		})
	}
}

// The alert keeps a device name with a formula as it is — iocwatch writes
// no CSV — and CEF escapes only what CEF needs: "=" in an extension value.
func TestAFormulaInADeviceNameIsCarriedVerbatimAndCEFEscapesItsEqualsSign(t *testing.T) {
	alerts, _, _ := runHostile(t, Options{}, hit(1, `"DeviceName":"=cmd|' /C calc'!A0"`))
	if len(alerts) != 1 {
		t.Fatalf("%d alerts", len(alerts))
	}
	if alerts[0].DeviceName != "=cmd|' /C calc'!A0" {
		t.Errorf("DeviceName %q was altered", alerts[0].DeviceName)
	}
	cef := string(sink.AppendCEF(nil, &alerts[0], "1"))
	if !strings.Contains(cef, ` dvchost=\=cmd|' /C calc'!A0 `) {
		t.Errorf("CEF line does not carry the escaped device name:\n%s", cef)
	}
}

func TestAMessageOfAMillionRecordsIsCutAtTheBoundAndDeadLettered(t *testing.T) {
	const n = 1_000_000
	var b strings.Builder
	b.WriteString(`{"records":[`)
	planted := func(report int) string {
		return fmt.Sprintf(`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"203.0.113.7","ReportId":%d}}`, report)
	}
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		switch i {
		case 5, 500_000:
			b.WriteString(planted(i))
		default:
			b.WriteString(`{}`)
		}
	}
	b.WriteString(`]}`)
	msg := b.String()

	t.Run("with the default bound of 100000 the rest is dead-lettered, not decoded", func(t *testing.T) {
		alerts, st, dead := runHostile(t, Options{MaxMessageBytes: -1}, msg)
		if len(alerts) != 1 || alerts[0].ReportID != 5 {
			t.Errorf("alerts %v: want only the hit before the bound (ReportId 5)", alerts)
		}
		if st.Records.Load() != 100_001 || st.TooManyRecords.Load() != 1 {
			t.Errorf("decoded %d records and cut %d messages; want 100001 (the bound and the error record) and 1", st.Records.Load(), st.TooManyRecords.Load())
		}
		if len(dead) != 1 || dead[0].Record != 100_000 || !strings.Contains(dead[0].Error, "too many records") || len(dead[0].Message) != len(msg) {
			t.Errorf("dead letters: want one for record 100000 with the whole message; got %d", len(dead))
			for _, d := range dead {
				t.Logf("record %d, error %q, %d bytes", d.Record, d.Error, len(d.Message))
			}
		}
	})
	t.Run("with the bound lifted every record is decoded", func(t *testing.T) {
		alerts, st, dead := runHostile(t, Options{MaxMessageBytes: -1, MaxRecordsPerMessage: -1}, msg)
		if len(alerts) != 2 || len(dead) != 0 || st.Records.Load() != n {
			t.Errorf("%d alerts, %d dead letters, %d records; want 2, 0, %d", len(alerts), len(dead), st.Records.Load(), n)
		}
	})
	t.Run("with the default size bound the 3 MB message is dead-lettered undecoded", func(t *testing.T) {
		alerts, st, dead := runHostile(t, Options{}, msg)
		if len(alerts) != 0 || len(dead) != 1 || st.Oversized.Load() != 1 || st.Records.Load() != 0 {
			t.Errorf("%d alerts, %d dead letters, %d oversized, %d records decoded; want 0, 1, 1, 0", len(alerts), len(dead), st.Oversized.Load(), st.Records.Load())
		}
	})
}

// A 100 MB string: the file source keeps only the first MiB of its line
// (dead-lettered, counted), and the decoder, given the whole message with
// no bound, decodes it in one pass into an alert.
func TestAHundredMegabyteStringIsBoundedByTheSourceAndDecodedWhenAllowed(t *testing.T) {
	huge := strings.Repeat("A", 100<<20)
	msg := hit(1, `"DeviceName":"`+huge+`"`)
	t.Run("the file source keeps its first MiB and the pipeline dead-letters it", func(t *testing.T) {
		events := filepath.Join(t.TempDir(), "events.jsonl")
		if err := os.WriteFile(events, []byte(msg+"\n"+hit(2, "")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := NewFileSource(FileOptions{Paths: []string{events}})
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close(context.Background())
		dlPath := filepath.Join(t.TempDir(), "dead.jsonl")
		dl, err := OpenDeadLetter(dlPath)
		if err != nil {
			t.Fatal(err)
		}
		out := &recordingSink{}
		p := New(src, testRules(t, "203.0.113.7"), out, Options{DeadLetter: dl})
		if err := p.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		dl.Close()
		fi, err := os.Stat(dlPath)
		if err != nil {
			t.Fatal(err)
		}
		if alerts := out.got(); len(alerts) != 1 || alerts[0].ReportID != 2 || p.Stats().Oversized.Load() != 1 || p.Stats().DeadLettered.Load() != 1 {
			t.Errorf("%d alerts, %d oversized, %d dead-lettered; want the next line's alert, 1, 1", len(alerts), p.Stats().Oversized.Load(), p.Stats().DeadLettered.Load())
		}
		if fi.Size() < 1<<20 || fi.Size() > 1<<20+4096 {
			t.Errorf("the dead letter takes %d bytes; want the first MiB of the line and its envelope", fi.Size())
		}
	})
	t.Run("without a bound the decoder makes one event of it", func(t *testing.T) {
		var d Decoder
		evs, errs := d.Decode([]byte(msg), nil)
		if len(evs) != 1 || len(errs) != 0 || len(evs[0].DeviceName) != len(huge) || !evs[0].RemoteIP.IsValid() {
			t.Fatalf("%d events, errors %v", len(evs), errs)
		}
	})
}

// Oversized lines end to end through the file source: the source keeps only
// the first MaxLineBytes of a line (memory is bounded, whatever the line),
// the pipeline dead-letters it with its position, and the lines around it
// alert.
func TestAnOversizedLineInAFileIsBoundedDeadLetteredAndTheNextLinesAlert(t *testing.T) {
	dir := t.TempDir()
	big := hit(2, `"DeviceName":"`+strings.Repeat("B", 3<<20)+`"`)
	events := filepath.Join(dir, "events.jsonl")
	if err := os.WriteFile(events, []byte(hit(1, "")+"\n"+big+"\n"+hit(3, "")+"\n"+big), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name      string
		lineBytes int
		kept      int
	}{
		{"the file source's default of 1 MiB", 0, 1 << 20},
		{"a bound of 4 KiB", 4096, 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewFileSource(FileOptions{Paths: []string{events}, MaxLineBytes: tc.lineBytes, BatchLines: 2})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close(context.Background())
			dlPath := filepath.Join(t.TempDir(), "dead.jsonl")
			dl, err := OpenDeadLetter(dlPath)
			if err != nil {
				t.Fatal(err)
			}
			out := &recordingSink{}
			p := New(src, testRules(t, "203.0.113.7"), out, Options{DeadLetter: dl, MaxMessageBytes: -1})
			if err := p.Run(context.Background()); err != nil {
				t.Fatal(err)
			}
			dl.Close()
			if got := len(out.got()); got != 2 {
				t.Errorf("%d alerts, want the two lines around the big ones", got)
			}
			if p.Stats().Oversized.Load() != 2 {
				t.Errorf("oversized %d, want 2", p.Stats().Oversized.Load())
			}
			data, _ := os.ReadFile(dlPath)
			lines := strings.Split(strings.TrimSpace(string(data)), "\n")
			if len(lines) != 2 {
				t.Fatalf("%d dead letters, want 2", len(lines))
			}
			want := map[string]bool{events + ":2": true, events + ":4": true}
			for _, line := range lines {
				var e DeadLetterEntry
				if err := json.Unmarshal([]byte(line), &e); err != nil {
					t.Fatal(err)
				}
				wantErr := fmt.Sprintf("a line of %d bytes, more than %d", len(big), tc.kept)
				if !want[e.Position] || len(e.Message) != tc.kept || e.Message != big[:tc.kept] || !strings.Contains(e.Error, wantErr) {
					t.Errorf("dead letter at %s: %d bytes kept (want %d), error %q (want %q)", e.Position, len(e.Message), tc.kept, e.Error, wantErr)
				}
				delete(want, e.Position)
			}
		})
	}
}

// A message cut at MaxRecordsPerMessage inside a "body" wrapper, with junk
// after the wrapper: the cut is not the message's last error, yet it is
// counted and its reason kept in the dead-letter entry, however many broken
// records came before it.
func TestAMessageCutInsideABodyWrapperIsCountedWhateverErrorFollowsIt(t *testing.T) {
	r := `{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"203.0.113.7","ReportId":1}}`
	for _, tc := range []struct {
		name, msg string
		max       int
	}{
		{"junk after the wrapper", `{"body":[` + r + `,` + r + `,` + r + `]}` + "\nnot json", 2},
		{"six broken records before the cut and junk after",
			`{"body":["a","b","c","d","e","f",` + r + `,` + r + `]}` + "\nnot json", 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			alerts, st, dead := runHostile(t, Options{Workers: 1, MaxRecordsPerMessage: tc.max}, tc.msg)
			if st.TooManyRecords.Load() != 1 {
				t.Errorf("TooManyRecords = %d, want 1: the message was cut at %d records", st.TooManyRecords.Load(), tc.max)
			}
			if len(dead) != 1 || !strings.Contains(dead[0].Error, "too many records") {
				t.Errorf("dead letters %+v: want one naming the cut (too many records)", dead)
			}
			if st.DecodeErrors.Load() != 1 || len(alerts) == 0 {
				t.Errorf("decode errors %d, alerts %d: want 1 and the records before the cut", st.DecodeErrors.Load(), len(alerts))
			}
		})
	}
}
