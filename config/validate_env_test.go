package config

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/match/feed"
)

// A value that came from the environment is never shown by Validate, not
// even reformatted (1.50 printed as 1.5, -60s as -1m, 1_01 as 101), short
// (2, a one-letter file name) or as a part (the host or port of a broker,
// the container of a URL): the message names its ${…} text instead, and
// so does a message about another key that quotes it (min_bytes under
// max_bytes, the type a url is not used with, the rule a condition is in).
func TestValidateNamesValuesFromTheEnvironmentByTheirReference(t *testing.T) {
	const eh = "source: {type: kafka, kafka: {brokers: ['${IOCWATCH_TEST_BROKER}'], topics: [t], tls: {enabled: true}, sasl: {mechanism: plain, username: $$ConnectionString, password: p}}}\n"
	tests := []struct {
		name string
		env  map[string]string
		yaml string
		want []string // every problem, in order
	}{
		{"a reformatted decimal", map[string]string{"IOCWATCH_TEST_SG": "1.50"}, base + "shrink_guard: ${IOCWATCH_TEST_SG}\n", []string{
			`v.yaml:3: shrink_guard: must be between 0 and 1 (a fraction); found "${IOCWATCH_TEST_SG}" (expanded)`}},
		{"a short decimal", map[string]string{"IOCWATCH_TEST_SG": "2"}, base + "shrink_guard: ${IOCWATCH_TEST_SG}\n", []string{
			`v.yaml:3: shrink_guard: must be between 0 and 1 (a fraction); found "${IOCWATCH_TEST_SG}" (expanded)`}},
		{"text around the reference", map[string]string{"IOCWATCH_TEST_DIGITS": "0001"}, base + "feed_reload_cpu: 0.${IOCWATCH_TEST_DIGITS}\n", []string{
			`v.yaml:3: feed_reload_cpu: must be at least 0.01 and at most 1 (a share of one core; 1 does not pace); found "0.${IOCWATCH_TEST_DIGITS}" (expanded)`}},
		{"a short whole number", map[string]string{"IOCWATCH_TEST_UDP": "99"}, base + "sinks: [{name: s, type: syslog, syslog: {network: udp, address: 'h:514', max_udp_bytes: '${IOCWATCH_TEST_UDP}'}}]\n", []string{
			`v.yaml:3: sinks[0].syslog.max_udp_bytes: must be between 480 and 65507; found "${IOCWATCH_TEST_UDP}" (expanded)`}},
		{"a reformatted whole number", map[string]string{"IOCWATCH_TEST_CONF": "1_01"}, src + "feeds: [{name: f, path: f.csv, confidence: '${IOCWATCH_TEST_CONF}'}]\n", []string{
			`v.yaml:2: feeds[0].confidence: must be between 0 and 100; found "${IOCWATCH_TEST_CONF}" (expanded)`}},
		{"a whole number below its minimum", map[string]string{"IOCWATCH_TEST_WORKERS": "-1"}, base + "pipeline: {workers: '${IOCWATCH_TEST_WORKERS}'}\n", []string{
			`v.yaml:3: pipeline.workers: must be at least 0; found "${IOCWATCH_TEST_WORKERS}" (expanded)`}},
		{"a reformatted duration", map[string]string{"IOCWATCH_TEST_WINDOW": "-60s"}, base + "suppression: {window: '${IOCWATCH_TEST_WINDOW}'}\n", []string{
			`v.yaml:3: suppression.window: must not be negative; found "${IOCWATCH_TEST_WINDOW}" (expanded)`}},
		{"a duration below its minimum", map[string]string{"IOCWATCH_TEST_EVERY": "30s"}, src + "feeds: [{name: f, type: http, url: 'https://x', interval: '${IOCWATCH_TEST_EVERY}'}]\n", []string{
			`v.yaml:2: feeds[0].interval: must be at least 1m; found "${IOCWATCH_TEST_EVERY}" (expanded)`}},
		{"both values of a comparison", map[string]string{"IOCWATCH_TEST_MIN": "100", "IOCWATCH_TEST_MAX": "10"},
			"source: {type: kafka, kafka: {brokers: ['k:1'], topics: [t], min_bytes: '${IOCWATCH_TEST_MIN}', max_bytes: '${IOCWATCH_TEST_MAX}'}}\nfeeds: [{name: f, path: f}]\n", []string{
				`v.yaml:1: source.kafka.max_bytes: must be at least min_bytes ("${IOCWATCH_TEST_MIN}" (expanded)); found "${IOCWATCH_TEST_MAX}" (expanded)`}},
		{"the other value of a comparison", map[string]string{"IOCWATCH_TEST_INITIAL": "2s"},
			base + "sinks: [{name: s, type: stdout, retry: {initial: '${IOCWATCH_TEST_INITIAL}', max: 1s}}]\n", []string{
				`v.yaml:3: sinks[0].retry.max: must be at least retry.initial ("${IOCWATCH_TEST_INITIAL}" (expanded)); found 1s`}},
		{"a short enum value", map[string]string{"IOCWATCH_TEST_LEVEL": "x"}, base + "log: {level: '${IOCWATCH_TEST_LEVEL}'}\n", []string{
			`v.yaml:3: log.level: "${IOCWATCH_TEST_LEVEL}" (expanded) is not one of debug, info, warn, error`}},
		{"the type a key is not used with", map[string]string{"IOCWATCH_TEST_TYPE": "file"}, src + "feeds: [{name: f, type: '${IOCWATCH_TEST_TYPE}', path: f, url: 'https://x'}]\n", []string{
			`v.yaml:2: feeds[0].url: not used when type is "${IOCWATCH_TEST_TYPE}" (expanded) (only when it is http or taxii)`}},
		{"the host of a broker", map[string]string{"IOCWATCH_TEST_BROKER": "h*st:9092"}, "source: {type: kafka, kafka: {brokers: ['${IOCWATCH_TEST_BROKER}'], topics: [t]}}\nfeeds: [{name: f, path: f}]\n", []string{
			`v.yaml:1: source.kafka.brokers[0]: "${IOCWATCH_TEST_BROKER}" (expanded): the host is not a host name or IP address`}},
		{"a list written as a single value", map[string]string{"IOCWATCH_TEST_BROKER": "h*st:9092"}, "source: {type: kafka, kafka: {brokers: '${IOCWATCH_TEST_BROKER}', topics: [t]}}\nfeeds: [{name: f, path: f}]\n", []string{
			`v.yaml:1: source.kafka.brokers[0]: "${IOCWATCH_TEST_BROKER}" (expanded): the host is not a host name or IP address`}},
		{"the port of a broker", map[string]string{"IOCWATCH_TEST_BROKER": "ns.servicebus.windows.net:9092"}, eh + "feeds: [{name: f, path: f}]\n", []string{
			`v.yaml:1: source.kafka.brokers[0]: the Event Hubs Kafka endpoint listens on port 9093; "${IOCWATCH_TEST_BROKER}" (expanded) has another`}},
		{"the container of a URL", map[string]string{"IOCWATCH_TEST_CONTAINER_URL": "https://a.blob.core.windows.net/Bad--Name"},
			"source: {type: eventhubs, eventhubs: {auth: default_credential, namespace: ns.servicebus.windows.net, hub: h, checkpoint: {container_url: '${IOCWATCH_TEST_CONTAINER_URL}'}}}\nfeeds: [{name: f, path: f}]\n", []string{
				`v.yaml:1: source.eventhubs.checkpoint.container_url: the container of "${IOCWATCH_TEST_CONTAINER_URL}" (expanded) is not a valid container name: 3–63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit`}},
		{"a short file name", map[string]string{"IOCWATCH_TEST_CA": "c"}, base + "sinks: [{name: s, type: webhook, webhook: {url: 'https://x', tls: {ca_file: '${IOCWATCH_TEST_CA}'}}}]\n", []string{
			`v.yaml:3: sinks[0].webhook.tls.ca_file: cannot be read: open "${IOCWATCH_TEST_CA}" (expanded): no such file or directory`}},
		{"the delimiter a comment starts with", map[string]string{"IOCWATCH_TEST_DELIM": ";"}, src + "feeds: [{name: f, path: f, format: csv, csv: {delimiter: '${IOCWATCH_TEST_DELIM}', comment: ';;'}}]\n", []string{
			`v.yaml:2: feeds[0].csv.comment: cannot start with the delimiter "${IOCWATCH_TEST_DELIM}" (expanded)`}},
		{"the name of the rule a condition is in", map[string]string{"IOCWATCH_TEST_RULE": "ab"}, base + "exclusions: [{name: '${IOCWATCH_TEST_RULE}', reason: r, when: {remote_ip: 0.0.0.0/0}}]\n", []string{
			`v.yaml:3: rule "${IOCWATCH_TEST_RULE}" (expanded): remote_ip: "0.0.0.0/0": matches every address: the rule would hide every hit`}},
		{"the part of a URL that url.Parse quotes", map[string]string{"IOCWATCH_TEST_HOOK": "https://hooks.example:x/Tk"}, base + "sinks: [{name: s, type: webhook, webhook: {url: '${IOCWATCH_TEST_HOOK}'}}]\n", []string{
			`v.yaml:3: sinks[0].webhook.url: "${IOCWATCH_TEST_HOOK}" (expanded) is not a URL`}},
		{"a duplicate name", map[string]string{"IOCWATCH_TEST_NAME": "f"}, src + "feeds: [{name: f, path: a}, {name: '${IOCWATCH_TEST_NAME}', path: b}]\n", []string{
			`v.yaml:2: feeds[1].name: "${IOCWATCH_TEST_NAME}" (expanded) is already the name of feeds[0]`}},
		{"$$ is not the environment", nil, base + "sinks: [{name: s, type: syslog, syslog: {address: 'h:514', app_name: 'a$$b c'}}]\n", []string{
			`v.yaml:3: sinks[0].syslog.app_name: must be 1–48 printable ASCII characters without spaces; found "a$b c"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			c, err := Parse([]byte(tt.yaml), "v.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = c.Validate()
			if err == nil {
				t.Fatal("Validate accepted the configuration")
			}
			if got := strings.Split(err.Error(), "\n"); !slices.Equal(got, tt.want) {
				t.Errorf("Validate:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// The decimal keys are checked so that NaN, which fails every comparison,
// is out of range too: a Config built in code may hold it.
func TestValidateRefusesDecimalsOutOfRangeIncludingNaN(t *testing.T) {
	keys := []struct {
		path string
		set  func(*Config, float64)
		want string
	}{
		{"shrink_guard", func(c *Config, v float64) { c.ShrinkGuard = v }, "shrink_guard: must be between 0 and 1 (a fraction); found "},
		{"feed_reload_cpu", func(c *Config, v float64) { c.FeedReloadCPU = v }, "feed_reload_cpu: must be at least 0.01 and at most 1 (a share of one core; 1 does not pace); found "},
	}
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), -0.1, 1.5} {
		for _, k := range keys {
			c := Default()
			c.Source.File.Paths = []string{"e.jsonl"}
			c.Feeds = []Feed{{Name: "f", Type: "file", Path: "f.csv", Format: "auto"}}
			k.set(c, v)
			err := c.Validate()
			if want := k.want + fmt.Sprint(v); err == nil || err.Error() != want {
				t.Errorf("%s = %v: Validate() = %v, want %s", k.path, v, err, want)
			}
		}
	}
}

// feed_reload_cpu has a floor: below a hundredth of a core a reload of
// seconds of work would take hours (each 5 ms of work followed by seconds
// of sleep), and below about 1e-12 the pause overflowed and the reload
// ran unpaced. The floor is refused with its line and the allowed range.
func TestFeedReloadCPUHasAFloor(t *testing.T) {
	const refused = "v.yaml:3: feed_reload_cpu: must be at least 0.01 and at most 1 (a share of one core; 1 does not pace); found "
	for _, tc := range []struct {
		value string
		want  string // "" means valid
	}{
		{"1", ""},
		{"0.5", ""},
		{"0.01", ""},
		{"1e-2", ""},
		{"0.009", refused + "0.009"},
		{"0.001", refused + "0.001"},
		{"1e-12", refused + "1e-12"},
		{"1e-13", refused + "1e-13"},
		{"1e-300", refused + "1e-300"},
		{"0", refused + "0"},
		{"-0.5", refused + "-0.5"},
		{"1.01", refused + "1.01"},
	} {
		t.Run(tc.value, func(t *testing.T) {
			c, err := Parse([]byte(base+"feed_reload_cpu: "+tc.value+"\n"), "v.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate() = %v, want no problem", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Errorf("Validate() = %v\nwant %s", err, tc.want)
			}
		})
	}
}

// The floor Validate enforces is the one the pacer applies.
func TestFeedReloadCPUFloorIsThePacersFloor(t *testing.T) {
	if minFeedReloadCPU != feed.MinReloadCPU {
		t.Errorf("feed_reload_cpu's floor is %v, the pacer's %v", minFeedReloadCPU, feed.MinReloadCPU)
	}
}

// A key that does not go with its certificate names the certificate's
// file too: when cert_file came from the environment, by its ${…} text.
func TestValidateNamesACertificateFileFromTheEnvironmentByItsReference(t *testing.T) {
	f := tlsTestFiles(t)
	t.Setenv("IOCWATCH_TEST_CERT", f["client.pem"])
	yaml := base + "sinks: [{name: s, type: webhook, webhook: {url: 'https://x', tls: {cert_file: '${IOCWATCH_TEST_CERT}', key_file: '" + f["other-key.pem"] + "'}}}]\n"
	c, err := Parse([]byte(yaml), "v.yaml")
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	err = c.Validate()
	want := "v.yaml:3: sinks[0].webhook.tls.key_file: " + f["other-key.pem"] + `: with cert_file "${IOCWATCH_TEST_CERT}" (expanded): tls: private key does not match public key`
	if err == nil || err.Error() != want {
		t.Errorf("Validate() = %v\nwant %s", err, want)
	}
}
