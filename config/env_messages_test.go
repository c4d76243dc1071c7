package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A condition's value is checked in the match package's words, which
// quote the value as match reads it (trimmed of spaces) and, for an
// address, the part of it the parser refused. When the value came from the
// environment, none of it is shown, whole, trimmed or in part: match's
// words name its ${…} text instead, and stop before a part. A value
// written in the file is still quoted in match's words.
func TestAnExclusionValueFromTheEnvironmentIsNotShownInMatchsWords(t *testing.T) {
	tests := []envRuleCase{
		{"a value match trims of its spaces", "0.0.0.0/0 ", "{remote_ip: '${IOCWATCH_TEST_VALUE}'}",
			`v.yaml:3: rule "r": remote_ip: "${IOCWATCH_TEST_VALUE}" (expanded): matches every address: the rule would hide every hit`,
			[]string{"0.0.0.0/0"}},
		{"a part of an address the parser quotes", "10.1.2.secret", "{remote_ip: ['${IOCWATCH_TEST_VALUE}']}",
			`v.yaml:3: rule "r": remote_ip: "${IOCWATCH_TEST_VALUE}" (expanded): bad IP: ParseAddr("${IOCWATCH_TEST_VALUE}" (expanded)): unexpected character`,
			[]string{"10.1.2.secret", "secret"}},
		{"text around the reference", "1/hidden", "{remote_ip: ['10.0.0.${IOCWATCH_TEST_VALUE}']}",
			`v.yaml:3: rule "r": remote_ip: "10.0.0.${IOCWATCH_TEST_VALUE}" (expanded): bad CIDR: netip.ParsePrefix("10.0.0.${IOCWATCH_TEST_VALUE}" (expanded)): bad bits after slash`,
			[]string{"hidden", "10.0.0.1"}},
		{"the second item of a list", "1.2.3.x", "{remote_ip: [10.0.0.0/8, '${IOCWATCH_TEST_VALUE}']}",
			`v.yaml:3: rule "r": remote_ip: "${IOCWATCH_TEST_VALUE}" (expanded): bad IP: ParseAddr("${IOCWATCH_TEST_VALUE}" (expanded)): unexpected character`,
			[]string{"1.2.3.x", `"x"`}},
		{"a problem that names no value", "0", "{remote_port: '${IOCWATCH_TEST_VALUE}'}",
			`v.yaml:3: rule "r": remote_port: "${IOCWATCH_TEST_VALUE}" (expanded): bad port (want 1-65535 or a range like 8000-8099)`,
			[]string{`"0"`}},
	}
	runEnvRuleCases(t, tests)
	// Written in the file, the value is the user's own text: shown as
	// match reads and quotes it.
	checkWrittenRule(t, "{remote_ip: ['10.1.2.x']}",
		`v.yaml:3: rule "r": remote_ip: "10.1.2.x": bad IP: ParseAddr("10.1.2.x"): unexpected character (at "x")`)
}

// envRuleCase is an exclusion rule whose value comes from the environment
// and the message Validate must give for it.
type envRuleCase struct {
	name   string
	value  string // the environment variable's value
	when   string // the rule's when, referring to ${IOCWATCH_TEST_VALUE}
	want   string
	hidden []string // texts of the value, or of what it reads as, no message may hold
}

// runEnvRuleCases validates each case's rule with IOCWATCH_TEST_VALUE set
// to its value: the message must be want and hold none of hidden.
func runEnvRuleCases(t *testing.T, tests []envRuleCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("IOCWATCH_TEST_VALUE", tt.value)
			c, err := Parse([]byte(base+"exclusions: [{name: r, reason: r, when: "+tt.when+"}]\n"), "v.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = c.Validate()
			if err == nil || err.Error() != tt.want {
				t.Errorf("Validate() = %v\nwant %s", err, tt.want)
			}
			for _, h := range tt.hidden {
				if err != nil && strings.Contains(err.Error(), h) {
					t.Errorf("the message shows %q, from the environment", h)
				}
			}
		})
	}
}

// checkWrittenRule validates a rule whose when is written in the file:
// the message must be want.
func checkWrittenRule(t *testing.T, when, want string) {
	t.Helper()
	c, err := Parse([]byte(base+"exclusions: [{name: r, reason: r, when: "+when+"}]\n"), "v.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() = %v\nwant %s", err, want)
	}
}

