package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestBlocksGiveTheLinesReadGives(t *testing.T) {
	page := os.Getpagesize()
	long := strings.Repeat("y", 3*page+17) // longer than the smaller blocks
	var exact strings.Builder
	for i := range 40 {
		fmt.Fprintf(&exact, "%s\n", strings.Repeat(string(rune('a'+i%26)), page/4-1)) // lines end on page boundaries
	}
	inputs := map[string]string{
		"plain":              "a\nb\nc\n",
		"no final newline":   "a\nb\nc",
		"CRLF and blanks":    "a\r\n\r\n  \nb\r\r\n\n\nc",
		"byte order mark":    "\xef\xbb\xbf{\"a\":1}\n{\"b\":2}\n",
		"long lines":         "a\n" + long + "\nb\n" + long,
		"a long last line":   "a\n" + long,
		"long CRLF lines":    "a\r\n" + long + "\r\r\n" + long + strings.Repeat("\r", 3*page) + "\nb\r\n" + strings.Repeat(" ", 3*page) + "\nc",
		"lines on the pages": exact.String(),
		"many small lines":   strings.Repeat("{\"k\":1}\n", 5000) + "tail",
		"only newlines":      "\n\n\n",
	}
	sizes := []int{page, 2 * page, 3 * page, defaultBlockSize}
	limits := []struct{ lines, bytes, maxLine int }{
		{1024, 1 << 20, 1 << 20},
		{1, 1 << 20, 1 << 20},
		{7, 4096, 2 * page},
		{1024, 10, -1},
	}
	dir := t.TempDir()
	for name, in := range inputs {
		path := writeFile(t, dir, strings.ReplaceAll(name, " ", "-")+".jsonl", in)
		for _, lim := range limits {
			opt := FileOptions{Paths: []string{path, path}, BatchLines: lim.lines, BatchBytes: lim.bytes, MaxLineBytes: lim.maxLine}
			plain, err := NewFileSource(opt)
			if err != nil {
				t.Fatal(err)
			}
			plain.noBlocks = true
			want := readAll(t, plain)
			for _, size := range sizes {
				t.Run(fmt.Sprintf("%s/%+v/block=%d", name, lim, size), func(t *testing.T) {
					before := liveBlocks.Load()
					src, err := NewFileSource(opt)
					if err != nil {
						t.Fatal(err)
					}
					src.blockSize = size
					got := readHeld(t, src)
					if len(got) != len(want) {
						t.Fatalf("%d messages, want %d", len(got), len(want))
					}
					for i := range got {
						if got[i] != want[i] {
							t.Fatalf("message %d = %.80q, want %.80q", i, got[i], want[i])
						}
					}
					src.Close(context.Background())
					if n := liveBlocks.Load() - before; n != 0 {
						t.Errorf("%d blocks still held after every batch was released", n)
					}
				})
			}
		}
	}
}

func TestFileSourceReadsInBlocksOnlyWhatItCan(t *testing.T) {
	dir := t.TempDir()
	jsonl := writeFile(t, dir, "a.jsonl", "{\"a\":1}\n")
	csv := writeFile(t, dir, "a.csv", "Timestamp,DeviceName,RemoteIP\n2026-11-26T09:00:00Z,ws-1,203.0.113.7\n")
	empty := writeFile(t, dir, "empty.jsonl", "")
	for _, c := range []struct {
		name   string
		opt    FileOptions
		blocks bool
	}{
		{"JSON lines", FileOptions{Paths: []string{jsonl}}, true},
		{"JSON lines, format given", FileOptions{Paths: []string{jsonl}, Format: "jsonl"}, true},
		{"a CSV export", FileOptions{Paths: []string{csv}}, false},
		{"an empty file", FileOptions{Paths: []string{empty}}, false},
		{"a followed file", FileOptions{Paths: []string{jsonl}, Follow: true}, false},
		{"stdin", FileOptions{Stdin: strings.NewReader("{}\n")}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			src, err := NewFileSource(c.opt)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close(context.Background())
			if err := src.open(); err != nil {
				t.Fatal(err)
			}
			if src.inBlocks.Load() != c.blocks {
				t.Errorf("inBlocks = %v, want %v", src.inBlocks.Load(), c.blocks)
			}
		})
	}
}

// manyRecords writes n one-record messages to a file and returns its path.
func manyRecords(t *testing.T, n int) string {
	t.Helper()
	var b strings.Builder
	for i := range n {
		b.WriteString(record(i, "203.0.113.7", "", "x.exe", `c:\x.exe`))
		b.WriteByte('\n')
	}
	return writeFile(t, t.TempDir(), "events.jsonl", b.String())
}

