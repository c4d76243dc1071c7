package config

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/urlcred"
)

var update = flag.Bool("update", false, "rewrite the golden expected.err and expected.yaml files")

// Environment of the golden cases. IOCWATCH_TEST_UNSET_* are never set.
var goldenEnv = map[string]string{
	"IOCWATCH_TEST_EH_CONN":     "Endpoint=sb://corp.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=EnvEventHubKey-8d8d",
	"IOCWATCH_TEST_ABUSECH_KEY": "EnvAbusechKey-6a6a",
	"IOCWATCH_TEST_TAXII_TOKEN": "EnvTaxiiToken-5c5c",
	"IOCWATCH_TEST_HEC_TOKEN":   "EnvHecToken-4e4e",
}

// loadAndValidate is what `iocwatch check` does: Load, then Validate.
func loadAndValidate(path string) (*Config, error) {
	c, err := Load(path)
	if err != nil {
		return nil, err
	}
	return c, c.validateShape() // the TLS files are checked by TestValidateReadsTheTLSFiles
}

// Validate checks that the TLS files a config names can be read, naming
// the key of each that cannot; validateShape does not look.
func TestValidateReadsTheTLSFiles(t *testing.T) {
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, []byte("-----BEGIN CERTIFICATE-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := "source: {type: kafka, kafka: {brokers: ['k:9093'], topics: [t], tls: {enabled: true, ca_file: ca.pem, cert_file: nope.pem, key_file: key.pem}}}\n" +
		"feeds: [{name: f, type: http, url: 'https://feeds.example/x', tls: {ca_file: missing-ca.pem}}]\n"
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("Validate accepted TLS files that are not there")
	}
	for _, want := range []string{
		path + ":1: source.kafka.tls.cert_file: cannot be read: open " + filepath.Join(dir, "nope.pem"),
		path + ":1: source.kafka.tls.key_file: cannot be read: open " + filepath.Join(dir, "key.pem"),
		path + ":2: feeds[0].tls.ca_file: cannot be read: open " + filepath.Join(dir, "missing-ca.pem"),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "tls.ca_file: cannot be read: open "+ca) {
		t.Errorf("a readable file is reported:\n%v", err)
	}
	if err := c.validateShape(); err != nil {
		t.Errorf("validateShape looked at the files: %v", err)
	}
}

// TestGolden loads each testdata/<case>/config.yaml, validates it, and
// compares the messages with expected.err (empty: valid). For a valid case
// the effective configuration is compared with expected.yaml.
func TestGolden(t *testing.T) {
	tests := []struct {
		name string
		dir  string
	}{
		{"a minimal file is valid and gets every default", "valid-minimal"},
		{"an unknown top-level key is reported with its line and a suggestion", "unknown-top-level-key"},
		{"an unknown nested key names the block it is in", "unknown-nested-key"},
		{"values of the wrong type name their key and line", "wrong-type"},
		{"a key written twice in one mapping is an error", "duplicate-key"},
		{"duplicate feed and sink names are reported at the second use", "duplicate-names"},
		{"missing required keys are reported with the enclosing line", "missing-required"},
		{"a bad enum value lists the allowed values", "bad-enum"},
		{"a duration needs a unit", "bad-duration"},
		{"durations out of range name their minimum", "duration-ranges"},
		{"bad URLs are reported without echoing them", "bad-url"},
		{"an unset environment variable names the variable and the line", "unset-env"},
		{"several problems are reported together in file order", "several-problems"},
		{"a block or key of another type is refused", "wrong-type-block"},
		{"no message shows a secret", "secrets-in-errors"},
		{"a YAML syntax error names the file and line", "yaml-syntax"},
		{"a second YAML document is refused", "two-documents"},
		{"inline exclusion rules are checked", "exclusions-inline"},
		{"inline exclusion values are checked with the rest of the configuration", "exclusions-inline-values"},
		{"the Event Hubs Kafka endpoint needs port 9093, TLS, plain and $ConnectionString", "eventhubs-kafka-endpoint"},
		{"the Event Hubs source checks auth, namespace, hub and checkpoint store", "eventhubs-source"},
	}
	for k, v := range goldenEnv {
		t.Setenv(k, v)
	}
	covered := map[string]bool{}
	for _, tt := range tests {
		covered[tt.dir] = true
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("testdata", tt.dir, "config.yaml")
			_, err := loadAndValidate(path)
			got := ""
			if err != nil {
				got = err.Error() + "\n"
			}
			golden(t, filepath.Join("testdata", tt.dir, "expected.err"), got)
			for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
				if line != "" && !strings.HasPrefix(line, path+":") {
					t.Errorf("message does not name the file: %q", line)
				}
			}
			if err != nil {
				return
			}
			// Parse with the relative name: the golden output holds no machine path.
			data, rerr := os.ReadFile(path)
			if rerr != nil {
				t.Fatal(rerr)
			}
			c, perr := Parse(data, path)
			if perr != nil {
				t.Fatal(perr)
			}
			golden(t, filepath.Join("testdata", tt.dir, "expected.yaml"), c.Redacted())
		})
	}
	entries, err := os.ReadDir("testdata")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if _, err := os.Stat(filepath.Join("testdata", e.Name(), "config.yaml")); err == nil && !covered[e.Name()] {
			t.Errorf("testdata/%s is not in the table", e.Name())
		}
	}
}

