package config

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
)

// A configuration holding every kind of secret: Secrets, sink URLs whose
// path or query is the credential, and feed URLs with a password, a key=
// parameter or a key in the path. Each secret part is unlike any other
// text, so that a leak is found by a substring search.
const everySecretYAML = `
source:
  type: eventhubs
  eventhubs:
    connection_string: "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=listen;SharedAccessKey=EhKey-Zq8Wm3Rt6Yp1"
    hub: defender
    checkpoint:
      container_url: "https://acct.blob.core.windows.net/iocwatch?sv=2022-11-02&sig=SasSig-Hk3Jd8Mn5Wq2"
feeds:
  - name: pathkey
    type: http
    url: https://feeds.example.com/api/v1/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c/ip-blocklist.txt
  - name: threatfox
    type: http
    url: https://threatfox-api.abuse.ch/v2/files/exports/Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1/full.csv.zip
  - name: querykey
    type: http
    url: https://feeds.example.net/iocs.csv?fmt=csv&auth-key=QueryKey-Tn5Rc8Vb1
    headers: {Authorization: "Bearer HdrTok-Pw2Lk7Jh4"}
  - name: userinfo
    type: http
    url: https://cti:UrlPass-Wd3Hx6Kp9@feeds.example.org/iocs.txt
  - name: taxii
    type: taxii
    url: https://taxii.example/api1/
    taxii: {collection: c2, token: TaxiiTok-Gf5Ds2Aq8}
sinks:
  - name: slack
    type: webhook
    webhook: {url: "https://hooks.slack.com/services/T0001AAAA/B0002BBBB/slackSecret-Xq7Lm2Vb9Rt4"}
  - name: teams
    type: webhook
    webhook: {url: "https://contoso.webhook.office.com/webhookb2/11111111-2222-3333-4444-555555555555@66666666-7777-8888-9999-000000000000/IncomingWebhook/0123456789abcdef0123456789abcdef/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}
  - name: discord
    type: webhook
    webhook:
      url: "https://discord.com/api/webhooks/112233445566778899/discordTok-Kd8Wq1Ys5Hc4Gx2Zp3"
      hmac_secret: HmacKey-Bn4Mv7Cx1
      headers: {X-Api-Key: SinkHdr-Qa9Ws2Ed5}
  - name: workflow
    type: webhook
    webhook: {url: "https://prod-01.westeurope.logic.azure.com:443/workflows/0123abcd/triggers/manual/paths/invoke?api-version=2016-06-01&sv=1.0&sig=LogicSig-Rb7Vn3Lq9Pw1"}
  - name: hec
    type: splunk_hec
    splunk_hec: {url: "https://gw.example/splunk/hecGateway-Sd8Ja5Hu3Fk2/services/collector/event", token: HecTok-Ui6Yt3Re0}
  - name: bus
    type: kafka
    kafka: {brokers: ["k1:9093"], sasl: {mechanism: plain, username: u, password: SaslPw-Lo9Ki8Ju7}}
metrics:
  basic_auth: {username: prom, password: MetricsPw-Nh6Bg5Vf4}
`

// The secret parts of everySecretYAML.
var everySecret = []string{
	"EhKey-Zq8Wm3Rt6Yp1", "SasSig-Hk3Jd8Mn5Wq2",
	"9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c", "Ak7Pq2Wm9Zx4Lr8Tn3Vb6Hc1",
	"QueryKey-Tn5Rc8Vb1", "HdrTok-Pw2Lk7Jh4", "UrlPass-Wd3Hx6Kp9", "TaxiiTok-Gf5Ds2Aq8",
	"slackSecret-Xq7Lm2Vb9Rt4", "0123456789abcdef0123456789abcdef", "discordTok-Kd8Wq1Ys5Hc4Gx2Zp3",
	"HmacKey-Bn4Mv7Cx1", "SinkHdr-Qa9Ws2Ed5", "LogicSig-Rb7Vn3Lq9Pw1", "hecGateway-Sd8Ja5Hu3Fk2",
	"HecTok-Ui6Yt3Re0", "SaslPw-Lo9Ki8Ju7", "MetricsPw-Nh6Bg5Vf4",
}

