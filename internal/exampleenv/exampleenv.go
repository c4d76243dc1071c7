// Package exampleenv holds the environment variables the configuration
// examples in docs/examples read (${KAFKA_PASSWORD}, …), set to harmless
// stand-ins, for the tests that load those examples (config's and the
// command's): one list, so that an example given a new variable needs it
// added once.
package exampleenv

// Vars maps each variable the examples read to a stand-in value.
var Vars = map[string]string{
	"KAFKA_PASSWORD":             "kafka-password",
	"ABUSECH_KEY":                "abusech-key",
	"TAXII_TOKEN":                "taxii-token",
	"SOAR_HMAC_KEY":              "hmac-key",
	"SOAR_API_KEY":               "soar-api-key",
	"SPLUNK_HEC_TOKEN":           "hec-token",
	"METRICS_PASSWORD":           "metrics-password",
	"EVENTHUB_CONNECTION_STRING": "Endpoint=sb://corp-defender.servicebus.windows.net/;SharedAccessKeyName=iocwatch;SharedAccessKey=c2VjcmV0",
	"STORAGE_CONNECTION_STRING":  "DefaultEndpointsProtocol=https;AccountName=corpiocwatch;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net",
}
