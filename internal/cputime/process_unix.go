//go:build unix

package cputime

import (
	"syscall"
	"time"
)

// Process returns the user+system CPU time of this process (every thread,
// the garbage collector included), or 0 when it cannot be read.
func Process() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
