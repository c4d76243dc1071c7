//go:build !unix

package sink

import (
	"errors"
	"net"
	"syscall"
	"time"
)

// socketState is the portable form of the Unix check: a read with a
// one-millisecond deadline, bytes read discarded. Without drain (the raw
// socket under TLS, whose bytes must not be consumed) it only reports
// bytes as possibly pending, so the caller checks at the TLS layer. A
// reset is recognised where the platform reports ECONNRESET.
func socketState(c net.Conn, drain bool) (pending, closed, reset bool) {
	if !drain {
		return true, false, false
	}
	if err := c.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		return false, true, false
	}
	defer c.SetReadDeadline(time.Time{})
	var b [512]byte
	if _, err := c.Read(b[:]); err != nil {
		ne, ok := errors.AsType[net.Error](err)
		return false, !ok || !ne.Timeout(), errors.Is(err, syscall.ECONNRESET)
	}
	return false, false, false
}
