package main

import (
	"regexp"
	"strings"
	"testing"
)

// helpFlag is a flag line of a command's help: two spaces, the dashes and
// the name, then its argument or usage.
var helpFlag = regexp.MustCompile(`^  (-+)([a-zA-Z0-9][a-zA-Z0-9-]*)(?:[ \t]|$)`)

// Every command's help writes its flags as the docs and messages do:
// --name, and -c for a one-letter name.
func TestHelpWritesFlagsAsTheDocsDo(t *testing.T) {
	total := 0
	for _, c := range commands() {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", c.name, "--help")
			if code != exitOK {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			n := 0
			for _, line := range strings.Split(stdout, "\n") {
				m := helpFlag.FindStringSubmatch(line)
				if m == nil {
					continue
				}
				n++
				want := "--"
				if len(m[2]) == 1 {
					want = "-"
				}
				if m[1] != want {
					t.Errorf("%q: want %s%s", line, want, m[2])
				}
			}
			// A command without flags says nothing of them.
			if hasFlags := strings.Contains(stdout, "\nFlags:\n"); hasFlags != (n > 0) {
				t.Errorf("%d flags listed, and a Flags: heading %v:\n%s", n, hasFlags, stdout)
			}
			total += n
		})
	}
	if total < 20 {
		t.Fatalf("only %d flags listed in all: is the pattern broken?", total)
	}
}

// Both forms still parse, as the flag package takes either.
func TestFlagsParseWithOneDashOrTwo(t *testing.T) {
	for _, args := range [][]string{{"-h"}, {"--h"}, {"-help"}, {"--help"}} {
		if code, stdout, stderr := runCLI(t, "", append([]string{"hunt"}, args...)...); code != exitOK || !strings.Contains(stdout, "--history") {
			t.Errorf("hunt %v: exit %d: %s", args, code, stderr)
		}
	}
	for _, dashes := range []string{"-", "--"} {
		code, _, stderr := runCLI(t, "", "hunt", dashes+"history", t.TempDir(), dashes+"json", "203.0.113.77")
		if code != exitUsage || !strings.Contains(stderr, "holds no iocwatch history") {
			t.Errorf("hunt %shistory DIR %sjson: exit %d: %s", dashes, dashes, code, stderr)
		}
	}
}

// A flag error names the flag as the docs and --help write it: --name,
// and -c for a one-letter flag.
func TestFlagErrorsWriteFlagsAsTheDocsDo(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"replay", "--nope", "x"}, "flag provided but not defined: --nope\n"},
		{[]string{"replay", "-nope", "x"}, "flag provided but not defined: --nope\n"},
		{[]string{"replay", "--feed"}, "flag needs an argument: --feed\n"},
		{[]string{"check", "--workers", "abc"}, "flag provided but not defined: --workers\n"},
		{[]string{"replay", "--workers", "abc", "x"}, `invalid value "abc" for flag --workers: parse error` + "\n"},
		{[]string{"replay", "--quiet=maybe", "x"}, `invalid boolean value "maybe" for --quiet: parse error` + "\n"},
		{[]string{"lookup", "-c"}, "flag needs an argument: -c\n"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			code, _, stderr := runCLI(t, "", tt.args...)
			if code != exitUsage {
				t.Errorf("exit %d, want %d", code, exitUsage)
			}
			if !strings.HasPrefix(stderr, tt.want) {
				t.Errorf("stderr begins %q, want %q", firstLine(stderr), tt.want)
			}
		})
	}
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(s, "\n")
	return line
}
