package stream

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// closeOnRead stands between a FileSource and its input. At the first
// read through it, it tells the test (entered) and, unless free, waits
// until the test, on its own goroutine, has closed the source (closed)
// before it reads on: a Close that lands while a Read is under way, at a
// known point. A free one reads on at once, and the Close races with the
// rest of the Read.
type closeOnRead struct {
	r       io.Reader
	free    bool
	entered chan struct{}
	closed  chan struct{}
	once    sync.Once
}

func newCloseOnRead(r io.Reader, free bool) *closeOnRead {
	return &closeOnRead{r: r, free: free, entered: make(chan struct{}), closed: make(chan struct{})}
}

func (c *closeOnRead) Read(p []byte) (int, error) {
	c.once.Do(func() {
		close(c.entered)
		if !c.free {
			<-c.closed
		}
	})
	return c.r.Read(p)
}

// stalledInput serves data, then waits for stop as a writer that went
// quiet would, and ends: a live input that stops part way through a
// compressed stream.
type stalledInput struct {
	data []byte
	stop chan struct{}
}

func (s *stalledInput) Read(p []byte) (int, error) {
	if len(s.data) > 0 {
		n := copy(p, s.data)
		s.data = s.data[n:]
		return n, nil
	}
	<-s.stop
	return 0, io.EOF
}

// flushedGzip compresses head, flushed (so that a reader can decompress
// it from what is written so far), and returns those bytes, then the
// stream with tail and its end.
func flushedGzip(t *testing.T, head, tail []byte) (prefix, whole []byte) {
	t.Helper()
	var b bytes.Buffer
	return flushed(t, &b, gzip.NewWriter(&b), head, tail)
}

// flushedZstd is flushedGzip in zstd.
func flushedZstd(t *testing.T, head, tail []byte) (prefix, whole []byte) {
	t.Helper()
	var b bytes.Buffer
	w, err := zstd.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	return flushed(t, &b, w, head, tail)
}

// flushed writes head to w, flushes it and keeps what b holds then as
// prefix, then writes tail and closes w: whole is b at the end.
func flushed(t *testing.T, b *bytes.Buffer, w interface {
	io.WriteCloser
	Flush() error
}, head, tail []byte) (prefix, whole []byte) {
	t.Helper()
	if _, err := w.Write(head); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	prefix = bytes.Clone(b.Bytes())
	if _, err := w.Write(tail); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return prefix, b.Bytes()
}

// csvLines returns an Advanced Hunting CSV export of n rows, each with a
// random URL path, so that they do not compress to nothing.
func csvLines(n int) []byte {
	rng := rand.New(rand.NewPCG(3, 4))
	b := []byte("Timestamp,DeviceName,RemoteIP,RemoteUrl\n")
	for i := range n {
		b = fmt.Appendf(b, "2026-11-26T09:00:00Z,ws-%d,198.51.%d.%d,http://h%d.example/%016x%016x\n", i%50, i/256%256, i%256, i%97, rng.Uint64(), rng.Uint64())
	}
	return b
}

