package main

import (
	"bytes"
	"runtime"
	"runtime/trace"
	"strings"
	"sync"
	"testing"
	"time"
)

// spinForTest runs on a core for d.
func spinForTest(d time.Duration) uint64 {
	x := uint64(1)
	for end := time.Now().Add(d); time.Now().Before(end); {
		for range 1000 {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	return x
}

// A trace of goroutines that spin beside a garbage collection: their
// running time is accounted to their group, the collector's mark shows in
// some bucket, and the table has a line per bucket.
func TestAnalyzeAccountsGroupsAndMarks(t *testing.T) {
	var buf bytes.Buffer
	if err := trace.Start(&buf); err != nil {
		t.Skipf("tracing is not available: %v", err)
	}
	var wg sync.WaitGroup
	var spun [2]uint64
	for i := range spun {
		wg.Add(1)
		go func() {
			defer wg.Done()
			spun[i] = spinForTest(150 * time.Millisecond)
		}()
	}
	garbage := make([][]byte, 0, 1<<12)
	for range 1 << 12 {
		garbage = append(garbage, make([]byte, 1<<10))
	}
	runtime.GC()
	wg.Wait()
	trace.Stop()
	runtime.KeepAlive(garbage)
	runtime.KeepAlive(spun)

	groups := []group{{"spin", "tracebuckets.spinForTest"}}
	res, err := analyze(&buf, groups, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	var run, waited, mark float64
	for _, b := range res.buckets {
		run += b["spin run"]
		waited += b["spin wait-cpu"]
		mark += b["GC mark"]
	}
	// Two goroutines that each spin until 150 ms after they start: 30
	// bucket-cores of 10 ms running or waiting for a core, at least, and
	// at most 30 running (a little more where the OS held a thread past
	// the deadline). How long they waited before and between depends on
	// what else the machine runs (with the race detector and other
	// packages' tests: up to 45 more bucket-cores), so it has no upper
	// bound here.
	if run+waited < 25 {
		t.Errorf("the spinning goroutines were accounted %.1f bucket-cores running or waiting, want at least 30", run+waited)
	}
	if run > 40 {
		t.Errorf("the spinning goroutines were accounted %.1f bucket-cores running, want at most about 30", run)
	}
	if mark == 0 {
		t.Error("no bucket shows the collector marking")
	}
	var out bytes.Buffer
	res.printBuckets(&out, groups, 0, -1)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != len(res.buckets)+1 || !strings.Contains(lines[0], "spin run") {
		t.Errorf("the table has %d lines for %d buckets; header %q", len(lines), len(res.buckets), lines[0])
	}
}

func TestAnalyzeRefusesWhatIsNotATrace(t *testing.T) {
	if _, err := analyze(strings.NewReader("not a trace"), defaultGroups, time.Millisecond); err == nil {
		t.Error("no error for a file that is not a trace")
	}
}

func TestGroupFlag(t *testing.T) {
	var g groupFlag
	if err := g.Set("workers=stream.(*Pipeline).Run.func3"); err != nil {
		t.Fatal(err)
	}
	if len(g.gs) != 1 || g.gs[0] != (group{"workers", "stream.(*Pipeline).Run.func3"}) {
		t.Errorf("groups %+v", g.gs)
	}
	for _, bad := range []string{"", "workers", "=x", "x="} {
		if err := g.Set(bad); err == nil {
			t.Errorf("Set(%q) gave no error", bad)
		}
	}
}
