package config

import (
	"fmt"
	"strings"
	"testing"
)

// base is a valid file that cases extend; src is its source alone, for
// the cases that bring their own feeds.
const (
	src  = "source: {file: {paths: [e.jsonl]}}\n"
	base = src + "feeds: [{name: f, path: f.csv}]\n"
)

func TestValidateRules(t *testing.T) {
	const eh = "source: {type: eventhubs, eventhubs: {hub: h, connection_string: '%s', checkpoint: {connection_string: 'AccountName=a;AccountKey=k', container: c-1}}}\nfeeds: [{name: f, path: f.csv}]\n"
	tests := []struct {
		name string
		yaml string
		want string // one expected message (substring); "" means valid
	}{
		{"the base file is valid", base, ""},
		{"a reload may use a whole core", base + "feed_reload_cpu: 1", ""},
		{"a reload may use a tenth of a core", base + "feed_reload_cpu: 0.1", ""},
		{"a reload share of zero would never finish and is refused", base + "feed_reload_cpu: 0", "feed_reload_cpu: must be at least 0.01 and at most 1 (a share of one core; 1 does not pace); found 0"},
		{"a reload share over one core is refused", base + "feed_reload_cpu: 1.5", "feed_reload_cpu: must be at least 0.01 and at most 1"},
		{"a feed name with a space is refused", "source: {file: {paths: [e]}}\nfeeds: [{name: 'my feed', path: f}]", `feeds[0].name: "my feed" is not a valid name`},
		{"a sink name longer than 64 characters is refused", base + "sinks: [{name: " + strings.Repeat("s", 65) + ", type: stdout}]", "is not a valid name"},
		{"an empty event path is refused", "source: {file: {paths: ['']}}\nfeeds: [{name: f, path: f}]", "source.file.paths[0]: empty value"},
		{"a bad stdin format is refused", "source: {type: stdin, stdin: {format: xml}}\nfeeds: [{name: f, path: f}]", `source.stdin.format: "xml" is not one of auto, jsonl, csv`},
		{"a two-character CSV delimiter is refused", src + "feeds: [{name: f, path: f, format: csv, csv: {delimiter: ';;'}}]", `feeds[0].csv.delimiter: must be one character; found ";;"`},
		{"a quote as CSV delimiter is refused", src + "feeds: [{name: f, path: f, format: csv, csv: {delimiter: '\"'}}]", `feeds[0].csv.delimiter: cannot be "\""`},
		{"a comment prefix starting with the delimiter is refused", src + "feeds: [{name: f, path: f, format: csv, csv: {delimiter: ';', comment: ';;'}}]", `feeds[0].csv.comment: cannot start with the delimiter ";"`},
		{"a header in comments needs a comment prefix", src + "feeds: [{name: f, path: f, format: csv, csv: {comment: '', header_in_comment: true}}]", "feeds[0].csv.header_in_comment: needs a comment prefix"},
		{"a tab-separated CSV feed is valid", src + "feeds: [{name: f, path: f, format: csv, csv: {delimiter: \"\\t\"}}]", ""},
		{"header names that differ only in case collide", src + "feeds: [{name: f, type: http, url: 'https://x', headers: {Auth-Key: a, auth-key: b}}]", `feeds[0].headers["auth-key"]: the same header as "Auth-Key"`},
		{"a TLS client certificate needs its key", src + "feeds: [{name: f, type: http, url: 'https://x', tls: {cert_file: c.pem}}]", "feeds[0].tls.key_file: required with cert_file"},
		{"a TLS key needs its certificate", base + "sinks: [{name: k, type: kafka, kafka: {brokers: ['k:1'], tls: {enabled: true, key_file: k.pem}}}]", "sinks[0].kafka.tls.cert_file: required with key_file"},
		{"a URL without host is refused", base + "sinks: [{name: w, type: webhook, webhook: {url: 'https://:443/x'}}]", "sinks[0].webhook.url: has no host"},
		{"a HEC token with a line break is refused (the sink sends it in a header)", base + "sinks: [{name: h, type: splunk_hec, splunk_hec: {url: 'https://splunk:8088', token: \"5d3c2b1a\\n\"}}]", "sinks[0].splunk_hec.token: holds a control character"},
		{"a HEC token with a DEL is refused", base + "sinks: [{name: h, type: splunk_hec, splunk_hec: {url: 'https://splunk:8088', token: \"5d3c\\x7f2b1a\"}}]", "sinks[0].splunk_hec.token: holds a control character"},
		{"a HEC token may hold a tab, as a header may", base + "sinks: [{name: h, type: splunk_hec, splunk_hec: {url: 'https://splunk:8088', token: \"5d3c\\t2b1a\"}}]", ""},
		{"a file sink that keeps no rotated file is refused (the file sink would keep its default of 5)", base + "sinks: [{name: s, type: file, file: {path: a, max_bytes: 1000, keep: 0}}]", "sinks[0].file.keep: must be at least 1; found 0"},
		{"a file sink may keep one rotated file", base + "sinks: [{name: s, type: file, file: {path: a, max_bytes: 1000, keep: 1}}]", ""},
		{"a file sink cannot have a negative size", base + "sinks: [{name: s, type: file, file: {path: a, max_bytes: -1}}]", "sinks[0].file.max_bytes: must be 0 (no rotation) or more; found -1"},
		{"a bad Kafka sink topic is refused", base + "sinks: [{name: k, type: kafka, kafka: {brokers: ['k:1'], topic: 'a/b'}}]", `sinks[0].kafka.topic: "a/b" is not a valid topic name`},
		{"the Kafka sink to Event Hubs needs TLS too", base + "sinks: [{name: k, type: kafka, kafka: {brokers: ['ns.servicebus.windows.net:9093'], sasl: {mechanism: plain, username: $ConnectionString, password: p}}}]", "sinks[0].kafka.tls.enabled: the Event Hubs Kafka endpoint needs TLS"},
		{"the Event Hubs Kafka endpoint needs SASL plain", "source: {type: kafka, kafka: {brokers: ['ns.servicebus.windows.net:9093'], topics: [t], tls: {enabled: true}}}\nfeeds: [{name: f, path: f}]", `source.kafka.sasl.mechanism: the Event Hubs Kafka endpoint needs plain (with a connection string); found empty`},
		{"$$ConnectionString is accepted as the Event Hubs user", "source: {type: kafka, kafka: {brokers: ['ns.servicebus.windows.net:9093'], topics: [t], tls: {enabled: true}, sasl: {mechanism: plain, username: $$ConnectionString, password: p}}}\nfeeds: [{name: f, path: f}]", ""},
		{"a syslog app name with a space is refused", base + "sinks: [{name: s, type: syslog, syslog: {address: 'h:514', app_name: 'ioc watch'}}]", `sinks[0].syslog.app_name: must be 1–48 printable ASCII characters without spaces; found "ioc watch"`},
		{"a syslog hostname with a space is refused", base + "sinks: [{name: s, type: syslog, syslog: {address: 'h:514', hostname: 'a b'}}]", `sinks[0].syslog.hostname: must be at most 255 printable ASCII characters`},
		{"a tiny UDP datagram size is refused", base + "sinks: [{name: s, type: syslog, syslog: {network: udp, address: 'h:514', max_udp_bytes: 100}}]", "sinks[0].syslog.max_udp_bytes: must be between 480 and 65507; found 100"},
		{"a syslog address needs a port", base + "sinks: [{name: s, type: syslog, syslog: {address: 'h'}}]", `sinks[0].syslog.address: "h" is not host:port`},
		{"a port out of range is refused", base + "sinks: [{name: s, type: syslog, syslog: {address: 'h:70000'}}]", `"h:70000": the port must be a number from 1 to 65535`},
		{"a host with odd characters is refused", base + "sinks: [{name: s, type: syslog, syslog: {address: 'h*st:514'}}]", `"h*st:514": "h*st" is not a host name or IP address`},
		{"metrics may listen on any free port", base + "metrics: {listen: '127.0.0.1:0'}", ""},
		{"metrics may listen on every interface", base + "metrics: {listen: ':9464', bearer_token: t}", ""},
		{"metrics may listen on IPv6 loopback", base + "metrics: {listen: '[::1]:9464'}", ""},
		{"disabled metrics are not checked", base + "metrics: {enabled: false, listen: nonsense}", ""},
		{"a basic auth password needs a user", base + "metrics: {basic_auth: {password: p}}", "metrics.basic_auth.username: required with password"},
		{"an Event Hubs connection string is valid", strings.Replace(eh, "%s", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=n;SharedAccessKey=k", 1), ""},
		{"a SAS signature replaces the key pair", strings.Replace(eh, "%s", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessSignature=SharedAccessSignature sr=x", 1), ""},
		{"a connection string without Endpoint is refused", strings.Replace(eh, "%s", "SharedAccessKeyName=n;SharedAccessKey=k", 1), "source.eventhubs.connection_string: not an Event Hubs connection string"},
		{"a connection string without key is refused", strings.Replace(eh, "%s", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=n", 1), "lacks SharedAccessKeyName and SharedAccessKey"},
		{"a hub next to EntityPath is refused", strings.Replace(eh, "%s", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=n;SharedAccessKey=k;EntityPath=h", 1), "source.eventhubs.hub: must be empty: the connection string names the hub (EntityPath)"},
		{"a missing connection string is refused", "source: {type: eventhubs, eventhubs: {hub: h, checkpoint: {container_url: 'https://a.blob.core.windows.net/c1c'}}}\nfeeds: [{name: f, path: f}]", "source.eventhubs.connection_string: required with auth connection_string"},
		{"a missing checkpoint store is refused", "source: {type: eventhubs, eventhubs: {auth: default_credential, namespace: ns.servicebus.windows.net, hub: h}}\nfeeds: [{name: f, path: f}]", "source.eventhubs.checkpoint: required: set container_url"},
		{"a container URL over http is refused", "source: {type: eventhubs, eventhubs: {auth: default_credential, namespace: ns.servicebus.windows.net, hub: h, checkpoint: {container_url: 'http://a.blob.core.windows.net/cc1'}}}\nfeeds: [{name: f, path: f}]", "checkpoint.container_url: want https://<account>.blob.core.windows.net/<container>"},
		{"a container URL without container is refused", "source: {type: eventhubs, eventhubs: {auth: default_credential, namespace: ns.servicebus.windows.net, hub: h, checkpoint: {container_url: 'https://a.blob.core.windows.net/'}}}\nfeeds: [{name: f, path: f}]", "the path must be the container name"},
		{"a container URL with a bad container name is refused", "source: {type: eventhubs, eventhubs: {auth: default_credential, namespace: ns.servicebus.windows.net, hub: h, checkpoint: {container_url: 'https://a.blob.core.windows.net/Check--Points'}}}\nfeeds: [{name: f, path: f}]", `checkpoint.container_url: "Check--Points" is not a valid container name`},
		{"a container next to a container URL is refused", "source: {type: eventhubs, eventhubs: {auth: default_credential, namespace: ns.servicebus.windows.net, hub: h, checkpoint: {container_url: 'https://a.blob.core.windows.net/cc1', container: cc2}}}\nfeeds: [{name: f, path: f}]", `checkpoint.container: not used when container_url is "https://a.blob.core.windows.net/cc1" (only when it is empty)`},
		{"the storage emulator connection string is accepted", strings.Replace(strings.Replace(eh, "AccountName=a;AccountKey=k", "UseDevelopmentStorage=true", 1), "%s", "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=n;SharedAccessKey=k", 1), ""},
		{"a namespace without domain is refused", "source: {type: eventhubs, eventhubs: {auth: default_credential, namespace: ns, hub: h, checkpoint: {container_url: 'https://a.blob.core.windows.net/cc1'}}}\nfeeds: [{name: f, path: f}]", `source.eventhubs.namespace: want the fully qualified namespace host`},
		{"prefetch -1 disables prefetching", strings.Replace(strings.Replace(eh, "%s", "Endpoint=sb://n.servicebus.windows.net/;SharedAccessKeyName=n;SharedAccessKey=k", 1), "hub: h,", "hub: h, prefetch: -1,", 1), ""},
		{"a three-character container name is valid", strings.Replace(eh, "%s", "Endpoint=sb://n.servicebus.windows.net/;SharedAccessKeyName=n;SharedAccessKey=k", 1), ""},
		{"a two-character container name is refused", strings.Replace(strings.Replace(eh, "%s", "Endpoint=sb://n.servicebus.windows.net/;SharedAccessKeyName=n;SharedAccessKey=k", 1), "c-1", "cc", 1), `"cc" is not a valid container name`},
		{"an empty allowlist value is refused", base + "allowlist: [a.example, '']", "allowlist[1]: empty value"},
		{"an empty feed tag is refused", src + "feeds: [{name: f, path: f, tags: ['']}]", "feeds[0].tags[0]: empty value"},
		{"an IPv6 prefix minimum above 128 is refused", src + "feeds: [{name: f, path: f, allow: {min_prefix_v6: 129}}]", "feeds[0].allow.min_prefix_v6: must be between 0 and 128; found 129"},
		{"a negative ttl is refused", src + "feeds: [{name: f, path: f, ttl: -1h}]", "feeds[0].ttl: must not be negative; found -1h"},
		{"a zero max download size is refused", src + "feeds: [{name: f, type: http, url: 'https://x', max_bytes: 0}]", "feeds[0].max_bytes: must be at least 1; found 0"},
		{"a taxii password needs a user name", src + "feeds: [{name: f, type: taxii, url: 'https://x', taxii: {collection: c, password: p}}]", "feeds[0].taxii.username: required with password"},
		{"max_bytes below min_bytes is refused", "source: {type: kafka, kafka: {brokers: ['k:1'], topics: [t], min_bytes: 100, max_bytes: 10}}\nfeeds: [{name: f, path: f}]", "source.kafka.max_bytes: must be at least min_bytes (100); found 10"},
		{"max_bytes below the default min_bytes says to set min_bytes", "source: {type: kafka, kafka: {brokers: ['k:1'], topics: [t], max_bytes: 16384}}\nfeeds: [{name: f, path: f}]", "source.kafka.max_bytes: must be at least min_bytes (65536, its default: set min_bytes too); found 16384"},
		{"a bad dead-letter topic is refused", "source: {type: kafka, kafka: {brokers: ['k:1'], topics: [t], dead_letter_topic: '..'}}\nfeeds: [{name: f, path: f}]", `source.kafka.dead_letter_topic: ".." is not a valid topic name`},
		{"a SASL mechanism needs a user name", "source: {type: kafka, kafka: {brokers: ['k:1'], topics: [t], sasl: {mechanism: scram-sha-256, password: p}}}\nfeeds: [{name: f, path: f}]", "source.kafka.sasl.username: required with a SASL mechanism"},
		{"a SASL mechanism needs a password", "source: {type: kafka, kafka: {brokers: ['k:1'], topics: [t], sasl: {mechanism: plain, username: u}}}\nfeeds: [{name: f, path: f}]", "source.kafka.sasl.password: required with a SASL mechanism"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yaml), "v.yaml")
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			err = c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("unexpected problems:\n%v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v\nwant a message containing %q", err, tt.want)
			}
		})
	}
}

// CheckEnum checks a command-line value against the key it sets.
func TestCheckEnum(t *testing.T) {
	tests := []struct {
		name, path, value string
		want              string // "" means valid
	}{
		{"--log-level", "log.level", "debug", ""},
		{"--log-level", "log.level", "loud", `--log-level "loud": want debug, info, warn or error`},
		{"--ip-index", "match.ip_index", "cidranger", ""},
		{"--ip-index", "match.ip_index", "", `--ip-index "": want bart or cidranger`},
		{"--feed-format", "feeds[].format", "misp", ""},
		{"--feed-format", "feeds[].format", "cvs", `--feed-format "cvs": want auto, text, csv, feodo, urlhaus, threatfox, defender-csv, stix2 or misp`},
		{"--sink-type", "sinks[].type", "webhook", ""},
		{"--name", "feeds[].name", "anything", ""}, // no list of values
		{"--nope", "log.nope", "x", "--nope: no configuration key log.nope"},
	}
	for _, tt := range tests {
		err := CheckEnum(tt.name, tt.path, tt.value)
		if got := fmt.Sprint(err); tt.want == "" && err != nil || tt.want != "" && got != tt.want {
			t.Errorf("CheckEnum(%q, %q, %q) = %v, want %q", tt.name, tt.path, tt.value, err, tt.want)
		}
	}
}

// TestValidateConfigBuiltInCode checks a Config that no file produced: a
// block of another type counts as set when it differs from its defaults.
func TestValidateConfigBuiltInCode(t *testing.T) {
	c := Default()
	c.Source.File.Paths = []string{"e.jsonl"}
	c.Feeds = []Feed{{Name: "f", Path: "f.csv"}}
	c.ApplyDefaults()
	if err := c.Validate(); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	c.Source.Type = "kafka" // the file block keeps only its defaults…
	c.Source.Kafka = KafkaSource{Brokers: []string{"k:9092"}, Topics: []string{"t"}}
	c.ApplyDefaults()
	c.Source.File = FileSource{Format: "auto"}
	if err := c.Validate(); err != nil {
		t.Fatalf("…so it does not count as set: %v", err)
	}
	c.Source.File.Follow = true
	err := c.Validate()
	if err == nil || err.Error() != `source.file: not used when type is "kafka" (only when it is file)` {
		t.Errorf("Validate() = %v", err)
	}
}
