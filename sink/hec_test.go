package sink_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// fakeHEC is a Splunk HTTP Event Collector: it checks the token, the
// path, gzip, the envelope of every event (time as epoch seconds with
// exactly three decimals, the configured metadata), records the alerts
// and, with indexer acknowledgement, hands out ackIds that turn true on
// the second query.
type fakeHEC struct {
	t          testing.TB
	token      string
	meta       map[string]string // expected host/source/sourcetype/index ("" = absent)
	maxBody    int               // uncompressed bound; 0 = none
	ack        bool
	rec        alertRecorder
	requests   atomic.Int64
	gzipped    atomic.Int64
	ackQueries atomic.Int64

	mu      sync.Mutex
	nextAck int64
	pending map[int64][]sink.Alert // ackId → alerts, recorded when acked
	polled  map[int64]int
	channel string

	// respond, when set, overrides the answer to an event request.
	respond func() (status int, body string)
}

var hecTime = regexp.MustCompile(`^-?[0-9]+\.[0-9]{3}$`)

func (f *fakeHEC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/services/collector/event":
		f.event(w, r)
	case "/services/collector/ack":
		f.ackQuery(w, r)
	default:
		f.t.Errorf("fake HEC: unexpected path %s", r.URL.Path)
		hecAnswer(w, 404, `{"text":"The requested URL was not found on this server.","code":404}`)
	}
}

func hecAnswer(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

func (f *fakeHEC) event(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	if r.Header.Get("Authorization") != "Splunk "+f.token {
		hecAnswer(w, 403, `{"text":"Invalid token","code":4}`)
		f.t.Errorf("fake HEC: bad Authorization %q", r.Header.Get("Authorization"))
		return
	}
	var body io.Reader = r.Body
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			f.t.Errorf("fake HEC: gzip: %v", err)
			hecAnswer(w, 400, `{"text":"Invalid data format","code":6}`)
			return
		}
		f.gzipped.Add(1)
		body = zr
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		f.t.Errorf("fake HEC: read: %v", err)
		hecAnswer(w, 400, `{"text":"Invalid data format","code":6}`)
		return
	}
	if f.respond != nil {
		status, b := f.respond()
		if status != 200 {
			hecAnswer(w, status, b)
			return
		}
	}
	alerts, err := f.decode(raw)
	if err != nil {
		f.t.Errorf("fake HEC: %v", err)
		hecAnswer(w, 400, `{"text":"Invalid data format","code":6,"invalid-event-number":0}`)
		return
	}
	if f.maxBody > 0 && len(raw) > f.maxBody && len(alerts) > 1 {
		f.t.Errorf("fake HEC: a %d-byte body of %d events exceeds MaxBatchBytes %d", len(raw), len(alerts), f.maxBody)
	}
	if !f.ack {
		f.rec.add(alerts...)
		hecAnswer(w, 200, `{"text":"Success","code":0}`)
		return
	}
	ch := r.Header.Get("X-Splunk-Request-Channel")
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch == "" || (f.channel != "" && ch != f.channel) {
		f.t.Errorf("fake HEC: channel %q (first was %q)", ch, f.channel)
		hecAnswer(w, 400, `{"text":"Data channel is missing","code":10}`)
		return
	}
	f.channel = ch
	id := f.nextAck
	f.nextAck++
	if f.pending == nil {
		f.pending, f.polled = map[int64][]sink.Alert{}, map[int64]int{}
	}
	f.pending[id] = alerts
	hecAnswer(w, 200, fmt.Sprintf(`{"text":"Success","code":0,"ackId":%d}`, id))
}

