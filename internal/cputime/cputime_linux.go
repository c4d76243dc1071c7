//go:build linux

package cputime

import (
	"time"

	"golang.org/x/sys/unix"
)

// Process returns the user+system CPU time of this process (every thread,
// the garbage collector included), or 0 when it cannot be read.
func Process() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Thread returns the CPU time the calling thread has used (lock the
// goroutine to its thread first), or 0 when it cannot be read.
func Thread() time.Duration {
	var ts unix.Timespec
	if unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts) != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
