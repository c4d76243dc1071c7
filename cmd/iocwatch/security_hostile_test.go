package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/stream/kafka/embedded"
)

// Secrets in a hostile environment: every secret a config can hold, given
// through ${ENV} or written in the file, against peers that echo whatever
// credentials they receive into their error answers. No secret may show in
// anything iocwatch writes: check's output, the effective config, run's
// log and final error, the alert dead-letter file, /metrics.

// testSecrets are the values the hostile config carries; each is long and
// unlike any other text, so that a leak is found by a substring search.
var testSecrets = map[string]string{
	"KAFKA_PW":    "kafka-pw-7Qx9Lm2Rt4Vb",
	"HOOK_TOKEN":  "hook-token-Zp3Kd8Wq1Ys5",
	"HOOK_HMAC":   "hook-hmac-Jm6Tn0Hc4Gx2",
	"HEC_TOKEN":   "5d3c2b1a-hec0-4e5f-9a8b-7c6d5e4f3a2b",
	"FEED_KEY":    "feed-key-Rb7Vn3Lq9Pw1",
	"METRICS_TOK": "metrics-tok-Fk2Ds8Ja5Hu3",
	"TAXII_PW":    "taxii-pw-Ye4Mc1Xn6Bv8",
}

// literalSecret is written in the config file itself, not through ${ENV}.
const literalSecret = "literal-secret-Uw5Gq0Ko7Si2"

