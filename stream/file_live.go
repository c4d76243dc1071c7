package stream

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// liveChunk is how much a liveReader reads at a time.
const liveChunk = 64 << 10

// liveReader reads a live input — stdin, a pipe, a FIFO: anything that is
// not a regular file, whose next line may be minutes away — on a goroutine
// of its own (pump). It is read by one goroutine, the source's liveFill
// (below), through the readers that frame the input (a decompressor, a
// transcoder, a CSV reader, a document reader): a Read blocks until input
// arrives, the input ends or the source closes (errClosedUnder), and never
// ends for a context — those readers cannot go on after an error, and the
// part of a line or row they hold would be lost. Before it blocks, a Read
// calls idle, so that the messages read whole are delivered at once.
type liveReader struct {
	chunks chan []byte // read, in order; closed after the last, with perr set
	free   chan []byte // consumed chunk buffers, for reuse
	perr   error       // the input's end (io.EOF) or error, set before chunks is closed
	stop   chan struct{}
	once   sync.Once

	cur, buf []byte // the unread part of the current chunk, and its buffer
	// idle, when set, is called by Read (on the reading goroutine) before
	// it waits for input.
	idle func()
}

// newLiveReader starts reading r.
func newLiveReader(r io.Reader) *liveReader {
	l := &liveReader{chunks: make(chan []byte, 4), free: make(chan []byte, 6), stop: make(chan struct{})}
	go l.pump(r)
	return l
}

// pump reads r until its end or the source closes. A goroutine blocked in
// a read(2) of stdin when the source closes stays blocked until the writer
// writes or closes: the process may exit meanwhile. (A named pipe opened
// through Go's poller, as on Linux, is freed by the source's Close.)
func (l *liveReader) pump(r io.Reader) {
	for {
		var buf []byte
		select {
		case buf = <-l.free:
		default:
			buf = make([]byte, liveChunk)
		}
		n, err := r.Read(buf[:cap(buf)])
		if n > 0 {
			select {
			case l.chunks <- buf[:n]:
			case <-l.stop:
				return
			}
		}
		if err != nil {
			l.perr = err
			close(l.chunks)
			return
		}
	}
}

// Read implements io.Reader. It blocks until input arrives, the input
// ends or the source closes (errClosedUnder: not the input's end, which a
// reader above would take a cut stream or line for).
func (l *liveReader) Read(p []byte) (int, error) {
	if len(l.cur) == 0 {
		if l.buf != nil {
			select {
			case l.free <- l.buf[:0]:
			default:
			}
			l.buf = nil
		}
		var (
			c    []byte
			more bool
		)
		select {
		case c, more = <-l.chunks:
		case <-l.stop:
			return 0, errClosedUnder
		default:
			if l.idle != nil {
				l.idle()
			}
			select {
			case c, more = <-l.chunks:
			case <-l.stop:
				return 0, errClosedUnder
			}
		}
		if !more {
			return 0, l.perr
		}
		l.cur, l.buf = c, c
	}
	n := copy(p, l.cur)
	l.cur = l.cur[n:]
	return n, nil
}

// close stops the pump (at its next chunk) and every Read waiting.
func (l *liveReader) close() { l.once.Do(func() { close(l.stop) }) }

// isLive reports whether r is a live input: anything but a regular file
// (stdin redirected from a file is not live; a pipe, a FIFO, a terminal
// or a reader that is not a file are).
func isLive(r io.Reader) bool {
	f, ok := r.(*os.File)
	if !ok {
		return true
	}
	fi, err := f.Stat()
	return err != nil || !fi.Mode().IsRegular()
}

// peekLine returns up to n next bytes of br without reading them, waiting
// for no more than the line its format is known from (see formatLine; or
// the input's end): a live input may hold one line for a long time.
func peekLine(br *bufio.Reader, n int) []byte { return peekUntil(br, n, formatLine) }

// peekUntil returns up to n next bytes of br without reading them, fewer
// when enough holds for those already there, or when the input ends or
// fails: it waits for input only while enough does not hold.
func peekUntil(br *bufio.Reader, n int, enough func(head []byte) bool) []byte {
	for {
		head, _ := br.Peek(min(n, br.Buffered())) // what is there, without reading
		if len(head) >= n || enough(head) {
			return head
		}
		if more, err := br.Peek(len(head) + 1); err != nil { // waits for input
			return more
		}
	}
}

// formatLine reports whether head holds, whole, the line an input's
// format is known from: after a byte order mark, its first line that is
// not blank or, after the #TYPE line Windows PowerShell's Export-Csv
// writes first, the first one after that that is not blank, the CSV
// header (see LooksLikeCSV). A #TYPE line, a mark or a blank line alone
// says nothing: judged without the header after it, an export piped in
// line by line would be read as JSON lines.
func formatLine(head []byte) bool {
	head = bytes.TrimPrefix(head, []byte("\xef\xbb\xbf"))
	j := bytes.IndexFunc(head, notBlank)
	if j < 0 {
		return false
	}
	k := bytes.IndexByte(head[j:], '\n')
	if k < 0 {
		return false
	}
	if !typeLine(head) {
		return true
	}
	rest := head[j+k+1:]
	j = bytes.IndexFunc(rest, notBlank)
	return j >= 0 && bytes.IndexByte(rest[j:], '\n') >= 0
}

