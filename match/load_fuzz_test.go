package match

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// ldCheckResult checks what every successful Load promises: indicators
// are canonical (a fixed point of ParseValue, or a lower-case pattern),
// pass the guard, and name the feed in their origin; refusals say where
// and why; skips add up.
func ldCheckResult(t *testing.T, res *LoadResult, name string, g Guard) {
	t.Helper()
	for _, ind := range res.Indicators.Indicators() {
		if ind.Kind == KindPattern {
			if ind.Value != strings.ToLower(strings.TrimSpace(ind.Value)) || ind.Value == "" {
				t.Fatalf("pattern %q is not canonical", ind.Value)
			}
		} else if k, v, err := ParseValue(ind.Value); err != nil || k != ind.Kind || v != ind.Value {
			t.Fatalf("indicator %s %q from %s does not parse back: %s %q %v", ind.Kind, ind.Value, ind.Origin(), k, v, err)
		}
		if r := g.Check(ind.Kind, ind.Value); r != "" {
			t.Fatalf("indicator %s %q passed Load but the guard says %s", ind.Kind, ind.Value, r)
		}
		if !strings.HasPrefix(ind.Origin(), name+":") {
			t.Fatalf("origin %q does not name the feed %q", ind.Origin(), name)
		}
	}
	for _, r := range res.Refused {
		if r.Reason == "" || !strings.HasPrefix(r.Origin, name+":") {
			t.Fatalf("refusal without a reason or origin: %+v", r)
		}
	}
	n := 0
	for _, c := range res.SkippedReasons {
		n += c
	}
	if n != res.Skipped {
		t.Fatalf("Skipped = %d but the reasons add up to %d", res.Skipped, n)
	}
}

// FuzzLoadCSV checks that the CSV readers (generic with a mapping, and the
// abuse.ch and Defender presets) never panic, and keep Load's promises.
func FuzzLoadCSV(f *testing.F) {
	// Feodo: preamble, quoted header, footer without a newline.
	f.Add("feodo", []byte("# Feodo\n\"first_seen_utc\",\"dst_ip\",\"dst_port\",\"c2_status\",\"last_online\",\"malware\"\n\"2025-12-01 00:00:00\",\"198.51.100.1\",\"443\",\"online\",\"2025-12-31\",\"QakBot\"\n# END 1 entries"))
	// URLhaus: header in a comment, None for empty.
	f.Add("urlhaus", []byte("# id,dateadded,url,url_status,last_online,threat,tags,urlhaus_link,reporter\n\"1\",\"2025-12-01 00:00:00\",\"http://198.51.100.2/x\",\"online\",\"None\",\"malware_download\",\"None\",\"https://urlhaus.abuse.ch/url/1/\",\"r\"\n"))
	// ThreatFox: ", " separators, IPv6 ip:port without brackets, a hash.
	f.Add("threatfox", []byte("# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\",\"fk_malware\",\"malware_alias\",\"malware_printable\",\"last_seen_utc\",\"confidence_level\",\"reference\",\"tags\",\"anonymous\",\"reporter\"\n\"2025-12-01 00:00:00\", \"7\", \"2001:db8::1:443\", \"ip:port\", \"botnet_cc\", \"x\", \"None\", \"X\", \"\", \"75\", \"\", \"c2\", \"0\", \"r\"\n\"2025-12-01 00:00:00\", \"8\", \"ab12\", \"md5_hash\", \"payload\", \"x\", \"None\", \"X\", \"\", \"75\", \"\", \"None\", \"0\", \"r\"\n"))
	// Defender: allowed rows and hash types are skipped.
	f.Add("defender-csv", []byte("IndicatorType,IndicatorValue,ExpirationTime,Action,Severity,Title,Description\nIpAddress,198.51.100.3,,Block,High,t,d\nUrl,bad.example,,Allowed,Low,t,\nFileSha256,ab,,Block,High,t,\n"))
	// Generic: guessed columns, quotes spanning lines, bare quotes, short rows.
	f.Add("csv", []byte("indicator,type,tags\n198.51.100.4,ip,\"a;b|c\"\n\"multi\nline\",domain,x\nbad\"quote,url\nshort\n"))
	f.Add("csv", []byte("\xef\xbb\xbf# c\r\nvalue\r\n10.0.0.0/8\r\n,\r\n"))
	// Generic: no header row, the first value is data.
	f.Add("csv", []byte("203.0.113.5\n198.51.100.0/24\nevil.example\n"))
	// Generic and Feodo: the header as the last comment line, a blank line of spaces.
	f.Add("csv", []byte("# SSLBL\n# Firstseen,DstIP,DstPort\n2024-03-01 10:00:00,203.0.113.8,443\n  \n"))
	f.Add("feodo", []byte("#\n# first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware\n\"2021-01-17 07:44:46\",\"203.0.113.5\",\"443\",\"online\",\"2021-05-03\",\"Dridex\"\n"))
	f.Fuzz(func(t *testing.T, format string, data []byte) {
		switch format {
		case FormatCSV, FormatFeodo, FormatURLhaus, FormatThreatFox, FormatDefenderCSV:
		default:
			format = FormatCSV
		}
		res, err := Load(bytes.NewReader(data), LoadOptions{Name: "fuzz.csv", Format: format, Now: time.Unix(1.7e9, 0)})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.csv") {
				t.Fatalf("error %q does not name the feed", err)
			}
			return
		}
		ldCheckResult(t, res, "fuzz.csv", Guard{})
	})
}

