package sink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
	"unicode/utf8"
)

// SyslogOptions configures a Syslog sink. The zero value is not usable:
// Address is required. Defaults are applied by NewSyslog.
type SyslogOptions struct {
	// Network is "tcp" (RFC 6587 octet counting), "tls" (RFC 5425: the same
	// framing over TLS) or "udp" (RFC 5426: one message per datagram).
	// Default "tcp".
	Network string
	// Address is the receiver's host:port. Required.
	Address string
	// Facility is a facility name (kern, user, mail, daemon, auth, syslog,
	// lpr, news, uucp, cron, authpriv, ftp, ntp, audit, alert, clock,
	// local0 … local7) or its number 0–23. Default "local4".
	Facility string
	// AppName is the APP-NAME header field (printable ASCII, at most 48
	// bytes). Default "iocwatch".
	AppName string
	// Hostname is the HOSTNAME header field. Default os.Hostname().
	Hostname string
	// ProcID is the PROCID header field. Default the process id.
	ProcID string
	// Payload is the MSG: "cef" (ArcSight CEF, see AppendCEF) or "json"
	// (EncodeJSON in Format). Default "cef".
	Payload string
	// Format is the JSON shape when Payload is "json": FormatNative or
	// FormatOCSF. Default native.
	Format Format
	// Version is the CEF Device Version (iocwatch's version). Default "0".
	Version string
	// TLS configures certificate verification (on by default) and an
	// optional client certificate when Network is "tls".
	TLS TLSOptions
	// MaxUDPBytes is the largest datagram sent over UDP; longer messages
	// are cut (on a UTF-8 boundary, never inside a CEF escape) and counted
	// in Truncated. Default 1400 (fits an Ethernet MTU unfragmented).
	MaxUDPBytes int
	// Timeout bounds connecting and each Write's socket write.
	// Default 10s.
	Timeout time.Duration
}

// Syslog is a Sink that sends each alert as one RFC 5424 message
//
//	<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG
//
// with PRI = facility×8 + severity (severity from the indicator's, see
// CEFSeverity and the table in docs/sinks-network.md), TIMESTAMP the
// alert's DetectedAt in UTC with microseconds, MSGID "ioc-match",
// "ioc-retro" or "ioc-summary", no structured data, and MSG a CEF line or a
// JSON object (no BOM, so CEF parsers find "CEF:0|" where they expect it).
//
// # Acceptance
//
// Syslog has no application-level acknowledgement. Over TCP and TLS an
// alert is accepted once its frame was written to the socket without
// error; the receiver may still lose it (it crashes before processing,
// or the connection breaks with data in flight). Before each Write the
// sink checks that the receiver has not closed the connection, and any
// write error closes it: Write returns the error (the batch was not
// accepted) and the next Write reconnects. Over UDP, accepted means sent.
//
// The frames of the last accepted Write are kept. When the check finds
// the connection reset rather than closed — the receiver dropped bytes it
// had not read, or bytes reached it after it closed: a Write crossed its
// close — or a write fails, the next connection sends them again before
// anything else: at least once, as the rest of iocwatch, and a receiver
// may see them twice (the alert_id tells duplicates). A receiver that
// read everything and then closed is not sent anything again.
//
// Writes are serialised on one connection, so alerts keep their order.
// Use NewSyslog; the zero value is not usable. Safe for concurrent use.
type Syslog struct {
	opt      SyslogOptions
	pri      int // facility × 8
	tls      *tls.Config
	hostname string
	gate     gate

	sem    chan struct{} // one token: held while using conn and dialed
	conn   net.Conn      // nil until the first Write, or after an error
	dialed bool          // a connection was opened before

	// last holds the frames of the last Write accepted on a stream
	// connection; resend is set when they may not have reached the
	// receiver, so that the next connection sends them first. Both are
	// guarded by sem.
	last   []byte
	resend bool

	truncated  atomic.Uint64
	reconnects atomic.Uint64
	resent     atomic.Uint64
}

// maxKeptFrames is the most bytes of frames kept for a resend; a larger
// Write is kept whole but its buffer is not reused.
const maxKeptFrames = 4 << 20

