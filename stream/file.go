package stream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/iocwatch/iocwatch/internal/decompress"
	"github.com/iocwatch/iocwatch/internal/textenc"
)

// FileOptions configure a FileSource. The zero value reads standard input as
// JSON lines, 1024 lines a batch.
type FileOptions struct {
	// Paths are read one after the other; "-" (or no path at all) is stdin.
	Paths []string
	// Format is "auto" (default: CSV when the first line looks like an
	// Advanced Hunting CSV header, else JSON lines), "jsonl" or "csv".
	Format string
	// BatchLines is the number of lines (messages) per batch; default 1024.
	BatchLines int
	// BatchBytes caps the bytes per batch; default 1 MiB (a longer line is
	// still read whole, alone in its batch).
	BatchBytes int
	// MaxLineBytes bounds the memory one line (or CSV row) may take: of a
	// longer line only the first MaxLineBytes bytes are kept, the rest is
	// read and dropped, and the line becomes a Message whose Err wraps
	// ErrMessageTooLarge (the pipeline dead-letters it and counts it in
	// Stats.Oversized). 0 means 1 MiB (the pipeline's default
	// MaxMessageBytes); < 0 means no limit.
	MaxLineBytes int
	// Follow keeps reading the last file as it grows instead of returning
	// io.EOF at its end, like tail -F: a rotated file (its path names a new
	// one) is read to its end, then the new one from its start; a file
	// truncated below what was read is read again from its start.
	Follow bool
	// PollInterval is how often Follow looks for new data; default 250ms.
	PollInterval time.Duration
	// Stdin replaces os.Stdin (for tests).
	Stdin io.Reader
	// Names, when it holds a path, gives that file the name its
	// messages' positions carry instead of the path (replay --sample
	// reads the shipped sample from a temporary copy that is gone when
	// a dead letter is read).
	Names map[string]string
}

// FileSource reads JSON lines (an Event Hubs body, a bare record or a
// {"body":…} wrapper per line, LF or CRLF) or an Advanced Hunting CSV
// export from files or stdin. Messages are positioned by file and line.
// It is not safe for concurrent use (the pipeline reads from one goroutine).
type FileSource struct {
	opt   FileOptions
	paths []string
	next  int

	cur     io.ReadCloser
	name    string
	br      *bufio.Reader
	csv     *CSVReader
	line    int64
	pending []byte // a line longer than the read buffer, or (follow mode) without its newline yet
	dropped int64  // bytes of the current line not kept in pending (over MaxLineBytes)

	// A regular file of JSON lines is read in blocks (file_block.go):
	// inBlocks is set, off is the offset of the next line in the file of
	// size bytes, and blk the current block. inBlocks is atomic: Close may
	// clear it while a Read looks.
	inBlocks  atomic.Bool
	size, off int64
	blk       *block
	blockSize int       // bytes per block; defaultBlockSize
	noBlocks  bool      // read(2) only (tests)
	blocks    sync.Pool // the buffers of released blocks
	// blockMu is held while a block is read or given up, so that Close
	// never releases a block under a Read. Never taken with mu held.
	blockMu sync.Mutex

	// For Progress: the bytes of the files done, what the current file's
	// read(2) path has read, the total size (0: not known), and the
	// figure Progress reports, set after every Read.
	doneBytes int64
	counter   countingReader
	total     int64
	progress  atomic.Int64

	// failed is the read error that ended the input (met after some lines
	// of a batch, the batch was delivered first): every later Read
	// returns it.
	failed error

	// unpack decompresses the current file when it is gzip or zstd;
	// capture reads it when it is an Event Hubs Capture (Avro) file.
	unpack  io.Closer
	capture *CaptureReader
	// doc reads it when it is a pretty-printed JSON document.
	doc *documentReader
	// live reads the current input when it is live (stdin, a pipe, a
	// FIFO): a batch is then delivered as soon as no more input is
	// waiting (file_live.go). Set under mu.
	live *liveReader
	// fills frames and reads the live input on a goroutine of its own
	// while it runs (file_live.go); unframed says that the live input
	// was opened and its format is still to be read.
	fills    *liveFill
	unframed bool
	// fifo reads the current input when it is a FIFO opened before its
	// writer came (file_fifo_linux.go): live, followed or not; followed,
	// it is opened again for the next writer once its writer has gone.
	fifo fifoReader
	// reopening is called (tests) each time a followed FIFO found at its
	// end (its writer gone) is about to be opened again.
	reopening func()

	pool sync.Pool

	// beforeFill and afterFill are called by Read before and after it
	// fills a batch (tests).
	beforeFill, afterFill func()

	mu     sync.Mutex
	closed bool
}

