package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The problems a person writing the file by hand meets: every one is
// reported with the file and the line, and none is taken silently.

// parseAndValidate returns the first error of Parse, else of Validate.
func parseAndValidate(yaml string) error {
	c, err := Parse([]byte(yaml), "h.yaml")
	if err != nil {
		return err
	}
	return c.Validate()
}

const validBody = "source: {type: stdin}\nfeeds: [{name: c2, path: c2.txt}]\n"

// A YAML problem on the first line, and a file that is not UTF-8 text,
// are named with their line like any other (the YAML library gives none).
func TestReadingProblemsNameTheLine(t *testing.T) {
	tests := []errCase{
		{"a colon inside a plain value on line 1",
			"log: a: b\n" + validBody, "h.yaml:1: mapping values are not allowed in this context"},
		{"a tab indenting line 1",
			"\tlog: {}\n" + validBody, "h.yaml:1: found character that cannot start any token"},
		{"a backquote starting a value on line 1",
			"log: `info`\n", "h.yaml:1: found character that cannot start any token"},
		{"a bad escape in a double-quoted value on line 1",
			`log: {level: "\q"}` + "\n", "h.yaml:1: found unknown escape character"},
		{"a byte of a Latin-1 file",
			validBody + "log:\n  level: caf\xe9\n",
			`h.yaml:4: not UTF-8 text (byte 0xE9 at column 13): save the file as UTF-8`},
		{"a lone byte that no UTF-8 character starts with",
			"log: {level: \xff}\n", `h.yaml:1: not UTF-8 text (byte 0xFF at column 14): save the file as UTF-8`},
		{"a Latin-1 byte after CRLF line ends",
			"source:\r\n  type: stdin\r\nfeeds: [{name: caf\xe9, path: c2.txt}]\r\n",
			`h.yaml:3: not UTF-8 text (byte 0xE9 at column 19): save the file as UTF-8`},
		{"a control character",
			validBody + "log: {level: \"in\x01fo\"}\n",
			`h.yaml:3: control character U+0001 at column 17 is not allowed: write it as an escape ("\x01") in a double-quoted string`},
		{"a NUL byte",
			validBody + "\n\x00\n", `h.yaml:4: control character U+0000 at column 1 is not allowed: write it as an escape ("\x00") in a double-quoted string`},
		{"a C1 control character (U+0080-U+009F)",
			validBody + "log: {level: \"\u0090\"}\n", `h.yaml:3: control character U+0090 at column 15 is not allowed: write it as an escape ("\x90") in a double-quoted string`},
		// The column is counted once, at the problem: counted from the
		// start of the line at every character, a line of a few MiB (a
		// generated allowlist on one line) took hours.
		{"a byte at the end of a line of 3 MiB",
			validBody + "# " + strings.Repeat("ü-", 1<<20) + "\xe9\n",
			fmt.Sprintf(`h.yaml:3: not UTF-8 text (byte 0xE9 at column %d): save the file as UTF-8`, 2+2<<20+1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parseAndValidate(tt.yaml)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v\nwant %s", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Line == 0 {
				t.Errorf("the error has no line: %#v", err)
			}
		})
	}
}

// The shapes of a hand-written file that are not problems: a byte order
// mark, CRLF or CR line ends, tabs between a key and its value, an empty
// file or one of comments (the defaults, then what Validate requires).
func TestHandWrittenFileShapes(t *testing.T) {
	tests := []errCase{ // want: the error, "" for a valid file
		{"a UTF-8 byte order mark", "\xef\xbb\xbf" + validBody, ""},
		{"a byte order mark before a problem on line 1", "\xef\xbb\xbflog: a: b\n", "h.yaml:1: mapping values are not allowed in this context"},
		{"CRLF line ends", strings.ReplaceAll(validBody+"log:\n  level: debug\n", "\n", "\r\n"), ""},
		{"CRLF line ends keep the line of a problem", strings.ReplaceAll(validBody+"log:\n  levle: debug\n", "\n", "\r\n"),
			`h.yaml:4: unknown key "levle" in log (did you mean "level"?)`},
		{"a tab between a key and its value", validBody + "log:\n  level:\tdebug\n", ""},
		{"a tab indenting a key", validBody + "log:\n\tlevel: debug\n", "h.yaml:4: found character that cannot start any token"},
		{"an empty file needs a source and a feed", "",
			"h.yaml: source.file.paths: required: at least one file to read\nh.yaml: feeds: at least one feed is required"},
		{"a file of comments is an empty file", "# nothing yet\n",
			"h.yaml: source.file.paths: required: at least one file to read\nh.yaml: feeds: at least one feed is required"},
		{"a file that is a list", "- source: {type: stdin}\n", "h.yaml:1: want a mapping of keys, found a list"},
		{"a file that is one value", "iocwatch\n", "h.yaml:1: want a mapping of keys, found a single value"},
	}
	runErrCases(t, tests)
}

