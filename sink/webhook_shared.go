package sink

// Pieces shared by the network sinks (webhook, Splunk HEC, syslog, Kafka):
// TLS options, the open/closed gate, HTTP response classification and error
// text that never leaks a secret.

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/iocwatch/iocwatch/internal/tlsfile"
	"github.com/iocwatch/iocwatch/internal/urlcred"
)

// TLSOptions configures the TLS client side of a network sink.
//
// The zero value verifies the server against the system's roots with Go's
// default minimum version (TLS 1.2) and presents no client certificate.
// A TLSOptions is a plain value: safe to copy and to share read-only.
type TLSOptions struct {
	// CAFile is a PEM file of CA certificates trusted in place of the
	// system roots. Empty: the system roots.
	CAFile string
	// CertFile and KeyFile are a PEM client certificate and its key, for
	// servers that require mutual TLS. Both or neither.
	CertFile string
	KeyFile  string
	// ServerName overrides the name checked against the server's
	// certificate. Empty: the host of the address dialled.
	ServerName string
	// InsecureSkipVerify turns certificate verification off. For tests
	// against a throw-away server only; never in production.
	InsecureSkipVerify bool
}

// config builds the *tls.Config the options describe.
func (o TLSOptions) config() (*tls.Config, error) {
	c := &tls.Config{
		MinVersion:         tls.VersionTLS12,
		ServerName:         o.ServerName,
		InsecureSkipVerify: o.InsecureSkipVerify, //nolint:gosec // documented test-only switch
	}
	// The files are read as config.Validate reads them (internal/tlsfile),
	// so that check refuses what a run would refuse.
	if o.CAFile != "" {
		pool, err := tlsfile.CertPool(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls %w", err)
		}
		c.RootCAs = pool
	}
	switch {
	case o.CertFile != "" && o.KeyFile != "":
		cert, err := tlsfile.KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls client certificate: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	case o.CertFile != "" || o.KeyFile != "":
		return nil, errors.New("tls: cert_file and key_file must be set together")
	}
	return c, nil
}

// gate tracks a sink's open/closed state and its in-flight Writes, so that
// Close can wait for them and Write after Close returns ErrClosed.
// The zero value is an open gate. Safe for concurrent use.
type gate struct {
	mu     sync.Mutex
	closed bool
	n      int           // Writes in flight
	idle   chan struct{} // closed when n drops to 0 after close began
}

// enter registers a Write; it fails with ErrClosed once Close has begun.
// Every successful enter must be paired with leave.
func (g *gate) enter() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return ErrClosed
	}
	g.n++
	return nil
}

func (g *gate) leave() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.n--; g.n == 0 && g.idle != nil {
		close(g.idle)
		g.idle = nil
	}
}

// close marks the gate closed and waits for in-flight Writes or ctx: with
// none in flight it returns at once, whatever ctx. It reports whether this
// call was the first, so the caller releases resources once.
func (g *gate) close(ctx context.Context) (first bool, err error) {
	g.mu.Lock()
	first = !g.closed
	g.closed = true
	if g.n == 0 {
		g.mu.Unlock()
		return first, nil
	}
	if g.idle == nil {
		g.idle = make(chan struct{})
	}
	idle, n := g.idle, g.n
	g.mu.Unlock()
	select {
	case <-idle:
		return first, nil
	case <-ctx.Done():
		return first, fmt.Errorf("close: waiting for %d in-flight writes: %w", n, ctx.Err())
	}
}

// netBufs recycles encoding buffers of the sinks that are done with them
// when Write returns (not HTTP bodies: a transport may still read those).
var netBufs sync.Pool

func getNetBuf() *[]byte {
	if p, _ := netBufs.Get().(*[]byte); p != nil {
		return p
	}
	b := make([]byte, 0, 64<<10)
	return &b
}

// putNetBuf returns a buffer to the pool, unless it grew past 4 MiB.
func putNetBuf(p *[]byte) {
	if cap(*p) > 4<<20 {
		return
	}
	*p = (*p)[:0]
	netBufs.Put(p)
}

// maxRetryAfter caps a server's Retry-After so that a hostile or broken
// server cannot stall a sink for days.
const maxRetryAfter = time.Hour

// bodyExcerptBytes is the most of a response body quoted in an error.
const bodyExcerptBytes = 512

