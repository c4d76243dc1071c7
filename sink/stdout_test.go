package sink_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// decodeLines decodes JSON lines of native alerts or OCSF findings back
// into alerts (for OCSF only AlertID, from finding_info.uid). It fails the
// test on a line that is neither.
func decodeLines(t testing.TB, b []byte) []sink.Alert {
	t.Helper()
	var out []sink.Alert
	for i, line := range bytes.Split(b, []byte("\n")) {
		if len(line) == 0 {
			if i != len(bytes.Split(b, []byte("\n")))-1 {
				t.Errorf("line %d is empty", i+1)
			}
			continue
		}
		var probe struct {
			AlertID     string `json:"alert_id"`
			FindingInfo *struct {
				UID string `json:"uid"`
			} `json:"finding_info"`
		}
		if err := json.Unmarshal(line, &probe); err != nil {
			t.Errorf("line %d is not JSON: %v\n%s", i+1, err, line)
			continue
		}
		if probe.FindingInfo != nil {
			out = append(out, sink.Alert{AlertID: probe.FindingInfo.UID})
			continue
		}
		var a sink.Alert
		if err := json.Unmarshal(line, &a); err != nil {
			t.Errorf("line %d: %v", i+1, err)
			continue
		}
		out = append(out, a)
	}
	return out
}

func TestStdoutConformance(t *testing.T) {
	for _, f := range []sink.Format{sink.FormatNative, sink.FormatOCSF} {
		t.Run(string(f), func(t *testing.T) {
			sinktest.Run(t, func(t *testing.T) (sink.Sink, func() []sink.Alert) {
				var buf syncbuf.Buffer
				s, err := sink.NewStdout(&buf, sink.StdoutOptions{Format: f})
				if err != nil {
					t.Fatal(err)
				}
				return s, func() []sink.Alert { return decodeLines(t, buf.Bytes()) }
			})
		})
	}
}

func TestStdoutWritesOneJSONLinePerAlertInOrder(t *testing.T) {
	var buf syncbuf.Buffer
	s, err := sink.NewStdout(&buf, sink.StdoutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	alerts := sinktest.Alerts(40, 21)
	if err := s.Write(context.Background(), alerts); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(buf.Bytes()), "\n"), "\n")
	if len(lines) != len(alerts) {
		t.Fatalf("%d lines for %d alerts (a hostile value broke a line?)", len(lines), len(alerts))
	}
	for i, l := range lines {
		want, _ := json.Marshal(&alerts[i])
		if l != string(want) {
			t.Errorf("line %d = %s, want %s", i+1, l, want)
		}
	}
}

// failingWriter fails every Write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("broken pipe") }

func TestStdoutErrors(t *testing.T) {
	t.Run("an unknown format is refused", func(t *testing.T) {
		if _, err := sink.NewStdout(&syncbuf.Buffer{}, sink.StdoutOptions{Format: "xml"}); err == nil {
			t.Error("NewStdout accepted format xml")
		}
	})
	t.Run("a writer error is returned, retryable", func(t *testing.T) {
		s, _ := sink.NewStdout(failingWriter{}, sink.StdoutOptions{})
		err := s.Write(context.Background(), sinktest.Alerts(1, 1))
		if err == nil || !strings.Contains(err.Error(), "broken pipe") || sink.IsPermanent(err) {
			t.Errorf("Write = %v, want a retryable error mentioning broken pipe", err)
		}
	})
	t.Run("an alert that cannot be encoded is refused alone, permanently", func(t *testing.T) {
		var buf syncbuf.Buffer
		s, _ := sink.NewStdout(&buf, sink.StdoutOptions{})
		alerts := sinktest.Alerts(3, 1)
		alerts[2].DetectedAt = time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)
		err := s.Write(context.Background(), alerts)
		var refused *sink.RefusedError
		if !sink.IsPermanent(err) || !strings.Contains(err.Error(), alerts[2].AlertID) ||
			!errors.As(err, &refused) || !slices.Equal(refused.Alerts, []int{2}) {
			t.Errorf("Write = %v, want a permanent refusal of alert 2 (%s) alone", err, alerts[2].AlertID)
		}
		if n := strings.Count(string(buf.Bytes()), "\n"); n != 2 {
			t.Errorf("%d lines written, want the 2 alerts that could be encoded", n)
		}
	})
}

