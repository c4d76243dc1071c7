package stream

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// netRec wraps properties in an Event Hubs body with one DeviceNetworkEvents record.
func netRec(props string) string {
	return `{"records":[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{` + props + `}}]}`
}

// devRec wraps properties in an Event Hubs body with one DeviceEvents record.
func devRec(props string) string {
	return `{"records":[{"category":"AdvancedHunting-DeviceEvents","properties":{` + props + `}}]}`
}

const dne = `{"Table":"DeviceNetworkEvents"`

// TestDecodeQuirks pins every quirk of docs/decoding.md (and
// DEFENDER_EVENTS.md) to a case: want holds the rendered events, errs a
// substring of each error in order.
func TestDecodeQuirks(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []string
		errs []string
	}{
		// Absent values.
		{"null, an empty string and a missing key all leave a column absent",
			netRec(`"DeviceName":null,"ActionType":"","RemoteIP":null,"RemotePort":null,"ReportId":null`),
			[]string{dne + `}`}, nil},

		// RemoteIP.
		{"an IPv4 RemoteIP is parsed", netRec(`"RemoteIP":"203.0.113.77"`),
			[]string{dne + `,"RemoteIP":"203.0.113.77"}`}, nil},
		{"a compressed IPv6 RemoteIP is parsed", netRec(`"RemoteIP":"2a02:cf40::"`),
			[]string{dne + `,"RemoteIP":"2a02:cf40::"}`}, nil},
		{"an IPv4-mapped IPv6 RemoteIP is unmapped to IPv4", netRec(`"RemoteIP":"::ffff:198.51.100.7","RemoteIPType":"FourToSixMapping"`),
			[]string{dne + `,"RemoteIP":"198.51.100.7"}`}, nil},
		{"a RemoteIP of - is absent, not an error", netRec(`"RemoteIP":"-"`),
			[]string{dne + `}`}, nil},
		{"garbage RemoteIPs are absent, not errors",
			`[{"RemoteIP":"1.2.3"},{"RemoteIP":"999.1.1.1"},{"RemoteIP":"01.2.3.4"},{"RemoteIP":"1.2.3.4.5"},{"RemoteIP":"x::y"},{"RemoteIP":12345}]`,
			slices.Repeat([]string{dne + `}`}, 6), nil},
		{"an IPv6 RemoteIP with a zone loses the zone", netRec(`"RemoteIP":"fe80::1%eth0"`),
			[]string{dne + `,"RemoteIP":"fe80::1"}`}, nil},
		{"LocalIP follows the same rules as RemoteIP", netRec(`"LocalIP":"::ffff:10.0.0.1"`),
			[]string{dne + `,"LocalIP":"10.0.0.1"}`}, nil},

		// RemoteUrl.
		{"a bare-host RemoteUrl is kept as sent", netRec(`"RemoteUrl":"www.example.org"`),
			[]string{dne + `,"RemoteUrl":"www.example.org"}`}, nil},
		{"a full URL with scheme, port, path and query is kept as sent, in its case",
			netRec(`"RemoteUrl":"HTTPS://Update.Bad-CDN.example:8443/a/b?x=1&y=%20"`),
			[]string{dne + `,"RemoteUrl":"HTTPS://Update.Bad-CDN.example:8443/a/b?x=1&y=%20"}`}, nil},

		// Inspected events.
		{"HttpConnectionInspected takes host and uri from an AdditionalFields string",
			netRec(`"ActionType":"HttpConnectionInspected","RemoteUrl":null,"AdditionalFields":"{\"direction\":\"Out\",\"host\":\"evil.example\",\"method\":\"GET\",\"uri\":\"/x/y.bin?id=7\"}"`),
			[]string{dne + `,"ActionType":"HttpConnectionInspected","RemoteUrl":"http://evil.example/x/y.bin?id=7"}`}, nil},
		{"HttpConnectionInspected with host only gives the host",
			netRec(`"ActionType":"HttpConnectionInspected","AdditionalFields":"{\"host\":\"evil.example\"}"`),
			[]string{dne + `,"ActionType":"HttpConnectionInspected","RemoteUrl":"evil.example"}`}, nil},
		{"HttpConnectionInspected with an absolute uri gives the uri",
			netRec(`"ActionType":"HttpConnectionInspected","AdditionalFields":"{\"host\":\"proxy.example\",\"uri\":\"HTTP://evil.example/a\"}"`),
			[]string{dne + `,"ActionType":"HttpConnectionInspected","RemoteUrl":"HTTP://evil.example/a"}`}, nil},
		{"SslConnectionInspected takes server_name from AdditionalFields",
			netRec(`"ActionType":"SslConnectionInspected","AdditionalFields":"{\"version\":\"TLS 1.2\",\"server_name\":\"tls.evil.example\",\"established\":true}"`),
			[]string{dne + `,"ActionType":"SslConnectionInspected","RemoteUrl":"tls.evil.example"}`}, nil},
		{"DnsConnectionInspected takes query from AdditionalFields",
			netRec(`"ActionType":"DnsConnectionInspected","AdditionalFields":"{\"query\":\"dns.evil.example\",\"qtype\":1}"`),
			[]string{dne + `,"ActionType":"DnsConnectionInspected","RemoteUrl":"dns.evil.example"}`}, nil},
		{"AdditionalFields as an object works like the string form",
			netRec(`"ActionType":"SslConnectionInspected","AdditionalFields":{"server_name":"obj.evil.example","n":[1,{"x":null}]}`),
			[]string{dne + `,"ActionType":"SslConnectionInspected","RemoteUrl":"obj.evil.example"}`}, nil},
		{"a truncated AdditionalFields string gives no host and no error",
			netRec(`"ActionType":"DnsConnectionInspected","AdditionalFields":"{\"query\":\"dns.evil.example\",\"qty"`),
			[]string{dne + `,"ActionType":"DnsConnectionInspected"}`}, nil},
		{"invalid JSON in AdditionalFields gives no host and no error",
			netRec(`"ActionType":"DnsConnectionInspected","AdditionalFields":"{\"query\":\"dns.evil.example\",\"n\":01}"`),
			[]string{dne + `,"ActionType":"DnsConnectionInspected"}`}, nil},
		{"AdditionalFields that is not an object gives no host",
			`[{"RemoteIP":"-","ActionType":"DnsConnectionInspected","AdditionalFields":"[\"query\"]"},{"RemoteIP":"-","ActionType":"DnsConnectionInspected","AdditionalFields":7}]`,
			slices.Repeat([]string{dne + `,"ActionType":"DnsConnectionInspected"}`}, 2), nil},
		{"numbers-as-strings and nested values inside AdditionalFields are tolerated",
			netRec(`"ActionType":"DnsConnectionInspected","AdditionalFields":"{\"rcode\":\"0\",\"answers\":[{\"a\":\"1.2.3.4\"}],\"query\":\"ok.example\"}"`),
			[]string{dne + `,"ActionType":"DnsConnectionInspected","RemoteUrl":"ok.example"}`}, nil},
		{"an escaped host in an AdditionalFields string is unescaped",
			netRec(`"ActionType":"SslConnectionInspected","AdditionalFields":"{\"server_name\":\"ev\\u0069l.example\"}"`),
			[]string{dne + `,"ActionType":"SslConnectionInspected","RemoteUrl":"evil.example"}`}, nil},
		{"AdditionalFields is not read when RemoteUrl is present",
			netRec(`"ActionType":"HttpConnectionInspected","RemoteUrl":"a.example","AdditionalFields":"{\"host\":\"b.example\"}"`),
			[]string{dne + `,"ActionType":"HttpConnectionInspected","RemoteUrl":"a.example"}`}, nil},
		{"AdditionalFields of other action types is not read",
			netRec(`"ActionType":"ConnectionSuccess","AdditionalFields":"{\"host\":\"b.example\"}"`),
			[]string{dne + `,"ActionType":"ConnectionSuccess"}`}, nil},
		{"DnsQueryResponse takes the DnsQueryString column",
			devRec(`"ActionType":"DnsQueryResponse","DnsQueryString":"q.evil.example","AdditionalFields":"{\"DnsQueryString\":\"other.example\"}"`),
			[]string{`{"Table":"DeviceEvents","ActionType":"DnsQueryResponse","RemoteUrl":"q.evil.example"}`}, nil},
		{"DnsQueryResponse falls back to DnsQueryString in AdditionalFields",
			devRec(`"ActionType":"DnsQueryResponse","AdditionalFields":"{\"DnsQueryString\":\"af.evil.example\",\"DnsQueryResult\":[{\"IpAddress\":\"1.2.3.4\"}]}"`),
			[]string{`{"Table":"DeviceEvents","ActionType":"DnsQueryResponse","RemoteUrl":"af.evil.example"}`}, nil},
		{"BrowserLaunchedToOpenUrl carries RemoteUrl itself",
			devRec(`"ActionType":"BrowserLaunchedToOpenUrl","RemoteUrl":"https://phish.example/login"`),
			[]string{`{"Table":"DeviceEvents","ActionType":"BrowserLaunchedToOpenUrl","RemoteUrl":"https://phish.example/login"}`}, nil},

		// ReportId and ports.
		{"a ReportId beyond 32 bits is an int64", netRec(`"ReportId":18984951960`),
			[]string{dne + `,"ReportId":18984951960}`}, nil},
		{"a ReportId sent as a string is parsed", netRec(`"ReportId":"18984951960"`),
			[]string{dne + `,"ReportId":18984951960}`}, nil},
		{"a ReportId that is not an integer is absent", `[{"RemoteIP":"-","ReportId":1.8e10},{"RemoteIP":"-","ReportId":"x"},{"RemoteIP":"-","ReportId":99999999999999999999}]`,
			slices.Repeat([]string{dne + `}`}, 3), nil},
		{"null ports (ICMP) are absent", netRec(`"RemotePort":null,"LocalPort":null,"Protocol":"Icmp"`),
			[]string{dne + `,"Protocol":"Icmp"}`}, nil},
		{"ports sent as strings are parsed", netRec(`"RemotePort":"443","LocalPort":"51544"`),
			[]string{dne + `,"RemotePort":443,"LocalPort":51544}`}, nil},
		{"ports out of range or not integers are absent, not errors", netRec(`"RemotePort":70000,"LocalPort":-1`),
			[]string{dne + `}`}, nil},

		// Timestamps.
		{"a Timestamp with 7 fractional digits is parsed", netRec(`"Timestamp":"2026-11-26T09:13:58.1200007Z"`),
			[]string{dne + `,"Timestamp":"2026-11-26T09:13:58.1200007Z"}`}, nil},
		{"a Timestamp without fractional digits is parsed", netRec(`"Timestamp":"2026-11-26T09:13:58Z"`),
			[]string{dne + `,"Timestamp":"2026-11-26T09:13:58Z"}`}, nil},
		{"a missing Timestamp falls back to the record time",
			`{"records":[{"time":"2026-11-26T09:14:03.5304517Z","category":"AdvancedHunting-DeviceNetworkEvents","properties":{}}]}`,
			[]string{dne + `,"Timestamp":"2026-11-26T09:14:03.5304517Z"}`}, nil},
		{"an unparsable Timestamp falls back to the record time",
			`{"records":[{"time":"2026-11-26T09:14:03Z","category":"AdvancedHunting-DeviceNetworkEvents","properties":{"Timestamp":"yesterday"}}]}`,
			[]string{dne + `,"Timestamp":"2026-11-26T09:14:03Z"}`}, nil},
		{"a Timestamp with an offset is converted to UTC", netRec(`"Timestamp":"2026-11-26T10:13:58.5+01:00"`),
			[]string{dne + `,"Timestamp":"2026-11-26T09:13:58.5Z"}`}, nil},
		{"a Timestamp in the portal's display form is read as UTC", netRec(`"Timestamp":"11/26/2026, 9:13:58.120 PM"`),
			[]string{dne + `,"Timestamp":"2026-11-26T21:13:58.12Z"}`}, nil},

		// Keys.
		{"unknown keys are ignored, including nested objects and arrays",
			`{"records":[{"new":{"a":[1,2,{"b":"}"}]},"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"X":[[],{}],"RemoteIP":"192.0.2.1","Y":{"RemoteIP":"192.0.2.2"},"Z":true}}]}`,
			[]string{dne + `,"RemoteIP":"192.0.2.1"}`}, nil},
		{"of duplicate keys the last wins", netRec(`"DeviceName":"first","DeviceName":"second"`),
			[]string{dne + `,"DeviceName":"second"}`}, nil},
		{"a later null duplicate leaves the column absent", netRec(`"DeviceName":"first","DeviceName":null`),
			[]string{dne + `}`}, nil},
		{"a repeated properties object replaces the earlier one",
			`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"DeviceName":"a","RemoteIP":"192.0.2.1"},"properties":{"DeviceName":"b"}}`,
			[]string{dne + `,"DeviceName":"b"}`}, nil},
		{"a repeated properties replaces a broken earlier one",
			`[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":5,"properties":{"RemoteIP":"192.0.2.1"}},` +
				`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":"{\"RemoteIP\":","properties":null,"RemoteIP":"192.0.2.2"}]`,
			[]string{dne + `,"RemoteIP":"192.0.2.1"}`, dne + `,"RemoteIP":"192.0.2.2"}`}, nil},
		{"properties win over the same column at the top level",
			`{"category":"AdvancedHunting-DeviceNetworkEvents","DeviceName":"top","properties":{"DeviceName":"props"}}`,
			[]string{dne + `,"DeviceName":"props"}`}, nil},
		{"top-level columns are used where properties lack them or hold null",
			`{"category":"AdvancedHunting-DeviceNetworkEvents","DeviceName":"top","MachineGroup":"g","properties":{"MachineGroup":null}}`,
			[]string{dne + `,"DeviceName":"top","MachineGroup":"g"}`}, nil},
		{"escaped key names are matched", netRec(`"Remote\u0049P":"192.0.2.3"`),
			[]string{dne + `,"RemoteIP":"192.0.2.3"}`}, nil},
		{"the tenant comes from the envelope tenantId, else a TenantId column",
			`[{"tenantId":"env","TenantId":"col","RemoteIP":"-"},{"TenantId":"col","RemoteIP":"-"}]`,
			[]string{dne + `,"TenantId":"env"}`, dne + `,"TenantId":"col"}`}, nil},

		// Text.
		{"non-ASCII text and mojibake are kept as sent", netRec(`"DeviceName":"pc-jürgen-Ã¼-東京"`),
			[]string{dne + `,"DeviceName":"pc-jürgen-Ã¼-東京"}`}, nil},
		{"folder paths have their backslashes unescaped",
			netRec(`"InitiatingProcessFolderPath":"c:\\windows\\system32\\svchost.exe","InitiatingProcessCommandLine":"\"a b.exe\" -x"`),
			[]string{dne + `,"InitiatingProcessFolderPath":"c:\\windows\\system32\\svchost.exe","InitiatingProcessCommandLine":"\"a b.exe\" -x"}`}, nil},
		{"\\u escapes and surrogate pairs are decoded", netRec(`"DeviceName":"caf\u00e9 \ud83d\ude00 \/ \t"`),
			[]string{dne + `,"DeviceName":"café 😀 / \t"}`}, nil},
		{"a lone surrogate becomes U+FFFD, as in encoding/json", netRec(`"DeviceName":"a\ud800b\udc00"`),
			[]string{dne + `,"DeviceName":"a` + "\uFFFD" + `b` + "\uFFFD" + `"}`}, nil},
		{"numbers where strings belong are kept as their text", netRec(`"DeviceName":42,"ActionType":-1.5e3`),
			[]string{dne + `,"DeviceName":"42","ActionType":"-1.5e3"}`}, nil},
		{"booleans, objects and arrays where strings belong are absent", netRec(`"DeviceName":true,"ActionType":{"a":1},"Protocol":["Tcp"]`),
			[]string{dne + `}`}, nil},
		{"an invalid escape in a used column is a record error", netRec(`"DeviceName":"a\qb"`),
			nil, []string{"record 0: DeviceName: invalid escape"}},

		// Routing.
		{"DeviceEvents records decode with their FileName",
			devRec(`"ActionType":"SmartScreenUrlWarning","FileName":"a.exe","RemoteUrl":"x.example"`),
			[]string{`{"Table":"DeviceEvents","ActionType":"SmartScreenUrlWarning","RemoteUrl":"x.example","FileName":"a.exe"}`}, nil},
		{"other categories are counted and skipped",
			`{"records":[{"category":"AdvancedHunting-DeviceProcessEvents","properties":{"RemoteIP":"192.0.2.1"}}]}`, nil, nil},
		{"a bare record routes by Table, $table, source_ or Type",
			`[{"Table":"DeviceEvents"},{"$table":"DeviceEvents"},{"source_":"DeviceNetworkEvents"},{"Type":"DeviceEvents"},{"Table":"DeviceFileEvents","RemoteIP":"-"}]`,
			[]string{`{"Table":"DeviceEvents"}`, `{"Table":"DeviceEvents"}`, dne + `}`, `{"Table":"DeviceEvents"}`}, nil},
		{"category wins over Table", `{"category":"AdvancedHunting-DeviceEvents","Table":"DeviceNetworkEvents"}`,
			[]string{`{"Table":"DeviceEvents"}`}, nil},
		{"a bare record without table information is DeviceNetworkEvents when it has a RemoteIP or RemoteUrl key",
			`[{"RemoteUrl":null},{"properties":{"RemoteIP":"192.0.2.4"}},{"DeviceName":"no-remote-columns"}]`,
			[]string{dne + `}`, dne + `,"RemoteIP":"192.0.2.4"}`}, nil},

		// Message forms.
		{"the Advanced Hunting API's response holds its rows under Results",
			`{"Stats":{"ExecutionTime":0.1},"Schema":[{"Name":"RemoteIP","Type":"String"},{"Name":"source_","Type":"String"}],"Results":[{"RemoteIP":"192.0.2.6","source_":"DeviceNetworkEvents"},{"Table":"DeviceEvents","RemoteUrl":"x.example"}]}`,
			[]string{dne + `,"RemoteIP":"192.0.2.6"}`, `{"Table":"DeviceEvents","RemoteUrl":"x.example"}`}, nil},
		{"a body wrapper may hold an object",
			`{"body":{"records":[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"192.0.2.5"}}]}}`,
			[]string{dne + `,"RemoteIP":"192.0.2.5"}`}, nil},
		{"a body wrapper may hold a JSON string holding JSON",
			`{"body":"{\"category\":\"AdvancedHunting-DeviceNetworkEvents\",\"properties\":{\"InitiatingProcessFolderPath\":\"c:\\\\a\\\\b.exe\"}}"}`,
			[]string{dne + `,"InitiatingProcessFolderPath":"c:\\a\\b.exe"}`}, nil},
		{"a body string that is not JSON is a message error", `{"body":"plain text"}`,
			nil, []string{`message: "body" JSON text: offset 0: unexpected 'p'`}},
		{"more than 8 nested body wrappers is an error", strings.Repeat(`{"body":`, 9) + `{"RemoteIP":"-"}` + strings.Repeat(`}`, 9),
			nil, []string{"message: more than 8 nested"}},
		{"8 nested body wrappers are fine", strings.Repeat(`{"body":`, 8) + `{"RemoteIP":"-"}` + strings.Repeat(`}`, 8),
			[]string{dne + `}`}, nil},
		{"a JSON array of records is accepted", `[{"RemoteIP":"192.0.2.6"},{"RemoteIP":"192.0.2.7"}]`,
			[]string{dne + `,"RemoteIP":"192.0.2.6"}`, dne + `,"RemoteIP":"192.0.2.7"}`}, nil},
		{"JSON Lines in one message decode one after the other", "{\"RemoteIP\":\"192.0.2.6\"}\r\n{\"RemoteIP\":\"192.0.2.7\"}\r\n",
			[]string{dne + `,"RemoteIP":"192.0.2.6"}`, dne + `,"RemoteIP":"192.0.2.7"}`}, nil},
		{"surrounding whitespace and a trailing CR are ignored", " \t{\"RemoteIP\" : \"192.0.2.8\" , \"ReportId\" :\n1 }\r",
			[]string{dne + `,"ReportId":1,"RemoteIP":"192.0.2.8"}`}, nil},
		{"a byte order mark is ignored", "\xef\xbb\xbf{\"RemoteIP\":\"192.0.2.8\"}",
			[]string{dne + `,"RemoteIP":"192.0.2.8"}`}, nil},
		{"a blank message gives nothing and no error", " \r\n", nil, nil},
		{"records: null is an empty envelope", `{"records":null}`, nil, nil},
		{"a repeated records array replaces the earlier one",
			`{"records":[{"RemoteIP":"192.0.2.1"},7],"records":[{"RemoteIP":"192.0.2.2"}]}`,
			[]string{dne + `,"RemoteIP":"192.0.2.2"}`}, nil},

		// Broken input.
		{"a message that is not JSON gives one error with Record -1", "hello", nil,
			[]string{`message: offset 0: unexpected 'h': not a JSON object or array`}},
		{"records that is not an array is a message error", `{"records":{"RemoteIP":"192.0.2.1"}}`, nil,
			[]string{`message: offset 11: unexpected '{': "records" is not an array`}},
		{"a record that is not an object is an error and the others decode",
			`{"records":[{"RemoteIP":"192.0.2.1"},"junk",{"RemoteIP":"192.0.2.2"}]}`,
			[]string{dne + `,"RemoteIP":"192.0.2.1"}`, dne + `,"RemoteIP":"192.0.2.2"}`},
			[]string{`record 1: offset 37: record is not a JSON object`}},
		{"malformed JSON inside a record keeps the earlier records and names the record",
			`{"records":[{"RemoteIP":"192.0.2.1"},{"RemoteIP":"192.0.2.2" "x":1},{"RemoteIP":"192.0.2.3"}]}`,
			[]string{dne + `,"RemoteIP":"192.0.2.1"}`},
			[]string{`record 1: offset 61: unexpected '"': want , or } after object value (rest of message not decoded)`}},
		{"malformed JSON inside a body object names the byte of the message",
			`{"body":{"records":[{"RemoteIP":"192.0.2.1"},{"RemoteIP":"192.0.2.2" "x":1}]}}`,
			[]string{dne + `,"RemoteIP":"192.0.2.1"}`},
			[]string{`record 1: offset 69: unexpected '"': want , or } after object value (rest of message not decoded)`}},
		{"records that is not an array inside a body object names the byte of the message",
			`{"body":{"records":{"RemoteIP":"192.0.2.1"}}}`, nil,
			[]string{`message: offset 19: unexpected '{': "records" is not an array`}},
		{"properties as a string holding the object (serialised twice) is decoded",
			`{"records":[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":"{\"RemoteIP\":\"203.0.113.77\",\"DeviceName\":\"ws-4\"}"}]}`,
			[]string{dne + `,"DeviceName":"ws-4","RemoteIP":"203.0.113.77"}`}, nil},
		{"properties that are neither an object nor such a string make the record an error; the others decode",
			`{"records":[{"category":"AdvancedHunting-DeviceNetworkEvents","properties":5},` +
				`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":"not JSON"},` +
				`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":"{\"RemoteIP\":"},` +
				`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"192.0.2.2"}}]}`,
			[]string{dne + `,"RemoteIP":"192.0.2.2"}`},
			[]string{`record 0: offset 75: unexpected '5': "properties" is neither an object nor a string holding one`,
				`record 1: offset 141: unexpected '"': "properties" is a string that does not hold a JSON object`,
				`record 2: "properties" JSON text: offset 12: unexpected end of JSON`}},
		{"null properties leave the columns to the top level", `{"category":"AdvancedHunting-DeviceNetworkEvents","properties":null,"RemoteIP":"192.0.2.3"}`,
			[]string{dne + `,"RemoteIP":"192.0.2.3"}`}, nil},
		{"an unterminated string is an error", `{"RemoteIP":"192.0.2.1`, nil,
			[]string{`message: offset 22: unexpected end of JSON: unterminated string`}},
		{"deeply nested junk is skipped without recursion",
			`{"junk":` + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `,"RemoteIP":"192.0.2.9"}`,
			[]string{dne + `,"RemoteIP":"192.0.2.9"}`}, nil},
		{"mismatched brackets are an error", `{"junk":[[}],"RemoteIP":"192.0.2.9"}`, nil,
			[]string{`message: offset 10: unexpected '}': mismatched bracket`}},
		{"trailing garbage after a record is a message error and the record is kept", `{"RemoteIP":"192.0.2.9"} x`,
			[]string{dne + `,"RemoteIP":"192.0.2.9"}`}, []string{`message: offset 25: unexpected 'x'`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var d Decoder
			evs, errs := d.Decode([]byte(tt.in), nil)
			if got := renderEvents(evs); !slices.Equal(got, tt.want) {
				t.Errorf("events:\n got %q\nwant %q", got, tt.want)
			}
			if len(errs) != len(tt.errs) {
				t.Fatalf("errors: got %q, want %d matching %q", errs, len(tt.errs), tt.errs)
			}
			for i, e := range errs {
				if !strings.Contains(e.Error(), tt.errs[i]) {
					t.Errorf("error %d: got %q, want it to contain %q", i, e.Error(), tt.errs[i])
				}
			}
		})
	}
}

