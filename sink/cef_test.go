package sink_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// updateNetGolden rewrites the network sinks' golden files
// (testdata/{cef,syslog,hec}) from the current output:
//
//	go test ./sink -run 'Golden' -update-net
var updateNetGolden = flag.Bool("update-net", false, "rewrite the network sinks' golden files in testdata/")

// checkNetGolden compares got with the golden file, or rewrites it.
func checkNetGolden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *updateNetGolden {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-net to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s\n got: %q\nwant: %q", path, got, want)
	}
}

// readAlertJSON reads a native alert from a testdata file.
func readAlertJSON(t *testing.T, path string) sink.Alert {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var a sink.Alert
	if err := json.Unmarshal(b, &a); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return a
}

// TestCEFGolden pins the CEF line of hand-written alerts:
// testdata/cef/<case>/{alert.json, expected.cef}.
func TestCEFGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/cef/*/alert.json")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases: %v", err)
	}
	for _, in := range dirs {
		dir := filepath.Dir(in)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			a := readAlertJSON(t, in)
			line := sink.AppendCEF(nil, &a, "1.2.3")
			checkNetGolden(t, filepath.Join(dir, "expected.cef"), append(line, '\n'))
			if _, err := sink.ParseCEFAlert(string(line)); err != nil {
				t.Errorf("the line does not parse back: %v", err)
			}
		})
	}
}

// cefProjection is what of a survives the trip through CEF: the mapped
// fields, cleaned as the escaper cleans them, times in milliseconds.
func cefProjection(a sink.Alert) sink.Alert {
	c := sink.CEFClean
	ms := func(t time.Time) time.Time {
		if t.IsZero() {
			return t
		}
		return time.UnixMilli(t.UnixMilli()).UTC()
	}
	p := sink.Alert{
		AlertID: c(a.AlertID), DetectedAt: ms(a.DetectedAt), Table: c(a.Table),
		DeviceID: c(a.DeviceID), DeviceName: c(a.DeviceName), ActionType: c(a.ActionType),
		FileName: c(a.FileName), FolderPath: c(a.FolderPath), CommandLine: c(a.CommandLine),
		SHA256: c(a.SHA256), AccountName: c(a.AccountName), RemoteIP: c(a.RemoteIP),
		RemotePort: a.RemotePort, RemoteURL: c(a.RemoteURL), LocalIP: c(a.LocalIP),
		ReportID: a.ReportID, MachineGroup: c(a.MachineGroup),
		MatchedField: c(a.MatchedField),
		Indicator: sink.AlertIndicator{
			Kind: c(a.Indicator.Kind), Value: c(a.Indicator.Value), Source: c(a.Indicator.Source),
			Confidence: a.Indicator.Confidence, Description: c(a.Indicator.Description),
			Reference: c(a.Indicator.Reference),
		},
		RepeatCount: a.RepeatCount,
	}
	if len(a.Indicator.Tags) > 0 {
		p.Indicator.Tags = strings.Split(c(strings.Join(a.Indicator.Tags, ",")), ",")
	}
	if a.RepeatCount > 0 {
		// A summary's span: first_seen and last_seen, each else its
		// timestamp (see TestAlertSpanAgreesAcrossFormats).
		p.FirstSeen, p.LastSeen = ms(a.FirstSeen), ms(a.LastSeen)
		if p.FirstSeen.IsZero() {
			p.FirstSeen = ms(a.Timestamp)
		}
		if p.LastSeen.IsZero() {
			p.LastSeen = ms(a.Timestamp)
		}
	} else {
		p.Timestamp = ms(a.Timestamp)
	}
	if a.Retro && !a.IndicatorAddedAt.IsZero() {
		p.Retro, p.IndicatorAddedAt = true, ms(a.IndicatorAddedAt)
	}
	return p
}

func TestCEFCarriesEveryMappedFieldIntact(t *testing.T) {
	for _, a := range sinktest.Alerts(400, 11) {
		line := string(sink.AppendCEF(nil, &a, "1.0"))
		if strings.ContainsAny(line, "\r\n") {
			t.Fatalf("alert %s: raw line break in %q", a.AlertID, line)
		}
		got, err := sink.ParseCEFAlert(line)
		if err != nil {
			t.Fatalf("alert %s: %v\nline: %q", a.AlertID, err, line)
		}
		if want := cefProjection(a); !reflect.DeepEqual(got, want) {
			t.Fatalf("alert %s did not survive CEF:\n got: %+v\nwant: %+v\nline: %q", a.AlertID, got, want, line)
		}
	}
}

// AppendCEF renders an alert as one CEF line; '=' in an extension value and
// '|' in a header field are escaped.
func ExampleAppendCEF() {
	a := sink.Alert{
		AlertID:      "5f0c2d9e1a7b4c3d8e9f0a1b2c3d4e5f",
		DetectedAt:   time.Date(2026, 11, 26, 9, 13, 59, 0, time.UTC),
		Timestamp:    time.Date(2026, 11, 26, 9, 13, 58, 120e6, time.UTC),
		Table:        "DeviceNetworkEvents",
		DeviceName:   "ws-0142",
		ActionType:   "ConnectionSuccess",
		RemoteIP:     "203.0.113.77",
		RemotePort:   443,
		RemoteURL:    "https://update.bad-cdn.example/gate.php?id=42",
		MatchedField: "RemoteIP",
		Indicator:    sink.AlertIndicator{Kind: "ip", Value: "203.0.113.77", Source: "feodo|tracker", Severity: "high"},
	}
	fmt.Println(string(sink.AppendCEF(nil, &a, "1.0.0")))
	// Output:
	// CEF:0|iocwatch|iocwatch|1.0.0|ioc-match-ip|IOC match: ip 203.0.113.77|8|rt=1795684439000 start=1795684438120 externalId=5f0c2d9e1a7b4c3d8e9f0a1b2c3d4e5f cat=DeviceNetworkEvents act=ConnectionSuccess dvchost=ws-0142 shost=ws-0142 dst=203.0.113.77 dpt=443 request=https://update.bad-cdn.example/gate.php?id\=42 dhost=update.bad-cdn.example cs1Label=indicator cs1=203.0.113.77 cs2Label=source cs2=feodo|tracker cs5Label=matched_field cs5=RemoteIP flexString2Label=alert_id flexString2=5f0c2d9e1a7b4c3d8e9f0a1b2c3d4e5f
}
