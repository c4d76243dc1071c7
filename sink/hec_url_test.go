package sink_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// hecRequest is what a HEC server saw of one request: the path as sent
// (escaped), the query and the channel header.
type hecRequest struct {
	escapedPath, rawPath, rawQuery, channel string
}

// newRecordingHEC serves a HEC that accepts every event request with
// ackId 0 and reports it indexed at the first ack query — whatever the
// path, which a HEC behind a gateway does not choose — and records the
// requests. Event and ack requests are told apart by the last segment of
// the escaped path.
func newRecordingHEC(t *testing.T) (srv *httptest.Server, events, acks func() []hecRequest) {
	t.Helper()
	var mu sync.Mutex
	var ev, ak []hecRequest
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		req := hecRequest{escapedPath: r.URL.EscapedPath(), rawPath: r.URL.RawPath, rawQuery: r.URL.RawQuery, channel: r.Header.Get("X-Splunk-Request-Channel")}
		mu.Lock()
		defer mu.Unlock()
		switch {
		case strings.HasSuffix(req.escapedPath, "/ack"):
			ak = append(ak, req)
			hecAnswer(w, 200, `{"acks":{"0":true}}`)
		default:
			ev = append(ev, req)
			hecAnswer(w, 200, `{"text":"Success","code":0,"ackId":0}`)
		}
	}))
	t.Cleanup(srv.Close)
	get := func(p *[]hecRequest) func() []hecRequest {
		return func() []hecRequest {
			mu.Lock()
			defer mu.Unlock()
			return append([]hecRequest(nil), (*p)...)
		}
	}
	return srv, get(&ev), get(&ak)
}

// writeToRecordingHEC writes two alerts through a HEC sink of opt to a
// newRecordingHEC, its URL the server's followed by path, and returns the
// event and ack requests the server saw: at least one of each, or the
// test fails.
func writeToRecordingHEC(t *testing.T, path string, opt sink.HECOptions) (events, acks []hecRequest) {
	t.Helper()
	srv, evs, aks := newRecordingHEC(t)
	opt.URL = srv.URL + path
	h, err := sink.NewHEC(opt)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	if err := h.Write(context.Background(), sinktest.Alerts(2, 1)); err != nil {
		t.Fatal(err)
	}
	events, acks = evs(), aks()
	if len(events) == 0 || len(acks) == 0 {
		t.Fatalf("%d event and %d ack requests, want at least one of each", len(events), len(acks))
	}
	return events, acks
}

// hecBaseCase is a HEC URL path and the base path the sink must post
// under: base/services/collector/event and base/services/collector/ack.
type hecBaseCase struct{ name, path, base string }

// checkHECBasePaths writes to a recording HEC at each case's path, with
// acknowledgement on, and checks where the event and ack requests went.
func checkHECBasePaths(t *testing.T, cases []hecBaseCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, ak := writeToRecordingHEC(t, tc.path, sink.HECOptions{Token: "tok", Ack: true})
			checkHECPaths(t, ev, ak, tc.base)
		})
	}
}

// checkHECPaths fails the test for each event request not sent to
// base/services/collector/event and each ack query not sent to
// base/services/collector/ack, base as sent (escaped).
func checkHECPaths(t *testing.T, events, acks []hecRequest, base string) {
	t.Helper()
	for _, r := range events {
		if want := base + "/services/collector/event"; r.escapedPath != want {
			t.Errorf("event request to %s (raw path %q), want %s", r.escapedPath, r.rawPath, want)
		}
	}
	for _, r := range acks {
		if want := base + "/services/collector/ack"; r.escapedPath != want {
			t.Errorf("ack query to %s (raw path %q), want %s", r.escapedPath, r.rawPath, want)
		}
	}
}

