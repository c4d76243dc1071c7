package kafka

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	kafkago "github.com/segmentio/kafka-go"

	"github.com/iocwatch/iocwatch/internal/syncbuf"
)

func TestPermanentClassifiesErrorsOnce(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"refused SASL credentials are permanent", fmt.Errorf("could not authenticate: %w", kafkago.SASLAuthenticationFailed), true},
		{"a missing topic ACL is permanent", kafkago.TopicAuthorizationFailed, true},
		{"a missing group ACL is permanent", fmt.Errorf("join: %w", kafkago.GroupAuthorizationFailed), true},
		{"a session timeout the broker refuses is permanent", kafkago.InvalidSessionTimeout, true},
		{"an untrusted certificate is permanent", fmt.Errorf("failed to dial: %w", x509.UnknownAuthorityError{}), true},
		{"a certificate for another host is permanent", x509.HostnameError{Host: "x"}, true},
		{"a rebalance is transient", kafkago.RebalanceInProgress, false},
		{"a leader move is transient", kafkago.NotLeaderForPartition, false},
		{"a coordinator move is transient", kafkago.NotCoordinatorForGroup, false},
		{"a refused connection is transient", &net.OpError{Op: "dial", Err: errors.New("connection refused")}, false},
		{"a dropped connection is transient", io.ErrUnexpectedEOF, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := permanent(tt.err); got != tt.want {
				t.Errorf("permanent(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// FuzzTruncateUTF8 checks the error-header cut: never longer than asked,
// always a prefix, valid UTF-8 kept valid, and at most 3 bytes shorter than
// asked (one rune).
func FuzzTruncateUTF8(f *testing.F) {
	f.Add("", 0)
	f.Add("plain ascii error", 5)
	f.Add("décodage échoué", 2)                // cut inside a 2-byte rune
	f.Add("RemoteUrl 例え.テスト", 12)              // 3-byte runes
	f.Add("emoji 🙂🙂", 8)                       // 4-byte runes
	f.Add(string([]byte{0xff, 0xfe, 0x80}), 2) // invalid UTF-8 stays a prefix
	f.Fuzz(func(t *testing.T, s string, n int) {
		if n < 0 || n > 1<<16 {
			return
		}
		got := truncateUTF8(s, n)
		if len(got) > n && len(s) > n {
			t.Fatalf("len %d > %d", len(got), n)
		}
		if !strings.HasPrefix(s, got) {
			t.Fatalf("%q is not a prefix of %q", got, s)
		}
		if len(s) <= n && got != s {
			t.Fatalf("short input changed: %q → %q", s, got)
		}
		if utf8.ValidString(s) {
			if !utf8.ValidString(got) {
				t.Fatalf("valid %q cut into invalid %q", s, got)
			}
			if len(s) > n && n-len(got) > 3 {
				t.Fatalf("cut %d bytes short of %d", n-len(got), n)
			}
		}
	})
}

// A run of join failures is logged at its first, then at most once per
// interval with the attempts so far; a join after failures says how many.
func TestJoinFailuresAreLoggedOnceAMinute(t *testing.T) {
	var buf syncbuf.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	jl := joinLog{every: time.Minute, now: func() time.Time { return now }}
	jl.joined(log)  // no failure before: nothing to say
	for range 720 { // an hour of failures, one every 5s
		jl.failed(log, errors.New("dial tcp: connection refused"))
		now = now.Add(5 * time.Second)
	}
	jl.joined(log)
	jl.failed(log, errors.New("dial tcp: connection refused")) // a new run is logged at once
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	var failed, joined []string
	for _, l := range lines {
		switch {
		case strings.Contains(l, "joining the consumer group failed"):
			failed = append(failed, l)
		case strings.Contains(l, "joined again"):
			joined = append(joined, l)
		}
	}
	if len(failed) != 61 { // 60 in the hour, 1 of the new run
		t.Errorf("%d failure lines, want 61 (one a minute, and the first of each run)", len(failed))
	}
	for i, want := range map[int]string{0: "attempts=1 ", 1: "attempts=13 ", 59: "attempts=709 ", 60: "attempts=1 "} {
		if i < len(failed) && !strings.Contains(failed[i], want) {
			t.Errorf("failure line %d %q: want %s", i, failed[i], want)
		}
	}
	if len(joined) != 1 || !strings.Contains(joined[0], "failed_attempts=720") || !strings.Contains(joined[0], "failed_for=1h0m0s") {
		t.Errorf("joined lines %q: want one with failed_attempts=720 failed_for=1h0m0s", joined)
	}
}