// TestDecodeKeepsRawBytes checks what the JSON rendering cannot show:
// invalid UTF-8 and NUL bytes reach the Event unchanged.
func TestDecodeKeepsRawBytes(t *testing.T) {
	var d Decoder
	evs, errs := d.Decode([]byte("{\"RemoteUrl\":\"bad-\xff\xfe-\x00-\\u0000.example\",\"DeviceName\":\"a\\u00e9\xc3\"}"), nil)
	if len(errs) != 0 || len(evs) != 1 {
		t.Fatalf("got %d events, errors %v", len(evs), errs)
	}
	if got, want := evs[0].RemoteURL, "bad-\xff\xfe-\x00-\x00.example"; got != want {
		t.Errorf("RemoteURL = %q, want %q", got, want)
	}
	if got, want := evs[0].DeviceName, "a\u00e9\xc3"; got != want {
		t.Errorf("DeviceName = %q, want %q", got, want)
	}
}

func TestRecordErrorFormatsAndUnwraps(t *testing.T) {
	inner := errors.New("boom")
	if got := (RecordError{Record: 3, Err: inner}).Error(); got != "record 3: boom" {
		t.Errorf("got %q", got)
	}
	if got := (RecordError{Record: -1, Err: inner}).Error(); got != "message: boom" {
		t.Errorf("got %q", got)
	}
	if !errors.Is(RecordError{Record: 1, Err: inner}, inner) {
		t.Error("errors.Is does not see the wrapped error")
	}
	var d Decoder
	_, errs := d.Decode([]byte("{"), nil)
	var se *SyntaxError
	if len(errs) != 1 || !errors.As(errs[0], &se) || se.Offset != 1 {
		t.Errorf("want one *SyntaxError at offset 1, got %v", errs)
	}
}

