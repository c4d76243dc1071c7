package match

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

func TestLoadCSV(t *testing.T) {
	tests := []struct {
		name    string
		format  string
		m       CSVMapping
		in      string
		values  []string // kind:value@origin
		refused []string
		err     string
	}{
		{
			name: "the header may be the last comment line", m: CSVMapping{Value: "ip", HeaderInComment: true},
			in:     "# a feed\n# ip,tag\n198.51.100.1,x\n",
			values: []string{"ip:198.51.100.1@f.csv:3"},
		},
		{
			name: "a header-in-comment feed falls back to the first line when the comment is not the header",
			m:    CSVMapping{Value: "ip", HeaderInComment: true},
			in:   "# generated 2025-12-01\nip,tag\n198.51.100.1,x\n", values: []string{"ip:198.51.100.1@f.csv:3"},
		},
		{
			name: "a tab delimiter and a ';' comment prefix", m: CSVMapping{Value: "value", Delimiter: '\t', Comment: ";"},
			in: "; exported\nvalue\tnote\n; middle\nevil.example\tx\n", values: []string{"domain:evil.example@f.csv:4"},
		},
		{
			name: "a quoted field with a newline keeps the line numbers right", m: CSVMapping{Value: "v", Description: "d"},
			in:     "v,d\n198.51.100.1,\"two\nlines\"\n198.51.100.2,x\n",
			values: []string{"ip:198.51.100.1@f.csv:2", "ip:198.51.100.2@f.csv:4"},
		},
		{
			name: "a quote never closed refuses its row, and the rows it swallowed are read again", m: CSVMapping{Value: "v", Description: "d"},
			in:      "v,d\n203.0.113.77,\"unterminated\n198.51.100.1,ok\n198.51.100.2,\"again\n198.51.100.3,ok\n",
			values:  []string{"ip:198.51.100.1@f.csv:3", "ip:198.51.100.3@f.csv:5"},
			refused: []string{`f.csv:2: "": CSV: the quote opened on line 2 is never closed`, `f.csv:4: "": CSV: the quote opened on line 4 is never closed`},
		},
		{
			name: "a quote never closed in the last row", m: CSVMapping{Value: "v", Description: "d"},
			in:      "v,d\r\n198.51.100.1,ok\r\n203.0.113.77,\"unterminated\r\n",
			values:  []string{"ip:198.51.100.1@f.csv:2"},
			refused: []string{`f.csv:3: "": CSV: the quote opened on line 3 is never closed`},
		},
		{
			name: "a bare quote inside a field is tolerated", m: CSVMapping{Value: "v"},
			in: "v,d\n198.51.100.1,say \"hi\"\n", values: []string{"ip:198.51.100.1@f.csv:2"},
		},
		{
			name: "a row too short for the value column is refused", m: CSVMapping{Value: "#3", NoHeader: true},
			in: "a,b\n", refused: []string{`f.csv:1: "a,b": row has 2 fields, the value is in column #3`},
		},
		{
			name: "a CRLF file with a UTF-8 byte-order mark", m: CSVMapping{Value: "ip"},
			in: "\ufeffip,tag\r\n198.51.100.1,x\r\n", values: []string{"ip:198.51.100.1@f.csv:2"},
		},
		{
			name: "a column mapped by index with a header", m: CSVMapping{Value: "#2"},
			in: "tag,ip\nx,198.51.100.1\n", values: []string{"ip:198.51.100.1@f.csv:2"},
		},
		{
			name: "a DefaultKind refuses a value of another kind", m: CSVMapping{Value: "v", DefaultKind: KindURL},
			in: "v\nhttp://evil.example/x\nigfxtray.exe\n", values: []string{"url:http://evil.example/x@f.csv:2"},
			refused: []string{`f.csv:3: "igfxtray.exe": not a URL (no scheme or path), and not a domain under a known top-level domain`},
		},
		{
			name: "a bare host in a URL column is taken for a domain under any known TLD, one the list holds by a wildcard rule (*.kh) too",
			m:    CSVMapping{Value: "v", DefaultKind: KindURL},
			in:   "v\nwww.evil.com.kh\nc2.evil.onion\n", values: []string{"domain:www.evil.com.kh@f.csv:2", "domain:c2.evil.onion@f.csv:3"},
		},
		{
			name: "an ip:port kind cuts the port at the last colon", m: CSVMapping{Value: "v", Kind: "t"},
			in: "v,t\n2001:db8::1:443,ip:port\n198.51.100.1:80,ip:port\n", values: []string{"ip:2001:db8::1@f.csv:2", "ip:198.51.100.1@f.csv:3"},
		},
		{
			name: "MISP's hostname|port kind is the host, as the MISP JSON loader reads it", m: CSVMapping{Value: "value", Kind: "type"},
			in:      "type,value\nhostname|port,c2.evil.example|8443\nHostname|Port,mail.evil.example\nhostname|port,payload.exe|443\n",
			values:  []string{"domain:c2.evil.example@f.csv:2", "domain:mail.evil.example@f.csv:3"},
			refused: []string{`f.csv:4: "payload.exe|443": unknown top-level domain refused: .exe is not in the public suffix list (a file name?)`},
		},
		{
			name: "a MISP uri is read as a url: a path without a host is refused", m: CSVMapping{Value: "value", Kind: "type"},
			in:      "type,value\nuri,/wp-content/gate.php\nuri,http://evil.example/gate.php\n",
			values:  []string{"url:http://evil.example/gate.php@f.csv:3"},
			refused: []string{`f.csv:2: "/wp-content/gate.php": URL without a host`},
		},
		{
			name: "an empty feodo list loads nothing", format: FormatFeodo,
			in: "# Feodo\n\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n# END 0 entries",
		},
		{
			name: "a URLhaus dump with no rows loads nothing", format: FormatURLhaus,
			in: "# URLhaus\n# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n",
		},
		{
			name: "a mapping to a missing column is an error", m: CSVMapping{Value: "dst"},
			in: "ip\n198.51.100.1\n", err: `f.csv:1: CSV header: value column "dst" not found in the header (columns: ip)`,
		},
		{
			name: "a column number without its # gets a hint", m: CSVMapping{Value: "2"},
			in: "tag,ip\nx,198.51.100.1\n", err: `f.csv:1: CSV header: value column "2" not found in the header (a column number is written "#2") (columns: tag, ip)`,
		},
		{
			name: "a binary header is escaped and cut short, once", m: CSVMapping{Value: "ip", Tags: "a,b"},
			in:  strings.Repeat("\xf7\xbd,", 200) + "\n1,2\n",
			err: `f.csv:1: CSV header: value column "ip" not found in the header; tags column "a" not found in the header; tags column "b" not found in the header (columns: "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", "\xf7\xbd", … 201 columns in all)`,
		},
		{
			name: "column #0 is an error", m: CSVMapping{Value: "#0"},
			in: "ip\n198.51.100.1\n", err: `f.csv:1: CSV header: value column "#0": want a header name or "#N" with N ≥ 1`,
		},
		{
			name: "a header name without a header is an error", m: CSVMapping{Value: "ip", NoHeader: true},
			in: "198.51.100.1\n", err: `f.csv: value column "ip": the feed has no header, map columns by index ("#3")`,
		},
		{
			name: "a feed with only comments has no header", m: CSVMapping{Value: "ip"},
			in: "# nothing here\n", err: "f.csv: no CSV header: the feed has no data line",
		},
		{
			name: "a header where no column can be guessed gives the first column",
			in:   "alpha,beta\n198.51.100.1,2\n", values: []string{"ip:198.51.100.1@f.csv:2"},
		},
		{
			name: "a guessed value column need not be the first", in: "first_seen,dst_ip\n2025-12-01,198.51.100.1\n",
			values: []string{"ip:198.51.100.1@f.csv:2"},
		},
		{
			name: "NoComments makes a '#' line data", m: CSVMapping{Value: "v", NoComments: true},
			in: "v\n#evil.example\n", refused: []string{`f.csv:2: "#evil.example": URL without a host`},
		},
		{
			name: "a quote as the delimiter is an error", m: CSVMapping{Value: "v", Delimiter: '"'},
			in: "v\n", err: `f.csv: invalid CSV delimiter '"'`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			format := tt.format
			if format == "" {
				format = FormatCSV
			}
			res, err := Load(strings.NewReader(tt.in), LoadOptions{Name: "f.csv", Format: format, CSV: tt.m})
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Load error = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, refused := loadedAndRefused(res)
			if !reflect.DeepEqual(got, tt.values) || !reflect.DeepEqual(refused, tt.refused) {
				t.Fatalf("loaded %q refused %q, want %q and %q", got, refused, tt.values, tt.refused)
			}
		})
	}
}