// NewFileSource checks that every path can be opened and returns the source.
func NewFileSource(opt FileOptions) (*FileSource, error) {
	switch opt.Format {
	case "", "auto", "jsonl", "csv", "avro":
	default:
		return nil, fmt.Errorf("file source: unknown format %q (want auto, jsonl, csv or avro)", opt.Format)
	}
	if opt.BatchLines <= 0 {
		opt.BatchLines = 1024
	}
	if opt.BatchBytes <= 0 {
		opt.BatchBytes = 1 << 20
	}
	if opt.MaxLineBytes == 0 {
		opt.MaxLineBytes = 1 << 20
	}
	if opt.PollInterval <= 0 {
		opt.PollInterval = 250 * time.Millisecond
	}
	paths, err := ExpandPaths(opt.Paths)
	if err != nil {
		return nil, err
	}
	if len(paths) == 0 {
		paths = []string{"-"}
	}
	var total int64
	known := !opt.Follow
	for _, p := range paths {
		if p == "-" {
			known = false
			continue
		}
		fi, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("file source: %w", err)
		}
		if fi.IsDir() {
			return nil, fmt.Errorf("file source: %s is a directory", p)
		}
		known = known && fi.Mode().IsRegular()
		total += fi.Size()
	}
	if !known {
		total = 0
	}
	s := &FileSource{opt: opt, paths: paths, blockSize: defaultBlockSize, total: total}
	s.pool.New = func() any { return &fileBatch{} }
	return s, nil
}

type fileBatch struct {
	buf   []byte
	ends  []int
	lines []int64 // line of each message
	errs  []error // framing error of each message (malformed CSV rows, damage)
	msgs  []Message
	// A batch of a file read in blocks holds its messages in msgs,
	// aliasing blk (buf, ends, lines and errs unused), and their bytes in
	// size.
	blk  *block
	size int
}

func (b *fileBatch) empty() bool { return len(b.ends) == 0 && len(b.msgs) == 0 }

// add appends one message: its text, its line (or element) and its framing
// error, if any.
func (b *fileBatch) add(text []byte, line int64, err error) {
	b.buf = append(b.buf, text...)
	b.ends = append(b.ends, len(b.buf))
	b.lines = append(b.lines, line)
	b.errs = append(b.errs, err)
}

// put returns b to the pool, releasing its block.
func (s *FileSource) put(b *fileBatch) {
	if b.blk != nil {
		b.blk.release()
		b.blk = nil
	}
	s.pool.Put(b)
}

func (s *FileSource) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// setCurrent makes f the current input, under mu so that Close can close
// it from another goroutine; false (f closed) when the source is closed.
func (s *FileSource) setCurrent(f io.ReadCloser, name string, live *liveReader) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		f.Close()
		if live != nil {
			live.close()
		}
		return false
	}
	s.cur, s.name, s.live = f, name, live
	return true
}

// open moves to the next file; io.EOF when there is none.
func (s *FileSource) open() error { return s.openWith(nil, nil) }

