package main

import (
	"testing"
	"time"
)

func TestLogLimiterLetsTheFirstThroughThenCounts(t *testing.T) {
	l := &logLimiter{every: time.Hour}
	if due, total, skipped := l.note(); !due || total != 1 || skipped != 0 {
		t.Fatalf("first note = %v %d %d, want due, 1, 0", due, total, skipped)
	}
	for i := 2; i <= 5; i++ {
		if due, total, _ := l.note(); due || total != int64(i) {
			t.Fatalf("note %d = %v %d, want not due, %d", i, due, total, i)
		}
	}
	l.every = 0 // the interval has passed
	if due, total, skipped := l.note(); !due || total != 6 || skipped != 4 {
		t.Errorf("note after the interval = %v %d %d, want due, 6, 4 not logged", due, total, skipped)
	}
}
