//go:build !unix

package stream

import (
	"errors"
	"os"
)

// canMap is false where mmap is not available: files are read with read.
const canMap = false

var mapFile = func(*os.File, int64, int) ([]byte, error) {
	return nil, errors.New("memory mapping is not supported on this system")
}

func unmapFile([]byte) {}
