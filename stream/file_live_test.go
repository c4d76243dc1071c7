package stream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// readWithin reads one batch from src, failing the test if it takes more
// than d (a live input's lines must not wait for a full batch).
func readWithin(t *testing.T, ctx context.Context, src *FileSource, d time.Duration) (Batch, error) {
	t.Helper()
	type result struct {
		b   Batch
		err error
	}
	got := make(chan result, 1)
	go func() {
		b, err := src.Read(ctx)
		got <- result{b, err}
	}()
	select {
	case r := <-got:
		return r.b, r.err
	case <-time.After(d):
		t.Fatalf("Read did not return within %v", d)
		return Batch{}, nil
	}
}

func lines(b Batch) string {
	var out []string
	for _, m := range b.Messages {
		out = append(out, m.Position.String()+" "+string(m.Value))
	}
	if b.Release != nil {
		b.Release()
	}
	return strings.Join(out, "\n")
}

// Lines from a live input (a pipe whose writer stays open) are delivered
// as soon as no more are waiting, not when a batch of BatchLines is full;
// a short first line is enough to tell the format.
func TestFileSourceDeliversLiveInputWithoutWaitingForAFullBatch(t *testing.T) {
	src, pw := liveStdin(t)
	go pw.Write([]byte("{\"a\":1}\n{\"a\":2}\n"))
	b, err := readWithin(t, context.Background(), src, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	got := lines(b)
	if got == "stdin:1 {\"a\":1}" { // the second line may come in a batch of its own
		b, err = readWithin(t, context.Background(), src, 10*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		got += "\n" + lines(b)
	}
	if want := "stdin:1 {\"a\":1}\nstdin:2 {\"a\":2}"; got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	go pw.Write([]byte("{\"a\":3}\n"))
	b, err = readWithin(t, context.Background(), src, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := lines(b), "stdin:3 {\"a\":3}"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	pw.Close()
	if _, err := readWithin(t, context.Background(), src, 10*time.Second); !errors.Is(err, io.EOF) {
		t.Errorf("after the writer closed: %v, want io.EOF", err)
	}
}

// A Read waiting for a live input that says nothing returns when its
// context ends, and when the source is closed: a shutdown does not wait
// for the writer.
func TestFileSourceReadOfASilentLiveInputEndsWithItsContextOrClose(t *testing.T) {
	for _, how := range []string{"context", "close"} {
		t.Run(how, func(t *testing.T) {
			src, pw := liveStdin(t)
			go pw.Write([]byte("{\"a\":1}\n"))
			if b, err := readWithin(t, context.Background(), src, 10*time.Second); err != nil || lines(b) != "stdin:1 {\"a\":1}" {
				t.Fatalf("first batch: %v", err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			time.AfterFunc(50*time.Millisecond, func() {
				if how == "context" {
					cancel()
				} else {
					src.Close(context.Background())
				}
			})
			_, err := readWithin(t, ctx, src, 10*time.Second)
			want := io.EOF
			if how == "context" {
				want = context.Canceled
			}
			if !errors.Is(err, want) {
				t.Errorf("Read returned %v, want %v", err, want)
			}
		})
	}
}

// A regular file given as stdin (iocwatch run < events.jsonl) is not
// live: it is read in full batches, as a named file is.
func TestStdinRedirectedFromAFileIsNotLive(t *testing.T) {
	p := writeFile(t, t.TempDir(), "e.jsonl", "{\"a\":1}\n{\"a\":2}\n")
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if isLive(f) {
		t.Error("a regular file is live")
	}
	if !isLive(strings.NewReader("")) {
		t.Error("a reader that is not a file is not live")
	}
}

// liveStdin returns a file source reading "-" from a pipe, and the pipe's
// writer; both are closed when the test ends.
func liveStdin(t *testing.T) (*FileSource, *io.PipeWriter) {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	src := mustFileSource(t, FileOptions{Paths: []string{"-"}, Stdin: pr})
	t.Cleanup(func() { src.Close(context.Background()) })
	return src, pw
}

// The rows of a CSV export or the elements of a pretty-printed array
// piped in as they are written (the writer stays open) are delivered as
// they come, as the lines of JSON lines are: the header, or the array's
// first element, is read as soon as its line has come, not once 64 KiB
// have, and a batch does not wait to be full.
func TestALiveExportIsDeliveredAsItsRowsCome(t *testing.T) {
	const (
		rec1 = `{"Table":"DeviceNetworkEvents","Timestamp":"2026-11-26T09:13:58Z","DeviceName":"ws-1","RemoteIP":"203.0.113.7"}`
		rec2 = `{"Table":"DeviceNetworkEvents","Timestamp":"2026-11-26T09:13:59Z","DeviceName":"ws-2","RemoteIP":"203.0.113.8"}`
	)
	for _, tc := range []struct {
		name, first, second string
		want1, want2        string
	}{
		{"CSV with commas",
			"Timestamp,DeviceName,RemoteIP\n2026-11-26T09:13:58Z,ws-1,203.0.113.7\n", "2026-11-26T09:13:59Z,ws-2,203.0.113.8\n",
			"stdin:2 " + rec1, "stdin:3 " + rec2},
		{"CSV with semicolons after a blank line",
			"\r\nTimestamp;DeviceName;RemoteIP\r\n2026-11-26T09:13:58Z;ws-1;203.0.113.7\r\n", "2026-11-26T09:13:59Z;ws-2;203.0.113.8\r\n",
			"stdin:3 " + rec1, "stdin:4 " + rec2},
		{"CSV with tabs after a #TYPE line",
			"#TYPE System.Management.Automation.PSCustomObject\nTimestamp\tDeviceName\tRemoteIP\n2026-11-26T09:13:58Z\tws-1\t203.0.113.7\n", "2026-11-26T09:13:59Z\tws-2\t203.0.113.8\n",
			"stdin:3 " + rec1, "stdin:4 " + rec2},
		{"a pretty-printed array",
			"[\n  {\"RemoteIP\": \"192.0.2.1\"},\n", "  {\"RemoteIP\": \"192.0.2.2\"},\n",
			`stdin:1 {"RemoteIP": "192.0.2.1"}`, `stdin:2 {"RemoteIP": "192.0.2.2"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, pw := liveStdin(t)
			for _, step := range []struct{ write, want string }{{tc.first, tc.want1}, {tc.second, tc.want2}} {
				go pw.Write([]byte(step.write))
				b, err := readWithin(t, context.Background(), src, 10*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				if got := lines(b); got != step.want {
					t.Errorf("got %s, want %s", got, step.want)
				}
			}
		})
	}
}

// An input that cannot be read — a live export whose header names no
// Defender column, a compressed stream whose header is broken — ends the
// source with its error even when the context of the Read that got the
// error ended with it: a read loop started again (with a new context)
// gets the same error, not the input's rest read as something else (as
// JSON lines, without the CSV reader or the decompressor it has not got)
// nor a clean end.
func TestALiveInputsFormatErrorStaysWhenTheReadsContextEndsWithIt(t *testing.T) {
	var rows strings.Builder
	rows.WriteString("Foo,Bar\n")
	for i := range 3000 {
		fmt.Fprintf(&rows, "%d,{\"a\":%d}\n", i, i)
	}
	brokenGzip := gzipped(t, recordLines(100))
	brokenGzip[3] = 0xe0 // reserved flags
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"a CSV header without Defender columns", []byte(rows.String()), "CSV header names no Defender column"},
		{"a gzip stream with a broken header", brokenGzip, "gzip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, pw := liveStdin(t)
			go func() { pw.Write(tc.data); pw.Close() }()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			src.afterFill = cancel // the context ends as the Read gets the error
			_, err := src.Read(ctx)
			if err == nil || errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("the first Read: %v, want an error saying %q", err, tc.want)
			}
			src.afterFill = nil
			b, again := readWithin(t, context.Background(), src, 10*time.Second)
			if again == nil {
				t.Fatalf("the next Read: %d messages (%.200s), want %v", len(b.Messages), lines(b), err)
			}
			if again.Error() != err.Error() {
				t.Errorf("the next Read: %v, want %v", again, err)
			}
		})
	}
}
