package ops

import (
	"sync"

	"github.com/iocwatch/iocwatch/sink"
)

// ring keeps the last n alerts. The zero value keeps none. Safe for
// concurrent use.
type ring struct {
	mu    sync.Mutex
	buf   []sink.Alert
	next  int   // where the next alert goes
	total int64 // alerts ever pushed
}

func newRing(n int) *ring { return &ring{buf: make([]sink.Alert, n)} }

// push copies alerts in; only the last len(buf) of them can stay.
func (r *ring) push(alerts []sink.Alert) {
	n := len(r.buf)
	if n == 0 || len(alerts) == 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.total += int64(len(alerts))
	if len(alerts) > n {
		alerts = alerts[len(alerts)-n:]
	}
	for i := range alerts {
		r.buf[r.next] = alerts[i]
		r.next = (r.next + 1) % n
	}
}

// newest returns the alerts kept, newest first, and how many were ever
// pushed.
func (r *ring) newest() ([]sink.Alert, int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(r.buf)
	kept := int(min(r.total, int64(n)))
	out := make([]sink.Alert, 0, kept)
	for i := 1; i <= kept; i++ {
		out = append(out, r.buf[(r.next-i+n)%n])
	}
	return out, r.total
}
