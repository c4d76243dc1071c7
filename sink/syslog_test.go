package sink_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
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

// syslogMsg is one parsed RFC 5424 message.
type syslogMsg struct {
	pri                                 int
	ts, host, app, procID, msgID, sdata string
	msg                                 string
}

// parseRFC5424 parses "<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG"
// strictly: header fields are printable ASCII without spaces, SD is "-".
func parseRFC5424(b []byte) (syslogMsg, error) {
	var m syslogMsg
	s := string(b)
	if !strings.HasPrefix(s, "<") {
		return m, errors.New("no <PRI>")
	}
	end := strings.Index(s, ">1 ")
	if end < 2 || end > 4 {
		return m, fmt.Errorf("bad PRI/VERSION in %.20q", s)
	}
	pri, err := strconv.Atoi(s[1:end])
	if err != nil || pri < 0 || pri > 191 {
		return m, fmt.Errorf("PRI %q", s[1:end])
	}
	m.pri = pri
	s = s[end+3:]
	fields := make([]string, 6)
	for i := range fields {
		sp := strings.IndexByte(s, ' ')
		if sp <= 0 {
			return m, fmt.Errorf("header field %d missing", i)
		}
		fields[i] = s[:sp]
		for _, c := range []byte(fields[i]) {
			if c < 33 || c > 126 {
				return m, fmt.Errorf("header field %d %q: non-printable byte", i, fields[i])
			}
		}
		s = s[sp+1:]
	}
	m.ts, m.host, m.app, m.procID, m.msgID, m.sdata = fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]
	if m.sdata != "-" {
		return m, fmt.Errorf("structured data %q, want -", m.sdata)
	}
	if m.ts != "-" {
		if _, err := time.Parse(time.RFC3339Nano, m.ts); err != nil {
			return m, fmt.Errorf("timestamp: %w", err)
		}
	}
	if len(m.app) > 48 || len(m.procID) > 128 || len(m.msgID) > 32 || len(m.host) > 255 {
		return m, errors.New("header field too long")
	}
	m.msg = s
	return m, nil
}

// alertFromSyslog decodes the alert in a message's MSG.
func alertFromSyslog(m syslogMsg, payload string) (sink.Alert, error) {
	if payload == "json" {
		var a sink.Alert
		err := json.Unmarshal([]byte(m.msg), &a)
		return a, err
	}
	return sink.ParseCEFAlert(m.msg)
}

// syslogReceiver is a syslog server on loopback (tcp, tls or udp): it
// parses octet-counted frames (or datagrams) strictly, decodes the alerts
// and keeps the raw bytes per connection for golden comparisons.
type syslogReceiver struct {
	t       testing.TB
	network string
	payload string
	addr    string
	rec     alertRecorder

	mu     sync.Mutex
	raw    [][]byte // per connection (stream) or per datagram (udp)
	msgs   []syslogMsg
	frames atomic.Int64
	errs   []error

	ln     net.Listener
	pc     net.PacketConn
	wg     sync.WaitGroup
	stop   atomic.Bool
	conns  map[net.Conn]bool // open connections, closed by close
	closed atomic.Int64      // connections whose handler returned
	// hangUp, when set, makes the server close each connection after
	// reading that many frames from it.
	hangUp int
}

func newSyslogReceiver(t testing.TB, network, payload string, pki *netPKI) *syslogReceiver {
	t.Helper()
	r := &syslogReceiver{t: t, network: network, payload: payload}
	r.listen(t, "127.0.0.1:0", pki)
	t.Cleanup(r.close)
	return r
}

func (r *syslogReceiver) listen(t testing.TB, addr string, pki *netPKI) {
	t.Helper()
	var err error
	switch r.network {
	case "udp":
		r.pc, err = net.ListenPacket("udp", addr)
		if err != nil {
			t.Fatal(err)
		}
		_ = r.pc.(*net.UDPConn).SetReadBuffer(4 << 20)
		r.addr = r.pc.LocalAddr().String()
		r.wg.Go(r.serveUDP)
	default:
		r.ln, err = net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		if r.network == "tls" {
			r.ln = tls.NewListener(r.ln, pki.ServerTLS(false))
		}
		r.addr = r.ln.Addr().String()
		r.wg.Go(r.acceptLoop)
	}
}

