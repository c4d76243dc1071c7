package main

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/iocwatch/iocwatch/config"
)

// Webhook URLs whose path (or query) is the credential: Slack, Teams,
// Discord, a Power Automate workflow, a HEC gateway. Each secret part is
// long and unlike any other text, so that a leak is found by a substring
// search.
const (
	slackSecret   = "slackSecret-Xq7Lm2Vb9Rt4"
	teamsSecret   = "0123456789abcdef0123456789abcdef"
	discordSecret = "discordTok-Kd8Wq1Ys5Hc4Gx2Zp3"
	logicSig      = "LogicSig-Rb7Vn3Lq9Pw1"
	gatewaySecret = "hecGateway-Sd8Ja5Hu3Fk2"
)

var pathSecrets = []string{slackSecret, teamsSecret, discordSecret, logicSig, gatewaySecret}

const pathSecretSinks = `
source: {type: file, file: {paths: ["{{EVENTS}}"]}}
feeds:
  - {name: sample, path: "{{FEED}}", format: text}
sinks:
  - name: slack
    type: webhook
    webhook: {url: "https://hooks.slack.com/services/T0001AAAA/B0002BBBB/` + slackSecret + `"}
  - name: teams
    type: webhook
    webhook: {url: "https://contoso.webhook.office.com/webhookb2/11111111-2222-3333-4444-555555555555@66666666-7777-8888-9999-000000000000/IncomingWebhook/` + teamsSecret + `/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"}
  - name: discord
    type: webhook
    webhook: {url: "https://discord.com/api/webhooks/112233445566778899/` + discordSecret + `"}
  - name: workflow
    type: webhook
    webhook: {url: "https://prod-01.westeurope.logic.azure.com:443/workflows/0123abcd/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=` + logicSig + `"}
  - name: hec
    type: splunk_hec
    splunk_hec: {url: "https://gw.example/splunk/` + gatewaySecret + `/services/collector/event", token: "5d3c2b1a-hec0-4e5f-9a8b-7c6d5e4f3a2b"}
`

func TestCheckShowConfigHidesTheSecretPartsOfSinkURLs(t *testing.T) {
	cfgPath := writeConfig(t, t.TempDir(), pathSecretSinks, map[string]string{
		"EVENTS": assetPath(t, "sample-events.jsonl"), "FEED": assetPath(t, "sample-feed.txt")})
	code, stdout, stderr := runCLI(t, "", "check", "--show-config", "-c", cfgPath)
	if !strings.Contains(stdout, "effective config:") { // exit 1: the sample feed has refused lines
		t.Fatalf("exit %d without the effective config\n%s%s", code, stdout, stderr)
	}
	for _, s := range pathSecrets {
		if strings.Contains(stdout+stderr, s) {
			t.Errorf("check --show-config shows %q:\n%s", s, stdout)
		}
	}
	for _, want := range []string{
		"url: https://hooks.slack.com/services/…\n",
		"url: https://contoso.webhook.office.com/webhookb2/…\n",
		"url: https://discord.com/api/…\n",
		"url: https://prod-01.westeurope.logic.azure.com:443/workflows/…?…\n",
		"url: https://gw.example/splunk/…\n",
	} {
		if !strings.Contains(stdout, want) {
			t.Errorf("check --show-config lacks %q:\n%s", want, stdout)
		}
	}
}

// A webhook whose URL path is its credential, answering first 503 (a
// retry, logged) and then 404 with the path it was sent (as a web
// framework's error page does): neither the log, nor the alert
// dead-letter file, nor the final error line shows the secret.
func TestAFailedDeliveryShowsNoSecretOfTheWebhookURL(t *testing.T) {
	const path = "/services/T0001AAAA/B0002BBBB/" + slackSecret
	for _, deadLetters := range []bool{true, false} {
		t.Run(fmt.Sprintf("dead_letter_alerts %v", deadLetters), func(t *testing.T) {
			var calls atomic.Int64
			hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				status := http.StatusNotFound
				if calls.Add(1) == 1 {
					status = http.StatusServiceUnavailable
				}
				w.WriteHeader(status)
				fmt.Fprintf(w, "Cannot POST %s", r.URL.Path)
			}))
			defer hook.Close()
			dir := t.TempDir()
			dead := filepath.Join(dir, "dead-alerts.jsonl")
			extra := ""
			if deadLetters {
				extra = "dead_letter_alerts: " + dead
			}
			cfgPath := writeConfig(t, dir, `
source: {type: file, file: {paths: ["{{EVENTS}}"]}}
feeds:
  - {name: sample, path: "{{FEED}}", format: text}
sinks:
  - name: slack
    type: webhook
    retry: {initial: 1ms, max: 5ms}
    webhook: {url: "{{HOOK}}`+path+`"}
metrics: {enabled: false}
log: {format: json}
`+extra+"\n", map[string]string{"EVENTS": assetPath(t, "sample-events.jsonl"), "FEED": assetPath(t, "sample-feed.txt"), "HOOK": hook.URL})
			code, stdout, stderr := runCLI(t, "", "run", "-c", cfgPath)
			deadText, _ := os.ReadFile(dead)
			for where, text := range map[string]string{"stdout": stdout, "stderr": stderr, "the dead-letter file": string(deadText)} {
				for _, s := range []string{slackSecret, "B0002BBBB"} {
					if strings.Contains(text, s) {
						t.Errorf("%s holds %q:\n%s", where, s, text)
					}
				}
			}
			// What shows instead: the endpoint, and the peer's answer with
			// the path scrubbed (all of it: its first segment too).
			if !strings.Contains(stderr, "sink delivery failed; retrying") || !strings.Contains(stderr, hook.URL+"/services/…: 503") {
				t.Errorf("the log lacks the retry naming the endpoint:\n%s", stderr)
			}
			refused := stderr
			if deadLetters {
				refused = string(deadText)
				if code != exitOK {
					t.Errorf("exit %d with a dead-letter file\n%s", code, stderr)
				}
			} else if code == exitOK {
				t.Errorf("exit %d: the refusal did not stop the run\n%s", code, stderr)
			}
			if !strings.Contains(refused, hook.URL+"/services/…: 404 Not Found: Cannot POST [redacted]") {
				t.Errorf("the refusal does not name the endpoint and the scrubbed answer:\n%s", refused)
			}
		})
	}
}

// The log redactor knows the hidden parts of the sinks' URLs too, for a
// line that would print a URL whole.
func TestConfigSecretsHoldTheHiddenPartsOfSinkURLs(t *testing.T) {
	cfg, err := config.Load(writeConfig(t, t.TempDir(), pathSecretSinks, map[string]string{
		"EVENTS": assetPath(t, "sample-events.jsonl"), "FEED": assetPath(t, "sample-feed.txt")}))
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(configSecrets(cfg), "|")
	for _, s := range pathSecrets {
		if !strings.Contains(got, s) {
			t.Errorf("configSecrets misses %s (got %q)", s, got)
		}
	}
	var line strings.Builder
	newOpsLogger(&line, cfg).Warn("a careless line", "url", "https://hooks.slack.com/services/T0001AAAA/B0002BBBB/"+slackSecret)
	if strings.Contains(line.String(), slackSecret) {
		t.Errorf("the log shows the Slack secret: %s", line.String())
	}
}
