package sink

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/iocwatch/iocwatch/internal/urlcred"
)

// The headers a webhook request carries besides Content-Type.
const (
	// WebhookTimestampHeader holds the request's Unix time in seconds.
	WebhookTimestampHeader = "X-Iocwatch-Timestamp"
	// WebhookSignatureHeader holds "sha256=" and the lower-case hex
	// HMAC-SHA256, keyed with the shared secret, of the timestamp header's
	// value, ".", and the exact request body.
	WebhookSignatureHeader = "X-Iocwatch-Signature"
	// WebhookAlertIDHeader holds the alert_id in one-alert-per-request
	// mode, so a receiver can drop redeliveries without parsing the body.
	WebhookAlertIDHeader = "X-Iocwatch-Alert-Id"
)

// WebhookOptions configures a Webhook. The zero value is not usable: URL is
// required. Defaults are applied by NewWebhook.
type WebhookOptions struct {
	// URL is the http:// or https:// endpoint alerts are POSTed to.
	// Required. Errors show only its scheme, host and first path segment
	// (see urlcred.Endpoint): its path (Slack, Teams, Discord) or query (a
	// Logic App trigger's signature) may be the credential.
	URL string
	// Batch sends each Write's alerts as one JSON array per request (up to
	// MaxBatch alerts). False: one JSON object per request.
	Batch bool
	// MaxBatch is the most alerts in one array when Batch is set.
	// Default 500.
	MaxBatch int
	// Format is the JSON shape: FormatNative or FormatOCSF. Default native.
	Format Format
	// Headers are added to every request (values already resolved: the
	// config expands ${ENV} before); a header whose value is empty is not
	// sent. They cannot replace Content-Type or the signature headers.
	Headers map[string]string
	// HMACSecret, when set, signs every request: see
	// WebhookSignatureHeader. Empty: requests are not signed.
	HMACSecret string
	// Timeout bounds one request (connect, TLS, headers, body).
	// Default 10s.
	Timeout time.Duration
	// TLS configures certificate verification (on by default) and an
	// optional client certificate.
	TLS TLSOptions
	// Now is the clock for the timestamp header. Default time.Now.
	Now func() time.Time
}

// Webhook is a Sink that POSTs alerts as JSON to an HTTP endpoint (a SOAR,
// a Logic App HTTP trigger, a chat relay).
//
// Write returns nil once every request got a 2xx answer. A 408, 429 or 5xx
// answer, or a network error, is retryable (429 and 503 carry the server's
// Retry-After, see RetryAfter); any other status is Permanent, with the
// status and a sanitised body excerpt in the error. Redirects are not
// followed: a 3xx is Permanent whatever its Location (none, or one that
// does not parse, included). When a Write's alerts
// need several requests and one fails, the earlier ones were delivered:
// a retry sends them again (at-least-once; receivers dedupe by alert_id).
//
// Use NewWebhook; the zero value is not usable. Safe for concurrent use.
type Webhook struct {
	opt     WebhookOptions
	url     *url.URL
	where   string // redacted URL for errors
	client  *http.Client
	tr      *http.Transport
	timeout requestTimeout
	header  http.Header
	gate    gate
	// secrets are the header values, the HMAC key and what the shown
	// form of the URL hides (urlcred.PeerEchoes), scrubbed from answers
	// and transport errors.
	secrets [][]byte
}