// The rules of an exclusions file are checked by the same code: a value
// from the environment is not shown there either.
func TestLoadExclusionsDoesNotShowAValueFromTheEnvironment(t *testing.T) {
	t.Setenv("IOCWATCH_TEST_VALUE", "10.9.9.secret ")
	path := filepath.Join(t.TempDir(), "x.yaml")
	if err := os.WriteFile(path, []byte("exclusions:\n  - name: r\n    reason: r\n    when: {remote_ip: '${IOCWATCH_TEST_VALUE}'}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := LoadExclusions(path)
	want := path + `:4: rule "r": remote_ip: "${IOCWATCH_TEST_VALUE}" (expanded): bad IP: ParseAddr("${IOCWATCH_TEST_VALUE}" (expanded)): unexpected character`
	if err == nil || err.Error() != want {
		t.Errorf("LoadExclusions = %v\nwant %s", err, want)
	}
}

// AllExclusions checks the names across the inline rules and every file:
// a name that came from the environment is named by its ${…} text there
// too, and so is a file of exclusions_files that cannot be read; a name
// or file written in the file is shown.
func TestAllExclusionsDoesNotShowValuesFromTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	t.Setenv("IOCWATCH_TEST_RULE", "rule-name-secret")
	t.Setenv("IOCWATCH_TEST_XFILE", filepath.Join(dir, "missing-secret.yaml"))
	envName := write("env-name.yaml", "exclusions:\n  - {name: '${IOCWATCH_TEST_RULE}', reason: r, when: {device: x}}\n")
	plainName := write("plain-name.yaml", "exclusions:\n  - {name: Rule-Name-Secret, reason: r, when: {device: x}}\n")
	cfg := filepath.Join(dir, "iocwatch.yaml")
	tests := []struct {
		name   string
		yaml   string
		want   string
		hidden string // "" when the message may show the value
	}{
		{"a name from the environment in a file, after the same inline name",
			"exclusions: [{name: rule-name-secret, reason: r, when: {device: y}}]\nexclusions_files: ['" + envName + "']\n",
			envName + `:2: exclusion rule "${IOCWATCH_TEST_RULE}" (expanded) is already defined at ` + cfg + ":1", "rule-name-secret"},
		{"an inline name from the environment, before the same name in a file",
			"exclusions: [{name: '${IOCWATCH_TEST_RULE}', reason: r, when: {device: y}}]\nexclusions_files: ['" + plainName + "']\n",
			plainName + `:2: exclusion rule "Rule-Name-Secret" is already defined at ` + cfg + ":1", ""},
		{"a name from the environment in a file named twice",
			"exclusions_files: ['" + envName + "', '" + envName + "']\n",
			envName + `:2: exclusion rule "${IOCWATCH_TEST_RULE}" (expanded) is already defined at ` + envName + ":2", "rule-name-secret"},
		{"a file from the environment that cannot be read",
			"exclusions_files: ['${IOCWATCH_TEST_XFILE}']\n",
			cfg + `:1: exclusions_files[0]: open "${IOCWATCH_TEST_XFILE}" (expanded): no such file or directory`, "missing-secret"},
		{"a list of files written as a single value from the environment",
			"exclusions_files: '${IOCWATCH_TEST_XFILE}'\n",
			cfg + `:1: exclusions_files[0]: open "${IOCWATCH_TEST_XFILE}" (expanded): no such file or directory`, "missing-secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			write("iocwatch.yaml", tt.yaml)
			c, err := Load(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.AllExclusions()
			if err == nil || err.Error() != tt.want {
				t.Errorf("AllExclusions() = %v\nwant %s", err, tt.want)
			}
			if err != nil && tt.hidden != "" && strings.Contains(err.Error(), tt.hidden) {
				t.Errorf("the message shows %q, from the environment", tt.hidden)
			}
			if strings.Contains(tt.name, "cannot be read") && !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("AllExclusions() = %v, want fs.ErrNotExist in its chain", err)
			}
		})
	}
}

