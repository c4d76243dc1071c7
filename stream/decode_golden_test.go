package stream

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/decode")

// renderedEvent is the test-only JSON form of an Event: every field, in a
// fixed order, empty ones left out.
type renderedEvent struct {
	Table              string `json:"Table"`
	Timestamp          string `json:"Timestamp,omitempty"`
	TenantID           string `json:"TenantId,omitempty"`
	DeviceID           string `json:"DeviceId,omitempty"`
	DeviceName         string `json:"DeviceName,omitempty"`
	ActionType         string `json:"ActionType,omitempty"`
	MachineGroup       string `json:"MachineGroup,omitempty"`
	ReportID           int64  `json:"ReportId,omitempty"`
	RemoteIP           string `json:"RemoteIP,omitempty"`
	RemotePort         uint16 `json:"RemotePort,omitempty"`
	RemoteURL          string `json:"RemoteUrl,omitempty"`
	LocalIP            string `json:"LocalIP,omitempty"`
	LocalPort          uint16 `json:"LocalPort,omitempty"`
	Protocol           string `json:"Protocol,omitempty"`
	ProcessFileName    string `json:"InitiatingProcessFileName,omitempty"`
	ProcessFolderPath  string `json:"InitiatingProcessFolderPath,omitempty"`
	ProcessCommandLine string `json:"InitiatingProcessCommandLine,omitempty"`
	ProcessSHA256      string `json:"InitiatingProcessSHA256,omitempty"`
	AccountName        string `json:"InitiatingProcessAccountName,omitempty"`
	AccountDomain      string `json:"InitiatingProcessAccountDomain,omitempty"`
	FileName           string `json:"FileName,omitempty"`
}

// renderEvent renders e as one line of JSON (invalid UTF-8 shows as
// U+FFFD there; the table tests check raw bytes).
func renderEvent(e *Event) string {
	r := renderedEvent{
		Table: e.Table.String(), TenantID: e.TenantID, DeviceID: e.DeviceID, DeviceName: e.DeviceName,
		ActionType: e.ActionType, MachineGroup: e.MachineGroup, ReportID: e.ReportID,
		RemotePort: e.RemotePort, RemoteURL: e.RemoteURL, LocalPort: e.LocalPort, Protocol: e.Protocol,
		ProcessFileName: e.ProcessFileName, ProcessFolderPath: e.ProcessFolderPath,
		ProcessCommandLine: e.ProcessCommandLine, ProcessSHA256: e.ProcessSHA256,
		AccountName: e.AccountName, AccountDomain: e.AccountDomain, FileName: e.FileName,
	}
	if !e.Timestamp.IsZero() {
		r.Timestamp = e.Timestamp.Format(time.RFC3339Nano)
	}
	if e.RemoteIP.IsValid() {
		r.RemoteIP = e.RemoteIP.String()
	}
	if e.LocalIP.IsValid() {
		r.LocalIP = e.LocalIP.String()
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(r); err != nil {
		panic(err) // a struct of strings and numbers always encodes
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func renderEvents(evs []Event) []string {
	out := make([]string, len(evs))
	for i := range evs {
		out[i] = renderEvent(&evs[i])
	}
	return out
}

// TestDecodeGolden decodes every testdata/decode/<case>/input.json as one
// message (input.jsonl: one message per line, LF or CRLF) and compares the
// events with expected.jsonl and the errors with expected.err (absent when
// there are none). go test -run TestDecodeGolden -update rewrites them.
func TestDecodeGolden(t *testing.T) {
	dirs, err := filepath.Glob(filepath.Join("testdata", "decode", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no golden cases in testdata/decode (%v)", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			var msgs [][]byte
			if in, err := os.ReadFile(filepath.Join(dir, "input.json")); err == nil {
				msgs = append(msgs, in)
			} else if in, err := os.ReadFile(filepath.Join(dir, "input.jsonl")); err == nil {
				for line := range bytes.SplitSeq(in, []byte("\n")) {
					msgs = append(msgs, line) // Decode tolerates the \r of CRLF
				}
			} else {
				t.Fatal("want input.json or input.jsonl")
			}
			var d Decoder
			var got, gotErr strings.Builder
			for i, m := range msgs {
				evs, errs := d.Decode(m, nil)
				for _, line := range renderEvents(evs) {
					got.WriteString(line + "\n")
				}
				for _, e := range errs {
					if len(msgs) > 1 {
						gotErr.WriteString("line " + strconv.Itoa(i+1) + ": ")
					}
					gotErr.WriteString(e.Error() + "\n")
				}
			}
			compareGolden(t, filepath.Join(dir, "expected.jsonl"), got.String())
			compareGolden(t, filepath.Join(dir, "expected.err"), gotErr.String())
		})
	}
}

// compareGolden compares got with the file at path; an absent file means
// empty. With -update it writes the file (or removes it when got is empty).
func compareGolden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if got == "" {
			if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
				t.Fatal(err)
			}
			return
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	if string(want) != got {
		t.Errorf("%s differs (run with -update if the change is intended)\n--- got\n%s--- want\n%s", path, got, want)
	}
}