// A Close while a Read is under way — the Read waiting for more of a
// compressed file, of a plain file read with read(2), or of a live input —
// ends that Read with the end of the source (io.EOF), as a Read after
// Close does: never with a message or an error saying that the input is
// damaged or cut short (the file closed under the decompressor, a live
// input's end in the middle of a stream), and never with a line cut where
// the Close fell. The Close comes from another goroutine at the first
// read of the input after the first batch (of a live input, which a
// goroutine of the source reads on from the first batch, as the next Read
// begins to wait for it); that Read may then fill a
// batch of any size, so that it cannot end on a full batch before the
// closed input shows. The Read waits there for the Close to end; with
// free, it reads on at once, so that the Close races with the rest of it
// (under -race, no order is imposed between the two from there on).
func TestACloseDuringAReadIsACleanEnd(t *testing.T) {
	jsonl := recordLines(20000)
	doc := append([]byte("[\n"), bytes.ReplaceAll(bytes.TrimSuffix(jsonl, []byte("\n")), []byte("\n"), []byte(",\n"))...)
	doc = append(doc, "\n]\n"...)
	liveHead, liveTail := recordLines(200), recordLines(2000)
	gzPrefix, _ := flushedGzip(t, liveHead, liveTail)
	zstPrefix, _ := flushedZstd(t, liveHead, liveTail)
	for _, tc := range []struct {
		name     string
		file     []byte // written to a file and read from its path
		noBlocks bool
		stdin    []byte // else served on a live stdin, which then stalls
		free     bool
	}{
		{name: "events.jsonl.gz", file: gzipped(t, jsonl)},
		{name: "events.jsonl.zst", file: zstded(t, jsonl)},
		{name: "events.jsonl.gz, free", file: gzipped(t, jsonl), free: true},
		{name: "events.jsonl.zst, free", file: zstded(t, jsonl), free: true},
		{name: "export.csv.gz", file: gzipped(t, csvLines(20000))},
		{name: "events.json.gz (a document)", file: gzipped(t, doc)},
		{name: "events.utf16.gz", file: gzipped(t, utf16Text(string(jsonl), true))},
		{name: "events.jsonl read with read(2)", file: jsonl, noBlocks: true},
		{name: "a gzip stream on a live stdin", stdin: gzPrefix},
		{name: "a zstd stream on a live stdin", stdin: zstPrefix},
		{name: "a plain stream on a live stdin, its last line unfinished", stdin: append(recordLines(3), `{"records":[{"Timestamp":`...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := FileOptions{BatchLines: 100}
			if tc.file != nil {
				p := filepath.Join(t.TempDir(), "input")
				if err := os.WriteFile(p, tc.file, 0o600); err != nil {
					t.Fatal(err)
				}
				opt.Paths = []string{p}
			} else {
				in := &stalledInput{data: tc.stdin, stop: make(chan struct{})}
				t.Cleanup(func() { close(in.stop) })
				opt.Stdin = in
				opt.BatchLines = 1000 // more than the stream holds: batches end when the input is idle
			}
			src := mustFileSource(t, opt)
			src.noBlocks = tc.noBlocks
			defer src.Close(context.Background())
			b, err := src.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			b.Release()
			if src.inBlocks.Load() || src.counter.r == nil {
				t.Fatal("the input is not read through the counting reader")
			}
			entered := make(chan struct{})
			var hook *closeOnRead
			if tc.file != nil {
				hook = newCloseOnRead(src.counter.r, tc.free)
				src.counter.r = hook
				entered = hook.entered
			} else {
				// A live input is read on by liveFill's goroutine, which
				// waits for more of it already: the Close lands while the
				// next Read waits for that goroutine.
				var once sync.Once
				src.beforeFill = func() { once.Do(func() { close(entered) }) }
			}
			src.opt.BatchLines, src.opt.BatchBytes = 1<<20, 1<<30
			done := readWholeRecords(src, func() {})
			select {
			case <-entered:
			case err := <-done:
				t.Fatalf("the source ended (%v) without reading its input again", err)
			}
			if err := src.Close(context.Background()); err != nil {
				t.Errorf("Close: %v", err)
			}
			if hook != nil {
				close(hook.closed)
			}
			if err := <-done; !errors.Is(err, io.EOF) {
				t.Errorf("the Read that Close interrupted ended with %v, want io.EOF", err)
			}
			if _, err := src.Read(context.Background()); !errors.Is(err, io.EOF) {
				t.Errorf("a Read after Close = %v, want io.EOF", err)
			}
		})
	}
}

// eioAtTheEnd reads r and fails where r ends, as a disk whose read fails
// does.
type eioAtTheEnd struct{ r io.Reader }

func (e *eioAtTheEnd) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if errors.Is(err, io.EOF) {
		err = syscall.EIO
	}
	return n, err
}

