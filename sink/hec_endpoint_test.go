package sink_test

import (
	"context"
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// Splunk documents /services/collector/event/1.0 as the event endpoint
// with a protocol version: a URL ending in it posts events to
// /services/collector/event and polls /services/collector/ack under the
// same base path, as a URL ending in /services/collector/event does —
// not to …/event/1.0/services/collector/event.
func TestHECVersionedEventEndpoint(t *testing.T) {
	checkHECBasePaths(t, []hecBaseCase{
		{"the versioned event endpoint", "/services/collector/event/1.0", ""},
		{"with a trailing slash", "/services/collector/event/1.0/", ""},
		{"behind a base path", "/splunk/services/collector/event/1.0", "/splunk"},
		{"behind a base path with an encoded slash", "/a%2Fb/services/collector/event/1.0", "/a%2Fb"},
		{"with the version escaped", "/services/collector/event/%31.0", ""},
		{"with a query", "/splunk/services/collector/event/1.0?tenant=soc", "/splunk"},
		// Guards: a version is recognised only after HEC's event path.
		{"a base path ending in a version", "/gw/1.0", "/gw/1.0"},
		{"a version after /services/collector", "/gw/services/collector/1.0", "/gw/services/collector/1.0"},
	})
}

// A URL whose path ends in more than one slash — a doubled slash left by
// joining a base URL and a path — is taken as the same URL with one: a
// URL ending in /services/collector/event// posts to the event endpoint,
// not to …/event//services/collector/event, a path that does not exist.
func TestHECTrailingSlashesAreTakenOff(t *testing.T) {
	checkHECBasePaths(t, []hecBaseCase{
		{"the event endpoint with a doubled slash", "/services/collector/event//", ""},
		{"the event endpoint with three slashes", "/services/collector/event///", ""},
		{"/services/collector with a doubled slash", "/services/collector//", ""},
		{"the versioned event endpoint behind a base path", "/splunk/services/collector/event/1.0//", "/splunk"},
		{"with a query", "/splunk/services/collector/event//?tenant=soc", "/splunk"},
		{"a proxy route with a doubled slash", "/myproxy/event//", "/myproxy/event"},
		{"a bare doubled slash", "//", ""},
		// Guard: a doubled slash inside the path is the path as written.
		{"a doubled slash inside the base path", "/gw//splunk/services/collector/event//", "/gw//splunk"},
	})
}

// A doubled slash inside HEC's own path (…/services/collector//event,
// …/services//collector) or between the base path and it
// (…/splunk//services/collector/event, a base URL with a trailing slash
// joined to HEC's path) is taken off as trailing slashes are: the URL is
// the event endpoint, under the base path as written, and the sink posts
// to base/services/collector/event — not to …//event/services/collector/event,
// a path that does not exist. A doubled slash inside the base path, or in
// a route that is not HEC's path, is the path as written.
func TestHECDoubledSlashesInHECsPath(t *testing.T) {
	checkHECBasePaths(t, []hecBaseCase{
		{"before /event", "/services/collector//event", ""},
		{"before /collector", "/services//collector/event", ""},
		{"three slashes before /event", "/services/collector///event", ""},
		{"before the version", "/services/collector/event//1.0", ""},
		{"inside /services/collector alone", "/services//collector", ""},
		{"and trailing slashes", "/services/collector//event//", ""},
		{"before /services, at the root", "//services/collector/event", ""},
		{"between the base path and HEC's path", "/splunk//services/collector/event", "/splunk"},
		{"between an encoded slash and HEC's path", "/a%2Fb//services/collector//event", "/a%2Fb"},
		{"with a query", "/splunk/services/collector//event?tenant=soc", "/splunk"},
		// Guards: a doubled slash outside HEC's path is the path as written.
		{"inside the base path", "/gw//splunk/services/collector//event", "/gw//splunk"},
		{"in a proxy route ending in /event", "/myproxy//event", "/myproxy//event"},
		{"in a route that only looks like HEC's", "/services//event", "/services//event"},
	})
}

// A path that ends in /event without /services/collector before it is a
// base path — a proxy's route, say — and is kept whole: the sink posts to
// it followed by /services/collector/event. Only HEC's own event path,
// /services/collector/event (or …/event/1.0), is taken off the URL.
func TestHECKeepsAnEventSegmentOutsideHECsPath(t *testing.T) {
	checkHECBasePaths(t, []hecBaseCase{
		{"a proxy route ending in /event", "/myproxy/event", "/myproxy/event"},
		{"with a trailing slash", "/myproxy/event/", "/myproxy/event"},
		{"a bare /event", "/event", "/event"},
		{"/event after /collector alone", "/collector/event", "/collector/event"},
		{"/event after /services alone", "/services/event", "/services/event"},
		{"/event/1.0 outside HEC's path", "/myproxy/event/1.0", "/myproxy/event/1.0"},
		{"an escaped /event", "/myproxy/%65vent", "/myproxy/%65vent"},
		// Guards: HEC's event path is still taken off.
		{"HEC's event path behind the route", "/myproxy/event/services/collector/event", "/myproxy/event"},
		{"HEC's collector path behind the route", "/myproxy/event/services/collector", "/myproxy/event"},
		{"HEC's event path", "/services/collector/event", ""},
	})
}

// A URL ending in another of HEC's endpoints — the raw endpoint, which
// takes plain text, not JSON envelopes; the acknowledgement or health
// endpoint; the deprecated MINT endpoint, which takes Splunk MINT SDK
// data — is refused when the sink is created, with an error saying
// the sink posts JSON events to /services/collector/event, instead of
// posting to …/raw/services/collector/event, a path that does not exist.
// The error shows the URL as check --show-config does: a secret path
// prefix stays hidden.
func TestNewHECRefusesAnotherHECEndpoint(t *testing.T) {
	const secret = "Tok-Sd8Ja5Hu3Fk2"
	for _, tc := range []struct {
		name, path, want string
	}{
		{"the raw endpoint", "/services/collector/raw", "raw endpoint"},
		{"the versioned raw endpoint", "/services/collector/raw/1.0", "raw endpoint"},
		{"the raw endpoint with a trailing slash", "/services/collector/raw/", "raw endpoint"},
		{"the raw endpoint behind a base path", "/splunk/services/collector/raw", "raw endpoint"},
		{"the raw endpoint behind a secret prefix", "/gw/" + secret + "/services/collector/raw/1.0", "raw endpoint"},
		{"the raw endpoint escaped", "/services/collector/r%61w", "raw endpoint"},
		{"the raw endpoint with a query", "/services/collector/raw?channel=x", "raw endpoint"},
		{"the acknowledgement endpoint", "/services/collector/ack", "acknowledgement endpoint"},
		{"the health endpoint", "/services/collector/health", "health endpoint"},
		{"the versioned health endpoint", "/splunk/services/collector/health/1.0", "health endpoint"},
		{"the MINT endpoint", "/services/collector/mint", "MINT endpoint"},
		{"the versioned MINT endpoint", "/services/collector/mint/1.0", "MINT endpoint"},
		{"the MINT endpoint behind a base path", "/splunk/services/collector/mint/", "MINT endpoint"},
		{"the raw endpoint with a doubled trailing slash", "/services/collector/raw//", "raw endpoint"},
		{"the S2S endpoint", "/services/collector/s2s", "S2S endpoint"},
		{"the S2S endpoint with a trailing slash", "/services/collector/s2s/", "S2S endpoint"},
		{"the S2S endpoint behind a base path", "/splunk/services/collector/s2s", "S2S endpoint"},
		{"the S2S endpoint escaped", "/services/collector/%732s", "S2S endpoint"},
		{"the raw endpoint with a doubled slash inside", "/services/collector//raw", "raw endpoint"},
		{"the versioned raw endpoint with a doubled slash", "/services/collector/raw//1.0", "raw endpoint"},
		{"the acknowledgement endpoint with a doubled slash", "/services//collector/ack", "acknowledgement endpoint"},
		{"the S2S endpoint behind a doubled slash", "/splunk//services/collector/s2s", "S2S endpoint"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, events, acks := newRecordingHEC(t)
			h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL + tc.path, Token: "tok", Ack: true})
			if err == nil {
				werr := h.Write(context.Background(), sinktest.Alerts(1, 1))
				h.Close(context.Background())
				var paths []string
				for _, r := range append(events(), acks()...) {
					paths = append(paths, r.escapedPath)
				}
				t.Fatalf("NewHEC accepted %s (Write: %v, requests to %v)", tc.path, werr, paths)
			}
			msg := err.Error()
			for _, want := range []string{"splunk_hec url", tc.want, "JSON events to /services/collector/event"} {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q, want it to say %q", msg, want)
				}
			}
			if strings.Contains(msg, secret) {
				t.Errorf("error %q holds the path secret", msg)
			}
			if n := len(events()) + len(acks()); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
}
