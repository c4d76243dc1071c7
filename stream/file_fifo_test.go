//go:build linux

package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// guard is how long a Read, a Close or a goroutine is given before the
// test takes it for hung: generous, it turns a hang into a failure and
// says nothing of speed.
const guard = 10 * time.Second

// mkfifo makes a FIFO in a temporary directory. When the test ends, a
// goroutine of the test's that is still blocked opening it for reading
// (a source that waits in open(2) for a writer) is let go: opening the
// FIFO for writing without blocking succeeds while a reader is there,
// and wakes it.
func mkfifo(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "events.fifo")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for range 100 {
			if goroutinesIn("os.openFileNolog") == 0 {
				return
			}
			if w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
				w.Close()
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
	return p
}

// goroutinesIn counts the goroutines with frame (a function's name) in
// their stacks.
func goroutinesIn(frame string) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	n := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, frame) {
			n++
		}
	}
	return n
}

// closeWithin closes src, failing the test when Close does not return
// within the guard.
func closeWithin(t *testing.T, src *FileSource) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- src.Close(context.Background()) }()
	select {
	case <-done:
	case <-time.After(guard):
		t.Fatal("Close did not return")
	}
}

// A FIFO named in the paths that no writer has opened does not hold a
// shutdown: a Read waiting for the writer ends when its context ends,
// and when the source is closed, followed or not, with no goroutine left
// blocked in open(2); Close returns, and no goroutine of the source's is
// left waiting for the writer.
func TestAFIFOWithoutAWriterEndsWithTheReadsContextOrClose(t *testing.T) {
	for _, tc := range []struct {
		how    string // what ends the Read: "context" or "close"
		follow bool
	}{
		{"context", false},
		{"close", false},
		{"context", true},
		{"close", true},
	} {
		t.Run(fmt.Sprintf("%s, follow %v", tc.how, tc.follow), func(t *testing.T) {
			p := mkfifo(t)
			before := goleak.IgnoreCurrent()
			src := mustFileSource(t, FileOptions{Paths: []string{p}, Follow: tc.follow})
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			time.AfterFunc(50*time.Millisecond, func() {
				if tc.how == "context" {
					cancel()
				} else {
					src.Close(context.Background())
				}
			})
			_, err := readWithin(t, ctx, src, guard)
			want := io.EOF
			if tc.how == "context" {
				want = context.Canceled
			}
			if !errors.Is(err, want) {
				t.Errorf("Read returned %v, want %v", err, want)
			}
			if n := goroutinesIn("os.openFileNolog"); n > 0 {
				t.Errorf("%d goroutines blocked opening the FIFO", n)
			}
			closeWithin(t, src)
			// Nothing the source started is left: not a goroutine waiting
			// for the writer, nor one reading the FIFO.
			if err := goleak.Find(before); err != nil {
				t.Errorf("after Close: %v", err)
			}
		})
	}
}

