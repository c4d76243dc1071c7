package match

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// mispCSVHeader is the header of MISP's CSV export (CsvExport's default
// fields and its object fields).
const mispCSVHeader = "uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag,object_uuid,object_name,object_meta_category\n"

// mispCSVRow is one attribute as MISP's CSV export writes it: text
// fields quoted, a '"' doubled, to_ids and the date bare.
func mispCSVRow(typ, value, toIDs, tags string) string {
	q := mispCSVQuote
	return strings.Join([]string{q("00000000-0000-4000-8000-000000000001"), "1234", q("Network activity"), q(typ), q(value),
		q(""), toIDs, "1764547200", q(""), q(tags), q(""), q(""), q("")}, ",") + "\n"
}

// mispLoaded lists a load's indicators as kind:value@origin, with their
// tags in brackets when they have any.
func mispLoaded(res *LoadResult) []string {
	var got []string
	for _, ind := range res.Indicators.Indicators() {
		s := ind.Kind.String() + ":" + ind.Value + "@" + ind.Origin()
		if len(ind.Meta.Tags) > 0 {
			s += " [" + strings.Join(ind.Meta.Tags, "; ") + "]"
		}
		got = append(got, s)
	}
	return got
}

// A MISP CSV export loads as MISP JSON does: a domain|ip row gives both
// halves, a domain and an ip, each guarded on its own, every refusal at
// the row's line; the attribute_tag column gives the tags, kept as MISP
// names them (tlp: too), merged with the feed's default tags.
func TestLoadMISPCSVExport(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		opt     LoadOptions
		loaded  []string
		refused []string
		skipped string
	}{
		{name: "domain|ip gives the domain and the address",
			in:     mispCSVHeader + mispCSVRow("domain|ip", "update-check.example|203.0.113.10", "1", ""),
			loaded: []string{"domain:update-check.example@f.csv:2", "ip:203.0.113.10@f.csv:2"}},
		{name: "domain|ip in any case, with an IPv6 address",
			in:     mispCSVHeader + mispCSVRow("Domain|IP", "update-check.example|2001:db8::10", "1", ""),
			loaded: []string{"domain:update-check.example@f.csv:2", "ip:2001:db8::10@f.csv:2"}},
		{name: "domain|ip without a bar is refused at its line",
			in:      mispCSVHeader + mispCSVRow("domain|ip", "update-check.example", "1", ""),
			refused: []string{`f.csv:2: "update-check.example": domain|ip: no '|' between the domain and the address`}},
		{name: "a half that is not its kind is refused, the other loads",
			in:      mispCSVHeader + mispCSVRow("domain|ip", "update-check.example|not-an-address", "1", ""),
			loaded:  []string{"domain:update-check.example@f.csv:2"},
			refused: []string{`f.csv:2: "update-check.example|not-an-address": domain|ip: not an IP address or prefix (it reads as a domain)`}},
		{name: "a half the guard refuses is refused, the other loads",
			in:      mispCSVHeader + mispCSVRow("domain|ip", "relay.example|10.20.30.40", "1", "") + mispCSVRow("domain|ip", "localhost|203.0.113.10", "1", ""),
			loaded:  []string{"domain:relay.example@f.csv:2", "ip:203.0.113.10@f.csv:3"},
			refused: []string{`f.csv:2: "relay.example|10.20.30.40": private range refused`, `f.csv:3: "localhost|203.0.113.10": single-label name refused`}},
		{name: "domain|ip with to_ids 0 is context",
			in:      mispCSVHeader + mispCSVRow("domain|ip", "update-check.example|203.0.113.10", "0", ""),
			skipped: "misp to_ids=false: 1"},
		{name: "attribute tags, tlp: kept",
			in:     mispCSVHeader + mispCSVRow("domain", "update-check.example", "1", "tlp:clear,kill-chain:Command and Control"),
			loaded: []string{"domain:update-check.example@f.csv:2 [tlp:clear; kill-chain:Command and Control]"}},
		{name: "the tags of a domain|ip are both halves'",
			in:     mispCSVHeader + mispCSVRow("domain|ip", "update-check.example|203.0.113.10", "1", "tlp:amber,c2"),
			loaded: []string{"domain:update-check.example@f.csv:2 [tlp:amber; c2]", "ip:203.0.113.10@f.csv:2 [tlp:amber; c2]"}},
		{name: "merged with the feed's default tags, once each",
			in:     mispCSVHeader + mispCSVRow("ip-dst", "203.0.113.10", "1", "c2,tlp:clear"),
			opt:    LoadOptions{Defaults: Meta{Tags: []string{"partner-misp", "c2"}}},
			loaded: []string{"ip:203.0.113.10@f.csv:2 [c2; tlp:clear; partner-misp]"}},
		{name: "no attribute tags: the feed's default tags",
			in:     mispCSVHeader + mispCSVRow("ip-dst", "203.0.113.10", "1", ""),
			opt:    LoadOptions{Defaults: Meta{Tags: []string{"partner-misp"}}},
			loaded: []string{"ip:203.0.113.10@f.csv:2 [partner-misp]"}},
		{name: "spaces, empty tags and repeats",
			in:     mispCSVHeader + mispCSVRow("ip-dst", "203.0.113.10", "1", " c2 , ,c2,apt,"),
			loaded: []string{"ip:203.0.113.10@f.csv:2 [c2; apt]"}},
		{name: "MISP joins tags with commas only: a galaxy tag with quotes, ';' and '|' is one tag",
			in:     mispCSVHeader + mispCSVRow("ip-dst", "203.0.113.10", "1", `misp-galaxy:threat-actor="Sofacy",note:x="a; b|c"`),
			loaded: []string{`ip:203.0.113.10@f.csv:2 [misp-galaxy:threat-actor="Sofacy"; note:x="a; b|c"]`}},
		// MISP's country galaxy has "bonaire, saint eustatius and saba "
		// (with its space); CsvExport joins the names as they are.
		{name: "a comma inside a tag's quoted value is the tag's",
			in: mispCSVHeader + mispCSVRow("ip-dst", "203.0.113.10", "1",
				`misp-galaxy:country="bonaire, saint eustatius and saba ",tlp:clear,misp-galaxy:threat-actor="Wizard Spider"`),
			loaded: []string{`ip:203.0.113.10@f.csv:2 [misp-galaxy:country="bonaire, saint eustatius and saba "; tlp:clear; misp-galaxy:threat-actor="Wizard Spider"]`}},
		{name: "a quote never closed quotes nothing: every comma after it splits",
			in:     mispCSVHeader + mispCSVRow("ip-dst", "203.0.113.10", "1", `misp-galaxy:country="bonaire, saint eustatius and saba ",pipe:12",c2,apt`),
			loaded: []string{`ip:203.0.113.10@f.csv:2 [misp-galaxy:country="bonaire, saint eustatius and saba "; pipe:12"; c2; apt]`}},
		{name: "a comma in a free tag, outside quotes, splits it: MISP writes it as a separator",
			in:     mispCSVHeader + mispCSVRow("ip-dst", "203.0.113.10", "1", `APT28, Sofacy`),
			loaded: []string{`ip:203.0.113.10@f.csv:2 [APT28; Sofacy]`}},
		{name: "the tags of each row are its own",
			in:     mispCSVHeader + mispCSVRow("ip-dst", "203.0.113.10", "1", "c2") + mispCSVRow("ip-dst", "203.0.113.11", "1", ""),
			loaded: []string{"ip:203.0.113.10@f.csv:2 [c2]", "ip:203.0.113.11@f.csv:3"}},
		{name: "the column named in any case",
			in:     "Type,Value,To_IDs,Attribute_Tag\ndomain|ip,update-check.example|203.0.113.10,1,c2\n",
			loaded: []string{"domain:update-check.example@f.csv:2 [c2]", "ip:203.0.113.10@f.csv:2 [c2]"}},
		{name: "a mapped CSV reads the attribute_tag column and domain|ip too",
			in:     "ioc,kind,attribute_tag\nupdate-check.example|203.0.113.10,domain|ip,c2\n",
			opt:    LoadOptions{Format: FormatCSV, CSV: CSVMapping{Value: "ioc", Kind: "kind"}},
			loaded: []string{"domain:update-check.example@f.csv:2 [c2]", "ip:203.0.113.10@f.csv:2 [c2]"}},
		{name: "a mapped tags column on attribute_tag is read once, as mapped",
			in:     "ioc,kind,attribute_tag\n203.0.113.10,ip,c2;apt\n",
			opt:    LoadOptions{Format: FormatCSV, CSV: CSVMapping{Value: "ioc", Kind: "kind", Tags: "attribute_tag"}},
			loaded: []string{"ip:203.0.113.10@f.csv:2 [c2; apt]"}},
		{name: "with a mapped tags column",
			in:     "ioc,kind,family,attribute_tag\n203.0.113.10,ip,emotet,c2\n",
			opt:    LoadOptions{Format: FormatCSV, CSV: CSVMapping{Value: "ioc", Kind: "kind", Tags: "family"}},
			loaded: []string{"ip:203.0.113.10@f.csv:2 [emotet; c2]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			opt.Name = "f.csv"
			res, err := Load(strings.NewReader(tt.in), opt)
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != FormatCSV {
				t.Fatalf("format %s, want csv", res.Format)
			}
			got := mispLoaded(res)
			_, refused := loadedAndRefused(res)
			if !reflect.DeepEqual(got, tt.loaded) || !reflect.DeepEqual(refused, tt.refused) || res.SkippedSummary() != tt.skipped {
				t.Fatalf("loaded %q\nrefused %q\nskipped %q\nwant %q\nrefused %q\nskipped %q", got, refused, res.SkippedSummary(), tt.loaded, tt.refused, tt.skipped)
			}
		})
	}
}

