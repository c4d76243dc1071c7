package sink

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/iocwatch/iocwatch/internal/urlcred"
)

// HECOptions configures a HEC sink. The zero value is not usable: URL and
// Token are required. Defaults are applied by NewHEC.
type HECOptions struct {
	// URL is the HEC endpoint: a base such as https://splunk:8088 (the
	// path /services/collector/event is appended) or the full event URL,
	// ending in /services/collector, /services/collector/event or
	// /services/collector/event/1.0; an /event without /services/collector
	// before it is part of the base path. A URL ending in another HEC
	// endpoint (/services/collector/raw, …/raw/1.0, …/ack, …/health,
	// …/health/1.0, the deprecated …/mint and …/mint/1.0, the forwarders'
	// …/s2s) is refused: the sink posts JSON events, to the event endpoint
	// only (ValidateHECURL). Trailing slashes are ignored: …/event// is the
	// event endpoint; so are doubled slashes in HEC's path and before it:
	// …/services/collector//event and …/splunk//services/collector/event
	// are the event endpoint under the base path …/splunk.
	// The base path is kept as written (an encoded slash stays encoded)
	// and so is the query, on every request; a fragment is dropped. With
	// Ack, a channel parameter in the query is the sink's channel (see
	// Channel). Required.
	URL string
	// Token is the HEC token, sent as "Authorization: Splunk <token>".
	// Required. It never appears in errors.
	Token string
	// Index, Source and Host are the HEC event metadata; empty leaves the
	// token's defaults. SourceType defaults to "iocwatch:alert".
	Index      string
	SourceType string
	Source     string
	Host       string
	// Format is the shape of each event's "event" object: FormatNative or
	// FormatOCSF. Default native.
	Format Format
	// MaxBatchBytes bounds the uncompressed body of one request: events
	// are concatenated until the next would exceed it (one event larger
	// than the bound is sent alone). Default 1,000,000 bytes, below
	// Splunk's default max_content_length.
	MaxBatchBytes int
	// Gzip compresses request bodies (Content-Encoding: gzip).
	Gzip bool
	// Ack turns on indexer acknowledgement: requests carry a channel, and
	// Write returns only once Splunk reports every request's events
	// indexed (polling /services/collector/ack). The token must have
	// indexer acknowledgement enabled: an ack query Splunk refuses for
	// good (400 "ACK is disabled", 401, 403, 404, a redirect) refuses
	// the alerts not yet acknowledged, though probably indexed, rather
	// than send them again. The sink keeps the cookies its requests are
	// answered with and sends them back, so that a load balancer's
	// cookie-based sticky sessions bring every ack query to the instance
	// that took the events. A Write whose requests' ackIds Splunk may
	// have given out again since (it numbers a channel's requests from 0
	// again after a restart or a failover), to a request the sink saw or
	// to one whose answer was lost, fails retryably; no Write holds up
	// another's requests. False:
	// accepted means HEC answered {"code":0}, i.e. queued for indexing.
	Ack bool
	// Channel is the channel used with Ack, a GUID (8-4-4-4-12
	// hexadecimal digits, as Splunk requires), sent as the
	// X-Splunk-Request-Channel header and in the ack query's query
	// (unless URL's query holds it already).
	// Default: the channel parameter of URL's query when it has one (Splunk
	// takes the channel from either place), else a random GUID per sink.
	// The channel parameter is looked for as a server may read it: its
	// key decoded and in any case, after '&' or ';' (Splunk documents
	// only channel=<GUID>), so that the header agrees with it however
	// Splunk reads the query.
	// NewHEC refuses a Channel that is not a GUID or that differs from
	// URL's channel parameter, and a URL whose query holds that parameter
	// empty, not a GUID, more than once, or followed by ';': the sink
	// never sends two channels. Without Ack the sink adds no channel
	// (URL's query goes out as written) and checks neither.
	Channel string
	// AckTimeout bounds the wait for one request's acknowledgement; when
	// it passes, Write fails with a retryable error. Default 60s.
	AckTimeout time.Duration
	// Timeout bounds one HTTP request, from the dial to the end of the
	// answer. Default 10s.
	Timeout time.Duration
	// TLS configures certificate verification (on by default) and an
	// optional client certificate.
	TLS TLSOptions
	// Now is the clock for Retry-After dates. Default time.Now.
	Now func() time.Time
}

// HEC is a Sink that sends alerts to a Splunk HTTP Event Collector
// (/services/collector/event), batching several events per request.
//
// Each event's "time" is the alert's event Timestamp (DetectedAt when that
// is zero; a suppression summary's LastSeen) in epoch seconds with
// milliseconds. Write returns nil once every request was answered
// {"text":"Success","code":0} (and, with Ack, once every request is
// acknowledged as indexed). Classification follows the webhook's: 408,
// 429, 5xx and HEC codes 8, 9, 18–20 (server busy, queues full) are
// retryable, as are network errors and a 2xx answer that is not HEC's
// JSON; any other status or code (400 bad data, 401/403 token, a
// redirect — never followed, whatever its Location) is Permanent, with
// HEC's code and text in the error. The ack query is classified the same
// way: when it is refused for good, the alerts not yet acknowledged are
// refused (see Write).
//
// Use NewHEC; the zero value is not usable. Safe for concurrent use.
type HEC struct {
	opt      HECOptions
	url      string
	ackURL   string // with the channel in its query (Ack only)
	where    string // the event endpoint, for messages
	ackWhere string // the acknowledgement endpoint, for messages
	auth     string
	meta     []byte // the constant part of each event's envelope
	client   *http.Client
	tr       *http.Transport
	timeout  requestTimeout
	gate     gate
	channel  string
	acks     ackBook  // with Ack: the ackIds waited for
	secrets  [][]byte // the token and what the shown URLs hide (urlcred.PeerEchoes), scrubbed from answers and transport errors
}

