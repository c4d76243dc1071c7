package stream

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sync"
	"sync/atomic"

	"github.com/iocwatch/iocwatch/internal/decompress"
	"github.com/iocwatch/iocwatch/internal/textenc"
)

// Regular files of JSON lines are read in blocks: a 1 MiB buffer filled by
// one positioned read (pread) at the offset of the next line, whose lines
// become messages where they lie, with no copy from a read buffer into the
// batch (docs/profiles/pipeline.md, "2026-11-29: blocks instead of
// mappings"). A batch holds lines of one block and keeps it until it is
// released; the block's buffer is then reused. A line that goes on past a
// block's end starts the next block, which reads it again from its first
// byte. Memory mappings did the same with no copy at all and were slower:
// a mapped page costs a fault on first touch, where a pread into a buffer
// that stays in the cache costs one copy.
//
// A file is read up to the size it had when it was opened. One that is
// truncated while it is read gives a short read at the next block: the
// read fails with an error wrapping ErrInputTruncated; the lines read
// before stand.

// ErrInputTruncated is wrapped by the error of a read, or of a pipeline
// run, that found its input file shorter than it was when it was opened: a
// file truncated while it was read.
var ErrInputTruncated = errors.New("the input file was truncated while it was read")

// defaultBlockSize is the size of one block: one batch of the default
// size, small enough to stay in a core's cache between the read and the
// decoder. A line longer than a block is read into a buffer of its own.
const defaultBlockSize = 1 << 20

// block is one read of part of a file.
type block struct {
	data  []byte
	start int64        // file offset of data[0]
	refs  atomic.Int32 // the source while it reads the block, and each batch holding its lines
	pool  *sync.Pool   // where data goes back with the last reference
}

func (b *block) end() int64 { return b.start + int64(len(b.data)) }

// liveBlocks counts the blocks read and not yet released (for tests).
var liveBlocks atomic.Int64

// release drops one reference and gives the buffer back with the last one.
func (b *block) release() {
	if b.refs.Add(-1) == 0 {
		data := b.data[:0]
		b.data = nil
		b.pool.Put(&data)
		liveBlocks.Add(-1)
	}
}