// decode splits a body of concatenated event envelopes.
func (f *fakeHEC) decode(raw []byte) ([]sink.Alert, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out []sink.Alert
	for {
		var env map[string]json.RawMessage
		err := dec.Decode(&env)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("event %d: %w", len(out), err)
		}
		tm := string(env["time"])
		if !hecTime.MatchString(tm) {
			return nil, fmt.Errorf("event %d: time %s is not epoch seconds with 3 decimals", len(out), tm)
		}
		for _, k := range []string{"host", "source", "sourcetype", "index"} {
			var v string
			if raw, ok := env[k]; ok {
				if err := json.Unmarshal(raw, &v); err != nil {
					return nil, fmt.Errorf("event %d: %s: %w", len(out), k, err)
				}
			}
			if v != f.meta[k] {
				return nil, fmt.Errorf("event %d: %s = %q, want %q", len(out), k, v, f.meta[k])
			}
		}
		var a sink.Alert
		if err := json.Unmarshal(env["event"], &a); err != nil {
			return nil, fmt.Errorf("event %d: %w", len(out), err)
		}
		// The event time; a summary's is the latest it reports.
		want := a.Timestamp
		switch {
		case a.RepeatCount > 0 && !a.LastSeen.IsZero():
			want = a.LastSeen
		case want.IsZero():
			want = a.DetectedAt
		}
		if sec, _ := strconv.ParseFloat(tm, 64); int64(math.Round(sec*1000)) != want.UnixMilli() {
			return nil, fmt.Errorf("event %d: time %s, want %d ms", len(out), tm, want.UnixMilli())
		}
		out = append(out, a)
	}
	if len(out) == 0 {
		return nil, errors.New("no events")
	}
	return out, nil
}

func (f *fakeHEC) ackQuery(w http.ResponseWriter, r *http.Request) {
	f.ackQueries.Add(1)
	if r.Header.Get("Authorization") != "Splunk "+f.token {
		hecAnswer(w, 403, `{"text":"Invalid token","code":4}`)
		return
	}
	var q struct {
		Acks []int64 `json:"acks"`
	}
	if err := json.NewDecoder(r.Body).Decode(&q); err != nil {
		f.t.Errorf("fake HEC: ack query: %v", err)
		hecAnswer(w, 400, `{"text":"Invalid data format","code":6}`)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if ch := r.URL.Query().Get("channel"); ch != f.channel {
		f.t.Errorf("fake HEC: ack query for channel %q, events went to %q", ch, f.channel)
	}
	res := map[string]bool{}
	for _, id := range q.Acks {
		f.polled[id]++
		// Indexed only at the second query: the sink has to poll.
		if alerts, ok := f.pending[id]; ok && f.polled[id] >= 2 {
			f.rec.add(alerts...)
			delete(f.pending, id)
		}
		_, still := f.pending[id]
		res[strconv.FormatInt(id, 10)] = !still
	}
	b, _ := json.Marshal(map[string]any{"acks": res})
	hecAnswer(w, 200, string(b))
}

// newHECServer serves f over TLS and returns the server and its CA file.
func newHECServer(t testing.TB, f *fakeHEC) (*httptest.Server, string) {
	t.Helper()
	pki := newNetPKI(t)
	srv := httptest.NewUnstartedServer(f)
	srv.TLS = pki.ServerTLS(false)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, pki.CAFile
}

func TestHECConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  sink.HECOptions
	}{
		{"plain JSON, default metadata", sink.HECOptions{}},
		{"gzip, small batches and all metadata", sink.HECOptions{Gzip: true, MaxBatchBytes: 4000, Index: "soc", Source: "iocwatch", Host: "ioc-01", SourceType: "iocwatch:alert:v1"}},
		{"indexer acknowledgement", sink.HECOptions{Ack: true, MaxBatchBytes: 6000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sinktest.Run(t, func(t *testing.T) (sink.Sink, func() []sink.Alert) {
				st := tc.opt.SourceType
				if st == "" {
					st = "iocwatch:alert"
				}
				f := &fakeHEC{t: t, token: "0000-hec-token", ack: tc.opt.Ack, maxBody: tc.opt.MaxBatchBytes,
					meta: map[string]string{"host": tc.opt.Host, "source": tc.opt.Source, "sourcetype": st, "index": tc.opt.Index}}
				srv, caFile := newHECServer(t, f)
				opt := tc.opt
				opt.URL, opt.Token = srv.URL, f.token
				opt.TLS.CAFile = caFile
				h, err := sink.NewHEC(opt)
				if err != nil {
					t.Fatal(err)
				}
				return h, f.rec.all
			})
		})
	}
}