// NewHEC checks opt, applies its defaults and returns the sink. It does not
// contact Splunk. Its URL is checked as ValidateHECURL checks it.
func NewHEC(opt HECOptions) (*HEC, error) {
	u, ack, err := hecEndpoints(opt.URL)
	if err != nil {
		// The URL as check --show-config shows it, once it parses.
		shown := ""
		if _, perr := url.Parse(opt.URL); perr == nil {
			shown = " " + urlcred.Endpoint(opt.URL)
		}
		return nil, fmt.Errorf("splunk_hec url%s: %w", shown, err)
	}
	if opt.Token == "" {
		return nil, errors.New("splunk_hec token: required")
	}
	if !validHeaderValue(opt.Token) {
		return nil, errors.New("splunk_hec token: holds a control character")
	}
	if opt.SourceType == "" {
		opt.SourceType = "iocwatch:alert"
	}
	if opt.Format == "" {
		opt.Format = FormatNative
	}
	if err := opt.Format.validate(); err != nil {
		return nil, fmt.Errorf("splunk_hec format: %w", err)
	}
	if opt.MaxBatchBytes == 0 {
		opt.MaxBatchBytes = 1_000_000
	}
	if opt.MaxBatchBytes < 0 {
		return nil, fmt.Errorf("splunk_hec batch_bytes %d: must be positive", opt.MaxBatchBytes)
	}
	if opt.Timeout == 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.AckTimeout == 0 {
		opt.AckTimeout = 60 * time.Second
	}
	if opt.Timeout < 0 || opt.AckTimeout < 0 {
		return nil, errors.New("splunk_hec timeouts: must be positive")
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	h := &HEC{opt: opt, url: u.String(), where: redactURL(u), ackWhere: redactURL(ack), auth: "Splunk " + opt.Token, secrets: credentials(append(append(urlcred.PeerEchoes(u.String()), urlcred.PeerEchoes(ack.String())...), "Splunk "+opt.Token)...)}
	if opt.Ack {
		var inURL bool
		h.channel, inURL, err = hecChannel(opt.Channel, u.RawQuery)
		if err != nil {
			return nil, err
		}
		// The channel goes in the ack query's query too, after the URL's
		// own (a gateway's parameter), which stays — unless the URL's
		// query names it already: Splunk is never sent two.
		if !inURL {
			q := ack.RawQuery
			if q != "" {
				q += "&"
			}
			ack.RawQuery = q + "channel=" + url.QueryEscape(h.channel)
		}
		h.ackURL = ack.String()
	}
	// The metadata every event repeats, encoded once: ,"host":…,"event":
	var meta []byte
	for _, kv := range [...][2]string{{"host", opt.Host}, {"source", opt.Source}, {"sourcetype", opt.SourceType}, {"index", opt.Index}} {
		if kv[1] == "" {
			continue
		}
		v, _ := json.Marshal(kv[1]) // a string always marshals
		meta = append(meta, `,"`...)
		meta = append(meta, kv[0]...)
		meta = append(meta, `":`...)
		meta = append(meta, v...)
	}
	h.meta = append(meta, `,"event":`...)
	h.client, h.tr, err = newHTTPClient(opt.TLS, opt.Timeout)
	if err != nil {
		return nil, fmt.Errorf("splunk_hec %s: %w", h.where, err)
	}
	if opt.Ack {
		// An ack query must reach the HEC instance that took the events:
		// a load balancer keeps a client on one by a cookie it sets (the
		// sticky sessions Splunk asks for), which only a jar sends back.
		// The sink only ever asks its one host.
		h.client.Jar, _ = cookiejar.New(nil) // never fails without options
	}
	h.timeout = newRequestTimeout(opt.Timeout)
	return h, nil
}

// hecChannel returns the channel of a sink with indexer acknowledgement:
// the channel parameter of the URL's raw query q when there is one (inURL:
// Splunk takes the channel from the query as from the header, so it is
// the sink's channel), else opt, else a new GUID. Splunk answers 400
// "Invalid data channel" (HEC code 11) to a channel that is not a GUID,
// and two channels, one in the query and another in the header, would
// have it take one for the events and perhaps the other for the ack
// queries: such channels are refused, naming the setting at fault but
// not its value (a GUID in a URL is hidden where the URL is shown).
//
// How Splunk reads its query beyond channel=<GUID> is not documented, so
// a parameter is the channel parameter in every reading a server may
// make: its key decoded (%63hannel) and in any case (Channel), parameters
// separated by '&' or ';' — and one that reads differently with and
// without ';' as a separator (channel=<GUID>;x=y) is refused. The header
// then agrees with whatever Splunk takes from the query.
func hecChannel(opt, q string) (channel string, inURL bool, err error) {
	var inQuery []string
	for _, part := range strings.Split(q, "&") {
		subs := strings.Split(part, ";")
		for i, sub := range subs {
			k, v, _ := strings.Cut(sub, "=")
			if k, kerr := url.QueryUnescape(k); kerr != nil || !strings.EqualFold(k, "channel") {
				continue
			}
			if i == 0 && len(subs) > 1 {
				// channel=<GUID>;x=y: read with '&' alone, the channel
				// is "<GUID>;x=y".
				return "", false, errors.New("splunk_hec url: the channel parameter of its query runs into a ';', which a server may take for a separator or for part of the channel; separate the query's parameters with '&'")
			}
			dec, err := url.QueryUnescape(v)
			if err != nil {
				return "", false, fmt.Errorf("splunk_hec url: the channel parameter of its query does not decode: %w", err)
			}
			inQuery = append(inQuery, dec)
		}
	}
	switch {
	case len(inQuery) > 1:
		return "", false, fmt.Errorf("splunk_hec url: its query holds the channel parameter %d times (its key read in any case, after '&' or ';'); give it once", len(inQuery))
	case len(inQuery) == 1 && inQuery[0] == "":
		return "", false, errors.New("splunk_hec url: the channel parameter of its query is empty; give the channel's GUID or leave the parameter out")
	case len(inQuery) == 1 && !urlcred.IsUUID(inQuery[0]):
		return "", false, errors.New("splunk_hec url: the channel parameter of its query (its key read in any case, after '&' or ';') is not a GUID (8-4-4-4-12 hexadecimal digits), which Splunk refuses as an invalid data channel")
	case len(inQuery) == 1 && opt != "" && opt != inQuery[0]:
		return "", false, errors.New("splunk_hec channel: differs from the channel parameter of the url's query; give the channel once, in one of them")
	case len(inQuery) == 1:
		return inQuery[0], true, nil
	case opt == "":
		return newGUID(), false, nil
	case !urlcred.IsUUID(opt):
		return "", false, errors.New("splunk_hec channel: not a GUID (8-4-4-4-12 hexadecimal digits), which Splunk refuses as an invalid data channel")
	}
	return opt, false, nil
}

// ValidateHECURL checks raw as NewHEC checks HECOptions.URL, without
// contacting Splunk, so that a configuration can be checked before it is
// run: raw must parse, be an http:// or https:// URL with a host, not end
// in one of HEC's endpoints other than the event endpoint (the raw, ack,
// health, MINT and S2S endpoints; see HECOptions.URL), and parse again once
// rewritten to the event and acknowledgement endpoints as the requests
// write it out (an IPv6 zone outside ASCII does not). Its error says what
// is wrong without showing raw — at most it quotes the bytes url.Parse
// stopped at (a port, an escape) — for the caller names the URL: NewHEC as
// check --show-config shows it, a configuration by the key it was read
// from, whose value may have come from the environment and is not shown.
func ValidateHECURL(raw string) error {
	_, _, err := hecEndpoints(raw)
	return err
}

// hecEndpoints checks the HEC URL raw (see ValidateHECURL) and returns
// the event endpoint's URL and the acknowledgement endpoint's, without
// the fragment and without the channel. Its error does not show raw.
func hecEndpoints(raw string) (event, ack *url.URL, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("does not parse: %w", parseError(err))
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, nil, errors.New("must be an http:// or https:// URL with a host")
	}
	// A fragment is never sent; left in, it would swallow the query the
	// ack query adds to the URL.
	u.Fragment, u.RawFragment = "", ""
	// The endpoints extend the path as written, not as decoded: a
	// gateway's route may hold an encoded slash (/a%2Fb), which u.Path
	// turns into a separator.
	base, other, what := hecBasePath(writtenPath(u))
	if other != "" {
		return nil, nil, fmt.Errorf("%s is HEC's %s; this sink posts JSON events to /services/collector/event: give HEC's base URL or its /services/collector/event URL", other, what)
	}
	a := *u
	for _, e := range [...]struct {
		u    *url.URL
		path string
	}{{u, base + "/services/collector/event"}, {&a, base + "/services/collector/ack"}} {
		dec, err := url.PathUnescape(e.path)
		if err != nil { // cannot happen: writtenPath returns a valid escaping
			return nil, nil, fmt.Errorf("path: %w", err)
		}
		e.u.Path, e.u.RawPath = dec, e.path
	}
	// The requests parse these URLs again as url.URL.String writes them,
	// which url.Parse may refuse though it took raw: an IPv6 zone outside
	// ASCII is taken raw ("%25ethé") but refused escaped ("%25eth%C3%A9").
	// Such a sink could never post; say so now rather than refuse every
	// alert. parseError drops the URL the error quotes.
	for _, v := range [...]*url.URL{u, &a} {
		if _, err := url.Parse(v.String()); err != nil {
			hint := ""
			if strings.Contains(v.Host, "%") {
				hint = " (an IPv6 zone must be ASCII)"
			}
			return nil, nil, fmt.Errorf("does not parse once written out for a request%s: %w", hint, parseError(err))
		}
	}
	return u, &a, nil
}