// echoServer answers every request with status and a body that repeats
// the request's headers, URL and body: the worst peer for leaks.
func echoServer(t *testing.T, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(io.LimitReader(r.Body, 4096))
		w.WriteHeader(status)
		fmt.Fprintf(w, "refused %s %s\nheaders: %v\nbody: %s\n", r.Method, r.URL, r.Header, body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func freePort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

const secretsConfig = `
source:
  type: kafka
  kafka:
    brokers: ["{{BROKER}}"]
    topics: [defender]
    group: secrets
    max_wait: 200ms
    sasl: {mechanism: plain, username: iocwatch, password: "${KAFKA_PW}"}
feeds:
  - {name: sample, path: "{{FEED}}", format: text}
  - name: remote
    type: http
    url: "{{FEEDURL}}/feed.txt"
    headers: {Auth-Key: "${FEED_KEY}", X-Literal: "` + literalSecret + `"}
  - name: taxii
    type: taxii
    url: "{{FEEDURL}}/taxii2/root/"
    taxii: {collection: c2, username: analyst, password: "${TAXII_PW}"}
exclusions_files: ["{{EXCLUSIONS}}"]
suppression: {window: 0s}
dead_letter_alerts: "{{DEADALERTS}}"
sinks:
  - name: soar
    type: webhook
    webhook:
      url: "{{HOOKURL}}/alerts"
      headers: {Authorization: "Bearer ${HOOK_TOKEN}"}
      hmac_secret: "${HOOK_HMAC}"
    retry: {initial: 50ms, max: 200ms}
  - name: splunk
    type: splunk_hec
    splunk_hec: {url: "{{HECURL}}/services/collector/event", token: "${HEC_TOKEN}"}
    retry: {initial: 50ms, max: 200ms}
metrics:
  listen: "{{METRICS}}"
  bearer_token: "${METRICS_TOK}"
`

func secretEnv() []string {
	var env []string
	for k, v := range testSecrets {
		env = append(env, k+"="+v)
	}
	return env
}

// findSecrets returns the secrets that text holds, naming where.
func findSecrets(where, text string) []string {
	var leaks []string
	for k, v := range testSecrets {
		if strings.Contains(text, v) {
			leaks = append(leaks, fmt.Sprintf("%s holds %s", where, k))
		}
	}
	if strings.Contains(text, literalSecret) {
		leaks = append(leaks, where+" holds the literal secret")
	}
	if strings.Contains(text, base64.StdEncoding.EncodeToString([]byte("analyst:"+testSecrets["TAXII_PW"]))) {
		leaks = append(leaks, where+" holds the TAXII basic-auth credentials in base64")
	}
	return leaks
}

func writeSecretsConfig(t *testing.T, brokerAddr string) (cfgPath, deadAlerts, metricsAddr string) {
	t.Helper()
	dir := t.TempDir()
	deadAlerts = filepath.Join(dir, "dead-alerts.jsonl")
	metricsAddr = freePort(t)
	cfgPath = writeConfig(t, dir, secretsConfig, map[string]string{
		"BROKER": brokerAddr, "FEED": assetPath(t, "sample-feed.txt"), "EXCLUSIONS": assetPath(t, "exclusions.yaml"),
		"FEEDURL": echoServer(t, http.StatusUnauthorized).URL, "HOOKURL": echoServer(t, http.StatusBadRequest).URL,
		"HECURL": echoServer(t, http.StatusForbidden).URL, "DEADALERTS": deadAlerts, "METRICS": metricsAddr,
	})
	return cfgPath, deadAlerts, metricsAddr
}

func TestCheckShowsNoSecretAndWarnsAboutAWorldReadableConfig(t *testing.T) {
	for k, v := range testSecrets {
		t.Setenv(k, v)
	}
	cfgPath, _, _ := writeSecretsConfig(t, "127.0.0.1:9")
	for _, args := range [][]string{{"check", "-c", cfgPath}, {"check", "--show-config", "-c", cfgPath}} {
		_, stdout, stderr := runCLI(t, "", args...)
		for _, leak := range findSecrets(strings.Join(args, " "), stdout+stderr) {
			t.Error(leak)
		}
		if strings.Contains(stdout, "readable by every user") {
			t.Errorf("%v warns about a config of mode 0600:\n%s", args, stdout)
		}
		if args[1] == "--show-config" && !strings.Contains(stdout, "[redacted]") {
			t.Errorf("the effective config shows no [redacted] secret:\n%s", stdout)
		}
	}
	// Readable by every user, with a secret written in clear: warned.
	if err := os.Chmod(cfgPath, 0o644); err != nil {
		t.Fatal(err)
	}
	_, stdout, _ := runCLI(t, "", "check", "-c", cfgPath)
	if !strings.Contains(stdout, "readable by every user (mode -rw-r--r--)") || !strings.Contains(stdout, "chmod 600") {
		t.Errorf("check does not warn about a world-readable config holding a literal secret:\n%s", stdout)
	}
	for _, leak := range findSecrets("check of a world-readable config", stdout) {
		t.Error(leak)
	}
}

func TestCheckFlagsAnExclusionThatNamesAProcessWithoutItsPath(t *testing.T) {
	dir := t.TempDir()
	excl := filepath.Join(dir, "exclusions.yaml")
	if err := os.WriteFile(excl, []byte(`exclusions:
- name: any-svchost
  reason: management traffic
  when:
    process_name: [svchost.exe]
- name: pinned-svchost
  reason: management traffic
  when:
    process_name: [svchost.exe]
    process_path: ['c:\windows\system32\svchost.exe']
`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, stdout, stderr := runCLI(t, "", "check", "--feed", assetPath(t, "sample-feed.txt"), "--exclusions", excl)
	var flagged []string
	for _, line := range strings.Split(stdout, "\n") {
		if strings.Contains(line, "process_name without process_path") {
			flagged = append(flagged, line)
		}
	}
	if len(flagged) != 1 || !strings.Contains(flagged[0], "any-svchost") && !strings.Contains(flagged[0], excl) {
		t.Errorf("want exactly the rule without a path flagged, got %q\n%s%s", flagged, stdout, stderr)
	}
}

// A run against peers that echo credentials: the Kafka source
// authenticates with SASL, the webhook (400), Splunk HEC (403) and both
// remote feeds (401) answer with the credentials they were sent. Nothing
// iocwatch writes holds a secret.
func TestARunAgainstPeersThatEchoCredentialsWritesNoSecret(t *testing.T) {
	b, err := embedded.Start(embedded.BrokerOptions{Topics: []embedded.Topic{{Name: "defender", Partitions: 2}},
		Users: []embedded.User{{Mechanism: "plain", Name: "iocwatch", Password: testSecrets["KAFKA_PW"]}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	cfgPath, deadAlerts, metricsAddr := writeSecretsConfig(t, b.Addr())
	g := sampleGenerator(t, 5)
	var msgs [][]byte
	for range 200 {
		m, _ := g.Next(nil)
		msgs = append(msgs, m)
	}
	if err := b.Produce(t.Context(), "defender", 0, msgs...); err != nil {
		t.Fatal(err)
	}
	iocwatchBinary(t)
	w := startIocwatch(t, secretEnv(), "run", "-c", cfgPath)
	faultWait(t, 20*time.Second, "alerts refused into the dead-letter file", func() (bool, string) {
		data, _ := os.ReadFile(deadAlerts)
		return strings.Count(string(data), "\n") >= 5 || w.exited(), fmt.Sprintf("%d dead-lettered alerts", strings.Count(string(data), "\n"))
	})
	metrics := scrape(t, "http://"+metricsAddr+"/metrics", testSecrets["METRICS_TOK"])
	status := scrape(t, "http://"+metricsAddr+"/", testSecrets["METRICS_TOK"])
	code := w.stop(t, syscall.SIGTERM)
	dead, _ := os.ReadFile(deadAlerts)
	for _, leak := range append(append(append(append(
		findSecrets("run's stderr", w.stderr.String()),
		findSecrets("run's stdout", w.stdout.String())...),
		findSecrets("the alert dead-letter file", string(dead))...),
		findSecrets("/metrics", metrics)...),
		findSecrets("the status page", status)...) {
		t.Error(leak)
	}
	if !strings.Contains(string(dead), "refused") {
		t.Errorf("the dead-letter file does not hold the peers' (echoing) answers, so the test proved nothing:\n%.2000s", dead)
	}
	t.Logf("exit %d; %d bytes of log, %d of dead letters, %d of metrics", code, len(w.stderr.String()), len(dead), len(metrics))
}

// scrape GETs url with a bearer token; "" when nothing answers.
func scrape(t *testing.T, url, token string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Logf("GET %s: %v", url, err)
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// What a panic or a careless log line would print of a loaded config:
// every fmt verb, JSON and the effective YAML, for a config holding every
// kind of secret.
func TestALoadedConfigPrintsNoSecretWhateverTheVerb(t *testing.T) {
	for k, v := range testSecrets {
		t.Setenv(k, v)
	}
	cfgPath, _, _ := writeSecretsConfig(t, "127.0.0.1:9")
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		for _, leak := range findSecrets(verb, fmt.Sprintf(verb, *cfg)) {
			t.Error(leak)
		}
	}
	for _, leak := range findSecrets("Redacted()", cfg.Redacted()) {
		t.Error(leak)
	}
}