// openWith is open; again, when set, is the next file already open: a
// followed FIFO opened again, read through fifo.
func (s *FileSource) openWith(again *os.File, fifo fifoReader) error {
	if s.next >= len(s.paths) {
		return io.EOF
	}
	p := s.paths[s.next]
	s.next++
	s.line = 0
	s.csv = nil
	s.pending = s.pending[:0]
	s.dropped = 0
	s.fifo = nil
	var in io.Reader
	if p == "-" {
		in = s.opt.Stdin
		if in == nil {
			in = os.Stdin
		}
		var live *liveReader
		if isLive(in) {
			live = newLiveReader(in)
			in = live
		}
		if !s.setCurrent(io.NopCloser(in), "stdin", live) {
			return io.EOF
		}
	} else {
		f := again
		if f == nil {
			var err error
			f, fifo, err = openFile(p) // a FIFO: without waiting for its writer
			if err != nil {
				return fmt.Errorf("file source: %w", err)
			}
		}
		name := p
		if n, ok := s.opt.Names[p]; ok {
			name = n
		}
		if !s.setCurrent(f, name, nil) {
			return io.EOF
		}
		if s.startBlocks(f, s.following()) {
			return nil
		}
		in = f
		if fifo != nil {
			in, s.fifo = fifo, fifo
		}
		// A FIFO (followed or not, when opened without waiting for its
		// writer); with Follow, any other input that is not a regular
		// file is polled.
		if (!s.opt.Follow || fifo != nil) && isLive(f) {
			s.mu.Lock()
			s.live = newLiveReader(in)
			in = s.live
			s.mu.Unlock()
		}
	}
	s.counter = countingReader{r: in}
	s.br = bufio.NewReaderSize(&s.counter, 256<<10)
	if s.live != nil {
		// Framed by liveFill, whose reads a Read's context does not end.
		s.unframed = true
		return nil
	}
	return s.frame()
}

// frame sets up how the current file, read through s.br, becomes
// messages, peeling what its first bytes reveal in this order: gzip or
// zstd compression; an Event Hubs Capture (Avro) file; UTF-16 text; then,
// with the format auto, a pretty-printed JSON document, a CSV export or
// JSON lines. A followed file must be plain JSON lines or CSV.
func (s *FileSource) frame() error {
	// An archived export is read decompressed; progress still counts the
	// compressed bytes, out of the file's size.
	if c := decompress.Sniff(s.peek(decompress.MagicSize)); c != decompress.None {
		if s.following() {
			return fmt.Errorf("file source: %s is %s-compressed: a compressed file cannot be followed", s.name, c)
		}
		zr, err := decompress.NewReader(s.br, c)
		if err != nil {
			return fmt.Errorf("file source: %s: %w", s.name, err)
		}
		s.unpack = zr
		s.br = bufio.NewReaderSize(zr, 256<<10)
	}
	format := s.opt.Format
	auto := format == "" || format == "auto"
	if format == "avro" || auto && LooksLikeAvro(s.peek(len(avroMagic))) {
		if s.following() {
			return fmt.Errorf("file source: %s is an Event Hubs Capture (Avro) file: it cannot be followed", s.name)
		}
		c, err := NewCaptureReader(s.br, s.name)
		if err != nil {
			return fmt.Errorf("file source: %w", err)
		}
		s.capture = c
		return nil
	}
	// UTF-16 (an export saved by Windows PowerShell's `>` or Out-File) is
	// read as UTF-8, line for line.
	if enc := textenc.Sniff(s.peek(textenc.SniffSize)); enc != textenc.UTF8 {
		if s.following() {
			// The transcoder stops at the first end of file.
			return fmt.Errorf("file source: %s is %s: a UTF-16 file cannot be followed; write it as UTF-8", s.name, enc)
		}
		s.br = bufio.NewReaderSize(textenc.NewReader(s.br, enc), 256<<10)
	}
	if auto {
		head := s.peek(4096)
		format = "jsonl"
		if start := documentStart(head); start != 0 {
			if s.following() {
				return fmt.Errorf("file source: %s is a pretty-printed JSON document: it cannot be followed; write JSON lines", s.name)
			}
			s.doc = newDocumentReader(s.br, s.name, start)
			return nil
		}
		if LooksLikeCSV(head) {
			format = "csv"
		}
	}
	if format == "csv" {
		c, err := NewCSVReader(s.br, s.name)
		if err != nil {
			return err
		}
		s.csv = c
		s.line = int64(c.lastLine()) // a damage before the first row is on the line after the header
	}
	return nil
}

func (s *FileSource) closeCurrent() {
	s.stopLiveFill()
	s.unframed = false
	s.fifo = nil
	if s.cur != nil {
		s.doneBytes += s.offset()
	}
	s.counter, s.off = countingReader{}, 0
	s.dropBlocks()
	s.mu.Lock()
	cur, live := s.cur, s.live
	s.cur, s.live = nil, nil
	s.mu.Unlock()
	if live != nil {
		live.close()
	}
	if s.capture != nil {
		s.capture.Close()
		s.capture = nil
	}
	s.doc = nil
	if s.unpack != nil {
		s.unpack.Close()
		s.unpack = nil
	}
	if cur != nil {
		cur.Close()
		s.br, s.csv = nil, nil
	}
}

