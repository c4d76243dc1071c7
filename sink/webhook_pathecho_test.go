package sink_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// The secret paths the tests below send to: Slack's (long), a short token
// after a plain word, a short token alone, and a short token in front of
// HEC's own path (a gateway).
var echoedPaths = []struct {
	name, path, where, secret string
}{
	{"slack", "/services/T0001AAAA/B0002BBBB/slackSecretXq7Lm2Vb9Rt4", "/services/…", "slackSecretXq7Lm2Vb9Rt4"},
	{"a short token after a word", "/hooks/Xk29sLq", "/hooks/…", "Xk29sLq"},
	{"a short token alone", "/Xk29sLq4", "/…", "Xk29sLq4"},
}

// newSecretPathSink returns the webhook or HEC sink for srvURL+path.
func newSecretPathSink(t *testing.T, kind, srvURL, path string, ack bool) sink.Sink {
	t.Helper()
	var s sink.Sink
	var err error
	if kind == "webhook" {
		s, err = sink.NewWebhook(sink.WebhookOptions{URL: srvURL + path})
	} else {
		s, err = sink.NewHEC(sink.HECOptions{URL: srvURL + path, Token: "5d3c2b1a-hec0-4e5f-9a8b-7c6d5e4f3a2b", Ack: ack})
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// A failed round trip is not an HTTP answer, but its error may still quote
// what the peer sent: the Location of a redirect that does not parse, or
// the first line of a peer that is not HTTP and echoes the request line it
// read (a wrong port, an echo service). The sink's error — permanent for
// the redirect (see TestHTTPSinksFileARedirectTheyCannotFollowAtOnce),
// retryable as any transport error for the other — names the endpoint and
// never the secret path.
func TestTransportErrorsNeverShowTheSecretPathAPeerEchoes(t *testing.T) {
	badLocation := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Location", r.URL.EscapedPath()+"/100%")
		w.WriteHeader(http.StatusFound)
	}))
	defer badLocation.Close()
	echo := rawTCPServer(t, func(c net.Conn) {
		line, _ := bufio.NewReader(c).ReadString('\n')
		_, _ = io.WriteString(c, line)
	})
	for _, p := range []struct {
		peer, srvURL string
		permanent    bool
	}{
		{"a redirect whose Location does not parse", badLocation.URL, true},
		{"a peer echoing the request line", "http://" + echo, false},
	} {
		peer, srvURL := p.peer, p.srvURL
		for _, kind := range []string{"webhook", "splunk_hec"} {
			for _, tc := range echoedPaths {
				t.Run(fmt.Sprintf("%s, %s, %s", peer, kind, tc.name), func(t *testing.T) {
					s := newSecretPathSink(t, kind, srvURL, tc.path, false)
					err := s.Write(context.Background(), sinktest.Alerts(1, 1))
					if err == nil {
						t.Fatal("the round trip failed, but Write succeeded")
					}
					if strings.Contains(err.Error(), tc.secret) {
						t.Errorf("error holds %q: %s", tc.secret, err)
					}
					if want := "POST " + srvURL + tc.where + ": "; !strings.Contains(err.Error(), want) {
						t.Errorf("error %q does not name the endpoint as %q", err, want)
					}
					if sink.IsPermanent(err) != p.permanent {
						t.Errorf("IsPermanent(%v) = %v, want %v", err, sink.IsPermanent(err), p.permanent)
					}
				})
			}
		}
	}
}

// A peer's error page repeats the path (and query) it was sent: the sink
// scrubs it from its answer however short the secret in it, in the forms
// error pages use, the event and the acknowledgement path of HEC alike.
func TestSinkErrorsNeverShowAShortSecretPathAPeerEchoes(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if strings.HasPrefix(r.URL.Path, "/ack/") && strings.HasSuffix(r.URL.Path, "/services/collector/event") {
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, `{"text":"Success","code":0,"ackId":1}`)
			return
		}
		w.WriteHeader(http.StatusNotFound)
		// As an Express, a Go and a Laravel error page name it: the path
		// as sent, decoded, and without its leading '/' in JSON (which
		// PHP writes with each '/' escaped).
		route, _ := json.Marshal(fmt.Sprintf("The route %s could not be found.", strings.TrimPrefix(r.URL.Path, "/")))
		fmt.Fprintf(w, "Cannot POST %s (%s, %s) %s", r.URL.RequestURI(), r.URL.EscapedPath(), r.URL.Path, strings.ReplaceAll(string(route), "/", `\/`))
	}))
	defer srv.Close()
	cases := []struct {
		name, kind, path, where string
		ack                     bool
		secrets                 []string
	}{
		{"a short token after a word", "webhook", "/hooks/Xk29sLq", "/hooks/…", false, []string{"Xk29sLq"}},
		{"a short token alone", "webhook", "/Xk29sLq4", "/…", false, []string{"Xk29sLq4"}},
		{"a short percent-encoded token", "webhook", "/hooks/Xk%2F9sLq", "/hooks/…", false, []string{"Xk%2F9sLq", "Xk/9sLq"}},
		{"a short token in the query", "webhook", "/api/alerts?t=Xk29sLq", "/api/…?…", false, []string{"Xk29sLq"}},
		{"a short gateway token", "splunk_hec", "/gw/Xk29sLq", "/gw/…", false, []string{"Xk29sLq"}},
		{"a short gateway token, acknowledged", "splunk_hec", "/ack/Xk29sLq", "/ack/…", true, []string{"Xk29sLq"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newSecretPathSink(t, tc.kind, srv.URL, tc.path, tc.ack)
			err := s.Write(context.Background(), sinktest.Alerts(1, 1))
			if err == nil {
				t.Fatal("the peer refused, but Write succeeded")
			}
			for _, secret := range tc.secrets {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error holds %q: %s", secret, err)
				}
			}
			if !strings.Contains(err.Error(), "POST "+srv.URL+tc.where+": ") || !strings.Contains(err.Error(), "Cannot POST [redacted]") {
				t.Errorf("error %q does not name the endpoint as %q and show the scrubbed answer", err, tc.where)
			}
		})
	}
}