// NewSyslog checks opt, applies its defaults and returns the sink. It does
// not connect: the first Write does.
func NewSyslog(opt SyslogOptions) (*Syslog, error) {
	if opt.Network == "" {
		opt.Network = "tcp"
	}
	switch opt.Network {
	case "tcp", "tls", "udp":
	default:
		return nil, fmt.Errorf("syslog network %q: want tcp, tls or udp", opt.Network)
	}
	if opt.Address == "" {
		return nil, errors.New("syslog address: required")
	}
	if _, _, err := net.SplitHostPort(opt.Address); err != nil {
		return nil, fmt.Errorf("syslog address %q: %w", opt.Address, err)
	}
	if opt.Facility == "" {
		opt.Facility = "local4"
	}
	fac, err := ParseFacility(opt.Facility)
	if err != nil {
		return nil, fmt.Errorf("syslog facility: %w", err)
	}
	if opt.AppName == "" {
		opt.AppName = "iocwatch"
	}
	if opt.Hostname == "" {
		opt.Hostname, _ = os.Hostname()
	}
	if opt.ProcID == "" {
		opt.ProcID = strconv.Itoa(os.Getpid())
	}
	switch opt.Payload {
	case "":
		opt.Payload = "cef"
	case "cef", "json":
	default:
		return nil, fmt.Errorf("syslog payload %q: want cef or json", opt.Payload)
	}
	if opt.Format == "" {
		opt.Format = FormatNative
	}
	if err := opt.Format.validate(); err != nil {
		return nil, fmt.Errorf("syslog format: %w", err)
	}
	if opt.MaxUDPBytes == 0 {
		opt.MaxUDPBytes = 1400
	}
	if opt.MaxUDPBytes < 480 || opt.MaxUDPBytes > 65507 {
		return nil, fmt.Errorf("syslog max_udp_bytes %d: want 480 to 65507", opt.MaxUDPBytes)
	}
	if opt.Timeout == 0 {
		opt.Timeout = 10 * time.Second
	}
	if opt.Timeout < 0 {
		return nil, fmt.Errorf("syslog timeout %v: must be positive", opt.Timeout)
	}
	s := &Syslog{
		opt:      opt,
		pri:      fac * 8,
		hostname: syslogHeaderField(opt.Hostname, 255),
		sem:      make(chan struct{}, 1),
	}
	s.opt.AppName = syslogHeaderField(opt.AppName, 48)
	s.opt.ProcID = syslogHeaderField(opt.ProcID, 128)
	if opt.Network == "tls" {
		if s.tls, err = opt.TLS.config(); err != nil {
			return nil, fmt.Errorf("syslog %s: %w", opt.Address, err)
		}
	}
	return s, nil
}

// Truncated returns how many messages were cut to MaxUDPBytes.
func (s *Syslog) Truncated() uint64 { return s.truncated.Load() }

// Reconnects returns how many connections were opened after the first
// (after a receiver hang-up, a write error or a cancelled write).
func (s *Syslog) Reconnects() uint64 { return s.reconnects.Load() }

// Resent returns how many times the frames of an accepted Write were sent
// again on a new connection, because the old one was reset or broke after
// them (see Acceptance).
func (s *Syslog) Resent() uint64 { return s.resent.Load() }

// AppendMessage appends a's RFC 5424 message (without framing) to dst.
func (s *Syslog) AppendMessage(dst []byte, a *Alert) ([]byte, error) {
	sev := syslogSeverity(CEFSeverity(a.Indicator.Severity))
	dst = append(dst, '<')
	dst = strconv.AppendInt(dst, int64(s.pri+sev), 10)
	dst = append(dst, ">1 "...)
	if a.DetectedAt.IsZero() {
		dst = append(dst, '-')
	} else {
		dst = a.DetectedAt.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000000Z07:00")
	}
	dst = append(dst, ' ')
	dst = append(dst, s.hostname...)
	dst = append(dst, ' ')
	dst = append(dst, s.opt.AppName...)
	dst = append(dst, ' ')
	dst = append(dst, s.opt.ProcID...)
	switch {
	case a.RepeatCount > 0:
		dst = append(dst, " ioc-summary - "...)
	case a.Retro:
		dst = append(dst, " ioc-retro - "...)
	default:
		dst = append(dst, " ioc-match - "...)
	}
	if s.opt.Payload == "json" {
		return EncodeJSON(dst, a, s.opt.Format)
	}
	return AppendCEF(dst, a, s.opt.Version), nil
}

