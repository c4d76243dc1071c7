package config

import (
	"errors"
	"strings"
	"testing"
)

// A KeyCheck's problem is placed as Validate places its own — file, line
// of the key (or of the nearest key written) and key path; a value from
// the environment quoted whole shown by its ${…} text — and reported with
// Validate's in file order; errors.Is still finds it. A check whose key
// Validate already faults is not run, so the value is not faulted twice;
// a check that finds nothing adds nothing.
func TestKeyChecksAreReportedWithValidatesProblems(t *testing.T) {
	t.Setenv("IOCWATCH_TEST_HEC_URL", "https://splunk.example:8088/services/collector/raw")
	const file = `source: {file: {paths: [e.jsonl]}}
feeds: [{name: f, path: f.csv}]
shrink_guard: 2
sinks:
  - name: s
    type: splunk_hec
    splunk_hec:
      url: ${IOCWATCH_TEST_HEC_URL}
      token: t
  - name: w
    type: webhook
    webhook: {url: 'ftp://hooks.example/x'}
  - name: o
    type: stdout
    format: xml
`
	c, err := Parse([]byte(file), "h.yaml")
	if err != nil {
		t.Fatal(err)
	}
	bad := errors.New("is HEC's raw endpoint")
	fails := func(err error) func() error { return func() error { return err } }
	for _, tc := range []struct {
		name   string
		c      *Config
		checks []KeyCheck
		want   []string // the problems, in order
	}{
		{"none", c, nil, []string{
			"h.yaml:3: shrink_guard: must be between 0 and 1 (a fraction); found 2",
			"h.yaml:12: sinks[1].webhook.url: must be https:// or http://",
			`h.yaml:15: sinks[2].format: "xml" is not one of native, ocsf`}},
		{"a key written in the file, in file order", c, []KeyCheck{{"sinks[0].splunk_hec.url", fails(bad)}}, []string{
			"h.yaml:3: shrink_guard: must be between 0 and 1 (a fraction); found 2",
			"h.yaml:8: sinks[0].splunk_hec.url: is HEC's raw endpoint",
			"h.yaml:12: sinks[1].webhook.url: must be https:// or http://",
			`h.yaml:15: sinks[2].format: "xml" is not one of native, ocsf`}},
		{"a key not written: the nearest one that is", c, []KeyCheck{{"sinks[0].splunk_hec.index", fails(bad)}}, []string{
			"h.yaml:3: shrink_guard: must be between 0 and 1 (a fraction); found 2",
			"h.yaml:7: sinks[0].splunk_hec.index: is HEC's raw endpoint",
			"h.yaml:12: sinks[1].webhook.url: must be https:// or http://",
			`h.yaml:15: sinks[2].format: "xml" is not one of native, ocsf`}},
		{"the value from the environment quoted whole", c, []KeyCheck{{"sinks[0].splunk_hec.url", fails(errors.New("https://splunk.example:8088/services/collector/raw: is HEC's raw endpoint"))}}, []string{
			"h.yaml:3: shrink_guard: must be between 0 and 1 (a fraction); found 2",
			"h.yaml:8: sinks[0].splunk_hec.url: (the expanded value): is HEC's raw endpoint",
			"h.yaml:12: sinks[1].webhook.url: must be https:// or http://",
			`h.yaml:15: sinks[2].format: "xml" is not one of native, ocsf`}},
		{"a key Validate faults is not checked again", c, []KeyCheck{{"sinks[1].webhook.url", fails(bad)}, {"sinks[1]", fails(bad)}}, []string{
			"h.yaml:3: shrink_guard: must be between 0 and 1 (a fraction); found 2",
			"h.yaml:12: sinks[1].webhook.url: must be https:// or http://",
			`h.yaml:15: sinks[2].format: "xml" is not one of native, ocsf`}},
		{"a check that finds nothing", c, []KeyCheck{{"sinks[0].splunk_hec.url", fails(nil)}}, []string{
			"h.yaml:3: shrink_guard: must be between 0 and 1 (a fraction); found 2",
			"h.yaml:12: sinks[1].webhook.url: must be https:// or http://",
			`h.yaml:15: sinks[2].format: "xml" is not one of native, ocsf`}},
		{"a config built in code", func() *Config {
			d := Default()
			d.Source.File.Paths = []string{"e.jsonl"}
			d.Feeds = []Feed{{Name: "f", Type: "file", Path: "f.csv", Format: "auto"}}
			return d
		}(), []KeyCheck{{"sinks[0].splunk_hec.url", fails(bad)}}, []string{
			"sinks[0].splunk_hec.url: is HEC's raw endpoint"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for name, validate := range map[string]func(...KeyCheck) error{"Validate": tc.c.Validate, "ValidateWithoutSource": tc.c.ValidateWithoutSource} {
				err := validate(tc.checks...)
				if got, want := strings.Split(errString(err), "\n"), tc.want; strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("%s:\n%s\nwant:\n%s", name, strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
				for _, kc := range tc.checks {
					if ce := kc.Check(); ce == bad && strings.Contains(errString(err), "is HEC's raw endpoint") && !errors.Is(err, bad) {
						t.Errorf("%s: %v does not wrap %v", name, err, bad)
					}
				}
			}
		})
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
