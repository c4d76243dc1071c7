//go:build !linux

package bench

// cpuSet is a set of CPUs; without Linux's sched_setaffinity the rig does
// not pin processes.
type cpuSet struct{}

func splitCores() (consumer, helper cpuSet, ok bool) { return cpuSet{}, cpuSet{}, false }

func describeCPUs(cpuSet) string { return "" }

func pinProcess(cpuSet) (restore func(), err error) { return func() {}, nil }

func startPinned(_ cpuSet, start func() error) error { return start() }

// processGone reports whether no process has pid; elsewhere than on Linux
// it does not know, and says no.
func processGone(int) bool { return false }
