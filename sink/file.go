package sink

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"
)

// SyncMode says when the file sink fsyncs. The zero value "" means
// SyncAlways.
type SyncMode string

// The sync modes.
const (
	// SyncAlways fsyncs before every Write returns: an accepted alert is
	// on disk. The default (also for "").
	SyncAlways SyncMode = "always"
	// SyncInterval fsyncs in the background every FileOptions.SyncEvery
	// (default 1s) when something was written: Write returns once the
	// kernel has the bytes, so a power loss can lose up to that interval
	// of accepted alerts (a crash of iocwatch alone loses nothing).
	SyncInterval SyncMode = "interval"
	// SyncNever leaves flushing to the operating system: Write returns
	// once the kernel has the bytes; only rotation, Flush and Close
	// fsync. A crash of iocwatch loses nothing, a power loss may lose
	// whatever the kernel had not yet written.
	SyncNever SyncMode = "never"
)

// FileOptions configures NewFile. The zero value writes native JSON lines,
// fsyncs every Write and never rotates.
type FileOptions struct {
	// Format is the JSON shape of each line: FormatNative (default, also
	// for "") or FormatOCSF.
	Format Format
	// Sync is SyncAlways (default, also for ""), SyncInterval or
	// SyncNever.
	Sync SyncMode
	// SyncEvery is the fsync period of SyncInterval. Default 1s.
	SyncEvery time.Duration
	// MaxBytes rotates the file before a Write would make it larger than
	// this many bytes: path becomes path.1, path.1 becomes path.2, and so
	// on. A single batch larger than MaxBytes still goes whole into a fresh
	// file. 0 (default) never rotates.
	MaxBytes int64
	// MaxFiles is how many rotated files (path.1 … path.N) are kept; the
	// oldest beyond it is deleted. Default 5 (also for 0).
	MaxFiles int
}

// File is a Sink that appends alerts as JSON lines to a file (mode 0600
// when it creates it), optionally rotating by size. Each Write appends its
// whole batch with one write(2) and, with SyncAlways, fsyncs before it
// returns. If a write fails half-way (disk full) the file is truncated back
// to its previous size, so it never holds a partial line. The zero value is
// not usable: use NewFile. Safe for concurrent use.
type File struct {
	mu      sync.Mutex
	path    string
	opt     FileOptions
	f       *os.File // nil after a rotation that could not open the new file
	size    int64
	buf     []byte
	dirty   bool  // written since the last fsync (SyncInterval)
	syncErr error // a background fsync failure, reported by the next call
	closed  bool

	stop chan struct{} // closes the background fsync loop
	done chan struct{} // closed when the loop returned
}

// NewFile opens (creating, mode 0600) path for appending. It fails on
// invalid options or when the file cannot be opened. With SyncInterval it
// starts a goroutine that Close stops.
func NewFile(path string, opt FileOptions) (*File, error) {
	if opt.Format == "" {
		opt.Format = FormatNative
	}
	if opt.Sync == "" {
		opt.Sync = SyncAlways
	}
	if opt.SyncEvery == 0 {
		opt.SyncEvery = time.Second
	}
	if opt.MaxFiles == 0 {
		opt.MaxFiles = 5
	}
	var errs []error
	if err := opt.Format.Validate(); err != nil {
		errs = append(errs, err)
	}
	switch opt.Sync {
	case SyncAlways, SyncInterval, SyncNever:
	default:
		errs = append(errs, fmt.Errorf("sync %q: want %q, %q or %q", string(opt.Sync), SyncAlways, SyncInterval, SyncNever))
	}
	if opt.SyncEvery < 0 {
		errs = append(errs, fmt.Errorf("sync interval %v: must be positive", opt.SyncEvery))
	}
	if opt.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("max bytes %d: must be 0 (no rotation) or positive", opt.MaxBytes))
	}
	if opt.MaxFiles < 0 {
		errs = append(errs, fmt.Errorf("max files %d: must be positive", opt.MaxFiles))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("file sink %s: %w", path, err)
	}
	s := &File{path: path, opt: opt}
	if err := s.open(); err != nil {
		return nil, err
	}
	if opt.Sync == SyncInterval {
		s.stop, s.done = make(chan struct{}), make(chan struct{})
		go s.syncLoop()
	}
	return s, nil
}

