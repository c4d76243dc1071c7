package sink_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// fakeSOAR is a webhook receiver: it verifies each request's HMAC
// signature and content type, decodes the alerts, and records them unless
// respond says otherwise.
type fakeSOAR struct {
	t      testing.TB
	secret []byte
	batch  bool
	format sink.Format
	rec    alertRecorder

	requests atomic.Int64
	rejected atomic.Int64 // bad signature, content type or body

	// respond, when set, decides the answer to a well-formed request:
	// status 2xx records the alerts; other statuses do not.
	respond func(r *http.Request, alerts []sink.Alert) (status int, header map[string]string, body string)
}

func (f *fakeSOAR) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.requests.Add(1)
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.reject(w, http.StatusBadRequest, "read: %v", err)
		return
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json" {
		f.reject(w, http.StatusBadRequest, "method %s content type %q", r.Method, r.Header.Get("Content-Type"))
		return
	}
	if f.secret != nil {
		// Verified independently of the sink's own SignWebhook.
		ts, sig := r.Header.Get(sink.WebhookTimestampHeader), r.Header.Get(sink.WebhookSignatureHeader)
		if want := soarSignature(f.secret, ts, body); !hmac.Equal([]byte(sig), []byte(want)) {
			f.reject(w, http.StatusUnauthorized, "signature %q, want %q", sig, want)
			return
		}
		if sec, err := strconv.ParseInt(ts, 10, 64); err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
			f.reject(w, http.StatusUnauthorized, "timestamp %q", ts)
			return
		}
	}
	alerts, err := decodeWebhookBody(body, f.batch, f.format)
	if err != nil {
		f.reject(w, http.StatusBadRequest, "decode: %v", err)
		return
	}
	if !f.batch && r.Header.Get(sink.WebhookAlertIDHeader) != alerts[0].AlertID {
		f.reject(w, http.StatusBadRequest, "alert id header %q, body %q", r.Header.Get(sink.WebhookAlertIDHeader), alerts[0].AlertID)
		return
	}
	status := http.StatusOK
	if f.respond != nil {
		var hdr map[string]string
		var msg string
		status, hdr, msg = f.respond(r, alerts)
		for k, v := range hdr {
			w.Header().Set(k, v)
		}
		if status < 200 || status > 299 {
			w.WriteHeader(status)
			_, _ = io.WriteString(w, msg)
			return
		}
	}
	f.rec.add(alerts...)
	w.WriteHeader(status)
}

// soarSignature is what a receiver computes, written out from the
// documented scheme: "sha256=" + hex(HMAC-SHA256(secret, ts + "." + body)).
func soarSignature(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func (f *fakeSOAR) reject(w http.ResponseWriter, status int, format string, args ...any) {
	f.rejected.Add(1)
	f.t.Errorf("fake SOAR rejected a request: "+format, args...)
	http.Error(w, "rejected", status)
}

// decodeWebhookBody decodes one alert or an array of them; OCSF findings
// are reduced to their AlertID (finding_info.uid).
func decodeWebhookBody(body []byte, batch bool, f sink.Format) ([]sink.Alert, error) {
	var raws []json.RawMessage
	if batch {
		if err := json.Unmarshal(body, &raws); err != nil {
			return nil, err
		}
		if len(raws) == 0 {
			return nil, errors.New("empty array")
		}
	} else {
		raws = []json.RawMessage{body}
	}
	out := make([]sink.Alert, len(raws))
	for i, raw := range raws {
		if f == sink.FormatOCSF {
			var fin struct {
				ClassUID    int `json:"class_uid"`
				FindingInfo struct {
					UID string `json:"uid"`
				} `json:"finding_info"`
			}
			if err := json.Unmarshal(raw, &fin); err != nil {
				return nil, err
			}
			if fin.ClassUID != 2004 || fin.FindingInfo.UID == "" {
				return nil, fmt.Errorf("not a detection finding: %s", raw)
			}
			out[i].AlertID = fin.FindingInfo.UID
			continue
		}
		if err := json.Unmarshal(raw, &out[i]); err != nil {
			return nil, err
		}
		if out[i].AlertID == "" {
			return nil, fmt.Errorf("no alert_id in %s", raw)
		}
	}
	return out, nil
}

// newWebhookServer starts a TLS server with the fake SOAR behind it and
// returns the sink options that reach it (CA file set).
func newWebhookServer(t testing.TB, f *fakeSOAR) (*httptest.Server, sink.WebhookOptions) {
	t.Helper()
	pki := newNetPKI(t)
	srv := httptest.NewUnstartedServer(f)
	srv.TLS = pki.ServerTLS(false)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv, sink.WebhookOptions{
		URL:        srv.URL + "/hooks/iocwatch?code=s3cr3t-query",
		HMACSecret: string(f.secret),
		Batch:      f.batch,
		Format:     f.format,
		TLS:        sink.TLSOptions{CAFile: pki.CAFile},
	}
}

func TestWebhookConformance(t *testing.T) {
	for _, tc := range []struct {
		name   string
		batch  bool
		format sink.Format
	}{
		{"one native alert per request", false, sink.FormatNative},
		{"a batch array per write", true, sink.FormatNative},
		{"OCSF findings in batches", true, sink.FormatOCSF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sinktest.Run(t, func(t *testing.T) (sink.Sink, func() []sink.Alert) {
				f := &fakeSOAR{t: t, secret: []byte("hmac-secret"), batch: tc.batch, format: tc.format}
				_, opt := newWebhookServer(t, f)
				opt.MaxBatch = 7 // several requests for the larger writes
				w, err := sink.NewWebhook(opt)
				if err != nil {
					t.Fatal(err)
				}
				return w, f.rec.all
			})
		})
	}
}

