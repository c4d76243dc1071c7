package sink_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fullAlert has every field of sink.Alert set, so that comparing its
// encoding with encoding/json notices a field added to Alert but not to
// the hand-written encoder.
func fullAlert() sink.Alert {
	ts := time.Date(2026, 11, 26, 9, 13, 58, 120_000_000, time.UTC)
	a := sink.Alert{
		DetectedAt:   ts.Add(850 * time.Millisecond),
		Timestamp:    ts,
		Table:        "DeviceNetworkEvents",
		DeviceID:     "3f2a9c0e6b1d4e8f9a7b6c5d4e3f2a1b0c9d8e7f",
		DeviceName:   "ws-0142.corp.example",
		ActionType:   "ConnectionSuccess",
		FileName:     "rundll32.exe",
		FolderPath:   `c:\users\ana\appdata\local\temp\rundll32.exe`,
		CommandLine:  `rundll32.exe c:\users\ana\appdata\local\temp\a.dll,Start`,
		SHA256:       "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
		AccountName:  "ana",
		RemoteIP:     "203.0.113.77",
		RemotePort:   443,
		RemoteURL:    "https://update.bad-cdn.example/gate.php?id=42",
		LocalIP:      "10.20.3.14",
		ReportID:     18984951960,
		TenantID:     "0f8fad5b-d9cb-469f-a165-70867728950e",
		MachineGroup: "Workstations",
		MatchedField: "RemoteUrl",
		MatchedValue: "https://update.bad-cdn.example/gate.php?id=42",
		Indicator: sink.AlertIndicator{
			Kind: "domain", Value: "bad-cdn.example", Source: "threatfox", Severity: "high",
			Confidence: 75, Tags: []string{"Emotet", "botnet_cc"}, Description: "Emotet C2 server",
			Reference: "https://threatfox.example/ioc/1234",
		},
		Retro:            true,
		IndicatorAddedAt: ts.Add(-time.Minute),
		RepeatCount:      12,
		FirstSeen:        ts,
		LastSeen:         ts.Add(9 * time.Minute),
	}
	a.AlertID = sink.NewAlertID(a.DeviceID, a.DeviceName, a.ReportID, a.Timestamp, a.Indicator.Kind, a.Indicator.Value)
	return a
}

// zeroFields lists the fields of v (a struct, recursively) that hold their
// zero value.
func zeroFields(v reflect.Value, prefix string) []string {
	var out []string
	for i := range v.NumField() {
		f, name := v.Field(i), prefix+v.Type().Field(i).Name
		if f.Kind() == reflect.Struct && f.Type() != reflect.TypeFor[time.Time]() {
			out = append(out, zeroFields(f, name+".")...)
		} else if f.IsZero() {
			out = append(out, name)
		}
	}
	return out
}

func TestTheFullAlertFixtureSetsEveryField(t *testing.T) {
	a := fullAlert()
	if z := zeroFields(reflect.ValueOf(a), ""); len(z) > 0 {
		t.Fatalf("fullAlert leaves %v zero: set them, and encode them in appendNative/appendOCSF", z)
	}
}

