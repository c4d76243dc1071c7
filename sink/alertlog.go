package sink

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// alertLog is an append-only JSON-lines file of alerts, one line per
// alert: a time, the fields head writes, and the alert in native JSON.
// Each write appends its lines with a single write(2) to a file opened
// with O_APPEND, so lines from concurrent writers (even other processes)
// never interleave. DeadLetter and ExclusionAudit are built on it.
type alertLog struct {
	what   string // "dead-letter file", for errors
	mu     sync.Mutex
	f      *os.File
	path   string
	buf    []byte
	closed bool
	// torn is set when a failed write left part of a line that could not
	// be taken back: the next write starts with a newline, so its first
	// line is not glued to it.
	torn bool
}

// openAlertLog opens path for appending, creating it with mode 0600 (the
// directory must exist).
func openAlertLog(what, path string) (*alertLog, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return &alertLog{what: what, f: f, path: path}, nil
}

// write appends one line per alert, head(w, i) writing alerts[i]'s fields
// between "time" and "alert".
func (l *alertLog) write(alerts []Alert, head func(w *jw, i int)) error {
	if len(alerts) == 0 {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("%s %s: %w", l.what, l.path, ErrClosed)
	}
	t := time.Now().UTC()
	b := l.buf[:0]
	if l.torn {
		b = append(b, '\n')
	}
	for i := range alerts {
		var w jw
		w.b = b
		w.obj()
		w.time("time", t)
		head(&w, i)
		w.key("alert")
		n := len(w.b)
		var err error
		w.b, err = appendNative(w.b, &alerts[i])
		if err != nil {
			// The alert cannot be encoded natively (a time out of range):
			// keep what identifies it rather than lose the line.
			w.b = w.b[:n]
			w.first = true
			w.obj()
			w.str("alert_id", alerts[i].AlertID)
			w.str("encode_error", err.Error())
			w.end()
		}
		w.end()
		b = append(w.b, '\n')
	}
	l.buf = b
	if len(l.buf) > 1<<20 {
		l.buf = nil // do not keep a huge buffer alive
	}
	if n, err := l.f.Write(b); err != nil {
		if n > 0 {
			l.takeBack(n)
		}
		return fmt.Errorf("%s %s: write %d alerts: %w", l.what, l.path, len(alerts), err)
	}
	l.torn = false
	return nil
}

// takeBack removes the n bytes a failed write appended (the disk filled
// half-way), so the file never keeps half a line; when it cannot, the
// next write starts on a new line. The caller holds l.mu.
func (l *alertLog) takeBack(n int) {
	// Opened with O_APPEND: the offset is the end of what was written.
	if end, err := l.f.Seek(0, io.SeekCurrent); err == nil && end >= int64(n) {
		if l.f.Truncate(end-int64(n)) == nil {
			return
		}
	}
	l.torn = true
}

// sync fsyncs the file: every line written before it is durable.
func (l *alertLog) sync() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return fmt.Errorf("%s %s: %w", l.what, l.path, ErrClosed)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("%s %s: fsync: %w", l.what, l.path, err)
	}
	return nil
}

// close fsyncs and closes the file; a second call returns nil.
func (l *alertLog) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	serr := l.f.Sync()
	cerr := l.f.Close()
	if err := errors.Join(serr, cerr); err != nil {
		return fmt.Errorf("%s %s: close: %w", l.what, l.path, err)
	}
	return nil
}