func TestWebhookSignatureCoversTimestampAndBody(t *testing.T) {
	secret := []byte("k3y")
	var got struct {
		sync.Mutex
		ts, sig string
		body    []byte
		header  http.Header
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got.Lock()
		got.ts, got.sig, got.body, got.header = r.Header.Get(sink.WebhookTimestampHeader), r.Header.Get(sink.WebhookSignatureHeader), b, r.Header.Clone()
		got.Unlock()
	}))
	defer srv.Close()
	now := time.Unix(1764148438, 0)
	w, err := sink.NewWebhook(sink.WebhookOptions{
		URL: srv.URL, HMACSecret: string(secret), Now: func() time.Time { return now },
		Headers: map[string]string{"Authorization": "Bearer tok", "X-Tenant": "acme", "X-Unset": ""},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	alerts := sinktest.Alerts(1, 9)
	if err := w.Write(context.Background(), alerts); err != nil {
		t.Fatal(err)
	}
	got.Lock()
	defer got.Unlock()
	if got.ts != "1764148438" {
		t.Errorf("timestamp header = %q, want the Unix seconds 1764148438", got.ts)
	}
	if !strings.HasPrefix(got.sig, "sha256=") || len(got.sig) != len("sha256=")+64 {
		t.Errorf("signature header = %q, want sha256=<64 hex digits>", got.sig)
	}
	if want := soarSignature(secret, got.ts, got.body); got.sig != want {
		t.Errorf("signature = %q, want %q", got.sig, want)
	}
	// A known answer, computed with Python's hmac module.
	if got, want := sink.SignWebhook(secret, "1764148438", []byte(`{"alert_id":"x"}`)), "sha256=9913688eda8359bddb919b84d1eac998599fa396b76ec7781e19e7c64b75b14f"; got != want {
		t.Errorf("SignWebhook known answer = %q, want %q", got, want)
	}
	if got.header.Get("Authorization") != "Bearer tok" || got.header.Get("X-Tenant") != "acme" {
		t.Errorf("configured headers not sent: %v", got.header)
	}
	if _, ok := got.header["X-Unset"]; ok {
		t.Errorf("a header with an empty value was sent: %v", got.header)
	}
	for _, tc := range []struct {
		name      string
		ts, sig   string
		body      []byte
		skew      time.Duration
		wantError bool
	}{
		{"the request as sent verifies", got.ts, got.sig, got.body, time.Minute, false},
		{"a changed body fails", got.ts, got.sig, append([]byte(" "), got.body...), 0, true},
		{"a changed timestamp fails", "1764148439", got.sig, got.body, 0, true},
		{"another secret's signature fails", got.ts, sink.SignWebhook([]byte("other"), got.ts, got.body), got.body, 0, true},
		{"a stale timestamp fails the skew check", got.ts, got.sig, got.body, -1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			at := now.Add(30 * time.Second)
			skew := tc.skew
			if skew < 0 {
				at, skew = now.Add(10*time.Minute), 5*time.Minute
			}
			err := sink.VerifyWebhook(secret, tc.ts, tc.sig, tc.body, at, skew)
			if (err != nil) != tc.wantError {
				t.Errorf("VerifyWebhook = %v, want error %v", err, tc.wantError)
			}
		})
	}
}