// writtenPath returns u's path as written, with only the bytes that may
// not stand raw in a request path escaped (a space, a brace, a bracket, a
// letter outside ASCII): escapes stay as written, and so do sub-delimiters
// (! ' ( ) * …), which a server need not take for their escapes. It is
// u.EscapedPath when u.Path re-escaped is the path as written; otherwise
// EscapedPath escapes the decoded path again, and an encoded slash becomes
// a separator, a '*' becomes %2A.
func writtenPath(u *url.URL) string {
	if u.RawPath == "" { // the path is written as EscapedPath writes it
		return u.EscapedPath()
	}
	const hex = "0123456789ABCDEF"
	raw := u.RawPath
	var b strings.Builder
	for i := 0; i < len(raw); i++ {
		switch c := raw[i]; {
		case c == '%' && i+2 < len(raw): // url.Parse checked every escape
			b.WriteString(raw[i : i+3])
			i += 2
		case pathByte(c):
			b.WriteByte(c)
		default:
			b.Write([]byte{'%', hex[c>>4], hex[c&15]})
		}
	}
	return b.String()
}

// pathByte reports whether c may stand raw in a URL path: a segment's
// pchar of RFC 3986 (unreserved, a sub-delimiter, ':' or '@') or '/'.
func pathByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$&'()*+,;=:@/", c) >= 0
}

// hecBasePath returns the escaped path p without its trailing slashes and
// without the event path it may end with — /services/collector,
// /services/collector/event or /services/collector/event/1.0; an /event
// without /services/collector before it is kept — compared segment by
// segment once unescaped, so that an encoded slash (a%2Fb) is never taken
// for a separator and the rest stays as written. Empty segments are
// skipped as trailing slashes are taken off: in HEC's path
// (/services/collector//event) and between it and the base path
// (/splunk//services/collector/event, a base URL with a trailing slash
// joined to HEC's path), so that such a URL is the event endpoint under
// the base path /splunk; the base path itself is kept as written
// (/gw//splunk stays). When p ends instead in another of HEC's endpoints
// (hecOtherEndpoints), which this sink cannot post events to, it returns
// that endpoint's path and what it is, and no base.
func hecBasePath(p string) (base, other, what string) {
	segs := strings.Split(p, "/")
	is := func(i int, word string) bool {
		s, err := url.PathUnescape(segs[i])
		return err == nil && s == word
	}
	// hecAt returns the index of the segment where segs ends in
	// /services/collector followed by words, empty segments among and
	// before them left out, and whether it does; segs[0] (before the
	// leading slash) is never part of them.
	hecAt := func(words ...string) (int, bool) {
		words = append([]string{"services", "collector"}, words...)
		i := len(segs) - 1
		for j := len(words) - 1; j >= 0; j-- {
			for i >= 1 && segs[i] == "" {
				i--
			}
			if i < 1 || !is(i, words[j]) {
				return 0, false
			}
			i--
		}
		// The empty segments between the base path and HEC's path are
		// a slash too many, not part of the base.
		for i >= 1 && segs[i] == "" {
			i--
		}
		return i + 1, true
	}
	// Trailing slashes are taken off, all of them: …/event// (a base URL
	// and a path joined with a slash too many) is the event endpoint.
	for n := len(segs); n > 1 && segs[n-1] == ""; n-- {
		segs = segs[:n-1]
	}
	for _, e := range hecOtherEndpoints {
		if _, ok := hecAt(e.words...); ok {
			return "", "/services/collector/" + strings.Join(e.words, "/"), e.what
		}
	}
	// Only HEC's own event path is taken off: an /event that does not
	// follow /services/collector is part of the base path (a proxy's
	// route, /myproxy/event), and so is a /1.0 after it.
	for _, words := range [...][]string{{"event", "1.0"}, {"event"}, {}} {
		if n, ok := hecAt(words...); ok {
			return strings.Join(segs[:n], "/"), "", ""
		}
	}
	return strings.Join(segs, "/"), "", ""
}

