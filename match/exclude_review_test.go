package match

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
)

// compileOne compiles a one-rule list, failing the test on error.
func compileOne(t *testing.T, when map[string][]string) *Exclusions {
	t.Helper()
	x, err := CompileExclusions([]RuleSpec{{Name: "r", Reason: "test", When: when, Origin: "x.yaml:1"}})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// A glob made only of wildcards and separators names no folder, file or
// device: with a '*' among them it matches every name Defender reports,
// '?' or not, and is refused like "*" (docs/exclusions.md, Checks).
func TestExclusionGlobsOfOnlyWildcardsAreRefused(t *testing.T) {
	tests := []struct {
		key, value string
		refused    bool
	}{
		{"device", "?*", true},
		{"device", "*?", true},
		{"device", "**?", true},
		{"device", "*?*", true},
		{"device", "??*", true},
		{"process_path", "?*", true},
		{"process_path", "**?", true},
		{"process_path", `**\?*`, true},
		{"process_path", `?**`, true},
		{"process_path", `*/?*`, true},
		// A glob of '?' alone names a length, not everything: kept.
		{"device", "?", false},
		{"process_path", `?\?`, false},
		// Any literal narrows it.
		{"device", "ws-?*", false},
		{"process_path", `c:\?*`, false},
		{"process_path", `**\?*.exe`, false},
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.value, func(t *testing.T) {
			what := "path"
			if tt.key == "device" {
				what = "device name"
			}
			want := fmt.Sprintf("%q: matches any %s (a glob of only '*', '?' and separators): the rule would hide every hit", tt.value, what)
			err := CheckExclusionValue(tt.key, tt.value)
			if !tt.refused {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if err == nil || err.Error() != want {
				t.Fatalf("CheckExclusionValue = %v\nwant %s", err, want)
			}
			if _, err := CompileExclusions([]RuleSpec{{Name: "r", Reason: "test", When: map[string][]string{tt.key: {tt.value}}}}); err == nil {
				t.Fatal("CompileExclusions accepted it")
			}
		})
	}
}

// Defender's InitiatingProcessFolderPath usually ends with the file name,
// and sometimes is the folder alone. A glob must give the same answer for
// both forms of one process: it is matched against the full path, the
// folder joined with the name when the path is a folder — never against
// the bare folder, where '*' would reach one folder deeper and a glob
// naming the folder would match only some events of the process.
func TestProcessPathGlobSeesOneFullPathWhicheverFormDefenderSends(t *testing.T) {
	forms := []struct{ name, path string }{
		{"full path", `C:\Windows\System32\svchost.exe`},
		{"folder", `C:\Windows\System32`},
		{"folder with a trailing separator", `C:\Windows\System32\`},
		{"folder with forward slashes", `C:/Windows/System32`},
	}
	tests := []struct {
		glob string
		want bool
	}{
		{`c:\windows\system32\*`, true},
		{`c:\windows\system32\svchost.exe`, true},
		{`c:\windows\**`, true},
		{`**\svchost.exe`, true},
		{`c:\windows\system32\s*.exe`, true},
		{`c:\windows\*`, false}, // svchost.exe is not directly in c:\windows
		{`c:\windows\system32`, false},
		{`c:\windows\system3?`, false},
		{`c:\windows\system32\`, false},
		{`**\system32`, false},
		{`c:\windows\system32\taskhostw.exe`, false},
	}
	for _, tt := range tests {
		x := compileOne(t, map[string][]string{"process_path": {tt.glob}})
		for _, f := range forms {
			s := Subject{ProcessName: "svchost.exe", ProcessPath: f.path}
			if got := x.Match(&s, Hit{}, t0) != nil; got != tt.want {
				t.Errorf("glob %q on the %s %q: excluded %v, want %v", tt.glob, f.name, f.path, got, tt.want)
			}
		}
	}
	// Without the file name, the folder is all there is to match.
	x := compileOne(t, map[string][]string{"process_path": {`c:\windows\*`}})
	if s := (Subject{ProcessPath: `C:\Windows\System32`}); x.Match(&s, Hit{}, t0) == nil {
		t.Error("a folder path without a process name is no longer matched as it is")
	}
}

// account takes the forms an administrator writes: a bare name (any
// domain), or DOMAIN\name, compared with InitiatingProcessAccountDomain
// and InitiatingProcessAccountName.
func TestAccountConditionForms(t *testing.T) {
	tests := []struct {
		value, domain, name string
		want                bool
	}{
		{`svc-backup`, "corp", "svc-backup", true},
		{`SVC-Backup`, "", "svc-backup", true},
		{`CORP\svc-backup`, "corp", "svc-backup", true},
		{`corp\SVC-BACKUP`, "CORP", "svc-backup", true},
		{`NT AUTHORITY\SYSTEM`, "nt authority", "system", true},
		{`CORP\svc-backup`, "ws-0142", "svc-backup", false}, // a local account of the same name
		{`CORP\svc-backup`, "", "svc-backup", false},        // domain unknown: not proven
		{`CORP\svc-backup`, "corp", "svc-restore", false},
		{`CORP\svc-backup`, "corp", "", false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s on %s|%s", tt.value, tt.domain, tt.name), func(t *testing.T) {
			x := compileOne(t, map[string][]string{"account": {tt.value}})
			s := Subject{Account: tt.name, AccountDomain: tt.domain}
			if got := x.Match(&s, Hit{}, t0) != nil; got != tt.want {
				t.Fatalf("excluded %v, want %v", got, tt.want)
			}
		})
	}
	for _, bad := range []string{`\svc-backup`, `CORP\`, `CORP\svc\x`, `\`} {
		if err := CheckExclusionValue("account", bad); err == nil || !strings.Contains(err.Error(), `bad account (want name or DOMAIN\name)`) {
			t.Errorf("account %q: err = %v", bad, err)
		}
	}
}

// The "AdvancedHunting-" prefix of a table is ignored whatever its case,
// as the event side ignores it.
func TestTableConditionIgnoresThePrefixInAnyCase(t *testing.T) {
	x := compileOne(t, map[string][]string{"table": {"advancedhunting-DeviceNetworkEvents"}})
	s := Subject{Table: "DeviceNetworkEvents"}
	if x.Match(&s, Hit{}, t0) == nil {
		t.Error("the prefixed table does not match")
	}
	if w := x.Warnings(t0); len(w) != 0 {
		t.Errorf("Warnings = %q", w)
	}
}

// Values that can never match what Defender reports draw a warning: the
// rule would silently never apply.
func TestExclusionWarningsNameValuesThatNeverMatch(t *testing.T) {
	tests := []struct {
		key, value string
		want       string // "" for no warning
	}{
		{"process_path", `%SystemRoot%\System32\*`, `process_path "%SystemRoot%\\System32\\*" holds the environment variable %SystemRoot%: Defender reports paths expanded, so it never matches; write the path as Defender reports it (%SystemRoot% is usually c:\windows)`},
		{"process_path", `%ProgramFiles%\Veeam\**`, `process_path "%ProgramFiles%\\Veeam\\**" holds the environment variable %ProgramFiles%: Defender reports paths expanded, so it never matches; write the path as Defender reports it (%ProgramFiles% is usually c:\program files)`},
		{"process_path", `c:\%Custom%\*`, `process_path "c:\\%Custom%\\*" holds the environment variable %Custom%: Defender reports paths expanded, so it never matches; write the path as Defender reports it`},
		{"process_path", `svchost.exe`, `process_path "svchost.exe" is not a full path: Defender reports full paths (c:\windows\system32\svchost.exe), so it never matches; write **\svchost.exe for any folder`},
		{"process_path", `windows\system32\*`, `process_path "windows\\system32\\*" is not a full path: Defender reports full paths (c:\windows\system32\svchost.exe), so it never matches; write **\windows\system32\* for any folder`},
		{"process_path", `c:\windows\system32\`, `process_path "c:\\windows\\system32\\" ends with a separator: a process path ends with the file name, so it never matches; write c:\windows\system32\* for the files in the folder`},
		{"process_name", `c:\windows\system32\svchost.exe`, `process_name "c:\\windows\\system32\\svchost.exe" is a path: a file name holds no separator, so it never matches; put the path in process_path`},
		{"account", `svc-backup@corp.example`, `account "svc-backup@corp.example" is a user principal name: account compares InitiatingProcessAccountName (svc-backup) or DOMAIN\name, so it never matches`},
		// Full paths of every kind draw nothing.
		{"process_path", `c:\windows\system32\*`, ""},
		{"process_path", `C:/Program Files/Veeam/**`, ""},
		{"process_path", `?:\tools\*`, ""},
		{"process_path", `*:\tools\*`, ""},
		{"process_path", `**\mstsc.exe`, ""},
		{"process_path", `\\fs01\tools\*`, ""},
		{"process_path", `/usr/bin/curl`, ""},
		{"process_path", `*\tools\x.exe`, ""},
		{"process_path", `c:\100%\x.exe`, ""},
		{"process_name", `svchost.exe`, ""},
		{"account", `CORP\svc-backup`, ""},
		{"account", `system`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.value, func(t *testing.T) {
			when := map[string][]string{tt.key: {tt.value}, "remote_port": {"443"}}
			if tt.key == "process_name" {
				when["process_sha256"] = []string{strings.Repeat("ab", 32)}
			}
			got := compileOne(t, when).Warnings(t0)
			var want []string
			if tt.want != "" {
				want = []string{`x.yaml:1: rule "r": ` + tt.want}
			}
			if !slices.Equal(got, want) {
				t.Fatalf("Warnings =\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// process_name and process_path must be able to name the same file: the
// process path ends with the process name.
func TestExclusionWarningsNameProcessNameAndPathThatNeverMeet(t *testing.T) {
	tests := []struct {
		names, paths []string
		warn         bool
	}{
		{[]string{"svchost.exe"}, []string{`c:\windows\system32\mstsc.exe`}, true},
		{[]string{"svchost.exe", "taskhostw.exe"}, []string{`c:\windows\system32\mstsc.exe`, `**\rdpclip.exe`}, true},
		{[]string{"svchost.exe"}, []string{`c:\windows\system32\*.dll`}, true},
		{[]string{"mstsc.exe", "svchost.exe"}, []string{`c:\windows\system32\mstsc.exe`}, false},
		{[]string{"SVCHOST.EXE"}, []string{`c:\windows\system32\svchost.exe`}, false},
		{[]string{"svchost.exe"}, []string{`c:\windows\system32\*`}, false},
		{[]string{"svchost.exe"}, []string{`c:\windows\system32\s?c*.exe`}, false},
		{[]string{"svchost.exe"}, []string{`c:\windows\**`}, false},
		{[]string{"svchost.exe"}, []string{`c:\win**.exe`}, false},
	}
	for _, tt := range tests {
		x := compileOne(t, map[string][]string{"process_name": tt.names, "process_path": tt.paths})
		w := x.Warnings(t0)
		want := []string(nil)
		if tt.warn {
			want = []string{`x.yaml:1: rule "r": process_name and process_path name different files (no process_name ends a process_path glob), so the rule never matches`}
		}
		if !slices.Equal(w, want) {
			t.Errorf("names %q, paths %q: Warnings =\n%q\nwant\n%q", tt.names, tt.paths, w, want)
		}
	}
}

// MatchRange answers for every address of a range at once, as Match would
// A process_path written for the folder alone (c:\windows\system32) never
// matches a process whose file name is known, in either form Defender
// sends: it draws a warning rather than silently excluding nothing. (It
// matched the folder-alone form until process_path was matched against
// the full path.) Only a Windows path whose last element is plain text
// without an extension is taken for a folder: /usr/bin/curl is a file.
func TestExclusionWarningsNameAProcessPathThatIsAFolder(t *testing.T) {
	folder := func(glob, fix string) string {
		return fmt.Sprintf(`x.yaml:1: rule "r": process_path %q ends with a folder, not a file name: a process path ends with the file name (c:\windows\system32\svchost.exe), so it never matches; write %s for the files in the folder`, glob, fix)
	}
	tests := []struct {
		names []string // process_name, if any
		glob  string
		want  []string
	}{
		{nil, `c:\windows\system32`, []string{folder(`c:\windows\system32`, `c:\windows\system32\*`)}},
		{nil, `C:/Program Files/Veeam/Endpoint Backup`, []string{folder(`C:/Program Files/Veeam/Endpoint Backup`, `C:/Program Files/Veeam/Endpoint Backup/*`)}},
		{nil, `\\fs01\tools`, []string{folder(`\\fs01\tools`, `\\fs01\tools\*`)}},
		{nil, `**\system32`, []string{folder(`**\system32`, `**\system32\*`)}},
		{nil, `?:\tools`, []string{folder(`?:\tools`, `?:\tools\*`)}},
		// With a process_name, the folder is the one thing to fix.
		{[]string{"svchost.exe"}, `c:\windows\system32`, []string{folder(`c:\windows\system32`, `c:\windows\system32\*`)}},
		// Files, globs and POSIX paths draw nothing.
		{nil, `c:\tools\agent.exe`, nil},
		{nil, `c:\windows\system32\*`, nil},
		{nil, `c:\program files\veeam\**`, nil},
		{nil, `c:\windows\system3?`, nil},
		{nil, `/usr/bin/curl`, nil},
		{nil, `/opt/microsoft/mdatp/sbin/wdavdaemon`, nil},
		{nil, `**/curl`, nil},
		{[]string{"svchost.exe"}, `c:\windows\system32\svchost.exe`, nil},
	}
	for _, tt := range tests {
		when := map[string][]string{"process_path": {tt.glob}, "remote_port": {"443"}}
		if tt.names != nil {
			when["process_name"] = tt.names
		}
		x := compileOne(t, when)
		if got := x.Warnings(t0); !slices.Equal(got, tt.want) {
			t.Errorf("process_path %q, process_name %q: Warnings =\n%q\nwant\n%q", tt.glob, tt.names, got, tt.want)
		}
		if tt.want == nil {
			continue
		}
		for _, path := range []string{`C:\Windows\System32\svchost.exe`, `C:\Windows\System32`, `\\fs01\tools\svchost.exe`, `\\fs01\tools`} {
			s := Subject{ProcessName: "svchost.exe", ProcessPath: path, RemotePort: 443}
			if r := x.Match(&s, Hit{}, t0); r != nil {
				t.Errorf("process_path %q matches %q: the warning is false", tt.glob, path)
			}
		}
	}
}

// for each of them: which rule excludes which part, and what is left.
func TestMatchRangeSharesTheRangeAsMatchWouldPerAddress(t *testing.T) {
	x, err := CompileExclusions([]RuleSpec{
		{Name: "mgmt", Reason: "r", When: map[string][]string{"remote_ip": {"192.0.2.10", "192.0.2.11"}}},
		{Name: "jump", Reason: "r", When: map[string][]string{"remote_ip": {"192.0.2.0/28"}, "remote_port": {"3389"}}},
		{Name: "backup", Reason: "r", When: map[string][]string{"remote_ip": {"198.51.100.0/26"}, "device_group": {"Backup Servers"}}},
		{Name: "scanner", Reason: "r", When: map[string][]string{"device": {"scan-*"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	type share struct {
		rule     string
		prefixes string
	}
	tests := []struct {
		name  string
		subj  Subject
		query string
		want  []share
	}{
		{"outside every rule", Subject{RemotePort: 3389}, "203.0.113.0/24", []share{{"", "203.0.113.0/24"}}},
		{"two addresses of a /24", Subject{RemotePort: 443}, "192.0.2.0/24",
			[]share{{"mgmt", "192.0.2.10/31"}, {"", "192.0.2.0/29 192.0.2.8/31 192.0.2.12/30 192.0.2.16/28 192.0.2.32/27 192.0.2.64/26 192.0.2.128/25"}}},
		{"an earlier rule keeps its part of a later one", Subject{RemotePort: 3389}, "192.0.2.0/24",
			[]share{{"mgmt", "192.0.2.10/31"}, {"jump", "192.0.2.0/29 192.0.2.8/31 192.0.2.12/30"}, {"", "192.0.2.16/28 192.0.2.32/27 192.0.2.64/26 192.0.2.128/25"}}},
		{"a range inside a rule's", Subject{RemotePort: 3389}, "192.0.2.4/30", []share{{"jump", "192.0.2.4/30"}}},
		{"a single address", Subject{RemotePort: 443}, "192.0.2.11/32", []share{{"mgmt", "192.0.2.11/32"}}},
		{"the network address alone is not the range", Subject{DeviceGroup: "backup servers"}, "198.51.0.0/16",
			[]share{{"backup", "198.51.100.0/26"}, {"", "198.51.0.0/18 198.51.64.0/19 198.51.96.0/22 198.51.100.64/26 198.51.100.128/25 198.51.101.0/24 198.51.102.0/23 198.51.104.0/21 198.51.112.0/20 198.51.128.0/17"}}},
		{"a rule without remote_ip takes all of it", Subject{DeviceName: "scan-01", RemotePort: 443}, "192.0.2.0/24",
			[]share{{"mgmt", "192.0.2.10/31"}, {"scanner", "192.0.2.0/29 192.0.2.8/31 192.0.2.12/30 192.0.2.16/28 192.0.2.32/27 192.0.2.64/26 192.0.2.128/25"}}},
		{"IPv4-mapped IPv6 is the IPv4 range", Subject{RemotePort: 3389}, "::ffff:192.0.2.0/124", []share{{"mgmt", "192.0.2.10/31"}, {"jump", "192.0.2.0/29 192.0.2.8/31 192.0.2.12/30"}}},
		{"another family", Subject{RemotePort: 3389}, "2001:db8::/32", []share{{"", "2001:db8::/32"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []share
			for _, sh := range x.MatchRange(&tt.subj, netip.MustParsePrefix(tt.query), Hit{}, t0) {
				var ps []string
				for _, p := range sh.Prefixes {
					ps = append(ps, p.String())
				}
				name := ""
				if sh.Rule != nil {
					name = sh.Rule.Name
				}
				got = append(got, share{name, strings.Join(ps, " ")})
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("MatchRange =\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
	// Per address, the rule is the one Match gives.
	s := Subject{RemotePort: 3389}
	shares := x.MatchRange(&s, netip.MustParsePrefix("192.0.2.0/27"), Hit{}, t0)
	for a := netip.MustParseAddr("192.0.2.0"); a.Less(netip.MustParseAddr("192.0.2.32")); a = a.Next() {
		s.RemoteIP = a
		want := x.Match(&s, Hit{}, t0)
		var got *Rule
		for _, sh := range shares {
			for _, p := range sh.Prefixes {
				if p.Contains(a) {
					got = sh.Rule
				}
			}
		}
		if got != want {
			t.Errorf("%s: MatchRange says %v, Match says %v", a, got, want)
		}
	}
	var nilX *Exclusions
	if got := nilX.MatchRange(&s, netip.MustParsePrefix("192.0.2.0/24"), Hit{}, t0); len(got) != 1 || got[0].Rule != nil {
		t.Errorf("nil Exclusions: %v", got)
	}
}

// An address's zone (fe80::1%eth0) does not keep it out of a range: the
// decoder drops zones, and lookup must answer as the pipeline does.
func TestRemoteIPIgnoresTheZone(t *testing.T) {
	x := compileOne(t, map[string][]string{"remote_ip": {"fe80::/10"}})
	for _, s := range []Subject{
		{RemoteIP: netip.MustParseAddr("fe80::1%eth0")},
		{RemoteHost: "fe80::1%eth0"},
	} {
		if x.Match(&s, Hit{}, t0) == nil {
			t.Errorf("%+v is not excluded", s)
		}
	}
}

// remote_domain compares internationalised names in punycode and ignores
// a trailing dot on either side (docs/exclusions.md).
func TestRemoteDomainIDNAndTrailingDot(t *testing.T) {
	tests := []struct {
		value, url string
		want       bool
	}{
		{"bücher.example", "https://www.BÜCHER.example/x", true},
		{"bücher.example", "www.xn--bcher-kva.example", true},
		{"xn--bcher-kva.example", "bücher.example.", true},
		{"backup.example.", "eu.backup.example", true},
		{"backup.example", "eu.backup.example.", true},
		{"bücher.example", "bucher.example", false},
	}
	for _, tt := range tests {
		x := compileOne(t, map[string][]string{"remote_domain": {tt.value}})
		host, _ := NormalizeHost(tt.url) // as the pipeline sets RemoteHost
		s := Subject{RemoteHost: host}
		if got := x.Match(&s, Hit{}, t0) != nil; got != tt.want {
			t.Errorf("remote_domain %q on %q (host %q): %v, want %v", tt.value, tt.url, host, got, tt.want)
		}
	}
}
