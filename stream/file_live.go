package stream

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"sync"
)

// liveChunk is how much a liveReader reads at a time.
const liveChunk = 64 << 10

// liveReader reads a live input — stdin, a pipe, a FIFO: anything that is
// not a regular file, whose next line may be minutes away — on a goroutine
// of its own. A batch then need not wait for input that is not there
// (ready says whether a Read would return at once), and a Read returns when
// its context ends or the source closes, instead of blocking in read(2)
// until the writer writes again.
type liveReader struct {
	chunks chan []byte // read, in order; closed after the last, with perr set
	free   chan []byte // consumed chunk buffers, for reuse
	perr   error       // the input's end (io.EOF) or error, set before chunks is closed
	stop   chan struct{}
	once   sync.Once

	cur, buf []byte // the unread part of the current chunk, and its buffer
	ctx      context.Context
}

// newLiveReader starts reading r; ctx ends Reads until the next Read of
// the source sets its own.
func newLiveReader(ctx context.Context, r io.Reader) *liveReader {
	if ctx == nil {
		ctx = context.Background()
	}
	l := &liveReader{chunks: make(chan []byte, 4), free: make(chan []byte, 6), stop: make(chan struct{}), ctx: ctx}
	go l.pump(r)
	return l
}

// pump reads r until its end or the source closes. A goroutine blocked in
// r's read(2) when the source closes stays blocked until the writer
// writes or closes: the process may exit meanwhile.
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
// ends, l.ctx ends (its error) or the source closes (errClosedUnder: not
// the input's end, which a reader above would take a cut stream or line
// for).
func (l *liveReader) Read(p []byte) (int, error) {
	if len(l.cur) == 0 {
		if l.buf != nil {
			select {
			case l.free <- l.buf[:0]:
			default:
			}
			l.buf = nil
		}
		select {
		case c, ok := <-l.chunks:
			if !ok {
				return 0, l.perr
			}
			l.cur, l.buf = c, c
		case <-l.ctx.Done():
			return 0, l.ctx.Err()
		case <-l.stop:
			return 0, errClosedUnder
		}
	}
	n := copy(p, l.cur)
	l.cur = l.cur[n:]
	return n, nil
}

// ready reports whether a Read would return data at once.
func (l *liveReader) ready() bool { return len(l.cur) > 0 || len(l.chunks) > 0 }

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

// lineBuffered reports whether br holds a whole line, without reading.
func lineBuffered(br *bufio.Reader) bool {
	head, _ := br.Peek(br.Buffered())
	return bytes.IndexByte(head, '\n') >= 0
}

// peekLine returns up to n next bytes of br without reading them, waiting
// for no more than the line its format is known from (see formatLine; or
// the input's end): a live input may hold one line for a long time.
func peekLine(br *bufio.Reader, n int) []byte {
	for {
		head, _ := br.Peek(min(n, br.Buffered())) // what is there, without reading
		if len(head) >= n || formatLine(head) {
			return head
		}
		if more, err := br.Peek(len(head) + 1); err != nil { // waits for input
			return more
		}
	}
}

// formatLine reports whether head holds, whole, the line an input's
// format is known from: its first line that is not blank or, after the
// #TYPE line Windows PowerShell's Export-Csv writes first, the first one
// after that, the CSV header (see LooksLikeCSV). A #TYPE line alone says
// nothing: judged without the header after it, an export piped in line by
// line would be read as JSON lines.
func formatLine(head []byte) bool {
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