// hecOtherEndpoints are the HEC endpoints below /services/collector that
// are not the JSON event endpoint: a URL ending in one is refused rather
// than extended to …/raw/services/collector/event. They are the paths
// internal/urlcred knows as HEC's own, the event endpoints left out, the
// deprecated MINT endpoint and the S2S endpoint, which takes a forwarder's
// Splunk-to-Splunk stream (outputs.conf httpout), not JSON events.
var hecOtherEndpoints = [...]struct {
	words []string // after /services/collector
	what  string
}{
	{[]string{"raw"}, "raw endpoint, which takes plain text"},
	{[]string{"raw", "1.0"}, "raw endpoint, which takes plain text"},
	{[]string{"ack"}, "indexer acknowledgement endpoint"},
	{[]string{"health"}, "health endpoint"},
	{[]string{"health", "1.0"}, "health endpoint"},
	{[]string{"mint"}, "deprecated MINT endpoint, which takes Splunk MINT SDK data"},
	{[]string{"mint", "1.0"}, "deprecated MINT endpoint, which takes Splunk MINT SDK data"},
	{[]string{"s2s"}, "S2S endpoint, which takes a forwarder's Splunk-to-Splunk stream"},
}

// AppendHECEvent appends one HEC event envelope for a, as the sink sends
// it: {"time":<epoch.ms>,"host":…,"source":…,"sourcetype":…,"index":…,"event":{…}},
// its time as hecEventTime chooses it.
func (h *HEC) AppendHECEvent(dst []byte, a *Alert) ([]byte, error) {
	dst = append(dst, `{"time":`...)
	dst = appendEpochMillis(dst, hecEventTime(a))
	dst = append(dst, h.meta...)
	dst, err := EncodeJSON(dst, a, h.opt.Format)
	if err != nil {
		return dst, err
	}
	return append(dst, '}'), nil
}

// hecEventTime is the time of a's HEC event, Splunk's _time: when the
// activity happened. For an alert that is its event Timestamp (DetectedAt
// when it has none). A suppression summary (RepeatCount > 0) stands for
// its first alert and the repeats after it, FirstSeen to LastSeen, and its
// Timestamp is only the first alert's, whose own event already sits at
// that time: the summary's is LastSeen, the latest activity it reports,
// as its DetectedAt is the latest detection. It never changes when the
// summary is sent again. A summary without LastSeen falls back as an
// alert does.
func hecEventTime(a *Alert) time.Time {
	switch {
	case a.RepeatCount > 0 && !a.LastSeen.IsZero():
		return a.LastSeen
	case !a.Timestamp.IsZero():
		return a.Timestamp
	}
	return a.DetectedAt
}

// appendEpochMillis appends t (cut to the millisecond below it, as
// UnixMilli does) as epoch seconds with exactly three decimals. Before 1970
// the sign applies to the whole number: -1.500 is 1.5 s before the epoch.
func appendEpochMillis(dst []byte, t time.Time) []byte {
	ms := t.UnixMilli()
	u := uint64(ms)
	if ms < 0 {
		dst = append(dst, '-')
		u = -u // the magnitude, in two's complement: right for math.MinInt64 too
	}
	sec, frac := u/1000, u%1000
	dst = strconv.AppendUint(dst, sec, 10)
	dst = append(dst, '.', byte('0'+frac/100), byte('0'+frac/10%10), byte('0'+frac%10))
	return dst
}

