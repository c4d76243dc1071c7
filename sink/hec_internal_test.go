package sink

import (
	"context"
	"strings"
	"testing"
)

// HEC.do posts to a URL NewHEC has parsed and checked, so building the
// request cannot fail for any URL NewHEC accepts (see
// TestNewHECRefusesAURLItCouldNotPostTo). Should it fail all the same, its
// error does not repeat the URL, which *url.Error quotes whole: its path
// and query may be credentials. The error names the endpoint as the
// sink's other errors do and is permanent.
func TestHECDoDoesNotRepeatATargetThatDoesNotParse(t *testing.T) {
	const secret = "gatewayTok-Hc4Gx2Zp3Kd8"
	h, err := NewHEC(HECOptions{URL: "https://splunk.example:8088/gw/" + secret, Token: "5d3c2b1a-hec0-4e5f-9a8b-7c6d5e4f3a2b"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	target := "https://[fe80::1%25%C3%A9]:8088/gw/" + secret + "/services/collector/event?token=" + secret
	_, err = h.do(context.Background(), target, []byte(`{"event":{}}`), false)
	if err == nil || !IsPermanent(err) {
		t.Fatalf("do(%q) = %v, want a permanent error", target, err)
	}
	if strings.Contains(err.Error(), secret) {
		t.Errorf("error holds the URL's secret: %v", err)
	}
	if want := "splunk_hec POST " + h.where + ": "; !strings.Contains(err.Error(), want) {
		t.Errorf("error %q does not name the endpoint as %q", err, want)
	}
}
