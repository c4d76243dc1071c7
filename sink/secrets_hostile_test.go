package sink_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// A peer that echoes the credentials it was sent into its error answers
// must not get them into the sink's errors, which reach logs, the alert
// dead-letter file and the process's final error line.

// echoCredentials answers every request with status and a body repeating
// the request's headers — padded, when pad > 0, so that a credential falls
// across the excerpt's cut.
func echoCredentials(t *testing.T, status, pad int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
		fmt.Fprintf(w, "%snope; you sent %v and %q", strings.Repeat("x", pad), r.Header, r.Header.Get("Authorization"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestSinkErrorsNeverRepeatTheCredentialsAPeerEchoes(t *testing.T) {
	const token = "tok-Zp3Kd8Wq1Ys5Hc4Gx2"
	const hmac = "hmac-Jm6Tn0Hc4Gx2Rb7V"
	const hecToken = "5d3c2b1a-hec0-4e5f-9a8b-7c6d5e4f3a2b"
	for _, status := range []int{http.StatusBadRequest, http.StatusUnauthorized, http.StatusServiceUnavailable} {
		for _, pad := range []int{0, 480, 500, 505, 510} { // around the 512-byte excerpt
			t.Run(fmt.Sprintf("status %d, credentials %d bytes into the answer", status, pad), func(t *testing.T) {
				srv := echoCredentials(t, status, pad)
				hook, err := sink.NewWebhook(sink.WebhookOptions{URL: srv.URL, HMACSecret: hmac,
					Headers: map[string]string{"Authorization": "Bearer " + token, "X-Api-Key": token + "-2"}})
				if err != nil {
					t.Fatal(err)
				}
				defer hook.Close(context.Background())
				hec, err := sink.NewHEC(sink.HECOptions{URL: srv.URL + "/services/collector/event", Token: hecToken})
				if err != nil {
					t.Fatal(err)
				}
				defer hec.Close(context.Background())
				alerts := sinktest.Alerts(1, 1)
				for name, s := range map[string]sink.Sink{"webhook": hook, "splunk_hec": hec} {
					err := s.Write(context.Background(), alerts)
					if err == nil {
						t.Fatalf("%s: the peer refused, but Write succeeded", name)
					}
					msg := err.Error()
					for _, secret := range []string{token, hmac, hecToken, token[:len(token)-3]} {
						if strings.Contains(msg, secret) {
							t.Errorf("%s: error holds a credential: %s", name, msg)
						}
					}
					if pad == 0 && !strings.Contains(msg, "[redacted]") {
						t.Errorf("%s: the echoed credential is not marked [redacted]: %s", name, msg)
					}
				}
			})
		}
	}
}

// Credentials written in the endpoint's URL — a password (which Go's
// client sends as basic authentication) or a signature in the query, as
// a Logic App trigger URL has — are scrubbed from an echoing peer's
// answer too, in every form the peer may echo them.
func TestSinkErrorsNeverRepeatTheCredentialsOfTheirURL(t *testing.T) {
	const pass, sig = "pw-Qx7Lm2Vb9Rt4", "sig-Kd8Wq1Ys5Hc4Gx2Zp3"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "nope; you sent %v to %s", r.Header, r.URL.RequestURI())
	}))
	defer srv.Close()
	base := strings.Replace(srv.URL, "http://", "http://soar:"+pass+"@", 1)
	hook, err := sink.NewWebhook(sink.WebhookOptions{URL: base + "/hook?sv=1.0&sig=" + sig})
	if err != nil {
		t.Fatal(err)
	}
	defer hook.Close(context.Background())
	hec, err := sink.NewHEC(sink.HECOptions{URL: base + "/services/collector/event", Token: "5d3c2b1a-hec0-4e5f-9a8b-7c6d5e4f3a2b"})
	if err != nil {
		t.Fatal(err)
	}
	defer hec.Close(context.Background())
	basic := base64.StdEncoding.EncodeToString([]byte("soar:" + pass))
	for name, s := range map[string]sink.Sink{"webhook": hook, "splunk_hec": hec} {
		err := s.Write(context.Background(), sinktest.Alerts(1, 1))
		if err == nil {
			t.Fatalf("%s: the peer refused, but Write succeeded", name)
		}
		for _, secret := range []string{pass, sig, basic} {
			if strings.Contains(err.Error(), secret) {
				t.Errorf("%s: error holds %q: %s", name, secret, err)
			}
		}
	}
}