// Write sends alerts in batches of at most MaxBatchBytes, in order, and
// returns once every batch was accepted (and acknowledged, with Ack), at
// the first retryable failure — batches sent before it were delivered, so
// a retry may duplicate them (receivers dedupe by alert_id) — or, when HEC
// refused some batches for good, with a RefusedError naming their alerts.
// With Ack, an ack query refused for good (see doAck) adds the alerts of
// the batches not yet acknowledged to the RefusedError, with an error
// saying they were probably indexed: sending them again would duplicate
// them at every retry, for ever. With Ack, a Write whose requests Splunk
// may have lost in a reset of its acknowledgements (a restart, a failover:
// see ackBook) fails retryably, at once.
func (h *HEC) Write(ctx context.Context, alerts []Alert) error {
	if err := h.gate.enter(); err != nil {
		return err
	}
	defer h.gate.leave()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("splunk_hec %s: %w", h.where, err)
	}
	if len(alerts) == 0 {
		return nil
	}
	pev := getNetBuf()
	defer putNetBuf(pev)
	ev := *pev
	defer func() { *pev = ev }()
	// A request HEC refuses for good (a 400: an index the token may not
	// write, a malformed event) does not stop the others: its alerts are
	// reported refused (RefusedError), for the dead-letter file. A
	// retryable failure stops the Write at once.
	var body []byte  // not pooled: the HTTP transport may read it after Do returns
	var inBody []int // the alerts in body
	var acks []ackedRequest
	var refused Refusals
	if h.opt.Ack {
		defer func() { h.acks.release(acks) }()
	}
	send := func() error {
		// A Write a reset made stale posts no more: each post would be
		// sent again with the rest.
		if len(acks) > 0 && h.acks.anyStale(acks) {
			return h.ackDoubtError(ackReset)
		}
		t, err := h.postBooked(ctx, body)
		switch {
		case err == nil:
			if t != nil {
				acks = append(acks, ackedRequest{ackTicket: t, alerts: slices.Clone(inBody)})
				if h.acks.anyStale(acks) {
					return h.ackDoubtError(ackReset)
				}
			}
		case !IsPermanent(err) || errors.Is(err, ErrClosed):
			return err
		default:
			for _, i := range inBody {
				refused.Add(i, err)
			}
		}
		body, inBody = nil, inBody[:0] // a new body: the transport may still read the last after Do returned
		return nil
	}
	var err error
	for i := range alerts {
		ev, err = h.AppendHECEvent(ev[:0], &alerts[i])
		if err != nil {
			refused.Add(i, fmt.Errorf("splunk_hec: encode alert %s: %w", alerts[i].AlertID, err))
			continue
		}
		if len(body) > 0 && len(body)+len(ev) > h.opt.MaxBatchBytes {
			if err := send(); err != nil {
				return err
			}
		}
		body = append(body, ev...)
		inBody = append(inBody, i)
	}
	if len(body) > 0 {
		if err := send(); err != nil {
			return err
		}
	}
	if len(acks) > 0 { // nothing accepted: nothing to wait for
		pending, err := h.waitAcks(ctx, acks)
		if err != nil && !IsPermanent(err) {
			return err
		}
		// The ack query was refused for good: the requests it did not
		// report indexed are refused, so that a retry does not post
		// them again, and again, for ever.
		for _, a := range acks {
			if pending[a.id] {
				for _, i := range a.alerts {
					refused.Add(i, err)
				}
			}
		}
	}
	return refused.Err()
}

// ackedRequest is a request HEC accepted with indexer acknowledgement on:
// its ackId, booked, and the indices of its alerts in Write's slice.
type ackedRequest struct {
	*ackTicket
	alerts []int
}

// ackTicket is the ackId of a request whose Write is under way, booked in
// the sink's ackBook. Its fields do not change once it is booked.
type ackTicket struct {
	id int64
	// gen is the book's generation the ackId belongs to: once the book's
	// is another, a reset was seen since and the ticket is stale.
	gen uint64
	// from is the sequence number of the first post under way when this
	// one started (its own if none was): the requests Splunk may have
	// numbered after this one are the posts from it on, this one aside.
	from uint64
}

// ackBook keeps the ackIds that the Writes under way wait for, to tell
// when "indexed" for one of them may be about another request's events.
//
// Splunk numbers a channel's requests from ackId 0 and keeps channels in
// memory: after a restart (or a failover to another HEC instance, or when
// it drops the channel after it sat idle) the sink's channel is new to it,
// numbered from 0 again, and a later request, of any Write, may get the
// ackId of an earlier one whose events were lost. The book sees such a
// reset when a request is given an ackId that a booked request holds
// (Splunk never gives one out twice in a count: both are then stale), or
// one not above an ackId booked before the request was sent (those were
// answered first, so numbered first: the tickets booked before it are
// stale, not its own), or one given to another post while this one was
// under way (booked since, its Write perhaps ended already: a request
// answered before a reset whose answer is read after a request of the new
// count, given the same ackId, came and went). Each reset starts a new
// generation; a Write with a stale ticket fails retryably, at once: at
// least once. So an ackId is only credited to the post Splunk gave it to
// in the count the book holds it in: when two posts under way together
// are given one ackId, neither is.
//
// A request answered but not booked yet, or one whose answer never came
// (a network error, a timeout, a proxy's page), may hold an ackId the book
// has not seen. Only a request Splunk numbered after a ticket's can hold
// its ackId, after a reset, and Splunk numbers those from 0: the ackId id
// is out of reach while at most id posts may have been numbered after it
// (see exposed) — as it is in the steady state, ackIds counting every
// request the channel took. An ackId within reach reported indexed is
// believed once every post sent before that answer has ended, and only if
// none of those that may have been numbered after it went unanswered.
// Nothing waits on a lock held across a request: a Write waiting for
// other Writes' posts waits on a channel, with its context, and posts
// never wait.
type ackBook struct {
	mu   sync.Mutex
	gen  uint64               // the resets seen
	top  int64                // 1 + the highest ackId booked in gen; 0: none
	out  map[int64]*ackTicket // the ackIds of gen that Writes under way hold
	next uint64               // the posts started: the sequence number of the next
	// under maps the sequence numbers of the posts under way to the
	// bookings made when each started.
	under map[uint64]uint64
	// bookings counts the ackIds booked, in any generation.
	bookings uint64
	// recent maps an ackId booked while posts were under way to bookings
	// just after it was booked, while a post that started before it is
	// under way: such a post given that ackId too was numbered in another
	// count (see end).
	recent map[int64]uint64
	// lost is 1 + the highest sequence number of a post that HEC did not
	// answer (its ackId unknown); 0: none.
	lost uint64
	// ended is closed, and set to nil, when a post ends: made by a Write
	// that waits for posts, nil while none does.
	ended chan struct{}
}

// postStart is what the book knew when a post started.
type postStart struct {
	seq, from, gen uint64
	top            int64
	booked         uint64 // the bookings made before it
}

// start records a post that starts.
func (b *ackBook) start() postStart {
	b.mu.Lock()
	defer b.mu.Unlock()
	p := postStart{seq: b.next, from: b.next, gen: b.gen, top: b.top, booked: b.bookings}
	b.next++
	for q := range b.under {
		p.from = min(p.from, q)
	}
	if b.under == nil {
		b.under = make(map[uint64]uint64)
	}
	b.under[p.seq] = p.booked
	return p
}

