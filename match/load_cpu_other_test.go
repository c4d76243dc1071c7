//go:build !unix

package match

import "time"

// ldCPUTime is not measured on this platform; benchmarks report 0.
func ldCPUTime() time.Duration { return 0 }
