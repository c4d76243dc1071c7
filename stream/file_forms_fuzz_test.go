package stream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/iocwatch/iocwatch/internal/decompress"
	"github.com/iocwatch/iocwatch/internal/textenc"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// formsText reads every message of a source with the format auto and
// returns them as "line value[ ERR]" (the input's name left out of
// positions and errors), ending with the error that ended the source, if
// any other than io.EOF. It never waits on the input: the source reads
// files and an in-memory stdin.
func formsText(t *testing.T, opt FileOptions, name string) string {
	t.Helper()
	return formsTextCut(t, opt, name, nil, nil)
}

// formsTextCut is formsText reading with ctx until a Read ends with it,
// then (after cut) with a context that does not end.
func formsTextCut(t *testing.T, opt FileOptions, name string, ctx context.Context, cut func()) string {
	t.Helper()
	src, err := NewFileSource(opt)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close(context.Background())
	if ctx == nil {
		ctx = context.Background()
	}
	var out []string
	for {
		b, err := src.Read(ctx)
		if err != nil && cut != nil && ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			cut()
			ctx, cut = context.Background(), nil
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			out = append(out, "read error: "+strings.ReplaceAll(err.Error(), name, "NAME"))
			break
		}
		if len(b.Messages) == 0 {
			t.Fatalf("%s: an empty batch", name)
		}
		for _, m := range b.Messages {
			out = append(out, strings.TrimPrefix(messageLine(m), name))
		}
		if b.Release != nil {
			b.Release()
		}
	}
	return strings.Join(out, "\n")
}

// cutStdin is a live stdin serving data in two parts: once data[:at] has
// been read, the next read ends the context of the source's Reads
// (cancel) and waits for release before it serves the rest.
type cutStdin struct {
	data    []byte
	at      int
	cancel  context.CancelFunc
	release chan struct{}
}

func (c *cutStdin) Read(p []byte) (int, error) {
	if c.cancel != nil && c.at == 0 {
		c.cancel()
		c.cancel = nil
		<-c.release
	}
	n := len(c.data)
	if c.cancel != nil {
		n = min(n, c.at)
		c.at -= n
	}
	if n == 0 {
		return 0, io.EOF
	}
	n = copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// cutText is formsText of data read from a live stdin whose Read's
// context ends once data[:at] has been read, at any point of a message:
// the Reads after it go on where the input is.
func cutText(t *testing.T, data []byte, at, batch int) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	in := &cutStdin{data: data, at: at, cancel: cancel, release: make(chan struct{})}
	var once sync.Once
	release := func() { once.Do(func() { close(in.release) }) }
	defer release()
	return formsTextCut(t, FileOptions{Stdin: in, BatchLines: batch}, "stdin", ctx, release)
}