func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if got == "" {
			_ = os.Remove(path)
			return
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (run go test -update to accept)\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// secretValues are the Secret values of secrets-in-errors/config.yaml and
// of goldenEnv; none may appear in any rendering. urlSecrets are written
// in URLs; they must not appear in messages nor in Redacted.
var urlSecrets = []string{"LiteralUrlPassword-91c2", "LiteralQueryKey-55d1", "LiteralSasSignature-abcd"}

var secretValues = []string{
	"LiteralStorageSecret-7f3a",
	"LiteralHeaderSecret-0b7e", "LiteralCtrlSecret-33aa", "LiteralTaxiiPassword-c0de",
	"LiteralHmacSecret-9e9e", "LiteralKafkaPassword-4b4b", "LiteralBearer-1111",
	"LiteralMetricsPassword-2222",
	"EnvEventHubKey-8d8d", "EnvAbusechKey-6a6a", "EnvTaxiiToken-5c5c", "EnvHecToken-4e4e",
}

func TestSecretsNeverShown(t *testing.T) {
	for k, v := range goldenEnv {
		t.Setenv(k, v)
	}
	for _, dir := range []string{"secrets-in-errors", "eventhubs-source", "eventhubs-kafka-endpoint", "bad-url"} {
		path := filepath.Join("testdata", dir, "config.yaml")
		c, err := Load(path)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		verr := c.Validate()
		if verr == nil {
			t.Fatalf("%s: want validation errors", path)
		}
		var logged strings.Builder
		slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "cfg", c)
		slog.New(slog.NewTextHandler(&logged, nil)).Info("config", "cfg", c)
		js, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		renderings := map[string]string{
			"Validate":  verr.Error(),
			"Redacted":  c.Redacted(),
			"Warnings":  strings.Join(c.Warnings(), "\n"),
			"%+v":       fmt.Sprintf("%+v", c),
			"%#v":       fmt.Sprintf("%#v", c),
			"json":      string(js),
			"slog":      logged.String(),
			"world-msg": WarnWorldReadable(path),
		}
		for what, text := range renderings {
			secrets := secretValues
			if what == "Validate" || what == "Redacted" || what == "Warnings" || what == "world-msg" {
				secrets = append(slices.Clone(secretValues), urlSecrets...)
			}
			for _, s := range secrets {
				if strings.Contains(text, s) {
					t.Errorf("%s: %s shows the secret %s:\n%s", path, what, s, text)
				}
			}
		}
	}
	// The secrets were loaded: Reveal returns them.
	c, err := Load(filepath.Join("testdata", "secrets-in-errors", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Sinks[0].Webhook.HMACSecret.Reveal(); got != "LiteralHmacSecret-9e9e" {
		t.Errorf("Reveal() = %q", got)
	}
	if got := c.Feeds[0].Headers["Auth-Key"].Reveal(); got != goldenEnv["IOCWATCH_TEST_ABUSECH_KEY"] {
		t.Errorf("Reveal() = %q", got)
	}
}

func TestDefaults(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want func(c *Config) any // returns the value under test
		is   any
	}{
		{"an empty file gives the default source type", ``, func(c *Config) any { return c.Source.Type }, "file"},
		{"an empty file gives one stdout sink", ``, func(c *Config) any { return c.Sinks }, []Sink{{Name: "stdout", Type: "stdout", Format: "native", Queue: 1024, Retry: Retry{200 * time.Millisecond, 30 * time.Second}}}},
		{"an explicit empty sink list stays empty", "sinks: []", func(c *Config) any { return len(c.Sinks) }, 0},
		{"a null sink list takes the default", "sinks: ~", func(c *Config) any { return len(c.Sinks) }, 1},
		{"an explicit false keeps a default-true key off", "sinks: [{name: s, type: splunk_hec, splunk_hec: {gzip: false}}]", func(c *Config) any { return c.Sinks[0].SplunkHEC.Gzip }, false},
		{"a left-out default-true key is on", "sinks: [{name: s, type: splunk_hec}]", func(c *Config) any { return c.Sinks[0].SplunkHEC.Gzip }, true},
		{"an explicit zero shrink guard stays zero", "shrink_guard: 0", func(c *Config) any { return c.ShrinkGuard }, 0.0},
		{"a null key takes its default", "shrink_guard: null", func(c *Config) any { return c.ShrinkGuard }, 0.5},
		{"an explicit empty csv comment stays empty", "feeds: [{name: f, path: f.csv, format: csv, csv: {comment: ''}}]", func(c *Config) any { return c.Feeds[0].CSV.Comment }, ""},
		{"a syslog sink defaults to cef", "sinks: [{name: s, type: syslog}]", func(c *Config) any { return c.Sinks[0].Format }, "cef"},
		{"other sinks default to native", "sinks: [{name: s, type: kafka}]", func(c *Config) any { return c.Sinks[0].Format }, "native"},
		{"a block of another type gets no defaults", "source: {type: kafka}", func(c *Config) any { return c.Source.EventHubs }, EventHubsSource{}},
		{"the selected block gets its defaults", "source: {type: eventhubs}", func(c *Config) any { return c.Source.EventHubs.ConsumerGroup }, "$Default"},
		{"the checkpoint container defaults without a container URL", "source: {type: eventhubs}", func(c *Config) any { return c.Source.EventHubs.Checkpoint.Container }, "iocwatch-checkpoints"},
		{"the checkpoint container has no default with a container URL", "source: {type: eventhubs, eventhubs: {checkpoint: {container_url: 'https://a.blob.core.windows.net/c'}}}", func(c *Config) any { return c.Source.EventHubs.Checkpoint.Container }, ""},
		{"a file feed gets no refresh interval", "feeds: [{name: f, path: f.csv}]", func(c *Config) any { return c.Feeds[0].Interval }, time.Duration(0)},
		{"an http feed refreshes hourly", "feeds: [{name: f, type: http, url: 'https://x'}]", func(c *Config) any { return c.Feeds[0].Interval }, time.Hour},
		{"udp syslog truncates at 1400 bytes", "sinks: [{name: s, type: syslog, syslog: {network: udp}}]", func(c *Config) any { return c.Sinks[0].Syslog.MaxUDPBytes }, 1400},
		{"tcp syslog has no datagram size", "sinks: [{name: s, type: syslog}]", func(c *Config) any { return c.Sinks[0].Syslog.MaxUDPBytes }, 0},
		{"numbers can come from the environment", "source: {type: eventhubs, eventhubs: {prefetch: '${IOCWATCH_TEST_UNSET_PREFETCH:-42}'}}", func(c *Config) any { return c.Source.EventHubs.Prefetch }, 42},
		{"a single value is a one-element list", "source: {type: kafka, kafka: {topics: defender}}", func(c *Config) any { return c.Source.Kafka.Topics }, []string{"defender"}},
		{"a bare $word stays literal", "source: {type: eventhubs, eventhubs: {consumer_group: $Default-2}}", func(c *Config) any { return c.Source.EventHubs.ConsumerGroup }, "$Default-2"},
		{"$$ is one dollar and $${ a literal ${", "log: {level: '$${X} $$Y $Z'}", func(c *Config) any { return c.Log.Level }, "${X} $Y $Z"},
		{"an empty header value leaves the header out", "feeds: [{name: f, type: http, url: 'https://x', headers: {A: '${IOCWATCH_TEST_UNSET_H:-}', B: b}}]", func(c *Config) any { return c.Feeds[0].Headers }, map[string]Secret{"B": "b"}},
		{"aliases share a block", "sinks:\n - {name: a, type: kafka, kafka: {tls: &t {enabled: true, server_name: k}}}\n - {name: b, type: kafka, kafka: {tls: *t}}", func(c *Config) any { return c.Sinks[1].Kafka.TLS }, TLS{Enabled: true, ServerName: "k"}},
		{"a merge key fills what the mapping leaves out", "sinks:\n - {name: a, type: kafka, kafka: {tls: &t {enabled: true, server_name: k}}}\n - {name: b, type: kafka, kafka: {tls: {<<: *t, server_name: other}}}", func(c *Config) any { return c.Sinks[1].Kafka.TLS }, TLS{Enabled: true, ServerName: "other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), "test.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if got := tt.want(c); !reflect.DeepEqual(got, tt.is) {
				t.Errorf("got %#v, want %#v", got, tt.is)
			}
		})
	}
}

func TestDefaultMatchesEmptyFile(t *testing.T) {
	c, err := Parse(nil, "empty.yaml")
	if err != nil {
		t.Fatal(err)
	}
	c.meta = nil
	if d := Default(); !reflect.DeepEqual(d, c) {
		t.Errorf("Default() = %+v\nParse(\"\") = %+v", d, c)
	}
	err = Default().Validate()
	want := []string{"source.file.paths: required: at least one file to read", "feeds: at least one feed is required"}
	if err == nil || err.Error() != strings.Join(want, "\n") {
		t.Errorf("Default().Validate() = %v, want %q", err, want)
	}
}

func TestApplyDefaultsFillsKeysAddedInCode(t *testing.T) {
	c, err := Parse([]byte("feeds: [{name: a, path: a.csv, allow: {min_prefix_v4: 0}}]\nsinks: [{name: s, type: splunk_hec, splunk_hec: {gzip: false}}]"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	before := c.Redacted()
	c.ApplyDefaults()
	if after := c.Redacted(); after != before {
		t.Errorf("ApplyDefaults changed a parsed config:\n%s\n---\n%s", before, after)
	}
	c.Feeds = append(c.Feeds, Feed{Name: "b", Path: "b.csv"})
	c.Sinks = append(c.Sinks, Sink{Name: "t", Type: "syslog"})
	c.ApplyDefaults()
	if f := c.Feeds[1]; f.Type != "file" || f.Format != "auto" || f.Allow.MinPrefixV4 != 8 || f.Interval != 0 {
		t.Errorf("added feed = %+v", f)
	}
	if s := c.Sinks[1]; s.Format != "cef" || s.Syslog.Facility != "local4" || s.Queue != 1024 {
		t.Errorf("added sink = %+v", s)
	}
	if c.Feeds[0].Allow.MinPrefixV4 != 0 || c.Sinks[0].SplunkHEC.Gzip {
		t.Error("ApplyDefaults overwrote values written in the file")
	}
}

func TestRelativePathsResolveAgainstTheFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "etc")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(dir, "abs.csv")
	yaml := fmt.Sprintf(`
source: {file: {paths: [events/*.jsonl, %q]}}
feeds:
  - {name: a, path: feeds/a.csv}
  - {name: b, type: http, url: 'https://x.example/', tls: {ca_file: ../ca.pem}}
allowlist_files: [allow.txt]
exclusions_files: [excl.yaml]
exclusions_audit: audit.jsonl
feed_cache_dir: cache
pipeline: {dead_letter: dl.jsonl}
dead_letter_alerts: dla.jsonl
sinks:
  - {name: f, type: file, file: {path: alerts.jsonl}}
  - {name: k, type: kafka, kafka: {tls: {enabled: true, cert_file: c.pem, key_file: k.pem}}}
history: {path: h.db}
`, abs)
	cfgPath := filepath.Join(sub, "iocwatch.yaml")
	if err := os.WriteFile(cfgPath, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	// Load from another working directory, by a relative path.
	t.Chdir(dir)
	c, err := Load(filepath.Join("etc", "iocwatch.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	in := func(p string) string { return filepath.Join(sub, p) }
	got := []string{
		c.Source.File.Paths[0], c.Source.File.Paths[1], c.Feeds[0].Path, c.Feeds[1].TLS.CAFile,
		c.AllowlistFiles[0], c.ExclusionsFiles[0], c.FeedCacheDir, c.Pipeline.DeadLetter,
		c.DeadLetterAlerts, c.Sinks[0].File.Path, c.Sinks[1].Kafka.TLS.CertFile, c.Sinks[1].Kafka.TLS.KeyFile,
		c.History.Path, c.ExclusionsAudit,
	}
	want := []string{
		in("events/*.jsonl"), abs, in("feeds/a.csv"), filepath.Join(dir, "ca.pem"),
		in("allow.txt"), in("excl.yaml"), in("cache"), in("dl.jsonl"),
		in("dla.jsonl"), in("alerts.jsonl"), in("c.pem"), in("k.pem"),
		in("h.db"), in("audit.jsonl"),
	}
	if !slices.Equal(got, want) {
		t.Errorf("paths:\n got %q\nwant %q", got, want)
	}
	// Parse resolves against the directory of its name.
	c, err = Parse([]byte("feeds: [{name: a, path: a.csv}]"), filepath.Join("conf", "x.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Feeds[0].Path; got != filepath.Join("conf", "a.csv") {
		t.Errorf("Parse path = %q", got)
	}
}

func TestLoadReportsFileErrors(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "missing.yaml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want ErrNotExist", err)
	}
	big := filepath.Join(t.TempDir(), "big.yaml")
	if err := os.WriteFile(big, make([]byte, maxFileBytes+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(big); err == nil || !strings.Contains(err.Error(), "larger than 16 MiB") {
		t.Errorf("Load(big) = %v", err)
	}
	// A directory given as the file is named once, as the operating
	// system says it: "read DIR: is a directory".
	dir := t.TempDir()
	for name, load := range map[string]func(string) error{
		"Load":           func(p string) error { _, err := Load(p); return err },
		"LoadExclusions": func(p string) error { _, err := LoadExclusions(p); return err },
	} {
		err := load(dir)
		if want := "read " + dir + ": is a directory"; err == nil || err.Error() != want {
			t.Errorf("%s(directory) = %v, want %q", name, err, want)
		}
	}
}

func TestErrorsAreTyped(t *testing.T) {
	_, err := Parse([]byte("log:\n  level: loud\nsinkz: 1\n"), "x.yaml")
	var e *Error
	if !errors.As(err, &e) || e.File != "x.yaml" || e.Line != 3 {
		t.Fatalf("Parse error = %#v", err)
	}
	c, err := Parse([]byte("log:\n  level: loud\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if !errors.As(err, &e) || e.Path != "log.level" || e.Line != 2 {
		t.Fatalf("Validate error = %#v", err)
	}
	sentinel := errors.New("bad")
	if !errors.Is(&Error{File: "f", Err: sentinel}, sentinel) {
		t.Error("Error does not unwrap to its cause")
	}
	if got := (&Error{Path: "a.b", Err: errors.New("bad")}).Error(); got != "a.b: bad" {
		t.Errorf("Error without file = %q", got)
	}
	if got := (&Error{File: "f.yaml", Err: errors.New("bad")}).Error(); got != "f.yaml: bad" {
		t.Errorf("Error without line = %q", got)
	}
}

func TestYAMLSyntaxErrorsNameTheLine(t *testing.T) {
	tests := []struct {
		name, yaml, want string
	}{
		{"an unclosed flow list names the line it opens on",
			"log:\n  level: info\nallowlist: [a,\n  b\nfeeds: []\n", "s.yaml:3: did not find expected ',' or ']'"},
		{"a bad indentation names its line",
			"log:\n  level: info\n format: json\n", "s.yaml:3: did not find expected key"},
		{"a colon inside a plain value names its line",
			"log:\n  level: a: b\n", "s.yaml:2: mapping values are not allowed in this context"},
		{"a tab in the indentation names its line",
			"log:\n\tlevel: info\n", "s.yaml:2: found character that cannot start any token"},
		{"an unknown anchor names the line of its alias",
			"log:\n  level: info\nallowlist: *nowhere\n", `s.yaml:3: unknown anchor 'nowhere' referenced`},
		{"a bare ${VAR} in a flow list says to quote it",
			"source:\n  file:\n    paths: [${EVENTS}]\n", `s.yaml:3: did not find expected ',' or ']'; a ${VAR} inside [ ] or { } must be quoted, e.g. ['${VAR}']`},
		{"a bare ${VAR} in a flow mapping says to quote it",
			"source: {type: file, file: {paths: ${EVENTS}}}\n", `s.yaml:1: did not find expected ',' or '}'; a ${VAR} inside [ ] or { } must be quoted, e.g. ['${VAR}']`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.yaml), "s.yaml")
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestValuesFromTheEnvironmentAreNotShown(t *testing.T) {
	t.Setenv("IOCWATCH_TEST_PREFETCH", "EnvValue-77f1")
	_, err := Parse([]byte("source: {type: eventhubs, eventhubs: {prefetch: '${IOCWATCH_TEST_PREFETCH}'}}"), "e.yaml")
	want := `e.yaml:1: source.eventhubs.prefetch: "${IOCWATCH_TEST_PREFETCH}" expands to a value that is not a whole number`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// Validation does not show them either: an enum, a name or a URL that
// came from the environment is named by its ${…} text.
func TestValuesFromTheEnvironmentAreNotShownByValidation(t *testing.T) {
	t.Setenv("IOCWATCH_TEST_LEVEL", "SECRET6")
	t.Setenv("IOCWATCH_TEST_NAME", "bad name SECRET2")
	c, err := Parse([]byte("log: {level: '${IOCWATCH_TEST_LEVEL}'}\nsource: {type: stdin}\nfeeds: [{name: '${IOCWATCH_TEST_NAME}', path: f.txt}]\n"), "e.yaml")
	if err != nil {
		t.Fatal(err)
	}
	err = c.Validate()
	if err == nil {
		t.Fatal("Validate accepted a bad level and name")
	}
	msg := err.Error()
	if strings.Contains(msg, "SECRET") {
		t.Errorf("a value from the environment is shown:\n%s", msg)
	}
	for _, want := range []string{`log.level: "${IOCWATCH_TEST_LEVEL}" (expanded) is not one of`, `feeds[0].name: "${IOCWATCH_TEST_NAME}" (expanded)`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
}

// A billion-laughs document is refused, not expanded, naming the line and
// key where it overflows.
func TestAliasBombIsRefused(t *testing.T) {
	// Each feed merges the one before twice: 2^40 visits without the budget.
	var b strings.Builder
	b.WriteString("feeds:\n  - &f0 {name: a, path: a.csv}\n")
	for i := 1; i <= 40; i++ {
		fmt.Fprintf(&b, "  - &f%d {<<: [*f%d, *f%d]}\n", i, i-1, i-1)
	}
	_, err := Parse([]byte(b.String()), "bomb.yaml")
	var e *Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "more than 1048576 YAML nodes") {
		t.Fatalf("err = %v", err)
	}
	// feeds[i] is written on line i+2.
	if i, ok := strings.CutPrefix(e.Path, "feeds["); !ok || e.Line != atoi(t, strings.TrimSuffix(i, "]"))+2 {
		t.Errorf("err = %v, want it at the line of the feed it overflows in", err)
	}
}

func TestRedactedRoundTrips(t *testing.T) {
	t.Setenv("KAFKA_PASSWORD", "p")
	for _, f := range exampleFiles {
		for k, v := range exampleEnv {
			t.Setenv(k, v)
		}
		data, err := os.ReadFile(filepath.Join("..", "docs", "examples", f))
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(data, f)
		if err != nil {
			t.Fatal(err)
		}
		again, err := Parse([]byte(c.Redacted()), f)
		if err != nil {
			t.Fatalf("%s: parsing Redacted(): %v\n%s", f, err, c.Redacted())
		}
		if want := redactSecrets(c); !equalConfigs(want, again) {
			t.Errorf("%s: Parse(Redacted()) differs:\n%s\n---\n%s", f, want.Redacted(), again.Redacted())
		}
	}
}

// redactSecrets returns a copy of c with every set secret replaced by
// "[redacted]", as Parse(c.Redacted()) reads it.
func redactSecrets(c *Config) *Config {
	out := *c
	v := reflect.ValueOf(&out).Elem()
	redactValue(v)
	return &out
}

func redactValue(v reflect.Value) {
	switch {
	case v.Kind() == reflect.String && v.Type() != secretType:
		v.SetString(redactURL(v.String()))
	case v.Type() == secretType:
		if v.String() != "" {
			v.SetString(redacted)
		}
	case v.Kind() == reflect.Struct && v.Type() != ruleType:
		for i := range v.NumField() {
			sf := v.Type().Field(i)
			if _, endpoint := sf.Tag.Lookup("endpoint"); endpoint && sf.Type.Kind() == reflect.String {
				v.Field(i).SetString(urlcred.Endpoint(v.Field(i).String()))
			} else if sf.IsExported() {
				redactValue(v.Field(i))
			}
		}
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.Struct && v.Type().Elem() != ruleType:
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		for i := range cp.Len() {
			redactValue(cp.Index(i))
		}
		v.Set(cp)
	case v.Kind() == reflect.Map && v.Type().Elem() == secretType:
		cp := reflect.MakeMap(v.Type())
		for _, k := range v.MapKeys() {
			val := v.MapIndex(k).String()
			if val != "" {
				val = redacted
			}
			cp.SetMapIndex(k, reflect.ValueOf(Secret(val)))
		}
		v.Set(cp)
	}
}

// equalConfigs compares the data of two configs: not where they were read,
// nor rule origins, and an empty list equals a missing one.
func equalConfigs(a, b *Config) bool {
	norm := func(c *Config) *Config {
		cp := *c
		cp.meta = nil
		cp.Exclusions = slices.Clone(cp.Exclusions)
		for i := range cp.Exclusions {
			cp.Exclusions[i].Origin, cp.Exclusions[i].WhenOrigins = "", nil
		}
		normEmpty(reflect.ValueOf(&cp).Elem())
		return &cp
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func normEmpty(v reflect.Value) {
	switch v.Kind() {
	case reflect.Struct:
		if v.Type() == reflect.TypeFor[time.Time]() {
			return
		}
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				normEmpty(v.Field(i))
			}
		}
	case reflect.Slice:
		if v.Len() == 0 {
			if v.CanSet() {
				v.Set(reflect.Zero(v.Type()))
			}
			return
		}
		cp := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		reflect.Copy(cp, v)
		for i := range cp.Len() {
			normEmpty(cp.Index(i))
		}
		v.Set(cp)
	case reflect.Map:
		if v.Len() == 0 {
			v.Set(reflect.Zero(v.Type()))
			return
		}
		cp := reflect.MakeMap(v.Type())
		for _, k := range v.MapKeys() {
			e := reflect.New(v.Type().Elem()).Elem()
			e.Set(v.MapIndex(k))
			normEmpty(e)
			cp.SetMapIndex(k, e)
		}
		v.Set(cp)
	}
}

func TestWarnings(t *testing.T) {
	yaml := `
source:
  type: kafka
  kafka:
    brokers: [k:9092]
    topics: [t]
    sasl: {mechanism: plain, username: u, password: p}
feeds:
  - name: f
    type: http
    url: http://feeds.example/list
    headers: {Auth-Key: k}
  - name: g
    type: http
    url: https://feeds.example/list
    tls: {insecure_skip_verify: true}
exclusions:
  - {name: old, reason: r, expires: 2020-01-01, when: {device: x}}
  - {name: current, reason: r, expires: 2999-01-01, when: {device: x}}
sinks:
  - {name: s, type: splunk_hec, splunk_hec: {url: 'http://splunk:8088/services/collector/event', token: t}}
metrics: {listen: ':9464'}
`
	c, err := Parse([]byte(yaml), "w.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	got := c.Warnings()
	want := []string{
		"w.yaml:7: source.kafka.sasl.mechanism: plain without TLS sends the password in clear",
		"w.yaml:11: feeds[0].url: credentials are sent over plain http://",
		"w.yaml:16: feeds[1].tls.insecure_skip_verify: server certificates are not checked; use this for tests only",
		"w.yaml:21: sinks[0].splunk_hec.url: credentials are sent over plain http://",
		"w.yaml:22: metrics.listen: metrics (with device and account names unless hide_identities) are served to the network without authentication",
	}
	if !slices.Equal(got, want) {
		t.Errorf("Warnings:\n got %q\nwant %q", got, want)
	}
	if w := Default().Warnings(); w != nil {
		t.Errorf("Default().Warnings() = %q", w)
	}
}

func TestWarnWorldReadable(t *testing.T) {
	tests := []struct {
		name string
		mode os.FileMode
		yaml string
		want string // substring; "" means no warning
	}{
		{"a world-readable file with a secret in clear warns", 0o644,
			"sinks: [{name: s, type: webhook, webhook: {url: 'https://x', hmac_secret: hunter2}}]",
			"holds secrets in clear (sinks[0].webhook.hmac_secret)"},
		{"a header value in clear counts as a secret", 0o604,
			"feeds: [{name: f, type: http, url: 'https://x', headers: {Auth-Key: abc}}]",
			`holds secrets in clear (feeds[0].headers["Auth-Key"])`},
		{"a default inside a reference is a secret in clear", 0o644,
			"metrics: {bearer_token: '${TOKEN:-fallback}'}", "(metrics.bearer_token)"},
		{"secrets from the environment do not warn", 0o644,
			"metrics: {bearer_token: '${TOKEN}', basic_auth: {username: u, password: '${P:-}'}}", ""},
		{"text around a reference is not a secret in clear", 0o644,
			"sinks: [{name: s, type: webhook, webhook: {url: 'https://x', headers: {Authorization: 'Bearer ${TOKEN}'}}}]", ""},
		{"a default in a framed reference is a secret in clear", 0o644,
			"sinks: [{name: s, type: webhook, webhook: {url: 'https://x', headers: {Authorization: 'Bearer ${TOKEN:-fallback}'}}}]",
			`(sinks[0].webhook.headers["Authorization"])`},
		{"a file readable only by its owner does not warn", 0o600,
			"metrics: {bearer_token: hunter2}", ""},
		{"a group-readable file does not warn", 0o640,
			"metrics: {bearer_token: hunter2}", ""},
		{"a file without secrets does not warn", 0o644, "log: {level: info}", ""},
		{"a webhook URL whose path is its credential is a secret in clear", 0o644,
			"sinks: [{name: s, type: webhook, webhook: {url: 'https://hooks.slack.com/services/T0001AAAA/B0002BBBB/hunter2hunter2hunter2'}}]",
			"(sinks[0].webhook.url)"},
		{"a webhook URL from the environment does not warn", 0o644,
			"sinks: [{name: s, type: webhook, webhook: {url: '${SLACK_WEBHOOK}'}}]", ""},
		{"a webhook URL with a plain path does not warn", 0o644,
			"sinks: [{name: s, type: webhook, webhook: {url: 'https://soar.example/api/alerts'}}]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkWarnWorldReadable(t, tt.yaml, tt.mode, tt.want, "hunter2", "abc", "fallback")
		})
	}
	if got := WarnWorldReadable(filepath.Join(t.TempDir(), "missing.yaml")); got != "" {
		t.Errorf("missing file: %q", got)
	}
}

// checkWarnWorldReadable writes yaml to a config file of mode and checks
// WarnWorldReadable's warning of it: one holding want, or none when want
// is "", and never showing any of secrets.
func checkWarnWorldReadable(t *testing.T, yaml string, mode os.FileMode, want string, secrets ...string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "iocwatch.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil {
		t.Fatal(err)
	}
	got := WarnWorldReadable(path)
	if want == "" && got != "" || want != "" && !strings.Contains(got, want) {
		t.Errorf("WarnWorldReadable = %q, want %q", got, want)
	}
	for _, secret := range secrets {
		if strings.Contains(got, secret) {
			t.Errorf("the warning shows the secret %q: %q", secret, got)
		}
	}
}