// NewWebhook checks opt, applies its defaults and returns the sink. It does
// not contact the endpoint.
func NewWebhook(opt WebhookOptions) (*Webhook, error) {
	u, err := url.Parse(opt.URL)
	if err != nil {
		return nil, fmt.Errorf("webhook url: %w", parseError(err))
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("webhook url %s: must be an http:// or https:// URL with a host", redactURL(u))
	}
	if opt.MaxBatch == 0 {
		opt.MaxBatch = 500
	}
	if opt.MaxBatch < 0 {
		return nil, fmt.Errorf("webhook max_batch %d: must be positive", opt.MaxBatch)
	}
	if opt.Format == "" {
		opt.Format = FormatNative
	}
	if err := opt.Format.validate(); err != nil {
		return nil, fmt.Errorf("webhook format: %w", err)
	}
	if opt.Timeout == 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Timeout < 0 {
		return nil, fmt.Errorf("webhook timeout %v: must be positive", opt.Timeout)
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	h := make(http.Header, len(opt.Headers)+2)
	for k, v := range opt.Headers {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Type", "Content-Length", "Host", WebhookTimestampHeader, WebhookSignatureHeader, WebhookAlertIDHeader:
			return nil, fmt.Errorf("webhook headers: %q is set by the sink and cannot be configured", k)
		}
		if !validHeaderName(k) {
			return nil, fmt.Errorf("webhook headers: %q is not a valid header name", k)
		}
		if v == "" {
			continue // an unset ${ENV} leaves the header out
		}
		if !validHeaderValue(v) {
			return nil, fmt.Errorf("webhook headers: the value of %q holds a control character", k)
		}
		h.Set(k, v)
	}
	h.Set("Content-Type", "application/json")
	if h.Get("User-Agent") == "" {
		h.Set("User-Agent", "iocwatch")
	}
	client, tr, err := newHTTPClient(opt.TLS, opt.Timeout)
	if err != nil {
		return nil, fmt.Errorf("webhook %s: %w", redactURL(u), err)
	}
	secrets := credentials(append(urlcred.PeerEchoes(u.String()), opt.HMACSecret)...)
	for _, vs := range h {
		secrets = append(secrets, credentials(vs...)...)
	}
	return &Webhook{opt: opt, url: u, where: redactURL(u), client: client, tr: tr, timeout: newRequestTimeout(opt.Timeout), header: h, secrets: secrets}, nil
}

// Write POSTs alerts (one request each, or arrays of up to MaxBatch) in
// order, and returns once all were answered 2xx, at the first retryable
// failure, or — when the receiver refused some for good — with a
// RefusedError naming them after the others were sent.
func (w *Webhook) Write(ctx context.Context, alerts []Alert) error {
	if err := w.gate.enter(); err != nil {
		return err
	}
	defer w.gate.leave()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("webhook %s: %w", w.where, err)
	}
	// Every request gets a body of its own: the HTTP transport may still be
	// reading one after Do returned (a server that answers before it read
	// the whole body), so a body is never reused.
	// A request the receiver refuses for good (a 4xx) does not stop the
	// others: its alerts are reported refused (RefusedError), for the
	// dead-letter file, and the rest are sent. A retryable failure stops
	// the Write at once (the retry re-sends the whole slice).
	var body []byte
	var err error
	var refused Refusals
	if !w.opt.Batch {
		for i := range alerts {
			body, err = EncodeJSON(nil, &alerts[i], w.opt.Format)
			if err != nil {
				refused.Add(i, fmt.Errorf("webhook: encode alert %s: %w", alerts[i].AlertID, err))
				continue
			}
			if err := w.post(ctx, body, alerts[i].AlertID); err != nil {
				if !IsPermanent(err) || errors.Is(err, ErrClosed) {
					return err
				}
				refused.Add(i, err)
			}
		}
		return refused.Err()
	}
	for start := 0; start < len(alerts); start += w.opt.MaxBatch {
		end := min(start+w.opt.MaxBatch, len(alerts))
		chunk := alerts[start:end]
		body = append(make([]byte, 0, len(body)), '[')
		var sent []int // the chunk's alerts in body
		for i := range chunk {
			mark := len(body)
			if len(sent) > 0 {
				body = append(body, ',')
			}
			if body, err = EncodeJSON(body, &chunk[i], w.opt.Format); err != nil {
				body = body[:mark]
				refused.Add(start+i, fmt.Errorf("webhook: encode alert %s: %w", chunk[i].AlertID, err))
				continue
			}
			sent = append(sent, start+i)
		}
		if len(sent) == 0 {
			continue
		}
		body = append(body, ']')
		if err := w.post(ctx, body, ""); err != nil {
			if !IsPermanent(err) || errors.Is(err, ErrClosed) {
				return err
			}
			for _, i := range sent {
				refused.Add(i, err)
			}
		}
	}
	return refused.Err()
}