// newHTTPClient returns a client for one HTTP sink: its own transport (so
// Close can drop idle connections), TLS from opt, and no redirects (a POST
// redirected elsewhere would carry the alerts and their signature or token
// to an unchecked place). timeout bounds the dial, the TLS handshake and
// the wait for an answer's headers; the client itself has no Timeout: a
// sink bounds each whole request with a requestTimeout instead (see
// there for why).
func newHTTPClient(opt TLSOptions, timeout time.Duration) (*http.Client, *http.Transport, error) {
	tc, err := opt.config()
	if err != nil {
		return nil, nil, err
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tc,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   8,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}
	c := &http.Client{
		Transport: redirectGuard{tr},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	return c, tr, nil
}

// requestTimeout bounds one request of an HTTP sink, from the dial to the
// end of its answer's body, as http.Client.Timeout would. It is not
// Client.Timeout because the client's Transport is a redirectGuard: with
// a RoundTripper other than *http.Transport, net/http enforces
// Client.Timeout through a timer goroutine, channels and closures per
// request (setRequestCancel's legacy path), where a context deadline
// costs one timer.
type requestTimeout struct {
	d     time.Duration
	cause error // a *timeoutError for d, made once: the error of a request that ran out of time
}

func newRequestTimeout(d time.Duration) requestTimeout {
	return requestTimeout{d: d, cause: &timeoutError{d: d}}
}

// context returns ctx bounded by the timeout, for one request. The caller
// reads and closes the answer's body before it calls cancel: cancel ends
// a body still being read.
func (t requestTimeout) context(ctx context.Context) (_ context.Context, cancel context.CancelFunc) {
	return context.WithTimeoutCause(ctx, t.d, t.cause)
}

// timeoutError is why a request that ran out of its sink's Timeout
// failed. It is a timeout (net.Error's Timeout) and errors.Is sees
// context.DeadlineExceeded in it, as in the error of http.Client.Timeout.
type timeoutError struct{ d time.Duration }

func (e *timeoutError) Error() string {
	return fmt.Sprintf("no complete answer within the %v timeout", e.d)
}

// Timeout reports true: the request timed out.
func (e *timeoutError) Timeout() bool { return true }

// Is reports whether target is context.DeadlineExceeded.
func (e *timeoutError) Is(target error) bool { return target == context.DeadlineExceeded }

// redirectGuard is the RoundTripper of an HTTP sink's client. The sinks
// follow no redirect (CheckRedirect hands the 3xx answer back, and it is
// reported as a permanent failure), but http.Client parses the Location of
// a 301, 302, 303, 307 or 308 before it asks CheckRedirect, and when that
// does not parse it fails the round trip with an untyped error — which
// would be taken for a network error and retried for ever. redirectGuard
// answers such a redirect with a *badRedirectError instead, which the
// sinks report as permanent (see roundTripError): no retry makes a
// Location parse.
type redirectGuard struct{ next http.RoundTripper }

// RoundTrip sends req with the wrapped transport; see redirectGuard.
func (g redirectGuard) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	switch resp.StatusCode {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect:
	default:
		return resp, nil
	}
	loc := resp.Header.Get("Location")
	if loc == "" {
		return resp, nil // http.Client returns the 3xx itself
	}
	if _, perr := req.URL.Parse(loc); perr != nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10)) // drain for connection reuse
		_ = resp.Body.Close()
		return nil, &badRedirectError{status: resp.Status, location: loc, reason: parseError(perr)}
	}
	return resp, nil
}

// badRedirectError is a redirect answer whose Location does not parse.
// Its fields are the peer's words, unsanitised: show it through text,
// which scrubs the sink's secrets from them.
type badRedirectError struct {
	status   string // resp.Status
	location string
	reason   error // why location does not parse
}

func (e *badRedirectError) Error() string { return e.text(nil) }

// text is the error's message with secrets scrubbed from the peer's status
// line and Location (and the parse error, which may quote it), each then
// sanitised and cut as a body excerpt is.
func (e *badRedirectError) text(secrets [][]byte) string {
	show := func(s string, n int) string { return peerExcerpt([]byte(s), secrets, n) }
	return fmt.Sprintf(`%s: redirect not followed, and its Location "%s" does not parse (%s)`,
		show(e.status, statusTextBytes), show(e.location, bodyExcerptBytes), show(e.reason.Error(), statusTextBytes))
}

