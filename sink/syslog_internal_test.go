package sink

import (
	"bytes"
	"strconv"
	"testing"
	"unicode/utf8"
)

func TestParseFacility(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
		ok   bool
	}{
		{"kern", 0, true}, {"user", 1, true}, {"auth", 4, true}, {"authpriv", 10, true},
		{"local0", 16, true}, {"local4", 20, true}, {"LOCAL7", 23, true}, {" daemon ", 3, true},
		{"security", 13, true}, {"console", 14, true}, {"0", 0, true}, {"23", 23, true},
		{"24", 0, false}, {"-1", 0, false}, {"local8", 0, false}, {"", 0, false},
	} {
		t.Run("facility "+strconv.Quote(tc.in), func(t *testing.T) {
			got, err := ParseFacility(tc.in)
			if (err == nil) != tc.ok || got != tc.want {
				t.Errorf("ParseFacility(%q) = %d, %v; want %d, ok %v", tc.in, got, err, tc.want, tc.ok)
			}
		})
	}
}

func FuzzSyslogFields(f *testing.F) {
	// Seeds: facility names and numbers, severities, and header values
	// with spaces, controls and non-ASCII.
	for _, s := range []string{"local4", "AUTH", "23", "24", "-0", "high", "Critical", "10", "11", "ws 0142", "wäch\x00", "", "\xb4", `x\\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if n, err := ParseFacility(s); err == nil {
			if n < 0 || n > 23 {
				t.Errorf("ParseFacility(%q) = %d, outside 0–23", s, n)
			}
			if back, err := ParseFacility(facilities[n]); err != nil || back != n {
				t.Errorf("facility %d does not round-trip through its name", n)
			}
		}
		if c := CEFSeverity(s); c < 0 || c > 10 {
			t.Errorf("CEFSeverity(%q) = %d, outside 0–10", s, c)
		} else if sev := syslogSeverity(c); sev < 2 || sev > 6 {
			t.Errorf("syslogSeverity(%d) = %d, outside 2–6", c, sev)
		}
		h := syslogHeaderField(s, 48)
		if h == "" || len(h) > 48 || !utf8.ValidString(h) {
			t.Errorf("syslogHeaderField(%q) = %q", s, h)
		}
		for i := 0; i < len(h); i++ {
			if h[i] < 33 || h[i] > 126 {
				t.Errorf("syslogHeaderField(%q) = %q holds byte %#x", s, h, h[i])
			}
		}
		// cutMessage never splits a rune or leaves a lone escape.
		msg := []byte(s + s + s)
		for max := 0; max <= len(msg); max += 1 + len(msg)/7 {
			n := cutMessage(msg, max)
			if n > max && n != len(msg) || n > len(msg) {
				t.Fatalf("cutMessage(%q, %d) = %d", msg, max, n)
			}
			if n < len(msg) && utf8.Valid(msg) && !utf8.RuneStart(msg[n]) {
				t.Errorf("cutMessage(%q, %d) = %d splits a rune", msg, max, n)
			}
			if n < len(msg) && n < max-utf8.UTFMax {
				t.Errorf("cutMessage(%q, %d) = %d cuts more than a rune and an escape", msg, max, n)
			}
			if bs := len(msg[:n]) - len(bytes.TrimRight(msg[:n], `\`)); n < len(msg) && bs%2 == 1 {
				t.Errorf("cutMessage(%q, %d) = %d leaves a lone backslash", msg, max, n)
			}
		}
	})
}
