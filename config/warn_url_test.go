package config

import (
	"slices"
	"strings"
	"testing"
)

// The warnings `check` gives about the credentials a URL carries: a
// password or a key as the user name written in the file (the file holds
// it in clear, though iocwatch hides it wherever it shows the URL), and a
// feed URL whose key travels over plain http://.
func TestWarningsURLCredentials(t *testing.T) {
	const (
		key  = "Jq4Wz8Xc2Vb6Nm1Hk7"
		pass = "hunter2hunter2"

		passwordInFile = "holds a password written in the file: iocwatch hides it wherever it shows the URL, but the file holds it in clear; write it as a ${ENV} reference (https://user:${PASSWORD}@host/…)"
		userKeyInFile  = "holds a key as its user name, written in the file: iocwatch hides it wherever it shows the URL, but the file holds it in clear; write it as a ${ENV} reference (https://${KEY}@host/…)"
		urlKeyPlain    = "the key the URL carries is sent over plain http://: use https://"
		credsPlain     = "credentials are sent over plain http://"
	)
	env := map[string]string{
		"FEED_PASS": pass,
		"FEED_KEY":  key,
		"FEED_URL":  "https://cti:" + pass + "@feeds.example/iocs.csv",
		"PLAIN_URL": "http://feeds.example/iocs.csv?key=" + key,
	}
	// feed is a configuration whose feed feeds[0] (line 2) has url u; a
	// source, and a feed where there is none, follow each yaml below.
	feed := func(u string) string {
		return "feeds:\n  - {name: f, type: http, url: '" + u + "'}\n"
	}
	at := func(msg string) string { return "w.yaml:2: feeds[0].url: " + msg }
	tests := []struct {
		name string
		yaml string
		want []string // every warning, exactly
	}{
		// A password or a key as the user name, written in the file.
		{"a password", feed("https://cti:" + pass + "@feeds.example/iocs.csv"), []string{at(passwordInFile)}},
		{"a password in a reference's default", feed("https://cti:${NO_SUCH_VAR:-" + pass + "}@feeds.example/iocs.csv"), []string{at(passwordInFile)}},
		{"a password beside a host from the environment", feed("https://cti:" + pass + "@${FEED_HOST:-feeds.example}/iocs.csv"), []string{at(passwordInFile)}},
		{"a password from the environment", feed("https://cti:${FEED_PASS}@feeds.example/iocs.csv"), nil},
		{"a whole URL with a password from the environment", feed("${FEED_URL}"), nil},
		{"an empty password", feed("https://soar:@feeds.example/list.txt"), nil},
		{"a key as the user name", feed("https://" + key + "@feeds.example/list.txt"), []string{at(userKeyInFile)}},
		{"a key as the user name with an empty password", feed("https://" + key + ":@feeds.example/list.txt"), []string{at(userKeyInFile)}},
		{"a key as the user name in a reference's default", feed("https://${NO_SUCH_VAR:-" + key + "}@feeds.example/list.txt"), []string{at(userKeyInFile)}},
		{"a key as the user name from the environment", feed("https://${FEED_KEY}@feeds.example/list.txt"), nil},
		{"a plain user name", feed("https://soar@feeds.example/list.txt"), nil},
		// A user name followed by a password from the environment is not
		// a key, even one that alone would be (over 16 characters).
		{"a user name with a password from the environment", feed("https://Analyst:${FEED_PASS}@feeds.example/list.txt"), nil},
		{"a long user name with a password from the environment", feed("https://svc-iocwatch-feed-reader:${FEED_PASS}@feeds.example/list.txt"), nil},
		{"a webhook URL with a key as the user name",
			"sinks:\n  - {name: s, type: webhook, webhook: {url: 'https://" + key + "@soar.example/api/alerts'}}\n",
			[]string{"w.yaml:2: sinks[0].webhook.url: " + userKeyInFile}},
		{"a webhook URL with a password",
			"sinks:\n  - {name: s, type: webhook, webhook: {url: 'https://soar:" + pass + "@soar.example/api/alerts'}}\n",
			[]string{"w.yaml:2: sinks[0].webhook.url: " + passwordInFile}},
		{"a webhook URL with a password from the environment",
			"sinks:\n  - {name: s, type: webhook, webhook: {url: 'https://soar:${FEED_PASS}@soar.example/api/alerts'}}\n", nil},
		{"a HEC URL with a key as the user name",
			"sinks:\n  - {name: s, type: splunk_hec, splunk_hec: {url: 'https://" + key + "@splunk.example:8088/services/collector/event', token: t}}\n",
			[]string{"w.yaml:2: sinks[0].splunk_hec.url: " + userKeyInFile}},

		// A feed over plain http:// whose URL carries a key.
		{"http: a password", feed("http://cti:${FEED_PASS}@feeds.example/iocs.csv"), []string{at(urlKeyPlain)}},
		{"http: a key as the user name", feed("http://${FEED_KEY}@feeds.example/list.txt"), []string{at(urlKeyPlain)}},
		{"http: a credential-like query value", feed("http://feeds.example/iocs.csv?fmt=csv&auth-key=${FEED_KEY}"), []string{at(urlKeyPlain)}},
		{"http: a token-like path segment", feed("http://feeds.example/v2/${FEED_KEY}/full.csv"), []string{at(urlKeyPlain)}},
		{"http: a whole URL from the environment", feed("${PLAIN_URL}"), []string{at(urlKeyPlain)}},
		{"http: a key written in the file warns twice", feed("http://" + key + "@feeds.example/list.txt"), []string{at(userKeyInFile), at(urlKeyPlain)}},
		{"http: a TAXII API root with a key",
			"feeds:\n  - {name: t, type: taxii, url: 'http://taxii.example/${FEED_KEY}/api/', taxii: {collection: c}}\n",
			[]string{at(urlKeyPlain)}},
		{"http: headers and a key in the URL warn once", "feeds:\n  - {name: f, type: http, url: 'http://feeds.example/x?key=${FEED_KEY}', headers: {Auth-Key: k}}\n",
			[]string{at(credsPlain)}},
		{"http: a webhook URL with a password from the environment",
			"sinks:\n  - {name: s, type: webhook, webhook: {url: 'http://soar:${FEED_PASS}@soar.example/api/alerts'}}\n",
			[]string{"w.yaml:2: sinks[0].webhook.url: " + urlKeyPlain}},
		{"http: a webhook URL with a key as the user name from the environment",
			"sinks:\n  - {name: s, type: webhook, webhook: {url: 'http://${FEED_KEY}@soar.example/api/alerts'}}\n",
			[]string{"w.yaml:2: sinks[0].webhook.url: " + urlKeyPlain}},
		{"http: a webhook URL whose path is its key",
			"sinks:\n  - {name: s, type: webhook, webhook: {url: 'http://hooks.example/webhook/${FEED_KEY}'}}\n",
			[]string{"w.yaml:2: sinks[0].webhook.url: " + urlKeyPlain}},
		{"http: a webhook URL with a password written in the file warns twice",
			"sinks:\n  - {name: s, type: webhook, webhook: {url: 'http://soar:" + pass + "@soar.example/api/alerts'}}\n",
			[]string{"w.yaml:2: sinks[0].webhook.url: " + passwordInFile, "w.yaml:2: sinks[0].webhook.url: " + urlKeyPlain}},
		{"http: a webhook URL with headers and a password warns once",
			"sinks:\n  - {name: s, type: webhook, webhook: {url: 'http://soar:${FEED_PASS}@soar.example/api/alerts', headers: {Auth-Key: k}}}\n",
			[]string{"w.yaml:2: sinks[0].webhook.url: " + credsPlain}},
		{"http: a webhook URL without a key",
			"sinks:\n  - {name: s, type: webhook, webhook: {url: 'http://soar.example/api/alerts'}}\n", nil},
		{"http: a public list", feed("http://feeds.example/downloads/ipblocklist_recommended.txt?fmt=txt"), nil},
		{"http: a plain user name", feed("http://soar@feeds.example/list.txt"), nil},
		{"https: a key in the URL", feed("https://feeds.example/iocs.csv?key=${FEED_KEY}"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			yaml := tt.yaml + "source: {type: stdin}\n"
			if !strings.HasPrefix(yaml, "feeds:") {
				yaml += "feeds: [{name: public, type: http, url: 'https://feeds.example/list.txt'}]\n"
			}
			c, err := parse([]byte(yaml), "w.yaml", ".", func(k string) (string, bool) {
				v, ok := env[k]
				return v, ok
			})
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			got := c.Warnings()
			if !slices.Equal(got, tt.want) {
				t.Errorf("Warnings:\n got %q\nwant %q", got, tt.want)
			}
			for _, w := range got {
				if strings.Contains(w, key) || strings.Contains(w, pass) {
					t.Errorf("the warning shows the secret: %q", w)
				}
			}
		})
	}
}
