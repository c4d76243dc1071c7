package main

import (
	"testing"
	"time"
)

func TestInputProgressSaysHowFarAndHowLong(t *testing.T) {
	for _, c := range []struct {
		read, total int64
		elapsed     time.Duration
		want        string
	}{
		{0, 0, time.Second, ""}, // stdin: size not known
		{0, 2_980_000_000, 0, ", 0% of 2.98 GB"},
		{745_000_000, 2_980_000_000, 4 * time.Second, ", 25% of 2.98 GB, 12s left"},
		{2_980_000_000, 2_980_000_000, 16 * time.Second, ", 100% of 2.98 GB"},
		{500, 1000, 3 * time.Second, ", 50% of 1.0 kB, 3s left"},
		{1, 900, time.Millisecond, ", 0% of 900 B, 1s left"}, // rounded to the second
		{15_000_000, 30_000_000, time.Minute, ", 50% of 30.0 MB, 1m0s left"},
	} {
		if got := inputProgress(c.read, c.total, c.elapsed); got != c.want {
			t.Errorf("inputProgress(%d, %d, %s) = %q, want %q", c.read, c.total, c.elapsed, got, c.want)
		}
	}
}