// end records the end of the post p: given the ackId id (booked), or not,
// and then answered by HEC (which gave no ackId) or not (its ackId, if
// any, unknown). It returns the ticket of a booked ackId.
func (b *ackBook) end(p postStart, id int64, booked, answered bool) *ackTicket {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.under, p.seq)
	if b.ended != nil {
		close(b.ended)
		b.ended = nil
	}
	defer b.forget(p)
	if !booked {
		if !answered {
			b.lost = max(b.lost, p.seq+1)
		}
		return nil
	}
	b.bookings++
	t := &ackTicket{id: id, gen: b.gen, from: p.from}
	_, taken := b.out[id]
	if at, ok := b.recent[id]; ok && at > p.booked {
		// Given to another post while this one was under way: one count
		// never gives an ackId twice, so one of the two was numbered in
		// another, and which cannot be told — whether that post's Write
		// still holds it or not.
		taken = true
	}
	if len(b.under) > 0 {
		// A post under way may be given id too, in another count.
		if b.recent == nil {
			b.recent = make(map[int64]uint64)
		}
		b.recent[id] = b.bookings
	}
	// A post under way while a reset was seen may have been numbered
	// before it or after: its ackId does not tell of another reset.
	crossed := p.gen != b.gen
	if taken || !crossed && id < p.top {
		b.gen++
		clear(b.out) // their Writes fail: only ackIds booked from now on can collide
		b.top, crossed = 0, false
		t.gen = b.gen
		if taken {
			// Of two requests given one ackId, the order they are booked
			// in does not tell which is the stale one.
			t.gen--
			return t
		}
	}
	if b.out == nil {
		b.out = make(map[int64]*ackTicket)
	}
	b.out[id] = t
	if !crossed {
		b.top = max(b.top, id+1)
	}
	return t
}

// forget drops from recent, as the post p ends, the ackIds booked before
// every post still under way started: a post that starts after an ackId
// was booked and is given it again is seen by out and top, as ever. Only
// the end of the oldest post under way lets some go. b.mu is held.
func (b *ackBook) forget(p postStart) {
	if len(b.recent) == 0 {
		return
	}
	oldest := b.bookings
	for _, at := range b.under {
		if at < p.booked {
			return // an older post is still under way: nothing to let go
		}
		oldest = min(oldest, at)
	}
	for id, at := range b.recent {
		if at <= oldest {
			delete(b.recent, id)
		}
	}
}

// release forgets the tickets of a Write that ends.
func (b *ackBook) release(reqs []ackedRequest) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range reqs {
		if b.out[r.id] == r.ackTicket {
			delete(b.out, r.id)
		}
	}
}

// anyStale reports whether a ticket of reqs is stale.
func (b *ackBook) anyStale(reqs []ackedRequest) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, r := range reqs {
		if r.gen != b.gen {
			return true
		}
	}
	return false
}

// exposed reports whether t's ackId may have been given to a request
// numbered after t's, the posts started being the first upTo: after a
// reset Splunk numbers only those from 0, and gives out the ackId id once
// it has numbered more than id of them. b.mu is held.
func (b *ackBook) exposed(t *ackTicket, upTo uint64) bool {
	after := upTo - t.from - 1 // t's own post is among the first upTo, from t.from on
	return t.id < 0 || uint64(t.id) < after
}

// ackDoubt is why an answer "indexed" is not believed for a ticket.
type ackDoubt int

const (
	ackBelieved   ackDoubt = iota
	ackReset               // a reset was seen: the ticket is stale
	ackUnanswered          // a post HEC did not answer may hold the ackId
)

// believe reports whether the answer "indexed" that a Write got for the
// tickets ts is about their requests (see ackBook): for each ackId within
// reach of the posts started before the answer, it waits until these
// have ended, or ctx ends (its error is returned), and doubts it if one
// of them may hold it. It waits on no post for an ackId out of reach.
func (b *ackBook) believe(ctx context.Context, ts []*ackTicket) (ackDoubt, error) {
	b.mu.Lock()
	upTo := b.next // every post sent before the answer, and perhaps a few more
	for {
		wait := false
		for _, t := range ts {
			switch {
			case t.gen != b.gen:
				b.mu.Unlock()
				return ackReset, nil
			case !b.exposed(t, upTo):
			case b.lost > t.from:
				b.mu.Unlock()
				return ackUnanswered, nil
			default:
				wait = true
			}
		}
		if wait {
			wait = false
			for q := range b.under {
				if q < upTo {
					wait = true
					break
				}
			}
		}
		if !wait {
			b.mu.Unlock()
			return ackBelieved, nil
		}
		if b.ended == nil {
			b.ended = make(chan struct{})
		}
		ended := b.ended
		b.mu.Unlock()
		select {
		case <-ctx.Done():
			return ackBelieved, ctx.Err()
		case <-ended:
		}
		b.mu.Lock()
	}
}

// postBooked posts one batch body; with Ack it books the ackId HEC answers
// (see ackBook) and returns its ticket.
func (h *HEC) postBooked(ctx context.Context, body []byte) (*ackTicket, error) {
	if !h.opt.Ack {
		_, _, err := h.post(ctx, body)
		return nil, err
	}
	p := h.acks.start()
	id, answered, err := h.post(ctx, body)
	return h.acks.end(p, id, err == nil, answered), err
}

// ackDoubtError is the retryable error of a Write whose acknowledgement is
// doubted (see ackBook).
func (h *HEC) ackDoubtError(d ackDoubt) error {
	if d == ackUnanswered {
		return fmt.Errorf("splunk_hec %s: a request on the channel got no answer, so its ackId is unknown, and HEC may have numbered the channel's requests from ackId 0 again since this Write's (a restart): an acknowledgement of this Write's requests could be about that request's events; the events are sent again", h.where)
	}
	return fmt.Errorf("splunk_hec %s: HEC numbers the channel's requests from ackId 0 again (a restart, or another HEC instance took them): an acknowledgement of this Write's requests could be another request's; the events are sent again", h.where)
}

// gzipWriters recycles gzip writers: each holds about a megabyte of
// compressor state.
var gzipWriters sync.Pool

// hecResponse is HEC's answer body.
type hecResponse struct {
	Text               string `json:"text"`
	Code               *int   `json:"code"`
	AckID              *int64 `json:"ackId"`
	InvalidEventNumber *int   `json:"invalid-event-number"`
}

