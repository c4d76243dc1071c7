package stream

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twmb/avro"
	"github.com/twmb/avro/ocf"
)

// writeCapture writes bodies (nil: a record without one) as a Capture
// file with codec, in blocks of blockLen records.
func writeCapture(t testing.TB, bodies [][]byte, codec ocf.Codec, blockLen int) []byte {
	t.Helper()
	var b bytes.Buffer
	opts := []ocf.WriterOpt{ocf.WithBlockCount(blockLen)}
	if codec != nil { // nil: the null codec, the writer's default
		opts = append(opts, ocf.WithCodec(codec))
	}
	w, err := ocf.NewWriter(&b, captureWriterSchema, opts...)
	if err != nil {
		t.Fatal(err)
	}
	for i, body := range bodies {
		ev := captureEvent{
			SequenceNumber:   int64(1000 + i),
			Offset:           fmt.Sprint(4096 * i),
			EnqueuedTimeUtc:  "11/27/2026 9:13:58 AM",
			SystemProperties: map[string]any{"x-opt-enqueued-time": int64(1795000000000 + i)},
			Properties:       map[string]any{"Source": "defender", "Empty": nil},
		}
		if body != nil {
			ev.Body = &body
		}
		if err := w.Encode(&ev); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// captureBodies are Defender Event Hubs bodies, a record without a body
// and a broken one.
func captureBodies() [][]byte {
	var bodies [][]byte
	for i := range 300 {
		bodies = append(bodies, []byte(record(i, fmt.Sprintf("198.51.100.%d", i%250), "", "x.exe", `c:\x.exe`)))
	}
	bodies[7] = nil
	bodies[11] = []byte(`{"records":[{"category":`)
	return bodies
}

// A Capture file gives one message per record — its body, numbered by
// its place in the file — whatever the codec and blocks, and the same
// events as the bodies written one per line; from a file (auto-detected
// or named avro), gzip-compressed, and from stdin.
func TestCaptureFilesGiveTheirBodiesAsMessages(t *testing.T) {
	bodies := captureBodies()
	var lines []string
	for i, b := range bodies {
		if b != nil {
			lines = append(lines, fmt.Sprintf("%d %s", i+1, b))
		}
	}
	dir := t.TempDir()
	zc, err := ocf.ZstdCodec(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		codec ocf.Codec
		block int
	}{
		{"null", nil, 1000},
		{"deflate", ocf.DeflateCodec(6), 64},
		{"snappy", ocf.SnappyCodec(), 17},
		{"zstandard", zc, 1},
	} {
		data := writeCapture(t, bodies, tc.codec, tc.block)
		for _, v := range []struct {
			name   string
			data   []byte
			format string
			stdin  bool
		}{
			{"auto", data, "auto", false},
			{"named", data, "avro", false},
			{"gzip", gzipped(t, data), "auto", false},
			{"stdin", data, "auto", true},
		} {
			p := filepath.Join(dir, tc.name+"-"+v.name+".avro")
			if err := os.WriteFile(p, v.data, 0o600); err != nil {
				t.Fatal(err)
			}
			opt := FileOptions{Paths: []string{p}, Format: v.format, BatchLines: 50}
			name := p
			if v.stdin {
				opt = FileOptions{Stdin: bytes.NewReader(v.data), Format: v.format, BatchLines: 50}
				name = "stdin"
			}
			src, err := NewFileSource(opt)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, m := range readAll(t, src) {
				pos, val, _ := strings.Cut(m, " ")
				got = append(got, strings.TrimPrefix(pos, name+":")+" "+val)
			}
			if strings.Join(got, "\n") != strings.Join(lines, "\n") {
				t.Errorf("%s codec, %s: %d messages, want %d:\n%.300s", tc.name, v.name, len(got), len(lines), strings.Join(got, "\n"))
			}
		}
	}
	// The events are those of the same bodies as JSON lines.
	p := filepath.Join(dir, "bodies.jsonl")
	var jl []byte
	for _, b := range bodies {
		jl = append(append(jl, b...), '\n')
	}
	if err := os.WriteFile(p, jl, 0o600); err != nil {
		t.Fatal(err)
	}
	want := sourceText(t, FileOptions{Paths: []string{p}}, p)
	ap := filepath.Join(dir, "events.avro")
	if err := os.WriteFile(ap, writeCapture(t, bodies, ocf.DeflateCodec(1), 100), 0o600); err != nil {
		t.Fatal(err)
	}
	got := sourceText(t, FileOptions{Paths: []string{ap}}, ap)
	strip := func(ss []string) []string { // positions differ: lines count the null body's blank line
		out := make([]string, len(ss))
		for i, s := range ss {
			_, out[i], _ = strings.Cut(s, " ")
		}
		return out
	}
	if strings.Join(strip(got), "\n") != strings.Join(strip(want), "\n") {
		t.Errorf("events from the Capture file differ from the JSON lines'")
	}
}

// A file that is Avro but not a Capture, or a Capture damaged in a block,
// is an error naming the file (and the record reached); the records
// before the damage are delivered.
func TestBadCaptureFilesAreErrorsNamingThem(t *testing.T) {
	dir := t.TempDir()
	other := avro.MustParse(`{"type":"record","name":"User","fields":[{"name":"name","type":"string"}]}`)
	var b bytes.Buffer
	w, err := ocf.NewWriter(&b, other)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Encode(&struct {
		Name string `avro:"name"`
	}{"x"}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	good := writeCapture(t, captureBodies(), nil, 100)
	damaged := bytes.Clone(good)
	// Break the third block's sync marker: its last 16 bytes are the file's.
	copy(damaged[len(damaged)-16:], bytes.Repeat([]byte{0xee}, 16))
	for _, tc := range []struct {
		name     string
		data     []byte
		says     string
		minLines int
	}{
		{"users.avro", b.Bytes(), "not an Event Hubs Capture file", 0},
		{"damaged.avro", damaged, "Avro record 201", 199},
		{"header.avro", good[:20], "not an Event Hubs Capture file", 0},
		{"cut.avro", good[:len(good)/2], "Avro record", 50},
	} {
		p := filepath.Join(dir, tc.name)
		if err := os.WriteFile(p, tc.data, 0o600); err != nil {
			t.Fatal(err)
		}
		src, err := NewFileSource(FileOptions{Paths: []string{p}, BatchLines: 10})
		if err != nil {
			t.Fatal(err)
		}
		n, readErr := readToTheEnd(src)
		if errors.Is(readErr, io.EOF) || !strings.Contains(readErr.Error(), p) || !strings.Contains(readErr.Error(), tc.says) {
			t.Errorf("%s: error %v, want one naming the file and saying %q", tc.name, readErr, tc.says)
		}
		if n < tc.minLines {
			t.Errorf("%s: %d messages before the error, want at least %d", tc.name, n, tc.minLines)
		}
		_ = src.Close(context.Background())
	}
}

// Whatever the bytes, reading them as a Capture file does not panic and
// ends, with io.EOF or an error.
func FuzzCaptureReader(f *testing.F) {
	zc, err := ocf.ZstdCodec(nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	bodies := captureBodies()[:20]
	f.Add(writeCapture(f, bodies, nil, 5))
	f.Add(writeCapture(f, bodies, ocf.DeflateCodec(1), 7))
	f.Add(writeCapture(f, bodies, ocf.SnappyCodec(), 3))
	f.Add(writeCapture(f, bodies, zc, 20))
	f.Add([]byte("Obj\x01"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := NewCaptureReader(bytes.NewReader(data), "fuzz.avro")
		if err != nil {
			return
		}
		defer c.Close()
		for range 1 << 16 {
			body, n, err := c.Next()
			if err != nil {
				return
			}
			if n < 1 || len(body) > len(data)*1024+1<<20 {
				t.Fatalf("record %d of %d bytes from %d bytes of input", n, len(body), len(data))
			}
		}
	})
}

// The deflate codec of Capture files inflates a block whole, and refuses
// one that inflates past the reader's cap before it is all in memory.
func TestCaptureDeflateBoundsABlock(t *testing.T) {
	var c captureDeflate
	plain := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	packed, err := c.Compress(plain)
	if err != nil {
		t.Fatal(err)
	}
	for _, max := range []int64{0, int64(len(plain)), 1 << 30} {
		out, err := c.DecompressBounded(packed, max)
		if err != nil || !bytes.Equal(out, plain) {
			t.Errorf("max %d: %d bytes, %v", max, len(out), err)
		}
	}
	if out, err := c.DecompressBounded(packed, int64(len(plain))-1); err == nil {
		t.Errorf("a block of %d bytes passed a cap one byte smaller (%d bytes out)", len(plain), len(out))
	}
	if _, err := c.DecompressBounded(packed[:len(packed)/2], 0); err == nil {
		t.Error("a block cut in half inflated without an error")
	}
}

// What CaptureWriter writes, CaptureReader reads back, record by record.
func TestCaptureWriterRoundTrips(t *testing.T) {
	var b bytes.Buffer
	w, err := NewCaptureWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	bodies := captureBodies()
	for _, body := range bodies {
		if err := w.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	r, err := NewCaptureReader(&b, "written.avro")
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range bodies {
		got, n, err := r.Next()
		if err != nil || n != i+1 || !bytes.Equal(got, want) {
			t.Fatalf("record %d: %q, %d, %v; want %q", i+1, got, n, err, want)
		}
	}
	if _, _, err := r.Next(); !errors.Is(err, io.EOF) {
		t.Errorf("after the last record: %v", err)
	}
}
