//go:build !unix

package history

import (
	"fmt"
	"os"
	"path/filepath"
)

// lockDir creates dir's LOCK file. Without flock there is no exclusion:
// run one writer per history directory.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	return f, nil
}

func unlockDir(f *os.File) error { return f.Close() }
