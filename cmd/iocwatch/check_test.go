package main

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/config"
)

// Feed servers that answer 401 with the credentials they were sent: the
// feed errors that check prints then carry them, in the forms the server
// and the error excerpt chose. None may show: not a credential written in
// the feed's URL (a key= parameter is not a config.Secret), not a header
// value the excerpt quotes (\" and \\), not the start of one the excerpt
// cuts off.
func TestCheckRedactsSecretsAFeedServerEchoes(t *testing.T) {
	echo := func(pad int) string {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, "%sbad key %s for %s (code %s)", strings.Repeat("x", pad), r.Header.Get("X-Api-Key"), r.URL.RawQuery, r.URL.Query().Get("code"))
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	const (
		quoted  = `fake"quoted\key-Hq3Lw8Zr`
		cut     = "fake-cut-key-Wm5Pd2Xs7Nc4"
		inQuery = "fake-query-auth-Tb2Mv9"
		coded   = "fake-query-code@Kd4Ns1" // written percent-encoded in the URL
	)
	t.Setenv("QUOTED_KEY", quoted)
	t.Setenv("CUT_KEY", cut)
	dir := t.TempDir()
	cfg := writeConfig(t, dir, `
source: {type: file, file: {paths: ["{{EVENTS}}"]}}
feeds:
  - {name: sample, path: "{{FEED}}", format: text}
  - name: query
    type: http
    url: "{{URL1}}/feed.txt?auth=`+inQuery+`&code=fake-query-code%40Kd4Ns1"
  - name: quoted
    type: http
    url: "{{URL1}}/feed.txt"
    headers: {X-Api-Key: "${QUOTED_KEY}"}
  - name: cut
    type: http
    url: "{{URL2}}/feed.txt"
    headers: {X-Api-Key: "${CUT_KEY}"}
`, map[string]string{"FEED": assetPath(t, "sample-feed.txt"), "URL1": echo(0),
		"URL2": echo(200 - len("bad key ") - 10), "EVENTS": assetPath(t, "sample-events.jsonl")})
	_, stdout, stderr := runCLI(t, "", "check", "-c", cfg)
	out := stdout + stderr
	if strings.Count(out, "401 Unauthorized") != 3 {
		t.Fatalf("check does not report the three failing feeds:\n%s", out)
	}
	for _, leak := range []string{inQuery, coded, "fake-query-code%40", "Hq3Lw8Zr", cut[:10]} {
		if strings.Contains(out, leak) {
			t.Errorf("check output holds %q:\n%s", leak, out)
		}
	}
	if !strings.Contains(out, "…") {
		t.Errorf("no error excerpt was cut: the test does not test the cut:\n%s", out)
	}
}

// The final error line of run and replay has the config's secrets, and
// the credentials written in its URLs, removed; errors.As still finds
// what the error is (a usage error keeps exit 2).
func TestRedactErrorRemovesTheConfigsSecrets(t *testing.T) {
	cfg := config.Default()
	cfg.Feeds = []config.Feed{{Name: "partner", Type: "http", URL: "https://feeds.example/c2.txt?auth=url-Cred-9Xq2",
		Headers: map[string]config.Secret{"Auth-Key": "hdr-Secret-7Hd3"}}}
	err := redactError(usageError{fmt.Errorf("feed partner: 401: you sent Auth-Key hdr-Secret-7Hd3 to /c2.txt?auth=url-Cred-9Xq2")}, cfg)
	if msg := err.Error(); strings.Contains(msg, "hdr-Secret-7Hd3") || strings.Contains(msg, "url-Cred-9Xq2") || !strings.Contains(msg, "feed partner: 401") {
		t.Errorf("redactError = %q, want the secrets out and the rest kept", msg)
	}
	if !errors.As(err, new(usageError)) {
		t.Errorf("redactError lost the error's kind: %#v", err)
	}
	if plain := errors.New("nothing secret"); redactError(plain, cfg) != plain {
		t.Error("an error without secrets is not returned as it is")
	}
	if redactError(nil, cfg) != nil {
		t.Error("redactError(nil) is not nil")
	}
}