// A writer that opens the FIFO later — while a Read waits, or after a
// Read's context ended and the next Read was started — has every line it
// writes read, in order, on its line; its closing the FIFO ends the
// FIFO's input (even when it wrote nothing), and the next path is read.
// With Follow, the FIFO is opened again for the next writer instead, and
// waiting for that one still ends with the Read's context.
func TestAFIFOsLaterWriterIsReadToItsEnd(t *testing.T) {
	const many = 5000 // more than a pipe's buffer and a batch
	for _, tc := range []struct {
		name        string
		lines       int  // the writer writes
		cancelFirst bool // a Read's context ends before the writer comes
		follow      bool
	}{
		{"the writer comes while a Read waits", many, false, false},
		{"the writer comes after a Read's context ended", many, true, false},
		{"a writer that writes nothing", 0, false, false},
		{"a writer that writes nothing, after a Read's context ended", 0, true, false},
		{"followed, the writer comes while a Read waits", many, false, true},
		{"followed, the writer comes after a Read's context ended", many, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mkfifo(t)
			paths := []string{p}
			var text strings.Builder
			var want []string
			for i := range tc.lines {
				fmt.Fprintf(&text, "{\"i\":%d}\n", i)
				want = append(want, fmt.Sprintf("%s:%d {\"i\":%d}", p, i+1, i))
			}
			if !tc.follow {
				after := writeFile(t, t.TempDir(), "after.jsonl", "{\"after\":1}\n")
				paths = append(paths, after)
				want = append(want, after+":1 {\"after\":1}")
			}
			src := mustFileSource(t, FileOptions{Paths: paths, Follow: tc.follow, BatchLines: 100})
			defer closeWithin(t, src)
			if tc.cancelFirst {
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(50*time.Millisecond, cancel)
				if _, err := readWithin(t, ctx, src, guard); !errors.Is(err, context.Canceled) {
					t.Fatalf("the first Read: %v, want context.Canceled", err)
				}
			}
			wrote := make(chan error, 1)
			go func() {
				f, err := os.OpenFile(p, os.O_WRONLY, 0) // waits for a reader, if need be
				if err != nil {
					wrote <- err
					return
				}
				_, err = f.WriteString(text.String())
				if cerr := f.Close(); err == nil {
					err = cerr
				}
				wrote <- err
			}()
			var got []string
			for len(got) < len(want) {
				b, err := readWithin(t, context.Background(), src, guard)
				if err != nil {
					t.Fatalf("after %d messages: %v", len(got), err)
				}
				for _, m := range b.Messages {
					got = append(got, messageLine(m))
				}
				b.Release()
			}
			if err := <-wrote; err != nil {
				t.Fatalf("writer: %v", err)
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Fatalf("read %d messages, want %d; first difference at %d", len(got), len(want), firstDifference(got, want))
			}
			if !tc.follow {
				if _, err := readWithin(t, context.Background(), src, guard); !errors.Is(err, io.EOF) {
					t.Errorf("after the last file: %v, want io.EOF", err)
				}
				return
			}
			// Followed: the writer's close ends nothing; the source waits
			// for the next writer, and a Read's context ends that wait.
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			if _, err := readWithin(t, ctx, src, guard); !errors.Is(err, context.Canceled) {
				t.Errorf("the Read after the writer closed: %v, want context.Canceled", err)
			}
		})
	}
}

// firstDifference is the index of the first string in which got and want
// differ.
func firstDifference(got, want []string) int {
	for i := range min(len(got), len(want)) {
		if got[i] != want[i] {
			return i
		}
	}
	return min(len(got), len(want))
}

