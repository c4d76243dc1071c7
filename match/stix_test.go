package match

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
)

// ldKindValues lists a result as "kind:value" strings.
func ldKindValues(res *LoadResult) []string {
	var out []string
	for _, ind := range res.Indicators.Indicators() {
		out = append(out, ind.Kind.String()+":"+ind.Value)
	}
	return out
}

// ldSkipKeys lists a result's skip reasons, sorted.
func ldSkipKeys(res *LoadResult) []string {
	var out []string
	for k := range res.SkippedReasons {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// mispSTIXMapping reads a misp-stix mapping sample: per MISP attribute
// type, the MISP attribute and the STIX objects MISP exports for it. The
// external-indicators file nests one more level ("Indicator",
// "Observable", …); those entries are returned as "type/level".
func mispSTIXMapping(t *testing.T, file string) map[string]struct {
	MISP json.RawMessage
	STIX []json.RawMessage
} {
	t.Helper()
	var top map[string]json.RawMessage
	if err := json.Unmarshal(ldReadSample(t, file), &top); err != nil {
		t.Fatal(err)
	}
	out := map[string]struct {
		MISP json.RawMessage
		STIX []json.RawMessage
	}{}
	var add func(key string, raw json.RawMessage)
	add = func(key string, raw json.RawMessage) {
		var e map[string]json.RawMessage
		if err := json.Unmarshal(raw, &e); err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		if e["MISP"] == nil {
			for k, v := range e {
				add(key+"/"+k, v)
			}
			return
		}
		var stix []json.RawMessage
		if err := json.Unmarshal(e["STIX"], &stix); err != nil {
			stix = []json.RawMessage{e["STIX"]}
		}
		out[key] = struct {
			MISP json.RawMessage
			STIX []json.RawMessage
		}{e["MISP"], stix}
	}
	for k, v := range top {
		add(k, v)
	}
	return out
}

// TestLoadMISPSTIXMappingExamples loads, for each MISP network attribute
// type, the STIX 2.1 objects MISP exports for it (a bare list of objects)
// and the MISP attribute itself (a bare event), from the misp-stix
// project's mapping documentation.
func TestLoadMISPSTIXMappingExamples(t *testing.T) {
	tests := []struct {
		key        string
		stix       []string // kind:value from the STIX export
		stixSkips  []string
		misp       []string // kind:value from the MISP attribute
		mispSkips  []string
		fromSample string
	}{
		{"domain", []string{"domain:circl.lu"}, nil, []string{"domain:circl.lu"}, nil, ""},
		{"domain|ip", nil, []string{"stix pattern: AND"}, []string{"domain:circl.lu", "ip:149.13.33.14"}, nil, ""},
		{"hostname", []string{"domain:circl.lu"}, nil, []string{"domain:circl.lu"}, nil, ""},
		{"hostname|port", nil, []string{"stix pattern: AND"}, []string{"domain:circl.lu"}, nil, ""},
		{"ip-dst", []string{"ip:5.6.7.8"}, nil, []string{"ip:5.6.7.8"}, nil, ""},
		{"ip-dst|port", nil, []string{"stix pattern: AND"}, []string{"ip:5.6.7.8"}, nil, ""},
		{"ip-src", []string{"ip:1.2.3.4"}, nil, []string{"ip:1.2.3.4"}, nil, ""},
		{"ip-src|port", nil, []string{"stix pattern: AND"}, []string{"ip:1.2.3.4"}, nil, ""},
		{"link", []string{"url:https://misp-project.org/download/"}, nil, nil, []string{"misp type: link"}, ""},
		{"url", []string{"url:https://vm.misp-project.org/latest/"}, nil, []string{"url:https://vm.misp-project.org/latest/"}, nil, ""},
		{"uri", []string{"url:https://vm.misp-project.org/latest/MISP_v2.4.155@ca03678.ova"}, nil, nil, []string{"misp type: uri"}, ""},
		{"domain/Indicator", []string{"domain:circl.lu"}, nil, []string{"domain:circl.lu"}, nil, "external"},
		{"domain/Observable", nil, nil, nil, []string{"misp to_ids=false"}, "external"},
		{"domain/Observed Data", nil, nil, nil, []string{"misp to_ids=false"}, "external"},
		{"ip-dst/Indicator", []string{"ip:185.194.93.14"}, nil, []string{"ip:185.194.93.14"}, nil, "external"},
		{"ip-dst/Observable", nil, nil, nil, []string{"misp to_ids=false"}, "external"},
		{"url/Indicator", []string{"url:https://circl.lu/team/"}, nil, []string{"url:https://circl.lu/team/"}, nil, "external"},
	}
	network := mispSTIXMapping(t, "misp-stix_mapping_misp_network_attributes_to_stix21_subset.json")
	external := mispSTIXMapping(t, "misp-stix_mapping_external_stix21_network_indicators_to_misp_subset.json")
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			m := network
			if tt.fromSample == "external" {
				m = external
			}
			e, ok := m[tt.key]
			if !ok {
				t.Fatalf("no %q in the mapping sample", tt.key)
			}
			list, _ := json.Marshal(e.STIX)
			res, err := Load(bytes.NewReader(list), LoadOptions{Name: tt.key + ".json"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != FormatSTIX2 || len(res.Refused) != 0 ||
				!reflect.DeepEqual(ldKindValues(res), tt.stix) || !reflect.DeepEqual(ldSkipKeys(res), tt.stixSkips) {
				t.Errorf("STIX export: format %s, got %q skipped %q refused %v; want %q skipped %q",
					res.Format, ldKindValues(res), ldSkipKeys(res), res.Refused, tt.stix, tt.stixSkips)
			}
			event := []byte(`{"info":"mapping example","Attribute":[` + string(e.MISP) + `]}`)
			res, err = Load(bytes.NewReader(event), LoadOptions{Name: tt.key + ".json"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != FormatMISP || len(res.Refused) != 0 ||
				!reflect.DeepEqual(ldKindValues(res), tt.misp) || !reflect.DeepEqual(ldSkipKeys(res), tt.mispSkips) {
				t.Errorf("MISP attribute: format %s, got %q skipped %q refused %v; want %q skipped %q",
					res.Format, ldKindValues(res), ldSkipKeys(res), res.Refused, tt.misp, tt.mispSkips)
			}
		})
	}
}

func TestLoadSTIXErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  string
	}{
		{"an empty file is not a bundle", "  ", "stix.json: empty file, not a STIX bundle"},
		{"a syntax error names its line", "{\n\"type\": \"bundle\",\n\"objects\": [,]}", "stix.json:3: invalid JSON: "},
		{"an object without a type is not STIX", `{"objects": []}`, `stix.json: not a STIX bundle or object (no "type")`},
		{"objects of the wrong JSON type are an error", `{"type": "bundle", "objects": {}}`, "stix.json:1: invalid JSON: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tt.in), LoadOptions{Name: "stix.json", Format: FormatSTIX2})
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Fatalf("Load error = %v, want it to start with %q", err, tt.err)
			}
		})
	}
}