// Read returns the next batch of lines, io.EOF after the last file (never
// with Follow), or ctx.Err(). A Read of a live input that ends with ctx
// takes nothing from the input: a line or row it was part way through is
// the next Read's, whole (file_live.go).
func (s *FileSource) Read(ctx context.Context) (Batch, error) {
	b, err := s.read(ctx)
	if err != nil && !errors.Is(err, io.EOF) && ctx.Err() == nil {
		s.failed = err // a broken input stays broken
	}
	// After a Close the current file's offset is gone: progress only
	// ever moves forward.
	if p := s.doneBytes + s.offset(); p > s.progress.Load() {
		s.progress.Store(p)
	}
	return b, err
}

// Progress reports how many bytes of the input have been read and the
// total size of the files (0 when it is not known: stdin, a pipe, a
// followed file). Safe to call from any goroutine; it moves after each
// Read.
func (s *FileSource) Progress() (read, total int64) {
	return s.progress.Load(), s.total
}

// fifoReader reads a FIFO opened before its writer came (openFile, in
// file_fifo_linux.go): Read waits for the writer, if it has not come,
// until the FIFO is closed. again opens the FIFO anew for its next writer
// once the input's writer has gone: nil, nil, nil when its path names no
// FIFO now, or no writer can open it (an anonymous pipe).
type fifoReader interface {
	io.Reader
	again() (*os.File, fifoReader, error)
}

// offset is how far the current file has been read.
func (s *FileSource) offset() int64 {
	if s.inBlocks.Load() {
		return s.off
	}
	if s.fills != nil {
		return s.fills.read // the goroutine reading it counts on
	}
	return s.counter.n
}

// countingReader counts the bytes read through it, and notes a read that
// failed because Close closed the input under it.
type countingReader struct {
	r io.Reader
	n int64
	// closed is set by a read that failed because the source was closed
	// under it (Close closed the file, or stopped the live input): what
	// the readers above make of that failure (a damaged or cut compressed
	// stream, a line or row cut where the Close fell) is not the input's.
	closed bool
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	if err != nil && (errors.Is(err, os.ErrClosed) || errors.Is(err, errClosedUnder)) {
		c.closed = true
	}
	return n, err
}

// errClosedUnder is what a live input gives a Read once the source is
// closed.
var errClosedUnder = errors.New("the source was closed")

