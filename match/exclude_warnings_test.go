package match

import (
	"slices"
	"strings"
	"testing"
	"time"
)

// A rule whose table condition names one watched table while every value
// of its action_type is an action type of the other table can never
// match: Defender never reports those action types in that table. An
// action type listed for both tables, an unknown one (it may be new) and
// a table iocwatch never watches (warned about on its own) leave the
// pairing unjudged.
func TestExclusionWarningsNameATableThatNeverReportsTheActionTypes(t *testing.T) {
	const never = ", so the rule never matches"
	tests := []struct {
		name            string
		tables, actions []string
		want            string // after `x.yaml:1: rule "r": `; "" for none
	}{
		{"network table, device action", []string{"DeviceNetworkEvents"}, []string{"DnsQueryResponse"},
			`table "DeviceNetworkEvents" never reports action_type "DnsQueryResponse" (a DeviceEvents action type)` + never},
		{"device table, network action", []string{"DeviceEvents"}, []string{"ConnectionSuccess"},
			`table "DeviceEvents" never reports action_type "ConnectionSuccess" (a DeviceNetworkEvents action type)` + never},
		{"several actions of the other table", []string{"DeviceNetworkEvents"}, []string{"DnsQueryResponse", "screenshottaken"},
			`table "DeviceNetworkEvents" never reports action_type "DnsQueryResponse" or "screenshottaken" (DeviceEvents action types)` + never},
		{"the table's prefix and case are ignored", []string{"advancedhunting-devicenetworkevents"}, []string{"DnsQueryResponse"},
			`table "devicenetworkevents" never reports action_type "DnsQueryResponse" (a DeviceEvents action type)` + never},
		// One action type the table reports is enough.
		{"one action of the table", []string{"DeviceNetworkEvents"}, []string{"DnsQueryResponse", "ConnectionSuccess"}, ""},
		{"both tables", []string{"DeviceNetworkEvents", "DeviceEvents"}, []string{"DnsQueryResponse"}, ""},
		{"matching table and action", []string{"DeviceEvents"}, []string{"DnsQueryResponse"}, ""},
		{"matching in any case", []string{"devicenetworkevents"}, []string{"connectionsuccess"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := compileOne(t, map[string][]string{"table": tt.tables, "action_type": tt.actions, "remote_port": {"443"}})
			var want []string
			if tt.want != "" {
				want = []string{`x.yaml:1: rule "r": ` + tt.want}
			}
			if got := x.Warnings(t0); !slices.Equal(got, want) {
				t.Fatalf("Warnings =\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// Unknown action types and unwatched tables draw their own warnings, not
// the pairing's: an unknown action type may be new, and a table iocwatch
// never watches is what to fix.
func TestExclusionWarningsLeaveUnjudgedPairingsAlone(t *testing.T) {
	tests := []struct {
		tables, actions []string
		not             string // a warning that must not be given
	}{
		{[]string{"DeviceNetworkEvents"}, []string{"DnsQueryResponse", "QuantumTunnelOpened"}, "never reports"},
		{[]string{"DeviceFileEvents"}, []string{"ConnectionSuccess"}, "never reports"},
	}
	for _, tt := range tests {
		x := compileOne(t, map[string][]string{"table": tt.tables, "action_type": tt.actions, "remote_port": {"443"}})
		got := x.Warnings(t0)
		if len(got) == 0 {
			t.Errorf("table %q, action_type %q: no warning at all", tt.tables, tt.actions)
		}
		for _, w := range got {
			if strings.Contains(w, tt.not) {
				t.Errorf("table %q, action_type %q: %s", tt.tables, tt.actions, w)
			}
		}
	}
}

// A process_path glob that names no folder and no file — only wildcards,
// a drive or an extension — matches a process in every folder, malware
// included: the rule excludes (nearly) every process. It is a warning
// (globs of wildcards alone are refused); a glob naming a folder or a
// file, a hash pinning the binary, or a glob that matches no full path
// draws none.
func TestExclusionWarningsNameAProcessPathThatNamesNoFolderOrFile(t *testing.T) {
	claim := func(g, what string) string {
		return `process_path "` + strings.ReplaceAll(g, `\`, `\\`) + `" names no folder and no file (only wildcards, a drive or an extension): ` + what + `; name the program's file (c:\program files\vendor\agent.exe)`
	}
	// broad is the warning of a glob with "**", which reaches every folder;
	// atDepth that of one without, which reaches every folder at its depth
	// and no deeper.
	broad := func(g string) string {
		return claim(g, "it matches a process in every folder, so the rule drops the hits of malware anywhere under it")
	}
	atDepth := func(g string) string {
		return claim(g, "it matches a process in every folder at its depth, so the rule drops the hits of malware run from any of them")
	}
	tests := []struct {
		glob   string
		sha256 bool // the rule also pins process_sha256
		want   string
	}{
		{`c:\**`, false, broad(`c:\**`)},
		{`C:/**`, false, broad(`C:/**`)},
		{`*:\**`, false, broad(`*:\**`)},
		{`?:\**`, false, broad(`?:\**`)},
		{`**\*.exe`, false, broad(`**\*.exe`)},
		{`**.exe`, false, broad(`**.exe`)},
		{`**\?*.exe`, false, broad(`**\?*.exe`)},
		{`c:\**\*.exe`, false, broad(`c:\**\*.exe`)},
		{`c:\*\*.exe`, false, atDepth(`c:\*\*.exe`)},
		{`c:\?*`, false, atDepth(`c:\?*`)},
		{`**\*.*`, false, broad(`**\*.*`)},
		{`\\*\*\*.exe`, false, atDepth(`\\*\*\*.exe`)},
		{`/**/*.sh`, false, broad(`/**/*.sh`)},
		{`c:\*`, false, atDepth(`c:\*`)},
		{`*:\*\*.exe`, false, atDepth(`*:\*\*.exe`)},
		// A folder or a file named: the rule is narrowed.
		{`c:\windows\**`, false, ""},
		{`c:\program files\veeam\**`, false, ""},
		{`**\svchost.exe`, false, ""},
		{`**\veeam*.exe`, false, ""},
		{`c:\*\tools\*`, false, ""},
		{`c:\win**.exe`, false, ""},
		{`**\*.tmp.exe`, false, ""},
		// A '?' names a length, not every name.
		{`c:\?\?.exe`, false, ""},
		// A hash pins the binary wherever it runs from.
		{`c:\**`, true, ""},
		{`**\*.exe`, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.glob, func(t *testing.T) {
			when := map[string][]string{"process_path": {tt.glob}, "remote_port": {"443"}}
			if tt.sha256 {
				when["process_sha256"] = []string{strings.Repeat("ab", 32)}
			}
			var want []string
			if tt.want != "" {
				want = []string{`x.yaml:1: rule "r": ` + tt.want}
			}
			if got := compileOne(t, when).Warnings(t0); !slices.Equal(got, want) {
				t.Fatalf("Warnings =\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// The warning says what the glob reaches: a glob said to match a process
// in every folder matches malware deep in a folder the rule's author did
// not name; one said to match every folder at its depth matches malware
// in an unnamed folder at that depth, and none deeper.
func TestBroadProcessPathWarningSaysWhatTheGlobReaches(t *testing.T) {
	deep := Subject{ProcessName: "update.exe", ProcessPath: `c:\users\alice\appdata\local\temp\update.exe`}
	tests := []struct {
		glob    string
		shallow string // a process at the glob's depth in an unnamed folder
	}{
		{`c:\**`, `c:\x\update.exe`},
		{`**\*.exe`, `c:\x\update.exe`},
		{`c:\*`, `c:\update.exe`},
		{`c:\?*`, `c:\update.exe`},
		{`c:\*\*.exe`, `c:\x\update.exe`},
		{`*:\*\*\*.exe`, `d:\x\y\update.exe`},
	}
	for _, tt := range tests {
		x := compileOne(t, map[string][]string{"process_path": {tt.glob}})
		w := x.Warnings(t0)
		if len(w) != 1 {
			t.Errorf("process_path %q: warnings %q, want one", tt.glob, w)
			continue
		}
		s := Subject{ProcessName: baseName(tt.shallow), ProcessPath: tt.shallow}
		if x.Match(&s, Hit{}, t0) == nil {
			t.Errorf("process_path %q does not match %q: %s", tt.glob, tt.shallow, w[0])
		}
		everywhere := strings.Contains(w[0], "in every folder,") && strings.Contains(w[0], "anywhere under it")
		atDepth := strings.Contains(w[0], "in every folder at its depth")
		if everywhere == atDepth {
			t.Errorf("process_path %q: the warning says neither or both reaches: %s", tt.glob, w[0])
		}
		if got := x.Match(&deep, Hit{}, t0) != nil; got != everywhere {
			t.Errorf("process_path %q matches %q: %v, yet the warning says: %s", tt.glob, deep.ProcessPath, got, w[0])
		}
	}
}

// Every glob the warning says matches in every folder matches processes in
// folders the rule's author did not name, malware's among them.
func TestBroadProcessPathWarningIsTrue(t *testing.T) {
	for _, g := range []string{`c:\**`, `*:\**`, `**\*.exe`, `c:\**\*.exe`, `**\?*.exe`} {
		x := compileOne(t, map[string][]string{"process_path": {g}})
		for _, path := range []string{`c:\users\alice\appdata\local\temp\update.exe`, `c:\programdata\x\svchost.exe`} {
			s := Subject{ProcessName: baseName(path), ProcessPath: path}
			if x.Match(&s, Hit{}, t0) == nil {
				t.Errorf("process_path %q does not match %q: the warning is false", g, path)
			}
		}
	}
}

// The expired-rule warning of the live path (check, run) is true of the
// other paths too: the live stream no longer applies an expired rule,
// while replay and the retro-hunt, which judge expiry at the event's
// time, still apply it to the events from before its expiry. The expiry
// is named to the instant when it is not the start of a day.
func TestExpiredRuleWarningSaysReplayAndRetroHuntStillApplyIt(t *testing.T) {
	const tail = `: the live stream no longer applies it; replay and the retro-hunt still apply it to events from before then`
	tests := []struct {
		name    string
		expires time.Time
		want    string
	}{
		{"a date", time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), `w.yaml:1: rule "old": expired on 2026-11-25` + tail},
		{"a time of day", time.Date(2026, 11, 25, 18, 0, 0, 0, time.UTC), `w.yaml:1: rule "old": expired on 2026-11-25T18:00:00Z` + tail},
		{"a time with an offset, shown in UTC", time.Date(2026, 11, 25, 1, 30, 0, 0, time.FixedZone("", 2*3600)),
			`w.yaml:1: rule "old": expired on 2026-11-24T23:30:00Z` + tail},
		{"at now", t0, `w.yaml:1: rule "old": expired on 2026-11-26T09:00:00Z` + tail},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := compileExpiring(t, "old", tt.expires)
			if got := x.Warnings(t0); !slices.Equal(got, []string{tt.want}) {
				t.Errorf("Warnings = %q, want %q", got, []string{tt.want})
			}
		})
	}
}

// An action type Defender reports in both tables meets either: the
// pairing is judged by the tables each action type is listed for.
func TestTableActionTypeWarningAcceptsAnActionTypeOfBothTables(t *testing.T) {
	index := indexActionTypes([][]string{
		{"ConnectionSuccess", "SharedEvent"},
		{"DnsQueryResponse", "sharedevent"},
	})
	tests := []struct {
		tables, actions []string
		warn            bool
	}{
		{[]string{"DeviceNetworkEvents"}, []string{"SharedEvent"}, false},
		{[]string{"DeviceEvents"}, []string{"SHAREDEVENT"}, false},
		{[]string{"DeviceEvents"}, []string{"ConnectionSuccess", "SharedEvent"}, false},
		{[]string{"DeviceEvents"}, []string{"ConnectionSuccess"}, true},
		{[]string{"DeviceNetworkEvents"}, []string{"DnsQueryResponse"}, true},
		{[]string{"DeviceNetworkEvents"}, []string{"Unknown"}, false},
	}
	for _, tt := range tests {
		if got := tableActionTypeWarning(tt.tables, tt.actions, index); (got != "") != tt.warn {
			t.Errorf("table %q, action_type %q: warning %q, want one: %v", tt.tables, tt.actions, got, tt.warn)
		}
	}
}
