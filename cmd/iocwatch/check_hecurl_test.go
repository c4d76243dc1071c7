package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/sink"
)

// check refuses the Splunk HEC URLs that run refuses at start — those
// sink.NewHEC refuses without contacting Splunk: a URL ending in another
// of HEC's endpoints than the event endpoint, and one that does not parse
// again once written out for a request. Like every other problem of the
// config, each is named by its file, line and key path, exit 2, and shows
// none of the URL's secrets (password, path token, query).
func TestCheckRefusesTheHECURLsRunRefuses(t *testing.T) {
	const pass, gw, tok = "pw-Qx7Lm2Vb9Rt4", "gatewayTok-Hc4Gx2Zp3Kd8", "qTok-Ab3Cd4Ef5Gh6Ij7"
	secret := func(host, path string) string {
		return "https://soar:" + pass + "@" + host + "/gw/" + gw + path + "?token=" + tok
	}
	feed := filepath.Join(t.TempDir(), "c2.txt")
	if err := os.WriteFile(feed, []byte("203.0.113.5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url string
		want      string // in the problem; "" when check accepts the URL
	}{
		{"the raw endpoint", "https://splunk.example:8088/services/collector/raw", "is HEC's raw endpoint"},
		{"the versioned raw endpoint behind secrets", secret("splunk.example:8088", "/services/collector/raw/1.0"), "is HEC's raw endpoint"},
		{"the acknowledgement endpoint", "https://splunk.example:8088/services/collector/ack", "is HEC's indexer acknowledgement endpoint"},
		{"the health endpoint", "https://splunk.example:8088/splunk/services/collector/health/1.0", "is HEC's health endpoint"},
		{"the MINT endpoint", secret("splunk.example:8088", "/services/collector/mint"), "is HEC's deprecated MINT endpoint"},
		{"an IPv6 zone outside ASCII", "https://[fe80::1%25eth\u00e9]:8088/services/collector", "an IPv6 zone must be ASCII"},
		{"an IPv6 zone outside ASCII behind secrets", secret("[fe80::1%25eth\u00e9]:8088", "/services/collector"), "an IPv6 zone must be ASCII"},
		// Guards: URLs run takes are taken.
		{"the event endpoint behind secrets", secret("splunk.example:8088", "/services/collector/event"), ""},
		{"a proxy route ending in /event", "https://splunk.example:8088/myproxy/event", ""},
		{"an IPv6 zone in ASCII", "https://[fe80::1%25eth0]:8088/services/collector/event/1.0", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, nerr := sink.NewHEC(sink.HECOptions{URL: tc.url, Token: "t"})
			if (nerr != nil) != (tc.want != "") {
				t.Fatalf("NewHEC(%q) = %v: the case does not hold", tc.url, nerr)
			}
			cfg := writeConfig(t, t.TempDir(), `source: {type: file, file: {paths: ["{{EVENTS}}"]}}
feeds:
  - {name: c2, path: "{{FEED}}"}
sinks:
  - {name: out, type: stdout}
  - name: splunk
    type: splunk_hec
    splunk_hec:
      url: "{{URL}}"
      token: t
`, map[string]string{"EVENTS": assetPath(t, "sample-events.jsonl"), "FEED": feed, "URL": tc.url})
			code, stdout, stderr := runCLI(t, "", "check", "-c", cfg)
			if tc.want == "" {
				if code != exitOK {
					t.Fatalf("check of %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", tc.url, code, exitOK, stdout, stderr)
				}
				return
			}
			if code != exitUsage {
				t.Fatalf("check of %s: exit %d, want %d (run refuses it: %v)\nstdout:\n%s\nstderr:\n%s", tc.url, code, exitUsage, nerr, stdout, stderr)
			}
			if want := cfg + ":9: sinks[1].splunk_hec.url: "; !strings.Contains(stderr, want) || !strings.Contains(stderr, tc.want) {
				t.Errorf("check's error does not say %q at %q:\n%s", tc.want, want, stderr)
			}
			if strings.Contains(stdout, ": valid") {
				t.Errorf("check calls the config valid:\n%s", stdout)
			}
			for _, s := range []string{pass, gw, tok} {
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("check's output holds %q:\n%s%s", s, stdout, stderr)
				}
			}
		})
	}
}

