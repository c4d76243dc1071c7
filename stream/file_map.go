package stream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync/atomic"
	"unsafe"

	"github.com/iocwatch/iocwatch/internal/decompress"
	"github.com/iocwatch/iocwatch/internal/textenc"
)

// Regular files of JSON lines are read through memory mappings rather than
// read(2): the lines are handed to the pipeline where they lie, with no
// copy from the page cache into a buffer and none from that buffer into the
// batch (docs/profiles/pipeline.md, sixth session). A file is mapped a window at
// a time, so that a long replay keeps only a few windows resident; a batch
// holds lines of one window and keeps it mapped until it is released.
//
// A mapped file that is truncated while it is read makes the next access
// to a page past its new end a memory fault (SIGBUS). Every goroutine that
// reads mapped lines — the source's and the pipeline's workers — turns
// such a fault into a panic (debug.SetPanicOnFault) and, when it lies on
// a page of the input it was reading, the panic into an error wrapping
// ErrInputTruncated: the run stops with that error instead of the process
// crashing. A fault anywhere else is a bug and still crashes. cmd/go reads its mapped module index the same
// way.

// ErrInputTruncated is wrapped by the error of a read, or of a pipeline
// run, that met a memory fault on a mapped input: a file truncated while it
// was read.
var ErrInputTruncated = errors.New("the input file was truncated while it was read")

// defaultMapWindow is the size of one mapping: 16 batches of the default
// size. Lines longer than a window are read with read(2).
const defaultMapWindow = 16 << 20

// mapWindow is one mapping of part of a file.
type mapWindow struct {
	data  []byte
	start int64        // file offset of data[0]
	refs  atomic.Int32 // the source while it reads the window, and each batch holding its lines
}

func (w *mapWindow) end() int64 { return w.start + int64(len(w.data)) }

// liveWindows counts the windows mapped and not yet unmapped (for tests).
var liveWindows atomic.Int64

// release drops one reference and unmaps the window with the last one.
func (w *mapWindow) release() {
	if w.refs.Add(-1) == 0 {
		unmapFile(w.data)
		w.data = nil
		liveWindows.Add(-1)
	}
}

// startMapping switches the current file to mapped reading when it can be
// mapped: a regular, non-empty file of JSON lines that is not followed.
// It reports whether it did; the caller reads with read(2) otherwise.
func (s *FileSource) startMapping(f *os.File, followed bool) bool {
	if s.noMap || followed || !canMap {
		return false
	}
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return false
	}
	head := make([]byte, 4096)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return false
	}
	if textenc.Sniff(head[:n]) != textenc.UTF8 || decompress.Sniff(head[:n]) != decompress.None || LooksLikeAvro(head[:n]) {
		return false // transcoded, decompressed or an Avro capture: the read path
	}
	switch s.opt.Format {
	case "", "auto":
		if LooksLikeCSV(head[:n]) || documentStart(head[:n]) != 0 {
			return false
		}
	case "jsonl":
	default:
		return false
	}
	s.size, s.off = fi.Size(), 0
	s.mapped.Store(true)
	return true
}

// dropMapping gives up the current window, under mapMu.
func (s *FileSource) dropMapping() {
	s.mapMu.Lock()
	defer s.mapMu.Unlock()
	s.stopMapping()
}

// stopMapping gives up the current window; mapMu is held.
func (s *FileSource) stopMapping() {
	if s.win != nil {
		s.win.release()
		s.win = nil
	}
	s.mapped.Store(false)
}

// mapAt makes the window that starts at the page holding off current. It
// reports false when the file cannot be mapped there (a file system
// without mmap, no address space left).
func (s *FileSource) mapAt(off int64) bool {
	start := off &^ int64(os.Getpagesize()-1)
	n := min(int64(s.window), s.size-start)
	data, err := mapFile(s.cur.(*os.File), start, int(n))
	if err != nil {
		return false
	}
	w := &mapWindow{data: data, start: start}
	w.refs.Store(1)
	liveWindows.Add(1)
	if s.win != nil {
		s.win.release()
	}
	s.win = w
	return true
}

