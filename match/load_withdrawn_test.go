package match

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
	"time"
)

// LoadOptions.Withdrawn: the values of the entries a feed names but their
// publisher withdrew are listed in LoadResult.Withdrawn, as they would
// have loaded, and the rest of the result is what it is without the
// option: such an entry is skipped once, under its reason, and nothing of
// it is refused.
func TestLoadWithdrawn(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	stixInd := func(id, pattern, extra string) string {
		return `{"type":"indicator","spec_version":"2.1","id":"indicator--` + id + `","created":"2026-01-01T00:00:00Z","modified":"2026-01-01T00:00:00Z","pattern":"` +
			pattern + `","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"` + extra + `}`
	}
	bundle := func(objs ...string) string {
		return `{"type":"bundle","id":"bundle--1","objects":[` + strings.Join(objs, ",") + `]}`
	}
	misp := func(attrs ...string) string {
		return `{"Event":{"info":"c2","Attribute":[` + strings.Join(attrs, ",") + `]}}`
	}
	tests := []struct {
		name, format, feed string
		withdrawn          []string // "kind value (reason)"
		loaded             int
		skipped            map[string]int
		refused            int
	}{
		{"a revoked STIX indicator, of two values", FormatSTIX2, bundle(
			stixInd("1", "[ipv4-addr:value = '203.0.113.1']", ""),
			stixInd("2", "[ipv4-addr:value = '203.0.113.2'] OR [domain-name:value = 'C2.Example']", `,"revoked":true`)),
			[]string{"ip 203.0.113.2 (stix revoked)", "domain c2.example (stix revoked)"}, 1, map[string]int{"stix revoked": 1}, 0},
		{"a revoked STIX indicator that has expired too is skipped once", FormatSTIX2, bundle(
			stixInd("2", "[ipv4-addr:value = '203.0.113.2']", `,"revoked":true,"valid_until":"2026-02-01T00:00:00Z"`)),
			[]string{"ip 203.0.113.2 (stix revoked)"}, 0, map[string]int{"stix revoked": 1}, 0},
		{"an expired STIX indicator", FormatSTIX2, bundle(
			stixInd("2", "[ipv4-addr:value = '203.0.113.2']", `,"valid_until":"2026-02-01T00:00:00Z"`)),
			[]string{"ip 203.0.113.2 (expired)"}, 0, map[string]int{"expired": 1}, 0},
		{"a revoked STIX indicator on a hash and a value the guard refuses", FormatSTIX2, bundle(
			stixInd("2", "[file:hashes.'SHA-256' = 'aa'] OR [ipv4-addr:value = '10.1.2.3']", `,"revoked":true`)),
			[]string{"ip 10.1.2.3 (stix revoked)"}, 0, map[string]int{"stix revoked": 1}, 0},
		{"a revoked STIX indicator with a broken pattern", FormatSTIX2, bundle(
			stixInd("2", "[ipv4-addr:value = ", `,"revoked":true`)),
			nil, 0, map[string]int{"stix revoked": 1}, 0},
		{"a deleted MISP attribute and one with to_ids false", FormatMISP, misp(
			`{"type":"ip-dst","value":"203.0.113.1","to_ids":true}`,
			`{"type":"ip-dst|port","value":"203.0.113.2|443","to_ids":true,"deleted":true}`,
			`{"type":"domain|ip","value":"relay.example|203.0.113.3","to_ids":false}`,
			`{"type":"md5","value":"d41d8cd98f00b204e9800998ecf8427e","deleted":true}`,
			`{"type":"url","value":"not a url","to_ids":false}`),
			[]string{"ip 203.0.113.2 (misp deleted)", "domain relay.example (misp to_ids=false)", "ip 203.0.113.3 (misp to_ids=false)"},
			1, map[string]int{"misp deleted": 2, "misp to_ids=false": 2}, 0},
		{"a value withdrawn in one attribute and listed in another", FormatMISP, misp(
			`{"type":"ip-dst","value":"203.0.113.2","to_ids":false}`,
			`{"type":"ip-src","value":"203.0.113.2","to_ids":true}`),
			[]string{"ip 203.0.113.2 (misp to_ids=false)"}, 1, map[string]int{"misp to_ids=false": 1}, 0},
		{"a row of MISP's CSV export with to_ids 0", FormatCSV,
			"uuid,event_id,category,type,value,comment,to_ids,date\n" +
				"u1,1,Network activity,ip-dst,203.0.113.1,,1,1764547200\n" +
				"u2,1,Network activity,hostname|port,c2.example|8443,,0,1764547200\n" +
				"u3,1,Payload delivery,md5,d41d8cd98f00b204e9800998ecf8427e,,0,1764547200\n",
			[]string{"domain c2.example (misp to_ids=false)"}, 1, map[string]int{"misp to_ids=false": 1, "csv type: md5": 1}, 0},
		{"Defender rows whose action is Allowed", FormatDefenderCSV,
			"IndicatorType,IndicatorValue,ExpirationTime,Action,Severity,Title,Description,RecommendedActions,RbacGroups,Category,MitreTechniques,GenerateAlert\n" +
				"IpAddress,203.0.113.1,,Block,High,t,,,,C2,T1071,TRUE\n" +
				"DomainName,sinkhole.example,,Allowed,Low,t,,,,C2,T1071,FALSE\n" +
				"FileSha256,aa,,Allowed,Low,t,,,,C2,T1071,FALSE\n",
			[]string{"domain sinkhole.example (defender-csv action: Allowed)"}, 1, map[string]int{"defender-csv action: Allowed": 2}, 0},
		{"a CSV row whose valid_until has passed", FormatCSV,
			"indicator,valid_until\n203.0.113.1,\n203.0.113.2,2026-02-01\n10.9.9.9,2026-02-01\n",
			[]string{"ip 203.0.113.2 (expired)"}, 1, map[string]int{"expired": 1}, 1},
		{"a CSV row whose valid_until has passed is read first: a value that does not parse is refused", FormatCSV,
			"indicator,valid_until\nnot a value!,2026-02-01\n", nil, 0, map[string]int{}, 1},
		{"a text feed withdraws nothing", FormatText, "203.0.113.1\n10.1.2.3\n", nil, 1, map[string]int{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			load := func(withdrawn bool) *LoadResult {
				t.Helper()
				res, err := Load(strings.NewReader(tt.feed), LoadOptions{Name: "feed", Format: tt.format, Now: now, Withdrawn: withdrawn})
				if err != nil {
					t.Fatal(err)
				}
				return res
			}
			res, plain := load(true), load(false)
			var got []string
			for _, w := range res.Withdrawn {
				got = append(got, w.Kind.String()+" "+w.Value+" ("+w.Reason+")")
			}
			if !reflect.DeepEqual(got, tt.withdrawn) {
				t.Errorf("withdrawn\n got %q\nwant %q", got, tt.withdrawn)
			}
			if plain.Withdrawn != nil {
				t.Errorf("without LoadOptions.Withdrawn: withdrawn %v, want none", plain.Withdrawn)
			}
			for _, r := range []*LoadResult{res, plain} {
				if r.Indicators.Len() != tt.loaded || r.Skipped != withdrawnSkipped(tt.skipped) || !reflect.DeepEqual(r.SkippedReasons, tt.skipped) || len(r.Refused) != tt.refused {
					t.Errorf("loaded %d, skipped %d %v, refused %v; want %d, %v, %d refused",
						r.Indicators.Len(), r.Skipped, r.SkippedReasons, r.Refused, tt.loaded, tt.skipped, tt.refused)
				}
			}
		})
	}
}