func TestLoadCSVMetadata(t *testing.T) {
	in := "v,conf,tags,extra,from,until\n" +
		"198.51.100.1,150,\"a; b|a\",c,2025-01-02 03:04:05,2026-12-31T00:00:00.5Z\n" +
		"198.51.100.2,high,,,yesterday,\n"
	m := CSVMapping{Value: "v", Confidence: "conf", Tags: "tags,extra", ValidFrom: "from", ValidUntil: "until"}
	res, err := Load(strings.NewReader(in), LoadOptions{Format: FormatCSV, CSV: m, Defaults: Meta{Confidence: 30, Tags: []string{"default"}}})
	if err != nil {
		t.Fatal(err)
	}
	a, b := res.Indicators.Indicators()[0], res.Indicators.Indicators()[1]
	if a.Meta.Confidence != 100 || !reflect.DeepEqual(a.Meta.Tags, []string{"a", "b", "c", "default"}) ||
		a.Meta.ValidFrom.Format("2006-01-02 15:04:05") != "2025-01-02 03:04:05" || a.Meta.ValidUntil.Nanosecond() != 5e8 {
		t.Errorf("first row: confidence %d (want 100, clamped), tags %q (want a b c, then the default tag), from %v, until %v", a.Meta.Confidence, a.Meta.Tags, a.Meta.ValidFrom, a.Meta.ValidUntil)
	}
	if b.Meta.Confidence != 30 || !reflect.DeepEqual(b.Meta.Tags, []string{"default"}) || !b.Meta.ValidFrom.IsZero() {
		t.Errorf("second row: confidence %d (want the default 30), tags %q (want the default), from %v (want zero: unparsable)", b.Meta.Confidence, b.Meta.Tags, b.Meta.ValidFrom)
	}
}

