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
