package reference

import (
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/stream"
)

// FuzzDecoders feeds arbitrary messages to both reference decoders: they
// must never panic, never give more events than records, and give events
// of the watched tables only. (They need not agree on malformed input:
// encoding/json matches keys case-insensitively, fastjson does not;
// TestDecodersAgreeOnEveryEvent in package bench compares them with
// iocwatch on generated streams.)
func FuzzDecoders(f *testing.F) {
	for _, seed := range []string{
		`{"records":[{"time":"2026-11-26T09:14:03.5304517Z","category":"AdvancedHunting-DeviceNetworkEvents","properties":{"Timestamp":"2026-11-26T09:13:59.12Z","RemoteIP":"203.0.113.7","RemotePort":443,"RemoteUrl":"evil.example","ReportId":7}}]}`,
		`{"category":"AdvancedHunting-DeviceEvents","properties":{"ActionType":"DnsQueryResponse","AdditionalFields":"{\"DnsQueryString\":\"x.example\"}"}}`,
		`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"ActionType":"HttpConnectionInspected","AdditionalFields":"{\"host\":\"h.example\",\"uri\":\"/a?b\"}"}}`,
		`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"ActionType":"SslConnectionInspected","AdditionalFields":{"server_name":"s.example"}}}`,
		`{"records":[]}`, `{}`, `[]`, `null`, `{"records":[{"category":1}]}`, `{"category":"AdvancedHunting-DeviceEvents","properties":{"RemotePort":99999,"RemoteIP":"-"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		var fj FastjsonDecoder
		var ej JSONDecoder
		a, na, errA := fj.Decode(msg, nil)
		b, nb, errB := ej.Decode(msg, nil)
		if (errA == nil && len(a) > na) || (errB == nil && len(b) > nb) {
			t.Errorf("fastjson: %d records, %d events; encoding/json: %d, %d", na, len(a), nb, len(b))
		}
		for _, e := range append(a, b...) {
			if e.Table == stream.TableOther {
				t.Errorf("an event of an unwatched table: %+v", e)
			}
		}
	})
}

// FuzzParseTime checks the fast timestamp parser against time.Parse: for
// every input both accept they give the same instant, and the fast path
// never panics.
func FuzzParseTime(f *testing.F) {
	for _, seed := range []string{"2026-11-26T09:13:59.1200000Z", "2026-11-26T09:13:59Z", "2026-11-26T09:13:59.123456789Z",
		"2026-02-30T09:13:59Z", "2026-11-26T09:13:59+01:00", "2026-11-26 09:13:59Z", "", "9999-99-99T99:99:99.9999999Z"} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTime([]byte(s))
		want, err := time.Parse(time.RFC3339Nano, s)
		if err == nil && (!ok || !got.Equal(want)) {
			t.Errorf("parseTime(%q) = %v, %v; time.Parse gives %v", s, got, ok, want)
		}
	})
}