// Anchors, aliases and merge keys work; a merge that cannot mean one
// thing is refused with its line, quickly.
func TestAnchorsAndMergeKeys(t *testing.T) {
	tests := []struct {
		name, yaml, want string
		check            func(c *Config) bool
	}{
		{"a merge key written twice in one mapping",
			validBody + "sinks:\n  - &a {name: a, type: stdout, queue: 1}\n  - &b {name: b, type: stdout, queue: 2}\n  - name: c\n    <<: *a\n    <<: *b\n",
			`h.yaml:8: sinks[2]: key "<<" is written twice (first on line 7): merge several mappings with a list, <<: [*a, *b]`, nil},
		{"a mapping that merges itself",
			validBody + "log: &l {<<: *l}\n", `h.yaml:3: log: << merges a mapping that holds this << (a recursive alias)`, nil},
		{"a merge cannot name an anchor written after it",
			validBody + "sinks:\n  - &a {name: a, type: stdout, <<: *b}\n  - &b {name: b, type: stdout, <<: *a}\n",
			`h.yaml:4: unknown anchor 'b' referenced`, nil},
		{"a mapping that merges itself through a list",
			validBody + "log: &l {level: info, <<: [*l]}\n", `h.yaml:3: log: << merges a mapping that holds this << (a recursive alias)`, nil},
		{"a merge in a list of mappings merges each",
			validBody + "sinks:\n  - &a {name: a, type: stdout, queue: 7}\n  - &b {name: b, type: stdout, best_effort: true}\n  - {<<: [*a, *b], name: c}\n", "",
			func(c *Config) bool { return c.Sinks[2].Queue == 7 && c.Sinks[2].BestEffort && c.Sinks[2].Name == "c" }},
		{"an alias of a list",
			"source: {type: kafka, kafka: {brokers: &k [k1:9092], topics: [t]}}\nfeeds: [{name: c2, path: c2.txt}]\nsinks: [{name: k, type: kafka, kafka: {brokers: *k}}]\n", "",
			func(c *Config) bool {
				return len(c.Sinks[0].Kafka.Brokers) == 1 && c.Sinks[0].Kafka.Brokers[0] == "k1:9092"
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), "h.yaml")
			if err == nil {
				err = c.Validate()
			}
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Fatalf("err = %v\nwant %s", got, tt.want)
			}
			if tt.check != nil && !tt.check(c) {
				t.Errorf("decoded %+v", c.Sinks)
			}
		})
	}
}

