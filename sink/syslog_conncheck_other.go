//go:build !unix

package sink

import (
	"errors"
	"net"
	"time"
)

// socketState is the portable form of the Unix check: a read with a
// one-millisecond deadline, bytes read discarded. Without drain (the raw
// socket under TLS, whose bytes must not be consumed) it only reports
// bytes as possibly pending, so the caller checks at the TLS layer.
func socketState(c net.Conn, drain bool) (pending, closed bool) {
	if !drain {
		return true, false
	}
	if err := c.SetReadDeadline(time.Now().Add(time.Millisecond)); err != nil {
		return false, true
	}
	defer c.SetReadDeadline(time.Time{})
	var b [512]byte
	if _, err := c.Read(b[:]); err != nil {
		ne, ok := errors.AsType[net.Error](err)
		return false, !ok || !ne.Timeout()
	}
	return false, false
}