func TestHECBatchesByBytes(t *testing.T) {
	alerts := sinktest.Alerts(40, 21)
	for _, tc := range []struct {
		name     string
		maxBytes int
		gzip     bool
		minReq   int64
		maxReq   int64
	}{
		{"one request when everything fits", 10_000_000, false, 1, 1},
		{"several requests under a small bound", 5000, false, 6, 40},
		{"gzip does not change the uncompressed bound", 5000, true, 6, 40},
		{"an event larger than the bound goes alone", 10, false, 40, 40},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeHEC{t: t, token: "tok", maxBody: tc.maxBytes, meta: map[string]string{"sourcetype": "iocwatch:alert"}}
			srv := httptest.NewServer(f)
			defer srv.Close()
			h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL + "/services/collector/event", Token: "tok", MaxBatchBytes: tc.maxBytes, Gzip: tc.gzip})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close(context.Background())
			if err := h.Write(context.Background(), alerts); err != nil {
				t.Fatal(err)
			}
			if n := f.requests.Load(); n < tc.minReq || n > tc.maxReq {
				t.Errorf("%d requests, want %d to %d", n, tc.minReq, tc.maxReq)
			}
			if tc.gzip && f.gzipped.Load() != f.requests.Load() {
				t.Errorf("%d of %d requests gzipped", f.gzipped.Load(), f.requests.Load())
			}
			got := f.rec.all()
			if len(got) != len(alerts) {
				t.Fatalf("received %d alerts, want %d", len(got), len(alerts))
			}
			for i := range got { // batches go in order
				if got[i].AlertID != alerts[i].AlertID {
					t.Fatalf("alert %d is %s, want %s", i, got[i].AlertID, alerts[i].AlertID)
				}
			}
		})
	}
}

func TestHECWaitsForIndexerAcknowledgement(t *testing.T) {
	f := &fakeHEC{t: t, token: "tok", ack: true, meta: map[string]string{"sourcetype": "iocwatch:alert"}}
	srv := httptest.NewServer(f)
	defer srv.Close()
	h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL, Token: "tok", Ack: true, MaxBatchBytes: 3000, Channel: "11111111-2222-4333-8444-555555555555"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	alerts := sinktest.Alerts(10, 22)
	if err := h.Write(context.Background(), alerts); err != nil {
		t.Fatal(err)
	}
	// The fake indexes a request only at its second ack query: nil from
	// Write means the sink polled until every request was indexed.
	if got := len(f.rec.ids()); got != len(alerts) {
		t.Errorf("%d alerts indexed when Write returned, want %d", got, len(alerts))
	}
	if f.ackQueries.Load() < 2 {
		t.Errorf("%d ack queries, want at least 2", f.ackQueries.Load())
	}
	if f.channel != "11111111-2222-4333-8444-555555555555" {
		t.Errorf("channel %q, want the configured one", f.channel)
	}
}

// A HEC URL with a query of its own (a gateway's parameter) keeps it on the
// ack query, beside the channel.
func TestHECAckQueryKeepsTheURLsQuery(t *testing.T) {
	f := &fakeHEC{t: t, token: "tok", ack: true, meta: map[string]string{"sourcetype": "iocwatch:alert"}}
	var mu sync.Mutex
	var ackQueries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/ack") {
			mu.Lock()
			ackQueries = append(ackQueries, r.URL.RawQuery)
			mu.Unlock()
		}
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	const channel = "11111111-2222-4333-8444-555555555555"
	h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL + "/services/collector/event?tenant=soc", Token: "tok", Ack: true, Channel: channel})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	if err := h.Write(context.Background(), sinktest.Alerts(2, 1)); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(ackQueries) == 0 {
		t.Fatal("no ack query")
	}
	for _, q := range ackQueries {
		v, err := url.ParseQuery(q)
		if err != nil || v.Get("tenant") != "soc" || v.Get("channel") != channel {
			t.Errorf("ack query %q, want tenant=soc and channel=%s", q, channel)
		}
	}
}

