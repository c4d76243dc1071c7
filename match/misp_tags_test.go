package match

import (
	"reflect"
	"strings"
	"testing"
)

// The cells of MISP's CSV export's attribute_tag and event_tag columns as
// CsvExport writes them: the tag names joined by ',' with nothing escaped
// (the CSV quoting around the cell is undone by the CSV reader). A
// machine tag's value is written in quotes after its '=' and ends the
// tag; MISP puts a quote nowhere else, so a quote inside a free tag's
// name is a character of it.
func TestMISPSplitTags(t *testing.T) {
	tests := []struct {
		name string
		cell string
		want []string
	}{
		{"free tags and a taxonomy tag",
			`tlp:amber,c2,kill-chain:Command and Control`,
			[]string{"tlp:amber", "c2", "kill-chain:Command and Control"}},
		{"a comma inside a galaxy tag's quoted value",
			`tlp:amber,misp-galaxy:threat-actor="APT 28, Fancy Bear"`,
			[]string{"tlp:amber", `misp-galaxy:threat-actor="APT 28, Fancy Bear"`}},
		{"the galaxy tag first",
			`misp-galaxy:threat-actor="APT 28, Fancy Bear",tlp:amber`,
			[]string{`misp-galaxy:threat-actor="APT 28, Fancy Bear"`, "tlp:amber"}},
		{"the country galaxy's value with its trailing space",
			`misp-galaxy:country="bonaire, saint eustatius and saba ",misp-galaxy:threat-actor="Wizard Spider"`,
			[]string{`misp-galaxy:country="bonaire, saint eustatius and saba "`, `misp-galaxy:threat-actor="Wizard Spider"`}},
		{"a taxonomy value with ';' and '|'",
			`note:x="a; b|c",c2`,
			[]string{`note:x="a; b|c"`, "c2"}},
		{"an empty quoted value",
			`ns:p="",c2`,
			[]string{`ns:p=""`, "c2"}},
		{"a quote in a value that does not end it",
			`misp-galaxy:tool="7-Zip "portable" build",c2`,
			[]string{`misp-galaxy:tool="7-Zip "portable" build"`, "c2"}},
		{"a free tag ending in a quote before a galaxy tag with a comma",
			`pipe:12",misp-galaxy:threat-actor="APT 28, Fancy Bear"`,
			[]string{`pipe:12"`, `misp-galaxy:threat-actor="APT 28, Fancy Bear"`}},
		{"quotes inside free tags quote nothing",
			`a"b,c"d,tlp:red`,
			[]string{`a"b`, `c"d`, "tlp:red"}},
		{"a quoted word in a free tag",
			`say "hi",c2`,
			[]string{`say "hi"`, "c2"}},
		{"a free tag quoted whole keeps its comma",
			`"APT 28, Fancy Bear",c2`,
			[]string{`"APT 28, Fancy Bear"`, "c2"}},
		{"a quote never closed quotes nothing",
			`foo="bar,c2,apt`,
			[]string{`foo="bar`, "c2", "apt"}},
		{"a free tag's comma outside quotes is the separator MISP writes",
			`APT 28, Fancy Bear`,
			[]string{"APT 28", " Fancy Bear"}},
		{"empty cell", ``, []string{""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mispSplitTags(tt.cell); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("mispSplitTags(%q)\n got %q\nwant %q", tt.cell, got, tt.want)
			}
		})
	}
}

// A cell of many values that are opened and never closed quotes nothing:
// it splits at every comma.
func TestMISPSplitTagsUnclosedQuotes(t *testing.T) {
	cell := strings.Repeat(`x="a,`, 20000)
	got := mispSplitTags(cell)
	if len(got) != 20001 || got[0] != `x="a` || got[20000] != "" {
		t.Fatalf("got %d parts, first %q, last %q", len(got), got[0], got[len(got)-1])
	}
}