// TestDecodeStatsCountTheCorpus checks the counts against what the
// generator wrote, and that Reset clears them.
func TestDecodeStatsCountTheCorpus(t *testing.T) {
	c := genCorpus(3, 40, 8)
	var d Decoder
	events := 0
	for _, m := range c.msgs {
		evs, errs := d.Decode(m, nil)
		if len(errs) != 0 {
			t.Fatal(errs)
		}
		events += len(evs)
	}
	st := d.Stats()
	if st.Records != int64(c.records) || st.Watched != int64(c.watched) || st.Watched != int64(events) ||
		st.Skipped != int64(c.records-c.watched) || st.ByTable[TableOther] != st.Skipped ||
		st.ByTable[TableDeviceNetworkEvents]+st.ByTable[TableDeviceEvents] != st.Watched || st.Errors != 0 {
		t.Errorf("stats %+v; generated %d records, %d watched", st, c.records, c.watched)
	}
	d.Reset()
	if st := d.Stats(); st != (DecodeStats{}) {
		t.Errorf("after Reset: %+v", st)
	}
	_, _ = d.Decode([]byte(`{"records":[1,{"category":"AdvancedHunting-DeviceEvents"}]} x`), nil)
	if st := d.Stats(); st != (DecodeStats{Records: 2, Watched: 1, ByTable: [3]int64{0, 0, 1}, Errors: 2}) {
		t.Errorf("broken message: %+v", st)
	}
}