func TestHECAckTimeoutIsRetryable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/services/collector/ack" {
			hecAnswer(w, 200, `{"acks":{"0":false}}`) // never indexed
			return
		}
		hecAnswer(w, 200, `{"text":"Success","code":0,"ackId":0}`)
	}))
	defer srv.Close()
	h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL, Token: "tok", Ack: true, AckTimeout: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	err = h.Write(context.Background(), sinktest.Alerts(1, 1))
	if err == nil || sink.IsPermanent(err) || !strings.Contains(err.Error(), "not acknowledged") {
		t.Errorf("Write = %v, want a retryable not-acknowledged error", err)
	}
}

func TestHECClassifiesAnswers(t *testing.T) {
	for _, tc := range []struct {
		name      string
		status    int
		body      string
		header    map[string]string
		refused   bool
		ack       bool
		wantErr   bool
		permanent bool
		delay     time.Duration
		inError   []string
	}{
		{name: "200 Success code 0 is accepted", status: 200, body: `{"text":"Success","code":0}`},
		{name: "503 server busy (code 9) is retryable", status: 503, body: `{"text":"Server is busy","code":9}`, wantErr: true, inError: []string{"503", "HEC code 9", "Server is busy"}},
		{name: "503 with Retry-After waits that long", status: 503, body: `{"text":"Server is busy","code":9}`, header: map[string]string{"Retry-After": "4"}, wantErr: true, delay: 4 * time.Second},
		{name: "429 is retryable", status: 429, body: "slow down", wantErr: true},
		{name: "500 internal error (code 8) is retryable", status: 500, body: `{"text":"Internal server error","code":8}`, wantErr: true},
		{name: "400 invalid data format (code 6) is permanent and names the event", status: 400, body: `{"text":"Invalid data format","code":6,"invalid-event-number":3}`, wantErr: true, permanent: true, inError: []string{"HEC code 6", "invalid event number 3"}},
		{name: "400 incorrect index (code 7) is permanent", status: 400, body: `{"text":"Incorrect index","code":7}`, wantErr: true, permanent: true, inError: []string{"Incorrect index"}},
		{name: "401 token required (code 2) is permanent", status: 401, body: `{"text":"Token is required","code":2}`, wantErr: true, permanent: true, inError: []string{"401"}},
		{name: "403 invalid token (code 4) is permanent", status: 403, body: `{"text":"Invalid token","code":4}`, wantErr: true, permanent: true, inError: []string{"403"}},
		{name: "400 with HEC unhealthy queues full (code 18) is retryable", status: 400, body: `{"text":"HEC is unhealthy, queues are full","code":18}`, wantErr: true},
		{name: "200 that is not HEC's JSON is retryable (delivery unknown)", status: 200, body: "<html>proxy login</html>", wantErr: true, inError: []string{"not a HEC answer", "proxy login"}},
		{name: "200 with a non-zero code is permanent", status: 200, body: `{"text":"Event field is required","code":12}`, wantErr: true, permanent: true},
		{name: "ack on but no ackId is permanent (token without acknowledgement)", status: 200, body: `{"text":"Success","code":0}`, ack: true, wantErr: true, permanent: true, inError: []string{"ackId"}},
		{name: "connection refused is retryable", refused: true, wantErr: true, inError: []string{"connect"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := ""
			if tc.refused {
				url = "http://" + refusedAddr(t)
			} else {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
					for k, v := range tc.header {
						w.Header().Set(k, v)
					}
					hecAnswer(w, tc.status, tc.body)
				}))
				defer srv.Close()
				url = srv.URL
			}
			h, err := sink.NewHEC(sink.HECOptions{URL: url, Token: "sekrit-token", Ack: tc.ack})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close(context.Background())
			err = h.Write(context.Background(), sinktest.Alerts(2, 3))
			if (err != nil) != tc.wantErr {
				t.Fatalf("Write = %v, want error %v", err, tc.wantErr)
			}
			if err == nil {
				return
			}
			if got := sink.IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, tc.permanent)
			}
			if d, _ := sink.RetryAfterDelay(err); d != tc.delay {
				t.Errorf("RetryAfterDelay = %v, want %v", d, tc.delay)
			}
			for _, s := range tc.inError {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if strings.Contains(err.Error(), "sekrit") {
				t.Errorf("error %q leaks the token", err)
			}
		})
	}
}

