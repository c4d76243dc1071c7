package stream

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// decodeDeferred decodes msg with a decoder that defers columns and
// completes every event.
func decodeDeferred(msg []byte) ([]Event, []RecordError) {
	var d Decoder
	d.deferColumns = true
	evs, errs := d.Decode(msg, nil)
	for i := range evs {
		d.complete(&evs[i])
	}
	return evs, errs
}

func TestDeferredColumnsAgreeWithDecodeOnceCompleted(t *testing.T) {
	const netRec = `{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{`
	msgs := map[string]string{
		"folder path and command line with escapes": netRec + `"RemoteIP":"203.0.113.7","LocalIP":"10.1.2.3","LocalPort":51544,"ReportId":18984951960,` +
			`"InitiatingProcessFolderPath":"c:\\windows\\system32\\svchost.exe","InitiatingProcessCommandLine":"\"svchost.exe\" -k \u0041\ud83d\ude00"}}`,
		"no escapes":           netRec + `"RemoteIP":"203.0.113.7","LocalIP":"10.1.2.3","LocalPort":"51544","ReportId":"7","InitiatingProcessFolderPath":"c:/x.exe","InitiatingProcessCommandLine":"x.exe"}}`,
		"escaped typed values": netRec + `"RemoteIP":"203.0.113.7","LocalIP":"10.1.2.\u0033","LocalPort":"5154\u0034","ReportId":"1\u0032"}}`,
		"a body string holding the record": `{"body":"{\"category\":\"AdvancedHunting-DeviceNetworkEvents\",\"properties\":{\"RemoteIP\":\"203.0.113.7\",\"LocalIP\":\"10.1.2.3\",\"ReportId\":5,` +
			`\"InitiatingProcessFolderPath\":\"c:\\\\windows\\\\x.exe\"}}"}`,
		"properties as a JSON string": `{"category":"AdvancedHunting-DeviceNetworkEvents","DeviceName":"pc-with-a-long-name-before-the-columns",` +
			`"properties":"{\"RemoteIP\":\"203.0.113.7\",\"LocalIP\":\"10.1.2.3\",\"LocalPort\":51544,\"ReportId\":18984951960,` +
			`\"InitiatingProcessFolderPath\":\"c:\\\\windows\\\\x.exe\",\"InitiatingProcessCommandLine\":\"x.exe -k \\\\a\"}"}`,
		"absent and null":        netRec + `"RemoteIP":"203.0.113.7","LocalIP":null,"InitiatingProcessCommandLine":""}}`,
		"unparsable typed value": netRec + `"RemoteIP":"203.0.113.7","LocalIP":"-","LocalPort":"http","ReportId":"x"}}`,
		// Errors, which must come as Decode reports them, in its order.
		"bad escape in the folder path":                     netRec + `"RemoteIP":"203.0.113.7","InitiatingProcessFolderPath":"c:\windows"}}`,
		"truncated \\u in the command line":                 netRec + `"RemoteIP":"203.0.113.7","InitiatingProcessCommandLine":"a\u12"}}`,
		"bad \\u after a high surrogate":                    netRec + `"RemoteIP":"203.0.113.7","InitiatingProcessCommandLine":"\ud83d\uzzzz"}}`,
		"bad escapes in RemoteIP and LocalIP":               netRec + `"LocalIP":"1\q","RemoteIP":"2\q"}}`,
		"bad escapes in ReportId and the command line":      netRec + `"InitiatingProcessCommandLine":"\q","ReportId":"\q"}}`,
		"bad escape in the folder path, then a good record": `{"records":[` + netRec + `"InitiatingProcessFolderPath":"\x"}},` + netRec + `"RemoteIP":"192.0.2.1","InitiatingProcessFolderPath":"c:\\a"}}]}`,
	}
	golden, _ := filepath.Glob(filepath.Join("testdata", "decode", "*", "input.json*"))
	for _, p := range golden {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		msgs[p] = string(b)
	}
	for i, m := range genCorpus(3, 64, 8).msgs {
		msgs["generated message "+string(rune('A'+i%26))+strings.Repeat("'", i/26)] = string(m)
	}
	for name, msg := range msgs {
		t.Run(name, func(t *testing.T) {
			var d Decoder
			want, wantErrs := d.Decode([]byte(msg), nil)
			got, gotErrs := decodeDeferred([]byte(msg))
			if !slices.Equal(got, want) {
				t.Fatalf("events differ:\n got %q\nwant %q", renderEvents(got), renderEvents(want))
			}
			if g, w := errorStrings(gotErrs), errorStrings(wantErrs); !slices.Equal(g, w) {
				t.Fatalf("errors differ:\n got %q\nwant %q", g, w)
			}
		})
	}
}

