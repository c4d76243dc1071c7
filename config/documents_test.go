package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// A file that ends with a bare "---" (files concatenated or generated)
// holds one document and an empty one: the empty one is ignored. Two
// documents that both hold something are refused, at the second.
func TestEmptyDocumentsAreIgnored(t *testing.T) {
	const doc = "source: {type: file, file: {paths: [events.jsonl]}}\nfeeds: [{name: f, path: f.txt}]\n"
	want, err := Parse([]byte(doc), "iocwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, data string
		errLine    int // 0: accepted, as doc
	}{
		{"a trailing ---", doc + "---\n", 0},
		{"a trailing --- without a newline", doc + "---", 0},
		{"a trailing --- and a space", doc + "--- \n", 0},
		{"a trailing --- and a comment", doc + "---\n# generated\n", 0},
		{"a trailing --- and an end marker", doc + "---\n...\n", 0},
		{"two trailing ---", doc + "---\n---\n", 0},
		{"a trailing document of null", doc + "--- ~\n", 0},
		{"a leading --- alone", "---\n" + doc, 0},
		{"an empty document before", "# header\n---\n---\n" + doc, 0},
		{"a second document", doc + "---\nlog: {level: debug}\n", 3},
		{"a second document after an empty one", doc + "---\n---\nlog: {level: debug}\n", 4},
		{"a third document", doc + "---\n---\nlog: {level: debug}\n---\nmatch: {}\n", 4},
		{"a second document of a tagged null", doc + "--- !secret\n", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.data), "iocwatch.yaml")
			if tt.errLine == 0 {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if !equalConfigs(c, want) {
					t.Errorf("Parse reads\n%s\nwant\n%s", c.Redacted(), want.Redacted())
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Line != tt.errLine || !strings.Contains(err.Error(), "a second YAML document") {
				t.Errorf("Parse = %v, want a second document refused at line %d", err, tt.errLine)
			}
		})
	}
}

// An exclusions file is read the same way.
func TestAnExclusionsFileMayEndWithAnEmptyDocument(t *testing.T) {
	const rules = "exclusions:\n  - {name: scanner, reason: vuln scans, when: {device: [scan01]}}\n"
	want, err := parseExclusions([]byte(rules), "rules.yaml", func(string) (string, bool) { return "", false })
	if err != nil || len(want) != 1 {
		t.Fatalf("parseExclusions = %v, %v", want, err)
	}
	got, err := parseExclusions([]byte(rules+"---\n"), "rules.yaml", func(string) (string, bool) { return "", false })
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("with a trailing ---: %v, %v; want %v", got, err, want)
	}
	if _, err := parseExclusions([]byte(rules+"---\n"+rules), "rules.yaml", func(string) (string, bool) { return "", false }); err == nil ||
		!strings.Contains(err.Error(), "rules.yaml:3: a second YAML document") {
		t.Errorf("two documents: %v", err)
	}
}
