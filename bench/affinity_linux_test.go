package bench

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestTheKafkaRigSplitsTheCoresBetweenConsumerAndHelper(t *testing.T) {
	consumer, helper, ok := splitCores()
	if !ok {
		t.Skip("fewer than two CPUs: the rig does not pin")
	}
	var all cpuSet
	if err := unix.SchedGetaffinity(0, &all); err != nil {
		t.Fatal(err)
	}
	if consumer.Count() != 1 || helper.Count() != all.Count()-1 {
		t.Fatalf("consumer %s, helper %s, of %d CPUs", describeCPUs(consumer), describeCPUs(helper), all.Count())
	}
	for c := range 1024 {
		if all.IsSet(c) != (consumer.IsSet(c) || helper.IsSet(c)) || (consumer.IsSet(c) && helper.IsSet(c)) {
			t.Fatalf("CPU %d: consumer %s and helper %s do not split %s", c, describeCPUs(consumer), describeCPUs(helper), describeCPUs(all))
		}
	}

	// Every thread moves to the consumer's CPU, and back.
	restore, err := pinProcess(consumer)
	if err != nil {
		t.Skipf("CPU affinity cannot be set here: %v", err)
	}
	if got := threadAffinities(t); len(got) != 1 || got[0] != consumer {
		restore()
		t.Fatalf("pinned: threads on %d different sets, want all on %s", len(got), describeCPUs(consumer))
	}
	restore()
	if got := threadAffinities(t); len(got) != 1 || got[0] != all {
		t.Fatalf("restored: threads on %d different sets, want all on %s", len(got), describeCPUs(all))
	}

	// A process started pinned runs on the helper's CPUs; this thread's
	// affinity is back afterwards.
	var out []byte
	err = startPinned(helper, func() error {
		var err error
		out, err = exec.Command("cat", "/proc/self/status").Output()
		return err
	})
	if err != nil {
		t.Skipf("cat: %v", err)
	}
	if got, want := allowedList(string(out)), listCPUs(helper); got != want {
		t.Fatalf("the started process may run on %q, want %q", got, want)
	}
	if got := threadAffinities(t); len(got) != 1 || got[0] != all {
		t.Fatal("startPinned left a thread pinned")
	}
}

// threadAffinities returns the distinct affinities of this process's threads.
func threadAffinities(t *testing.T) []cpuSet {
	t.Helper()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	var sets []cpuSet
	for _, e := range tasks {
		tid, _ := strconv.Atoi(e.Name())
		var s cpuSet
		if unix.SchedGetaffinity(tid, &s) != nil {
			continue
		}
		seen := false
		for _, x := range sets {
			seen = seen || x == s
		}
		if !seen {
			sets = append(sets, s)
		}
	}
	return sets
}

// allowedList returns the Cpus_allowed_list of a /proc/PID/status text.
func allowedList(status string) string {
	for line := range strings.SplitSeq(status, "\n") {
		if v, ok := strings.CutPrefix(line, "Cpus_allowed_list:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// listCPUs writes set as the kernel's list format ("1", "1-3", "0,2").
func listCPUs(set cpuSet) string {
	var parts []string
	for c := 0; c < 1024; c++ {
		if !set.IsSet(c) {
			continue
		}
		e := c
		for e+1 < 1024 && set.IsSet(e+1) {
			e++
		}
		if e == c {
			parts = append(parts, strconv.Itoa(c))
		} else {
			parts = append(parts, strconv.Itoa(c)+"-"+strconv.Itoa(e))
		}
		c = e
	}
	return strings.Join(parts, ",")
}