func TestDeferredColumnsWaitForComplete(t *testing.T) {
	msg := `{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"203.0.113.7","LocalIP":"10.1.2.3","LocalPort":51544,"ReportId":42,` +
		`"InitiatingProcessFileName":"svchost.exe","InitiatingProcessFolderPath":"c:\\windows\\svchost.exe","InitiatingProcessCommandLine":"svchost.exe -k netsvcs"}}`
	var d Decoder
	d.deferColumns = true
	evs, errs := d.Decode([]byte(msg), nil)
	if len(evs) != 1 || len(errs) != 0 {
		t.Fatalf("%d events, errors %v", len(evs), errs)
	}
	e := &evs[0]
	// Matching's columns are there; the deferred ones are not yet.
	if e.RemoteIP.String() != "203.0.113.7" || e.ProcessFileName != "svchost.exe" || e.ProcessCommandLine != "svchost.exe -k netsvcs" {
		t.Fatalf("eager columns: %s", renderEvent(e))
	}
	if e.LocalIP.IsValid() || e.LocalPort != 0 || e.ReportID != 0 || e.ProcessFolderPath != "" {
		t.Fatalf("deferred columns filled before complete: %s", renderEvent(e))
	}
	d.complete(e)
	d.complete(e) // a second call changes nothing
	if e.LocalIP.String() != "10.1.2.3" || e.LocalPort != 51544 || e.ReportID != 42 || e.ProcessFolderPath != `c:\windows\svchost.exe` {
		t.Fatalf("after complete: %s", renderEvent(e))
	}
}

func TestDeferredDecodingDoesNotAllocate(t *testing.T) {
	c := genCorpus(5, 32, 8)
	var d Decoder
	d.deferColumns = true
	var evs []Event
	run := func() {
		for _, m := range c.msgs {
			evs, _ = d.Decode(m, evs[:0])
			for i := range evs {
				d.complete(&evs[i])
			}
		}
		d.Reset()
	}
	run() // the arena, predictors and slices reach their size
	if n := testing.AllocsPerRun(20, run); n != 0 {
		t.Fatalf("%.1f allocations per pass over %d messages", n, len(c.msgs))
	}
}

// The pipeline decodes a whole batch, one message after the other into one
// slice of events, before it matches and completes any of them.
func TestEventsOfEarlierMessagesCompleteUntilReset(t *testing.T) {
	c := genCorpus(7, 6, 8)
	var d Decoder
	d.deferColumns = true
	var got []Event
	for _, m := range c.msgs {
		var errs []RecordError
		if got, errs = d.Decode(m, got); len(errs) != 0 {
			t.Fatal(errs)
		}
	}
	for i := range got {
		d.complete(&got[i])
	}
	var eager Decoder
	var want []Event
	for _, m := range c.msgs {
		want, _ = eager.Decode(m, want)
	}
	if !slices.Equal(got, want) {
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("event %d of %d:\n got %s\nwant %s", i, len(got), renderEvent(&got[i]), renderEvent(&want[i]))
			}
		}
		t.Fatalf("%d events, want %d", len(got), len(want))
	}
}
