package match

import (
	"slices"
	"strings"
	"testing"
)

// fullPaths are paths in the forms Defender reports for a process: a
// drive, a UNC share, a POSIX path; in either case and either separator.
var fullPaths = []string{
	`c:\windows\system32\svchost.exe`,
	`C:\Program Files\Vendor\agent.exe`,
	`d:\tools\veeam-agent.exe`,
	`c:\x.exe`,
	`\\fs01\tools\setup.exe`,
	`/usr/bin/curl`,
	`c:/windows/notepad.exe`,
}

// A process_path glob that no full path can match draws a warning, even
// when it holds wildcards: '*' and '?' never match a separator, and every
// path Defender reports holds one, so a glob without a separator or "**"
// never matches (`*.exe`), nor does one whose first element can be
// neither empty (\\server, /usr) nor a drive (`?\x.exe`). The fix it
// suggests does not itself draw a warning when it can help it: `**\*.exe`
// would match a process in every folder, so for a glob that names no
// file the warning asks for the program's folder. Globs that can match a
// full path are not said to never match.
func TestExclusionWarningsNameAWildcardProcessPathThatIsNotAFullPath(t *testing.T) {
	const notFull = `is not a full path: Defender reports full paths (c:\windows\system32\svchost.exe) and '*' and '?' never match a separator, so it never matches; `
	nameFolder := func(g string) string {
		return notFull + `name the program's folder (c:\program files\vendor\` + g + `): **\` + g + ` would match a process in every folder, malware's too`
	}
	anyFolder := func(g string) string { return notFull + `write **\` + g + ` for any folder` }
	const driveAlone = `is a drive alone: a process path ends with the file name (c:\windows\system32\svchost.exe), so it never matches; name the program's file (c:\program files\vendor\agent.exe)`
	quoted := func(g string) string { return `process_path "` + strings.ReplaceAll(g, `\`, `\\`) + `" ` }
	tests := []struct {
		glob  string
		wants []string // after `x.yaml:1: rule "r": process_path "GLOB" `
	}{
		{`*.exe`, []string{nameFolder(`*.exe`)}},
		{`?*.exe`, []string{nameFolder(`?*.exe`)}},
		{`*.*`, []string{nameFolder(`*.*`)}},
		{`*`, nil}, // refused, not warned: see below
		{`veeam*.exe`, []string{anyFolder(`veeam*.exe`)}},
		{`svchost.ex?`, []string{anyFolder(`svchost.ex?`)}},
		{`?`, []string{anyFolder(`?`)}},
		{`c:`, []string{driveAlone}},
		{`*:`, []string{driveAlone}},
		{`?:`, []string{driveAlone}},
		// A first element that can be neither empty nor a drive.
		{`?\tools\*.exe`, []string{`is not a full path: Defender reports full paths (c:\windows\system32\svchost.exe), so it never matches; write **\?\tools\*.exe for any folder`}},
		{`*tools\x.exe`, []string{`is not a full path: Defender reports full paths (c:\windows\system32\svchost.exe), so it never matches; write **\*tools\x.exe for any folder`}},
		{`???\x.exe`, []string{`is not a full path: Defender reports full paths (c:\windows\system32\svchost.exe), so it never matches; write **\???\x.exe for any folder`}},
		// Globs that can match a full path are not said to never match.
		{`?:\*.exe`, []string{`names no folder and no file (only wildcards, a drive or an extension): it matches a process in every folder at its depth, so the rule drops the hits of malware run from any of them; name the program's file (c:\program files\vendor\agent.exe)`}},
		{`*:\tools\*.exe`, nil},
		{`?:\tools\*.exe`, nil},
		{`??\tools\*.exe`, nil},
		{`*\tools\*.exe`, nil},
		{`*c:\tools\*.exe`, nil},
		{`c*\tools\*.exe`, nil},
		{`c**.exe`, nil},
		{`**veeam*.exe`, nil},
		{`**\veeam*.exe`, nil},
		{`\\*\tools\*.exe`, nil},
		{`/usr/bin/*`, nil},
		{`**.exe`, []string{`names no folder and no file (only wildcards, a drive or an extension): it matches a process in every folder, so the rule drops the hits of malware anywhere under it; name the program's file (c:\program files\vendor\agent.exe)`}},
	}
	for _, tt := range tests {
		t.Run(tt.glob, func(t *testing.T) {
			when := map[string][]string{"process_path": {tt.glob}, "remote_port": {"443"}}
			x, err := CompileExclusions([]RuleSpec{{Name: "r", Reason: "test", When: when, Origin: "x.yaml:1"}})
			if tt.glob == `*` {
				if err == nil {
					t.Fatal("process_path \"*\" is accepted")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, w := range tt.wants {
				want = append(want, `x.yaml:1: rule "r": `+quoted(tt.glob)+w)
			}
			if got := x.Warnings(t0); !slices.Equal(got, want) {
				t.Fatalf("Warnings =\n%q\nwant\n%q", got, want)
			}
			neverSaid := len(tt.wants) > 0 && strings.Contains(tt.wants[0], "never matches")
			for _, path := range fullPaths {
				s := Subject{ProcessName: baseName(path), ProcessPath: path, RemotePort: 443}
				if x.Match(&s, Hit{}, t0) != nil && neverSaid {
					t.Errorf("process_path %q matches %q: the warning is false", tt.glob, path)
				}
			}
		})
	}
}

// The glob syntax has no {a,b} alternation: braces and commas match
// themselves, so `c:\**\*.{exe,dll}` matches only a file named with the
// braces. Such a glob draws a warning that lists the values to write
// instead (a condition matches when any of its values does), and not the
// warning of a glob that names no folder and no file, which it is not.
// Braces without a comma between them are plain text (a GUID folder) and
// draw nothing.
func TestExclusionWarningsNameBraceAlternationInAGlob(t *testing.T) {
	braces := func(key, g, values string) string {
		return key + ` "` + strings.ReplaceAll(g, `\`, `\\`) + `" holds {a,b} alternation, which globs do not have: braces and commas match themselves, so it matches only a name written with them; list the alternatives as values, as ` + key + `: [` + values + `] (a condition matches when any of its values does)`
	}
	tests := []struct {
		key, glob string
		names     []string // process_name, if any
		sha256    bool     // the rule also pins process_sha256
		want      []string // after `x.yaml:1: rule "r": `
	}{
		{"process_path", `c:\**\*.{exe,dll}`, nil, false, []string{braces("process_path", `c:\**\*.{exe,dll}`, `'c:\**\*.exe', 'c:\**\*.dll'`)}},
		{"process_path", `c:\**\*.{exe,dll}`, nil, true, []string{braces("process_path", `c:\**\*.{exe,dll}`, `'c:\**\*.exe', 'c:\**\*.dll'`)}},
		{"process_path", `c:\program files\vendor\{agent,updater}.exe`, nil, false,
			[]string{braces("process_path", `c:\program files\vendor\{agent,updater}.exe`, `'c:\program files\vendor\agent.exe', 'c:\program files\vendor\updater.exe'`)}},
		{"process_path", `c:\{a,b}\{x,y}.exe`, nil, false,
			[]string{braces("process_path", `c:\{a,b}\{x,y}.exe`, `'c:\a\x.exe', 'c:\a\y.exe', 'c:\b\x.exe', 'c:\b\y.exe'`)}},
		{"process_path", `c:\it's\{a,b}.exe`, nil, false,
			[]string{braces("process_path", `c:\it's\{a,b}.exe`, `'c:\it''s\a.exe', 'c:\it''s\b.exe'`)}},
		{"process_path", `c:\t\{a,b,c}{1,2,3}.exe`, nil, false,
			[]string{braces("process_path", `c:\t\{a,b,c}{1,2,3}.exe`, `'c:\t\a1.exe', 'c:\t\a2.exe', 'c:\t\a3.exe', 'c:\t\b1.exe', …`)}},
		// The names are judged against the alternatives: agent.exe ends
		// one, so the rule's names and paths meet once the values are
		// listed.
		{"process_path", `c:\vendor\{agent,updater}.exe`, []string{"agent.exe"}, false,
			[]string{braces("process_path", `c:\vendor\{agent,updater}.exe`, `'c:\vendor\agent.exe', 'c:\vendor\updater.exe'`)}},
		// Not a full path either: both are said.
		{"process_path", `*.{exe,dll}`, nil, false, []string{
			braces("process_path", `*.{exe,dll}`, `'*.exe', '*.dll'`),
			`process_path "*.{exe,dll}" is not a full path: Defender reports full paths (c:\windows\system32\svchost.exe) and '*' and '?' never match a separator, so it never matches; name the program's folder (c:\program files\vendor\*.{exe,dll}): **\*.{exe,dll} would match a process in every folder, malware's too`,
		}},
		{"device", `ws-{01,02}.corp.example`, nil, false, []string{braces("device", `ws-{01,02}.corp.example`, `'ws-01.corp.example', 'ws-02.corp.example'`)}},
		// Braces without a comma, or unclosed, are plain text.
		{"process_path", `c:\programdata\{8A3C7E5B-0B1D-4A8B-9C3E-2F1A6D7E8B9C}\setup.exe`, nil, false, nil},
		{"process_path", `c:\tools\{a}.exe`, nil, false, nil},
		{"process_path", `c:\tools\{a,b.exe`, nil, false, nil},
		{"process_path", `c:\tools\a,b}.exe`, nil, false, nil},
		{"device", `ws-{01}`, nil, false, nil},
	}
	for _, tt := range tests {
		t.Run(tt.key+" "+tt.glob, func(t *testing.T) {
			when := map[string][]string{tt.key: {tt.glob}, "remote_port": {"443"}}
			if tt.names != nil {
				when["process_name"] = tt.names
			}
			if tt.sha256 {
				when["process_sha256"] = []string{strings.Repeat("ab", 32)}
			}
			var want []string
			for _, w := range tt.want {
				want = append(want, `x.yaml:1: rule "r": `+w)
			}
			x := compileOne(t, when)
			if got := x.Warnings(t0); !slices.Equal(got, want) {
				t.Fatalf("Warnings =\n%q\nwant\n%q", got, want)
			}
		})
	}
}

// The warning is true: a glob with braces matches the name written with
// them, and none of the names the alternation was meant to match.
func TestGlobBracesMatchThemselves(t *testing.T) {
	g, err := compileGlob(`c:\**\*.{exe,dll}`)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]bool{
		`c:\tools\agent.exe`:         false,
		`c:\tools\agent.dll`:         false,
		`c:\tools\agent.{exe,dll}`:   true,
		`c:\tools\agent.{EXE,DLL}`:   true,
		`c:\tools\agent.{exe, dll}`:  false,
		`c:\tools\agent.exe,dll`:     false,
		`c:\tools\agent.{exe,dll}.x`: false,
	} {
		if got := g.match(path); got != want {
			t.Errorf("%s matches %q: %v, want %v", g, path, got, want)
		}
	}
}
