package sink_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/urlcred"
	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// channelParams returns the values of the channel parameters of the raw
// query q, in order, as Splunk reads them (decoded).
func channelParams(q string) []string {
	var out []string
	for _, part := range strings.Split(q, "&") {
		k, v, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(k); err != nil || k != "channel" {
			continue
		}
		if dec, err := url.QueryUnescape(v); err == nil {
			v = dec
		}
		out = append(out, v)
	}
	return out
}

// Splunk takes the channel from the X-Splunk-Request-Channel header or from
// a channel parameter of the query. With indexer acknowledgement, a HEC URL
// whose query names the channel (…/services/collector?channel=<GUID>, the
// form Splunk's own answers suggest) uses that channel: every event
// request and every ack query carry it, in the header and once in the
// query — never a second, generated channel beside it, which would ask
// Splunk about ackIds of a channel that never took the events.
func TestHECTakesTheChannelFromTheURLsQuery(t *testing.T) {
	const g1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
	for _, tc := range []struct {
		name, query, option string
		want                string // the channel every request carries
	}{
		{"the URL's channel alone", "?channel=" + g1, "", g1},
		{"the URL's channel beside another parameter", "?tenant=soc&channel=" + g1, "", g1},
		{"the URL's channel and the same Channel option", "?channel=" + g1 + "&tenant=soc", g1, g1},
		{"the URL's channel in upper case", "?channel=" + strings.ToUpper(g1), "", strings.ToUpper(g1)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, ak := writeToRecordingHEC(t, "/services/collector"+tc.query, sink.HECOptions{Token: "tok", Ack: true, Channel: tc.option})
			for what, reqs := range map[string][]hecRequest{"event request": ev, "ack query": ak} {
				for _, r := range reqs {
					if r.channel != tc.want {
						t.Errorf("%s with channel header %q, want %q", what, r.channel, tc.want)
					}
					if got := channelParams(r.rawQuery); len(got) != 1 || got[0] != tc.want {
						t.Errorf("%s query %q has channel parameters %q, want one, %q", what, r.rawQuery, got, tc.want)
					}
				}
			}
		})
	}
}

// A channel Splunk cannot take, or two channels that disagree, are refused
// when the sink is made, naming the setting at fault: Splunk answers 400
// "Invalid data channel" (HEC code 11) to a channel that is not a GUID,
// and of two channels, one in the URL's query and one in the header, it
// would take one for the events and maybe the other for the ack queries.
// The error does not repeat the channels (the URL's query is shown
// redacted elsewhere: a GUID looks like a token).
func TestNewHECRefusesAChannelSplunkCannotUse(t *testing.T) {
	const g1, g2 = "0f8fad5b-d9cb-469f-a165-70867728950e", "7c9e6679-7425-40de-944b-e07fc1f90ae7"
	for _, tc := range []struct {
		name, query, option string
		want                []string
	}{
		{"the URL's channel and another Channel option", "?channel=" + g1, g2, []string{"splunk_hec channel", "url"}},
		{"two channels in the URL's query", "?channel=" + g1 + "&channel=" + g2, "", []string{"splunk_hec url", "channel", "2 times"}},
		{"the same channel twice in the URL's query", "?channel=" + g1 + "&channel=" + g1, "", []string{"splunk_hec url", "channel", "2 times"}},
		{"an empty channel in the URL's query", "?tenant=soc&channel=", "", []string{"splunk_hec url", "channel", "empty"}},
		{"a channel in the URL's query that is not a GUID", "?channel=iocwatch-1", "", []string{"splunk_hec url", "channel", "GUID"}},
		{"a channel in the URL's query that does not decode", "?channel=%zz", "", []string{"splunk_hec url", "channel", "decode"}},
		{"the URL's Channel capitalised and another Channel option", "?Channel=" + g1, g2, []string{"splunk_hec channel", "url"}},
		{"channel and CHANNEL in the URL's query", "?channel=" + g1 + "&CHANNEL=" + g2, "", []string{"splunk_hec url", "channel", "2 times"}},
		{"two channels in the URL's query, one after a semicolon", "?tenant=soc;channel=" + g1 + "&channel=" + g2, "", []string{"splunk_hec url", "channel", "2 times"}},
		{"a Channel in the URL's query that is not a GUID", "?Channel=iocwatch-1", "", []string{"splunk_hec url", "channel", "GUID"}},
		{"a channel in the URL's query followed by a semicolon", "?channel=" + g1 + ";tenant=soc", "", []string{"splunk_hec url", "channel", "';'", "'&'"}},
		{"a Channel option that is not a GUID", "", "iocwatch-1", []string{"splunk_hec channel", "GUID"}},
		{"a Channel option with a newline", "", g1 + "\nX-Evil: 1", []string{"splunk_hec channel", "GUID"}},
		{"a Channel option in braces", "", "{" + g1 + "}", []string{"splunk_hec channel", "GUID"}},
		{"a Channel option without hyphens", "", strings.ReplaceAll(g1, "-", ""), []string{"splunk_hec channel", "GUID"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, err := sink.NewHEC(sink.HECOptions{URL: "https://splunk.example:8088/services/collector" + tc.query, Token: "tok", Ack: true, Channel: tc.option})
			if err == nil {
				h.Close(context.Background())
				t.Fatal("NewHEC accepted the channel")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("NewHEC = %v, want an error with %q", err, w)
				}
			}
			for _, g := range []string{g1, g2} {
				if strings.Contains(err.Error(), g) {
					t.Errorf("NewHEC = %v: repeats the channel %s", err, g)
				}
			}
		})
	}
	// Without indexer acknowledgement the sink uses no channel: the URL's
	// query goes out as written and the Channel option is ignored.
	h, err := sink.NewHEC(sink.HECOptions{URL: "https://splunk.example:8088/services/collector?channel=" + g1 + "&channel=x", Token: "tok", Channel: "x"})
	if err != nil {
		t.Fatalf("NewHEC without Ack = %v, want the URL and the option taken as they are", err)
	}
	h.Close(context.Background())
}

