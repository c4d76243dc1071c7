package sink_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// Many webhook URLs are themselves the credential, in their path: Slack
// (/services/T…/B…/<secret>), Teams (/webhookb2/…/IncomingWebhook/<secret>/…),
// Discord (/api/webhooks/<id>/<token>), Telegram (/bot<token>/…). A sink's
// errors name its endpoint as scheme://host/<first segment>/… and scrub
// the hidden path from what a peer echoes (a web framework's 404 page
// repeats the path it was sent).
func TestSinkErrorsNeverShowTheSecretPathOfTheirURL(t *testing.T) {
	for _, status := range []int{http.StatusNotFound, http.StatusServiceUnavailable} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(status)
			fmt.Fprintf(w, "Cannot POST %s (path %s, last segment %s)", r.URL.EscapedPath(), r.URL.Path, r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:])
		}))
		for _, tc := range []struct {
			name, path, where string
			secrets           []string
		}{
			{"slack", "/services/T0001AAAA/B0002BBBB/slackSecretXq7Lm2Vb9Rt4", "/services/…",
				[]string{"slackSecretXq7Lm2Vb9Rt4", "B0002BBBB"}},
			{"teams", "/webhookb2/11111111-2222-3333-4444-555555555555@66666666-7777-8888-9999-000000000000/IncomingWebhook/0123456789abcdef0123456789abcdef/aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
				"/webhookb2/…", []string{"0123456789abcdef0123456789abcdef", "IncomingWebhook"}},
			{"discord", "/api/webhooks/112233445566778899/discordTok-Kd8Wq1Ys5Hc4Gx2Zp3", "/api/…",
				[]string{"discordTok-Kd8Wq1Ys5Hc4Gx2Zp3", "112233445566778899"}},
			{"a token in the first segment", "/bot123456:AAH-telegramTok-Vb9Rt4/sendMessage", "/…",
				[]string{"AAH-telegramTok-Vb9Rt4", "bot123456"}},
			{"a percent-encoded token", "/hooks/tok%2Fen-Ab3Cd4Ef5Gh6Ij7", "/hooks/…",
				[]string{"tok%2Fen-Ab3Cd4Ef5Gh6Ij7", "tok/en-Ab3Cd4Ef5Gh6Ij7", "en-Ab3Cd4Ef5Gh6Ij7"}},
			{"one segment", "/mattermostTok-Lq9Pw1Rb7Vn3", "/…", []string{"mattermostTok-Lq9Pw1Rb7Vn3"}},
		} {
			t.Run(fmt.Sprintf("%d %s", status, tc.name), func(t *testing.T) {
				hook, err := sink.NewWebhook(sink.WebhookOptions{URL: srv.URL + tc.path})
				if err != nil {
					t.Fatal(err)
				}
				defer hook.Close(context.Background())
				err = hook.Write(context.Background(), sinktest.Alerts(1, 1))
				if err == nil {
					t.Fatal("the peer refused, but Write succeeded")
				}
				msg := err.Error()
				for _, s := range tc.secrets {
					if strings.Contains(msg, s) {
						t.Errorf("error holds %q: %s", s, msg)
					}
				}
				if want := "POST " + srv.URL + tc.where + ": "; !strings.Contains(msg, want) {
					t.Errorf("error %q does not name the endpoint as %q", msg, want)
				}
				if !strings.Contains(msg, "Cannot POST") || !strings.Contains(msg, "[redacted]") {
					t.Errorf("error %q lacks the scrubbed answer", msg)
				}
			})
		}
		srv.Close()
	}
}

// A HEC endpoint behind a gateway whose path prefix is a credential: the
// prefix is hidden; Splunk's own paths alone are shown whole.
func TestHECErrorsNeverShowASecretPathPrefix(t *testing.T) {
	const secret = "gatewayTok-Hc4Gx2Zp3Kd8"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, "no route for %s", r.URL.Path)
	}))
	defer srv.Close()
	for _, tc := range []struct{ base, where string }{
		{srv.URL + "/gw/" + secret, srv.URL + "/gw/…"},
		{srv.URL + "/" + secret + "/services/collector/event", srv.URL + "/…"},
		{srv.URL, srv.URL + "/services/collector/event"},
	} {
		hec, err := sink.NewHEC(sink.HECOptions{URL: tc.base, Token: "5d3c2b1a-hec0-4e5f-9a8b-7c6d5e4f3a2b"})
		if err != nil {
			t.Fatal(err)
		}
		err = hec.Write(context.Background(), sinktest.Alerts(1, 1))
		hec.Close(context.Background())
		if err == nil {
			t.Fatalf("%s: the peer refused, but Write succeeded", tc.base)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: error holds the secret: %s", tc.base, err)
		}
		if !strings.Contains(err.Error(), "POST "+tc.where+": ") {
			t.Errorf("error %q does not name the endpoint as %q", err, tc.where)
		}
	}
}

// A URL that does not parse is not repeated in the error: it may be a
// webhook URL whose path is the credential.
func TestNewSinkErrorsDoNotRepeatAnUnparsableURL(t *testing.T) {
	const secret = "slackSecret-Xq7Lm2Vb9Rt4"
	for _, raw := range []string{
		"https://hooks.slack.com/services/T0001/B0002/" + secret + "%zz",
		"https://hooks.slack.com/services/T0001/B0002/" + secret + "\x7f",
		"ftp://hooks.slack.com/services/T0001/B0002/" + secret,
		"hooks.slack.com/services/T0001/B0002/" + secret,
	} {
		_, werr := sink.NewWebhook(sink.WebhookOptions{URL: raw})
		_, herr := sink.NewHEC(sink.HECOptions{URL: raw, Token: "5d3c2b1a-hec0-4e5f-9a8b-7c6d5e4f3a2b"})
		for name, err := range map[string]error{"NewWebhook": werr, "NewHEC": herr} {
			if err == nil {
				t.Errorf("%s(%q) accepted the URL", name, raw)
				continue
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s(%q) = %v: holds the secret", name, raw, err)
			}
		}
	}
}
