package sink_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// The acknowledgement query is asked after HEC accepted the events: when
// it fails, a retry posts them again. A refusal that no retry cures — ACK
// disabled on the token (Splunk's 400, code 14), an unknown channel, a
// token refused, no ack endpoint, a redirect — would post them again for
// ever, one more copy at the SIEM each time. So it fails the Write for
// good at once: its alerts are refused (for the dead-letter file) with an
// error naming the ack endpoint (its secret path hidden) and the status,
// and saying the events were probably indexed though not acknowledged. A
// busy or failing server (408, 429, 5xx, HEC's codes 8, 9, 18–20) is still
// worth asking again.
func TestHECStopsResendingWhenTheAckQueryIsRefusedForGood(t *testing.T) {
	const secret, token = "Xk29sLq", "5d3c2b1a-hec0-4e5f-9a8b-7c6d5e4f3a2b"
	cases := []struct {
		name      string
		answer    func(w http.ResponseWriter, r *http.Request)
		permanent bool
		inError   []string
	}{
		{name: "400 ACK is disabled (code 14)", permanent: true,
			answer:  hecAnswerer(400, `{"text":"ACK is disabled","code":14}`),
			inError: []string{"400 Bad Request", `HEC code 14 "ACK is disabled"`}},
		{name: "400 invalid data channel (code 11)", permanent: true,
			answer:  hecAnswerer(400, `{"text":"Invalid data channel","code":11}`),
			inError: []string{"400 Bad Request", "HEC code 11"}},
		{name: "401 token required (code 2)", permanent: true,
			answer:  hecAnswerer(401, `{"text":"Token is required","code":2}`),
			inError: []string{"401 Unauthorized"}},
		{name: "403 invalid token (code 4)", permanent: true,
			answer:  hecAnswerer(403, `{"text":"Invalid token","code":4}`),
			inError: []string{"403 Forbidden"}},
		{name: "404, no ack endpoint (the page echoes the path)", permanent: true,
			answer: func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNotFound)
				fmt.Fprintf(w, "Cannot POST %s", r.URL.Path)
			},
			inError: []string{"404 Not Found", "Cannot POST [redacted]"}},
		{name: "302 elsewhere", permanent: true,
			answer: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", "https://elsewhere.example/ack")
				w.WriteHeader(http.StatusFound)
			},
			inError: []string{"302 Found"}},
		{name: "307 to a Location that does not parse (it echoes the path)", permanent: true,
			answer: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", r.URL.EscapedPath()+"/100%")
				w.WriteHeader(http.StatusTemporaryRedirect)
			},
			inError: []string{"307 Temporary Redirect", "does not parse"}},
		{name: "503 ack service unavailable (code 19)", answer: hecAnswerer(503, `{"text":"HEC is unhealthy, ack service unavailable","code":19}`), inError: []string{"503"}},
		{name: "500", answer: hecAnswerer(500, `{"text":"Internal server error","code":8}`), inError: []string{"500"}},
		{name: "429", answer: hecAnswerer(429, `slow down`), inError: []string{"429"}},
		{name: "408", answer: hecAnswerer(408, `timeout`), inError: []string{"408"}},
		{name: "400 with HEC unhealthy (code 18)", answer: hecAnswerer(400, `{"text":"HEC is unhealthy, queues are full","code":18}`), inError: []string{"HEC code 18"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var posts, ackQueries atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				if strings.HasSuffix(r.URL.Path, "/services/collector/ack") {
					ackQueries.Add(1)
					tc.answer(w, r)
					return
				}
				id := posts.Add(1) - 1
				hecAnswer(w, 200, fmt.Sprintf(`{"text":"Success","code":0,"ackId":%d}`, id))
			}))
			defer srv.Close()
			h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL + "/gw/" + secret, Token: token, Ack: true, AckTimeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
			defer cancel()
			// For a refusal a retry is the defect; for the others, two
			// retries show they are retried. Either way stop.
			var retries atomic.Int64
			policy := cancelAtRetry(2, cancel, &retries)
			s := sink.WithRetry(h, policy)
			defer s.Close(context.Background())
			alerts := sinktest.Alerts(3, 17)
			err = s.Write(ctx, alerts)
			if err == nil {
				t.Fatal("Write succeeded, but no request was acknowledged")
			}
			if !tc.permanent {
				if n := retries.Load(); n < 2 {
					t.Errorf("retried %d times, want the Write retried: %v", n, err)
				}
				for _, want := range tc.inError {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
				return
			}
			if !sink.IsPermanent(err) {
				t.Errorf("IsPermanent(%v) = false, want true", err)
			}
			if n := retries.Load(); n != 0 {
				t.Errorf("retried %d times, want none", n)
			}
			if n := posts.Load(); n != 1 {
				t.Errorf("the events were posted %d times, want once", n)
			}
			if n := ackQueries.Load(); n != 1 {
				t.Errorf("%d ack queries, want one", n)
			}
			var re *sink.RefusedError
			if !errors.As(err, &re) || !slices.Equal(re.Alerts, []int{0, 1, 2}) {
				t.Fatalf("Write = %v, want a RefusedError for alerts [0 1 2] (for the dead-letter file)", err)
			}
			msg := re.Reason(0).Error()
			for _, want := range append([]string{"ack POST " + srv.URL + "/gw/…: ", "probably indexed", "not acknowledged"}, tc.inError...) {
				if !strings.Contains(msg, want) {
					t.Errorf("error %q lacks %q", msg, want)
				}
			}
			if strings.Contains(msg, secret) || strings.Contains(msg, token) {
				t.Errorf("error %q holds the secret path or the token", msg)
			}
		})
	}
}