// hecRetryableCode reports whether a HEC status code means "try again".
// See Splunk's "Troubleshoot HTTP Event Collector" code table.
func hecRetryableCode(code int) bool {
	switch code {
	case 8, // internal server error
		9,  // server is busy
		18, // HEC is unhealthy: queues are full
		19, // HEC is unhealthy: ack service unavailable
		20: // HEC is unhealthy: queues full and ack service unavailable
		return true
	}
	return false
}

// do sends one request to HEC and decodes its JSON answer, classifying
// failures. The answer returned has a Code only when HEC answered with its
// JSON, a refusal too.
func (h *HEC) do(ctx context.Context, target string, body []byte, gz bool) (hecResponse, error) {
	var r hecResponse
	var rd io.Reader = bytes.NewReader(body)
	if gz {
		var zb bytes.Buffer
		zw, _ := gzipWriters.Get().(*gzip.Writer)
		if zw == nil {
			zw = gzip.NewWriter(&zb)
		} else {
			zw.Reset(&zb)
		}
		_, _ = zw.Write(body) // writes to a bytes.Buffer do not fail
		_ = zw.Close()
		gzipWriters.Put(zw)
		rd = &zb
	}
	rctx, cancel := h.timeout.context(ctx)
	defer cancel() // runs after the body is read and closed
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, target, rd)
	if err != nil {
		return r, Permanent(fmt.Errorf("splunk_hec POST %s: %w", h.where, parseError(err)))
	}
	req.Header.Set("Authorization", h.auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "iocwatch")
	if gz {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if h.channel != "" {
		req.Header.Set("X-Splunk-Request-Channel", h.channel)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return r, fmt.Errorf("splunk_hec %w", roundTripError(ctx, http.MethodPost, h.where, err, h.secrets))
	}
	defer resp.Body.Close()
	raw, rerr := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		if a, isHEC, _ := h.readAnswer(raw); isHEC && rerr == nil {
			r = a // HEC's refusal, with its code
		}
		return r, fmt.Errorf("splunk_hec %w", h.statusError(h.where, resp, raw))
	}
	if rerr != nil {
		return r, fmt.Errorf("splunk_hec POST %s: %s: reading the answer: %w", h.where, statusText(resp, h.secrets), rerr)
	}
	r, isHEC, detail := h.readAnswer(raw)
	if !isHEC {
		// Not HEC's answer (a proxy page?): delivery is unknown, so retry.
		return hecResponse{}, fmt.Errorf("splunk_hec POST %s: %s but not a HEC answer: %q", h.where, statusText(resp, h.secrets), detail)
	}
	if *r.Code != 0 {
		err := fmt.Errorf("splunk_hec POST %s: %s: %s", h.where, statusText(resp, h.secrets), detail)
		if hecRetryableCode(*r.Code) {
			return r, err
		}
		return r, Permanent(err)
	}
	return r, nil
}

// readAnswer decodes a HEC answer body. isHEC reports whether it is HEC's
// JSON with a code (r.Code is then set); detail is what an error shows of
// it — HEC's code and text, or else an excerpt of the body — scrubbed of
// the sink's secrets and sanitised.
func (h *HEC) readAnswer(raw []byte) (r hecResponse, isHEC bool, detail string) {
	jerr := json.Unmarshal(raw, &r)
	isHEC = jerr == nil && r.Code != nil
	if !isHEC {
		return r, false, peerExcerpt(raw, h.secrets, bodyExcerptBytes)
	}
	r.Text = string(scrub([]byte(r.Text), h.secrets))
	detail = fmt.Sprintf("HEC code %d %q", *r.Code, sanitizeExcerpt([]byte(r.Text), 200))
	if r.InvalidEventNumber != nil {
		detail += fmt.Sprintf(" (invalid event number %d in this request)", *r.InvalidEventNumber)
	}
	return r, true, h.shown(detail)
}

// shown scrubs the sink's secrets from text made of a peer's answer once
// more, after it was scrubbed, sanitised and quoted: each step may make a
// secret of what was not one. A peer that echoes the token into its JSON
// text unescaped (`"you sent Splunk ab\"cd"` for the token ab\"cd) has it
// decoded to ab"cd, which %q writes back as ab\"cd; one that echoes it
// with a newline where the token has a space has the newline made a space.
func (h *HEC) shown(text string) string {
	return string(scrub([]byte(text), h.secrets))
}

// statusError is the error for a non-2xx answer of HEC's endpoint where,
// whose body is raw: retryable for a retryable HTTP status or HEC code
// (httpRetryableStatus, hecRetryableCode), else Permanent, with HEC's code
// and text or a body excerpt (see readAnswer and httpStatusError).
func (h *HEC) statusError(where string, resp *http.Response, raw []byte) error {
	r, isHEC, detail := h.readAnswer(raw)
	retry := httpRetryableStatus(resp.StatusCode) || (isHEC && hecRetryableCode(*r.Code))
	return httpStatusError(http.MethodPost, where, resp, detail, retry, h.opt.Now(), h.secrets)
}

// post sends one batch body and returns its ackId (with Ack). answered
// reports whether HEC answered it with its JSON (a code): a request it
// refused or answered without an ackId holds none; one answered otherwise,
// or not at all, may hold one.
func (h *HEC) post(ctx context.Context, body []byte) (id int64, answered bool, err error) {
	r, err := h.do(ctx, h.url, body, h.opt.Gzip)
	answered = r.Code != nil
	if err != nil {
		return 0, answered, err
	}
	if h.opt.Ack {
		if r.AckID == nil {
			return 0, answered, Permanent(fmt.Errorf("splunk_hec POST %s: ack is on but HEC returned no ackId (is indexer acknowledgement enabled on the token?)", h.where))
		}
		return *r.AckID, answered, nil
	}
	return 0, answered, nil
}

