package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

func TestTheLogsOfHelpersThatAreGoneAreRemoved(t *testing.T) {
	done := exec.Command("true")
	if err := done.Run(); err != nil {
		t.Skipf("no process to outlive: %v", err)
	}
	parent := t.TempDir()
	dirs := map[string]bool{ // name: kept
		fmt.Sprintf("%s%d-1", logDirPrefix, done.Process.Pid): false,
		fmt.Sprintf("%s%d-2", logDirPrefix, os.Getpid()):      true,
		logDirPrefix + "1-3":       true, // init lives
		logDirPrefix + "not-a-pid": true,
		"other-99999999-4":         true,
	}
	for name := range dirs {
		if err := os.MkdirAll(filepath.Join(parent, name, "defender-live-0"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	removeLeftLogDirs(parent)
	for name, kept := range dirs {
		_, err := os.Stat(filepath.Join(parent, name))
		if kept != (err == nil) {
			t.Errorf("%s: kept %v, want %v (%v)", name, err == nil, kept, err)
		}
	}
}