// The same attributes as MISP JSON and as MISP's CSV export load alike:
// the same indicators with the same tags, the same refusals.
func TestMISPCSVExportLoadsAsTheJSON(t *testing.T) {
	type attr struct{ typ, value, tags string }
	attrs := []attr{
		{"domain|ip", "update-check.example|203.0.113.10", "tlp:clear,c2"},
		{"domain|ip", "relay.example|10.20.30.40", ""},
		{"domain|ip", "update-check.example", "c2"},
		{"domain|ip", "update-check.example|not-an-address", ""},
		{"ip-dst", "203.0.113.11", "tlp:green"},
		{"hostname|port", "mail.update-check.example|8443", "c2,apt"},
	}
	var js, csv strings.Builder
	js.WriteString(`{"Event":{"info":"","Attribute":[`)
	csv.WriteString(mispCSVHeader)
	for i, a := range attrs {
		if i > 0 {
			js.WriteString(",")
		}
		js.WriteString(`{"type":"` + a.typ + `","value":"` + a.value + `","to_ids":true,"Tag":` + mispJSONTags(strings.Split(a.tags, ",")) + `}`)
		csv.WriteString(mispCSVRow(a.typ, a.value, "1", a.tags))
	}
	js.WriteString(`]}}`)
	opt := LoadOptions{Defaults: Meta{Tags: []string{"partner-misp"}}}
	summary := func(in string, name string) (inds, reasons []string) {
		t.Helper()
		o := opt
		o.Name = name
		res, err := Load(strings.NewReader(in), o)
		if err != nil {
			t.Fatal(err)
		}
		for _, ind := range res.Indicators.Indicators() {
			inds = append(inds, ind.Kind.String()+":"+ind.Value+" "+strings.Join(ind.Meta.Tags, ","))
		}
		for _, r := range res.Refused {
			reasons = append(reasons, strconv.Quote(r.Value)+": "+r.Reason)
		}
		return inds, reasons
	}
	jInds, jRefused := summary(js.String(), "e.json")
	cInds, cRefused := summary(csv.String(), "e.csv")
	if len(jInds) != 6 || len(jRefused) != 3 {
		t.Fatalf("MISP JSON: %q refused %q; want 6 indicators, 3 refused", jInds, jRefused)
	}
	if !reflect.DeepEqual(cInds, jInds) || !reflect.DeepEqual(cRefused, jRefused) {
		t.Fatalf("CSV export: %q refused %q\nMISP JSON:  %q refused %q", cInds, cRefused, jInds, jRefused)
	}
}