// TestDecodeAgreesWithReferenceOnCorpus compares every event of a
// generated corpus with refDecode.
func TestDecodeAgreesWithReferenceOnCorpus(t *testing.T) {
	c := genCorpus(5, 64, 8)
	var d Decoder
	for n, m := range c.msgs {
		evs, errs := d.Decode(m, nil)
		want, wantErrs, ok := refDecode(m)
		if !ok || wantErrs != 0 || len(errs) != 0 {
			t.Fatalf("message %d: reference ok=%v errs=%d, decoder errs %v", n, ok, wantErrs, errs)
		}
		if len(evs) != len(want) {
			t.Fatalf("message %d: %d events, reference %d", n, len(evs), len(want))
		}
		for i := range evs {
			if got := refOf(&evs[i]); got != want[i] {
				t.Fatalf("message %d event %d:\n got %+v\nwant %+v", n, i, got, want[i])
			}
		}
		d.Reset()
	}
}

// TestDecodeEventsSurviveArenaGrowth decodes many messages without Reset,
// so the arena is reallocated several times, and checks that every event
// still reads as it did right after its own Decode.
func TestDecodeEventsSurviveArenaGrowth(t *testing.T) {
	c := genCorpus(9, 64, 8)
	var d Decoder
	var all []Event
	var rendered []string
	for _, m := range c.msgs {
		n := len(all)
		var errs []RecordError
		all, errs = d.Decode(m, all)
		if len(errs) != 0 {
			t.Fatal(errs)
		}
		rendered = append(rendered, renderEvents(all[n:])...)
	}
	if got := renderEvents(all); !slices.Equal(got, rendered) {
		t.Fatal("events changed after later decodes")
	}
}

