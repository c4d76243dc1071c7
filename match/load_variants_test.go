package match

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestLoadPublisherVariants loads forms the real publishers emit that the
// samples in testdata/iocs do not show. Each is read for what it is, or
// refused or skipped with its reason: never misread.
func TestLoadPublisherVariants(t *testing.T) {
	const feodoPreamble = "################################################################\n" +
		"# abuse.ch Feodo Tracker Botnet C2 IP Blocklist (CSV)          #\n" +
		"# Last updated: 2021-05-03 13:20:06 UTC                        #\n" +
		"################################################################\n" +
		"#\n"
	stixBundle := func(objs ...string) string {
		return `{"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": [` + strings.Join(objs, ",\n") + `]}`
	}
	const (
		ind1v1 = `{"type": "indicator", "spec_version": "2.1", "id": "indicator--a1", "created": "2024-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z", "pattern": "[domain-name:value = 'old.example']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"}`
		ind1v2 = `{"type": "indicator", "spec_version": "2.1", "id": "indicator--a1", "created": "2024-01-01T00:00:00.000Z", "modified": "2024-06-01T00:00:00.000Z", "pattern": "[domain-name:value = 'new.example']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"}`
		ind1v3 = `{"type": "indicator", "spec_version": "2.1", "id": "indicator--a1", "created": "2024-01-01T00:00:00.000Z", "modified": "2024-09-01T00:00:00.000Z", "pattern": "[domain-name:value = 'new.example']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z", "revoked": true}`
	)
	tests := []struct {
		name    string
		feed    string // LoadOptions.Name
		format  string // LoadOptions.Format; "" detects it
		in      string
		want    string   // the format used
		values  []string // kind:value
		refused []string // Refusal.String()
		skipped string   // SkippedSummary
		notes   []string
		check   func(t *testing.T, res *LoadResult)
	}{
		{
			name: "a text list whose first value has an inline comment holding a comma is text, not CSV",
			feed: "c2.txt", in: "# C2 servers\n203.0.113.5 # Emotet, epoch 4\n198.51.100.7 # QakBot\nevil.example\n",
			want: FormatText, values: []string{"ip:203.0.113.5", "ip:198.51.100.7", "domain:evil.example"},
		},
		{
			name: "a list whose ';' comment line holds a comma (Spamhaus DROP) is text, not CSV",
			feed: "drop.txt", in: "; Last-Modified: Tue, 14 May 2024 14:19:34 GMT\n; Spamhaus DROP List 2024/05/14 - (c) 2024 The Spamhaus Project SLC\n198.51.100.0/24 ; SBL256894\n203.0.113.0/24 ; SBL2\n",
			want: FormatText, values: []string{"cidr:198.51.100.0/24", "cidr:203.0.113.0/24"},
		},
		{
			name: "a value with '#' right after its host is refused, not read as a URL for the host's root",
			feed: "c2.txt", in: "203.0.113.5#c2\nevil.example#c2\nhttp://evil.example/#frag\nevil.example/#x\n",
			want: FormatText, values: []string{"url:http://evil.example/#frag", "url:evil.example/#x"},
			refused: []string{
				`c2.txt:1: "203.0.113.5#c2": '#' right after the host: an inline comment needs whitespace before the '#', a URL its scheme or path (evil.example/#frag)`,
				`c2.txt:2: "evil.example#c2": '#' right after the host: an inline comment needs whitespace before the '#', a URL its scheme or path (evil.example/#frag)`,
			},
		},
		{
			name: "a value typed as a URL with '#' right after its host is a URL with a fragment, not a value and a comment (Defender CSV)",
			feed: "defender.csv", in: "IndicatorType,IndicatorValue,ExpirationTime,Action,Severity,Title,Description,RecommendedActions,RbacGroups,Category,MitreTechniques,GenerateAlert\n" +
				"Url,evil.example#frag,,Alert,High,C2,C2 page,,,,,TRUE\nUrl,203.0.113.5#x,,Alert,High,C2,C2 page,,,,,TRUE\nDomainName,c2.example#x,,Alert,High,C2,C2 page,,,,,TRUE\n",
			want: FormatDefenderCSV, values: []string{"url:evil.example/#frag", "url:203.0.113.5/#x"},
			refused: []string{`defender.csv:4: "c2.example#x": '#' right after the host: an inline comment needs whitespace before the '#', a URL its scheme or path (evil.example/#frag)`},
		},
		{
			name: "a value typed as a URL with '#' right after its host is a URL with a fragment (STIX url:value)",
			feed: "b.json", in: stixBundle(`{"type": "indicator", "id": "indicator--u1", "pattern": "[url:value = 'evil.example#frag']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"}`),
			want: FormatSTIX2, values: []string{"url:evil.example/#frag"},
		},
		{
			name: "a value typed as a URL with '#' right after its host is a URL with a fragment (MISP url)",
			feed: "e.json", in: `{"Event": {"info": "x", "Attribute": [{"type": "url", "value": "evil.example#frag", "to_ids": true}, {"type": "domain", "value": "c2.example#x", "to_ids": true}]}}`,
			want: FormatMISP, values: []string{"url:evil.example/#frag"},
			refused: []string{`e.json: Attribute[1]: "c2.example#x": domain: '#' right after the host: an inline comment needs whitespace before the '#', a URL its scheme or path (evil.example/#frag)`},
		},
		{
			name: "a value in a CSV row of kind url with '#' right after its host is a URL with a fragment",
			feed: "c2.csv", in: "indicator,type\nevil.example#frag,url\n203.0.113.5#c2,ip\n",
			want: FormatCSV, values: []string{"url:evil.example/#frag"},
			refused: []string{`c2.csv:3: "203.0.113.5#c2": '#' right after the host: an inline comment needs whitespace before the '#', a URL its scheme or path (evil.example/#frag)`},
		},
		{
			name: "a CSV cell of a value, whitespace and a '#' comment is refused for the whitespace",
			feed: "c2.csv", in: "indicator,comment\nevil.example #c2,x\n203.0.113.5,y\n",
			want: FormatCSV, values: []string{"ip:203.0.113.5"},
			refused: []string{`c2.csv:2: "evil.example #c2": whitespace inside the value (an inline comment? a URL with spaces needs its scheme)`},
		},
		{
			name: "a Feodo Tracker blocklist with its header in a comment line is detected and loads",
			feed: "ipblocklist.csv", in: feodoPreamble + "# first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware\n" +
				`"2021-01-17 07:44:46","203.0.113.5","443","online","2021-05-03","Dridex"` + "\n# END 1 entries",
			want: FormatFeodo, values: []string{"ip:203.0.113.5"},
			check: func(t *testing.T, res *LoadResult) {
				m := res.Indicators.At(0).Meta
				if m.Source != "feodotracker" || !reflect.DeepEqual(m.Tags, []string{"Dridex"}) || !m.ValidFrom.Equal(time.Date(2021, 1, 17, 7, 44, 46, 0, time.UTC)) {
					t.Errorf("meta %+v, want source feodotracker, tag Dridex, valid from the first_seen_utc", *m)
				}
			},
		},
		{
			name: "format feodo reads the header from a comment line too",
			feed: "feodo", format: FormatFeodo, in: feodoPreamble + "# first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware\n" +
				`"2021-01-17 07:44:46","203.0.113.5","443","online","2021-05-03","Dridex"` + "\n",
			want: FormatFeodo, values: []string{"ip:203.0.113.5"},
		},
		{
			name: "the current Feodo Tracker header (quoted, after an empty comment) still loads",
			feed: "feodo", format: FormatFeodo, in: feodoPreamble + `"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"` + "\n" +
				`"2024-02-08 19:20:49","203.0.113.6","5000","offline","2024-03-11","Pikabot"` + "\n",
			want: FormatFeodo, values: []string{"ip:203.0.113.6"},
		},
		{
			name: "a CSV whose header is its last comment line (the 2020 Feodo Tracker list) loads by that header",
			feed: "ipblocklist.csv", in: feodoPreamble + "# Firstseen,DstIP,DstPort,LastOnline,Malware\n" +
				"2020-10-29 19:16:38,203.0.113.7,80,2020-11-02,Heodo\n2020-10-29 19:16:35,198.51.100.8,8080,2020-11-02,Heodo\n",
			want: FormatCSV, values: []string{"ip:203.0.113.7", "ip:198.51.100.8"},
			notes: []string{"header read from the comment on line 6: Firstseen, DstIP, DstPort, LastOnline, Malware"},
			check: func(t *testing.T, res *LoadResult) {
				m := res.Indicators.At(0).Meta
				if !reflect.DeepEqual(m.Tags, []string{"Heodo"}) || !m.ValidFrom.Equal(time.Date(2020, 10, 29, 19, 16, 38, 0, time.UTC)) {
					t.Errorf("meta %+v, want tag Heodo and valid from the Firstseen column", *m)
				}
			},
		},
		{
			name: "the SSLBL botnet C2 IP list (header in a comment) loads its DstIP column",
			feed: "sslipblacklist.csv", in: "################################################################\n# abuse.ch SSLBL Botnet C2 IP Blacklist (CSV)                  #\n#\n# Firstseen,DstIP,DstPort\n2024-03-01 10:00:00,203.0.113.8,443\n",
			want: FormatCSV, values: []string{"ip:203.0.113.8"},
			notes: []string{"header read from the comment on line 4: Firstseen, DstIP, DstPort"},
		},
		{
			name: "a comment line that does not fit the data is not taken for the header",
			feed: "c2.csv", in: "# exported by hand, 2024\nindicator,type\n203.0.113.9,ip\n",
			want: FormatCSV, values: []string{"ip:203.0.113.9"},
		},
		{
			name: "a CSV line of only white space is blank, as an empty line is",
			feed: "feodo", format: FormatFeodo, in: `"first_seen_utc","dst_ip","dst_port","c2_status","last_online","malware"` + "\r\n" +
				`"2024-02-08 19:20:49","203.0.113.6","5000","offline","2024-03-11","Pikabot"` + "\r\n   \r\n\t\r\n\r\n" +
				`"2024-02-08 19:20:49","203.0.113.7","5000","offline","2024-03-11","Pikabot"` + "\r\n# END 2 entries",
			want: FormatFeodo, values: []string{"ip:203.0.113.6", "ip:203.0.113.7"},
		},
		{
			name: "a MISP feed's hashes.csv has every row refused as a hash, the first too",
			feed: "hashes.csv", in: "0123456789abcdef0123456789abcdef,5c3c4e0c-0000-4000-8000-000000000001\nFEDCBA9876543210FEDCBA9876543210,5c3c4e0c-0000-4000-8000-000000000001\n",
			want: FormatCSV, notes: []string{"no header row: column 1 read as the value"},
			refused: []string{
				`hashes.csv:1: "0123456789abcdef0123456789abcdef": single-label name refused: it looks like an MD5 hash, and file hashes are not matched`,
				`hashes.csv:2: "FEDCBA9876543210FEDCBA9876543210": single-label name refused: it looks like an MD5 hash, and file hashes are not matched`,
			},
		},
		{
			name: "a STIX object given in several versions counts in its latest version only: a later revocation wins",
			feed: "b.json", in: stixBundle(ind1v1, ind1v3, ind1v2),
			want: FormatSTIX2, skipped: "stix older version: 2, stix revoked: 1",
		},
		{
			name: "a STIX indicator's latest version replaces the value of the older one",
			feed: "b.json", in: stixBundle(ind1v2, ind1v1),
			want: FormatSTIX2, values: []string{"domain:new.example"}, skipped: "stix older version: 1",
		},
		{
			name: "a revoked relationship or malware adds no tag",
			feed: "b.json", in: stixBundle(
				`{"type": "malware", "id": "malware--m1", "name": "Emotet", "is_family": true}`,
				`{"type": "malware", "id": "malware--m2", "name": "Withdrawn", "is_family": true, "revoked": true}`,
				`{"type": "malware", "id": "malware--m3", "name": "Unrelated", "is_family": true}`,
				`{"type": "indicator", "id": "indicator--i1", "pattern": "[ipv4-addr:value = '203.0.113.10']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"}`,
				`{"type": "relationship", "id": "relationship--r1", "relationship_type": "indicates", "source_ref": "indicator--i1", "target_ref": "malware--m1"}`,
				`{"type": "relationship", "id": "relationship--r2", "relationship_type": "indicates", "source_ref": "indicator--i1", "target_ref": "malware--m2"}`,
				`{"type": "relationship", "id": "relationship--r3", "relationship_type": "indicates", "source_ref": "indicator--i1", "target_ref": "malware--m3", "revoked": true}`),
			want: FormatSTIX2, values: []string{"ip:203.0.113.10"},
			check: func(t *testing.T, res *LoadResult) {
				if tags := res.Indicators.At(0).Meta.Tags; !reflect.DeepEqual(tags, []string{"Emotet"}) {
					t.Errorf("tags %q, want only the malware of the relationship that stands", tags)
				}
			},
		},
		{
			name: "a network-traffic reference value is an address or a name, not a URL",
			feed: "b.json", in: stixBundle(`{"type": "indicator", "id": "indicator--n1", "pattern": "[network-traffic:dst_ref.value = 'http://evil.example/gate.php' OR network-traffic:dst_ref.value = 'c2.example']", "pattern_type": "stix", "valid_from": "2024-01-01T00:00:00Z"}`),
			want: FormatSTIX2, values: []string{"domain:c2.example"},
			refused: []string{`b.json: indicator--n1: "http://evil.example/gate.php": not a domain (it reads as a URL)`},
		},
		{
			name: "the attributes of a deleted MISP object are skipped",
			feed: "e.json", in: `{"Event": {"info": "x", "Object": [
				{"name": "ip-port", "deleted": true, "Attribute": [{"type": "ip-dst", "value": "203.0.113.11", "to_ids": true, "deleted": false}]},
				{"name": "domain-ip", "deleted": false, "Attribute": [{"type": "domain", "value": "kept.example", "to_ids": true}]}]}}`,
			want: FormatMISP, values: []string{"domain:kept.example"}, skipped: "misp deleted: 1",
		},
		{
			name: "only a defanged scheme is refanged: a name that starts with hxxp stays as it is",
			feed: "c2.txt", in: "hxxpress.example\nhxxps://evil.example/a\nHXXP[:]//evil.example/b\nhxxp[://]evil.example/c\n",
			want: FormatText, values: []string{"domain:hxxpress.example", "url:https://evil.example/a", "url:http://evil.example/b", "url:http://evil.example/c"},
		},
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Load(strings.NewReader(tt.in), LoadOptions{Name: tt.feed, Format: tt.format, Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if res.Format != tt.want {
				t.Errorf("format %s, want %s", res.Format, tt.want)
			}
			var refused []string
			for _, r := range res.Refused {
				refused = append(refused, r.String())
			}
			if got := ldKindValues(res); !reflect.DeepEqual(got, tt.values) {
				t.Errorf("loaded %q, want %q", got, tt.values)
			}
			if !reflect.DeepEqual(refused, tt.refused) {
				t.Errorf("refused %q, want %q", refused, tt.refused)
			}
			if got := res.SkippedSummary(); got != tt.skipped {
				t.Errorf("skipped %q, want %q", got, tt.skipped)
			}
			if !reflect.DeepEqual(res.Notes, tt.notes) {
				t.Errorf("notes %q, want %q", res.Notes, tt.notes)
			}
			if tt.check != nil && !t.Failed() {
				tt.check(t, res)
			}
		})
	}
}