func (r *syslogReceiver) close() {
	r.stop.Store(true)
	if r.ln != nil {
		r.ln.Close()
	}
	r.mu.Lock()
	for c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	if r.pc != nil {
		r.pc.Close()
	}
	r.wg.Wait()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, err := range r.errs {
		r.t.Errorf("syslog receiver: %v", err)
	}
	r.errs = nil
}

func (r *syslogReceiver) fail(err error) {
	r.mu.Lock()
	r.errs = append(r.errs, err)
	r.mu.Unlock()
}

func (r *syslogReceiver) acceptLoop() {
	var conns sync.WaitGroup
	defer conns.Wait()
	for {
		c, err := r.ln.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		if r.stop.Load() {
			r.mu.Unlock()
			c.Close()
			return
		}
		idx := len(r.raw)
		r.raw = append(r.raw, nil)
		if r.conns == nil {
			r.conns = map[net.Conn]bool{}
		}
		r.conns[c] = true
		r.mu.Unlock()
		conns.Go(func() { r.serveConn(c, idx) })
	}
}

// serveConn reads octet-counted frames: MSG-LEN SP SYSLOG-MSG, MSG-LEN a
// non-zero decimal without leading zeros.
func (r *syslogReceiver) serveConn(c net.Conn, idx int) {
	defer func() {
		c.Close()
		r.mu.Lock()
		delete(r.conns, c)
		r.mu.Unlock()
		r.closed.Add(1)
	}()
	br := bufio.NewReader(c)
	n := 0
	for {
		lenStr, err := br.ReadString(' ')
		if err != nil {
			if lenStr != "" {
				r.appendRaw(idx, []byte(lenStr)) // a partial frame: the sender gave up mid-write
			}
			return
		}
		l, perr := strconv.Atoi(strings.TrimSuffix(lenStr, " "))
		if perr != nil || l <= 0 || lenStr[0] == '0' || len(lenStr) > 11 {
			r.fail(fmt.Errorf("bad MSG-LEN %q", lenStr))
			return
		}
		msg := make([]byte, l)
		if _, err := io.ReadFull(br, msg); err != nil {
			r.appendRaw(idx, []byte(lenStr))
			return // partial frame
		}
		r.appendRaw(idx, append([]byte(lenStr), msg...))
		r.handle(msg)
		n++
		if r.hangUp > 0 && n >= r.hangUp {
			return
		}
	}
}

func (r *syslogReceiver) serveUDP() {
	buf := make([]byte, 65536)
	for {
		n, _, err := r.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		d := append([]byte(nil), buf[:n]...)
		r.mu.Lock()
		r.raw = append(r.raw, d)
		r.mu.Unlock()
		r.handle(d)
	}
}

func (r *syslogReceiver) appendRaw(idx int, b []byte) {
	r.mu.Lock()
	r.raw[idx] = append(r.raw[idx], b...)
	r.mu.Unlock()
}

func (r *syslogReceiver) handle(msg []byte) {
	m, err := parseRFC5424(msg)
	if err != nil {
		r.fail(fmt.Errorf("%v in %q", err, msg))
		return
	}
	a, err := alertFromSyslog(m, r.payload)
	if err != nil && r.network == "udp" && r.payload == "cef" {
		// A cut datagram: its alert_id comes early in the extension.
		if _, id, ok := strings.Cut(m.msg, " externalId="); ok {
			id, _, _ = strings.Cut(id, " ")
			a, err = sink.Alert{AlertID: id}, nil
		}
	}
	if err != nil {
		r.fail(fmt.Errorf("payload: %v in %q", err, m.msg))
		return
	}
	if a.AlertID == "" {
		r.fail(fmt.Errorf("no alert id in %q", m.msg))
		return
	}
	r.mu.Lock()
	r.msgs = append(r.msgs, m)
	r.mu.Unlock()
	r.rec.add(a)
	r.frames.Add(1)
}