// TestDecodeKeyPredictionFollowsChangingKeyOrders decodes records whose
// key order changes from record to record and checks each against a fresh
// decoder (which has no predictions).
func TestDecodeKeyPredictionFollowsChangingKeyOrders(t *testing.T) {
	recs := []string{
		`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP":"192.0.2.1","DeviceName":"a","Extra":1,"RemoteUrl":"u.example"}}`,
		`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"DeviceName":"b","RemoteIP":"192.0.2.2","RemoteUrl":"v.example"}}`,
		`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIPx":"192.0.2.9","RemoteIP":"192.0.2.3","Remote\u0055rl":"w.example"}}`,
		`{"properties":{"RemoteIP":"192.0.2.4"},"category":"AdvancedHunting-DeviceNetworkEvents"}`,
		`{"category":"AdvancedHunting-DeviceNetworkEvents","properties":{"RemoteIP" :"192.0.2.5","DeviceName":"e"}}`,
	}
	var trained Decoder
	for round := range 3 {
		for i, r := range recs {
			var fresh Decoder
			want, _ := fresh.Decode([]byte(r), nil)
			got, errs := trained.Decode([]byte(r), nil)
			if len(errs) != 0 || !slices.Equal(renderEvents(got), renderEvents(want)) {
				t.Fatalf("round %d record %d: got %q %v, want %q", round, i, renderEvents(got), errs, renderEvents(want))
			}
		}
	}
}

// TestDecodeDoesNotAllocate guards the zero-allocation hot path: after a
// warm-up, decoding the benchmark corpus allocates nothing.
func TestDecodeDoesNotAllocate(t *testing.T) {
	c := genCorpus(benchSeed, 32, 8)
	var d Decoder
	evs := make([]Event, 0, 16)
	for _, m := range c.msgs {
		evs, _ = d.Decode(m, evs[:0])
		d.Reset()
	}
	n := 0
	allocs := testing.AllocsPerRun(200, func() {
		evs, _ = d.Decode(c.msgs[n%len(c.msgs)], evs[:0])
		d.Reset()
		n++
	})
	if allocs != 0 {
		t.Errorf("Decode allocates %.2f times per message", allocs)
	}
}
