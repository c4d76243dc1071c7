package sink

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		in   string
		want time.Duration
		ok   bool
	}{
		{"an absent header is no delay", "", 0, false},
		{"delay-seconds are seconds", "120", 2 * time.Minute, true},
		{"surrounding spaces are ignored", "  3 ", 3 * time.Second, true},
		{"zero seconds is an explicit zero delay", "0", 0, true},
		{"an IMF-fixdate is the time until that date", now.Add(45 * time.Second).Format(http.TimeFormat), 45 * time.Second, true},
		{"an RFC 850 date is accepted as RFC 9110 requires", "Thursday, 26-Nov-26 09:01:00 GMT", time.Minute, true},
		{"an asctime date is accepted", "Thu Nov 26 09:00:30 2026", 30 * time.Second, true},
		{"a date in the past is a zero delay", now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"a huge number of seconds is capped at an hour", "99999999999999999999", maxRetryAfter, true},
		{"a far-future date is capped at an hour", now.Add(72 * time.Hour).Format(http.TimeFormat), maxRetryAfter, true},
		{"negative seconds are malformed", "-5", 0, false},
		{"a fraction is malformed", "1.5", 0, false},
		{"words are malformed", "later", 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := parseRetryAfter(tc.in, now)
			if got != tc.want || ok != tc.ok {
				t.Errorf("parseRetryAfter(%q) = %v, %v; want %v, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	// Seeds: both forms, edge numbers, and junk.
	for _, s := range []string{"", "0", "5", "3600", "3601", "18446744073709551616", "-1", "Wed, 21 Oct 2015 07:28:00 GMT", "Thu Nov 26 09:00:30 2026", "x"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, now)
		if d < 0 || d > maxRetryAfter {
			t.Errorf("parseRetryAfter(%q) = %v, outside [0, %v]", s, d, maxRetryAfter)
		}
		if !ok && d != 0 {
			t.Errorf("parseRetryAfter(%q) = %v with ok=false", s, d)
		}
	})
}

func TestSanitizeExcerpt(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want string
	}{
		{"plain text is kept", `{"error":"bad"}`, 512, `{"error":"bad"}`},
		{"newlines and tabs become single spaces", "a\r\n\tb", 512, "a b"},
		{"terminal escapes lose their ESC", "\x1b[2Jx", 512, "[2Jx"},
		{"invalid UTF-8 becomes U+FFFD", "a\xffb", 512, "a\uFFFDb"},
		{"C1 controls and line separators become spaces", "a\u0085b\u2028c", 512, "a b c"},
		{"a cut falls on a rune boundary and is marked", "ééé", 5, "éé…"},
		{"text within the limit is not marked", "abc", 3, "abc"},
		{"surrounding space is trimmed", "  hi \n", 512, "hi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sanitizeExcerpt([]byte(tc.in), tc.max); got != tc.want {
				t.Errorf("sanitizeExcerpt(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
			}
		})
	}
}

func FuzzSanitizeExcerpt(f *testing.F) {
	for _, s := range []string{"", "ok", "a\nb", "\xff\xfe", "é", strings.Repeat("x", 600), "\u2028\x7f\x00"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got := sanitizeExcerpt(b, bodyExcerptBytes)
		if !utf8.ValidString(got) {
			t.Errorf("result %q is not valid UTF-8", got)
		}
		if n := len(strings.TrimSuffix(got, "…")); n > bodyExcerptBytes {
			t.Errorf("result is %d bytes, over %d", n, bodyExcerptBytes)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u2028' || r == '\u2029' {
				t.Errorf("result %q holds control character %U", got, r)
			}
		}
	})
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"a host alone is kept", "https://soar.example", "https://soar.example"},
		{"a plain first segment is kept", "https://soar.example/api/alerts", "https://soar.example/api/…"},
		{"a last segment is hidden", "https://soar.example/hook", "https://soar.example/…"},
		{"a Slack path is hidden", "https://hooks.slack.com/services/T0001/B0002/SECRET", "https://hooks.slack.com/services/…"},
		{"a Teams path is hidden", "https://contoso.webhook.office.com/webhookb2/a@b/IncomingWebhook/SECRET/c", "https://contoso.webhook.office.com/webhookb2/…"},
		{"a Discord path is hidden", "https://discord.com/api/webhooks/1234/SECRET", "https://discord.com/api/…"},
		{"a Logic App path and query are hidden", "https://prod-01.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?api-version=2016-10-01&sp=%2Ftriggers&sig=SECRET", "https://prod-01.westeurope.logic.azure.com:443/workflows/…?…"},
		{"a token in the first segment is hidden", "https://api.telegram.org/bot1:SECRET/sendMessage", "https://api.telegram.org/…"},
		{"Splunk's HEC path is kept", "https://splunk.example:8088/services/collector/event", "https://splunk.example:8088/services/collector/event"},
		{"user info is dropped", "https://user:pass@soar.example/", "https://soar.example/"},
		{"a fragment is dropped", "https://soar.example/x/#frag", "https://soar.example/x/"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u, err := url.Parse(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got := redactURL(u); got != tc.want {
				t.Errorf("redactURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
