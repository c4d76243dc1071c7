package match

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestLoadMISPShapes(t *testing.T) {
	attr := `{"type":"ip-dst","value":"198.51.100.7","to_ids":true}`
	event := `{"info":"e","Orgc":{"name":"Org"},"Attribute":[` + attr + `]}`
	tests := []struct {
		name   string
		in     string
		values []string
		origin string
		format string
	}{
		{"an event in its Event wrapper", `{"Event":` + event + `}`, []string{"ip:198.51.100.7"}, "e.json: Attribute[0]", ""},
		{"a bare event", event, []string{"ip:198.51.100.7"}, "e.json: Attribute[0]", ""},
		{"a bare event with only objects", `{"Object":[{"name":"ip-port","Attribute":[` + attr + `]}]}`, []string{"ip:198.51.100.7"}, "e.json: Object[0].Attribute[0]", ""},
		{"a list of wrapped events", `[{"Event":` + event + `},{"Event":` + event + `}]`, []string{"ip:198.51.100.7", "ip:198.51.100.7"}, "e.json: Event[0].Attribute[0]", ""},
		{"a list of bare events", `[` + event + `,` + event + `]`, []string{"ip:198.51.100.7", "ip:198.51.100.7"}, "e.json: Event[0].Attribute[0]", ""},
		{"a search response", `{"response":[{"Event":` + event + `}]}`, []string{"ip:198.51.100.7"}, "e.json: Attribute[0]", ""},
		{"an empty list", `[]`, nil, "", FormatMISP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Load(strings.NewReader(tt.in), LoadOptions{Name: "e.json", Format: tt.format})
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != FormatMISP {
				t.Fatalf("detected %s, want misp", res.Format)
			}
			if got := ldKindValues(res); !reflect.DeepEqual(got, tt.values) {
				t.Fatalf("loaded %q, want %q", got, tt.values)
			}
			if len(res.Indicators.Indicators()) > 0 && res.Indicators.Indicators()[0].Origin() != tt.origin {
				t.Fatalf("origin %q, want %q", res.Indicators.Indicators()[0].Origin(), tt.origin)
			}
		})
	}
}

func TestLoadMISPMetadata(t *testing.T) {
	in := `{"Event":{"info":"Campaign X","uuid":"u-1","threat_level_id":"2",
		"Tag":[{"name":"tlp:green"},{"name":"apt"}],
		"Attribute":[
			{"type":"link","value":"https://cert.example/x","to_ids":false},
			{"type":"domain","value":"c2.example","to_ids":true,"comment":"beacon","Tag":[{"name":"c2"},{"name":"apt"}]},
			{"type":"hostname","value":"h.example","to_ids":true}]}}`
	res, err := Load(strings.NewReader(in), LoadOptions{Name: "e.json", Defaults: Meta{Source: "ignored", Confidence: 40}})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Indicators.Indicators()) != 2 {
		t.Fatalf("loaded %d indicators, want 2", len(res.Indicators.Indicators()))
	}
	got := *res.Indicators.Indicators()[0]
	want := Indicator{Kind: KindDomain, Value: "c2.example", Meta: &Meta{Source: "misp:u-1", Severity: "medium", Confidence: 40, Tags: []string{"tlp:green", "apt", "c2"}, Description: "Campaign X: beacon", Reference: "https://cert.example/x", Where: "e.json: Attribute[1]"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %+v\nwant %+v", got, want)
	}
	if tags := res.Indicators.Indicators()[1].Meta.Tags; !reflect.DeepEqual(tags, []string{"tlp:green", "apt"}) {
		t.Fatalf("second attribute has tags %q: attribute tags leaked between attributes", tags)
	}
}

func TestMISPBoolAndString(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want mispBool
		err  bool
	}{
		{"true", true, false}, {"false", false, false}, {`"1"`, true, false}, {`"0"`, false, false},
		{"1", true, false}, {"0", false, false}, {`"true"`, true, false}, {"null", false, false},
		{`"maybe"`, false, true}, {"[]", false, true},
	} {
		var b mispBool
		err := json.Unmarshal([]byte(tt.in), &b)
		if (err != nil) != tt.err || b != tt.want {
			t.Errorf("mispBool from %s = %v, %v; want %v, error %v", tt.in, b, err, tt.want, tt.err)
		}
	}
	for _, tt := range []struct {
		in   string
		want mispStr
		err  bool
	}{
		{`"2"`, "2", false}, {"2", "2", false}, {"null", "", false}, {`{"a":1}`, "", true}, {`"\u00e9"`, "é", false},
	} {
		var s mispStr
		err := json.Unmarshal([]byte(tt.in), &s)
		if (err != nil) != tt.err || s != tt.want {
			t.Errorf("mispStr from %s = %q, %v; want %q, error %v", tt.in, s, err, tt.want, tt.err)
		}
	}
}

func TestLoadMISPErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		err  string
	}{
		{"an empty file", "", "e.json: empty file, not a MISP event"},
		{"broken JSON names its line", "{\n\"Event\": {\n\"info\": ,\n}}", "e.json:3: invalid JSON"},
		{"a single event of the wrong type", `{"Event": "x"}`, "e.json: invalid MISP event: json: cannot unmarshal string"},
		{"a response that is not a list", `{"response": {}}`, "e.json: MISP response: "},
		{"text", "198.51.100.7", "e.json: not JSON, so not a MISP event"},
		{"a feed's manifest.json is named for what it is", `{"5c3c4e0c-0000-4000-8000-000000000001": {"Orgc": {"name": "CIRCL"}, "Tag": [{"name": "type:OSINT"}], "info": "OSINT - x", "date": "2019-01-14", "threat_level_id": 3}}`,
			"e.json: a MISP feed's manifest.json (an index of its events, without their attributes), not an event: load the event files it lists, <uuid>.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tt.in), LoadOptions{Name: "e.json", Format: FormatMISP})
			if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
				t.Fatalf("Load error = %v, want it to start with %q", err, tt.err)
			}
		})
	}
}
