package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParse feeds arbitrary files to Parse. Properties: no panic; every
// message names the file; a file that parses validates without panicking,
// with messages naming the file; and Redacted renders a file that parses
// back to the same configuration (secrets and URL credentials replaced).
//
// Seeds: the golden cases, the documented examples, and the snippets
// below, each aimed at one corner of the decoder.
func FuzzParse(f *testing.F) {
	cases, _ := filepath.Glob(filepath.Join("testdata", "*", "config.yaml"))
	examples, _ := filepath.Glob(filepath.Join("..", "docs", "examples", "*.yaml"))
	for _, p := range append(cases, examples...) {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(string(data))
		}
	}
	for _, s := range []string{
		"",                   // empty document
		"# only a comment\n", // empty document with a comment
		"[1, 2]",             // top level is not a mapping
		"source: {type: file, file: {paths: [a]}}\nfeeds: [{name: f, path: f}]", // valid
		"a: &a {x: 1}\nb: *a",                                   // anchors at unknown keys
		"sinks: [{<<: {name: a, type: stdout}}]",                // merge key
		"sinks: [{<<: [{name: a}, {type: stdout}], name: b}]",   // merge list, override
		"feeds: [{name: a, headers: {'<<': x, '~': y}}]",        // odd map keys
		"log: {level: '${IOCWATCH_FUZZ_UNSET}'}",                // unset variable
		"log: {level: '$${x} $$ $y ${IOCWATCH_FUZZ_UNSET:-z}'}", // escapes
		"exclusions: [{name: a, reason: r, expires: 2027-06-30T01:02:03.000000004+05:30, when: {device: [x, 1, true, ~]}}]",
		"shrink_guard: 1e-300\nsuppression: {window: 1h30m0.5s}", // float and duration forms
		"metrics: {listen: '[::1]:0'}", // IPv6 listen
		"---\n---\n",                   // two documents
		"source: !!binary aGVsbG8=",    // explicit tag
		"{? [a]: b}",                   // complex key
		"sinks:\n - name: s\n   type: syslog\n   format: ''", // explicit empty over a type default
	} {
		f.Add(s)
	}
	const name = "fuzz.yaml"
	f.Fuzz(func(t *testing.T, data string) {
		c, err := Parse([]byte(data), name)
		if err != nil {
			checkNamesFile(t, "Parse", err, name)
			return
		}
		checkNamesFile(t, "Validate", c.Validate(), name)
		_ = c.Warnings()
		out := c.Redacted()
		again, err := Parse([]byte(out), name)
		if err != nil {
			t.Fatalf("Parse(Redacted()) = %v\n--- input\n%s\n--- Redacted\n%s", err, data, out)
		}
		if !equalConfigs(redactSecrets(c), again) {
			t.Fatalf("Parse(Redacted()) differs\n--- input\n%s\n--- Redacted\n%s\n--- again\n%s", data, out, again.Redacted())
		}
	})
}

// FuzzParseExclusions feeds arbitrary files to the exclusions loader.
// Properties: no panic; every message names the file; every rule returned
// has a name, a reason, known conditions with values, and an origin in
// the file.
func FuzzParseExclusions(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "exclusions", "*.yaml"))
	files = append(files, filepath.Join("..", "docs", "examples", "exclusions.yaml"))
	for _, p := range files {
		if data, err := os.ReadFile(p); err == nil {
			f.Add(string(data))
		}
	}
	f.Add("exclusions: [{name: a, reason: r, when: {remote_port: 3389}}]") // a number value
	f.Add("exclusions: [{name: a, reason: r, when: {device: {x: y}}}]")    // a mapping value
	f.Add("exclusions: [{<<: {name: a, reason: r}, when: {table: x}}]")    // merge key
	const name = "rules.yaml"
	f.Fuzz(func(t *testing.T, data string) {
		rules, err := parseExclusions([]byte(data), name, os.LookupEnv)
		if err != nil {
			checkNamesFile(t, "parseExclusions", err, name)
			if rules != nil {
				t.Error("rules returned with an error")
			}
			return
		}
		for _, r := range rules {
			if strings.TrimSpace(r.Name) == "" || strings.TrimSpace(r.Reason) == "" || len(r.When) == 0 || !strings.HasPrefix(r.Origin, name+":") {
				t.Errorf("incomplete rule accepted: %+v", r)
			}
			for k, vals := range r.When {
				if !strings.Contains(strings.Join(conditionKeys, " "), k) || len(vals) == 0 {
					t.Errorf("rule %q: condition %q = %q accepted", r.Name, k, vals)
				}
			}
		}
	})
}

func checkNamesFile(t *testing.T, what string, err error, name string) {
	t.Helper()
	if err == nil {
		return
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		if !strings.HasPrefix(line, name+":") {
			t.Errorf("%s: a message does not name the file: %q", what, line)
		}
	}
}
