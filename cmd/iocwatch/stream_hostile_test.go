package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// A hostile stream through `iocwatch run`: oversized messages, a message of
// 20,000 records, deep nesting, invalid UTF-8, NUL bytes, and values built
// to forge log lines, terminal colours and spreadsheet formulas. The run
// keeps going; every bound is applied; the alert file, the human-readable
// stdout, the dead-letter file and the log stay well-formed, one record a
// line.

const hostileStreamConfig = `
source:
  type: kafka
  kafka:
    brokers: ["{{BROKER}}"]
    topics: [defender]
    group: hostile
    max_wait: 200ms
feeds:
  - {name: sample, path: "{{FEED}}", format: text}
suppression: {window: 0s}
pipeline:
  dead_letter: "{{DEAD}}"
  max_message_bytes: 65536
  max_records_per_message: 1000
sinks:
  - name: alerts
    type: file
    file: {path: "{{ALERTS}}"}
  - name: terminal
    type: stdout
    stdout: {human: true}
metrics: {enabled: false}
log: {format: {{LOGFORMAT}}}
`

// hostileRecord is a DeviceNetworkEvents record to the sample feed's C2
// address with extra properties.
func hostileRecord(report int, extra string) string {
	if extra != "" {
		extra = "," + extra
	}
	return fmt.Sprintf(`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"Timestamp":"2026-11-26T09:00:00Z","DeviceId":"dev-%d","DeviceName":"ws-%d","ActionType":"ConnectionSuccess","RemoteIP":"203.0.113.77","RemotePort":443,"ReportId":%d%s}}`, report, report, report, extra)
}

func envelope(records ...string) []byte {
	return []byte(`{"records":[` + strings.Join(records, ",") + `]}`)
}

