package config_test

import (
	"fmt"
	"os"

	"github.com/iocwatch/iocwatch/config"
)

func ExampleParse() {
	os.Setenv("EXAMPLE_HEC_TOKEN", "0f8fad5b-d9cb-469f")
	defer os.Unsetenv("EXAMPLE_HEC_TOKEN")
	data := []byte(`
source:
  type: eventhubs
  eventhubs:
    auth: default_credential
    namespace: corp.servicebus.windows.net
    hub: defender
    checkpoint: {container_url: "https://corpstate.blob.core.windows.net/checkpoints"}
feeds:
  - {name: feodo, path: feeds/feodo.csv, format: feodo}
sinks:
  - name: splunk
    type: splunk_hec
    splunk_hec: {url: "https://splunk:8088/services/collector/event", token: "${EXAMPLE_HEC_TOKEN}"}
`)
	cfg, err := config.Parse(data, "/etc/iocwatch/iocwatch.yaml")
	if err == nil {
		err = cfg.Validate()
	}
	fmt.Println("error:", err)
	fmt.Println("consumer group:", cfg.Source.EventHubs.ConsumerGroup)
	fmt.Println("feed file:", cfg.Feeds[0].Path)
	fmt.Println("token:", cfg.Sinks[0].SplunkHEC.Token)
	// Output:
	// error: <nil>
	// consumer group: $Default
	// feed file: /etc/iocwatch/feeds/feodo.csv
	// token: [redacted]
}

func ExampleConfig_Validate() {
	cfg, err := config.Parse([]byte(`
source: {type: kafka, kafka: {brokers: [kafka], topics: [defender]}}
feeds: [{name: feodo, type: http, url: "ftp://feeds.example/feodo.csv", interval: 10s}]
log: {level: verbose}
`), "iocwatch.yaml")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Validate())
	// Output:
	// iocwatch.yaml:2: source.kafka.brokers[0]: "kafka" is not host:port
	// iocwatch.yaml:3: feeds[0].url: must be https:// or http://
	// iocwatch.yaml:3: feeds[0].interval: must be at least 1m; found 10s
	// iocwatch.yaml:4: log.level: "verbose" is not one of debug, info, warn, error
}

func ExampleSecret() {
	s := config.Secret("hunter2")
	fmt.Println(s, fmt.Sprintf("%q %#v", s, s))
	fmt.Println(s.Reveal())
	// Output:
	// [redacted] "[redacted]" config.Secret("[redacted]")
	// hunter2
}
