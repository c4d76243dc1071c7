package stream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/iocwatch/iocwatch/internal/textenc"
	"github.com/klauspost/compress/gzip"
)

// liveCut is an input written to a live stdin in two parts, the first
// ending where a Read's context ends.
type liveCut struct {
	name        string
	first, rest []byte
}

// cutAt splits text after the first occurrence of at.
func cutAt(name, text, at string) liveCut {
	i := strings.Index(text, at)
	if i < 0 {
		panic("cutAt: " + at + " is not in the text")
	}
	i += len(at)
	return liveCut{name, []byte(text[:i]), []byte(text[i:])}
}

// cutBytes splits b at i.
func cutBytes(name string, b []byte, i int) liveCut {
	return liveCut{name, b[:i:i], b[i:]}
}

// A Read of a live input whose context ends part way through a message
// — a line, a CSV row, a compressed stream, an array element, the line
// the input's format is judged from — loses none of it: the next Read,
// with a new context, goes on where the input was, and every message
// comes out once, whole, on its line, as the same input gives read at
// once. Bad input is still a message carrying its error: a malformed row,
// and each line or record over MaxLineBytes (80 bytes: the long line, and
// every CSV row as a JSON record).
func TestALiveReadWhoseContextEndsMidMessageLosesNothing(t *testing.T) {
	const (
		jsonl = "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n"
		csv   = "Timestamp,DeviceName,RemoteIP\n2026-11-26T09:13:58Z,ws-1,203.0.113.7\n2026-11-26T09:13:59Z,\"ws\n2\",203.0.113.8\n2026-11-26T09:14:00Z,ws-3,203.0.113.9\n"
		doc   = "[\n  {\"RemoteIP\": \"192.0.2.1\"},\n  {\"RemoteIP\": \"192.0.2.2\"},\n  {\"RemoteIP\": \"192.0.2.3\"}\n]\n"
	)
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte(jsonl))
	zw.Close()
	utf16 := textenc.Encode(jsonl, textenc.UTF16LE, true)
	long := "{\"a\":1}\n{\"long\":\"" + strings.Repeat("x", 100) + "\"}\n{\"a\":3}\n"
	for _, tc := range []liveCut{
		cutAt("JSON lines, in a line", jsonl, "{\"a\":2"),
		cutAt("JSON lines, between CR and LF", strings.ReplaceAll(jsonl, "\n", "\r\n"), "{\"a\":2}\r"),
		cutAt("JSON lines, between lines", jsonl, "{\"a\":2}\n"),
		cutAt("JSON lines, a line over the limit", long, strings.Repeat("x", 60)),
		cutAt("JSON lines, in the first line", jsonl, "{\"a\""),
		cutAt("CSV, in a row", csv, "203.0.113"),
		cutAt("CSV, in a quoted field over two lines", csv, "\"ws\n"),
		cutAt("CSV, between rows", csv, "203.0.113.7\n"),
		cutAt("CSV, in a malformed row", csv+"2026-11-26T09:14:01Z,ws-4\n2026-11-26T09:14:02Z,ws-5,203.0.113.10\n", ",ws-4"),
		cutAt("CSV, in the header", csv, "Timestamp,Devi"),
		cutAt("semicolon CSV, in a row", strings.ReplaceAll(csv, ",", ";"), "203.0.113"),
		cutBytes("gzip JSON lines, in the stream", gz.Bytes(), gz.Len()/2),
		cutBytes("UTF-16 JSON lines, in a line", utf16, 2+2*len("{\"a\":1}\n{\"a\"")),
		cutAt("a pretty-printed array, in an element", doc, "\"192.0.2.2"),
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := FileOptions{MaxLineBytes: 80}
			data := append(bytes.Clone(tc.first), tc.rest...)
			opt.Stdin = bytes.NewReader(data)
			want := strings.Join(readLive(t, mustFileSource(t, opt), context.Background()), "\n")
			if !strings.Contains(want, "stdin:") {
				t.Fatalf("the input read at once gives\n%s", want)
			}

			src, pw := liveStdinWith(t, FileOptions{MaxLineBytes: 80})
			written := make(chan struct{})
			go func() { pw.Write(tc.first); close(written) }()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go func() {
				// A moment after the first part was taken from the pipe:
				// the Read waits for the rest of what it has begun.
				<-written
				time.Sleep(100 * time.Millisecond)
				cancel()
			}()
			got := readLive(t, src, ctx)
			go func() { pw.Write(tc.rest); pw.Close() }()
			got = append(got, readLive(t, src, context.Background())...)
			if s := strings.Join(got, "\n"); s != want {
				t.Errorf("got\n%s\nwant\n%s", s, want)
			}
		})
	}
}

// readLive reads src as messageLine gives its messages until a Read ends
// with ctx or the source ends (after the error that ended it, if any but
// io.EOF).
func readLive(t *testing.T, src *FileSource, ctx context.Context) []string {
	t.Helper()
	defer func() {
		if ctx.Err() == nil {
			src.Close(context.Background())
		}
	}()
	var out []string
	for {
		b, err := src.Read(ctx)
		if errors.Is(err, io.EOF) || err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return out
		}
		if err != nil {
			return append(out, "read error: "+err.Error())
		}
		for _, m := range b.Messages {
			out = append(out, messageLine(m))
		}
		b.Release()
	}
}

// liveStdinWith is liveStdin with options.
func liveStdinWith(t *testing.T, opt FileOptions) (*FileSource, *io.PipeWriter) {
	t.Helper()
	pr, pw := io.Pipe()
	t.Cleanup(func() { pw.Close() })
	opt.Paths, opt.Stdin = []string{"-"}, pr
	src := mustFileSource(t, opt)
	t.Cleanup(func() { src.Close(context.Background()) })
	return src, pw
}
