package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A feed URL may carry its key in the path (…/api/v1/<key>/…): check
// --show-config, check's feed lines and a run's log name the URL without
// it, also where the feed server's error page repeats the path.
func TestAFeedKeyInTheURLPathIsShownNowhere(t *testing.T) {
	const key = "c0ffee5ea1d7e2b94f3a8d6c1b0e9f7a2d4c6b8e0a1f3e5d"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Cannot GET "+r.URL.Path, http.StatusNotFound)
	}))
	t.Cleanup(srv.Close)
	cfgPath := writeConfig(t, t.TempDir(), `
source: {type: file, file: {paths: ["{{EVENTS}}"]}}
feeds:
  - {name: sample, path: "{{FEED}}", format: text}
  - {name: keyed, type: http, url: "{{URL}}/api/v1/`+key+`/ip-blocklist.txt"}
sinks:
  - {name: out, type: stdout}
metrics: {enabled: false}
`, map[string]string{"EVENTS": assetPath(t, "sample-events.jsonl"), "FEED": assetPath(t, "sample-feed.txt"), "URL": srv.URL})
	shown := srv.URL + "/api/v1/[redacted]/ip-blocklist.txt"

	_, stdout, stderr := runCLI(t, "", "check", "--show-config", "-c", cfgPath)
	if !strings.Contains(stdout, "url: "+shown) || !strings.Contains(stdout+stderr, "keyed") || !strings.Contains(stdout+stderr, "404") {
		t.Errorf("check does not show the URL as %s, or the failing feed:\n%s%s", shown, stdout, stderr)
	}
	if strings.Contains(stdout+stderr, key) {
		t.Errorf("check shows the key:\n%s%s", stdout, stderr)
	}

	_, stdout, stderr = runCLI(t, "", "run", "-c", cfgPath)
	if !strings.Contains(stderr, "keyed") || !strings.Contains(stderr, "404") {
		t.Fatalf("the log does not report the failing feed:\n%s", stderr)
	}
	if strings.Contains(stdout+stderr, key) {
		t.Errorf("the run shows the key:\n%s\n---\n%s", stdout, stderr)
	}
}