// When the acknowledgement query is refused for good after some requests
// were reported indexed, only the alerts of the others are refused: the
// indexed ones must not reach the dead-letter file (a replay of it would
// duplicate them). A request HEC itself refused keeps its own reason.
func TestHECRefusesOnlyTheUnacknowledgedAlertsWhenTheAckQueryIsRefused(t *testing.T) {
	var posts, ackQueries atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/services/collector/ack" {
			if ackQueries.Add(1) == 1 {
				hecAnswer(w, 200, `{"acks":{"0":true,"2":false}}`)
				return
			}
			hecAnswer(w, 400, `{"text":"ACK is disabled","code":14}`)
			return
		}
		switch n := posts.Add(1); n {
		case 2:
			hecAnswer(w, 400, `{"text":"Incorrect index","code":7}`)
		default:
			// ackIds 0 and 2 for the first and the third request
			hecAnswer(w, 200, fmt.Sprintf(`{"text":"Success","code":0,"ackId":%d}`, n-1))
		}
	}))
	defer srv.Close()
	// Each alert needs a request of its own.
	h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL, Token: "tok", Ack: true, MaxBatchBytes: 1, AckTimeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	err = h.Write(context.Background(), sinktest.Alerts(3, 23))
	var re *sink.RefusedError
	if !sink.IsPermanent(err) || !errors.As(err, &re) || !slices.Equal(re.Alerts, []int{1, 2}) {
		t.Fatalf("Write = %v, want a permanent RefusedError for alerts [1 2]", err)
	}
	if r := re.Reason(0).Error(); !strings.Contains(r, "Incorrect index") {
		t.Errorf("the alert HEC refused has reason %q, want HEC's", r)
	}
	if r := re.Reason(1).Error(); !strings.Contains(r, "ACK is disabled") || !strings.Contains(r, "probably indexed") {
		t.Errorf("the unacknowledged alert has reason %q, want the ack query's refusal", r)
	}
	if n := posts.Load(); n != 3 {
		t.Errorf("%d event requests, want 3", n)
	}
}

// hecAnswerer answers every request with status and body.
func hecAnswerer(status int, body string) func(http.ResponseWriter, *http.Request) {
	return func(w http.ResponseWriter, _ *http.Request) { hecAnswer(w, status, body) }
}

// Behind a load balancer, an ack query has to reach the HEC instance that
// took the events, and the balancers Splunk documents for indexer
// acknowledgement (an AWS ALB, for one) keep a client on one instance by
// a cookie they set. With Ack the sink sends back the cookies it was
// given, as every later request of the sink must: here an ack query
// without the balancer's cookie reaches an instance that never saw the
// events and does not acknowledge them.
func TestHECAckQueriesKeepTheBalancersStickyCookie(t *testing.T) {
	const cookie = "AWSALB"
	var posts, postsWithCookie, acksWithCookie atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		c, err := r.Cookie(cookie)
		sticky := err == nil && c.Value == "hec-2"
		if strings.HasSuffix(r.URL.Path, "/services/collector/ack") {
			if !sticky {
				hecAnswer(w, 200, `{"acks":{"0":false}}`) // another instance
				return
			}
			acksWithCookie.Add(1)
			hecAnswer(w, 200, `{"acks":{"0":true}}`)
			return
		}
		posts.Add(1)
		if sticky {
			postsWithCookie.Add(1)
		}
		http.SetCookie(w, &http.Cookie{Name: cookie, Value: "hec-2", Path: "/"})
		hecAnswer(w, 200, `{"text":"Success","code":0,"ackId":0}`)
	}))
	defer srv.Close()
	// AckTimeout only ends the wait of a sink that lost the cookie.
	h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL, Token: "tok", Ack: true, AckTimeout: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	for i := range 2 {
		if err := h.Write(context.Background(), sinktest.Alerts(2, int64(31+i))); err != nil {
			t.Fatalf("Write %d = %v, want the events acknowledged by the instance that took them", i+1, err)
		}
	}
	if n := acksWithCookie.Load(); n < 2 {
		t.Errorf("%d ack queries carried the balancer's cookie, want every one (2 or more)", n)
	}
	if p, pc := posts.Load(), postsWithCookie.Load(); p != 2 || pc != 1 {
		t.Errorf("%d event requests, %d with the cookie: want 2, the second with it", p, pc)
	}
}