// TestHECTimeIsEpochSeconds checks the envelope's "time" on both sides of
// 1970: the value, read as a decimal number, is the event time in seconds
// (to the millisecond below it), never floor(seconds) with the fraction of
// the next second up.
func TestHECTimeIsEpochSeconds(t *testing.T) {
	h, err := sink.NewHEC(sink.HECOptions{URL: "https://splunk.example:8088", Token: "t"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	for _, tc := range []struct {
		name string
		t    time.Time
		want string
	}{
		{"the epoch", time.Unix(0, 0), "0.000"},
		{"a recent time", time.Date(2026, 11, 26, 9, 13, 58, 120_000_000, time.UTC), "1795684438.120"},
		{"whole seconds after 1970", time.Unix(1, 0), "1.000"},
		{"sub-millisecond digits are cut", time.Unix(1, 999_999_999), "1.999"},
		{"a millisecond before 1970", time.UnixMilli(-1), "-0.001"},
		{"half a second before 1970", time.UnixMilli(-500), "-0.500"},
		{"a whole second before 1970", time.Unix(-1, 0), "-1.000"},
		{"a second and a half before 1970", time.UnixMilli(-1500), "-1.500"},
		{"1969-07-20T20:17:40.250Z", time.Date(1969, 7, 20, 20, 17, 40, 250_000_000, time.UTC), "-14182939.750"},
		{"the year 1", time.Date(1, 1, 1, 0, 0, 0, 1_000_000, time.UTC), "-62135596799.999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := sinktest.Alerts(1, 1)[0]
			a.Timestamp = tc.t
			ev, err := h.AppendHECEvent(nil, &a)
			if err != nil {
				t.Fatal(err)
			}
			var env struct {
				Time json.Number `json:"time"`
			}
			if err := json.Unmarshal(ev, &env); err != nil {
				t.Fatalf("%s: %v", ev, err)
			}
			if string(env.Time) != tc.want {
				t.Errorf("time %s, want %s", env.Time, tc.want)
			}
			if !hecTime.MatchString(string(env.Time)) {
				t.Errorf("time %s is not epoch seconds with 3 decimals", env.Time)
			}
		})
	}
}

func TestHECURLForms(t *testing.T) {
	for _, path := range []string{"", "/", "/services/collector", "/services/collector/event", "/splunk/services/collector/event"} {
		t.Run(fmt.Sprintf("a URL with path %q posts to the event endpoint", path), func(t *testing.T) {
			var got atomic.Value
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				got.Store(r.URL.Path)
				hecAnswer(w, 200, `{"text":"Success","code":0}`)
			}))
			defer srv.Close()
			h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL + path, Token: "t"})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close(context.Background())
			if err := h.Write(context.Background(), sinktest.Alerts(1, 1)); err != nil {
				t.Fatal(err)
			}
			want := "/services/collector/event"
			if strings.HasPrefix(path, "/splunk") {
				want = "/splunk" + want
			}
			if got.Load() != want {
				t.Errorf("posted to %v, want %s", got.Load(), want)
			}
		})
	}
}

func TestNewHECRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  sink.HECOptions
		want string
	}{
		{"a missing URL", sink.HECOptions{Token: "t"}, "url"},
		{"a URL without scheme", sink.HECOptions{URL: "splunk:8088", Token: "t"}, "http:// or https://"},
		{"a missing token", sink.HECOptions{URL: "https://splunk:8088"}, "token: required"},
		{"a token with a newline", sink.HECOptions{URL: "https://splunk:8088", Token: "t\nX: y"}, "control character"},
		{"an unknown format", sink.HECOptions{URL: "https://splunk:8088", Token: "t", Format: "cef"}, "format"},
		{"a negative batch size", sink.HECOptions{URL: "https://splunk:8088", Token: "t", MaxBatchBytes: -1}, "batch_bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sink.NewHEC(tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewHEC = %v, want an error about %q", err, tc.want)
			}
			if err != nil && tc.opt.Token != "" && strings.Contains(err.Error(), tc.opt.Token) && len(tc.opt.Token) > 1 {
				t.Errorf("error %q leaks the token", err)
			}
		})
	}
}

// A URL url.Parse accepts can fail to parse again once the sink has
// rewritten it to the event endpoint: an IPv6 zone with a byte outside
// ASCII (an interface name in UTF-8, or a stray byte from an environment
// variable) is accepted raw, but url.URL.String escapes it (%C3%A9) and
// an escape in a zone must stand for ASCII. Such a sink could never post:
// NewHEC refuses the URL, and its error repeats none of the URL's
// secrets (password, path prefix, query), which the parser's error quotes.
func TestNewHECRefusesAURLItCouldNotPostTo(t *testing.T) {
	const pass, gw, tok = "pw-Qx7Lm2Vb9Rt4", "gatewayTok-Hc4Gx2Zp3Kd8", "qTok-Ab3Cd4Ef5Gh6Ij7"
	for _, tc := range []struct{ name, zone string }{
		{"a zone in UTF-8", "%25eth\u00e9"},
		{"a zone with a byte that is not UTF-8", "%25\xcc"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, raw := range []string{
				"https://soar:" + pass + "@[fe80::1" + tc.zone + "]:8088/gw/" + gw + "/services/collector?token=" + tok,
				"https://[fe80::1" + tc.zone + "]:8088/" + gw,
			} {
				if _, err := url.Parse(raw); err != nil {
					t.Fatalf("url.Parse(%q) = %v: the case needs a URL that parses once", raw, err)
				}
				h, err := sink.NewHEC(sink.HECOptions{URL: raw, Token: "5d3c2b1a-hec0-4e5f-9a8b-7c6d5e4f3a2b"})
				if err == nil {
					werr := h.Write(context.Background(), sinktest.Alerts(1, 1))
					h.Close(context.Background())
					t.Fatalf("NewHEC(%q) accepted a URL it cannot post to (Write: %v)", raw, werr)
				}
				if !strings.Contains(err.Error(), "splunk_hec url") {
					t.Errorf("NewHEC(%q) = %v, want an error naming splunk_hec url", raw, err)
				}
				for _, secret := range []string{pass, gw, tok} {
					if strings.Contains(err.Error(), secret) {
						t.Errorf("NewHEC(%q) = %v: holds %q", raw, err, secret)
					}
				}
			}
		})
	}
}

// TestHECGolden pins one request body: testdata/hec/body.golden holds the
// envelopes of the hand-written alerts of testdata/cef.
func TestHECGolden(t *testing.T) {
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ = io.ReadAll(r.Body)
		hecAnswer(w, 200, `{"text":"Success","code":0}`)
	}))
	defer srv.Close()
	h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL, Token: "t", Index: "soc", Host: "ioc-01", Source: "iocwatch"})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	if err := h.Write(context.Background(), goldenAlerts(t)); err != nil {
		t.Fatal(err)
	}
	checkNetGolden(t, "testdata/hec/body.golden", body)
}