// A Close that lands once a Read has found what its input held — its last
// lines and the end of the file, the damage of a file cut short, a file
// truncated while it is read, a read error — takes none of it away: the
// lines read are delivered, and the damage is reported (as the message a
// file's damage is, or as the error the source stops with), as without
// the Close. Only then do Reads end with io.EOF. The Close comes between
// the fill of the Read's batch and the Read's look at what the fill
// found; the input is read to its end (or its damage) by that one fill.
func TestACloseAfterAReadFoundItsInputKeepsWhatItFound(t *testing.T) {
	// Both are larger than the 4 KiB a file's format is told from, so that
	// their ends are read after a setup.
	jsonl := recordLines(50)
	export := csvLines(200)
	cutGz := gzipped(t, recordLines(2000))
	cutGz = cutGz[:len(cutGz)/2]
	for _, tc := range []struct {
		name     string
		data     []byte
		noBlocks bool
		// setup runs after a first Read (of up to 10 lines), before the
		// Read the Close lands in (nil: no first Read).
		setup     func(t *testing.T, src *FileSource, path string)
		blockSize int    // 1: a page (else the default, a MiB)
		lines     int    // good messages, exactly (-1: at least 500)
		damage    string // in the one message carrying an error ("": none)
		stopsWith error  // the error the source then stops with (nil: io.EOF)
	}{
		{name: "the last lines of a file read in blocks", data: jsonl, lines: 50},
		{name: "the last lines of a file read with read(2)", data: jsonl, noBlocks: true, lines: 50},
		{name: "the last rows of a CSV export", data: export, lines: 200},
		{name: "a gzip file cut short", data: cutGz, lines: -1, damage: "gzip data cut short"},
		{name: "a read error", data: jsonl, noBlocks: true, lines: 50, damage: "input/output error",
			setup: func(t *testing.T, src *FileSource, _ string) { src.counter.r = &eioAtTheEnd{src.counter.r} }},
		{name: "a read error in a CSV export", data: export, lines: 200, damage: "input/output error",
			setup: func(t *testing.T, src *FileSource, _ string) { src.counter.r = &eioAtTheEnd{src.counter.r} }},
		{name: "a file read in blocks truncated while it is read", data: recordLines(2000), blockSize: 1, lines: -1, stopsWith: ErrInputTruncated,
			setup: func(t *testing.T, src *FileSource, path string) {
				if !src.inBlocks.Load() {
					t.Fatal("the file is not read in blocks")
				}
				if err := os.Truncate(path, 0); err != nil {
					t.Fatal(err)
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "input")
			if err := os.WriteFile(p, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			src := mustFileSource(t, FileOptions{Paths: []string{p}, BatchLines: 10})
			defer src.Close(context.Background())
			src.noBlocks = tc.noBlocks
			if tc.blockSize != 0 {
				src.blockSize = os.Getpagesize()
			}
			good, damage := 0, []error(nil)
			count := func(b Batch) {
				for _, m := range b.Messages {
					if m.Err != nil {
						damage = append(damage, fmt.Errorf("%s: %w", m.Position, m.Err))
					} else {
						good++
					}
				}
				b.Release()
			}
			if tc.setup != nil {
				b, err := src.Read(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				count(b)
				tc.setup(t, src, p)
			}
			src.opt.BatchLines, src.opt.BatchBytes = 1<<20, 1<<30
			closed := false
			src.afterFill = func() {
				if !closed {
					closed = true
					if err := src.Close(context.Background()); err != nil {
						t.Errorf("Close: %v", err)
					}
				}
			}
			var err error
			for range 10 {
				var b Batch
				if b, err = src.Read(context.Background()); err != nil {
					break
				}
				count(b)
			}
			if !closed {
				t.Fatal("the source was not closed")
			}
			want := tc.stopsWith
			if want == nil {
				want = io.EOF
			}
			if !errors.Is(err, want) {
				t.Errorf("the source ended with %v, want %v", err, want)
			}
			atLeast := 500
			if tc.blockSize != 0 {
				atLeast = 1 // the lines of the first Read
			}
			if tc.lines >= 0 && good != tc.lines || tc.lines < 0 && good < atLeast {
				t.Errorf("%d lines delivered, want %d (-1: at least %d)", good, tc.lines, atLeast)
			}
			switch {
			case tc.damage == "" && len(damage) > 0:
				t.Errorf("damage reported: %v", damage)
			case tc.damage != "" && (len(damage) != 1 || !strings.Contains(damage[0].Error(), tc.damage)):
				t.Errorf("damage reported: %v, want one message saying %q", damage, tc.damage)
			}
		})
	}
}

// The lines a Read took whole from its input before a Close landed under
// it are delivered; the line in hand when the input closed under the
// reader is not (it was never read whole).
func TestLinesReadBeforeACloseAreDelivered(t *testing.T) {
	for _, tc := range []struct {
		name   string
		data   []byte
		header int // lines that are not messages
	}{
		{"events.jsonl read with read(2)", recordLines(20000), 0},
		{"export.csv", csvLines(20000), 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "input")
			if err := os.WriteFile(p, tc.data, 0o600); err != nil {
				t.Fatal(err)
			}
			src := mustFileSource(t, FileOptions{Paths: []string{p}, BatchLines: 100})
			src.noBlocks = true
			defer src.Close(context.Background())
			b, err := src.Read(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			good := len(b.Messages)
			b.Release()
			hook := newCloseOnRead(src.counter.r, false)
			src.counter.r = hook
			src.opt.BatchLines, src.opt.BatchBytes = 1<<20, 1<<30
			done := readWholeRecords(src, func() { good++ })
			<-hook.entered
			if err := src.Close(context.Background()); err != nil {
				t.Errorf("Close: %v", err)
			}
			close(hook.closed)
			if err := <-done; !errors.Is(err, io.EOF) {
				t.Fatalf("the source ended with %v, want io.EOF", err)
			}
			read := tc.data[:src.counter.n]
			if want := bytes.Count(read, []byte("\n")) - tc.header; good != want {
				t.Errorf("%d lines delivered, want the %d whole lines of the %d bytes read before the Close", good, want, len(read))
			}
		})
	}
}

// A Close while a Read waits for the first bytes of a live input — the
// header of its compressed stream, which tells how to read it — ends the
// Read as a Close during any other read of it does: with io.EOF, not with
// an error saying that the stream is not valid.
func TestACloseWhileTheFormatOfALiveInputIsReadIsACleanEnd(t *testing.T) {
	gz := gzipped(t, recordLines(10))
	in := &stalledInput{data: gz[:5], stop: make(chan struct{})} // the magic, half the header
	t.Cleanup(func() { close(in.stop) })
	src := mustFileSource(t, FileOptions{Stdin: in})
	defer src.Close(context.Background())
	done := make(chan error, 1)
	go func() {
		b, err := src.Read(context.Background())
		if err == nil {
			b.Release()
			err = fmt.Errorf("a batch of %d messages", len(b.Messages))
		}
		done <- err
	}()
	// Wait until the Read has made stdin its input: from there it waits
	// for the rest of the header, which does not come. Whether the Close
	// finds it waiting for the header or for the magic before it, the Read
	// ends the same.
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		src.mu.Lock()
		live := src.live != nil
		src.mu.Unlock()
		if live {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the Read did not open stdin")
		}
	}
	if err := src.Close(context.Background()); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-done; !errors.Is(err, io.EOF) {
		t.Errorf("the Read that Close interrupted ended with %v, want io.EOF", err)
	}
}

// readWholeRecords reads src on a goroutine of its own, calling each for
// every message, until a Read fails or a message is not a whole record (it
// carries an error, or its text is not JSON); the channel gets that error.
// each runs on that goroutine: read what it counts after the channel.
func readWholeRecords(src *FileSource, each func()) <-chan error {
	done := make(chan error, 1)
	go func() {
		for {
			b, err := src.Read(context.Background())
			if err != nil {
				done <- err
				return
			}
			for _, m := range b.Messages {
				if m.Err != nil || !json.Valid(m.Value) {
					b.Release()
					done <- fmt.Errorf("the message at %s is not a whole record (%v): %.60q", m.Position, m.Err, m.Value)
					return
				}
				each()
			}
			b.Release()
		}
	}()
	return done
}
