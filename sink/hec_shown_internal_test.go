package sink

import (
	"strings"
	"testing"
)

// A URL refused for ending in another of HEC's endpoints is named in the
// error with that endpoint's path whole, as check --show-config shows it:
// every path of hecOtherEndpoints is one internal/urlcred knows as HEC's
// own (not https://splunk:8088/services/…, which hides what is wrong).
func TestNewHECShowsRefusedEndpointWhole(t *testing.T) {
	for _, e := range hecOtherEndpoints {
		for _, slash := range []string{"", "/"} {
			u := "https://splunk.example:8088/services/collector/" + strings.Join(e.words, "/") + slash
			t.Run(u, func(t *testing.T) {
				_, err := NewHEC(HECOptions{URL: u, Token: "tok"})
				if err == nil {
					t.Fatal("NewHEC accepted it")
				}
				if want := "splunk_hec url " + u + ": "; !strings.HasPrefix(err.Error(), want) {
					t.Errorf("NewHEC: %q, want it to start %q", err, want)
				}
			})
		}
	}
}
