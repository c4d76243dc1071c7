package stream

import (
	"net/netip"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		name, in string
		want     string // RFC 3339 UTC; "" means not parsed
		fast     bool   // taken by the hand-written fast path
	}{
		{"Defender's form with 7 fractional digits", "2026-11-26T09:14:03.5304517Z", "2026-11-26T09:14:03.5304517Z", true},
		{"no fractional digits", "2026-11-26T09:14:03Z", "2026-11-26T09:14:03Z", true},
		{"one fractional digit", "2026-11-26T09:14:03.5Z", "2026-11-26T09:14:03.5Z", true},
		{"nine fractional digits", "2026-11-26T09:14:03.123456789Z", "2026-11-26T09:14:03.123456789Z", true},
		{"ten fractional digits are truncated by time.Parse", "2026-11-26T09:14:03.1234567891Z", "2026-11-26T09:14:03.123456789Z", false},
		{"a leap day", "2024-02-29T23:59:59Z", "2024-02-29T23:59:59Z", true},
		{"year 0 and year 9999", "0000-03-01T00:00:00Z", "0000-03-01T00:00:00Z", true},
		{"before the Unix epoch", "1969-12-31T23:59:59.9Z", "1969-12-31T23:59:59.9Z", true},
		{"a positive offset is converted to UTC", "2026-11-26T10:14:03+01:00", "2026-11-26T09:14:03Z", false},
		{"a lower-case t and z are accepted by time.Parse", "2026-11-26t09:14:03z", "", false},
		{"no zone is read as UTC", "2026-11-26T09:14:03.25", "2026-11-26T09:14:03.25Z", false},
		{"a space for T is read as UTC", "2026-11-26 09:14:03", "2026-11-26T09:14:03Z", false},
		{"the portal display form is read as UTC", "11/26/2026, 9:14:03.530 AM", "2026-11-26T09:14:03.53Z", false},
		{"February 30 is refused", "2026-02-30T00:00:00Z", "", false},
		{"February 29 of a common year is refused", "2026-02-29T00:00:00Z", "", false},
		{"hour 24 is refused", "2026-11-26T24:00:00Z", "", false},
		{"second 60 is refused", "2026-11-26T23:59:60Z", "", false},
		{"a dot without digits is refused", "2026-11-26T09:14:03.Z", "", false},
		{"a comma for the dot is accepted by time.Parse", "2026-11-26T09:14:03,5Z", "2026-11-26T09:14:03.5Z", false},
		{"garbage is refused", "yesterday at noon", "", false},
		{"empty is absent", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := parseTime([]byte(tt.in))
			if tt.want == "" {
				if ok {
					t.Fatalf("parsed %q as %v, want refused", tt.in, got)
				}
				return
			}
			want, err := time.Parse(time.RFC3339Nano, tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if !ok || !got.Equal(want) || got.Location() != time.UTC {
				t.Fatalf("parseTime(%q) = %v, %v; want %v UTC", tt.in, got, ok, want)
			}
			if _, fast := parseRFC3339UTC([]byte(tt.in)); fast != tt.fast {
				t.Errorf("fast path taken = %v, want %v", fast, tt.fast)
			}
		})
	}
}

// FuzzParseTime checks the hand-written fast path against time.Parse:
// whatever the fast path accepts, time.Parse(time.RFC3339Nano) accepts as
// the same instant, and parseTime agrees with the layouts tried in order.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{
		"2026-11-26T09:14:03.5304517Z", // Defender's form
		"2026-11-26T09:14:03Z",         // no fraction
		"2024-02-29T00:00:00.000000001Z",
		"0000-01-01T00:00:00Z",
		"9999-12-31T23:59:59.999999999Z",
		"2026-13-01T00:00:00Z",            // month 13
		"2026-11-26T09:14:03.1234567890Z", // ten digits
		"2026-11-26T09:14:03+05:30",
		"11/26/2026, 9:14:03.530 AM",
		"2026-11-26 09:14:03",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if fast, ok := parseRFC3339UTC([]byte(s)); ok {
			want, err := time.Parse(time.RFC3339Nano, s)
			if err != nil || !fast.Equal(want) {
				t.Fatalf("fast path %q = %v; time.Parse = %v, %v", s, fast, want, err)
			}
		}
		got, ok := parseTime([]byte(s))
		want, wantOK := refTime(s)
		if ok != wantOK || !got.Equal(want) {
			t.Fatalf("parseTime(%q) = %v, %v; reference %v, %v", s, got, ok, want, wantOK)
		}
	})
}

// FuzzParseAddr checks parseAddr (with its IPv4 fast path) against
// netip.ParseAddr followed by Unmap and dropping the zone.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"203.0.113.77", "2a02:cf40::", "::ffff:198.51.100.7", "-", "01.2.3.4",
		"255.255.255.255", "256.1.1.1", "1.2.3", "1.2.3.4.", "fe80::1%eth0", "::ffff:1.2.3.4%x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := parseAddr([]byte(s))
		var want netip.Addr
		if a, err := netip.ParseAddr(s); err == nil {
			want = a.Unmap().WithZone("")
		}
		if got != want {
			t.Fatalf("parseAddr(%q) = %v, want %v", s, got, want)
		}
	})
}
