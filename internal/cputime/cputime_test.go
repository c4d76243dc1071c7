package cputime

import (
	"runtime"
	"testing"
	"time"
)

// Work shows in both clocks where they are read, and neither goes back.
func TestCPUTimeGrowsWithWork(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	p0, t0 := Process(), Thread()
	spin := time.Now()
	x := 0
	for time.Since(spin) < 50*time.Millisecond {
		x++
	}
	p1, t1 := Process(), Thread()
	if p1 < p0 || t1 < t0 {
		t.Fatalf("went back: process %v → %v, thread %v → %v", p0, p1, t0, t1)
	}
	if runtime.GOOS == "linux" && (p1 == p0 || t1 == t0) {
		t.Errorf("50 ms of spinning (%d loops) did not show: process %v → %v, thread %v → %v", x, p0, p1, t0, t1)
	}
}