func hostileStrings() []string {
	return []string{
		"", "plain", `quote " and backslash \`, "pipe | equals = ", "line\nfeed\r\ncrlf\ttab",
		"\x00\x01\x1f\x7f control", "\b\f", "<script>&amp;</script>", "non-ASCII: Zürich ☃ 日本 🙂",
		"bad UTF-8: \xff\xfe \xc3", "line separators \u2028 \u2029", "mojibake Ã©",
	}
}

// The alert ID is SHA-256 over the documented identity (docs/alerts.md):
// an event with a DeviceId keeps the ID it always had, whatever its
// DeviceName; without one, DeviceName (after a 0x01 byte) tells devices
// apart.
func TestAlertIDIdentity(t *testing.T) {
	ts := time.Date(2026, 11, 26, 9, 13, 58, 120_000_000, time.UTC)
	want := func(device string) string {
		sum := sha256.Sum256([]byte(device + "\x00" + "42\x00" + "2026-11-26T09:13:58.12Z\x00ip\x00203.0.113.77"))
		return hex.EncodeToString(sum[:16])
	}
	for _, tc := range []struct {
		name, id, deviceName, identity string
	}{
		{"DeviceId", "3f2a9c1e", "ws-1", "3f2a9c1e"},
		{"DeviceId, no name", "3f2a9c1e", "", "3f2a9c1e"},
		{"no DeviceId: the name", "", "ws-1", "\x01ws-1"},
		{"neither", "", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sink.NewAlertID(tc.id, tc.deviceName, 42, ts, "ip", "203.0.113.77"); got != want(tc.identity) {
				t.Errorf("NewAlertID = %s, want %s", got, want(tc.identity))
			}
		})
	}
	if sink.NewAlertID("", "ws-1", 42, ts, "ip", "203.0.113.77") == sink.NewAlertID("", "ws-2", 42, ts, "ip", "203.0.113.77") {
		t.Error("two devices without DeviceId share an alert ID")
	}
}

func TestNativeMatchesEncodingJSON(t *testing.T) {
	var cases []sink.Alert
	cases = append(cases, fullAlert(), sink.Alert{})
	cases = append(cases, sinktest.Alerts(300, 7)...)
	for _, s := range hostileStrings() {
		a := fullAlert()
		a.DeviceName, a.CommandLine, a.Indicator.Value, a.Indicator.Tags = s, s, s, []string{s, s}
		cases = append(cases, a)
	}
	zoned := fullAlert()
	zoned.Timestamp = zoned.Timestamp.In(time.FixedZone("", 5*3600+30*60))
	zoned.DetectedAt = time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", -7*3600))
	cases = append(cases, zoned)
	empty := fullAlert()
	empty.Indicator.Tags = []string{}
	cases = append(cases, empty)

	for i := range cases {
		want, err := json.Marshal(&cases[i])
		if err != nil {
			t.Fatalf("case %d: json.Marshal: %v", i, err)
		}
		got, err := sink.EncodeJSON([]byte("prefix"), &cases[i], sink.FormatNative)
		if err != nil {
			t.Fatalf("case %d: EncodeJSON: %v", i, err)
		}
		if !bytes.HasPrefix(got, []byte("prefix")) {
			t.Fatalf("case %d: EncodeJSON did not append to dst", i)
		}
		if got = got[len("prefix"):]; !bytes.Equal(got, want) {
			t.Errorf("case %d: native encoding differs from encoding/json:\n got %s\nwant %s", i, got, want)
		}
	}
}

func TestNativeRoundTripsThroughEncodingJSON(t *testing.T) {
	for _, a := range append(sinktest.Alerts(50, 11), fullAlert()) {
		b, err := sink.EncodeJSON(nil, &a, sink.FormatNative)
		if err != nil {
			t.Fatal(err)
		}
		var back sink.Alert
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(normalize(back), normalize(a)) {
			t.Errorf("round trip changed the alert:\n got %+v\nwant %+v", back, a)
		}
	}
}

// normalize makes times comparable with DeepEqual after a JSON round trip
// (monotonic readings and *Location identity are not encoded).
func normalize(a sink.Alert) sink.Alert {
	for _, t := range []*time.Time{&a.DetectedAt, &a.Timestamp, &a.IndicatorAddedAt, &a.FirstSeen, &a.LastSeen} {
		if !t.IsZero() {
			*t = t.UTC()
		} else {
			*t = time.Time{}
		}
	}
	return a
}

func TestEncodeJSONRefusesWhatItCannotEncode(t *testing.T) {
	bad := fullAlert()
	bad.DetectedAt = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name   string
		alert  *sink.Alert
		format sink.Format
		want   string
	}{
		{"a nil alert is an error", nil, sink.FormatNative, "nil alert"},
		{"an unknown format is an error", &bad, "xml", `unknown alert format "xml"`},
		{"the empty format is an error", &bad, "", `unknown alert format ""`},
		{"a year after 9999 is an error in native", &bad, sink.FormatNative, "detected_at"},
		{"a year after 9999 is an error in OCSF", &bad, sink.FormatOCSF, "original_time"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "a year after 9999 is an error in OCSF" {
				tc.alert = new(*tc.alert)
				tc.alert.Timestamp = tc.alert.DetectedAt
			}
			got, err := sink.EncodeJSON([]byte("keep"), tc.alert, tc.format)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if string(got) != "keep" {
				t.Errorf("dst = %q after an error, want it unchanged", got)
			}
		})
	}
}

func TestFormatValidate(t *testing.T) {
	for _, tc := range []struct {
		f  sink.Format
		ok bool
	}{{"native", true}, {"ocsf", true}, {"", false}, {"OCSF", false}, {"json", false}} {
		if err := tc.f.Validate(); (err == nil) != tc.ok {
			t.Errorf("Format(%q).Validate() = %v, want ok=%v", tc.f, err, tc.ok)
		}
	}
}

// TestGoldenEncodings pins the exact output for the documented example
// alert (docs/alerts.md shows the same text). Run with -update to rewrite.
func TestGoldenEncodings(t *testing.T) {
	a := fullAlert()
	a.Retro, a.IndicatorAddedAt, a.RepeatCount, a.FirstSeen, a.LastSeen = false, time.Time{}, 0, time.Time{}, time.Time{}
	for _, f := range []sink.Format{sink.FormatNative, sink.FormatOCSF} {
		t.Run(string(f), func(t *testing.T) {
			b, err := sink.EncodeJSON(nil, &a, f)
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, b, "", "  "); err != nil {
				t.Fatalf("output is not JSON: %v\n%s", err, b)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", "alert."+string(f)+".json")
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Errorf("%s encoding differs from %s:\n%s", f, path, pretty.Bytes())
			}
		})
	}
}

// FuzzEncodeJSON checks, for arbitrary field values, that the native
// encoding is exactly encoding/json's, that OCSF output is valid JSON with
// the class's required attributes, and that nothing panics.
func FuzzEncodeJSON(f *testing.F) {
	// Seeds: the hostile strings, an IPv6 URL, a bare host with port, and
	// times at both ends of the representable range.
	for _, s := range hostileStrings() {
		f.Add(s, s, "domain", int64(0), 0)
	}
	f.Add("http://[2001:db8::1]:8080/x", "RemoteUrl.host", "cidr", int64(-62135596800), 65535)
	f.Add("evil.example:443", "RemoteUrl", "url", int64(253402300799), -1)
	f.Add("user@host/path?q#f", "RemoteIP", "ip", int64(1<<40), 1<<31-1)
	f.Fuzz(func(t *testing.T, s, field, kind string, unix int64, port int) {
		a := fullAlert()
		a.DeviceName, a.RemoteURL, a.MatchedField, a.MatchedValue = s, s, field, s
		a.Indicator.Kind, a.Indicator.Severity, a.Indicator.Tags = kind, s, []string{s}
		a.RemotePort = port
		a.Timestamp = time.Unix(unix, 0).UTC()
		want, jerr := json.Marshal(&a)
		got, err := sink.EncodeJSON(nil, &a, sink.FormatNative)
		if (jerr == nil) != (err == nil) {
			t.Fatalf("encoding/json err = %v, EncodeJSON err = %v", jerr, err)
		}
		if err == nil && !bytes.Equal(got, want) {
			t.Fatalf("native differs from encoding/json:\n got %s\nwant %s", got, want)
		}
		o, err := sink.EncodeJSON(nil, &a, sink.FormatOCSF)
		if err != nil {
			if jerr == nil {
				t.Fatalf("OCSF failed where native succeeded: %v", err)
			}
			return
		}
		if probs := checkOCSF(o); len(probs) > 0 {
			t.Fatalf("OCSF output breaks the schema: %v\n%s", probs, o)
		}
	})
}

func TestEncodeJSONAllocatesNothingWithRoom(t *testing.T) {
	a := fullAlert()
	buf := make([]byte, 0, 8192)
	for _, f := range []sink.Format{sink.FormatNative, sink.FormatOCSF} {
		n := testing.AllocsPerRun(100, func() {
			if _, err := sink.EncodeJSON(buf[:0], &a, f); err != nil {
				t.Fatal(err)
			}
		})
		if n != 0 {
			t.Errorf("EncodeJSON(%s) allocates %v times per call, want 0", f, n)
		}
	}
}

func BenchmarkEncodeJSON(b *testing.B) {
	alerts := sinktest.Alerts(256, 3)
	for _, f := range []sink.Format{sink.FormatNative, sink.FormatOCSF} {
		b.Run(string(f), func(b *testing.B) {
			b.ReportAllocs()
			buf := make([]byte, 0, 8192)
			var total int
			i := 0
			for b.Loop() {
				out, err := sink.EncodeJSON(buf[:0], &alerts[i%len(alerts)], f)
				if err != nil {
					b.Fatal(err)
				}
				total += len(out)
				i++
			}
			b.ReportMetric(float64(total)/float64(i), "bytes/alert")
		})
	}
	b.Run("encoding-json-marshal", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := json.Marshal(&alerts[i%len(alerts)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

var _ = errors.Is