// Write sends alerts in order and returns once every message was written
// to the socket (see Acceptance), or with the error that broke the
// connection. An alert the payload cannot encode (JSON: a time past year
// 9999) is left out and reported in a RefusedError; the others are sent.
func (s *Syslog) Write(ctx context.Context, alerts []Alert) error {
	if err := s.gate.enter(); err != nil {
		return err
	}
	defer s.gate.leave()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("syslog %s: %w", s.opt.Address, err)
	}
	if len(alerts) == 0 {
		return nil
	}
	// Build everything before taking the connection.
	pb := getNetBuf()
	defer putNetBuf(pb)
	buf := *pb
	var ends []int // datagram ends, for UDP
	// An alert the payload cannot carry is refused alone (RefusedError):
	// the others are sent.
	var refused Refusals
	for i := range alerts {
		start := len(buf)
		var err error
		if s.opt.Network == "udp" {
			buf, err = s.AppendMessage(buf, &alerts[i])
			if err == nil && len(buf)-start > s.opt.MaxUDPBytes {
				buf = buf[:start+cutMessage(buf[start:], s.opt.MaxUDPBytes)]
				s.truncated.Add(1)
			}
		} else {
			buf, err = s.appendFrame(buf, &alerts[i])
		}
		if err != nil {
			buf = buf[:start]
			refused.Add(i, fmt.Errorf("syslog: encode alert %s: %w", alerts[i].AlertID, err))
			continue
		}
		if s.opt.Network == "udp" {
			ends = append(ends, len(buf))
		}
	}
	*pb = buf
	if len(buf) == 0 {
		return refused.Err()
	}

	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("syslog %s: waiting for the connection: %w", s.opt.Address, ctx.Err())
	}
	defer func() { <-s.sem }()
	conn, err := s.connect(ctx)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(s.opt.Timeout)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = conn.SetWriteDeadline(deadline)
	stop := context.AfterFunc(ctx, func() { _ = conn.SetWriteDeadline(time.Unix(1, 0)) })
	resending := false
	if s.opt.Network == "udp" {
		start := 0
		for _, end := range ends {
			if _, err = conn.Write(buf[start:end]); err != nil {
				break
			}
			start = end
		}
	} else {
		if s.resend && len(s.last) > 0 {
			resending = true
			_, err = conn.Write(s.last)
		}
		if err == nil {
			_, err = conn.Write(buf)
		}
	}
	stop()
	if err != nil {
		// A partial frame poisons the stream: always start afresh. The
		// previous Write's frames may have been lost with the connection.
		_ = conn.Close()
		s.conn = nil
		if s.opt.Network != "udp" && len(s.last) > 0 {
			s.resend = true
		}
		if ctx.Err() != nil {
			return fmt.Errorf("syslog %s %s: write: %w (%v)", s.opt.Network, s.opt.Address, ctx.Err(), err)
		}
		return fmt.Errorf("syslog %s %s: write: %w", s.opt.Network, s.opt.Address, err)
	}
	if s.opt.Network != "udp" {
		if resending {
			s.resent.Add(1)
		}
		s.resend = false
		if cap(s.last) > maxKeptFrames {
			s.last = nil
		}
		s.last = append(s.last[:0], buf...)
	}
	return refused.Err()
}

// connect returns the open connection, or dials a new one. The caller
// holds sem.
func (s *Syslog) connect(ctx context.Context) (net.Conn, error) {
	if s.conn != nil {
		if s.opt.Network == "udp" {
			return s.conn, nil
		}
		closed, reset := peerClosed(s.conn)
		if !closed {
			return s.conn, nil
		}
		if reset && len(s.last) > 0 {
			s.resend = true
		}
		_ = s.conn.Close()
		s.conn = nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.opt.Timeout)
	defer cancel()
	d := &net.Dialer{KeepAlive: 30 * time.Second}
	var conn net.Conn
	var err error
	switch s.opt.Network {
	case "tls":
		conn, err = (&tls.Dialer{NetDialer: d, Config: s.tls}).DialContext(ctx, "tcp", s.opt.Address)
	default:
		conn, err = d.DialContext(ctx, s.opt.Network, s.opt.Address)
	}
	if err != nil {
		return nil, fmt.Errorf("syslog %s %s: connect: %w", s.opt.Network, s.opt.Address, err)
	}
	if s.dialed {
		s.reconnects.Add(1)
	}
	s.dialed = true
	s.conn = conn
	return conn, nil
}