// FuzzLoadJSON checks that the STIX and MISP readers never panic on any
// JSON (or not-JSON) input, and keep Load's promises.
func FuzzLoadJSON(f *testing.F) {
	// STIX: a bundle with an identity, a relationship and indicators.
	f.Add("stix2", []byte(`{"type":"bundle","objects":[{"type":"identity","id":"identity--1","name":"CERT"},`+
		`{"type":"indicator","id":"indicator--1","created_by_ref":"identity--1","pattern":"[ipv4-addr:value = '198.51.100.1'] OR [url:value = 'http://e.example/\\'x']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z","labels":["c2"],"confidence":50},`+
		`{"type":"relationship","relationship_type":"indicates","source_ref":"indicator--1","target_ref":"malware--1"},{"type":"malware","id":"malware--1","name":"X"}]}`))
	// STIX: a bare list with broken objects.
	f.Add("stix2", []byte(`[{"type":"indicator","pattern":"[file:hashes.MD5 = 'ab']"},{"type":1},"x",{"type":"indicator","revoked":true}]`))
	// MISP: a response with objects, pairs and to_ids strings.
	f.Add("misp", []byte(`{"response":[{"Event":{"info":"i","Orgc":{"name":"O"},"Tag":[{"name":"t"}],"Attribute":[{"type":"domain|ip","value":"a.example|198.51.100.5","to_ids":"1"},{"type":"url","value":"igfxtray.exe"}],"Object":[{"Attribute":[{"type":"ip-dst|port","value":"198.51.100.6|80","to_ids":true}]}]}}]}`))
	// MISP: a bare event with odd values.
	f.Add("misp", []byte(`{"Attribute":[{"type":"ip-dst","value":12},{"type":"hostname","value":null},{"type":"domain","value":"com","deleted":"1"}]}`))
	// STIX: two versions of one indicator, the later revoked; a revoked relationship.
	f.Add("stix2", []byte(`[{"type":"indicator","id":"indicator--2","modified":"2024-01-01T00:00:00Z","pattern":"[domain-name:value = 'a.example']"},`+
		`{"type":"indicator","id":"indicator--2","modified":"2024-02-01T00:00:00Z","pattern":"[domain-name:value = 'a.example']","revoked":true},`+
		`{"type":"relationship","relationship_type":"indicates","source_ref":"indicator--2","target_ref":"malware--2","revoked":true}]`))
	// MISP: a deleted object.
	f.Add("misp", []byte(`{"Object":[{"deleted":true,"Attribute":[{"type":"ip-dst","value":"198.51.100.7"}]}]}`))
	f.Add("stix2", []byte(`{`))
	f.Fuzz(func(t *testing.T, format string, data []byte) {
		if format != FormatMISP {
			format = FormatSTIX2
		}
		res, err := Load(bytes.NewReader(data), LoadOptions{Name: "fuzz.json", Format: format, Now: time.Unix(1.7e9, 0)})
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.json") {
				t.Fatalf("error %q does not name the feed", err)
			}
			return
		}
		ldCheckResult(t, res, "fuzz.json", Guard{})
	})
}
