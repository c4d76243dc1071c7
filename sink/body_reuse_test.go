package sink_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
)

// answerFirstServer answers every request at once, before it reads the
// body, then reads the body slowly: the HTTP client's transport is still
// sending a body after Do returned. It returns the URL and the bodies
// received (as much of each as arrived).
func answerFirstServer(t *testing.T, answer string) (string, func() []string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var bodies []string
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer c.Close()
				r := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(r)
					if err != nil {
						return
					}
					fmt.Fprintf(c, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", len(answer), answer)
					time.Sleep(50 * time.Millisecond)
					b, err := io.ReadAll(req.Body) // what arrived, when the client gave up on the rest
					mu.Lock()
					bodies = append(bodies, string(b))
					mu.Unlock()
					if err != nil {
						return
					}
				}
			})
		}
	})
	return "http://" + ln.Addr().String(), func() []string {
		mu.Lock()
		defer mu.Unlock()
		return bodies
	}
}

// bigAlerts returns alerts whose command lines are 4 MiB of their own
// letter, so that a body overwritten by the next alert's shows.
func bigAlerts(letters string) []sink.Alert {
	var out []sink.Alert
	for _, l := range letters {
		out = append(out, sink.Alert{AlertID: string(l) + "-id", DetectedAt: time.Unix(1700000000, 0), Timestamp: time.Unix(1700000000, 0),
			DeviceID: "d", DeviceName: "h", CommandLine: strings.Repeat(string(l), 4<<20)})
	}
	return out
}

// A request body is never reused for the next request: the transport may
// still be sending it when the server answered early (run with -race: the
// reuse is a data race; without it, a body holding two alerts' letters
// shows it, when the timing lets it).
func TestHTTPSinksNeverReuseABodyTheTransportMayStillRead(t *testing.T) {
	for _, tc := range []struct {
		name string
		open func(url string) (sink.Sink, error)
	}{
		{"webhook", func(url string) (sink.Sink, error) { return sink.NewWebhook(sink.WebhookOptions{URL: url}) }},
		{"splunk_hec", func(url string) (sink.Sink, error) {
			return sink.NewHEC(sink.HECOptions{URL: url, Token: "t", MaxBatchBytes: 1 << 20})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url, bodies := answerFirstServer(t, `{"text":"Success","code":0}`)
			s, err := tc.open(url)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Write(context.Background(), bigAlerts("abc")); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(context.Background()); err != nil {
				t.Fatal(err)
			}
			// The client may give up sending a body the server answered
			// early; what arrived of each must be one alert's.
			time.Sleep(200 * time.Millisecond)
			for i, b := range bodies() {
				letters := 0
				for _, l := range "abc" {
					if strings.Contains(b, strings.Repeat(string(l), 64)) {
						letters++
					}
				}
				if letters > 1 {
					t.Errorf("body %d (%d bytes) holds %d alerts' command lines, want one", i, len(b), letters)
				}
			}
		})
	}
}