// Printing a loaded configuration with fmt — log.Printf("%+v", cfg) —
// shows what Redacted shows of its URLs, never their secret parts.
func TestFmtOfAConfigShowsNoSecret(t *testing.T) {
	c, err := Parse([]byte(everySecretYAML), "iocwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]any{
		"*Config": c, "Config": *c, "Feeds": c.Feeds, "Feed": c.Feeds[0], "*Feed": &c.Feeds[1],
		"Sinks": c.Sinks, "Sink": c.Sinks[0], "WebhookSink": c.Sinks[2].Webhook, "*SplunkHECSink": &c.Sinks[4].SplunkHEC,
		"Source": c.Source, "Checkpoint": c.Source.EventHubs.Checkpoint,
	}
	for name, v := range values {
		for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%20v", "%d"} {
			if strings.HasSuffix(name, "Feed") || name == "Feeds" {
				if verb == "%d" {
					continue // Feed has String, not Format (see Feed.String)
				}
			}
			out := fmt.Sprintf(verb, v)
			for _, s := range everySecret {
				if strings.Contains(out, s) || strings.Contains(out, fmt.Sprintf("%x", s)) {
					t.Errorf("fmt.Sprintf(%q, %s) shows %s:\n%s", verb, name, s, out)
				}
			}
		}
	}
	// Printing works on copies: the configuration still holds every URL
	// as written (Config.Format must not write the shown forms into the
	// Feeds it shares with the caller).
	if fresh, err := Parse([]byte(everySecretYAML), "iocwatch.yaml"); err != nil || !equalConfigs(c, fresh) {
		t.Errorf("printing changed the configuration: feeds[0].url = %q, sinks[0].webhook.url = %q", c.Feeds[0].URL, c.Sinks[0].Webhook.URL)
	}
	// What is not secret is still there, and %#v names the types.
	out := fmt.Sprintf("%+v", c)
	for _, want := range []string{
		"Name:pathkey", "https://feeds.example.com/api/v1/[redacted]/ip-blocklist.txt",
		"https://threatfox-api.abuse.ch/v2/files/exports/[redacted]/full.csv.zip",
		"https://feeds.example.net/iocs.csv?fmt=csv&auth-key=[redacted]", "https://cti:[redacted]@feeds.example.org/iocs.txt",
		"https://hooks.slack.com/services/…", "https://discord.com/api/…", "https://gw.example/splunk/…",
		"https://prod-01.westeurope.logic.azure.com:443/workflows/…?…", "https://acct.blob.core.windows.net/iocwatch?sv=2022-11-02&sig=[redacted]",
		"Hub:defender",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("%%+v lacks %q:\n%s", want, out)
		}
	}
	gosyntax := fmt.Sprintf("%#v", *c)
	for _, want := range []string{"config.Feed{Name:\"pathkey\"", "config.WebhookSink{URL:\"https://hooks.slack.com/services/…\"",
		"config.SplunkHECSink{URL:", "config.Checkpoint{ContainerURL:"} {
		if !strings.Contains(gosyntax, want) {
			t.Errorf("%%#v lacks %q:\n%s", want, gosyntax)
		}
	}
}

// Every struct of the schema with a URL field prints it as Redacted
// shows it: a new URL field in a type without a Format method (or, for
// Feed, whose Format field rules one out, String and GoString) fails
// here.
func TestEveryTypeWithAURLIsSafeUnderFmt(t *testing.T) {
	formatter := reflect.TypeFor[fmt.Formatter]()
	stringers := typ(Feed{}).Implements(reflect.TypeFor[fmt.Stringer]()) && typ(Feed{}).Implements(reflect.TypeFor[fmt.GoStringer]())
	if !typ(Config{}).Implements(formatter) || !stringers {
		t.Error("Config has no Format method, or Feed no String and GoString")
	}
	for typ, fields := range schema {
		for _, f := range fields {
			sf := typ.Field(f.index)
			if (f.endpoint || strings.HasSuffix(sf.Name, "URL")) && !typ.Implements(formatter) && typ != reflect.TypeFor[Feed]() {
				t.Errorf("%s.%s is a URL, and %s has no Format method", typ.Name(), sf.Name, typ.Name())
			}
		}
	}
}

func typ(v any) reflect.Type { return reflect.TypeOf(v) }
