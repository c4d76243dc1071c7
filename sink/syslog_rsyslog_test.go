package sink_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/sink"
	"github.com/iocwatch/iocwatch/sink/sinktest"
)

// findRsyslogd returns the rsyslogd binary, or skips the test (fails it
// under CI=true: CI must never skip the real-receiver test).
func findRsyslogd(t *testing.T) string {
	t.Helper()
	if p, err := exec.LookPath("rsyslogd"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/rsyslogd", "/sbin/rsyslogd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("rsyslogd not found and CI=true: install it (apt-get install -y rsyslog); CI must not skip this test")
	}
	t.Skip("rsyslogd not found (apt-get install -y rsyslog); skipped outside CI")
	return ""
}

// rsyslogConf is a minimal configuration: imtcp on a loopback port (octet
// counting is on by default), every message written raw, one per line, to
// a file. No other module, no DNS, no privileges.
const rsyslogConf = `global(workDirectory="{{DIR}}" maxMessageSize="64k" net.enableDNS="off")
module(load="imtcp")
template(name="raw" type="string" string="%rawmsg%\n")
ruleset(name="alerts") {
  action(type="omfile" file="{{DIR}}/alerts.log" template="raw")
}
input(type="imtcp" address="127.0.0.1" port="{{PORT}}" ruleset="alerts")
`

// startRsyslogd runs rsyslogd in the foreground on a free port and returns
// the address it listens on and the file it writes. It is stopped (by its
// pid, with SIGTERM) at cleanup.
func startRsyslogd(t *testing.T, bin string) (addr, out string) {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = l.Addr().String()
	l.Close()
	_, port, _ := net.SplitHostPort(addr)
	conf := strings.NewReplacer("{{DIR}}", dir, "{{PORT}}", port).Replace(rsyslogConf)
	confPath := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, "-n", "-f", confPath, "-i", filepath.Join(dir, "rsyslogd.pid"))
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start rsyslogd: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	// Wait until it listens (or died: then its output says why).
	deadline := time.Now().Add(15 * time.Second) // a hang guard, not a measurement
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr, filepath.Join(dir, "alerts.log")
		}
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("rsyslogd exited before listening: %v\n%s", err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd did not listen on %s: %s", addr, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestRsyslogReceivesEveryAlertIntact sends alerts with hostile values over
// TCP, octet-counted, to a real rsyslogd and checks that its file holds
// every message byte for byte as the sink built it: the framing is right
// and nothing in the CEF (or JSON) confuses the receiver.
func TestRsyslogReceivesEveryAlertIntact(t *testing.T) {
	bin := findRsyslogd(t)
	addr, out := startRsyslogd(t, bin)

	want := map[string]bool{}
	total := 0
	for _, payload := range []string{"cef", "json"} {
		s, err := sink.NewSyslog(sink.SyslogOptions{Address: addr, Payload: payload, Hostname: "ioc-host", Version: "1.2.3"})
		if err != nil {
			t.Fatal(err)
		}
		alerts := sinktest.Alerts(150, 61)
		if payload == "json" {
			alerts = sinktest.Alerts(50, 62)
		}
		for i := range alerts {
			m, err := s.AppendMessage(nil, &alerts[i])
			if err != nil {
				t.Fatal(err)
			}
			want[string(m)] = true
		}
		total += len(alerts)
		for i := 0; i < len(alerts); i += 25 {
			if err := s.Write(context.Background(), alerts[i:min(i+25, len(alerts))]); err != nil {
				t.Fatalf("%s: Write: %v", payload, err)
			}
		}
		if err := s.Close(context.Background()); err != nil {
			t.Fatal(err)
		}
	}

	// rsyslogd writes asynchronously: wait for every line.
	var lines []string
	deadline := time.Now().Add(20 * time.Second) // a hang guard, not a measurement
	for {
		b, _ := os.ReadFile(out)
		lines = strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
		if len(b) > 0 && len(lines) >= total {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslogd wrote %d of %d messages", len(lines), total)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if len(lines) != total {
		t.Errorf("rsyslogd wrote %d lines, want %d", len(lines), total)
	}
	seen := map[string]int{}
	for i, l := range lines {
		if !want[l] {
			t.Errorf("line %d is not a message the sink sent (altered in transit?): %q", i+1, l)
		}
		seen[l]++
	}
	for m := range want {
		if seen[m] != 1 {
			t.Errorf("message received %d times, want once: %.120q…", seen[m], m)
		}
	}
	if !t.Failed() {
		t.Logf("rsyslogd (%s) received %d alerts byte for byte", bin, total)
	}
}