// The JSON forms of the abuse.ch lists and a MISP feed's manifest are no
// format iocwatch reads: the error says so, rather than offering the line
// formats, which would read the JSON as lines of junk.
func TestLoadOtherJSONNamesWhatToDo(t *testing.T) {
	for name, in := range map[string]string{
		"ipblocklist.json": `[{"ip_address": "203.0.113.5", "port": 443, "status": "online", "hostname": null, "malware": "QakBot"}]`,
		"threatfox.json":   "\ufeff{\n  \"1085434\": [{\"ioc_value\": \"203.0.113.5:443\", \"ioc_type\": \"ip:port\"}]\n}",
		"manifest.json":    `{"5c3c4e0c-0000-4000-8000-000000000001": {"info": "OSINT - x", "Orgc": {"name": "CIRCL"}}}`,
	} {
		_, err := Load(strings.NewReader(in), LoadOptions{Name: name})
		want := name + ": cannot detect the feed format from its first bytes: JSON that is neither a STIX bundle nor a MISP event; " +
			"other JSON (abuse.ch's JSON exports, a MISP feed's manifest.json) is not read: use the publisher's CSV or text form, or set the format if it is stix2 or misp"
		if err == nil || err.Error() != want {
			t.Errorf("%s: Load error = %v, want %s", name, err, want)
		}
	}
}
