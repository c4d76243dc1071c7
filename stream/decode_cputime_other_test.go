//go:build !linux

package stream

import "time"

// threadCPUTime is not available here: the benchmarks report wall-clock
// metrics only.
func threadCPUTime() (time.Duration, bool) { return 0, false }