// nextLine returns the line at s.off (without its newline) from the current
// window, mapping the next one when needed, and the offset after it. ok is
// false when the line is longer than a window or cannot be mapped.
func (s *FileSource) nextLine() (line []byte, next int64, ok bool) {
	for tries := 0; ; tries++ {
		if s.win == nil || s.off >= s.win.end() || tries > 0 {
			if tries > 0 && s.off&^int64(os.Getpagesize()-1) == s.win.start {
				return nil, 0, false // it starts the window and does not end in it
			}
			if !s.mapAt(s.off) {
				return nil, 0, false
			}
		}
		data := s.win.data[s.off-s.win.start:]
		if n := bytes.IndexByte(data, '\n'); n >= 0 {
			return data[:n], s.off + int64(n) + 1, true
		}
		if s.win.end() == s.size {
			return data, s.size, true // the last line, without a newline
		}
		// The line goes on past the window: map one that starts with it.
	}
}

// fillMapped is fill for a mapped file: it appends lines of one window to
// b, which alias the mapping, until the batch is full or the window
// changes (nil), or the file ends (io.EOF). A line longer than a window,
// or a part of the file that cannot be mapped, switches the file to read(2)
// from that line on.
func (s *FileSource) fillMapped(b *fileBatch) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			var window []byte
			if s.win != nil {
				window = s.win.data
			}
			err = faultError(r, fmt.Sprintf("file source: read %s near byte %d", s.name, s.off), window)
		}
	}()
	for len(b.msgs) < s.opt.BatchLines && b.size < s.opt.BatchBytes {
		if s.off >= s.size {
			return io.EOF
		}
		line, next, ok := s.nextLine()
		if !ok {
			if len(b.msgs) > 0 {
				return nil
			}
			if err := s.readFromHere(); err != nil {
				return err
			}
			return s.fill(b)
		}
		line = bytes.TrimRight(line, "\r\n")
		var tooLong error
		if limit := s.opt.MaxLineBytes; limit > 0 && len(line) > limit {
			tooLong = s.tooLong(len(line), limit)
			line = line[:limit]
		}
		keep := tooLong != nil || len(bytes.TrimSpace(line)) > 0
		if keep && b.win != s.win {
			if b.win != nil {
				return nil // a batch holds the lines of one window
			}
			b.win = s.win
			b.win.refs.Add(1)
		}
		s.off = next
		s.line++
		if keep {
			b.msgs = append(b.msgs, Message{Value: line[:len(line):len(line)], Position: Position{Source: s.name, Partition: -1, Offset: s.line}, Err: tooLong})
			b.size += len(line)
		}
	}
	return nil
}

// readFromHere switches the current file from its mapping to read(2) at
// s.off.
func (s *FileSource) readFromHere() error {
	s.stopMapping()
	if _, err := s.cur.(*os.File).Seek(s.off, io.SeekStart); err != nil {
		return fmt.Errorf("file source: read %s: %w", s.name, err)
	}
	s.counter = countingReader{r: s.cur, n: s.off}
	s.br = bufio.NewReaderSize(&s.counter, 256<<10)
	return nil
}

// faultError turns r, recovered from a panic, into an error wrapping
// ErrInputTruncated when it is a memory fault on one of the pages of
// input, and panics again otherwise: a fault anywhere else is a bug, not a
// truncated file.
func faultError(r any, where string, input ...[]byte) error {
	if f, ok := r.(interface{ Addr() uintptr }); ok && onPages(f.Addr(), input) {
		return fmt.Errorf("%s: %w (memory fault at %#x)", where, ErrInputTruncated, f.Addr())
	}
	panic(r)
}

// onPages reports whether addr lies on a page that holds bytes of one of
// bufs: vector reads fault on the page, not always inside the bytes.
func onPages(addr uintptr, bufs [][]byte) bool {
	page := uintptr(os.Getpagesize())
	for _, b := range bufs {
		if len(b) == 0 {
			continue
		}
		start := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		if addr >= start&^(page-1) && addr < (start+uintptr(len(b))+page-1)&^(page-1) {
			return true
		}
	}
	return false
}