// A base path with an encoded slash (a gateway's route, a path token) is
// sent as written: the event and ack endpoints are appended to the escaped
// path, not to the decoded one, which would turn %2F into a separator and
// post to another path.
func TestHECKeepsTheBasePathAsWritten(t *testing.T) {
	checkHECBasePaths(t, []hecBaseCase{
		{"an encoded slash in a base path", "/a%2Fb", "/a%2Fb"},
		{"an encoded slash before /services/collector", "/a%2Fb/services/collector", "/a%2Fb"},
		{"an encoded slash before the event path", "/a%2Fb/services/collector/event", "/a%2Fb"},
		{"an encoded slash and a trailing slash", "/a%2Fb/services/collector/event/", "/a%2Fb"},
		{"a lower-case escape", "/gw/t%2fk/services/collector", "/gw/t%2fk"},
		{"an escape of a byte that needs none", "/g%77/services/collector/event", "/g%77"},
		{"an escaped space", "/my%20gw/services/collector", "/my%20gw"},
		{"an encoded slash beside a letter outside ASCII", "/gé%2Fx/services/collector", "/g%C3%A9%2Fx"},
		{"an encoded slash beside a raw space and braces", "/a b%2F{c}", "/a%20b%2F%7Bc%7D"},
		// A sub-delimiter (RFC 3986: ! $ & ' ( ) * + , ; =) may stand raw
		// in a path and is not the same path escaped: it stays as written,
		// beside an encoded slash or not. Brackets may not, they are escaped.
		{"sub-delimiters beside an encoded slash", "/t!k(1)'x'*%2Fz/services/collector", "/t!k(1)'x'*%2Fz"},
		{"a sub-delimiter in a path token", "/gw/a*b!/services/collector/event", "/gw/a*b!"},
		{"a sub-delimiter alone after an encoded slash", "/a%2F*", "/a%2F*"},
		{"brackets beside an encoded slash", "/a[1]%2Fb", "/a%5B1%5D%2Fb"},
		{"a plain base path", "/splunk/services/collector/event", "/splunk"},
		{"no path", "", ""},
		// Not the defect, a guard of its fix: the HEC path is recognised
		// however it is escaped (before, %65vent was sent as written).
		{"the event path escaped", "/services/collector/%65vent", ""},
	})
}

// A #fragment in the HEC URL is never sent to a server; the ack query
// still carries ?channel= (and the URL's own query) instead of losing them
// after the fragment.
func TestHECAckQueryCarriesTheChannelWhateverTheFragment(t *testing.T) {
	const channel = "11111111-2222-4333-8444-555555555555"
	for _, tc := range []struct {
		name, suffix string
		query        url.Values // the URL's own query, on every request
	}{
		{"no fragment, no query", "", url.Values{}},
		{"a query", "/services/collector/event?tenant=soc", url.Values{"tenant": {"soc"}}},
		{"a fragment", "/services/collector/event#frag", url.Values{}},
		{"a fragment on a base URL", "#frag", url.Values{}},
		{"an empty fragment", "/services/collector#", url.Values{}},
		{"a query and a fragment", "/services/collector/event?tenant=soc&region=eu#frag?x=1", url.Values{"tenant": {"soc"}, "region": {"eu"}}},
		{"an empty query and a fragment", "/services/collector?#frag", url.Values{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, ak := writeToRecordingHEC(t, tc.suffix, sink.HECOptions{Token: "tok", Ack: true, Channel: channel})
			checkHECPaths(t, ev, ak, "")
			for _, r := range ev {
				got, err := url.ParseQuery(r.rawQuery)
				if err != nil || !sameQuery(got, tc.query) {
					t.Errorf("event request query %q, want %v", r.rawQuery, tc.query)
				}
			}
			for _, r := range ak {
				want := url.Values{"channel": {channel}}
				for k, v := range tc.query {
					want[k] = v
				}
				got, err := url.ParseQuery(r.rawQuery)
				if err != nil || !sameQuery(got, want) {
					t.Errorf("ack query %q, want %v", r.rawQuery, want)
				}
				if r.channel != channel {
					t.Errorf("ack query channel header %q, want %s", r.channel, channel)
				}
			}
		})
	}
}

// sameQuery reports whether a and b hold the same keys with the same
// values in the same order.
func sameQuery(a, b url.Values) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || len(v) != len(w) {
			return false
		}
		for i := range v {
			if v[i] != w[i] {
				return false
			}
		}
	}
	return true
}

// A path token with an encoded slash stays hidden in errors, in the form
// written and decoded, when the server's answer repeats the path it was
// sent: the endpoint is shown as check --show-config shows it.
func TestHECHidesAPathTokenWithAnEncodedSlash(t *testing.T) {
	const tokA, tokB = "Xk29sLq7Pz", "Hc4Gx2Zp3Kd8"
	for _, tc := range []struct {
		name string
		ack  bool // the event request succeeds; the ack query is refused
	}{
		{"the event request refused", false},
		{"the ack query refused", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				if tc.ack && !strings.HasSuffix(r.URL.Path, "/ack") {
					hecAnswer(w, 200, `{"text":"Success","code":0,"ackId":0}`)
					return
				}
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, "Cannot POST "+r.URL.EscapedPath()+" ("+r.URL.Path+")")
			}))
			defer srv.Close()
			h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL + "/gw/" + tokA + "%2F" + tokB, Token: "tok", Ack: tc.ack})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close(context.Background())
			err = h.Write(context.Background(), sinktest.Alerts(1, 1))
			if err == nil {
				t.Fatal("Write succeeded against a 404")
			}
			if !strings.Contains(err.Error(), "404") || !strings.Contains(err.Error(), srv.URL+"/gw/…") {
				t.Errorf("error %q, want the 404 and the endpoint %s/gw/…", err, srv.URL)
			}
			for _, secret := range []string{tokA, tokB} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q holds %q of the path token", err, secret)
				}
			}
		})
	}
}