func notBlank(r rune) bool { return r != ' ' && r != '\t' && r != '\r' && r != '\n' }

// liveFill frames and reads a live input on a goroutine of its own, so
// that a Read can end with its context while the input says nothing
// without ending a read under the readers that frame the input: what they
// hold of a line, a CSV row, a compressed stream or an array element stays
// theirs, and the next Read goes on where the input is, with no byte lost
// or read twice. Each batch it fills is handed to the Read waiting
// (results): full (err nil); with the messages read whole so far when no
// more input is waiting (errIdle), so that a live input's messages are
// delivered at once; or at the input's end or failure, its last (then the
// goroutine ends).
type liveFill struct {
	results chan liveResult
	exited  chan struct{} // closed when the goroutine ends
	stop    chan struct{} // the liveReader's: the source is closed
	b       *fileBatch    // the batch being filled (the goroutine's)
	read    int64         // the input's bytes read, as of the last result (the Read's)
}

// liveResult is a batch liveFill hands over.
type liveResult struct {
	b   *fileBatch // nil when the input's format could not be read (err)
	err error
	n   int64 // the input's bytes read by then
}

// startLiveFill starts reading the current live input on a goroutine of
// its own, framing it first (frame) when it was just opened.
func (s *FileSource) startLiveFill(frame bool) *liveFill {
	p := &liveFill{results: make(chan liveResult), exited: make(chan struct{}), stop: s.live.stop, read: s.counter.n}
	s.live.idle = func() { s.handIdle(p) }
	s.fills = p
	go s.runLiveFill(p, frame)
	return p
}

// runLiveFill is liveFill's goroutine. Until it hands over its last
// batch, it alone uses the current input's readers and the state fill
// keeps (the line number, a line in hand).
func (s *FileSource) runLiveFill(p *liveFill, frame bool) {
	defer close(p.exited)
	if frame {
		if err := s.frame(); err != nil {
			p.send(liveResult{err: err, n: s.counter.n})
			return
		}
	}
	for {
		b := s.batch()
		p.b = b
		err := s.fill(b)
		p.b = nil
		if !p.send(liveResult{b: b, err: err, n: s.counter.n}) {
			s.put(b)
			return
		}
		if err != nil {
			return
		}
	}
}

// handIdle is the live input's idle hook, called by liveFill's goroutine
// when the input has nothing more waiting: the messages read whole so far
// are handed over at once, in a batch of their own (the one being filled
// goes on empty).
func (s *FileSource) handIdle(p *liveFill) {
	b := p.b
	if b == nil || b.empty() {
		return
	}
	out := s.batch()
	out.buf, b.buf = b.buf, out.buf
	out.ends, b.ends = b.ends, out.ends
	out.lines, b.lines = b.lines, out.lines
	out.errs, b.errs = b.errs, out.errs
	if !p.send(liveResult{b: out, err: errIdle, n: s.counter.n}) {
		s.put(out)
	}
}

// send hands r over to a Read; false when the source was closed first.
// A Read waiting has it even when the source was closed meanwhile.
func (p *liveFill) send(r liveResult) bool {
	select {
	case p.results <- r:
		return true
	default:
	}
	select {
	case p.results <- r:
		return true
	case <-p.stop:
		return false
	}
}

// fillLive is fill for a live input: it waits, until ctx ends, for the
// next batch liveFill hands over (starting it when it does not run), and
// returns that batch in place of b. When ctx ends first, it returns b and
// ctx.Err(), and liveFill reads on: its next batch is the next Read's.
func (s *FileSource) fillLive(ctx context.Context, b *fileBatch) (*fileBatch, error) {
	p := s.fills
	if p == nil {
		p = s.startLiveFill(s.unframed)
		s.unframed = false
	}
	var r liveResult
	select {
	case r = <-p.results:
	case <-p.exited:
		// It stopped without handing its batch over: the source was
		// closed under it.
		s.fills = nil
		s.counter.closed = true
		return b, fmt.Errorf("file source: read %s: %w", s.name, errClosedUnder)
	case <-ctx.Done():
		select {
		case r = <-p.results:
		default:
			return b, ctx.Err()
		}
	}
	p.read = r.n
	if r.err != nil && !errors.Is(r.err, errIdle) {
		s.fills = nil // its last: the goroutine has ended
		if !errors.Is(r.err, io.EOF) && !s.counter.closed {
			// Nothing after it can be read, whether or not ctx ended
			// meanwhile (Read keeps only errors met with ctx alive): a
			// next Read must not start liveFill again on readers that
			// failed, or on an input whose format was never set up.
			s.failed = r.err
		}
	}
	if r.b == nil {
		return b, r.err
	}
	s.put(b)
	return r.b, r.err
}

// stopLiveFill stops liveFill, if it runs, and waits until it has.
func (s *FileSource) stopLiveFill() {
	if s.fills == nil {
		return
	}
	s.live.close()
	<-s.fills.exited
	s.fills = nil
}