// splunkAcks is a HEC with indexer acknowledgement that keeps, as Splunk
// does, its channels and their ackIds in memory: a channel is made when a
// request first names it, every request needs a channel that is a GUID
// (else 400 "Invalid data channel", code 11), and restart forgets them
// all, the events not yet indexed with them. A request's events are
// indexed (recorded) at its first ack query.
type splunkAcks struct {
	mu       sync.Mutex
	channels map[string]map[int64][]sink.Alert // channel → ackId → events not yet reported indexed
	next     map[string]int64
	indexed  []sink.Alert
	posts    int
}

func (s *splunkAcks) restart() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.channels, s.next = nil, nil
}

func (s *splunkAcks) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(r.Body)
	ch := r.Header.Get("X-Splunk-Request-Channel")
	if ch == "" {
		hecAnswer(w, 400, `{"text":"Data channel is missing","code":10}`)
		return
	}
	if !urlcred.IsUUID(ch) {
		hecAnswer(w, 400, `{"text":"Invalid data channel","code":11}`)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.channels == nil {
		s.channels, s.next = map[string]map[int64][]sink.Alert{}, map[string]int64{}
	}
	if s.channels[ch] == nil {
		s.channels[ch] = map[int64][]sink.Alert{}
	}
	if strings.HasSuffix(r.URL.Path, "/ack") {
		var q struct{ Acks []int64 }
		if err := json.Unmarshal(raw, &q); err != nil {
			hecAnswer(w, 400, `{"text":"Invalid data format","code":6}`)
			return
		}
		var parts []string
		for _, id := range q.Acks {
			alerts, ok := s.channels[ch][id]
			if ok {
				s.indexed = append(s.indexed, alerts...)
				delete(s.channels[ch], id)
			}
			parts = append(parts, fmt.Sprintf("%q:%v", fmt.Sprint(id), ok))
		}
		hecAnswer(w, 200, `{"acks":{`+strings.Join(parts, ",")+`}}`)
		return
	}
	s.posts++
	alerts, err := (&fakeHEC{meta: map[string]string{"sourcetype": "iocwatch:alert"}}).decode(raw)
	if err != nil {
		hecAnswer(w, 400, `{"text":"Invalid data format","code":6}`)
		return
	}
	id := s.next[ch]
	s.next[ch]++
	s.channels[ch][id] = alerts
	hecAnswer(w, 200, fmt.Sprintf(`{"text":"Success","code":0,"ackId":%d}`, id))
}

