package main

import (
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/config"
)

// An allow-list entry is an indicator to compare with, not a credential
// iocwatch sends: a URL there whose path holds a token-like part (a
// tenant id, a hash) is printed as written by lookup and check, while a
// feed URL's key in the same config is still hidden.
func TestAnAllowListedURLIsShownAsWritten(t *testing.T) {
	const (
		allowed = "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/token"
		feedKey = "c0ffee5ea1d7e2b94f3a8d6c1b0e9f7a2d4c6b8e0a1f3e5d"
	)
	cfgPath := writeConfig(t, t.TempDir(), `
source: {type: file, file: {paths: ["{{EVENTS}}"]}}
feeds:
  - {name: sample, path: "{{FEED}}", format: text}
allowlist: ["`+allowed+`"]
sinks:
  - {name: out, type: stdout}
metrics: {enabled: false}
`, map[string]string{"EVENTS": assetPath(t, "sample-events.jsonl"), "FEED": assetPath(t, "sample-feed.txt")})

	_, stdout, stderr := runCLI(t, "", "lookup", "-c", cfgPath, allowed)
	if !strings.Contains(stdout, allowed+": 0 matching indicators") || !strings.Contains(stdout, "allow-listed by url "+allowed+":") {
		t.Errorf("lookup does not name the allow-listed URL as written:\n%s%s", stdout, stderr)
	}
	_, stdout, stderr = runCLI(t, "", "check", "--show-config", "-c", cfgPath)
	if !strings.Contains(stdout, "allowlist: ['"+allowed+"']") {
		t.Errorf("check --show-config does not show the allow-list entry as written:\n%s%s", stdout, stderr)
	}

	// The log redactor still takes a feed URL's key, and only the URLs
	// iocwatch sends something to.
	cfg, err := config.Parse([]byte(`
source: {type: file, file: {paths: [events.jsonl]}}
feeds:
  - {name: keyed, type: http, url: "https://feeds.example/api/v1/`+feedKey+`/ip-blocklist.txt"}
allowlist: ["`+allowed+`"]
`), "iocwatch.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got := configSecrets(cfg)
	if !strings.Contains(strings.Join(got, "|"), feedKey) {
		t.Errorf("configSecrets misses the feed URL's key: %q", got)
	}
	for _, s := range got {
		if strings.Contains(allowed, s) {
			t.Errorf("configSecrets takes %q of the allow-listed URL for a secret", s)
		}
	}
}