// BenchmarkHECAppendEvent measures one event envelope (native JSON).
func BenchmarkHECAppendEvent(b *testing.B) {
	h, err := sink.NewHEC(sink.HECOptions{URL: "https://splunk.example:8088", Token: "t", Index: "soc"})
	if err != nil {
		b.Fatal(err)
	}
	alerts := sinktest.Alerts(64, 1)
	var buf []byte
	n := 0
	for b.Loop() {
		buf, err = h.AppendHECEvent(buf[:0], &alerts[n%len(alerts)])
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportAllocs()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkHECWrite measures Write of 100 alerts (one request) over
// loopback HTTP, with and without gzip.
func BenchmarkHECWrite(b *testing.B) {
	for _, gz := range []bool{false, true} {
		b.Run(fmt.Sprintf("gzip=%v", gz), func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				hecAnswer(w, 200, `{"text":"Success","code":0}`)
			}))
			defer srv.Close()
			h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL, Token: "t", Gzip: gz})
			if err != nil {
				b.Fatal(err)
			}
			defer h.Close(context.Background())
			alerts := sinktest.Alerts(100, 1)
			n := 0
			for b.Loop() {
				if err := h.Write(context.Background(), alerts); err != nil {
					b.Fatal(err)
				}
				n += len(alerts)
			}
			b.ReportAllocs()
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}

// With indexer acknowledgement, a Write whose every request HEC refused
// for good has nothing to wait for: it must return the refusal (for the
// dead-letter file), not an error of the ack service — which, retryable,
// would make the retry loop send the poison alerts for ever.
func TestHECWithAckReportsARefusalWithoutWaitingForAcks(t *testing.T) {
	var ackQueries atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/services/collector/ack" {
			ackQueries.Add(1)
			hecAnswer(w, 503, `{"text":"HEC is unhealthy, ack service unavailable","code":19}`)
			return
		}
		hecAnswer(w, 400, `{"text":"Invalid data format","code":6,"invalid-event-number":0}`)
	}))
	defer srv.Close()
	h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL, Token: "tok", Ack: true})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close(context.Background())
	err = h.Write(context.Background(), sinktest.Alerts(2, 5))
	var re *sink.RefusedError
	if !sink.IsPermanent(err) || !errors.As(err, &re) || len(re.Alerts) != 2 {
		t.Errorf("Write = %v, want a permanent RefusedError for both alerts", err)
	}
	if n := ackQueries.Load(); n != 0 {
		t.Errorf("%d ack queries for no accepted request", n)
	}
}

// An error of the acknowledgement service names its endpoint, not the
// event endpoint that accepted the request.
func TestHECAckErrorsNameTheAckEndpoint(t *testing.T) {
	for _, tt := range []struct {
		name, answer string
		status       int
	}{
		{"an error status", `{"text":"HEC is unhealthy, ack service unavailable","code":19}`, 503},
		{"a bad answer", `not json`, 200},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
				if r.URL.Path == "/services/collector/ack" {
					hecAnswer(w, tt.status, tt.answer)
					return
				}
				hecAnswer(w, 200, `{"text":"Success","code":0,"ackId":7}`)
			}))
			defer srv.Close()
			h, err := sink.NewHEC(sink.HECOptions{URL: srv.URL, Token: "tok", Ack: true, AckTimeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			defer h.Close(context.Background())
			err = h.Write(context.Background(), sinktest.Alerts(1, 5))
			if err == nil || !strings.Contains(err.Error(), "ack POST "+srv.URL+"/services/collector/ack:") {
				t.Errorf("Write = %v, want the error to name %s/services/collector/ack", err, srv.URL)
			}
		})
	}
}
