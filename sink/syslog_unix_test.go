//go:build unix

package sink_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// TestSyslogResendsAWriteThatCrossedTheReceiversClose pins the resend of
// the last accepted Write: a receiver that closes with frames it has not
// read resets the connection, and the next connection gets those frames
// again before the new ones; a receiver that read everything and then
// closed gets nothing twice.
func TestSyslogResendsAWriteThatCrossedTheReceiversClose(t *testing.T) {
	pki := newNetPKI(t)
	for _, tt := range []struct {
		name       string
		network    string
		readFirst  bool // the receiver reads the first Write before closing
		wantResent uint64
	}{
		{name: "tcp, unread frames at the close: resent", network: "tcp", readFirst: false, wantResent: 1},
		{name: "tcp, everything read before the close: not resent", network: "tcp", readFirst: true, wantResent: 0},
		{name: "tls, unread frames at the close (after a close_notify): resent", network: "tls", readFirst: false, wantResent: 1},
		{name: "tls, everything read before the close: not resent", network: "tls", readFirst: true, wantResent: 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			opt := sink.SyslogOptions{Network: tt.network, Address: ln.Addr().String()}
			if tt.network == "tls" {
				ln = tls.NewListener(ln, pki.ServerTLS(false))
				opt.TLS = sink.TLSOptions{CAFile: pki.CAFile}
			}
			s, err := sink.NewSyslog(opt)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close(context.Background())
			alerts := sinktest.Alerts(6, 3)
			first, second := alerts[:3], alerts[3:]

			accepted := make(chan net.Conn, 1)
			go func() {
				c, err := ln.Accept()
				if err != nil {
					accepted <- nil
					return
				}
				if tc, ok := c.(*tls.Conn); ok {
					if err := tc.Handshake(); err != nil {
						c.Close()
						accepted <- nil
						return
					}
				}
				accepted <- c
			}()
			if err := s.Write(context.Background(), first); err != nil {
				t.Fatal(err)
			}
			c1 := <-accepted
			if c1 == nil {
				t.Fatal("the first connection failed")
			}
			if tt.readFirst {
				for got := []byte{}; !containsIDs(got, first); {
					b := make([]byte, 64<<10)
					n, err := c1.Read(b)
					if err != nil {
						t.Fatalf("reading the first Write: %v", err)
					}
					got = append(got, b[:n]...)
				}
			} else {
				// Wait until the frames are in the receiver's buffer, so
				// that closing discards them (a reset).
				raw := c1
				if tc, ok := c1.(*tls.Conn); ok {
					raw = tc.NetConn()
				}
				waitReadable(t, raw)
			}
			c1.Close()
			time.Sleep(50 * time.Millisecond) // let the FIN or RST reach the sink

			done := make(chan []byte)
			go func() {
				c2, err := ln.Accept()
				if err != nil {
					done <- nil
					return
				}
				defer c2.Close()
				var got []byte
				_ = c2.SetReadDeadline(time.Now().Add(10 * time.Second)) // a hang guard
				for !containsIDs(got, second) {
					b := make([]byte, 64<<10)
					n, err := c2.Read(b)
					got = append(got, b[:n]...)
					if err != nil {
						break
					}
				}
				done <- got
			}()
			if err := s.Write(context.Background(), second); err != nil {
				t.Fatal(err)
			}
			got := <-done
			if !containsIDs(got, second) {
				t.Fatalf("the second connection got %q, without the second Write's alerts", got)
			}
			if resent := containsIDs(got, first); resent != (tt.wantResent > 0) {
				t.Errorf("first Write's alerts on the second connection: %v, want %v", resent, tt.wantResent > 0)
			}
			if got := s.Resent(); got != tt.wantResent {
				t.Errorf("Resent() = %d, want %d", got, tt.wantResent)
			}
			if got := s.Reconnects(); got != 1 {
				t.Errorf("Reconnects() = %d, want 1", got)
			}
		})
	}
}

// containsIDs reports whether b holds the alert_id of every alert.
func containsIDs(b []byte, alerts []sink.Alert) bool {
	for _, a := range alerts {
		if !bytes.Contains(b, []byte(a.AlertID)) {
			return false
		}
	}
	return true
}

// waitReadable waits until bytes are waiting to be read on c, without
// reading them.
func waitReadable(t *testing.T, c net.Conn) {
	t.Helper()
	rc, err := c.(syscall.Conn).SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second) // a hang guard, not a measurement
	for {
		n := 0
		_ = rc.Control(func(fd uintptr) {
			var b [1]byte
			n, _, _ = syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		})
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("nothing arrived from the sink")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
