package sink_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// Timeout bounds a whole request of an HTTP sink — waiting for the answer
// and reading its body — as http.Client.Timeout did: a peer that stops
// half-way fails the request once Timeout has passed, retryably (it may
// answer the next one), naming the endpoint. Before headers the
// transport's own header timeout may fire first; a peer that sends its
// headers and then stalls the body is stopped by Timeout alone.
func TestHTTPSinksGiveUpOnAPeerThatStopsAnsweringAfterTimeout(t *testing.T) {
	// stall holds the request until the client gives up (or the test
	// ends): before the status line, or after the headers of an answer
	// whose body never comes.
	type stall int
	const (
		never    stall = iota // answers normally
		noAnswer              // reads the request and says nothing
		midBody               // sends headers promising a body, then stalls
	)
	cases := []struct {
		name string
		open func(t *testing.T, url string) sink.Sink
		// how the event (or webhook) request and the ack query stall, and
		// the status of a mid-body answer to the event request
		event, ack  stall
		eventStatus int
		where       string
	}{
		{name: "webhook, no answer", event: noAnswer, where: "/hooks/…", open: openTimeoutWebhook},
		{name: "webhook, a 500 whose body stalls", event: midBody, eventStatus: 500, where: "/hooks/…", open: openTimeoutWebhook},
		{name: "splunk_hec, no answer", event: noAnswer, where: "/gw/…", open: openTimeoutHEC(false)},
		{name: "splunk_hec, a 200 whose body stalls", event: midBody, eventStatus: 200, where: "/gw/…", open: openTimeoutHEC(false)},
		{name: "splunk_hec ack query, no answer", ack: noAnswer, where: "/gw/…", open: openTimeoutHEC(true)},
		{name: "splunk_hec ack query, a 200 whose body stalls", ack: midBody, where: "/gw/…", open: openTimeoutHEC(true)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			release := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				how, status, answer := tc.event, tc.eventStatus, `{"text":"Success","code":0,"ackId":0}`
				if strings.HasSuffix(r.URL.Path, "/services/collector/ack") {
					how, status, answer = tc.ack, 200, `{"acks":{"0":true}}`
				}
				switch how {
				case never:
					hecAnswer(w, 200, answer)
					return
				case midBody:
					w.Header().Set("Content-Length", "4096")
					w.WriteHeader(status)
					_, _ = io.WriteString(w, answer[:len(answer)/2])
					w.(http.Flusher).Flush()
				}
				select {
				case <-r.Context().Done():
				case <-release:
				}
			}))
			defer srv.Close()
			s := tc.open(t, srv.URL)
			defer s.Close(context.Background())
			// First of all (should the Write hang): free the handlers, so
			// that the Write ends, Close stops waiting for it and
			// srv.Close for them.
			defer close(release)
			start := time.Now()
			err := await(t, result(func() error { return s.Write(context.Background(), sinktest.Alerts(1, 7)) }))
			took := time.Since(start)
			if err == nil {
				t.Fatal("Write succeeded against a peer that stopped answering")
			}
			if sink.IsPermanent(err) {
				t.Errorf("a timed-out request is permanent: %v", err)
			}
			if took < stallTimeout {
				t.Errorf("Write gave up after %v, before the %v timeout: %v", took, stallTimeout, err)
			}
			if want := "POST " + srv.URL + tc.where + ": "; !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not name the endpoint as %q", err, want)
			}
			if strings.Contains(err.Error(), timeoutSecret) {
				t.Errorf("error %q holds the secret path", err)
			}
		})
	}
}

// The timeout of the sinks above, and the secret in their paths.
const (
	stallTimeout  = 200 * time.Millisecond
	timeoutSecret = "Qm81vZr"
)

func openTimeoutWebhook(t *testing.T, url string) sink.Sink {
	s, err := sink.NewWebhook(sink.WebhookOptions{URL: url + "/hooks/" + timeoutSecret, Timeout: stallTimeout})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func openTimeoutHEC(ack bool) func(t *testing.T, url string) sink.Sink {
	return func(t *testing.T, url string) sink.Sink {
		s, err := sink.NewHEC(sink.HECOptions{URL: url + "/gw/" + timeoutSecret, Token: "tok-0f1e2d3c", Ack: ack, Timeout: stallTimeout, AckTimeout: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
}
