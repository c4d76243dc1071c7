package ops

import (
	"testing"
	"time"
)

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-1, "–"},
		{0, "0s"},
		{850 * time.Microsecond, "850µs"},
		{12*time.Millisecond + 300*time.Microsecond, "12ms"},
		{2549 * time.Millisecond, "2.5s"},
		{5 * time.Minute, "5m"},
		{3*time.Minute + 12*time.Second, "3m12s"},
		{10 * time.Minute, "10m"},
		{3 * time.Hour, "3h"},
		{26*time.Hour + 5*time.Minute, "26h5m"},
		{26*time.Hour + 10*time.Minute, "26h10m"},
	}
	for _, tt := range tests {
		if got := formatDuration(tt.d); got != tt.want {
			t.Errorf("formatDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestFormatNumbers(t *testing.T) {
	for _, c := range []struct {
		got, want string
	}{
		{formatInt(0), "0"},
		{formatInt(-1234), "-1,234"},
		{formatInt(1234567), "1,234,567"},
		{formatRate(0.04), "0.0"},
		{formatRate(2.96), "3.0"},
		{formatRate(1234.56), "1,234.6"},
		{formatRate(-3), "0.0"},
		{formatNum(uint64(1000)), "1,000"},
		{formatNum("x"), "?"},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}
