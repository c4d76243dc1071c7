package main

import (
	"strings"
	"testing"
)

func TestBenchRefusesBadFlagsBeforeMeasuringAnything(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"cores other than 1 or 2 are refused", []string{"bench", "--cores", "3"}, "--cores 3: want 1 or 2"},
		{"a size that is not a count is refused", []string{"bench", "--sizes", "1k,lots"}, `--sizes: "lots" is not a count`},
		{"memory sizes are checked alike", []string{"bench", "--memory-sizes", "0"}, `--memory-sizes: "0" is not a count`},
		{"stray arguments are refused", []string{"bench", "now"}, `unexpected arguments ["now"]`},
		{"a misspelt section is refused, not an empty report", []string{"bench", "--only", "decode,pipline"}, `--only: unknown section "pipline" (want some of decode,match,`},
		{"a negative round count is refused", []string{"bench", "--rounds", "-1"}, "--rounds -1: want 1 or more"},
		{"an interpreter that is not there is refused", []string{"bench", "--python", "/nonexistent/python3"}, "--python: "},
		{"a script that is not there is refused", []string{"bench", "--python-script", "/nonexistent/ref.py"}, "--python-script: "},
		{"an output directory that cannot be made is refused before measuring", []string{"bench", "--only", "decode", "--out", "/proc/iocwatch-nope"}, "--out: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(t, "", tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want %d and %q", code, stderr, exitUsage, tc.want)
			}
		})
	}
}

func TestBenchIsListedInHelp(t *testing.T) {
	_, stdout, _ := runCLI(t, "", "help")
	if !strings.Contains(stdout, "bench") {
		t.Errorf("help does not list bench:\n%s", stdout)
	}
}