func TestATruncatedFileIsAReadError(t *testing.T) {
	path := manyRecords(t, 200)
	src, err := NewFileSource(FileOptions{Paths: []string{path}, BatchLines: 10})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	src.blockSize = os.Getpagesize()
	b, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !src.inBlocks.Load() {
		t.Fatal("the file was not read in blocks")
	}
	first := string(b.Messages[0].Value)
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	if got := string(b.Messages[0].Value); got != first {
		t.Errorf("a message read before the truncation changed: %.60q, was %.60q", got, first)
	}
	b.Release()
	lines := len(b.Messages)
	for range 10 {
		b, err = src.Read(context.Background())
		if err != nil {
			break
		}
		lines += len(b.Messages)
		b.Release()
	}
	if !errors.Is(err, ErrInputTruncated) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Read after truncation: %v, want an error naming %s and wrapping ErrInputTruncated", err, path)
	}
	if lines >= 200 {
		t.Errorf("%d lines read from a file truncated after the first block", lines)
	}
	if _, again := src.Read(context.Background()); !errors.Is(again, ErrInputTruncated) {
		t.Errorf("the Read after the error: %v, want the same error", again)
	}
}

// TestAFileReadOnAfterALongLineKeepsItsSize checks that a line longer
// than a block is a batch of its own, after which the file is still read
// in blocks and up to the size it had when it was opened: truncated, the
// read fails with ErrInputTruncated after the lines before; grown, what
// was appended is not read. The rest of the file is larger than a block,
// so that the change lands on bytes not read yet.
func TestAFileReadOnAfterALongLineKeepsItsSize(t *testing.T) {
	page := os.Getpagesize()
	const records = 100000
	for _, c := range []struct {
		name    string
		change  func(t *testing.T, path string, size int64)
		lines   int  // lines read in all (0: fewer than the file's)
		wantErr bool // the reading ends with ErrInputTruncated
	}{
		{"truncated", func(t *testing.T, path string, size int64) {
			if err := os.Truncate(path, size/2); err != nil {
				t.Fatal(err)
			}
		}, 0, true},
		{"grown", func(t *testing.T, path string, _ int64) {
			f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := f.WriteString(strings.Repeat("{\"grown\":1}\n", 1000)); err != nil {
				t.Fatal(err)
			}
		}, records + 2, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var in strings.Builder
			in.WriteString("{\"first\":1}\n" + strings.Repeat("y", 2*page) + "\n")
			for i := range records {
				fmt.Fprintf(&in, "{\"n\":%d}\n", i)
			}
			path := writeFile(t, t.TempDir(), "events.jsonl", in.String())
			size := int64(in.Len())
			src, err := NewFileSource(FileOptions{Paths: []string{path}, BatchLines: 100})
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close(context.Background())
			src.blockSize = page
			var lines int
			changed := false
			for {
				b, err := src.Read(context.Background())
				if err != nil {
					if c.wantErr != errors.Is(err, ErrInputTruncated) || !c.wantErr && !errors.Is(err, io.EOF) {
						t.Fatalf("after %d lines, Read = %v, want ErrInputTruncated: %v", lines, err, c.wantErr)
					}
					break
				}
				long := false
				for _, m := range b.Messages {
					lines++
					if want := fmt.Sprintf("{\"n\":%d}", lines-3); lines > 2 && string(m.Value) != want {
						t.Fatalf("message %d = %.40q, want %q", lines, m.Value, want)
					}
					if lines == 2 {
						long = true
						if len(b.Messages) != 1 || len(m.Value) != 2*page || m.Err != nil {
							t.Fatalf("the long line: %d bytes in a batch of %d (%v), want %d bytes alone", len(m.Value), len(b.Messages), m.Err, 2*page)
						}
					}
				}
				b.Release()
				if long {
					if !src.inBlocks.Load() {
						t.Fatal("the long line switched the file out of blocks")
					}
					c.change(t, path, size)
					changed = true
				}
			}
			if !changed {
				t.Fatal("no batch held the long line")
			}
			if c.lines != 0 && lines != c.lines || c.lines == 0 && lines >= records+2 {
				t.Errorf("%d lines read, want %d (0: fewer than %d)", lines, c.lines, records+2)
			}
			if read, total := src.Progress(); read > total {
				t.Errorf("progress %d of %d", read, total)
			}
			if c.wantErr {
				if _, again := src.Read(context.Background()); !errors.Is(again, ErrInputTruncated) {
					t.Errorf("the Read after the error: %v, want the same error", again)
				}
			}
		})
	}
}

