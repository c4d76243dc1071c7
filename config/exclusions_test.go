package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/match"
)

func TestLoadExclusionsReadsTheDocumentedShape(t *testing.T) {
	path := filepath.Join("testdata", "exclusions", "valid.yaml")
	got, err := LoadExclusions(path)
	if err != nil {
		t.Fatal(err)
	}
	want := []ExclusionRule{
		{
			Name:    "rdp-client",
			Reason:  "Admins connect to servers with Remote Desktop",
			Expires: time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC),
			When: map[string][]string{
				"process_name": {"mstsc.exe", "rdpclip.exe"},
				"process_path": {`c:\windows\system32\*`},
			},
			Origin:      path + ":2",
			WhenOrigins: map[string]string{"process_name": path + ":6", "process_path": path + ":7"},
		},
		{
			Name:    "rdp-port",
			Reason:  "RDP to the jump hosts",
			Expires: time.Date(2027, 6, 30, 16, 0, 0, 0, time.UTC),
			When: map[string][]string{
				"remote_port":  {"3389"},
				"remote_ip":    {"10.1.0.0/16", "2001:db8::/32"},
				"device_group": {"Jump Hosts"},
			},
			Origin:      path + ":8",
			WhenOrigins: map[string]string{"remote_port": path + ":12", "remote_ip": path + ":13", "device_group": path + ":14"},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("LoadExclusions:\n got %+v\nwant %+v", got, want)
	}
}