// A tag that starts with many spaces and holds many quotes: each quote
// asks whether it starts its tag, which must not cost a scan of the
// spaces before it (a cell of 4 MiB would then take about an hour).
func TestMISPSplitTagsLeadingSpacesAndQuotes(t *testing.T) {
	const n = 1 << 20
	for _, tt := range []struct {
		name, cell string
		want       []string
	}{
		{"quotes after a letter", strings.Repeat(" ", n) + "a" + strings.Repeat(`"`, n) + ",c2",
			[]string{strings.Repeat(" ", n) + "a" + strings.Repeat(`"`, n), "c2"}},
		{"a free tag quoted whole after the spaces", strings.Repeat(" ", n) + `"a,b",c2`,
			[]string{strings.Repeat(" ", n) + `"a,b"`, "c2"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := mispSplitTags(tt.cell); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %d parts, want %d", len(got), len(tt.want))
			}
		})
	}
}

// The same cells, in real-shaped rows of MISP's CSV export with
// includeContext: attribute_tag and event_tag alike.
func TestLoadMISPCSVExportTagCells(t *testing.T) {
	header := "uuid,event_id,category,type,value,comment,to_ids,date,object_relation,attribute_tag,object_uuid,object_name,object_meta_category,event_info,event_member_org,event_source_org,event_distribution,event_threat_level_id,event_analysis,event_date,event_tag,event_timestamp\n"
	row := func(attrTags, eventTags string) string {
		q := mispCSVQuote
		return strings.Join([]string{q("5f1c1e3a-0b7c-4c43-9c1e-2f0d3a4b5c6d"), "1234", q("Network activity"), q("ip-dst"), q("203.0.113.10"),
			q("C2 server"), "1", "1764547200", q(""), q(attrTags), q(""), q(""), q(""),
			q("OSINT - APT28 infrastructure"), q("CIRCL"), q("CIRCL"), "3", q("High"), "2", q("2025-12-01"), q(eventTags), "1764547200"}, ",") + "\n"
	}
	tests := []struct {
		name             string
		attrTags, evTags string
		want             []string
	}{
		{"galaxy tags with commas in both columns",
			`misp-galaxy:threat-actor="APT 28, Fancy Bear",c2`, `tlp:amber,misp-galaxy:country="bonaire, saint eustatius and saba "`,
			[]string{"tlp:amber", `misp-galaxy:country="bonaire, saint eustatius and saba "`, `misp-galaxy:threat-actor="APT 28, Fancy Bear"`, "c2"}},
		{"a free tag ending in a quote does not swallow the next tag",
			`pipe:12",misp-galaxy:threat-actor="APT 28, Fancy Bear"`, `tlp:clear`,
			[]string{"tlp:clear", `pipe:12"`, `misp-galaxy:threat-actor="APT 28, Fancy Bear"`}},
		{"quotes inside free tags do not join them",
			`a"b,c"d`, `workflow:state="complete"`,
			[]string{`workflow:state="complete"`, `a"b`, `c"d`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Load(strings.NewReader(header+row(tt.attrTags, tt.evTags)), LoadOptions{Name: "event.csv"})
			if err != nil {
				t.Fatal(err)
			}
			if res.Indicators.Len() != 1 {
				t.Fatalf("loaded %q, refused %v", mispLoaded(res), res.Refused)
			}
			if got := res.Indicators.At(0).Meta.Tags; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("tags\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// FuzzMISPSplitTags: the split never panics, and only cuts at commas: the
// parts joined with ',' are the cell.
func FuzzMISPSplitTags(f *testing.F) {
	for _, s := range []string{`tlp:amber,misp-galaxy:threat-actor="APT 28, Fancy Bear"`, `pipe:12",a"b,c"d`,
		`x="a,x="a,`, `"",=",""`, `misp-galaxy:country="bonaire, saint eustatius and saba "`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, cell string) {
		if got := strings.Join(mispSplitTags(cell), ","); got != cell {
			t.Fatalf("parts of %q join to %q", cell, got)
		}
	})
}
