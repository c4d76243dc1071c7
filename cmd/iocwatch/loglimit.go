package main

import (
	"log/slog"
	"sync"
	"time"
)

// logLimiter lets a warning that may repeat at stream speed through at its
// first occurrence and then at most once per interval, counting them all.
type logLimiter struct {
	every time.Duration

	mu       sync.Mutex
	last     time.Time
	total    int64
	unlogged int64
}

// note records one occurrence. It reports whether this one is to be
// logged, with the count so far and how many were not logged since the
// last that was.
func (l *logLimiter) note() (due bool, total, skipped int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.total++
	now := time.Now()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.unlogged++
		return false, l.total, 0
	}
	l.last = now
	skipped, l.unlogged = l.unlogged, 0
	return true, l.total, skipped
}

// decodeErrorLogger returns the pipeline hook that logs undecodable
// messages: the first at once with its position and error, then at most
// one a minute with the count. kept says whether they go to a dead-letter
// destination.
func decodeErrorLogger(log *slog.Logger, kept bool) func(position string, err error) {
	if log == nil {
		return nil
	}
	lim := &logLimiter{every: time.Minute}
	where := "none: set pipeline.dead_letter to keep them"
	if kept {
		where = "written"
	}
	return func(position string, err error) {
		due, total, skipped := lim.note()
		if !due {
			return
		}
		attrs := []any{"position", position, "err", err, "decode_errors", total, "dead_letter", where}
		if skipped > 0 {
			attrs = append(attrs, "not_logged_since_last", skipped)
		}
		log.Warn("undecodable message skipped", attrs...)
	}
}
