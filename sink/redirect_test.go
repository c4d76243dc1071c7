package sink_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// The HTTP sinks follow no redirect (a POST sent elsewhere would carry
// the alerts and their credentials to an unchecked place). A redirect —
// whether its Location is missing, does not parse or names a place — is
// a configuration problem that no retry cures: the Write fails for good
// at once, naming the endpoint (its secret path hidden) and the status,
// and the dead-letter file takes the batch. A Location that parses is
// named as an endpoint is (scheme, host, at most a first plain path
// segment): where url should point — https instead of http, another
// host — without the secret path a redirect to the same place repeats.
func TestHTTPSinksFileARedirectTheyCannotFollowAtOnce(t *testing.T) {
	const secret = "Xk29sLq"
	locations := []struct {
		name string
		loc  func(r *http.Request) string // "": no Location header
		// to is where the error says the redirect points, given the
		// server's URL and the sink's endpoint path as shown; nil: it
		// names no place.
		to func(srvURL, where string) string
	}{
		{"no Location", func(*http.Request) string { return "" }, nil},
		{"a Location that does not parse (it echoes the path)", func(r *http.Request) string { return r.URL.EscapedPath() + "/100%" }, nil},
		{"a Location with a broken host", func(*http.Request) string { return "http://[::1" }, nil},
		{"a Location without a scheme before its colon", func(*http.Request) string { return ":8443/hook" }, nil},
		{"a Location elsewhere", func(*http.Request) string { return "https://elsewhere.example/hook" },
			func(string, string) string { return "https://elsewhere.example/…" }},
		{"the same path over https", func(r *http.Request) string { return "https://" + r.Host + r.URL.EscapedPath() },
			func(srvURL, where string) string { return "https" + strings.TrimPrefix(srvURL, "http") + where }},
		{"the same path with a slash added (relative)", func(r *http.Request) string { return r.URL.EscapedPath() + "/" },
			func(srvURL, where string) string { return srvURL + where }},
		{"a Location that names no host", func(*http.Request) string { return "urn:x-Qz7:hook" }, nil},
	}
	kinds := []struct {
		name, path, where string
		open              func(t *testing.T, url string) sink.Sink
	}{
		{"webhook", "/hooks/" + secret, "/hooks/…", func(t *testing.T, url string) sink.Sink {
			s, err := sink.NewWebhook(sink.WebhookOptions{URL: url})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"webhook, batched", "/hooks/" + secret, "/hooks/…", func(t *testing.T, url string) sink.Sink {
			s, err := sink.NewWebhook(sink.WebhookOptions{URL: url, Batch: true, MaxBatch: 2})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
		{"splunk_hec", "/gw/" + secret, "/gw/…", func(t *testing.T, url string) sink.Sink {
			s, err := sink.NewHEC(sink.HECOptions{URL: url, Token: "5d3c2b1a-hec0-4e5f-9a8b-7c6d5e4f3a2b"})
			if err != nil {
				t.Fatal(err)
			}
			return s
		}},
	}
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		for _, l := range locations {
			for _, k := range kinds {
				t.Run(fmt.Sprintf("%d, %s, %s", status, l.name, k.name), func(t *testing.T) {
					var requests atomic.Int64
					srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						requests.Add(1)
						_, _ = io.Copy(io.Discard, r.Body)
						if loc := l.loc(r); loc != "" {
							w.Header().Set("Location", loc)
						}
						w.WriteHeader(status)
					}))
					defer srv.Close()
					dl, path := openTestDeadLetter(t)
					ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
					defer cancel()
					// A retry is the defect: stop it rather than retry
					// for ever.
					var retries atomic.Int64
					policy := cancelAtRetry(3, cancel, &retries)
					s := sink.WithDeadLetter(sink.WithRetry(k.open(t, srv.URL+k.path), policy), "soar", dl)
					defer s.Close(context.Background())
					alerts := sinktest.Alerts(3, 61)
					if err := s.Write(ctx, alerts); err != nil {
						t.Fatalf("Write = %v, want nil: the batch dead-lettered", err)
					}
					if n := retries.Load(); n != 0 {
						t.Errorf("the redirect was retried %d times, want none", n)
					}
					if got, want := deadLetteredIDs(t, path), slices.Sorted(slices.Values(ids(alerts))); fmt.Sprint(got) != fmt.Sprint(want) {
						t.Fatalf("dead-lettered %v, want the whole batch %v", got, want)
					}
					for _, d := range readDeadLetters(t, path) {
						if want := "POST " + srv.URL + k.where + ": " + fmt.Sprint(status) + " " + http.StatusText(status); !strings.Contains(d.Error, want) {
							t.Errorf("dead-letter error %q does not name the endpoint and status as %q", d.Error, want)
						}
						if l.to != nil {
							if want := "redirect to " + l.to(srv.URL, k.where) + " not followed"; !strings.Contains(d.Error, want) {
								t.Errorf("dead-letter error %q does not say where the redirect points, as %q", d.Error, want)
							}
						} else if strings.Contains(d.Error, "redirect to") {
							t.Errorf("dead-letter error %q names a place, but the Location names none", d.Error)
						}
						if strings.Contains(d.Error, secret) {
							t.Errorf("dead-letter error %q holds the secret path", d.Error)
						}
					}
					if n := requests.Load(); n > int64(len(alerts)) {
						t.Errorf("%d requests for %d alerts: the batch was sent again", n, len(alerts))
					}
				})
			}
		}
	}
}