func (s *FileSource) read(ctx context.Context) (Batch, error) {
	if err := s.failed; err != nil {
		return Batch{}, err
	}
	b := s.batch()
	for {
		if err := ctx.Err(); err != nil {
			s.put(b)
			return Batch{}, err
		}
		if s.isClosed() {
			s.put(b)
			return Batch{}, io.EOF
		}
		// (While liveFill runs, the input is open and br is liveFill's.)
		if s.fills == nil && s.br == nil && !s.inBlocks.Load() {
			if err := s.open(); err != nil {
				if s.counter.closed {
					err = io.EOF // closed while the input's format was read
				}
				if !b.empty() && errors.Is(err, io.EOF) {
					break
				}
				s.put(b)
				return Batch{}, err
			}
		}
		if s.beforeFill != nil {
			s.beforeFill()
		}
		// Which path to take is read under blockMu, after a look at
		// closed: Close gives the blocks up under it, only after
		// marking the source closed.
		var err error
		s.blockMu.Lock()
		if s.isClosed() {
			s.blockMu.Unlock()
			s.put(b)
			return Batch{}, io.EOF
		}
		if s.inBlocks.Load() {
			err = s.fillBlocks(b)
			s.blockMu.Unlock()
		} else {
			s.blockMu.Unlock()
			if s.live != nil {
				b, err = s.fillLive(ctx, b)
			} else {
				err = s.fill(b)
			}
		}
		if s.afterFill != nil {
			s.afterFill()
		}
		if err == nil || errors.Is(err, errIdle) {
			break // batch full, or no more live input waiting
		}
		if s.fills != nil {
			// ctx ended while the live input said nothing: what was
			// read of it stays with liveFill, for the next Read.
			s.put(b)
			return Batch{}, err
		}
		if s.counter.closed {
			// Closed under this Read: the input failed because Close
			// closed it under the reader — a file closed under a
			// decompressor reads as a damaged stream, a live input
			// stopped in the middle of a compressed stream as one cut
			// short — and the line or row in hand is cut where the Close
			// fell. None of it is the input's: the lines read whole are
			// delivered, with no damage, and the Read ends, or the next
			// one does, as every Read after Close. What the Read found
			// before the Close (its input's end, a damage, a read error)
			// is not this: it is reported as without the Close.
			if !b.empty() {
				break
			}
			s.put(b)
			if err := ctx.Err(); err != nil {
				return Batch{}, err
			}
			return Batch{}, io.EOF
		}
		if !errors.Is(err, io.EOF) {
			if !s.inBlocks.Load() && s.live == nil && !s.following() && ctx.Err() == nil && !errors.Is(err, ErrInputTruncated) {
				// A file damaged part way (an archive cut short, a
				// document broken by hand): what was read of it stands,
				// the damage becomes one message carrying the error (so
				// it is counted and dead-lettered), and the next file is
				// read.
				b.add(nil, s.line+1, fmt.Errorf("%w; the rest of the file is not read", err))
				s.closeCurrent()
				break
			}
			if !b.empty() {
				// Deliver what was read before the damage (or, read in
				// blocks, before the file was found truncated); the next
				// Read reports it.
				s.failed = err
				break
			}
			s.put(b)
			return Batch{}, err
		}
		// End of the current file.
		if s.following() {
			if !b.empty() {
				break
			}
			if s.fifo != nil {
				// A FIFO whose writer has gone: it is opened again for
				// the next writer (this reader only ever reads its end
				// again), before this one is closed, so that it is never
				// without a reader — a writer that came meanwhile would
				// have its writes fail (EPIPE).
				if s.reopening != nil {
					s.reopening()
				}
				f, fifo, err := s.fifo.again()
				if err != nil {
					s.put(b)
					return Batch{}, fmt.Errorf("file source: a followed FIFO, opened again for its next writer: %w", err)
				}
				if f != nil {
					s.flushPending(b) // the last line, without its newline
					s.closeCurrent()
					s.next--
					if err := s.openWith(f, fifo); err != nil {
						if !b.empty() && errors.Is(err, io.EOF) {
							break
						}
						s.put(b)
						return Batch{}, err
					}
					if !b.empty() {
						break
					}
					continue
				}
			}
			if s.rotated() {
				// Rotated (renamed away, a new file in its place) or
				// truncated (copytruncate): what was read of it is done;
				// its last line, if it had no newline yet, is delivered as
				// it is, and the path is read again from its start.
				s.flushPending(b)
				s.closeCurrent()
				s.next--
				if !b.empty() {
					break
				}
				continue
			}
			select {
			case <-ctx.Done():
				s.put(b)
				return Batch{}, ctx.Err()
			case <-time.After(s.opt.PollInterval):
			}
			continue
		}
		s.closeCurrent()
		if !b.empty() {
			break
		}
	}
	start := 0
	for i, end := range b.ends {
		b.msgs = append(b.msgs, Message{Value: b.buf[start:end:end], Position: Position{Source: s.name, Partition: -1, Offset: b.lines[i]}, Err: b.errs[i]})
		start = end
	}
	return Batch{Messages: b.msgs, Release: func() { s.put(b) }}, nil
}

// errIdle is liveFill's word that a live input has no more input
// waiting: the batch holds the messages read whole so far.
var errIdle = errors.New("no live input waiting")

// batch returns an empty batch.
func (s *FileSource) batch() *fileBatch {
	b := s.pool.Get().(*fileBatch)
	b.buf, b.ends, b.lines, b.errs, b.msgs, b.size = b.buf[:0], b.ends[:0], b.lines[:0], b.errs[:0], b.msgs[:0], 0
	return b
}