// waitAcks polls /services/collector/ack until every request is
// acknowledged, ctx ends, AckTimeout passes (a retryable error: the events
// may or may not be indexed, and sending them again is the at-least-once
// choice), an acknowledgement is doubted (a retryable error, see ackBook)
// or the ack query is refused for good (a permanent error, see doAck). On
// an error it returns the ackIds not acknowledged yet.
func (h *HEC) waitAcks(ctx context.Context, reqs []ackedRequest) (pending map[int64]bool, err error) {
	waiting := make(map[int64]ackedRequest, len(reqs))
	for _, a := range reqs {
		waiting[a.id] = a
	}
	ids := func() map[int64]bool {
		m := make(map[int64]bool, len(waiting))
		for id := range waiting {
			m[id] = true
		}
		return m
	}
	deadline := time.Now().Add(h.opt.AckTimeout)
	wait := 50 * time.Millisecond
	for {
		q := struct {
			Acks []int64 `json:"acks"`
		}{}
		for id := range waiting {
			q.Acks = append(q.Acks, id)
		}
		body, _ := json.Marshal(q) // []int64 always marshals
		r, err := h.doAck(ctx, body)
		if err != nil {
			return ids(), err
		}
		// The answer may be about requests of the channel numbered again
		// (see ackBook): a Write with a stale ticket fails at once, and
		// "indexed" is believed only once no other request can hold the
		// ackId.
		var left []ackedRequest
		var indexed []*ackTicket
		for id, a := range waiting {
			left = append(left, a)
			if r[strconv.FormatInt(id, 10)] {
				indexed = append(indexed, a.ackTicket)
			}
		}
		if h.acks.anyStale(left) {
			return ids(), h.ackDoubtError(ackReset)
		}
		if len(indexed) > 0 {
			doubt, err := h.acks.believe(ctx, indexed)
			if err != nil {
				return ids(), fmt.Errorf("splunk_hec %s: waiting for indexer acknowledgement: %w", h.where, err)
			}
			if doubt != ackBelieved {
				return ids(), h.ackDoubtError(doubt)
			}
			for _, t := range indexed {
				delete(waiting, t.id)
			}
		}
		if len(waiting) == 0 {
			return nil, nil
		}
		if time.Now().After(deadline) {
			return ids(), fmt.Errorf("splunk_hec %s: %d request(s) not acknowledged as indexed within %v", h.where, len(waiting), h.opt.AckTimeout)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ids(), fmt.Errorf("splunk_hec %s: waiting for indexer acknowledgement: %w", h.where, ctx.Err())
		case <-t.C:
		}
		wait = min(wait*2, time.Second)
	}
}

// ackRefused ends the error of an ack query refused for good: the events
// are not sent again, and why that is the safer choice.
const ackRefused = "the events were accepted, probably indexed, but are not acknowledged; " +
	"they are not sent again (each resend would index them once more): " +
	"is indexer acknowledgement enabled on the token, and does every ack query reach the HEC instance that took the events?"

// ackQueryError is the error of an ack query that got no usable answer;
// one refused for good (Permanent) ends with ackRefused.
func ackQueryError(err error) error {
	if IsPermanent(err) {
		return fmt.Errorf("splunk_hec ack %w: %s", err, ackRefused)
	}
	return fmt.Errorf("splunk_hec ack %w", err)
}

// doAck sends one ack query and returns its {"acks":{"id":bool}} map.
//
// The events were accepted before: a failed query only leaves their fate
// unknown, and a retry of the Write sends them again. That is worth it
// when the query may succeed next time — a network error, a timeout, 408,
// 429, 5xx, HEC codes 8, 9 and 18–20, an answer that is not the ack map —
// and such failures are retryable. Any other answer (400 "ACK is
// disabled" or "Invalid data channel", 401, 403, 404, a redirect, which
// is never followed) is a configuration problem that would make every
// retry post the events again, a duplicate each time, for ever: it is
// Permanent, naming the endpoint and the status, and saying the events
// were probably indexed but not acknowledged. "Invalid data channel"
// (code 11) is Splunk's answer to a channel that is not a GUID, which
// NewHEC refuses; a restart does not cause it: Splunk then has lost the
// channel and its acknowledgements, but takes the channel, a GUID, as a
// new one, numbered from ackId 0 again. The lost ackIds are not reported
// indexed — the wait ends at AckTimeout, a retryable failure, and the
// retry sends the events again — unless a request since was given one of
// them, which the sink sees (ackBook) and fails the Writes waiting on
// them at once, retryably too — as it does when a request whose answer was
// lost may have been given one.
func (h *HEC) doAck(ctx context.Context, body []byte) (map[string]bool, error) {
	rctx, cancel := h.timeout.context(ctx)
	defer cancel() // runs after the body is read and closed
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, h.ackURL, bytes.NewReader(body))
	if err != nil {
		return nil, Permanent(fmt.Errorf("splunk_hec ack POST %s: %w", h.ackWhere, parseError(err)))
	}
	req.Header.Set("Authorization", h.auth)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Splunk-Request-Channel", h.channel)
	resp, err := h.client.Do(req)
	if err != nil {
		return nil, ackQueryError(roundTripError(ctx, http.MethodPost, h.ackWhere, err, h.secrets))
	}
	defer resp.Body.Close()
	raw, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return nil, ackQueryError(h.statusError(h.ackWhere, resp, raw))
	}
	raw = scrub(raw, h.secrets)
	if rerr != nil {
		return nil, fmt.Errorf("splunk_hec ack POST %s: %s: reading the answer: %w", h.ackWhere, statusText(resp, h.secrets), rerr)
	}
	var r struct {
		Acks map[string]bool `json:"acks"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("splunk_hec ack POST %s: bad answer %s: %w", h.ackWhere, h.shown(strconv.Quote(sanitizeExcerpt(raw, bodyExcerptBytes))), err)
	}
	return r.Acks, nil
}

// Close waits for in-flight Writes (or ctx) and drops idle connections.
// Safe to call twice.
func (h *HEC) Close(ctx context.Context) error {
	first, err := h.gate.close(ctx)
	if first {
		h.tr.CloseIdleConnections()
	}
	return err
}

// newGUID returns a random RFC 4122 version 4 GUID.
func newGUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	const hexd = "0123456789abcdef"
	out := make([]byte, 0, 36)
	for i, c := range b {
		if i == 4 || i == 6 || i == 8 || i == 10 {
			out = append(out, '-')
		}
		out = append(out, hexd[c>>4], hexd[c&15])
	}
	return string(out)
}
