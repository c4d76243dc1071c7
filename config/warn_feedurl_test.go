package config

import (
	"os"
	"testing"
)

// A feed URL that carries a key — a password, a credential-like query
// value, a token in its path or query, a key as its user name — written in
// a file every user can read is a secret in clear, as a webhook URL whose
// path (or user name, urlcred.UserIsKey) is its credential is.
func TestWarnWorldReadableCountsAFeedKeyInClear(t *testing.T) {
	const secret = "Jq4Wz8Xc2Vb6Nm1Hk7"
	feed := func(url string) string {
		return "feeds:\n  - {name: public, type: http, url: 'https://feeds.example/list.txt'}\n  - {name: f, type: http, url: '" + url + "'}\n"
	}
	tests := []struct {
		name string
		mode os.FileMode
		yaml string
		want string // substring; "" means no warning
	}{
		{"a password", 0o644, feed("https://cti:" + secret + "@feeds.example/iocs.csv"), "(feeds[1].url)"},
		{"a key= query value", 0o644, feed("https://feeds.example/iocs.csv?fmt=csv&auth-key=" + secret), "(feeds[1].url)"},
		{"a token in the path", 0o644, feed("https://threatfox-api.abuse.ch/v2/files/exports/" + secret + "/full.csv.zip"), "(feeds[1].url)"},
		{"a token as a query value", 0o644, feed("https://feeds.example/ips?id=" + secret), "(feeds[1].url)"},
		{"a key as the user", 0o644, feed("https://" + secret + "@feeds.example/list.txt"), "(feeds[1].url)"},
		{"a TAXII root with a key", 0o644,
			"feeds: [{name: t, type: taxii, url: 'https://taxii.example/" + secret + "/api/', taxii: {collection: c}}]", "(feeds[0].url)"},
		{"a key in a reference's default", 0o644, feed("https://feeds.example/iocs.csv?key=${FEED_KEY:-" + secret + "}"), "(feeds[1].url)"},
		{"a key written beside a host from the environment", 0o644, feed("https://${FEED_HOST}/v2/" + secret + "/full.csv"), "(feeds[1].url)"},
		{"listed in file order with the other secrets", 0o644,
			feed("https://feeds.example/x?key="+secret) + "metrics: {bearer_token: hunter2}\n", "(feeds[1].url, metrics.bearer_token)"},
		{"a file readable only by its owner", 0o600, feed("https://feeds.example/iocs.csv?key=" + secret), ""},
		{"a group-readable file", 0o640, feed("https://" + secret + "@feeds.example/list.txt"), ""},
		{"a feed URL without a key", 0o644, feed("https://feodotracker.abuse.ch/downloads/ipblocklist_recommended.txt?fmt=txt"), ""},
		{"a plain user name", 0o644, feed("https://soar@feeds.example/list.txt"), ""},
		{"a key from the environment", 0o644, feed("https://feeds.example/iocs.csv?key=${FEED_KEY}"), ""},
		{"a path key from the environment", 0o644, feed("https://feeds.example/v2/${FEED_KEY}/full.csv"), ""},
		{"a user key from the environment", 0o644, feed("https://${FEED_KEY}@feeds.example/list.txt"), ""},
		{"the whole URL from the environment", 0o644, feed("${FEED_URL}"), ""},
		// A user name followed by a password is not a key, even when the
		// password (from the environment) is left empty here.
		{"a user name with a password from the environment", 0o644, feed("https://Analyst:${FEED_PASS}@feeds.example/list.txt"), ""},
		{"a long user name with a password from the environment", 0o644, feed("https://svc-iocwatch-feed-reader:${FEED_PASS}@feeds.example/list.txt"), ""},
		{"a password in a reference's default", 0o644, feed("https://Analyst:${FEED_PASS:-" + secret + "}@feeds.example/list.txt"), "(feeds[1].url)"},
		{"a path key beside a password from the environment", 0o644, feed("https://Analyst:${FEED_PASS}@feeds.example/v2/" + secret + "/list.txt"), "(feeds[1].url)"},
		{"a webhook URL with a key as the user", 0o644,
			"sinks: [{name: s, type: webhook, webhook: {url: 'https://" + secret + "@soar.example/api/alerts'}}]", "(sinks[0].webhook.url)"},
		{"a webhook URL with a plain user name", 0o644,
			"sinks: [{name: s, type: webhook, webhook: {url: 'https://soar@soar.example/api/alerts'}}]", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkWarnWorldReadable(t, tt.yaml, tt.mode, tt.want, secret, "hunter2")
		})
	}
}
