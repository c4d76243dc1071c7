package main

import (
	"fmt"
	"strings"
	"testing"
)

// check's rule listing names each rule's expiry as the warnings do: the
// UTC instant, or the date alone when the rule expires at the start of a
// day in UTC (how a date in the rule file is read). A time with an
// offset is shown in UTC, so that its date is the UTC date; a time of day
// is shown to the instant, not as a date that would read as its start.
func TestCheckListsEachRulesExpiryInUTC(t *testing.T) {
	tests := []struct {
		expires string // as written in the rule file
		want    string // as listed
	}{
		{"2027-06-30", "2027-06-30"},
		{"2027-06-30T00:00:00Z", "2027-06-30"},
		{"2027-06-30T18:00:00Z", "2027-06-30T18:00:00Z"},
		{"2027-06-30T01:00:00+02:00", "2027-06-29T23:00:00Z"},
		{"2027-06-30T02:00:00+02:00", "2027-06-30"},
		{"2027-06-29T20:00:00-04:00", "2027-06-30"},
		{"2027-06-30T18:00:00.5Z", "2027-06-30T18:00:00.5Z"},
	}
	var rules strings.Builder
	rules.WriteString("exclusions:\n")
	for i, tt := range tests {
		fmt.Fprintf(&rules, "  - {name: rule-%d, reason: r, expires: '%s', when: {remote_ip: [192.0.2.10]}}\n", i, tt.expires)
	}
	feed, excl := feedAndRules(t, rules.String())
	code, stdout, stderr := runCLI(t, "", "check", "--feed", feed, "--exclusions", excl)
	if code != exitOK {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	for i, tt := range tests {
		t.Run(tt.expires, func(t *testing.T) {
			line := fmt.Sprintf("  %-28s r, expires %s\n", fmt.Sprintf("rule-%d", i), tt.want)
			if !strings.Contains(stdout, line) {
				t.Errorf("check's listing lacks %q:\n%s", line, stdout)
			}
		})
	}
}

// check warns of a process_path of wildcards that is not a full path and
// of a glob written with {a,b} alternation, each naming the rule file's
// line: neither glob can match what Defender reports.
func TestCheckWarnsOfGlobsThatCannotMatchAFullPath(t *testing.T) {
	feed, excl := feedAndRules(t, "exclusions:\n"+
		"  - {name: any-exe, reason: r, when: {process_path: ['*.exe'], remote_ip: [192.0.2.10]}}\n"+
		"  - {name: exe-or-dll, reason: r, when: {process_path: ['c:\\vendor\\**\\*.{exe,dll}'], remote_ip: [192.0.2.10]}}\n")
	code, stdout, stderr := runCLI(t, "", "check", "--feed", feed, "--exclusions", excl)
	if code != exitOK {
		t.Fatalf("exit %d (warnings are not problems)\n%s%s", code, stdout, stderr)
	}
	for _, w := range []string{
		excl + `:2: rule "any-exe": process_path "*.exe" is not a full path: Defender reports full paths (c:\windows\system32\svchost.exe) and '*' and '?' never match a separator, so it never matches; name the program's folder (c:\program files\vendor\*.exe): **\*.exe would match a process in every folder, malware's too`,
		excl + `:3: rule "exe-or-dll": process_path "c:\\vendor\\**\\*.{exe,dll}" holds {a,b} alternation, which globs do not have: braces and commas match themselves, so it matches only a name written with them; list the alternatives as values, as process_path: ['c:\vendor\**\*.exe', 'c:\vendor\**\*.dll'] (a condition matches when any of its values does)`,
	} {
		if !strings.Contains(stdout, "warning: "+w+"\n") {
			t.Errorf("check's output lacks %q:\n%s", w, stdout)
		}
	}
	if strings.Contains(stdout, "names no folder and no file") {
		t.Errorf("check calls a glob that never matches broad:\n%s", stdout)
	}
}
