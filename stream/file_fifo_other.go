//go:build !linux

package stream

import "os"

// openFile opens the file at path p for reading, as os.Open does: a FIFO
// (named pipe) is opened once a writer has opened it. Only on Linux is it
// opened without waiting for a writer (file_fifo_linux.go): that rests on
// the runtime's poller taking FIFOs (it does not on macOS) and on what
// poll(2) reports for a FIFO no writer has opened yet, known there.
func openFile(p string) (*os.File, fifoReader, error) {
	f, err := os.Open(p)
	return f, nil, err
}