// waitFrames waits until n frames arrived: the data written to a socket is
// in flight for a moment after the sender's write returned.
func (r *syslogReceiver) waitFrames(t testing.TB, n int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // a hang guard, not a measurement
	for r.frames.Load() < n {
		if time.Now().After(deadline) {
			t.Fatalf("the receiver got %d messages, want %d", r.frames.Load(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func (r *syslogReceiver) rawBytes() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([][]byte, len(r.raw))
	for i, b := range r.raw {
		out[i] = append([]byte(nil), b...)
	}
	return out
}

// countingSink counts the alerts its sink accepted, so the receiver can
// wait for exactly those to come out of the socket.
type countingSink struct {
	sink.Sink
	accepted atomic.Int64
}

func (c *countingSink) Write(ctx context.Context, alerts []sink.Alert) error {
	err := c.Sink.Write(ctx, alerts)
	if err == nil {
		c.accepted.Add(int64(len(alerts)))
	}
	return err
}

func newTestSyslog(t testing.TB, network, payload string, pki *netPKI) (*syslogReceiver, *sink.Syslog) {
	t.Helper()
	r := newSyslogReceiver(t, network, payload, pki)
	opt := sink.SyslogOptions{Network: network, Address: r.addr, Payload: payload, Hostname: "ioc-host", ProcID: "4242", Version: "1.2.3"}
	if network == "udp" {
		// Big enough that no generated alert is cut: the conformance
		// suite needs every alert_id.
		opt.MaxUDPBytes = 60000
	}
	if pki != nil {
		opt.TLS = sink.TLSOptions{CAFile: pki.CAFile}
	}
	s, err := sink.NewSyslog(opt)
	if err != nil {
		t.Fatal(err)
	}
	return r, s
}

func TestSyslogConformance(t *testing.T) {
	pki := newNetPKI(t)
	for _, tc := range []struct{ network, payload string }{
		{"tcp", "cef"}, {"tls", "cef"}, {"udp", "cef"}, {"tcp", "json"},
	} {
		t.Run(tc.network+" with "+tc.payload+" payload", func(t *testing.T) {
			sinktest.Run(t, func(t *testing.T) (sink.Sink, func() []sink.Alert) {
				var p *netPKI
				if tc.network == "tls" {
					p = pki
				}
				r, s := newTestSyslog(t, tc.network, tc.payload, p)
				c := &countingSink{Sink: s}
				return c, func() []sink.Alert {
					r.waitFrames(t, c.accepted.Load())
					return r.rec.all()
				}
			})
		})
	}
}

// goldenAlerts are the hand-written alerts of testdata/cef, in name order.
func goldenAlerts(t *testing.T) []sink.Alert {
	t.Helper()
	files, err := filepath.Glob("testdata/cef/*/alert.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden alerts: %v", err)
	}
	var out []sink.Alert
	for _, f := range files {
		out = append(out, readAlertJSON(t, f))
	}
	return out
}

// TestSyslogGolden checks the bytes on the wire against
// testdata/syslog/*.golden: octet-counted frames over TCP (and the very
// same bytes inside TLS), and datagrams over UDP (one per line in the
// golden file; a cut one ends where the sink cut it).
func TestSyslogGolden(t *testing.T) {
	pki := newNetPKI(t)
	alerts := goldenAlerts(t)
	for _, tc := range []struct {
		name, network, payload, golden string
		maxUDP                         int
		truncated                      uint64
	}{
		{"octet-counted CEF over TCP", "tcp", "cef", "tcp-cef.golden", 0, 0},
		{"octet-counted CEF over TLS is the same stream", "tls", "cef", "tcp-cef.golden", 0, 0},
		{"octet-counted native JSON over TCP", "tcp", "json", "tcp-json.golden", 0, 0},
		{"CEF datagrams over UDP, long ones cut at 700 bytes", "udp", "cef", "udp-cef-700.golden", 700, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p *netPKI
			if tc.network == "tls" {
				p = pki
			}
			r := newSyslogReceiver(t, tc.network, tc.payload, p)
			opt := sink.SyslogOptions{Network: tc.network, Address: r.addr, Payload: tc.payload, Hostname: "ioc-host", ProcID: "4242", Version: "1.2.3", MaxUDPBytes: tc.maxUDP}
			if p != nil {
				opt.TLS.CAFile = p.CAFile
			}
			s, err := sink.NewSyslog(opt)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			// One Write per alert for UDP, so datagrams keep their order
			// on the receiving side; one Write in all for streams.
			if tc.network == "udp" {
				for i := range alerts {
					if err := s.Write(context.Background(), alerts[i:i+1]); err != nil {
						t.Fatal(err)
					}
					r.waitFrames(t, int64(i+1))
				}
			} else if err := s.Write(context.Background(), alerts); err != nil {
				t.Fatal(err)
			}
			r.waitFrames(t, int64(len(alerts)))
			raw := r.rawBytes()
			var got []byte
			if tc.network == "udp" {
				for _, d := range raw {
					if len(d) > tc.maxUDP {
						t.Errorf("a %d-byte datagram exceeds MaxUDPBytes %d", len(d), tc.maxUDP)
					}
					got = append(append(got, d...), '\n')
				}
			} else {
				if len(raw) != 1 {
					t.Fatalf("the sink opened %d connections, want 1", len(raw))
				}
				got = raw[0]
			}
			if s.Truncated() != tc.truncated {
				t.Errorf("Truncated() = %d, want %d", s.Truncated(), tc.truncated)
			}
			if tc.network == "tls" && *updateNetGolden {
				return // the TCP case writes the file
			}
			checkNetGolden(t, filepath.Join("testdata/syslog", tc.golden), got)
		})
	}
}

func TestSyslogHeader(t *testing.T) {
	a := sinktest.Alerts(1, 5)[0]
	for _, tc := range []struct {
		name     string
		opt      sink.SyslogOptions
		severity string
		retro    bool
		repeat   int
		wantPRI  int
		wantHdr  string // HOSTNAME APP-NAME PROCID MSGID
	}{
		{"local4 and high severity give PRI 163 (error)", sink.SyslogOptions{Hostname: "h", ProcID: "1"}, "high", false, 0, 20*8 + 3, "h iocwatch 1 ioc-match"},
		{"facility by number and critical severity", sink.SyslogOptions{Facility: "16", Hostname: "h", ProcID: "1"}, "critical", false, 0, 16*8 + 2, "h iocwatch 1 ioc-match"},
		{"auth facility and an unknown severity (warning)", sink.SyslogOptions{Facility: "AUTH", Hostname: "h", ProcID: "1"}, "Hoch", false, 0, 4*8 + 4, "h iocwatch 1 ioc-match"},
		{"informational severity is notice", sink.SyslogOptions{Hostname: "h", ProcID: "1"}, "informational", false, 0, 20*8 + 5, "h iocwatch 1 ioc-match"},
		{"spaces and non-ASCII in header fields become underscores", sink.SyslogOptions{Hostname: "my host", AppName: "ioc wätch", ProcID: "1"}, "low", false, 0, 20*8 + 5, "my_host ioc_w__tch 1 ioc-match"},
		{"an over-long app name is cut to 48 bytes", sink.SyslogOptions{Hostname: "h", AppName: strings.Repeat("a", 60), ProcID: "1"}, "low", false, 0, 20*8 + 5, "h " + strings.Repeat("a", 48) + " 1 ioc-match"},
		{"a retro alert has MSGID ioc-retro", sink.SyslogOptions{Hostname: "h", ProcID: "1"}, "low", true, 0, 20*8 + 5, "h iocwatch 1 ioc-retro"},
		{"a summary alert has MSGID ioc-summary", sink.SyslogOptions{Hostname: "h", ProcID: "1"}, "low", true, 3, 20*8 + 5, "h iocwatch 1 ioc-summary"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.opt.Address = "127.0.0.1:514"
			s, err := sink.NewSyslog(tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			a := a
			a.Indicator.Severity, a.Retro, a.RepeatCount = tc.severity, tc.retro, tc.repeat
			b, err := s.AppendMessage(nil, &a)
			if err != nil {
				t.Fatal(err)
			}
			m, err := parseRFC5424(b)
			if err != nil {
				t.Fatalf("%v: %q", err, b)
			}
			if m.pri != tc.wantPRI {
				t.Errorf("PRI = %d, want %d", m.pri, tc.wantPRI)
			}
			if got := strings.Join([]string{m.host, m.app, m.procID, m.msgID}, " "); got != tc.wantHdr {
				t.Errorf("header = %q, want %q", got, tc.wantHdr)
			}
			if want := a.DetectedAt.UTC().Format("2006-01-02T15:04:05.000000Z"); m.ts != want {
				t.Errorf("timestamp = %q, want %q", m.ts, want)
			}
			if !strings.HasPrefix(m.msg, "CEF:0|iocwatch|iocwatch|") {
				t.Errorf("MSG does not start with the CEF header (no BOM): %q", m.msg)
			}
		})
	}
}

func TestNewSyslogRejectsBadOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  sink.SyslogOptions
		want string
	}{
		{"a missing address", sink.SyslogOptions{}, "address: required"},
		{"an address without a port", sink.SyslogOptions{Address: "siem.example"}, "missing port"},
		{"an unknown network", sink.SyslogOptions{Address: "h:514", Network: "sctp"}, "want tcp, tls or udp"},
		{"an unknown facility", sink.SyslogOptions{Address: "h:514", Facility: "local9"}, "unknown facility"},
		{"a facility number out of range", sink.SyslogOptions{Address: "h:514", Facility: "24"}, "unknown facility"},
		{"an unknown payload", sink.SyslogOptions{Address: "h:514", Payload: "leef"}, "want cef or json"},
		{"an unknown JSON format", sink.SyslogOptions{Address: "h:514", Payload: "json", Format: "xml"}, "format"},
		{"a UDP size below RFC 5426's 480", sink.SyslogOptions{Address: "h:514", Network: "udp", MaxUDPBytes: 100}, "480"},
		{"a TLS client cert without key", sink.SyslogOptions{Address: "h:6514", Network: "tls", TLS: sink.TLSOptions{CertFile: "c.pem"}}, "together"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sink.NewSyslog(tc.opt)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("NewSyslog = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestSyslogReconnectsWhenTheReceiverHangsUp(t *testing.T) {
	r := newSyslogReceiver(t, "tcp", "cef", nil)
	r.hangUp = 3 // close each connection after 3 messages
	s, err := sink.NewSyslog(sink.SyslogOptions{Address: r.addr})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	alerts := sinktest.Alerts(9, 7)
	for i := 0; i < len(alerts); i += 3 {
		if err := s.Write(context.Background(), alerts[i:i+3]); err != nil {
			t.Fatalf("Write %d: %v", i/3, err)
		}
		r.waitFrames(t, int64(i+3))
		// Wait until the receiver hung up, so the next Write finds the
		// connection closed.
		waitConns(t, r, i/3+1)
	}
	if got := len(r.rawBytes()); got != 3 {
		t.Errorf("%d connections, want 3", got)
	}
	if got := s.Reconnects(); got != 2 {
		t.Errorf("Reconnects() = %d, want 2", got)
	}
	if ids := r.rec.ids(); len(ids) != len(alerts) {
		t.Errorf("received %d distinct alerts, want %d", len(ids), len(alerts))
	}
}

// waitConns waits until the receiver has closed n connections.
func waitConns(t *testing.T, r *syslogReceiver, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // a hang guard, not a measurement
	for r.closed.Load() < int64(n) {
		if time.Now().After(deadline) {
			t.Fatalf("the receiver closed %d connections, want %d", r.closed.Load(), n)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

func TestSyslogReportsAnOutageAndRecovers(t *testing.T) {
	r := newSyslogReceiver(t, "tcp", "cef", nil)
	addr := r.addr
	s, err := sink.NewSyslog(sink.SyslogOptions{Address: addr, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	alerts := sinktest.Alerts(6, 8)
	if err := s.Write(context.Background(), alerts[:2]); err != nil {
		t.Fatal(err)
	}
	r.waitFrames(t, 2)
	r.close() // the receiver goes away: connection closed, port closed

	err = s.Write(context.Background(), alerts[2:4])
	if err == nil {
		t.Fatal("Write to a stopped receiver returned nil: alerts would be reported accepted")
	}
	if sink.IsPermanent(err) {
		t.Errorf("an outage must be retryable, got permanent %v", err)
	}
	if !strings.Contains(err.Error(), addr) {
		t.Errorf("error %q does not name the receiver %s", err, addr)
	}

	r2 := &syslogReceiver{t: t, network: "tcp", payload: "cef"}
	r2.listen(t, addr, nil) // the receiver is back, same port
	t.Cleanup(r2.close)
	if err := s.Write(context.Background(), alerts[2:]); err != nil {
		t.Fatalf("Write after the receiver came back: %v", err)
	}
	r2.waitFrames(t, 4)
	if ids := r2.rec.ids(); len(ids) != 4 {
		t.Errorf("the restarted receiver got %d alerts, want 4", len(ids))
	}
}

func TestSyslogAbandonsAPartialFrameOnCancel(t *testing.T) {
	// A receiver that accepts but never reads: the socket buffers fill and
	// the sink's write blocks until the context is cancelled.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	var held []net.Conn
	var mu sync.Mutex
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, c)
			mu.Unlock()
		}
	}()
	defer func() {
		mu.Lock()
		for _, c := range held {
			c.Close()
		}
		mu.Unlock()
	}()
	s, err := sink.NewSyslog(sink.SyslogOptions{Address: ln.Addr().String()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	big := sinktest.Alerts(1, 9)
	big[0].CommandLine = strings.Repeat("A", 16<<20) // far more than the socket buffers hold
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Write(ctx, big) }()
	// Wait until the write is blocked: the receiver's connection exists.
	for {
		mu.Lock()
		n := len(held)
		mu.Unlock()
		if n > 0 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Write = %v, want context.Canceled", err)
	}
	// The half-written connection was dropped: the next Write dials anew.
	ctx2, cancel2 := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel2()
	if err := s.Write(ctx2, sinktest.Alerts(1, 10)); err != nil {
		t.Fatalf("Write after the cancelled one: %v", err)
	}
	// The sink dialled a second connection (the poisoned one is not
	// reused); wait for the accept loop to record it.
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(held)
		mu.Unlock()
		if n == 2 {
			break
		}
		if n > 2 || time.Now().After(deadline) {
			t.Fatalf("%d connections, want 2", n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestSyslogTLSRefusesAnUntrustedServer(t *testing.T) {
	pki := newNetPKI(t)
	r := newSyslogReceiver(t, "tls", "cef", pki)
	s, err := sink.NewSyslog(sink.SyslogOptions{Network: "tls", Address: r.addr, TLS: sink.TLSOptions{CAFile: pki.OtherCAFile}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(context.Background())
	err = s.Write(context.Background(), sinktest.Alerts(1, 1))
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("Write to an untrusted server = %v, want a certificate error", err)
	}
	if r.frames.Load() != 0 {
		t.Error("the untrusted server received messages")
	}
}

// BenchmarkSyslogAppendMessage measures building one CEF message.
func BenchmarkSyslogAppendMessage(b *testing.B) {
	s, err := sink.NewSyslog(sink.SyslogOptions{Address: "127.0.0.1:514", Hostname: "h", ProcID: "1"})
	if err != nil {
		b.Fatal(err)
	}
	alerts := sinktest.Alerts(64, 1)
	var buf []byte
	var n int
	for b.Loop() {
		buf, err = s.AppendMessage(buf[:0], &alerts[n%len(alerts)])
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportAllocs()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "msgs/s")
	if !bytes.Contains(buf, []byte("CEF:0|")) {
		b.Fatal("no CEF in the output")
	}
}

// BenchmarkSyslogWrite measures Write of 100-alert batches over loopback
// TCP (CEF, octet-counted) to a receiver that discards.
func BenchmarkSyslogWrite(b *testing.B) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	s, err := sink.NewSyslog(sink.SyslogOptions{Address: ln.Addr().String()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close(context.Background())
	alerts := sinktest.Alerts(100, 1)
	n := 0
	for b.Loop() {
		if err := s.Write(context.Background(), alerts); err != nil {
			b.Fatal(err)
		}
		n += len(alerts)
	}
	b.ReportAllocs()
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "alerts/s")
}