// A followed FIFO is live, as one that is not followed: the lines its
// writer has written are delivered while the writer holds it open and
// says nothing more, and a Read waiting for the next line ends with the
// Read's context. A writer's close ends its input — a last line without
// its newline is delivered as it is — and the FIFO is opened again for
// the next writer, whose lines are numbered from 1. Close ends it all,
// and nothing the source started is left.
func TestAFollowedFIFOIsLive(t *testing.T) {
	for _, tc := range []struct {
		name string
		// What each writer writes, with a pause after each part, and
		// how many messages are whole after it (a CSV export's header
		// is none).
		writers [][]part
		want    []string // line and text of each message, in order
	}{
		{"a writer that pauses after each line",
			[][]part{{{"{\"a\":1}\n", 1}, {"{\"a\":2}\n", 2}}},
			[]string{"1 {\"a\":1}", "2 {\"a\":2}"}},
		{"a writer that pauses part way through a line",
			[][]part{{{"{\"a\":1}\n{\"a\":", 1}, {"2}\n", 2}}},
			[]string{"1 {\"a\":1}", "2 {\"a\":2}"}},
		{"writers one after another",
			[][]part{{{"{\"a\":1}\n", 1}}, {{"{\"b\":1}\n", 2}, {"{\"b\":2}\n", 3}}},
			[]string{"1 {\"a\":1}", "1 {\"b\":1}", "2 {\"b\":2}"}},
		{"a last line without its newline",
			[][]part{{{"{\"a\":1}\n{\"a\":2}", 1}}, {{"{\"b\":1}\n", 3}}},
			[]string{"1 {\"a\":1}", "2 {\"a\":2}", "1 {\"b\":1}"}},
		{"a writer that writes nothing, then one that writes",
			[][]part{{}, {{"{\"b\":1}\n", 1}}},
			[]string{"1 {\"b\":1}"}},
		{"an Advanced Hunting export, then JSON lines",
			[][]part{{{"Timestamp,RemoteIP\n", 0}, {"2026-11-27T10:00:00Z,192.0.2.1\n", 1}}, {{"{\"b\":1}\n", 2}}},
			[]string{"2 {\"Table\":\"DeviceNetworkEvents\",\"Timestamp\":\"2026-11-27T10:00:00Z\",\"RemoteIP\":\"192.0.2.1\"}", "1 {\"b\":1}"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := mkfifo(t)
			before := goleak.IgnoreCurrent()
			src := mustFileSource(t, FileOptions{Paths: []string{p}, Follow: true})
			var got []string
			// readUntil reads until n messages are in: each is delivered
			// as soon as its line is whole.
			readUntil := func(n int) {
				t.Helper()
				for len(got) < n {
					b, err := readWithin(t, context.Background(), src, guard)
					if err != nil {
						t.Fatalf("after %d messages: %v", len(got), err)
					}
					for _, m := range b.Messages {
						if m.Position.Source != p {
							t.Errorf("message from %q, want %q", m.Position.Source, p)
						}
						got = append(got, fmt.Sprintf("%d %s", m.Position.Offset, m.Value))
					}
					b.Release()
				}
				if len(got) > n {
					t.Fatalf("read %q, want %d messages by now", got, n)
				}
			}
			// waiting checks that a Read that finds nothing more ends
			// with its context (it also opens the FIFO, when it is not
			// open, for the writer to come).
			waiting := func() {
				t.Helper()
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				time.AfterFunc(50*time.Millisecond, cancel)
				b, err := readWithin(t, ctx, src, guard)
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("a Read with nothing to read: %d messages, %v; want context.Canceled", len(b.Messages), err)
				}
			}
			// A writer that opens the FIFO before the source has seen the
			// last one's close continues its input: the next writer
			// opens it once the source has found the last one gone.
			gone := make(chan struct{}, len(tc.writers)+1)
			src.reopening = func() { gone <- struct{}{} }
			n := 0 // messages whole so far
			for i, parts := range tc.writers {
				for i > 0 && len(gone) == 0 {
					waiting()
				}
				if i > 0 {
					<-gone
				}
				opened := make(chan *os.File, 1)
				go func() {
					f, err := os.OpenFile(p, os.O_WRONLY, 0) // waits for the source to open the FIFO
					if err != nil {
						t.Error(err)
					}
					opened <- f
				}()
				var w *os.File
				for w == nil {
					waiting()
					select {
					case w = <-opened:
					case <-time.After(10 * time.Millisecond):
					}
				}
				last := ""
				for _, part := range parts {
					if _, err := w.WriteString(part.text); err != nil {
						t.Fatal(err)
					}
					last, n = part.text, part.whole
					readUntil(n)
					waiting()
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if last != "" && !strings.HasSuffix(last, "\n") {
					n++ // the last line, delivered as it is
				}
				readUntil(n)
			}
			waiting() // for the next writer
			if strings.Join(got, "\n") != strings.Join(tc.want, "\n") {
				t.Errorf("read\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
			closeWithin(t, src)
			if err := goleak.Find(before); err != nil {
				t.Errorf("after Close: %v", err)
			}
		})
	}
}

// part is what a writer writes at once, and how many messages are whole
// after it.
type part struct {
	text  string
	whole int
}

// A writer that opens a followed FIFO after its last writer has gone but
// before the source has opened it again — the source's old reader is
// still open — loses nothing: the FIFO is opened again before the old
// reader is closed, so that it is never without a reader, and the
// writer, blocked writing into the full pipe meanwhile, does not have its
// write fail (EPIPE); every line it writes is read, numbered from 1.
func TestAWriterThatComesAsAFollowedFIFOIsOpenedAgainLosesNothing(t *testing.T) {
	p := mkfifo(t)
	src := mustFileSource(t, FileOptions{Paths: []string{p}, Follow: true, BatchLines: 1000})
	defer closeWithin(t, src)
	const lines = 30000 // several times a pipe's buffer
	var text strings.Builder
	for i := range lines {
		fmt.Fprintf(&text, "{\"i\":%d}\n", i)
	}
	wrote := make(chan error, 1)
	var hooked bool
	src.reopening = func() {
		if hooked {
			return
		}
		hooked = true
		// The first writer has gone; the old reader is open still, so
		// this writer's open does not wait, and its write fills the pipe
		// and waits for the reader.
		w, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0)
		if err != nil {
			t.Errorf("the second writer's open: %v", err)
			wrote <- err
			return
		}
		waitingBefore := goroutinesIn("(*pollDesc).waitWrite")
		go func() {
			_, err := w.WriteString(text.String())
			if cerr := w.Close(); err == nil {
				err = cerr
			}
			wrote <- err
		}()
		// Let it block in its write (a bound, not a measure: it blocks
		// long before).
		for end := time.Now().Add(2 * time.Second); goroutinesIn("(*pollDesc).waitWrite") == waitingBefore && time.Now().Before(end); {
			time.Sleep(time.Millisecond)
		}
	}
	// The first writer writes one line and goes.
	go func() {
		w, err := os.OpenFile(p, os.O_WRONLY, 0)
		if err == nil {
			_, err = w.WriteString("{\"first\":1}\n")
			w.Close()
		}
		if err != nil {
			t.Errorf("the first writer: %v", err)
		}
	}()
	var got []string
	var writerDone bool
	for len(got) < 1+lines {
		select {
		case err := <-wrote:
			if err != nil {
				t.Fatalf("the second writer, after %d messages were read: %v", len(got), err)
			}
			writerDone = true
		default:
		}
		b, err := readWithin(t, context.Background(), src, guard)
		if err != nil {
			t.Fatalf("after %d messages: %v", len(got), err)
		}
		for _, m := range b.Messages {
			got = append(got, fmt.Sprintf("%d %s", m.Position.Offset, m.Value))
		}
		b.Release()
	}
	if !writerDone {
		if err := <-wrote; err != nil {
			t.Fatalf("the second writer: %v", err)
		}
	}
	want := []string{"1 {\"first\":1}"}
	for i := range lines {
		want = append(want, fmt.Sprintf("%d {\"i\":%d}", i+1, i))
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("read %d messages, want %d; first difference at %d", len(got), len(want), firstDifference(got, want))
	}
}

// A followed pipe whose writer has gone waits for what can come next, and
// is not opened again and again meanwhile: an anonymous pipe (as a
// shell's <(command) gives, named /dev/fd/N), which no writer can open
// again, is looked at once per poll; a FIFO whose path is removed (a
// producer that makes it again before it writes) waits for the path to
// name one again, then reads its writer. (Found at its end, the input is
// looked at once, then polled: the poll interval here is longer than the
// test.)
func TestAFollowedPipeWhoseWriterHasGoneWaitsForTheNext(t *testing.T) {
	for _, tc := range []struct {
		name      string
		anonymous bool
	}{
		{"an anonymous pipe", true},
		{"a FIFO removed and made again", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p string
			var w *os.File
			if tc.anonymous {
				r, pw, err := os.Pipe()
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				p, w = fmt.Sprintf("/dev/fd/%d", r.Fd()), pw
			} else {
				p = mkfifo(t)
			}
			src := mustFileSource(t, FileOptions{Paths: []string{p}, Follow: true, PollInterval: time.Hour})
			defer closeWithin(t, src)
			looks := 0
			src.reopening = func() { looks++ }
			go func() {
				w := w
				if w == nil {
					var err error
					if w, err = os.OpenFile(p, os.O_WRONLY, 0); err != nil {
						t.Error(err)
						return
					}
				}
				w.WriteString("{\"a\":1}\n")
				w.Close()
			}()
			b, err := readWithin(t, context.Background(), src, guard)
			if err != nil || len(b.Messages) != 1 {
				t.Fatalf("the first Read: %d messages, %v; want 1", len(b.Messages), err)
			}
			b.Release()
			if !tc.anonymous {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			if _, err := readWithin(t, ctx, src, guard); !errors.Is(err, context.Canceled) {
				t.Fatalf("the Read after the writer went: %v, want context.Canceled", err)
			}
			if looks != 1 {
				t.Errorf("the pipe was looked at %d times for its next writer, want once", looks)
			}
			if tc.anonymous {
				return
			}
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
			go func() {
				w, err := os.OpenFile(p, os.O_WRONLY, 0)
				if err != nil {
					t.Error(err)
					return
				}
				w.WriteString("{\"b\":1}\n")
				w.Close()
			}()
			b, err = readWithin(t, context.Background(), src, guard)
			if err != nil || len(b.Messages) != 1 || string(b.Messages[0].Value) != "{\"b\":1}" {
				t.Fatalf("the Read after the FIFO was made again: %d messages, %v; want {\"b\":1}", len(b.Messages), err)
			}
			b.Release()
		})
	}
}