func TestAHostileStreamThroughRunIsBoundedAndEveryOutputStaysWellFormed(t *testing.T) {
	for _, logFormat := range []string{"text", "json"} {
		t.Run("log format "+logFormat, func(t *testing.T) {
			b, err := embedded.Start(embedded.BrokerOptions{Topics: []embedded.Topic{{Name: "defender", Partitions: 1}}})
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			dir := t.TempDir()
			alerts, dead := filepath.Join(dir, "alerts.jsonl"), filepath.Join(dir, "dead.jsonl")
			cfg := writeConfig(t, dir, hostileStreamConfig, map[string]string{
				"BROKER": b.Addr(), "FEED": assetPath(t, "sample-feed.txt"), "ALERTS": alerts, "DEAD": dead, "LOGFORMAT": logFormat,
			})
			forged := `\n` + `time=2026-11-27T00:00:00Z level=ERROR msg=\"forged line\"\n{\"level\":\"ERROR\",\"msg\":\"forged\"}\r\n`
			bomb := make([]string, 20_000) // 60 KB: under max_message_bytes
			for i := range bomb {
				bomb[i] = `{}`
			}
			bomb[10] = hostileRecord(2, "")      // before the bound: alerts
			bomb[15_000] = hostileRecord(99, "") // after it: dead-lettered, never decoded
			msgs := [][]byte{
				envelope(hostileRecord(1, "")),
				envelope(bomb...),
				envelope(hostileRecord(98, `"DeviceName":"`+strings.Repeat("A", 70000)+`"`)), // over 64 KiB
				envelope(hostileRecord(3, `"DeviceName":"ws-3`+forged+`","InitiatingProcessCommandLine":"\u001b[2J\u001b[31mcmd /c calc\u0007`+forged+`","RemoteUrl":"http://x.example/`+forged+`"`)),
				envelope(hostileRecord(4, `"DeviceName":"=cmd|' /C calc'!A0","InitiatingProcessAccountName":"@SUM(1+1)*cmd|' /C calc'!A0","InitiatingProcessFileName":"+cmd.exe"`)),
				envelope(hostileRecord(5, "\"DeviceName\":\"bad\xff\xfe\x00utf8\",\"ActionType\":\"\\u0000\\ud800\"")),
				envelope(hostileRecord(6, `"X":`+strings.Repeat("[", 20000)+strings.Repeat("]", 20000))),
				[]byte(strings.Repeat(`{"body":`, 50) + string(envelope(hostileRecord(97, ""))) + strings.Repeat("}", 50)),
				envelope(hostileRecord(7, `"DeviceName":12345,"RemoteUrl":{"a":[1,2]},"ActionType":null`)),
				envelope(hostileRecord(8, "")),
			}
			if err := b.Produce(t.Context(), "defender", 0, msgs...); err != nil {
				t.Fatal(err)
			}
			iocwatchBinary(t)
			w := startIocwatch(t, nil, "run", "-c", cfg)
			want := map[int64]bool{1: true, 2: true, 3: true, 4: true, 5: true, 6: true, 7: true, 8: true}
			faultWait(t, 20*time.Second, "the alerts of the decodable records", func() (bool, string) {
				got := map[int64]bool{}
				for _, a := range readAlertFileLive(t, alerts) {
					got[a.ReportID] = true
				}
				var missing []int64
				for r := range want {
					if !got[r] {
						missing = append(missing, r)
					}
				}
				return len(missing) == 0 || w.exited(), fmt.Sprintf("ReportIds %v not alerted", missing)
			})
			time.Sleep(300 * time.Millisecond) // room for a wrong alert to show
			if code := w.stop(t, syscall.SIGTERM); code != 0 {
				t.Fatalf("exit %d", code)
			}

			got := map[int64]int{}
			for _, a := range readAlertFile(t, alerts) { // fails on a broken line
				got[a.ReportID]++
			}
			for r := range want {
				if got[r] != 1 {
					t.Errorf("ReportId %d alerted %d times, want once", r, got[r])
				}
			}
			for _, r := range []int64{97, 98, 99} {
				if got[r] != 0 {
					t.Errorf("ReportId %d is past a bound but was alerted", r)
				}
			}
			// Dead letters: the records bomb (cut at 1000), the oversized
			// message, the nested wrappers.
			var entries []stream.DeadLetterEntry
			f, err := os.Open(dead)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 16<<20)
			for sc.Scan() {
				var e stream.DeadLetterEntry
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatalf("dead-letter line is not JSON: %v", err)
				}
				entries = append(entries, e)
			}
			reasons := ""
			for _, e := range entries {
				reasons += e.Position + " " + e.Error + "\n"
			}
			for _, want := range []string{"defender[0]@1: record 1000: too many records in one message", "defender[0]@2: message larger than max_message_bytes", "defender[0]@7: message: more than 8 nested"} {
				if !strings.Contains(reasons, want) {
					t.Errorf("dead letters lack %q:\n%s", want, reasons)
				}
			}
			checkOneRecordPerLine(t, "stdout (human)", w.stdout.String(), "")
			checkOneRecordPerLine(t, "the log", w.stderr.String(), logFormat)
		})
	}
}

// checkOneRecordPerLine fails when text holds a terminal escape, a carriage
// return, or a line that is not one whole record: for the text log every
// line starts with time=, for the JSON log every line is a JSON object, for
// the human stdout every line names an indicator match.
func checkOneRecordPerLine(t *testing.T, what, text, logFormat string) {
	t.Helper()
	if strings.ContainsAny(text, "\x1b\r\x00\a") {
		t.Errorf("%s holds control characters: %q", what, text)
	}
	for i, line := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		ok := true
		switch logFormat {
		case "text":
			ok = strings.HasPrefix(line, "time=")
		case "json":
			var m map[string]any
			ok = json.Unmarshal([]byte(line), &m) == nil && m["msg"] != nil
		default:
			ok = line == "" || strings.Contains(line, "203.0.113.77")
		}
		if !ok || strings.Contains(line, "forged") && logFormat != "" {
			t.Errorf("%s line %d is not one whole record: %q", what, i+1, line)
		}
	}
}