func TestLoadExclusionsReportsEveryProblem(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"missing and duplicate names, reasons and conditions are reported", "invalid.yaml", []string{
			"invalid.yaml:2: exclusions[0].reason: required: say why this traffic is benign",
			`invalid.yaml:4: exclusions[1].name: "no-reason" is already the name of the rule at testdata/exclusions/invalid.yaml:2`,
			"invalid.yaml:9: exclusions[2].when: required: at least one condition (a rule without conditions would hide every alert)",
			"invalid.yaml:13: exclusions[3].when.device: no values (a condition without values never holds)",
			"invalid.yaml:14: exclusions[3].when.account: no values (a condition without values never holds)",
			"invalid.yaml:15: exclusions[3].when.table[1]: empty value",
			"invalid.yaml:16: exclusions[4].name: required",
			"invalid.yaml:16: exclusions[4].when: required: at least one condition (a rule without conditions would hide every alert)",
		}},
		{"unknown keys and conditions are reported with their line", "unknown-keys.yaml", []string{
			`unknown-keys.yaml:4: exclusions[0].expires: "30/06/2027" is not a date (2027-06-30) or an RFC 3339 time (2027-06-30T18:00:00Z)`,
			`unknown-keys.yaml:6: unknown condition "process_nam" in exclusions[0].when (did you mean "process_name"?)`,
			`unknown-keys.yaml:7: unknown condition "remote_url" in exclusions[0].when (valid conditions: process_name, process_path, process_sha256, account, device, device_group, action_type, remote_ip, remote_domain, remote_port, table, indicator_source, indicator_tag)`,
			`unknown-keys.yaml:8: unknown key "comment" in exclusions[0] (valid keys: name, reason, expires, when)`,
			`unknown-keys.yaml:9: unknown key "excludes" at the top level (valid keys: exclusions)`,
		}},
		// One run reports what took three: reading problems (a bad date, a
		// misspelt condition) hide neither the missing reason nor the bad
		// values, in the same rule or another; nor does a value that
		// matches everything go unnoticed.
		{"reading, shape and value problems are reported in one pass", "one-pass.yaml", []string{
			`one-pass.yaml:4: exclusions[0].expires: "30/06/2027" is not a date (2027-06-30) or an RFC 3339 time (2027-06-30T18:00:00Z)`,
			`one-pass.yaml:7: rule "veeam-repository": remote_ip: "203.0.113.0/33": bad CIDR: netip.ParsePrefix("203.0.113.0/33"): prefix length out of range`,
			`one-pass.yaml:9: exclusions[1].reason: required: say why this traffic is benign`,
			`one-pass.yaml:11: unknown condition "proces_name" in exclusions[1].when (did you mean "process_name"?)`,
			`one-pass.yaml:12: rule "rdp-jump-hosts": remote_port: "0": bad port (want 1-65535 or a range like 8000-8099)`,
			`one-pass.yaml:12: rule "rdp-jump-hosts": remote_port: "70000": bad port (want 1-65535 or a range like 8000-8099)`,
			`one-pass.yaml:12: rule "rdp-jump-hosts": remote_port: "90-80": bad port (want 1-65535 or a range like 8000-8099)`,
			`one-pass.yaml:13: exclusions[2].name: "Veeam-Repository" is already the name of the rule at testdata/exclusions/one-pass.yaml:2`,
			`one-pass.yaml:16: rule "Veeam-Repository": process_sha256: "abc": bad SHA-256 (want 64 hex digits)`,
			`one-pass.yaml:20: rule "everything": remote_ip: "0.0.0.0/0": matches every address: the rule would hide every hit`,
			`one-pass.yaml:21: rule "everything": process_path: "***": matches any path (a glob of only '*' and separators): the rule would hide every hit`,
			`one-pass.yaml:24: exclusions[4].expires: "2027-13-01" is not a date (2027-06-30) or an RFC 3339 time (2027-06-30T18:00:00Z)`,
			`one-pass.yaml:26: rule "devices": device: "*": matches any device name (a glob of only '*' and separators): the rule would hide every hit`,
			`one-pass.yaml:27: rule "devices": remote_port: "1-65535": matches every port: the rule would hide every hit`,
			`one-pass.yaml:28: rule "devices": remote_ip: "::/0": matches every address: the rule would hide every hit`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := LoadExclusions(filepath.Join("testdata", "exclusions", tt.file))
			if err == nil || rules != nil {
				t.Fatalf("LoadExclusions = %v, %v; want only an error", rules, err)
			}
			got := strings.Split(err.Error(), "\n")
			for i := range tt.want {
				tt.want[i] = "testdata/exclusions/" + tt.want[i]
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestExclusionsEdgeCases(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		wantErr string // substring; "" means valid
		rules   int
	}{
		{"an empty file holds no rules", "", "", 0},
		{"an empty list holds no rules", "exclusions: []", "", 0},
		{"a list of scalars is refused", "exclusions: [a, b]", "want a rule", 0},
		{"a mapping instead of a list is refused", "exclusions: {name: x}", "want a list of rules", 0},
		{"nested lists in a condition are refused", "exclusions: [{name: a, reason: r, when: {device: [[x]]}}]", "want a single value, found a list", 0},
		{"a condition mapping is refused", "exclusions: [{name: a, reason: r, when: {device: {x: 1}}}]", "want a list of values, found a mapping", 0},
		{"when as a list is refused", "exclusions: [{name: a, reason: r, when: [device]}]", "want a mapping of conditions", 0},
		{"values expand from the environment", "exclusions: [{name: a, reason: r, when: {device: '${IOCWATCH_TEST_UNSET_DEV:-ws-*}'}}]", "", 1},
		{"an unset variable is an error", "exclusions: [{name: a, reason: r, when: {device: '${IOCWATCH_TEST_UNSET_DEV}'}}]", "IOCWATCH_TEST_UNSET_DEV is not set", 0},
		{"a blank reason is refused", "exclusions: [{name: a, reason: '  ', when: {device: x}}]", "reason: required", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := parseExclusions([]byte(tt.yaml), "x.yaml", os.LookupEnv)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			case len(rules) != tt.rules:
				t.Errorf("%d rules, want %d", len(rules), tt.rules)
			}
		})
	}
}