// The TLS files are checked by internal/tlsfile, whose errors name the
// file (and, for a key that does not go with its certificate, the
// certificate's file too). Validate's messages no longer replace a value
// from the environment wherever it appears: each file name is given by
// its key's ${…} text instead, in every shape of tlsfile's errors, and no
// part of a path from the environment is shown.
func TestValidateDoesNotShowATLSFileFromTheEnvironment(t *testing.T) {
	f := tlsTestFiles(t)
	dir := filepath.Dir(f["ca.pem"])
	tests := []struct {
		name string
		env  map[string]string // IOCWATCH_TEST_CA, _CERT, _KEY
		tls  string
		want string // the problem, after "v.yaml:3: sinks[0].webhook.tls."
	}{
		{"a CA file without a certificate", map[string]string{"IOCWATCH_TEST_CA": f["not-pem.txt"]},
			"{ca_file: '${IOCWATCH_TEST_CA}'}",
			`ca_file: "${IOCWATCH_TEST_CA}" (expanded): no PEM certificate found`},
		{"a directory as the CA file", map[string]string{"IOCWATCH_TEST_CA": dir},
			"{ca_file: '${IOCWATCH_TEST_CA}'}",
			`ca_file: cannot be read: read "${IOCWATCH_TEST_CA}" (expanded): is a directory`},
		{"a key in place of the certificate", map[string]string{"IOCWATCH_TEST_CERT": f["key-only.pem"], "IOCWATCH_TEST_KEY": f["client-key.pem"]},
			"{cert_file: '${IOCWATCH_TEST_CERT}', key_file: '${IOCWATCH_TEST_KEY}'}",
			`cert_file: "${IOCWATCH_TEST_CERT}" (expanded): holds a private key, not a certificate (are cert_file and key_file switched?)`},
		{"an encrypted key", map[string]string{"IOCWATCH_TEST_CERT": f["client.pem"], "IOCWATCH_TEST_KEY": f["encrypted.pem"]},
			"{cert_file: '${IOCWATCH_TEST_CERT}', key_file: '${IOCWATCH_TEST_KEY}'}",
			`key_file: "${IOCWATCH_TEST_KEY}" (expanded): holds an encrypted (passphrase-protected) private key, which is not supported: give the key unencrypted, for example as written by openssl pkey -in <file> -out <new file>, readable by iocwatch only`},
		{"a key that does not go with its certificate, both from the environment", map[string]string{"IOCWATCH_TEST_CERT": f["client.pem"], "IOCWATCH_TEST_KEY": f["other-key.pem"]},
			"{cert_file: '${IOCWATCH_TEST_CERT}', key_file: '${IOCWATCH_TEST_KEY}'}",
			`key_file: "${IOCWATCH_TEST_KEY}" (expanded): with cert_file "${IOCWATCH_TEST_CERT}" (expanded): tls: private key does not match public key`},
		{"a certificate file in a directory from the environment", map[string]string{"IOCWATCH_TEST_CA": dir},
			"{cert_file: '${IOCWATCH_TEST_CA}/client.pem', key_file: '${IOCWATCH_TEST_CA}/other-key.pem'}",
			`key_file: "${IOCWATCH_TEST_CA}/other-key.pem" (expanded): with cert_file "${IOCWATCH_TEST_CA}/client.pem" (expanded): tls: private key does not match public key`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Parse([]byte(base+"sinks: [{name: s, type: webhook, webhook: {url: 'https://x', tls: "+tt.tls+"}}]\n"), "v.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = c.Validate()
			if want := "v.yaml:3: sinks[0].webhook.tls." + tt.want; err == nil || err.Error() != want {
				t.Errorf("Validate() = %v\nwant %s", err, want)
			}
			if err != nil && strings.Contains(err.Error(), dir) {
				t.Errorf("the message shows the directory, from the environment")
			}
		})
	}
}

// A value written in the file is shown in match's words even when another
// value of the same condition came from the environment and is part of it:
// only the value that came from the environment is named by its ${…} text,
// and the other keeps its text.
func TestAnExclusionValueWrittenInTheFileIsShownBesideOneFromTheEnvironment(t *testing.T) {
	t.Setenv("IOCWATCH_TEST_VALUE", "10.0.0.0/8")
	c, err := Parse([]byte(base+"exclusions: [{name: r, reason: r, when: {remote_ip: ['${IOCWATCH_TEST_VALUE}', '10.0.0.0/80']}}]\n"), "v.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := `v.yaml:3: rule "r": remote_ip: "10.0.0.0/80": bad CIDR: netip.ParsePrefix("10.0.0.0/80"): prefix length out of range`
	if err := c.Validate(); err == nil || err.Error() != want {
		t.Errorf("Validate() = %v\nwant %s", err, want)
	}
}