// mispCSVContextHeader is the header of MISP's CSV export made with
// includeContext: CsvExport's event context fields after the attribute's
// and the object's.
const mispCSVContextHeader = "uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag,object_uuid,object_name,object_meta_category," +
	"event_info,event_member_org,event_source_org,event_distribution,event_threat_level_id,event_analysis,event_date,event_tag,event_timestamp\n"

// mispCSVContextRow is one attribute of an export made with
// includeContext, as CsvExport writes it.
func mispCSVContextRow(typ, value, comment, tags, info, eventTags string) string {
	q := mispCSVQuote
	return strings.Join([]string{q("00000000-0000-4000-8000-000000000001"), "1234", q("Network activity"), q(typ), q(value),
		q(comment), "1", "1764547200", q(""), q(tags), q(""), q(""), q(""),
		q(info), q("CIRCL"), q("CIRCL"), "0", q("High"), "2", q("2025-12-01"), q(eventTags), "1764547300"}, ",") + "\n"
}

// The columns includeContext adds: event_tag gives tags, split as
// attribute_tag is, after the mapped ones and the attribute's event's
// first as MISP JSON orders them (event Tag, then attribute Tag), before
// the feed's defaults, once each; event_info is the description, with the
// mapped description (the attribute's comment) after it as MISP JSON
// writes "info: comment".
func TestLoadMISPCSVExportContext(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		opt    LoadOptions
		loaded []string
	}{
		{name: "event tags before the attribute's, then the defaults, once each",
			in:     mispCSVContextHeader + mispCSVContextRow("ip-dst", "203.0.113.10", "", "c2,tlp:clear", "", "tlp:amber,c2"),
			opt:    LoadOptions{Defaults: Meta{Tags: []string{"partner-misp", "tlp:amber"}}},
			loaded: []string{`ip:203.0.113.10@f.csv:2 [tlp:amber; c2; tlp:clear; partner-misp] ""`}},
		{name: "event tags alone",
			in:     mispCSVContextHeader + mispCSVContextRow("domain", "update-check.example", "", "", "", "tlp:green"),
			loaded: []string{`domain:update-check.example@f.csv:2 [tlp:green] ""`}},
		{name: "an event tag's quoted value keeps its comma",
			in: mispCSVContextHeader + mispCSVContextRow("ip-dst", "203.0.113.10", "", "", "",
				`misp-galaxy:country="bonaire, saint eustatius and saba ",misp-galaxy:threat-actor="Sofacy"`),
			loaded: []string{`ip:203.0.113.10@f.csv:2 [misp-galaxy:country="bonaire, saint eustatius and saba "; misp-galaxy:threat-actor="Sofacy"] ""`}},
		{name: "the event tags of a domain|ip are both halves'",
			in: mispCSVContextHeader + mispCSVContextRow("domain|ip", "update-check.example|203.0.113.10", "", "c2", "OSINT - C2 campaign", "tlp:clear"),
			loaded: []string{`domain:update-check.example@f.csv:2 [tlp:clear; c2] "OSINT - C2 campaign"`,
				`ip:203.0.113.10@f.csv:2 [tlp:clear; c2] "OSINT - C2 campaign"`}},
		{name: "event_info is the description",
			in:     mispCSVContextHeader + mispCSVContextRow("ip-dst", "203.0.113.10", "", "", "OSINT - C2 campaign", ""),
			loaded: []string{`ip:203.0.113.10@f.csv:2 "OSINT - C2 campaign"`}},
		{name: "the comment after event_info, as MISP JSON writes info: comment",
			in:     mispCSVContextHeader + mispCSVContextRow("ip-dst", "203.0.113.10", "C2 server", "", "OSINT - C2 campaign", ""),
			loaded: []string{`ip:203.0.113.10@f.csv:2 "OSINT - C2 campaign: C2 server"`}},
		{name: "an empty event_info leaves the comment",
			in:     mispCSVContextHeader + mispCSVContextRow("ip-dst", "203.0.113.10", "C2 server", "", "", ""),
			loaded: []string{`ip:203.0.113.10@f.csv:2 "C2 server"`}},
		{name: "each row's context is its own",
			in: mispCSVContextHeader + mispCSVContextRow("ip-dst", "203.0.113.10", "", "", "OSINT - C2 campaign", "tlp:amber") +
				mispCSVContextRow("ip-dst", "203.0.113.11", "", "", "", ""),
			loaded: []string{`ip:203.0.113.10@f.csv:2 [tlp:amber] "OSINT - C2 campaign"`, `ip:203.0.113.11@f.csv:3 ""`}},
		{name: "the columns named in any case, in a CSV of a few columns",
			in:     "Type,Value,Attribute_Tag,Event_Tag,Event_Info\nip-dst,203.0.113.10,c2,tlp:clear,Campaign\n",
			loaded: []string{`ip:203.0.113.10@f.csv:2 [tlp:clear; c2] "Campaign"`}},
		{name: "a mapped CSV reads them too, after its mapped tags and description",
			in:     "ioc,kind,family,note,event_tag,event_info\n203.0.113.10,ip,emotet,seen 2025-12,tlp:amber,Campaign\n",
			opt:    LoadOptions{Format: FormatCSV, CSV: CSVMapping{Value: "ioc", Kind: "kind", Tags: "family", Description: "note"}},
			loaded: []string{`ip:203.0.113.10@f.csv:2 [emotet; tlp:amber] "Campaign: seen 2025-12"`}},
		{name: "a mapped tags column on event_tag is read once, as mapped",
			in:     "ioc,kind,event_tag\n203.0.113.10,ip,c2;apt\n",
			opt:    LoadOptions{Format: FormatCSV, CSV: CSVMapping{Value: "ioc", Kind: "kind", Tags: "event_tag"}},
			loaded: []string{`ip:203.0.113.10@f.csv:2 [c2; apt] ""`}},
		{name: "a mapped description on event_info is read once, as mapped",
			in:     "ioc,kind,event_info\n203.0.113.10,ip,Campaign\n",
			opt:    LoadOptions{Format: FormatCSV, CSV: CSVMapping{Value: "ioc", Kind: "kind", Description: "event_info"}},
			loaded: []string{`ip:203.0.113.10@f.csv:2 "Campaign"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			opt.Name = "f.csv"
			res, err := Load(strings.NewReader(tt.in), opt)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, ind := range res.Indicators.Indicators() {
				s := ind.Kind.String() + ":" + ind.Value + "@" + ind.Origin()
				if len(ind.Meta.Tags) > 0 {
					s += " [" + strings.Join(ind.Meta.Tags, "; ") + "]"
				}
				got = append(got, s+" "+strconv.Quote(ind.Meta.Description))
			}
			if _, refused := loadedAndRefused(res); !reflect.DeepEqual(got, tt.loaded) || len(refused) > 0 {
				t.Fatalf("loaded %q\nrefused %q\nwant %q", got, refused, tt.loaded)
			}
		})
	}
}

// An event as MISP JSON and as MISP's CSV export made with includeContext
// load alike: the same indicators, with the same tags and description.
func TestMISPCSVExportContextLoadsAsTheJSON(t *testing.T) {
	type attr struct{ typ, value, comment, tags string }
	attrs := []attr{
		{"domain|ip", "update-check.example|203.0.113.10", "C2", "tlp:clear,c2"},
		{"ip-dst", "203.0.113.11", "", "tlp:green,apt"},
		{"hostname|port", "mail.update-check.example|8443", "relay", ""},
	}
	const info = "OSINT - C2 campaign"
	eventTags := []string{"tlp:amber", "c2", `misp-galaxy:threat-actor="Sofacy"`}
	var js, csv strings.Builder
	q := func(s string) string { return strconv.Quote(s) }
	js.WriteString(`{"Event":{"info":` + q(info) + `,"Tag":` + mispJSONTags(eventTags) + `,"Attribute":[`)
	csv.WriteString(mispCSVContextHeader)
	for i, a := range attrs {
		if i > 0 {
			js.WriteString(",")
		}
		js.WriteString(`{"type":` + q(a.typ) + `,"value":` + q(a.value) + `,"comment":` + q(a.comment) + `,"to_ids":true,"Tag":` + mispJSONTags(strings.Split(a.tags, ",")) + `}`)
		csv.WriteString(mispCSVContextRow(a.typ, a.value, a.comment, a.tags, info, strings.Join(eventTags, ",")))
	}
	js.WriteString(`]}}`)
	summary := func(in, name string) []string {
		t.Helper()
		res, err := Load(strings.NewReader(in), LoadOptions{Name: name, Defaults: Meta{Tags: []string{"partner-misp"}}})
		if err != nil {
			t.Fatal(err)
		}
		var inds []string
		for _, ind := range res.Indicators.Indicators() {
			inds = append(inds, ind.Kind.String()+":"+ind.Value+" "+strings.Join(ind.Meta.Tags, ",")+" "+strconv.Quote(ind.Meta.Description))
		}
		return inds
	}
	j, c := summary(js.String(), "e.json"), summary(csv.String(), "e.csv")
	if len(j) != 4 {
		t.Fatalf("MISP JSON: %q; want 4 indicators", j)
	}
	if !reflect.DeepEqual(c, j) {
		t.Fatalf("CSV export: %q\nMISP JSON:  %q", c, j)
	}
}

// mispCSVQuote quotes a text field as MISP's CSV export does: in double
// quotes, a '"' doubled.
func mispCSVQuote(s string) string { return `"` + strings.ReplaceAll(s, `"`, `""`) + `"` }

// mispJSONTags is a MISP JSON Tag list of the non-empty tags.
func mispJSONTags(tags []string) string {
	var out []string
	for _, t := range tags {
		if t != "" {
			out = append(out, `{"name":`+strconv.Quote(t)+`}`)
		}
	}
	return "[" + strings.Join(out, ",") + "]"
}