// Checking the rules after a reading problem reports every other problem,
// but not the reading problem again as a missing key, and names each rule
// by its own line.
func TestExclusionsReportEveryProblemOnce(t *testing.T) {
	t.Setenv("IOCWATCH_TEST_BAD_CIDR", "192.0.2.0/40")
	tests := []struct {
		name string
		yaml string
		want []string
	}{
		{"a name of the wrong type is not also missing", "exclusions: [{name: [a], reason: r, when: {device: ['*']}}]", []string{
			`x.yaml:1: exclusions[0].name: want a single value, found a list`,
			`x.yaml:1: rule "": device: "*": matches any device name (a glob of only '*' and separators): the rule would hide every hit`,
		}},
		{"a when of the wrong type is not also missing", "exclusions: [{name: a, when: [device]}]", []string{
			`x.yaml:1: exclusions[0].when: want a mapping of conditions, found a list`,
			`x.yaml:1: exclusions[0].reason: required: say why this traffic is benign`,
		}},
		{"a when of misspelt conditions only is not also empty", "exclusions: [{name: a, reason: r, when: {devce: x, remote_port: '0'}}]", []string{
			`x.yaml:1: unknown condition "devce" in exclusions[0].when (did you mean "device"?)`,
			`x.yaml:1: rule "a": remote_port: "0": bad port (want 1-65535 or a range like 8000-8099)`,
		}},
		{"a condition whose values cannot be read does not also lack values", "exclusions: [{name: a, reason: r, when: {device: [[x]], account: ['${IOCWATCH_TEST_UNSET_ACCT}']}}]", []string{
			`x.yaml:1: exclusions[0].when.device[0]: want a single value, found a list`,
			`x.yaml:1: exclusions[0].when.account[0]: environment variable IOCWATCH_TEST_UNSET_ACCT is not set (write ${IOCWATCH_TEST_UNSET_ACCT:-} to allow it empty)`,
		}},
		{"a rule that is not a mapping keeps the lines of the rules after it", "exclusions:\n  - just text\n  - {name: b, reason: r, when: {remote_ip: 0.0.0.0/0}}\n  - {name: c, when: {device: x}}\n", []string{
			`x.yaml:2: exclusions[0]: want a rule (a mapping with name, reason and when), found a single value`,
			`x.yaml:3: rule "b": remote_ip: "0.0.0.0/0": matches every address: the rule would hide every hit`,
			`x.yaml:4: exclusions[2].reason: required: say why this traffic is benign`,
		}},
		{"names differing only in case are duplicates", "exclusions:\n  - {name: rdp, reason: r, when: {device: x}}\n  - {name: RDP, reason: r, when: {device: y}}\n", []string{
			`x.yaml:3: exclusions[1].name: "RDP" is already the name of the rule at x.yaml:2`,
		}},
		{"a value from the environment is not shown", "exclusions: [{name: a, reason: r, when: {remote_ip: '${IOCWATCH_TEST_BAD_CIDR}'}}]", []string{
			`x.yaml:1: rule "a": remote_ip: "${IOCWATCH_TEST_BAD_CIDR}" (expanded): bad CIDR: netip.ParsePrefix("${IOCWATCH_TEST_BAD_CIDR}" (expanded)): prefix length out of range`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rules, err := parseExclusions([]byte(tt.yaml), "x.yaml", os.LookupEnv)
			if err == nil || rules != nil {
				t.Fatalf("parseExclusions = %v, %v; want only an error", rules, err)
			}
			if got := strings.Split(err.Error(), "\n"); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("errors:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestExpiredAt(t *testing.T) {
	r := ExclusionRule{Expires: time.Date(2027, 6, 30, 0, 0, 0, 0, time.UTC)}
	if r.ExpiredAt(time.Date(2027, 6, 29, 23, 59, 59, 0, time.UTC)) {
		t.Error("expired before its date")
	}
	if !r.ExpiredAt(r.Expires) {
		t.Error("not expired at its date")
	}
	if got := match.FormatExpiry(r.Expires); got != "2027-06-30" {
		t.Errorf("FormatExpiry(midnight) = %q", got)
	}
	if got := match.FormatExpiry(time.Date(2027, 6, 30, 18, 0, 0, 5, time.FixedZone("x", 3600))); got != "2027-06-30T17:00:00.000000005Z" {
		t.Errorf("FormatExpiry(time) = %q", got)
	}
	if (ExclusionRule{}).ExpiredAt(time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)) {
		t.Error("a rule without expiry expired")
	}
}

func TestAllExclusions(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("a.yaml", "exclusions:\n  - {name: from-a, reason: r, when: {device: x}}\n")
	write("b.yaml", "exclusions:\n  - {name: from-b, reason: r, when: {device: y}}\n  - {name: inline, reason: r, when: {device: z}}\n")
	write("iocwatch.yaml", `
exclusions:
  - {name: inline, reason: r, when: {device: w}}
exclusions_files: [a.yaml]
`)
	c, err := Load(filepath.Join(dir, "iocwatch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := c.AllExclusions()
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 2 || rules[0].Name != "inline" || rules[1].Name != "from-a" || rules[1].Origin != filepath.Join(dir, "a.yaml")+":2" {
		t.Errorf("rules = %+v", rules)
	}
	c.ExclusionsFiles = append(c.ExclusionsFiles, filepath.Join(dir, "b.yaml"))
	_, err = c.AllExclusions()
	want := filepath.Join(dir, "b.yaml") + `:3: exclusion rule "inline" is already defined at ` + filepath.Join(dir, "iocwatch.yaml") + ":3"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	c.ExclusionsFiles = append(c.ExclusionsFiles, filepath.Join(dir, "missing.yaml"))
	// A file added in code (iocwatch --exclusions FILE) is not the
	// config's: the message does not send the user to a line of it.
	if _, err := c.AllExclusions(); !errors.Is(err, fs.ErrNotExist) || err.Error() != "open "+filepath.Join(dir, "missing.yaml")+": no such file or directory" {
		t.Errorf("missing file added in code: err = %v", err)
	}
}

// A file of exclusions_files that cannot be read is the config's mistake:
// it is named at its key and line, and only a file the config names.
func TestAllExclusionsNamesTheKeyOfAnUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("exclusions: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "iocwatch.yaml")
	tests := []struct {
		name  string
		yaml  string
		added []string // appended in code, as the command line does
		want  string
	}{
		{"a missing file in a flow list", "exclusions_files: [a.yaml, missing.yaml]\n", nil,
			cfg + ":1: exclusions_files[1]: open " + filepath.Join(dir, "missing.yaml") + ": no such file or directory"},
		{"a missing file in a block list, on its own line", "exclusions_files:\n  - a.yaml\n  - missing.yaml\n", nil,
			cfg + ":3: exclusions_files[1]: open " + filepath.Join(dir, "missing.yaml") + ": no such file or directory"},
		{"a directory given as a single value", "exclusions_files: .\n", nil,
			cfg + ":1: exclusions_files[0]: read " + dir + ": is a directory"},
		{"a missing file added to a config without exclusions_files", "log: {level: info}\n", []string{"nope.yaml"},
			"open nope.yaml: no such file or directory"},
		{"a missing file added after the config's own", "exclusions_files: [a.yaml]\n", []string{"nope.yaml"},
			"open nope.yaml: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := os.WriteFile(cfg, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			c, err := Load(cfg)
			if err != nil {
				t.Fatal(err)
			}
			c.ExclusionsFiles = append(c.ExclusionsFiles, tt.added...)
			if _, err := c.AllExclusions(); err == nil || err.Error() != tt.want {
				t.Errorf("AllExclusions() = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func unwrapAll(err error) error {
	for {
		if j, ok := err.(interface{ Unwrap() []error }); ok && len(j.Unwrap()) > 0 {
			err = j.Unwrap()[0]
			continue
		}
		return err
	}
}