func TestLoadCSVReportsReadErrorsWithTheLine(t *testing.T) {
	boom := errors.New("connection reset")
	r := io.MultiReader(strings.NewReader("# c\nip\n198.51.100.1\n198.51.100.2\n"), iotest.ErrReader(boom))
	_, err := Load(r, LoadOptions{Name: "f.csv", Format: FormatCSV})
	if !errors.Is(err, boom) || !strings.HasPrefix(err.Error(), "f.csv:5: read: ") {
		t.Fatalf("Load error = %v, want f.csv:5: read: … wrapping %v", err, boom)
	}
}

// TestLoadThreatFoxNewerExport reads the export layout with the
// is_compromised column and the entry-count footer.
func TestLoadThreatFoxNewerExport(t *testing.T) {
	in := "################################################################\n" +
		"# ThreatFox IOCs: recent - CSV format                           #\n" +
		"################################################################\n#\n" +
		`# "first_seen_utc","ioc_id","ioc_value","ioc_type","threat_type","fk_malware","malware_alias","malware_printable","last_seen_utc","confidence_level","is_compromised","reference","tags","anonymous","reporter"` + "\n" +
		`"2026-01-01 00:00:00", "12", "https://shop.example/wp/gate.php", "url", "botnet_cc", "x", "None", "X", "", "75", "True", "None", "None", "0", "r"` + "\n" +
		`"2026-01-01 00:00:01", "13", "198.51.100.9:443", "ip:port", "botnet_cc", "x", "None", "X", "", "50", "False", "None", "c2", "0", "r"` + "\n" +
		"# Number of entries: 2\n"
	res, err := Load(strings.NewReader(in), LoadOptions{Name: "tf.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Format != FormatThreatFox || len(res.Indicators.Indicators()) != 2 || len(res.Refused) != 0 {
		t.Fatalf("format %s, %d indicators, refused %v", res.Format, len(res.Indicators.Indicators()), res.Refused)
	}
	a, b := res.Indicators.Indicators()[0], res.Indicators.Indicators()[1]
	if !reflect.DeepEqual(a.Meta.Tags, []string{"botnet_cc", "X", "compromised"}) || a.Meta.Reference != "https://threatfox.abuse.ch/ioc/12/" || a.Meta.Confidence != 75 {
		t.Errorf("first: tags %q reference %q confidence %d", a.Meta.Tags, a.Meta.Reference, a.Meta.Confidence)
	}
	if b.Value != "198.51.100.9" || !reflect.DeepEqual(b.Meta.Tags, []string{"botnet_cc", "X", "c2"}) {
		t.Errorf("second: %q tags %q", b.Value, b.Meta.Tags)
	}
}

// TestLoadCSVHeaderless checks when the first row of a generic CSV is read
// as data (a plain list saved as ".csv") and when as a header, and that the
// result says which.
func TestLoadCSVHeaderless(t *testing.T) {
	const headerless = "no header row: column 1 read as the value"
	tests := []struct {
		name    string
		format  string // default: auto
		m       CSVMapping
		in      string
		values  []string // kind:value@origin
		notes   []string
		refused []string
		err     string
	}{
		{
			name: "a plain list saved as .csv keeps its first value", in: "203.0.113.5\n198.51.100.0/24\nevil.example\n",
			values: []string{"ip:203.0.113.5@f.csv:1", "cidr:198.51.100.0/24@f.csv:2", "domain:evil.example@f.csv:3"},
			notes:  []string{headerless},
		},
		{
			name: "comments before the first value", in: "# watchlist\n\n198.51.100.0/24\n203.0.113.5\n",
			values: []string{"cidr:198.51.100.0/24@f.csv:3", "ip:203.0.113.5@f.csv:4"}, notes: []string{headerless},
		},
		{
			name: "an IPv6 address first", in: "2001:db8::5\r\nevil.example\r\n",
			values: []string{"ip:2001:db8::5@f.csv:1", "domain:evil.example@f.csv:2"}, notes: []string{headerless},
		},
		{
			name: "a URL first", in: "https://files.bad-cdn.example/stage2.bin\nbad-cdn.example/x\n",
			values: []string{"url:https://files.bad-cdn.example/stage2.bin@f.csv:1", "url:bad-cdn.example/x@f.csv:2"},
			notes:  []string{headerless},
		},
		{
			name: "a defanged value first", in: "hxxp://evil[.]example/x\n",
			values: []string{"url:http://evil.example/x@f.csv:1"}, notes: []string{headerless},
		},
		{
			name: "a list of one value", in: "evil.example",
			values: []string{"domain:evil.example@f.csv:1"}, notes: []string{headerless},
		},
		{
			name: "rows with more columns and no header: the first column", in: "203.0.113.5,2025-12-01,Qakbot\nevil.example,2025-12-02,Qakbot\n",
			values: []string{"ip:203.0.113.5@f.csv:1", "domain:evil.example@f.csv:2"}, notes: []string{headerless},
		},
		{
			name: "a ';'-separated list without a header", in: "203.0.113.5;c2\nevil.example;phish\n",
			values: []string{"ip:203.0.113.5@f.csv:1", "domain:evil.example@f.csv:2"}, notes: []string{headerless},
		},
		{
			name: "columns mapped by index read a headerless first row", format: FormatCSV, m: CSVMapping{Value: "#2", Tags: "#3"},
			in:     "2025-12-01,203.0.113.5,Qakbot\n2025-12-02,evil.example,Qakbot\n",
			values: []string{"ip:203.0.113.5@f.csv:1", "domain:evil.example@f.csv:2"},
			notes:  []string{"no header row: column 2 read as the value"},
		},
		{
			name: "a kind column's cell is not taken for a header name", format: FormatCSV, m: CSVMapping{Value: "#1", Kind: "#2"},
			in:     "203.0.113.5,ip\nevil.example,domain\n",
			values: []string{"ip:203.0.113.5@f.csv:1", "domain:evil.example@f.csv:2"}, notes: []string{headerless},
		},
		{
			name: "NoHeader says so itself: no note", format: FormatCSV, m: CSVMapping{NoHeader: true},
			in: "203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:1"},
		},
		{
			name: "a header mapped by name is still required", format: FormatCSV, m: CSVMapping{Value: "ip"},
			in: "203.0.113.5\n198.51.100.7\n", err: `f.csv:1: CSV header: value column "ip" not found in the header (columns: 203.0.113.5)`,
		},
		// One-column headers: each is a header, the values below it load.
		{name: "header ioc", in: "ioc\n203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:2"}},
		{name: "header IOC", in: "IOC\n203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:2"}},
		{name: "header IOCs", in: "IOCs\n203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:2"}},
		{name: "header indicator", in: "indicator\n203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:2"}},
		{name: "header Indicators", in: "Indicators\n203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:2"}},
		{name: "header Indicator Value", in: "Indicator Value\n203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:2"}},
		{name: "header value", in: "value\n203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:2"}},
		{name: "header values", in: "\"values\"\n203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:2"}},
		{name: "header ip", in: "ip\n203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:2"}},
		{name: "header IP Address", in: "IP Address\n203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:2"}},
		{name: "header ips", in: "ips\n203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:2"}},
		{name: "header domains", in: "domains\nevil.example\n", values: []string{"domain:evil.example@f.csv:2"}},
		{name: "header urls", in: "urls\nhttp://evil.example/x\n", values: []string{"url:http://evil.example/x@f.csv:2"}},
		{
			name: "a preset's column names make a header", format: FormatCSV, in: "first_seen_utc,dst_ip\n2025-12-01,203.0.113.5\n",
			values: []string{"ip:203.0.113.5@f.csv:2"},
		},
		// Unknown headers stay headers, and the result says so.
		{
			name: "an unknown header of words", in: "C2 servers\n203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:2"},
			notes: []string{"first row read as the header, though it names no known column (C2 servers): column 1 read as the value"},
		},
		{
			name: "an unknown one-word header is not a one-label domain", in: "blocklist\n203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:2"},
			notes: []string{"first row read as the header, though it names no known column (blocklist): column 1 read as the value"},
		},
		{
			name: "a header like ip/cidr is not a URL", in: "ip/cidr,note\n203.0.113.5,x\n", values: []string{"ip:203.0.113.5@f.csv:2"},
			notes: []string{"first row read as the header, though it names no known column (ip/cidr, note): column 1 read as the value"},
		},
		{
			name: "a dotted field name is not a domain", in: "destination.ip\n203.0.113.5\n", values: []string{"ip:203.0.113.5@f.csv:2"},
			notes: []string{"first row read as the header, though it names no known column (destination.ip): column 1 read as the value"},
		},
		{
			name: "a first cell that is no indicator makes a header", in: "2025-12-01,203.0.113.5\n2025-12-02,evil.example\n",
			refused: []string{`f.csv:2: "2025-12-02": single-label name refused`},
			notes:   []string{"first row read as the header, though it names no known column (2025-12-01, 203.0.113.5): column 1 read as the value"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Load(strings.NewReader(tt.in), LoadOptions{Name: "f.csv", Format: tt.format, CSV: tt.m})
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("Load error = %v, want %s", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != FormatCSV {
				t.Fatalf("format %s, want csv", res.Format)
			}
			got, refused := loadedAndRefused(res)
			if !reflect.DeepEqual(got, tt.values) || !reflect.DeepEqual(res.Notes, tt.notes) || !reflect.DeepEqual(refused, tt.refused) {
				t.Fatalf("loaded %q notes %q refused %q, want %q, notes %q, refused %q", got, res.Notes, refused, tt.values, tt.notes, tt.refused)
			}
		})
	}
}