func TestWebhookWithoutSecretSendsNoSignature(t *testing.T) {
	var sig atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sig.Store(r.Header.Get(sink.WebhookSignatureHeader) + r.Header.Get(sink.WebhookTimestampHeader))
	}))
	defer srv.Close()
	w, err := sink.NewWebhook(sink.WebhookOptions{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	if err := w.Write(context.Background(), sinktest.Alerts(1, 1)); err != nil {
		t.Fatal(err)
	}
	if s := sig.Load().(string); s != "" {
		t.Errorf("signature headers %q sent without a secret", s)
	}
}

// refusedAddr returns a loopback address nothing listens on.
func refusedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestWebhookClassifiesAnswers(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	long := strings.Repeat("x", 2000)
	for _, tc := range []struct {
		name      string
		status    int
		header    map[string]string
		body      string
		refused   bool
		wantErr   bool
		permanent bool
		delay     time.Duration // RetryAfterDelay; 0 = none
		inError   []string      // substrings the message must hold
		notInErr  []string
	}{
		{name: "200 OK is accepted", status: 200},
		{name: "202 Accepted is accepted", status: 202},
		{name: "429 with Retry-After seconds is retryable after that delay", status: 429, header: map[string]string{"Retry-After": "7"}, wantErr: true, delay: 7 * time.Second, inError: []string{"429"}},
		{name: "429 with an HTTP-date Retry-After waits until that date", status: 429, header: map[string]string{"Retry-After": now.Add(90 * time.Second).Format(http.TimeFormat)}, wantErr: true, delay: 90 * time.Second},
		{name: "429 with a garbage Retry-After is retryable without a delay", status: 429, header: map[string]string{"Retry-After": "soon"}, wantErr: true},
		{name: "500 is retryable", status: 500, body: "boom", wantErr: true, inError: []string{"500 Internal Server Error", "boom"}},
		{name: "503 with Retry-After is retryable after that delay", status: 503, header: map[string]string{"Retry-After": "2"}, wantErr: true, delay: 2 * time.Second},
		{name: "408 request timeout is retryable", status: 408, wantErr: true},
		{name: "400 is permanent and quotes the body", status: 400, body: `{"error":"schema: field \"DeviceId\" unknown"}`, wantErr: true, permanent: true, inError: []string{"400 Bad Request", `field \"DeviceId\" unknown`}},
		{name: "401 is permanent", status: 401, body: "bad credentials", wantErr: true, permanent: true, inError: []string{"401"}},
		{name: "403 is permanent", status: 403, wantErr: true, permanent: true},
		{name: "404 is permanent", status: 404, wantErr: true, permanent: true},
		{name: "a redirect is not followed and is permanent", status: 302, header: map[string]string{"Location": "http://elsewhere.example/"}, wantErr: true, permanent: true},
		{name: "a long hostile body is cut to 512 bytes on one line", status: 400, body: "line1\nline2\r\x00\x1b[31m" + long, wantErr: true, permanent: true, inError: []string{"line1 line2 [31mxxx", "…"}, notInErr: []string{"\n", "\x1b", long[:600]}},
		{name: "connection refused is retryable and hides the query secret", refused: true, wantErr: true, inError: []string{"connect", "?…"}, notInErr: []string{"s3cr3t"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := ""
			if tc.refused {
				url = "http://" + refusedAddr(t) + "/hook?sig=s3cr3t"
			} else {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					_, _ = io.Copy(io.Discard, r.Body)
					for k, v := range tc.header {
						w.Header().Set(k, v)
					}
					w.WriteHeader(tc.status)
					_, _ = io.WriteString(w, tc.body)
				}))
				defer srv.Close()
				url = srv.URL + "/hook?sig=s3cr3t"
			}
			w, err := sink.NewWebhook(sink.WebhookOptions{URL: url, Now: func() time.Time { return now }, Timeout: 5 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close(context.Background())
			err = w.Write(context.Background(), sinktest.Alerts(1, 2))
			if (err != nil) != tc.wantErr {
				t.Fatalf("Write = %v, want error %v", err, tc.wantErr)
			}
			if err == nil {
				return
			}
			if got := sink.IsPermanent(err); got != tc.permanent {
				t.Errorf("IsPermanent(%v) = %v, want %v", err, got, tc.permanent)
			}
			d, ok := sink.RetryAfterDelay(err)
			if tc.delay == 0 && ok {
				t.Errorf("RetryAfterDelay = %v, want none", d)
			}
			if tc.delay != 0 && d != tc.delay {
				t.Errorf("RetryAfterDelay = %v, %v; want %v", d, ok, tc.delay)
			}
			msg := err.Error()
			for _, s := range tc.inError {
				if !strings.Contains(msg, s) {
					t.Errorf("error %q lacks %q", msg, s)
				}
			}
			for _, s := range append(tc.notInErr, "s3cr3t") {
				if strings.Contains(msg, s) {
					t.Errorf("error %q holds %q", msg, s)
				}
			}
			if len(msg) > 700 {
				t.Errorf("error is %d bytes long; the body excerpt should be at most 512", len(msg))
			}
		})
	}
}