// peerClosed reports whether the receiver closed a stream connection,
// and whether it reset it (see socketState). Syslog receivers never send,
// so end of stream or an error means the connection is dead. It catches the common case of a receiver
// restart between Writes, so the next Write goes to a fresh connection
// instead of into a dead socket. A TLS connection is checked at the TLS
// layer only when bytes are waiting (session tickets, a close_notify).
func peerClosed(c net.Conn) (closed, reset bool) {
	tc, isTLS := c.(*tls.Conn)
	raw := c
	if isTLS {
		raw = tc.NetConn()
	}
	pending, closed, reset := socketState(raw, !isTLS)
	if closed || !isTLS || !pending {
		return closed, reset
	}
	// Records are waiting on a TLS connection: let crypto/tls consume
	// them (a ticket is absorbed, a close_notify is io.EOF).
	if err := c.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		return true, false
	}
	var b [1]byte
	_, err := c.Read(b[:])
	_ = c.SetReadDeadline(time.Time{})
	if err == nil {
		return false, false
	}
	if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
		return false, false
	}
	if errors.Is(err, syscall.ECONNRESET) {
		return true, true
	}
	// A close_notify comes before the reset that a receiver closing with
	// unread bytes sends: look under it.
	_, _, reset = socketState(raw, false)
	return true, reset
}

// Close waits for in-flight Writes (or ctx) and closes the connection.
// Safe to call twice.
func (s *Syslog) Close(ctx context.Context) error {
	first, err := s.gate.close(ctx)
	if !first {
		return err
	}
	select {
	case s.sem <- struct{}{}:
		if s.conn != nil {
			if cerr := s.conn.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) {
				err = errors.Join(err, fmt.Errorf("syslog %s: close: %w", s.opt.Address, cerr))
			}
			s.conn = nil
		}
		<-s.sem
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("syslog %s: close: %w", s.opt.Address, ctx.Err()))
	}
	return err
}

// appendFrame appends a's message as one RFC 6587 octet-counted frame,
// "MSG-LEN SP SYSLOG-MSG".
func (s *Syslog) appendFrame(dst []byte, a *Alert) ([]byte, error) {
	// Build the message after a reserved gap, then write the length in
	// front of it: lengths have at most 10 digits.
	start := len(dst)
	const gap = 11
	dst = append(dst, "           "...)
	dst, err := s.AppendMessage(dst, a)
	if err != nil {
		return dst[:start], err
	}
	n := len(dst) - start - gap
	var lb [gap]byte
	l := strconv.AppendInt(lb[:0], int64(n), 10)
	l = append(l, ' ')
	copy(dst[start:], l)
	copy(dst[start+len(l):], dst[start+gap:])
	return dst[:start+len(l)+n], nil
}

// cutMessage returns how many bytes of msg to keep within max: never in the
// middle of a UTF-8 sequence, never after a lone (escaping) backslash.
func cutMessage(msg []byte, max int) int {
	if len(msg) <= max {
		return len(msg)
	}
	n := max
	// Back up to the start of a valid rune that straddles max, if one does
	// (never further than a rune's length); invalid bytes are cut where
	// asked.
	for i := max - 1; !utf8.RuneStart(msg[max]) && i >= 0 && i > max-utf8.UTFMax; i-- {
		if utf8.RuneStart(msg[i]) {
			if r, size := utf8.DecodeRune(msg[i:]); (r != utf8.RuneError || size > 1) && i+size > max {
				n = i
			}
			break
		}
	}
	bs := 0
	for i := n - 1; i >= 0 && msg[i] == '\\'; i-- {
		bs++
	}
	if bs%2 == 1 {
		n--
	}
	return n
}

// syslogHeaderField makes s a valid RFC 5424 header field: printable
// US-ASCII without spaces (others become '_'), at most max bytes, "-" when
// empty.
func syslogHeaderField(s string, max int) string {
	if s == "" {
		return "-"
	}
	b := []byte(s)
	for i, c := range b {
		if c < 33 || c > 126 {
			b[i] = '_'
		}
	}
	if len(b) > max {
		b = b[:max]
	}
	return string(b)
}

// facilities are the RFC 5424 facility names, by number.
var facilities = [...]string{
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
}

// ParseFacility returns the number (0–23) of a syslog facility given by
// name (case-insensitive; "security" is audit, "console" is alert) or
// number.
func ParseFacility(s string) (int, error) {
	name := strings.ToLower(strings.TrimSpace(s))
	switch name {
	case "security":
		name = "audit"
	case "console":
		name = "alert"
	}
	for i, f := range facilities {
		if f == name {
			return i, nil
		}
	}
	if n, err := strconv.Atoi(name); err == nil && n >= 0 && n < len(facilities) {
		return n, nil
	}
	return 0, fmt.Errorf("unknown facility %q (want local0 … local7, user, daemon, auth, … or 0–23)", s)
}