// roundTripError describes a request that got no usable answer: a redirect
// whose Location does not parse (see redirectGuard) is a permanent
// failure, naming the endpoint and the status; anything else is a
// retryable transport error (see transportError).
func roundTripError(ctx context.Context, method, where string, err error, secrets [][]byte) error {
	if _, ok := errors.AsType[*badRedirectError](err); ok {
		return Permanent(fmt.Errorf("%s %s: %w", method, where, peerError(err, secrets)))
	}
	return transportError(ctx, method, where, err, secrets)
}

// redactURL is the part of an endpoint that may appear in errors and logs
// (see urlcred.Endpoint): scheme://host, the first path segment when it is
// a plain word and more follows, "…" for the rest of the path and "?…"
// for a query. A webhook URL may be the credential itself: Slack, Teams
// and Discord put it in the path, a Logic App trigger in the query.
func redactURL(u *url.URL) string { return urlcred.Endpoint(u.String()) }

// parseError is the error of url.Parse without the URL that *url.Error
// repeats (it may be a webhook URL whose path is the credential).
func parseError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}

// transportError describes a failed round trip without the URL that
// *url.Error would print (it may hold secrets) and with secrets scrubbed
// from the rest (see scrubError): what net/http quotes of the peer — the
// Location of a redirect that does not parse, the first line of a peer
// that is not HTTP and echoes the request line — may repeat the URL's
// path. The result is retryable, and wraps ctx's error when the context
// ended the request.
func transportError(ctx context.Context, method, where string, err error, secrets [][]byte) error {
	err = peerError(err, secrets)
	if ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%s %s: %w (%v)", method, where, ctx.Err(), err)
	}
	return fmt.Errorf("%s %s: %w", method, where, err)
}

// peerError is a failed round trip's error without the URL that
// *url.Error would print and with secrets scrubbed from the rest (see
// scrubError; a *badRedirectError is scrubbed before it is cut).
func peerError(err error, secrets [][]byte) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		err = ue.Err
	}
	if be, ok := errors.AsType[*badRedirectError](err); ok {
		return &scrubbedError{err: err, msg: be.text(secrets)}
	}
	return scrubError(err, secrets)
}

// scrubError returns err with every secret in its text replaced by
// "[redacted]" (see scrub); errors.Is and errors.As still see err.
func scrubError(err error, secrets [][]byte) error {
	msg := err.Error()
	if s := string(scrub([]byte(msg), secrets)); s != msg {
		return &scrubbedError{err: err, msg: s}
	}
	return err
}

// scrubbedError is an error whose text had a sink's secrets scrubbed.
type scrubbedError struct {
	err error
	msg string
}

func (e *scrubbedError) Error() string { return e.msg }
func (e *scrubbedError) Unwrap() error { return e.err }

// readExcerpt reads up to bodyExcerptBytes of r, drains a bounded rest (so
// the connection can be reused) and returns the excerpt, scrubbed of
// secrets and sanitised. It reads a little more than it keeps, so that a
// secret echoed across the cut is still scrubbed whole.
func readExcerpt(r io.Reader, secrets [][]byte) string {
	buf := make([]byte, bodyExcerptBytes+utf8.UTFMax+maxSecretBytes(secrets))
	n, _ := io.ReadFull(r, buf)
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<10))
	return peerExcerpt(buf[:n], secrets, bodyExcerptBytes)
}

// credentials returns the byte forms of the secret values a sink sends (a
// header value, a token), to scrub from its peer's answers: each value,
// and for "Scheme value" (Bearer, Basic, Splunk) the value alone. Values
// shorter than 4 bytes are left out: they would blank ordinary words.
func credentials(values ...string) [][]byte {
	var out [][]byte
	add := func(v string) {
		if len(v) >= 4 {
			out = append(out, []byte(v))
		}
	}
	for _, v := range values {
		add(v)
		if _, rest, ok := strings.Cut(v, " "); ok {
			add(strings.TrimSpace(rest))
		}
	}
	return out
}

// scrub replaces every secret in b by "[redacted]": a peer that echoes the
// credentials it was sent (in an error page, a debug answer) must not put
// them in iocwatch's errors, logs and dead-letter files. Longer secrets
// are replaced first.
func scrub(b []byte, secrets [][]byte) []byte {
	if len(secrets) == 0 {
		return b
	}
	sorted := slices.SortedFunc(slices.Values(secrets), func(x, y []byte) int { return len(y) - len(x) })
	for _, s := range sorted {
		if bytes.Contains(b, s) {
			b = bytes.ReplaceAll(b, s, []byte("[redacted]"))
		}
	}
	return b
}