// post sends one body and classifies the answer.
func (w *Webhook) post(ctx context.Context, body []byte, alertID string) error {
	rctx, cancel := w.timeout.context(ctx)
	defer cancel() // runs after the body is read and closed
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, w.opt.URL, bytes.NewReader(body))
	if err != nil {
		return Permanent(fmt.Errorf("webhook POST %s: %w", w.where, parseError(err)))
	}
	req.Header = w.header.Clone()
	now := w.opt.Now()
	if w.opt.HMACSecret != "" {
		ts := strconv.FormatInt(now.Unix(), 10)
		req.Header.Set(WebhookTimestampHeader, ts)
		req.Header.Set(WebhookSignatureHeader, SignWebhook([]byte(w.opt.HMACSecret), ts, body))
	}
	if alertID != "" && validHeaderValue(alertID) {
		req.Header.Set(WebhookAlertIDHeader, alertID)
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return fmt.Errorf("webhook %w", roundTripError(ctx, http.MethodPost, w.where, err, w.secrets))
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		_ = readExcerpt(resp.Body, nil) // drain for connection reuse
		return nil
	}
	return fmt.Errorf("webhook %w", httpStatusError(http.MethodPost, w.where, resp, readExcerpt(resp.Body, w.secrets), httpRetryableStatus(resp.StatusCode), w.opt.Now(), w.secrets))
}

// Close waits for in-flight Writes (or ctx) and drops idle connections.
// Safe to call twice.
func (w *Webhook) Close(ctx context.Context) error {
	first, err := w.gate.close(ctx)
	if first {
		w.tr.CloseIdleConnections()
	}
	return err
}

// SignWebhook returns the value of WebhookSignatureHeader for a request
// with the given timestamp header value and body: "sha256=" followed by
// the lower-case hex HMAC-SHA256 of timestamp + "." + body under secret.
// Receivers recompute it and compare in constant time (see
// VerifyWebhook).
func SignWebhook(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	var sum [sha256.Size]byte
	return "sha256=" + hex.EncodeToString(m.Sum(sum[:0]))
}

// VerifyWebhook checks a received request's signature and timestamp: the
// signature must match SignWebhook in constant time, and the timestamp
// must be within maxSkew of now (replay protection; 0 skips that check).
// It is what a Go receiver needs; docs/sinks-network.md shows Python.
func VerifyWebhook(secret []byte, timestamp, signature string, body []byte, now time.Time, maxSkew time.Duration) error {
	want := SignWebhook(secret, timestamp, body)
	if !hmac.Equal([]byte(want), []byte(signature)) {
		return errors.New("webhook signature mismatch")
	}
	if maxSkew > 0 {
		sec, err := strconv.ParseInt(timestamp, 10, 64)
		if err != nil {
			return fmt.Errorf("webhook timestamp %q: %w", timestamp, err)
		}
		switch d := now.Sub(time.Unix(sec, 0)); {
		case d > maxSkew:
			return fmt.Errorf("webhook timestamp %q is %v old (allowed %v): a replay?", timestamp, d.Round(time.Second), maxSkew)
		case d < -maxSkew:
			return fmt.Errorf("webhook timestamp %q is %v in the future (allowed %v)", timestamp, -d.Round(time.Second), maxSkew)
		}
	}
	return nil
}

// validHeaderName reports whether s is an RFC 9110 token.
func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case bytes.IndexByte([]byte("!#$%&'*+-.^_`|~"), c) >= 0:
		default:
			return false
		}
	}
	return true
}

// validHeaderValue reports whether s holds no control character other than
// horizontal tab (header injection guard).
func validHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}