func (s *File) open() error {
	f, err := os.OpenFile(s.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("file sink: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("file sink: %w", err)
	}
	s.f, s.size = f, st.Size()
	return nil
}

// Write appends one line per alert. An alert that cannot be encoded (a
// time outside years 0–9999) is refused alone, with a permanent
// *RefusedError naming it, after the others are written.
func (s *File) Write(ctx context.Context, alerts []Alert) error {
	if len(alerts) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("file sink %s: %w", s.path, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("file sink %s: %w", s.path, ErrClosed)
	}
	if err := s.takeSyncErr(); err != nil {
		return err
	}
	b := s.buf[:0]
	var refused Refusals
	for i := range alerts {
		start := len(b)
		var err error
		if b, err = EncodeJSON(b, &alerts[i], s.opt.Format); err != nil {
			b = b[:start]
			refused.Add(i, fmt.Errorf("file sink %s: %w", s.path, err))
			continue
		}
		b = append(b, '\n')
	}
	if cap(b) <= 1<<20 {
		s.buf = b
	}
	if len(b) == 0 {
		return refused.Err()
	}
	if s.f == nil {
		// A rotation could not open the new file: try again.
		if err := s.open(); err != nil {
			return err
		}
	}
	if s.opt.MaxBytes > 0 && s.size > 0 && s.size+int64(len(b)) > s.opt.MaxBytes {
		if err := s.rotate(); err != nil {
			return err
		}
	}
	if n, err := s.f.Write(b); err != nil {
		if n > 0 {
			// Take the partial line back; if that fails too, the next
			// line still starts on a line of its own.
			if terr := s.f.Truncate(s.size); terr != nil {
				s.size += int64(n)
			}
		}
		return fmt.Errorf("file sink %s: write %d alerts: %w", s.path, len(alerts), err)
	}
	s.size += int64(len(b))
	if s.opt.Sync == SyncAlways {
		if err := s.f.Sync(); err != nil {
			return fmt.Errorf("file sink %s: fsync: %w", s.path, err)
		}
	} else {
		s.dirty = true
	}
	return refused.Err()
}

// rotate fsyncs and closes the current file, shifts path.N-1 → path.N …
// path → path.1 (deleting the oldest beyond MaxFiles) and opens a new
// path. The caller holds s.mu.
func (s *File) rotate() error {
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("file sink %s: fsync before rotation: %w", s.path, err)
	}
	err := s.f.Close()
	s.f = nil // reopened below, or by the next Write
	if err != nil {
		return s.reopenAfter(fmt.Errorf("file sink %s: close before rotation: %w", s.path, err))
	}
	s.dirty = false
	name := func(i int) string { return s.path + "." + strconv.Itoa(i) }
	if err := os.Remove(name(s.opt.MaxFiles)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return s.reopenAfter(fmt.Errorf("file sink %s: rotate: %w", s.path, err))
	}
	for i := s.opt.MaxFiles - 1; i >= 1; i-- {
		if err := os.Rename(name(i), name(i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return s.reopenAfter(fmt.Errorf("file sink %s: rotate: %w", s.path, err))
		}
	}
	if err := os.Rename(s.path, name(1)); err != nil {
		return s.reopenAfter(fmt.Errorf("file sink %s: rotate: %w", s.path, err))
	}
	return s.open()
}

// reopenAfter reopens the current file after a failed rotation, so the
// sink keeps working (the next Write tries to rotate again; when this
// reopen fails too, the next Write opens the file first).
func (s *File) reopenAfter(err error) error {
	if oerr := s.open(); oerr != nil {
		return errors.Join(err, oerr)
	}
	return err
}

func (s *File) takeSyncErr() error {
	err := s.syncErr
	s.syncErr = nil
	return err
}

// syncLoop fsyncs every SyncEvery while there are unsynced writes.
func (s *File) syncLoop() {
	defer close(s.done)
	t := time.NewTicker(s.opt.SyncEvery)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			s.mu.Lock()
			if s.dirty && !s.closed && s.f != nil {
				s.dirty = false
				if err := s.f.Sync(); err != nil && s.syncErr == nil {
					s.syncErr = fmt.Errorf("file sink %s: background fsync: %w", s.path, err)
				}
			}
			s.mu.Unlock()
		}
	}
}

// Flush fsyncs the file: every alert accepted so far is on disk. It also
// reports a failed background fsync.
func (s *File) Flush(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("file sink %s: %w", s.path, ErrClosed)
	}
	if err := s.takeSyncErr(); err != nil {
		return err
	}
	s.dirty = false
	if s.f == nil {
		return nil // the rotation that closed the last file fsynced it
	}
	if err := s.f.Sync(); err != nil {
		return fmt.Errorf("file sink %s: fsync: %w", s.path, err)
	}
	return nil
}

// Close stops the background fsync, fsyncs and closes the file. It is safe
// to call twice; later Writes return ErrClosed.
func (s *File) Close(ctx context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	if s.stop != nil {
		close(s.stop)
		<-s.done
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	err := s.takeSyncErr()
	if s.f != nil {
		err = errors.Join(err, s.f.Sync(), s.f.Close())
	}
	if err != nil {
		return fmt.Errorf("file sink %s: close: %w", s.path, err)
	}
	return nil
}
