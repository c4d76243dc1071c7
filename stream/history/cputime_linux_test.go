//go:build linux

package history

import (
	"time"

	"golang.org/x/sys/unix"
)

// processCPU returns the user and system CPU time the process has used.
func processCPU() time.Duration {
	var ru unix.Rusage
	if unix.Getrusage(unix.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// threadCPU returns the CPU time the calling thread has used (lock the
// goroutine to its thread first).
func threadCPU() time.Duration {
	t, _ := threadCPUTime()
	return t
}
