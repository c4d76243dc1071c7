//go:build linux

package bench

import (
	"bufio"
	"bytes"
	"os"
	"strconv"
	"time"
)

// loadAvg returns the 1-minute load average, or -1.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return -1
	}
	f := bytes.Fields(b)
	if len(f) == 0 {
		return -1
	}
	v, err := strconv.ParseFloat(string(f[0]), 64)
	if err != nil {
		return -1
	}
	return v
}

// procStatusKiB returns a "VmHWM"-style field of /proc/self/status in KiB,
// or -1.
func procStatusKiB(field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return -1
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Bytes()
		if bytes.HasPrefix(line, []byte(field+":")) {
			fs := bytes.Fields(line[len(field)+1:])
			if len(fs) > 0 {
				if v, err := strconv.ParseInt(string(fs[0]), 10, 64); err == nil {
					return v
				}
			}
		}
	}
	return -1
}

// runQueueWait returns the time this process's threads have spent
// runnable but waiting for a CPU (the second field of
// /proc/self/task/*/schedstat), summed over its live threads; false when
// the kernel does not tell. On a shared machine it shows how much of a
// run the other tenants took.
func runQueueWait() (time.Duration, bool) {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return 0, false
	}
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + t.Name() + "/schedstat")
		if err != nil {
			continue
		}
		f := bytes.Fields(b)
		if len(f) < 2 {
			return 0, false
		}
		v, err := strconv.ParseInt(string(f[1]), 10, 64)
		if err != nil {
			return 0, false
		}
		sum += v
	}
	return time.Duration(sum), true
}

// cpuModel returns the CPU's model name from /proc/cpuinfo ("" when it
// says none), for the report's machine line.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && string(bytes.TrimSpace(k)) == "model name" {
			return string(bytes.TrimSpace(v))
		}
	}
	return ""
}
