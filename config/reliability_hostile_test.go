package config

import (
	"strings"
	"testing"
)

// The reliability and security keys: pipeline.dead_letter_failure, and
// the warnings for Event Hubs and storage connection strings that send
// their key without TLS.

func parseValid(t *testing.T, yaml string) (*Config, error) {
	t.Helper()
	c, err := Parse([]byte(yaml), "test.yaml")
	if err != nil {
		return nil, err
	}
	return c, c.Validate()
}

const (
	minimalFeeds = "feeds:\n  - {name: c2, path: c2.txt}\n"
	stdin        = "source: {type: stdin}\n"
)

func TestDeadLetterFailureDefaultsToStopAndTakesOnlyStopOrContinue(t *testing.T) {
	tests := []struct {
		name, yaml, want, err string
	}{
		{"left out, it is stop", stdin + minimalFeeds, "stop", ""},
		{"stop is accepted", stdin + minimalFeeds + "pipeline: {dead_letter_failure: stop}\n", "stop", ""},
		{"continue is accepted", stdin + minimalFeeds + "pipeline: {dead_letter_failure: continue}\n", "continue", ""},
		{"anything else is refused with its line and key", stdin + minimalFeeds + "pipeline: {dead_letter_failure: drop}\n", "", "test.yaml:4: pipeline.dead_letter_failure"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseValid(t, tc.yaml)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one naming %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Pipeline.DeadLetterFailure != tc.want {
				t.Errorf("dead_letter_failure = %q, want %q", c.Pipeline.DeadLetterFailure, tc.want)
			}
		})
	}
}

func TestConnectionStringsWithoutTLSAreWarnedWithoutShowingThem(t *testing.T) {
	const key = "c2VjcmV0LWtleS1ub3QtdG8tYmUtc2hvd24="
	eh := func(conn, blob string) string {
		return minimalFeeds + `source:
  type: eventhubs
  eventhubs:
    connection_string: "` + conn + `"
    hub: defender
    checkpoint: {connection_string: "` + blob + `", container: checkpoints}
`
	}
	cloudEH := "Endpoint=sb://corp.servicebus.windows.net/;SharedAccessKeyName=iocwatch;SharedAccessKey=" + key
	cloudBlob := "DefaultEndpointsProtocol=https;AccountName=corp;AccountKey=" + key + ";EndpointSuffix=core.windows.net"
	tests := []struct {
		name       string
		yaml       string
		wantInWarn []string
	}{
		{"cloud endpoints over TLS give no warning", eh(cloudEH, cloudBlob), nil},
		{"the emulator switch is warned", eh("Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=k;SharedAccessKey="+key+";UseDevelopmentEmulator=true", cloudBlob),
			[]string{"source.eventhubs.connection_string: UseDevelopmentEmulator=true connects without TLS"}},
		{"a storage account over http is warned", eh(cloudEH, "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="+key+";BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"),
			[]string{"source.eventhubs.checkpoint.connection_string: the storage account is reached over plain http://"}},
		{"a blob endpoint over http is warned whatever the protocol key says", eh(cloudEH, "AccountName=a;AccountKey="+key+";BlobEndpoint=http://blob.internal/a"),
			[]string{"plain http://"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := parseValid(t, tc.yaml)
			if err != nil {
				t.Fatal(err)
			}
			warnings := strings.Join(c.Warnings(), "\n")
			for _, w := range tc.wantInWarn {
				if !strings.Contains(warnings, w) {
					t.Errorf("warnings lack %q:\n%s", w, warnings)
				}
			}
			if tc.wantInWarn == nil && warnings != "" {
				t.Errorf("unexpected warnings:\n%s", warnings)
			}
			if strings.Contains(warnings, key) {
				t.Errorf("a warning shows the key:\n%s", warnings)
			}
		})
	}
}
