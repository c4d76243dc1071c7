package match

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestGlob(t *testing.T) {
	tests := []struct {
		name, glob, path string
		want             bool
	}{
		{"a star in the last segment matches a file in the folder", `c:\windows\system32\*`, `C:\Windows\System32\svchost.exe`, true},
		{"a star never crosses a separator", `c:\windows\system32\*`, `c:\windows\system32\drivers\x.sys`, false},
		{"a star needs the folder itself", `c:\windows\system32\*`, `c:\windows\syswow64\svchost.exe`, false},
		{"forward and back slashes are equal", `c:/windows/system32/*`, `C:\Windows\System32\svchost.exe`, true},
		{"a back slash in the glob matches a forward slash in the path", `c:\program files\veeam\*`, `c:/program files/veeam/agent.exe`, true},
		{"case is ignored", `C:\PROGRAM FILES\*\AGENT.EXE`, `c:\program files\veeam\agent.exe`, true},
		{"non-ASCII case is ignored", `c:\users\josé\*`, `C:\Users\JOSÉ\x.exe`, true},
		{"a double star crosses separators", `c:\program files\**\veeam*.exe`, `c:\program files\veeam\backup\veeam.agent.exe`, true},
		{"a double star segment also matches no segment", `c:\program files\**\veeam.exe`, `c:\program files\veeam.exe`, true},
		{"a leading double star segment matches any folder", `**\mstsc.exe`, `c:\windows\system32\mstsc.exe`, true},
		{"a leading double star segment matches no folder", `**\mstsc.exe`, `mstsc.exe`, true},
		{"a leading double star segment needs a separator before the name", `**\mstsc.exe`, `c:\x\notmstsc.exe`, false},
		{"a trailing double star matches everything below", `c:\windows\**`, `c:\windows\system32\drivers\x.sys`, true},
		{"a trailing double star needs the folder", `c:\windows\**`, `c:\windowsold\x.exe`, false},
		{"a double star inside a segment crosses separators", `c:\w**.exe`, `c:\windows\system32\a.exe`, true},
		{"a question mark matches one character", `c:\windows\system3?\svchost.exe`, `c:\windows\system32\svchost.exe`, true},
		{"a question mark never matches a separator", `c:\windows?system32`, `c:\windows\system32`, false},
		{"a question mark needs one character", `a?`, `a`, false},
		{"a literal glob matches only the same path", `c:\x\y.exe`, `c:\x\y.exe.bak`, false},
		{"a glob without a star matches the whole path only", `svchost.exe`, `c:\windows\svchost.exe`, false},
		{"several stars in a segment work", `*host*.exe`, `svchost.exe`, true},
		{"a star matches an empty run", `svc*host.exe`, `svchost.exe`, true},
		{"brackets are literal", `[a].exe`, `[A].EXE`, true},
		{"a device glob matches a name", `ws-*.corp.example`, `WS-0142.corp.example`, true},
		{"a device glob refuses another domain", `ws-*.corp.example`, `ws-0142.corp.example.evil`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g, err := compileGlob(tt.glob)
			if err != nil {
				t.Fatal(err)
			}
			if got := g.match(tt.path); got != tt.want {
				t.Fatalf("glob %q on %q = %v; want %v", tt.glob, tt.path, got, tt.want)
			}
			if got := globRegexp(tt.glob).MatchString(tt.path); got != tt.want {
				t.Fatalf("the reference regexp disagrees with the table on %q, %q", tt.glob, tt.path)
			}
		})
	}
}

func TestCompileGlobRefuses(t *testing.T) {
	for name, g := range map[string]string{
		"an empty glob":   "",
		"invalid UTF-8":   "c:\\\xff",
		"a glob too long": strings.Repeat("a", 256),
	} {
		if _, err := compileGlob(g); err == nil {
			t.Errorf("compileGlob accepted %s", name)
		}
	}
	if _, err := compileGlob(strings.Repeat("a", 255)); err != nil {
		t.Errorf("compileGlob refused 255 elements: %v", err)
	}
}

func TestGlobMatchDoesNotAllocate(t *testing.T) {
	g, err := compileGlob(`c:\program files\**\*veeam*\?*.exe`)
	if err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(100, func() {
		g.match(`C:\Program Files\Veeam\Endpoint Backup\Veeam.Agent.exe`)
		g.match(`c:\program files\veeam`, `\`, "veeam.agent.exe")
	})
	if n != 0 {
		t.Fatalf("glob.match allocates %v times", n)
	}
}

// globRegexp is the reference the fuzz target compares with: the glob
// translated to a regular expression, token by token.
func globRegexp(g string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?is)^`)
	for i := 0; i < len(g); {
		r, n := utf8.DecodeRuneInString(g[i:])
		switch {
		case strings.HasPrefix(g[i:], "**"):
			j := i + 2
			for j < len(g) && g[j] == '*' {
				j++
			}
			if (i == 0 || g[i-1] == '/' || g[i-1] == '\\') && j < len(g) && (g[j] == '/' || g[j] == '\\') {
				b.WriteString(`(?:.*[/\\])?`)
				j++
			} else {
				b.WriteString(`.*`)
			}
			i = j
			continue
		case r == '*':
			b.WriteString(`[^/\\]*`)
		case r == '?':
			b.WriteString(`[^/\\]`)
		case r == '/' || r == '\\':
			b.WriteString(`[/\\]`)
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
		i += n
	}
	b.WriteString(`$`)
	return regexp.MustCompile(b.String())
}

func FuzzGlob(f *testing.F) {
	// Seeds: the separator, star, double star and case rules, and
	// pathological stars.
	f.Add(`c:\windows\system32\*`, `C:\Windows\System32\svchost.exe`)
	f.Add(`**\mstsc.exe`, `mstsc.exe`)
	f.Add(`c:/program files/**/veeam*`, `c:\program files\veeam\x\veeam.exe`)
	f.Add(`a*a*a*a*a*b`, `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa`)
	f.Add(`**/**/**/x`, `a/b/c/d/x`)
	f.Add(`?é?`, `xÉy`)
	f.Add(`K`, "\u212a")
	f.Add(`***`, ``)
	f.Fuzz(func(t *testing.T, pattern, path string) {
		g, err := compileGlob(pattern)
		if err != nil {
			return
		}
		got := g.match(path)
		if !utf8.ValidString(path) {
			return // regexp and range-over-string differ on invalid bytes
		}
		if want := globRegexp(pattern).MatchString(path); got != want {
			t.Fatalf("glob %q on %q = %v; reference regexp says %v", pattern, path, got, want)
		}
		if !strings.ContainsAny(pattern, "*?") && !g.match(strings.ToUpper(pattern)) && strings.EqualFold(strings.ToUpper(pattern), pattern) {
			t.Fatalf("literal glob %q does not match its upper case", pattern)
		}
	})
}