func TestWebhookVerifiesTLS(t *testing.T) {
	pki := newNetPKI(t)
	f := &fakeSOAR{t: t}
	srv := httptest.NewUnstartedServer(f)
	srv.TLS = pki.ServerTLS(true)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are expected
	srv.StartTLS()
	defer srv.Close()
	for _, tc := range []struct {
		name    string
		tls     sink.TLSOptions
		wantErr string
	}{
		{"the right CA and a client certificate are accepted", sink.TLSOptions{CAFile: pki.CAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}, ""},
		{"the system roots do not trust a private CA", sink.TLSOptions{CertFile: pki.ClientCert, KeyFile: pki.ClientKey}, "certificate"},
		{"another CA is not trusted", sink.TLSOptions{CAFile: pki.OtherCAFile, CertFile: pki.ClientCert, KeyFile: pki.ClientKey}, "certificate"},
		// With TLS 1.3 the client may learn of the refusal as an alert
		// ("certificate required") or as a broken connection: any error.
		{"without a client certificate the server refuses", sink.TLSOptions{CAFile: pki.CAFile}, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, err := sink.NewWebhook(sink.WebhookOptions{URL: srv.URL, TLS: tc.tls})
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close(context.Background())
			err = w.Write(context.Background(), sinktest.Alerts(1, 3))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("Write: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("Write = %v, want an error about %q", err, tc.wantErr)
			case tc.wantErr != "" && sink.IsPermanent(err):
				t.Errorf("a TLS failure should be retryable (it is fixed by configuration, not by dropping alerts): %v", err)
			}
		})
	}
}

