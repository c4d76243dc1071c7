package match

import "testing"

func TestDetectFormat(t *testing.T) {
	samples := []struct {
		file, format string
	}{
		{"abusech_feodotracker_ipblocklist_2024-04-04.csv", FormatFeodo},
		{"abusech_urlhaus_csv_recent_2022-09-13.csv", FormatURLhaus},
		{"misp_event_circl_osint_sednit_domains_ipdst.json", FormatMISP},
		{"misp_event_osint_asert_url_hostname_domain_ipdst.json", FormatMISP},
		{"misp_event_osint_hidden_cobra_ipdst_ipdstport.json", FormatMISP},
		{"misp_feed_event_circl_osint_xorist_57c4445b-c548-4654-af0b-4be3950d210f.json", FormatMISP},
		{"stix21_bundle_oasis_apt1_report.json", FormatSTIX2},
		{"stix21_bundle_oasis_indicator_for_c2_ip_address.json", FormatSTIX2},
		{"stix21_bundle_oasis_indicators_for_c2_with_coa.json", FormatSTIX2},
		{"stix21_bundle_oasis_poisonivy_report.json", FormatSTIX2},
	}
	for _, s := range samples {
		t.Run("the real sample "+s.file+" is "+s.format, func(t *testing.T) {
			head := ldReadSample(t, s.file)
			if len(head) > ldHeadSize {
				head = head[:ldHeadSize]
			}
			if got := DetectFormat(s.file, head); got != s.format {
				t.Fatalf("DetectFormat = %q, want %q", got, s.format)
			}
		})
	}
	tests := []struct {
		name, file, head, format string
	}{
		{"a ThreatFox export with its header in a comment", "full.csv", "# ThreatFox\n# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\"\n", FormatThreatFox},
		{"a ThreatFox export with a plain header", "x", "first_seen_utc,ioc_id,ioc_value,ioc_type\n", FormatThreatFox},
		{"a Defender import file", "indicators.csv", "IndicatorType,IndicatorValue,ExpirationTime,Action\n", FormatDefenderCSV},
		{"a generic CSV by its name", "c2.CSV", "ip\n198.51.100.1\n", FormatCSV},
		{"a generic CSV by its commas", "feed", "# x\nindicator,type\n198.51.100.1,ip\n", FormatCSV},
		{"a URL with commas is text", "feed", "http://evil.example/a,b\n", FormatText},
		{"a value whose inline comment holds a comma is text", "feed", "# C2\n203.0.113.5 # Emotet, epoch 4\n", FormatText},
		{"a ; comment line with a comma is a comment", "drop.txt", "; Last-Modified: Tue, 14 May 2024\n198.51.100.0/24 ; SBL1\n", FormatText},
		{"a line with commas after its inline comment is cut is CSV", "feed", "indicator,type # columns\n198.51.100.1,ip\n", FormatCSV},
		{"a Feodo Tracker list with its header in a comment", "ipblocklist.csv", "#\n# first_seen_utc,dst_ip,dst_port,c2_status,last_online,malware\n\"2021-01-17 07:44:46\",\"203.0.113.5\",\"443\"\n", FormatFeodo},
		{"one value per line is text", "c2.txt", "# list\n\n198.51.100.1\nevil.example\n", FormatText},
		{"an empty feed is text", "c2.txt", "", FormatText},
		{"a STIX indicator without a bundle", "x", `{"type": "indicator", "pattern": "[ipv4-addr:value = '1.2.3.4']"}`, FormatSTIX2},
		{"a bare STIX list", "x", "\ufeff [ {\"spec_version\" : \"2.1\"} ]", FormatSTIX2},
		{"a MISP search response", "x", `{"response": [{"Event": {"info": "x"}}]}`, FormatMISP},
		{"a MISP list of events", "x", `[{"Event": {}}]`, FormatMISP},
		{"JSON that is neither STIX nor MISP", "x.json", `{"data": []}`, ""},
		{"a .json name that is not JSON", "x.json", "198.51.100.1\n", ""},
		{"a key name inside a string value does not count", "x", `{"note": "\"pattern\" is not a key here"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := DetectFormat(tt.file, []byte(tt.head)); got != tt.format {
				t.Fatalf("DetectFormat(%q, %q) = %q, want %q", tt.file, tt.head, got, tt.format)
			}
		})
	}
}