// fill appends lines to b until the batch is full (nil) or the file ends
// (io.EOF). Empty lines are skipped. A live input is filled by liveFill,
// which hands the messages read whole over whenever the input has no
// more waiting.
func (s *FileSource) fill(b *fileBatch) error {
	for len(b.ends) < s.opt.BatchLines && len(b.buf) < s.opt.BatchBytes {
		if s.capture != nil || s.doc != nil {
			var (
				body []byte
				n    int
				err  error
			)
			if s.capture != nil {
				body, n, err = s.capture.Next()
			} else {
				body, n, err = s.doc.Next()
			}
			if err != nil && s.counter.closed {
				return err // the input closed under the reader: not a broken element
			}
			// An array element whose JSON is broken is a message carrying
			// its error, counted and dead-lettered; reading goes on at the
			// next element.
			var broken *brokenElement
			if errors.As(err, &broken) {
				err = nil
			}
			if err != nil {
				return err // io.EOF, or a damaged file: nothing after it can be read
			}
			s.line = int64(n)
			var msgErr error
			if limit := s.opt.MaxLineBytes; limit > 0 && len(body) > limit {
				msgErr = s.tooLong(len(body), limit)
				body = body[:limit]
			}
			if broken != nil {
				msgErr = broken.err
			}
			if msgErr != nil || len(bytes.TrimSpace(body)) > 0 {
				b.add(body, int64(n), msgErr)
			}
			continue
		}
		if s.csv != nil {
			rec, line, err := s.csv.Next()
			if err != nil {
				if errors.Is(err, io.EOF) {
					return io.EOF
				}
				var re *csvRowError
				if !errors.As(err, &re) || s.counter.closed {
					// The input failed (a compressed export cut short, a
					// read error, the input closed under the reader, whose
					// row in hand is not a malformed one): no row after
					// it can be read, and asking again gives the same
					// error.
					return err
				}
				// A malformed row: pass it on as a message carrying its
				// error (without the file and line: its position has them)
				// and what is known of its text, so it is counted and
				// dead-lettered, and go on.
				s.line = int64(s.csv.lastLine())
				b.add([]byte(re.text), int64(line), re.err)
				continue
			}
			s.line = int64(s.csv.lastLine())
			var tooLong error
			if limit := s.opt.MaxLineBytes; limit > 0 && len(rec) > limit {
				tooLong = s.tooLong(len(rec), limit)
				rec = rec[:limit]
			}
			b.add(rec, int64(line), tooLong)
			continue
		}
		chunk, err := s.br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			s.keep(chunk)
			continue
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("file source: read %s: %w", s.name, err)
		}
		complete := err == nil
		nl := len(chunk) - len(bytes.TrimRight(chunk, "\r\n")) // line end, maybe dropped below
		if len(s.pending) > 0 || s.dropped > 0 {
			s.keep(chunk)
			chunk = s.pending
		}
		if !complete {
			if len(chunk) == 0 && s.dropped == 0 {
				return io.EOF
			}
			if s.following() {
				// Keep the partial line until its newline arrives.
				if len(s.pending) == 0 && s.dropped == 0 {
					s.keep(chunk)
				}
				return io.EOF
			}
		}
		s.line++
		line := bytes.TrimRight(chunk, "\r\n")
		var tooLong error
		if n := len(line) + int(s.dropped-min(s.dropped, int64(nl))); s.opt.MaxLineBytes > 0 && n > s.opt.MaxLineBytes {
			tooLong = s.tooLong(n, s.opt.MaxLineBytes)
			line = line[:min(len(line), s.opt.MaxLineBytes)]
		}
		if tooLong != nil || len(bytes.TrimSpace(line)) > 0 {
			b.add(line, s.line, tooLong)
		}
		s.pending, s.dropped = s.pending[:0], 0
		if cap(s.pending) > 4<<20 {
			s.pending = nil // do not keep one huge line's buffer
		}
		if !complete {
			return io.EOF
		}
	}
	return nil
}

// rotated reports whether the followed file, read to its end, was
// rotated — its path now names another file — or, a regular file,
// truncated below what was read. A path that names nothing (moved away,
// not yet created again) is not a rotation yet: the open file is followed
// until a new one appears, as tail -F does.
func (s *FileSource) rotated() bool {
	f, ok := s.cur.(*os.File)
	if !ok || s.next == 0 {
		return false
	}
	cur, err := f.Stat()
	if err != nil {
		return false
	}
	if cur.Mode().IsRegular() && cur.Size() < s.counter.n { // a pipe's size says nothing
		return true
	}
	now, err := os.Stat(s.paths[s.next-1])
	return err == nil && !os.SameFile(cur, now)
}