func TestNewWebhookRejectsBadOptions(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		opt  sink.WebhookOptions
		want string
	}{
		{"a missing URL", sink.WebhookOptions{}, "webhook url"},
		{"a URL without a scheme", sink.WebhookOptions{URL: "soar.example/hook"}, "http:// or https://"},
		{"an ftp URL", sink.WebhookOptions{URL: "ftp://soar.example/"}, "http:// or https://"},
		{"an unknown format", sink.WebhookOptions{URL: "https://soar.example/", Format: "xml"}, "format"},
		{"a header the sink owns", sink.WebhookOptions{URL: "https://soar.example/", Headers: map[string]string{"x-iocwatch-signature": "x"}}, "set by the sink"},
		{"a header value with a newline", sink.WebhookOptions{URL: "https://soar.example/", Headers: map[string]string{"X-A": "a\r\nX-Evil: 1"}}, "control character"},
		{"a header name with a space", sink.WebhookOptions{URL: "https://soar.example/", Headers: map[string]string{"X A": "1"}}, "not a valid header name"},
		{"a missing CA file", sink.WebhookOptions{URL: "https://soar.example/", TLS: sink.TLSOptions{CAFile: dir + "/nope.pem"}}, "ca_file"},
		{"a CA file without PEM", sink.WebhookOptions{URL: "https://soar.example/", TLS: sink.TLSOptions{CAFile: netWriteFile(t, dir, "junk.pem", "not pem")}}, "no PEM certificate"},
		{"a client cert without its key", sink.WebhookOptions{URL: "https://soar.example/", TLS: sink.TLSOptions{CertFile: "c.pem"}}, "together"},
		{"a negative batch size", sink.WebhookOptions{URL: "https://soar.example/", MaxBatch: -1}, "max_batch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sink.NewWebhook(tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewWebhook = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func netWriteFile(t testing.TB, dir, name, content string) string {
	t.Helper()
	path := dir + "/" + name
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestWebhookCancelsAHangingRequest(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- struct{}{}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	w, err := sink.NewWebhook(sink.WebhookOptions{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close(context.Background())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Write(ctx, sinktest.Alerts(1, 4)) }()
	<-arrived
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("Write cancelled mid-request = %v, want context.Canceled", err)
	}
}

// TestWebhookSurvivesAnOutage: the SOAR answers 503 for about two seconds
// while three writers keep writing through WithRetry; once it recovers,
// every alert has arrived.
func TestWebhookSurvivesAnOutage(t *testing.T) {
	var downUntil atomic.Int64 // Unix nanoseconds
	var refused atomic.Int64
	f := &fakeSOAR{t: t, secret: []byte("s"), batch: true}
	f.respond = func(*http.Request, []sink.Alert) (int, map[string]string, string) {
		if time.Now().UnixNano() < downUntil.Load() {
			refused.Add(1)
			if refused.Load()%2 == 0 {
				return 503, map[string]string{"Retry-After": "1"}, "maintenance"
			}
			return 503, nil, "maintenance"
		}
		return 200, nil, ""
	}
	_, opt := newWebhookServer(t, f)
	w, err := sink.NewWebhook(opt)
	if err != nil {
		t.Fatal(err)
	}
	r := sink.WithRetry(w, sink.RetryPolicy{Initial: 20 * time.Millisecond, Max: 300 * time.Millisecond})
	defer r.Close(context.Background())

	alerts := sinktest.Alerts(90, 12)
	const writers, per = 3, 5
	var wg sync.WaitGroup
	var started atomic.Int64
	for wr := range writers {
		wg.Go(func() {
			mine := alerts[wr*len(alerts)/writers : (wr+1)*len(alerts)/writers]
			for i := 0; i < len(mine); i += per {
				if started.Add(1) == 4 { // the outage begins mid-stream
					downUntil.Store(time.Now().Add(2 * time.Second).UnixNano())
				}
				if err := r.Write(context.Background(), mine[i:i+per]); err != nil {
					t.Errorf("writer %d: Write through the outage: %v", wr, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if refused.Load() == 0 {
		t.Fatal("the outage never refused a request: the test did not test anything")
	}
	ids := f.rec.ids()
	for _, a := range alerts {
		if ids[a.AlertID] == 0 {
			t.Errorf("alert %s never arrived", a.AlertID)
		}
	}
	if st := r.Stats(); st.Retries == 0 {
		t.Errorf("Stats().Retries = 0 after %d refused requests", refused.Load())
	}
}

// TestWebhookPermanentRefusalsAreDeadLettered: the SOAR refuses some
// alerts with 422; through WithDeadLetter(WithRetry(webhook)) those, and
// only those, land in the dead-letter file, and the rest arrive.
func TestWebhookPermanentRefusalsAreDeadLettered(t *testing.T) {
	alerts := sinktest.Alerts(24, 13)
	bad := map[string]bool{}
	for i := 0; i < len(alerts); i += 5 {
		bad[alerts[i].AlertID] = true
	}
	f := &fakeSOAR{t: t, secret: []byte("s")}
	f.respond = func(_ *http.Request, got []sink.Alert) (int, map[string]string, string) {
		if bad[got[0].AlertID] {
			return 422, nil, `{"error":"schema violation"}`
		}
		return 200, nil, ""
	}
	_, opt := newWebhookServer(t, f)
	w, err := sink.NewWebhook(opt)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dead-alerts.jsonl")
	dl, err := sink.OpenDeadLetter(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sink.WithDeadLetter(sink.WithRetry(w, sink.RetryPolicy{Initial: 10 * time.Millisecond}), "soar", dl)
	for i := range alerts {
		if err := s.Write(context.Background(), alerts[i:i+1]); err != nil {
			t.Fatalf("alert %d: Write = %v, want nil (dead-lettered or delivered)", i, err)
		}
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := dl.Close(); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dead := map[string]bool{}
	for i, line := range strings.Split(strings.TrimSuffix(string(raw), "\n"), "\n") {
		var d struct {
			Sink  string     `json:"sink"`
			Error string     `json:"error"`
			Alert sink.Alert `json:"alert"`
		}
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatalf("dead-letter line %d: %v", i+1, err)
		}
		if d.Sink != "soar" || !strings.Contains(d.Error, "422") || !strings.Contains(d.Error, "schema violation") {
			t.Errorf("dead-letter line %d: sink %q error %q, want soar and the 422 with its body", i+1, d.Sink, d.Error)
		}
		dead[d.Alert.AlertID] = true
	}
	if fmt.Sprint(dead) != fmt.Sprint(bad) {
		t.Errorf("dead-lettered %v, want exactly %v", dead, bad)
	}
	got := f.rec.ids()
	for _, a := range alerts {
		if bad[a.AlertID] == (got[a.AlertID] > 0) {
			t.Errorf("alert %s: refused %v, delivered %d times", a.AlertID, bad[a.AlertID], got[a.AlertID])
		}
	}
}

// BenchmarkWebhookWrite measures Write of 100 alerts over loopback HTTP,
// signed, as one batch array or as one request per alert.
func BenchmarkWebhookWrite(b *testing.B) {
	for _, batch := range []bool{true, false} {
		name := "one_request_per_alert"
		if batch {
			name = "batch_of_100"
		}
		b.Run(name, func(b *testing.B) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.Copy(io.Discard, r.Body)
			}))
			defer srv.Close()
			w, err := sink.NewWebhook(sink.WebhookOptions{URL: srv.URL, Batch: batch, HMACSecret: "s"})
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close(context.Background())
			alerts := sinktest.Alerts(100, 1)
			n := 0
			for b.Loop() {
				if err := w.Write(context.Background(), alerts); err != nil {
					b.Fatal(err)
				}
				n += len(alerts)
			}
			b.ReportAllocs()
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "alerts/s")
		})
	}
}

// A receiver checks the signature and the timestamp of each request before
// trusting its body.
func ExampleVerifyWebhook() {
	secret := []byte("shared-secret")
	body := []byte(`{"alert_id":"5f0c2d9e1a7b4c3d8e9f0a1b2c3d4e5f"}`)
	ts := "1764148438"                        // the X-Iocwatch-Timestamp header
	sig := sink.SignWebhook(secret, ts, body) // the X-Iocwatch-Signature header
	now := time.Unix(1764148440, 0)
	fmt.Println(sink.VerifyWebhook(secret, ts, sig, body, now, 5*time.Minute))
	fmt.Println(sink.VerifyWebhook(secret, ts, sig, []byte(`{"alert_id":"forged"}`), now, 5*time.Minute))
	fmt.Println(sink.VerifyWebhook(secret, ts, sig, body, now.Add(time.Hour), 5*time.Minute))
	// Output:
	// <nil>
	// webhook signature mismatch
	// webhook timestamp "1764148438" is 1h0m2s old (allowed 5m0s): a replay?
}
