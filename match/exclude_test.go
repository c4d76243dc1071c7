package match

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"
)

// svchostSubject is a scheduled-maintenance connection as Defender reports it.
func svchostSubject() Subject {
	return Subject{
		Table:         "DeviceNetworkEvents",
		ActionType:    "ConnectionSuccess",
		DeviceName:    "ws-0142.corp.example",
		DeviceGroup:   "Workstations",
		Account:       "SYSTEM",
		ProcessName:   "svchost.exe",
		ProcessPath:   `C:\Windows\System32\svchost.exe`,
		ProcessSHA256: strings.Repeat("ab", 32),
		RemoteIP:      netip.MustParseAddr("192.0.2.10"),
		RemoteHost:    "update.backup.example",
		RemotePort:    443,
	}
}

func TestExclusionConditions(t *testing.T) {
	hit := Hit{Indicator: Indicator{Kind: KindIP, Value: "192.0.2.10", Meta: &Meta{Source: "FeodoTracker", Tags: []string{"c2", "QakBot"}}}, Field: FieldRemoteIP}
	tests := []struct {
		name   string
		when   map[string][]string
		change func(*Subject)
		want   bool
	}{
		{"process_name matches the file name ignoring case", map[string][]string{"process_name": {"SVCHOST.EXE"}}, nil, true},
		{"process_name does not match another name", map[string][]string{"process_name": {"taskhostw.exe"}}, nil, false},
		{"process_name falls back to the last element of the path", map[string][]string{"process_name": {"svchost.exe"}},
			func(s *Subject) { s.ProcessName = "" }, true},
		{"process_name is an exact name, not a substring", map[string][]string{"process_name": {"host.exe"}}, nil, false},
		{"process_path matches a folder glob", map[string][]string{"process_path": {`c:\windows\system32\*`}}, nil, true},
		{"process_path treats / and \\ alike", map[string][]string{"process_path": {`C:/WINDOWS/system32/*`}}, nil, true},
		{"process_path matches a lower-cased path", map[string][]string{"process_path": {`C:\Windows\System32\*`}},
			func(s *Subject) { s.ProcessPath = strings.ToLower(s.ProcessPath) }, true},
		{"process_path refuses the same name in another folder", map[string][]string{"process_path": {`c:\windows\system32\*`}},
			func(s *Subject) { s.ProcessPath = `c:\users\ana\appdata\local\temp\svchost.exe` }, false},
		{"process_path matches a folder path without the file name", map[string][]string{"process_path": {`c:\windows\system32\svchost.exe`}},
			func(s *Subject) { s.ProcessPath = `c:\windows\system32` }, true},
		{"process_path matches a folder path with a trailing separator", map[string][]string{"process_path": {`c:\windows\system32\*`}},
			func(s *Subject) { s.ProcessPath = `c:\windows\system32\` }, true},
		{"process_path refuses an empty path", map[string][]string{"process_path": {`c:\**`}},
			func(s *Subject) { s.ProcessPath = "" }, false},
		{"process_sha256 matches ignoring case", map[string][]string{"process_sha256": {strings.Repeat("AB", 32)}}, nil, true},
		{"process_sha256 refuses another hash", map[string][]string{"process_sha256": {strings.Repeat("cd", 32)}}, nil, false},
		{"account matches ignoring case", map[string][]string{"account": {"system"}}, nil, true},
		{"account refuses another account", map[string][]string{"account": {"ana"}}, nil, false},
		{"device matches a glob", map[string][]string{"device": {"WS-*.corp.example"}}, nil, true},
		{"device refuses another name", map[string][]string{"device": {"srv-*"}}, nil, false},
		{"device_group matches ignoring case", map[string][]string{"device_group": {"workstations"}}, nil, true},
		{"device_group refuses another group", map[string][]string{"device_group": {"Servers"}}, nil, false},
		{"action_type matches ignoring case", map[string][]string{"action_type": {"connectionsuccess"}}, nil, true},
		{"action_type refuses another action", map[string][]string{"action_type": {"ConnectionFailed"}}, nil, false},
		{"remote_ip matches a single address", map[string][]string{"remote_ip": {"192.0.2.10"}}, nil, true},
		{"remote_ip matches a CIDR", map[string][]string{"remote_ip": {"192.0.2.0/24"}}, nil, true},
		{"remote_ip matches a mapped RemoteIP", map[string][]string{"remote_ip": {"192.0.2.0/24"}},
			func(s *Subject) { s.RemoteIP = netip.MustParseAddr("::ffff:192.0.2.10") }, true},
		{"remote_ip matches an IP-literal RemoteUrl host", map[string][]string{"remote_ip": {"198.51.100.0/24"}},
			func(s *Subject) { s.RemoteHost = "198.51.100.9" }, true},
		{"remote_ip matches a bracketed IPv6 host", map[string][]string{"remote_ip": {"2001:db8::/32"}},
			func(s *Subject) { s.RemoteHost = "[2001:db8::9]" }, true},
		{"remote_ip refuses an address outside", map[string][]string{"remote_ip": {"198.51.100.0/24"}}, nil, false},
		{"remote_ip refuses an absent address", map[string][]string{"remote_ip": {"192.0.0.0/8"}},
			func(s *Subject) { s.RemoteIP = netip.Addr{} }, false},
		{"remote_domain matches the domain itself", map[string][]string{"remote_domain": {"update.backup.example"}}, nil, true},
		{"remote_domain matches a subdomain", map[string][]string{"remote_domain": {"Backup.Example"}}, nil, true},
		{"remote_domain matches a host with a trailing dot", map[string][]string{"remote_domain": {"backup.example"}},
			func(s *Subject) { s.RemoteHost = "x.backup.example." }, true},
		{"remote_domain refuses a name that merely ends with it", map[string][]string{"remote_domain": {"backup.example"}},
			func(s *Subject) { s.RemoteHost = "evilbackup.example" }, false},
		{"remote_domain refuses an absent host", map[string][]string{"remote_domain": {"backup.example"}},
			func(s *Subject) { s.RemoteHost = "" }, false},
		{"remote_port matches a port", map[string][]string{"remote_port": {"443"}}, nil, true},
		{"remote_port matches a range", map[string][]string{"remote_port": {"400-500"}}, nil, true},
		{"remote_port refuses another port", map[string][]string{"remote_port": {"3389"}}, nil, false},
		{"table matches ignoring case", map[string][]string{"table": {"devicenetworkevents"}}, nil, true},
		{"table matches with the category prefix", map[string][]string{"table": {"DeviceNetworkEvents"}},
			func(s *Subject) { s.Table = "AdvancedHunting-DeviceNetworkEvents" }, true},
		{"table refuses another table", map[string][]string{"table": {"DeviceEvents"}}, nil, false},
		{"indicator_source matches ignoring case", map[string][]string{"indicator_source": {"feodotracker"}}, nil, true},
		{"indicator_source refuses another source", map[string][]string{"indicator_source": {"URLhaus"}}, nil, false},
		{"indicator_tag matches any tag", map[string][]string{"indicator_tag": {"qakbot"}}, nil, true},
		{"indicator_tag refuses a missing tag", map[string][]string{"indicator_tag": {"emotet"}}, nil, false},
		{"values of one key are ORed", map[string][]string{"process_name": {"mstsc.exe", "svchost.exe"}}, nil, true},
		{"keys are ANDed and all match", map[string][]string{"process_name": {"svchost.exe"}, "process_path": {`c:\windows\system32\*`}, "remote_port": {"443"}}, nil, true},
		{"keys are ANDed and one fails", map[string][]string{"process_name": {"svchost.exe"}, "process_path": {`c:\windows\system32\*`}, "remote_port": {"80"}}, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x, err := CompileExclusions([]RuleSpec{{Name: "r", Reason: "test", When: tt.when, Origin: "x.yaml:1"}})
			if err != nil {
				t.Fatal(err)
			}
			s := svchostSubject()
			if tt.change != nil {
				tt.change(&s)
			}
			got := x.Match(&s, hit, t0)
			if (got != nil) != tt.want {
				t.Fatalf("Match = %v; want excluded %v", got, tt.want)
			}
		})
	}
}

func TestExclusionOrderAndExpiry(t *testing.T) {
	specs := []RuleSpec{
		{Name: "expired", Reason: "r", Expires: t0, When: map[string][]string{"process_name": {"svchost.exe"}}, Origin: "x.yaml:1"},
		{Name: "first", Reason: "r", Expires: t0.Add(time.Second), When: map[string][]string{"account": {"system"}}, Origin: "x.yaml:5"},
		{Name: "second", Reason: "r", When: map[string][]string{"remote_port": {"443"}}, Origin: "x.yaml:9"},
	}
	x, err := CompileExclusions(specs)
	if err != nil {
		t.Fatal(err)
	}
	s := svchostSubject()
	tests := []struct {
		name string
		now  time.Time
		want string
	}{
		{"a rule before its expiry applies", t0.Add(-time.Hour), "expired"},
		{"a rule at its expiry instant no longer applies and the next in file order wins", t0, "first"},
		{"after two expiries the third rule applies", t0.Add(time.Second), "second"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := x.Match(&s, Hit{}, tt.now)
			if r == nil || r.Name != tt.want {
				t.Fatalf("Match = %+v; want rule %q", r, tt.want)
			}
		})
	}
	rules := x.Rules()
	for i, r := range rules {
		if r.ID != i || r.Name != specs[i].Name || r.Origin != specs[i].Origin || !r.Expires.Equal(specs[i].Expires) {
			t.Errorf("rule %d = %+v", i, r)
		}
	}
}

func TestNilExclusionsExcludeNothing(t *testing.T) {
	var x *Exclusions
	s := svchostSubject()
	if r := x.Match(&s, Hit{}, t0); r != nil {
		t.Fatalf("nil Exclusions matched %v", r)
	}
	if x.Rules() != nil || x.Warnings(t0) != nil {
		t.Fatal("nil Exclusions has rules or warnings")
	}
	if r := (&Exclusions{}).Match(&s, Hit{}, t0); r != nil {
		t.Fatalf("zero Exclusions matched %v", r)
	}
	x, _ = CompileExclusions([]RuleSpec{{Name: "a", When: map[string][]string{"account": {"system"}}}})
	if r := x.Match(nil, Hit{}, t0); r != nil {
		t.Fatalf("a nil subject matched %v", r)
	}
}

func TestCompileExclusionsErrors(t *testing.T) {
	specs := []RuleSpec{
		{Name: "unknown-key", When: map[string][]string{"process": {"x"}}, Origin: "e.yaml:1"},
		{Name: "bad-glob", When: map[string][]string{"process_path": {"c:\\\xff"}}, Origin: "e.yaml:2"},
		{Name: "bad-cidr", When: map[string][]string{"remote_ip": {"192.0.2.0/33"}}, Origin: "e.yaml:3"},
		{Name: "bad-ip", When: map[string][]string{"remote_ip": {"192.0.2"}}, Origin: "e.yaml:4"},
		{Name: "bad-port", When: map[string][]string{"remote_port": {"http", "0", "70000", "90-80"}}, Origin: "e.yaml:5"},
		{Name: "empty-list", When: map[string][]string{"account": {}}, Origin: "e.yaml:6"},
		{Name: "empty-value", When: map[string][]string{"account": {" "}}, Origin: "e.yaml:7"},
		{Name: "Bad-Glob", When: map[string][]string{"account": {"x"}}, Origin: "e.yaml:8"},
		{Name: "", When: map[string][]string{"account": {"x"}}, Origin: "e.yaml:9"},
		{Name: "no-conditions", Origin: "e.yaml:10"},
		{Name: "bad-domain", When: map[string][]string{"remote_domain": {"http://x.example/"}}, Origin: "e.yaml:11"},
		{Name: "bad-sha", When: map[string][]string{"process_sha256": {"abc"}}, Origin: "e.yaml:12"},
		{Name: "empty-device-glob", When: map[string][]string{"device": {""}}, Origin: "e.yaml:13"},
		// With the line of each condition, a value's error names that line.
		{Name: "placed", When: map[string][]string{"account": {"x"}, "remote_ip": {"192.0.2.300"}}, Origin: "e.yaml:14",
			WhenOrigins: map[string]string{"account": "e.yaml:17", "remote_ip": "e.yaml:18"}},
	}
	_, err := CompileExclusions(specs)
	if err == nil {
		t.Fatal("CompileExclusions accepted every broken rule")
	}
	msg := err.Error()
	for _, want := range []string{
		`e.yaml:1: rule "unknown-key": process: unknown key (want one of process_name, process_path,`,
		`e.yaml:2: rule "bad-glob": process_path: "c:\\\xff": bad glob: glob is not valid UTF-8`,
		`e.yaml:3: rule "bad-cidr": remote_ip: "192.0.2.0/33": bad CIDR`,
		`e.yaml:4: rule "bad-ip": remote_ip: "192.0.2": bad IP`,
		`e.yaml:5: rule "bad-port": remote_port: "http": bad port`,
		`e.yaml:5: rule "bad-port": remote_port: "0": bad port`,
		`e.yaml:5: rule "bad-port": remote_port: "70000": bad port`,
		`e.yaml:5: rule "bad-port": remote_port: "90-80": bad port`,
		`e.yaml:6: rule "empty-list": account: empty list`,
		`e.yaml:7: rule "empty-value": account: empty value`,
		`e.yaml:8: rule "Bad-Glob": duplicate name (first used at e.yaml:2)`,
		`e.yaml:9: rule "": name is required`,
		`e.yaml:10: rule "no-conditions": no conditions`,
		`e.yaml:11: rule "bad-domain": remote_domain: "http://x.example/": bad domain`,
		`e.yaml:12: rule "bad-sha": process_sha256: "abc": bad SHA-256`,
		`e.yaml:13: rule "empty-device-glob": device: empty value`,
		`e.yaml:18: rule "placed": remote_ip: "192.0.2.300": bad IP`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(msg)
	}
}

func TestExclusionWarnings(t *testing.T) {
	x, err := CompileExclusions([]RuleSpec{
		{Name: "name-only", Reason: "r", When: map[string][]string{"process_name": {"svchost.exe"}}, Origin: "w.yaml:1"},
		{Name: "name-and-path", Reason: "r", When: map[string][]string{"process_name": {"svchost.exe"}, "process_path": {`c:\windows\system32\*`}}, Origin: "w.yaml:5"},
		{Name: "name-and-hash", Reason: "r", When: map[string][]string{"process_name": {"a.exe"}, "process_sha256": {strings.Repeat("0", 64)}}, Origin: "w.yaml:9"},
		{Name: "no-reason", When: map[string][]string{"account": {"x"}}, Origin: "w.yaml:13"},
		{Name: "expired", Reason: "r", Expires: t0.Add(-24 * time.Hour), When: map[string][]string{"account": {"x"}}, Origin: "w.yaml:17"},
		{Name: "soon", Reason: "r", Expires: t0.Add(3 * 24 * time.Hour), When: map[string][]string{"account": {"x"}}, Origin: "w.yaml:21"},
		{Name: "later", Reason: "r", Expires: t0.Add(8 * 24 * time.Hour), When: map[string][]string{"account": {"x"}}, Origin: "w.yaml:25"},
		{Name: "odd-table", Reason: "r", When: map[string][]string{"table": {"DeviceFileEvents"}}, Origin: "w.yaml:29"},
		{Name: "broad", Reason: "r", When: map[string][]string{"remote_domain": {"com", "co.uk", "veeam.example"},
			"remote_ip": {"0.0.0.0/1", "10.0.0.0/8", "::/1", "2001:db8::/32"}, "process_path": {`c:\**`}, "device": {"ws-*"}}, Origin: "w.yaml:33"},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := x.Warnings(t0)
	want := []string{
		`w.yaml:1: rule "name-only": process_name without process_path or process_sha256: malware names itself svchost.exe too`,
		`w.yaml:13: rule "no-reason": no reason given`,
		`w.yaml:17: rule "expired": expired on 2026-11-25T09:00:00Z: the live stream no longer applies it; replay and the retro-hunt still apply it to events from before then`,
		`w.yaml:21: rule "soon": expires on 2026-11-29T09:00:00Z, in 3 days`,
		`w.yaml:29: rule "odd-table": table "DeviceFileEvents" is never watched (DeviceNetworkEvents, DeviceEvents)`,
		`w.yaml:33: rule "broad": remote_domain "com" is a top-level domain: the rule hides every hit under it`,
		`w.yaml:33: rule "broad": remote_domain "co.uk" is a public suffix: the rule hides every hit under it`,
		`w.yaml:33: rule "broad": remote_ip 0.0.0.0/1 is a range of /1: the rule hides every hit in it`,
		`w.yaml:33: rule "broad": remote_ip ::/1 is a range of /1: the rule hides every hit in it`,
		`w.yaml:33: rule "broad": process_path "c:\\**" names no folder and no file (only wildcards, a drive or an extension): it matches a process in every folder, so the rule drops the hits of malware anywhere under it; name the program's file (c:\program files\vendor\agent.exe)`,
	}
	if !slices.Equal(got, want) {
		t.Fatalf("Warnings =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestExclusionMatchDoesNotAllocate(t *testing.T) {
	x, err := CompileExclusions([]RuleSpec{
		{Name: "a", Reason: "r", When: map[string][]string{"process_path": {`c:\program files\**\veeam*`}, "remote_domain": {"veeam.example"}}},
		{Name: "b", Reason: "r", When: map[string][]string{"remote_ip": {"198.51.100.0/24"}, "indicator_tag": {"x"}}},
		{Name: "c", Reason: "r", When: map[string][]string{"process_path": {`c:\windows\system32\*`}, "process_name": {"svchost.exe"}, "device": {"ws-*"}, "table": {"DeviceNetworkEvents"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := svchostSubject()
	s.ProcessPath = `c:\windows\system32`
	s.RemoteHost = "198.51.100.7"
	h := Hit{Indicator: Indicator{Meta: &Meta{Tags: []string{"y"}}}}
	var r *Rule
	n := testing.AllocsPerRun(100, func() { r = x.Match(&s, h, t0) })
	if n != 0 || r == nil || r.Name != "c" {
		t.Fatalf("Match = %v with %v allocations; want rule c and 0", r, n)
	}
}

func TestExclusionKeysAreDocumented(t *testing.T) {
	keys := ExclusionKeys()
	if len(keys) != 13 || keys[0] != "process_name" || keys[12] != "indicator_tag" {
		t.Fatalf("ExclusionKeys = %v", keys)
	}
}

// A value that matches everything is refused, not warned about: a rule
// never excludes everything (docs/exclusions.md). Values that are broad but
// not all stay accepted (Warnings names them).
func TestExclusionsRefuseValuesThatMatchEverything(t *testing.T) {
	tests := []struct {
		key, value string
		want       string // the error after `rule "r": key: `; "" when accepted
	}{
		{"remote_ip", "0.0.0.0/0", `"0.0.0.0/0": matches every address: the rule would hide every hit`},
		{"remote_ip", "::/0", `"::/0": matches every address: the rule would hide every hit`},
		{"remote_ip", "::ffff:0.0.0.0/96", `"::ffff:0.0.0.0/96": matches every address: the rule would hide every hit`},
		{"remote_ip", "10.1.2.3/0", `"10.1.2.3/0": matches every address: the rule would hide every hit`},
		{"remote_ip", "0.0.0.0/1", ""},
		{"remote_ip", "::/1", ""},
		{"remote_ip", "0.0.0.0", ""},
		{"process_path", "*", `"*": matches any path (a glob of only '*' and separators): the rule would hide every hit`},
		{"process_path", "**", `"**": matches any path (a glob of only '*' and separators): the rule would hide every hit`},
		{"process_path", "***", `"***": matches any path (a glob of only '*' and separators): the rule would hide every hit`},
		{"process_path", `**\*`, `"**\\*": matches any path (a glob of only '*' and separators): the rule would hide every hit`},
		{"process_path", "*/*/**", `"*/*/**": matches any path (a glob of only '*' and separators): the rule would hide every hit`},
		{"process_path", ` \** `, `"\\**": matches any path (a glob of only '*' and separators): the rule would hide every hit`},
		{"process_path", `c:\**`, ""},
		{"process_path", `**\svchost.exe`, ""},
		{"process_path", `?*`, `"?*": matches any path (a glob of only '*', '?' and separators): the rule would hide every hit`},
		{"process_path", `?:\*`, ""},
		{"device", "*", `"*": matches any device name (a glob of only '*' and separators): the rule would hide every hit`},
		{"device", "**", `"**": matches any device name (a glob of only '*' and separators): the rule would hide every hit`},
		{"device", "ws-*", ""},
		{"remote_port", "1-65535", `"1-65535": matches every port: the rule would hide every hit`},
		{"remote_port", " 1 - 65535", `"1 - 65535": matches every port: the rule would hide every hit`},
		{"remote_port", "1-65534", ""},
		{"remote_port", "2-65535", ""},
		{"remote_domain", "com", ""}, // a warning (TestExclusionWarnings)
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.value, func(t *testing.T) {
			_, err := CompileExclusions([]RuleSpec{{Name: "r", Reason: "test", Origin: "x.yaml:1",
				When: map[string][]string{tt.key: {tt.value}, "account": {"svc-backup"}}}})
			if tt.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if want := `exclusions: x.yaml:1: rule "r": ` + tt.key + ": " + tt.want; err == nil || err.Error() != want {
				t.Fatalf("err = %v\nwant %s", err, want)
			}
			if err := CheckExclusionValue(tt.key, tt.value); err == nil || err.Error() != tt.want {
				t.Fatalf("CheckExclusionValue = %v\nwant %s", err, tt.want)
			}
		})
	}
}

// CheckExclusionValue refuses exactly what CompileExclusions refuses in a
// value, in the same words, so that a loader can report every problem of a
// rule file in one pass.
func TestCheckExclusionValue(t *testing.T) {
	tests := []struct {
		key, value string
		want       string // "" when accepted
	}{
		{"remote_ip", "203.0.113.0/33", `"203.0.113.0/33": bad CIDR: netip.ParsePrefix("203.0.113.0/33"): prefix length out of range`},
		{"remote_ip", "203.0.113.0/24", ""},
		{"remote_port", "0", `"0": bad port (want 1-65535 or a range like 8000-8099)`},
		{"remote_port", "70000", `"70000": bad port (want 1-65535 or a range like 8000-8099)`},
		{"remote_port", "90-80", `"90-80": bad port (want 1-65535 or a range like 8000-8099)`},
		{"remote_port", "3389", ""},
		{"process_sha256", "abc", `"abc": bad SHA-256 (want 64 hex digits)`},
		{"process_sha256", strings.Repeat("Ab", 32), ""},
		{"remote_domain", "http://x.example/", `"http://x.example/": bad domain: not a bare domain name`},
		{"remote_domain", "backup.example", ""},
		{"process_path", "c:\\\xff", `"c:\\\xff": bad glob: glob is not valid UTF-8`},
		{"device", "ws-*", ""},
		{"account", " ", "empty value"},
		{"account", "SYSTEM", ""},
		{"table", "DeviceFileEvents", ""}, // a warning, not an error
		{"process", "x", "unknown key (want one of process_name, process_path, process_sha256, account, device, device_group, action_type, remote_ip, remote_domain, remote_port, table, indicator_source, indicator_tag)"},
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.value, func(t *testing.T) {
			err := CheckExclusionValue(tt.key, tt.value)
			if got := fmt.Sprint(err); tt.want == "" && err != nil || tt.want != "" && got != tt.want {
				t.Fatalf("CheckExclusionValue = %v\nwant %q", err, tt.want)
			}
			// The same words as CompileExclusions after the key.
			_, cerr := CompileExclusions([]RuleSpec{{Name: "r", Reason: "test", Origin: "x.yaml:1", When: map[string][]string{tt.key: {tt.value}}}})
			if tt.want == "" {
				if cerr != nil {
					t.Fatalf("CompileExclusions refused what CheckExclusionValue accepts: %v", cerr)
				}
				return
			}
			if want := `x.yaml:1: rule "r": ` + tt.key + ": " + tt.want; cerr == nil || !strings.Contains(cerr.Error(), want) {
				t.Fatalf("CompileExclusions = %v\nwant %s", cerr, want)
			}
		})
	}
}
