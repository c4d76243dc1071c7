package config

import (
	"fmt"
	"strings"
	"testing"
)

// A sink's URL is often the credential itself, in its path or its query:
// the effective configuration shows only scheme://host, the first path
// segment when it is a plain word followed by more, and "…" for the rest.
func TestRedactedHidesTheSecretPartsOfSinkURLs(t *testing.T) {
	for _, tc := range []struct {
		name, url, shown string
		secrets          []string
	}{
		{"slack", "https://hooks.slack.com/services/T0001AAAA/B0002BBBB/slackSecretXq7Lm2Vb9Rt4",
			"https://hooks.slack.com/services/…", []string{"slackSecretXq7Lm2Vb9Rt4", "B0002BBBB"}},
		{"teams", "https://contoso.webhook.office.com/webhookb2/11111111-2222-3333-4444-555555555555@66666666-7777-8888-9999-000000000000/IncomingWebhook/0123456789abcdef0123456789abcdef/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
			"https://contoso.webhook.office.com/webhookb2/…", []string{"0123456789abcdef0123456789abcdef", "IncomingWebhook"}},
		{"power automate", "https://prod-01.westeurope.logic.azure.com:443/workflows/0123abcd/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=LogicSig-Rb7Vn3Lq9Pw1",
			"https://prod-01.westeurope.logic.azure.com:443/workflows/…?…", []string{"LogicSig-Rb7Vn3Lq9Pw1", "0123abcd"}},
		{"discord", "https://discord.com/api/webhooks/112233445566778899/discordTok-Kd8Wq1Ys5Hc4Gx2Zp3",
			"https://discord.com/api/…", []string{"discordTok-Kd8Wq1Ys5Hc4Gx2Zp3", "112233445566778899"}},
		{"a token in the query", "https://soar.example/api/alerts?format=json&token=QueryTok-Mc1Xn6Bv8",
			"https://soar.example/api/…?…", []string{"QueryTok-Mc1Xn6Bv8", "format=json"}},
		{"a password", "https://soar:UrlPw-Ye4Mc1Xn6Bv8@soar.example/", "https://soar.example/", []string{"UrlPw-Ye4Mc1Xn6Bv8", "soar@"}},
		{"a key as the user", "https://UserKey-Jq4Wz8Xc2Vb6Nm1@soar.example/api/alerts", "https://soar.example/api/…", []string{"UserKey-Jq4Wz8Xc2Vb6Nm1"}},
		{"a host alone", "https://soar.example", "https://soar.example", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Sinks = []Sink{{Name: "out", Type: "webhook", Webhook: WebhookSink{URL: tc.url}}}
			checkRedactedURL(t, c, tc.shown, tc.secrets, func(c *Config) string { return c.Sinks[0].Webhook.URL })
		})
	}
}

// Splunk's HEC paths are not secret and shown whole; a gateway prefix in
// front of them is hidden as any other path.
func TestRedactedShowsSplunkHECPathsWhole(t *testing.T) {
	for url, shown := range map[string]string{
		"https://splunk.example:8088/services/collector/event":             "https://splunk.example:8088/services/collector/event",
		"https://splunk.example:8088/services/collector":                   "https://splunk.example:8088/services/collector",
		"https://splunk.example:8088":                                      "https://splunk.example:8088",
		"https://gw.example/hecTok-Sd8Ja5Hu3Fk2/services/collector/event":  "https://gw.example/…",
		"https://gw.example/splunk/Sd8Ja5Hu3Fk2/services/collector/event/": "https://gw.example/splunk/…",
	} {
		c := Default()
		c.Sinks = []Sink{{Name: "hec", Type: "splunk_hec", SplunkHEC: SplunkHECSink{URL: url, Token: "t"}}}
		out := c.Redacted()
		if !strings.Contains(out, "url: "+shown+"\n") {
			t.Errorf("Redacted() does not show %q as %q:\n%s", url, shown, out)
		}
		if strings.Contains(out, "Sd8Ja5Hu3Fk2") {
			t.Errorf("Redacted() shows the gateway's secret:\n%s", out)
		}
	}
}