func withdrawnSkipped(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// FuzzLoadWithdrawn: asking for the withdrawn values never panics and
// changes nothing else of the result; the values are canonical.
func FuzzLoadWithdrawn(f *testing.F) {
	f.Add("stix2", []byte(`[{"type":"indicator","id":"indicator--2","modified":"2024-01-01T00:00:00Z","pattern":"[domain-name:value = 'a.example']"},`+
		`{"type":"indicator","id":"indicator--2","modified":"2024-02-01T00:00:00Z","pattern":"[domain-name:value = 'a.example'] OR [file:hashes.MD5 = 'ab']","revoked":true,"valid_until":"2020-01-01T00:00:00Z"}]`))
	f.Add("misp", []byte(`{"Attribute":[{"type":"domain|ip","value":"a.example|10.0.0.1","to_ids":"0"},{"type":"url","value":"igfxtray.exe","deleted":1}],`+
		`"Object":[{"deleted":true,"Attribute":[{"type":"ip-dst|port","value":"198.51.100.7|80"}]}]}`))
	f.Add("csv", []byte("type,value,to_ids,valid_until\nip-dst,198.51.100.1,0,\ndomain|ip,a.example|198.51.100.2,0,\nurl,,0,\nip-dst,198.51.100.3,1,2020-01-01\n"))
	f.Add("defender-csv", []byte("IndicatorType,IndicatorValue,ExpirationTime,Action,Severity,Title,Description,RecommendedActions,RbacGroups,Category,MitreTechniques,GenerateAlert\n"+
		"Url,bad.example,,Allowed,Low,t,,,,C,T,FALSE\nIpAddress,10.0.0.1,,Allowed,Low,t,,,,C,T,FALSE\nFileSha256,ab,,Allowed,Low,t,,,,C,T,FALSE\n"))
	f.Fuzz(func(t *testing.T, format string, data []byte) {
		switch format {
		case FormatSTIX2, FormatMISP, FormatCSV, FormatDefenderCSV:
		default:
			format = FormatCSV
		}
		load := func(withdrawn bool) (*LoadResult, error) {
			return Load(bytes.NewReader(data), LoadOptions{Name: "fuzz", Format: format, Now: time.Unix(1.7e9, 0), Withdrawn: withdrawn})
		}
		res, err := load(true)
		plain, perr := load(false)
		if (err == nil) != (perr == nil) {
			t.Fatalf("error %v with Withdrawn, %v without", err, perr)
		}
		if err != nil {
			return
		}
		if res.Indicators.Len() != plain.Indicators.Len() || res.Skipped != plain.Skipped ||
			!reflect.DeepEqual(res.SkippedReasons, plain.SkippedReasons) || !reflect.DeepEqual(res.Refused, plain.Refused) ||
			!reflect.DeepEqual(res.Notes, plain.Notes) {
			t.Fatalf("Withdrawn changed the result: %d/%d indicators, skipped %v/%v, refused %v/%v",
				res.Indicators.Len(), plain.Indicators.Len(), res.SkippedReasons, plain.SkippedReasons, res.Refused, plain.Refused)
		}
		for _, w := range res.Withdrawn {
			if w.Reason == "" || res.SkippedReasons[w.Reason] == 0 {
				t.Fatalf("withdrawal %+v: a reason not counted", w)
			}
			if w.Kind == KindPattern {
				if w.Value == "" || w.Value != ldLowerASCII(strings.TrimSpace(w.Value)) {
					t.Fatalf("withdrawn pattern %q is not canonical", w.Value)
				}
			} else if k, v, err := ParseValue(w.Value); err != nil || k != w.Kind || v != w.Value {
				t.Fatalf("withdrawn %s %q does not parse back: %s %q %v", w.Kind, w.Value, k, v, err)
			}
		}
	})
}
