package bench

import (
	"context"
	"fmt"
	"os"
	"testing"
)

// TestMain lets the suite start this test binary as its helper process
// (the embedded broker and producer, the memory measurements): with
// HelperEnv set it serves requests on stdin instead of running tests.
// After the tests and benchmarks it removes the benchmarks' corpora.
func TestMain(m *testing.M) {
	if IsHelper() {
		if err := ServeHelper(context.Background(), os.Stdin, os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	if fdir != "" {
		// The benchmarks' corpora, 100–300 MB a run: left behind, a few
		// hundred runs fill a disk.
		os.RemoveAll(fdir)
	}
	os.Exit(code)
}

// helperArgv starts this test binary as a helper.
func helperArgv() []string { return []string{os.Args[0]} }