// An id that would garble a terminal is quoted where it is shown, after
// the feed's name, in refusals and in the origin of indicators alike.
func TestAnUnprintableSTIXIdIsQuotedAfterTheFeedName(t *testing.T) {
	in := `{"type":"bundle","objects":[` +
		`{"type":"indicator","id":"indicator--\u001b[31m","pattern":"[ipv4-addr:value = '198.51.100.1']","pattern_type":"stix"},` +
		`{"type":"indicator","id":"indicator--\u007f","pattern":"[no such thing]","pattern_type":"stix"}]}`
	res, err := Load(strings.NewReader(in), LoadOptions{Name: "stix.json", Format: FormatSTIX2})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Indicators.Indicators()) != 1 || res.Indicators.Indicators()[0].Origin() != `stix.json: "indicator--\x1b[31m"` {
		t.Fatalf("indicators %v", res.Indicators.Indicators())
	}
	if len(res.Refused) != 1 || res.Refused[0].Origin != `stix.json: "indicator--\x7f"` {
		t.Fatalf("refused %+v", res.Refused)
	}
}

func TestLoadSTIXExpiryUsesNow(t *testing.T) {
	bundle := `{"type":"bundle","objects":[{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '198.51.100.7']",` +
		`"pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z","valid_until":"2025-07-01T00:00:00Z"}]}`
	for _, tt := range []struct {
		name    string
		now     time.Time
		loaded  int
		skipped int
	}{
		{"an indicator is loaded before its valid_until", time.Date(2025, 6, 30, 23, 59, 59, 0, time.UTC), 1, 0},
		{"an indicator is skipped at its valid_until", time.Date(2025, 7, 1, 0, 0, 0, 0, time.UTC), 0, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Load(strings.NewReader(bundle), LoadOptions{Now: tt.now})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Indicators.Indicators()) != tt.loaded || res.SkippedReasons["expired"] != tt.skipped {
				t.Fatalf("loaded %d, expired %d; want %d and %d", len(res.Indicators.Indicators()), res.SkippedReasons["expired"], tt.loaded, tt.skipped)
			}
		})
	}
}

// STIX 2.1 requires valid_until after valid_from; an indicator that breaks
// it could never match, so it is refused, not loaded in silence.
func TestASTIXIndicatorValidUntilBeforeItsValidFromIsRefused(t *testing.T) {
	bundle := `{"type":"bundle","objects":[{"type":"indicator","id":"indicator--1","pattern":"[ipv4-addr:value = '198.51.100.7']",` +
		`"pattern_type":"stix","valid_from":"2030-01-01T00:00:00Z","valid_until":"2029-01-01T00:00:00Z"}]}`
	res, err := Load(strings.NewReader(bundle), LoadOptions{Name: "stix.json", Now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Indicators.Len() != 0 || len(res.Refused) != 1 ||
		res.Refused[0].String() != `stix.json: indicator--1: "2029-01-01T00:00:00Z": valid_until is not after valid_from 2030-01-01T00:00:00Z` {
		t.Fatalf("loaded %d, refused %v", res.Indicators.Len(), res.Refused)
	}
}