// startBlocks switches the current file to reading in blocks when it can
// be: a regular, non-empty file of JSON lines that is not followed. It
// reports whether it did; the caller reads with read(2) otherwise.
func (s *FileSource) startBlocks(f *os.File, followed bool) bool {
	if s.noBlocks || followed {
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
	s.inBlocks.Store(true)
	return true
}

// dropBlocks gives up the current block, under blockMu.
func (s *FileSource) dropBlocks() {
	s.blockMu.Lock()
	defer s.blockMu.Unlock()
	s.stopBlocks()
}

// stopBlocks gives up the current block; blockMu is held.
func (s *FileSource) stopBlocks() {
	if s.blk != nil {
		s.blk.release()
		s.blk = nil
	}
	s.inBlocks.Store(false)
}

// readBlockAt makes the block that starts at off current. A short read — the
// file is shorter than when it was opened — is an error wrapping
// ErrInputTruncated.
func (s *FileSource) readBlockAt(off int64) error {
	data := s.blockBuffer(int(min(int64(s.blockSize), s.size-off)))
	if err := s.readFullAt(data, off); err != nil {
		s.blocks.Put(&data)
		return err
	}
	b := &block{data: data, start: off, pool: &s.blocks}
	b.refs.Store(1)
	liveBlocks.Add(1)
	if s.blk != nil {
		s.blk.release()
	}
	s.blk = b
	return nil
}

// nextLine returns the line at s.off (without its newline) from the current
// block, reading the next one when needed, and the offset after it. ok is
// false when the line is longer than a block.
func (s *FileSource) nextLine() (line []byte, next int64, ok bool, err error) {
	for tries := 0; ; tries++ {
		if s.blk == nil || s.off >= s.blk.end() || tries > 0 {
			if tries > 0 && s.off == s.blk.start {
				return nil, 0, false, nil // it starts the block and does not end in it
			}
			if err := s.readBlockAt(s.off); err != nil {
				return nil, 0, false, err
			}
		}
		data := s.blk.data[s.off-s.blk.start:]
		if n := bytes.IndexByte(data, '\n'); n >= 0 {
			return data[:n], s.off + int64(n) + 1, true, nil
		}
		if s.blk.end() == s.size {
			return data, s.size, true, nil // the last line, without a newline
		}
		// The line goes on past the block: read one that starts with it.
	}
}

// fillBlocks is fill for a file read in blocks: it appends lines of one
// block to b, which alias the block, until the batch is full or the block
// changes (nil), or the file ends (io.EOF). A line longer than a block is
// a batch of its own (readLongLine), and the lines after it are read in
// blocks again.
func (s *FileSource) fillBlocks(b *fileBatch) error {
	for len(b.msgs) < s.opt.BatchLines && b.size < s.opt.BatchBytes {
		if s.off >= s.size {
			return io.EOF
		}
		line, next, ok, err := s.nextLine()
		if err != nil {
			return err
		}
		length := int64(len(line))
		if !ok {
			if len(b.msgs) > 0 {
				return nil // the long line starts the next batch
			}
			if line, length, next, err = s.readLongLine(); err != nil {
				return err
			}
		} else {
			line = bytes.TrimRight(line, "\r\n")
			length = int64(len(line))
		}
		var tooLong error
		if limit := s.opt.MaxLineBytes; limit > 0 && length > int64(limit) {
			tooLong = s.tooLong(int(min(length, math.MaxInt)), limit)
			line = line[:min(len(line), limit)]
		}
		if !ok {
			// A line longer than a block is a batch of its own, in a buffer
			// of its own; the lines after it are read in blocks again.
			s.off = next
			s.line++
			if tooLong != nil || len(bytes.TrimSpace(line)) > 0 {
				b.msgs = append(b.msgs, Message{Value: line[:len(line):len(line)], Position: Position{Source: s.name, Partition: -1, Offset: s.line}, Err: tooLong})
				b.size += len(line)
				return nil
			}
			continue
		}
		keep := tooLong != nil || len(bytes.TrimSpace(line)) > 0
		if keep && b.blk != s.blk {
			if b.blk != nil {
				return nil // a batch holds the lines of one block
			}
			b.blk = s.blk
			b.blk.refs.Add(1)
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

// blockBuffer returns a buffer of n bytes (at most a block), from the
// pool of released blocks when it has one.
func (s *FileSource) blockBuffer(n int) []byte {
	if p, ok := s.blocks.Get().(*[]byte); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]byte, n, max(n, s.blockSize))
}

// readFullAt fills p from the current file at off. A short read — the file
// is shorter than when it was opened — is an error wrapping
// ErrInputTruncated.
func (s *FileSource) readFullAt(p []byte, off int64) error {
	got, err := s.cur.(*os.File).ReadAt(p, off)
	if got == len(p) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("file source: read %s at byte %d: %w (%d bytes when it was opened)", s.name, off+int64(got), ErrInputTruncated, s.size)
	}
	return fmt.Errorf("file source: read %s at byte %d: %w", s.name, off+int64(got), err)
}

// readLongLine reads the line at s.off, which goes on past a block, into a
// buffer of its own: the line without its line end (at most MaxLineBytes
// of it, when that is set: the rest is read and skipped), its length
// without the line end, and the offset after it. The file is read up to
// the size it had when it was opened; a short read is an error wrapping
// ErrInputTruncated.
func (s *FileSource) readLongLine() (line []byte, length, next int64, err error) {
	limit := s.opt.MaxLineBytes
	chunk := s.blockBuffer(s.blockSize)
	defer s.blocks.Put(&chunk)
	var (
		total int64 // bytes of the line so far, line ends not yet known
		crs   int64 // how many of them are '\r' at its end
	)
	for off := s.off; ; {
		if off >= s.size {
			break // the last line, without a newline
		}
		n := int(min(int64(len(chunk)), s.size-off))
		if err := s.readFullAt(chunk[:n], off); err != nil {
			return nil, 0, 0, err
		}
		part := chunk[:n]
		end := bytes.IndexByte(part, '\n')
		if end >= 0 {
			part = part[:end]
		}
		if limit <= 0 || len(line) < limit+1 {
			room := len(part)
			if limit > 0 {
				room = min(room, limit+1-len(line))
			}
			line = append(line, part[:room]...)
		}
		if trimmed := bytes.TrimRight(part, "\r"); len(trimmed) == 0 {
			crs += int64(len(part))
		} else {
			crs = int64(len(part) - len(trimmed))
		}
		total += int64(len(part))
		off += int64(len(part))
		if end >= 0 {
			off++ // the newline
			next = off
			break
		}
		next = off
	}
	length = total - crs
	return line[:min(int64(len(line)), length)], length, next, nil
}