// A Splunk restart loses the channels and the acknowledgement state it
// keeps in memory, and the events it had not indexed yet. Splunk does not
// answer the next ack query with a refusal: "Invalid data channel" (HEC
// code 11) is its answer to a channel that is not a GUID, which NewHEC
// refuses. The channel, a GUID, is simply new to it, and the ackIds asked
// about are not reported indexed (as long as no request since was given
// them: see the tests below). That Write fails retryably once
// AckTimeout passes — no alert refused, none dead-lettered as "probably
// indexed" — and the retry sends the events again on the same channel,
// which Splunk then acknowledges.
func TestHECResendsWhatASplunkRestartForgot(t *testing.T) {
	s := &splunkAcks{}
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/ack") {
			once.Do(s.restart) // between the events and the first ack query
		}
		s.ServeHTTP(w, r)
	}))
	defer srv.Close()
	h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL, Token: "tok", Ack: true, AckTimeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	alerts := sinktest.Alerts(3, 41)
	err = h.Write(context.Background(), alerts)
	var re *sink.RefusedError
	if err == nil || sink.IsPermanent(err) || errors.As(err, &re) {
		t.Fatalf("Write across a restart = %v, want a retryable error (the events are lost, not indexed)", err)
	}
	if err := h.Write(context.Background(), alerts); err != nil {
		t.Fatalf("the retry = %v, want the events acknowledged", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.indexed) != len(alerts) || s.posts != 2 {
		t.Errorf("%d alerts indexed in %d requests, want %d in 2 (one lost to the restart, one resent)", len(s.indexed), s.posts, len(alerts))
	}
}

// channelReadings are the ways a server may read a channel parameter out
// of a raw query: as Go and the standard do (the key "channel" exactly,
// parameters separated by '&'), and more loosely (the key in any case,
// ';' separating parameters too, as some servers split).
var channelReadings = map[string]func(q string) []string{
	"strict": channelParams,
	"loose": func(q string) []string {
		var out []string
		for _, part := range strings.FieldsFunc(q, func(r rune) bool { return r == '&' || r == ';' }) {
			k, v, _ := strings.Cut(part, "=")
			if k, err := url.QueryUnescape(k); err != nil || !strings.EqualFold(k, "channel") {
				continue
			}
			if dec, err := url.QueryUnescape(v); err == nil {
				v = dec
			}
			out = append(out, v)
		}
		return out
	},
}

// How Splunk reads a channel parameter out of a query is not documented
// beyond channel=<GUID>: a URL whose query names the channel in another
// case (Channel=), with its key percent-encoded, or after a ';' holds
// what Splunk may or may not take for a channel. The sink's channel is
// then that one, so that whichever way Splunk reads the query, every
// event request and ack query names one channel, the header's: never a
// generated one in the header beside another in the query.
func TestHECChannelAgreesWithEveryReadingOfTheQuery(t *testing.T) {
	const g1 = "0f8fad5b-d9cb-469f-a165-70867728950e"
	for _, tc := range []struct {
		name, query, option string
	}{
		{"Channel capitalised", "?Channel=" + g1, ""},
		{"CHANNEL in upper case beside another parameter", "?CHANNEL=" + g1 + "&tenant=soc", ""},
		{"Channel capitalised and the same Channel option", "?Channel=" + g1, g1},
		{"channel after a semicolon", "?tenant=soc;channel=" + g1, ""},
		{"channel with a percent-encoded key", "?%63hannel=" + g1, ""},
		{"Channel with a percent-encoded capital", "?%43hannel=" + g1, ""},
		{"channel with a percent-encoded value", "?channel=" + strings.ReplaceAll(g1, "-", "%2D"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, ak := writeToRecordingHEC(t, "/services/collector"+tc.query, sink.HECOptions{Token: "tok", Ack: true, Channel: tc.option})
			for what, reqs := range map[string][]hecRequest{"event request": ev, "ack query": ak} {
				for _, r := range reqs {
					if r.channel != g1 {
						t.Errorf("%s with channel header %q, want %q", what, r.channel, g1)
					}
					for reading, params := range channelReadings {
						if got := params(r.rawQuery); len(got) > 1 || len(got) == 1 && got[0] != g1 {
							t.Errorf("%s query %q read %s has channel parameters %q, want at most one, %q", what, r.rawQuery, reading, got, g1)
						}
					}
				}
			}
		})
	}
}