func TestHumanFormat(t *testing.T) {
	a := fullAlert()
	plain := a
	plain.Retro, plain.RepeatCount = false, 0
	v6 := plain
	v6.RemoteIP, v6.RemoteURL, v6.FileName, v6.AccountName = "2001:db8::1", "", "", ""
	hostile := plain
	hostile.DeviceName = "ws\n01\x1b[31mred"
	hostile.Indicator.Value = "evil\u202etxt.exe"
	hostile.AccountName = "bad\xffutf8"
	bare := sink.Alert{Indicator: sink.AlertIndicator{Kind: "ip", Value: "192.0.2.1"}}
	for _, tc := range []struct {
		name  string
		alert sink.Alert
		want  string
	}{
		{"a plain alert shows time, device, process, remote and indicator", plain,
			"2026-11-26T09:13:58.120Z ws-0142.corp.example rundll32.exe (ana) → 203.0.113.77:443 https://update.bad-cdn.example/gate.php?id=42  domain:bad-cdn.example [threatfox, high]"},
		{"a retro summary is marked with its repeats", a,
			"2026-11-26T09:13:58.120Z ws-0142.corp.example rundll32.exe (ana) → 203.0.113.77:443 https://update.bad-cdn.example/gate.php?id=42  domain:bad-cdn.example [threatfox, high] retro ×12 repeats 09:13:58…09:22:58"},
		{"an IPv6 address with a port is bracketed and the process falls back to the folder", v6,
			"2026-11-26T09:13:58.120Z ws-0142.corp.example rundll32.exe → [2001:db8::1]:443  domain:bad-cdn.example [threatfox, high]"},
		{"control, bidi and invalid bytes are escaped", hostile,
			`2026-11-26T09:13:58.120Z ws\n01\x1b[31mred rundll32.exe (bad\xffutf8) → 203.0.113.77:443 https://update.bad-cdn.example/gate.php?id=42  domain:evil\u202etxt.exe [threatfox, high]`},
		{"an almost empty alert still makes a line", bare, "- →  ip:192.0.2.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := string(sink.AppendHuman(nil, &tc.alert)); got != tc.want {
				t.Errorf("\n got %s\nwant %s", got, tc.want)
			}
		})
	}
}

func TestHumanLinesNeverBreak(t *testing.T) {
	var buf syncbuf.Buffer
	s, _ := sink.NewStdout(&buf, sink.StdoutOptions{Human: true})
	alerts := sinktest.Alerts(200, 5)
	if err := s.Write(context.Background(), alerts); err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != len(alerts) {
		t.Errorf("%d newlines for %d alerts", n, len(alerts))
	}
	if bytes.ContainsAny(buf.Bytes(), "\r\x1b\u202e") {
		t.Error("human output holds a raw CR, ESC or bidi override")
	}
}

// ExampleNewStdout shows the readable terminal format.
func ExampleNewStdout() {
	s, err := sink.NewStdout(os.Stdout, sink.StdoutOptions{Human: true})
	if err != nil {
		panic(err)
	}
	a := sink.Alert{
		Timestamp:  time.Date(2026, 11, 26, 9, 13, 58, 120_000_000, time.UTC),
		DeviceName: "ws-0142.corp.example", FileName: "rundll32.exe", AccountName: "ana",
		RemoteIP: "203.0.113.77", RemotePort: 443, RemoteURL: "update.bad-cdn.example",
		Indicator: sink.AlertIndicator{Kind: "domain", Value: "bad-cdn.example", Source: "threatfox", Severity: "high"},
	}
	if err := s.Write(context.Background(), []sink.Alert{a}); err != nil {
		panic(err)
	}
	// Output:
	// 2026-11-26T09:13:58.120Z ws-0142.corp.example rundll32.exe (ana) → 203.0.113.77:443 update.bad-cdn.example  domain:bad-cdn.example [threatfox, high]
}

// FuzzAppendHuman checks that the terminal line stays one line of valid
// UTF-8 free of control and bidi characters, whatever the values.
func FuzzAppendHuman(f *testing.F) {
	// Seeds: the hostile strings of the encoder tests, an ANSI colour
	// sequence, a bidi override, C1 controls and truncated UTF-8.
	for _, s := range hostileStrings() {
		f.Add(s, s, 443)
	}
	f.Add("\x1b[2J\x1b[H", "evil\u202egnp.exe", -1)
	f.Add("\u0085next\u009bline", "\xe2\x80", 0)
	f.Fuzz(func(t *testing.T, device, value string, port int) {
		a := fullAlert()
		a.DeviceName, a.CommandLine, a.RemoteURL, a.AccountName = device, device, value, value
		a.Indicator.Value, a.Indicator.Source, a.RemoteIP, a.RemotePort = value, device, value, port
		line := string(sink.AppendHuman(nil, &a))
		if !utf8.ValidString(line) {
			t.Fatalf("not UTF-8: %q", line)
		}
		for _, r := range line {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069) || r == 0x2028 || r == 0x2029 {
				t.Fatalf("raw %U in %q", r, line)
			}
		}
	})
}
