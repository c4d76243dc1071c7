//go:build !linux

package bench

import "time"

func loadAvg() float64           { return -1 }
func cpuModel() string           { return "" }
func procStatusKiB(string) int64 { return -1 }

func runQueueWait() (time.Duration, bool) { return 0, false }