// truncatingSource truncates its file once the first batch was read, before
// the pipeline's worker decodes it.
type truncatingSource struct {
	*FileSource
	path  string
	reads atomic.Int32
}

func (s *truncatingSource) Read(ctx context.Context) (Batch, error) {
	b, err := s.FileSource.Read(ctx)
	if err == nil && s.reads.Add(1) == 1 {
		if terr := os.Truncate(s.path, 0); terr != nil {
			return Batch{}, terr
		}
	}
	return b, err
}

func TestAPipelineStopsWithAnErrorWhenItsFileIsTruncated(t *testing.T) {
	path := manyRecords(t, 200)
	fs, err := NewFileSource(FileOptions{Paths: []string{path}, BatchLines: 10})
	if err != nil {
		t.Fatal(err)
	}
	fs.blockSize = os.Getpagesize()
	src := &truncatingSource{FileSource: fs, path: path}
	out := &recordingSink{}
	p := New(src, testRules(t, "203.0.113.7"), out, Options{Workers: 2})
	err = p.Run(context.Background())
	if !errors.Is(err, ErrInputTruncated) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Run = %v, want an error naming %s and wrapping ErrInputTruncated", err, path)
	}
	if got := out.got(); len(got) >= 200 {
		t.Errorf("%d alerts from a file of 200 records truncated after its first batch", len(got))
	}
}

func TestClosingABlockSourceReleasesOnceTheBatchesAreReleased(t *testing.T) {
	path := manyRecords(t, 50)
	before := liveBlocks.Load()
	src, err := NewFileSource(FileOptions{Paths: []string{filepath.Clean(path)}, BatchLines: 10})
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	src.Close(context.Background())
	if n := liveBlocks.Load() - before; n != 1 {
		t.Fatalf("%d blocks held after Close with a batch out, want 1", n)
	}
	if !strings.Contains(string(b.Messages[9].Value), `"ReportId":9`) {
		t.Errorf("message 10 of the batch held after Close = %.60q", b.Messages[9].Value)
	}
	b.Release()
	if n := liveBlocks.Load() - before; n != 0 {
		t.Fatalf("%d blocks held after the last batch was released, want 0", n)
	}
	if _, err := src.Read(context.Background()); !errors.Is(err, io.EOF) {
		t.Errorf("Read after Close = %v, want io.EOF", err)
	}
}

// FuzzBlockFileSource checks that a file read in blocks gives the
// messages, line numbers and framing errors that reading it gives, for any
// content, block size (1 to 9,436 bytes: lines cross blocks and outgrow
// them) and batch limits.
func FuzzBlockFileSource(f *testing.F) {
	page := os.Getpagesize()
	f.Add([]byte("a\nb\r\n\n c\n"), uint8(1), uint8(3), uint16(100))
	f.Add([]byte(strings.Repeat("x", page-1)+"\n"+strings.Repeat("y", page+1)), uint8(1), uint8(0), uint16(0))
	f.Add([]byte(strings.Repeat("{\"k\":1}\r\n", 2000)), uint8(2), uint8(7), uint16(4000))
	f.Add([]byte("\n\n\n"), uint8(4), uint8(1), uint16(1))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, pages, lines uint8, maxLine uint16) {
		path := filepath.Join(dir, "in.jsonl")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		opt := FileOptions{Paths: []string{path}, Format: "jsonl", BatchLines: int(lines%16) + 1, MaxLineBytes: int(maxLine)}
		if maxLine == 0 {
			opt.MaxLineBytes = -1
		}
		plain, err := NewFileSource(opt)
		if err != nil {
			t.Fatal(err)
		}
		plain.noBlocks = true
		want := readAll(t, plain)
		before := liveBlocks.Load()
		src, err := NewFileSource(opt)
		if err != nil {
			t.Fatal(err)
		}
		src.blockSize = int(pages)*37 + 1
		got := readHeld(t, src)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("blocks:\n%q\nread:\n%q", got, want)
		}
		if n := liveBlocks.Load() - before; n != 0 {
			t.Fatalf("%d blocks left held", n)
		}
	})
}

