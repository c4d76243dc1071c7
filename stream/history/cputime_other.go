//go:build !linux

package history

import "time"

// threadCPUTime is not available here: the pacer measures wall time.
func threadCPUTime() (time.Duration, bool) { return 0, false }