// A Splunk HEC URL that run would refuse is a problem of the config like
// any other: check and run report it when they load the config, together
// with the problems config.Validate finds, in file order, each at its
// file, line and key — not only once the others are mended, nor (for run)
// once the feeds are loaded.
func TestHECURLProblemsComeWithTheConfigsOthers(t *testing.T) {
	feed := filepath.Join(t.TempDir(), "c2.txt")
	if err := os.WriteFile(feed, []byte("203.0.113.5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, t.TempDir(), `source: {type: file, file: {paths: ["{{EVENTS}}"]}}
feeds:
  - {name: c2, path: "{{FEED}}"}
shrink_guard: 2
sinks:
  - name: splunk
    type: splunk_hec
    splunk_hec:
      url: "https://splunk.example:8088/services/collector/raw"
      token: t
  - name: out
    type: stdout
    format: xml
`, map[string]string{"EVENTS": assetPath(t, "sample-events.jsonl"), "FEED": feed})
	for _, cmd := range []string{"check", "run"} {
		t.Run(cmd, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, "", cmd, "-c", cfg)
			if code != exitUsage {
				t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", cmd, code, exitUsage, stdout, stderr)
			}
			last := -1
			for _, want := range []string{
				cfg + ":4: shrink_guard: ",
				cfg + ":9: sinks[0].splunk_hec.url: /services/collector/raw is HEC's raw endpoint",
				cfg + ":13: sinks[1].format: ",
			} {
				i := strings.Index(stderr, want)
				if i < 0 {
					t.Errorf("%s does not report %q:\n%s", cmd, want, stderr)
					continue
				}
				if i < last {
					t.Errorf("%s reports %q out of file order:\n%s", cmd, want, stderr)
				}
				last = i
			}
			if strings.Contains(stderr, "feed loaded") || strings.Contains(stdout, "feeds:") {
				t.Errorf("%s went on past the config:\nstdout:\n%s\nstderr:\n%s", cmd, stdout, stderr)
			}
		})
	}
}

// A HEC URL from the environment is not shown in the problem check
// reports about it, in any part — as no value from the environment is
// in a config's errors — only its key and what is wrong.
func TestCheckHidesAHECURLFromTheEnvironment(t *testing.T) {
	feed := filepath.Join(t.TempDir(), "c2.txt")
	if err := os.WriteFile(feed, []byte("203.0.113.5\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url, want string
	}{
		{"with a query", "https://splunk-idx7.corp.example:8088/services/collector/raw?channel=0F1E2D3C", "is HEC's raw endpoint"},
		{"with a user and a trailing slash", "https://soc-ops@splunk-idx7.corp.example:8088/hec/services/collector/ack/", "is HEC's indexer acknowledgement endpoint"},
		{"as written out", "https://splunk-idx7.corp.example:8088/services/collector/health", "is HEC's health endpoint"},
		{"with an IPv6 zone outside ASCII", "https://[fe80::1%25idx\u00e9]:8088/hec?channel=0F1E2D3C", "an IPv6 zone must be ASCII"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("IOCWATCH_TEST_HEC_URL", tc.url)
			cfg := writeConfig(t, t.TempDir(), `source: {type: file, file: {paths: ["{{EVENTS}}"]}}
feeds:
  - {name: c2, path: "{{FEED}}"}
sinks:
  - {name: out, type: stdout}
  - name: splunk
    type: splunk_hec
    splunk_hec:
      url: ${IOCWATCH_TEST_HEC_URL}
      token: t
`, map[string]string{"EVENTS": assetPath(t, "sample-events.jsonl"), "FEED": feed})
			code, stdout, stderr := runCLI(t, "", "check", "-c", cfg)
			if code != exitUsage {
				t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, exitUsage, stdout, stderr)
			}
			if want := cfg + ":9: sinks[1].splunk_hec.url: "; !strings.Contains(stderr, want) || !strings.Contains(stderr, tc.want) {
				t.Errorf("check's error does not say %q at %q:\n%s", tc.want, want, stderr)
			}
			for _, s := range []string{"splunk-idx7", "soc-ops", "fe80", "idx\u00e9", "0F1E2D3C", "/hec"} {
				if strings.Contains(stdout+stderr, s) {
					t.Errorf("check's output shows %q of the URL from the environment:\n%s%s", s, stdout, stderr)
				}
			}
		})
	}
}