// flushPending delivers the kept part of a line whose newline never came
// as a message of b.
func (s *FileSource) flushPending(b *fileBatch) {
	if len(s.pending) == 0 && s.dropped == 0 {
		return
	}
	s.line++
	line := bytes.TrimRight(s.pending, "\r\n")
	var tooLong error
	if n := int64(len(line)) + s.dropped; s.opt.MaxLineBytes > 0 && n > int64(s.opt.MaxLineBytes) {
		tooLong = s.tooLong(int(n), s.opt.MaxLineBytes)
	}
	if tooLong != nil || len(bytes.TrimSpace(line)) > 0 {
		b.add(line, s.line, tooLong)
	}
	s.pending, s.dropped = s.pending[:0], 0
}

// keep adds chunk to the current line, keeping at most MaxLineBytes bytes
// and counting the rest in s.dropped.
func (s *FileSource) keep(chunk []byte) {
	if limit := s.opt.MaxLineBytes; limit > 0 && len(s.pending)+len(chunk) > limit {
		n := max(0, limit-len(s.pending))
		s.dropped += int64(len(chunk) - n)
		chunk = chunk[:n]
	}
	s.pending = append(s.pending, chunk...)
}

// tooLong is the framing error of a line of n bytes, over limit.
func (s *FileSource) tooLong(n, limit int) error {
	return fmt.Errorf("%w: a line of %d bytes, more than %d (only the first %d are kept)", ErrMessageTooLarge, n, limit, limit)
}

// Close stops the source and closes the open file. Safe to call twice.
func (s *FileSource) Close(context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.dropBlocks() // batches still out keep their blocks until released
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.live != nil {
		s.live.close() // a Read waiting for live input returns
	}
	if s.cur != nil {
		return s.cur.Close()
	}
	return nil
}

// peekHead returns up to n next bytes of br without reading them.
func peekHead(br *bufio.Reader, n int) []byte {
	head, _ := br.Peek(n)
	return head
}

// peek returns up to n next bytes of the current input without reading
// them; of a live input, no more than its first line.
func (s *FileSource) peek(n int) []byte {
	if s.live != nil {
		return peekLine(s.br, n)
	}
	return peekHead(s.br, n)
}

// following reports whether the current file is the followed one (the
// last, with Follow).
func (s *FileSource) following() bool { return s.opt.Follow && s.next >= len(s.paths) }

// ExpandPaths returns the files paths name, in order: a glob pattern
// ("capture/*/2026/11/27/*/*/*.avro") its matches, sorted; a directory every
// regular file below it, sorted by path (Event Hubs Capture's layout is
// then in time order per partition), hidden files and folders (".name")
// left out; "-" (stdin) and anything else as it is. A pattern that
// matches nothing, or a directory without files, is an error naming it;
// a path that does not exist is left for the source to report.
func ExpandPaths(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		if p == "-" {
			out = append(out, p)
			continue
		}
		matches := []string{p}
		if strings.ContainsAny(p, "*?[") {
			var err error
			if matches, err = filepath.Glob(p); err != nil {
				return nil, fmt.Errorf("file source: pattern %q: %w", p, err)
			}
			if len(matches) == 0 {
				return nil, fmt.Errorf("file source: no file matches %q", p)
			}
		}
		for _, m := range matches {
			fi, err := os.Stat(m)
			if err != nil || !fi.IsDir() {
				out = append(out, m) // NewFileSource reports what is missing
				continue
			}
			n := len(out)
			err = filepath.WalkDir(m, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if path != m && strings.HasPrefix(d.Name(), ".") {
					if d.IsDir() {
						return filepath.SkipDir
					}
					return nil
				}
				if d.Type().IsRegular() {
					out = append(out, path)
				}
				return nil
			})
			if err != nil {
				return nil, fmt.Errorf("file source: %w", err)
			}
			if len(out) == n {
				return nil, fmt.Errorf("file source: %s: a directory without files", m)
			}
		}
	}
	return out, nil
}