func TestFileSourceReportsItsProgress(t *testing.T) {
	a := manyRecords(t, 300)
	b := manyRecords(t, 100)
	fa, _ := os.Stat(a)
	fb, _ := os.Stat(b)
	total := fa.Size() + fb.Size()
	for _, noBlocks := range []bool{false, true} {
		t.Run(fmt.Sprintf("noBlocks=%v", noBlocks), func(t *testing.T) {
			src, err := NewFileSource(FileOptions{Paths: []string{a, b}, BatchLines: 16})
			if err != nil {
				t.Fatal(err)
			}
			src.noBlocks = noBlocks
			src.blockSize = 4 * os.Getpagesize()
			if read, tot := src.Progress(); read != 0 || tot != total {
				t.Fatalf("before reading: %d of %d, want 0 of %d", read, tot, total)
			}
			var last int64
			for {
				b, err := src.Read(context.Background())
				read, _ := src.Progress()
				if read < last || read > total {
					t.Fatalf("progress went from %d to %d (total %d)", last, read, total)
				}
				last = read
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				b.Release()
			}
			if last != total {
				t.Errorf("at the end: %d of %d bytes", last, total)
			}
		})
	}
	for name, opt := range map[string]FileOptions{
		"stdin":           {Stdin: strings.NewReader("{}\n")},
		"a followed file": {Paths: []string{a}, Follow: true},
	} {
		src, err := NewFileSource(opt)
		if err != nil {
			t.Fatal(err)
		}
		if _, tot := src.Progress(); tot != 0 {
			t.Errorf("%s: total %d, want 0 (not known)", name, tot)
		}
	}
}

func TestClosingABlockSourceDuringReadsIsSafe(t *testing.T) {
	var paths []string
	for range 20 {
		paths = append(paths, manyRecords(t, 100))
	}
	before := liveBlocks.Load()
	src, err := NewFileSource(FileOptions{Paths: paths, BatchLines: 3})
	if err != nil {
		t.Fatal(err)
	}
	src.blockSize = os.Getpagesize()
	done := make(chan error)
	go func() {
		for {
			b, err := src.Read(context.Background())
			if err != nil {
				done <- err
				return
			}
			for _, m := range b.Messages {
				_ = messageLine(m)
			}
			src.Progress()
			b.Release()
		}
	}()
	time.Sleep(time.Millisecond)
	src.Close(context.Background())
	if err := <-done; !errors.Is(err, io.EOF) && !errors.Is(err, os.ErrClosed) {
		t.Fatalf("Read after Close = %v, want io.EOF or a closed-file error", err)
	}
	if n := liveBlocks.Load() - before; n != 0 {
		t.Errorf("%d blocks still held after Close and the last release", n)
	}
}

// TestClosingABlockSourceJustBeforeItsBatchIsFilled closes the source
// between Read's look at whether the file is read in blocks and the fill
// of its batch: Close gives the blocks up there, and the Read must return
// io.EOF, not go on to the read(2) path of a file never opened for it.
func TestClosingABlockSourceJustBeforeItsBatchIsFilled(t *testing.T) {
	path := manyRecords(t, 50)
	before := liveBlocks.Load()
	src, err := NewFileSource(FileOptions{Paths: []string{path}, BatchLines: 10})
	if err != nil {
		t.Fatal(err)
	}
	b, err := src.Read(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	b.Release()
	src.beforeFill = func() { src.Close(context.Background()) }
	func() {
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("Read closed under it panicked: %v", r)
			}
		}()
		if _, err := src.Read(context.Background()); !errors.Is(err, io.EOF) {
			t.Errorf("Read closed under it = %v, want io.EOF", err)
		}
	}()
	if n := liveBlocks.Load() - before; n != 0 {
		t.Errorf("%d blocks still held after Close", n)
	}
}

// Progress never goes back, also when the source is closed between reads
// or during one (a progress bar shown at shutdown).
func TestProgressNeverGoesBackAfterClose(t *testing.T) {
	a := manyRecords(t, 300)
	for _, noBlocks := range []bool{false, true} {
		t.Run(fmt.Sprintf("noBlocks=%v", noBlocks), func(t *testing.T) {
			src, err := NewFileSource(FileOptions{Paths: []string{a}, BatchLines: 16})
			if err != nil {
				t.Fatal(err)
			}
			src.noBlocks = noBlocks
			src.blockSize = 4 * os.Getpagesize()
			for range 3 {
				b, err := src.Read(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				b.Release()
			}
			before, _ := src.Progress()
			if before == 0 {
				t.Fatal("no progress after three batches")
			}
			src.Close(context.Background())
			for range 2 {
				if b, err := src.Read(context.Background()); err == nil {
					b.Release()
				}
				if after, _ := src.Progress(); after < before {
					t.Fatalf("progress went from %d back to %d after Close", before, after)
				}
			}
		})
	}
}