// A feed's URL is shown whole but for its credentials: the password,
// credential-like query values, and path segments and query values that
// look like tokens (an API key in the path, as abuse.ch and some
// commercial feeds take it).
func TestRedactedHidesTheCredentialsOfFeedURLs(t *testing.T) {
	for _, tc := range []struct {
		name, url, shown string
		secrets          []string
	}{
		{"a key in the path", "https://feeds.example.com/api/v1/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c/ip-blocklist.txt",
			"https://feeds.example.com/api/v1/[redacted]/ip-blocklist.txt", []string{"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c"}},
		{"an abuse.ch auth key in the path", "https://threatfox-api.abuse.ch/v2/files/exports/Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1/full.csv.zip",
			"https://threatfox-api.abuse.ch/v2/files/exports/[redacted]/full.csv.zip", []string{"Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1"}},
		{"a password and a key=", "https://cti:UrlPass-Wd3Hx6Kp9@feeds.example/iocs.csv?fmt=csv&auth-key=QueryKey-Tn5Rc8Vb1",
			"https://cti:[redacted]@feeds.example/iocs.csv?fmt=csv&auth-key=[redacted]", []string{"UrlPass-Wd3Hx6Kp9", "QueryKey-Tn5Rc8Vb1"}},
		{"a public feed", "https://feodotracker.abuse.ch/downloads/ipblocklist_recommended.txt",
			"https://feodotracker.abuse.ch/downloads/ipblocklist_recommended.txt", nil},
		{"a key as the user", "https://UserKey-Jq4Wz8Xc2Vb6Nm1@feeds.example.com/list.txt",
			"https://[redacted]@feeds.example.com/list.txt", []string{"UserKey-Jq4Wz8Xc2Vb6Nm1"}},
		{"a key as the user with an empty password", "https://UserKey-Jq4Wz8Xc2Vb6Nm1:@feeds.example.com/list.txt",
			"https://[redacted]:[redacted]@feeds.example.com/list.txt", []string{"UserKey-Jq4Wz8Xc2Vb6Nm1"}},
		{"a plain user name", "https://soar@feeds.example.com/list.txt", "https://soar@feeds.example.com/list.txt", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			c.Feeds = []Feed{{Name: "f", Type: "http", URL: tc.url}}
			checkRedactedURL(t, c, tc.shown, tc.secrets, func(c *Config) string { return c.Feeds[0].URL })
			// fmt shows the feed, and a config holding it, the same way.
			for _, out := range []string{fmt.Sprintf("%+v", c.Feeds[0]), fmt.Sprintf("%#v", c.Feeds[0]), fmt.Sprintf("%v", *c), fmt.Sprintf("%d", c)} {
				for _, s := range tc.secrets {
					if strings.Contains(out, s) {
						t.Errorf("fmt shows %q:\n%s", s, out)
					}
				}
			}
		})
	}
}

// checkRedactedURL checks that c.Redacted() shows the URL url picks as
// shown, none of secrets, and that the rendering parses back to a config
// whose URL is shown again.
func checkRedactedURL(t *testing.T, c *Config, shown string, secrets []string, url func(*Config) string) {
	t.Helper()
	out := c.Redacted()
	if !strings.Contains(out, "url: "+shown+"\n") {
		t.Errorf("Redacted() does not show the URL as %q:\n%s", shown, out)
	}
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("Redacted() shows %q:\n%s", s, out)
		}
	}
	again, err := Parse([]byte(out), "redacted.yaml")
	if err != nil {
		t.Fatalf("Parse(Redacted()): %v\n%s", err, out)
	}
	if got := url(again); got != shown {
		t.Errorf("Parse(Redacted()) reads the URL as %q, want %q", got, shown)
	}
}