// FuzzFileSourceForms checks, for any file content the format auto reads
// as it is (not compressed, not an Avro capture, not UTF-16), that every
// form of it the file source accepts gives the same messages, line numbers
// and framing errors as the content itself: gzip- and zstd-compressed and
// — valid UTF-8 not starting with U+0000 only — saved as UTF-16LE with a
// byte order mark, as Windows PowerShell writes it, each as a file (against the file read in
// place, in blocks) and from stdin (against the content from stdin). A
// file and a live stdin differ by design: a damaged file is a message and
// the source goes on, while a live input's damage stops the source (see
// TestTheDamageOfStdinIsAMessageOnlyWhenItIsAFile); a live input's format
// is judged from its first lines. JSON lines, a pretty-printed document
// and a CSV export are all framed through it. Each form, and the content
// itself, also gives the same from a live stdin whose Read's context ends
// once the first cut bytes of it have been read (anywhere in a line, a
// row, a compressed stream), the Reads after it going on.
func FuzzFileSourceForms(f *testing.F) {
	for _, s := range []string{
		"{\"a\":1}\r\n\r\n{\"a\":2}\n   \n{\"a\":3}",
		"[\n  {\"RemoteIP\": \"192.0.2.1\"},\n  {\"RemoteIP\": \"192.0.2.2\"}\n]\n",
		"{\n  \"records\": [\n    {\"category\": \"AdvancedHunting-DeviceNetworkEvents\", \"properties\": {\"RemoteIP\": \"192.0.2.3\"}}\n  ]\n}\n",
		"[\n  {\"a\": 1},\n  {\"b\": \n  {\"c\": 3}\n]",
		"Timestamp,DeviceName,RemoteIP\n2026-11-26T09:13:58Z,ws-1,203.0.113.7\n2026-11-26T09:13:59Z,\"ws\n2\",203.0.113.8\n",
		"#TYPE System.Management.Automation.PSCustomObject\r\n\"RemoteIP\";\"DeviceName\"\r\n\"1.2.3.4\";\"a\"\r\n\"unclosed;b\r\n",
		"\ufeffRemoteUrl,DeviceName\nx.example,ws-ü\n",
		"{\"x\":\"\xff\xfe\"}\n\x00\n",
		"",
		"\n\nTimestamp;DeviceName;RemoteIP\n2026-11-26T09:13:58Z;ws-1;203.0.113.7\n2026-11-26T09:13:59Z;ws-2\n",
		"\ufeff#TYPE System.Management.Automation.PSCustomObject\r\n\r\n \t\r\n\"Timestamp\"\t\"RemoteIP\"\r\n\"2026-11-26T09:13:58Z\"\t\"203.0.113.7\"\r\n",
		"\r\n\r\nRemoteUrl,DeviceName\r\nx.example,\"ws\r\n1\"\r\n",
	} {
		f.Add([]byte(s), uint8(3), uint16(len(s)/2))
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "csv", "network_export.csv")); err == nil {
		f.Add(b, uint8(0), uint16(300))
	}
	dir := f.TempDir()
	zs, err := zstd.NewWriter(nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte, lines uint8, cut uint16) {
		if decompress.Sniff(data) != decompress.None || LooksLikeAvro(data) || textenc.Sniff(data) != textenc.UTF8 {
			return // another form already: it is read unwrapped once, not as itself
		}
		batch := int(lines%8) + 1
		path := filepath.Join(dir, "in")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		wantFile := formsText(t, FileOptions{Paths: []string{path}, BatchLines: batch}, path)
		wantStdin := formsText(t, FileOptions{Stdin: bytes.NewReader(data), BatchLines: batch}, "stdin")
		if got := cutText(t, data, int(cut)%(len(data)+1), batch); got != wantStdin {
			t.Fatalf("from stdin, the Read's context ending after %d bytes:\n%s\nas it is from stdin:\n%s", int(cut)%(len(data)+1), got, wantStdin)
		}

		forms := map[string][]byte{}
		var gz bytes.Buffer
		zw := gzip.NewWriter(&gz)
		_, _ = zw.Write(data)
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		forms["gzip"] = gz.Bytes()
		forms["zstd"] = zs.EncodeAll(data, nil)
		if utf8.Valid(data) && !bytes.HasPrefix(data, []byte{0}) {
			// (A text starting with U+0000 is FF FE 00 00 in UTF-16LE
			// with its mark: UTF-32LE's mark, which textenc.Sniff leaves
			// alone.)
			forms["UTF-16LE"] = textenc.Encode(string(data), textenc.UTF16LE, true)
		}
		for form, b := range forms {
			p := filepath.Join(dir, "form")
			if err := os.WriteFile(p, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if got := formsText(t, FileOptions{Paths: []string{p}, BatchLines: batch}, p); got != wantFile {
				t.Fatalf("%s file:\n%s\nthe file as it is:\n%s", form, got, wantFile)
			}
			if got := formsText(t, FileOptions{Stdin: bytes.NewReader(b), BatchLines: batch}, "stdin"); got != wantStdin {
				t.Fatalf("%s from stdin:\n%s\nas it is from stdin:\n%s", form, got, wantStdin)
			}
			at := int(cut) % (len(b) + 1)
			if got := cutText(t, b, at, batch); got != wantStdin {
				t.Fatalf("%s from stdin, the Read's context ending after %d bytes:\n%s\nas it is from stdin:\n%s", form, at, got, wantStdin)
			}
		}
	})
}