// Splunk numbers the requests of a channel from ackId 0; after a restart
// (or a failover to another instance) the sink's channel is new to it and
// counts from 0 again, so a Write that spans the restart can be given, for
// a request after it, the ackId of one before it that Splunk lost. One
// Write posts its requests one after another, each answered before the
// next is sent, so their ackIds only grow: an ackId not above the one
// before it in the same Write means the count was reset, and the Write
// fails retryably (the events are sent again) instead of taking the new
// request's acknowledgement for the lost one's.
func TestHECAckIDsCountingAgainWithinAWriteAreAReset(t *testing.T) {
	for _, restartAfter := range []int{1, 2} {
		t.Run(fmt.Sprintf("restart after request %d of 3", restartAfter), func(t *testing.T) {
			s := &splunkAcks{}
			var mu sync.Mutex
			posts := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				s.ServeHTTP(w, r)
				if strings.HasSuffix(r.URL.Path, "/ack") {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if posts++; posts == restartAfter {
					s.restart() // the request just answered is lost
				}
			}))
			defer srv.Close()
			h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL, Token: "tok", Ack: true, MaxBatchBytes: 1, AckTimeout: 200 * time.Millisecond})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close(context.Background())
			alerts := sinktest.Alerts(3, 43) // one request each
			err = h.Write(context.Background(), alerts)
			var re *sink.RefusedError
			if err == nil || sink.IsPermanent(err) || errors.As(err, &re) {
				s.mu.Lock()
				n := len(s.indexed)
				s.mu.Unlock()
				t.Fatalf("Write across a restart = %v with %d of %d alerts indexed, want a retryable error", err, n, len(alerts))
			}
			if err := h.Write(context.Background(), alerts); err != nil {
				t.Fatalf("the retry = %v, want the events acknowledged", err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			indexed := map[string]bool{}
			for _, a := range s.indexed {
				indexed[a.AlertID] = true
			}
			for _, a := range alerts {
				if !indexed[a.AlertID] {
					t.Errorf("alert %s acknowledged but never indexed", a.AlertID)
				}
			}
		})
	}
}

// Concurrent Writes share the sink's channel. When Splunk restarts while
// one Write waits for its acknowledgement, another Write's requests on the
// channel, new to Splunk, are numbered from ackId 0 again and can be given
// the waiting Write's ackId: the answer "indexed" to its ack query is then
// about the other Write's events, and its own, lost in the restart, must
// not be taken for indexed. An ackId given out while another request
// still waits on it can only come from a reset count: the waiting Write
// fails retryably and its events are sent again.
func TestHECAckIDReusedByAnotherWriteAfterARestart(t *testing.T) {
	s := &splunkAcks{}
	var mu sync.Mutex
	posts := 0
	aQuerying, bPosted := make(chan struct{}), make(chan struct{})
	var firstAck sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/ack") {
			// Write A's first ack query waits until Write B posted.
			firstAck.Do(func() {
				close(aQuerying)
				<-bPosted
			})
			s.ServeHTTP(w, r)
			return
		}
		s.ServeHTTP(w, r)
		mu.Lock()
		defer mu.Unlock()
		switch posts++; posts {
		case 1:
			s.restart() // A's request, just answered, is lost
		case 2:
			close(bPosted)
		}
	}))
	defer srv.Close()
	h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL, Token: "tok", Ack: true, AckTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	a, b := sinktest.Alerts(2, 44), sinktest.Alerts(3, 45)
	aDone := make(chan error, 1)
	go func() { aDone <- h.Write(context.Background(), a) }()
	<-aQuerying
	bDone := make(chan error, 1)
	go func() { bDone <- h.Write(context.Background(), b) }()
	aErr, bErr := <-aDone, <-bDone
	var re *sink.RefusedError
	if aErr == nil || sink.IsPermanent(aErr) || errors.As(aErr, &re) {
		t.Fatalf("the Write whose events the restart lost = %v, want a retryable error", aErr)
	}
	for _, w := range []struct {
		alerts []sink.Alert
		err    error
	}{{a, aErr}, {b, bErr}} {
		if w.err == nil {
			continue
		}
		if err := h.Write(context.Background(), w.alerts); err != nil {
			t.Fatalf("the retry = %v, want the events acknowledged", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	indexed := map[string]bool{}
	for _, x := range s.indexed {
		indexed[x.AlertID] = true
	}
	for _, x := range append(a, b...) {
		if !indexed[x.AlertID] {
			t.Errorf("alert %s acknowledged but never indexed", x.AlertID)
		}
	}
}
