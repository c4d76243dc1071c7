package bench

import (
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// cpuSet is a set of CPUs a thread may run on.
type cpuSet = unix.CPUSet

// splitCores divides the CPUs this process may run on between the Kafka
// consumer under test (the lowest one) and the rig's helper process (the
// others), so that the broker and the producer run on another core, as the
// Kafka target has it, and cannot take the consumer's. ok is false with
// fewer than two CPUs or where affinity cannot be read.
func splitCores() (consumer, helper cpuSet, ok bool) {
	var all cpuSet
	if err := unix.SchedGetaffinity(0, &all); err != nil || all.Count() < 2 {
		return consumer, helper, false
	}
	first := true
	for c := range int(unsafe.Sizeof(all)) * 8 {
		switch {
		case !all.IsSet(c):
		case first:
			consumer.Set(c)
			first = false
		default:
			helper.Set(c)
		}
	}
	return consumer, helper, true
}

// describeCPUs names the CPUs of set: "CPU 0", "CPUs 1, 2, 3".
func describeCPUs(set cpuSet) string {
	var ids []string
	for c := range int(unsafe.Sizeof(set)) * 8 {
		if set.IsSet(c) {
			ids = append(ids, strconv.Itoa(c))
		}
	}
	if len(ids) == 1 {
		return "CPU " + ids[0]
	}
	return "CPUs " + strings.Join(ids, ", ")
}

// pinProcess moves every thread of this process to set (threads started
// later inherit it from the thread that starts them) and returns what
// moves them all back to the CPUs the process had.
func pinProcess(set cpuSet) (restore func(), err error) {
	var was cpuSet
	if err := unix.SchedGetaffinity(0, &was); err != nil {
		return nil, fmt.Errorf("bench: read CPU affinity: %w", err)
	}
	// This thread first: where affinity may not be set (a sandbox that
	// forbids it), nothing changes and the caller hears why.
	if err := unix.SchedSetaffinity(0, &set); err != nil {
		return nil, fmt.Errorf("bench: set CPU affinity: %w", err)
	}
	if err := setAllThreads(set); err != nil {
		return nil, err
	}
	return func() { _ = setAllThreads(was) }, nil
}

// setAllThreads sets the affinity of every thread of this process.
func setAllThreads(set cpuSet) error {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return fmt.Errorf("bench: set CPU affinity: %w", err)
	}
	for _, t := range tasks {
		if tid, err := strconv.Atoi(t.Name()); err == nil {
			_ = unix.SchedSetaffinity(tid, &set) // fails only for a thread that has exited
		}
	}
	return nil
}

// startPinned calls start on a thread whose affinity is set to set for
// the call: a process it starts inherits that affinity for all its
// threads.
func startPinned(set cpuSet, start func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var was cpuSet
	if unix.SchedGetaffinity(0, &was) != nil || unix.SchedSetaffinity(0, &set) != nil {
		return start()
	}
	defer unix.SchedSetaffinity(0, &was)
	return start()
}

// processGone reports whether no process has pid.
func processGone(pid int) bool {
	return pid > 0 && unix.Kill(pid, 0) == unix.ESRCH
}
