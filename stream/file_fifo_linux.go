package stream

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// openFile opens the file at path p for reading. A FIFO (named pipe) is
// opened without waiting for a writer, and read through the fifoReader
// returned with it; anything else is opened as os.Open does.
//
// os.Open of a FIFO blocks in open(2) until a writer opens it, and neither
// a context nor closing anything ends that wait: a source waiting there
// would hold a shutdown until a writer came. Opened O_RDONLY|O_NONBLOCK
// instead, open(2) returns at once and os.OpenFile puts the FIFO in the
// runtime's poller, where a wait ends when the file is closed (Close). The
// FIFO then reads as before: a read with no input waiting waits in the
// poller, and the writer's close is the end of the input.
func openFile(p string) (*os.File, fifoReader, error) {
	if fi, err := os.Stat(p); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 {
		return openBlocking(p)
	}
	f, in, err := openFIFO(p)
	if err != nil || f != nil {
		return f, in, err
	}
	// Not a FIFO after all (the path was replaced since the Stat), or not
	// in the poller: read as os.Open would have opened it.
	return openBlocking(p)
}

// openFIFO opens the FIFO at path p without waiting for a writer; nil,
// nil, nil when p is not a FIFO, or one the runtime's poller does not
// take (a deadline cannot be set).
func openFIFO(p string) (*os.File, *fifoInput, error) {
	f, err := os.OpenFile(p, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&fs.ModeNamedPipe == 0 || f.SetReadDeadline(time.Time{}) != nil {
		f.Close()
		return nil, nil, nil
	}
	return f, &fifoInput{f: f, path: p, anonymous: anonymousPipe(f)}, nil
}

// anonymousPipe reports whether f is a pipe that has no name (one reached
// through /dev/fd/N, as a shell's <(command) gives): no writer can open it
// again once its own has gone.
func anonymousPipe(f *os.File) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var st unix.Statfs_t
	var serr error
	if err := rc.Control(func(fd uintptr) { serr = unix.Fstatfs(int(fd), &st) }); err != nil || serr != nil {
		return false
	}
	return st.Type == unix.PIPEFS_MAGIC
}

// openBlocking opens p as os.Open does.
func openBlocking(p string) (*os.File, fifoReader, error) {
	f, err := os.Open(p)
	return f, nil, err
}

// fifoInput reads a FIFO opened without waiting for a writer (openFile).
// It is read by one goroutine at a time: the live input's pump.
type fifoInput struct {
	f    *os.File
	path string
	// anonymous is set for a pipe without a name (anonymousPipe).
	anonymous bool
	// writer is set once a writer has come: the FIFO has had input, or a
	// writer that opened it has closed it again.
	writer bool
}

// Read implements io.Reader: it waits for the writer, if none has come
// yet, until the FIFO is closed, then reads the FIFO.
func (in *fifoInput) Read(p []byte) (int, error) {
	if err := in.awaitWriter(); err != nil {
		return 0, err
	}
	return in.f.Read(p)
}

// again opens the FIFO at the path again, for the next writer, once the
// input's writer has gone (its read has ended): nil, nil, nil when the
// path names no FIFO now, or this is an anonymous pipe.
func (in *fifoInput) again() (*os.File, fifoReader, error) {
	if in.anonymous {
		return nil, nil, nil
	}
	f, next, err := openFIFO(in.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, nil, nil
	case err != nil:
		return nil, nil, err
	case f == nil:
		return nil, nil, nil
	}
	return f, next, nil
}

// awaitWriter waits in the runtime's poller until the FIFO has input or
// a writer that opened it has closed it again, whichever comes first.
//
// A non-blocking read(2) of a FIFO that no writer has opened returns 0,
// the end of the input: reading cannot tell "no writer yet" from "the
// writer has gone", and reading at once would end the input before it
// began. poll(2) tells them apart, on Linux: it reports POLLIN when input
// is waiting, and POLLHUP once the FIFO has had a writer since this reader
// opened it (or had one then) and none is left; with no writer yet, or one
// that has written nothing so far, it reports nothing. So each time the
// poller wakes the wait (a writer writes or closes; its open alone may
// wake it too, and the wait goes on), a poll with no timeout says whether
// it is over, and Close ends it. Once poll has reported either, reads go
// as they would have after a blocking open: a writer that has gone is the
// end of the input. (Opening the FIFO for writing ourselves, the other
// well-known way to keep a non-blocking read from seeing an end, would
// hide the real writer's close, which ends the input.)
func (in *fifoInput) awaitWriter() error {
	if in.writer {
		return nil
	}
	rc, err := in.f.SyscallConn()
	if err != nil {
		return err
	}
	var perr error
	err = rc.Read(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		for {
			n, err := unix.Poll(fds, 0)
			if errors.Is(err, unix.EINTR) {
				continue
			}
			if err != nil {
				perr = err
				return true
			}
			return n > 0
		}
	})
	switch {
	case err != nil:
		// The poller's wait fails only when the file is closed (its
		// error is then not os.ErrClosed, which File.Read gives).
		return &fs.PathError{Op: "read", Path: in.f.Name(), Err: os.ErrClosed}
	case perr != nil:
		return &fs.PathError{Op: "poll", Path: in.f.Name(), Err: perr}
	}
	in.writer = true
	return nil
}