// What Endpoint shows is not scrubbed: Splunk's own paths, and an answer
// about another path of the same host.
func TestSinkErrorsKeepThePathsThatAreShown(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprintf(w, "Cannot POST %s; try /services/collector/raw or /hooks/other", r.URL.Path)
	}))
	defer srv.Close()
	for _, tc := range []struct{ kind, path, want string }{
		{"splunk_hec", "", "Cannot POST /services/collector/event; try /services/collector/raw or /hooks/other"},
		{"webhook", "/hooks/Xk29sLq", "Cannot POST [redacted]; try /services/collector/raw or /hooks/other"},
	} {
		s := newSecretPathSink(t, tc.kind, srv.URL, tc.path, false)
		err := s.Write(context.Background(), sinktest.Alerts(1, 1))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %q: error %v, want it to hold %q", tc.kind, tc.path, err, tc.want)
		}
	}
}

// The reason phrase of an HTTP/1 status line is the peer's to choose, and
// some servers name the path there ("404 No route POST /hooks/…"): the
// error shows the status scrubbed and sanitised as the answer's excerpt
// is, for a refusal (which goes to the dead-letter file as it is), a
// retryable status, and HEC's acknowledgement query alike.
func TestSinkErrorsNeverShowTheSecretPathOfAStatusLine(t *testing.T) {
	srvURL := "http://" + rawTCPServer(t, func(c net.Conn) {
		req, err := http.ReadRequest(bufio.NewReader(c))
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, req.Body)
		status := "404 No route \x1b[31mPOST " + req.URL.EscapedPath()
		switch {
		case strings.HasPrefix(req.URL.Path, "/retry/"):
			status = "503 Busy \x1b[31mPOST " + req.URL.EscapedPath()
		case strings.HasPrefix(req.URL.Path, "/ack/") && strings.HasSuffix(req.URL.Path, "/event"):
			body := `{"text":"Success","code":0,"ackId":1}`
			_, _ = fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s", len(body), body)
			return
		}
		_, _ = fmt.Fprintf(c, "HTTP/1.1 %s\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", status)
	})
	cases := []struct {
		name, kind, path, where, secret string
		ack                             bool
	}{
		{"retryable", "webhook", "/retry/Xk29sLq", "/retry/…", "Xk29sLq", false},
		{"acknowledgement", "splunk_hec", "/ack/Xk29sLq", "/ack/…", "Xk29sLq", true},
	}
	for _, kind := range []string{"webhook", "splunk_hec"} {
		for _, p := range echoedPaths {
			cases = append(cases, struct {
				name, kind, path, where, secret string
				ack                             bool
			}{p.name, kind, p.path, p.where, p.secret, false})
		}
	}
	for _, tc := range cases {
		t.Run(tc.kind+", "+tc.name, func(t *testing.T) {
			s := newSecretPathSink(t, tc.kind, srvURL, tc.path, tc.ack)
			err := s.Write(context.Background(), sinktest.Alerts(1, 1))
			if err == nil {
				t.Fatal("the peer refused, but Write succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, tc.secret) || strings.Contains(msg, "\x1b") {
				t.Errorf("error holds %q or a control character: %q", tc.secret, msg)
			}
			if !strings.Contains(msg, "POST "+srvURL+tc.where+": ") || !strings.Contains(msg, "POST [redacted]") {
				t.Errorf("error %q does not name the endpoint as %q and show the scrubbed status", msg, tc.where)
			}
		})
	}
}

// rawTCPServer serves each connection to a loopback listener with handle
// (the connection is closed after it) until the test ends, and returns the
// listener's address: a peer that writes its answers by hand.
func rawTCPServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return ln.Addr().String()
}