// A YAML tag other than the standard ones (!!str, !!int, …) is refused:
// iocwatch gives no meaning to !env, !secret or !!binary, and taking the
// text after one literally would make a password of a variable's name.
func TestTagsOtherThanTheStandardOnesAreRefused(t *testing.T) {
	tests := []errCase{
		{"!env on a secret", validBody + "metrics:\n  bearer_token: !env METRICS_TOKEN\n",
			`h.yaml:4: metrics.bearer_token: the YAML tag !env is not supported: write ${NAME} for a value from the environment`},
		{"!ENV with a list, as other tools take it", validBody + "sinks:\n  - name: s\n    type: splunk_hec\n    splunk_hec:\n      url: https://splunk.example:8088/services/collector/event\n      token: !ENV [HEC_TOKEN, x]\n",
			`h.yaml:8: sinks[0].splunk_hec.token: the YAML tag !ENV is not supported: write ${NAME} for a value from the environment`},
		{"!secret on a header value", validBody[:len("source: {type: stdin}\n")] + "feeds:\n  - name: u\n    type: http\n    url: https://feeds.example/\n    headers: {Auth-Key: !secret abusech}\n",
			`h.yaml:6: feeds[0].headers["Auth-Key"]: the YAML tag !secret is not supported: write ${NAME} for a value from the environment`},
		{"!!binary on a string", validBody + "log: {level: !!binary aW5mbw==}\n",
			`h.yaml:3: log.level: the YAML tag !!binary is not supported: write ${NAME} for a value from the environment`},
		{"a tag on a block", validBody + "log: !custom {level: info}\n",
			`h.yaml:3: log: the YAML tag !custom is not supported: write ${NAME} for a value from the environment`},
		{"a tag on a list item", validBody + "allowlist: [!ip 192.0.2.1]\n",
			`h.yaml:3: allowlist[0]: the YAML tag !ip is not supported: write ${NAME} for a value from the environment`},
		{"a tag on a condition of an exclusion", validBody + "exclusions:\n  - name: r\n    reason: x\n    when: {device: !re 'ws-.*'}\n",
			`h.yaml:6: exclusions[0].when.device: the YAML tag !re is not supported: write ${NAME} for a value from the environment`},
		{"a tag on the list of a condition", validBody + "exclusions:\n  - name: r\n    reason: x\n    when: {remote_port: !ports [3389]}\n",
			`h.yaml:6: exclusions[0].when.remote_port: the YAML tag !ports is not supported: write ${NAME} for a value from the environment`},
		{"a tag on the list of a condition of two", validBody + "exclusions:\n  - name: r\n    reason: x\n    when:\n      device: [ws-1]\n      remote_ip: !ENV [ADMIN_NET]\n",
			`h.yaml:8: exclusions[0].when.remote_ip: the YAML tag !ENV is not supported: write ${NAME} for a value from the environment`},
		{"a tag on a key", validBody + "log: {!k level: info}\n",
			`h.yaml:3: log: the YAML tag !k is not supported: write ${NAME} for a value from the environment`},
		{"the standard tags are read as the key's type", validBody + "log: {level: !!str info, format: ! text}\nmatch: {pattern_warn: !!int 10}\nexclusions:\n  - {name: r, reason: x, expires: !!timestamp 2099-01-01, when: {remote_port: !!int 3389, device: !!seq [ws-1]}}\n", ""},
		{"an anchor is not a tag", validBody + "log: &l {level: info}\n", ""},
	}
	runErrCases(t, tests)
}

// A key written without a value is named at its own line when the check
// that fails is about it, not at the line of the block around it.
func TestAnEmptyKeyIsNamedAtItsLine(t *testing.T) {
	tests := []errCase{
		{"an empty required key", validBody + "history:\n  enabled: true\n  retention: 1h\n  path:\n",
			"h.yaml:6: history.path: required when history is enabled"},
		{"an empty block", "feeds: [{name: c2, path: c2.txt}]\nsource:\n  type: kafka\n  kafka:\n",
			"h.yaml:4: source.kafka.brokers: required: at least one host:port\nh.yaml:4: source.kafka.topics: required: at least one topic"},
		{"an empty block of a list item", validBody + "sinks:\n  - name: w\n    type: webhook\n    webhook:\n",
			"h.yaml:6: sinks[0].webhook.url: required"},
		{"an empty key keeps its default", validBody + "log:\n  level:\n", ""},
	}
	runErrCases(t, tests)
}

