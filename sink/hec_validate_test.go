package sink_test

import (
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/sink"
)

// ValidateHECURL is NewHEC's check of the URL, for a configuration to be
// checked before the sink is made: it refuses exactly the URLs NewHEC
// refuses for their URL, with the error NewHEC gives after naming the URL
// ("splunk_hec url https://splunk:8088/…: "), and takes the others. Its
// error names no part of the URL — its caller names it, by the key it was
// read from, whose value may have come from the environment — and
// NewHEC's shows none of the URL's secrets (password, path token, query).
func TestValidateHECURLIsNewHECsCheck(t *testing.T) {
	const pass, gw, tok = "pw-Qx7Lm2Vb9Rt4", "gatewayTok-Hc4Gx2Zp3Kd8", "qTok-Ab3Cd4Ef5Gh6Ij7"
	secret := func(host, path string) string {
		return "https://soar:" + pass + "@" + host + "/gw/" + gw + path + "?token=" + tok
	}
	for _, tc := range []struct {
		name, url string
		want      string // in the error; "" when the URL is taken
	}{
		{"a URL that does not parse", "https://splunk:80x8/" + gw, "does not parse"},
		{"a URL without scheme", "splunk:8088", "must be an http:// or https:// URL with a host"},
		{"a URL without host", "https:///services/collector", "must be an http:// or https:// URL with a host"},
		{"the raw endpoint", secret("splunk:8088", "/services/collector/raw"), "is HEC's raw endpoint"},
		{"the acknowledgement endpoint", "https://splunk:8088/services/collector/ack", "is HEC's indexer acknowledgement endpoint"},
		{"the health endpoint", "https://splunk:8088/services/collector/health/1.0", "is HEC's health endpoint"},
		{"the MINT endpoint", secret("splunk:8088", "/services/collector/mint/1.0"), "is HEC's deprecated MINT endpoint"},
		{"the S2S endpoint", secret("splunk:8088", "/services/collector/s2s"), "is HEC's S2S endpoint"},
		{"the raw endpoint with a doubled slash", "https://splunk:8088/services/collector/raw//", "is HEC's raw endpoint"},
		{"the raw endpoint with a doubled slash inside", secret("splunk:8088", "/services/collector//raw"), "is HEC's raw endpoint"},
		{"the MINT endpoint with a doubled slash inside", "https://splunk:8088//services//collector/mint", "is HEC's deprecated MINT endpoint"},
		{"an IPv6 zone outside ASCII", secret("[fe80::1%25eth\u00e9]:8088", "/services/collector"), "an IPv6 zone must be ASCII"},
		{"a base URL", "https://splunk:8088", ""},
		{"the event endpoint behind secrets", secret("splunk:8088", "/services/collector/event"), ""},
		{"the event endpoint with a doubled slash", "https://splunk:8088/services/collector/event//", ""},
		{"the event endpoint with a doubled slash inside", "https://splunk:8088/services/collector//event", ""},
		{"a proxy route ending in /event", "https://splunk:8088/myproxy/event", ""},
		{"an IPv6 zone in ASCII", "https://[fe80::1%25eth0]:8088", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			verr := sink.ValidateHECURL(tc.url)
			h, nerr := sink.NewHEC(sink.HECOptions{URL: tc.url, Token: "t"})
			if nerr == nil {
				t.Cleanup(func() { _ = h.Close(t.Context()) })
			}
			if tc.want == "" {
				if verr != nil || nerr != nil {
					t.Fatalf("ValidateHECURL = %v, NewHEC = %v; want both to take %s", verr, nerr, tc.url)
				}
				return
			}
			if verr == nil || nerr == nil {
				t.Fatalf("ValidateHECURL = %v, NewHEC = %v; want both to refuse %s", verr, nerr, tc.url)
			}
			if !strings.Contains(verr.Error(), tc.want) {
				t.Errorf("ValidateHECURL = %v, want it to say %q", verr, tc.want)
			}
			if !strings.HasPrefix(nerr.Error(), "splunk_hec url") || !strings.HasSuffix(nerr.Error(), ": "+verr.Error()) {
				t.Errorf("NewHEC = %v, want splunk_hec url, the URL as shown, then %v", nerr, verr)
			}
			for _, s := range []string{"://splunk", "://[", "splunk:", ":8088", "fe80", "/gw"} {
				if strings.Contains(verr.Error(), s) {
					t.Errorf("ValidateHECURL = %v: names the URL (%q)", verr, s)
				}
			}
			for _, s := range []string{pass, gw, tok} {
				if strings.Contains(nerr.Error(), s) {
					t.Errorf("NewHEC = %v: holds %q", nerr, s)
				}
			}
		})
	}
}