// loadFeed loads in (a feed named feed.txt in format) under g and lists
// what loadedAndRefused lists.
func loadFeed(t *testing.T, format, in string, g Guard) (got, refused []string) {
	t.Helper()
	res, err := Load(strings.NewReader(in), LoadOptions{Name: "feed.txt", Format: format, Guard: g})
	if err != nil {
		t.Fatal(err)
	}
	return loadedAndRefused(res)
}

// loadedAndRefused lists a load's indicators as kind:value@origin and its
// refusals as their messages.
func loadedAndRefused(res *LoadResult) (got, refused []string) {
	for _, ind := range res.Indicators.Indicators() {
		got = append(got, ind.Kind.String()+":"+ind.Value+"@"+ind.Origin())
	}
	for _, r := range res.Refused {
		refused = append(refused, r.String())
	}
	return got, refused
}

// A MISP CSV export (testdata/feeds/csv-misp-export, in the layout of
// MISP's CsvExport) marks the attributes that are context, not detection
// indicators, with to_ids 0: they are skipped and counted as MISP JSON's
// are, and the rest loads, a domain|ip as both halves (the one the guard
// refuses refused at its line), with the attribute's tags.
func TestLoadMISPCSVExportHonoursToIDs(t *testing.T) {
	f, err := os.Open(filepath.Join("testdata", "feeds", "csv-misp-export", "input.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Load(f, LoadOptions{Name: "event.csv"})
	if err != nil {
		t.Fatal(err)
	}
	got := mispLoaded(res)
	_, refused := loadedAndRefused(res)
	tactic := `tlp:clear; misp-galaxy:mitre-attack-pattern="Application Layer Protocol - T1071"`
	want := []string{
		"ip:203.0.113.10@event.csv:2 [tlp:clear]", "domain:update-check.example@event.csv:4 [tlp:clear; kill-chain:Command and Control]",
		"url:http://update-check.example/gate.php@event.csv:6",
		"ip:203.0.113.11@event.csv:10", "domain:mail.update-check.example@event.csv:11",
		"domain:update-check.example@event.csv:12 [" + tactic + "]", "ip:203.0.113.10@event.csv:12 [" + tactic + "]",
		"domain:relay.update-check.example@event.csv:13 [tlp:amber]", "ip:192.0.2.44@event.csv:16 [tlp:clear]",
	}
	wantRefused := []string{`event.csv:13: "relay.update-check.example|10.20.30.40": private range refused`}
	if res.Format != FormatCSV || !reflect.DeepEqual(got, want) || !reflect.DeepEqual(refused, wantRefused) {
		t.Fatalf("format %s, loaded %q, refused %q; want csv, %q, refused %q", res.Format, got, refused, want, wantRefused)
	}
	if n := res.SkippedReasons["misp to_ids=false"]; n != 4 {
		t.Errorf("skipped %s; want misp to_ids=false: 4", res.SkippedSummary())
	}
}

// The to_ids column of a CSV is read as MISP writes it (1/0), and as a
// spreadsheet or another tool may (true/false in any case); an empty cell
// says nothing, as an absent to_ids in MISP JSON, and loads; any other
// value refuses its row rather than guess.
func TestLoadCSVToIDsValues(t *testing.T) {
	tests := []struct {
		cell    string
		load    bool
		refused string
	}{
		{cell: "1", load: true},
		{cell: "0"},
		{cell: "true", load: true},
		{cell: "false"},
		{cell: "True", load: true},
		{cell: "False"},
		{cell: "TRUE", load: true},
		{cell: "FALSE"},
		{cell: " 0 "},
		{cell: "", load: true},
		{cell: "yes", refused: `f.csv:2: "203.0.113.5": to_ids "yes": want 1, 0, true or false`},
	}
	for _, tt := range tests {
		for _, header := range []string{"value,type,to_ids", "Value,Type,To_IDs"} {
			t.Run(header+"/"+tt.cell, func(t *testing.T) {
				in := header + "\n203.0.113.5,ip-dst," + tt.cell + "\n"
				res, err := Load(strings.NewReader(in), LoadOptions{Name: "f.csv"})
				if err != nil {
					t.Fatal(err)
				}
				got, refused := loadedAndRefused(res)
				switch {
				case tt.refused != "":
					if len(got) != 0 || !reflect.DeepEqual(refused, []string{tt.refused}) {
						t.Fatalf("loaded %q refused %q, want refused %q", got, refused, tt.refused)
					}
				case tt.load:
					if len(got) != 1 || len(refused) != 0 || res.Skipped != 0 {
						t.Fatalf("loaded %q refused %q skipped %s, want it loaded", got, refused, res.SkippedSummary())
					}
				default:
					if len(got) != 0 || len(refused) != 0 || res.SkippedReasons["misp to_ids=false"] != 1 {
						t.Fatalf("loaded %q refused %q skipped %s, want it skipped as misp to_ids=false", got, refused, res.SkippedSummary())
					}
				}
			})
		}
	}
	// A mapped CSV honours the column too, and a row of an unused type
	// is counted by its type first, as MISP JSON counts it.
	in := "ioc,kind,to_ids\n203.0.113.5,ip,0\nd41d8cd98f00b204e9800998ecf8427e,md5,0\nevil.example,domain,1\n"
	res, err := Load(strings.NewReader(in), LoadOptions{Name: "f.csv", Format: FormatCSV, CSV: CSVMapping{Value: "ioc", Kind: "kind"}})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := loadedAndRefused(res)
	if !reflect.DeepEqual(got, []string{"domain:evil.example@f.csv:4"}) || res.SkippedSummary() != "csv kind: md5: 1, misp to_ids=false: 1" {
		t.Fatalf("loaded %q skipped %q", got, res.SkippedSummary())
	}
}
