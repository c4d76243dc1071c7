//go:build unix

package stream

import (
	"os"

	"golang.org/x/sys/unix"
)

const canMap = true

// mapFile maps n bytes of f from off (a multiple of the page size),
// read-only, and asks for read-ahead. A variable, so that tests can make
// mapping fail.
var mapFile = func(f *os.File, off int64, n int) ([]byte, error) {
	data, err := unix.Mmap(int(f.Fd()), off, n, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, err
	}
	_ = unix.Madvise(data, unix.MADV_SEQUENTIAL) // advice only
	return data, nil
}

func unmapFile(data []byte) { _ = unix.Munmap(data) }