// Durations and sizes are read as docs/configuration.md says: a
// duration has a unit (0 alone is zero), a size is a whole number of
// bytes.
func TestDurationsAndSizesAsDocumented(t *testing.T) {
	tests := []struct {
		value  string
		window time.Duration // suppression.window
		werr   string
		bytes  int // pipeline.max_message_bytes
		berr   string
	}{
		{value: "30s", window: 30 * time.Second, berr: `"30s" is not a whole number`},
		{value: "1m30s", window: 90 * time.Second, berr: `"1m30s" is not a whole number`},
		{value: "1h30m", window: 90 * time.Minute, berr: `"1h30m" is not a whole number`},
		{value: "0", window: 0, bytes: 0},
		{value: "0s", window: 0, berr: `"0s" is not a whole number`},
		{value: "30", werr: `"30" is not a duration: write it with a unit, like 250ms, 5s or 1h`, bytes: 30},
		{value: "1048576", werr: "is not a duration: write it with a unit", bytes: 1048576},
		{value: "1MiB", werr: `"1MiB" is not a duration`, berr: `"1MiB" is not a whole number`},
		{value: "1MB", werr: `"1MB" is not a duration`, berr: `"1MB" is not a whole number`},
		{value: "1d", werr: `"1d" is not a duration (like 250ms, 5s, 1h30m)`, berr: `"1d" is not a whole number`},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			c, err := Parse([]byte("suppression: {window: "+tt.value+"}\n"), "h.yaml")
			switch {
			case tt.werr != "" && (err == nil || !strings.Contains(err.Error(), "h.yaml:1: suppression.window: ") || !strings.Contains(err.Error(), tt.werr)):
				t.Errorf("window: err = %v, want %q", err, tt.werr)
			case tt.werr == "" && err != nil:
				t.Errorf("window: %v", err)
			case tt.werr == "" && c.Suppression.Window != tt.window:
				t.Errorf("window = %v, want %v", c.Suppression.Window, tt.window)
			}
			c, err = Parse([]byte("pipeline: {max_message_bytes: "+tt.value+"}\n"), "h.yaml")
			switch {
			case tt.berr != "" && (err == nil || !strings.Contains(err.Error(), "h.yaml:1: pipeline.max_message_bytes: ") || !strings.Contains(err.Error(), tt.berr)):
				t.Errorf("size: err = %v, want %q", err, tt.berr)
			case tt.berr == "" && err != nil:
				t.Errorf("size: %v", err)
			case tt.berr == "" && c.Pipeline.MaxMessageBytes != tt.bytes:
				t.Errorf("size = %d, want %d", c.Pipeline.MaxMessageBytes, tt.bytes)
			}
		})
	}
}

// A value from the environment is text: whatever YAML it holds, it does
// not change the document — not a list, not a mapping, not another key.
func TestExpandedValuesDoNotChangeTheDocument(t *testing.T) {
	t.Setenv("IOCWATCH_TEST_INJECT", "c2.txt\nsinks: []\n- {name: x}\n#")
	t.Setenv("IOCWATCH_TEST_INJECT_FLOW", "a, b]\nlog: {level: debug")
	c, err := Parse([]byte("source: {type: stdin}\nfeeds:\n  - name: c2\n    path: ${IOCWATCH_TEST_INJECT}\n    tags: '${IOCWATCH_TEST_INJECT_FLOW}'\n"), "h.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Feeds) != 1 || !strings.HasSuffix(c.Feeds[0].Path, "c2.txt\nsinks: []\n- {name: x}\n#") ||
		len(c.Feeds[0].Tags) != 1 || c.Feeds[0].Tags[0] != "a, b]\nlog: {level: debug" {
		t.Errorf("feeds = %+v", c.Feeds)
	}
	if len(c.Sinks) != 1 || c.Sinks[0].Name != "stdout" || c.Log.Level != "info" {
		t.Errorf("the expansion changed other keys: sinks %+v, log %+v", c.Sinks, c.Log)
	}
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	i, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return i
}

// errCase is a config text and the error parsing and validating it gives
// ("" for none).
type errCase struct{ name, yaml, want string }

// runErrCases runs each case as a subtest.
func runErrCases(t *testing.T, tests []errCase) {
	t.Helper()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := parseAndValidate(tt.yaml)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("err = %v\nwant %s", got, tt.want)
			}
		})
	}
}
