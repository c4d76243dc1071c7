package stream

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzDecode checks, for any input: Decode does not panic; every event has
// a watched table; the statistics add up; decoding the same input again
// (with the key predictors now trained) gives the same events and errors;
// a decoder that defers columns (decode_defer.go) gives the same events
// once they are completed, and the same errors; and, when encoding/json
// accepts the input, the events and the number of
// errors agree with refDecode, a slow model over encoding/json.
func FuzzDecode(f *testing.F) {
	seeds := []string{
		// An Event Hubs body with one network record and one of another table.
		`{"records":[{"time":"2026-11-26T09:14:03.5304517Z","tenantId":"t","category":"AdvancedHunting-DeviceNetworkEvents","properties":{"Timestamp":"2026-11-26T09:13:58.12Z","DeviceName":"ws-1","ActionType":"ConnectionSuccess","RemoteIP":"203.0.113.77","RemotePort":443,"RemoteUrl":"update.bad-cdn.example","ReportId":18984951960}},{"category":"AdvancedHunting-DeviceProcessEvents","properties":{}}]}`,
		// A bare record with the columns at the top level, CRLF-terminated.
		"{\"Table\":\"DeviceEvents\",\"ActionType\":\"DnsQueryResponse\",\"DnsQueryString\":\"x.example\"}\r\n",
		// A bare record with no table information but a RemoteIP key.
		`{"RemoteIP":"::ffff:198.51.100.7","ReportId":"18984951960"}`,
		// A {"body":…} wrapper whose body is a JSON string holding JSON.
		`{"body":"{\"records\":[{\"category\":\"AdvancedHunting-DeviceEvents\",\"properties\":{\"RemoteUrl\":\"HTTPS://X.EXAMPLE:8443/a?b=c\"}}]}"}`,
		// A wrapper whose body is an object.
		`{"body":{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"2a02:cf40::"}}}`,
		// Inspected events: host and uri in an AdditionalFields string; server_name in an object.
		`{"records":[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"ActionType":"HttpConnectionInspected","RemoteUrl":null,"AdditionalFields":"{\"host\":\"evil.example\",\"uri\":\"/x?y\"}"}},{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"ActionType":"SslConnectionInspected","AdditionalFields":{"server_name":"tls.example"}}}]}`,
		// A truncated AdditionalFields string.
		`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"ActionType":"DnsConnectionInspected","AdditionalFields":"{\"query\":\"trunc.exa"}}`,
		// Escapes: a folder path, \u escapes, a surrogate pair and a lone surrogate.
		`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"DeviceName":"caf\u00e9-\ud83d\ude00-\ud800x","InitiatingProcessFolderPath":"c:\\windows\\system32\\svchost.exe","RemoteIP":"-"}}`,
		// Invalid UTF-8 and a NUL byte kept as bytes.
		"{\"category\":\"AdvancedHunting-DeviceNetworkEvents\",\"properties\":{\"DeviceName\":\"a\xff\xfeb\x00c\",\"RemoteUrl\":\"\u0000\"}}",
		// Duplicate keys (the last wins), numbers where strings belong, null ports.
		`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"DeviceName":"a","DeviceName":"b","ActionType":12,"RemotePort":null,"LocalPort":"51544"},"properties":{"RemoteIP":"198.51.100.1"}}`,
		// Unknown keys holding nested objects and arrays, and deep nesting.
		`{"category":"AdvancedHunting-DeviceNetworkEvents","x":{"a":[1,{"b":[[[[]]]]}]},"properties":{"y":[{"z":"\"}"}],"RemoteIP":"192.0.2.1"}}`,
		`{"records":[` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `]}`,
		// "properties" as a string holding the object, an empty string, and a number.
		`{"records":[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":"{\"RemoteIP\":\"192.0.2.4\"}"},{"properties":""},{"properties":5}]}`,
		// Broken: not JSON, a broken record in the middle, an unterminated string.
		`not json`,
		`{"records":[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"192.0.2.9"}},7,{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"192.0.2.10"}}]}`,
		`{"records":[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"192.0.2.9`,
		// A JSON array of records, and JSON Lines given as one message.
		`[{"RemoteUrl":"a.example"},{"RemoteUrl":"b.example"}]`,
		"{\"RemoteUrl\":\"a.example\"}\n{\"RemoteUrl\":\"b.example\"}\n",
		// Timestamps: 0 and 7 fractional digits, an offset, the portal form, and "time" fallback.
		`[{"Table":"DeviceEvents","Timestamp":"2026-11-26T09:13:58Z"},{"Table":"DeviceEvents","Timestamp":"2026-11-26T10:13:58.1234567+01:00"},{"Table":"DeviceEvents","Timestamp":"11/26/2026, 9:13:58.120 AM"},{"Table":"DeviceEvents","time":"2024-02-29T23:59:59.9Z"}]`,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	// The golden inputs and a few generated messages.
	golden, _ := filepath.Glob(filepath.Join("testdata", "decode", "*", "input.json*"))
	for _, p := range golden {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	for _, m := range genCorpus(7, 3, 2).msgs {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var d Decoder
		evs, errs := d.Decode(msg, nil)
		got := renderEvents(evs)
		gotErrs := errorStrings(errs)
		for i := range evs {
			if evs[i].Table == TableOther {
				t.Fatalf("event %d has table Other: %s", i, got[i])
			}
		}
		st := d.Stats()
		recErrs := 0
		for _, e := range errs {
			if e.Record >= 0 {
				recErrs++
			}
		}
		if st.Records != st.ByTable[0]+st.ByTable[1]+st.ByTable[2]+int64(recErrs) ||
			st.Watched != int64(len(evs)) || st.Skipped != st.ByTable[0] || st.Errors != int64(len(errs)) {
			t.Fatalf("stats do not add up: %+v with %d events, %d errors", st, len(evs), len(errs))
		}
		refs := make([]refEvent, len(evs))
		for i := range evs {
			refs[i] = refOf(&evs[i])
		}

		d.Reset()
		evs2, errs2 := d.Decode(msg, nil)
		if got2 := renderEvents(evs2); !slices.Equal(got, got2) {
			t.Fatalf("second decode differs:\n%q\n%q", got, got2)
		}
		if e2 := errorStrings(errs2); !slices.Equal(gotErrs, e2) {
			t.Fatalf("second decode errors differ:\n%q\n%q", gotErrs, e2)
		}

		if evs3, errs3 := decodeDeferred(msg); !slices.Equal(evs, evs3) {
			t.Fatalf("deferred columns, completed, differ:\n%q\n%q", got, renderEvents(evs3))
		} else if e3 := errorStrings(errs3); !slices.Equal(gotErrs, e3) {
			t.Fatalf("deferred columns: errors differ:\n%q\n%q", gotErrs, e3)
		}

		want, wantErrs, ok := refDecode(msg)
		if !ok {
			return
		}
		if len(errs) != wantErrs {
			t.Fatalf("got %d errors %q, the reference %d", len(errs), gotErrs, wantErrs)
		}
		if len(refs) != len(want) {
			t.Fatalf("got %d events, the reference %d:\n%q\n%+v", len(refs), len(want), got, want)
		}
		for i := range want {
			if g, w := refs[i], want[i]; g.Table != w.Table || g.RemoteIP != w.RemoteIP || g.RemoteURL != w.RemoteURL ||
				g.ReportID != w.ReportID || g.DeviceName != w.DeviceName || g.ActionType != w.ActionType || !g.Timestamp.Equal(w.Timestamp) {
				t.Fatalf("event %d differs from the reference:\n got %+v\nwant %+v", i, g, w)
			}
		}
	})
}

func errorStrings(errs []RecordError) []string {
	out := make([]string, len(errs))
	for i, e := range errs {
		out[i] = e.Error()
	}
	return out
}
