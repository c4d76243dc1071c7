//go:build unix

package sink

import (
	"errors"
	"net"
	"syscall"
)

// socketState looks at a stream socket without blocking: pending reports
// bytes waiting to be read, closed an end of stream or a socket error,
// reset a connection reset (the receiver discarded bytes it had not read,
// or bytes arrived after it closed). With
// drain set, waiting bytes are read and discarded (a syslog receiver has
// nothing to say, and bytes left unread would hide a later end of stream);
// otherwise they are only peeked at.
func socketState(c net.Conn, drain bool) (pending, closed, reset bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false, false, false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false, true, false
	}
	var buf [512]byte
	flags := syscall.MSG_DONTWAIT
	if !drain {
		flags |= syscall.MSG_PEEK
	}
	rerr := rc.Read(func(fd uintptr) bool {
		for {
			n, _, err := syscall.Recvfrom(int(fd), buf[:], flags)
			switch {
			case errors.Is(err, syscall.EINTR):
				continue
			case errors.Is(err, syscall.EAGAIN), errors.Is(err, syscall.EWOULDBLOCK):
				// nothing waiting: alive
			case errors.Is(err, syscall.ECONNRESET):
				closed, reset = true, true
			case err != nil, n == 0:
				closed = true
			case drain && n == len(buf):
				continue // more may be waiting
			default:
				pending = !drain
			}
			return true // never wait for readiness
		}
	})
	if rerr != nil {
		closed = true
	}
	return pending, closed, reset
}