func maxSecretBytes(secrets [][]byte) int {
	n := 0
	for _, s := range secrets {
		n = max(n, len(s))
	}
	return n
}

// peerExcerpt is sanitizeExcerpt of a peer's text b (an answer body, a
// status line, a Location) with secrets scrubbed from it before and
// after: sanitising makes a space of a tab or newline and one of a run of
// spaces, which can make a secret holding a space of what was not one.
func peerExcerpt(b []byte, secrets [][]byte, max int) string {
	return string(scrub([]byte(sanitizeExcerpt(scrub(b, secrets), max)), secrets))
}

// sanitizeExcerpt returns b as one line of printable text of at most max
// bytes (plus "…" when cut): invalid UTF-8 becomes U+FFFD, control
// characters become spaces, runs of spaces collapse, and the cut falls on a
// rune boundary.
func sanitizeExcerpt(b []byte, max int) string {
	var sb strings.Builder
	cut := false
	space := false
	for len(b) > 0 {
		r, size := utf8.DecodeRune(b)
		b = b[size:]
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
			r = ' '
		}
		if r == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		if sb.Len()+utf8.RuneLen(r) > max {
			cut = true
			break
		}
		sb.WriteRune(r)
	}
	s := strings.TrimSpace(sb.String())
	if cut {
		s += "…"
	}
	return s
}

// parseRetryAfter reads a Retry-After header: delay-seconds or an HTTP
// date (RFC 9110 §10.2.3). It returns ok=false when the header is absent
// or malformed; a date in the past is a zero delay; the result is capped
// at maxRetryAfter.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseUint(v, 10, 63); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || secs > uint64(maxRetryAfter/time.Second) {
			return maxRetryAfter, true
		}
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = max(t.Sub(now), 0)
	} else {
		return 0, false
	}
	return min(d, maxRetryAfter), true
}

// httpRetryableStatus is the one classification of HTTP statuses for every
// HTTP sink: 408, 429 and 5xx are worth retrying; every other non-2xx
// status (400 bad request, 401/403 credentials, 404, 413, 3xx — redirects
// are not followed) will fail again the same way.
func httpRetryableStatus(code int) bool {
	return code == http.StatusTooManyRequests || code >= 500 || code == http.StatusRequestTimeout
}

// redirectTarget is where a 3xx answer's Location points (resolved against
// the request's URL), shown as an endpoint is (redactURL: scheme, host, at
// most a first plain path segment), so that an error tells which url to
// configure — https rather than http, another host — without the path or
// query a redirect to the same place would repeat. It is "" for any other
// answer, and for a Location that is missing, does not parse or names no
// host (mailto:, urn:).
func redirectTarget(resp *http.Response) string {
	if resp.StatusCode < 300 || resp.StatusCode > 399 {
		return ""
	}
	u, err := resp.Location()
	if err != nil || u.Host == "" {
		return ""
	}
	return redactURL(u)
}

// statusTextBytes is the most of a status line quoted in an error.
const statusTextBytes = 128

// statusText is resp.Status ("404 Not Found") as an error may show it: its
// reason phrase is the peer's to choose, and may name the path it was sent
// or carry control characters, so it is scrubbed of secrets and sanitised
// as a body excerpt is.
func statusText(resp *http.Response, secrets [][]byte) string {
	return peerExcerpt([]byte(resp.Status), secrets, statusTextBytes)
}

// httpStatusError builds the error for a non-2xx answer: retryable ones
// carry the server's Retry-After (see RetryAfter), the others are
// Permanent. detail is appended to the message (a body excerpt, or a HEC
// code); the status is shown as statusText gives it, followed for a
// redirect by where it points (see redirectTarget).
func httpStatusError(method, where string, resp *http.Response, detail string, retryable bool, now time.Time, secrets [][]byte) error {
	msg := fmt.Sprintf("%s %s: %s", method, where, statusText(resp, secrets))
	if to := redirectTarget(resp); to != "" {
		msg += ": redirect to " + peerExcerpt([]byte(to), secrets, bodyExcerptBytes) + " not followed"
	}
	if detail != "" {
		msg += ": " + detail
	}
	err := errors.New(msg)
	if !retryable {
		return Permanent(err)
	}
	if d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), now); ok {
		return RetryAfter(err, d)
	}
	return err
}
